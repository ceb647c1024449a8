/*
 * Unit tests for vmm/virtq.c (the split-virtqueue parser against a hostile driver), vmm/gmem.c (the
 * window and the SIGBUS guard), vmm/virtio_mmio.c (register state machine, negotiation, interrupt
 * status / line, NEEDS_RESET) and vmm/virtio_blk.c (requests on a temporary image). Guest RAM is a
 * heap buffer; host-native under ASan + UBSan, so any access outside it would be reported.
 */
#define _GNU_SOURCE /* memfd_create */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "gmem.h"
#include "virtio_dev.h"
#include "virtio_mmio.h"
#include "virtq.h"

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE (1024 * 1024ULL)
#define WIN_BASE (RAM_BASE + 0x80000) /* the "pool": the upper half of RAM */
#define WIN_SIZE 0x80000ULL
#define DESC (WIN_BASE + 0x0000)
#define AVAIL (WIN_BASE + 0x1000)
#define USED (WIN_BASE + 0x2000)
#define BUFS (WIN_BASE + 0x10000)
#define QSIZE 8

static uint8_t *ram;
static struct gmem gm;
static struct virtq vq;
static struct virtq_elem el;

static void *at(uint64_t ipa)
{
	return ram + (ipa - RAM_BASE);
}

static void set_desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = at(DESC + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void set_avail(uint16_t slot, uint16_t head, uint16_t idx)
{
	memcpy(at(AVAIL + 4 + 2ULL * slot), &head, 2);
	memcpy(at(AVAIL + 2), &idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, at(USED + 2), 2);
	return v;
}

static int setup(void **state)
{
	/* Called again inside a test to start over: the buffer is reused, not leaked. */
	if (ram == NULL) {
		ram = calloc(1, RAM_SIZE);
	}
	memset(ram, 0, RAM_SIZE);
	gmem_init(&gm, ram, RAM_BASE, RAM_SIZE, WIN_BASE, WIN_SIZE);
	memset(&vq, 0, sizeof(vq));
	vq.num = QSIZE;
	vq.desc = DESC;
	vq.avail = AVAIL;
	vq.used = USED;
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	ram = NULL;
	return 0;
}

static int pop(const char **why)
{
	*why = NULL;
	return virtq_pop(&gm, &vq, &el, why);
}

/* ---- gmem ---- */

static void test_gmem_window(void **state)
{
	struct gmem g;

	assert_ptr_equal(gmem_ptr(&gm, WIN_BASE, WIN_SIZE), at(WIN_BASE));
	assert_null(gmem_ptr(&gm, WIN_BASE - 1, 1));	     /* just below */
	assert_null(gmem_ptr(&gm, WIN_BASE, WIN_SIZE + 1)); /* one past the end */
	assert_null(gmem_ptr(&gm, WIN_BASE + WIN_SIZE - 4, 8));
	assert_non_null(gmem_ptr(&gm, WIN_BASE + WIN_SIZE, 0));
	assert_null(gmem_ptr(&gm, ~0ULL - 3, 8));	       /* wraps */
	assert_null(gmem_ptr(&gm, WIN_BASE + 8, ~0ULL - 4)); /* len wraps the sum */
	/* A window not inside RAM is empty. */
	gmem_init(&g, ram, RAM_BASE, RAM_SIZE, RAM_BASE + RAM_SIZE - 0x1000, 0x2000);
	assert_null(gmem_ptr(&g, RAM_BASE + RAM_SIZE - 0x1000, 1));
	gmem_init(&g, ram, RAM_BASE, RAM_SIZE, RAM_BASE - 0x1000, 0x2000);
	assert_null(gmem_ptr(&g, RAM_BASE, 1));
}

/* A page the kernel refuses (here: beyond a truncated memfd) is -1 and counted, not a crash. */
static void test_gmem_sigbus_guard(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("gmem", 0);
	uint8_t *m, buf[16];
	struct gmem g;
	uint64_t before = gmem_refused();

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * pg), 0);
	m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(ftruncate(fd, pg), 0); /* the second page is now SIGBUS */
	gmem_install_sigbus();
	gmem_init(&g, m, RAM_BASE, 2 * pg, RAM_BASE, 2 * pg);
	m[0] = 7;
	assert_int_equal(gmem_read(&g, RAM_BASE, buf, 1), 0);
	assert_int_equal(buf[0], 7);
	assert_int_equal(gmem_read(&g, RAM_BASE + pg, buf, 8), -1);
	assert_int_equal(gmem_write(&g, RAM_BASE + pg, buf, 8), -1);
	assert_int_equal(gmem_read_unchecked(&g, RAM_BASE + pg - 4, buf, 8), -1);
	assert_int_equal(gmem_refused() - before, 3);
	/* and the guard is disarmed afterwards: a good copy still works */
	assert_int_equal(gmem_read(&g, RAM_BASE, buf, 1), 0);
	munmap(m, 2 * pg);
	close(fd);
}

/* ---- virtq ---- */

static void test_virtq_check(void **state)
{
	assert_null(virtq_check(&gm, &vq));
	vq.num = 0;
	assert_non_null(virtq_check(&gm, &vq));
	vq.num = 6; /* not a power of two */
	assert_non_null(virtq_check(&gm, &vq));
	vq.num = 512; /* over QueueNumMax */
	assert_non_null(virtq_check(&gm, &vq));
	vq.num = QSIZE;
	vq.desc = DESC + 8; /* misaligned */
	assert_non_null(virtq_check(&gm, &vq));
	vq.desc = RAM_BASE; /* outside the window (private memory) */
	assert_string_equal(virtq_check(&gm, &vq), "queue area outside the memory the device may use");
	vq.desc = DESC;
	vq.used = WIN_BASE + WIN_SIZE - 8; /* starts inside, ends outside */
	assert_non_null(virtq_check(&gm, &vq));
	vq.used = ~0ULL & ~3ULL; /* wraps */
	assert_non_null(virtq_check(&gm, &vq));
}

static void test_pop_chain(void **state)
{
	const char *why;

	set_desc(3, BUFS, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(5, BUFS + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	set_desc(0, BUFS + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(pop(&why), VIRTQ_EMPTY);
	set_avail(0, 3, 1);
	assert_int_equal(pop(&why), VIRTQ_GOT);
	assert_int_equal(el.head, 3);
	assert_int_equal(el.n_out, 1);
	assert_int_equal(el.n_in, 2);
	assert_int_equal(el.out_len, 16);
	assert_int_equal(el.in_len, 513);
	assert_ptr_equal(el.iov[0].iov_base, at(BUFS));
	assert_ptr_equal(el.iov[1].iov_base, at(BUFS + 0x100));
	assert_int_equal(el.iov[2].iov_len, 1);
	assert_int_equal(vq.last_avail, 1);
	assert_int_equal(pop(&why), VIRTQ_EMPTY);

	assert_int_equal(virtq_push(&gm, &vq, 3, 513), 0);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(*(uint32_t *)at(USED + 4), 3);
	assert_int_equal(*(uint32_t *)at(USED + 8), 513);
}

static void test_pop_addresses_outside(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM_BASE, 16 },			/* private RAM below the pool */
		{ WIN_BASE - 8, 16 },			/* straddles the start */
		{ WIN_BASE + WIN_SIZE - 8, 16 },	/* straddles the end */
		{ WIN_BASE + WIN_SIZE, 1 },		/* just past */
		{ 0xfffffffffffff000ULL, 0x2000 },	/* addr + len wraps to a small number */
		{ WIN_BASE + 0x100, 0xffffffffU },	/* len past the end */
	};
	const char *why;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(state);
		set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		set_avail(0, 0, 1);
		assert_int_equal(pop(&why), VIRTQ_ERR);
		assert_string_equal(why, "descriptor outside the memory the device may use");
		assert_int_equal(vq.last_avail, 0); /* not consumed */
		teardown(state);
	}
	setup(state);
}

static void test_pop_loops(void **state)
{
	const char *why;

	/* 0 -> 1 -> 2 -> 0 ... */
	set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUFS, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, BUFS, 16, VIRTQ_DESC_F_NEXT, 0);
	set_avail(0, 0, 1);
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "descriptor chain loops");
	/* a descriptor naming itself */
	setup(state);
	set_desc(4, BUFS, 16, VIRTQ_DESC_F_NEXT, 4);
	set_avail(0, 4, 1);
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "descriptor chain loops");
	/* the longest legal chain (every descriptor once) is fine */
	setup(state);
	for (unsigned int i = 0; i < QSIZE; i++) {
		set_desc(i, BUFS, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	}
	set_avail(0, 0, 1);
	assert_int_equal(pop(&why), VIRTQ_GOT);
	assert_int_equal(el.n_out, QSIZE);
}

static void test_pop_indices(void **state)
{
	const char *why;

	set_desc(0, BUFS, 16, 0, 0);
	set_avail(0, QSIZE, 1); /* head out of range */
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "head index out of range");

	setup(state);
	set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT, 0x8000); /* next out of range */
	set_avail(0, 0, 1);
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "next index out of range");

	setup(state);
	set_desc(0, BUFS, 16, 0, 0);
	set_avail(0, 0, QSIZE + 1); /* more available than the queue holds */
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "avail index jumped past the queue size");
	set_avail(0, 0, (uint16_t)-1); /* a jump backwards is one too */
	assert_int_equal(pop(&why), VIRTQ_ERR);
	set_avail(0, 0, QSIZE); /* exactly full is legal */
	assert_int_equal(pop(&why), VIRTQ_GOT);

	/* the 16-bit indices wrap: last_avail 0xffff, avail idx 0 is one entry, at ring slot 7 */
	setup(state);
	vq.last_avail = 0xffff;
	vq.used_idx = 0xffff;
	set_desc(2, BUFS, 16, 0, 0);
	set_avail(0xffff & (QSIZE - 1), 2, 0);
	assert_int_equal(pop(&why), VIRTQ_GOT);
	assert_int_equal(el.head, 2);
	assert_int_equal(vq.last_avail, 0);
	assert_int_equal(virtq_push(&gm, &vq, 2, 0), 0);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(*(uint32_t *)at(USED + 4 + 8 * 7), 2);
}

static void test_pop_flags(void **state)
{
	const char *why;

	set_desc(0, BUFS, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_avail(0, 0, 1);
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "indirect descriptor (not offered)");

	setup(state);
	set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(1, BUFS, 16, 0, 0);
	set_avail(0, 0, 1);
	assert_int_equal(pop(&why), VIRTQ_ERR);
	assert_string_equal(why, "readable descriptor after a writable one");
}

/* Lengths that would wrap a 32-bit sum add up in 64 bits (and each must still fit the window). */
static void test_pop_lengths_do_not_wrap(void **state)
{
	struct gmem big;
	const char *why;
	uint8_t *m = mmap(NULL, 1ULL << 33, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);

	assert_true(m != MAP_FAILED);
	/* an 8 GiB window (NORESERVE: only the ring pages are touched) */
	gmem_init(&big, m, RAM_BASE, 1ULL << 33, RAM_BASE, 1ULL << 33);
	memset(&vq, 0, sizeof(vq));
	vq.num = QSIZE;
	vq.desc = RAM_BASE;
	vq.avail = RAM_BASE + 0x1000;
	vq.used = RAM_BASE + 0x2000;
	for (unsigned int i = 0; i < 3; i++) {
		uint64_t addr = RAM_BASE + 0x10000;
		uint32_t len = 0xfffff000U;
		uint16_t flags = i < 2 ? VIRTQ_DESC_F_NEXT : 0, next = (uint16_t)(i + 1);
		uint8_t *d = m + 16 * i;

		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
	}
	*(uint16_t *)(m + 0x1002) = 1;
	assert_int_equal(virtq_pop(&big, &vq, &el, &why), VIRTQ_GOT);
	assert_int_equal(el.out_len, 3ULL * 0xfffff000U);
	munmap(m, 1ULL << 33);
}

/* ---- the transport ---- */

static struct virtio_mmio tr;
static struct virtio_blk blk;
static int levels[64];
static unsigned int nlevels;
static char img[] = "/tmp/moat-vblk-XXXXXX";

static void sink_irq(void *ctx, unsigned int intid, bool level)
{
	assert_int_equal(intid, 48);
	levels[nlevels++] = level;
}

static uint32_t rd(uint64_t off)
{
	return (uint32_t)virtio_mmio_read(&tr, off, 4);
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&tr, off, 4, v);
}

static int setup_blk(void **state)
{
	int fd;

	setup(state);
	strcpy(img, "/tmp/moat-vblk-XXXXXX");
	fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1024 * 1024 + 100), 0); /* the 100-byte tail is not offered */
	close(fd);
	assert_int_equal(virtio_blk_open(&blk, img), 0);
	assert_int_equal(virtio_mmio_init(&tr, &virtio_blk_ops, &blk, &gm, 48, sink_irq, NULL), 0);
	virtio_blk_attach(&tr, &blk);
	nlevels = 0;
	return 0;
}

static int teardown_blk(void **state)
{
	virtio_mmio_stop(&tr);
	close(blk.fd);
	unlink(img);
	return teardown(state);
}

static void test_mmio_identity(void **state)
{
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (1U << 2) | (1U << 6) | (1U << 9));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 3); /* VERSION_1 (32), ACCESS_PLATFORM (33) */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* config: capacity 2048 sectors (the tail dropped), seg_max 128, blk_size 512; byte reads too */
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG), 2048);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 12), 128);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 20), 512);
	assert_int_equal(virtio_mmio_read(&tr, VIRTIO_MMIO_CONFIG + 1, 1), 8);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 24), 0); /* past the config */
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffU);
	/* queues: one; QueueNumMax 256, 0 for a queue that does not exist */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* registers are 32-bit: a byte read of Magic is zero */
	assert_int_equal(virtio_mmio_read(&tr, 0, 1), 0);
}

static void negotiate(uint32_t lo, uint32_t hi)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, lo);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, hi);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void test_mmio_negotiation(void **state)
{
	negotiate(0, 0); /* no VERSION_1: a legacy driver, refused */
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	negotiate(1U << 3, 1); /* bit 3 is not offered */
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(1U << 9, 3);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 11);
	/* after FEATURES_OK the set is fixed */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(tr.driver_features, (3ULL << 32) | (1U << 9));
	/* DRIVER_OK without FEATURES_OK: NEEDS_RESET */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void setup_queue(uint32_t num, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void go_live(void)
{
	negotiate(0, 3);
	setup_queue(QSIZE, DESC);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	wr(VIRTIO_MMIO_STATUS, 15);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 15);
	assert_true(tr.running);
}

/* One request: header at BUFS, data at BUFS + 0x1000 (len bytes), status at BUFS + 0x800. */
static void post_request(uint16_t slot, uint32_t type, uint64_t sector, uint32_t len)
{
	uint32_t hdr[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };

	memcpy(at(BUFS), hdr, 16);
	set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUFS + 0x1000, len, VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0), 2);
	set_desc(2, BUFS + 0x800, 1, VIRTQ_DESC_F_WRITE, 0);
	*(uint8_t *)at(BUFS + 0x800) = 0xee;
	set_avail(slot, 0, (uint16_t)(slot + 1));
}

static void test_blk_write_read_and_interrupt(void **state)
{
	go_live();
	memset(at(BUFS + 0x1000), 0x5a, 1024);
	post_request(0, VIRTIO_BLK_T_OUT, 3, 1024);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(tr.notifies, 1);
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_OK);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(*(uint32_t *)at(USED + 8), 1); /* only the status byte written */
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	assert_int_equal(nlevels, 1);
	assert_int_equal(levels[0], 1);
	/* the kick flag was cleared again after draining */
	assert_int_equal(*(uint16_t *)at(USED), 0);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(nlevels, 2);
	assert_int_equal(levels[1], 0);

	memset(at(BUFS + 0x1000), 0, 1024);
	post_request(1, VIRTIO_BLK_T_IN, 3, 1024);
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint32_t *)at(USED + 16), 1025);
	assert_int_equal(((uint8_t *)at(BUFS + 0x1000))[1023], 0x5a);

	/* past the end of the disk: IOERR, the device goes on */
	post_request(2, VIRTIO_BLK_T_IN, 2047, 1024);
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_IOERR);
	post_request(3, VIRTIO_BLK_T_IN, 0xffffffffffffffffULL, 512);
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_IOERR);
	post_request(4, 77, 0, 512); /* unknown type */
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used_idx(), 5);
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* avail->flags NO_INTERRUPT: the used entry, no interrupt */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
	nlevels = 0;
	*(uint16_t *)at(AVAIL) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	post_request(5, VIRTIO_BLK_T_FLUSH, 0, 0);
	set_desc(0, BUFS, 16, VIRTQ_DESC_F_NEXT, 2);
	virtio_mmio_run_once(&tr);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), VIRTIO_BLK_S_OK);
	assert_int_equal(used_idx(), 6);
	assert_int_equal(nlevels, 0);
}

static void test_queue_outside_window_needs_reset(void **state)
{
	struct capture c;

	negotiate(0, 3);
	capture_begin(&c, 2);
	setup_queue(QSIZE, RAM_BASE); /* descriptor table in "private" memory */
	assert_non_null(strstr(capture_end(&c), "virtio-blk at INTID 48: queue area outside"));
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(nlevels, 1);
	wr(VIRTIO_MMIO_STATUS, 15); /* DRIVER_OK now changes nothing */
	assert_false(tr.running);
	wr(VIRTIO_MMIO_STATUS, 0); /* reset clears it all and lowers the line */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(levels[nlevels - 1], 0);
	setup_queue(QSIZE, DESC);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	negotiate(0, 3);
	setup_queue(12, DESC); /* QueueReady with a size not a power of two */
}

static void test_bad_descriptor_needs_reset(void **state)
{
	struct capture c;

	go_live();
	post_request(0, VIRTIO_BLK_T_IN, 0, 512);
	set_desc(1, RAM_BASE + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2); /* private page */
	capture_begin(&c, 2);
	virtio_mmio_run_once(&tr);
	assert_non_null(strstr(capture_end(&c), "descriptor outside the memory the device may use"));
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(*(uint8_t *)at(BUFS + 0x800), 0xee); /* nothing written */
	/* no more service until a reset, even for a good request */
	post_request(0, VIRTIO_BLK_T_IN, 0, 512);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio_run_once(&tr);
	assert_int_equal(used_idx(), 0);
	/* a queue's registers are frozen while it is ready, and the queue of a live device too */
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RAM_BASE);
	assert_int_equal(tr.qcfg[0].desc, DESC);
	wr(VIRTIO_MMIO_STATUS, 0);
	go_live();
	post_request(0, VIRTIO_BLK_T_IN, 0, 512);
	virtio_mmio_run_once(&tr);
	assert_int_equal(used_idx(), 1);
}

/* The worker thread: a notify is served without run_once, and stop joins it. */
static void test_worker_thread(void **state)
{
	go_live();
	assert_int_equal(virtio_mmio_start(&tr), 0);
	post_request(0, VIRTIO_BLK_T_IN, 0, 512);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 2000 && __atomic_load_n((uint16_t *)at(USED + 2), __ATOMIC_ACQUIRE) != 1; i++) {
		usleep(1000);
	}
	assert_int_equal(used_idx(), 1);
	/* a reset while the worker lives waits for it to be idle */
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_false(tr.running);
	virtio_mmio_stop(&tr);
}

/*
 * The worker never takes the process's signals: moat-vmm starts device threads before main blocks
 * SIGTERM & co. for its sigwait(), and a SIGTERM that landed on a worker killed the VMM without its
 * clean stop (seen with a hung guest under `timeout`). Here the main thread blocks SIGUSR2 only after
 * the worker started, as main.c does; the signal must then stay pending, taken by no thread.
 */
static volatile sig_atomic_t usr2_taken;

static void on_usr2(int sig)
{
	usr2_taken = 1;
}

static void test_worker_takes_no_signals(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	usr2_taken = 0;
	assert_int_equal(virtio_mmio_start(&tr), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR2);
	usleep(100 * 1000);
	assert_int_equal(usr2_taken, 0);
	sigpending(&pending);
	assert_true(sigismember(&pending, SIGUSR2));
	assert_int_equal(sigtimedwait(&set, NULL, &zero), SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	virtio_mmio_stop(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gmem_window, setup, teardown),
		cmocka_unit_test(test_gmem_sigbus_guard),
		cmocka_unit_test_setup_teardown(test_virtq_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_addresses_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_lengths_do_not_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_identity, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_mmio_negotiation, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_blk_write_read_and_interrupt, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_queue_outside_window_needs_reset, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_bad_descriptor_needs_reset, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_worker_thread, setup_blk, teardown_blk),
		cmocka_unit_test_setup_teardown(test_worker_takes_no_signals, setup_blk, teardown_blk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
