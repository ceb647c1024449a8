/*
 * PL011 transmit for the core's log. The UART belongs to the host; the core
 * only writes whole lines (under the console lock) and never reads it. One
 * call polls the FIFO once: how long to keep trying is core/log.c's choice.
 * Before the DTB is parsed the QEMU virt address is assumed.
 */
#include "arch.h"

#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1U << 5)

static u64 uart_base = 0x09000000UL;

void arch_console_set_base(u64 pa)
{
	uart_base = pa;
}

bool arch_console_try_putc(char c)
{
	volatile u32 *fr = phys_to_virt(uart_base + PL011_FR);
	volatile u32 *dr = phys_to_virt(uart_base + PL011_DR);

	if (*fr & PL011_FR_TXFF) {
		return false;
	}
	*dr = (u32)(u8)c;
	return true;
}
