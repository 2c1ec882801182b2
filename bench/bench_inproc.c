/* bench_inproc: row (b) of bench/run.sh, the in-process recharge pipeline without HTTP.
 *
 * Starts the group-commit writer (writer_start) on an existing DEMO database (made with
 * `topup init --demo` and `topup apikey create`), then runs submitter threads that each do what
 * the HTTP handler does after parsing the body (src/http/routes.c post_recharge): resolve the
 * number (numbers_resolve, which reads the portability table through the thread's own read
 * connection), quote CNY 50 (catalog_quote_amount), fill the request (recharge_request_set_quote,
 * channel "api", the API key's id and funding account, a unique Idempotency-Key and the SHA-256
 * of the request's canonical form) and hand it to the writer with writer_submit_wait. Every
 * answer must be 201; anything else is counted and makes the run fail.
 *
 * Numbers are drawn like bench/recharge.lua's: 138/139/150 (China Mobile), 186 (China Unicom),
 * 133 (China Telecom), then "0013" and 4 random digits, so about 50,000 subscribers.
 *
 * Prints one machine-readable line:
 *   bench_inproc: recharges=N created=N other=N threads=N seconds=S rps=N batches=N
 *                 batch_avg=X p50_ms=X p99_ms=X
 *
 * Exposed to: nothing but its command line and the database it is pointed at. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/decimal.h"
#include "service/numbers.h"
#include "service/recharge.h"
#include "service/writer.h"
#include "store/store.h"

#define THREAD_COUNT_MAX  1024
#define API_KEY_COUNT_MAX 64
#define FACE_MINOR        5000 /* CNY 50: a fixed product of each CN operator of the DEMO catalog */
#define QUEUE_SIZE_MAX    8192 /* topupd's defaults (server_config_defaults) */
#define BATCH_SIZE_MAX    1024

static const char *const number_prefixes[] = {"1380013", "1390013", "1500013", "1860013",
                                              "1330013"};

typedef struct bench {
    const char *db_path;
    catalog *cat; /* shared, read-only snapshot */
    writer *w;
    int64_t api_key_id;
    char funding_account[ACCOUNT_CODE_SIZE];
    atomic_uint_fast64_t next_key; /* Idempotency-Keys are "inproc-N", N from this counter */
    atomic_uint_fast64_t created;  /* 201 answers */
    atomic_uint_fast64_t other;    /* anything else */
    pthread_mutex_t first_other_lock;
    char first_other[RECHARGE_RESPONSE_SIZE + 64]; /* guarded by first_other_lock */
} bench;

typedef struct submitter {
    bench *b;
    pthread_t thread;
    unsigned index;
    size_t recharge_count;  /* how many this thread submits */
    uint32_t *latencies_us; /* one per recharge, recharge_count long */
    int failed;             /* set when the thread could not even start */
} submitter;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void note_other(bench *b, const char *what)
{
    atomic_fetch_add(&b->other, 1);
    pthread_mutex_lock(&b->first_other_lock);
    if (b->first_other[0] == '\0')
        snprintf(b->first_other, sizeof b->first_other, "%s", what);
    pthread_mutex_unlock(&b->first_other_lock);
}

/* Fills job->request as post_recharge does for {"msisdn": input, "amount_minor": 5000,
 * "currency": "CNY"}; returns the refusal otherwise. */
static topup_result resolve(bench *b, store *reader, const char *input, const char *key,
                            writer_job *job)
{
    number_info number;
    topup_result r = numbers_resolve(b->cat, reader, "CN", input, &number);
    product_quote quote;
    if (r == TOPUP_OK)
        r = catalog_quote_amount(b->cat, number.op, FACE_MINOR, "CNY", &quote);
    if (r != TOPUP_OK)
        return r;
    recharge_request *request = &job->request;
    memset(request, 0, sizeof *request);
    recharge_request_set_quote(request, number.e164, number.op, &quote);
    snprintf(request->channel, sizeof request->channel, "api");
    request->api_key_id = b->api_key_id;
    snprintf(request->idempotency_key, sizeof request->idempotency_key, "%s", key);
    memcpy(request->funding_account, b->funding_account, sizeof request->funding_account);
    /* The handler hashes the body re-serialised with sorted keys, prefixed by the route. */
    char canonical[160];
    int length = snprintf(canonical, sizeof canonical,
                          "POST /v1/recharges\n{\"amount_minor\":%d,\"currency\":\"CNY\","
                          "\"msisdn\":\"%s\"}",
                          FACE_MINOR, input);
    SHA256((const unsigned char *)canonical, (size_t)length, request->request_hash);
    return TOPUP_OK;
}

static void *submitter_main(void *argument)
{
    submitter *s = argument;
    bench *b = s->b;
    store *reader = NULL;
    writer_job *job = calloc(1, sizeof *job);
    topup_result r = job ? store_open(b->db_path, STORE_READ_ONLY, &reader) : TOPUP_E_NOMEM;
    if (r != TOPUP_OK) {
        fprintf(stderr, "bench_inproc: thread %u cannot open a read connection: %s\n", s->index,
                topup_strerror(r));
        s->failed = 1;
        free(job);
        return NULL;
    }
    uint64_t random_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(s->index + 1) * 0x100000001b3ULL);
    for (size_t i = 0; i < s->recharge_count; i++) {
        uint64_t x = xorshift(&random_state);
        char input[16], key[IDEMPOTENCY_KEY_SIZE];
        snprintf(input, sizeof input, "%s%04u",
                 number_prefixes[x % (sizeof number_prefixes / sizeof number_prefixes[0])],
                 (unsigned)((x >> 16) % 10000));
        /* One counter for all threads, like the single stream of keys of bench_sqlite_raw:
         * consecutive keys land on the same few pages of the idempotency index. */
        snprintf(key, sizeof key, "inproc-%" PRIuFAST64, atomic_fetch_add(&b->next_key, 1));
        double started = now_seconds();
        r = resolve(b, reader, input, key, job);
        if (r != TOPUP_OK) {
            char what[160];
            snprintf(what, sizeof what, "resolving %s: %s", input, topup_result_code(r));
            note_other(b, what);
            continue;
        }
        /* A full queue pushes back; the HTTP front answers 503 then, a bench waits and retries. */
        while ((r = writer_submit_wait(b->w, job)) == TOPUP_E_BUSY)
            nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        double elapsed_us = (now_seconds() - started) * 1e6;
        s->latencies_us[i] = elapsed_us > UINT32_MAX ? UINT32_MAX : (uint32_t)elapsed_us;
        if (r == TOPUP_OK && job->response.http_status == 201) {
            atomic_fetch_add(&b->created, 1);
        } else {
            char what[RECHARGE_RESPONSE_SIZE + 32];
            snprintf(what, sizeof what, "%d %s", r == TOPUP_OK ? job->response.http_status : 0,
                     r == TOPUP_OK ? job->response.body : topup_result_code(r));
            note_other(b, what);
        }
    }
    store_close(reader);
    free(job);
    return NULL;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int parse_size(const char *text, size_t low, size_t high, size_t *out)
{
    int64_t value;
    if (!decimal_parse(text, (int64_t)low, (int64_t)high, &value))
        return -1;
    *out = (size_t)value;
    return 0;
}

/* The key the bench uses: the one named "bench", else the first active one. */
static int pick_api_key(store *reader, bench *b)
{
    api_key_row keys[API_KEY_COUNT_MAX];
    size_t key_count = 0;
    if (store_api_key_list(reader, keys, API_KEY_COUNT_MAX, &key_count) != TOPUP_OK)
        return -1;
    const api_key_row *chosen = NULL;
    for (size_t i = 0; i < key_count; i++) {
        if (keys[i].revoked_at != 0)
            continue;
        if (!chosen || strcmp(keys[i].name, "bench") == 0)
            chosen = &keys[i];
    }
    if (!chosen)
        return -1;
    b->api_key_id = chosen->id;
    memcpy(b->funding_account, chosen->funding_account, sizeof b->funding_account);
    return 0;
}

static const char usage[] =
    "usage: bench_inproc --db PATH [--count N] [--threads N] [--batch-max N]\n"
    "Submits N recharges (default 200000) from --threads submitter threads (default 64) to the\n"
    "group-commit writer on a DEMO database made with 'topup init --demo' and\n"
    "'topup apikey create'. --batch-max is the writer's batch bound (default 1024, topupd's).\n";

int main(int argc, char **argv)
{
    const char *db_path = NULL;
    size_t recharge_count = 200000, thread_count = 64, batch_size_max = BATCH_SIZE_MAX;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !value;
        if (strcmp(argv[i], "--db") == 0 && value)
            db_path = value;
        else if (strcmp(argv[i], "--count") == 0 && value)
            bad = parse_size(value, 1, 100000000, &recharge_count);
        else if (strcmp(argv[i], "--threads") == 0 && value)
            bad = parse_size(value, 1, THREAD_COUNT_MAX, &thread_count);
        else if (strcmp(argv[i], "--batch-max") == 0 && value)
            bad = parse_size(value, 1, WRITER_BATCH_SIZE_MAX, &batch_size_max);
        else
            bad = 1;
        if (bad) {
            fputs(usage, stderr);
            return 2;
        }
        i++;
    }
    if (!db_path) {
        fputs(usage, stderr);
        return 2;
    }

    static bench b;
    b.db_path = db_path;
    pthread_mutex_init(&b.first_other_lock, NULL);
    store *reader;
    topup_result r = store_open(db_path, STORE_READ_ONLY, &reader);
    if (r == TOPUP_OK) {
        r = store_catalog_load(reader, &b.cat, NULL);
        if (r == TOPUP_OK && pick_api_key(reader, &b) != 0)
            r = TOPUP_E_NOT_FOUND;
        store_close(reader);
    }
    if (r != TOPUP_OK) {
        fprintf(stderr, "bench_inproc: cannot load the catalog and an API key from %s: %s\n",
                db_path, topup_strerror(r));
        return 1;
    }
    r = writer_start(db_path, QUEUE_SIZE_MAX, batch_size_max, &b.w);
    if (r != TOPUP_OK) {
        fprintf(stderr, "bench_inproc: cannot start the writer on %s: %s\n", db_path,
                topup_strerror(r));
        return 1;
    }

    submitter *submitters = calloc(thread_count, sizeof *submitters);
    uint32_t *latencies_us = calloc(recharge_count, sizeof *latencies_us);
    if (!submitters || !latencies_us) {
        fputs("bench_inproc: out of memory\n", stderr);
        return 1;
    }
    double started = now_seconds();
    size_t assigned = 0;
    for (size_t t = 0; t < thread_count; t++) {
        submitter *s = &submitters[t];
        s->b = &b;
        s->index = (unsigned)t;
        s->recharge_count = recharge_count / thread_count + (t < recharge_count % thread_count);
        s->latencies_us = latencies_us + assigned;
        assigned += s->recharge_count;
        if (pthread_create(&s->thread, NULL, submitter_main, s) != 0) {
            fprintf(stderr, "bench_inproc: cannot start thread %zu\n", t);
            return 1;
        }
    }
    int failed = 0;
    for (size_t t = 0; t < thread_count; t++) {
        pthread_join(submitters[t].thread, NULL);
        failed |= submitters[t].failed;
    }
    double seconds = now_seconds() - started;
    writer_stats stats;
    writer_get_stats(b.w, &stats);
    writer_stop(b.w);
    catalog_unref(b.cat);

    qsort(latencies_us, recharge_count, sizeof *latencies_us, compare_u32);
    uint64_t created = atomic_load(&b.created), other = atomic_load(&b.other);
    printf("bench_inproc: recharges=%zu created=%" PRIu64 " other=%" PRIu64
           " threads=%zu seconds=%.2f rps=%.0f batches=%" PRIu64
           " batch_avg=%.1f p50_ms=%.2f p99_ms=%.2f\n",
           recharge_count, created, other, thread_count, seconds, (double)created / seconds,
           stats.batch_count,
           stats.batch_count ? (double)stats.job_count / (double)stats.batch_count : 0.0,
           latencies_us[recharge_count / 2] / 1000.0,
           latencies_us[recharge_count - 1 - recharge_count / 100] / 1000.0);
    if (other > 0)
        fprintf(stderr, "bench_inproc: %" PRIu64 " answers were not 201; the first: %s\n", other,
                b.first_other);
    free(latencies_us);
    free(submitters);
    return failed || other > 0 || created != recharge_count ? 1 : 0;
}
