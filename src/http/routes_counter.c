/* The counter of the business halls (docs/counter.md): its pages and the JSON endpoints under
 * /counter/api/ that its scripts call.
 *
 * Exposed to: the browsers of the halls' staff (and anyone who reaches the port). A change needs
 * the CSRF header (double submit of the topup_counter_csrf cookie, as on the portal); everything
 * but the session and the login needs a live staff session (topup_staff, HttpOnly, SameSite
 * Strict, kept only as its SHA-256). Who may do what is decided by service/counter.c and
 * service/counter_desk.c, inside the writer step, never here: this file only reads and checks
 * the shape of requests. Argon2id checks run on detached threads. A customer's ID number is
 * hashed here under the counter's key and then wiped; it reaches neither the writer, the
 * database nor any log. Detached threads never use server_reader (it keeps one connection per
 * thread, and a detached thread is a new thread each time): what they need is read on the HTTP
 * thread before, or comes back from the writer step; only an Alipay payment code's thread opens
 * a read-only connection of its own, as payment orders do, to read the payment it asks Alipay
 * for. The payment code itself is sent to Alipay and wiped, never stored or logged. */
#include "http/http_int.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "receipts/receipt.h"
#include "service/counter_desk.h"
#include "service/numbers.h"
#include "service/payment.h"
#include "service/portal.h"

#define STAFF_COOKIE  "topup_staff"
#define CSRF_COOKIE   "topup_counter_csrf"
#define COOKIE_PATH   "/counter"
#define TOUCH_EVERY_S 60 /* a session's idle deadline moves at most once a minute */
#define PASSWORD_MAX  PORTAL_PASSWORD_SIZE_MAX
#define ID_NUMBER_MAX 64
#define URL_SIZE      320

/* ---- cookies, CSRF and the staff session ---- */

/* Keeps a session in use alive (the inactivity timeout), without making the request wait. */
static void touch_session(request *rq)
{
    if (clock_now_seconds() - rq->staff.last_seen_at >= TOUCH_EVERY_S)
        http_write_and_forget(rq, counter_session_touch_apply, &rq->staff, sizeof rq->staff);
}

static void load_session(request *rq)
{
    const char *token = http_cookie(rq, STAFF_COOKIE);
    store *reader = server_reader(rq->srv);
    if (!token || !token[0] || !reader)
        return;
    uint8_t hash[SESSION_HASH_SIZE];
    session_token_hash(token, hash);
    rq->staff_logged_in = store_staff_session_get(reader, hash, &rq->staff) == TOPUP_OK &&
                          counter_session_live(&rq->staff, clock_now_seconds());
    if (rq->staff_logged_in)
        touch_session(rq);
}

bool counter_authorize(request *rq)
{
    if (!http_csrf_guard(rq, CSRF_COOKIE))
        return false;
    load_session(rq);
    return true;
}

/* The logged-in staff member, who must still be active; answers 401 otherwise. */
static bool require_staff(request *rq, staff_row *staff)
{
    store *reader = server_reader(rq->srv);
    bool ok = rq->staff_logged_in && reader &&
              store_staff_get(reader, rq->staff.staff_id, staff) == TOPUP_OK &&
              strcmp(staff->status, "active") == 0;
    if (!ok)
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 401, "login_required",
                       "Log in at the counter first (the session may have timed out).");
    return ok;
}

static void actor_of(request *rq, const char *staff_id, counter_actor *actor)
{
    snprintf(actor->staff_id, sizeof actor->staff_id, "%s", staff_id);
    http_peer_address(rq, actor->origin, sizeof actor->origin);
}

/* ---- answers ---- */

/* The HTTP status of a refusal by its code; a code of the service's own results keeps theirs. */
static int refusal_status(const counter_outcome *outcome)
{
    static const struct {
        const char *code;
        int status;
    } statuses[] = {
        {"staff_unknown", 401},
        {"staff_disabled", 401},
        {"invalid_credentials", 401},
        {"locked", 429},
        {"approver_locked", 429},
        {"role_refused", 403},
        {"wrong_hall", 403},
        {"approval_required", 403},
        {"approval_denied", 403},
        {"approver_refused", 403},
        {"no_open_shift", 409},
        {"shift_already_open", 409},
        {"already_reversed", 409},
        {"window_passed", 409},
        {"not_credited", 409},
        {"balance_too_low", 409},
        {"tender_short", 422},
        {"reason_required", 422},
        {"currency_mismatch", 422},
        {"not_found", 404},
        {"idempotency_key_reused", 409},
    };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(outcome->code, statuses[i].code) == 0)
            return statuses[i].status;
    return topup_result_http_status(outcome->result);
}

static void answer_refusal(request *rq, const counter_outcome *outcome)
{
    answer_problem(rq, outcome->result, refusal_status(outcome), outcome->code, outcome->text);
}

/* A counter.c refusal as an outcome. */
static void outcome_of(counter_refusal refusal, topup_result result, counter_outcome *outcome)
{
    outcome->result = result;
    snprintf(outcome->code, sizeof outcome->code, "%s",
             refusal != COUNTER_ACCEPTED ? counter_refusal_code(refusal)
                                         : topup_result_code(result));
    outcome->text =
        refusal != COUNTER_ACCEPTED ? counter_refusal_text(refusal) : topup_strerror(result);
}

/* Hands a step to the writer and waits (on a detached thread); answers a failed batch. */
static bool commit(request *rq, writer_apply_fn apply, void *payload)
{
    writer_job job = {.apply = apply, .payload = payload};
    topup_result r = writer_submit_wait(rq->srv->writer, &job);
    if (r == TOPUP_OK)
        r = job.batch_result;
    if (r != TOPUP_OK) {
        answer_problem(rq, r, r == TOPUP_E_BUSY ? 503 : topup_result_http_status(r), NULL, NULL);
        rq->retry_after = r == TOPUP_E_BUSY;
    }
    return r == TOPUP_OK;
}

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

/* A non-negative whole amount in minor units; answers and returns false otherwise. */
static bool read_amount(request *rq, json_t *body, const char *name, bool required, int64_t *amount)
{
    json_t *value = json_object_get(body, name);
    *amount = 0;
    if (!value && !required)
        return true;
    if (!json_is_integer(value) || json_integer_value(value) < 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "'%s' is an amount in minor units (fen), 0 or more.", name);
        http_bad_request(rq, "invalid_field", detail);
        return false;
    }
    *amount = json_integer_value(value);
    return true;
}

/* An optional text field that must fit size (and be printable when given). */
static bool read_text(request *rq, json_t *body, const char *name, char *out, size_t size)
{
    json_t *value = json_object_get(body, name);
    const char *text = value ? json_string_value(value) : "";
    if (!text || strlen(text) >= size) {
        char detail[96];
        snprintf(detail, sizeof detail, "'%s' is a text of at most %zu bytes.", name, size - 1);
        http_bad_request(rq, "invalid_field", detail);
        return false;
    }
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20) {
            http_bad_request(rq, "invalid_field", "Texts may not contain control characters.");
            return false;
        }
    snprintf(out, size, "%s", text);
    return true;
}

static json_t *time_value(int64_t at)
{
    if (!at)
        return json_null();
    char text[RFC3339_SIZE];
    clock_format_rfc3339(at, text);
    return json_string(text);
}

static json_t *id_value(int64_t id)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    return json_string(text);
}

/* ---- GET /counter/api/session ---- */

static json_t *shift_value(const shift_row *shift)
{
    return json_pack("{s:o,s:s,s:s,s:s,s:I,s:o,s:o}", "id", id_value(shift->id), "hall_id",
                     shift->hall_id, "status", shift->status, "currency", shift->currency,
                     "opening_float_minor", (json_int_t)shift->opening_float_minor, "opened_at",
                     time_value(shift->opened_at), "closed_at", time_value(shift->closed_at));
}

static json_t *staff_value(store *reader, const staff_row *staff)
{
    hall_row hall;
    bool has_hall = staff->hall_id[0] && store_hall_get(reader, staff->hall_id, &hall) == TOPUP_OK;
    shift_row shift;
    bool open = store_shift_open_get(reader, staff->id, &shift) == TOPUP_OK;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", staff->id, "name", staff->name, "role",
                     staff->role, "hall_id", staff->hall_id, "hall_name", has_hall ? hall.name : "",
                     "shift", open ? shift_value(&shift) : json_null());
}

void http_counter_session(request *rq)
{
    char csrf[HTTP_CSRF_SIZE];
    http_csrf_cookie(rq, CSRF_COOKIE, COUNTER_SESSION_MAX_S, csrf);
    store *reader = server_reader(rq->srv);
    staff_row staff;
    bool logged_in = rq->staff_logged_in && reader &&
                     store_staff_get(reader, rq->staff.staff_id, &staff) == TOPUP_OK &&
                     strcmp(staff.status, "active") == 0;
    json_t *value = json_pack("{s:b,s:s,s:I}", "logged_in", logged_in, "csrf", csrf,
                              "idle_timeout_s", (json_int_t)COUNTER_SESSION_IDLE_S);
    if (logged_in) {
        json_object_set_new(value, "staff", staff_value(reader, &staff));
        json_object_set_new(value, "approval_limit_minor",
                            json_integer(rq->srv->config.counter.approval_limit_minor));
    }
    answer_json_value(rq, 200, value);
}

/* ---- POST /counter/api/login, /counter/api/logout ---- */

typedef struct login_work {
    counter_login login;
    char password[PASSWORD_MAX + 1];
    bool known; /* the login name is staff's; stored_hash is theirs */
    bool locked;
    char stored_hash[PASSWORD_HASH_SIZE];
} login_work;

static void answer_login(request *rq, const counter_login *login)
{
    if (login->outcome.result == TOPUP_OK) {
        const staff_row *staff = &login->staff;
        http_set_cookie(rq, 1, STAFF_COOKIE, login->token, COUNTER_SESSION_MAX_S, true);
        answer_json_value(rq, 200,
                          json_pack("{s:{s:s,s:s,s:s,s:s,s:s}}", "staff", "id", staff->id, "name",
                                    staff->name, "role", staff->role, "hall_id", staff->hall_id,
                                    "hall_name", login->hall.name));
        return;
    }
    if (login->outcome.result == TOPUP_E_RATE_LIMITED) {
        int64_t wait = login->locked_until - clock_now_seconds();
        answer_problem(rq, login->outcome.result, 429, "locked",
                       "Too many wrong passwords: wait, or ask a supervisor.");
        rq->retry_after_s = (int)(wait > 0 ? wait : 1);
        return;
    }
    /* Unknown, disabled or a wrong password: one answer, so a login name cannot be probed. */
    answer_problem(rq, TOPUP_E_NOT_FOUND, 401, "invalid_credentials",
                   "The login name or the password is not right.");
}

/* On a detached thread: the Argon2id check, then the writer step. A locked login is not worth
 * the Argon2id work; an unknown one costs the same time as a real one. */
static void run_login(request *rq)
{
    login_work *work = rq->work;
    if (!work->locked)
        work->login.password_ok =
            portal_password_check(work->password, work->known ? work->stored_hash : NULL);
    sodium_memzero(work->password, sizeof work->password);
    if (commit(rq, counter_login_apply, &work->login))
        answer_login(rq, &work->login);
}

/* Reads the login name's staff row on the HTTP thread, for run_login. */
static bool look_up_login(request *rq, login_work *work)
{
    store *reader = server_reader(rq->srv);
    staff_row staff;
    topup_result r =
        reader ? store_staff_get(reader, work->login.actor.staff_id, &staff) : TOPUP_E_STORAGE;
    if (r != TOPUP_OK && r != TOPUP_E_NOT_FOUND) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    work->known = r == TOPUP_OK;
    work->locked = work->known && staff.locked_until > clock_now_seconds();
    if (work->known)
        memcpy(work->stored_hash, staff.password_hash, sizeof work->stored_hash);
    return true;
}

void http_counter_login(request *rq)
{
    login_work *work = calloc(1, sizeof *work);
    rq->work = work;
    json_t *body = work ? json_body(rq) : NULL;
    if (!work)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
    if (!body)
        return;
    const char *staff_id = json_string_value(json_object_get(body, "staff_id"));
    const char *password = json_string_value(json_object_get(body, "password"));
    bool ok = counter_staff_id_valid(staff_id) && password && strlen(password) <= PASSWORD_MAX;
    if (ok) {
        actor_of(rq, staff_id, &work->login.actor);
        snprintf(work->password, sizeof work->password, "%s", password);
    } else {
        http_bad_request(rq, "invalid_field", "Give 'staff_id' (the login name) and 'password'.");
    }
    json_decref(body);
    if (ok && look_up_login(rq, work))
        server_run_detached(rq, run_login);
}

static void finish_logout(request *rq)
{
    http_set_cookie(rq, 1, STAFF_COOKIE, "", 0, true);
    answer_json(rq, 204, "", 0);
}

void http_counter_logout(request *rq)
{
    counter_logout *logout = calloc(1, sizeof *logout);
    rq->work = logout;
    if (!logout) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    const char *token = http_cookie(rq, STAFF_COOKIE);
    session_token_hash(token ? token : "", logout->session_hash);
    actor_of(rq, rq->staff_logged_in ? rq->staff.staff_id : "", &logout->actor);
    server_submit_job(rq, counter_logout_apply, logout, finish_logout);
}

/* ---- shifts ---- */

typedef struct shift_work {
    counter_shift_open_request open;
    counter_shift_close_request close;
    int64_t shift_id; /* a report's */
    shift_row shift;
    counter_shift_report report;
    counter_outcome outcome;
} shift_work;

static shift_work *shift_work_new(request *rq)
{
    shift_work *work = calloc(1, sizeof *work);
    rq->work = work;
    if (!work)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
    return work;
}

/* A refusal is an answer, not a failed batch: only a storage failure is returned. */
static topup_result settle(shift_work *work, topup_result r, counter_refusal refusal)
{
    outcome_of(refusal, r, &work->outcome);
    return topup_result_is_storage_failure(r) ? r : TOPUP_OK;
}

static topup_result shift_open_apply(store *st, void *payload, int64_t now)
{
    shift_work *work = payload;
    counter_refusal refusal = COUNTER_ACCEPTED;
    topup_result r = counter_shift_open(st, &work->open, now, &work->shift, &refusal);
    return settle(work, r, refusal);
}

static topup_result shift_close_apply(store *st, void *payload, int64_t now)
{
    shift_work *work = payload;
    counter_refusal refusal = COUNTER_ACCEPTED;
    topup_result r = counter_shift_close(st, &work->close, now, &work->report, &refusal);
    return settle(work, r, refusal);
}

static topup_result shift_report_apply(store *st, void *payload, int64_t now)
{
    shift_work *work = payload;
    counter_refusal refusal = COUNTER_ACCEPTED;
    topup_result r = counter_shift_report_view(st, work->shift_id, &work->open.actor, now,
                                               &work->report, &refusal);
    return settle(work, r, refusal);
}

static json_t *totals_value(const shift_total_row *rows, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list,
                              json_pack("{s:s,s:I,s:I,s:I,s:I}", "key", rows[i].key, "order_count",
                                        (json_int_t)rows[i].order_count, "amount_minor",
                                        (json_int_t)rows[i].amount_minor, "reversed_count",
                                        (json_int_t)rows[i].reversed_count, "reversed_minor",
                                        (json_int_t)rows[i].reversed_minor));
    return list;
}

static json_t *report_value(const counter_shift_report *report)
{
    const shift_row *shift = &report->shift;
    json_t *value = shift_value(shift);
    json_object_set_new(value, "staff_id", json_string(shift->staff_id));
    json_object_set_new(value, "tenders", totals_value(report->tenders, report->tender_count));
    json_object_set_new(value, "operators",
                        totals_value(report->operators, report->operator_count));
    json_object_set_new(value, "taken_minor", json_integer(report->taken_minor));
    json_object_set_new(value, "reversed_minor", json_integer(report->reversed_minor));
    if (strcmp(shift->status, "open") == 0) {
        json_object_set_new(value, "drawer_cash_minor", json_integer(report->drawer_cash_minor));
    } else {
        json_object_set_new(value, "expected_cash_minor", json_integer(shift->expected_cash_minor));
        json_object_set_new(value, "counted_cash_minor", json_integer(shift->counted_cash_minor));
        json_object_set_new(value, "over_short_minor", json_integer(shift->over_short_minor));
        json_object_set_new(value, "close_reason", json_string(shift->close_reason));
    }
    return value;
}

static void finish_shift_open(request *rq)
{
    shift_work *work = rq->work;
    if (work->outcome.result != TOPUP_OK)
        answer_refusal(rq, &work->outcome);
    else
        answer_json_value(rq, 201, shift_value(&work->shift));
}

static void finish_report(request *rq)
{
    shift_work *work = rq->work;
    if (work->outcome.result != TOPUP_OK)
        answer_refusal(rq, &work->outcome);
    else
        answer_json_value(rq, 200, report_value(&work->report));
}

void http_counter_shift_open(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    shift_work *work = shift_work_new(rq);
    json_t *body = work ? json_body(rq) : NULL;
    if (!body)
        return;
    bool ok = read_amount(rq, body, "float_minor", true, &work->open.float_minor);
    json_decref(body);
    actor_of(rq, staff.id, &work->open.actor);
    if (ok)
        server_submit_job(rq, shift_open_apply, work, finish_shift_open);
}

void http_counter_shift_close(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    shift_work *work = shift_work_new(rq);
    json_t *body = work ? json_body(rq) : NULL;
    if (!body)
        return;
    bool ok = read_amount(rq, body, "counted_minor", true, &work->close.counted_minor) &&
              read_text(rq, body, "reason", work->close.reason, sizeof work->close.reason);
    json_decref(body);
    actor_of(rq, staff.id, &work->close.actor);
    if (ok)
        server_submit_job(rq, shift_close_apply, work, finish_report);
}

/* GET /counter/api/shifts/{id}: seeing a report is itself audited, so it is a write. */
void http_counter_shift_report(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    shift_work *work = shift_work_new(rq);
    if (!work)
        return;
    if (!http_parse_id(rq->param, &work->shift_id)) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such shift.");
        return;
    }
    actor_of(rq, staff.id, &work->open.actor);
    server_submit_job(rq, shift_report_apply, work, finish_report);
}

/* ---- the number check and the recharge ---- */

static const char *const RECHARGE_FIELDS[] = {
    "msisdn",         "product",           "amount_minor",  "currency",       "tender",
    "tendered_minor", "pos_reference",     "auth_code",     "id_type",        "id_number",
    "approver",       "approver_password", "invoice_title", "invoice_tax_id", NULL,
};
static const char *const CHECK_FIELDS[] = {"msisdn", "product", "amount_minor", "currency", NULL};

/* The read-back the teller says aloud before taking money: the masked number, the operator
 * and the amount. Resolved on the HTTP thread. */
typedef struct read_back {
    char masked[MASKED_SIZE];
    char operator_name[HALL_NAME_SIZE];
} read_back;

static bool resolve_read_back(request *rq, const recharge_request *asked, read_back *out)
{
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    const operator_info *op = catalog_operator(cat, asked->operator_id);
    number_info info;
    topup_result r =
        reader ? numbers_resolve(cat, reader, rq->srv->config.default_country, asked->msisdn, &info)
               : TOPUP_E_STORAGE;
    if (r == TOPUP_OK) {
        snprintf(out->masked, sizeof out->masked, "%s", info.masked);
        snprintf(out->operator_name, sizeof out->operator_name, "%s",
                 op ? op->name : asked->operator_id);
    } else {
        http_answer_result(rq, r, NULL);
    }
    catalog_unref(cat);
    return r == TOPUP_OK;
}

static json_t *read_back_value(request *rq, const recharge_request *asked, const read_back *said)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:b}", "masked", said->masked, "operator",
                     asked->operator_id, "operator_name", said->operator_name, "product",
                     asked->product_id, "amount_minor", (json_int_t)asked->face_minor,
                     "price_minor", (json_int_t)asked->price_minor, "currency", asked->currency,
                     "approval_required",
                     asked->price_minor > rq->srv->config.counter.approval_limit_minor);
}

/* GET /counter/api/numbers/{msisdn}: the number's operator and the products the teller may
 * offer. */
void http_counter_number(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    number_info info;
    topup_result r =
        reader ? numbers_resolve(cat, reader, rq->srv->config.default_country, rq->param, &info)
               : TOPUP_E_STORAGE;
    if (r == TOPUP_OK)
        answer_json_value(rq, 200,
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "msisdn", info.e164, "masked",
                                    info.masked, "operator", info.op->id, "operator_name",
                                    info.op->name, "currency", info.op->currency, "products",
                                    http_products_value(cat, info.op)));
    else
        http_answer_result(rq, r, NULL);
    catalog_unref(cat);
}

/* POST /counter/api/check: resolves the number and the amount without taking money. */
void http_counter_check(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    json_t *body = json_body(rq);
    if (!body)
        return;
    recharge_request asked = {0};
    read_back said;
    bool ok =
        http_read_recharge(rq, body, CHECK_FIELDS, &asked) && resolve_read_back(rq, &asked, &said);
    json_decref(body);
    if (ok)
        answer_json_value(rq, 200, read_back_value(rq, &asked, &said));
}

typedef struct recharge_work {
    counter_recharge recharge;
    read_back said;
    char approver_password[PASSWORD_MAX + 1];
    bool approver_known; /* approver_hash is theirs */
    char approver_hash[PASSWORD_HASH_SIZE];
    /* alipay_code only: */
    payment_open payment;               /* the payment order the step opens */
    payment_create_outcome outcome;     /* Alipay's answer to trade.pay */
    const provider_ops *ops;            /* the configured Alipay gateway */
    provider *provider;                 /* and its instance */
    char auth_code[PROVIDER_TEXT_SIZE]; /* the code scanned; wiped once asked */
} recharge_work;

static json_t *counter_row_value(const counter_order_row *row)
{
    json_t *value = json_pack(
        "{s:o,s:o,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:i,s:o,s:s}", "order_id",
        id_value(row->order_id), "shift_id", id_value(row->shift_id), "hall_id", row->hall_id,
        "staff_id", row->staff_id, "tender", row->tender, "tendered_minor",
        (json_int_t)row->tendered_minor, "change_minor", (json_int_t)row->change_minor,
        "pos_reference", row->pos_reference, "id_type", row->id_type, "id_last4", row->id_last4,
        "approved_by", row->approved_by, "receipt_print_count", row->receipt_print_count,
        "reversed_at", time_value(row->reversed_at), "reversed_by", row->reversed_by);
    json_object_set_new(value, "invoice",
                        row->invoice_title[0] ? json_pack("{s:s,s:s}", "title", row->invoice_title,
                                                          "tax_id", row->invoice_tax_id)
                                              : json_null());
    return value;
}

/* The recharge done: the read-back, the order and the counter record. An alipay_code order is
 * read again from st with its payment, since Alipay's answer moved it after the step. */
static void answer_recharge(request *rq, const recharge_work *work, store *st, int status)
{
    const counter_recharge *rc = &work->recharge;
    if (rc->outcome.result != TOPUP_OK) {
        answer_refusal(rq, &rc->outcome);
        return;
    }
    json_t *value = read_back_value(rq, &rc->request, &work->said);
    json_t *order = NULL;
    if (st) {
        topup_result r;
        order = http_payment_order_value(st, rc->order.id, &r);
        if (!order) {
            json_decref(value);
            http_answer_result(rq, r, NULL);
            return;
        }
    } else {
        char text[RECHARGE_RESPONSE_SIZE];
        int length = recharge_order_json(&rc->order, text, sizeof text);
        order = length > 0 ? json_loads(text, 0, NULL) : json_null();
    }
    rq->replayed = rc->replayed;
    json_object_set_new(value, "order", order);
    json_object_set_new(value, "counter", counter_row_value(&rc->row));
    answer_json_value(rq, rc->replayed ? 200 : status, value);
}

/* GET /counter/api/orders/{id}: a counter order of the staff member's hall (any hall for an
 * admin) with its payment, as the recharge answered it; how the page follows a payment-code
 * order until it is final without sending the recharge (and the customer's ID) again. */
void http_counter_order(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    store *reader = server_reader(rq->srv);
    int64_t id = 0;
    counter_order_row row;
    bool found = reader && http_parse_id(rq->param, &id) &&
                 store_counter_order_get(reader, id, &row) == TOPUP_OK &&
                 (strcmp(staff.role, "admin") == 0 || strcmp(staff.hall_id, row.hall_id) == 0);
    topup_result r = TOPUP_E_NOT_FOUND;
    json_t *order = found ? http_payment_order_value(reader, id, &r) : NULL;
    if (!order && found && r == TOPUP_E_NOT_FOUND) {
        order_row plain; /* cash and card orders have no payment */
        char text[RECHARGE_RESPONSE_SIZE];
        if (store_order_get(reader, id, &plain) == TOPUP_OK &&
            recharge_order_json(&plain, text, sizeof text) > 0)
            order = json_loads(text, 0, NULL);
    }
    if (!order) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found",
                       "There is no counter order with this id at your hall.");
        return;
    }
    answer_json_value(rq, 200,
                      json_pack("{s:o,s:o}", "order", order, "counter", counter_row_value(&row)));
}

/* alipay_code, after the step committed: asks Alipay (unless this is a replay, which only shows
 * the order as it now is) and answers with the order and its payment. 201 with the order
 * succeeded (paid at once), awaiting_payment (the customer confirms in the app) or closed
 * (refused); 202 when Alipay did not answer: the settlement worker finds out by query. */
static void finish_code_payment(request *rq, recharge_work *work)
{
    store *st = NULL;
    if (store_open(rq->srv->config.db_path, STORE_READ_ONLY, &st) != TOPUP_OK) {
        sodium_memzero(work->auth_code, sizeof work->auth_code);
        http_answer_result(rq, TOPUP_E_STORAGE, NULL);
        return;
    }
    bool asked = work->recharge.replayed ||
                 http_payment_ask_provider(rq, st, &work->payment, work->ops, work->provider,
                                           work->auth_code, "", &work->outcome);
    sodium_memzero(work->auth_code, sizeof work->auth_code);
    if (asked)
        answer_recharge(rq, work, st, work->outcome.status == GATEWAY_UNKNOWN ? 202 : 201);
    store_close(st);
}

/* On a detached thread: the approver's Argon2id check, when one is named, then the step. */
static void run_recharge(request *rq)
{
    recharge_work *work = rq->work;
    counter_recharge *rc = &work->recharge;
    if (rc->approved_by[0] && !rc->approver_locked)
        rc->approver_password_ok = portal_password_check(
            work->approver_password, work->approver_known ? work->approver_hash : NULL);
    sodium_memzero(work->approver_password, sizeof work->approver_password);
    if (!commit(rq, counter_recharge_apply, rc))
        sodium_memzero(work->auth_code, sizeof work->auth_code);
    else if (rc->payment && rc->outcome.result == TOPUP_OK)
        finish_code_payment(rq, work);
    else
        answer_recharge(rq, work, NULL, 201);
}

static bool id_type_valid(const char *type)
{
    static const char *const types[] = {"resident_id", "passport", "hk_macao_permit",
                                        "taiwan_permit", "foreign_permanent_id"};
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

#define ALIPAY_AUTH_CODE_LENGTH 18 /* Alipay's payment codes (付款码) as its counters scan them */

/* An Alipay payment code as scanned from the customer's phone: 18 digits starting 25 to 30. */
static bool auth_code_valid(const char *code)
{
    return code && strlen(code) == ALIPAY_AUTH_CODE_LENGTH &&
           strspn(code, "0123456789") == ALIPAY_AUTH_CODE_LENGTH && code[0] >= '2' &&
           code[0] <= '3' && (code[0] == '2' ? code[1] >= '5' : code[1] == '0');
}

/* alipay_code: the code, and the Alipay gateway that takes it. The payment order expires like
 * any other (payments.close_after); the teller sees it settled long before. */
static bool read_code_payment(request *rq, json_t *body, recharge_work *work)
{
    const char *code = json_string_value(json_object_get(body, "auth_code"));
    if (!auth_code_valid(code)) {
        http_bad_request(rq, "invalid_field",
                         "'auth_code' is the 18 digits of the customer's Alipay payment code.");
        return false;
    }
    work->provider = payment_gateways_find(&rq->srv->gateways, "alipay", &work->ops, NULL);
    if (!work->provider || !(work->ops->methods & PAY_METHOD_BIT(PAY_METHOD_CODE))) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 422, "provider_unavailable",
                       "Alipay payment codes are not configured here.");
        return false;
    }
    snprintf(work->auth_code, sizeof work->auth_code, "%s", code);
    payment_open *open = &work->payment;
    snprintf(open->provider, sizeof open->provider, "alipay");
    open->method = PAY_METHOD_CODE;
    open->expires_at = clock_now_seconds() + rq->srv->config.payments.close_after_s;
    work->recharge.payment = open;
    return true;
}

/* The tender: cash with the amount handed over, a card with the POS terminal's reference, or
 * the customer's Alipay payment code. */
static bool read_tender(request *rq, json_t *body, recharge_work *work)
{
    counter_recharge *rc = &work->recharge;
    if (!read_text(rq, body, "tender", rc->tender, sizeof rc->tender) ||
        !read_text(rq, body, "pos_reference", rc->pos_reference, sizeof rc->pos_reference))
        return false;
    bool cash = strcmp(rc->tender, "cash") == 0, card = strcmp(rc->tender, "card") == 0;
    bool code = strcmp(rc->tender, "alipay_code") == 0;
    if (!cash && !card && !code) {
        http_bad_request(rq, "invalid_field", "'tender' is cash, card or alipay_code.");
        return false;
    }
    if (!code && json_object_get(body, "auth_code")) {
        http_bad_request(rq, "invalid_field", "'auth_code' goes with tender alipay_code only.");
        return false;
    }
    if (code) {
        rc->pos_reference[0] = '\0';
        return read_code_payment(rq, body, work);
    }
    if (card && !rc->pos_reference[0]) {
        http_bad_request(rq, "missing_field", "A card payment needs 'pos_reference'.");
        return false;
    }
    if (cash)
        rc->pos_reference[0] = '\0';
    return read_amount(rq, body, "tendered_minor", cash, &rc->tendered_minor);
}

/* The customer's ID: its type, and the number hashed at once and wiped. */
static bool read_id(request *rq, json_t *body, counter_recharge *rc)
{
    const char *type = json_string_value(json_object_get(body, "id_type"));
    const char *number = json_string_value(json_object_get(body, "id_number"));
    if (!id_type_valid(type)) {
        http_bad_request(rq, "invalid_field",
                         "'id_type' is resident_id, passport, hk_macao_permit, taiwan_permit or "
                         "foreign_permanent_id.");
        return false;
    }
    snprintf(rc->id_type, sizeof rc->id_type, "%s", type);
    bool ok =
        number && strlen(number) <= ID_NUMBER_MAX &&
        counter_id_hash(rq->srv->id_key, sizeof rq->srv->id_key, number, rc->id_hash, rc->id_last4);
    if (!ok)
        http_bad_request(rq, "invalid_field", "'id_number' is the ID's letters and digits.");
    return ok;
}

static bool read_approval(request *rq, json_t *body, recharge_work *work)
{
    counter_recharge *rc = &work->recharge;
    json_t *named = json_object_get(body, "approver");
    if (!named)
        return true;
    const char *id = json_string_value(named);
    const char *password = json_string_value(json_object_get(body, "approver_password"));
    if (!counter_staff_id_valid(id) || !password || strlen(password) > PASSWORD_MAX) {
        http_bad_request(rq, "invalid_field",
                         "An approval is 'approver' (the supervisor's login name) and "
                         "'approver_password'.");
        return false;
    }
    snprintf(rc->approved_by, sizeof rc->approved_by, "%s", id);
    snprintf(work->approver_password, sizeof work->approver_password, "%s", password);
    store *reader = server_reader(rq->srv);
    staff_row approver;
    topup_result r = reader ? store_staff_get(reader, id, &approver) : TOPUP_E_STORAGE;
    if (r != TOPUP_OK && r != TOPUP_E_NOT_FOUND) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    work->approver_known = r == TOPUP_OK;
    rc->approver_locked = work->approver_known && approver.locked_until > clock_now_seconds();
    if (work->approver_known)
        memcpy(work->approver_hash, approver.password_hash, sizeof work->approver_hash);
    return true;
}

/* The invoice (发票) asked for: a title, and the tax id (15-20 capitals and digits) of a company.
 * Recorded with the order for finance. */
static bool read_invoice(request *rq, json_t *body, counter_recharge *rc)
{
    if (!read_text(rq, body, "invoice_title", rc->invoice_title, sizeof rc->invoice_title) ||
        !read_text(rq, body, "invoice_tax_id", rc->invoice_tax_id, sizeof rc->invoice_tax_id))
        return false;
    size_t tax_length = strlen(rc->invoice_tax_id);
    bool tax_ok = tax_length == 0 ||
                  (tax_length >= 15 && strspn(rc->invoice_tax_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                  "0123456789") == tax_length);
    if (!tax_ok || (tax_length && !rc->invoice_title[0])) {
        http_bad_request(rq, "invalid_field",
                         "'invoice_tax_id' is 15 to 20 capital letters and digits, and goes with "
                         "'invoice_title'.");
        return false;
    }
    return true;
}

/* What the Idempotency-Key stands for: who, what number and amount, how paid, whose ID (its
 * keyed hash), approved by whom, with what invoice. A retry must match all of it. */
static void hash_recharge(const counter_recharge *rc, uint8_t hash[REQUEST_HASH_SIZE])
{
    unsigned char text[1024 + ID_HASH_SIZE];
    int length = snprintf((char *)text, sizeof text - ID_HASH_SIZE,
                          "%s|%s|%s|%lld|%lld|%s|%lld|%s|%s|%s|%s|%s|", rc->actor.staff_id,
                          rc->request.msisdn, rc->request.product_id,
                          (long long)rc->request.face_minor, (long long)rc->request.price_minor,
                          rc->tender, (long long)rc->tendered_minor, rc->pos_reference, rc->id_type,
                          rc->approved_by, rc->invoice_title, rc->invoice_tax_id);
    /* Every field is bounded, so the text always fits; the ID's hash follows it. */
    size_t size = length > 0 && (size_t)length < sizeof text - ID_HASH_SIZE ? (size_t)length : 0;
    memcpy(text + size, rc->id_hash, ID_HASH_SIZE);
    SHA256(text, size + ID_HASH_SIZE, hash);
}

/* Wipes the secrets the parsed body still holds (the ID number, the approver's password, the
 * payment code). */
static void wipe_body(request *rq, json_t *body)
{
    static const char *const secrets[] = {"id_number", "approver_password", "auth_code"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        /* jansson owns the copy and never reads it again before json_decref: wiping it keeps
         * the secret out of freed memory. */
        char *text = (char *)(uintptr_t)json_string_value(json_object_get(body, secrets[i]));
        if (text)
            sodium_memzero(text, strlen(text));
    }
    if (rq->body)
        sodium_memzero(rq->body, rq->body_size);
    json_decref(body);
}

void http_counter_recharge(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    recharge_work *work = calloc(1, sizeof *work);
    rq->work = work;
    json_t *body = work ? json_body(rq) : NULL;
    if (!work)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
    if (!body)
        return;
    counter_recharge *rc = &work->recharge;
    bool ok = http_idempotency_key(rq, rc->idempotency_key) &&
              http_read_recharge(rq, body, RECHARGE_FIELDS, &rc->request) &&
              resolve_read_back(rq, &rc->request, &work->said) && read_tender(rq, body, work) &&
              read_id(rq, body, rc) && read_invoice(rq, body, rc) && read_approval(rq, body, work);
    wipe_body(rq, body);
    if (!ok)
        return;
    snprintf(rc->request.channel, sizeof rc->request.channel, "counter");
    rc->approval_limit_minor = rq->srv->config.counter.approval_limit_minor;
    actor_of(rq, staff.id, &rc->actor);
    hash_recharge(rc, rc->request_hash);
    server_run_detached(rq, run_recharge);
}

/* ---- receipts ---- */

static const char *request_language(request *rq)
{
    const char *chosen = http_cookie(rq, "lang");
    return chosen && strcmp(chosen, "en") == 0 ? "en" : "zh-CN";
}

static const char *tender_name(const char *tender, bool english)
{
    if (strcmp(tender, "cash") == 0)
        return english ? "Cash" : "现金";
    if (strcmp(tender, "alipay_code") == 0)
        return english ? "Alipay" : "支付宝";
    return english ? "Bank card" : "银行卡";
}

/* A print: the step's payload, and what the HTTP thread read for the receipt beforehand. */
typedef struct print_work {
    counter_print print;
    bool order_found;
    order_row order;
    char masked[MASKED_SIZE];
} print_work;

/* Draws the receipt of a print the step allowed. */
static void render_receipt(request *rq, const print_work *work)
{
    const counter_print *print = &work->print;
    const order_row *order = &work->order;
    catalog *cat = server_catalog(rq->srv);
    const operator_info *op = catalog_operator(cat, order->operator_id);
    char url[URL_SIZE];
    http_receipt_check_url(rq, order->id, url, URL_SIZE);
    const char *language = request_language(rq);
    receipt_facts facts = {
        .language = language,
        .order_id = order->id,
        .status = order->status,
        .created_at = order->created_at,
        .paid_at = order->created_at,
        .masked_number = work->masked,
        .operator_name = op ? op->name : order->operator_id,
        .product = order->product_id,
        .face_value_minor = order->face_minor,
        .face_currency = order->currency,
        .price_minor = order->price_minor,
        .price_currency = order->currency,
        .payment_method = tender_name(print->row.tender, strcmp(language, "en") == 0),
        .payment_reference = print->row.pos_reference,
        .teller_name = print->teller.name,
        .hall_name = print->hall.name,
        .reprint = print->print_count > 1,
        .voided = print->row.reversed_at != 0,
        .verify_url = url,
    };
    unsigned char *pdf = NULL;
    size_t pdf_size = 0;
    topup_result r = receipt_render_pdf(&facts, RECEIPT_ROLL_80MM, &pdf, &pdf_size);
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

/* On a detached thread: the print is counted (and audited), then the PDF drawn, so the writer
 * never waits for a render. */
static void run_print(request *rq)
{
    print_work *work = rq->work;
    if (!commit(rq, counter_print_apply, &work->print))
        return;
    if (work->print.outcome.result != TOPUP_OK)
        answer_refusal(rq, &work->print.outcome);
    else if (!work->order_found)
        http_answer_result(rq, TOPUP_E_STORAGE, NULL); /* a counter order's order went missing */
    else
        render_receipt(rq, work);
}

/* Reads the order and its masked number on the HTTP thread. Whether the actor may see it is the
 * step's to decide (and to audit), so an unknown order still goes to the step. */
static void read_order(request *rq, print_work *work)
{
    store *reader = server_reader(rq->srv);
    work->order_found =
        reader && store_order_get(reader, work->print.order_id, &work->order) == TOPUP_OK;
    if (!work->order_found)
        return;
    catalog *cat = server_catalog(rq->srv);
    number_info info;
    if (numbers_resolve(cat, reader, rq->srv->config.default_country, work->order.msisdn, &info) ==
        TOPUP_OK)
        snprintf(work->masked, sizeof work->masked, "%s", info.masked);
    catalog_unref(cat);
}

/* POST /counter/api/receipts/{order id}: a POST because every print is counted; the second
 * and later are marked as reprints. */
void http_counter_receipt(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    print_work *work = calloc(1, sizeof *work);
    rq->work = work;
    if (!work) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    if (!http_parse_id(rq->param, &work->print.order_id)) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such receipt.");
        return;
    }
    actor_of(rq, staff.id, &work->print.actor);
    read_order(rq, work);
    server_run_detached(rq, run_print);
}

/* ---- POST /counter/api/reversals ---- */

static void finish_reverse(request *rq)
{
    counter_reverse *rv = rq->work;
    if (rv->outcome.result != TOPUP_OK)
        answer_refusal(rq, &rv->outcome);
    else
        answer_json_value(rq, 200,
                          json_pack("{s:o,s:s,s:o}", "counter", counter_row_value(&rv->row),
                                    "status", "reversed", "reversal_shift_id",
                                    rv->row.reversal_shift_id ? id_value(rv->row.reversal_shift_id)
                                                              : json_null()));
}

void http_counter_reverse(request *rq)
{
    staff_row staff;
    if (!require_staff(rq, &staff))
        return;
    counter_reverse *rv = calloc(1, sizeof *rv);
    rq->work = rv;
    json_t *body = rv ? json_body(rq) : NULL;
    if (!rv)
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
    if (!body)
        return;
    const char *order_id = json_string_value(json_object_get(body, "order_id"));
    bool ok = order_id && http_parse_id(order_id, &rv->order_id);
    if (!ok)
        http_bad_request(rq, "invalid_field", "'order_id' is the order's id, as a string.");
    ok = ok && read_text(rq, body, "reason", rv->reason, sizeof rv->reason);
    json_decref(body);
    if (!ok)
        return;
    rv->window_s = rq->srv->config.counter.reversal_window_s;
    actor_of(rq, staff.id, &rv->actor);
    server_submit_job(rq, counter_reverse_apply, rv, finish_reverse);
}

/* ---- pages and assets ---- */

/* Every page is a static file; its script asks the JSON endpoints for the rest. */
void http_counter_page(request *rq)
{
    static const struct {
        const char *url, *file;
    } pages[] = {
        {"/counter", "/counter/index.html"},
        {"/counter/shift", "/counter/shift.html"},
        {"/counter/recharge", "/counter/recharge.html"},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (strcmp(rq->url, pages[i].url) == 0) {
            http_serve_web_file(rq, pages[i].file, NULL);
            return;
        }
    answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such page.");
}

void http_counter_asset(request *rq)
{
    char path[128];
    snprintf(path, sizeof path, "/counter/assets/%s", rq->param);
    http_serve_web_file(rq, path, "no-cache");
}
