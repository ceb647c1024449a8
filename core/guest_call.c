/*
 * Calls from guests that the core answers itself (DESIGN §8): PSCI 1.1 and
 * the SMCCC 1.1 architecture calls, over HVC. Answered without leaving guest
 * context; only SYSTEM_OFF / SYSTEM_RESET and CPU_SUSPEND (a wait) reach the
 * host, as exits.
 *
 * vCPUs beyond the first (CPU_ON) arrive with SMP guests; until then CPU_ON
 * is refused with DENIED and AFFINITY_INFO reports only the caller on.
 *
 * Lock: none taken. Everything here acts on the calling vCPU, which only the
 * physical CPU that loaded it touches (vcpu->loaded, set under vm->lock).
 */
#include "guest_exit.h"
#include "guest_refuse.h"
#include "psci.h"
#include "vcpu.h"

#define PSCI_1_1 0x10001UL
#define SMCCC_1_1 0x10001UL
#define SMCCC_ARCH_FEATURES 0x80000001U
#define PSCI_AFFINITY_ON 0
#define PSCI_AFFINITY_OFF 1
#define PSCI_MIGRATE_NO_TRUSTED_OS 2

static bool is_psci_function(u32 fid)
{
	switch (fid) {
	case PSCI_VERSION:
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
	case PSCI_CPU_OFF:
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
	case PSCI_MIGRATE_INFO_TYPE:
	case PSCI_SYSTEM_OFF:
	case PSCI_SYSTEM_RESET:
	case PSCI_FEATURES:
		return true;
	default:
		return false;
	}
}

static long psci_features(u64 fid)
{
	if (fid >> 32) {
		return PSCI_RET_NOT_SUPPORTED;
	}
	if (is_psci_function((u32)fid) || fid == SMCCC_VERSION) {
		return PSCI_RET_SUCCESS;
	}
	return PSCI_RET_NOT_SUPPORTED;
}

/*
 * ARCH_WORKAROUND_1/2/3 get a definite answer rather than a failure: the core
 * does not implement the firmware-side mitigations, so it says so
 * (NOT_SUPPORTED) instead of claiming a mitigation it does not perform.
 */
static long arch_features(u64 fid)
{
	return fid == SMCCC_VERSION || fid == SMCCC_ARCH_FEATURES ? PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED;
}

static u64 own_mpidr(const struct vcpu *vcpu)
{
	return vcpu->index;
}

u32 guest_hvc(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 *x = vcpu->ctx.regs.x;
	long ret = PSCI_RET_NOT_SUPPORTED;

	switch (x[0] >> 32 ? 0 : (u32)x[0]) {
	case PSCI_VERSION:
		ret = (long)PSCI_1_1;
		break;
	case PSCI_FEATURES:
		ret = psci_features(x[1]);
		break;
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
		/* Standby semantics for every state: the vCPU waits like WFI and resumes after the call. */
		x[0] = PSCI_RET_SUCCESS;
		return exit_to_host(vcpu, MOAT_EXIT_WFI);
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
	case PSCI_CPU_OFF:
		ret = PSCI_RET_DENIED;
		guest_call_refused(vcpu, x[0], ret);
		break;
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
		ret = (x[1] & 0xffffffUL) == own_mpidr(vcpu) ? PSCI_AFFINITY_ON : PSCI_AFFINITY_OFF;
		break;
	case PSCI_MIGRATE_INFO_TYPE:
		ret = PSCI_MIGRATE_NO_TRUSTED_OS;
		break;
	case PSCI_SYSTEM_OFF:
		return exit_to_host(vcpu, MOAT_EXIT_SYSTEM_OFF);
	case PSCI_SYSTEM_RESET:
		return exit_to_host(vcpu, MOAT_EXIT_SYSTEM_RESET);
	case SMCCC_VERSION:
		ret = (long)SMCCC_1_1;
		break;
	case SMCCC_ARCH_FEATURES:
		ret = arch_features(x[1]);
		break;
	default:
		guest_call_refused(vcpu, x[0], ret);
		break;
	}
	x[0] = (u64)ret;
	return MOAT_EXIT_NONE;
}
