/* Wall-clock time as the ledger records it: unix seconds, shown as RFC 3339 UTC. */
#ifndef TOPUP_CLOCK_H
#define TOPUP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RFC3339_SIZE      21                    /* "2026-11-25T21:30:00Z" and NUL */
#define CLOCK_SECONDS_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z, the last 4-digit year */

int64_t clock_now_seconds(void);

/* Monotonic milliseconds, for timeouts. */
int64_t clock_monotonic_ms(void);

/* Monotonic microseconds, for latencies (a request often takes less than a millisecond). */
int64_t clock_monotonic_us(void);

/* The CLOCK_REALTIME deadline delay_ms from now, as pthread_cond_timedwait wants it. */
struct timespec clock_deadline_after_ms(int64_t delay_ms);

/* Formats unix seconds as RFC 3339 UTC, clamped to 1970..CLOCK_SECONDS_MAX. */
void clock_format_rfc3339(int64_t unix_seconds, char text[RFC3339_SIZE] /* OUT */);

/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC), years 1970-9999, exactly that shape (no
 * signs, no spaces). Returns false on anything else. */
bool clock_parse_rfc3339(const char *text, int64_t *unix_seconds /* OUT */);

/* Exponential backoff: base, doubled for each of attempts, capped at cap (when cap > 0). The
 * waits of the settlement worker and the SMS dispatcher. */
int64_t clock_backoff(int64_t base, int64_t cap, int attempts);

#endif
