/* Partner request signatures: HMAC-SHA256, with the merchant's secret, over
 *
 *     METHOD "\n" PATH[?QUERY] "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(BODY))
 *
 * sent as X-Topup-Merchant, X-Topup-Timestamp (unix seconds), X-Topup-Nonce (8-64 characters of
 * [0-9A-Za-z_-]) and X-Topup-Signature (64 lower-case hex). The same scheme signs topup's
 * callbacks to the merchant. Hashing the body keeps the signed text small and unambiguous
 * whatever the body holds. */
#ifndef TOPUP_PARTNER_SIGNATURE_H
#define TOPUP_PARTNER_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define PARTNER_SIGNATURE_HEX_SIZE    65 /* 64 hex characters and the NUL */
#define PARTNER_NONCE_SIZE_MAX        64
#define PARTNER_TIMESTAMP_TOLERANCE_S 300

/* The text the signature covers; *text is malloc'd. TOPUP_E_INVALID_ARGUMENT for a malformed
 * nonce or a method/path with a newline. */
topup_result partner_signing_text(const char *method, const char *path_and_query, int64_t timestamp,
                                  const char *nonce, const void *body, size_t body_size,
                                  char **text /* OUT */);

/* The hex HMAC-SHA256 of text with secret. */
topup_result partner_sign(const char *secret, const char *text,
                          char signature[PARTNER_SIGNATURE_HEX_SIZE] /* OUT */);

/* Checks a request: the timestamp within PARTNER_TIMESTAMP_TOLERANCE_S of now and the signature
 * equal (in constant time) to the one secret gives. Returns TOPUP_OK, or
 * TOPUP_E_INVALID_ARGUMENT with the reason in reason (stale, malformed, wrong signature). */
topup_result partner_verify(const char *secret, const char *method, const char *path_and_query,
                            const char *timestamp_text, const char *nonce, const void *body,
                            size_t body_size, const char *signature, int64_t now, char *reason,
                            size_t reason_size);

/* Whether nonce is 8-64 characters of [0-9A-Za-z_-]. */
bool partner_nonce_valid(const char *nonce);

#endif
