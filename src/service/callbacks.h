/* The partner callback worker: delivers the callback outbox (store.h "partner callbacks") to the
 * merchants, as docs/partners.md "Callbacks" promises. Each callback is POSTed to its URL with
 * its recorded body, signed with the merchant's secret (partners/signature.h); a 2xx delivers
 * it, anything else is tried again on the partners.callback_retry_s schedule until
 * partners.callback_give_up_s after it was written, when it is dead. Every attempt is recorded
 * with the callback's new state in one writer step.
 *
 * Never twice at once: before a callback is sent it is claimed through the writer, which moves
 * its next_attempt_at past the attempt's timeout (a lease). Whoever else looks at it meanwhile
 * (another delivery thread, callbacks_run_once, a second daemon on the same database) finds it
 * not due. A daemon that dies mid-attempt leaves the lease, and the callback goes out again when
 * it ends: the merchant may see a callback twice, never two at the same time.
 *
 * Locking: the worker's threads share its state under one mutex; the read connection has its
 * own lock, so callbacks_run_once may be called while the threads run. */
#ifndef TOPUP_CALLBACKS_H
#define TOPUP_CALLBACKS_H

#include "partners/settings.h"
#include "service/writer.h"

/* Attempts in flight at once, so one slow merchant (up to callback_timeout_ms per attempt) does
 * not hold up the others. */
#define CALLBACKS_SENDERS 4

typedef struct callbacks callbacks;

/* Starts the threads with their own read connection to db_path; settings are copied. */
topup_result callbacks_start(const char *db_path, writer *w, const partners_settings *settings,
                             callbacks **out /* OUT */);

/* Delivers every callback due now, one after the other on the calling thread (for the CLI and
 * tests), and returns when each has had its attempt recorded. Callbacks the threads are sending
 * at that moment are left to them. */
void callbacks_run_once(callbacks *c);

/* Stops the threads (attempts in progress finish and are recorded; callbacks not started stay
 * due) and frees c. The writer must still be running. */
void callbacks_stop(callbacks *c);

#endif
