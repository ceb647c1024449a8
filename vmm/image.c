/*
 * What the kernel file is and where everything goes in guest RAM. Pure functions: main.c reads the
 * files and hands the sizes here; the host-native tests call them directly.
 *
 * Linux's Documentation/arch/arm64/booting.rst sets the rules followed here:
 *  - an Image starts with a 64-byte header: text_offset (u64 at 8), image_size (u64 at 16, the memory
 *    the kernel uses including BSS), flags (u64 at 24; bit 0 = big-endian kernel) and the magic
 *    "ARM\x64" (u32 at 56). image_size 0 means a kernel older than 3.17, whose text_offset is 0x80000;
 *  - the Image goes text_offset bytes above a 2 MiB-aligned base (RAM base, 1 GiB-aligned, is one);
 *  - the DTB goes on an 8-byte boundary, at most 2 MiB, and the initrd anywhere, neither overlapping
 *    the kernel's image_size. We put both at the top of the first 512 MiB of RAM (older kernels want
 *    the DTB there), DTB highest, page-aligned (LOAD_IMAGE takes whole pages), so the kernel's BSS
 *    and the RAM right above it stay free, as on QEMU.
 * A raw binary (no magic) is loaded and entered at RAM base, like QEMU's -kernel of a flat image.
 */
#include <string.h>

#include "vmm.h"

#define IMAGE_MAGIC 0x644d5241U /* "ARM\x64", little-endian */
#define IMAGE_MAGIC_OFFSET 56
#define IMAGE_HEADER_SIZE 64
#define IMAGE_FLAG_BE (1ULL << 0)
#define IMAGE_OLD_TEXT_OFFSET 0x80000ULL /* kernels before 3.17 (image_size == 0) */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

const char *vmm_kernel_probe(const uint8_t *buf, size_t len, struct vmm_kernel_info *k)
{
	memset(k, 0, sizeof(*k));
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		return "is gzip-compressed: decompress it first (zcat IMG >Image)";
	}
	/* EFI zboot (CONFIG_EFI_ZBOOT): a PE stub "MZ" with "zimg" at 4 around a compressed Image. */
	if (len >= 8 && memcmp(buf, "MZ", 2) == 0 && memcmp(buf + 4, "zimg", 4) == 0) {
		return "is an EFI zboot image (compressed): extract the Image inside it first";
	}
	if (len < IMAGE_HEADER_SIZE || (uint32_t)le64(buf + IMAGE_MAGIC_OFFSET) != IMAGE_MAGIC) {
		k->is_image = false;
		k->load_size = len;
		return NULL;
	}
	k->is_image = true;
	if (le64(buf + 24) & IMAGE_FLAG_BE) {
		return "is a big-endian arm64 Image: guests run little-endian";
	}
	k->text_offset = le64(buf + 8);
	k->load_size = le64(buf + 16);
	if (k->load_size == 0) {
		k->text_offset = IMAGE_OLD_TEXT_OFFSET;
	}
	if (k->text_offset % VMM_PAGE_SIZE || k->text_offset >= 2 * VMM_MIB) {
		return "has a text_offset that is not page-aligned and below 2 MiB";
	}
	if (k->load_size < len) {
		k->load_size = len;
	}
	return NULL;
}

const char *vmm_layout(uint64_t mem_size, const struct vmm_kernel_info *k, uint64_t file_size,
		       uint64_t initrd_size, uint64_t dtb_size, struct vmm_layout *l)
{
	uint64_t ram_end = VMM_RAM_BASE + mem_size;
	uint64_t top = mem_size < VMM_DTB_WINDOW ? ram_end : VMM_RAM_BASE + VMM_DTB_WINDOW;
	uint64_t size = k->load_size > file_size ? k->load_size : file_size;

	memset(l, 0, sizeof(*l));
	l->kernel_addr = VMM_RAM_BASE + (k->is_image ? k->text_offset : 0);
	l->entry = l->kernel_addr;
	if (size > ram_end - l->kernel_addr) {
		return "the kernel image is larger than guest RAM (see --mem)";
	}
	l->kernel_end = l->kernel_addr + size;
	if (dtb_size > VMM_DTB_MAX) {
		return "the devicetree is larger than 2 MiB";
	}
	/* The two alignments below lose at most a page each: with this room both stay above the kernel. */
	if (l->kernel_end > top || dtb_size + initrd_size + 2 * VMM_PAGE_SIZE > top - l->kernel_end) {
		return initrd_size ? "the kernel, the initrd and the devicetree do not fit in guest RAM (see --mem)"
				   : "the kernel and the devicetree do not fit in guest RAM (see --mem)";
	}
	l->dtb_addr = align_down(top - dtb_size, VMM_PAGE_SIZE);
	if (initrd_size) {
		l->initrd_addr = align_down(l->dtb_addr - initrd_size, VMM_PAGE_SIZE);
		l->initrd_end = l->initrd_addr + initrd_size;
	}
	return NULL;
}
