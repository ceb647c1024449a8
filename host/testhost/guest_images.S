/*
 * The test guests, embedded in the test host image so one QEMU boot carries
 * everything a VM test needs. Built by guest/guest.mk before the test host.
 */
.macro guest_image name
	.section .rodata.guest_\name, "a"
	.balign 4096
	.globl guest_\name\()_start
guest_\name\()_start:
	.incbin "build/guest/\name\().bin"
	.globl guest_\name\()_end
guest_\name\()_end:
.endm

	guest_image hello
	guest_image memtouch
	guest_image canary
	guest_image regs
	guest_image fault
	guest_image mmio_sizes
	guest_image fpsimd
	guest_image bench
	guest_image idregs
	guest_image refuse
	guest_image share
	guest_image smp
	guest_image vgic
	guest_image mvcpu
	guest_image pmu
	guest_image debug
	guest_image mmioguard
