/*
 * Split virtqueues (virtio 1.x, 2.7) as a device sees them: take the next available chain
 * (virtq_pop), give it back as used (virtq_push). Every value in guest memory is untrusted: the
 * available index may jump, a head or a `next` may be out of range, a chain may loop, an address or
 * length may point outside the memory the VMM may touch (gmem.h) or wrap, a writable descriptor may
 * come before a readable one, a descriptor may ask for INDIRECT (not offered). Any of those makes
 * virtq_pop return VIRTQ_ERR: the transport then marks the device DEVICE_NEEDS_RESET and stops
 * using the queue; nothing here loops for longer than the queue size or touches memory outside the
 * window.
 * Thread-safety: a queue is used by its device's worker thread only, while the transport keeps the
 * queue's configuration fixed (DRIVER_OK; see virtio_mmio.h).
 */
#ifndef MOAT_VMM_VIRTQ_H
#define MOAT_VMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"

#define VIRTQ_MAX_SIZE 256 /* QueueNumMax of every queue here: Linux's virtio-blk and -net use up to 256 */
#define VIRTQ_MAX_SEGS 130 /* per chain: virtio-blk's header + seg_max (128) data + status */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq {
	uint16_t num; /* the driver's QueueNum: a power of two, 1..VIRTQ_MAX_SIZE */
	uint64_t desc, avail, used; /* IPAs of the three areas */
	uint16_t last_avail; /* next avail ring entry the device takes */
	uint16_t used_idx;   /* the device's copy of used->idx */
};

/* One chain: readable segments first (n_out), then writable ones (n_in). */
struct virtq_elem {
	uint16_t head;
	unsigned int n_out, n_in;
	uint64_t out_len, in_len; /* byte totals */
	struct iovec iov[VIRTQ_MAX_SEGS]; /* host addresses inside the gmem window */
	uint64_t ipa[VIRTQ_MAX_SEGS];
};

enum { VIRTQ_ERR = -1, VIRTQ_EMPTY = 0, VIRTQ_GOT = 1 };

/*
 * Checks a queue's configuration as the driver wrote it (QueueReady): size a power of two up to
 * VIRTQ_MAX_SIZE, each area aligned as 2.7 requires (16, 2, 4) and wholly inside the window.
 * Returns NULL or why not.
 */
const char *virtq_check(const struct gmem *g, const struct virtq *q);
/* Takes the next chain: VIRTQ_GOT, VIRTQ_EMPTY, or VIRTQ_ERR with *why set. */
int virtq_pop(const struct gmem *g, struct virtq *q, struct virtq_elem *e, const char **why);
/* Puts (head, len) in the used ring and publishes used->idx; 0 or VIRTQ_ERR (ring memory refused). */
int virtq_push(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver asked for no interrupt (avail->flags; read refused: true, interrupt anyway). */
bool virtq_want_interrupt(const struct gmem *g, const struct virtq *q);
/* Sets or clears VIRTQ_USED_F_NO_NOTIFY (the worker suppresses kicks while it drains the queue). */
void virtq_set_no_notify(const struct gmem *g, const struct virtq *q, bool on);
/* Whether a chain is waiting (avail->idx != last_avail); a refused read counts as waiting. */
bool virtq_pending(const struct gmem *g, const struct virtq *q);

#endif
