/* WeChat Pay API v3: the WECHATPAY2-SHA256-RSA2048 Authorization of requests, the verification of
 * responses and notifications, and AEAD_AES_256_GCM decryption of notification resources. */
#ifndef TOPUP_WECHATPAY_H
#define TOPUP_WECHATPAY_H

#include "payments/notify.h"

#define WECHATPAY_APIV3_KEY_SIZE        32  /* bytes of the APIv3 key */
#define WECHATPAY_TIMESTAMP_TOLERANCE_S 300 /* notifications older or newer are refused */

/* The Authorization header value for a request:
 * WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."
 * where signature = Base64(SHA256withRSA("METHOD\nPATH_AND_QUERY\nTIMESTAMP\nNONCE\nBODY\n")).
 * body is "" for GET. *header is malloc'd. */
topup_result wechatpay_authorization(const char *mchid, const char *serial_no,
                                     EVP_PKEY *merchant_private_key, const char *method,
                                     const char *path_and_query, const char *body,
                                     int64_t timestamp, const char *nonce, char **header /* OUT */);

/* Verifies a response or notification from its headers (Wechatpay-Timestamp, -Nonce, -Signature,
 * -Serial) and body: the timestamp within WECHATPAY_TIMESTAMP_TOLERANCE_S of now, the serial equal
 * to platform_serial (when non-NULL), and the signature over "TIMESTAMP\nNONCE\nBODY\n" valid for
 * platform_key. When genuine and apiv3_key (WECHATPAY_APIV3_KEY_SIZE bytes, not NUL-terminated
 * necessarily) is non-NULL and the body is a notification with a `resource`, the resource is
 * decrypted and result->fields is {"notification": <body JSON>, "resource": <decrypted JSON>};
 * otherwise result->fields is the body JSON. A resource that fails to decrypt makes the
 * notification not genuine. Returns TOPUP_OK when it could decide. */
topup_result wechatpay_verify(const notify_header *headers, size_t header_count, const char *body,
                              size_t body_size, EVP_PKEY *platform_key, const char *platform_serial,
                              const unsigned char *apiv3_key, int64_t now, notify_result *result);

/* Decrypts a notification resource: AES-256-GCM with the APIv3 key, nonce (12 bytes as text),
 * associated_data (text, may be ""), ciphertext Base64 with the 16-byte tag at its end.
 * *plaintext is malloc'd and NUL-terminated. TOPUP_E_INVALID_ARGUMENT when it does not decrypt
 * (wrong key, tampered ciphertext or associated data). */
topup_result wechatpay_decrypt_resource(const unsigned char *apiv3_key,
                                        const char *ciphertext_base64, const char *nonce,
                                        const char *associated_data, char **plaintext /* OUT */);

#endif
