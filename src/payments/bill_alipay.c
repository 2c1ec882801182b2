/* Alipay's trade bill (账单, bill_type "trade"): a zip of GBK CSV files, of which the business
 * detail file (…_业务明细.csv, not …_业务明细(汇总).csv) lists every payment and refund:
 *
 *   #支付宝业务明细查询
 *   #账号：[2088…]
 *   #起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]
 *   #-----------------------------------------业务明细列表----------------------------------------
 *   支付宝交易号,商户订单号,业务类型,…,完成时间,…,订单金额（元）,…,退款批次号/请求号,服务费（元）,…
 *   2026112422001…\t,T1001\t,交易\t,…
 *   #-----------------------------------------业务明细列表结束------------------------------------
 *   #交易合计：3笔，商家实收共300.00元，商家优惠共0.00元
 *   #退款合计：1笔
 *
 * Fields carry trailing tabs (so spreadsheets keep long numbers as text) and are trimmed. A
 * refund line has 业务类型 退款 and a negative 订单金额. The file must reach its end marker and
 * agree with its footer's counts: a bill cut short is refused, not half reconciled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "payments/bill_int.h"

#define DETAIL_NAME_MARK  "业务明细"
#define SUMMARY_NAME_MARK "汇总" /* the per-day summary file beside the detail file */
#define ENTRY_LIST_SIZE   256    /* the entry names quoted in a "no detail file" message */

#define PERIOD_FROM_MARK "起始日期：["
#define PERIOD_TO_MARK   "终止日期：["
#define LIST_END_MARK    "业务明细列表结束"
#define PAYMENTS_MARK    "#交易合计："
#define REFUNDS_MARK     "#退款合计："

/* The columns read, found by their header name (column_names). */
enum column {
    COL_TRADE_NO,
    COL_OUT_TRADE_NO,
    COL_TYPE,
    COL_CREATED,
    COL_FINISHED,
    COL_AMOUNT,
    COL_REQUEST_NO,
    COL_FEE,
    COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    [COL_TRADE_NO] = "支付宝交易号",
    [COL_OUT_TRADE_NO] = "商户订单号",
    [COL_TYPE] = "业务类型",
    [COL_CREATED] = "创建时间",
    [COL_FINISHED] = "完成时间",
    [COL_AMOUNT] = "订单金额（元）",
    [COL_REQUEST_NO] = "退款批次号/请求号",
    [COL_FEE] = "服务费（元）",
};

/* Needed on every line; the others only where they are used. */
static const enum column required_columns[] = {COL_TRADE_NO, COL_OUT_TRADE_NO, COL_TYPE,
                                               COL_FINISHED, COL_AMOUNT};

typedef enum section {
    SECTION_HEAD,   /* '#' lines before the column header */
    SECTION_DETAIL, /* the detail lines */
    SECTION_FOOTER, /* after the end marker */
} section;

typedef struct alipay_parse {
    bill *b;
    bill_error *error;
    section section;
    int column[COL_COUNT]; /* index in the line, or -1 when the header lacks it */
    size_t column_count;   /* of the header */
} alipay_parse;

/* Takes count ASCII digits at p into *value; NULL when they are not there. */
static const char *digits_take(const char *p, int count, unsigned *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (p[i] < '0' || p[i] > '9')
            return NULL;
        *value = *value * 10 + (unsigned)(p[i] - '0');
    }
    return p + count;
}

/* Takes the literal at p; NULL when p does not start with it. */
static const char *literal_take(const char *p, const char *literal)
{
    size_t length = strlen(literal);
    return p && strncmp(p, literal, length) == 0 ? p + length : NULL;
}

/* Parses "2026年11月24日 00:00:00" (UTC+8) at text into unix seconds; *end is past it. Every
 * position is checked: no signs, no spaces inside the numbers. */
static bool header_time_parse(const char *text, int64_t *at, const char **end)
{
    unsigned year, month, day;
    const char *p = digits_take(text, 4, &year);
    p = p ? literal_take(p, "年") : NULL;
    p = p ? digits_take(p, 2, &month) : NULL;
    p = p ? literal_take(p, "月") : NULL;
    p = p ? digits_take(p, 2, &day) : NULL;
    p = p ? literal_take(p, "日 ") : NULL;
    if (!p || strlen(p) < 8)
        return false;
    char local[32];
    snprintf(local, sizeof local, "%04u-%02u-%02u %.8s", year, month, day, p);
    if (!bill_local_time_parse(local, at))
        return false;
    *end = p + 8;
    return true;
}

/* Reads the period from "#起始日期：[…]   终止日期：[…]". An end written as the last second of
 * a day ("23:59:59") is taken as inclusive and moved one second on, so that the period is
 * always half-open. */
static topup_result period_parse(alipay_parse *p, const char *line, unsigned line_number)
{
    const char *from_text = strstr(line, PERIOD_FROM_MARK);
    const char *to_text = strstr(line, PERIOD_TO_MARK);
    int64_t from, to;
    const char *end;
    if (!from_text || !to_text ||
        !header_time_parse(from_text + strlen(PERIOD_FROM_MARK), &from, &end) || *end != ']' ||
        !header_time_parse(to_text + strlen(PERIOD_TO_MARK), &to, &end) || *end != ']')
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the period line is not '#起始日期：[YYYY年MM月DD日 HH:MM:SS]   "
                         "终止日期：[YYYY年MM月DD日 HH:MM:SS]'.");
    if ((to + BILL_UTC_OFFSET_S) % 86400 == 86399)
        to++;
    if (to <= from)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the period ends before it starts.");
    p->b->has_period = true;
    p->b->period_from = from;
    p->b->period_to = to;
    return TOPUP_OK;
}

static topup_result header_parse(alipay_parse *p, char *line, unsigned line_number)
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
                             "the header has no column '%s': this is not the business detail "
                             "of an Alipay trade bill.",
                             column_names[required_columns[i]]);
    p->column_count = count;
    p->section = SECTION_DETAIL;
    return TOPUP_OK;
}

/* The field of column c on a line ("" when the header has no such column). */
static const char *field_of(const alipay_parse *p, char *const *fields, enum column c)
{
    return p->column[c] < 0 ? "" : fields[p->column[c]];
}

static topup_result amount_field(alipay_parse *p, char *const *fields, enum column c,
                                 unsigned line_number, int64_t *amount)
{
    const char *text = field_of(p, fields, c);
    if (p->column[c] < 0 || text[0] == '\0') {
        *amount = 0; /* the fee column: absent or empty is no fee */
        if (c == COL_FEE)
            return TOPUP_OK;
    }
    topup_result r = bill_amount_parse(text, p->b->currency, amount);
    if (r != TOPUP_OK)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%.40s' is not an amount in yuan with at most two decimals (%s).",
                         column_names[c], text, topup_result_code(r));
    return TOPUP_OK;
}

static topup_result number_field(alipay_parse *p, char *const *fields, enum column c,
                                 unsigned line_number, const char **value)
{
    *value = field_of(p, fields, c);
    if (p->column[c] < 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the line is a refund but the header has no column '%s'.",
                         column_names[c]);
    if (!bill_number_valid(*value))
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%.40s' is not 1-%d printable characters without spaces.",
                         column_names[c], *value, BILL_TEXT_SIZE_MAX);
    return TOPUP_OK;
}

/* 完成时间, or 创建时间 when the line has no completion time. */
static topup_result time_field(alipay_parse *p, char *const *fields, unsigned line_number,
                               int64_t *at)
{
    enum column c = COL_FINISHED;
    if (field_of(p, fields, c)[0] == '\0' && p->column[COL_CREATED] >= 0)
        c = COL_CREATED;
    const char *text = field_of(p, fields, c);
    if (!bill_local_time_parse(text, at))
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "%s '%.40s' is not a time 'YYYY-MM-DD HH:MM:SS'.", column_names[c], text);
    return TOPUP_OK;
}

static topup_result detail_parse(alipay_parse *p, char *line, unsigned line_number)
{
    char *fields[BILL_FIELD_COUNT_MAX];
    size_t count = bill_fields_split(line, fields);
    if (count != p->column_count)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the line has %s%zu fields where the header has %zu.",
                         count > BILL_FIELD_COUNT_MAX ? "more than " : "",
                         count > BILL_FIELD_COUNT_MAX ? (size_t)BILL_FIELD_COUNT_MAX : count,
                         p->column_count);
    bill_line entry = {.line_number = line_number, .out_request_no = ""};
    const char *type = field_of(p, fields, COL_TYPE);
    if (strcmp(type, "交易") == 0)
        entry.kind = BILL_PAYMENT;
    else if (strcmp(type, "退款") == 0)
        entry.kind = BILL_REFUND;
    else
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "业务类型 '%.40s' is neither 交易 (a payment) nor 退款 (a refund).", type);
    topup_result r;
    if ((r = number_field(p, fields, COL_OUT_TRADE_NO, line_number, &entry.out_trade_no)) ||
        (r = number_field(p, fields, COL_TRADE_NO, line_number, &entry.trade_no)) ||
        (entry.kind == BILL_REFUND &&
         (r = number_field(p, fields, COL_REQUEST_NO, line_number, &entry.out_request_no))) ||
        (r = amount_field(p, fields, COL_AMOUNT, line_number, &entry.amount_minor)) ||
        (r = amount_field(p, fields, COL_FEE, line_number, &entry.fee_minor)) ||
        (r = time_field(p, fields, line_number, &entry.at)))
        return r;
    /* A refund gives money back: Alipay writes its amount negative. */
    if (entry.kind == BILL_REFUND)
        entry.amount_minor = -entry.amount_minor;
    if (entry.amount_minor <= 0)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "订单金额（元） '%s' must be %s for a %s.",
                         field_of(p, fields, COL_AMOUNT),
                         entry.kind == BILL_PAYMENT ? "positive" : "negative",
                         entry.kind == BILL_PAYMENT ? "payment (交易)" : "refund (退款)");
    return bill_line_append(p->b, &entry, p->error);
}

/* Checks a footer count "#交易合计：N笔…" against the detail lines. */
static topup_result footer_count_check(alipay_parse *p, const char *line, const char *mark,
                                       size_t counted, const char *what, unsigned line_number)
{
    const char *digits = literal_take(line, mark);
    if (!digits)
        return TOPUP_OK;
    size_t digit_count = strspn(digits, "0123456789");
    unsigned long long said = 0;
    if (digit_count == 0 || digit_count > 9 || !literal_take(digits + digit_count, "笔"))
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the footer's count is not 'N笔'.");
    for (size_t i = 0; i < digit_count; i++)
        said = said * 10 + (unsigned)(digits[i] - '0');
    if (said != counted)
        return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                         "the footer counts %llu %s but the detail list has %zu: the bill is "
                         "incomplete.",
                         said, what, counted);
    return TOPUP_OK;
}

static topup_result line_parse(alipay_parse *p, char *line, unsigned line_number)
{
    bool comment = line[0] == '#';
    if (line[0] == '\0')
        return TOPUP_OK;
    switch (p->section) {
    case SECTION_HEAD:
        if (!comment)
            return header_parse(p, line, line_number);
        if (strstr(line, PERIOD_FROM_MARK))
            return period_parse(p, line, line_number);
        return TOPUP_OK;
    case SECTION_DETAIL:
        if (!comment)
            return detail_parse(p, line, line_number);
        if (!strstr(line, LIST_END_MARK))
            return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                             "a '#' line inside the detail list that is not its end marker "
                             "(#…%s…).",
                             LIST_END_MARK);
        p->section = SECTION_FOOTER;
        return TOPUP_OK;
    case SECTION_FOOTER:
        if (!comment)
            return bill_fail(p->error, TOPUP_E_INVALID_ARGUMENT, line_number,
                             "a detail line after the end of the detail list.");
        topup_result r = footer_count_check(p, line, PAYMENTS_MARK, p->b->totals.payment_count,
                                            "payments", line_number);
        if (r == TOPUP_OK)
            r = footer_count_check(p, line, REFUNDS_MARK, p->b->totals.refund_count, "refunds",
                                   line_number);
        return r;
    }
    return TOPUP_OK;
}

topup_result bill_parse_alipay_csv(const char *name, const void *data, size_t size, bill **out,
                                   bill_error *error)
{
    *out = NULL;
    alipay_parse p = {.error = error};
    topup_result r = bill_start(name, data, size, "GBK", BILL_ALIPAY, &p.b, error);
    if (r != TOPUP_OK)
        return r;
    bill_cursor cursor = {.next = p.b->text};
    char *line;
    while ((line = bill_cursor_next(&cursor, error, &r)) != NULL) {
        if ((r = line_parse(&p, line, cursor.line_number)) != TOPUP_OK)
            break;
    }
    if (r == TOPUP_OK && p.section != SECTION_FOOTER)
        r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, cursor.line_number,
                      p.section == SECTION_HEAD
                          ? "the file ends before the column header: it holds no detail list."
                          : "the file ends before the detail list's end marker (#…%s…): it is "
                            "truncated.",
                      LIST_END_MARK);
    if (r != TOPUP_OK) {
        bill_free(p.b);
        return r;
    }
    *out = p.b;
    return TOPUP_OK;
}

/* ---- the zip ---- */

/* An entry name as UTF-8 in name (size BILL_WHERE_SIZE): as stored when it is UTF-8, else
 * decoded from GBK (zips made on Chinese Windows store GBK names without saying so). false when
 * it is neither. */
static bool entry_name_utf8(const char *raw, char *name, size_t name_size)
{
    static const char *const charsets[] = {"UTF-8", "GBK"};
    for (size_t i = 0; i < sizeof charsets / sizeof charsets[0]; i++) {
        bill_error ignored;
        char *text;
        if (bill_text_to_utf8(charsets[i], raw, strlen(raw), &text, &ignored) == TOPUP_OK) {
            snprintf(name, name_size, "%s", text);
            free(text);
            return true;
        }
    }
    return false;
}

static bool is_detail_name(const char *name)
{
    return strstr(name, DETAIL_NAME_MARK) && !strstr(name, SUMMARY_NAME_MARK);
}

/* Finds the one business detail entry; its UTF-8 name in detail_name. */
static topup_result detail_entry_find(zip_t *archive, bill_error *error, zip_uint64_t *index,
                                      char detail_name[BILL_WHERE_SIZE])
{
    zip_int64_t entry_count = zip_get_num_entries(archive, 0);
    char names[ENTRY_LIST_SIZE] = "";
    size_t found = 0;
    for (zip_int64_t i = 0; i < entry_count; i++) {
        const char *raw = zip_get_name(archive, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        char name[BILL_WHERE_SIZE];
        if (!raw || !entry_name_utf8(raw, name, sizeof name))
            continue;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%.120s", used ? ", " : "", name);
        if (!is_detail_name(name) || name[strlen(name) - 1] == '/')
            continue;
        if (found++ == 0) {
            *index = (zip_uint64_t)i;
            snprintf(detail_name, BILL_WHERE_SIZE, "%s", name);
        } else {
            return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                             "it holds two business detail files, %s and %s: which to read is "
                             "not clear.",
                             detail_name, name);
        }
    }
    if (found == 0)
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                         "it holds no business detail file (a name with %s and without %s); it "
                         "holds: %s.",
                         DETAIL_NAME_MARK, SUMMARY_NAME_MARK, names[0] ? names : "nothing");
    return TOPUP_OK;
}

/* Reads the entry whole, refusing more than BILL_FILE_SIZE_MAX bytes whatever its header says
 * (a zip bomb's header lies). libzip checks the CRC as the last bytes are read. */
static topup_result entry_read(zip_t *archive, zip_uint64_t index, bill_error *error, char **data,
                               size_t *size)
{
    zip_file_t *file = zip_fopen_index(archive, index, 0);
    if (!file)
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0, "cannot open it in the zip: %s.",
                         zip_strerror(archive));
    size_t capacity = 64 * 1024, used = 0;
    char *buffer = malloc(capacity);
    topup_result r = TOPUP_OK;
    while (buffer) {
        if (used == capacity) {
            if (capacity > BILL_FILE_SIZE_MAX) {
                r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                              "it unpacks to more than %u bytes.", BILL_FILE_SIZE_MAX);
                break;
            }
            char *bigger = realloc(buffer, capacity * 2);
            if (!bigger)
                break;
            buffer = bigger;
            capacity *= 2;
        }
        zip_int64_t n = zip_fread(file, buffer + used, capacity - used);
        if (n < 0) {
            r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0, "unpacking it failed: %s.",
                          zip_file_strerror(file));
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    zip_fclose(file);
    if (r == TOPUP_OK && !buffer)
        r = bill_fail(error, TOPUP_E_NOMEM, 0, "it does not fit in memory.");
    if (r == TOPUP_OK && used > BILL_FILE_SIZE_MAX)
        r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0, "it unpacks to more than %u bytes.",
                      BILL_FILE_SIZE_MAX);
    if (r != TOPUP_OK) {
        free(buffer);
        return r;
    }
    *data = buffer;
    *size = used;
    return TOPUP_OK;
}

topup_result bill_parse_alipay_zip(const char *name, const void *data, size_t size, bill **out,
                                   bill_error *error)
{
    *out = NULL;
    bill_error_start(error, name);
    zip_error_t zip_error;
    zip_error_init(&zip_error);
    zip_source_t *source = zip_source_buffer_create(data, size, 0, &zip_error);
    zip_t *archive =
        source ? zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &zip_error) : NULL;
    if (!archive) {
        topup_result r = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                                   "it is not a zip archive (%s); Alipay's bill is the .zip it "
                                   "lets you download.",
                                   zip_error_strerror(&zip_error));
        zip_source_free(source);
        zip_error_fini(&zip_error);
        return r;
    }
    zip_error_fini(&zip_error);
    zip_uint64_t index = 0;
    char detail_name[BILL_WHERE_SIZE];
    char *csv = NULL;
    size_t csv_size = 0;
    topup_result r = detail_entry_find(archive, error, &index, detail_name);
    if (r == TOPUP_OK) {
        /* From here on messages name the member: "bill.zip:2088…_业务明细.csv:7: …". */
        char where[BILL_WHERE_SIZE];
        snprintf(where, sizeof where, "%.300s:%.200s", name, detail_name);
        bill_error_start(error, where);
        r = entry_read(archive, index, error, &csv, &csv_size);
    }
    zip_discard(archive); /* also frees the source */
    if (r != TOPUP_OK)
        return r;
    char where[BILL_WHERE_SIZE];
    snprintf(where, sizeof where, "%s", error->where);
    r = bill_parse_alipay_csv(where, csv, csv_size, out, error);
    free(csv);
    return r;
}
