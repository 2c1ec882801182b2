/* Unit tests for src/payments/card.c: Stripe-style webhook signatures. The known-answer vector
 * was computed outside topup, with OpenSSL's command line, so a round trip that is consistently
 * wrong (wrong message layout, upper-case hex, wrong key) still fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "payments/card.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SECRET "whsec_test_secret"
#define NOW    INT64_C(1700000000)
#define EVENT                                                                                      \
    "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"checkout.session.completed\","              \
    "\"data\":{\"object\":{\"amount_total\":5000,\"currency\":\"cny\","                            \
    "\"metadata\":{\"order_id\":\"ord_42\"}}}}"

/* Computed once with:
 *   printf '%s' '1700000000.{"id":"evt_1","object":"event"}' \
 *     | openssl dgst -sha256 -hmac 'whsec_test_secret'
 */
#define KAT_BODY      "{\"id\":\"evt_1\",\"object\":\"event\"}"
#define KAT_SIGNATURE "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"

/* The v1 value card_sign_webhook gives for body at timestamp, copied into v1 (65 bytes). */
static void sign_v1(const char *body, const char *secret, int64_t timestamp, char *v1)
{
    char *header = NULL;
    assert_int_equal(card_sign_webhook(body, strlen(body), secret, timestamp, &header), TOPUP_OK);
    const char *value = strstr(header, ",v1=");
    assert_non_null(value);
    assert_int_equal(strlen(value + 4), 64);
    memcpy(v1, value + 4, 65);
    free(header);
}

/* Verifies body under header with the default tolerance at NOW; returns the result. */
static notify_result verify(const char *header, const char *body, const char *secret)
{
    notify_result result;
    memset(&result, 0x5a, sizeof result); /* no field may be left as it was */
    assert_int_equal(card_verify_webhook(header, body, strlen(body), secret, NOW,
                                         CARD_WEBHOOK_TOLERANCE_S, &result),
                     TOPUP_OK);
    return result;
}

static void assert_genuine(notify_result *result)
{
    if (!result->genuine)
        fail_msg("refused: %s", result->reason);
    assert_string_equal(result->reason, "");
    assert_non_null(result->fields);
    assert_true(json_is_object(result->fields));
    json_decref(result->fields);
}

/* Refused, with a reason that contains because, and nothing of the body read. */
static void assert_refused(notify_result *result, const char *because, const char *what)
{
    if (result->genuine)
        fail_msg("%s: accepted", what);
    assert_null(result->fields);
    if (!strstr(result->reason, because))
        fail_msg("%s: reason \"%s\" does not say \"%s\"", what, result->reason, because);
}

static void sign_then_verify_round_trips(void **state)
{
    (void)state;
    char *header = NULL;
    assert_int_equal(card_sign_webhook(EVENT, strlen(EVENT), SECRET, NOW, &header), TOPUP_OK);
    assert_non_null(header);
    assert_memory_equal(header, "t=1700000000,v1=", 16);
    assert_int_equal(strlen(header), 16 + 64);
    notify_result result = verify(header, EVENT, SECRET);
    assert_true(result.genuine);
    const char *order_id = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(result.fields, "data"), "object"),
                        "metadata"),
        "order_id"));
    assert_non_null(order_id);
    assert_string_equal(order_id, "ord_42");
    assert_genuine(&result);
    free(header);
}

static void known_answer_vector(void **state)
{
    (void)state;
    char *header = NULL;
    assert_int_equal(card_sign_webhook(KAT_BODY, strlen(KAT_BODY), SECRET, NOW, &header), TOPUP_OK);
    assert_string_equal(header, "t=1700000000,v1=" KAT_SIGNATURE);
    free(header);
    notify_result result = verify("t=1700000000,v1=" KAT_SIGNATURE, KAT_BODY, SECRET);
    assert_genuine(&result);
}

static void one_valid_v1_among_several_is_enough(void **state)
{
    (void)state;
    char good[65], other[65], header[512];
    sign_v1(EVENT, SECRET, NOW, good);
    sign_v1(EVENT, "whsec_old_secret", NOW, other); /* as during a secret rotation */
    const char *layouts[] = {
        "t=%1$lld,v1=%2$s,v1=%3$s",
        "v1=%3$s,t=%1$lld,v1=%2$s",
        "t=%1$lld,v1=%2$s,v0=%2$s,v1=deadbeef,v1=%3$s",
        "t=%1$lld%2$.0s,v1=%3$s,v2=xyz,scheme9=anything",
    };
    for (size_t i = 0; i < ARRAY_COUNT(layouts); i++) {
        snprintf(header, sizeof header, layouts[i], (long long)NOW, other, good);
        notify_result result = verify(header, EVENT, SECRET);
        if (!result.genuine)
            fail_msg("%s refused: %s", header, result.reason);
        assert_genuine(&result);
    }
    /* The same headers without the good one are refused. */
    snprintf(header, sizeof header, "t=%lld,v1=%s,v1=%s,v0=%s", (long long)NOW, other, other, good);
    notify_result result = verify(header, EVENT, SECRET);
    assert_refused(&result, "no v1 signature matches", header);
}

static void tampered_body_is_refused(void **state)
{
    (void)state;
    char *header = NULL;
    assert_int_equal(card_sign_webhook(EVENT, strlen(EVENT), SECRET, NOW, &header), TOPUP_OK);
    char tampered[] = EVENT;
    char *amount = strstr(tampered, "5000");
    assert_non_null(amount);
    amount[0] = '9';
    notify_result result = verify(header, tampered, SECRET);
    assert_refused(&result, "no v1 signature matches", "tampered body");
    /* A body that is one byte longer or shorter is just as wrong. */
    result = verify(header, EVENT " ", SECRET);
    assert_refused(&result, "no v1 signature matches", "trailing space");
    free(header);
}

static void wrong_secret_is_refused(void **state)
{
    (void)state;
    char *header = NULL;
    assert_int_equal(card_sign_webhook(EVENT, strlen(EVENT), SECRET, NOW, &header), TOPUP_OK);
    notify_result result = verify(header, EVENT, "whsec_test_secreT");
    assert_refused(&result, "no v1 signature matches", "wrong secret");
    result = verify(header, EVENT, SECRET "x");
    assert_refused(&result, "no v1 signature matches", "longer secret");
    free(header);
}

static void timestamps_outside_the_tolerance_are_refused(void **state)
{
    (void)state;
    char v1[65], header[128];
    static const struct {
        int64_t offset_s;
        const char *reason; /* NULL: accepted */
    } cases[] = {
        {-301, "in the past"},
        {-300, NULL},
        {0, NULL},
        {300, NULL},
        {301, "in the future"},
        {-NOW, "in the past"},
        {INT64_C(100000000000), "in the future"},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        int64_t timestamp = NOW + cases[i].offset_s;
        sign_v1(EVENT, SECRET, timestamp, v1);
        snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)timestamp, v1);
        notify_result result = verify(header, EVENT, SECRET);
        if (cases[i].reason)
            assert_refused(&result, cases[i].reason, header);
        else
            assert_genuine(&result);
    }
    /* A signature for one time does not hold for another: t is signed too. */
    sign_v1(EVENT, SECRET, NOW - 301, v1);
    snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)NOW, v1);
    notify_result result = verify(header, EVENT, SECRET);
    assert_refused(&result, "no v1 signature matches", "re-dated");
    /* A tolerance of 0 means the same second only. */
    sign_v1(EVENT, SECRET, NOW - 1, v1);
    snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)(NOW - 1), v1);
    assert_int_equal(card_verify_webhook(header, EVENT, strlen(EVENT), SECRET, NOW, 0, &result),
                     TOPUP_OK);
    assert_refused(&result, "in the past", "tolerance 0");
}

static void missing_t_or_v1_is_refused(void **state)
{
    (void)state;
    char v1[65], header[256];
    sign_v1(EVENT, SECRET, NOW, v1);
    snprintf(header, sizeof header, "v1=%s", v1);
    notify_result result = verify(header, EVENT, SECRET);
    assert_refused(&result, "no timestamp", header);

    snprintf(header, sizeof header, "t=%lld", (long long)NOW);
    result = verify(header, EVENT, SECRET);
    assert_refused(&result, "has no v1 signature", header);

    /* A v0 with the right value is still not a v1. */
    snprintf(header, sizeof header, "t=%lld,v0=%s", (long long)NOW, v1);
    result = verify(header, EVENT, SECRET);
    assert_refused(&result, "has no v1 signature", header);
}

static void malformed_v1_values_never_match(void **state)
{
    (void)state;
    char v1[65], upper[65], header[256];
    sign_v1(EVENT, SECRET, NOW, v1);
    for (size_t i = 0; i < 65; i++)
        upper[i] = (v1[i] >= 'a' && v1[i] <= 'f') ? (char)(v1[i] - 'a' + 'A') : v1[i];
    const char *formats[] = {
        "t=%lld,v1=%.63s", /* one digit short */
        "t=%lld,v1=%s0",   /* one digit long */
        "t=%lld,v1=",      /* empty */
        "t=%lld,v1=%s ",   /* trailing space */
    };
    for (size_t i = 0; i < ARRAY_COUNT(formats); i++) {
        snprintf(header, sizeof header, formats[i], (long long)NOW, v1);
        notify_result result = verify(header, EVENT, SECRET);
        assert_refused(&result, "no v1 signature matches", header);
    }
    if (strcmp(upper, v1) != 0) { /* the hex has a letter in it: upper-case is not lower-case */
        snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)NOW, upper);
        notify_result result = verify(header, EVENT, SECRET);
        assert_refused(&result, "no v1 signature matches", header);
    }
}

static void garbage_headers_are_refused(void **state)
{
    (void)state;
    char v1[65], header[256];
    sign_v1(EVENT, SECRET, NOW, v1);
    static const struct {
        const char *format; /* %1$s is the genuine v1 */
        const char *reason;
    } cases[] = {
        {"", "not key=value"},
        {"garbage", "not key=value"},
        {"%1$s", "not key=value"},
        {",", "not key=value"},
        {"t=1700000000,v1=%1$s,", "not key=value"},
        {",t=1700000000,v1=%1$s", "not key=value"},
        {"t=1700000000,,v1=%1$s", "not key=value"},
        {"t=1700000000, v1=%1$s", "not key=value"},
        {"t=1700000000,=%1$s", "not key=value"},
        {"T=1700000000,v1=%1$s", "not key=value"},
        {"t=1700000000;v1=%1$s", "not decimal seconds"},
        {"t=,v1=%1$s", "not decimal seconds"},
        {"t=abc,v1=%1$s", "not decimal seconds"},
        {"t=-1700000000,v1=%1$s", "not decimal seconds"},
        {"t=+1700000000,v1=%1$s", "not decimal seconds"},
        {"t=01700000000,v1=%1$s", "not decimal seconds"},
        {"t=1700000000 ,v1=%1$s", "not decimal seconds"},
        {"t=1700000000.0,v1=%1$s", "not decimal seconds"},
        {"t=99999999999999999999999,v1=%1$s", "not decimal seconds"},
        {"t=1700000000,t=1700000000,v1=%1$s", "more than one timestamp"},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        snprintf(header, sizeof header, cases[i].format, v1);
        notify_result result = verify(header, EVENT, SECRET);
        assert_refused(&result, cases[i].reason, header);
    }
}

static void oversized_header_and_body_are_refused(void **state)
{
    (void)state;
    char v1[65];
    sign_v1(EVENT, SECRET, NOW, v1);

    /* 8 KiB of header: a genuine signature padded with an ignored scheme. */
    size_t size = 9000;
    char *header = malloc(size + 1);
    assert_non_null(header);
    int prefix = snprintf(header, size + 1, "t=%lld,v1=%s,x=", (long long)NOW, v1);
    memset(header + prefix, 'a', size - (size_t)prefix);
    header[size] = '\0';
    notify_result result = verify(header, EVENT, SECRET);
    assert_refused(&result, "longer than", "9000-byte header");
    header[4000] = '\0'; /* the same header under the bound is fine */
    result = verify(header, EVENT, SECRET);
    assert_genuine(&result);

    /* Too many items, each harmless. */
    int length = snprintf(header, size + 1, "t=%lld,v1=%s", (long long)NOW, v1);
    for (int i = 0; i < 40; i++)
        length += snprintf(header + length, size + 1 - (size_t)length, ",v0=%d", i);
    result = verify(header, EVENT, SECRET);
    assert_refused(&result, "more than", "42 items");
    free(header);

    /* A body over NOTIFY_BODY_SIZE_MAX, correctly signed, is refused unread. */
    size_t body_size = NOTIFY_BODY_SIZE_MAX + 1;
    char *body = malloc(body_size + 1);
    assert_non_null(body);
    memset(body, ' ', body_size);
    body[0] = '{';
    body[body_size - 1] = '}';
    body[body_size] = '\0';
    char signature[128];
    sign_v1(body, SECRET, NOW, v1);
    snprintf(signature, sizeof signature, "t=%lld,v1=%s", (long long)NOW, v1);
    assert_int_equal(card_verify_webhook(signature, body, body_size, SECRET, NOW,
                                         CARD_WEBHOOK_TOLERANCE_S, &result),
                     TOPUP_OK);
    assert_refused(&result, "larger than", "64 KiB + 1 body");
    /* One byte less is within the bound and accepted: the last NOTIFY_BODY_SIZE_MAX bytes. */
    body[1] = '{';
    sign_v1(body + 1, SECRET, NOW, v1);
    snprintf(signature, sizeof signature, "t=%lld,v1=%s", (long long)NOW, v1);
    assert_int_equal(card_verify_webhook(signature, body + 1, body_size - 1, SECRET, NOW,
                                         CARD_WEBHOOK_TOLERANCE_S, &result),
                     TOPUP_OK);
    assert_genuine(&result);
    free(body);
}

static void signed_body_must_be_a_json_object(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "[1,2,3]", "\"event\"",         "42",    "null", "{\"id\":1", "not json",
        "",        "{\"a\":1,\"a\":2}", "{} {}",
    };
    char v1[65], header[128];
    for (size_t i = 0; i < ARRAY_COUNT(bodies); i++) {
        sign_v1(bodies[i], SECRET, NOW, v1);
        snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)NOW, v1);
        notify_result result = verify(header, bodies[i], SECRET);
        assert_refused(&result, "not a JSON object", bodies[i]);
    }
    /* Verify first, parse second: an unsigned non-JSON body is refused for its signature. */
    sign_v1(EVENT, SECRET, NOW, v1);
    snprintf(header, sizeof header, "t=%lld,v1=%s", (long long)NOW, v1);
    notify_result result = verify(header, "not json", SECRET);
    assert_refused(&result, "no v1 signature matches", "unsigned non-JSON");
}

static void bad_arguments_are_errors_not_refusals(void **state)
{
    (void)state;
    notify_result result;
    char unchanged = 'u';
    char *header = &unchanged;
    assert_int_equal(card_verify_webhook(NULL, "{}", 2, SECRET, NOW, 300, &result),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(card_verify_webhook("t=1,v1=00", NULL, 2, SECRET, NOW, 300, &result),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(card_verify_webhook("t=1,v1=00", "{}", 2, NULL, NOW, 300, &result),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(card_verify_webhook("t=1,v1=00", "{}", 2, "", NOW, 300, &result),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(card_verify_webhook("t=1,v1=00", "{}", 2, SECRET, NOW, -1, &result),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_false(result.genuine);
    assert_null(result.fields);
    assert_int_equal(card_sign_webhook("{}", 2, "", NOW, &header), TOPUP_E_INVALID_ARGUMENT);
    assert_null(header);
    assert_int_equal(card_sign_webhook("{}", 2, SECRET, -1, &header), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(card_sign_webhook(NULL, 2, SECRET, NOW, &header), TOPUP_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sign_then_verify_round_trips),
        cmocka_unit_test(known_answer_vector),
        cmocka_unit_test(one_valid_v1_among_several_is_enough),
        cmocka_unit_test(tampered_body_is_refused),
        cmocka_unit_test(wrong_secret_is_refused),
        cmocka_unit_test(timestamps_outside_the_tolerance_are_refused),
        cmocka_unit_test(missing_t_or_v1_is_refused),
        cmocka_unit_test(malformed_v1_values_never_match),
        cmocka_unit_test(garbage_headers_are_refused),
        cmocka_unit_test(oversized_header_and_body_are_refused),
        cmocka_unit_test(signed_body_must_be_a_json_object),
        cmocka_unit_test(bad_arguments_are_errors_not_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
