/* Unit tests for src/store/store_sqlite.c: the ledger, orders, idempotency, API keys and catalog
 * on a real SQLite file in a temporary directory. Tampering is done through a second, raw
 * sqlite3 connection to the same file, the way an operator with shell access would. */
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
#include <sqlite3.h>

#include "store/store.h"

#define DIR_SIZE     64
#define PATH_SIZE    128
#define PROBLEMS_MAX 8

typedef struct fixture {
    char dir[DIR_SIZE];
    char path[PATH_SIZE];
    store *st;
} fixture;

typedef struct problems {
    int count;
    char text[PROBLEMS_MAX][512];
} problems;

static void collect(void *context, const char *problem)
{
    problems *p = context;
    if (p->count < PROBLEMS_MAX)
        snprintf(p->text[p->count], sizeof p->text[0], "%s", problem);
    p->count++;
}

static bool has_problem(const problems *p, const char *text)
{
    for (int i = 0; i < p->count && i < PROBLEMS_MAX; i++)
        if (strcmp(p->text[i], text) == 0)
            return true;
    return false;
}

static void remove_database(const char *path)
{
    char name[PATH_SIZE + 8];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s", "/tmp/topup-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/topup.db", f->dir);
    assert_int_equal(store_open(f->path, STORE_CREATE, &f->st), TOPUP_OK);
    int from = -1, to = -1;
    assert_int_equal(store_migrate(f->st, &from, &to), TOPUP_OK);
    assert_int_equal(from, 0);
    assert_true(to > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->st) {
        store_rollback(f->st);
        store_close(f->st);
    }
    remove_database(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs SQL through a raw connection to the same file; returns the SQLite result. */
static int raw_exec(const fixture *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t account(store *st, const char *code, int flags, int64_t credit_limit_minor)
{
    account_row row;
    assert_int_equal(store_account_ensure(st, code, "CNY", "test", flags, credit_limit_minor, &row),
                     TOPUP_OK);
    return row.id;
}

static int64_t balance(store *st, const char *code)
{
    account_row row;
    assert_int_equal(store_account_get(st, code, "CNY", &row), TOPUP_OK);
    return row.balance_minor;
}

static topup_result transfer(store *st, int64_t debit, int64_t credit, int64_t amount_minor,
                             int64_t order_id)
{
    transfer_row t = {
        .debit_account_id = debit,
        .credit_account_id = credit,
        .amount_minor = amount_minor,
        .order_id = order_id,
        .created_at = 1700000000,
    };
    snprintf(t.currency, sizeof t.currency, "CNY");
    snprintf(t.kind, sizeof t.kind, "recharge");
    return store_transfer(st, &t, NULL, NULL);
}

static int64_t verify(store *st, problems *p)
{
    memset(p, 0, sizeof *p);
    int64_t problem_count = -1, transfer_count = -1;
    assert_int_equal(store_verify(st, collect, p, &problem_count, &transfer_count, NULL), TOPUP_OK);
    assert_int_equal(problem_count, p->count);
    return problem_count;
}

/* A CN numbering plan and the hosted operator "cmcc" with range 86138. */
static void add_catalog(store *st)
{
    number_plan plan = {.country = "CN",
                        .calling_code = "86",
                        .trunk_prefix = "0",
                        .international_prefix = "00",
                        .nsn_length_min = 11,
                        .nsn_length_max = 11,
                        .mobile_prefixes = "1"};
    assert_int_equal(store_plan_put(st, &plan), TOPUP_OK);
    operator_info op = {.id = "cmcc",
                        .name = "China Mobile",
                        .country = "CN",
                        .currency = "CNY",
                        .connector = "hosted"};
    assert_int_equal(store_operator_add(st, &op), TOPUP_OK);
    number_range range = {.prefix = "86138", .operator_id = "cmcc"};
    assert_int_equal(store_range_add(st, &range), TOPUP_OK);
}

static int64_t add_subscriber(store *st, const char *msisdn)
{
    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "subscriber:%s", msisdn);
    subscriber_row sub = {.account_id = account(st, code, ACCOUNT_NO_OVERDRAFT, 0),
                          .created_at = 1700000000};
    snprintf(sub.msisdn, sizeof sub.msisdn, "%s", msisdn);
    snprintf(sub.operator_id, sizeof sub.operator_id, "cmcc");
    snprintf(sub.status, sizeof sub.status, "active");
    assert_int_equal(store_subscriber_insert(st, &sub), TOPUP_OK);
    return sub.account_id;
}

static order_row new_order(const char *msisdn, int64_t funding_account_id, int64_t face_minor,
                           int64_t price_minor)
{
    order_row order = {.face_minor = face_minor,
                       .price_minor = price_minor,
                       .funding_account_id = funding_account_id,
                       .status = ORDER_PAID,
                       .created_at = 1700000000,
                       .updated_at = 1700000000};
    snprintf(order.channel, sizeof order.channel, "api");
    snprintf(order.msisdn, sizeof order.msisdn, "%s", msisdn);
    snprintf(order.operator_id, sizeof order.operator_id, "cmcc");
    snprintf(order.product_id, sizeof order.product_id, "cny50");
    snprintf(order.currency, sizeof order.currency, "CNY");
    return order;
}

/* ---- ledger ---- */

static void transfer_moves_both_balances_and_verify_passes(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    int64_t sub = account(f->st, "subscriber:+8613800138000", ACCOUNT_NO_OVERDRAFT, 0);
    transfer_row t = {.debit_account_id = clearing, .credit_account_id = sub, .amount_minor = 5000};
    snprintf(t.currency, sizeof t.currency, "CNY");
    snprintf(t.kind, sizeof t.kind, "recharge");
    int64_t debit_after = 0, credit_after = 0;
    assert_int_equal(store_transfer(f->st, &t, &debit_after, &credit_after), TOPUP_OK);
    assert_true(t.id > 0);
    assert_int_equal(debit_after, -5000);
    assert_int_equal(credit_after, 5000);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(balance(f->st, "clearing:demo"), -5000);
    assert_int_equal(balance(f->st, "subscriber:+8613800138000"), 5000);
    problems p;
    assert_int_equal(verify(f->st, &p), 0);
}

static void transfer_in_another_currency_is_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t a = account(f->st, "a", 0, 0);
    int64_t b = account(f->st, "b", 0, 0);
    transfer_row t = {.debit_account_id = a, .credit_account_id = b, .amount_minor = 100};
    snprintf(t.currency, sizeof t.currency, "USD");
    snprintf(t.kind, sizeof t.kind, "adjustment");
    assert_int_equal(store_savepoint(f->st), TOPUP_OK);
    assert_int_equal(store_transfer(f->st, &t, NULL, NULL), TOPUP_E_INVALID_ARGUMENT);
    store_savepoint_rollback(f->st);
    /* Zero, negative and self transfers never reach the database. */
    assert_int_equal(transfer(f->st, a, b, 0, 0), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(transfer(f->st, a, b, -1, 0), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(transfer(f->st, a, a, 1, 0), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(balance(f->st, "a"), 0);
    assert_int_equal(balance(f->st, "b"), 0);
}

static void no_overdraft_account_refuses_overdraft(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    int64_t sub = account(f->st, "subscriber:+8613800138000", ACCOUNT_NO_OVERDRAFT, 0);
    int64_t other = account(f->st, "subscriber:+8613900139000", ACCOUNT_NO_OVERDRAFT, 0);
    assert_int_equal(transfer(f->st, clearing, sub, 1000, 0), TOPUP_OK);

    assert_int_equal(store_savepoint(f->st), TOPUP_OK);
    assert_int_equal(transfer(f->st, sub, other, 1001, 0), TOPUP_E_INSUFFICIENT_FUNDS);
    store_savepoint_rollback(f->st);
    /* Exactly the balance is allowed. */
    assert_int_equal(transfer(f->st, sub, other, 1000, 0), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(balance(f->st, "clearing:demo"), -1000);
    assert_int_equal(balance(f->st, "subscriber:+8613800138000"), 0);
    assert_int_equal(balance(f->st, "subscriber:+8613900139000"), 1000);
    problems p;
    assert_int_equal(verify(f->st, &p), 0);
}

static void credit_limit_lets_a_float_go_to_minus_limit_and_no_further(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t merchant = account(f->st, "merchant:shop", ACCOUNT_NO_OVERDRAFT, 10000);
    int64_t sub = account(f->st, "subscriber:+8613800138000", ACCOUNT_NO_OVERDRAFT, 0);
    assert_int_equal(transfer(f->st, merchant, sub, 6000, 0), TOPUP_OK);
    assert_int_equal(transfer(f->st, merchant, sub, 4000, 0), TOPUP_OK);
    assert_int_equal(store_savepoint(f->st), TOPUP_OK);
    assert_int_equal(transfer(f->st, merchant, sub, 1, 0), TOPUP_E_INSUFFICIENT_FUNDS);
    store_savepoint_rollback(f->st);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(balance(f->st, "merchant:shop"), -10000);
    assert_int_equal(balance(f->st, "subscriber:+8613800138000"), 10000);
}

static void balance_overflow_is_refused_and_verify_still_works_at_the_limits(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    /* Created in this order so that SQLite's own sum() over the balances would overflow half-way
     * (INT64_MAX + 1) even though the total is 0. */
    int64_t rich = account(f->st, "rich", 0, 0);
    int64_t one = account(f->st, "one", 0, 0);
    int64_t issuer = account(f->st, "issuer", 0, 0);
    assert_int_equal(transfer(f->st, issuer, rich, INT64_MAX, 0), TOPUP_OK);
    assert_int_equal(transfer(f->st, issuer, one, 1, 0), TOPUP_OK);
    assert_int_equal(balance(f->st, "issuer"), INT64_MIN);
    /* rich's credits now add up to INT64_MAX + 1 although its balance is INT64_MAX. */
    assert_int_equal(transfer(f->st, rich, one, 1, 0), TOPUP_OK);
    assert_int_equal(transfer(f->st, one, rich, 1, 0), TOPUP_OK);

    assert_int_equal(store_savepoint(f->st), TOPUP_OK);
    assert_int_equal(transfer(f->st, one, rich, 1, 0), TOPUP_E_AMOUNT_OVERFLOW);
    store_savepoint_rollback(f->st);
    assert_int_equal(store_savepoint(f->st), TOPUP_OK);
    assert_int_equal(transfer(f->st, issuer, one, 1, 0), TOPUP_E_AMOUNT_OVERFLOW);
    store_savepoint_rollback(f->st);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(balance(f->st, "rich"), INT64_MAX);
    assert_int_equal(balance(f->st, "one"), 1);
    assert_int_equal(balance(f->st, "issuer"), INT64_MIN);
    problems p;
    assert_int_equal(verify(f->st, &p), 0);
}

static void transfers_cannot_be_updated_or_deleted(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t a = account(f->st, "a", 0, 0);
    int64_t b = account(f->st, "b", 0, 0);
    assert_int_equal(transfer(f->st, a, b, 700, 0), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_not_equal(raw_exec(f, "UPDATE transfers SET amount_minor = 1"), SQLITE_OK);
    assert_int_not_equal(raw_exec(f, "DELETE FROM transfers"), SQLITE_OK);

    statement_row rows[4];
    size_t count = 0;
    assert_int_equal(store_statement(f->st, b, 0, rows, 4, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(rows[0].amount_minor, 700);
    problems p;
    assert_int_equal(verify(f->st, &p), 0);
}

static void verify_reports_a_tampered_balance(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t a = account(f->st, "clearing:demo", 0, 0);
    int64_t b = account(f->st, "subscriber:+8613800138000", 0, 0);
    assert_int_equal(transfer(f->st, a, b, 5000, 0), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(raw_exec(f, "UPDATE accounts SET balance_minor = 999999"
                                 " WHERE code = 'subscriber:+8613800138000'"),
                     SQLITE_OK);
    problems p;
    assert_int_equal(verify(f->st, &p), 2);
    assert_true(has_problem(&p, "Account subscriber:+8613800138000 (CNY) has balance 999999 but "
                                "its transfers add up to 5000."));
    assert_true(has_problem(&p, "The balances of the CNY accounts add up to 994999 instead of 0."));
}

static void verify_reports_a_transfer_between_currencies(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    account_row usd;
    assert_int_equal(store_account_ensure(f->st, "usd", "USD", "test", 0, 0, &usd), TOPUP_OK);
    int64_t cny = account(f->st, "cny", 0, 0);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO transfers(debit_account_id, credit_account_id, amount_minor, currency,"
             " kind, created_at) VALUES (%lld, %lld, 1, 'CNY', 'forged', 0)",
             (long long)usd.id, (long long)cny);
    assert_int_equal(raw_exec(f, sql), SQLITE_OK);

    problems p;
    assert_true(verify(f->st, &p) >= 1);
    assert_true(has_problem(&p, "Transfer 1 of 1 is in CNY but debits account usd (USD) and "
                                "credits account cny (CNY)."));
}

static void verify_reports_a_succeeded_order_whose_transfers_do_not_match(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st);
    int64_t sub = add_subscriber(f->st, "+8613800138000");
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);

    /* A correct recharge: 5000 face paid with 5000. */
    order_row good = new_order("+8613800138000", clearing, 5000, 5000);
    assert_int_equal(store_order_insert(f->st, &good, "paid"), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &good, ORDER_SUBMITTED, "hosted", 0), TOPUP_OK);
    assert_int_equal(transfer(f->st, clearing, sub, 5000, good.id), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &good, ORDER_SUCCEEDED, "credited", 0),
                     TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    problems p;
    assert_int_equal(verify(f->st, &p), 0);

    /* One that claims success but moved one fen less than its face value and price. */
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    order_row bad = new_order("+8613800138000", clearing, 5000, 5000);
    assert_int_equal(store_order_insert(f->st, &bad, "paid"), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &bad, ORDER_SUBMITTED, "hosted", 0), TOPUP_OK);
    assert_int_equal(transfer(f->st, clearing, sub, 4999, bad.id), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &bad, ORDER_SUCCEEDED, "credited", 0), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(verify(f->st, &p), 1);
    char expected[512];
    snprintf(expected, sizeof expected,
             "Order %lld succeeded but its transfers moved 4999 into the account of "
             "+8613800138000 instead of its face value 5000, and 4999 out of funding account "
             "clearing:demo instead of its price 5000.",
             (long long)bad.id);
    assert_string_equal(p.text[0], expected);
}

static void statement_is_newest_first_with_a_cursor(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    int64_t a = account(f->st, "a", 0, 0);
    int64_t b = account(f->st, "b", 0, 0);
    int64_t c = account(f->st, "c", 0, 0);
    assert_int_equal(transfer(f->st, a, b, 100, 0), TOPUP_OK); /* b gains */
    assert_int_equal(transfer(f->st, a, c, 999, 0), TOPUP_OK); /* not b's */
    assert_int_equal(transfer(f->st, b, a, 30, 0), TOPUP_OK);  /* b pays */
    assert_int_equal(transfer(f->st, a, b, 200, 0), TOPUP_OK); /* b gains */
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    statement_row rows[2];
    size_t count = 0;
    assert_int_equal(store_statement(f->st, b, 0, rows, 2, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(rows[0].amount_minor, 200);
    assert_true(rows[0].credit);
    assert_int_equal(rows[1].amount_minor, 30);
    assert_false(rows[1].credit);
    assert_string_equal(rows[1].currency, "CNY");

    assert_int_equal(store_statement(f->st, b, rows[1].transfer_id, rows, 2, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(rows[0].amount_minor, 100);
    assert_true(rows[0].credit);
}

/* ---- subscribers ---- */

static void subscriber_shows_its_account_balance(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st);
    int64_t sub_account = add_subscriber(f->st, "+8613800138000");
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    assert_int_equal(transfer(f->st, clearing, sub_account, 3000, 0), TOPUP_OK);

    subscriber_row sub;
    assert_int_equal(store_subscriber_get(f->st, "+8613800138000", &sub), TOPUP_OK);
    assert_int_equal(sub.balance_minor, 3000);
    assert_string_equal(sub.currency, "CNY");
    assert_string_equal(sub.status, "active");
    assert_int_equal(store_subscriber_insert(f->st, &sub), TOPUP_E_ALREADY_EXISTS);

    assert_int_equal(store_subscriber_update(f->st, "+8613800138000", "suspended", 1800000000),
                     TOPUP_OK);
    assert_int_equal(store_subscriber_get(f->st, "+8613800138000", &sub), TOPUP_OK);
    assert_string_equal(sub.status, "suspended");
    assert_int_equal(sub.valid_until, 1800000000);
    assert_int_equal(store_subscriber_update(f->st, "+8613900000000", "active", 0),
                     TOPUP_E_NOT_FOUND);
    assert_int_equal(store_subscriber_get(f->st, "+8613900000000", &sub), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
}

/* ---- orders ---- */

static void order_transitions_are_recorded_as_events(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st);
    add_subscriber(f->st, "+8613800138000");
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    order_row order = new_order("+8613800138000", clearing, 5000, 4900);
    assert_int_equal(store_order_insert(f->st, &order, "paid at the counter"), TOPUP_OK);
    assert_true(order.id > 0);
    assert_int_equal(
        store_order_transition(f->st, &order, ORDER_SUBMITTED, "hosted operator", 1700000001),
        TOPUP_OK);
    order.has_balance_after = true;
    order.balance_after_minor = 5000;
    order.valid_until = 1702592000;
    assert_int_equal(store_order_transition(f->st, &order, ORDER_SUCCEEDED, "credited", 1700000002),
                     TOPUP_OK);
    assert_int_equal(order.status, ORDER_SUCCEEDED);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    order_row stored;
    assert_int_equal(store_order_get(f->st, order.id, &stored), TOPUP_OK);
    assert_int_equal(stored.status, ORDER_SUCCEEDED);
    assert_true(stored.has_balance_after);
    assert_int_equal(stored.balance_after_minor, 5000);
    assert_int_equal(stored.valid_until, 1702592000);
    assert_int_equal(stored.updated_at, 1700000002);
    assert_int_equal(stored.price_minor, 4900);

    order_event_row events[8];
    size_t count = 0;
    assert_int_equal(store_order_events(f->st, order.id, events, 8, &count), TOPUP_OK);
    assert_int_equal(count, 3);
    const order_status from[] = {ORDER_NONE, ORDER_PAID, ORDER_SUBMITTED};
    const order_status to[] = {ORDER_PAID, ORDER_SUBMITTED, ORDER_SUCCEEDED};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(events[i].seq, (int)i + 1);
        assert_int_equal(events[i].from, from[i]);
        assert_int_equal(events[i].to, to[i]);
    }
    assert_string_equal(events[0].reason, "paid at the counter");
    assert_string_equal(events[2].reason, "credited");
}

static void illegal_transition_changes_nothing(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st);
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    order_row order = new_order("+8613800138000", clearing, 5000, 5000);
    assert_int_equal(store_order_insert(f->st, &order, "paid"), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &order, ORDER_SUCCEEDED, "skip", 0),
                     TOPUP_E_ILLEGAL_TRANSITION);
    assert_int_equal(order.status, ORDER_PAID);

    /* A stale copy (the order moved on since it was read) cannot move it a second time. */
    order_row stale = order;
    assert_int_equal(store_order_transition(f->st, &order, ORDER_SUBMITTED, "hosted", 0), TOPUP_OK);
    assert_int_equal(store_order_transition(f->st, &stale, ORDER_SUBMITTED, "again", 0),
                     TOPUP_E_ILLEGAL_TRANSITION);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    order_row stored;
    assert_int_equal(store_order_get(f->st, order.id, &stored), TOPUP_OK);
    assert_int_equal(stored.status, ORDER_SUBMITTED);
    order_event_row events[8];
    size_t count = 0;
    assert_int_equal(store_order_events(f->st, order.id, events, 8, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(store_order_get(f->st, order.id + 1, &stored), TOPUP_E_NOT_FOUND);
}

static void orders_list_is_newest_first_with_a_cursor(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st);
    int64_t clearing = account(f->st, "clearing:demo", 0, 0);
    int64_t ids[3];
    const char *numbers[] = {"+8613800138000", "+8613800138001", "+8613800138000"};
    for (int i = 0; i < 3; i++) {
        order_row order = new_order(numbers[i], clearing, 1000 * (i + 1), 1000 * (i + 1));
        assert_int_equal(store_order_insert(f->st, &order, "paid"), TOPUP_OK);
        ids[i] = order.id;
    }
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);

    order_row orders[2];
    size_t count = 0;
    assert_int_equal(store_orders_list(f->st, NULL, 0, orders, 2, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(orders[0].id, ids[2]);
    assert_int_equal(orders[1].id, ids[1]);
    assert_int_equal(store_orders_list(f->st, NULL, orders[1].id, orders, 2, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(orders[0].id, ids[0]);
    assert_int_equal(orders[0].face_minor, 1000);

    assert_int_equal(store_orders_list(f->st, "+8613800138000", 0, orders, 2, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(orders[0].id, ids[2]);
    assert_int_equal(orders[1].id, ids[0]);
}

/* ---- idempotency ---- */

static void idempotency_returns_the_first_answer(void **state)
{
    fixture *f = *state;
    uint8_t hash[REQUEST_HASH_SIZE], other[REQUEST_HASH_SIZE];
    memset(hash, 0xab, sizeof hash);
    memset(other, 0xcd, sizeof other);
    idempotency_row row;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    assert_int_equal(store_idempotency_get(f->st, 7, "order-1", &row), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_idempotency_put(f->st, 7, "order-1", hash, 201, "{\"id\":\"1\"}", 100),
                     TOPUP_OK);
    assert_int_equal(store_idempotency_put(f->st, 7, "order-1", other, 402, "{}", 101),
                     TOPUP_E_ALREADY_EXISTS);
    /* Keys are scoped to the API key. */
    assert_int_equal(store_idempotency_put(f->st, 8, "order-1", other, 402, "{}", 101), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    assert_int_equal(store_idempotency_get(f->st, 7, "order-1", &row), TOPUP_OK);
    assert_memory_equal(row.request_hash, hash, REQUEST_HASH_SIZE);
    assert_int_equal(row.status, 201);
    assert_string_equal(row.body, "{\"id\":\"1\"}");
    free(row.body);
    assert_int_equal(store_idempotency_get(f->st, 8, "order-1", &row), TOPUP_OK);
    assert_int_equal(row.status, 402);
    free(row.body);
}

static void idempotency_purge_deletes_only_old_answers(void **state)
{
    fixture *f = *state;
    uint8_t hash[REQUEST_HASH_SIZE] = {1};
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    assert_int_equal(store_idempotency_put(f->st, 1, "old", hash, 201, "old", 100), TOPUP_OK);
    assert_int_equal(store_idempotency_put(f->st, 1, "new", hash, 201, "new", 200), TOPUP_OK);
    int64_t deleted = -1;
    assert_int_equal(store_idempotency_purge(f->st, 150, &deleted), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(deleted, 1);

    idempotency_row row;
    assert_int_equal(store_idempotency_get(f->st, 1, "old", &row), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_idempotency_get(f->st, 1, "new", &row), TOPUP_OK);
    assert_string_equal(row.body, "new");
    free(row.body);
}

/* ---- API keys ---- */

static void revoked_api_key_is_no_longer_found(void **state)
{
    fixture *f = *state;
    uint8_t hash[REQUEST_HASH_SIZE];
    memset(hash, 0x5a, sizeof hash);
    api_key_row key = {.created_at = 1700000000};
    snprintf(key.name, sizeof key.name, "taobao-shop");
    snprintf(key.scopes, sizeof key.scopes, "recharge,read");
    snprintf(key.funding_account, sizeof key.funding_account, "merchant:taobao-shop");
    int64_t id = 0;
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    assert_int_equal(store_api_key_insert(f->st, &key, hash, &id), TOPUP_OK);
    assert_true(id > 0);
    assert_int_equal(store_api_key_insert(f->st, &key, hash, NULL), TOPUP_E_ALREADY_EXISTS);
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    api_key_row found;
    assert_int_equal(store_api_key_find(f->st, hash, &found), TOPUP_OK);
    assert_int_equal(found.id, id);
    assert_string_equal(found.funding_account, "merchant:taobao-shop");
    assert_string_equal(found.scopes, "recharge,read");
    assert_int_equal(found.revoked_at, 0);
    uint8_t unknown[REQUEST_HASH_SIZE] = {0};
    assert_int_equal(store_api_key_find(f->st, unknown, &found), TOPUP_E_NOT_FOUND);

    assert_int_equal(store_begin(f->st), TOPUP_OK);
    assert_int_equal(store_api_key_revoke(f->st, "taobao-shop", 1700000100), TOPUP_OK);
    assert_int_equal(store_api_key_revoke(f->st, "taobao-shop", 1700000200), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(store_api_key_find(f->st, hash, &found), TOPUP_E_NOT_FOUND);

    api_key_row keys[4];
    size_t count = 0;
    assert_int_equal(store_api_key_list(f->st, keys, 4, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(keys[0].revoked_at, 1700000100);
}

/* ---- catalog ---- */

static void catalog_load_returns_what_was_added(void **state)
{
    fixture *f = *state;
    int64_t version_before = -1, version_after = -1;
    assert_int_equal(store_catalog_version(f->st, &version_before), TOPUP_OK);
    assert_int_equal(version_before, 0);

    assert_int_equal(store_begin(f->st), TOPUP_OK);
    add_catalog(f->st); /* plan, operator, range: three changes */
    product_info fixed = {.id = "cny50",
                          .operator_id = "cmcc",
                          .kind = PRODUCT_FIXED,
                          .face_minor = 5000,
                          .price_minor = 4950,
                          .validity_days = 30};
    product_info range = {.id = "cny-any",
                          .operator_id = "cmcc",
                          .kind = PRODUCT_RANGE,
                          .min_minor = 1000,
                          .max_minor = 50000,
                          .step_minor = 100,
                          .price_basis_points = 9900,
                          .validity_days = 30};
    assert_int_equal(store_product_add(f->st, &fixed), TOPUP_OK);
    assert_int_equal(store_product_add(f->st, &range), TOPUP_OK);
    assert_int_equal(store_portability_set(f->st, "+8613800138000", "cmcc"), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(store_catalog_version(f->st, &version_after), TOPUP_OK);
    assert_int_equal(version_after, version_before + 6);

    /* Refusals leave the catalog and its version alone. */
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    operator_info duplicate = {
        .id = "cmcc", .name = "Another", .country = "CN", .currency = "CNY", .connector = "hosted"};
    assert_int_equal(store_operator_add(f->st, &duplicate), TOPUP_E_ALREADY_EXISTS);
    number_range orphan = {.prefix = "86199", .operator_id = "nobody"};
    assert_int_equal(store_range_add(f->st, &orphan), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    int64_t version_refused = -1;
    assert_int_equal(store_catalog_version(f->st, &version_refused), TOPUP_OK);
    assert_int_equal(version_refused, version_after);

    catalog *cat = NULL;
    assert_int_equal(store_catalog_load(f->st, &cat, NULL), TOPUP_OK);
    assert_non_null(cat);
    const operator_info *op = catalog_operator(cat, "cmcc");
    assert_non_null(op);
    assert_string_equal(op->name, "China Mobile");
    assert_string_equal(op->currency, "CNY");
    assert_ptr_equal(catalog_operator_for_number(cat, "+8613800138000"), op);
    assert_null(catalog_operator_for_number(cat, "+8613900139000"));
    const number_plan *plan = catalog_plan(cat, "CN");
    assert_non_null(plan);
    assert_string_equal(plan->calling_code, "86");
    assert_int_equal(plan->nsn_length_max, 11);
    const product_info *loaded = catalog_product(cat, "cny50");
    assert_non_null(loaded);
    assert_int_equal(loaded->kind, PRODUCT_FIXED);
    assert_int_equal(loaded->price_minor, 4950);
    loaded = catalog_product(cat, "cny-any");
    assert_non_null(loaded);
    assert_int_equal(loaded->kind, PRODUCT_RANGE);
    assert_int_equal(loaded->step_minor, 100);
    assert_int_equal(loaded->price_basis_points, 9900);
    catalog_unref(cat);

    char ported[CATALOG_ID_SIZE];
    assert_int_equal(store_portability_get(f->st, "+8613800138000", ported), TOPUP_OK);
    assert_string_equal(ported, "cmcc");
    assert_int_equal(store_portability_get(f->st, "+8613800138001", ported), TOPUP_E_NOT_FOUND);
}

/* ---- opening ---- */

static void open_refuses_a_missing_file_without_creating_it(void **state)
{
    fixture *f = *state;
    char missing[PATH_SIZE];
    snprintf(missing, sizeof missing, "%s/missing.db", f->dir);
    store *st = (store *)1;
    assert_int_equal(store_open(missing, STORE_READ_WRITE, &st), TOPUP_E_IO);
    assert_null(st);
    assert_int_equal(store_open(missing, STORE_READ_ONLY, &st), TOPUP_E_IO);
    assert_int_not_equal(access(missing, F_OK), 0);
}

static void open_refuses_a_database_that_is_not_migrated(void **state)
{
    fixture *f = *state;
    char fresh[PATH_SIZE];
    snprintf(fresh, sizeof fresh, "%s/fresh.db", f->dir);
    store *st = NULL;
    assert_int_equal(store_open(fresh, STORE_CREATE, &st), TOPUP_OK);
    store_close(st);
    assert_int_equal(store_open(fresh, STORE_READ_WRITE, &st), TOPUP_E_SCHEMA);
    assert_null(st);
    assert_int_equal(store_open(fresh, STORE_READ_ONLY, &st), TOPUP_E_SCHEMA);

    /* After migrating, both modes open and see the same data. */
    assert_int_equal(store_open(fresh, STORE_CREATE, &st), TOPUP_OK);
    assert_int_equal(store_migrate(st, NULL, NULL), TOPUP_OK);
    assert_int_equal(store_meta_set(st, "greeting", "hello"), TOPUP_OK);
    store_close(st);
    assert_int_equal(store_open(fresh, STORE_READ_ONLY, &st), TOPUP_OK);
    char value[16];
    assert_int_equal(store_meta_get(st, "greeting", value, sizeof value), TOPUP_OK);
    assert_string_equal(value, "hello");
    assert_int_equal(store_meta_get(st, "absent", value, sizeof value), TOPUP_E_NOT_FOUND);
    store_close(st);
    remove_database(fresh);
}

static void migrating_a_foreign_database_is_refused_and_changes_nothing(void **state)
{
    fixture *f = *state;
    char foreign[PATH_SIZE];
    snprintf(foreign, sizeof foreign, "%s/foreign.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE meta (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    store *st = NULL;
    assert_int_equal(store_open(foreign, STORE_CREATE, &st), TOPUP_OK);
    assert_int_equal(store_migrate(st, NULL, NULL), TOPUP_E_SCHEMA);
    store_close(st);
    /* The failed migration left no table behind and the version at 0. */
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM sqlite_schema),"
                                        " (SELECT user_version FROM pragma_user_version)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    assert_int_equal(sqlite3_column_int(s, 1), 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    remove_database(foreign);
}

static void migrate_twice_is_harmless(void **state)
{
    fixture *f = *state;
    int from = -1, to = -1;
    assert_int_equal(store_migrate(f->st, &from, &to), TOPUP_OK);
    assert_int_equal(from, to);
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open(f->path, STORE_READ_WRITE, &f->st), TOPUP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(transfer_moves_both_balances_and_verify_passes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transfer_in_another_currency_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(no_overdraft_account_refuses_overdraft, setup, teardown),
        cmocka_unit_test_setup_teardown(credit_limit_lets_a_float_go_to_minus_limit_and_no_further,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            balance_overflow_is_refused_and_verify_still_works_at_the_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(transfers_cannot_be_updated_or_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_a_tampered_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_a_transfer_between_currencies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            verify_reports_a_succeeded_order_whose_transfers_do_not_match, setup, teardown),
        cmocka_unit_test_setup_teardown(statement_is_newest_first_with_a_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(subscriber_shows_its_account_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(order_transitions_are_recorded_as_events, setup, teardown),
        cmocka_unit_test_setup_teardown(illegal_transition_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(orders_list_is_newest_first_with_a_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(idempotency_returns_the_first_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(idempotency_purge_deletes_only_old_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(revoked_api_key_is_no_longer_found, setup, teardown),
        cmocka_unit_test_setup_teardown(catalog_load_returns_what_was_added, setup, teardown),
        cmocka_unit_test_setup_teardown(open_refuses_a_missing_file_without_creating_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(open_refuses_a_database_that_is_not_migrated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(migrating_a_foreign_database_is_refused_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_twice_is_harmless, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
