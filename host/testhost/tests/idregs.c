/*
 * What the host and the guests see of the CPU's features (DESIGN §0, §6):
 * the ID registers each reads, and whether a feature's instructions work
 * exactly when its ID register advertises it. tests/integration/test_idregs.py
 * checks the printed values field by field on cortex-a72 and on -cpu max.
 *
 * Also the guests' refused accesses (guest/refuse): the core must answer
 * them and name each kind once per VM in its log.
 */
#include "el1_idregs.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define IDX(crm, op2) (((crm)-1) * 8 + (op2))
#define FIELD(v, shift) (((v) >> (shift)) & 0xfUL)

#define CPACR_EL1_ZEN (3UL << 16)
#define CPACR_EL1_FPEN (3UL << 20)
#define CPACR_EL1_SMEN (3UL << 24)
#define SCTLR_EL1_ENIA (1UL << 31)
#define ESR_UNDEF 0x2000000UL /* EC 0, IL 1: what the core injects, and what the CPU raises itself */

/* One instruction of each feature, then RET: targets for probe_exec (raw encodings, see guest/idregs). */
void try_sve_rdvl(void);
void try_sme_smstart(void);
void try_pauth_pacia(void);
__asm__(".pushsection .text.try_features, \"ax\", %progbits\n"
	".balign 4\n"
	".globl try_sve_rdvl\n"
	"try_sve_rdvl:\n"
	"	.inst 0x04bf5020\n" /* rdvl x0, #1 */
	"	ret\n"
	".globl try_sme_smstart\n"
	"try_sme_smstart:\n"
	"	.inst 0xd503477f\n" /* smstart */
	"	.inst 0xd503467f\n" /* smstop */
	"	ret\n"
	".globl try_pauth_pacia\n"
	"try_pauth_pacia:\n"
	"	mov x0, #0x1000\n"
	"	mov x1, #7\n"
	"	.inst 0xdac10020\n" /* pacia x0, x1 */
	"	ret\n"
	".popsection\n");

static void write_cpacr(u64 v)
{
	__asm__ volatile("msr cpacr_el1, %0\n\tisb" : : "r"(v));
}

static void write_sctlr(u64 v)
{
	__asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(v));
}

/* Run fn; print and check that it faults with UNDEF exactly when the feature is not advertised. */
static void check_feature(const char *what, void (*fn)(void), bool advertised)
{
	int faulted = probe_exec((u64)(uintptr_t)fn);

	if (faulted) {
		tprintf("host: %s: undef ESR_EL1=0x%lx\n", what, last_fault.esr);
		CHECK(!advertised, "%s: advertised by the ID registers but faulted (ESR_EL1 0x%lx)", what,
		      last_fault.esr);
		CHECK_EQ(last_fault.esr, ESR_UNDEF);
	} else {
		tprintf("host: %s: ran\n", what);
		CHECK(advertised, "%s: executed although the ID registers hide it", what);
	}
}

TEST(host_idregs)
{
	u64 r[EL1_IDREGS];
	u64 cpacr = read_sysreg(cpacr_el1);
	u64 sctlr = read_sysreg(sctlr_el1);
	u64 isar1, isar2;
	bool pauth;

	el1_read_idregs(r);
	el1_print_idregs("host: ", r, tprintf);
	isar1 = r[IDX(6, 1)];
	isar2 = r[IDX(6, 2)];
	/* APA, API, GPA, GPI (ISAR1), GPA3, APA3 (ISAR2): any address-authentication algorithm. */
	pauth = FIELD(isar1, 4) || FIELD(isar1, 8) || FIELD(isar2, 12);
	CHECK(!FIELD(r[IDX(4, 0)], 32) == !r[IDX(4, 4)], "PFR0.SVE and ZFR0 disagree: 0x%lx 0x%lx", r[IDX(4, 0)],
	      r[IDX(4, 4)]);
	CHECK(!FIELD(r[IDX(4, 1)], 24) == !r[IDX(4, 5)], "PFR1.SME and SMFR0 disagree: 0x%lx 0x%lx", r[IDX(4, 1)],
	      r[IDX(4, 5)]);

	/* Open the EL1 controls, so that only the core's (EL2) traps decide. */
	write_cpacr(cpacr | CPACR_EL1_FPEN | CPACR_EL1_ZEN | CPACR_EL1_SMEN);
	check_feature("sve rdvl", try_sve_rdvl, FIELD(r[IDX(4, 0)], 32) != 0);
	check_feature("sme smstart", try_sme_smstart, FIELD(r[IDX(4, 1)], 24) != 0);
	write_cpacr(cpacr);
	write_sctlr(sctlr | SCTLR_EL1_ENIA);
	check_feature("pauth pacia", try_pauth_pacia, pauth);
	write_sctlr(sctlr);
}

/* ---- guests: guest/idregs ---------------------------------------------------------- */

static const char *const idregs_lines[] = { "guest: idregs done", NULL };

static void run_idregs(u64 type)
{
	struct vmm_vm vm = { .console_echo = true, .expect = idregs_lines };

	if (vmm_boot(&vm, type, "idregs", 2 * MIB, 0)) {
		CHECK(vmm_destroy(&vm) > 0, "destroy failed");
	}
}

TEST(vm_idregs)
{
	run_idregs(MOAT_VM_PROTECTED);
}

TEST(vm_idregs_normal)
{
	run_idregs(MOAT_VM_NORMAL);
}

/* ---- guests: guest/refuse ---------------------------------------------------------- */

static const char *const refuse_lines[] = {
	"guest: actlr_el1 reads 0x0 0x0",     "guest: hvc 0x83000001 -> -1 -1", "guest: cpu_on -> -2 -2",
	"guest: smc 0x84000000 -> -1 -1",     "guest: cntp reads 0x0 0x0",	"guest: pmu reads 0x0 0x0",
	"guest: el0 pmccntr trapped to EL1, EC 0x18", "guest: refuse done", NULL,
};

/* A normal VM has its own PMU (core/guest_pmu.c, tested by vm_pmu_normal): no PMU refusal. */
static const char *const refuse_lines_normal[] = {
	"guest: actlr_el1 reads 0x0 0x0",     "guest: hvc 0x83000001 -> -1 -1", "guest: cpu_on -> -2 -2",
	"guest: smc 0x84000000 -> -1 -1",     "guest: cntp reads 0x0 0x0",
	"guest: el0 pmccntr trapped to EL1, EC 0x18", "guest: refuse done", NULL,
};

/*
 * A protected VM, then a normal one: each must get its own log lines, once. The host lets its
 * own EL0 at the PMU (PMUSERENR_EL0.EN) meanwhile: a guest's EL0 must not see that.
 */
TEST(vm_refuse)
{
	static const u64 types[] = { MOAT_VM_PROTECTED, MOAT_VM_NORMAL };

	__asm__ volatile("msr pmuserenr_el0, %0; isb" : : "r"(1UL) : "memory");

	for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
		struct vmm_vm vm = { .console_echo = true,
				     .expect = types[i] == MOAT_VM_PROTECTED ? refuse_lines : refuse_lines_normal };

		tprintf("refuse: %s VM\n", types[i] == MOAT_VM_PROTECTED ? "protected" : "normal");
		if (vmm_boot(&vm, types[i], "refuse", 2 * MIB, 0)) {
			CHECK(vmm_destroy(&vm) > 0, "destroy failed");
		}
	}
	u64 pmuserenr;

	__asm__ volatile("mrs %0, pmuserenr_el0" : "=r"(pmuserenr));
	CHECK(pmuserenr == 1, "PMUSERENR_EL0 0x%lx after the guests: the host's EN was not given back", pmuserenr);
	__asm__ volatile("msr pmuserenr_el0, xzr; isb" : : : "memory");
}
