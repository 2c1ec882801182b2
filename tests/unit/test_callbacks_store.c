/* Unit tests for src/store/store_sqlite_callbacks.c, the partner callback outbox, on a real
 * SQLite file in a temporary directory: what the delivery worker and `topup callbacks` rely on
 * (due order, state kept, every attempt on record, the list's filters), and malformed rows
 * refused before they reach the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

#define DIR_SIZE  64
#define PATH_SIZE 128
#define BODY      "{\"event\":\"order.succeeded\",\"order\":{\"order_id\":\"1\"}}"
#define ORDERS    4 /* orders made by setup, ids in fixture.order_ids */

typedef struct fixture {
    char dir[DIR_SIZE];
    char path[PATH_SIZE];
    store *st;
    int64_t order_ids[ORDERS];
} fixture;

static void remove_database(const char *path)
{
    char name[PATH_SIZE + 8];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static void add_merchant(store *st, const char *id)
{
    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "float:%s", id);
    account_row account;
    assert_int_equal(
        store_account_ensure(st, code, "CNY", "merchant_float", ACCOUNT_NO_OVERDRAFT, 0, &account),
        TOPUP_OK);
    merchant_row m = {.float_account_id = account.id, .created_at = 1000};
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.name, sizeof m.name, "store %s", id);
    snprintf(m.secret, sizeof m.secret, "%064d", 7);
    snprintf(m.currency, sizeof m.currency, "CNY");
    assert_int_equal(store_merchant_insert(st, &m), TOPUP_OK);
}

static int64_t add_order(store *st, int64_t funding_account_id)
{
    order_row order = {.face_minor = 5000,
                       .price_minor = 4925,
                       .funding_account_id = funding_account_id,
                       .status = ORDER_PAID,
                       .created_at = 1000};
    snprintf(order.channel, sizeof order.channel, "partner");
    snprintf(order.msisdn, sizeof order.msisdn, "+8613800138000");
    snprintf(order.operator_id, sizeof order.operator_id, "cmcc");
    snprintf(order.product_id, sizeof order.product_id, "cmcc-50");
    snprintf(order.currency, sizeof order.currency, "CNY");
    assert_int_equal(store_order_insert(st, &order, "paid"), TOPUP_OK);
    return order.id;
}

/* A migrated database with merchants jd-7 and tb-1 and ORDERS orders to call back about. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s", "/tmp/topup-test-callbacks-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/topup.db", f->dir);
    assert_int_equal(store_open(f->path, STORE_CREATE, &f->st), TOPUP_OK);
    assert_int_equal(store_migrate(f->st, NULL, NULL), TOPUP_OK);
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_merchant(f->st, "jd-7");
    add_merchant(f->st, "tb-1");
    merchant_row jd;
    assert_int_equal(store_merchant_get(f->st, "jd-7", &jd), TOPUP_OK);
    for (int i = 0; i < ORDERS; i++)
        f->order_ids[i] = add_order(f->st, jd.float_account_id);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_rollback(f->st);
    store_close(f->st);
    remove_database(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static callback_row new_callback(int64_t order_id, const char *merchant_id, int64_t created_at)
{
    callback_row c = {
        .order_id = order_id, .created_at = created_at, .next_attempt_at = created_at};
    snprintf(c.merchant_id, sizeof c.merchant_id, "%s", merchant_id);
    snprintf(c.url, sizeof c.url, "https://%s.example/topup/callback?v=1", merchant_id);
    snprintf(c.body, sizeof c.body, "%s", BODY);
    return c;
}

static int64_t insert(store *st, int64_t order_id, const char *merchant_id, int64_t created_at)
{
    callback_row c = new_callback(order_id, merchant_id, created_at);
    assert_int_equal(store_callback_insert(st, &c), TOPUP_OK);
    assert_true(c.id > 0);
    return c.id;
}

static void set_state(store *st, int64_t id, const char *status, int64_t next_attempt_at)
{
    callback_row c;
    assert_int_equal(store_callback_get(st, id, &c), TOPUP_OK);
    snprintf(c.status, sizeof c.status, "%s", status);
    c.next_attempt_at = next_attempt_at;
    c.updated_at = 2000;
    assert_int_equal(store_callback_update(st, &c), TOPUP_OK);
}

static void an_inserted_callback_is_queued_with_its_body_as_given(void **state)
{
    fixture *f = *state;
    callback_row c = new_callback(f->order_ids[0], "jd-7", 1500);
    c.next_attempt_at = 1600;
    snprintf(c.status, sizeof c.status, "dead"); /* ignored: a new callback is queued */
    c.attempt_count = 9;
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_OK);

    callback_row got;
    assert_int_equal(store_callback_get(f->st, c.id, &got), TOPUP_OK);
    assert_int_equal(got.id, c.id);
    assert_int_equal(got.order_id, f->order_ids[0]);
    assert_string_equal(got.merchant_id, "jd-7");
    assert_string_equal(got.url, "https://jd-7.example/topup/callback?v=1");
    assert_string_equal(got.body, BODY);
    assert_string_equal(got.status, "queued");
    assert_int_equal(got.attempt_count, 0);
    assert_int_equal(got.next_attempt_at, 1600);
    assert_string_equal(got.last_error, "");
    assert_int_equal(got.created_at, 1500);
    assert_int_equal(got.updated_at, 1500);

    /* No due time given: due when written, never "never". */
    callback_row now = new_callback(f->order_ids[1], "jd-7", 1700);
    now.next_attempt_at = 0;
    assert_int_equal(store_callback_insert(f->st, &now), TOPUP_OK);
    assert_int_equal(store_callback_get(f->st, now.id, &got), TOPUP_OK);
    assert_int_equal(got.next_attempt_at, 1700);

    assert_int_equal(store_callback_get(f->st, c.id + 100, &got), TOPUP_E_NOT_FOUND);
}

static void a_malformed_callback_is_refused(void **state)
{
    fixture *f = *state;
    callback_row c = new_callback(0, "jd-7", 1000);
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    c = new_callback(f->order_ids[0], "", 1000);
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    c = new_callback(f->order_ids[0], "jd-7", 1000);
    c.url[0] = '\0';
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    c = new_callback(f->order_ids[0], "jd-7", 1000);
    c.body[0] = '\0';
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    c = new_callback(f->order_ids[0], "jd-7", 0);
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    /* An order or a merchant that does not exist: the foreign keys refuse it. */
    c = new_callback(f->order_ids[ORDERS - 1] + 1000, "jd-7", 1000);
    assert_int_not_equal(store_callback_insert(f->st, &c), TOPUP_OK);
    c = new_callback(f->order_ids[0], "nobody", 1000);
    assert_int_not_equal(store_callback_insert(f->st, &c), TOPUP_OK);

    size_t count = 99;
    callback_row rows[4];
    assert_int_equal(store_callbacks_list(f->st, NULL, NULL, 0, rows, 4, &count), TOPUP_OK);
    assert_int_equal(count, 0);
}

static void due_callbacks_come_oldest_due_first_and_only_when_queued(void **state)
{
    fixture *f = *state;
    int64_t late = insert(f->st, f->order_ids[0], "jd-7", 300);
    int64_t early = insert(f->st, f->order_ids[1], "tb-1", 100);
    int64_t middle = insert(f->st, f->order_ids[2], "jd-7", 200);
    int64_t future = insert(f->st, f->order_ids[3], "jd-7", 900);

    callback_row due[8];
    size_t count = 0;
    assert_int_equal(store_callbacks_due(f->st, 300, due, 8, &count), TOPUP_OK);
    assert_int_equal(count, 3);
    assert_int_equal(due[0].id, early);
    assert_int_equal(due[1].id, middle);
    assert_int_equal(due[2].id, late);
    assert_string_equal(due[0].body, BODY);
    /* At most count_max, still the oldest. */
    assert_int_equal(store_callbacks_due(f->st, 300, due, 1, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(due[0].id, early);

    /* Delivered, dead, or moved later: no longer due. */
    set_state(f->st, early, "delivered", 0);
    set_state(f->st, middle, "dead", 0);
    set_state(f->st, late, "queued", 1000);
    assert_int_equal(store_callbacks_due(f->st, 999, due, 8, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(due[0].id, future);
    assert_int_equal(store_callbacks_due(f->st, 1000, due, 8, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(due[0].id, future);
    assert_int_equal(due[1].id, late);
}

static void an_update_keeps_the_new_state(void **state)
{
    fixture *f = *state;
    int64_t id = insert(f->st, f->order_ids[0], "jd-7", 1000);
    callback_row c;
    assert_int_equal(store_callback_get(f->st, id, &c), TOPUP_OK);
    c.attempt_count = 2;
    c.next_attempt_at = 1075;
    c.updated_at = 1015;
    snprintf(c.last_error, sizeof c.last_error, "HTTP 503: try later");
    snprintf(c.url, sizeof c.url, "https://elsewhere.example/"); /* not written: fixed */
    assert_int_equal(store_callback_update(f->st, &c), TOPUP_OK);

    callback_row got;
    assert_int_equal(store_callback_get(f->st, id, &got), TOPUP_OK);
    assert_string_equal(got.status, "queued");
    assert_int_equal(got.attempt_count, 2);
    assert_int_equal(got.next_attempt_at, 1075);
    assert_int_equal(got.updated_at, 1015);
    assert_string_equal(got.last_error, "HTTP 503: try later");
    assert_string_equal(got.url, "https://jd-7.example/topup/callback?v=1");
    assert_int_equal(got.created_at, 1000);

    snprintf(c.status, sizeof c.status, "delivered");
    c.next_attempt_at = 0;
    c.last_error[0] = '\0';
    assert_int_equal(store_callback_update(f->st, &c), TOPUP_OK);
    assert_int_equal(store_callback_get(f->st, id, &got), TOPUP_OK);
    assert_string_equal(got.status, "delivered");
    assert_int_equal(got.next_attempt_at, 0);
    assert_string_equal(got.last_error, "");

    snprintf(c.status, sizeof c.status, "sending"); /* not a callback status */
    assert_int_equal(store_callback_update(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    snprintf(c.status, sizeof c.status, "dead");
    c.attempt_count = -1;
    assert_int_equal(store_callback_update(f->st, &c), TOPUP_E_INVALID_ARGUMENT);
    c.attempt_count = 3;
    c.id = id + 100;
    assert_int_equal(store_callback_update(f->st, &c), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_callback_get(f->st, id, &got), TOPUP_OK);
    assert_string_equal(got.status, "delivered");
}

static void record_attempt(store *st, int64_t callback_id, int64_t at, int http_status,
                           const char *error, int64_t duration_ms)
{
    callback_attempt_row a = {.callback_id = callback_id,
                              .attempted_at = at,
                              .http_status = http_status,
                              .duration_ms = duration_ms};
    snprintf(a.error, sizeof a.error, "%s", error);
    assert_int_equal(store_callback_attempt_insert(st, &a), TOPUP_OK);
    assert_true(a.id > 0);
}

static void every_attempt_is_kept_in_order(void **state)
{
    fixture *f = *state;
    int64_t id = insert(f->st, f->order_ids[0], "jd-7", 1000);
    int64_t other = insert(f->st, f->order_ids[1], "tb-1", 1000);
    record_attempt(f->st, id, 1000, 500, "HTTP 500: boom", 12);
    record_attempt(f->st, other, 1001, 200, "", 3);
    record_attempt(f->st, id, 1015, 0, "no answer in time: Operation timed out", 10000);
    record_attempt(f->st, id, 1075, 204, "", 8);

    callback_attempt_row attempts[8];
    size_t count = 0;
    assert_int_equal(store_callback_attempts(f->st, id, attempts, 8, &count), TOPUP_OK);
    assert_int_equal(count, 3);
    assert_int_equal(attempts[0].callback_id, id);
    assert_int_equal(attempts[0].attempted_at, 1000);
    assert_int_equal(attempts[0].http_status, 500);
    assert_string_equal(attempts[0].error, "HTTP 500: boom");
    assert_int_equal(attempts[0].duration_ms, 12);
    /* No answer: status 0, with the reason. */
    assert_int_equal(attempts[1].http_status, 0);
    assert_string_equal(attempts[1].error, "no answer in time: Operation timed out");
    assert_int_equal(attempts[1].duration_ms, 10000);
    assert_int_equal(attempts[2].http_status, 204);
    assert_true(attempts[0].id < attempts[1].id && attempts[1].id < attempts[2].id);

    assert_int_equal(store_callback_attempts(f->st, id, attempts, 2, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(attempts[1].attempted_at, 1015);
    assert_int_equal(store_callback_attempts(f->st, other, attempts, 8, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(store_callback_attempts(f->st, other + 100, attempts, 8, &count), TOPUP_OK);
    assert_int_equal(count, 0);
}

static void a_malformed_attempt_is_refused(void **state)
{
    fixture *f = *state;
    int64_t id = insert(f->st, f->order_ids[0], "jd-7", 1000);
    callback_attempt_row good = {.callback_id = id, .attempted_at = 1000, .http_status = 200};
    callback_attempt_row bad = good;
    bad.callback_id = 0;
    assert_int_equal(store_callback_attempt_insert(f->st, &bad), TOPUP_E_INVALID_ARGUMENT);
    bad = good;
    bad.http_status = 1000;
    assert_int_equal(store_callback_attempt_insert(f->st, &bad), TOPUP_E_INVALID_ARGUMENT);
    bad = good;
    bad.duration_ms = -1;
    assert_int_equal(store_callback_attempt_insert(f->st, &bad), TOPUP_E_INVALID_ARGUMENT);
    bad = good;
    bad.attempted_at = 0;
    assert_int_equal(store_callback_attempt_insert(f->st, &bad), TOPUP_E_INVALID_ARGUMENT);
    bad = good;
    bad.callback_id = id + 100; /* no such callback */
    assert_int_not_equal(store_callback_attempt_insert(f->st, &bad), TOPUP_OK);
    callback_attempt_row attempts[2];
    size_t count = 9;
    assert_int_equal(store_callback_attempts(f->st, id, attempts, 2, &count), TOPUP_OK);
    assert_int_equal(count, 0);
}

/* Ids of rows, for comparing a list with what is expected. */
static void assert_ids(const callback_row *rows, size_t count, const int64_t *ids, size_t id_count)
{
    assert_int_equal(count, id_count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(rows[i].id, ids[i]);
}

static void the_list_is_newest_first_and_filters_by_merchant_and_status(void **state)
{
    fixture *f = *state;
    int64_t a = insert(f->st, f->order_ids[0], "jd-7", 1000);
    int64_t b = insert(f->st, f->order_ids[1], "tb-1", 1001);
    int64_t c = insert(f->st, f->order_ids[2], "jd-7", 1002);
    int64_t d = insert(f->st, f->order_ids[3], "jd-7", 1003);
    set_state(f->st, c, "dead", 0);
    set_state(f->st, b, "dead", 0);
    set_state(f->st, a, "delivered", 0);

    callback_row rows[8];
    size_t count = 0;
    assert_int_equal(store_callbacks_list(f->st, NULL, NULL, 0, rows, 8, &count), TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){d, c, b, a}, 4);
    assert_int_equal(store_callbacks_list(f->st, "jd-7", NULL, 0, rows, 8, &count), TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){d, c, a}, 3);
    assert_int_equal(store_callbacks_list(f->st, NULL, "dead", 0, rows, 8, &count), TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){c, b}, 2);
    assert_int_equal(store_callbacks_list(f->st, "jd-7", "dead", 0, rows, 8, &count), TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){c}, 1);
    assert_int_equal(store_callbacks_list(f->st, "tb-1", "queued", 0, rows, 8, &count), TOPUP_OK);
    assert_int_equal(count, 0);
    assert_int_equal(store_callbacks_list(f->st, "nobody", NULL, 0, rows, 8, &count), TOPUP_OK);
    assert_int_equal(count, 0);
    /* A page, then the next one from its last id. */
    assert_int_equal(store_callbacks_list(f->st, NULL, NULL, 0, rows, 2, &count), TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){d, c}, 2);
    assert_int_equal(store_callbacks_list(f->st, NULL, NULL, rows[1].id, rows, 8, &count),
                     TOPUP_OK);
    assert_ids(rows, count, (int64_t[]){b, a}, 2);
    assert_string_equal(rows[1].status, "delivered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_inserted_callback_is_queued_with_its_body_as_given,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_malformed_callback_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(due_callbacks_come_oldest_due_first_and_only_when_queued,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_update_keeps_the_new_state, setup, teardown),
        cmocka_unit_test_setup_teardown(every_attempt_is_kept_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(a_malformed_attempt_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_list_is_newest_first_and_filters_by_merchant_and_status,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
