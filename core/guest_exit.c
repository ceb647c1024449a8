/*
 * Guest exits (see guest_exit.h): what the core does with each exit the arch
 * layer reports -- one handler per exception class for synchronous exits,
 * the host's interrupts handed back to the host, the guest's SErrors turned
 * into virtual ones -- and the stage-2 aborts (memory faults, MMIO, faults
 * injected into the guest), which are the core's own.
 *
 * Called by vcpu_run() (vcpu.c) between arch_guest_run() calls, on the one
 * physical CPU that has the vCPU loaded: no lock guards the vCPU here (see
 * vcpu.h); the handlers take the VM lock themselves where they read VM-wide
 * state that changes.
 *
 * Exits the core answers itself return MOAT_EXIT_NONE and the guest is
 * re-entered at once, still in guest context. Only exits the host must see
 * end the run, and they tell the host no more than the exit needs (DESIGN §6):
 * never a protected guest's registers, never an instruction decoded on its
 * behalf when the hardware syndrome does not describe the access (ISV = 0).
 */
#include "guest_exit.h"

#include "arch.h"
#include "esr.h"
#include "guest_call.h"
#include "guest_pmu.h"
#include "guest_refuse.h"
#include "inject.h"
#include "lib.h"
#include "log.h"
#include "pgtable.h"
#include "vcpu.h"
#include "vgic.h"

static struct log_limiter guest_log;

u32 exit_to_host(struct vcpu *vcpu, u32 reason)
{
	struct moat_run *run = vcpu->run;

	memset(run, 0, sizeof(*run));
	run->exit_reason = reason;
	return reason;
}

/* ---- stage-2 aborts (EC 0x20, 0x24) ------------------------------------------ */

static u32 mmio_exit(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 esr = e->esr;
	unsigned int size = 1U << ESR_SAS(esr);
	u64 mask = size == 8 ? ~0UL : (1UL << (size * 8)) - 1;
	struct moat_run *run = vcpu->run;

	exit_to_host(vcpu, MOAT_EXIT_MMIO);
	run->u.mmio.ipa = e->ipa;
	run->u.mmio.size = size;
	if (esr & ESR_WNR) {
		unsigned int rt = (unsigned int)ESR_SRT(esr);

		run->u.mmio.is_write = 1;
		run->u.mmio.value = (rt == 31 ? 0 : vcpu->ctx.regs.x[rt]) & mask;
		regs_skip_insn(&vcpu->ctx.regs);
	} else {
		/* Completed by the next VCPU_RUN (vcpu.c) with the value the host leaves in the run page. */
		vcpu->mmio_read = (struct pending_mmio_read){
			.pending = true,
			.sign_extend = (esr & ESR_SSE) != 0,
			.sixty_four = (esr & ESR_SF) != 0,
			.reg = (u8)ESR_SRT(esr),
			.size = (u8)size,
		};
	}
	return MOAT_EXIT_MMIO;
}

/* Nothing the host could emulate: the guest gets a synchronous external abort, the host is told. */
static u32 guest_fault(struct vcpu *vcpu, const struct guest_exit *e)
{
	/* Only what the host learns anyway (the page); never a protected guest's PC or offset. */
	log_ratelimited(&guest_log, LOG_INFO, "vm%u vcpu%u: access to IPA page 0x%lx: external abort injected",
			vcpu->vm->slot, vcpu->index, ALIGN_DOWN(e->ipa, PAGE_SIZE));
	arch_inject_el1_sync(&vcpu->ctx.regs, sea_syndrome(e->esr, vcpu->ctx.regs.spsr), e->far);
	exit_to_host(vcpu, MOAT_EXIT_GUEST_FAULT);
	vcpu->run->u.guest_fault.ipa = ALIGN_DOWN(e->ipa, PAGE_SIZE);
	return MOAT_EXIT_GUEST_FAULT;
}

/*
 * A protected guest that opted in to the MMIO guard touched a page of its MMIO
 * window it did not guard (guest_mem.c): the guest meant no device there, so
 * the access must not reach the host. It gets the same synchronous external
 * abort as guest_fault's, and the run goes on with no exit: the host learns
 * nothing, not even the page. Logged through the VM's own limiter, so that
 * one guest's loop cannot silence another's lines.
 */
static u32 mmio_refused(struct vcpu *vcpu, const struct guest_exit *e)
{
	struct vm *vm = vcpu->vm;

	log_ratelimited(&vm->refusals.limiter, LOG_INFO,
			"vm%u vcpu%u: MMIO access to unguarded IPA page 0x%lx: external abort injected", vm->slot,
			vcpu->index, ALIGN_DOWN(e->ipa, PAGE_SIZE));
	arch_inject_el1_sync(&vcpu->ctx.regs, sea_syndrome(e->esr, vcpu->ctx.regs.spsr), e->far);
	return MOAT_EXIT_NONE;
}

static bool is_mapped(struct vm *vm, u64 ipa)
{
	u64 pa;
	unsigned int flags, level;

	return pgt_lookup(&vm->s2.pgt, ipa, &pa, &flags, &level);
}

static u32 stage2_abort(struct vcpu *vcpu, const struct guest_exit *e)
{
	struct vm *vm = vcpu->vm;
	bool data = ESR_EC(e->esr) == EC_DABT_LOWER;

	/* The GIC is the core's, even inside the VM's MMIO window: no exit, and nothing the host could answer. */
	if (data && vgic_owns_ipa(vm, e->ipa)) {
		return (e->esr & ESR_ISV) && !(e->esr & ESR_S1PTW) ? vgic_mmio_abort(vcpu, e) : guest_fault(vcpu, e);
	}
	if (vm_ipa_in_ram(vm, e->ipa) && !is_mapped(vm, e->ipa)) {
		exit_to_host(vcpu, MOAT_EXIT_MEM_FAULT);
		vcpu->run->u.mem_fault.ipa = ALIGN_DOWN(e->ipa, PAGE_SIZE);
		return MOAT_EXIT_MEM_FAULT;
	}
	if (data && vm_ipa_in_mmio(vm, e->ipa)) {
		if (!guest_mmio_allowed(vm, e->ipa)) {
			return mmio_refused(vcpu, e);
		}
		if ((e->esr & ESR_ISV) && !(e->esr & ESR_S1PTW)) {
			return mmio_exit(vcpu, e);
		}
	}
	return guest_fault(vcpu, e);
}

/* ---- other classes the core handles here -------------------------------------- */

static u32 wfx_exit(struct vcpu *vcpu, const struct guest_exit *e)
{
	bool wfe = (e->esr & ESR_WFX_TI_WFE) != 0;

	regs_skip_insn(&vcpu->ctx.regs);
	/*
	 * A WFI with an interrupt the guest could take already pending (an SGI
	 * another vCPU sent since this one's last entry, an SPI the host raised,
	 * its PMU overflow raised at this very exit, its expired timer): the wait
	 * is over before it began, and the guest continues with the interrupt in
	 * an LR. The host could not know, for a protected VM, and would park the
	 * vCPU until its deadline or a kick. Bounded: see vgic_wfx_wake.
	 *
	 * Not a WFE: it waits for an event, and the CPU traps it whether or not
	 * an interrupt is pending (only a WFI checks for one first), so a guest
	 * spinning on WFE with IRQs masked would trap and resume at every WFE and
	 * never give the host the yield its exit is for. It exits "runnable now"
	 * as before; the next entry delivers the interrupt.
	 */
	if (!wfe && vgic_wfx_wake(vcpu)) {
		return MOAT_EXIT_NONE;
	}
	/*
	 * The host decides when the vCPU runs again; vcpu_run adds the deadline.
	 * A WFI waits for an interrupt, so its deadline is the timer's. A WFE
	 * waits for an event (a lock word another vCPU writes, an SEV) that no
	 * interrupt announces, so it is reported as runnable at once: the host
	 * may run something else first, but must not park a spinning vCPU until
	 * its next tick (or forever, with no timer armed).
	 */
	vcpu->wfe_exit = wfe;
	return exit_to_host(vcpu, MOAT_EXIT_WFI);
}

/*
 * The guest's first FP/SIMD use: the arch layer switches the registers
 * lazily and re-enters without coming here -- unless an SError surfaced at
 * the same exit, which the generic code must record first. The instruction
 * is not at fault: run it again (PC unchanged); it traps once more and the
 * switch happens then.
 */
static u32 fpsimd_retry(struct vcpu *vcpu, const struct guest_exit *e)
{
	return MOAT_EXIT_NONE;
}

/*
 * Synchronous exits by exception class (ESR_EL2.EC, 6 bits). A class with no
 * entry gets an undefined-instruction exception (guest_undef_trap): hidden
 * features (SVE, SME, PAuth) and anything the core does not know.
 *
 * To add a handler (the vGIC's or the timer's traps, a new class): write a
 * guest_sync_handler in the module that owns the state, declare it in that
 * module's header, include the header above and add one `[EC_...] = fn` line
 * here. One class has one handler; a module that shares a class with another
 * (say, a trapped system register next to the ID registers under EC 0x18)
 * is reached from that class's handler, which dispatches by register.
 */
static guest_sync_handler *const sync_handlers[ESR_EC_COUNT] = {
	[EC_WFX] = wfx_exit,
	[EC_FP_ASIMD] = fpsimd_retry, /* the lazy switch itself is the arch layer's (arch_guest_run) */
	[EC_HVC64] = guest_hvc,		 /* guest_call.c: PSCI and SMCCC */
	[EC_SMC64] = guest_smc,		 /* guest_refuse.c: guests call through HVC; no SMC reaches firmware */
	[EC_SYSREG] = guest_sysreg_trap, /* guest_refuse.c: ID registers from the guest view, the rest RAZ/WI */
	[EC_IABT_LOWER] = stage2_abort,
	[EC_DABT_LOWER] = stage2_abort,
};

static u32 handle_sync(struct vcpu *vcpu, const struct guest_exit *e)
{
	guest_sync_handler *handler = sync_handlers[ESR_EC(e->esr)];

	return handler ? handler(vcpu, e) : guest_undef_trap(vcpu, e);
}

/*
 * A physical SError while the guest ran, or still in flight when it exited
 * (the arch layer made sure one pending from before entry never gets here):
 * the guest's. It gets a virtual SError, as a machine would deliver it,
 * once it unmasks PSTATE.A; the host is not involved. FAR_EL2 and HPFAR_EL2
 * do not describe an SError -- they hold whatever the last abort left,
 * possibly a host address -- so nothing of them goes anywhere.
 */
static void guest_serror(struct vcpu *vcpu)
{
	log_ratelimited(&guest_log, LOG_INFO, "vm%u vcpu%u: physical SError while the guest ran: virtual SError pending",
			vcpu->vm->slot, vcpu->index);
	vcpu->serror_pending = true;
	arch_vcpu_sync_serror(vcpu);
}

/*
 * Which exits the fast path answers: HVC calls that need nothing but the
 * caller's registers (guest_hvc_from_regs) and reads of the vGIC's MMIO
 * (vgic_mmio_read_fast). Everything guest_exit_handle and the run loop do
 * besides the handler is safe to leave to the next full exit: a PMU
 * overflow of the guest, its timer, a kick from another vCPU, a stop or the
 * host's deadline all raise a physical IRQ, routed to EL2 (HCR_EL2.IMO),
 * which ends the guest's very next instruction with an IRQ exit on the full
 * path; a virtual SError pending stays in HCR_EL2.VSE, untouched. The classes are
 * guest_exit_may_be_fast's (guest_exit.h).
 */
bool guest_exit_fast(struct vcpu *vcpu, const struct guest_exit *e, struct cpu_regs *regs)
{
	switch (ESR_EC(e->esr)) {
	case EC_HVC64:
		return guest_hvc_from_regs(vcpu, regs->x);
	case EC_DABT_LOWER:
		return vgic_mmio_read_fast(vcpu, e, regs);
	default:
		return false;
	}
}

u32 guest_exit_handle(struct vcpu *vcpu, const struct guest_exit *e)
{
	/*
	 * Every exit, before its handler: a counter of the guest's that overflowed raises its PPI 23 and
	 * leaves the CPU's PMINTEN (masked at the source), whatever the exit was; pmu_irq says the physical
	 * PMU IRQ was the guest's, for an IRQ exit. Cheap when the vCPU never used its PMU: nothing.
	 */
	bool pmu_irq = guest_pmu_exit(vcpu);

	/* First: an SError that surfaced as the guest exited for another reason is the guest's all the same. */
	if (e->serror) {
		guest_serror(vcpu);
	}
	switch (e->kind) {
	case GUEST_EXIT_SYNC:
		return handle_sync(vcpu, e);
	case GUEST_EXIT_SERROR:
		guest_serror(vcpu);
		return MOAT_EXIT_NONE;
	case GUEST_EXIT_IRQ:
		/*
		 * The guest's own timer, PMU overflow or the vGIC's maintenance interrupt: the guest continues.
		 * vgic_irq_exit runs in any case, first (it masks the timer). Were the host's interrupt pending too,
		 * the guest's next entry exits again at once, and that exit is the host's.
		 */
		return vgic_irq_exit(vcpu) || pmu_irq ? MOAT_EXIT_NONE : exit_to_host(vcpu, MOAT_EXIT_IRQ);
	case GUEST_EXIT_FIQ:
	case GUEST_EXIT_NOT_ENTERED:
	default:
		/* A physical interrupt or SError for the host: it takes it once back at EL1. */
		return exit_to_host(vcpu, MOAT_EXIT_IRQ);
	}
}
