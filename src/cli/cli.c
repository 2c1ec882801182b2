/* Helpers every command shares: option parsing, error lines, store and catalog, JSON output. */
#include "cli/cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/money.h"

#define CLI_PATH_SIZE_MAX 4096 /* PATH_MAX on Linux; a longer --db is refused */

/* getopt_long values: command options are CLI_OPTION_BASE + their index, so they never collide
 * with characters or with the common options. */
enum {
    CLI_OPTION_BASE = 0x1000,
    CLI_OPTION_DB = 0x2000,
    CLI_OPTION_JSON,
    CLI_OPTION_HELP,
};

const char *cli_command_name(const cli_context *ctx)
{
    static char name[64];
    const cli_command *command = ctx->command;
    if (command->verb)
        snprintf(name, sizeof name, "%s %s", command->group, command->verb);
    else
        snprintf(name, sizeof name, "%s", command->group);
    return name;
}

static void vreport(topup_result result, const char *format, va_list arguments)
{
    fprintf(stderr, "topup: %s: %s", topup_result_code(result), topup_strerror(result));
    if (format) {
        fputc(' ', stderr);
        vfprintf(stderr, format, arguments);
    }
    fputc('\n', stderr);
}

void cli_report(topup_result result, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vreport(result, format, arguments);
    va_end(arguments);
}

int cli_fail(topup_result result, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vreport(result, format, arguments);
    va_end(arguments);
    return CLI_EXIT_FAILURE;
}

int cli_usage_error(const cli_context *ctx, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vreport(TOPUP_E_INVALID_ARGUMENT, format, arguments);
    va_end(arguments);
    fprintf(stderr, "Run 'topup %s --help' for its options.\n", cli_command_name(ctx));
    return CLI_EXIT_USAGE;
}

int cli_require(const cli_context *ctx, const char *value, const char *name)
{
    if (value)
        return CLI_CONTINUE;
    return cli_usage_error(ctx, "The option --%s is required.", name);
}

int cli_bad_value(const cli_context *ctx, topup_result result, const char *name, const char *value,
                  const char *why)
{
    if (why)
        cli_report(result, "--%s '%s': %s.", name, value, why);
    else
        cli_report(result, "--%s '%s'.", name, value);
    fprintf(stderr, "Run 'topup %s --help' for its options.\n", cli_command_name(ctx));
    return CLI_EXIT_USAGE;
}

void cli_print_usage(const cli_command *command)
{
    fputs(command->usage, stdout);
    fputs("\nCommon options:\n"
          "  --db PATH   the database file (default " CLI_DB_PATH_DEFAULT ")\n"
          "  --json      print the result as one JSON object on stdout\n"
          "  --help      print this help and exit\n",
          stdout);
}

int cli_parse(cli_context *ctx, int argc, char **argv, const cli_option *options,
              size_t option_count, const char **values, char **positionals,
              size_t positional_count_max, size_t *positional_count)
{
    assert(option_count <= CLI_OPTIONS_MAX);
    struct option long_options[CLI_OPTIONS_MAX + 4];
    for (size_t i = 0; i < option_count; i++) {
        long_options[i] =
            (struct option){options[i].name, options[i].has_value ? required_argument : no_argument,
                            NULL, CLI_OPTION_BASE + (int)i};
        values[i] = NULL;
    }
    long_options[option_count] = (struct option){"db", required_argument, NULL, CLI_OPTION_DB};
    long_options[option_count + 1] = (struct option){"json", no_argument, NULL, CLI_OPTION_JSON};
    long_options[option_count + 2] = (struct option){"help", no_argument, NULL, CLI_OPTION_HELP};
    long_options[option_count + 3] = (struct option){NULL, 0, NULL, 0};

    /* --help wins over any mistake on the same line, so it always prints usage and exits 0;
     * the first mistake is remembered and reported only when --help was not given. */
    bool help = false, db_given = false;
    char mistake[160] = "";
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (opt == CLI_OPTION_HELP || opt == 'h') {
            help = true;
        } else if (opt == CLI_OPTION_DB) {
            /* A repeated option is refused, never silently overridden: "--msisdn A ... --msisdn
             * B" must not recharge B when the operator read A. */
            if (db_given && mistake[0] == '\0')
                snprintf(mistake, sizeof mistake, "The option --db is given twice.");
            db_given = true;
            ctx->db_path = optarg;
        } else if (opt == CLI_OPTION_JSON) {
            ctx->json = true;
        } else if (opt >= CLI_OPTION_BASE && opt < CLI_OPTION_BASE + (int)option_count) {
            size_t index = (size_t)(opt - CLI_OPTION_BASE);
            if (values[index] && mistake[0] == '\0')
                snprintf(mistake, sizeof mistake, "The option --%.32s is given twice.",
                         options[index].name);
            values[index] = options[index].has_value ? optarg : "";
        } else if (mistake[0] == '\0') {
            const char *given = argv[optind - 1];
            if (opt == ':')
                snprintf(mistake, sizeof mistake, "The option '%.64s' needs a value.", given);
            else if (optopt && strncmp(given, "--", 2) != 0)
                snprintf(mistake, sizeof mistake, "There is no option '-%c'.", optopt);
            else
                snprintf(mistake, sizeof mistake, "There is no option '%.64s'.", given);
        }
    }
    size_t count = (size_t)(argc - optind);
    if (count > positional_count_max && mistake[0] == '\0')
        snprintf(mistake, sizeof mistake, "Unexpected argument '%.64s'.",
                 argv[optind + (int)positional_count_max]);
    if (help) {
        cli_print_usage(ctx->command);
        return CLI_EXIT_OK;
    }
    if (mistake[0] != '\0')
        return cli_usage_error(ctx, "%s", mistake);
    if (strlen(ctx->db_path) == 0 || strlen(ctx->db_path) >= CLI_PATH_SIZE_MAX)
        return cli_usage_error(ctx, "--db needs a file path shorter than %d bytes.",
                               CLI_PATH_SIZE_MAX);
    for (size_t i = 0; i < count; i++)
        positionals[i] = argv[optind + (int)i];
    if (positional_count)
        *positional_count = count;
    return CLI_CONTINUE;
}

/* mkdir -p of the directory part of path, so `topup init` can create var/topup.db. */
static bool make_parent_directories(const char *path)
{
    char directory[CLI_PATH_SIZE_MAX];
    snprintf(directory, sizeof directory, "%s", path);
    for (char *slash = strchr(directory + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(directory, 0750) != 0 && errno != EEXIST) {
            cli_report(TOPUP_E_IO, "Cannot create the directory %s: %s.", directory,
                       strerror(errno));
            return false;
        }
        *slash = '/';
    }
    return true;
}

int cli_store_open(const cli_context *ctx, store_mode mode, store **st)
{
    *st = NULL;
    if (mode == STORE_CREATE && !make_parent_directories(ctx->db_path))
        return CLI_EXIT_FAILURE;
    if (mode != STORE_CREATE && access(ctx->db_path, F_OK) != 0)
        return cli_fail(TOPUP_E_IO,
                        "There is no database at %s; create it with 'topup init' or "
                        "name another with --db.",
                        ctx->db_path);
    topup_result r = store_open(ctx->db_path, mode, st);
    if (r == TOPUP_OK)
        return CLI_CONTINUE;
    *st = NULL;
    if (r == TOPUP_E_SCHEMA)
        return cli_fail(r, "(database %s)", ctx->db_path);
    return cli_fail(r, "Cannot open the database %s.", ctx->db_path);
}

int cli_catalog_load(store *st, catalog **cat)
{
    topup_result r = store_catalog_load(st, cat, NULL);
    if (r == TOPUP_OK)
        return CLI_CONTINUE;
    *cat = NULL;
    return cli_fail(r, "Cannot load the catalog: %s.", store_errmsg(st));
}

int cli_commit(store *st)
{
    topup_result r = store_commit(st);
    if (r == TOPUP_OK)
        return CLI_CONTINUE;
    char why[256];
    snprintf(why, sizeof why, "%s", store_errmsg(st));
    store_rollback(st);
    return cli_fail(r, "The commit failed (%s); nothing was changed.", why);
}

int cli_session_open(const cli_context *ctx, bool write, bool with_catalog, cli_session *session)
{
    *session = (cli_session){0};
    int rc = cli_store_open(ctx, write ? STORE_READ_WRITE : STORE_READ_ONLY, &session->st);
    if (rc != CLI_CONTINUE)
        return rc;
    if (write) {
        topup_result r = store_begin(session->st);
        if (r != TOPUP_OK) {
            rc = cli_fail(r, "Cannot start a transaction on %s (%s).", ctx->db_path,
                          store_errmsg(session->st));
            return cli_session_end(session, rc);
        }
        session->transaction = true;
    }
    if (with_catalog && (rc = cli_catalog_load(session->st, &session->cat)) != CLI_CONTINUE)
        return cli_session_end(session, rc);
    return CLI_CONTINUE;
}

int cli_session_commit(cli_session *session)
{
    session->transaction = false;
    return cli_commit(session->st);
}

int cli_session_end(cli_session *session, int exit_code)
{
    if (session->transaction)
        store_rollback(session->st);
    session->transaction = false;
    catalog_unref(session->cat);
    session->cat = NULL;
    store_close(session->st);
    session->st = NULL;
    return exit_code;
}

int cli_json_print(json_t *value)
{
    if (!value)
        return cli_fail(TOPUP_E_NOMEM, NULL);
    int failed = json_dumpf(value, stdout, JSON_COMPACT);
    json_decref(value);
    if (failed || fputc('\n', stdout) == EOF)
        return cli_fail(TOPUP_E_IO, "Cannot write to stdout.");
    return CLI_EXIT_OK;
}

const char *cli_money_text(int64_t amount_minor, const char *currency, char *text)
{
    if (money_format(amount_minor, currency, text, MONEY_TEXT_SIZE_MAX) != TOPUP_OK)
        snprintf(text, MONEY_TEXT_SIZE_MAX, "?");
    return text;
}

json_t *cli_json_time(int64_t unix_seconds)
{
    if (unix_seconds == 0)
        return json_null();
    char text[RFC3339_SIZE];
    clock_format_rfc3339(unix_seconds, text);
    return json_string(text);
}

bool cli_token_valid(const char *text, size_t size)
{
    size_t length = strlen(text);
    if (length == 0 || length >= size)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < 0x21 || text[i] > 0x7e)
            return false;
    return true;
}

bool cli_country_valid(const char *text)
{
    return strlen(text) == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' &&
           text[1] <= 'Z';
}

int cli_session_for_number(const cli_context *ctx, bool write, const char *msisdn,
                           const char *country, cli_session *session, char e164[E164_SIZE])
{
    if (!country)
        country = CLI_COUNTRY_DEFAULT;
    if (!cli_country_valid(country))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", country,
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");
    int rc = cli_session_open(ctx, write, true, session);
    if (rc != CLI_CONTINUE)
        return rc;
    size_t plan_count;
    const number_plan *plans = catalog_plans(session->cat, &plan_count);
    topup_result r = msisdn_normalize(msisdn, plans, plan_count, country, e164, NULL);
    if (r != TOPUP_OK)
        return cli_session_end(session, cli_fail(r,
                                                 "--msisdn '%s' (national numbers are read as %s "
                                                 "numbers).",
                                                 msisdn, country));
    return CLI_CONTINUE;
}

bool cli_make_secret(const char *prefix, size_t random_size, char *secret)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char random[64];
    if (random_size > sizeof random || RAND_bytes(random, (int)random_size) != 1)
        return false;
    size_t length = strlen(prefix);
    memcpy(secret, prefix, length);
    for (size_t i = 0; i < random_size; i++) {
        secret[length++] = hex[random[i] >> 4];
        secret[length++] = hex[random[i] & 0x0f];
    }
    secret[length] = '\0';
    OPENSSL_cleanse(random, random_size);
    return true;
}
