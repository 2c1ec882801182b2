#include "service/forwarder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "service/partner.h"

#define DUE_BATCH   16  /* jobs taken per pass */
#define INTERVAL_MS 200 /* how often due jobs are looked for: a new order waits at most this */

/* ---- the writer step ---- */

static void job_status(connector_job_row *job, const char *status, int64_t next_attempt_at,
                       const char *detail, int64_t now)
{
    snprintf(job->status, sizeof job->status, "%s", status);
    job->next_attempt_at = next_attempt_at;
    snprintf(job->last_error, sizeof job->last_error, "%s", detail);
    job->updated_at = now;
}

/* An order the operator has (or may have) received is submitted. */
static topup_result mark_submitted(store *st, order_row *order, int64_t now)
{
    return order->status == ORDER_PAID
               ? store_order_transition(st, order, ORDER_SUBMITTED, "sent to the operator", now)
               : TOPUP_OK;
}

static topup_result finish_succeeded(store *st, order_row *order, const char *detail, int64_t now)
{
    topup_result r = mark_submitted(st, order, now);
    if (r == TOPUP_OK)
        r = store_order_transition(st, order, ORDER_SUCCEEDED, detail, now);
    return r ? r : partner_callback_queue(st, order, now);
}

/* The operator did not credit the number: the price goes back where it came from. */
static topup_result finish_failed(store *st, order_row *order, const char *detail, int64_t now)
{
    topup_result r = store_order_transition(st, order, ORDER_FAILED, detail, now);
    int64_t operator_account;
    if (r == TOPUP_OK)
        r = partner_operator_account(st, order->operator_id, order->currency, &operator_account);
    if (r == TOPUP_OK)
        r = recharge_return_money(st, order, operator_account, order->funding_account_id, "refund");
    if (r == TOPUP_OK)
        r = store_order_transition(st, order, ORDER_REFUNDED,
                                   "price returned to the funding account", now);
    return r ? r : partner_callback_queue(st, order, now);
}

/* Not final: ask (or send) again after the schedule's next wait. */
static topup_result wait_again(store *st, order_row *order, connector_job_row *job,
                               const connector_outcome *outcome, int64_t now)
{
    const connector_answer *a = &outcome->answer;
    job->attempt_count++;
    int64_t next =
        now + partner_schedule_wait(&outcome->settings->status_retry, job->attempt_count);
    topup_result r = TOPUP_OK;
    if (a->verdict == CONNECTOR_NOT_SENT) {
        job->next_attempt_at = next; /* the status stays: queued is still queued */
        snprintf(job->last_error, sizeof job->last_error, "%s", a->detail);
        job->updated_at = now;
        return TOPUP_OK;
    }
    if ((r = mark_submitted(st, order, now)))
        return r;
    if (a->verdict == CONNECTOR_UNKNOWN && order->status == ORDER_SUBMITTED &&
        (r = store_order_transition(st, order, ORDER_UNKNOWN, a->detail, now)))
        return r;
    job_status(job, a->verdict == CONNECTOR_PENDING ? "pending" : "unknown", next, a->detail, now);
    return TOPUP_OK;
}

static topup_result outcome_effect(store *st, connector_outcome *outcome, int64_t now)
{
    connector_job_row job;
    topup_result r = store_connector_job_get(st, outcome->order_id, &job);
    if (r != TOPUP_OK || strcmp(job.status, "done") == 0)
        return r; /* an answer for a settled order (an operator answering twice) is ignored */
    order_row order;
    if ((r = store_order_get(st, outcome->order_id, &order)))
        return r;
    const connector_answer *a = &outcome->answer;
    connector_verdict verdict = a->verdict;
    const char *detail = a->detail;
    /* Never sent at all for too long: the operator cannot have it, so failing is safe. */
    bool never_sent = verdict == CONNECTOR_NOT_SENT && strcmp(job.status, "queued") == 0;
    if (never_sent && now - job.created_at >= outcome->settings->send_give_up_s) {
        verdict = CONNECTOR_FAILED;
        detail = "never reached the operator";
    }
    if (a->operator_order_id[0])
        snprintf(job.operator_order_id, sizeof job.operator_order_id, "%s", a->operator_order_id);
    if (verdict == CONNECTOR_SUCCEEDED)
        r = finish_succeeded(st, &order, detail, now);
    else if (verdict == CONNECTOR_FAILED)
        r = finish_failed(st, &order, detail, now);
    else
        r = wait_again(st, &order, &job, outcome, now);
    if (r != TOPUP_OK)
        return r;
    if (verdict == CONNECTOR_SUCCEEDED || verdict == CONNECTOR_FAILED)
        job_status(&job, "done", 0, detail, now);
    return store_connector_job_update(st, &job);
}

topup_result forwarder_outcome_apply(store *st, void *payload, int64_t now)
{
    connector_outcome *outcome = payload;
    topup_result r = store_savepoint(st);
    if (r == TOPUP_OK)
        r = outcome_effect(st, outcome, now);
    outcome->result = r;
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
        return TOPUP_OK;
    }
    store_savepoint_rollback(st);
    /* A refused step (an illegal transition) is reported; the batch goes on. */
    return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
}

/* ---- the worker ---- */

struct forwarder {
    writer *writer;
    const partners_settings *settings;
    breaker_board *board;
    store *reader; /* used only by the forwarder's thread (or forwarder_run_once's caller) */

    pthread_t thread;
    pthread_mutex_t lock; /* guards stopping */
    pthread_cond_t wake;
    bool stopping;
};

static void submit(forwarder *f, connector_outcome *outcome)
{
    writer_job job = {.apply = forwarder_outcome_apply, .payload = outcome};
    outcome->settings = f->settings;
    topup_result r = writer_submit_wait(f->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result != TOPUP_OK ? job.batch_result : outcome->result;
    if (r != TOPUP_OK)
        fprintf(stderr, "topup: the operator's answer for order %lld was not applied (%s)\n",
                (long long)outcome->order_id, topup_result_code(r));
}

/* Sends a queued recharge, or asks about one whose outcome is not known. */
static void handle(forwarder *f, const connector_job_row *job, int64_t now)
{
    connector_outcome outcome = {.order_id = job->order_id};
    connector_answer *answer = &outcome.answer;
    operator_endpoint_row endpoint;
    order_row order;
    topup_result r = store_operator_endpoint_get(f->reader, job->operator_id, &endpoint);
    if (r == TOPUP_OK)
        r = store_order_get(f->reader, job->order_id, &order);
    if (r != TOPUP_OK) {
        answer->verdict = CONNECTOR_NOT_SENT;
        snprintf(answer->detail, sizeof answer->detail, "operator %s has no endpoint (%s)",
                 job->operator_id, topup_result_code(r));
    } else if (!breaker_allow(f->board, job->operator_id, now)) {
        answer->verdict = CONNECTOR_NOT_SENT;
        snprintf(answer->detail, sizeof answer->detail, "the operator's circuit is open");
    } else {
        if (strcmp(job->status, "queued") == 0)
            connector_send(&endpoint, &order, now, answer);
        else
            connector_query(&endpoint, job->order_id, now, answer);
        breaker_record(f->board, job->operator_id, answer->reached, clock_now_seconds());
    }
    submit(f, &outcome);
}

void forwarder_run_once(forwarder *f)
{
    int64_t now = clock_now_seconds();
    connector_job_row jobs[DUE_BATCH];
    size_t count = 0;
    if (store_connector_jobs_due(f->reader, now, jobs, DUE_BATCH, &count) != TOPUP_OK)
        return;
    for (size_t i = 0; i < count; i++)
        handle(f, &jobs[i], clock_now_seconds());
}

static void *forwarder_main(void *argument)
{
    forwarder *f = argument;
    pthread_mutex_lock(&f->lock);
    while (!f->stopping) {
        struct timespec until = clock_deadline_after_ms(INTERVAL_MS);
        pthread_cond_timedwait(&f->wake, &f->lock, &until);
        if (f->stopping)
            break;
        pthread_mutex_unlock(&f->lock);
        forwarder_run_once(f);
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

topup_result forwarder_start(const char *db_path, writer *w, const partners_settings *settings,
                             breaker_board *board, forwarder **out)
{
    *out = NULL;
    forwarder *f = calloc(1, sizeof *f);
    if (!f)
        return TOPUP_E_NOMEM;
    f->writer = w;
    f->settings = settings;
    f->board = board;
    topup_result r = store_open(db_path, STORE_READ_ONLY, &f->reader);
    if (r != TOPUP_OK) {
        free(f);
        return r;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    if (pthread_create(&f->thread, NULL, forwarder_main, f) != 0) {
        store_close(f->reader);
        free(f);
        return TOPUP_E_NOMEM;
    }
    *out = f;
    return TOPUP_OK;
}

void forwarder_stop(forwarder *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    store_close(f->reader);
    free(f);
}
