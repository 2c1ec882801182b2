/* The card provider behind payments/provider.h: a hosted checkout spoken to with Stripe's API
 * (Checkout Sessions, Refunds) and Stripe-style signed webhooks. The payer types the card number
 * on the checkout's own page; topup sends an amount and a description and receives a session,
 * a payment intent id and events, and never sees, receives or stores a card number.
 *
 * SECURITY: what this file trusts and why.
 * - API answers are not signed by the provider: Stripe authenticates them with TLS only. They
 *   are trusted because they come over https from the configured API base (open refuses plain
 *   http except to this machine, which tests use), and redirects are never followed
 *   (http_client). Even so every id taken from an answer is checked to be a plain id before it
 *   goes into a URL, and a session is checked to belong to the payment it was asked for.
 * - Webhooks come from anyone on the network: nothing in one is read before its Stripe-Signature
 *   holds for the webhook secret within CARD_WEBHOOK_TOLERANCE_S (card_verify_webhook).
 * - The API secret key goes only into the Authorization header of requests to the API base; it
 *   is refused when it holds characters that could split a header, never logged, and wiped when
 *   the provider is freed. */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "payments/card.h"
#include "payments/http_client.h"
#include "payments/provider.h"

#define SECRET_SIZE_MAX 256 /* Stripe keys are ~110 characters, webhook secrets ~40 */
/* The answers' shape depends on the API version; pinning it keeps the fields read here where
 * they are whatever version the account's dashboard defaults to. */
#define STRIPE_API_VERSION   "2024-06-20"
#define FORM_SIZE_MAX        8192 /* a create is ~2 KiB even with the longest URLs encoded */
#define REQUEST_URL_SIZE     (PROVIDER_URL_SIZE + 512) /* the API base, a path, a short query */
#define HEADER_SIZE_MAX      (SECRET_SIZE_MAX + 64)
#define IDEMPOTENCY_KEY_SIZE 96 /* a prefix and a 64-character payment or refund number */

/* Stripe accepts a session's expires_at from 30 minutes to 24 hours after its creation. */
#define CHECKOUT_EXPIRY_MIN_S (30 * 60)
#define CHECKOUT_EXPIRY_MAX_S (24 * 60 * 60)
/* Room for the difference between this clock and Stripe's, and for the request in flight. */
#define CHECKOUT_EXPIRY_MARGIN_S (5 * 60)
/* expires_at is rounded up to this, so that a create repeated within the same minute for a
 * deadline computed afresh (as `topup pay gateway` does) still sends the same parameters. */
#define CHECKOUT_EXPIRY_GRID_S 60

/* Finding a session without its id means listing sessions, newest first: at most this many
 * pages of LOOKUP_PAGE_SIZE (the API's largest) before answering "unknown". A session topup
 * just created is on the first page; the bound keeps a query for an old one from walking the
 * account's whole history. */
#define LOOKUP_PAGE_COUNT_MAX 10
#define LOOKUP_PAGE_SIZE      100

struct provider {
    char secret_key[SECRET_SIZE_MAX];     /* the API secret (sk_...) or restricted (rk_...) key */
    char webhook_secret[SECRET_SIZE_MAX]; /* whsec_...: what webhooks are signed with */
    char api_base[PROVIDER_URL_SIZE];     /* e.g. https://api.stripe.com, no trailing '/' */
    char return_url[PROVIDER_URL_SIZE];   /* where the payer's browser returns, paid or not */
    long timeout_ms;                      /* per API call */
};

/* One create, query, refund or close in progress. Several API calls may make it up (a close
 * finds the session, then expires it); together they take at most the provider's timeout_ms,
 * as provider.h promises its callers. */
typedef struct operation {
    provider *p;
    int64_t deadline_ms; /* clock_monotonic_ms() by which every call has ended */
    char *detail;        /* the sentence the operation ends with */
    size_t detail_size;
} operation;

static operation operation_start(provider *p, char *detail, size_t detail_size)
{
    return (operation){p, clock_monotonic_ms() + p->timeout_ms, detail, detail_size};
}

static void say(char *detail, size_t detail_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes one sentence into detail (truncated to fit). */
static void say(char *detail, size_t detail_size, const char *format, ...)
{
    if (!detail || detail_size == 0)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, detail_size, format, arguments);
    va_end(arguments);
}

/* ---- small checks ------------------------------------------------------------------------ */

/* Stripe ids ("cs_test_a1B2...", "pi_...", "re_...") are letters, digits and '_': anything else
 * in an answer is refused before it can reach a URL path. */
static bool is_stripe_id(const char *text)
{
    size_t length = text ? strlen(text) : 0;
    if (length == 0 || length >= TRADE_NO_SIZE)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* topup's payment numbers: 1 to 64 of [0-9A-Za-z_-]. */
static bool is_out_trade_no(const char *text)
{
    size_t length = text ? strlen(text) : 0;
    if (length == 0 || length >= OUT_TRADE_NO_SIZE)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The key goes into a header: only visible ASCII, so it cannot end the header or add one. */
static bool is_header_safe(const char *text)
{
    for (const char *c = text; *c; c++)
        if (*c <= ' ' || *c > '~')
            return false;
    return true;
}

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* http://127.0.0.1, http://localhost and http://[::1] (with any port or path): the secret key
 * may travel in clear only to this machine. A user part ("http://localhost:1@elsewhere/") would
 * make the host another one, so an '@' before the path is refused. */
static bool is_loopback_http(const char *url)
{
    static const char *const hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    if (strncasecmp(url, "http://", strlen("http://")) != 0)
        return false;
    const char *authority = url + strlen("http://");
    if (memchr(authority, '@', strcspn(authority, "/?#")))
        return false;
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t length = strlen(hosts[i]);
        if (strncasecmp(url, hosts[i], length) == 0 &&
            (url[length] == '\0' || url[length] == ':' || url[length] == '/'))
            return true;
    }
    return false;
}

/* The string member name of object, or NULL when absent, not a string or empty. */
static const char *text_of(const json_t *object, const char *name)
{
    const char *text = json_string_value(json_object_get(object, name));
    return text && text[0] ? text : NULL;
}

/* The payment number a session (or a session inside an event) was created for:
 * client_reference_id, or metadata.out_trade_no when a session was made elsewhere with only
 * the metadata. NULL when neither is there. */
static const char *session_out_trade_no(const json_t *session)
{
    const char *reference = text_of(session, "client_reference_id");
    return reference ? reference : text_of(json_object_get(session, "metadata"), "out_trade_no");
}

/* Stripe writes currencies in lower case; topup in upper case (ISO 4217). */
static bool copy_currency_upper(const char *currency, char out[CURRENCY_CODE_SIZE])
{
    if (!currency || strlen(currency) != CURRENCY_CODE_SIZE - 1)
        return false;
    for (size_t i = 0; i < CURRENCY_CODE_SIZE - 1; i++) {
        char c = currency[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z')
            return false;
        out[i] = c;
    }
    out[CURRENCY_CODE_SIZE - 1] = '\0';
    return true;
}

/* Whether Stripe can take amount_minor in currency; a sentence in detail when not. Stripe
 * counts amounts in the same minor units as ISO 4217 for every currency topup knows (JPY, KRW
 * and VND have none: 500 JPY is 500), so amounts go through unchanged; its one difference,
 * ISK (ISO zero decimals, two at Stripe), is not a topup currency. Three-decimal currencies
 * (BHD, JOD, KWD, OMR, TND) it takes only in multiples of 10. */
static bool amount_acceptable(int64_t amount_minor, const char *currency, char *detail,
                              size_t detail_size)
{
    const currency_info *info = currency_find(currency);
    if (!info) {
        say(detail, detail_size, "%s is not a currency topup knows", currency);
        return false;
    }
    if (amount_minor <= 0) {
        say(detail, detail_size, "the amount must be more than zero");
        return false;
    }
    if (info->exponent == 3 && amount_minor % 10 != 0) {
        say(detail, detail_size,
            "the card checkout takes %s amounts only in whole hundredths (a multiple of 10 "
            "minor units); %" PRId64 " is not",
            currency, amount_minor);
        return false;
    }
    return true;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* An application/x-www-form-urlencoded body or query being built. */
typedef struct form {
    char text[FORM_SIZE_MAX]; /* "k=v&k=v", NUL-terminated */
    size_t length;            /* bytes in text */
    bool failed;              /* a pair did not fit, or encoding ran out of memory */
} form;

/* Appends key=value. Keys are this file's constants in Stripe's bracket notation
 * ("line_items[0][quantity]") and are sent as written, brackets unencoded, as Stripe's own
 * libraries send them; values are percent-encoded. */
static void form_add(form *f, const char *key, const char *value)
{
    char *encoded = http_client_form_encode(value);
    if (!encoded) {
        f->failed = true;
        return;
    }
    int written = snprintf(f->text + f->length, sizeof f->text - f->length, "%s%s=%s",
                           f->length ? "&" : "", key, encoded);
    free(encoded);
    if (written < 0 || (size_t)written >= sizeof f->text - f->length) {
        f->failed = true;
        f->text[f->length] = '\0';
        return;
    }
    f->length += (size_t)written;
}

static void form_add_integer(form *f, const char *key, int64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, value);
    form_add(f, key, text);
}

/* Puts "type/code: message" of a Stripe error answer ({"error":{...}}) into detail. */
static void describe_error(const json_t *answer, long http_status, char *detail, size_t detail_size)
{
    const json_t *error = json_object_get(answer, "error");
    const char *type = text_of(error, "type");
    const char *code = text_of(error, "code");
    const char *message = text_of(error, "message");
    say(detail, detail_size, "the card gateway answered HTTP %ld%s%s%s%s: %s", http_status,
        type ? " " : "", type ? type : "", code ? "/" : "", code ? code : "",
        message ? message : "(no message)");
}

/* How a 4xx is to be read. Most are a definite "no": the request was not carried out. Three
 * are not: 409 (another request with the same idempotency key is in progress), 429 (rate
 * limited: try later), and idempotency_error (the key was used before with other parameters,
 * so something may have been carried out under it). */
static gateway_status judge_client_error(const json_t *answer, long http_status)
{
    const char *type = text_of(json_object_get(answer, "error"), "type");
    if (http_status == 409 || http_status == 429 ||
        (type && strcmp(type, "idempotency_error") == 0))
        return GATEWAY_UNKNOWN;
    return GATEWAY_REFUSED;
}

/* Reads an answer into *answer (the parsed JSON, or NULL) and judges it: a 2xx JSON object is
 * OK; a 4xx is REFUSED or UNKNOWN (judge_client_error); anything else, or no answer at all, is
 * UNKNOWN. */
static gateway_status judge_response(const http_client_response *response, long timeout_ms,
                                     json_t **answer, char *detail, size_t detail_size)
{
    if (response->outcome == HTTP_CLIENT_TIMEOUT) {
        say(detail, detail_size, "the card gateway did not answer within %ld ms", timeout_ms);
        return GATEWAY_UNKNOWN;
    }
    if (response->outcome != HTTP_CLIENT_ANSWERED) {
        say(detail, detail_size, "the card gateway could not be reached: %s", response->error);
        return GATEWAY_UNKNOWN;
    }
    *answer = json_loadb(response->body, response->body_size, 0, NULL);
    long status = response->status;
    if (status >= 200 && status < 300) {
        if (json_is_object(*answer))
            return GATEWAY_OK;
        say(detail, detail_size, "the card gateway answered HTTP %ld without a JSON object",
            status);
        return GATEWAY_UNKNOWN;
    }
    describe_error(*answer, status, detail, detail_size);
    return status >= 400 && status < 500 ? judge_client_error(*answer, status) : GATEWAY_UNKNOWN;
}

/* One API call of op: method (GET or POST) to path under the API base, with the form as the
 * body of a POST (a GET's parameters are already in path), in the time op has left. Every POST
 * carries idempotency_key. *answer
 * is the parsed answer, set whatever the outcome (an error answer too, for callers that look at
 * it), or NULL; the caller json_decrefs it. *http_status is 0 when nothing was answered. */
static gateway_status stripe_call(operation *op, const char *method, const char *path,
                                  const form *body, const char *idempotency_key,
                                  json_t **answer /* OUT */, long *http_status /* OUT */)
{
    *answer = NULL;
    *http_status = 0;
    provider *p = op->p;
    char *detail = op->detail;
    size_t detail_size = op->detail_size;
    int64_t left_ms = op->deadline_ms - clock_monotonic_ms();
    if (left_ms <= 0) {
        say(detail, detail_size, "the card gateway did not answer within %ld ms", p->timeout_ms);
        return GATEWAY_UNKNOWN;
    }
    char url[REQUEST_URL_SIZE];
    int url_length = snprintf(url, sizeof url, "%s%s", p->api_base, path);
    if (url_length < 0 || (size_t)url_length >= sizeof url) {
        say(detail, detail_size, "card.gateway is too long to build a request URL");
        return GATEWAY_REFUSED;
    }
    char authorization[HEADER_SIZE_MAX];
    char idempotency[IDEMPOTENCY_KEY_SIZE + 32];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", p->secret_key);
    snprintf(idempotency, sizeof idempotency, "Idempotency-Key: %s",
             idempotency_key ? idempotency_key : "");
    bool post = strcmp(method, "POST") == 0;
    const char *headers[] = {
        authorization,
        "Stripe-Version: " STRIPE_API_VERSION,
        "Accept: application/json",
        "Content-Type: application/x-www-form-urlencoded",
        idempotency,
    };
    size_t header_count = post ? 5 : 3;
    http_client_response response;
    topup_result r =
        http_client_request(method, url, headers, header_count, post && body ? body->text : NULL,
                            post && body ? body->length : 0, (long)left_ms, &response);
    OPENSSL_cleanse(authorization, sizeof authorization);
    gateway_status status = GATEWAY_UNKNOWN;
    if (r != TOPUP_OK)
        say(detail, detail_size, "the request to the card gateway could not be sent (%s)",
            topup_strerror(r));
    else
        status = judge_response(&response, p->timeout_ms, answer, detail, detail_size);
    if (response.outcome == HTTP_CLIENT_ANSWERED)
        *http_status = response.status;
    http_client_response_free(&response);
    return status;
}

/* ---- open and free ----------------------------------------------------------------------- */

static topup_result refuse_setting(char *detail, size_t detail_size, const char *sentence)
{
    say(detail, detail_size, "%s", sentence);
    return TOPUP_E_INVALID_ARGUMENT;
}

/* Checks the URLs of settings; a sentence in detail when one is unusable. */
static topup_result check_urls(const provider_settings *settings, char *detail, size_t detail_size)
{
    const char *api = settings->gateway_url;
    if (!api[0])
        return refuse_setting(detail, detail_size,
                              "card.gateway is missing: set it to the API base, "
                              "https://api.stripe.com");
    if (!starts_with(api, "https://") && !is_loopback_http(api))
        return refuse_setting(detail, detail_size,
                              "card.gateway must be an https:// URL (plain http only to "
                              "127.0.0.1 or localhost): the API secret key travels with every "
                              "request");
    const char *back = settings->return_url;
    if (!back[0])
        return refuse_setting(detail, detail_size,
                              "card.return_url is missing: the checkout sends the payer's "
                              "browser back there, paid or not");
    if (!starts_with(back, "https://") && !starts_with(back, "http://"))
        return refuse_setting(detail, detail_size,
                              "card.return_url must be an http:// or https:// URL");
    return TOPUP_OK;
}

/* Loads one secret file into secret; a sentence naming the setting in detail when it fails. */
static topup_result load_secret(const char *setting, const char *path, char *secret,
                                size_t secret_size, char *detail, size_t detail_size)
{
    if (!path[0]) {
        say(detail, detail_size, "card.%s is missing: name the file that holds it", setting);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    topup_result r = notify_load_secret(path, secret, secret_size);
    if (r == TOPUP_E_IO)
        say(detail, detail_size, "card.%s: %s cannot be read", setting, path);
    else if (r != TOPUP_OK)
        say(detail, detail_size,
            "card.%s: %s is empty, too large, or readable by group or others (chmod 600 it)",
            setting, path);
    return r;
}

/* A publishable key (pk_) is public and cannot call the API; anything but visible ASCII could
 * break the Authorization header. */
static topup_result check_secret_key(const char *key, char *detail, size_t detail_size)
{
    if (starts_with(key, "pk_"))
        return refuse_setting(detail, detail_size,
                              "card.secret holds a publishable key (pk_...): the API needs the "
                              "secret key (sk_...) or a restricted key (rk_...)");
    if (!is_header_safe(key))
        return refuse_setting(detail, detail_size,
                              "card.secret holds spaces or control characters: it must be the "
                              "key alone (sk_... or rk_...)");
    return TOPUP_OK;
}

static void card_free(provider *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
}

static topup_result card_open(const provider_settings *settings, provider **out, char *detail,
                              size_t detail_size)
{
    *out = NULL;
    topup_result r = check_urls(settings, detail, detail_size);
    if (r != TOPUP_OK)
        return r;
    provider *p = calloc(1, sizeof *p);
    if (!p)
        return TOPUP_E_NOMEM;
    r = load_secret("secret", settings->secret_file, p->secret_key, sizeof p->secret_key, detail,
                    detail_size);
    if (r == TOPUP_OK)
        r = check_secret_key(p->secret_key, detail, detail_size);
    if (r == TOPUP_OK)
        r = load_secret("webhook_secret", settings->webhook_secret_file, p->webhook_secret,
                        sizeof p->webhook_secret, detail, detail_size);
    if (r != TOPUP_OK) {
        card_free(p);
        return r;
    }
    snprintf(p->api_base, sizeof p->api_base, "%s", settings->gateway_url);
    size_t length = strlen(p->api_base);
    while (length > 0 && p->api_base[length - 1] == '/')
        p->api_base[--length] = '\0';
    snprintf(p->return_url, sizeof p->return_url, "%s", settings->return_url);
    p->timeout_ms = settings->timeout_ms > 0 ? settings->timeout_ms : 10000;
    *out = p;
    return TOPUP_OK;
}

/* ---- create ------------------------------------------------------------------------------ */

/* The expires_at sent for a payment whose payer must have paid by deadline.
 *
 * Stripe refuses an expires_at less than 30 minutes or more than 24 hours after the session's
 * creation, while topup closes unpaid orders after 15 minutes by default; the deadline itself
 * is therefore kept by topup closing the order (card_close expires the session), and
 * expires_at is only the backstop for when that close cannot reach the provider. It is the
 * deadline plus 30 minutes and a margin, rounded up to the minute, and depends on nothing else:
 * a create repeated after a lost answer must send the very same parameters, or Stripe refuses
 * the repeated idempotency key instead of returning the session it already made. Only a
 * deadline more than about 23 hours away is capped by now, to stay within the 24 hours.
 * A payment made after the deadline but before the close is a late payment, which topup
 * refunds. */
static int64_t checkout_expires_at(int64_t deadline, int64_t now)
{
    int64_t latest = now + CHECKOUT_EXPIRY_MAX_S - CHECKOUT_EXPIRY_MARGIN_S;
    latest -= latest % CHECKOUT_EXPIRY_GRID_S;
    if (deadline > latest)
        return latest;
    int64_t at = deadline + CHECKOUT_EXPIRY_MIN_S + CHECKOUT_EXPIRY_MARGIN_S;
    at = (at + CHECKOUT_EXPIRY_GRID_S - 1) / CHECKOUT_EXPIRY_GRID_S * CHECKOUT_EXPIRY_GRID_S;
    return at < latest ? at : latest;
}

/* return_url with out_trade_no added to its query, so the page the payer lands on knows which
 * payment to show (out_trade_no is [0-9A-Za-z_-]: nothing to encode). */
static bool back_url(const provider *p, const char *out_trade_no, char *url, size_t url_size)
{
    const char *separator = strchr(p->return_url, '?') ? "&" : "?";
    int length =
        snprintf(url, url_size, "%s%sout_trade_no=%s", p->return_url, separator, out_trade_no);
    return length > 0 && (size_t)length < url_size;
}

/* The body of POST /v1/checkout/sessions: one line item priced inline (no product has to exist
 * at the provider), the payment number as client_reference_id and in the metadata of the
 * session and of its payment intent (so it shows next to the payment in the provider's
 * dashboard and in its refunds). */
static bool build_create_form(const provider *p, const payment_request *request, form *f)
{
    char currency[CURRENCY_CODE_SIZE];
    for (size_t i = 0; i < sizeof currency; i++)
        currency[i] = (char)(request->currency[i] >= 'A' && request->currency[i] <= 'Z'
                                 ? request->currency[i] - 'A' + 'a'
                                 : request->currency[i]);
    char back[PROVIDER_URL_SIZE + OUT_TRADE_NO_SIZE + 16];
    if (!back_url(p, request->out_trade_no, back, sizeof back))
        return false;
    form_add(f, "mode", "payment");
    form_add(f, "client_reference_id", request->out_trade_no);
    form_add(f, "metadata[out_trade_no]", request->out_trade_no);
    form_add(f, "payment_intent_data[metadata][out_trade_no]", request->out_trade_no);
    form_add(f, "line_items[0][price_data][currency]", currency);
    form_add_integer(f, "line_items[0][price_data][unit_amount]", request->amount_minor);
    /* Stripe requires a product name; a payment without a subject is named by its number. */
    form_add(f, "line_items[0][price_data][product_data][name]",
             request->subject[0] ? request->subject : request->out_trade_no);
    form_add(f, "line_items[0][quantity]", "1");
    form_add(f, "success_url", back);
    form_add(f, "cancel_url", back);
    if (request->expires_at > 0)
        form_add_integer(f, "expires_at",
                         checkout_expires_at(request->expires_at, clock_now_seconds()));
    return !f->failed;
}

/* Reads the created session into created; UNKNOWN when the answer is not a usable session for
 * this payment (topup then knows nothing more than before it asked). */
static gateway_status read_created(const json_t *session, const char *out_trade_no,
                                   payment_created *created, char *detail, size_t detail_size)
{
    const char *id = text_of(session, "id");
    const char *url = text_of(session, "url");
    const char *reference = session_out_trade_no(session);
    if (!is_stripe_id(id) || !url ||
        !(starts_with(url, "https://") || starts_with(url, "http://")) ||
        strlen(url) >= sizeof created->pay_url) {
        say(detail, detail_size, "the card gateway's answer has no usable session id and url");
        return GATEWAY_UNKNOWN;
    }
    if (!reference || strcmp(reference, out_trade_no) != 0) {
        say(detail, detail_size, "the card gateway answered session %s for another payment (%s)",
            id, reference ? reference : "none");
        return GATEWAY_UNKNOWN;
    }
    snprintf(created->provider_ref, sizeof created->provider_ref, "%s", id);
    snprintf(created->pay_url, sizeof created->pay_url, "%s", url);
    created->state = TRADE_PENDING;
    say(detail, detail_size, "checkout session %s is open for the payer", id);
    return GATEWAY_OK;
}

static gateway_status card_create(provider *p, const payment_request *request,
                                  payment_created *created, char *detail, size_t detail_size)
{
    memset(created, 0, sizeof *created);
    if (request->method != PAY_METHOD_CHECKOUT) {
        say(detail, detail_size, "the card provider offers only the checkout method, not %s",
            pay_method_name(request->method));
        return GATEWAY_REFUSED;
    }
    if (!is_out_trade_no(request->out_trade_no)) {
        say(detail, detail_size, "the payment number must be 1 to 64 of [0-9A-Za-z_-]");
        return GATEWAY_REFUSED;
    }
    if (!amount_acceptable(request->amount_minor, request->currency, detail, detail_size))
        return GATEWAY_REFUSED;
    form body = {.length = 0};
    if (!build_create_form(p, request, &body)) {
        say(detail, detail_size,
            "the checkout request does not fit in %d bytes (card.return_url "
            "or the subject is too long)",
            FORM_SIZE_MAX);
        return GATEWAY_REFUSED;
    }
    /* The key is the payment number, so a create repeated after a timeout or a crash (same
     * payment, same parameters) is answered with the session the first one made, never a
     * second session the payer could pay as well. Stripe keeps keys for at least 24 hours. */
    char key[IDEMPOTENCY_KEY_SIZE];
    snprintf(key, sizeof key, "topup-checkout-%s", request->out_trade_no);
    operation op = operation_start(p, detail, detail_size);
    json_t *answer;
    long http_status;
    gateway_status status =
        stripe_call(&op, "POST", "/v1/checkout/sessions", &body, key, &answer, &http_status);
    if (status == GATEWAY_OK)
        status = read_created(answer, request->out_trade_no, created, detail, detail_size);
    json_decref(answer);
    return status;
}

/* ---- finding a session ------------------------------------------------------------------- */

/* GET /v1/checkout/sessions/{id}. A 404 is an answer: *session NULL, OK. */
static gateway_status retrieve_session(operation *op, const char *id, json_t **session)
{
    char path[64 + TRADE_NO_SIZE];
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s", id);
    long http_status;
    gateway_status status = stripe_call(op, "GET", path, NULL, NULL, session, &http_status);
    if (status == GATEWAY_REFUSED && http_status == 404) {
        json_decref(*session);
        *session = NULL;
        say(op->detail, op->detail_size, "the card gateway has no checkout session %s", id);
        return GATEWAY_OK;
    }
    if (status != GATEWAY_OK) {
        json_decref(*session);
        *session = NULL;
    }
    return status;
}

/* Looks for the newest session made for out_trade_no in one page of the list; sets *found, and
 * next to the id to continue after ("" when the list ends). */
static gateway_status scan_page(const json_t *page, const char *out_trade_no, json_t **found,
                                char next[TRADE_NO_SIZE], char *detail, size_t detail_size)
{
    const json_t *data = json_object_get(page, "data");
    if (!json_is_array(data)) {
        say(detail, detail_size, "the card gateway's session list has no data");
        return GATEWAY_UNKNOWN;
    }
    size_t index;
    const json_t *session;
    json_array_foreach(data, index, session)
    {
        const char *reference = session_out_trade_no(session);
        if (reference && strcmp(reference, out_trade_no) == 0) {
            *found = json_deep_copy(session);
            return *found ? GATEWAY_OK : GATEWAY_UNKNOWN;
        }
    }
    next[0] = '\0';
    size_t count = json_array_size(data);
    if (!json_is_true(json_object_get(page, "has_more")) || count == 0)
        return GATEWAY_OK;
    const char *last = text_of(json_array_get(data, count - 1), "id");
    if (!is_stripe_id(last)) {
        say(detail, detail_size, "the card gateway's session list has an unusable id");
        return GATEWAY_UNKNOWN;
    }
    snprintf(next, TRADE_NO_SIZE, "%s", last);
    return GATEWAY_OK;
}

/* Finds the session of out_trade_no without its id. Stripe cannot filter sessions by
 * client_reference_id, and its search API does not cover sessions (and is only eventually
 * consistent), so the list is read newest first. "Not found" is answered only when the whole
 * list was read; when the bound or the deadline comes first the answer is UNKNOWN, never a
 * guess. */
static gateway_status list_for_session(operation *op, const char *out_trade_no, json_t **session)
{
    char after[TRADE_NO_SIZE] = "";
    for (int page_index = 0; page_index < LOOKUP_PAGE_COUNT_MAX; page_index++) {
        char path[128 + TRADE_NO_SIZE];
        snprintf(path, sizeof path, "/v1/checkout/sessions?limit=%d%s%s", LOOKUP_PAGE_SIZE,
                 after[0] ? "&starting_after=" : "", after);
        json_t *page;
        long http_status;
        gateway_status status = stripe_call(op, "GET", path, NULL, NULL, &page, &http_status);
        if (status == GATEWAY_OK)
            status = scan_page(page, out_trade_no, session, after, op->detail, op->detail_size);
        json_decref(page);
        if (status != GATEWAY_OK || *session)
            return status;
        if (!after[0]) {
            say(op->detail, op->detail_size, "the card gateway has no checkout session for %s",
                out_trade_no);
            return GATEWAY_OK;
        }
    }
    say(op->detail, op->detail_size,
        "no checkout session for %s among the newest %d: ask with its session id "
        "(provider_ref)",
        out_trade_no, LOOKUP_PAGE_COUNT_MAX * LOOKUP_PAGE_SIZE);
    return GATEWAY_UNKNOWN;
}

/* The session of a payment: by provider_ref (the session id create returned) when there is
 * one, else by listing. *session is NULL with OK when the provider has none. A session that
 * belongs to another payment is refused: provider_ref and out_trade_no disagree. */
static gateway_status find_session(operation *op, const char *out_trade_no,
                                   const char *provider_ref, json_t **session)
{
    *session = NULL;
    if (!provider_ref || !provider_ref[0])
        return list_for_session(op, out_trade_no, session);
    if (!is_stripe_id(provider_ref)) {
        say(op->detail, op->detail_size, "%s is not a checkout session id", provider_ref);
        return GATEWAY_REFUSED;
    }
    gateway_status status = retrieve_session(op, provider_ref, session);
    if (status != GATEWAY_OK || !*session)
        return status;
    const char *reference = session_out_trade_no(*session);
    if (!reference || strcmp(reference, out_trade_no) != 0) {
        say(op->detail, op->detail_size, "checkout session %s belongs to payment %s, not %s",
            provider_ref, reference ? reference : "(none)", out_trade_no);
        json_decref(*session);
        *session = NULL;
        return GATEWAY_REFUSED;
    }
    return GATEWAY_OK;
}

/* ---- query ------------------------------------------------------------------------------- */

/* The payment intent, amount and currency of a paid session (or of a paid session in an
 * event). false when one is missing or malformed. */
static bool read_paid(const json_t *session, char trade_no[TRADE_NO_SIZE], int64_t *amount_minor,
                      char currency[CURRENCY_CODE_SIZE])
{
    const char *intent = json_string_value(json_object_get(session, "payment_intent"));
    const json_t *amount = json_object_get(session, "amount_total");
    if (!is_stripe_id(intent) || !json_is_integer(amount) || json_integer_value(amount) <= 0 ||
        !copy_currency_upper(json_string_value(json_object_get(session, "currency")), currency))
        return false;
    snprintf(trade_no, TRADE_NO_SIZE, "%s", intent);
    *amount_minor = json_integer_value(amount);
    return true;
}

/* A session as topup sees its trade: "open" is pending; "expired" closed; "complete" is paid
 * once payment_status is "paid" (a bank debit completes the session before the money
 * arrives: that is still pending). */
static gateway_status read_trade(const json_t *session, trade_info *trade, char *detail,
                                 size_t detail_size)
{
    const char *id = text_of(session, "id");
    const char *state = text_of(session, "status");
    const char *payment = text_of(session, "payment_status");
    if (!id || !state || !payment) {
        say(detail, detail_size, "the card gateway's session lacks id, status or payment_status");
        return GATEWAY_UNKNOWN;
    }
    if (strcmp(state, "open") == 0 ||
        (strcmp(state, "complete") == 0 && strcmp(payment, "paid") != 0)) {
        trade->state = TRADE_PENDING;
        say(detail, detail_size, "checkout session %s is %s, payment %s", id, state, payment);
        return GATEWAY_OK;
    }
    if (strcmp(state, "expired") == 0) {
        trade->state = TRADE_CLOSED;
        say(detail, detail_size, "checkout session %s expired unpaid", id);
        return GATEWAY_OK;
    }
    if (strcmp(state, "complete") != 0) {
        say(detail, detail_size, "checkout session %s has an unknown status %s", id, state);
        return GATEWAY_UNKNOWN;
    }
    if (!read_paid(session, trade->trade_no, &trade->amount_minor, trade->currency)) {
        say(detail, detail_size,
            "checkout session %s is paid but lacks payment_intent, amount_total or currency", id);
        return GATEWAY_UNKNOWN;
    }
    trade->state = TRADE_PAID;
    say(detail, detail_size, "checkout session %s is paid (payment intent %s)", id,
        trade->trade_no);
    return GATEWAY_OK;
}

static gateway_status card_query(provider *p, const char *out_trade_no, const char *provider_ref,
                                 trade_info *trade, char *detail, size_t detail_size)
{
    memset(trade, 0, sizeof *trade);
    operation op = operation_start(p, detail, detail_size);
    json_t *session;
    gateway_status status = find_session(&op, out_trade_no, provider_ref, &session);
    if (status != GATEWAY_OK)
        return status;
    if (!session) {
        trade->state = TRADE_NOT_FOUND;
        return GATEWAY_OK;
    }
    status = read_trade(session, trade, detail, detail_size);
    json_decref(session);
    return status;
}

/* ---- refund ------------------------------------------------------------------------------ */

/* The payment intent of out_trade_no's paid session, for a refund asked without it. */
static gateway_status paid_intent(operation *op, const char *out_trade_no,
                                  char intent[TRADE_NO_SIZE])
{
    json_t *session;
    gateway_status status = find_session(op, out_trade_no, "", &session);
    if (status != GATEWAY_OK)
        return status;
    trade_info trade = {0};
    if (session)
        status = read_trade(session, &trade, op->detail, op->detail_size);
    json_decref(session);
    if (status != GATEWAY_OK)
        return status;
    if (!session || trade.state != TRADE_PAID) {
        say(op->detail, op->detail_size,
            "payment %s is not paid at the card gateway: nothing to refund", out_trade_no);
        return GATEWAY_REFUSED;
    }
    snprintf(intent, TRADE_NO_SIZE, "%s", trade.trade_no);
    return GATEWAY_OK;
}

/* Stripe's refund statuses: succeeded; failed or canceled (the money stays with the merchant);
 * pending and requires_action, and any status added later, are not final yet. */
static refund_state refund_state_of(const char *status)
{
    if (strcmp(status, "succeeded") == 0)
        return REFUND_SUCCEEDED;
    if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0)
        return REFUND_FAILED;
    return REFUND_PENDING;
}

static gateway_status read_refund(const json_t *answer, refund_info *refund, char *detail,
                                  size_t detail_size)
{
    const char *id = text_of(answer, "id");
    const char *status = text_of(answer, "status");
    if (!is_stripe_id(id) || !status) {
        say(detail, detail_size, "the card gateway's refund has no usable id and status");
        return GATEWAY_UNKNOWN;
    }
    snprintf(refund->refund_id, sizeof refund->refund_id, "%s", id);
    refund->state = refund_state_of(status);
    say(detail, detail_size, "refund %s is %s", id, status);
    return GATEWAY_OK;
}

/* The body of POST /v1/refunds. topup's reason is free text, while Stripe's reason is one of
 * three words, so it goes into the metadata. */
static bool build_refund_form(const refund_request *request, const char *intent, form *f)
{
    form_add(f, "payment_intent", intent);
    form_add_integer(f, "amount", request->refund_minor);
    form_add(f, "metadata[out_trade_no]", request->out_trade_no);
    form_add(f, "metadata[out_request_no]", request->out_request_no);
    if (request->reason[0])
        form_add(f, "metadata[reason]", request->reason);
    return !f->failed;
}

static gateway_status card_refund(provider *p, const refund_request *request, refund_info *refund,
                                  char *detail, size_t detail_size)
{
    memset(refund, 0, sizeof *refund);
    refund->state = REFUND_PENDING;
    if (!is_out_trade_no(request->out_request_no) || !is_out_trade_no(request->out_trade_no)) {
        say(detail, detail_size, "the payment and refund numbers must be 1 to 64 of [0-9A-Za-z_-]");
        return GATEWAY_REFUSED;
    }
    if (!amount_acceptable(request->refund_minor, request->currency, detail, detail_size))
        return GATEWAY_REFUSED;
    if (request->trade_no[0] && !is_stripe_id(request->trade_no)) {
        say(detail, detail_size, "%s is not a payment intent id", request->trade_no);
        return GATEWAY_REFUSED;
    }
    operation op = operation_start(p, detail, detail_size);
    char intent[TRADE_NO_SIZE];
    snprintf(intent, sizeof intent, "%s", request->trade_no);
    if (!intent[0]) {
        gateway_status found = paid_intent(&op, request->out_trade_no, intent);
        if (found != GATEWAY_OK)
            return found;
    }
    form body = {.length = 0};
    if (!build_refund_form(request, intent, &body)) {
        say(detail, detail_size, "the refund request does not fit in %d bytes", FORM_SIZE_MAX);
        return GATEWAY_REFUSED;
    }
    /* The key is the refund number: the same number asked again (after a timeout, by another
     * worker) is answered with the refund already made, so it never refunds twice. */
    char key[IDEMPOTENCY_KEY_SIZE];
    snprintf(key, sizeof key, "topup-refund-%s", request->out_request_no);
    json_t *answer;
    long http_status;
    gateway_status status =
        stripe_call(&op, "POST", "/v1/refunds", &body, key, &answer, &http_status);
    if (status == GATEWAY_OK)
        status = read_refund(answer, refund, detail, detail_size);
    json_decref(answer);
    return status;
}

/* ---- close ------------------------------------------------------------------------------- */

/* Whether a session is already settled for a close: expired is what close wants (OK); complete
 * cannot be closed (REFUSED: the payer paid, or is paying by bank debit). *settled false when
 * it is still open. */
static gateway_status judge_for_close(const json_t *session, bool *settled, char *detail,
                                      size_t detail_size)
{
    const char *id = text_of(session, "id");
    const char *state = text_of(session, "status");
    const char *payment = text_of(session, "payment_status");
    *settled = true;
    if (state && strcmp(state, "expired") == 0) {
        say(detail, detail_size, "checkout session %s is expired: it can no longer be paid", id);
        return GATEWAY_OK;
    }
    if (state && strcmp(state, "complete") == 0) {
        say(detail, detail_size,
            "checkout session %s is already complete (payment %s): it cannot be closed", id,
            payment ? payment : "unknown");
        return GATEWAY_REFUSED;
    }
    *settled = false;
    return GATEWAY_OK;
}

/* A fresh idempotency key for an expiry. Expiring is harmless to repeat, while a fixed key
 * would have Stripe replay a first 5xx to every later attempt for a day. */
static bool random_expire_key(char key[IDEMPOTENCY_KEY_SIZE])
{
    unsigned char random[16];
    if (RAND_bytes(random, sizeof random) != 1)
        return false;
    int length = snprintf(key, IDEMPOTENCY_KEY_SIZE, "topup-expire-");
    for (size_t i = 0; i < sizeof random; i++, length += 2)
        snprintf(key + length, IDEMPOTENCY_KEY_SIZE - (size_t)length, "%02x", random[i]);
    return true;
}

/* POST /v1/checkout/sessions/{id}/expire. Its answer is the session, expired. When the expiry
 * is refused the session is fetched again, because the payer may have completed it meanwhile
 * (REFUSED) or it may have expired by itself (OK); only a session still open keeps the
 * refusal. */
static gateway_status expire_session(operation *op, const char *id)
{
    char key[IDEMPOTENCY_KEY_SIZE];
    if (!random_expire_key(key)) {
        say(op->detail, op->detail_size, "no random bytes for an idempotency key");
        return GATEWAY_UNKNOWN;
    }
    char path[64 + TRADE_NO_SIZE];
    snprintf(path, sizeof path, "/v1/checkout/sessions/%s/expire", id);
    json_t *session;
    long http_status;
    gateway_status status = stripe_call(op, "POST", path, NULL, key, &session, &http_status);
    bool refused = status == GATEWAY_REFUSED;
    char refusal[GATEWAY_DETAIL_SIZE] = "";
    if (refused) {
        snprintf(refusal, sizeof refusal, "%s", op->detail);
        json_decref(session);
        status = retrieve_session(op, id, &session);
    }
    bool settled = false;
    if (status == GATEWAY_OK && session)
        status = judge_for_close(session, &settled, op->detail, op->detail_size);
    json_decref(session);
    if (status != GATEWAY_OK || settled)
        return status;
    if (refused) {
        say(op->detail, op->detail_size, "%s", refusal);
        return GATEWAY_REFUSED;
    }
    say(op->detail, op->detail_size, "checkout session %s is still open after its expiry", id);
    return GATEWAY_UNKNOWN;
}

static gateway_status card_close(provider *p, const char *out_trade_no, const char *provider_ref,
                                 char *detail, size_t detail_size)
{
    operation op = operation_start(p, detail, detail_size);
    json_t *session;
    gateway_status status = find_session(&op, out_trade_no, provider_ref, &session);
    if (status != GATEWAY_OK)
        return status;
    if (!session) {
        /* Nothing at the provider can be paid: what a close is for. */
        say(detail, detail_size,
            "the card gateway has no checkout session for %s: nothing can be paid", out_trade_no);
        return GATEWAY_OK;
    }
    bool settled;
    status = judge_for_close(session, &settled, detail, detail_size);
    char id[TRADE_NO_SIZE];
    snprintf(id, sizeof id, "%s", text_of(session, "id") ? text_of(session, "id") : "");
    json_decref(session);
    if (settled)
        return status;
    if (!is_stripe_id(id)) {
        say(detail, detail_size, "the card gateway's session has no usable id");
        return GATEWAY_UNKNOWN;
    }
    return expire_session(&op, id);
}

/* ---- notifications ----------------------------------------------------------------------- */

/* Reads a genuine event into notice, or refuses it in result. checkout.session.completed (or
 * async_payment_succeeded, for bank debits) with payment_status "paid" is a payment; a
 * completed session not yet paid is not. checkout.session.expired closes the trade. Anything
 * else is recorded and changes nothing. */
static void read_event(const json_t *event, notify_result *result, payment_notice *notice)
{
    const char *type = text_of(event, "type");
    const json_t *session = json_object_get(json_object_get(event, "data"), "object");
    if (!type || !json_is_object(session)) {
        notify_refuse(result, "the event has no type or no data.object");
        return;
    }
    const char *object = text_of(session, "object");
    bool is_session = object && strcmp(object, "checkout.session") == 0;
    const char *payment = text_of(session, "payment_status");
    bool completed = strcmp(type, "checkout.session.completed") == 0 ||
                     strcmp(type, "checkout.session.async_payment_succeeded") == 0;
    notice->kind = NOTICE_OTHER;
    if (is_session && completed && payment && strcmp(payment, "paid") == 0)
        notice->kind = NOTICE_PAID;
    else if (is_session && strcmp(type, "checkout.session.expired") == 0)
        notice->kind = NOTICE_CLOSED;

    const char *out_trade_no = session_out_trade_no(session);
    if (is_out_trade_no(out_trade_no))
        snprintf(notice->out_trade_no, sizeof notice->out_trade_no, "%s", out_trade_no);
    if (notice->kind == NOTICE_OTHER)
        return;
    if (!notice->out_trade_no[0]) {
        notify_refuse(result,
                      "the %s event's session has no valid client_reference_id or "
                      "metadata.out_trade_no",
                      type);
        return;
    }
    if (notice->kind == NOTICE_PAID &&
        !read_paid(session, notice->trade_no, &notice->amount_minor, notice->currency))
        notify_refuse(result,
                      "the %s event's session lacks payment_intent, a positive "
                      "amount_total or a currency",
                      type);
}

static topup_result card_verify(provider *p, const notify_header *headers, size_t header_count,
                                const char *body, size_t body_size, int64_t now,
                                notify_result *result, payment_notice *notice)
{
    memset(result, 0, sizeof *result);
    memset(notice, 0, sizeof *notice);
    const char *signature = notify_header_get(headers, header_count, "Stripe-Signature");
    if (!signature) {
        notify_refuse(result, "there is no Stripe-Signature header");
        return TOPUP_OK;
    }
    topup_result r = card_verify_webhook(signature, body, body_size, p->webhook_secret, now,
                                         CARD_WEBHOOK_TOLERANCE_S, result);
    if (r != TOPUP_OK || !result->genuine)
        return r;
    /* A refusal from here on keeps result->fields: the event is genuine and worth keeping for
     * the audit trail even though topup cannot act on it. */
    read_event(result->fields, result, notice);
    return TOPUP_OK;
}

/* Stripe resends an event until it gets a 2xx, for up to three days: 500 asks for that. */
static void card_answer(bool accepted, const char *reason, notify_answer *answer)
{
    answer->status = accepted ? 200 : 500;
    answer->content_type = "application/json";
    snprintf(answer->body, sizeof answer->body, "{\"received\":%s}", accepted ? "true" : "false");
    if (accepted || !reason || !reason[0])
        return;
    /* The reason helps whoever reads the delivery log in the provider's dashboard; it is left
     * out when it does not fit. */
    json_t *body = json_pack("{s:b,s:s}", "received", 0, "detail", reason);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text && strlen(text) < sizeof answer->body)
        snprintf(answer->body, sizeof answer->body, "%s", text);
    free(text);
    json_decref(body);
}

const provider_ops card_provider_ops = {
    .name = "card",
    .methods = PAY_METHOD_BIT(PAY_METHOD_CHECKOUT),
    .open = card_open,
    .free_ = card_free,
    .create = card_create,
    .query = card_query,
    .refund = card_refund,
    .close = card_close,
    .verify = card_verify,
    .answer = card_answer,
};
