/* Card payments through a hosted checkout: Stripe-style signed webhooks. topup never sees or
 * stores card numbers; it only verifies the checkout's event notifications. */
#ifndef TOPUP_CARD_H
#define TOPUP_CARD_H

#include "payments/notify.h"

#define CARD_WEBHOOK_TOLERANCE_S 300 /* default: events signed further from now are refused */

/* Verifies a webhook: signature_header is the Stripe-Signature value "t=TIMESTAMP,v1=HEX[,v1=HEX
 * ...]" (other schemes such as v0 are ignored); any v1 equal (constant-time) to
 * HEX(HMAC-SHA256(secret, "TIMESTAMP.BODY")) makes it genuine, if |now - TIMESTAMP| <=
 * tolerance_s. On success result->fields is the parsed JSON body (an event). Returns TOPUP_OK
 * when it could decide. */
topup_result card_verify_webhook(const char *signature_header, const char *body, size_t body_size,
                                 const char *secret, int64_t now, int64_t tolerance_s,
                                 notify_result *result);

/* The Stripe-Signature value for body at timestamp (for the sandbox and tests). malloc'd. */
topup_result card_sign_webhook(const char *body, size_t body_size, const char *secret,
                               int64_t timestamp, char **signature_header /* OUT */);

#endif
