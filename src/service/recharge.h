/* The recharge: one order, paid on creation from a funding account and, for a hosted operator,
 * credited at once. Everything it changes commits in the caller's transaction or not at all. */
#ifndef TOPUP_RECHARGE_H
#define TOPUP_RECHARGE_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "store/store.h"

#define RECHARGE_RESPONSE_SIZE 1024 /* the order JSON is about 400 bytes */

/* Everything the write path needs, resolved before it reaches the writer so the single writer
 * thread does only database work. */
typedef struct recharge_request {
    char channel[CHANNEL_SIZE];                 /* "api", "cli" */
    int64_t api_key_id;                         /* idempotency scope; 0 for the CLI */
    char idempotency_key[IDEMPOTENCY_KEY_SIZE]; /* "" when the caller gave none */
    uint8_t request_hash[REQUEST_HASH_SIZE];    /* SHA-256 of the request, for key reuse */
    char funding_account[ACCOUNT_CODE_SIZE];    /* account code the price is debited from */
    char msisdn[E164_SIZE];
    char operator_id[CATALOG_ID_SIZE];
    char connector[16];
    char product_id[CATALOG_ID_SIZE];
    int64_t face_minor;  /* credited to the subscriber */
    int64_t price_minor; /* debited from the funding account */
    char currency[CURRENCY_CODE_SIZE];
    int validity_days;
    char sms_lang[8]; /* the language of the SMS the credit queues; "" = no SMS */
} recharge_request;

typedef struct recharge_response {
    topup_result result;               /* TOPUP_OK for a new or replayed success */
    int http_status;                   /* 201, or the error's status */
    bool replayed;                     /* the answer is the stored first answer */
    order_row order;                   /* valid when result is TOPUP_OK and !replayed */
    char body[RECHARGE_RESPONSE_SIZE]; /* the JSON answer (order, or problem+json) */
} recharge_response;

/* Fills the resolved parts of a request from a number and a quote. */
void recharge_request_set_quote(recharge_request *request, const char *msisdn,
                                const operator_info *op, const product_quote *quote);

/* For a request whose idempotency key (scoped by api_key_id) was seen before: fills the response
 * with the stored first answer when request_hash matches, or the 409 idempotency_key_reused
 * refusal when it does not, and returns true. Returns false when the key is new. Needs only
 * idempotency_key, api_key_id and request_hash, so callers check it before resolving anything
 * else: a retry must get its first answer even after the catalog or the number has changed. */
bool recharge_replay(store *st, const recharge_request *request,
                     recharge_response *response /* OUT */);

/* Applies one recharge inside the caller's open transaction, in its own savepoint: replays the
 * stored answer for a known idempotency key, refuses a reused key with another request, else
 * creates the order, moves the money, extends validity and stores the answer under the key.
 * A refused request (4xx) leaves only its stored answer; a storage failure leaves nothing and
 * the caller must roll the transaction back. */
void recharge_apply(store *st, const recharge_request *request, int64_t now,
                    recharge_response *response /* OUT */);

/* The subscriber a request credits: the existing one when it may be recharged
 * (TOPUP_E_SUBSCRIBER_CLOSED, TOPUP_E_CURRENCY_MISMATCH otherwise), or a new one for a hosted
 * operator's number (TOPUP_E_SUBSCRIBER_UNKNOWN for another connector). In a transaction. */
topup_result recharge_subscriber(store *st, const recharge_request *request, int64_t now,
                                 subscriber_row *sub /* OUT */);

/* Fills a new order (not yet inserted) from a resolved request. */
void recharge_order_prepare(const recharge_request *request, int64_t funding_account_id,
                            order_status status, int64_t now, order_row *order /* OUT */);

/* Credits a paid order: paid -> submitted -> succeeded, with the transfers (face value to the
 * subscriber, price from the order's funding account, discount or surcharge) and the validity
 * the request's product adds. In the caller's transaction; on error the caller rolls back. */
topup_result recharge_fulfil(store *st, const recharge_request *request, const subscriber_row *sub,
                             order_row *order /* IN, OUT */, int64_t now);

/* The transfers of a paid order: the price out of its funding account, the face value into
 * credited_account_id (a subscriber's account, or the settlement account of an operator reached
 * through a connector), the difference to promotion expense or fee income. balance_after (may be
 * NULL) is the credited account's balance after. In the caller's transaction. */
topup_result recharge_move_money(store *st, const order_row *order, int64_t credited_account_id,
                                 int64_t *balance_after /* OUT */);

/* The reverse of recharge_move_money, as new transfers of the given kind ("refund" for a failed
 * order, "counter_reversal" for a reversed one): the face value out of credited_account_id, the
 * price back to paying_account_id (the funding account, or the drawer paying cash back), the
 * difference back to promotion expense or fee income. */
topup_result recharge_return_money(store *st, const order_row *order, int64_t credited_account_id,
                                   int64_t paying_account_id, const char *kind);

/* Fills response with the problem answer for result. */
void recharge_answer_error(recharge_response *response, topup_result result);

/* Writes the order as the API's JSON object into buffer; returns the length, or -1 if it did not
 * fit. */
int recharge_order_json(const order_row *order, char *buffer, size_t buffer_size);

#endif
