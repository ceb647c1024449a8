/*
 * The core's log: one line per call, "moat: cpuN: [level: ]message", on the
 * console. The console is the host's PL011 too, so lines must never carry
 * guest data or secrets (DESIGN §15): addresses, owners, IDs and reasons only.
 *
 * Lines a host or guest can trigger at will go through log_ratelimited() so
 * that nobody can flood the console: the first LOG_BURST lines of each
 * limiter pass, then one in LOG_SAMPLE, with a count of what was dropped.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include "types.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_BURST 32
#define LOG_SAMPLE 256

struct log_limiter {
	u64 seen;
};

void log_set_level(enum log_level max);
/* Bytes of log dropped since boot because the host's UART would not take them in time. */
u64 log_dropped_bytes(void);
/* Called once the EL2 MMU is on and other CPUs may log. */
void log_enable_locking(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_ratelimited(struct log_limiter *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Fatal errors in the core's own invariants: log file:line and power off. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define CHECK(cond)                                                                                                  \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			panic("check failed at %s:%d: %s", __FILE__, __LINE__, #cond);                               \
		}                                                                                                    \
	} while (0)

#endif
