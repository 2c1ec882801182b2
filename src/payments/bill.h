/* The payment providers' daily trade bills, read for reconciliation (reconcile.h).
 *
 *   Alipay      a .zip of GBK CSV files; the one read is the business detail file (its name
 *               holds "业务明细" and not "汇总"): '#' comment lines around a header line and one
 *               line per payment (业务类型 交易) or refund (业务类型 退款, 订单金额 negative).
 *   WeChat Pay  a UTF-8 CSV (a byte order mark is allowed): a header line, one line per payment
 *               (交易状态 SUCCESS) or refund (REFUND) with every field prefixed by '`', then a
 *               summary header line and one summary line the detail lines must add up to.
 *
 * A bill comes from outside (downloaded, then handed to the command line), so it is untrusted:
 * its size, line length, field count and line count are bounded, columns are found by their
 * header name, never by position, and every amount is parsed exactly into minor units. One
 * malformed line refuses the whole bill, with the file, the line and what was wrong: nothing is
 * reconciled from a bill that may be truncated or misread. */
#ifndef TOPUP_BILL_H
#define TOPUP_BILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"
#include "core/result.h"

#define BILL_FILE_SIZE_MAX  (256u * 1024 * 1024) /* a bill file, and the CSV inside a zip */
#define BILL_LINE_SIZE_MAX  4096                 /* bytes of one line; real lines are under 1 KiB */
#define BILL_LINE_COUNT_MAX 1000000              /* detail lines; far above a day of one merchant */
#define BILL_TEXT_SIZE_MAX  128 /* an order, trade or refund number (PAYMENT_TEXT_SIZE-1) */
#define BILL_WHERE_SIZE     512 /* "FILE" or "ZIP:MEMBER" in an error */
#define BILL_MESSAGE_SIZE   256

/* The bill's day is a natural day in China Standard Time; both providers cut at 00:00 there. */
#define BILL_UTC_OFFSET_S (8 * 3600)

typedef struct bill bill;

typedef enum bill_provider {
    BILL_ALIPAY,
    BILL_WECHAT,
} bill_provider;

typedef enum bill_line_kind {
    BILL_PAYMENT, /* money the payer paid in */
    BILL_REFUND,  /* money given back to the payer */
} bill_line_kind;

/* One detail line. Strings point into the bill and live as long as it. */
typedef struct bill_line {
    bill_line_kind kind;
    unsigned line_number;       /* 1-based line of the CSV file, for messages */
    const char *out_trade_no;   /* the merchant's order number: topup's out_trade_no */
    const char *trade_no;       /* the provider's trade number; may be "" */
    const char *out_request_no; /* refunds: the merchant's refund number; "" for payments */
    int64_t amount_minor;       /* > 0: what was paid, or what was refunded */
    int64_t fee_minor;          /* the bill's fee column as it writes it (0 when absent) */
    int64_t at;                 /* unix seconds (UTC) of the line's completion time */
} bill_line;

/* Why a bill was refused. */
typedef struct bill_error {
    topup_result result;         /* TOPUP_E_IO (cannot read), TOPUP_E_INVALID_ARGUMENT, ... */
    char where[BILL_WHERE_SIZE]; /* the file, and for a zip the member: "a.zip:x_业务明细.csv" */
    unsigned line;               /* 1-based line the problem is on; 0 when about the file */
    char message[BILL_MESSAGE_SIZE]; /* what was wrong, one sentence */
} bill_error;

/* Reads an Alipay trade bill zip from path. On success *out is the caller's (bill_free); on
 * failure *out is NULL and error says why. */
topup_result bill_read_alipay(const char *path, bill **out /* OUT */, bill_error *error /* OUT */);

/* Reads a WeChat Pay trade bill CSV from path; as bill_read_alipay. */
topup_result bill_read_wechat(const char *path, bill **out /* OUT */, bill_error *error /* OUT */);

/* The same from memory. name is used in messages. The bill copies what it keeps. */
topup_result bill_parse_alipay_zip(const char *name, const void *data, size_t size,
                                   bill **out /* OUT */, bill_error *error /* OUT */);
/* The business detail CSV itself, GBK-encoded. */
topup_result bill_parse_alipay_csv(const char *name, const void *data, size_t size,
                                   bill **out /* OUT */, bill_error *error /* OUT */);
topup_result bill_parse_wechat_csv(const char *name, const void *data, size_t size,
                                   bill **out /* OUT */, bill_error *error /* OUT */);

void bill_free(bill *b);

bill_provider bill_provider_of(const bill *b);

/* "alipay" or "wechat": the name the command line and the store use for the provider. */
const char *bill_provider_name(bill_provider provider);

/* The detail lines in file order. */
const bill_line *bill_lines(const bill *b, size_t *line_count /* OUT */);

/* The currency of every amount in the bill (Alipay bills are CNY; WeChat Pay's say it). */
const char *bill_currency(const bill *b);

/* The period the bill says it covers, [*from, *to) in unix seconds: Alipay's header dates, or
 * for WeChat Pay the natural day (UTC+8) of its payments. false when the bill does not say (a
 * WeChat Pay bill without payments). */
bool bill_period(const bill *b, int64_t *from /* OUT */, int64_t *to /* OUT */);

/* Sums of the detail lines: count and amount of payments and of refunds, and of the fees. */
typedef struct bill_totals {
    size_t payment_count;
    int64_t payments_minor;
    size_t refund_count;
    int64_t refunds_minor;
    int64_t fees_minor; /* as the bill writes its fee column */
} bill_totals;

const bill_totals *bill_totals_of(const bill *b);

/* Parses "YYYY-MM-DD" as the natural day in UTC+8 the providers' bills cut at: [*from, *to).
 * false for anything else. */
bool bill_day_parse(const char *text, int64_t *from /* OUT */, int64_t *to /* OUT */);

#endif
