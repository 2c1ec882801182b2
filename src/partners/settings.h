/* "partners.key = value" settings of the config file: how callbacks are retried, how unknown
 * connector orders are queried, and when an operator's circuit opens. */
#ifndef TOPUP_PARTNER_SETTINGS_H
#define TOPUP_PARTNER_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#define PARTNER_SCHEDULE_MAX 12

/* Waits in seconds between attempts; the last one repeats. */
typedef struct partner_schedule {
    int64_t waits_s[PARTNER_SCHEDULE_MAX];
    size_t count;
} partner_schedule;

typedef struct partners_settings {
    partner_schedule callback_retry; /* between callback attempts */
    int64_t callback_give_up_s;      /* a callback this old without a 2xx is dead */
    int64_t callback_timeout_ms;     /* one attempt */
    partner_schedule status_retry;   /* between status queries of an unknown order */
    int64_t breaker_failures;        /* failures in a row that open a circuit */
    int64_t breaker_cooldown_s;      /* open this long before a probe */
    int64_t send_give_up_s;          /* never sent this long: failed and refunded */
} partners_settings;

void partners_settings_defaults(partners_settings *settings);

/* Applies "partners.NAME". Returns 1 when applied, 0 when key is not a partners.* key, -1 when the
 * name is unknown or the value invalid (error says why). */
int partners_settings_apply(partners_settings *settings, const char *key, const char *value,
                            char *error, size_t error_size);

/* The wait before attempt number attempts + 1, after `attempts` failed ones (>= 1). */
int64_t partner_schedule_wait(const partner_schedule *schedule, int attempts);

#endif
