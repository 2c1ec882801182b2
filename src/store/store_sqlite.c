/* The SQLite backend of store.h.
 *
 * One store is one connection used by one thread (SQLITE_OPEN_NOMUTEX). Every statement is
 * prepared the first time it is used and kept for the life of the connection, so the recharge
 * path (account, transfer, order, idempotency) never parses SQL and allocates nothing itself
 * (only the stored body store_idempotency_get hands over): strings are bound SQLITE_STATIC, and
 * every statement is reset and its bindings cleared right after use.
 *
 * Trust: the database file is ours, but store_verify assumes nothing about it; every text column
 * copied into a fixed buffer is truncated to fit rather than trusted to. */
#include "store/store.h"
#include "store/store_sqlite_int.h"
#include "store/store_sqlite_sql.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/money.h"
#include "store/schema.h"

#if !defined(__SIZEOF_INT128__)
#error "store_sqlite.c needs a 128-bit integer type for exact ledger sums"
#endif
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

#define BUSY_TIMEOUT_MS  5000
#define CACHE_SIZE_KIB   32768 /* page cache per connection, KiB */
#define ACCOUNT_KIND_MAX (ACCOUNT_KIND_SIZE - 1)

/* Every SQL statement this backend runs, prepared lazily once per connection. */
typedef enum statement_id {
    S_BEGIN,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_CHANGE_SAVEPOINT,
    S_CHANGE_RELEASE,
    S_CHANGE_ROLLBACK_TO,
    S_USER_VERSION,
    S_META_INIT,
    S_META_GET,
    S_META_SET,
    S_CATALOG_VERSION,
    S_CATALOG_BUMP,
    S_PLAN_PUT,
    S_OPERATOR_ADD,
    S_RANGE_ADD,
    S_PRODUCT_ADD,
    S_PORTABILITY_SET,
    S_PORTABILITY_GET,
    S_SUBSCRIBERS_UNDER_PREFIX,
    S_LOAD_PLANS,
    S_LOAD_OPERATORS,
    S_LOAD_RANGES,
    S_LOAD_PRODUCTS,
    S_ACCOUNT_GET,
    S_ACCOUNT_INSERT,
    S_ACCOUNT_MOVE,
    S_TRANSFER_INSERT,
    S_VERIFY_BALANCES,
    S_VERIFY_CURRENCIES,
    S_VERIFY_TRANSFER_ACCOUNTS,
    S_VERIFY_ORDERS,
    S_VERIFY_ORPHANS,
    S_VERIFY_REFUNDS_OWED,
    S_VERIFY_REFUNDED_PARTNER_ORDERS,
    S_VERIFY_REVERSED_ORDERS,
    S_TRANSFER_COUNT,
    S_SUBSCRIBER_GET,
    S_SUBSCRIBER_INSERT,
    S_SUBSCRIBER_UPDATE,
    S_STATEMENT,
    S_ORDER_INSERT,
    S_EVENT_FIRST,
    S_ORDER_UPDATE,
    S_EVENT_APPEND,
    S_ORDER_STATUS,
    S_ORDER_GET,
    S_ORDER_EVENTS,
    S_ORDERS_LIST,
    S_ORDERS_LIST_MSISDN,
    S_ORDERS_LIST_PORTAL,
    S_KEY_INSERT,
    S_KEY_FIND,
    S_KEY_LIST,
    S_KEY_REVOKE,
    S_IDEMPOTENCY_GET,
    S_IDEMPOTENCY_PUT,
    S_IDEMPOTENCY_PURGE,
    S_COUNT
} statement_id;

_Static_assert(S_COUNT <= STORE_CORE_STATEMENTS_MAX, "raise STORE_CORE_STATEMENTS_MAX");

#define ORDER_COLUMNS                                                                              \
    "id, channel, api_key_id, msisdn, operator_id, product_id, face_minor, price_minor, "          \
    "currency, funding_account_id, status, balance_after_minor, valid_until, created_at, "         \
    "updated_at"

#define API_KEY_COLUMNS "id, name, scopes, funding_account, created_at, revoked_at"

/* topup_exact_sum(x) is the aggregate registered in store_open: it adds integers in 128 bits,
 * so a sum never fails half-way the way SQLite's sum() does ("integer overflow" when a partial
 * sum leaves int64, even if the total fits), and it returns the total as an integer when it fits
 * and as its decimal text when it does not. NULLs are skipped and no rows sum to 0. */
static const char *const statement_sql[S_COUNT] = {
    [S_BEGIN] = SQL_BEGIN,
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = SQL_COMMIT,
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = SQL_SAVEPOINT,
    [S_RELEASE] = SQL_RELEASE,
    [S_ROLLBACK_TO] = "ROLLBACK TO r",
    [S_CHANGE_SAVEPOINT] = "SAVEPOINT catalog_change",
    [S_CHANGE_RELEASE] = "RELEASE catalog_change",
    [S_CHANGE_ROLLBACK_TO] = "ROLLBACK TO catalog_change",
    [S_USER_VERSION] = "PRAGMA user_version",
    [S_META_INIT] = "INSERT INTO meta(key, value) VALUES ('catalog_version', '0')"
                    " ON CONFLICT(key) DO NOTHING",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_CATALOG_VERSION] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'",
    [S_CATALOG_BUMP] = "INSERT INTO meta(key, value) VALUES ('catalog_version', '1')"
                       " ON CONFLICT(key) DO UPDATE"
                       " SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",

    /* An upsert rather than INSERT OR REPLACE: REPLACE deletes the row first, which the
     * operators that reference the plan would see as a foreign key violation. */
    [S_PLAN_PUT] = "INSERT INTO number_plans(country, calling_code, trunk_prefix,"
                   " international_prefix, nsn_length_min, nsn_length_max, mobile_prefixes)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                   " ON CONFLICT(country) DO UPDATE SET calling_code = excluded.calling_code,"
                   " trunk_prefix = excluded.trunk_prefix,"
                   " international_prefix = excluded.international_prefix,"
                   " nsn_length_min = excluded.nsn_length_min,"
                   " nsn_length_max = excluded.nsn_length_max,"
                   " mobile_prefixes = excluded.mobile_prefixes",
    [S_OPERATOR_ADD] = "INSERT INTO operators(id, name, country, currency, connector, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_RANGE_ADD] = "INSERT INTO number_ranges(prefix, operator_id) VALUES (?1, ?2)",
    [S_PRODUCT_ADD] = "INSERT INTO products(id, operator_id, kind, face_minor, price_minor,"
                      " min_minor, max_minor, step_minor, price_basis_points, validity_days)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_PORTABILITY_SET] = "INSERT INTO portability(msisdn, operator_id, updated_at)"
                          " VALUES (?1, ?2, ?3) ON CONFLICT(msisdn) DO UPDATE"
                          " SET operator_id = excluded.operator_id,"
                          " updated_at = excluded.updated_at",
    [S_PORTABILITY_GET] = "SELECT operator_id FROM portability WHERE msisdn = ?1",
    /* A range scan of the msisdn primary key: '+' || prefix up to the same with ':' ('9' + 1). */
    [S_SUBSCRIBERS_UNDER_PREFIX] = "SELECT count(*) FROM subscribers"
                                   " WHERE msisdn >= '+' || ?1 AND msisdn < '+' || ?1 || ':'"
                                   " AND operator_id <> ?2",
    [S_LOAD_PLANS] = "SELECT country, calling_code, trunk_prefix, international_prefix,"
                     " nsn_length_min, nsn_length_max, mobile_prefixes"
                     " FROM number_plans ORDER BY country",
    [S_LOAD_OPERATORS] = "SELECT id, name, country, currency, connector FROM operators"
                         " ORDER BY id",
    [S_LOAD_RANGES] = "SELECT prefix, operator_id FROM number_ranges ORDER BY prefix",
    [S_LOAD_PRODUCTS] = "SELECT id, operator_id, kind, face_minor, price_minor, min_minor,"
                        " max_minor, step_minor, price_basis_points, validity_days"
                        " FROM products WHERE active = 1 ORDER BY operator_id, id",

    [S_ACCOUNT_GET] = SQL_ACCOUNT_GET,
    [S_ACCOUNT_INSERT] = SQL_ACCOUNT_INSERT,
    /* The currency condition makes a transfer in the wrong currency touch no row, which costs
     * nothing extra. An overflowing sum becomes a REAL, which the accounts CHECK refuses. */
    [S_ACCOUNT_MOVE] = SQL_ACCOUNT_MOVE,
    [S_TRANSFER_INSERT] = SQL_TRANSFER_INSERT,

    /* store_verify: each query returns one finished sentence per problem. */
    /* Per account, two index range scans (transfers_credit, transfers_debit): no sort of the
     * whole ledger, so memory stays flat however many transfers there are. */
    [S_VERIFY_BALANCES] =
        "SELECT printf('Account %s (%s) has balance %s but its transfers add up to %s.',"
        "  code, currency, balance_minor, net_minor)"
        " FROM (SELECT a.id, a.code, a.currency, a.balance_minor,"
        "  (SELECT topup_exact_sum(amount_minor) FROM ("
        "    SELECT amount_minor FROM transfers WHERE credit_account_id = a.id"
        "    UNION ALL SELECT -amount_minor FROM transfers WHERE debit_account_id = a.id))"
        "  AS net_minor FROM accounts a)"
        " WHERE balance_minor IS NOT net_minor ORDER BY id",
    [S_VERIFY_CURRENCIES] =
        "SELECT printf('The balances of the %s accounts add up to %s instead of 0.',"
        "  currency, total_minor)"
        " FROM (SELECT currency, topup_exact_sum(balance_minor) AS total_minor FROM accounts"
        "  GROUP BY currency)"
        " WHERE total_minor IS NOT 0 ORDER BY currency",
    [S_VERIFY_TRANSFER_ACCOUNTS] =
        "SELECT CASE"
        "  WHEN d.id IS NULL THEN printf('Transfer %d of %s %s debits account %d, which does not"
        " exist.', t.id, t.amount_minor, t.currency, t.debit_account_id)"
        "  WHEN c.id IS NULL THEN printf('Transfer %d of %s %s credits account %d, which does not"
        " exist.', t.id, t.amount_minor, t.currency, t.credit_account_id)"
        "  ELSE printf('Transfer %d of %s is in %s but debits account %s (%s) and credits account"
        " %s (%s).', t.id, t.amount_minor, t.currency, d.code, d.currency, c.code, c.currency)"
        " END"
        " FROM transfers t"
        " LEFT JOIN accounts d ON d.id = t.debit_account_id"
        " LEFT JOIN accounts c ON c.id = t.credit_account_id"
        " WHERE d.currency IS NOT t.currency OR c.currency IS NOT t.currency ORDER BY t.id",
    [S_VERIFY_ORDERS] =
        "WITH moved AS ("
        "  SELECT o.id, o.msisdn, o.face_minor, o.price_minor,"
        "   coalesce(f.code, printf('#%d', o.funding_account_id)) AS funding_code,"
        "   topup_exact_sum(CASE WHEN t.credit_account_id = x.credited_id THEN t.amount_minor"
        "    WHEN t.debit_account_id = x.credited_id THEN -t.amount_minor END) AS credited,"
        "   topup_exact_sum(CASE WHEN t.debit_account_id = o.funding_account_id THEN t.amount_minor"
        "    WHEN t.credit_account_id = o.funding_account_id THEN -t.amount_minor END) AS debited"
        "  FROM orders o"
        /* The face value goes to the subscriber, or for an operator behind a connector to
         * what topup owes that operator. */
        "  JOIN (SELECT o2.id AS order_id, CASE WHEN op.connector = 'http' THEN oa.id"
        "    ELSE s.account_id END AS credited_id"
        "   FROM orders o2"
        "   LEFT JOIN operators op ON op.id = o2.operator_id"
        "   LEFT JOIN subscribers s ON s.msisdn = o2.msisdn"
        "   LEFT JOIN accounts oa ON oa.code = 'operator:' || o2.operator_id"
        "    AND oa.currency = o2.currency"
        "   WHERE o2.status = 'succeeded') x ON x.order_id = o.id"
        "  LEFT JOIN accounts f ON f.id = o.funding_account_id"
        "  LEFT JOIN transfers t ON t.order_id = o.id"
        "  WHERE o.status = 'succeeded' GROUP BY o.id)"
        " SELECT CASE"
        "  WHEN credited IS NOT face_minor AND debited IS NOT price_minor THEN printf('Order %d"
        " succeeded but its transfers moved %s into the account of %s instead of its face value"
        " %d, and %s out of funding account %s instead of its price %d.', id, credited, msisdn,"
        " face_minor, debited, funding_code, price_minor)"
        "  WHEN credited IS NOT face_minor THEN printf('Order %d succeeded but its transfers moved"
        " %s into the account of %s instead of its face value %d.', id, credited, msisdn,"
        " face_minor)"
        "  ELSE printf('Order %d succeeded but its transfers moved %s out of funding account %s"
        " instead of its price %d.', id, debited, funding_code, price_minor)"
        " END"
        " FROM moved WHERE credited IS NOT face_minor OR debited IS NOT price_minor ORDER BY id",
    [S_VERIFY_ORPHANS] =
        "SELECT printf('Transfer %d of %s %s belongs to order %d, which does not exist.',"
        "  t.id, t.amount_minor, t.currency, t.order_id)"
        " FROM transfers t WHERE t.order_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = t.order_id) ORDER BY t.id",
    /* Money taken for an order that could not be credited waits in refunds_payable:PROVIDER
     * until its refund succeeds, so each such account holds exactly the refunds still owed. */
    /* A partner order the operator refused gave everything back: each account its transfers
     * touched is where it was before. */
    [S_VERIFY_REFUNDED_PARTNER_ORDERS] =
        "SELECT printf('Partner order %d was refunded but its transfers leave %s on account %s.',"
        "  order_id, net_minor, code)"
        " FROM (SELECT t.order_id, a.id AS account_id, a.code,"
        "  topup_exact_sum(CASE WHEN t.credit_account_id = a.id THEN t.amount_minor"
        "   ELSE -t.amount_minor END) AS net_minor"
        "  FROM orders o JOIN transfers t ON t.order_id = o.id"
        "  JOIN accounts a ON a.id = t.credit_account_id OR a.id = t.debit_account_id"
        "  WHERE o.status = 'refunded' AND o.channel = 'partner'"
        "  GROUP BY t.order_id, a.id)"
        " WHERE net_minor IS NOT 0 ORDER BY order_id, account_id",
    /* A reversed recharge took back exactly what it credited. */
    [S_VERIFY_REVERSED_ORDERS] =
        "SELECT printf('Order %d was reversed but its transfers leave %s on the account of %s.',"
        "  id, net_minor, msisdn)"
        " FROM (SELECT o.id, o.msisdn,"
        "  topup_exact_sum(CASE WHEN t.credit_account_id = s.account_id THEN t.amount_minor"
        "   WHEN t.debit_account_id = s.account_id THEN -t.amount_minor END) AS net_minor"
        "  FROM orders o JOIN subscribers s ON s.msisdn = o.msisdn"
        "  LEFT JOIN transfers t ON t.order_id = o.id"
        "  WHERE o.status = 'reversed' GROUP BY o.id)"
        " WHERE net_minor IS NOT 0 ORDER BY id",
    [S_VERIFY_REFUNDS_OWED] =
        "WITH owed AS ("
        "  SELECT 'refunds_payable:' || p.provider AS code, r.currency,"
        "   topup_exact_sum(r.amount_minor) AS owed_minor"
        "  FROM refunds r JOIN payments p ON p.id = r.payment_id"
        "  WHERE r.status <> 'succeeded' GROUP BY 1, 2),"
        " held AS (SELECT code, currency, balance_minor FROM accounts"
        "  WHERE kind = 'refunds_payable')"
        " SELECT printf('Account %s (%s) holds %s but the refunds still owed add up to %s.',"
        "  code, currency, held_minor, owed_minor) FROM ("
        "  SELECT h.code, h.currency, h.balance_minor AS held_minor,"
        "   coalesce(o.owed_minor, 0) AS owed_minor"
        "  FROM held h LEFT JOIN owed o ON o.code = h.code AND o.currency = h.currency"
        "  UNION ALL"
        "  SELECT o.code, o.currency, 0, o.owed_minor FROM owed o"
        "  WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.code = o.code"
        "   AND h.currency = o.currency))"
        " WHERE held_minor IS NOT owed_minor",
    [S_TRANSFER_COUNT] = "SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM accounts)",

    [S_SUBSCRIBER_GET] = SQL_SUBSCRIBER_GET,
    [S_SUBSCRIBER_INSERT] = SQL_SUBSCRIBER_INSERT,
    [S_SUBSCRIBER_UPDATE] = SQL_SUBSCRIBER_UPDATE,
    /* Two index range scans (transfers_credit, transfers_debit) walked backwards and merged,
     * so a page costs O(limit) even for an account with millions of transfers. */
    [S_STATEMENT] = "SELECT id, order_id, kind, credit, amount_minor, currency, created_at FROM ("
                    " SELECT * FROM (SELECT id, order_id, kind, 1 AS credit, amount_minor,"
                    "  currency, created_at FROM transfers"
                    "  WHERE credit_account_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3)"
                    " UNION ALL"
                    " SELECT * FROM (SELECT id, order_id, kind, 0 AS credit, amount_minor,"
                    "  currency, created_at FROM transfers"
                    "  WHERE debit_account_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3))"
                    " ORDER BY id DESC LIMIT ?3",

    [S_ORDER_INSERT] = SQL_ORDER_INSERT,
    [S_EVENT_FIRST] = SQL_EVENT_FIRST,
    /* The status condition makes a stale order_row (another writer moved the order) touch no
     * row instead of overwriting a newer state. */
    [S_ORDER_UPDATE] = SQL_ORDER_UPDATE,
    /* The next seq comes from a search of the (order_id, seq) primary key: a few rows. */
    [S_EVENT_APPEND] = SQL_EVENT_APPEND,
    [S_ORDER_STATUS] = "SELECT status FROM orders WHERE id = ?1",
    [S_ORDER_GET] = "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ?1",
    [S_ORDER_EVENTS] = "SELECT order_id, seq, from_status, to_status, reason, created_at"
                       " FROM order_events WHERE order_id = ?1 ORDER BY seq LIMIT ?2",
    [S_ORDERS_LIST] = "SELECT " ORDER_COLUMNS " FROM orders WHERE id < ?1"
                      " ORDER BY id DESC LIMIT ?2",
    [S_ORDERS_LIST_MSISDN] = "SELECT " ORDER_COLUMNS " FROM orders WHERE msisdn = ?3 AND id < ?1"
                             " ORDER BY id DESC LIMIT ?2",

    /* A portal user's orders, through portal_orders' (msisdn, order_id) index. */
    [S_ORDERS_LIST_PORTAL] = "SELECT " ORDER_COLUMNS " FROM orders WHERE id IN"
                             " (SELECT order_id FROM portal_orders WHERE msisdn = ?3"
                             " AND order_id < ?1 ORDER BY order_id DESC LIMIT ?2)"
                             " ORDER BY id DESC",
    [S_KEY_INSERT] = "INSERT INTO api_keys(name, key_hash, scopes, funding_account, created_at,"
                     " revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_KEY_FIND] = "SELECT " API_KEY_COLUMNS " FROM api_keys"
                   " WHERE key_hash = ?1 AND revoked_at IS NULL",
    [S_KEY_LIST] = "SELECT " API_KEY_COLUMNS " FROM api_keys ORDER BY id LIMIT ?1",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",

    [S_IDEMPOTENCY_GET] = SQL_IDEMPOTENCY_GET,
    [S_IDEMPOTENCY_PUT] = SQL_IDEMPOTENCY_PUT,
    [S_IDEMPOTENCY_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",
};

/* ---- errors ---- */

static topup_result refuse(store *st, topup_result result, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why a call was refused, for store_errmsg, and returns result. */
static topup_result refuse(store *st, topup_result result, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(st->errmsg, sizeof st->errmsg, format, arguments);
    va_end(arguments);
    return result;
}

/* Maps a failed SQLite call (rc is an extended result code) to a topup_result and records
 * SQLite's message. A CHECK constraint only fails on input the caller should not have sent, so
 * it is an invalid argument, not a storage failure; store_transfer maps the balance CHECK
 * itself. */
static topup_result fail(store *st, int rc)
{
    snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return TOPUP_E_ALREADY_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return TOPUP_E_NOT_FOUND;
    case SQLITE_CONSTRAINT_CHECK:
        return TOPUP_E_INVALID_ARGUMENT;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return TOPUP_E_NOMEM;
    case SQLITE_NOTADB:
        return TOPUP_E_SCHEMA;
    default:
        return TOPUP_E_STORAGE;
    }
}

/* ---- statements ---- */

/* The cached statement id, prepared now if this is its first use; NULL (errmsg set) when the
 * SQL does not compile, which before store_migrate means a table is missing. */
static sqlite3_stmt *statement(store *st, statement_id id)
{
    sqlite3_stmt **slot = &st->statements[id];
    if (*slot)
        return *slot;
    int rc =
        sqlite3_prepare_v3(st->db, statement_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        fail(st, rc);
        *slot = NULL;
    }
    return *slot;
}

/* Readies a used statement for its next use without keeping pointers to the caller's strings. */
static void finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Prepares-or-fetches id, or returns from the calling function with the failure. */
#define STATEMENT_OR_RETURN(s, st, id)                                                             \
    sqlite3_stmt *s = statement((st), (id));                                                       \
    if (!s) {                                                                                      \
        return fail((st), sqlite3_errcode((st)->db));                                              \
    }

/* Runs a statement that returns no row and finishes it. */
static topup_result step_done(store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    topup_result result = rc == SQLITE_DONE ? TOPUP_OK : fail(st, rc);
    finish(s);
    return result;
}

/* Runs one of the argument-less statements (transactions, savepoints). */
static topup_result run(store *st, statement_id id)
{
    STATEMENT_OR_RETURN(s, st, id);
    return step_done(st, s);
}

static void bind_text(sqlite3_stmt *s, int index, const char *text)
{
    sqlite3_bind_text(s, index, text, -1, SQLITE_STATIC);
}

/* Copies a text column into a fixed buffer, truncated to fit; "" for NULL. */
static void column_copy(sqlite3_stmt *s, int column, char *out, size_t out_size)
{
    const unsigned char *text = sqlite3_column_text(s, column);
    size_t length = text ? (size_t)sqlite3_column_bytes(s, column) : 0;
    if (length >= out_size)
        length = out_size - 1;
    if (length)
        memcpy(out, text, length);
    out[length] = '\0';
}

/* ---- input checks (cheap: they run on the hot path) ---- */

/* Non-empty and shorter than size, without reading past size. */
static bool text_fits(const char *text, size_t size)
{
    return text && text[0] != '\0' && strnlen(text, size) < size;
}

static bool digits_valid(const char *text, size_t length_min, size_t length_max)
{
    if (!text)
        return false;
    size_t length = 0;
    for (; text[length] != '\0'; length++) {
        if (length >= length_max || text[length] < '0' || text[length] > '9')
            return false;
    }
    return length >= length_min;
}

/* '+' and 2-15 digits not starting with 0: the shape of what msisdn_normalize produces. */
static bool e164_valid(const char *text)
{
    return text && text[0] == '+' && text[1] >= '1' && text[1] <= '9' &&
           digits_valid(text + 1, 2, E164_SIZE - 2);
}

/* Three upper-case letters; whether the code is known is checked where accounts are made. */
static bool currency_shape_valid(const char *code)
{
    if (!code)
        return false;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    return code[3] == '\0';
}

static bool subscriber_status_valid(const char *status)
{
    return status && (strcmp(status, "active") == 0 || strcmp(status, "suspended") == 0 ||
                      strcmp(status, "closed") == 0);
}

/* Idempotency keys: 1-64 printable ASCII characters. */
static bool idempotency_key_valid(const char *key)
{
    if (!text_fits(key, IDEMPOTENCY_KEY_SIZE))
        return false;
    for (const char *p = key; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

/* The longest prefix of text that fits in size - 1 bytes without splitting a UTF-8 sequence:
 * an event's reason can come from a provider's error text, and an over-long one is shortened
 * rather than allowed to refuse the state change it explains. */
static int reason_length(const char *text)
{
    size_t length = strnlen(text, REASON_SIZE);
    if (length < REASON_SIZE)
        return (int)length;
    length = REASON_SIZE - 1;
    while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
        length--;
    return (int)length;
}

/* Functions that take several statements to make one change refuse to run outside a
 * transaction: a failure half-way would leave, say, a balance moved without its transfer. */
static topup_result require_transaction(store *st, const char *function)
{
    if (!sqlite3_get_autocommit(st->db))
        return TOPUP_OK;
    assert(!"store write outside a transaction");
    return refuse(st, TOPUP_E_STORAGE, "%s must be called inside store_begin/store_commit",
                  function);
}

/* ---- exact sums ---- */

/* SQLite aligns aggregate contexts to 8 bytes only, so the 128-bit total is kept as bytes. */
typedef struct exact_sum {
    unsigned char total[sizeof(int128)]; /* of every integer seen; cannot overflow */
    bool invalid;                        /* a value that is neither an integer nor NULL was seen */
} exact_sum;

static void exact_sum_step(sqlite3_context *context, int argument_count, sqlite3_value **arguments)
{
    (void)argument_count;
    exact_sum *sum = sqlite3_aggregate_context(context, sizeof *sum);
    if (!sum) {
        sqlite3_result_error_nomem(context);
        return;
    }
    switch (sqlite3_value_type(arguments[0])) {
    case SQLITE_NULL:
        break;
    case SQLITE_INTEGER: {
        int128 total;
        memcpy(&total, sum->total, sizeof total);
        total += sqlite3_value_int64(arguments[0]);
        memcpy(sum->total, &total, sizeof total);
        break;
    }
    default:
        sum->invalid = true;
        break;
    }
}

static void exact_sum_final(sqlite3_context *context)
{
    exact_sum *sum = sqlite3_aggregate_context(context, 0);
    if (!sum) {
        sqlite3_result_int64(context, 0);
        return;
    }
    if (sum->invalid) {
        sqlite3_result_text(context, "a non-integer amount", -1, SQLITE_STATIC);
        return;
    }
    int128 total;
    memcpy(&total, sum->total, sizeof total);
    if (total >= INT64_MIN && total <= INT64_MAX) {
        sqlite3_result_int64(context, (int64_t)total);
        return;
    }
    /* Decimal text of a value beyond int64: 39 digits, a sign and the NUL at most. */
    char text[48];
    char *p = text + sizeof text;
    *--p = '\0';
    uint128 magnitude = total < 0 ? -(uint128)total : (uint128)total;
    do {
        *--p = (char)('0' + (int)(magnitude % 10));
        magnitude /= 10;
    } while (magnitude);
    if (total < 0)
        *--p = '-';
    sqlite3_result_text(context, p, -1, SQLITE_TRANSIENT);
}

/* ---- lifecycle ---- */

static topup_result user_version(store *st, int *version)
{
    STATEMENT_OR_RETURN(s, st, S_USER_VERSION);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

/* Connection settings. WAL lets readers run beside the writer; synchronous=FULL makes a commit
 * durable when it returns, which is what a 2xx promises. temp_store=MEMORY keeps the savepoint
 * sub-journal (the pages each request's savepoint may have to undo) in memory: by default it
 * spills to a temporary file past 64 KiB, and those writes cost 40% of a recharge batch
 * (about 14,000 recharges/s instead of 24,000 on the machine this was measured on). Nothing
 * here sorts a whole table, so keeping temporary data in memory stays small. */
static topup_result configure(store *st)
{
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA busy_timeout = %d; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
             " PRAGMA cache_size = -%d; PRAGMA temp_store = MEMORY;",
             BUSY_TIMEOUT_MS, CACHE_SIZE_KIB);
    int rc = sqlite3_exec(st->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(st, rc);

    rc = sqlite3_create_function_v2(st->db, "topup_exact_sum", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                    NULL, exact_sum_step, exact_sum_final, NULL);
    if (rc != SQLITE_OK)
        return fail(st, rc);

    /* The journal mode is stored in the file, so a read-only connection inherits it. */
    if (st->mode == STORE_READ_ONLY)
        return TOPUP_OK;
    sqlite3_stmt *s;
    rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail(st, rc);
    rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc != SQLITE_ROW) {
        result = fail(st, rc);
    } else {
        const char *mode = (const char *)sqlite3_column_text(s, 0);
        const char *file = sqlite3_db_filename(st->db, "main");
        bool in_memory = !file || file[0] == '\0';
        if (!in_memory && (!mode || strcmp(mode, "wal") != 0))
            result = refuse(st, TOPUP_E_STORAGE, "the database refused WAL mode (it stays in %s)",
                            mode ? mode : "an unknown mode");
    }
    sqlite3_finalize(s);
    return result;
}

/* The WAL hook SQLite calls after every commit; it replaces the automatic checkpoint. */
static int remember_wal_size(void *context, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((store *)context)->wal_pages = pages;
    return SQLITE_OK;
}

topup_result store_autocheckpoint_disable(store *st)
{
    /* Installing a WAL hook is what turns the automatic checkpoint off (it is one itself). */
    sqlite3_wal_hook(st->db, remember_wal_size, st);
    return TOPUP_OK;
}

int store_wal_pages(const store *st)
{
    return st->wal_pages;
}

topup_result store_checkpoint(store *st, int wal_pages_max, int *wal_pages)
{
    int log_pages = 0, checkpointed_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                       &checkpointed_pages);
    /* A writer that never pauses can keep a passive checkpoint from ever reaching the end of the
     * WAL, and the WAL only starts over once it has. Past the bound, wait for the writer. */
    if (rc == SQLITE_OK && log_pages > wal_pages_max)
        rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, &log_pages,
                                       &checkpointed_pages);
    if (wal_pages)
        *wal_pages = log_pages;
    if (rc == SQLITE_OK && log_pages == checkpointed_pages)
        st->wal_pages = 0; /* restarted, or about to be by the next commit */
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? TOPUP_OK : fail(st, rc);
}

topup_result store_open(const char *path, store_mode mode, store **out)
{
    *out = NULL;
    if (!path)
        return TOPUP_E_INVALID_ARGUMENT;
    /* Checked first because SQLite would otherwise create an empty database with no schema. */
    if (mode != STORE_CREATE && access(path, F_OK) != 0)
        return TOPUP_E_IO;

    store *st = calloc(1, sizeof *st);
    if (!st)
        return TOPUP_E_NOMEM;
    st->mode = mode;
    int flags = SQLITE_OPEN_NOMUTEX;
    if (mode == STORE_READ_ONLY)
        flags |= SQLITE_OPEN_READONLY;
    else
        flags |= SQLITE_OPEN_READWRITE | (mode == STORE_CREATE ? SQLITE_OPEN_CREATE : 0);

    topup_result result = TOPUP_OK;
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        result = !st->db                          ? TOPUP_E_NOMEM
                 : (rc & 0xff) == SQLITE_CANTOPEN ? TOPUP_E_IO
                                                  : TOPUP_E_STORAGE;
    } else {
        sqlite3_extended_result_codes(st->db, 1);
        result = configure(st);
    }
    if (result == TOPUP_OK && mode != STORE_CREATE) {
        size_t migration_count;
        schema_sqlite_migrations(&migration_count);
        int version = 0;
        result = user_version(st, &version);
        if (result == TOPUP_OK && version != (int)migration_count)
            result = TOPUP_E_SCHEMA;
    }
    if (result != TOPUP_OK) {
        store_close(st);
        return result;
    }
    *out = st;
    return TOPUP_OK;
}

void store_close(store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->statements[i]);
    for (int i = 0; i < STORE_EXTRA_STATEMENTS_MAX; i++)
        sqlite3_finalize(st->extra_statements[i]);
    sqlite3_close_v2(st->db);
    free(st);
}

/* Foreign keys are off while migrations run (a table rebuild drops a table others point at),
 * so each migration proves before it commits that every reference still resolves. */
static int foreign_keys_hold(store *st)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW) {
        snprintf(st->errmsg, sizeof st->errmsg, "a migration left a dangling foreign key");
        return SQLITE_CONSTRAINT;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Applies migration index (0-based) and records version index + 1 in the same transaction, so a
 * crash leaves the database at one version or the next, never between. */
static topup_result migrate_one(store *st, const char *sql, int version)
{
    topup_result result = run(st, S_BEGIN);
    if (result != TOPUP_OK)
        return result;
    /* Read again under the write lock: another process may have migrated meanwhile. */
    int current = 0;
    result = user_version(st, &current);
    if (result == TOPUP_OK && current < version) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version);
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = foreign_keys_hold(st);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(st->db, pragma, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            result = fail(st, rc);
            /* The SQL itself failed ("table meta already exists"): not a database this
             * migration can apply to, as opposed to a disk or lock failure. */
            if ((rc & 0xff) == SQLITE_ERROR)
                result = TOPUP_E_SCHEMA;
        }
    }
    if (result == TOPUP_OK)
        result = run(st, S_COMMIT);
    if (result != TOPUP_OK)
        store_rollback(st);
    return result;
}

topup_result store_migrate(store *st, int *from_version, int *to_version)
{
    size_t migration_count;
    const char *const *migrations = schema_sqlite_migrations(&migration_count);
    int version = 0;
    topup_result result = user_version(st, &version);
    if (result != TOPUP_OK)
        return result;
    if (from_version)
        *from_version = version;
    if (version < 0 || version > (int)migration_count)
        return refuse(st, TOPUP_E_SCHEMA,
                      "the database is at schema version %d; this program knows %zu", version,
                      migration_count);
    /* The pragma is a no-op inside a transaction, so it is set around them all. */
    sqlite3_exec(st->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
    for (int i = version; i < (int)migration_count && result == TOPUP_OK; i++)
        result = migrate_one(st, migrations[i], i + 1);
    sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (result != TOPUP_OK)
        return result;
    if (to_version)
        *to_version = (int)migration_count;
    STATEMENT_OR_RETURN(s, st, S_META_INIT);
    return step_done(st, s);
}

const char *store_errmsg(const store *st)
{
    return st->errmsg;
}

/* ---- transactions ---- */

topup_result store_begin(store *st)
{
    return run(st, S_BEGIN);
}

topup_result store_commit(store *st)
{
    return run(st, S_COMMIT);
}

/* Safe to call when no transaction is open (after a failed commit SQLite may have ended it). */
void store_rollback(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        (void)run(st, S_ROLLBACK);
}

topup_result store_savepoint(store *st)
{
    return run(st, S_SAVEPOINT);
}

void store_savepoint_release(store *st)
{
    (void)run(st, S_RELEASE);
}

void store_savepoint_rollback(store *st)
{
    /* ROLLBACK TO leaves the savepoint open; the RELEASE closes it. */
    (void)run(st, S_ROLLBACK_TO);
    (void)run(st, S_RELEASE);
}

/* ---- meta ---- */

topup_result store_catalog_version(store *st, int64_t *version)
{
    STATEMENT_OR_RETURN(s, st, S_CATALOG_VERSION);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        *version = 0; /* not migrated yet: no catalog either */
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_meta_set(store *st, const char *key, const char *value)
{
    if (!text_fits(key, 256) || !value)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "a meta key must be 1-255 bytes");
    STATEMENT_OR_RETURN(s, st, S_META_SET);
    bind_text(s, 1, key);
    bind_text(s, 2, value);
    return step_done(st, s);
}

topup_result store_meta_get(store *st, const char *key, char *value, size_t value_size)
{
    if (!key || value_size == 0)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "store_meta_get needs a key and a buffer");
    STATEMENT_OR_RETURN(s, st, S_META_GET);
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(s, 0);
        size_t length = (size_t)sqlite3_column_bytes(s, 0);
        if (length >= value_size)
            result = refuse(st, TOPUP_E_INVALID_ARGUMENT,
                            "meta %s is %zu bytes, longer than the buffer", key, length);
        else
            memcpy(value, text ? (const char *)text : "", length + 1);
    } else if (rc == SQLITE_DONE) {
        result = refuse(st, TOPUP_E_NOT_FOUND, "no meta value %s", key);
    } else {
        result = fail(st, rc);
    }
    finish(s);
    return result;
}

/* ---- catalog ---- */

/* Every catalog change runs in its own savepoint together with the version bump, so a daemon
 * that sees the new version also sees the change, and a half-made change leaves nothing. */
static topup_result change_begin(store *st)
{
    return run(st, S_CHANGE_SAVEPOINT);
}

static topup_result change_end(store *st, topup_result result)
{
    if (result == TOPUP_OK)
        result = run(st, S_CATALOG_BUMP);
    if (result == TOPUP_OK)
        result = run(st, S_CHANGE_RELEASE);
    if (result != TOPUP_OK) {
        (void)run(st, S_CHANGE_ROLLBACK_TO);
        (void)run(st, S_CHANGE_RELEASE);
    }
    return result;
}

/* Runs one catalog-changing statement (bindings already made) with the version bump. */
static topup_result change(store *st, sqlite3_stmt *s)
{
    topup_result result = change_begin(st);
    if (result != TOPUP_OK) {
        finish(s);
        return result;
    }
    return change_end(st, step_done(st, s));
}

static bool plan_valid(const number_plan *plan)
{
    const char *c = plan->country;
    return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] == '\0' &&
           digits_valid(plan->calling_code, 1, sizeof plan->calling_code - 1) &&
           digits_valid(plan->trunk_prefix, 0, sizeof plan->trunk_prefix - 1) &&
           digits_valid(plan->international_prefix, 0, sizeof plan->international_prefix - 1) &&
           plan->nsn_length_min >= 1 && plan->nsn_length_max >= plan->nsn_length_min &&
           plan->nsn_length_max <= 15 &&
           strnlen(plan->mobile_prefixes, sizeof plan->mobile_prefixes) <
               sizeof plan->mobile_prefixes;
}

topup_result store_plan_put(store *st, const number_plan *plan)
{
    if (!plan_valid(plan))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "numbering plan %.2s is malformed",
                      plan->country);
    STATEMENT_OR_RETURN(s, st, S_PLAN_PUT);
    bind_text(s, 1, plan->country);
    bind_text(s, 2, plan->calling_code);
    bind_text(s, 3, plan->trunk_prefix);
    bind_text(s, 4, plan->international_prefix);
    sqlite3_bind_int(s, 5, plan->nsn_length_min);
    sqlite3_bind_int(s, 6, plan->nsn_length_max);
    bind_text(s, 7, plan->mobile_prefixes);
    return change(st, s);
}

topup_result store_operator_add(store *st, const operator_info *op)
{
    if (!catalog_id_valid(op->id))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "an operator id is 1-32 characters of a-z, 0-9, _ and -");
    if (!text_fits(op->name, sizeof op->name) || !text_fits(op->country, sizeof op->country) ||
        !text_fits(op->connector, sizeof op->connector))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "operator %s needs a name, a country and a connector", op->id);
    if (!currency_shape_valid(op->currency) || !currency_find(op->currency))
        return refuse(st, TOPUP_E_CURRENCY_UNKNOWN, "operator %s: unknown currency", op->id);
    STATEMENT_OR_RETURN(s, st, S_OPERATOR_ADD);
    bind_text(s, 1, op->id);
    bind_text(s, 2, op->name);
    bind_text(s, 3, op->country);
    bind_text(s, 4, op->currency);
    bind_text(s, 5, op->connector);
    sqlite3_bind_int64(s, 6, clock_now_seconds());
    return change(st, s);
}

topup_result store_range_add(store *st, const number_range *range)
{
    if (!digits_valid(range->prefix, 1, E164_SIZE - 2) || !catalog_id_valid(range->operator_id))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "a range is 1-15 digits of E.164 prefix and an operator id");
    STATEMENT_OR_RETURN(s, st, S_RANGE_ADD);
    bind_text(s, 1, range->prefix);
    bind_text(s, 2, range->operator_id);
    return change(st, s);
}

topup_result store_product_add(store *st, const product_info *product)
{
    if (!catalog_id_valid(product->id) || !catalog_id_valid(product->operator_id))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "product and operator ids are 1-32 characters of a-z, 0-9, _ and -");
    bool fixed = product->kind == PRODUCT_FIXED;
    bool valid = product->validity_days >= 0 &&
                 (fixed ? product->face_minor > 0 && product->price_minor > 0
                        : product->kind == PRODUCT_RANGE && product->min_minor > 0 &&
                              product->max_minor >= product->min_minor && product->step_minor > 0 &&
                              product->price_basis_points > 0);
    if (!valid)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "product %s has impossible amounts",
                      product->id);
    STATEMENT_OR_RETURN(s, st, S_PRODUCT_ADD);
    bind_text(s, 1, product->id);
    bind_text(s, 2, product->operator_id);
    bind_text(s, 3, fixed ? "fixed" : "range");
    if (fixed) {
        sqlite3_bind_int64(s, 4, product->face_minor);
        sqlite3_bind_int64(s, 5, product->price_minor);
    } else {
        sqlite3_bind_int64(s, 6, product->min_minor);
        sqlite3_bind_int64(s, 7, product->max_minor);
        sqlite3_bind_int64(s, 8, product->step_minor);
        sqlite3_bind_int64(s, 9, product->price_basis_points);
    }
    sqlite3_bind_int(s, 10, product->validity_days);
    return change(st, s);
}

topup_result store_portability_set(store *st, const char *msisdn, const char *operator_id)
{
    if (!e164_valid(msisdn) || !operator_id || !catalog_id_valid(operator_id))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "portability needs an E.164 number and an operator id");
    STATEMENT_OR_RETURN(s, st, S_PORTABILITY_SET);
    bind_text(s, 1, msisdn);
    bind_text(s, 2, operator_id);
    sqlite3_bind_int64(s, 3, clock_now_seconds());
    return change(st, s);
}

topup_result store_subscribers_under_prefix(store *st, const char *prefix, const char *operator_id,
                                            int64_t *count)
{
    STATEMENT_OR_RETURN(s, st, S_SUBSCRIBERS_UNDER_PREFIX);
    bind_text(s, 1, prefix);
    bind_text(s, 2, operator_id);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(s, 0);
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_portability_get(store *st, const char *msisdn, char operator_id[CATALOG_ID_SIZE])
{
    STATEMENT_OR_RETURN(s, st, S_PORTABILITY_GET);
    bind_text(s, 1, msisdn);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        column_copy(s, 0, operator_id, CATALOG_ID_SIZE);
    else if (rc == SQLITE_DONE)
        result = TOPUP_E_NOT_FOUND;
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

typedef topup_result (*catalog_row_fn)(sqlite3_stmt *s, catalog *cat);

/* Steps a catalog query to its end, handing each row to add_row; stops at the first failure. */
static topup_result load_rows(store *st, statement_id id, catalog_row_fn add_row, catalog *cat)
{
    STATEMENT_OR_RETURN(s, st, id);
    topup_result result = TOPUP_OK;
    int rc = SQLITE_DONE;
    while (result == TOPUP_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        result = add_row(s, cat);
    if (result == TOPUP_OK && rc != SQLITE_DONE)
        result = fail(st, rc);
    finish(s);
    return result;
}

static topup_result plan_row(sqlite3_stmt *s, catalog *cat)
{
    number_plan plan = {0};
    column_copy(s, 0, plan.country, sizeof plan.country);
    column_copy(s, 1, plan.calling_code, sizeof plan.calling_code);
    column_copy(s, 2, plan.trunk_prefix, sizeof plan.trunk_prefix);
    column_copy(s, 3, plan.international_prefix, sizeof plan.international_prefix);
    plan.nsn_length_min = sqlite3_column_int(s, 4);
    plan.nsn_length_max = sqlite3_column_int(s, 5);
    column_copy(s, 6, plan.mobile_prefixes, sizeof plan.mobile_prefixes);
    return catalog_add_plan(cat, &plan);
}

static topup_result operator_row(sqlite3_stmt *s, catalog *cat)
{
    operator_info op = {0};
    column_copy(s, 0, op.id, sizeof op.id);
    column_copy(s, 1, op.name, sizeof op.name);
    column_copy(s, 2, op.country, sizeof op.country);
    column_copy(s, 3, op.currency, sizeof op.currency);
    column_copy(s, 4, op.connector, sizeof op.connector);
    return catalog_add_operator(cat, &op);
}

static topup_result range_row(sqlite3_stmt *s, catalog *cat)
{
    number_range range = {0};
    column_copy(s, 0, range.prefix, sizeof range.prefix);
    column_copy(s, 1, range.operator_id, sizeof range.operator_id);
    return catalog_add_range(cat, &range);
}

static topup_result product_row(sqlite3_stmt *s, catalog *cat)
{
    product_info product = {0};
    column_copy(s, 0, product.id, sizeof product.id);
    column_copy(s, 1, product.operator_id, sizeof product.operator_id);
    const char *kind = (const char *)sqlite3_column_text(s, 2);
    product.kind = kind && strcmp(kind, "range") == 0 ? PRODUCT_RANGE : PRODUCT_FIXED;
    product.face_minor = sqlite3_column_int64(s, 3);
    product.price_minor = sqlite3_column_int64(s, 4);
    product.min_minor = sqlite3_column_int64(s, 5);
    product.max_minor = sqlite3_column_int64(s, 6);
    product.step_minor = sqlite3_column_int64(s, 7);
    product.price_basis_points = sqlite3_column_int64(s, 8);
    product.validity_days = sqlite3_column_int(s, 9);
    return catalog_add_product(cat, &product);
}

/* Opens a read transaction when none is open, so that several queries see one snapshot;
 * *opened says whether end_read must close it. */
static topup_result begin_read(store *st, bool *opened)
{
    *opened = sqlite3_get_autocommit(st->db) != 0;
    return *opened ? run(st, S_BEGIN_READ) : TOPUP_OK;
}

static void end_read(store *st, bool opened)
{
    /* Nothing was written, so COMMIT and ROLLBACK are the same; ROLLBACK cannot fail. */
    if (opened)
        (void)run(st, S_ROLLBACK);
}

topup_result store_catalog_load(store *st, catalog **out, int64_t *version)
{
    *out = NULL;
    catalog *cat = catalog_new();
    if (!cat)
        return TOPUP_E_NOMEM;
    bool opened;
    topup_result result = begin_read(st, &opened);
    /* The version is read in the same read transaction as the catalog, so a change committed
     * between the two can never be missed by a daemon comparing versions. */
    if (result == TOPUP_OK && version)
        result = store_catalog_version(st, version);
    if (result == TOPUP_OK)
        result = load_rows(st, S_LOAD_PLANS, plan_row, cat);
    if (result == TOPUP_OK)
        result = load_rows(st, S_LOAD_OPERATORS, operator_row, cat);
    if (result == TOPUP_OK)
        result = load_rows(st, S_LOAD_RANGES, range_row, cat);
    if (result == TOPUP_OK)
        result = load_rows(st, S_LOAD_PRODUCTS, product_row, cat);
    end_read(st, opened);
    if (result != TOPUP_OK) {
        catalog_unref(cat);
        return result;
    }
    catalog_seal(cat);
    *out = cat;
    return TOPUP_OK;
}

/* ---- ledger ---- */

static void account_from_row(sqlite3_stmt *s, account_row *account)
{
    account->id = sqlite3_column_int64(s, 0);
    column_copy(s, 1, account->code, sizeof account->code);
    column_copy(s, 2, account->currency, sizeof account->currency);
    column_copy(s, 3, account->kind, sizeof account->kind);
    account->balance_minor = sqlite3_column_int64(s, 4);
    account->flags = sqlite3_column_int(s, 5);
    account->credit_limit_minor = sqlite3_column_int64(s, 6);
    account->created_at = sqlite3_column_int64(s, 7);
}

topup_result store_account_get(store *st, const char *code, const char *currency,
                               account_row *account)
{
    if (!text_fits(code, ACCOUNT_CODE_SIZE) || !currency_shape_valid(currency))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "an account is a code and a currency");
    STATEMENT_OR_RETURN(s, st, S_ACCOUNT_GET);
    bind_text(s, 1, code);
    bind_text(s, 2, currency);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        account_from_row(s, account);
    else if (rc == SQLITE_DONE)
        result = TOPUP_E_NOT_FOUND;
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_account_ensure(store *st, const char *code, const char *currency,
                                  const char *kind, int flags, int64_t credit_limit_minor,
                                  account_row *account)
{
    topup_result result = store_account_get(st, code, currency, account);
    if (result != TOPUP_E_NOT_FOUND)
        return result;
    if (!text_fits(kind, ACCOUNT_KIND_SIZE) || credit_limit_minor < 0 ||
        (flags & ~ACCOUNT_NO_OVERDRAFT) != 0)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "account %s needs a kind of 1-%d bytes, known flags and a credit limit"
                      " >= 0",
                      code, ACCOUNT_KIND_MAX);
    if (!currency_find(currency))
        return refuse(st, TOPUP_E_CURRENCY_UNKNOWN, "account %s: unknown currency %s", code,
                      currency);
    STATEMENT_OR_RETURN(s, st, S_ACCOUNT_INSERT);
    int64_t now = clock_now_seconds();
    bind_text(s, 1, code);
    bind_text(s, 2, currency);
    bind_text(s, 3, kind);
    sqlite3_bind_int(s, 4, flags);
    sqlite3_bind_int64(s, 5, credit_limit_minor);
    sqlite3_bind_int64(s, 6, now);
    result = step_done(st, s);
    if (result == TOPUP_E_ALREADY_EXISTS) /* another connection made it outside a transaction */
        return store_account_get(st, code, currency, account);
    if (result != TOPUP_OK)
        return result;
    memset(account, 0, sizeof *account);
    account->id = sqlite3_last_insert_rowid(st->db);
    snprintf(account->code, sizeof account->code, "%s", code);
    snprintf(account->currency, sizeof account->currency, "%s", currency);
    snprintf(account->kind, sizeof account->kind, "%s", kind);
    account->flags = flags;
    account->credit_limit_minor = credit_limit_minor;
    account->created_at = now;
    return TOPUP_OK;
}

/* Adds delta to one account's balance in currency, returning the new balance. A debit of a
 * no-overdraft account that ends below -credit_limit is refused; the change already made is
 * left for the caller's savepoint rollback (store.h says so), which keeps this path to a
 * single statement. */
static topup_result move(store *st, int64_t account_id, int64_t delta, const char *currency,
                         int64_t *balance)
{
    STATEMENT_OR_RETURN(s, st, S_ACCOUNT_MOVE);
    sqlite3_bind_int64(s, 1, delta);
    sqlite3_bind_int64(s, 2, account_id);
    bind_text(s, 3, currency);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW) {
        *balance = sqlite3_column_int64(s, 0);
        int flags = sqlite3_column_int(s, 1);
        int64_t credit_limit_minor = sqlite3_column_int64(s, 2);
        /* credit_limit_minor >= 0 (a CHECK), so its negation cannot overflow. */
        if (delta < 0 && (flags & ACCOUNT_NO_OVERDRAFT) && *balance < -credit_limit_minor)
            result =
                refuse(st, TOPUP_E_INSUFFICIENT_FUNDS,
                       "account %lld would go to %lld, below its limit of %lld",
                       (long long)account_id, (long long)*balance, (long long)-credit_limit_minor);
    } else if (rc == SQLITE_DONE) {
        result = refuse(st, TOPUP_E_INVALID_ARGUMENT, "account %lld does not exist or is not in %s",
                        (long long)account_id, currency);
    } else if (rc == SQLITE_CONSTRAINT_CHECK) {
        /* The only CHECK this UPDATE can break: the sum left int64 and became a REAL. */
        fail(st, rc);
        result = TOPUP_E_AMOUNT_OVERFLOW;
    } else {
        result = fail(st, rc);
    }
    finish(s);
    return result;
}

topup_result store_transfer(store *st, transfer_row *transfer, int64_t *debit_balance_after,
                            int64_t *credit_balance_after)
{
    if (transfer->amount_minor <= 0 || transfer->debit_account_id == transfer->credit_account_id ||
        transfer->order_id < 0 || !currency_shape_valid(transfer->currency) ||
        !text_fits(transfer->kind, sizeof transfer->kind))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "a transfer needs an amount > 0, two different accounts, a currency and a"
                      " kind");
    topup_result result = require_transaction(st, "store_transfer");
    if (result != TOPUP_OK)
        return result;
    int64_t debit_balance, credit_balance;
    /* amount_minor > 0, so -amount_minor cannot overflow. */
    result = move(st, transfer->debit_account_id, -transfer->amount_minor, transfer->currency,
                  &debit_balance);
    if (result != TOPUP_OK)
        return result;
    result = move(st, transfer->credit_account_id, transfer->amount_minor, transfer->currency,
                  &credit_balance);
    if (result != TOPUP_OK)
        return result;

    if (transfer->created_at <= 0)
        transfer->created_at = clock_now_seconds();
    STATEMENT_OR_RETURN(s, st, S_TRANSFER_INSERT);
    sqlite3_bind_int64(s, 1, transfer->debit_account_id);
    sqlite3_bind_int64(s, 2, transfer->credit_account_id);
    sqlite3_bind_int64(s, 3, transfer->amount_minor);
    bind_text(s, 4, transfer->currency);
    if (transfer->order_id != 0)
        sqlite3_bind_int64(s, 5, transfer->order_id);
    bind_text(s, 6, transfer->kind);
    sqlite3_bind_int64(s, 7, transfer->created_at);
    result = step_done(st, s);
    if (result != TOPUP_OK)
        return result;
    transfer->id = sqlite3_last_insert_rowid(st->db);
    if (debit_balance_after)
        *debit_balance_after = debit_balance;
    if (credit_balance_after)
        *credit_balance_after = credit_balance;
    return TOPUP_OK;
}

/* Runs one verify query; each row is one finished sentence. */
static topup_result report_rows(store *st, statement_id id, store_verify_problem_fn problem,
                                void *context, int64_t *problem_count)
{
    STATEMENT_OR_RETURN(s, st, id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        (*problem_count)++;
        if (problem)
            problem(context, text ? text : "(a problem that could not be described)");
    }
    topup_result result = rc == SQLITE_DONE ? TOPUP_OK : fail(st, rc);
    finish(s);
    return result;
}

topup_result store_verify(store *st, store_verify_problem_fn problem, void *context,
                          int64_t *problem_count, int64_t *transfer_count, int64_t *account_count)
{
    static const statement_id checks[] = {
        S_VERIFY_BALANCES,                /* (1) every balance is its transfers' net */
        S_VERIFY_CURRENCIES,              /* (2) every currency's balances sum to zero */
        S_VERIFY_TRANSFER_ACCOUNTS,       /* (3) a transfer's currency is both accounts' */
        S_VERIFY_ORDERS,                  /* (4) a succeeded order moved its face value and price */
        S_VERIFY_ORPHANS,                 /* (5) a transfer's order exists */
        S_VERIFY_REFUNDS_OWED,            /* (6) refunds payable hold exactly what is owed */
        S_VERIFY_REFUNDED_PARTNER_ORDERS, /* (7) a refunded partner order left nothing moved */
        S_VERIFY_REVERSED_ORDERS,         /* (8) a reversed recharge took back its credit */
    };
    int64_t problems = 0, transfers = 0, accounts = 0;
    bool opened;
    topup_result result = begin_read(st, &opened);
    for (size_t i = 0; result == TOPUP_OK && i < sizeof checks / sizeof checks[0]; i++)
        result = report_rows(st, checks[i], problem, context, &problems);
    if (result == TOPUP_OK) {
        sqlite3_stmt *s = statement(st, S_TRANSFER_COUNT);
        if (!s) {
            result = fail(st, sqlite3_errcode(st->db));
        } else {
            int rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                transfers = sqlite3_column_int64(s, 0);
                accounts = sqlite3_column_int64(s, 1);
            } else
                result = fail(st, rc);
            finish(s);
        }
    }
    end_read(st, opened);
    if (problem_count)
        *problem_count = problems;
    if (transfer_count)
        *transfer_count = transfers;
    if (account_count)
        *account_count = accounts;
    return result;
}

/* ---- subscribers ---- */

topup_result store_subscriber_get(store *st, const char *msisdn, subscriber_row *sub)
{
    STATEMENT_OR_RETURN(s, st, S_SUBSCRIBER_GET);
    bind_text(s, 1, msisdn);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW) {
        column_copy(s, 0, sub->msisdn, sizeof sub->msisdn);
        column_copy(s, 1, sub->operator_id, sizeof sub->operator_id);
        sub->account_id = sqlite3_column_int64(s, 2);
        column_copy(s, 3, sub->status, sizeof sub->status);
        sub->valid_until = sqlite3_column_int64(s, 4);
        sub->created_at = sqlite3_column_int64(s, 5);
        sub->balance_minor = sqlite3_column_int64(s, 6);
        column_copy(s, 7, sub->currency, sizeof sub->currency);
    } else if (rc == SQLITE_DONE) {
        result = TOPUP_E_NOT_FOUND;
    } else {
        result = fail(st, rc);
    }
    finish(s);
    return result;
}

topup_result store_subscriber_insert(store *st, const subscriber_row *sub)
{
    if (!e164_valid(sub->msisdn) || !catalog_id_valid(sub->operator_id) ||
        !subscriber_status_valid(sub->status) || sub->account_id <= 0)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "a subscriber needs an E.164 number, an operator, an account and a status");
    STATEMENT_OR_RETURN(s, st, S_SUBSCRIBER_INSERT);
    bind_text(s, 1, sub->msisdn);
    bind_text(s, 2, sub->operator_id);
    sqlite3_bind_int64(s, 3, sub->account_id);
    bind_text(s, 4, sub->status);
    sqlite3_bind_int64(s, 5, sub->valid_until);
    sqlite3_bind_int64(s, 6, sub->created_at > 0 ? sub->created_at : clock_now_seconds());
    return step_done(st, s);
}

topup_result store_subscriber_update(store *st, const char *msisdn, const char *status,
                                     int64_t valid_until)
{
    if (!subscriber_status_valid(status))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "a subscriber status is active, suspended or closed");
    STATEMENT_OR_RETURN(s, st, S_SUBSCRIBER_UPDATE);
    bind_text(s, 1, msisdn);
    bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, valid_until);
    topup_result result = step_done(st, s);
    if (result == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        result = refuse(st, TOPUP_E_NOT_FOUND, "%s is not a subscriber", msisdn);
    return result;
}

/* A cursor of 0 means "from the newest"; ids are positive, so INT64_MAX is past them all. */
static int64_t cursor(int64_t before_id)
{
    return before_id > 0 ? before_id : INT64_MAX;
}

static int64_t limit(size_t count_max)
{
    return count_max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)count_max;
}

topup_result store_statement(store *st, int64_t account_id, int64_t before_id, statement_row *rows,
                             size_t row_count_max, size_t *row_count)
{
    *row_count = 0;
    if (row_count_max == 0)
        return TOPUP_OK;
    STATEMENT_OR_RETURN(s, st, S_STATEMENT);
    sqlite3_bind_int64(s, 1, account_id);
    sqlite3_bind_int64(s, 2, cursor(before_id));
    sqlite3_bind_int64(s, 3, limit(row_count_max));
    int rc = SQLITE_DONE;
    while (*row_count < row_count_max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        statement_row *row = &rows[(*row_count)++];
        row->transfer_id = sqlite3_column_int64(s, 0);
        row->order_id = sqlite3_column_int64(s, 1);
        column_copy(s, 2, row->kind, sizeof row->kind);
        row->credit = sqlite3_column_int(s, 3) != 0;
        row->amount_minor = sqlite3_column_int64(s, 4);
        column_copy(s, 5, row->currency, sizeof row->currency);
        row->created_at = sqlite3_column_int64(s, 6);
    }
    topup_result result = rc == SQLITE_ROW || rc == SQLITE_DONE ? TOPUP_OK : fail(st, rc);
    finish(s);
    return result;
}

/* ---- orders ---- */

static topup_result order_from_row(store *st, sqlite3_stmt *s, order_row *order)
{
    memset(order, 0, sizeof *order);
    order->id = sqlite3_column_int64(s, 0);
    column_copy(s, 1, order->channel, sizeof order->channel);
    order->api_key_id = sqlite3_column_int64(s, 2);
    column_copy(s, 3, order->msisdn, sizeof order->msisdn);
    column_copy(s, 4, order->operator_id, sizeof order->operator_id);
    column_copy(s, 5, order->product_id, sizeof order->product_id);
    order->face_minor = sqlite3_column_int64(s, 6);
    order->price_minor = sqlite3_column_int64(s, 7);
    column_copy(s, 8, order->currency, sizeof order->currency);
    order->funding_account_id = sqlite3_column_int64(s, 9);
    const char *status = (const char *)sqlite3_column_text(s, 10);
    order->has_balance_after = sqlite3_column_type(s, 11) != SQLITE_NULL;
    order->balance_after_minor = sqlite3_column_int64(s, 11);
    order->valid_until = sqlite3_column_int64(s, 12);
    order->created_at = sqlite3_column_int64(s, 13);
    order->updated_at = sqlite3_column_int64(s, 14);
    if (!order_status_parse(status, &order->status) || order->status == ORDER_NONE)
        return refuse(st, TOPUP_E_STORAGE, "order %lld has an unknown status %s",
                      (long long)order->id, status ? status : "NULL");
    return TOPUP_OK;
}

topup_result store_order_insert(store *st, order_row *order, const char *reason)
{
    if (!text_fits(order->channel, sizeof order->channel) || order->api_key_id < ORDER_KEY_PORTAL ||
        !e164_valid(order->msisdn) || !catalog_id_valid(order->operator_id) ||
        !catalog_id_valid(order->product_id) || order->face_minor <= 0 || order->price_minor <= 0 ||
        !currency_shape_valid(order->currency) || order->funding_account_id <= 0)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "the order has a missing or malformed field");
    if (order_transition_check(ORDER_NONE, order->status) != TOPUP_OK)
        return refuse(st, TOPUP_E_ILLEGAL_TRANSITION, "an order cannot start as %s",
                      order_status_name(order->status));
    topup_result result = require_transaction(st, "store_order_insert");
    if (result != TOPUP_OK)
        return result;
    if (!reason)
        reason = "";
    if (order->created_at <= 0)
        order->created_at = clock_now_seconds();
    if (order->updated_at <= 0)
        order->updated_at = order->created_at;
    const char *status = order_status_name(order->status);

    STATEMENT_OR_RETURN(s, st, S_ORDER_INSERT);
    bind_text(s, 1, order->channel);
    if (order->api_key_id != 0)
        sqlite3_bind_int64(s, 2, order->api_key_id);
    bind_text(s, 3, order->msisdn);
    bind_text(s, 4, order->operator_id);
    bind_text(s, 5, order->product_id);
    sqlite3_bind_int64(s, 6, order->face_minor);
    sqlite3_bind_int64(s, 7, order->price_minor);
    bind_text(s, 8, order->currency);
    sqlite3_bind_int64(s, 9, order->funding_account_id);
    bind_text(s, 10, status);
    if (order->has_balance_after)
        sqlite3_bind_int64(s, 11, order->balance_after_minor);
    if (order->valid_until != 0)
        sqlite3_bind_int64(s, 12, order->valid_until);
    sqlite3_bind_int64(s, 13, order->created_at);
    sqlite3_bind_int64(s, 14, order->updated_at);
    result = step_done(st, s);
    if (result != TOPUP_OK)
        return result;
    int64_t id = sqlite3_last_insert_rowid(st->db);

    STATEMENT_OR_RETURN(e, st, S_EVENT_FIRST);
    sqlite3_bind_int64(e, 1, id);
    bind_text(e, 2, status);
    sqlite3_bind_text(e, 3, reason, reason_length(reason), SQLITE_STATIC);
    sqlite3_bind_int64(e, 4, order->created_at);
    result = step_done(st, e);
    if (result == TOPUP_OK)
        order->id = id;
    return result;
}

/* Why a guarded status update touched no row: the order is missing or not in from. */
static topup_result transition_missed(store *st, int64_t id, order_status from)
{
    STATEMENT_OR_RETURN(s, st, S_ORDER_STATUS);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    topup_result result;
    if (rc == SQLITE_ROW)
        result = refuse(st, TOPUP_E_ILLEGAL_TRANSITION, "order %lld is %s, not %s", (long long)id,
                        (const char *)sqlite3_column_text(s, 0), order_status_name(from));
    else if (rc == SQLITE_DONE)
        result = refuse(st, TOPUP_E_NOT_FOUND, "no order %lld", (long long)id);
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_order_transition(store *st, order_row *order, order_status to,
                                    const char *reason, int64_t at)
{
    if (order_transition_check(order->status, to) != TOPUP_OK)
        return refuse(st, TOPUP_E_ILLEGAL_TRANSITION, "order %lld cannot go from %s to %s",
                      (long long)order->id, order_status_name(order->status),
                      order_status_name(to));
    topup_result result = require_transaction(st, "store_order_transition");
    if (result != TOPUP_OK)
        return result;
    if (!reason)
        reason = "";
    if (at <= 0)
        at = clock_now_seconds();
    const char *from_name = order_status_name(order->status);
    const char *to_name = order_status_name(to);

    STATEMENT_OR_RETURN(s, st, S_ORDER_UPDATE);
    sqlite3_bind_int64(s, 1, order->id);
    bind_text(s, 2, from_name);
    bind_text(s, 3, to_name);
    sqlite3_bind_int64(s, 4, at);
    sqlite3_bind_int(s, 5, order->has_balance_after);
    sqlite3_bind_int64(s, 6, order->balance_after_minor);
    sqlite3_bind_int64(s, 7, order->valid_until);
    result = step_done(st, s);
    if (result != TOPUP_OK)
        return result;
    if (sqlite3_changes64(st->db) == 0)
        return transition_missed(st, order->id, order->status);

    STATEMENT_OR_RETURN(e, st, S_EVENT_APPEND);
    sqlite3_bind_int64(e, 1, order->id);
    bind_text(e, 2, from_name);
    bind_text(e, 3, to_name);
    sqlite3_bind_text(e, 4, reason, reason_length(reason), SQLITE_STATIC);
    sqlite3_bind_int64(e, 5, at);
    result = step_done(st, e);
    if (result != TOPUP_OK)
        return result;
    order->status = to;
    order->updated_at = at;
    return TOPUP_OK;
}

topup_result store_order_get(store *st, int64_t id, order_row *order)
{
    STATEMENT_OR_RETURN(s, st, S_ORDER_GET);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    topup_result result;
    if (rc == SQLITE_ROW)
        result = order_from_row(st, s, order);
    else if (rc == SQLITE_DONE)
        result = TOPUP_E_NOT_FOUND;
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_order_events(store *st, int64_t order_id, order_event_row *events,
                                size_t event_count_max, size_t *event_count)
{
    *event_count = 0;
    if (event_count_max == 0)
        return TOPUP_OK;
    STATEMENT_OR_RETURN(s, st, S_ORDER_EVENTS);
    sqlite3_bind_int64(s, 1, order_id);
    sqlite3_bind_int64(s, 2, limit(event_count_max));
    topup_result result = TOPUP_OK;
    int rc = SQLITE_DONE;
    while (result == TOPUP_OK && *event_count < event_count_max &&
           (rc = sqlite3_step(s)) == SQLITE_ROW) {
        order_event_row *event = &events[(*event_count)++];
        event->order_id = sqlite3_column_int64(s, 0);
        event->seq = sqlite3_column_int(s, 1);
        column_copy(s, 4, event->reason, sizeof event->reason);
        event->created_at = sqlite3_column_int64(s, 5);
        const char *from = (const char *)sqlite3_column_text(s, 2);
        if (!order_status_parse(from, &event->from)) {
            result = refuse(st, TOPUP_E_STORAGE, "event %d of order %lld has an unknown status",
                            event->seq, (long long)order_id);
            break;
        }
        const char *to = (const char *)sqlite3_column_text(s, 3);
        if (!order_status_parse(to, &event->to))
            result = refuse(st, TOPUP_E_STORAGE, "event %d of order %lld has an unknown status",
                            event->seq, (long long)order_id);
    }
    if (result == TOPUP_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_orders_list(store *st, const char *msisdn, int64_t before_id, order_row *orders,
                               size_t order_count_max, size_t *order_count)
{
    *order_count = 0;
    if (order_count_max == 0)
        return TOPUP_OK;
    STATEMENT_OR_RETURN(s, st, msisdn ? S_ORDERS_LIST_MSISDN : S_ORDERS_LIST);
    sqlite3_bind_int64(s, 1, cursor(before_id));
    sqlite3_bind_int64(s, 2, limit(order_count_max));
    if (msisdn)
        bind_text(s, 3, msisdn);
    topup_result result = TOPUP_OK;
    int rc = SQLITE_DONE;
    while (result == TOPUP_OK && *order_count < order_count_max &&
           (rc = sqlite3_step(s)) == SQLITE_ROW)
        result = order_from_row(st, s, &orders[(*order_count)++]);
    if (result == TOPUP_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_portal_orders(store *st, const char *msisdn, int64_t before_id,
                                 order_row *orders, size_t count_max, size_t *count)
{
    *count = 0;
    if (count_max == 0)
        return TOPUP_OK;
    STATEMENT_OR_RETURN(s, st, S_ORDERS_LIST_PORTAL);
    sqlite3_bind_int64(s, 1, cursor(before_id));
    sqlite3_bind_int64(s, 2, limit(count_max));
    bind_text(s, 3, msisdn);
    topup_result result = TOPUP_OK;
    int rc = SQLITE_DONE;
    while (result == TOPUP_OK && *count < count_max && (rc = sqlite3_step(s)) == SQLITE_ROW)
        result = order_from_row(st, s, &orders[(*count)++]);
    if (result == TOPUP_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = fail(st, rc);
    finish(s);
    return result;
}

/* ---- API keys ---- */

static void api_key_from_row(sqlite3_stmt *s, api_key_row *key)
{
    key->id = sqlite3_column_int64(s, 0);
    column_copy(s, 1, key->name, sizeof key->name);
    column_copy(s, 2, key->scopes, sizeof key->scopes);
    column_copy(s, 3, key->funding_account, sizeof key->funding_account);
    key->created_at = sqlite3_column_int64(s, 4);
    key->revoked_at = sqlite3_column_int64(s, 5);
}

topup_result store_api_key_insert(store *st, const api_key_row *key,
                                  const uint8_t key_hash[REQUEST_HASH_SIZE], int64_t *id)
{
    if (!text_fits(key->name, sizeof key->name) || !text_fits(key->scopes, sizeof key->scopes) ||
        !text_fits(key->funding_account, sizeof key->funding_account) || !key_hash)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "an API key needs a name, scopes, a funding account and a hash");
    STATEMENT_OR_RETURN(s, st, S_KEY_INSERT);
    bind_text(s, 1, key->name);
    sqlite3_bind_blob(s, 2, key_hash, REQUEST_HASH_SIZE, SQLITE_STATIC);
    bind_text(s, 3, key->scopes);
    bind_text(s, 4, key->funding_account);
    sqlite3_bind_int64(s, 5, key->created_at > 0 ? key->created_at : clock_now_seconds());
    if (key->revoked_at != 0)
        sqlite3_bind_int64(s, 6, key->revoked_at);
    topup_result result = step_done(st, s);
    if (result == TOPUP_OK && id)
        *id = sqlite3_last_insert_rowid(st->db);
    return result;
}

topup_result store_api_key_find(store *st, const uint8_t key_hash[REQUEST_HASH_SIZE],
                                api_key_row *key)
{
    STATEMENT_OR_RETURN(s, st, S_KEY_FIND);
    sqlite3_bind_blob(s, 1, key_hash, REQUEST_HASH_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW)
        api_key_from_row(s, key);
    else if (rc == SQLITE_DONE)
        result = TOPUP_E_NOT_FOUND;
    else
        result = fail(st, rc);
    finish(s);
    return result;
}

topup_result store_api_key_list(store *st, api_key_row *keys, size_t key_count_max,
                                size_t *key_count)
{
    *key_count = 0;
    if (key_count_max == 0)
        return TOPUP_OK;
    STATEMENT_OR_RETURN(s, st, S_KEY_LIST);
    sqlite3_bind_int64(s, 1, limit(key_count_max));
    int rc = SQLITE_DONE;
    while (*key_count < key_count_max && (rc = sqlite3_step(s)) == SQLITE_ROW)
        api_key_from_row(s, &keys[(*key_count)++]);
    topup_result result = rc == SQLITE_ROW || rc == SQLITE_DONE ? TOPUP_OK : fail(st, rc);
    finish(s);
    return result;
}

topup_result store_api_key_revoke(store *st, const char *name, int64_t at)
{
    if (!text_fits(name, API_KEY_NAME_SIZE))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT, "an API key name is 1-64 bytes");
    STATEMENT_OR_RETURN(s, st, S_KEY_REVOKE);
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, at > 0 ? at : clock_now_seconds());
    /* Revocation bumps the catalog version too: daemons cache keys per catalog version, so the
     * bump is what makes a revoked key stop working within one watcher poll. */
    topup_result result = change_begin(st);
    if (result != TOPUP_OK) {
        finish(s);
        return result;
    }
    result = step_done(st, s);
    if (result == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        result = refuse(st, TOPUP_E_NOT_FOUND, "no active API key is named %s", name);
    return change_end(st, result);
}

/* ---- idempotency ---- */

topup_result store_idempotency_get(store *st, int64_t api_key_id, const char *key,
                                   idempotency_row *row)
{
    if (!idempotency_key_valid(key))
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "an idempotency key is 1-64 printable ASCII characters");
    STATEMENT_OR_RETURN(s, st, S_IDEMPOTENCY_GET);
    sqlite3_bind_int64(s, 1, api_key_id);
    bind_text(s, 2, key);
    int rc = sqlite3_step(s);
    topup_result result = TOPUP_OK;
    if (rc == SQLITE_ROW) {
        const void *hash = sqlite3_column_blob(s, 0);
        int hash_size = sqlite3_column_bytes(s, 0);
        const char *body = (const char *)sqlite3_column_text(s, 2);
        size_t body_length = (size_t)sqlite3_column_bytes(s, 2);
        if (!hash || hash_size != REQUEST_HASH_SIZE) {
            result =
                refuse(st, TOPUP_E_STORAGE, "the stored request hash of %s is not SHA-256", key);
        } else if (!(row->body = malloc(body_length + 1))) {
            result = TOPUP_E_NOMEM;
        } else {
            memcpy(row->request_hash, hash, REQUEST_HASH_SIZE);
            row->status = sqlite3_column_int(s, 1);
            memcpy(row->body, body ? body : "", body_length);
            row->body[body_length] = '\0';
        }
    } else if (rc == SQLITE_DONE) {
        result = TOPUP_E_NOT_FOUND;
    } else {
        result = fail(st, rc);
    }
    finish(s);
    return result;
}

topup_result store_idempotency_put(store *st, int64_t api_key_id, const char *key,
                                   const uint8_t request_hash[REQUEST_HASH_SIZE], int status,
                                   const char *body, int64_t at)
{
    if (!idempotency_key_valid(key) || !request_hash)
        return refuse(st, TOPUP_E_INVALID_ARGUMENT,
                      "an idempotency key is 1-64 printable ASCII characters");
    STATEMENT_OR_RETURN(s, st, S_IDEMPOTENCY_PUT);
    sqlite3_bind_int64(s, 1, api_key_id);
    bind_text(s, 2, key);
    sqlite3_bind_blob(s, 3, request_hash, REQUEST_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, status);
    bind_text(s, 5, body ? body : "");
    sqlite3_bind_int64(s, 6, at > 0 ? at : clock_now_seconds());
    return step_done(st, s);
}

topup_result store_idempotency_purge(store *st, int64_t before, int64_t *deleted_count)
{
    STATEMENT_OR_RETURN(s, st, S_IDEMPOTENCY_PURGE);
    sqlite3_bind_int64(s, 1, before);
    topup_result result = step_done(st, s);
    if (deleted_count)
        *deleted_count = result == TOPUP_OK ? sqlite3_changes64(st->db) : 0;
    return result;
}

/* ---- for the other files of this backend (store_sqlite_int.h) ---- */

sqlite3_stmt *store_sqlite_prepared(store *st, size_t slot, const char *sql)
{
    assert(slot < STORE_EXTRA_STATEMENTS_MAX);
    sqlite3_stmt **cached = &st->extra_statements[slot];
    if (*cached)
        return *cached;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, cached, NULL);
    if (rc != SQLITE_OK) {
        fail(st, rc);
        *cached = NULL;
    }
    return *cached;
}

topup_result store_sqlite_fail(store *st, int rc)
{
    return fail(st, rc);
}

topup_result store_sqlite_refuse(store *st, topup_result result, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(st->errmsg, sizeof st->errmsg, format, arguments);
    va_end(arguments);
    return result;
}

void store_sqlite_finish(sqlite3_stmt *s)
{
    finish(s);
}

topup_result store_sqlite_step_done(store *st, sqlite3_stmt *s)
{
    return step_done(st, s);
}

topup_result store_sqlite_require_transaction(store *st, const char *function)
{
    return require_transaction(st, function);
}

void store_sqlite_column_copy(sqlite3_stmt *s, int column, char *out, size_t out_size)
{
    column_copy(s, column, out, out_size);
}

void store_sqlite_bind_text(sqlite3_stmt *s, int index, const char *text)
{
    bind_text(s, index, text);
}

topup_result store_sqlite_changed_one(store *st, sqlite3_stmt *s, const char *what)
{
    topup_result r = step_done(st, s);
    if (r == TOPUP_OK && sqlite3_changes64(st->db) == 0)
        return refuse(st, TOPUP_E_NOT_FOUND, "no such %s", what);
    return r;
}

bool store_sqlite_text_fits(const char *text, size_t size)
{
    return text_fits(text, size);
}

bool store_sqlite_currency_valid(const char *code)
{
    return currency_shape_valid(code);
}

topup_result store_sqlite_one(store *st, sqlite3_stmt *s, store_sqlite_row_fn read, void *out)
{
    int rc = sqlite3_step(s);
    topup_result r = TOPUP_OK;
    if (rc == SQLITE_ROW)
        read(s, out);
    else
        r = rc == SQLITE_DONE ? TOPUP_E_NOT_FOUND : fail(st, rc);
    finish(s);
    return r;
}

topup_result store_sqlite_many(store *st, sqlite3_stmt *s, store_sqlite_row_fn read, void *rows,
                               size_t row_size, size_t count_max, size_t *count)
{
    int rc = SQLITE_DONE;
    *count = 0;
    while (*count < count_max && (rc = sqlite3_step(s)) == SQLITE_ROW)
        read(s, (char *)rows + (*count)++ * row_size);
    topup_result r = *count == count_max || rc == SQLITE_DONE ? TOPUP_OK : fail(st, rc);
    finish(s);
    return r;
}
