#include "sms/templates.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/money.h"

typedef struct template {
    const char *event;
    const char *zh;
    const char *en;
} template;

/* The operator's SMS signature 【话费充值】 leads every Chinese text, as carriers require. */
static const template templates[] = {
    {"recharge_succeeded",
     "【话费充值】您的号码{number}已成功充值{amount}，当前余额{balance}，有效期至{valid_until}。"
     "订单号{order}，{time}。",
     "Your number {number} was recharged with {amount}. Balance {balance}, valid until "
     "{valid_until}. Order {order}, {time}."},
    {"recharge_refunded",
     "【话费充值】您为号码{number}支付的{amount}未能充值，已原路退回。订单号{order}，{time}。",
     "The {amount} you paid for {number} could not be credited and has been refunded. Order "
     "{order}, {time}."},
    {"payment_received",
     "【话费充值】已收到您为号码{number}支付的{amount}，正在为您充值。订单号{order}。",
     "We received your payment of {amount} for {number} and are recharging it. Order {order}."},
    {"otp", "【话费充值】您的验证码是{code}，{minutes}分钟内有效，请勿告诉他人。",
     "Your verification code is {code}. It is valid for {minutes} minutes. Do not share it."},
    {"low_balance", "【话费充值】您的号码{number}余额为{balance}，请及时充值。",
     "The balance of {number} is {balance}. Please recharge soon."},
};

#define TEMPLATE_COUNT (sizeof templates / sizeof templates[0])

static const template *template_for(const char *event)
{
    for (size_t i = 0; event && i < TEMPLATE_COUNT; i++)
        if (strcmp(templates[i].event, event) == 0)
            return &templates[i];
    return NULL;
}

bool sms_event_known(const char *event)
{
    return template_for(event) != NULL;
}

bool sms_lang_known(const char *lang)
{
    return lang && (strcmp(lang, "zh-CN") == 0 || strcmp(lang, "en") == 0);
}

const char *const *sms_event_names(void)
{
    static const char *names[TEMPLATE_COUNT + 1];
    for (size_t i = 0; i < TEMPLATE_COUNT; i++)
        names[i] = templates[i].event;
    names[TEMPLATE_COUNT] = NULL;
    return names;
}

void sms_mask_number(const char *e164, char *masked, size_t masked_size)
{
    size_t length = strlen(e164);
    snprintf(masked, masked_size, "%s", e164);
    if (length < 10 || length >= masked_size)
        return;
    memset(masked + length - 8, '*', 4);
}

/* Money as people read it: "100.00元" in Chinese for yuan, "CNY 100.00" otherwise. */
static bool format_money(const json_t *facts, const char *key, bool chinese, char *out,
                         size_t out_size)
{
    const json_t *amount = json_object_get(facts, key);
    const char *currency = json_string_value(json_object_get(facts, "currency"));
    char number[MONEY_TEXT_SIZE_MAX];
    if (!json_is_integer(amount) || !currency ||
        money_format(json_integer_value(amount), currency, number, sizeof number) != TOPUP_OK)
        return false;
    if (chinese && strcmp(currency, "CNY") == 0)
        snprintf(out, out_size, "%s元", number);
    else
        snprintf(out, out_size, "%s %s", currency, number);
    return true;
}

static bool format_time(const json_t *facts, const char *key, bool date_only, bool chinese,
                        int offset_minutes, char *out, size_t out_size)
{
    const json_t *value = json_object_get(facts, key);
    if (!json_is_integer(value))
        return false;
    time_t shown = (time_t)(json_integer_value(value) + (json_int_t)offset_minutes * 60);
    struct tm tm;
    if (!gmtime_r(&shown, &tm))
        return false;
    const char *format = date_only ? (chinese ? "%Y年%m月%d日" : "%Y-%m-%d")
                                   : (chinese ? "%Y年%m月%d日 %H:%M" : "%Y-%m-%d %H:%M");
    return strftime(out, out_size, format, &tm) > 0;
}

/* The text of one placeholder; false (with detail) when its fact is missing or malformed. */
static bool placeholder(const char *name, size_t name_length, const json_t *facts, bool chinese,
                        int offset_minutes, char *out, size_t out_size)
{
#define IS(literal) (name_length == sizeof literal - 1 && memcmp(name, literal, name_length) == 0)
    if (IS("number")) {
        const char *msisdn = json_string_value(json_object_get(facts, "msisdn"));
        if (!msisdn)
            return false;
        sms_mask_number(msisdn, out, out_size);
        return true;
    }
    if (IS("amount"))
        return format_money(facts, "amount_minor", chinese, out, out_size);
    if (IS("balance"))
        return format_money(facts, "balance_minor", chinese, out, out_size);
    if (IS("valid_until"))
        return format_time(facts, "valid_until", true, chinese, offset_minutes, out, out_size);
    if (IS("time"))
        return format_time(facts, "at", false, chinese, offset_minutes, out, out_size);
    const char *key = IS("order") ? "order_id" : IS("code") ? "code" : IS("minutes") ? "minutes"
                                                                                      : NULL;
    const json_t *value = key ? json_object_get(facts, key) : NULL;
    if (json_is_integer(value)) {
        snprintf(out, out_size, "%lld", (long long)json_integer_value(value));
        return true;
    }
    if (json_is_string(value)) {
        snprintf(out, out_size, "%s", json_string_value(value));
        return true;
    }
    return false;
#undef IS
}

topup_result sms_render(const char *event, const char *lang, const char *facts_json,
                        int utc_offset_minutes, char *text, size_t text_size, char *detail,
                        size_t detail_size)
{
    const template *t = template_for(event);
    detail[0] = '\0';
    if (!t || !sms_lang_known(lang)) {
        snprintf(detail, detail_size, "no template for event '%s' in language '%s'",
                 event ? event : "", lang ? lang : "");
        return TOPUP_E_INVALID_ARGUMENT;
    }
    json_t *facts = json_loads(facts_json ? facts_json : "", 0, NULL);
    if (!json_is_object(facts)) {
        json_decref(facts);
        snprintf(detail, detail_size, "the facts are not a JSON object");
        return TOPUP_E_INVALID_ARGUMENT;
    }
    bool chinese = strcmp(lang, "zh-CN") == 0;
    const char *in = chinese ? t->zh : t->en;
    size_t used = 0;
    topup_result r = TOPUP_OK;
    while (*in && r == TOPUP_OK) {
        const char *close = *in == '{' ? strchr(in, '}') : NULL;
        char piece[256];
        if (close) {
            if (!placeholder(in + 1, (size_t)(close - in - 1), facts, chinese, utc_offset_minutes,
                             piece, sizeof piece)) {
                snprintf(detail, detail_size, "the fact for {%.*s} is missing or malformed",
                         (int)(close - in - 1), in + 1);
                r = TOPUP_E_INVALID_ARGUMENT;
                break;
            }
            in = close + 1;
        } else {
            piece[0] = *in++;
            piece[1] = '\0';
        }
        size_t length = strlen(piece);
        if (used + length >= text_size) {
            snprintf(detail, detail_size, "the text is longer than %zu bytes", text_size - 1);
            r = TOPUP_E_INVALID_ARGUMENT;
            break;
        }
        memcpy(text + used, piece, length);
        used += length;
    }
    text[used] = '\0';
    json_decref(facts);
    return r;
}

int sms_recharge_facts(const char *msisdn, int64_t amount_minor, const char *currency,
                       int64_t balance_minor, int64_t valid_until, int64_t order_id, int64_t at,
                       char *facts, size_t facts_size)
{
    /* Every value is a number or a validated E.164/currency code: nothing needs escaping. */
    return snprintf(facts, facts_size,
                    "{\"msisdn\":\"%s\",\"amount_minor\":%lld,\"currency\":\"%s\","
                    "\"balance_minor\":%lld,\"valid_until\":%lld,\"order_id\":%lld,\"at\":%lld}",
                    msisdn, (long long)amount_minor, currency, (long long)balance_minor,
                    (long long)valid_until, (long long)order_id, (long long)at);
}
