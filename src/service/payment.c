/* The payment order steps (see payment.h). Each runs in its own savepoint: a refusal rolls
 * back only its own step, and a storage failure is returned so the writer fails the batch. */
#include "service/payment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/problem.h"
#include "sms/templates.h"

/* ---- small helpers ---- */

int64_t payment_retry_at(const payment_timing *timing, int attempts, int64_t now)
{
    int64_t wait_ms = clock_backoff(timing->retry_base_ms > 0 ? timing->retry_base_ms : 1000,
                                    timing->retry_max_ms, attempts);
    /* Whole seconds, rounded up: the worker's clock is seconds, and 0 would mean "never". */
    return now + (wait_ms + 999) / 1000;
}

/* Formats into a fixed buffer, truncating: details and reasons are for people, and a long
 * provider text must shorten them rather than refuse the change they explain. */
static void textf(char *out, size_t out_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void textf(char *out, size_t out_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(out, out_size, format, arguments);
    va_end(arguments);
}

static topup_result provider_account(store *st, const char *kind, const char *provider_name,
                                     const char *currency, account_row *account)
{
    char code[ACCOUNT_CODE_SIZE];
    textf(code, sizeof code, "%s:%s", kind, provider_name);
    return store_account_ensure(st, code, currency, kind, 0, 0, account);
}

static topup_result raise_alert(store *st, const char *kind, int64_t order_id, int64_t now,
                                const char *format, ...) __attribute__((format(printf, 5, 6)));

static topup_result raise_alert(store *st, const char *kind, int64_t order_id, int64_t now,
                                const char *format, ...)
{
    alert_row alert = {.order_id = order_id, .created_at = now};
    snprintf(alert.kind, sizeof alert.kind, "%s", kind);
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(alert.detail, sizeof alert.detail, format, arguments);
    va_end(arguments);
    /* An alert is for a person: it goes to the log as well as the table. */
    fprintf(stderr, "topup: ALERT %s order %lld: %s\n", kind, (long long)order_id, alert.detail);
    return store_alert_insert(st, &alert);
}

/* The request the order was priced with, rebuilt from the order and its payment, for the
 * credit. The operator's connector is "hosted": the only one topup has. */
static void request_from_order(const order_row *order, const payment_row *payment,
                               recharge_request *request)
{
    memset(request, 0, sizeof *request);
    memcpy(request->channel, order->channel, sizeof request->channel);
    memcpy(request->msisdn, order->msisdn, sizeof request->msisdn);
    memcpy(request->operator_id, order->operator_id, sizeof request->operator_id);
    memcpy(request->product_id, order->product_id, sizeof request->product_id);
    memcpy(request->currency, order->currency, sizeof request->currency);
    snprintf(request->connector, sizeof request->connector, "hosted");
    request->face_minor = order->face_minor;
    request->price_minor = order->price_minor;
    request->validity_days = payment->validity_days;
    memcpy(request->sms_lang, payment->sms_lang, sizeof request->sms_lang);
}

static bool payment_is_open(const payment_row *payment)
{
    return strcmp(payment->status, "creating") == 0 || strcmp(payment->status, "pending") == 0 ||
           strcmp(payment->status, "unknown") == 0;
}

/* When to ask the provider again about a pending payment. A page or QR payer may take until
 * the payment expires, so it is asked then; a payment code's customer is confirming in the app
 * at the counter right now, so it is asked soon and again with backoff, never after expiry. */
static int64_t pending_check_at(const payment_row *payment, const payment_timing *timing,
                                int64_t now)
{
    int64_t expiry = payment->expires_at > now ? payment->expires_at : now;
    if (strcmp(payment->method, pay_method_name(PAY_METHOD_CODE)) != 0)
        return expiry;
    int64_t soon = payment_retry_at(timing, payment->check_count, now);
    return soon < expiry ? soon : expiry;
}

static void set_status(payment_row *payment, const char *status, int64_t now)
{
    snprintf(payment->status, sizeof payment->status, "%s", status);
    payment->updated_at = now;
}

/* ---- opening ---- */

static void open_refuse(payment_open *open, topup_result result, const char *detail)
{
    open->result = result;
    open->http_status = topup_result_http_status(result);
    problem_format(result, open->http_status, NULL, detail, open->body, sizeof open->body);
}

/* A replayed key answers with the first request's order (its current state is read by the
 * caller); a key reused for another request is refused. */
static bool open_replay(store *st, payment_open *open)
{
    const recharge_request *request = &open->recharge;
    idempotency_row stored;
    topup_result r =
        store_idempotency_get(st, request->api_key_id, request->idempotency_key, &stored);
    if (r == TOPUP_E_NOT_FOUND)
        return false;
    if (r != TOPUP_OK) {
        open_refuse(open, r, NULL);
        return true;
    }
    if (memcmp(stored.request_hash, request->request_hash, REQUEST_HASH_SIZE) != 0) {
        open_refuse(open, TOPUP_E_IDEMPOTENCY_KEY_REUSED, NULL);
    } else {
        json_t *first = json_loads(stored.body, 0, NULL);
        const char *id = json_string_value(json_object_get(first, "id"));
        open->order_id = id ? strtoll(id, NULL, 10) : 0;
        open->replayed = true;
        open->result = stored.status < 400 && open->order_id > 0 ? TOPUP_OK : TOPUP_E_STORAGE;
        open->http_status = stored.status;
        if (stored.status >= 400)
            snprintf(open->body, sizeof open->body, "%s", stored.body);
        json_decref(first);
    }
    free(stored.body);
    return true;
}

/* topup's number for the payment: unique per database and, with the creation second in it,
 * across databases that reuse order ids (a re-created demo). Letters and digits only, which
 * every provider accepts. */
static void make_out_trade_no(int64_t order_id, int64_t now, char *out, size_t out_size)
{
    snprintf(out, out_size, "TU%lldN%lld", (long long)now, (long long)order_id);
}

static topup_result open_effect(store *st, payment_open *open, int64_t now)
{
    const recharge_request *request = &open->recharge;
    subscriber_row sub;
    topup_result r = recharge_subscriber(st, request, now, &sub);
    if (r != TOPUP_OK)
        return r;
    account_row clearing;
    if ((r = provider_account(st, "clearing", open->provider, request->currency, &clearing)))
        return r;
    order_row order;
    recharge_order_prepare(request, clearing.id, ORDER_CREATED, now, &order);
    if ((r = store_order_insert(st, &order, "waiting for the payment to be created")))
        return r;
    payment_row payment = {
        .order_id = order.id,
        .amount_minor = order.price_minor,
        .validity_days = request->validity_days,
        .expires_at = open->expires_at,
        .next_check_at = now + PAYMENT_CREATE_GRACE_S,
        .created_at = now,
        .updated_at = now,
    };
    snprintf(payment.provider, sizeof payment.provider, "%s", open->provider);
    memcpy(payment.sms_lang, request->sms_lang, sizeof payment.sms_lang);
    snprintf(payment.method, sizeof payment.method, "%s", pay_method_name(open->method));
    memcpy(payment.currency, order.currency, sizeof payment.currency);
    set_status(&payment, "creating", now);
    make_out_trade_no(order.id, now, payment.out_trade_no, sizeof payment.out_trade_no);
    if ((r = store_payment_insert(st, &payment)))
        return r;
    if (open->owner[0] && (r = store_portal_order_link(st, order.id, open->owner)))
        return r;
    if (open->counter) {
        open->counter->order_id = order.id;
        if ((r = store_counter_order_insert(st, open->counter)))
            return r;
    }
    open->order_id = order.id;
    open->payment_id = payment.id;
    return TOPUP_OK;
}

topup_result payment_open_apply(store *st, void *payload, int64_t now)
{
    payment_open *open = payload;
    bool keyed = open->recharge.idempotency_key[0] != '\0';
    open->result = TOPUP_OK;
    open->replayed = false;
    if (keyed && open_replay(st, open))
        return topup_result_is_storage_failure(open->result) && !open->replayed ? open->result
                                                                                : TOPUP_OK;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = open_effect(st, open, now);
    if (r != TOPUP_OK) {
        store_savepoint_rollback(st);
        open_refuse(open, r, NULL);
        return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
    }
    open->http_status = 201;
    if (keyed) {
        /* The stored first answer names the order; a replay shows its current state. */
        char body[64];
        snprintf(body, sizeof body, "{\"id\":\"%lld\"}", (long long)open->order_id);
        r = store_idempotency_put(st, open->recharge.api_key_id, open->recharge.idempotency_key,
                                  open->recharge.request_hash, 201, body, now);
        if (r != TOPUP_OK) {
            store_savepoint_rollback(st);
            open_refuse(open, r, NULL);
            return r;
        }
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

/* ---- money that arrived ---- */

/* Moves money that cannot be credited from clearing to refunds_payable and asks for its refund
 * (the settlement worker sends it). One refund per payment: its number is derived from the
 * payment's, so asking again can never refund twice. */
topup_result payment_hold_for_refund(store *st, const order_row *order, const payment_row *payment,
                                     int64_t amount_minor, const char *currency, const char *reason,
                                     int64_t now)
{
    account_row clearing, payable;
    topup_result r = provider_account(st, "clearing", payment->provider, currency, &clearing);
    if (r == TOPUP_OK)
        r = provider_account(st, "refunds_payable", payment->provider, currency, &payable);
    if (r != TOPUP_OK)
        return r;
    transfer_row transfer = {
        .debit_account_id = clearing.id,
        .credit_account_id = payable.id,
        .amount_minor = amount_minor,
        .order_id = order->id,
        .created_at = now,
    };
    snprintf(transfer.currency, sizeof transfer.currency, "%s", currency);
    snprintf(transfer.kind, sizeof transfer.kind, "payment_unapplied");
    if ((r = store_transfer(st, &transfer, NULL, NULL)))
        return r;
    refund_row refund = {
        .payment_id = payment->id,
        .amount_minor = amount_minor,
        .next_attempt_at = now,
        .created_at = now,
        .updated_at = now,
    };
    textf(refund.out_request_no, sizeof refund.out_request_no, "RF%s", payment->out_trade_no);
    snprintf(refund.currency, sizeof refund.currency, "%s", currency);
    textf(refund.reason, sizeof refund.reason, "%s", reason);
    snprintf(refund.status, sizeof refund.status, "pending");
    return store_refund_insert(st, &refund);
}

/* Credits a paid order, or, when the subscriber can no longer be credited, fails it and holds
 * the money for refund. *credited says which. */
static topup_result credit_or_refund(store *st, order_row *order, const payment_row *payment,
                                     int64_t now, bool *credited)
{
    recharge_request request;
    request_from_order(order, payment, &request);
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    subscriber_row sub;
    r = recharge_subscriber(st, &request, now, &sub);
    if (r == TOPUP_OK)
        r = recharge_fulfil(st, &request, &sub, order, now);
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
        *credited = true;
        return TOPUP_OK;
    }
    store_savepoint_rollback(st);
    if (topup_result_is_storage_failure(r))
        return r;
    *credited = false;
    /* The rollback undid the savepoint's transitions, so the in-memory order is re-read. */
    topup_result cause = r;
    if ((r = store_order_get(st, order->id, order)))
        return r;
    char reason[REASON_SIZE];
    textf(reason, sizeof reason, "credit refused: %s", topup_result_code(cause));
    if ((r = store_order_transition(st, order, ORDER_FAILED, reason, now)))
        return r;
    return payment_hold_for_refund(st, order, payment, payment->paid_minor, payment->currency,
                                   reason, now);
}

typedef struct paid_report {
    const char *verdict; /* credited, refunding, duplicate, mismatch */
    char detail[REASON_SIZE];
} paid_report;

/* What a second report of money for an already paid payment means. */
static topup_result already_paid(store *st, const payment_row *payment, const char *trade_no,
                                 int64_t now, paid_report *report)
{
    if (strcmp(payment->trade_no, trade_no) == 0) {
        report->verdict = "duplicate";
        textf(report->detail, sizeof report->detail, "trade %s was already handled", trade_no);
        return TOPUP_OK;
    }
    report->verdict = "mismatch";
    textf(report->detail, sizeof report->detail,
          "payment %s was paid by trade %s, now also by trade %s", payment->out_trade_no,
          payment->trade_no, trade_no);
    return raise_alert(st, "second_payment", payment->order_id, now, "%s", report->detail);
}

/* A provider reported that the payer paid amount/currency under trade_no (a verified
 * notification, a query, or a code payment's answer). Credits the order once; a repeat of the
 * same trade changes nothing. */
static topup_result settle_paid(store *st, payment_row *payment, const char *trade_no,
                                int64_t amount_minor, const char *currency, int64_t now,
                                paid_report *report)
{
    if (strcmp(payment->status, "paid") == 0)
        return already_paid(st, payment, trade_no, now, report);
    payment_row other;
    topup_result r = store_payment_by_trade_no(st, payment->provider, trade_no, &other);
    if (r == TOPUP_OK) {
        report->verdict = "mismatch";
        textf(report->detail, sizeof report->detail, "trade %s already paid payment %s", trade_no,
              other.out_trade_no);
        return raise_alert(st, "trade_reused", payment->order_id, now, "%s", report->detail);
    }
    if (r != TOPUP_E_NOT_FOUND)
        return r;

    bool order_was_open = payment_is_open(payment);
    bool mismatch =
        amount_minor != payment->amount_minor || strcmp(currency, payment->currency) != 0;
    textf(payment->trade_no, sizeof payment->trade_no, "%s", trade_no);
    payment->paid_minor = amount_minor;
    payment->paid_at = now;
    payment->next_check_at = 0;
    set_status(payment, "paid", now);
    if ((r = store_payment_update(st, payment)))
        return r;
    order_row order;
    if ((r = store_order_get(st, payment->order_id, &order)))
        return r;
    char reason[REASON_SIZE];
    textf(reason, sizeof reason, "paid at %s, trade %s", payment->provider, trade_no);
    if (order_was_open && order.status == ORDER_CREATED &&
        (r = store_order_transition(st, &order, ORDER_AWAITING_PAYMENT, "payment created", now)))
        return r;
    if (mismatch) {
        /* The payer paid, but not what the order costs: nothing is credited, a person is told,
         * and what was paid goes back, so no money is kept without a credit. */
        report->verdict = "mismatch";
        textf(report->detail, sizeof report->detail,
              "paid %lld %s for %s but the order's price is %lld %s; nothing credited, refunding",
              (long long)amount_minor, currency, payment->out_trade_no,
              (long long)payment->amount_minor, payment->currency);
        if ((r = raise_alert(st, "amount_mismatch", payment->order_id, now, "%s", report->detail)))
            return r;
        if (order.status == ORDER_AWAITING_PAYMENT &&
            (r = store_order_transition(st, &order, ORDER_CLOSED, "paid the wrong amount", now)))
            return r;
        return payment_hold_for_refund(st, &order, payment, amount_minor, currency,
                                       "paid an amount other than the order's price", now);
    }
    if (order.status != ORDER_AWAITING_PAYMENT) {
        /* The order closed before the money came: the payer gets it back. */
        report->verdict = "refunding";
        textf(report->detail, sizeof report->detail, "paid after order %lld was %s; refunding",
              (long long)order.id, order_status_name(order.status));
        return payment_hold_for_refund(st, &order, payment, amount_minor, currency,
                                       "paid after the order closed", now);
    }
    if ((r = store_order_transition(st, &order, ORDER_PAID, reason, now)))
        return r;
    bool credited = false;
    if ((r = credit_or_refund(st, &order, payment, now, &credited)))
        return r;
    report->verdict = credited ? "credited" : "refunding";
    textf(report->detail, sizeof report->detail, "%s",
          credited ? reason : "the credit was refused; refunding");
    return TOPUP_OK;
}

/* The payment closed unpaid: so does its order. */
static topup_result settle_closed(store *st, payment_row *payment, const char *why, int64_t now)
{
    payment->next_check_at = 0;
    set_status(payment, "closed", now);
    topup_result r = store_payment_update(st, payment);
    order_row order;
    if (r == TOPUP_OK)
        r = store_order_get(st, payment->order_id, &order);
    if (r == TOPUP_OK && (order.status == ORDER_CREATED || order.status == ORDER_AWAITING_PAYMENT))
        r = store_order_transition(st, &order, ORDER_CLOSED, why, now);
    return r;
}

/* ---- the answer to create ---- */

static topup_result create_effect(store *st, payment_create_outcome *outcome, int64_t now)
{
    payment_row payment;
    topup_result r = store_payment_get(st, outcome->payment_id, &payment);
    if (r != TOPUP_OK)
        return r;
    /* The settlement worker may have settled it meanwhile (a very slow provider); its finding,
     * from a query, is at least as good as this answer. */
    if (strcmp(payment.status, "creating") != 0)
        return TOPUP_OK;
    if (outcome->status == GATEWAY_UNKNOWN) {
        payment.check_count = 1;
        payment.next_check_at = payment_retry_at(&outcome->timing, 0, now);
        set_status(&payment, "unknown", now);
        return store_payment_update(st, &payment);
    }
    if (outcome->status == GATEWAY_REFUSED) {
        set_status(&payment, "failed", now);
        payment.next_check_at = 0;
        if ((r = store_payment_update(st, &payment)))
            return r;
        order_row order;
        char reason[REASON_SIZE];
        textf(reason, sizeof reason, "%s refused the payment: %s", payment.provider,
              outcome->detail);
        r = store_order_get(st, payment.order_id, &order);
        return r ? r : store_order_transition(st, &order, ORDER_CLOSED, reason, now);
    }
    const payment_created *created = &outcome->created;
    textf(payment.pay_url, sizeof payment.pay_url, "%s", created->pay_url);
    textf(payment.provider_ref, sizeof payment.provider_ref, "%s", created->provider_ref);
    if (created->state == TRADE_PAID) {
        paid_report report;
        return settle_paid(st, &payment, created->trade_no, payment.amount_minor, payment.currency,
                           now, &report);
    }
    payment.next_check_at = pending_check_at(&payment, &outcome->timing, now);
    set_status(&payment, "pending", now);
    if ((r = store_payment_update(st, &payment)))
        return r;
    order_row order;
    char reason[REASON_SIZE];
    textf(reason, sizeof reason, "payment created at %s", payment.provider);
    r = store_order_get(st, payment.order_id, &order);
    return r ? r : store_order_transition(st, &order, ORDER_AWAITING_PAYMENT, reason, now);
}

topup_result payment_create_apply(store *st, void *payload, int64_t now)
{
    payment_create_outcome *outcome = payload;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = create_effect(st, outcome, now);
    /* A refusal is rolled back and logged: the payment stays "creating" and the settlement
     * worker settles it by query. A storage failure fails the batch. */
    if (r != TOPUP_OK) {
        fprintf(stderr, "topup: payment %lld: recording the create answer failed: %s\n",
                (long long)outcome->payment_id, topup_result_code(r));
        store_savepoint_rollback(st);
        return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

/* ---- notifications ---- */

static void set_verdict(payment_notification *n, bool accepted, const char *verdict,
                        const char *detail)
{
    n->accepted = accepted;
    snprintf(n->verdict, sizeof n->verdict, "%s", verdict);
    textf(n->detail, sizeof n->detail, "%s", detail);
}

/* Decides and applies what a genuine notification for us means; *payment_id is the payment it
 * concerned (0 for none). */
static topup_result notification_effect(store *st, payment_notification *n, int64_t now,
                                        int64_t *payment_id)
{
    const payment_notice *notice = &n->notice;
    payment_row payment;
    topup_result r = store_payment_by_out_trade_no(st, notice->out_trade_no, &payment);
    if (r == TOPUP_E_NOT_FOUND || (r == TOPUP_OK && strcmp(payment.provider, n->provider) != 0)) {
        char detail[REASON_SIZE];
        textf(detail, sizeof detail, "no %s payment %s", n->provider, notice->out_trade_no);
        set_verdict(n, true, "unknown_trade", detail);
        return raise_alert(st, "unknown_trade", 0, now, "%s", detail);
    }
    if (r != TOPUP_OK)
        return r;
    *payment_id = payment.id;
    if (notice->kind == NOTICE_OTHER) {
        set_verdict(n, true, "ignored", "the notification reports neither a payment nor a close");
        return TOPUP_OK;
    }
    if (notice->kind == NOTICE_CLOSED) {
        if (!payment_is_open(&payment)) {
            set_verdict(n, true, "ignored", "the payment was already settled");
            return TOPUP_OK;
        }
        set_verdict(n, true, "closed", "the provider closed the trade unpaid");
        return settle_closed(st, &payment, "the provider closed the trade unpaid", now);
    }
    paid_report report;
    r = settle_paid(st, &payment, notice->trade_no, notice->amount_minor, notice->currency, now,
                    &report);
    if (r == TOPUP_OK)
        set_verdict(n, true, report.verdict, report.detail);
    return r;
}

static topup_result record_notification(store *st, const payment_notification *n,
                                        int64_t payment_id, int64_t now)
{
    notification_row row = {
        .received_at = now,
        .headers = n->headers,
        .body = n->body,
        .body_size = n->body_size,
        .genuine = n->genuine,
        .payment_id = payment_id,
    };
    snprintf(row.provider, sizeof row.provider, "%s", n->provider);
    snprintf(row.verdict, sizeof row.verdict, "%s", n->verdict);
    textf(row.detail, sizeof row.detail, "%s", n->detail);
    if (n->genuine) {
        snprintf(row.out_trade_no, sizeof row.out_trade_no, "%s", n->notice.out_trade_no);
        snprintf(row.trade_no, sizeof row.trade_no, "%s", n->notice.trade_no);
    }
    return store_notification_insert(st, &row);
}

topup_result payment_notification_apply(store *st, void *payload, int64_t now)
{
    payment_notification *n = payload;
    int64_t payment_id = 0;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    if (!n->genuine || !n->for_us) {
        /* Refused: kept for audit, nothing else changes. */
        set_verdict(n, false, "refused", n->reason);
    } else if ((r = notification_effect(st, n, now, &payment_id)) != TOPUP_OK) {
        store_savepoint_rollback(st);
        if (topup_result_is_storage_failure(r))
            return r;
        /* Not applied: the provider will resend, and the raw notification is still kept. */
        set_verdict(n, false, "error", topup_result_code(r));
        payment_id = 0;
        if ((r = store_savepoint(st)) != TOPUP_OK)
            return r;
    }
    r = record_notification(st, n, payment_id, now);
    if (r != TOPUP_OK) {
        store_savepoint_rollback(st);
        return r;
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

/* ---- settlement ---- */

static topup_result retry_payment(store *st, payment_row *payment, const payment_timing *timing,
                                  int64_t now)
{
    payment->next_check_at = payment_retry_at(timing, payment->check_count, now);
    payment->check_count++;
    payment->updated_at = now;
    return store_payment_update(st, payment);
}

static topup_result settle_query(store *st, payment_settle *s, int64_t now)
{
    payment_row payment;
    topup_result r = store_payment_get(st, s->id, &payment);
    if (r != TOPUP_OK || !payment_is_open(&payment))
        return r;
    if (s->status != GATEWAY_OK)
        return retry_payment(st, &payment, &s->timing, now);
    const trade_info *trade = &s->trade;
    if (trade->state == TRADE_PAID) {
        paid_report report;
        return settle_paid(st, &payment, trade->trade_no, trade->amount_minor, trade->currency, now,
                           &report);
    }
    /* Alipay creates a page or wap trade only when the payer opens the page, so "no such trade"
     * before the payment expires means "not paid yet", not "closed". */
    bool closed = trade->state == TRADE_CLOSED ||
                  (trade->state == TRADE_NOT_FOUND && now >= payment.expires_at);
    if (closed)
        return settle_closed(st, &payment,
                             trade->state == TRADE_CLOSED ? "the provider closed the trade"
                                                          : "the provider has no such trade",
                             now);
    /* Pending: the payer may still pay until it expires (the worker then closes it). */
    bool was_unsettled = strcmp(payment.status, "pending") != 0;
    set_status(&payment, "pending", now);
    /* A payment code still pending is asked again with backoff: the count grows the wait. */
    bool code = strcmp(payment.method, pay_method_name(PAY_METHOD_CODE)) == 0;
    payment.check_count = was_unsettled || !code ? 0 : payment.check_count + 1;
    payment.next_check_at = pending_check_at(&payment, &s->timing, now);
    if ((r = store_payment_update(st, &payment)) || !was_unsettled)
        return r;
    order_row order;
    r = store_order_get(st, payment.order_id, &order);
    if (r == TOPUP_OK && order.status == ORDER_CREATED)
        r = store_order_transition(st, &order, ORDER_AWAITING_PAYMENT, "payment found pending",
                                   now);
    return r;
}

static topup_result settle_close(store *st, payment_settle *s, int64_t now)
{
    payment_row payment;
    topup_result r = store_payment_get(st, s->id, &payment);
    if (r != TOPUP_OK || !payment_is_open(&payment))
        return r;
    if (s->status == GATEWAY_OK)
        return settle_closed(st, &payment, "unpaid when it expired; closed at the provider", now);
    /* Refused (it was paid meanwhile) or unanswered: ask again, starting with a query. */
    return retry_payment(st, &payment, &s->timing, now);
}

/* The payer is told the money went back, in the transaction that records the refund. */
static topup_result queue_refund_sms(store *st, const order_row *order, const payment_row *payment,
                                     const refund_row *refund, int64_t now)
{
    outbox_row message = {.order_id = order->id, .created_at = now};
    snprintf(message.event, sizeof message.event, "recharge_refunded");
    memcpy(message.msisdn, order->msisdn, sizeof message.msisdn);
    memcpy(message.lang, payment->sms_lang, sizeof payment->sms_lang);
    sms_recharge_facts(order->msisdn, refund->amount_minor, refund->currency, 0, 0, order->id, now,
                       message.facts, sizeof message.facts);
    return store_outbox_insert(st, &message);
}

static topup_result refund_done(store *st, refund_row *refund, int64_t now)
{
    payment_row payment;
    topup_result r = store_payment_get(st, refund->payment_id, &payment);
    account_row clearing, payable;
    if (r == TOPUP_OK)
        r = provider_account(st, "clearing", payment.provider, refund->currency, &clearing);
    if (r == TOPUP_OK)
        r = provider_account(st, "refunds_payable", payment.provider, refund->currency, &payable);
    if (r != TOPUP_OK)
        return r;
    transfer_row transfer = {
        .debit_account_id = payable.id,
        .credit_account_id = clearing.id,
        .amount_minor = refund->amount_minor,
        .order_id = payment.order_id,
        .created_at = now,
    };
    memcpy(transfer.currency, refund->currency, sizeof transfer.currency);
    snprintf(transfer.kind, sizeof transfer.kind, "refund");
    if ((r = store_transfer(st, &transfer, NULL, NULL)))
        return r;
    order_row order;
    if ((r = store_order_get(st, payment.order_id, &order)))
        return r;
    if (order.status == ORDER_FAILED &&
        (r = store_order_transition(st, &order, ORDER_REFUNDED, "refunded to the payer", now)))
        return r;
    return payment.sms_lang[0] ? queue_refund_sms(st, &order, &payment, refund, now) : TOPUP_OK;
}

static topup_result settle_refund(store *st, payment_settle *s, int64_t now)
{
    refund_row refund;
    topup_result r = store_refund_get(st, s->id, &refund);
    if (r != TOPUP_OK || strcmp(refund.status, "succeeded") == 0 ||
        strcmp(refund.status, "failed") == 0)
        return r;
    refund.updated_at = now;
    if (s->status == GATEWAY_UNKNOWN ||
        (s->status == GATEWAY_OK && s->refund.state == REFUND_PENDING)) {
        /* The provider is working on it, or did not answer: ask again with the same number. */
        snprintf(refund.status, sizeof refund.status, "%s",
                 s->status == GATEWAY_OK ? "pending" : "unknown");
        refund.next_attempt_at = payment_retry_at(&s->timing, refund.attempt_count, now);
        refund.attempt_count++;
        return store_refund_update(st, &refund);
    }
    refund.next_attempt_at = 0;
    refund.attempt_count++;
    if (s->status == GATEWAY_OK && s->refund.state == REFUND_SUCCEEDED) {
        snprintf(refund.status, sizeof refund.status, "succeeded");
        textf(refund.refund_id, sizeof refund.refund_id, "%s", s->refund.refund_id);
        r = store_refund_update(st, &refund);
        return r ? r : refund_done(st, &refund, now);
    }
    snprintf(refund.status, sizeof refund.status, "failed");
    if ((r = store_refund_update(st, &refund)))
        return r;
    payment_row payment;
    r = store_payment_get(st, refund.payment_id, &payment);
    return r ? r
             : raise_alert(st, "refund_failed", payment.order_id, now,
                           "refund %s of %lld %s was refused: %s", refund.out_request_no,
                           (long long)refund.amount_minor, refund.currency, s->detail);
}

topup_result payment_settle_apply(store *st, void *payload, int64_t now)
{
    payment_settle *s = payload;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = s->kind == SETTLE_QUERY   ? settle_query(st, s, now)
        : s->kind == SETTLE_CLOSE ? settle_close(st, s, now)
                                  : settle_refund(st, s, now);
    if (r != TOPUP_OK) {
        fprintf(stderr, "topup: settling %s %lld failed: %s\n",
                s->kind == SETTLE_REFUND ? "refund" : "payment", (long long)s->id,
                topup_result_code(r));
        store_savepoint_rollback(st);
        return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

/* ---- reading ---- */

static json_t *time_or_null(int64_t seconds)
{
    if (seconds <= 0)
        return json_null();
    char text[RFC3339_SIZE];
    clock_format_rfc3339(seconds, text);
    return json_string(text);
}

json_t *payment_order_json(const order_row *order, const payment_row *payment,
                           const refund_row *refund)
{
    char body[RECHARGE_RESPONSE_SIZE];
    if (recharge_order_json(order, body, sizeof body) < 0)
        return NULL;
    json_t *object = json_loads(body, 0, NULL);
    json_t *pay = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:o}", "provider", payment->provider, "method",
        payment->method, "out_trade_no", payment->out_trade_no, "status", payment->status,
        "amount_minor", (json_int_t)payment->amount_minor, "currency", payment->currency,
        "expires_at", time_or_null(payment->expires_at), "paid_at", time_or_null(payment->paid_at));
    if (!object || !pay) {
        json_decref(object);
        json_decref(pay);
        return NULL;
    }
    json_object_set_new(pay, "pay_url",
                        payment->pay_url[0] ? json_string(payment->pay_url) : json_null());
    json_object_set_new(pay, "trade_no",
                        payment->trade_no[0] ? json_string(payment->trade_no) : json_null());
    if (refund)
        json_object_set_new(pay, "refund",
                            json_pack("{s:s,s:s,s:I}", "out_request_no", refund->out_request_no,
                                      "status", refund->status, "amount_minor",
                                      (json_int_t)refund->amount_minor));
    json_object_set_new(object, "payment", pay);
    return object;
}
