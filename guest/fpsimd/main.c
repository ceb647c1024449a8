/*
 * fpsimd: FP/SIMD state survives exits. The core switches FP/SIMD lazily,
 * so a bug there shows as vector registers, FPCR or FPSR changed behind the
 * guest's back after an exit to the host or an HVC the core answers.
 *
 * One asm block loads q0..q31, FPCR and FPSR with distinctive values, then
 * prints "guest: fpsimd exits" character by character straight to the PL011
 * (per character: a FR read and a DR write, both MMIO exits, and an HVC
 * PSCI_VERSION), then stores all of them back. No compiled code runs in
 * between, because this file is built without -mgeneral-regs-only and the
 * compiler could otherwise use vector registers itself.
 *
 * Output: "guest: fpsimd exits", then "guest: fpsimd ok" or
 * "guest: fpsimd mismatch ..." for the first difference; then SYSTEM_OFF.
 * VMM protocol: the PL011 only (no test device).
 */
#include "guest.h"

#define NR_VREGS 32
/* AHP | DN | FZ | RMode = round towards zero: every writable Armv8.0 control bit. */
#define FPCR_PATTERN 0x07c00000UL
/* QC | IDC | IXC | UFC | OFC | DZC | IOC: every cumulative flag. */
#define FPSR_PATTERN 0x0800009fUL

struct fp_state {
	uint64_t v[NR_VREGS][2]; /* q<n> low and high halves */
	uint64_t fpcr;
	uint64_t fpsr;
} __attribute__((aligned(16)));

static struct fp_state want, got;

static const char exit_msg[] = "guest: fpsimd exits\r\n";

static void make_pattern(struct fp_state *s)
{
	for (uint64_t n = 0; n < NR_VREGS; n++) {
		s->v[n][0] = 0x0f1e2d3c4b5a6978UL ^ (n * 0x0101010101010101UL);
		s->v[n][1] = ~s->v[n][0];
	}
	s->fpcr = FPCR_PATTERN;
	s->fpsr = FPSR_PATTERN;
}

#define QREGS_0_15(op)                                                                     \
	op "	q0, [%[b], #0]\n\t" op "	q1, [%[b], #16]\n\t" op "	q2, [%[b], #32]\n\t"     \
	op "	q3, [%[b], #48]\n\t" op "	q4, [%[b], #64]\n\t" op "	q5, [%[b], #80]\n\t"    \
	op "	q6, [%[b], #96]\n\t" op "	q7, [%[b], #112]\n\t" op "	q8, [%[b], #128]\n\t"   \
	op "	q9, [%[b], #144]\n\t" op "	q10, [%[b], #160]\n\t" op "	q11, [%[b], #176]\n\t" \
	op "	q12, [%[b], #192]\n\t" op "	q13, [%[b], #208]\n\t" op "	q14, [%[b], #224]\n\t" \
	op "	q15, [%[b], #240]\n\t"
#define QREGS_16_31(op)                                                                        \
	op "	q16, [%[b], #256]\n\t" op "	q17, [%[b], #272]\n\t" op "	q18, [%[b], #288]\n\t"     \
	op "	q19, [%[b], #304]\n\t" op "	q20, [%[b], #320]\n\t" op "	q21, [%[b], #336]\n\t"     \
	op "	q22, [%[b], #352]\n\t" op "	q23, [%[b], #368]\n\t" op "	q24, [%[b], #384]\n\t"     \
	op "	q25, [%[b], #400]\n\t" op "	q26, [%[b], #416]\n\t" op "	q27, [%[b], #432]\n\t"     \
	op "	q28, [%[b], #448]\n\t" op "	q29, [%[b], #464]\n\t" op "	q30, [%[b], #480]\n\t"     \
	op "	q31, [%[b], #496]\n\t"

/* Loads *in, makes exits, stores the state into *out; FPCR/FPSR are zero afterwards. */
static void exits_with_live_fp(const struct fp_state *in, struct fp_state *out)
{
	const char *s = exit_msg;
	uintptr_t b = (uintptr_t)in;

	__asm__ volatile(
		/* load */
		QREGS_0_15("ldr") QREGS_16_31("ldr")
		"msr	fpcr, %[fpcr]\n\t"
		"msr	fpsr, %[fpsr]\n\t"
		/* exits: per character FR read, DR write, HVC */
		"1:	ldrb	w9, [%[s]], #1\n\t"
		"cbz	w9, 2f\n\t"
		"ldr	w10, [%[fr]]\n\t"
		"str	w9, [%[dr]]\n\t"
		"movz	x0, #0x8400, lsl #16\n\t"
		"hvc	#0\n\t"
		"b	1b\n"
		"2:\n\t"
		/* store */
		"mov	%[b], %[out]\n\t" QREGS_0_15("str") QREGS_16_31("str")
		"mrs	x9, fpcr\n\t"
		"str	x9, [%[out], %[fpcr_off]]\n\t"
		"mrs	x9, fpsr\n\t"
		"str	x9, [%[out], %[fpsr_off]]\n\t"
		"msr	fpcr, xzr\n\t"
		"msr	fpsr, xzr"
		: [s] "+&r"(s), [b] "+&r"(b)
		: [out] "r"(out), [fpcr] "r"(in->fpcr), [fpsr] "r"(in->fpsr),
		  [dr] "r"(GUEST_UART_BASE), [fr] "r"(GUEST_UART_BASE + 0x18),
		  [fpcr_off] "i"(offsetof(struct fp_state, fpcr)),
		  [fpsr_off] "i"(offsetof(struct fp_state, fpsr))
		: "x0", "x1", "x2", "x3", "x9", "x10", "memory", "v0", "v1", "v2", "v3", "v4", "v5",
		  "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18",
		  "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
		  "v31");
}

/* Prints the first difference; returns true if there is none. */
static bool compare(const struct fp_state *w, const struct fp_state *g)
{
	for (int n = 0; n < NR_VREGS; n++) {
		if (g->v[n][0] != w->v[n][0] || g->v[n][1] != w->v[n][1]) {
			printf("guest: fpsimd mismatch q%d = 0x%016lx%016lx want 0x%016lx%016lx\n", n,
			       g->v[n][1], g->v[n][0], w->v[n][1], w->v[n][0]);
			return false;
		}
	}
	if (g->fpcr != w->fpcr || g->fpsr != w->fpsr) {
		printf("guest: fpsimd mismatch fpcr=0x%lx fpsr=0x%lx want fpcr=0x%lx fpsr=0x%lx\n",
		       g->fpcr, g->fpsr, w->fpcr, w->fpsr);
		return false;
	}
	return true;
}

void guest_main(uint64_t x0)
{
	make_pattern(&want);
	exits_with_live_fp(&want, &got);
	if (compare(&want, &got)) {
		printf("guest: fpsimd ok\n");
	}
}
