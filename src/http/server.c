/* topupd's HTTP front: libmicrohttpd with a small thread pool on epoll. A write request is parsed
 * and resolved on the HTTP thread, queued for the writer, and its connection is suspended; the
 * writer's completion resumes it, so a thread never blocks on a commit and a few threads serve
 * many waiting clients.
 *
 * Exposed to: anyone who can reach the listening address. Trusts: nothing in a request before
 * its API key is checked, and no field after (every field is validated by the handler). */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/problem.h"
#include "partners/signature.h"
#include "payments/notify.h"

#define CONNECTION_LIMIT     4096
#define CONNECTION_TIMEOUT_S 30
#define CATALOG_POLL_MS      500
#define IDEMPOTENCY_KEEP_S   (48 * 3600) /* promised: at least 24 h */
#define PURGE_EVERY_MS       (60 * 1000) /* old nonces and idempotency keys */

static __thread store *thread_reader; /* this thread's read connection, see server_reader */

void server_config_defaults(server_config *config)
{
    memset(config, 0, sizeof *config);
    config->db_path = "var/topup.db";
    snprintf(config->listen_host, sizeof config->listen_host, "127.0.0.1");
    config->port = 8080;
    snprintf(config->default_country, sizeof config->default_country, "CN");
    config->thread_count = 2;
    config->queue_size_max = 8192;
    config->batch_size_max = 1024;
    payment_settings_defaults(&config->payments);
    sms_settings_defaults(&config->sms);
    partners_settings_defaults(&config->partners);
    portal_settings_defaults(&config->portal);
    counter_settings_defaults(&config->counter);
}

store *server_reader(server *srv)
{
    if (thread_reader)
        return thread_reader;
    store *st;
    if (store_open(srv->config.db_path, STORE_READ_ONLY, &st) != TOPUP_OK)
        return NULL;
    pthread_mutex_lock(&srv->readers_lock);
    if (srv->reader_count == READERS_MAX) {
        pthread_mutex_unlock(&srv->readers_lock);
        store_close(st);
        return NULL;
    }
    srv->readers[srv->reader_count++] = st;
    pthread_mutex_unlock(&srv->readers_lock);
    thread_reader = st;
    return st;
}

catalog *server_catalog(server *srv)
{
    pthread_mutex_lock(&srv->catalog_lock);
    catalog *cat = catalog_ref(srv->current_catalog);
    pthread_mutex_unlock(&srv->catalog_lock);
    return cat;
}

/* ---- answers ---- */

static void set_answer(request *rq, int status, const char *content_type, char *owned_body,
                       size_t body_size)
{
    free(rq->answer);
    rq->status = status;
    rq->content_type = content_type;
    rq->answer = owned_body;
    rq->answer_size = body_size;
}

void answer_json(request *rq, int status, const char *body, size_t body_size)
{
    char *copy = malloc(body_size + 1);
    if (copy) {
        memcpy(copy, body, body_size);
        copy[body_size] = '\0';
    }
    set_answer(rq, copy ? status : 500, "application/json", copy, copy ? body_size : 0);
}

void answer_json_value(request *rq, int status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (!text) {
        answer_problem(rq, TOPUP_E_NOMEM, 503, NULL, NULL);
        return;
    }
    set_answer(rq, status, "application/json", text, strlen(text));
}

void answer_problem(request *rq, topup_result result, int status, const char *code,
                    const char *detail)
{
    char buffer[PROBLEM_SIZE];
    int length = problem_format(result, status, code, detail, buffer, sizeof buffer);
    answer_json(rq, status, buffer, (size_t)length);
    rq->content_type = "application/problem+json";
}

/* ---- writes through the writer ---- */

static void count_recharge(metrics *m, const recharge_response *response)
{
    atomic_uint_fast64_t *counter = response->replayed             ? &m->recharges_replayed
                                    : response->http_status >= 500 ? &m->recharges_failed
                                    : response->result == TOPUP_OK ? &m->recharges_succeeded
                                                                   : &m->recharges_refused;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Runs on the writer thread once the job's batch is committed (or failed). */
static void write_done(writer_job *job)
{
    request *rq = job->context;
    recharge_response *response = &job->response;
    count_recharge(&rq->srv->metrics, response);
    answer_json(rq, response->http_status, response->body, strlen(response->body));
    if (response->http_status >= 400)
        rq->content_type = "application/problem+json";
    rq->replayed = response->replayed;
    MHD_resume_connection(rq->connection);
}

void server_submit_write(request *rq)
{
    rq->job.done = write_done;
    rq->job.context = rq;
    /* Suspend first: the writer may finish and resume before writer_submit even returns. */
    rq->submitted = true;
    MHD_suspend_connection(rq->connection);
    topup_result r = writer_submit(rq->srv->writer, &rq->job);
    if (r == TOPUP_OK)
        return;
    atomic_fetch_add_explicit(&rq->srv->metrics.recharges_failed, 1, memory_order_relaxed);
    answer_problem(rq, r, 503, NULL, NULL);
    rq->retry_after = true;
    MHD_resume_connection(rq->connection);
}

/* Runs on the writer thread once a non-recharge job's batch is committed (or failed). */
static void job_done(writer_job *job)
{
    request *rq = job->context;
    if (job->batch_result != TOPUP_OK)
        answer_problem(rq, job->batch_result, topup_result_http_status(job->batch_result), NULL,
                       NULL);
    else
        rq->finish(rq);
    MHD_resume_connection(rq->connection);
}

void server_submit_job(request *rq, writer_apply_fn apply, void *payload, request_work_fn finish)
{
    rq->job.apply = apply;
    rq->job.payload = payload;
    rq->job.done = job_done;
    rq->job.context = rq;
    rq->finish = finish;
    rq->submitted = true;
    MHD_suspend_connection(rq->connection);
    topup_result r = writer_submit(rq->srv->writer, &rq->job);
    if (r == TOPUP_OK)
        return;
    answer_problem(rq, r, 503, NULL, NULL);
    rq->retry_after = true;
    MHD_resume_connection(rq->connection);
}

typedef struct detached {
    request *rq;
    request_work_fn work;
} detached;

static void *detached_main(void *argument)
{
    detached d = *(detached *)argument;
    free(argument);
    server *srv = d.rq->srv;
    d.work(d.rq);
    MHD_resume_connection(d.rq->connection);
    atomic_fetch_sub(&srv->detached_count, 1);
    return NULL;
}

void server_run_detached(request *rq, request_work_fn work)
{
    detached *d = malloc(sizeof *d);
    pthread_t thread;
    pthread_attr_t attributes;
    rq->submitted = true;
    MHD_suspend_connection(rq->connection);
    atomic_fetch_add(&rq->srv->detached_count, 1);
    bool started = false;
    if (d && pthread_attr_init(&attributes) == 0) {
        *d = (detached){rq, work};
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&thread, &attributes, detached_main, d) == 0;
        pthread_attr_destroy(&attributes);
    }
    if (started)
        return;
    free(d);
    atomic_fetch_sub(&rq->srv->detached_count, 1);
    answer_problem(rq, TOPUP_E_BUSY, 503, NULL, NULL);
    rq->retry_after = true;
    MHD_resume_connection(rq->connection);
}

void http_peer_address(request *rq, char *ip, size_t ip_size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(rq->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *address = info ? info->client_addr : NULL;
    snprintf(ip, ip_size, "unknown");
    if (address && address->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)address)->sin_addr, ip,
                  (socklen_t)ip_size);
    else if (address && address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)address)->sin6_addr, ip,
                  (socklen_t)ip_size);
    /* An IPv4 peer of an IPv6 socket is written as itself, as allow-lists spell it. */
    if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
        memmove(ip, ip + 7, strlen(ip + 7) + 1);
}

/* ---- routing ---- */

/* Matches path against a pattern whose "{}" stands for one non-empty segment, copied to param;
 * the segments of a pattern with several "{}" are joined with '/' ("/r/{}/{}": "12/ab"). */
static bool path_matches(const char *pattern, const char *path, char *param, size_t param_size)
{
    size_t used = 0;
    param[0] = '\0';
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t length = strcspn(path, "/");
            size_t at = used ? used + 1 : 0;
            if (length == 0 || at + length >= param_size)
                return false;
            if (used)
                param[used] = '/';
            memcpy(param + at, path, length);
            used = at + length;
            param[used] = '\0';
            path += length;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

static scope scope_level(const char *scopes)
{
    scope level = SCOPE_NONE;
    char copy[API_KEY_SCOPES_SIZE];
    snprintf(copy, sizeof copy, "%s", scopes);
    char *saved;
    for (char *name = strtok_r(copy, ",", &saved); name; name = strtok_r(NULL, ",", &saved)) {
        scope s = strcmp(name, "admin") == 0      ? SCOPE_ADMIN
                  : strcmp(name, "recharge") == 0 ? SCOPE_RECHARGE
                  : strcmp(name, "read") == 0     ? SCOPE_READ
                                                  : SCOPE_NONE;
        if (s > level)
            level = s;
    }
    return level;
}

/* A small per-thread cache of authenticated keys, so the hot path does not query the database
 * for every request. An entry is good only for the catalog version it was read under: revoking a
 * key bumps that version, so a revoked key stops working within one watcher poll. */
#define KEY_CACHE_SIZE 16

typedef struct cached_key {
    uint8_t hash[REQUEST_HASH_SIZE];
    api_key_row key;
    int64_t version; /* catalog version the key was read under */
    bool used;
} cached_key;

static __thread cached_key key_cache[KEY_CACHE_SIZE];

static topup_result find_key(server *srv, const uint8_t hash[REQUEST_HASH_SIZE], api_key_row *key)
{
    /* The version is read before the database: a revocation committed after this read bumps the
     * version past it, so the entry made below can never outlive the revocation. */
    int64_t version = atomic_load_explicit(&srv->catalog_version, memory_order_acquire);
    cached_key *slot = &key_cache[hash[0] % KEY_CACHE_SIZE];
    if (slot->used && slot->version == version &&
        memcmp(slot->hash, hash, REQUEST_HASH_SIZE) == 0) {
        *key = slot->key;
        return TOPUP_OK;
    }
    store *reader = server_reader(srv);
    topup_result r = reader ? store_api_key_find(reader, hash, key) : TOPUP_E_STORAGE;
    if (r == TOPUP_OK) {
        memcpy(slot->hash, hash, REQUEST_HASH_SIZE);
        slot->key = *key;
        slot->version = version;
        slot->used = true;
    }
    return r;
}

/* Checks the bearer key; answers 401/403 and returns false when the caller may not go on. */
static bool authorize(request *rq, scope required)
{
    if (required == SCOPE_NONE)
        return true;
    if (required == SCOPE_PARTNER)
        return partner_authorize(rq);
    if (required == SCOPE_PORTAL)
        return portal_authorize(rq);
    if (required == SCOPE_COUNTER)
        return counter_authorize(rq);
    const char *header =
        MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Authorization");
    if (!header || strncmp(header, "Bearer ", 7) != 0 || header[7] == '\0') {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 401, "unauthorized",
                       "Send the API key as 'Authorization: Bearer <key>'.");
        return false;
    }
    uint8_t hash[REQUEST_HASH_SIZE];
    const char *secret = header + 7;
    SHA256((const unsigned char *)secret, strlen(secret), hash);
    topup_result r = find_key(rq->srv, hash, &rq->key);
    if (r == TOPUP_E_NOT_FOUND) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 401, "unauthorized",
                       "The API key is unknown or revoked.");
        return false;
    }
    if (r != TOPUP_OK) {
        answer_problem(rq, r, topup_result_http_status(r), NULL, NULL);
        return false;
    }
    if (scope_level(rq->key.scopes) < required) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 403, "forbidden",
                       "The API key does not have the scope this request needs.");
        return false;
    }
    return true;
}

static void dispatch(request *rq)
{
    size_t route_count;
    const route *table = routes_table(&route_count);
    char allow[64] = "";
    for (size_t i = 0; i < route_count; i++) {
        char param[sizeof rq->param];
        if (!path_matches(table[i].pattern, rq->url, param, sizeof param))
            continue;
        if (strcmp(table[i].method, rq->method) != 0) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", table[i].method);
            continue;
        }
        rq->route_index = (int)i;
        memcpy(rq->param, param, sizeof param);
        if (rq->body_too_large) {
            answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 413, "body_too_large",
                           "The request body is larger than 64 KiB.");
            return;
        }
        if (authorize(rq, table[i].required))
            table[i].handler(rq);
        return;
    }
    if (allow[0]) {
        static __thread char allow_header[64];
        memcpy(allow_header, allow, sizeof allow_header);
        rq->allow = allow_header;
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 405, "method_not_allowed",
                       "This path does not accept that method; see the Allow header.");
        return;
    }
    answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such path in the API.");
}

/* ---- libmicrohttpd callbacks ---- */

/* What a browser is told about the portal's pages: scripts and styles only from topupd itself
 * (no inline code, so an injected string cannot run), never framed, no referrer elsewhere. */
static void add_page_headers(struct MHD_Response *response)
{
    MHD_add_response_header(response, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                            "form-action 'self'; base-uri 'none'");
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    MHD_add_response_header(response, "Referrer-Policy", "same-origin");
}

static enum MHD_Result send_answer(request *rq)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        rq->answer_size, rq->answer ? rq->answer : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, rq->content_type);
    MHD_add_response_header(response, "Cache-Control",
                            rq->cache_control ? rq->cache_control : "no-store");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    if (rq->page)
        add_page_headers(response);
    for (size_t i = 0; i < sizeof rq->set_cookie / sizeof rq->set_cookie[0]; i++)
        if (rq->set_cookie[i][0])
            MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, rq->set_cookie[i]);
    if (rq->etag[0])
        MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, rq->etag);
    if (rq->content_disposition)
        MHD_add_response_header(response, "Content-Disposition", rq->content_disposition);
    if (rq->allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, rq->allow);
    if (rq->replayed)
        MHD_add_response_header(response, "Idempotent-Replayed", "true");
    char retry[24];
    snprintf(retry, sizeof retry, "%d", rq->retry_after_s > 0 ? rq->retry_after_s : 1);
    if (rq->retry_after || rq->retry_after_s > 0)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    enum MHD_Result queued = MHD_queue_response(rq->connection, (unsigned)rq->status, response);
    MHD_destroy_response(response);
    return queued;
}

/* libmicrohttpd calls this with the request target exactly as sent, before it decodes it: the
 * request is made here so that the raw target (what a partner signs) is kept. */
static void *request_new(void *cls, const char *uri, struct MHD_Connection *connection)
{
    request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    rq->srv = cls;
    rq->connection = connection;
    rq->raw_uri = strdup(uri ? uri : "");
    rq->route_index = -1;
    rq->started_us = clock_monotonic_us();
    rq->content_type = "application/json";
    return rq;
}

static void request_start(request *rq, const char *method, const char *url)
{
    rq->started = true;
    rq->method = method;
    rq->url = url;
    const char *length = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    /* Refuse early on the declared size so a large body is never buffered. */
    if (length && strtoull(length, NULL, 10) > BODY_SIZE_MAX)
        rq->body_too_large = true;
}

static void receive(request *rq, const char *data, size_t size)
{
    if (rq->body_too_large || rq->body_size + size > BODY_SIZE_MAX) {
        rq->body_too_large = true;
        return;
    }
    char *grown = realloc(rq->body, rq->body_size + size + 1);
    if (!grown) {
        rq->body_too_large = true; /* answered as 413: no memory for it is the same refusal */
        return;
    }
    memcpy(grown + rq->body_size, data, size);
    rq->body = grown;
    rq->body_size += size;
    rq->body[rq->body_size] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **context)
{
    (void)version;
    (void)cls;
    (void)connection;
    request *rq = *context;
    if (!rq || !rq->raw_uri)
        return MHD_NO; /* out of memory when it arrived */
    if (!rq->started) {
        request_start(rq, method, url);
        return MHD_YES;
    }
    if (!rq->dispatched && *upload_data_size) {
        receive(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!rq->dispatched) {
        rq->dispatched = true;
        dispatch(rq);
        /* Once submitted, the answer is the writer thread's until it resumes the connection;
         * libmicrohttpd calls again only after that, so nothing of it is read here before. */
        if (rq->submitted)
            return MHD_YES;
    }
    return send_answer(rq);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **context,
                         enum MHD_RequestTerminationCode code)
{
    (void)connection;
    (void)code;
    server *srv = cls;
    request *rq = *context;
    if (!rq)
        return;
    int64_t latency_us = clock_monotonic_us() - rq->started_us;
    metrics_observe(&srv->metrics, rq->route_index, rq->status ? rq->status : 500, latency_us);
    free(rq->raw_uri);
    free(rq->body);
    free(rq->answer);
    free(rq->work);
    free(rq);
    *context = NULL;
}

/* ---- catalog watcher ---- */

static void reload_catalog(server *srv, store *st)
{
    int64_t version;
    if (store_catalog_version(st, &version) != TOPUP_OK ||
        version == atomic_load_explicit(&srv->catalog_version, memory_order_relaxed))
        return;
    catalog *fresh;
    if (store_catalog_load(st, &fresh, &version) != TOPUP_OK)
        return;
    pthread_mutex_lock(&srv->catalog_lock);
    catalog *old = srv->current_catalog;
    srv->current_catalog = fresh;
    pthread_mutex_unlock(&srv->catalog_lock);
    atomic_store_explicit(&srv->catalog_version, version, memory_order_release);
    catalog_unref(old);
}

static void purge_idempotency(store *st)
{
    if (store_begin(st) != TOPUP_OK)
        return;
    int64_t now = clock_now_seconds();
    /* A nonce older than twice the clock tolerance comes with a stale timestamp anyway. */
    if (store_idempotency_purge(st, now - IDEMPOTENCY_KEEP_S, NULL) != TOPUP_OK ||
        store_partner_nonces_purge(st, now - 2 * PARTNER_TIMESTAMP_TOLERANCE_S, NULL) != TOPUP_OK ||
        store_commit(st) != TOPUP_OK)
        store_rollback(st);
}

static void *watcher_main(void *argument)
{
    server *srv = argument;
    store *st;
    if (store_open(srv->config.db_path, STORE_READ_WRITE, &st) != TOPUP_OK)
        return NULL;
    int64_t purged_ms = 0;
    pthread_mutex_lock(&srv->watch_lock);
    while (!srv->stopping) {
        struct timespec until = clock_deadline_after_ms(CATALOG_POLL_MS);
        pthread_cond_timedwait(&srv->watch_wake, &srv->watch_lock, &until);
        if (srv->stopping)
            break;
        pthread_mutex_unlock(&srv->watch_lock);
        reload_catalog(srv, st);
        if (clock_monotonic_ms() - purged_ms > PURGE_EVERY_MS) {
            purge_idempotency(st);
            purged_ms = clock_monotonic_ms();
        }
        pthread_mutex_lock(&srv->watch_lock);
    }
    pthread_mutex_unlock(&srv->watch_lock);
    store_close(st);
    return NULL;
}

/* ---- start and stop ---- */

static topup_result listen_address(const server_config *config, struct sockaddr_storage *address)
{
    memset(address, 0, sizeof *address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET, config->listen_host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(config->port);
        return TOPUP_OK;
    }
    if (inet_pton(AF_INET6, config->listen_host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(config->port);
        return TOPUP_OK;
    }
    return TOPUP_E_INVALID_ARGUMENT;
}

static topup_result load_first_catalog(server *srv)
{
    store *st;
    topup_result r = store_open(srv->config.db_path, STORE_READ_ONLY, &st);
    if (r != TOPUP_OK)
        return r;
    int64_t version = 0;
    r = store_catalog_load(st, &srv->current_catalog, &version);
    atomic_store_explicit(&srv->catalog_version, version, memory_order_release);
    store_close(st);
    return r;
}

static topup_result start_http(server *srv)
{
    struct sockaddr_storage address;
    if (listen_address(&srv->config, &address) != TOPUP_OK)
        return TOPUP_E_INVALID_ARGUMENT;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, srv->config.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &address,
        MHD_OPTION_THREAD_POOL_SIZE, srv->config.thread_count, MHD_OPTION_CONNECTION_LIMIT,
        CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_URI_LOG_CALLBACK, request_new, srv, MHD_OPTION_END);
    if (!srv->daemon)
        return TOPUP_E_IO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        srv->config.port = info->port;
    return TOPUP_OK;
}

/* Opens the configured payment providers and starts the settlement worker. A provider whose
 * keys cannot be read stops the start: taking payments that cannot be verified is worse than
 * not starting. */
static topup_result start_payments(server *srv)
{
    char detail[GATEWAY_DETAIL_SIZE] = "";
    topup_result r =
        payment_gateways_open(&srv->config.payments, &srv->gateways, detail, sizeof detail);
    if (r != TOPUP_OK) {
        fprintf(stderr, "topupd: %s\n", detail);
        return r;
    }
    srv->gateways_open = true;
    return settler_start(srv->config.db_path, srv->writer, &srv->gateways, &srv->settler);
}

/* The circuit breakers, the forwarder of orders for http operators, and callback delivery. */
static topup_result start_partners(server *srv)
{
    const partners_settings *settings = &srv->config.partners;
    srv->breakers = breaker_board_new(settings->breaker_failures, settings->breaker_cooldown_s);
    if (!srv->breakers)
        return TOPUP_E_NOMEM;
    topup_result r =
        forwarder_start(srv->config.db_path, srv->writer, settings, srv->breakers, &srv->forwarder);
    return r ? r : callbacks_start(srv->config.db_path, srv->writer, settings, &srv->callbacks);
}

/* A site key from the file named by setting (hashed, so a secret of any length gives 32 bytes),
 * or a fresh random one when no file is set, which then lasts as long as the process. */
static topup_result load_site_key(const char *setting, const char *path, unsigned char key[32])
{
    if (!path[0]) {
        randombytes_buf(key, 32);
        return TOPUP_OK;
    }
    char secret[256];
    topup_result r = notify_load_secret(path, secret, sizeof secret);
    if (r != TOPUP_OK) {
        fprintf(stderr,
                "topupd: %s %s cannot be read, is empty or too long, or is readable by group or "
                "others (chmod 600)\n",
                setting, path);
        return r;
    }
    SHA256((const unsigned char *)secret, strlen(secret), key);
    sodium_memzero(secret, sizeof secret);
    return TOPUP_OK;
}

/* The portal's key signs order links and receipt checks; the counter's makes the keyed hashes
 * of customers' ID numbers (without a file, the same ID hashes alike only until a restart). */
static topup_result start_keys(server *srv)
{
    topup_result r = load_site_key("portal.key_file", srv->config.portal.key_file, srv->portal_key);
    return r ? r : load_site_key("counter.key_file", srv->config.counter.key_file, srv->id_key);
}

/* Starts the SMS dispatcher when a transport is configured. */
static topup_result start_sms(server *srv)
{
    if (!srv->config.sms.transport[0])
        return TOPUP_OK;
    char detail[SMS_DETAIL_SIZE] = "";
    topup_result r = dispatcher_start(srv->config.db_path, srv->writer, &srv->config.sms,
                                      &srv->dispatcher, detail, sizeof detail);
    if (r != TOPUP_OK)
        fprintf(stderr, "topupd: SMS: %s\n", detail);
    return r;
}

topup_result server_start(const server_config *config, server **out)
{
    server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return TOPUP_E_NOMEM;
    srv->config = *config;
    if (srv->config.thread_count < 1)
        srv->config.thread_count = 1;
    pthread_mutex_init(&srv->catalog_lock, NULL);
    pthread_mutex_init(&srv->watch_lock, NULL);
    pthread_mutex_init(&srv->readers_lock, NULL);
    pthread_cond_init(&srv->watch_wake, NULL);
    topup_result r = load_first_catalog(srv);
    if (r == TOPUP_OK)
        r = writer_start(config->db_path, config->queue_size_max, config->batch_size_max,
                         &srv->writer);
    if (r == TOPUP_OK)
        r = start_payments(srv);
    if (r == TOPUP_OK)
        r = start_sms(srv);
    if (r == TOPUP_OK)
        r = start_partners(srv);
    if (r == TOPUP_OK)
        r = start_keys(srv);
    if (r == TOPUP_OK) {
        if (pthread_create(&srv->watcher, NULL, watcher_main, srv) != 0)
            r = TOPUP_E_NOMEM;
        srv->watcher_running = r == TOPUP_OK;
    }
    if (r == TOPUP_OK)
        r = start_http(srv);
    if (r != TOPUP_OK) {
        server_stop(srv);
        return r;
    }
    *out = srv;
    return TOPUP_OK;
}

uint16_t server_port(const server *srv)
{
    return srv->config.port;
}

void server_stop(server *srv)
{
    /* Stop accepting, then let the writer answer (and so resume) every suspended connection:
     * libmicrohttpd must not be stopped while a connection is suspended. */
    if (srv->daemon)
        MHD_quiesce_daemon(srv->daemon);
    /* Calls to providers in flight hold suspended connections and still need the writer. */
    while (atomic_load(&srv->detached_count) > 0)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    settler_stop(srv->settler);
    srv->settler = NULL;
    dispatcher_stop(srv->dispatcher);
    srv->dispatcher = NULL;
    forwarder_stop(srv->forwarder);
    srv->forwarder = NULL;
    callbacks_stop(srv->callbacks);
    srv->callbacks = NULL;
    if (srv->writer)
        writer_drain(srv->writer);
    /* Keep-alive connections are still served until here: they may still submit (and get 503)
     * or scrape /metrics, so the writer is freed only after the HTTP threads are gone. */
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    writer_stop(srv->writer);
    if (srv->watcher_running) {
        pthread_mutex_lock(&srv->watch_lock);
        srv->stopping = true;
        pthread_cond_signal(&srv->watch_wake);
        pthread_mutex_unlock(&srv->watch_lock);
        pthread_join(srv->watcher, NULL);
    }
    for (size_t i = 0; i < srv->reader_count; i++)
        store_close(srv->readers[i]);
    if (srv->gateways_open)
        payment_gateways_close(&srv->gateways);
    breaker_board_free(srv->breakers);
    catalog_unref(srv->current_catalog);
    pthread_mutex_destroy(&srv->catalog_lock);
    pthread_mutex_destroy(&srv->watch_lock);
    pthread_mutex_destroy(&srv->readers_lock);
    pthread_cond_destroy(&srv->watch_wake);
    free(srv);
}
