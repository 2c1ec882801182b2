/* The SMS dispatcher: a thread that takes due messages from the outbox, renders them and hands
 * them to the configured transport, and records each outcome (sent, to retry with backoff and
 * jitter, dead) and each delivery receipt through the writer.
 *
 * At most once after acknowledgement: a message is marked "sending" (committed) before it is
 * handed over. One the SMSC acknowledged is "sent" and never taken again; one still "sending"
 * when topupd stopped or crashed is queued again at the next start, so it may go out once more
 * (the SMSC may have taken it without our hearing). */
#ifndef TOPUP_DISPATCHER_H
#define TOPUP_DISPATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "service/writer.h"
#include "sms/transport.h"

#define DISPATCHER_ATTEMPTS_MAX 10 /* a message not taken after this many tries is dead */

typedef struct dispatcher_stats {
    uint64_t sent;      /* acknowledged by the SMSC or gateway */
    uint64_t retried;   /* outcomes that queued the message again */
    uint64_t dead;      /* refused for good or out of attempts */
    uint64_t receipts;  /* delivery receipts recorded */
    bool ready;         /* the transport's link is up */
} dispatcher_stats;

typedef struct dispatcher dispatcher;

/* Starts the transport named by settings->transport and the thread. detail says what is wrong
 * when a setting is. */
topup_result dispatcher_start(const char *db_path, writer *w, const sms_settings *settings,
                              dispatcher **out /* OUT */, char *detail, size_t detail_size);

void dispatcher_get_stats(dispatcher *d, dispatcher_stats *stats /* OUT */);

/* Stops the thread and the transport (outstanding messages are reported and queued again). */
void dispatcher_stop(dispatcher *d);

/* The transport called name ("smpp", "http"); NULL when there is none. */
const sms_transport_ops *sms_transport_ops_by_name(const char *name);

#endif
