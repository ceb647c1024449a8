/*
 * Guest hypercalls: HVC #0 to the core (SMCCC fast calls) and the PSCI
 * wrappers built on it. The core answers PSCI itself; standalone under QEMU
 * (no EL2) QEMU's own PSCI answers HVC, so the same image runs both ways.
 *
 * The constants are usable from assembly (start.S powers off with them).
 */
#ifndef GUEST_HVC_H
#define GUEST_HVC_H

/* PSCI 1.1 / SMCCC function IDs (Arm DEN 0022, DEN 0028). */
#define PSCI_VERSION 0x84000000
#define PSCI_CPU_SUSPEND 0xc4000001
#define PSCI_SYSTEM_OFF 0x84000008
#define PSCI_SYSTEM_RESET 0x84000009
#define SMCCC_VERSION 0x80000000

#ifndef __ASSEMBLY__

#include <stdint.h>

#include <moat/hvc.h>

/*
 * One SMCCC call: x0 = fid, x1..x3 = arguments; returns x0 (status) and
 * x1..x3. SMCCC >= 1.1 (which the core implements) preserves x4..x17, so the
 * shared moat_hvc() needs no extra clobbers.
 */
static inline struct moat_result hvc_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return moat_hvc(fid, a1, a2, a3);
}

/* PSCI_VERSION: major << 16 | minor. */
static inline uint32_t psci_version(void)
{
	return (uint32_t)hvc_call(PSCI_VERSION, 0, 0, 0).status;
}

/* SMCCC_VERSION: major << 16 | minor, or 0xffffffff (NOT_SUPPORTED) for SMCCC 1.0. */
static inline uint32_t smccc_version(void)
{
	return (uint32_t)hvc_call(SMCCC_VERSION, 0, 0, 0).status;
}

/* CPU_SUSPEND: the core treats every request as standby, so it returns here. */
static inline long psci_cpu_suspend(uint32_t power_state, uint64_t entry, uint64_t context)
{
	return hvc_call(PSCI_CPU_SUSPEND, power_state, entry, context).status;
}

/* Neither call returns on success; if one does, park the vCPU rather than run on. */
static inline __attribute__((noreturn)) void psci_system_off(void)
{
	hvc_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;) {
		__asm__ volatile("wfi");
	}
}

static inline __attribute__((noreturn)) void psci_system_reset(void)
{
	hvc_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	for (;;) {
		__asm__ volatile("wfi");
	}
}

#endif /* __ASSEMBLY__ */
#endif
