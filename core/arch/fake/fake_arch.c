/*
 * Fake architecture layer for host-native builds (unit tests, fuzzer).
 *
 * Every maintenance operation is appended to a trace so tests can assert
 * that break-before-make, TLB invalidation and cache cleaning happen, in the
 * right order. The console goes to a buffer tests can inspect; power-off and
 * firmware calls are hooks.
 */
#include "fake_arch.h"
#include "guest_debug.h"
#include "psci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_state fake;

static void trace(enum fake_op op, u64 arg)
{
	if (fake.nr_ops < FAKE_TRACE_MAX) {
		fake.ops[fake.nr_ops].op = op;
		fake.ops[fake.nr_ops].arg = arg;
		fake.nr_ops++;
	}
}

void (*fake_spin_hook)(u32 *word);

void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.ich_vmcr = 0xffUL << 24 | 3;
	fake.vgic_rpr = 0xff;
	fake_spin_hook = NULL;
}

void arch_dsb_ishst(void) { trace(FAKE_DSB_ISHST, 0); }
void arch_dsb_ish(void) { trace(FAKE_DSB_ISH, 0); }
void arch_isb(void) { trace(FAKE_ISB, 0); }
void arch_tlbi_s2_ipa(u64 ipa) { trace(FAKE_TLBI_S2_IPA, ipa); fake.tlbi_s2_vttbr = fake.vttbr; }
void arch_tlbi_s1_guest_all(void) { trace(FAKE_TLBI_S1_ALL, 0); }
void arch_tlbi_s12_all(void) { trace(FAKE_TLBI_S12_ALL, 0); }
void arch_tlbi_el2_va(u64 va) { trace(FAKE_TLBI_EL2_VA, va); }
void arch_tlbi_el2_all(void) { trace(FAKE_TLBI_EL2_ALL, 0); }
void arch_dcache_clean_inval_poc(u64 va, u64 size) { trace(FAKE_DC_CIVAC, va); (void)size; }
void arch_dcache_clean_poc(u64 va, u64 size) { trace(FAKE_DC_CVAC, va); (void)size; }
void arch_icache_inval_all(void) { trace(FAKE_IC_IALLUIS, 0); }
void arch_icache_inval_pou(u64 va, u64 size) { trace(FAKE_IC_INVAL_POU, va); (void)size; }

unsigned int arch_cpu_index(void)
{
	return fake.cpu;
}

u64 arch_counter(void)
{
	return ++fake.counter;
}

u64 arch_counter_freq(void)
{
	return 62500000;
}

void arch_console_set_base(u64 pa)
{
	(void)pa;
}

bool arch_console_try_putc(char c)
{
	fake.console_polls++;
	if (fake.console_full) {
		return false;
	}
	if (fake.console_len + 1 < sizeof(fake.console)) {
		fake.console[fake.console_len++] = c;
		fake.console[fake.console_len] = '\0';
	}
	if (getenv("MOAT_FAKE_CONSOLE")) {
		fputc(c, stderr);
	}
	return true;
}

void arch_inject_el1_sync(struct cpu_regs *regs, u64 esr_el1, u64 far_el1)
{
	fake.injected++;
	fake.last_esr_el1 = esr_el1;
	fake.last_far_el1 = far_el1;
	(void)regs;
}

bool arch_device_read(u64 pa, unsigned int size, u64 *val)
{
	*val = 0;
	if (size != 4 && size != 8) {
		return false;
	}
	if (fake.device_fault && fake.device_fault(pa, false)) {
		fake.device_faults++;
		return false;
	}
	fake.device_reads++;
	*val = size == 8 ? *(volatile u64 *)(uintptr_t)pa : *(volatile u32 *)(uintptr_t)pa;
	return true;
}

bool arch_device_write(u64 pa, unsigned int size, u64 val)
{
	if (size != 4 && size != 8) {
		return false;
	}
	if (fake.device_fault && fake.device_fault(pa, true)) {
		fake.device_faults++;
		return false;
	}
	fake.device_writes++;
	if (size == 8) {
		*(volatile u64 *)(uintptr_t)pa = val;
	} else {
		*(volatile u32 *)(uintptr_t)pa = (u32)val;
	}
	return true;
}

void arch_firmware_smc(const u64 in[8], u64 out[4])
{
	if (fake.firmware_calls < sizeof(fake.firmware_fids) / sizeof(fake.firmware_fids[0])) {
		fake.firmware_fids[fake.firmware_calls] = in[0];
	}
	fake.firmware_calls++;
	fake.last_firmware_fid = in[0];
	for (unsigned int i = 0; i < 4; i++) {
		fake.last_firmware_args[i] = in[i];
	}
	out[0] = 0;
	if (in[0] == PSCI_FEATURES && fake.firmware_unsupported && in[1] == fake.firmware_unsupported) {
		out[0] = (u64)-1;
	}
	out[1] = out[2] = out[3] = 0;
}

void arch_wfi(void)
{
	trace(FAKE_WFI, 0);
}

u64 arch_cpu_mpidr(void)
{
	return fake.mpidr;
}

/* Not an address the fake ever runs: tests only check that the firmware got it, not the host's. */
#define FAKE_SECONDARY_ENTRY 0x5ec0000UL

u64 arch_secondary_entry_pa(void)
{
	return FAKE_SECONDARY_ENTRY;
}

void arch_wfe(void)
{
	trace(FAKE_WFE, 0);
	if (fake.wfe_hook) {
		fake.wfe_hook();
	}
}

void arch_sev(void)
{
	trace(FAKE_SEV, 0);
}

void arch_kick_other_cpus(void)
{
	trace(FAKE_KICK_OTHERS, 0);
}

void arch_power_off(void)
{
	fprintf(stderr, "fake: arch_power_off called\n%s\n", fake.console);
	abort();
}

/* Where PMXEVTYPER/PMXEVCNTR land for the current PMSELR.SEL (NULL: no such counter, RAZ/WI). */
static u64 *pmu_slot(enum pmu_reg reg)
{
	unsigned int sel = (unsigned int)(fake.pmu.fixed[PMU_pmselr_el0] & 31);

	if (reg == PMU_pmxevtyper_el0) {
		return sel == 31 ? &fake.pmu.fixed[PMU_pmccfiltr_el0] : &fake.pmu.evtyper[sel];
	}
	if (reg == PMU_pmxevcntr_el0) {
		return sel == 31 ? NULL : &fake.pmu.evcntr[sel];
	}
	return &fake.pmu.fixed[reg];
}

/* A set/clear pair is one register on the CPU: the fake keeps it in the SET slot. */
static enum pmu_reg pmu_pair(enum pmu_reg reg)
{
	switch (reg) {
	case PMU_pmcntenclr_el0:
		return PMU_pmcntenset_el0;
	case PMU_pmintenclr_el1:
		return PMU_pmintenset_el1;
	case PMU_pmovsclr_el0:
		return PMU_pmovsset_el0;
	default:
		return reg;
	}
}

static bool pmu_is_pair(enum pmu_reg reg)
{
	return reg == PMU_pmcntenset_el0 || reg == PMU_pmintenset_el1 || reg == PMU_pmovsset_el0;
}

u64 arch_pmu_read(enum pmu_reg reg)
{
	u64 *slot = pmu_slot(pmu_pair(reg));

	trace(FAKE_PMU_READ, reg);
	return slot ? *slot : 0;
}

void arch_pmu_write(enum pmu_reg reg, u64 v)
{
	u64 *slot = pmu_slot(reg);

	trace(FAKE_PMU_WRITE, reg);
	fake.pmu.last_write = v;
	if (reg == PMU_pmswinc_el0) {
		/* As the hardware does at EL2: a SW_INCR (event 0) counter counts the write if its NSH says EL2 counts. */
		for (unsigned int n = 0; n < 31; n++) {
			if ((v >> n & 1) && (fake.pmu.evtyper[n] & 0xffff) == 0 && (fake.pmu.evtyper[n] & PMU_EVTYPER_NSH)) {
				fake.pmu.evcntr[n]++;
			}
		}
		return;
	}
	if (reg == PMU_pmcr_el0) {
		/* PMCR_EL0.N (bits 15:11) is read-only, as on the CPU: a switch that writes a saved PMCR keeps it. */
		v = (v & ~(0x1fULL << 11)) | (*slot & (0x1fULL << 11));
	}
	if (pmu_pair(reg) != reg) {
		fake.pmu.fixed[pmu_pair(reg)] &= ~v; /* write-1-to-clear */
		return;
	}
	if (pmu_is_pair(reg)) {
		*slot |= v; /* write-1-to-set */
		return;
	}
	if (slot) {
		*slot = v;
	}
}

static u64 *dbg_slot(enum dbg_reg reg, unsigned int n)
{
	switch (reg) {
	case DBG_BVR:
		return &fake.dbg.bvr[n % 16];
	case DBG_BCR:
		return &fake.dbg.bcr[n % 16];
	case DBG_WVR:
		return &fake.dbg.wvr[n % 16];
	case DBG_WCR:
		return &fake.dbg.wcr[n % 16];
	case DBG_MDSCR:
		return &fake.dbg.mdscr;
	default:
		return &fake.dbg.oslsr;
	}
}

u64 arch_dbg_read(enum dbg_reg reg, unsigned int n)
{
	trace(FAKE_DBG_READ, (u64)reg << 8 | n);
	return reg == DBG_OSLAR ? 0 : *dbg_slot(reg, n);
}

void arch_dbg_write(enum dbg_reg reg, unsigned int n, u64 v)
{
	trace(FAKE_DBG_WRITE, (u64)reg << 8 | n);
	if (reg == DBG_OSLAR) {
		fake.dbg.oslsr = (fake.dbg.oslsr & ~2ULL) | ((v & 1) << 1);
	} else if (reg != DBG_OSLSR) {
		*dbg_slot(reg, n) = v;
	}
}

void fake_queue_exit(enum guest_exit_kind kind, u64 esr, u64 far, u64 ipa)
{
	if (fake.nr_exits < sizeof(fake.exits) / sizeof(fake.exits[0])) {
		fake.exits[fake.nr_exits++] = (struct guest_exit){ kind, esr, far, ipa, false };
	}
}

void arch_vcpu_load(struct vcpu *vcpu, bool flush_local)
{
	fake.vcpu_loads++;
	fake.vttbr = vcpu->vm->s2.vttbr;
	(void)flush_local;
	/* As the arm64 layer does: a normal vCPU that used debug gets its registers switched in (guest_debug.c). */
	if (vcpu->dbg_used) {
		guest_debug_load(vcpu);
	}
}

void arch_vcpu_put(struct vcpu *vcpu)
{
	fake.vcpu_puts++;
	if (vcpu->dbg_used) {
		guest_debug_put(vcpu);
	}
}

unsigned int arch_vgic_nr_lrs(void)
{
	return fake.nr_lrs ? fake.nr_lrs : 4;
}

u64 arch_vtimer_ctl(void)
{
	return fake.cntv_ctl;
}

void arch_vtimer_set_ctl(u64 ctl)
{
	fake.cntv_ctl = ctl;
}

u64 arch_vgic_vmcr(void)
{
	return fake.ich_vmcr;
}

u32 arch_vgic_running_priority(void)
{
	return fake.vgic_rpr;
}

void arch_guest_run(struct vcpu *vcpu, struct guest_exit *exit)
{
	fake.entries++;
	memcpy(fake.lr, vcpu->vgic.lr, sizeof(fake.lr));
	fake.ich_hcr = vcpu->vgic.hcr | ICH_HCR_EN;
	fake.ich_misr = 0;
	if (fake.next_exit < fake.nr_exits) {
		*exit = fake.exits[fake.next_exit];
	} else {
		/* Out of script: the guest calls PSCI SYSTEM_OFF (HVC, EC 0x16). */
		vcpu->ctx.regs.x[0] = 0x84000008;
		*exit = (struct guest_exit){ GUEST_EXIT_SYNC, 0x16UL << 26 | 1UL << 25, 0, 0, false };
	}
	if (fake.exit_hook) {
		fake.exit_hook(vcpu, fake.next_exit);
	}
	fake.next_exit++;
	memcpy(vcpu->vgic.lr, fake.lr, sizeof(fake.lr));
	vcpu->vgic.misr = fake.ich_misr;
}

void arch_vcpu_sync_serror(struct vcpu *vcpu)
{
	fake.serror_syncs++;
	(void)vcpu;
}

void arch_s2_switch_to(const struct stage2 *view)
{
	fake.vttbr = view->vttbr;
}

void arch_s2_switch_to_host(void)
{
	fake.vttbr = 0;
}

/* Recorded as one op naming the view's VTTBR, then the sequence arm64 runs, so tests can assert either. */
void arch_s2_flush_vmid(const struct stage2 *view)
{
	trace(FAKE_S2_FLUSH_VMID, view->vttbr);
	arch_s2_switch_to(view);
	arch_tlbi_s12_all();
	arch_dsb_ish();
	arch_s2_switch_to_host();
}

size_t fake_find_op(size_t from, enum fake_op op)
{
	for (size_t i = from; i < fake.nr_ops; i++) {
		if (fake.ops[i].op == op) {
			return i;
		}
	}
	return (size_t)-1;
}
