/* topup outbox list|show|retry: the SMS waiting, sent, delivered or dead; a dead (or stuck)
 * message can be queued again by hand. topup sms preview: what a template says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "sms/templates.h"

#define OUTBOX_LIMIT_MAX 1000

static json_t *outbox_json(const outbox_row *m)
{
    json_t *value = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:o}", "id", (json_int_t)m->id,
                              "event", m->event, "msisdn", m->msisdn, "lang", m->lang, "status",
                              m->status, "attempts", (json_int_t)m->attempt_count, "last_error",
                              m->last_error, "created_at", cli_json_time(m->created_at),
                              "next_attempt_at", cli_json_time(m->next_attempt_at));
    if (!value)
        return NULL;
    json_object_set_new(value, "order_id", m->order_id ? json_integer(m->order_id) : json_null());
    json_object_set_new(value, "smsc_id", m->smsc_id[0] ? json_string(m->smsc_id) : json_null());
    json_object_set_new(value, "receipt", m->receipt_stat[0] ? json_string(m->receipt_stat)
                                                             : json_null());
    json_object_set_new(value, "facts", json_loads(m->facts, 0, NULL));
    return value;
}

int cli_cmd_outbox_list(cli_context *ctx, int argc, char **argv)
{
    enum { O_STATUS, O_LIMIT, O_COUNT };
    static const cli_option options[O_COUNT] = {{"status", true}, {"limit", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    int64_t limit = 50;
    if (v[O_LIMIT] && !decimal_parse(v[O_LIMIT], 1, OUTBOX_LIMIT_MAX, &limit))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "limit", v[O_LIMIT], "1 to 1000");
    store *st;
    if ((rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static outbox_row rows[OUTBOX_LIMIT_MAX];
    size_t count;
    topup_result r = store_outbox_list(st, v[O_STATUS], 0, rows, (size_t)limit, &count);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    json_t *list = ctx->json ? json_array() : NULL;
    for (size_t i = 0; i < count; i++) {
        if (list) {
            json_array_append_new(list, outbox_json(&rows[i]));
            continue;
        }
        char when[RFC3339_SIZE];
        clock_format_rfc3339(rows[i].created_at, when);
        printf("%-8lld %s  %-20s %-16s %-11s %d  %s\n", (long long)rows[i].id, when, rows[i].event,
               rows[i].msisdn, rows[i].status, rows[i].attempt_count, rows[i].last_error);
    }
    if (list)
        return cli_json_print(json_pack("{s:o}", "messages", list));
    if (count == 0)
        printf("no messages\n");
    return CLI_EXIT_OK;
}

/* Reads the message id argument; CLI_CONTINUE or a usage exit. */
static int message_id(cli_context *ctx, int argc, char **argv, int64_t *id)
{
    char *positionals[1];
    size_t positional_count = 0;
    const char *values[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, values, positionals, 1, &positional_count);
    if (rc != CLI_CONTINUE)
        return rc;
    if (positional_count != 1 || !decimal_parse(positionals[0], 1, INT64_MAX, id))
        return cli_usage_error(ctx, "Give the message id (see 'topup outbox list').");
    return CLI_CONTINUE;
}

int cli_cmd_outbox_show(cli_context *ctx, int argc, char **argv)
{
    int64_t id;
    store *st;
    int rc = message_id(ctx, argc, argv, &id);
    if (rc != CLI_CONTINUE || (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    outbox_row m;
    topup_result r = store_outbox_get(st, id, &m);
    store_close(st);
    if (r != TOPUP_OK)
        return cli_fail(r, "No SMS %lld.", (long long)id);
    char text[SMS_RENDER_SIZE], detail[256];
    json_t *value = outbox_json(&m);
    if (value && sms_render(m.event, m.lang, m.facts, SMS_UTC_OFFSET_DEFAULT_MIN, text,
                            sizeof text, detail, sizeof detail) == TOPUP_OK)
        json_object_set_new(value, "text", json_string(text));
    if (ctx->json)
        return cli_json_print(value);
    char *dump = value ? json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    printf("%s\n", dump ? dump : "{}");
    free(dump);
    json_decref(value);
    return CLI_EXIT_OK;
}

/* A message that was not acknowledged (queued, sending, dead) can be queued again at once; one
 * the SMSC acknowledged is never sent again, because the subscriber would get it twice. */
int cli_cmd_outbox_retry(cli_context *ctx, int argc, char **argv)
{
    int64_t id;
    cli_session session;
    int rc = message_id(ctx, argc, argv, &id);
    if (rc != CLI_CONTINUE || (rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    outbox_row m;
    topup_result r = store_outbox_get(session.st, id, &m);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "No SMS %lld.", (long long)id));
    bool unsent = strcmp(m.status, "queued") == 0 || strcmp(m.status, "sending") == 0 ||
                  strcmp(m.status, "dead") == 0;
    if (m.smsc_id[0] || !unsent)
        return cli_session_end(&session, cli_fail(TOPUP_E_ILLEGAL_TRANSITION,
                                                  "SMS %lld is %s: the SMSC took it, so it is "
                                                  "not sent again.",
                                                  (long long)id, m.status));
    snprintf(m.status, sizeof m.status, "queued");
    m.attempt_count = 0;
    m.next_attempt_at = m.updated_at = clock_now_seconds();
    if ((r = store_outbox_update(session.st, &m)) != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "%s", store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    printf("SMS %lld queued again\n", (long long)id);
    return cli_session_end(&session, CLI_EXIT_OK);
}

int cli_cmd_sms_preview(cli_context *ctx, int argc, char **argv)
{
    enum { O_LANG, O_FACTS, O_COUNT };
    static const cli_option options[O_COUNT] = {{"lang", true}, {"facts", true}};
    const char *v[O_COUNT];
    char *positionals[1];
    size_t positional_count = 0;
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, positionals, 1, &positional_count);
    if (rc != CLI_CONTINUE)
        return rc;
    if (positional_count != 1 || !sms_event_known(positionals[0]))
        return cli_usage_error(ctx, "Give an EVENT: recharge_succeeded, recharge_refunded, "
                                    "payment_received, otp or low_balance.");
    const char *lang = v[O_LANG] ? v[O_LANG] : "zh-CN";
    if (!sms_lang_known(lang))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "lang", lang, "zh-CN or en");
    /* Sample facts: a CNY 100.00 recharge of a demo number on 2026-11-25 09:30 UTC. */
    char sample[SMS_FACTS_SIZE];
    sms_recharge_facts("+8613800138000", 10000, "CNY", 12350, 1798191000, 1042, 1795599000,
                       sample, sizeof sample);
    if (!v[O_FACTS] && strcmp(positionals[0], "otp") == 0)
        snprintf(sample, sizeof sample, "{\"code\":\"482913\",\"minutes\":5}");
    char text[SMS_RENDER_SIZE], detail[256];
    topup_result r = sms_render(positionals[0], lang, v[O_FACTS] ? v[O_FACTS] : sample,
                                SMS_UTC_OFFSET_DEFAULT_MIN, text, sizeof text, detail,
                                sizeof detail);
    if (r != TOPUP_OK)
        return cli_fail(r, "%s", detail);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:s,s:s}", "event", positionals[0], "lang", lang,
                                        "text", text));
    printf("%s\n", text);
    return CLI_EXIT_OK;
}
