/*
 * Physical CPUs as the core sees them (core/cpu_power.c): which of the DTB's
 * CPUs are off, starting or on, the host's PSCI CPU_ON / CPU_OFF on top of
 * that, and the stop protocol that keeps guests off every other CPU while a
 * host SYSTEM_RESET scrubs memory.
 *
 * A CPU's index is its position in the DTB's /cpus (platform_info.cpu_mpidr);
 * the boot CPU must be index 0 (cpu_power_init refuses secondaries if not).
 */
#ifndef MOAT_CPU_POWER_H
#define MOAT_CPU_POWER_H

#include "fdt.h"
#include "types.h"

/* PSCI return codes beyond psci.h's, used by CPU_ON (DEN0022 5.2.2). */
#define PSCI_RET_ALREADY_ON (-4)
#define PSCI_RET_ON_PENDING (-5)
#define PSCI_RET_INVALID_ADDRESS (-9)

enum cpu_power_state { CPU_OFF, CPU_ON_PENDING, CPU_ON };

/* Boot CPU, before the host runs: learn the CPUs from the DTB; the boot CPU is ON. */
void cpu_power_init(const struct platform_info *plat);

/*
 * Host PSCI CPU_ON, vetted: a PSCI return code. On SUCCESS the firmware was
 * asked to start the target at the core's secondary entry with the target's
 * index as context; the host's entry and context wait in the core.
 */
long cpu_power_host_cpu_on(u64 mpidr, u64 entry, u64 context);

/*
 * On the new CPU, from the arch secondary start-up: ON_PENDING -> ON and the
 * host's entry point and context id. False (nothing to enter) if the CPU was
 * not being started: the caller parks it.
 */
bool cpu_power_secondary_started(unsigned int cpu, u64 *entry, u64 *context);

/* Host CPU_OFF on this CPU: mark it OFF before the firmware call; if that returns, mark it ON again. */
void cpu_power_off_begin(void);
void cpu_power_off_failed(void);

/* For tests and logs. */
enum cpu_power_state cpu_power_state_of(unsigned int cpu);

/*
 * Stop protocol (see cpu_power.c): guest_enter/guest_exit bracket every
 * arch_guest_run(); host_trap runs on every entry to EL2 from the host.
 * Either parks this CPU while another one is stopping the system.
 */
void cpu_power_guest_enter(void);
void cpu_power_guest_exit(void);
void cpu_power_host_trap(void);

/*
 * Called with no lock held by the CPU about to scrub and reset: true once no
 * other CPU runs a guest or can enter one; false (the stop is undone, the
 * reset must be refused) if some CPU did not leave its guest in time.
 */
bool cpu_power_stop_others(void);
/* The reset did not happen after all (the firmware returned): let the other CPUs go on. */
void cpu_power_resume_others(void);

#endif
