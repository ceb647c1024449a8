/*
 * Console log of the core (see log.h). Lines are formatted into a buffer on
 * the stack and written out under the console lock, so lines from different
 * CPUs never interleave mid-line.
 *
 * The UART is the host's: it may disable it or hold it with flow control, so
 * its transmit FIFO may never drain. The core must not wait on it without
 * bound -- it may be logging under pagedb_lock, or on every CPU at once. A
 * line waits at most CONSOLE_WAIT_US for FIFO room; if that runs out, the rest
 * of the line is dropped and counted, and later lines try once per character
 * without waiting until one gets through whole. The next line that does is
 * preceded by a note of how much was lost.
 *
 * Lock: console_lock guards the UART and the drop counters.
 */
#include "log.h"

#include <stdarg.h>

#include "arch.h"
#include "fmt.h"
#include "lib.h"
#include "spinlock.h"

#define LINE_MAX 256
#define SUFFIX_MAX 48 /* rate-limit note and newline always fit after the message */

/*
 * A healthy PL011 at 115200 baud frees a FIFO slot every ~87 us; 2 ms is
 * twenty times that, so only a stalled UART ever reaches it.
 */
#define CONSOLE_WAIT_US 2000

static enum log_level max_level = LOG_INFO;
static struct spinlock console_lock;
/* Exclusive loads/stores need Normal memory: no lock until the MMU is on. */
static bool console_locking;
/* Under console_lock: bytes dropped since the last line that got out, and since boot. */
static u64 dropped_pending, dropped_total;
/* Under console_lock: the last line ran out of time; do not wait again until the UART moves. */
static bool console_stalled;

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

u64 log_dropped_bytes(void)
{
	return dropped_total;
}

/* Deadline 0 means a single try. */
static bool put_bounded(char c, u64 deadline)
{
	while (!arch_console_try_putc(c)) {
		if (arch_counter() >= deadline) {
			return false;
		}
	}
	return true;
}

/* Under console_lock: write s (\n as \r\n) until the deadline; how many bytes of s did not get out. */
static u64 put_line(const char *s, u64 deadline)
{
	for (; *s; s++) {
		if ((*s == '\n' && !put_bounded('\r', deadline)) || !put_bounded(*s, deadline)) {
			return strlen(s);
		}
	}
	return 0;
}

static void emit(const char *s)
{
	u64 deadline = 0, lost;
	bool note_lost = false;
	char note[80];

	if (console_locking) {
		spin_lock(&console_lock);
	}
	if (!console_stalled) {
		deadline = arch_counter() + arch_counter_freq() / 1000000 * CONSOLE_WAIT_US;
	}
	if (dropped_pending) {
		fmt_format(note, sizeof(note), "moat: cpu%u: warning: console busy: %lu bytes of log dropped\n",
			   arch_cpu_index(), dropped_pending);
		note_lost = put_line(note, deadline) != 0;
		if (!note_lost) {
			dropped_pending = 0;
		}
	}
	/*
	 * After a line ran out of time the deadline is 0: one poll per line while
	 * the UART stays stuck, the whole line as soon as it moves again.
	 */
	lost = note_lost ? strlen(s) : put_line(s, deadline);
	dropped_pending += lost;
	dropped_total += lost;
	console_stalled = note_lost || lost != 0;
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
