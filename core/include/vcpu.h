/*
 * Virtual CPUs: register state kept only in core memory (a memcache page),
 * the run loop, and the exits reported to the host through the run page
 * (DESIGN §6).
 *
 * Lock: a vCPU is driven by the one physical CPU that loaded it
 * (vcpu->loaded); the VM lock is taken only to load/unload it.
 */
#ifndef MOAT_VCPU_H
#define MOAT_VCPU_H

#include "moat/abi.h"
#include "regs.h"
#include "types.h"
#include "vgic.h"
#include "vm.h"

/* EL1 system registers switched with the vCPU (DESIGN §6). */
enum guest_sysreg {
	SYS_SCTLR_EL1,
	SYS_TTBR0_EL1,
	SYS_TTBR1_EL1,
	SYS_TCR_EL1,
	SYS_MAIR_EL1,
	SYS_AMAIR_EL1,
	SYS_VBAR_EL1,
	SYS_CONTEXTIDR_EL1,
	SYS_TPIDR_EL0,
	SYS_TPIDR_EL1,
	SYS_TPIDRRO_EL0,
	SYS_ESR_EL1,
	SYS_FAR_EL1,
	SYS_AFSR0_EL1,
	SYS_AFSR1_EL1,
	SYS_PAR_EL1,
	SYS_CPACR_EL1,
	SYS_CNTKCTL_EL1,
	SYS_SP_EL0,
	SYS_SP_EL1,
	SYS_ELR_EL1,
	SYS_SPSR_EL1,
	SYS_CSSELR_EL1,
	SYS_MDSCR_EL1,
	SYS_CNTV_CTL_EL0,
	SYS_CNTV_CVAL_EL0,
	SYS_ICH_VMCR_EL2, /* the guest's ICC_PMR/BPR/IGRPEN live here: never shared between VMs */
	NR_GUEST_SYSREGS
};

struct fpsimd_state {
	u64 v[64]; /* q0..q31, low then high doubleword */
	u64 fpsr;
	u64 fpcr;
};

struct guest_context {
	struct cpu_regs regs; /* x0..x30, PC (elr), PSTATE (spsr) */
	u64 sys[NR_GUEST_SYSREGS];
	struct fpsimd_state fp;
};

/* An MMIO read the host must complete before the vCPU runs again. */
struct pending_mmio_read {
	bool pending;
	bool sign_extend;
	bool sixty_four; /* destination is an X register (else W: zero the top half) */
	u8 reg;		 /* destination register; 31 = XZR (discard) */
	u8 size;	 /* bytes */
};

/* PSCI power state of a vCPU (guest_psci.c), under vm->lock. OFF is 0: a zeroed vCPU is off. */
enum vcpu_power { VCPU_POWER_OFF = 0, VCPU_POWER_ON_PENDING, VCPU_POWER_ON };

struct vcpu {
	struct guest_context ctx;
	struct vm *vm;
	struct moat_run *run; /* host page shared with the core */
	u64 run_pa;
	u32 index;
	bool loaded; /* running on some physical CPU right now */
	/*
	 * A virtual SError the guest has not taken yet. While the vCPU is loaded
	 * the arch layer keeps it in HCR_EL2.VSE (the hardware clears that bit
	 * when the guest takes it) and writes the outcome back here.
	 */
	bool serror_pending;
	bool pmu_used; /* a normal vCPU touched its PMU: its state is switched at load/put (guest_pmu.c) */
	bool dbg_used; /* a normal vCPU touched its debug registers: switched at load/put (guest_debug.c) */
	struct pending_mmio_read mmio_read;
	u8 power;	/* enum vcpu_power, under vm->lock */
	bool off_at_load; /* the VCPU_RUN that loaded it found it off: nothing to run (set under vm->lock) */
	bool wfe_exit;	  /* the WFI exit being reported was a WFE: runnable at once (vcpu.c) */
	u64 refused_call; /* fid + 1 of the last call refused and recorded (guest_refuse.c); 0: none */
	u64 on_entry, on_context; /* the guest's CPU_ON arguments, while ON_PENDING */
	/*
	 * The MEM_UNSHARE this vCPU's last UNSHARE exit asked the host about
	 * (0: none; IPA 0 is never RAM), and vm->share_gen then (guest_mem.c).
	 */
	u64 unshare_ipa, unshare_gen;
	struct vgic_cpu vgic; /* private interrupts, redistributor, list registers (vgic.c) */
};

_Static_assert(sizeof(struct vcpu) <= 1536, "per-vCPU core state budget (DESIGN §6)");

/* Host calls (vcpu.c). */
int vcpu_create(struct vm *vm, u64 index, u64 run_pa);
/*
 * VCPU_RUN in two steps, so that no lock is held while the guest runs:
 * vcpu_start_run() finds the vCPU and marks it loaded on this CPU (caller
 * holds vm->lock, taken with the handle's generation re-checked:
 * vm_lock()); vcpu_run() then runs it without a lock and unloads it under
 * vm->lock.
 */
int vcpu_start_run(struct vm *vm, u64 index, struct vcpu **out, bool *flush_local);
int vcpu_run(struct vcpu *vcpu, bool flush_local, u64 *exit_reason);
int vcpu_get_reg(struct vm *vm, u64 index, u64 reg, u64 *value);
int vcpu_set_reg(struct vm *vm, u64 index, u64 reg, u64 value);

/* Guest calls answered by the core (guest_call.c): the EC 0x16 handler of guest_exit.c's table. */
struct guest_exit;
u32 guest_hvc(struct vcpu *vcpu, const struct guest_exit *e);
/* The calls answered from x0..x3 alone, on x (guest_call.c); false, x untouched, for the others. */
bool guest_hvc_from_regs(struct vcpu *vcpu, u64 *x);

/*
 * Guest PSCI power management (guest_psci.c). CPU_ON and CPU_OFF write the
 * caller's x0 where PSCI says and return the exit reason; AFFINITY_INFO
 * returns its PSCI result. smc32: the SMC32 form (32-bit arguments).
 */
u32 guest_psci_cpu_on(struct vcpu *vcpu, bool smc32);
u32 guest_psci_cpu_off(struct vcpu *vcpu);
long guest_psci_affinity_info(struct vcpu *vcpu, bool smc32);
/*
 * At VCPU_RUN, under vm->lock: false when the vCPU is off (nothing to run);
 * a vCPU a CPU_ON started gets the guest's entry state and is ON.
 */
bool vcpu_power_up(struct vcpu *vcpu);

#endif
