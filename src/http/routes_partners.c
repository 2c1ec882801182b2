/* The partner API: merchants sign each request with their secret (src/partners/signature.h)
 * instead of sending an API key. The signature, the merchant's status and its IP allow-list are
 * checked here on the HTTP thread; the nonce is spent by the writer in the same transaction as
 * what the request does, so a replay is refused even when both copies arrive together. */
#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/money.h"
#include "partners/connector.h"
#include "partners/signature.h"
#include "service/partner.h"

#define CALLBACK_URL_LENGTH_MAX 500

static const char *header(request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, name);
}

static bool refuse(request *rq, int status, const char *code, const char *detail)
{
    answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, status, code, detail);
    return false;
}

/* Whether ip is one of the comma-separated addresses of list ("" allows any). */
static bool ip_allowed(const char *list, const char *ip)
{
    if (!list[0])
        return true;
    size_t length = strlen(ip);
    for (const char *item = list; *item;) {
        size_t item_length = strcspn(item, ",");
        if (item_length == length && strncmp(item, ip, length) == 0)
            return true;
        item += item_length + (item[item_length] == ',');
    }
    return false;
}

static bool timestamp_fresh(const char *text, int64_t now)
{
    char *end;
    long long timestamp = strtoll(text, &end, 10);
    if (end == text || *end)
        return false;
    long long skew = timestamp - now;
    return skew >= -PARTNER_TIMESTAMP_TOLERANCE_S && skew <= PARTNER_TIMESTAMP_TOLERANCE_S;
}

bool partner_authorize(request *rq)
{
    const char *id = header(rq, "X-Topup-Merchant"), *timestamp = header(rq, "X-Topup-Timestamp");
    const char *nonce = header(rq, "X-Topup-Nonce"), *signature = header(rq, "X-Topup-Signature");
    if (!id || !timestamp || !nonce || !signature)
        return refuse(rq, 401, "unauthorized",
                      "Sign the request: X-Topup-Merchant, X-Topup-Timestamp, X-Topup-Nonce and "
                      "X-Topup-Signature are all required.");
    if (!partner_nonce_valid(nonce))
        return refuse(rq, 401, "unauthorized",
                      "X-Topup-Nonce must be 8-64 characters of 0-9, A-Z, a-z, '_' and '-'.");
    store *reader = server_reader(rq->srv);
    topup_result r = reader ? store_merchant_get(reader, id, &rq->merchant) : TOPUP_E_STORAGE;
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(rq, 401, "unauthorized", "There is no merchant with this id.");
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    int64_t now = clock_now_seconds();
    if (!timestamp_fresh(timestamp, now))
        return refuse(rq, 401, "timestamp_out_of_window",
                      "X-Topup-Timestamp must be unix seconds within 300 s of topup's clock.");
    char reason[128];
    if (partner_verify(rq->merchant.secret, rq->method, rq->raw_uri, timestamp, nonce, rq->body,
                       rq->body_size, signature, now, reason, sizeof reason) != TOPUP_OK)
        return refuse(rq, 401, "bad_signature",
                      "The signature is not the merchant's for this method, path, query, "
                      "timestamp, nonce and body.");
    if (strcmp(rq->merchant.status, "active") != 0)
        return refuse(rq, 403, "merchant_suspended", "The merchant is suspended.");
    char ip[64];
    http_peer_address(rq, ip, sizeof ip);
    if (!ip_allowed(rq->merchant.allowed_ips, ip))
        return refuse(rq, 403, "ip_not_allowed",
                      "The merchant's IP allow-list does not include this address.");
    return true;
}

static void caller_of(request *rq, partner_caller *caller)
{
    snprintf(caller->merchant_id, sizeof caller->merchant_id, "%s", rq->merchant.id);
    snprintf(caller->nonce, sizeof caller->nonce, "%s", header(rq, "X-Topup-Nonce"));
}

/* Answers a refusal the writer step gave, with the partner API's codes. */
static void answer_refusal(request *rq, topup_result result)
{
    switch (result) {
    case TOPUP_E_IDEMPOTENCY_KEY_REUSED:
        answer_problem(rq, result, 409, "merchant_order_id_reused",
                       "This merchant_order_id was used for a different order.");
        return;
    case TOPUP_E_NOT_FOUND:
        answer_problem(rq, result, 404, "not_found", "The merchant has no order with this id.");
        return;
    default:
        http_answer_result(rq, result, NULL);
    }
}

/* ---- POST /v1/partner/orders ---- */

static bool id_character(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

static bool merchant_order_id_valid(const char *id)
{
    size_t length = id ? strlen(id) : 0;
    if (length == 0 || length >= MERCHANT_ORDER_ID_SIZE)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!id_character(id[i]))
            return false;
    return true;
}

/* An absolute http(s) URL without spaces or control characters. */
static bool callback_url_valid(const char *url)
{
    size_t length = strlen(url);
    if (length > CALLBACK_URL_LENGTH_MAX || !connector_url_path(url))
        return false;
    const char *host = url + (url[4] == 's' ? 8 : 7);
    if (*host == '\0' || *host == '/' || *host == '?')
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return false;
    return true;
}

/* Reads merchant_order_id and callback_url; answers 400 and returns false when wrong. */
static bool read_partner_fields(request *rq, json_t *body, partner_order_job *job)
{
    json_t *id = json_object_get(body, "merchant_order_id");
    json_t *url = json_object_get(body, "callback_url");
    if (!id) {
        http_bad_request(rq, "missing_field", "The field 'merchant_order_id' is required.");
        return false;
    }
    if (!merchant_order_id_valid(json_string_value(id))) {
        http_bad_request(rq, "invalid_field",
                         "'merchant_order_id' is 1-64 characters of 0-9, A-Z, a-z, _ . : -.");
        return false;
    }
    if (url && (!json_is_string(url) || !callback_url_valid(json_string_value(url)))) {
        http_bad_request(rq, "invalid_field",
                         "'callback_url' is an http:// or https:// URL of at most 500 "
                         "characters, without spaces.");
        return false;
    }
    snprintf(job->merchant_order_id, sizeof job->merchant_order_id, "%s", json_string_value(id));
    snprintf(job->callback_url, sizeof job->callback_url, "%s", url ? json_string_value(url) : "");
    return true;
}

/* The basis points the merchant pays: the product's price, else the operator's, else face. */
static topup_result wholesale_basis_points(store *reader, const merchant_row *m,
                                           const recharge_request *order, int64_t *basis_points)
{
    char target[CATALOG_ID_SIZE + 16];
    snprintf(target, sizeof target, "product:%s", order->product_id);
    topup_result r = store_merchant_price_get(reader, m->id, target, basis_points);
    if (r != TOPUP_E_NOT_FOUND)
        return r;
    snprintf(target, sizeof target, "operator:%s", order->operator_id);
    r = store_merchant_price_get(reader, m->id, target, basis_points);
    if (r == TOPUP_E_NOT_FOUND) {
        *basis_points = 10000;
        return TOPUP_OK;
    }
    return r;
}

/* Sets the merchant's price and float on the resolved request; answers when it cannot. */
static bool price_order(request *rq, recharge_request *order)
{
    const merchant_row *m = &rq->merchant;
    if (strcmp(m->currency, order->currency) != 0) {
        http_answer_result(rq, TOPUP_E_CURRENCY_MISMATCH,
                           "The number's operator sells in another currency than the float.");
        return false;
    }
    if (strcmp(order->connector, "hosted") != 0 &&
        breaker_peek(rq->srv->breakers, order->operator_id, clock_now_seconds()) == BREAKER_OPEN) {
        http_answer_result(rq, TOPUP_E_OPERATOR_UNAVAILABLE,
                           "The operator cannot be reached now; nothing was debited.");
        return false;
    }
    store *reader = server_reader(rq->srv);
    int64_t basis_points = 0;
    topup_result r =
        reader ? wholesale_basis_points(reader, m, order, &basis_points) : TOPUP_E_STORAGE;
    if (r == TOPUP_OK)
        r = money_apply_basis_points(order->face_minor, basis_points, &order->price_minor);
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    if (order->price_minor < 1)
        order->price_minor = 1; /* a recharge is never free, however small its face value */
    snprintf(order->channel, sizeof order->channel, "partner");
    snprintf(order->funding_account, sizeof order->funding_account, "float:%s", m->id);
    return true;
}

static void finish_order(request *rq)
{
    const partner_order_job *job = rq->work;
    if (job->result != TOPUP_OK) {
        answer_refusal(rq, job->result);
        return;
    }
    answer_json(rq, job->replayed ? 200 : 202, job->body, strlen(job->body));
    rq->replayed = job->replayed;
}

void http_post_partner_order(request *rq)
{
    static const char *const allowed[] = {
        "merchant_order_id", "msisdn", "product", "amount_minor", "currency", "callback_url", NULL};
    if (!http_is_json(header(rq, "Content-Type"))) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 415, "unsupported_media_type",
                       "Send the body as Content-Type: application/json.");
        return;
    }
    partner_order_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    rq->work = job;
    json_t *body = http_parse_object(rq);
    if (!body)
        return;
    bool ok = read_partner_fields(rq, body, job) &&
              http_read_recharge(rq, body, allowed, &job->recharge) &&
              price_order(rq, &job->recharge);
    json_decref(body);
    if (!ok)
        return;
    memcpy(job->request_hash, job->recharge.request_hash, REQUEST_HASH_SIZE);
    caller_of(rq, &job->caller);
    server_submit_job(rq, partner_order_apply, job, finish_order);
}

/* ---- signed reads ---- */

static void finish_read(request *rq)
{
    partner_read_job *job = rq->work;
    if (job->result != TOPUP_OK) {
        answer_refusal(rq, job->result);
    } else if (job->kind == PARTNER_READ_STATEMENT) {
        answer_json(rq, 200, job->body, job->body_size);
        rq->content_type = "text/csv; charset=utf-8";
    } else if (job->kind == PARTNER_READ_NONE) {
        answer_json_value(rq, 200, http_operators_value(rq));
    } else {
        answer_json(rq, 200, job->body, job->body_size);
    }
    free(job->body);
    job->body = NULL;
}

static partner_read_job *read_job(request *rq, partner_read_kind kind)
{
    partner_read_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return NULL;
    }
    rq->work = job;
    job->kind = kind;
    caller_of(rq, &job->caller);
    return job;
}

void http_get_partner_order(request *rq)
{
    partner_read_job *job = read_job(rq, PARTNER_READ_ORDER);
    if (!job)
        return;
    if (strlen(rq->param) >= sizeof job->merchant_order_id || !merchant_order_id_valid(rq->param)) {
        answer_refusal(rq, TOPUP_E_NOT_FOUND);
        return;
    }
    memcpy(job->merchant_order_id, rq->param, strlen(rq->param) + 1);
    server_submit_job(rq, partner_read_apply, job, finish_read);
}

void http_get_partner_balance(request *rq)
{
    partner_read_job *job = read_job(rq, PARTNER_READ_BALANCE);
    if (job)
        server_submit_job(rq, partner_read_apply, job, finish_read);
}

void http_get_partner_operators(request *rq)
{
    partner_read_job *job = read_job(rq, PARTNER_READ_NONE);
    if (job)
        server_submit_job(rq, partner_read_apply, job, finish_read);
}

/* "YYYY-MM-DD" to the unix time its day starts in Beijing; false when it is no such date. */
static bool beijing_day_start(const char *date, int64_t *start)
{
    char text[RFC3339_SIZE];
    if (!date || strlen(date) != 10 ||
        snprintf(text, sizeof text, "%sT00:00:00Z", date) >= (int)sizeof text ||
        !clock_parse_rfc3339(text, start))
        return false;
    *start -= PARTNER_UTC_OFFSET_S;
    return true;
}

void http_get_partner_statement(request *rq)
{
    partner_read_job *job = read_job(rq, PARTNER_READ_STATEMENT);
    if (!job)
        return;
    const char *date = MHD_lookup_connection_value(rq->connection, MHD_GET_ARGUMENT_KIND, "date");
    if (!beijing_day_start(date, &job->day_start)) {
        http_bad_request(rq, "invalid_field", "Give ?date=YYYY-MM-DD (a day in Beijing time).");
        return;
    }
    snprintf(job->day, sizeof job->day, "%s", date);
    server_submit_job(rq, partner_read_apply, job, finish_read);
}
