/* The SQLite backend of store.h's SMS codes. Statements live in the connection's extra slots
 * after the outbox's (store_sqlite_int.h). */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Slots 42..47 belong to this file; store_sqlite_merchants.c uses the ones above. */
typedef enum slot { T_INSERT = 42, T_LATEST, T_UPDATE, T_COUNT_NUMBER, T_COUNT_IP, SLOT_END } slot;

_Static_assert(SLOT_END <= 48, "the SMS code statements overlap the merchant slots");

static const char *sql_of(slot id)
{
    switch (id) {
    case T_INSERT:
        return "INSERT INTO otp_codes(msisdn, purpose, code_hash, salt, client_ip, attempts,"
               " created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)";
    case T_LATEST:
        return "SELECT id, msisdn, purpose, code_hash, salt, client_ip, attempts, created_at,"
               " expires_at, used_at FROM otp_codes WHERE msisdn = ?1 AND purpose = ?2"
               " ORDER BY id DESC LIMIT 1";
    case T_UPDATE:
        return "UPDATE otp_codes SET attempts = ?2, used_at = nullif(?3, 0) WHERE id = ?1";
    case T_COUNT_NUMBER:
        return "SELECT count(*) FROM otp_codes WHERE msisdn = ?1 AND created_at >= ?2";
    case T_COUNT_IP:
        return "SELECT count(*) FROM otp_codes WHERE client_ip = ?1 AND created_at >= ?2";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

topup_result store_otp_insert(store *st, otp_row *otp)
{
    if (!store_sqlite_text_fits(otp->msisdn, sizeof otp->msisdn) ||
        !store_sqlite_text_fits(otp->purpose, sizeof otp->purpose) ||
        strnlen(otp->client_ip, sizeof otp->client_ip) >= sizeof otp->client_ip)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "the SMS code has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, T_INSERT);
    sqlite3_bind_text(s, 1, otp->msisdn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, otp->purpose, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, otp->code_hash, OTP_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, otp->salt, OTP_SALT_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, otp->client_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, otp->created_at);
    sqlite3_bind_int64(s, 7, otp->expires_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        otp->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

/* Copies a blob column of exactly size bytes; false when it has another size. */
static bool blob_copy(sqlite3_stmt *s, int column, uint8_t *out, int size)
{
    if (sqlite3_column_bytes(s, column) != size)
        return false;
    memcpy(out, sqlite3_column_blob(s, column), (size_t)size);
    return true;
}

topup_result store_otp_latest(store *st, const char *msisdn, const char *purpose, otp_row *otp)
{
    STATEMENT_OR_RETURN(s, st, T_LATEST);
    sqlite3_bind_text(s, 1, msisdn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, purpose, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    topup_result r = TOPUP_OK;
    memset(otp, 0, sizeof *otp);
    if (rc == SQLITE_ROW) {
        otp->id = sqlite3_column_int64(s, 0);
        store_sqlite_column_copy(s, 1, otp->msisdn, sizeof otp->msisdn);
        store_sqlite_column_copy(s, 2, otp->purpose, sizeof otp->purpose);
        if (!blob_copy(s, 3, otp->code_hash, OTP_HASH_SIZE) ||
            !blob_copy(s, 4, otp->salt, OTP_SALT_SIZE))
            r = store_sqlite_refuse(st, TOPUP_E_STORAGE, "SMS code %lld is damaged",
                                    (long long)otp->id);
        store_sqlite_column_copy(s, 5, otp->client_ip, sizeof otp->client_ip);
        otp->attempts = sqlite3_column_int(s, 6);
        otp->created_at = sqlite3_column_int64(s, 7);
        otp->expires_at = sqlite3_column_int64(s, 8);
        otp->used_at = sqlite3_column_int64(s, 9);
    } else {
        r = rc == SQLITE_DONE ? TOPUP_E_NOT_FOUND : store_sqlite_fail(st, rc);
    }
    store_sqlite_finish(s);
    return r;
}

topup_result store_otp_update(store *st, const otp_row *otp)
{
    STATEMENT_OR_RETURN(s, st, T_UPDATE);
    sqlite3_bind_int64(s, 1, otp->id);
    sqlite3_bind_int(s, 2, otp->attempts);
    sqlite3_bind_int64(s, 3, otp->used_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_otp_count_since(store *st, const char *msisdn, const char *client_ip,
                                   int64_t since, int64_t *count)
{
    slot id = msisdn ? T_COUNT_NUMBER : T_COUNT_IP;
    STATEMENT_OR_RETURN(s, st, id);
    sqlite3_bind_text(s, 1, msisdn ? msisdn : client_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since);
    int rc = sqlite3_step(s);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_sqlite_finish(s);
    return rc == SQLITE_ROW ? TOPUP_OK : store_sqlite_fail(st, rc);
}
