/* Counters for /metrics in the Prometheus text format. Updated lock-free with relaxed atomics
 * from every HTTP thread; a scrape reads them without stopping anyone. */
#ifndef TOPUP_METRICS_H
#define TOPUP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "service/dispatcher.h"
#include "service/writer.h"

#define METRICS_ROUTES_MAX      64
#define METRICS_STATUS_CLASSES  5 /* 1xx..5xx */
#define METRICS_LATENCY_BUCKETS 12

typedef struct route_metrics {
    atomic_uint_fast64_t requests[METRICS_STATUS_CLASSES];         /* by status class */
    atomic_uint_fast64_t latency_buckets[METRICS_LATENCY_BUCKETS]; /* cumulative at scrape */
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_count;
} route_metrics;

typedef struct metrics {
    route_metrics routes[METRICS_ROUTES_MAX + 1]; /* the last one counts unmatched requests */
    atomic_uint_fast64_t recharges_succeeded;
    atomic_uint_fast64_t recharges_refused;  /* a 4xx decided by the ledger (funds, closed) */
    atomic_uint_fast64_t recharges_replayed; /* idempotent replays */
    atomic_uint_fast64_t recharges_failed;   /* 5xx: storage failure or queue full */
} metrics;

/* Records one answered request on route_index (-1: no route matched). */
void metrics_observe(metrics *m, int route_index, int status, int64_t latency_us);

/* The SMS outbox at scrape time. */
typedef struct sms_metrics {
    dispatcher_stats dispatcher; /* counts since start */
    int64_t queued, sending, dead; /* messages in the outbox now */
} sms_metrics;

/* Renders everything as Prometheus text; route_names[i] labels route i; sms may be NULL (SMS
 * off). The caller frees the returned string; NULL on out of memory. */
char *metrics_render(const metrics *m, const char *const *route_names, size_t route_count,
                     const writer_stats *writer_totals, const sms_metrics *sms);

#endif
