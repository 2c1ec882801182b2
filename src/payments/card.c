/* Card payments: Stripe-style webhook signatures.
 *
 * SECURITY: everything here is outside input (the Stripe-Signature header and the body come from
 * the network) except the secret and now. The header is parsed strictly and bounded before any
 * work; the signature is checked (constant-time) before the body is parsed, so an unverified body
 * never reaches the JSON parser. */
#include "payments/card.h"

#include <assert.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNATURE_HEADER_SIZE_MAX 8192 /* a real header is ~150 bytes; a few v1 during rotation */
#define SIGNATURE_ITEM_COUNT_MAX  32   /* t, a handful of v1 (secret rotation), some v0 */
#define TIMESTAMP_DIGIT_COUNT_MAX 18   /* 18 decimal digits always fit in int64_t */
#define SHA256_SIZE               32
#define SIGNATURE_HEX_SIZE        (2 * SHA256_SIZE) /* a v1 value: lower-case hex of the HMAC */
#define SIGNATURE_HEADER_OUT_SIZE 128 /* "t=" 18 digits ",v1=" 64 hex, with room to spare */

/* The v1 items of one header, pointing into the caller's header string. */
typedef struct signature_items {
    int64_t timestamp;                                /* the t item, in Unix seconds */
    const char *candidates[SIGNATURE_ITEM_COUNT_MAX]; /* each v1 value, not NUL-terminated */
    size_t candidate_sizes[SIGNATURE_ITEM_COUNT_MAX]; /* the size of each v1 value */
    size_t candidate_count;                           /* v1 items seen, well-formed or not */
} signature_items;

/* HEX(HMAC-SHA256(secret, "TIMESTAMP.BODY")) into hex, NUL-terminated. The key is the secret's
 * text as written, "whsec_" prefix included, as Stripe uses it (it is not base64-decoded).
 * TOPUP_E_NOMEM when OpenSSL cannot set up the MAC (it only fails for lack of memory or a broken
 * installation). */
static topup_result compute_signature(const char *secret, int64_t timestamp, const char *body,
                                      size_t body_size, char hex[SIGNATURE_HEX_SIZE + 1] /* OUT */)
{
    char prefix[32];
    int prefix_size = snprintf(prefix, sizeof prefix, "%" PRId64 ".", timestamp);
    assert(prefix_size > 0 && (size_t)prefix_size < sizeof prefix);

    topup_result r = TOPUP_E_NOMEM;
    unsigned char mac[SHA256_SIZE];
    size_t mac_size = 0;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *context = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (context && EVP_MAC_init(context, (const unsigned char *)secret, strlen(secret), params) &&
        EVP_MAC_update(context, (const unsigned char *)prefix, (size_t)prefix_size) &&
        EVP_MAC_update(context, (const unsigned char *)body, body_size) &&
        EVP_MAC_final(context, mac, &mac_size, sizeof mac) && mac_size == sizeof mac) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof mac; i++) {
            hex[2 * i] = digits[mac[i] >> 4];
            hex[2 * i + 1] = digits[mac[i] & 0x0f];
        }
        hex[SIGNATURE_HEX_SIZE] = '\0';
        r = TOPUP_OK;
    }
    EVP_MAC_CTX_free(context);
    EVP_MAC_free(hmac);
    OPENSSL_cleanse(mac, sizeof mac);
    return r;
}

/* Parses "t=DIGITS" strictly: 1 to 18 decimal digits, no sign, no leading zero, no space. */
static bool parse_timestamp(const char *value, size_t value_size, int64_t *timestamp /* OUT */)
{
    if (value_size == 0 || value_size > TIMESTAMP_DIGIT_COUNT_MAX ||
        (value[0] == '0' && value_size > 1))
        return false;
    int64_t parsed = 0;
    for (size_t i = 0; i < value_size; i++) {
        if (value[i] < '0' || value[i] > '9')
            return false;
        parsed = parsed * 10 + (value[i] - '0');
    }
    *timestamp = parsed;
    return true;
}

/* Scheme names are lower-case letters and digits ("t", "v1", "v0"); anything else, such as a
 * space after a comma, makes the header malformed rather than an unknown scheme. */
static bool is_key(const char *key, size_t key_size)
{
    for (size_t i = 0; i < key_size; i++)
        if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9')))
            return false;
    return true;
}

/* Splits header into comma-separated key=value items: exactly one t, any number of v1 (collected,
 * not judged), other schemes ignored. Returns false with a reason in result when the header is
 * malformed: an empty item, an item without '=', or a key that is not is_key. */
static bool parse_header(const char *header, size_t header_size, signature_items *items /* OUT */,
                         notify_result *result)
{
    memset(items, 0, sizeof *items);
    bool timestamp_seen = false;
    size_t item_count = 0;
    const char *end = header + header_size;
    for (const char *item = header; item <= end;) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *item_end = comma ? comma : end;
        if (++item_count > SIGNATURE_ITEM_COUNT_MAX) {
            notify_refuse(result, "the signature header has more than %d items",
                          SIGNATURE_ITEM_COUNT_MAX);
            return false;
        }
        const char *equals = memchr(item, '=', (size_t)(item_end - item));
        if (!equals || equals == item || !is_key(item, (size_t)(equals - item))) {
            notify_refuse(result, "the signature header is malformed: item %zu is not key=value",
                          item_count);
            return false;
        }
        size_t key_size = (size_t)(equals - item);
        const char *value = equals + 1;
        size_t value_size = (size_t)(item_end - value);
        if (key_size == 1 && item[0] == 't') {
            if (timestamp_seen) {
                notify_refuse(result, "the signature header has more than one timestamp (t)");
                return false;
            }
            if (!parse_timestamp(value, value_size, &items->timestamp)) {
                notify_refuse(result, "the signature header's timestamp (t) is not decimal "
                                      "seconds");
                return false;
            }
            timestamp_seen = true;
        } else if (key_size == 2 && item[0] == 'v' && item[1] == '1') {
            items->candidates[items->candidate_count] = value;
            items->candidate_sizes[items->candidate_count] = value_size;
            items->candidate_count++;
        }
        /* Any other scheme (v0, a future v2) is not ours to judge and is ignored. */
        if (!comma)
            break;
        item = comma + 1;
    }
    if (!timestamp_seen) {
        notify_refuse(result, "the signature header has no timestamp (t)");
        return false;
    }
    if (items->candidate_count == 0) {
        notify_refuse(result, "the signature header has no v1 signature");
        return false;
    }
    return true;
}

topup_result card_verify_webhook(const char *signature_header, const char *body, size_t body_size,
                                 const char *secret, int64_t now, int64_t tolerance_s,
                                 notify_result *result)
{
    if (!result)
        return TOPUP_E_INVALID_ARGUMENT;
    result->genuine = false;
    result->reason[0] = '\0';
    result->fields = NULL;
    if (!signature_header || (!body && body_size > 0) || !secret || secret[0] == '\0' ||
        tolerance_s < 0)
        return TOPUP_E_INVALID_ARGUMENT;
    if (!body)
        body = "";

    size_t header_size = strnlen(signature_header, SIGNATURE_HEADER_SIZE_MAX + 1);
    if (header_size > SIGNATURE_HEADER_SIZE_MAX) {
        notify_refuse(result, "the signature header is longer than %d bytes",
                      SIGNATURE_HEADER_SIZE_MAX);
        return TOPUP_OK;
    }
    if (body_size > NOTIFY_BODY_SIZE_MAX) {
        notify_refuse(result, "the body is larger than %d bytes", NOTIFY_BODY_SIZE_MAX);
        return TOPUP_OK;
    }
    signature_items items;
    if (!parse_header(signature_header, header_size, &items, result))
        return TOPUP_OK;

    char expected[SIGNATURE_HEX_SIZE + 1];
    topup_result r = compute_signature(secret, items.timestamp, body, body_size, expected);
    if (r != TOPUP_OK)
        return r;
    /* Every candidate is compared, so the time taken does not say which one matched. */
    bool matched = false;
    for (size_t i = 0; i < items.candidate_count; i++)
        if (items.candidate_sizes[i] == SIGNATURE_HEX_SIZE &&
            CRYPTO_memcmp(items.candidates[i], expected, SIGNATURE_HEX_SIZE) == 0)
            matched = true;
    OPENSSL_cleanse(expected, sizeof expected);
    if (!matched) {
        notify_refuse(result, "no v1 signature matches the body and timestamp for this secret");
        return TOPUP_OK;
    }

    /* Unsigned difference: exact for any two int64_t, where the signed one could overflow. */
    uint64_t distance_s = items.timestamp <= now ? (uint64_t)now - (uint64_t)items.timestamp
                                                 : (uint64_t)items.timestamp - (uint64_t)now;
    if (distance_s > (uint64_t)tolerance_s) {
        notify_refuse(result,
                      "the signature's timestamp is %" PRIu64 " seconds in the %s, more than the "
                      "tolerance of %" PRId64 " seconds",
                      distance_s, items.timestamp <= now ? "past" : "future", tolerance_s);
        return TOPUP_OK;
    }

    json_error_t error;
    json_t *event = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &error);
    if (!event || !json_is_object(event)) {
        json_decref(event);
        notify_refuse(result, "the body is signed but is not a JSON object");
        return TOPUP_OK;
    }
    result->genuine = true;
    result->fields = event;
    return TOPUP_OK;
}

topup_result card_sign_webhook(const char *body, size_t body_size, const char *secret,
                               int64_t timestamp, char **signature_header)
{
    if (!signature_header)
        return TOPUP_E_INVALID_ARGUMENT;
    *signature_header = NULL;
    if ((!body && body_size > 0) || !secret || secret[0] == '\0' || timestamp < 0)
        return TOPUP_E_INVALID_ARGUMENT;
    /* The verifier reads at most 18 digits, so a later time could never be verified. */
    if (timestamp > 999999999999999999)
        return TOPUP_E_INVALID_ARGUMENT;
    char hex[SIGNATURE_HEX_SIZE + 1];
    topup_result r = compute_signature(secret, timestamp, body ? body : "", body_size, hex);
    if (r != TOPUP_OK)
        return r;
    char *header = malloc(SIGNATURE_HEADER_OUT_SIZE);
    if (!header)
        return TOPUP_E_NOMEM;
    int size = snprintf(header, SIGNATURE_HEADER_OUT_SIZE, "t=%" PRId64 ",v1=%s", timestamp, hex);
    assert(size > 0 && size < SIGNATURE_HEADER_OUT_SIZE);
    (void)size; /* only asserted */
    *signature_header = header;
    return TOPUP_OK;
}
