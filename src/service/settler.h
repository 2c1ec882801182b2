/* The settlement worker: a thread that finds payments and refunds whose outcome is not settled
 * and asks their provider, never guessing. A payment the provider did not answer about is
 * queried with backoff; one that expired unpaid is closed at the provider (after a last query,
 * since a notification may have been lost); a refund is sent, and re-sent with the same request
 * number until the provider says it is done or refused. Each answer is committed through the
 * writer like any other change. */
#ifndef TOPUP_SETTLER_H
#define TOPUP_SETTLER_H

#include "payments/gateways.h"
#include "service/writer.h"

typedef struct settler settler;

/* Starts the thread with its own read connection to db_path. */
topup_result settler_start(const char *db_path, writer *w, const payment_gateways *gateways,
                           settler **out /* OUT */);

/* Settles everything due now, on the calling thread (for the CLI and tests). */
void settler_run_once(settler *s);

/* Stops the thread (finishing the call in progress) and frees it. */
void settler_stop(settler *s);

#endif
