/*
 * Console log of the core (see log.h). Lines are formatted into a buffer on
 * the stack and written out under the console lock, so lines from different
 * CPUs never interleave mid-line.
 */
#include "log.h"

#include <stdarg.h>

#include "arch.h"
#include "fmt.h"
#include "spinlock.h"

#define LINE_MAX 256
#define SUFFIX_MAX 48 /* rate-limit note and newline always fit after the message */

static enum log_level max_level = LOG_INFO;
static struct spinlock console_lock;
/* Exclusive loads/stores need Normal memory: no lock until the MMU is on. */
static bool console_locking;

static const char *const level_tag[] = {
	[LOG_ERROR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void log_set_level(enum log_level max)
{
	max_level = max;
}

void log_enable_locking(void)
{
	console_locking = true;
}

static void emit(const char *s)
{
	if (console_locking) {
		spin_lock(&console_lock);
	}
	for (; *s; s++) {
		if (*s == '\n') {
			arch_console_putc('\r');
		}
		arch_console_putc(*s);
	}
	if (console_locking) {
		spin_unlock(&console_lock);
	}
}

static void vlog(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	int n;

	n = fmt_format(line, sizeof(line) - SUFFIX_MAX, "moat: cpu%u: %s", arch_cpu_index(), level_tag[level]);
	n += fmt_vformat(line + n, sizeof(line) - SUFFIX_MAX - (size_t)n, fmt, ap);
	fmt_format(line + n, sizeof(line) - (size_t)n, "%s\n", suffix);
	emit(line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level) {
		return;
	}
	va_start(ap, fmt);
	vlog(level, "", fmt, ap);
	va_end(ap);
}

void log_ratelimited(struct log_limiter *rl, enum log_level level, const char *fmt, ...)
{
	u64 seen = __atomic_fetch_add(&rl->seen, 1, __ATOMIC_RELAXED);
	char suffix[SUFFIX_MAX - 1] = "";
	va_list ap;

	if (level > max_level) {
		return;
	}
	if (seen >= LOG_BURST) {
		if ((seen - LOG_BURST) % LOG_SAMPLE) {
			return;
		}
		if (seen == LOG_BURST) {
			fmt_format(suffix, sizeof(suffix), " (more suppressed: 1 in %u shown)", LOG_SAMPLE);
		} else {
			fmt_format(suffix, sizeof(suffix), " (%u similar lines suppressed)", LOG_SAMPLE - 1);
		}
	}
	va_start(ap, fmt);
	vlog(level, suffix, fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, "", fmt, ap);
	va_end(ap);
	emit("moat: PANIC: the core stopped; powering off\n");
	arch_power_off();
}
