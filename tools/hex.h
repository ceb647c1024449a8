/*
 * Hex decoding for moat's untrusted programs: the host tools (tools/), the Linux guest's moat-attest
 * and the fuzzers' oracles -- one definition of what a hex argument is. Not for the core, which parses
 * its one hex boot argument itself (core/policy.c) without the C library.
 */
#ifndef MOAT_TOOLS_HEX_H
#define MOAT_TOOLS_HEX_H

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit, either case; -1 for anything else. */
static inline int hex_nibble(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Exactly n bytes written as 2n hex digits (whitespace between them ignored, so a file's trailing
 * newline is fine) into out[n]: 0; anything else, including too few or too many digits: -1.
 */
static inline int hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t got = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v = hex_nibble((unsigned char)*hex);

		if (isspace((unsigned char)*hex)) {
			continue;
		}
		if (v < 0 || got == n) {
			return -1;
		}
		if (hi < 0) {
			hi = v;
		} else {
			out[got++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return got == n && hi < 0 ? 0 : -1;
}

#endif
