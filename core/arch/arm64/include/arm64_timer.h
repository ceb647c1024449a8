/* The host's timer deadline on CNTHP while a guest runs (timer.c). Called from guest.c's load/put only. */
#ifndef MOAT_ARM64_TIMER_H
#define MOAT_ARM64_TIMER_H

#include "types.h"

/* After save_el1(host_sys): arm CNTHP with the host's CNTV deadline if its CNTV is enabled and unmasked. */
void arm64_timer_guest_load(const u64 *host_sys);
/* Disable CNTHP; before the host's EL1 context resumes. */
void arm64_timer_guest_put(void);

#endif
