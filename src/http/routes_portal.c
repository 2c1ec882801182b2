/* The web portal (docs/portal.md): its pages and assets, and the JSON endpoints its scripts call.
 *
 * Exposed to: anyone's browser. A change needs the CSRF header (double submit: the value of the
 * topup_csrf cookie, which only a page of this origin can read); account data needs the session
 * cookie; an order's result and receipt need the order's access token (an HMAC of its id) or the
 * session that placed it. Password hashing runs on detached threads, never on the writer. */
#include "http/http_int.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "receipts/receipt.h"
#include "service/numbers.h"
#include "service/otp.h"
#include "service/payment.h"
#include "service/portal.h"

#define SESSION_COOKIE  "topup_session"
#define CSRF_COOKIE     "topup_csrf"
#define ACCESS_SIZE     33 /* 16 bytes of HMAC in hex, and NUL */
#define TOUCH_EVERY_S   60 /* a session's idle deadline moves at most once a minute */
#define ACCOUNT_ORDERS  20
#define ACCOUNT_NUMBERS 10

/* ---- cookies, CSRF and the session ---- */

/* Keeps a session in use alive, without making the request wait for it. */
static void touch_session(request *rq)
{
    if (clock_now_seconds() - rq->session.last_seen_at >= TOUCH_EVERY_S)
        http_write_and_forget(rq, portal_session_touch_apply, &rq->session, sizeof rq->session);
}

static void load_session(request *rq)
{
    const char *token = http_cookie(rq, SESSION_COOKIE);
    store *reader = server_reader(rq->srv);
    if (!token || !reader)
        return;
    uint8_t hash[SESSION_HASH_SIZE];
    session_token_hash(token, hash);
    rq->logged_in = store_portal_session_get(reader, hash, &rq->session) == TOPUP_OK &&
                    portal_session_live(&rq->session, clock_now_seconds());
    if (rq->logged_in)
        touch_session(rq);
}

bool portal_authorize(request *rq)
{
    if (!http_csrf_guard(rq, CSRF_COOKIE))
        return false;
    load_session(rq);
    return true;
}

static bool require_login(request *rq)
{
    if (!rq->logged_in)
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 401, "login_required", "Log in first.");
    return rq->logged_in;
}

/* ---- access tokens ---- */

static void order_access(const server *srv, int64_t order_id, char access[ACCESS_SIZE])
{
    char text[32];
    int length = snprintf(text, sizeof text, "order:%lld", (long long)order_id);
    unsigned char mac[32];
    unsigned int mac_size = sizeof mac;
    HMAC(EVP_sha256(), srv->portal_key, sizeof srv->portal_key, (const unsigned char *)text,
         (size_t)length, mac, &mac_size);
    for (size_t i = 0; i < (ACCESS_SIZE - 1) / 2; i++)
        snprintf(access + 2 * i, 3, "%02x", mac[i]);
}

void http_portal_order_link(const server *srv, int64_t order_id, char *link, size_t link_size)
{
    char access[ACCESS_SIZE];
    order_access(srv, order_id, access);
    snprintf(link, link_size, "/order/%lld?t=%s", (long long)order_id, access);
}

/* Whether the request may see the order: its access token, or the session that placed it. */
static bool may_see_order(request *rq, int64_t order_id)
{
    const char *given = MHD_lookup_connection_value(rq->connection, MHD_GET_ARGUMENT_KIND, "t");
    char access[ACCESS_SIZE];
    order_access(rq->srv, order_id, access);
    if (given && strlen(given) == ACCESS_SIZE - 1 &&
        CRYPTO_memcmp(given, access, ACCESS_SIZE - 1) == 0)
        return true;
    store *reader = server_reader(rq->srv);
    return rq->logged_in && reader &&
           store_portal_order_owned(reader, order_id, rq->session.msisdn) == TOPUP_OK;
}

static void add_access(request *rq, int64_t order_id, json_t *answer)
{
    char access[ACCESS_SIZE];
    order_access(rq->srv, order_id, access);
    json_object_set_new(answer, "access", json_string(access));
}

/* ---- GET /portal/api/session ---- */

/* The configured providers and the methods a browser can use: not the payment code (the
 * counter's) and not a QR code (shown by an app's checkout, not this site). */
static json_t *providers_value(const server *srv)
{
    json_t *list = json_array();
    for (int id = 0; id < PROVIDER_COUNT; id++) {
        const provider_ops *ops = provider_ops_for((provider_id)id);
        if (!srv->gateways.instances[id] || !ops)
            continue;
        json_t *methods = json_array();
        for (int m = 0; m < PAY_METHOD_COUNT; m++)
            if ((ops->methods & PAY_METHOD_BIT(m)) && m != PAY_METHOD_CODE && m != PAY_METHOD_QR)
                json_array_append_new(methods, json_string(pay_method_name((pay_method)m)));
        json_array_append_new(list, json_pack("{s:s,s:o}", "name", ops->name, "methods", methods));
    }
    return list;
}

void http_portal_session(request *rq)
{
    char csrf[HTTP_CSRF_SIZE];
    http_csrf_cookie(rq, CSRF_COOKIE, PORTAL_SESSION_MAX_S, csrf);
    json_t *value = json_pack("{s:b,s:s,s:o}", "logged_in", rq->logged_in, "csrf", csrf,
                              "providers", providers_value(rq->srv));
    if (rq->logged_in)
        json_object_set_new(value, "msisdn", json_string(rq->session.msisdn));
    answer_json_value(rq, 200, value);
}

/* ---- reading bodies ---- */

static json_t *json_body(request *rq)
{
    const char *type = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Content-Type");
    if (!http_is_json(type)) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 415, "unsupported_media_type",
                       "Send the body as Content-Type: application/json.");
        return NULL;
    }
    return http_parse_object(rq);
}

/* The number of a body field, normalised; answers and returns false when it is not one. */
static bool read_number(request *rq, const char *text, number_info *info)
{
    if (!text) {
        http_bad_request(rq, "missing_field", "The field 'msisdn' is required.");
        return false;
    }
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    topup_result r = reader
                         ? numbers_resolve(cat, reader, rq->srv->config.default_country, text, info)
                         : TOPUP_E_STORAGE;
    catalog_unref(cat);
    if (r != TOPUP_OK)
        http_answer_result(rq, r, NULL);
    return r == TOPUP_OK;
}

static bool read_code(request *rq, const char *code, char out[16])
{
    if (!code || strlen(code) != OTP_DIGITS || strspn(code, "0123456789") != OTP_DIGITS) {
        http_bad_request(rq, "invalid_field", "'code' is the 6 digits of the SMS.");
        return false;
    }
    snprintf(out, 16, "%s", code);
    return true;
}

static bool read_password(request *rq, const char *password, bool new_one, char *out,
                          size_t out_size)
{
    if (!password || strlen(password) >= out_size ||
        (new_one && !portal_password_acceptable(password))) {
        http_bad_request(rq, new_one ? "weak_password" : "invalid_field",
                         "A password is 8 to 128 characters and not only digits.");
        return false;
    }
    snprintf(out, out_size, "%s", password);
    return true;
}

/* ---- POST /portal/api/otp ---- */

static void finish_otp(request *rq)
{
    const otp_send *send = rq->work;
    if (send->result == TOPUP_E_RATE_LIMITED) {
        answer_problem(rq, send->result, 429, NULL, "Too many SMS codes; ask again later.");
        rq->retry_after_s = (int)(send->retry_after > 0 ? send->retry_after : 1);
        return;
    }
    if (send->result != TOPUP_OK) {
        http_answer_result(rq, send->result, NULL);
        return;
    }
    answer_json_value(rq, 202, json_pack("{s:I}", "resend_after", (json_int_t)OTP_RESEND_S));
}

/* A code goes out whether or not the number has an account, so the answer says nothing about
 * who is registered; only the number's owner reads the SMS. */
void http_portal_otp(request *rq)
{
    json_t *body = json_body(rq);
    if (!body)
        return;
    otp_send *send = calloc(1, sizeof *send);
    rq->work = send;
    const char *purpose = json_string_value(json_object_get(body, "purpose"));
    number_info info;
    bool ok = send && read_number(rq, json_string_value(json_object_get(body, "msisdn")), &info);
    if (ok && !otp_purpose_valid(purpose)) {
        http_bad_request(rq, "invalid_field", "'purpose' is register, login or reset.");
        ok = false;
    }
    if (ok && !rq->srv->config.sms.transport[0]) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 503, "sms_off",
                       "SMS is not configured here, so no code can be sent.");
        ok = false;
    }
    if (ok) {
        snprintf(send->msisdn, sizeof send->msisdn, "%s", info.e164);
        snprintf(send->purpose, sizeof send->purpose, "%s", purpose);
        snprintf(send->lang, sizeof send->lang, "%s", rq->srv->config.sms.lang);
        http_peer_address(rq, send->client_ip, sizeof send->client_ip);
        otp_limits_defaults(&send->limits);
        send->limits.per_number_per_day = rq->srv->config.sms.otp_per_number_per_day;
        send->limits.per_ip_per_day = rq->srv->config.sms.otp_per_ip_per_day;
    }
    json_decref(body);
    if (ok)
        server_submit_job(rq, otp_send_apply, send, finish_otp);
    else if (!send)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
}

/* ---- register, login, reset, logout ---- */

typedef struct auth_work {
    portal_auth auth;
    char password[PORTAL_PASSWORD_SIZE_MAX + 1];
    bool has_password;
    bool account_known; /* login by password: the account exists (its hash is in stored_hash) */
    char stored_hash[PASSWORD_HASH_SIZE];
} auth_work;

static void answer_auth(request *rq, const portal_auth *auth, int ok_status)
{
    switch (auth->result) {
    case TOPUP_OK:
        if (auth->token[0])
            http_set_cookie(rq, 1, SESSION_COOKIE, auth->token, PORTAL_SESSION_MAX_S, true);
        else
            http_set_cookie(rq, 1, SESSION_COOKIE, "", 0, true);
        if (ok_status == 204)
            answer_json(rq, 204, "", 0);
        else
            answer_json_value(rq, ok_status, json_pack("{s:s}", "msisdn", auth->msisdn));
        return;
    case TOPUP_E_ALREADY_EXISTS:
        answer_problem(rq, auth->result, 409, "account_exists",
                       "This number already has an account: log in, or reset the password.");
        return;
    case TOPUP_E_NOT_FOUND:
        answer_problem(rq, auth->result, 401, "invalid_credentials",
                       "The number or the password is not right.");
        return;
    case TOPUP_E_RATE_LIMITED: {
        int64_t wait = auth->locked_until - clock_now_seconds();
        answer_problem(rq, auth->result, 429, "locked",
                       "Too many wrong passwords: log in with an SMS code, or try again later.");
        rq->retry_after_s = (int)(wait > 0 ? wait : 1);
        return;
    }
    default:
        http_answer_result(rq, auth->result, NULL);
    }
}

static int ok_status_of(portal_action action)
{
    return action == PORTAL_REGISTER ? 201 : action == PORTAL_LOGOUT ? 204 : 200;
}

static bool commit_auth(request *rq, portal_auth *auth)
{
    writer_job job = {.apply = portal_auth_apply, .payload = auth};
    topup_result r = writer_submit_wait(rq->srv->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result;
    if (r != TOPUP_OK) {
        answer_problem(rq, r, r == TOPUP_E_BUSY ? 503 : topup_result_http_status(r), NULL, NULL);
        rq->retry_after = r == TOPUP_E_BUSY;
    }
    return r == TOPUP_OK;
}

/* On a detached thread: the Argon2id work, then the writer step. */
static void run_auth(request *rq)
{
    auth_work *work = rq->work;
    portal_auth *auth = &work->auth;
    bool hashed = true;
    if (auth->action == PORTAL_LOGIN_PASSWORD)
        auth->password_ok =
            portal_password_check(work->password, work->account_known ? work->stored_hash : NULL);
    else if (work->has_password)
        hashed = portal_password_hash(work->password, auth->password_hash);
    sodium_memzero(work->password, sizeof work->password);
    if (!hashed) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    if (auth->action == PORTAL_LOGIN_PASSWORD && !work->account_known) {
        auth->result = TOPUP_E_NOT_FOUND;
        answer_auth(rq, auth, 200);
        return;
    }
    if (commit_auth(rq, auth))
        answer_auth(rq, auth, ok_status_of(auth->action));
}

/* Reads msisdn, code and password as the action needs them; answers when they are wrong. */
static bool read_auth(request *rq, json_t *body, auth_work *work)
{
    portal_auth *auth = &work->auth;
    number_info info;
    if (!read_number(rq, json_string_value(json_object_get(body, "msisdn")), &info))
        return false;
    snprintf(auth->msisdn, sizeof auth->msisdn, "%s", info.e164);
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (auth->action == PORTAL_LOGIN_PASSWORD && code && !password)
        auth->action = PORTAL_LOGIN_CODE;
    if (auth->action != PORTAL_LOGIN_PASSWORD && !read_code(rq, code, auth->code))
        return false;
    work->has_password = auth->action != PORTAL_LOGIN_CODE;
    return !work->has_password || read_password(rq, password, auth->action != PORTAL_LOGIN_PASSWORD,
                                                work->password, sizeof work->password);
}

/* Login by password: a locked account is refused before any Argon2id work is spent on it. */
static bool check_lock(request *rq, auth_work *work)
{
    store *reader = server_reader(rq->srv);
    portal_user_row user;
    topup_result r =
        reader ? store_portal_user_get(reader, work->auth.msisdn, &user) : TOPUP_E_STORAGE;
    if (r != TOPUP_OK && r != TOPUP_E_NOT_FOUND) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    work->account_known = r == TOPUP_OK;
    if (work->account_known)
        memcpy(work->stored_hash, user.password_hash, sizeof work->stored_hash);
    if (work->account_known && user.locked_until > clock_now_seconds()) {
        work->auth.result = TOPUP_E_RATE_LIMITED;
        work->auth.locked_until = user.locked_until;
        answer_auth(rq, &work->auth, 200);
        return false;
    }
    return true;
}

static void start_auth(request *rq, portal_action action)
{
    auth_work *work = calloc(1, sizeof *work);
    if (!work) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    rq->work = work;
    work->auth.action = action;
    json_t *body = json_body(rq);
    if (!body)
        return;
    bool ok = read_auth(rq, body, work);
    json_decref(body);
    if (ok && work->auth.action == PORTAL_LOGIN_PASSWORD)
        ok = check_lock(rq, work);
    if (!ok)
        return;
    server_run_detached(rq, run_auth);
}

void http_portal_register(request *rq)
{
    start_auth(rq, PORTAL_REGISTER);
}

void http_portal_login(request *rq)
{
    start_auth(rq, PORTAL_LOGIN_PASSWORD);
}

void http_portal_reset(request *rq)
{
    start_auth(rq, PORTAL_RESET);
}

static void finish_logout(request *rq)
{
    answer_auth(rq, rq->work, 204);
}

void http_portal_logout(request *rq)
{
    portal_auth *auth = calloc(1, sizeof *auth);
    if (!auth) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    rq->work = auth;
    auth->action = PORTAL_LOGOUT;
    const char *token = http_cookie(rq, SESSION_COOKIE);
    session_token_hash(token ? token : "", auth->session_hash);
    server_submit_job(rq, portal_auth_apply, auth, finish_logout);
}

/* ---- GET /portal/api/numbers/{msisdn} ---- */

void http_portal_number(request *rq)
{
    number_info info;
    if (!read_number(rq, rq->param, &info))
        return;
    catalog *cat = server_catalog(rq->srv);
    const operator_info *op = catalog_operator(cat, info.op->id);
    json_t *value =
        op ? json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:o}", "msisdn", info.e164, "masked", info.masked,
                       "operator", "id", op->id, "name", op->name, "currency", op->currency,
                       "products", http_products_value(cat, op))
           : NULL;
    catalog_unref(cat);
    if (value)
        answer_json_value(rq, 200, value);
    else
        http_answer_result(rq, TOPUP_E_UNKNOWN_OPERATOR, NULL);
}

/* ---- orders ---- */

void http_portal_order_create(request *rq)
{
    payment_order_origin origin = {
        .channel = "web",
        .scope = ORDER_KEY_PORTAL,
        .owner = rq->logged_in ? rq->session.msisdn : NULL,
        .access = add_access,
        .payer_is_peer = true,
    };
    http_start_payment_order(rq, &origin);
}

/* The order's number once credited: its balance and validity now. */
static void add_balance(store *reader, json_t *value)
{
    const char *msisdn = json_string_value(json_object_get(value, "msisdn"));
    subscriber_row sub;
    if (!msisdn || store_subscriber_get(reader, msisdn, &sub) != TOPUP_OK)
        return;
    char valid_until[RFC3339_SIZE];
    clock_format_rfc3339(sub.valid_until, valid_until);
    json_object_set_new(value, "balance_minor", json_integer(sub.balance_minor));
    json_object_set_new(value, "valid_until",
                        sub.valid_until ? json_string(valid_until) : json_null());
}

static bool read_order_id(request *rq, const char *text, int64_t *id)
{
    if (http_parse_id(text, id) && may_see_order(rq, *id))
        return true;
    answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such order.");
    return false;
}

void http_portal_order_get(request *rq)
{
    int64_t id;
    if (!read_order_id(rq, rq->param, &id))
        return;
    store *reader = server_reader(rq->srv);
    topup_result r = TOPUP_E_STORAGE;
    json_t *value = reader ? http_payment_order_value(reader, id, &r) : NULL;
    if (!value) {
        answer_problem(rq, r, r == TOPUP_E_NOT_FOUND ? 404 : topup_result_http_status(r),
                       r == TOPUP_E_NOT_FOUND ? "not_found" : NULL, NULL);
        return;
    }
    json_t *order = json_object_get(value, "order");
    add_balance(reader, order ? order : value);
    add_access(rq, id, value);
    answer_json_value(rq, 200, value);
}

/* ---- the account ---- */

static json_t *number_value(store *reader, const catalog *cat, const char *msisdn,
                            const char *label, bool own)
{
    json_t *value = json_pack("{s:s,s:s,s:b}", "msisdn", msisdn, "label", label, "own", own);
    subscriber_row sub;
    if (store_subscriber_get(reader, msisdn, &sub) == TOPUP_OK) {
        const operator_info *op = catalog_operator(cat, sub.operator_id);
        char valid_until[RFC3339_SIZE];
        clock_format_rfc3339(sub.valid_until, valid_until);
        json_object_set_new(value, "operator", json_string(op ? op->name : sub.operator_id));
        json_object_set_new(value, "balance_minor", json_integer(sub.balance_minor));
        json_object_set_new(value, "currency", json_string(sub.currency));
        json_object_set_new(value, "valid_until",
                            sub.valid_until ? json_string(valid_until) : json_null());
    }
    size_t plan_count;
    const number_plan *plans = catalog_plans(cat, &plan_count);
    for (size_t i = 0; i < plan_count; i++) {
        char masked[MASKED_SIZE] = "";
        if (strncmp(msisdn + 1, plans[i].calling_code, strlen(plans[i].calling_code)) != 0)
            continue;
        msisdn_mask(msisdn, &plans[i], masked, sizeof masked);
        json_object_set_new(value, "masked", json_string(masked));
        break;
    }
    return value;
}

static json_t *numbers_value(request *rq, store *reader)
{
    catalog *cat = server_catalog(rq->srv);
    json_t *list = json_array();
    json_array_append_new(list, number_value(reader, cat, rq->session.msisdn, "", true));
    portal_number_row saved[ACCOUNT_NUMBERS];
    size_t count = 0;
    if (store_portal_numbers(reader, rq->session.msisdn, saved, ACCOUNT_NUMBERS, &count) ==
        TOPUP_OK)
        for (size_t i = 0; i < count; i++)
            json_array_append_new(
                list, number_value(reader, cat, saved[i].number, saved[i].label, false));
    catalog_unref(cat);
    return list;
}

static json_t *orders_value(request *rq, store *reader)
{
    order_row orders[ACCOUNT_ORDERS];
    size_t count = 0;
    json_t *list = json_array();
    if (store_portal_orders(reader, rq->session.msisdn, 0, orders, ACCOUNT_ORDERS, &count) !=
        TOPUP_OK)
        return list;
    for (size_t i = 0; i < count; i++) {
        char access[ACCESS_SIZE], created_at[RFC3339_SIZE], id[24];
        order_access(rq->srv, orders[i].id, access);
        clock_format_rfc3339(orders[i].created_at, created_at);
        snprintf(id, sizeof id, "%lld", (long long)orders[i].id);
        json_array_append_new(
            list,
            json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "id", id, "status",
                      order_status_name(orders[i].status), "msisdn", orders[i].msisdn, "product",
                      orders[i].product_id, "amount_minor", (json_int_t)orders[i].face_minor,
                      "price_minor", (json_int_t)orders[i].price_minor, "currency",
                      orders[i].currency, "created_at", created_at, "access", access));
    }
    return list;
}

void http_portal_account(request *rq)
{
    if (!require_login(rq))
        return;
    store *reader = server_reader(rq->srv);
    if (!reader) {
        http_answer_result(rq, TOPUP_E_STORAGE, NULL);
        return;
    }
    answer_json_value(rq, 200,
                      json_pack("{s:s,s:o,s:o}", "msisdn", rq->session.msisdn, "numbers",
                                numbers_value(rq, reader), "orders", orders_value(rq, reader)));
}

typedef struct number_work {
    char msisdn[E164_SIZE];
    portal_number_row number;
    bool remove;
    topup_result result;
} number_work;

static topup_result number_apply(store *st, void *payload, int64_t now)
{
    number_work *work = payload;
    work->number.created_at = now;
    work->result = work->remove ? store_portal_number_remove(st, work->msisdn, work->number.number)
                                : store_portal_number_save(st, work->msisdn, &work->number);
    return topup_result_is_storage_failure(work->result) ? work->result : TOPUP_OK;
}

static void finish_number(request *rq)
{
    const number_work *work = rq->work;
    if (work->result == TOPUP_OK)
        answer_json(rq, work->remove ? 204 : 201, "", 0);
    else
        http_answer_result(rq, work->result, NULL);
}

static number_work *number_work_new(request *rq)
{
    number_work *work = calloc(1, sizeof *work);
    if (!work)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
    rq->work = work;
    if (work)
        snprintf(work->msisdn, sizeof work->msisdn, "%s", rq->session.msisdn);
    return work;
}

void http_portal_number_save(request *rq)
{
    if (!require_login(rq))
        return;
    json_t *body = json_body(rq);
    number_work *work = body ? number_work_new(rq) : NULL;
    number_info info;
    const char *label = json_string_value(json_object_get(body, "label"));
    bool ok = work && read_number(rq, json_string_value(json_object_get(body, "msisdn")), &info);
    if (ok && label && strlen(label) >= sizeof work->number.label) {
        http_bad_request(rq, "invalid_field", "A label is at most 48 bytes.");
        ok = false;
    }
    if (ok) {
        snprintf(work->number.number, sizeof work->number.number, "%s", info.e164);
        snprintf(work->number.label, sizeof work->number.label, "%s", label ? label : "");
    }
    json_decref(body);
    if (ok)
        server_submit_job(rq, number_apply, work, finish_number);
}

void http_portal_number_remove(request *rq)
{
    if (!require_login(rq))
        return;
    number_work *work = number_work_new(rq);
    number_info info;
    if (!work || !read_number(rq, rq->param, &info))
        return;
    work->remove = true;
    snprintf(work->number.number, sizeof work->number.number, "%s", info.e164);
    server_submit_job(rq, number_apply, work, finish_number);
}

/* ---- receipts ---- */

static const char *request_language(request *rq)
{
    const char *chosen = http_cookie(rq, "lang");
    if (chosen)
        return strcmp(chosen, "en") == 0 ? "en" : "zh-CN";
    const char *accepted =
        MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Accept-Language");
    return accepted && strncmp(accepted, "en", 2) == 0 ? "en" : "zh-CN";
}

/* The provider as a payer knows it, in the receipt's language. */
static const char *provider_display_name(const char *provider_name, const char *language)
{
    static const struct {
        const char *name, *zh, *en;
    } names[] = {
        {"alipay", "支付宝", "Alipay"},
        {"wechat", "微信支付", "WeChat Pay"},
        {"card", "银行卡", "Bank card"},
        {"sandbox", "沙箱支付（测试）", "Sandbox (test)"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(provider_name, names[i].name) == 0)
            return strcmp(language, "en") == 0 ? names[i].en : names[i].zh;
    return provider_name;
}

static bool order_was_paid(const order_row *order)
{
    return order->status != ORDER_CREATED && order->status != ORDER_AWAITING_PAYMENT &&
           order->status != ORDER_CLOSED;
}

void http_portal_receipt(request *rq)
{
    char id_text[sizeof rq->param];
    memcpy(id_text, rq->param, sizeof id_text);
    char *suffix = strstr(id_text, ".pdf");
    int64_t id;
    if (!suffix || suffix[4] != '\0') {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such receipt.");
        return;
    }
    *suffix = '\0';
    if (!read_order_id(rq, id_text, &id))
        return;
    store *reader = server_reader(rq->srv);
    order_row order;
    payment_row payment;
    if (!reader || store_order_get(reader, id, &order) != TOPUP_OK || !order_was_paid(&order) ||
        store_payment_by_order(reader, id, &payment) != TOPUP_OK) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found",
                       "A receipt exists once the order is paid.");
        return;
    }
    catalog *cat = server_catalog(rq->srv);
    const operator_info *op = catalog_operator(cat, order.operator_id);
    char url[320], masked[MASKED_SIZE] = "";
    http_receipt_check_url(rq, order.id, url, sizeof url);
    number_info info;
    if (numbers_resolve(cat, reader, rq->srv->config.default_country, order.msisdn, &info) ==
        TOPUP_OK)
        snprintf(masked, sizeof masked, "%s", info.masked);
    receipt_facts facts = {
        .language = request_language(rq),
        .order_id = order.id,
        .status = order.status,
        .created_at = order.created_at,
        .paid_at = payment.paid_at ? payment.paid_at : order.updated_at,
        .masked_number = masked,
        .operator_name = op ? op->name : order.operator_id,
        .product = order.product_id,
        .face_value_minor = order.face_minor,
        .face_currency = order.currency,
        .price_minor = order.price_minor,
        .price_currency = order.currency,
        .payment_method = provider_display_name(payment.provider, request_language(rq)),
        .payment_reference = payment.trade_no[0] ? payment.trade_no : payment.out_trade_no,
        .verify_url = url,
    };
    unsigned char *pdf = NULL;
    size_t pdf_size = 0;
    topup_result r = receipt_render_pdf(&facts, RECEIPT_A5, &pdf, &pdf_size);
    catalog_unref(cat);
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return;
    }
    answer_json(rq, 200, (const char *)pdf, pdf_size);
    free(pdf);
    rq->content_type = "application/pdf";
    rq->content_disposition = "inline; filename=\"receipt.pdf\"";
}

/* GET /portal/api/check/{id}/{check}: what a receipt's QR code leads to. */
void http_portal_check(request *rq)
{
    char *slash = strchr(rq->param, '/');
    int64_t id = 0;
    bool genuine = false;
    if (slash) {
        *slash = '\0';
        genuine =
            http_parse_id(rq->param, &id) &&
            receipt_check_valid(rq->srv->portal_key, sizeof rq->srv->portal_key, id, slash + 1);
    }
    store *reader = server_reader(rq->srv);
    order_row order;
    genuine = genuine && reader && store_order_get(reader, id, &order) == TOPUP_OK;
    if (!genuine) {
        answer_json_value(rq, 200, json_pack("{s:b}", "genuine", 0));
        return;
    }
    catalog *cat = server_catalog(rq->srv);
    const operator_info *op = catalog_operator(cat, order.operator_id);
    number_info info;
    bool resolved = numbers_resolve(cat, reader, rq->srv->config.default_country, order.msisdn,
                                    &info) == TOPUP_OK;
    char created_at[RFC3339_SIZE], order_id[24];
    clock_format_rfc3339(order.created_at, created_at);
    snprintf(order_id, sizeof order_id, "%lld", (long long)order.id);
    json_t *value =
        json_pack("{s:b,s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "genuine", 1, "order_id", order_id, "masked",
                  resolved ? info.masked : "", "operator", op ? op->name : order.operator_id,
                  "amount_minor", (json_int_t)order.face_minor, "currency", order.currency,
                  "status", order_status_name(order.status), "created_at", created_at);
    catalog_unref(cat);
    answer_json_value(rq, 200, value);
}

/* ---- pages and assets ---- */

/* Every page is a static file; its script asks the JSON endpoints for the rest. */
void http_portal_page(request *rq)
{
    static const struct {
        const char *prefix, *file;
    } pages[] = {
        {"/login", "/login.html"},     {"/register", "/register.html"}, {"/reset", "/reset.html"},
        {"/account", "/account.html"}, {"/order/", "/order.html"},      {"/r/", "/check.html"},
    };
    const char *file = "/index.html";
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (strncmp(rq->url, pages[i].prefix, strlen(pages[i].prefix)) == 0)
            file = pages[i].file;
    http_serve_web_file(rq, file, NULL);
}

void http_portal_asset(request *rq)
{
    char path[128];
    snprintf(path, sizeof path, "/assets/%s", rq->param);
    http_serve_web_file(rq, path, "public, max-age=3600");
}
