/*
 * Device register accesses the core makes on the host's behalf (arch.h):
 * today the redistributor registers host_mmio.c emulates. Each access is a
 * single load or store with an entry in the exception-fixup table
 * (exfixup.h), so a device that answers with a synchronous external abort --
 * QEMU does for an address nothing backs -- makes the accessor return false
 * instead of crashing the core. Called from the host's trap path and at boot;
 * no state, no lock.
 */
#include "arch.h"
#include "exfixup.h"

/*
 * One guarded access: ok is cleared before it and set by the instruction
 * after it; the fixup resumes past that instruction, so ok tells whether the
 * access completed. w is the register width ("w" or "x"). The "memory"
 * clobber keeps the compiler from moving other memory accesses across it.
 */
#define GUARDED_LOAD(w, v, p, ok)                                                                                  \
	__asm__ volatile("	mov	%w[okr], #0\n"                                                                   \
			 "1:	ldr	%" w "[val], [%[ptr]]\n"                                                         \
			 "	mov	%w[okr], #1\n"                                                                   \
			 "2:\n" EXFIXUP_ENTRY(1b, 2b)                                                              \
			 : [val] "+r"(v), [okr] "+r"(ok)                                                            \
			 : [ptr] "r"(p)                                                                             \
			 : "memory")
#define GUARDED_STORE(w, v, p, ok)                                                                                 \
	__asm__ volatile("	mov	%w[okr], #0\n"                                                                   \
			 "1:	str	%" w "[val], [%[ptr]]\n"                                                         \
			 "	mov	%w[okr], #1\n"                                                                   \
			 "2:\n" EXFIXUP_ENTRY(1b, 2b)                                                              \
			 : [okr] "+r"(ok)                                                                           \
			 : [val] "r"(v), [ptr] "r"(p)                                                               \
			 : "memory")

bool arch_device_read(u64 pa, unsigned int size, u64 *val)
{
	const volatile void *p = phys_to_virt(pa);
	u64 v = 0;
	u32 ok = 0;

	if (size == 8) {
		GUARDED_LOAD("x", v, p, ok);
	} else if (size == 4) {
		GUARDED_LOAD("w", v, p, ok);
	}
	/* After an abort the destination register is not a value the device returned. */
	*val = ok ? v : 0;
	return ok != 0;
}

bool arch_device_write(u64 pa, unsigned int size, u64 val)
{
	volatile void *p = phys_to_virt(pa);
	u32 ok = 0;

	if (size == 8) {
		GUARDED_STORE("x", val, p, ok);
	} else if (size == 4) {
		GUARDED_STORE("w", val, p, ok);
	}
	return ok != 0;
}

extern const struct exfixup __exfixup_start[], __exfixup_end[];

bool exfixup_apply(struct cpu_regs *regs)
{
	for (const struct exfixup *e = __exfixup_start; e < __exfixup_end; e++) {
		if (e->insn == regs->elr) {
			regs->elr = e->fixup;
			return true;
		}
	}
	return false;
}
