#include "http/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Upper bounds in microseconds of the latency histogram; the last bucket is +Inf. */
static const uint64_t latency_bounds_us[METRICS_LATENCY_BUCKETS - 1] = {
    500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 500000, 1000000};

void metrics_observe(metrics *m, int route_index, int status, int64_t latency_us)
{
    route_metrics *r = &m->routes[route_index < 0 ? METRICS_ROUTES_MAX : route_index];
    int status_class = status / 100 - 1;
    if (status_class < 0 || status_class >= METRICS_STATUS_CLASSES)
        status_class = METRICS_STATUS_CLASSES - 1;
    atomic_fetch_add_explicit(&r->requests[status_class], 1, memory_order_relaxed);
    size_t bucket = 0;
    while (bucket < METRICS_LATENCY_BUCKETS - 1 && (uint64_t)latency_us > latency_bounds_us[bucket])
        bucket++;
    atomic_fetch_add_explicit(&r->latency_buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->latency_sum_us, (uint64_t)latency_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->latency_count, 1, memory_order_relaxed);
}

typedef struct text {
    char *data;
    size_t length, capacity;
    int failed;
} text;

static void append(text *t, const char *format, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list arguments;
        va_start(arguments, format);
        int needed = vsnprintf(t->data + t->length, t->capacity - t->length, format, arguments);
        va_end(arguments);
        if (needed < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)needed < t->capacity - t->length) {
            t->length += (size_t)needed;
            return;
        }
        size_t capacity = t->capacity * 2 + (size_t)needed;
        char *data = realloc(t->data, capacity);
        if (!data) {
            t->failed = 1;
            return;
        }
        t->data = data;
        t->capacity = capacity;
    }
}

static uint64_t load(const atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void render_requests(text *t, const route_metrics *r, const char *name)
{
    for (int c = 0; c < METRICS_STATUS_CLASSES; c++)
        if (load(&r->requests[c]))
            append(t, "topup_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", name, c + 1,
                   (unsigned long long)load(&r->requests[c]));
}

static void render_latency(text *t, const route_metrics *r, const char *name)
{
    if (!load(&r->latency_count))
        return;
    uint64_t cumulative = 0;
    for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
        cumulative += load(&r->latency_buckets[b]);
        if (b < METRICS_LATENCY_BUCKETS - 1)
            append(t, "topup_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                   name, (double)latency_bounds_us[b] / 1e6, (unsigned long long)cumulative);
        else
            append(t, "topup_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                   name, (unsigned long long)cumulative);
    }
    append(t, "topup_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
           (double)load(&r->latency_sum_us) / 1e6);
    append(t, "topup_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
           (unsigned long long)load(&r->latency_count));
}

typedef void (*render_route_fn)(text *t, const route_metrics *r, const char *name);

/* One metric family over every route: the text format wants a family's lines together. */
static void render_family(text *t, const metrics *m, const char *const *route_names,
                          size_t route_count, render_route_fn render)
{
    for (size_t i = 0; i < route_count && i < METRICS_ROUTES_MAX; i++)
        render(t, &m->routes[i], route_names[i]);
    render(t, &m->routes[METRICS_ROUTES_MAX], "unmatched");
}

static void render_writer(text *t, const writer_stats *w)
{
    static const char *const bucket_bounds[] = {"1", "4", "16", "64", "256", "1024", "+Inf"};
    append(t, "# TYPE topup_commit_batch_size histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < sizeof bucket_bounds / sizeof bucket_bounds[0]; b++) {
        cumulative += w->batch_size_buckets[b];
        append(t, "topup_commit_batch_size_bucket{le=\"%s\"} %llu\n", bucket_bounds[b],
               (unsigned long long)cumulative);
    }
    append(t, "topup_commit_batch_size_count %llu\n", (unsigned long long)w->batch_count);
    append(t, "topup_commit_batch_size_sum %llu\n", (unsigned long long)w->job_count);
    append(t, "# TYPE topup_commit_failures_total counter\ntopup_commit_failures_total %llu\n",
           (unsigned long long)w->commit_failure_count);
    append(t, "# TYPE topup_write_queue_depth gauge\ntopup_write_queue_depth %zu\n",
           w->queue_depth);
    append(t, "# TYPE topup_write_queue_full_total counter\ntopup_write_queue_full_total %llu\n",
           (unsigned long long)w->busy_count);
}

static void render_sms(text *t, const sms_metrics *sms)
{
    const dispatcher_stats *d = &sms->dispatcher;
    append(t, "# TYPE topup_sms_outbox_messages gauge\n");
    append(t, "topup_sms_outbox_messages{status=\"queued\"} %lld\n", (long long)sms->queued);
    append(t, "topup_sms_outbox_messages{status=\"sending\"} %lld\n", (long long)sms->sending);
    append(t, "topup_sms_outbox_messages{status=\"dead\"} %lld\n", (long long)sms->dead);
    append(t, "# TYPE topup_sms_sent_total counter\n");
    append(t, "topup_sms_sent_total{result=\"sent\"} %llu\n", (unsigned long long)d->sent);
    append(t, "topup_sms_sent_total{result=\"retried\"} %llu\n", (unsigned long long)d->retried);
    append(t, "topup_sms_sent_total{result=\"dead\"} %llu\n", (unsigned long long)d->dead);
    append(t, "# TYPE topup_sms_receipts_total counter\n");
    append(t, "topup_sms_receipts_total %llu\n", (unsigned long long)d->receipts);
    append(t, "# TYPE topup_sms_link_up gauge\n");
    append(t, "topup_sms_link_up %d\n", d->ready ? 1 : 0);
}

char *metrics_render(const metrics *m, const char *const *route_names, size_t route_count,
                     const writer_stats *writer_totals, const sms_metrics *sms)
{
    text t = {.data = malloc(4096), .capacity = 4096};
    if (!t.data)
        return NULL;
    append(&t, "# TYPE topup_http_requests_total counter\n");
    render_family(&t, m, route_names, route_count, render_requests);
    append(&t, "# TYPE topup_http_request_duration_seconds histogram\n");
    render_family(&t, m, route_names, route_count, render_latency);
    append(&t, "# TYPE topup_recharges_total counter\n");
    append(&t, "topup_recharges_total{result=\"succeeded\"} %llu\n",
           (unsigned long long)load(&m->recharges_succeeded));
    append(&t, "topup_recharges_total{result=\"refused\"} %llu\n",
           (unsigned long long)load(&m->recharges_refused));
    append(&t, "topup_recharges_total{result=\"replayed\"} %llu\n",
           (unsigned long long)load(&m->recharges_replayed));
    append(&t, "topup_recharges_total{result=\"failed\"} %llu\n",
           (unsigned long long)load(&m->recharges_failed));
    render_writer(&t, writer_totals);
    if (sms)
        render_sms(&t, sms);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}
