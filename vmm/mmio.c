/*
 * MMIO dispatch and the unclaimed-access record (see mmio.h for the locking).
 */
#include <stdlib.h>
#include <string.h>

#include "mmio.h"

void mmio_init(struct mmio_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
}

int mmio_add(struct mmio_bus *bus, const struct mmio_device *d)
{
	if (bus->nr_devices == MMIO_MAX_DEVICES || d->size == 0) {
		return -1;
	}
	for (unsigned int i = 0; i < bus->nr_devices; i++) {
		const struct mmio_device *o = &bus->devices[i];

		if (d->base < o->base + o->size && o->base < d->base + d->size) {
			return -1;
		}
	}
	bus->devices[bus->nr_devices++] = *d;
	return 0;
}

static void count_unclaimed(struct mmio_bus *bus, uint64_t ipa, int is_write)
{
	struct mmio_unclaimed *u = NULL;

	pthread_mutex_lock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr_unclaimed; i++) {
		if (bus->unclaimed[i].ipa == ipa) {
			u = &bus->unclaimed[i];
			break;
		}
	}
	if (u == NULL && bus->nr_unclaimed < MMIO_MAX_UNCLAIMED) {
		u = &bus->unclaimed[bus->nr_unclaimed++];
		u->ipa = ipa;
	}
	if (u) {
		*(is_write ? &u->writes : &u->reads) += 1;
	} else {
		*(is_write ? &bus->other_writes : &bus->other_reads) += 1;
	}
	pthread_mutex_unlock(&bus->lock);
}

uint64_t mmio_access(struct mmio_bus *bus, uint64_t ipa, unsigned int size, int is_write, uint64_t value)
{
	for (unsigned int i = 0; i < bus->nr_devices; i++) {
		struct mmio_device *d = &bus->devices[i];

		if (ipa >= d->base && ipa - d->base < d->size) {
			if (is_write) {
				d->write(d->dev, ipa - d->base, size, value);
				return 0;
			}
			return d->read(d->dev, ipa - d->base, size);
		}
	}
	count_unclaimed(bus, ipa, is_write);
	return 0;
}

static int by_ipa(const void *a, const void *b)
{
	uint64_t x = ((const struct mmio_unclaimed *)a)->ipa, y = ((const struct mmio_unclaimed *)b)->ipa;

	return x < y ? -1 : x > y;
}

void mmio_report(struct mmio_bus *bus, FILE *f)
{
	pthread_mutex_lock(&bus->lock);
	qsort(bus->unclaimed, bus->nr_unclaimed, sizeof(bus->unclaimed[0]), by_ipa);
	for (unsigned int i = 0; i < bus->nr_unclaimed; i++) {
		const struct mmio_unclaimed *u = &bus->unclaimed[i];

		fprintf(f, "moat-vmm: unclaimed MMIO at 0x%llx: %llu reads, %llu writes\n", (unsigned long long)u->ipa,
			(unsigned long long)u->reads, (unsigned long long)u->writes);
	}
	if (bus->other_reads || bus->other_writes) {
		fprintf(f, "moat-vmm: unclaimed MMIO at further addresses (over %d): %llu reads, %llu writes\n",
			MMIO_MAX_UNCLAIMED, (unsigned long long)bus->other_reads,
			(unsigned long long)bus->other_writes);
	}
	pthread_mutex_unlock(&bus->lock);
}
