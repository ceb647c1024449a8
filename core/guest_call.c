/*
 * Calls from guests that the core answers itself (DESIGN §8): PSCI 1.1, the
 * SMCCC 1.1 architecture calls and the KVM vendor-hypervisor service a
 * protected Linux guest discovers (call UID, feature bitmap; its memory
 * calls are guest_mem.c's), moat's own attestation block (attest.c) and
 * the SMCCC TRNG (trng.c), over HVC. Answered without leaving guest
 * context; only SYSTEM_OFF / SYSTEM_RESET and CPU_SUSPEND (a wait) reach the
 * host, as exits, and a MEM_SHARE or attestation call on a page not yet
 * backed (a MEM_FAULT).
 * Every other function ID answers NOT_SUPPORTED (-1), logged once per VM.
 *
 * CPU_ON, CPU_OFF and AFFINITY_INFO act on the vCPUs' power states
 * (guest_psci.c); a successful CPU_ON or a CPU_OFF ends the caller's run.
 *
 * Lock: none taken here. Everything here acts on the calling vCPU, which only
 * the physical CPU that loaded it touches (vcpu->loaded, set under vm->lock);
 * the calls that reach other vCPUs or pages take the VM lock (guest_psci.c)
 * or pagedb_lock then the VM lock (guest_mem.c) themselves.
 */
#include "guest_call.h"

#include "attest.h"
#include "guest_exit.h"
#include "guest_refuse.h"
#include "idregs.h"
#include "psci.h"
#include "trng.h"
#include "vcpu.h"
#include "vgic.h"

#define PSCI_1_1 0x10001UL
#define SMCCC_1_1 0x10001UL
/* ARCH_FEATURES(WORKAROUND_3): "this PE is not affected" has its own value, 1 (SMCCC 1.4). */
#define SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED 1
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

static unsigned int id_field(unsigned int reg, unsigned int shift)
{
	return (unsigned int)(idreg_value(IDREG_CPU, reg) >> shift) & 0xf;
}

/*
 * ARCH_WORKAROUND_1/2/3 get a definite answer, read from the CPU's own ID
 * registers, never a claim of a mitigation the core does not perform (it
 * runs none of the firmware-side ones):
 *   1 (Spectre v2): NOT_REQUIRED when CSV2 >= 1 says the CPU is not affected;
 *     otherwise NOT_SUPPORTED -- the guest learns it is unprotected.
 *   2 (Spectre v4): NOT_SUPPORTED: no ID field says a CPU is unaffected; a
 *     guest whose ID registers show SSBS mitigates with PSTATE.SSBS itself,
 *     as it does under KVM on such a CPU.
 *   3 (Spectre-BHB): UNAFFECTED (1) when CSV2 >= 3 or ECBHB says the CPU is
 *     not affected; otherwise NOT_SUPPORTED.
 */
static long arch_features(u64 fid)
{
	unsigned int csv2 = id_field(ID_AA64PFR0, 56), ecbhb = id_field(ID_AA64MMFR1, 60);

	switch (fid) {
	case SMCCC_VERSION:
	case SMCCC_ARCH_FEATURES:
		return SMCCC_RET_SUCCESS;
	case SMCCC_ARCH_WORKAROUND_1:
		return csv2 >= 1 ? SMCCC_RET_NOT_REQUIRED : SMCCC_RET_NOT_SUPPORTED;
	case SMCCC_ARCH_WORKAROUND_3:
		return csv2 >= 3 || ecbhb >= 1 ? SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED : SMCCC_RET_NOT_SUPPORTED;
	case SMCCC_ARCH_WORKAROUND_2:
	default:
		return SMCCC_RET_NOT_SUPPORTED;
	}
}

/* Call UID and KVM_FEATURES answer in x0..x3 (SMCCC: 128-bit results). */
static void set_result4(u64 *x, u64 r0, u64 r1, u64 r2, u64 r3)
{
	x[0] = r0;
	x[1] = r1;
	x[2] = r2;
	x[3] = r3;
}

/*
 * The calls answered from the caller's x0..x3 alone (and the core's own
 * tables): no EL1 system register, no other vCPU, no page, no exit. They are
 * what the arm64 fast path (guest_exit_fast) may answer at the EL2 vector,
 * on the exception frame itself, and the slow path answers them here too, so
 * both give the same answer. Returns false, with x untouched, for the calls
 * guest_hvc handles with the full context.
 */
bool guest_hvc_from_regs(struct vcpu *vcpu, u64 *x)
{
	long ret = PSCI_RET_NOT_SUPPORTED;

	switch (x[0] >> 32 ? 0 : (u32)x[0]) {
	case PSCI_VERSION:
		ret = (long)PSCI_1_1;
		break;
	case PSCI_FEATURES:
		ret = psci_features(x[1]);
		break;
	case PSCI_MIGRATE_INFO_TYPE:
		ret = PSCI_MIGRATE_NO_TRUSTED_OS;
		break;
	case SMCCC_VERSION:
		ret = (long)SMCCC_1_1;
		break;
	case SMCCC_ARCH_FEATURES:
		ret = arch_features(x[1]);
		break;
	case KVM_CALL_UID:
		set_result4(x, KVM_UID_0, KVM_UID_1, KVM_UID_2, KVM_UID_3);
		return true;
	case KVM_FN_FEATURES:
		/* Bits 32..127 (x1..x3): no function numbered that high is implemented. */
		set_result4(x, KVM_FEATURES_BITMAP, 0, 0, 0);
		return true;
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
	case PSCI_CPU_OFF:
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
	case PSCI_SYSTEM_OFF:
	case PSCI_SYSTEM_RESET:
	case KVM_FN_HYP_MEMINFO:
	case KVM_FN_MEM_SHARE:
	case KVM_FN_MEM_UNSHARE:
	case KVM_FN_MMIO_GUARD:
	case KVM_FN_MEM_RELINQUISH:
	case MOAT_GFN_MEASUREMENT:
	case MOAT_GFN_REPORT:
	case MOAT_GFN_SEALING_KEY:
	case TRNG_VERSION:
	case TRNG_FEATURES:
	case TRNG_GET_UUID:
	case TRNG_RND32:
	case TRNG_RND64:
		return false; /* other vCPUs, pages, waits, exits or the DRBG's lock: guest_hvc */
	default:
		/* Tested here too, not only in guest_call_refused: a guest's null-call loop skips the call. */
		if (vcpu->refused_call != x[0] + 1) {
			guest_call_refused(vcpu, x[0], ret);
		}
		break;
	}
	x[0] = (u64)ret;
	return true;
}

u32 guest_hvc(struct vcpu *vcpu, const struct guest_exit *e)
{
	u64 *x = vcpu->ctx.regs.x;
	long ret = PSCI_RET_NOT_SUPPORTED;

	if (guest_hvc_from_regs(vcpu, x)) {
		return MOAT_EXIT_NONE;
	}
	switch ((u32)x[0]) { /* one of the IDs guest_hvc_from_regs leaves: bits 63..32 are 0 */
	case PSCI_CPU_SUSPEND_32:
	case PSCI_CPU_SUSPEND_64:
		/*
		 * Standby semantics for every state: the vCPU waits like WFI and resumes after the call -- and like a
		 * WFI, returns at once, with no exit, while an interrupt it could take is pending (vgic_wfx_wake).
		 */
		x[0] = PSCI_RET_SUCCESS;
		return vgic_wfx_wake(vcpu) ? MOAT_EXIT_NONE : exit_to_host(vcpu, MOAT_EXIT_WFI);
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
		return guest_psci_cpu_on(vcpu, (u32)x[0] == PSCI_CPU_ON_32);
	case PSCI_CPU_OFF:
		return guest_psci_cpu_off(vcpu);
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
		ret = guest_psci_affinity_info(vcpu, (u32)x[0] == PSCI_AFFINITY_INFO_32);
		break;
	case PSCI_SYSTEM_OFF:
		return exit_to_host(vcpu, MOAT_EXIT_SYSTEM_OFF);
	case PSCI_SYSTEM_RESET:
		return exit_to_host(vcpu, MOAT_EXIT_SYSTEM_RESET);
	case KVM_FN_HYP_MEMINFO:
	case KVM_FN_MEM_SHARE:
	case KVM_FN_MEM_UNSHARE:
	case KVM_FN_MMIO_GUARD:
	case KVM_FN_MEM_RELINQUISH:
		return guest_mem_call(vcpu, (u32)x[0]);
	case MOAT_GFN_MEASUREMENT:
	case MOAT_GFN_REPORT:
	case MOAT_GFN_SEALING_KEY:
		return attest_guest_call(vcpu, (u32)x[0]);
	case TRNG_VERSION:
	case TRNG_FEATURES:
	case TRNG_GET_UUID:
	case TRNG_RND32:
	case TRNG_RND64:
		trng_guest_call(vcpu);
		return MOAT_EXIT_NONE;
	default:
		guest_call_refused(vcpu, x[0], ret); /* not reached: the two lists above name the same IDs */
		break;
	}
	x[0] = (u64)ret;
	return MOAT_EXIT_NONE;
}
