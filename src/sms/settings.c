/* "sms.key = value" settings of the config file shared by topupd and the topup CLI. */
#include <stdio.h>
#include <string.h>

#include "core/decimal.h"
#include "sms/templates.h"
#include "sms/transport.h"

void sms_settings_defaults(sms_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->port = 2775;
    settings->window = 10;
    settings->rate_per_second = 50;
    settings->enquire_link_s = 30;
    settings->reconnect_max_s = 60;
    settings->response_timeout_ms = 10000;
    snprintf(settings->lang, sizeof settings->lang, "zh-CN");
    settings->utc_offset_minutes = SMS_UTC_OFFSET_DEFAULT_MIN;
    settings->otp_per_number_per_day = 10;
    settings->otp_per_ip_per_day = 50;
    settings->low_balance_every_days = 7;
}

typedef struct text_setting {
    const char *name;
    size_t offset;
    size_t size;
} text_setting;

#define TEXT(name, member) {name, offsetof(sms_settings, member), sizeof(((sms_settings *)0)->member)}

static const text_setting texts[] = {
    TEXT("transport", transport),   TEXT("host", host),           TEXT("system_id", system_id),
    TEXT("password", password_file), TEXT("system_type", system_type),
    TEXT("source_addr", source_addr), TEXT("url", url),          TEXT("http_style", http_style),
    TEXT("username", username),     TEXT("lang", lang),
};

typedef struct number_setting {
    const char *name;
    size_t offset;
    int64_t low, high;
} number_setting;

#define NUMBER(name, member, low, high) {name, offsetof(sms_settings, member), low, high}

static const number_setting numbers[] = {
    NUMBER("port", port, 1, 65535),
    NUMBER("window", window, 1, 100),
    NUMBER("rate_per_second", rate_per_second, 1, 10000),
    NUMBER("enquire_link_s", enquire_link_s, 1, 3600),
    NUMBER("reconnect_max_s", reconnect_max_s, 1, 3600),
    NUMBER("response_timeout_ms", response_timeout_ms, 100, 120000),
    NUMBER("otp_per_number_per_day", otp_per_number_per_day, 1, 1000),
    NUMBER("otp_per_ip_per_day", otp_per_ip_per_day, 1, 100000),
    NUMBER("low_balance_every_days", low_balance_every_days, 1, 365),
};

static int refuse(char *error, size_t error_size, const char *why, const char *key)
{
    snprintf(error, error_size, why, key);
    return -1;
}

/* Values that only some strings make sense for. */
static int check_choice(const sms_settings *s, const char *field, const char *key, char *error,
                        size_t error_size)
{
    if (strcmp(field, "transport") == 0 && strcmp(s->transport, "smpp") != 0 &&
        strcmp(s->transport, "http") != 0)
        return refuse(error, error_size, "%s must be smpp or http", key);
    if (strcmp(field, "lang") == 0 && !sms_lang_known(s->lang))
        return refuse(error, error_size, "%s must be zh-CN or en", key);
    if (strcmp(field, "http_style") == 0 && strcmp(s->http_style, "kannel") != 0 &&
        strcmp(s->http_style, "json") != 0)
        return refuse(error, error_size, "%s must be kannel or json", key);
    return 1;
}

int sms_settings_apply(sms_settings *settings, const char *key, const char *value, char *error,
                       size_t error_size)
{
    if (strncmp(key, "sms.", 4) != 0)
        return 0;
    const char *field = key + 4;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(texts[i].name, field) != 0)
            continue;
        if (strlen(value) >= texts[i].size)
            return refuse(error, error_size, "%s is too long", key);
        memcpy((char *)settings + texts[i].offset, value, strlen(value) + 1);
        return check_choice(settings, field, key, error, error_size);
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        int64_t number;
        if (strcmp(numbers[i].name, field) != 0)
            continue;
        if (!decimal_parse(value, numbers[i].low, numbers[i].high, &number))
            return refuse(error, error_size, "%s is out of range or not a whole number", key);
        *(int *)((char *)settings + numbers[i].offset) = (int)number;
        return 1;
    }
    if (strcmp(field, "low_balance_minor") == 0) {
        if (!decimal_parse(value, 0, INT64_MAX / 2, &settings->low_balance_minor))
            return refuse(error, error_size, "%s must be a whole number of minor units", key);
        return 1;
    }
    if (strcmp(field, "utc_offset_minutes") == 0) {
        int64_t minutes;
        bool negative = value[0] == '-';
        if (!decimal_parse(value + negative, 0, 14 * 60, &minutes))
            return refuse(error, error_size, "%s must be minutes, -840 to 840", key);
        settings->utc_offset_minutes = (int)(negative ? -minutes : minutes);
        return 1;
    }
    return refuse(error, error_size, "%s is not an sms setting", key);
}
