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

void clock_format_rfc3339(int64_t unix_seconds, char text[RFC3339_SIZE])
{
    time_t seconds = (time_t)unix_seconds;
    struct tm utc;
    if (!gmtime_r(&seconds, &utc) || strftime(text, RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
        strcpy(text, "1970-01-01T00:00:00Z");
}

bool clock_parse_rfc3339(const char *text, int64_t *unix_seconds)
{
    struct tm utc = {0};
    int consumed = 0;
    size_t length = strlen(text);
    if (length == 10) {
        if (sscanf(text, "%4d-%2d-%2d%n", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &consumed) != 3)
            return false;
    } else if (length == 20) {
        if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
                   &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6)
            return false;
    } else {
        return false;
    }
    if ((size_t)consumed != length || utc.tm_mon < 1 || utc.tm_mon > 12 || utc.tm_mday < 1 ||
        utc.tm_mday > 31 || utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 59)
        return false;
    int month = utc.tm_mon;
    int day = utc.tm_mday;
    utc.tm_year -= 1900;
    utc.tm_mon -= 1;
    time_t seconds = timegm(&utc);
    /* timegm normalises 31 February to 3 March; a date that moved was not a real date. */
    if (utc.tm_mon != month - 1 || utc.tm_mday != day)
        return false;
    *unix_seconds = (int64_t)seconds;
    return true;
}
