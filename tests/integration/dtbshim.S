/*
 * Test-only boot shim. QEMU enters an ELF kernel at EL2 with no register
 * set-up; this points x0 at a device tree the test loaded at 0x4e000000 (a
 * corrupt or truncated one) and jumps to the core loaded at 0x40200000, so
 * the core's DTB checks can be exercised on inputs QEMU itself would refuse.
 */
	.text
	.globl	_start
_start:
	ldr	x0, =0x4e000000
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	ldr	x4, =0x40200000
	br	x4
