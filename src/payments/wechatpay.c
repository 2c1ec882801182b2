/* WeChat Pay API v3: request signing, response/notification verification and resource decryption.
 *
 * SECURITY: everything a notification carries (headers, body, the encrypted resource) comes from
 * the network and is untrusted until the RSA signature over "TIMESTAMP\nNONCE\nBODY\n" has been
 * checked against the platform key, the timestamp is within tolerance and the serial matches.
 * Only then is the body parsed and the resource decrypted; a resource that does not decrypt (its
 * GCM tag fails) makes the whole notification not genuine. Trusted: the keys handed in by the
 * caller, which loaded them from files only it can read (notify.h). */
#include "payments/wechatpay.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#define AUTH_SCHEME         "WECHATPAY2-SHA256-RSA2048"
#define AUTH_NONCE_SIZE_MAX 32   /* characters of the caller's nonce_str, [A-Za-z0-9] */
#define AUTH_ID_SIZE_MAX    64   /* characters of mchid or serial_no */
#define METHOD_SIZE_MAX     16   /* characters of an HTTP method */
#define PATH_SIZE_MAX       4096 /* characters of path and query; longer URLs are not API calls */
#define HEADER_NONCE_MAX    128  /* characters of a Wechatpay-Nonce; WeChat sends 32 */
#define TIMESTAMP_DIGITS    19   /* digits of an int64 */
#define GCM_NONCE_SIZE      12   /* bytes of the resource nonce (RFC 5116 AEAD_AES_256_GCM) */
#define GCM_TAG_SIZE        16   /* bytes of the tag at the end of the decoded ciphertext */
#define RESOURCE_ALGORITHM  "AEAD_AES_256_GCM"

/* Base64 of size bytes; *text is malloc'd and NUL-terminated. */
static topup_result base64_encode(const unsigned char *data, size_t size, char **text)
{
    *text = NULL;
    if (size > (size_t)INT_MAX / 2)
        return TOPUP_E_INVALID_ARGUMENT;
    char *out = malloc(4 * ((size + 2) / 3) + 1);
    if (!out)
        return TOPUP_E_NOMEM;
    EVP_EncodeBlock((unsigned char *)out, data, (int)size);
    *text = out;
    return TOPUP_OK;
}

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Decodes strict standard Base64 (no whitespace, padded to a multiple of 4, '=' only at the end).
 * EVP_DecodeBlock counts padding as zero bytes, so the real size is taken from the '='s.
 * *data is malloc'd; TOPUP_E_INVALID_ARGUMENT when text is not Base64. */
static topup_result base64_decode(const char *text, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    size_t length = strlen(text);
    if (length == 0 || length % 4 != 0 || length > (size_t)INT_MAX / 2)
        return TOPUP_E_INVALID_ARGUMENT;
    size_t padding = 0;
    if (text[length - 1] == '=')
        padding = text[length - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < length - padding; i++)
        if (!is_base64_char(text[i]))
            return TOPUP_E_INVALID_ARGUMENT;
    unsigned char *out = malloc(length / 4 * 3 + 1);
    if (!out)
        return TOPUP_E_NOMEM;
    int decoded = EVP_DecodeBlock(out, (const unsigned char *)text, (int)length);
    if (decoded < 0 || (size_t)decoded < padding) {
        free(out);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    *data = out;
    *size = (size_t)decoded - padding;
    return TOPUP_OK;
}

static bool is_alnum_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* True when text is 1..size_max characters, each alphanumeric or one of extra. */
static bool is_token(const char *text, size_t size_max, const char *extra)
{
    size_t length = strlen(text);
    if (length == 0 || length > size_max)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!is_alnum_ascii(text[i]) && strchr(extra, text[i]) == NULL)
            return false;
    return true;
}

/* A path and query goes on one line of the signed message and must not carry a line break. */
static bool is_path_and_query(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > PATH_SIZE_MAX || text[0] != '/')
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return false;
    return true;
}

/* SHA256withRSA (PKCS#1 v1.5) of message; *signature is malloc'd. */
static topup_result rsa_sign(EVP_PKEY *key, const char *message, size_t message_size,
                             unsigned char **signature, size_t *signature_size)
{
    *signature = NULL;
    topup_result r = TOPUP_E_INVALID_ARGUMENT;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pkey_ctx = NULL;
    unsigned char *out = NULL;
    size_t out_size = 0;
    if (!md) {
        r = TOPUP_E_NOMEM;
        goto done;
    }
    if (EVP_DigestSignInit(md, &pkey_ctx, EVP_sha256(), NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(md, NULL, &out_size, (const unsigned char *)message, message_size) != 1)
        goto done;
    out = malloc(out_size);
    if (!out) {
        r = TOPUP_E_NOMEM;
        goto done;
    }
    if (EVP_DigestSign(md, out, &out_size, (const unsigned char *)message, message_size) != 1)
        goto done;
    *signature = out;
    *signature_size = out_size;
    out = NULL;
    r = TOPUP_OK;
done:
    free(out);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return r;
}

/* True when signature is a valid SHA256withRSA (PKCS#1 v1.5) signature of message by key. */
static bool rsa_verify(EVP_PKEY *key, const char *message, size_t message_size,
                       const unsigned char *signature, size_t signature_size)
{
    bool valid = false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pkey_ctx = NULL;
    if (md && EVP_PKEY_is_a(key, "RSA") &&
        EVP_DigestVerifyInit(md, &pkey_ctx, EVP_sha256(), NULL, key) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) == 1)
        valid = EVP_DigestVerify(md, signature, signature_size, (const unsigned char *)message,
                                 message_size) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return valid;
}

topup_result wechatpay_authorization(const char *mchid, const char *serial_no,
                                     EVP_PKEY *merchant_private_key, const char *method,
                                     const char *path_and_query, const char *body,
                                     int64_t timestamp, const char *nonce, char **header)
{
    assert(header != NULL);
    *header = NULL;
    if (!mchid || !serial_no || !merchant_private_key || !method || !path_and_query || !body ||
        !nonce)
        return TOPUP_E_INVALID_ARGUMENT;
    /* Every field ends up inside quotes of one header line or on one line of the signed
     * message: a quote, comma or line break in any of them would forge another field. */
    if (!is_token(mchid, AUTH_ID_SIZE_MAX, "_-") || !is_token(serial_no, AUTH_ID_SIZE_MAX, "_-") ||
        !is_token(nonce, AUTH_NONCE_SIZE_MAX, "") || !is_token(method, METHOD_SIZE_MAX, "") ||
        !is_path_and_query(path_and_query) || timestamp < 0)
        return TOPUP_E_INVALID_ARGUMENT;
    for (const char *c = method; *c; c++)
        if (*c < 'A' || *c > 'Z')
            return TOPUP_E_INVALID_ARGUMENT;

    size_t body_size = strlen(body);
    size_t message_size_max =
        strlen(method) + strlen(path_and_query) + TIMESTAMP_DIGITS + strlen(nonce) + body_size + 6;
    char *message = malloc(message_size_max);
    if (!message)
        return TOPUP_E_NOMEM;
    int prefix = snprintf(message, message_size_max, "%s\n%s\n%lld\n%s\n", method, path_and_query,
                          (long long)timestamp, nonce);
    assert(prefix > 0 && (size_t)prefix + body_size + 2 <= message_size_max);
    memcpy(message + prefix, body, body_size);
    message[prefix + body_size] = '\n';
    size_t message_size = (size_t)prefix + body_size + 1;

    unsigned char *signature = NULL;
    size_t signature_size = 0;
    char *signature_base64 = NULL;
    topup_result r =
        rsa_sign(merchant_private_key, message, message_size, &signature, &signature_size);
    free(message);
    if (r == TOPUP_OK)
        r = base64_encode(signature, signature_size, &signature_base64);
    free(signature);
    if (r != TOPUP_OK)
        return r;

    static const char format[] = AUTH_SCHEME " mchid=\"%s\",nonce_str=\"%s\",signature=\"%s\","
                                             "timestamp=\"%lld\",serial_no=\"%s\"";
    int length =
        snprintf(NULL, 0, format, mchid, nonce, signature_base64, (long long)timestamp, serial_no);
    char *out = length > 0 ? malloc((size_t)length + 1) : NULL;
    if (out)
        snprintf(out, (size_t)length + 1, format, mchid, nonce, signature_base64,
                 (long long)timestamp, serial_no);
    free(signature_base64);
    if (!out)
        return TOPUP_E_NOMEM;
    *header = out;
    return TOPUP_OK;
}

/* Parses a Wechatpay-Timestamp: decimal digits only, no sign, no spaces. */
static bool parse_timestamp(const char *text, int64_t *timestamp)
{
    size_t length = strlen(text);
    if (length == 0 || length > TIMESTAMP_DIGITS - 1) /* 18 digits cannot overflow int64 */
        return false;
    int64_t value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (text[i] - '0');
    }
    *timestamp = value;
    return true;
}

/* A header nonce goes on its own line of the signed message: visible ASCII only, so that no part
 * of a genuine body can be moved into it. */
static bool is_header_nonce(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > HEADER_NONCE_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return false;
    return true;
}

topup_result wechatpay_decrypt_resource(const unsigned char *apiv3_key,
                                        const char *ciphertext_base64, const char *nonce,
                                        const char *associated_data, char **plaintext)
{
    assert(apiv3_key != NULL && plaintext != NULL);
    *plaintext = NULL;
    if (!ciphertext_base64 || !nonce || strlen(nonce) != GCM_NONCE_SIZE)
        return TOPUP_E_INVALID_ARGUMENT;
    if (!associated_data)
        associated_data = "";
    size_t aad_size = strlen(associated_data);
    if (strlen(ciphertext_base64) > (size_t)INT_MAX / 2 || aad_size > INT_MAX)
        return TOPUP_E_INVALID_ARGUMENT;

    unsigned char *data = NULL;
    size_t data_size = 0;
    topup_result r = base64_decode(ciphertext_base64, &data, &data_size);
    if (r != TOPUP_OK)
        return r;
    if (data_size < GCM_TAG_SIZE) {
        free(data);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    size_t payload_size = data_size - GCM_TAG_SIZE;
    unsigned char *tag = data + payload_size;

    r = TOPUP_E_INVALID_ARGUMENT;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *out = malloc(payload_size + GCM_TAG_SIZE + 1); /* room for Final's block */
    int out_size = 0;
    int final_size = 0;
    int aad_out = 0;
    if (!ctx || !out) {
        r = TOPUP_E_NOMEM;
        goto done;
    }
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_SIZE, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, apiv3_key, (const unsigned char *)nonce) != 1)
        goto done;
    if (aad_size > 0 &&
        EVP_DecryptUpdate(ctx, NULL, &aad_out, (const unsigned char *)associated_data,
                          (int)aad_size) != 1)
        goto done;
    if (payload_size > 0 && EVP_DecryptUpdate(ctx, out, &out_size, data, (int)payload_size) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_SIZE, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + out_size, &final_size) != 1)
        goto done;
    size_t plain_size = (size_t)out_size + (size_t)final_size;
    out[plain_size] = '\0';
    /* The plaintext is handed out as a C string: an embedded NUL would silently cut it. */
    if (memchr(out, '\0', plain_size) != NULL)
        goto done;
    *plaintext = (char *)out;
    out = NULL;
    r = TOPUP_OK;
done:
    if (out) {
        OPENSSL_cleanse(out, payload_size + GCM_TAG_SIZE + 1);
        free(out);
    }
    EVP_CIPHER_CTX_free(ctx);
    free(data);
    ERR_clear_error();
    return r;
}

/* Decrypts the `resource` of a verified notification and sets result->fields to
 * {"notification": body, "resource": decrypted}. Takes ownership of body. */
static topup_result decrypt_notification(json_t *body, const unsigned char *apiv3_key,
                                         notify_result *result)
{
    json_t *resource = json_object_get(body, "resource");
    const char *algorithm = json_string_value(json_object_get(resource, "algorithm"));
    const char *ciphertext = json_string_value(json_object_get(resource, "ciphertext"));
    const char *nonce = json_string_value(json_object_get(resource, "nonce"));
    json_t *aad_json = json_object_get(resource, "associated_data");
    const char *aad = json_string_value(aad_json);
    if (!json_is_object(resource) || !algorithm || strcmp(algorithm, RESOURCE_ALGORITHM) != 0 ||
        !ciphertext || !nonce || (aad_json && !json_is_null(aad_json) && !aad)) {
        json_decref(body);
        notify_refuse(result, "the resource is not an %s object with ciphertext and nonce",
                      RESOURCE_ALGORITHM);
        return TOPUP_OK;
    }
    char *plaintext = NULL;
    topup_result r = wechatpay_decrypt_resource(apiv3_key, ciphertext, nonce, aad, &plaintext);
    if (r == TOPUP_E_NOMEM) {
        json_decref(body);
        return r;
    }
    if (r != TOPUP_OK) {
        json_decref(body);
        notify_refuse(result, "the resource does not decrypt with the APIv3 key (wrong key, or "
                              "tampered ciphertext or associated data)");
        return TOPUP_OK;
    }
    json_t *decrypted = json_loads(plaintext, JSON_REJECT_DUPLICATES, NULL);
    OPENSSL_cleanse(plaintext, strlen(plaintext));
    free(plaintext);
    if (!decrypted) {
        json_decref(body);
        notify_refuse(result, "the decrypted resource is not JSON");
        return TOPUP_OK;
    }
    json_t *fields = json_object();
    if (!fields || json_object_set_new(fields, "notification", body) != 0 ||
        json_object_set_new(fields, "resource", decrypted) != 0) {
        json_decref(fields);
        return TOPUP_E_NOMEM;
    }
    result->genuine = true;
    result->fields = fields;
    return TOPUP_OK;
}

topup_result wechatpay_verify(const notify_header *headers, size_t header_count, const char *body,
                              size_t body_size, EVP_PKEY *platform_key, const char *platform_serial,
                              const unsigned char *apiv3_key, int64_t now, notify_result *result)
{
    assert(result != NULL && platform_key != NULL);
    assert(body != NULL || body_size == 0);
    result->genuine = false;
    result->reason[0] = '\0';
    result->fields = NULL;

    if (body_size > NOTIFY_BODY_SIZE_MAX) {
        notify_refuse(result, "the body is larger than %d bytes", NOTIFY_BODY_SIZE_MAX);
        return TOPUP_OK;
    }
    static const char *const required[] = {"Wechatpay-Timestamp", "Wechatpay-Nonce",
                                           "Wechatpay-Signature", "Wechatpay-Serial"};
    const char *values[sizeof required / sizeof required[0]];
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        values[i] = notify_header_get(headers, header_count, required[i]);
        if (!values[i] || values[i][0] == '\0') {
            notify_refuse(result, "the %s header is missing", required[i]);
            return TOPUP_OK;
        }
    }
    const char *timestamp_text = values[0];
    const char *nonce = values[1];
    const char *signature_base64 = values[2];
    const char *serial = values[3];

    int64_t timestamp = 0;
    if (!parse_timestamp(timestamp_text, &timestamp)) {
        notify_refuse(result, "Wechatpay-Timestamp is not a number of seconds");
        return TOPUP_OK;
    }
    /* Both directions: a replayed old notification and one stamped ahead of a skewed clock. */
    if (timestamp < now - WECHATPAY_TIMESTAMP_TOLERANCE_S ||
        timestamp > now + WECHATPAY_TIMESTAMP_TOLERANCE_S) {
        notify_refuse(result, "Wechatpay-Timestamp is more than %d seconds from now",
                      WECHATPAY_TIMESTAMP_TOLERANCE_S);
        return TOPUP_OK;
    }
    if (platform_serial && strcmp(serial, platform_serial) != 0) {
        notify_refuse(result, "Wechatpay-Serial is not the serial of the platform key");
        return TOPUP_OK;
    }
    const char *signature_type =
        notify_header_get(headers, header_count, "Wechatpay-Signature-Type");
    if (signature_type && strcmp(signature_type, AUTH_SCHEME) != 0) {
        notify_refuse(result, "Wechatpay-Signature-Type is not %s", AUTH_SCHEME);
        return TOPUP_OK;
    }
    if (!is_header_nonce(nonce)) {
        notify_refuse(result, "Wechatpay-Nonce is not printable ASCII of at most %d characters",
                      HEADER_NONCE_MAX);
        return TOPUP_OK;
    }

    unsigned char *signature = NULL;
    size_t signature_size = 0;
    topup_result r = base64_decode(signature_base64, &signature, &signature_size);
    if (r == TOPUP_E_NOMEM)
        return r;
    if (r != TOPUP_OK) {
        notify_refuse(result, "Wechatpay-Signature is not Base64");
        return TOPUP_OK;
    }

    /* timestamp_text is at most 18 digits and nonce at most HEADER_NONCE_MAX characters. */
    size_t prefix_size_max = TIMESTAMP_DIGITS + HEADER_NONCE_MAX + 3;
    char *message = malloc(prefix_size_max + body_size + 1);
    if (!message) {
        free(signature);
        return TOPUP_E_NOMEM;
    }
    int prefix = snprintf(message, prefix_size_max, "%s\n%s\n", timestamp_text, nonce);
    assert(prefix > 0 && (size_t)prefix < prefix_size_max);
    if (body_size > 0)
        memcpy(message + prefix, body, body_size);
    message[(size_t)prefix + body_size] = '\n';
    bool valid = rsa_verify(platform_key, message, (size_t)prefix + body_size + 1, signature,
                            signature_size);
    free(message);
    free(signature);
    if (!valid) {
        notify_refuse(result, "Wechatpay-Signature does not verify with the platform key");
        return TOPUP_OK;
    }

    /* Genuine from here on; what it says is read only now. An empty body (a 204 response) says
     * nothing. */
    if (body_size == 0) {
        result->genuine = true;
        return TOPUP_OK;
    }
    json_error_t error;
    json_t *parsed = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &error);
    if (!parsed) {
        notify_refuse(result, "the body is not JSON: %s", error.text);
        return TOPUP_OK;
    }
    if (apiv3_key && json_is_object(parsed) && json_object_get(parsed, "resource"))
        return decrypt_notification(parsed, apiv3_key, result);
    result->genuine = true;
    result->fields = parsed;
    return TOPUP_OK;
}
