/* SMS codes (OTP) for registration, login and password reset: 6 digits from a CSPRNG, kept only
 * as a keyed hash, valid 5 minutes, at most 5 checks, sent again no sooner than 60 s, and
 * capped per number and per client IP per day. Sending writes the code and its SMS in one
 * transaction; checking compares hashes in constant time. */
#ifndef TOPUP_OTP_H
#define TOPUP_OTP_H

#include <stdint.h>

#include "store/store.h"

#define OTP_DIGITS       6
#define OTP_VALID_S      300
#define OTP_CHECKS_MAX   5
#define OTP_RESEND_S     60

typedef struct otp_limits {
    int per_number_per_day; /* default 10 */
    int per_ip_per_day;     /* default 50 */
} otp_limits;

void otp_limits_defaults(otp_limits *limits);

/* Whether purpose is register, login or reset. */
bool otp_purpose_valid(const char *purpose);

typedef struct otp_send {
    char msisdn[E164_SIZE];
    char purpose[OTP_PURPOSE_SIZE];
    char client_ip[64];
    char lang[8];
    otp_limits limits;

    /* OUT */
    topup_result result; /* TOPUP_OK, TOPUP_E_RATE_LIMITED */
    int64_t expires_at;
    int64_t resend_at;   /* when another code may be asked for */
    int64_t retry_after; /* seconds, when rate limited */
} otp_send;

/* A writer step: refuses when a limit is reached, else makes a code, stores its hash and queues
 * its SMS. Returns the storage failure, if any; the outcome is in payload. */
topup_result otp_send_apply(store *st, void *payload /* otp_send */, int64_t now);

typedef struct otp_check {
    char msisdn[E164_SIZE];
    char purpose[OTP_PURPOSE_SIZE];
    char code[16];

    /* OUT */
    topup_result result; /* TOPUP_OK (and the code is used up), TOPUP_E_OTP_WRONG,
                          * TOPUP_E_OTP_EXPIRED, TOPUP_E_OTP_ATTEMPTS */
} otp_check;

/* A writer step: counts the attempt and checks the newest code for (msisdn, purpose). */
topup_result otp_check_apply(store *st, void *payload /* otp_check */, int64_t now);

#endif
