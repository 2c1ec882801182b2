/* The HTTP SMS gateway transport: one HTTP request per message, either Kannel's sendsms GET
 * (http_style kannel: url?username=&password=&from=&to=&text=&charset=UTF-8&coding=2&dlr-mask=)
 * or a JSON POST ({"from","to","text"}; http_style json). A 2xx answer is an acknowledgement
 * (the id is the body's "id" for JSON, or a topup-made id for Kannel, which answers text); a 4xx
 * is a refusal; anything else, a timeout included, leaves the message to be sent again. The call
 * is made inside submit, so the outcome is reported before submit returns. Delivery receipts are
 * not taken from HTTP gateways. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payments/http_client.h"
#include "payments/notify.h"
#include "sms/transport.h"

#define HTTP_SMS_TIMEOUT_MS 10000
#define PASSWORD_SIZE_MAX   256

struct sms_transport {
    sms_settings settings;
    char password[PASSWORD_SIZE_MAX]; /* "" when the gateway needs none */
    sms_result_fn on_result;
    void *context;
};

static topup_result http_start(const sms_settings *settings, sms_result_fn on_result,
                               sms_receipt_fn on_receipt, void *context, sms_transport **out,
                               char *detail, size_t detail_size)
{
    (void)on_receipt;
    *out = NULL;
    bool kannel = strcmp(settings->http_style, "json") != 0;
    if (strncmp(settings->url, "http://", 7) != 0 && strncmp(settings->url, "https://", 8) != 0) {
        snprintf(detail, detail_size, "sms.url must be an http:// or https:// URL");
        return TOPUP_E_INVALID_ARGUMENT;
    }
    sms_transport *t = calloc(1, sizeof *t);
    if (!t)
        return TOPUP_E_NOMEM;
    t->settings = *settings;
    t->on_result = on_result;
    t->context = context;
    if (settings->password_file[0] &&
        notify_load_secret(settings->password_file, t->password, sizeof t->password) != TOPUP_OK) {
        snprintf(detail, detail_size,
                 "sms.password %s cannot be read, is empty, or is readable by group or others",
                 settings->password_file);
        free(t);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    if (kannel && !settings->username[0]) {
        snprintf(detail, detail_size, "sms.username is needed for a kannel gateway");
        OPENSSL_cleanse(t->password, sizeof t->password);
        free(t);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    *out = t;
    return TOPUP_OK;
}

/* "name=value&" with the value form-encoded; false when out of memory. */
static bool append_query(char **query, const char *name, const char *value)
{
    char *encoded = http_client_form_encode(value);
    if (!encoded)
        return false;
    size_t used = *query ? strlen(*query) : 0;
    size_t more = strlen(name) + strlen(encoded) + 3;
    char *grown = realloc(*query, used + more);
    if (grown)
        snprintf(grown + used, more, "%s%s=%s", used ? "&" : "", name, encoded);
    free(encoded);
    if (!grown)
        return false;
    *query = grown;
    return true;
}

static void send_kannel(sms_transport *t, const sms_message *m, http_client_response *response)
{
    char *query = NULL;
    bool ok = append_query(&query, "username", t->settings.username) &&
              append_query(&query, "password", t->password) &&
              append_query(&query, "from", t->settings.source_addr) &&
              append_query(&query, "to", m->to) && append_query(&query, "text", m->text) &&
              append_query(&query, "charset", "UTF-8") && append_query(&query, "coding", "2");
    char *url = ok ? malloc(strlen(t->settings.url) + strlen(query) + 2) : NULL;
    if (url) {
        sprintf(url, "%s%c%s", t->settings.url, strchr(t->settings.url, '?') ? '&' : '?', query);
        http_client_request("GET", url, NULL, 0, NULL, 0, HTTP_SMS_TIMEOUT_MS, response);
    } else {
        memset(response, 0, sizeof *response);
        response->outcome = HTTP_CLIENT_FAILED;
        snprintf(response->error, sizeof response->error, "out of memory");
    }
    if (query)
        OPENSSL_cleanse(query, strlen(query));
    free(query);
    if (url)
        OPENSSL_cleanse(url, strlen(url));
    free(url);
}

static void send_json(sms_transport *t, const sms_message *m, http_client_response *response)
{
    json_t *body = json_pack("{s:s,s:s,s:s}", "from", t->settings.source_addr, "to", m->to,
                             "text", m->text);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char authorization[PASSWORD_SIZE_MAX + 32] = "";
    const char *headers[2] = {"Content-Type: application/json", authorization};
    if (t->password[0])
        snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", t->password);
    http_client_request("POST", t->settings.url, headers, t->password[0] ? 2 : 1, text,
                        text ? strlen(text) : 0, HTTP_SMS_TIMEOUT_MS, response);
    OPENSSL_cleanse(authorization, sizeof authorization);
    free(text);
}

/* The gateway's id for an accepted message: JSON's "id", else one made from topup's own. */
static void accepted_id(const sms_transport *t, const sms_message *m,
                        const http_client_response *response, char *id, size_t id_size)
{
    json_t *body = strcmp(t->settings.http_style, "json") == 0
                       ? json_loadb(response->body, response->body_size, 0, NULL)
                       : NULL;
    const json_t *value = json_object_get(body, "id");
    if (json_is_string(value))
        snprintf(id, id_size, "%s", json_string_value(value));
    else if (json_is_integer(value))
        snprintf(id, id_size, "%lld", (long long)json_integer_value(value));
    else
        snprintf(id, id_size, "http-%lld", (long long)m->id);
    json_decref(body);
}

static topup_result http_submit(sms_transport *t, const sms_message *m)
{
    if (!m->text || !m->text[0] || strlen(m->text) > SMS_TEXT_SIZE_MAX || m->to[0] != '+')
        return TOPUP_E_INVALID_ARGUMENT;
    http_client_response response;
    if (strcmp(t->settings.http_style, "json") == 0)
        send_json(t, m, &response);
    else
        send_kannel(t, m, &response);
    char detail[SMS_DETAIL_SIZE], id[SMS_SMSC_ID_SIZE] = "";
    sms_outcome outcome = SMS_RETRY;
    if (response.outcome != HTTP_CLIENT_ANSWERED) {
        snprintf(detail, sizeof detail, "the gateway did not answer: %.200s", response.error);
    } else if (response.status >= 200 && response.status < 300) {
        outcome = SMS_ACCEPTED;
        accepted_id(t, m, &response, id, sizeof id);
        snprintf(detail, sizeof detail, "accepted (HTTP %ld)", response.status);
    } else {
        /* 4xx: this message will never be taken; 5xx and the rest: try again later. */
        outcome = response.status >= 400 && response.status < 500 ? SMS_REJECTED : SMS_RETRY;
        snprintf(detail, sizeof detail, "HTTP %ld: %.160s", response.status,
                 response.body ? response.body : "");
    }
    http_client_response_free(&response);
    t->on_result(t->context, m->id, outcome, id, detail);
    return TOPUP_OK;
}

static bool http_ready(sms_transport *t)
{
    (void)t;
    return true;
}

static void http_stop(sms_transport *t)
{
    if (!t)
        return;
    OPENSSL_cleanse(t->password, sizeof t->password);
    free(t);
}

const sms_transport_ops http_gateway_transport_ops = {
    .name = "http",
    .start = http_start,
    .submit = http_submit,
    .ready = http_ready,
    .stop = http_stop,
};
