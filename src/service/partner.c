/* Partner orders and signed reads, on the writer thread. Like the recharge write path it only
 * does database work: the HTTP thread checked the signature, resolved the number and priced the
 * order before handing it over. */
#include "service/partner.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define SECONDS_PER_DAY 86400

int partner_order_json(const order_row *order, const partner_order_row *partner, char *buffer,
                       size_t buffer_size)
{
    char created_at[RFC3339_SIZE], updated_at[RFC3339_SIZE];
    clock_format_rfc3339(order->created_at, created_at);
    clock_format_rfc3339(order->updated_at, updated_at);
    /* merchant_order_id is [0-9A-Za-z_.:-] (checked at intake) and the rest are ids, numbers and
     * statuses, so nothing here needs escaping. */
    int length = snprintf(
        buffer, buffer_size,
        "{\"merchant_order_id\":\"%s\",\"order_id\":\"%lld\",\"status\":\"%s\",\"msisdn\":\"%s\","
        "\"operator\":\"%s\",\"product\":\"%s\",\"amount_minor\":%lld,\"price_minor\":%lld,"
        "\"currency\":\"%s\",\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
        partner->merchant_order_id, (long long)order->id, order_status_name(order->status),
        order->msisdn, order->operator_id, order->product_id, (long long)order->face_minor,
        (long long)order->price_minor, order->currency, created_at, updated_at);
    return length < (int)buffer_size ? length : -1;
}

topup_result partner_operator_account(store *st, const char *operator_id, const char *currency,
                                      int64_t *account_id)
{
    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "operator:%s", operator_id);
    account_row account;
    topup_result r =
        store_account_ensure(st, code, currency, "operator_settlement", 0, 0, &account);
    *account_id = account.id;
    return r;
}

topup_result partner_callback_queue(store *st, const order_row *order, int64_t now)
{
    partner_order_row partner;
    topup_result r = store_partner_order_by_order(st, order->id, &partner);
    if (r == TOPUP_E_NOT_FOUND || (r == TOPUP_OK && !partner.callback_url[0]))
        return TOPUP_OK;
    if (r != TOPUP_OK)
        return r;
    callback_row callback = {
        .order_id = order->id, .next_attempt_at = now, .created_at = now, .updated_at = now};
    memcpy(callback.merchant_id, partner.merchant_id, sizeof callback.merchant_id);
    memcpy(callback.url, partner.callback_url, sizeof callback.url);
    char order_json[PARTNER_ANSWER_SIZE];
    if (partner_order_json(order, &partner, order_json, sizeof order_json) < 0)
        return TOPUP_E_INVALID_ARGUMENT;
    int length =
        snprintf(callback.body, sizeof callback.body, "{\"event\":\"order.%s\",\"order\":%s}",
                 order_status_name(order->status), order_json);
    if (length < 0 || (size_t)length >= sizeof callback.body)
        return TOPUP_E_INVALID_ARGUMENT;
    return store_callback_insert(st, &callback);
}

/* ---- orders ---- */

/* A hosted operator's number is credited now, in this transaction. */
static topup_result create_hosted(store *st, const recharge_request *request, int64_t funding_id,
                                  int64_t now, order_row *order)
{
    subscriber_row sub;
    topup_result r = recharge_subscriber(st, request, now, &sub);
    if (r != TOPUP_OK)
        return r;
    recharge_order_prepare(request, funding_id, ORDER_PAID, now, order);
    if ((r = store_order_insert(st, order, "paid from the merchant's float")))
        return r;
    return recharge_fulfil(st, request, &sub, order, now);
}

/* An http operator's number: the price goes to what topup owes the operator, and the
 * forwarder sends the recharge; the order stays paid until the operator answers. */
static topup_result create_forwarded(store *st, const recharge_request *request, int64_t funding_id,
                                     int64_t now, order_row *order)
{
    recharge_order_prepare(request, funding_id, ORDER_PAID, now, order);
    topup_result r = store_order_insert(st, order, "paid from the merchant's float");
    int64_t operator_account;
    if (r == TOPUP_OK)
        r = partner_operator_account(st, order->operator_id, order->currency, &operator_account);
    if (r == TOPUP_OK)
        r = recharge_move_money(st, order, operator_account, NULL);
    if (r != TOPUP_OK)
        return r;
    connector_job_row job = {
        .order_id = order->id, .next_attempt_at = now, .created_at = now, .updated_at = now};
    memcpy(job.operator_id, order->operator_id, sizeof job.operator_id);
    snprintf(job.status, sizeof job.status, "queued");
    return store_connector_job_insert(st, &job);
}

static topup_result create_order(store *st, partner_order_job *job, int64_t now, order_row *order)
{
    const recharge_request *request = &job->recharge;
    account_row funding;
    topup_result r = store_account_get(st, request->funding_account, request->currency, &funding);
    if (r == TOPUP_E_NOT_FOUND)
        return TOPUP_E_CURRENCY_MISMATCH; /* the float is in another currency than the number */
    if (r != TOPUP_OK)
        return r;
    r = strcmp(request->connector, "hosted") == 0
            ? create_hosted(st, request, funding.id, now, order)
            : create_forwarded(st, request, funding.id, now, order);
    if (r == TOPUP_E_INSUFFICIENT_FUNDS)
        return TOPUP_E_INSUFFICIENT_FLOAT;
    if (r != TOPUP_OK)
        return r;
    partner_order_row partner = {.order_id = order->id};
    memcpy(partner.merchant_id, job->caller.merchant_id, sizeof partner.merchant_id);
    memcpy(partner.merchant_order_id, job->merchant_order_id, sizeof partner.merchant_order_id);
    memcpy(partner.request_hash, job->request_hash, REQUEST_HASH_SIZE);
    memcpy(partner.callback_url, job->callback_url, sizeof partner.callback_url);
    if ((r = store_partner_order_insert(st, &partner)))
        return r;
    if (order_status_is_final(order->status) && (r = partner_callback_queue(st, order, now)))
        return r;
    return partner_order_json(order, &partner, job->body, sizeof job->body) < 0
               ? TOPUP_E_INVALID_ARGUMENT
               : TOPUP_OK;
}

/* The same merchant_order_id again: the same request gets its order as it is now, another
 * request is refused. */
static topup_result replay(store *st, partner_order_job *job, const partner_order_row *existing)
{
    if (memcmp(existing->request_hash, job->request_hash, REQUEST_HASH_SIZE) != 0)
        return TOPUP_E_IDEMPOTENCY_KEY_REUSED;
    order_row order;
    topup_result r = store_order_get(st, existing->order_id, &order);
    if (r != TOPUP_OK)
        return r == TOPUP_E_NOT_FOUND ? TOPUP_E_STORAGE : r; /* the foreign key guarantees it */
    job->replayed = true;
    return partner_order_json(&order, existing, job->body, sizeof job->body) < 0
               ? TOPUP_E_INVALID_ARGUMENT
               : TOPUP_OK;
}

static topup_result order_effect(store *st, partner_order_job *job, int64_t now)
{
    partner_order_row existing;
    topup_result r =
        store_partner_order_find(st, job->caller.merchant_id, job->merchant_order_id, &existing);
    if (r == TOPUP_OK)
        return replay(st, job, &existing);
    if (r != TOPUP_E_NOT_FOUND)
        return r;
    order_row order;
    return create_order(st, job, now, &order);
}

/* Runs effect after spending the caller's nonce. The nonce is spent whatever effect answers
 * (a refused request with a valid signature must not be replayable either), but effect's own
 * changes are undone when it refuses. A replayed nonce is refused before anything else. */
static topup_result with_nonce(store *st, const partner_caller *caller, int64_t now,
                               topup_result (*effect)(store *, void *, int64_t), void *payload,
                               topup_result *answer)
{
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = store_partner_nonce_use(st, caller->merchant_id, caller->nonce, now);
    if (r == TOPUP_E_ALREADY_EXISTS) {
        store_savepoint_rollback(st);
        *answer = TOPUP_E_NONCE_REUSED;
        return TOPUP_OK;
    }
    if (r == TOPUP_OK)
        r = store_savepoint(st);
    if (r != TOPUP_OK) {
        store_savepoint_rollback(st);
        return r;
    }
    *answer = effect(st, payload, now);
    if (*answer == TOPUP_OK) {
        store_savepoint_release(st);
    } else {
        store_savepoint_rollback(st);
        if (topup_result_is_storage_failure(*answer)) {
            store_savepoint_rollback(st);
            return *answer;
        }
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

static topup_result order_step(store *st, void *payload, int64_t now)
{
    return order_effect(st, payload, now);
}

topup_result partner_order_apply(store *st, void *payload, int64_t now)
{
    partner_order_job *job = payload;
    topup_result r = with_nonce(st, &job->caller, now, order_step, job, &job->result);
    if (r != TOPUP_OK)
        job->result = r;
    return r;
}

/* ---- reads ---- */

static topup_result set_body(partner_read_job *job, char *text)
{
    if (!text)
        return TOPUP_E_NOMEM;
    job->body = text;
    job->body_size = strlen(text);
    return TOPUP_OK;
}

static topup_result read_order(store *st, partner_read_job *job)
{
    partner_order_row partner;
    topup_result r =
        store_partner_order_find(st, job->caller.merchant_id, job->merchant_order_id, &partner);
    order_row order;
    if (r == TOPUP_OK)
        r = store_order_get(st, partner.order_id, &order);
    if (r != TOPUP_OK)
        return r;
    char json[PARTNER_ANSWER_SIZE];
    if (partner_order_json(&order, &partner, json, sizeof json) < 0)
        return TOPUP_E_INVALID_ARGUMENT;
    return set_body(job, strdup(json));
}

static topup_result read_balance(store *st, partner_read_job *job)
{
    merchant_row m;
    topup_result r = store_merchant_get(st, job->caller.merchant_id, &m);
    if (r != TOPUP_OK)
        return r;
    json_t *value =
        json_pack("{s:s,s:s,s:I,s:I,s:I}", "merchant", m.id, "currency", m.currency, "float_minor",
                  (json_int_t)m.float_minor, "credit_limit_minor", (json_int_t)m.credit_limit_minor,
                  "available_minor", (json_int_t)(m.float_minor + m.credit_limit_minor));
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return set_body(job, text);
}

/* ---- statements ---- */

typedef struct statement_writer {
    FILE *out;
    const char *currency;
    int64_t day_start;
    int64_t opening_minor; /* filled by store_float_movements before the first movement */
    bool opened;           /* the opening line is written */
    int64_t float_minor;   /* after the lines written so far */
} statement_writer;

/* "2026-11-25T10:02:03+08:00": statements are in Beijing time. */
static void beijing_time(int64_t unix_seconds, char text[32])
{
    time_t shifted = (time_t)(unix_seconds + PARTNER_UTC_OFFSET_S);
    struct tm parts;
    gmtime_r(&shifted, &parts);
    strftime(text, 32, "%Y-%m-%dT%H:%M:%S+08:00", &parts);
}

static void write_balance_line(statement_writer *w, int64_t at, const char *kind)
{
    char time_text[32];
    beijing_time(at, time_text);
    fprintf(w->out, "%s,%s,,,,,,,,%lld,%s\r\n", time_text, kind, (long long)w->float_minor,
            w->currency);
}

static void open_statement(statement_writer *w)
{
    if (w->opened)
        return;
    w->opened = true;
    w->float_minor = w->opening_minor;
    write_balance_line(w, w->day_start, "opening");
}

static topup_result write_movement(void *context, const float_movement_row *row)
{
    statement_writer *w = context;
    open_statement(w);
    w->float_minor += row->amount_minor;
    char at[32];
    beijing_time(row->created_at, at);
    if (row->order_id)
        fprintf(w->out, "%s,%s,%lld,%s,%s,%lld,%lld,%s,%lld,%lld,%s\r\n", at, row->kind,
                (long long)row->order_id, row->merchant_order_id, row->msisdn,
                (long long)row->face_minor, (long long)row->price_minor,
                order_status_name(row->status), (long long)row->amount_minor,
                (long long)w->float_minor, w->currency);
    else
        fprintf(w->out, "%s,%s,,,,,,,%lld,%lld,%s\r\n", at, row->kind, (long long)row->amount_minor,
                (long long)w->float_minor, w->currency);
    return ferror(w->out) ? TOPUP_E_NOMEM : TOPUP_OK;
}

/* One CSV line per movement of the float that day, between its opening and closing balance. */
static topup_result read_statement(store *st, partner_read_job *job)
{
    merchant_row m;
    topup_result r = store_merchant_get(st, job->caller.merchant_id, &m);
    if (r != TOPUP_OK)
        return r;
    char *text = NULL;
    size_t size = 0;
    statement_writer w = {
        .out = open_memstream(&text, &size), .currency = m.currency, .day_start = job->day_start};
    if (!w.out)
        return TOPUP_E_NOMEM;
    fputs("time,kind,order_id,merchant_order_id,msisdn,face_minor,price_minor,status,"
          "amount_minor,float_minor,currency\r\n",
          w.out);
    int64_t end = job->day_start + SECONDS_PER_DAY;
    r = store_float_movements(st, m.float_account_id, job->day_start, end, &w.opening_minor,
                              write_movement, &w);
    if (r == TOPUP_OK) {
        open_statement(&w); /* a day without movements */
        write_balance_line(&w, end, "closing");
    }
    bool failed = fclose(w.out) != 0;
    if (r != TOPUP_OK || failed) {
        free(text);
        return r != TOPUP_OK ? r : TOPUP_E_NOMEM;
    }
    return set_body(job, text);
}

static topup_result read_effect(store *st, void *payload, int64_t now)
{
    (void)now;
    partner_read_job *job = payload;
    switch (job->kind) {
    case PARTNER_READ_ORDER:
        return read_order(st, job);
    case PARTNER_READ_BALANCE:
        return read_balance(st, job);
    case PARTNER_READ_STATEMENT:
        return read_statement(st, job);
    case PARTNER_READ_NONE:
        break;
    }
    return TOPUP_OK;
}

topup_result partner_read_apply(store *st, void *payload, int64_t now)
{
    partner_read_job *job = payload;
    topup_result r = with_nonce(st, &job->caller, now, read_effect, job, &job->result);
    if (r != TOPUP_OK)
        job->result = r;
    return r;
}
