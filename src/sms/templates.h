/* The texts of topup's SMS, per event and language, with placeholders filled from the facts the
 * outbox stored with the message: {number} (masked), {amount} and {balance} (with currency),
 * {valid_until} (date), {order}, {time}, {code} and {minutes} (OTP). Times are shown at the
 * configured UTC offset (default +08:00, China Standard Time). */
#ifndef TOPUP_SMS_TEMPLATES_H
#define TOPUP_SMS_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define SMS_RENDER_SIZE 1024
#define SMS_UTC_OFFSET_DEFAULT_MIN 480

/* Whether event names a template ("recharge_succeeded", "recharge_refunded",
 * "payment_received", "otp", "low_balance") and lang a language ("zh-CN", "en"). */
bool sms_event_known(const char *event);
bool sms_lang_known(const char *lang);

/* The event names in order, NULL-terminated (for help and preview). */
const char *const *sms_event_names(void);

/* Renders event's template in lang with facts (a JSON object) into text. Refuses an unknown
 * event or language, facts that are not an object, or a placeholder whose fact is missing or of
 * the wrong type, with TOPUP_E_INVALID_ARGUMENT and the reason in detail. */
topup_result sms_render(const char *event, const char *lang, const char *facts_json,
                        int utc_offset_minutes, char *text /* OUT */, size_t text_size,
                        char *detail, size_t detail_size);

/* "+86138****8000": the number with four digits before the last four hidden, for texts that may
 * be read by someone else holding the phone. */
void sms_mask_number(const char *e164, char *masked /* OUT */, size_t masked_size);

/* The facts of a recharge as the outbox stores them. */
int sms_recharge_facts(const char *msisdn, int64_t amount_minor, const char *currency,
                       int64_t balance_minor, int64_t valid_until, int64_t order_id, int64_t at,
                       char *facts /* OUT */, size_t facts_size);

#endif
