/* The forwarder: a thread that sends partner orders for http operators to the operator's
 * recharge API and settles the ones whose outcome is not known by asking the operator, never by
 * guessing. Each answer is committed through the writer; the operator's circuit breaker decides
 * whether anything is sent at all. */
#ifndef TOPUP_FORWARDER_H
#define TOPUP_FORWARDER_H

#include "partners/breaker.h"
#include "partners/connector.h"
#include "partners/settings.h"
#include "service/writer.h"

/* One answer from an operator (or the lack of one) for the writer. */
typedef struct connector_outcome {
    int64_t order_id;                  /* IN */
    connector_answer answer;           /* IN */
    const partners_settings *settings; /* IN: the retry schedule and give-up time */
    topup_result result;               /* OUT: TOPUP_OK, or why it was not applied */
} connector_outcome;

/* Writer step: moves the order and its connector job by the answer. A final answer (succeeded,
 * failed) completes the order, gives a failed one's price back to the float, and queues the
 * partner's callback; an answer for an order already settled changes nothing. */
topup_result forwarder_outcome_apply(store *st, void *payload, int64_t now);

typedef struct forwarder forwarder;

/* Starts the thread with its own read connection to db_path. settings and board must outlive
 * the forwarder. */
topup_result forwarder_start(const char *db_path, writer *w, const partners_settings *settings,
                             breaker_board *board, forwarder **out /* OUT */);

/* Sends and asks about everything due now, on the calling thread. */
void forwarder_run_once(forwarder *f);

/* Stops the thread (finishing the call in progress) and frees it. */
void forwarder_stop(forwarder *f);

#endif
