/* Orders paid through a payment provider: created -> awaiting_payment -> paid -> credited.
 *
 * Every function here is a database step run on the writer thread (or the CLI) inside a
 * transaction, in its own savepoint; the calls to the provider happen between the steps, on
 * other threads, and their outcomes come back as the inputs of the next step. So no transaction
 * ever waits on the network, and what the provider said is on disk before anyone is told.
 *
 * Money: the payer's money arrives in clearing:PROVIDER. A credited order moves its price from
 * there like any recharge. Money that cannot be credited (a payment for a closed order, a credit
 * the subscriber's state refused) moves to refunds_payable:PROVIDER and goes back to clearing
 * when the provider confirms the refund, so `topup verify` can check that refunds_payable holds
 * exactly the refunds still owed. */
#ifndef TOPUP_PAYMENT_H
#define TOPUP_PAYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "payments/provider.h"
#include "service/recharge.h"
#include "store/store.h"

#define PAYMENT_ANSWER_SIZE    (RECHARGE_RESPONSE_SIZE + PAYMENT_URL_SIZE + 1024)
#define PAYMENT_CREATE_GRACE_S 60 /* a payment still "creating" after this is settled by query */

/* How long to wait and how often to retry (from payment_settings). */
typedef struct payment_timing {
    int64_t retry_base_ms;
    int64_t retry_max_ms;
} payment_timing;

/* The next time to ask a provider after attempts unanswered tries: base * 2^attempts, capped. */
int64_t payment_retry_at(const payment_timing *timing, int attempts, int64_t now);

/* ---- opening a payment order ---- */

typedef struct payment_open {
    recharge_request recharge; /* resolved number, product, amounts; channel and idempotency */
    char provider[PROVIDER_NAME_SIZE];
    pay_method method;
    int64_t expires_at;         /* the payer may pay until then; the order closes after */
    char owner[E164_SIZE];      /* the portal account placing it; "" for none */
    counter_order_row *counter; /* a counter recharge's record, written with the order (its
                                   order_id filled in) so no order is ever without it; NULL
                                   for none */

    /* OUT */
    topup_result result;
    int http_status;
    bool replayed;
    int64_t order_id; /* the order made (or, for a replay, the first request's order) */
    int64_t payment_id;
    char body[PAYMENT_ANSWER_SIZE]; /* the problem answer when refused */
} payment_open;

/* Step 1: creates the order (created) and its payment (creating), or refuses (closed number,
 * idempotency key reused...) or finds the first request's order for a replayed key. */
topup_result payment_open_apply(store *st, void *payload /* payment_open */, int64_t now);

/* ---- the provider's answer to create ---- */

typedef struct payment_create_outcome {
    int64_t payment_id;
    gateway_status status;
    payment_created created;
    char detail[GATEWAY_DETAIL_SIZE];
    payment_timing timing;
} payment_create_outcome;

/* Step 2: pending (order awaiting_payment), paid at once (a payment code: credited), refused
 * (payment failed, order closed) or unknown (to be settled by query). */
topup_result payment_create_apply(store *st, void *payload /* payment_create_outcome */,
                                  int64_t now);

/* ---- notifications ---- */

typedef struct payment_notification {
    char provider[PROVIDER_NAME_SIZE];
    const char *headers; /* raw header block as received */
    const char *body;
    size_t body_size;
    bool genuine;                    /* the signature (and time) held */
    bool for_us;                     /* app id / merchant id are this deployment's */
    char reason[NOTIFY_REASON_SIZE]; /* why not genuine or not for us */
    payment_notice notice;           /* what it says, when genuine */

    /* OUT */
    bool accepted; /* handled: the provider may stop resending */
    char verdict[16];
    char detail[REASON_SIZE];
} payment_notification;

/* Records the raw notification with its verdict and, when genuine and for us, acts on it:
 * credits a payment (once: a repeated trade number changes nothing), closes an unpaid one,
 * raises an alert for an amount or currency that differs from the order (crediting nothing),
 * and refunds a payment that arrives for an order that was closed. */
topup_result payment_notification_apply(store *st, void *payload /* payment_notification */,
                                        int64_t now);

/* ---- settlement by query, close and refund (the settlement worker's results) ---- */

typedef enum settle_kind { SETTLE_QUERY, SETTLE_CLOSE, SETTLE_REFUND } settle_kind;

typedef struct payment_settle {
    settle_kind kind;
    int64_t id; /* payment id (query, close) or refund id (refund) */
    gateway_status status;
    trade_info trade;   /* SETTLE_QUERY */
    refund_info refund; /* SETTLE_REFUND */
    char detail[GATEWAY_DETAIL_SIZE];
    payment_timing timing;
} payment_settle;

topup_result payment_settle_apply(store *st, void *payload /* payment_settle */, int64_t now);

/* ---- reading ---- */

/* The payment order as the API shows it (order fields and a "payment" object), as a new JSON
 * object; NULL when out of memory. */
json_t *payment_order_json(const order_row *order, const payment_row *payment,
                           const refund_row *refund /* may be NULL */);

/* Moves amount_minor of the order's payment from the provider's clearing account to its
 * refunds_payable account and queues the refund (out_request_no "RF" + out_trade_no), which the
 * settlement worker sends until the provider says done or refused. In the caller's transaction:
 * what a paid order that cannot be credited, or a reversed one, gives back. */
topup_result payment_hold_for_refund(store *st, const order_row *order, const payment_row *payment,
                                     int64_t amount_minor, const char *currency, const char *reason,
                                     int64_t now);

#endif
