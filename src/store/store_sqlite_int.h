/* Private to the SQLite backend: the connection and the helpers its files share. store_sqlite.c
 * holds the core (ledger, orders, catalog); store_sqlite_payments.c the payment tables. */
#ifndef TOPUP_STORE_SQLITE_INT_H
#define TOPUP_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

#define STORE_ERRMSG_SIZE          256
#define STORE_CORE_STATEMENTS_MAX  64  /* store_sqlite.c's statement_id values */
#define STORE_EXTRA_STATEMENTS_MAX 160 /* slots for the other files' statements */

/* One connection. Used by one thread at a time; nothing here is locked. */
struct store {
    sqlite3 *db;                                         /* opened with SQLITE_OPEN_NOMUTEX */
    store_mode mode;                                     /* as opened */
    sqlite3_stmt *statements[STORE_CORE_STATEMENTS_MAX]; /* prepared on first use */
    sqlite3_stmt *extra_statements[STORE_EXTRA_STATEMENTS_MAX]; /* ditto, by slot */
    char errmsg[STORE_ERRMSG_SIZE]; /* why the last failing call failed */
    int wal_pages;                  /* WAL size after the last commit, once the hook is set */
};

/* The statement of slot (each file owns a range of slots), prepared from sql on first use and
 * kept until store_close; NULL (errmsg set) when it does not compile. */
sqlite3_stmt *store_sqlite_prepared(store *st, size_t slot, const char *sql);

/* Declares s as the statement of slot id, prepared from sql on first use, or returns the failure
 * from the calling function when it does not compile. Each file gives its own slots' SQL. */
#define STORE_STATEMENT_OR_RETURN(s, st, id, sql)                                                  \
    sqlite3_stmt *s = store_sqlite_prepared((st), (id), (sql));                                    \
    if (!s) {                                                                                      \
        return store_sqlite_fail((st), sqlite3_errcode((st)->db));                                 \
    }

/* Binds text for the statement's next step (the caller keeps it alive until then). */
void store_sqlite_bind_text(sqlite3_stmt *s, int index, const char *text);

/* Steps a change that must hit exactly one row: TOPUP_E_NOT_FOUND ("no such WHAT") when it hit
 * none. Finishes s. */
topup_result store_sqlite_changed_one(store *st, sqlite3_stmt *s, const char *what);

/* Maps a failed SQLite call to a topup_result and records the message. */
topup_result store_sqlite_fail(store *st, int rc);
/* Records why a call was refused and returns result. */
topup_result store_sqlite_refuse(store *st, topup_result result, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* Resets a used statement and clears its bindings. */
void store_sqlite_finish(sqlite3_stmt *s);
/* Steps a statement that returns no row, then finishes it. */
topup_result store_sqlite_step_done(store *st, sqlite3_stmt *s);
/* Refuses (and asserts) a multi-statement change outside a transaction. */
topup_result store_sqlite_require_transaction(store *st, const char *function);
/* Copies a text column, truncated to fit; "" for NULL. */
void store_sqlite_column_copy(sqlite3_stmt *s, int column, char *out, size_t out_size);
bool store_sqlite_text_fits(const char *text, size_t size);

/* Copies the current row of s into out (each file has one such mapper per row type). */
typedef void (*store_sqlite_row_fn)(sqlite3_stmt *s, void *out);
/* Steps a bound statement that yields at most one row into out: TOPUP_OK, TOPUP_E_NOT_FOUND, or
 * the failure. Finishes s. */
topup_result store_sqlite_one(store *st, sqlite3_stmt *s, store_sqlite_row_fn read, void *out);
/* Steps a bound statement into up to count_max rows of row_size bytes at rows; *count is how many.
 * Finishes s. */
topup_result store_sqlite_many(store *st, sqlite3_stmt *s, store_sqlite_row_fn read, void *rows,
                               size_t row_size, size_t count_max, size_t *count);
bool store_sqlite_currency_valid(const char *code);

#endif
