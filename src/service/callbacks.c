/* The partner callback worker. A scheduler thread reads the due callbacks every second (and
 * whenever a sender becomes free) and hands their ids to CALLBACKS_SENDERS sender threads; a
 * sender claims its callback through the writer (the lease of callbacks.h), signs and POSTs it,
 * and records the attempt and the callback's new state through the writer in one step.
 *
 * SECURITY: the URL and the body were fixed when the order finished; the merchant's answer is
 * untrusted and only its status decides anything (a short printable excerpt of a refusal is kept
 * for the operator). Redirects are not followed, so a callback goes nowhere but its own URL. The
 * merchant's secret is read inside the claim and wiped once the request is signed. */
#include "service/callbacks.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "partners/signature.h"
#include "payments/http_client.h"

#define DUE_BATCH             32   /* callbacks read per look at the outbox */
#define POLL_INTERVAL_MS      1000 /* how often the outbox is looked at when nothing wakes us */
#define LEASE_MARGIN_S        60   /* beyond the timeout: a full writer queue, a slow commit */
#define NONCE_RANDOM_SIZE     12   /* 24 hex characters */
#define HEADER_LINE_SIZE      160  /* "X-Topup-Signature: " and 64 hex, with room */
#define CALLBACK_HEADER_COUNT 5    /* Content-Type and the four X-Topup-* */
#define RUN_ONCE_PASSES_MAX   1000 /* bounds callbacks_run_once when the writer keeps failing */

struct callbacks {
    writer *writer;
    partners_settings settings;

    pthread_mutex_t read_lock; /* guards reader and due */
    store *reader;             /* the worker's read connection */
    callback_row due[DUE_BATCH];

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* the scheduler's: a sender became free, or stopping */
    pthread_cond_t work;  /* the senders': an id was handed out, or stopping */
    bool stopping;
    int64_t handed[CALLBACKS_SENDERS];    /* ids waiting for a sender, oldest first */
    size_t handed_count;                  /* at most the number of idle senders */
    int64_t in_flight[CALLBACKS_SENDERS]; /* the id each busy sender holds; 0 = free slot */
    pthread_t scheduler;
    bool scheduler_started;
    pthread_t senders[CALLBACKS_SENDERS];
    size_t sender_count; /* senders started */
};

/* ---- the writer's steps ---- */

/* Takes a due callback for one attempt: moves its next_attempt_at lease_s ahead, so nobody else
 * finds it due while the attempt lasts, and reads the merchant's secret. */
typedef struct claim {
    int64_t id;                                 /* IN */
    int64_t lease_s;                            /* IN */
    bool claimed;                               /* OUT: it was due and is now ours */
    bool merchant_found;                        /* OUT */
    callback_row callback;                      /* OUT: as claimed (next_attempt_at: the lease) */
    char merchant_secret[MERCHANT_SECRET_SIZE]; /* OUT: the caller wipes it */
} claim;

/* What one attempt gave, to record. */
typedef struct outcome {
    callback_row claimed;         /* IN: the callback as the claim left it */
    callback_attempt_row attempt; /* IN */
    bool delivered;               /* IN: a 2xx answered */
    bool permanent;               /* IN: trying again cannot help */
    const partners_settings *settings;
    char status[CALLBACK_STATUS_SIZE]; /* OUT: what the callback became ("" if left alone) */
} outcome;

/* Ends a step's savepoint: kept on success; on a refusal undone without failing the batch (the
 * callback is looked at again when the lease ends); a storage failure fails the batch. */
static topup_result end_step(store *st, topup_result r, int64_t id)
{
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
        return TOPUP_OK;
    }
    fprintf(stderr, "topup: callback %lld: could not record (%s: %s)\n", (long long)id,
            topup_result_code(r), store_errmsg(st));
    store_savepoint_rollback(st);
    return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
}

static topup_result claim_apply(store *st, void *payload, int64_t now)
{
    claim *cl = payload;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    callback_row *row = &cl->callback;
    r = store_callback_get(st, cl->id, row);
    if (r == TOPUP_E_NOT_FOUND)
        return end_step(st, TOPUP_OK, cl->id);
    /* Someone else claimed it, it was answered meanwhile, or it is not due yet after all. */
    if (r == TOPUP_OK && (strcmp(row->status, "queued") != 0 || row->next_attempt_at == 0 ||
                          row->next_attempt_at > now))
        return end_step(st, TOPUP_OK, cl->id);
    merchant_row merchant;
    if (r == TOPUP_OK) {
        r = store_merchant_get(st, row->merchant_id, &merchant);
        cl->merchant_found = r == TOPUP_OK;
        if (r == TOPUP_OK)
            memcpy(cl->merchant_secret, merchant.secret, sizeof cl->merchant_secret);
        OPENSSL_cleanse(merchant.secret, sizeof merchant.secret);
        if (r == TOPUP_E_NOT_FOUND)
            r = TOPUP_OK; /* the attempt will say so and mark it dead */
    }
    if (r == TOPUP_OK) {
        row->next_attempt_at = now + cl->lease_s;
        row->updated_at = now;
        r = store_callback_update(st, row);
    }
    cl->claimed = r == TOPUP_OK;
    if (!cl->claimed)
        OPENSSL_cleanse(cl->merchant_secret, sizeof cl->merchant_secret);
    return end_step(st, r, cl->id);
}

/* The callback's state after a failed attempt: dead when retrying cannot help or the next try
 * would come after the give-up time; else due again after the schedule's wait. */
static void schedule_retry(const outcome *o, callback_row *row, int64_t now)
{
    int64_t next = now + partner_schedule_wait(&o->settings->callback_retry, row->attempt_count);
    if (o->permanent || next > row->created_at + o->settings->callback_give_up_s) {
        snprintf(row->status, sizeof row->status, "dead");
        row->next_attempt_at = 0;
        return;
    }
    row->next_attempt_at = next;
}

static topup_result outcome_apply(store *st, void *payload, int64_t now)
{
    outcome *o = payload;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    callback_row row;
    r = store_callback_attempt_insert(st, &o->attempt);
    if (r == TOPUP_OK)
        r = store_callback_get(st, o->claimed.id, &row);
    /* Changed meanwhile by someone else (it can only have been delivered or given up): the
     * attempt is on record, the state is theirs. */
    if (r != TOPUP_OK || strcmp(row.status, "queued") != 0)
        return end_step(st, r, o->claimed.id);
    row.attempt_count++;
    row.updated_at = now;
    if (o->delivered) {
        snprintf(row.status, sizeof row.status, "delivered");
        row.next_attempt_at = 0;
        row.last_error[0] = '\0';
    } else {
        snprintf(row.last_error, sizeof row.last_error, "%s", o->attempt.error);
        /* When the lease is no longer ours, someone (topup callbacks retry) set another due
         * time while we were sending: theirs stands. */
        if (row.next_attempt_at == o->claimed.next_attempt_at)
            schedule_retry(o, &row, now);
    }
    r = store_callback_update(st, &row);
    if (r == TOPUP_OK)
        memcpy(o->status, row.status, sizeof o->status);
    return end_step(st, r, o->claimed.id);
}

/* Commits a step and waits; false when it did not commit (it is logged; the lease, or the
 * due time, brings the callback back). */
static bool commit(callbacks *c, writer_apply_fn apply, void *payload, int64_t id)
{
    writer_job job = {.apply = apply, .payload = payload};
    topup_result r = writer_submit_wait(c->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result;
    if (r != TOPUP_OK)
        fprintf(stderr, "topup: callback %lld: the writer refused the step (%s)\n", (long long)id,
                topup_result_code(r));
    return r == TOPUP_OK;
}

/* ---- one attempt ---- */

/* The path and query of url as the merchant's server receives them (what is signed):
 * "http[s]://host[:port]/path?query#fragment" gives "/path?query", and "/" stands for an empty
 * path. False when url is not an http(s) URL with a host, or the result does not fit. */
static bool signed_path(const char *url, char *out, size_t out_size)
{
    const char *rest = NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    if (!rest)
        return false;
    size_t authority = strcspn(rest, "/?#");
    if (authority == 0)
        return false;
    const char *path = rest + authority;
    size_t path_length = strcspn(path, "#");
    const char *lead = path[0] == '/' ? "" : "/";
    int written = snprintf(out, out_size, "%s%.*s", lead, (int)path_length, path);
    return written > 0 && (size_t)written < out_size;
}

/* "HTTP 503" and the start of the answer's body, printable ASCII only (the answer is the
 * merchant's, shown to an operator). */
static void describe_refusal(const http_client_response *response, char *out, size_t out_size)
{
    int written = snprintf(out, out_size, "HTTP %ld", response->status);
    if (written < 0 || (size_t)written + 3 >= out_size || response->body_size == 0)
        return;
    size_t at = (size_t)written;
    out[at++] = ':';
    out[at++] = ' ';
    for (size_t i = 0; i < response->body_size && at + 1 < out_size; i++) {
        unsigned char ch = (unsigned char)response->body[i];
        out[at++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    out[at] = '\0';
}

/* The request's five header lines, signed over POST, path, at, a fresh nonce and the body with
 * the merchant's secret (docs/partners.md "Signing a request", topup as the signer). */
static topup_result signed_headers(const claim *cl, const char *path, int64_t at,
                                   char lines[CALLBACK_HEADER_COUNT][HEADER_LINE_SIZE])
{
    unsigned char random[NONCE_RANDOM_SIZE];
    if (RAND_bytes(random, sizeof random) != 1)
        return TOPUP_E_NOMEM;
    char nonce[2 * NONCE_RANDOM_SIZE + 1], signature[PARTNER_SIGNATURE_HEX_SIZE];
    for (size_t i = 0; i < sizeof random; i++)
        snprintf(nonce + 2 * i, 3, "%02x", random[i]);
    const callback_row *cb = &cl->callback;
    char *text = NULL;
    topup_result r =
        partner_signing_text("POST", path, at, nonce, cb->body, strlen(cb->body), &text);
    if (r == TOPUP_OK)
        r = partner_sign(cl->merchant_secret, text, signature);
    free(text);
    snprintf(lines[0], HEADER_LINE_SIZE, "Content-Type: application/json");
    snprintf(lines[1], HEADER_LINE_SIZE, "X-Topup-Merchant: %s", cb->merchant_id);
    snprintf(lines[2], HEADER_LINE_SIZE, "X-Topup-Timestamp: %lld", (long long)at);
    snprintf(lines[3], HEADER_LINE_SIZE, "X-Topup-Nonce: %s", nonce);
    snprintf(lines[4], HEADER_LINE_SIZE, "X-Topup-Signature: %s", r == TOPUP_OK ? signature : "");
    return r;
}

/* Fills o's verdict from what the request gave: only a 2xx delivers. */
static void judge_answer(topup_result r, const http_client_response *response, outcome *o)
{
    callback_attempt_row *attempt = &o->attempt;
    if (r != TOPUP_OK || response->outcome != HTTP_CLIENT_ANSWERED) {
        const char *why =
            response->outcome == HTTP_CLIENT_TIMEOUT ? "no answer in time" : "no answer";
        snprintf(attempt->error, sizeof attempt->error, "%s: %.100s", why,
                 r != TOPUP_OK ? topup_result_code(r) : response->error);
        return;
    }
    attempt->http_status = (int)response->status;
    o->delivered = response->status >= 200 && response->status <= 299;
    if (!o->delivered)
        describe_refusal(response, attempt->error, sizeof attempt->error);
}

/* Signs and POSTs the claimed callback; fills o's attempt and verdict. */
static void send_callback(const callbacks *c, const claim *cl, outcome *o)
{
    const callback_row *cb = &cl->callback;
    callback_attempt_row *attempt = &o->attempt;
    attempt->callback_id = cb->id;
    attempt->attempted_at = clock_now_seconds();
    char path[CALLBACK_URL_SIZE + 1];
    if (!cl->merchant_found || !signed_path(cb->url, path, sizeof path)) {
        o->permanent = true;
        snprintf(attempt->error, sizeof attempt->error, "%s",
                 cl->merchant_found ? "the callback URL is not an http(s) URL with a host"
                                    : "the merchant no longer exists");
        return;
    }
    char lines[CALLBACK_HEADER_COUNT][HEADER_LINE_SIZE];
    topup_result r = signed_headers(cl, path, attempt->attempted_at, lines);
    if (r != TOPUP_OK) {
        snprintf(attempt->error, sizeof attempt->error, "could not sign the callback (%s)",
                 topup_result_code(r));
        return;
    }
    const char *headers[CALLBACK_HEADER_COUNT];
    for (size_t i = 0; i < CALLBACK_HEADER_COUNT; i++)
        headers[i] = lines[i];
    int64_t started_ms = clock_monotonic_ms();
    http_client_response response;
    r = http_client_request("POST", cb->url, headers, CALLBACK_HEADER_COUNT, cb->body,
                            strlen(cb->body), (long)c->settings.callback_timeout_ms, &response);
    attempt->duration_ms = clock_monotonic_ms() - started_ms;
    judge_answer(r, &response, o);
    http_client_response_free(&response);
}

/* Claims, sends and records callback id; false when it was not ours to send (not due, taken by
 * someone else, or the claim did not commit). */
static bool deliver(callbacks *c, int64_t id)
{
    claim cl = {.id = id,
                .lease_s = (c->settings.callback_timeout_ms + 999) / 1000 + LEASE_MARGIN_S};
    if (!commit(c, claim_apply, &cl, id) || !cl.claimed)
        return false;
    outcome o = {.claimed = cl.callback, .settings = &c->settings};
    send_callback(c, &cl, &o);
    OPENSSL_cleanse(cl.merchant_secret, sizeof cl.merchant_secret);
    if (commit(c, outcome_apply, &o, id) && strcmp(o.status, "dead") == 0)
        fprintf(stderr, "topup: callback %lld to %s is dead after %d attempts: %s\n", (long long)id,
                cl.callback.merchant_id, cl.callback.attempt_count + 1, o.attempt.error);
    return true;
}

/* ---- the threads ---- */

/* Ids of callbacks due now, oldest first; at most DUE_BATCH. */
static size_t read_due(callbacks *c, int64_t ids[DUE_BATCH])
{
    size_t count = 0;
    pthread_mutex_lock(&c->read_lock);
    topup_result r = store_callbacks_due(c->reader, clock_now_seconds(), c->due, DUE_BATCH, &count);
    if (r != TOPUP_OK) {
        fprintf(stderr, "topup: reading due callbacks failed: %s\n", store_errmsg(c->reader));
        count = 0;
    }
    for (size_t i = 0; i < count; i++)
        ids[i] = c->due[i].id;
    pthread_mutex_unlock(&c->read_lock);
    return count;
}

/* Whether id is handed out or being sent by a sender. Called with c->lock held. */
static bool held(const callbacks *c, int64_t id)
{
    for (size_t i = 0; i < c->handed_count; i++)
        if (c->handed[i] == id)
            return true;
    for (size_t i = 0; i < CALLBACKS_SENDERS; i++)
        if (c->in_flight[i] == id)
            return true;
    return false;
}

/* Senders with nothing in hand and nothing handed to them. Called with c->lock held. */
static size_t idle_senders(const callbacks *c)
{
    size_t busy = c->handed_count;
    for (size_t i = 0; i < CALLBACKS_SENDERS; i++)
        busy += c->in_flight[i] != 0;
    return busy < c->sender_count ? c->sender_count - busy : 0;
}

static void *scheduler_main(void *argument)
{
    callbacks *c = argument;
    int64_t ids[DUE_BATCH];
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (idle_senders(c) > 0) {
            pthread_mutex_unlock(&c->lock);
            size_t count = read_due(c, ids);
            pthread_mutex_lock(&c->lock);
            for (size_t i = 0; i < count && idle_senders(c) > 0; i++) {
                if (held(c, ids[i]))
                    continue;
                c->handed[c->handed_count++] = ids[i];
                pthread_cond_signal(&c->work);
            }
        }
        if (!c->stopping) {
            struct timespec until = clock_deadline_after_ms(POLL_INTERVAL_MS);
            pthread_cond_timedwait(&c->wake, &c->lock, &until);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void *sender_main(void *argument)
{
    callbacks *c = argument;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->stopping && c->handed_count == 0)
            pthread_cond_wait(&c->work, &c->lock);
        if (c->stopping)
            break;
        int64_t id = c->handed[0];
        memmove(c->handed, c->handed + 1, --c->handed_count * sizeof c->handed[0]);
        size_t slot = 0;
        while (c->in_flight[slot] != 0)
            slot++; /* one slot per sender, so a free one exists */
        c->in_flight[slot] = id;
        pthread_mutex_unlock(&c->lock);
        deliver(c, id);
        pthread_mutex_lock(&c->lock);
        c->in_flight[slot] = 0;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

void callbacks_run_once(callbacks *c)
{
    int64_t ids[DUE_BATCH];
    for (int pass = 0; pass < RUN_ONCE_PASSES_MAX; pass++) {
        size_t count = read_due(c, ids), sent = 0;
        for (size_t i = 0; i < count; i++) {
            pthread_mutex_lock(&c->lock);
            bool theirs = held(c, ids[i]);
            pthread_mutex_unlock(&c->lock);
            if (!theirs && deliver(c, ids[i]))
                sent++;
        }
        /* A full batch may hide more; a pass that sent nothing would only repeat itself. */
        if (count < DUE_BATCH || sent == 0)
            return;
    }
}

/* Stops and joins the threads that were started. */
static void stop_threads(callbacks *c)
{
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->work);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    if (c->scheduler_started)
        pthread_join(c->scheduler, NULL);
    for (size_t i = 0; i < c->sender_count; i++)
        pthread_join(c->senders[i], NULL);
}

static void free_callbacks(callbacks *c)
{
    store_close(c->reader);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->read_lock);
    free(c);
}

topup_result callbacks_start(const char *db_path, writer *w, const partners_settings *settings,
                             callbacks **out)
{
    *out = NULL;
    callbacks *c = calloc(1, sizeof *c);
    if (!c)
        return TOPUP_E_NOMEM;
    c->writer = w;
    c->settings = *settings;
    pthread_mutex_init(&c->read_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->work, NULL);
    topup_result r = store_open(db_path, STORE_READ_ONLY, &c->reader);
    for (size_t i = 0; r == TOPUP_OK && i < CALLBACKS_SENDERS; i++) {
        if (pthread_create(&c->senders[i], NULL, sender_main, c) != 0)
            r = TOPUP_E_NOMEM;
        else
            c->sender_count++;
    }
    if (r == TOPUP_OK) {
        if (pthread_create(&c->scheduler, NULL, scheduler_main, c) != 0)
            r = TOPUP_E_NOMEM;
        else
            c->scheduler_started = true;
    }
    if (r != TOPUP_OK) {
        stop_threads(c);
        free_callbacks(c);
        return r;
    }
    *out = c;
    return TOPUP_OK;
}

void callbacks_stop(callbacks *c)
{
    if (!c)
        return;
    stop_threads(c);
    free_callbacks(c);
}
