/*
 * Test host: probed accesses and the injected-abort checks (see access.h).
 */
#include "access.h"
#include "test.h"

static const u64 still_running_canary = 0x600d600d600d600dUL;

const char *access_verb(enum access_kind kind)
{
	switch (kind) {
	case ACCESS_READ:
		return "read";
	case ACCESS_WRITE:
		return "write";
	default:
		return "execute";
	}
}

bool access_probe(const struct access *a)
{
	u64 val;

	switch (a->kind) {
	case ACCESS_READ:
		return a->el0 ? probe_read64_el0(a->addr, &val) : probe_read64(a->addr, &val);
	case ACCESS_WRITE:
		return a->el0 ? probe_write64_el0(a->addr, ACCESS_WRITE_PATTERN)
			      : probe_write64(a->addr, ACCESS_WRITE_PATTERN);
	default:
		return a->el0 ? probe_exec_el0(a->addr) : probe_exec(a->addr);
	}
}

static u64 expected_ec(const struct access *a)
{
	if (a->kind == ACCESS_EXEC) {
		return a->el0 ? EC_IABT_LOW : EC_IABT_CUR;
	}
	return a->el0 ? EC_DABT_LOW : EC_DABT_CUR;
}

static u64 expected_elr(const struct access *a)
{
	switch (a->kind) {
	case ACCESS_READ:
		return (u64)(uintptr_t)probe_read64_insn;
	case ACCESS_WRITE:
		return (u64)(uintptr_t)probe_write64_insn;
	default:
		return a->addr; /* an instruction abort reports the fetch address */
	}
}

bool access_check_injected_abort(const struct access *a)
{
	const struct fault_record *f = &last_fault;
	bool ok = true;

	ok &= CHECK_EQ(ESR_EC(f->esr), expected_ec(a));
	ok &= CHECK(f->esr & ESR_IL, "ESR_EL1=0x%lx", f->esr);
	ok &= CHECK_EQ(ESR_FSC(f->esr), FSC_SEA);
	ok &= CHECK(!(f->esr & ESR_S1PTW), "ESR_EL1=0x%lx", f->esr);
	if (a->kind != ACCESS_EXEC) {
		ok &= CHECK(!(f->esr & ESR_ISV), "ESR_EL1=0x%lx", f->esr);
		ok &= CHECK_EQ(!!(f->esr & ESR_WNR), a->kind == ACCESS_WRITE);
	}
	ok &= CHECK_EQ(f->far, a->addr);
	ok &= CHECK_EQ(f->elr, expected_elr(a));
	ok &= CHECK_EQ(f->vector, a->el0 ? VEC_LOWER_A64_SYNC : VEC_CUR_SP_ELX_SYNC);
	ok &= CHECK_EQ(SPSR_MODE(f->spsr), a->el0 ? SPSR_MODE_EL0T : SPSR_MODE_EL1H);
	return ok;
}

bool host_still_running(void)
{
	u64 addr = (u64)(uintptr_t)&still_running_canary;
	u64 val = 0;
	bool ok;

	ok = CHECK(!probe_read64(addr, &val), "reading own memory at 0x%lx faulted", addr);
	ok &= CHECK_EQ(val, still_running_canary);
	ok &= CHECK_EQ(*(const volatile u64 *)addr, still_running_canary);
	tprintf("host: still running, own memory at PA 0x%lx reads 0x%lx\n", addr, val);
	return ok;
}
