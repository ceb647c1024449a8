/*
 * cntvct: print the generic timer's virtual count and frequency ("COUNT FREQ"), read at EL0 (the
 * kernel lets user space read CNTVCT_EL0 for the vDSO). The host's CNTVOFF_EL2 is 0 under moat and
 * on bare QEMU, so this is the time since the machine started: under -icount shift=0,sleep=off, the
 * instructions executed since reset (plus idle time skipped), the core's boot and the kernel's
 * early start included. host/linux/init.sh prints it at the /init marker; tools/boot-time.py reads it.
 */
#include <stdio.h>

int main(void)
{
	unsigned long count, freq;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(count));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	printf("%lu %lu\n", count, freq);
	return 0;
}
