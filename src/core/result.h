/* One numbered result for every operation that can fail for a reason outside the program.
 * Programmer errors (a broken invariant) assert instead. A retired value is never reused:
 * codes are stored in the idempotency table and shown to API clients. */
#ifndef TOPUP_RESULT_H
#define TOPUP_RESULT_H

#include <stdbool.h>

typedef enum topup_result {
    TOPUP_OK = 0,
    TOPUP_E_NOMEM = 1,
    TOPUP_E_STORAGE = 2,          /* the database failed; nothing was changed */
    TOPUP_E_BUSY = 3,             /* the write queue is full; retry later */
    TOPUP_E_INVALID_ARGUMENT = 4, /* a field is missing or malformed */
    TOPUP_E_AMOUNT_ZERO = 5,
    TOPUP_E_AMOUNT_NEGATIVE = 6,
    TOPUP_E_AMOUNT_OVERFLOW = 7,
    TOPUP_E_AMOUNT_FORMAT = 8, /* not a decimal, or more decimals than the currency has */
    TOPUP_E_CURRENCY_UNKNOWN = 9,
    TOPUP_E_CURRENCY_MISMATCH = 10, /* the amount's currency is not the operator's */
    TOPUP_E_INVALID_NUMBER = 11,
    TOPUP_E_UNKNOWN_OPERATOR = 12,
    TOPUP_E_NUMBER_NOT_MOBILE = 13,
    TOPUP_E_ILLEGAL_TRANSITION = 14,
    TOPUP_E_NOT_FOUND = 15,
    TOPUP_E_INSUFFICIENT_FUNDS = 16,
    TOPUP_E_SUBSCRIBER_CLOSED = 17,
    TOPUP_E_SUBSCRIBER_SUSPENDED = 18,
    TOPUP_E_PRODUCT_UNKNOWN = 19,
    TOPUP_E_AMOUNT_NOT_OFFERED = 20, /* no product of the operator accepts this amount */
    TOPUP_E_IDEMPOTENCY_KEY_REUSED = 21,
    TOPUP_E_ALREADY_EXISTS = 22,
    TOPUP_E_SUBSCRIBER_UNKNOWN = 23,   /* number not in a hosted range and not imported */
    TOPUP_E_SCHEMA = 24,               /* the database is not a topup database or is too new */
    TOPUP_E_IO = 25,                   /* a file could not be read or written */
    TOPUP_E_RATE_LIMITED = 26,         /* too many requests of this kind; retry later */
    TOPUP_E_OTP_WRONG = 27,            /* the SMS code does not match */
    TOPUP_E_OTP_EXPIRED = 28,          /* no valid SMS code: expired, used, or never sent */
    TOPUP_E_OTP_ATTEMPTS = 29,         /* the SMS code was tried too often */
    TOPUP_E_NONCE_REUSED = 30,         /* a signed request's nonce was used before (a replay) */
    TOPUP_E_INSUFFICIENT_FLOAT = 31,   /* a merchant's float plus credit limit is below the price */
    TOPUP_E_OPERATOR_UNAVAILABLE = 32, /* the operator's circuit is open: nothing is sent to it */
    TOPUP_RESULT_COUNT
} topup_result;

/* Stable machine-readable code, e.g. "invalid_number". Never changes once released. */
const char *topup_result_code(topup_result result);

/* One human sentence saying what was wrong. */
const char *topup_strerror(topup_result result);

/* The HTTP status the API answers with for this result. */
int topup_result_http_status(topup_result result);

/* Whether the result means the database (or memory) failed, as opposed to a request being
 * refused: a step that meets one must fail its whole batch, because SQLite may already have
 * rolled the transaction back. */
bool topup_result_is_storage_failure(topup_result result);

#endif
