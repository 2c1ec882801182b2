/* The sandbox provider: payments for demos and `make run`, with no third party. Its payment
 * page is served by topupd itself (/sandbox/pay/{out_trade_no}); the payer chooses to pay or to
 * fail, and the page turns that into a notification signed with the sandbox's webhook secret
 * (the card checkout's scheme: "Sandbox-Signature: t=..,v1=HMAC-SHA256(t.body)") that goes
 * through the same intake and verification as every real provider's. Off unless configured. */
#ifndef TOPUP_SANDBOX_H
#define TOPUP_SANDBOX_H

#include "payments/provider.h"

#define SANDBOX_SIGNATURE_HEADER "Sandbox-Signature"

/* The signed notification the sandbox sends when the payer paid (paid true: the full amount,
 * with a fresh trade number) or gave up (paid false: the trade closes). *body and *signature
 * (the Sandbox-Signature value) are malloc'd. */
topup_result sandbox_notification(provider *p, const char *out_trade_no, bool paid,
                                  int64_t amount_minor, const char *currency, int64_t now,
                                  char **body /* OUT */, char **signature /* OUT */);

#endif
