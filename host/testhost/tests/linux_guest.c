/*
 * linux_guest: Debian's stock arm64 kernel as a guest of the core, protected
 * or normal, with 1 or 2 vCPUs (tests/integration/test_linux_guest.py).
 *
 * QEMU puts the kernel Image, the initramfs and the guest's DTB into host RAM
 * (-device loader); the bootargs say where and how big:
 *
 *   lg.image=PA,SIZE lg.initrd=PA,SIZE lg.dtb=PA,SIZE lg.cpus=N lg.type=protected|normal
 *   [lg.slice_ms=N]  (the time slice with 2 vCPUs on one CPU; default SLICE_MS)
 *   [lg.smp=1]       (vCPU i on host CPU i instead: QEMU -smp >= lg.cpus)
 *
 * The blobs are handed to the VM in place, page by page, at the IPAs of
 * guest/linux/layout.h: LOAD for a protected VM (the page becomes the VM's and
 * is measured), SHARE_VM for a normal one (the host keeps the page; the guest
 * writes into the host's copy, which only this one boot uses). Nothing is
 * copied. The rest of the guest's RAM is demand-paged (MEM_FAULT), except
 * with lg.smp=1 (below).
 *
 * All vCPUs run on this one CPU, scheduled round robin by the VMM: a vCPU
 * runs until it exits; WFI parks it until its timer deadline or a KICK naming
 * it; with two vCPUs on, the host's own CNTV ends each run after SLICE_MS
 * (the core's CNTHP ends the guest's run at the host's deadline: an IRQ exit),
 * so a vCPU spinning on a lock the other holds cannot starve it. When every
 * vCPU waits, the host waits too (WFI, its CNTV armed at the earliest
 * deadline).
 *
 * With lg.smp=1 each vCPU runs on its own host CPU instead, in its own
 * VCPU_RUN loop, as a Linux host's one thread per vCPU would: a KICK exit
 * sends the host's SGI (KICK_SGI) to the target's CPU after raising its
 * `kicked` flag; a WFI waits there (WFI, the host's CNTV armed at the
 * deadline) until the deadline, the flag or the end. The VMM's page
 * allocator is CPU 0's alone (no atomics with the MMU off), so all of the
 * guest's RAM is backed before the run and a MEM_FAULT on another CPU is a
 * failure; the UART is served on whichever CPU takes the exit, into one line
 * buffer (see ctx.line).
 *
 * Checks: the guest prints "MOAT-GUEST-LINUX-OK cpus=N" and ends with
 * SYSTEM_OFF, no GUEST_FAULT, every page comes back, the core's invariant
 * checker finds nothing. Prints the time each phase took.
 */
#include "../../../guest/linux/layout.h"
#include "fmt.h"
#include "lib.h"
#include "sysreg.h"
#include "test.h"
#include "vmm.h"

#define LG_MAX_VCPUS 2
#define SLICE_MS 4
#define RUN_LIMIT_MS 120000
#define PPI_BITS ((1U << 25) | (1U << 27)) /* vGIC maintenance, CNTV (the guest's, while it runs) */
#define CNT_CTL_ENABLE 1UL
#define CNT_CTL_IMASK 2UL
#define IMAGE_MAGIC 0x644d5241U /* "ARM\x64" at offset 56 of an arm64 Image header */
#define KICK_SGI 8

struct lg_blob {
	const char *name;
	u64 pa, size, ipa, max;
};

struct lg_vcpu {
	struct moat_run *run;
	bool on, waiting;
	u64 deadline;
	u64 runs, wfi, irq, kicks;
	/* lg.smp=1: set by another CPU before it sends KICK_SGI here; the loop's status. */
	volatile u64 kicked;
	long status;
	u64 other_exits;
};

struct lg_ctx {
	struct lg_vcpu v[LG_MAX_VCPUS];
	unsigned int nr;
	u64 vcpu_on, vcpu_off, host_waits, unknown_mmio;
	volatile u64 stop; /* lg.smp=1: the guest is off (or ran too long), every loop ends */
	u64 end;	   /* lg.smp=1: CNTVCT after which the run is given up (RUN_LIMIT_MS) */
	/*
	 * lg.smp=1: the UART's line, one for all CPUs: a line the guest writes
	 * may continue on another vCPU. The guest serialises its UART accesses
	 * (the port lock), and each access is served before its vCPU resumes, so
	 * two CPUs never touch this at once.
	 */
	char line[VMM_LINE_MAX];
	unsigned int line_len;
};

static struct lg_ctx ctx;
static struct vmm_vm vm;
static char expect_line[48];
static const char *expect[2] = { expect_line, NULL };

static u64 now(void)
{
	return read_sysreg(cntvct_el0);
}

static u64 ticks_per_ms(void)
{
	return read_sysreg(cntfrq_el0) / 1000;
}

/* "PA,SIZE" of bootargs key into b; false (and a failure) if absent or malformed. */
static bool parse_blob(const char *key, struct lg_blob *b)
{
	char v[64];
	const char *comma = v;

	if (!CHECK(bootargs_get(plat.info.bootargs, key, v, sizeof(v)), "no %s= in the bootargs", key)) {
		return false;
	}
	while (*comma && *comma != ',') {
		comma++;
	}
	return CHECK(*comma && parse_u64(v, (size_t)(comma - v), &b->pa) &&
			     parse_u64(comma + 1, strlen(comma + 1), &b->size),
		     "%s=%s: want PA,SIZE", key, v) &&
	       CHECK(IS_ALIGNED(b->pa, PAGE_SIZE) && b->size && b->size <= b->max, "%s: PA 0x%lx size 0x%lx", key,
		     b->pa, b->size);
}

/* Give the blob's pages to the VM at their IPAs: measured (protected) or lent (normal). */
static long give_blob(const struct lg_blob *b)
{
	for (u64 off = 0; off < b->size; off += PAGE_SIZE) {
		u64 fn = vm.share_ram ? MOAT_FN_SHARE_VM : MOAT_FN_LOAD;
		struct moat_result r = moat_hvc(fn, vm.handle, b->pa + off, b->ipa + off);

		if (r.status == MOAT_E_NOMEM) {
			/* Out of stage-2 table pages: top the memcache up and try once more. */
			r.status = vmm_top_up(&vm, VMM_MEMCACHE_PAGES);
			if (!r.status) {
				r = moat_hvc(fn, vm.handle, b->pa + off, b->ipa + off);
			}
		}
		if (r.status) {
			tprintf("linux_guest: %s page 0x%lx -> IPA 0x%lx: %ld\n", b->name, b->pa + off, b->ipa + off,
				r.status);
			return r.status;
		}
		if (vm.share_ram) {
			vm.shared_pages++;
		} else {
			vmm_remember_page(&vm, b->pa + off);
		}
	}
	return MOAT_OK;
}

/* Acknowledge whatever the host's GIC holds for this CPU (its CNTV tick, mostly). */
static void ack_all(void)
{
	for (unsigned int i = 0; i < 16; i++) {
		u64 iar = read_sysreg(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */

		if ((iar & 0xffffff) >= 1020) {
			break;
		}
		write_sysreg(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
		__asm__ volatile("isb");
	}
}

static void host_timer(bool on, u64 cval)
{
	if (on) {
		write_sysreg(cntv_cval_el0, cval);
		write_sysreg(cntv_ctl_el0, CNT_CTL_ENABLE);
	} else {
		write_sysreg(cntv_ctl_el0, CNT_CTL_IMASK);
	}
	__asm__ volatile("isb");
}

static unsigned int vcpus_on(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ctx.nr; i++) {
		n += ctx.v[i].on;
	}
	return n;
}

/*
 * The next vCPU to run after `last`, round robin: one that is on and not
 * waiting, or whose deadline passed. If every vCPU that is on waits, wait
 * (WFI) for the earliest deadline. -1: nothing is on, or nothing will ever wake.
 */
static int pick(unsigned int last)
{
	for (;;) {
		u64 t = now(), earliest = ~0UL;

		for (unsigned int k = 1; k <= ctx.nr; k++) {
			unsigned int i = (last + k) % ctx.nr;
			struct lg_vcpu *v = &ctx.v[i];

			if (!v->on) {
				continue;
			}
			if (!v->waiting || v->deadline <= t) {
				v->waiting = false;
				return (int)i;
			}
			earliest = MIN(earliest, v->deadline);
		}
		if (earliest == ~0UL) {
			return -1;
		}
		ctx.host_waits++;
		host_timer(true, earliest);
		while (now() < earliest) {
			__asm__ volatile("wfi");
		}
		host_timer(false, 0);
		ack_all();
	}
}

/* One exit of vCPU i; false: stop (status set on an error). */
static bool handle(unsigned int i, u64 reason, long *status)
{
	struct lg_vcpu *v = &ctx.v[i];
	struct moat_run *run = v->run;

	switch (reason) {
	case MOAT_EXIT_WFI:
		v->wfi++;
		v->waiting = true;
		v->deadline = run->u.wfi.deadline;
		return true;
	case MOAT_EXIT_IRQ:
		v->irq++;
		host_timer(false, 0);
		ack_all();
		return true;
	case MOAT_EXIT_VCPU_ON:
		ctx.vcpu_on++;
		if (run->u.vcpu_on.index < ctx.nr) {
			ctx.v[run->u.vcpu_on.index].on = true;
			ctx.v[run->u.vcpu_on.index].waiting = false;
		}
		return true;
	case MOAT_EXIT_VCPU_OFF:
		ctx.vcpu_off++;
		v->on = false;
		return true;
	case MOAT_EXIT_KICK:
		v->kicks++;
		for (unsigned int t = 0; t < ctx.nr; t++) {
			if (run->u.kick.vcpus & (1UL << t)) {
				ctx.v[t].waiting = false;
			}
		}
		return true;
	case MOAT_EXIT_MMIO:
		if (run->u.mmio.ipa < VMM_UART || run->u.mmio.ipa >= VMM_UART + PAGE_SIZE) {
			ctx.unknown_mmio++;
		}
		break;
	default:
		break;
	}
	/* The shared handler reads the run page of vm.run: point it at this vCPU's. */
	vm.run = run;
	return vmm_handle_exit(&vm, reason, status);
}

static long run_guest(u64 slice_ms)
{
	u64 start = now(), slice = slice_ms * ticks_per_ms();
	unsigned int last = ctx.nr - 1;
	long status = MOAT_OK;

	for (;;) {
		int i = pick(last);
		struct moat_result r;

		if (i < 0) {
			tprintf("linux_guest: no vCPU is on or will wake (last exit %lu)\n", vm.last_exit);
			return MOAT_E_STATE;
		}
		if (ms_since(start) > RUN_LIMIT_MS) {
			tprintf("linux_guest: still running after %u ms: stopped\n", RUN_LIMIT_MS);
			return MOAT_E_BUSY;
		}
		last = (unsigned int)i;
		ctx.v[i].runs++;
		/* Time-slice only when another vCPU could use the CPU. */
		host_timer(vcpus_on() > 1, now() + slice);
		r = moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, (u64)i, 0);
		if (r.status) {
			return r.status;
		}
		if (!handle((unsigned int)i, r.r1, &status)) {
			host_timer(false, 0);
			return status;
		}
	}
}

/* ---- lg.smp=1: vCPU i on host CPU i ------------------------------------------------------------ */

/* The host's SGI to the CPU running vCPU `target` (vCPU i runs on CPU i). */
static void kick_cpu(unsigned int target)
{
	u64 mpidr = plat.info.cpu_mpidr[target];
	u64 sgir = (u64)KICK_SGI << 24 | ((mpidr >> 8) & 0xff) << 16 | ((mpidr >> 16) & 0xff) << 32 |
		   ((mpidr >> 32) & 0xff) << 48 | 1UL << (mpidr & 0xf);

	__asm__ volatile("dsb sy" ::: "memory");
	write_sysreg(S3_0_C12_C11_5, sgir); /* ICC_SGI1R_EL1 */
	__asm__ volatile("isb");
}

static void wake(unsigned int target)
{
	ctx.v[target].kicked = 1;
	kick_cpu(target);
}

/* A WFI exit: wait until the deadline, a kick or the end (a kick SGI pending makes WFI return at once). */
static void wait_for_wake(struct lg_vcpu *v, u64 deadline)
{
	deadline = MIN(deadline, ctx.end);
	while (!ctx.stop && !v->kicked && now() < deadline) {
		host_timer(deadline != ~0UL, deadline);
		__asm__ volatile("wfi");
		ack_all();
	}
	host_timer(false, 0);
	v->kicked = 0;
}

/* The guest's UART on any CPU (see ctx.line). */
static void smp_uart(struct moat_run *run)
{
	char c = (char)run->u.mmio.value;

	if (!run->u.mmio.is_write) {
		run->u.mmio.value = 0;
		return;
	}
	if (run->u.mmio.ipa != VMM_UART || c == '\r') {
		return;
	}
	if (c != '\n' && ctx.line_len + 1 < sizeof(ctx.line)) {
		ctx.line[ctx.line_len++] = c;
		return;
	}
	ctx.line[ctx.line_len] = '\0';
	ctx.line_len = 0;
	tprintf("guest: %s\n", ctx.line);
	if (vmm_line_matches(ctx.line, expect_line, true)) {
		vm.expect_seen |= 1; /* only the marker is expected; a plain store, whichever CPU sees it */
	}
}

static u64 smp_loop_job(u64 index);

/* vCPU i's VCPU_RUN loop on CPU i. Only CPU 0 demand-pages or starts other loops. */
static long smp_loop(unsigned int i)
{
	struct lg_vcpu *v = &ctx.v[i];
	long status = MOAT_OK;

	while (!ctx.stop) {
		struct moat_result r;
		u64 reason;

		if (now() > ctx.end) {
			tprintf("linux_guest: vCPU %u still running after %u ms: stopped\n", i, RUN_LIMIT_MS);
			ctx.stop = 1;
			return MOAT_E_BUSY;
		}
		r = moat_hvc(MOAT_FN_VCPU_RUN, vm.handle, i, 0);
		reason = r.r1;
		if (r.status) {
			return ctx.stop ? MOAT_OK : r.status; /* after SYSTEM_OFF the VM is OFF: STATE ends the others */
		}
		v->runs++;
		switch (reason) {
		case MOAT_EXIT_WFI:
			v->wfi++;
			wait_for_wake(v, v->run->u.wfi.deadline);
			continue;
		case MOAT_EXIT_IRQ:
			v->irq++;
			ack_all();
			continue;
		case MOAT_EXIT_UNSHARE:
			continue; /* nothing of the guest's is mapped here: running it again completes the unshare */
		case MOAT_EXIT_KICK:
			v->kicks++;
			for (unsigned int t = 0; t < ctx.nr; t++) {
				if (t != i && (v->run->u.kick.vcpus & (1UL << t))) {
					wake(t);
				}
			}
			continue;
		case MOAT_EXIT_MMIO:
			if (v->run->u.mmio.ipa >= VMM_UART && v->run->u.mmio.ipa < VMM_UART + PAGE_SIZE) {
				smp_uart(v->run);
			} else {
				v->other_exits++;
				v->run->u.mmio.value = 0;
			}
			continue;
		case MOAT_EXIT_VCPU_ON: {
			u64 t = v->run->u.vcpu_on.index;

			ctx.vcpu_on++;
			if (t == 0 || t >= ctx.nr || ctx.v[t].on || !smp_post((unsigned int)t, smp_loop_job, t)) {
				v->other_exits++;
				continue;
			}
			ctx.v[t].on = true;
			continue;
		}
		case MOAT_EXIT_VCPU_OFF:
			ctx.vcpu_off++;
			if (i) {
				return MOAT_OK; /* its CPU_OFF; a CPU_ON would start the loop again */
			}
			break;
		case MOAT_EXIT_SYSTEM_OFF:
		case MOAT_EXIT_SYSTEM_RESET:
			vm.last_exit = reason;
			ctx.stop = 1;
			for (unsigned int t = 0; t < ctx.nr; t++) {
				if (t != i) {
					kick_cpu(t);
				}
			}
			return MOAT_OK;
		case MOAT_EXIT_MEM_FAULT:
			if (!i) {
				vm.run = v->run;
				if (vmm_handle_exit(&vm, reason, &status)) {
					continue;
				}
				return status;
			}
			break;
		default:
			break;
		}
		v->other_exits++;
		tprintf("linux_guest: vCPU %u: unexpected exit %lu\n", i, reason);
		return MOAT_E_STATE;
	}
	return MOAT_OK;
}

static u64 smp_loop_job(u64 index)
{
	ctx.v[index].status = smp_loop((unsigned int)index);
	return (u64)ctx.v[index].status;
}

static u64 gic_job(u64 on)
{
	return platform_gic_cpu(on != 0, PPI_BITS | 1U << KICK_SGI);
}

/* Back every RAM page the blobs do not cover: the loops on other CPUs cannot serve a MEM_FAULT. */
static long back_all_ram(const struct lg_blob *blobs[3])
{
	for (u64 ipa = LG_RAM_BASE; ipa < LG_RAM_BASE + LG_RAM_SIZE; ipa += PAGE_SIZE) {
		bool given = false;
		long ret;

		for (unsigned int b = 0; b < 3; b++) {
			given |= ipa >= blobs[b]->ipa && ipa < blobs[b]->ipa + blobs[b]->size;
		}
		ret = given ? MOAT_OK : vmm_donate(&vm, ipa);
		if (ret) {
			return ret;
		}
	}
	return MOAT_OK;
}

static long run_smp(void)
{
	long ret;
	u64 v;

	ctx.end = now() + RUN_LIMIT_MS * ticks_per_ms();
	ret = smp_loop(0);
	ctx.stop = 1;
	for (unsigned int i = 1; i < ctx.nr; i++) {
		kick_cpu(i); /* a loop still in its guest leaves it (IRQ exit) and sees the stop */
	}
	for (unsigned int i = 1; i < ctx.nr; i++) {
		if (ctx.v[i].on && !CHECK(smp_wait(i, 10000, &v), "vCPU %u's loop did not end", i)) {
			ret = ret ? ret : MOAT_E_BUSY;
		}
		if (ctx.v[i].status && !ret) {
			ret = ctx.v[i].status;
		}
	}
	return ret;
}

/* The vCPUs beyond 0: a run page each. */
static long add_vcpus(void)
{
	ctx.v[0] = (struct lg_vcpu){ .run = vm.run, .on = true };
	for (unsigned int i = 1; i < ctx.nr; i++) {
		u64 run = host_page_alloc();
		long ret = moat_hvc(MOAT_FN_SHARE_CORE, run, 0, 0).status;

		if (!ret) {
			ret = moat_hvc(MOAT_FN_VCPU_CREATE, vm.handle, i, run).status;
		}
		if (ret) {
			return ret;
		}
		ctx.v[i] = (struct lg_vcpu){ .run = (struct moat_run *)run };
	}
	return MOAT_OK;
}

static void release_vcpus(void)
{
	for (unsigned int i = 1; i < ctx.nr; i++) {
		CHECK_EQ(moat_hvc(MOAT_FN_UNSHARE_CORE, (u64)(uintptr_t)ctx.v[i].run, 0, 0).status, MOAT_OK);
	}
}

TEST(linux_guest)
{
	struct lg_blob image = { "image", 0, 0, LG_RAM_BASE, LG_INITRD - LG_RAM_BASE };
	struct lg_blob initrd = { "initrd", 0, 0, LG_INITRD, LG_INITRD_MAX };
	struct lg_blob dtb = { "dtb", 0, 0, LG_DTB, LG_DTB_MAX };
	struct vmm_stats before, after;
	char type[16], cpus[8];
	const struct lg_blob *blobs[3] = { &image, &initrd, &dtb };
	u64 nr = 0, t0, t_built, t_off, text_offset, slice_ms = SLICE_MS, smp = 0, v;
	bool protected;
	long ret;

	if (!parse_blob("lg.image", &image) || !parse_blob("lg.initrd", &initrd) || !parse_blob("lg.dtb", &dtb) ||
	    !CHECK(bootargs_get(plat.info.bootargs, "lg.type", type, sizeof(type)) &&
			   (!strcmp(type, "protected") || !strcmp(type, "normal")),
		   "lg.type= must be protected or normal") ||
	    !CHECK(bootargs_get(plat.info.bootargs, "lg.cpus", cpus, sizeof(cpus)) &&
			   parse_u64(cpus, strlen(cpus), &nr) && nr >= 1 && nr <= LG_MAX_VCPUS,
		   "lg.cpus= must be 1..%u", LG_MAX_VCPUS)) {
		return;
	}
	protected = !strcmp(type, "protected");
	if (bootargs_get(plat.info.bootargs, "lg.smp", cpus, sizeof(cpus)) &&
	    !CHECK(parse_u64(cpus, strlen(cpus), &smp) && smp <= 1, "lg.smp=%s", cpus)) {
		return;
	}
	/* lg.slice_ms=N: another time slice, for measurements. */
	if (bootargs_get(plat.info.bootargs, "lg.slice_ms", cpus, sizeof(cpus)) &&
	    !CHECK(parse_u64(cpus, strlen(cpus), &slice_ms) && slice_ms, "lg.slice_ms=%s", cpus)) {
		return;
	}
	/* An arm64 Image: magic at 56, text_offset at 8 (the offset from a 2 MiB-aligned base it must sit at). */
	text_offset = *(volatile u64 *)(image.pa + 8);
	if (!CHECK_EQ(*(volatile u32 *)(image.pa + 56), IMAGE_MAGIC) ||
	    !CHECK(IS_ALIGNED(text_offset, PAGE_SIZE) && text_offset + image.size <= image.max,
		   "text_offset 0x%lx", text_offset)) {
		return;
	}
	image.ipa += text_offset;
	host_pages_reserve(image.pa, image.size);
	host_pages_reserve(initrd.pa, initrd.size);
	host_pages_reserve(dtb.pa, dtb.size);
	/* lg.smp=1: the other host CPUs up, each with its GIC set up as a Linux host has it. */
	for (unsigned int cpu = 1; smp && cpu < nr; cpu++) {
		if (!CHECK(cpu < plat.info.nr_cpus, "lg.smp=1 with %lu vCPUs needs %lu host CPUs", nr, nr) ||
		    !CHECK_EQ(secondary_start(cpu), 0) || !CHECK(secondary_wait_alive(cpu, 3000), "CPU %u", cpu) ||
		    !CHECK(smp_call(cpu, gic_job, 1, &v, 3000) && v, "GIC set-up on CPU %u", cpu)) {
			return;
		}
	}
	platform_gicd_on();
	if (!CHECK(gic_job(1), "no redistributor for CPU 0") ||
	    !CHECK(vmm_stats_read(&before), "STATS")) {
		return;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.nr = (unsigned int)nr;
	fmt_format(expect_line, sizeof(expect_line), "MOAT-GUEST-LINUX-OK cpus=%lu", nr);
	vm = (struct vmm_vm){ .max_vcpus = nr, .share_ram = !protected, .console_echo = true,
			      .echo_prefix = "guest: ", .expect = expect, .expect_suffix = true,
			      .image = "linux" };
	tprintf("linux_guest: %s VM, %lu vCPU(s), %lu MiB; Image %lu KiB, initramfs %lu KiB, DTB %lu bytes\n", type,
		nr, (u64)LG_RAM_SIZE >> 20, image.size >> 10, initrd.size >> 10, dtb.size);

	t0 = now();
	ret = vmm_create(&vm, protected ? MOAT_VM_PROTECTED : MOAT_VM_NORMAL, LG_RAM_SIZE);
	if (!ret) {
		ret = vmm_add_vcpu0(&vm);
	}
	if (!ret) {
		ret = add_vcpus();
	}
	/* Image, initramfs, DTB: ascending IPA (layout.h), the only order the core LOADs in (docs/measurement.md). */
	if (!ret) {
		ret = give_blob(&image);
	}
	if (!ret) {
		ret = give_blob(&initrd);
	}
	if (!ret) {
		ret = give_blob(&dtb);
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_SET_BOOT, vm.handle, image.ipa, LG_DTB).status;
	}
	if (!ret) {
		ret = moat_hvc(MOAT_FN_FINALIZE, vm.handle, 0, 0).status;
	}
	if (!ret && smp) {
		ret = back_all_ram(blobs);
	}
	t_built = now();
	if (!CHECK_EQ(ret, MOAT_OK)) {
		return;
	}
	tprintf("linux_guest: VM built in %lu ms (%s of %lu pages)\n", (t_built - t0) / ticks_per_ms(),
		protected ? "LOAD" : "SHARE_VM",
		(ALIGN_UP(image.size, PAGE_SIZE) + ALIGN_UP(initrd.size, PAGE_SIZE) + ALIGN_UP(dtb.size, PAGE_SIZE)) /
			PAGE_SIZE);

	ret = smp ? run_smp() : run_guest(slice_ms);
	t_off = now();
	vm.run = ctx.v[0].run;
	if (smp) {
		tprintf("linux_guest: guest ran %lu ms: %lu VCPU_ON, %lu VCPU_OFF\n", (t_off - t_built) / ticks_per_ms(),
			ctx.vcpu_on, ctx.vcpu_off);
	} else {
		tprintf("linux_guest: guest ran %lu ms: %lu exits, %lu MEM_FAULT, %lu MMIO (%lu not the UART), %lu "
			"guest faults, %lu VCPU_ON, %lu VCPU_OFF, %lu host waits\n",
			(t_off - t_built) / ticks_per_ms(), vm.exits, vm.mem_faults, vm.mmio_exits, ctx.unknown_mmio,
			vm.guest_faults, ctx.vcpu_on, ctx.vcpu_off, ctx.host_waits);
	}
	for (unsigned int i = 0; i < ctx.nr; i++) {
		tprintf("linux_guest: vCPU %u%s: %lu runs, %lu WFI, %lu IRQ, %lu KICK, %lu other\n", i,
			smp ? " (own CPU)" : "", ctx.v[i].runs, ctx.v[i].wfi, ctx.v[i].irq, ctx.v[i].kicks,
			ctx.v[i].other_exits);
		CHECK_EQ(ctx.v[i].other_exits, 0);
	}
	CHECK_EQ(ret, MOAT_OK);
	CHECK_EQ(vm.last_exit, MOAT_EXIT_SYSTEM_OFF);
	CHECK(vmm_expected_all(&vm), "no line \"%s\" from the guest", expect_line);
	CHECK_EQ(vm.guest_faults, 0);
	CHECK_EQ(ctx.vcpu_on, nr - 1);

	ret = vmm_destroy(&vm);
	CHECK(ret > 0, "destroy: %ld", ret);
	release_vcpus();
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
	CHECK(vmm_stats_read(&after), "STATS");
	if (!CHECK(vmm_stats_equal(&before, &after), "core counters differ after teardown")) {
		vmm_stats_print_diff("linux_guest", &before, &after);
	}
	gic_job(0);
	for (unsigned int cpu = 1; smp && cpu < nr; cpu++) {
		smp_call(cpu, gic_job, 0, &v, 3000);
		CHECK(smp_cpu_off(cpu, 3000), "CPU %u did not turn off", cpu);
	}
	tprintf("linux_guest: %s, %lu vCPU(s)%s: built %lu ms, boot to SYSTEM_OFF %lu ms\n", type, nr,
		smp ? " on their own CPUs" : "", (t_built - t0) / ticks_per_ms(), (t_off - t_built) / ticks_per_ms());
}
