/*
 * Virtual machines: the VM table, handles with generations, lifecycle,
 * configuration and measurement (DESIGN §6, §11).
 *
 * Owns: the fixed table of MAX_VMS slots (bounded core memory, no growth with
 * the number of VMs: per-VM pages come from the VM's memcache).
 * Lock: vm->lock guards one VM's state and stage 2; pagedb_lock is taken
 * first when both are needed. No lock is held across a world switch.
 */
#ifndef MOAT_VM_H
#define MOAT_VM_H

#include "log.h"
#include "pagedb.h"
#include "pgtable.h"
#include "sha256.h"
#include "spinlock.h"
#include "stage2.h"
#include "types.h"

#define MAX_VMS 32
#define MAX_VCPUS 8
#define MAX_CPUS 8
#define VM_IPA_BITS 40

enum vm_state {
	VM_FREE = 0,  /* slot unused */
	VM_CREATED,   /* being configured: vCPUs, memory, LOAD, SET_BOOT */
	VM_FINALIZED, /* configuration and image fixed; vCPUs may run */
	VM_OFF,	      /* the guest powered off or asked for a reset: no more runs */
};

/* Pages the host donated for the core's use on behalf of one VM. */
struct memcache {
	u64 head;  /* PA of the first free page; pages link through their first word */
	u32 count; /* free pages */
};

/*
 * Kinds of guest access the core refused, already logged for this VM
 * (guest_refuse.c; under vm->lock): a key per kind, so that each is logged
 * once per VM.
 */
#define VM_REFUSALS_LOGGED 16
struct refusal_record {
	u64 key[VM_REFUSALS_LOGGED];
	u32 nr;
	bool full; /* a further kind came after the record filled: said once, then silent */
	struct log_limiter limiter; /* per VM, so that one VM's lines never silence another's */
};

struct vcpu;

struct vm {
	struct spinlock lock;
	enum vm_state state;
	u16 slot;
	u16 generation;
	u8 type; /* MOAT_VM_NORMAL or MOAT_VM_PROTECTED */
	u32 max_vcpus;
	struct vcpu *vcpus[MAX_VCPUS];
	struct stage2 s2; /* the VM's stage-2 view (one per trust level once VTLs land) */
	u64 ram_size;
	u64 mmio_base, mmio_size;
	u64 boot_pc, boot_x0;
	bool boot_set;
	struct memcache memcache;
	/* Every page serving this VM (pagedb_page_vm): mem.c keeps it, under pagedb_lock. */
	struct page_list pages;
	struct sha256_ctx measure;
	u8 measurement[SHA256_DIGEST_SIZE];
	int last_vcpu[MAX_CPUS]; /* vCPU index last run on each physical CPU, -1 if none */
	struct refusal_record refusals;
};

/* Empty the VM table (boot has it zeroed already; host-native tests and the fuzzer reuse it). */
void vm_table_init(void);

/* Look a handle up; on failure *err is MOAT_E_NOENT or MOAT_E_STALE. */
struct vm *vm_from_handle(u64 handle, int *err);
u64 vm_handle(const struct vm *vm);
bool vm_is_protected(const struct vm *vm);
bool vm_ipa_in_ram(const struct vm *vm, u64 ipa);
bool vm_ipa_in_mmio(const struct vm *vm, u64 ipa);

/* Iterate live VMs (for the invariant checker and statistics). */
struct vm *vm_slot(unsigned int slot);

/* Memcache: a zeroed core page for this VM, or NULL when empty. */
void *memcache_alloc(struct vm *vm);
void memcache_free(struct vm *vm, void *page);

#endif
