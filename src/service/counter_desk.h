/* The teller's desk at /counter: staff logins and sessions, the counter recharge (cash with
 * change, or a bank card's POS reference; the customer's ID kept only as a keyed hash and its
 * last 4 characters; a supervisor's approval above a limit), receipt prints and a supervisor's
 * reversal. The rules of who may do what live here, never in the pages.
 *
 * Every function named *_apply is a writer step (writer.h): it runs inside the batch's
 * transaction, keeps its effects in its own savepoint and writes its audit entry there. A
 * refusal by rule leaves none of the action's effects, only its "<action>.refused" entry, and
 * the step still returns TOPUP_OK (the answer is in the payload); a storage failure is returned.
 * Argon2id checks run before a step (on a detached thread), never inside it.
 *
 * Ledger (see counter.h for the drawer's sign):
 *   cash recharge   the order's funding account is the teller's drawer, drawer:HALL:STAFF
 *   card recharge   the funding account is pos:HALL (kind clearing): what the card acquirer
 *                   owes the hall
 *   alipay_code     a payment order (payment.h): the funding account is clearing:alipay, and
 *                   money moves only when Alipay says paid
 *   reversal        kind counter_reversal, not linked to the order (its order stays succeeded,
 *                   so the order check of `topup verify` still holds): the face value leaves the
 *                   subscriber, the price goes back to the paying account (for cash the drawer
 *                   of an open shift at the hall), any discount or fee is undone. */
#ifndef TOPUP_COUNTER_DESK_H
#define TOPUP_COUNTER_DESK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/counter.h"
#include "service/recharge.h"
#include "service/session_token.h"

#define COUNTER_SESSION_IDLE_S       900         /* a staff session unused this long has ended */
#define COUNTER_SESSION_MAX_S        (12 * 3600) /* and none outlives a working day */
#define COUNTER_LOCK_AFTER           5           /* wrong passwords in a row before a lockout */
#define COUNTER_LOCK_S               900
#define COUNTER_TOKEN_SIZE           SESSION_TOKEN_SIZE
#define COUNTER_REVERSAL_WINDOW_S    1800
#define COUNTER_APPROVAL_LIMIT_MINOR 50000 /* above this price a supervisor approves */
#define COUNTER_POS_KIND             "clearing"
#define COUNTER_KIND_REVERSAL        "counter_reversal"
/* The idempotency keys' scope of counter recharges: the API's are API key ids (> 0), the
 * portal's ORDER_KEY_PORTAL (-1). */
#define COUNTER_IDEMPOTENCY_SCOPE (-2)
#define COUNTER_CODE_SIZE         32 /* a refusal's machine-readable code */

/* What a step did: done (TOPUP_OK, code ""), or refused with a code and one sentence. */
typedef struct counter_outcome {
    topup_result result;
    char code[COUNTER_CODE_SIZE];
    const char *text; /* static; NULL when done */
} counter_outcome;

/* "counter.key = value" settings of the config file. */
typedef struct counter_settings {
    char key_file[256];           /* secret that keys the hash of customers' ID numbers; "" = a
                                     new one per start (hashes then match only within it) */
    int64_t approval_limit_minor; /* prices above it need a supervisor's approval */
    int64_t reversal_window_s;    /* how long after a recharge a supervisor may reverse it */
} counter_settings;

void counter_settings_defaults(counter_settings *settings);

/* Returns 1 when applied, 0 when key is not counter.*, -1 when invalid (error says why). */
int counter_settings_apply(counter_settings *settings, const char *key, const char *value,
                           char *error, size_t error_size);

/* The ledger code of the hall's card terminal clearing account, pos:HALL. */
void counter_pos_code(const char *hall_id, char code[ACCOUNT_CODE_SIZE] /* OUT */);

/* ---- login, logout, sessions ---- */

typedef struct counter_login {
    counter_actor actor; /* IN: the login name tried and the client's address */
    bool password_ok;    /* IN: the Argon2id check of the password against the stored hash */

    counter_outcome outcome;        /* OUT: done; staff_unknown, staff_disabled or
                                       invalid_credentials (answered alike); locked
                                       (TOPUP_E_RATE_LIMITED) */
    int64_t locked_until;           /* OUT: when result is TOPUP_E_RATE_LIMITED */
    char token[COUNTER_TOKEN_SIZE]; /* OUT: the new session's cookie value */
    staff_row staff;                /* OUT: the staff member, when done */
    hall_row hall;                  /* OUT: their hall (empty for an admin without one) */
} counter_login;

/* Writer step: counts a wrong password (locking the login after COUNTER_LOCK_AFTER in a row,
 * which also ends its sessions), or opens a session. Audited as staff.login(.refused). */
topup_result counter_login_apply(store *st, void *payload, int64_t now);

typedef struct counter_logout {
    counter_actor actor;                     /* IN */
    uint8_t session_hash[SESSION_HASH_SIZE]; /* IN */
} counter_logout;

/* Writer step: ends the session, audited as staff.logout. */
topup_result counter_logout_apply(store *st, void *payload, int64_t now);

/* Whether a stored session is still valid at now. */
bool counter_session_live(const staff_session_row *session, int64_t now);

/* Writer step for a session seen in use: moves its idle deadline. payload: staff_session_row. */
topup_result counter_session_touch_apply(store *st, void *payload, int64_t now);

/* HMAC-SHA-256 of an ID number under key (the number upper-cased, spaces removed, so the same
 * document gives the same hash however it was typed), and its last 4 characters. false for a
 * number that is empty, too long or not ASCII letters and digits. */
bool counter_id_hash(const unsigned char *key, size_t key_size, const char *id_number,
                     uint8_t hash[ID_HASH_SIZE] /* OUT */, char last4[ID_LAST4_SIZE] /* OUT */);

/* ---- the recharge ---- */

typedef struct counter_recharge {
    counter_actor actor;              /* IN: the teller */
    recharge_request request;         /* IN: resolved number, product and money; channel counter */
    char tender[COUNTER_TENDER_SIZE]; /* IN: cash, card or alipay_code */
    int64_t tendered_minor;           /* IN: cash handed over, >= the price */
    char pos_reference[POS_REFERENCE_SIZE]; /* IN: card */
    char id_type[ID_TYPE_SIZE];             /* IN */
    uint8_t id_hash[ID_HASH_SIZE];          /* IN: counter_id_hash */
    char id_last4[ID_LAST4_SIZE];           /* IN */
    char approved_by[STAFF_ID_SIZE];        /* IN: the approving supervisor; "" for none */
    bool approver_password_ok;              /* IN: the Argon2id check of their password */
    bool approver_locked;                   /* IN: their login is locked (nothing checked) */
    char invoice_title[INVOICE_TITLE_SIZE]; /* IN: 发票抬头; "" when no invoice is wanted */
    char invoice_tax_id[INVOICE_TAX_ID_SIZE]; /* IN: a company's 纳税人识别号; "" for a person */
    char idempotency_key[IDEMPOTENCY_KEY_SIZE]; /* IN: one per payment, the same for its retries */
    uint8_t request_hash[REQUEST_HASH_SIZE];    /* IN: of everything the key stands for */
    bool replayed; /* OUT: the key's recharge was done before; order and row are its */
    int64_t approval_limit_minor; /* IN: prices above it need approved_by */
    struct payment_open *payment; /* IN/OUT: alipay_code: the payment order opened with the
                                     record (service/payment.h: provider, method, expiry set by
                                     the caller); NULL for the other tenders */

    counter_outcome outcome; /* OUT */
    order_row order;         /* OUT: the order, when done */
    counter_order_row row;   /* OUT: its counter record */
} counter_recharge;

/* Writer step. Refusals (code): staff_unknown, staff_disabled, role_refused (an admin),
 * no_open_shift, currency_mismatch (the operator's currency is not the hall's), tender_short
 * (less cash than the price), approval_required (above the limit without an approver),
 * approval_denied (the approver's password is wrong: counted against the approver's login like
 * a wrong login), approver_locked, approver_refused (the approver is not an
 * active supervisor of the hall or an admin, or is the teller), and the recharge's own
 * (subscriber_closed, ...). Audited as recharge(.refused). A key already used for the same
 * request answers its recharge again (replayed, nothing new is done or audited); for another
 * request it is refused (idempotency_key_reused). Only a done recharge is kept under its key, so
 * a refused one may be retried with the same key once the cause is fixed.
 *
 * alipay_code: nothing is paid yet. The step opens the order (created) with its payment
 * (payment_open_apply) and the counter record in the same transaction, and keeps the key; the
 * caller then asks Alipay (trade.pay) and records its answer as for any payment order. The order
 * is credited only when Alipay says paid, at once or found by query; a replay of the key shows
 * the order's current state, which is how the counter page follows a pending payment. */
topup_result counter_recharge_apply(store *st, void *payload, int64_t now);

/* ---- receipts ---- */

typedef struct counter_print {
    counter_actor actor; /* IN */
    int64_t order_id;    /* IN */

    counter_outcome outcome; /* OUT */
    int print_count;         /* OUT: 1 for the first print, more for a reprint */
    counter_order_row row;   /* OUT */
    staff_row teller;        /* OUT: who served */
    hall_row hall;           /* OUT */
} counter_print;

/* Writer step: counts a print of the receipt. The actor must be the teller who served, a
 * supervisor of the hall or an admin (wrong_hall, role_refused). Audited as receipt.print or
 * receipt.reprint. */
topup_result counter_print_apply(store *st, void *payload, int64_t now);

/* ---- reversal ---- */

typedef struct counter_reverse {
    counter_actor actor;      /* IN: the supervisor */
    int64_t order_id;         /* IN */
    char reason[REASON_SIZE]; /* IN: required */
    int64_t window_s;         /* IN: how long after the recharge it may be reversed */

    counter_outcome outcome; /* OUT */
    counter_order_row row;   /* OUT: with the reversal */
    order_row order;         /* OUT */
} counter_reverse;

/* Writer step. Refusals: role_refused (not a supervisor), wrong_hall, not_found (no such
 * counter order), already_reversed, window_passed, reason_required, balance_too_low (the credit
 * was spent: the subscriber is never taken below zero), no_open_shift (cash: no open drawer at
 * the hall to pay back from). The cash comes out of the serving teller's drawer when their shift
 * is still open, else out of the supervisor's; a card goes back to pos:HALL; an alipay_code
 * payment is refunded through Alipay (queued for the settlement worker in this transaction).
 * Audited as recharge.reverse(.refused). */
topup_result counter_reverse_apply(store *st, void *payload, int64_t now);

#endif
