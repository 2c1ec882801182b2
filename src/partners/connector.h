/* The http operator connector: topup's side of the documented JSON + HMAC recharge protocol
 * (docs/partners.md). A request is signed with the operator's secret like a partner request; an
 * answer counts only when its X-Operator-Signature covers its body and the request's own
 * timestamp and nonce, so a replayed or forged answer can never settle an order. */
#ifndef TOPUP_CONNECTOR_H
#define TOPUP_CONNECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

typedef enum connector_verdict {
    CONNECTOR_SUCCEEDED, /* the operator credited the number */
    CONNECTOR_FAILED,    /* the operator refused it, or (status query) never got it */
    CONNECTOR_PENDING,   /* the operator has it and has not finished */
    CONNECTOR_UNKNOWN,   /* it may have arrived, but no trustworthy answer came back */
    CONNECTOR_NOT_SENT   /* no connection was made: the operator got nothing */
} connector_verdict;

typedef struct connector_answer {
    connector_verdict verdict;
    bool reached; /* a signed answer came back: the operator is up (for its circuit) */
    char operator_order_id[PAYMENT_TEXT_SIZE];
    char detail[REASON_SIZE]; /* the operator's reason, or what went wrong */
} connector_answer;

/* Sends the order's recharge (POST {url}/recharges). */
void connector_send(const operator_endpoint_row *endpoint, const order_row *order, int64_t now,
                    connector_answer *answer /* OUT */);

/* Asks about an order sent before (GET {url}/recharges/{order_id}). */
void connector_query(const operator_endpoint_row *endpoint, int64_t order_id, int64_t now,
                     connector_answer *answer /* OUT */);

/* The path (and query) of an absolute URL, the part a signature covers: "/" when it has none.
 * NULL when url is not http:// or https://, or has a query or fragment but no path. Points into
 * url. */
const char *connector_url_path(const char *url);

#endif
