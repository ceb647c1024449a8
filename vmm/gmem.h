/*
 * The VMM's view of guest memory for device emulation (virtio): a mapping of guest RAM plus the one
 * window of IPAs a device may use. Every address a guest (or its driver's rings) hands a device goes
 * through gmem_ptr(), which checks the whole range against the window with no wrap-around, so a
 * descriptor pointing anywhere else is a device error and never a VMM access:
 *  - a normal VM: the window is all of RAM, which is the VMM's own memory (backend guest_map);
 *  - a protected VM: RAM is a mmap() of the VM fd, in which only pages the guest shared (MEM_SHARE)
 *    appear, and the window is the restricted-dma-pool (dtb.c); everything else the VMM never asks for.
 *    A page of the window the guest did not share (or unshared) is SIGBUS: gmem_read/gmem_write turn
 *    that into -1 (a thread-local sigsetjmp around the copy), so a guest that withholds its pool only
 *    fails its own I/O.
 * Bulk file and socket I/O (pread/pwrite/readv/writev) goes straight to gmem_ptr() pointers: the kernel
 * copies through the page tables and answers a refused page with EFAULT, never a signal.
 * Thread-safety: the struct is fixed before any device thread starts and only read afterwards.
 */
#ifndef MOAT_VMM_GMEM_H
#define MOAT_VMM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem {
	uint8_t *ram;	    /* IPA ram_base maps here; NULL: no guest memory (devices fail every request) */
	uint64_t ram_base;  /* IPA of ram[0] */
	uint64_t ram_size;
	uint64_t win_base;  /* the IPAs devices may touch: [win_base, win_base + win_size) inside RAM */
	uint64_t win_size;
};

/* Sets the view; a window not wholly inside RAM is empty (every device access fails). */
void gmem_init(struct gmem *g, void *ram, uint64_t ram_base, uint64_t ram_size, uint64_t win_base,
	       uint64_t win_size);
/* The host address of [ipa, ipa + len) if it lies wholly in the window (len 0: ipa in or at its end). */
void *gmem_ptr(const struct gmem *g, uint64_t ipa, uint64_t len);
/* Copies with the window check and the SIGBUS guard; 0, or -1 (outside the window or refused page). */
int gmem_read(const struct gmem *g, uint64_t ipa, void *dst, size_t len);
int gmem_write(const struct gmem *g, uint64_t ipa, const void *src, size_t len);
/*
 * The same copies without the window check, only the SIGBUS guard: for the test-only malicious-VMM
 * mode (vmm_fault_inject), which tries addresses outside the window on purpose to show that the core
 * refuses them. Returns 0 or -1 like the above.
 */
int gmem_read_unchecked(const struct gmem *g, uint64_t ipa, void *dst, size_t len);
/* Installs the SIGBUS handler (SA_NODEFER, so a long jump out leaves the signal unblocked). */
void gmem_install_sigbus(void);
/* How many copies a refused page ended (SIGBUS caught), for the exit report. */
uint64_t gmem_refused(void);

#endif
