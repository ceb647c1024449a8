/*
 * Polled PL011 console shared by the EL1 images (the test host and the test
 * guests). Formatting is core/fmt.c's. 32-bit accesses only: under moat a
 * guest's UART accesses are MMIO exits, and the core forwards only single
 * loads and stores with a valid syndrome.
 */
#ifndef MOAT_EL1_CONSOLE_H
#define MOAT_EL1_CONSOLE_H

#include <stdarg.h>
#include <stdint.h>

#define PL011_DEFAULT_BASE 0x09000000UL

void console_set_base(uint64_t base); /* 0 keeps the current base */
void console_putc(char c);	      /* "\n" goes out as "\r\n" */
void console_puts(const char *s);
int console_vprintf(const char *fmt, va_list ap); /* lines longer than 512 bytes are cut */

#endif
