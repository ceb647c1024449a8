/*
 * The host's timer while a guest runs (DESIGN §9): the arch layer keeps the
 * host's CNTV deadline on the EL2 physical timer (CNTHP) for the run, so that
 * the host gets its CPU back when its own tick is due even if the guest spins
 * with interrupts masked and never traps. CNTHP's interrupt is PPI 26, which
 * sits in the host-owned redistributor of the CPU: this module makes sure it
 * is deliverable there (enabled, Group 1, highest priority).
 *
 * Called by the arch layer (arch_vcpu_load) on the CPU that is about to enter
 * a guest, with interrupts masked at EL2. Owns: per CPU, the PA of that CPU's
 * redistributor frame, looked up once. No lock: each CPU reads and writes
 * only its own entry, and its own redistributor.
 */
#ifndef MOAT_HOST_TIMER_H
#define MOAT_HOST_TIMER_H

#include "types.h"

#define HOST_TIMER_PPI 26 /* CNTHP, the EL2 physical timer (Arm BSA / GICv3 PPI assignment) */

/*
 * Make PPI 26 deliverable in the redistributor of this CPU (cpu, with
 * MPIDR_EL1 mpidr): Group 1, priority 0x00, enabled. One 32-bit device read
 * when it already is (the common case: the host may disable it at any time,
 * as Linux does when it brings a CPU up, so it is checked on every arm); the
 * writes only when it is not. False when this CPU's redistributor is unknown
 * or a device access faulted: CNTHP then cannot end a guest run on this CPU
 * (logged, rate-limited); the caller carries on.
 */
bool host_timer_irq_ready(unsigned int cpu, u64 mpidr);

#endif
