/* The counter channel's foundation: business halls, their staff and roles, the append-only
 * audit log, and tellers' shifts with their cash drawers on the ledger. The web counter and the
 * command line both act through these functions.
 *
 * Every function that changes something is a writer step: it runs inside the caller's open
 * transaction, keeps its effects in its own savepoint (a refusal leaves nothing of the action
 * behind) and writes the action's audit entry in that same savepoint, so an action and its
 * record commit together or not at all. A refusal by rule (who may do what, the shift's state)
 * is itself recorded as "<action>.refused", after the action's effects were rolled back.
 *
 * The ledger (a balance is credits - debits, so money held shows as a negative balance, like a
 * payment provider's clearing account):
 *   safe:HALL          (kind safe)            the hall's safe
 *   drawer:HALL:STAFF  (kind drawer)          a teller's cash drawer at that hall; it is the
 *                                             funding account of the teller's cash recharges
 *   cash_over_short    (kind cash_over_short) cash found over (credited) or short (debited)
 * Transfers (kind):
 *   drawer_float   opening: the counted float leaves the safe for the drawer (debit drawer,
 *                  credit safe)
 *   cash_over      closing, more cash than expected: debit drawer, credit cash_over_short
 *   cash_short     closing, less cash than expected: debit cash_over_short, credit drawer
 *   drawer_return  closing: the counted cash goes back to the safe (debit safe, credit drawer)
 * so a closed shift's drawer balance is zero. */
#ifndef TOPUP_COUNTER_H
#define TOPUP_COUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define COUNTER_SAFE_KIND          "safe"
#define COUNTER_DRAWER_KIND        "drawer"
#define COUNTER_OVER_SHORT_ACCOUNT "cash_over_short" /* its code and its kind */
#define COUNTER_KIND_FLOAT         "drawer_float"
#define COUNTER_KIND_OVER          "cash_over"
#define COUNTER_KIND_SHORT         "cash_short"
#define COUNTER_KIND_RETURN        "drawer_return"

#define COUNTER_REPORT_TENDERS_MAX   8  /* cash, card, alipay_code, and room for more */
#define COUNTER_REPORT_OPERATORS_MAX 64 /* operators one hall sells; more are left out */

/* Why an action was refused by rule. The code is stable and machine-readable. */
typedef enum counter_refusal {
    COUNTER_ACCEPTED = 0,
    COUNTER_STAFF_UNKNOWN,      /* no staff member has the acting login name */
    COUNTER_STAFF_DISABLED,     /* the staff member is disabled */
    COUNTER_WRONG_HALL,         /* the staff member does not work at this hall */
    COUNTER_ROLE_REFUSED,       /* the role may not do this */
    COUNTER_SHIFT_ALREADY_OPEN, /* the staff member has an open shift */
    COUNTER_NO_OPEN_SHIFT,      /* the staff member has no open shift */
    COUNTER_REASON_REQUIRED,    /* the cash counted differs from the expected: say why */
    COUNTER_REFUSAL_COUNT
} counter_refusal;

/* "shift_already_open", ...; "accepted" for COUNTER_ACCEPTED. */
const char *counter_refusal_code(counter_refusal refusal);
/* One human sentence. */
const char *counter_refusal_text(counter_refusal refusal);
/* The result a refused call returns (TOPUP_E_NOT_FOUND, TOPUP_E_ALREADY_EXISTS or
 * TOPUP_E_INVALID_ARGUMENT). */
topup_result counter_refusal_result(counter_refusal refusal);

/* Who acts, and from where, for the audit entry. */
typedef struct counter_actor {
    char staff_id[STAFF_ID_SIZE];   /* "" for the command line acting on its own (trusted) */
    char origin[AUDIT_ORIGIN_SIZE]; /* "cli:USER", or the client's address */
} counter_actor;

/* 1-24 of a-z, 0-9, '_' and '-': a hall id appears in account codes. */
bool counter_hall_id_valid(const char *id);
/* 1-32 of a-z, 0-9, '.', '_' and '-': a login name, also in account codes. */
bool counter_staff_id_valid(const char *id);
/* teller, supervisor or admin. */
bool counter_role_valid(const char *role);

/* The ledger codes of a hall's safe and of a teller's drawer there. */
void counter_safe_code(const char *hall_id, char code[ACCOUNT_CODE_SIZE] /* OUT */);
void counter_drawer_code(const char *hall_id, const char *staff_id,
                         char code[ACCOUNT_CODE_SIZE] /* OUT */);

/* Appends one audit entry at now by actor, about hall_id ("" or NULL for none) and subject;
 * the detail is formatted like printf and cut to AUDIT_DETAIL_SIZE. In the caller's
 * transaction. */
topup_result counter_audit_append(store *st, int64_t now, const counter_actor *actor,
                                  const char *hall_id, const char *action, const char *subject,
                                  const char *detail_format, ...)
    __attribute__((format(printf, 7, 8)));

/* Adds a hall (and its safe account). A staff actor must be an active admin
 * (COUNTER_ROLE_REFUSED). TOPUP_E_ALREADY_EXISTS for a taken id. */
topup_result counter_hall_add(store *st, const hall_row *hall, const counter_actor *actor,
                              int64_t now, counter_refusal *refusal /* OUT */);

/* Adds active staff from staff (password_hash already made, created_at ignored: now). A
 * teller or supervisor needs a hall (TOPUP_E_INVALID_ARGUMENT), which must exist
 * (TOPUP_E_NOT_FOUND). A staff actor must be an active admin. TOPUP_E_ALREADY_EXISTS for a
 * taken login name. */
topup_result counter_staff_add(store *st, const staff_row *staff, const counter_actor *actor,
                               int64_t now, counter_refusal *refusal /* OUT */);

/* Disables a staff member: they can no longer open a shift (or, later, log in). An open shift
 * of theirs stays open so its cash can still be counted and closed. A staff actor must be an
 * active admin, or a supervisor of the staff member's hall. */
topup_result counter_staff_disable(store *st, const char *staff_id, const counter_actor *actor,
                                   int64_t now, counter_refusal *refusal /* OUT */);

typedef struct counter_shift_open_request {
    counter_actor actor;        /* the teller or supervisor whose shift and drawer it is */
    char hall_id[HALL_ID_SIZE]; /* where the shift is; "" = the staff member's hall */
    int64_t float_minor;        /* the counted opening float, >= 0, in the hall's currency */
} counter_shift_open_request;

/* Opens the actor's shift: moves the float from the hall's safe into the actor's drawer there.
 * Refused when the actor is unknown or disabled, is an admin, works at another hall, or has a
 * shift open already. TOPUP_E_AMOUNT_NEGATIVE for a negative float. */
topup_result counter_shift_open(store *st, const counter_shift_open_request *request, int64_t now,
                                shift_row *shift /* OUT */, counter_refusal *refusal /* OUT */);

/* A shift report: the shift and its counter orders summed per tender and per operator. */
typedef struct counter_shift_report {
    shift_row shift;
    shift_total_row tenders[COUNTER_REPORT_TENDERS_MAX];
    size_t tender_count;
    shift_total_row operators[COUNTER_REPORT_OPERATORS_MAX];
    size_t operator_count;
    int64_t taken_minor;       /* all tenders' taken amounts */
    int64_t reversed_minor;    /* all tenders' reversed amounts */
    int64_t drawer_cash_minor; /* open shift: the cash the ledger says the drawer holds now */
} counter_shift_report;

typedef struct counter_shift_close_request {
    counter_actor actor;      /* whose open shift closes */
    int64_t counted_minor;    /* the cash counted in the drawer, >= 0 */
    char reason[REASON_SIZE]; /* why it is over or short; required then */
} counter_shift_close_request;

/* Closes the actor's open shift: expected = the cash the drawer holds by the ledger; a
 * difference becomes a cash_over or cash_short transfer with the reason (COUNTER_REASON_REQUIRED
 * without one); the counted cash goes back to the safe, leaving the drawer at zero. A disabled
 * actor may close (the drawer must be counted out). report is the closed shift's. */
topup_result counter_shift_close(store *st, const counter_shift_close_request *request, int64_t now,
                                 counter_shift_report *report /* OUT */,
                                 counter_refusal *refusal /* OUT */);

/* Reads a shift's report (TOPUP_E_NOT_FOUND for an unknown shift). Writes nothing. */
topup_result counter_shift_report_get(store *st, int64_t shift_id,
                                      counter_shift_report *report /* OUT */);

/* Reads a shift's report for actor and records that it was seen. A staff actor must be the
 * shift's owner, a supervisor of its hall or an admin. */
topup_result counter_shift_report_view(store *st, int64_t shift_id, const counter_actor *actor,
                                       int64_t now, counter_shift_report *report /* OUT */,
                                       counter_refusal *refusal /* OUT */);

#endif
