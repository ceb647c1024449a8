/*
 * Guest SDK: everything a bare-metal test guest needs, in one include.
 *
 * A guest provides guest_main(); start.S enters it at EL1 with the MMU off
 * (so every access is Device-nGnRnE: aligned only, no exclusives), DAIF
 * masked, FP/SIMD enabled, and powers the VM off if it returns.
 *
 * Memory map seen by a guest under moat (see guest/README.md):
 *   0x09000000  PL011 console (emulated by the VMM through MMIO exits)
 *   0x0a000000  test devices of the VMM (MMIO exits)
 *   0x40000000  RAM: the image, then demand-paged RAM
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <moat/abi.h>

#include "console.h"
#include "hvc.h"

#define GUEST_UART_BASE 0x09000000UL
#define GUEST_PAGE_SIZE 4096UL

/* The image (with BSS and stack) ends below this; guests may use RAM above it freely. */
#define GUEST_FREE_RAM (MOAT_GUEST_RAM_BASE + 0x100000UL)

/* Provided by each guest. x0 is the value the VMM put in x0 at boot. */
void guest_main(uint64_t x0);

/* console.c: polled PL011 output; "\n" goes out as "\r\n". */
int vprintf(const char *fmt, va_list ap);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Probes (exception.c): arm a probe, perform exactly one access that may
 * fault (one instruction, e.g. mmio_read32()), then disarm it. A synchronous
 * exception taken while armed is recorded and the faulting instruction is
 * skipped (ELR + 4), which suits data aborts only. One-shot: a second fault
 * before probe_arm() is called again is a panic.
 */
struct guest_fault {
	uint64_t esr;
	uint64_t far;
	uint64_t elr;
};

void probe_arm(void);
bool probe_disarm(struct guest_fault *fault); /* true if an exception was taken */

/* ESR_EL1 fields (Arm ARM D17.2.37). */
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_ISV(esr) (((esr) >> 24) & 1)
#define ESR_DFSC(esr) ((esr)&0x3f)
#define ESR_EC_DABT_CUR 0x25
#define ESR_EC_SVC64 0x15
#define ESR_EC_SYSREG 0x18 /* trapped MSR/MRS/SYS */
#define SPSR_EL1H_MASKED 0x3c5UL
#define SPSR_EL0T_MASKED 0x3c0UL
#define ESR_DFSC_SEA 0x10 /* synchronous external abort */

/* IRQs taken at EL1 (SP_EL1) call this when set; any other exception still panics. */
extern void (*guest_irq_handler)(void);

/*
 * Synchronous exceptions taken at EL1 (SP_EL1) go to this first when set; it
 * returns true if it handled the exception (it may rewrite the frame's ELR and
 * SPSR), false to leave it to the probe or the panic path. For exceptions whose
 * ELR is not the instruction to skip, such as a software step (guest/debug).
 */
struct el1_frame;
extern bool (*guest_sync_handler)(struct el1_frame *frame);

/* Print "GUEST-PANIC ..." and power off. */
__attribute__((noreturn)) void guest_panic(const char *why);

/* core/lib.c: GCC may emit calls to these even in freestanding code. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/*
 * MMIO accessors: one plain load or store with a base register and no
 * offset or writeback, which is what the core can decode (ESR_EL2.ISV = 1)
 * and forward to the VMM. Each is exactly one instruction, so a probe can
 * skip it.
 */
static inline void mmio_write32(uint64_t addr, uint32_t val)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(val), "r"(addr) : "memory");
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t val;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(val) : "r"(addr) : "memory");
	return val;
}

#define read_sysreg(reg)                                             \
	({                                                           \
		uint64_t __val;                                      \
		__asm__ volatile("mrs %0, " #reg : "=r"(__val));     \
		__val;                                               \
	})

#define write_sysreg(reg, v) __asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")

/* mmu.c: identity map, 1 GiB blocks, Device below RAM, Normal WB RAM. guest_mmu_build() once (before
 * starting other vCPUs), then guest_mmu_on() on each vCPU. */
void guest_mmu_build(void);
void guest_mmu_on(void);

/* The virtual counter, not speculated ahead of earlier instructions (isb). */
static inline uint64_t read_cntvct(void)
{
	uint64_t val;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(val) : : "memory");
	return val;
}

#endif
