/* Unit tests for src/payments/bill*.c: reading Alipay's and WeChat Pay's trade bills.
 *
 * The bills are built here in the providers' layouts: the Alipay detail CSV is written as UTF-8
 * and encoded to GBK with iconv, then zipped with libzip (as Alipay ships it, beside the
 * summary file, with GBK entry names); the WeChat Pay CSV is written with its backticks, byte
 * order mark and CRLF line ends. Every malformed shape must refuse the whole bill and name the
 * line and what was wrong. */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

#include "payments/bill.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-24 00:00 in UTC+8 is 2026-11-23 16:00 UTC. */
#define DAY_FROM INT64_C(1795449600)
#define DAY_TO   (DAY_FROM + 86400)

/* ---- building text ---- */

typedef struct text {
    char *data;
    size_t size;
} text;

__attribute__((format(printf, 2, 3))) static void text_add(text *t, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(NULL, 0, format, arguments);
    va_end(arguments);
    assert_true(length >= 0);
    t->data = realloc(t->data, t->size + (size_t)length + 1);
    assert_non_null(t->data);
    va_start(arguments, format);
    vsnprintf(t->data + t->size, (size_t)length + 1, format, arguments);
    va_end(arguments);
    t->size += (size_t)length;
}

/* text in GBK (what Alipay writes), via iconv; the caller frees it. */
static char *to_gbk(const char *utf8, size_t size, size_t *gbk_size)
{
    iconv_t converter = iconv_open("GBK", "UTF-8");
    assert_true(converter != (iconv_t)-1);
    size_t capacity = size + 1;
    char *out = malloc(capacity);
    assert_non_null(out);
    char *in = (char *)(uintptr_t)utf8, *next = out;
    size_t in_left = size, out_left = capacity;
    assert_true(iconv(converter, &in, &in_left, &next, &out_left) != (size_t)-1);
    iconv_close(converter);
    *gbk_size = (size_t)(next - out);
    return out;
}

/* ---- Alipay ---- */

#define ALIPAY_HEADER                                                                                                                       \
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号," \
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"        \
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"                  \
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
#define ALIPAY_PERIOD "#起始日期：[2026年11月24日 00:00:00]   终止日期：[2026年11月25日 00:00:00]"
#define ALIPAY_LIST_START                                                                                \
    "#-----------------------------------------业务明细列表--------------------------------------" \
    "--"
#define ALIPAY_LIST_END                                                                                    \
    "#-----------------------------------------业务明细列表结束----------------------------------" \
    "--"

/* One detail line with Alipay's trailing tabs on every field. */
static void alipay_row(text *t, const char *trade_no, const char *out_trade_no, const char *type,
                       const char *finished, const char *amount, const char *request_no,
                       const char *fee)
{
    text_add(t,
             "%s\t,%s\t,%s\t,话费充值\t,%s\t,%s\t,\t,\t,\t,\t,buyer@example.com\t,%s\t,%s\t,0.00\t,"
             "0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,%s\t,%s\t,0.00\t,\t\n",
             trade_no, out_trade_no, type, finished, finished, amount, amount, request_no, fee);
}

/* The good bill: three payments and a refund. Lines: 1-4 comments, 5 header, 6-9 details. */
static text alipay_good_csv(void)
{
    text t = {0};
    text_add(&t, "#支付宝业务明细查询\n#账号：[20880000000000000156]\n%s\n%s\n%s\n", ALIPAY_PERIOD,
             ALIPAY_LIST_START, ALIPAY_HEADER);
    alipay_row(&t, "2026112422001100001", "T1001", "交易", "2026-11-24 10:00:05", "50.00", "",
               "-0.30");
    alipay_row(&t, "2026112422001100002", "T1002", "交易", "2026-11-24 11:30:00", "100.00", "",
               "-0.60");
    alipay_row(&t, "2026112422001100003", "T1003", "交易", "2026-11-24 23:59:59", "0.01", "", "");
    alipay_row(&t, "2026112422001100002", "T1002", "退款", "2026-11-24 15:00:00", "-100.00",
               "R2001", "0.60");
    text_add(&t,
             "%s\n#交易合计：3笔，商家实收共150.01元，商家优惠共0.00元\n"
             "#退款合计：1笔，商家实收共-100.00元，商家优惠共0.00元\n"
             "#导出时间：[2026年11月25日 09:42:37]\n",
             ALIPAY_LIST_END);
    return t;
}

/* Replaces the first occurrence of from (which must be there) by to. */
static void text_replace(text *t, const char *from, const char *to)
{
    char *at = strstr(t->data, from);
    if (!at)
        fail_msg("'%s' is not in the test bill", from);
    size_t offset = (size_t)(at - t->data), from_size = strlen(from), to_size = strlen(to);
    char *data = malloc(t->size - from_size + to_size + 1);
    assert_non_null(data);
    memcpy(data, t->data, offset);
    memcpy(data + offset, to, to_size);
    memcpy(data + offset + to_size, at + from_size, t->size - offset - from_size + 1);
    free(t->data);
    t->data = data;
    t->size = t->size - from_size + to_size;
}

typedef struct zip_member {
    const char *name; /* UTF-8; stored as GBK bytes when gbk_name */
    bool gbk_name;
    const char *data;
    size_t size;
} zip_member;

/* Writes a zip of members to a new temporary file; returns its path (the caller unlinks and
 * frees it). */
static char *zip_write(const zip_member *members, size_t member_count)
{
    char *path = strdup("/tmp/test_bill_XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    int error = 0;
    zip_t *archive = zip_open(path, ZIP_TRUNCATE, &error);
    assert_non_null(archive);
    for (size_t i = 0; i < member_count; i++) {
        char *name = strdup(members[i].name);
        size_t name_size = strlen(name);
        if (members[i].gbk_name) {
            free(name);
            name = to_gbk(members[i].name, strlen(members[i].name), &name_size);
            name = realloc(name, name_size + 1);
            name[name_size] = '\0';
        }
        zip_source_t *source = zip_source_buffer(archive, members[i].data, members[i].size, 0);
        assert_non_null(source);
        /* Without a flag, libzip stores a name that is not UTF-8 as the bytes given, as zips
         * made on Chinese Windows do. */
        assert_true(zip_file_add(archive, name, source, ZIP_FL_ENC_GUESS) >= 0);
        free(name);
    }
    assert_int_equal(zip_close(archive), 0);
    return path;
}

/* Reads a zip holding the GBK form of csv as the detail file, beside the summary file. */
static topup_result alipay_read_csv(const text *csv, bill **out, bill_error *error)
{
    size_t gbk_size;
    char *gbk = to_gbk(csv->data, csv->size, &gbk_size);
    static const char summary[] = "#支付宝业务明细查询(汇总)\n";
    size_t summary_gbk_size;
    char *summary_gbk = to_gbk(summary, strlen(summary), &summary_gbk_size);
    zip_member members[] = {
        {"20880000000000000156_20261124_业务明细(汇总).csv", true, summary_gbk, summary_gbk_size},
        {"20880000000000000156_20261124_业务明细.csv", true, gbk, gbk_size},
    };
    char *path = zip_write(members, ARRAY_COUNT(members));
    topup_result r = bill_read_alipay(path, out, error);
    unlink(path);
    free(path);
    free(gbk);
    free(summary_gbk);
    return r;
}

/* The bill must be refused, naming line (0: the file) and saying because. */
static void assert_refused(topup_result r, bill *b, const bill_error *error, unsigned line,
                           const char *because)
{
    if (r == TOPUP_OK)
        fail_msg("accepted, expected a refusal saying '%s'", because);
    assert_null(b);
    if (error->line != line || !strstr(error->message, because))
        fail_msg("refused at line %u with '%s'; expected line %u saying '%s'", error->line,
                 error->message, line, because);
}

static void assert_line(const bill_line *line, bill_line_kind kind, const char *out_trade_no,
                        const char *trade_no, const char *out_request_no, int64_t amount_minor,
                        int64_t fee_minor, unsigned line_number)
{
    assert_int_equal(line->kind, kind);
    assert_string_equal(line->out_trade_no, out_trade_no);
    assert_string_equal(line->trade_no, trade_no);
    assert_string_equal(line->out_request_no, out_request_no);
    assert_int_equal(line->amount_minor, amount_minor);
    assert_int_equal(line->fee_minor, fee_minor);
    assert_int_equal(line->line_number, line_number);
}

static void alipay_good_bill_reads_every_line(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    bill *b = NULL;
    bill_error error;
    topup_result r = alipay_read_csv(&csv, &b, &error);
    if (r != TOPUP_OK)
        fail_msg("%s:%u: %s", error.where, error.line, error.message);
    assert_int_equal(bill_provider_of(b), BILL_ALIPAY);
    assert_string_equal(bill_currency(b), "CNY");
    size_t count;
    const bill_line *lines = bill_lines(b, &count);
    assert_int_equal(count, 4);
    /* Tabs trimmed, amounts exact in fen, the refund positive with its request number. */
    assert_line(&lines[0], BILL_PAYMENT, "T1001", "2026112422001100001", "", 5000, -30, 6);
    assert_line(&lines[1], BILL_PAYMENT, "T1002", "2026112422001100002", "", 10000, -60, 7);
    assert_line(&lines[2], BILL_PAYMENT, "T1003", "2026112422001100003", "", 1, 0, 8);
    assert_line(&lines[3], BILL_REFUND, "T1002", "2026112422001100002", "R2001", 10000, 60, 9);
    assert_int_equal(lines[0].at, DAY_FROM + 10 * 3600 + 5); /* 10:00:05 UTC+8 */
    int64_t from, to;
    assert_true(bill_period(b, &from, &to));
    assert_int_equal(from, DAY_FROM);
    assert_int_equal(to, DAY_TO);
    const bill_totals *totals = bill_totals_of(b);
    assert_int_equal(totals->payment_count, 3);
    assert_int_equal(totals->payments_minor, 15001);
    assert_int_equal(totals->refund_count, 1);
    assert_int_equal(totals->refunds_minor, 10000);
    assert_int_equal(totals->fees_minor, -30);
    bill_free(b);
    free(csv.data);
}

static void alipay_columns_are_found_by_name(void **state)
{
    (void)state;
    /* The same bill with its amount and order-number columns swapped around. */
    text csv = {0};
    text_add(&csv, "%s\n%s\n", ALIPAY_PERIOD, ALIPAY_LIST_START);
    text_add(&csv, "订单金额（元）,业务类型,完成时间,支付宝交易号,商户订单号\n");
    text_add(&csv, "12.30\t,交易\t,2026-11-24 08:00:00\t,2026112422001199999\t,T2001\t\n");
    text_add(&csv, "%s\n", ALIPAY_LIST_END);
    bill *b = NULL;
    bill_error error;
    topup_result r = alipay_read_csv(&csv, &b, &error);
    if (r != TOPUP_OK)
        fail_msg("%s:%u: %s", error.where, error.line, error.message);
    size_t count;
    const bill_line *lines = bill_lines(b, &count);
    assert_int_equal(count, 1);
    assert_line(&lines[0], BILL_PAYMENT, "T2001", "2026112422001199999", "", 1230, 0, 4);
    bill_free(b);
    free(csv.data);
}

/* Reads the good bill with one change; it must be refused at line saying because. */
static void alipay_refuses_change(const char *from, const char *to, unsigned line,
                                  const char *because)
{
    text csv = alipay_good_csv();
    text_replace(&csv, from, to);
    bill *b = NULL;
    bill_error error;
    topup_result r = alipay_read_csv(&csv, &b, &error);
    assert_refused(r, b, &error, line, because);
    /* Messages name the zip and the member in it. */
    assert_non_null(strstr(error.where, ":20880000000000000156_20261124_业务明细.csv"));
    free(csv.data);
}

static void alipay_bad_amounts_are_refused(void **state)
{
    (void)state;
    alipay_refuses_change("\t,50.00\t,", "\t,50.001\t,", 6, "订单金额（元） '50.001'");
    alipay_refuses_change("\t,50.00\t,", "\t,5O.00\t,", 6, "not an amount");
    alipay_refuses_change("\t,50.00\t,", "\t,1e3\t,", 6, "not an amount");
    alipay_refuses_change("\t,50.00\t,", "\t,\t,", 6, "订单金额（元） ''");
    alipay_refuses_change("\t,50.00\t,", "\t,-50.00\t,", 6, "must be positive");
    alipay_refuses_change("\t,-100.00\t,", "\t,100.00\t,", 9, "must be negative");
    alipay_refuses_change("\t,-0.30\t,", "\t,-0,30\t,", 6, "fields where the header has 25");
    alipay_refuses_change("\t,-0.60\t,", "\t,--0.60\t,", 7, "服务费（元） '--0.60'");
}

static void alipay_malformed_lines_are_refused(void **state)
{
    (void)state;
    alipay_refuses_change("商户订单号,", "商户单号,", 5, "no column '商户订单号'");
    alipay_refuses_change("\t,交易\t,", "\t,转账\t,", 6, "业务类型 '转账'");
    alipay_refuses_change("\t,R2001\t,", "\t,\t,", 9, "退款批次号/请求号 ''");
    alipay_refuses_change("\t,T1002\t,", "\t,T 1002\t,", 7, "商户订单号 'T 1002'");
    alipay_refuses_change("2026-11-24 11:30:00\t,2026-11-24 11:30:00",
                          "2026-11-24 11:30:00\t,2026-11-31 11:30:00", 7,
                          "完成时间 '2026-11-31 11:30:00'");
    alipay_refuses_change("#导出时间", "2026112422001100009\t,T9\t\n#导出时间", 13,
                          "after the end of the detail list");
    alipay_refuses_change("#交易合计：3笔", "#交易合计：4笔", 11,
                          "counts 4 payments but the detail list has 3");
    alipay_refuses_change("#退款合计：1笔", "#退款合计：笔", 12, "not 'N笔'");
    alipay_refuses_change("终止日期：[2026年11月25日", "终止日期：[2026年11月2日", 3,
                          "the period line");
    alipay_refuses_change("终止日期：[2026年11月25日", "终止日期：[2026年11月23日", 3,
                          "ends before it starts");
}

static void alipay_truncated_file_is_refused(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    char *end = strstr(csv.data, ALIPAY_LIST_END);
    *end = '\0'; /* the download stopped after the last detail line */
    csv.size = strlen(csv.data);
    bill *b = NULL;
    bill_error error;
    assert_refused(alipay_read_csv(&csv, &b, &error), b, &error, 9, "truncated");
    free(csv.data);
}

static void alipay_non_gbk_bytes_are_refused(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    size_t gbk_size;
    char *gbk = to_gbk(csv.data, csv.size, &gbk_size);
    /* 0xFF is no GBK lead byte; put it in the middle of line 7. */
    char *line7 = strstr(gbk, "T1002");
    assert_non_null(line7);
    line7[1] = (char)0xFF;
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_alipay_csv("detail.csv", gbk, gbk_size, &b, &error);
    assert_refused(r, b, &error, 7, "byte 0xFF");
    assert_non_null(strstr(error.message, "not valid GBK"));
    assert_string_equal(error.where, "detail.csv");
    /* A file that ends inside a two-byte character. */
    gbk[gbk_size - 1] = (char)0xB0;
    r = bill_parse_alipay_csv("detail.csv", gbk, gbk_size, &b, &error);
    assert_int_not_equal(r, TOPUP_OK);
    free(gbk);
    free(csv.data);
}

static void alipay_zip_without_a_detail_file_is_refused(void **state)
{
    (void)state;
    static const char summary[] = "#汇总\n";
    zip_member members[] = {
        {"20880000000000000156_20261124_业务明细(汇总).csv", true, summary, strlen(summary)},
        {"readme.txt", false, "x", 1},
    };
    char *path = zip_write(members, ARRAY_COUNT(members));
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_read_alipay(path, &b, &error);
    assert_refused(r, b, &error, 0, "no business detail file");
    /* It lists what the zip holds, names decoded from GBK. */
    assert_non_null(strstr(error.message, "业务明细(汇总).csv"));
    assert_non_null(strstr(error.message, "readme.txt"));
    assert_string_equal(error.where, path);
    unlink(path);
    free(path);
}

static void alipay_two_detail_files_are_refused(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    /* UTF-8 names this time: libzip marks them so, and they are read as they are. */
    zip_member members[] = {
        {"a_业务明细.csv", false, csv.data, csv.size},
        {"b_业务明细.csv", false, csv.data, csv.size},
    };
    char *path = zip_write(members, ARRAY_COUNT(members));
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_read_alipay(path, &b, &error);
    assert_refused(r, b, &error, 0, "two business detail files");
    unlink(path);
    free(path);
    free(csv.data);
}

static void alipay_not_a_zip_is_refused(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_alipay_zip("bill.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, 0, "not a zip archive");
    r = bill_read_alipay("/nonexistent/bill.zip", &b, &error);
    assert_refused(r, b, &error, 0, "cannot open");
    assert_int_equal(error.result, TOPUP_E_IO);
    free(csv.data);
}

static void alipay_period_end_on_the_last_second_is_inclusive(void **state)
{
    (void)state;
    text csv = alipay_good_csv();
    text_replace(&csv, "终止日期：[2026年11月25日 00:00:00]",
                 "终止日期：[2026年11月24日 23:59:59]");
    bill *b = NULL;
    bill_error error;
    assert_int_equal(alipay_read_csv(&csv, &b, &error), TOPUP_OK);
    int64_t from, to;
    assert_true(bill_period(b, &from, &to));
    assert_int_equal(from, DAY_FROM);
    assert_int_equal(to, DAY_TO);
    bill_free(b);
    free(csv.data);
}

/* ---- WeChat Pay ---- */

#define WECHAT_HEADER                                                                                                                        \
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"             \
    "交易状态,"                                                                                                                          \
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额," \
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
#define WECHAT_SUMMARY_HEADER                                                                      \
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

static void wechat_row(text *t, const char *time, const char *trade_no, const char *out_trade_no,
                       const char *status, const char *settlement, const char *request_no,
                       const char *refund, const char *fee)
{
    bool is_refund = strcmp(status, "REFUND") == 0;
    text_add(t,
             "`%s,`wx2421b1c4370ec43b,`1900000001,`0,`,`%s,`%s,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,"
             "`NATIVE,`%s,`OTHERS,`CNY,`%s,`0.00,`%s,`%s,`%s,`0.00,`%s,`%s,`话费充值,`,`%s,"
             "`0.60%%,`%s,`%s,`\r\n",
             time, trade_no, out_trade_no, status, settlement,
             is_refund ? "50300000012026112400001" : "0", request_no, refund,
             is_refund ? "ORIGINAL" : "", is_refund ? "SUCCESS" : "", fee, settlement, refund);
}

/* The good bill: three payments and a refund. Line 1 header, 2-5 details, 6-7 summary. */
static text wechat_good_csv(void)
{
    text t = {0};
    text_add(&t, "\xEF\xBB\xBF%s\r\n", WECHAT_HEADER);
    wechat_row(&t, "2026-11-24 10:00:05", "4200000001202611240001", "W1001", "SUCCESS", "50.00",
               "0", "0.00", "0.30");
    wechat_row(&t, "2026-11-24 11:30:00", "4200000001202611240002", "W1002", "SUCCESS", "100.00",
               "0", "0.00", "0.60");
    wechat_row(&t, "2026-11-24 23:59:59", "4200000001202611240003", "W1003", "SUCCESS", "0.01", "0",
               "0.00", "0.00");
    wechat_row(&t, "2026-11-24 15:00:00", "4200000001202611240002", "W1002", "REFUND", "0.00",
               "RW2001", "100.00", "-0.60");
    text_add(&t, "%s\r\n`4,`150.01,`100.00,`0.00,`0.30,`150.01,`100.00\r\n", WECHAT_SUMMARY_HEADER);
    return t;
}

static void wechat_good_bill_reads_every_line(void **state)
{
    (void)state;
    text csv = wechat_good_csv();
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    if (r != TOPUP_OK)
        fail_msg("%s:%u: %s", error.where, error.line, error.message);
    assert_int_equal(bill_provider_of(b), BILL_WECHAT);
    assert_string_equal(bill_currency(b), "CNY");
    size_t count;
    const bill_line *lines = bill_lines(b, &count);
    assert_int_equal(count, 4);
    /* Backticks gone, amounts exact, the refund amount from 退款金额. */
    assert_line(&lines[0], BILL_PAYMENT, "W1001", "4200000001202611240001", "", 5000, 30, 2);
    assert_line(&lines[1], BILL_PAYMENT, "W1002", "4200000001202611240002", "", 10000, 60, 3);
    assert_line(&lines[2], BILL_PAYMENT, "W1003", "4200000001202611240003", "", 1, 0, 4);
    assert_line(&lines[3], BILL_REFUND, "W1002", "4200000001202611240002", "RW2001", 10000, -60, 5);
    assert_int_equal(lines[2].at, DAY_TO - 1);
    int64_t from, to;
    assert_true(bill_period(b, &from, &to)); /* the day of its payments */
    assert_int_equal(from, DAY_FROM);
    assert_int_equal(to, DAY_TO);
    const bill_totals *totals = bill_totals_of(b);
    assert_int_equal(totals->payments_minor, 15001);
    assert_int_equal(totals->refunds_minor, 10000);
    assert_int_equal(totals->fees_minor, 30);
    bill_free(b);
    free(csv.data);
}

static void wechat_columns_are_found_by_name(void **state)
{
    (void)state;
    /* A SUCCESS bill: fewer columns, in another order, no byte order mark, LF line ends. */
    text csv = {0};
    text_add(&csv, "商户订单号,交易状态,交易时间,货币种类,微信订单号,应结订单金额,手续费\n");
    text_add(&csv, "`W3001,`SUCCESS,`2026-11-24 00:00:00,`CNY,`4200000001202611240009,`9.90,"
                   "`0.06\n");
    text_add(&csv, "总交易单数,应结订单总金额,手续费总金额\n`1,`9.90,`0.06\n");
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_wechat_csv("success.csv", csv.data, csv.size, &b, &error);
    if (r != TOPUP_OK)
        fail_msg("%s:%u: %s", error.where, error.line, error.message);
    size_t count;
    const bill_line *lines = bill_lines(b, &count);
    assert_int_equal(count, 1);
    assert_line(&lines[0], BILL_PAYMENT, "W3001", "4200000001202611240009", "", 990, 6, 2);
    assert_int_equal(lines[0].at, DAY_FROM);
    bill_free(b);
    free(csv.data);
}

static void wechat_refuses_change(const char *from, const char *to, unsigned line,
                                  const char *because)
{
    text csv = wechat_good_csv();
    text_replace(&csv, from, to);
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, line, because);
    assert_string_equal(error.where, "wechat.csv");
    free(csv.data);
}

static void wechat_bad_amounts_are_refused(void **state)
{
    (void)state;
    wechat_refuses_change("`50.00,", "`50.0.0,", 2, "应结订单金额 '50.0.0'");
    wechat_refuses_change("`100.00,`0.00,`0,", "`100.005,`0.00,`0,", 3, "应结订单金额 '100.005'");
    wechat_refuses_change("`0.30,", "`0.3O,", 2, "手续费 '0.3O'");
    wechat_refuses_change("`RW2001,`100.00", "`RW2001,`-100.00", 5, "退款金额 '-100.00'");
    wechat_refuses_change("`0.60%,`50.00,", "`0.60%,`0.00,", 2, "订单金额 '0.00' must be positive");
}

static void wechat_malformed_lines_are_refused(void **state)
{
    (void)state;
    wechat_refuses_change("商户订单号,", "商户单号,", 1, "no column '商户订单号'");
    wechat_refuses_change("`W1001,", "W1001,", 2, "does not start with '`'");
    wechat_refuses_change("`SUCCESS,", "`NOTPAY,", 2, "交易状态 'NOTPAY'");
    wechat_refuses_change("`RW2001,", "`,", 5, "商户退款单号 ''");
    wechat_refuses_change("`CNY,`100.00", "`USD,`100.00", 3, "货币种类 'USD' differs");
    wechat_refuses_change("`2026-11-24 11:30:00", "`2026-11-25 11:30:00", 3, "another day");
    wechat_refuses_change("`2026-11-24 11:30:00", "`2026/11/24 11:30:00", 3,
                          "交易时间 '2026/11/24 11:30:00'");
    wechat_refuses_change("`W1003,", "`W1003,`extra,", 4, "28 fields where its header has 27");
    wechat_refuses_change("`150.01,`100.00\r\n", "`150.01,`100.00\r\n`1\r\n", 8,
                          "after the summary");
}

static void wechat_summary_must_agree_with_the_details(void **state)
{
    (void)state;
    /* A detail line lost from the middle: the count disagrees. */
    text csv = wechat_good_csv();
    char *line3 = strstr(csv.data, "`2026-11-24 11:30:00");
    char *line4 = strstr(csv.data, "`2026-11-24 23:59:59");
    memmove(line3, line4, strlen(line4) + 1);
    csv.size = strlen(csv.data);
    bill *b = NULL;
    bill_error error;
    topup_result r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, 6, "总交易单数 is 4 but the bill has 3 detail lines");
    free(csv.data);
    /* The same count but an amount changed: the totals disagree. */
    wechat_refuses_change("`50.00,`0.00,`0,", "`50.01,`0.00,`0,", 7,
                          "应结订单总金额 is 150.01 but the detail lines add up to 150.02");
    wechat_refuses_change("`0.30,`150.01", "`0.31,`150.01", 7, "手续费总金额 is 0.31");
    wechat_refuses_change("`4,`150.01", "`four,`150.01", 7, "总交易单数 'four' is not a count");
    wechat_refuses_change(
        "总交易单数,应结订单总金额", "合计,应结订单总金额", 6,
        "7 fields where its header has 27"); /* not a summary: a bad detail line */
}

static void wechat_truncated_file_is_refused(void **state)
{
    (void)state;
    text csv = wechat_good_csv();
    bill *b = NULL;
    bill_error error;
    /* Cut before the summary header, and between the summary header and its line. */
    size_t before_summary = (size_t)(strstr(csv.data, "总交易单数") - csv.data);
    topup_result r = bill_parse_wechat_csv("wechat.csv", csv.data, before_summary, &b, &error);
    assert_refused(r, b, &error, 5, "without the summary header");
    size_t before_totals = (size_t)(strstr(csv.data, "`4,`150.01") - csv.data);
    r = bill_parse_wechat_csv("wechat.csv", csv.data, before_totals, &b, &error);
    assert_refused(r, b, &error, 6, "without the summary line");
    r = bill_parse_wechat_csv("wechat.csv", "", 0, &b, &error);
    assert_refused(r, b, &error, 0, "empty");
    free(csv.data);
}

static void wechat_invalid_text_is_refused(void **state)
{
    (void)state;
    text csv = wechat_good_csv();
    bill *b = NULL;
    bill_error error;
    /* A GBK byte pair in a UTF-8 file (the product name of line 3). */
    char *name = strstr(strstr(csv.data, "W1002"), "话费充值");
    name[0] = (char)0xBB;
    name[1] = (char)0xB0;
    topup_result r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, 3, "not valid UTF-8");
    free(csv.data);
    /* A NUL byte. */
    csv = wechat_good_csv();
    *strstr(csv.data, "W1003") = '\0';
    r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, 4, "NUL byte");
    free(csv.data);
    /* A line longer than the bound. */
    csv = wechat_good_csv();
    char *long_name = malloc(BILL_LINE_SIZE_MAX + 1);
    memset(long_name, 'x', BILL_LINE_SIZE_MAX);
    long_name[BILL_LINE_SIZE_MAX] = '\0';
    text_replace(&csv, "话费充值", long_name);
    free(long_name);
    r = bill_parse_wechat_csv("wechat.csv", csv.data, csv.size, &b, &error);
    assert_refused(r, b, &error, 2, "at most 4096");
    free(csv.data);
}

static void wechat_bill_of_refunds_only_has_no_period(void **state)
{
    (void)state;
    text csv = {0};
    text_add(&csv, "%s\n", WECHAT_HEADER);
    wechat_row(&csv, "2026-11-24 15:00:00", "4200000001202611240002", "W1002", "REFUND", "0.00",
               "RW2001", "100.00", "-0.60");
    text_add(&csv, "%s\n`1,`0.00,`100.00,`0.00,`-0.60,`0.00,`100.00\n", WECHAT_SUMMARY_HEADER);
    bill *b = NULL;
    bill_error error;
    assert_int_equal(bill_parse_wechat_csv("refunds.csv", csv.data, csv.size, &b, &error),
                     TOPUP_OK);
    int64_t from, to;
    assert_false(bill_period(b, &from, &to)); /* the command asks for --date then */
    bill_free(b);
    free(csv.data);
}

static void wechat_file_is_read_from_disk(void **state)
{
    (void)state;
    text csv = wechat_good_csv();
    char path[] = "/tmp/test_bill_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, csv.data, csv.size), (ssize_t)csv.size);
    close(fd);
    bill *b = NULL;
    bill_error error;
    assert_int_equal(bill_read_wechat(path, &b, &error), TOPUP_OK);
    size_t count;
    bill_lines(b, &count);
    assert_int_equal(count, 4);
    bill_free(b);
    unlink(path);
    free(csv.data);
    topup_result r = bill_read_wechat("/tmp", &b, &error);
    assert_refused(r, b, &error, 0, "not a regular file");
}

static void day_option_is_a_natural_day_in_utc_plus_8(void **state)
{
    (void)state;
    int64_t from, to;
    assert_true(bill_day_parse("2026-11-24", &from, &to));
    assert_int_equal(from, DAY_FROM);
    assert_int_equal(to, DAY_TO);
    static const char *const bad[] = {"2026-11-31", "2026-11-24T00:00:00Z", "26-11-24", "2026-1-24",
                                      ""};
    for (size_t i = 0; i < ARRAY_COUNT(bad); i++)
        if (bill_day_parse(bad[i], &from, &to))
            fail_msg("'%s' accepted as a day", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alipay_good_bill_reads_every_line),
        cmocka_unit_test(alipay_columns_are_found_by_name),
        cmocka_unit_test(alipay_bad_amounts_are_refused),
        cmocka_unit_test(alipay_malformed_lines_are_refused),
        cmocka_unit_test(alipay_truncated_file_is_refused),
        cmocka_unit_test(alipay_non_gbk_bytes_are_refused),
        cmocka_unit_test(alipay_zip_without_a_detail_file_is_refused),
        cmocka_unit_test(alipay_two_detail_files_are_refused),
        cmocka_unit_test(alipay_not_a_zip_is_refused),
        cmocka_unit_test(alipay_period_end_on_the_last_second_is_inclusive),
        cmocka_unit_test(wechat_good_bill_reads_every_line),
        cmocka_unit_test(wechat_columns_are_found_by_name),
        cmocka_unit_test(wechat_bad_amounts_are_refused),
        cmocka_unit_test(wechat_malformed_lines_are_refused),
        cmocka_unit_test(wechat_summary_must_agree_with_the_details),
        cmocka_unit_test(wechat_truncated_file_is_refused),
        cmocka_unit_test(wechat_invalid_text_is_refused),
        cmocka_unit_test(wechat_bill_of_refunds_only_has_no_period),
        cmocka_unit_test(wechat_file_is_read_from_disk),
        cmocka_unit_test(day_option_is_a_natural_day_in_utc_plus_8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
