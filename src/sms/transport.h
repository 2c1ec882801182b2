/* One interface to the ways topup sends SMS: an SMSC over SMPP 3.4 (smpp.c) or an HTTP SMS
 * gateway (http_gateway.c). A transport is asynchronous: submit hands a message over and
 * returns; the transport's own thread reports each message's outcome, and later its delivery
 * receipt, through the callbacks given at start. So an SMPP window of several outstanding
 * submit_sm is the transport's business, and the outbox dispatcher only keeps it fed.
 *
 * Outcomes are three-valued for the same reason as payments: a message the SMSC acknowledged
 * (SMS_ACCEPTED) is never sent again; one it refused for good (SMS_REJECTED) is dead; and one
 * whose fate is not known (SMS_RETRY: throttled, link down before it was written, or in flight
 * when the link dropped) may be sent again. */
#ifndef TOPUP_SMS_TRANSPORT_H
#define TOPUP_SMS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define SMS_ADDRESS_SIZE   22  /* E.164 with '+', or an alphanumeric sender id (11 chars) */
#define SMS_SMSC_ID_SIZE   66  /* the SMSC's message_id (SMPP: up to 65 octets) */
#define SMS_DETAIL_SIZE    256
#define SMS_TEXT_SIZE_MAX  2048 /* UTF-8 bytes of one message before it is split into parts */
#define SMS_SETTING_SIZE   256

typedef enum sms_outcome {
    SMS_ACCEPTED, /* every part was acknowledged (submit_sm_resp OK, HTTP 2xx); smsc_id set */
    SMS_RETRY,    /* not known to have been taken: send again later (after detail's reason) */
    SMS_REJECTED  /* refused for good (invalid number, message too long, bad credentials) */
} sms_outcome;

typedef struct sms_message {
    int64_t id;                       /* the outbox row; passed back in the result callback */
    char to[SMS_ADDRESS_SIZE];        /* E.164 with '+' */
    const char *text;                 /* UTF-8; valid until the result callback for id returns */
    bool want_receipt;                /* ask for a delivery receipt (registered_delivery 1) */
} sms_message;

/* Called on the transport's thread once per submitted message. */
typedef void (*sms_result_fn)(void *context, int64_t message_id, sms_outcome outcome,
                              const char *smsc_id, const char *detail);

/* Called on the transport's thread for each delivery receipt: smsc_id is the id of the
 * acknowledged message (for a split message, of its first part), stat the receipt's final state
 * ("DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", ...), done_at unix seconds (0 when absent). */
typedef void (*sms_receipt_fn)(void *context, const char *smsc_id, const char *stat,
                               int64_t done_at);

/* Settings from the config file ("sms.*"). Which a transport uses is in docs/sms.md. */
typedef struct sms_settings {
    char transport[16];                  /* "smpp" or "http"; "" = SMS off */
    char host[SMS_SETTING_SIZE];         /* smpp: SMSC host (numeric or name) */
    int port;                            /* smpp: SMSC port (2775) */
    char system_id[16];                  /* smpp: bind system_id (at most 15 characters) */
    char password_file[SMS_SETTING_SIZE]; /* smpp: file holding the bind password (mode 600) */
    char system_type[13];                /* smpp: bind system_type, may be "" */
    char source_addr[SMS_ADDRESS_SIZE];  /* sender: short code or alphanumeric id */
    int window;                          /* smpp: outstanding submit_sm at most (default 10) */
    int rate_per_second;                 /* smpp: submit_sm per second at most (default 50) */
    int enquire_link_s;                  /* smpp: keep-alive period (default 30) */
    int reconnect_max_s;                 /* smpp: longest wait between reconnects (default 60) */
    int response_timeout_ms;             /* smpp: a PDU unanswered this long fails the link */
    char url[SMS_SETTING_SIZE];          /* http: the gateway URL */
    char http_style[16];                 /* http: "kannel" (GET sendsms) or "json" (POST) */
    char username[64];                   /* http: kannel username */
    char lang[8];                        /* language of subscribers' SMS: zh-CN (default), en */
    int utc_offset_minutes;              /* times in texts are shown at this offset (+480) */
    int otp_per_number_per_day;          /* SMS codes one number may get a day (10) */
    int otp_per_ip_per_day;              /* SMS codes one payer IP may ask for a day (50) */
    int64_t low_balance_minor;           /* remind subscribers below this balance; 0 = never */
    int low_balance_every_days;          /* at most one reminder per number this often (7) */
} sms_settings;

void sms_settings_defaults(sms_settings *settings);

/* Applies one "sms.key = value" setting: 1 applied, 0 not an sms setting, -1 invalid (error says
 * why). */
int sms_settings_apply(sms_settings *settings, const char *key, const char *value, char *error,
                       size_t error_size);

typedef struct sms_transport sms_transport;

typedef struct sms_transport_ops {
    const char *name; /* "smpp", "http" */

    /* Starts the transport (SMPP: connects and binds in the background, reconnecting with
     * backoff for as long as it runs). TOPUP_E_INVALID_ARGUMENT with a sentence in detail when a
     * setting is wrong or the password file is readable by others. */
    topup_result (*start)(const sms_settings *settings, sms_result_fn on_result,
                          sms_receipt_fn on_receipt, void *context, sms_transport **out,
                          char *detail, size_t detail_size);

    /* Hands one message over. TOPUP_OK: the result callback will be called for it (possibly
     * before submit returns). TOPUP_E_BUSY: the window is full or the link is down; the caller
     * keeps the message and tries later. TOPUP_E_INVALID_ARGUMENT: the message can never be sent
     * (empty, too long, bad number); no callback follows. */
    topup_result (*submit)(sms_transport *t, const sms_message *message);

    /* Whether the link is up (SMPP: bound) - for /metrics and /healthz. */
    bool (*ready)(sms_transport *t);

    /* Stops: waits a little for outstanding acknowledgements, unbinds, closes and frees. Messages
     * still unacknowledged get SMS_RETRY through the callback before it returns. */
    void (*stop)(sms_transport *t);
} sms_transport_ops;

extern const sms_transport_ops smpp_transport_ops;
extern const sms_transport_ops http_gateway_transport_ops;

#endif
