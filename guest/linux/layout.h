/*
 * Where the test host's VMM puts a Linux guest in its RAM (guest IPAs), shared
 * by the guest's device tree (guest.dts, through cpp) and the VMM
 * (host/testhost/tests/linux_guest.c), so the two cannot disagree.
 *
 *   0x40000000  the kernel Image (text_offset 0; image_size 43 MiB for 6.12)
 *   0x47000000  the initramfs (uncompressed cpio, about 2 MiB)
 *   0x47e00000  the DTB (Linux wants it 8-byte aligned, at most 2 MiB)
 *   0x48000000  end of RAM: 128 MiB
 *
 * Kept small on purpose: every page the guest touches is a MEM_FAULT exit
 * and a DONATE_VM (or SHARE_VM) under TCG.
 */
#ifndef GUEST_LINUX_LAYOUT_H
#define GUEST_LINUX_LAYOUT_H

#define LG_RAM_BASE 0x40000000
#define LG_RAM_SIZE 0x08000000
#define LG_INITRD 0x47000000
#define LG_INITRD_MAX 0x00e00000
#define LG_DTB 0x47e00000
#define LG_DTB_MAX 0x00200000
/* The core's vGIC (core/include/vgic.h: VGIC_GICD_BASE, VGIC_GICR_BASE, VGIC_GICR_STRIDE). */
#define LG_GICD 0x08000000
#define LG_GICR 0x080a0000
#define LG_GICR_STRIDE 0x20000
/* The test host VMM's PL011 (host/testhost/vmm.h: VMM_UART) and its SPI (INTID 33). */
#define LG_UART 0x09000000
#define LG_UART_SPI 1

#endif
