/* The SQLite backend of store.h's counter channel: halls, staff, the append-only audit log,
 * shifts and counter orders (migration 8). Statements live in the connection's extra slots
 * 128..159 (store_sqlite_int.h). An empty string in a row (an admin's hall, an audit entry
 * without staff, no approver, no invoice) is NULL in the table, so the foreign keys and CHECKs
 * of migration 8 see "none" rather than a reference to a row called "". */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Slots 128..159 belong to this file. */
typedef enum slot {
    H_INSERT = 128,
    H_GET,
    H_LIST,
    STAFF_INSERT,
    STAFF_GET,
    STAFF_LIST,
    STAFF_STATUS,
    STAFF_LOGIN,
    A_APPEND,
    A_LIST,
    SH_INSERT,
    SH_GET,
    SH_OPEN_GET,
    SH_CLOSE,
    SH_LIST,
    CO_INSERT,
    CO_GET,
    T_BY_TENDER,
    T_BY_OPERATOR,
    CO_PRINTED,
    CO_REVERSE,
    SS_INSERT,
    SS_GET,
    SS_TOUCH,
    SS_DELETE,
    SS_DELETE_STAFF,
    INV_LIST,
    INV_GET,
    SLOT_END
} slot;

_Static_assert(SLOT_END <= 160, "slots 128..159 belong to this file");
_Static_assert(SLOT_END <= STORE_EXTRA_STATEMENTS_MAX, "raise STORE_EXTRA_STATEMENTS_MAX");

#define STAFF_COLUMNS                                                                              \
    "id, name, hall_id, role, password_hash, status, failed_logins, locked_until, created_at,"     \
    " updated_at"
#define AUDIT_COLUMNS "id, at, staff_id, hall_id, action, subject, detail, origin"
#define SHIFT_COLUMNS                                                                              \
    "id, staff_id, hall_id, drawer_account_id, status, currency, opening_float_minor,"             \
    " expected_cash_minor, counted_cash_minor, over_short_minor, over_short_transfer_id,"          \
    " close_reason, opened_at, closed_at"
#define COUNTER_ORDER_COLUMNS                                                                      \
    "order_id, shift_id, hall_id, staff_id, tender, tendered_minor, change_minor, pos_reference,"  \
    " id_type, id_hash, id_last4, approved_by, invoice_title, invoice_tax_id,"                     \
    " receipt_print_count, created_at, reversed_at, reversed_by, reversal_shift_id,"               \
    " reversal_reason"

/* An invoice request with its order, operator, hall and teller. Filtered on the counter order's
 * created_at, which the partial index counter_orders_invoices covers for just these rows. */
#define INVOICE_SELECT                                                                             \
    "SELECT c.order_id, c.created_at, c.invoice_title, c.invoice_tax_id, o.msisdn,"                \
    " o.operator_id, op.name, o.face_minor, o.price_minor, o.currency, o.status, c.hall_id,"       \
    " h.name, c.staff_id, s.name, c.reversed_at"                                                   \
    " FROM counter_orders c JOIN orders o ON o.id = c.order_id"                                    \
    " JOIN operators op ON op.id = o.operator_id JOIN halls h ON h.id = c.hall_id"                 \
    " JOIN staff s ON s.id = c.staff_id WHERE c.invoice_title IS NOT NULL"

/* A shift report's sums: money counts as taken once the order is paid and until it is given
 * back; a reversed order is summed apart, whatever its status, because its money went back
 * through the tender it came in by. */
#define SHIFT_TOTALS(key)                                                                          \
    "SELECT " key ", sum(c.reversed_at IS NULL),"                                                  \
    " coalesce(sum(CASE WHEN c.reversed_at IS NULL THEN o.price_minor END), 0),"                   \
    " sum(c.reversed_at IS NOT NULL),"                                                             \
    " coalesce(sum(CASE WHEN c.reversed_at IS NOT NULL THEN o.price_minor END), 0)"                \
    " FROM counter_orders c JOIN orders o ON o.id = c.order_id"                                    \
    " WHERE c.shift_id = ?1"                                                                       \
    " AND (c.reversed_at IS NOT NULL"                                                              \
    " OR o.status IN ('paid', 'submitted', 'unknown', 'succeeded'))"                               \
    " GROUP BY 1 ORDER BY 1 LIMIT ?2"

static const char *sql_of(slot id)
{
    switch (id) {
    case H_INSERT:
        return "INSERT INTO halls(id, name, address, currency, created_at)"
               " VALUES (?1, ?2, ?3, ?4, ?5)";
    case H_GET:
        return "SELECT id, name, address, currency, created_at FROM halls WHERE id = ?1";
    case H_LIST:
        return "SELECT id, name, address, currency, created_at FROM halls ORDER BY id LIMIT ?1";
    case STAFF_INSERT:
        return "INSERT INTO staff(" STAFF_COLUMNS ")"
               " VALUES (?1, ?2, ?3, ?4, ?5, 'active', 0, 0, ?6, ?6)";
    case STAFF_GET:
        return "SELECT " STAFF_COLUMNS " FROM staff WHERE id = ?1";
    case STAFF_LIST:
        return "SELECT " STAFF_COLUMNS " FROM staff WHERE ?1 IS NULL OR hall_id = ?1"
               " ORDER BY id LIMIT ?2";
    case STAFF_STATUS:
        return "UPDATE staff SET status = ?2, updated_at = ?3 WHERE id = ?1";
    case STAFF_LOGIN:
        return "UPDATE staff SET password_hash = ?2, failed_logins = ?3, locked_until = ?4,"
               " updated_at = ?5 WHERE id = ?1";
    case A_APPEND:
        return "INSERT INTO audit_log(at, staff_id, hall_id, action, subject, detail, origin)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    case A_LIST:
        return "SELECT " AUDIT_COLUMNS " FROM audit_log"
               " WHERE (?1 IS NULL OR staff_id = ?1) AND (?2 IS NULL OR hall_id = ?2)"
               " AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4";
    case SH_INSERT:
        return "INSERT INTO shifts(staff_id, hall_id, drawer_account_id, status, currency,"
               " opening_float_minor, opened_at) VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6)";
    case SH_GET:
        return "SELECT " SHIFT_COLUMNS " FROM shifts WHERE id = ?1";
    case SH_OPEN_GET:
        return "SELECT " SHIFT_COLUMNS " FROM shifts WHERE staff_id = ?1 AND status = 'open'";
    case SH_CLOSE:
        return "UPDATE shifts SET status = 'closed', expected_cash_minor = ?2,"
               " counted_cash_minor = ?3, over_short_minor = ?4, over_short_transfer_id = ?5,"
               " close_reason = ?6, closed_at = ?7 WHERE id = ?1 AND status = 'open'";
    case SH_LIST:
        return "SELECT " SHIFT_COLUMNS " FROM shifts"
               " WHERE (?1 IS NULL OR hall_id = ?1) AND (?2 IS NULL OR staff_id = ?2)"
               " AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4";
    case CO_INSERT:
        return "INSERT INTO counter_orders(" COUNTER_ORDER_COLUMNS ") VALUES (?1, ?2, ?3, ?4,"
               " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
    case CO_GET:
        return "SELECT " COUNTER_ORDER_COLUMNS " FROM counter_orders WHERE order_id = ?1";
    case T_BY_TENDER:
        return SHIFT_TOTALS("c.tender");
    case T_BY_OPERATOR:
        return SHIFT_TOTALS("o.operator_id");
    case CO_PRINTED:
        return "UPDATE counter_orders SET receipt_print_count = receipt_print_count + 1"
               " WHERE order_id = ?1 RETURNING receipt_print_count";
    case CO_REVERSE:
        return "UPDATE counter_orders SET reversed_at = ?2, reversed_by = ?3,"
               " reversal_shift_id = ?4, reversal_reason = ?5"
               " WHERE order_id = ?1 AND reversed_at IS NULL";
    case SS_INSERT:
        return "INSERT INTO staff_sessions(token_hash, staff_id, created_at, last_seen_at,"
               " expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    case SS_GET:
        return "SELECT token_hash, staff_id, created_at, last_seen_at, expires_at"
               " FROM staff_sessions WHERE token_hash = ?1";
    case SS_TOUCH:
        return "UPDATE staff_sessions SET last_seen_at = ?2, expires_at = ?3"
               " WHERE token_hash = ?1";
    case SS_DELETE:
        return "DELETE FROM staff_sessions WHERE token_hash = ?1";
    case SS_DELETE_STAFF:
        return "DELETE FROM staff_sessions WHERE staff_id = ?1";
    case INV_LIST:
        return INVOICE_SELECT " AND c.created_at >= ?1 AND c.created_at < ?2"
                              " AND (?3 IS NULL OR c.hall_id = ?3) AND c.order_id > ?4"
                              " ORDER BY c.order_id LIMIT ?5";
    case INV_GET:
        return INVOICE_SELECT " AND c.order_id = ?1";
    default:
        return "";
    }
}

#define STATEMENT_OR_RETURN(s, st, id) STORE_STATEMENT_OR_RETURN(s, st, id, sql_of(id))

/* "" (none) and NULL both become SQL NULL: see the file comment. */
static void bind_text_or_null(sqlite3_stmt *s, int index, const char *text)
{
    if (text && text[0])
        store_sqlite_bind_text(s, index, text);
    else
        sqlite3_bind_null(s, index);
}

/* 0 (none) becomes SQL NULL, for optional references and times. */
static void bind_id_or_null(sqlite3_stmt *s, int index, int64_t id)
{
    if (id != 0)
        sqlite3_bind_int64(s, index, id);
    else
        sqlite3_bind_null(s, index);
}

/* Whether an optional text ("" allowed) is terminated inside its field. */
static bool optional_fits(const char *text, size_t size)
{
    return strnlen(text, size) < size;
}

/* ---- halls ---- */

static void read_hall(sqlite3_stmt *s, void *out)
{
    hall_row *hall = out;
    memset(hall, 0, sizeof *hall);
    store_sqlite_column_copy(s, 0, hall->id, sizeof hall->id);
    store_sqlite_column_copy(s, 1, hall->name, sizeof hall->name);
    store_sqlite_column_copy(s, 2, hall->address, sizeof hall->address);
    store_sqlite_column_copy(s, 3, hall->currency, sizeof hall->currency);
    hall->created_at = sqlite3_column_int64(s, 4);
}

topup_result store_hall_insert(store *st, const hall_row *hall)
{
    if (!store_sqlite_text_fits(hall->id, sizeof hall->id) ||
        !store_sqlite_text_fits(hall->name, sizeof hall->name) ||
        !optional_fits(hall->address, sizeof hall->address) ||
        !store_sqlite_currency_valid(hall->currency))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a hall needs an id, a name and a currency");
    STATEMENT_OR_RETURN(s, st, H_INSERT);
    store_sqlite_bind_text(s, 1, hall->id);
    store_sqlite_bind_text(s, 2, hall->name);
    store_sqlite_bind_text(s, 3, hall->address);
    store_sqlite_bind_text(s, 4, hall->currency);
    sqlite3_bind_int64(s, 5, hall->created_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_hall_get(store *st, const char *id, hall_row *hall)
{
    STATEMENT_OR_RETURN(s, st, H_GET);
    store_sqlite_bind_text(s, 1, id);
    return store_sqlite_one(st, s, read_hall, hall);
}

topup_result store_hall_list(store *st, hall_row *halls, size_t count_max, size_t *count)
{
    STATEMENT_OR_RETURN(s, st, H_LIST);
    sqlite3_bind_int64(s, 1, (int64_t)count_max);
    return store_sqlite_many(st, s, read_hall, halls, sizeof *halls, count_max, count);
}

/* ---- staff ---- */

static void read_staff(sqlite3_stmt *s, void *out)
{
    staff_row *staff = out;
    memset(staff, 0, sizeof *staff);
    store_sqlite_column_copy(s, 0, staff->id, sizeof staff->id);
    store_sqlite_column_copy(s, 1, staff->name, sizeof staff->name);
    store_sqlite_column_copy(s, 2, staff->hall_id, sizeof staff->hall_id);
    store_sqlite_column_copy(s, 3, staff->role, sizeof staff->role);
    store_sqlite_column_copy(s, 4, staff->password_hash, sizeof staff->password_hash);
    store_sqlite_column_copy(s, 5, staff->status, sizeof staff->status);
    staff->failed_logins = sqlite3_column_int(s, 6);
    staff->locked_until = sqlite3_column_int64(s, 7);
    staff->created_at = sqlite3_column_int64(s, 8);
    staff->updated_at = sqlite3_column_int64(s, 9);
}

topup_result store_staff_insert(store *st, const staff_row *staff)
{
    if (!store_sqlite_text_fits(staff->id, sizeof staff->id) ||
        !store_sqlite_text_fits(staff->name, sizeof staff->name) ||
        !optional_fits(staff->hall_id, sizeof staff->hall_id) ||
        !store_sqlite_text_fits(staff->role, sizeof staff->role) ||
        !store_sqlite_text_fits(staff->password_hash, sizeof staff->password_hash))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "staff need an id, a name, a role and a password hash");
    STATEMENT_OR_RETURN(s, st, STAFF_INSERT);
    store_sqlite_bind_text(s, 1, staff->id);
    store_sqlite_bind_text(s, 2, staff->name);
    bind_text_or_null(s, 3, staff->hall_id);
    store_sqlite_bind_text(s, 4, staff->role);
    store_sqlite_bind_text(s, 5, staff->password_hash);
    sqlite3_bind_int64(s, 6, staff->created_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_staff_get(store *st, const char *id, staff_row *staff)
{
    STATEMENT_OR_RETURN(s, st, STAFF_GET);
    store_sqlite_bind_text(s, 1, id);
    return store_sqlite_one(st, s, read_staff, staff);
}

topup_result store_staff_list(store *st, const char *hall_id, staff_row *staff, size_t count_max,
                              size_t *count)
{
    STATEMENT_OR_RETURN(s, st, STAFF_LIST);
    bind_text_or_null(s, 1, hall_id);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_staff, staff, sizeof *staff, count_max, count);
}

topup_result store_staff_set_status(store *st, const char *id, const char *status, int64_t at)
{
    STATEMENT_OR_RETURN(s, st, STAFF_STATUS);
    store_sqlite_bind_text(s, 1, id);
    store_sqlite_bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, at);
    return store_sqlite_changed_one(st, s, "staff member");
}

topup_result store_staff_update_login(store *st, const staff_row *staff)
{
    if (!store_sqlite_text_fits(staff->password_hash, sizeof staff->password_hash))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT, "a password hash is required");
    STATEMENT_OR_RETURN(s, st, STAFF_LOGIN);
    store_sqlite_bind_text(s, 1, staff->id);
    store_sqlite_bind_text(s, 2, staff->password_hash);
    sqlite3_bind_int(s, 3, staff->failed_logins);
    sqlite3_bind_int64(s, 4, staff->locked_until);
    sqlite3_bind_int64(s, 5, staff->updated_at);
    return store_sqlite_changed_one(st, s, "staff member");
}

/* ---- audit log ---- */

static void read_audit(sqlite3_stmt *s, void *out)
{
    audit_row *entry = out;
    memset(entry, 0, sizeof *entry);
    entry->id = sqlite3_column_int64(s, 0);
    entry->at = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, entry->staff_id, sizeof entry->staff_id);
    store_sqlite_column_copy(s, 3, entry->hall_id, sizeof entry->hall_id);
    store_sqlite_column_copy(s, 4, entry->action, sizeof entry->action);
    store_sqlite_column_copy(s, 5, entry->subject, sizeof entry->subject);
    store_sqlite_column_copy(s, 6, entry->detail, sizeof entry->detail);
    store_sqlite_column_copy(s, 7, entry->origin, sizeof entry->origin);
}

topup_result store_audit_append(store *st, audit_row *entry)
{
    if (!store_sqlite_text_fits(entry->action, sizeof entry->action) ||
        !optional_fits(entry->staff_id, sizeof entry->staff_id) ||
        !optional_fits(entry->hall_id, sizeof entry->hall_id) ||
        !optional_fits(entry->subject, sizeof entry->subject) ||
        !optional_fits(entry->detail, sizeof entry->detail) ||
        !optional_fits(entry->origin, sizeof entry->origin))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "an audit entry needs an action; its texts must fit");
    STATEMENT_OR_RETURN(s, st, A_APPEND);
    sqlite3_bind_int64(s, 1, entry->at);
    bind_text_or_null(s, 2, entry->staff_id);
    bind_text_or_null(s, 3, entry->hall_id);
    store_sqlite_bind_text(s, 4, entry->action);
    store_sqlite_bind_text(s, 5, entry->subject);
    store_sqlite_bind_text(s, 6, entry->detail);
    store_sqlite_bind_text(s, 7, entry->origin);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_OK)
        entry->id = sqlite3_last_insert_rowid(st->db);
    return r;
}

topup_result store_audit_list(store *st, const char *staff_id, const char *hall_id,
                              int64_t before_id, audit_row *entries, size_t count_max,
                              size_t *count)
{
    STATEMENT_OR_RETURN(s, st, A_LIST);
    bind_text_or_null(s, 1, staff_id);
    bind_text_or_null(s, 2, hall_id);
    sqlite3_bind_int64(s, 3, before_id);
    sqlite3_bind_int64(s, 4, (int64_t)count_max);
    return store_sqlite_many(st, s, read_audit, entries, sizeof *entries, count_max, count);
}

/* ---- shifts ---- */

static void read_shift(sqlite3_stmt *s, void *out)
{
    shift_row *shift = out;
    memset(shift, 0, sizeof *shift);
    shift->id = sqlite3_column_int64(s, 0);
    store_sqlite_column_copy(s, 1, shift->staff_id, sizeof shift->staff_id);
    store_sqlite_column_copy(s, 2, shift->hall_id, sizeof shift->hall_id);
    shift->drawer_account_id = sqlite3_column_int64(s, 3);
    store_sqlite_column_copy(s, 4, shift->status, sizeof shift->status);
    store_sqlite_column_copy(s, 5, shift->currency, sizeof shift->currency);
    shift->opening_float_minor = sqlite3_column_int64(s, 6);
    shift->expected_cash_minor = sqlite3_column_int64(s, 7);
    shift->counted_cash_minor = sqlite3_column_int64(s, 8);
    shift->over_short_minor = sqlite3_column_int64(s, 9);
    shift->over_short_transfer_id = sqlite3_column_int64(s, 10);
    store_sqlite_column_copy(s, 11, shift->close_reason, sizeof shift->close_reason);
    shift->opened_at = sqlite3_column_int64(s, 12);
    shift->closed_at = sqlite3_column_int64(s, 13);
}

topup_result store_shift_insert(store *st, shift_row *shift)
{
    if (!store_sqlite_text_fits(shift->staff_id, sizeof shift->staff_id) ||
        !store_sqlite_text_fits(shift->hall_id, sizeof shift->hall_id) ||
        !store_sqlite_currency_valid(shift->currency) || shift->drawer_account_id <= 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a shift needs staff, a hall, a drawer and a currency");
    STATEMENT_OR_RETURN(s, st, SH_INSERT);
    store_sqlite_bind_text(s, 1, shift->staff_id);
    store_sqlite_bind_text(s, 2, shift->hall_id);
    sqlite3_bind_int64(s, 3, shift->drawer_account_id);
    store_sqlite_bind_text(s, 4, shift->currency);
    sqlite3_bind_int64(s, 5, shift->opening_float_minor);
    sqlite3_bind_int64(s, 6, shift->opened_at);
    topup_result r = store_sqlite_step_done(st, s);
    if (r == TOPUP_E_ALREADY_EXISTS)
        return store_sqlite_refuse(st, r, "%s already has an open shift", shift->staff_id);
    if (r != TOPUP_OK)
        return r;
    shift->id = sqlite3_last_insert_rowid(st->db);
    snprintf(shift->status, sizeof shift->status, "open");
    return TOPUP_OK;
}

topup_result store_shift_get(store *st, int64_t id, shift_row *shift)
{
    STATEMENT_OR_RETURN(s, st, SH_GET);
    sqlite3_bind_int64(s, 1, id);
    return store_sqlite_one(st, s, read_shift, shift);
}

topup_result store_shift_open_get(store *st, const char *staff_id, shift_row *shift)
{
    STATEMENT_OR_RETURN(s, st, SH_OPEN_GET);
    store_sqlite_bind_text(s, 1, staff_id);
    return store_sqlite_one(st, s, read_shift, shift);
}

topup_result store_shift_close(store *st, const shift_row *shift)
{
    if (!optional_fits(shift->close_reason, sizeof shift->close_reason))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT, "the close reason is too long");
    STATEMENT_OR_RETURN(s, st, SH_CLOSE);
    sqlite3_bind_int64(s, 1, shift->id);
    sqlite3_bind_int64(s, 2, shift->expected_cash_minor);
    sqlite3_bind_int64(s, 3, shift->counted_cash_minor);
    sqlite3_bind_int64(s, 4, shift->over_short_minor);
    bind_id_or_null(s, 5, shift->over_short_transfer_id);
    store_sqlite_bind_text(s, 6, shift->close_reason);
    sqlite3_bind_int64(s, 7, shift->closed_at);
    return store_sqlite_changed_one(st, s, "open shift");
}

topup_result store_shifts_list(store *st, const char *hall_id, const char *staff_id,
                               int64_t before_id, shift_row *shifts, size_t count_max,
                               size_t *count)
{
    STATEMENT_OR_RETURN(s, st, SH_LIST);
    bind_text_or_null(s, 1, hall_id);
    bind_text_or_null(s, 2, staff_id);
    sqlite3_bind_int64(s, 3, before_id);
    sqlite3_bind_int64(s, 4, (int64_t)count_max);
    return store_sqlite_many(st, s, read_shift, shifts, sizeof *shifts, count_max, count);
}

/* ---- counter orders ---- */

static void read_counter_order(sqlite3_stmt *s, void *out)
{
    counter_order_row *row = out;
    memset(row, 0, sizeof *row);
    row->order_id = sqlite3_column_int64(s, 0);
    row->shift_id = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, row->hall_id, sizeof row->hall_id);
    store_sqlite_column_copy(s, 3, row->staff_id, sizeof row->staff_id);
    store_sqlite_column_copy(s, 4, row->tender, sizeof row->tender);
    row->tendered_minor = sqlite3_column_int64(s, 5);
    row->change_minor = sqlite3_column_int64(s, 6);
    store_sqlite_column_copy(s, 7, row->pos_reference, sizeof row->pos_reference);
    store_sqlite_column_copy(s, 8, row->id_type, sizeof row->id_type);
    if (sqlite3_column_bytes(s, 9) == ID_HASH_SIZE)
        memcpy(row->id_hash, sqlite3_column_blob(s, 9), ID_HASH_SIZE);
    store_sqlite_column_copy(s, 10, row->id_last4, sizeof row->id_last4);
    store_sqlite_column_copy(s, 11, row->approved_by, sizeof row->approved_by);
    store_sqlite_column_copy(s, 12, row->invoice_title, sizeof row->invoice_title);
    store_sqlite_column_copy(s, 13, row->invoice_tax_id, sizeof row->invoice_tax_id);
    row->receipt_print_count = sqlite3_column_int(s, 14);
    row->created_at = sqlite3_column_int64(s, 15);
    row->reversed_at = sqlite3_column_int64(s, 16);
    store_sqlite_column_copy(s, 17, row->reversed_by, sizeof row->reversed_by);
    row->reversal_shift_id = sqlite3_column_int64(s, 18);
    store_sqlite_column_copy(s, 19, row->reversal_reason, sizeof row->reversal_reason);
}

static bool counter_order_texts_fit(const counter_order_row *row)
{
    return store_sqlite_text_fits(row->hall_id, sizeof row->hall_id) &&
           store_sqlite_text_fits(row->staff_id, sizeof row->staff_id) &&
           store_sqlite_text_fits(row->tender, sizeof row->tender) &&
           optional_fits(row->pos_reference, sizeof row->pos_reference) &&
           store_sqlite_text_fits(row->id_type, sizeof row->id_type) &&
           store_sqlite_text_fits(row->id_last4, sizeof row->id_last4) &&
           optional_fits(row->approved_by, sizeof row->approved_by) &&
           optional_fits(row->invoice_title, sizeof row->invoice_title) &&
           optional_fits(row->invoice_tax_id, sizeof row->invoice_tax_id) &&
           optional_fits(row->reversed_by, sizeof row->reversed_by) &&
           optional_fits(row->reversal_reason, sizeof row->reversal_reason);
}

topup_result store_counter_order_insert(store *st, const counter_order_row *row)
{
    if (!counter_order_texts_fit(row))
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a counter order has a missing or malformed field");
    STATEMENT_OR_RETURN(s, st, CO_INSERT);
    sqlite3_bind_int64(s, 1, row->order_id);
    sqlite3_bind_int64(s, 2, row->shift_id);
    store_sqlite_bind_text(s, 3, row->hall_id);
    store_sqlite_bind_text(s, 4, row->staff_id);
    store_sqlite_bind_text(s, 5, row->tender);
    sqlite3_bind_int64(s, 6, row->tendered_minor);
    sqlite3_bind_int64(s, 7, row->change_minor);
    store_sqlite_bind_text(s, 8, row->pos_reference);
    store_sqlite_bind_text(s, 9, row->id_type);
    sqlite3_bind_blob(s, 10, row->id_hash, ID_HASH_SIZE, SQLITE_STATIC);
    store_sqlite_bind_text(s, 11, row->id_last4);
    bind_text_or_null(s, 12, row->approved_by);
    bind_text_or_null(s, 13, row->invoice_title);
    store_sqlite_bind_text(s, 14, row->invoice_tax_id);
    sqlite3_bind_int(s, 15, row->receipt_print_count);
    sqlite3_bind_int64(s, 16, row->created_at);
    bind_id_or_null(s, 17, row->reversed_at);
    bind_text_or_null(s, 18, row->reversed_by);
    bind_id_or_null(s, 19, row->reversal_shift_id);
    store_sqlite_bind_text(s, 20, row->reversal_reason);
    return store_sqlite_step_done(st, s);
}

topup_result store_counter_order_get(store *st, int64_t order_id, counter_order_row *row)
{
    STATEMENT_OR_RETURN(s, st, CO_GET);
    sqlite3_bind_int64(s, 1, order_id);
    return store_sqlite_one(st, s, read_counter_order, row);
}

/* ---- shift totals ---- */

static void read_total(sqlite3_stmt *s, void *out)
{
    shift_total_row *total = out;
    memset(total, 0, sizeof *total);
    store_sqlite_column_copy(s, 0, total->key, sizeof total->key);
    total->order_count = sqlite3_column_int64(s, 1);
    total->amount_minor = sqlite3_column_int64(s, 2);
    total->reversed_count = sqlite3_column_int64(s, 3);
    total->reversed_minor = sqlite3_column_int64(s, 4);
}

topup_result store_shift_totals(store *st, int64_t shift_id, shift_total_by by,
                                shift_total_row *rows, size_t count_max, size_t *count)
{
    slot id = by == SHIFT_TOTAL_BY_OPERATOR ? T_BY_OPERATOR : T_BY_TENDER;
    STATEMENT_OR_RETURN(s, st, id);
    sqlite3_bind_int64(s, 1, shift_id);
    sqlite3_bind_int64(s, 2, (int64_t)count_max);
    return store_sqlite_many(st, s, read_total, rows, sizeof *rows, count_max, count);
}

/* ---- receipts and reversals ---- */

static void read_print_count(sqlite3_stmt *s, void *out)
{
    *(int *)out = sqlite3_column_int(s, 0);
}

topup_result store_counter_order_printed(store *st, int64_t order_id, int *print_count)
{
    STATEMENT_OR_RETURN(s, st, CO_PRINTED);
    sqlite3_bind_int64(s, 1, order_id);
    return store_sqlite_one(st, s, read_print_count, print_count);
}

topup_result store_counter_order_reverse(store *st, const counter_order_row *row)
{
    if (!store_sqlite_text_fits(row->reversed_by, sizeof row->reversed_by) ||
        !optional_fits(row->reversal_reason, sizeof row->reversal_reason) || row->reversed_at <= 0)
        return store_sqlite_refuse(st, TOPUP_E_INVALID_ARGUMENT,
                                   "a reversal needs its time, its supervisor and a short reason");
    STATEMENT_OR_RETURN(s, st, CO_REVERSE);
    sqlite3_bind_int64(s, 1, row->order_id);
    sqlite3_bind_int64(s, 2, row->reversed_at);
    store_sqlite_bind_text(s, 3, row->reversed_by);
    bind_id_or_null(s, 4, row->reversal_shift_id);
    store_sqlite_bind_text(s, 5, row->reversal_reason);
    return store_sqlite_changed_one(st, s, "counter order not yet reversed");
}

/* ---- invoices ---- */

static void read_invoice(sqlite3_stmt *s, void *out)
{
    counter_invoice_row *row = out;
    memset(row, 0, sizeof *row);
    row->order_id = sqlite3_column_int64(s, 0);
    row->created_at = sqlite3_column_int64(s, 1);
    store_sqlite_column_copy(s, 2, row->invoice_title, sizeof row->invoice_title);
    store_sqlite_column_copy(s, 3, row->invoice_tax_id, sizeof row->invoice_tax_id);
    store_sqlite_column_copy(s, 4, row->msisdn, sizeof row->msisdn);
    store_sqlite_column_copy(s, 5, row->operator_id, sizeof row->operator_id);
    store_sqlite_column_copy(s, 6, row->operator_name, sizeof row->operator_name);
    row->face_minor = sqlite3_column_int64(s, 7);
    row->price_minor = sqlite3_column_int64(s, 8);
    store_sqlite_column_copy(s, 9, row->currency, sizeof row->currency);
    /* An unknown name leaves ORDER_NONE, which no caller prints as a real state. */
    const char *status = (const char *)sqlite3_column_text(s, 10);
    if (status == NULL || !order_status_parse(status, &row->status))
        row->status = ORDER_NONE;
    store_sqlite_column_copy(s, 11, row->hall_id, sizeof row->hall_id);
    store_sqlite_column_copy(s, 12, row->hall_name, sizeof row->hall_name);
    store_sqlite_column_copy(s, 13, row->staff_id, sizeof row->staff_id);
    store_sqlite_column_copy(s, 14, row->staff_name, sizeof row->staff_name);
    row->reversed_at = sqlite3_column_int64(s, 15);
}

topup_result store_counter_invoices_list(store *st, int64_t from, int64_t to, const char *hall_id,
                                         int64_t after_order_id, counter_invoice_row *rows,
                                         size_t count_max, size_t *count)
{
    STATEMENT_OR_RETURN(s, st, INV_LIST);
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    bind_text_or_null(s, 3, hall_id);
    sqlite3_bind_int64(s, 4, after_order_id);
    sqlite3_bind_int64(s, 5, (int64_t)count_max);
    return store_sqlite_many(st, s, read_invoice, rows, sizeof *rows, count_max, count);
}

topup_result store_counter_invoice_get(store *st, int64_t order_id, counter_invoice_row *row)
{
    STATEMENT_OR_RETURN(s, st, INV_GET);
    sqlite3_bind_int64(s, 1, order_id);
    return store_sqlite_one(st, s, read_invoice, row);
}

/* ---- staff sessions ---- */

static void read_staff_session(sqlite3_stmt *s, void *out)
{
    staff_session_row *session = out;
    memset(session, 0, sizeof *session);
    if (sqlite3_column_bytes(s, 0) == SESSION_HASH_SIZE)
        memcpy(session->token_hash, sqlite3_column_blob(s, 0), SESSION_HASH_SIZE);
    store_sqlite_column_copy(s, 1, session->staff_id, sizeof session->staff_id);
    session->created_at = sqlite3_column_int64(s, 2);
    session->last_seen_at = sqlite3_column_int64(s, 3);
    session->expires_at = sqlite3_column_int64(s, 4);
}

topup_result store_staff_session_insert(store *st, const staff_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, SS_INSERT);
    sqlite3_bind_blob(s, 1, session->token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    store_sqlite_bind_text(s, 2, session->staff_id);
    sqlite3_bind_int64(s, 3, session->created_at);
    sqlite3_bind_int64(s, 4, session->last_seen_at);
    sqlite3_bind_int64(s, 5, session->expires_at);
    return store_sqlite_step_done(st, s);
}

topup_result store_staff_session_get(store *st, const uint8_t token_hash[SESSION_HASH_SIZE],
                                     staff_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, SS_GET);
    sqlite3_bind_blob(s, 1, token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    return store_sqlite_one(st, s, read_staff_session, session);
}

topup_result store_staff_session_touch(store *st, const staff_session_row *session)
{
    STATEMENT_OR_RETURN(s, st, SS_TOUCH);
    sqlite3_bind_blob(s, 1, session->token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, session->last_seen_at);
    sqlite3_bind_int64(s, 3, session->expires_at);
    return store_sqlite_changed_one(st, s, "staff session");
}

topup_result store_staff_session_delete(store *st, const uint8_t token_hash[SESSION_HASH_SIZE])
{
    STATEMENT_OR_RETURN(s, st, SS_DELETE);
    sqlite3_bind_blob(s, 1, token_hash, SESSION_HASH_SIZE, SQLITE_STATIC);
    return store_sqlite_step_done(st, s);
}

topup_result store_staff_sessions_delete_staff(store *st, const char *staff_id)
{
    STATEMENT_OR_RETURN(s, st, SS_DELETE_STAFF);
    store_sqlite_bind_text(s, 1, staff_id);
    return store_sqlite_step_done(st, s);
}
