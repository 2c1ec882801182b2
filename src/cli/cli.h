/* What every `topup` command shares: the command table entry, option parsing with the common
 * options (--db, --json, --help), error reporting in one format, opening the store and the
 * catalog, and JSON output.
 *
 * Exit codes: 0 success, 1 the operation was refused or failed, 2 the command line was wrong.
 * Errors go to stderr as "topup: <code>: <sentence> <what was wrong>"; stdout carries only the
 * result (one JSON object with --json), so scripts can read it. */
#ifndef TOPUP_CLI_H
#define TOPUP_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/decimal.h"
#include "core/result.h"
#include "store/store.h"

#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1    /* the operation was refused or failed */
#define CLI_EXIT_USAGE   2    /* the command line was wrong; nothing was attempted */
#define CLI_CONTINUE     (-1) /* from helpers: carry on, no exit code yet */

#define CLI_DB_PATH_DEFAULT "var/topup.db"
#define CLI_COUNTRY_DEFAULT "CN"
#define CLI_OPTIONS_MAX     16 /* command-specific options of one command */

typedef struct cli_context cli_context;
typedef int (*cli_handler_fn)(cli_context *ctx, int argc, char **argv);

/* One row of the command table in main.c. */
typedef struct cli_command {
    const char *group;   /* "operator", or the command itself for one-word commands */
    const char *verb;    /* "add", or NULL for one-word commands such as "recharge" */
    cli_handler_fn run;  /* argv[0] is the verb (or the command), options follow */
    const char *summary; /* one line for `topup --help` */
    const char *usage;   /* the synopsis and option list for `--help`, ending in '\n' */
} cli_command;

/* One command-specific option. Its index in the command's array is where cli_parse stores its
 * value, so commands declare an enum in the same order. */
typedef struct cli_option {
    const char *name; /* long name without "--" */
    bool has_value;   /* false: a flag, stored as "" when given */
} cli_option;

struct cli_context {
    const cli_command *command;
    const char *db_path; /* --db, CLI_DB_PATH_DEFAULT when not given */
    bool json;           /* --json */
};

/* The command's name as typed, e.g. "operator add", for messages. */
const char *cli_command_name(const cli_context *ctx);

/* Parses argv with getopt_long: the common options into ctx, option i of options into
 * values[i] (NULL when not given; a repeated option is a usage error), and the positional arguments
 * into positionals (at most positional_count_max; *positional_count may be NULL when none are
 * accepted). Returns CLI_CONTINUE to run the command, CLI_EXIT_OK after printing --help, or
 * CLI_EXIT_USAGE after reporting an unknown option, a missing value or an extra argument.
 * values and positionals point into argv. */
int cli_parse(cli_context *ctx, int argc, char **argv, const cli_option *options,
              size_t option_count, const char **values /* OUT */, char **positionals /* OUT */,
              size_t positional_count_max, size_t *positional_count /* OUT */);

/* Prints the command's usage and the common options to stdout. */
void cli_print_usage(const cli_command *command);

/* Reports a command-line mistake ("topup: invalid_request: ... <detail>", then where to find
 * help) and returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_context *ctx, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports that option --name is missing when value is NULL; returns CLI_EXIT_USAGE then, else
 * CLI_CONTINUE. */
int cli_require(const cli_context *ctx, const char *value, const char *name);

/* Reports a malformed option value: "topup: <code>: <sentence> --name 'value': <why>" and
 * returns CLI_EXIT_USAGE. why may be NULL. */
int cli_bad_value(const cli_context *ctx, topup_result result, const char *name, const char *value,
                  const char *why);

/* Reports a refused or failed operation, "topup: <code>: <sentence> <detail>", and returns
 * CLI_EXIT_FAILURE. format may be NULL for no detail. */
int cli_fail(topup_result result, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Writes the line "topup: <code>: <sentence> <detail>" to stderr, without deciding an exit code.
 * Used where several errors are reported before one exit. */
void cli_report(topup_result result, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Opens ctx->db_path. STORE_CREATE also creates the file's directory. On failure reports what
 * to do ("run 'topup init'", "run 'topup migrate'") and returns CLI_EXIT_FAILURE; else
 * CLI_CONTINUE and *st is the caller's to store_close. */
int cli_store_open(const cli_context *ctx, store_mode mode, store **st /* OUT */);

/* Loads the catalog snapshot; CLI_EXIT_FAILURE after reporting, or CLI_CONTINUE and *cat is the
 * caller's one reference. */
int cli_catalog_load(store *st, catalog **cat /* OUT */);

/* Commits the open transaction; on failure rolls it back, reports and returns CLI_EXIT_FAILURE,
 * else CLI_CONTINUE. */
int cli_commit(store *st);

/* A command's hold on the database: the store, optionally a write transaction and the catalog.
 * Every write command opens one, does all its checks and writes inside the transaction, and ends
 * with cli_session_end, so an early return can never leave a transaction open. */
typedef struct cli_session {
    store *st;
    catalog *cat;     /* NULL unless asked for */
    bool transaction; /* a write transaction is open */
} cli_session;

/* Opens the store (STORE_READ_WRITE and a store_begin when write, else STORE_READ_ONLY) and,
 * when with_catalog, loads the catalog inside that transaction. Reports and returns
 * CLI_EXIT_FAILURE, or CLI_CONTINUE. */
int cli_session_open(const cli_context *ctx, bool write, bool with_catalog,
                     cli_session *session /* OUT */);

/* Commits the write transaction: CLI_CONTINUE, or CLI_EXIT_FAILURE after a rollback and a
 * report. */
int cli_session_commit(cli_session *session);

/* Rolls back a transaction still open (nothing half-done reaches the disk), releases the catalog,
 * closes the store, and returns exit_code unchanged. */
int cli_session_end(cli_session *session, int exit_code);

/* Whether text is two upper-case letters (an ISO 3166-1 alpha-2 code's shape). */
bool cli_country_valid(const char *text);

/* Opens a session with the catalog for one number given on the command line: checks country
 * (NULL: CLI_COUNTRY_DEFAULT), opens the store (a write transaction when write), and normalises
 * msisdn with the catalog's plans into e164. CLI_CONTINUE with the session open, or the exit
 * code with everything closed and the reason printed. */
int cli_session_for_number(const cli_context *ctx, bool write, const char *msisdn,
                           const char *country, cli_session *session /* OUT */,
                           char e164[E164_SIZE] /* OUT */);

/* Prints value as one compact JSON object and a newline on stdout and releases it (steals the
 * reference). Returns CLI_EXIT_OK, or CLI_EXIT_FAILURE when value is NULL (out of memory) or
 * stdout failed. */
int cli_json_print(json_t *value);

/* A money amount as text in major units ("50.00"); "?" for an unknown currency. text must hold
 * MONEY_TEXT_SIZE_MAX bytes. Returns text. */
const char *cli_money_text(int64_t amount_minor, const char *currency, char *text);

/* RFC 3339 text for unix seconds as a JSON string, or JSON null for 0 ("never"). */
json_t *cli_json_time(int64_t unix_seconds);

/* Writes prefix followed by random_size bytes from the system CSPRNG as lower-case hex into
 * secret, which must hold strlen(prefix) + 2 * random_size + 1 bytes. False when the generator
 * failed (secret is then unusable). For API keys and merchant signing secrets. */
bool cli_make_secret(const char *prefix, size_t random_size, char *secret /* OUT */);

/* Whether text is 1..size-1 bytes of printable ASCII without spaces (account codes, key
 * names). */
bool cli_token_valid(const char *text, size_t size);

/* ---- command handlers (one file per group) ---- */

int cli_cmd_init(cli_context *ctx, int argc, char **argv);
int cli_cmd_migrate(cli_context *ctx, int argc, char **argv);
int cli_cmd_verify(cli_context *ctx, int argc, char **argv);

int cli_cmd_plan_set(cli_context *ctx, int argc, char **argv);
int cli_cmd_operator_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_operator_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_range_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_product_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_product_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_portability_set(cli_context *ctx, int argc, char **argv);

int cli_cmd_apikey_create(cli_context *ctx, int argc, char **argv);
int cli_cmd_apikey_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_apikey_revoke(cli_context *ctx, int argc, char **argv);

int cli_cmd_recharge(cli_context *ctx, int argc, char **argv);
int cli_cmd_balance(cli_context *ctx, int argc, char **argv);
int cli_cmd_history(cli_context *ctx, int argc, char **argv);

int cli_cmd_subscribers_import(cli_context *ctx, int argc, char **argv);
int cli_cmd_subscribers_set_status(cli_context *ctx, int argc, char **argv);
int cli_cmd_pay_verify_notify(cli_context *ctx, int argc, char **argv);
int cli_cmd_pay_sign(cli_context *ctx, int argc, char **argv);
int cli_cmd_pay_gateway(cli_context *ctx, int argc, char **argv);
int cli_cmd_reconcile(cli_context *ctx, int argc, char **argv);
int cli_cmd_pay_notifications(cli_context *ctx, int argc, char **argv);
int cli_cmd_alerts(cli_context *ctx, int argc, char **argv);
int cli_cmd_outbox_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_outbox_show(cli_context *ctx, int argc, char **argv);
int cli_cmd_outbox_retry(cli_context *ctx, int argc, char **argv);
int cli_cmd_sms_preview(cli_context *ctx, int argc, char **argv);
int cli_cmd_sms_send(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_show(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_suspend(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_activate(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_topup_float(cli_context *ctx, int argc, char **argv);
int cli_cmd_merchant_price(cli_context *ctx, int argc, char **argv);
int cli_cmd_callbacks_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_callbacks_show(cli_context *ctx, int argc, char **argv);
int cli_cmd_callbacks_retry(cli_context *ctx, int argc, char **argv);
int cli_cmd_hall_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_hall_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_staff_add(cli_context *ctx, int argc, char **argv);
int cli_cmd_staff_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_staff_disable(cli_context *ctx, int argc, char **argv);
int cli_cmd_audit_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_shift_open(cli_context *ctx, int argc, char **argv);
int cli_cmd_shift_close(cli_context *ctx, int argc, char **argv);
int cli_cmd_shift_report(cli_context *ctx, int argc, char **argv);
int cli_cmd_invoices_list(cli_context *ctx, int argc, char **argv);
int cli_cmd_invoices_pdf(cli_context *ctx, int argc, char **argv);

/* How much cli_demo_load wrote. */
typedef struct cli_demo_counts {
    size_t plan_count;
    size_t operator_count;
    size_t range_count;
    size_t product_count;
} cli_demo_counts;

/* Writes the DEMO catalog (plans, operators, ranges, products) inside the caller's open
 * transaction; the caller rolls back on error. */
topup_result cli_demo_load(store *st, cli_demo_counts *counts /* OUT */);

#endif
