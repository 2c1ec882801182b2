/* Storage behind one small interface. SQLite (store_sqlite.c) is the embedded default.
 *
 * A store is one database connection and is used by one thread at a time. Writers call
 * store_begin / store_commit around their work; inside a batch each request runs in its own
 * savepoint so one refused request never undoes its neighbours. Every function that changes
 * state must be called inside a transaction. */
#ifndef TOPUP_STORE_H
#define TOPUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/order.h"
#include "core/result.h"

#define ACCOUNT_CODE_SIZE    65 /* e.g. "subscriber:+8613800138000", "clearing:demo" */
#define ACCOUNT_KIND_SIZE    24 /* subscriber, clearing, promotion_expense, fee_income, ... */
#define IDEMPOTENCY_KEY_SIZE 65 /* 1-64 printable ASCII characters */
#define REQUEST_HASH_SIZE    32 /* SHA-256 */
#define API_KEY_NAME_SIZE    65
#define API_KEY_SCOPES_SIZE  64 /* comma-separated: recharge, read, admin */
#define REASON_SIZE          128
#define CHANNEL_SIZE         16

/* Account flags. */
#define ACCOUNT_NO_OVERDRAFT 1 /* the balance may not go below -credit_limit_minor */

typedef struct store store;

typedef enum store_mode {
    STORE_READ_WRITE, /* the database must exist */
    STORE_READ_ONLY,  /* for request threads that only read */
    STORE_CREATE      /* create the file when missing */
} store_mode;

typedef struct account_row {
    int64_t id;
    char code[ACCOUNT_CODE_SIZE];
    char currency[CURRENCY_CODE_SIZE];
    char kind[ACCOUNT_KIND_SIZE];
    int64_t balance_minor;      /* credits - debits */
    int flags;                  /* ACCOUNT_* bits */
    int64_t credit_limit_minor; /* how far below zero a no-overdraft account may go */
    int64_t created_at;         /* unix seconds */
} account_row;

typedef struct transfer_row {
    int64_t id;                /* set by store_transfer */
    int64_t debit_account_id;  /* loses amount_minor */
    int64_t credit_account_id; /* gains amount_minor */
    int64_t amount_minor;      /* > 0 */
    char currency[CURRENCY_CODE_SIZE];
    int64_t order_id; /* 0 when the transfer belongs to no order */
    char kind[24];    /* recharge, discount, fee, opening_balance, adjustment */
    int64_t created_at;
} transfer_row;

typedef struct subscriber_row {
    char msisdn[E164_SIZE];
    char operator_id[CATALOG_ID_SIZE];
    int64_t account_id;
    char status[12];     /* active, suspended, closed */
    int64_t valid_until; /* unix seconds; 0 = never recharged */
    int64_t created_at;
    int64_t balance_minor; /* filled by store_subscriber_get from the account */
    char currency[CURRENCY_CODE_SIZE];
} subscriber_row;

#define ORDER_KEY_PORTAL (-1) /* api_key_id (and idempotency scope) of the web portal's orders */

typedef struct order_row {
    int64_t id; /* set by store_order_insert; time-ordered, used as the pagination cursor */
    char channel[CHANNEL_SIZE];
    int64_t api_key_id; /* 0 when created by the CLI or a partner, ORDER_KEY_PORTAL by the portal */
    char msisdn[E164_SIZE];
    char operator_id[CATALOG_ID_SIZE];
    char product_id[CATALOG_ID_SIZE];
    int64_t face_minor;  /* credited to the subscriber */
    int64_t price_minor; /* paid by the funding account */
    char currency[CURRENCY_CODE_SIZE];
    int64_t funding_account_id;
    order_status status;
    bool has_balance_after;
    int64_t balance_after_minor; /* subscriber balance right after the credit */
    int64_t valid_until;         /* 0 when not yet credited */
    int64_t created_at;
    int64_t updated_at;
} order_row;

typedef struct order_event_row {
    int64_t order_id;
    int seq; /* 1, 2, ... per order */
    order_status from;
    order_status to;
    char reason[REASON_SIZE];
    int64_t created_at;
} order_event_row;

typedef struct api_key_row {
    int64_t id;
    char name[API_KEY_NAME_SIZE];
    char scopes[API_KEY_SCOPES_SIZE];
    char funding_account[ACCOUNT_CODE_SIZE]; /* account code recharges are paid from */
    int64_t created_at;
    int64_t revoked_at; /* 0 when active */
} api_key_row;

typedef struct idempotency_row {
    uint8_t request_hash[REQUEST_HASH_SIZE];
    int status; /* HTTP status of the first answer */
    char *body; /* first answer's body; the caller frees it with free() */
} idempotency_row;

/* One line of a subscriber's statement: a transfer seen from the subscriber's account. */
typedef struct statement_row {
    int64_t transfer_id;
    int64_t order_id;
    char kind[24];
    bool credit;          /* true when the subscriber gained the amount */
    int64_t amount_minor; /* > 0 */
    char currency[CURRENCY_CODE_SIZE];
    int64_t created_at;
} statement_row;

/* ---- lifecycle ---- */

/* Opens the database at path with WAL and synchronous=FULL (a commit is on disk when it returns).
 * STORE_READ_WRITE and STORE_READ_ONLY fail with TOPUP_E_IO when the file is missing, and with
 * TOPUP_E_SCHEMA when the schema is not the latest (run store_migrate first). */
topup_result store_open(const char *path, store_mode mode, store **out /* OUT */);
void store_close(store *st);

/* Applies the migrations the database lacks, each in its own transaction. */
topup_result store_migrate(store *st, int *from_version /* OUT */, int *to_version /* OUT */);

/* Why the last failing call on this store failed (SQLite's message or the store's own reason),
 * for logs and the CLI. The text belongs to the store and changes with the next call. */
const char *store_errmsg(const store *st);

/* ---- write-ahead log ---- */

/* Stops commits on this connection from checkpointing the WAL and starts tracking its size
 * (store_wal_pages); whoever calls this must run store_checkpoint, or the WAL grows without
 * bound. */
topup_result store_autocheckpoint_disable(store *st);

/* Pages in the WAL after this connection's last commit (0 before any, or without the hook). */
int store_wal_pages(const store *st);

/* Copies committed WAL frames into the database file. PASSIVE does not wait for the writer;
 * when the WAL has grown past wal_pages_max, a RESTART checkpoint waits for the writer (up to
 * the busy timeout) so the WAL can start over. *wal_pages (may be NULL) is the WAL's size. */
topup_result store_checkpoint(store *st, int wal_pages_max, int *wal_pages /* OUT */);

/* ---- transactions ---- */

topup_result store_begin(store *st); /* BEGIN IMMEDIATE: takes the write lock now */
topup_result store_commit(store *st);
void store_rollback(store *st);
topup_result store_savepoint(store *st);
void store_savepoint_release(store *st);
void store_savepoint_rollback(store *st); /* undoes and releases the savepoint */

/* ---- meta ---- */

/* Bumped by every catalog change and every API key revocation, so daemons know to reload their
 * snapshot and drop the keys they cached. */
topup_result store_catalog_version(store *st, int64_t *version /* OUT */);
topup_result store_meta_set(store *st, const char *key, const char *value);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_meta_get(store *st, const char *key, char *value /* OUT */, size_t value_size);

/* ---- catalog ---- */

/* Loads plans, operators, ranges and active products into a new sealed snapshot the caller owns,
 * and the catalog version it reflects (version may be NULL), both from one read transaction. */
topup_result store_catalog_load(store *st, catalog **out /* OUT */, int64_t *version /* OUT */);
/* Each add refuses a duplicate with TOPUP_E_ALREADY_EXISTS and bumps the catalog version. */
topup_result store_plan_put(store *st, const number_plan *plan); /* insert or replace */
topup_result store_operator_add(store *st, const operator_info *op);
topup_result store_range_add(store *st, const number_range *range);
topup_result store_product_add(store *st, const product_info *product);
topup_result store_portability_set(store *st, const char *msisdn, const char *operator_id);
/* How many subscribers have a number under prefix (E.164 digits without '+') and belong to an
 * operator other than operator_id: the numbers a new range would take from their operator. */
topup_result store_subscribers_under_prefix(store *st, const char *prefix, const char *operator_id,
                                            int64_t *count /* OUT */);

/* The operator a ported number belongs to, or TOPUP_E_NOT_FOUND when it is not ported. */
topup_result store_portability_get(store *st, const char *msisdn,
                                   char operator_id[CATALOG_ID_SIZE] /* OUT */);

/* ---- ledger ---- */

/* Finds the account (code, currency), creating it with kind/flags/credit limit when missing. */
topup_result store_account_ensure(store *st, const char *code, const char *currency,
                                  const char *kind, int flags, int64_t credit_limit_minor,
                                  account_row *account /* OUT */);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_account_get(store *st, const char *code, const char *currency,
                               account_row *account /* OUT */);
/* Appends the transfer and moves both balances. TOPUP_E_INSUFFICIENT_FUNDS when the debited
 * account is no-overdraft and would go below -credit_limit; TOPUP_E_AMOUNT_OVERFLOW when a
 * balance would overflow. On error nothing of the transfer remains only if the caller rolls back
 * its savepoint. debit/credit_balance_after may be NULL. */
topup_result store_transfer(store *st, transfer_row *transfer /* IN, OUT: id */,
                            int64_t *debit_balance_after /* OUT */,
                            int64_t *credit_balance_after /* OUT */);

/* Called once per problem store_verify finds; the text says what and where. */
typedef void (*store_verify_problem_fn)(void *context, const char *problem);

/* Recomputes every balance from transfers, checks that every currency's accounts sum to zero and
 * that every succeeded order has exactly its transfers (face value credited to the subscriber,
 * price debited from the funding account). *problem_count is how many problems were reported;
 * the result is TOPUP_OK even when problems were found (it fails only when it cannot look). */
topup_result store_verify(store *st, store_verify_problem_fn problem, void *context,
                          int64_t *problem_count /* OUT */, int64_t *transfer_count /* OUT */,
                          int64_t *account_count /* OUT, may be NULL */);

/* ---- subscribers ---- */

/* TOPUP_E_NOT_FOUND when the number is not a subscriber. */
topup_result store_subscriber_get(store *st, const char *msisdn, subscriber_row *sub /* OUT */);
/* TOPUP_E_ALREADY_EXISTS when it is. */
topup_result store_subscriber_insert(store *st, const subscriber_row *sub);
topup_result store_subscriber_update(store *st, const char *msisdn, const char *status,
                                     int64_t valid_until);

/* Statement lines of an account, newest first, with transfer id < before_id (0 = from the
 * newest). Returns how many rows were filled (at most row_count_max) in *row_count. */
topup_result store_statement(store *st, int64_t account_id, int64_t before_id,
                             statement_row *rows /* OUT */, size_t row_count_max,
                             size_t *row_count /* OUT */);

/* ---- orders ---- */

/* Inserts the order with a new id (written to order->id) and its first event
 * (none -> order->status). */
topup_result store_order_insert(store *st, order_row *order /* IN, OUT: id */, const char *reason);
/* Moves the order from its current status to `to` if the state machine allows it
 * (TOPUP_E_ILLEGAL_TRANSITION otherwise), appending the event. Also stores balance_after and
 * valid_until from order when order->has_balance_after. order->status is updated. */
topup_result store_order_transition(store *st, order_row *order, order_status to,
                                    const char *reason, int64_t at);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_order_get(store *st, int64_t id, order_row *order /* OUT */);
/* Events in sequence order; fills at most event_count_max. */
topup_result store_order_events(store *st, int64_t order_id, order_event_row *events /* OUT */,
                                size_t event_count_max, size_t *event_count /* OUT */);
/* Orders newest first with id < before_id (0 = from the newest), of one number when msisdn is
 * non-NULL. */
topup_result store_orders_list(store *st, const char *msisdn, int64_t before_id,
                               order_row *orders /* OUT */, size_t order_count_max,
                               size_t *order_count /* OUT */);

/* ---- API keys ---- */

topup_result store_api_key_insert(store *st, const api_key_row *key,
                                  const uint8_t key_hash[REQUEST_HASH_SIZE], int64_t *id /* OUT */);
/* An active (not revoked) key by the SHA-256 of its secret; TOPUP_E_NOT_FOUND otherwise. */
topup_result store_api_key_find(store *st, const uint8_t key_hash[REQUEST_HASH_SIZE],
                                api_key_row *key /* OUT */);
/* All keys in id order; fills at most key_count_max. */
topup_result store_api_key_list(store *st, api_key_row *keys /* OUT */, size_t key_count_max,
                                size_t *key_count /* OUT */);
/* TOPUP_E_NOT_FOUND when no active key has this name. Bumps the catalog version. */
topup_result store_api_key_revoke(store *st, const char *name, int64_t at);

/* ---- idempotency ---- */

/* The stored first answer for (api_key_id, key), or TOPUP_E_NOT_FOUND. */
topup_result store_idempotency_get(store *st, int64_t api_key_id, const char *key,
                                   idempotency_row *row /* OUT */);
topup_result store_idempotency_put(store *st, int64_t api_key_id, const char *key,
                                   const uint8_t request_hash[REQUEST_HASH_SIZE], int status,
                                   const char *body, int64_t at);
/* Deletes answers stored before `before` (unix seconds); *deleted_count may be NULL. */
topup_result store_idempotency_purge(store *st, int64_t before, int64_t *deleted_count /* OUT */);

/* ---- payments ---- */

#define PAYMENT_STATUS_SIZE 12
#define PAYMENT_TEXT_SIZE   129 /* out_trade_no, provider trade numbers, refund ids */
#define PAYMENT_URL_SIZE    4096

/* One attempt to collect an order's price through a provider. status:
 *   creating  inserted; the provider has not been asked yet (or the daemon stopped while asking)
 *   pending   the provider created it; the payer may pay until expires_at
 *   unknown   the provider did not answer a create, pay or close: settled only by a query
 *   paid      the provider took the money (trade_no is its trade number)
 *   closed    closed unpaid (expired, cancelled, or the provider had no such trade)
 *   failed    the provider refused to create it
 * Money once paid goes back only through a refund (refund_row). */
typedef struct payment_row {
    int64_t id;
    int64_t order_id;
    char provider[16];
    char method[12];
    char out_trade_no[PAYMENT_TEXT_SIZE]; /* topup's number for the attempt; unique */
    char trade_no[PAYMENT_TEXT_SIZE];     /* the provider's trade number; "" until known */
    char provider_ref[PAYMENT_TEXT_SIZE]; /* the provider's id from create (card session) */
    int64_t amount_minor;                 /* the order's price */
    char currency[CURRENCY_CODE_SIZE];
    int validity_days; /* what the product quoted at creation adds, credited when paid */
    char sms_lang[8];  /* the language of the SMS its credit queues; "" = none */
    char status[PAYMENT_STATUS_SIZE];
    char pay_url[PAYMENT_URL_SIZE]; /* where the payer pays; "" until created */
    int64_t paid_minor;             /* what the provider says was paid; 0 until paid */
    int64_t expires_at;
    int64_t paid_at;       /* 0 until paid */
    int64_t next_check_at; /* when the settlement worker next looks at it; 0 = never */
    int check_count;       /* queries and closes tried while unsettled, for the backoff */
    int64_t created_at;
    int64_t updated_at;
} payment_row;

/* Money going back to a payer. status: pending (to ask the provider), unknown (asked, no
 * answer: ask again with the same out_request_no, which never refunds twice), succeeded,
 * failed (the provider refused; an alert says so and a person decides). */
typedef struct refund_row {
    int64_t id;
    int64_t payment_id;
    char out_request_no[PAYMENT_TEXT_SIZE]; /* unique; the provider's idempotency key */
    int64_t amount_minor;
    char currency[CURRENCY_CODE_SIZE];
    char reason[REASON_SIZE];
    char status[PAYMENT_STATUS_SIZE];
    char refund_id[PAYMENT_TEXT_SIZE]; /* the provider's, once it answered */
    int attempt_count;
    int64_t next_attempt_at; /* 0 when settled */
    int64_t created_at;
    int64_t updated_at;
} refund_row;

/* A raw notification as received, kept for audit whatever its fate. verdict: credited,
 * duplicate, refused (not genuine or not for us), mismatch (amount or currency differs),
 * refunding (paid for an order that can no longer be credited), closed, ignored. */
typedef struct notification_row {
    int64_t id;
    char provider[16];
    int64_t received_at;
    const char *headers; /* "Name: value\n" lines; IN only (not filled by reads) */
    const char *body;    /* IN only */
    size_t body_size;
    bool genuine;
    char verdict[16];
    char detail[REASON_SIZE];
    char out_trade_no[PAYMENT_TEXT_SIZE];
    char trade_no[PAYMENT_TEXT_SIZE];
    int64_t payment_id; /* 0 when it matched none */
} notification_row;

/* Inserts the payment (id set); TOPUP_E_ALREADY_EXISTS for a taken out_trade_no or order. */
topup_result store_payment_insert(store *st, payment_row *payment /* IN, OUT: id */);
/* Writes every mutable field (trade_no, provider_ref, status, pay_url, paid_minor, paid_at,
 * next_check_at, check_count, updated_at) of the payment with payment->id. A trade_no another
 * payment of the same provider already has is TOPUP_E_ALREADY_EXISTS. */
topup_result store_payment_update(store *st, const payment_row *payment);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_payment_get(store *st, int64_t id, payment_row *payment /* OUT */);
topup_result store_payment_by_order(store *st, int64_t order_id, payment_row *payment /* OUT */);
topup_result store_payment_by_out_trade_no(store *st, const char *out_trade_no,
                                           payment_row *payment /* OUT */);
topup_result store_payment_by_trade_no(store *st, const char *provider, const char *trade_no,
                                       payment_row *payment /* OUT */);
/* Payments whose next_check_at is due (<= now), oldest first; fills at most count_max. */
topup_result store_payments_due(store *st, int64_t now, payment_row *payments /* OUT */,
                                size_t count_max, size_t *count /* OUT */);

/* Called per row by the period queries; a result other than TOPUP_OK stops the walk and is
 * returned. */
typedef topup_result (*store_payment_fn)(void *context, const payment_row *payment);
typedef topup_result (*store_refund_fn)(void *context, const refund_row *refund,
                                        const payment_row *payment);
/* Payments of provider paid in [from, to) (unix seconds), in paid_at order. */
topup_result store_payments_paid_between(store *st, const char *provider, int64_t from, int64_t to,
                                         store_payment_fn each, void *context);
/* Refunds of provider's payments that succeeded in [from, to) (their updated_at). */
topup_result store_refunds_succeeded_between(store *st, const char *provider, int64_t from,
                                             int64_t to, store_refund_fn each, void *context);

topup_result store_refund_insert(store *st, refund_row *refund /* IN, OUT: id */);
/* Writes status, refund_id, attempt_count, next_attempt_at and updated_at. */
topup_result store_refund_update(store *st, const refund_row *refund);
topup_result store_refund_get(store *st, int64_t id, refund_row *refund /* OUT */);
topup_result store_refund_by_payment(store *st, int64_t payment_id, refund_row *refund /* OUT */);
topup_result store_refunds_due(store *st, int64_t now, refund_row *refunds /* OUT */,
                               size_t count_max, size_t *count /* OUT */);

topup_result store_notification_insert(store *st, notification_row *notification /* IN, OUT */);
/* The newest notifications first, id < before_id (0 = newest); headers/body not returned. */
topup_result store_notifications_list(store *st, int64_t before_id,
                                      notification_row *rows /* OUT */, size_t count_max,
                                      size_t *count /* OUT */);

/* ---- alerts ---- */

/* Something a person must look at (a notification whose amount differs from the order, a
 * refund the provider refused). Kept forever; listed by `topup alerts`. */
typedef struct alert_row {
    int64_t id;
    char kind[24]; /* amount_mismatch, refund_failed, ... */
    int64_t order_id;
    char detail[256];
    int64_t created_at;
} alert_row;

topup_result store_alert_insert(store *st, alert_row *alert /* IN, OUT: id */);
topup_result store_alerts_list(store *st, int64_t before_id, alert_row *alerts /* OUT */,
                               size_t count_max, size_t *count /* OUT */);

/* ---- SMS outbox ---- */

#define SMS_EVENT_SIZE  24
#define SMS_LANG_SIZE   8
#define SMS_FACTS_SIZE  512
#define SMS_STATUS_SIZE 12

/* One SMS to send. status: queued (due at next_attempt_at), sending (handed to the transport),
 * sent (the SMSC acknowledged it: never sent again), delivered / undelivered (its receipt), dead
 * (refused for good, or out of attempts). */
typedef struct outbox_row {
    int64_t id;
    char event[SMS_EVENT_SIZE]; /* recharge_succeeded, recharge_refunded, payment_received, ... */
    char msisdn[E164_SIZE];
    char lang[SMS_LANG_SIZE];   /* zh-CN, en */
    char facts[SMS_FACTS_SIZE]; /* JSON object of the template's placeholders */
    int64_t order_id;           /* 0 when about no order */
    char status[SMS_STATUS_SIZE];
    int attempt_count;
    int64_t next_attempt_at; /* 0 when nothing is due */
    char smsc_id[66];        /* the SMSC's message id once acknowledged */
    char last_error[REASON_SIZE];
    char receipt_stat[12];
    int64_t receipt_at;
    int64_t created_at;
    int64_t updated_at;
} outbox_row;

/* Queues a message (status queued, due now); in the transaction of the change it reports. */
topup_result store_outbox_insert(store *st, outbox_row *message /* IN, OUT: id */);
/* Writes status, attempt_count, next_attempt_at, smsc_id, last_error, receipt_stat, receipt_at,
 * updated_at and facts (an SMS code is scrubbed from them once sent). */
topup_result store_outbox_update(store *st, const outbox_row *message);
topup_result store_outbox_get(store *st, int64_t id, outbox_row *message /* OUT */);
/* The message the SMSC acknowledged with smsc_id that still waits for its receipt (status sent;
 * the newest, should an SMSC have given the id twice); TOPUP_E_NOT_FOUND when none. */
topup_result store_outbox_by_smsc_id(store *st, const char *smsc_id, outbox_row *message /* OUT */);
/* Queued messages due at now, oldest first. */
topup_result store_outbox_due(store *st, int64_t now, outbox_row *messages /* OUT */,
                              size_t count_max, size_t *count /* OUT */);
/* Newest first, id < before_id (0 = newest), of one status when status is non-NULL. */
topup_result store_outbox_list(store *st, const char *status, int64_t before_id,
                               outbox_row *messages /* OUT */, size_t count_max,
                               size_t *count /* OUT */);
/* A subscriber whose balance is low, for the reminder sweep. */
typedef struct low_balance_row {
    char msisdn[E164_SIZE];
    int64_t balance_minor;
    char currency[CURRENCY_CODE_SIZE];
} low_balance_row;

/* Active subscribers whose balance is below threshold_minor (in any currency) and who got no
 * low_balance SMS since `since`; fills at most count_max. */
topup_result store_low_balance_due(store *st, int64_t threshold_minor, int64_t since,
                                   low_balance_row *rows /* OUT */, size_t count_max,
                                   size_t *count /* OUT */);

/* Messages per status, for /metrics: fills counts[i] for statuses[i]. */
topup_result store_outbox_counts(store *st, const char *const *statuses, size_t status_count,
                                 int64_t *counts /* OUT */);

/* ---- SMS codes (OTP) ---- */

#define OTP_HASH_SIZE    32
#define OTP_SALT_SIZE    16
#define OTP_PURPOSE_SIZE 12

typedef struct otp_row {
    int64_t id;
    char msisdn[E164_SIZE];
    char purpose[OTP_PURPOSE_SIZE]; /* register, login, reset */
    uint8_t code_hash[OTP_HASH_SIZE];
    uint8_t salt[OTP_SALT_SIZE];
    char client_ip[64];
    int attempts;
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at; /* 0 until verified */
} otp_row;

topup_result store_otp_insert(store *st, otp_row *otp /* IN, OUT: id */);
/* The newest code for (msisdn, purpose); TOPUP_E_NOT_FOUND when none was ever sent. */
topup_result store_otp_latest(store *st, const char *msisdn, const char *purpose,
                              otp_row *otp /* OUT */);
/* Writes attempts and used_at. */
topup_result store_otp_update(store *st, const otp_row *otp);
/* Codes sent since `since` to msisdn (when non-NULL) or for client_ip (when non-NULL). */
topup_result store_otp_count_since(store *st, const char *msisdn, const char *client_ip,
                                   int64_t since, int64_t *count /* OUT */);

/* ---- partner merchants ---- */

#define MERCHANT_ID_SIZE     33 /* 1-32 of a-z, 0-9, '_' and '-' */
#define MERCHANT_SECRET_SIZE 65
#define MERCHANT_IPS_SIZE    512

typedef struct merchant_row {
    char id[MERCHANT_ID_SIZE];
    char name[97];
    char secret[MERCHANT_SECRET_SIZE];
    char currency[CURRENCY_CODE_SIZE];
    int64_t float_account_id;
    char status[12];                     /* active, suspended */
    char allowed_ips[MERCHANT_IPS_SIZE]; /* comma-separated addresses; "" = any */
    int64_t created_at;
    int64_t float_minor;        /* filled by reads: the float account's balance */
    int64_t credit_limit_minor; /* filled by reads */
} merchant_row;

/* Inserts the merchant (its float account must exist); TOPUP_E_ALREADY_EXISTS for a taken id. */
topup_result store_merchant_insert(store *st, const merchant_row *merchant);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_merchant_get(store *st, const char *id, merchant_row *merchant /* OUT */);
topup_result store_merchant_list(store *st, merchant_row *merchants /* OUT */, size_t count_max,
                                 size_t *count /* OUT */);
topup_result store_merchant_set_status(store *st, const char *id, const char *status);
/* Sets (insert or replace) a wholesale price for target ("operator:ID" or "product:ID"). */
topup_result store_merchant_price_set(store *st, const char *id, const char *target,
                                      int64_t basis_points);
/* The price for target; TOPUP_E_NOT_FOUND when none is set. */
topup_result store_merchant_price_get(store *st, const char *id, const char *target,
                                      int64_t *basis_points /* OUT */);

/* ---- partner orders ---- */

#define MERCHANT_ORDER_ID_SIZE 65 /* 1-64 printable ASCII characters */
#define CALLBACK_URL_SIZE      512

/* Records a merchant's nonce; TOPUP_E_ALREADY_EXISTS when it was used before (a replay). */
topup_result store_partner_nonce_use(store *st, const char *merchant_id, const char *nonce,
                                     int64_t at);
/* Forgets nonces seen before `before`; *deleted_count may be NULL. */
topup_result store_partner_nonces_purge(store *st, int64_t before,
                                        int64_t *deleted_count /* OUT */);

typedef struct partner_order_row {
    int64_t order_id;
    char merchant_id[MERCHANT_ID_SIZE];
    char merchant_order_id[MERCHANT_ORDER_ID_SIZE];
    uint8_t request_hash[REQUEST_HASH_SIZE];
    char callback_url[CALLBACK_URL_SIZE];
} partner_order_row;

/* TOPUP_E_ALREADY_EXISTS when the merchant already used merchant_order_id. */
topup_result store_partner_order_insert(store *st, const partner_order_row *row);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_partner_order_find(store *st, const char *merchant_id,
                                      const char *merchant_order_id,
                                      partner_order_row *row /* OUT */);
topup_result store_partner_order_by_order(store *st, int64_t order_id,
                                          partner_order_row *row /* OUT */);

/* One line of a merchant's statement: a movement of its float, with the order it belongs to
 * (order_id 0 for a deposit). */
typedef struct float_movement_row {
    int64_t transfer_id;
    int64_t created_at;
    char kind[24];
    int64_t amount_minor; /* signed: + into the float, - out of it */
    int64_t order_id;
    char merchant_order_id[MERCHANT_ORDER_ID_SIZE];
    char msisdn[E164_SIZE];
    int64_t face_minor;
    int64_t price_minor;
    order_status status;
} float_movement_row;

typedef topup_result (*store_float_movement_fn)(void *context, const float_movement_row *row);

/* The float's balance just before `from`, then its movements in [from, to) in order. */
topup_result store_float_movements(store *st, int64_t account_id, int64_t from, int64_t to,
                                   int64_t *opening_minor /* OUT */, store_float_movement_fn each,
                                   void *context);

/* ---- operator connectors ---- */

#define OPERATOR_URL_SIZE    512
#define OPERATOR_SECRET_SIZE 129

typedef struct operator_endpoint_row {
    char operator_id[CATALOG_ID_SIZE];
    char url[OPERATOR_URL_SIZE]; /* the base URL of the operator's recharge API */
    char secret[OPERATOR_SECRET_SIZE];
    int timeout_ms;
} operator_endpoint_row;

/* Inserts or replaces the endpoint of an http operator. */
topup_result store_operator_endpoint_set(store *st, const operator_endpoint_row *endpoint);
/* TOPUP_E_NOT_FOUND when the operator has none. */
topup_result store_operator_endpoint_get(store *st, const char *operator_id,
                                         operator_endpoint_row *endpoint /* OUT */);

#define CONNECTOR_STATUS_SIZE 10

/* A recharge forwarded to an http operator; see migration 6 for the statuses. */
typedef struct connector_job_row {
    int64_t order_id;
    char operator_id[CATALOG_ID_SIZE];
    char status[CONNECTOR_STATUS_SIZE];
    char operator_order_id[PAYMENT_TEXT_SIZE];
    int attempt_count;
    int64_t next_attempt_at; /* 0 when nothing is due */
    char last_error[REASON_SIZE];
    int64_t created_at;
    int64_t updated_at;
} connector_job_row;

topup_result store_connector_job_insert(store *st, const connector_job_row *job);
/* Writes status, operator_order_id, attempt_count, next_attempt_at, last_error, updated_at. */
topup_result store_connector_job_update(store *st, const connector_job_row *job);
topup_result store_connector_job_get(store *st, int64_t order_id, connector_job_row *job /* OUT */);
/* Jobs due at now, oldest first. */
topup_result store_connector_jobs_due(store *st, int64_t now, connector_job_row *jobs /* OUT */,
                                      size_t count_max, size_t *count /* OUT */);

/* ---- partner callbacks ---- */

#define CALLBACK_STATUS_SIZE 10
#define CALLBACK_BODY_SIZE   1024

/* One callback to a merchant. status: queued (due at next_attempt_at), delivered (a 2xx
 * answered it: never sent again), dead (no 2xx before the give-up time). */
typedef struct callback_row {
    int64_t id;
    int64_t order_id;
    char merchant_id[MERCHANT_ID_SIZE];
    char url[CALLBACK_URL_SIZE];
    char body[CALLBACK_BODY_SIZE]; /* the JSON sent on every attempt, as recorded */
    char status[CALLBACK_STATUS_SIZE];
    int attempt_count;
    int64_t next_attempt_at; /* 0 when nothing is due */
    char last_error[REASON_SIZE];
    int64_t created_at;
    int64_t updated_at;
} callback_row;

/* One attempt to deliver a callback. http_status is 0 when no answer came (error says why). */
typedef struct callback_attempt_row {
    int64_t id;
    int64_t callback_id;
    int64_t attempted_at;
    int http_status;
    char error[REASON_SIZE];
    int64_t duration_ms;
} callback_attempt_row;

/* Queues a callback (status queued, due at its next_attempt_at, normally now); in the
 * transaction of the state change it reports. */
topup_result store_callback_insert(store *st, callback_row *callback /* IN, OUT: id */);
/* Writes status, attempt_count, next_attempt_at, last_error and updated_at. */
topup_result store_callback_update(store *st, const callback_row *callback);
topup_result store_callback_get(store *st, int64_t id, callback_row *callback /* OUT */);
/* Queued callbacks due at now, oldest first. */
topup_result store_callbacks_due(store *st, int64_t now, callback_row *callbacks /* OUT */,
                                 size_t count_max, size_t *count /* OUT */);
/* Newest first, id < before_id (0 = newest); of one merchant and/or status when non-NULL. */
topup_result store_callbacks_list(store *st, const char *merchant_id, const char *status,
                                  int64_t before_id, callback_row *callbacks /* OUT */,
                                  size_t count_max, size_t *count /* OUT */);
topup_result store_callback_attempt_insert(store *st, callback_attempt_row *attempt /* IN, OUT */);
/* A callback's attempts in order; fills at most count_max. */
topup_result store_callback_attempts(store *st, int64_t callback_id,
                                     callback_attempt_row *attempts /* OUT */, size_t count_max,
                                     size_t *count /* OUT */);

/* ---- web portal accounts ---- */

#define PASSWORD_HASH_SIZE 128 /* libsodium's crypto_pwhash_STRBYTES */
#define SESSION_HASH_SIZE  32  /* SHA-256 of the session cookie */
#define NUMBER_LABEL_SIZE  49

typedef struct portal_user_row {
    char msisdn[E164_SIZE];
    char password_hash[PASSWORD_HASH_SIZE]; /* Argon2id string */
    int failed_logins;                      /* in a row, since the last success */
    int64_t locked_until;                   /* 0 when not locked */
    int64_t created_at;
    int64_t updated_at;
} portal_user_row;

/* TOPUP_E_ALREADY_EXISTS when the number has an account. */
topup_result store_portal_user_insert(store *st, const portal_user_row *user);
topup_result store_portal_user_get(store *st, const char *msisdn, portal_user_row *user /* OUT */);
/* Writes password_hash, failed_logins, locked_until and updated_at. */
topup_result store_portal_user_update(store *st, const portal_user_row *user);

typedef struct portal_session_row {
    uint8_t token_hash[SESSION_HASH_SIZE];
    char msisdn[E164_SIZE];
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at;
} portal_session_row;

topup_result store_portal_session_insert(store *st, const portal_session_row *session);
/* TOPUP_E_NOT_FOUND when there is no such session (expired ones are still found). */
topup_result store_portal_session_get(store *st, const uint8_t token_hash[SESSION_HASH_SIZE],
                                      portal_session_row *session /* OUT */);
/* Writes last_seen_at and expires_at. */
topup_result store_portal_session_touch(store *st, const portal_session_row *session);
topup_result store_portal_session_delete(store *st, const uint8_t token_hash[SESSION_HASH_SIZE]);
/* Ends every session of a user (after a password reset). */
topup_result store_portal_sessions_delete_user(store *st, const char *msisdn);

typedef struct portal_number_row {
    char number[E164_SIZE];
    char label[NUMBER_LABEL_SIZE];
    int64_t created_at;
} portal_number_row;

/* Inserts or relabels a saved number of the user. */
topup_result store_portal_number_save(store *st, const char *msisdn,
                                      const portal_number_row *number);
topup_result store_portal_number_remove(store *st, const char *msisdn, const char *number);
topup_result store_portal_numbers(store *st, const char *msisdn,
                                  portal_number_row *numbers /* OUT */, size_t count_max,
                                  size_t *count /* OUT */);

/* Records that the user placed the order. */
topup_result store_portal_order_link(store *st, int64_t order_id, const char *msisdn);
/* TOPUP_E_NOT_FOUND when the order was not placed from this account. */
topup_result store_portal_order_owned(store *st, int64_t order_id, const char *msisdn);
/* The user's orders newest first with id < before_id (0 = from the newest). */
topup_result store_portal_orders(store *st, const char *msisdn, int64_t before_id,
                                 order_row *orders /* OUT */, size_t count_max,
                                 size_t *count /* OUT */);

/* ---- counter: halls, staff, audit, shifts ---- */

#define HALL_ID_SIZE        25  /* 1-24 of a-z, 0-9, '_', '-': fits in drawer:HALL:STAFF */
#define HALL_NAME_SIZE      97  /* UTF-8 */
#define HALL_ADDRESS_SIZE   193 /* UTF-8 */
#define STAFF_ID_SIZE       33  /* the login name: 1-32 of a-z, 0-9, '.', '_', '-' */
#define STAFF_NAME_SIZE     97  /* UTF-8 */
#define STAFF_ROLE_SIZE     12  /* teller, supervisor, admin */
#define STAFF_STATUS_SIZE   12  /* active, disabled */
#define AUDIT_ACTION_SIZE   33  /* e.g. "shift.open", "staff.disable" */
#define AUDIT_SUBJECT_SIZE  65  /* what was acted on, e.g. "shift:12", "staff:wang" */
#define AUDIT_DETAIL_SIZE   512 /* one human sentence or key=value list */
#define AUDIT_ORIGIN_SIZE   64  /* "cli:USER" or the client's address */
#define SHIFT_STATUS_SIZE   8   /* open, closed */
#define COUNTER_TENDER_SIZE 12  /* cash, card, alipay_code */
#define ID_TYPE_SIZE        24  /* the kind of ID document shown, e.g. resident_id */
#define ID_HASH_SIZE        32  /* HMAC-SHA-256 of the ID number under the counter's key */
#define ID_LAST4_SIZE       5   /* last 4 characters of the ID number, ASCII */
#define POS_REFERENCE_SIZE  65  /* the POS terminal's reference number of a card payment */
#define INVOICE_TITLE_SIZE  193 /* 发票抬头: a person's or a company's name, UTF-8 */
#define INVOICE_TAX_ID_SIZE 21  /* 纳税人识别号: 15-20 characters */

typedef struct hall_row {
    char id[HALL_ID_SIZE];
    char name[HALL_NAME_SIZE];
    char address[HALL_ADDRESS_SIZE];
    char currency[CURRENCY_CODE_SIZE]; /* of its safe, its drawers and its cash */
    int64_t created_at;
} hall_row;

/* TOPUP_E_ALREADY_EXISTS for a taken id. */
topup_result store_hall_insert(store *st, const hall_row *hall);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_hall_get(store *st, const char *id, hall_row *hall /* OUT */);
/* In id order; fills at most count_max. */
topup_result store_hall_list(store *st, hall_row *halls /* OUT */, size_t count_max,
                             size_t *count /* OUT */);

typedef struct staff_row {
    char id[STAFF_ID_SIZE]; /* the login name */
    char name[STAFF_NAME_SIZE];
    char hall_id[HALL_ID_SIZE];             /* "" only for an admin */
    char role[STAFF_ROLE_SIZE];             /* teller, supervisor, admin */
    char password_hash[PASSWORD_HASH_SIZE]; /* Argon2id string */
    char status[STAFF_STATUS_SIZE];         /* active, disabled */
    int failed_logins;                      /* in a row, since the last success */
    int64_t locked_until;                   /* 0 when not locked */
    int64_t created_at;
    int64_t updated_at;
} staff_row;

/* Inserts active staff. TOPUP_E_ALREADY_EXISTS for a taken id, TOPUP_E_NOT_FOUND for an unknown
 * hall, TOPUP_E_INVALID_ARGUMENT for a bad role or a teller or supervisor without a hall. */
topup_result store_staff_insert(store *st, const staff_row *staff);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_staff_get(store *st, const char *id, staff_row *staff /* OUT */);
/* In id order, of one hall when hall_id is non-NULL; fills at most count_max. */
topup_result store_staff_list(store *st, const char *hall_id, staff_row *staff /* OUT */,
                              size_t count_max, size_t *count /* OUT */);
/* Sets status (active, disabled) and updated_at; TOPUP_E_NOT_FOUND when absent. */
topup_result store_staff_set_status(store *st, const char *id, const char *status, int64_t at);
/* Writes password_hash, failed_logins, locked_until and updated_at. */
topup_result store_staff_update_login(store *st, const staff_row *staff);

typedef struct audit_row {
    int64_t id; /* set by store_audit_append; only grows, so it is the pagination cursor */
    int64_t at; /* unix seconds */
    char staff_id[STAFF_ID_SIZE]; /* "" when no staff member acted (see migration 8) */
    char hall_id[HALL_ID_SIZE];   /* "" when the action belongs to no hall */
    char action[AUDIT_ACTION_SIZE];
    char subject[AUDIT_SUBJECT_SIZE];
    char detail[AUDIT_DETAIL_SIZE];
    char origin[AUDIT_ORIGIN_SIZE];
} audit_row;

/* Appends an entry; the log refuses every update and delete. */
topup_result store_audit_append(store *st, audit_row *entry /* IN, OUT: id */);
/* Newest first with id < before_id (0 = from the newest), of one staff member and/or hall when
 * non-NULL; fills at most count_max. */
topup_result store_audit_list(store *st, const char *staff_id, const char *hall_id,
                              int64_t before_id, audit_row *entries /* OUT */, size_t count_max,
                              size_t *count /* OUT */);

/* A teller's shift with its cash drawer; see migration 8. The close fields are 0 while open. */
typedef struct shift_row {
    int64_t id; /* set by store_shift_insert */
    char staff_id[STAFF_ID_SIZE];
    char hall_id[HALL_ID_SIZE];
    int64_t drawer_account_id;
    char status[SHIFT_STATUS_SIZE]; /* open, closed */
    char currency[CURRENCY_CODE_SIZE];
    int64_t opening_float_minor;    /* counted into the drawer at opening, >= 0 */
    int64_t expected_cash_minor;    /* what the ledger said the drawer held at closing */
    int64_t counted_cash_minor;     /* what was counted at closing, >= 0 */
    int64_t over_short_minor;       /* counted - expected: > 0 over, < 0 short */
    int64_t over_short_transfer_id; /* 0 when counted == expected */
    char close_reason[REASON_SIZE]; /* why the cash was over or short */
    int64_t opened_at;
    int64_t closed_at; /* 0 while open */
} shift_row;

/* Inserts an open shift. TOPUP_E_ALREADY_EXISTS when the staff member has one open already. */
topup_result store_shift_insert(store *st, shift_row *shift /* IN, OUT: id */);
/* TOPUP_E_NOT_FOUND when absent. */
topup_result store_shift_get(store *st, int64_t id, shift_row *shift /* OUT */);
/* The staff member's open shift; TOPUP_E_NOT_FOUND when none is open. */
topup_result store_shift_open_get(store *st, const char *staff_id, shift_row *shift /* OUT */);
/* Closes an open shift with expected, counted, over_short, over_short_transfer_id,
 * close_reason and closed_at; TOPUP_E_NOT_FOUND when it is not open. */
topup_result store_shift_close(store *st, const shift_row *shift);
/* Newest first with id < before_id (0 = from the newest), of one hall and/or staff member when
 * non-NULL; fills at most count_max. */
topup_result store_shifts_list(store *st, const char *hall_id, const char *staff_id,
                               int64_t before_id, shift_row *shifts /* OUT */, size_t count_max,
                               size_t *count /* OUT */);

/* A recharge taken at a counter; see migration 8 for what each field records. */
typedef struct counter_order_row {
    int64_t order_id;
    int64_t shift_id;
    char hall_id[HALL_ID_SIZE];
    char staff_id[STAFF_ID_SIZE];           /* who served */
    char tender[COUNTER_TENDER_SIZE];       /* cash, card, alipay_code */
    int64_t tendered_minor;                 /* cash handed over (0 for other tenders) */
    int64_t change_minor;                   /* cash given back (0 for other tenders) */
    char pos_reference[POS_REFERENCE_SIZE]; /* card: the terminal's reference */
    char id_type[ID_TYPE_SIZE];
    uint8_t id_hash[ID_HASH_SIZE];
    char id_last4[ID_LAST4_SIZE];
    char approved_by[STAFF_ID_SIZE];          /* "" when no approval was needed */
    char invoice_title[INVOICE_TITLE_SIZE];   /* "" when no invoice was asked for */
    char invoice_tax_id[INVOICE_TAX_ID_SIZE]; /* "" for a person */
    int receipt_print_count;                  /* prints so far; > 1 means reprinted */
    int64_t created_at;
    int64_t reversed_at;             /* 0 unless reversed */
    char reversed_by[STAFF_ID_SIZE]; /* the supervisor who reversed it */
    int64_t reversal_shift_id;       /* the shift whose drawer paid cash back */
    char reversal_reason[REASON_SIZE];
} counter_order_row;

/* TOPUP_E_ALREADY_EXISTS when the order is already a counter order; TOPUP_E_NOT_FOUND when the
 * order, shift, hall or staff does not exist; TOPUP_E_INVALID_ARGUMENT for fields that do not go
 * together (change above tendered, a card without its reference, ...). */
topup_result store_counter_order_insert(store *st, const counter_order_row *row);
/* TOPUP_E_NOT_FOUND when the order was not taken at a counter. */
topup_result store_counter_order_get(store *st, int64_t order_id, counter_order_row *row /* OUT */);

/* Counts one more print of the receipt and reads the new count (1: the first print, more: a
 * reprint). TOPUP_E_NOT_FOUND when the order was not taken at a counter. */
topup_result store_counter_order_printed(store *st, int64_t order_id, int *print_count /* OUT */);
/* Records a reversal: reversed_at, reversed_by, reversal_shift_id (0: no drawer paid back) and
 * reversal_reason of row. TOPUP_E_NOT_FOUND unless the order is a counter order not yet
 * reversed. */
topup_result store_counter_order_reverse(store *st, const counter_order_row *row);

/* A counter order whose customer asked for an invoice (发票), with what finance needs of its
 * order, hall and teller: one line of `topup invoices list` and the facts of the A4 record. */
typedef struct counter_invoice_row {
    int64_t order_id;
    int64_t created_at; /* the counter recharge's time, unix seconds */
    char invoice_title[INVOICE_TITLE_SIZE];
    char invoice_tax_id[INVOICE_TAX_ID_SIZE]; /* "" for a person */
    char msisdn[E164_SIZE];
    char operator_id[CATALOG_ID_SIZE];
    char operator_name[CATALOG_NAME_SIZE];
    int64_t face_minor;  /* credited to the subscriber */
    int64_t price_minor; /* what the customer paid: the invoice's amount */
    char currency[CURRENCY_CODE_SIZE];
    order_status status;
    char hall_id[HALL_ID_SIZE];
    char hall_name[HALL_NAME_SIZE];
    char staff_id[STAFF_ID_SIZE]; /* the teller who served */
    char staff_name[STAFF_NAME_SIZE];
    int64_t reversed_at; /* 0 unless reversed: the invoice is then void */
} counter_invoice_row;

/* The counter orders with an invoice request taken in [from, to) (unix seconds), of one hall
 * when hall_id is non-NULL, in order id order after after_order_id (0 = from the first); fills
 * at most count_max. */
topup_result store_counter_invoices_list(store *st, int64_t from, int64_t to, const char *hall_id,
                                         int64_t after_order_id,
                                         counter_invoice_row *rows /* OUT */, size_t count_max,
                                         size_t *count /* OUT */);
/* TOPUP_E_NOT_FOUND when the order is no counter order or its customer asked for no invoice. */
topup_result store_counter_invoice_get(store *st, int64_t order_id,
                                       counter_invoice_row *row /* OUT */);

/* A staff member's login at /counter, kept as the SHA-256 of its cookie (like the portal's). */
typedef struct staff_session_row {
    uint8_t token_hash[SESSION_HASH_SIZE];
    char staff_id[STAFF_ID_SIZE];
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at; /* last_seen_at + the idle timeout */
} staff_session_row;

topup_result store_staff_session_insert(store *st, const staff_session_row *session);
/* TOPUP_E_NOT_FOUND when there is no such session (expired ones are still found). */
topup_result store_staff_session_get(store *st, const uint8_t token_hash[SESSION_HASH_SIZE],
                                     staff_session_row *session /* OUT */);
/* Writes last_seen_at and expires_at; TOPUP_E_NOT_FOUND when the session is gone. */
topup_result store_staff_session_touch(store *st, const staff_session_row *session);
topup_result store_staff_session_delete(store *st, const uint8_t token_hash[SESSION_HASH_SIZE]);
/* Ends every session of a staff member (disabled, or locked out). */
topup_result store_staff_sessions_delete_staff(store *st, const char *staff_id);

typedef enum shift_total_by {
    SHIFT_TOTAL_BY_TENDER,  /* key: cash, card, alipay_code */
    SHIFT_TOTAL_BY_OPERATOR /* key: the operator of the recharged number */
} shift_total_by;

/* One line of a shift report. An order counts as taken once its money was (status paid,
 * submitted, unknown or succeeded) and it was not reversed; reversed orders count apart. */
typedef struct shift_total_row {
    char key[CATALOG_ID_SIZE];
    int64_t order_count;    /* taken, not reversed */
    int64_t amount_minor;   /* their prices */
    int64_t reversed_count; /* reversed */
    int64_t reversed_minor; /* their prices */
} shift_total_row;

/* The shift's counter orders summed per key, in key order; fills at most count_max. */
topup_result store_shift_totals(store *st, int64_t shift_id, shift_total_by by,
                                shift_total_row *rows /* OUT */, size_t count_max,
                                size_t *count /* OUT */);

#endif
