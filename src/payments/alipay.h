/* Alipay open platform signatures (RSA2: SHA256withRSA, Base64), as Alipay specifies them:
 * the signed text is every parameter except `sign` (and, for notifications, `sign_type`) with a
 * non-empty value, sorted by name in byte order, joined as name=value with '&', values raw (not
 * URL-encoded). */
#ifndef TOPUP_ALIPAY_H
#define TOPUP_ALIPAY_H

#include "payments/notify.h"

/* The text a request's signature covers. params is a JSON object whose values are strings
 * (others are refused with TOPUP_E_INVALID_ARGUMENT). *text is malloc'd; the caller frees it. */
topup_result alipay_signing_text(const json_t *params, char **text /* OUT */);

/* Signs a request's parameters with the application's private key; *signature is the malloc'd
 * Base64 value of the `sign` parameter. */
topup_result alipay_sign_params(const json_t *params, EVP_PKEY *private_key,
                                char **signature /* OUT */);

/* Verifies an asynchronous notification: body is the application/x-www-form-urlencoded POST
 * body as received (percent-decoded here, '+' as space, UTF-8). Refused (result->genuine false,
 * with the reason) when sign is missing, sign_type is present and not RSA2, a parameter repeats,
 * the encoding is broken, or the signature does not verify with alipay_public_key. Whatever the
 * outcome, result->fields holds the decoded parameters when the body could be parsed.
 * Returns TOPUP_OK when it could decide, TOPUP_E_NOMEM otherwise. */
topup_result alipay_verify_notification(const char *body, size_t body_size,
                                        EVP_PKEY *alipay_public_key, notify_result *result);

/* How a synchronous gateway answer stands with respect to its signature. */
typedef enum alipay_response_signature {
    ALIPAY_RESPONSE_SIGNED,   /* sign verifies with the Alipay public key */
    ALIPAY_RESPONSE_UNSIGNED, /* the answer carries no sign (Alipay omits it on some errors) */
    ALIPAY_RESPONSE_FORGED    /* sign is there and does not verify: nothing in it may be used */
} alipay_response_signature;

/* Reads the answer Alipay's gateway gave to method ("alipay.trade.query"). body is the JSON
 * text as received: {"alipay_trade_query_response":{...},"sign":"..."}. The answer object is
 * the member named after the method with '.' replaced by '_' and "_response" appended, or
 * "error_response" when the gateway could not route the call. Alipay signs the exact bytes of
 * that member's value as they appear in the body, so the signature is checked over that raw
 * slice, never a re-serialisation. A body that is not one JSON object without repeated names,
 * or that has no such member, is refused with the reason.
 *
 * On TOPUP_OK with *signature SIGNED or UNSIGNED, *response is the answer object (the caller
 * json_decrefs it); with FORGED, or when refused, *response is NULL and reason says why.
 * Returns TOPUP_E_NOMEM only when memory ran out. */
topup_result alipay_read_response(const char *body, size_t body_size, const char *method,
                                  EVP_PKEY *alipay_public_key, json_t **response /* OUT */,
                                  alipay_response_signature *signature /* OUT */, char *reason,
                                  size_t reason_size);

#endif
