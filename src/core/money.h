/* Money: an int64 count of minor units with an ISO 4217 currency. No floating point.
 * Every arithmetic helper checks for overflow and reports it instead of wrapping. */
#ifndef TOPUP_MONEY_H
#define TOPUP_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define CURRENCY_CODE_SIZE  4  /* three letters and the terminating NUL */
#define MONEY_TEXT_SIZE_MAX 32 /* longest formatted amount: sign, 19 digits, point, NUL */

typedef struct currency_info {
    const char *code; /* ISO 4217 alphabetic code, e.g. "CNY" */
    int numeric;      /* ISO 4217 numeric code, e.g. 156 */
    int exponent;     /* decimal places of the minor unit: CNY 2, JPY 0, KWD 3 */
} currency_info;

/* The currency with this exact upper-case code, or NULL when it is not in the table. */
const currency_info *currency_find(const char *code);

/* Parses a decimal amount in major units ("50", "50.5", "50.00") into minor units of the currency.
 * Refuses, each with its own result: an unknown currency (TOPUP_E_CURRENCY_UNKNOWN), text that
 * is not a plain decimal or has more decimals than the currency's exponent
 * (TOPUP_E_AMOUNT_FORMAT), a negative amount (TOPUP_E_AMOUNT_NEGATIVE), zero
 * (TOPUP_E_AMOUNT_ZERO) and a value that does not fit int64 (TOPUP_E_AMOUNT_OVERFLOW).
 * No sign other than a leading '-', no exponent notation, no spaces, no thousands separators. */
topup_result money_parse(const char *text, const char *currency_code,
                         int64_t *amount_minor /* OUT */);

/* Formats minor units as a decimal in major units with exactly the currency's decimals:
 * 5000 CNY -> "50.00", -5 CNY -> "-0.05", 500 JPY -> "500". Returns TOPUP_E_CURRENCY_UNKNOWN
 * for an unknown currency and TOPUP_E_INVALID_ARGUMENT when text_size is too small. */
topup_result money_format(int64_t amount_minor, const char *currency_code, char *text,
                          size_t text_size);

/* Checks that an amount is usable as the value of a movement: > 0. */
topup_result money_check_positive(int64_t amount_minor);

/* *sum = a + b, or TOPUP_E_AMOUNT_OVERFLOW (leaving *sum untouched). */
topup_result money_add(int64_t a, int64_t b, int64_t *sum /* OUT */);

/* *difference = a - b, or TOPUP_E_AMOUNT_OVERFLOW (leaving *difference untouched). */
topup_result money_sub(int64_t a, int64_t b, int64_t *difference /* OUT */);

/* *result = amount * basis_points / 10000, rounded half away from zero; basis_points >= 0.
 * Used for percentage prices (10000 = 100%). Overflow -> TOPUP_E_AMOUNT_OVERFLOW. */
topup_result money_apply_basis_points(int64_t amount_minor, int64_t basis_points,
                                      int64_t *result /* OUT */);

#endif
