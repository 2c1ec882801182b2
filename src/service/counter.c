/* Halls, staff, the audit log and shifts with their cash drawers (see counter.h for the ledger
 * accounts and transfers). Each action runs as one step in its own savepoint, writes its own
 * audit entry there, and on a refusal by rule leaves only the "<action>.refused" entry. */
#include "service/counter.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/money.h"

#define HALL_ID_CHARS  "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define STAFF_ID_CHARS "abcdefghijklmnopqrstuvwxyz0123456789._-"

static const struct {
    const char *code;
    const char *text;
    topup_result result;
} refusals[COUNTER_REFUSAL_COUNT] = {
    [COUNTER_ACCEPTED] = {"accepted", "The action was done.", TOPUP_OK},
    [COUNTER_STAFF_UNKNOWN] = {"staff_unknown", "No staff member has this login name.",
                               TOPUP_E_NOT_FOUND},
    [COUNTER_STAFF_DISABLED] = {"staff_disabled", "The staff member is disabled.",
                                TOPUP_E_INVALID_ARGUMENT},
    [COUNTER_WRONG_HALL] = {"wrong_hall", "The staff member does not work at this hall.",
                            TOPUP_E_INVALID_ARGUMENT},
    [COUNTER_ROLE_REFUSED] = {"role_refused", "The staff member's role may not do this.",
                              TOPUP_E_INVALID_ARGUMENT},
    [COUNTER_SHIFT_ALREADY_OPEN] = {"shift_already_open",
                                    "The staff member already has an open shift; close it first.",
                                    TOPUP_E_ALREADY_EXISTS},
    [COUNTER_NO_OPEN_SHIFT] = {"no_open_shift", "The staff member has no open shift.",
                               TOPUP_E_NOT_FOUND},
    [COUNTER_REASON_REQUIRED] = {"reason_required",
                                 "The cash counted differs from what the drawer should hold; give "
                                 "the reason.",
                                 TOPUP_E_INVALID_ARGUMENT},
};

const char *counter_refusal_code(counter_refusal refusal)
{
    assert(refusal >= 0 && refusal < COUNTER_REFUSAL_COUNT);
    return refusals[refusal].code;
}

const char *counter_refusal_text(counter_refusal refusal)
{
    assert(refusal >= 0 && refusal < COUNTER_REFUSAL_COUNT);
    return refusals[refusal].text;
}

topup_result counter_refusal_result(counter_refusal refusal)
{
    assert(refusal >= 0 && refusal < COUNTER_REFUSAL_COUNT);
    return refusals[refusal].result;
}

/* ---- names ---- */

static bool made_of(const char *text, size_t size, const char *allowed)
{
    size_t length = text ? strnlen(text, size) : 0;
    return length >= 1 && length < size && strspn(text, allowed) == length;
}

bool counter_hall_id_valid(const char *id)
{
    return made_of(id, HALL_ID_SIZE, HALL_ID_CHARS);
}

bool counter_staff_id_valid(const char *id)
{
    return made_of(id, STAFF_ID_SIZE, STAFF_ID_CHARS);
}

bool counter_role_valid(const char *role)
{
    return role && (strcmp(role, "teller") == 0 || strcmp(role, "supervisor") == 0 ||
                    strcmp(role, "admin") == 0);
}

void counter_safe_code(const char *hall_id, char code[ACCOUNT_CODE_SIZE])
{
    int length = snprintf(code, ACCOUNT_CODE_SIZE, "safe:%s", hall_id);
    assert(length > 0 && length < ACCOUNT_CODE_SIZE); /* ids are bounded by their sizes */
    (void)length;
}

void counter_drawer_code(const char *hall_id, const char *staff_id, char code[ACCOUNT_CODE_SIZE])
{
    /* "drawer:" + 24 + ":" + 32 = 64 characters at most: HALL_ID_SIZE is sized for this. */
    int length = snprintf(code, ACCOUNT_CODE_SIZE, "drawer:%s:%s", hall_id, staff_id);
    assert(length > 0 && length < ACCOUNT_CODE_SIZE);
    (void)length;
}

/* ---- audit ---- */

topup_result counter_audit_append(store *st, int64_t now, const counter_actor *actor,
                                  const char *hall_id, const char *action, const char *subject,
                                  const char *detail_format, ...)
{
    audit_row entry = {.at = now};
    snprintf(entry.staff_id, sizeof entry.staff_id, "%s", actor->staff_id);
    snprintf(entry.origin, sizeof entry.origin, "%s", actor->origin);
    snprintf(entry.hall_id, sizeof entry.hall_id, "%s", hall_id ? hall_id : "");
    snprintf(entry.action, sizeof entry.action, "%s", action);
    snprintf(entry.subject, sizeof entry.subject, "%s", subject ? subject : "");
    va_list arguments;
    va_start(arguments, detail_format);
    /* A detail longer than the field is cut: a shortened record beats a refused action. */
    vsnprintf(entry.detail, sizeof entry.detail, detail_format, arguments);
    va_end(arguments);
    return store_audit_append(st, &entry);
}

/* ---- one action: its savepoint, its refusal and the refusal's record ---- */

/* What an action knows about itself for its audit entries. Steps fill hall_id, subject and
 * detail as they learn them; hall_id only ever names a hall that exists, because the audit
 * log's reference to it must hold. */
typedef struct action {
    const char *name; /* e.g. "shift.open" */
    const counter_actor *actor;
    char hall_id[HALL_ID_SIZE];
    char subject[AUDIT_SUBJECT_SIZE];
    char detail[AUDIT_DETAIL_SIZE]; /* context for a refusal's record */
    counter_refusal refusal;        /* set by refuse() */
} action;

typedef topup_result (*step_fn)(store *st, action *a, const void *context, int64_t now);

static topup_result refuse(action *a, counter_refusal refusal)
{
    a->refusal = refusal;
    return counter_refusal_result(refusal);
}

/* Records a refused action. An unknown actor cannot be referenced, so their name goes to the
 * subject instead. */
static topup_result record_refusal(store *st, const action *a, int64_t now)
{
    counter_actor actor = *a->actor;
    char subject[AUDIT_SUBJECT_SIZE];
    snprintf(subject, sizeof subject, "%s", a->subject);
    if (a->refusal == COUNTER_STAFF_UNKNOWN) {
        snprintf(subject, sizeof subject, "staff:%.32s", actor.staff_id);
        actor.staff_id[0] = '\0';
    }
    char name[AUDIT_ACTION_SIZE];
    snprintf(name, sizeof name, "%s.refused", a->name);
    return counter_audit_append(st, now, &actor, a->hall_id, name, subject, "%s: %s%s%s",
                                counter_refusal_code(a->refusal), counter_refusal_text(a->refusal),
                                a->detail[0] ? " " : "", a->detail);
}

/* Runs step in its own savepoint. Done: kept. Refused by rule: rolled back, then recorded.
 * Failed otherwise: rolled back and returned (a storage failure means the caller must roll
 * back its transaction). */
static topup_result run(store *st, action *a, step_fn step, const void *context, int64_t now,
                        counter_refusal *refusal)
{
    a->refusal = COUNTER_ACCEPTED;
    if (refusal)
        *refusal = COUNTER_ACCEPTED;
    topup_result r = store_savepoint(st);
    if (r != TOPUP_OK)
        return r;
    r = step(st, a, context, now);
    if (r == TOPUP_OK) {
        store_savepoint_release(st);
        return TOPUP_OK;
    }
    store_savepoint_rollback(st);
    if (a->refusal == COUNTER_ACCEPTED)
        return r;
    if (refusal)
        *refusal = a->refusal;
    topup_result recorded = record_refusal(st, a, now);
    return recorded != TOPUP_OK ? recorded : r;
}

static bool has_role(const staff_row *staff, const char *role)
{
    return strcmp(staff->role, role) == 0;
}

/* Loads the acting staff member. Unknown: refused; disabled: refused unless disabled_ok. */
static topup_result load_actor(store *st, action *a, bool disabled_ok, staff_row *staff)
{
    topup_result r = store_staff_get(st, a->actor->staff_id, staff);
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(a, COUNTER_STAFF_UNKNOWN);
    if (r != TOPUP_OK)
        return r;
    if (!a->hall_id[0])
        memcpy(a->hall_id, staff->hall_id, sizeof a->hall_id);
    if (!disabled_ok && strcmp(staff->status, "active") != 0)
        return refuse(a, COUNTER_STAFF_DISABLED);
    return TOPUP_OK;
}

/* The command line (no staff actor) is trusted; a staff actor must be an active admin. */
static topup_result require_admin(store *st, action *a)
{
    if (!a->actor->staff_id[0])
        return TOPUP_OK;
    staff_row actor;
    topup_result r = load_actor(st, a, false, &actor);
    if (r != TOPUP_OK)
        return r;
    return has_role(&actor, "admin") ? TOPUP_OK : refuse(a, COUNTER_ROLE_REFUSED);
}

/* Whether the actor may act on something of hall_id that belongs to owner_id: an admin may,
 * and so may a supervisor of that hall; the owner may when owner_ok. */
static topup_result require_oversight(action *a, const staff_row *actor, const char *hall_id,
                                      const char *owner_id, bool owner_ok)
{
    if (has_role(actor, "admin") || (owner_ok && strcmp(actor->id, owner_id) == 0))
        return TOPUP_OK;
    if (strcmp(actor->hall_id, hall_id) != 0)
        return refuse(a, COUNTER_WRONG_HALL);
    return has_role(actor, "supervisor") ? TOPUP_OK : refuse(a, COUNTER_ROLE_REFUSED);
}

/* ---- ledger ---- */

static const char *amount_text(int64_t amount_minor, const char *currency,
                               char text[MONEY_TEXT_SIZE_MAX])
{
    if (money_format(amount_minor, currency, text, MONEY_TEXT_SIZE_MAX) != TOPUP_OK)
        snprintf(text, MONEY_TEXT_SIZE_MAX, "?");
    return text;
}

static topup_result account(store *st, const char *code, const char *currency, const char *kind,
                            account_row *out)
{
    return store_account_ensure(st, code, currency, kind, 0, 0, out);
}

/* A transfer of amount_minor (> 0) at now; *id (may be NULL) is its id. */
static topup_result move(store *st, int64_t debit_id, int64_t credit_id, int64_t amount_minor,
                         const char *currency, const char *kind, int64_t now, int64_t *id)
{
    transfer_row transfer = {.debit_account_id = debit_id,
                             .credit_account_id = credit_id,
                             .amount_minor = amount_minor,
                             .created_at = now};
    snprintf(transfer.currency, sizeof transfer.currency, "%s", currency);
    snprintf(transfer.kind, sizeof transfer.kind, "%s", kind);
    topup_result r = store_transfer(st, &transfer, NULL, NULL);
    if (r == TOPUP_OK && id)
        *id = transfer.id;
    return r;
}

/* The cash the drawer holds by the ledger: money held is a debit balance. */
static topup_result drawer_cash(store *st, const shift_row *shift, int64_t *cash_minor)
{
    char code[ACCOUNT_CODE_SIZE];
    counter_drawer_code(shift->hall_id, shift->staff_id, code);
    account_row drawer;
    topup_result r = store_account_get(st, code, shift->currency, &drawer);
    return r != TOPUP_OK ? r : money_sub(0, drawer.balance_minor, cash_minor);
}

/* ---- halls and staff ---- */

static topup_result hall_add_step(store *st, action *a, const void *context, int64_t now)
{
    hall_row hall = *(const hall_row *)context;
    hall.created_at = now;
    snprintf(a->subject, sizeof a->subject, "hall:%s", hall.id);
    topup_result r = require_admin(st, a);
    if (r != TOPUP_OK || (r = store_hall_insert(st, &hall)) != TOPUP_OK)
        return r;
    memcpy(a->hall_id, hall.id, sizeof a->hall_id);
    char code[ACCOUNT_CODE_SIZE];
    counter_safe_code(hall.id, code);
    account_row safe;
    if ((r = account(st, code, hall.currency, COUNTER_SAFE_KIND, &safe)) != TOPUP_OK)
        return r;
    return counter_audit_append(st, now, a->actor, hall.id, a->name, a->subject, "%s, %s, safe %s",
                                hall.name, hall.currency, code);
}

topup_result counter_hall_add(store *st, const hall_row *hall, const counter_actor *actor,
                              int64_t now, counter_refusal *refusal)
{
    action a = {.name = "hall.add", .actor = actor};
    return run(st, &a, hall_add_step, hall, now, refusal);
}

static topup_result staff_add_step(store *st, action *a, const void *context, int64_t now)
{
    staff_row staff = *(const staff_row *)context;
    staff.created_at = now;
    snprintf(a->subject, sizeof a->subject, "staff:%s", staff.id);
    topup_result r = require_admin(st, a);
    if (r != TOPUP_OK)
        return r;
    /* Only an admin works outside a hall: a teller's drawer and a supervisor's oversight are
     * a hall's. */
    if (!counter_role_valid(staff.role) || (!has_role(&staff, "admin") && !staff.hall_id[0]))
        return TOPUP_E_INVALID_ARGUMENT;
    if ((r = store_staff_insert(st, &staff)) != TOPUP_OK)
        return r;
    return counter_audit_append(st, now, a->actor, staff.hall_id, a->name, a->subject, "%s, %s%s%s",
                                staff.name, staff.role, staff.hall_id[0] ? " at " : "",
                                staff.hall_id);
}

topup_result counter_staff_add(store *st, const staff_row *staff, const counter_actor *actor,
                               int64_t now, counter_refusal *refusal)
{
    action a = {.name = "staff.add", .actor = actor};
    return run(st, &a, staff_add_step, staff, now, refusal);
}

static topup_result staff_disable_step(store *st, action *a, const void *context, int64_t now)
{
    const char *staff_id = context;
    staff_row target, actor;
    topup_result r = store_staff_get(st, staff_id, &target);
    if (r != TOPUP_OK)
        return r;
    snprintf(a->subject, sizeof a->subject, "staff:%s", target.id);
    memcpy(a->hall_id, target.hall_id, sizeof a->hall_id);
    if (a->actor->staff_id[0] &&
        ((r = load_actor(st, a, false, &actor)) != TOPUP_OK ||
         (r = require_oversight(a, &actor, target.hall_id, target.id, false)) != TOPUP_OK))
        return r;
    if ((r = store_staff_set_status(st, target.id, "disabled", now)) != TOPUP_OK)
        return r;
    return counter_audit_append(st, now, a->actor, target.hall_id, a->name, a->subject,
                                "%s, %s, was %s", target.name, target.role, target.status);
}

topup_result counter_staff_disable(store *st, const char *staff_id, const counter_actor *actor,
                                   int64_t now, counter_refusal *refusal)
{
    action a = {.name = "staff.disable", .actor = actor};
    return run(st, &a, staff_disable_step, staff_id, now, refusal);
}

/* ---- opening a shift ---- */

/* The hall a shift opens at: the one asked for, which must be the staff member's own. */
static topup_result shift_hall(store *st, action *a, const staff_row *staff, const char *asked,
                               hall_row *hall)
{
    const char *hall_id = asked[0] ? asked : staff->hall_id;
    topup_result r;
    if (strcmp(hall_id, staff->hall_id) != 0) {
        snprintf(a->detail, sizeof a->detail, "(asked for hall %.24s, works at %.24s)", hall_id,
                 staff->hall_id);
        /* The attempt is the other hall's business: its supervisor should see it. */
        if ((r = store_hall_get(st, hall_id, hall)) == TOPUP_OK)
            memcpy(a->hall_id, hall->id, sizeof a->hall_id);
        else if (r != TOPUP_E_NOT_FOUND)
            return r;
        return refuse(a, COUNTER_WRONG_HALL);
    }
    return store_hall_get(st, hall_id, hall); /* the staff member's hall: it exists */
}

/* The new shift's drawer, and the float counted into it out of the safe. */
static topup_result fund_drawer(store *st, const hall_row *hall, const staff_row *staff,
                                int64_t float_minor, int64_t now, int64_t *drawer_id)
{
    char safe_code[ACCOUNT_CODE_SIZE], drawer_code[ACCOUNT_CODE_SIZE];
    counter_safe_code(hall->id, safe_code);
    counter_drawer_code(hall->id, staff->id, drawer_code);
    account_row safe, drawer;
    topup_result r = account(st, safe_code, hall->currency, COUNTER_SAFE_KIND, &safe);
    if (r != TOPUP_OK ||
        (r = account(st, drawer_code, hall->currency, COUNTER_DRAWER_KIND, &drawer)) != TOPUP_OK)
        return r;
    *drawer_id = drawer.id;
    /* An empty drawer (a card-only shift) moves nothing: a transfer is never of zero. */
    if (float_minor == 0)
        return TOPUP_OK;
    return move(st, drawer.id, safe.id, float_minor, hall->currency, COUNTER_KIND_FLOAT, now, NULL);
}

typedef struct shift_open_context {
    const counter_shift_open_request *request;
    shift_row *shift; /* OUT */
} shift_open_context;

static topup_result shift_open_step(store *st, action *a, const void *context, int64_t now)
{
    const shift_open_context *c = context;
    staff_row staff;
    hall_row hall;
    /* The shift has no number until it exists: a refusal is about the staff member. */
    snprintf(a->subject, sizeof a->subject, "staff:%s", a->actor->staff_id);
    topup_result r = load_actor(st, a, false, &staff);
    if (r != TOPUP_OK)
        return r;
    if (has_role(&staff, "admin")) /* an admin keeps no drawer */
        return refuse(a, COUNTER_ROLE_REFUSED);
    if ((r = shift_hall(st, a, &staff, c->request->hall_id, &hall)) != TOPUP_OK)
        return r;
    shift_row *shift = c->shift;
    memset(shift, 0, sizeof *shift);
    r = store_shift_open_get(st, staff.id, shift);
    if (r == TOPUP_OK) {
        snprintf(a->detail, sizeof a->detail, "(shift %lld)", (long long)shift->id);
        return refuse(a, COUNTER_SHIFT_ALREADY_OPEN);
    }
    if (r != TOPUP_E_NOT_FOUND)
        return r;
    if ((r = fund_drawer(st, &hall, &staff, c->request->float_minor, now,
                         &shift->drawer_account_id)) != TOPUP_OK)
        return r;
    memcpy(shift->staff_id, staff.id, sizeof shift->staff_id);
    memcpy(shift->hall_id, hall.id, sizeof shift->hall_id);
    memcpy(shift->currency, hall.currency, sizeof shift->currency);
    shift->opening_float_minor = c->request->float_minor;
    shift->opened_at = now;
    r = store_shift_insert(st, shift);
    if (r == TOPUP_E_ALREADY_EXISTS) /* opened by another connection since the check */
        return refuse(a, COUNTER_SHIFT_ALREADY_OPEN);
    if (r != TOPUP_OK)
        return r;
    snprintf(a->subject, sizeof a->subject, "shift:%lld", (long long)shift->id);
    char text[MONEY_TEXT_SIZE_MAX];
    return counter_audit_append(
        st, now, a->actor, hall.id, a->name, a->subject, "opening float %s %s",
        amount_text(shift->opening_float_minor, hall.currency, text), hall.currency);
}

topup_result counter_shift_open(store *st, const counter_shift_open_request *request, int64_t now,
                                shift_row *shift, counter_refusal *refusal)
{
    if (refusal)
        *refusal = COUNTER_ACCEPTED;
    if (request->float_minor < 0)
        return TOPUP_E_AMOUNT_NEGATIVE;
    action a = {.name = "shift.open", .actor = &request->actor};
    shift_open_context context = {.request = request, .shift = shift};
    return run(st, &a, shift_open_step, &context, now, refusal);
}

/* ---- closing a shift ---- */

/* Books counted - expected: more cash than the ledger says is held (over) is debited to the
 * drawer, less (short) credited to it, the other side being cash_over_short. */
static topup_result book_difference(store *st, shift_row *shift, int64_t now)
{
    int64_t difference = shift->over_short_minor;
    if (difference == 0)
        return TOPUP_OK;
    account_row over_short;
    topup_result r = account(st, COUNTER_OVER_SHORT_ACCOUNT, shift->currency,
                             COUNTER_OVER_SHORT_ACCOUNT, &over_short);
    if (r != TOPUP_OK)
        return r;
    bool over = difference > 0;
    /* Negating cannot overflow: counted >= 0, so counted - expected is never INT64_MIN. */
    int64_t amount = over ? difference : -difference;
    return move(st, over ? shift->drawer_account_id : over_short.id,
                over ? over_short.id : shift->drawer_account_id, amount, shift->currency,
                over ? COUNTER_KIND_OVER : COUNTER_KIND_SHORT, now, &shift->over_short_transfer_id);
}

/* The counted cash leaves the drawer for the safe, so the drawer ends at zero. */
static topup_result return_to_safe(store *st, const shift_row *shift, int64_t now)
{
    if (shift->counted_cash_minor == 0)
        return TOPUP_OK;
    char code[ACCOUNT_CODE_SIZE];
    counter_safe_code(shift->hall_id, code);
    account_row safe;
    topup_result r = account(st, code, shift->currency, COUNTER_SAFE_KIND, &safe);
    return r != TOPUP_OK ? r
                         : move(st, safe.id, shift->drawer_account_id, shift->counted_cash_minor,
                                shift->currency, COUNTER_KIND_RETURN, now, NULL);
}

static topup_result audit_close(store *st, const action *a, const shift_row *shift, int64_t now)
{
    char expected[MONEY_TEXT_SIZE_MAX], counted[MONEY_TEXT_SIZE_MAX],
        difference[MONEY_TEXT_SIZE_MAX];
    int64_t over_short = shift->over_short_minor;
    return counter_audit_append(
        st, now, a->actor, shift->hall_id, a->name, a->subject,
        "expected %s, counted %s, %s %s %s%s%s",
        amount_text(shift->expected_cash_minor, shift->currency, expected),
        amount_text(shift->counted_cash_minor, shift->currency, counted),
        over_short > 0   ? "over"
        : over_short < 0 ? "short"
                         : "even",
        amount_text(over_short < 0 ? -over_short : over_short, shift->currency, difference),
        shift->currency, shift->close_reason[0] ? ": " : "", shift->close_reason);
}

typedef struct shift_close_context {
    const counter_shift_close_request *request;
    counter_shift_report *report; /* OUT */
} shift_close_context;

/* Fills the closing figures of shift from the ledger and the count; refuses a difference
 * without a reason. */
static topup_result count_out(store *st, action *a, const counter_shift_close_request *request,
                              shift_row *shift)
{
    topup_result r = drawer_cash(st, shift, &shift->expected_cash_minor);
    if (r != TOPUP_OK)
        return r;
    shift->counted_cash_minor = request->counted_minor;
    r = money_sub(shift->counted_cash_minor, shift->expected_cash_minor, &shift->over_short_minor);
    if (r != TOPUP_OK)
        return r;
    if (shift->over_short_minor != 0 && !request->reason[0]) {
        char expected[MONEY_TEXT_SIZE_MAX], counted[MONEY_TEXT_SIZE_MAX];
        snprintf(a->detail, sizeof a->detail, "(expected %s %s, counted %s)",
                 amount_text(shift->expected_cash_minor, shift->currency, expected),
                 shift->currency, amount_text(shift->counted_cash_minor, shift->currency, counted));
        return refuse(a, COUNTER_REASON_REQUIRED);
    }
    snprintf(shift->close_reason, sizeof shift->close_reason, "%s", request->reason);
    return TOPUP_OK;
}

static topup_result shift_close_step(store *st, action *a, const void *context, int64_t now)
{
    const shift_close_context *c = context;
    staff_row staff;
    shift_row shift;
    topup_result r = load_actor(st, a, true, &staff);
    if (r != TOPUP_OK)
        return r;
    r = store_shift_open_get(st, staff.id, &shift);
    if (r == TOPUP_E_NOT_FOUND)
        return refuse(a, COUNTER_NO_OPEN_SHIFT);
    if (r != TOPUP_OK)
        return r;
    memcpy(a->hall_id, shift.hall_id, sizeof a->hall_id);
    snprintf(a->subject, sizeof a->subject, "shift:%lld", (long long)shift.id);
    if ((r = count_out(st, a, c->request, &shift)) != TOPUP_OK ||
        (r = book_difference(st, &shift, now)) != TOPUP_OK ||
        (r = return_to_safe(st, &shift, now)) != TOPUP_OK)
        return r;
    shift.closed_at = now;
    if ((r = store_shift_close(st, &shift)) != TOPUP_OK ||
        (r = audit_close(st, a, &shift, now)) != TOPUP_OK)
        return r;
    return counter_shift_report_get(st, shift.id, c->report);
}

topup_result counter_shift_close(store *st, const counter_shift_close_request *request, int64_t now,
                                 counter_shift_report *report, counter_refusal *refusal)
{
    if (refusal)
        *refusal = COUNTER_ACCEPTED;
    if (request->counted_minor < 0)
        return TOPUP_E_AMOUNT_NEGATIVE;
    action a = {.name = "shift.close", .actor = &request->actor};
    shift_close_context context = {.request = request, .report = report};
    return run(st, &a, shift_close_step, &context, now, refusal);
}

/* ---- reports ---- */

/* Adds up the per-tender lines: every taken order has exactly one tender. */
static topup_result sum_tenders(counter_shift_report *report)
{
    topup_result r = TOPUP_OK;
    for (size_t i = 0; r == TOPUP_OK && i < report->tender_count; i++) {
        r = money_add(report->taken_minor, report->tenders[i].amount_minor, &report->taken_minor);
        if (r == TOPUP_OK)
            r = money_add(report->reversed_minor, report->tenders[i].reversed_minor,
                          &report->reversed_minor);
    }
    return r;
}

topup_result counter_shift_report_get(store *st, int64_t shift_id, counter_shift_report *report)
{
    memset(report, 0, sizeof *report);
    topup_result r = store_shift_get(st, shift_id, &report->shift);
    if (r != TOPUP_OK ||
        (r = store_shift_totals(st, shift_id, SHIFT_TOTAL_BY_TENDER, report->tenders,
                                COUNTER_REPORT_TENDERS_MAX, &report->tender_count)) != TOPUP_OK ||
        (r = store_shift_totals(st, shift_id, SHIFT_TOTAL_BY_OPERATOR, report->operators,
                                COUNTER_REPORT_OPERATORS_MAX, &report->operator_count)) !=
            TOPUP_OK ||
        (r = sum_tenders(report)) != TOPUP_OK)
        return r;
    /* A closed drawer was emptied into the safe; an open one holds what the ledger says. */
    if (strcmp(report->shift.status, "open") == 0)
        return drawer_cash(st, &report->shift, &report->drawer_cash_minor);
    return TOPUP_OK;
}

typedef struct report_view_context {
    int64_t shift_id;
    counter_shift_report *report; /* OUT */
} report_view_context;

static topup_result report_view_step(store *st, action *a, const void *context, int64_t now)
{
    const report_view_context *c = context;
    topup_result r = counter_shift_report_get(st, c->shift_id, c->report);
    if (r != TOPUP_OK)
        return r;
    const shift_row *shift = &c->report->shift;
    memcpy(a->hall_id, shift->hall_id, sizeof a->hall_id);
    snprintf(a->subject, sizeof a->subject, "shift:%lld", (long long)shift->id);
    staff_row actor;
    if (a->actor->staff_id[0] &&
        ((r = load_actor(st, a, false, &actor)) != TOPUP_OK ||
         (r = require_oversight(a, &actor, shift->hall_id, shift->staff_id, true)) != TOPUP_OK))
        return r;
    return counter_audit_append(st, now, a->actor, shift->hall_id, a->name, a->subject,
                                "shift of %s, %s", shift->staff_id, shift->status);
}

topup_result counter_shift_report_view(store *st, int64_t shift_id, const counter_actor *actor,
                                       int64_t now, counter_shift_report *report,
                                       counter_refusal *refusal)
{
    action a = {.name = "shift.report", .actor = actor};
    report_view_context context = {.shift_id = shift_id, .report = report};
    return run(st, &a, report_view_step, &context, now, refusal);
}
