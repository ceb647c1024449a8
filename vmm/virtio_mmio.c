/*
 * The virtio-mmio transport and its worker thread (virtio_mmio.h has the locking).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_mmio.h"

enum vmm_fault vmm_fault_mode;
unsigned int vmm_fault_after = 100;
atomic_ullong vmm_fault_probes, vmm_fault_refused;

static uint64_t offered(const struct virtio_mmio *t)
{
	return t->ops->features | VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM;
}

/* lock held: drive the line from isr, only on a change. */
static void update_line(struct virtio_mmio *t)
{
	bool level = t->isr != 0;

	if (level != t->line) {
		t->line = level;
		if (level) {
			t->interrupts++;
		}
		if (t->irq) {
			t->irq(t->irq_ctx, t->intid, level);
		}
	}
}

static void kick(struct virtio_mmio *t)
{
	uint64_t one = 1;

	if (t->kick_fd >= 0 && write(t->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the worker is woken anyway */
	}
}

/* lock held */
static void fail_locked(struct virtio_mmio *t, const char *why)
{
	if (!t->warned) {
		t->warned = true;
		fprintf(stderr, "moat-vmm: %s at INTID %u: %s; device needs reset\n", t->ops->name, t->intid, why);
	}
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	t->running = false;
	t->isr |= VIRTIO_INT_CONFIG;
	update_line(t);
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *why)
{
	pthread_mutex_lock(&t->lock);
	fail_locked(t, why);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned int qi)
{
	if (!virtq_want_interrupt(t->mem, &t->q[qi])) {
		return;
	}
	pthread_mutex_lock(&t->lock);
	t->isr |= VIRTIO_INT_USED;
	update_line(t);
	pthread_mutex_unlock(&t->lock);
}

/* lock held: wait for the worker to leave work(), so the queues can change under it. */
static void wait_idle(struct virtio_mmio *t)
{
	while (t->busy) {
		pthread_cond_wait(&t->idle, &t->lock);
	}
}

static void reset_locked(struct virtio_mmio *t)
{
	wait_idle(t);
	t->status = 0;
	t->isr = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	t->running = false;
	t->warned = false;
	memset(t->qcfg, 0, sizeof(t->qcfg));
	memset(t->q, 0, sizeof(t->q));
	if (t->ops->reset) {
		t->ops->reset(t);
	}
	update_line(t);
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev, const struct gmem *mem,
		     unsigned int intid, void (*irq)(void *, unsigned int, bool), void *irq_ctx)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->idle, NULL);
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->intid = intid;
	t->irq = irq;
	t->irq_ctx = irq_ctx;
	t->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return t->kick_fd < 0 ? -1 : 0;
}

/* ---- registers ---- */

static uint64_t config_read(struct virtio_mmio *t, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	if (off >= t->config_size || size > t->config_size - off) {
		return 0;
	}
	for (unsigned int i = 0; i < size; i++) {
		v |= (uint64_t)t->config[off + i] << (8 * i);
	}
	return v;
}

uint64_t virtio_mmio_read(struct virtio_mmio *t, uint64_t off, unsigned int size)
{
	struct virtio_queue_cfg *qc;
	uint64_t v = 0;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		v = config_read(t, off - VIRTIO_MMIO_CONFIG, size);
		goto out;
	}
	if (size != 4 || off % 4) {
		goto out; /* 4.2.2.2: the control registers are 32-bit; anything else reads as zero */
	}
	qc = t->queue_sel < t->ops->nr_queues ? &t->qcfg[t->queue_sel] : NULL;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		v = VIRTIO_MMIO_MAGIC;
		break;
	case VIRTIO_MMIO_VERSION:
		v = 2;
		break;
	case VIRTIO_MMIO_DEVICE_ID:
		v = t->ops->device_id;
		break;
	case VIRTIO_MMIO_VENDOR_ID:
		v = VIRTIO_MMIO_VENDOR;
		break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = t->dev_features_sel < 2 ? (uint32_t)(offered(t) >> (32 * t->dev_features_sel)) : 0;
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		v = qc ? VIRTQ_MAX_SIZE : 0; /* 0: no such queue */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		v = qc ? qc->ready : 0;
		break;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		v = t->isr;
		break;
	case VIRTIO_MMIO_STATUS:
		v = t->status;
		break;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		v = 0xffffffffU; /* 4.2.2: all ones = no shared memory region of that id */
		break;
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		v = 0xffffffffU;
		break;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		v = 0; /* the config space never changes after reset */
		break;
	default:
		break; /* write-only or reserved: zero */
	}
out:
	pthread_mutex_unlock(&t->lock);
	return v;
}

/* lock held: FEATURES_OK is accepted only for a subset of the offer that includes VERSION_1. */
static uint32_t accept_features(struct virtio_mmio *t, uint32_t status)
{
	if ((t->driver_features & ~offered(t)) || !(t->driver_features & VIRTIO_F_VERSION_1)) {
		status &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	return status;
}

/* lock held: DRIVER_OK written. Every queue the driver made ready was checked at QueueReady. */
static void go_live(struct virtio_mmio *t)
{
	wait_idle(t);
	for (unsigned int i = 0; i < t->ops->nr_queues; i++) {
		const struct virtio_queue_cfg *qc = &t->qcfg[i];

		memset(&t->q[i], 0, sizeof(t->q[i]));
		if (qc->ready) {
			t->q[i].num = qc->num;
			t->q[i].desc = qc->desc;
			t->q[i].avail = qc->avail;
			t->q[i].used = qc->used;
		}
	}
	t->running = true;
	kick(t); /* buffers made available before DRIVER_OK (the net RX queue) */
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;

	if (v == 0) {
		reset_locked(t);
		return;
	}
	/* The driver only adds bits (3.1.1); NEEDS_RESET is the device's and stays until the reset. */
	v = (v & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		v = accept_features(t, v);
	}
	t->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_NEEDS_RESET)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			fail_locked(t, "DRIVER_OK without FEATURES_OK");
			return;
		}
		go_live(t);
	}
}

static void set_half(uint64_t *r, bool high, uint32_t v)
{
	*r = high ? (*r & 0xffffffffULL) | ((uint64_t)v << 32) : (*r & ~0xffffffffULL) | v;
}

static void write_queue_ready(struct virtio_mmio *t, struct virtio_queue_cfg *qc, uint32_t v)
{
	struct virtq q = { .num = qc->num, .desc = qc->desc, .avail = qc->avail, .used = qc->used };
	const char *why;

	if (v == 0) {
		qc->ready = false; /* only meaningful before DRIVER_OK; a live queue keeps its copy until reset */
		return;
	}
	why = virtq_check(t->mem, &q);
	if (why) {
		fail_locked(t, why);
		return;
	}
	qc->ready = true;
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, unsigned int size, uint64_t value)
{
	uint32_t v = (uint32_t)value;
	struct virtio_queue_cfg *qc;

	if (off >= VIRTIO_MMIO_CONFIG || size != 4 || off % 4) {
		return; /* no device here has a writable config field; other widths are not registers */
	}
	pthread_mutex_lock(&t->lock);
	qc = t->queue_sel < t->ops->nr_queues ? &t->qcfg[t->queue_sel] : NULL;
	/* A queue's configuration is frozen while it is ready (4.2.3.2: the driver must not change it). */
	if (qc && qc->ready && off >= VIRTIO_MMIO_QUEUE_DESC_LOW && off <= VIRTIO_MMIO_QUEUE_DEVICE_HIGH) {
		qc = NULL;
	}
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only before FEATURES_OK: afterwards the negotiated set is fixed (3.1.1). */
		if (t->drv_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
			set_half(&t->driver_features, t->drv_features_sel == 1, v);
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (qc && !qc->ready) {
			qc->num = v <= 0xffff ? (uint16_t)v : 0; /* checked at QueueReady */
		}
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (qc && !(t->status & VIRTIO_STATUS_DRIVER_OK)) {
			write_queue_ready(t, qc, v);
		}
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		t->notifies++;
		if (t->running && v < t->ops->nr_queues) {
			kick(t);
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~v;
		update_line(t);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (qc) {
			set_half(&qc->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		}
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (qc) {
			set_half(&qc->avail, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		}
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (qc) {
			set_half(&qc->used, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		}
		break;
	default:
		break; /* read-only, SHMSel, QueueReset (not offered) or reserved: ignored */
	}
	pthread_mutex_unlock(&t->lock);
}

/* ---- the worker ---- */

void virtio_mmio_run_once(struct virtio_mmio *t)
{
	const char *why = NULL;
	int r;

	pthread_mutex_lock(&t->lock);
	if (!t->running) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	t->busy = true;
	pthread_mutex_unlock(&t->lock);
	r = t->ops->work(t, &why);
	pthread_mutex_lock(&t->lock);
	t->busy = false;
	pthread_cond_broadcast(&t->idle);
	if (r < 0 && t->running) {
		fail_locked(t, why ? why : "device error");
	}
	pthread_mutex_unlock(&t->lock);
}

static void *worker(void *arg)
{
	struct virtio_mmio *t = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = t->kick_fd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
		uint64_t n;
		bool stop;

		pthread_mutex_lock(&t->lock);
		stop = t->stop;
		/* The device's own fd only while it can serve: a tap with input and no driver would spin. */
		if (t->running && t->ops->poll_fd) {
			p[1].fd = t->ops->poll_fd(t);
		}
		pthread_mutex_unlock(&t->lock);
		if (stop) {
			break;
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			break;
		}
		if (p[0].revents & POLLIN) {
			(void)!read(t->kick_fd, &n, sizeof(n));
		}
		virtio_mmio_run_once(t);
	}
	return NULL;
}

void virtio_block_signals(sigset_t *old)
{
	sigset_t all;

	/* Every asynchronous signal is for main's sigwait() or a vCPU's kick, never for a device thread
	 * (a SIGTERM taken here would kill the VMM without its clean stop). The synchronous ones stay
	 * open: SIGBUS is gmem's guard. */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

int virtio_mmio_start(struct virtio_mmio *t)
{
	sigset_t old;
	int r;

	/* The new thread inherits the creator's mask: block, create, restore. */
	virtio_block_signals(&old);
	r = pthread_create(&t->thread, NULL, worker, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		return -1;
	}
	t->started = true;
	return 0;
}

void virtio_mmio_stop(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_mutex_unlock(&t->lock);
	kick(t);
	if (t->started) {
		pthread_join(t->thread, NULL);
		t->started = false;
	}
	if (t->kick_fd >= 0) {
		close(t->kick_fd);
		t->kick_fd = -1;
	}
}

/* ---- what devices share ---- */

bool vmm_fault_parse(const char *s)
{
	static const struct {
		const char *name;
		enum vmm_fault mode;
	} modes[] = { { "vq-index", VMM_FAULT_VQ_INDEX },
		      { "used-idx", VMM_FAULT_USED_IDX },
		      { "desc-len", VMM_FAULT_DESC_LEN },
		      { "desc-addr", VMM_FAULT_DESC_ADDR } };
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);

	for (unsigned int i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strlen(modes[i].name) == len && strncmp(s, modes[i].name, len) == 0) {
			vmm_fault_mode = modes[i].mode;
			if (colon) {
				vmm_fault_after = (unsigned int)strtoul(colon + 1, NULL, 10);
			}
			return true;
		}
	}
	return false;
}

/* desc-addr: try IPAs of the guest that are not the window; each must be refused for a protected VM. */
static void probe_outside(const struct virtio_mmio *t)
{
	const struct gmem *g = t->mem;
	uint64_t probes[4] = { g->ram_base, g->ram_base + 0x200000, g->win_base - 4096, g->win_base + g->win_size };
	uint8_t buf[64];

	for (unsigned int i = 0; i < 4; i++) {
		if (gmem_ptr(g, probes[i], sizeof(buf)) == NULL) {
			atomic_fetch_add(&vmm_fault_probes, 1);
			if (gmem_read_unchecked(g, probes[i], buf, sizeof(buf)) != 0) {
				atomic_fetch_add(&vmm_fault_refused, 1);
			}
		}
	}
}

int virtio_push(struct virtio_mmio *t, unsigned int qi, uint16_t head, uint32_t len)
{
	static _Thread_local unsigned int pushes;
	struct virtq *q = &t->q[qi];

	if (vmm_fault_mode == VMM_FAULT_NONE || ++pushes <= vmm_fault_after) {
		return virtq_push(t->mem, q, head, len);
	}
	switch (vmm_fault_mode) {
	case VMM_FAULT_VQ_INDEX:
		return virtq_push(t->mem, q, (uint16_t)(head + q->num), len);
	case VMM_FAULT_DESC_LEN:
		return virtq_push(t->mem, q, head, 0xffffffffU);
	case VMM_FAULT_USED_IDX: {
		int r = virtq_push(t->mem, q, head, len);
		uint16_t idx = (uint16_t)(q->used_idx + 64);

		(void)gmem_write(t->mem, q->used + 2, &idx, 2);
		return r;
	}
	case VMM_FAULT_DESC_ADDR:
		probe_outside(t);
		return virtq_push(t->mem, q, head, len);
	default:
		return virtq_push(t->mem, q, head, len);
	}
}

int virtio_serve_queue(struct virtio_mmio *t, unsigned int qi,
		       int64_t (*handle)(struct virtio_mmio *t, struct virtq_elem *e, const char **why),
		       const char **why)
{
	struct virtq *q = &t->q[qi];
	struct virtq_elem *e;
	unsigned int done = 0;
	int r = 0;

	if (q->num == 0) {
		return 0; /* the driver did not set this queue up */
	}
	e = malloc(sizeof(*e));
	if (e == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (;;) {
		int got;

		/* No kicks while we drain: each would be an MMIO exit for nothing (2.7.10). */
		virtq_set_no_notify(t->mem, q, true);
		while ((got = virtq_pop(t->mem, q, e, why)) == VIRTQ_GOT) {
			int64_t n = handle(t, e, why);

			if (n < 0 || virtio_push(t, qi, e->head, (uint32_t)n) != 0) {
				if (n >= 0) {
					*why = "used ring unwritable";
				}
				got = VIRTQ_ERR;
				break;
			}
			done++;
		}
		virtq_set_no_notify(t->mem, q, false);
		if (got == VIRTQ_ERR) {
			r = -1;
			break;
		}
		/* A chain made available after our last look but before the flag cleared sent no kick. */
		if (!virtq_pending(t->mem, q)) {
			break;
		}
	}
	free(e);
	if (done) {
		virtio_mmio_used(t, qi);
	}
	return r;
}
