/*
 * Host-call table: one entry per function of the host ABI
 * (include/moat/abi.h), indexed by its MOAT_FN_* name. host_call() validates
 * the conduit and the reserved arguments, then calls the handler with the
 * raw registers; each handler is a thin wrapper that unpacks x1..x6 into
 * named, typed values once (a VM handle, a PA, an IPA, an index) and passes
 * only those further down. Handlers live in one file per topic and are
 * listed in host_call.c, the one place that knows every call.
 *
 * Imports flow one way (vm.h): host_call.c -> hc_*.c -> vcpu.c -> mem.c -> vm.c.
 */
#ifndef MOAT_HOST_CALL_H
#define MOAT_HOST_CALL_H

#include "types.h"

#define HOST_CALL_MAX_ARGS 6
#define HOST_CALL_MAX_RESULTS 3

struct host_call_args {
	u64 a[HOST_CALL_MAX_ARGS];	  /* x1..x6 */
	u64 res[HOST_CALL_MAX_RESULTS];	  /* x1..x3 on return */
};

struct host_call_desc {
	const char *name;
	unsigned int nargs;   /* arguments used; x(nargs+1)..x6 must be zero */
	unsigned int nresults; /* results written; the other result registers read 0 */
	int (*handler)(struct host_call_args *args);
};

/* Handlers, one per call, by topic. */

/* A VM as a whole (hc_vm.c) */
int hc_vm_create(struct host_call_args *args);
int hc_vm_destroy(struct host_call_args *args);
int hc_set_boot(struct host_call_args *args);
int hc_finalize(struct host_call_args *args);
int hc_measurement(struct host_call_args *args);

/* vCPUs (hc_vcpu.c) */
int hc_vcpu_create(struct host_call_args *args);
int hc_vcpu_run(struct host_call_args *args);
int hc_vcpu_get_reg(struct host_call_args *args);
int hc_vcpu_set_reg(struct host_call_args *args);

/* Memory (hc_mem.c) */
int hc_donate_core(struct host_call_args *args);
int hc_share_core(struct host_call_args *args);
int hc_unshare_core(struct host_call_args *args);
int hc_donate_vm(struct host_call_args *args);
int hc_load(struct host_call_args *args);
int hc_share_vm(struct host_call_args *args);
int hc_reclaim(struct host_call_args *args);
int hc_guest_shared(struct host_call_args *args);

/* Interrupt lines (hc_irq.c) */
int hc_vm_set_spis(struct host_call_args *args);
int hc_irq_line(struct host_call_args *args);

/* Diagnostics (hc_diag.c) */
int hc_stats(struct host_call_args *args);
int hc_check(struct host_call_args *args);

/* Run one host call by raw register values (the fuzzer drives this directly). */
long host_call_raw(u64 fid, struct host_call_args *args);

#endif
