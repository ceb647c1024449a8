/*
 * parse_u64: the core's one number parser (bootargs values, test knobs).
 * Pure function on a caller buffer: no state, no lock, callable anywhere.
 */
#include "lib.h"
#include "types.h"

static bool digit_value(char c, unsigned int base, unsigned int *d)
{
	if (c >= '0' && c <= '9') {
		*d = (unsigned int)(c - '0');
	} else if (base == 16 && c >= 'a' && c <= 'f') {
		*d = (unsigned int)(c - 'a' + 10);
	} else if (base == 16 && c >= 'A' && c <= 'F') {
		*d = (unsigned int)(c - 'A' + 10);
	} else {
		return false;
	}
	return true;
}

/*
 * Decimal, or hexadecimal after "0x"/"0X". Exactly len characters are read
 * (s need not be NUL-terminated); no sign, no spaces. False on an empty
 * string, a bare "0x", any other character, or a value above 2^64 - 1, so a
 * typo never becomes a silently wrapped number. *out is set only on success.
 */
bool parse_u64(const char *s, size_t len, u64 *out)
{
	unsigned int base = 10, d;
	size_t i = 0;
	u64 v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len) {
		return false;
	}
	for (; i < len; i++) {
		if (!digit_value(s[i], base, &d) || v > (UINT64_MAX - d) / base) {
			return false;
		}
		v = v * base + d;
	}
	*out = v;
	return true;
}
