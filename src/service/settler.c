#include "service/settler.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "service/payment.h"

#define DUE_BATCH 16 /* payments (and refunds) taken per pass */

struct settler {
    writer *writer;
    const payment_gateways *gateways;
    store *reader; /* used only by the settler's thread (or settler_run_once's caller) */
    payment_timing timing;
    int64_t interval_ms;

    pthread_t thread;
    pthread_mutex_t lock; /* guards stopping */
    pthread_cond_t wake;
    bool stopping;
};

/* Commits one settlement through the writer and waits for it. */
static void submit(settler *s, payment_settle *settle)
{
    writer_job job = {.apply = payment_settle_apply, .payload = settle};
    settle->timing = s->timing;
    topup_result r = writer_submit_wait(s->writer, &job);
    if (r != TOPUP_OK || job.batch_result != TOPUP_OK)
        fprintf(stderr, "topup: settling %lld could not be committed (%s); will retry\n",
                (long long)settle->id, topup_result_code(r != TOPUP_OK ? r : job.batch_result));
}

/* Asks the provider about a payment whose outcome is not settled; closes it when it is still
 * unpaid after it expired. */
static void settle_payment(settler *s, const payment_row *payment, int64_t now)
{
    const provider_ops *ops;
    provider *p = payment_gateways_find(s->gateways, payment->provider, &ops, NULL);
    payment_settle settle = {.kind = SETTLE_QUERY, .id = payment->id, .status = GATEWAY_UNKNOWN};
    if (!p) {
        snprintf(settle.detail, sizeof settle.detail, "provider %s is not configured",
                 payment->provider);
        submit(s, &settle);
        return;
    }
    settle.status = ops->query(p, payment->out_trade_no, payment->provider_ref, &settle.trade,
                               settle.detail, sizeof settle.detail);
    /* A pending trade is closed when it expired, and also when its creation went unanswered:
     * then the payer was never given a way to pay (no pay_url), so nobody will pay it and the
     * order must close for the payer to start again. A payment code is the exception: pending
     * there means the customer is confirming in the app. */
    bool unreachable = payment->pay_url[0] == '\0' && strcmp(payment->method, "code") != 0;
    bool expired_unpaid = settle.status == GATEWAY_OK && settle.trade.state == TRADE_PENDING &&
                          (now >= payment->expires_at || unreachable);
    if (expired_unpaid) {
        settle.kind = SETTLE_CLOSE;
        settle.status = ops->close(p, payment->out_trade_no, payment->provider_ref, settle.detail,
                                   sizeof settle.detail);
    }
    submit(s, &settle);
}

static void settle_refund(settler *s, const refund_row *refund)
{
    payment_settle settle = {.kind = SETTLE_REFUND, .id = refund->id, .status = GATEWAY_UNKNOWN};
    payment_row payment;
    const provider_ops *ops = NULL;
    provider *p = NULL;
    if (store_payment_get(s->reader, refund->payment_id, &payment) == TOPUP_OK)
        p = payment_gateways_find(s->gateways, payment.provider, &ops, NULL);
    if (!p) {
        snprintf(settle.detail, sizeof settle.detail, "the refund's provider is not configured");
        submit(s, &settle);
        return;
    }
    refund_request request = {
        .refund_minor = refund->amount_minor,
        .total_minor = payment.paid_minor,
    };
    memcpy(request.out_trade_no, payment.out_trade_no, sizeof request.out_trade_no - 1);
    memcpy(request.trade_no, payment.trade_no, sizeof request.trade_no);
    memcpy(request.out_request_no, refund->out_request_no, sizeof request.out_request_no - 1);
    memcpy(request.currency, refund->currency, sizeof request.currency);
    snprintf(request.reason, sizeof request.reason, "%.*s", (int)sizeof request.reason - 1,
             refund->reason);
    settle.status = ops->refund(p, &request, &settle.refund,
                                settle.detail, sizeof settle.detail);
    submit(s, &settle);
}

void settler_run_once(settler *s)
{
    int64_t now = clock_now_seconds();
    payment_row payments[DUE_BATCH];
    size_t count = 0;
    if (store_payments_due(s->reader, now, payments, DUE_BATCH, &count) == TOPUP_OK)
        for (size_t i = 0; i < count; i++)
            settle_payment(s, &payments[i], now);
    refund_row refunds[DUE_BATCH];
    if (store_refunds_due(s->reader, now, refunds, DUE_BATCH, &count) == TOPUP_OK)
        for (size_t i = 0; i < count; i++)
            settle_refund(s, &refunds[i]);
}

static void *settler_main(void *argument)
{
    settler *s = argument;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until = clock_deadline_after_ms(s->interval_ms);
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->lock);
        settler_run_once(s);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

topup_result settler_start(const char *db_path, writer *w, const payment_gateways *gateways,
                           settler **out)
{
    *out = NULL;
    settler *s = calloc(1, sizeof *s);
    if (!s)
        return TOPUP_E_NOMEM;
    s->writer = w;
    s->gateways = gateways;
    s->timing.retry_base_ms = gateways->settings.retry_base_ms;
    s->timing.retry_max_ms = gateways->settings.retry_max_ms;
    s->interval_ms = gateways->settings.settle_interval_ms;
    topup_result r = store_open(db_path, STORE_READ_ONLY, &s->reader);
    if (r != TOPUP_OK) {
        free(s);
        return r;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, settler_main, s) != 0) {
        store_close(s->reader);
        free(s);
        return TOPUP_E_NOMEM;
    }
    *out = s;
    return TOPUP_OK;
}

void settler_stop(settler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    store_close(s->reader);
    free(s);
}
