/*
 * Split virtqueue parsing (virtq.h). The guest can change any ring byte at any time, so each value
 * is read once into a local, checked, and only the local is used; the checks are ordered so that an
 * index is bounded before it becomes an offset.
 */
#include <stddef.h>
#include <string.h>

#include "virtq.h"

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define AVAIL_RING(q, i) ((q)->avail + 4 + 2ULL * (i))
#define USED_RING(q, i) ((q)->used + 4 + 8ULL * (i))

const char *virtq_check(const struct gmem *g, const struct virtq *q)
{
	if (q->num == 0 || q->num > VIRTQ_MAX_SIZE || (q->num & (q->num - 1)) != 0) {
		return "queue size not a power of two up to 256";
	}
	if (q->desc % 16 || q->avail % 2 || q->used % 4) {
		return "queue area misaligned";
	}
	/* Sizes from 2.7: desc 16 * num; avail flags, idx, ring, used_event; used flags, idx, ring, avail_event. */
	if (!gmem_ptr(g, q->desc, 16ULL * q->num) || !gmem_ptr(g, q->avail, 6 + 2ULL * q->num) ||
	    !gmem_ptr(g, q->used, 6 + 8ULL * q->num)) {
		return "queue area outside the memory the device may use";
	}
	return NULL;
}

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return VIRTQ_ERR;
}

bool virtq_pending(const struct gmem *g, const struct virtq *q)
{
	uint16_t idx;

	if (gmem_read(g, q->avail + 2, &idx, 2) != 0) {
		return true; /* let virtq_pop meet the refusal and report it */
	}
	return idx != q->last_avail;
}

int virtq_pop(const struct gmem *g, struct virtq *q, struct virtq_elem *e, const char **why)
{
	uint16_t avail_idx, head, i;
	unsigned int seen = 0;
	bool writable = false;

	if (gmem_read(g, q->avail + 2, &avail_idx, 2) != 0) {
		return fail(why, "avail ring unreadable");
	}
	if (avail_idx == q->last_avail) {
		return VIRTQ_EMPTY;
	}
	/* The driver can be at most num entries ahead of us (2.7.13): more is an index jump. */
	if ((uint16_t)(avail_idx - q->last_avail) > q->num) {
		return fail(why, "avail index jumped past the queue size");
	}
	/* Read the ring entry only after the index that published it (the driver's write barrier pairs). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (gmem_read(g, AVAIL_RING(q, q->last_avail & (q->num - 1)), &head, 2) != 0) {
		return fail(why, "avail ring unreadable");
	}
	if (head >= q->num) {
		return fail(why, "head index out of range");
	}
	memset(e, 0, offsetof(struct virtq_elem, iov));
	e->head = head;
	i = head;
	for (;;) {
		struct vring_desc d;
		void *p;
		unsigned int n = e->n_out + e->n_in;

		/* A chain longer than the table must revisit a descriptor: a loop. */
		if (++seen > q->num) {
			return fail(why, "descriptor chain loops");
		}
		if (gmem_read(g, q->desc + 16ULL * i, &d, sizeof(d)) != 0) {
			return fail(why, "descriptor table unreadable");
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			return fail(why, "indirect descriptor (not offered)");
		}
		if (n == VIRTQ_MAX_SEGS) {
			return fail(why, "descriptor chain too long");
		}
		p = gmem_ptr(g, d.addr, d.len);
		if (p == NULL) {
			return fail(why, "descriptor outside the memory the device may use");
		}
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			writable = true;
			e->in_len += d.len;
			e->n_in++;
		} else {
			if (writable) {
				return fail(why, "readable descriptor after a writable one");
			}
			e->out_len += d.len;
			e->n_out++;
		}
		e->iov[n].iov_base = p;
		e->iov[n].iov_len = d.len;
		e->ipa[n] = d.addr;
		if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
			break;
		}
		if (d.next >= q->num) {
			return fail(why, "next index out of range");
		}
		i = d.next;
	}
	q->last_avail++;
	return VIRTQ_GOT;
}

int virtq_push(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len)
{
	uint32_t ent[2] = { head, len };
	uint16_t idx = (uint16_t)(q->used_idx + 1);

	if (gmem_write(g, USED_RING(q, q->used_idx & (q->num - 1)), ent, sizeof(ent)) != 0) {
		return VIRTQ_ERR;
	}
	/* The entry before the index that publishes it (2.7.8.2). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (gmem_write(g, q->used + 2, &idx, 2) != 0) {
		return VIRTQ_ERR;
	}
	q->used_idx = idx;
	return 0;
}

bool virtq_want_interrupt(const struct gmem *g, const struct virtq *q)
{
	uint16_t flags;

	/* Read after the used index went out: a driver that re-enables interrupts then rechecks used. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return gmem_read(g, q->avail, &flags, 2) != 0 || !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_set_no_notify(const struct gmem *g, const struct virtq *q, bool on)
{
	uint16_t flags = on ? VIRTQ_USED_F_NO_NOTIFY : 0;

	(void)gmem_write(g, q->used, &flags, 2);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
