/* topup merchant add|list|show|suspend|activate|topup-float|price: the partners that sell
 * recharges (payment apps, e-commerce stores). Each has a prepaid float in its currency, which may
 * go down to minus its credit limit, and wholesale prices in percent of the face value. Float
 * top-ups and adjustments are ledger transfers from the merchant deposits account. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

#define MERCHANTS_MAX 1000

/* 1-32 of a-z, 0-9, '_' and '-': merchant ids appear in account codes and request headers. */
static bool merchant_id_valid(const char *id)
{
    size_t length = id ? strlen(id) : 0;
    return length >= 1 && length < MERCHANT_ID_SIZE &&
           strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == length;
}

static json_t *merchant_json(const merchant_row *m)
{
    char float_text[MONEY_TEXT_SIZE_MAX], limit_text[MONEY_TEXT_SIZE_MAX];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "id", m->id, "name", m->name,
                     "status", m->status, "currency", m->currency, "float",
                     cli_money_text(m->float_minor, m->currency, float_text), "credit_limit",
                     cli_money_text(m->credit_limit_minor, m->currency, limit_text),
                     "float_minor", (json_int_t)m->float_minor, "allowed_ips", m->allowed_ips);
}

int cli_cmd_merchant_add(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_NAME, O_CURRENCY, O_CREDIT, O_IPS, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"id", true}, {"name", true}, {"currency", true}, {"credit-limit", true}, {"allow-ip", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    for (int o = O_ID; rc == CLI_CONTINUE && o <= O_CURRENCY; o++)
        rc = cli_require(ctx, v[o], options[o].name);
    if (rc != CLI_CONTINUE)
        return rc;
    merchant_row m = {.created_at = clock_now_seconds()};
    if (!merchant_id_valid(v[O_ID]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "id", v[O_ID],
                             "1-32 characters of a-z, 0-9, '_' and '-'");
    if (strlen(v[O_NAME]) == 0 || strlen(v[O_NAME]) >= sizeof m.name)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME], "1-96 bytes");
    if (!currency_find(v[O_CURRENCY]))
        return cli_bad_value(ctx, TOPUP_E_CURRENCY_UNKNOWN, "currency", v[O_CURRENCY], NULL);
    int64_t credit_limit = 0;
    topup_result r = v[O_CREDIT] ? money_parse(v[O_CREDIT], v[O_CURRENCY], &credit_limit) : TOPUP_OK;
    if (r != TOPUP_OK)
        return cli_bad_value(ctx, r, "credit-limit", v[O_CREDIT], NULL);
    if (v[O_IPS] && strlen(v[O_IPS]) >= sizeof m.allowed_ips)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "allow-ip", v[O_IPS], "too long");
    snprintf(m.id, sizeof m.id, "%s", v[O_ID]);
    snprintf(m.name, sizeof m.name, "%s", v[O_NAME]);
    snprintf(m.currency, sizeof m.currency, "%s", v[O_CURRENCY]);
    snprintf(m.allowed_ips, sizeof m.allowed_ips, "%s", v[O_IPS] ? v[O_IPS] : "");
    /* 32 random bytes as 64 hex characters. */
    if (!cli_make_secret("", 32, m.secret))
        return cli_fail(TOPUP_E_IO, "The system random number generator failed.");

    cli_session session;
    if ((rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "float:%s", m.id);
    account_row account;
    r = store_account_ensure(session.st, code, m.currency, "merchant_float", ACCOUNT_NO_OVERDRAFT,
                             credit_limit, &account);
    m.float_account_id = account.id;
    if (r == TOPUP_OK)
        r = store_merchant_insert(session.st, &m);
    if (r != TOPUP_OK)
        rc = cli_fail(r, r == TOPUP_E_ALREADY_EXISTS ? "There is already a merchant '%s'."
                                                    : "Saving merchant '%s' failed.",
                      m.id);
    else
        rc = cli_session_commit(&session);
    cli_session_end(&session, rc);
    if (rc == CLI_CONTINUE && ctx->json) {
        json_t *value = merchant_json(&m);
        json_object_set_new(value, "secret", json_string(m.secret));
        rc = cli_json_print(value);
    } else if (rc == CLI_CONTINUE) {
        char limit_text[MONEY_TEXT_SIZE_MAX];
        printf("Merchant '%s' added with float account %s (credit limit %s %s).\n"
               "This is the only time its signing secret is shown; give it to the merchant now.\n"
               "%s\n",
               m.id, code, cli_money_text(credit_limit, m.currency, limit_text), m.currency,
               m.secret);
        rc = CLI_EXIT_OK;
    }
    OPENSSL_cleanse(m.secret, sizeof m.secret);
    return rc;
}

/* Reads --id and loads the merchant; CLI_CONTINUE with the session open, or an exit code. */
static int open_merchant(cli_context *ctx, const char *id, bool write, cli_session *session,
                         merchant_row *m)
{
    int rc = cli_require(ctx, id, "id");
    if (rc != CLI_CONTINUE || (rc = cli_session_open(ctx, write, false, session)) != CLI_CONTINUE)
        return rc;
    topup_result r = store_merchant_get(session->st, id, m);
    if (r != TOPUP_OK)
        return cli_session_end(session, cli_fail(r, "There is no merchant '%s'.", id));
    return CLI_CONTINUE;
}

int cli_cmd_merchant_show(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[] = {{"id", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    cli_session session;
    merchant_row m;
    if (rc != CLI_CONTINUE ||
        (rc = open_merchant(ctx, v[0], false, &session, &m)) != CLI_CONTINUE)
        return rc;
    OPENSSL_cleanse(m.secret, sizeof m.secret);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(merchant_json(&m));
    char float_text[MONEY_TEXT_SIZE_MAX], limit_text[MONEY_TEXT_SIZE_MAX];
    printf("%s (%s): %s, float %s %s, credit limit %s, allowed IPs: %s\n", m.id, m.name, m.status,
           cli_money_text(m.float_minor, m.currency, float_text), m.currency,
           cli_money_text(m.credit_limit_minor, m.currency, limit_text),
           m.allowed_ips[0] ? m.allowed_ips : "any");
    return CLI_EXIT_OK;
}

int cli_cmd_merchant_list(cli_context *ctx, int argc, char **argv)
{
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, v, NULL, 0, NULL);
    store *st;
    if (rc != CLI_CONTINUE || (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static merchant_row merchants[MERCHANTS_MAX];
    size_t count;
    topup_result r = store_merchant_list(st, merchants, MERCHANTS_MAX, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        OPENSSL_cleanse(merchants[i].secret, sizeof merchants[i].secret);
        char float_text[MONEY_TEXT_SIZE_MAX];
        if (ctx->json)
            json_array_append_new(list, merchant_json(&merchants[i]));
        else
            printf("%-20s %-10s %14s %s  %s\n", merchants[i].id, merchants[i].status,
                   cli_money_text(merchants[i].float_minor, merchants[i].currency, float_text),
                   merchants[i].currency, merchants[i].name);
    }
    if (ctx->json)
        return cli_json_print(json_pack("{s:o}", "merchants", list));
    json_decref(list);
    if (count == 0)
        printf("no merchants\n");
    return CLI_EXIT_OK;
}

static int set_status(cli_context *ctx, int argc, char **argv, const char *status)
{
    static const cli_option options[] = {{"id", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    cli_session session;
    merchant_row m;
    if (rc != CLI_CONTINUE || (rc = open_merchant(ctx, v[0], true, &session, &m)) != CLI_CONTINUE)
        return rc;
    topup_result r = store_merchant_set_status(session.st, m.id, status);
    rc = r == TOPUP_OK ? cli_session_commit(&session) : cli_fail(r, NULL);
    if (rc == CLI_CONTINUE) {
        printf("merchant '%s' is %s\n", m.id, status);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

int cli_cmd_merchant_suspend(cli_context *ctx, int argc, char **argv)
{
    return set_status(ctx, argc, argv, "suspended");
}

int cli_cmd_merchant_activate(cli_context *ctx, int argc, char **argv)
{
    return set_status(ctx, argc, argv, "active");
}

/* A positive amount is a deposit (deposits -> float), a negative one takes money back. */
int cli_cmd_merchant_topup_float(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_AMOUNT, O_COUNT };
    static const cli_option options[O_COUNT] = {{"id", true}, {"amount", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    cli_session session;
    merchant_row m;
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[O_AMOUNT], "amount")) != CLI_CONTINUE ||
        (rc = open_merchant(ctx, v[O_ID], true, &session, &m)) != CLI_CONTINUE)
        return rc;
    bool take_back = v[O_AMOUNT][0] == '-';
    int64_t amount;
    topup_result r = money_parse(v[O_AMOUNT] + take_back, m.currency, &amount);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_bad_value(ctx, r, "amount", v[O_AMOUNT], NULL));
    account_row deposits;
    r = store_account_ensure(session.st, "merchant_deposits", m.currency, "merchant_deposits", 0,
                             0, &deposits);
    transfer_row transfer = {
        .debit_account_id = take_back ? m.float_account_id : deposits.id,
        .credit_account_id = take_back ? deposits.id : m.float_account_id,
        .amount_minor = amount,
        .created_at = clock_now_seconds(),
    };
    memcpy(transfer.currency, m.currency, sizeof transfer.currency);
    snprintf(transfer.kind, sizeof transfer.kind, take_back ? "float_withdrawal" : "float_deposit");
    int64_t debit_after = 0, credit_after = 0;
    if (r == TOPUP_OK)
        r = store_transfer(session.st, &transfer, &debit_after, &credit_after);
    if (r == TOPUP_E_INSUFFICIENT_FUNDS)
        return cli_session_end(&session,
                               cli_fail(r, "Taking %s back would leave merchant '%s' below its "
                                           "credit limit.",
                                        v[O_AMOUNT] + 1, m.id));
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "%s", store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    int64_t float_minor = take_back ? debit_after : credit_after;
    char text[MONEY_TEXT_SIZE_MAX];
    if (ctx->json)
        rc = cli_json_print(json_pack("{s:s,s:I,s:I,s:s}", "id", m.id, "transfer_id",
                                      (json_int_t)transfer.id, "float_minor",
                                      (json_int_t)float_minor, "currency", m.currency));
    else {
        printf("merchant '%s' float is now %s %s (transfer %lld)\n", m.id,
               cli_money_text(float_minor, m.currency, text), m.currency, (long long)transfer.id);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}

/* Sets the wholesale price of an operator's or a product's recharges for the merchant. */
int cli_cmd_merchant_price(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_OPERATOR, O_PRODUCT, O_PERCENT, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"id", true}, {"operator", true}, {"product", true}, {"percent", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[O_PERCENT], "percent")) != CLI_CONTINUE)
        return rc;
    if ((v[O_OPERATOR] != NULL) == (v[O_PRODUCT] != NULL))
        return cli_usage_error(ctx, "Give either --operator or --product.");
    const char *target_id = v[O_OPERATOR] ? v[O_OPERATOR] : v[O_PRODUCT];
    if (!catalog_id_valid(target_id))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, v[O_OPERATOR] ? "operator" : "product",
                             target_id, "not an id");
    /* Percent with up to two decimals, as basis points: 98.50 -> 9850. */
    int64_t basis_points;
    if (money_parse(v[O_PERCENT], "CNY", &basis_points) != TOPUP_OK || basis_points > 20000)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "percent", v[O_PERCENT],
                             "a percentage of the face value above 0 and at most 200, e.g. 98.50");
    cli_session session;
    merchant_row m;
    if ((rc = open_merchant(ctx, v[O_ID], true, &session, &m)) != CLI_CONTINUE)
        return rc;
    char target[CATALOG_ID_SIZE + 16];
    snprintf(target, sizeof target, "%s:%s", v[O_OPERATOR] ? "operator" : "product", target_id);
    topup_result r = store_merchant_price_set(session.st, m.id, target, basis_points);
    rc = r == TOPUP_OK ? cli_session_commit(&session) : cli_fail(r, "%s", store_errmsg(session.st));
    if (rc == CLI_CONTINUE) {
        printf("merchant '%s' buys %s at %s%% of the face value\n", m.id, target, v[O_PERCENT]);
        rc = CLI_EXIT_OK;
    }
    return cli_session_end(&session, rc);
}
