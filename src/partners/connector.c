#include "partners/connector.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partners/signature.h"
#include "payments/http_client.h"

#define NONCE_BYTES 12

const char *connector_url_path(const char *url)
{
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return NULL;
    const char *path = strpbrk(rest, "/?#");
    if (!path)
        return "/";
    /* "http://host?x" would be sent as "/?x" but has no path to point at: refused. */
    return *path == '/' ? path : NULL;
}

/* Sets the verdict and why (cut to fit). */
static void say(connector_answer *answer, connector_verdict verdict, const char *text)
{
    answer->verdict = verdict;
    snprintf(answer->detail, sizeof answer->detail, "%.*s", (int)sizeof answer->detail - 1, text);
}

/* The signed headers of one request; the nonce and timestamp are kept to check the answer. */
typedef struct signed_call {
    char url[OPERATOR_URL_SIZE + 64];
    const char *path;
    int64_t timestamp;
    char nonce[2 * NONCE_BYTES + 1];
    char lines[4][PARTNER_SIGNATURE_HEX_SIZE + 64];
} signed_call;

static bool sign_call(signed_call *call, const operator_endpoint_row *endpoint, const char *method,
                      const char *suffix, const char *body, int64_t now)
{
    size_t base = strlen(endpoint->url);
    while (base > 0 && endpoint->url[base - 1] == '/')
        base--; /* "https://op/api/" and "https://op/api" are the same API */
    int length = snprintf(call->url, sizeof call->url, "%.*s%s", (int)base, endpoint->url, suffix);
    call->path =
        length > 0 && (size_t)length < sizeof call->url ? connector_url_path(call->url) : NULL;
    unsigned char random[NONCE_BYTES];
    if (!call->path || RAND_bytes(random, sizeof random) != 1)
        return false;
    for (size_t i = 0; i < sizeof random; i++)
        snprintf(call->nonce + 2 * i, 3, "%02x", random[i]);
    call->timestamp = now;
    char *text = NULL, signature[PARTNER_SIGNATURE_HEX_SIZE];
    bool ok = partner_signing_text(method, call->path, now, call->nonce, body,
                                   body ? strlen(body) : 0, &text) == TOPUP_OK &&
              partner_sign(endpoint->secret, text, signature) == TOPUP_OK;
    free(text);
    snprintf(call->lines[0], sizeof call->lines[0], "Content-Type: application/json");
    snprintf(call->lines[1], sizeof call->lines[1], "X-Topup-Timestamp: %lld", (long long)now);
    snprintf(call->lines[2], sizeof call->lines[2], "X-Topup-Nonce: %s", call->nonce);
    snprintf(call->lines[3], sizeof call->lines[3], "X-Topup-Signature: %s", signature);
    return ok;
}

/* Whether the answer carries the operator's signature over its body and this request. */
static bool answer_is_signed(const signed_call *call, const operator_endpoint_row *endpoint,
                             const http_client_response *response)
{
    const char *given =
        notify_header_get(response->headers, response->header_count, "X-Operator-Signature");
    char *text = NULL, expected[PARTNER_SIGNATURE_HEX_SIZE];
    bool ok = given && strlen(given) == PARTNER_SIGNATURE_HEX_SIZE - 1 &&
              partner_signing_text("ANSWER", call->path, call->timestamp, call->nonce,
                                   response->body, response->body_size, &text) == TOPUP_OK &&
              partner_sign(endpoint->secret, text, expected) == TOPUP_OK &&
              CRYPTO_memcmp(given, expected, PARTNER_SIGNATURE_HEX_SIZE - 1) == 0;
    free(text);
    return ok;
}

/* Reads a signed 200 answer about order_id. */
static void read_answer(const char *body, int64_t order_id, connector_answer *answer)
{
    json_t *root = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(root, "order_id"));
    const char *status = json_string_value(json_object_get(root, "status"));
    const char *operator_order_id = json_string_value(json_object_get(root, "operator_order_id"));
    const char *reason = json_string_value(json_object_get(root, "reason"));
    char expected_id[24];
    snprintf(expected_id, sizeof expected_id, "%lld", (long long)order_id);
    if (!id || strcmp(id, expected_id) != 0)
        say(answer, CONNECTOR_UNKNOWN, "the operator answered about another order");
    else if (status && strcmp(status, "succeeded") == 0)
        say(answer, CONNECTOR_SUCCEEDED, reason ? reason : "the operator credited it");
    else if (status && strcmp(status, "failed") == 0)
        say(answer, CONNECTOR_FAILED, reason ? reason : "the operator refused it");
    else if (status && strcmp(status, "pending") == 0)
        say(answer, CONNECTOR_PENDING, "the operator is processing it");
    else
        say(answer, CONNECTOR_UNKNOWN, "the operator's answer has no known status");
    if (operator_order_id)
        snprintf(answer->operator_order_id, sizeof answer->operator_order_id, "%s",
                 operator_order_id);
    json_decref(root);
}

static void judge(const signed_call *call, const operator_endpoint_row *endpoint,
                  const http_client_response *response, int64_t order_id, bool query,
                  connector_answer *answer)
{
    if (response->outcome == HTTP_CLIENT_TIMEOUT) {
        say(answer, CONNECTOR_UNKNOWN, "no answer before the timeout");
        return;
    }
    if (response->outcome != HTTP_CLIENT_ANSWERED) {
        say(answer, response->never_sent ? CONNECTOR_NOT_SENT : CONNECTOR_UNKNOWN, response->error);
        return;
    }
    if (!answer_is_signed(call, endpoint, response)) {
        char status[64];
        snprintf(status, sizeof status, "an unsigned or wrongly signed HTTP %ld answer",
                 response->status);
        say(answer, CONNECTOR_UNKNOWN, status);
        return;
    }
    answer->reached = true;
    if (query && response->status == 404)
        say(answer, CONNECTOR_FAILED, "the operator never got the order");
    else if (response->status == 200)
        read_answer(response->body, order_id, answer);
    else
        say(answer, CONNECTOR_UNKNOWN, "the operator answered with an unexpected status");
}

static void call_operator(const operator_endpoint_row *endpoint, const char *method,
                          const char *suffix, const char *body, int64_t order_id, bool query,
                          int64_t now, connector_answer *answer)
{
    memset(answer, 0, sizeof *answer);
    signed_call call;
    if (!sign_call(&call, endpoint, method, suffix, body, now)) {
        say(answer, CONNECTOR_NOT_SENT, "the request could not be signed (bad URL?)");
        return;
    }
    const char *headers[4] = {call.lines[0], call.lines[1], call.lines[2], call.lines[3]};
    http_client_response response;
    if (http_client_request(method, call.url, headers, 4, body, body ? strlen(body) : 0,
                            endpoint->timeout_ms, &response) != TOPUP_OK) {
        say(answer, CONNECTOR_NOT_SENT, "out of memory");
        http_client_response_free(&response);
        return;
    }
    judge(&call, endpoint, &response, order_id, query, answer);
    http_client_response_free(&response);
}

void connector_send(const operator_endpoint_row *endpoint, const order_row *order, int64_t now,
                    connector_answer *answer)
{
    char order_id[24];
    snprintf(order_id, sizeof order_id, "%lld", (long long)order->id);
    json_t *value = json_pack("{s:s,s:s,s:I,s:s,s:s}", "order_id", order_id, "msisdn",
                              order->msisdn, "amount_minor", (json_int_t)order->face_minor,
                              "currency", order->currency, "product", order->product_id);
    char *body = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (!body) {
        memset(answer, 0, sizeof *answer);
        say(answer, CONNECTOR_NOT_SENT, "out of memory");
        return;
    }
    call_operator(endpoint, "POST", "/recharges", body, order->id, false, now, answer);
    free(body);
}

void connector_query(const operator_endpoint_row *endpoint, int64_t order_id, int64_t now,
                     connector_answer *answer)
{
    char suffix[40];
    snprintf(suffix, sizeof suffix, "/recharges/%lld", (long long)order_id);
    call_operator(endpoint, "GET", suffix, NULL, order_id, true, now, answer);
}
