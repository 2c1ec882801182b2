/* bench_sqlite_raw: row (c) of bench/run.sh, the ceiling for the recharge pipeline. Plain sqlite3
 * on one thread does the SQL work of N recharges and nothing else: no writer queue, no threads,
 * no number resolution, no store layer.
 *
 * Same schema (the migrations of schema_sqlite_migrations), same connection settings as
 * store_sqlite.c's configure (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout, 32 MiB page
 * cache, temp_store=MEMORY), and the same statements, word for word, in the order recharge_apply
 * issues them for a CNY 50 recharge of a DEMO number (face = price, so one transfer):
 *
 *   idempotency get                                (store_idempotency_get, before the savepoint)
 *   SAVEPOINT r
 *   subscriber get (joined with its account)       (store_subscriber_get)
 *     when new: account get, account insert,       (store_account_ensure "subscriber:+86...")
 *               subscriber insert                  (store_subscriber_insert)
 *   funding account get                            (store_account_ensure "clearing:bench")
 *   order insert, first event (none -> paid)       (store_order_insert)
 *   order update, event append (paid -> submitted) (store_order_transition)
 *   debit move, credit move, transfer insert       (store_transfer)
 *   subscriber update (validity)                   (store_subscriber_update)
 *   order update, event append (-> succeeded)      (store_order_transition)
 *   idempotency put (the ~400-byte order JSON)     (store_idempotency_put)
 *   RELEASE r
 *
 * with every statement prepared once, reset and its bindings cleared after each use (as the
 * store does), and --batch recharges (default 1000) per BEGIN IMMEDIATE ... COMMIT.
 *
 * Prints: bench_sqlite_raw: recharges=N batch=N seconds=S rps=N us_per_recharge=X
 *                           wal_pages_per_commit=X checkpoint_seconds=S
 *
 * Exposed to: nothing but its command line; it creates the database it is given. */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/decimal.h"
#include "store/schema.h"
#include "store/store_sqlite_sql.h"

#define SECONDS_PER_DAY 86400
#define FACE_MINOR      5000
#define VALIDITY_DAYS   30
#define FUNDING_ACCOUNT "clearing:bench"

/* The DEMO catalog's operators for the numbers bench/recharge.lua draws. */
static const struct {
    const char *prefix;      /* national, then "0013" and 4 random digits follow */
    const char *operator_id; /* the operator of its range in the DEMO catalog */
} number_prefixes[] = {
    {"1380013", "cmcc"}, {"1390013", "cmcc"}, {"1500013", "cmcc"},
    {"1860013", "cucc"}, {"1330013", "ctcc"},
};

typedef enum statement_id {
    S_BEGIN,
    S_COMMIT,
    S_SAVEPOINT,
    S_RELEASE,
    S_IDEMPOTENCY_GET,
    S_SUBSCRIBER_GET,
    S_ACCOUNT_GET,
    S_ACCOUNT_INSERT,
    S_SUBSCRIBER_INSERT,
    S_ORDER_INSERT,
    S_EVENT_FIRST,
    S_ORDER_UPDATE,
    S_EVENT_APPEND,
    S_ACCOUNT_MOVE,
    S_TRANSFER_INSERT,
    S_SUBSCRIBER_UPDATE,
    S_IDEMPOTENCY_PUT,
    S_COUNT
} statement_id;

/* Copied from store_sqlite.c's statement_sql. */
static const char *const statement_sql[S_COUNT] = {
    [S_BEGIN] = SQL_BEGIN,
    [S_COMMIT] = SQL_COMMIT,
    [S_SAVEPOINT] = SQL_SAVEPOINT,
    [S_RELEASE] = SQL_RELEASE,
    [S_IDEMPOTENCY_GET] = SQL_IDEMPOTENCY_GET,
    [S_SUBSCRIBER_GET] = SQL_SUBSCRIBER_GET,
    [S_ACCOUNT_GET] = SQL_ACCOUNT_GET,
    [S_ACCOUNT_INSERT] = SQL_ACCOUNT_INSERT,
    [S_SUBSCRIBER_INSERT] = SQL_SUBSCRIBER_INSERT,
    [S_ORDER_INSERT] = SQL_ORDER_INSERT,
    [S_EVENT_FIRST] = SQL_EVENT_FIRST,
    [S_ORDER_UPDATE] = SQL_ORDER_UPDATE,
    [S_EVENT_APPEND] = SQL_EVENT_APPEND,
    [S_ACCOUNT_MOVE] = SQL_ACCOUNT_MOVE,
    [S_TRANSFER_INSERT] = SQL_TRANSFER_INSERT,
    [S_SUBSCRIBER_UPDATE] = SQL_SUBSCRIBER_UPDATE,
    [S_IDEMPOTENCY_PUT] = SQL_IDEMPOTENCY_PUT,
};

typedef struct raw {
    sqlite3 *db;
    sqlite3_stmt *statements[S_COUNT];
    int64_t api_key_id;
    int64_t funding_account_id;
    int wal_frames_last;        /* frames in the WAL after the previous commit */
    int64_t wal_frames_written; /* pages the commits appended to the WAL */
    double checkpoint_seconds;  /* time the automatic checkpoints took */
    int wal_autocheckpoint;     /* pages; 0 = never (PRAGMA wal_autocheckpoint) */
} raw;

static void die(const raw *x, const char *what)
{
    fprintf(stderr, "bench_sqlite_raw: %s: %s\n", what, x->db ? sqlite3_errmsg(x->db) : "");
    exit(1);
}

static void exec_or_die(raw *x, const char *sql)
{
    if (sqlite3_exec(x->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(x, sql);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Replaces SQLite's default WAL hook with the same behaviour (a PASSIVE checkpoint once the WAL
 * holds wal_autocheckpoint pages, 1000 by default) plus accounting: how many pages each
 * commit wrote and how long the checkpoints, which run inside COMMIT, took. */
static int wal_hook(void *context, sqlite3 *db, const char *name, int frame_count)
{
    raw *x = context;
    x->wal_frames_written +=
        frame_count >= x->wal_frames_last ? frame_count - x->wal_frames_last : frame_count;
    x->wal_frames_last = frame_count;
    if (x->wal_autocheckpoint > 0 && frame_count >= x->wal_autocheckpoint) {
        double started = now_seconds();
        int log_frames = 0, checkpointed_frames = 0;
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                  &checkpointed_frames);
        x->checkpoint_seconds += now_seconds() - started;
        if (checkpointed_frames == log_frames)
            x->wal_frames_last = 0; /* the next commit writes from the start of the WAL */
    }
    return SQLITE_OK;
}

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Resets the statement and clears its bindings, as the store's finish() does. */
static void finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps a statement expected to return no row. */
static void step_done(raw *x, statement_id id)
{
    sqlite3_stmt *s = x->statements[id];
    if (sqlite3_step(s) != SQLITE_DONE)
        die(x, statement_sql[id]);
    finish(s);
}

static void bind_text(sqlite3_stmt *s, int index, const char *text)
{
    sqlite3_bind_text(s, index, text, -1, SQLITE_STATIC);
}

/* extra_pragmas (--pragma, for what-if measurements) run after the store's settings and before
 * WAL mode is set, so that a page_size still applies. */
static void open_database(raw *x, const char *path, const char *extra_pragmas)
{
    if (sqlite3_open_v2(path, &x->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        die(x, path);
    sqlite3_extended_result_codes(x->db, 1);
    /* store_sqlite.c configure(). */
    exec_or_die(x, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
                   " PRAGMA synchronous = FULL; PRAGMA cache_size = -32768;"
                   " PRAGMA temp_store = MEMORY;");
    /* Before WAL mode, so that a page_size still applies. */
    if (extra_pragmas)
        exec_or_die(x, extra_pragmas);
    exec_or_die(x, "PRAGMA journal_mode = WAL;");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, "PRAGMA wal_autocheckpoint", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        die(x, "PRAGMA wal_autocheckpoint");
    x->wal_autocheckpoint = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    size_t migration_count;
    const char *const *migrations = schema_sqlite_migrations(&migration_count);
    for (size_t i = 0; i < migration_count; i++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %zu", i + 1);
        exec_or_die(x, "BEGIN IMMEDIATE");
        exec_or_die(x, migrations[i]);
        exec_or_die(x, pragma);
        exec_or_die(x, "COMMIT");
    }
    /* What `topup init --demo` and `topup apikey create --name bench` leave that a recharge
     * reads: the CN plan, the three CN operators, the key and its funding account. */
    exec_or_die(x, "BEGIN IMMEDIATE;"
                   "INSERT INTO meta(key, value) VALUES ('catalog_version', '1');"
                   "INSERT INTO number_plans(country, calling_code, trunk_prefix,"
                   " international_prefix, nsn_length_min, nsn_length_max, mobile_prefixes)"
                   " VALUES ('CN', '86', '', '00', 11, 11, '1');"
                   "INSERT INTO operators(id, name, country, currency, connector, created_at)"
                   " VALUES ('cmcc', 'China Mobile', 'CN', 'CNY', 'hosted', 0),"
                   " ('cucc', 'China Unicom', 'CN', 'CNY', 'hosted', 0),"
                   " ('ctcc', 'China Telecom', 'CN', 'CNY', 'hosted', 0);"
                   "INSERT INTO api_keys(name, key_hash, scopes, funding_account, created_at)"
                   " VALUES ('bench', zeroblob(32), 'recharge', '" FUNDING_ACCOUNT "', 0);"
                   "INSERT INTO accounts(code, currency, kind, flags, credit_limit_minor,"
                   " created_at) VALUES ('" FUNDING_ACCOUNT "', 'CNY', 'clearing', 0, 0, 0);"
                   "COMMIT");
    x->api_key_id = 1;
    x->funding_account_id = 1;
    sqlite3_wal_hook(x->db, wal_hook, x);
    for (int id = 0; id < S_COUNT; id++)
        if (sqlite3_prepare_v3(x->db, statement_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                               &x->statements[id], NULL) != SQLITE_OK)
            die(x, statement_sql[id]);
}

/* store_account_get: 1 when found (id in *id), 0 when not. */
static int account_get(raw *x, const char *code, int64_t *id)
{
    sqlite3_stmt *s = x->statements[S_ACCOUNT_GET];
    bind_text(s, 1, code);
    bind_text(s, 2, "CNY");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        die(x, "account get");
    finish(s);
    return rc == SQLITE_ROW;
}

/* store_account_move: returns the new balance. */
static int64_t account_move(raw *x, int64_t account_id, int64_t delta)
{
    sqlite3_stmt *s = x->statements[S_ACCOUNT_MOVE];
    sqlite3_bind_int64(s, 1, delta);
    sqlite3_bind_int64(s, 2, account_id);
    bind_text(s, 3, "CNY");
    if (sqlite3_step(s) != SQLITE_ROW)
        die(x, "account move");
    int64_t balance = sqlite3_column_int64(s, 0);
    (void)sqlite3_column_int(s, 1);
    (void)sqlite3_column_int64(s, 2);
    finish(s);
    return balance;
}

static void order_transition(raw *x, int64_t order_id, const char *from, const char *to,
                             const char *reason, int64_t now, bool has_balance_after,
                             int64_t balance_after, int64_t valid_until)
{
    sqlite3_stmt *s = x->statements[S_ORDER_UPDATE];
    sqlite3_bind_int64(s, 1, order_id);
    bind_text(s, 2, from);
    bind_text(s, 3, to);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int(s, 5, has_balance_after);
    sqlite3_bind_int64(s, 6, balance_after);
    sqlite3_bind_int64(s, 7, valid_until);
    step_done(x, S_ORDER_UPDATE);
    if (sqlite3_changes64(x->db) != 1)
        die(x, "order update touched no row");
    s = x->statements[S_EVENT_APPEND];
    sqlite3_bind_int64(s, 1, order_id);
    bind_text(s, 2, from);
    bind_text(s, 3, to);
    bind_text(s, 4, reason);
    sqlite3_bind_int64(s, 5, now);
    step_done(x, S_EVENT_APPEND);
}

static void format_time(int64_t unix_seconds, char text[24])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(text, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void recharge(raw *x, uint64_t number, const char *key, const uint8_t hash[32], int64_t now)
{
    size_t prefix_index = number % (sizeof number_prefixes / sizeof number_prefixes[0]);
    const char *operator_id = number_prefixes[prefix_index].operator_id;
    char msisdn[24], product_id[40], account_code[48];
    snprintf(msisdn, sizeof msisdn, "+86%s%04u", number_prefixes[prefix_index].prefix,
             (unsigned)((number >> 16) % 10000));
    snprintf(product_id, sizeof product_id, "%s-50", operator_id);

    /* store_idempotency_get: a new key finds nothing. */
    sqlite3_stmt *s = x->statements[S_IDEMPOTENCY_GET];
    sqlite3_bind_int64(s, 1, x->api_key_id);
    bind_text(s, 2, key);
    if (sqlite3_step(s) != SQLITE_DONE)
        die(x, "idempotency get");
    finish(s);

    step_done(x, S_SAVEPOINT);

    /* store_subscriber_get, and for a new number store_account_ensure +
     * store_subscriber_insert. */
    int64_t sub_account_id = 0, valid_until = 0;
    char status[12] = "active";
    s = x->statements[S_SUBSCRIBER_GET];
    bind_text(s, 1, msisdn);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sub_account_id = sqlite3_column_int64(s, 2);
        snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(s, 3));
        valid_until = sqlite3_column_int64(s, 4);
    } else if (rc != SQLITE_DONE) {
        die(x, "subscriber get");
    }
    finish(s);
    if (rc == SQLITE_DONE) {
        snprintf(account_code, sizeof account_code, "subscriber:%s", msisdn);
        if (!account_get(x, account_code, &sub_account_id)) {
            s = x->statements[S_ACCOUNT_INSERT];
            bind_text(s, 1, account_code);
            bind_text(s, 2, "CNY");
            bind_text(s, 3, "subscriber");
            sqlite3_bind_int(s, 4, 1);
            sqlite3_bind_int64(s, 5, 0);
            sqlite3_bind_int64(s, 6, now);
            step_done(x, S_ACCOUNT_INSERT);
            sub_account_id = sqlite3_last_insert_rowid(x->db);
        }
        s = x->statements[S_SUBSCRIBER_INSERT];
        bind_text(s, 1, msisdn);
        bind_text(s, 2, operator_id);
        sqlite3_bind_int64(s, 3, sub_account_id);
        bind_text(s, 4, "active");
        sqlite3_bind_int64(s, 5, 0);
        sqlite3_bind_int64(s, 6, now);
        step_done(x, S_SUBSCRIBER_INSERT);
    }

    /* store_account_ensure of the funding account: found. */
    int64_t funding_id;
    if (!account_get(x, FUNDING_ACCOUNT, &funding_id))
        die(x, "funding account missing");

    /* store_order_insert: the order and its first event. */
    s = x->statements[S_ORDER_INSERT];
    bind_text(s, 1, "api");
    sqlite3_bind_int64(s, 2, x->api_key_id);
    bind_text(s, 3, msisdn);
    bind_text(s, 4, operator_id);
    bind_text(s, 5, product_id);
    sqlite3_bind_int64(s, 6, FACE_MINOR);
    sqlite3_bind_int64(s, 7, FACE_MINOR);
    bind_text(s, 8, "CNY");
    sqlite3_bind_int64(s, 9, funding_id);
    bind_text(s, 10, "paid");
    sqlite3_bind_int64(s, 13, now);
    sqlite3_bind_int64(s, 14, now);
    step_done(x, S_ORDER_INSERT);
    int64_t order_id = sqlite3_last_insert_rowid(x->db);
    s = x->statements[S_EVENT_FIRST];
    sqlite3_bind_int64(s, 1, order_id);
    bind_text(s, 2, "paid");
    bind_text(s, 3, "paid on creation from the funding account");
    sqlite3_bind_int64(s, 4, now);
    step_done(x, S_EVENT_FIRST);

    order_transition(x, order_id, "paid", "submitted", "hosted operator", now, false, 0, 0);

    /* store_transfer: both balances, then the transfer row. */
    (void)account_move(x, funding_id, -FACE_MINOR);
    int64_t balance_after = account_move(x, sub_account_id, FACE_MINOR);
    s = x->statements[S_TRANSFER_INSERT];
    sqlite3_bind_int64(s, 1, funding_id);
    sqlite3_bind_int64(s, 2, sub_account_id);
    sqlite3_bind_int64(s, 3, FACE_MINOR);
    bind_text(s, 4, "CNY");
    sqlite3_bind_int64(s, 5, order_id);
    bind_text(s, 6, "recharge");
    sqlite3_bind_int64(s, 7, now);
    step_done(x, S_TRANSFER_INSERT);

    /* store_subscriber_update: validity extended by the product's days. */
    int64_t extended =
        (valid_until > now ? valid_until : now) + (int64_t)VALIDITY_DAYS * SECONDS_PER_DAY;
    s = x->statements[S_SUBSCRIBER_UPDATE];
    bind_text(s, 1, msisdn);
    bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, extended);
    step_done(x, S_SUBSCRIBER_UPDATE);

    order_transition(x, order_id, "submitted", "succeeded", "credited", now, true, balance_after,
                     extended);

    /* store_idempotency_put with the answer recharge_order_json would send. */
    char created_at[24], valid_text[24], body[1024];
    format_time(now, created_at);
    format_time(extended, valid_text);
    int length = snprintf(
        body, sizeof body,
        "{\"id\":\"%" PRId64 "\",\"status\":\"succeeded\",\"channel\":\"api\",\"msisdn\":\"%s\","
        "\"operator\":\"%s\",\"product\":\"%s\",\"amount_minor\":%d,\"price_minor\":%d,"
        "\"currency\":\"CNY\",\"balance_after_minor\":%" PRId64 ",\"valid_until\":\"%s\","
        "\"created_at\":\"%s\"}",
        order_id, msisdn, operator_id, product_id, FACE_MINOR, FACE_MINOR, balance_after,
        valid_text, created_at);
    (void)length;
    s = x->statements[S_IDEMPOTENCY_PUT];
    sqlite3_bind_int64(s, 1, x->api_key_id);
    bind_text(s, 2, key);
    sqlite3_bind_blob(s, 3, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, 201);
    bind_text(s, 5, body);
    sqlite3_bind_int64(s, 6, now);
    step_done(x, S_IDEMPOTENCY_PUT);

    step_done(x, S_RELEASE);
}

static int parse_size(const char *text, size_t low, size_t high, size_t *out)
{
    int64_t value;
    if (!decimal_parse(text, (int64_t)low, (int64_t)high, &value))
        return -1;
    *out = (size_t)value;
    return 0;
}

static const char usage[] =
    "usage: bench_sqlite_raw --db PATH [--count N] [--batch N] [--pragma SQL]\n"
    "Creates PATH (it must not exist) with topup's schema and runs N recharges' SQL (default\n"
    "200000), --batch per transaction (default 1000), on one thread with plain sqlite3.\n"
    "--pragma runs SQL after the store's connection settings and before WAL mode is set, e.g.\n"
    "'PRAGMA page_size=1024' or 'PRAGMA foreign_keys=OFF', to measure what a setting changes.\n";

int main(int argc, char **argv)
{
    const char *db_path = NULL;
    const char *extra_pragmas = NULL;
    size_t recharge_count = 200000, batch_size = 1000;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !value;
        if (strcmp(argv[i], "--db") == 0 && value)
            db_path = value;
        else if (strcmp(argv[i], "--count") == 0 && value)
            bad = parse_size(value, 1, 100000000, &recharge_count);
        else if (strcmp(argv[i], "--batch") == 0 && value)
            bad = parse_size(value, 1, 1000000, &batch_size);
        else if (strcmp(argv[i], "--pragma") == 0 && value)
            extra_pragmas = value;
        else
            bad = 1;
        if (bad) {
            fputs(usage, stderr);
            return 2;
        }
        i++;
    }
    struct stat existing;
    if (!db_path || stat(db_path, &existing) == 0) {
        fputs(db_path ? "bench_sqlite_raw: the database must not exist yet\n" : usage, stderr);
        return 2;
    }

    raw x = {0};
    open_database(&x, db_path, extra_pragmas);
    uint64_t random_state = 0x2545f4914f6cdd1dULL;
    uint8_t hash[32];
    double started = now_seconds();
    for (size_t done = 0; done < recharge_count;) {
        step_done(&x, S_BEGIN);
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; i < batch_size && done < recharge_count; i++, done++) {
            char key[32];
            snprintf(key, sizeof key, "raw-%zu", done);
            /* Any 32 bytes that differ per request; hashing is not SQL work. */
            uint64_t number = xorshift(&random_state);
            for (size_t j = 0; j < sizeof hash; j += 8)
                memcpy(hash + j, &number, 8);
            recharge(&x, number, key, hash, now);
        }
        step_done(&x, S_COMMIT);
    }
    double seconds = now_seconds() - started;
    for (int id = 0; id < S_COUNT; id++)
        sqlite3_finalize(x.statements[id]);
    if (sqlite3_close(x.db) != SQLITE_OK)
        die(&x, "close");
    printf("bench_sqlite_raw: recharges=%zu batch=%zu seconds=%.2f rps=%.0f"
           " us_per_recharge=%.1f wal_pages_per_commit=%.1f checkpoint_seconds=%.2f\n",
           recharge_count, batch_size, seconds, (double)recharge_count / seconds,
           seconds * 1e6 / (double)recharge_count,
           (double)x.wal_frames_written / (double)((recharge_count + batch_size - 1) / batch_size),
           x.checkpoint_seconds);
    return 0;
}
