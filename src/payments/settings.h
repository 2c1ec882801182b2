/* Payment settings from the config file shared by topupd and the topup CLI: one section per
 * provider ("alipay.app_id = 2021..."), plus the timing of the payment flow ("payments.*"). */
#ifndef TOPUP_PAYMENT_SETTINGS_H
#define TOPUP_PAYMENT_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "payments/provider.h"

typedef struct payment_settings {
    provider_settings providers[PROVIDER_COUNT]; /* indexed by provider_id */
    int64_t close_after_s;      /* unpaid orders are closed this long after creation (900) */
    int64_t retry_base_ms;      /* first wait before re-asking a provider that did not answer */
    int64_t retry_max_ms;       /* the wait doubles up to this */
    int64_t settle_interval_ms; /* how often the settlement worker looks for due work */
    char public_url[PROVIDER_URL_SIZE]; /* topupd's base URL as payers and providers reach it */
} payment_settings;

void payment_settings_defaults(payment_settings *settings);

/* Applies one "key = value" setting. Returns 1 when the key is a payment setting and was
 * applied, 0 when the key is not a payment setting (the caller may know it), -1 when it is one
 * but the value is invalid (error says why). */
int payment_settings_apply(payment_settings *settings, const char *key, const char *value,
                           char *error, size_t error_size);

#endif
