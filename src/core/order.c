#include "core/order.h"

#include <stddef.h>
#include <string.h>

/* Indexed by order_status. These are stored in the database and returned by the API, so a
 * name never changes once released. */
static const char *const status_names[] = {
    [ORDER_NONE] = "none",
    [ORDER_CREATED] = "created",
    [ORDER_AWAITING_PAYMENT] = "awaiting_payment",
    [ORDER_PAID] = "paid",
    [ORDER_SUBMITTED] = "submitted",
    [ORDER_SUCCEEDED] = "succeeded",
    [ORDER_FAILED] = "failed",
    [ORDER_REFUNDED] = "refunded",
    [ORDER_UNKNOWN] = "unknown",
    [ORDER_CLOSED] = "closed",
    [ORDER_REVERSED] = "reversed",
};

_Static_assert(sizeof status_names / sizeof status_names[0] == ORDER_STATUS_COUNT,
               "every order_status needs a name");

struct transition {
    order_status from; /* the order's current status */
    order_status to;   /* the status the event moves it to */
    bool correction;   /* undoes a finished order: does not make from less final */
};

/* The whole order state machine; nothing else in topup decides which moves are legal.
 * - none -> created | paid: an order is born unpaid (portal, app) or already paid (counter,
 *   partner with a float).
 * - submitted -> unknown: the provider or operator did not answer in time. Only a status query
 *   settles it (unknown -> succeeded | failed); there is no timeout path to failed, because
 *   guessing could refund a recharge that went through.
 * - created | awaiting_payment -> closed: the payment could not be created, expired unpaid or
 *   was cancelled. A payment that still arrives for a closed order is refunded without the
 *   order moving again: closed is final, the refund lives with the payment.
 * - paid -> failed: paid through a provider but the credit was refused (the number closed
 *   meanwhile); the payment is then refunded.
 * - failed -> refunded is how money goes back for an order that did not go through.
 * - succeeded -> reversed: a counter supervisor takes a recharge back within the reversal
 *   window while the credit is still on the balance (service/counter_desk.c). It is a
 *   correction, so succeeded stays final for everything that waits on an outcome. */
static const struct transition transitions[] = {
    {ORDER_NONE, ORDER_CREATED, false},
    {ORDER_NONE, ORDER_PAID, false},
    {ORDER_CREATED, ORDER_AWAITING_PAYMENT, false},
    {ORDER_CREATED, ORDER_CLOSED, false},
    {ORDER_AWAITING_PAYMENT, ORDER_PAID, false},
    {ORDER_AWAITING_PAYMENT, ORDER_CLOSED, false},
    {ORDER_PAID, ORDER_SUBMITTED, false},
    {ORDER_PAID, ORDER_FAILED, false},
    {ORDER_SUBMITTED, ORDER_SUCCEEDED, false},
    {ORDER_SUBMITTED, ORDER_FAILED, false},
    {ORDER_SUBMITTED, ORDER_UNKNOWN, false},
    {ORDER_UNKNOWN, ORDER_SUCCEEDED, false},
    {ORDER_UNKNOWN, ORDER_FAILED, false},
    {ORDER_FAILED, ORDER_REFUNDED, false},
    {ORDER_SUCCEEDED, ORDER_REVERSED, true},
};

#define TRANSITION_COUNT (sizeof transitions / sizeof transitions[0])

static bool status_valid(order_status status)
{
    /* Through unsigned so that a negative value is rejected whatever type the enum gets. */
    return (unsigned)status < (unsigned)ORDER_STATUS_COUNT;
}

/* Returns "invalid" for a value outside the enum so that a log line about a corrupt status
 * still prints instead of reading past the table. */
const char *order_status_name(order_status status)
{
    return status_valid(status) ? status_names[status] : "invalid";
}

bool order_status_parse(const char *name, order_status *status /* OUT */)
{
    if (name == NULL)
        return false;
    for (int i = 0; i < ORDER_STATUS_COUNT; i++) {
        if (strcmp(status_names[i], name) == 0) {
            *status = (order_status)i;
            return true;
        }
    }
    return false;
}

bool order_transition_allowed(order_status from, order_status to)
{
    for (size_t i = 0; i < TRANSITION_COUNT; i++) {
        if (transitions[i].from == from && transitions[i].to == to)
            return true;
    }
    return false;
}

topup_result order_transition_check(order_status from, order_status to)
{
    return order_transition_allowed(from, to) ? TOPUP_OK : TOPUP_E_ILLEGAL_TRANSITION;
}

/* Derived from the table so that "final" can never disagree with what the machine allows. */
bool order_status_is_final(order_status status)
{
    if (!status_valid(status))
        return false;
    for (size_t i = 0; i < TRANSITION_COUNT; i++) {
        if (transitions[i].from == status && !transitions[i].correction)
            return false;
    }
    return true;
}
