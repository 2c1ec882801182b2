/* Database lifecycle: `topup init`, `topup migrate` and `topup verify`. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* Removes a database file init created and could not finish, with SQLite's side files, so that
 * a failed init leaves nothing behind and can simply be run again. */
static void remove_database(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char name[4200];
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        (void)unlink(name);
    }
}

/* An existing non-empty file is never initialised again: it is either a database (which
 * `migrate` upgrades) or something else we must not overwrite. Says which. */
static int refuse_existing(const cli_context *ctx)
{
    store *st = NULL;
    topup_result r = store_open(ctx->db_path, STORE_READ_WRITE, &st);
    store_close(st);
    if (r == TOPUP_OK)
        return cli_fail(TOPUP_E_ALREADY_EXISTS,
                        "%s already holds a topup database at the latest schema; init never "
                        "touches an existing database ('topup migrate' is for upgrades).",
                        ctx->db_path);
    return cli_fail(TOPUP_E_ALREADY_EXISTS,
                    "%s already exists and is not empty; if it is an older topup database, "
                    "upgrade it with 'topup migrate', else choose another --db.",
                    ctx->db_path);
}

static int load_demo(store *st, cli_demo_counts *counts)
{
    topup_result r = store_begin(st);
    if (r == TOPUP_OK)
        r = cli_demo_load(st, counts);
    if (r != TOPUP_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", store_errmsg(st));
        store_rollback(st);
        return cli_fail(r, "Loading the demo data failed (%s).", why);
    }
    return cli_commit(st);
}

int cli_cmd_init(cli_context *ctx, int argc, char **argv)
{
    enum { OPT_DEMO, OPT_COUNT };
    static const cli_option options[OPT_COUNT] = {{"demo", false}};
    const char *values[OPT_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, OPT_COUNT, values, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    bool demo = values[OPT_DEMO] != NULL;

    struct stat info;
    bool existed = stat(ctx->db_path, &info) == 0;
    if (existed && !S_ISREG(info.st_mode))
        return cli_fail(TOPUP_E_IO, "%s exists and is not a regular file.", ctx->db_path);
    if (existed && info.st_size > 0)
        return refuse_existing(ctx);

    store *st;
    if ((rc = cli_store_open(ctx, STORE_CREATE, &st)) != CLI_CONTINUE) {
        if (!existed)
            remove_database(ctx->db_path);
        return rc;
    }
    int from_version = 0, to_version = 0;
    topup_result r = store_migrate(st, &from_version, &to_version);
    if (r != TOPUP_OK) {
        rc = cli_fail(r, "Creating the schema in %s failed (%s).", ctx->db_path, store_errmsg(st));
    } else if (from_version != 0) {
        /* Another process initialised the file between our check and our open. */
        rc = cli_fail(TOPUP_E_ALREADY_EXISTS,
                      "%s was initialised by someone else meanwhile (schema version %d).",
                      ctx->db_path, from_version);
        existed = true;
    }
    cli_demo_counts counts = {0};
    if (rc == CLI_CONTINUE && demo)
        rc = load_demo(st, &counts);
    store_close(st);
    if (rc != CLI_CONTINUE) {
        if (!existed)
            remove_database(ctx->db_path);
        return rc;
    }

    if (ctx->json) {
        json_t *out = json_pack("{s:s,s:i,s:b}", "database", ctx->db_path, "schema_version",
                                to_version, "demo", demo);
        if (out && demo)
            json_object_set_new(out, "demo_data",
                                json_pack("{s:I,s:I,s:I,s:I}", "plans",
                                          (json_int_t)counts.plan_count, "operators",
                                          (json_int_t)counts.operator_count, "ranges",
                                          (json_int_t)counts.range_count, "products",
                                          (json_int_t)counts.product_count));
        return cli_json_print(out);
    }
    printf("Created database %s (schema version %d).\n", ctx->db_path, to_version);
    if (demo)
        printf("Loaded DEMO data: %zu number plans (CN, PH), %zu operators, %zu number ranges, "
               "%zu products.\n"
               "THIS IS DEMO DATA: the operators are real names but the products and prices are "
               "made up. Do not use this database in production.\n",
               counts.plan_count, counts.operator_count, counts.range_count, counts.product_count);
    return CLI_EXIT_OK;
}

int cli_cmd_migrate(cli_context *ctx, int argc, char **argv)
{
    const char *values[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, values, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    store *st;
    if ((rc = cli_store_open(ctx, STORE_CREATE, &st)) != CLI_CONTINUE)
        return rc;
    int from_version = 0, to_version = 0;
    topup_result r = store_migrate(st, &from_version, &to_version);
    if (r != TOPUP_OK) {
        rc = cli_fail(r,
                      "Migrating %s failed at schema version %d (%s); each migration is its "
                      "own transaction, so the database is at a whole version.",
                      ctx->db_path, from_version, store_errmsg(st));
        store_close(st);
        return rc;
    }
    store_close(st);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:i,s:i}", "database", ctx->db_path, "from_version",
                                        from_version, "to_version", to_version));
    if (from_version == to_version)
        printf("migrate: %s is already at schema version %d.\n", ctx->db_path, to_version);
    else
        printf("migrate: %s upgraded from schema version %d to %d.\n", ctx->db_path, from_version,
               to_version);
    return CLI_EXIT_OK;
}

typedef struct verify_context {
    json_t *problems; /* with --json: collected; else NULL and each is printed at once */
} verify_context;

static void print_problem(void *context, const char *problem)
{
    verify_context *verify = context;
    if (verify->problems)
        json_array_append_new(verify->problems, json_string(problem));
    else
        printf("problem: %s\n", problem);
}

int cli_cmd_verify(cli_context *ctx, int argc, char **argv)
{
    const char *values[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, values, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    store *st;
    if ((rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    verify_context verify = {.problems = ctx->json ? json_array() : NULL};
    int64_t problem_count = 0, transfer_count = 0, account_count = 0;
    topup_result r =
        store_verify(st, print_problem, &verify, &problem_count, &transfer_count, &account_count);
    if (r != TOPUP_OK) {
        rc = cli_fail(r, "Verification could not finish (%s); nothing was checked to the end.",
                      store_errmsg(st));
        store_close(st);
        json_decref(verify.problems);
        return rc;
    }
    store_close(st);
    if (ctx->json) {
        rc = cli_json_print(json_pack("{s:b,s:I,s:I,s:I,s:o}", "ok", problem_count == 0,
                                      "transfer_count", (json_int_t)transfer_count, "account_count",
                                      (json_int_t)account_count, "problem_count",
                                      (json_int_t)problem_count, "problems", verify.problems));
        return rc != CLI_EXIT_OK ? rc : problem_count ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    }
    if (problem_count == 0) {
        printf("verify: OK (%lld transfers, %lld accounts checked)\n", (long long)transfer_count,
               (long long)account_count);
        return CLI_EXIT_OK;
    }
    printf("verify: FAILED: %lld problems\n", (long long)problem_count);
    return CLI_EXIT_FAILURE;
}
