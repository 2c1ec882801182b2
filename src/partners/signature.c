#include "partners/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"

bool partner_nonce_valid(const char *nonce)
{
    size_t length = nonce ? strlen(nonce) : 0;
    return length >= 8 && length <= PARTNER_NONCE_SIZE_MAX &&
           strspn(nonce, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") ==
               length;
}

static void to_hex(const unsigned char *bytes, size_t size, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * size] = '\0';
}

topup_result partner_signing_text(const char *method, const char *path_and_query, int64_t timestamp,
                                  const char *nonce, const void *body, size_t body_size,
                                  char **text)
{
    *text = NULL;
    if (!partner_nonce_valid(nonce) || strpbrk(method, "\r\n") || strpbrk(path_and_query, "\r\n"))
        return TOPUP_E_INVALID_ARGUMENT;
    unsigned char digest[32];
    unsigned int digest_size = 0;
    if (!EVP_Digest(body ? body : "", body_size, digest, &digest_size, EVP_sha256(), NULL))
        return TOPUP_E_NOMEM;
    char body_hex[65];
    to_hex(digest, sizeof digest, body_hex);
    size_t size = strlen(method) + strlen(path_and_query) + strlen(nonce) + 24 + 64 + 5;
    *text = malloc(size);
    if (!*text)
        return TOPUP_E_NOMEM;
    snprintf(*text, size, "%s\n%s\n%lld\n%s\n%s", method, path_and_query, (long long)timestamp,
             nonce, body_hex);
    return TOPUP_OK;
}

topup_result partner_sign(const char *secret, const char *text,
                          char signature[PARTNER_SIGNATURE_HEX_SIZE])
{
    unsigned char mac[32];
    unsigned int mac_size = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)text, strlen(text),
              mac, &mac_size) ||
        mac_size != sizeof mac)
        return TOPUP_E_NOMEM;
    to_hex(mac, sizeof mac, signature);
    return TOPUP_OK;
}

static topup_result refuse(char *reason, size_t reason_size, const char *why)
{
    snprintf(reason, reason_size, "%s", why);
    return TOPUP_E_INVALID_ARGUMENT;
}

topup_result partner_verify(const char *secret, const char *method, const char *path_and_query,
                            const char *timestamp_text, const char *nonce, const void *body,
                            size_t body_size, const char *signature, int64_t now, char *reason,
                            size_t reason_size)
{
    int64_t timestamp;
    if (!timestamp_text || !decimal_parse(timestamp_text, 1, INT64_MAX / 2, &timestamp))
        return refuse(reason, reason_size, "X-Topup-Timestamp must be unix seconds");
    if (timestamp < now - PARTNER_TIMESTAMP_TOLERANCE_S ||
        timestamp > now + PARTNER_TIMESTAMP_TOLERANCE_S)
        return refuse(reason, reason_size, "X-Topup-Timestamp is more than 300 s from now");
    if (!partner_nonce_valid(nonce))
        return refuse(reason, reason_size,
                      "X-Topup-Nonce must be 8-64 characters of [0-9A-Za-z_-]");
    if (!signature || strlen(signature) != PARTNER_SIGNATURE_HEX_SIZE - 1)
        return refuse(reason, reason_size, "X-Topup-Signature must be 64 hex characters");
    char *text = NULL;
    char expected[PARTNER_SIGNATURE_HEX_SIZE];
    topup_result r =
        partner_signing_text(method, path_and_query, timestamp, nonce, body, body_size, &text);
    if (r == TOPUP_OK)
        r = partner_sign(secret, text, expected);
    free(text);
    if (r != TOPUP_OK)
        return r;
    /* Constant time: how much of a guess matched must not show in how long the answer takes. */
    bool match = CRYPTO_memcmp(expected, signature, PARTNER_SIGNATURE_HEX_SIZE - 1) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    return match ? TOPUP_OK : refuse(reason, reason_size, "the signature does not match");
}
