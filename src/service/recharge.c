/* The recharge write path. It runs on the single writer thread (or the CLI), inside a transaction
 * the caller opened, so it must only do database work: everything that can be resolved without
 * the database was resolved by the caller into the recharge_request. */
#include "service/recharge.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/problem.h"
#include "sms/templates.h"

#define SECONDS_PER_DAY 86400

void recharge_request_set_quote(recharge_request *request, const char *msisdn,
                                const operator_info *op, const product_quote *quote)
{
    snprintf(request->msisdn, sizeof request->msisdn, "%s", msisdn);
    snprintf(request->operator_id, sizeof request->operator_id, "%s", op->id);
    snprintf(request->connector, sizeof request->connector, "%s", op->connector);
    snprintf(request->product_id, sizeof request->product_id, "%s", quote->product->id);
    snprintf(request->currency, sizeof request->currency, "%s", op->currency);
    request->face_minor = quote->face_minor;
    request->price_minor = quote->price_minor;
    request->validity_days = quote->product->validity_days;
}

int recharge_order_json(const order_row *order, char *buffer, size_t buffer_size)
{
    char created_at[RFC3339_SIZE], valid_until[RFC3339_SIZE] = "";
    clock_format_rfc3339(order->created_at, created_at);
    if (order->valid_until)
        clock_format_rfc3339(order->valid_until, valid_until);
    char balance_after[24] = "null";
    if (order->has_balance_after)
        snprintf(balance_after, sizeof balance_after, "%lld",
                 (long long)order->balance_after_minor);
    char valid_until_json[RFC3339_SIZE + 2] = "null";
    if (order->valid_until)
        snprintf(valid_until_json, sizeof valid_until_json, "\"%s\"", valid_until);
    /* Every string here is an id, a number or a status we validated, so none needs escaping. */
    int length = snprintf(buffer, buffer_size,
                          "{\"id\":\"%lld\",\"status\":\"%s\",\"channel\":\"%s\",\"msisdn\":\"%s\","
                          "\"operator\":\"%s\",\"product\":\"%s\",\"amount_minor\":%lld,"
                          "\"price_minor\":%lld,\"currency\":\"%s\",\"balance_after_minor\":%s,"
                          "\"valid_until\":%s,\"created_at\":\"%s\"}",
                          (long long)order->id, order_status_name(order->status), order->channel,
                          order->msisdn, order->operator_id, order->product_id,
                          (long long)order->face_minor, (long long)order->price_minor,
                          order->currency, balance_after, valid_until_json, created_at);
    return length < (int)buffer_size ? length : -1;
}

/* The subscriber to credit: an existing one that may be recharged, or a new one when the number
 * belongs to a hosted operator (topup keeps that operator's balances). */
topup_result recharge_subscriber(store *st, const recharge_request *request, int64_t now,
                                 subscriber_row *sub)
{
    topup_result r = store_subscriber_get(st, request->msisdn, sub);
    if (r == TOPUP_OK) {
        /* A suspended number is recharged: topping up is how a number barred for a negative
         * balance comes back. Only a closed number is gone. */
        if (strcmp(sub->status, "closed") == 0)
            return TOPUP_E_SUBSCRIBER_CLOSED;
        if (strcmp(sub->currency, request->currency) != 0)
            return TOPUP_E_CURRENCY_MISMATCH;
        return TOPUP_OK;
    }
    if (r != TOPUP_E_NOT_FOUND)
        return r;
    if (strcmp(request->connector, "hosted") != 0)
        return TOPUP_E_SUBSCRIBER_UNKNOWN;

    char code[ACCOUNT_CODE_SIZE];
    snprintf(code, sizeof code, "subscriber:%s", request->msisdn);
    account_row account;
    r = store_account_ensure(st, code, request->currency, "subscriber", ACCOUNT_NO_OVERDRAFT, 0,
                             &account);
    if (r != TOPUP_OK)
        return r;
    memset(sub, 0, sizeof *sub);
    snprintf(sub->msisdn, sizeof sub->msisdn, "%s", request->msisdn);
    snprintf(sub->operator_id, sizeof sub->operator_id, "%s", request->operator_id);
    snprintf(sub->status, sizeof sub->status, "active");
    snprintf(sub->currency, sizeof sub->currency, "%s", request->currency);
    sub->account_id = account.id;
    sub->created_at = now;
    return store_subscriber_insert(st, sub);
}

/* A transfer of the order, dated `at`. */
static topup_result move_at(store *st, int64_t debit_id, int64_t credit_id, int64_t amount_minor,
                            const order_row *order, const char *kind, int64_t at,
                            int64_t *credit_after)
{
    transfer_row transfer = {
        .debit_account_id = debit_id,
        .credit_account_id = credit_id,
        .amount_minor = amount_minor,
        .order_id = order->id,
        .created_at = at,
    };
    snprintf(transfer.currency, sizeof transfer.currency, "%s", order->currency);
    snprintf(transfer.kind, sizeof transfer.kind, "%s", kind);
    return store_transfer(st, &transfer, NULL, credit_after);
}

/* A transfer of the order's payment, dated when the order was created. */
static topup_result move(store *st, int64_t debit_id, int64_t credit_id, int64_t amount_minor,
                         const order_row *order, const char *kind, int64_t *credit_after)
{
    return move_at(st, debit_id, credit_id, amount_minor, order, kind, order->created_at,
                   credit_after);
}

static topup_result house_account(store *st, const char *code, const char *currency, int64_t *id)
{
    account_row account;
    topup_result r = store_account_ensure(st, code, currency, code, 0, 0, &account);
    *id = account.id;
    return r;
}

/* The transfers of a paid recharge. The subscriber always receives the face value and the funding
 * account always pays the price; a discount is the promotion budget's expense and a surcharge is
 * fee income, so every recharge balances on its own. */
topup_result recharge_move_money(store *st, const order_row *order, int64_t subscriber_account_id,
                                 int64_t *balance_after)
{
    int64_t face = order->face_minor, price = order->price_minor;
    int64_t funded = price < face ? price : face;
    topup_result r = move(st, order->funding_account_id, subscriber_account_id, funded, order,
                          "recharge", balance_after);
    if (r != TOPUP_OK || price == face)
        return r;
    int64_t house_id;
    if (price < face) {
        r = house_account(st, "promotion_expense", order->currency, &house_id);
        return r ? r
                 : move(st, house_id, subscriber_account_id, face - price, order, "discount",
                        balance_after);
    }
    r = house_account(st, "fee_income", order->currency, &house_id);
    return r ? r : move(st, order->funding_account_id, house_id, price - face, order, "fee", NULL);
}

/* Dated when the order last changed (its failure or reversal), so a statement shows it on that
 * day. */
topup_result recharge_return_money(store *st, const order_row *order, int64_t credited_account_id,
                                   int64_t paying_account_id, const char *kind)
{
    int64_t face = order->face_minor, price = order->price_minor, at = order->updated_at;
    int64_t funded = price < face ? price : face;
    topup_result r =
        move_at(st, credited_account_id, paying_account_id, funded, order, kind, at, NULL);
    if (r != TOPUP_OK || price == face)
        return r;
    int64_t house_id;
    if (price < face) {
        r = house_account(st, "promotion_expense", order->currency, &house_id);
        return r ? r
                 : move_at(st, credited_account_id, house_id, face - price, order, kind, at, NULL);
    }
    r = house_account(st, "fee_income", order->currency, &house_id);
    return r ? r : move_at(st, house_id, paying_account_id, price - face, order, kind, at, NULL);
}

/* New validity: the days are added to what is left, or to today when it had run out. */
static topup_result extend_validity(int64_t valid_until, int64_t now, int validity_days,
                                    int64_t *extended)
{
    int64_t base = valid_until > now ? valid_until : now;
    topup_result r = money_add(base, (int64_t)validity_days * SECONDS_PER_DAY, extended);
    /* Validity saturates at the last date the API can write rather than refusing a credit. */
    if (r == TOPUP_E_AMOUNT_OVERFLOW || (r == TOPUP_OK && *extended > CLOCK_SECONDS_MAX)) {
        *extended = CLOCK_SECONDS_MAX;
        return TOPUP_OK;
    }
    return r;
}

/* The subscriber's SMS about the order, in the transaction of the change it reports. */
static topup_result queue_sms(store *st, const char *event, const recharge_request *request,
                              const order_row *order, int64_t now)
{
    outbox_row message = {.order_id = order->id, .created_at = now};
    snprintf(message.event, sizeof message.event, "%s", event);
    memcpy(message.msisdn, order->msisdn, sizeof message.msisdn);
    snprintf(message.lang, sizeof message.lang, "%s", request->sms_lang);
    sms_recharge_facts(order->msisdn, order->face_minor, order->currency,
                       order->balance_after_minor, order->valid_until, order->id, now,
                       message.facts, sizeof message.facts);
    return store_outbox_insert(st, &message);
}

topup_result recharge_fulfil(store *st, const recharge_request *request, const subscriber_row *sub,
                             order_row *order, int64_t now)
{
    topup_result r = store_order_transition(st, order, ORDER_SUBMITTED, "hosted operator", now);
    if (r != TOPUP_OK)
        return r;
    if ((r = recharge_move_money(st, order, sub->account_id, &order->balance_after_minor)))
        return r;
    if ((r = extend_validity(sub->valid_until, now, request->validity_days, &order->valid_until)))
        return r;
    if ((r = store_subscriber_update(st, sub->msisdn, sub->status, order->valid_until)))
        return r;
    order->has_balance_after = true;
    if ((r = store_order_transition(st, order, ORDER_SUCCEEDED, "credited", now)))
        return r;
    return request->sms_lang[0] ? queue_sms(st, "recharge_succeeded", request, order, now)
                                : TOPUP_OK;
}

void recharge_order_prepare(const recharge_request *request, int64_t funding_account_id,
                            order_status status, int64_t now, order_row *order)
{
    memset(order, 0, sizeof *order);
    snprintf(order->channel, sizeof order->channel, "%s", request->channel);
    order->api_key_id = request->api_key_id;
    memcpy(order->msisdn, request->msisdn, sizeof order->msisdn);
    memcpy(order->operator_id, request->operator_id, sizeof order->operator_id);
    memcpy(order->product_id, request->product_id, sizeof order->product_id);
    memcpy(order->currency, request->currency, sizeof order->currency);
    order->face_minor = request->face_minor;
    order->price_minor = request->price_minor;
    order->funding_account_id = funding_account_id;
    order->status = status;
    order->created_at = order->updated_at = now;
}

static topup_result apply_effect(store *st, const recharge_request *request, int64_t now,
                                 order_row *order)
{
    subscriber_row sub;
    topup_result r = recharge_subscriber(st, request, now, &sub);
    if (r != TOPUP_OK)
        return r;
    account_row funding;
    r = store_account_ensure(st, request->funding_account, request->currency, "clearing", 0, 0,
                             &funding);
    if (r != TOPUP_OK)
        return r;
    recharge_order_prepare(request, funding.id, ORDER_PAID, now, order);
    if ((r = store_order_insert(st, order, "paid on creation from the funding account")))
        return r;
    return recharge_fulfil(st, request, &sub, order, now);
}

void recharge_answer_error(recharge_response *response, topup_result result)
{
    response->result = result;
    response->http_status = topup_result_http_status(result);
    problem_format(result, response->http_status, NULL, NULL, response->body,
                   sizeof response->body);
}

bool recharge_replay(store *st, const recharge_request *request, recharge_response *response)
{
    memset(response, 0, sizeof *response);
    idempotency_row stored;
    topup_result r =
        store_idempotency_get(st, request->api_key_id, request->idempotency_key, &stored);
    if (r == TOPUP_E_NOT_FOUND)
        return false;
    if (r != TOPUP_OK) {
        recharge_answer_error(response, r);
        return true;
    }
    if (memcmp(stored.request_hash, request->request_hash, REQUEST_HASH_SIZE) != 0) {
        recharge_answer_error(response, TOPUP_E_IDEMPOTENCY_KEY_REUSED);
    } else {
        response->result = stored.status < 400 ? TOPUP_OK : TOPUP_E_INVALID_ARGUMENT;
        response->http_status = stored.status;
        response->replayed = true;
        snprintf(response->body, sizeof response->body, "%s", stored.body);
    }
    free(stored.body);
    return true;
}

/* Refusals that depend on the ledger are stored under the key so that a retry sees the same
 * answer even after the ledger moved on; server failures are not, so a retry can succeed. */
static bool refusal_is_stored(topup_result result)
{
    int status = topup_result_http_status(result);
    return status >= 400 && status < 500;
}

void recharge_apply(store *st, const recharge_request *request, int64_t now,
                    recharge_response *response)
{
    memset(response, 0, sizeof *response);
    bool keyed = request->idempotency_key[0] != '\0';
    if (keyed && recharge_replay(st, request, response))
        return;

    topup_result r = store_savepoint(st);
    if (r == TOPUP_OK)
        r = apply_effect(st, request, now, &response->order);
    if (r == TOPUP_OK) {
        response->result = TOPUP_OK;
        response->http_status = 201;
        int length = recharge_order_json(&response->order, response->body, sizeof response->body);
        assert(length > 0); /* the buffer is sized for the longest order */
        (void)length;
    } else {
        store_savepoint_rollback(st);
        recharge_answer_error(response, r);
        if (!keyed || !refusal_is_stored(r))
            return;
        if ((r = store_savepoint(st)) != TOPUP_OK) {
            recharge_answer_error(response, r);
            return;
        }
    }
    if (keyed) {
        r = store_idempotency_put(st, request->api_key_id, request->idempotency_key,
                                  request->request_hash, response->http_status, response->body,
                                  now);
        if (r != TOPUP_OK) {
            store_savepoint_rollback(st);
            recharge_answer_error(response, r);
            return;
        }
    }
    store_savepoint_release(st);
}
