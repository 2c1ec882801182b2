/* The partners.* settings of topupd's config file (src/partners/settings.c): the defaults
 * docs/partners.md "Settings" promises, the retry schedules as an operator writes them, and
 * every refusal, which must leave the setting as it was and say which key was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "partners/settings.h"

#define ERROR_SIZE 256

static void assert_schedule(const partner_schedule *schedule, const int64_t *waits_s, size_t count)
{
    assert_int_equal(schedule->count, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(schedule->waits_s[i], waits_s[i]);
}

/* Applies key = value to s; returns what partners_settings_apply returns, error in error. */
static int apply(partners_settings *s, const char *key, const char *value, char *error)
{
    error[0] = '\0';
    return partners_settings_apply(s, key, value, error, ERROR_SIZE);
}

static void defaults_are_the_documented_ones(void **state)
{
    (void)state;
    partners_settings s;
    memset(&s, 0x5a, sizeof s); /* whatever was there before is replaced */
    partners_settings_defaults(&s);
    const int64_t callback_waits[] = {15, 60, 300, 1800, 7200, 21600};
    const int64_t status_waits[] = {5, 15, 60, 300, 900, 3600};
    assert_schedule(&s.callback_retry, callback_waits, 6);
    assert_schedule(&s.status_retry, status_waits, 6);
    assert_int_equal(s.callback_give_up_s, 86400);
    assert_int_equal(s.callback_timeout_ms, 10000);
    assert_int_equal(s.breaker_failures, 5);
    assert_int_equal(s.breaker_cooldown_s, 30);
    assert_int_equal(s.send_give_up_s, 600);
}

static void a_schedule_is_seconds_separated_by_commas(void **state)
{
    (void)state;
    partners_settings s;
    partners_settings_defaults(&s);
    char error[ERROR_SIZE];
    assert_int_equal(apply(&s, "partners.callback_retry_s", "1, 2,30", error), 1);
    const int64_t waits[] = {1, 2, 30};
    assert_schedule(&s.callback_retry, waits, 3);
    assert_int_equal(apply(&s, "partners.status_retry_s", "86400", error), 1);
    const int64_t one[] = {86400};
    assert_schedule(&s.status_retry, one, 1);
    /* The other schedule is untouched. */
    assert_schedule(&s.callback_retry, waits, 3);

    char longest[64] = "";
    for (int i = 0; i < PARTNER_SCHEDULE_MAX; i++)
        strcat(longest, i ? ",7" : "7");
    assert_int_equal(apply(&s, "partners.callback_retry_s", longest, error), 1);
    assert_int_equal(s.callback_retry.count, PARTNER_SCHEDULE_MAX);
}

static void a_bad_schedule_is_refused_and_the_old_one_kept(void **state)
{
    (void)state;
    partners_settings s;
    partners_settings_defaults(&s);
    const partner_schedule before = s.callback_retry;
    char too_long[64] = "";
    for (int i = 0; i <= PARTNER_SCHEDULE_MAX; i++)
        strcat(too_long, i ? ",7" : "7");
    const char *const bad[] = {"",     "0",     "-5",  "86401", "abc",
                               "15,x", "15;60", "1.5", ",",     too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[ERROR_SIZE];
        assert_int_equal(apply(&s, "partners.callback_retry_s", bad[i], error), -1);
        assert_non_null(strstr(error, "partners.callback_retry_s"));
        assert_memory_equal(&s.callback_retry, &before, sizeof before);
    }
}

static void numbers_outside_their_ranges_are_refused(void **state)
{
    (void)state;
    partners_settings s;
    partners_settings_defaults(&s);
    char error[ERROR_SIZE];
    assert_int_equal(apply(&s, "partners.callback_timeout_ms", "99", error), -1);
    assert_int_equal(apply(&s, "partners.callback_timeout_ms", "120001", error), -1);
    assert_int_equal(apply(&s, "partners.callback_timeout_ms", "10s", error), -1);
    assert_int_equal(s.callback_timeout_ms, 10000);
    assert_int_equal(apply(&s, "partners.callback_give_up_s", "0", error), -1);
    assert_int_equal(apply(&s, "partners.breaker_failures", "1001", error), -1);
    assert_int_equal(s.breaker_failures, 5);

    assert_int_equal(apply(&s, "partners.callback_timeout_ms", "100", error), 1);
    assert_int_equal(s.callback_timeout_ms, 100);
    assert_int_equal(apply(&s, "partners.callback_give_up_s", "3600", error), 1);
    assert_int_equal(s.callback_give_up_s, 3600);
    assert_int_equal(apply(&s, "partners.breaker_cooldown_s", "1", error), 1);
    assert_int_equal(s.breaker_cooldown_s, 1);
    assert_int_equal(apply(&s, "partners.send_give_up_s", "86400", error), 1);
    assert_int_equal(s.send_give_up_s, 86400);
}

static void the_wait_follows_the_schedule_and_repeats_its_last_value(void **state)
{
    (void)state;
    partners_settings s;
    partners_settings_defaults(&s);
    const partner_schedule *retry = &s.callback_retry;
    /* After the first failed attempt comes the first wait. */
    assert_int_equal(partner_schedule_wait(retry, 1), 15);
    assert_int_equal(partner_schedule_wait(retry, 2), 60);
    assert_int_equal(partner_schedule_wait(retry, 6), 21600);
    assert_int_equal(partner_schedule_wait(retry, 7), 21600);
    assert_int_equal(partner_schedule_wait(retry, 1000), 21600);
    /* Nothing failed yet (or a nonsense count): the first wait, never out of bounds. */
    assert_int_equal(partner_schedule_wait(retry, 0), 15);
    assert_int_equal(partner_schedule_wait(retry, -3), 15);
}

static void an_unknown_key_is_refused_and_another_section_is_not_ours(void **state)
{
    (void)state;
    partners_settings s, before;
    partners_settings_defaults(&s);
    before = s;
    char error[ERROR_SIZE];
    assert_int_equal(apply(&s, "partners.callback_retry", "15", error), -1);
    assert_non_null(strstr(error, "partners.callback_retry"));
    assert_int_equal(apply(&s, "partners.", "15", error), -1);
    assert_int_equal(apply(&s, "sms.transport", "smpp", error), 0);
    assert_int_equal(apply(&s, "partner.callback_retry_s", "15", error), 0);
    assert_memory_equal(&s, &before, sizeof s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones),
        cmocka_unit_test(a_schedule_is_seconds_separated_by_commas),
        cmocka_unit_test(a_bad_schedule_is_refused_and_the_old_one_kept),
        cmocka_unit_test(numbers_outside_their_ranges_are_refused),
        cmocka_unit_test(the_wait_follows_the_schedule_and_repeats_its_last_value),
        cmocka_unit_test(an_unknown_key_is_refused_and_another_section_is_not_ours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
