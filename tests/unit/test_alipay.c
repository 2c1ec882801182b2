/* Unit tests for src/payments/alipay.c: the text Alipay signs, signing a request, and refusing
 * every notification whose signature, encoding or shape does not hold. The keys are generated
 * here, so a test cannot pass by accident against a fixed fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "payments/alipay.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define BODY_SIZE_MAX  8192

typedef struct keys {
    EVP_PKEY *alipay; /* stands in for Alipay's key pair: signs notifications */
    EVP_PKEY *other;  /* an unrelated key: its signatures must be refused */
} keys;

typedef struct param {
    const char *name;
    const char *value;
} param;

/* A realistic trade notification, without sign and sign_type. */
static const param notification[] = {
    {"gmt_create", "2024-05-01 10:00:00"},
    {"charset", "utf-8"},
    {"gmt_payment", "2024-05-01 10:00:05"},
    {"notify_time", "2024-05-01 10:00:06"},
    {"subject", "话费充值 50元"},
    {"buyer_id", "2088102122524333"},
    {"invoice_amount", "50.00"},
    {"version", "1.0"},
    {"notify_id", "2024050100222100006050001234567890"},
    {"notify_type", "trade_status_sync"},
    {"out_trade_no", "R20240501-0001+a&b=c%d"},
    {"total_amount", "50.00"},
    {"trade_status", "TRADE_SUCCESS"},
    {"trade_no", "2024050122001400000000000001"},
    {"auth_app_id", "2021000000000001"},
    {"receipt_amount", "50.00"},
    {"app_id", "2021000000000001"},
    {"buyer_pay_amount", "50.00"},
    {"seller_id", "2088102000000001"},
};

static int setup(void **state)
{
    keys *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    k->alipay = EVP_RSA_gen(2048);
    k->other = EVP_RSA_gen(2048);
    *state = k;
    return k->alipay && k->other ? 0 : -1;
}

static int teardown(void **state)
{
    keys *k = *state;
    EVP_PKEY_free(k->alipay);
    EVP_PKEY_free(k->other);
    free(k);
    return 0;
}

/* Appends text form-encoded as a browser (and Alipay) does: unreserved bytes as they are, space
 * as '+', everything else %XX. */
static void append_encoded(char *body, const char *text)
{
    size_t length = strlen(body);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        assert_true(length + 4 < BODY_SIZE_MAX);
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            body[length++] = (char)*p;
        else if (*p == ' ')
            body[length++] = '+';
        else
            length += (size_t)snprintf(body + length, 4, "%%%02X", *p);
    }
    body[length] = '\0';
}

static void append_param(char *body, const char *name, const char *value)
{
    if (body[0] != '\0')
        strcat(body, "&");
    append_encoded(body, name);
    strcat(body, "=");
    append_encoded(body, value);
}

static json_t *params_object(const param *params, size_t count)
{
    json_t *object = json_object();
    assert_non_null(object);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(json_object_set_new(object, params[i].name, json_string(params[i].value)),
                         0);
    return object;
}

/* Signs the notification parameters (skipping the one named skip, if any) with key and writes
 * the form body, sign_type=RSA2 and sign last. */
static void signed_body(EVP_PKEY *key, char *body /* OUT */)
{
    json_t *object = params_object(notification, ARRAY_COUNT(notification));
    char *signature = NULL;
    assert_int_equal(alipay_sign_params(object, key, &signature), TOPUP_OK);
    json_decref(object);
    body[0] = '\0';
    for (size_t i = 0; i < ARRAY_COUNT(notification); i++)
        append_param(body, notification[i].name, notification[i].value);
    append_param(body, "sign_type", "RSA2");
    append_param(body, "sign", signature);
    free(signature);
}

/* Replaces the first occurrence of from in body with to. */
static void replace(char *body, const char *from, const char *to)
{
    char *at = strstr(body, from);
    assert_non_null(at);
    size_t from_length = strlen(from);
    size_t to_length = strlen(to);
    assert_true(strlen(body) - from_length + to_length < BODY_SIZE_MAX);
    memmove(at + to_length, at + from_length, strlen(at + from_length) + 1);
    memcpy(at, to, to_length);
}

static void verify(const char *body, EVP_PKEY *key, notify_result *result)
{
    assert_int_equal(alipay_verify_notification(body, strlen(body), key, result), TOPUP_OK);
}

/* Checks that body is refused with a reason containing reason_part; fields as the header says. */
static void assert_refused(const char *body, EVP_PKEY *key, const char *reason_part,
                           bool fields_expected)
{
    notify_result result;
    verify(body, key, &result);
    if (result.genuine)
        fail_msg("accepted: %s", body);
    if (strstr(result.reason, reason_part) == NULL)
        fail_msg("reason \"%s\" does not say \"%s\"", result.reason, reason_part);
    if (fields_expected)
        assert_non_null(result.fields);
    else
        assert_null(result.fields);
    json_decref(result.fields);
}

static void signing_text_is_sorted_without_sign_and_empty_values(void **state)
{
    (void)state;
    static const param request[] = {
        {"timestamp", "2024-05-01 10:00:00"},
        {"method", "alipay.trade.precreate"},
        {"app_id", "2021000000000001"},
        {"sign", "c2lnbmF0dXJl"},
        {"charset", "utf-8"},
        {"app_auth_token", ""},
        {"version", "1.0"},
        {"sign_type", "RSA2"},
        {"biz_content", "{\"out_trade_no\":\"R1\",\"subject\":\"话费充值 50元\"}"},
        {"Zeta", "upper case sorts first"},
    };
    json_t *object = params_object(request, ARRAY_COUNT(request));
    char *text = NULL;
    assert_int_equal(alipay_signing_text(object, &text), TOPUP_OK);
    /* A request's text keeps sign_type (only notifications drop it) and values are raw. */
    assert_string_equal(text, "Zeta=upper case sorts first&app_id=2021000000000001&"
                              "biz_content={\"out_trade_no\":\"R1\",\"subject\":\"话费充值 "
                              "50元\"}&charset=utf-8&method=alipay.trade.precreate&"
                              "sign_type=RSA2&timestamp=2024-05-01 10:00:00&version=1.0");
    free(text);

    /* Values that are not strings have no defined text: refused rather than guessed. */
    assert_int_equal(json_object_set_new(object, "total_amount", json_real(50.0)), 0);
    text = (char *)"untouched";
    assert_int_equal(alipay_signing_text(object, &text), TOPUP_E_INVALID_ARGUMENT);
    assert_null(text);
    json_decref(object);

    json_t *array = json_array();
    assert_int_equal(alipay_signing_text(array, &text), TOPUP_E_INVALID_ARGUMENT);
    json_decref(array);
}

static void signature_is_rsa2_over_the_signing_text(void **state)
{
    keys *k = *state;
    static const param request[] = {{"app_id", "2021000000000001"}, {"method", "m"}};
    json_t *object = params_object(request, ARRAY_COUNT(request));
    char *signature = NULL;
    assert_int_equal(alipay_sign_params(object, k->alipay, &signature), TOPUP_OK);
    json_decref(object);
    /* RSA-2048 signs 256 bytes: 344 Base64 characters. */
    assert_int_equal(strlen(signature), 344);

    unsigned char raw[256 + 2];
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)signature, 344), 258);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    static const char text[] = "app_id=2021000000000001&method=m";
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->alipay), 1);
    assert_int_equal(EVP_DigestVerify(ctx, raw, 256, (const unsigned char *)text, sizeof text - 1),
                     1);
    EVP_MD_CTX_free(ctx);
    free(signature);
}

static void genuine_notification_round_trips(void **state)
{
    keys *k = *state;
    char body[BODY_SIZE_MAX];
    signed_body(k->alipay, body);
    notify_result result;
    verify(body, k->alipay, &result);
    if (!result.genuine)
        fail_msg("refused: %s", result.reason);
    assert_string_equal(result.reason, "");
    assert_non_null(result.fields);
    assert_int_equal(json_object_size(result.fields), ARRAY_COUNT(notification) + 2);
    for (size_t i = 0; i < ARRAY_COUNT(notification); i++)
        assert_string_equal(json_string_value(json_object_get(result.fields, notification[i].name)),
                            notification[i].value);
    assert_string_equal(json_string_value(json_object_get(result.fields, "sign_type")), "RSA2");
    json_decref(result.fields);

    /* Without sign_type the text is the same: Alipay leaves it out of a notification's text. */
    replace(body, "sign_type=RSA2&", "");
    verify(body, k->alipay, &result);
    assert_true(result.genuine);
    json_decref(result.fields);
}

static void tampered_notifications_are_refused(void **state)
{
    keys *k = *state;
    char genuine[BODY_SIZE_MAX];
    signed_body(k->alipay, genuine);
    char body[BODY_SIZE_MAX];

    strcpy(body, genuine);
    replace(body, "total_amount=50.00", "total_amount=5000.00");
    assert_refused(body, k->alipay, "does not verify", true);

    strcpy(body, genuine);
    replace(body, "trade_status=TRADE_SUCCESS&", "");
    assert_refused(body, k->alipay, "does not verify", true);

    /* An added empty parameter is outside the text, but any non-empty one is not. */
    strcpy(body, genuine);
    replace(body, "&sign=", "&refund_fee=&sign=");
    notify_result result;
    verify(body, k->alipay, &result);
    assert_true(result.genuine);
    json_decref(result.fields);
    replace(body, "&refund_fee=&sign=", "&refund_fee=50.00&sign=");
    assert_refused(body, k->alipay, "does not verify", true);

    /* Signed by another key, or checked against another key. */
    signed_body(k->other, body);
    assert_refused(body, k->alipay, "does not verify", true);
    assert_refused(genuine, k->other, "does not verify", true);

    strcpy(body, genuine);
    replace(body, "sign_type=RSA2", "sign_type=RSA");
    assert_refused(body, k->alipay, "not RSA2", true);

    strcpy(body, genuine);
    char *sign = strstr(body, "&sign=");
    assert_non_null(sign);
    *sign = '\0';
    assert_refused(body, k->alipay, "no sign", true);
    strcat(body, "&sign=");
    assert_refused(body, k->alipay, "no sign", true);

    strcpy(body, genuine);
    replace(body, "&sign=", "&sign=%21");
    assert_refused(body, k->alipay, "not Base64", true);
}

static void malformed_bodies_are_refused(void **state)
{
    keys *k = *state;
    char genuine[BODY_SIZE_MAX];
    signed_body(k->alipay, genuine);
    char body[BODY_SIZE_MAX];

    /* A repeated parameter could be read two ways: which one was signed? */
    strcpy(body, genuine);
    replace(body, "total_amount=50.00", "total_amount=50.00&total_amount=5000.00");
    assert_refused(body, k->alipay, "\"total_amount\" is repeated", false);
    strcpy(body, "a=1&sign=x&sign=y");
    assert_refused(body, k->alipay, "\"sign\" is repeated", false);

    /* A name is attacker-chosen: it must not carry a forged log line into the reason. */
    assert_refused("x%0Atopup%3A+ok=1&x%0Atopup%3A+ok=2", k->alipay,
                   "\"(unprintable)\" is repeated", false);

    static const char *const bad_escapes[] = {"%G1", "%4", "%", "%4g", "%00"};
    for (size_t i = 0; i < ARRAY_COUNT(bad_escapes); i++) {
        strcpy(body, genuine);
        char replacement[64];
        snprintf(replacement, sizeof replacement, "total_amount=50.00%s", bad_escapes[i]);
        replace(body, "total_amount=50.00", replacement);
        assert_refused(body, k->alipay, "broken %-escape", false);
    }
    strcpy(body, "a%ZZ=1");
    assert_refused(body, k->alipay, "broken %-escape in its name", false);

    static const char *const not_forms[] = {"a=1&", "&a=1", "a=1&&b=2", "a", "=1", "a=1&b"};
    for (size_t i = 0; i < ARRAY_COUNT(not_forms); i++)
        assert_refused(not_forms[i], k->alipay, "not of the form name=value", false);
    assert_refused("", k->alipay, "empty", false);

    /* GBK (or any non-UTF-8) bytes cannot be what a utf-8 app was sent. */
    assert_refused("subject=%BB%B0%B7%D1&sign=x", k->alipay, "not UTF-8", false);

    /* Bounds: the body and the number of parameters. */
    char *big = malloc(NOTIFY_BODY_SIZE_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', NOTIFY_BODY_SIZE_MAX + 1);
    big[0] = 'b';
    big[1] = '=';
    big[NOTIFY_BODY_SIZE_MAX + 1] = '\0';
    assert_refused(big, k->alipay, "larger than", false);
    big[0] = '\0';
    for (int i = 0; i < 257; i++)
        snprintf(big + strlen(big), 16, "%sp%d=1", i ? "&" : "", i);
    assert_refused(big, k->alipay, "more than 256 parameters", false);
    free(big);
}

static void signing_refuses_a_non_rsa_key(void **state)
{
    (void)state;
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    assert_non_null(ec);
    json_t *object = params_object(notification, 2);
    char *signature = NULL;
    assert_int_equal(alipay_sign_params(object, ec, &signature), TOPUP_E_INVALID_ARGUMENT);
    assert_null(signature);
    json_decref(object);
    EVP_PKEY_free(ec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signing_text_is_sorted_without_sign_and_empty_values),
        cmocka_unit_test(signature_is_rsa2_over_the_signing_text),
        cmocka_unit_test(genuine_notification_round_trips),
        cmocka_unit_test(tampered_notifications_are_refused),
        cmocka_unit_test(malformed_bodies_are_refused),
        cmocka_unit_test(signing_refuses_a_non_rsa_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
