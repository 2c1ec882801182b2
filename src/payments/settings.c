/* Payment settings: "<provider>.<field> = value" and "payments.<field> = value" lines. */
#include "payments/settings.h"

#include <stdio.h>
#include <string.h>

#include "core/decimal.h"

#define TIMEOUT_MS_DEFAULT 10000

void payment_settings_defaults(payment_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    for (int i = 0; i < PROVIDER_COUNT; i++)
        settings->providers[i].timeout_ms = TIMEOUT_MS_DEFAULT;
    settings->close_after_s = 15 * 60;
    settings->retry_base_ms = 5000;
    settings->retry_max_ms = 10 * 60 * 1000;
    settings->settle_interval_ms = 1000;
}

typedef struct text_field {
    const char *name;
    size_t offset;
    size_t size;
} text_field;

#define TEXT_FIELD(name, member)                                                                   \
    {name, offsetof(provider_settings, member), sizeof(((provider_settings *)0)->member)}

static const text_field text_fields[] = {
    TEXT_FIELD("gateway", gateway_url),
    TEXT_FIELD("app_id", app_id),
    TEXT_FIELD("merchant_id", merchant_id),
    TEXT_FIELD("merchant_serial", merchant_serial),
    TEXT_FIELD("private_key", private_key_file),
    TEXT_FIELD("public_key", public_key_file),
    TEXT_FIELD("public_key_serial", public_key_serial),
    TEXT_FIELD("secret", secret_file),
    TEXT_FIELD("webhook_secret", webhook_secret_file),
    TEXT_FIELD("notify_url", notify_url),
    TEXT_FIELD("return_url", return_url),
};

static int set_error(char *error, size_t error_size, const char *format, const char *key)
{
    snprintf(error, error_size, format, key);
    return -1;
}

static int apply_provider(provider_settings *p, const char *key, const char *field,
                          const char *value, char *error, size_t error_size)
{
    if (strcmp(field, "timeout_ms") == 0) {
        int64_t ms;
        if (!decimal_parse(value, 1, 600000, &ms))
            return set_error(error, error_size, "%s must be a whole number of milliseconds, 1 to 600000",
                             key);
        p->timeout_ms = (int)ms;
        p->enabled = true;
        return 1;
    }
    for (size_t i = 0; i < sizeof text_fields / sizeof text_fields[0]; i++) {
        if (strcmp(text_fields[i].name, field) != 0)
            continue;
        if (strlen(value) >= text_fields[i].size)
            return set_error(error, error_size, "%s is too long", key);
        memcpy((char *)p + text_fields[i].offset, value, strlen(value) + 1);
        p->enabled = true;
        return 1;
    }
    return set_error(error, error_size, "%s is not a payment provider setting", key);
}

static int apply_duration(int64_t *target, const char *key, const char *value, int64_t low,
                          int64_t high, char *error, size_t error_size)
{
    if (!decimal_parse(value, low, high, target))
        return set_error(error, error_size, "%s is out of range or not a whole number", key);
    return 1;
}

static int apply_general(payment_settings *s, const char *key, const char *field,
                         const char *value, char *error, size_t error_size)
{
    if (strcmp(field, "close_after") == 0)
        return apply_duration(&s->close_after_s, key, value, 1, 7 * 24 * 3600, error, error_size);
    if (strcmp(field, "retry_base_ms") == 0)
        return apply_duration(&s->retry_base_ms, key, value, 10, 3600 * 1000, error, error_size);
    if (strcmp(field, "retry_max_ms") == 0)
        return apply_duration(&s->retry_max_ms, key, value, 10, 24 * 3600 * 1000, error,
                              error_size);
    if (strcmp(field, "settle_interval_ms") == 0)
        return apply_duration(&s->settle_interval_ms, key, value, 10, 60000, error, error_size);
    if (strcmp(field, "public_url") == 0) {
        if (strlen(value) >= sizeof s->public_url)
            return set_error(error, error_size, "%s is too long", key);
        strcpy(s->public_url, value);
        return 1;
    }
    return set_error(error, error_size, "%s is not a payments setting", key);
}

int payment_settings_apply(payment_settings *settings, const char *key, const char *value,
                           char *error, size_t error_size)
{
    const char *dot = strchr(key, '.');
    if (!dot)
        return 0;
    char section[PROVIDER_NAME_SIZE];
    size_t length = (size_t)(dot - key);
    if (length >= sizeof section)
        return 0;
    memcpy(section, key, length);
    section[length] = '\0';
    if (strcmp(section, "payments") == 0)
        return apply_general(settings, key, dot + 1, value, error, error_size);
    provider_id id;
    if (!provider_ops_by_name(section, &id))
        return 0;
    return apply_provider(&settings->providers[id], key, dot + 1, value, error, error_size);
}
