#include "service/dispatcher.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "sms/templates.h"

#define DUE_BATCH          32
#define POLL_INTERVAL_MS   200
#define IN_FLIGHT_MAX      512
#define RETRY_BASE_S       2
#define RETRY_MAX_S        600
#define BUSY_WAIT_S        1
#define LOW_BALANCE_SWEEP_S 3600 /* how often subscribers' balances are looked at */
#define LOW_BALANCE_BATCH   64

#define PENDING_RECEIPTS_MAX 64

/* A receipt that came before its message's acknowledgement was recorded (the SMSC may send
 * deliver_sm right behind submit_sm_resp): kept until the acknowledgement is. */
typedef struct pending_receipt {
    char smsc_id[SMS_SMSC_ID_SIZE];
    char stat[16];
    int64_t done_at;
    bool used;
} pending_receipt;

/* A message handed to the transport: its text must live until the outcome is reported. */
typedef struct in_flight {
    int64_t id;
    char *text;
} in_flight;

struct dispatcher {
    writer *writer;
    const sms_transport_ops *ops;
    sms_transport *transport;
    store *reader; /* the dispatcher thread's */
    int utc_offset_minutes;
    char lang[8];
    int64_t low_balance_minor; /* 0: no reminders */
    int low_balance_every_days;
    int64_t next_sweep_at;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    bool stopping;
    in_flight flights[IN_FLIGHT_MAX];
    pending_receipt pending[PENDING_RECEIPTS_MAX]; /* the oldest is overwritten when full */
    size_t pending_next;
    dispatcher_stats stats;
    pthread_t thread;
};

const sms_transport_ops *sms_transport_ops_by_name(const char *name)
{
    if (name && strcmp(name, "http") == 0)
        return &http_gateway_transport_ops;
    if (name && strcmp(name, "smpp") == 0)
        return &smpp_transport_ops;
    return NULL;
}

/* ---- the writer's steps ---- */

typedef enum step_kind { STEP_CLAIM, STEP_OUTCOME, STEP_REQUEUE, STEP_RECEIPT } step_kind;

typedef struct step {
    step_kind kind;
    int64_t id;
    sms_outcome outcome;
    char smsc_id[SMS_SMSC_ID_SIZE];
    char detail[SMS_DETAIL_SIZE];
    char stat[16];
    int64_t done_at;
    bool claimed; /* OUT (STEP_CLAIM): the message was still queued and is now sending */
    bool found;   /* OUT (STEP_RECEIPT): a sent message has this smsc_id */
    bool dead;    /* OUT (STEP_OUTCOME): the message is dead */
} step;

/* Backoff doubling from RETRY_BASE_S up to RETRY_MAX_S, with ±25% jitter so that messages that
 * failed together do not all come back together. */
static int64_t retry_at(int attempts, int64_t now)
{
    int64_t wait = clock_backoff(RETRY_BASE_S, RETRY_MAX_S, attempts > 1 ? attempts - 1 : 0);
    unsigned char random = 0;
    RAND_bytes(&random, 1);
    int64_t jitter = wait / 4 > 0 ? (int64_t)random % (wait / 2 + 1) - wait / 4 : 0;
    return now + wait + jitter;
}

static void apply_outcome(step *s, outbox_row *m, int64_t now)
{
    snprintf(m->last_error, sizeof m->last_error, "%.120s", s->outcome == SMS_ACCEPTED ? "" : s->detail);
    m->next_attempt_at = 0;
    if (s->outcome == SMS_ACCEPTED) {
        snprintf(m->status, sizeof m->status, "sent");
        snprintf(m->smsc_id, sizeof m->smsc_id, "%s", s->smsc_id);
        /* An SMS code is kept only as long as it still has to be sent. */
        if (strcmp(m->event, "otp") == 0)
            snprintf(m->facts, sizeof m->facts, "{\"code\":\"******\",\"minutes\":5}");
    } else if (s->outcome == SMS_REJECTED || m->attempt_count >= DISPATCHER_ATTEMPTS_MAX) {
        snprintf(m->status, sizeof m->status, "dead");
        s->dead = true;
    } else {
        snprintf(m->status, sizeof m->status, "queued");
        m->next_attempt_at = retry_at(m->attempt_count, now);
    }
}

static topup_result step_apply(store *st, void *payload, int64_t now)
{
    step *s = payload;
    outbox_row m;
    topup_result r = s->kind == STEP_RECEIPT ? store_outbox_by_smsc_id(st, s->smsc_id, &m)
                                             : store_outbox_get(st, s->id, &m);
    if (r == TOPUP_E_NOT_FOUND)
        return TOPUP_OK; /* a receipt for a message not (yet) acknowledged: the caller keeps it */
    s->found = true;
    if (r != TOPUP_OK)
        return r;
    m.updated_at = now;
    switch (s->kind) {
    case STEP_CLAIM:
        if (strcmp(m.status, "queued") != 0)
            return TOPUP_OK;
        snprintf(m.status, sizeof m.status, "sending");
        m.attempt_count++;
        m.next_attempt_at = 0;
        s->claimed = true;
        break;
    case STEP_OUTCOME:
        if (strcmp(m.status, "sending") != 0)
            return TOPUP_OK;
        apply_outcome(s, &m, now);
        break;
    case STEP_REQUEUE: /* the transport could not take it now: not an attempt */
        if (strcmp(m.status, "sending") != 0)
            return TOPUP_OK;
        snprintf(m.status, sizeof m.status, "queued");
        m.attempt_count--;
        m.next_attempt_at = now + BUSY_WAIT_S;
        break;
    case STEP_RECEIPT:
        snprintf(m.status, sizeof m.status, "%s",
                 strcmp(s->stat, "DELIVRD") == 0 ? "delivered" : "undelivered");
        snprintf(m.receipt_stat, sizeof m.receipt_stat, "%.11s", s->stat);
        m.receipt_at = s->done_at > 0 ? s->done_at : now;
        break;
    }
    return store_outbox_update(st, &m);
}

/* Commits a step and waits; false when it could not be committed (the thread tries later). */
static bool commit(dispatcher *d, step *s)
{
    writer_job job = {.apply = step_apply, .payload = s};
    topup_result r = writer_submit_wait(d->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result;
    if (r != TOPUP_OK)
        fprintf(stderr, "topup: SMS %lld: could not record (%s)\n", (long long)s->id,
                topup_result_code(r));
    return r == TOPUP_OK;
}

/* ---- the transport's callbacks (on its thread) ---- */

/* Frees the text kept for a message the transport is done with. */
static void forget(dispatcher *d, int64_t id)
{
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < IN_FLIGHT_MAX; i++) {
        if (d->flights[i].id == id) {
            free(d->flights[i].text);
            d->flights[i] = (in_flight){0, NULL};
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
}

/* Records a receipt; false when its message is not acknowledged yet. */
static bool record_receipt(dispatcher *d, const char *smsc_id, const char *stat, int64_t done_at)
{
    step s = {.kind = STEP_RECEIPT, .done_at = done_at};
    snprintf(s.smsc_id, sizeof s.smsc_id, "%s", smsc_id);
    snprintf(s.stat, sizeof s.stat, "%s", stat);
    if (!commit(d, &s) || !s.found)
        return false;
    pthread_mutex_lock(&d->lock);
    d->stats.receipts++;
    pthread_mutex_unlock(&d->lock);
    return true;
}

static void on_receipt(void *context, const char *smsc_id, const char *stat, int64_t done_at)
{
    dispatcher *d = context;
    if (record_receipt(d, smsc_id, stat, done_at))
        return;
    pthread_mutex_lock(&d->lock);
    pending_receipt *p = &d->pending[d->pending_next++ % PENDING_RECEIPTS_MAX];
    *p = (pending_receipt){.done_at = done_at, .used = true};
    snprintf(p->smsc_id, sizeof p->smsc_id, "%s", smsc_id);
    snprintf(p->stat, sizeof p->stat, "%s", stat);
    pthread_mutex_unlock(&d->lock);
}

/* Records the receipt that was waiting for the acknowledgement of smsc_id, if one was. */
static void apply_pending_receipt(dispatcher *d, const char *smsc_id)
{
    pending_receipt found = {.used = false};
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < PENDING_RECEIPTS_MAX && !found.used; i++) {
        if (d->pending[i].used && strcmp(d->pending[i].smsc_id, smsc_id) == 0) {
            found = d->pending[i];
            d->pending[i].used = false;
        }
    }
    pthread_mutex_unlock(&d->lock);
    if (found.used)
        record_receipt(d, found.smsc_id, found.stat, found.done_at);
}

static void on_result(void *context, int64_t id, sms_outcome outcome, const char *smsc_id,
                      const char *detail)
{
    dispatcher *d = context;
    step s = {.kind = STEP_OUTCOME, .id = id, .outcome = outcome};
    snprintf(s.smsc_id, sizeof s.smsc_id, "%s", smsc_id ? smsc_id : "");
    snprintf(s.detail, sizeof s.detail, "%s", detail ? detail : "");
    if (commit(d, &s) && outcome == SMS_ACCEPTED)
        apply_pending_receipt(d, s.smsc_id);
    pthread_mutex_lock(&d->lock);
    if (outcome == SMS_ACCEPTED)
        d->stats.sent++;
    else if (s.dead)
        d->stats.dead++;
    else
        d->stats.retried++;
    pthread_mutex_unlock(&d->lock);
    forget(d, id);
}

/* ---- low-balance reminders ---- */

typedef struct reminders {
    low_balance_row rows[LOW_BALANCE_BATCH];
    size_t count;
    const char *lang;
} reminders;

/* Queues one low_balance SMS per subscriber found by the sweep. */
static topup_result reminders_apply(store *st, void *payload, int64_t now)
{
    reminders *batch = payload;
    for (size_t i = 0; i < batch->count; i++) {
        const low_balance_row *row = &batch->rows[i];
        outbox_row message = {.created_at = now};
        snprintf(message.event, sizeof message.event, "low_balance");
        memcpy(message.msisdn, row->msisdn, sizeof message.msisdn);
        snprintf(message.lang, sizeof message.lang, "%s", batch->lang);
        snprintf(message.facts, sizeof message.facts,
                 "{\"msisdn\":\"%s\",\"balance_minor\":%lld,\"currency\":\"%s\"}", row->msisdn,
                 (long long)row->balance_minor, row->currency);
        topup_result r = store_outbox_insert(st, &message);
        if (r != TOPUP_OK)
            return r;
    }
    return TOPUP_OK;
}

/* Reminds subscribers whose balance is below the threshold, at most once per period each. */
static void sweep_low_balances(dispatcher *d, int64_t now)
{
    if (d->low_balance_minor <= 0 || now < d->next_sweep_at)
        return;
    d->next_sweep_at = now + LOW_BALANCE_SWEEP_S;
    int64_t since = now - (int64_t)d->low_balance_every_days * 86400;
    static reminders batch;
    batch.lang = d->lang;
    do {
        if (store_low_balance_due(d->reader, d->low_balance_minor, since, batch.rows,
                                  LOW_BALANCE_BATCH, &batch.count) != TOPUP_OK ||
            batch.count == 0)
            return;
        writer_job job = {.apply = reminders_apply, .payload = &batch};
        if (writer_submit_wait(d->writer, &job) != TOPUP_OK || job.batch_result != TOPUP_OK)
            return;
    } while (batch.count == LOW_BALANCE_BATCH);
}

/* ---- the thread ---- */

/* Keeps text for the transport; false when the table is full (the message waits). */
static bool remember(dispatcher *d, int64_t id, char *text)
{
    pthread_mutex_lock(&d->lock);
    bool kept = false;
    for (size_t i = 0; i < IN_FLIGHT_MAX && !kept; i++) {
        if (d->flights[i].id == 0) {
            d->flights[i] = (in_flight){id, text};
            kept = true;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return kept;
}

static void dispatch_one(dispatcher *d, const outbox_row *m)
{
    char rendered[SMS_RENDER_SIZE], detail[SMS_DETAIL_SIZE];
    step s = {.kind = STEP_CLAIM, .id = m->id};
    if (!commit(d, &s) || !s.claimed)
        return;
    if (sms_render(m->event, m->lang, m->facts, d->utc_offset_minutes, rendered, sizeof rendered,
                   detail, sizeof detail) != TOPUP_OK) {
        on_result(d, m->id, SMS_REJECTED, "", detail);
        return;
    }
    char *text = strdup(rendered);
    if (!text || !remember(d, m->id, text)) {
        free(text);
        step requeue = {.kind = STEP_REQUEUE, .id = m->id};
        commit(d, &requeue);
        return;
    }
    sms_message message = {.id = m->id, .text = text, .want_receipt = true};
    snprintf(message.to, sizeof message.to, "%s", m->msisdn);
    topup_result r = d->ops->submit(d->transport, &message);
    if (r == TOPUP_E_INVALID_ARGUMENT) {
        on_result(d, m->id, SMS_REJECTED, "", "the transport refused the message as malformed");
    } else if (r != TOPUP_OK) {
        /* Busy (window full, link down) is not an attempt: the message goes back as it was. */
        forget(d, m->id);
        step requeue = {.kind = STEP_REQUEUE, .id = m->id};
        commit(d, &requeue);
    }
}

/* Messages left "sending" by a stop or a crash are queued again: they may go out once more. */
static void requeue_interrupted(dispatcher *d)
{
    static outbox_row rows[DUE_BATCH];
    size_t count = 0;
    do {
        if (store_outbox_list(d->reader, "sending", 0, rows, DUE_BATCH, &count) != TOPUP_OK)
            return;
        for (size_t i = 0; i < count; i++) {
            step s = {.kind = STEP_REQUEUE, .id = rows[i].id};
            if (!commit(d, &s))
                return;
        }
    } while (count == DUE_BATCH);
}

static void *dispatcher_main(void *argument)
{
    dispatcher *d = argument;
    static outbox_row due[DUE_BATCH];
    requeue_interrupted(d);
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        pthread_mutex_unlock(&d->lock);
        size_t count = 0;
        sweep_low_balances(d, clock_now_seconds());
        if (store_outbox_due(d->reader, clock_now_seconds(), due, DUE_BATCH, &count) == TOPUP_OK)
            for (size_t i = 0; i < count; i++)
                dispatch_one(d, &due[i]);
        pthread_mutex_lock(&d->lock);
        if (count == 0 && !d->stopping) {
            struct timespec until = clock_deadline_after_ms(POLL_INTERVAL_MS);
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

topup_result dispatcher_start(const char *db_path, writer *w, const sms_settings *settings,
                              dispatcher **out, char *detail, size_t detail_size)
{
    *out = NULL;
    const sms_transport_ops *ops = sms_transport_ops_by_name(settings->transport);
    if (!ops) {
        snprintf(detail, detail_size, "sms.transport '%s' is not available", settings->transport);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    dispatcher *d = calloc(1, sizeof *d);
    if (!d)
        return TOPUP_E_NOMEM;
    d->writer = w;
    d->ops = ops;
    d->utc_offset_minutes = settings->utc_offset_minutes;
    snprintf(d->lang, sizeof d->lang, "%s", settings->lang);
    d->low_balance_minor = settings->low_balance_minor;
    d->low_balance_every_days = settings->low_balance_every_days;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    topup_result r = store_open(db_path, STORE_READ_ONLY, &d->reader);
    if (r == TOPUP_OK)
        r = ops->start(settings, on_result, on_receipt, d, &d->transport, detail, detail_size);
    if (r == TOPUP_OK && pthread_create(&d->thread, NULL, dispatcher_main, d) != 0)
        r = TOPUP_E_NOMEM;
    if (r != TOPUP_OK) {
        if (d->transport)
            ops->stop(d->transport);
        store_close(d->reader);
        free(d);
        return r;
    }
    *out = d;
    return TOPUP_OK;
}

void dispatcher_get_stats(dispatcher *d, dispatcher_stats *stats)
{
    pthread_mutex_lock(&d->lock);
    *stats = d->stats;
    pthread_mutex_unlock(&d->lock);
    stats->ready = d->ops->ready(d->transport);
}

void dispatcher_stop(dispatcher *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    d->ops->stop(d->transport); /* reports what is outstanding, through on_result */
    for (size_t i = 0; i < IN_FLIGHT_MAX; i++)
        free(d->flights[i].text);
    store_close(d->reader);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
