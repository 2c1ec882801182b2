#include "service/config_sections.h"

#include <stdio.h>
#include <string.h>

#include "core/config_file.h"

int config_sections_apply(payment_settings *payments, sms_settings *sms, const char *key,
                          const char *value, char *error, size_t error_size)
{
    if (!strchr(key, '.'))
        return 0;
    int applied = sms_settings_apply(sms, key, value, error, error_size);
    if (applied == 0)
        applied = payment_settings_apply(payments, key, value, error, error_size);
    if (applied == 0) {
        snprintf(error, error_size, "%s is not a known setting", key);
        return -1;
    }
    return applied;
}

typedef struct sections {
    payment_settings *payments;
    sms_settings *sms;
} sections;

static int apply_line(void *context, const char *key, const char *value, char *error,
                      size_t error_size)
{
    sections *target = context;
    return config_sections_apply(target->payments, target->sms, key, value, error, error_size) < 0
               ? -1
               : 0;
}

int config_sections_read(const char *path, payment_settings *payments, sms_settings *sms)
{
    payment_settings_defaults(payments);
    sms_settings_defaults(sms);
    sections target = {payments, sms};
    return config_file_read(path, apply_line, &target);
}
