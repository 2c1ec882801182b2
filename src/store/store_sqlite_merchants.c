/* The SQLite backend of store.h's partner merchants. Statements live in the connection's extra
 * slots after the SMS codes' (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Slots 48.. belong to this file. */
typedef enum slot {
    M_INSERT = 48,
    M_GET,
    M_LIST,
    M_STATUS,
    M_PRICE_SET,
    M_PRICE_GET,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= STORE_EXTRA_STATEMENTS_MAX, "raise STORE_EXTRA_STATEMENTS_MAX");

#define SELECT_MERCHANT                                                                            \
    "SELECT m.id, m.name, m.secret, m.currency, m.float_account_id, m.status, m.allowed_ips,"      \
    " m.created_at, a.balance_minor, a.credit_limit_minor FROM merchants m"                        \
    " JOIN accounts a ON a.id = m.float_account_id "

static const char *sql_of(slot id)
{
    switch (id) {
    case M_INSERT:
        return "INSERT INTO merchants(id, name, secret, currency, float_account_id, status,"
               " allowed_ips, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7)";
    case M_GET:
        return SELECT_MERCHANT "WHERE m.id = ?1";
    case M_LIST:
        return SELECT_MERCHANT "ORDER BY m.id LIMIT ?1";
    case M_STATUS:
        return "UPDATE merchants SET status = ?2 WHERE id = ?1";
    case M_PRICE_SET:
        return "INSERT OR REPLACE INTO merchant_prices(merchant_id, target, basis_points)"
               " VALUES (?1, ?2, ?3)";
    case M_PRICE_GET:
        return "SELECT basis_points FROM merchant_prices WHERE merchant_id = ?1 AND target = ?2";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

static void read_merchant(sqlite3_stmt *s, void *out)
{
    merchant_row *m = out;
    memset(m, 0, sizeof *m);
    store_sqlite_column_copy(s, 0, m->id, sizeof m->id);
    store_sqlite_column_copy(s, 1, m->name, sizeof m->name);
    store_sqlite_column_copy(s, 2, m->secret, sizeof m->secret);
    store_sqlite_column_copy(s, 3, m->currency, sizeof m->currency);
    m->float_account_id = sqlite3_column_int64(s, 4);
    store_sqlite_column_copy(s, 5, m->status, sizeof m->status);
    store_sqlite_column_copy(s, 6, m->allowed_ips, sizeof m->allowed_ips);
    m->created_at = sqlite3_column_int64(s, 7);
    m->float_minor = sqlite3_column_int64(s, 8);
    m->credit_limit_minor = sqlite3_column_int64(s, 9);
}

topup_result store_merchant_insert(store *st, const merchant_row *m)
{
    if (!store_sqlite_text_fits(m->id, sizeof m->id) ||
        !store_sqlite_text_fits(m->name, sizeof m->name) ||
        !store_sqlite_text_fits(m->secret, sizeof m->secret) ||
        !store_sqlite_currency_valid(m->currency) || m->float_account_id <= 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the merchant has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, M_INSERT);
    store_sqlite_bind_text(s, 1, m->id);
    store_sqlite_bind_text(s, 2, m->name);
    store_sqlite_bind_text(s, 3, m->secret);
    store_sqlite_bind_text(s, 4, m->currency);
    sqlite3_bind_int64(s, 5, m->float_account_id);
    store_sqlite_bind_text(s, 6, m->allowed_ips);
    sqlite3_bind_int64(s, 7, m->created_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_merchant_get(store *st, const char *id, merchant_row *m)
{
    STATEMENT_OR_RETURN(s, st, M_GET);
    store_sqlite_bind_text(s, 1, id);
    return store_sqlite_one(st, s, read_merchant, m);
}

topup_result store_merchant_list(store *st, merchant_row *merchants, size_t count_max,
                                 size_t *count)
{
    STATEMENT_OR_RETURN(s, st, M_LIST);
    sqlite3_bind_int64(s, 1, (int64_t)count_max);
    return store_sqlite_many(st, s, read_merchant, merchants, sizeof *merchants, count_max, count);
}

topup_result store_merchant_set_status(store *st, const char *id, const char *status)
{
    STATEMENT_OR_RETURN(s, st, M_STATUS);
    store_sqlite_bind_text(s, 1, id);
    store_sqlite_bind_text(s, 2, status);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return store_sqlite_refuse(st, TOPUP_E_NOT_FOUND, "no merchant %s", id);
    return r;
}

topup_result store_merchant_price_set(store *st, const char *id, const char *target,
                                      int64_t basis_points)
{
    STATEMENT_OR_RETURN(s, st, M_PRICE_SET);
    store_sqlite_bind_text(s, 1, id);
    store_sqlite_bind_text(s, 2, target);
    sqlite3_bind_int64(s, 3, basis_points);
    return store_sqlite_step_done(st, s);
}

static void read_basis_points(sqlite3_stmt *s, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
}

topup_result store_merchant_price_get(store *st, const char *id, const char *target,
                                      int64_t *basis_points)
{
    STATEMENT_OR_RETURN(s, st, M_PRICE_GET);
    store_sqlite_bind_text(s, 1, id);
    store_sqlite_bind_text(s, 2, target);
    return store_sqlite_one(st, s, read_basis_points, basis_points);
}
