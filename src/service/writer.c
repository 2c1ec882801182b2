/* Group commit. The thread takes everything queued (up to batch_size_max), runs each recharge in
 * its own savepoint inside one BEGIN IMMEDIATE ... COMMIT, and only after COMMIT returns (the WAL
 * is fsynced: synchronous=FULL) tells the submitters. So a 2xx is never sent for a change that is
 * not on disk, and one fsync is shared by the whole batch. */
#include "service/writer.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/problem.h"
#include "store/store.h"

struct writer {
    pthread_mutex_t lock;    /* guards everything below up to `thread` */
    pthread_cond_t nonempty; /* signalled when a job is queued or stopping is set */
    writer_job **ring;       /* circular queue of queue_size_max slots */
    size_t queue_size_max;
    size_t head, count; /* next to take, how many are queued */
    bool stopping;
    writer_stats stats;
    pthread_t thread;
    store *st;             /* used only by the writer thread */
    size_t batch_size_max; /* read-only after start */

    /* The checkpointer copies the WAL into the database file on its own connection, so the
     * writer's commits never pay for it (SQLite would otherwise checkpoint inside COMMIT). */
    pthread_t checkpointer;
    store *checkpoint_st; /* used only by the checkpointer thread */
    pthread_cond_t tick;  /* wakes the checkpointer early when stopping (with lock) */
    bool checkpointer_stopping;
    atomic_bool checkpoint_fresh; /* a passive pass just ended: the WAL is nearly all copied */
};

#define CHECKPOINT_INTERVAL_MS 200
/* WAL size at which the writer restarts the WAL between two batches. SQLite's write lock is not
 * fair: a checkpointer thread asking for a RESTART never wins it from a writer that begins again
 * right after each commit, so the WAL would grow without bound. The checkpointer copies the bulk
 * passively; the writer restarts right after one of its passes, when only the few batches since
 * remain to copy, so the pause is short (this took p99 from 24-25 ms to 19 ms, and past twice the
 * bound it restarts regardless). 16384 pages = 64 MiB; with a 200 ms checkpoint interval this
 * measured about 8% more recharges/s than 4096 pages at 50 ms, see docs/performance.md. */
#define WAL_RESTART_PAGES 16384

static size_t bucket_for(size_t batch_size)
{
    size_t bucket = 0;
    for (size_t limit = 1; bucket < 6 && batch_size > limit; limit *= 4)
        bucket++;
    return bucket;
}

/* Every job of a batch whose transaction could not commit is answered with the failure: its
 * savepoint's effects were rolled back with the transaction. */
static void fail_batch(writer_job **jobs, size_t count, topup_result result)
{
    for (size_t i = 0; i < count; i++) {
        jobs[i]->batch_result = result;
        recharge_response *response = &jobs[i]->response;
        memset(response, 0, sizeof *response);
        response->result = result;
        response->http_status = topup_result_http_status(result);
        problem_format(result, response->http_status, NULL, NULL, response->body,
                       sizeof response->body);
    }
}

static void run_batch(writer *w, writer_job **jobs, size_t count)
{
    int64_t now = clock_now_seconds();
    topup_result r = store_begin(w->st);
    if (r == TOPUP_OK) {
        for (size_t i = 0; i < count && r == TOPUP_OK; i++) {
            jobs[i]->batch_result = TOPUP_OK;
            if (jobs[i]->apply) {
                r = jobs[i]->apply(w->st, jobs[i]->payload, now);
                continue;
            }
            recharge_apply(w->st, &jobs[i]->request, now, &jobs[i]->response);
            /* After a storage failure SQLite may have rolled the whole transaction back already;
             * going on would run the rest outside it, so the batch ends here and fails whole. */
            if (jobs[i]->response.http_status >= 500)
                r = jobs[i]->response.result;
        }
        if (r == TOPUP_OK)
            r = store_commit(w->st);
    }
    if (r != TOPUP_OK) {
        fprintf(stderr, "topup: batch of %zu failed: %s\n", count, store_errmsg(w->st));
        store_rollback(w->st);
        fail_batch(jobs, count, r);
    }
    pthread_mutex_lock(&w->lock);
    w->stats.batch_count++;
    w->stats.job_count += count;
    w->stats.batch_size_buckets[bucket_for(count)]++;
    if (r != TOPUP_OK)
        w->stats.commit_failure_count++;
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < count; i++)
        jobs[i]->done(jobs[i]);
}

/* Takes up to batch_size_max jobs; returns 0 only when stopping and the queue is drained. */
static size_t take(writer *w, writer_job **jobs)
{
    pthread_mutex_lock(&w->lock);
    while (w->count == 0 && !w->stopping)
        pthread_cond_wait(&w->nonempty, &w->lock);
    size_t taken = 0;
    while (w->count > 0 && taken < w->batch_size_max) {
        jobs[taken++] = w->ring[w->head];
        w->head = (w->head + 1) % w->queue_size_max;
        w->count--;
    }
    pthread_mutex_unlock(&w->lock);
    return taken;
}

static void *writer_main(void *argument)
{
    writer *w = argument;
    writer_job **jobs = malloc(w->batch_size_max * sizeof *jobs);
    if (!jobs)
        abort(); /* allocated once at start; no way to answer anyone without it */
    size_t count;
    while ((count = take(w, jobs)) > 0) {
        run_batch(w, jobs, count);
        /* Restart right after a checkpointer pass, when what is left to copy is only the few
         * batches since: the pause stays short. Past twice the bound, restart regardless. */
        int wal_pages = store_wal_pages(w->st);
        bool fresh = atomic_exchange_explicit(&w->checkpoint_fresh, false, memory_order_acq_rel);
        if (((fresh && wal_pages > WAL_RESTART_PAGES) || wal_pages > 2 * WAL_RESTART_PAGES) &&
            store_checkpoint(w->st, 0, NULL) != TOPUP_OK)
            fprintf(stderr, "topup: WAL restart failed: %s\n", store_errmsg(w->st));
    }
    free(jobs);
    return NULL;
}

static void *checkpointer_main(void *argument)
{
    writer *w = argument;
    pthread_mutex_lock(&w->lock);
    while (!w->checkpointer_stopping) {
        struct timespec until = clock_deadline_after_ms(CHECKPOINT_INTERVAL_MS);
        pthread_cond_timedwait(&w->tick, &w->lock, &until);
        pthread_mutex_unlock(&w->lock);
        if (store_checkpoint(w->checkpoint_st, INT_MAX, NULL) != TOPUP_OK)
            fprintf(stderr, "topup: checkpoint failed: %s\n", store_errmsg(w->checkpoint_st));
        else
            atomic_store_explicit(&w->checkpoint_fresh, true, memory_order_release);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    /* A last full pass so a clean stop leaves the database file complete. */
    store_checkpoint(w->checkpoint_st, 0, NULL);
    return NULL;
}

static size_t clamp(size_t value, size_t low, size_t high)
{
    return value < low ? low : value > high ? high : value;
}

topup_result writer_start(const char *db_path, size_t queue_size_max, size_t batch_size_max,
                          writer **out)
{
    writer *w = calloc(1, sizeof *w);
    if (!w)
        return TOPUP_E_NOMEM;
    w->queue_size_max = clamp(queue_size_max, 1, WRITER_QUEUE_SIZE_MAX);
    w->batch_size_max = clamp(batch_size_max, 1, WRITER_BATCH_SIZE_MAX);
    w->ring = calloc(w->queue_size_max, sizeof *w->ring);
    topup_result r = w->ring ? store_open(db_path, STORE_READ_WRITE, &w->st) : TOPUP_E_NOMEM;
    if (r == TOPUP_OK)
        r = store_open(db_path, STORE_READ_WRITE, &w->checkpoint_st);
    if (r == TOPUP_OK)
        r = store_autocheckpoint_disable(w->st);
    if (r != TOPUP_OK) {
        store_close(w->st);
        store_close(w->checkpoint_st);
        free(w->ring);
        free(w);
        return r;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->nonempty, NULL);
    pthread_cond_init(&w->tick, NULL);
    if (pthread_create(&w->checkpointer, NULL, checkpointer_main, w) != 0)
        abort(); /* at start-up only: nothing has been accepted yet */
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        abort();
    *out = w;
    return TOPUP_OK;
}

void writer_drain(writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool already = w->stopping;
    w->stopping = true;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    if (already)
        return;
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->lock);
    w->checkpointer_stopping = true;
    pthread_cond_signal(&w->tick);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->checkpointer, NULL);
}

void writer_stop(writer *w)
{
    if (!w)
        return;
    writer_drain(w);
    store_close(w->st);
    store_close(w->checkpoint_st);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->nonempty);
    pthread_cond_destroy(&w->tick);
    free(w->ring);
    free(w);
}

topup_result writer_submit(writer *w, writer_job *job)
{
    pthread_mutex_lock(&w->lock);
    if (w->count == w->queue_size_max || w->stopping) {
        w->stats.busy_count++;
        pthread_mutex_unlock(&w->lock);
        return TOPUP_E_BUSY;
    }
    w->ring[(w->head + w->count) % w->queue_size_max] = job;
    w->count++;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    return TOPUP_OK;
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t done_signal;
    bool done;
};

static void wake_waiter(writer_job *job)
{
    struct waiter *waiter = job->context;
    pthread_mutex_lock(&waiter->lock);
    waiter->done = true;
    pthread_cond_signal(&waiter->done_signal);
    pthread_mutex_unlock(&waiter->lock);
}

topup_result writer_submit_wait(writer *w, writer_job *job)
{
    struct waiter waiter = {.done = false};
    pthread_mutex_init(&waiter.lock, NULL);
    pthread_cond_init(&waiter.done_signal, NULL);
    job->done = wake_waiter;
    job->context = &waiter;
    topup_result r = writer_submit(w, job);
    if (r == TOPUP_OK) {
        pthread_mutex_lock(&waiter.lock);
        while (!waiter.done)
            pthread_cond_wait(&waiter.done_signal, &waiter.lock);
        pthread_mutex_unlock(&waiter.lock);
    }
    pthread_mutex_destroy(&waiter.lock);
    pthread_cond_destroy(&waiter.done_signal);
    return r;
}

void writer_get_stats(writer *w, writer_stats *stats)
{
    pthread_mutex_lock(&w->lock);
    *stats = w->stats;
    stats->queue_depth = w->count;
    pthread_mutex_unlock(&w->lock);
}
