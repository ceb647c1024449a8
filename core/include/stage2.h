/*
 * A stage-2 view: one translation table with the VMID that tags its TLB
 * entries and the VTTBR_EL2 value that names both (DESIGN §5).
 *
 * A VM has one view today; virtual trust levels (DESIGN §10) give a VM one
 * per level, each with its own VMID, because TLB entries are tagged by VMID
 * and not by table base. Everything that edits a VM's stage 2 or drops what
 * the TLBs cached of it acts on a view: mem.c maps into view->pgt under the
 * view's VTTBR (arch_s2_switch_to), and arch_s2_flush_vmid() drops every
 * entry the view's VMID may have cached.
 *
 * Owned by the VM that embeds it; guarded by that VM's lock (and
 * pagedb_lock, which every stage-2 edit also holds).
 */
#ifndef MOAT_STAGE2_H
#define MOAT_STAGE2_H

#include "pgtable.h"
#include "types.h"

/* VTTBR_EL2.VMID sits at bits [63:48] (16-bit VMIDs; 8-bit ones use [55:48]). */
#define VTTBR_VMID_SHIFT 48

struct stage2 {
	struct pgtable pgt; /* root: two concatenated level-1 pages (40-bit IPA) */
	u64 vttbr;	    /* root PA | vmid << VTTBR_VMID_SHIFT */
	u16 vmid;	    /* never 0: VMID 0 is the host's */
};

/*
 * Set up a live view over a root the caller has checked (aligned, two
 * pages): records the root (it is zeroed before anything is mapped), the
 * VMID and the VTTBR. Live: every later edit happens under the view's VTTBR,
 * so replacing a valid entry gets break-before-make with TLBIs on its VMID.
 */
void stage2_init(struct stage2 *view, u64 root_pa, unsigned int ipa_bits, u16 vmid,
		 const struct pgt_allocator *alloc);

#endif
