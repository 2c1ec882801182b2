/* The SQLite backend of store.h's web portal accounts, sessions, saved numbers and order
 * ownership. Statements live in the connection's extra slots 96..127 (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

typedef enum slot {
    U_INSERT = 96,
    U_GET,
    U_UPDATE,
    S_INSERT,
    S_GET,
    S_TOUCH,
    S_DELETE,
    S_DELETE_USER,
    N_SAVE,
    N_REMOVE,
    N_LIST,
    O_LINK,
    O_OWNED,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= STORE_EXTRA_STATEMENTS_MAX, "raise STORE_EXTRA_STATEMENTS_MAX");

static const char *sql_of(slot id)
{
    switch (id) {
    case U_INSERT:
        return "INSERT INTO portal_users(msisdn, password_hash, failed_logins, locked_until,"
               " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case U_GET:
        return "SELECT msisdn, password_hash, failed_logins, locked_until, created_at, updated_at"
               " FROM portal_users WHERE msisdn = ?1";
    case U_UPDATE:
        return "UPDATE portal_users SET password_hash = ?2, failed_logins = ?3, locked_until = ?4,"
               " updated_at = ?5 WHERE msisdn = ?1";
    case S_INSERT:
        return "INSERT INTO portal_sessions(token_hash, msisdn, created_at, last_seen_at,"
               " expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    case S_GET:
        return "SELECT token_hash, msisdn, created_at, last_seen_at, expires_at"
               " FROM portal_sessions WHERE token_hash = ?1";
    case S_TOUCH:
        return "UPDATE portal_sessions SET last_seen_at = ?2, expires_at = ?3"
               " WHERE token_hash = ?1";
    case S_DELETE:
        return "DELETE FROM portal_sessions WHERE token_hash = ?1";
    case S_DELETE_USER:
        return "DELETE FROM portal_sessions WHERE msisdn = ?1";
    case N_SAVE:
        return "INSERT INTO portal_numbers(msisdn, number, label, created_at)"
               " VALUES (?1, ?2, ?3, ?4)"
               " ON CONFLICT (msisdn, number) DO UPDATE SET label = excluded.label";
    case N_REMOVE:
        return "DELETE FROM portal_numbers WHERE msisdn = ?1 AND number = ?2";
    case N_LIST:
        return "SELECT number, label, created_at FROM portal_numbers WHERE msisdn = ?1"
               " ORDER BY created_at, number LIMIT ?2";
    case O_LINK:
        return "INSERT INTO portal_orders(order_id, msisdn) VALUES (?1, ?2)";
    case O_OWNED:
        return "SELECT 1 FROM portal_orders WHERE order_id = ?1 AND msisdn = ?2";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

/* ---- users ---- */

static void read_user(sqlite3_stmt *s, void *out)
{
    portal_user_row *user = out;
    memset(user, 0, sizeof *user);
    store_sqlite_column_copy(s, 0, user->msisdn, sizeof user->msisdn);
    store_sqlite_column_copy(s, 1, user->password_hash, sizeof user->password_hash);
    user->failed_logins = sqlite3_column_int(s, 2);
    user->locked_until = sqlite3_column_int64(s, 3);
    user->created_at = sqlite3_column_int64(s, 4);
    user->updated_at = sqlite3_column_int64(s, 5);
}

topup_result store_portal_user_insert(store *st, const portal_user_row *user)
{
    if (!store_sqlite_text_fits(user->msisdn, sizeof user->msisdn) ||
        !store_sqlite_text_fits(user->password_hash, sizeof user->password_hash))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a portal user needs a number and a password hash");
    STATEMENT_OR_RETURN(s, st, U_INSERT);
    store_sqlite_bind_text(s, 1, user->msisdn);
    store_sqlite_bind_text(s, 2, user->password_hash);
    sqlite3_bind_int(s, 3, user->failed_logins);
    sqlite3_bind_int64(s, 4, user->locked_until);
    sqlite3_bind_int64(s, 5, user->created_at);
    sqlite3_bind_int64(s, 6, user->updated_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_portal_user_get(store *st, const char *msisdn, portal_user_row *user)
{
    STATEMENT_OR_RETURN(s, st, U_GET);
    store_sqlite_bind_text(s, 1, msisdn);
    return store_sqlite_one(st, s, read_user, user);
}

topup_result store_portal_user_update(store *st, const portal_user_row *user)
{
    if (!store_sqlite_text_fits(user->password_hash, sizeof user->password_hash))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT, "a password hash is required");
    STATEMENT_OR_RETURN(s, st, U_UPDATE);
    store_sqlite_bind_text(s, 1, user->msisdn);
    store_sqlite_bind_text(s, 2, user->password_hash);
    sqlite3_bind_int(s, 3, user->failed_logins);
    sqlite3_bind_int64(s, 4, user->locked_until);
    sqlite3_bind_int64(s, 5, user->updated_at);
    return store_sqlite_changed_one(st, s, "portal user");
}

/* ---- sessions ---- */

static void read_session(sqlite3_stmt *s, void *out)
{
    portal_session_row *session = out;
    memset(session, 0, sizeof *session);
    if (sqlite3_column_bytes(s, 0) == SESSION_HASH_SIZE)
        memcpy(session->token_hash, sqlite3_column_blob(s, 0), SESSION_HASH_SIZE);
    store_sqlite_column_copy(s, 1, session->msisdn, sizeof session->msisdn);
    session->created_at = sqlite3_column_int64(s, 2);
    session->last_seen_at = sqlite3_column_int64(s, 3);
    session->expires_at = sqlite3_column_int64(s, 4);
}

topup_result store_portal_session_insert(store *st, const portal_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, S_INSERT);
    sqlite3_bind_blob(s, 1, session->token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    store_sqlite_bind_text(s, 2, session->msisdn);
    sqlite3_bind_int64(s, 3, session->created_at);
    sqlite3_bind_int64(s, 4, session->last_seen_at);
    sqlite3_bind_int64(s, 5, session->expires_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_portal_session_get(store *st, const uint8_t token_hash[SESSION_HASH_SIZE],
                                      portal_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, S_GET);
    sqlite3_bind_blob(s, 1, token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    return store_sqlite_one(st, s, read_session, session);
}

topup_result store_portal_session_touch(store *st, const portal_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, S_TOUCH);
    sqlite3_bind_blob(s, 1, session->token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, session->last_seen_at);
    sqlite3_bind_int64(s, 3, session->expires_at);
    return store_sqlite_changed_one(st, s, "session");
}

topup_result store_portal_session_delete(store *st, const uint8_t token_hash[SESSION_HASH_SIZE])
{
    STATEMENT_OR_RETURN(s, st, S_DELETE);
    sqlite3_bind_blob(s, 1, token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    return store_sqlite_step_done(st, s);
}

topup_result store_portal_sessions_delete_user(store *st, const char *msisdn)
{
    STATEMENT_OR_RETURN(s, st, S_DELETE_USER);
    store_sqlite_bind_text(s, 1, msisdn);
    return store_sqlite_step_done(st, s);
}

/* ---- saved numbers ---- */

static void read_number(sqlite3_stmt *s, void *out)
{
    portal_number_row *number = out;
    memset(number, 0, sizeof *number);
    store_sqlite_column_copy(s, 0, number->number, sizeof number->number);
    store_sqlite_column_copy(s, 1, number->label, sizeof number->label);
    number->created_at = sqlite3_column_int64(s, 2);
}

topup_result store_portal_number_save(store *st, const char *msisdn,
                                      const portal_number_row *number)
{
    if (!store_sqlite_text_fits(number->number, sizeof number->number) ||
        strnlen(number->label, sizeof number->label) == sizeof number->label)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT, "a saved number is malformed");
    STATEMENT_OR_RETURN(s, st, N_SAVE);
    store_sqlite_bind_text(s, 1, msisdn);
    store_sqlite_bind_text(s, 2, number->number);
    store_sqlite_bind_text(s, 3, number->label);
    sqlite3_bind_int64(s, 4, number->created_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_portal_number_remove(store *st, const char *msisdn, const char *number)
{
    STATEMENT_OR_RETURN(s, st, N_REMOVE);
    store_sqlite_bind_text(s, 1, msisdn);
    store_sqlite_bind_text(s, 2, number);
    return store_sqlite_changed_one(st, s, "saved number");
}

topup_result store_portal_numbers(store *st, const char *msisdn, portal_number_row *numbers,
                                  size_t count_max, size_t *count)
{
    STATEMENT_OR_RETURN(s, st, N_LIST);
    store_sqlite_bind_text(s, 1, msisdn);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_number, numbers, sizeof *numbers, count_max, count);
}

/* ---- order ownership ---- */

topup_result store_portal_order_link(store *st, int64_t order_id, const char *msisdn)
{
    STATEMENT_OR_RETURN(s, st, O_LINK);
    sqlite3_bind_int64(s, 1, order_id);
    store_sqlite_bind_text(s, 2, msisdn);
    return store_sqlite_step_done(st, s);
}

static void read_nothing(sqlite3_stmt *s, void *out)
{
    (void)s;
    (void)out;
}

topup_result store_portal_order_owned(store *st, int64_t order_id, const char *msisdn)
{
    STATEMENT_OR_RETURN(s, st, O_OWNED);
    sqlite3_bind_int64(s, 1, order_id);
    store_sqlite_bind_text(s, 2, msisdn);
    return store_sqlite_one(st, s, read_nothing, NULL);
}
