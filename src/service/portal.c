#include "service/portal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "service/otp.h"
#include "service/session_token.h"

#define PASSWORD_SIZE_MIN 8
#define PREFIX            "portal."

void portal_settings_defaults(portal_settings *settings)
{
    memset(settings, 0, sizeof *settings);
}

int portal_settings_apply(portal_settings *settings, const char *key, const char *value,
                          char *error, size_t error_size)
{
    if (strncmp(key, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    const char *name = key + strlen(PREFIX);
    if (strcmp(name, "key_file") == 0 && strlen(value) < sizeof settings->key_file) {
        snprintf(settings->key_file, sizeof settings->key_file, "%s", value);
        return 1;
    }
    if (strcmp(name, "secure_cookies") == 0 &&
        (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
        settings->secure_cookies = strcmp(value, "true") == 0;
        return 1;
    }
    snprintf(error, error_size,
             "%s = %s: the portal's settings are key_file (a path) and secure_cookies (true or "
             "false)",
             key, value);
    return -1;
}

bool portal_password_acceptable(const char *password)
{
    size_t length = password ? strlen(password) : 0;
    return length >= PASSWORD_SIZE_MIN && length <= PORTAL_PASSWORD_SIZE_MAX &&
           strspn(password, "0123456789") != length;
}

bool portal_password_hash(const char *password, char hash[PASSWORD_HASH_SIZE])
{
    return sodium_init() >= 0 &&
           crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

/* A hash made once per process with the same limits: checking against it costs what a real
 * check costs, so a missing account cannot be told apart by the time the answer takes. */
static char decoy[PASSWORD_HASH_SIZE];
static bool decoy_made;
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void make_decoy(void)
{
    decoy_made = portal_password_hash("decoy password, never given", decoy);
}

bool portal_password_check(const char *password, const char *stored_hash)
{
    if (stored_hash)
        return crypto_pwhash_str_verify(stored_hash, password, strlen(password)) == 0;
    pthread_once(&decoy_once, make_decoy);
    if (decoy_made && crypto_pwhash_str_verify(decoy, password, strlen(password)) == 0)
        return false; /* only the time spent matters: there is no account to log in to */
    return false;
}

bool portal_session_live(const portal_session_row *session, int64_t now)
{
    return now < session->expires_at && now < session->created_at + PORTAL_SESSION_MAX_S;
}

/* A new session for msisdn; its cookie value goes to token. */
static topup_result open_session(store *st, const char *msisdn, int64_t now,
                                 char token[PORTAL_TOKEN_SIZE])
{
    portal_session_row session = {
        .created_at = now, .last_seen_at = now, .expires_at = now + PORTAL_SESSION_IDLE_S};
    session_token_new(token, session.token_hash);
    snprintf(session.msisdn, sizeof session.msisdn, "%s", msisdn);
    return store_portal_session_insert(st, &session);
}

static topup_result register_user(store *st, portal_auth *auth, int64_t now)
{
    portal_user_row user = {.created_at = now, .updated_at = now};
    snprintf(user.msisdn, sizeof user.msisdn, "%s", auth->msisdn);
    memcpy(user.password_hash, auth->password_hash, sizeof user.password_hash);
    topup_result r = store_portal_user_insert(st, &user);
    return r ? r : open_session(st, auth->msisdn, now, auth->token);
}

static topup_result reset_password(store *st, portal_auth *auth, int64_t now)
{
    portal_user_row user;
    topup_result r = store_portal_user_get(st, auth->msisdn, &user);
    if (r != TOPUP_OK)
        return r;
    memcpy(user.password_hash, auth->password_hash, sizeof user.password_hash);
    /* Proving the number by SMS is what a locked-out owner does: it also lifts the lock. */
    user.failed_logins = 0;
    user.locked_until = 0;
    user.updated_at = now;
    if ((r = store_portal_user_update(st, &user)) ||
        (r = store_portal_sessions_delete_user(st, auth->msisdn)))
        return r;
    return open_session(st, auth->msisdn, now, auth->token);
}

static topup_result login_by_code(store *st, portal_auth *auth, int64_t now)
{
    portal_user_row user;
    topup_result r = store_portal_user_get(st, auth->msisdn, &user);
    return r ? r : open_session(st, auth->msisdn, now, auth->token);
}

/* A wrong password counts towards the lockout, so its change is kept although it refuses. */
static topup_result login_by_password(store *st, portal_auth *auth, int64_t now)
{
    portal_user_row user;
    topup_result r = store_portal_user_get(st, auth->msisdn, &user);
    if (r != TOPUP_OK)
        return r;
    if (user.locked_until > now) {
        auth->locked_until = user.locked_until;
        return TOPUP_E_RATE_LIMITED;
    }
    user.updated_at = now;
    if (auth->password_ok) {
        user.failed_logins = 0;
        user.locked_until = 0;
        r = store_portal_user_update(st, &user);
        return r ? r : open_session(st, auth->msisdn, now, auth->token);
    }
    if (++user.failed_logins >= PORTAL_LOCK_AFTER) {
        user.failed_logins = 0;
        user.locked_until = now + PORTAL_LOCK_S;
    }
    r = store_portal_user_update(st, &user);
    auth->result = TOPUP_E_NOT_FOUND; /* a wrong password is answered like a missing account */
    return r;
}

/* The SMS code first (its attempt is counted whatever follows), then the account change. */
static topup_result check_code(store *st, portal_auth *auth, const char *purpose, int64_t now)
{
    otp_check check = {0};
    snprintf(check.msisdn, sizeof check.msisdn, "%s", auth->msisdn);
    snprintf(check.purpose, sizeof check.purpose, "%s", purpose);
    snprintf(check.code, sizeof check.code, "%s", auth->code);
    sodium_memzero(auth->code, sizeof auth->code);
    topup_result r = otp_check_apply(st, &check, now);
    return r ? r : check.result;
}

static topup_result auth_effect(store *st, portal_auth *auth, int64_t now)
{
    static const char *const purposes[] = {
        [PORTAL_REGISTER] = "register", [PORTAL_LOGIN_CODE] = "login", [PORTAL_RESET] = "reset"};
    switch (auth->action) {
    case PORTAL_LOGOUT:
        return store_portal_session_delete(st, auth->session_hash);
    case PORTAL_LOGIN_PASSWORD:
        return login_by_password(st, auth, now);
    case PORTAL_REGISTER:
    case PORTAL_LOGIN_CODE:
    case PORTAL_RESET:
        break;
    }
    topup_result r = check_code(st, auth, purposes[auth->action], now);
    if (r != TOPUP_OK)
        return r;
    if ((r = store_savepoint(st)))
        return r;
    r = auth->action == PORTAL_REGISTER ? register_user(st, auth, now)
        : auth->action == PORTAL_RESET  ? reset_password(st, auth, now)
                                        : login_by_code(st, auth, now);
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
    } else {
        store_savepoint_rollback(st);
        auth->token[0] = '\0';
    }
    return r;
}

topup_result portal_auth_apply(store *st, void *payload, int64_t now)
{
    portal_auth *auth = payload;
    auth->result = TOPUP_OK;
    auth->token[0] = '\0';
    topup_result r = auth_effect(st, auth, now);
    if (auth->result == TOPUP_OK)
        auth->result = r;
    if (topup_result_is_storage_failure(r))
        return r;
    return TOPUP_OK;
}

topup_result portal_session_touch_apply(store *st, void *payload, int64_t now)
{
    portal_session_row *session = payload;
    session->last_seen_at = now;
    session->expires_at = now + PORTAL_SESSION_IDLE_S;
    topup_result r = store_portal_session_touch(st, session);
    /* A session logged out meanwhile is simply gone: nothing to keep alive. */
    return r == TOPUP_E_NOT_FOUND ? TOPUP_OK : r;
}
