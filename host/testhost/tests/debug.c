/*
 * Tests: self-hosted debug in guests (issue 11, Deliver 8; core/guest_debug.c).
 *
 * vm_debug_normal: the host programs its own breakpoint and watchpoint
 * registers (disabled ones: the values are what counts), MDSCR_EL1 and keeps
 * its OS lock as it is, runs guest/debug in a normal VM (which programs
 * breakpoint/watchpoint 0 and 1, MDSCR_EL1 and its OS lock, and takes a
 * breakpoint, a watchpoint and a software step exception), and checks
 * afterwards that its own registers are exactly as it left them.
 * vm_debug_protected: the same guest in a protected VM sees no debug
 * (DebugVer 0, the registers RAZ/WI, no debug exception).
 *
 * Lines for tests/integration/test_guest_debug.py: the guest's own, and
 *   debug: host after: bvr0 0x<v> bcr0 0x<v> wvr0 0x<v> wcr0 0x<v> bcr1 0x<v> wcr1 0x<v> mdscr 0x<v> oslsr 0x<v>
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)

#define rd(r)                                                                                                        \
	({                                                                                                           \
		u64 __v;                                                                                             \
		__asm__ volatile("isb; mrs %0, " #r : "=r"(__v)::"memory");                                          \
		__v;                                                                                                 \
	})
#define wr(r, v) __asm__ volatile("msr " #r ", %0; isb" : : "r"((u64)(v)) : "memory")

/* Disabled (E = 0) but otherwise full values, so that any register the core fails to restore shows. */
#define HOST_BVR0 0x123450UL
#define HOST_BCR0 0x1e4UL /* PMC EL0, BAS all */
#define HOST_WVR0 0x56788UL
#define HOST_WCR0 0x1ffcUL /* PAC EL0, LSC load+store, BAS all */
#define HOST_MDSCR (1UL << 15) /* MDE */

static void run(u64 type, const char *const *lines)
{
	struct vmm_vm vm = { .console_echo = true, .expect = lines };

	if (vmm_boot(&vm, type, "debug", 2 * MIB, 0)) {
		CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	}
}

static const char *const done_lines[] = { "guest: debug done", NULL };

TEST(vm_debug_normal)
{
	u64 oslsr = rd(oslsr_el1);
	u64 bvr0, bcr0, wvr0, wcr0, bcr1, wcr1, mdscr;

	wr(dbgbvr0_el1, HOST_BVR0);
	wr(dbgbcr0_el1, HOST_BCR0);
	wr(dbgwvr0_el1, HOST_WVR0);
	wr(dbgwcr0_el1, HOST_WCR0);
	wr(dbgbcr1_el1, 0);
	wr(dbgwcr1_el1, 0);
	wr(mdscr_el1, HOST_MDSCR);
	run(MOAT_VM_NORMAL, done_lines);
	bvr0 = rd(dbgbvr0_el1);
	bcr0 = rd(dbgbcr0_el1);
	wvr0 = rd(dbgwvr0_el1);
	wcr0 = rd(dbgwcr0_el1);
	bcr1 = rd(dbgbcr1_el1);
	wcr1 = rd(dbgwcr1_el1);
	mdscr = rd(mdscr_el1);
	tprintf("debug: host after: bvr0 0x%lx bcr0 0x%lx wvr0 0x%lx wcr0 0x%lx bcr1 0x%lx wcr1 0x%lx mdscr 0x%lx "
		"oslsr 0x%lx\n",
		bvr0, bcr0, wvr0, wcr0, bcr1, wcr1, mdscr, rd(oslsr_el1));
	CHECK_EQ(bvr0, HOST_BVR0);
	CHECK_EQ(bcr0, HOST_BCR0);
	CHECK_EQ(wvr0, HOST_WVR0);
	CHECK_EQ(wcr0, HOST_WCR0);
	CHECK_EQ(bcr1, 0);
	CHECK_EQ(wcr1, 0);
	CHECK_EQ(mdscr, HOST_MDSCR);
	CHECK_EQ(rd(oslsr_el1), oslsr);
	wr(dbgbcr0_el1, 0);
	wr(dbgwcr0_el1, 0);
	wr(mdscr_el1, 0);
}

TEST(vm_debug_protected)
{
	run(MOAT_VM_PROTECTED, done_lines);
}
