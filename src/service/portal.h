/* Web portal accounts: registration, login (password or SMS code), password reset, logout and
 * sessions. Password hashing and checking (Argon2id, tens of milliseconds of CPU on purpose) run
 * before the writer step, never inside it; the step then records what they decided together with
 * the SMS code's use, the lockout counter and the new session, in one transaction. */
#ifndef TOPUP_PORTAL_H
#define TOPUP_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/session_token.h"
#include "store/store.h"

#define PORTAL_SESSION_IDLE_S    1800        /* a session unused this long has ended */
#define PORTAL_SESSION_MAX_S     (7 * 86400) /* and none outlives this */
#define PORTAL_LOCK_AFTER        5           /* wrong passwords in a row before a lockout */
#define PORTAL_LOCK_S            900
#define PORTAL_TOKEN_SIZE        SESSION_TOKEN_SIZE
#define PORTAL_PASSWORD_SIZE_MAX 128

/* "portal.key = value" settings of the config file. */
typedef struct portal_settings {
    char key_file[256];  /* secret that signs order links and receipt checks; "" = a new one per
                            start (links then end with the process) */
    bool secure_cookies; /* add Secure to the cookies: behind TLS */
} portal_settings;

void portal_settings_defaults(portal_settings *settings);

/* Returns 1 when applied, 0 when key is not portal.*, -1 when invalid (error says why). */
int portal_settings_apply(portal_settings *settings, const char *key, const char *value,
                          char *error, size_t error_size);

typedef enum portal_action {
    PORTAL_REGISTER,       /* code + new password hash */
    PORTAL_LOGIN_PASSWORD, /* password_ok says what the check found */
    PORTAL_LOGIN_CODE,     /* code */
    PORTAL_RESET,          /* code + new password hash */
    PORTAL_LOGOUT          /* session_hash */
} portal_action;

typedef struct portal_auth {
    portal_action action;                    /* IN */
    char msisdn[E164_SIZE];                  /* IN */
    char code[16];                           /* IN: the SMS code, for the code actions */
    char password_hash[PASSWORD_HASH_SIZE];  /* IN: register and reset */
    bool password_ok;                        /* IN: login by password */
    uint8_t session_hash[SESSION_HASH_SIZE]; /* IN: logout */

    topup_result result;           /* OUT: see portal_auth_apply */
    int64_t locked_until;          /* OUT: when result is TOPUP_E_RATE_LIMITED */
    char token[PORTAL_TOKEN_SIZE]; /* OUT: the new session's cookie value ("" for none) */
} portal_auth;

/* Writer step. result: TOPUP_OK; TOPUP_E_OTP_* for a code; TOPUP_E_ALREADY_EXISTS (register:
 * the number has an account); TOPUP_E_NOT_FOUND (login or reset without an account, or a wrong
 * password: the caller answers both the same way); TOPUP_E_RATE_LIMITED (locked). */
topup_result portal_auth_apply(store *st, void *payload, int64_t now);

/* Whether a password may be used: 8-128 bytes, not digits only. */
bool portal_password_acceptable(const char *password);

/* Argon2id string of password (interactive limits); false when out of memory. */
bool portal_password_hash(const char *password, char hash[PASSWORD_HASH_SIZE]);

/* Checks password against a stored hash. For a number without an account pass NULL: a hash of
 * the same cost is checked anyway, so the answer takes as long as for a real account. */
bool portal_password_check(const char *password, const char *stored_hash);

/* Whether the stored session is still valid at now. */
bool portal_session_live(const portal_session_row *session, int64_t now);

/* Writer step for a session seen in use: moves its idle deadline. payload: a heap-allocated
 * portal_session_row, freed by the caller's done callback. */
topup_result portal_session_touch_apply(store *st, void *payload, int64_t now);

#endif
