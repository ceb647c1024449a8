/*
 * vm_mvcpu: a 4-vCPU guest on 4 host CPUs (guest/mvcpu), issue 11 "Tests".
 *
 * The VMM here runs vCPU i on host CPU i, each CPU in its own VCPU_RUN loop:
 * CPU 0 runs vCPU 0 and, on a VCPU_ON exit, posts the named vCPU's loop to
 * its CPU. On a KICK exit (docs/ABI.md "Interrupts") the sender's CPU sends
 * the host's own SGI (KICK_SGI) to the CPU of each vCPU named: that vCPU's
 * run there ends with an IRQ exit, the CPU acknowledges the SGI, and the next
 * VCPU_RUN enters with the guest's SGI in a list register. A WFI exit with a
 * deadline is answered by running again at once; one with no deadline (~0:
 * no timer armed) parks the vCPU, as a host does, until a KICK names it --
 * a per-vCPU `kicked` flag, set before the host's SGI and cleared when its
 * loop starts VCPU_RUN (docs/ABI.md "Interrupts") -- or PARK_LIMIT_MS pass,
 * which counts as a lost wake-up (step 3b of guest/mvcpu: the kicks of GIC
 * writes).
 *
 * Only vCPU 0 prints or touches the VMM's devices, and vCPU 0 zeroes the
 * guest's BSS (stacks, page table, counters) before CPU_ON, so every exit of
 * vCPUs 1..3 other than KICK/IRQ/WFI/VCPU_OFF is a failure: no VMM state is
 * shared between the CPUs' loops (the host runs with its MMU off, so it has
 * no exclusives for a lock of its own).
 *
 * The host also keeps its own CNTV ticking on CPU 0 every HOST_TICK_MS while
 * vCPU 0 runs the guest's 1 ms timer: the core's CNTHP ends the run at each
 * of the host's deadlines (an IRQ exit), and the host counts and re-arms.
 *
 * Checks: the guest's exact counter, IPI and tick lines; every KICK named only
 * other vCPUs and each kicked CPU acknowledged the host SGI; exits during the
 * 100 ticks are the host's own ticks plus the window's end only (no exit per
 * guest tick), and the host ticked at least half as often as it asked; no
 * WFI exit but vCPU 1's parks in step 3b (its WFIs of step 3 each find an
 * SGI already pending, which the core delivers without one), at least one
 * park, and every park ended by a kick, none by the limit.
 */
#include "lib.h"
#include "sysreg.h"
#include "test.h"
#include "vmm.h"

#define NR_VCPUS 4
#define MIB (1UL << 20)
#define KICK_SGI 8
#define HOST_TICK_MS 10
#define DEV_TICKS 0x0a000040UL
#define PPI_BITS ((1U << 25) | (1U << 27))
#define CNT_CTL_ENABLE 1UL
#define CNT_CTL_ISTATUS 4UL
#define PARK_ROUNDS 4 /* guest/mvcpu's */
#define PARK_LIMIT_MS 2000

struct vcpu_loop {
	struct vmm_vm *vm;
	struct moat_run *run;
	unsigned int index;
	/* Written by this loop's CPU only; read by CPU 0 after smp_wait. */
	u64 runs, kicks_sent, kick_bad, irq_exits, host_sgis, wfi_exits, other_exits, parks, park_timeouts;
	long status;
	/* Set by another CPU's loop before it sends KICK_SGI for this vCPU; cleared by this loop before VCPU_RUN. */
	volatile u64 kicked;
};

struct mvcpu_ctx {
	struct vcpu_loop loop[NR_VCPUS];
	u64 ticks_start_exits, ticks_end_exits, host_ticks, host_ticks_start, host_ticks_end;
	u64 host_period;
	unsigned int vcpu_on_exits;
	u64 vcpu_on_seen; /* bit per vCPU a VCPU_ON exit named */
};

static struct mvcpu_ctx ctx;


/*
 * On each CPU, as a Linux host has it: its redistributor awake, the kick SGI,
 * CNTV (PPI 27) and the maintenance interrupt (PPI 25) group 1 and enabled,
 * group 1 on, IRQs still masked at EL1 (the loops acknowledge by hand).
 */
static u64 host_gic_job(u64 on)
{
	return platform_gic_cpu(on != 0, PPI_BITS | 1U << KICK_SGI);
}

/* Acknowledge every interrupt pending for this CPU; returns how many were the kick SGI. */
static u64 ack_all(void)
{
	u64 kicks = 0;

	for (unsigned int i = 0; i < 16; i++) {
		u64 iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
		u32 intid = (u32)(iar & 0xffffff);

		if (intid >= 1020) {
			break;
		}
		kicks += intid == KICK_SGI;
		write_sysreg(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
		__asm__ volatile("isb");
	}
	return kicks;
}

/* The host's own periodic tick on CPU 0: count and re-arm when it fired. */
static void host_tick(struct mvcpu_ctx *c)
{
	if (!c->host_period || !(read_sysreg(cntv_ctl_el0) & CNT_CTL_ISTATUS)) {
		return;
	}
	c->host_ticks++;
	write_sysreg(cntv_cval_el0, read_sysreg(cntv_cval_el0) + c->host_period);
	__asm__ volatile("isb");
}

/* The host's IPI to the CPU running vCPU `target` (vCPU i runs on CPU i). */
static void kick(unsigned int target)
{
	u64 mpidr = plat.info.cpu_mpidr[target];

	ctx.loop[target].kicked = 1; /* before the SGI: a parked loop sees the flag, a running one the IRQ */
	u64 sgir = (u64)KICK_SGI << 24 | ((mpidr >> 8) & 0xff) << 16 | ((mpidr >> 16) & 0xff) << 32 |
		   ((mpidr >> 32) & 0xff) << 48 | 1UL << (mpidr & 0xf);

	__asm__ volatile("dsb sy");
	write_sysreg(S3_0_C12_C11_5, sgir); /* ICC_SGI1R_EL1 */
	__asm__ volatile("isb");
}

static bool dev_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct mvcpu_ctx *c = vm->ctx;

	if (!run->u.mmio.is_write) {
		run->u.mmio.value = 0;
	} else if (run->u.mmio.ipa == DEV_TICKS && run->u.mmio.value == 1) {
		c->ticks_start_exits = c->loop[0].runs;
		c->host_ticks_start = c->host_ticks;
	} else if (run->u.mmio.ipa == DEV_TICKS && run->u.mmio.value == 2) {
		c->ticks_end_exits = c->loop[0].runs;
		c->host_ticks_end = c->host_ticks;
	}
	return true;
}

static u64 vcpu_loop_job(u64 lp);

/*
 * A WFI exit with no deadline: wait for a kick. The host runs with IRQs masked
 * (the kick SGI stays pending and ends the next run at once, harmlessly); the
 * flag is what wakes it. PARK_LIMIT_MS stands in for "forever".
 */
static void park(struct vcpu_loop *l)
{
	u64 end = read_sysreg(cntvct_el0) + read_sysreg(cntfrq_el0) / 1000 * PARK_LIMIT_MS;

	l->parks++;
	while (!l->kicked) {
		if (read_sysreg(cntvct_el0) > end) {
			l->park_timeouts++;
			return;
		}
		__asm__ volatile("yield");
	}
}

/* One vCPU's VCPU_RUN loop, on its own CPU. vCPU 0's also serves the VMM's devices and starts the others. */
static long run_loop(struct vcpu_loop *l)
{
	struct vmm_vm *vm = l->vm;
	long status = MOAT_OK;

	for (;;) {
		struct moat_result r;
		u64 reason;

		l->kicked = 0; /* a kick from now on is for what this run has not seen */
		__asm__ volatile("dsb sy");
		r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, l->index, 0);
		reason = r.r1;

		l->runs++;
		if (l->index == 0) {
			host_tick(&ctx);
		}
		if (r.status) {
			return r.status;
		}
		if (reason == MOAT_EXIT_KICK) {
			u64 mask = l->run->u.kick.vcpus;

			l->kick_bad += !mask || (mask & (1UL << l->index)) || mask >> NR_VCPUS;
			for (unsigned int t = 0; t < NR_VCPUS; t++) {
				if (mask & (1UL << t)) {
					kick(t);
					l->kicks_sent++;
				}
			}
			continue;
		}
		if (reason == MOAT_EXIT_IRQ) {
			l->irq_exits++;
			l->host_sgis += ack_all();
			continue;
		}
		if (reason == MOAT_EXIT_WFI) {
			l->wfi_exits++;
			if (l->run->u.wfi.deadline == ~0UL) {
				park(l);
			}
			continue;
		}
		if (reason == MOAT_EXIT_VCPU_OFF) {
			return l->index ? MOAT_OK : MOAT_E_STATE;
		}
		if (l->index != 0) {
			l->other_exits++;
			return MOAT_E_STATE; /* vCPUs 1..3 need nothing else from the VMM */
		}
		if (reason == MOAT_EXIT_VCPU_ON) {
			u64 t = l->run->u.vcpu_on.index;

			ctx.vcpu_on_exits++;
			if (t > 0 && t < NR_VCPUS && !(ctx.vcpu_on_seen & (1UL << t))) {
				ctx.vcpu_on_seen |= 1UL << t;
				if (!smp_post((unsigned int)t, vcpu_loop_job, (u64)(uintptr_t)&ctx.loop[t])) {
					return MOAT_E_BUSY;
				}
			}
			continue;
		}
		if (!vmm_handle_exit(vm, reason, &status)) {
			return status;
		}
	}
}

static u64 vcpu_loop_job(u64 lp)
{
	struct vcpu_loop *l = (struct vcpu_loop *)(uintptr_t)lp;

	l->status = run_loop(l);
	return (u64)l->status;
}

static const char *const mvcpu_lines[] = {
	"guest: mvcpu counter=8000 expected=8000",
	"guest: mvcpu ipis sent=120 received=120 wrong=0 spurious=0",
	"guest: mvcpu wfi rounds=10 taken=10",
	"guest: mvcpu park rounds=4 taken=4",
	"guest: mvcpu done",
	NULL,
};

TEST(vm_mvcpu)
{
	static struct vmm_vm vm;
	u64 runs[NR_VCPUS] = { 0 }, v;
	u64 kicks_sent = 0, host_sgis = 0, kick_bad = 0;
	long ret;

	if (plat.info.nr_cpus < NR_VCPUS) {
		tprintf("mvcpu: %u CPU(s), this test needs %u: nothing to do\n", plat.info.nr_cpus, NR_VCPUS);
		return;
	}
	for (unsigned int cpu = 1; cpu < NR_VCPUS; cpu++) {
		if (!CHECK_EQ(secondary_start(cpu), 0) || !CHECK(secondary_wait_alive(cpu, 3000), "CPU %u", cpu) ||
		    !CHECK(smp_call(cpu, host_gic_job, 1, &v, 3000) && v, "GIC set-up on CPU %u", cpu)) {
			return;
		}
	}
	platform_gicd_on();
	if (!CHECK(host_gic_job(1), "no redistributor for CPU 0")) {
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	vm = (struct vmm_vm){
		.console_echo = true, .expect = mvcpu_lines, .mmio = dev_mmio, .ctx = &ctx, .max_vcpus = NR_VCPUS
	};
	ret = vmm_create(&vm, MOAT_VM_PROTECTED, 16 * MIB);
	if (!ret) {
		ret = vmm_add_vcpu0(&vm);
	}
	ctx.loop[0] = (struct vcpu_loop){ .vm = &vm, .run = vm.run, .index = 0 };
	for (unsigned int i = 1; i < NR_VCPUS && !ret; i++) {
		u64 run = host_page_alloc();

		ret = moat_hvc(MOAT_FN_SHARE_CORE, run, 0, 0).status;
		if (!ret) {
			ret = moat_hvc(MOAT_FN_VCPU_CREATE, vm.handle, i, run).status;
		}
		ctx.loop[i] = (struct vcpu_loop){ .vm = &vm, .run = (struct moat_run *)run, .index = i };
	}
	if (!ret) {
		ret = vmm_load(&vm, "mvcpu");
	}

	if (!ret) {
		ret = vmm_finalize(&vm, 0);
	}
	/*
	 * Back all of the guest's RAM before vCPUs 1..3 start. Their loops run on
	 * other CPUs and cannot serve a MEM_FAULT (the VMM's page allocator is not
	 * SMP-safe), and which pages a secondary touches before vCPU 0 does
	 * depends on timing: under load, a secondary's first touch of its stack
	 * page used to end its loop with an unexpected exit.
	 */
	for (u64 off = ALIGN_UP((u64)(guest_image_find("mvcpu")->end - guest_image_find("mvcpu")->start), PAGE_SIZE);
	     off < 16 * MIB && !ret; off += PAGE_SIZE) {
		ret = vmm_donate(&vm, MOAT_GUEST_RAM_BASE + off);
	}
	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	/* The host's own periodic CNTV on CPU 0, running through the whole guest. */
	ctx.host_period = read_sysreg(cntfrq_el0) / 1000 * HOST_TICK_MS;
	write_sysreg(cntv_cval_el0, read_sysreg(cntvct_el0) + ctx.host_period);
	write_sysreg(cntv_ctl_el0, CNT_CTL_ENABLE);
	__asm__ volatile("isb");

	ret = run_loop(&ctx.loop[0]);

	write_sysreg(cntv_ctl_el0, 0);
	for (unsigned int i = 1; i < NR_VCPUS; i++) {
		CHECK(!(ctx.vcpu_on_seen & (1UL << i)) || smp_wait(i, 30000, &v), "vCPU %u's loop did not end", i);
	}
	for (unsigned int i = 0; i < NR_VCPUS; i++) {
		struct vcpu_loop *l = &ctx.loop[i];

		tprintf("mvcpu: vCPU %u on CPU %u: status %ld, %lu runs, %lu kicks sent, %lu IRQ exits, %lu host SGIs "
			"taken, %lu WFI (%lu parked, %lu woken by no kick in %u ms), %lu other\n",
			i, i, i ? l->status : ret, l->runs, l->kicks_sent, l->irq_exits, l->host_sgis, l->wfi_exits,
			l->parks, l->park_timeouts, PARK_LIMIT_MS, l->other_exits);
		runs[i] = l->runs;
		kicks_sent += l->kicks_sent;
		host_sgis += l->host_sgis;
		kick_bad += l->kick_bad;
		if (i) {
			CHECK_EQ(l->status, MOAT_OK);
			CHECK_EQ(l->other_exits, 0);
		}
		/* vCPU 1's WFIs of step 3b park it (each when vCPU 1 got there before vCPU 0's write); no others. */
		CHECK(l->wfi_exits <= (i == 1 ? PARK_ROUNDS : 0), "vCPU %u: %lu WFI exits", i, l->wfi_exits);
		CHECK(l->park_timeouts == 0, "vCPU %u: %lu of %lu parks ended by no kick: a GIC write announced nothing",
		      i, l->park_timeouts, l->parks);
	}
	CHECK(ctx.loop[1].parks >= 1, "vCPU 1 never parked in step 3b");
	tprintf("mvcpu: %u VCPU_ON exits (mask 0x%lx); KICK exits named %lu vCPUs, %lu malformed; %lu host SGIs "
		"taken\n",
		ctx.vcpu_on_exits, ctx.vcpu_on_seen, kicks_sent, kick_bad, host_sgis);
	tprintf("mvcpu: exits during the ticks %lu, host ticks then %lu (every %u ms), host ticks in all %lu\n",
		ctx.ticks_end_exits - ctx.ticks_start_exits, ctx.host_ticks_end - ctx.host_ticks_start, HOST_TICK_MS,
		ctx.host_ticks);
	CHECK_EQ(ret, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vmm_expected_all(&vm), "expected lines missing (seen mask 0x%x)", vm.expect_seen);
	CHECK_EQ(ctx.vcpu_on_exits, NR_VCPUS - 1);
	CHECK_EQ(ctx.vcpu_on_seen, 0xe);
	CHECK_EQ(kick_bad, 0);
	/*
	 * Every SGI the guest sent to another vCPU ended its sender's run naming the target (120), and so did
	 * every GIC write of vCPU 0 that made an interrupt pending on vCPU 1: step 3's 10 GICR_ISPENDR0 writes
	 * and step 3b's 4 (its other writes make nothing deliverable, and announce nothing).
	 */
	CHECK_EQ(kicks_sent, 120 + 10 + PARK_ROUNDS);
	CHECK(host_sgis <= kicks_sent, "%lu host SGIs taken for %lu sent", host_sgis, kicks_sent);
	/* 100 guest ticks, ~10 host ticks: the run ends only for the host's ticks (IRQ) and the window's own end. */
	CHECK(ctx.host_ticks_end - ctx.host_ticks_start >= 100 / HOST_TICK_MS / 2, "host ticks %lu",
	      ctx.host_ticks_end - ctx.host_ticks_start);
	CHECK(ctx.ticks_end_exits - ctx.ticks_start_exits <= ctx.host_ticks_end - ctx.host_ticks_start + 2,
	      "%lu exits during the ticks", ctx.ticks_end_exits - ctx.ticks_start_exits);
	CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
	for (unsigned int cpu = 0; cpu < NR_VCPUS; cpu++) {
		if (cpu) {
			smp_call(cpu, host_gic_job, 0, &v, 3000);
			CHECK(smp_cpu_off(cpu, 3000), "CPU %u did not turn off", cpu);
		} else {
			host_gic_job(0);
		}
	}
	(void)runs;
}
