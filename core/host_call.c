/*
 * Host-call dispatch (DESIGN §7): SMCCC fast calls in the vendor-hypervisor
 * range, HVC #0 only. One table maps function number to handler; unknown
 * numbers, other owners and non-zero HVC immediates get SMCCC NOT_SUPPORTED
 * (-1). Arguments beyond a call's count must be zero so that they can gain a
 * meaning later without silently changing old callers' behaviour.
 *
 * Register discipline: only x0..x3 change; x4..x30 return to the host as it
 * left them, because the vectors restore the whole frame.
 */
#include "host_call.h"

#include "host.h"
#include "moat/abi.h"

#include "vm.h"

static int hc_version(struct host_call_args *args)
{
	args->res[0] = ((u64)MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR;
	return MOAT_OK;
}

static int hc_caps(struct host_call_args *args)
{
	args->res[0] = (1UL << MOAT_VM_NORMAL) | (1UL << MOAT_VM_PROTECTED);
	args->res[1] = 0;
	args->res[2] = MAX_VMS | ((u64)MAX_VCPUS << 16);
	return MOAT_OK;
}

/* Indexed by function number n (ID 0xC6000100 + n); see include/moat/abi.h and docs/ABI.md. */
static const struct host_call_desc calls[MOAT_FN_COUNT] = {
	[0] = { "VERSION", 0, 1, hc_version },
	[1] = { "CAPS", 0, 3, hc_caps },
	[2] = { "VM_CREATE", 6, 1, hc_vm_create },
	[3] = { "VM_DESTROY", 1, 0, hc_vm_destroy },
	[4] = { "VCPU_CREATE", 3, 0, hc_vcpu_create },
	[5] = { "DONATE_CORE", 3, 0, hc_donate_core },
	[6] = { "SHARE_CORE", 1, 0, hc_share_core },
	[7] = { "UNSHARE_CORE", 1, 0, hc_unshare_core },
	[8] = { "DONATE_VM", 3, 0, hc_donate_vm },
	[9] = { "LOAD", 3, 0, hc_load },
	[10] = { "SHARE_VM", 3, 0, hc_share_vm },
	[11] = { "SET_BOOT", 3, 0, hc_set_boot },
	[12] = { "FINALIZE", 1, 3, hc_finalize },
	[13] = { "VCPU_RUN", 2, 1, hc_vcpu_run },
	[14] = { "VCPU_GET_REG", 3, 1, hc_vcpu_get_reg },
	[15] = { "VCPU_SET_REG", 4, 0, hc_vcpu_set_reg },
	[16] = { "RECLAIM", 1, 0, hc_reclaim },
	[17] = { "STATS", 1, 3, hc_stats },
	[18] = { "CHECK", 0, 1, hc_check },
	[19] = { "MEASUREMENT", 2, 1, hc_measurement },
};

long host_call_raw(u64 fid, struct host_call_args *args)
{
	const struct host_call_desc *call;
	u64 n = fid - MOAT_FN(0);
	int ret;

	args->res[0] = args->res[1] = args->res[2] = 0;
	if (fid < MOAT_FN(0) || n >= sizeof(calls) / sizeof(calls[0]) || !calls[n].handler) {
		return MOAT_E_NOT_SUPPORTED;
	}
	call = &calls[n];
	for (unsigned int i = call->nargs; i < HOST_CALL_MAX_ARGS; i++) {
		if (args->a[i]) {
			return MOAT_E_INVAL;
		}
	}
	ret = call->handler(args);
	if (ret) {
		args->res[0] = args->res[1] = args->res[2] = 0;
	}
	return ret;
}

void host_call(struct cpu_regs *regs, u16 imm16)
{
	struct host_call_args args;
	long ret = MOAT_E_NOT_SUPPORTED;

	if (imm16 == 0) {
		for (unsigned int i = 0; i < HOST_CALL_MAX_ARGS; i++) {
			args.a[i] = regs->x[1 + i];
		}
		ret = host_call_raw(regs->x[0], &args);
	} else {
		args.res[0] = args.res[1] = args.res[2] = 0;
	}
	regs->x[0] = (u64)ret;
	for (unsigned int i = 0; i < HOST_CALL_MAX_RESULTS; i++) {
		regs->x[1 + i] = args.res[i];
	}
}
