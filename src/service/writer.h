/* The writer: one thread owns the database's write connection and commits many recharges in one
 * transaction and one fsync (group commit). Requests wait in a bounded queue; when it is full a
 * submit is refused with TOPUP_E_BUSY instead of the queue growing.
 *
 * Locking: the queue is guarded by writer.lock; a job belongs to the submitter until
 * writer_submit succeeds, to the writer until its done callback runs, then to the submitter. */
#ifndef TOPUP_WRITER_H
#define TOPUP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "service/recharge.h"

#define WRITER_BATCH_SIZE_MAX 4096
#define WRITER_QUEUE_SIZE_MAX 65536

typedef struct writer_job writer_job;
typedef void (*writer_done_fn)(writer_job *job);

/* A write other than a recharge: runs inside the batch's transaction and must keep its effects
 * in its own savepoint. It returns TOPUP_OK for a done or refused write (its answer is in its
 * payload) and the storage failure otherwise, which fails the whole batch. */
typedef topup_result (*writer_apply_fn)(store *st, void *payload, int64_t now);

struct writer_job {
    writer_apply_fn apply;      /* NULL: the job is the recharge in request/response */
    void *payload;              /* apply's */
    topup_result batch_result;  /* OUT: TOPUP_OK, or why the batch did not commit */
    recharge_request request;   /* IN (recharges) */
    recharge_response response; /* OUT: filled before done runs (recharges) */
    writer_done_fn done;        /* called on the writer thread after the commit (or failure) */
    void *context;              /* the submitter's */
};

typedef struct writer_stats {
    uint64_t batch_count;           /* transactions committed or failed */
    uint64_t job_count;             /* jobs completed */
    uint64_t busy_count;            /* submits refused because the queue was full */
    uint64_t batch_size_buckets[8]; /* batches of <=1, <=4, <=16, <=64, <=256, <=1024, more */
    uint64_t commit_failure_count;  /* batches whose commit failed (all answered 5xx) */
    size_t queue_depth;             /* jobs waiting now */
} writer_stats;

typedef struct writer writer;

/* Opens its own connection to db_path and starts the thread. queue_size_max and batch_size_max
 * are clamped to the WRITER_*_MAX bounds. */
topup_result writer_start(const char *db_path, size_t queue_size_max, size_t batch_size_max,
                          writer **out /* OUT */);

/* Refuses new jobs (writer_submit answers TOPUP_E_BUSY), answers everything queued and stops
 * the threads, but keeps the writer allocated, so callers that may still submit or read stats
 * (HTTP threads finishing their connections) stay safe until writer_stop. */
void writer_drain(writer *w);

/* Drains (if not done yet), closes the connections and frees the writer. */
void writer_stop(writer *w);

/* Queues a job; TOPUP_E_BUSY when the queue is full (the job stays the caller's). */
topup_result writer_submit(writer *w, writer_job *job);

/* Queues a job and waits for its answer (for the CLI's bench and tests). */
topup_result writer_submit_wait(writer *w, writer_job *job);

void writer_get_stats(writer *w, writer_stats *stats /* OUT */);

#endif
