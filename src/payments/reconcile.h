/* Reconciliation: a provider's trade bill (bill.h) against topup's payments and refunds.
 *
 * Every bill line is matched by out_trade_no (payments) or by out_request_no of its order's
 * refund (refunds), and every payment topup recorded as paid, and every refund it recorded as
 * succeeded, within the period with that provider must be in the bill. Each line and each topup
 * record lands in exactly one category:
 *
 *   matched              the same payment or refund on both sides, same amount and currency
 *   missing_in_topup     in the bill, but topup has no such payment or refund (money topup has
 *                        not accounted for: a trade made outside topup, or lost)
 *   missing_at_provider  paid or refunded in topup within the period, but not in the bill
 *   amount_mismatch      on both sides, but the amounts or currencies differ
 *   status_mismatch      on both sides, but topup does not hold it as paid (payments) or
 *                        succeeded (refunds), or holds it under another provider: the money
 *                        moved and topup does not yet know it
 *
 * The clearing-account difference is the provider's net (bill payments - bill refunds) minus
 * topup's net for the same period (paid_minor of payments paid - refunds succeeded); 0 means the
 * clearing account agrees. Fees are reported beside it, not in it. Only reads the store. */
#ifndef TOPUP_RECONCILE_H
#define TOPUP_RECONCILE_H

#include <jansson.h>
#include <stdio.h>

#include "payments/bill.h"
#include "store/store.h"

typedef enum reconcile_category {
    RECONCILE_MATCHED,
    RECONCILE_MISSING_IN_TOPUP,
    RECONCILE_MISSING_AT_PROVIDER,
    RECONCILE_AMOUNT_MISMATCH,
    RECONCILE_STATUS_MISMATCH,
    RECONCILE_CATEGORY_COUNT
} reconcile_category;

/* One exception: a bill line or a topup record that did not match. */
typedef struct reconcile_item {
    reconcile_category category;
    bill_line_kind kind;                    /* payment or refund */
    unsigned line_number;                   /* in the bill; 0 for missing_at_provider */
    char out_trade_no[PAYMENT_TEXT_SIZE];   /* the order's (a refund's too) */
    char out_request_no[PAYMENT_TEXT_SIZE]; /* refunds; "" for payments */
    char trade_no[PAYMENT_TEXT_SIZE];       /* the provider's, from the bill or topup; may be "" */
    bool in_bill;                           /* bill_amount_minor is set */
    int64_t bill_amount_minor;              /* > 0, in the bill's currency */
    bool in_topup;                          /* topup_* are set */
    int64_t topup_amount_minor;             /* paid_minor, or the refund's amount */
    char topup_currency[CURRENCY_CODE_SIZE];
    char topup_status[PAYMENT_STATUS_SIZE];
    int64_t at;       /* the bill line's time, or topup's paid_at / refund's updated_at */
    char detail[192]; /* what differs, one sentence */
} reconcile_item;

/* Count and sums of one category (bill amounts where the bill has the line, else topup's). */
typedef struct reconcile_category_total {
    size_t count;
    int64_t payments_minor;
    int64_t refunds_minor;
} reconcile_category_total;

typedef struct reconcile_report {
    bill_provider provider;
    char currency[CURRENCY_CODE_SIZE]; /* the bill's */
    int64_t period_from;               /* unix seconds, inclusive */
    int64_t period_to;                 /* exclusive */
    bill_totals bill;                  /* the bill's sums */
    size_t topup_payment_count;        /* paid within the period, in the bill's currency */
    int64_t topup_payments_minor;      /* their paid_minor */
    size_t topup_refund_count;         /* succeeded within the period */
    int64_t topup_refunds_minor;
    int64_t clearing_difference_minor; /* (bill payments - refunds) - (topup payments - refunds) */
    reconcile_category_total categories[RECONCILE_CATEGORY_COUNT];
    reconcile_item *items; /* the exceptions, bill lines in file order, then topup's records */
    size_t item_count;
    size_t item_capacity;
} reconcile_report;

/* Reconciles b against the store for [period_from, period_to). Fills *report (the caller frees
 * it with reconcile_report_release). TOPUP_E_STORAGE when the store failed (store_errmsg says
 * why), TOPUP_E_NOMEM, TOPUP_E_AMOUNT_OVERFLOW when a sum does not fit in 64 bits. */
topup_result reconcile_run(store *st, const bill *b, int64_t period_from, int64_t period_to,
                           reconcile_report *report /* OUT */);

void reconcile_report_release(reconcile_report *report);

/* Whether the report is clean: no exception and a zero clearing difference. */
bool reconcile_report_clean(const reconcile_report *report);

/* "matched", "missing_in_topup", ... */
const char *reconcile_category_name(reconcile_category category);

/* The report as one JSON object (see docs/payments.md); NULL when out of memory. The caller
 * owns the reference. */
json_t *reconcile_report_json(const reconcile_report *report);

/* The report for people: counts and sums per category, both nets and the difference, then one
 * line per exception. */
void reconcile_report_print(const reconcile_report *report, const char *bill_path, FILE *out);

#endif
