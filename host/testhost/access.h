/*
 * Test host: one probed access and the checks on the abort moat injects for
 * it, shared by the core_* tests, fw_cfg and the demo.
 */
#ifndef TESTHOST_ACCESS_H
#define TESTHOST_ACCESS_H

#include "types.h"

enum access_kind { ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };

struct access {
	enum access_kind kind;
	bool el0;
	u64 addr;
};

/* Value written by ACCESS_WRITE probes: easy to spot in a memory dump. */
#define ACCESS_WRITE_PATTERN 0xbadc0ffee0ddf00dUL

const char *access_verb(enum access_kind kind); /* "read", "write", "execute" */

/* Perform the access; true if it faulted (syndrome in last_fault). */
bool access_probe(const struct access *a);

/*
 * Check last_fault against what DESIGN.md §4 says moat injects for a host
 * access to a page it does not own: a synchronous external abort with the
 * right EC for the access and the EL, IL = 1, ISV = 0, S1PTW = 0, WnR for
 * writes, FSC = 0x10, FAR = the address, ELR = the faulting instruction,
 * taken at VBAR_EL1 + 0x200 (EL1h) or + 0x400 (EL0). Failures are reported
 * through CHECK; returns true if every check held.
 */
bool access_check_injected_abort(const struct access *a);

/* Show that the host still runs: read its own memory, plain and probed. */
bool host_still_running(void);

#endif
