/* Reading trade bills: what both providers' parsers share (bill_int.h), reading a bill file
 * with a size bound, and the bill's accessors. The parsers are bill_alipay.c and bill_wechat.c. */
#include "payments/bill.h"

#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "payments/bill_int.h"

#define SECONDS_PER_DAY 86400

void bill_error_start(bill_error *error, const char *name)
{
    *error = (bill_error){.result = TOPUP_OK};
    snprintf(error->where, sizeof error->where, "%s", name);
}

topup_result bill_fail(bill_error *error, topup_result result, unsigned line, const char *format,
                       ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof error->message, format, arguments);
    va_end(arguments);
    error->result = result;
    error->line = line;
    return result;
}

bill *bill_new(bill_provider provider, char *text)
{
    bill *b = calloc(1, sizeof *b);
    if (!b) {
        free(text);
        return NULL;
    }
    b->provider = provider;
    b->text = text;
    snprintf(b->currency, sizeof b->currency, "CNY");
    return b;
}

topup_result bill_start(const char *name, const void *data, size_t size, const char *charset,
                        bill_provider provider, bill **b, bill_error *error)
{
    *b = NULL;
    bill_error_start(error, name);
    if (size > BILL_FILE_SIZE_MAX)
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                         "it is %zu bytes; bills of at most %u bytes are read.", size,
                         BILL_FILE_SIZE_MAX);
    char *text;
    topup_result r = bill_text_to_utf8(charset, data, size, &text, error);
    if (r != TOPUP_OK)
        return r;
    *b = bill_new(provider, text);
    return *b ? TOPUP_OK : bill_fail(error, TOPUP_E_NOMEM, 0, "the bill does not fit in memory.");
}

void bill_free(bill *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->lines);
    free(b);
}

/* The 1-based line of the byte at offset: one more than the newlines before it. Counting raw
 * bytes is right for GBK and UTF-8 alike, since neither uses 0x0A inside a character. */
static unsigned line_of_offset(const char *data, size_t offset)
{
    unsigned line = 1;
    for (size_t i = 0; i < offset; i++)
        line += data[i] == '\n';
    return line;
}

/* Runs the converter over all of data into a buffer that grows when the output needs more room.
 * On failure *bad_offset is where the input stopped and the errno of iconv is returned. */
static int convert_all(iconv_t converter, const char *data, size_t size, char **out,
                       size_t *out_length, size_t *bad_offset)
{
    /* A GBK character (1 or 2 bytes) usually becomes at most 3 bytes of UTF-8: 1.5 times. */
    size_t capacity = size + size / 2 + 16;
    char *buffer = malloc(capacity);
    if (!buffer)
        return ENOMEM;
    /* iconv's prototype takes char ** for the input but never writes through it. */
    char *in = (char *)(uintptr_t)data;
    size_t in_left = size, used = 0;
    for (;;) {
        char *out_next = buffer + used;
        size_t out_left = capacity - used - 1; /* room for the NUL */
        size_t converted = iconv(converter, &in, &in_left, &out_next, &out_left);
        used = (size_t)(out_next - buffer);
        if (converted != (size_t)-1)
            break;
        if (errno != E2BIG) {
            int saved_errno = errno;
            free(buffer);
            *bad_offset = (size_t)(in - data);
            return saved_errno;
        }
        char *bigger = realloc(buffer, capacity * 2);
        if (!bigger) {
            free(buffer);
            return ENOMEM;
        }
        buffer = bigger;
        capacity *= 2;
    }
    buffer[used] = '\0';
    *out = buffer;
    *out_length = used;
    return 0;
}

topup_result bill_text_to_utf8(const char *charset, const void *data, size_t size, char **text,
                               bill_error *error)
{
    *text = NULL;
    iconv_t converter = iconv_open("UTF-8", charset);
    if (converter == (iconv_t)-1)
        return bill_fail(error, TOPUP_E_IO, 0, "this system cannot convert from %s (iconv: %s).",
                         charset, strerror(errno));
    char *out = NULL;
    size_t length = 0, bad_offset = 0;
    int failure = convert_all(converter, data, size, &out, &length, &bad_offset);
    iconv_close(converter);
    if (failure == ENOMEM)
        return bill_fail(error, TOPUP_E_NOMEM, 0, "the bill does not fit in memory.");
    if (failure != 0) {
        const char *bytes = data;
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, line_of_offset(bytes, bad_offset),
                         "byte 0x%02X (byte %zu of the file) is not valid %s%s.",
                         (unsigned char)bytes[bad_offset], bad_offset, charset,
                         failure == EINVAL ? ": the file ends inside a character" : "");
    }
    const char *nul = memchr(out, '\0', length);
    if (nul) {
        unsigned line = line_of_offset(out, (size_t)(nul - out));
        free(out);
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, line, "the line holds a NUL byte.");
    }
    *text = out;
    return TOPUP_OK;
}

char *bill_cursor_next(bill_cursor *cursor, bill_error *error, topup_result *result)
{
    *result = TOPUP_OK;
    char *line = cursor->next;
    if (!line || *line == '\0')
        return NULL;
    cursor->line_number++;
    char *newline = strchr(line, '\n');
    if (newline) {
        *newline = '\0';
        cursor->next = newline + 1;
    } else {
        cursor->next = NULL;
    }
    size_t length = strlen(line);
    if (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
    if (length > BILL_LINE_SIZE_MAX) {
        *result = bill_fail(error, TOPUP_E_INVALID_ARGUMENT, cursor->line_number,
                            "the line is %zu bytes long; at most %d are accepted.", length,
                            BILL_LINE_SIZE_MAX);
        return NULL;
    }
    return line;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

size_t bill_fields_split(char *line, char *fields[BILL_FIELD_COUNT_MAX])
{
    size_t count = 0;
    char *start = line;
    for (;;) {
        char *comma = strchr(start, ',');
        if (comma)
            *comma = '\0';
        /* Alipay pads fields with tabs so that spreadsheets keep long numbers as text. */
        while (is_blank(*start))
            start++;
        char *end = start + strlen(start);
        while (end > start && is_blank(end[-1]))
            *--end = '\0';
        if (count == BILL_FIELD_COUNT_MAX)
            return BILL_FIELD_COUNT_MAX + 1;
        fields[count++] = start;
        if (!comma)
            return count;
        start = comma + 1;
    }
}

int bill_column_find(char *const *header, size_t column_count, const char *name)
{
    for (size_t i = 0; i < column_count; i++)
        if (strcmp(header[i], name) == 0)
            return (int)i;
    return -1;
}

topup_result bill_amount_parse(const char *text, const char *currency, int64_t *amount_minor)
{
    bool negative = text[0] == '-';
    const char *magnitude_text = negative ? text + 1 : text;
    int64_t magnitude = 0;
    /* money_parse refuses zero and signs by design (a movement is positive); a bill has zero
     * fees and negative refunds, so the sign is taken off here and zero accepted. */
    topup_result r = money_parse(magnitude_text, currency, &magnitude);
    if (r == TOPUP_E_AMOUNT_ZERO)
        magnitude = 0;
    else if (r == TOPUP_E_AMOUNT_NEGATIVE) /* "--1" */
        return TOPUP_E_AMOUNT_FORMAT;
    else if (r != TOPUP_OK)
        return r;
    *amount_minor = negative ? -magnitude : magnitude;
    return TOPUP_OK;
}

bool bill_local_time_parse(const char *text, int64_t *at)
{
    /* "2026-11-24 10:00:05" has the shape clock_parse_rfc3339 checks once the space is a 'T'
     * and a 'Z' ends it; the 8 hours of UTC+8 are then taken off. */
    if (strlen(text) != 19 || text[10] != ' ')
        return false;
    char rfc3339[RFC3339_SIZE];
    memcpy(rfc3339, text, 19);
    rfc3339[10] = 'T';
    rfc3339[19] = 'Z';
    rfc3339[20] = '\0';
    int64_t as_utc;
    if (!clock_parse_rfc3339(rfc3339, &as_utc))
        return false;
    *at = as_utc - BILL_UTC_OFFSET_S;
    return true;
}

bool bill_day_parse(const char *text, int64_t *from, int64_t *to)
{
    int64_t midnight_as_utc;
    if (strlen(text) != 10 || !clock_parse_rfc3339(text, &midnight_as_utc))
        return false;
    *from = midnight_as_utc - BILL_UTC_OFFSET_S;
    *to = *from + SECONDS_PER_DAY;
    return true;
}

bool bill_number_valid(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > BILL_TEXT_SIZE_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < 0x21 || text[i] > 0x7e)
            return false;
    return true;
}

topup_result bill_line_append(bill *b, const bill_line *line, bill_error *error)
{
    assert(line->amount_minor > 0);
    if (b->line_count == BILL_LINE_COUNT_MAX)
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, line->line_number,
                         "the bill has more than %d detail lines.", BILL_LINE_COUNT_MAX);
    if (b->line_count == b->line_capacity) {
        size_t capacity = b->line_capacity ? b->line_capacity * 2 : 256;
        bill_line *lines = realloc(b->lines, capacity * sizeof *lines);
        if (!lines)
            return bill_fail(error, TOPUP_E_NOMEM, line->line_number,
                             "the bill does not fit in memory.");
        b->lines = lines;
        b->line_capacity = capacity;
    }
    bill_totals *totals = &b->totals;
    int64_t *sum = line->kind == BILL_PAYMENT ? &totals->payments_minor : &totals->refunds_minor;
    if (money_add(*sum, line->amount_minor, sum) != TOPUP_OK ||
        money_add(totals->fees_minor, line->fee_minor, &totals->fees_minor) != TOPUP_OK)
        return bill_fail(error, TOPUP_E_AMOUNT_OVERFLOW, line->line_number,
                         "the bill's total no longer fits in 64 bits.");
    if (line->kind == BILL_PAYMENT)
        totals->payment_count++;
    else
        totals->refund_count++;
    b->lines[b->line_count++] = *line;
    return TOPUP_OK;
}

/* Reads the whole regular file at path, refusing one larger than BILL_FILE_SIZE_MAX. The bound
 * is on the bytes read, so a file that grows while being read cannot pass it. */
static topup_result file_read(const char *path, char **data, size_t *size, bill_error *error)
{
    bill_error_start(error, path);
    *data = NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        return bill_fail(error, TOPUP_E_IO, 0, "cannot open it: %s.", strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return bill_fail(error, TOPUP_E_IO, 0, "it is not a regular file.");
    }
    if ((uint64_t)info.st_size > BILL_FILE_SIZE_MAX) {
        fclose(file);
        return bill_fail(error, TOPUP_E_INVALID_ARGUMENT, 0,
                         "it is %lld bytes; bills of at most %u bytes are read.",
                         (long long)info.st_size, BILL_FILE_SIZE_MAX);
    }
    size_t capacity = (size_t)info.st_size + 1;
    char *buffer = malloc(capacity);
    if (!buffer) {
        fclose(file);
        return bill_fail(error, TOPUP_E_NOMEM, 0, "it does not fit in memory.");
    }
    size_t used = fread(buffer, 1, capacity, file);
    bool failed = ferror(file) != 0;
    fclose(file);
    if (failed || used == capacity) {
        free(buffer);
        return bill_fail(error, failed ? TOPUP_E_IO : TOPUP_E_INVALID_ARGUMENT, 0,
                         failed ? "reading it failed." : "it grew while it was being read.");
    }
    *data = buffer;
    *size = used;
    return TOPUP_OK;
}

topup_result bill_read_alipay(const char *path, bill **out, bill_error *error)
{
    *out = NULL;
    char *data;
    size_t size;
    topup_result r = file_read(path, &data, &size, error);
    if (r != TOPUP_OK)
        return r;
    r = bill_parse_alipay_zip(path, data, size, out, error);
    free(data);
    return r;
}

topup_result bill_read_wechat(const char *path, bill **out, bill_error *error)
{
    *out = NULL;
    char *data;
    size_t size;
    topup_result r = file_read(path, &data, &size, error);
    if (r != TOPUP_OK)
        return r;
    r = bill_parse_wechat_csv(path, data, size, out, error);
    free(data);
    return r;
}

bill_provider bill_provider_of(const bill *b)
{
    return b->provider;
}

const char *bill_provider_name(bill_provider provider)
{
    return provider == BILL_ALIPAY ? "alipay" : "wechat";
}

const bill_line *bill_lines(const bill *b, size_t *line_count)
{
    *line_count = b->line_count;
    return b->lines;
}

const char *bill_currency(const bill *b)
{
    return b->currency;
}

bool bill_period(const bill *b, int64_t *from, int64_t *to)
{
    if (!b->has_period)
        return false;
    *from = b->period_from;
    *to = b->period_to;
    return true;
}

const bill_totals *bill_totals_of(const bill *b)
{
    return &b->totals;
}
