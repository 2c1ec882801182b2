/* The partner callback worker (src/service/callbacks.c) end to end: a real writer on a
 * temporary database, the worker's threads, and a merchant endpoint on 127.0.0.1 (a listener
 * thread in this file) that answers as each test scripts it. What a merchant relies on: the
 * request is signed so partner_verify accepts it, the body is exactly the recorded one, a
 * refusal is tried again and every attempt is on record; and what the operator relies on: a
 * callback past its give-up time is dead, a change made meanwhile is not overwritten, and a
 * callback is never sent twice at once. Retries are 1 s apart so the whole file takes seconds. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "partners/signature.h"
#include "service/callbacks.h"

#define DIR_SIZE      64
#define PATH_SIZE     128
#define SECRET        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BODY          "{\"event\":\"order.succeeded\",\"order\":{\"order_id\":\"7351\"}}"
#define REQUESTS_MAX  16
#define REQUEST_SIZE  8192
#define SCRIPT_MAX    8
#define WAIT_MAX_MS   8000 /* a 1 s retry and a 1 s poll, with room for a slow sanitizer build */
#define HOOK_SQL_SIZE 256

/* One request as the merchant's endpoint saw it. */
typedef struct received {
    char method[8];
    char path[256];
    char content_type[64];
    char merchant[64];
    char timestamp[32];
    char nonce[80];
    char signature[80];
    char body[CALLBACK_BODY_SIZE];
} received;

/* The merchant's endpoint: answers one connection at a time, with the scripted statuses in turn
 * (200 once the script is used up). Locking: everything below `lock` is guarded by it. */
typedef struct listener {
    int fd;
    int port;
    pthread_t thread;
    const char *db_path;          /* for hook_sql */
    int delay_ms;                 /* before each answer */
    int statuses[SCRIPT_MAX];     /* set before start */
    size_t status_count;          /* set before start */
    char hook_sql[HOOK_SQL_SIZE]; /* run on the database before answering, once; "" = none */
    pthread_mutex_t lock;
    bool stopping;
    received requests[REQUESTS_MAX];
    size_t request_count;
} listener;

typedef struct fixture {
    char dir[DIR_SIZE];
    char path[PATH_SIZE];
    store *st; /* the test's own connection, for setting up and looking */
    writer *writer;
    callbacks *worker;
    listener endpoint;
    int64_t order_id;
    partners_settings settings;
} fixture;

/* ---- the merchant's endpoint ---- */

/* Copies header name's value from the request head into out ("" when absent). */
static void header_value(const char *head, const char *name, char *out, size_t out_size)
{
    out[0] = '\0';
    size_t name_length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r';
         line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_length) != 0 || start[name_length] != ':')
            continue;
        const char *value = start + name_length + 1;
        while (*value == ' ')
            value++;
        size_t length = strcspn(value, "\r\n");
        snprintf(out, out_size, "%.*s", (int)length, value);
        return;
    }
}

/* Reads one request (head and Content-Length body); false when the peer sent no full one. */
static bool read_request(int client, char *buffer, size_t size, const char **body)
{
    size_t used = 0;
    char *end = NULL;
    while (!end && used + 1 < size) {
        ssize_t n = recv(client, buffer + used, size - used - 1, 0);
        if (n <= 0)
            return false;
        used += (size_t)n;
        buffer[used] = '\0';
        end = strstr(buffer, "\r\n\r\n");
    }
    if (!end)
        return false;
    char length_text[24];
    header_value(buffer, "Content-Length", length_text, sizeof length_text);
    size_t wanted = (size_t)(end + 4 - buffer) + (size_t)atol(length_text);
    while (used < wanted && used + 1 < size) {
        ssize_t n = recv(client, buffer + used, size - used - 1, 0);
        if (n <= 0)
            return false;
        used += (size_t)n;
        buffer[used] = '\0';
    }
    *body = end + 4;
    return used >= wanted;
}

static void record(listener *l, const char *head, const char *body)
{
    received r;
    memset(&r, 0, sizeof r);
    sscanf(head, "%7s %255s", r.method, r.path);
    header_value(head, "Content-Type", r.content_type, sizeof r.content_type);
    header_value(head, "X-Topup-Merchant", r.merchant, sizeof r.merchant);
    header_value(head, "X-Topup-Timestamp", r.timestamp, sizeof r.timestamp);
    header_value(head, "X-Topup-Nonce", r.nonce, sizeof r.nonce);
    header_value(head, "X-Topup-Signature", r.signature, sizeof r.signature);
    snprintf(r.body, sizeof r.body, "%s", body);
    pthread_mutex_lock(&l->lock);
    if (l->request_count < REQUESTS_MAX)
        l->requests[l->request_count] = r;
    l->request_count++;
    pthread_mutex_unlock(&l->lock);
}

/* Runs the hook's SQL once, the way `topup callbacks retry` would change the row meanwhile. */
static void run_hook(listener *l)
{
    char sql[HOOK_SQL_SIZE];
    pthread_mutex_lock(&l->lock);
    snprintf(sql, sizeof sql, "%s", l->hook_sql);
    l->hook_sql[0] = '\0';
    pthread_mutex_unlock(&l->lock);
    if (!sql[0])
        return;
    sqlite3 *db;
    if (sqlite3_open_v2(l->db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "hook failed: %s\n", sqlite3_errmsg(db));
    }
    sqlite3_close(db);
}

static void answer(listener *l, int client)
{
    static char buffer[REQUEST_SIZE];
    const char *body = NULL;
    if (!read_request(client, buffer, sizeof buffer, &body))
        return;
    record(l, buffer, body);
    pthread_mutex_lock(&l->lock);
    size_t index = l->request_count - 1;
    int status = index < l->status_count ? l->statuses[index] : 200;
    pthread_mutex_unlock(&l->lock);
    run_hook(l);
    if (l->delay_ms > 0)
        usleep((useconds_t)l->delay_ms * 1000);
    const char *text = status >= 200 && status <= 299 ? "ok" : "boom\r\nnot today";
    char reply[256];
    int length = snprintf(reply, sizeof reply,
                          "HTTP/1.1 %d Scripted\r\nContent-Type: text/plain\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          status, strlen(text), text);
    if (send(client, reply, (size_t)length, MSG_NOSIGNAL) < 0)
        fprintf(stderr, "the endpoint could not answer\n");
}

static void *listener_main(void *argument)
{
    listener *l = argument;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        bool stopping = l->stopping;
        pthread_mutex_unlock(&l->lock);
        if (stopping)
            return NULL;
        struct pollfd ready = {.fd = l->fd, .events = POLLIN};
        if (poll(&ready, 1, 100) <= 0)
            continue;
        int client = accept(l->fd, NULL, NULL);
        if (client < 0)
            continue;
        struct timeval limit = {.tv_sec = 3};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        answer(l, client);
        close(client);
    }
}

/* A socket bound to a free port on 127.0.0.1; its port in *port. */
static int bound_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t size = sizeof address;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &size), 0);
    *port = ntohs(address.sin_port);
    return fd;
}

static void listener_start(listener *l)
{
    l->fd = bound_socket(&l->port);
    assert_int_equal(listen(l->fd, 16), 0);
    assert_int_equal(pthread_create(&l->thread, NULL, listener_main, l), 0);
}

static void listener_stop(listener *l)
{
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    close(l->fd);
}

/* Sets the SQL (with the callback id for its %lld) the endpoint runs at its next request. */
static void set_hook(listener *l, const char *format, int64_t id)
{
    pthread_mutex_lock(&l->lock);
    snprintf(l->hook_sql, sizeof l->hook_sql, format, (long long)id);
    pthread_mutex_unlock(&l->lock);
}

static size_t requests_seen(listener *l)
{
    pthread_mutex_lock(&l->lock);
    size_t count = l->request_count;
    pthread_mutex_unlock(&l->lock);
    return count;
}

/* ---- the database and the worker ---- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s", "/tmp/topup-test-delivery-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/topup.db", f->dir);
    assert_int_equal(store_open(f->path, STORE_CREATE, &f->st), TOPUP_OK);
    assert_int_equal(store_migrate(f->st, NULL, NULL), TOPUP_OK);
    assert_int_equal(store_begin(f->st), TOPUP_OK);
    account_row account;
    assert_int_equal(store_account_ensure(f->st, "float:jd-7", "CNY", "merchant_float",
                                          ACCOUNT_NO_OVERDRAFT, 0, &account),
                     TOPUP_OK);
    merchant_row m = {.float_account_id = account.id, .created_at = 1000};
    snprintf(m.id, sizeof m.id, "jd-7");
    snprintf(m.name, sizeof m.name, "JD store 7");
    snprintf(m.secret, sizeof m.secret, "%s", SECRET);
    snprintf(m.currency, sizeof m.currency, "CNY");
    assert_int_equal(store_merchant_insert(f->st, &m), TOPUP_OK);
    order_row order = {.face_minor = 5000,
                       .price_minor = 4925,
                       .funding_account_id = account.id,
                       .status = ORDER_PAID};
    snprintf(order.channel, sizeof order.channel, "partner");
    snprintf(order.msisdn, sizeof order.msisdn, "+8613800138000");
    snprintf(order.operator_id, sizeof order.operator_id, "cmcc");
    snprintf(order.product_id, sizeof order.product_id, "cmcc-50");
    snprintf(order.currency, sizeof order.currency, "CNY");
    assert_int_equal(store_order_insert(f->st, &order, "paid"), TOPUP_OK);
    f->order_id = order.id;
    assert_int_equal(store_commit(f->st), TOPUP_OK);

    partners_settings_defaults(&f->settings);
    f->settings.callback_retry = (partner_schedule){{1}, 1};
    f->settings.callback_timeout_ms = 2000;
    f->endpoint.db_path = f->path;
    pthread_mutex_init(&f->endpoint.lock, NULL);
    assert_int_equal(writer_start(f->path, 64, 16, &f->writer), TOPUP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    callbacks_stop(f->worker);
    writer_stop(f->writer);
    if (f->endpoint.thread)
        listener_stop(&f->endpoint);
    pthread_mutex_destroy(&f->endpoint.lock);
    store_close(f->st);
    char name[PATH_SIZE + 8];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", f->path, suffixes[i]);
        unlink(name);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Queues a callback to url, written created_ago_s seconds ago and due now. */
static int64_t queue_callback(fixture *f, const char *url, int64_t created_ago_s)
{
    int64_t now = clock_now_seconds();
    callback_row c = {
        .order_id = f->order_id, .created_at = now - created_ago_s, .next_attempt_at = now};
    snprintf(c.merchant_id, sizeof c.merchant_id, "jd-7");
    snprintf(c.url, sizeof c.url, "%s", url);
    snprintf(c.body, sizeof c.body, "%s", BODY);
    assert_int_equal(store_callback_insert(f->st, &c), TOPUP_OK);
    return c.id;
}

static void start_worker(fixture *f)
{
    assert_int_equal(callbacks_start(f->path, f->writer, &f->settings, &f->worker), TOPUP_OK);
}

/* Waits until the callback has at least attempt_count attempts recorded and is no longer in
 * flight (status other than queued, or queued and not leased); fails the test after WAIT_MAX_MS. */
static callback_row wait_for(fixture *f, int64_t id, const char *status, int attempt_count)
{
    callback_row c;
    int64_t deadline = clock_monotonic_ms() + WAIT_MAX_MS;
    for (;;) {
        assert_int_equal(store_callback_get(f->st, id, &c), TOPUP_OK);
        if (strcmp(c.status, status) == 0 && c.attempt_count >= attempt_count)
            return c;
        if (clock_monotonic_ms() > deadline)
            fail_msg("callback %lld is %s after %d attempts, not %s after %d", (long long)id,
                     c.status, c.attempt_count, status, attempt_count);
        usleep(50 * 1000);
    }
}

static size_t attempts_of(fixture *f, int64_t id, callback_attempt_row *attempts, size_t max)
{
    size_t count = 0;
    assert_int_equal(store_callback_attempts(f->st, id, attempts, max, &count), TOPUP_OK);
    return count;
}

/* ---- the tests ---- */

static void a_refused_callback_is_tried_again_and_delivered_signed(void **state)
{
    fixture *f = *state;
    f->endpoint.statuses[0] = 500;
    f->endpoint.status_count = 1;
    listener_start(&f->endpoint);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/topup/hook?shop=7#ignored", f->endpoint.port);
    int64_t id = queue_callback(f, url, 0);
    start_worker(f);

    callback_row c = wait_for(f, id, "delivered", 2);
    assert_int_equal(c.attempt_count, 2);
    assert_int_equal(c.next_attempt_at, 0);
    assert_string_equal(c.last_error, "");
    callback_attempt_row attempts[4];
    assert_int_equal(attempts_of(f, id, attempts, 4), 2);
    assert_int_equal(attempts[0].http_status, 500);
    /* The refusal's body is kept for the operator, printable only. */
    assert_string_equal(attempts[0].error, "HTTP 500: boom  not today");
    assert_int_equal(attempts[1].http_status, 200);
    assert_string_equal(attempts[1].error, "");
    /* The second try came after the schedule's 1 s wait. */
    assert_true(attempts[1].attempted_at >= attempts[0].attempted_at + 1);

    assert_int_equal(requests_seen(&f->endpoint), 2);
    for (size_t i = 0; i < 2; i++) {
        const received *r = &f->endpoint.requests[i];
        assert_string_equal(r->method, "POST");
        assert_string_equal(r->path, "/topup/hook?shop=7");
        assert_string_equal(r->content_type, "application/json");
        assert_string_equal(r->merchant, "jd-7");
        assert_string_equal(r->body, BODY);
        assert_int_equal(strlen(r->nonce), 24);
        char reason[128] = "";
        assert_int_equal(partner_verify(SECRET, "POST", r->path, r->timestamp, r->nonce, r->body,
                                        strlen(r->body), r->signature, clock_now_seconds(), reason,
                                        sizeof reason),
                         TOPUP_OK);
    }
    /* A fresh nonce for every attempt, or the merchant would refuse the retry as a replay. */
    assert_string_not_equal(f->endpoint.requests[0].nonce, f->endpoint.requests[1].nonce);
}

static void no_answer_is_recorded_and_a_callback_past_give_up_is_dead(void **state)
{
    fixture *f = *state;
    f->settings.callback_give_up_s = 60;
    f->settings.callback_timeout_ms = 300;
    /* Nobody listens on a port just given back, and a listener that answers too late. */
    int closed_port;
    close(bound_socket(&closed_port));
    f->endpoint.delay_ms = 800;
    listener_start(&f->endpoint);
    char refused_url[128], slow_url[128];
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%d/", closed_port);
    snprintf(slow_url, sizeof slow_url, "http://127.0.0.1:%d", f->endpoint.port);
    int64_t refused = queue_callback(f, refused_url, 600); /* past give-up: one try only */
    int64_t slow = queue_callback(f, slow_url, 0);
    start_worker(f);

    callback_row c = wait_for(f, refused, "dead", 1);
    assert_int_equal(c.attempt_count, 1);
    assert_int_equal(c.next_attempt_at, 0);
    assert_true(strncmp(c.last_error, "no answer: ", 11) == 0);
    callback_attempt_row attempts[4];
    assert_int_equal(attempts_of(f, refused, attempts, 4), 1);
    assert_int_equal(attempts[0].http_status, 0);
    assert_string_equal(attempts[0].error, c.last_error);

    c = wait_for(f, slow, "queued", 1);
    assert_true(attempts_of(f, slow, attempts, 4) >= 1);
    assert_int_equal(attempts[0].http_status, 0);
    assert_true(strncmp(attempts[0].error, "no answer in time: ", 19) == 0);
    assert_true(attempts[0].duration_ms >= 250 && attempts[0].duration_ms < 800);
    /* An empty path is sent and signed as "/". */
    assert_true(requests_seen(&f->endpoint) >= 1);
    assert_string_equal(f->endpoint.requests[0].path, "/");
}

static void a_change_made_meanwhile_is_not_overwritten(void **state)
{
    fixture *f = *state;
    f->endpoint.statuses[0] = 503;
    f->endpoint.statuses[1] = 200;
    f->endpoint.status_count = 2;
    listener_start(&f->endpoint);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cb", f->endpoint.port);
    int64_t rescheduled = queue_callback(f, url, 0);
    /* While the first attempt is under way, someone sets the due time far ahead. */
    set_hook(&f->endpoint,
             "UPDATE partner_callbacks SET next_attempt_at = 4000000000 WHERE id = %lld",
             rescheduled);
    start_worker(f);
    callback_row c = wait_for(f, rescheduled, "queued", 1);
    assert_int_equal(c.next_attempt_at, 4000000000);
    assert_int_equal(c.attempt_count, 1);
    assert_true(strncmp(c.last_error, "HTTP 503", 8) == 0);
    callbacks_stop(f->worker);
    f->worker = NULL;

    /* A callback given up by someone else while it was being sent stays as they left it, but
     * the attempt is on record. */
    int64_t given_up = queue_callback(f, url, 0);
    set_hook(&f->endpoint,
             "UPDATE partner_callbacks SET status = 'dead', next_attempt_at = NULL WHERE id = %lld",
             given_up);
    start_worker(f);
    callback_attempt_row attempts[4];
    int64_t deadline = clock_monotonic_ms() + WAIT_MAX_MS;
    while (attempts_of(f, given_up, attempts, 4) == 0 && clock_monotonic_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(attempts_of(f, given_up, attempts, 4), 1);
    assert_int_equal(attempts[0].http_status, 200);
    assert_int_equal(store_callback_get(f->st, given_up, &c), TOPUP_OK);
    assert_string_equal(c.status, "dead");
    assert_int_equal(c.attempt_count, 0);
}

static void *run_once_thread(void *argument)
{
    callbacks_run_once(argument);
    return NULL;
}

static void a_callback_is_never_sent_twice_at_once(void **state)
{
    fixture *f = *state;
    f->endpoint.delay_ms = 300; /* long enough for every sender below to find it due */
    listener_start(&f->endpoint);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cb", f->endpoint.port);
    int64_t ids[3];
    for (size_t i = 0; i < 3; i++)
        ids[i] = queue_callback(f, url, 0);
    /* Two workers on the same database, as two daemons would be, and two callers of
     * callbacks_run_once, all at the same time: only the claim keeps them apart. */
    callbacks *other;
    assert_int_equal(callbacks_start(f->path, f->writer, &f->settings, &other), TOPUP_OK);
    start_worker(f);
    pthread_t runners[2];
    assert_int_equal(pthread_create(&runners[0], NULL, run_once_thread, f->worker), 0);
    assert_int_equal(pthread_create(&runners[1], NULL, run_once_thread, other), 0);
    for (size_t i = 0; i < 2; i++)
        pthread_join(runners[i], NULL);
    for (size_t i = 0; i < 3; i++) {
        callback_row c = wait_for(f, ids[i], "delivered", 1);
        assert_int_equal(c.attempt_count, 1);
    }
    usleep(300 * 1000); /* a duplicate would have arrived by now */
    callbacks_stop(other);
    assert_int_equal(requests_seen(&f->endpoint), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_refused_callback_is_tried_again_and_delivered_signed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(no_answer_is_recorded_and_a_callback_past_give_up_is_dead,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_change_made_meanwhile_is_not_overwritten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_callback_is_never_sent_twice_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
