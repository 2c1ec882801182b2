/* Unit tests for src/payments/wechatpay.c: the Authorization WeChat Pay checks on our requests,
 * and that no notification is believed unless its signature, time, serial and encrypted resource
 * all hold. Signatures and ciphertexts are made here with OpenSSL directly, not with the code
 * under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "payments/wechatpay.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NOW            INT64_C(1700000000)
#define SERIAL         "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
#define APIV3_KEY      "0123456789abcdefghijklmnopqrstuv" /* 32 bytes */

static EVP_PKEY *merchant_key; /* signs our requests */
static EVP_PKEY *platform_key; /* WeChat Pay's: signs notifications */

static int keys_setup(void **state)
{
    (void)state;
    merchant_key = EVP_RSA_gen(2048);
    platform_key = EVP_RSA_gen(2048);
    return merchant_key && platform_key ? 0 : -1;
}

static int keys_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(merchant_key);
    EVP_PKEY_free(platform_key);
    return 0;
}

/* ---- independent helpers (OpenSSL only) ---------------------------------------------------- */

static char *b64_encode(const unsigned char *data, size_t size)
{
    char *out = malloc(4 * ((size + 2) / 3) + 1);
    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)size);
    return out;
}

static unsigned char *b64_decode(const char *text, size_t *size)
{
    size_t length = strlen(text);
    unsigned char *out = malloc(length / 4 * 3 + 1);
    assert_non_null(out);
    int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)length);
    assert_true(n >= 0);
    while (length > 0 && text[length - 1] == '=') {
        length--;
        n--;
    }
    *size = (size_t)n;
    return out;
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

static bool verify_b64(EVP_PKEY *key, const char *message, const char *signature_b64)
{
    size_t size = 0;
    unsigned char *signature = b64_decode(signature_b64, &size);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    int ok = EVP_DigestVerify(md, signature, size, (const unsigned char *)message, strlen(message));
    EVP_MD_CTX_free(md);
    free(signature);
    return ok == 1;
}

/* AES-256-GCM of plaintext, Base64 of ciphertext || 16-byte tag, as WeChat Pay sends it. */
static char *gcm_encrypt_b64(const char *key, const char *nonce, const char *aad,
                             const char *plaintext)
{
    size_t size = strlen(plaintext);
    unsigned char *out = malloc(size + 16);
    assert_non_null(out);
    int n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key,
                                        (const unsigned char *)nonce),
                     1);
    if (aad[0])
        assert_int_equal(
            EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, (const unsigned char *)plaintext, (int)size),
                     1);
    int tail = 0;
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + n, &tail), 1);
    assert_int_equal(n + tail, (int)size);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + size), 1);
    EVP_CIPHER_CTX_free(ctx);
    char *text = b64_encode(out, size + 16);
    free(out);
    return text;
}

/* Copies the value of field="..." out of an Authorization header; NULL when absent. */
static char *auth_field(const char *header, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s=\"", name);
    const char *start = strstr(header, pattern);
    if (!start)
        return NULL;
    /* a field name must follow the scheme's space or a comma, not be the tail of another name */
    if (start[-1] != ' ' && start[-1] != ',')
        return NULL;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

/* ---- Authorization ------------------------------------------------------------------------- */

static void authorization_has_documented_shape_and_verifies(void **state)
{
    (void)state;
    const char *body = "{\"appid\":\"wxd678efh567hg6787\",\"description\":\"话费充值 50 元\"}";
    char *header = NULL;
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST",
                                             "/v3/pay/transactions/native", body, 1554208460,
                                             "593BEC0C930BF1AFEB40B4A08C8FB242", &header),
                     TOPUP_OK);
    assert_non_null(header);
    const char scheme[] = "WECHATPAY2-SHA256-RSA2048 mchid=\"";
    assert_memory_equal(header, scheme, strlen(scheme));
    assert_null(strchr(header, '\n'));

    char *mchid = auth_field(header, "mchid");
    char *nonce = auth_field(header, "nonce_str");
    char *timestamp = auth_field(header, "timestamp");
    char *serial = auth_field(header, "serial_no");
    char *signature = auth_field(header, "signature");
    assert_string_equal(mchid, "1900009191");
    assert_string_equal(nonce, "593BEC0C930BF1AFEB40B4A08C8FB242");
    assert_string_equal(timestamp, "1554208460");
    assert_string_equal(serial, SERIAL);
    assert_non_null(signature);

    char message[512];
    snprintf(message, sizeof message, "POST\n/v3/pay/transactions/native\n1554208460\n%s\n%s\n",
             "593BEC0C930BF1AFEB40B4A08C8FB242", body);
    assert_true(verify_b64(merchant_key, message, signature));
    /* The trailing newline after the body is part of the signed message. */
    message[strlen(message) - 1] = '\0';
    assert_false(verify_b64(merchant_key, message, signature));
    assert_false(verify_b64(platform_key, "anything\n", signature));

    free(mchid);
    free(nonce);
    free(timestamp);
    free(serial);
    free(signature);
    free(header);
}

static void authorization_get_signs_empty_body_with_query(void **state)
{
    (void)state;
    char *header = NULL;
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "GET",
                                             "/v3/certificates?limit=5", "", 1554208460, "abc123",
                                             &header),
                     TOPUP_OK);
    char *signature = auth_field(header, "signature");
    assert_true(verify_b64(merchant_key, "GET\n/v3/certificates?limit=5\n1554208460\nabc123\n\n",
                           signature));
    free(signature);
    free(header);
}

static void authorization_refuses_bad_nonce_and_fields(void **state)
{
    (void)state;
    static const char *const bad_nonces[] = {
        "",    "abc-def", "abc def",      "abc\"",
        "a,b", "nonce\n", "\xe4\xb8\xad", "0123456789abcdef0123456789abcdefX", /* 33 characters */
    };
    for (size_t i = 0; i < ARRAY_COUNT(bad_nonces); i++) {
        char *header = (char *)0x1;
        if (wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST", "/v3/x", "{}", 1,
                                    bad_nonces[i], &header) != TOPUP_E_INVALID_ARGUMENT)
            fail_msg("nonce \"%s\" accepted", bad_nonces[i]);
        assert_null(header);
    }
    char *header = NULL;
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST", "/v3/x",
                                             "{}", 1, "0123456789abcdef0123456789abcdef", &header),
                     TOPUP_OK);
    free(header);
    header = NULL;
    assert_int_equal(wechatpay_authorization("19\"00", SERIAL, merchant_key, "POST", "/v3/x", "{}",
                                             1, "n", &header),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(wechatpay_authorization("1900009191", "AB\",x=\"", merchant_key, "POST",
                                             "/v3/x", "{}", 1, "n", &header),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST", "/v3/x\n1",
                                             "{}", 1, "n", &header),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST\nGET",
                                             "/v3/x", "{}", 1, "n", &header),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(wechatpay_authorization("1900009191", SERIAL, merchant_key, "POST", "/v3/x",
                                             "{}", -1, "n", &header),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_null(header);
}

/* ---- verification -------------------------------------------------------------------------- */

typedef struct signed_notification {
    char timestamp[32];
    char nonce[40];
    char *signature;
    notify_header headers[4];
} signed_notification;

/* Signs exactly the given timestamp and nonce text, so a test of a malformed header value
 * carries a valid signature over it and can only be refused by the check it is about. */
static void sign_notification_text(signed_notification *n, EVP_PKEY *key, const char *timestamp,
                                   const char *nonce, const char *body)
{
    snprintf(n->timestamp, sizeof n->timestamp, "%s", timestamp);
    snprintf(n->nonce, sizeof n->nonce, "%s", nonce);
    size_t size = strlen(n->timestamp) + strlen(n->nonce) + strlen(body) + 4;
    char *message = malloc(size);
    assert_non_null(message);
    snprintf(message, size, "%s\n%s\n%s\n", n->timestamp, n->nonce, body);
    n->signature = sign_b64(key, message);
    free(message);
    n->headers[0] = (notify_header){"Wechatpay-Timestamp", n->timestamp};
    n->headers[1] = (notify_header){"wechatpay-nonce", n->nonce}; /* case-insensitive */
    n->headers[2] = (notify_header){"Wechatpay-Signature", n->signature};
    n->headers[3] = (notify_header){"Wechatpay-Serial", SERIAL};
}

static void sign_notification(signed_notification *n, EVP_PKEY *key, int64_t timestamp,
                              const char *body)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)timestamp);
    sign_notification_text(n, key, text, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body);
}

static notify_result verify(const signed_notification *n, const char *body, EVP_PKEY *key,
                            const char *serial, const char *apiv3_key, int64_t now)
{
    notify_result result;
    memset(&result, 0x5a, sizeof result);
    assert_int_equal(wechatpay_verify(n->headers, ARRAY_COUNT(n->headers), body, strlen(body), key,
                                      serial, (const unsigned char *)apiv3_key, now, &result),
                     TOPUP_OK);
    if (!result.genuine) {
        assert_null(result.fields);
        assert_true(result.reason[0] != '\0');
    }
    return result;
}

static const char plain_body[] = "{\"id\":\"EV-2018022511223320873\",\"summary\":\"支付成功\"}";

static void verify_accepts_signed_body(void **state)
{
    (void)state;
    signed_notification n;
    sign_notification(&n, platform_key, NOW, plain_body);
    notify_result result = verify(&n, plain_body, platform_key, SERIAL, NULL, NOW);
    assert_true(result.genuine);
    assert_string_equal(result.reason, "");
    assert_string_equal(json_string_value(json_object_get(result.fields, "summary")), "支付成功");
    json_decref(result.fields);
    /* serial not pinned: any serial header is accepted */
    result = verify(&n, plain_body, platform_key, NULL, NULL, NOW);
    assert_true(result.genuine);
    json_decref(result.fields);
    free(n.signature);
}

static void verify_refuses_tampered_body(void **state)
{
    (void)state;
    signed_notification n;
    sign_notification(&n, platform_key, NOW, plain_body);
    const char tampered[] = "{\"id\":\"EV-2018022511223320873\",\"summary\":\"支付成功 \"}";
    notify_result result = verify(&n, tampered, platform_key, SERIAL, NULL, NOW);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "Signature"));
    free(n.signature);
}

static void verify_refuses_wrong_serial_and_wrong_key(void **state)
{
    (void)state;
    signed_notification n;
    sign_notification(&n, platform_key, NOW, plain_body);
    notify_result result =
        verify(&n, plain_body, platform_key, "5157F09EFDC096DE15EBE81A47057A72", NULL, NOW);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "Serial"));
    /* signed by someone else's key (here: the merchant's) */
    free(n.signature);
    sign_notification(&n, merchant_key, NOW, plain_body);
    result = verify(&n, plain_body, platform_key, SERIAL, NULL, NOW);
    assert_false(result.genuine);
    free(n.signature);
}

static void verify_enforces_timestamp_tolerance_both_ways(void **state)
{
    (void)state;
    static const struct {
        int64_t offset_s;
        bool genuine;
    } cases[] = {{-301, false}, {-300, true}, {0, true},
                 {300, true},   {301, false}, {-86400, false}};
    for (size_t i = 0; i < ARRAY_COUNT(cases); i++) {
        signed_notification n;
        sign_notification(&n, platform_key, NOW + cases[i].offset_s, plain_body);
        notify_result result = verify(&n, plain_body, platform_key, SERIAL, NULL, NOW);
        if (result.genuine != cases[i].genuine)
            fail_msg("offset %lld: genuine %d, reason %s", (long long)cases[i].offset_s,
                     result.genuine, result.reason);
        json_decref(result.fields);
        free(n.signature);
    }
}

static void verify_refuses_malformed_headers(void **state)
{
    (void)state;
    signed_notification n;
    sign_notification(&n, platform_key, NOW, plain_body);
    /* each header missing in turn */
    for (size_t missing = 0; missing < 4; missing++) {
        notify_header headers[3];
        for (size_t i = 0, j = 0; i < 4; i++)
            if (i != missing)
                headers[j++] = n.headers[i];
        notify_result result;
        assert_int_equal(wechatpay_verify(headers, 3, plain_body, strlen(plain_body), platform_key,
                                          SERIAL, NULL, NOW, &result),
                         TOPUP_OK);
        assert_false(result.genuine);
        assert_null(result.fields);
    }
    /* Each malformed timestamp is signed as it is, so only the timestamp check can refuse it. */
    static const char *const bad_timestamps[] = {
        "", "17e8", "-1700000000", " 1700000000", "1700000000 ", "0x65", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_COUNT(bad_timestamps); i++) {
        signed_notification m;
        sign_notification_text(&m, platform_key, bad_timestamps[i],
                               "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", plain_body);
        notify_result result = verify(&m, plain_body, platform_key, SERIAL, NULL, NOW);
        if (result.genuine || !strstr(result.reason, "Wechatpay-Timestamp"))
            fail_msg("timestamp \"%s\": genuine %d, reason %s", bad_timestamps[i], result.genuine,
                     result.reason);
        free(m.signature);
    }
    /* A nonce that could smuggle a line into the signed text, or is not printable, is refused
     * even when signed. */
    static const char *const bad_nonces[] = {"abc\ndef", "", "caf\xc3\xa9", "tab\there"};
    for (size_t i = 0; i < ARRAY_COUNT(bad_nonces); i++) {
        signed_notification m;
        char timestamp[32];
        snprintf(timestamp, sizeof timestamp, "%lld", (long long)NOW);
        sign_notification_text(&m, platform_key, timestamp, bad_nonces[i], plain_body);
        notify_result result = verify(&m, plain_body, platform_key, SERIAL, NULL, NOW);
        if (result.genuine || !strstr(result.reason, "Wechatpay-Nonce"))
            fail_msg("nonce %zu: genuine %d, reason %s", i, result.genuine, result.reason);
        free(m.signature);
    }
    static const char *const bad_signatures[] = {"not base64!", "QUJD=", "QU=JD", "====", "QUJ"};
    for (size_t i = 0; i < ARRAY_COUNT(bad_signatures); i++) {
        signed_notification m = n;
        m.headers[2].value = bad_signatures[i];
        notify_result result = verify(&m, plain_body, platform_key, SERIAL, NULL, NOW);
        if (result.genuine || !strstr(result.reason, "not Base64"))
            fail_msg("signature \"%s\": genuine %d, reason %s", bad_signatures[i], result.genuine,
                     result.reason);
    }
    signed_notification m = n;
    m.headers[2].value = "QUJD";
    notify_result result = verify(&m, plain_body, platform_key, SERIAL, NULL, NOW);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "does not verify"));
    free(n.signature);
}

static void verify_refuses_oversized_body(void **state)
{
    (void)state;
    size_t size = NOTIFY_BODY_SIZE_MAX + 1;
    char *body = malloc(size + 1);
    assert_non_null(body);
    memset(body, ' ', size);
    body[0] = '{';
    body[size - 1] = '}';
    body[size] = '\0';
    signed_notification n;
    sign_notification(&n, platform_key, NOW, body);
    notify_result result = verify(&n, body, platform_key, SERIAL, NULL, NOW);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "larger"));
    /* one byte less is read */
    body[size - 2] = '}';
    body[size - 1] = '\0';
    free(n.signature);
    sign_notification(&n, platform_key, NOW, body);
    result = verify(&n, body, platform_key, SERIAL, NULL, NOW);
    assert_true(result.genuine);
    json_decref(result.fields);
    free(n.signature);
    free(body);
}

/* A notification body as WeChat Pay sends it, with the transaction encrypted under key. */
static char *notification_body(const char *key, const char *aad, const char *transaction)
{
    char *ciphertext = gcm_encrypt_b64(key, "fdasflkja484", aad, transaction);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "id",
                  "EV-2018022511223320873", "create_time", "2015-05-20T13:29:35+08:00",
                  "resource_type", "encrypt-resource", "event_type", "TRANSACTION.SUCCESS",
                  "resource", "algorithm", "AEAD_AES_256_GCM", "ciphertext", ciphertext, "nonce",
                  "fdasflkja484", "associated_data", aad, "original_type", "transaction");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(ciphertext);
    return text;
}

static const char transaction[] =
    "{\"out_trade_no\":\"TU20240101000001\",\"trade_state\":\"SUCCESS\",\"trade_state_desc\":"
    "\"支付成功\",\"amount\":{\"total\":5000,\"currency\":\"CNY\",\"payer_total\":5000}}";

static void verify_decrypts_resource_of_genuine_notification(void **state)
{
    (void)state;
    char *body = notification_body(APIV3_KEY, "transaction", transaction);
    signed_notification n;
    sign_notification(&n, platform_key, NOW, body);
    notify_result result = verify(&n, body, platform_key, SERIAL, APIV3_KEY, NOW);
    assert_true(result.genuine);
    json_t *expected = json_loads(transaction, 0, NULL);
    assert_true(json_equal(json_object_get(result.fields, "resource"), expected));
    json_t *notification = json_object_get(result.fields, "notification");
    assert_string_equal(json_string_value(json_object_get(notification, "event_type")),
                        "TRANSACTION.SUCCESS");
    json_decref(expected);
    json_decref(result.fields);

    /* without an APIv3 key the body is returned as it is */
    result = verify(&n, body, platform_key, SERIAL, NULL, NOW);
    assert_true(result.genuine);
    assert_non_null(json_object_get(result.fields, "resource"));
    assert_null(json_object_get(result.fields, "notification"));
    json_decref(result.fields);

    /* a genuine signature with a resource the APIv3 key does not open is not genuine */
    result = verify(&n, body, platform_key, SERIAL, "0123456789abcdefghijklmnopqrstuw", NOW);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "decrypt"));
    free(n.signature);
    free(body);
}

/* ---- resource decryption ------------------------------------------------------------------- */

static void decrypt_round_trip(void **state)
{
    (void)state;
    static const char *const aads[] = {"transaction", ""};
    for (size_t i = 0; i < ARRAY_COUNT(aads); i++) {
        char *ciphertext = gcm_encrypt_b64(APIV3_KEY, "0123456789ab", aads[i], transaction);
        char *plaintext = NULL;
        assert_int_equal(wechatpay_decrypt_resource((const unsigned char *)APIV3_KEY, ciphertext,
                                                    "0123456789ab", aads[i], &plaintext),
                         TOPUP_OK);
        assert_string_equal(plaintext, transaction);
        free(plaintext);
        free(ciphertext);
    }
}

static void decrypt_refuses_wrong_key_and_tampering(void **state)
{
    (void)state;
    char *ciphertext = gcm_encrypt_b64(APIV3_KEY, "0123456789ab", "transaction", transaction);
    char *plaintext = (char *)0x1;
    const unsigned char *key = (const unsigned char *)APIV3_KEY;

    assert_int_equal(wechatpay_decrypt_resource((const unsigned char *)"0123456789abcdefghijklmno"
                                                                       "pqrstuV",
                                                ciphertext, "0123456789ab", "transaction",
                                                &plaintext),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_null(plaintext);
    assert_int_equal(
        wechatpay_decrypt_resource(key, ciphertext, "0123456789ab", "transactioN", &plaintext),
        TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(wechatpay_decrypt_resource(key, ciphertext, "0123456789ab", "", &plaintext),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(
        wechatpay_decrypt_resource(key, ciphertext, "0123456789ac", "transaction", &plaintext),
        TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(
        wechatpay_decrypt_resource(key, ciphertext, "0123456789abc", "transaction", &plaintext),
        TOPUP_E_INVALID_ARGUMENT);

    /* flip one bit of the ciphertext, then one of the tag */
    size_t size = 0;
    unsigned char *raw = b64_decode(ciphertext, &size);
    size_t positions[] = {0, size / 2, size - 1};
    for (size_t i = 0; i < ARRAY_COUNT(positions); i++) {
        raw[positions[i]] ^= 0x01;
        char *tampered = b64_encode(raw, size);
        if (wechatpay_decrypt_resource(key, tampered, "0123456789ab", "transaction", &plaintext) !=
            TOPUP_E_INVALID_ARGUMENT)
            fail_msg("byte %zu flipped: decrypted", positions[i]);
        raw[positions[i]] ^= 0x01;
        free(tampered);
    }
    /* shorter than a tag, and not Base64 */
    assert_int_equal(
        wechatpay_decrypt_resource(key, "QUJD", "0123456789ab", "transaction", &plaintext),
        TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(
        wechatpay_decrypt_resource(key, "!!!!", "0123456789ab", "transaction", &plaintext),
        TOPUP_E_INVALID_ARGUMENT);
    assert_null(plaintext);

    /* and the untouched one still opens */
    assert_int_equal(
        wechatpay_decrypt_resource(key, ciphertext, "0123456789ab", "transaction", &plaintext),
        TOPUP_OK);
    free(plaintext);
    free(raw);
    free(ciphertext);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(authorization_has_documented_shape_and_verifies),
        cmocka_unit_test(authorization_get_signs_empty_body_with_query),
        cmocka_unit_test(authorization_refuses_bad_nonce_and_fields),
        cmocka_unit_test(verify_accepts_signed_body),
        cmocka_unit_test(verify_refuses_tampered_body),
        cmocka_unit_test(verify_refuses_wrong_serial_and_wrong_key),
        cmocka_unit_test(verify_enforces_timestamp_tolerance_both_ways),
        cmocka_unit_test(verify_refuses_malformed_headers),
        cmocka_unit_test(verify_refuses_oversized_body),
        cmocka_unit_test(verify_decrypts_resource_of_genuine_notification),
        cmocka_unit_test(decrypt_round_trip),
        cmocka_unit_test(decrypt_refuses_wrong_key_and_tampering),
    };
    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
