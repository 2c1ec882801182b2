/* The SQLite backend of store.h's partner callbacks: the callback outbox (partner_callbacks) and
 * the record of every delivery attempt (callback_attempts). Statements live in the connection's
 * extra slots (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Slots 80..95 belong to this file. */
typedef enum slot {
    C_INSERT = 80,
    C_UPDATE,
    C_GET,
    C_DUE,
    C_LIST,
    C_ATTEMPT_INSERT,
    C_ATTEMPTS,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= 96, "the callback statements overflow their slots 80..95");
_Static_assert(SLOT_END <= STORE_EXTRA_STATEMENTS_MAX, "raise STORE_EXTRA_STATEMENTS_MAX");

#define HTTP_STATUS_MAX 999 /* three digits, as HTTP defines them */

#define CALLBACK_COLUMNS                                                                           \
    "id, order_id, merchant_id, url, body, status, attempt_count, next_attempt_at, last_error,"    \
    " created_at, updated_at"
#define SELECT_CALLBACK "SELECT " CALLBACK_COLUMNS " FROM partner_callbacks "

static const char *sql_of(slot id)
{
    switch (id) {
    case C_INSERT:
        return "INSERT INTO partner_callbacks(order_id, merchant_id, url, body, status,"
               " attempt_count, next_attempt_at, last_error, created_at, updated_at)"
               " VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, '', ?6, ?6)";
    case C_UPDATE:
        return "UPDATE partner_callbacks SET status = ?2, attempt_count = ?3,"
               " next_attempt_at = nullif(?4, 0), last_error = ?5, updated_at = ?6 WHERE id = ?1";
    case C_GET:
        return SELECT_CALLBACK "WHERE id = ?1";
    case C_DUE:
        return SELECT_CALLBACK "WHERE next_attempt_at <= ?1 AND status = 'queued'"
                               " ORDER BY next_attempt_at, id LIMIT ?2";
    case C_LIST:
        /* One statement for the four filter combinations: NULL means "any". */
        return SELECT_CALLBACK "WHERE id < ?1 AND (?3 IS NULL OR merchant_id = ?3)"
                               " AND (?4 IS NULL OR status = ?4) ORDER BY id DESC LIMIT ?2";
    case C_ATTEMPT_INSERT:
        return "INSERT INTO callback_attempts(callback_id, attempted_at, http_status, error,"
               " duration_ms) VALUES (?1, ?2, nullif(?3, 0), ?4, ?5)";
    case C_ATTEMPTS:
        return "SELECT id, callback_id, attempted_at, http_status, error, duration_ms"
               " FROM callback_attempts WHERE callback_id = ?1 ORDER BY id LIMIT ?2";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

/* Binds text, or NULL when text is NULL (the list filters' "any"). */
static void bind_text_or_null(sqlite3_stmt *s, int index, const char *text)
{
    if (text)
        store_sqlite_bind_text(s, index, text);
    else
        sqlite3_bind_null(s, index);
}

/* Whether text fits in size bytes with its NUL; unlike store_sqlite_text_fits, "" is fine. */
static bool text_fits_or_empty(const char *text, size_t size)
{
    return text && strnlen(text, size) < size;
}

static bool status_known(const char *status)
{
    return status && (strcmp(status, "queued") == 0 || strcmp(status, "delivered") == 0 ||
                      strcmp(status, "dead") == 0);
}

static void read_callback(sqlite3_stmt *s, void *out)
{
    callback_row *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(s, 0);
    c->order_id = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, c->merchant_id, sizeof c->merchant_id);
    store_sqlite_column_copy(s, 3, c->url, sizeof c->url);
    store_sqlite_column_copy(s, 4, c->body, sizeof c->body);
    store_sqlite_column_copy(s, 5, c->status, sizeof c->status);
    c->attempt_count = sqlite3_column_int(s, 6);
    c->next_attempt_at = sqlite3_column_int64(s, 7);
    store_sqlite_column_copy(s, 8, c->last_error, sizeof c->last_error);
    c->created_at = sqlite3_column_int64(s, 9);
    c->updated_at = sqlite3_column_int64(s, 10);
}

static void read_attempt(sqlite3_stmt *s, void *out)
{
    callback_attempt_row *a = out;
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(s, 0);
    a->callback_id = sqlite3_column_int64(s, 1);
    a->attempted_at = sqlite3_column_int64(s, 2);
    a->http_status = sqlite3_column_int(s, 3); /* NULL (no answer) reads as 0 */
    store_sqlite_column_copy(s, 4, a->error, sizeof a->error);
    a->duration_ms = sqlite3_column_int64(s, 5);
}

topup_result store_callback_insert(store *st, callback_row *c)
{
    if (c->order_id <= 0 || !store_sqlite_text_fits(c->merchant_id, sizeof c->merchant_id) ||
        !store_sqlite_text_fits(c->url, sizeof c->url) ||
        !store_sqlite_text_fits(c->body, sizeof c->body) || c->created_at <= 0 ||
        c->next_attempt_at < 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the callback has a missing or malformed field");
    /* A queued callback with no due time would never be sent: 0 means "at creation". */
    if (c->next_attempt_at == 0)
        c->next_attempt_at = c->created_at;
    STATEMENT_OR_RETURN(s, st, C_INSERT);
    sqlite3_bind_int64(s, 1, c->order_id);
    store_sqlite_bind_text(s, 2, c->merchant_id);
    store_sqlite_bind_text(s, 3, c->url);
    store_sqlite_bind_text(s, 4, c->body);
    sqlite3_bind_int64(s, 5, c->next_attempt_at);
    sqlite3_bind_int64(s, 6, c->created_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK) {
        c->id = sqlite3_last_insert_rowid(st->db);
        snprintf(c->status, sizeof c->status, "queued");
        c->attempt_count = 0;
        c->last_error[0] = '\0';
        c->updated_at = c->created_at;
    }
    return r;
}

topup_result store_callback_update(store *st, const callback_row *c)
{
    if (c->id <= 0 || !status_known(c->status) || c->attempt_count < 0 || c->next_attempt_at < 0 ||
        !text_fits_or_empty(c->last_error, sizeof c->last_error) || c->updated_at <= 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the callback update has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, C_UPDATE);
    sqlite3_bind_int64(s, 1, c->id);
    store_sqlite_bind_text(s, 2, c->status);
    sqlite3_bind_int(s, 3, c->attempt_count);
    sqlite3_bind_int64(s, 4, c->next_attempt_at);
    store_sqlite_bind_text(s, 5, c->last_error);
    sqlite3_bind_int64(s, 6, c->updated_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no callback %lld", (long long)c->id);
    return r;
}

topup_result store_callback_get(store *st, int64_t id, callback_row *c)
{
    STATEMENT_OR_RETURN(s, st, C_GET);
    sqlite3_bind_int64(s, 1, id);
    return store_sqlite_one(st, s, read_callback, c);
}

topup_result store_callbacks_due(store *st, int64_t now, callback_row *callbacks, size_t count_max,
                                 size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, C_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_callback, callbacks, sizeof *callbacks, count_max, count);
}

topup_result store_callbacks_list(store *st, const char *merchant_id, const char *status,
                                  int64_t before_id, callback_row *callbacks, size_t count_max,
                                  size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, C_LIST);
    sqlite3_bind_int64(s, 1, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    bind_text_or_null(s, 3, merchant_id);
    bind_text_or_null(s, 4, status);
    return store_sqlite_many(st, s, read_callback, callbacks, sizeof *callbacks, count_max, count);
}

topup_result store_callback_attempt_insert(store *st, callback_attempt_row *a)
{
    if (a->callback_id <= 0 || a->attempted_at <= 0 || a->http_status < 0 ||
        a->http_status > HTTP_STATUS_MAX || !text_fits_or_empty(a->error, sizeof a->error) ||
        a->duration_ms < 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the callback attempt has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, C_ATTEMPT_INSERT);
    sqlite3_bind_int64(s, 1, a->callback_id);
    sqlite3_bind_int64(s, 2, a->attempted_at);
    sqlite3_bind_int(s, 3, a->http_status);
    store_sqlite_bind_text(s, 4, a->error);
    sqlite3_bind_int64(s, 5, a->duration_ms);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        a->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

topup_result store_callback_attempts(store *st, int64_t callback_id, callback_attempt_row *attempts,
                                     size_t count_max, size_t *count)
{
    *count = 0;
    STATEMENT_OR_RETURN(s, st, C_ATTEMPTS);
    sqlite3_bind_int64(s, 1, callback_id);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_attempt, attempts, sizeof *attempts, count_max, count);
}
