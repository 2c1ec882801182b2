/* `topup subscribers import FILE.csv`: bring an operator's existing subscribers (and their
 * balances) into topup's ledger.
 *
 * The file may come from another system's export, so it is untrusted: it is bounded in size and
 * line length, every line is checked before anything is written, and the whole import is one
 * transaction. Either every line is imported or, when any line is wrong, none is and every wrong
 * line is listed as FILE:LINE so the file can be fixed in one pass. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/money.h"
#include "service/numbers.h"

#define IMPORT_FILE_SIZE_MAX       (64u * 1024 * 1024) /* bytes; a bigger migration is split */
#define IMPORT_LINE_SIZE_MAX       1024                /* bytes of one line without its newline */
#define IMPORT_FIELD_COUNT_MAX     4
#define OPENING_ACCOUNT            "migration:opening" /* where opening balances come from */
#define OPENING_CURRENCY_COUNT_MAX 16 /* distinct currencies cached for that account */

static const char *const statuses[] = {"active", "suspended", "closed"};
#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])

/* One valid line, waiting to be written once the whole file is known to be good. */
typedef struct import_row {
    char msisdn[E164_SIZE];
    const operator_info *op; /* points into the session's catalog */
    int64_t balance_minor;   /* opening balance, 0 for none */
    int64_t valid_until;     /* unix seconds, 0 for never recharged */
    unsigned line;           /* 1-based line number in the file */
    unsigned char status;    /* index into statuses */
} import_row;

/* Numbers seen so far, to refuse a number that appears twice: open addressing over row
 * indexes + 1 (0 marks an empty slot). */
typedef struct number_set {
    unsigned *slots;
    size_t capacity; /* a power of two, at least twice the row count */
} number_set;

typedef struct import_state {
    const char *path;
    size_t column_count; /* 2 or 4, from the header */
    import_row *rows;
    size_t row_count, row_capacity;
    number_set seen;
    size_t bad_line_count;
    struct {
        char currency[CURRENCY_CODE_SIZE];
        int64_t id;
    } opening[OPENING_CURRENCY_COUNT_MAX]; /* OPENING_ACCOUNT's id per currency, once known */
    size_t opening_count;
} import_state;

typedef enum line_status {
    LINE_OK,
    LINE_EOF,
    LINE_TOO_LONG, /* the line was skipped */
    LINE_NUL,      /* the line held a NUL byte and was skipped */
    LINE_FILE_TOO_BIG,
    LINE_IO,
} line_status;

/* Reads one line (without "\n" or "\r\n") into line; counts every byte read in *bytes_read so
 * a file that grows while being read still cannot pass the size bound. */
static line_status read_line(FILE *file, char line[IMPORT_LINE_SIZE_MAX + 1], size_t *length,
                             size_t *bytes_read)
{
    size_t used = 0;
    bool too_long = false, nul = false, any = false;
    int c;
    while ((c = getc(file)) != EOF) {
        any = true;
        if (++*bytes_read > IMPORT_FILE_SIZE_MAX)
            return LINE_FILE_TOO_BIG;
        if (c == '\n')
            break;
        if (c == '\0')
            nul = true;
        if (used < IMPORT_LINE_SIZE_MAX)
            line[used++] = (char)c;
        else if (!(used == IMPORT_LINE_SIZE_MAX && c == '\r'))
            too_long = true; /* one '\r' past the limit may still be a CRLF line end */
    }
    if (ferror(file))
        return LINE_IO;
    if (!any)
        return LINE_EOF;
    if (used > 0 && line[used - 1] == '\r')
        used--;
    line[used] = '\0';
    *length = used;
    return too_long ? LINE_TOO_LONG : nul ? LINE_NUL : LINE_OK;
}

__attribute__((format(printf, 3, 4))) static void bad_line(import_state *state, unsigned line,
                                                           const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "%s:%u: ", state->path, line);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    state->bad_line_count++;
}

static size_t hash_number(const char *e164)
{
    size_t hash = 14695981039346656037u; /* FNV-1a */
    for (; *e164; e164++)
        hash = (hash ^ (unsigned char)*e164) * 1099511628211u;
    return hash;
}

/* The row index + 1 of number in the set, or 0; *slot is where it is or would go. */
static unsigned set_find(const import_state *state, const char *e164, size_t *slot)
{
    size_t mask = state->seen.capacity - 1;
    for (size_t i = hash_number(e164) & mask;; i = (i + 1) & mask) {
        unsigned entry = state->seen.slots[i];
        if (entry == 0 || strcmp(state->rows[entry - 1].msisdn, e164) == 0) {
            *slot = i;
            return entry;
        }
    }
}

/* Makes room for one more row and keeps the set at most half full. */
static bool reserve_row(import_state *state)
{
    if (state->row_count == state->row_capacity) {
        size_t capacity = state->row_capacity ? state->row_capacity * 2 : 1024;
        import_row *rows = realloc(state->rows, capacity * sizeof *rows);
        if (!rows)
            return false;
        state->rows = rows;
        state->row_capacity = capacity;
    }
    if ((state->row_count + 1) * 2 <= state->seen.capacity)
        return true;
    size_t capacity = state->seen.capacity ? state->seen.capacity * 2 : 2048;
    unsigned *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return false;
    free(state->seen.slots);
    state->seen.slots = slots;
    state->seen.capacity = capacity;
    for (size_t i = 0; i < state->row_count; i++) {
        size_t slot;
        set_find(state, state->rows[i].msisdn, &slot);
        slots[slot] = (unsigned)i + 1;
    }
    return true;
}

/* Splits line at commas into at most IMPORT_FIELD_COUNT_MAX + 1 fields, trimming spaces and
 * tabs; returns how many there were (one more than the maximum means "too many"). */
static size_t split_fields(char *line, char *fields[IMPORT_FIELD_COUNT_MAX + 1])
{
    size_t count = 0;
    char *start = line;
    for (;;) {
        char *comma = strchr(start, ',');
        if (comma)
            *comma = '\0';
        while (*start == ' ' || *start == '\t')
            start++;
        char *end = start + strlen(start);
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (count == IMPORT_FIELD_COUNT_MAX + 1)
            return count;
        fields[count++] = start;
        if (!comma)
            return count;
        start = comma + 1;
    }
}

/* Checks one data line; appends it to state->rows when good, else reports it. Returns false
 * only when the import cannot go on (storage failure, out of memory). */
static bool check_line(import_state *state, cli_session *session, const char *country, char *line,
                       unsigned line_number)
{
    char *fields[IMPORT_FIELD_COUNT_MAX + 1];
    size_t field_count = split_fields(line, fields);
    if (field_count != state->column_count) {
        if (field_count > IMPORT_FIELD_COUNT_MAX)
            bad_line(state, line_number,
                     "invalid_request: more than %d fields where the header "
                     "has %zu.",
                     IMPORT_FIELD_COUNT_MAX, state->column_count);
        else
            bad_line(state, line_number, "invalid_request: %zu fields where the header has %zu.",
                     field_count, state->column_count);
        return true;
    }
    import_row row = {.line = line_number};
    number_info number;
    topup_result r = numbers_resolve(session->cat, session->st, country, fields[0], &number);
    if (r == TOPUP_E_STORAGE) {
        cli_report(r, "Reading the portability table failed (%s).", store_errmsg(session->st));
        return false;
    }
    if (r != TOPUP_OK) {
        bad_line(state, line_number, "msisdn '%.64s': %s: %s", fields[0], topup_result_code(r),
                 topup_strerror(r));
        return true;
    }
    row.op = number.op;
    snprintf(row.msisdn, sizeof row.msisdn, "%s", number.e164);
    if (strcmp(row.op->connector, "hosted") != 0) {
        bad_line(
            state, line_number,
            "msisdn %s: invalid_request: it belongs to %s, whose balances topup does not keep.",
            row.msisdn, row.op->id);
        return true;
    }
    size_t status = 0;
    while (status < STATUS_COUNT && strcmp(fields[1], statuses[status]) != 0)
        status++;
    if (status == STATUS_COUNT) {
        bad_line(state, line_number,
                 "status '%.32s': invalid_request: use active, suspended or closed.", fields[1]);
        return true;
    }
    row.status = (unsigned char)status;
    if (state->column_count == 4 && fields[2][0] != '\0') {
        r = money_parse(fields[2], row.op->currency, &row.balance_minor);
        if (r == TOPUP_E_AMOUNT_ZERO) {
            row.balance_minor = 0;
        } else if (r != TOPUP_OK) {
            bad_line(state, line_number, "balance '%.32s' (%s, the currency of %s): %s: %s",
                     fields[2], row.op->currency, row.op->id, topup_result_code(r),
                     topup_strerror(r));
            return true;
        }
    }
    if (state->column_count == 4 && fields[3][0] != '\0' &&
        !clock_parse_rfc3339(fields[3], &row.valid_until)) {
        bad_line(state, line_number,
                 "valid_until '%.32s': invalid_request: use a date YYYY-MM-DD or an RFC 3339 UTC "
                 "time YYYY-MM-DDTHH:MM:SSZ.",
                 fields[3]);
        return true;
    }

    if (!reserve_row(state)) {
        cli_report(TOPUP_E_NOMEM, "Reading %s needs more memory than there is.", state->path);
        return false;
    }
    size_t slot;
    unsigned earlier = set_find(state, row.msisdn, &slot);
    if (earlier) {
        bad_line(state, line_number, "msisdn %s: already_exists: the number is also on line %u.",
                 row.msisdn, state->rows[earlier - 1].line);
        return true;
    }
    subscriber_row existing;
    r = store_subscriber_get(session->st, row.msisdn, &existing);
    if (r == TOPUP_OK) {
        bad_line(state, line_number,
                 "msisdn %s: already_exists: the number is already a subscriber (%s).", row.msisdn,
                 existing.status);
        return true;
    }
    if (r != TOPUP_E_NOT_FOUND) {
        cli_report(r, "Reading the subscribers failed (%s).", store_errmsg(session->st));
        return false;
    }
    state->rows[state->row_count++] = row;
    state->seen.slots[slot] = (unsigned)state->row_count;
    return true;
}

/* Reads and checks the header: the column names, in this order. */
static bool check_header(import_state *state, char *line)
{
    /* A spreadsheet's UTF-8 export may start with a byte order mark. */
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        memmove(line, line + 3, strlen(line + 3) + 1);
    char *fields[IMPORT_FIELD_COUNT_MAX + 1];
    size_t count = split_fields(line, fields);
    static const char *const names[] = {"msisdn", "status", "balance", "valid_until"};
    if (count != 2 && count != 4)
        return false;
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i], names[i]) != 0)
            return false;
    state->column_count = count;
    return true;
}

/* Reads the whole file, checking every line. CLI_CONTINUE when every line is good. */
static int check_file(import_state *state, FILE *file, cli_session *session, const char *country)
{
    static char line[IMPORT_LINE_SIZE_MAX + 1];
    size_t length, bytes_read = 0;
    unsigned line_number = 0;
    for (;;) {
        line_status status = read_line(file, line, &length, &bytes_read);
        line_number++;
        if (status == LINE_EOF)
            break;
        if (status == LINE_FILE_TOO_BIG)
            return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                            "%s is larger than 64 MiB; split it and import the parts.",
                            state->path);
        if (status == LINE_IO)
            return cli_fail(TOPUP_E_IO, "Reading %s failed at line %u.", state->path, line_number);
        if (line_number == 1) {
            if (status != LINE_OK || !check_header(state, line))
                return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                                "%s:1: the header must be 'msisdn,status' or "
                                "'msisdn,status,balance,valid_until'; nothing was imported.",
                                state->path);
            continue;
        }
        if (status == LINE_TOO_LONG) {
            bad_line(state, line_number, "invalid_request: the line is longer than %d bytes.",
                     IMPORT_LINE_SIZE_MAX);
            continue;
        }
        if (status == LINE_NUL) {
            bad_line(state, line_number, "invalid_request: the line contains a NUL byte.");
            continue;
        }
        if (length == 0)
            continue; /* blank lines, such as a trailing one, carry nothing */
        if (!check_line(state, session, country, line, line_number))
            return CLI_EXIT_FAILURE;
    }
    if (line_number == 1)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "%s is empty: it needs at least the header "
                        "line; nothing was imported.",
                        state->path);
    if (state->bad_line_count)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "%s has %zu wrong lines (listed above); nothing was imported.", state->path,
                        state->bad_line_count);
    return CLI_CONTINUE;
}

/* The opening-balance account of a currency, created on first use. */
static topup_result opening_account(import_state *state, store *st, const char *currency,
                                    int64_t *account_id)
{
    for (size_t i = 0; i < state->opening_count; i++)
        if (strcmp(state->opening[i].currency, currency) == 0) {
            *account_id = state->opening[i].id;
            return TOPUP_OK;
        }
    account_row account;
    topup_result r =
        store_account_ensure(st, OPENING_ACCOUNT, currency, "migration", 0, 0, &account);
    if (r != TOPUP_OK)
        return r;
    *account_id = account.id;
    if (state->opening_count < OPENING_CURRENCY_COUNT_MAX) {
        snprintf(state->opening[state->opening_count].currency, CURRENCY_CODE_SIZE, "%s", currency);
        state->opening[state->opening_count++].id = account.id;
    }
    return TOPUP_OK;
}

/* Writes one checked row: its account, its subscriber row and its opening balance. */
static topup_result import_row_write(import_state *state, store *st, const import_row *row,
                                     int64_t now)
{
    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "subscriber:%s", row->msisdn);
    account_row account;
    topup_result r = store_account_ensure(st, code, row->op->currency, "subscriber",
                                          ACCOUNT_NO_OVERDRAFT, 0, &account);
    if (r != TOPUP_OK)
        return r;
    subscriber_row sub = {
        .account_id = account.id,
        .valid_until = row->valid_until,
        .created_at = now,
    };
    snprintf(sub.msisdn, sizeof sub.msisdn, "%s", row->msisdn);
    snprintf(sub.operator_id, sizeof sub.operator_id, "%s", row->op->id);
    snprintf(sub.status, sizeof sub.status, "%s", statuses[row->status]);
    snprintf(sub.currency, sizeof sub.currency, "%s", row->op->currency);
    if ((r = store_subscriber_insert(st, &sub)) != TOPUP_OK || row->balance_minor == 0)
        return r;
    int64_t opening_id;
    if ((r = opening_account(state, st, row->op->currency, &opening_id)) != TOPUP_OK)
        return r;
    transfer_row transfer = {
        .debit_account_id = opening_id,
        .credit_account_id = account.id,
        .amount_minor = row->balance_minor,
        .order_id = 0,
        .created_at = now,
    };
    snprintf(transfer.currency, sizeof transfer.currency, "%s", row->op->currency);
    snprintf(transfer.kind, sizeof transfer.kind, "opening_balance");
    return store_transfer(st, &transfer, NULL, NULL);
}

static int import_file(const cli_context *ctx, import_state *state, FILE *file, const char *country,
                       size_t *opening_count)
{
    cli_session session;
    int rc = cli_session_open(ctx, true, true, &session);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = check_file(state, file, &session, country)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    int64_t now = clock_now_seconds();
    for (size_t i = 0; i < state->row_count; i++) {
        const import_row *row = &state->rows[i];
        topup_result r = import_row_write(state, session.st, row, now);
        if (r != TOPUP_OK)
            return cli_session_end(&session, cli_fail(r,
                                                      "%s:%u: writing %s failed (%s); nothing was "
                                                      "imported.",
                                                      state->path, row->line, row->msisdn,
                                                      store_errmsg(session.st)));
        *opening_count += row->balance_minor > 0;
    }
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    return cli_session_end(&session, CLI_CONTINUE);
}

int cli_cmd_subscribers_import(cli_context *ctx, int argc, char **argv)
{
    enum { O_COUNTRY, O_COUNT };
    static const cli_option options[O_COUNT] = {{"country", true}};
    const char *v[O_COUNT];
    char *files[1];
    size_t file_count = 0;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, files, 1, &file_count);
    if (rc != CLI_CONTINUE)
        return rc;
    if (file_count != 1)
        return cli_usage_error(ctx, "Name the CSV file to import.");
    const char *country = v[O_COUNTRY] ? v[O_COUNTRY] : CLI_COUNTRY_DEFAULT;
    if (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
        country[1] > 'Z')
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", country,
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");

    import_state state = {.path = files[0]};
    FILE *file = fopen(state.path, "r");
    if (!file)
        return cli_fail(TOPUP_E_IO, "Cannot open %s: %s.", state.path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return cli_fail(TOPUP_E_IO, "%s is not a regular file.", state.path);
    }
    if ((uint64_t)info.st_size > IMPORT_FILE_SIZE_MAX) {
        fclose(file);
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "%s is %lld bytes; at most 64 MiB are imported at once, so split it.",
                        state.path, (long long)info.st_size);
    }
    size_t opening_count = 0;
    rc = import_file(ctx, &state, file, country, &opening_count);
    fclose(file);
    free(state.rows);
    free(state.seen.slots);
    if (rc != CLI_CONTINUE)
        return rc;
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:I,s:I}", "file", state.path, "imported",
                                        (json_int_t)state.row_count, "opening_balances",
                                        (json_int_t)opening_count));
    printf("Imported %zu subscribers from %s (%zu with an opening balance from %s).\n",
           state.row_count, state.path, opening_count, OPENING_ACCOUNT);
    return CLI_EXIT_OK;
}
