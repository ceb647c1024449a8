/*
 * Virtual machines: the VM table, handles with generations, lifecycle,
 * configuration and measurement (DESIGN §6, §11). The host calls that drive
 * them live in hc_vm.c, hc_vcpu.c and hc_mem.c.
 *
 * Owns: the fixed table of MAX_VMS slots (bounded core memory, no growth with
 * the number of VMs: per-VM pages come from the VM's memcache).
 * Lock: vm->lock guards one VM's state and stage 2; pagedb_lock is taken
 * first when both are needed. No lock is held across a world switch.
 *
 * Imports flow one way, from the ABI edge down, never back up:
 *   host_call.c -> hc_*.c -> vcpu.c -> mem.c -> vm.c -> memcache.c, pgtable.c, pagedb.c
 * (vm.c knows neither vCPUs nor ownership transitions: the handlers in
 * hc_*.c combine them.)
 */
#ifndef MOAT_VM_H
#define MOAT_VM_H

#include "config.h"
#include "log.h"
#include "memcache.h"
#include "pagedb.h"
#include "pgtable.h"
#include "sha256.h"
#include "spinlock.h"
#include "stage2.h"
#include "types.h"
#include "vgic.h"

#define MAX_VMS 32
#define MAX_VCPUS 8
#define VM_IPA_BITS 40

enum vm_state {
	VM_FREE = 0,  /* slot unused */
	VM_CREATED,   /* being configured: vCPUs, memory, LOAD, SET_BOOT */
	VM_FINALIZED, /* configuration and image fixed; vCPUs may run */
	VM_OFF,	      /* the guest powered off or asked for a reset: no more runs */
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

/*
 * The MMIO pages a protected guest guarded (MMIO_GUARD, guest_mem.c; under
 * vm->lock). Once the guest made its first MMIO_GUARD call (enrolled), an
 * access to a page of its MMIO window that is not listed here is refused with
 * an external abort, never an exit. A small array and not a bitmap over the
 * window: the window's size is the host's choice (up to the IPA space), a
 * guest guards a handful of device pages (a Linux guest: one per ioremap of a
 * UART or virtio-mmio transport; the GIC's pages are the core's and take no
 * entry), and the lookup on an MMIO exit is a short scan next to the exit's
 * own cost. A guard call that finds it full gets INVALID_PARAMETER and
 * changes nothing.
 */
#define VM_MMIO_GUARD_MAX 64
struct mmio_guard {
	u64 page[VM_MMIO_GUARD_MAX]; /* guarded IPA pages, page-aligned, in the MMIO window, in call order */
	u32 nr;
	bool enrolled; /* the guest's first accepted MMIO_GUARD call happened: the guard is enforced */
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
	u32 mmio_guarded; /* MMIO_GUARD calls accepted (guest_mem.c, under vm->lock), repeats included */
	struct mmio_guard mmio_guard; /* a protected VM's guarded MMIO pages (guest_mem.c, under vm->lock) */
	u64 share_gen;	  /* MEM_SHAREs done (guest_mem.c, under vm->lock): dates each vCPU's unshare request */
	struct vgic_dist vgic; /* the VM's SPIs and distributor (vgic.c; its own lock) */
};

/* At the top of a function that needs both locks a page call holds: pagedb_lock and vm->lock. */
#define CHECK_PAGEDB_VM_LOCKED(vm)                                                                                   \
	do {                                                                                                         \
		CHECK_LOCKED(&pagedb_lock);                                                                          \
		CHECK_LOCKED(&(vm)->lock);                                                                           \
	} while (0)

/* Empty the VM table (boot has it zeroed already; host-native tests and the fuzzer reuse it). */
void vm_table_init(void);

u64 vm_handle(const struct vm *vm);
/*
 * The VM a handle names, or NULL with *err MOAT_E_NOENT or MOAT_E_STALE. The
 * answer holds only while the caller keeps the slot's life stable: it holds
 * pagedb_lock or that VM's lock (or runs alone, as the fuzzer does). The host
 * calls use the locking forms below.
 */
struct vm *vm_from_handle(u64 handle, int *err);
/*
 * Look a handle up and lock the VM alone; NULL (nothing locked) with *err
 * MOAT_E_NOENT or MOAT_E_STALE when the handle names no live VM. The
 * generation is checked under the lock, so the VM returned is the one the
 * handle named, and stays so until the caller unlocks it.
 */
struct vm *vm_lock(u64 handle, int *err);
/*
 * Look a handle up and lock the page database, then the VM (the lock order);
 * NULL (nothing locked, *err set) when the handle names no live VM.
 * vm_unlock_with_pagedb() drops both and returns ret, for `return unlock(...)`.
 */
struct vm *vm_lock_with_pagedb(u64 handle, int *err);
int vm_unlock_with_pagedb(struct vm *vm, int ret);
bool vm_is_protected(const struct vm *vm);
bool vm_ipa_in_ram(const struct vm *vm, u64 ipa);
bool vm_ipa_in_mmio(const struct vm *vm, u64 ipa);

/* Iterate live VMs (for the invariant checker and statistics). */
struct vm *vm_slot(unsigned int slot);

/*
 * ---- lifecycle (the handlers in hc_vm.c drive it) ----
 * A slot's life begins and ends under both pagedb_lock and its vm->lock, so
 * a lookup under either lock sees it whole.
 */

/* VM_CREATE's configuration, unpacked from the host's registers. */
struct vm_config {
	u64 type; /* MOAT_VM_NORMAL or MOAT_VM_PROTECTED */
	u64 max_vcpus;
	u64 ram_size;
	u64 mmio_base, mmio_size;
};

/* docs/ABI.md's order for VM_CREATE: type, vCPU count, alignment, RAM range, MMIO range. */
int vm_check_config(const struct vm_config *cfg, u64 root_pa);
/* A free slot, its identity (vm->slot) set so that the root can be claimed for it; NULL when full. */
struct vm *vm_alloc_slot(void); /* caller holds pagedb_lock */
/*
 * Fill a claimed slot: configuration, stage 2 on root_pa (already the core's),
 * measurement; state CREATED. Caller holds pagedb_lock and vm->lock (a
 * VCPU_RUN with a stale handle may be waiting on that lock: it is kept).
 */
void vm_init(struct vm *vm, const struct vm_config *cfg, u64 root_pa);
/* Seal the measurement with the boot state; state FINALIZED. Caller holds vm->lock. */
void vm_finalize(struct vm *vm);
/* The slot becomes free; every handle to this life of it goes stale. Caller holds pagedb_lock and vm->lock. */
void vm_release(struct vm *vm);

#endif
