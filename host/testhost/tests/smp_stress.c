/*
 * Tests: the core under concurrent host calls from several CPUs (issue 11).
 *
 *   smp_stress        every CPU (up to 4) runs random create / DONATE_CORE /
 *                     VCPU_CREATE / LOAD / FINALIZE / run (the hello guest,
 *                     demand-paged with DONATE_VM or SHARE_VM) / VM_DESTROY /
 *                     RECLAIM sequences on VMs of its own, and now and then
 *                     one call on another CPU's VM (DONATE_VM, DONATE_CORE,
 *                     SHARE_VM, LOAD, FINALIZE, VCPU_RUN, VM_DESTROY,
 *                     IRQ_LINE, a second VCPU_CREATE), so
 *                     handles die under their users. Bounded by a count and a
 *                     time. MOAT_FN_CHECK runs every STRESS_CHECK_EVERY calls
 *                     of each CPU and at the end; after the clean-up the
 *                     core's counters equal those before the stress.
 *                     Prints `SMP stress: N operations, M violations`.
 *   smp_double_donate three CPUs hand the same host page to the core at the
 *                     same moment (DONATE_VM to two VMs, DONATE_CORE,
 *                     SHARE_CORE, two IPAs of one VM): exactly one succeeds.
 *   smp_irq_flood     CPUs 0..2 drive IRQ_LINE in a loop at a protected VM
 *                     whose vCPU runs the bench guest on CPU 3: the guest
 *                     finishes, every IRQ_LINE answers OK, no violation.
 *
 * The test host runs with the MMU off (Device memory: no exclusives), so the
 * CPUs share nothing they both write: each CPU has its own page pool, its own
 * VMs and counters; the handle board has one writer per entry. Waits use WFE
 * (-smp 4 on a 2-core machine oversubscribes QEMU's threads). Secondaries
 * never print: CPU 0 reports what they recorded.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define WAIT_MS 3000
#define STRESS_CPUS 4
#define STRESS_VMS 3	      /* per CPU */
#define STRESS_PAGES 64	      /* per CPU, besides the roots */
#define STRESS_ROOTS 4	      /* stage-2 root pairs per CPU */
#define STRESS_TARGET 100000UL /* host calls, all CPUs together */
#define STRESS_MS 75000UL      /* ... or this long, whichever comes first */
#define STRESS_CHECK_EVERY 4096 /* calls of one CPU between two MOAT_FN_CHECKs */
#define STRESS_RAM (16 * MIB)
#define STRESS_RUN_BATCH 16   /* VCPU_RUNs per run step, so other steps interleave */
#define STRESS_RUN_MAX 4000   /* VCPU_RUNs before a VM that never powers off is destroyed */
#define STRESS_MEMCACHE 3     /* DONATE_CORE pages at build time */
#define STRESS_BAD_MAX 8      /* unexpected answers recorded per CPU */

enum svm_state { S_NONE, S_CREATED, S_VCPU, S_LOADED, S_FINAL, S_OFF };
enum page_kind { P_FREE, P_DONATED, P_CORE_SHARED, P_VM_SHARED };

struct spage {
	u64 pa;
	u64 handle; /* the VM it went to */
	u8 kind;
};

struct sroot {
	u64 pa; /* two pages, 8 KiB-aligned */
	u64 handle;
	u8 used;      /* given at VM_CREATE */
	u8 reclaimed; /* bit i: page i back with RECLAIM */
};

struct svm {
	u64 handle;
	u64 type;
	u8 state;
	u8 step; /* progress inside the state (pages donated, loaded) */
	u32 runs;
	u64 run_pa;
	struct moat_run *run;
};

struct bad_call {
	u64 fn, a0;
	long status;
};

struct stress_cpu {
	struct spage pages[STRESS_PAGES];
	struct sroot roots[STRESS_ROOTS];
	struct svm vms[STRESS_VMS];
	u64 rng;
	volatile u64 ops; /* read by the other CPUs for the global bound */
	u64 ok, racing, unexpected, violations, checks;
	u64 created, finalized, runs_off, destroyed, foreign, foreign_ok, reclaimed;
	u64 errs[MOAT_FN_COUNT]; /* racing errors per function number */
	long last_err[MOAT_FN_COUNT];
	unsigned int nbad;
	struct bad_call bad[STRESS_BAD_MAX];
};

static struct stress_cpu stress[STRESS_CPUS];
static volatile u64 board[STRESS_CPUS][STRESS_VMS]; /* published handles; written by their owner only */
static volatile u64 stress_go;
static u64 stress_t0;
static unsigned int stress_ncpus;
static const struct guest_image *stress_image;

static u64 rnd(struct stress_cpu *c)
{
	/* xorshift64: reproducible from the printed seed */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static bool racing_error(long s)
{
	/*
	 * What another CPU's call in between can make a call return (docs/ABI.md). ORDER: a foreign LOAD
	 * at a random IPA lands above the owner's next image page (or below one already LOADed).
	 */
	return s == MOAT_E_BUSY || s == MOAT_E_STALE || s == MOAT_E_NOENT || s == MOAT_E_PERM || s == MOAT_E_STATE ||
	       s == MOAT_E_EXIST || s == MOAT_E_NOMEM || s == MOAT_E_ORDER;
}

static struct moat_result scall6(struct stress_cpu *c, u64 fn, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
	struct moat_result r = moat_hvc6(fn, a0, a1, a2, a3, a4, a5);

	c->ops++;
	if (r.status == MOAT_OK) {
		c->ok++;
	} else if (racing_error(r.status)) {
		c->racing++;
		c->errs[(fn & 0xffff) - 0x100] += 1;
		c->last_err[(fn & 0xffff) - 0x100] = r.status;
	} else {
		c->unexpected++;
		if (c->nbad < STRESS_BAD_MAX) {
			c->bad[c->nbad++] = (struct bad_call){ fn, a0, r.status };
		}
	}
	return r;
}

static struct moat_result scall(struct stress_cpu *c, u64 fn, u64 a0, u64 a1, u64 a2)
{
	return scall6(c, fn, a0, a1, a2, 0, 0, 0);
}

static void stress_check(struct stress_cpu *c)
{
	struct moat_result r = scall(c, MOAT_FN_CHECK, 0, 0, 0);

	c->checks++;
	if (r.status == MOAT_OK) {
		c->violations += r.r1;
	}
}

static unsigned int free_pages(const struct stress_cpu *c)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < STRESS_PAGES; i++) {
		n += c->pages[i].kind == P_FREE;
	}
	return n;
}

static struct spage *page_get(struct stress_cpu *c)
{
	unsigned int start = (unsigned int)(rnd(c) % STRESS_PAGES);

	for (unsigned int i = 0; i < STRESS_PAGES; i++) {
		struct spage *p = &c->pages[(start + i) % STRESS_PAGES];

		if (p->kind == P_FREE) {
			return p;
		}
	}
	return NULL;
}

/* A call that gave page p to handle h (kind) succeeded, or not. */
static bool page_given(struct spage *p, struct moat_result r, u64 h, u8 kind)
{
	if (r.status) {
		return false;
	}
	p->kind = kind;
	p->handle = h;
	return true;
}

static bool handle_mine(struct stress_cpu *c, u64 h)
{
	for (unsigned int v = 0; v < STRESS_VMS; v++) {
		if (c->vms[v].state != S_NONE && c->vms[v].handle == h) {
			return true;
		}
	}
	return false;
}

/* Take back what can be taken back: pages of VMs that are gone (ours or not). */
static void sweep(struct stress_cpu *c, bool all)
{
	for (unsigned int i = 0; i < STRESS_PAGES; i++) {
		struct spage *p = &c->pages[i];
		struct moat_result r;

		if (p->kind == P_FREE || (!all && handle_mine(c, p->handle))) {
			continue;
		}
		if (p->kind == P_DONATED) {
			r = scall(c, MOAT_FN_RECLAIM, p->pa, 0, 0);
		} else if (p->kind == P_CORE_SHARED) {
			r = scall(c, MOAT_FN_UNSHARE_CORE, p->pa, 0, 0);
		} else {
			/* SHARE_VM: the page is the host's again once the VM is gone. */
			r = scall(c, MOAT_FN_MEASUREMENT, p->handle, 0, 0);
			r.status = r.status == MOAT_E_STALE || r.status == MOAT_E_NOENT ? MOAT_OK : MOAT_E_BUSY;
		}
		if (r.status == MOAT_OK) {
			p->kind = P_FREE;
			c->reclaimed++;
		}
	}
	for (unsigned int i = 0; i < STRESS_ROOTS; i++) {
		struct sroot *rt = &c->roots[i];

		if (!rt->used || (!all && handle_mine(c, rt->handle))) {
			continue;
		}
		for (unsigned int k = 0; k < 2; k++) {
			if (!(rt->reclaimed & (1U << k)) &&
			    scall(c, MOAT_FN_RECLAIM, rt->pa + k * PAGE_SIZE, 0, 0).status == MOAT_OK) {
				rt->reclaimed |= 1U << k;
			}
		}
		if (rt->reclaimed == 3) {
			rt->used = 0;
			c->reclaimed += 2;
		}
	}
}

static void vm_gone(struct stress_cpu *c, unsigned int v)
{
	board[c - stress][v] = 0;
	c->vms[v].state = S_NONE;
	c->vms[v].handle = 0;
}

/* An answer naming a VM that no longer exists (another CPU destroyed it). */
static bool vm_died(struct stress_cpu *c, unsigned int v, long status)
{
	if (status == MOAT_E_STALE || status == MOAT_E_NOENT) {
		vm_gone(c, v);
		return true;
	}
	return false;
}

static void vm_destroy(struct stress_cpu *c, unsigned int v)
{
	long s = scall(c, MOAT_FN_VM_DESTROY, c->vms[v].handle, 0, 0).status;

	if (s == MOAT_OK) {
		c->destroyed++;
		vm_gone(c, v);
	} else {
		vm_died(c, v, s); /* BUSY: its vCPU runs on another CPU; try again later */
	}
}

static void vm_create(struct stress_cpu *c, unsigned int v)
{
	struct svm *vm = &c->vms[v];
	struct sroot *rt = NULL;
	struct moat_result r;

	for (unsigned int i = 0; i < STRESS_ROOTS && !rt; i++) {
		rt = c->roots[i].used ? NULL : &c->roots[i];
	}
	if (!rt) {
		sweep(c, false);
		return;
	}
	vm->type = rnd(c) % 4 ? MOAT_VM_PROTECTED : MOAT_VM_NORMAL;
	r = scall6(c, MOAT_FN_VM_CREATE, vm->type, 1, rt->pa, STRESS_RAM, VMM_MMIO_BASE, VMM_MMIO_SIZE);
	if (r.status) {
		return;
	}
	rt->used = 1;
	rt->reclaimed = 0;
	rt->handle = r.r1;
	vm->handle = r.r1;
	vm->state = S_CREATED;
	vm->step = 0;
	vm->runs = 0;
	c->created++;
	board[c - stress][v] = r.r1;
}

/* A mem fault of our own guest: back the page (the core may need a table page first). */
static void serve_fault(struct stress_cpu *c, struct svm *vm, u64 ipa)
{
	bool share = vm->type == MOAT_VM_NORMAL;
	struct spage *p = page_get(c);
	struct moat_result r;

	if (!p) {
		return;
	}
	r = scall(c, share ? MOAT_FN_SHARE_VM : MOAT_FN_DONATE_VM, vm->handle, p->pa, ipa);
	if (r.status == MOAT_E_NOMEM) {
		struct spage *t = page_get(c);

		if (t && t != p) {
			page_given(t, scall(c, MOAT_FN_DONATE_CORE, vm->handle, t->pa, 1), vm->handle, P_DONATED);
		}
		return;
	}
	page_given(p, r, vm->handle, share ? P_VM_SHARED : P_DONATED);
}

static void vm_run(struct stress_cpu *c, unsigned int v)
{
	struct svm *vm = &c->vms[v];

	for (unsigned int i = 0; i < STRESS_RUN_BATCH; i++) {
		struct moat_result r = scall(c, MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

		if (r.status) {
			if (!vm_died(c, v, r.status) && r.status != MOAT_E_BUSY) {
				vm->state = S_OFF;
			}
			return;
		}
		if (++vm->runs >= STRESS_RUN_MAX) {
			vm->state = S_OFF;
			return;
		}
		switch (r.r1) {
		case MOAT_EXIT_MMIO:
			if (!vm->run->u.mmio.is_write) {
				vm->run->u.mmio.value = 0;
			}
			break;
		case MOAT_EXIT_MEM_FAULT:
			serve_fault(c, vm, vm->run->u.mem_fault.ipa);
			break;
		case MOAT_EXIT_SYSTEM_OFF:
			c->runs_off++;
			vm->state = S_OFF;
			return;
		case MOAT_EXIT_SYSTEM_RESET:
		case MOAT_EXIT_GUEST_FAULT:
		case MOAT_EXIT_VCPU_OFF:
			vm->state = S_OFF;
			return;
		default: /* WFI, IRQ: run again */
			break;
		}
	}
}

/* One step of our VM v through its life. */
static void vm_step(struct stress_cpu *c, unsigned int v)
{
	struct svm *vm = &c->vms[v];
	struct spage *p;
	struct moat_result r;

	if (vm->state != S_NONE && rnd(c) % 256 == 0) {
		vm_destroy(c, v); /* an early destroy, in any state */
		return;
	}
	switch (vm->state) {
	case S_NONE:
		vm_create(c, v);
		return;
	case S_CREATED:
		p = page_get(c);
		if (!p) {
			return;
		}
		if (vm->step < STRESS_MEMCACHE) {
			r = scall(c, MOAT_FN_DONATE_CORE, vm->handle, p->pa, 1);
			vm->step += page_given(p, r, vm->handle, P_DONATED);
		} else {
			r = scall(c, MOAT_FN_SHARE_CORE, p->pa, 0, 0);
			if (!page_given(p, r, vm->handle, P_CORE_SHARED)) {
				return;
			}
			vm->run_pa = p->pa;
			vm->run = (struct moat_run *)p->pa;
			r = scall(c, MOAT_FN_VCPU_CREATE, vm->handle, 0, p->pa);
			if (r.status == MOAT_OK) {
				vm->state = S_VCPU;
				vm->step = 0;
			}
		}
		break;
	case S_VCPU: {
		u64 off = (u64)vm->step * PAGE_SIZE, size = (u64)(stress_image->end - stress_image->start);

		p = page_get(c);
		if (!p) {
			return;
		}
		memcpy((void *)p->pa, stress_image->start + off, MIN(PAGE_SIZE, size - off));
		r = scall(c, MOAT_FN_LOAD, vm->handle, p->pa, MOAT_GUEST_RAM_BASE + off);
		if (page_given(p, r, vm->handle, P_DONATED) && (u64)++vm->step * PAGE_SIZE >= size) {
			vm->state = S_LOADED;
		} else if (r.status == MOAT_E_ORDER) {
			vm->state = S_LOADED; /* another CPU LOADed above us: no page of ours may follow; run what there is */
		}
		break;
	}
	case S_LOADED:
		r = scall(c, MOAT_FN_VM_SET_SPIS, vm->handle, 0xf, 0); /* SPIs 32..35: the other CPUs drive them */
		if (r.status == MOAT_OK) {
			r = scall(c, MOAT_FN_SET_BOOT, vm->handle, MOAT_GUEST_RAM_BASE, 0);
		}
		if (r.status == MOAT_OK || r.status == MOAT_E_STATE) {
			r = scall(c, MOAT_FN_FINALIZE, vm->handle, 0, 0);
		}
		if (r.status == MOAT_OK || r.status == MOAT_E_STATE) { /* STATE: another CPU finalized it */
			vm->state = S_FINAL;
			c->finalized += r.status == MOAT_OK;
		}
		break;
	case S_FINAL:
		vm_run(c, v);
		return;
	case S_OFF:
		vm_destroy(c, v);
		return;
	}
	if (vm->state != S_NONE && r.status == MOAT_E_NOMEM) {
		/* The memcache ran out of table pages: top it up; the step is tried again later. */
		p = page_get(c);
		if (p) {
			page_given(p, scall(c, MOAT_FN_DONATE_CORE, vm->handle, p->pa, 1), vm->handle, P_DONATED);
		}
	} else if (vm->state != S_NONE && r.status && !vm_died(c, v, r.status) && r.status == MOAT_E_STATE) {
		vm->state = S_FINAL; /* another CPU finalized it under construction: run what there is */
	}
}

/* One call on a VM of another CPU, through a handle that may die under us. */
static void foreign_op(struct stress_cpu *c, unsigned int me)
{
	unsigned int other = (unsigned int)(rnd(c) % stress_ncpus);
	u64 h = board[other][rnd(c) % STRESS_VMS];
	u64 ipa = MOAT_GUEST_RAM_BASE + (rnd(c) % (STRESS_RAM / PAGE_SIZE)) * PAGE_SIZE;
	struct spage *p = page_get(c);
	struct moat_result r;
	bool given = false;

	if (other == me || !h || !p) {
		return;
	}
	c->foreign++;
	switch (rnd(c) % 16) {
	case 0:
		r = scall(c, MOAT_FN_DONATE_VM, h, p->pa, ipa);
		given = page_given(p, r, h, P_DONATED);
		break;
	case 1:
		r = scall(c, MOAT_FN_DONATE_CORE, h, p->pa, 1);
		given = page_given(p, r, h, P_DONATED);
		break;
	case 2:
		r = scall(c, MOAT_FN_SHARE_VM, h, p->pa, ipa);
		given = page_given(p, r, h, P_VM_SHARED);
		break;
	case 3:
		r = scall(c, MOAT_FN_LOAD, h, p->pa, ipa);
		given = page_given(p, r, h, P_DONATED);
		break;
	case 4:
		r = scall(c, (rnd(c) & 1) ? MOAT_FN_FINALIZE : MOAT_FN_VM_DESTROY, h, 0, 0);
		break;
	case 5:
		r = scall(c, MOAT_FN_VM_DESTROY, h, 0, 0);
		break;
	case 6:
	case 7:
		r = scall(c, MOAT_FN_IRQ_LINE, h, 32 + rnd(c) % 4, rnd(c) & 1);
		break;
	case 8:
		/* A second vCPU 0 on a run page of ours: races the owner's VCPU_CREATE (EXIST) or is refused. */
		r = scall(c, MOAT_FN_SHARE_CORE, p->pa, 0, 0);
		if (page_given(p, r, h, P_CORE_SHARED)) {
			r = scall(c, MOAT_FN_VCPU_CREATE, h, 0, p->pa);
		}
		break;
	default:
		r = scall(c, MOAT_FN_VCPU_RUN, h, 0, 0);
		break;
	}
	c->foreign_ok += r.status == MOAT_OK;
	(void)given;
}

static u64 stress_total_ops(void)
{
	u64 n = 0;

	for (unsigned int i = 0; i < stress_ncpus; i++) {
		n += stress[i].ops;
	}
	return n;
}

static u64 stress_worker(u64 me)
{
	struct stress_cpu *c = &stress[me];
	u64 next_check = STRESS_CHECK_EVERY;

	while (!stress_go) {
		__asm__ volatile("wfe" ::: "memory");
	}
	while (stress_total_ops() < STRESS_TARGET && ms_since(stress_t0) < STRESS_MS) {
		u64 r = rnd(c) % 64;

		if (r < 8) {
			foreign_op(c, (unsigned int)me);
		} else if (r == 8 || (r % 8 == 1 && free_pages(c) < STRESS_PAGES / 4)) {
			/* Not at every step when short: pages lent to a live VM stay BUSY until it dies. */
			sweep(c, false);
		} else {
			vm_step(c, (unsigned int)(rnd(c) % STRESS_VMS));
		}
		if (c->ops >= next_check) {
			stress_check(c);
			next_check = c->ops + STRESS_CHECK_EVERY;
		}
	}
	return c->ops;
}

/* After the race: destroy every VM and take every page back (CPU 0 alone). */
static bool stress_cleanup(void)
{
	for (unsigned int i = 0; i < stress_ncpus; i++) {
		struct stress_cpu *c = &stress[i];

		for (unsigned int v = 0; v < STRESS_VMS; v++) {
			if (c->vms[v].state != S_NONE) {
				vm_destroy(c, v);
				c->vms[v].state = S_NONE; /* destroyed now, or by another CPU before */
			}
		}
	}
	for (unsigned int i = 0; i < stress_ncpus; i++) {
		struct stress_cpu *c = &stress[i];
		unsigned int left = 0;

		sweep(c, true);
		for (unsigned int k = 0; k < STRESS_PAGES; k++) {
			left += c->pages[k].kind != P_FREE;
		}
		for (unsigned int k = 0; k < STRESS_ROOTS; k++) {
			left += c->roots[k].used;
		}
		if (!CHECK(left == 0, "CPU %u: %u pages not back after the clean-up", i, left)) {
			return false;
		}
	}
	return true;
}

static bool start_cpus(unsigned int n)
{
	for (unsigned int cpu = 1; cpu < n; cpu++) {
		if (!CHECK(secondary_start(cpu) == 0, "CPU_ON %u", cpu) ||
		    !CHECK(secondary_wait_alive(cpu, WAIT_MS), "CPU %u never checked in", cpu)) {
			return false;
		}
	}
	return true;
}

static void stop_cpus(unsigned int n)
{
	for (unsigned int cpu = 1; cpu < n; cpu++) {
		CHECK(smp_cpu_off(cpu, WAIT_MS), "CPU %u did not turn off", cpu);
	}
}

TEST(smp_stress)
{
	struct vmm_stats before, after;
	u64 seed = read_sysreg(cntvct_el0) | 1, n = 0, m = 0, bad = 0, wall;
	struct moat_result chk;

	stress_ncpus = MIN(plat.info.nr_cpus, STRESS_CPUS);
	stress_image = guest_image_find("hello");
	if (!CHECK(stress_image, "no hello image") || !CHECK(vmm_stats_read(&before), "STATS failed") ||
	    !start_cpus(stress_ncpus)) {
		return;
	}
	for (unsigned int i = 0; i < stress_ncpus; i++) {
		struct stress_cpu *c = &stress[i];

		c->rng = seed * (2 * i + 3);
		for (unsigned int k = 0; k < STRESS_PAGES; k++) {
			c->pages[k].pa = host_page_alloc();
		}
		for (unsigned int k = 0; k < STRESS_ROOTS; k++) {
			c->roots[k].pa = host_page_alloc_pair();
		}
	}
	tprintf("smp stress: %u CPUs, seed 0x%lx, bound %lu calls or %lu ms\n", stress_ncpus, seed, STRESS_TARGET,
		STRESS_MS);
	for (unsigned int cpu = 1; cpu < stress_ncpus; cpu++) {
		if (!CHECK(smp_post(cpu, stress_worker, cpu), "could not post to CPU %u", cpu)) {
			return;
		}
	}
	stress_t0 = read_sysreg(cntvct_el0);
	stress_go = 1;
	__asm__ volatile("dsb sy; sev" ::: "memory");
	stress_worker(0);
	for (unsigned int cpu = 1; cpu < stress_ncpus; cpu++) {
		u64 ops;

		CHECK(smp_wait(cpu, 60000, &ops), "CPU %u's stress did not stop", cpu);
	}
	wall = ms_since(stress_t0);
	stress_check(&stress[0]);
	for (unsigned int i = 0; i < stress_ncpus; i++) {
		struct stress_cpu *c = &stress[i];

		tprintf("smp stress: CPU %u: %lu calls (%lu OK, %lu racing errors, %lu unexpected), %lu VMs created, "
			"%lu finalized, %lu guests ran to SYSTEM_OFF, %lu destroyed, %lu foreign calls (%lu OK), "
			"%lu pages reclaimed, %lu checks\n",
			i, c->ops, c->ok, c->racing, c->unexpected, c->created, c->finalized, c->runs_off, c->destroyed,
			c->foreign, c->foreign_ok, c->reclaimed, c->checks);
		for (unsigned int k = 0; k < MOAT_FN_COUNT; k++) {
			if (c->errs[k]) {
				tprintf("smp stress: CPU %u: fn %u: %lu racing errors (last %ld)\n", i, k, c->errs[k],
					c->last_err[k]);
			}
		}
		for (unsigned int k = 0; k < c->nbad; k++) {
			tprintf("smp stress: CPU %u: unexpected: fn 0x%lx (0x%lx) -> %ld\n", i, c->bad[k].fn, c->bad[k].a0,
				c->bad[k].status);
		}
		n += c->ops;
		m += c->violations;
		bad += c->unexpected;
	}
	tprintf("SMP stress: %lu operations, %lu violations\n", n, m);
	tprintf("smp stress: %lu unexpected errors, %lu ms\n", bad, wall);
	CHECK_EQ(m, 0);
	CHECK_EQ(bad, 0);
	if (stress_cleanup()) {
		chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
		CHECK_EQ(chk.status, MOAT_OK);
		CHECK_EQ(chk.r1, 0);
		CHECK(vmm_stats_read(&after), "STATS failed");
		if (!vmm_stats_equal(&before, &after)) {
			vmm_stats_print_diff("smp stress: after the clean-up", &before, &after);
			CHECK(false, "the core's counters differ from before the stress");
		} else {
			tprintf("smp stress: clean-up: every page back, counters as before, 0 violations\n");
		}
	}
	stop_cpus(stress_ncpus);
}

/* ---- the same page from three CPUs at once ------------------------------------------- */

#define DD_ROUNDS 24
#define DD_OPS 6

static struct vmm_vm dd_a, dd_b;
static volatile u64 dd_go, dd_pa, dd_round;

static const char *const dd_names[DD_OPS] = { "DONATE_VM A", "DONATE_VM B", "DONATE_CORE A",
					      "SHARE_CORE",  "LOAD A",	    "DONATE_VM A'" };

static long dd_op(unsigned int op, u64 pa, u64 round)
{
	switch (op) {
	case 0:
		return moat_hvc(MOAT_FN_DONATE_VM, dd_a.handle, pa, MOAT_GUEST_RAM_BASE + (3 * round) * PAGE_SIZE).status;
	case 1:
		return moat_hvc(MOAT_FN_DONATE_VM, dd_b.handle, pa, MOAT_GUEST_RAM_BASE + round * PAGE_SIZE).status;
	case 2:
		return moat_hvc(MOAT_FN_DONATE_CORE, dd_a.handle, pa, 1).status;
	case 3:
		return moat_hvc(MOAT_FN_SHARE_CORE, pa, 0, 0).status;
	case 4:
		return moat_hvc(MOAT_FN_LOAD, dd_a.handle, pa, MOAT_GUEST_RAM_BASE + (3 * round + 1) * PAGE_SIZE).status;
	default:
		return moat_hvc(MOAT_FN_DONATE_VM, dd_a.handle, pa, MOAT_GUEST_RAM_BASE + (3 * round + 2) * PAGE_SIZE).status;
	}
}

/* The op of CPU k in round r: three different ones; over the 24 rounds every op meets every other. */
static unsigned int dd_pick(unsigned int k, u64 r)
{
	static const u8 offsets[4][3] = { { 0, 1, 2 }, { 0, 2, 4 }, { 0, 1, 3 }, { 0, 3, 4 } };

	return (unsigned int)((r + offsets[(r / DD_OPS) % 4][k]) % DD_OPS);
}

static u64 dd_job(u64 k)
{
	u64 r = dd_round;

	while (dd_go != r) {
		__asm__ volatile("wfe" ::: "memory");
	}
	return (u64)dd_op(dd_pick((unsigned int)k, r), dd_pa, r);
}

TEST(smp_double_donate)
{
	struct vmm_stats before, after;
	unsigned int one_winner = 0, won[3] = { 0 };
	struct moat_result chk;

	if (!CHECK(plat.info.nr_cpus >= 3, "needs 3 CPUs") || !CHECK(vmm_stats_read(&before), "STATS failed") ||
	    !start_cpus(3) || !CHECK_EQ(vmm_create(&dd_a, MOAT_VM_PROTECTED, 16 * MIB), MOAT_OK) ||
	    !CHECK_EQ(vmm_create(&dd_b, MOAT_VM_PROTECTED, 16 * MIB), MOAT_OK)) {
		return;
	}
	for (u64 r = 1; r <= DD_ROUNDS; r++) {
		long res[3];
		unsigned int ops[3], wins = 0, winner = 0;
		u64 v;

		dd_pa = host_page_alloc();
		dd_round = r;
		for (unsigned int k = 0; k < 3; k++) {
			ops[k] = dd_pick(k, r);
		}
		if (!CHECK(ops[0] != ops[1] && ops[1] != ops[2] && ops[0] != ops[2], "round %lu: ops repeat", r) ||
		    !CHECK(smp_post(1, dd_job, 1), "post") || !CHECK(smp_post(2, dd_job, 2), "post")) {
			return;
		}
		__asm__ volatile("dsb sy" ::: "memory");
		dd_go = r;
		__asm__ volatile("dsb sy; sev" ::: "memory");
		/* A head start of 0 to ~20,000 yields, so that CPUs 1 and 2 (just woken from WFE) win some rounds. */
		for (u64 i = 0, n = (r % 4 == 0) ? 0 : 20 * (1UL << (3 * (r % 4))); i < n; i++) {
			cpu_relax();
		}
		res[0] = dd_op(ops[0], dd_pa, r);
		for (unsigned int k = 1; k < 3; k++) {
			CHECK(smp_wait(k, WAIT_MS, &v), "CPU %u did not answer", k);
			res[k] = (long)v;
		}
		for (unsigned int k = 0; k < 3; k++) {
			if (!res[k]) {
				wins++;
				won[k]++;
				winner = ops[k];
			}
		}
		tprintf("smp double donate %lu: %s -> %ld, %s -> %ld, %s -> %ld\n", r, dd_names[ops[0]], res[0],
			dd_names[ops[1]], res[1], dd_names[ops[2]], res[2]);
		if (!CHECK(wins == 1, "round %lu: %u calls succeeded", r, wins)) {
			continue;
		}
		one_winner++;
		/* Give the page its owner's bookkeeping, so the clean-up below takes it back. */
		if (winner == 3) {
			CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, dd_pa, 0, 0).status, MOAT_OK);
		} else {
			vmm_remember_page(winner == 1 ? &dd_b : &dd_a, dd_pa);
		}
		chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
		CHECK(chk.status == MOAT_OK && chk.r1 == 0, "round %lu: CHECK -> %ld, %lu violations", r, chk.status, chk.r1);
	}
	CHECK(vmm_destroy(&dd_a) > 0, "destroy A");
	CHECK(vmm_destroy(&dd_b) > 0, "destroy B");
	chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
	CHECK_EQ(chk.r1, 0);
	CHECK(vmm_stats_read(&after), "STATS failed");
	if (!vmm_stats_equal(&before, &after)) {
		vmm_stats_print_diff("smp double donate", &before, &after);
		CHECK(false, "counters differ after the clean-up");
	}
	tprintf("smp double donate: rounds won by CPU 0: %u, CPU 1: %u, CPU 2: %u\n", won[0], won[1], won[2]);
	tprintf("smp double donate: %u of %u rounds had exactly one winner, %lu violations\n", one_winner, DD_ROUNDS,
		chk.r1);
	stop_cpus(3);
}

/* ---- an IRQ_LINE flood at a protected VM running on another CPU ----------------------- */

#define FLOOD_SPIS 0xfUL /* SPIs 32..35 */

static struct vmm_vm flood_vm;
static volatile u64 flood_done;
static u64 flood_calls[STRESS_CPUS], flood_bad[STRESS_CPUS];
static long flood_bad_status[STRESS_CPUS];
static u64 flood_after_off[STRESS_CPUS];

static u64 flood_run_job(u64 unused)
{
	long s = vmm_run(&flood_vm);

	flood_done = 1;
	__asm__ volatile("dsb sy; sev" ::: "memory");
	return (u64)s;
}

static u64 flood_job(u64 cpu)
{
	u64 t0 = read_sysreg(cntvct_el0);

	for (u64 i = 0; !flood_done && ms_since(t0) < 90000; i++) {
		long s = moat_hvc(MOAT_FN_IRQ_LINE, flood_vm.handle, 32 + (i + cpu) % 4, (i >> 2) & 1).status;

		flood_calls[cpu]++;
		if (s == MOAT_E_STATE) {
			/* The guest powered off: its VM takes no more interrupts. Stop; the test checks it did power off. */
			flood_after_off[cpu] = 1;
			break;
		}
		if (s != MOAT_OK) {
			flood_bad[cpu]++;
			flood_bad_status[cpu] = s;
		}
	}
	return 0;
}

TEST(smp_irq_flood)
{
	u64 status = ~0UL, t0, ms, total = 0, bad = 0;
	struct moat_result chk;

	if (!CHECK(plat.info.nr_cpus >= 4, "needs 4 CPUs") || !start_cpus(4) ||
	    !CHECK_EQ(vmm_create(&flood_vm, MOAT_VM_PROTECTED, 16 * MIB), MOAT_OK) ||
	    !CHECK_EQ(vmm_add_vcpu0(&flood_vm), MOAT_OK) || !CHECK_EQ(vmm_load(&flood_vm, "bench"), MOAT_OK) ||
	    !CHECK_EQ(moat_hvc(MOAT_FN_VM_SET_SPIS, flood_vm.handle, FLOOD_SPIS, 0).status, MOAT_OK) ||
	    !CHECK_EQ(vmm_finalize(&flood_vm, 0), MOAT_OK)) {
		return;
	}
	t0 = read_sysreg(cntvct_el0);
	if (!CHECK(smp_post(3, flood_run_job, 0), "post") || !CHECK(smp_post(1, flood_job, 1), "post") ||
	    !CHECK(smp_post(2, flood_job, 2), "post")) {
		return;
	}
	flood_job(0);
	ms = ms_since(t0);
	for (unsigned int cpu = 1; cpu < 3; cpu++) {
		CHECK(smp_wait(cpu, 30000, NULL), "flooder %u did not stop", cpu);
	}
	CHECK(smp_wait(3, 30000, &status), "the guest's run did not end");
	for (unsigned int cpu = 0; cpu < 3; cpu++) {
		tprintf("smp irq flood: CPU %u: %lu IRQ_LINE calls, %lu not OK (last %ld), %s\n", cpu, flood_calls[cpu],
			flood_bad[cpu], flood_bad_status[cpu],
			flood_after_off[cpu] ? "stopped at STATE (guest off)" : "stopped when the run ended");
		total += flood_calls[cpu];
		bad += flood_bad[cpu];
	}
	tprintf("smp irq flood: the guest on CPU 3: status %ld, last exit %lu, %lu MMIO exits, %lu exits, %lu ms, "
		"last line \"%s\"\n",
		(long)status, flood_vm.last_exit, flood_vm.mmio_exits, flood_vm.exits, ms, flood_vm.last_line);
	CHECK_EQ(status, MOAT_OK);
	CHECK_EQ(flood_vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK_EQ(bad, 0);
	chk = moat_hvc(MOAT_FN_CHECK, 0, 0, 0);
	CHECK_EQ(chk.status, MOAT_OK);
	CHECK_EQ(chk.r1, 0);
	CHECK(vmm_destroy(&flood_vm) > 0, "destroy");
	tprintf("smp irq flood: %lu IRQ_LINE calls from 3 CPUs while the guest ran; %lu violations\n", total, chk.r1);
	stop_cpus(4);
}
