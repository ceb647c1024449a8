/*
 * What every backend does alike with guest RAM and vCPU run structures (backend.h): the RAM mapping
 * of a normal VM (MADV_DONTFORK: a fork of the VMM gets no copy-on-write view of pages the kernel
 * has pinned for the guest; MADV_DONTDUMP: no guest RAM in core dumps), bounds-checked loads into it,
 * and the teardown of a vCPU's fd and mapped run structure. No state of its own; callers own what
 * these functions map, and call them from the main thread during set-up and teardown.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "vmm.h"

void *backend_ram_map(uint64_t size)
{
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (ram == MAP_FAILED) {
		return NULL;
	}
	if (madvise(ram, size, MADV_DONTFORK) != 0 || madvise(ram, size, MADV_DONTDUMP) != 0) {
		int err = errno;

		munmap(ram, size);
		errno = err;
		return NULL;
	}
	return ram;
}

int backend_ram_copy(void *ram, uint64_t mem_size, uint64_t ipa, const void *src, uint64_t size)
{
	/* Callers check the layout against RAM; checked again so a bug cannot write past the mapping. */
	if (ipa < VMM_RAM_BASE || size > mem_size || ipa - VMM_RAM_BASE > mem_size - size) {
		errno = ERANGE;
		return -ERANGE;
	}
	memcpy((uint8_t *)ram + (ipa - VMM_RAM_BASE), src, size);
	return 0;
}

void backend_unmap(void **p, uint64_t size)
{
	if (*p) {
		munmap(*p, size);
		*p = NULL;
	}
}

void backend_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}
