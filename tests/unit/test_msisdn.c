/* Unit tests for src/core/msisdn.c: every way people write a number ends as one E.164 string,
 * everything else is refused with the reason the user has to act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/msisdn.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { PLAN_CN, PLAN_PH, PLAN_HK, PLAN_SG };

static const number_plan plans[] = {
    [PLAN_CN] = {"CN", "86", "", "00", 11, 11, "1"},
    [PLAN_PH] = {"PH", "63", "0", "00", 10, 10, "9"},
    [PLAN_HK] = {"HK", "852", "", "001", 8, 8, "4,5,6,7,9"},
    [PLAN_SG] = {"SG", "65", "", "000", 8, 8, ""}, /* no mobile prefixes: all count as mobile */
};

struct normalize_case {
    const char *input;
    const char *default_country;
    topup_result expected;
    const char *e164; /* when expected is TOPUP_OK */
    int plan;         /* index into plans when expected is TOPUP_OK */
};

static const struct normalize_case normalize_cases[] = {
    /* One subscriber, every way it is written. */
    {"13800138000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"+86 138-0013-8000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"008613800138000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"+86 (138) 0013 8000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"138.0013.8000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"  13800138000 ", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"(+86) 138 0013 8000", "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91\xef\xbc\x93"
     "\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90", /* １３８００１３８０００ */
     "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x96\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90"
     "\xef\xbc\x90\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90",
     /* ＋８６１３８００１３８０００ */
     "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"+86\xe3\x80\x80"
     "138\xe3\x80\x80"
     "0013\xe3\x80\x80"
     "8000", /* ideographic spaces */
     "CN", TOPUP_OK, "+8613800138000", PLAN_CN},
    /* "+CC" input does not depend on the default country. */
    {"+8613800138000", "PH", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"+8613800138000", "XX", TOPUP_OK, "+8613800138000", PLAN_CN},
    {"+8613800138000", NULL, TOPUP_OK, "+8613800138000", PLAN_CN},

    {"09171234567", "PH", TOPUP_OK, "+639171234567", PLAN_PH},
    {"9171234567", "PH", TOPUP_OK, "+639171234567", PLAN_PH},
    {"0917-123-4567", "PH", TOPUP_OK, "+639171234567", PLAN_PH},
    {"+63 917 123 4567", "CN", TOPUP_OK, "+639171234567", PLAN_PH},
    {"0063 917 123 4567", "PH", TOPUP_OK, "+639171234567", PLAN_PH},
    /* From China "00" is the way out, so a PH number dialled from CN resolves too. */
    {"00639171234567", "CN", TOPUP_OK, "+639171234567", PLAN_PH},

    /* Three-digit calling code, list of mobile prefixes, and an empty list. */
    {"+852 5123 4567", "CN", TOPUP_OK, "+85251234567", PLAN_HK},
    {"001 852 9123 4567", "HK", TOPUP_OK, "+85291234567", PLAN_HK},
    {"6123 4567", "SG", TOPUP_OK, "+6561234567", PLAN_SG},
    {"+65 6123 4567", "CN", TOPUP_OK, "+6561234567", PLAN_SG},

    {"1380013800a", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"abc", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"13800138000\n", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"138/0013/8000", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"138\xef\xbc\x8d"
     "0013\xef\xbc\x8d"
     "8000", /* full-width hyphen is not a listed separator */
     "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"1380013800\xef\xbc", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0}, /* truncated UTF-8 */
    {"1380013800\xef", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {" - ", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"1380013800", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"138001380001", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+86 1380013800", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+99912345678", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"0099912345678", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+86+13800138000", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"++8613800138000", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"86+13800138000", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"13800138000+", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    /* National input needs a default country that has a plan. */
    {"13800138000", "XX", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"13800138000", "", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"13800138000", NULL, TOPUP_E_INVALID_NUMBER, NULL, 0},
    /* A PH number keeps no trunk "0" after "+63". */
    {"+63 0917 123 4567", "PH", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+63 2 8123 4567", "PH", TOPUP_E_INVALID_NUMBER, NULL, 0}, /* Manila landline: 9 digits */

    /* Shenzhen landline: a valid length, so the user hears "not a mobile", not "invalid". */
    {"+86 755 1234 5678", "CN", TOPUP_E_NUMBER_NOT_MOBILE, NULL, 0},
    /* CN has no trunk prefix in the plan, so a national "0..." keeps its 0 and can never pass
     * as a mobile: 11 digits are "not mobile", 12 are "invalid". */
    {"01062345678", "CN", TOPUP_E_NUMBER_NOT_MOBILE, NULL, 0},
    {"075512345678", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    /* Beijing landline: its 10-digit NSN is outside this CN plan's 11..11. */
    {"+861062345678", "CN", TOPUP_E_INVALID_NUMBER, NULL, 0},
    {"+852 2123 4567", "CN", TOPUP_E_NUMBER_NOT_MOBILE, NULL, 0},
    {"+852 8123 4567", "CN", TOPUP_E_NUMBER_NOT_MOBILE, NULL, 0},
    {"+63 817 123 4567", "CN", TOPUP_E_NUMBER_NOT_MOBILE, NULL, 0},
};

static void normalize_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_COUNT(normalize_cases); i++) {
        const struct normalize_case *c = &normalize_cases[i];
        char e164[E164_SIZE] = "";
        const number_plan *plan = NULL;
        topup_result r =
            msisdn_normalize(c->input, plans, ARRAY_COUNT(plans), c->default_country, e164, &plan);
        if (r != c->expected)
            fail_msg("case %zu \"%s\": %s, want %s", i, c->input, topup_result_code(r),
                     topup_result_code(c->expected));
        if (r != TOPUP_OK)
            continue;
        if (strcmp(e164, c->e164) != 0 || plan != &plans[c->plan])
            fail_msg("case %zu \"%s\": \"%s\" plan %s, want \"%s\" plan %s", i, c->input, e164,
                     plan ? plan->country : "NULL", c->e164, plans[c->plan].country);
    }
}

/* The limit is on bytes before normalising, so padding alone decides it. */
static void normalize_refuses_input_over_the_byte_limit(void **state)
{
    (void)state;
    char input[MSISDN_INPUT_MAX + 2];
    char e164[E164_SIZE];
    memset(input, ' ', sizeof input);
    memcpy(input, "13800138000", 11);

    input[MSISDN_INPUT_MAX] = '\0';
    assert_int_equal(msisdn_normalize(input, plans, ARRAY_COUNT(plans), "CN", e164, NULL),
                     TOPUP_OK);
    assert_string_equal(e164, "+8613800138000");

    input[MSISDN_INPUT_MAX] = ' ';
    input[MSISDN_INPUT_MAX + 1] = '\0';
    assert_int_equal(msisdn_normalize(input, plans, ARRAY_COUNT(plans), "CN", e164, NULL),
                     TOPUP_E_INVALID_NUMBER);
}

/* E.164 caps a number at 15 digits whatever a plan allows; e164[] has room for no more. */
static void normalize_refuses_more_than_fifteen_digits(void **state)
{
    (void)state;
    static const number_plan loose[] = {{"XL", "852", "", "00", 8, 14, ""}};
    char e164[E164_SIZE];
    assert_int_equal(msisdn_normalize("+852 123456789012", loose, 1, "XL", e164, NULL), TOPUP_OK);
    assert_string_equal(e164, "+852123456789012");
    assert_int_equal(msisdn_normalize("+852 1234567890123", loose, 1, "XL", e164, NULL),
                     TOPUP_E_INVALID_NUMBER);
}

/* Calling codes are prefix-free, but if a configuration overlaps, the more specific plan must
 * win wherever it is listed, or Uzbek numbers would be judged by a "99" plan. */
static void normalize_picks_the_longest_calling_code(void **state)
{
    (void)state;
    static const number_plan overlapping[] = {
        {"XA", "99", "", "00", 10, 10, ""},
        {"UZ", "998", "", "00", 9, 9, "9"},
    };
    char e164[E164_SIZE];
    const number_plan *plan = NULL;
    assert_int_equal(msisdn_normalize("+998 90 123 4567", overlapping, 2, "UZ", e164, &plan),
                     TOPUP_OK);
    assert_ptr_equal(plan, &overlapping[1]);
    assert_string_equal(e164, "+998901234567");
}

static void normalize_without_plans_refuses_everything(void **state)
{
    (void)state;
    char e164[E164_SIZE];
    assert_int_equal(msisdn_normalize("+8613800138000", NULL, 0, "CN", e164, NULL),
                     TOPUP_E_INVALID_NUMBER);
}

static void mask_shows_head_and_tail_of_the_nsn(void **state)
{
    (void)state;
    static const number_plan short_plans[] = {
        {"MO", "853", "", "00", 8, 8, "6"},
        {"XS", "999", "", "00", 4, 7, ""},
    };
    static const struct {
        const char *e164;
        const number_plan *plan;
        const char *masked;
    } cases[] = {
        {"+8613800138000", &plans[PLAN_CN], "138****8000"},
        {"+639171234567", &plans[PLAN_PH], "917***4567"},
        {"+85366123456", &short_plans[0], "661*3456"},
        /* Under 8 digits, head and tail would overlap: only the tail stays visible. */
        {"+9991234567", &short_plans[1], "***4567"},
        {"+99912345", &short_plans[1], "*2345"},
        /* A number of another plan is not shown at all rather than masked wrongly. */
        {"+639171234567", &plans[PLAN_CN], ""},
        {"8613800138000", &plans[PLAN_CN], ""},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        char masked[MASKED_SIZE] = "previous";
        msisdn_mask(cases[i].e164, cases[i].plan, masked, sizeof masked);
        assert_string_equal(masked, cases[i].masked);
    }
}

static void mask_writes_nothing_partial_into_a_short_buffer(void **state)
{
    (void)state;
    char masked[MASKED_SIZE] = "previous";
    msisdn_mask("+8613800138000", &plans[PLAN_CN], masked, 12);
    assert_string_equal(masked, "138****8000");
    msisdn_mask("+8613800138000", &plans[PLAN_CN], masked, 11);
    assert_string_equal(masked, "");
}

/* The flow a user sees: what they typed, then "is this 138****8000?". */
static void mask_of_a_normalized_number(void **state)
{
    (void)state;
    char e164[E164_SIZE];
    char masked[MASKED_SIZE];
    const number_plan *plan = NULL;
    assert_int_equal(
        msisdn_normalize("0063 917 123 4567", plans, ARRAY_COUNT(plans), "CN", e164, &plan),
        TOPUP_OK);
    msisdn_mask(e164, plan, masked, sizeof masked);
    assert_string_equal(masked, "917***4567");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize_table),
        cmocka_unit_test(normalize_refuses_input_over_the_byte_limit),
        cmocka_unit_test(normalize_refuses_more_than_fifteen_digits),
        cmocka_unit_test(normalize_picks_the_longest_calling_code),
        cmocka_unit_test(normalize_without_plans_refuses_everything),
        cmocka_unit_test(mask_shows_head_and_tail_of_the_nsn),
        cmocka_unit_test(mask_writes_nothing_partial_into_a_short_buffer),
        cmocka_unit_test(mask_of_a_normalized_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
