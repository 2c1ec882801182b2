/* Fuzz target: money_parse (amounts of CLI recharges and catalog options, balances of a
 * subscriber import file), money_format, and the overflow-checked arithmetic.
 * Input: the first three bytes are a currency code chosen by the fuzzer, the rest (up to a NUL)
 * is the amount text; corpus files read like "CNY50.00". The text is parsed as CNY, JPY, KWD
 * and the chosen code.
 * Invariants: money_parse agrees with an independent reference parser (same result, same value);
 * a parsed amount formats and parses back to itself; money_format never writes past the size it
 * is given; money_add, money_sub and money_apply_basis_points agree with exact 128-bit arithmetic
 * and report overflow (leaving the output untouched) instead of wrapping. */
#include <stdbool.h>
#include <string.h>

#include "core/money.h"
#include "fuzz.h"

#define ARRAY_COUNT(a)   (sizeof(a) / sizeof((a)[0]))
#define CODE_PREFIX_SIZE 3
#define GUARD_SIZE       16
#define GUARD_BYTE       0x5A
#define UNTOUCHED        ((int64_t)0x0123456789ABCDEF) /* output value before a call */
/* Large enough to stand for "more than INT64_MAX" and small enough that the reference's
 * multiplications by 10 never overflow __int128. */
#define REFERENCE_CAP ((__int128)1 << 100)

typedef struct reference {
    topup_result result;
    __int128 value; /* when result is TOPUP_OK */
} reference;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* What the header promises, written independently of money.c: -?[0-9]+(\.[0-9]{1,exponent})?,
 * then zero, then sign, then range, in that order. */
static reference reference_parse(const char *text, int exponent)
{
    reference ref = {TOPUP_E_AMOUNT_FORMAT, 0};
    const char *p = text;
    bool negative = *p == '-';
    if (negative)
        p++;
    if (!is_digit(*p))
        return ref;
    __int128 value = 0;
    bool nonzero = false;
    for (; is_digit(*p); p++) {
        nonzero |= *p != '0';
        value = value * 10 + (*p - '0');
        if (value > REFERENCE_CAP)
            value = REFERENCE_CAP;
    }
    int decimals = 0;
    if (*p == '.') {
        p++;
        for (; is_digit(*p); p++, decimals++) {
            nonzero |= *p != '0';
            value = value * 10 + (*p - '0');
            if (value > REFERENCE_CAP)
                value = REFERENCE_CAP;
        }
        if (decimals == 0)
            return ref;
    }
    if (*p != '\0' || decimals > exponent)
        return ref;
    for (; decimals < exponent; decimals++) {
        value *= 10;
        if (value > REFERENCE_CAP)
            value = REFERENCE_CAP;
    }
    if (!nonzero)
        ref.result = TOPUP_E_AMOUNT_ZERO;
    else if (negative)
        ref.result = TOPUP_E_AMOUNT_NEGATIVE;
    else if (value > INT64_MAX)
        ref.result = TOPUP_E_AMOUNT_OVERFLOW;
    else
        ref.result = TOPUP_OK;
    ref.value = value;
    return ref;
}

/* money_format into every size up to the one needed: refused and terminated while too small,
 * never a byte past the size. */
static void check_format_sizes(int64_t amount, const char *code, size_t needed)
{
    for (size_t size = 0; size <= needed; size++) {
        char buffer[MONEY_TEXT_SIZE_MAX + GUARD_SIZE];
        memset(buffer, GUARD_BYTE, sizeof buffer);
        topup_result r = money_format(amount, code, buffer, size);
        for (size_t i = size; i < sizeof buffer; i++)
            FUZZ_CHECK((unsigned char)buffer[i] == GUARD_BYTE,
                       "money_format(%lld, %s) wrote byte %zu of %zu", (long long)amount, code, i,
                       size);
        if (size < needed) {
            FUZZ_CHECK(r == TOPUP_E_INVALID_ARGUMENT, "money_format(%lld, %s) into %zu bytes: %d",
                       (long long)amount, code, size, (int)r);
            if (size > 0)
                FUZZ_CHECK(buffer[0] == '\0', "money_format left text in a too small buffer");
        } else {
            FUZZ_CHECK(r == TOPUP_OK, "money_format(%lld, %s) into %zu bytes: %d",
                       (long long)amount, code, size, (int)r);
        }
    }
}

static void check_parse(const char *text, const char *code)
{
    const currency_info *currency = currency_find(code);
    int64_t amount = UNTOUCHED;
    topup_result r = money_parse(text, code, &amount);
    if (currency == NULL) {
        FUZZ_CHECK(r == TOPUP_E_CURRENCY_UNKNOWN, "'%s' in unknown '%s' gave %d", text, code,
                   (int)r);
        return;
    }
    reference ref = reference_parse(text, currency->exponent);
    FUZZ_CHECK(r == ref.result, "'%s' %s gave result %d, expected %d", text, code, (int)r,
               (int)ref.result);
    if (r != TOPUP_OK) {
        FUZZ_CHECK(amount == UNTOUCHED, "'%s' %s failed but wrote %lld", text, code,
                   (long long)amount);
        return;
    }
    FUZZ_CHECK(amount == ref.value, "'%s' %s gave %lld, expected %lld", text, code,
               (long long)amount, (long long)ref.value);
    FUZZ_CHECK(amount > 0, "'%s' %s gave %lld", text, code, (long long)amount);

    char formatted[MONEY_TEXT_SIZE_MAX];
    r = money_format(amount, code, formatted, sizeof formatted);
    FUZZ_CHECK(r == TOPUP_OK, "money_format(%lld, %s): %d", (long long)amount, code, (int)r);
    const char *point = strchr(formatted, '.');
    FUZZ_CHECK(currency->exponent == 0
                   ? point == NULL
                   : point != NULL && (int)strlen(point + 1) == currency->exponent,
               "money_format(%lld, %s) gave '%s'", (long long)amount, code, formatted);
    int64_t again = UNTOUCHED;
    r = money_parse(formatted, code, &again);
    FUZZ_CHECK(r == TOPUP_OK && again == amount, "'%s' %s -> %lld -> '%s' -> %d, %lld", text, code,
               (long long)amount, formatted, (int)r, (long long)again);
    check_format_sizes(amount, code, strlen(formatted) + 1);
}

static void check_add_sub(int64_t a, int64_t b)
{
    int64_t out = UNTOUCHED;
    __int128 exact = (__int128)a + b;
    topup_result r = money_add(a, b, &out);
    if (exact >= INT64_MIN && exact <= INT64_MAX)
        FUZZ_CHECK(r == TOPUP_OK && out == exact, "%lld + %lld gave %d, %lld", (long long)a,
                   (long long)b, (int)r, (long long)out);
    else
        FUZZ_CHECK(r == TOPUP_E_AMOUNT_OVERFLOW && out == UNTOUCHED, "%lld + %lld gave %d, %lld",
                   (long long)a, (long long)b, (int)r, (long long)out);

    out = UNTOUCHED;
    exact = (__int128)a - b;
    r = money_sub(a, b, &out);
    if (exact >= INT64_MIN && exact <= INT64_MAX)
        FUZZ_CHECK(r == TOPUP_OK && out == exact, "%lld - %lld gave %d, %lld", (long long)a,
                   (long long)b, (int)r, (long long)out);
    else
        FUZZ_CHECK(r == TOPUP_E_AMOUNT_OVERFLOW && out == UNTOUCHED, "%lld - %lld gave %d, %lld",
                   (long long)a, (long long)b, (int)r, (long long)out);
}

/* amount * basis_points / 10000, half away from zero, computed on the magnitude. */
static void check_basis_points(int64_t amount, int64_t basis_points)
{
    __int128 product = (__int128)amount * basis_points;
    __int128 magnitude = product < 0 ? -product : product;
    __int128 rounded = (magnitude + 5000) / 10000;
    __int128 exact = product < 0 ? -rounded : rounded;
    int64_t out = UNTOUCHED;
    topup_result r = money_apply_basis_points(amount, basis_points, &out);
    if (exact >= INT64_MIN && exact <= INT64_MAX)
        FUZZ_CHECK(r == TOPUP_OK && out == exact, "%lld * %lld bp gave %d, %lld", (long long)amount,
                   (long long)basis_points, (int)r, (long long)out);
    else
        FUZZ_CHECK(r == TOPUP_E_AMOUNT_OVERFLOW && out == UNTOUCHED, "%lld * %lld bp gave %d, %lld",
                   (long long)amount, (long long)basis_points, (int)r, (long long)out);
}

static int64_t load_int64(const uint8_t *bytes)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | bytes[i];
    return (int64_t)value; /* two's complement on every target topup builds for */
}

static void check_arithmetic(const uint8_t *data, size_t size, int64_t parsed)
{
    int64_t operands[] = {INT64_MIN,     INT64_MIN + 1, -1,     0, 1,
                          INT64_MAX - 1, INT64_MAX,     parsed, 0, 0};
    size_t count = ARRAY_COUNT(operands) - 2;
    if (size >= 8)
        operands[count++] = load_int64(data);
    if (size >= 16)
        operands[count++] = load_int64(data + 8);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < count; j++)
            check_add_sub(operands[i], operands[j]);
        int64_t basis_points[] = {0,
                                  1,
                                  5000,
                                  9999,
                                  10000,
                                  10001,
                                  20000,
                                  operands[i] & INT64_MAX,
                                  (int64_t)((uint64_t)operands[i] % 20001)};
        for (size_t j = 0; j < count; j++)
            for (size_t k = 0; k < ARRAY_COUNT(basis_points); k++)
                check_basis_points(operands[j], basis_points[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[CODE_PREFIX_SIZE + 1] = {0};
    size_t code_size = size < CODE_PREFIX_SIZE ? size : CODE_PREFIX_SIZE;
    memcpy(code, data, code_size);
    char *text = fuzz_cstring(data + code_size, size - code_size);

    static const char *const fixed_codes[] = {"CNY", "JPY", "KWD"};
    for (size_t i = 0; i < ARRAY_COUNT(fixed_codes); i++)
        check_parse(text, fixed_codes[i]);
    check_parse(text, code);

    int64_t parsed = 0;
    if (money_parse(text, "CNY", &parsed) != TOPUP_OK)
        parsed = 0;
    check_arithmetic(data, size, parsed);
    free(text);
    return 0;
}
