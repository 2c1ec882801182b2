/* `topup recharge`, `topup balance` and `topup history`. The recharge resolves the number and the
 * product here and then hands the request to recharge_apply, the same write path topupd's writer
 * runs, inside one transaction: the CLI never moves money by itself. */
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/problem.h"
#include "service/numbers.h"
#include "service/recharge.h"

#define HISTORY_LIMIT_DEFAULT 20
#define HISTORY_LIMIT_MAX     1000
#define FUNDING_DEFAULT       "clearing:cli"

/* Idempotency keys are 1-64 printable ASCII characters, spaces included. */
static bool idempotency_key_valid(const char *key)
{
    size_t length = strlen(key);
    if (length == 0 || length >= IDEMPOTENCY_KEY_SIZE)
        return false;
    for (size_t i = 0; i < length; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return false;
    return true;
}

enum { R_MSISDN, R_PRODUCT, R_AMOUNT, R_CURRENCY, R_FUNDING, R_KEY, R_COUNTRY, R_COUNT };

/* The request hash covers what the caller asked for, with the number in E.164 so a retry that
 * spells it differently is still the same request, and nothing the catalog decides (operator,
 * currency, price): a retry must be recognised before anything is resolved again. */
static void hash_request(const char *e164, const char *const *v, const char *funding,
                         uint8_t hash[REQUEST_HASH_SIZE])
{
    char canonical[512];
    int length = snprintf(canonical, sizeof canonical,
                          "topup-cli recharge v2\nmsisdn=%s\nproduct=%s\namount=%s\n"
                          "currency=%s\nfunding=%s\n",
                          e164, v[R_PRODUCT] ? v[R_PRODUCT] : "", v[R_AMOUNT] ? v[R_AMOUNT] : "",
                          v[R_CURRENCY] ? v[R_CURRENCY] : "", funding);
    if (length < 0 || (size_t)length >= sizeof canonical)
        length = (int)sizeof canonical - 1; /* every part is bounded well below this */
    SHA256((const unsigned char *)canonical, (size_t)length, hash);
}

/* With --json a refusal that happens before recharge_apply is answered with the same
 * problem+json shape recharge_apply would write, so scripts read one format. */
__attribute__((format(printf, 3, 4))) static int refuse(const cli_context *ctx, topup_result r,
                                                        const char *format, ...)
{
    char detail[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, sizeof detail, format, arguments);
    va_end(arguments);
    if (ctx->json) {
        char body[PROBLEM_SIZE];
        problem_format(r, topup_result_http_status(r), NULL, detail, body, sizeof body);
        printf("%s\n", body);
    }
    return cli_fail(r, "%s", detail);
}

/* Prints a successful (or replayed successful) answer for people, read back from its JSON so a
 * replay shows exactly what the first answer said. */
static void print_success(const recharge_request *request, const recharge_response *response)
{
    json_t *order = json_loads(response->body, 0, NULL);
    json_int_t amount = 0, price = 0, balance = 0;
    const char *id = "?", *currency = request->currency, *valid_until = NULL, *product = "?";
    json_t *balance_value = NULL;
    if (order)
        json_unpack(order, "{s?s,s?I,s?I,s?s,s?s,s?o,s?s}", "id", &id, "amount_minor", &amount,
                    "price_minor", &price, "currency", &currency, "product", &product,
                    "balance_after_minor", &balance_value, "valid_until", &valid_until);
    if (json_is_integer(balance_value))
        balance = json_integer_value(balance_value);
    char a[MONEY_TEXT_SIZE_MAX], p[MONEY_TEXT_SIZE_MAX], b[MONEY_TEXT_SIZE_MAX];
    printf("Recharged %s with %s %s: order %s, balance %s %s, valid until %s.\n", request->msisdn,
           currency, cli_money_text(amount, currency, a), id, currency,
           json_is_integer(balance_value) ? cli_money_text(balance, currency, b) : "?",
           valid_until ? valid_until : "-");
    printf("Product %s; %s %s paid from %s.\n", product, currency,
           cli_money_text(price, currency, p), request->funding_account);
    if (response->replayed)
        printf("This is the stored answer to --key %s: the recharge was made once, earlier, "
               "and nothing was charged again.\n",
               request->idempotency_key);
    json_decref(order);
}

/* Reports a refusal from recharge_apply. A replayed refusal carries the first answer's code,
 * which is the one to show. */
static void print_refusal(const recharge_request *request, const recharge_response *response)
{
    if (response->replayed) {
        json_t *problem = json_loads(response->body, 0, NULL);
        const char *code = "refused", *title = "The recharge was refused.";
        if (problem)
            json_unpack(problem, "{s?s,s?s}", "code", &code, "title", &title);
        fprintf(stderr, "topup: %s: %s This is the stored answer to --key %s.\n", code, title,
                request->idempotency_key);
        json_decref(problem);
        return;
    }
    if (request->idempotency_key[0] && response->http_status < 500 &&
        response->result != TOPUP_E_IDEMPOTENCY_KEY_REUSED)
        cli_report(response->result,
                   "The recharge of %s was refused; the refusal is stored under --key %s.",
                   request->msisdn, request->idempotency_key);
    else
        cli_report(response->result, "The recharge of %s was refused.", request->msisdn);
}

/* Resolves the number and the product into request inside the session's transaction.
 * CLI_CONTINUE, or the exit code after reporting. */
static int resolve(const cli_context *ctx, cli_session *session, const char *const *v,
                   const char *country, recharge_request *request)
{
    number_info number;
    topup_result r = numbers_resolve(session->cat, session->st, country, v[R_MSISDN], &number);
    if (r != TOPUP_OK)
        return refuse(ctx, r, "--msisdn '%s' (national numbers are read as %s numbers).",
                      v[R_MSISDN], country);
    const operator_info *op = number.op;
    if (v[R_CURRENCY] && strcmp(v[R_CURRENCY], op->currency) != 0)
        return refuse(ctx, TOPUP_E_CURRENCY_MISMATCH,
                      "--currency %s: this number's operator "
                      "sells in %s.",
                      v[R_CURRENCY], op->currency);
    int64_t amount_minor = 0;
    if (v[R_AMOUNT]) {
        r = money_parse(v[R_AMOUNT], op->currency, &amount_minor);
        if (r != TOPUP_OK) {
            char why[96];
            snprintf(why, sizeof why, "an amount in major units of %s, e.g. 50.00", op->currency);
            return cli_bad_value(ctx, r, "amount", v[R_AMOUNT], why);
        }
    }
    product_quote quote;
    if (v[R_PRODUCT])
        r = catalog_quote_product(session->cat, op, v[R_PRODUCT], amount_minor, &quote);
    else
        r = catalog_quote_amount(session->cat, op, amount_minor, op->currency, &quote);
    if (r == TOPUP_E_PRODUCT_UNKNOWN)
        return refuse(ctx, r, "--product %s is not a product of %s; see 'topup product list'.",
                      v[R_PRODUCT], op->id);
    if (r == TOPUP_E_AMOUNT_NOT_OFFERED)
        return refuse(ctx, r, "%s sells nothing for --amount %s; see 'topup product list'.", op->id,
                      v[R_AMOUNT] ? v[R_AMOUNT] : "(none: this product needs one)");
    if (r != TOPUP_OK)
        return refuse(ctx, r, "Quoting %s for %s failed.", v[R_PRODUCT] ? v[R_PRODUCT] : "",
                      number.e164);
    recharge_request_set_quote(request, number.e164, op, &quote);
    return CLI_CONTINUE;
}

/* Prints the answer (new or replayed) and returns the exit code. */
static int answer(const cli_context *ctx, const recharge_request *request,
                  const recharge_response *response)
{
    if (ctx->json)
        printf("%s\n", response->body);
    if (response->result != TOPUP_OK || response->http_status >= 400) {
        print_refusal(request, response);
        return CLI_EXIT_FAILURE;
    }
    if (!ctx->json)
        print_success(request, response);
    return CLI_EXIT_OK;
}

/* With --key: hashes the request and looks for the stored answer of an earlier run, before
 * anything is resolved, so a retry gets its first answer even after the number was ported or
 * the product withdrawn. A number that does not even normalise is left to resolve() to report. */
static bool replayed(cli_session *session, const char *const *v, const char *country,
                     recharge_request *request, recharge_response *response)
{
    size_t plan_count;
    const number_plan *plans = catalog_plans(session->cat, &plan_count);
    char e164[E164_SIZE];
    if (msisdn_normalize(v[R_MSISDN], plans, plan_count, country, e164, NULL) != TOPUP_OK)
        return false;
    hash_request(e164, v, request->funding_account, request->request_hash);
    return recharge_replay(session->st, request, response);
}

int cli_cmd_recharge(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[R_COUNT] = {
        [R_MSISDN] = {"msisdn", true},   [R_PRODUCT] = {"product", true},
        [R_AMOUNT] = {"amount", true},   [R_CURRENCY] = {"currency", true},
        [R_FUNDING] = {"funding", true}, [R_KEY] = {"key", true},
        [R_COUNTRY] = {"country", true},
    };
    const char *v[R_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, R_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[R_MSISDN], "msisdn")) != CLI_CONTINUE)
        return rc;
    if (!v[R_PRODUCT] && !v[R_AMOUNT])
        return cli_usage_error(ctx, "Say what to recharge: --product ID or --amount AMOUNT.");
    const char *country = v[R_COUNTRY] ? v[R_COUNTRY] : CLI_COUNTRY_DEFAULT;
    const char *funding = v[R_FUNDING] ? v[R_FUNDING] : FUNDING_DEFAULT;
    if (!cli_country_valid(country))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", country,
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");
    if (v[R_PRODUCT] && !catalog_id_valid(v[R_PRODUCT]))
        return cli_bad_value(ctx, TOPUP_E_PRODUCT_UNKNOWN, "product", v[R_PRODUCT],
                             "a product id is 1-32 characters of a-z, 0-9, '_' and '-'");
    if (v[R_CURRENCY] && !currency_find(v[R_CURRENCY]))
        return cli_bad_value(ctx, TOPUP_E_CURRENCY_UNKNOWN, "currency", v[R_CURRENCY],
                             "use an upper-case ISO 4217 code, e.g. CNY");
    if (!cli_token_valid(funding, ACCOUNT_CODE_SIZE))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "funding", funding,
                             "an account code is 1-64 printable ASCII characters without spaces");
    if (v[R_KEY] && !idempotency_key_valid(v[R_KEY]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "key", v[R_KEY],
                             "an idempotency key is 1-64 printable ASCII characters");

    recharge_request request;
    memset(&request, 0, sizeof request);
    snprintf(request.channel, sizeof request.channel, "cli");
    request.api_key_id = 0;
    snprintf(request.funding_account, sizeof request.funding_account, "%s", funding);
    snprintf(request.idempotency_key, sizeof request.idempotency_key, "%s",
             v[R_KEY] ? v[R_KEY] : "");

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    static recharge_response response; /* large; one per process */
    if (request.idempotency_key[0] && replayed(&session, v, country, &request, &response)) {
        cli_session_end(&session, CLI_EXIT_OK);
        return answer(ctx, &request, &response);
    }
    if ((rc = resolve(ctx, &session, v, country, &request)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);

    recharge_apply(session.st, &request, clock_now_seconds(), &response);
    if (response.http_status >= 500) {
        rc = cli_fail(response.result, "The recharge of %s failed (%s); nothing was changed.",
                      request.msisdn, store_errmsg(session.st));
        if (ctx->json)
            printf("%s\n", response.body);
        return cli_session_end(&session, rc);
    }
    /* A refusal is committed too: with --key its stored answer must survive for the retry. */
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);
    return answer(ctx, &request, &response);
}

/* ---- balance and history ---- */

static bool status_valid(const char *status)
{
    return strcmp(status, "active") == 0 || strcmp(status, "suspended") == 0 ||
           strcmp(status, "closed") == 0;
}

int cli_cmd_subscribers_set_status(cli_context *ctx, int argc, char **argv)
{
    enum { O_MSISDN, O_STATUS, O_COUNTRY, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"msisdn", true}, {"status", true}, {"country", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_MSISDN], "msisdn")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_STATUS], "status")) != CLI_CONTINUE)
        return rc;
    if (!status_valid(v[O_STATUS]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "status", v[O_STATUS],
                             "use active, suspended or closed");
    cli_session session;
    char e164[E164_SIZE];
    rc = cli_session_for_number(ctx, true, v[O_MSISDN], v[O_COUNTRY], &session, e164);
    if (rc != CLI_CONTINUE)
        return rc;
    subscriber_row sub;
    topup_result r = store_subscriber_get(session.st, e164, &sub);
    /* The balance stays where it is: closing a number is not a refund, which is a transfer of
     * its own. Only validity and status are on the subscriber row. */
    if (r == TOPUP_OK)
        r = store_subscriber_update(session.st, e164, v[O_STATUS], sub.valid_until);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Changing the status of %s failed (%s).", e164,
                                                  store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:s,s:s}", "msisdn", e164, "status", v[O_STATUS],
                                        "previous_status", sub.status));
    printf("%s: %s -> %s\n", e164, sub.status, v[O_STATUS]);
    return CLI_EXIT_OK;
}

int cli_cmd_balance(cli_context *ctx, int argc, char **argv)
{
    enum { O_MSISDN, O_COUNTRY, O_COUNT };
    static const cli_option options[O_COUNT] = {{"msisdn", true}, {"country", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_MSISDN], "msisdn")) != CLI_CONTINUE)
        return rc;
    cli_session session;
    char e164[E164_SIZE];
    rc = cli_session_for_number(ctx, false, v[O_MSISDN], v[O_COUNTRY], &session, e164);
    if (rc != CLI_CONTINUE)
        return rc;
    subscriber_row sub;
    topup_result r = store_subscriber_get(session.st, e164, &sub);
    if (r == TOPUP_E_NOT_FOUND)
        return cli_session_end(&session,
                               cli_fail(r,
                                        "%s is not a subscriber yet (a number of a hosted "
                                        "operator becomes one on its first recharge).",
                                        e164));
    if (r != TOPUP_OK)
        return cli_session_end(
            &session, cli_fail(r, "Reading %s failed (%s).", e164, store_errmsg(session.st)));
    const operator_info *op = catalog_operator(session.cat, sub.operator_id);
    char operator_name[CATALOG_NAME_SIZE];
    snprintf(operator_name, sizeof operator_name, "%s", op ? op->name : sub.operator_id);
    cli_session_end(&session, CLI_EXIT_OK);

    char balance[MONEY_TEXT_SIZE_MAX];
    cli_money_text(sub.balance_minor, sub.currency, balance);
    if (ctx->json)
        return cli_json_print(json_pack(
            "{s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "msisdn", sub.msisdn, "operator", sub.operator_id,
            "status", sub.status, "balance_minor", (json_int_t)sub.balance_minor, "balance",
            balance, "currency", sub.currency, "valid_until", cli_json_time(sub.valid_until)));
    char valid_until[RFC3339_SIZE] = "not recharged yet";
    if (sub.valid_until)
        clock_format_rfc3339(sub.valid_until, valid_until);
    printf("%s (%s, %s)\n"
           "status:      %s\n"
           "balance:     %s %s\n"
           "valid until: %s\n",
           sub.msisdn, sub.operator_id, operator_name, sub.status, sub.currency, balance,
           valid_until);
    return CLI_EXIT_OK;
}

static int print_history(const cli_context *ctx, const char *e164, const order_row *orders,
                         size_t count)
{
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < count; i++) {
            char buffer[RECHARGE_RESPONSE_SIZE];
            if (recharge_order_json(&orders[i], buffer, sizeof buffer) < 0)
                continue; /* cannot happen: the buffer is sized for the longest order */
            json_array_append_new(list, json_loads(buffer, 0, NULL));
        }
        return cli_json_print(json_pack("{s:s,s:o}", "msisdn", e164, "orders", list));
    }
    if (count == 0) {
        printf("No recharges of %s.\n", e164);
        return CLI_EXIT_OK;
    }
    printf("%-20s %-20s %-10s %-16s %12s %12s %14s\n", "ORDER", "CREATED", "STATUS", "PRODUCT",
           "AMOUNT", "PRICE", "BALANCE AFTER");
    for (size_t i = 0; i < count; i++) {
        const order_row *o = &orders[i];
        char created[RFC3339_SIZE], a[MONEY_TEXT_SIZE_MAX], p[MONEY_TEXT_SIZE_MAX],
            b[MONEY_TEXT_SIZE_MAX] = "-";
        clock_format_rfc3339(o->created_at, created);
        if (o->has_balance_after)
            cli_money_text(o->balance_after_minor, o->currency, b);
        printf("%-20lld %-20s %-10s %-16s %8s %s %8s %s %10s %s\n", (long long)o->id, created,
               order_status_name(o->status), o->product_id,
               cli_money_text(o->face_minor, o->currency, a), o->currency,
               cli_money_text(o->price_minor, o->currency, p), o->currency, b,
               o->has_balance_after ? o->currency : "");
    }
    return CLI_EXIT_OK;
}

int cli_cmd_history(cli_context *ctx, int argc, char **argv)
{
    enum { O_MSISDN, O_LIMIT, O_COUNTRY, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"msisdn", true}, {"limit", true}, {"country", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_MSISDN], "msisdn")) != CLI_CONTINUE)
        return rc;
    int64_t limit = HISTORY_LIMIT_DEFAULT;
    if (v[O_LIMIT] && !decimal_parse(v[O_LIMIT], 1, HISTORY_LIMIT_MAX, &limit))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "limit", v[O_LIMIT],
                             "a whole number from 1 to 1000");
    cli_session session;
    char e164[E164_SIZE];
    rc = cli_session_for_number(ctx, false, v[O_MSISDN], v[O_COUNTRY], &session, e164);
    if (rc != CLI_CONTINUE)
        return rc;
    order_row *orders = calloc((size_t)limit, sizeof *orders);
    if (!orders)
        return cli_session_end(&session, cli_fail(TOPUP_E_NOMEM, NULL));
    size_t count = 0;
    topup_result r = store_orders_list(session.st, e164, 0, orders, (size_t)limit, &count);
    if (r != TOPUP_OK)
        rc =
            cli_fail(r, "Listing the recharges of %s failed (%s).", e164, store_errmsg(session.st));
    cli_session_end(&session, CLI_EXIT_OK);
    if (r == TOPUP_OK)
        rc = print_history(ctx, e164, orders, count);
    free(orders);
    return rc;
}
