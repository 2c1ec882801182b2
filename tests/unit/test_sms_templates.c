/* The SMS templates: what a subscriber reads must be exact, in both languages, and a message
 * whose facts are incomplete must be refused rather than sent with a hole in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sms/templates.h"

#define AT_2026_11_25_0930_UTC 1795599000
#define AT_2026_12_25_0930_UTC 1798191000

static void render_ok(const char *event, const char *lang, const char *facts, const char *want)
{
    char text[SMS_RENDER_SIZE], detail[256];
    topup_result r = sms_render(event, lang, facts, SMS_UTC_OFFSET_DEFAULT_MIN, text, sizeof text,
                                detail, sizeof detail);
    if (r != TOPUP_OK)
        fail_msg("%s/%s refused: %s", event, lang, detail);
    assert_string_equal(text, want);
}

static void a_recharge_reads_right_in_chinese_and_english(void **state)
{
    (void)state;
    char facts[512];
    sms_recharge_facts("+8613800138000", 5000, "CNY", 7350, AT_2026_12_25_0930_UTC, 1042,
                       AT_2026_11_25_0930_UTC, facts, sizeof facts);
    /* Times are China Standard Time: 09:30 UTC is 17:30. */
    render_ok("recharge_succeeded", "zh-CN", facts,
              "【话费充值】您的号码+86138****8000已成功充值50.00元，当前余额73.50元，有效期至"
              "2026年12月25日。订单号1042，2026年11月25日 17:30。");
    render_ok("recharge_succeeded", "en", facts,
              "Your number +86138****8000 was recharged with CNY 50.00. Balance CNY 73.50, valid "
              "until 2026-12-25. Order 1042, 2026-11-25 17:30.");
}

static void other_currencies_keep_their_code_and_decimals(void **state)
{
    (void)state;
    char facts[512];
    sms_recharge_facts("+639171234567", 500, "JPY", 1500, AT_2026_12_25_0930_UTC, 7,
                       AT_2026_11_25_0930_UTC, facts, sizeof facts);
    render_ok("low_balance", "zh-CN", facts, "【话费充值】您的号码+6391****4567余额为JPY 1500，请及时充值。");
}

static void missing_facts_and_unknown_names_are_refused(void **state)
{
    (void)state;
    char text[SMS_RENDER_SIZE], detail[256];
    assert_int_equal(sms_render("otp", "zh-CN", "{\"code\":\"123456\"}", 480, text, sizeof text,
                                detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(detail, "{minutes}"));
    assert_int_equal(sms_render("birthday", "en", "{}", 480, text, sizeof text, detail,
                                sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(sms_render("otp", "fr", "{}", 480, text, sizeof text, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(sms_render("otp", "en", "[1]", 480, text, sizeof text, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    /* An amount must be an integer count of minor units with a known currency. */
    assert_int_equal(sms_render("recharge_refunded", "en",
                                "{\"msisdn\":\"+8613800138000\",\"amount_minor\":\"50\","
                                "\"currency\":\"CNY\",\"order_id\":1,\"at\":0}",
                                480, text, sizeof text, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
}

static void a_text_too_long_for_the_buffer_is_refused(void **state)
{
    (void)state;
    char text[16], detail[256];
    assert_int_equal(sms_render("otp", "en", "{\"code\":\"123456\",\"minutes\":5}", 480, text,
                                sizeof text, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
}

static void short_numbers_are_not_masked_into_nothing(void **state)
{
    (void)state;
    char masked[32];
    sms_mask_number("+8613800138000", masked, sizeof masked);
    assert_string_equal(masked, "+86138****8000");
    sms_mask_number("+12345", masked, sizeof masked);
    assert_string_equal(masked, "+12345");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_recharge_reads_right_in_chinese_and_english),
        cmocka_unit_test(other_currencies_keep_their_code_and_decimals),
        cmocka_unit_test(missing_facts_and_unknown_names_are_refused),
        cmocka_unit_test(a_text_too_long_for_the_buffer_is_refused),
        cmocka_unit_test(short_numbers_are_not_masked_into_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
