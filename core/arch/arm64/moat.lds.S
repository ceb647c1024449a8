/*
 * Layout of the core image. QEMU loads an arm64 Image with text_offset 0 at
 * RAM base + 2 MiB, so the core is linked there and runs identity-mapped.
 * Text, read-only data and writable data are page-aligned so the EL2 stage 1
 * can map them RX, R and RW-XN (W^X). Per-CPU stacks follow, each below an
 * unmapped guard page. The page database and the boot heap are placed after
 * __image_end at boot, sized from the DTB's memory size.
 *
 * Preprocessed (see the Makefile) so that the number of CPUs and the stack
 * sizes come from the same headers as the C and assembly that use them.
 */
#include "stack.h"

OUTPUT_ARCH(aarch64)
ENTRY(_head)

MOAT_LOAD_ADDR = 0x40200000;

SECTIONS
{
	. = MOAT_LOAD_ADDR;
	__image_start = .;
	.text : {
		KEEP(*(.head.text))
		*(.text .text.*)
	}
	. = ALIGN(4096);
	__text_end = .;
	.rodata : {
		*(.rodata .rodata.*)
		. = ALIGN(8);
		__hostcalls_start = .;
		KEEP(*(.hostcalls))
		__hostcalls_end = .;
		/* Device accesses made for the host and where each resumes after an external abort (exfixup.h). */
		. = ALIGN(8);
		__exfixup_start = .;
		KEEP(*(.exfixup))
		__exfixup_end = .;
	}
	. = ALIGN(4096);
	__rodata_end = .;
	.data : { *(.data .data.*) }
	.bss (NOLOAD) : ALIGN(16) {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(16);
		__bss_end = .;
	}
	. = ALIGN(4096);
	.stacks (NOLOAD) : {
		__stacks_start = .;
		. += MAX_CPUS * (GUARD_SIZE + STACK_SIZE);
		__stacks_end = .;
	}
	. = ALIGN(4096);
	__image_end = .;
	__image_size = __image_end - __image_start;
	/DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) }
}
