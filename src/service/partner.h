/* Partner orders on the writer thread: a merchant's signed order debits its float and, for a
 * hosted operator, credits the number at once; for an http operator it queues the recharge for
 * the forwarder. Signed reads (order, balance, statement) run here too, because each of them
 * spends a nonce, and a nonce is spent only in a committed transaction. */
#ifndef TOPUP_PARTNER_H
#define TOPUP_PARTNER_H

#include <stdbool.h>
#include <stdint.h>

#include "partners/signature.h"
#include "service/recharge.h"
#include "store/store.h"

#define PARTNER_ANSWER_SIZE 1024
#define PARTNER_NONCE_SIZE  (PARTNER_NONCE_SIZE_MAX + 1)

/* Who signed, and with which nonce: every job carries it. */
typedef struct partner_caller {
    char merchant_id[MERCHANT_ID_SIZE];
    char nonce[PARTNER_NONCE_SIZE];
} partner_caller;

typedef struct partner_order_job {
    partner_caller caller;                          /* IN */
    char merchant_order_id[MERCHANT_ORDER_ID_SIZE]; /* IN: the idempotency key */
    char callback_url[CALLBACK_URL_SIZE];           /* IN: "" for none */
    uint8_t request_hash[REQUEST_HASH_SIZE];        /* IN: of the canonical body */
    recharge_request recharge;      /* IN: number, quote at the wholesale price, funding float */
    topup_result result;            /* OUT: TOPUP_OK for a new or replayed order */
    bool replayed;                  /* OUT: the order existed */
    char body[PARTNER_ANSWER_SIZE]; /* OUT: the order JSON when result is TOPUP_OK */
} partner_order_job;

/* Writer step: spends the nonce, then replays, refuses (409 reuse, 402 float) or creates. */
topup_result partner_order_apply(store *st, void *payload, int64_t now);

typedef enum partner_read_kind {
    PARTNER_READ_ORDER,     /* by merchant_order_id */
    PARTNER_READ_BALANCE,   /* the float */
    PARTNER_READ_STATEMENT, /* CSV of one day */
    PARTNER_READ_NONE       /* only spends the nonce (the caller answers from memory) */
} partner_read_kind;

typedef struct partner_read_job {
    partner_caller caller;                          /* IN */
    partner_read_kind kind;                         /* IN */
    char merchant_order_id[MERCHANT_ORDER_ID_SIZE]; /* IN: for PARTNER_READ_ORDER */
    int64_t day_start;                              /* IN: for the statement, unix seconds */
    char day[11];                                   /* IN: YYYY-MM-DD, for its lines */
    topup_result result;                            /* OUT */
    char *body;                                     /* OUT: malloc'd answer; the caller frees */
    size_t body_size;                               /* OUT */
} partner_read_job;

/* Writer step: spends the nonce, then reads what kind asks for. */
topup_result partner_read_apply(store *st, void *payload, int64_t now);

/* The partner's view of an order as JSON into buffer; the length, or -1 if it did not fit. */
int partner_order_json(const order_row *order, const partner_order_row *partner, char *buffer,
                       size_t buffer_size);

/* Queues the callback for an order that just reached a final state, when it is a partner's
 * order with a callback URL; otherwise does nothing. In the transaction of that change. */
topup_result partner_callback_queue(store *st, const order_row *order, int64_t now);

/* The settlement account of an operator reached through a connector ("operator:ID"): what the
 * float paid for its recharges, owed to that operator. */
topup_result partner_operator_account(store *st, const char *operator_id, const char *currency,
                                      int64_t *account_id /* OUT */);

/* Beijing time: partners' statements are by the day in China. */
#define PARTNER_UTC_OFFSET_S (8 * 3600)

#endif
