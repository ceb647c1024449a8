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

/*
 * Both accesses go through the fixup-protected device accessors: the host
 * owns this UART, and on hardware where it also controls the UART's clock or
 * power an access could abort. A faulting access counts as "no room", so the
 * character is dropped and counted by log.c instead of crashing the core.
 */
bool arch_console_try_putc(char c)
{
	u64 fr;

	if (!arch_device_read(uart_base + PL011_FR, 4, &fr) || (fr & PL011_FR_TXFF)) {
		return false;
	}
	return arch_device_write(uart_base + PL011_DR, 4, (u8)c);
}
