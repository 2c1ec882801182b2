/* The sandbox provider behind payments/provider.h. It has no gateway to call: "creating" a
 * payment is pointing the payer at topupd's own sandbox page, and the only way a sandbox trade
 * is paid is a genuine notification, so a query can truthfully answer "pending" and a close
 * always succeeds. */
#include "payments/sandbox.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payments/card.h"

#define SECRET_SIZE_MAX 256

struct provider {
    char secret[SECRET_SIZE_MAX];      /* the webhook secret notifications are signed with */
    char base_url[PROVIDER_URL_SIZE];  /* where payers reach topupd: the page is under it */
};

static topup_result sandbox_open(const provider_settings *settings, provider **out, char *detail,
                                 size_t detail_size)
{
    *out = NULL;
    if (!settings->webhook_secret_file[0] || !settings->gateway_url[0]) {
        snprintf(detail, detail_size,
                 "sandbox needs sandbox.webhook_secret (a file) and sandbox.gateway (the URL "
                 "payers reach topupd at, e.g. http://127.0.0.1:8080)");
        return TOPUP_E_INVALID_ARGUMENT;
    }
    provider *p = calloc(1, sizeof *p);
    if (!p)
        return TOPUP_E_NOMEM;
    topup_result r = notify_load_secret(settings->webhook_secret_file, p->secret, sizeof p->secret);
    if (r != TOPUP_OK) {
        snprintf(detail, detail_size,
                 "sandbox.webhook_secret %s cannot be read, is empty, or is readable by group or "
                 "others (chmod 600)",
                 settings->webhook_secret_file);
        free(p);
        return r;
    }
    snprintf(p->base_url, sizeof p->base_url, "%s", settings->gateway_url);
    size_t length = strlen(p->base_url);
    if (length > 0 && p->base_url[length - 1] == '/')
        p->base_url[length - 1] = '\0';
    *out = p;
    return TOPUP_OK;
}

static void sandbox_free(provider *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p->secret, sizeof p->secret);
    free(p);
}

static gateway_status sandbox_create(provider *p, const payment_request *request,
                                     payment_created *created, char *detail, size_t detail_size)
{
    memset(created, 0, sizeof *created);
    created->state = TRADE_PENDING;
    /* out_trade_no is [0-9A-Za-z_-] only (payment.c makes it), so it needs no encoding. */
    int length = snprintf(created->pay_url, sizeof created->pay_url, "%s/sandbox/pay/%s",
                          p->base_url, request->out_trade_no);
    if (length < 0 || (size_t)length >= sizeof created->pay_url) {
        snprintf(detail, detail_size, "sandbox.gateway is too long for a payment URL");
        return GATEWAY_REFUSED;
    }
    snprintf(detail, detail_size, "sandbox payment page ready");
    return GATEWAY_OK;
}

static gateway_status sandbox_query(provider *p, const char *out_trade_no,
                                    const char *provider_ref, trade_info *trade, char *detail,
                                    size_t detail_size)
{
    (void)p, (void)out_trade_no, (void)provider_ref;
    memset(trade, 0, sizeof *trade);
    trade->state = TRADE_PENDING;
    snprintf(detail, detail_size, "a sandbox trade is paid only by its notification");
    return GATEWAY_OK;
}

static gateway_status sandbox_refund(provider *p, const refund_request *request,
                                     refund_info *refund, char *detail, size_t detail_size)
{
    (void)p;
    memset(refund, 0, sizeof *refund);
    refund->state = REFUND_SUCCEEDED;
    /* Derived from the request number, so asking again answers the same refund. */
    snprintf(refund->refund_id, sizeof refund->refund_id, "SBXR-%s", request->out_request_no);
    snprintf(detail, detail_size, "sandbox refund done");
    return GATEWAY_OK;
}

static gateway_status sandbox_close(provider *p, const char *out_trade_no, const char *provider_ref,
                                    char *detail, size_t detail_size)
{
    (void)p, (void)out_trade_no, (void)provider_ref;
    snprintf(detail, detail_size, "sandbox trade closed");
    return GATEWAY_OK;
}

static bool copy_text(const json_t *object, const char *name, char *out, size_t out_size)
{
    const char *text = json_string_value(json_object_get(object, name));
    if (!text || !text[0] || strlen(text) >= out_size)
        return false;
    memcpy(out, text, strlen(text) + 1);
    return true;
}

/* Reads a genuine event into notice; false when a field is missing or malformed. */
static bool read_event(const json_t *event, payment_notice *notice)
{
    const char *type = json_string_value(json_object_get(event, "type"));
    const json_t *data = json_object_get(event, "data");
    json_int_t amount = json_integer_value(json_object_get(data, "amount_minor"));
    if (!type || !json_is_object(data) || !json_is_integer(json_object_get(data, "amount_minor")) ||
        amount <= 0)
        return false;
    notice->kind = strcmp(type, "payment.succeeded") == 0 ? NOTICE_PAID
                   : strcmp(type, "payment.failed") == 0  ? NOTICE_CLOSED
                                                          : NOTICE_OTHER;
    notice->amount_minor = amount;
    return copy_text(data, "out_trade_no", notice->out_trade_no, sizeof notice->out_trade_no) &&
           copy_text(data, "trade_no", notice->trade_no, sizeof notice->trade_no) &&
           copy_text(data, "currency", notice->currency, sizeof notice->currency);
}

static topup_result sandbox_verify(provider *p, const notify_header *headers, size_t header_count,
                                   const char *body, size_t body_size, int64_t now,
                                   notify_result *result, payment_notice *notice)
{
    memset(result, 0, sizeof *result);
    memset(notice, 0, sizeof *notice);
    const char *signature = notify_header_get(headers, header_count, SANDBOX_SIGNATURE_HEADER);
    if (!signature) {
        notify_refuse(result, "there is no %s header", SANDBOX_SIGNATURE_HEADER);
        return TOPUP_OK;
    }
    topup_result r = card_verify_webhook(signature, body, body_size, p->secret, now,
                                         CARD_WEBHOOK_TOLERANCE_S, result);
    if (r != TOPUP_OK || !result->genuine)
        return r;
    if (!read_event(result->fields, notice))
        notify_refuse(result, "the event lacks type, data.out_trade_no, data.trade_no, "
                              "data.amount_minor or data.currency");
    return TOPUP_OK;
}

static void sandbox_answer(bool accepted, const char *reason, notify_answer *answer)
{
    answer->status = accepted ? 200 : 500;
    answer->content_type = "application/json";
    json_t *body = json_pack("{s:b,s:s}", "received", accepted, "detail", reason ? reason : "");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    snprintf(answer->body, sizeof answer->body, "%s", text ? text : "{}");
    free(text);
    json_decref(body);
}

topup_result sandbox_notification(provider *p, const char *out_trade_no, bool paid,
                                  int64_t amount_minor, const char *currency, int64_t now,
                                  char **body, char **signature)
{
    *body = NULL;
    *signature = NULL;
    /* The trade number is the payment's own: paying the same trade twice (two clicks at once)
     * is one payment, as at a real provider, and the second is a duplicate. */
    char trade_no[OUT_TRADE_NO_SIZE + 4];
    snprintf(trade_no, sizeof trade_no, "SBX%.*s", OUT_TRADE_NO_SIZE - 1, out_trade_no);
    unsigned char random[8];
    if (RAND_bytes(random, sizeof random) != 1)
        return TOPUP_E_NOMEM;
    char event_id[24];
    snprintf(event_id, sizeof event_id, "evt_%02x%02x%02x%02x%02x%02x%02x%02x", random[0],
             random[1], random[2], random[3], random[4], random[5], random[6], random[7]);
    json_t *event = json_pack("{s:s,s:s,s:I,s:{s:s,s:s,s:I,s:s}}", "id", event_id, "type",
                              paid ? "payment.succeeded" : "payment.failed", "created",
                              (json_int_t)now, "data", "out_trade_no", out_trade_no, "trade_no",
                              trade_no, "amount_minor", (json_int_t)amount_minor, "currency",
                              currency);
    *body = event ? json_dumps(event, JSON_COMPACT) : NULL;
    json_decref(event);
    if (!*body)
        return TOPUP_E_NOMEM;
    topup_result r = card_sign_webhook(*body, strlen(*body), p->secret, now, signature);
    if (r != TOPUP_OK) {
        free(*body);
        *body = NULL;
    }
    return r;
}

const provider_ops sandbox_provider_ops = {
    .name = "sandbox",
    .methods = PAY_METHOD_BIT(PAY_METHOD_CHECKOUT) | PAY_METHOD_BIT(PAY_METHOD_QR),
    .open = sandbox_open,
    .free_ = sandbox_free,
    .create = sandbox_create,
    .query = sandbox_query,
    .refund = sandbox_refund,
    .close = sandbox_close,
    .verify = sandbox_verify,
    .answer = sandbox_answer,
};
