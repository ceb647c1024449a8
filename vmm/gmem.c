/*
 * Guest memory for devices (gmem.h): the window check and the SIGBUS-guarded copy. The guard is a
 * per-thread jump buffer armed only around one memcpy; a SIGBUS outside it (a VMM bug) still kills
 * the VMM, as it should.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "gmem.h"

/*
 * volatile, and a compiler barrier around the copy: the compiler knows memcpy touches only its
 * arguments, so at -O2 it dropped `guard = &jb` as a dead store before `guard = NULL` -- and the first
 * refused page killed the VMM (tests/vmm/test_vmm_virtio.c is built at -O2 for this reason).
 */
static __thread sigjmp_buf *volatile guard;
static atomic_ullong refused;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (guard) {
		siglongjmp(*guard, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void gmem_install_sigbus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	/* SA_NODEFER: siglongjmp(, 0 mask) leaves the handler without restoring the mask, so SIGBUS
	 * must not have been blocked on entry, or the next refused page would kill the process. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

uint64_t gmem_refused(void)
{
	return atomic_load(&refused);
}

void gmem_init(struct gmem *g, void *ram, uint64_t ram_base, uint64_t ram_size, uint64_t win_base,
	       uint64_t win_size)
{
	g->ram = ram;
	g->ram_base = ram_base;
	g->ram_size = ram_size;
	/* A window that is not wholly inside RAM is no window: every device access then fails. */
	if (win_base < ram_base || win_base - ram_base > ram_size || win_size > ram_size - (win_base - ram_base)) {
		win_size = 0;
	}
	g->win_base = win_base;
	g->win_size = win_size;
}

void *gmem_ptr(const struct gmem *g, uint64_t ipa, uint64_t len)
{
	/* Written so that no sum can wrap: ipa - win_base only after ipa >= win_base. */
	if (g->ram == NULL || ipa < g->win_base || ipa - g->win_base > g->win_size ||
	    len > g->win_size - (ipa - g->win_base)) {
		return NULL;
	}
	return g->ram + (ipa - g->ram_base);
}

/* memcpy under the guard. */
static int guarded_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		guard = NULL;
		atomic_fetch_add(&refused, 1);
		return -1;
	}
	guard = &jb;
	__asm__ volatile("" ::: "memory");
	memcpy(dst, src, len);
	__asm__ volatile("" ::: "memory");
	guard = NULL;
	return 0;
}

int gmem_read(const struct gmem *g, uint64_t ipa, void *dst, size_t len)
{
	const void *p = gmem_ptr(g, ipa, len);

	return p ? guarded_copy(dst, p, len) : -1;
}

int gmem_write(const struct gmem *g, uint64_t ipa, const void *src, size_t len)
{
	void *p = gmem_ptr(g, ipa, len);

	return p ? guarded_copy(p, src, len) : -1;
}

int gmem_read_unchecked(const struct gmem *g, uint64_t ipa, void *dst, size_t len)
{
	if (g->ram == NULL || ipa < g->ram_base || ipa - g->ram_base > g->ram_size ||
	    len > g->ram_size - (ipa - g->ram_base)) {
		return -1;
	}
	return guarded_copy(dst, g->ram + (ipa - g->ram_base), len);
}
