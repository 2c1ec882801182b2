/* Unit tests for src/core/order.c. The expected machine is written out here a second time, on
 * purpose: a transition added to or removed from order.c must fail this test until someone
 * decides, here too, that the change is wanted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/order.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* allowed[from][to], every pair. */
static const bool allowed[ORDER_STATUS_COUNT][ORDER_STATUS_COUNT] = {
    [ORDER_NONE] = {[ORDER_CREATED] = true, [ORDER_PAID] = true},
    [ORDER_CREATED] = {[ORDER_AWAITING_PAYMENT] = true, [ORDER_CLOSED] = true},
    [ORDER_AWAITING_PAYMENT] = {[ORDER_PAID] = true, [ORDER_CLOSED] = true},
    [ORDER_PAID] = {[ORDER_SUBMITTED] = true, [ORDER_FAILED] = true},
    [ORDER_SUBMITTED] = {[ORDER_SUCCEEDED] = true, [ORDER_FAILED] = true, [ORDER_UNKNOWN] = true},
    [ORDER_UNKNOWN] = {[ORDER_SUCCEEDED] = true, [ORDER_FAILED] = true},
    [ORDER_FAILED] = {[ORDER_REFUNDED] = true},
    [ORDER_SUCCEEDED] = {[ORDER_REVERSED] = true},
};

static void every_pair_matches_the_expected_machine(void **state)
{
    (void)state;
    for (int from = 0; from < ORDER_STATUS_COUNT; from++) {
        for (int to = 0; to < ORDER_STATUS_COUNT; to++) {
            bool got = order_transition_allowed((order_status)from, (order_status)to);
            if (got != allowed[from][to])
                fail_msg("%s -> %s: allowed=%d, want %d", order_status_name((order_status)from),
                         order_status_name((order_status)to), got, allowed[from][to]);
            topup_result want = allowed[from][to] ? TOPUP_OK : TOPUP_E_ILLEGAL_TRANSITION;
            assert_int_equal(order_transition_check((order_status)from, (order_status)to), want);
        }
    }
}

static void values_outside_the_enum_never_transition(void **state)
{
    (void)state;
    assert_false(order_transition_allowed(ORDER_STATUS_COUNT, ORDER_CREATED));
    assert_false(order_transition_allowed(ORDER_NONE, ORDER_STATUS_COUNT));
    assert_false(order_status_is_final(ORDER_STATUS_COUNT));
    assert_string_equal(order_status_name(ORDER_STATUS_COUNT), "invalid");
}

/* A counter reversal corrects a succeeded order; it does not make succeeded less final. */
static void only_succeeded_refunded_closed_and_reversed_are_final(void **state)
{
    (void)state;
    for (int s = 0; s < ORDER_STATUS_COUNT; s++) {
        bool want =
            s == ORDER_SUCCEEDED || s == ORDER_REFUNDED || s == ORDER_CLOSED || s == ORDER_REVERSED;
        if (order_status_is_final((order_status)s) != want)
            fail_msg("%s: final should be %d", order_status_name((order_status)s), want);
    }
}

/* These strings are stored in the database and returned by the API. */
static void names_are_the_stored_ones_and_round_trip(void **state)
{
    (void)state;
    static const char *const names[ORDER_STATUS_COUNT] = {
        [ORDER_NONE] = "none",
        [ORDER_CREATED] = "created",
        [ORDER_AWAITING_PAYMENT] = "awaiting_payment",
        [ORDER_PAID] = "paid",
        [ORDER_SUBMITTED] = "submitted",
        [ORDER_SUCCEEDED] = "succeeded",
        [ORDER_FAILED] = "failed",
        [ORDER_REFUNDED] = "refunded",
        [ORDER_UNKNOWN] = "unknown",
        [ORDER_CLOSED] = "closed",
        [ORDER_REVERSED] = "reversed",
    };
    for (int s = 0; s < ORDER_STATUS_COUNT; s++) {
        assert_string_equal(order_status_name((order_status)s), names[s]);
        order_status parsed = ORDER_STATUS_COUNT;
        assert_true(order_status_parse(names[s], &parsed));
        assert_int_equal(parsed, s);
    }
}

static void parse_rejects_anything_but_an_exact_name(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "Paid",   "PAID",   " paid",  "paid ",   "awaiting-payment", "awaiting payment",
        "invalid", "unknow", "paid\n", "refund", "success",
    };
    for (size_t i = 0; i < ARRAY_COUNT(bad); i++) {
        order_status parsed = ORDER_PAID;
        if (order_status_parse(bad[i], &parsed))
            fail_msg("\"%s\" parsed", bad[i]);
        assert_int_equal(parsed, ORDER_PAID);
    }
    order_status parsed = ORDER_PAID;
    assert_false(order_status_parse(NULL, &parsed));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair_matches_the_expected_machine),
        cmocka_unit_test(values_outside_the_enum_never_transition),
        cmocka_unit_test(only_succeeded_refunded_closed_and_reversed_are_final),
        cmocka_unit_test(names_are_the_stored_ones_and_round_trip),
        cmocka_unit_test(parse_rejects_anything_but_an_exact_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
