/* topup hall|staff|audit|shift: the counter channel from the command line (docs/counter.md).
 * Halls and staff are set up here; shifts can be opened, closed and reported on here too, so
 * operations (and tests) can count a drawer in or out without the web counter. Every change goes
 * through service/counter.c, which writes its audit entry in the same transaction; a refusal by
 * rule is committed as its audit entry alone, then reported. Finance lists a day's invoice
 * requests and writes their A4 records with topup invoices.
 *
 * A staff password is read from standard input or from a file only its owner can read, never
 * from the command line, where other users of the machine could see it in the process list. */
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "payments/bill.h"
#include "receipts/invoice.h"
#include "receipts/receipt.h"
#include "service/counter.h"
#include "service/portal.h"

#define HALLS_MAX           1000
#define STAFF_MAX           10000
#define AUDIT_LIMIT_MAX     1000
#define AUDIT_LIMIT_SHOWN   50                             /* audit list's default */
#define PASSWORD_INPUT_SIZE (PORTAL_PASSWORD_SIZE_MAX + 3) /* the password, "\r\n" and NUL */

/* ---- shared ---- */

/* Who acts from the command line: the system user, for the audit log's origin. */
static void cli_actor(const char *staff_id, counter_actor *actor)
{
    memset(actor, 0, sizeof *actor);
    snprintf(actor->staff_id, sizeof actor->staff_id, "%s", staff_id ? staff_id : "");
    const struct passwd *user = getpwuid(geteuid());
    if (user && user->pw_name)
        snprintf(actor->origin, sizeof actor->origin, "cli:%s", user->pw_name);
    else
        snprintf(actor->origin, sizeof actor->origin, "cli:uid %u", (unsigned)geteuid());
}

/* Commits what a counter action left: its effects, or only the record of its refusal (which is
 * then reported). CLI_CONTINUE when the action was done; any other failure rolls back (in
 * cli_session_end) and is reported with what. */
static int finish_action(cli_session *session, topup_result r, counter_refusal refusal,
                         const char *what)
{
    if (r == TOPUP_OK)
        return cli_session_commit(session);
    if (refusal == COUNTER_ACCEPTED)
        return cli_fail(r, "%s (%s)", what, store_errmsg(session->st));
    int rc = cli_session_commit(session);
    if (rc != CLI_CONTINUE)
        return rc;
    return cli_fail(r, "%s [%s]", counter_refusal_text(refusal), counter_refusal_code(refusal));
}

static json_t *text_or_null(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

static json_t *money_json(int64_t amount_minor, const char *currency)
{
    char text[MONEY_TEXT_SIZE_MAX];
    return json_string(cli_money_text(amount_minor, currency, text));
}

static int parse_limit(cli_context *ctx, const char *text, int64_t *limit)
{
    *limit = AUDIT_LIMIT_SHOWN;
    if (text && !decimal_parse(text, 1, AUDIT_LIMIT_MAX, limit))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "limit", text, "1 to 1000");
    return CLI_CONTINUE;
}

static int check_hall_id(cli_context *ctx, const char *id, const char *option)
{
    if (!id || counter_hall_id_valid(id))
        return CLI_CONTINUE;
    return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, option, id,
                         "1-24 characters of a-z, 0-9, '_' and '-'");
}

static int check_staff_id(cli_context *ctx, const char *id, const char *option)
{
    if (!id || counter_staff_id_valid(id))
        return CLI_CONTINUE;
    return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, option, id,
                         "1-32 characters of a-z, 0-9, '.', '_' and '-'");
}

/* ---- topup hall ---- */

static json_t *hall_json(const hall_row *hall)
{
    char safe[ACCOUNT_CODE_SIZE];
    counter_safe_code(hall->id, safe);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", hall->id, "name", hall->name, "address",
                     hall->address, "currency", hall->currency, "safe_account", safe, "created_at",
                     cli_json_time(hall->created_at));
}

/* Checks the options of hall add into hall; CLI_CONTINUE or the usage error. */
static int hall_from_options(cli_context *ctx, const char *const *v, hall_row *hall)
{
    enum { O_ID, O_NAME, O_CURRENCY, O_ADDRESS };
    int rc = check_hall_id(ctx, v[O_ID], "id");
    if (rc != CLI_CONTINUE)
        return rc;
    if (strlen(v[O_NAME]) == 0 || strlen(v[O_NAME]) >= sizeof hall->name)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME], "1-96 bytes");
    if (!currency_find(v[O_CURRENCY]))
        return cli_bad_value(ctx, TOPUP_E_CURRENCY_UNKNOWN, "currency", v[O_CURRENCY], NULL);
    if (v[O_ADDRESS] && strlen(v[O_ADDRESS]) >= sizeof hall->address)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "address", v[O_ADDRESS],
                             "at most 192 bytes");
    snprintf(hall->id, sizeof hall->id, "%s", v[O_ID]);
    snprintf(hall->name, sizeof hall->name, "%s", v[O_NAME]);
    snprintf(hall->currency, sizeof hall->currency, "%s", v[O_CURRENCY]);
    snprintf(hall->address, sizeof hall->address, "%s", v[O_ADDRESS] ? v[O_ADDRESS] : "");
    return CLI_CONTINUE;
}

int cli_cmd_hall_add(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_NAME, O_CURRENCY, O_ADDRESS, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"id", true}, {"name", true}, {"currency", true}, {"address", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    for (int o = O_ID; rc == CLI_CONTINUE && o <= O_CURRENCY; o++)
        rc = cli_require(ctx, v[o], options[o].name);
    hall_row hall = {0};
    if (rc != CLI_CONTINUE || (rc = hall_from_options(ctx, v, &hall)) != CLI_CONTINUE)
        return rc;
    cli_session session;
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    counter_actor actor;
    cli_actor(NULL, &actor);
    counter_refusal refusal;
    int64_t now = clock_now_seconds();
    topup_result r = counter_hall_add(session.st, &hall, &actor, now, &refusal);
    if (r == TOPUP_E_ALREADY_EXISTS)
        return cli_session_end(&session, cli_fail(r, "There is already a hall '%s'.", hall.id));
    if ((rc = finish_action(&session, r, refusal, "Adding the hall failed")) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    hall.created_at = now;
    if (ctx->json)
        rc = cli_json_print(hall_json(&hall));
    else {
        printf("Hall '%s' added (%s); its safe is the ledger account safe:%s.\n", hall.id,
               hall.currency, hall.id);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

int cli_cmd_hall_list(cli_context *ctx, int argc, char **argv)
{
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, v, NULL, 0, NULL);
    store *st;
    if (rc != CLI_CONTINUE || (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static hall_row halls[HALLS_MAX];
    size_t count;
    topup_result r = store_hall_list(st, halls, HALLS_MAX, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, hall_json(&halls[i]));
        return cli_json_print(json_pack("{s:o}", "halls", list));
    }
    for (size_t i = 0; i < count; i++)
        printf("%-24s %s  %s  %s\n", halls[i].id, halls[i].currency, halls[i].name,
               halls[i].address);
    if (count == 0)
        printf("no halls\n");
    return CLI_EXIT_OK;
}

/* ---- topup staff ---- */

static json_t *staff_json(const staff_row *staff)
{
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o}", "id", staff->id, "name", staff->name, "hall",
                     text_or_null(staff->hall_id), "role", staff->role, "status", staff->status,
                     "created_at", cli_json_time(staff->created_at));
}

/* Reads one line from in into password, without its line end: true when it fit. */
static bool read_line(FILE *in, char password[PASSWORD_INPUT_SIZE])
{
    if (!fgets(password, PASSWORD_INPUT_SIZE, in))
        return false;
    size_t length = strlen(password);
    bool ended = length > 0 && password[length - 1] == '\n';
    if (!ended && !feof(in))
        return false; /* longer than any acceptable password */
    password[strcspn(password, "\r\n")] = '\0';
    return true;
}

/* Reads the password typed at a terminal without echoing it. */
static bool read_typed(char password[PASSWORD_INPUT_SIZE])
{
    struct termios saved, quiet;
    bool echo_off = tcgetattr(STDIN_FILENO, &saved) == 0;
    if (echo_off) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    fputs("Password: ", stderr);
    bool read = read_line(stdin, password);
    if (echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
    return read;
}

/* The password from path, or standard input when path is NULL. A file others may read is
 * refused: the password would not be the staff member's alone. */
static int read_password(cli_context *ctx, const char *path, char password[PASSWORD_INPUT_SIZE])
{
    if (!path) {
        bool read = isatty(STDIN_FILENO) ? read_typed(password) : read_line(stdin, password);
        return read ? CLI_CONTINUE
                    : cli_fail(TOPUP_E_INVALID_ARGUMENT,
                               "Give the password as one line on standard input (at most %d "
                               "bytes).",
                               PORTAL_PASSWORD_SIZE_MAX);
    }
    FILE *file = fopen(path, "r");
    if (!file)
        return cli_bad_value(ctx, TOPUP_E_IO, "password-file", path, "cannot be opened");
    struct stat info;
    int rc = CLI_CONTINUE;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode) || (info.st_mode & 077) != 0)
        rc = cli_bad_value(ctx, TOPUP_E_IO, "password-file", path,
                           "must be a regular file only its owner can read (chmod 600)");
    else if (!read_line(file, password))
        rc = cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "password-file", path,
                           "its first line must be the password");
    fclose(file);
    return rc;
}

/* Reads, checks and hashes the password into hash; the clear text is wiped either way. */
static int password_hash_from(cli_context *ctx, const char *path, char hash[PASSWORD_HASH_SIZE])
{
    char password[PASSWORD_INPUT_SIZE] = "";
    int rc = read_password(ctx, path, password);
    if (rc == CLI_CONTINUE && !portal_password_acceptable(password))
        rc = cli_fail(TOPUP_E_INVALID_ARGUMENT,
                      "The password must be 8-%d bytes and not only digits.",
                      PORTAL_PASSWORD_SIZE_MAX);
    if (rc == CLI_CONTINUE && !portal_password_hash(password, hash))
        rc = cli_fail(TOPUP_E_NOMEM, "Hashing the password failed.");
    OPENSSL_cleanse(password, sizeof password);
    return rc;
}

/* Checks the options of staff add into staff; CLI_CONTINUE or the usage error. */
static int staff_from_options(cli_context *ctx, const char *const *v, staff_row *staff)
{
    enum { O_ID, O_NAME, O_ROLE, O_HALL };
    int rc = check_staff_id(ctx, v[O_ID], "id");
    if (rc != CLI_CONTINUE || (rc = check_hall_id(ctx, v[O_HALL], "hall")) != CLI_CONTINUE)
        return rc;
    if (strlen(v[O_NAME]) == 0 || strlen(v[O_NAME]) >= sizeof staff->name)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME], "1-96 bytes");
    if (!counter_role_valid(v[O_ROLE]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "role", v[O_ROLE],
                             "teller, supervisor or admin");
    if (!v[O_HALL] && strcmp(v[O_ROLE], "admin") != 0)
        return cli_usage_error(ctx, "A %s works at a hall: give --hall.", v[O_ROLE]);
    snprintf(staff->id, sizeof staff->id, "%s", v[O_ID]);
    snprintf(staff->name, sizeof staff->name, "%s", v[O_NAME]);
    snprintf(staff->role, sizeof staff->role, "%s", v[O_ROLE]);
    snprintf(staff->hall_id, sizeof staff->hall_id, "%s", v[O_HALL] ? v[O_HALL] : "");
    return CLI_CONTINUE;
}

int cli_cmd_staff_add(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_NAME, O_ROLE, O_HALL, O_PASSWORD_FILE, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"id", true}, {"name", true}, {"role", true}, {"hall", true}, {"password-file", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    for (int o = O_ID; rc == CLI_CONTINUE && o <= O_ROLE; o++)
        rc = cli_require(ctx, v[o], options[o].name);
    staff_row staff = {0};
    /* Argon2id takes a while on purpose: it runs before the write transaction opens. */
    if (rc != CLI_CONTINUE || (rc = staff_from_options(ctx, v, &staff)) != CLI_CONTINUE ||
        (rc = password_hash_from(ctx, v[O_PASSWORD_FILE], staff.password_hash)) != CLI_CONTINUE)
        return rc;
    cli_session session;
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    counter_actor actor;
    cli_actor(NULL, &actor);
    counter_refusal refusal;
    staff.created_at = clock_now_seconds();
    snprintf(staff.status, sizeof staff.status, "active"); /* as added, for the output */
    topup_result r = counter_staff_add(session.st, &staff, &actor, staff.created_at, &refusal);
    if (r == TOPUP_E_ALREADY_EXISTS)
        rc = cli_fail(r, "There is already a staff member '%s'.", staff.id);
    else if (r == TOPUP_E_NOT_FOUND && refusal == COUNTER_ACCEPTED)
        rc = cli_fail(r, "There is no hall '%s'.", staff.hall_id);
    else
        rc = finish_action(&session, r, refusal, "Adding the staff member failed");
    if (rc == CLI_CONTINUE && ctx->json)
        rc = cli_json_print(staff_json(&staff));
    else if (rc == CLI_CONTINUE) {
        printf("Staff member '%s' added as %s%s%s.\n", staff.id, staff.role,
               staff.hall_id[0] ? " at " : "", staff.hall_id);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

int cli_cmd_staff_list(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[] = {{"hall", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    store *st;
    if (rc != CLI_CONTINUE || (rc = check_hall_id(ctx, v[0], "hall")) != CLI_CONTINUE ||
        (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static staff_row staff[STAFF_MAX];
    size_t count;
    topup_result r = store_staff_list(st, v[0], staff, STAFF_MAX, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, staff_json(&staff[i]));
        return cli_json_print(json_pack("{s:o}", "staff", list));
    }
    for (size_t i = 0; i < count; i++)
        printf("%-32s %-10s %-8s %-24s %s\n", staff[i].id, staff[i].role, staff[i].status,
               staff[i].hall_id[0] ? staff[i].hall_id : "-", staff[i].name);
    if (count == 0)
        printf("no staff\n");
    return CLI_EXIT_OK;
}

int cli_cmd_staff_disable(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[] = {{"id", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    cli_session session;
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[0], "id")) != CLI_CONTINUE ||
        (rc = check_staff_id(ctx, v[0], "id")) != CLI_CONTINUE ||
        (rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    counter_actor actor;
    cli_actor(NULL, &actor);
    counter_refusal refusal;
    topup_result r = counter_staff_disable(session.st, v[0], &actor, clock_now_seconds(), &refusal);
    if (r == TOPUP_E_NOT_FOUND && refusal == COUNTER_ACCEPTED)
        rc = cli_fail(r, "There is no staff member '%s'.", v[0]);
    else
        rc = finish_action(&session, r, refusal, "Disabling the staff member failed");
    if (rc == CLI_CONTINUE) {
        printf("Staff member '%s' is disabled.\n", v[0]);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

/* ---- topup audit ---- */

static json_t *audit_json(const audit_row *entry)
{
    return json_pack("{s:I,s:o,s:o,s:o,s:s,s:s,s:s,s:s}", "id", (json_int_t)entry->id, "at",
                     cli_json_time(entry->at), "staff", text_or_null(entry->staff_id), "hall",
                     text_or_null(entry->hall_id), "action", entry->action, "subject",
                     entry->subject, "detail", entry->detail, "origin", entry->origin);
}

static void audit_print(const audit_row *entry)
{
    char at[RFC3339_SIZE];
    clock_format_rfc3339(entry->at, at);
    printf("%lld %s %s %s %s %s %s: %s\n", (long long)entry->id, at,
           entry->staff_id[0] ? entry->staff_id : "-", entry->hall_id[0] ? entry->hall_id : "-",
           entry->origin, entry->action, entry->subject, entry->detail);
}

int cli_cmd_audit_list(cli_context *ctx, int argc, char **argv)
{
    enum { O_STAFF, O_HALL, O_LIMIT, O_COUNT };
    static const cli_option options[O_COUNT] = {{"staff", true}, {"hall", true}, {"limit", true}};
    const char *v[O_COUNT];
    int64_t limit;
    store *st;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = check_staff_id(ctx, v[O_STAFF], "staff")) != CLI_CONTINUE ||
        (rc = check_hall_id(ctx, v[O_HALL], "hall")) != CLI_CONTINUE ||
        (rc = parse_limit(ctx, v[O_LIMIT], &limit)) != CLI_CONTINUE ||
        (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static audit_row entries[AUDIT_LIMIT_MAX];
    size_t count;
    topup_result r = store_audit_list(st, v[O_STAFF], v[O_HALL], 0, entries, (size_t)limit, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, audit_json(&entries[i]));
        return cli_json_print(json_pack("{s:o}", "entries", list));
    }
    for (size_t i = 0; i < count; i++)
        audit_print(&entries[i]);
    if (count == 0)
        printf("no audit entries\n");
    return CLI_EXIT_OK;
}

/* ---- topup shift ---- */

/* Closing figures are null while the shift is open. */
static json_t *closing_json(const shift_row *shift, int64_t amount_minor)
{
    return strcmp(shift->status, "closed") == 0 ? money_json(amount_minor, shift->currency)
                                                : json_null();
}

static json_t *shift_json(const shift_row *shift)
{
    char drawer[ACCOUNT_CODE_SIZE];
    counter_drawer_code(shift->hall_id, shift->staff_id, drawer);
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:o,s:o,s:o,s:s,s:o,s:o}", "id",
                     (json_int_t)shift->id, "staff", shift->staff_id, "hall", shift->hall_id,
                     "status", shift->status, "currency", shift->currency, "drawer_account", drawer,
                     "opening_float", money_json(shift->opening_float_minor, shift->currency),
                     "opening_float_minor", (json_int_t)shift->opening_float_minor, "expected_cash",
                     closing_json(shift, shift->expected_cash_minor), "counted_cash",
                     closing_json(shift, shift->counted_cash_minor), "over_short",
                     closing_json(shift, shift->over_short_minor), "close_reason",
                     shift->close_reason, "opened_at", cli_json_time(shift->opened_at), "closed_at",
                     cli_json_time(shift->closed_at));
}

static json_t *totals_json(const shift_total_row *rows, size_t count, const char *key_name,
                           const char *currency)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list,
                              json_pack("{s:s,s:I,s:o,s:I,s:I,s:o}", key_name, rows[i].key,
                                        "orders", (json_int_t)rows[i].order_count, "amount",
                                        money_json(rows[i].amount_minor, currency), "amount_minor",
                                        (json_int_t)rows[i].amount_minor, "reversed_orders",
                                        (json_int_t)rows[i].reversed_count, "reversed",
                                        money_json(rows[i].reversed_minor, currency)));
    return list;
}

static json_t *report_json(const counter_shift_report *report)
{
    const char *currency = report->shift.currency;
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "shift", shift_json(&report->shift), "tenders",
                     totals_json(report->tenders, report->tender_count, "tender", currency),
                     "operators",
                     totals_json(report->operators, report->operator_count, "operator", currency),
                     "taken", money_json(report->taken_minor, currency), "reversed",
                     money_json(report->reversed_minor, currency), "drawer_cash",
                     money_json(report->drawer_cash_minor, currency));
}

static void totals_print(const char *title, const shift_total_row *rows, size_t count,
                         const char *currency)
{
    printf("%s:\n", title);
    for (size_t i = 0; i < count; i++) {
        char amount[MONEY_TEXT_SIZE_MAX], reversed[MONEY_TEXT_SIZE_MAX];
        printf("  %-12s %5lld orders %14s  (reversed: %lld, %s)\n", rows[i].key,
               (long long)rows[i].order_count,
               cli_money_text(rows[i].amount_minor, currency, amount),
               (long long)rows[i].reversed_count,
               cli_money_text(rows[i].reversed_minor, currency, reversed));
    }
    if (count == 0)
        printf("  none\n");
}

static void report_print(const counter_shift_report *report)
{
    const shift_row *shift = &report->shift;
    const char *currency = shift->currency;
    char a[MONEY_TEXT_SIZE_MAX], b[MONEY_TEXT_SIZE_MAX], c[MONEY_TEXT_SIZE_MAX];
    printf("Shift %lld of %s at %s: %s; opening float %s %s\n", (long long)shift->id,
           shift->staff_id, shift->hall_id, shift->status,
           cli_money_text(shift->opening_float_minor, currency, a), currency);
    totals_print("Per tender", report->tenders, report->tender_count, currency);
    totals_print("Per operator", report->operators, report->operator_count, currency);
    printf("Taken %s, reversed %s %s\n", cli_money_text(report->taken_minor, currency, a),
           cli_money_text(report->reversed_minor, currency, b), currency);
    if (strcmp(shift->status, "open") == 0) {
        printf("The drawer holds %s %s by the ledger.\n",
               cli_money_text(report->drawer_cash_minor, currency, a), currency);
        return;
    }
    printf("Expected %s, counted %s, over/short %s %s%s%s\n",
           cli_money_text(shift->expected_cash_minor, currency, a),
           cli_money_text(shift->counted_cash_minor, currency, b),
           cli_money_text(shift->over_short_minor, currency, c), currency,
           shift->close_reason[0] ? ": " : "", shift->close_reason);
}

/* The staff member's hall's currency, to read the amount given on the command line in. */
static int amount_in_hall_currency(cli_context *ctx, cli_session *session, const char *staff_id,
                                   const char *option, const char *text, int64_t *amount_minor)
{
    staff_row staff;
    hall_row hall;
    topup_result r = store_staff_get(session->st, staff_id, &staff);
    /* An unknown staff member or hall is the service's to refuse (and record); the amount is
     * then read as CNY only to get that far. */
    const char *currency = "CNY";
    if (r == TOPUP_OK && staff.hall_id[0] &&
        store_hall_get(session->st, staff.hall_id, &hall) == TOPUP_OK)
        currency = hall.currency;
    r = money_parse(text, currency, amount_minor);
    if (r == TOPUP_E_AMOUNT_ZERO) { /* an empty drawer is a count too */
        *amount_minor = 0;
        return CLI_CONTINUE;
    }
    return r == TOPUP_OK ? CLI_CONTINUE : cli_bad_value(ctx, r, option, text, NULL);
}

int cli_cmd_shift_open(cli_context *ctx, int argc, char **argv)
{
    enum { O_STAFF, O_FLOAT, O_HALL, O_COUNT };
    static const cli_option options[O_COUNT] = {{"staff", true}, {"float", true}, {"hall", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    for (int o = O_STAFF; rc == CLI_CONTINUE && o <= O_FLOAT; o++)
        rc = cli_require(ctx, v[o], options[o].name);
    cli_session session;
    if (rc != CLI_CONTINUE || (rc = check_staff_id(ctx, v[O_STAFF], "staff")) != CLI_CONTINUE ||
        (rc = check_hall_id(ctx, v[O_HALL], "hall")) != CLI_CONTINUE ||
        (rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    counter_shift_open_request request = {0};
    cli_actor(v[O_STAFF], &request.actor);
    snprintf(request.hall_id, sizeof request.hall_id, "%s", v[O_HALL] ? v[O_HALL] : "");
    if ((rc = amount_in_hall_currency(ctx, &session, v[O_STAFF], "float", v[O_FLOAT],
                                      &request.float_minor)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    shift_row shift;
    counter_refusal refusal;
    topup_result r =
        counter_shift_open(session.st, &request, clock_now_seconds(), &shift, &refusal);
    if ((rc = finish_action(&session, r, refusal, "Opening the shift failed")) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    if (ctx->json)
        rc = cli_json_print(shift_json(&shift));
    else {
        char text[MONEY_TEXT_SIZE_MAX];
        printf("Shift %lld opened for %s at %s with a float of %s %s.\n", (long long)shift.id,
               shift.staff_id, shift.hall_id,
               cli_money_text(shift.opening_float_minor, shift.currency, text), shift.currency);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

int cli_cmd_shift_close(cli_context *ctx, int argc, char **argv)
{
    enum { O_STAFF, O_COUNTED, O_REASON, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"staff", true}, {"counted", true}, {"reason", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    for (int o = O_STAFF; rc == CLI_CONTINUE && o <= O_COUNTED; o++)
        rc = cli_require(ctx, v[o], options[o].name);
    counter_shift_close_request request = {0};
    if (rc == CLI_CONTINUE && v[O_REASON] && strlen(v[O_REASON]) >= sizeof request.reason)
        rc = cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "reason", v[O_REASON],
                           "at most 127 bytes");
    cli_session session;
    if (rc != CLI_CONTINUE || (rc = check_staff_id(ctx, v[O_STAFF], "staff")) != CLI_CONTINUE ||
        (rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    cli_actor(v[O_STAFF], &request.actor);
    snprintf(request.reason, sizeof request.reason, "%s", v[O_REASON] ? v[O_REASON] : "");
    if ((rc = amount_in_hall_currency(ctx, &session, v[O_STAFF], "counted", v[O_COUNTED],
                                      &request.counted_minor)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    static counter_shift_report report;
    counter_refusal refusal;
    topup_result r =
        counter_shift_close(session.st, &request, clock_now_seconds(), &report, &refusal);
    if ((rc = finish_action(&session, r, refusal, "Closing the shift failed")) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    if (ctx->json)
        rc = cli_json_print(report_json(&report));
    else {
        report_print(&report);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

int cli_cmd_shift_report(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[] = {{"id", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    int64_t id;
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[0], "id")) != CLI_CONTINUE)
        return rc;
    if (!decimal_parse(v[0], 1, INT64_MAX, &id))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "id", v[0], "a shift number");
    cli_session session;
    /* A write session: seeing a shift's report is recorded in the audit log. */
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    counter_actor actor;
    cli_actor(NULL, &actor);
    static counter_shift_report report;
    counter_refusal refusal;
    topup_result r =
        counter_shift_report_view(session.st, id, &actor, clock_now_seconds(), &report, &refusal);
    if (r == TOPUP_E_NOT_FOUND && refusal == COUNTER_ACCEPTED)
        return cli_session_end(&session, cli_fail(r, "There is no shift %lld.", (long long)id));
    if ((rc = finish_action(&session, r, refusal, "Reading the shift failed")) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    if (ctx->json)
        rc = cli_json_print(report_json(&report));
    else {
        report_print(&report);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

/* ---- topup invoices ---- */

#define INVOICE_BATCH_SIZE 200 /* rows read per query while a day is listed */
#define BEIJING_OFFSET_S   (8 * 3600)
#define LOCAL_TIME_SIZE    32 /* "2026-11-25 21:30:05+08:00" and room */

/* An invoice of a reversed order is void, whatever the order's own status says. */
static const char *invoice_status(const counter_invoice_row *row)
{
    return row->reversed_at != 0 ? "reversed" : order_status_name(row->status);
}

/* Beijing time, as the day finance asked for is cut. */
static void beijing_time_format(int64_t unix_seconds, char text[LOCAL_TIME_SIZE])
{
    time_t local = (time_t)(unix_seconds + BEIJING_OFFSET_S);
    struct tm fields;
    if (gmtime_r(&local, &fields) == NULL ||
        strftime(text, LOCAL_TIME_SIZE, "%Y-%m-%d %H:%M:%S+08:00", &fields) == 0)
        snprintf(text, LOCAL_TIME_SIZE, "@%lld", (long long)unix_seconds);
}

static json_t *invoice_json(const counter_invoice_row *row)
{
    return json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:o}", "order_id",
                     (json_int_t)row->order_id, "created_at", cli_json_time(row->created_at),
                     "title", row->invoice_title, "tax_id", text_or_null(row->invoice_tax_id),
                     "amount", money_json(row->price_minor, row->currency), "face_value",
                     money_json(row->face_minor, row->currency), "currency", row->currency,
                     "operator", row->operator_id, "hall", row->hall_id, "teller", row->staff_id,
                     "status", invoice_status(row), "reversed_at", cli_json_time(row->reversed_at));
}

static void invoice_print(const counter_invoice_row *row)
{
    char at[LOCAL_TIME_SIZE], amount[MONEY_TEXT_SIZE_MAX];
    beijing_time_format(row->created_at, at);
    printf("%s  %lld  %s  %s  %s %s  %s  %s  %s\n", at, (long long)row->order_id,
           row->invoice_title, row->invoice_tax_id[0] ? row->invoice_tax_id : "-", row->currency,
           cli_money_text(row->price_minor, row->currency, amount), row->hall_id, row->staff_id,
           invoice_status(row));
}

/* Reads the day in batches, printing each line as it comes or gathering the JSON list. */
static topup_result invoices_emit(store *st, int64_t from, int64_t to, const char *hall_id,
                                  json_t *list, size_t *total /* OUT */)
{
    static counter_invoice_row rows[INVOICE_BATCH_SIZE];
    int64_t after = 0;
    size_t count = 0;
    *total = 0;
    do {
        topup_result r = store_counter_invoices_list(st, from, to, hall_id, after, rows,
                                                     INVOICE_BATCH_SIZE, &count);
        if (r != TOPUP_OK)
            return r;
        for (size_t i = 0; i < count; i++) {
            if (list)
                json_array_append_new(list, invoice_json(&rows[i]));
            else
                invoice_print(&rows[i]);
        }
        *total += count;
        if (count > 0)
            after = rows[count - 1].order_id;
    } while (count == INVOICE_BATCH_SIZE);
    return TOPUP_OK;
}

int cli_cmd_invoices_list(cli_context *ctx, int argc, char **argv)
{
    enum { O_DATE, O_HALL, O_COUNT };
    static const cli_option options[O_COUNT] = {{"date", true}, {"hall", true}};
    const char *v[O_COUNT];
    int64_t from = 0, to = 0;
    store *st;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[O_DATE], "date")) != CLI_CONTINUE ||
        (rc = check_hall_id(ctx, v[O_HALL], "hall")) != CLI_CONTINUE)
        return rc;
    if (!bill_day_parse(v[O_DATE], &from, &to))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "date", v[O_DATE],
                             "use a day YYYY-MM-DD (Beijing time)");
    if ((rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    json_t *list = ctx->json ? json_array() : NULL;
    size_t total = 0;
    topup_result r = invoices_emit(st, from, to, v[O_HALL], list, &total);
    store_close(st);
    if (r != TOPUP_OK) {
        json_decref(list);
        return cli_fail(r, NULL);
    }
    if (list)
        return cli_json_print(json_pack("{s:s,s:o}", "date", v[O_DATE], "invoices", list));
    if (total == 0)
        printf("no invoices on %s\n", v[O_DATE]);
    return CLI_EXIT_OK;
}

/* Writes the whole PDF to path, replacing what was there. */
static topup_result pdf_write(const char *path, const unsigned char *pdf, size_t size)
{
    FILE *file = fopen(path, "wb");
    if (file == NULL)
        return TOPUP_E_IO;
    bool written = fwrite(pdf, 1, size, file) == size;
    if (fclose(file) != 0 || !written)
        return TOPUP_E_IO;
    return TOPUP_OK;
}

static void invoice_facts_from(const counter_invoice_row *row, invoice_facts *facts /* OUT */)
{
    *facts = (invoice_facts){
        .order_id = row->order_id,
        .created_at = row->created_at,
        .seller = row->operator_name,
        .buyer_title = row->invoice_title,
        .buyer_tax_id = row->invoice_tax_id,
        .amount_minor = row->price_minor,
        .currency = row->currency,
        .hall_name = row->hall_name,
        .teller_name = row->staff_name,
        .voided = row->reversed_at != 0,
    };
}

int cli_cmd_invoices_pdf(cli_context *ctx, int argc, char **argv)
{
    enum { O_ORDER, O_OUT, O_COUNT };
    static const cli_option options[O_COUNT] = {{"order", true}, {"out", true}};
    const char *v[O_COUNT];
    int64_t order_id;
    store *st;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[O_ORDER], "order")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_OUT], "out")) != CLI_CONTINUE)
        return rc;
    if (!decimal_parse(v[O_ORDER], 1, INT64_MAX, &order_id))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "order", v[O_ORDER], "an order id");
    if ((rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    counter_invoice_row row;
    topup_result r = store_counter_invoice_get(st, order_id, &row);
    store_close(st);
    if (r == TOPUP_E_NOT_FOUND)
        return cli_fail(r,
                        "Order %lld has no invoice request: it was not taken at a counter, or "
                        "its customer asked for no invoice.",
                        (long long)order_id);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    invoice_facts facts;
    invoice_facts_from(&row, &facts);
    unsigned char *pdf = NULL;
    size_t size = 0;
    /* fontconfig's one-time configuration, loaded the way the sanitizer build expects. */
    receipt_fonts_load();
    if ((r = invoice_render_pdf(&facts, &pdf, &size)) != TOPUP_OK)
        return cli_fail(r, "The invoice of order %lld cannot be drawn.", (long long)order_id);
    r = pdf_write(v[O_OUT], pdf, size);
    free(pdf);
    if (r != TOPUP_OK)
        return cli_fail(r, "Writing %s failed; check the directory exists and is writable.",
                        v[O_OUT]);
    if (ctx->json)
        return cli_json_print(json_pack("{s:I,s:s,s:I,s:s}", "order_id", (json_int_t)order_id,
                                        "out", v[O_OUT], "size", (json_int_t)size, "status",
                                        invoice_status(&row)));
    printf("wrote the invoice of order %lld to %s (%zu bytes)%s\n", (long long)order_id, v[O_OUT],
           size, row.reversed_at != 0 ? ", marked void: the order was reversed" : "");
    return CLI_EXIT_OK;
}
