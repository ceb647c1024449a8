/*
 * Per-CPU state of the arm64 layer, reached through TPIDR_EL2. Owned by the
 * CPU it describes; nothing else writes it.
 */
#ifndef MOAT_ARM64_PERCPU_H
#define MOAT_ARM64_PERCPU_H

#include "config.h"
#include "guest_exit.h"
#include "regs.h"
#include "types.h"
#include "vcpu.h"

struct percpu {
	u64 index;
	/* While a guest runs: where its registers go on the next exit. NULL otherwise. */
	struct cpu_regs *guest_regs;
	/* Host x19..x30 and SP_EL2 at __guest_enter, restored by __guest_exit. */
	u64 host_callee[13];
	/* The host's EL1 context while one of its vCPUs is loaded on this CPU. */
	u64 host_sys[NR_GUEST_SYSREGS];
	struct fpsimd_state host_fp;
	struct vcpu *loaded_vcpu;
	bool guest_fp_loaded;
	/* PMCNTENSET_EL0 the host had when a protected vCPU was loaded: restarted at put. */
	u64 host_pmcnten;
	/* PMUSERENR_EL0 the host had when a vCPU was loaded (any VM type): given back at put. */
	u64 host_pmuserenr;
	/* VMPIDR_EL2 while the host runs: this CPU's MPIDR (cpu.c, restored by arch_vcpu_put). */
	u64 host_vmpidr;
};

extern struct percpu percpu_data[MAX_CPUS];

struct percpu *this_cpu(void);

/* EL2 controls while the host runs, the same on every CPU; set once at boot by cpu.c. */
struct host_el2_config {
	u64 hcr, vttbr, cptr, mdcr, cnthctl;
};
extern struct host_el2_config host_el2;

/* EL2 controls while a guest runs that depend on the CPU's features; set once at boot (guest.c). */
struct guest_el2_config {
	u64 hcr, cptr;
};
extern struct guest_el2_config guest_el2;
void arch_guest_el2_init(void);
/* Zero this CPU's ICH_LR<n>_EL2 and ICH_AP0R/AP1R<n>_EL2 (guest.c): called at each CPU's EL2 init. */
void arch_vgic_cpu_reset(void);

/* el2_trap() for any exception while a guest runs on this CPU: back out of __guest_enter with kind. */
void arch_guest_trap(struct cpu_regs *frame, enum guest_exit_kind kind) __attribute__((noreturn));
/* el2_trap() first, for a synchronous one: true if answered on the frame and the guest may continue (guest.c). */
bool arch_guest_fast(struct percpu *pc, struct cpu_regs *frame);

#endif
