/* API keys: `apikey create|list|revoke`. A key's secret is printed once by create and never
 * stored: the database keeps only its SHA-256, which is what topupd looks a presented key up by. */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

#define SECRET_RANDOM_SIZE  32    /* 256 bits from the system CSPRNG */
#define SECRET_PREFIX       "tk_" /* marks a topup key in logs and leaks */
#define SECRET_SIZE         (3 + 2 * SECRET_RANDOM_SIZE + 1) /* prefix, hex, NUL */
#define API_KEYS_LISTED_MAX 1000                             /* one screenful of keys is plenty */

static const char *const known_scopes[] = {"recharge", "read", "admin"};
#define KNOWN_SCOPE_COUNT (sizeof known_scopes / sizeof known_scopes[0])

/* Parses "read,recharge" into the canonical list "recharge,read" (known order, no repeats).
 * Returns false with *bad pointing at the offending item's start when an item is unknown or
 * empty. */
static bool parse_scopes(const char *text, char canonical[API_KEY_SCOPES_SIZE], char *bad,
                         size_t bad_size)
{
    bool wanted[KNOWN_SCOPE_COUNT] = {false};
    const char *item = text;
    for (;;) {
        size_t length = strcspn(item, ",");
        size_t i = 0;
        while (i < KNOWN_SCOPE_COUNT &&
               !(strlen(known_scopes[i]) == length && strncmp(item, known_scopes[i], length) == 0))
            i++;
        if (i == KNOWN_SCOPE_COUNT) {
            snprintf(bad, bad_size, "%.*s", (int)(length < 32 ? length : 32), item);
            return false;
        }
        wanted[i] = true;
        if (item[length] == '\0')
            break;
        item += length + 1;
    }
    canonical[0] = '\0';
    for (size_t i = 0; i < KNOWN_SCOPE_COUNT; i++) {
        if (!wanted[i])
            continue;
        if (canonical[0])
            strcat(canonical, ",");
        strcat(canonical, known_scopes[i]);
    }
    return true;
}

int cli_cmd_apikey_create(cli_context *ctx, int argc, char **argv)
{
    enum { O_NAME, O_SCOPE, O_FUNDING, O_COUNT };
    static const cli_option options[O_COUNT] = {{"name", true}, {"scope", true}, {"funding", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_NAME], "name")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_SCOPE], "scope")) != CLI_CONTINUE)
        return rc;
    api_key_row key = {.created_at = clock_now_seconds()};
    if (!cli_token_valid(v[O_NAME], sizeof key.name))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME],
                             "a key name is 1-64 printable ASCII characters without spaces");
    char bad[40];
    if (!parse_scopes(v[O_SCOPE], key.scopes, bad, sizeof bad)) {
        char why[96];
        snprintf(why, sizeof why, "'%s' is not a scope; use recharge, read and/or admin", bad);
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "scope", v[O_SCOPE], why);
    }
    snprintf(key.name, sizeof key.name, "%s", v[O_NAME]);
    if (v[O_FUNDING]) {
        if (!cli_token_valid(v[O_FUNDING], sizeof key.funding_account))
            return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "funding", v[O_FUNDING],
                                 "an account code is 1-64 printable ASCII characters without "
                                 "spaces, e.g. clearing:alipay");
        snprintf(key.funding_account, sizeof key.funding_account, "%s", v[O_FUNDING]);
    } else if (snprintf(key.funding_account, sizeof key.funding_account, "clearing:%s", key.name) >=
               (int)sizeof key.funding_account) {
        return cli_usage_error(ctx,
                               "The name '%s' is too long for the default funding account "
                               "clearing:NAME; give --funding.",
                               key.name);
    }

    char secret[SECRET_SIZE];
    if (!cli_make_secret(SECRET_PREFIX, SECRET_RANDOM_SIZE, secret))
        return cli_fail(TOPUP_E_IO, "The system random number generator failed; no key was made.");
    uint8_t hash[REQUEST_HASH_SIZE];
    SHA256((const unsigned char *)secret, strlen(secret), hash);

    cli_session session;
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    int64_t id = 0;
    topup_result r = store_api_key_insert(session.st, &key, hash, &id);
    if (r == TOPUP_E_ALREADY_EXISTS)
        rc = cli_fail(r,
                      "There is already an API key named '%s' (names are never reused, even "
                      "after a revoke).",
                      key.name);
    else if (r != TOPUP_OK)
        rc = cli_fail(r, "Saving the API key failed (%s).", store_errmsg(session.st));
    else
        rc = cli_session_commit(&session);
    cli_session_end(&session, rc);
    if (rc != CLI_CONTINUE) {
        OPENSSL_cleanse(secret, sizeof secret);
        return rc;
    }

    if (ctx->json) {
        rc = cli_json_print(json_pack("{s:s,s:s,s:s,s:s}", "name", key.name, "scopes", key.scopes,
                                      "funding_account", key.funding_account, "key", secret));
    } else {
        printf("API key '%s' created (id %lld): scopes %s; recharges are paid from %s.\n"
               "This is the only time the key is shown; store it now. Clients send it as "
               "'Authorization: Bearer <key>'.\n"
               "%s\n",
               key.name, (long long)id, key.scopes, key.funding_account, secret);
        rc = CLI_EXIT_OK;
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

int cli_cmd_apikey_list(cli_context *ctx, int argc, char **argv)
{
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    static api_key_row keys[API_KEYS_LISTED_MAX];
    size_t count = 0;
    cli_session session;
    if ((rc = cli_session_open(ctx, false, false, &session)) != CLI_CONTINUE)
        return rc;
    topup_result r = store_api_key_list(session.st, keys, API_KEYS_LISTED_MAX, &count);
    if (r != TOPUP_OK)
        return cli_session_end(
            &session, cli_fail(r, "Listing the API keys failed (%s).", store_errmsg(session.st)));
    cli_session_end(&session, CLI_EXIT_OK);

    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < count; i++)
            json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:o,s:o}", "id",
                                                  (json_int_t)keys[i].id, "name", keys[i].name,
                                                  "scopes", keys[i].scopes, "funding_account",
                                                  keys[i].funding_account, "created_at",
                                                  cli_json_time(keys[i].created_at), "revoked_at",
                                                  cli_json_time(keys[i].revoked_at)));
        return cli_json_print(json_pack("{s:o}", "api_keys", list));
    }
    if (count == 0) {
        printf("No API keys yet: create one with 'topup apikey create'.\n");
        return CLI_EXIT_OK;
    }
    printf("%-5s %-20s %-8s %-21s %-22s %s\n", "ID", "NAME", "STATUS", "SCOPES", "CREATED",
           "FUNDING");
    for (size_t i = 0; i < count; i++) {
        char created[RFC3339_SIZE];
        clock_format_rfc3339(keys[i].created_at, created);
        printf("%-5lld %-20s %-8s %-21s %-22s %s\n", (long long)keys[i].id, keys[i].name,
               keys[i].revoked_at ? "revoked" : "active", keys[i].scopes, created,
               keys[i].funding_account);
    }
    if (count == API_KEYS_LISTED_MAX)
        printf("(only the first %d keys are listed)\n", API_KEYS_LISTED_MAX);
    return CLI_EXIT_OK;
}

int cli_cmd_apikey_revoke(cli_context *ctx, int argc, char **argv)
{
    enum { O_NAME, O_COUNT };
    static const cli_option options[O_COUNT] = {{"name", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_NAME], "name")) != CLI_CONTINUE)
        return rc;
    if (!cli_token_valid(v[O_NAME], API_KEY_NAME_SIZE))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME],
                             "a key name is 1-64 printable ASCII characters without spaces");
    cli_session session;
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    int64_t now = clock_now_seconds();
    topup_result r = store_api_key_revoke(session.st, v[O_NAME], now);
    if (r == TOPUP_E_NOT_FOUND)
        rc = cli_fail(r, "There is no active API key named '%s'.", v[O_NAME]);
    else if (r != TOPUP_OK)
        rc = cli_fail(r, "Revoking the API key failed (%s).", store_errmsg(session.st));
    else
        rc = cli_session_commit(&session);
    cli_session_end(&session, rc);
    if (rc != CLI_CONTINUE)
        return rc;
    if (ctx->json)
        return cli_json_print(
            json_pack("{s:s,s:o}", "name", v[O_NAME], "revoked_at", cli_json_time(now)));
    printf("API key '%s' revoked; requests with it are refused from now on.\n", v[O_NAME]);
    return CLI_EXIT_OK;
}
