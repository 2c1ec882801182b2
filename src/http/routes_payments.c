/* Orders paid through a payment provider, the providers' notifications, and the sandbox's
 * payment page.
 *
 * Exposed to: API clients with the recharge scope (payment orders), anyone (notifications: only
 * a genuine signature makes one count; the sandbox page: only when the sandbox is configured).
 * Calls to providers run on detached threads (server_run_detached) so a slow provider never
 * holds an HTTP thread; every change goes through the writer. */
#include "http/http_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/problem.h"
#include "payments/sandbox.h"
#include "service/payment.h"

#define HEADER_BLOCK_SIZE_MAX (16 * 1024)
#define HEADERS_MAX           64

/* ---- reading a payment order ---- */

/* The order with its payment (and refund) as JSON, read on a connection of the caller's. */
json_t *http_payment_order_value(store *st, int64_t order_id, topup_result *result)
{
    order_row order;
    payment_row payment;
    refund_row refund;
    *result = store_order_get(st, order_id, &order);
    if (*result == TOPUP_OK)
        *result = store_payment_by_order(st, order_id, &payment);
    if (*result != TOPUP_OK)
        return NULL;
    bool refunded = store_refund_by_payment(st, payment.id, &refund) == TOPUP_OK;
    json_t *value = payment_order_json(&order, &payment, refunded ? &refund : NULL);
    if (!value)
        *result = TOPUP_E_NOMEM;
    return value;
}

void http_get_payment_order(request *rq)
{
    int64_t id;
    if (!http_parse_id(rq->param, &id)) {
        http_bad_request(rq, "invalid_id", "A payment order id is a positive whole number.");
        return;
    }
    store *reader = server_reader(rq->srv);
    topup_result r = TOPUP_E_STORAGE;
    json_t *value = reader ? http_payment_order_value(reader, id, &r) : NULL;
    if (!value) {
        http_answer_result(
            rq, r, r == TOPUP_E_NOT_FOUND ? "There is no payment order with this id." : NULL);
        return;
    }
    /* Like GET /v1/recharges/{id}: any key with the read scope may read any order; keys are
     * given to back offices, not to payers. */
    answer_json_value(rq, 200, value);
}

/* ---- creating a payment order ---- */

typedef struct create_work {
    payment_open open;
    order_access_fn access; /* adds the portal's "access" to the answer; NULL for the API */
    payment_create_outcome outcome;
    const provider_ops *ops;
    provider *p;
    char auth_code[PROVIDER_TEXT_SIZE];
    char client_ip[64];
} create_work;

/* Commits one step through the writer and waits; false (answered) when it did not commit. */
static bool commit_step(request *rq, writer_apply_fn apply, void *payload)
{
    writer_job job = {.apply = apply, .payload = payload};
    topup_result r = writer_submit_wait(rq->srv->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result;
    if (r != TOPUP_OK) {
        answer_problem(rq, r, r == TOPUP_E_BUSY ? 503 : topup_result_http_status(r), NULL, NULL);
        rq->retry_after = r == TOPUP_E_BUSY;
    }
    return r == TOPUP_OK;
}

static void answer_order(request *rq, store *st, int64_t order_id, int status)
{
    topup_result r;
    json_t *value = http_payment_order_value(st, order_id, &r);
    const create_work *work = rq->work;
    if (value && work->access)
        work->access(rq, order_id, value);
    if (value)
        answer_json_value(rq, status, value);
    else
        http_answer_result(rq, r, NULL);
}

/* The payer sees the subject: it names the number by its last four digits only, since the
 * provider's receipts travel further than topup's data. */
static void build_payment_request(const payment_open *open, const char *auth_code,
                                  const char *client_ip, const payment_row *payment,
                                  payment_request *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->out_trade_no, sizeof out->out_trade_no, "%.*s", (int)sizeof out->out_trade_no - 1,
             payment->out_trade_no);
    out->amount_minor = payment->amount_minor;
    memcpy(out->currency, payment->currency, sizeof out->currency);
    const char *msisdn = open->recharge.msisdn;
    size_t length = strlen(msisdn);
    snprintf(out->subject, sizeof out->subject, "话费充值 尾号%s",
             length > 4 ? msisdn + length - 4 : msisdn);
    out->method = open->method;
    snprintf(out->auth_code, sizeof out->auth_code, "%s", auth_code);
    snprintf(out->client_ip, sizeof out->client_ip, "%s", client_ip);
    out->expires_at = payment->expires_at;
}

bool http_payment_ask_provider(request *rq, store *st, const payment_open *open,
                               const provider_ops *ops, provider *p, const char *auth_code,
                               const char *client_ip, payment_create_outcome *outcome)
{
    payment_row payment;
    if (store_payment_get(st, open->payment_id, &payment) != TOPUP_OK) {
        http_answer_result(rq, TOPUP_E_STORAGE, NULL);
        return false;
    }
    payment_request ask;
    build_payment_request(open, auth_code, client_ip, &payment, &ask);
    outcome->payment_id = payment.id;
    outcome->timing.retry_base_ms = rq->srv->config.payments.retry_base_ms;
    outcome->timing.retry_max_ms = rq->srv->config.payments.retry_max_ms;
    outcome->status =
        ops->create(p, &ask, &outcome->created, outcome->detail, sizeof outcome->detail);
    /* The auth code is good for one payment only, but it is still the customer's: not kept. */
    sodium_memzero(ask.auth_code, sizeof ask.auth_code);
    return commit_step(rq, payment_create_apply, outcome);
}

/* On its own thread: step 1 (order and payment), the provider's create, step 2 (its answer). */
static void create_payment(request *rq)
{
    create_work *work = rq->work;
    if (!commit_step(rq, payment_open_apply, &work->open))
        return;
    store *st = NULL;
    if (store_open(rq->srv->config.db_path, STORE_READ_ONLY, &st) != TOPUP_OK) {
        http_answer_result(rq, TOPUP_E_STORAGE, NULL);
        return;
    }
    if (work->open.result != TOPUP_OK) {
        answer_json(rq, work->open.http_status, work->open.body, strlen(work->open.body));
        rq->content_type = "application/problem+json";
    } else if (work->open.replayed) {
        answer_order(rq, st, work->open.order_id, 200);
        rq->replayed = true;
    } else if (http_payment_ask_provider(rq, st, &work->open, work->ops, work->p, work->auth_code,
                                         work->client_ip, &work->outcome)) {
        /* 202 when the provider did not answer: the order exists and will be settled. */
        answer_order(rq, st, work->open.order_id,
                     work->outcome.status == GATEWAY_UNKNOWN ? 202 : 201);
    }
    store_close(st);
}

/* Reads provider, method and the method's extra fields; answers and returns false when wrong. */
static bool read_payment_fields(request *rq, json_t *body, create_work *work)
{
    const char *name = json_string_value(json_object_get(body, "provider"));
    const char *method = json_string_value(json_object_get(body, "method"));
    const char *auth_code = json_string_value(json_object_get(body, "auth_code"));
    const char *payer_ip = json_string_value(json_object_get(body, "payer_ip"));
    provider_id id;
    if (!name || !method) {
        http_bad_request(rq, "missing_field", "The fields 'provider' and 'method' are required.");
        return false;
    }
    work->p = payment_gateways_find(&rq->srv->gateways, name, &work->ops, &id);
    if (!work->p) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 422, "provider_unavailable",
                       "That payment provider is not configured here.");
        return false;
    }
    if (!pay_method_parse(method, &work->open.method) ||
        !(work->ops->methods & PAY_METHOD_BIT(work->open.method))) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 422, "method_unavailable",
                       "The provider does not offer that payment method.");
        return false;
    }
    if ((work->open.method == PAY_METHOD_CODE) != (auth_code != NULL) ||
        (auth_code && (strlen(auth_code) == 0 || strlen(auth_code) >= sizeof work->auth_code))) {
        http_bad_request(rq, "invalid_field",
                         "'auth_code' (the customer's payment code) goes with method 'code' only.");
        return false;
    }
    if (payer_ip && strlen(payer_ip) >= sizeof work->client_ip) {
        http_bad_request(rq, "invalid_field", "'payer_ip' is not an IP address.");
        return false;
    }
    snprintf(work->open.provider, sizeof work->open.provider, "%s", name);
    snprintf(work->auth_code, sizeof work->auth_code, "%s", auth_code ? auth_code : "");
    snprintf(work->client_ip, sizeof work->client_ip, "%s", payer_ip ? payer_ip : "");
    return true;
}

void http_start_payment_order(request *rq, const payment_order_origin *origin)
{
    static const char *const allowed[] = {"msisdn",    "product",  "amount_minor",
                                          "currency",  "provider", "method",
                                          "auth_code", "payer_ip", NULL};
    const char *type = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Content-Type");
    if (!http_is_json(type)) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 415, "unsupported_media_type",
                       "Send the body as Content-Type: application/json.");
        return;
    }
    create_work *work = calloc(1, sizeof *work);
    if (!work) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    rq->work = work;
    recharge_request *recharge = &work->open.recharge;
    if (!http_idempotency_key(rq, recharge->idempotency_key))
        return;
    json_t *body = http_parse_object(rq);
    if (!body)
        return;
    bool ok =
        read_payment_fields(rq, body, work) && http_read_recharge(rq, body, allowed, recharge);
    json_decref(body);
    if (!ok)
        return;
    snprintf(recharge->channel, sizeof recharge->channel, "%s", origin->channel);
    if (origin->scope)
        recharge->api_key_id = origin->scope;
    snprintf(work->open.owner, sizeof work->open.owner, "%s", origin->owner ? origin->owner : "");
    work->access = origin->access;
    if (!work->client_ip[0] && origin->payer_is_peer)
        http_peer_address(rq, work->client_ip, sizeof work->client_ip);
    work->open.expires_at = clock_now_seconds() + rq->srv->config.payments.close_after_s;
    server_run_detached(rq, create_payment);
}

void http_post_payment_order(request *rq)
{
    http_start_payment_order(rq, &(payment_order_origin){.channel = "api"});
}

/* ---- notifications ---- */

typedef struct notify_work {
    payment_notification notification;
    const provider_ops *ops;
    bool page;            /* from the sandbox page: answer with HTML for the payer */
    char return_link[96]; /* the sandbox page's way back to the portal's order page, or "" */
    char headers[HEADER_BLOCK_SIZE_MAX];
    char *body; /* the request's body buffer (rq->body), kept until the writer answers */
} notify_work;

typedef struct header_walk {
    notify_header headers[HEADERS_MAX];
    size_t count;
    char *block; /* "Name: value\n" lines */
    size_t used, size;
} header_walk;

static enum MHD_Result collect_header(void *context, enum MHD_ValueKind kind, const char *name,
                                      const char *value)
{
    (void)kind;
    header_walk *walk = context;
    if (walk->count < HEADERS_MAX)
        walk->headers[walk->count++] = (notify_header){name, value ? value : ""};
    int written = snprintf(walk->block + walk->used, walk->size - walk->used, "%s: %s\n", name,
                           value ? value : "");
    if (written > 0 && walk->used + (size_t)written < walk->size)
        walk->used += (size_t)written;
    return MHD_YES;
}

/* The app id and merchant id of a genuine notification must be this deployment's: a genuine
 * notification for another app of the same provider account is not ours to act on. */
static bool notice_for_us(const provider_settings *settings, const payment_notice *notice,
                          char *reason, size_t reason_size)
{
    if (settings->app_id[0] && notice->app_id[0] && strcmp(settings->app_id, notice->app_id) != 0) {
        snprintf(reason, reason_size, "the notification is for app %.64s, not ours",
                 notice->app_id);
        return false;
    }
    if (settings->merchant_id[0] && notice->merchant_id[0] &&
        strcmp(settings->merchant_id, notice->merchant_id) != 0) {
        snprintf(reason, reason_size, "the notification is for merchant %.64s, not ours",
                 notice->merchant_id);
        return false;
    }
    return true;
}

static void finish_sandbox_page(request *rq);

static void finish_notification(request *rq)
{
    notify_work *work = rq->work;
    const payment_notification *n = &work->notification;
    if (work->page) {
        finish_sandbox_page(rq);
        return;
    }
    if (!n->genuine || !n->for_us) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 400, "notification_refused", n->reason);
        return;
    }
    notify_answer answer;
    work->ops->answer(n->accepted, n->detail, &answer);
    answer_json(rq, answer.status, answer.body, strlen(answer.body));
    rq->content_type = answer.content_type;
}

/* Verifies a raw notification (on this thread: it is CPU work) and hands it to the writer,
 * which records it and acts on it. headers describe the request as received. */
static void take_notification(request *rq, notify_work *work, provider *p, provider_id id,
                              const notify_header *headers, size_t header_count)
{
    payment_notification *n = &work->notification;
    notify_result verdict;
    topup_result r = work->ops->verify(p, headers, header_count, work->body, rq->body_size,
                                       clock_now_seconds(), &verdict, &n->notice);
    json_decref(verdict.fields);
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return;
    }
    n->genuine = verdict.genuine;
    snprintf(n->reason, sizeof n->reason, "%s", verdict.reason);
    n->for_us = n->genuine && notice_for_us(&rq->srv->gateways.settings.providers[id], &n->notice,
                                            n->reason, sizeof n->reason);
    n->headers = work->headers;
    n->body = work->body;
    n->body_size = rq->body_size;
    server_submit_job(rq, payment_notification_apply, n, finish_notification);
}

static notify_work *notify_work_new(request *rq, const char *provider_name)
{
    notify_work *work = calloc(1, sizeof *work);
    if (!work) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return NULL;
    }
    rq->work = work;
    snprintf(work->notification.provider, sizeof work->notification.provider, "%s", provider_name);
    return work;
}

void http_post_notification(request *rq)
{
    const provider_ops *ops;
    provider_id id;
    provider *p = payment_gateways_find(&rq->srv->gateways, rq->param, &ops, &id);
    if (!p) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found",
                       "No payment provider of that name is configured here.");
        return;
    }
    notify_work *work = notify_work_new(rq, rq->param);
    if (!work)
        return;
    work->ops = ops;
    /* The body is kept as received: the request's buffer is the writer's until it answers. */
    work->body = rq->body;
    header_walk walk = {.block = work->headers, .size = sizeof work->headers};
    MHD_get_connection_values(rq->connection, MHD_HEADER_KIND, collect_header, &walk);
    take_notification(rq, work, p, id, walk.headers, walk.count);
}

/* ---- the sandbox payment page ---- */

static void answer_html(request *rq, int status, const char *html)
{
    answer_json(rq, status, html, strlen(html));
    rq->content_type = "text/html; charset=utf-8";
}

static const char page_head[] =
    "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>topup sandbox payment</title><style>"
    "body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}"
    ".box{border:1px solid #ccc;border-radius:.5rem;padding:1rem 1.25rem}"
    ".amount{font-size:2rem;margin:.5rem 0}button{font-size:1.1rem;padding:.6rem 1.2rem;"
    "margin-right:.75rem;border-radius:.4rem;border:1px solid #888}"
    ".pay{background:#1677ff;color:#fff;border-color:#1677ff}"
    ".note{color:#666;font-size:.9rem}</style></head><body>";

/* Finds the open sandbox payment of the page's URL; answers and returns false otherwise. */
static bool sandbox_payment(request *rq, payment_row *payment, provider **p,
                            const provider_ops **ops)
{
    *p = payment_gateways_find(&rq->srv->gateways, "sandbox", ops, NULL);
    store *reader = server_reader(rq->srv);
    if (!*p || !reader || store_payment_by_out_trade_no(reader, rq->param, payment) != TOPUP_OK ||
        strcmp(payment->provider, "sandbox") != 0) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found",
                       "There is no such sandbox payment.");
        return false;
    }
    return true;
}

void http_get_sandbox_page(request *rq)
{
    payment_row payment;
    provider *p;
    const provider_ops *ops;
    if (!sandbox_payment(rq, &payment, &p, &ops))
        return;
    char amount[MONEY_TEXT_SIZE_MAX];
    provider_amount_format(payment.amount_minor, payment.currency, amount, sizeof amount);
    char html[4096];
    bool open = strcmp(payment.status, "pending") == 0 || strcmp(payment.status, "unknown") == 0;
    snprintf(html, sizeof html,
             "%s<h1>Sandbox payment 沙箱支付</h1><div class=\"box\"><div>Payment %s</div>"
             "<div class=\"amount\">%s %s</div><div>Status: <b id=\"status\">%s</b></div>%s</div>"
             "<p class=\"note\">This is topup's sandbox: no real money moves. Paying sends a "
             "signed notification through the same checks as a real provider's.</p>"
             "</body></html>",
             page_head, payment.out_trade_no, amount, payment.currency, payment.status,
             open ? "<form method=\"post\"><p><button class=\"pay\" name=\"action\" value=\"pay\">"
                    "Pay 支付</button><button name=\"action\" value=\"fail\">Fail 失败</button>"
                    "</p></form>"
                  : "");
    answer_html(rq, 200, html);
}

/* What the payer reads after pressing a button, by the notification's verdict. */
static const char *sandbox_result_text(const char *verdict)
{
    if (strcmp(verdict, "credited") == 0)
        return "Paid. The number has been recharged. 支付成功";
    if (strcmp(verdict, "closed") == 0)
        return "Payment failed; the order is closed. 支付失败";
    if (strcmp(verdict, "duplicate") == 0)
        return "This trade was already paid; nothing more was charged. 已支付";
    if (strcmp(verdict, "refunding") == 0 || strcmp(verdict, "mismatch") == 0)
        return "The payment could not be applied and is being refunded. 退款中";
    return "The payment was not applied.";
}

static void finish_sandbox_page(request *rq)
{
    notify_work *work = rq->work;
    const payment_notification *n = &work->notification;
    char html[2048];
    char back[160] = "";
    if (work->return_link[0])
        snprintf(back, sizeof back,
                 "<p><a id=\"back\" href=\"%s\">返回商户 Back to the shop</a></p>",
                 work->return_link);
    snprintf(html, sizeof html,
             "%s<h1>Sandbox payment 沙箱支付</h1><div class=\"box\"><p id=\"result\">%s</p>"
             "<p class=\"note\">%s</p>%s</div></body></html>",
             page_head, sandbox_result_text(n->verdict), n->detail, back);
    answer_html(rq, n->accepted ? 200 : 409, html);
}

void http_post_sandbox_page(request *rq)
{
    payment_row payment;
    provider *p;
    const provider_ops *ops;
    if (!sandbox_payment(rq, &payment, &p, &ops))
        return;
    if (strcmp(payment.status, "pending") != 0 && strcmp(payment.status, "unknown") != 0) {
        /* The sandbox pays a trade once, as a real provider does. */
        char html[1024];
        snprintf(html, sizeof html,
                 "%s<h1>Sandbox payment 沙箱支付</h1><div class=\"box\"><p id=\"result\">This "
                 "payment is %s; there is nothing to pay.</p></div></body></html>",
                 page_head, payment.status);
        answer_html(rq, 409, html);
        return;
    }
    const char *body = rq->body ? rq->body : "";
    bool pay = strcmp(body, "action=pay") == 0;
    if (!pay && strcmp(body, "action=fail") != 0) {
        http_bad_request(rq, "invalid_field", "The form sends action=pay or action=fail.");
        return;
    }
    notify_work *work = notify_work_new(rq, "sandbox");
    if (!work)
        return;
    work->ops = ops;
    work->page = true;
    /* As a provider's return URL would, the page leads a portal payer back to the order. */
    order_row order;
    store *reader = server_reader(rq->srv);
    if (reader && store_order_get(reader, payment.order_id, &order) == TOPUP_OK &&
        strcmp(order.channel, "web") == 0)
        http_portal_order_link(rq->srv, order.id, work->return_link, sizeof work->return_link);
    char *signature = NULL;
    topup_result r =
        sandbox_notification(p, payment.out_trade_no, pay, payment.amount_minor, payment.currency,
                             clock_now_seconds(), &work->body, &signature);
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return;
    }
    snprintf(work->headers, sizeof work->headers,
             "Content-Type: application/json\n" SANDBOX_SIGNATURE_HEADER ": %s\n", signature);
    notify_header headers[] = {{"Content-Type", "application/json"},
                               {SANDBOX_SIGNATURE_HEADER, signature}};
    /* The notification replaces the form as the body the intake sees (and is freed with the
     * request, like any body). */
    free(rq->body);
    rq->body = work->body;
    rq->body_size = strlen(work->body);
    take_notification(rq, work, p, PROVIDER_SANDBOX, headers, 2);
    free(signature);
}
