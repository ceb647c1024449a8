/*
 * The virtio devices moat-vmm offers on its virtio-mmio transports (virtio_mmio.h):
 *   virtio-blk      a raw image file (--disk FILE): read, write, flush, get-id
 *   virtio-net      a tap interface of the host (--net tap:NAME), the virtio-net header passed through
 *                   to the tap (IFF_VNET_HDR, header size 12) so no byte is rewritten on the way
 *   virtio-console  one port (hvc0) whose output goes to the VMM's stdout (--virtio-console)
 * Each device's state is used by its transport's worker thread only (set up before it starts).
 */
#ifndef MOAT_VMM_VIRTIO_DEV_H
#define MOAT_VMM_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3

/* virtio-blk (5.2) */
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_SEG_MAX 128 /* data segments per request: VIRTQ_MAX_SEGS less header and status */

struct virtio_blk {
	int fd;
	uint64_t size; /* bytes, a multiple of 512 (a tail is not offered) */
	bool read_only;
	uint64_t reads, writes; /* requests served */
};

/* Opens the image (read-write, or read-only if that is all the file allows). Returns 0 or -errno. */
int virtio_blk_open(struct virtio_blk *b, const char *path);
/* Transport set-up: config space (capacity, seg_max, blk_size) and features. */
void virtio_blk_attach(struct virtio_mmio *t, struct virtio_blk *b);
extern const struct virtio_device_ops virtio_blk_ops, virtio_blk_ro_ops;

/* virtio-net (5.1) */
#define VIRTIO_NET_F_CSUM (1ULL << 0)	    /* the guest may leave checksums to the device (the tap) */
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_HOST_TSO4 (1ULL << 11) /* and send TCP segments up to 64 KiB (the tap splits them) */
#define VIRTIO_NET_F_HOST_TSO6 (1ULL << 12)
#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr_v1: VERSION_1 always has num_buffers */

struct virtio_net {
	int tap;
	uint8_t mac[6];
	bool rx_starved; /* no RX buffer last time: do not poll the tap until the driver kicks */
	uint64_t rx_packets, tx_packets, rx_dropped;
};

/* Opens tap NAME (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking). Returns 0 or -errno. */
int virtio_net_open(struct virtio_net *n, const char *name);
void virtio_net_attach(struct virtio_mmio *t, struct virtio_net *n);
extern const struct virtio_device_ops virtio_net_ops;

/* virtio-console (5.3) */
struct virtio_console {
	int out_fd; /* where the port's output goes */
};

void virtio_console_attach(struct virtio_mmio *t, struct virtio_console *c);
extern const struct virtio_device_ops virtio_console_ops;

#endif
