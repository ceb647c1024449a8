/*
 * virtio-mmio, version 2 (virtio 1.x, 4.2.2): the register block a device shows the guest at one
 * 0x200-byte slot of the MMIO window, its device-status and feature negotiation, each queue's
 * configuration, the interrupt status / ACK pair behind one level-triggered SPI, and the worker
 * thread a device's requests are served on (never a vCPU thread: a QueueNotify write only wakes it).
 *
 * Every device offers VIRTIO_F_VERSION_1 (no legacy interface) and VIRTIO_F_ACCESS_PLATFORM: with
 * it Linux sends every buffer through the DMA API, which for a protected guest bounces it through
 * the restricted-dma-pool the guest shared; without it Linux would hand the device private pages.
 *
 * A driver that breaks the rules (a queue outside the pool, a bad descriptor, an index jump) gets
 * DEVICE_NEEDS_RESET in Status and a configuration-change interrupt (2.1.2); the device then serves
 * nothing until the driver resets it by writing 0 to Status.
 *
 * Thread-safety: `lock` guards the register state; vCPU threads (MMIO exits) and the worker take it.
 * The worker runs a device's work() without it, with `busy` set: a reset (Status 0) waits until the
 * worker is idle before it clears the queues the worker uses. The irq callback is made with the lock
 * held, so line levels reach the hypervisor in the order the model produced them.
 */
#ifndef MOAT_VMM_VIRTIO_MMIO_H
#define MOAT_VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "virtq.h"

#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_MAX_QUEUES 2
#define VIRTIO_MMIO_CONFIG_MAX 64

/* Registers (4.2.2) */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976U
#define VIRTIO_MMIO_VENDOR 0x54414f4dU /* "MOAT": any value; Linux only prints it */

/* Device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* InterruptStatus bits */
#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

#define VIRTIO_F_VERSION_1 (1ULL << 32)
#define VIRTIO_F_ACCESS_PLATFORM (1ULL << 33)

struct virtio_mmio;

struct virtio_device_ops {
	const char *name; /* for messages: "virtio-blk" */
	uint32_t device_id;
	uint64_t features; /* the device's own bits; the transport adds VERSION_1 and ACCESS_PLATFORM */
	unsigned int nr_queues;
	/* Driver reset (Status 0): forget per-run state. The worker is idle. May be NULL. */
	void (*reset)(struct virtio_mmio *t);
	/* Serve the queues (on the worker thread, lock not held). Returns 0, or -1 with *why after a
	 * driver error: the transport then sets NEEDS_RESET. */
	int (*work)(struct virtio_mmio *t, const char **why);
	/* An fd the worker should also wait on for input (the tap), or -1 for none now. May be NULL. */
	int (*poll_fd)(struct virtio_mmio *t);
};

struct virtio_queue_cfg {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* broadcast when busy goes false */
	const struct virtio_device_ops *ops;
	void *dev; /* the device's own state */
	const struct gmem *mem;
	uint8_t config[VIRTIO_MMIO_CONFIG_MAX]; /* device config space, little-endian; set by the device */
	unsigned int config_size;
	/* Register state (lock) */
	uint32_t status, isr, dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	struct virtio_queue_cfg qcfg[VIRTIO_MMIO_MAX_QUEUES];
	bool running; /* DRIVER_OK and not NEEDS_RESET: the worker may serve */
	bool busy;    /* the worker is inside work() */
	bool stop;
	bool line;    /* the level last sent through irq() */
	bool warned;  /* one NEEDS_RESET message per device */
	/* The worker's own copies of the queues, set when DRIVER_OK is written (lock and !busy). */
	struct virtq q[VIRTIO_MMIO_MAX_QUEUES];
	int kick_fd; /* eventfd: QueueNotify and stop */
	unsigned int intid;
	void (*irq)(void *ctx, unsigned int intid, bool level);
	void *irq_ctx;
	pthread_t thread;
	bool started;
	uint64_t notifies, interrupts; /* counters for tests and make bench */
};

/* Prepares the transport (no thread yet). Returns 0 or -1 (no eventfd). */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev, const struct gmem *mem,
		     unsigned int intid, void (*irq)(void *, unsigned int, bool), void *irq_ctx);
/* Blocks every asynchronous signal in the calling thread (the old mask in *old): for device threads. */
void virtio_block_signals(sigset_t *old);
/* Starts the worker thread, which takes no asynchronous signal; 0 or -1. */
int virtio_mmio_start(struct virtio_mmio *t);
/* Stops and joins the worker (if started) and closes the eventfd. */
void virtio_mmio_stop(struct virtio_mmio *t);

/* One guest access at offset off (0..0x1ff) of the slot. */
uint64_t virtio_mmio_read(struct virtio_mmio *t, uint64_t off, unsigned int size);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, unsigned int size, uint64_t value);

/* For devices (worker thread): raise the used-buffer interrupt for queue qi unless the driver
 * suppressed it. */
void virtio_mmio_used(struct virtio_mmio *t, unsigned int qi);
/* Sets NEEDS_RESET and raises the configuration-change interrupt; prints why once per device. */
void virtio_mmio_fail(struct virtio_mmio *t, const char *why);
/* Runs one worker iteration synchronously (the tests' stand-in for the thread): work() if running. */
void virtio_mmio_run_once(struct virtio_mmio *t);

/*
 * Test-only malicious-VMM mode (MOAT_VMM_FAULT_INJECT=MODE[:AFTER], docs/moat-vmm.md): after AFTER
 * used buffers (default 100) per device, each further one is pushed corrupted:
 *   vq-index   used element id out of range (head + queue size)
 *   used-idx   used->idx jumped 64 ahead of the entries written
 *   desc-len   used length 0xffffffff
 *   desc-addr  the device also reads guest RAM outside the window (below the pool, the kernel's first
 *              page...), which the core must refuse for a protected VM (counted in gmem_refused())
 */
enum vmm_fault { VMM_FAULT_NONE, VMM_FAULT_VQ_INDEX, VMM_FAULT_USED_IDX, VMM_FAULT_DESC_LEN, VMM_FAULT_DESC_ADDR };
extern enum vmm_fault vmm_fault_mode;
extern unsigned int vmm_fault_after;
/* desc-addr: reads tried outside the window, and how many the kernel refused (SIGBUS) */
extern _Atomic unsigned long long vmm_fault_probes, vmm_fault_refused;
/* Parses the variable's value; false if unknown (mode left NONE). */
bool vmm_fault_parse(const char *s);
/* virtq_push plus the fault injection above; what devices call. */
int virtio_push(struct virtio_mmio *t, unsigned int qi, uint16_t head, uint32_t len);

/* Serves every available chain of queue qi with handle() (returns the bytes written to the chain's
 * writable part, or -1 on a malformed request: NEEDS_RESET), suppressing kicks while it drains and
 * interrupting once at the end. Returns 0 or -1 with *why. */
int virtio_serve_queue(struct virtio_mmio *t, unsigned int qi,
		       int64_t (*handle)(struct virtio_mmio *t, struct virtq_elem *e, const char **why),
		       const char **why);

#endif
