/* topup callbacks list|show|retry: the partner callback outbox (docs/partners.md "Callbacks").
 * list and show only read; retry makes a dead or waiting callback due now, for when a merchant
 * has fixed its endpoint. A delivered callback is never sent again from here: the merchant
 * already has it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

#define CALLBACKS_LIMIT_MAX   1000
#define CALLBACKS_LIMIT_SHOWN 50   /* list's default */
#define ATTEMPTS_SHOWN_MAX    1000 /* a callback tried every second for a day has more */

static bool status_valid(const char *status)
{
    return strcmp(status, "queued") == 0 || strcmp(status, "delivered") == 0 ||
           strcmp(status, "dead") == 0;
}

/* The shape of a merchant id (see topup merchant add), so a typo is refused, not listed empty. */
static bool merchant_id_valid(const char *id)
{
    size_t length = strlen(id);
    return length >= 1 && length < MERCHANT_ID_SIZE &&
           strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == length;
}

static json_t *callback_json(const callback_row *cb)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:I,s:o,s:s,s:o,s:o}", "id", (json_int_t)cb->id,
                     "order_id", (json_int_t)cb->order_id, "merchant", cb->merchant_id, "url",
                     cb->url, "status", cb->status, "attempts", (json_int_t)cb->attempt_count,
                     "next_attempt_at", cli_json_time(cb->next_attempt_at), "last_error",
                     cb->last_error, "created_at", cli_json_time(cb->created_at), "updated_at",
                     cli_json_time(cb->updated_at));
}

static json_t *attempt_json(const callback_attempt_row *a)
{
    return json_pack("{s:I,s:o,s:o,s:s,s:I}", "id", (json_int_t)a->id, "attempted_at",
                     cli_json_time(a->attempted_at), "http_status",
                     a->http_status ? json_integer(a->http_status) : json_null(), "error", a->error,
                     "duration_ms", (json_int_t)a->duration_ms);
}

/* "2026-11-25T10:02:03Z", or "-" for 0 (nothing due). */
static const char *time_text(int64_t unix_seconds, char text[RFC3339_SIZE])
{
    if (unix_seconds <= 0)
        return "-";
    clock_format_rfc3339(unix_seconds, text);
    return text;
}

int cli_cmd_callbacks_list(cli_context *ctx, int argc, char **argv)
{
    enum { O_MERCHANT, O_STATUS, O_LIMIT, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"merchant", true}, {"status", true}, {"limit", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (v[O_MERCHANT] && !merchant_id_valid(v[O_MERCHANT]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "merchant", v[O_MERCHANT],
                             "1-32 characters of a-z, 0-9, '_' and '-'");
    if (v[O_STATUS] && !status_valid(v[O_STATUS]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "status", v[O_STATUS],
                             "queued, delivered or dead");
    int64_t limit = CALLBACKS_LIMIT_SHOWN;
    if (v[O_LIMIT] && !decimal_parse(v[O_LIMIT], 1, CALLBACKS_LIMIT_MAX, &limit))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "limit", v[O_LIMIT], "1 to 1000");
    store *st;
    if ((rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    static callback_row rows[CALLBACKS_LIMIT_MAX];
    size_t count;
    topup_result r =
        store_callbacks_list(st, v[O_MERCHANT], v[O_STATUS], 0, rows, (size_t)limit, &count);
    if (r != TOPUP_OK)
        rc = cli_fail(r, "%s", store_errmsg(st));
    store_close(st);
    if (r != TOPUP_OK)
        return rc;
    json_t *list = ctx->json ? json_array() : NULL;
    for (size_t i = 0; i < count; i++) {
        const callback_row *cb = &rows[i];
        if (list) {
            json_array_append_new(list, callback_json(cb));
            continue;
        }
        char next[RFC3339_SIZE];
        printf("%-6lld order %-20lld %-16s %-9s %2d attempts  next %-20s  %s  %s\n",
               (long long)cb->id, (long long)cb->order_id, cb->merchant_id, cb->status,
               cb->attempt_count, time_text(cb->next_attempt_at, next),
               cb->last_error[0] ? cb->last_error : "-", cb->url);
    }
    if (list)
        return cli_json_print(json_pack("{s:o}", "callbacks", list));
    if (count == 0)
        printf("no callbacks\n");
    return CLI_EXIT_OK;
}

/* Reads the required --id; CLI_CONTINUE or a usage exit. */
static int callback_id(cli_context *ctx, int argc, char **argv, int64_t *id)
{
    static const cli_option options[] = {{"id", true}};
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, options, 1, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE || (rc = cli_require(ctx, v[0], "id")) != CLI_CONTINUE)
        return rc;
    if (!decimal_parse(v[0], 1, INT64_MAX, id))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "id", v[0],
                             "a callback id from 'topup callbacks list'");
    return CLI_CONTINUE;
}

static void print_callback(const callback_row *cb, const callback_attempt_row *attempts,
                           size_t attempt_count)
{
    char next[RFC3339_SIZE], created[RFC3339_SIZE], updated[RFC3339_SIZE];
    printf("callback %lld for order %lld of merchant %s\n", (long long)cb->id,
           (long long)cb->order_id, cb->merchant_id);
    printf("  url:         %s\n", cb->url);
    printf("  status:      %s, %d attempts, next attempt %s\n", cb->status, cb->attempt_count,
           time_text(cb->next_attempt_at, next));
    printf("  last error:  %s\n", cb->last_error[0] ? cb->last_error : "-");
    printf("  created:     %s, updated %s\n", time_text(cb->created_at, created),
           time_text(cb->updated_at, updated));
    printf("  body:        %s\n", cb->body);
    printf("attempts:%s\n", attempt_count == 0 ? " none yet" : "");
    for (size_t i = 0; i < attempt_count; i++) {
        const callback_attempt_row *a = &attempts[i];
        char when[RFC3339_SIZE], status[16];
        snprintf(status, sizeof status, a->http_status ? "HTTP %d" : "no answer", a->http_status);
        printf("  %zu  %s  %-9s  %6lld ms  %s\n", i + 1, time_text(a->attempted_at, when), status,
               (long long)a->duration_ms, a->error[0] ? a->error : "-");
    }
}

int cli_cmd_callbacks_show(cli_context *ctx, int argc, char **argv)
{
    int64_t id;
    store *st;
    int rc = callback_id(ctx, argc, argv, &id);
    if (rc != CLI_CONTINUE || (rc = cli_store_open(ctx, STORE_READ_ONLY, &st)) != CLI_CONTINUE)
        return rc;
    callback_row cb;
    static callback_attempt_row attempts[ATTEMPTS_SHOWN_MAX];
    size_t attempt_count = 0;
    topup_result r = store_callback_get(st, id, &cb);
    if (r == TOPUP_OK)
        r = store_callback_attempts(st, id, attempts, ATTEMPTS_SHOWN_MAX, &attempt_count);
    if (r != TOPUP_OK)
        rc = cli_fail(r,
                      r == TOPUP_E_NOT_FOUND ? "There is no callback %lld."
                                             : "Reading callback %lld failed.",
                      (long long)id);
    store_close(st);
    if (r != TOPUP_OK)
        return rc;
    if (!ctx->json) {
        print_callback(&cb, attempts, attempt_count);
        return CLI_EXIT_OK;
    }
    json_t *value = callback_json(&cb);
    json_t *list = json_array();
    for (size_t i = 0; value && list && i < attempt_count; i++)
        json_array_append_new(list, attempt_json(&attempts[i]));
    if (value) {
        /* The body as sent; as a JSON value when it is one, which it always is when topup wrote
         * it. */
        json_t *body = json_loads(cb.body, JSON_DECODE_ANY, NULL);
        json_object_set_new(value, "body", body ? body : json_string(cb.body));
        json_object_set_new(value, "attempt_history", list);
    } else {
        json_decref(list);
    }
    return cli_json_print(value);
}

/* A dead callback (the merchant has fixed its endpoint) or a waiting one is made due now and is
 * tried once more by topupd; one that is past the give-up time and fails again is dead again. */
int cli_cmd_callbacks_retry(cli_context *ctx, int argc, char **argv)
{
    int64_t id;
    cli_session session;
    int rc = callback_id(ctx, argc, argv, &id);
    if (rc != CLI_CONTINUE || (rc = cli_session_open(ctx, true, false, &session)) != CLI_CONTINUE)
        return rc;
    callback_row cb;
    topup_result r = store_callback_get(session.st, id, &cb);
    if (r != TOPUP_OK)
        return cli_session_end(&session,
                               cli_fail(r,
                                        r == TOPUP_E_NOT_FOUND ? "There is no callback %lld."
                                                               : "Reading callback %lld failed.",
                                        (long long)id));
    if (strcmp(cb.status, "delivered") == 0)
        return cli_session_end(&session,
                               cli_fail(TOPUP_E_ILLEGAL_TRANSITION,
                                        "Callback %lld was delivered (the merchant answered 2xx), "
                                        "so it is not sent again.",
                                        (long long)id));
    snprintf(cb.status, sizeof cb.status, "queued");
    cb.next_attempt_at = cb.updated_at = clock_now_seconds();
    if ((r = store_callback_update(session.st, &cb)) != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "%s", store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    if (ctx->json)
        rc = cli_json_print(callback_json(&cb));
    else
        printf("callback %lld queued again: topupd sends it within a few seconds\n", (long long)id);
    return cli_session_end(&session, ctx->json ? rc : CLI_EXIT_OK);
}
