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

#endif
