/*
 * The VMM's MMIO bus: the devices user space emulates (today the PL011), looked up by address on each
 * MMIO exit, and a record of the accesses no device claimed. Those read as zero and ignore writes (so
 * a guest probing an absent device sees nothing rather than an abort), and are counted per address so
 * that moat-vmm can say once at exit what the guest looked for (mmio_report).
 *
 * Thread-safety: the device table is fixed before the vCPU threads start and only read after; the
 * unclaimed-access table has its own mutex (each device locks itself).
 */
#ifndef MOAT_VMM_MMIO_H
#define MOAT_VMM_MMIO_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define MMIO_MAX_DEVICES 8
#define MMIO_MAX_UNCLAIMED 64 /* distinct addresses remembered; later ones are only summed up */

struct mmio_device {
	const char *name;
	uint64_t base, size;
	uint64_t (*read)(void *dev, uint64_t off, unsigned int size);
	void (*write)(void *dev, uint64_t off, unsigned int size, uint64_t value);
	void *dev;
};

struct mmio_unclaimed {
	uint64_t ipa;
	uint64_t reads, writes;
};

struct mmio_bus {
	struct mmio_device devices[MMIO_MAX_DEVICES];
	unsigned int nr_devices;
	pthread_mutex_t lock; /* guards the fields below */
	struct mmio_unclaimed unclaimed[MMIO_MAX_UNCLAIMED];
	unsigned int nr_unclaimed;
	uint64_t other_reads, other_writes; /* accesses to addresses beyond the table's capacity */
};

void mmio_init(struct mmio_bus *bus);
/* Adds a device (before any access); returns -1 if the table is full or it overlaps another. */
int mmio_add(struct mmio_bus *bus, const struct mmio_device *d);
/* One guest access; returns the value for a read (0 for unclaimed addresses). */
uint64_t mmio_access(struct mmio_bus *bus, uint64_t ipa, unsigned int size, int is_write, uint64_t value);
/* Writes one line per unclaimed address, sorted by address, prefixed "moat-vmm: "; nothing if none. */
void mmio_report(struct mmio_bus *bus, FILE *f);

#endif
