/* Unit tests for src/payments/wechatpay_gateway.c through wechatpay_provider_ops: what open
 * refuses and says, what a genuine payment notification becomes (and which ones are refused
 * although signed), and the answers WeChat Pay gets back. Keys, files, signatures and
 * ciphertexts are made here with OpenSSL directly; the calls to the gateway itself are tested
 * against the fake gateway (tests/payments/wechatpay-gateway.test.mjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "payments/provider.h"

#define NOW       INT64_C(1700000000)
#define SERIAL    "PUB_KEY_ID_0119000091912025110500000000000001"
#define APIV3_KEY "0123456789abcdefghijklmnopqrstuv" /* 32 bytes */
#define MCHID     "1900009191"
#define APPID     "wxd678efh567hg6787"

static const provider_ops *ops = &wechatpay_provider_ops;
static EVP_PKEY *platform_key; /* WeChat Pay's: signs notifications */
static char dir[64];
static char merchant_file[128], platform_file[128], apiv3_file[128];

/* ---- files and keys ----------------------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void write_key(const char *path, EVP_PKEY *key, bool private_key, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    int ok = private_key ? PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_PUBKEY(file, key);
    assert_int_equal(ok, 1);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int files_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/topup-wechat-gateway-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    EVP_PKEY *merchant_key = EVP_RSA_gen(2048);
    platform_key = EVP_RSA_gen(2048);
    if (!merchant_key || !platform_key)
        return -1;
    snprintf(merchant_file, sizeof merchant_file, "%s/apiclient_key.pem", dir);
    snprintf(platform_file, sizeof platform_file, "%s/wechatpay_public.pem", dir);
    snprintf(apiv3_file, sizeof apiv3_file, "%s/apiv3.key", dir);
    write_key(merchant_file, merchant_key, true, 0600);
    write_key(platform_file, platform_key, false, 0644);
    write_file(apiv3_file, APIV3_KEY "\n", 0600);
    EVP_PKEY_free(merchant_key);
    return 0;
}

static int files_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(platform_key);
    static const char *const names[] = {"apiclient_key.pem", "wechatpay_public.pem", "apiv3.key",
                                        "loose.key", "short.key"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

static provider_settings settings(void)
{
    provider_settings s = {.enabled = true, .timeout_ms = 1000};
    snprintf(s.gateway_url, sizeof s.gateway_url, "https://api.mch.weixin.qq.com/");
    snprintf(s.app_id, sizeof s.app_id, APPID);
    snprintf(s.merchant_id, sizeof s.merchant_id, MCHID);
    snprintf(s.merchant_serial, sizeof s.merchant_serial, "3775B6A45ACD588826D15E583A95F5DD");
    snprintf(s.private_key_file, sizeof s.private_key_file, "%s", merchant_file);
    snprintf(s.public_key_file, sizeof s.public_key_file, "%s", platform_file);
    snprintf(s.public_key_serial, sizeof s.public_key_serial, SERIAL);
    snprintf(s.secret_file, sizeof s.secret_file, "%s", apiv3_file);
    snprintf(s.notify_url, sizeof s.notify_url, "https://topup.example.com/v1/notify/wechat");
    return s;
}

static provider *open_provider(void)
{
    provider_settings s = settings();
    provider *p = NULL;
    char detail[GATEWAY_DETAIL_SIZE] = "";
    assert_int_equal(ops->open(&s, &p, detail, sizeof detail), TOPUP_OK);
    assert_non_null(p);
    return p;
}

/* Opens with s, expecting a refusal whose detail contains each of the words. */
static void assert_open_refused(const provider_settings *s, const char *word, const char *word2)
{
    provider *p = (provider *)1;
    char detail[GATEWAY_DETAIL_SIZE] = "";
    assert_int_equal(ops->open(s, &p, detail, sizeof detail), TOPUP_E_INVALID_ARGUMENT);
    assert_null(p);
    if (!strstr(detail, word) || (word2 && !strstr(detail, word2)))
        fail_msg("detail '%s' does not say '%s'%s%s", detail, word, word2 ? " and " : "",
                 word2 ? word2 : "");
}

/* ---- open ---------------------------------------------------------------------------------- */

static void open_accepts_complete_settings(void **state)
{
    (void)state;
    ops->free_(open_provider());
    ops->free_(NULL);
    assert_true(ops->methods & PAY_METHOD_BIT(PAY_METHOD_QR));
    assert_true(ops->methods & PAY_METHOD_BIT(PAY_METHOD_H5));
    assert_false(ops->methods & PAY_METHOD_BIT(PAY_METHOD_PAGE));
}

static void open_names_each_missing_setting(void **state)
{
    (void)state;
    static const struct {
        size_t offset;
        const char *key;
    } fields[] = {
        {offsetof(provider_settings, gateway_url), "wechat.gateway"},
        {offsetof(provider_settings, app_id), "wechat.app_id"},
        {offsetof(provider_settings, merchant_id), "wechat.merchant_id"},
        {offsetof(provider_settings, merchant_serial), "wechat.merchant_serial"},
        {offsetof(provider_settings, private_key_file), "wechat.private_key"},
        {offsetof(provider_settings, public_key_file), "wechat.public_key"},
        {offsetof(provider_settings, public_key_serial), "wechat.public_key_serial"},
        {offsetof(provider_settings, secret_file), "wechat.secret"},
        {offsetof(provider_settings, notify_url), "wechat.notify_url"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        provider_settings s = settings();
        ((char *)&s)[fields[i].offset] = '\0';
        assert_open_refused(&s, fields[i].key, "not set");
    }
}

static void open_refuses_readable_keys_and_wrong_apiv3_key(void **state)
{
    (void)state;
    char loose[160];
    snprintf(loose, sizeof loose, "%s/loose.key", dir);
    write_file(loose, APIV3_KEY "\n", 0640);
    provider_settings s = settings();
    snprintf(s.secret_file, sizeof s.secret_file, "%s", loose);
    assert_open_refused(&s, "wechat.secret", "chmod 600");

    char short_key[160];
    snprintf(short_key, sizeof short_key, "%s/short.key", dir);
    write_file(short_key, "0123456789abcdefghijklmnopqrstu\n", 0600);
    snprintf(s.secret_file, sizeof s.secret_file, "%s", short_key);
    assert_open_refused(&s, "holds 31 bytes", "32");

    s = settings();
    chmod(merchant_file, 0644);
    assert_open_refused(&s, "wechat.private_key", "chmod 600");
    chmod(merchant_file, 0600);

    /* The platform key is public: its mode does not matter, its content does. */
    snprintf(s.public_key_file, sizeof s.public_key_file, "%s", apiv3_file);
    assert_open_refused(&s, "wechat.public_key", "public key or certificate");
    snprintf(s.public_key_file, sizeof s.public_key_file, "%s/missing.pem", dir);
    assert_open_refused(&s, "wechat.public_key", "cannot be read");
}

static void open_refuses_plain_http_and_unsafe_identifiers(void **state)
{
    (void)state;
    provider_settings s = settings();
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://api.mch.weixin.qq.com");
    assert_open_refused(&s, "wechat.gateway", "https");
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://localhost.example.com");
    assert_open_refused(&s, "wechat.gateway", "https");
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://127.0.0.1:8080");
    provider *p = NULL;
    char detail[GATEWAY_DETAIL_SIZE];
    assert_int_equal(ops->open(&s, &p, detail, sizeof detail), TOPUP_OK);
    ops->free_(p);

    s = settings();
    snprintf(s.merchant_id, sizeof s.merchant_id, "1900\",x=\"1");
    assert_open_refused(&s, "wechat.merchant_id", "[0-9A-Za-z_-]");
}

/* ---- notifications ------------------------------------------------------------------------- */

static char *b64_encode(const unsigned char *data, size_t size)
{
    char *out = malloc(4 * ((size + 2) / 3) + 1);
    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)size);
    return out;
}

/* AES-256-GCM of plaintext, Base64 of ciphertext || tag, as WeChat Pay sends resources. */
static char *gcm_encrypt_b64(const char *key, const char *nonce, const char *aad,
                             const char *plaintext)
{
    size_t size = strlen(plaintext);
    unsigned char *out = malloc(size + 16);
    assert_non_null(out);
    int n = 0, tail = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key,
                                        (const unsigned char *)nonce),
                     1);
    assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)),
                     1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, (const unsigned char *)plaintext, (int)size),
                     1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + n, &tail), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + size), 1);
    EVP_CIPHER_CTX_free(ctx);
    char *text = b64_encode(out, size + 16);
    free(out);
    return text;
}

static char *sign_b64(EVP_PKEY *key, const char *message)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char signature[512];
    size_t size = sizeof signature;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(
        EVP_DigestSign(md, signature, &size, (const unsigned char *)message, strlen(message)), 1);
    EVP_MD_CTX_free(md);
    return b64_encode(signature, size);
}

/* A signed notification of event_type whose resource is the given JSON. */
typedef struct notification {
    char *body;
    char *signature;
    char timestamp[24];
    notify_header headers[4];
} notification;

static void make_notification(notification *n, const char *event_type, const char *resource)
{
    char *ciphertext = gcm_encrypt_b64(APIV3_KEY, "0123456789ab", "transaction", resource);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "id",
                  "EV-2018022511223320873", "create_time", "2023-11-15T06:13:20+08:00",
                  "resource_type", "encrypt-resource", "event_type", event_type, "resource",
                  "original_type", "transaction", "algorithm", "AEAD_AES_256_GCM", "ciphertext",
                  ciphertext, "associated_data", "transaction", "nonce", "0123456789ab");
    n->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(ciphertext);
    snprintf(n->timestamp, sizeof n->timestamp, "%lld", (long long)NOW);
    size_t size = strlen(n->body) + 64;
    char *message = malloc(size);
    assert_non_null(message);
    snprintf(message, size, "%s\n%s\n%s\n", n->timestamp, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
             n->body);
    n->signature = sign_b64(platform_key, message);
    free(message);
    n->headers[0] = (notify_header){"Wechatpay-Timestamp", n->timestamp};
    n->headers[1] = (notify_header){"Wechatpay-Nonce", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"};
    n->headers[2] = (notify_header){"Wechatpay-Signature", n->signature};
    n->headers[3] = (notify_header){"Wechatpay-Serial", SERIAL};
}

static void notification_free(notification *n)
{
    free(n->body);
    free(n->signature);
}

/* Runs ops->verify on n; a refusal has a reason and no fields. */
static notify_result verify(notification *n, payment_notice *notice)
{
    provider *p = open_provider();
    notify_result result;
    memset(&result, 0x5a, sizeof result);
    assert_int_equal(ops->verify(p, n->headers, 4, n->body, strlen(n->body), NOW, &result, notice),
                     TOPUP_OK);
    ops->free_(p);
    if (!result.genuine) {
        assert_null(result.fields);
        assert_true(result.reason[0] != '\0');
    }
    return result;
}

static const char paid_transaction[] =
    "{\"appid\":\"" APPID "\",\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU20240518000123\","
    "\"transaction_id\":\"4200000985202405181234567890\",\"trade_type\":\"NATIVE\","
    "\"trade_state\":\"SUCCESS\",\"trade_state_desc\":\"支付成功\","
    "\"amount\":{\"total\":5000,\"payer_total\":4500,\"currency\":\"CNY\","
    "\"payer_currency\":\"CNY\"}}";

static void paid_notification_becomes_a_paid_notice(void **state)
{
    (void)state;
    notification n;
    make_notification(&n, "TRANSACTION.SUCCESS", paid_transaction);
    payment_notice notice;
    notify_result result = verify(&n, &notice);
    assert_true(result.genuine);
    assert_int_equal(notice.kind, NOTICE_PAID);
    assert_string_equal(notice.app_id, APPID);
    assert_string_equal(notice.merchant_id, MCHID);
    assert_string_equal(notice.out_trade_no, "TU20240518000123");
    assert_string_equal(notice.trade_no, "4200000985202405181234567890");
    /* total, the amount the order was for, not payer_total (a coupon paid the rest) */
    assert_int_equal(notice.amount_minor, 5000);
    assert_string_equal(notice.currency, "CNY");
    json_decref(result.fields);
    notification_free(&n);
}

static void paid_notification_missing_a_field_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *resource;
        const char *missing;
    } cases[] = {
        {"{\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU1\",\"transaction_id\":\"42\","
         "\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":5000,\"currency\":\"CNY\"}}",
         "appid"},
        {"{\"appid\":\"" APPID "\",\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU1\","
         "\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":5000,\"currency\":\"CNY\"}}",
         "transaction_id"},
        {"{\"appid\":\"" APPID "\",\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU1\","
         "\"transaction_id\":\"42\",\"trade_state\":\"SUCCESS\",\"amount\":{\"currency\":\"CNY\"}}",
         "amount"},
        {"{\"appid\":\"" APPID "\",\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU1\","
         "\"transaction_id\":\"42\",\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":\"5000\","
         "\"currency\":\"CNY\"}}",
         "amount"},
        {"{\"appid\":\"" APPID "\",\"mchid\":\"" MCHID "\",\"transaction_id\":\"42\","
         "\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":5000,\"currency\":\"CNY\"}}",
         "out_trade_no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        notification n;
        make_notification(&n, "TRANSACTION.SUCCESS", cases[i].resource);
        payment_notice notice;
        notify_result result = verify(&n, &notice);
        assert_false(result.genuine);
        if (!strstr(result.reason, cases[i].missing))
            fail_msg("reason '%s' does not name %s", result.reason, cases[i].missing);
        assert_string_equal(notice.out_trade_no, "");
        notification_free(&n);
    }
}

static void other_events_change_nothing(void **state)
{
    (void)state;
    notification n;
    make_notification(&n, "REFUND.SUCCESS",
                      "{\"mchid\":\"" MCHID "\",\"out_trade_no\":\"TU20240518000123\","
                      "\"transaction_id\":\"4200000985202405181234567890\",\"out_refund_no\":"
                      "\"R1\",\"refund_id\":\"50000000382019052709732678859\","
                      "\"refund_status\":\"SUCCESS\",\"amount\":{\"total\":5000,\"refund\":5000}}");
    payment_notice notice;
    notify_result result = verify(&n, &notice);
    assert_true(result.genuine);
    assert_int_equal(notice.kind, NOTICE_OTHER);
    assert_string_equal(notice.out_trade_no, "TU20240518000123");
    assert_int_equal(notice.amount_minor, 0);
    json_decref(result.fields);
    notification_free(&n);

    /* TRANSACTION.SUCCESS naming another trade_state is not a payment either */
    char *unpaid = strdup(paid_transaction);
    memcpy(strstr(unpaid, "\"SUCCESS\""), "\"NOTPAY\" ", 9);
    make_notification(&n, "TRANSACTION.SUCCESS", unpaid);
    result = verify(&n, &notice);
    assert_true(result.genuine);
    assert_int_equal(notice.kind, NOTICE_OTHER);
    json_decref(result.fields);
    notification_free(&n);
    free(unpaid);
}

static void forged_notification_is_refused(void **state)
{
    (void)state;
    notification n;
    make_notification(&n, "TRANSACTION.SUCCESS", paid_transaction);
    n.body[strlen(n.body) - 2] ^= 1; /* one bit of the body after signing */
    payment_notice notice;
    notify_result result = verify(&n, &notice);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "Signature"));
    assert_string_equal(notice.trade_no, "");
    notification_free(&n);
}

/* ---- answers ------------------------------------------------------------------------------- */

static void accepted_is_204_without_body(void **state)
{
    (void)state;
    notify_answer answer;
    memset(&answer, 0x5a, sizeof answer);
    ops->answer(true, "", &answer);
    assert_int_equal(answer.status, 204);
    assert_string_equal(answer.body, "");
    assert_non_null(answer.content_type);
}

/* A 500 with {"code":"FAIL","message":...} that parses, whatever the reason holds. */
static void assert_fail_answer(const char *reason, const char *message_start)
{
    notify_answer answer;
    memset(&answer, 0x5a, sizeof answer);
    ops->answer(false, reason, &answer);
    assert_int_equal(answer.status, 500);
    assert_string_equal(answer.content_type, "application/json");
    assert_true(strlen(answer.body) < sizeof answer.body);
    json_error_t error;
    json_t *body = json_loads(answer.body, 0, &error);
    if (!body)
        fail_msg("not JSON: %s (%s)", answer.body, error.text);
    assert_string_equal(json_string_value(json_object_get(body, "code")), "FAIL");
    const char *message = json_string_value(json_object_get(body, "message"));
    assert_non_null(message);
    assert_int_equal(strncmp(message, message_start, strlen(message_start)), 0);
    json_decref(body);
}

static void not_accepted_is_500_json_so_it_is_resent(void **state)
{
    (void)state;
    assert_fail_answer("the database is busy \"retry\"", "the database is busy \"retry\"");
    /* a long reason of three-byte characters is cut between characters, not inside one */
    char long_reason[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(long_reason, "库");
    assert_fail_answer(long_reason, "库库库");
    assert_fail_answer("bad \xff\xfe byte", "not handled");
    assert_fail_answer(NULL, "not handled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_accepts_complete_settings),
        cmocka_unit_test(open_names_each_missing_setting),
        cmocka_unit_test(open_refuses_readable_keys_and_wrong_apiv3_key),
        cmocka_unit_test(open_refuses_plain_http_and_unsafe_identifiers),
        cmocka_unit_test(paid_notification_becomes_a_paid_notice),
        cmocka_unit_test(paid_notification_missing_a_field_is_refused),
        cmocka_unit_test(other_events_change_nothing),
        cmocka_unit_test(forged_notification_is_refused),
        cmocka_unit_test(accepted_is_204_without_body),
        cmocka_unit_test(not_accepted_is_500_json_so_it_is_resent),
    };
    return cmocka_run_group_tests(tests, files_setup, files_teardown);
}
