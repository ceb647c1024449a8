/*
 * PPI 26 (CNTHP) in the host-owned redistributor (see host_timer.h).
 *
 * Why the core may write the host's redistributor here: a host at EL1 has no
 * use for PPI 26 -- it can neither program CNTHP (an EL2 register) nor see it
 * fire, because the arch layer enables CNTHP only while a guest runs and
 * disables it before any return to EL1, which drops the level-sensitive line.
 * So the host never has PPI 26 pending, and configuring it changes nothing the
 * host can observe except the three register bits below. The group and
 * priority are chosen so that the host's own masking at EL1 still lets it
 * through while it waits in VCPU_RUN: Group 1 (the one Linux enables), and
 * priority 0x00, the highest, so that any ICC_PMR_EL1 the host runs VCPU_RUN
 * under (Linux with pseudo-NMIs masks IRQs by lowering PMR to 0x60) and any
 * running priority short of 0x00 still let it be signalled. A host that
 * clears GICD_CTLR.EnableGrp1 or ICC_IGRPEN1_EL1, or sets PMR to 0, chose
 * not to be woken: its CPU, its choice (denial of service by the host is out
 * of scope, DESIGN §1).
 *
 * The frame of this CPU is the one whose GICR_TYPER affinity equals the CPU's
 * MPIDR affinity (GICv3 §9.11.35), among the frames host_mmio.c found at boot
 * -- all of which exist, so the reads below are never of an absent frame;
 * each goes through arch_device_read/write all the same (exception fixup).
 */
#include "host_timer.h"

#include "arch.h"
#include "config.h"
#include "host_mmio.h"
#include "log.h"

#define GICR_TYPER 0x0008
#define GICR_SGI_BASE 0x10000 /* the second 64 KiB page of a frame: SGI/PPI registers */
#define GICR_IGROUPR0 (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI_BASE + 0x0100)
#define GICR_IPRIORITYR(n) (GICR_SGI_BASE + 0x0400 + (n))
#define PPI_BIT (1UL << HOST_TIMER_PPI)
#define NO_FRAME (~0UL)

/* Per CPU: 0 before the first look-up, NO_FRAME when there is none for it. */
static u64 own_frame[MAX_CPUS];
static struct log_limiter timer_log;

/* MPIDR_EL1 Aff3.Aff2.Aff1.Aff0 packed as GICR_TYPER[63:32] holds them. */
static u32 mpidr_to_gicr_affinity(u64 mpidr)
{
	return (u32)((mpidr & 0xffffffUL) | (((mpidr >> 32) & 0xffUL) << 24));
}

static u64 find_frame(unsigned int cpu, u64 mpidr)
{
	u32 aff = mpidr_to_gicr_affinity(mpidr);

	for (unsigned int i = 0; i < host_mmio_nr_pages(); i++) {
		u64 typer;

		if (arch_device_read(host_mmio_page(i) + GICR_TYPER, 8, &typer) && (u32)(typer >> 32) == aff) {
			return host_mmio_page(i);
		}
	}
	log_ratelimited(&timer_log, LOG_WARN,
			"no redistributor with affinity 0x%x for CPU %u: the host's timer cannot end a guest run on it",
			aff, cpu);
	return NO_FRAME;
}

/* Read-modify-write of one 32-bit register: only this CPU's frame, only while its host waits in VCPU_RUN. */
static bool update32(u64 pa, u32 clear, u32 set)
{
	u64 v;

	return arch_device_read(pa, 4, &v) && arch_device_write(pa, 4, (v & ~(u64)clear) | set);
}

bool host_timer_irq_ready(unsigned int cpu, u64 mpidr)
{
	u64 frame, enabled;
	bool ok;

	if (cpu >= MAX_CPUS) {
		return false;
	}
	if (!own_frame[cpu]) {
		own_frame[cpu] = find_frame(cpu, mpidr);
	}
	frame = own_frame[cpu];
	if (frame == NO_FRAME) {
		return false;
	}
	if (!arch_device_read(frame + GICR_ISENABLER0, 4, &enabled)) {
		ok = false;
	} else if (enabled & PPI_BIT) {
		return true;
	} else {
		/* Group and priority first, the enable last: never signalled with whatever the host left there. */
		ok = update32(frame + GICR_IGROUPR0, 0, (u32)PPI_BIT) &&
		     update32(frame + GICR_IPRIORITYR(HOST_TIMER_PPI & ~3U), 0xffU << (8 * (HOST_TIMER_PPI & 3)), 0) &&
		     arch_device_write(frame + GICR_ISENABLER0, 4, PPI_BIT); /* write-1-to-set: no read needed */
	}
	log_ratelimited(&timer_log, ok ? LOG_INFO : LOG_WARN, "PPI %u (CNTHP) in redistributor 0x%lx: %s",
			HOST_TIMER_PPI, frame,
			ok ? "enabled, Group 1, priority 0x00"
			   : "device access faulted, the host's timer cannot end a guest run");
	return ok;
}
