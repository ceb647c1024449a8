/*
 * regs: VCPU_GET_REG / VCPU_SET_REG on a normal VM, checked from inside.
 *
 * VMM protocol (one MMIO exit):
 *   1. The guest sets x19 = 0x1111222233334444, x20 = 0x5555666677778888
 *      and x21 = 0, then does a 32-bit MMIO read ("ldr w") of IPA 0x0a000010.
 *   2. During that exit (MMIO, ipa 0x0a000010, size 4, is_write 0) the VMM
 *      may GET_REG x19/x20 (expect the values above), SET_REG x21 (and any
 *      other register), and answers the read through mmio.value.
 *   3. The guest captures x19, x20 and x21 right after the load, in the same
 *      asm block, so no compiler code runs in between, and prints
 *        guest: x21=0x<x21 as set by the VMM; 0x0 if it set nothing>
 *        guest: mmio 0x0a000010 = 0x<mmio.value truncated to 32 bits>
 *        guest: x19=0x<x19> x20=0x<x20>   (unchanged unless the VMM set them)
 *      and powers off.
 * A protected VM's registers are out of the host's reach (GET/SET_REG ->
 * MOAT_E_PERM), so there the guest prints x21=0x0 and x19/x20 unchanged.
 */
#include "guest.h"

#define REGS_MMIO_IPA 0x0a000010UL

struct regs_seen {
	uint64_t x19, x20, x21;
	uint32_t mmio;
};

static void exit_with_live_regs(struct regs_seen *s)
{
	uint64_t x19, x20, x21;
	uint32_t val;

	__asm__ volatile("movz	x19, #0x4444\n\t"
			 "movk	x19, #0x3333, lsl #16\n\t"
			 "movk	x19, #0x2222, lsl #32\n\t"
			 "movk	x19, #0x1111, lsl #48\n\t"
			 "movz	x20, #0x8888\n\t"
			 "movk	x20, #0x7777, lsl #16\n\t"
			 "movk	x20, #0x6666, lsl #32\n\t"
			 "movk	x20, #0x5555, lsl #48\n\t"
			 "mov	x21, xzr\n\t"
			 "ldr	%w[val], [%[addr]]\n\t" /* the exit */
			 "mov	%[x21], x21\n\t"
			 "mov	%[x19], x19\n\t"
			 "mov	%[x20], x20"
			 : [val] "=&r"(val), [x19] "=&r"(x19), [x20] "=&r"(x20), [x21] "=&r"(x21)
			 : [addr] "r"(REGS_MMIO_IPA)
			 : "x19", "x20", "x21", "memory");
	s->x19 = x19;
	s->x20 = x20;
	s->x21 = x21;
	s->mmio = val;
}

void guest_main(uint64_t x0)
{
	struct regs_seen s;

	exit_with_live_regs(&s);
	printf("guest: x21=0x%lx\n", s.x21);
	printf("guest: mmio 0x%08lx = 0x%x\n", REGS_MMIO_IPA, s.mmio);
	printf("guest: x19=0x%lx x20=0x%lx\n", s.x19, s.x20);
}
