/* The provider registry and the small conversions every provider shares. */
#include "payments/provider.h"

#include <string.h>

static const provider_ops *const providers[PROVIDER_COUNT] = {
    [PROVIDER_ALIPAY] = &alipay_provider_ops,
    [PROVIDER_WECHAT] = &wechatpay_provider_ops,
    [PROVIDER_CARD] = &card_provider_ops,
    [PROVIDER_SANDBOX] = &sandbox_provider_ops,
};

/* Stored with each payment and accepted by the API, so a name never changes once released. */
static const char *const method_names[PAY_METHOD_COUNT] = {
    [PAY_METHOD_PAGE] = "page", [PAY_METHOD_WAP] = "wap",   [PAY_METHOD_QR] = "qr",
    [PAY_METHOD_H5] = "h5",     [PAY_METHOD_CODE] = "code", [PAY_METHOD_CHECKOUT] = "checkout",
};

static const char *const trade_state_names[TRADE_STATE_COUNT] = {
    [TRADE_PENDING] = "pending",
    [TRADE_PAID] = "paid",
    [TRADE_CLOSED] = "closed",
    [TRADE_NOT_FOUND] = "not_found",
};

const provider_ops *provider_ops_for(provider_id id)
{
    return (unsigned)id < PROVIDER_COUNT ? providers[id] : NULL;
}

const provider_ops *provider_ops_by_name(const char *name, provider_id *id)
{
    for (int i = 0; name && i < PROVIDER_COUNT; i++) {
        if (strcmp(providers[i]->name, name) == 0) {
            if (id)
                *id = (provider_id)i;
            return providers[i];
        }
    }
    return NULL;
}

const char *pay_method_name(pay_method method)
{
    return (unsigned)method < PAY_METHOD_COUNT ? method_names[method] : "invalid";
}

bool pay_method_parse(const char *name, pay_method *method)
{
    for (int i = 0; name && i < PAY_METHOD_COUNT; i++) {
        if (strcmp(method_names[i], name) == 0) {
            *method = (pay_method)i;
            return true;
        }
    }
    return false;
}

const char *trade_state_name(trade_state state)
{
    return (unsigned)state < TRADE_STATE_COUNT ? trade_state_names[state] : "invalid";
}

topup_result provider_amount_parse(const char *text, const char *currency, int64_t *amount_minor)
{
    if (!text || !currency)
        return TOPUP_E_INVALID_ARGUMENT;
    return money_parse(text, currency, amount_minor);
}

/* A failure can only come from an unknown currency or a short buffer; the text is then empty,
 * which no provider accepts as an amount, so the request is refused rather than mis-priced. */
void provider_amount_format(int64_t amount_minor, const char *currency, char *text,
                            size_t text_size)
{
    if (money_format(amount_minor, currency, text, text_size) != TOPUP_OK && text_size > 0)
        text[0] = '\0';
}
