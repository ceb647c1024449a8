/*
 * Firmware calls from the host. HCR_EL2.TSC traps every host SMC to the core
 * (DESIGN §12): an untrapped CPU_ON would start a CPU at EL2 at an address
 * of the host's choosing, and SYSTEM_OFF/RESET would bypass the core. So the
 * core forwards only the PSCI calls it has vetted and answers everything
 * else with NOT_SUPPORTED (SMCCC 1.0 behaviour: TRNG, SOC_ID, FF-A and other
 * probes are refused, never passed to firmware). SYSTEM_RESET and
 * SYSTEM_RESET2 go through the reset scrub first (reset() below).
 *
 * CPU_ON and CPU_OFF keep the core's per-CPU power state (cpu_power.c, which
 * owns it); AFFINITY_INFO is forwarded (the firmware knows when a CPU is
 * really off). Lock: the reset path first stops the other CPUs (cpu_power.c's
 * stop protocol, no lock), then holds pagedb_lock from the scrub through the
 * firmware call; the other calls need none here.
 */
#include "arch.h"
#include "cpu_power.h"
#include "host.h"
#include "log.h"
#include "mem.h"
#include "pagedb.h"
#include "psci.h"

static struct log_limiter reset2_log;

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

/*
 * RAM survives a reset (QEMU keeps it, so does a warm reset on hardware) and
 * the next boot gives it all to the host: scrub first (DESIGN §4). The lock
 * is held across the firmware call so that no page changes hands between
 * the scrub and the reset. PSCI says a reset does not return; if firmware
 * returns anyway the host gets its answer, and VMs find their memory zeroed.
 */
static void reset(struct cpu_regs *regs)
{
	u64 scrubbed;

	/* No guest may run on another CPU during or after the scrub (cpu_power.c says how and why). */
	if (!cpu_power_stop_others()) {
		set_result(regs, PSCI_RET_DENIED);
		return;
	}
	spin_lock(&pagedb_lock);
	scrubbed = mem_scrub_for_reset();
	/* Once per reset, and tests assert it: the count is how the reset attack test knows the scrub ran. */
	log_info("reset: scrubbed %lu pages not owned by the host", scrubbed);
	forward(regs);
	spin_unlock(&pagedb_lock);
	cpu_power_resume_others();
}

/*
 * SYSTEM_RESET2 (PSCI 1.1): forwarded only when it will not come back after
 * the scrub, because a scrub cannot be undone. So refuse, before scrubbing:
 * a firmware without it (QEMU 7.2's PSCI: its PSCI_FEATURES says
 * NOT_SUPPORTED), vendor reset types (bit 31: their effect, and whether they
 * return, is the firmware's business; PSCI lets us support none of them) and
 * the reserved architectural types (INVALID_PARAMETERS, as PSCI prescribes).
 * What remains is type 0, SYSTEM_WARM_RESET, which a firmware that has
 * SYSTEM_RESET2 must implement.
 */
static void system_reset2(struct cpu_regs *regs)
{
	u64 in[8] = { PSCI_FEATURES, regs->x[0] }, out[4];
	u32 type = (u32)regs->x[1];

	arch_firmware_smc(in, out);
	if ((s64)out[0] < 0) {
		log_ratelimited(&reset2_log, LOG_INFO,
				"host SYSTEM_RESET2 refused: the firmware does not implement it");
		set_result(regs, PSCI_RET_NOT_SUPPORTED);
		return;
	}
	if (type & PSCI_RESET2_VENDOR) {
		log_ratelimited(&reset2_log, LOG_INFO,
				"host SYSTEM_RESET2 type 0x%x refused: vendor reset types are not forwarded", type);
		set_result(regs, PSCI_RET_NOT_SUPPORTED);
		return;
	}
	if (type != PSCI_RESET2_WARM) {
		log_ratelimited(&reset2_log, LOG_INFO, "host SYSTEM_RESET2 type 0x%x refused: reserved reset type",
				type);
		set_result(regs, PSCI_RET_INVALID_PARAMS);
		return;
	}
	log_info("host requested SYSTEM_RESET2 (warm reset)");
	reset(regs);
}

void host_smc(struct cpu_regs *regs)
{
	/* SMCCC: the function ID is W0; nonzero upper bits make it unknown. */
	u32 fid = (u32)regs->x[0];

	regs_skip_insn(regs); /* a trapped SMC leaves ELR_EL2 at the SMC itself */
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
		forward(regs);
		break;
	case PSCI_CPU_OFF:
		/* Off for the core first: a CPU_ON racing this one is then forwarded, and the firmware decides. */
		cpu_power_off_begin();
		forward(regs);
		cpu_power_off_failed(); /* only reached if the firmware refused */
		break;
	case PSCI_SYSTEM_OFF:
		log_info("host requested SYSTEM_OFF");
		forward(regs);
		break;
	case PSCI_SYSTEM_RESET:
		log_info("host requested SYSTEM_RESET");
		reset(regs);
		break;
	case PSCI_SYSTEM_RESET2_32:
	case PSCI_SYSTEM_RESET2_64:
		system_reset2(regs);
		break;
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
		/* Standby semantics for every state: a powerdown would resume at EL2. */
		arch_wfi();
		set_result(regs, PSCI_RET_SUCCESS);
		break;
	case PSCI_CPU_ON_32:
		/* SMC32: the upper halves of the arguments are not part of the call. */
		set_result(regs, cpu_power_host_cpu_on((u32)regs->x[1], (u32)regs->x[2], (u32)regs->x[3]));
		break;
	case PSCI_CPU_ON_64:
		set_result(regs, cpu_power_host_cpu_on(regs->x[1], regs->x[2], regs->x[3]));
		break;
	default:
		set_result(regs, PSCI_RET_NOT_SUPPORTED);
		break;
	}
}
