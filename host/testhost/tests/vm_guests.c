/*
 * VM integration tests driven by the test guests (guest/README.md): demand
 * paging at scale, register access for normal VMs and its refusal for
 * protected ones, MMIO read completion, injected guest aborts.
 *
 * Each test passes only on what really happened: the guest's own lines
 * (vm->expect), the exits the VMM saw and the core's answers. Guest output
 * is echoed, so tests/integration/test_vm.py checks the same lines again.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)

/* ---- demand paging: memtouch ------------------------------------------------- */

#define MEMTOUCH_PAGES 16384
#define RECLAIM_LOG_MAX 20000

static const char *const memtouch_lines[] = { "guest: memtouch 16384 pages ok", NULL };

struct reclaimed {
	u64 pa[RECLAIM_LOG_MAX];
	u64 n;
};

static void note_reclaimed(u64 pa, void *ctx)
{
	struct reclaimed *r = ctx;

	if (r->n < ARRAY_SIZE(r->pa)) {
		r->pa[r->n] = pa;
	}
	r->n++;
}

/* Every byte of the page, 8 at a time; returns the offset of the first non-zero word or PAGE_SIZE. */
static u64 first_nonzero(u64 pa)
{
	const volatile u64 *p = (const volatile u64 *)pa;

	for (u64 i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		if (p[i]) {
			return i * sizeof(u64);
		}
	}
	return PAGE_SIZE;
}

/* Read every reclaimed page back after all RECLAIMs (and the host block merges they caused). */
static u64 count_dirty(const struct reclaimed *r)
{
	u64 dirty = 0;

	for (u64 i = 0; i < MIN(r->n, ARRAY_SIZE(r->pa)); i++) {
		u64 off = first_nonzero(r->pa[i]);

		if (off < PAGE_SIZE && ++dirty <= 4) {
			CHECK(false, "reclaimed page 0x%lx has 0x%lx at offset 0x%lx", r->pa[i],
			      *(volatile u64 *)(r->pa[i] + off), off);
		}
	}
	return dirty;
}

static void memtouch(u64 type)
{
	static struct reclaimed rec;
	struct vmm_vm vm = { .console_echo = true, .expect = memtouch_lines };
	u64 given;
	long ret;

	rec.n = 0;
	if (!vmm_boot(&vm, type, "memtouch", 80 * MIB, 0)) {
		return;
	}
	CHECK(vm.mem_faults >= MEMTOUCH_PAGES, "only %lu MEM_FAULT exits", vm.mem_faults);
	given = vm.nr_pages;
	ret = vmm_destroy_each(&vm, note_reclaimed, &rec);
	CHECK_EQ(ret, given);
	CHECK_EQ(rec.n, given);
	CHECK(rec.n <= ARRAY_SIZE(rec.pa), "%lu pages reclaimed, only %lu checked", rec.n, ARRAY_SIZE(rec.pa));
	tprintf("memtouch: %lu MEM_FAULT exits, %lu pages reclaimed, %lu not zero\n", vm.mem_faults, rec.n,
		count_dirty(&rec));
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

TEST(vm_memtouch)
{
	memtouch(MOAT_VM_PROTECTED);
}

TEST(vm_memtouch_normal)
{
	memtouch(MOAT_VM_NORMAL);
}

/* ---- registers: regs --------------------------------------------------------- */

#define REGS_MMIO_IPA 0x0a000010UL
#define REGS_X19 0x1111222233334444UL
#define REGS_X20 0x5555666677778888UL
#define REGS_X21_MAGIC 0x21c0ffee5eed2121UL
/* The guest loads 32 bits: the core must drop the upper half. */
#define REGS_MMIO_VALUE 0xfeedface0badf00dUL

struct regs_seen {
	unsigned int exits;
	long get19, get20, get_pc, get_pstate, set21, get21;
	u64 x19, x20, pc, pstate, x21;
};

static bool regs_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct regs_seen *s = vm->ctx;
	struct moat_result r;

	if (run->u.mmio.ipa != REGS_MMIO_IPA || run->u.mmio.is_write || run->u.mmio.size != 4) {
		run->u.mmio.value = 0;
		return true;
	}
	s->exits++;
	r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_X(19));
	s->get19 = r.status;
	s->x19 = r.r1;
	r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_X(20));
	s->get20 = r.status;
	s->x20 = r.r1;
	r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_PC);
	s->get_pc = r.status;
	s->pc = r.r1;
	r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_PSTATE);
	s->get_pstate = r.status;
	s->pstate = r.r1;
	s->set21 = moat_hvc6(MOAT_FN_VCPU_SET_REG, vm->handle, 0, MOAT_REG_X(21), REGS_X21_MAGIC, 0, 0).status;
	r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_X(21));
	s->get21 = r.status;
	s->x21 = r.r1;
	run->u.mmio.value = REGS_MMIO_VALUE;
	return true;
}

static const char *const regs_normal_lines[] = {
	"guest: x21=0x21c0ffee5eed2121",
	"guest: mmio 0x0a000010 = 0xbadf00d",
	"guest: x19=0x1111222233334444 x20=0x5555666677778888",
	NULL,
};

static const char *const regs_protected_lines[] = {
	"guest: x21=0x0",
	"guest: mmio 0x0a000010 = 0xbadf00d",
	"guest: x19=0x1111222233334444 x20=0x5555666677778888",
	NULL,
};

static void run_regs(u64 type, struct regs_seen *s)
{
	bool normal = type == MOAT_VM_NORMAL;
	struct vmm_vm vm = { .console_echo = true, .mmio = regs_mmio, .ctx = s };

	vm.expect = normal ? regs_normal_lines : regs_protected_lines;
	if (!vmm_boot(&vm, type, "regs", 1 * MIB, 0)) {
		return;
	}
	CHECK_EQ(s->exits, 1);
	tprintf("regs: %s VM: GET_REG x19 -> %ld 0x%lx, x20 -> %ld 0x%lx, PC -> %ld 0x%lx, SET_REG x21 -> %ld\n",
		normal ? "normal" : "protected", s->get19, s->x19, s->get20, s->x20, s->get_pc, s->pc, s->set21);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(vm_regs_normal)
{
	struct regs_seen s = { 0 };

	run_regs(MOAT_VM_NORMAL, &s);
	CHECK_EQ(s.get19, MOAT_OK);
	CHECK_EQ(s.x19, REGS_X19);
	CHECK_EQ(s.get20, MOAT_OK);
	CHECK_EQ(s.x20, REGS_X20);
	CHECK_EQ(s.get_pc, MOAT_OK);
	CHECK(s.pc >= MOAT_GUEST_RAM_BASE && s.pc < MOAT_GUEST_RAM_BASE + 1 * MIB && IS_ALIGNED(s.pc, 4),
	      "PC 0x%lx is not inside the guest's RAM", s.pc);
	CHECK_EQ(s.get_pstate, MOAT_OK);
	CHECK_EQ(s.pstate & 0xf, 0x5); /* EL1h */
	CHECK_EQ(s.set21, MOAT_OK);
	CHECK_EQ(s.get21, MOAT_OK);
	CHECK_EQ(s.x21, REGS_X21_MAGIC);
}

TEST(vm_regs_protected)
{
	struct regs_seen s = { 0 };

	run_regs(MOAT_VM_PROTECTED, &s);
	CHECK_EQ(s.get19, MOAT_E_PERM);
	CHECK_EQ(s.x19, 0);
	CHECK_EQ(s.get20, MOAT_E_PERM);
	CHECK_EQ(s.x20, 0);
	CHECK_EQ(s.get_pc, MOAT_E_PERM);
	CHECK_EQ(s.pc, 0);
	CHECK_EQ(s.get_pstate, MOAT_E_PERM);
	CHECK_EQ(s.set21, MOAT_E_PERM);
	CHECK_EQ(s.get21, MOAT_E_PERM);
	CHECK_EQ(s.x21, 0);
}

/* ---- PSTATE: a normal VM's host may not send the guest to EL2 ------------------ */

#define PSTATE_EL1H_MASKED 0x3c5UL

static const char *const hello_lines[] = {
	"guest: hello from a moat VM",
	"guest: PSCI version 0x10001",
	"guest: SMCCC version 0x10001",
	NULL,
};

static long set_pstate(const struct vmm_vm *vm, u64 value)
{
	long ret = moat_hvc6(MOAT_FN_VCPU_SET_REG, vm->handle, 0, MOAT_REG_PSTATE, value, 0, 0).status;

	tprintf("pstate: SET_REG PSTATE 0x%lx -> %ld\n", value, ret);
	return ret;
}

static u64 get_pstate(const struct vmm_vm *vm)
{
	struct moat_result r = moat_hvc(MOAT_FN_VCPU_GET_REG, vm->handle, 0, MOAT_REG_PSTATE);

	CHECK_EQ(r.status, MOAT_OK);
	return r.r1;
}

TEST(vm_pstate)
{
	/* EL2h, EL2t, EL3h, AArch32 (M[4]), an illegal-return flag (IL, bit 20): none may reach the ERET. */
	static const u64 refused[] = { 0x3c9, 0x3c8, 0x3cd, 0x3d3, PSTATE_EL1H_MASKED | (1UL << 20) };
	struct vmm_vm vm = { .console_echo = true, .expect = hello_lines };

	if (!CHECK_EQ(vmm_build(&vm, MOAT_VM_NORMAL, "hello", 1 * MIB, 0), MOAT_OK)) {
		return;
	}
	CHECK_EQ(get_pstate(&vm), PSTATE_EL1H_MASKED);
	for (unsigned int i = 0; i < ARRAY_SIZE(refused); i++) {
		CHECK_EQ(set_pstate(&vm, refused[i]), MOAT_E_INVAL);
		CHECK_EQ(get_pstate(&vm), PSTATE_EL1H_MASKED);
	}
	/* Valid EL1h values: with the carry flag set, then the boot value again. */
	CHECK_EQ(set_pstate(&vm, PSTATE_EL1H_MASKED | (1UL << 29)), MOAT_OK);
	CHECK_EQ(get_pstate(&vm), PSTATE_EL1H_MASKED | (1UL << 29));
	CHECK_EQ(set_pstate(&vm, PSTATE_EL1H_MASKED), MOAT_OK);
	CHECK_EQ(get_pstate(&vm), PSTATE_EL1H_MASKED);
	vmm_run_to_off(&vm);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
	CHECK_EQ(moat_hvc(MOAT_FN_CHECK, 0, 0, 0).r1, 0);
}

/* ---- MMIO read completion: mmio_sizes ------------------------------------------ */

#define MMIO_WIDE 0x0a000020UL
#define MMIO_BYTE 0x0a000028UL
#define MMIO_WIDE_VALUE 0xfedcba9876543210UL
#define MMIO_LOADS 13

struct mmio_sizes_ctx {
	bool wide; /* answer with all 64 bits and let the core truncate */
	unsigned int n;
	u32 sizes[MMIO_LOADS];
	u64 ipas[MMIO_LOADS];
	unsigned int unexpected;
};

static bool mmio_sizes_mmio(struct vmm_vm *vm, struct moat_run *run)
{
	struct mmio_sizes_ctx *c = vm->ctx;
	u32 size = run->u.mmio.size;
	u64 mask = size >= 8 ? ~0UL : (1UL << (size * 8)) - 1;

	if (run->u.mmio.is_write || (run->u.mmio.ipa != MMIO_WIDE && run->u.mmio.ipa != MMIO_BYTE)) {
		c->unexpected++;
		run->u.mmio.value = 0;
		return true;
	}
	if (c->n < MMIO_LOADS) {
		c->sizes[c->n] = size;
		c->ipas[c->n] = run->u.mmio.ipa;
	}
	c->n++;
	if (run->u.mmio.ipa == MMIO_WIDE) {
		run->u.mmio.value = c->wide ? MMIO_WIDE_VALUE : MMIO_WIDE_VALUE & mask;
	} else {
		run->u.mmio.value = c->wide ? 0xffffffffffffff80UL : 0x80;
	}
	return true;
}

static const char *const mmio_sizes_lines[] = {
	"guest: mmio ldrb w = 0x10",
	"guest: mmio ldrsb w = 0x10",
	"guest: mmio ldrsb x = 0x10",
	"guest: mmio ldrh w = 0x3210",
	"guest: mmio ldrsh w = 0x3210",
	"guest: mmio ldrsh x = 0x3210",
	"guest: mmio ldr w = 0x76543210",
	"guest: mmio ldrsw x = 0x76543210",
	"guest: mmio ldr x = 0xfedcba9876543210",
	"guest: mmio ldr wzr = 0x0",
	"guest: mmio ldrb w = 0x80",
	"guest: mmio ldrsb w = 0xffffff80",
	"guest: mmio ldrsb x = 0xffffffffffffff80",
	"guest: mmio_sizes ok",
	NULL,
};

static void mmio_sizes(u64 type, bool wide)
{
	static const u32 want_sizes[MMIO_LOADS] = { 1, 1, 1, 2, 2, 2, 4, 4, 8, 4, 1, 1, 1 };
	struct mmio_sizes_ctx c = { .wide = wide };
	struct vmm_vm vm = { .console_echo = true, .mmio = mmio_sizes_mmio, .ctx = &c, .expect = mmio_sizes_lines };

	if (!vmm_boot(&vm, type, "mmio_sizes", 1 * MIB, 0)) {
		return;
	}
	CHECK_EQ(c.unexpected, 0);
	if (CHECK_EQ(c.n, MMIO_LOADS)) {
		for (unsigned int i = 0; i < MMIO_LOADS; i++) {
			CHECK(c.sizes[i] == want_sizes[i], "load %u: size %u, expected %u", i, c.sizes[i],
			      want_sizes[i]);
			CHECK(c.ipas[i] == (i < 10 ? MMIO_WIDE : MMIO_BYTE), "load %u at 0x%lx", i, c.ipas[i]);
		}
	}
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(vm_mmio_sizes)
{
	mmio_sizes(MOAT_VM_PROTECTED, false);
}

TEST(vm_mmio_sizes_normal)
{
	mmio_sizes(MOAT_VM_NORMAL, false);
}

/* The host answers with garbage above the access size: the core alone must truncate and extend. */
TEST(vm_mmio_sizes_wide)
{
	mmio_sizes(MOAT_VM_PROTECTED, true);
}

/* ---- injected guest aborts: fault ------------------------------------------------ */

#define FAULT_UNMAPPED_IPA 0x20000000UL

struct fault_ctx {
	unsigned int uart_reads_not_fr; /* an MMIO exit for the ldp would be a read of the UART's DR */
	unsigned int other_mmio;
};

static struct moat_result fault_enter(struct vmm_vm *vm)
{
	struct fault_ctx *c = vm->ctx;
	struct moat_result r = moat_hvc(MOAT_FN_VCPU_RUN, vm->handle, 0, 0);

	if (!r.status && r.r1 == MOAT_EXIT_MMIO) {
		u64 ipa = vm->run->u.mmio.ipa;

		if (!vm->run->u.mmio.is_write && ipa != VMM_UART + 0x18) {
			c->uart_reads_not_fr++;
		}
		if (ipa < VMM_UART || ipa >= VMM_UART + PAGE_SIZE || vm->run->u.mmio.size != 4) {
			c->other_mmio++;
		}
	}
	return r;
}

static const char *const fault_lines[] = {
	"guest: abort ESR_EL1=0x96000010 FAR_EL1=0x20000000",
	"guest: ldp abort ESR_EL1=0x96000010 FAR_EL1=0x9000000",
	"guest: fault ok",
	NULL,
};

static void fault(u64 type)
{
	struct fault_ctx c = { 0 };
	struct vmm_vm vm = { .console_echo = true, .enter = fault_enter, .ctx = &c, .expect = fault_lines };

	if (!vmm_boot(&vm, type, "fault", 1 * MIB, 0)) {
		return;
	}
	CHECK_EQ(vm.guest_faults, 2);
	CHECK_EQ(vm.fault_ipa[0], FAULT_UNMAPPED_IPA);
	CHECK_EQ(vm.fault_ipa[1], VMM_UART);
	CHECK_EQ(c.uart_reads_not_fr, 0);
	CHECK_EQ(c.other_mmio, 0);
	tprintf("fault: %lu GUEST_FAULT exits (0x%lx, 0x%lx), %lu MMIO exits, none for the ldp\n", vm.guest_faults,
		vm.fault_ipa[0], vm.fault_ipa[1], vm.mmio_exits);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(vm_fault)
{
	fault(MOAT_VM_PROTECTED);
}

TEST(vm_fault_normal)
{
	fault(MOAT_VM_NORMAL);
}
