/* Private to src/http: the server's state, one request's state, and the route handlers. */
#ifndef TOPUP_HTTP_INT_H
#define TOPUP_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "catalog/catalog.h"
#include "http/metrics.h"
#include "http/server.h"
#include "payments/gateways.h"
#include "partners/breaker.h"
#include "service/callbacks.h"
#include "service/dispatcher.h"
#include "service/forwarder.h"
#include "service/settler.h"
#include "service/writer.h"
#include "store/store.h"

#define BODY_SIZE_MAX (64 * 1024) /* larger request bodies are refused with 413 */
#define READERS_MAX   64          /* one read connection per HTTP thread */

/* SCOPE_PARTNER: no API key but a merchant's signature (routes_partners.c). SCOPE_PORTAL: the
 * portal's cookie session, if any, and its CSRF check on every change (routes_portal.c).
 * SCOPE_COUNTER: the same for the staff of the business halls (routes_counter.c). */
typedef enum scope {
    SCOPE_NONE,
    SCOPE_READ,
    SCOPE_RECHARGE,
    SCOPE_ADMIN,
    SCOPE_PARTNER,
    SCOPE_PORTAL,
    SCOPE_COUNTER
} scope;

struct server {
    server_config config;
    struct MHD_Daemon *daemon;
    writer *writer;
    metrics metrics;

    pthread_mutex_t catalog_lock; /* guards current_catalog (the pointer, not the snapshot) */
    catalog *current_catalog;
    atomic_int_fast64_t catalog_version; /* of current_catalog; keys are cached per version */

    pthread_t watcher;          /* reloads the catalog and purges old idempotency keys */
    pthread_mutex_t watch_lock; /* guards stopping, with watch_wake */
    pthread_cond_t watch_wake;
    bool stopping;
    bool watcher_running;

    payment_gateways gateways; /* the configured providers, opened at start */
    settler *settler;          /* settles unknown and expired payments and sends refunds */
    bool gateways_open;
    dispatcher *dispatcher;       /* sends the outbox's SMS; NULL when SMS is off */
    breaker_board *breakers;      /* one circuit per http operator, shared with the forwarder */
    forwarder *forwarder;         /* sends partner orders to http operators, settles unknown ones */
    callbacks *callbacks;         /* delivers partners' callbacks */
    unsigned char portal_key[32]; /* signs the portal's order links and receipt checks */
    unsigned char id_key[32];     /* keys the hash of customers' ID numbers at the counter */
    atomic_int detached_count;    /* detached calls in flight; stop waits for them */

    pthread_mutex_t readers_lock; /* guards readers[] */
    store *readers[READERS_MAX];  /* per-thread read connections, closed at stop */
    size_t reader_count;
};

typedef struct request request;
typedef void (*request_work_fn)(request *rq);

struct request {
    server *srv;
    struct MHD_Connection *connection;
    const char *method;
    const char *url;
    char *raw_uri;   /* the request target as sent (path and query, not decoded): what a
                        partner signs */
    bool started;    /* method and url are set (the first call for the request came) */
    int route_index; /* index into the route table, -1 when none matched */
    char param[96];  /* the {param} segment of the path, decoded */
    bool dispatched; /* the body is complete and the handler ran (HTTP thread only) */
    bool submitted;  /* handed to the writer; the answer is its until resume (HTTP thread only) */
    char *body;      /* received bytes, NUL-terminated */
    size_t body_size;
    bool body_too_large;
    int64_t started_us;         /* monotonic, for the latency histogram */
    api_key_row key;            /* the caller, once authenticated */
    merchant_row merchant;      /* the signing partner, for SCOPE_PARTNER routes */
    portal_session_row session; /* the portal user, for SCOPE_PORTAL routes */
    bool logged_in;             /* session holds a live session */
    staff_session_row staff;    /* the staff member, for SCOPE_COUNTER routes */
    bool staff_logged_in;       /* staff holds a live session */
    writer_job job;             /* the write, while it is queued or being committed */
    request_work_fn finish;     /* sets the answer of a non-recharge job (on the writer thread) */
    void *work;                 /* a handler's state for a job or a detached call; freed with rq */

    int status;   /* the answer */
    char *answer; /* malloc'd answer body */
    size_t answer_size;
    const char *content_type;
    const char *allow;         /* Allow header for 405 */
    bool replayed;             /* adds Idempotent-Replayed: true */
    bool retry_after;          /* adds Retry-After: 1 */
    int retry_after_s;         /* adds Retry-After: N instead, when > 0 */
    char set_cookie[2][192];   /* Set-Cookie values to add ("" for none) */
    bool page;                 /* a portal page or asset: adds the browser security headers */
    const char *cache_control; /* NULL: no-store */
    const char *content_disposition;
    char etag[24]; /* adds ETag when set */
};

typedef void (*route_handler)(request *rq);

typedef struct route {
    const char *method;
    const char *pattern; /* "/v1/recharges/{}": {} matches one segment */
    route_handler handler;
    scope required;   /* SCOPE_NONE: no key needed */
    const char *name; /* label in /metrics */
} route;

/* The route table (routes.c). */
const route *routes_table(size_t *count /* OUT */);

/* Answers: they take ownership of nothing, copying body. */
void answer_json(request *rq, int status, const char *body, size_t body_size);
void answer_json_value(request *rq, int status, json_t *value); /* steals value */
void answer_problem(request *rq, topup_result result, int status, const char *code,
                    const char *detail);

/* The calling thread's read connection, opened on first use; NULL if it cannot be opened. */
store *server_reader(server *srv);

/* The current catalog snapshot with a reference the caller must drop with catalog_unref. */
catalog *server_catalog(server *srv);

/* Suspends the connection until the writer has answered the request's job. */
void server_submit_write(request *rq);

/* Suspends the connection and hands a non-recharge write to the writer: apply runs in the
 * batch with payload, then finish (on the writer thread) sets the answer and the connection
 * resumes. */
void server_submit_job(request *rq, writer_apply_fn apply, void *payload, request_work_fn finish);

/* Suspends the connection and runs work on a thread of its own (for calls to a payment
 * provider, which may take seconds and must not hold an HTTP thread); work sets the answer and
 * the connection resumes when it returns. */
void server_run_detached(request *rq, request_work_fn work);

/* Helpers shared by the route files (routes.c). */
void http_answer_result(request *rq, topup_result result, const char *detail);
void http_bad_request(request *rq, const char *code, const char *detail);
bool http_parse_id(const char *text, int64_t *id);
bool http_is_json(const char *content_type);
bool http_idempotency_key(request *rq, char key[IDEMPOTENCY_KEY_SIZE]);
json_t *http_parse_object(request *rq); /* answers 400 and returns NULL when not an object */
/* Reads msisdn/product/amount_minor/currency (and only the allowed fields) from body, hashes
 * the request for idempotency and resolves number and product into out; answers and returns
 * false on refusal. */
bool http_read_recharge(request *rq, json_t *body, const char *const *allowed,
                        recharge_request *out);

/* Adds what a caller other than the API needs to a payment order's answer. */
typedef void (*order_access_fn)(request *rq, int64_t order_id, json_t *answer);

/* Where a payment order comes from: the API (channel "api", the key's idempotency scope) or the
 * portal (channel "web", its own scope, the account placing it, the payer's address). */
typedef struct payment_order_origin {
    const char *channel;
    int64_t scope;     /* idempotency scope; 0 keeps the API key's */
    const char *owner; /* portal account, or NULL */
    order_access_fn access;
    bool payer_is_peer; /* the payer's IP is the connection's (no proxying back end) */
} payment_order_origin;

/* Reads a payment order from the request body and starts it (routes_payments.c); answers. */
void http_start_payment_order(request *rq, const payment_order_origin *origin);

/* Step 2 of a payment order opened by payment_open_apply (service/payment.h), on the caller's
 * detached thread: asks the provider to create the payment (auth_code: a payment code, or "";
 * client_ip: the payer's, or "") and commits its answer (payment_create_apply). false when it
 * could not, and then the request is answered; st is a connection of the caller's. */
struct payment_open;
struct payment_create_outcome;
bool http_payment_ask_provider(request *rq, store *st, const struct payment_open *open,
                               const provider_ops *ops, provider *p, const char *auth_code,
                               const char *client_ip, struct payment_create_outcome *outcome);

/* The order with its payment (and refund) as JSON; NULL with *result set when it cannot. */
json_t *http_payment_order_value(store *st, int64_t order_id, topup_result *result);

/* The payment routes (routes_payments.c). */
void http_post_payment_order(request *rq);
void http_get_payment_order(request *rq);
void http_post_notification(request *rq);
void http_get_sandbox_page(request *rq);
void http_post_sandbox_page(request *rq);

/* The peer's address as text ("unknown" when there is none). */
void http_peer_address(request *rq, char *ip, size_t ip_size);

/* The partner API (routes_partners.c). partner_authorize checks the merchant's signature and
 * answers 401/403 itself, returning false, when the caller may not go on. */
bool partner_authorize(request *rq);
void http_post_partner_order(request *rq);
void http_get_partner_order(request *rq);
void http_get_partner_balance(request *rq);
void http_get_partner_statement(request *rq);
void http_get_partner_operators(request *rq);
/* The operators with their availability, for GET /v1/operators and its partner twin. */
json_t *http_operators_value(request *rq);

/* Shared by the browser-facing sites, the portal and the counter (web_common.c). */
const char *http_cookie(request *rq, const char *name);
/* Sets Set-Cookie slot (0 or 1): Path=/, SameSite=Lax, Secure when portal.secure_cookies. */
void http_set_cookie(request *rq, int slot, const char *name, const char *value, long max_age,
                     bool http_only);
/* A change (not GET or HEAD) must carry X-CSRF-Token equal to the site's CSRF cookie; answers
 * 403 csrf_failed and returns false when it does not. */
bool http_csrf_guard(request *rq, const char *cookie_name);
#define HTTP_CSRF_SIZE 33 /* 16 random bytes in hex, and NUL */
/* The page's CSRF token: the site's cookie when it holds one, else a new one set in Set-Cookie
 * slot 0. */
void http_csrf_cookie(request *rq, const char *cookie_name, long max_age,
                      char csrf[HTTP_CSRF_SIZE]);
/* Queues a write whose outcome nobody waits for (keeping a session alive): payload is copied. */
void http_write_and_forget(request *rq, writer_apply_fn apply, const void *payload,
                           size_t payload_size);
/* The URL a receipt's QR code carries: this host's /r/{id}/{check}. */
void http_receipt_check_url(request *rq, int64_t order_id, char *url, size_t url_size);
/* Answers with a file built in from web/ (404 when there is none), its ETag and the page
 * headers; cache_control NULL means no-store. */
void http_serve_web_file(request *rq, const char *path, const char *cache_control);

/* The web portal (routes_portal.c). */
bool portal_authorize(request *rq);
void http_portal_page(request *rq);
void http_portal_asset(request *rq);
void http_portal_session(request *rq);
void http_portal_otp(request *rq);
void http_portal_register(request *rq);
void http_portal_login(request *rq);
void http_portal_logout(request *rq);
void http_portal_reset(request *rq);
void http_portal_number(request *rq);
void http_portal_order_create(request *rq);
void http_portal_order_get(request *rq);
void http_portal_account(request *rq);
void http_portal_number_save(request *rq);
void http_portal_number_remove(request *rq);
void http_portal_receipt(request *rq);
void http_portal_check(request *rq);
/* "/order/{id}?t={access}": the portal's page of an order, openable without an account. */
void http_portal_order_link(const server *srv, int64_t order_id, char *link, size_t link_size);
/* The products of an operator as the API lists them. */
json_t *http_products_value(const catalog *cat, const operator_info *op);

/* The counter of the business halls (routes_counter.c). counter_authorize checks the CSRF
 * token of a change and loads the staff session, if any. */
bool counter_authorize(request *rq);
void http_counter_page(request *rq);
void http_counter_asset(request *rq);
void http_counter_session(request *rq);
void http_counter_login(request *rq);
void http_counter_logout(request *rq);
void http_counter_shift_open(request *rq);
void http_counter_shift_close(request *rq);
void http_counter_shift_report(request *rq);
void http_counter_number(request *rq);
void http_counter_check(request *rq);
void http_counter_recharge(request *rq);
void http_counter_order(request *rq);
void http_counter_receipt(request *rq);
void http_counter_reverse(request *rq);

/* SMS codes (routes_otp.c). */
void http_post_otp(request *rq);
void http_post_otp_verify(request *rq);

#endif
