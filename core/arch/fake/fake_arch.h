/*
 * State of the fake architecture layer (see fake_arch.c), visible to tests.
 */
#ifndef MOAT_FAKE_ARCH_H
#define MOAT_FAKE_ARCH_H

#include "arch.h"
#include "guest_exit.h"
#include "vcpu.h"

enum fake_op {
	FAKE_DSB_ISHST = 1,
	FAKE_DSB_ISH,
	FAKE_ISB,
	FAKE_TLBI_S2_IPA,
	FAKE_TLBI_S1_ALL,
	FAKE_TLBI_S12_ALL,
	FAKE_TLBI_EL2_VA,
	FAKE_TLBI_EL2_ALL,
	FAKE_DC_CIVAC,
	FAKE_DC_CVAC,
	FAKE_IC_IALLUIS,
	FAKE_IC_INVAL_POU, /* arg: the first address of the range */
	FAKE_WFI,
	FAKE_PMU_READ,	/* arg: enum pmu_reg */
	FAKE_PMU_WRITE, /* arg: enum pmu_reg */
	FAKE_S2_FLUSH_VMID, /* arg: the view's VTTBR (root | VMID << 48); TLBI VMALLS12E1IS and DSB follow */
	FAKE_WFE,
	FAKE_SEV,
	FAKE_KICK_OTHERS, /* the stop SGI to every other CPU */
	FAKE_DBG_READ,	  /* arg: enum dbg_reg << 8 | n */
	FAKE_DBG_WRITE,	  /* arg: enum dbg_reg << 8 | n */
};

#define FAKE_TRACE_MAX 65536

struct fake_state {
	struct {
		enum fake_op op;
		u64 arg;
	} ops[FAKE_TRACE_MAX];
	size_t nr_ops;
	unsigned int cpu;
	u64 mpidr; /* arch_cpu_mpidr() */
	void (*wfe_hook)(void); /* called by arch_wfe(): lets a single-threaded test end a wait */
	u64 counter;
	char console[1 << 16];
	size_t console_len;
	bool console_full;	 /* the UART's transmit FIFO stays full (host disabled it, flow control) */
	u64 console_polls;	 /* arch_console_try_putc() calls */
	unsigned int injected;
	u64 last_esr_el1, last_far_el1;
	unsigned int firmware_calls;
	u64 last_firmware_fid;
	u64 last_firmware_args[4]; /* x0..x3 of the last call */
	u64 firmware_fids[8]; /* the first calls' function IDs */
	/* The fake firmware answers 0 to everything, PSCI_FEATURES(firmware_unsupported) excepted (-1). */
	u64 firmware_unsupported;
	/*
	 * Guest exits: arch_guest_run() hands out these in order; when they run
	 * out it makes the guest call PSCI SYSTEM_OFF so every run terminates.
	 * A test or the fuzzer may also rewrite the vCPU's registers per exit
	 * through exit_hook.
	 */
	struct guest_exit exits[64];
	unsigned int nr_exits, next_exit;
	void (*exit_hook)(struct vcpu *vcpu, unsigned int n);
	u64 vttbr;
	u64 tlbi_s2_vttbr; /* vttbr when the last TLBI by IPA was issued: whose VMID it hit */
	unsigned int vcpu_loads, vcpu_puts;
	unsigned int serror_syncs; /* arch_vcpu_sync_serror() calls */
	/*
	 * The virtual GIC CPU interface as the guest sees it during one
	 * arch_guest_run(): the vCPU's LRs and ICH_HCR go in before the exit
	 * hook runs (the hook plays the guest and the GIC: it may acknowledge,
	 * EOI, set misr), and come back out after. nr_lrs 0 means 4 (QEMU's).
	 */
	u64 lr[VGIC_MAX_LRS];
	unsigned int nr_lrs;
	u64 ich_hcr;
	u32 ich_misr;
	u64 cntv_ctl; /* the loaded guest's CNTV_CTL_EL0 */
	/*
	 * The loaded vCPU's ICH_VMCR_EL2 and running priority, as
	 * arch_vgic_vmcr()/arch_vgic_running_priority() report them. fake_reset()
	 * leaves a guest that enabled both groups and masks nothing: VENG0 |
	 * VENG1, VPMR 0xff, no active priority (0xff).
	 */
	u64 ich_vmcr;
	u32 vgic_rpr;
	unsigned int entries; /* arch_guest_run() calls */
	/*
	 * Device accessors: plain memory at pa, counted; when device_fault
	 * returns true for an access, it behaves as if the device had answered
	 * with an external abort (nothing read or written, false returned).
	 */
	bool (*device_fault)(u64 pa, bool write);
	unsigned int device_reads, device_writes, device_faults;
	/*
	 * The PMU as arch_pmu_read/write see it: fixed registers by table index;
	 * PMXEVTYPER/PMXEVCNTR reach evtyper/evcntr[PMSELR.SEL] (SEL 31:
	 * PMCCFILTR), as on the hardware. Set PMCR.N in fixed[PMU_pmcr_el0].
	 * A PMSWINC write is what it is at EL2: it increments each SW_INCR
	 * counter of the mask whose type has NSH set. PMCNTEN, PMINTEN and
	 * PMOVS are one value each, kept in the SET slot: SET writes set bits,
	 * CLR writes clear them, both read it (as on the CPU).
	 */
	struct {
		u64 fixed[PMU_NR_FIXED];
		u64 evtyper[31], evcntr[31];
		u64 last_write;
	} pmu;
	/*
	 * The debug registers as arch_dbg_read/write see them: the four banks by
	 * number, MDSCR_EL1, and OSLSR_EL1 (an OSLAR_EL1 write sets its OSLK, bit 1).
	 */
	struct {
		u64 bvr[16], bcr[16], wvr[16], wcr[16];
		u64 mdscr, oslsr;
	} dbg;
};

/* Queue one exit for the next arch_guest_run(). */
void fake_queue_exit(enum guest_exit_kind kind, u64 esr, u64 far, u64 ipa);

extern struct fake_state fake;

void fake_reset(void);
/* Index of the first op at or after from, or (size_t)-1. */
size_t fake_find_op(size_t from, enum fake_op op);

#endif
