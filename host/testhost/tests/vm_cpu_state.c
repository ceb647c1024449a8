/*
 * The host's own CPU state across VCPU_RUN (docs/ABI.md "Results", DESIGN
 * §7): every register but x0..x3 and all of FP/SIMD come back exactly as the
 * host left them, after every run, whatever the guest did with them; after
 * a protected guest ran, no guest value is left in any of them.
 *
 * The test host is built with -mgeneral-regs-only, so C never touches
 * q0..q31 and a pattern the host puts there must still be there after the
 * HVC. Setting the registers, the HVC and reading them back happen in one
 * assembly routine so that nothing can run in between.
 */
#include "lib.h"
#include "test.h"
#include "vmm.h"

#define MIB (1UL << 20)
#define NR_VREGS 32

/* Layout shared with vcpu_run_fp below: offsets 0, 512, 520, 528. */
struct host_fp {
	u64 v[NR_VREGS][2];
	u64 fpcr;
	u64 fpsr;
	u64 exit_reason; /* out only: VCPU_RUN's x1 */
	u64 pad;
} __attribute__((aligned(16)));

_Static_assert(__builtin_offsetof(struct host_fp, fpcr) == 512, "vcpu_run_fp layout");
_Static_assert(__builtin_offsetof(struct host_fp, exit_reason) == 528, "vcpu_run_fp layout");

/*
 * long vcpu_run_fp(u64 handle, const struct host_fp *in, struct host_fp *out)
 *
 * Enables FP/SIMD at EL1 (CPACR_EL1.FPEN, the host's own register), loads
 * q0..q31, FPCR and FPSR from *in, issues VCPU_RUN(handle, 0) and stores
 * them, and the exit reason, into *out. Returns VCPU_RUN's status. The
 * registers are left holding the host pattern: nothing else in the test host
 * uses them, which is also why clobbering d8..d15 is harmless here.
 */
long vcpu_run_fp(u64 handle, const struct host_fp *in, struct host_fp *out);
__asm__(".pushsection .text.vcpu_run_fp, \"ax\", %progbits\n"
	".arch armv8-a+fp+simd\n"
	".globl vcpu_run_fp\n"
	".type vcpu_run_fp, %function\n"
	".balign 4\n"
	"vcpu_run_fp:\n"
	"	mrs	x9, cpacr_el1\n"
	"	orr	x9, x9, #(3 << 20)\n"
	"	msr	cpacr_el1, x9\n"
	"	isb\n"
	"	ldp	q0, q1, [x1, #0]\n"
	"	ldp	q2, q3, [x1, #32]\n"
	"	ldp	q4, q5, [x1, #64]\n"
	"	ldp	q6, q7, [x1, #96]\n"
	"	ldp	q8, q9, [x1, #128]\n"
	"	ldp	q10, q11, [x1, #160]\n"
	"	ldp	q12, q13, [x1, #192]\n"
	"	ldp	q14, q15, [x1, #224]\n"
	"	ldp	q16, q17, [x1, #256]\n"
	"	ldp	q18, q19, [x1, #288]\n"
	"	ldp	q20, q21, [x1, #320]\n"
	"	ldp	q22, q23, [x1, #352]\n"
	"	ldp	q24, q25, [x1, #384]\n"
	"	ldp	q26, q27, [x1, #416]\n"
	"	ldp	q28, q29, [x1, #448]\n"
	"	ldp	q30, q31, [x1, #480]\n"
	"	ldr	x9, [x1, #512]\n"
	"	msr	fpcr, x9\n"
	"	ldr	x9, [x1, #520]\n"
	"	msr	fpsr, x9\n"
	"	mov	x10, x2\n" /* x4..x30 survive the HVC */
	"	mov	x1, x0\n"
	"	movz	x0, #0x010d\n" /* MOAT_FN_VCPU_RUN = 0xc600010d */
	"	movk	x0, #0xc600, lsl #16\n"
	"	mov	x2, xzr\n"
	"	mov	x3, xzr\n"
	"	mov	x4, xzr\n"
	"	mov	x5, xzr\n"
	"	mov	x6, xzr\n"
	"	hvc	#0\n"
	"	stp	q0, q1, [x10, #0]\n"
	"	stp	q2, q3, [x10, #32]\n"
	"	stp	q4, q5, [x10, #64]\n"
	"	stp	q6, q7, [x10, #96]\n"
	"	stp	q8, q9, [x10, #128]\n"
	"	stp	q10, q11, [x10, #160]\n"
	"	stp	q12, q13, [x10, #192]\n"
	"	stp	q14, q15, [x10, #224]\n"
	"	stp	q16, q17, [x10, #256]\n"
	"	stp	q18, q19, [x10, #288]\n"
	"	stp	q20, q21, [x10, #320]\n"
	"	stp	q22, q23, [x10, #352]\n"
	"	stp	q24, q25, [x10, #384]\n"
	"	stp	q26, q27, [x10, #416]\n"
	"	stp	q28, q29, [x10, #448]\n"
	"	stp	q30, q31, [x10, #480]\n"
	"	mrs	x9, fpcr\n"
	"	str	x9, [x10, #512]\n"
	"	mrs	x9, fpsr\n"
	"	str	x9, [x10, #520]\n"
	"	str	x1, [x10, #528]\n"
	"	ret\n"
	".size vcpu_run_fp, . - vcpu_run_fp\n"
	".popsection\n");

/* Not the guest's values (guest/fpsimd: FPCR 0x07c00000, FPSR 0x0800009f): AHP | FZ | RMode = +inf. */
#define HOST_FPCR 0x05400000UL
#define HOST_FPSR 0x08000015UL /* QC | UFC | DZC | IOC */

struct fp_check {
	struct host_fp in, out;
	unsigned int runs, bad_runs;
};

static void fp_pattern(struct host_fp *fp)
{
	for (unsigned int i = 0; i < NR_VREGS; i++) {
		fp->v[i][0] = 0x4f50000000000000UL | ((u64)i << 40) | 0x1111UL * i;
		fp->v[i][1] = ~fp->v[i][0] ^ ((u64)i << 8);
	}
	fp->fpcr = HOST_FPCR;
	fp->fpsr = HOST_FPSR;
}

static bool fp_same(struct fp_check *c)
{
	bool same = c->in.fpcr == c->out.fpcr && c->in.fpsr == c->out.fpsr;
	unsigned int differ = 0;

	for (unsigned int i = 0; i < NR_VREGS; i++) {
		if (c->in.v[i][0] != c->out.v[i][0] || c->in.v[i][1] != c->out.v[i][1]) {
			/* The first register that differs, for the first few bad runs. */
			if (!differ++ && c->bad_runs < 4) {
				tprintf("fpsimd: after run %u q%u is 0x%016lx%016lx, host left 0x%016lx%016lx\n",
					c->runs, i, c->out.v[i][1], c->out.v[i][0], c->in.v[i][1], c->in.v[i][0]);
			}
			same = false;
		}
	}
	if (differ && c->bad_runs < 4) {
		tprintf("fpsimd: after run %u %u of 32 vector registers differ\n", c->runs, differ);
	}
	if ((c->in.fpcr != c->out.fpcr || c->in.fpsr != c->out.fpsr) && c->bad_runs < 4) {
		tprintf("fpsimd: after run %u FPCR 0x%lx FPSR 0x%lx, host left 0x%lx 0x%lx\n", c->runs, c->out.fpcr,
			c->out.fpsr, c->in.fpcr, c->in.fpsr);
	}
	return same;
}

static struct moat_result fp_enter(struct vmm_vm *vm)
{
	struct fp_check *c = vm->ctx;
	struct moat_result r = { 0 };

	memset(&c->out, 0, sizeof(c->out));
	r.status = vcpu_run_fp(vm->handle, &c->in, &c->out);
	r.r1 = c->out.exit_reason;
	c->runs++;
	if (!fp_same(c)) {
		c->bad_runs++;
	}
	return r;
}

static const char *const fpsimd_lines[] = { "guest: fpsimd exits", "guest: fpsimd ok", NULL };
static const char *const hello_lines[] = {
	"guest: hello from a moat VM",
	"guest: PSCI version 0x10001",
	"guest: SMCCC version 0x10001",
	NULL,
};

static void fp_run(u64 type, const char *image, const char *const *lines)
{
	static struct fp_check c;
	struct vmm_vm vm = { .console_echo = true, .enter = fp_enter, .ctx = &c, .expect = lines };

	memset(&c, 0, sizeof(c));
	fp_pattern(&c.in);
	if (!vmm_boot(&vm, type, image, 1 * MIB, 0)) {
		return;
	}
	tprintf("fpsimd: %s %s guest: %u runs, host FP/SIMD changed after %u of them\n",
		type == MOAT_VM_PROTECTED ? "protected" : "normal", image, c.runs, c.bad_runs);
	CHECK(c.runs >= 40, "only %u runs", c.runs);
	CHECK_EQ(c.bad_runs, 0);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

TEST(vm_fpsimd)
{
	fp_run(MOAT_VM_PROTECTED, "fpsimd", fpsimd_lines);
}

TEST(vm_fpsimd_normal)
{
	fp_run(MOAT_VM_NORMAL, "fpsimd", fpsimd_lines);
}

/* ---- general registers: x4..x30 ------------------------------------------------ */

/* hvc_regs.S: x0..x30 = regs[0..30]; HVC #0; regs[0..30] = x0..x30. */
extern void hvc_all_regs(u64 regs[31]);

struct gpr_check {
	unsigned int runs, bad_runs;
};

static u64 gpr_pattern(unsigned int i)
{
	/* x4..x6 are VCPU_RUN arguments the ABI requires to be zero. */
	return i <= 6 ? 0 : 0x4057000000000000UL | ((u64)i << 32) | (0x0101UL * i);
}

static struct moat_result gpr_enter(struct vmm_vm *vm)
{
	struct gpr_check *c = vm->ctx;
	struct moat_result r;
	u64 regs[31];
	bool ok = true;

	regs[0] = MOAT_FN_VCPU_RUN;
	regs[1] = vm->handle;
	for (unsigned int i = 2; i < ARRAY_SIZE(regs); i++) {
		regs[i] = gpr_pattern(i);
	}
	hvc_all_regs(regs);
	r.status = (long)regs[0];
	r.r1 = regs[1];
	r.r2 = regs[2];
	r.r3 = regs[3];
	/* VCPU_RUN has one result: x2, x3 must be zero, not whatever the guest had there. */
	for (unsigned int i = 2; i < ARRAY_SIZE(regs); i++) {
		if (regs[i] != gpr_pattern(i)) {
			if (c->bad_runs < 4) {
				tprintf("gpr: after run %u x%u = 0x%lx, host left 0x%lx\n", c->runs, i, regs[i],
					gpr_pattern(i));
			}
			ok = false;
		}
	}
	c->runs++;
	c->bad_runs += !ok;
	return r;
}

static void gpr_run(u64 type, const char *image, const char *const *lines, unsigned int min_runs)
{
	struct gpr_check c = { 0 };
	struct vmm_vm vm = { .console_echo = true, .enter = gpr_enter, .ctx = &c, .expect = lines };

	if (!vmm_boot(&vm, type, image, 1 * MIB, 0)) {
		return;
	}
	tprintf("gpr: %s %s guest: %u runs, x2..x30 changed after %u of them\n",
		type == MOAT_VM_PROTECTED ? "protected" : "normal", image, c.runs, c.bad_runs);
	CHECK(c.runs >= min_runs, "only %u runs", c.runs);
	CHECK_EQ(c.bad_runs, 0);
	CHECK(vmm_destroy(&vm) > 0, "destroy/reclaim failed");
}

static const char *const regs_lines[] = {
	"guest: x21=0x0",
	"guest: x19=0x1111222233334444 x20=0x5555666677778888",
	NULL,
};

/* regs keeps recognisable values in x19..x21 across its MMIO exit; fpsimd and hello exit often. */
TEST(vm_host_regs)
{
	gpr_run(MOAT_VM_PROTECTED, "regs", regs_lines, 3);
	gpr_run(MOAT_VM_PROTECTED, "fpsimd", fpsimd_lines, 40);
	gpr_run(MOAT_VM_PROTECTED, "hello", hello_lines, 50);
}
