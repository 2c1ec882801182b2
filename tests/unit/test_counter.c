/* Unit tests for the counter channel's foundation: src/store/store_sqlite_counter.c and
 * src/service/counter.c on a real SQLite file in a temporary directory. What a hall relies on:
 * a shift's float, over and short are ledger transfers that leave the drawer at zero and the
 * ledger balanced; a teller has one open shift and works only at their hall; a refusal changes
 * nothing but the audit log, which no one can rewrite; a shift report sums its counter orders.
 * Tampering goes through a second, raw sqlite3 connection, as someone with shell access would. */
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

#include "service/counter.h"
#include "service/recharge.h"
#include "store/store.h"

#define DIR_SIZE     64
#define PATH_SIZE    128
#define AUDIT_MAX    64
#define FAKE_HASH    "$argon2id$v=19$m=65536,t=2,p=1$test$test" /* never checked here */
#define NOW          1790000000
#define POS_CLEARING "clearing:pos:h1"

typedef struct fixture {
    char dir[DIR_SIZE];
    char path[PATH_SIZE];
    store *st;
    counter_actor cli; /* the trusted command line */
} fixture;

/* ---- set-up ---- */

static void remove_database(const char *path)
{
    char name[PATH_SIZE + 8];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static void add_operator(store *st, const char *id)
{
    operator_info op = {.country = "CN", .currency = "CNY", .connector = "hosted"};
    snprintf(op.id, sizeof op.id, "%s", id);
    snprintf(op.name, sizeof op.name, "operator %s", id);
    assert_int_equal(store_operator_add(st, &op), TOPUP_OK);
}

static void add_hall(fixture *f, const char *id)
{
    hall_row hall = {.currency = "CNY"};
    snprintf(hall.id, sizeof hall.id, "%s", id);
    snprintf(hall.name, sizeof hall.name, "营业厅 %s", id);
    counter_refusal refusal;
    assert_int_equal(counter_hall_add(f->st, &hall, &f->cli, NOW, &refusal), TOPUP_OK);
}

static staff_row staff_of(const char *id, const char *role, const char *hall_id)
{
    staff_row staff = {.password_hash = FAKE_HASH};
    snprintf(staff.id, sizeof staff.id, "%s", id);
    snprintf(staff.name, sizeof staff.name, "name of %s", id);
    snprintf(staff.role, sizeof staff.role, "%s", role);
    snprintf(staff.hall_id, sizeof staff.hall_id, "%s", hall_id);
    return staff;
}

static void add_staff(fixture *f, const char *id, const char *role, const char *hall_id)
{
    staff_row staff = staff_of(id, role, hall_id);
    counter_refusal refusal;
    assert_int_equal(counter_staff_add(f->st, &staff, &f->cli, NOW, &refusal), TOPUP_OK);
}

/* Halls h1 and h2; tellers wang (h1) and zhao (h2), supervisor li (h1), admin root, and gone,
 * a disabled teller of h1; operators cmcc and unicom. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s", "/tmp/topup-test-counter-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/topup.db", f->dir);
    snprintf(f->cli.origin, sizeof f->cli.origin, "cli:test");
    assert_int_equal(store_open(f->path, STORE_CREATE, &f->st), TOPUP_OK);
    assert_int_equal(store_migrate(f->st, NULL, NULL), TOPUP_OK);
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    number_plan plan = {.country = "CN",
                        .calling_code = "86",
                        .international_prefix = "00",
                        .nsn_length_min = 11,
                        .nsn_length_max = 11};
    assert_int_equal(store_plan_put(f->st, &plan), TOPUP_OK);
    add_operator(f->st, "cmcc");
    add_operator(f->st, "unicom");
    add_hall(f, "h1");
    add_hall(f, "h2");
    add_staff(f, "wang", "teller", "h1");
    add_staff(f, "zhao", "teller", "h2");
    add_staff(f, "li", "supervisor", "h1");
    add_staff(f, "root", "admin", "");
    add_staff(f, "gone", "teller", "h1");
    counter_refusal refusal;
    assert_int_equal(counter_staff_disable(f->st, "gone", &f->cli, NOW, &refusal), TOPUP_OK);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    assert_int_equal(store_begin(f->st), TOPUP_OK); /* each test runs in one transaction */
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

/* ---- helpers ---- */

static counter_actor actor_of(const char *staff_id)
{
    counter_actor actor = {.origin = "192.0.2.7"};
    snprintf(actor.staff_id, sizeof actor.staff_id, "%s", staff_id);
    return actor;
}

static int64_t balance(store *st, const char *code)
{
    account_row account;
    assert_int_equal(store_account_get(st, code, "CNY", &account), TOPUP_OK);
    return account.balance_minor;
}

static void assert_ledger_verifies(store *st)
{
    int64_t problem_count = -1, transfer_count = 0;
    assert_int_equal(store_verify(st, NULL, NULL, &problem_count, &transfer_count, NULL), TOPUP_OK);
    assert_int_equal(problem_count, 0);
}

static int64_t transfer_count(store *st)
{
    int64_t problems, transfers = -1;
    assert_int_equal(store_verify(st, NULL, NULL, &problems, &transfers, NULL), TOPUP_OK);
    return transfers;
}

static size_t audit_count(store *st)
{
    static audit_row entries[AUDIT_MAX];
    size_t count;
    assert_int_equal(store_audit_list(st, NULL, NULL, 0, entries, AUDIT_MAX, &count), TOPUP_OK);
    return count;
}

static audit_row newest_audit(store *st)
{
    audit_row entry;
    size_t count;
    assert_int_equal(store_audit_list(st, NULL, NULL, 0, &entry, 1, &count), TOPUP_OK);
    assert_int_equal(count, 1);
    return entry;
}

static shift_row open_shift(fixture *f, const char *staff_id, int64_t float_minor)
{
    counter_shift_open_request request = {.actor = actor_of(staff_id), .float_minor = float_minor};
    shift_row shift;
    counter_refusal refusal = COUNTER_REFUSAL_COUNT;
    assert_int_equal(counter_shift_open(f->st, &request, NOW, &shift, &refusal), TOPUP_OK);
    assert_int_equal(refusal, COUNTER_ACCEPTED);
    return shift;
}

static topup_result close_shift(fixture *f, const char *staff_id, int64_t counted_minor,
                                const char *reason, counter_shift_report *report,
                                counter_refusal *refusal)
{
    counter_shift_close_request request = {.actor = actor_of(staff_id),
                                           .counted_minor = counted_minor};
    snprintf(request.reason, sizeof request.reason, "%s", reason);
    return counter_shift_close(f->st, &request, NOW + 3600, report, refusal);
}

/* A counter recharge as the web counter will make it: the order is paid from the drawer (cash)
 * or from the POS clearing account (card), credited, and linked to the shift. */
static int64_t sell(fixture *f, const shift_row *shift, const char *tender, const char *operator_id,
                    int64_t price_minor, bool reversed)
{
    bool cash = strcmp(tender, "cash") == 0;
    recharge_request request = {.channel = "counter",
                                .connector = "hosted",
                                .product_id = "any",
                                .currency = "CNY",
                                .face_minor = price_minor,
                                .price_minor = price_minor,
                                .validity_days = 30};
    snprintf(request.operator_id, sizeof request.operator_id, "%s", operator_id);
    subscriber_row sub;
    /* One test number per operator: a number belongs to one operator. */
    snprintf(request.msisdn, sizeof request.msisdn, "+86138%08d",
             strcmp(operator_id, "cmcc") == 0 ? 1 : 2);
    assert_int_equal(recharge_subscriber(f->st, &request, NOW, &sub), TOPUP_OK);
    account_row funding;
    if (cash)
        assert_int_equal(store_account_get(f->st, "drawer:h1:wang", "CNY", &funding), TOPUP_OK);
    else
        assert_int_equal(
            store_account_ensure(f->st, POS_CLEARING, "CNY", "clearing", 0, 0, &funding), TOPUP_OK);
    order_row order;
    recharge_order_prepare(&request, funding.id, ORDER_PAID, NOW, &order);
    assert_int_equal(store_order_insert(f->st, &order, "paid at the counter"), TOPUP_OK);
    assert_int_equal(recharge_fulfil(f->st, &request, &sub, &order, NOW), TOPUP_OK);
    counter_order_row row = {.order_id = order.id,
                             .shift_id = shift->id,
                             .id_type = "resident_id",
                             .id_last4 = "123X",
                             .created_at = NOW};
    memcpy(row.hall_id, shift->hall_id, sizeof row.hall_id);
    memcpy(row.staff_id, shift->staff_id, sizeof row.staff_id);
    snprintf(row.tender, sizeof row.tender, "%s", tender);
    memset(row.id_hash, 0xab, sizeof row.id_hash);
    if (cash) {
        row.tendered_minor = price_minor + 500;
        row.change_minor = 500;
    } else
        snprintf(row.pos_reference, sizeof row.pos_reference, "POS-%lld", (long long)order.id);
    if (reversed) {
        row.reversed_at = NOW + 60;
        snprintf(row.reversed_by, sizeof row.reversed_by, "li");
    }
    assert_int_equal(store_counter_order_insert(f->st, &row), TOPUP_OK);
    return order.id;
}

/* ---- opening and closing ---- */

static void opening_moves_the_float_from_the_safe_into_the_drawer(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 20000);
    assert_true(shift.id > 0);
    assert_string_equal(shift.status, "open");
    assert_string_equal(shift.hall_id, "h1");
    /* Cash held is a debit balance, as in a provider's clearing account. */
    assert_int_equal(balance(f->st, "drawer:h1:wang"), -20000);
    assert_int_equal(balance(f->st, "safe:h1"), 20000);
    shift_row open;
    assert_int_equal(store_shift_open_get(f->st, "wang", &open), TOPUP_OK);
    assert_int_equal(open.id, shift.id);
    assert_int_equal(open.opening_float_minor, 20000);
    audit_row entry = newest_audit(f->st);
    assert_string_equal(entry.action, "shift.open");
    assert_string_equal(entry.staff_id, "wang");
    assert_string_equal(entry.hall_id, "h1");
    assert_string_equal(entry.origin, "192.0.2.7");
    assert_non_null(strstr(entry.detail, "200.00 CNY"));
    assert_ledger_verifies(f->st);
}

static void closing_with_the_exact_cash_empties_the_drawer_into_the_safe(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 20000);
    sell(f, &shift, "cash", "cmcc", 5000, false);
    counter_shift_report report;
    counter_refusal refusal;
    assert_int_equal(close_shift(f, "wang", 25000, "", &report, &refusal), TOPUP_OK);
    assert_int_equal(refusal, COUNTER_ACCEPTED);
    assert_string_equal(report.shift.status, "closed");
    assert_int_equal(report.shift.expected_cash_minor, 25000);
    assert_int_equal(report.shift.counted_cash_minor, 25000);
    assert_int_equal(report.shift.over_short_minor, 0);
    assert_int_equal(report.shift.over_short_transfer_id, 0);
    assert_int_equal(report.shift.closed_at, NOW + 3600);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), 0);
    /* The safe lent 200.00 and got 250.00 back: it holds the 50.00 taken. */
    assert_int_equal(balance(f->st, "safe:h1"), -5000);
    assert_int_equal(store_shift_open_get(f->st, "wang", &shift), TOPUP_E_NOT_FOUND);
    assert_string_equal(newest_audit(f->st).action, "shift.close");
    assert_ledger_verifies(f->st);
}

static void a_shortage_needs_a_reason_and_becomes_a_cash_short_transfer(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 20000);
    sell(f, &shift, "cash", "cmcc", 5000, false);
    sell(f, &shift, "cash", "cmcc", 10000, false);
    int64_t transfers = transfer_count(f->st);
    size_t audits = audit_count(f->st);

    counter_shift_report report;
    counter_refusal refusal;
    assert_int_equal(close_shift(f, "wang", 34000, "", &report, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_REASON_REQUIRED);
    /* Nothing moved and the shift is still open; only the refusal was recorded. */
    assert_int_equal(transfer_count(f->st), transfers);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), -35000);
    shift_row open;
    assert_int_equal(store_shift_open_get(f->st, "wang", &open), TOPUP_OK);
    assert_int_equal(audit_count(f->st), audits + 1);
    audit_row entry = newest_audit(f->st);
    assert_string_equal(entry.action, "shift.close.refused");
    assert_non_null(strstr(entry.detail, "reason_required"));

    assert_int_equal(close_shift(f, "wang", 34000, "a 10 yuan note missing", &report, &refusal),
                     TOPUP_OK);
    assert_int_equal(report.shift.expected_cash_minor, 35000);
    assert_int_equal(report.shift.over_short_minor, -1000);
    assert_true(report.shift.over_short_transfer_id > 0);
    assert_string_equal(report.shift.close_reason, "a 10 yuan note missing");
    assert_int_equal(balance(f->st, COUNTER_OVER_SHORT_ACCOUNT), -1000);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), 0);
    assert_int_equal(balance(f->st, "safe:h1"), 20000 - 34000);
    assert_non_null(strstr(newest_audit(f->st).detail, "short 10.00 CNY: a 10 yuan note"));
    assert_ledger_verifies(f->st);
}

static void an_overage_becomes_a_cash_over_transfer(void **state)
{
    fixture *f = *state;
    open_shift(f, "wang", 10000);
    counter_shift_report report;
    counter_refusal refusal;
    assert_int_equal(close_shift(f, "wang", 10500, "customer left change", &report, &refusal),
                     TOPUP_OK);
    assert_int_equal(report.shift.over_short_minor, 500);
    assert_int_equal(balance(f->st, COUNTER_OVER_SHORT_ACCOUNT), 500);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), 0);
    assert_int_equal(balance(f->st, "safe:h1"), -500);
    assert_ledger_verifies(f->st);
}

static void an_empty_drawer_opens_and_closes_without_transfers(void **state)
{
    fixture *f = *state;
    int64_t transfers = transfer_count(f->st);
    open_shift(f, "wang", 0);
    counter_shift_report report;
    counter_refusal refusal;
    assert_int_equal(close_shift(f, "wang", 0, "", &report, &refusal), TOPUP_OK);
    assert_int_equal(transfer_count(f->st), transfers);
    assert_ledger_verifies(f->st);
}

static void a_teller_has_at_most_one_open_shift(void **state)
{
    fixture *f = *state;
    shift_row first = open_shift(f, "wang", 20000);
    int64_t transfers = transfer_count(f->st);
    counter_shift_open_request request = {.actor = actor_of("wang"), .float_minor = 5000};
    shift_row second;
    counter_refusal refusal;
    assert_int_equal(counter_shift_open(f->st, &request, NOW, &second, &refusal),
                     TOPUP_E_ALREADY_EXISTS);
    assert_int_equal(refusal, COUNTER_SHIFT_ALREADY_OPEN);
    assert_int_equal(transfer_count(f->st), transfers);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), -20000);
    /* The table itself refuses a second open shift, whoever writes it. */
    shift_row raw = first;
    assert_int_equal(store_shift_insert(f->st, &raw), TOPUP_E_ALREADY_EXISTS);
    /* Once closed, the next shift may open. */
    counter_shift_report report;
    assert_int_equal(close_shift(f, "wang", 20000, "", &report, &refusal), TOPUP_OK);
    shift_row next = open_shift(f, "wang", 5000);
    assert_true(next.id > first.id);
    assert_ledger_verifies(f->st);
}

static void closing_without_an_open_shift_is_refused(void **state)
{
    fixture *f = *state;
    counter_shift_report report;
    counter_refusal refusal;
    assert_int_equal(close_shift(f, "wang", 100, "", &report, &refusal), TOPUP_E_NOT_FOUND);
    assert_int_equal(refusal, COUNTER_NO_OPEN_SHIFT);
    assert_string_equal(newest_audit(f->st).action, "shift.close.refused");
}

/* ---- who may open a shift where ---- */

/* Tries to open a shift that must be refused with `expected`, and checks that only the refusal's
 * audit entry was written. */
static audit_row open_refused(fixture *f, const char *staff_id, const char *hall_id,
                              counter_refusal expected)
{
    int64_t transfers = transfer_count(f->st);
    size_t audits = audit_count(f->st);
    shift_row shifts[4];
    size_t shift_count_before, shift_count_after;
    assert_int_equal(store_shifts_list(f->st, NULL, NULL, 0, shifts, 4, &shift_count_before),
                     TOPUP_OK);
    counter_shift_open_request request = {.actor = actor_of(staff_id), .float_minor = 20000};
    snprintf(request.hall_id, sizeof request.hall_id, "%s", hall_id);
    shift_row shift;
    counter_refusal refusal;
    assert_int_equal(counter_shift_open(f->st, &request, NOW, &shift, &refusal),
                     counter_refusal_result(expected));
    assert_int_equal(refusal, expected);
    assert_int_equal(transfer_count(f->st), transfers);
    assert_int_equal(store_shifts_list(f->st, NULL, NULL, 0, shifts, 4, &shift_count_after),
                     TOPUP_OK);
    assert_int_equal(shift_count_after, shift_count_before);
    assert_int_equal(audit_count(f->st), audits + 1);
    audit_row entry = newest_audit(f->st);
    assert_string_equal(entry.action, "shift.open.refused");
    assert_non_null(strstr(entry.detail, counter_refusal_code(expected)));
    return entry;
}

static void a_teller_cannot_open_a_shift_at_another_hall(void **state)
{
    fixture *f = *state;
    audit_row entry = open_refused(f, "wang", "h2", COUNTER_WRONG_HALL);
    assert_string_equal(entry.staff_id, "wang");
    /* Filed under the hall the attempt was at, so its supervisor sees it. */
    assert_string_equal(entry.hall_id, "h2");
    assert_non_null(strstr(entry.detail, "works at h1"));
    /* A hall that does not exist cannot be referenced: filed under the teller's own. */
    entry = open_refused(f, "wang", "h9", COUNTER_WRONG_HALL);
    assert_string_equal(entry.hall_id, "h1");
    /* No drawer was made at h2. */
    account_row drawer;
    assert_int_equal(store_account_get(f->st, "drawer:h2:wang", "CNY", &drawer), TOPUP_E_NOT_FOUND);
    assert_ledger_verifies(f->st);
}

static void disabled_unknown_and_admin_staff_cannot_open_a_shift(void **state)
{
    fixture *f = *state;
    open_refused(f, "gone", "", COUNTER_STAFF_DISABLED);
    open_refused(f, "root", "", COUNTER_ROLE_REFUSED);
    audit_row entry = open_refused(f, "nobody", "", COUNTER_STAFF_UNKNOWN);
    /* An unknown login is not a staff reference: it is kept as the subject. */
    assert_string_equal(entry.staff_id, "");
    assert_string_equal(entry.subject, "staff:nobody");
    assert_ledger_verifies(f->st);
}

static void a_supervisor_may_open_a_shift_at_their_hall(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "li", 10000);
    assert_string_equal(shift.hall_id, "h1");
    assert_int_equal(balance(f->st, "drawer:h1:li"), -10000);
}

static void a_disabled_teller_s_open_shift_can_still_be_closed(void **state)
{
    fixture *f = *state;
    open_shift(f, "wang", 20000);
    counter_refusal refusal;
    assert_int_equal(counter_staff_disable(f->st, "wang", &f->cli, NOW, &refusal), TOPUP_OK);
    counter_shift_report report;
    assert_int_equal(close_shift(f, "wang", 20000, "", &report, &refusal), TOPUP_OK);
    assert_int_equal(balance(f->st, "drawer:h1:wang"), 0);
    assert_ledger_verifies(f->st);
}

/* ---- the audit log ---- */

static void audit_entries_cannot_be_updated_or_deleted(void **state)
{
    fixture *f = *state;
    open_shift(f, "wang", 20000);
    assert_int_equal(store_commit(f->st), TOPUP_OK);
    size_t before = audit_count(f->st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE audit_log SET detail = 'nothing happened'", NULL, NULL, NULL),
        SQLITE_CONSTRAINT);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    assert_int_equal(sqlite3_exec(db, "DELETE FROM audit_log", NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    sqlite3_close(db);
    assert_int_equal(audit_count(f->st), before);
    assert_string_equal(newest_audit(f->st).action, "shift.open");
    assert_int_equal(store_begin(f->st), TOPUP_OK);
}

static void the_audit_log_lists_newest_first_by_staff_and_hall(void **state)
{
    fixture *f = *state;
    open_shift(f, "wang", 100);
    open_shift(f, "zhao", 100);
    audit_row entries[AUDIT_MAX];
    size_t count;
    assert_int_equal(store_audit_list(f->st, "zhao", NULL, 0, entries, AUDIT_MAX, &count),
                     TOPUP_OK);
    assert_int_equal(count, 1);
    assert_string_equal(entries[0].action, "shift.open");
    assert_int_equal(store_audit_list(f->st, NULL, "h2", 0, entries, AUDIT_MAX, &count), TOPUP_OK);
    /* h2: added, zhao added, zhao's shift opened. */
    assert_int_equal(count, 3);
    assert_string_equal(entries[0].action, "shift.open");
    assert_string_equal(entries[2].action, "hall.add");
    assert_true(entries[0].id > entries[1].id && entries[1].id > entries[2].id);
    size_t older;
    assert_int_equal(store_audit_list(f->st, NULL, "h2", entries[0].id, entries, AUDIT_MAX, &older),
                     TOPUP_OK);
    assert_int_equal(older, 2);
}

/* ---- halls and staff ---- */

static void a_teller_or_supervisor_needs_a_hall(void **state)
{
    fixture *f = *state;
    staff_row staff = staff_of("nohall", "teller", "");
    counter_refusal refusal;
    assert_int_equal(counter_staff_add(f->st, &staff, &f->cli, NOW, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    /* The table refuses it too. */
    assert_int_equal(store_staff_insert(f->st, &staff), TOPUP_E_INVALID_ARGUMENT);
    staff = staff_of("nohall", "supervisor", "h9");
    assert_int_equal(counter_staff_add(f->st, &staff, &f->cli, NOW, &refusal), TOPUP_E_NOT_FOUND);
    staff = staff_of("wang", "teller", "h1");
    assert_int_equal(counter_staff_add(f->st, &staff, &f->cli, NOW, &refusal),
                     TOPUP_E_ALREADY_EXISTS);
    assert_int_equal(store_staff_get(f->st, "nohall", &staff), TOPUP_E_NOT_FOUND);
}

static void only_an_admin_manages_halls_and_staff(void **state)
{
    fixture *f = *state;
    counter_actor teller = actor_of("wang"), admin = actor_of("root");
    hall_row hall = {.id = "h3", .name = "third", .currency = "CNY"};
    counter_refusal refusal;
    assert_int_equal(counter_hall_add(f->st, &hall, &teller, NOW, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_ROLE_REFUSED);
    assert_int_equal(store_hall_get(f->st, "h3", &hall), TOPUP_E_NOT_FOUND);
    assert_int_equal(counter_hall_add(f->st, &hall, &admin, NOW, &refusal), TOPUP_OK);
    assert_int_equal(balance(f->st, "safe:h3"), 0);
    staff_row staff = staff_of("new", "teller", "h3");
    assert_int_equal(counter_staff_add(f->st, &staff, &teller, NOW, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_ROLE_REFUSED);
    assert_int_equal(counter_staff_add(f->st, &staff, &admin, NOW, &refusal), TOPUP_OK);
    audit_row entry = newest_audit(f->st);
    assert_string_equal(entry.action, "staff.add");
    assert_string_equal(entry.staff_id, "root");
    assert_string_equal(entry.hall_id, "h3");
}

static void a_supervisor_disables_staff_of_their_own_hall_only(void **state)
{
    fixture *f = *state;
    counter_actor supervisor = actor_of("li");
    counter_refusal refusal;
    assert_int_equal(counter_staff_disable(f->st, "zhao", &supervisor, NOW, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_WRONG_HALL);
    staff_row staff;
    assert_int_equal(store_staff_get(f->st, "zhao", &staff), TOPUP_OK);
    assert_string_equal(staff.status, "active");
    assert_int_equal(counter_staff_disable(f->st, "wang", &supervisor, NOW, &refusal), TOPUP_OK);
    assert_int_equal(store_staff_get(f->st, "wang", &staff), TOPUP_OK);
    assert_string_equal(staff.status, "disabled");
    counter_actor teller = actor_of("zhao");
    assert_int_equal(counter_staff_disable(f->st, "li", &teller, NOW, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_WRONG_HALL);
}

static void halls_and_staff_are_listed_in_id_order(void **state)
{
    fixture *f = *state;
    hall_row halls[4];
    size_t count;
    assert_int_equal(store_hall_list(f->st, halls, 4, &count), TOPUP_OK);
    assert_int_equal(count, 2);
    assert_string_equal(halls[0].id, "h1");
    assert_string_equal(halls[1].name, "营业厅 h2");
    staff_row staff[8];
    assert_int_equal(store_staff_list(f->st, "h1", staff, 8, &count), TOPUP_OK);
    assert_int_equal(count, 3);
    assert_string_equal(staff[0].id, "gone");
    assert_string_equal(staff[0].status, "disabled");
    assert_string_equal(staff[1].id, "li");
    assert_string_equal(staff[2].id, "wang");
    assert_string_equal(staff[2].password_hash, FAKE_HASH);
    assert_int_equal(store_staff_list(f->st, NULL, staff, 8, &count), TOPUP_OK);
    assert_int_equal(count, 5);
    assert_string_equal(staff[2].id, "root");
    assert_string_equal(staff[2].hall_id, "");
}

static void a_login_update_keeps_the_counters(void **state)
{
    fixture *f = *state;
    staff_row staff;
    assert_int_equal(store_staff_get(f->st, "wang", &staff), TOPUP_OK);
    staff.failed_logins = 5;
    staff.locked_until = NOW + 900;
    staff.updated_at = NOW + 1;
    assert_int_equal(store_staff_update_login(f->st, &staff), TOPUP_OK);
    staff_row read;
    assert_int_equal(store_staff_get(f->st, "wang", &read), TOPUP_OK);
    assert_int_equal(read.failed_logins, 5);
    assert_int_equal(read.locked_until, NOW + 900);
    snprintf(staff.id, sizeof staff.id, "nobody");
    assert_int_equal(store_staff_update_login(f->st, &staff), TOPUP_E_NOT_FOUND);
}

/* ---- the shift report ---- */

static void the_report_sums_counter_orders_per_tender_and_operator(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 20000);
    int64_t cash_order = sell(f, &shift, "cash", "cmcc", 5000, false);
    sell(f, &shift, "card", "cmcc", 10000, false);
    sell(f, &shift, "card", "unicom", 3000, true);
    counter_shift_report report;
    assert_int_equal(counter_shift_report_get(f->st, shift.id, &report), TOPUP_OK);
    assert_int_equal(report.tender_count, 2);
    assert_string_equal(report.tenders[0].key, "card");
    assert_int_equal(report.tenders[0].order_count, 1);
    assert_int_equal(report.tenders[0].amount_minor, 10000);
    assert_int_equal(report.tenders[0].reversed_count, 1);
    assert_int_equal(report.tenders[0].reversed_minor, 3000);
    assert_string_equal(report.tenders[1].key, "cash");
    assert_int_equal(report.tenders[1].amount_minor, 5000);
    assert_int_equal(report.operator_count, 2);
    assert_string_equal(report.operators[0].key, "cmcc");
    assert_int_equal(report.operators[0].order_count, 2);
    assert_int_equal(report.operators[0].amount_minor, 15000);
    assert_string_equal(report.operators[1].key, "unicom");
    assert_int_equal(report.operators[1].order_count, 0);
    assert_int_equal(report.operators[1].reversed_minor, 3000);
    assert_int_equal(report.taken_minor, 15000);
    assert_int_equal(report.reversed_minor, 3000);
    /* Only cash reaches the drawer. */
    assert_int_equal(report.drawer_cash_minor, 25000);
    counter_order_row row;
    assert_int_equal(store_counter_order_get(f->st, cash_order, &row), TOPUP_OK);
    assert_int_equal(row.change_minor, 500);
    assert_string_equal(row.id_last4, "123X");
    assert_int_equal(row.id_hash[31], 0xab);
    assert_string_equal(row.approved_by, "");
    assert_ledger_verifies(f->st);
}

static void a_report_is_seen_by_its_owner_their_supervisor_or_an_admin(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 20000);
    counter_shift_report report;
    counter_refusal refusal;
    static const char *const allowed[] = {"wang", "li", "root"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        counter_actor actor = actor_of(allowed[i]);
        assert_int_equal(counter_shift_report_view(f->st, shift.id, &actor, NOW, &report, &refusal),
                         TOPUP_OK);
        assert_string_equal(newest_audit(f->st).action, "shift.report");
    }
    counter_actor other_hall = actor_of("zhao");
    assert_int_equal(
        counter_shift_report_view(f->st, shift.id, &other_hall, NOW, &report, &refusal),
        TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_WRONG_HALL);
    add_staff(f, "chen", "teller", "h1");
    counter_actor colleague = actor_of("chen");
    assert_int_equal(counter_shift_report_view(f->st, shift.id, &colleague, NOW, &report, &refusal),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(refusal, COUNTER_ROLE_REFUSED);
    assert_int_equal(counter_shift_report_view(f->st, 999, &f->cli, NOW, &report, &refusal),
                     TOPUP_E_NOT_FOUND);
}

static void a_counter_order_s_fields_must_go_together(void **state)
{
    fixture *f = *state;
    shift_row shift = open_shift(f, "wang", 0);
    int64_t order_id = sell(f, &shift, "card", "cmcc", 1000, false);
    counter_order_row row;
    assert_int_equal(store_counter_order_get(f->st, order_id, &row), TOPUP_OK);
    assert_int_equal(store_counter_order_insert(f->st, &row), TOPUP_E_ALREADY_EXISTS);
    row.order_id = 424242; /* no such order */
    assert_int_equal(store_counter_order_insert(f->st, &row), TOPUP_E_NOT_FOUND);
    assert_int_equal(store_counter_order_get(f->st, 424242, &row), TOPUP_E_NOT_FOUND);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(opening_moves_the_float_from_the_safe_into_the_drawer),
        TEST(closing_with_the_exact_cash_empties_the_drawer_into_the_safe),
        TEST(a_shortage_needs_a_reason_and_becomes_a_cash_short_transfer),
        TEST(an_overage_becomes_a_cash_over_transfer),
        TEST(an_empty_drawer_opens_and_closes_without_transfers),
        TEST(a_teller_has_at_most_one_open_shift),
        TEST(closing_without_an_open_shift_is_refused),
        TEST(a_teller_cannot_open_a_shift_at_another_hall),
        TEST(disabled_unknown_and_admin_staff_cannot_open_a_shift),
        TEST(a_supervisor_may_open_a_shift_at_their_hall),
        TEST(a_disabled_teller_s_open_shift_can_still_be_closed),
        TEST(audit_entries_cannot_be_updated_or_deleted),
        TEST(the_audit_log_lists_newest_first_by_staff_and_hall),
        TEST(a_teller_or_supervisor_needs_a_hall),
        TEST(only_an_admin_manages_halls_and_staff),
        TEST(a_supervisor_disables_staff_of_their_own_hall_only),
        TEST(halls_and_staff_are_listed_in_id_order),
        TEST(a_login_update_keeps_the_counters),
        TEST(the_report_sums_counter_orders_per_tender_and_operator),
        TEST(a_report_is_seen_by_its_owner_their_supervisor_or_an_admin),
        TEST(a_counter_order_s_fields_must_go_together),
    };
#undef TEST
    return cmocka_run_group_tests(tests, NULL, NULL);
}
