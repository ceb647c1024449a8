/*
 * The host's timer while one of its vCPUs runs (DESIGN §9). The host and the
 * guests all use the EL1 virtual timer (CNTV); arch_vcpu_load parks the
 * host's CNTV_CTL/CVAL in pc->host_sys and loads the guest's, so the host's
 * deadline would not fire until the guest exits -- never, for a guest that
 * spins with interrupts masked and does not trap. So for the run the host's
 * deadline goes on the EL2 physical timer (CNTHP): when it fires, PPI 26
 * reaches EL2 as a physical IRQ (HCR_EL2.IMO = 1 in guest context), the guest
 * exits like for any host interrupt (MOAT_EXIT_IRQ), and the host's restored
 * CNTV raises its own PPI 27 once it is back at EL1.
 *
 * CNTHP compares CVAL with the physical count, CNTV with the physical count
 * minus CNTVOFF_EL2. The host's CNTVOFF_EL2 is always 0: boot sets it
 * (cpu.c), the host at EL1 cannot write an EL2 register, and guest context
 * sets 0 too; so the host's CNTV CVAL is its deadline on CNTHP unchanged.
 *
 * Called from arch_vcpu_load/put (guest.c), on the CPU that loads the vCPU,
 * with interrupts masked at EL2. Owns CNTHP_CTL/CVAL_EL2: they are only
 * ever enabled between these two calls. No lock: per-CPU registers.
 */
#include "arm64_timer.h"

#include "arch.h"
#include "host_timer.h"
#include "sysreg.h"
#include "vcpu.h" /* SYS_CNTV_* indices of the saved EL1 registers */

#define CNT_CTL_ENABLE (1UL << 0)
#define CNT_CTL_IMASK (1UL << 1)

void arm64_timer_guest_load(const u64 *host_sys)
{
	u64 ctl = host_sys[SYS_CNTV_CTL_EL0];

	/* A host timer that is off or masked raises nothing at EL1 either: nothing to keep. */
	if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) != CNT_CTL_ENABLE) {
		return;
	}
	/* Armed even if PPI 26 could not be made deliverable: then it fires into nothing, harmlessly. */
	host_timer_irq_ready(arch_cpu_index(), read_sysreg(mpidr_el1));
	write_sysreg(cnthp_cval_el2, host_sys[SYS_CNTV_CVAL_EL0]);
	write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
}

void arm64_timer_guest_put(void)
{
	/*
	 * Before any return to EL1: the host does not know INTID 26. Disabling
	 * the timer drops its level-sensitive line, so the GIC no longer has it
	 * pending; the caller's ISB (before the ERET) makes the write take effect.
	 */
	write_sysreg(cnthp_ctl_el2, 0);
}
