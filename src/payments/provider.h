/* One interface to every payment provider: create a payment for an order, query it, refund it,
 * close it, and verify and read its asynchronous notifications. Each provider is one file
 * (alipay_gateway.c, wechatpay_gateway.c, card_gateway.c, sandbox.c) filling a provider_ops.
 *
 * Gateway calls talk to the provider over the network and may block for up to the configured
 * timeout: they never run on the writer thread or while a transaction is open. Their outcome is
 * three-valued on purpose: a provider that did not answer, or whose answer could not be
 * verified, has told us nothing, and the caller must not guess (GATEWAY_UNKNOWN). */
#ifndef TOPUP_PROVIDER_H
#define TOPUP_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"
#include "payments/notify.h"

#define PROVIDER_NAME_SIZE    16
#define PROVIDER_TEXT_SIZE    128  /* ids, serials, app ids */
#define PROVIDER_PATH_SIZE    1024 /* key file paths */
#define PROVIDER_URL_SIZE     512
#define PAY_URL_SIZE          4096 /* a signed Alipay page.pay URL is long */
#define OUT_TRADE_NO_SIZE     65   /* topup's payment number; 1-64 characters [0-9A-Za-z_-] */
#define TRADE_NO_SIZE         129  /* the provider's trade or session number */
#define GATEWAY_DETAIL_SIZE   256

typedef enum provider_id {
    PROVIDER_ALIPAY,
    PROVIDER_WECHAT,
    PROVIDER_CARD,
    PROVIDER_SANDBOX,
    PROVIDER_COUNT
} provider_id;

/* How the payer pays. Not every provider offers every method (provider_ops.methods). */
typedef enum pay_method {
    PAY_METHOD_PAGE,     /* Alipay alipay.trade.page.pay: desktop browser redirect */
    PAY_METHOD_WAP,      /* Alipay alipay.trade.wap.pay: mobile browser redirect */
    PAY_METHOD_QR,       /* Alipay alipay.trade.precreate, WeChat Native: a code to show as QR */
    PAY_METHOD_H5,       /* WeChat H5: mobile browser redirect */
    PAY_METHOD_CODE,     /* Alipay alipay.trade.pay: a counter scans the customer's payment code */
    PAY_METHOD_CHECKOUT, /* card hosted checkout page; the sandbox's local page */
    PAY_METHOD_COUNT
} pay_method;

#define PAY_METHOD_BIT(method) (1u << (method))

typedef enum gateway_status {
    GATEWAY_OK,      /* the provider answered and the answer was verified */
    GATEWAY_REFUSED, /* the provider answered no, definitely (bad request, trade not payable) */
    GATEWAY_UNKNOWN  /* no verified answer: timeout, connection, 5xx, bad response signature */
} gateway_status;

/* A trade as the provider sees it. */
typedef enum trade_state {
    TRADE_PENDING,   /* created, not paid yet */
    TRADE_PAID,      /* the payer's money was taken (Alipay TRADE_SUCCESS/FINISHED, WeChat
                      * SUCCESS, card checkout complete and paid) */
    TRADE_CLOSED,    /* closed or expired unpaid (or fully refunded, for Alipay TRADE_CLOSED) */
    TRADE_NOT_FOUND, /* the provider has no such trade */
    TRADE_STATE_COUNT
} trade_state;

typedef enum refund_state { REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED } refund_state;

/* Per-provider settings from the config file ("alipay.app_id = ..."). Key and secret files
 * must not be readable by group or others (payments/notify.h); they are read once at load and
 * their contents never logged. Which fields a provider uses is documented in docs/payments.md. */
typedef struct provider_settings {
    bool enabled;                             /* the section is present */
    char gateway_url[PROVIDER_URL_SIZE];      /* Alipay gateway.do, WeChat/card API base */
    char app_id[PROVIDER_TEXT_SIZE];          /* Alipay app_id, WeChat appid */
    char merchant_id[PROVIDER_TEXT_SIZE];     /* WeChat mchid */
    char merchant_serial[PROVIDER_TEXT_SIZE]; /* WeChat merchant certificate serial */
    char private_key_file[PROVIDER_PATH_SIZE];  /* Alipay app key, WeChat merchant key */
    char public_key_file[PROVIDER_PATH_SIZE];   /* Alipay public key, WeChat platform cert/key */
    char public_key_serial[PROVIDER_TEXT_SIZE]; /* WeChat platform serial or public key id */
    char secret_file[PROVIDER_PATH_SIZE];       /* WeChat APIv3 key; card API secret key */
    char webhook_secret_file[PROVIDER_PATH_SIZE]; /* card and sandbox webhook secret */
    char notify_url[PROVIDER_URL_SIZE];         /* where the provider sends notifications */
    char return_url[PROVIDER_URL_SIZE];         /* where the payer's browser returns */
    int timeout_ms;                             /* per gateway call; default 10000 */
} provider_settings;

/* What topup asks the provider to collect. */
typedef struct payment_request {
    char out_trade_no[OUT_TRADE_NO_SIZE];
    int64_t amount_minor;
    char currency[CURRENCY_CODE_SIZE];
    char subject[PROVIDER_TEXT_SIZE]; /* shown to the payer, e.g. "话费充值 138****8000 ¥100" */
    pay_method method;
    char auth_code[PROVIDER_TEXT_SIZE]; /* PAY_METHOD_CODE: the customer's payment code */
    char client_ip[64];                 /* PAY_METHOD_H5: the payer's IP (WeChat requires it) */
    int64_t expires_at;                 /* unix seconds after which the payer can no longer pay */
} payment_request;

typedef struct payment_created {
    char pay_url[PAY_URL_SIZE];      /* redirect URL, or the QR code's content for PAY_METHOD_QR */
    char provider_ref[TRADE_NO_SIZE]; /* the provider's id for the attempt (card session id) */
    trade_state state;                /* PENDING; PAID when a code payment went through at once */
    char trade_no[TRADE_NO_SIZE];     /* when PAID */
} payment_created;

/* A trade as a query answers it. */
typedef struct trade_info {
    trade_state state;
    char trade_no[TRADE_NO_SIZE]; /* "" when the provider has not given one */
    int64_t amount_minor;         /* what the payer paid, when PAID */
    char currency[CURRENCY_CODE_SIZE];
} trade_info;

typedef struct refund_request {
    char out_trade_no[OUT_TRADE_NO_SIZE];
    char trade_no[TRADE_NO_SIZE];           /* the provider's, when known (card needs it) */
    char out_request_no[OUT_TRADE_NO_SIZE]; /* idempotency: the same number never refunds twice */
    int64_t refund_minor;
    int64_t total_minor; /* the payment's amount (WeChat requires it) */
    char currency[CURRENCY_CODE_SIZE];
    char reason[PROVIDER_TEXT_SIZE];
} refund_request;

typedef struct refund_info {
    refund_state state;
    char refund_id[TRADE_NO_SIZE]; /* the provider's refund id */
} refund_info;

/* What a verified notification says, in topup's terms. */
typedef enum notice_kind {
    NOTICE_PAID,   /* money was taken for out_trade_no */
    NOTICE_CLOSED, /* the trade closed unpaid */
    NOTICE_OTHER   /* anything else (waiting, refund events): recorded, changes nothing */
} notice_kind;

typedef struct payment_notice {
    notice_kind kind;
    char app_id[PROVIDER_TEXT_SIZE]; /* the app (Alipay app_id, WeChat appid) it is for; "" if
                                      * the provider has no such field */
    char merchant_id[PROVIDER_TEXT_SIZE]; /* WeChat mchid; "" otherwise */
    char out_trade_no[OUT_TRADE_NO_SIZE];
    char trade_no[TRADE_NO_SIZE]; /* the provider's trade number: the deduplication key */
    int64_t amount_minor;         /* what the payer paid */
    char currency[CURRENCY_CODE_SIZE];
} payment_notice;

/* The answer a provider expects to a notification. */
typedef struct notify_answer {
    int status;
    const char *content_type;
    char body[256];
} notify_answer;

typedef struct provider provider;

typedef struct provider_ops {
    const char *name;  /* "alipay", "wechat", "card", "sandbox": config section and URL segment */
    unsigned methods;  /* PAY_METHOD_BIT of each method offered */

    /* Reads keys and secrets named by settings; TOPUP_E_INVALID_ARGUMENT with a sentence in
     * detail when one is missing, unreadable or readable by others. *out is freed by free_. */
    topup_result (*open)(const provider_settings *settings, provider **out /* OUT */,
                         char *detail, size_t detail_size);
    void (*free_)(provider *p);

    gateway_status (*create)(provider *p, const payment_request *request,
                             payment_created *created /* OUT */, char *detail,
                             size_t detail_size);
    /* provider_ref is what create returned in payment_created.provider_ref ("" when unknown,
     * e.g. after a create that timed out): providers that find a trade by their own id (the
     * card checkout's session id) need it; the others find it by out_trade_no. */
    gateway_status (*query)(provider *p, const char *out_trade_no, const char *provider_ref,
                            trade_info *trade /* OUT */, char *detail, size_t detail_size);
    gateway_status (*refund)(provider *p, const refund_request *request,
                             refund_info *refund /* OUT */, char *detail, size_t detail_size);
    gateway_status (*close)(provider *p, const char *out_trade_no, const char *provider_ref,
                            char *detail, size_t detail_size);

    /* Verifies a raw notification and, when genuine, reads it into notice. Refusals go into
     * result (genuine false, reason). Returns TOPUP_OK when it could decide. */
    topup_result (*verify)(provider *p, const notify_header *headers, size_t header_count,
                           const char *body, size_t body_size, int64_t now,
                           notify_result *result /* OUT */, payment_notice *notice /* OUT */);

    /* The answer for a notification that was handled (accepted true: committed, or a duplicate
     * or a refusal the provider should not resend) or must be resent (accepted false). */
    void (*answer)(bool accepted, const char *reason, notify_answer *answer /* OUT */);
} provider_ops;

/* The ops of each built-in provider (each defined in its own file). */
extern const provider_ops alipay_provider_ops;
extern const provider_ops wechatpay_provider_ops;
extern const provider_ops card_provider_ops;
extern const provider_ops sandbox_provider_ops;

/* The ops for a provider, by id or by name (NULL when unknown). */
const provider_ops *provider_ops_for(provider_id id);
const provider_ops *provider_ops_by_name(const char *name, provider_id *id /* OUT, may be NULL */);

const char *pay_method_name(pay_method method); /* "page", "wap", "qr", "h5", "code", "checkout" */
bool pay_method_parse(const char *name, pay_method *method /* OUT */);
const char *trade_state_name(trade_state state); /* "pending", "paid", "closed", "not_found" */

/* Amounts in providers' decimal text ("100.00" yuan for Alipay) to and from minor units of
 * currency, strictly (money_parse's rules). */
topup_result provider_amount_parse(const char *text, const char *currency,
                                   int64_t *amount_minor /* OUT */);
void provider_amount_format(int64_t amount_minor, const char *currency, char *text /* OUT */,
                            size_t text_size);

#endif
