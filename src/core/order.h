/* The recharge order state machine. The transition table lives only in order.c. */
#ifndef TOPUP_ORDER_H
#define TOPUP_ORDER_H

#include <stdbool.h>

#include "core/result.h"

typedef enum order_status {
    ORDER_NONE = 0, /* before the order exists: the "from" of its first event */
    ORDER_CREATED,
    ORDER_AWAITING_PAYMENT,
    ORDER_PAID,
    ORDER_SUBMITTED,
    ORDER_SUCCEEDED,
    ORDER_FAILED,
    ORDER_REFUNDED,
    ORDER_UNKNOWN,
    ORDER_CLOSED,   /* never paid: the payment expired, failed or was cancelled */
    ORDER_REVERSED, /* credited, then taken back at the counter and the money returned */
    ORDER_STATUS_COUNT
} order_status;

/* Lower-case name as stored and shown by the API ("awaiting_payment"); "none" for ORDER_NONE. */
const char *order_status_name(order_status status);

/* Parses a name produced by order_status_name. Returns false for anything else. */
bool order_status_parse(const char *name, order_status *status /* OUT */);

/* Whether the machine allows from -> to. ORDER_NONE -> created | paid starts an order. */
bool order_transition_allowed(order_status from, order_status to);

/* TOPUP_OK when allowed, TOPUP_E_ILLEGAL_TRANSITION otherwise. */
topup_result order_transition_check(order_status from, order_status to);

/* True for states no transition leaves: succeeded, refunded and closed. */
bool order_status_is_final(order_status status);

#endif
