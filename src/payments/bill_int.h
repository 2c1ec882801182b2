/* What the bill readers share (bill.c) and the per-provider parsers (bill_alipay.c,
 * bill_wechat.c) use: the bill itself, a line cursor over CSV text, field splitting, and strict
 * amount and time parsing. Not for use outside src/payments/bill*.c. */
#ifndef TOPUP_BILL_INT_H
#define TOPUP_BILL_INT_H

#include "payments/bill.h"

#define BILL_FIELD_COUNT_MAX 64 /* columns of one line; both providers have fewer than 30 */

struct bill {
    bill_provider provider;
    char currency[CURRENCY_CODE_SIZE];
    bool has_period;
    int64_t period_from; /* unix seconds, inclusive */
    int64_t period_to;   /* unix seconds, exclusive */
    char *text;          /* the CSV as UTF-8, split in place; the lines' strings point into it */
    bill_line *lines;
    size_t line_count;
    size_t line_capacity;
    bill_totals totals;
};

/* Walks the lines of a NUL-terminated text, cutting each in place. */
typedef struct bill_cursor {
    char *next;           /* start of the next line; NULL at the end */
    unsigned line_number; /* of the line last returned */
} bill_cursor;

/* Records why the bill is refused; error->where was set by the caller. Returns result. */
topup_result bill_fail(bill_error *error, topup_result result, unsigned line, const char *format,
                       ...) __attribute__((format(printf, 4, 5)));

/* Starts the error for a bill named name (the file, or "zip:member"). */
void bill_error_start(bill_error *error, const char *name);

/* A new empty bill owning text (may be NULL); NULL when out of memory (text is then freed). */
bill *bill_new(bill_provider provider, char *text);

/* Converts size bytes of data from charset to NUL-terminated UTF-8 in *text (the caller frees
 * it), refusing bytes that are not valid in charset with the line they are on. A NUL byte is
 * refused too: it ends C strings and no bill has one. */
topup_result bill_text_to_utf8(const char *charset, const void *data, size_t size,
                               char **text /* OUT */, bill_error *error /* OUT */);

/* The start every parser shares: the error named, the size bounded, the file converted from
 * charset to UTF-8 and a new bill made to own the text. *b is the caller's on TOPUP_OK. */
topup_result bill_start(const char *name, const void *data, size_t size, const char *charset,
                        bill_provider provider, bill **b /* OUT */, bill_error *error /* OUT */);

/* The next line of the cursor's text without its "\n" or "\r\n", cut in place; NULL at the end.
 * Refuses a line longer than BILL_LINE_SIZE_MAX (then *error is set and NULL returned). */
char *bill_cursor_next(bill_cursor *cursor, bill_error *error, topup_result *result /* OUT */);

/* Splits line at commas in place, trimming spaces and tabs around each field. Returns the field
 * count, or BILL_FIELD_COUNT_MAX + 1 when there are more. */
size_t bill_fields_split(char *line, char *fields[BILL_FIELD_COUNT_MAX]);

/* The index of the column called name in header, or -1. */
int bill_column_find(char *const *header, size_t column_count, const char *name);

/* Parses a decimal amount in major units into signed minor units of currency: "12.30", "-0.50",
 * "0", "0.0". Refuses anything else (TOPUP_E_AMOUNT_FORMAT, TOPUP_E_AMOUNT_OVERFLOW). */
topup_result bill_amount_parse(const char *text, const char *currency, int64_t *amount_minor);

/* Parses the providers' local time "YYYY-MM-DD HH:MM:SS" (UTC+8) into unix seconds. */
bool bill_local_time_parse(const char *text, int64_t *at /* OUT */);

/* Checks an order, trade or refund number: 1..BILL_TEXT_SIZE_MAX bytes of printable ASCII
 * without spaces (what the providers allow). */
bool bill_number_valid(const char *text);

/* Appends a line, keeping the totals; refuses more than BILL_LINE_COUNT_MAX lines and a total
 * that overflows. */
topup_result bill_line_append(bill *b, const bill_line *line, bill_error *error);

#endif
