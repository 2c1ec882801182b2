/* The SQLite backend of store.h's SMS outbox. Statements live in the connection's extra slots
 * after the payment tables' (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Slots 32..41 belong to this file; store_sqlite_payments.c uses the ones below and
 * store_sqlite_otp.c the ones above. */
typedef enum slot {
    O_INSERT = 32,
    O_UPDATE,
    O_GET,
    O_BY_SMSC,
    O_DUE,
    O_LIST,
    O_LIST_STATUS,
    O_COUNT,
    O_LOW_BALANCE,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= 42, "the outbox statements overlap the SMS code slots");

#define OUTBOX_COLUMNS                                                                             \
    "id, event, msisdn, lang, facts, order_id, status, attempt_count, next_attempt_at, smsc_id,"   \
    " last_error, receipt_stat, receipt_at, created_at, updated_at"
#define SELECT_OUTBOX "SELECT " OUTBOX_COLUMNS " FROM sms_outbox "

static const char *sql_of(slot id)
{
    switch (id) {
    case O_INSERT:
        return "INSERT INTO sms_outbox(event, msisdn, lang, facts, order_id, status,"
               " attempt_count, next_attempt_at, created_at, updated_at)"
               " VALUES (?1, ?2, ?3, ?4, nullif(?5, 0), 'queued', 0, ?6, ?6, ?6)";
    case O_UPDATE:
        return "UPDATE sms_outbox SET status = ?2, attempt_count = ?3,"
               " next_attempt_at = nullif(?4, 0), smsc_id = nullif(?5, ''), last_error = ?6,"
               " receipt_stat = ?7, receipt_at = nullif(?8, 0), updated_at = ?9, facts = ?10"
               " WHERE id = ?1";
    case O_GET:
        return SELECT_OUTBOX "WHERE id = ?1";
    case O_BY_SMSC:
        /* Only a message still waiting for its receipt: an SMSC may hand out an id again (after
         * a restart), and the old message that had it must not take the new one's receipt. */
        return SELECT_OUTBOX "WHERE smsc_id = ?1 AND status = 'sent' ORDER BY id DESC LIMIT 1";
    case O_DUE:
        return SELECT_OUTBOX "WHERE next_attempt_at <= ?1 AND status = 'queued'"
                             " ORDER BY next_attempt_at, id LIMIT ?2";
    case O_LIST:
        return SELECT_OUTBOX "WHERE id < ?1 ORDER BY id DESC LIMIT ?2";
    case O_LIST_STATUS:
        return SELECT_OUTBOX "WHERE id < ?1 AND status = ?3 ORDER BY id DESC LIMIT ?2";
    case O_COUNT:
        return "SELECT count(*) FROM sms_outbox WHERE status = ?1";
    case O_LOW_BALANCE:
        return "SELECT s.msisdn, a.balance_minor, a.currency FROM subscribers s"
               " JOIN accounts a ON a.id = s.account_id"
               " WHERE s.status = 'active' AND a.balance_minor < ?1"
               " AND NOT EXISTS (SELECT 1 FROM sms_outbox o WHERE o.msisdn = s.msisdn"
               "  AND o.event = 'low_balance' AND o.created_at >= ?2)"
               " ORDER BY s.msisdn LIMIT ?3";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

static void outbox_from_row(sqlite3_stmt *s, void *out)
{
    outbox_row *m = out;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, m->event, sizeof m->event);
    store_sqlite_column_copy(s, 2, m->msisdn, sizeof m->msisdn);
    store_sqlite_column_copy(s, 3, m->lang, sizeof m->lang);
    store_sqlite_column_copy(s, 4, m->facts, sizeof m->facts);
    m->order_id = sqlite3_column_int64(s, 5);
    store_sqlite_column_copy(s, 6, m->status, sizeof m->status);
    m->attempt_count = sqlite3_column_int(s, 7);
    m->next_attempt_at = sqlite3_column_int64(s, 8);
    store_sqlite_column_copy(s, 9, m->smsc_id, sizeof m->smsc_id);
    store_sqlite_column_copy(s, 10, m->last_error, sizeof m->last_error);
    store_sqlite_column_copy(s, 11, m->receipt_stat, sizeof m->receipt_stat);
    m->receipt_at = sqlite3_column_int64(s, 12);
    m->created_at = sqlite3_column_int64(s, 13);
    m->updated_at = sqlite3_column_int64(s, 14);
}

static bool outbox_valid(const outbox_row *m)
{
    static const char *const statuses[] = {"queued",    "sending",     "sent",
                                           "delivered", "undelivered", "dead"};
    bool status_ok = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        status_ok = status_ok || strcmp(m->status, statuses[i]) == 0;
    return store_sqlite_text_fits(m->event, sizeof m->event) &&
           store_sqlite_text_fits(m->msisdn, sizeof m->msisdn) &&
           store_sqlite_text_fits(m->lang, sizeof m->lang) &&
           store_sqlite_text_fits(m->facts, sizeof m->facts) && m->order_id >= 0 && status_ok;
}

topup_result store_outbox_insert(store *st, outbox_row *m)
{
    snprintf(m->status, sizeof m->status, "queued");
    if (!outbox_valid(m))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the SMS has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, O_INSERT);
    store_sqlite_bind_text(s, 1, m->event);
    store_sqlite_bind_text(s, 2, m->msisdn);
    store_sqlite_bind_text(s, 3, m->lang);
    store_sqlite_bind_text(s, 4, m->facts);
    sqlite3_bind_int64(s, 5, m->order_id);
    sqlite3_bind_int64(s, 6, m->created_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK) {
        m->id = sqlite3_last_insert_rowid(st->db);
        m->next_attempt_at = m->updated_at = m->created_at;
    }
    return r;
}

topup_result store_outbox_update(store *st, const outbox_row *m)
{
    if (!outbox_valid(m))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the SMS has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, O_UPDATE);
    sqlite3_bind_int64(s, 1, m->id);
    store_sqlite_bind_text(s, 2, m->status);
    sqlite3_bind_int(s, 3, m->attempt_count);
    sqlite3_bind_int64(s, 4, m->next_attempt_at);
    store_sqlite_bind_text(s, 5, m->smsc_id);
    store_sqlite_bind_text(s, 6, m->last_error);
    store_sqlite_bind_text(s, 7, m->receipt_stat);
    sqlite3_bind_int64(s, 8, m->receipt_at);
    sqlite3_bind_int64(s, 9, m->updated_at);
    store_sqlite_bind_text(s, 10, m->facts);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no SMS %lld", (long long)m->id);
    return r;
}

static topup_result outbox_one(store *st, sqlite3_stmt *s, outbox_row *m)
{
    return store_sqlite_one(st, s, outbox_from_row, m);
}

topup_result store_outbox_get(store *st, int64_t id, outbox_row *m)
{
    STATEMENT_OR_RETURN(s, st, O_GET);
    sqlite3_bind_int64(s, 1, id);
    return outbox_one(st, s, m);
}

topup_result store_outbox_by_smsc_id(store *st, const char *smsc_id, outbox_row *m)
{
    STATEMENT_OR_RETURN(s, st, O_BY_SMSC);
    store_sqlite_bind_text(s, 1, smsc_id);
    return outbox_one(st, s, m);
}

static topup_result outbox_many(store *st, sqlite3_stmt *s, outbox_row *messages, size_t count_max,
                                size_t *count)
{
    return store_sqlite_many(st, s, outbox_from_row, messages, sizeof *messages, count_max, count);
}

topup_result store_outbox_due(store *st, int64_t now, outbox_row *messages, size_t count_max,
                              size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, O_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return outbox_many(st, s, messages, count_max, count);
}

topup_result store_outbox_list(store *st, const char *status, int64_t before_id,
                               outbox_row *messages, size_t count_max, size_t *count)
{
    *count = 0;
    slot id = status ? O_LIST_STATUS : O_LIST;
    STATEMENT_OR_RETURN(s, st, id);
    sqlite3_bind_int64(s, 1, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    if (status)
        store_sqlite_bind_text(s, 3, status);
    return outbox_many(st, s, messages, count_max, count);
}

topup_result store_outbox_counts(store *st, const char *const *statuses, size_t status_count,
                                 int64_t *counts)
{
    for (size_t i = 0; i < status_count; i++) {
        STATEMENT_OR_RETURN(s, st, O_COUNT);
        store_sqlite_bind_text(s, 1, statuses[i]);
        int rc = sqlite3_step(s);
        counts[i] = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        store_sqlite_finish(s);
        if (rc != SQLITE_ROW)
            return store_sqlite_fail(st, rc);
    }
    return TOPUP_OK;
}

static void read_low_balance(sqlite3_stmt *s, void *out)
{
    low_balance_row *row = out;
    store_sqlite_column_copy(s, 0, row->msisdn, sizeof row->msisdn);
    row->balance_minor = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, row->currency, sizeof row->currency);
}

topup_result store_low_balance_due(store *st, int64_t threshold_minor, int64_t since,
                                   low_balance_row *rows, size_t count_max, size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, O_LOW_BALANCE);
    sqlite3_bind_int64(s, 1, threshold_minor);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, (int64_t)count_max);
    return store_sqlite_many(st, s, read_low_balance, rows, sizeof *rows, count_max, count);
}
