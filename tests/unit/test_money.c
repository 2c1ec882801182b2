/* Unit tests for src/core/money.c: what an amount typed by a user or sent by a partner becomes,
 * and that no arithmetic on money ever wraps silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/money.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define UNTOUCHED      INT64_C(0x5A5A5A5A) /* sentinel: a refused call must not write its OUT */

static void currency_table_has_iso_codes_and_exponents(void **state)
{
    (void)state;
    /* A wrong exponent multiplies every price by 10 or 100, so each one is pinned here. */
    static const currency_info expected[] = {
        {"CNY", 156, 2}, {"HKD", 344, 2}, {"MOP", 446, 2}, {"TWD", 901, 2}, {"USD", 840, 2},
        {"EUR", 978, 2}, {"GBP", 826, 2}, {"PHP", 608, 2}, {"IDR", 360, 2}, {"INR", 356, 2},
        {"THB", 764, 2}, {"VND", 704, 0}, {"MYR", 458, 2}, {"SGD", 702, 2}, {"KRW", 410, 0},
        {"JPY", 392, 0}, {"KWD", 414, 3}, {"BHD", 48, 3},  {"JOD", 400, 3}, {"OMR", 512, 3},
        {"TND", 788, 3}, {"NGN", 566, 2}, {"KES", 404, 2}, {"PKR", 586, 2}, {"BDT", 50, 2},
        {"BRL", 986, 2}, {"MXN", 484, 2},
    };
    for (size_t i = 0; i < ARRAY_COUNT(expected); i++) {
        const currency_info *c = currency_find(expected[i].code);
        if (c == NULL)
            fail_msg("%s missing", expected[i].code);
        assert_string_equal(c->code, expected[i].code);
        assert_int_equal(c->numeric, expected[i].numeric);
        assert_int_equal(c->exponent, expected[i].exponent);
    }
}

static void currency_find_is_exact(void **state)
{
    (void)state;
    static const char *const not_codes[] = {"cny", "Cny", "CN", "CNYX", "", "XXX", " CNY"};
    for (size_t i = 0; i < ARRAY_COUNT(not_codes); i++) {
        if (currency_find(not_codes[i]) != NULL)
            fail_msg("\"%s\" found", not_codes[i]);
    }
    assert_null(currency_find(NULL));
}

struct parse_case {
    const char *text;
    const char *currency;
    topup_result expected;
    int64_t amount_minor; /* when expected is TOPUP_OK */
};

static const struct parse_case parse_cases[] = {
    {"50", "CNY", TOPUP_OK, 5000},
    {"50.5", "CNY", TOPUP_OK, 5050},
    {"50.00", "CNY", TOPUP_OK, 5000},
    {"0.01", "CNY", TOPUP_OK, 1},
    {"0.5", "CNY", TOPUP_OK, 50},
    {"92233720368547758.07", "CNY", TOPUP_OK, INT64_MAX},
    {"500", "JPY", TOPUP_OK, 500},
    {"9223372036854775807", "JPY", TOPUP_OK, INT64_MAX},
    {"1.234", "KWD", TOPUP_OK, 1234},
    {"1.2", "KWD", TOPUP_OK, 1200},
    {"0.001", "KWD", TOPUP_OK, 1},

    {"0", "CNY", TOPUP_E_AMOUNT_ZERO, 0},
    {"0.00", "CNY", TOPUP_E_AMOUNT_ZERO, 0},
    {"-0", "CNY", TOPUP_E_AMOUNT_ZERO, 0},
    {"0", "JPY", TOPUP_E_AMOUNT_ZERO, 0},

    {"-5", "CNY", TOPUP_E_AMOUNT_NEGATIVE, 0},
    {"-0.01", "CNY", TOPUP_E_AMOUNT_NEGATIVE, 0},
    /* Too large and negative: the sign is the first thing the user has to fix. */
    {"-92233720368547758.09", "CNY", TOPUP_E_AMOUNT_NEGATIVE, 0},

    {"92233720368547758.08", "CNY", TOPUP_E_AMOUNT_OVERFLOW, 0},
    {"92233720368547758.1", "CNY", TOPUP_E_AMOUNT_OVERFLOW, 0},
    {"9223372036854775808", "JPY", TOPUP_E_AMOUNT_OVERFLOW, 0},
    {"9223372036854775.808", "KWD", TOPUP_E_AMOUNT_OVERFLOW, 0},
    {"99999999999999999999999999", "CNY", TOPUP_E_AMOUNT_OVERFLOW, 0},

    {"5", "XXX", TOPUP_E_CURRENCY_UNKNOWN, 0},
    {"5", "cny", TOPUP_E_CURRENCY_UNKNOWN, 0},
    {"5", "", TOPUP_E_CURRENCY_UNKNOWN, 0},
    {"5", NULL, TOPUP_E_CURRENCY_UNKNOWN, 0},
    /* The currency is judged first: a bad amount in a bad currency reports the currency. */
    {"abc", "XXX", TOPUP_E_CURRENCY_UNKNOWN, 0},

    {"50.001", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"1e3", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {" 5", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"5 ", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"5\t", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"+5", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"5.", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {".5", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"-", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"--5", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"1,000", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"1.000,00", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"5.0.0", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"0x10", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"\xef\xbc\x95", "CNY", TOPUP_E_AMOUNT_FORMAT, 0}, /* full-width 5: digits are ASCII only */
    {"50.5", "JPY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"50.0", "JPY", TOPUP_E_AMOUNT_FORMAT, 0},
    {"1.2345", "KWD", TOPUP_E_AMOUNT_FORMAT, 0},
    /* Format is judged before size, so garbage of any length is a format error. */
    {"99999999999999999999999999x", "CNY", TOPUP_E_AMOUNT_FORMAT, 0},
};

static void parse_accepts_plain_decimals_and_refuses_the_rest(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_COUNT(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        int64_t amount = UNTOUCHED;
        topup_result r = money_parse(c->text, c->currency, &amount);
        if (r != c->expected)
            fail_msg("parse(\"%s\", %s) = %s, want %s", c->text, c->currency ? c->currency : "NULL",
                     topup_result_code(r), topup_result_code(c->expected));
        int64_t want = c->expected == TOPUP_OK ? c->amount_minor : UNTOUCHED;
        if (amount != want)
            fail_msg("parse(\"%s\", %s) wrote %lld, want %lld", c->text,
                     c->currency ? c->currency : "NULL", (long long)amount, (long long)want);
    }
}

struct format_case {
    int64_t amount_minor;
    const char *currency;
    const char *text;
};

static const struct format_case format_cases[] = {
    {5000, "CNY", "50.00"},
    {-5, "CNY", "-0.05"},
    {0, "CNY", "0.00"},
    {5050, "CNY", "50.50"},
    {500, "JPY", "500"},
    {-500, "JPY", "-500"},
    {1, "KWD", "0.001"},
    {1234, "KWD", "1.234"},
    {INT64_MAX, "CNY", "92233720368547758.07"},
    {INT64_MIN, "CNY", "-92233720368547758.08"},
    {INT64_MAX, "JPY", "9223372036854775807"},
    {INT64_MIN, "JPY", "-9223372036854775808"},
    {INT64_MAX, "KWD", "9223372036854775.807"},
    {INT64_MIN, "KWD", "-9223372036854775.808"},
};

static void format_writes_exactly_the_currency_decimals(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_COUNT(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        char text[MONEY_TEXT_SIZE_MAX];
        assert_int_equal(money_format(c->amount_minor, c->currency, text, sizeof text), TOPUP_OK);
        assert_string_equal(text, c->text);
    }
}

/* What is shown to a user must read back as the same amount, and vice versa. */
static void parse_and_format_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_COUNT(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        if (c->amount_minor <= 0)
            continue; /* parse refuses these by design */
        int64_t amount = 0;
        assert_int_equal(money_parse(c->text, c->currency, &amount), TOPUP_OK);
        assert_true(amount == c->amount_minor);
    }
    static const struct {
        const char *text;
        const char *currency;
        const char *canonical;
    } texts[] = {
        {"50", "CNY", "50.00"},    {"0.5", "CNY", "0.50"},    {"9.99", "CNY", "9.99"},
        {"1", "JPY", "1"},         {"10000", "JPY", "10000"}, {"1.5", "KWD", "1.500"},
        {"0.001", "KWD", "0.001"},
    };
    for (size_t i = 0; i < ARRAY_COUNT(texts); i++) {
        int64_t amount = 0;
        char text[MONEY_TEXT_SIZE_MAX];
        assert_int_equal(money_parse(texts[i].text, texts[i].currency, &amount), TOPUP_OK);
        assert_int_equal(money_format(amount, texts[i].currency, text, sizeof text), TOPUP_OK);
        assert_string_equal(text, texts[i].canonical);
    }
}

static void format_refuses_unknown_currency_and_short_buffer(void **state)
{
    (void)state;
    char text[MONEY_TEXT_SIZE_MAX] = "previous";
    assert_int_equal(money_format(5000, "XXX", text, sizeof text), TOPUP_E_CURRENCY_UNKNOWN);
    assert_int_equal(money_format(5000, NULL, text, sizeof text), TOPUP_E_CURRENCY_UNKNOWN);

    /* "50.00" needs 6 bytes: exactly enough works, one less must not truncate to "50.0". */
    assert_int_equal(money_format(5000, "CNY", text, 6), TOPUP_OK);
    assert_string_equal(text, "50.00");
    assert_int_equal(money_format(5000, "CNY", text, 5), TOPUP_E_INVALID_ARGUMENT);
    assert_string_equal(text, "");
    assert_int_equal(money_format(5000, "CNY", text, 0), TOPUP_E_INVALID_ARGUMENT);
}

static void check_positive_tells_zero_from_negative(void **state)
{
    (void)state;
    assert_int_equal(money_check_positive(1), TOPUP_OK);
    assert_int_equal(money_check_positive(INT64_MAX), TOPUP_OK);
    assert_int_equal(money_check_positive(0), TOPUP_E_AMOUNT_ZERO);
    assert_int_equal(money_check_positive(-1), TOPUP_E_AMOUNT_NEGATIVE);
    assert_int_equal(money_check_positive(INT64_MIN), TOPUP_E_AMOUNT_NEGATIVE);
}

struct arith_case {
    int64_t a;
    int64_t b;
    topup_result expected;
    int64_t value; /* when expected is TOPUP_OK */
};

static void add_reports_overflow_instead_of_wrapping(void **state)
{
    (void)state;
    static const struct arith_case cases[] = {
        {2, 3, TOPUP_OK, 5},
        {INT64_MAX, INT64_MIN, TOPUP_OK, -1},
        {INT64_MAX - 1, 1, TOPUP_OK, INT64_MAX},
        {INT64_MAX, 1, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {INT64_MIN, -1, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {INT64_MAX, INT64_MAX, TOPUP_E_AMOUNT_OVERFLOW, 0},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        int64_t sum = UNTOUCHED;
        assert_int_equal(money_add(cases[i].a, cases[i].b, &sum), cases[i].expected);
        assert_true(sum == (cases[i].expected == TOPUP_OK ? cases[i].value : UNTOUCHED));
    }
}

static void sub_reports_overflow_instead_of_wrapping(void **state)
{
    (void)state;
    static const struct arith_case cases[] = {
        {5, 3, TOPUP_OK, 2},
        {3, 5, TOPUP_OK, -2},
        {-1, INT64_MAX, TOPUP_OK, INT64_MIN},
        {INT64_MIN, 1, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {0, INT64_MIN, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {INT64_MAX, -1, TOPUP_E_AMOUNT_OVERFLOW, 0},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        int64_t difference = UNTOUCHED;
        assert_int_equal(money_sub(cases[i].a, cases[i].b, &difference), cases[i].expected);
        assert_true(difference == (cases[i].expected == TOPUP_OK ? cases[i].value : UNTOUCHED));
    }
}

static void basis_points_round_half_away_from_zero_without_overflow(void **state)
{
    (void)state;
    static const struct arith_case cases[] = {
        {5000, 9950, TOPUP_OK, 4975}, /* a 99.5% price of 50.00 */
        {1, 5000, TOPUP_OK, 1},       /* 0.5 rounds up */
        {-1, 5000, TOPUP_OK, -1},     /* -0.5 rounds down, not towards zero */
        {3, 5000, TOPUP_OK, 2},       /* 1.5: half away from zero, not to even */
        {-3, 5000, TOPUP_OK, -2},
        {1, 4999, TOPUP_OK, 0},
        {-1, 4999, TOPUP_OK, 0},
        {15, 3333, TOPUP_OK, 5}, /* 4.9995 */
        {12345, 10000, TOPUP_OK, 12345},
        {12345, 0, TOPUP_OK, 0},
        {0, 12345, TOPUP_OK, 0},
        {INT64_MAX, 10000, TOPUP_OK, INT64_MAX},
        {INT64_MIN, 10000, TOPUP_OK, INT64_MIN},
        {INT64_MAX, 5000, TOPUP_OK, INT64_C(4611686018427387904)}, /* ...903.5 */
        {1, INT64_MAX, TOPUP_OK, INT64_C(922337203685478)},        /* ...477.5807 */
        {INT64_MAX, 10001, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {INT64_MIN, 10001, TOPUP_E_AMOUNT_OVERFLOW, 0},
        {INT64_MAX, INT64_MAX, TOPUP_E_AMOUNT_OVERFLOW, 0},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        const struct arith_case *c = &cases[i];
        int64_t result = UNTOUCHED;
        topup_result r = money_apply_basis_points(c->a, c->b, &result);
        int64_t want = c->expected == TOPUP_OK ? c->value : UNTOUCHED;
        if (r != c->expected || result != want)
            fail_msg("%lld * %lld bp = %s %lld, want %s %lld", (long long)c->a, (long long)c->b,
                     topup_result_code(r), (long long)result, topup_result_code(c->expected),
                     (long long)want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(currency_table_has_iso_codes_and_exponents),
        cmocka_unit_test(currency_find_is_exact),
        cmocka_unit_test(parse_accepts_plain_decimals_and_refuses_the_rest),
        cmocka_unit_test(format_writes_exactly_the_currency_decimals),
        cmocka_unit_test(parse_and_format_round_trip),
        cmocka_unit_test(format_refuses_unknown_currency_and_short_buffer),
        cmocka_unit_test(check_positive_tells_zero_from_negative),
        cmocka_unit_test(add_reports_overflow_instead_of_wrapping),
        cmocka_unit_test(sub_reports_overflow_instead_of_wrapping),
        cmocka_unit_test(basis_points_round_half_away_from_zero_without_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
