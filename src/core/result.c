#include "core/result.h"

#include <assert.h>
#include <stddef.h>

struct result_info {
    const char *code;    /* stable API code */
    int http_status;     /* status the API answers with */
    const char *message; /* human sentence */
};

/* Indexed by topup_result; the static assert below keeps it in step with the enum. */
static const struct result_info results[] = {
    [TOPUP_OK] = {"ok", 200, "Success."},
    [TOPUP_E_NOMEM] = {"out_of_memory", 503, "The server ran out of memory; retry later."},
    [TOPUP_E_STORAGE] = {"storage_error", 500,
                         "The database failed; nothing was changed. Retry later."},
    [TOPUP_E_BUSY] = {"busy", 503, "The server is at capacity; retry after the given delay."},
    [TOPUP_E_INVALID_ARGUMENT] = {"invalid_request", 400, "A field is missing or malformed."},
    [TOPUP_E_AMOUNT_ZERO] = {"amount_zero", 422, "The amount must be greater than zero."},
    [TOPUP_E_AMOUNT_NEGATIVE] = {"amount_negative", 422, "The amount must not be negative."},
    [TOPUP_E_AMOUNT_OVERFLOW] = {"amount_overflow", 422,
                                 "The amount is too large to be represented."},
    [TOPUP_E_AMOUNT_FORMAT] = {"amount_format", 422,
                               "The amount is not a decimal number with at most as many "
                               "decimals as the currency has."},
    [TOPUP_E_CURRENCY_UNKNOWN] = {"currency_unknown", 422,
                                  "The currency is not a known ISO 4217 code."},
    [TOPUP_E_CURRENCY_MISMATCH] = {"currency_mismatch", 422,
                                   "The currency is not the one the operator uses."},
    [TOPUP_E_INVALID_NUMBER] = {"invalid_number", 422,
                                "The phone number is not a valid number of a configured "
                                "country."},
    [TOPUP_E_UNKNOWN_OPERATOR] = {"unknown_operator", 422,
                                  "No configured operator serves this number."},
    [TOPUP_E_NUMBER_NOT_MOBILE] = {"number_not_mobile", 422,
                                   "The number is valid but not a mobile number."},
    [TOPUP_E_ILLEGAL_TRANSITION] = {"illegal_transition", 409,
                                    "The order cannot move to that state from its current "
                                    "state."},
    [TOPUP_E_NOT_FOUND] = {"not_found", 404, "No such resource."},
    [TOPUP_E_INSUFFICIENT_FUNDS] = {"insufficient_funds", 402,
                                    "The funding account does not have enough money."},
    [TOPUP_E_SUBSCRIBER_CLOSED] = {"subscriber_closed", 422,
                                   "The number is closed and cannot be recharged."},
    [TOPUP_E_SUBSCRIBER_SUSPENDED] = {"subscriber_suspended", 422,
                                      "The number is suspended and cannot be recharged."},
    [TOPUP_E_PRODUCT_UNKNOWN] = {"product_unknown", 422,
                                 "The product does not exist or is not sold for this "
                                 "number's operator."},
    [TOPUP_E_AMOUNT_NOT_OFFERED] = {"amount_not_offered", 422,
                                    "The operator sells no product for this amount."},
    [TOPUP_E_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused", 409,
                                        "This Idempotency-Key was already used with a "
                                        "different request."},
    [TOPUP_E_ALREADY_EXISTS] = {"already_exists", 409, "It already exists."},
    [TOPUP_E_SUBSCRIBER_UNKNOWN] = {"subscriber_unknown", 404,
                                    "The number is not a subscriber of a hosted operator."},
    [TOPUP_E_SCHEMA] = {"schema_error", 500,
                        "The database is not a topup database of a supported version; run "
                        "'topup migrate'."},
    [TOPUP_E_IO] = {"io_error", 500, "A file could not be read or written."},
    [TOPUP_E_RATE_LIMITED] = {"rate_limited", 429, "Too many requests of this kind; try later."},
    [TOPUP_E_OTP_WRONG] = {"otp_wrong", 422, "The SMS code is not the one that was sent."},
    [TOPUP_E_OTP_EXPIRED] =
        {"otp_expired", 422,
         "There is no valid SMS code: it expired, was used, or was never sent."},
    [TOPUP_E_OTP_ATTEMPTS] = {"otp_attempts", 422,
                              "The SMS code was tried too often; ask for a new one."},
    [TOPUP_E_NONCE_REUSED] = {"nonce_reused", 401,
                              "This nonce was already used: every signed request needs a new one."},
    [TOPUP_E_INSUFFICIENT_FLOAT] = {"insufficient_float", 402,
                                    "The float and its credit limit do not cover the price."},
    [TOPUP_E_OPERATOR_UNAVAILABLE] = {"operator_unavailable", 503,
                                      "The operator cannot be reached now; try again later."},
};

_Static_assert(sizeof results / sizeof results[0] == TOPUP_RESULT_COUNT,
               "every topup_result needs an entry in results[]");

static const struct result_info *info(topup_result result)
{
    assert(result >= 0 && result < TOPUP_RESULT_COUNT);
    return &results[result];
}

const char *topup_result_code(topup_result result)
{
    return info(result)->code;
}

const char *topup_strerror(topup_result result)
{
    return info(result)->message;
}

int topup_result_http_status(topup_result result)
{
    return info(result)->http_status;
}

bool topup_result_is_storage_failure(topup_result result)
{
    return result == TOPUP_E_STORAGE || result == TOPUP_E_NOMEM || result == TOPUP_E_IO;
}
