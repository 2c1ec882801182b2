/* The WeChat Pay API v3 provider behind payments/provider.h: Native (QR code) and H5 orders,
 * query by out_trade_no, refunds and close, each one HTTPS call carrying the
 * WECHATPAY2-SHA256-RSA2048 Authorization (payments/wechatpay.h), and the payment notifications
 * WeChat Pay sends to notify_url.
 *
 * SECURITY: answers and notifications come from the network. An answer is believed only when its
 * Wechatpay-* headers verify with the configured platform key and serial, within five minutes of
 * now (wechatpay_verify); an answer that does not verify, like one that never came, is
 * GATEWAY_UNKNOWN, so nothing is ever concluded from it. A notification is read only after its
 * signature has been checked and its resource decrypted with the APIv3 key. Trusted: the settings
 * and the key files, which only the operator can read (notify.h). The merchant key and the APIv3
 * key never leave this file's provider and are wiped when it is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/clock.h"
#include "payments/http_client.h"
#include "payments/provider.h"
#include "payments/wechatpay.h"

#define TIMEOUT_MS_DEFAULT  10000
#define NONCE_RANDOM_SIZE   16 /* bytes, written as the 32 hex characters of nonce_str */
#define NONCE_TEXT_SIZE     (2 * NONCE_RANDOM_SIZE + 1)
#define OUT_TRADE_NO_MAX    32         /* characters: WeChat Pay's out_trade_no is string(32) */
#define OUT_REFUND_NO_MAX   64         /* characters: out_refund_no is string(64) */
#define DESCRIPTION_MAX     127        /* bytes: description is string(127) */
#define REFUND_REASON_MAX   80         /* bytes: reason is string(80) */
#define CLIENT_IP_MAX       45         /* characters: payer_client_ip is string(45), a full IPv6 */
#define CHINA_OFFSET_S      (8 * 3600) /* time_expire is written in China Standard Time */
#define TIME_EXPIRE_SIZE    26         /* "2026-11-25T21:30:00+08:00" and NUL */
#define PATH_SIZE_MAX       256 /* longest API path: the query path with a 32-character number */
#define URL_SIZE_MAX        (PROVIDER_URL_SIZE + PATH_SIZE_MAX)
#define ERROR_CODE_SIZE     64  /* WeChat Pay's error codes are short upper-case words */
#define ERROR_MESSAGE_SIZE  128 /* of its error message kept for the detail */
#define APIV3_FILE_SIZE_MAX 128 /* a longer file is certainly not a 32-byte key */
#define FAIL_MESSAGE_MAX    160 /* bytes of the reason echoed in a notification's 500 answer */
#define ID_SIZE_MAX         64  /* characters of mchid, appid and serials (the signer's limit) */
#define API_BASE_PRODUCTION "https://api.mch.weixin.qq.com"
#define CURRENCY_DOMESTIC   "CNY"

struct provider {
    EVP_PKEY *merchant_key;                            /* signs every request */
    EVP_PKEY *platform_key;                            /* verifies answers and notifications */
    unsigned char apiv3_key[WECHATPAY_APIV3_KEY_SIZE]; /* decrypts notification resources */
    char mchid[PROVIDER_TEXT_SIZE];                    /* the merchant id */
    char appid[PROVIDER_TEXT_SIZE];                    /* the app the orders are for */
    char merchant_serial[PROVIDER_TEXT_SIZE];          /* serial of the merchant API certificate */
    char platform_serial[PROVIDER_TEXT_SIZE]; /* platform certificate serial or public key id */
    char api_base[PROVIDER_URL_SIZE];         /* e.g. https://api.mch.weixin.qq.com, no '/' */
    char notify_url[PROVIDER_URL_SIZE];       /* where WeChat Pay sends notifications */
    long timeout_ms;                          /* per call */
};

/* A verified answer of WeChat Pay. */
typedef struct verified_answer {
    long status;                      /* its HTTP status */
    json_t *body;                     /* its JSON, NULL when it had no body; owned */
    char code[ERROR_CODE_SIZE];       /* "code" of an error answer, "" when there is none */
    char message[ERROR_MESSAGE_SIZE]; /* "message" of an error answer */
} verified_answer;

/* ---- small helpers ---------------------------------------------------------------------- */

/* Copies at most dst_size - 1 bytes of src without cutting a UTF-8 sequence in two, so that the
 * copy stays valid UTF-8 (JSON needs it) when src was. */
static void copy_utf8_prefix(char *dst, size_t dst_size, const char *src)
{
    size_t length = strlen(src);
    if (length >= dst_size) {
        length = dst_size - 1;
        while (length > 0 && ((unsigned char)src[length] & 0xC0) == 0x80)
            length--;
    }
    memcpy(dst, src, length);
    dst[length] = '\0';
}

/* Copies a JSON string member into out; false when it is absent, empty or does not fit. */
static bool copy_member(const json_t *object, const char *name, char *out, size_t out_size)
{
    const char *text = json_string_value(json_object_get(object, name));
    if (!text || !text[0] || strlen(text) >= out_size)
        return false;
    memcpy(out, text, strlen(text) + 1);
    return true;
}

static const char *member_text(const json_t *object, const char *name)
{
    const char *text = json_string_value(json_object_get(object, name));
    return text ? text : "";
}

static bool is_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* 1..size_max characters of [0-9A-Za-z_-]: safe inside a URL path and a signed header field. */
static bool is_id(const char *text, size_t size_max)
{
    size_t length = strlen(text);
    if (length == 0 || length > size_max)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!is_id_char(text[i]))
            return false;
    return true;
}

/* WeChat Pay's out_trade_no is at most 32 characters; topup's may be longer, and such a payment
 * cannot be made through WeChat Pay. Nothing is sent for it. */
static bool check_out_trade_no(const char *out_trade_no, char *detail, size_t detail_size)
{
    if (is_id(out_trade_no, OUT_TRADE_NO_MAX))
        return true;
    snprintf(detail, detail_size,
             "out_trade_no '%.64s' is not 1 to %d characters of [0-9A-Za-z_-], as WeChat Pay "
             "requires; nothing was sent",
             out_trade_no, OUT_TRADE_NO_MAX);
    return false;
}

static bool check_currency(const char *currency, char *detail, size_t detail_size)
{
    if (strcmp(currency, CURRENCY_DOMESTIC) == 0)
        return true;
    snprintf(detail, detail_size,
             "WeChat Pay (domestic merchants) collects and refunds only CNY, not %.8s; nothing was "
             "sent",
             currency);
    return false;
}

/* ---- open and free ---------------------------------------------------------------------- */

/* A required text setting; false with a sentence in detail when it is empty. */
static bool require_setting(const char *value, const char *key, const char *what, char *detail,
                            size_t detail_size)
{
    if (value[0])
        return true;
    snprintf(detail, detail_size, "wechat.%s is not set: it must name %s.", key, what);
    return false;
}

static bool check_required_settings(const provider_settings *s, char *detail, size_t detail_size)
{
    return require_setting(s->gateway_url, "gateway", "WeChat Pay's API base, " API_BASE_PRODUCTION,
                           detail, detail_size) &&
           require_setting(s->merchant_id, "merchant_id", "the merchant id (mchid)", detail,
                           detail_size) &&
           require_setting(s->app_id, "app_id", "the appid the orders are for", detail,
                           detail_size) &&
           require_setting(s->merchant_serial, "merchant_serial",
                           "the serial number of the merchant API certificate", detail,
                           detail_size) &&
           require_setting(s->private_key_file, "private_key",
                           "the merchant API private key file (apiclient_key.pem)", detail,
                           detail_size) &&
           require_setting(s->public_key_file, "public_key",
                           "the WeChat Pay platform certificate or public key file", detail,
                           detail_size) &&
           require_setting(s->public_key_serial, "public_key_serial",
                           "the platform certificate serial or the public key id "
                           "(PUB_KEY_ID_...)",
                           detail, detail_size) &&
           require_setting(s->secret_file, "secret", "the file holding the 32-byte APIv3 key",
                           detail, detail_size) &&
           require_setting(s->notify_url, "notify_url",
                           "the URL WeChat Pay sends payment notifications to", detail,
                           detail_size);
}

/* mchid and the serial go into the Authorization header between quotes: only plain
 * characters. The platform serial is compared with Wechatpay-Serial, which WeChat Pay writes
 * in the same alphabet. */
static bool check_identifiers(const provider_settings *s, char *detail, size_t detail_size)
{
    const struct {
        const char *value;
        const char *key;
    } ids[] = {{s->merchant_id, "merchant_id"},
               {s->merchant_serial, "merchant_serial"},
               {s->public_key_serial, "public_key_serial"},
               {s->app_id, "app_id"}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (!is_id(ids[i].value, ID_SIZE_MAX)) {
            snprintf(detail, detail_size,
                     "wechat.%s '%.64s' is not 1 to %d characters of [0-9A-Za-z_-].", ids[i].key,
                     ids[i].value, ID_SIZE_MAX);
            return false;
        }
    }
    return true;
}

/* Plain http is accepted only for a gateway on this machine (a test double): a real gateway
 * is reached over TLS, so that nobody on the way reads what topup sends. */
static bool check_api_base(const char *url, char *detail, size_t detail_size)
{
    static const char *const allowed[] = {"https://", "http://127.0.0.1", "http://localhost",
                                          "http://[::1]"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        size_t length = strlen(allowed[i]);
        bool boundary = i == 0 || url[length] == '\0' || url[length] == ':' || url[length] == '/';
        if (strncmp(url, allowed[i], length) == 0 && boundary)
            return true;
    }
    snprintf(detail, detail_size,
             "wechat.gateway '%.200s' is not an https:// URL (plain http only for 127.0.0.1 or "
             "localhost); WeChat Pay's is " API_BASE_PRODUCTION ".",
             url);
    return false;
}

static bool check_notify_url(const char *url, char *detail, size_t detail_size)
{
    if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
        return true;
    snprintf(detail, detail_size, "wechat.notify_url '%.200s' is not an http(s) URL.", url);
    return false;
}

/* The sentence for a key or secret file that could not be loaded. The mode of a private file is
 * looked at again only to say which of the reasons it was; the loader already refused it. */
static void key_file_problem(const char *key, const char *path, topup_result r, bool private_file,
                             const char *what, char *detail, size_t detail_size)
{
    struct stat st;
    if (r == TOPUP_E_IO)
        snprintf(detail, detail_size, "wechat.%s %.400s cannot be read.", key, path);
    else if (private_file && stat(path, &st) == 0 && (st.st_mode & 077) != 0)
        snprintf(detail, detail_size,
                 "wechat.%s %.400s is readable by group or others: chmod 600 it (it signs or "
                 "proves payments).",
                 key, path);
    else
        snprintf(detail, detail_size, "wechat.%s %.400s is not %s.", key, path, what);
}

static topup_result load_keys(provider *p, const provider_settings *s, char *detail,
                              size_t detail_size)
{
    topup_result r = notify_load_private_key(s->private_key_file, &p->merchant_key);
    if (r != TOPUP_OK) {
        key_file_problem("private_key", s->private_key_file, r, true, "a PEM private key", detail,
                         detail_size);
        return r == TOPUP_E_NOMEM ? r : TOPUP_E_INVALID_ARGUMENT;
    }
    if (!EVP_PKEY_is_a(p->merchant_key, "RSA")) {
        snprintf(detail, detail_size,
                 "wechat.private_key %.400s is not an RSA key (WECHATPAY2-SHA256-RSA2048).",
                 s->private_key_file);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    r = notify_load_public_key(s->public_key_file, &p->platform_key);
    if (r != TOPUP_OK || !EVP_PKEY_is_a(p->platform_key, "RSA")) {
        key_file_problem("public_key", s->public_key_file,
                         r == TOPUP_OK ? TOPUP_E_INVALID_ARGUMENT : r, false,
                         "a PEM RSA public key or certificate", detail, detail_size);
        return r == TOPUP_E_NOMEM ? r : TOPUP_E_INVALID_ARGUMENT;
    }
    return TOPUP_OK;
}

static topup_result load_apiv3_key(provider *p, const char *path, char *detail, size_t detail_size)
{
    char secret[APIV3_FILE_SIZE_MAX];
    topup_result r = notify_load_secret(path, secret, sizeof secret);
    if (r != TOPUP_OK) {
        key_file_problem("secret", path, r, true, "a file holding the APIv3 key", detail,
                         detail_size);
        return r == TOPUP_E_NOMEM ? r : TOPUP_E_INVALID_ARGUMENT;
    }
    size_t length = strlen(secret);
    if (length == WECHATPAY_APIV3_KEY_SIZE)
        memcpy(p->apiv3_key, secret, WECHATPAY_APIV3_KEY_SIZE);
    OPENSSL_cleanse(secret, sizeof secret);
    if (length != WECHATPAY_APIV3_KEY_SIZE) {
        snprintf(detail, detail_size,
                 "wechat.secret %.400s holds %zu bytes; the APIv3 key is exactly %d (set in the "
                 "merchant platform).",
                 path, length, WECHATPAY_APIV3_KEY_SIZE);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    return TOPUP_OK;
}

static void wechat_free(provider *p)
{
    if (!p)
        return;
    EVP_PKEY_free(p->merchant_key);
    EVP_PKEY_free(p->platform_key);
    OPENSSL_cleanse(p->apiv3_key, sizeof p->apiv3_key);
    free(p);
}

static topup_result wechat_open(const provider_settings *settings, provider **out, char *detail,
                                size_t detail_size)
{
    *out = NULL;
    if (!check_required_settings(settings, detail, detail_size) ||
        !check_identifiers(settings, detail, detail_size) ||
        !check_api_base(settings->gateway_url, detail, detail_size) ||
        !check_notify_url(settings->notify_url, detail, detail_size))
        return TOPUP_E_INVALID_ARGUMENT;
    provider *p = calloc(1, sizeof *p);
    if (!p)
        return TOPUP_E_NOMEM;
    topup_result r = load_keys(p, settings, detail, detail_size);
    if (r == TOPUP_OK)
        r = load_apiv3_key(p, settings->secret_file, detail, detail_size);
    if (r != TOPUP_OK) {
        wechat_free(p);
        return r;
    }
    /* Every text was length-checked against the same sizes by the settings loader. */
    snprintf(p->mchid, sizeof p->mchid, "%s", settings->merchant_id);
    snprintf(p->appid, sizeof p->appid, "%s", settings->app_id);
    snprintf(p->merchant_serial, sizeof p->merchant_serial, "%s", settings->merchant_serial);
    snprintf(p->platform_serial, sizeof p->platform_serial, "%s", settings->public_key_serial);
    snprintf(p->api_base, sizeof p->api_base, "%s", settings->gateway_url);
    size_t length = strlen(p->api_base);
    while (length > 0 && p->api_base[length - 1] == '/')
        p->api_base[--length] = '\0';
    snprintf(p->notify_url, sizeof p->notify_url, "%s", settings->notify_url);
    p->timeout_ms = settings->timeout_ms > 0 ? settings->timeout_ms : TIMEOUT_MS_DEFAULT;
    *out = p;
    return TOPUP_OK;
}

/* ---- one call ----------------------------------------------------------------------------- */

/* A fresh nonce_str for each request: 16 random bytes as hex. */
static bool make_nonce(char nonce[NONCE_TEXT_SIZE])
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char random[NONCE_RANDOM_SIZE];
    if (RAND_bytes(random, sizeof random) != 1)
        return false;
    for (size_t i = 0; i < sizeof random; i++) {
        nonce[2 * i] = hex[random[i] >> 4];
        nonce[2 * i + 1] = hex[random[i] & 15];
    }
    nonce[2 * NONCE_RANDOM_SIZE] = '\0';
    return true;
}

/* "Authorization: WECHATPAY2-SHA256-RSA2048 ..." for the request; malloc'd, NULL on failure. */
static char *authorization_line(provider *p, const char *method, const char *path, const char *body)
{
    char nonce[NONCE_TEXT_SIZE];
    char *value = NULL;
    if (!make_nonce(nonce) ||
        wechatpay_authorization(p->mchid, p->merchant_serial, p->merchant_key, method, path,
                                body ? body : "", clock_now_seconds(), nonce, &value) != TOPUP_OK)
        return NULL;
    static const char prefix[] = "Authorization: ";
    char *line = malloc(sizeof prefix + strlen(value));
    if (line)
        snprintf(line, sizeof prefix + strlen(value), "%s%s", prefix, value);
    free(value);
    return line;
}

/* Keeps the code and message of an error answer ({"code": ..., "message": ...}). */
static void read_error(verified_answer *answer)
{
    if (answer->status < 300 || !json_is_object(answer->body))
        return;
    copy_utf8_prefix(answer->code, sizeof answer->code, member_text(answer->body, "code"));
    copy_utf8_prefix(answer->message, sizeof answer->message, member_text(answer->body, "message"));
}

/* Turns what came back into a verified answer, or UNKNOWN with the reason in detail. */
static gateway_status read_answer(provider *p, const http_client_response *response,
                                  verified_answer *answer, char *detail, size_t detail_size)
{
    if (response->outcome == HTTP_CLIENT_TIMEOUT) {
        snprintf(detail, detail_size, "WeChat Pay did not answer within %ld ms", p->timeout_ms);
        return GATEWAY_UNKNOWN;
    }
    if (response->outcome != HTTP_CLIENT_ANSWERED) {
        snprintf(detail, detail_size, "WeChat Pay could not be reached: %.200s", response->error);
        return GATEWAY_UNKNOWN;
    }
    /* Every answer is signed, errors and the empty 204 included: an unsigned "404 no such order"
     * must not be able to make topup give up on a payment. */
    notify_result verified;
    topup_result r = wechatpay_verify(response->headers, response->header_count, response->body,
                                      response->body_size, p->platform_key, p->platform_serial,
                                      NULL, clock_now_seconds(), &verified);
    if (r != TOPUP_OK || !verified.genuine) {
        snprintf(
            detail, detail_size,
            "WeChat Pay's answer (HTTP %ld) does not verify, so it counts as no answer: %.160s",
            response->status, r == TOPUP_OK ? verified.reason : "out of memory");
        return GATEWAY_UNKNOWN;
    }
    answer->status = response->status;
    answer->body = verified.fields;
    read_error(answer);
    return GATEWAY_OK;
}

/* Sends one signed request (body NULL for GET) and verifies the answer. GATEWAY_OK when a
 * verified answer came, whatever its status (the caller reads answer->status); GATEWAY_UNKNOWN
 * with detail otherwise. answer->body is freed with answer_free. */
static gateway_status call(provider *p, const char *method, const char *path, const char *body,
                           verified_answer *answer, char *detail, size_t detail_size)
{
    memset(answer, 0, sizeof *answer);
    char *authorization = authorization_line(p, method, path, body);
    if (!authorization) {
        snprintf(detail, detail_size,
                 "the request to WeChat Pay could not be signed (no memory or no randomness); "
                 "nothing was sent");
        return GATEWAY_UNKNOWN;
    }
    char url[URL_SIZE_MAX];
    snprintf(url, sizeof url, "%s%s", p->api_base, path);
    const char *const headers[] = {authorization, "Accept: application/json",
                                   "Content-Type: application/json",
                                   "User-Agent: topup (WeChat Pay API v3)"};
    http_client_response response;
    topup_result r = http_client_request(method, url, headers, sizeof headers / sizeof headers[0],
                                         body, body ? strlen(body) : 0, p->timeout_ms, &response);
    free(authorization);
    gateway_status status = GATEWAY_UNKNOWN;
    if (r == TOPUP_OK)
        status = read_answer(p, &response, answer, detail, detail_size);
    else
        snprintf(detail, detail_size, "no memory to call WeChat Pay; nothing was sent");
    http_client_response_free(&response);
    return status;
}

static void answer_free(verified_answer *answer)
{
    json_decref(answer->body);
    answer->body = NULL;
}

/* What an answer that is not the operation's success means. WeChat Pay says "no" with a 4xx
 * and {code, message}: nothing was done. 429 (FREQUENCY_LIMITED) is "not now" rather than
 * "no", a 5xx (SYSTEM_ERROR, BANK_ERROR) leaves the outcome open, and an answer without an
 * error code is not WeChat Pay's error shape: all three are UNKNOWN, so the caller asks again
 * later instead of concluding. */
static gateway_status refused_or_unknown(const verified_answer *answer, const char *action,
                                         char *detail, size_t detail_size)
{
    bool refusal =
        answer->status >= 400 && answer->status < 500 && answer->status != 429 && answer->code[0];
    snprintf(detail, detail_size, "WeChat Pay %s to %s: HTTP %ld %s%s%s",
             refusal ? "refused" : "gave no definite answer", action, answer->status,
             answer->code[0] ? answer->code : "(no error code)", answer->message[0] ? ": " : "",
             answer->message);
    return refusal ? GATEWAY_REFUSED : GATEWAY_UNKNOWN;
}

/* Posts a JSON document built by the caller (owned: freed here). */
static gateway_status post_json(provider *p, const char *path, json_t *document,
                                verified_answer *answer, char *detail, size_t detail_size)
{
    memset(answer, 0, sizeof *answer);
    char *body = document ? json_dumps(document, JSON_COMPACT) : NULL;
    json_decref(document);
    if (!body) {
        /* json_pack refuses text that is not UTF-8; nothing was sent, so nothing can exist. */
        snprintf(detail, detail_size,
                 "the request could not be written as JSON (a text that is not UTF-8?); nothing "
                 "was sent");
        return GATEWAY_REFUSED;
    }
    gateway_status status = call(p, "POST", path, body, answer, detail, detail_size);
    free(body);
    return status;
}

/* ---- create ------------------------------------------------------------------------------ */

/* time_expire in RFC 3339 with WeChat Pay's own offset, +08:00. */
static void format_time_expire(int64_t unix_seconds, char text[TIME_EXPIRE_SIZE])
{
    if (unix_seconds < 0)
        unix_seconds = 0;
    if (unix_seconds > CLOCK_SECONDS_MAX - CHINA_OFFSET_S)
        unix_seconds = CLOCK_SECONDS_MAX - CHINA_OFFSET_S;
    time_t local = (time_t)(unix_seconds + CHINA_OFFSET_S);
    struct tm fields;
    gmtime_r(&local, &fields);
    strftime(text, TIME_EXPIRE_SIZE, "%Y-%m-%dT%H:%M:%S+08:00", &fields);
}

static bool is_client_ip(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > CLIENT_IP_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != '.' && c != ':')
            return false;
    }
    return true;
}

static bool check_payment_request(const payment_request *request, char *detail, size_t detail_size)
{
    if (request->method != PAY_METHOD_QR && request->method != PAY_METHOD_H5) {
        snprintf(detail, detail_size,
                 "WeChat Pay offers the qr (Native) and h5 methods, not %s; nothing was sent",
                 pay_method_name(request->method));
        return false;
    }
    if (!check_out_trade_no(request->out_trade_no, detail, detail_size) ||
        !check_currency(request->currency, detail, detail_size))
        return false;
    if (request->amount_minor <= 0 || request->amount_minor > INT32_MAX) {
        snprintf(detail, detail_size,
                 "the amount must be 1 to %d fen for WeChat Pay; nothing was sent", INT32_MAX);
        return false;
    }
    if (request->method == PAY_METHOD_H5 && !is_client_ip(request->client_ip)) {
        snprintf(detail, detail_size,
                 "an H5 payment needs the payer's IP address (payer_client_ip), IPv4 or IPv6; "
                 "nothing was sent");
        return false;
    }
    return true;
}

/* The order: appid, mchid, description, out_trade_no, time_expire, notify_url, amount, and for
 * H5 the scene_info WeChat Pay uses to check the payer's browser. NULL when it cannot be built. */
static json_t *order_document(const provider *p, const payment_request *request)
{
    char description[DESCRIPTION_MAX + 1];
    copy_utf8_prefix(description, sizeof description,
                     request->subject[0] ? request->subject : request->out_trade_no);
    char time_expire[TIME_EXPIRE_SIZE];
    format_time_expire(request->expires_at, time_expire);
    json_t *order = json_pack(
        "{s:s, s:s, s:s, s:s, s:s*, s:s, s:{s:I, s:s}}", "appid", p->appid, "mchid", p->mchid,
        "description", description, "out_trade_no", request->out_trade_no, "time_expire",
        request->expires_at > 0 ? time_expire : NULL, "notify_url", p->notify_url, "amount",
        "total", (json_int_t)request->amount_minor, "currency", CURRENCY_DOMESTIC);
    if (order && request->method == PAY_METHOD_H5 &&
        json_object_set_new(order, "scene_info",
                            json_pack("{s:s, s:{s:s}}", "payer_client_ip", request->client_ip,
                                      "h5_info", "type", "Wap")) != 0) {
        json_decref(order);
        return NULL;
    }
    return order;
}

static gateway_status read_created(const verified_answer *answer, pay_method method,
                                   payment_created *created, char *detail, size_t detail_size)
{
    if (answer->status != 200)
        return refused_or_unknown(answer, "create the order", detail, detail_size);
    const char *field = method == PAY_METHOD_QR ? "code_url" : "h5_url";
    if (!copy_member(answer->body, field, created->pay_url, sizeof created->pay_url)) {
        /* The order may well exist now: the caller must not create it anew but query it. */
        snprintf(detail, detail_size, "WeChat Pay's answer has no usable %s; query the order",
                 field);
        return GATEWAY_UNKNOWN;
    }
    created->state = TRADE_PENDING;
    snprintf(detail, detail_size, "WeChat Pay created the order");
    return GATEWAY_OK;
}

static gateway_status wechat_create(provider *p, const payment_request *request,
                                    payment_created *created, char *detail, size_t detail_size)
{
    memset(created, 0, sizeof *created);
    if (!check_payment_request(request, detail, detail_size))
        return GATEWAY_REFUSED;
    const char *path = request->method == PAY_METHOD_QR ? "/v3/pay/transactions/native"
                                                        : "/v3/pay/transactions/h5";
    verified_answer answer;
    gateway_status status =
        post_json(p, path, order_document(p, request), &answer, detail, detail_size);
    if (status == GATEWAY_OK)
        status = read_created(&answer, request->method, created, detail, detail_size);
    answer_free(&answer);
    return status;
}

/* ---- query ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    trade_state state;
} trade_states[] = {
    {"SUCCESS", TRADE_PAID},
    /* REFUND: the order was paid and a refund of it was asked for. It was paid all the same;
     * refunds are topup's own records (out_request_no), so the payment stays PAID here. */
    {"REFUND", TRADE_PAID},
    {"NOTPAY", TRADE_PENDING},
    {"USERPAYING", TRADE_PENDING}, /* the payer is entering the password */
    {"ACCEPT", TRADE_PENDING},     /* received, the debit is still to come */
    {"CLOSED", TRADE_CLOSED},      /* closed by topup, or expired unpaid */
    {"REVOKED", TRADE_CLOSED},     /* code payments cancelled */
    {"PAYERROR", TRADE_CLOSED},    /* code payments the bank refused */
};

static bool trade_state_parse(const char *name, trade_state *state)
{
    for (size_t i = 0; i < sizeof trade_states / sizeof trade_states[0]; i++) {
        if (strcmp(trade_states[i].name, name) == 0) {
            *state = trade_states[i].state;
            return true;
        }
    }
    return false;
}

/* The amount of a paid trade: amount.total, what the order was for. amount.payer_total is
 * less when a coupon paid part of it, and topup priced the order at total. */
static bool read_amount(const json_t *amount, int64_t *amount_minor, char *currency)
{
    const json_t *total = json_object_get(amount, "total");
    const char *code = json_string_value(json_object_get(amount, "currency"));
    if (!json_is_integer(total) || json_integer_value(total) <= 0 || !code ||
        strlen(code) != CURRENCY_CODE_SIZE - 1)
        return false;
    *amount_minor = json_integer_value(total);
    memcpy(currency, code, CURRENCY_CODE_SIZE);
    return true;
}

static gateway_status read_trade(const provider *p, const verified_answer *answer,
                                 const char *out_trade_no, trade_info *trade, char *detail,
                                 size_t detail_size)
{
    if (answer->status == 404 && strcmp(answer->code, "ORDER_NOT_EXIST") == 0) {
        trade->state = TRADE_NOT_FOUND;
        snprintf(detail, detail_size, "WeChat Pay has no order %s", out_trade_no);
        return GATEWAY_OK;
    }
    if (answer->status != 200)
        return refused_or_unknown(answer, "query the order", detail, detail_size);
    const json_t *body = answer->body;
    const char *state_name = member_text(body, "trade_state");
    /* A signed answer about another order or merchant is WeChat Pay's mistake or a replay of an
     * answer to another question: either way it says nothing about this order. */
    if (strcmp(member_text(body, "out_trade_no"), out_trade_no) != 0 ||
        strcmp(member_text(body, "mchid"), p->mchid) != 0) {
        snprintf(detail, detail_size, "WeChat Pay answered about another order or merchant");
        return GATEWAY_UNKNOWN;
    }
    if (!trade_state_parse(state_name, &trade->state)) {
        snprintf(detail, detail_size,
                 "WeChat Pay answered trade_state '%.32s', which topup does "
                 "not know",
                 state_name);
        return GATEWAY_UNKNOWN;
    }
    copy_member(body, "transaction_id", trade->trade_no, sizeof trade->trade_no);
    if (trade->state == TRADE_PAID &&
        (!trade->trade_no[0] ||
         !read_amount(json_object_get(body, "amount"), &trade->amount_minor, trade->currency))) {
        snprintf(detail, detail_size,
                 "WeChat Pay says the order is paid but gives no transaction_id or amount");
        return GATEWAY_UNKNOWN;
    }
    snprintf(detail, detail_size, "WeChat Pay says %s: %.120s", state_name,
             member_text(body, "trade_state_desc"));
    return GATEWAY_OK;
}

static gateway_status wechat_query(provider *p, const char *out_trade_no, const char *provider_ref,
                                   trade_info *trade, char *detail, size_t detail_size)
{
    (void)provider_ref; /* WeChat Pay finds an order by out_trade_no alone */
    memset(trade, 0, sizeof *trade);
    if (!check_out_trade_no(out_trade_no, detail, detail_size))
        return GATEWAY_REFUSED;
    char path[PATH_SIZE_MAX];
    snprintf(path, sizeof path, "/v3/pay/transactions/out-trade-no/%s?mchid=%s", out_trade_no,
             p->mchid);
    verified_answer answer;
    gateway_status status = call(p, "GET", path, NULL, &answer, detail, detail_size);
    if (status == GATEWAY_OK)
        status = read_trade(p, &answer, out_trade_no, trade, detail, detail_size);
    answer_free(&answer);
    return status;
}

/* ---- refund ------------------------------------------------------------------------------ */

static bool is_out_refund_no(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > OUT_REFUND_NO_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!is_id_char(text[i]) && strchr("|*@", text[i]) == NULL)
            return false;
    return true;
}

static bool check_refund_request(const refund_request *request, char *detail, size_t detail_size)
{
    if (!check_out_trade_no(request->out_trade_no, detail, detail_size) ||
        !check_currency(request->currency, detail, detail_size))
        return false;
    if (!is_out_refund_no(request->out_request_no)) {
        snprintf(detail, detail_size,
                 "out_request_no is not 1 to %d characters of [0-9A-Za-z_-|*@] (WeChat Pay's "
                 "out_refund_no); nothing was sent",
                 OUT_REFUND_NO_MAX);
        return false;
    }
    if (request->refund_minor <= 0 || request->total_minor < request->refund_minor ||
        request->total_minor > INT32_MAX) {
        snprintf(detail, detail_size,
                 "the refund must be more than 0 and at most the payment's total; nothing was "
                 "sent");
        return false;
    }
    return true;
}

/* The refund: out_refund_no is the idempotency key (WeChat Pay answers a repeated one with the
 * refund it already has). notify_url makes WeChat Pay report the refund's end to topup too. */
static json_t *refund_document(const provider *p, const refund_request *request)
{
    char reason[REFUND_REASON_MAX + 1];
    copy_utf8_prefix(reason, sizeof reason, request->reason);
    return json_pack("{s:s, s:s, s:s*, s:s, s:{s:I, s:I, s:s}}", "out_trade_no",
                     request->out_trade_no, "out_refund_no", request->out_request_no, "reason",
                     reason[0] ? reason : NULL, "notify_url", p->notify_url, "amount", "refund",
                     (json_int_t)request->refund_minor, "total", (json_int_t)request->total_minor,
                     "currency", CURRENCY_DOMESTIC);
}

static const struct {
    const char *name;
    refund_state state;
} refund_states[] = {
    {"SUCCESS", REFUND_SUCCEEDED},
    {"PROCESSING", REFUND_PENDING},
    /* ABNORMAL: the money left the merchant's account but the payer's card refused it (frozen or
     * cancelled); it waits in WeChat Pay's refund account for an operator to send it elsewhere
     * from the merchant platform. CLOSED: WeChat Pay gave up after seven days without funds. Both
     * need a person. */
    {"ABNORMAL", REFUND_FAILED},
    {"CLOSED", REFUND_FAILED},
};

static gateway_status read_refund(const verified_answer *answer, const refund_request *request,
                                  refund_info *refund, char *detail, size_t detail_size)
{
    if (answer->status != 200)
        return refused_or_unknown(answer, "refund", detail, detail_size);
    const char *status_name = member_text(answer->body, "status");
    if (strcmp(member_text(answer->body, "out_refund_no"), request->out_request_no) != 0 ||
        !copy_member(answer->body, "refund_id", refund->refund_id, sizeof refund->refund_id)) {
        snprintf(detail, detail_size,
                 "WeChat Pay's refund answer lacks refund_id or is about another refund");
        return GATEWAY_UNKNOWN;
    }
    for (size_t i = 0; i < sizeof refund_states / sizeof refund_states[0]; i++) {
        if (strcmp(refund_states[i].name, status_name) == 0) {
            refund->state = refund_states[i].state;
            snprintf(detail, detail_size, "WeChat Pay refund %s is %s", refund->refund_id,
                     status_name);
            return GATEWAY_OK;
        }
    }
    snprintf(detail, detail_size,
             "WeChat Pay answered refund status '%.32s', which topup does "
             "not know",
             status_name);
    return GATEWAY_UNKNOWN;
}

static gateway_status wechat_refund(provider *p, const refund_request *request, refund_info *refund,
                                    char *detail, size_t detail_size)
{
    memset(refund, 0, sizeof *refund);
    if (!check_refund_request(request, detail, detail_size))
        return GATEWAY_REFUSED;
    verified_answer answer;
    gateway_status status = post_json(p, "/v3/refund/domestic/refunds", refund_document(p, request),
                                      &answer, detail, detail_size);
    if (status == GATEWAY_OK)
        status = read_refund(&answer, request, refund, detail, detail_size);
    answer_free(&answer);
    return status;
}

/* ---- close ------------------------------------------------------------------------------- */

static gateway_status read_closed(const verified_answer *answer, const char *out_trade_no,
                                  char *detail, size_t detail_size)
{
    if (answer->status >= 200 && answer->status < 300) {
        snprintf(detail, detail_size, "WeChat Pay closed the order %s", out_trade_no);
        return GATEWAY_OK;
    }
    /* Closing is asked so that nobody can pay the order any more. An order WeChat Pay does not
     * have (a create that never reached it) or has already closed cannot be paid: the close
     * has what it wanted. */
    if (answer->status >= 400 && answer->status < 500 &&
        (strcmp(answer->code, "ORDER_NOT_EXIST") == 0 ||
         strcmp(answer->code, "ORDER_CLOSED") == 0)) {
        snprintf(detail, detail_size, "WeChat Pay: %s, so nothing can be paid on %s", answer->code,
                 out_trade_no);
        return GATEWAY_OK;
    }
    /* ORDERPAID and the like: the payer was quicker. REFUSED; the caller queries and credits
     * or refunds the payment. */
    return refused_or_unknown(answer, "close the order", detail, detail_size);
}

static gateway_status wechat_close(provider *p, const char *out_trade_no, const char *provider_ref,
                                   char *detail, size_t detail_size)
{
    (void)provider_ref; /* WeChat Pay closes an order by out_trade_no alone */
    if (!check_out_trade_no(out_trade_no, detail, detail_size))
        return GATEWAY_REFUSED;
    char path[PATH_SIZE_MAX];
    snprintf(path, sizeof path, "/v3/pay/transactions/out-trade-no/%s/close", out_trade_no);
    verified_answer answer;
    gateway_status status =
        post_json(p, path, json_pack("{s:s}", "mchid", p->mchid), &answer, detail, detail_size);
    if (status == GATEWAY_OK)
        status = read_closed(&answer, out_trade_no, detail, detail_size);
    answer_free(&answer);
    return status;
}

/* ---- notifications ----------------------------------------------------------------------- */

/* A paid notice needs every field the crediting checks; the name of the first missing one, or
 * NULL when all are there. */
static const char *read_paid_notice(const json_t *resource, payment_notice *notice)
{
    notice->kind = NOTICE_PAID;
    if (!copy_member(resource, "appid", notice->app_id, sizeof notice->app_id))
        return "appid";
    if (!copy_member(resource, "mchid", notice->merchant_id, sizeof notice->merchant_id))
        return "mchid";
    if (!copy_member(resource, "out_trade_no", notice->out_trade_no, sizeof notice->out_trade_no))
        return "out_trade_no";
    if (!copy_member(resource, "transaction_id", notice->trade_no, sizeof notice->trade_no))
        return "transaction_id";
    if (!read_amount(json_object_get(resource, "amount"), &notice->amount_minor, notice->currency))
        return "amount.total and amount.currency";
    return NULL;
}

/* Reads a genuine, decrypted notification; NULL, or the reason it cannot be used. */
static const char *read_notice(const json_t *fields, payment_notice *notice, char *reason,
                               size_t reason_size)
{
    const json_t *notification = json_object_get(fields, "notification");
    const json_t *resource = json_object_get(fields, "resource");
    /* wechatpay_verify decrypts any body with a resource; without one there is nothing to read. */
    if (!json_is_object(notification) || !json_is_object(resource))
        return "the notification carries no encrypted resource";
    const char *event_type = member_text(notification, "event_type");
    if (strcmp(event_type, "TRANSACTION.SUCCESS") == 0 &&
        strcmp(member_text(resource, "trade_state"), "SUCCESS") == 0) {
        const char *missing = read_paid_notice(resource, notice);
        if (!missing)
            return NULL;
        snprintf(reason, reason_size, "the payment notification lacks %s", missing);
        return reason;
    }
    /* Refund results and anything else: recorded, changes nothing. What fits is kept so that
     * the record says which order it was about. */
    notice->kind = NOTICE_OTHER;
    copy_member(resource, "appid", notice->app_id, sizeof notice->app_id);
    copy_member(resource, "mchid", notice->merchant_id, sizeof notice->merchant_id);
    copy_member(resource, "out_trade_no", notice->out_trade_no, sizeof notice->out_trade_no);
    copy_member(resource, "transaction_id", notice->trade_no, sizeof notice->trade_no);
    return NULL;
}

static topup_result wechat_verify(provider *p, const notify_header *headers, size_t header_count,
                                  const char *body, size_t body_size, int64_t now,
                                  notify_result *result, payment_notice *notice)
{
    memset(notice, 0, sizeof *notice);
    topup_result r = wechatpay_verify(headers, header_count, body, body_size, p->platform_key,
                                      p->platform_serial, p->apiv3_key, now, result);
    if (r != TOPUP_OK || !result->genuine)
        return r;
    char reason[NOTIFY_REASON_SIZE];
    const char *problem = read_notice(result->fields, notice, reason, sizeof reason);
    if (problem) {
        /* Not genuine for the caller: nothing of it may be acted on. */
        json_decref(result->fields);
        result->fields = NULL;
        memset(notice, 0, sizeof *notice);
        notify_refuse(result, "%s", problem);
    }
    return TOPUP_OK;
}

/* WeChat Pay takes 200 or 204 without a body as "received"; anything else (a 5xx with
 * {"code": "FAIL", "message": ...}) makes it send the notification again later. */
static void wechat_answer(bool accepted, const char *reason, notify_answer *answer)
{
    answer->content_type = "application/json";
    answer->body[0] = '\0';
    if (accepted) {
        answer->status = 204;
        return;
    }
    answer->status = 500;
    char message[FAIL_MESSAGE_MAX + 1];
    copy_utf8_prefix(message, sizeof message, reason && reason[0] ? reason : "not handled");
    json_t *document = json_pack("{s:s, s:s}", "code", "FAIL", "message", message);
    size_t size =
        document ? json_dumpb(document, answer->body, sizeof answer->body - 1, JSON_COMPACT) : 0;
    json_decref(document);
    /* A reason that is not UTF-8, or grows too long escaped, gives way to a fixed message. */
    if (size == 0 || size >= sizeof answer->body)
        snprintf(answer->body, sizeof answer->body,
                 "{\"code\":\"FAIL\",\"message\":\"not handled\"}");
    else
        answer->body[size] = '\0';
}

const provider_ops wechatpay_provider_ops = {
    .name = "wechat",
    .methods = PAY_METHOD_BIT(PAY_METHOD_QR) | PAY_METHOD_BIT(PAY_METHOD_H5),
    .open = wechat_open,
    .free_ = wechat_free,
    .create = wechat_create,
    .query = wechat_query,
    .refund = wechat_refund,
    .close = wechat_close,
    .verify = wechat_verify,
    .answer = wechat_answer,
};
