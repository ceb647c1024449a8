/*
 * virtio-net on a tap interface (virtio_dev.h). Queue 0 receives, queue 1 transmits. The tap is
 * opened with IFF_VNET_HDR and a 12-byte header, the layout of struct virtio_net_hdr_v1, so a frame
 * and its header move between the guest's buffers and the tap in one readv/writev with no copy in
 * between. Transmit offloads are offered (checksum, TSO for IPv4 and IPv6): the guest then sends up
 * to 64 KiB per frame and the host's network stack (tun's virtio_net_hdr_to_skb) checksums and
 * segments it, one descriptor chain and one writev instead of ~45 of each. Nothing is offered for
 * receive: the tap hands us plain frames (no TUNSETOFFLOAD), so the header it writes is all zeros
 * but num_buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/if.h>
#include <linux/if_tun.h>
#endif

#include "virtio_dev.h"

int virtio_net_open(struct virtio_net *n, const char *name)
{
#ifdef __linux__
	struct ifreq ifr;
	int hdr = VIRTIO_NET_HDR_LEN;

	memset(n, 0, sizeof(*n));
	/* 52:54:00 is QEMU's locally administered prefix; the last bytes only need to differ from the host's. */
	memcpy(n->mac, "\x52\x54\x00\x12\x34\x56", 6);
	if (strlen(name) >= IFNAMSIZ) {
		return -ENAMETOOLONG;
	}
	n->tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (n->tap < 0) {
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap, TUNSETIFF, &ifr) != 0 || ioctl(n->tap, TUNSETVNETHDRSZ, &hdr) != 0) {
		int err = errno;

		close(n->tap);
		n->tap = -1;
		return -err;
	}
	return 0;
#else
	(void)n;
	(void)name;
	return -ENOSYS;
#endif
}

void virtio_net_attach(struct virtio_mmio *t, struct virtio_net *n)
{
	t->config_size = 8; /* mac[6], status (not offered: reads 0) */
	memcpy(t->config, n->mac, 6);
}

static int64_t net_tx(struct virtio_mmio *t, struct virtq_elem *e, const char **why)
{
	struct virtio_net *n = t->dev;
	ssize_t r;

	if (e->n_in != 0 || e->out_len < VIRTIO_NET_HDR_LEN) {
		*why = "virtio-net transmit buffer without header, or writable";
		return -1;
	}
	/* A frame the tap cannot take now (EAGAIN: its queue is full) is dropped, as a NIC would. */
	do {
		r = writev(n->tap, e->iov, (int)e->n_out);
	} while (r < 0 && errno == EINTR);
	n->tx_packets++;
	return 0;
}

/* Fills receive buffers while the tap has frames; leaves the buffer it could not fill available. */
static int net_rx(struct virtio_mmio *t, const char **why)
{
	struct virtio_net *n = t->dev;
	struct virtq *q = &t->q[0];
	struct virtq_elem *e = NULL;
	unsigned int done = 0;
	int r = 0;
	static const uint16_t one = 1;

	if (q->num == 0) {
		return 0;
	}
	e = __builtin_alloca(sizeof(*e));
	for (;;) {
		ssize_t len;
		int got = virtq_pop(t->mem, q, e, why);

		if (got == VIRTQ_ERR) {
			r = -1;
			break;
		}
		if (got == VIRTQ_EMPTY) {
			n->rx_starved = true;
			break;
		}
		n->rx_starved = false;
		if (e->n_out != 0 || e->in_len < VIRTIO_NET_HDR_LEN || e->iov[0].iov_len < VIRTIO_NET_HDR_LEN) {
			*why = "virtio-net receive buffer too small or readable";
			r = -1;
			break;
		}
		do {
			len = readv(n->tap, e->iov, (int)e->n_in);
		} while (len < 0 && errno == EINTR);
		if (len < 0) {
			q->last_avail--; /* nothing to receive: the buffer stays the guest's, for the next frame */
			break;
		}
		/* num_buffers (offset 10): 1 without MRG_RXBUF (5.1.6.4); the tap leaves those bytes alone. */
		if (len < VIRTIO_NET_HDR_LEN || gmem_write(t->mem, e->ipa[0] + 10, &one, 2) != 0 ||
		    virtio_push(t, 0, e->head, (uint32_t)len) != 0) {
			if (len < VIRTIO_NET_HDR_LEN) {
				n->rx_dropped++;
				if (virtio_push(t, 0, e->head, 0) == 0) {
					continue;
				}
			}
			*why = "virtio-net receive ring unwritable";
			r = -1;
			break;
		}
		n->rx_packets++;
		done++;
	}
	if (done) {
		virtio_mmio_used(t, 0);
	}
	return r;
}

static int net_work(struct virtio_mmio *t, const char **why)
{
	if (virtio_serve_queue(t, 1, net_tx, why) != 0) {
		return -1;
	}
	return net_rx(t, why);
}

static int net_poll_fd(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	return n->rx_starved ? -1 : n->tap;
}

static void net_reset(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	n->rx_starved = false;
}

const struct virtio_device_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_MAC | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6,
	.nr_queues = 2,
	.reset = net_reset,
	.work = net_work,
	.poll_fd = net_poll_fd,
};
