/* topup alerts and topup pay notifications: what a person must look at (a payment whose amount
 * differs from its order, a refund the provider refused) and the raw payment notifications as
 * they were judged. Both only read. */
#include <stdio.h>

#include "cli/cli.h"
#include "core/clock.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     1000

/* Parses --limit; CLI_CONTINUE or a usage exit. */
static int parse_limit(const cli_context *ctx, const char *text, int64_t *limit)
{
    *limit = LIST_LIMIT_DEFAULT;
    if (text && !decimal_parse(text, 1, LIST_LIMIT_MAX, limit))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "limit", text, "1 to 1000");
    return CLI_CONTINUE;
}

static int open_list(cli_context *ctx, int argc, char **argv, int64_t *limit, store **st)
{
    static const cli_option options[] = {{"limit", true}};
    const char *values[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, values, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = parse_limit(ctx, values[0], limit)) != CLI_CONTINUE)
        return rc;
    return cli_store_open(ctx, STORE_READ_ONLY, st);
}

static const char *time_text(int64_t seconds, char text[RFC3339_SIZE])
{
    clock_format_rfc3339(seconds, text);
    return text;
}

int cli_cmd_alerts(cli_context *ctx, int argc, char **argv)
{
    int64_t limit;
    store *st;
    int rc = open_list(ctx, argc, argv, &limit, &st);
    if (rc != CLI_CONTINUE)
        return rc;
    static alert_row alerts[LIST_LIMIT_MAX];
    size_t count;
    topup_result r = store_alerts_list(st, 0, alerts, (size_t)limit, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    json_t *list = ctx->json ? json_array() : NULL;
    char when[RFC3339_SIZE];
    for (size_t i = 0; i < count; i++) {
        const alert_row *a = &alerts[i];
        if (list)
            json_array_append_new(list, json_pack("{s:I,s:s,s:I,s:s,s:s}", "id", (json_int_t)a->id,
                                                  "kind", a->kind, "order_id",
                                                  (json_int_t)a->order_id, "detail", a->detail,
                                                  "created_at", time_text(a->created_at, when)));
        else
            printf("%s  %-16s order %-8lld %s\n", time_text(a->created_at, when), a->kind,
                   (long long)a->order_id, a->detail);
    }
    if (list)
        return cli_json_print(json_pack("{s:o}", "alerts", list));
    if (count == 0)
        printf("no alerts\n");
    return CLI_EXIT_OK;
}

int cli_cmd_pay_notifications(cli_context *ctx, int argc, char **argv)
{
    int64_t limit;
    store *st;
    int rc = open_list(ctx, argc, argv, &limit, &st);
    if (rc != CLI_CONTINUE)
        return rc;
    static notification_row rows[LIST_LIMIT_MAX];
    size_t count;
    topup_result r = store_notifications_list(st, 0, rows, (size_t)limit, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    json_t *list = ctx->json ? json_array() : NULL;
    char when[RFC3339_SIZE];
    for (size_t i = 0; i < count; i++) {
        const notification_row *n = &rows[i];
        if (list)
            json_array_append_new(
                list, json_pack("{s:I,s:s,s:s,s:b,s:s,s:s,s:s,s:s}", "id", (json_int_t)n->id,
                                "provider", n->provider, "received_at",
                                time_text(n->received_at, when), "genuine", n->genuine, "verdict",
                                n->verdict, "detail", n->detail, "out_trade_no", n->out_trade_no,
                                "trade_no", n->trade_no));
        else
            printf("%s  %-8s %-13s %-20s %s\n", time_text(n->received_at, when), n->provider,
                   n->verdict, n->out_trade_no[0] ? n->out_trade_no : "-", n->detail);
    }
    if (list)
        return cli_json_print(json_pack("{s:o}", "notifications", list));
    if (count == 0)
        printf("no notifications\n");
    return CLI_EXIT_OK;
}
