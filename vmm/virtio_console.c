/*
 * virtio-console with one port and no multiport (virtio_dev.h): queue 0 receives (the VMM never
 * fills it: input stays with the PL011), queue 1 transmits to out_fd. Linux makes the port hvc0.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio_dev.h"

void virtio_console_attach(struct virtio_mmio *t, struct virtio_console *c)
{
	(void)c;
	t->config_size = 12; /* cols, rows, max_nr_ports, emerg_wr: none offered, all read 0 */
}

static int64_t console_tx(struct virtio_mmio *t, struct virtq_elem *e, const char **why)
{
	struct virtio_console *c = t->dev;

	(void)why;
	/* The output goes where stdout goes; a closed stdout just loses it, as with the PL011. */
	if (e->n_out && writev(c->out_fd, e->iov, (int)e->n_out) < 0) {
		return 0;
	}
	return 0;
}

static int console_work(struct virtio_mmio *t, const char **why)
{
	return virtio_serve_queue(t, 1, console_tx, why);
}

const struct virtio_device_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = 0,
	.nr_queues = 2,
	.work = console_work,
};
