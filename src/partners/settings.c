#include "partners/settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "partners."

static const partner_schedule callback_default = {{15, 60, 300, 1800, 7200, 21600}, 6};
static const partner_schedule status_default = {{5, 15, 60, 300, 900, 3600}, 6};

void partners_settings_defaults(partners_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->callback_retry = callback_default;
    settings->callback_give_up_s = 86400;
    settings->callback_timeout_ms = 10000;
    settings->status_retry = status_default;
    settings->breaker_failures = 5;
    settings->breaker_cooldown_s = 30;
    settings->send_give_up_s = 600;
}

static bool parse_number(const char *text, int64_t low, int64_t high, int64_t *out)
{
    errno = 0;
    char *end;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end || value < low || value > high)
        return false;
    *out = value;
    return true;
}

/* "15,60,300": 1 to PARTNER_SCHEDULE_MAX waits of 1 s to 1 day. */
static bool parse_schedule(const char *text, partner_schedule *out)
{
    partner_schedule parsed = {{0}, 0};
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", text) >= (int)sizeof copy)
        return false;
    char *saved, *item = strtok_r(copy, ",", &saved);
    for (; item; item = strtok_r(NULL, ",", &saved)) {
        while (*item == ' ')
            item++;
        if (parsed.count == PARTNER_SCHEDULE_MAX ||
            !parse_number(item, 1, 86400, &parsed.waits_s[parsed.count]))
            return false;
        parsed.count++;
    }
    if (parsed.count == 0)
        return false;
    *out = parsed;
    return true;
}

int partners_settings_apply(partners_settings *settings, const char *key, const char *value,
                            char *error, size_t error_size)
{
    if (strncmp(key, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    const char *name = key + strlen(PREFIX);
    bool ok;
    if (strcmp(name, "callback_retry_s") == 0)
        ok = parse_schedule(value, &settings->callback_retry);
    else if (strcmp(name, "status_retry_s") == 0)
        ok = parse_schedule(value, &settings->status_retry);
    else if (strcmp(name, "callback_give_up_s") == 0)
        ok = parse_number(value, 1, 30 * 86400, &settings->callback_give_up_s);
    else if (strcmp(name, "callback_timeout_ms") == 0)
        ok = parse_number(value, 100, 120000, &settings->callback_timeout_ms);
    else if (strcmp(name, "breaker_failures") == 0)
        ok = parse_number(value, 1, 1000, &settings->breaker_failures);
    else if (strcmp(name, "breaker_cooldown_s") == 0)
        ok = parse_number(value, 1, 86400, &settings->breaker_cooldown_s);
    else if (strcmp(name, "send_give_up_s") == 0)
        ok = parse_number(value, 1, 86400, &settings->send_give_up_s);
    else {
        snprintf(error, error_size, "%s is not a known setting", key);
        return -1;
    }
    if (!ok) {
        snprintf(error, error_size,
                 "%s: '%s' is not valid (see docs/partners.md for the ranges; a schedule is "
                 "seconds separated by commas)",
                 key, value);
        return -1;
    }
    return 1;
}

int64_t partner_schedule_wait(const partner_schedule *schedule, int attempts)
{
    size_t index = attempts < 1 ? 0 : (size_t)attempts - 1;
    if (index >= schedule->count)
        index = schedule->count - 1;
    return schedule->waits_s[index];
}
