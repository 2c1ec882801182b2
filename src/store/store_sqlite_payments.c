/* The SQLite backend of store.h's payment tables: payments, refunds, raw notifications and
 * alerts. Statements are cached in the connection's extra slots (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

typedef enum slot {
    P_INSERT,
    P_UPDATE,
    P_GET,
    P_BY_ORDER,
    P_BY_OUT_TRADE_NO,
    P_BY_TRADE_NO,
    P_DUE,
    P_PAID_BETWEEN,
    R_SUCCEEDED_BETWEEN,
    R_INSERT,
    R_UPDATE,
    R_BY_PAYMENT,
    R_GET,
    R_DUE,
    N_INSERT,
    N_LIST,
    A_INSERT,
    A_LIST,
    SLOT_COUNT
} slot;

/* Slots from 32 belong to store_sqlite_outbox.c. */
_Static_assert(SLOT_COUNT <= 32, "the payment statements overlap the outbox slots");

#define PAYMENT_COLUMNS                                                                            \
    "p.id, p.order_id, p.provider, p.method, p.out_trade_no, p.trade_no, p.provider_ref,"          \
    " p.amount_minor, p.currency, p.status, p.pay_url, p.paid_minor, p.expires_at, p.paid_at,"     \
    " p.next_check_at, p.check_count, p.created_at, p.updated_at, p.validity_days, p.sms_lang"
#define REFUND_COLUMNS                                                                             \
    "r.id, r.payment_id, r.out_request_no, r.amount_minor, r.currency, r.reason, r.status,"        \
    " r.refund_id, r.attempt_count, r.next_attempt_at, r.created_at, r.updated_at"
#define SELECT_PAYMENT "SELECT " PAYMENT_COLUMNS " FROM payments p "

static const char *const sql[SLOT_COUNT] = {
    [P_INSERT] =
        "INSERT INTO payments(order_id, provider, method, out_trade_no, trade_no,"
        " provider_ref, amount_minor, currency, status, pay_url, paid_minor, expires_at,"
        " paid_at, next_check_at, check_count, created_at, updated_at, validity_days, sms_lang)"
        " VALUES (?1, ?2, ?3, ?4, nullif(?5, ''), ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
        " nullif(?13, 0), nullif(?14, 0), ?15, ?16, ?17, ?18, ?19)",
    [P_UPDATE] = "UPDATE payments SET trade_no = nullif(?2, ''), provider_ref = ?3, status = ?4,"
                 " pay_url = ?5, paid_minor = ?6, paid_at = nullif(?7, 0),"
                 " next_check_at = nullif(?8, 0), check_count = ?9, updated_at = ?10"
                 " WHERE id = ?1",
    [P_GET] = SELECT_PAYMENT "WHERE p.id = ?1",
    [P_BY_ORDER] = SELECT_PAYMENT "WHERE p.order_id = ?1",
    [P_BY_OUT_TRADE_NO] = SELECT_PAYMENT "WHERE p.out_trade_no = ?1",
    [P_BY_TRADE_NO] = SELECT_PAYMENT "WHERE p.provider = ?1 AND p.trade_no = ?2",
    [P_DUE] = SELECT_PAYMENT "WHERE p.next_check_at <= ?1 ORDER BY p.next_check_at LIMIT ?2",
    [P_PAID_BETWEEN] = SELECT_PAYMENT
    "WHERE p.provider = ?1 AND p.paid_at >= ?2 AND p.paid_at < ?3 ORDER BY p.paid_at, p.id",
    [R_SUCCEEDED_BETWEEN] = "SELECT " REFUND_COLUMNS ", " PAYMENT_COLUMNS
                            " FROM refunds r JOIN payments p ON p.id = r.payment_id"
                            " WHERE p.provider = ?1 AND r.status = 'succeeded'"
                            " AND r.updated_at >= ?2 AND r.updated_at < ?3"
                            " ORDER BY r.updated_at, r.id",
    [R_INSERT] = "INSERT INTO refunds(payment_id, out_request_no, amount_minor, currency, reason,"
                 " status, refund_id, attempt_count, next_attempt_at, created_at, updated_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0), ?10, ?11)",
    [R_UPDATE] = "UPDATE refunds SET status = ?2, refund_id = ?3, attempt_count = ?4,"
                 " next_attempt_at = nullif(?5, 0), updated_at = ?6 WHERE id = ?1",
    [R_BY_PAYMENT] = "SELECT " REFUND_COLUMNS " FROM refunds r WHERE r.payment_id = ?1",
    [R_GET] = "SELECT " REFUND_COLUMNS " FROM refunds r WHERE r.id = ?1",
    [R_DUE] = "SELECT " REFUND_COLUMNS " FROM refunds r WHERE r.next_attempt_at <= ?1"
              " ORDER BY r.next_attempt_at LIMIT ?2",
    [N_INSERT] = "INSERT INTO payment_notifications(provider, received_at, headers, body, genuine,"
                 " verdict, detail, out_trade_no, trade_no, payment_id)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, nullif(?10, 0))",
    [N_LIST] = "SELECT id, provider, received_at, genuine, verdict, detail, out_trade_no,"
               " trade_no, payment_id FROM payment_notifications"
               " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    [A_INSERT] = "INSERT INTO alerts(kind, order_id, detail, created_at)"
                 " VALUES (?1, nullif(?2, 0), ?3, ?4)",
    [A_LIST] = "SELECT id, kind, order_id, detail, created_at FROM alerts"
               " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
};

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql[(id)])

static int64_t cursor(int64_t before_id)
{
    return before_id > 0 ? before_id : INT64_MAX;
}

static bool status_valid(const char *status, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(status, *allowed) == 0)
            return true;
    return false;
}

static const char *const payment_statuses[] = {"creating", "pending", "unknown", "paid",
                                               "closed",   "failed",  NULL};
static const char *const refund_statuses[] = {"pending", "unknown", "succeeded", "failed", NULL};

/* ---- payments ---- */

static void payment_from_row(sqlite3_stmt *s, int first, payment_row *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, first + 0);
    p->order_id = sqlite3_column_int64(s, first + 1);
    store_sqlite_column_copy(s, first + 2, p->provider, sizeof p->provider);
    store_sqlite_column_copy(s, first + 3, p->method, sizeof p->method);
    store_sqlite_column_copy(s, first + 4, p->out_trade_no, sizeof p->out_trade_no);
    store_sqlite_column_copy(s, first + 5, p->trade_no, sizeof p->trade_no);
    store_sqlite_column_copy(s, first + 6, p->provider_ref, sizeof p->provider_ref);
    p->amount_minor = sqlite3_column_int64(s, first + 7);
    store_sqlite_column_copy(s, first + 8, p->currency, sizeof p->currency);
    store_sqlite_column_copy(s, first + 9, p->status, sizeof p->status);
    store_sqlite_column_copy(s, first + 10, p->pay_url, sizeof p->pay_url);
    p->paid_minor = sqlite3_column_int64(s, first + 11);
    p->expires_at = sqlite3_column_int64(s, first + 12);
    p->paid_at = sqlite3_column_int64(s, first + 13);
    p->next_check_at = sqlite3_column_int64(s, first + 14);
    p->check_count = sqlite3_column_int(s, first + 15);
    p->created_at = sqlite3_column_int64(s, first + 16);
    p->updated_at = sqlite3_column_int64(s, first + 17);
    p->validity_days = sqlite3_column_int(s, first + 18);
    store_sqlite_column_copy(s, first + 19, p->sms_lang, sizeof p->sms_lang);
}

static bool payment_valid(const payment_row *p)
{
    return p->order_id > 0 && store_sqlite_text_fits(p->provider, sizeof p->provider) &&
           store_sqlite_text_fits(p->method, sizeof p->method) &&
           store_sqlite_text_fits(p->out_trade_no, sizeof p->out_trade_no) &&
           strnlen(p->trade_no, sizeof p->trade_no) < sizeof p->trade_no &&
           strnlen(p->provider_ref, sizeof p->provider_ref) < sizeof p->provider_ref &&
           strnlen(p->pay_url, sizeof p->pay_url) < sizeof p->pay_url && p->amount_minor > 0 &&
           p->validity_days >= 0 && p->paid_minor >= 0 &&
           store_sqlite_currency_valid(p->currency) && status_valid(p->status, payment_statuses);
}

topup_result store_payment_insert(store *st, payment_row *p)
{
    if (!payment_valid(p))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the payment has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, P_INSERT);
    sqlite3_bind_int64(s, 1, p->order_id);
    store_sqlite_bind_text(s, 2, p->provider);
    store_sqlite_bind_text(s, 3, p->method);
    store_sqlite_bind_text(s, 4, p->out_trade_no);
    store_sqlite_bind_text(s, 5, p->trade_no);
    store_sqlite_bind_text(s, 6, p->provider_ref);
    sqlite3_bind_int64(s, 7, p->amount_minor);
    store_sqlite_bind_text(s, 8, p->currency);
    store_sqlite_bind_text(s, 9, p->status);
    store_sqlite_bind_text(s, 10, p->pay_url);
    sqlite3_bind_int64(s, 11, p->paid_minor);
    sqlite3_bind_int64(s, 12, p->expires_at);
    sqlite3_bind_int64(s, 13, p->paid_at);
    sqlite3_bind_int64(s, 14, p->next_check_at);
    sqlite3_bind_int(s, 15, p->check_count);
    sqlite3_bind_int64(s, 16, p->created_at);
    sqlite3_bind_int64(s, 17, p->updated_at);
    sqlite3_bind_int(s, 18, p->validity_days);
    store_sqlite_bind_text(s, 19, p->sms_lang);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        p->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

topup_result store_payment_update(store *st, const payment_row *p)
{
    if (!payment_valid(p))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the payment has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, P_UPDATE);
    sqlite3_bind_int64(s, 1, p->id);
    store_sqlite_bind_text(s, 2, p->trade_no);
    store_sqlite_bind_text(s, 3, p->provider_ref);
    store_sqlite_bind_text(s, 4, p->status);
    store_sqlite_bind_text(s, 5, p->pay_url);
    sqlite3_bind_int64(s, 6, p->paid_minor);
    sqlite3_bind_int64(s, 7, p->paid_at);
    sqlite3_bind_int64(s, 8, p->next_check_at);
    sqlite3_bind_int(s, 9, p->check_count);
    sqlite3_bind_int64(s, 10, p->updated_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no payment %lld", (long long)p->id);
    return r;
}

static void read_payment(sqlite3_stmt *s, void *out)
{
    payment_from_row(s, 0, out);
}

/* Runs a bound single-payment lookup. */
static topup_result payment_one(store *st, sqlite3_stmt *s, payment_row *p)
{
    return store_sqlite_one(st, s, read_payment, p);
}

topup_result store_payment_get(store *st, int64_t id, payment_row *p)
{
    STATEMENT_OR_RETURN(s, st, P_GET);
    sqlite3_bind_int64(s, 1, id);
    return payment_one(st, s, p);
}

topup_result store_payment_by_order(store *st, int64_t order_id, payment_row *p)
{
    STATEMENT_OR_RETURN(s, st, P_BY_ORDER);
    sqlite3_bind_int64(s, 1, order_id);
    return payment_one(st, s, p);
}

topup_result store_payment_by_out_trade_no(store *st, const char *out_trade_no, payment_row *p)
{
    STATEMENT_OR_RETURN(s, st, P_BY_OUT_TRADE_NO);
    store_sqlite_bind_text(s, 1, out_trade_no);
    return payment_one(st, s, p);
}

topup_result store_payment_by_trade_no(store *st, const char *provider, const char *trade_no,
                                       payment_row *p)
{
    STATEMENT_OR_RETURN(s, st, P_BY_TRADE_NO);
    store_sqlite_bind_text(s, 1, provider);
    store_sqlite_bind_text(s, 2, trade_no);
    return payment_one(st, s, p);
}

topup_result store_payments_due(store *st, int64_t now, payment_row *payments, size_t count_max,
                                size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, P_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_payment, payments, sizeof *payments, count_max, count);
}

topup_result store_payments_paid_between(store *st, const char *provider, int64_t from, int64_t to,
                                         store_payment_fn each, void *context)
{
    STATEMENT_OR_RETURN(s, st, P_PAID_BETWEEN);
    store_sqlite_bind_text(s, 1, provider);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    int rc = SQLITE_DONE;
    topup_result r = TOPUP_OK;
    payment_row p;
    while (r == TOPUP_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        payment_from_row(s, 0, &p);
        r = each(context, &p);
    }
    if (r == TOPUP_OK && rc != SQLITE_DONE)
        r = store_sqlite_fail(st, rc);
    store_sqlite_finish(s);
    return r;
}

/* ---- refunds ---- */

#define REFUND_COLUMN_COUNT 12 /* REFUND_COLUMNS; the payment's columns follow in joins */

static void refund_from_row(sqlite3_stmt *s, refund_row *f)
{
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(s, 0);
    f->payment_id = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, f->out_request_no, sizeof f->out_request_no);
    f->amount_minor = sqlite3_column_int64(s, 3);
    store_sqlite_column_copy(s, 4, f->currency, sizeof f->currency);
    store_sqlite_column_copy(s, 5, f->reason, sizeof f->reason);
    store_sqlite_column_copy(s, 6, f->status, sizeof f->status);
    store_sqlite_column_copy(s, 7, f->refund_id, sizeof f->refund_id);
    f->attempt_count = sqlite3_column_int(s, 8);
    f->next_attempt_at = sqlite3_column_int64(s, 9);
    f->created_at = sqlite3_column_int64(s, 10);
    f->updated_at = sqlite3_column_int64(s, 11);
}

topup_result store_refunds_succeeded_between(store *st, const char *provider, int64_t from,
                                             int64_t to, store_refund_fn each, void *context)
{
    STATEMENT_OR_RETURN(s, st, R_SUCCEEDED_BETWEEN);
    store_sqlite_bind_text(s, 1, provider);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    int rc = SQLITE_DONE;
    topup_result r = TOPUP_OK;
    refund_row f;
    payment_row p;
    while (r == TOPUP_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        refund_from_row(s, &f);
        payment_from_row(s, REFUND_COLUMN_COUNT, &p);
        r = each(context, &f, &p);
    }
    if (r == TOPUP_OK && rc != SQLITE_DONE)
        r = store_sqlite_fail(st, rc);
    store_sqlite_finish(s);
    return r;
}

static bool refund_valid(const refund_row *f)
{
    return f->payment_id > 0 &&
           store_sqlite_text_fits(f->out_request_no, sizeof f->out_request_no) &&
           f->amount_minor > 0 && store_sqlite_currency_valid(f->currency) &&
           strnlen(f->reason, sizeof f->reason) < sizeof f->reason &&
           strnlen(f->refund_id, sizeof f->refund_id) < sizeof f->refund_id &&
           status_valid(f->status, refund_statuses);
}

topup_result store_refund_insert(store *st, refund_row *f)
{
    if (!refund_valid(f))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the refund has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, R_INSERT);
    sqlite3_bind_int64(s, 1, f->payment_id);
    store_sqlite_bind_text(s, 2, f->out_request_no);
    sqlite3_bind_int64(s, 3, f->amount_minor);
    store_sqlite_bind_text(s, 4, f->currency);
    store_sqlite_bind_text(s, 5, f->reason);
    store_sqlite_bind_text(s, 6, f->status);
    store_sqlite_bind_text(s, 7, f->refund_id);
    sqlite3_bind_int(s, 8, f->attempt_count);
    sqlite3_bind_int64(s, 9, f->next_attempt_at);
    sqlite3_bind_int64(s, 10, f->created_at);
    sqlite3_bind_int64(s, 11, f->updated_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        f->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

topup_result store_refund_update(store *st, const refund_row *f)
{
    if (!refund_valid(f))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the refund has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, R_UPDATE);
    sqlite3_bind_int64(s, 1, f->id);
    store_sqlite_bind_text(s, 2, f->status);
    store_sqlite_bind_text(s, 3, f->refund_id);
    sqlite3_bind_int(s, 4, f->attempt_count);
    sqlite3_bind_int64(s, 5, f->next_attempt_at);
    sqlite3_bind_int64(s, 6, f->updated_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no refund %lld", (long long)f->id);
    return r;
}

static void read_refund(sqlite3_stmt *s, void *out)
{
    refund_from_row(s, out);
}

/* Runs a bound single-refund lookup. */
static topup_result refund_one(store *st, sqlite3_stmt *s, refund_row *f)
{
    return store_sqlite_one(st, s, read_refund, f);
}

topup_result store_refund_get(store *st, int64_t id, refund_row *f)
{
    STATEMENT_OR_RETURN(s, st, R_GET);
    sqlite3_bind_int64(s, 1, id);
    return refund_one(st, s, f);
}

topup_result store_refund_by_payment(store *st, int64_t payment_id, refund_row *f)
{
    STATEMENT_OR_RETURN(s, st, R_BY_PAYMENT);
    sqlite3_bind_int64(s, 1, payment_id);
    return refund_one(st, s, f);
}

topup_result store_refunds_due(store *st, int64_t now, refund_row *refunds, size_t count_max,
                               size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, R_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_refund, refunds, sizeof *refunds, count_max, count);
}

/* ---- notifications and alerts ---- */

topup_result store_notification_insert(store *st, notification_row *n)
{
    STATEMENT_OR_RETURN(s, st, N_INSERT);
    store_sqlite_bind_text(s, 1, n->provider);
    sqlite3_bind_int64(s, 2, n->received_at);
    store_sqlite_bind_text(s, 3, n->headers ? n->headers : "");
    /* The body is kept as the bytes received: a forged one may not even be text. */
    sqlite3_bind_blob(s, 4, n->body ? n->body : "", (int)(n->body ? n->body_size : 0),
                      SQLITE_STATIC);
    sqlite3_bind_int(s, 5, n->genuine);
    store_sqlite_bind_text(s, 6, n->verdict);
    store_sqlite_bind_text(s, 7, n->detail);
    store_sqlite_bind_text(s, 8, n->out_trade_no);
    store_sqlite_bind_text(s, 9, n->trade_no);
    sqlite3_bind_int64(s, 10, n->payment_id);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        n->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

static void read_notification(sqlite3_stmt *s, void *out)
{
    notification_row *n = out;
    memset(n, 0, sizeof *n);
    n->id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, n->provider, sizeof n->provider);
    n->received_at = sqlite3_column_int64(s, 2);
    n->genuine = sqlite3_column_int(s, 3) != 0;
    store_sqlite_column_copy(s, 4, n->verdict, sizeof n->verdict);
    store_sqlite_column_copy(s, 5, n->detail, sizeof n->detail);
    store_sqlite_column_copy(s, 6, n->out_trade_no, sizeof n->out_trade_no);
    store_sqlite_column_copy(s, 7, n->trade_no, sizeof n->trade_no);
    n->payment_id = sqlite3_column_int64(s, 8);
}

topup_result store_notifications_list(store *st, int64_t before_id, notification_row *rows,
                                      size_t count_max, size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, N_LIST);
    sqlite3_bind_int64(s, 1, cursor(before_id));
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_notification, rows, sizeof *rows, count_max, count);
}

topup_result store_alert_insert(store *st, alert_row *a)
{
    STATEMENT_OR_RETURN(s, st, A_INSERT);
    store_sqlite_bind_text(s, 1, a->kind);
    sqlite3_bind_int64(s, 2, a->order_id);
    store_sqlite_bind_text(s, 3, a->detail);
    sqlite3_bind_int64(s, 4, a->created_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        a->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

static void read_alert(sqlite3_stmt *s, void *out)
{
    alert_row *a = out;
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, a->kind, sizeof a->kind);
    a->order_id = sqlite3_column_int64(s, 2);
    store_sqlite_column_copy(s, 3, a->detail, sizeof a->detail);
    a->created_at = sqlite3_column_int64(s, 4);
}

topup_result store_alerts_list(store *st, int64_t before_id, alert_row *alerts, size_t count_max,
                               size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, A_LIST);
    sqlite3_bind_int64(s, 1, cursor(before_id));
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_alert, alerts, sizeof *alerts, count_max, count);
}
