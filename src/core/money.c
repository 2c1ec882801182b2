#include "core/money.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

/* ISO 4217 currencies topup may price in. Numeric codes and exponents follow the ISO list;
 * a currency missing here is refused everywhere rather than guessed. */
static const currency_info currencies[] = {
    {"BDT", 50, 2},  {"BHD", 48, 3},  {"BRL", 986, 2}, {"CNY", 156, 2}, {"EUR", 978, 2},
    {"GBP", 826, 2}, {"HKD", 344, 2}, {"IDR", 360, 2}, {"INR", 356, 2}, {"JOD", 400, 3},
    {"JPY", 392, 0}, {"KES", 404, 2}, {"KRW", 410, 0}, {"KWD", 414, 3}, {"MOP", 446, 2},
    {"MXN", 484, 2}, {"MYR", 458, 2}, {"NGN", 566, 2}, {"OMR", 512, 3}, {"PHP", 608, 2},
    {"PKR", 586, 2}, {"SGD", 702, 2}, {"THB", 764, 2}, {"TND", 788, 3}, {"TWD", 901, 2},
    {"USD", 840, 2}, {"VND", 704, 0},
};

#define CURRENCY_COUNT   (sizeof currencies / sizeof currencies[0])
#define BASIS_POINTS_ONE 10000 /* 100% */

const currency_info *currency_find(const char *code)
{
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < CURRENCY_COUNT; i++) {
        if (strcmp(currencies[i].code, code) == 0)
            return &currencies[i];
    }
    return NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Checks text against -?[0-9]+(\.[0-9]{1,exponent})? and reports where the digits are.
 * The whole grammar is checked before any value is computed so that a malformed amount is
 * always reported as a format error, whatever its size or sign. */
static bool amount_syntax_ok(const char *text, int exponent, bool *negative /* OUT */,
                             const char **digits /* OUT */)
{
    const char *p = text;
    *negative = (*p == '-');
    if (*negative)
        p++;
    *digits = p;
    if (!is_digit(*p))
        return false;
    while (is_digit(*p))
        p++;
    if (*p == '\0')
        return true;
    if (*p != '.')
        return false;
    p++;
    int decimals = 0;
    while (is_digit(*p)) {
        p++;
        decimals++;
    }
    return *p == '\0' && decimals >= 1 && decimals <= exponent;
}

static bool all_zero(const char *digits)
{
    for (const char *p = digits; *p != '\0'; p++) {
        if (is_digit(*p) && *p != '0')
            return false;
    }
    return true;
}

/* Accumulates syntactically valid digits (with at most exponent decimals) into minor units. */
static topup_result minor_units_from(const char *digits, int exponent, int64_t *value /* OUT */)
{
    int64_t v = 0;
    int decimals = 0;
    bool in_fraction = false;
    for (const char *p = digits; *p != '\0'; p++) {
        if (*p == '.') {
            in_fraction = true;
            continue;
        }
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return TOPUP_E_AMOUNT_OVERFLOW;
        decimals += in_fraction;
    }
    for (; decimals < exponent; decimals++) {
        if (__builtin_mul_overflow(v, 10, &v))
            return TOPUP_E_AMOUNT_OVERFLOW;
    }
    *value = v;
    return TOPUP_OK;
}

topup_result money_parse(const char *text, const char *currency_code,
                         int64_t *amount_minor /* OUT */)
{
    assert(text != NULL && amount_minor != NULL);
    const currency_info *cur = currency_find(currency_code);
    if (cur == NULL)
        return TOPUP_E_CURRENCY_UNKNOWN;

    bool negative;
    const char *digits;
    if (!amount_syntax_ok(text, cur->exponent, &negative, &digits))
        return TOPUP_E_AMOUNT_FORMAT;
    /* Zero and sign are decided on the digits alone, so "-0" is zero and a negative amount
     * too long for int64 is reported as negative, the mistake the user has to fix first. */
    if (all_zero(digits))
        return TOPUP_E_AMOUNT_ZERO;
    if (negative)
        return TOPUP_E_AMOUNT_NEGATIVE;

    int64_t value;
    topup_result r = minor_units_from(digits, cur->exponent, &value);
    if (r != TOPUP_OK)
        return r;
    *amount_minor = value;
    return TOPUP_OK;
}

/* Writes the decimal digits of magnitude, at least min_digits of them (zero-padded on the
 * left), backwards from end. Returns the first written character. */
static char *digits_backwards(uint64_t magnitude, int min_digits, char *end)
{
    char *p = end;
    int written = 0;
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
        written++;
    } while (magnitude != 0 || written < min_digits);
    return p;
}

topup_result money_format(int64_t amount_minor, const char *currency_code, char *text,
                          size_t text_size)
{
    const currency_info *cur = currency_find(currency_code);
    if (cur == NULL)
        return TOPUP_E_CURRENCY_UNKNOWN;

    /* Via uint64 so that INT64_MIN has a magnitude. */
    uint64_t magnitude =
        amount_minor < 0 ? (uint64_t)0 - (uint64_t)amount_minor : (uint64_t)amount_minor;
    uint64_t scale = 1;
    for (int i = 0; i < cur->exponent; i++)
        scale *= 10;

    char buf[MONEY_TEXT_SIZE_MAX];
    char *end = buf + sizeof buf - 1;
    *end = '\0';
    char *p = end;
    if (cur->exponent > 0) {
        p = digits_backwards(magnitude % scale, cur->exponent, p);
        *--p = '.';
    }
    p = digits_backwards(magnitude / scale, 1, p);
    if (amount_minor < 0)
        *--p = '-';

    size_t size_needed = (size_t)(end - p) + 1;
    if (text == NULL || text_size < size_needed) {
        if (text != NULL && text_size > 0)
            text[0] = '\0';
        return TOPUP_E_INVALID_ARGUMENT;
    }
    memcpy(text, p, size_needed);
    return TOPUP_OK;
}

topup_result money_check_positive(int64_t amount_minor)
{
    if (amount_minor == 0)
        return TOPUP_E_AMOUNT_ZERO;
    if (amount_minor < 0)
        return TOPUP_E_AMOUNT_NEGATIVE;
    return TOPUP_OK;
}

topup_result money_add(int64_t a, int64_t b, int64_t *sum /* OUT */)
{
    int64_t s;
    if (__builtin_add_overflow(a, b, &s))
        return TOPUP_E_AMOUNT_OVERFLOW;
    *sum = s;
    return TOPUP_OK;
}

topup_result money_sub(int64_t a, int64_t b, int64_t *difference /* OUT */)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d))
        return TOPUP_E_AMOUNT_OVERFLOW;
    *difference = d;
    return TOPUP_OK;
}

topup_result money_apply_basis_points(int64_t amount_minor, int64_t basis_points,
                                      int64_t *result /* OUT */)
{
    assert(basis_points >= 0);
    /* |int64| * |int64| < 2^126, so the product is exact in 128 bits and only the final,
     * rounded quotient can fail to fit. */
    __int128 product = (__int128)amount_minor * basis_points;
    __int128 quotient = product / BASIS_POINTS_ONE;
    __int128 remainder = product % BASIS_POINTS_ONE; /* has the sign of product */
    if (remainder * 2 >= BASIS_POINTS_ONE)
        quotient++;
    else if (remainder * 2 <= -BASIS_POINTS_ONE)
        quotient--;
    if (quotient > INT64_MAX || quotient < INT64_MIN)
        return TOPUP_E_AMOUNT_OVERFLOW;
    *result = (int64_t)quotient;
    return TOPUP_OK;
}
