/*
 * idregs: what a guest sees of the CPU's features, and what happens when it
 * uses one the core hides (DESIGN §0, §6).
 *
 *   1. Reads all 56 encodings of the ID register space (op0=3, op1=0,
 *      CRn=0, CRm=1..7, op2=0..7) and prints them, one line per CRm:
 *        guest: idregs CRm=<n>: <op2=0> ... <op2=7>      (hex, no 0x)
 *   2. With CPACR_EL1.ZEN/SMEN open (so EL1 itself does not trap them) and
 *      SCTLR_EL1.EnIA set, executes one SVE (RDVL), one SME (SMSTART) and one
 *      pointer-authentication (PACIA) instruction, and tries to write
 *      ID_AA64PFR0_EL1 (MSR, which the architecture makes UNDEFINED). Each
 *      prints
 *        guest: <what>: undef ESR_EL1=0x<esr>   (it took an exception)
 *        guest: <what>: ran                     (it executed)
 *      A hidden feature must give "undef ESR_EL1=0x2000000" (EC 0, IL 1).
 *   3. guest: idregs done
 * Console only; SYSTEM_OFF at the end.
 */
#include "guest.h"
#include "el1_idregs.h"

#define CPACR_EL1_ZEN (3UL << 16)
#define CPACR_EL1_FPEN (3UL << 20)
#define CPACR_EL1_SMEN (3UL << 24)
#define SCTLR_EL1_ENIA (1UL << 31)

/* Raw encodings: the assembler is not asked for SVE/SME/PAuth support. */
#define INSN_RDVL_X0_1 ".inst 0x04bf5020"  /* rdvl x0, #1 */
#define INSN_SMSTART ".inst 0xd503477f"	   /* smstart */
#define INSN_SMSTOP ".inst 0xd503467f"	   /* smstop */
#define INSN_PACIA_X0_X1 ".inst 0xdac10020" /* pacia x0, x1 */

static void report(const char *what, bool faulted, const struct guest_fault *f)
{
	if (faulted) {
		printf("guest: %s: undef ESR_EL1=0x%lx\n", what, f->esr);
	} else {
		printf("guest: %s: ran\n", what);
	}
}

static void try_features(void)
{
	struct guest_fault f;
	bool faulted;

	__asm__ volatile("msr cpacr_el1, %0\n\tisb" : : "r"(CPACR_EL1_FPEN | CPACR_EL1_ZEN | CPACR_EL1_SMEN));

	probe_arm();
	__asm__ volatile(INSN_RDVL_X0_1 : : : "x0");
	report("sve rdvl", probe_disarm(&f), &f);

	probe_arm();
	__asm__ volatile(INSN_SMSTART : : : "memory");
	faulted = probe_disarm(&f);
	if (!faulted) {
		__asm__ volatile(INSN_SMSTOP : : : "memory");
	}
	report("sme smstart", faulted, &f);

	__asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(read_sysreg(sctlr_el1) | SCTLR_EL1_ENIA));
	probe_arm();
	__asm__ volatile("mov x0, #0x1000\n\tmov x1, #7\n\t" INSN_PACIA_X0_X1 : : : "x0", "x1");
	faulted = probe_disarm(&f);
	__asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(read_sysreg(sctlr_el1) & ~SCTLR_EL1_ENIA));
	report("pauth pacia", faulted, &f);

	probe_arm();
	__asm__ volatile("msr S3_0_C0_C4_0, %0" : : "r"(0UL));
	report("msr id_aa64pfr0_el1", probe_disarm(&f), &f);

	__asm__ volatile("msr cpacr_el1, %0\n\tisb" : : "r"(CPACR_EL1_FPEN));
}

void guest_main(uint64_t x0)
{
	uint64_t regs[EL1_IDREGS];

	el1_read_idregs(regs);
	el1_print_idregs("guest: ", regs, printf);
	try_features();
	printf("guest: idregs done\n");
}
