/*
 * virtio-blk on a raw image file (virtio_dev.h). Requests are served synchronously on the
 * transport's worker: preadv/pwritev straight between the file and the guest buffers (inside the
 * gmem window; the kernel answers a page the guest withheld with EFAULT, which becomes IOERR).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio_dev.h"

#define SECTOR 512ULL
#define BLK_ID "moat-vmm-disk" /* GET_ID: up to 20 bytes, unterminated if exactly 20 */

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

int virtio_blk_open(struct virtio_blk *b, const char *path)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	b->fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0 && (errno == EACCES || errno == EROFS)) {
		b->fd = open(path, O_RDONLY | O_CLOEXEC);
		b->read_only = true;
	}
	if (b->fd < 0) {
		return -errno;
	}
	if (fstat(b->fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		close(b->fd);
		b->fd = -1;
		return -EINVAL;
	}
	b->size = (uint64_t)st.st_size & ~(SECTOR - 1);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

void virtio_blk_attach(struct virtio_mmio *t, struct virtio_blk *b)
{
	uint64_t sectors = b->size / SECTOR;

	t->config_size = 24; /* capacity, size_max, seg_max, geometry, blk_size */
	put32(&t->config[0], (uint32_t)sectors);
	put32(&t->config[4], (uint32_t)(sectors >> 32));
	put32(&t->config[12], VIRTIO_BLK_SEG_MAX);
	put32(&t->config[20], SECTOR);
}

/* Copies len bytes starting at byte `skip` of the chain's segments [first, first + n) out of the guest. */
static int gather(struct virtio_mmio *t, const struct virtq_elem *e, unsigned int first, unsigned int n, void *dst,
		  size_t len)
{
	uint8_t *d = dst;

	for (unsigned int i = first; i < first + n && len; i++) {
		size_t c = e->iov[i].iov_len < len ? e->iov[i].iov_len : len;

		if (gmem_read(t->mem, e->ipa[i], d, c) != 0) {
			return -1;
		}
		d += c;
		len -= c;
	}
	return len ? -1 : 0;
}

/*
 * Builds in io[] the chain's segments [first, first + n) less `skip` bytes at the front and `trim`
 * at the end. Returns the count, or -1 if the segments hold fewer than skip + trim bytes.
 */
static int slice(const struct virtq_elem *e, unsigned int first, unsigned int n, uint64_t skip, uint64_t trim,
		 struct iovec *io, uint64_t *total)
{
	uint64_t sum = 0, want;
	int k = 0;

	for (unsigned int i = first; i < first + n; i++) {
		sum += e->iov[i].iov_len;
	}
	if (sum < skip + trim) {
		return -1;
	}
	want = sum - skip - trim;
	*total = want;
	for (unsigned int i = first; i < first + n && want; i++) {
		uint64_t len = e->iov[i].iov_len;
		uint8_t *base = e->iov[i].iov_base;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		base += skip;
		len -= skip;
		skip = 0;
		if (len > want) {
			len = want;
		}
		io[k].iov_base = base;
		io[k].iov_len = len;
		k++;
		want -= len;
	}
	return k;
}

/* The whole of io[] at offset off; false on an error or short transfer. */
static bool file_io(int fd, bool write, struct iovec *io, int n, uint64_t off, uint64_t total)
{
	while (total) {
		ssize_t r = write ? pwritev(fd, io, n, (off_t)off) : preadv(fd, io, n, (off_t)off);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return false;
		}
		total -= (uint64_t)r;
		off += (uint64_t)r;
		/* Rare (signals, huge requests): step past what was done and go on. */
		while (r > 0 && n > 0) {
			if ((size_t)r >= io->iov_len) {
				r -= (ssize_t)io->iov_len;
				io++;
				n--;
			} else {
				io->iov_base = (uint8_t *)io->iov_base + r;
				io->iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return true;
}

static int64_t blk_request(struct virtio_mmio *t, struct virtq_elem *e, const char **why)
{
	struct virtio_blk *b = t->dev;
	struct blk_req_hdr h;
	struct iovec io[VIRTQ_MAX_SEGS];
	uint64_t total = 0, status_ipa, written = 0;
	uint8_t status = VIRTIO_BLK_S_OK;
	int n;

	/* 5.2.6: header in the readable part, a status byte at the very end of the writable part. */
	if (e->n_in == 0 || e->iov[e->n_out + e->n_in - 1].iov_len == 0 || gather(t, e, 0, e->n_out, &h, sizeof(h))) {
		*why = "virtio-blk request without header or status byte";
		return -1;
	}
	status_ipa = e->ipa[e->n_out + e->n_in - 1] + e->iov[e->n_out + e->n_in - 1].iov_len - 1;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (h.type == VIRTIO_BLK_T_IN) {
			n = slice(e, e->n_out, e->n_in, 0, 1, io, &total);
		} else {
			n = slice(e, 0, e->n_out, sizeof(h), 0, io, &total);
		}
		if (n < 0) {
			*why = "virtio-blk request shorter than its header";
			return -1;
		}
		/* sector * 512 + total inside the image, without overflow */
		if (total % SECTOR || h.sector > b->size / SECTOR || total > b->size - h.sector * SECTOR) {
			status = VIRTIO_BLK_S_IOERR;
		} else if (h.type == VIRTIO_BLK_T_OUT && b->read_only) {
			status = VIRTIO_BLK_S_IOERR;
		} else if (!file_io(b->fd, h.type == VIRTIO_BLK_T_OUT, io, n, h.sector * SECTOR, total)) {
			status = VIRTIO_BLK_S_IOERR;
		} else if (h.type == VIRTIO_BLK_T_IN) {
			written = total;
			b->reads++;
		} else {
			b->writes++;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[20] = BLK_ID;

		n = slice(e, e->n_out, e->n_in, 0, 1, io, &total);
		if (n < 0) {
			*why = "virtio-blk request shorter than its header";
			return -1;
		}
		if (total > sizeof(id)) {
			total = sizeof(id);
		}
		for (int i = 0; i < n && written < total; i++) {
			uint64_t c = io[i].iov_len < total - written ? io[i].iov_len : total - written;

			/* io[] points inside the window: write through the guard, by IPA offset. */
			if (gmem_write(t->mem, t->mem->ram_base + ((uint8_t *)io[i].iov_base - t->mem->ram), id + written,
				       c) != 0) {
				status = VIRTIO_BLK_S_IOERR;
				break;
			}
			written += c;
		}
		break;
	}
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (gmem_write(t->mem, status_ipa, &status, 1) != 0) {
		*why = "virtio-blk status byte unwritable";
		return -1;
	}
	return (int64_t)(written + 1);
}

static int blk_work(struct virtio_mmio *t, const char **why)
{
	return virtio_serve_queue(t, 0, blk_request, why);
}

const struct virtio_device_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH,
	.nr_queues = 1,
	.work = blk_work,
};

const struct virtio_device_ops virtio_blk_ro_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO,
	.nr_queues = 1,
	.work = blk_work,
};
