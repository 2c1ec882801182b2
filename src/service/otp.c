#include "service/otp.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY 86400

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

/* libsodium must be initialised once before its random numbers are used; it picks its
 * implementation then. Failing means no safe randomness at all, so nothing may go on. */
static void sodium_start(void)
{
    if (sodium_init() < 0)
        abort();
}

void otp_limits_defaults(otp_limits *limits)
{
    limits->per_number_per_day = 10;
    limits->per_ip_per_day = 50;
}

bool otp_purpose_valid(const char *purpose)
{
    return purpose && (strcmp(purpose, "register") == 0 || strcmp(purpose, "login") == 0 ||
                       strcmp(purpose, "reset") == 0);
}

/* BLAKE2b of the code keyed with a per-code random salt: the table alone does not give the
 * code away without trying the million candidates for each row. */
static void hash_code(const char *code, const uint8_t salt[OTP_SALT_SIZE],
                      uint8_t hash[OTP_HASH_SIZE])
{
    crypto_generichash(hash, OTP_HASH_SIZE, (const unsigned char *)code, strlen(code), salt,
                       OTP_SALT_SIZE);
}

/* Why no code may be sent now, or TOPUP_OK. */
static topup_result check_limits(store *st, otp_send *send, int64_t now)
{
    otp_row latest;
    topup_result r = store_otp_latest(st, send->msisdn, send->purpose, &latest);
    if (r == TOPUP_OK && now < latest.created_at + OTP_RESEND_S) {
        send->retry_after = latest.created_at + OTP_RESEND_S - now;
        return TOPUP_E_RATE_LIMITED;
    }
    if (r != TOPUP_OK && r != TOPUP_E_NOT_FOUND)
        return r;
    int64_t per_number, per_ip;
    if ((r = store_otp_count_since(st, send->msisdn, NULL, now - SECONDS_PER_DAY, &per_number)) ||
        (r = store_otp_count_since(st, NULL, send->client_ip, now - SECONDS_PER_DAY, &per_ip)))
        return r;
    if (per_number >= send->limits.per_number_per_day || per_ip >= send->limits.per_ip_per_day) {
        send->retry_after = 3600;
        return TOPUP_E_RATE_LIMITED;
    }
    return TOPUP_OK;
}

static topup_result send_effect(store *st, otp_send *send, int64_t now)
{
    topup_result r = check_limits(st, send, now);
    if (r != TOPUP_OK)
        return r;
    pthread_once(&sodium_once, sodium_start);
    char code[OTP_DIGITS + 1];
    snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
    otp_row otp = {.created_at = now, .expires_at = now + OTP_VALID_S};
    memcpy(otp.msisdn, send->msisdn, sizeof otp.msisdn);
    memcpy(otp.purpose, send->purpose, sizeof otp.purpose);
    memcpy(otp.client_ip, send->client_ip, sizeof otp.client_ip);
    randombytes_buf(otp.salt, sizeof otp.salt);
    hash_code(code, otp.salt, otp.code_hash);
    if ((r = store_otp_insert(st, &otp)))
        return r;
    outbox_row message = {.created_at = now};
    snprintf(message.event, sizeof message.event, "otp");
    memcpy(message.msisdn, send->msisdn, sizeof message.msisdn);
    snprintf(message.lang, sizeof message.lang, "%s", send->lang[0] ? send->lang : "zh-CN");
    snprintf(message.facts, sizeof message.facts, "{\"code\":\"%s\",\"minutes\":%d}", code,
             OTP_VALID_S / 60);
    sodium_memzero(code, sizeof code);
    r = store_outbox_insert(st, &message);
    sodium_memzero(message.facts, sizeof message.facts);
    send->expires_at = otp.expires_at;
    send->resend_at = now + OTP_RESEND_S;
    return r;
}

topup_result otp_send_apply(store *st, void *payload, int64_t now)
{
    otp_send *send = payload;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    send->result = send_effect(st, send, now);
    if (send->result != TOPUP_OK) {
        store_savepoint_rollback(st);
        return topup_result_is_storage_failure(send->result) ? send->result : TOPUP_OK;
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

static topup_result check_effect(store *st, otp_check *check, int64_t now)
{
    otp_row otp;
    topup_result r = store_otp_latest(st, check->msisdn, check->purpose, &otp);
    if (r == TOPUP_E_NOT_FOUND)
        return TOPUP_E_OTP_EXPIRED;
    if (r != TOPUP_OK)
        return r;
    if (otp.used_at || now >= otp.expires_at)
        return TOPUP_E_OTP_EXPIRED;
    if (otp.attempts >= OTP_CHECKS_MAX)
        return TOPUP_E_OTP_ATTEMPTS;
    otp.attempts++;
    uint8_t hash[OTP_HASH_SIZE];
    hash_code(check->code, otp.salt, hash);
    bool match = sodium_memcmp(hash, otp.code_hash, OTP_HASH_SIZE) == 0;
    if (match)
        otp.used_at = now;
    if ((r = store_otp_update(st, &otp)))
        return r;
    return match ? TOPUP_OK : TOPUP_E_OTP_WRONG;
}

topup_result otp_check_apply(store *st, void *payload, int64_t now)
{
    otp_check *check = payload;
    /* The attempt is counted even when the code is wrong: that is what limits guessing, so a
     * wrong code's change is committed, not rolled back. */
    check->result = check_effect(st, check, now);
    sodium_memzero(check->code, sizeof check->code);
    return topup_result_is_storage_failure(check->result) ? check->result : TOPUP_OK;
}
