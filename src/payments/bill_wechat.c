/* WeChat Pay's trade bill (交易账单, bill_type ALL, SUCCESS or REFUND): UTF-8 CSV in four parts,
 *
 *   交易时间,公众账号ID,商户号,…,微信订单号,商户订单号,…,交易状态,…,货币种类,应结订单金额,…
 *   `2026-11-24 10:00:05,`wx…,`1900000001,…,`4200…,`T1001,…,`SUCCESS,…,`CNY,`100.00,…
 *   总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
 *   `3,`300.00,`10.00,`0.00,`1.80,`300.00,`10.00
 *
 * Every data field starts with '`' (so that spreadsheets keep long numbers as text); it is
 * required and removed. Which columns there are depends on the bill type, so they are found by
 * name. The summary line must agree with the detail lines: a download cut short anywhere but
 * exactly before the summary header is refused, and one cut there has no summary at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payments/bill_int.h"

#define BYTE_ORDER_MARK       "\xEF\xBB\xBF"
#define SUMMARY_HEADER_FIRST  "总交易单数"
#define WECHAT_STATUS_PAYMENT "SUCCESS"
#define WECHAT_STATUS_REFUND  "REFUND"

enum column {
    COL_TIME,
    COL_TRADE_NO,
    COL_OUT_TRADE_NO,
    COL_STATUS,
    COL_CURRENCY,
    COL_SETTLEMENT, /* 应结订单金额: the order less vouchers WeChat Pay does not fund */
    COL_ORDER,      /* 订单金额: what the order was for (newer bills) */
    COL_REQUEST_NO,
    COL_REFUND,
    COL_VOUCHER_REFUND,
    COL_FEE,
    COL_REFUND_APPLIED,
    COL_REFUND_ASKED_AT,
    COL_REFUND_DONE_AT,
    COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    [COL_TIME] = "交易时间",
    [COL_TRADE_NO] = "微信订单号",
    [COL_OUT_TRADE_NO] = "商户订单号",
    [COL_STATUS] = "交易状态",
    [COL_CURRENCY] = "货币种类",
    [COL_SETTLEMENT] = "应结订单金额",
    [COL_ORDER] = "订单金额",
    [COL_REQUEST_NO] = "商户退款单号",
    [COL_REFUND] = "退款金额",
    [COL_VOUCHER_REFUND] = "充值券退款金额",
    [COL_FEE] = "手续费",
    [COL_REFUND_APPLIED] = "申请退款金额",
    [COL_REFUND_ASKED_AT] = "退款申请时间",
    [COL_REFUND_DONE_AT] = "退款成功时间",
};

static const enum column required_columns[] = {COL_TIME,   COL_TRADE_NO, COL_OUT_TRADE_NO,
                                               COL_STATUS, COL_CURRENCY, COL_SETTLEMENT};

/* Which detail column each summary total adds up, and over which lines. */
typedef struct summary_total {
    const char *name;
    enum column column;
    bool payments_may_be_enough; /* see summary_total_check */
} summary_total;

static const summary_total summary_totals[] = {
    {"应结订单总金额", COL_SETTLEMENT, true}, {"订单总金额", COL_ORDER, true},
    {"退款总金额", COL_REFUND, false},        {"充值券退款总金额", COL_VOUCHER_REFUND, false},
    {"手续费总金额", COL_FEE, false},         {"申请退款总金额", COL_REFUND_APPLIED, false},
};
#define SUMMARY_TOTAL_COUNT (sizeof summary_totals / sizeof summary_totals[0])

typedef enum section {
    SECTION_HEADER,  /* before the column header */
    SECTION_DETAIL,  /* detail lines, until the summary header */
    SECTION_SUMMARY, /* the summary line is next */
    SECTION_DONE,    /* after the summary line: only blank lines may follow */
} section;

typedef struct wechat_parse {
    bill *b;
    bill_error *error;
    section section;
    int column[COL_COUNT];
    size_t column_count;
    char *summary_header[BILL_FIELD_COUNT_MAX];
    size_t summary_column_count;
    int64_t column_sum[COL_COUNT];         /* every detail line's amount, per column */
    int64_t column_payment_sum[COL_COUNT]; /* payments only */
    bool has_day;
    int64_t day_from; /* the natural day (UTC+8) of the first payment */
    unsigned day_line;
} wechat_parse;

static topup_result header_parse(wechat_parse *p, char *line, unsigned line_number)
{
    char *fields[BILL_FIELD_COUNT_MAX];
    size_t count = bill_fields_split(line, fields);
    if (count > BILL_FIELD_COUNT_MAX)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the header has more than %d columns.", BILL_FIELD_COUNT_MAX);
    for (size_t c = 0; c < COL_COUNT; c++)
        p->column[c] = bill_column_find(fields, count, column_names[c]);
    for (size_t i = 0; i < sizeof required_columns / sizeof required_columns[0]; i++)
        if (p->column[required_columns[i]] < 0)
            return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                             "the header has no column '%s': this is not a WeChat Pay trade "
                             "bill.",
                             column_names[required_columns[i]]);
    p->column_count = count;
    p->section = SECTION_DETAIL;
    return TOPUP_OK;
}

/* Splits a data line and takes the '`' off every field. */
static topup_result data_fields_split(wechat_parse *p, char *line, unsigned line_number,
                                      size_t expected, char *fields[BILL_FIELD_COUNT_MAX])
{
    size_t count = bill_fields_split(line, fields);
    if (count != expected)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the line has %s%zu fields where its header has %zu.",
                         count > BILL_FIELD_COUNT_MAX ? "more than " : "",
                         count > BILL_FIELD_COUNT_MAX ? (size_t)BILL_FIELD_COUNT_MAX : count,
                         expected);
    for (size_t i = 0; i < count; i++) {
        if (fields[i][0] != '`')
            return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                             "field %zu ('%.40s') does not start with '`' as every field of a "
                             "WeChat Pay bill's data lines does.",
                             i + 1, fields[i]);
        fields[i]++;
    }
    return TOPUP_OK;
}

static const char *field_of(const wechat_parse *p, char *const *fields, enum column c)
{
    return p->column[c] < 0 ? "" : fields[p->column[c]];
}

/* Adds the line's amount of every amount column to the sums the summary is checked against. */
static topup_result amounts_sum(wechat_parse *p, char *const *fields, bill_line_kind kind,
                                unsigned line_number)
{
    for (size_t t = 0; t < SUMMARY_TOTAL_COUNT; t++) {
        enum column c = summary_totals[t].column;
        if (p->column[c] < 0)
            continue;
        const char *text = fields[p->column[c]];
        int64_t amount;
        topup_result r = bill_amount_parse(text, p->b->currency, &amount);
        if (r != TOPUP_OK)
            return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                             "%s '%.40s' is not an amount in yuan with at most two decimals "
                             "(%s).",
                             column_names[c], text, topup_result_code(r));
        if (money_add(p->column_sum[c], amount, &p->column_sum[c]) != TOPUP_OK ||
            (kind == BILL_PAYMENT &&
             money_add(p->column_payment_sum[c], amount, &p->column_payment_sum[c]) != TOPUP_OK))
            return bill_fail(p->error, TOPUP_E_AMOUNT_OVERFLOW, line_number,
                             "the sum of %s no longer fits in 64 bits.", column_names[c]);
    }
    return TOPUP_OK;
}

static topup_result number_field(wechat_parse *p, char *const *fields, enum column c,
                                 unsigned line_number, const char **value)
{
    if (p->column[c] < 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the line is a refund but the header has no column '%s'.",
                         column_names[c]);
    *value = fields[p->column[c]];
    if (!bill_number_valid(*value))
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%.40s' is not 1-%d printable characters without spaces.",
                         column_names[c], *value, BILL_TEXT_SIZE_MAX);
    return TOPUP_OK;
}

/* The bill's currency is its first line's; every other line must say the same. */
static topup_result currency_check(wechat_parse *p, char *const *fields, unsigned line_number)
{
    const char *currency = field_of(p, fields, COL_CURRENCY);
    if (p->b->line_count == 0) {
        if (!currency_find(currency))
            return bill_fail(p->error, TOPUP_E_CURRENCY_UNKNOWN, line_number,
                             "货币种类 '%.8s' is not a currency topup knows.", currency);
        snprintf(p->b->currency, sizeof p->b->currency, "%s", currency);
    } else if (strcmp(currency, p->b->currency) != 0) {
        return bill_fail(p->error, TOPUP_E_CURRENCY_MISMATCH, line_number,
                         "货币种类 '%.8s' differs from the %s of the lines before it.", currency,
                         p->b->currency);
    }
    return TOPUP_OK;
}

/* The line's time: when it was paid, or for a refund when the refund succeeded (or was asked
 * for) where the bill has those columns. Payments must all fall on one natural day (UTC+8):
 * that day is the bill's period. */
static topup_result time_take(wechat_parse *p, char *const *fields, bill_line *entry)
{
    enum column c = COL_TIME;
    if (entry->kind == BILL_REFUND) {
        if (field_of(p, fields, COL_REFUND_DONE_AT)[0] != '\0')
            c = COL_REFUND_DONE_AT;
        else if (field_of(p, fields, COL_REFUND_ASKED_AT)[0] != '\0')
            c = COL_REFUND_ASKED_AT;
    }
    const char *text = field_of(p, fields, c);
    if (!bill_local_time_parse(text, &entry->at))
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, entry->line_number,
                         "%s '%.40s' is not a time 'YYYY-MM-DD HH:MM:SS'.", column_names[c], text);
    if (entry->kind != BILL_PAYMENT)
        return TOPUP_OK;
    int64_t local = entry->at + BILL_UTC_OFFSET_S;
    int64_t day_from = local - local % 86400 - BILL_UTC_OFFSET_S;
    if (!p->has_day) {
        p->has_day = true;
        p->day_from = day_from;
        p->day_line = entry->line_number;
    } else if (day_from != p->day_from) {
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, entry->line_number,
                         "the payment is on another day than the one on line %u; a WeChat Pay "
                         "trade bill covers one day.",
                         p->day_line);
    }
    return TOPUP_OK;
}

static topup_result detail_parse(wechat_parse *p, char *line, unsigned line_number)
{
    char *fields[BILL_FIELD_COUNT_MAX];
    topup_result r = data_fields_split(p, line, line_number, p->column_count, fields);
    if (r != TOPUP_OK)
        return r;
    bill_line entry = {.line_number = line_number, .out_request_no = ""};
    const char *status = field_of(p, fields, COL_STATUS);
    if (strcmp(status, WECHAT_STATUS_PAYMENT) == 0)
        entry.kind = BILL_PAYMENT;
    else if (strcmp(status, WECHAT_STATUS_REFUND) == 0)
        entry.kind = BILL_REFUND;
    else
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "交易状态 '%.40s' is neither SUCCESS (a payment) nor REFUND (a refund).",
                         status);
    if ((r = currency_check(p, fields, line_number)) != TOPUP_OK ||
        (r = amounts_sum(p, fields, entry.kind, line_number)) != TOPUP_OK ||
        (r = number_field(p, fields, COL_OUT_TRADE_NO, line_number, &entry.out_trade_no)) !=
            TOPUP_OK ||
        (r = number_field(p, fields, COL_TRADE_NO, line_number, &entry.trade_no)) != TOPUP_OK ||
        (entry.kind == BILL_REFUND && (r = number_field(p, fields, COL_REQUEST_NO, line_number,
                                                        &entry.out_request_no)) != TOPUP_OK) ||
        (r = time_take(p, fields, &entry)) != TOPUP_OK)
        return r;
    /* amounts_sum has parsed every amount column of the line already. */
    enum column amount_column = COL_REFUND;
    if (entry.kind == BILL_PAYMENT)
        amount_column = p->column[COL_ORDER] >= 0 ? COL_ORDER : COL_SETTLEMENT;
    if (p->column[amount_column] < 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the line is a refund but the header has no column '%s'.",
                         column_names[amount_column]);
    bill_amount_parse(fields[p->column[amount_column]], p->b->currency, &entry.amount_minor);
    if (p->column[COL_FEE] >= 0)
        bill_amount_parse(fields[p->column[COL_FEE]], p->b->currency, &entry.fee_minor);
    if (entry.amount_minor <= 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%s' must be positive for a %s.", column_names[amount_column],
                         fields[p->column[amount_column]],
                         entry.kind == BILL_PAYMENT ? "payment" : "refund");
    return bill_line_append(p->b, &entry, p->error);
}

static topup_result summary_header_parse(wechat_parse *p, char *line, unsigned line_number)
{
    size_t count = bill_fields_split(line, p->summary_header);
    if (count > BILL_FIELD_COUNT_MAX)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the summary header has more than %d columns.", BILL_FIELD_COUNT_MAX);
    p->summary_column_count = count;
    p->section = SECTION_SUMMARY;
    return TOPUP_OK;
}

/* Parses the summary's line count: plain digits. */
static bool count_parse(const char *text, unsigned long long *count)
{
    size_t digit_count = strspn(text, "0123456789");
    if (digit_count == 0 || digit_count > 9 || text[digit_count] != '\0')
        return false;
    *count = strtoull(text, NULL, 10);
    return true;
}

/* Checks one summary total against the detail lines. The refunded and fee totals add up every
 * line. The order totals add up every line too, but bills differ in what a refund line carries
 * in its order columns (0.00, or the refunded order's amount, which the summary leaves out), so
 * the sum over the payments alone is accepted as well; a line missing from the file still
 * changes both. */
static topup_result summary_total_check(wechat_parse *p, const summary_total *total,
                                        const char *text, unsigned line_number)
{
    if (p->column[total->column] < 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the summary has %s but the detail header has no column '%s'.",
                         total->name, column_names[total->column]);
    int64_t said;
    topup_result r = bill_amount_parse(text, p->b->currency, &said);
    if (r != TOPUP_OK)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%.40s' is not an amount in yuan with at most two decimals (%s).",
                         total->name, text, topup_result_code(r));
    int64_t sum = p->column_sum[total->column];
    if (said == sum ||
        (total->payments_may_be_enough && said == p->column_payment_sum[total->column]))
        return TOPUP_OK;
    char said_text[MONEY_TEXT_SIZE_MAX], sum_text[MONEY_TEXT_SIZE_MAX];
    money_format(said, p->b->currency, said_text, sizeof said_text);
    money_format(sum, p->b->currency, sum_text, sizeof sum_text);
    return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                     "%s is %s but the detail lines add up to %s: the bill is incomplete or "
                     "altered.",
                     total->name, said_text, sum_text);
}

static topup_result summary_parse(wechat_parse *p, char *line, unsigned line_number)
{
    char *fields[BILL_FIELD_COUNT_MAX];
    topup_result r = data_fields_split(p, line, line_number, p->summary_column_count, fields);
    if (r != TOPUP_OK)
        return r;
    bool counted = false;
    for (size_t i = 0; i < p->summary_column_count && r == TOPUP_OK; i++) {
        const char *name = p->summary_header[i];
        if (strcmp(name, SUMMARY_HEADER_FIRST) == 0) {
            unsigned long long said;
            if (!count_parse(fields[i], &said))
                return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                                 "%s '%.40s' is not a count.", name, fields[i]);
            if (said != p->b->line_count)
                return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                                 "%s is %llu but the bill has %zu detail lines: it is "
                                 "incomplete.",
                                 name, said, p->b->line_count);
            counted = true;
            continue;
        }
        /* A total this reader does not know is left alone: newer bills add columns. */
        for (size_t t = 0; t < SUMMARY_TOTAL_COUNT && r == TOPUP_OK; t++)
            if (strcmp(name, summary_totals[t].name) == 0)
                r = summary_total_check(p, &summary_totals[t], fields[i], line_number);
    }
    if (r == TOPUP_OK && !counted)
        r = bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number, "the summary has no %s.",
                      SUMMARY_HEADER_FIRST);
    p->section = SECTION_DONE;
    return r;
}

static topup_result line_parse(wechat_parse *p, char *line, unsigned line_number)
{
    if (line[0] == '\0')
        return TOPUP_OK;
    switch (p->section) {
    case SECTION_HEADER:
        return header_parse(p, line, line_number);
    case SECTION_DETAIL:
        /* The summary header is the one line after the header without '`'. */
        if (strncmp(line, SUMMARY_HEADER_FIRST, strlen(SUMMARY_HEADER_FIRST)) == 0)
            return summary_header_parse(p, line, line_number);
        return detail_parse(p, line, line_number);
    case SECTION_SUMMARY:
        return summary_parse(p, line, line_number);
    case SECTION_DONE:
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "a line after the summary line.");
    }
    return TOPUP_OK;
}

static const char *section_missing(section reached)
{
    switch (reached) {
    case SECTION_HEADER:
        return "the file is empty: it has no header line.";
    case SECTION_DETAIL:
        return "the file ends without the summary header (总交易单数,…): it is truncated.";
    case SECTION_SUMMARY:
        return "the file ends after the summary header, without the summary line: it is "
               "truncated.";
    case SECTION_DONE:
        break;
    }
    return NULL;
}

topup_result bill_parse_wechat_csv(const char *name, const void *data, size_t size, bill **out,
                                   bill_error *error)
{
    *out = NULL;
    /* Converting UTF-8 to UTF-8 checks it: every byte must be part of a valid character. */
    wechat_parse p = {.error = error};
    topup_result r = bill_start(name, data, size, "UTF-8", BILL_WECHAT, &p.b, error);
    if (r != TOPUP_OK)
        return r;
    char *text = p.b->text;
    bill_cursor cursor = {.next = text};
    if (strncmp(text, BYTE_ORDER_MARK, strlen(BYTE_ORDER_MARK)) == 0)
        cursor.next += strlen(BYTE_ORDER_MARK);
    char *line;
    while ((line = bill_cursor_next(&cursor, error, &r)) != NULL) {
        if ((r = line_parse(&p, line, cursor.line_number)) != TOPUP_OK)
            break;
    }
    if (r == TOPUP_OK && p.section != SECTION_DONE)
        r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, cursor.line_number, "%s",
                      section_missing(p.section));
    if (r != TOPUP_OK) {
        bill_free(p.b);
        return r;
    }
    if (p.has_day) {
        p.b->has_period = true;
        p.b->period_from = p.day_from;
        p.b->period_to = p.day_from + 86400;
    }
    *out = p.b;
    return TOPUP_OK;
}
