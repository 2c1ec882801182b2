/* The teller's desk: logins, the counter recharge, receipt prints and reversals (see
 * counter_desk.h for the rules and the ledger). Each step runs in its own savepoint; a refusal
 * rolls it back and then records "<action>.refused" with its code. */
#include "service/counter_desk.h"

#include <assert.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/money.h"
#include "service/payment.h"
#include "service/session_token.h"

#define ID_NUMBER_SIZE_MAX 64 /* longer than any passport or resident ID number */

/* One refusal: its code, sentence and result. */
typedef struct refusal {
    const char *code;
    const char *text;
    topup_result result;
} refusal;

static const refusal REFUSED_ROLE = {"role_refused", "The staff member's role may not do this.",
                                     TOPUP_E_INVALID_ARGUMENT};
static const refusal REFUSED_HALL = {"wrong_hall", "The staff member does not work at this hall.",
                                     TOPUP_E_INVALID_ARGUMENT};

/* What a step knows about itself for its audit entries. */
typedef struct desk_action {
    const char *name; /* e.g. "recharge" */
    const counter_actor *actor;
    char hall_id[HALL_ID_SIZE]; /* only ever a hall that exists: the audit log references it */
    char subject[AUDIT_SUBJECT_SIZE];
    char detail[AUDIT_DETAIL_SIZE];
    const refusal *refused; /* set by refuse() */
    refusal own;            /* a refusal built from a result (the recharge's own) */
} desk_action;

typedef topup_result (*desk_step_fn)(store *st, desk_action *a, void *payload, int64_t now);

static topup_result refuse(desk_action *a, const refusal *why)
{
    a->refused = why;
    return why->result;
}

static topup_result refuse_code(desk_action *a, const char *code, const char *text,
                                topup_result result)
{
    a->own = (refusal){code, text, result};
    return refuse(a, &a->own);
}

/* Records a refused action. An unknown actor cannot be referenced, so the name goes to the
 * subject instead. */
static topup_result record_refusal(store *st, const desk_action *a, bool actor_known, int64_t now)
{
    counter_actor actor = *a->actor;
    char subject[AUDIT_SUBJECT_SIZE];
    snprintf(subject, sizeof subject, "%s", a->subject);
    if (!actor_known) {
        snprintf(subject, sizeof subject, "staff:%.32s", actor.staff_id);
        actor.staff_id[0] = '\0';
    }
    char name[AUDIT_ACTION_SIZE];
    snprintf(name, sizeof name, "%s.refused", a->name);
    return counter_audit_append(st, now, &actor, a->hall_id, name, subject, "%s: %s%s%s",
                                a->refused->code, a->refused->text, a->detail[0] ? " " : "",
                                a->detail);
}

/* Runs step in its own savepoint. A refusal (by rule, or a result that is not a storage
 * failure) is rolled back and then recorded; outcome says which. Returns only a storage
 * failure, after which the caller rolls its transaction back. */
static topup_result run(store *st, desk_action *a, desk_step_fn step, void *payload, int64_t now,
                        counter_outcome *outcome)
{
    a->refused = NULL;
    memset(outcome, 0, sizeof *outcome);
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = step(st, a, payload, now);
    outcome->result = r;
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
        return TOPUP_OK;
    }
    store_savepoint_rollback(st);
    if (topup_result_is_storage_failure(r))
        return r;
    if (!a->refused)
        refuse_code(a, topup_result_code(r), topup_strerror(r), r);
    snprintf(outcome->code, sizeof outcome->code, "%s", a->refused->code);
    outcome->text = a->refused->text;
    bool actor_known = strcmp(a->refused->code, "staff_unknown") != 0;
    return record_refusal(st, a, actor_known, now);
}

static bool has_role(const staff_row *staff, const char *role)
{
    return strcmp(staff->role, role) == 0;
}

/* Loads the acting staff member, who must exist and be active. */
static topup_result load_actor(store *st, desk_action *a, staff_row *staff)
{
    static const refusal unknown = {"staff_unknown", "No staff member has this login name.",
                                    TOPUP_E_NOT_FOUND};
    static const refusal disabled = {"staff_disabled", "The staff member is disabled.",
                                     TOPUP_E_INVALID_ARGUMENT};
    topup_result r = store_staff_get(st, a->actor->staff_id, staff);
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(a, &unknown);
    if (r != TOPUP_OK)
        return r;
    if (!a->hall_id[0])
        memcpy(a->hall_id, staff->hall_id, sizeof a->hall_id);
    return strcmp(staff->status, "active") == 0 ? TOPUP_OK : refuse(a, &disabled);
}

static const char *amount_text(int64_t amount_minor, const char *currency,
                               char text[MONEY_TEXT_SIZE_MAX])
{
    if (money_format(amount_minor, currency, text, MONEY_TEXT_SIZE_MAX) != TOPUP_OK)
        snprintf(text, MONEY_TEXT_SIZE_MAX, "?");
    return text;
}

void counter_pos_code(const char *hall_id, char code[ACCOUNT_CODE_SIZE])
{
    snprintf(code, ACCOUNT_CODE_SIZE, "pos:%s", hall_id);
}

/* ---- settings ---- */

#define SETTINGS_PREFIX "counter."

void counter_settings_defaults(counter_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->approval_limit_minor = COUNTER_APPROVAL_LIMIT_MINOR;
    settings->reversal_window_s = COUNTER_REVERSAL_WINDOW_S;
}

/* A whole number from 0 to max, as the config file writes it. */
static bool parse_count(const char *text, int64_t max, int64_t *value)
{
    char *end = NULL;
    long long parsed = strtoll(text, &end, 10);
    if (!text[0] || *end || parsed < 0 || parsed > max)
        return false;
    *value = parsed;
    return true;
}

int counter_settings_apply(counter_settings *settings, const char *key, const char *value,
                           char *error, size_t error_size)
{
    if (strncmp(key, SETTINGS_PREFIX, strlen(SETTINGS_PREFIX)) != 0)
        return 0;
    const char *name = key + strlen(SETTINGS_PREFIX);
    if (strcmp(name, "key_file") == 0 && strlen(value) < sizeof settings->key_file) {
        snprintf(settings->key_file, sizeof settings->key_file, "%s", value);
        return 1;
    }
    if (strcmp(name, "approval_limit_minor") == 0 &&
        parse_count(value, INT64_MAX / 2, &settings->approval_limit_minor))
        return 1;
    if (strcmp(name, "reversal_window_s") == 0 &&
        parse_count(value, 7 * 86400, &settings->reversal_window_s))
        return 1;
    snprintf(error, error_size,
             "%s = %s: the counter's settings are key_file (a path), approval_limit_minor (a "
             "price in minor units) and reversal_window_s (0 to 604800 seconds)",
             key, value);
    return -1;
}

/* ---- login, logout, sessions ---- */

bool counter_session_live(const staff_session_row *session, int64_t now)
{
    return now < session->expires_at && now < session->created_at + COUNTER_SESSION_MAX_S;
}

static topup_result open_session(store *st, const char *staff_id, int64_t now,
                                 char token[COUNTER_TOKEN_SIZE])
{
    staff_session_row session = {
        .created_at = now, .last_seen_at = now, .expires_at = now + COUNTER_SESSION_IDLE_S};
    session_token_new(token, session.token_hash);
    snprintf(session.staff_id, sizeof session.staff_id, "%s", staff_id);
    return store_staff_session_insert(st, &session);
}

/* A wrong password: counted, and the COUNTER_LOCK_AFTER-th in a row locks the login and ends
 * its sessions. The count commits although the action is refused: that is what makes it hold.
 * *locked_until is set when this failure locked the login. In its own savepoint. */
static topup_result count_failure(store *st, const char *staff_id, int64_t now,
                                  int64_t *locked_until)
{
    staff_row staff;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    if ((r = store_staff_get(st, staff_id, &staff)) == TOPUP_OK) {
        staff.failed_logins++;
        staff.updated_at = now;
        if (staff.failed_logins >= COUNTER_LOCK_AFTER) {
            staff.failed_logins = 0;
            staff.locked_until = now + COUNTER_LOCK_S;
            *locked_until = staff.locked_until;
        }
        r = store_staff_update_login(st, &staff);
    }
    if (r == TOPUP_OK && staff.locked_until > now)
        r = store_staff_sessions_delete_staff(st, staff.id);
    if (r != TOPUP_OK) {
        store_savepoint_rollback(st);
        /* An approver name that is no staff member's has no login to lock. */
        return r == TOPUP_E_NOT_FOUND ? TOPUP_OK : r;
    }
    store_savepoint_release(st);
    return TOPUP_OK;
}

static topup_result login_step(store *st, desk_action *a, void *payload, int64_t now)
{
    static const refusal locked = {"locked", "Too many wrong passwords: wait, then try again.",
                                   TOPUP_E_RATE_LIMITED};
    static const refusal wrong = {"invalid_credentials", "The password is not right.",
                                  TOPUP_E_NOT_FOUND};
    counter_login *login = payload;
    staff_row *staff = &login->staff;
    topup_result r = load_actor(st, a, staff);
    if (r != TOPUP_OK)
        return r;
    if (staff->locked_until > now) {
        login->locked_until = staff->locked_until;
        return refuse(a, &locked);
    }
    if (!login->password_ok)
        return refuse(a, &wrong);
    staff->failed_logins = 0;
    staff->locked_until = 0;
    staff->updated_at = now;
    if ((r = store_staff_update_login(st, staff)) ||
        (r = open_session(st, staff->id, now, login->token)))
        return r;
    if (staff->hall_id[0] && (r = store_hall_get(st, staff->hall_id, &login->hall)))
        return r;
    return counter_audit_append(st, now, a->actor, a->hall_id, "staff.login", a->subject, "role=%s",
                                staff->role);
}

topup_result counter_login_apply(store *st, void *payload, int64_t now)
{
    counter_login *login = payload;
    desk_action a = {.name = "staff.login", .actor = &login->actor};
    snprintf(a.subject, sizeof a.subject, "staff:%s", login->actor.staff_id);
    topup_result r = run(st, &a, login_step, login, now, &login->outcome);
    if (r != TOPUP_OK || strcmp(login->outcome.code, "invalid_credentials") != 0)
        return r;
    /* After the refusal's record: the wrong password's count must not be rolled back with it. */
    r = count_failure(st, login->staff.id, now, &login->locked_until);
    if (r == TOPUP_OK && login->locked_until > now)
        login->outcome.result = TOPUP_E_RATE_LIMITED;
    return r;
}

topup_result counter_logout_apply(store *st, void *payload, int64_t now)
{
    counter_logout *logout = payload;
    topup_result r = store_staff_session_delete(st, logout->session_hash);
    if (r != TOPUP_OK || !logout->actor.staff_id[0])
        return r;
    staff_row staff;
    if ((r = store_staff_get(st, logout->actor.staff_id, &staff)) != TOPUP_OK)
        return r == TOPUP_E_NOT_FOUND ? TOPUP_OK : r;
    char subject[AUDIT_SUBJECT_SIZE];
    snprintf(subject, sizeof subject, "staff:%s", staff.id);
    return counter_audit_append(st, now, &logout->actor, staff.hall_id, "staff.logout", subject,
                                "%s", "");
}

topup_result counter_session_touch_apply(store *st, void *payload, int64_t now)
{
    staff_session_row *session = payload;
    session->last_seen_at = now;
    session->expires_at = now + COUNTER_SESSION_IDLE_S;
    topup_result r = store_staff_session_touch(st, session);
    /* A session ended meanwhile (logout, lockout) stays ended. */
    return r == TOPUP_E_NOT_FOUND ? TOPUP_OK : r;
}

bool counter_id_hash(const unsigned char *key, size_t key_size, const char *id_number,
                     uint8_t hash[ID_HASH_SIZE], char last4[ID_LAST4_SIZE])
{
    char normal[ID_NUMBER_SIZE_MAX + 1];
    size_t length = 0;
    for (const char *c = id_number; c && *c; c++) {
        if (*c == ' ')
            continue;
        if (!isalnum((unsigned char)*c) || length == ID_NUMBER_SIZE_MAX)
            return false;
        normal[length++] = (char)toupper((unsigned char)*c);
    }
    if (length == 0)
        return false;
    normal[length] = '\0';
    unsigned int hash_size = ID_HASH_SIZE;
    bool ok = HMAC(EVP_sha256(), key, (int)key_size, (const unsigned char *)normal, length, hash,
                   &hash_size) != NULL;
    size_t tail = length < 4 ? length : 4;
    snprintf(last4, ID_LAST4_SIZE, "%s", normal + length - tail);
    sodium_memzero(normal, sizeof normal);
    return ok;
}

/* ---- the recharge ---- */

/* The actor's open shift at their hall: who may take money at the counter. */
static topup_result desk_shift(store *st, desk_action *a, const staff_row *staff, shift_row *shift)
{
    static const refusal no_shift = {"no_open_shift", "Open a shift before taking money.",
                                     TOPUP_E_NOT_FOUND};
    if (has_role(staff, "admin"))
        return refuse(a, &REFUSED_ROLE);
    topup_result r = store_shift_open_get(st, staff->id, shift);
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(a, &no_shift);
    if (r != TOPUP_OK)
        return r;
    return strcmp(shift->hall_id, staff->hall_id) == 0 ? TOPUP_OK : refuse(a, &REFUSED_HALL);
}

/* A price above the limit needs an active supervisor of the hall (or an admin) other than the
 * teller; the caller checked the approver's password. */
static topup_result check_approval(store *st, desk_action *a, const counter_recharge *rc)
{
    static const refusal required = {"approval_required",
                                     "This amount needs a supervisor's approval.",
                                     TOPUP_E_INVALID_ARGUMENT};
    static const refusal locked = {"approver_locked",
                                   "The approver's login is locked after too many wrong passwords.",
                                   TOPUP_E_RATE_LIMITED};
    static const refusal denied = {"approval_denied", "The approver's password is not right.",
                                   TOPUP_E_INVALID_ARGUMENT};
    static const refusal refused = {"approver_refused",
                                    "The approver must be an active supervisor of this hall, "
                                    "other than the teller.",
                                    TOPUP_E_INVALID_ARGUMENT};
    if (rc->request.price_minor <= rc->approval_limit_minor)
        return TOPUP_OK;
    if (!rc->approved_by[0])
        return refuse(a, &required);
    if (rc->approver_locked)
        return refuse(a, &locked);
    if (!rc->approver_password_ok)
        return refuse(a, &denied);
    staff_row approver;
    topup_result r = store_staff_get(st, rc->approved_by, &approver);
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(a, &refused);
    if (r != TOPUP_OK)
        return r;
    bool may = strcmp(approver.status, "active") == 0 &&
               strcmp(approver.id, rc->actor.staff_id) != 0 &&
               (has_role(&approver, "admin") ||
                (has_role(&approver, "supervisor") && strcmp(approver.hall_id, a->hall_id) == 0));
    return may ? TOPUP_OK : refuse(a, &refused);
}

/* The account the price is taken into: the drawer for cash, the hall's POS clearing for card. */
static topup_result funding_account(store *st, const counter_recharge *rc, const shift_row *shift,
                                    int64_t *account_id)
{
    if (strcmp(rc->tender, "cash") == 0) {
        *account_id = shift->drawer_account_id;
        return TOPUP_OK;
    }
    char code[ACCOUNT_CODE_SIZE];
    counter_pos_code(shift->hall_id, code);
    account_row account;
    topup_result r =
        store_account_ensure(st, code, shift->currency, COUNTER_POS_KIND, 0, 0, &account);
    *account_id = account.id;
    return r;
}

static topup_result check_tender(desk_action *a, const counter_recharge *rc, const shift_row *shift)
{
    static const refusal currency = {"currency_mismatch",
                                     "This number's operator sells in another currency than the "
                                     "hall's.",
                                     TOPUP_E_CURRENCY_MISMATCH};
    static const refusal short_cash = {"tender_short", "Less cash was handed over than the price.",
                                       TOPUP_E_INVALID_ARGUMENT};
    if (strcmp(shift->currency, rc->request.currency) != 0)
        return refuse(a, &currency);
    if (strcmp(rc->tender, "cash") == 0 && rc->tendered_minor < rc->request.price_minor)
        return refuse(a, &short_cash);
    return TOPUP_OK;
}

static void fill_counter_row(counter_recharge *rc, const shift_row *shift, int64_t now)
{
    counter_order_row *row = &rc->row;
    memset(row, 0, sizeof *row);
    row->order_id = rc->order.id;
    row->shift_id = shift->id;
    memcpy(row->hall_id, shift->hall_id, sizeof row->hall_id);
    memcpy(row->staff_id, shift->staff_id, sizeof row->staff_id);
    memcpy(row->tender, rc->tender, sizeof row->tender);
    if (strcmp(rc->tender, "cash") == 0) {
        row->tendered_minor = rc->tendered_minor;
        row->change_minor = rc->tendered_minor - rc->request.price_minor;
    } else {
        memcpy(row->pos_reference, rc->pos_reference, sizeof row->pos_reference);
    }
    memcpy(row->id_type, rc->id_type, sizeof row->id_type);
    memcpy(row->id_hash, rc->id_hash, sizeof row->id_hash);
    memcpy(row->id_last4, rc->id_last4, sizeof row->id_last4);
    memcpy(row->approved_by, rc->approved_by, sizeof row->approved_by);
    memcpy(row->invoice_title, rc->invoice_title, sizeof row->invoice_title);
    memcpy(row->invoice_tax_id, rc->invoice_tax_id, sizeof row->invoice_tax_id);
    row->created_at = now;
}

/* Cash or card: the money is in hand, so the order is created paid and credited at once. */
static topup_result take_paid(store *st, counter_recharge *rc, const shift_row *shift, int64_t now)
{
    subscriber_row sub;
    int64_t funding_id = 0;
    topup_result r = recharge_subscriber(st, &rc->request, now, &sub);
    if (r == TOPUP_OK)
        r = funding_account(st, rc, shift, &funding_id);
    if (r != TOPUP_OK)
        return r;
    recharge_order_prepare(&rc->request, funding_id, ORDER_PAID, now, &rc->order);
    if ((r = store_order_insert(st, &rc->order, "paid at the counter")) ||
        (r = recharge_fulfil(st, &rc->request, &sub, &rc->order, now)))
        return r;
    fill_counter_row(rc, shift, now);
    return store_counter_order_insert(st, &rc->row);
}

/* An Alipay payment code: the order is opened unpaid with its payment, and the counter record
 * is written with it (payment_open.counter) so no counter order exists without its record. The
 * payment opens without the key: the counter keeps it itself (remember), in its own scope, and
 * the order's api_key_id stays 0 like the other counter orders'. */
static topup_result open_code_payment(store *st, desk_action *a, counter_recharge *rc,
                                      const shift_row *shift, int64_t now)
{
    payment_open *open = rc->payment;
    assert(open && "an alipay_code recharge comes with its payment order");
    fill_counter_row(rc, shift, now);
    open->recharge = rc->request;
    open->recharge.idempotency_key[0] = '\0';
    open->counter = &rc->row;
    topup_result r = payment_open_apply(st, open, now);
    if (r != TOPUP_OK)
        return r;
    if (open->result != TOPUP_OK)
        return refuse_code(a, topup_result_code(open->result), topup_strerror(open->result),
                           open->result);
    return store_order_get(st, open->order_id, &rc->order);
}

static topup_result recharge_step(store *st, desk_action *a, void *payload, int64_t now)
{
    counter_recharge *rc = payload;
    staff_row staff;
    shift_row shift;
    topup_result r = load_actor(st, a, &staff);
    if (r == TOPUP_OK)
        r = desk_shift(st, a, &staff, &shift);
    if (r == TOPUP_OK)
        r = check_tender(a, rc, &shift);
    if (r == TOPUP_OK && rc->request.price_minor <= rc->approval_limit_minor)
        rc->approved_by[0] = '\0'; /* an approval nobody needed is not recorded */
    if (r == TOPUP_OK)
        r = check_approval(st, a, rc);
    if (r == TOPUP_OK)
        r = strcmp(rc->tender, "alipay_code") == 0 ? open_code_payment(st, a, rc, &shift, now)
                                                   : take_paid(st, rc, &shift, now);
    if (r != TOPUP_OK)
        return r;
    snprintf(a->subject, sizeof a->subject, "order:%lld", (long long)rc->order.id);
    char price[MONEY_TEXT_SIZE_MAX], change[MONEY_TEXT_SIZE_MAX];
    return counter_audit_append(
        st, now, a->actor, a->hall_id, "recharge", a->subject,
        "shift=%lld tender=%s price=%s %s change=%s id=%s/***%s%s%s%s", (long long)shift.id,
        rc->tender, amount_text(rc->order.price_minor, rc->order.currency, price),
        rc->order.currency, amount_text(rc->row.change_minor, rc->order.currency, change),
        rc->id_type, rc->id_last4, rc->approved_by[0] ? " approved_by=" : "", rc->approved_by,
        rc->invoice_title[0] ? " invoice" : "");
}

/* A key seen before: the same request answers its recharge again, another is refused. Returns
 * TOPUP_E_NOT_FOUND for a new key. */
static topup_result replay(store *st, counter_recharge *rc)
{
    idempotency_row stored;
    topup_result r =
        store_idempotency_get(st, COUNTER_IDEMPOTENCY_SCOPE, rc->idempotency_key, &stored);
    if (r != TOPUP_OK)
        return r;
    bool same = memcmp(stored.request_hash, rc->request_hash, REQUEST_HASH_SIZE) == 0;
    int64_t order_id = strtoll(stored.body, NULL, 10);
    free(stored.body);
    if (!same) {
        rc->outcome = (counter_outcome){TOPUP_E_IDEMPOTENCY_KEY_REUSED, "idempotency_key_reused",
                                        "This Idempotency-Key was used for another recharge."};
        return TOPUP_OK;
    }
    if ((r = store_order_get(st, order_id, &rc->order)) ||
        (r = store_counter_order_get(st, order_id, &rc->row)))
        return r;
    rc->replayed = true;
    rc->outcome = (counter_outcome){.result = TOPUP_OK};
    return TOPUP_OK;
}

/* Keeps the done recharge under its key (the body is the order id), in the batch's
 * transaction. */
static topup_result remember(store *st, const counter_recharge *rc, int64_t now)
{
    char body[24];
    snprintf(body, sizeof body, "%lld", (long long)rc->order.id);
    return store_idempotency_put(st, COUNTER_IDEMPOTENCY_SCOPE, rc->idempotency_key,
                                 rc->request_hash, 201, body, now);
}

topup_result counter_recharge_apply(store *st, void *payload, int64_t now)
{
    counter_recharge *rc = payload;
    rc->replayed = false;
    if (rc->idempotency_key[0]) {
        topup_result seen = replay(st, rc);
        if (seen != TOPUP_E_NOT_FOUND)
            return seen;
    }
    desk_action a = {.name = "recharge", .actor = &rc->actor};
    snprintf(a.detail, sizeof a.detail, "tender=%s price_minor=%lld%s%s", rc->tender,
             (long long)rc->request.price_minor, rc->approved_by[0] ? " approver=" : "",
             rc->approved_by);
    topup_result r = run(st, &a, recharge_step, rc, now, &rc->outcome);
    if (r == TOPUP_OK && rc->outcome.result == TOPUP_OK && rc->idempotency_key[0])
        return remember(st, rc, now);
    if (r != TOPUP_OK || strcmp(rc->outcome.code, "approval_denied") != 0)
        return r;
    /* A wrong approval password counts against the approver's login like a wrong login does,
     * so approvals cannot be used to guess a supervisor's password. */
    int64_t locked_until = 0;
    return count_failure(st, rc->approved_by, now, &locked_until);
}

/* ---- receipts ---- */

/* Whether the actor may see a counter order: the teller who served it, a supervisor of its
 * hall, an admin. */
static topup_result may_see(desk_action *a, const staff_row *actor, const counter_order_row *row)
{
    if (has_role(actor, "admin") || strcmp(actor->id, row->staff_id) == 0)
        return TOPUP_OK;
    if (strcmp(actor->hall_id, row->hall_id) != 0)
        return refuse(a, &REFUSED_HALL);
    return has_role(actor, "supervisor") ? TOPUP_OK : refuse(a, &REFUSED_ROLE);
}

static topup_result load_counter_order(store *st, desk_action *a, int64_t order_id,
                                       counter_order_row *row)
{
    static const refusal unknown = {"not_found", "There is no such counter order.",
                                    TOPUP_E_NOT_FOUND};
    snprintf(a->subject, sizeof a->subject, "order:%lld", (long long)order_id);
    topup_result r = store_counter_order_get(st, order_id, row);
    return r == TOPUP_E_NOT_FOUND ? refuse(a, &unknown) : r;
}

/* A receipt says the money was taken: an alipay_code order gets one only once Alipay paid it
 * and it was credited (or later reversed), never while pending or after Alipay refused. */
static topup_result check_receipt_due(store *st, desk_action *a, const counter_order_row *row)
{
    static const refusal unpaid = {"not_credited", "This recharge has not been paid and credited.",
                                   TOPUP_E_INVALID_ARGUMENT};
    if (strcmp(row->tender, "alipay_code") != 0)
        return TOPUP_OK;
    order_row order;
    topup_result r = store_order_get(st, row->order_id, &order);
    if (r != TOPUP_OK)
        return r;
    bool credited = order.status == ORDER_SUCCEEDED || order.status == ORDER_REVERSED;
    return credited ? TOPUP_OK : refuse(a, &unpaid);
}

static topup_result print_step(store *st, desk_action *a, void *payload, int64_t now)
{
    counter_print *print = payload;
    staff_row actor;
    topup_result r = load_actor(st, a, &actor);
    if (r == TOPUP_OK)
        r = load_counter_order(st, a, print->order_id, &print->row);
    if (r == TOPUP_OK)
        r = may_see(a, &actor, &print->row);
    if (r == TOPUP_OK)
        r = check_receipt_due(st, a, &print->row);
    if (r == TOPUP_OK)
        r = store_counter_order_printed(st, print->order_id, &print->print_count);
    if (r == TOPUP_OK)
        r = store_staff_get(st, print->row.staff_id, &print->teller);
    if (r == TOPUP_OK)
        r = store_hall_get(st, print->row.hall_id, &print->hall);
    if (r != TOPUP_OK)
        return r;
    return counter_audit_append(st, now, a->actor, print->row.hall_id,
                                print->print_count > 1 ? "receipt.reprint" : "receipt.print",
                                a->subject, "print=%d%s", print->print_count,
                                print->row.reversed_at ? " void" : "");
}

topup_result counter_print_apply(store *st, void *payload, int64_t now)
{
    counter_print *print = payload;
    desk_action a = {.name = "receipt.print", .actor = &print->actor};
    return run(st, &a, print_step, print, now, &print->outcome);
}

/* ---- reversal ---- */

/* The drawer the cash goes back out of: the serving teller's when their shift at the hall is
 * still open (the cash went into it), else the reversing supervisor's. */
static topup_result paying_shift(store *st, desk_action *a, const counter_order_row *row,
                                 const staff_row *supervisor, shift_row *shift)
{
    static const refusal no_shift = {"no_open_shift",
                                     "No drawer is open at this hall to pay the cash back from: "
                                     "open a shift first.",
                                     TOPUP_E_NOT_FOUND};
    const char *owners[] = {row->staff_id, supervisor->id};
    for (size_t i = 0; i < sizeof owners / sizeof owners[0]; i++) {
        topup_result r = store_shift_open_get(st, owners[i], shift);
        if (r == TOPUP_OK && strcmp(shift->hall_id, row->hall_id) == 0)
            return TOPUP_OK;
        if (r != TOPUP_OK && r != TOPUP_E_NOT_FOUND)
            return r;
    }
    return refuse(a, &no_shift);
}

/* The rules a reversal must pass once the order and its supervisor are known. */
static topup_result check_reversible(desk_action *a, const counter_reverse *rv,
                                     const subscriber_row *sub, int64_t now)
{
    static const refusal reversed = {"already_reversed", "This recharge was already reversed.",
                                     TOPUP_E_ALREADY_EXISTS};
    static const refusal late = {"window_passed",
                                 "This recharge is too old to be reversed at the counter.",
                                 TOPUP_E_INVALID_ARGUMENT};
    static const refusal spent = {"balance_too_low",
                                  "The credited amount is no longer on the balance.",
                                  TOPUP_E_INSUFFICIENT_FUNDS};
    static const refusal no_reason = {"reason_required", "Give the reason for the reversal.",
                                      TOPUP_E_INVALID_ARGUMENT};
    if (rv->row.reversed_at)
        return refuse(a, &reversed);
    static const refusal not_credited = {
        "not_credited", "Only a credited recharge can be reversed.", TOPUP_E_INVALID_ARGUMENT};
    if (rv->order.status != ORDER_SUCCEEDED)
        return refuse(a, &not_credited);
    if (now - rv->row.created_at > rv->window_s)
        return refuse(a, &late);
    if (!rv->reason[0])
        return refuse(a, &no_reason);
    return sub->balance_minor >= rv->order.face_minor ? TOPUP_OK : refuse(a, &spent);
}

/* Money paid with a payment code is at Alipay: it goes back by a refund of that payment, which
 * the settlement worker sends (and sends again after no answer, never twice). The price is
 * already back on the provider's clearing account; from there it waits as refunds_payable. */
static topup_result refund_through_provider(store *st, const counter_reverse *rv, int64_t now)
{
    payment_row payment;
    topup_result r = store_payment_by_order(st, rv->order.id, &payment);
    if (r != TOPUP_OK)
        return r == TOPUP_E_NOT_FOUND ? TOPUP_E_STORAGE : r; /* every such order has one */
    return payment_hold_for_refund(st, &rv->order, &payment, rv->order.price_minor,
                                   rv->order.currency, "reversed at the counter", now);
}

static topup_result reverse_step(store *st, desk_action *a, void *payload, int64_t now)
{
    counter_reverse *rv = payload;
    staff_row actor;
    subscriber_row sub;
    topup_result r = load_actor(st, a, &actor);
    if (r == TOPUP_OK)
        r = load_counter_order(st, a, rv->order_id, &rv->row);
    if (r == TOPUP_OK)
        memcpy(a->hall_id, rv->row.hall_id, sizeof a->hall_id);
    if (r == TOPUP_OK && !has_role(&actor, "supervisor"))
        r = refuse(a, &REFUSED_ROLE);
    if (r == TOPUP_OK && strcmp(actor.hall_id, rv->row.hall_id) != 0)
        r = refuse(a, &REFUSED_HALL);
    if (r == TOPUP_OK)
        r = store_order_get(st, rv->order_id, &rv->order);
    if (r == TOPUP_OK)
        r = store_subscriber_get(st, rv->order.msisdn, &sub);
    if (r == TOPUP_OK)
        r = check_reversible(a, rv, &sub, now);
    shift_row shift = {0};
    int64_t paying_id = rv->order.funding_account_id;
    if (r == TOPUP_OK && strcmp(rv->row.tender, "cash") == 0) {
        r = paying_shift(st, a, &rv->row, &actor, &shift);
        paying_id = shift.drawer_account_id;
    }
    /* The order moves to reversed, and the money back with transfers of the order, so the
     * ledger and the order's events tell the same story. */
    if (r == TOPUP_OK)
        r = store_order_transition(st, &rv->order, ORDER_REVERSED, rv->reason, now);
    if (r == TOPUP_OK)
        r = recharge_return_money(st, &rv->order, sub.account_id, paying_id, COUNTER_KIND_REVERSAL);
    if (r == TOPUP_OK && strcmp(rv->row.tender, "alipay_code") == 0)
        r = refund_through_provider(st, rv, now);
    if (r != TOPUP_OK)
        return r;
    rv->row.reversed_at = now;
    snprintf(rv->row.reversed_by, sizeof rv->row.reversed_by, "%s", actor.id);
    rv->row.reversal_shift_id = shift.id;
    snprintf(rv->row.reversal_reason, sizeof rv->row.reversal_reason, "%s", rv->reason);
    if ((r = store_counter_order_reverse(st, &rv->row)))
        return r;
    char price[MONEY_TEXT_SIZE_MAX];
    return counter_audit_append(st, now, a->actor, a->hall_id, "recharge.reverse", a->subject,
                                "tender=%s price=%s %s drawer_shift=%lld reason=%s", rv->row.tender,
                                amount_text(rv->order.price_minor, rv->order.currency, price),
                                rv->order.currency, (long long)shift.id, rv->reason);
}

topup_result counter_reverse_apply(store *st, void *payload, int64_t now)
{
    counter_reverse *rv = payload;
    desk_action a = {.name = "recharge.reverse", .actor = &rv->actor};
    return run(st, &a, reverse_step, rv, now, &rv->outcome);
}
