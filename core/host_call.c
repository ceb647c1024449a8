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

static int call_version(struct host_call_args *args)
{
	args->res[0] = ((u64)MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR;
	return MOAT_OK;
}

static const struct host_call_desc calls[] = {
	[0] = { "VERSION", 0, 1, call_version },
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
