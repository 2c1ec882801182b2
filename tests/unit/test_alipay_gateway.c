/* Unit tests for what the Alipay provider decides without the network: reading a gateway answer
 * and checking its signature over the exact bytes Alipay signed (src/payments/alipay.c), what
 * each answer code means, Beijing time, and reading notifications through the provider
 * (src/payments/alipay_gateway.c). The gateway calls themselves are tested against a fake
 * gateway in tests/payments/alipay-gateway.test.mjs. Keys are generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "payments/alipay.h"
#include "payments/alipay_gateway_int.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define BODY_SIZE_MAX  8192
#define METHOD         "alipay.trade.query"
#define MEMBER         "alipay_trade_query_response"

typedef struct fixture {
    EVP_PKEY *alipay; /* stands in for Alipay's key pair: signs answers and notifications */
    EVP_PKEY *app;    /* the application's key pair */
    EVP_PKEY *other;  /* an unrelated key: its signatures must be refused */
    char dir[64];     /* key files for provider_ops.open */
    char app_private_path[128];
    char alipay_public_path[128];
} fixture;

static void write_pem(const char *path, EVP_PKEY *key, bool is_private, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    if (is_private)
        assert_int_equal(PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_PUBKEY(file, key), 1);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->alipay = EVP_RSA_gen(2048);
    f->app = EVP_RSA_gen(2048);
    f->other = EVP_RSA_gen(2048);
    snprintf(f->dir, sizeof f->dir, "/tmp/topup-alipay-gw-XXXXXX");
    if (!f->alipay || !f->app || !f->other || !mkdtemp(f->dir))
        return -1;
    snprintf(f->app_private_path, sizeof f->app_private_path, "%s/app.pem", f->dir);
    snprintf(f->alipay_public_path, sizeof f->alipay_public_path, "%s/alipay.pem", f->dir);
    write_pem(f->app_private_path, f->app, true, 0600);
    write_pem(f->alipay_public_path, f->alipay, false, 0644);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->app_private_path);
    unlink(f->alipay_public_path);
    rmdir(f->dir);
    EVP_PKEY_free(f->alipay);
    EVP_PKEY_free(f->app);
    EVP_PKEY_free(f->other);
    free(f);
    return 0;
}

/* Base64(SHA256withRSA(text)) with key, into signature. */
static void sign_text(EVP_PKEY *key, const char *text, char *signature /* OUT */,
                      size_t signature_size)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    unsigned char raw[512];
    size_t raw_size = sizeof raw;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, raw, &raw_size, (const unsigned char *)text, strlen(text)),
                     1);
    EVP_MD_CTX_free(ctx);
    assert_true(4 * ((raw_size + 2) / 3) < signature_size);
    EVP_EncodeBlock((unsigned char *)signature, raw, (int)raw_size);
}

/* format with "%s" standing for the signature of signed_text by key, into body. */
static void signed_body(EVP_PKEY *key, const char *signed_text, const char *format,
                        char *body /* OUT */)
{
    char signature[1024];
    sign_text(key, signed_text, signature, sizeof signature);
    int length = snprintf(body, BODY_SIZE_MAX, format, signature);
    assert_true(length > 0 && length < BODY_SIZE_MAX);
}

typedef struct read_outcome {
    topup_result r;
    json_t *response;
    alipay_response_signature signature;
    char reason[160];
} read_outcome;

static read_outcome read_answer(const char *body, EVP_PKEY *key)
{
    read_outcome o;
    o.r = alipay_read_response(body, strlen(body), METHOD, key, &o.response, &o.signature, o.reason,
                               sizeof o.reason);
    return o;
}

static void assert_signed_code(const char *body, EVP_PKEY *key, const char *code)
{
    read_outcome o = read_answer(body, key);
    assert_int_equal(o.r, TOPUP_OK);
    if (o.signature != ALIPAY_RESPONSE_SIGNED)
        fail_msg("not verified (%d, %s): %s", o.signature, o.reason, body);
    assert_non_null(o.response);
    assert_string_equal(json_string_value(json_object_get(o.response, "code")), code);
    json_decref(o.response);
}

static void assert_forged(const char *body, EVP_PKEY *key)
{
    read_outcome o = read_answer(body, key);
    assert_int_equal(o.r, TOPUP_OK);
    if (o.signature != ALIPAY_RESPONSE_FORGED)
        fail_msg("accepted (%d): %s", o.signature, body);
    assert_null(o.response);
    assert_non_null(strstr(o.reason, "signature does not verify"));
}

static void assert_unreadable(const char *body, EVP_PKEY *key, const char *reason_part)
{
    read_outcome o = read_answer(body, key);
    assert_int_equal(o.r, TOPUP_OK);
    assert_null(o.response);
    if (!strstr(o.reason, reason_part))
        fail_msg("reason \"%s\" does not say \"%s\"", o.reason, reason_part);
}

static void answer_signature_covers_the_raw_member_text(void **state)
{
    fixture *f = *state;
    char body[BODY_SIZE_MAX];
    /* Spacing, \u escapes and member order a re-serialisation would all change: the signature
     * covers the bytes as sent, so only reading the raw slice verifies. */
    const char *raw = "{ \"code\" : \"10000\",\"msg\":\"Success\",\"subject\":\"\\u8bdd\\u8d39\","
                      "\"trade_status\":\"TRADE_SUCCESS\" , \"n\": 1.50 }";
    char format[BODY_SIZE_MAX];
    snprintf(format, sizeof format, "{\"" MEMBER "\":%s,\"sign\":\"%%s\"}", raw);
    signed_body(f->alipay, raw, format, body);
    assert_signed_code(body, f->alipay, "10000");

    /* The sign may come first, and whitespace may surround everything. */
    snprintf(format, sizeof format, " {\n\"sign\" : \"%%s\" ,\n  \"" MEMBER "\" :\t%s\n}\n", raw);
    signed_body(f->alipay, raw, format, body);
    assert_signed_code(body, f->alipay, "10000");

    /* Braces and quotes inside strings do not end the member early. */
    const char *tricky = "{\"code\":\"10000\",\"msg\":\"a}\\\"{b]\\\\\",\"x\":[{\"y\":\"}\"}]}";
    snprintf(format, sizeof format, "{\"" MEMBER "\":%s,\"sign\":\"%%s\"}", tricky);
    signed_body(f->alipay, tricky, format, body);
    assert_signed_code(body, f->alipay, "10000");
}

static void a_changed_or_foreign_answer_is_forged(void **state)
{
    fixture *f = *state;
    char body[BODY_SIZE_MAX];
    const char *raw = "{\"code\":\"10000\",\"trade_status\":\"WAIT_BUYER_PAY\"}";
    signed_body(f->alipay, raw,
                "{\"" MEMBER "\":{\"code\":\"10000\",\"trade_status\":"
                "\"TRADE_SUCCESS\"},\"sign\":\"%s\"}",
                body);
    assert_forged(body, f->alipay);
    /* Another key's signature, and a genuine one checked against another key. */
    signed_body(f->other, raw,
                "{\"" MEMBER "\":{\"code\":\"10000\",\"trade_status\":"
                "\"WAIT_BUYER_PAY\"},\"sign\":\"%s\"}",
                body);
    assert_forged(body, f->alipay);
    signed_body(f->alipay, raw,
                "{\"" MEMBER "\":{\"code\":\"10000\",\"trade_status\":"
                "\"WAIT_BUYER_PAY\"},\"sign\":\"%s\"}",
                body);
    assert_forged(body, f->other);
    /* A signature of the same text with a space added is not one of the text. */
    signed_body(f->alipay, "{\"code\":\"10000\", \"trade_status\":\"WAIT_BUYER_PAY\"}",
                "{\"" MEMBER "\":{\"code\":\"10000\",\"trade_status\":\"WAIT_BUYER_PAY\"},"
                "\"sign\":\"%s\"}",
                body);
    assert_forged(body, f->alipay);
    /* Not Base64. */
    assert_forged("{\"" MEMBER "\":{\"code\":\"10000\"},\"sign\":\"!!!!\"}", f->alipay);
}

/* Alipay's own Node SDK finds the signed text with indexOf, so a member of the same name nested
 * inside another value would be taken for it. Only the top-level member counts here. */
static void only_the_top_level_member_is_the_answer(void **state)
{
    fixture *f = *state;
    char body[BODY_SIZE_MAX];
    const char *inner = "{\"code\":\"10000\",\"trade_status\":\"TRADE_SUCCESS\"}";
    const char *outer = "{\"code\":\"40004\",\"sub_code\":\"ACQ.TRADE_NOT_EXIST\"}";
    char format[BODY_SIZE_MAX];
    snprintf(format, sizeof format,
             "{\"decoy\":{\"" MEMBER "\":%s},\"note\":\"\\\"" MEMBER "\\\":\",\"" MEMBER
             "\":%s,\"sign\":\"%%s\"}",
             inner, outer);
    signed_body(f->alipay, outer, format, body);
    assert_signed_code(body, f->alipay, "40004");
    /* The decoy's own signature does not make the top-level member verify. */
    signed_body(f->alipay, inner, format, body);
    assert_forged(body, f->alipay);
}

static void escaped_slashes_verify_either_way(void **state)
{
    fixture *f = *state;
    char body[BODY_SIZE_MAX];
    /* As sent and as signed: the usual case. */
    const char *escaped = "{\"code\":\"10000\",\"qr_code\":\"https:\\/\\/qr.alipay.com\\/bax0\"}";
    char format[BODY_SIZE_MAX];
    snprintf(format, sizeof format, "{\"" MEMBER "\":%s,\"sign\":\"%%s\"}", escaped);
    signed_body(f->alipay, escaped, format, body);
    assert_signed_code(body, f->alipay, "10000");
    /* Signed before '/' was escaped, as Alipay's Java SDK allows for. */
    signed_body(f->alipay, "{\"code\":\"10000\",\"qr_code\":\"https://qr.alipay.com/bax0\"}",
                format, body);
    assert_signed_code(body, f->alipay, "10000");
    read_outcome o = read_answer(body, f->alipay);
    assert_string_equal(json_string_value(json_object_get(o.response, "qr_code")),
                        "https://qr.alipay.com/bax0");
    json_decref(o.response);
    /* An escaped backslash before a slash is not an escaped slash. */
    const char *backslash = "{\"code\":\"10000\",\"p\":\"a\\\\/b\"}";
    snprintf(format, sizeof format, "{\"" MEMBER "\":%s,\"sign\":\"%%s\"}", backslash);
    signed_body(f->alipay, "{\"code\":\"10000\",\"p\":\"a\\/b\"}", format, body);
    assert_forged(body, f->alipay);
}

static void unsigned_and_error_answers(void **state)
{
    fixture *f = *state;
    read_outcome o = read_answer("{\"" MEMBER "\":{\"code\":\"40002\",\"sub_code\":"
                                 "\"isv.invalid-signature\"}}",
                                 f->alipay);
    assert_int_equal(o.r, TOPUP_OK);
    assert_int_equal(o.signature, ALIPAY_RESPONSE_UNSIGNED);
    assert_string_equal(json_string_value(json_object_get(o.response, "code")), "40002");
    json_decref(o.response);

    /* error_response stands in for the method's member when the gateway could not route it. */
    char body[BODY_SIZE_MAX];
    const char *raw = "{\"code\":\"40002\",\"sub_code\":\"isv.invalid-app-id\"}";
    char format[BODY_SIZE_MAX];
    snprintf(format, sizeof format, "{\"error_response\":%s,\"sign\":\"%%s\"}", raw);
    signed_body(f->alipay, raw, format, body);
    assert_signed_code(body, f->alipay, "40002");
}

static void malformed_answers_are_unreadable(void **state)
{
    fixture *f = *state;
    assert_unreadable("", f->alipay, "not a JSON object");
    assert_unreadable("<html>502</html>", f->alipay, "not a JSON object");
    assert_unreadable("[1,2]", f->alipay, "not a JSON object");
    assert_unreadable("{\"" MEMBER "\":{\"code\":\"10000\"}", f->alipay, "not a JSON object");
    /* A repeated member: which copy was signed and which would be read could differ. */
    assert_unreadable("{\"" MEMBER "\":{\"code\":\"40004\"},\"" MEMBER "\":{\"code\":\"10000\"}}",
                      f->alipay, "repeated names");
    assert_unreadable("{\"alipay_trade_close_response\":{\"code\":\"10000\"}}", f->alipay,
                      "no alipay.trade.query_response");
    assert_unreadable("{\"" MEMBER "\":\"10000\"}", f->alipay, "not an object");
    assert_unreadable("{\"" MEMBER "\":{\"code\":\"10000\"},\"sign\":42}", f->alipay,
                      "not a string");
}

static void beijing_time_ignores_the_machine_time_zone(void **state)
{
    (void)state;
    char text[ALIPAY_TIME_SIZE];
    const char *zones[] = {"UTC", "America/Los_Angeles", "Asia/Kolkata"};
    for (size_t i = 0; i < ARRAY_COUNT(zones); i++) {
        setenv("TZ", zones[i], 1);
        tzset();
        alipay_format_beijing_time(0, text);
        assert_string_equal(text, "1970-01-01 08:00:00");
        alipay_format_beijing_time(1714528800, text); /* 2024-05-01T02:00:00Z */
        assert_string_equal(text, "2024-05-01 10:00:00");
        /* 2024-05-01T16:00:00Z: the day has already turned in Beijing. */
        alipay_format_beijing_time(1714579199, text);
        assert_string_equal(text, "2024-05-01 23:59:59");
        alipay_format_beijing_time(1714579200, text);
        assert_string_equal(text, "2024-05-02 00:00:00");
    }
    unsetenv("TZ");
    tzset();
}

static void answer_codes_mean_what_alipay_documents(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        const char *sub_code;
        bool is_signed;
        gateway_status expected;
    } cases[] = {
        {"40004", "ACQ.TRADE_STATUS_ERROR", true, GATEWAY_REFUSED},
        {"40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", true, GATEWAY_REFUSED},
        {"40002", "isv.invalid-signature", true, GATEWAY_REFUSED},
        {"40001", "isv.missing-app-id", true, GATEWAY_REFUSED},
        {"40006", "isv.insufficient-isv-permissions", true, GATEWAY_REFUSED},
        {"20001", "aop.invalid-auth-token", true, GATEWAY_REFUSED},
        /* Alipay asks for the same call again: nothing is known. */
        {"20000", "isp.unknow-error", true, GATEWAY_UNKNOWN},
        {"40004", "ACQ.SYSTEM_ERROR", true, GATEWAY_UNKNOWN},
        {"40004", "ACQ.SYSTEM_ERROR", false, GATEWAY_UNKNOWN},
        /* "Already paid" is no refusal: the money may have been taken. */
        {"40004", "ACQ.TRADE_HAS_SUCCESS", true, GATEWAY_UNKNOWN},
        {"40004", "ACQ.TRADE_HAS_SUCCESS", false, GATEWAY_UNKNOWN},
        {"99999", "", true, GATEWAY_UNKNOWN},
        {"", "", true, GATEWAY_UNKNOWN},
        /* Unsigned: a refusal is believed, nothing else. */
        {"40002", "isv.invalid-signature", false, GATEWAY_REFUSED},
        {"10000", "", false, GATEWAY_UNKNOWN},
        {"10003", "", false, GATEWAY_UNKNOWN},
        {"20000", "", false, GATEWAY_UNKNOWN},
        {"4000", "", false, GATEWAY_UNKNOWN},
        {"4000x", "", false, GATEWAY_UNKNOWN},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        char detail[GATEWAY_DETAIL_SIZE];
        gateway_status status = alipay_answer_failure(cases[i].code, cases[i].sub_code, "",
                                                      cases[i].is_signed, detail, sizeof detail);
        if (status != cases[i].expected)
            fail_msg("%s %s signed %d: %d, not %d (%s)", cases[i].code, cases[i].sub_code,
                     cases[i].is_signed, status, cases[i].expected, detail);
        assert_true(detail[0] != '\0');
    }
}

static void details_stay_printable_utf8(void **state)
{
    (void)state;
    /* A long Chinese sub_msg with a control character: the detail is cut on a character
     * boundary and holds no control characters. */
    char sub_msg[600] = "第一行\n";
    while (strlen(sub_msg) < 500)
        strcat(sub_msg, "交易不存在");
    for (size_t size = 40; size < 80; size++) {
        char detail[80];
        memset(detail, 'x', sizeof detail);
        alipay_answer_failure("40004", "ACQ.TRADE_NOT_EXIST", sub_msg, true, detail, size);
        assert_true(strlen(detail) < size);
        assert_null(strchr(detail, '\n'));
        json_t *string = json_string(detail); /* NULL unless valid UTF-8 */
        if (!string)
            fail_msg("not UTF-8 at size %zu: %s", size, detail);
        json_decref(string);
    }
}

/* ---- the provider: open, verify, answer ------------------------------------------------------ */

static provider *open_provider(const fixture *f)
{
    provider_settings settings = {0};
    settings.enabled = true;
    snprintf(settings.app_id, sizeof settings.app_id, "2021000000000001");
    snprintf(settings.gateway_url, sizeof settings.gateway_url, "http://127.0.0.1:9/gateway.do");
    snprintf(settings.private_key_file, sizeof settings.private_key_file, "%s",
             f->app_private_path);
    snprintf(settings.public_key_file, sizeof settings.public_key_file, "%s",
             f->alipay_public_path);
    settings.timeout_ms = 1000;
    provider *p = NULL;
    char detail[GATEWAY_DETAIL_SIZE] = "";
    topup_result r = alipay_provider_ops.open(&settings, &p, detail, sizeof detail);
    if (r != TOPUP_OK)
        fail_msg("open: %s", detail);
    return p;
}

typedef struct param {
    const char *name;
    const char *value; /* NULL: left out */
} param;

static void append_encoded(char *body, const char *text)
{
    size_t length = strlen(body);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        assert_true(length + 4 < BODY_SIZE_MAX);
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            body[length++] = (char)*p;
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

/* A trade notification with the given fields changed, signed by key as Alipay signs it (the
 * request signing text of the parameters without sign_type is the notification's). */
static void notification_body(EVP_PKEY *key, const param *changes, size_t change_count,
                              char *body /* OUT */)
{
    param params[] = {
        {"notify_time", "2024-05-01 10:00:06"},
        {"notify_type", "trade_status_sync"},
        {"notify_id", "2024050100222100006050001234567890"},
        {"app_id", "2021000000000001"},
        {"charset", "utf-8"},
        {"version", "1.0"},
        {"trade_no", "2024050122001400000000000001"},
        {"out_trade_no", "R20240501-0001"},
        {"total_amount", "50.00"},
        {"receipt_amount", "50.00"},
        {"trade_status", "TRADE_SUCCESS"},
        {"gmt_payment", "2024-05-01 10:00:05"},
        {"subject", "话费充值 50元"},
        {"trans_currency", NULL},
    };
    for (size_t c = 0; c < change_count; c++)
        for (size_t i = 0; i < ARRAY_COUNT(params); i++)
            if (strcmp(params[i].name, changes[c].name) == 0)
                params[i].value = changes[c].value;
    json_t *object = json_object();
    body[0] = '\0';
    for (size_t i = 0; i < ARRAY_COUNT(params); i++) {
        if (!params[i].value)
            continue;
        json_object_set_new(object, params[i].name, json_string(params[i].value));
        append_param(body, params[i].name, params[i].value);
    }
    char *signature = NULL;
    assert_int_equal(alipay_sign_params(object, key, &signature), TOPUP_OK);
    json_decref(object);
    append_param(body, "sign_type", "RSA2");
    append_param(body, "sign", signature);
    free(signature);
}

typedef struct verified {
    notify_result result;
    payment_notice notice;
} verified;

static verified verify_body(provider *p, const char *body)
{
    verified v;
    notify_header header = {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    assert_int_equal(
        alipay_provider_ops.verify(p, &header, 1, body, strlen(body), 0, &v.result, &v.notice),
        TOPUP_OK);
    json_decref(v.result.fields);
    v.result.fields = NULL;
    return v;
}

static verified verify_changed(provider *p, EVP_PKEY *key, const param *changes, size_t count)
{
    char body[BODY_SIZE_MAX];
    notification_body(key, changes, count, body);
    return verify_body(p, body);
}

static void notifications_read_into_a_notice(void **state)
{
    fixture *f = *state;
    provider *p = open_provider(f);
    verified v = verify_changed(p, f->alipay, NULL, 0);
    assert_true(v.result.genuine);
    assert_int_equal(v.notice.kind, NOTICE_PAID);
    assert_string_equal(v.notice.app_id, "2021000000000001");
    assert_string_equal(v.notice.out_trade_no, "R20240501-0001");
    assert_string_equal(v.notice.trade_no, "2024050122001400000000000001");
    assert_int_equal(v.notice.amount_minor, 5000);
    assert_string_equal(v.notice.currency, "CNY");

    const param finished[] = {{"trade_status", "TRADE_FINISHED"}};
    v = verify_changed(p, f->alipay, finished, 1);
    assert_true(v.result.genuine);
    assert_int_equal(v.notice.kind, NOTICE_PAID);

    const param closed[] = {{"trade_status", "TRADE_CLOSED"}, {"total_amount", NULL}};
    v = verify_changed(p, f->alipay, closed, 2);
    assert_true(v.result.genuine);
    assert_int_equal(v.notice.kind, NOTICE_CLOSED);

    const param waiting[] = {{"trade_status", "WAIT_BUYER_PAY"}};
    v = verify_changed(p, f->alipay, waiting, 1);
    assert_true(v.result.genuine);
    assert_int_equal(v.notice.kind, NOTICE_OTHER);

    /* A trade priced in another currency says so, and its amount is read in it. */
    const param yen[] = {{"trans_currency", "JPY"}, {"total_amount", "5000"}};
    v = verify_changed(p, f->alipay, yen, 2);
    assert_true(v.result.genuine);
    assert_string_equal(v.notice.currency, "JPY");
    assert_int_equal(v.notice.amount_minor, 5000);

    /* The app it is for is reported, not judged here: the caller compares it. */
    const param other_app[] = {{"app_id", "2021000000000999"}};
    v = verify_changed(p, f->alipay, other_app, 1);
    assert_true(v.result.genuine);
    assert_string_equal(v.notice.app_id, "2021000000000999");
    alipay_provider_ops.free_(p);
}

static void notifications_that_cannot_be_acted_on_are_refused(void **state)
{
    fixture *f = *state;
    provider *p = open_provider(f);
    static const struct {
        param change;
        const char *reason_part;
    } cases[] = {
        {{"total_amount", NULL}, "total_amount"},
        {{"total_amount", "50.001"}, "total_amount"},
        {{"total_amount", "-50.00"}, "total_amount"},
        {{"total_amount", "5e1"}, "total_amount"},
        {{"trade_no", NULL}, "trade_no"},
        {{"out_trade_no", NULL}, "out_trade_no"},
        {{"trans_currency", "XXQ"}, "currency"},
    };
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        verified v = verify_changed(p, f->alipay, &cases[i].change, 1);
        if (v.result.genuine)
            fail_msg("accepted a notification with %s=%s", cases[i].change.name,
                     cases[i].change.value ? cases[i].change.value : "(none)");
        if (!strstr(v.result.reason, cases[i].reason_part))
            fail_msg("reason \"%s\" does not name %s", v.result.reason, cases[i].reason_part);
        assert_int_equal(v.notice.amount_minor, 0);
        assert_string_equal(v.notice.out_trade_no, "");
    }
    /* Forged: signed by another key. */
    verified v = verify_changed(p, f->other, NULL, 0);
    assert_false(v.result.genuine);
    assert_string_equal(v.notice.out_trade_no, "");
    alipay_provider_ops.free_(p);
}

static void the_answer_is_success_only_when_handled(void **state)
{
    (void)state;
    notify_answer answer;
    alipay_provider_ops.answer(true, "", &answer);
    assert_int_equal(answer.status, 200);
    assert_string_equal(answer.body, "success");
    assert_string_equal(answer.content_type, "text/plain");
    alipay_provider_ops.answer(false, "the database is busy", &answer);
    assert_int_equal(answer.status, 500);
    assert_string_not_equal(answer.body, "success");
}

static void open_names_what_is_wrong(void **state)
{
    fixture *f = *state;
    provider_settings settings = {0};
    snprintf(settings.gateway_url, sizeof settings.gateway_url, "http://127.0.0.1:9/gateway.do");
    snprintf(settings.private_key_file, sizeof settings.private_key_file, "%s",
             f->app_private_path);
    snprintf(settings.public_key_file, sizeof settings.public_key_file, "%s",
             f->alipay_public_path);
    provider *p = NULL;
    char detail[GATEWAY_DETAIL_SIZE];
    assert_int_equal(alipay_provider_ops.open(&settings, &p, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_null(p);
    assert_non_null(strstr(detail, "alipay.app_id"));

    snprintf(settings.app_id, sizeof settings.app_id, "2021000000000001");
    char loose[160];
    snprintf(loose, sizeof loose, "%s/loose.pem", f->dir);
    write_pem(loose, f->app, true, 0640);
    snprintf(settings.private_key_file, sizeof settings.private_key_file, "%s", loose);
    assert_int_equal(alipay_provider_ops.open(&settings, &p, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(detail, "chmod 600"));
    unlink(loose);

    /* A public key file that is not there. */
    snprintf(settings.private_key_file, sizeof settings.private_key_file, "%s",
             f->app_private_path);
    snprintf(settings.public_key_file, sizeof settings.public_key_file, "%s/none.pem", f->dir);
    assert_int_equal(alipay_provider_ops.open(&settings, &p, detail, sizeof detail),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(detail, "alipay.public_key"));
    assert_non_null(strstr(detail, "cannot be read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answer_signature_covers_the_raw_member_text),
        cmocka_unit_test(a_changed_or_foreign_answer_is_forged),
        cmocka_unit_test(only_the_top_level_member_is_the_answer),
        cmocka_unit_test(escaped_slashes_verify_either_way),
        cmocka_unit_test(unsigned_and_error_answers),
        cmocka_unit_test(malformed_answers_are_unreadable),
        cmocka_unit_test(beijing_time_ignores_the_machine_time_zone),
        cmocka_unit_test(answer_codes_mean_what_alipay_documents),
        cmocka_unit_test(details_stay_printable_utf8),
        cmocka_unit_test(notifications_read_into_a_notice),
        cmocka_unit_test(notifications_that_cannot_be_acted_on_are_refused),
        cmocka_unit_test(the_answer_is_success_only_when_handled),
        cmocka_unit_test(open_names_what_is_wrong),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
