/* topup pay gateway: one call to a payment provider's gateway (create, query, refund, close)
 * with the settings of a config file, printing what the provider answered. Operators use it to
 * check an integration and to look at a payment by hand; it changes nothing in the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "service/config_sections.h"

#define EXIT_UNKNOWN 3 /* the provider did not answer (or its answer did not verify) */

enum {
    O_CONFIG,
    O_OUT_TRADE_NO,
    O_AMOUNT,
    O_CURRENCY,
    O_METHOD,
    O_SUBJECT,
    O_AUTH_CODE,
    O_CLIENT_IP,
    O_EXPIRES_IN,
    O_PROVIDER_REF,
    O_OUT_REQUEST_NO,
    O_TOTAL,
    O_TRADE_NO,
    O_REASON,
    O_COUNT
};

static const cli_option options[O_COUNT] = {
    {"config", true},     {"out-trade-no", true}, {"amount", true},         {"currency", true},
    {"method", true},     {"subject", true},      {"auth-code", true},      {"client-ip", true},
    {"expires-in", true}, {"provider-ref", true}, {"out-request-no", true}, {"total", true},
    {"trade-no", true},   {"reason", true},
};

static const char *outcome_name(gateway_status status)
{
    return status == GATEWAY_OK ? "ok" : status == GATEWAY_REFUSED ? "refused" : "unknown";
}

static int exit_for(gateway_status status)
{
    return status == GATEWAY_OK        ? CLI_EXIT_OK
           : status == GATEWAY_REFUSED ? CLI_EXIT_FAILURE
                                       : EXIT_UNKNOWN;
}

static const char *refund_state_name(refund_state state)
{
    return state == REFUND_SUCCEEDED ? "succeeded" : state == REFUND_FAILED ? "failed" : "pending";
}

/* Parses --amount (and --total) in --currency; CLI_CONTINUE or a usage exit. */
static int parse_amount(const cli_context *ctx, const char **v, int option, const char *name,
                        int64_t *amount)
{
    int rc = cli_require(ctx, v[option], name);
    if (rc != CLI_CONTINUE)
        return rc;
    topup_result r = money_parse(v[option], v[O_CURRENCY], amount);
    return r == TOPUP_OK ? CLI_CONTINUE : cli_bad_value(ctx, r, name, v[option], NULL);
}

static bool copy_option(const char *value, char *out, size_t out_size)
{
    if (!value)
        return true;
    if (strlen(value) >= out_size)
        return false;
    strcpy(out, value);
    return true;
}

static int run_create(const cli_context *ctx, const provider_ops *ops, provider *p, const char **v,
                      json_t *answer, gateway_status *status, char *detail, size_t detail_size)
{
    payment_request request = {0};
    pay_method method;
    int64_t expires_in = 900;
    int rc = parse_amount(ctx, v, O_AMOUNT, "amount", &request.amount_minor);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_METHOD], "method")) != CLI_CONTINUE)
        return rc;
    if (!pay_method_parse(v[O_METHOD], &method))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "method", v[O_METHOD],
                             "page, wap, qr, h5, code or checkout");
    if (v[O_EXPIRES_IN] && !decimal_parse(v[O_EXPIRES_IN], 60, 7 * 24 * 3600, &expires_in))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "expires-in", v[O_EXPIRES_IN],
                             "seconds, 60 to 604800");
    request.method = method;
    request.expires_at = clock_now_seconds() + expires_in;
    strcpy(request.out_trade_no, v[O_OUT_TRADE_NO]);
    strcpy(request.currency, v[O_CURRENCY]);
    if (!copy_option(v[O_SUBJECT] ? v[O_SUBJECT] : "topup recharge", request.subject,
                     sizeof request.subject) ||
        !copy_option(v[O_AUTH_CODE], request.auth_code, sizeof request.auth_code) ||
        !copy_option(v[O_CLIENT_IP], request.client_ip, sizeof request.client_ip))
        return cli_usage_error(ctx, "--subject, --auth-code or --client-ip is too long.");
    payment_created created;
    *status = ops->create(p, &request, &created, detail, detail_size);
    if (*status == GATEWAY_OK)
        json_object_update_new(
            answer, json_pack("{s:s,s:s,s:s,s:s}", "state", trade_state_name(created.state),
                              "pay_url", created.pay_url, "provider_ref", created.provider_ref,
                              "trade_no", created.trade_no));
    return CLI_CONTINUE;
}

static int run_query(const provider_ops *ops, provider *p, const char **v, json_t *answer,
                     gateway_status *status, char *detail, size_t detail_size)
{
    trade_info trade;
    *status = ops->query(p, v[O_OUT_TRADE_NO], v[O_PROVIDER_REF] ? v[O_PROVIDER_REF] : "", &trade,
                         detail, detail_size);
    if (*status != GATEWAY_OK)
        return CLI_CONTINUE;
    char amount[MONEY_TEXT_SIZE_MAX] = "";
    if (trade.state == TRADE_PAID)
        provider_amount_format(trade.amount_minor, trade.currency, amount, sizeof amount);
    json_object_update_new(
        answer, json_pack("{s:s,s:s,s:s,s:s}", "state", trade_state_name(trade.state), "trade_no",
                          trade.trade_no, "amount", amount, "currency", trade.currency));
    return CLI_CONTINUE;
}

static int run_refund(const cli_context *ctx, const provider_ops *ops, provider *p, const char **v,
                      json_t *answer, gateway_status *status, char *detail, size_t detail_size)
{
    refund_request request = {0};
    int rc = cli_require(ctx, v[O_OUT_REQUEST_NO], "out-request-no");
    if (rc != CLI_CONTINUE ||
        (rc = parse_amount(ctx, v, O_AMOUNT, "amount", &request.refund_minor)) != CLI_CONTINUE ||
        (rc = parse_amount(ctx, v, O_TOTAL, "total", &request.total_minor)) != CLI_CONTINUE)
        return rc;
    strcpy(request.out_trade_no, v[O_OUT_TRADE_NO]);
    strcpy(request.currency, v[O_CURRENCY]);
    if (!copy_option(v[O_OUT_REQUEST_NO], request.out_request_no, sizeof request.out_request_no) ||
        !copy_option(v[O_TRADE_NO], request.trade_no, sizeof request.trade_no) ||
        !copy_option(v[O_REASON] ? v[O_REASON] : "refund", request.reason, sizeof request.reason))
        return cli_usage_error(ctx, "--out-request-no, --trade-no or --reason is too long.");
    refund_info refund;
    *status = ops->refund(p, &request, &refund, detail, detail_size);
    if (*status == GATEWAY_OK)
        json_object_update_new(answer,
                               json_pack("{s:s,s:s}", "state", refund_state_name(refund.state),
                                         "refund_id", refund.refund_id));
    return CLI_CONTINUE;
}

/* Checks the options every operation needs; CLI_CONTINUE or a usage exit. */
static int check_common(const cli_context *ctx, const char **v, const char *operation)
{
    int rc = cli_require(ctx, v[O_CONFIG], "config");
    if (rc != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_OUT_TRADE_NO], "out-trade-no")) != CLI_CONTINUE)
        return rc;
    if (strlen(v[O_OUT_TRADE_NO]) >= OUT_TRADE_NO_SIZE)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "out-trade-no", v[O_OUT_TRADE_NO],
                             "at most 64 characters");
    bool with_amount = strcmp(operation, "create") == 0 || strcmp(operation, "refund") == 0;
    if (with_amount && (rc = cli_require(ctx, v[O_CURRENCY], "currency")) != CLI_CONTINUE)
        return rc;
    if (with_amount && !currency_find(v[O_CURRENCY]))
        return cli_bad_value(ctx, TOPUP_E_CURRENCY_UNKNOWN, "currency", v[O_CURRENCY], NULL);
    return CLI_CONTINUE;
}

/* Loads the settings and opens the provider; CLI_CONTINUE or an exit code. */
static int open_provider(const char *config, const char *name, const provider_ops **ops,
                         provider **p)
{
    payment_settings settings;
    sms_settings sms;
    partners_settings partners;
    portal_settings portal;
    counter_settings counter;
    if (config_sections_read(
            config, &(config_sections){&settings, &sms, &partners, &portal, &counter}) != 0)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "The config file %s has errors (above).", config);
    provider_id id;
    *ops = provider_ops_by_name(name, &id);
    if (!settings.providers[id].enabled)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "%s has no '%s.*' settings.", config, name);
    if (!(*ops)->open)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "The %s provider is not available.", name);
    char detail[GATEWAY_DETAIL_SIZE] = "";
    topup_result r = (*ops)->open(&settings.providers[id], p, detail, sizeof detail);
    return r == TOPUP_OK ? CLI_CONTINUE : cli_fail(r, "%s", detail);
}

static int run_operation(const cli_context *ctx, const provider_ops *ops, provider *p,
                         const char *operation, const char **v)
{
    char detail[GATEWAY_DETAIL_SIZE] = "";
    gateway_status status = GATEWAY_UNKNOWN;
    json_t *answer = json_object();
    int rc = CLI_CONTINUE;
    if (strcmp(operation, "create") == 0)
        rc = run_create(ctx, ops, p, v, answer, &status, detail, sizeof detail);
    else if (strcmp(operation, "query") == 0)
        rc = run_query(ops, p, v, answer, &status, detail, sizeof detail);
    else if (strcmp(operation, "refund") == 0)
        rc = run_refund(ctx, ops, p, v, answer, &status, detail, sizeof detail);
    else
        status = ops->close(p, v[O_OUT_TRADE_NO], v[O_PROVIDER_REF] ? v[O_PROVIDER_REF] : "",
                            detail, sizeof detail);
    if (rc != CLI_CONTINUE) {
        json_decref(answer);
        return rc;
    }
    json_object_set_new(answer, "outcome", json_string(outcome_name(status)));
    json_object_set_new(answer, "detail", json_string(detail));
    rc = cli_json_print(answer);
    return rc == CLI_EXIT_OK ? exit_for(status) : rc;
}

int cli_cmd_pay_gateway(cli_context *ctx, int argc, char **argv)
{
    const char *v[O_COUNT];
    char *positionals[2];
    size_t positional_count = 0;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, positionals, 2, &positional_count);
    if (rc != CLI_CONTINUE)
        return rc;
    static const char *const operations[] = {"create", "query", "refund", "close"};
    bool known = false;
    for (size_t i = 0; positional_count == 2 && i < 4; i++)
        known = known || strcmp(positionals[1], operations[i]) == 0;
    if (positional_count != 2 || !provider_ops_by_name(positionals[0], NULL) || !known)
        return cli_usage_error(ctx, "Give PROVIDER (alipay, wechat, card or sandbox) and "
                                    "OPERATION (create, query, refund or close).");
    if ((rc = check_common(ctx, v, positionals[1])) != CLI_CONTINUE)
        return rc;
    const provider_ops *ops;
    provider *p = NULL;
    if ((rc = open_provider(v[O_CONFIG], positionals[0], &ops, &p)) != CLI_CONTINUE)
        return rc == CLI_EXIT_FAILURE ? CLI_EXIT_USAGE : rc;
    rc = run_operation(ctx, ops, p, positionals[1], v);
    ops->free_(p);
    return rc;
}
