#include "core/msisdn.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#define E164_DIGITS_MAX  15 /* ITU-T E.164: country code plus national number */
#define MASK_HEAD_DIGITS 3  /* leading NSN digits left visible: the operator's block */
#define MASK_TAIL_DIGITS 4  /* trailing digits left visible: what people remember */

/* Every input byte could be a digit, and national input gains a calling code of at most the
 * size of its field; one more byte for the NUL. */
#define DIGITS_SIZE_MAX (MSISDN_INPUT_MAX + sizeof(((number_plan *)0)->calling_code) + 1)

enum char_kind {
    CHAR_DIGIT,
    CHAR_PLUS,
    CHAR_SEPARATOR,
    CHAR_OTHER,
};

/* The digits of the input with separators dropped. */
struct scanned {
    char digits[DIGITS_SIZE_MAX]; /* NUL-terminated */
    size_t digit_count;           /* digits before the NUL */
    bool plus;                    /* the number was written in international "+CC" form */
};

/* Plan fields are fixed arrays filled from configuration; reading them only up to their size
 * keeps an unterminated field from running into the next one. */
#define FIELD_LEN(field) strnlen((field), sizeof(field))

/* Classifies the UTF-8 character at *p and advances past it. Only the characters the header
 * lists are known; every other byte, including a stray UTF-8 lead byte, is CHAR_OTHER. */
static enum char_kind next_char(const unsigned char **p, char *digit /* OUT */)
{
    const unsigned char *c = *p;
    if (c[0] >= '0' && c[0] <= '9') {
        *digit = (char)c[0];
        *p += 1;
        return CHAR_DIGIT;
    }
    if (c[0] == '+') {
        *p += 1;
        return CHAR_PLUS;
    }
    if (c[0] == ' ' || c[0] == '-' || c[0] == '.' || c[0] == '(' || c[0] == ')') {
        *p += 1;
        return CHAR_SEPARATOR;
    }
    /* The && chain stops at a NUL, so a truncated sequence is never read past its end. */
    if (c[0] == 0xEF && c[1] == 0xBC && c[2] >= 0x90 && c[2] <= 0x99) { /* U+FF10..U+FF19 */
        *digit = (char)('0' + (c[2] - 0x90));
        *p += 3;
        return CHAR_DIGIT;
    }
    if (c[0] == 0xEF && c[1] == 0xBC && c[2] == 0x8B) { /* U+FF0B full-width plus */
        *p += 3;
        return CHAR_PLUS;
    }
    if (c[0] == 0xE3 && c[1] == 0x80 && c[2] == 0x80) { /* U+3000 ideographic space */
        *p += 3;
        return CHAR_SEPARATOR;
    }
    return CHAR_OTHER;
}

/* Collects the digits of input. A '+' is accepted once, before the first digit (separators may
 * precede it, as in "(+86) 138..."), because anywhere else it makes the number ambiguous. */
static bool scan(const char *input, struct scanned *out /* OUT */)
{
    size_t input_len = strnlen(input, MSISDN_INPUT_MAX + 1);
    if (input_len == 0 || input_len > MSISDN_INPUT_MAX)
        return false;

    out->digit_count = 0;
    out->plus = false;
    const unsigned char *p = (const unsigned char *)input;
    while (*p != '\0') {
        char digit = 0;
        switch (next_char(&p, &digit)) {
        case CHAR_DIGIT:
            out->digits[out->digit_count++] = digit;
            break;
        case CHAR_PLUS:
            if (out->plus || out->digit_count > 0)
                return false;
            out->plus = true;
            break;
        case CHAR_SEPARATOR:
            break;
        case CHAR_OTHER:
            return false;
        }
    }
    out->digits[out->digit_count] = '\0';
    return out->digit_count > 0;
}

static bool starts_with(const char *s, const char *prefix, size_t prefix_len)
{
    return prefix_len > 0 && strncmp(s, prefix, prefix_len) == 0;
}

static const number_plan *plan_by_country(const number_plan *plans, size_t plan_count,
                                          const char *country)
{
    if (country == NULL)
        return NULL;
    for (size_t i = 0; i < plan_count; i++) {
        size_t len = FIELD_LEN(plans[i].country);
        if (len > 0 && strlen(country) == len && memcmp(plans[i].country, country, len) == 0)
            return &plans[i];
    }
    return NULL;
}

/* The plan whose calling code is the longest prefix of digits. Calling codes are prefix-free,
 * so "longest" only matters when a configuration is wrong; it then picks the specific one. */
static const number_plan *plan_by_calling_code(const number_plan *plans, size_t plan_count,
                                               const char *digits)
{
    const number_plan *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < plan_count; i++) {
        size_t len = FIELD_LEN(plans[i].calling_code);
        if (len > best_len && starts_with(digits, plans[i].calling_code, len)) {
            best = &plans[i];
            best_len = len;
        }
    }
    return best;
}

/* Rewrites national or international-prefix input of the default country as CC+NSN digits.
 * Input already in "+CC" form is left as it is. */
static topup_result to_international(struct scanned *s, const number_plan *plans, size_t plan_count,
                                     const char *default_country)
{
    if (s->plus)
        return TOPUP_OK;
    const number_plan *home = plan_by_country(plans, plan_count, default_country);
    if (home == NULL)
        return TOPUP_E_INVALID_NUMBER;

    size_t intl_len = FIELD_LEN(home->international_prefix);
    if (starts_with(s->digits, home->international_prefix, intl_len)) {
        memmove(s->digits, s->digits + intl_len, s->digit_count - intl_len + 1);
        s->digit_count -= intl_len;
        return TOPUP_OK;
    }

    const char *national = s->digits;
    size_t trunk_len = FIELD_LEN(home->trunk_prefix);
    if (starts_with(national, home->trunk_prefix, trunk_len))
        national += trunk_len;
    size_t national_len = s->digit_count - (size_t)(national - s->digits);
    size_t cc_len = FIELD_LEN(home->calling_code);
    assert(cc_len + national_len < sizeof s->digits);
    memmove(s->digits + cc_len, national, national_len + 1);
    memcpy(s->digits, home->calling_code, cc_len);
    s->digit_count = cc_len + national_len;
    return TOPUP_OK;
}

/* An empty list means the plan does not distinguish mobiles. Empty items ("1,,2") are skipped
 * so that a stray comma cannot make every number count as mobile. */
static bool is_mobile(const char *nsn, const number_plan *plan)
{
    const char *list = plan->mobile_prefixes;
    size_t list_len = FIELD_LEN(plan->mobile_prefixes);
    if (list_len == 0)
        return true;
    size_t start = 0;
    while (start < list_len) {
        const char *comma = memchr(list + start, ',', list_len - start);
        size_t end = comma != NULL ? (size_t)(comma - list) : list_len;
        if (starts_with(nsn, list + start, end - start))
            return true;
        start = end + 1;
    }
    return false;
}

/* Checks CC+NSN digits against their plan and writes the E.164 form. */
static topup_result validate(const struct scanned *s, const number_plan *plans, size_t plan_count,
                             char e164[E164_SIZE] /* OUT */, const number_plan **plan_out)
{
    const number_plan *plan = plan_by_calling_code(plans, plan_count, s->digits);
    if (plan == NULL)
        return TOPUP_E_INVALID_NUMBER;
    const char *nsn = s->digits + FIELD_LEN(plan->calling_code);
    int nsn_len = (int)strlen(nsn); /* bounded by DIGITS_SIZE_MAX */
    if (nsn_len < plan->nsn_length_min || nsn_len > plan->nsn_length_max ||
        s->digit_count > E164_DIGITS_MAX)
        return TOPUP_E_INVALID_NUMBER;
    if (!is_mobile(nsn, plan))
        return TOPUP_E_NUMBER_NOT_MOBILE;

    e164[0] = '+';
    memcpy(e164 + 1, s->digits, s->digit_count + 1);
    if (plan_out != NULL)
        *plan_out = plan;
    return TOPUP_OK;
}

topup_result msisdn_normalize(const char *input, const number_plan *plans, size_t plan_count,
                              const char *default_country, char e164[E164_SIZE] /* OUT */,
                              const number_plan **plan_out /* OUT, optional */)
{
    assert(input != NULL && e164 != NULL);
    assert(plans != NULL || plan_count == 0);
    struct scanned s;
    if (!scan(input, &s))
        return TOPUP_E_INVALID_NUMBER;
    topup_result r = to_international(&s, plans, plan_count, default_country);
    if (r != TOPUP_OK)
        return r;
    return validate(&s, plans, plan_count, e164, plan_out);
}

void msisdn_mask(const char *e164, const number_plan *plan, char *masked, size_t masked_size)
{
    assert(e164 != NULL && plan != NULL);
    if (masked == NULL || masked_size == 0)
        return;
    masked[0] = '\0';
    /* A number that is not of this plan is shown as nothing rather than half-masked. */
    size_t cc_len = FIELD_LEN(plan->calling_code);
    if (e164[0] != '+' || !starts_with(e164 + 1, plan->calling_code, cc_len))
        return;
    const char *nsn = e164 + 1 + cc_len;
    size_t nsn_len = strlen(nsn);
    if (nsn_len + 1 > masked_size)
        return;

    size_t head = nsn_len >= MASK_HEAD_DIGITS + 1 + MASK_TAIL_DIGITS ? MASK_HEAD_DIGITS : 0;
    size_t tail = nsn_len > MASK_TAIL_DIGITS ? MASK_TAIL_DIGITS : nsn_len;
    for (size_t i = 0; i < nsn_len; i++)
        masked[i] = (i < head || i >= nsn_len - tail) ? nsn[i] : '*';
    masked[nsn_len] = '\0';
}
