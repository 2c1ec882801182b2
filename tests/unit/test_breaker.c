/* The per-operator circuit breaker and the connector's URL handling: what decides whether a
 * partner's order for an http operator is taken and sent at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "partners/breaker.h"
#include "partners/connector.h"

#define FAILURES 3
#define COOLDOWN 30
#define T0       1795600000

static void fail_times(breaker_board *board, const char *id, int times, int64_t now)
{
    for (int i = 0; i < times; i++) {
        assert_true(breaker_allow(board, id, now));
        breaker_record(board, id, false, now);
    }
}

static void opens_after_failures_in_a_row(void **state)
{
    (void)state;
    breaker_board *board = breaker_board_new(FAILURES, COOLDOWN);
    fail_times(board, "op", FAILURES - 1, T0);
    assert_int_equal(breaker_peek(board, "op", T0), BREAKER_CLOSED);
    /* A success in between starts the count again. */
    assert_true(breaker_allow(board, "op", T0));
    breaker_record(board, "op", true, T0);
    fail_times(board, "op", FAILURES - 1, T0);
    assert_int_equal(breaker_peek(board, "op", T0), BREAKER_CLOSED);
    fail_times(board, "op", 1, T0);
    assert_int_equal(breaker_peek(board, "op", T0), BREAKER_OPEN);
    assert_false(breaker_allow(board, "op", T0 + COOLDOWN - 1));
    /* Another operator is not affected. */
    assert_true(breaker_allow(board, "other", T0));
    breaker_board_free(board);
}

static void one_probe_after_the_cooldown(void **state)
{
    (void)state;
    breaker_board *board = breaker_board_new(FAILURES, COOLDOWN);
    fail_times(board, "op", FAILURES, T0);
    assert_int_equal(breaker_peek(board, "op", T0 + COOLDOWN), BREAKER_HALF_OPEN);
    assert_true(breaker_allow(board, "op", T0 + COOLDOWN));
    assert_false(breaker_allow(board, "op", T0 + COOLDOWN)); /* only one probe at a time */
    breaker_record(board, "op", false, T0 + COOLDOWN);       /* the probe failed */
    assert_int_equal(breaker_peek(board, "op", T0 + COOLDOWN + 1), BREAKER_OPEN);
    assert_false(breaker_allow(board, "op", T0 + COOLDOWN + 1));
    assert_true(breaker_allow(board, "op", T0 + 2 * COOLDOWN));
    breaker_record(board, "op", true, T0 + 2 * COOLDOWN); /* the probe got through */
    assert_int_equal(breaker_peek(board, "op", T0 + 2 * COOLDOWN), BREAKER_CLOSED);
    assert_true(breaker_allow(board, "op", T0 + 2 * COOLDOWN));
    assert_true(breaker_allow(board, "op", T0 + 2 * COOLDOWN));
    breaker_board_free(board);
}

static void url_paths_are_what_is_signed(void **state)
{
    (void)state;
    assert_string_equal(connector_url_path("https://op.example/api/recharges"), "/api/recharges");
    assert_string_equal(connector_url_path("http://127.0.0.1:8081/r?x=1"), "/r?x=1");
    assert_string_equal(connector_url_path("http://op.example"), "/");
    assert_null(connector_url_path("http://op.example?x=1"));
    assert_null(connector_url_path("ftp://op.example/"));
    assert_null(connector_url_path("op.example/api"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_after_failures_in_a_row),
        cmocka_unit_test(one_probe_after_the_cooldown),
        cmocka_unit_test(url_paths_are_what_is_signed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
