/*
 * Host-call dispatch (DESIGN §7): SMCCC fast calls in the vendor-hypervisor
 * range, HVC #0 only. One table maps function number to handler; unknown
 * numbers, other owners and non-zero HVC immediates get SMCCC NOT_SUPPORTED
 * (-1). Arguments beyond a call's count must be zero so that they can gain a
 * meaning later without silently changing old callers' behaviour.
 *
 * Register discipline: only x0..x3 change; x4..x30 return to the host as it
 * left them, because the vectors restore the whole frame.
 *
 * Called from the host's trap handler (HVC from EL1) and by the fuzzer.
 * Lock: none here; the table is constant and each handler takes its own.
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

/* Table slot of a function ID: its function number n (ID 0xC6000100 + n). */
#define CALL(fid) [(fid) - MOAT_FN(0)]

/* See include/moat/abi.h and docs/ABI.md: { name, arguments, results, handler }. */
static const struct host_call_desc calls[MOAT_FN_COUNT] = {
	CALL(MOAT_FN_VERSION) = { "VERSION", 0, 1, hc_version },
	CALL(MOAT_FN_CAPS) = { "CAPS", 0, 3, hc_caps },
	CALL(MOAT_FN_VM_CREATE) = { "VM_CREATE", 6, 1, hc_vm_create },
	CALL(MOAT_FN_VM_DESTROY) = { "VM_DESTROY", 1, 0, hc_vm_destroy },
	CALL(MOAT_FN_VCPU_CREATE) = { "VCPU_CREATE", 3, 0, hc_vcpu_create },
	CALL(MOAT_FN_DONATE_CORE) = { "DONATE_CORE", 3, 0, hc_donate_core },
	CALL(MOAT_FN_SHARE_CORE) = { "SHARE_CORE", 1, 0, hc_share_core },
	CALL(MOAT_FN_UNSHARE_CORE) = { "UNSHARE_CORE", 1, 0, hc_unshare_core },
	CALL(MOAT_FN_DONATE_VM) = { "DONATE_VM", 3, 0, hc_donate_vm },
	CALL(MOAT_FN_LOAD) = { "LOAD", 3, 0, hc_load },
	CALL(MOAT_FN_SHARE_VM) = { "SHARE_VM", 3, 0, hc_share_vm },
	CALL(MOAT_FN_SET_BOOT) = { "SET_BOOT", 3, 0, hc_set_boot },
	CALL(MOAT_FN_FINALIZE) = { "FINALIZE", 2, 3, hc_finalize },
	CALL(MOAT_FN_VCPU_RUN) = { "VCPU_RUN", 2, 1, hc_vcpu_run },
	CALL(MOAT_FN_VCPU_GET_REG) = { "VCPU_GET_REG", 3, 1, hc_vcpu_get_reg },
	CALL(MOAT_FN_VCPU_SET_REG) = { "VCPU_SET_REG", 4, 0, hc_vcpu_set_reg },
	CALL(MOAT_FN_RECLAIM) = { "RECLAIM", 1, 0, hc_reclaim },
	CALL(MOAT_FN_STATS) = { "STATS", 1, 3, hc_stats },
	CALL(MOAT_FN_CHECK) = { "CHECK", 0, 1, hc_check },
	CALL(MOAT_FN_MEASUREMENT) = { "MEASUREMENT", 2, 1, hc_measurement },
	CALL(MOAT_FN_VM_SET_SPIS) = { "VM_SET_SPIS", 2, 0, hc_vm_set_spis },
	CALL(MOAT_FN_IRQ_LINE) = { "IRQ_LINE", 3, 1, hc_irq_line },
	CALL(MOAT_FN_GUEST_SHARED) = { "GUEST_SHARED", 2, 1, hc_guest_shared },
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
