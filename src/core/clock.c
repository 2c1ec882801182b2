#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now_seconds(void)
{
    return (int64_t)time(NULL);
}

int64_t clock_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t clock_monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

struct timespec clock_deadline_after_ms(int64_t delay_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += delay_ms / 1000;
    deadline.tv_nsec += (delay_ms % 1000) * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    return deadline;
}

void clock_format_rfc3339(int64_t unix_seconds, char text[RFC3339_SIZE])
{
    /* Clamped to what four-digit years can say, so every output parses back. */
    if (unix_seconds < 0)
        unix_seconds = 0;
    if (unix_seconds > CLOCK_SECONDS_MAX)
        unix_seconds = CLOCK_SECONDS_MAX;
    time_t seconds = (time_t)unix_seconds;
    struct tm utc;
    gmtime_r(&seconds, &utc);
    /* The clamp bounds every field, but the compiler cannot see it: format into room for any
     * int and copy the exact-width result. */
    char wide[96];
    snprintf(wide, sizeof wide, "%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900,
             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    memcpy(text, wide, RFC3339_SIZE - 1);
    text[RFC3339_SIZE - 1] = '\0';
}

/* Reads `count` ASCII digits at text (no sign, no space); false if any is not a digit. */
static bool digits(const char *text, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        *value = *value * 10 + (text[i] - '0');
    }
    return true;
}

/* Whether text has `shape` exactly: 'd' stands for one digit, any other character for itself. */
static bool has_shape(const char *text, const char *shape)
{
    size_t length = strlen(shape);
    if (strlen(text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (shape[i] == 'd' ? text[i] < '0' || text[i] > '9' : text[i] != shape[i])
            return false;
    return true;
}

bool clock_parse_rfc3339(const char *text, int64_t *unix_seconds)
{
    /* Every position is checked before any number is read: sscanf would take signs and
     * spaces, and accept "2026-+1-19" or "2026-11- 5". */
    bool date_only = has_shape(text, "dddd-dd-dd");
    if (!date_only && !has_shape(text, "dddd-dd-ddTdd:dd:ddZ"))
        return false;
    int year, month, day, hour = 0, minute = 0, second = 0;
    digits(text, 4, &year);
    digits(text + 5, 2, &month);
    digits(text + 8, 2, &day);
    if (!date_only) {
        digits(text + 11, 2, &hour);
        digits(text + 14, 2, &minute);
        digits(text + 17, 2, &second);
    }
    /* Before 1970 is no date a balance or validity can have, and keeps every accepted value one
     * that clock_format_rfc3339 writes back as four-digit years. */
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
        second > 59)
        return false;
    struct tm utc = {.tm_year = year - 1900,
                     .tm_mon = month - 1,
                     .tm_mday = day,
                     .tm_hour = hour,
                     .tm_min = minute,
                     .tm_sec = second};
    time_t seconds = timegm(&utc);
    /* timegm normalises 31 February to 3 March; a date that moved was not a real date. */
    if (utc.tm_mon != month - 1 || utc.tm_mday != day)
        return false;
    *unix_seconds = (int64_t)seconds;
    return true;
}

int64_t clock_backoff(int64_t base, int64_t cap, int attempts)
{
    int64_t wait = base;
    for (int i = 0; i < attempts && (cap <= 0 || wait < cap); i++)
        wait *= 2;
    return cap > 0 && wait > cap ? cap : wait;
}
