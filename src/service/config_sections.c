#include "service/config_sections.h"

#include <stdio.h>
#include <string.h>

#include "core/config_file.h"

int config_sections_apply(const config_sections *target, const char *key, const char *value,
                          char *error, size_t error_size)
{
    if (!strchr(key, '.'))
        return 0;
    int applied = sms_settings_apply(target->sms, key, value, error, error_size);
    if (applied == 0)
        applied = partners_settings_apply(target->partners, key, value, error, error_size);
    if (applied == 0)
        applied = portal_settings_apply(target->portal, key, value, error, error_size);
    if (applied == 0)
        applied = counter_settings_apply(target->counter, key, value, error, error_size);
    if (applied == 0)
        applied = payment_settings_apply(target->payments, key, value, error, error_size);
    if (applied == 0) {
        snprintf(error, error_size, "%s is not a known setting", key);
        return -1;
    }
    return applied;
}

static int apply_line(void *context, const char *key, const char *value, char *error,
                      size_t error_size)
{
    return config_sections_apply(context, key, value, error, error_size) < 0 ? -1 : 0;
}

int config_sections_read(const char *path, const config_sections *target)
{
    payment_settings_defaults(target->payments);
    sms_settings_defaults(target->sms);
    partners_settings_defaults(target->partners);
    portal_settings_defaults(target->portal);
    counter_settings_defaults(target->counter);
    config_sections sections = *target; /* config_file_read hands its context on as non-const */
    return config_file_read(path, apply_line, &sections);
}
