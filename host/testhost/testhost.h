/*
 * Test host: the small EL1 kernel that plays the (untrusted) host under moat.
 * Console, platform description, PSCI and the RAM the host may touch.
 */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <stdarg.h>
#include <stddef.h>

#include "asm.h"
#include "console.h"
#include "fdt.h"
#include "types.h"

#define FW_CFG_DEFAULT_BASE 0x09020000UL

/* ---- console.c: polled PL011 output */
int tvprintf(const char *fmt, va_list ap);
int tprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- platform.c: what the DTB says, plus what the core reserved */
#define HOST_MAX_RESERVED 16
#define RESERVED_NAME_MAX 32

struct reserved_region {
	u64 base;
	u64 size;
	char name[RESERVED_NAME_MAX]; /* node name, e.g. "moat@40200000" */
};

struct host_platform {
	u64 dtb;	 /* PA of the DTB in use */
	u64 dtb_size;	 /* its totalsize */
	bool dtb_from_x0; /* false: found by scanning (standalone boot) */
	struct platform_info info;
	/* children of /reserved-memory with a "reg" (no struct platform_info field yet) */
	struct reserved_region reserved[HOST_MAX_RESERVED];
	unsigned int nr_reserved;
	/* the header's memory reservation block (/memreserve/) */
	struct fdt_range memreserve[HOST_MAX_RESERVED];
	unsigned int nr_memreserve;
};

extern struct host_platform plat;

int platform_init(u64 x0, const char **why);
/* The core's region: the reserved child named "moat@..." or else the first one. */
const struct reserved_region *platform_core_region(void);
/* This CPU's redistributor RD_base frame, or 0 (see platform.c). */
#define TESTHOST_GICR_STRIDE 0x20000UL /* one redistributor: RD_base + SGI_base, 64 KiB each */
u64 platform_my_gicr(void);
/* This CPU's GIC set up (on) or shut (off) for the private interrupts in bits; see platform.c. */
u64 platform_gic_cpu(bool on, u32 bits);
void platform_gicd_on(void);
int dtb_find_reserved(const void *dtb, u64 dtb_size, struct host_platform *p, const char **why);

/* ---- memmap.c: host-owned RAM, page by page */
#define MEMMAP_MAX_EXCLUDED (2 * HOST_MAX_RESERVED + 2)

struct memmap {
	/* sorted by base, merged: reserved memory, memreserve, our image, the DTB */
	struct fdt_range excl[MEMMAP_MAX_EXCLUDED];
	unsigned int nr_excl;
};

void memmap_build(struct memmap *m);
bool memmap_page_free(const struct memmap *m, u64 pa);
/* One more range the host must not hand out (data QEMU loaded for a test); dropped when the table is full. */
void memmap_exclude(struct memmap *m, u64 base, u64 size);

/* ---- head.S: the boot CPU's state at entry, before we changed anything */
struct boot_entry_state {
	u64 x[4]; /* x0..x3 */
	u64 daif;
	u64 sctlr_el1;
	u64 spsel;
	u64 current_el;
};
/* Check a CPU's host entry state against booting.rst / PSCI CPU_ON (tests/boot.c). */
void check_boot_entry(const struct boot_entry_state *e, u64 x0);
_Static_assert(offsetof(struct boot_entry_state, x[0]) == BOOT_ENTRY_X0, "asm.h");
_Static_assert(offsetof(struct boot_entry_state, x[2]) == BOOT_ENTRY_X2, "asm.h");
_Static_assert(offsetof(struct boot_entry_state, daif) == BOOT_ENTRY_DAIF, "asm.h");
_Static_assert(offsetof(struct boot_entry_state, sctlr_el1) == BOOT_ENTRY_DAIF + 8, "asm.h");
_Static_assert(offsetof(struct boot_entry_state, spsel) == BOOT_ENTRY_SPSEL, "asm.h");
_Static_assert(offsetof(struct boot_entry_state, current_el) == BOOT_ENTRY_SPSEL + 8, "asm.h");

extern struct boot_entry_state boot_entry;

/* ---- psci.c */
#define PSCI_VERSION 0x84000000UL
#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_CPU_ON 0xc4000003UL
#define PSCI_AFFINITY_INFO 0xc4000004UL
#define PSCI_SYSTEM_OFF 0x84000008UL
#define PSCI_SYSTEM_RESET 0x84000009UL
/* PSCI return codes (DEN0022) */
#define PSCI_E_INVALID_PARAMS (-2)
#define PSCI_E_DENIED (-3)
#define PSCI_E_ALREADY_ON (-4)
#define PSCI_E_ON_PENDING (-5)
#define PSCI_E_INVALID_ADDRESS (-9)
/* AFFINITY_INFO answers */
#define PSCI_AFF_ON 0
#define PSCI_AFF_OFF 1
#define PSCI_AFF_ON_PENDING 2

/* MPIDR_EL1 affinity fields (Aff3, Aff2..Aff0), as in a DTB cpu node's reg */
#define MPIDR_AFF_MASK 0xff00ffffffUL

/* Any PSCI function over the DTB's conduit; returns x0. */
long psci_call(u64 fid, u64 a1, u64 a2, u64 a3);
long psci_version(void);
long psci_cpu_on(u64 mpidr, u64 entry, u64 ctx);
void psci_cpu_off(void) __attribute__((noreturn));
void psci_system_off(void) __attribute__((noreturn));
long psci_affinity_info(u64 mpidr);

/*
 * Secondary CPUs (psci.c), one run queue of depth one each. CPU_ON's context
 * id is the CPU's struct smp_slot: head.S records the entry registers in it
 * before touching anything, takes its stack from it and calls
 * secondary_main(), which checks in (MPIDR and EL1 state) and then runs the
 * functions smp_post() hands it, one at a time, until one turns it off.
 * The MMU is off on every CPU, so all of this is Device memory: coherent,
 * and ordered by the DSBs around the hand-over.
 */
typedef u64 (*smp_fn)(u64 arg);
struct smp_slot {
	u64 stack_top;			/* read by head.S (SMP_SLOT_STACK_TOP) */
	struct boot_entry_state entry;	/* written by head.S (SMP_SLOT_ENTRY) */
	volatile u64 alive;		/* MPIDR_EL1 once checked in (bit 31 is RES1: never 0) */
	volatile u64 sre, cntfrq, current_el; /* EL1 state seen by the CPU after check-in */
	volatile smp_fn fn;
	volatile u64 arg, result;
	volatile u64 posted, done; /* a job is pending while they differ */
};
/* Start CPU index cpu (DTB order) at secondary_entry; 0 or the PSCI error. */
long secondary_start(unsigned int cpu);
/* Reset cpu's slot for a new start; returns the context id for CPU_ON (cpu < MAX_CPUS). */
u64 secondary_prepare(unsigned int cpu);
bool secondary_alive(unsigned int cpu);
/* Wait (bounded) for check-in. */
bool secondary_wait_alive(unsigned int cpu, unsigned int ms);
struct smp_slot *secondary_slot(unsigned int cpu);
void secondary_main(struct smp_slot *slot) __attribute__((noreturn));
extern const char secondary_entry[];
/* Hand fn(arg) to CPU cpu; false if it is not checked in or still busy. */
bool smp_post(unsigned int cpu, smp_fn fn, u64 arg);
/* Wait (bounded) for the posted job; its result in *result. */
bool smp_wait(unsigned int cpu, unsigned int ms, u64 *result);
/* Both, for a job that must finish. */
bool smp_call(unsigned int cpu, smp_fn fn, u64 arg, u64 *result, unsigned int ms);
/* Ask the CPU to PSCI CPU_OFF itself and wait until AFFINITY_INFO says OFF. */
bool smp_cpu_off(unsigned int cpu, unsigned int ms);
/* Milliseconds of CNTVCT since t0 (a CNTVCT value). */
u64 ms_since(u64 t0);


/* ---- main.c */
void testhost_main(u64 dtb) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Linker-script symbols */
extern const char __image_start[], __image_end[];

#endif
