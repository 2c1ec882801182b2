/* The SQLite backend of store.h's partner orders, nonces, float statements and operator
 * connectors. Statements live in the connection's extra slots 56..79 (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

typedef enum slot {
    P_NONCE_USE = 56,
    P_NONCE_PURGE,
    P_ORDER_INSERT,
    P_ORDER_FIND,
    P_ORDER_BY_ORDER,
    P_FLOAT_OPENING,
    P_FLOAT_MOVEMENTS,
    P_ENDPOINT_SET,
    P_ENDPOINT_GET,
    P_JOB_INSERT,
    P_JOB_UPDATE,
    P_JOB_GET,
    P_JOBS_DUE,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= 80, "slots 80.. belong to store_sqlite_callbacks.c");

#define SELECT_PARTNER_ORDER                                                                       \
    "SELECT order_id, merchant_id, merchant_order_id, request_hash, callback_url"                  \
    " FROM partner_orders "

#define SELECT_JOB                                                                                 \
    "SELECT order_id, operator_id, status, operator_order_id, attempt_count, next_attempt_at,"     \
    " last_error, created_at, updated_at FROM connector_jobs "

static const char *sql_of(slot id)
{
    switch (id) {
    case P_NONCE_USE:
        return "INSERT INTO partner_nonces(merchant_id, nonce, seen_at) VALUES (?1, ?2, ?3)";
    case P_NONCE_PURGE:
        return "DELETE FROM partner_nonces WHERE seen_at < ?1";
    case P_ORDER_INSERT:
        return "INSERT INTO partner_orders(order_id, merchant_id, merchant_order_id,"
               " request_hash, callback_url) VALUES (?1, ?2, ?3, ?4, ?5)";
    case P_ORDER_FIND:
        return SELECT_PARTNER_ORDER "WHERE merchant_id = ?1 AND merchant_order_id = ?2";
    case P_ORDER_BY_ORDER:
        return SELECT_PARTNER_ORDER "WHERE order_id = ?1";
    case P_FLOAT_OPENING:
        /* Two index range scans (transfers_credit, transfers_debit), as store_verify does. */
        return "SELECT coalesce((SELECT sum(amount_minor) FROM transfers"
               "  WHERE credit_account_id = ?1 AND created_at < ?2), 0)"
               " - coalesce((SELECT sum(amount_minor) FROM transfers"
               "  WHERE debit_account_id = ?1 AND created_at < ?2), 0)";
    case P_FLOAT_MOVEMENTS:
        return "SELECT t.id, t.created_at, t.kind,"
               "  CASE WHEN t.credit_account_id = ?1 THEN t.amount_minor ELSE -t.amount_minor END,"
               "  coalesce(t.order_id, 0), coalesce(p.merchant_order_id, ''),"
               "  coalesce(o.msisdn, ''), coalesce(o.face_minor, 0), coalesce(o.price_minor, 0),"
               "  coalesce(o.status, 'none')"
               " FROM transfers t"
               " LEFT JOIN orders o ON o.id = t.order_id"
               " LEFT JOIN partner_orders p ON p.order_id = t.order_id"
               " WHERE (t.credit_account_id = ?1 OR t.debit_account_id = ?1)"
               "  AND t.created_at >= ?2 AND t.created_at < ?3"
               " ORDER BY t.id";
    case P_ENDPOINT_SET:
        return "INSERT OR REPLACE INTO operator_endpoints(operator_id, url, secret, timeout_ms)"
               " VALUES (?1, ?2, ?3, ?4)";
    case P_ENDPOINT_GET:
        return "SELECT operator_id, url, secret, timeout_ms FROM operator_endpoints"
               " WHERE operator_id = ?1";
    case P_JOB_INSERT:
        return "INSERT INTO connector_jobs(order_id, operator_id, status, operator_order_id,"
               " attempt_count, next_attempt_at, last_error, created_at, updated_at)"
               " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, 0), ?7, ?8, ?9)";
    case P_JOB_UPDATE:
        return "UPDATE connector_jobs SET status = ?2, operator_order_id = ?3,"
               " attempt_count = ?4, next_attempt_at = nullif(?5, 0), last_error = ?6,"
               " updated_at = ?7 WHERE order_id = ?1";
    case P_JOB_GET:
        return SELECT_JOB "WHERE order_id = ?1";
    case P_JOBS_DUE:
        return SELECT_JOB "WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, order_id"
                          " LIMIT ?2";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

/* ---- nonces ---- */

topup_result store_partner_nonce_use(store *st, const char *merchant_id, const char *nonce,
                                     int64_t at)
{
    STATEMENT_OR_RETURN(s, st, P_NONCE_USE);
    store_sqlite_bind_text(s, 1, merchant_id);
    store_sqlite_bind_text(s, 2, nonce);
    sqlite3_bind_int64(s, 3, at);
    return store_sqlite_step_done(st, s);
}

topup_result store_partner_nonces_purge(store *st, int64_t before, int64_t *deleted_count)
{
    STATEMENT_OR_RETURN(s, st, P_NONCE_PURGE);
    sqlite3_bind_int64(s, 1, before);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && deleted_count)
        *deleted_count = sqlite3_changes64(st->db);
    return r;
}

/* ---- partner orders ---- */

static void read_partner_order(sqlite3_stmt *s, void *out)
{
    partner_order_row *row = out;
    memset(row, 0, sizeof *row);
    row->order_id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, row->merchant_id, sizeof row->merchant_id);
    store_sqlite_column_copy(s, 2, row->merchant_order_id, sizeof row->merchant_order_id);
    if (sqlite3_column_bytes(s, 3) == REQUEST_HASH_SIZE)
        memcpy(row->request_hash, sqlite3_column_blob(s, 3), REQUEST_HASH_SIZE);
    store_sqlite_column_copy(s, 4, row->callback_url, sizeof row->callback_url);
}

topup_result store_partner_order_insert(store *st, const partner_order_row *row)
{
    if (row->order_id <= 0 || !row->merchant_id[0] || !row->merchant_order_id[0] ||
        !store_sqlite_text_fits(row->merchant_order_id, sizeof row->merchant_order_id) ||
        strnlen(row->callback_url, sizeof row->callback_url) == sizeof row->callback_url)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a partner order needs its order, merchant and order id");
    STATEMENT_OR_RETURN(s, st, P_ORDER_INSERT);
    sqlite3_bind_int64(s, 1, row->order_id);
    store_sqlite_bind_text(s, 2, row->merchant_id);
    store_sqlite_bind_text(s, 3, row->merchant_order_id);
    sqlite3_bind_blob(s, 4, row->request_hash, REQUEST_HASH_SIZE, SQLITE_STATIC);
    store_sqlite_bind_text(s, 5, row->callback_url);
    return store_sqlite_step_done(st, s);
}

topup_result store_partner_order_find(store *st, const char *merchant_id,
                                      const char *merchant_order_id, partner_order_row *row)
{
    STATEMENT_OR_RETURN(s, st, P_ORDER_FIND);
    store_sqlite_bind_text(s, 1, merchant_id);
    store_sqlite_bind_text(s, 2, merchant_order_id);
    return store_sqlite_one(st, s, read_partner_order, row);
}

topup_result store_partner_order_by_order(store *st, int64_t order_id, partner_order_row *row)
{
    STATEMENT_OR_RETURN(s, st, P_ORDER_BY_ORDER);
    sqlite3_bind_int64(s, 1, order_id);
    return store_sqlite_one(st, s, read_partner_order, row);
}

/* ---- float statements ---- */

static void read_int64(sqlite3_stmt *s, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
}

static void read_movement(sqlite3_stmt *s, float_movement_row *row)
{
    memset(row, 0, sizeof *row);
    row->transfer_id = sqlite3_column_int64(s, 0);
    row->created_at = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, row->kind, sizeof row->kind);
    row->amount_minor = sqlite3_column_int64(s, 3);
    row->order_id = sqlite3_column_int64(s, 4);
    store_sqlite_column_copy(s, 5, row->merchant_order_id, sizeof row->merchant_order_id);
    store_sqlite_column_copy(s, 6, row->msisdn, sizeof row->msisdn);
    row->face_minor = sqlite3_column_int64(s, 7);
    row->price_minor = sqlite3_column_int64(s, 8);
    if (!order_status_parse((const char *)sqlite3_column_text(s, 9), &row->status))
        row->status = ORDER_NONE;
}

topup_result store_float_movements(store *st, int64_t account_id, int64_t from, int64_t to,
                                   int64_t *opening_minor, store_float_movement_fn each,
                                   void *context)
{
    {
        STATEMENT_OR_RETURN(s, st, P_FLOAT_OPENING);
        sqlite3_bind_int64(s, 1, account_id);
        sqlite3_bind_int64(s, 2, from);
        topup_result r = store_sqlite_one(st, s, read_int64, opening_minor);
        if (r != TOPUP_OK)
            return r;
    }
    STATEMENT_OR_RETURN(s, st, P_FLOAT_MOVEMENTS);
    sqlite3_bind_int64(s, 1, account_id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    topup_result r = TOPUP_OK;
    int rc;
    while (r == TOPUP_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        float_movement_row row;
        read_movement(s, &row);
        r = each(context, &row);
    }
    if (r == TOPUP_OK && rc != SQLITE_DONE)
        r = store_sqlite_fail(st, rc);
    store_sqlite_finish(s);
    return r;
}

/* ---- operator endpoints ---- */

static void read_endpoint(sqlite3_stmt *s, void *out)
{
    operator_endpoint_row *e = out;
    memset(e, 0, sizeof *e);
    store_sqlite_column_copy(s, 0, e->operator_id, sizeof e->operator_id);
    store_sqlite_column_copy(s, 1, e->url, sizeof e->url);
    store_sqlite_column_copy(s, 2, e->secret, sizeof e->secret);
    e->timeout_ms = sqlite3_column_int(s, 3);
}

topup_result store_operator_endpoint_set(store *st, const operator_endpoint_row *e)
{
    if (!e->url[0] || !e->secret[0] || !store_sqlite_text_fits(e->url, sizeof e->url) ||
        !store_sqlite_text_fits(e->secret, sizeof e->secret))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "an operator endpoint needs a URL and a secret");
    STATEMENT_OR_RETURN(s, st, P_ENDPOINT_SET);
    store_sqlite_bind_text(s, 1, e->operator_id);
    store_sqlite_bind_text(s, 2, e->url);
    store_sqlite_bind_text(s, 3, e->secret);
    sqlite3_bind_int(s, 4, e->timeout_ms);
    return store_sqlite_step_done(st, s);
}

topup_result store_operator_endpoint_get(store *st, const char *operator_id,
                                         operator_endpoint_row *endpoint)
{
    STATEMENT_OR_RETURN(s, st, P_ENDPOINT_GET);
    store_sqlite_bind_text(s, 1, operator_id);
    return store_sqlite_one(st, s, read_endpoint, endpoint);
}

/* ---- connector jobs ---- */

static void read_job(sqlite3_stmt *s, void *out)
{
    connector_job_row *job = out;
    memset(job, 0, sizeof *job);
    job->order_id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, job->operator_id, sizeof job->operator_id);
    store_sqlite_column_copy(s, 2, job->status, sizeof job->status);
    store_sqlite_column_copy(s, 3, job->operator_order_id, sizeof job->operator_order_id);
    job->attempt_count = sqlite3_column_int(s, 4);
    job->next_attempt_at = sqlite3_column_int64(s, 5);
    store_sqlite_column_copy(s, 6, job->last_error, sizeof job->last_error);
    job->created_at = sqlite3_column_int64(s, 7);
    job->updated_at = sqlite3_column_int64(s, 8);
}

static void bind_job(sqlite3_stmt *s, const connector_job_row *job)
{
    store_sqlite_bind_text(s, 3, job->status);
    store_sqlite_bind_text(s, 4, job->operator_order_id);
    sqlite3_bind_int(s, 5, job->attempt_count);
    sqlite3_bind_int64(s, 6, job->next_attempt_at);
    store_sqlite_bind_text(s, 7, job->last_error);
}

topup_result store_connector_job_insert(store *st, const connector_job_row *job)
{
    STATEMENT_OR_RETURN(s, st, P_JOB_INSERT);
    sqlite3_bind_int64(s, 1, job->order_id);
    store_sqlite_bind_text(s, 2, job->operator_id);
    bind_job(s, job);
    sqlite3_bind_int64(s, 8, job->created_at);
    sqlite3_bind_int64(s, 9, job->updated_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_connector_job_update(store *st, const connector_job_row *job)
{
    STATEMENT_OR_RETURN(s, st, P_JOB_UPDATE);
    sqlite3_bind_int64(s, 1, job->order_id);
    store_sqlite_bind_text(s, 2, job->status);
    store_sqlite_bind_text(s, 3, job->operator_order_id);
    sqlite3_bind_int(s, 4, job->attempt_count);
    sqlite3_bind_int64(s, 5, job->next_attempt_at);
    store_sqlite_bind_text(s, 6, job->last_error);
    sqlite3_bind_int64(s, 7, job->updated_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no connector job for order %lld",
                                   (long long)job->order_id);
    return r;
}

topup_result store_connector_job_get(store *st, int64_t order_id, connector_job_row *job)
{
    STATEMENT_OR_RETURN(s, st, P_JOB_GET);
    sqlite3_bind_int64(s, 1, order_id);
    return store_sqlite_one(st, s, read_job, job);
}

topup_result store_connector_jobs_due(store *st, int64_t now, connector_job_row *jobs,
                                      size_t count_max, size_t *count)
{
    STATEMENT_OR_RETURN(s, st, P_JOBS_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_job, jobs, sizeof *jobs, count_max, count);
}
