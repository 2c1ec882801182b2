/* Phone numbers: normalisation of what people type to E.164, validation against the configured
 * country numbering plans, and the masked form shown for "is this the right number?". */
#ifndef TOPUP_MSISDN_H
#define TOPUP_MSISDN_H

#include <stddef.h>

#include "core/result.h"

#define E164_SIZE        17 /* '+', at most 15 digits, NUL */
#define MSISDN_INPUT_MAX 64 /* bytes of input accepted before normalising */
#define MASKED_SIZE      24

typedef struct number_plan {
    char country[3];              /* ISO 3166-1 alpha-2, e.g. "CN" */
    char calling_code[4];         /* ITU country calling code digits, e.g. "86" */
    char trunk_prefix[4];         /* national dialling prefix dropped for E.164, "" or "0" */
    char international_prefix[8]; /* prefix for dialling abroad from this country, e.g. "00" */
    int nsn_length_min;           /* national significant number length bounds, digits */
    int nsn_length_max;
    char mobile_prefixes[128]; /* comma-separated leading NSN digits of mobile numbers ("1") */
} number_plan;

/* Normalises input to E.164 ("+8613800138000").
 * Accepts national forms of the default country (with or without its trunk prefix), "+CC...",
 * the default country's international prefix ("0086..."), ASCII or full-width digits
 * (U+FF10..U+FF19), full-width plus (U+FF0B), and spaces (also U+3000), '-', '.', '(' and ')'
 * as separators. Any other character, a calling code with no plan, or a national significant
 * number of the wrong length -> TOPUP_E_INVALID_NUMBER; a valid number that does not start with
 * one of its plan's mobile prefixes -> TOPUP_E_NUMBER_NOT_MOBILE.
 * default_country is an alpha-2 code that must name one of plans (else TOPUP_E_INVALID_NUMBER
 * for national input). On success *plan_out (may be NULL) points into plans. */
topup_result msisdn_normalize(const char *input, const number_plan *plans, size_t plan_count,
                              const char *default_country, char e164[E164_SIZE] /* OUT */,
                              const number_plan **plan_out /* OUT, optional */);

/* The masked national form for confirmation: the first three and last four digits of the
 * national significant number with '*' for every digit between ("138****8000"). plan is the plan
 * of the number (its calling code is stripped). Writes "" when masked_size is too small. */
void msisdn_mask(const char *e164, const number_plan *plan, char *masked, size_t masked_size);

#endif
