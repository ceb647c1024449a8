/*
 * debug: what a guest gets of self-hosted debug (issue 11, Deliver 8).
 * Prints the ID_AA64DFR0_EL1 fields:
 *   guest: debug DebugVer <d> BRPs <b> WRPs <w> CTX_CMPs <c>     (raw fields: n means n + 1 registers)
 * then unlocks the OS lock (OSLAR_EL1 = 0), sets MDSCR_EL1.MDE and KDE and
 * clears PSTATE.D, and:
 *   - breakpoint 0 on dbg_bp_insn (PMC EL1+EL0, BAS all) and a call of it;
 *   - watchpoint 0 on an 8-byte variable (PAC EL1+EL0, stores, BAS all) and a store to it;
 *   - MDSCR_EL1.SS, and an ERET to code with SPSR_EL1.SS set, once stepping an
 *     ADD and once an MRS that traps to the core.
 * A line between arming and trying each makes the VM exit to its VMM (the
 * console is MMIO), so the armed state must survive a put and a load.
 *
 * Normal VMs (DebugVer != 0):
 *   guest: debug oslsr 0x<reset> 0x<after OSLAR_EL1 = 0>                  (0xa 0x8: OSLM = 0b10, OSLK 1 then 0)
 *   guest: debug read back bcr0 0x<v> wcr0 0x<v> bvr0-insn <d> wvr0-var <d>
 *   guest: debug masked bcr1 0x<v> wcr1 0x<v>   (HMC, SSC and BT[3] written: the core keeps them 0)
 *   guest: debug breakpoint esr 0x<esr> elr-insn <d> ran <n>
 *   guest: debug watchpoint esr 0x<esr> far-var <d> elr-insn <d>
 *   guest: debug step esr 0x<esr> elr-after <d> x0 <n> ran <n>
 *   guest: debug step trapped esr 0x<esr> elr-after <d> x0 <n> ran <n>   (stepping an MRS the core completes)
 * Protected VMs (DebugVer 0): the same accesses read as zero and arm nothing:
 *   guest: debug protected reads 0x<oslsr> 0x<mdscr> 0x<bcr0> 0x<bvr0> 0x<wcr0> 0x<wvr0>
 *   guest: debug protected taken <n> ran <bp> <step>
 * and both:
 *   guest: debug exceptions <n>
 *   guest: debug done
 */
#include "el1_frame.h"
#include "guest.h"

#define MDSCR_SS (1UL << 0)
#define MDSCR_KDE (1UL << 13)
#define MDSCR_MDE (1UL << 15)
#define SPSR_SS (1UL << 21)
#define SPSR_D (1UL << 9)
/* EL1h, A, I, F masked, D clear: debug exceptions from EL1 enabled (with MDSCR_EL1.KDE). */
#define SPSR_EL1H_DEBUG 0x1c5UL

#define BCR_E 1UL
#define BCR_PMC_EL1_EL0 (3UL << 1)
#define BCR_BAS_A64 (0xfUL << 5)
#define BCR_HMC (1UL << 13)
#define BCR_SSC (3UL << 14)
#define BCR_BT3 (1UL << 23) /* the VMID/CONTEXTIDR_EL2 breakpoint types, which need EL2 */
#define WCR_PAC_EL1_EL0 (3UL << 1)
#define WCR_LSC_STORE (2UL << 3)
#define WCR_LSC_ANY (3UL << 3)
#define WCR_BAS_8 (0xffUL << 5)

#define RD(reg) read_sysreg(reg)
#define WR(reg, v) __asm__ volatile("msr " #reg ", %0; isb" : : "r"((uint64_t)(v)) : "memory")

uint64_t dbg_bp_target(void);
void dbg_wp_store(uint64_t *p, uint64_t v);
uint64_t dbg_step(uint64_t spsr);
uint64_t dbg_step_trapped(uint64_t spsr);
extern const char dbg_bp_insn[], dbg_wp_insn[], dbg_step_after[], dbg_step_trapped_after[];

static volatile uint64_t watched __attribute__((aligned(8)));

/* The last debug exception taken at EL1, and how many. */
static volatile struct {
	unsigned int n;
	uint64_t esr, elr, far, x0;
} taken;

static bool on_debug_exception(struct el1_frame *frame)
{
	uint64_t esr = read_sysreg(esr_el1);
	unsigned int ec = (unsigned int)ESR_EC(esr);

	if (ec != 0x31 && ec != 0x33 && ec != 0x35) { /* breakpoint, software step, watchpoint (current EL) */
		return false;
	}
	taken.n++;
	taken.esr = esr;
	taken.elr = frame->elr;
	taken.far = read_sysreg(far_el1);
	taken.x0 = frame->x[0];
	if (ec == 0x33) {
		/* ELR is the next instruction to run: resume there, with debug masked so it is not stepped too. */
		frame->spsr = (frame->spsr | SPSR_D) & ~SPSR_SS;
	} else {
		frame->elr += 4; /* skip the instruction the breakpoint or watchpoint stopped */
	}
	return true;
}

static void debug_unmask(void)
{
	__asm__ volatile("msr daifclr, #8; isb" ::: "memory");
}

static void debug_mask(void)
{
	__asm__ volatile("msr daifset, #8; isb" ::: "memory");
}

static long diff(uint64_t a, const void *b)
{
	return (long)(a - (uint64_t)(uintptr_t)b);
}

static void normal(void)
{
	uint64_t oslsr_reset = RD(oslsr_el1), ran;

	WR(oslar_el1, 0);
	printf("guest: debug oslsr 0x%lx 0x%lx\n", oslsr_reset, RD(oslsr_el1));

	WR(dbgbvr0_el1, (uint64_t)(uintptr_t)dbg_bp_insn);
	WR(dbgbcr0_el1, BCR_E | BCR_PMC_EL1_EL0 | BCR_BAS_A64);
	WR(dbgwvr0_el1, (uint64_t)(uintptr_t)&watched);
	WR(dbgwcr0_el1, WCR_PAC_EL1_EL0 | WCR_LSC_STORE | WCR_BAS_8); /* armed below, after the breakpoint */
	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE);
	printf("guest: debug read back bcr0 0x%lx wcr0 0x%lx bvr0-insn %ld wvr0-var %ld\n", RD(dbgbcr0_el1),
	       RD(dbgwcr0_el1), diff(RD(dbgbvr0_el1), dbg_bp_insn), diff(RD(dbgwvr0_el1), (const void *)&watched));

	/* Breakpoint and watchpoint 1, disabled (E = 0), with the fields that would reach EL2 or EL3 set. */
	WR(dbgbcr1_el1, BCR_HMC | BCR_SSC | BCR_BT3 | BCR_PMC_EL1_EL0 | BCR_BAS_A64);
	WR(dbgwcr1_el1, BCR_HMC | BCR_SSC | WCR_PAC_EL1_EL0 | WCR_LSC_ANY | WCR_BAS_8);
	printf("guest: debug masked bcr1 0x%lx wcr1 0x%lx\n", RD(dbgbcr1_el1), RD(dbgwcr1_el1));

	debug_unmask();
	ran = dbg_bp_target();
	debug_mask();
	WR(dbgbcr0_el1, 0);
	printf("guest: debug breakpoint esr 0x%lx elr-insn %ld ran %lu\n", taken.esr, diff(taken.elr, dbg_bp_insn), ran);

	WR(dbgwcr0_el1, WCR_PAC_EL1_EL0 | WCR_LSC_STORE | WCR_BAS_8 | BCR_E);
	printf("guest: debug watchpoint armed\n");
	debug_unmask();
	dbg_wp_store((uint64_t *)&watched, 0x5a5a);
	debug_mask();
	WR(dbgwcr0_el1, 0);
	printf("guest: debug watchpoint esr 0x%lx far-var %ld elr-insn %ld\n", taken.esr,
	       diff(taken.far, (const void *)&watched), diff(taken.elr, dbg_wp_insn));

	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE | MDSCR_SS);
	printf("guest: debug step armed\n");
	ran = dbg_step(SPSR_EL1H_DEBUG | SPSR_SS);
	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE);
	printf("guest: debug step esr 0x%lx elr-after %ld x0 %lu ran %lu\n", taken.esr, diff(taken.elr, dbg_step_after),
	       taken.x0, ran);

	/* The same over an instruction the core completes (a trapped MRS): still one instruction, then the step. */
	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE | MDSCR_SS);
	ran = dbg_step_trapped(SPSR_EL1H_DEBUG | SPSR_SS);
	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE);
	printf("guest: debug step trapped esr 0x%lx elr-after %ld x0 %lu ran %lu\n", taken.esr,
	       diff(taken.elr, dbg_step_trapped_after), taken.x0, ran);
	WR(mdscr_el1, 0);
}

static void protected(void)
{
	uint64_t ran_bp, ran_step;

	WR(oslar_el1, 0);
	WR(dbgbvr0_el1, (uint64_t)(uintptr_t)dbg_bp_insn);
	WR(dbgbcr0_el1, BCR_E | BCR_PMC_EL1_EL0 | BCR_BAS_A64);
	WR(dbgwvr0_el1, (uint64_t)(uintptr_t)&watched);
	WR(dbgwcr0_el1, BCR_E | WCR_PAC_EL1_EL0 | WCR_LSC_STORE | WCR_BAS_8);
	WR(mdscr_el1, MDSCR_MDE | MDSCR_KDE | MDSCR_SS);
	printf("guest: debug protected reads 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx\n", RD(oslsr_el1), RD(mdscr_el1),
	       RD(dbgbcr0_el1), RD(dbgbvr0_el1), RD(dbgwcr0_el1), RD(dbgwvr0_el1));
	debug_unmask();
	ran_bp = dbg_bp_target();
	dbg_wp_store((uint64_t *)&watched, 0x5a5a);
	debug_mask();
	ran_step = dbg_step(SPSR_EL1H_DEBUG | SPSR_SS);
	printf("guest: debug protected taken %u ran %lu %lu\n", taken.n, ran_bp, ran_step);
}

void guest_main(uint64_t x0)
{
	(void)x0;
	uint64_t dfr0 = RD(id_aa64dfr0_el1);
	unsigned int debugver = (unsigned int)(dfr0 & 0xf);

	guest_sync_handler = on_debug_exception;
	printf("guest: debug DebugVer %u BRPs %lu WRPs %lu CTX_CMPs %lu\n", debugver, (dfr0 >> 12) & 0xf,
	       (dfr0 >> 20) & 0xf, (dfr0 >> 28) & 0xf);
	if (debugver) {
		normal();
	} else {
		protected();
	}
	printf("guest: debug exceptions %u\n", taken.n);
	printf("guest: debug done\n");
}
