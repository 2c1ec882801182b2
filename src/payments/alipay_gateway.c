/* The Alipay provider behind payments/provider.h: the open platform's trade API (gateway.do,
 * RSA2) for desktop and mobile browser redirects, QR codes and payment codes, with query,
 * refund and close, and Alipay's asynchronous trade notifications.
 *
 * Exposed to: the gateway's answers and the notifications, both of which pass through networks
 * topup does not control. An answer is used only when its signature verifies with the Alipay
 * public key over the exact bytes Alipay signed; the one exception is an unsigned refusal
 * (alipay_answer_failure), which can stop an operation but never reports money as moved. A
 * notification is verified by alipay_verify_notification before any field of it is read.
 * Trusts: the settings and the key files they name. */
#include "payments/alipay_gateway_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "payments/alipay.h"
#include "payments/http_client.h"

#define CODE_SUCCESS           "10000" /* the call did what was asked */
#define CODE_WAITING           "10003" /* alipay.trade.pay: the payer must confirm in the app */
#define BEIJING_OFFSET_S       (8 * 3600)
#define TIMEOUT_MS_DEFAULT     10000
#define AMOUNT_TEXT_SIZE       MONEY_TEXT_SIZE_MAX
#define DETAIL_FROM_ALIPAY_MAX 96 /* bytes of Alipay's own sub_msg quoted in a detail */

struct provider {
    provider_settings settings;  /* a copy: the caller's may go away */
    EVP_PKEY *app_private_key;   /* signs every request */
    EVP_PKEY *alipay_public_key; /* verifies every answer and notification */
};

/* How each payment method is asked of Alipay. */
typedef struct method_api {
    const char *api;          /* the gateway method */
    const char *product_code; /* biz_content.product_code Alipay expects for it */
    bool redirect;            /* the payer's browser carries the signed request: no server call */
} method_api;

static const method_api method_apis[PAY_METHOD_COUNT] = {
    [PAY_METHOD_PAGE] = {"alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY", true},
    [PAY_METHOD_WAP] = {"alipay.trade.wap.pay", "QUICK_WAP_WAY", true},
    [PAY_METHOD_QR] = {"alipay.trade.precreate", "FACE_TO_FACE_PAYMENT", false},
    [PAY_METHOD_CODE] = {"alipay.trade.pay", "FACE_TO_FACE_PAYMENT", false},
};

/* Alipay's trade_status, in queries and notifications alike. TRADE_FINISHED is a paid trade
 * that can no longer be refunded; TRADE_CLOSED is unpaid-and-expired or fully refunded. */
static const struct {
    const char *name;
    trade_state state;
} trade_statuses[] = {
    {"WAIT_BUYER_PAY", TRADE_PENDING},
    {"TRADE_SUCCESS", TRADE_PAID},
    {"TRADE_FINISHED", TRADE_PAID},
    {"TRADE_CLOSED", TRADE_CLOSED},
};

/* ---- text and amounts ------------------------------------------------------------------------ */

/* Drops a UTF-8 sequence that truncation cut at the end of text. */
static void trim_partial_utf8(char *text)
{
    size_t length = strlen(text);
    size_t start = length;
    while (start > 0 && length - start < 4 && ((unsigned char)text[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return;
    unsigned char lead = (unsigned char)text[start - 1];
    size_t expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (length - (start - 1) < expected)
        text[start - 1] = '\0';
}

/* Writes one sentence into detail. Text from Alipay may be part of it, so control characters
 * become spaces (details are logged) and a UTF-8 sequence cut by truncation is dropped (details
 * are printed as JSON, which must be UTF-8). */
static void set_detail(char *detail, size_t detail_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_detail(char *detail, size_t detail_size, const char *format, ...)
{
    if (detail_size == 0)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, detail_size, format, arguments);
    va_end(arguments);
    for (char *p = detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = ' ';
    trim_partial_utf8(detail);
}

/* A string member of an answer or notification, "" when absent or not a string. */
static const char *field_text(const json_t *fields, const char *name)
{
    const char *text = json_string_value(json_object_get(fields, name));
    return text ? text : "";
}

/* Copies src into dst; false (dst left empty) when it does not fit. */
static bool copy_text(char *dst, size_t dst_size, const char *src)
{
    size_t length = strlen(src);
    if (length >= dst_size) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, length + 1);
    return true;
}

static bool set_text(json_t *object, const char *name, const char *value)
{
    /* json_string refuses text that is not UTF-8; set_new then fails and frees nothing. */
    return json_object_set_new(object, name, json_string(value)) == 0;
}

void alipay_format_beijing_time(int64_t unix_seconds, char text[ALIPAY_TIME_SIZE])
{
    /* Alipay reads every time as Beijing time; the machine's TZ must not shift it. */
    time_t shifted = (time_t)(unix_seconds + BEIJING_OFFSET_S);
    struct tm fields;
    if (!gmtime_r(&shifted, &fields)) {
        text[0] = '\0';
        return;
    }
    strftime(text, ALIPAY_TIME_SIZE, "%Y-%m-%d %H:%M:%S", &fields);
}

/* The amount as Alipay writes it ("100.00" yuan); false when it is not a positive CNY amount. */
static bool format_yuan(int64_t amount_minor, char text[AMOUNT_TEXT_SIZE] /* OUT */)
{
    if (amount_minor <= 0)
        return false;
    provider_amount_format(amount_minor, "CNY", text, AMOUNT_TEXT_SIZE);
    return text[0] != '\0';
}

/* ---- requests -------------------------------------------------------------------------------- */

/* The parameters every call carries, with biz_content (serialised here) and sign left out.
 * NULL when memory ran out or a value is not UTF-8. The caller json_decrefs it. */
static json_t *common_params(const provider *p, const char *api, const json_t *biz_content)
{
    char timestamp[ALIPAY_TIME_SIZE];
    alipay_format_beijing_time(clock_now_seconds(), timestamp);
    char *biz_text = json_dumps(biz_content, JSON_COMPACT);
    json_t *params = json_object();
    bool built = biz_text && params && set_text(params, "app_id", p->settings.app_id) &&
                 set_text(params, "method", api) && set_text(params, "format", "JSON") &&
                 set_text(params, "charset", "utf-8") && set_text(params, "sign_type", "RSA2") &&
                 set_text(params, "timestamp", timestamp) && set_text(params, "version", "1.0") &&
                 set_text(params, "biz_content", biz_text);
    free(biz_text);
    if (!built) {
        json_decref(params);
        return NULL;
    }
    return params;
}

/* Adds notify_url and, for a browser redirect, return_url. Empty settings are left out: an
 * empty parameter is not signed by Alipay's rules, and is best not sent at all. */
static bool add_create_urls(const provider *p, json_t *params, bool redirect)
{
    if (p->settings.notify_url[0] && !set_text(params, "notify_url", p->settings.notify_url))
        return false;
    if (redirect && p->settings.return_url[0] &&
        !set_text(params, "return_url", p->settings.return_url))
        return false;
    return true;
}

/* Signs params with the application key and adds sign. */
static bool sign_params(const provider *p, json_t *params)
{
    char *signature;
    if (alipay_sign_params(params, p->app_private_key, &signature) != TOPUP_OK)
        return false;
    bool added = set_text(params, "sign", signature);
    free(signature);
    return added;
}

/* Appends to the malloc'd *text, growing it; false on NOMEM (*text is then freed). */
static bool append(char **text, size_t *length, const char *piece)
{
    size_t piece_length = strlen(piece);
    char *grown = realloc(*text, *length + piece_length + 1);
    if (!grown) {
        free(*text);
        *text = NULL;
        return false;
    }
    memcpy(grown + *length, piece, piece_length + 1);
    *length += piece_length;
    *text = grown;
    return true;
}

/* params as application/x-www-form-urlencoded text (also a URL's query). malloc'd; the caller
 * frees it. NULL on NOMEM. */
static char *form_encode(const json_t *params)
{
    char *text = calloc(1, 1);
    size_t length = 0;
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)(uintptr_t)params, name, value)
    {
        char *encoded_name = http_client_form_encode(name);
        char *encoded_value = http_client_form_encode(json_string_value(value));
        bool appended = text && encoded_name && encoded_value &&
                        (length == 0 || append(&text, &length, "&")) &&
                        append(&text, &length, encoded_name) && append(&text, &length, "=") &&
                        append(&text, &length, encoded_value);
        free(encoded_name);
        free(encoded_value);
        if (!appended) {
            free(text);
            return NULL;
        }
    }
    return text;
}

/* A server call's answer, once its signature held (or it carried none). */
typedef struct answer {
    json_t *fields; /* the <method>_response object; owned */
    bool is_signed; /* false: Alipay sent no sign (only a refusal is believed then) */
    const char *code;
    const char *sub_code;
} answer;

static void answer_free(answer *a)
{
    json_decref(a->fields);
    a->fields = NULL;
}

/* Sends params (signed here) to the gateway and reads the answer. GATEWAY_OK with *a filled
 * when an answer was read whose signature holds or that carries none; GATEWAY_UNKNOWN when the
 * call may have reached Alipay but no usable answer came back; GATEWAY_REFUSED when nothing was
 * sent. */
static gateway_status call_gateway(provider *p, const char *api, json_t *params,
                                   answer *a /* OUT */, char *detail, size_t detail_size)
{
    memset(a, 0, sizeof *a);
    char *body = sign_params(p, params) ? form_encode(params) : NULL;
    if (!body) {
        set_detail(detail, detail_size, "%s was not sent: the request could not be signed", api);
        return GATEWAY_REFUSED;
    }
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded;charset=utf-8",
        "Accept: application/json",
    };
    long timeout_ms = p->settings.timeout_ms > 0 ? p->settings.timeout_ms : TIMEOUT_MS_DEFAULT;
    http_client_response response;
    topup_result r = http_client_request("POST", p->settings.gateway_url, headers,
                                         sizeof headers / sizeof headers[0], body, strlen(body),
                                         timeout_ms, &response);
    free(body);
    if (r != TOPUP_OK) {
        set_detail(detail, detail_size, "%s was not sent: out of memory", api);
        return GATEWAY_REFUSED;
    }
    gateway_status status = GATEWAY_UNKNOWN;
    if (response.outcome == HTTP_CLIENT_TIMEOUT) {
        set_detail(detail, detail_size, "Alipay did not answer %s within %ld ms: %s", api,
                   timeout_ms, response.error);
    } else if (response.outcome != HTTP_CLIENT_ANSWERED) {
        set_detail(detail, detail_size, "%s failed before Alipay answered: %s", api,
                   response.error);
    } else if (response.status != 200) {
        set_detail(detail, detail_size, "Alipay answered %s with HTTP %ld", api, response.status);
    } else {
        /* The body is read as JSON whatever its Content-Type: Alipay's gateway has been known
         * to label JSON answers text/html. */
        alipay_response_signature signature;
        char reason[160];
        r = alipay_read_response(response.body, response.body_size, api, p->alipay_public_key,
                                 &a->fields, &signature, reason, sizeof reason);
        if (r != TOPUP_OK)
            set_detail(detail, detail_size, "out of memory reading Alipay's answer to %s", api);
        else if (!a->fields)
            set_detail(detail, detail_size, "Alipay's answer to %s cannot be used: %s", api,
                       reason);
        else
            status = GATEWAY_OK;
        a->is_signed = signature == ALIPAY_RESPONSE_SIGNED;
        a->code = field_text(a->fields, "code");
        a->sub_code = field_text(a->fields, "sub_code");
    }
    http_client_response_free(&response);
    return status;
}

gateway_status alipay_answer_failure(const char *code, const char *sub_code, const char *sub_msg,
                                     bool is_signed, char *detail, size_t detail_size)
{
    /* Whatever the signature: these two say the outcome is not what a refusal would mean. */
    if (strcmp(sub_code, "ACQ.SYSTEM_ERROR") == 0) {
        set_detail(detail, detail_size,
                   "Alipay had a system error (%s ACQ.SYSTEM_ERROR): the outcome is unknown; ask "
                   "again with the same numbers",
                   code);
        return GATEWAY_UNKNOWN;
    }
    if (strcmp(sub_code, "ACQ.TRADE_HAS_SUCCESS") == 0) {
        set_detail(detail, detail_size,
                   "Alipay says the trade is already paid (ACQ.TRADE_HAS_SUCCESS): query it");
        return GATEWAY_UNKNOWN;
    }
    bool is_4xxxx = strlen(code) == 5 && code[0] == '4' && strspn(code, "0123456789") == 5;
    if (!is_signed) {
        /* Alipay leaves sign out of some error answers, notably when it does not know the app
         * or could not verify the request's signature (it has no key to answer that app with),
         * and its own SDKs take an unsigned failure for a failure. So an unsigned 4xxxx is a
         * refusal: it never reports money as moved. A refusal substituted for a payment that
         * went through would need the TLS connection broken, and is caught even then: Alipay
         * still notifies the payment, and a payment for an order given up is refunded.
         * Anything else unsigned tells nothing. */
        if (is_4xxxx) {
            set_detail(detail, detail_size, "Alipay refused (unsigned answer): %s %s %.*s", code,
                       sub_code, DETAIL_FROM_ALIPAY_MAX, sub_msg);
            return GATEWAY_REFUSED;
        }
        set_detail(detail, detail_size,
                   "Alipay's answer carries no signature and is not a refusal (code \"%.16s\"): "
                   "the outcome is unknown",
                   code);
        return GATEWAY_UNKNOWN;
    }
    if (strcmp(code, "20000") == 0) {
        set_detail(detail, detail_size,
                   "Alipay's service was unavailable (20000 %s): the outcome is unknown", sub_code);
        return GATEWAY_UNKNOWN;
    }
    /* 40001 missing parameter, 40002 invalid parameter or signature, 40004 business failure,
     * 40006 and 20001 missing permission: Alipay did nothing. */
    if (is_4xxxx || strcmp(code, "20001") == 0) {
        set_detail(detail, detail_size, "Alipay refused: %s %s %.*s", code, sub_code,
                   DETAIL_FROM_ALIPAY_MAX, sub_msg);
        return GATEWAY_REFUSED;
    }
    set_detail(detail, detail_size, "Alipay answered an unexpected code \"%.16s\" %s", code,
               sub_code);
    return GATEWAY_UNKNOWN;
}

/* The answer read as a failure (see alipay_answer_failure). */
static gateway_status answer_failure(const answer *a, char *detail, size_t detail_size)
{
    return alipay_answer_failure(a->code, a->sub_code, field_text(a->fields, "sub_msg"),
                                 a->is_signed, detail, detail_size);
}

/* Whether the answer is a verified success. */
static bool answer_succeeded(const answer *a)
{
    return a->is_signed && strcmp(a->code, CODE_SUCCESS) == 0;
}

/* Whether the answer is a verified "no such trade". */
static bool answer_trade_not_exist(const answer *a)
{
    return a->is_signed && strcmp(a->code, "40004") == 0 &&
           strcmp(a->sub_code, "ACQ.TRADE_NOT_EXIST") == 0;
}

/* A signed answer carries no nonce, so an old one could be replayed for another call: an
 * answer that names another out_trade_no is not about this trade. */
static bool answer_is_about(const answer *a, const char *out_trade_no, char *detail,
                            size_t detail_size)
{
    const char *answered = field_text(a->fields, "out_trade_no");
    if (answered[0] == '\0' || strcmp(answered, out_trade_no) == 0)
        return true;
    set_detail(detail, detail_size, "Alipay's answer is about trade \"%.64s\", not \"%s\"",
               answered, out_trade_no);
    return false;
}

/* Signs params, calls api and leaves the answer in *a; see call_gateway. params is consumed. */
static gateway_status call(provider *p, const char *api, json_t *params, answer *a, char *detail,
                           size_t detail_size)
{
    if (!params) {
        memset(a, 0, sizeof *a);
        set_detail(detail, detail_size,
                   "%s was not sent: out of memory, or a parameter is not UTF-8 text", api);
        return GATEWAY_REFUSED;
    }
    gateway_status status = call_gateway(p, api, params, a, detail, detail_size);
    json_decref(params);
    return status;
}

/* One member of biz_content; a NULL or empty value is left out. */
typedef struct biz_field {
    const char *name;
    const char *value;
} biz_field;

#define FIELD_COUNT(fields) (sizeof(fields) / sizeof((fields)[0]))

/* The common parameters with biz_content built from fields. NULL when memory ran out or a
 * value is not UTF-8. The caller json_decrefs it. */
static json_t *request_params(const provider *p, const char *api, const biz_field *fields,
                              size_t field_count)
{
    json_t *biz = json_object();
    bool built = biz != NULL;
    for (size_t i = 0; built && i < field_count; i++)
        if (fields[i].value && fields[i].value[0])
            built = set_text(biz, fields[i].name, fields[i].value);
    json_t *params = built ? common_params(p, api, biz) : NULL;
    json_decref(biz);
    return params;
}

/* ---- open ------------------------------------------------------------------------------------ */

/* Why a key file could not be used, in one sentence naming the setting. */
static void explain_key_failure(topup_result r, const char *setting, const char *path,
                                bool is_private, char *detail, size_t detail_size)
{
    struct stat st;
    if (r == TOPUP_E_IO) {
        set_detail(detail, detail_size, "%s: %s cannot be read", setting, path);
    } else if (is_private && stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        set_detail(detail, detail_size,
                   "%s: %s can be read by group or others; a payment key must not be "
                   "(chmod 600 it)",
                   setting, path);
    } else {
        set_detail(detail, detail_size, "%s: %s does not hold a PEM RSA %s", setting, path,
                   is_private ? "private key" : "public key or certificate");
    }
}

static void alipay_free(provider *p)
{
    if (!p)
        return;
    EVP_PKEY_free(p->app_private_key);
    EVP_PKEY_free(p->alipay_public_key);
    free(p);
}

/* The first required setting that is empty, as its config key; NULL when all are set. */
static const char *missing_setting(const provider_settings *settings)
{
    if (settings->app_id[0] == '\0')
        return "alipay.app_id";
    if (settings->gateway_url[0] == '\0')
        return "alipay.gateway";
    if (settings->private_key_file[0] == '\0')
        return "alipay.private_key";
    if (settings->public_key_file[0] == '\0')
        return "alipay.public_key";
    return NULL;
}

static topup_result alipay_open(const provider_settings *settings, provider **out, char *detail,
                                size_t detail_size)
{
    *out = NULL;
    const char *missing = missing_setting(settings);
    if (missing) {
        set_detail(detail, detail_size,
                   "%s is not set: Alipay needs app_id, gateway (the gateway.do URL), "
                   "private_key (the app's key) and public_key (Alipay's)",
                   missing);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    provider *p = calloc(1, sizeof *p);
    if (!p)
        return TOPUP_E_NOMEM;
    p->settings = *settings;
    topup_result r = notify_load_private_key(settings->private_key_file, &p->app_private_key);
    if (r != TOPUP_OK || !EVP_PKEY_is_a(p->app_private_key, "RSA")) {
        explain_key_failure(r, "alipay.private_key", settings->private_key_file, true, detail,
                            detail_size);
        alipay_free(p);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    r = notify_load_public_key(settings->public_key_file, &p->alipay_public_key);
    if (r != TOPUP_OK || !EVP_PKEY_is_a(p->alipay_public_key, "RSA")) {
        explain_key_failure(r, "alipay.public_key", settings->public_key_file, false, detail,
                            detail_size);
        alipay_free(p);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    *out = p;
    return TOPUP_OK;
}

/* ---- create ---------------------------------------------------------------------------------- */

/* A page or wap payment: the payer's browser takes the signed request to the gateway, so the
 * request is the URL and nothing is sent from here. */
static gateway_status create_redirect(provider *p, const method_api *m, json_t *params,
                                      payment_created *created, char *detail, size_t detail_size)
{
    char *query =
        add_create_urls(p, params, true) && sign_params(p, params) ? form_encode(params) : NULL;
    if (!query) {
        set_detail(detail, detail_size, "%s: the request could not be signed", m->api);
        return GATEWAY_REFUSED;
    }
    const char *separator = strchr(p->settings.gateway_url, '?') ? "&" : "?";
    int length = snprintf(created->pay_url, sizeof created->pay_url, "%s%s%s",
                          p->settings.gateway_url, separator, query);
    free(query);
    if (length < 0 || (size_t)length >= sizeof created->pay_url) {
        created->pay_url[0] = '\0';
        set_detail(detail, detail_size, "%s: the signed URL is longer than %d bytes", m->api,
                   PAY_URL_SIZE - 1);
        return GATEWAY_REFUSED;
    }
    created->state = TRADE_PENDING;
    set_detail(detail, detail_size, "redirect the payer to Alipay (%s)", m->api);
    return GATEWAY_OK;
}

/* alipay.trade.precreate: Alipay answers the content of the QR code to show. */
static gateway_status create_qr(provider *p, const payment_request *request, json_t *params,
                                payment_created *created, char *detail, size_t detail_size)
{
    const char *api = method_apis[PAY_METHOD_QR].api;
    answer a;
    gateway_status status = call(p, api, params, &a, detail, detail_size);
    if (status != GATEWAY_OK)
        return status;
    if (!answer_succeeded(&a)) {
        status = answer_failure(&a, detail, detail_size);
    } else if (!answer_is_about(&a, request->out_trade_no, detail, detail_size)) {
        status = GATEWAY_UNKNOWN;
    } else if (field_text(a.fields, "qr_code")[0] == '\0' ||
               !copy_text(created->pay_url, sizeof created->pay_url,
                          field_text(a.fields, "qr_code"))) {
        set_detail(detail, detail_size, "Alipay's answer has no usable qr_code");
        status = GATEWAY_UNKNOWN;
    } else {
        created->state = TRADE_PENDING;
        set_detail(detail, detail_size, "show qr_code to the payer");
    }
    answer_free(&a);
    return status;
}

/* A successful alipay.trade.pay: the money was taken. The amount Alipay says it took must be the
 * one asked, and the trade number is what later notifications are deduplicated by. */
static gateway_status code_paid(const answer *a, const payment_request *request,
                                payment_created *created, char *detail, size_t detail_size)
{
    const char *total = field_text(a->fields, "total_amount");
    int64_t total_minor = 0;
    if (total[0] && (provider_amount_parse(total, "CNY", &total_minor) != TOPUP_OK ||
                     total_minor != request->amount_minor)) {
        set_detail(detail, detail_size,
                   "Alipay says it took total_amount \"%.32s\", not what was asked: query the "
                   "trade",
                   total);
        return GATEWAY_UNKNOWN;
    }
    if (field_text(a->fields, "trade_no")[0] == '\0' ||
        !copy_text(created->trade_no, sizeof created->trade_no,
                   field_text(a->fields, "trade_no"))) {
        set_detail(detail, detail_size, "Alipay's answer has no usable trade_no: query the trade");
        return GATEWAY_UNKNOWN;
    }
    created->state = TRADE_PAID;
    set_detail(detail, detail_size, "paid");
    return GATEWAY_OK;
}

/* alipay.trade.pay answered 10003: the payer must confirm in the app (a large amount, a
 * password). The trade exists and is pending; the notification or a query says how it ends. */
static gateway_status code_waiting(const answer *a, payment_created *created, char *detail,
                                   size_t detail_size)
{
    created->state = TRADE_PENDING;
    copy_text(created->trade_no, sizeof created->trade_no, field_text(a->fields, "trade_no"));
    set_detail(detail, detail_size, "waiting for the payer to confirm in Alipay (10003)");
    return GATEWAY_OK;
}

/* alipay.trade.pay: the counter scanned the payer's payment code. */
static gateway_status create_code(provider *p, const payment_request *request, json_t *params,
                                  payment_created *created, char *detail, size_t detail_size)
{
    const char *api = method_apis[PAY_METHOD_CODE].api;
    answer a;
    gateway_status status = call(p, api, params, &a, detail, detail_size);
    if (status != GATEWAY_OK)
        return status;
    bool waiting = a.is_signed && strcmp(a.code, CODE_WAITING) == 0;
    if (waiting || answer_succeeded(&a)) {
        if (!answer_is_about(&a, request->out_trade_no, detail, detail_size))
            status = GATEWAY_UNKNOWN;
        else if (waiting)
            status = code_waiting(&a, created, detail, detail_size);
        else
            status = code_paid(&a, request, created, detail, detail_size);
    } else {
        status = answer_failure(&a, detail, detail_size);
    }
    answer_free(&a);
    return status;
}

/* The parameters of a create, with the notify_url a server call carries. */
static json_t *create_params(const provider *p, const method_api *m, const payment_request *request,
                             const char *total_amount)
{
    char time_expire[ALIPAY_TIME_SIZE] = "";
    if (request->expires_at > 0)
        alipay_format_beijing_time(request->expires_at, time_expire);
    /* Alipay requires a subject; the payment number is the one thing always at hand. */
    const char *subject = request->subject[0] ? request->subject : request->out_trade_no;
    bool is_code = request->method == PAY_METHOD_CODE;
    const biz_field fields[] = {
        {"out_trade_no", request->out_trade_no},
        {"total_amount", total_amount},
        {"subject", subject},
        {"product_code", m->product_code},
        {"time_expire", time_expire},
        {"scene", is_code ? "bar_code" : NULL},
        {"auth_code", is_code ? request->auth_code : NULL},
    };
    json_t *params = request_params(p, m->api, fields, FIELD_COUNT(fields));
    if (params && !m->redirect && !add_create_urls(p, params, false)) {
        json_decref(params);
        return NULL;
    }
    return params;
}

static gateway_status alipay_create(provider *p, const payment_request *request,
                                    payment_created *created, char *detail, size_t detail_size)
{
    memset(created, 0, sizeof *created);
    created->state = TRADE_PENDING;
    if ((unsigned)request->method >= PAY_METHOD_COUNT || !method_apis[request->method].api) {
        set_detail(detail, detail_size, "Alipay does not offer the %s method",
                   pay_method_name(request->method));
        return GATEWAY_REFUSED;
    }
    const method_api *m = &method_apis[request->method];
    if (strcmp(request->currency, "CNY") != 0) {
        set_detail(detail, detail_size, "Alipay collects CNY only, not %.3s", request->currency);
        return GATEWAY_REFUSED;
    }
    char total_amount[AMOUNT_TEXT_SIZE];
    if (!format_yuan(request->amount_minor, total_amount)) {
        set_detail(detail, detail_size, "the amount must be a positive CNY amount");
        return GATEWAY_REFUSED;
    }
    if (request->method == PAY_METHOD_CODE && request->auth_code[0] == '\0') {
        set_detail(detail, detail_size,
                   "a payment-code payment needs the payer's code (auth_code)");
        return GATEWAY_REFUSED;
    }
    json_t *params = create_params(p, m, request, total_amount);
    if (m->redirect) {
        if (!params) {
            set_detail(detail, detail_size, "%s: out of memory, or a parameter is not UTF-8 text",
                       m->api);
            return GATEWAY_REFUSED;
        }
        gateway_status status = create_redirect(p, m, params, created, detail, detail_size);
        json_decref(params);
        return status;
    }
    if (request->method == PAY_METHOD_QR)
        return create_qr(p, request, params, created, detail, detail_size);
    return create_code(p, request, params, created, detail, detail_size);
}

/* ---- query, refund, close -------------------------------------------------------------------- */

/* The trade's currency: Alipay prices in CNY unless the trade names another (cross-border
 * merchants price in trans_currency). */
static const char *trade_currency(const json_t *fields)
{
    const char *currency = field_text(fields, "trans_currency");
    if (currency[0] == '\0')
        currency = field_text(fields, "currency");
    return currency[0] ? currency : "CNY";
}

/* Maps trade_status; false when Alipay sent a status it does not document. */
static bool trade_status_parse(const char *name, trade_state *state /* OUT */)
{
    for (size_t i = 0; i < sizeof trade_statuses / sizeof trade_statuses[0]; i++) {
        if (strcmp(trade_statuses[i].name, name) == 0) {
            *state = trade_statuses[i].state;
            return true;
        }
    }
    return false;
}

/* Reads a successful alipay.trade.query answer into trade. */
static gateway_status read_trade(const answer *a, trade_info *trade, char *detail,
                                 size_t detail_size)
{
    const char *status = field_text(a->fields, "trade_status");
    if (!trade_status_parse(status, &trade->state)) {
        set_detail(detail, detail_size, "Alipay answered an unknown trade_status \"%.32s\"",
                   status);
        return GATEWAY_UNKNOWN;
    }
    if (!copy_text(trade->trade_no, sizeof trade->trade_no, field_text(a->fields, "trade_no"))) {
        set_detail(detail, detail_size, "Alipay's trade_no is longer than %d bytes",
                   TRADE_NO_SIZE - 1);
        return GATEWAY_UNKNOWN;
    }
    if (trade->state != TRADE_PAID) {
        set_detail(detail, detail_size, "%s", status);
        return GATEWAY_OK;
    }
    const char *currency = trade_currency(a->fields);
    const char *total = field_text(a->fields, "total_amount");
    if (!copy_text(trade->currency, sizeof trade->currency, currency) ||
        provider_amount_parse(total, currency, &trade->amount_minor) != TOPUP_OK ||
        trade->trade_no[0] == '\0') {
        set_detail(detail, detail_size,
                   "Alipay says %s but its total_amount \"%.32s\" %.3s or trade_no is not usable",
                   status, total, currency);
        trade->amount_minor = 0;
        return GATEWAY_UNKNOWN;
    }
    set_detail(detail, detail_size, "%s", status);
    return GATEWAY_OK;
}

/* provider_ref is unused: Alipay finds a trade by out_trade_no. */
static gateway_status alipay_query(provider *p, const char *out_trade_no, const char *provider_ref,
                                   trade_info *trade, char *detail, size_t detail_size)
{
    (void)provider_ref;
    memset(trade, 0, sizeof *trade);
    trade->state = TRADE_NOT_FOUND;
    const char *api = "alipay.trade.query";
    const biz_field fields[] = {{"out_trade_no", out_trade_no}};
    answer a;
    gateway_status status =
        call(p, api, request_params(p, api, fields, FIELD_COUNT(fields)), &a, detail, detail_size);
    if (status != GATEWAY_OK)
        return status;
    if (answer_trade_not_exist(&a)) {
        /* Also the answer for a page or wap payment the payer never opened: Alipay creates
         * the trade only when the payer logs in. */
        set_detail(detail, detail_size, "Alipay has no such trade (ACQ.TRADE_NOT_EXIST)");
    } else if (!answer_succeeded(&a)) {
        status = answer_failure(&a, detail, detail_size);
    } else if (!answer_is_about(&a, out_trade_no, detail, detail_size)) {
        status = GATEWAY_UNKNOWN;
    } else {
        status = read_trade(&a, trade, detail, detail_size);
    }
    if (status != GATEWAY_OK) {
        memset(trade, 0, sizeof *trade);
        trade->state = TRADE_NOT_FOUND;
    }
    answer_free(&a);
    return status;
}

static gateway_status alipay_refund(provider *p, const refund_request *request, refund_info *refund,
                                    char *detail, size_t detail_size)
{
    memset(refund, 0, sizeof *refund);
    refund->state = REFUND_FAILED;
    char refund_amount[AMOUNT_TEXT_SIZE];
    if (strcmp(request->currency, "CNY") != 0 ||
        !format_yuan(request->refund_minor, refund_amount)) {
        set_detail(detail, detail_size, "Alipay refunds a positive CNY amount, not %.3s",
                   request->currency);
        return GATEWAY_REFUSED;
    }
    const char *api = "alipay.trade.refund";
    const biz_field fields[] = {
        {"out_trade_no", request->out_trade_no}, {"trade_no", request->trade_no},
        {"refund_amount", refund_amount},        {"out_request_no", request->out_request_no},
        {"refund_reason", request->reason},
    };
    answer a;
    gateway_status status =
        call(p, api, request_params(p, api, fields, FIELD_COUNT(fields)), &a, detail, detail_size);
    if (status != GATEWAY_OK) {
        refund->state = status == GATEWAY_UNKNOWN ? REFUND_PENDING : REFUND_FAILED;
        return status;
    }
    const char *fund_change = field_text(a.fields, "fund_change");
    if (!answer_succeeded(&a)) {
        status = answer_failure(&a, detail, detail_size);
    } else if (!answer_is_about(&a, request->out_trade_no, detail, detail_size)) {
        status = GATEWAY_UNKNOWN;
    } else if (strcmp(fund_change, "Y") == 0 || strcmp(fund_change, "N") == 0) {
        /* N is Alipay's answer to an out_request_no it has already refunded: the refund
         * happened, once. Alipay gives a refund no id of its own; out_request_no (with the
         * trade) is how it is known there. */
        refund->state = REFUND_SUCCEEDED;
        copy_text(refund->refund_id, sizeof refund->refund_id, request->out_request_no);
        set_detail(detail, detail_size, "refunded (fund_change %s)", fund_change);
    } else {
        set_detail(detail, detail_size, "Alipay's answer has no fund_change: query the refund");
        status = GATEWAY_UNKNOWN;
    }
    if (status != GATEWAY_OK)
        refund->state = status == GATEWAY_UNKNOWN ? REFUND_PENDING : REFUND_FAILED;
    answer_free(&a);
    return status;
}

static gateway_status alipay_close(provider *p, const char *out_trade_no, const char *provider_ref,
                                   char *detail, size_t detail_size)
{
    (void)provider_ref; /* Alipay finds a trade by out_trade_no */
    const char *api = "alipay.trade.close";
    const biz_field fields[] = {{"out_trade_no", out_trade_no}};
    answer a;
    gateway_status status =
        call(p, api, request_params(p, api, fields, FIELD_COUNT(fields)), &a, detail, detail_size);
    if (status != GATEWAY_OK)
        return status;
    if (answer_trade_not_exist(&a)) {
        /* Closing is done to make sure the payer can no longer pay. A trade Alipay never
         * created (a page payment the payer never opened) cannot be paid any more than a
         * closed one, so this is success, not a refusal the caller would retry or alert on. */
        set_detail(detail, detail_size, "Alipay has no such trade: nothing to close");
    } else if (!answer_succeeded(&a)) {
        /* ACQ.TRADE_STATUS_ERROR: the trade is paid (or finished) and cannot be closed. */
        status = answer_failure(&a, detail, detail_size);
    } else if (!answer_is_about(&a, out_trade_no, detail, detail_size)) {
        status = GATEWAY_UNKNOWN;
    } else {
        set_detail(detail, detail_size, "closed");
    }
    answer_free(&a);
    return status;
}

/* ---- notifications --------------------------------------------------------------------------- */

/* Reads a genuine notification's fields into notice; refuses (result->genuine false) one that a
 * paid or closed trade cannot be acted on without. */
static void read_notice(notify_result *result, payment_notice *notice)
{
    const json_t *fields = result->fields;
    const char *status = field_text(fields, "trade_status");
    trade_state state = TRADE_PENDING;
    bool known = trade_status_parse(status, &state);
    notice->kind = !known                  ? NOTICE_OTHER
                   : state == TRADE_PAID   ? NOTICE_PAID
                   : state == TRADE_CLOSED ? NOTICE_CLOSED
                                           : NOTICE_OTHER;
    const char *out_trade_no = field_text(fields, "out_trade_no");
    const char *trade_no = field_text(fields, "trade_no");
    bool names_fit =
        copy_text(notice->app_id, sizeof notice->app_id, field_text(fields, "app_id")) &&
        copy_text(notice->out_trade_no, sizeof notice->out_trade_no, out_trade_no) &&
        copy_text(notice->trade_no, sizeof notice->trade_no, trade_no);
    if (!names_fit) {
        notify_refuse(result, "app_id, out_trade_no or trade_no is too long");
        return;
    }
    if (notice->kind != NOTICE_OTHER && out_trade_no[0] == '\0') {
        notify_refuse(result, "the %s notification has no out_trade_no", status);
        return;
    }
    const char *currency = trade_currency(fields);
    const char *total = field_text(fields, "total_amount");
    if (!copy_text(notice->currency, sizeof notice->currency, currency) ||
        !currency_find(currency)) {
        notify_refuse(result, "the notification's currency \"%.8s\" is not one topup knows",
                      currency);
        return;
    }
    bool amount_read = provider_amount_parse(total, currency, &notice->amount_minor) == TOPUP_OK;
    if (!amount_read)
        notice->amount_minor = 0;
    if (notice->kind == NOTICE_PAID && (!amount_read || trade_no[0] == '\0')) {
        notify_refuse(result,
                      "the %s notification's total_amount \"%.32s\" or trade_no is missing or "
                      "malformed",
                      status, total);
        return;
    }
}

static topup_result alipay_verify(provider *p, const notify_header *headers, size_t header_count,
                                  const char *body, size_t body_size, int64_t now,
                                  notify_result *result, payment_notice *notice)
{
    /* Alipay signs the form body alone; headers carry nothing it vouches for. There is no
     * time limit either: Alipay resends a notification for about 25 hours, and the signature,
     * not the age, is what makes it genuine. */
    (void)headers;
    (void)header_count;
    (void)now;
    memset(notice, 0, sizeof *notice);
    notice->kind = NOTICE_OTHER;
    topup_result r = alipay_verify_notification(body, body_size, p->alipay_public_key, result);
    if (r != TOPUP_OK || !result->genuine)
        return r;
    read_notice(result, notice);
    if (!result->genuine)
        memset(notice, 0, sizeof *notice);
    return TOPUP_OK;
}

/* Alipay treats any answer but the exact body "success" as "not received" and resends on its
 * schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h). A notification that must be resent is therefore
 * answered 500 "fail": the status makes the refusal plain to proxies and logs, and the body is
 * not "success", which is all Alipay reads. */
static void alipay_answer(bool accepted, const char *reason, notify_answer *out)
{
    (void)reason; /* Alipay reads nothing but "success": the reason stays in topup's log */
    out->content_type = "text/plain";
    out->status = accepted ? 200 : 500;
    snprintf(out->body, sizeof out->body, "%s", accepted ? "success" : "fail");
}

const provider_ops alipay_provider_ops = {
    .name = "alipay",
    .methods = PAY_METHOD_BIT(PAY_METHOD_PAGE) | PAY_METHOD_BIT(PAY_METHOD_WAP) |
               PAY_METHOD_BIT(PAY_METHOD_QR) | PAY_METHOD_BIT(PAY_METHOD_CODE),
    .open = alipay_open,
    .free_ = alipay_free,
    .create = alipay_create,
    .query = alipay_query,
    .refund = alipay_refund,
    .close = alipay_close,
    .verify = alipay_verify,
    .answer = alipay_answer,
};
