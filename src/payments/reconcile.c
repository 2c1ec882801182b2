/* Reconciliation of a trade bill against the store (see reconcile.h for the categories) and its
 * report, for people and as JSON. */
#include "payments/reconcile.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* Exceptions kept for the listing. The counts and sums stay complete beyond it; a bill that
 * differs from topup on more lines than this needs its cause found, not a longer list. */
#define RECONCILE_ITEM_COUNT_MAX 100000

#define LOCAL_TIME_SIZE 26 /* "2026-11-24T10:00:05+08:00" and NUL */

static const char *const category_names[RECONCILE_CATEGORY_COUNT] = {
    "matched", "missing_in_topup", "missing_at_provider", "amount_mismatch", "status_mismatch",
};

const char *reconcile_category_name(reconcile_category category)
{
    assert(category < RECONCILE_CATEGORY_COUNT);
    return category_names[category];
}

/* ---- the bill's lines by key ---- */

/* Open addressing over bill lines, keyed by out_trade_no (payments) or out_request_no
 * (refunds): finds a topup record's line, and a line the bill lists twice. */
typedef struct line_set {
    const bill_line **slots;
    size_t capacity; /* a power of two, more than twice the lines */
} line_set;

static const char *line_key(const bill_line *line)
{
    return line->kind == BILL_PAYMENT ? line->out_trade_no : line->out_request_no;
}

static size_t key_hash(const char *key)
{
    size_t hash = 14695981039346656037u; /* FNV-1a */
    for (; *key; key++)
        hash = (hash ^ (unsigned char)*key) * 1099511628211u;
    return hash;
}

static bool line_set_init(line_set *set, size_t line_count)
{
    set->capacity = 16;
    while (set->capacity < line_count * 2 + 1)
        set->capacity *= 2;
    set->slots = calloc(set->capacity, sizeof *set->slots);
    return set->slots != NULL;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t line_set_slot(const line_set *set, const char *key)
{
    size_t mask = set->capacity - 1;
    size_t i = key_hash(key) & mask;
    while (set->slots[i] && strcmp(line_key(set->slots[i]), key) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Adds line; returns the line already there under the same key, or NULL. */
static const bill_line *line_set_add(line_set *set, const bill_line *line)
{
    size_t slot = line_set_slot(set, line_key(line));
    if (set->slots[slot])
        return set->slots[slot];
    set->slots[slot] = line;
    return NULL;
}

static bool line_set_has(const line_set *set, const char *key)
{
    return set->slots[line_set_slot(set, key)] != NULL;
}

/* ---- building the report ---- */

typedef struct reconcile_run_state {
    store *st;
    const bill *b;
    reconcile_report *report;
    const char *provider; /* "alipay" or "wechat", as the store names it */
    line_set payments;    /* the bill's payment lines by out_trade_no */
    line_set refunds;     /* the bill's refund lines by out_request_no */
} reconcile_run_state;

static topup_result category_add(reconcile_report *report, reconcile_category category,
                                 bill_line_kind kind, int64_t amount_minor)
{
    reconcile_category_total *total = &report->categories[category];
    int64_t *sum = kind == BILL_PAYMENT ? &total->payments_minor : &total->refunds_minor;
    total->count++;
    return money_add(*sum, amount_minor, sum);
}

/* Records an exception (or only counts it once RECONCILE_ITEM_COUNT_MAX are listed). */
static topup_result item_add(reconcile_report *report, const reconcile_item *item)
{
    int64_t amount = item->in_bill ? item->bill_amount_minor : item->topup_amount_minor;
    if (category_add(report, item->category, item->kind, amount) != TOPUP_OK)
        return TOPUP_E_AMOUNT_OVERFLOW;
    if (report->item_count == RECONCILE_ITEM_COUNT_MAX)
        return TOPUP_OK;
    if (report->item_count == report->item_capacity) {
        size_t capacity = report->item_capacity ? report->item_capacity * 2 : 64;
        reconcile_item *items = realloc(report->items, capacity * sizeof *items);
        if (!items)
            return TOPUP_E_NOMEM;
        report->items = items;
        report->item_capacity = capacity;
    }
    report->items[report->item_count++] = *item;
    return TOPUP_OK;
}

__attribute__((format(printf, 2, 3))) static void item_detail(reconcile_item *item,
                                                              const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(item->detail, sizeof item->detail, format, arguments);
    va_end(arguments);
}

/* An item for a bill line, before anything of topup is known. */
static reconcile_item item_from_line(const bill_line *line)
{
    reconcile_item item = {
        .kind = line->kind,
        .line_number = line->line_number,
        .in_bill = true,
        .bill_amount_minor = line->amount_minor,
        .at = line->at,
    };
    snprintf(item.out_trade_no, sizeof item.out_trade_no, "%s", line->out_trade_no);
    snprintf(item.out_request_no, sizeof item.out_request_no, "%s", line->out_request_no);
    snprintf(item.trade_no, sizeof item.trade_no, "%s", line->trade_no);
    return item;
}

static void item_topup_set(reconcile_item *item, int64_t amount_minor, const char *currency,
                           const char *status)
{
    item->in_topup = true;
    item->topup_amount_minor = amount_minor;
    snprintf(item->topup_currency, sizeof item->topup_currency, "%s", currency);
    snprintf(item->topup_status, sizeof item->topup_status, "%s", status);
}

/* Compares what both sides say once the record is found and in the right state: the currency,
 * then the amount. expected_minor is a second amount topup holds (the order's price) that the
 * bill must also equal; 0 when there is none. */
static void amounts_compare(reconcile_run_state *state, reconcile_item *item,
                            const char *topup_currency, int64_t expected_minor)
{
    const char *currency = bill_currency(state->b);
    char bill_text[MONEY_TEXT_SIZE_MAX], topup_text[MONEY_TEXT_SIZE_MAX];
    money_format(item->bill_amount_minor, currency, bill_text, sizeof bill_text);
    if (strcmp(topup_currency, currency) != 0) {
        item->category = RECONCILE_AMOUNT_MISMATCH;
        item_detail(item, "topup holds it in %s, the bill in %s.", topup_currency, currency);
    } else if (item->bill_amount_minor != item->topup_amount_minor) {
        item->category = RECONCILE_AMOUNT_MISMATCH;
        money_format(item->topup_amount_minor, currency, topup_text, sizeof topup_text);
        item_detail(item, "the bill says %s, topup recorded %s.", bill_text, topup_text);
    } else if (expected_minor != 0 && item->bill_amount_minor != expected_minor) {
        item->category = RECONCILE_AMOUNT_MISMATCH;
        money_format(expected_minor, currency, topup_text, sizeof topup_text);
        item_detail(item, "%s was paid as topup recorded, but the order's price is %s.", bill_text,
                    topup_text);
    } else {
        item->category = RECONCILE_MATCHED;
    }
}

static topup_result payment_line_match(reconcile_run_state *state, const bill_line *line,
                                       reconcile_item *item)
{
    payment_row payment;
    topup_result r = store_payment_by_out_trade_no(state->st, line->out_trade_no, &payment);
    if (r == TOPUP_E_NOT_FOUND) {
        item->category = RECONCILE_MISSING_IN_TOPUP;
        item_detail(item, "topup has no payment with this out_trade_no.");
        return TOPUP_OK;
    }
    if (r != TOPUP_OK)
        return r;
    item_topup_set(item, payment.paid_minor, payment.currency, payment.status);
    if (strcmp(payment.provider, state->provider) != 0) {
        item->category = RECONCILE_STATUS_MISMATCH;
        item_detail(item, "topup has this out_trade_no as a %s payment.", payment.provider);
    } else if (strcmp(payment.status, "paid") != 0) {
        item->category = RECONCILE_STATUS_MISMATCH;
        item_detail(item, "the provider took the money but topup holds the payment as %s.",
                    payment.status);
    } else {
        amounts_compare(state, item, payment.currency, payment.amount_minor);
    }
    return TOPUP_OK;
}

/* A refund line names its order (out_trade_no) and its refund (out_request_no); topup keeps one
 * refund per payment, found through the payment. */
static topup_result refund_line_match(reconcile_run_state *state, const bill_line *line,
                                      reconcile_item *item)
{
    payment_row payment;
    topup_result r = store_payment_by_out_trade_no(state->st, line->out_trade_no, &payment);
    if (r == TOPUP_E_NOT_FOUND) {
        item->category = RECONCILE_MISSING_IN_TOPUP;
        item_detail(item, "topup has no payment with this out_trade_no, so no refund of it.");
        return TOPUP_OK;
    }
    if (r != TOPUP_OK)
        return r;
    if (strcmp(payment.provider, state->provider) != 0) {
        item->category = RECONCILE_STATUS_MISMATCH;
        item_detail(item, "topup has this out_trade_no as a %s payment.", payment.provider);
        return TOPUP_OK;
    }
    refund_row refund;
    r = store_refund_by_payment(state->st, payment.id, &refund);
    if (r == TOPUP_E_NOT_FOUND ||
        (r == TOPUP_OK && strcmp(refund.out_request_no, line->out_request_no) != 0)) {
        item->category = RECONCILE_MISSING_IN_TOPUP;
        if (r == TOPUP_OK)
            item_detail(item, "topup's refund of this payment is %.64s, not this one.",
                        refund.out_request_no);
        else
            item_detail(item, "topup has no refund of this payment.");
        return TOPUP_OK;
    }
    if (r != TOPUP_OK)
        return r;
    item_topup_set(item, refund.amount_minor, refund.currency, refund.status);
    if (strcmp(refund.status, "succeeded") != 0) {
        item->category = RECONCILE_STATUS_MISMATCH;
        item_detail(item, "the provider refunded but topup holds the refund as %s.", refund.status);
    } else {
        amounts_compare(state, item, refund.currency, 0);
    }
    return TOPUP_OK;
}

static topup_result bill_line_reconcile(reconcile_run_state *state, const bill_line *line)
{
    reconcile_item item = item_from_line(line);
    line_set *set = line->kind == BILL_PAYMENT ? &state->payments : &state->refunds;
    const bill_line *earlier = line_set_add(set, line);
    topup_result r = TOPUP_OK;
    if (earlier) {
        /* One trade listed twice is money topup can account for once only. */
        item.category = RECONCILE_MISSING_IN_TOPUP;
        item_detail(&item, "the bill lists this %s twice (also line %u).",
                    line->kind == BILL_PAYMENT ? "payment" : "refund", earlier->line_number);
    } else if (line->kind == BILL_PAYMENT) {
        r = payment_line_match(state, line, &item);
    } else {
        r = refund_line_match(state, line, &item);
    }
    if (r != TOPUP_OK)
        return r;
    if (item.category == RECONCILE_MATCHED)
        return category_add(state->report, RECONCILE_MATCHED, line->kind, line->amount_minor);
    return item_add(state->report, &item);
}

/* store_payments_paid_between: sums topup's side and lists what the bill lacks. */
static topup_result topup_payment_visit(void *context, const payment_row *payment)
{
    reconcile_run_state *state = context;
    reconcile_report *report = state->report;
    bool same_currency = strcmp(payment->currency, report->currency) == 0;
    if (same_currency) {
        report->topup_payment_count++;
        if (money_add(report->topup_payments_minor, payment->paid_minor,
                      &report->topup_payments_minor) != TOPUP_OK)
            return TOPUP_E_AMOUNT_OVERFLOW;
    }
    if (line_set_has(&state->payments, payment->out_trade_no))
        return TOPUP_OK;
    reconcile_item item = {
        .category = RECONCILE_MISSING_AT_PROVIDER,
        .kind = BILL_PAYMENT,
        .at = payment->paid_at,
    };
    snprintf(item.out_trade_no, sizeof item.out_trade_no, "%s", payment->out_trade_no);
    snprintf(item.trade_no, sizeof item.trade_no, "%s", payment->trade_no);
    item_topup_set(&item, payment->paid_minor, payment->currency, payment->status);
    if (same_currency)
        item_detail(&item, "topup recorded it paid within the period; the bill does not list it.");
    else
        item_detail(&item, "topup recorded it paid in %s, which this %s bill cannot list.",
                    payment->currency, report->currency);
    return item_add(report, &item);
}

/* store_refunds_succeeded_between: the same for refunds. */
static topup_result topup_refund_visit(void *context, const refund_row *refund,
                                       const payment_row *payment)
{
    reconcile_run_state *state = context;
    reconcile_report *report = state->report;
    bool same_currency = strcmp(refund->currency, report->currency) == 0;
    if (same_currency) {
        report->topup_refund_count++;
        if (money_add(report->topup_refunds_minor, refund->amount_minor,
                      &report->topup_refunds_minor) != TOPUP_OK)
            return TOPUP_E_AMOUNT_OVERFLOW;
    }
    if (line_set_has(&state->refunds, refund->out_request_no))
        return TOPUP_OK;
    reconcile_item item = {
        .category = RECONCILE_MISSING_AT_PROVIDER,
        .kind = BILL_REFUND,
        .at = refund->updated_at,
    };
    snprintf(item.out_trade_no, sizeof item.out_trade_no, "%s", payment->out_trade_no);
    snprintf(item.out_request_no, sizeof item.out_request_no, "%s", refund->out_request_no);
    snprintf(item.trade_no, sizeof item.trade_no, "%s", payment->trade_no);
    item_topup_set(&item, refund->amount_minor, refund->currency, refund->status);
    if (same_currency)
        item_detail(&item, "topup recorded it succeeded within the period; the bill does not "
                           "list it.");
    else
        item_detail(&item, "topup recorded it in %s, which this %s bill cannot list.",
                    refund->currency, report->currency);
    return item_add(report, &item);
}

static topup_result clearing_difference(reconcile_report *report)
{
    int64_t bill_net, topup_net;
    if (money_sub(report->bill.payments_minor, report->bill.refunds_minor, &bill_net) ||
        money_sub(report->topup_payments_minor, report->topup_refunds_minor, &topup_net) ||
        money_sub(bill_net, topup_net, &report->clearing_difference_minor))
        return TOPUP_E_AMOUNT_OVERFLOW;
    return TOPUP_OK;
}

topup_result reconcile_run(store *st, const bill *b, int64_t period_from, int64_t period_to,
                           reconcile_report *report)
{
    *report = (reconcile_report){
        .provider = bill_provider_of(b),
        .period_from = period_from,
        .period_to = period_to,
        .bill = *bill_totals_of(b),
    };
    snprintf(report->currency, sizeof report->currency, "%s", bill_currency(b));
    size_t line_count;
    const bill_line *lines = bill_lines(b, &line_count);
    reconcile_run_state state = {
        .st = st,
        .b = b,
        .report = report,
        .provider = bill_provider_name(bill_provider_of(b)),
    };
    topup_result r = TOPUP_OK;
    if (!line_set_init(&state.payments, line_count) || !line_set_init(&state.refunds, line_count))
        r = TOPUP_E_NOMEM;
    for (size_t i = 0; i < line_count && r == TOPUP_OK; i++)
        r = bill_line_reconcile(&state, &lines[i]);
    if (r == TOPUP_OK)
        r = store_payments_paid_between(st, state.provider, period_from, period_to,
                                        topup_payment_visit, &state);
    if (r == TOPUP_OK)
        r = store_refunds_succeeded_between(st, state.provider, period_from, period_to,
                                            topup_refund_visit, &state);
    if (r == TOPUP_OK)
        r = clearing_difference(report);
    free(state.payments.slots);
    free(state.refunds.slots);
    if (r != TOPUP_OK)
        reconcile_report_release(report);
    return r;
}

void reconcile_report_release(reconcile_report *report)
{
    free(report->items);
    report->items = NULL;
    report->item_count = report->item_capacity = 0;
}

bool reconcile_report_clean(const reconcile_report *report)
{
    for (size_t c = 0; c < RECONCILE_CATEGORY_COUNT; c++)
        if (c != RECONCILE_MATCHED && report->categories[c].count != 0)
            return false;
    return report->clearing_difference_minor == 0;
}

/* ---- output ---- */

/* unix seconds as RFC 3339 in UTC+8, the zone the bill's day is cut in. */
static const char *local_time_text(int64_t at, char text[LOCAL_TIME_SIZE])
{
    char utc[RFC3339_SIZE];
    clock_format_rfc3339(at + BILL_UTC_OFFSET_S, utc);
    snprintf(text, LOCAL_TIME_SIZE, "%.19s+08:00", utc);
    return text;
}

static const char *amount_text(int64_t amount_minor, const char *currency,
                               char text[MONEY_TEXT_SIZE_MAX])
{
    if (money_format(amount_minor, currency, text, MONEY_TEXT_SIZE_MAX) != TOPUP_OK)
        snprintf(text, MONEY_TEXT_SIZE_MAX, "?");
    return text;
}

static json_t *json_amount(int64_t amount_minor, const char *currency)
{
    char text[MONEY_TEXT_SIZE_MAX];
    return json_string(amount_text(amount_minor, currency, text));
}

/* A JSON string, or null for "". */
static json_t *json_text_or_null(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

static json_t *item_json(const reconcile_report *report, const reconcile_item *item)
{
    char at[LOCAL_TIME_SIZE];
    json_t *object = json_object();
    if (!object)
        return NULL;
    int failed = 0;
    failed |= json_object_set_new(object, "kind",
                                  json_string(item->kind == BILL_PAYMENT ? "payment" : "refund"));
    failed |= json_object_set_new(
        object, "line", item->line_number ? json_integer(item->line_number) : json_null());
    failed |= json_object_set_new(object, "out_trade_no", json_string(item->out_trade_no));
    if (item->kind == BILL_REFUND)
        failed |= json_object_set_new(object, "out_request_no", json_string(item->out_request_no));
    failed |= json_object_set_new(object, "trade_no", json_text_or_null(item->trade_no));
    failed |= json_object_set_new(
        object, "bill_amount",
        item->in_bill ? json_amount(item->bill_amount_minor, report->currency) : json_null());
    failed |= json_object_set_new(
        object, "topup_amount",
        item->in_topup ? json_amount(item->topup_amount_minor, item->topup_currency) : json_null());
    failed |= json_object_set_new(object, "topup_currency",
                                  item->in_topup ? json_string(item->topup_currency) : json_null());
    failed |= json_object_set_new(object, "topup_status",
                                  item->in_topup ? json_string(item->topup_status) : json_null());
    failed |= json_object_set_new(
        object, "at", item->at ? json_string(local_time_text(item->at, at)) : json_null());
    failed |= json_object_set_new(object, "detail", json_string(item->detail));
    if (failed) {
        json_decref(object);
        return NULL;
    }
    return object;
}

static json_t *totals_json(const reconcile_report *report)
{
    const char *currency = report->currency;
    int64_t bill_net = report->bill.payments_minor - report->bill.refunds_minor;
    int64_t topup_net = report->topup_payments_minor - report->topup_refunds_minor;
    json_t *categories = json_object();
    for (size_t c = 0; categories && c < RECONCILE_CATEGORY_COUNT; c++) {
        const reconcile_category_total *total = &report->categories[c];
        json_t *entry = json_pack("{s:I,s:o,s:o}", "count", (json_int_t)total->count, "payments",
                                  json_amount(total->payments_minor, currency), "refunds",
                                  json_amount(total->refunds_minor, currency));
        if (json_object_set_new(categories, category_names[c], entry) != 0) {
            json_decref(categories);
            categories = NULL; /* json_pack below then fails: out of memory */
        }
    }
    return json_pack("{s:{s:o,s:I,s:o,s:I,s:o,s:o},s:{s:o,s:I,s:o,s:I,s:o},s:o}", "bill",
                     "payments", json_amount(report->bill.payments_minor, currency),
                     "payment_count", (json_int_t)report->bill.payment_count, "refunds",
                     json_amount(report->bill.refunds_minor, currency), "refund_count",
                     (json_int_t)report->bill.refund_count, "net", json_amount(bill_net, currency),
                     "fees", json_amount(report->bill.fees_minor, currency), "topup", "payments",
                     json_amount(report->topup_payments_minor, currency), "payment_count",
                     (json_int_t)report->topup_payment_count, "refunds",
                     json_amount(report->topup_refunds_minor, currency), "refund_count",
                     (json_int_t)report->topup_refund_count, "net",
                     json_amount(topup_net, currency), "categories", categories);
}

/* The number of exceptions, listed or not. */
static size_t exception_count_of(const reconcile_report *report)
{
    size_t count = 0;
    for (size_t c = RECONCILE_MATCHED + 1; c < RECONCILE_CATEGORY_COUNT; c++)
        count += report->categories[c].count;
    return count;
}

/* Appends each exception to its category's array in root. false when out of memory. */
static bool items_json_add(json_t *root, const reconcile_report *report)
{
    for (size_t c = RECONCILE_MATCHED + 1; c < RECONCILE_CATEGORY_COUNT; c++)
        if (json_object_set_new(root, category_names[c], json_array()) != 0)
            return false;
    for (size_t i = 0; i < report->item_count; i++) {
        const reconcile_item *item = &report->items[i];
        json_t *list = json_object_get(root, category_names[item->category]);
        if (json_array_append_new(list, item_json(report, item)) != 0)
            return false;
    }
    return true;
}

json_t *reconcile_report_json(const reconcile_report *report)
{
    char from[LOCAL_TIME_SIZE], to[LOCAL_TIME_SIZE];
    json_t *root =
        json_pack("{s:s,s:{s:s,s:s},s:s,s:I}", "provider", bill_provider_name(report->provider),
                  "period", "from", local_time_text(report->period_from, from), "to",
                  local_time_text(report->period_to, to), "currency", report->currency, "matched",
                  (json_int_t)report->categories[RECONCILE_MATCHED].count);
    /* Keys in reading order: the exceptions, then the sums and the difference. */
    if (!root || !items_json_add(root, report) ||
        json_object_set_new(root, "totals", totals_json(report)) != 0 ||
        json_object_set_new(root, "clearing_difference",
                            json_amount(report->clearing_difference_minor, report->currency)) !=
            0 ||
        json_object_set_new(
            root, "unlisted",
            json_integer((json_int_t)(exception_count_of(report) - report->item_count))) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void item_print(const reconcile_report *report, const reconcile_item *item, FILE *out)
{
    char amount[MONEY_TEXT_SIZE_MAX];
    fprintf(out, "  %-20s %-7s ", category_names[item->category],
            item->kind == BILL_PAYMENT ? "payment" : "refund");
    if (item->line_number)
        fprintf(out, "line %-6u ", item->line_number);
    else
        fprintf(out, "%-11s ", "(topup)");
    fprintf(out, "out_trade_no %s", item->out_trade_no);
    if (item->kind == BILL_REFUND)
        fprintf(out, " out_request_no %s", item->out_request_no);
    if (item->in_bill)
        fprintf(out, " bill %s", amount_text(item->bill_amount_minor, report->currency, amount));
    if (item->in_topup)
        fprintf(out, " topup %s %s (%s)", item->topup_currency,
                amount_text(item->topup_amount_minor, item->topup_currency, amount),
                item->topup_status);
    fprintf(out, ": %s\n", item->detail);
}

void reconcile_report_print(const reconcile_report *report, const char *bill_path, FILE *out)
{
    const char *currency = report->currency;
    char from[LOCAL_TIME_SIZE], to[LOCAL_TIME_SIZE];
    char a[MONEY_TEXT_SIZE_MAX], b[MONEY_TEXT_SIZE_MAX], c[MONEY_TEXT_SIZE_MAX],
        d[MONEY_TEXT_SIZE_MAX];
    fprintf(out, "Reconciliation of the %s bill %s\n", bill_provider_name(report->provider),
            bill_path);
    fprintf(out, "Period: %s to %s; amounts in %s\n\n", local_time_text(report->period_from, from),
            local_time_text(report->period_to, to), currency);
    fprintf(out, "  %-20s %8s %16s %16s\n", "category", "count", "payments", "refunds");
    for (size_t i = 0; i < RECONCILE_CATEGORY_COUNT; i++) {
        const reconcile_category_total *total = &report->categories[i];
        fprintf(out, "  %-20s %8zu %16s %16s\n", category_names[i], total->count,
                amount_text(total->payments_minor, currency, a),
                amount_text(total->refunds_minor, currency, b));
    }
    fprintf(out, "\n  bill:  payments %zu, %s; refunds %zu, %s; net %s; fees %s\n",
            report->bill.payment_count, amount_text(report->bill.payments_minor, currency, a),
            report->bill.refund_count, amount_text(report->bill.refunds_minor, currency, b),
            amount_text(report->bill.payments_minor - report->bill.refunds_minor, currency, c),
            amount_text(report->bill.fees_minor, currency, d));
    fprintf(out, "  topup: payments %zu, %s; refunds %zu, %s; net %s\n",
            report->topup_payment_count, amount_text(report->topup_payments_minor, currency, a),
            report->topup_refund_count, amount_text(report->topup_refunds_minor, currency, b),
            amount_text(report->topup_payments_minor - report->topup_refunds_minor, currency, c));
    fprintf(out, "  clearing-account difference (bill net - topup net): %s\n",
            amount_text(report->clearing_difference_minor, currency, a));
    if (reconcile_report_clean(report)) {
        fprintf(out, "\nEverything matched and the clearing account agrees.\n");
        return;
    }
    fprintf(out, "\nExceptions:\n");
    for (size_t i = 0; i < report->item_count; i++)
        item_print(report, &report->items[i], out);
    size_t unlisted_count = exception_count_of(report) - report->item_count;
    if (unlisted_count > 0)
        fprintf(out, "  ... and %zu more not listed.\n", unlisted_count);
}
