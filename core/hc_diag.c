/*
 * Diagnostic host calls (docs/ABI.md): STATS counts pages by owner and state
 * and the core's objects; CHECK runs the invariant checker (invariants.c).
 * Both only read. Each unpacks its one argument once.
 *
 * Called only from the host-call table (host_call.c).
 * Lock: pagedb_lock for the whole count or check, so that the host sees one
 * consistent snapshot (VMs come and go only under it).
 */
#include "host_call.h"

#include "host_s2.h"
#include "invariants.h"
#include "moat/abi.h"
#include "pagedb.h"
#include "vm.h"

int hc_check(struct host_call_args *args)
{
	spin_lock(&pagedb_lock);
	args->res[0] = invariants_check();
	spin_unlock(&pagedb_lock);
	return MOAT_OK;
}

static void count_pages(u64 res[3], unsigned int which)
{
	for (unsigned int b = 0; b < pagedb_nr_banks(); b++) {
		struct fdt_range bank = pagedb_bank(b);

		for (u64 pa = bank.base; pa < bank.base + bank.size; pa += PAGE_SIZE) {
			const struct page_info *p = pagedb_lookup(pa);

			if (which == MOAT_STATS_OWNERS) {
				if (p->owner == OWNER_HOST) {
					res[0]++;
				} else if (p->owner == OWNER_CORE) {
					res[1]++;
				} else if (OWNER_IS_VM(p->owner)) {
					res[2]++;
				}
			} else if (p->state == PAGE_PENDING_SCRUB) {
				res[0]++;
			} else if (p->state == PAGE_SHARED_OWNED) {
				/* x3: shared between the host and a VM, either way (SHARE_VM, a guest's MEM_SHARE). */
				res[p->peer == OWNER_CORE ? 1 : 2]++;
			}
		}
	}
}

static void count_objects(u64 res[3])
{
	for (unsigned int slot = 0; slot < MAX_VMS; slot++) {
		const struct vm *vm = vm_slot(slot);

		if (!vm) {
			continue;
		}
		res[0]++;
		for (unsigned int i = 0; i < MAX_VCPUS; i++) {
			res[1] += vm->vcpus[i] != NULL;
		}
	}
	res[2] = host_s2_pool_free();
}

int hc_stats(struct host_call_args *args)
{
	u64 which = args->a[0]; /* MOAT_STATS_* */

	if (which > MOAT_STATS_OBJECTS) {
		return MOAT_E_RANGE;
	}
	spin_lock(&pagedb_lock);
	if (which == MOAT_STATS_OBJECTS) {
		count_objects(args->res);
	} else {
		count_pages(args->res, (unsigned int)which);
	}
	spin_unlock(&pagedb_lock);
	return MOAT_OK;
}
