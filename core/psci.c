/*
 * Firmware calls from the host. HCR_EL2.TSC traps every host SMC to the core
 * (DESIGN §12): an untrapped CPU_ON would start a CPU at EL2 at an address
 * of the host's choosing, and SYSTEM_OFF/RESET would bypass the core. So the
 * core forwards only the PSCI calls it has vetted and answers everything
 * else with NOT_SUPPORTED (SMCCC 1.0 behaviour: TRNG, SOC_ID, FF-A and other
 * probes are refused, never passed to firmware).
 *
 * Owns no state yet; CPU_ON becomes a real start-up path with SMP support.
 */
#include "arch.h"
#include "host.h"
#include "log.h"
#include "mem.h"
#include "pagedb.h"
#include "psci.h"

static struct log_limiter cpu_on_log;

static void forward(struct cpu_regs *regs)
{
	u64 in[8], out[4];

	for (unsigned int i = 0; i < 8; i++) {
		in[i] = regs->x[i];
	}
	arch_firmware_smc(in, out);
	for (unsigned int i = 0; i < 4; i++) {
		regs->x[i] = out[i];
	}
}

static void set_result(struct cpu_regs *regs, long value)
{
	regs->x[0] = (u64)value;
}

void host_smc(struct cpu_regs *regs)
{
	/* SMCCC: the function ID is W0; nonzero upper bits make it unknown. */
	u32 fid = (u32)regs->x[0];

	regs->elr += 4; /* a trapped SMC leaves ELR_EL2 at the SMC itself */
	if (regs->x[0] >> 32) {
		set_result(regs, PSCI_RET_NOT_SUPPORTED);
		return;
	}
	switch (fid) {
	case PSCI_VERSION:
	case PSCI_FEATURES:
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
	case PSCI_MIGRATE_INFO_TYPE:
	case PSCI_CPU_OFF:
		forward(regs);
		break;
	case PSCI_SYSTEM_OFF:
		log_info("host requested SYSTEM_OFF");
		forward(regs);
		break;
	case PSCI_SYSTEM_RESET:
		/* RAM survives a reset and the next boot gives it all to the host: scrub first (§4). */
		log_info("host requested SYSTEM_RESET: scrubbing every page the host does not own");
		spin_lock(&pagedb_lock);
		mem_scrub_for_reset();
		forward(regs);
		spin_unlock(&pagedb_lock);
		break;
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
		/* Standby semantics for every state: a powerdown would resume at EL2. */
		arch_wfi();
		set_result(regs, PSCI_RET_SUCCESS);
		break;
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
		log_ratelimited(&cpu_on_log, LOG_INFO,
				"host CPU_ON for MPIDR 0x%lx refused: secondary CPUs stay parked until SMP support",
				regs->x[1]);
		set_result(regs, PSCI_RET_DENIED);
		break;
	default:
		set_result(regs, PSCI_RET_NOT_SUPPORTED);
		break;
	}
}
