/* The "section.key" settings of the config file that topupd and the topup CLI share: the
 * payment providers and payments.* (payments/settings.h), sms.* (sms/transport.h), partners.*
 * (partners/settings.h), portal.*
 * (service/portal.h), counter.* (service/counter_desk.h). One place decides which section a key
 * belongs to, so every reader of the file accepts the same file and catches the same typos. Keys
 * without a section are topupd's own.
 */
#ifndef TOPUP_CONFIG_SECTIONS_H
#define TOPUP_CONFIG_SECTIONS_H

#include "partners/settings.h"
#include "payments/settings.h"
#include "service/counter_desk.h"
#include "service/portal.h"
#include "sms/transport.h"

/* Where each section's settings go. */
typedef struct config_sections {
    payment_settings *payments;
    sms_settings *sms;
    partners_settings *partners;
    portal_settings *portal;
    counter_settings *counter;
} config_sections;

/* Applies one setting. Returns 1 when applied, 0 when key has no section (not ours), -1 when the
 * section is unknown or the value invalid (error says why). */
int config_sections_apply(const config_sections *target, const char *key, const char *value,
                          char *error, size_t error_size);

/* Reads path for the CLI: the defaults, then every sectioned setting; topupd's own keys are left
 * to topupd. Returns 0, or -1 after reporting each bad line on stderr. */
int config_sections_read(const char *path, const config_sections *target);

#endif
