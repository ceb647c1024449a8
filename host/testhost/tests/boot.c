/*
 * Test: the core entered the host the way arm64 Linux expects
 * (Documentation/arch/arm64/booting.rst, DESIGN.md §3A): x0 = the DTB,
 * x1..x3 = 0, EL1h with D, A, I, F masked, MMU and data cache off, the
 * counters readable at EL1 and the GICv3 system-register interface enabled.
 * head.S records the entry state before touching anything.
 */
#include "test.h"

#define DAIF_ALL 0x3c0
#define SCTLR_M (1UL << 0)
#define SCTLR_C (1UL << 2)
#define ICC_SRE_SRE 1UL

_Static_assert(sizeof(struct boot_entry_state) == 64, "head.S reserves 64 bytes");

/*
 * What booting.rst (and PSCI CPU_ON) promise at a CPU's entry into the host:
 * x0 the DTB or the CPU_ON context id, x1..x3 zero, DAIF masked, MMU and
 * D-cache off, EL1h. Shared by the boot CPU's test and the secondaries' (smp.c).
 */
void check_boot_entry(const struct boot_entry_state *e, u64 x0)
{
	CHECK_EQ(e->x[0], x0);
	CHECK_EQ(e->x[1], 0);
	CHECK_EQ(e->x[2], 0);
	CHECK_EQ(e->x[3], 0);
	CHECK_EQ(e->daif, DAIF_ALL);
	CHECK_EQ(e->sctlr_el1 & (SCTLR_M | SCTLR_C), 0);
	CHECK_EQ(e->spsel, 1);
	CHECK_EQ(e->current_el >> 2, 1);
}

static void check_entry_registers(void)
{
	const struct boot_entry_state *e = &boot_entry;

	tprintf("boot: x0=0x%lx x1=0x%lx x2=0x%lx x3=0x%lx DAIF=0x%lx SCTLR_EL1=0x%lx SPSel=%lu EL%lu\n", e->x[0],
		e->x[1], e->x[2], e->x[3], e->daif, e->sctlr_el1, e->spsel, e->current_el >> 2);
	check_boot_entry(e, plat.dtb);
	CHECK(IS_ALIGNED(e->x[0], 8), "DTB at 0x%lx is not 8-byte aligned", e->x[0]);
	CHECK(plat.dtb_size <= FDT_MAX_SIZE, "DTB is 0x%lx bytes", plat.dtb_size);
}

/* Each read below traps to EL2 (and panics the test host) if the core left it trapped. */
static void check_el1_access(void)
{
	u64 frq = read_sysreg(cntfrq_el0);
	u64 pct = read_sysreg(cntpct_el0);
	u64 vct = read_sysreg(cntvct_el0);
	u64 sre = read_sysreg(S3_0_C12_C12_5); /* ICC_SRE_EL1 */
	u64 mpidr = read_sysreg(mpidr_el1);

	tprintf("boot: CNTFRQ=%lu CNTPCT=0x%lx CNTVCT=0x%lx ICC_SRE_EL1=0x%lx MIDR=0x%lx MPIDR=0x%lx\n", frq, pct,
		vct, sre, read_sysreg(midr_el1), mpidr);
	CHECK(frq != 0, "CNTFRQ_EL0 is 0");
	CHECK(sre & ICC_SRE_SRE, "GICv3 system registers disabled");
	CHECK(plat.info.nr_cpus > 0 && (mpidr & MPIDR_AFF_MASK) == plat.info.cpu_mpidr[0],
	      "boot CPU MPIDR 0x%lx is not the DTB's first CPU", mpidr);
}

TEST(boot_protocol)
{
	check_entry_registers();
	check_el1_access();
}
