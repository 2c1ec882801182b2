/* Unit tests for src/receipts/receipt.c: a subscriber's downloaded receipt and a counter's
 * printed one are real PDFs whose text (Chinese included) can be read back and whose QR code
 * scans to the verification URL; check codes cannot be forged; bad facts are refused.
 *
 * Reading the PDFs back uses pdftotext and pdftoppm (poppler-utils) and zbarimg (zbar-tools),
 * which scripts/deps.sh installs for `make test`; a check whose tool is missing is skipped with a
 * message saying which package brings it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>

#include "receipts/receipt.h"

#define ARRAY_COUNT(a)   (sizeof(a) / sizeof((a)[0]))
#define ORDER_ID         INT64_C(1234567)
#define VERIFY_URL       "https://topup.example.cn/r/1234567/3f9a1c0b7d2e4a65"
#define COMMAND_SIZE_MAX 1024
#define OUTPUT_SIZE_MAX  65536 /* far more than a receipt's text */
#define POINTS_PER_MM    (72.0 / 25.4)

static const unsigned char check_key[] = "receipt-test-key-0123456789abcdef";
#define CHECK_KEY_SIZE (sizeof check_key - 1)

/* A portal receipt in Chinese: paid with Alipay, recharged. */
static receipt_facts chinese_facts(void)
{
    return (receipt_facts){
        .language = "zh-CN",
        .order_id = ORDER_ID,
        .status = ORDER_SUCCEEDED,
        .created_at = 1764077400, /* 2025-11-25 21:30:00 in Beijing */
        .paid_at = 1764077425,
        .masked_number = "138****8000",
        .operator_name = "中国移动",
        .product = "话费 50 元",
        .face_value_minor = 5000,
        .face_currency = "CNY",
        .price_minor = 5000,
        .price_currency = "CNY",
        .payment_method = "支付宝",
        .payment_reference = "2025112522001476541234567890",
        .verify_url = VERIFY_URL,
    };
}

/* The same order on an English counter receipt: cash at a hall, reprinted. */
static receipt_facts english_counter_facts(void)
{
    receipt_facts facts = chinese_facts();
    facts.language = "en";
    facts.payment_method = "Cash";
    facts.payment_reference = NULL;
    facts.teller_name = "Wang Xiaoming";
    facts.hall_name = "西单营业厅";
    facts.reprint = true;
    return facts;
}

static unsigned char *render_ok(const receipt_facts *facts, receipt_layout layout,
                                size_t *size /* OUT */)
{
    unsigned char *pdf = NULL;
    topup_result r = receipt_render_pdf(facts, layout, &pdf, size);
    if (r != TOPUP_OK)
        fail_msg("render refused: %s", topup_result_code(r));
    assert_non_null(pdf);
    return pdf;
}

/* A PDF starts with its header and ends with the end-of-file marker (then at most a newline). */
static void assert_pdf_envelope(const unsigned char *pdf, size_t size)
{
    assert_true(size > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    size_t end = size;
    while (end > 0 && (pdf[end - 1] == '\n' || pdf[end - 1] == '\r'))
        end--;
    assert_true(end >= 5);
    assert_memory_equal(pdf + end - 5, "%%EOF", 5);
}

/* The page size cairo writes as "/MediaBox [ 0 0 W H ]", in points. */
static void media_box(const unsigned char *pdf, size_t size, double *width, double *height)
{
    char *text = malloc(size + 1);
    assert_non_null(text);
    memcpy(text, pdf, size);
    text[size] = '\0';
    /* The PDF has binary streams with NULs; search past them by hand. */
    const char *box = NULL;
    for (size_t i = 0; i + 9 < size && box == NULL; i++) {
        if (memcmp(text + i, "/MediaBox", 9) == 0)
            box = text + i;
    }
    assert_non_null(box);
    double x0 = -1, y0 = -1;
    assert_int_equal(sscanf(box, "/MediaBox [ %lf %lf %lf %lf", &x0, &y0, width, height), 4);
    free(text);
}

static void renders_both_layouts_in_both_languages(void **state)
{
    (void)state;
    receipt_facts all[] = {chinese_facts(), english_counter_facts()};
    all[1].voided = true;
    for (size_t i = 0; i < ARRAY_COUNT(all); i++) {
        size_t size = 0;
        unsigned char *pdf = render_ok(&all[i], RECEIPT_A5, &size);
        assert_pdf_envelope(pdf, size);
        double width = 0, height = 0;
        media_box(pdf, size, &width, &height);
        assert_float_equal(width, 148 * POINTS_PER_MM, 0.01);
        assert_float_equal(height, 210 * POINTS_PER_MM, 0.01);
        free(pdf);

        pdf = render_ok(&all[i], RECEIPT_ROLL_80MM, &size);
        assert_pdf_envelope(pdf, size);
        media_box(pdf, size, &width, &height);
        assert_float_equal(width, 80 * POINTS_PER_MM, 0.01);
        /* As long as the content, which is more than its width and less than a metre. */
        assert_true(height > width && height < 1000 * POINTS_PER_MM);
        free(pdf);
    }
}

/* The same facts give the same bytes: a receipt downloaded twice is the same document. */
static void rendering_is_reproducible(void **state)
{
    (void)state;
    receipt_facts facts = chinese_facts();
    size_t first_size = 0, second_size = 0;
    unsigned char *first = render_ok(&facts, RECEIPT_ROLL_80MM, &first_size);
    unsigned char *second = render_ok(&facts, RECEIPT_ROLL_80MM, &second_size);
    assert_int_equal(first_size, second_size);
    assert_memory_equal(first, second, first_size);
    free(first);
    free(second);
}

/* A roll gets longer with more lines: a counter receipt (hall, teller, marks) is taller than a
 * portal one, so nothing is cut off at a fixed page length. */
static void roll_grows_with_its_content(void **state)
{
    (void)state;
    receipt_facts portal = chinese_facts();
    receipt_facts counter = chinese_facts();
    counter.hall_name = "西单营业厅";
    counter.teller_name = "王小明";
    counter.reprint = true;
    counter.voided = true;
    size_t size = 0;
    double width = 0, portal_height = 0, counter_height = 0;
    unsigned char *pdf = render_ok(&portal, RECEIPT_ROLL_80MM, &size);
    media_box(pdf, size, &width, &portal_height);
    free(pdf);
    pdf = render_ok(&counter, RECEIPT_ROLL_80MM, &size);
    media_box(pdf, size, &width, &counter_height);
    free(pdf);
    assert_true(counter_height > portal_height + 10 * POINTS_PER_MM);
}

/* Every text field at its longest, the longest URL and the largest amounts still render, and
 * the A5 page stays A5. */
static void longest_facts_still_render(void **state)
{
    (void)state;
    char chinese[RECEIPT_TEXT_SIZE_MAX + 1] = "";
    for (size_t i = 0; i < RECEIPT_TEXT_SIZE_MAX / 3; i++)
        strcat(chinese, "营");
    char url[RECEIPT_URL_SIZE_MAX + 1] = "https://topup.example.cn/r/1/";
    while (strlen(url) < RECEIPT_URL_SIZE_MAX)
        strcat(url, "a");
    receipt_facts facts = english_counter_facts();
    facts.brand = facts.operator_name = facts.product = facts.payment_method = chinese;
    facts.teller_name = facts.hall_name = facts.payment_reference = chinese;
    facts.face_value_minor = facts.price_minor = INT64_MAX;
    facts.order_id = INT64_MAX;
    facts.verify_url = url;
    facts.voided = true;
    for (int layout = RECEIPT_A5; layout <= RECEIPT_ROLL_80MM; layout++) {
        size_t size = 0;
        unsigned char *pdf = render_ok(&facts, (receipt_layout)layout, &size);
        assert_pdf_envelope(pdf, size);
        assert_true(size < RECEIPT_PDF_SIZE_MAX);
        double width = 0, height = 0;
        media_box(pdf, size, &width, &height);
        if (layout == RECEIPT_A5)
            assert_float_equal(height, 210 * POINTS_PER_MM, 0.01);
        free(pdf);
    }
}

/* ---- reading the PDF back with the Debian tools ------------------------------------------ */

static bool tool_installed(const char *tool)
{
    char command[COMMAND_SIZE_MAX];
    snprintf(command, sizeof command, "command -v %s >/dev/null 2>&1", tool);
    return system(command) == 0;
}

/* Skips the calling test, saying which Debian package would have let it run. */
#define SKIP_WITHOUT(tool, package)                                                                \
    do {                                                                                           \
        if (!tool_installed(tool)) {                                                               \
            print_message("skipped: %s is not installed (Debian package %s)\n", tool, package);    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* A private directory for the files of one test; the paths are made of safe characters, so
 * they can go into a shell command unquoted. */
typedef struct scratch {
    char directory[64];
    char pdf_path[128];
    char png_prefix[128];
} scratch;

static void scratch_write(scratch *s, const unsigned char *pdf, size_t size)
{
    snprintf(s->directory, sizeof s->directory, "/tmp/topup-receipt-XXXXXX");
    assert_non_null(mkdtemp(s->directory));
    snprintf(s->pdf_path, sizeof s->pdf_path, "%s/receipt.pdf", s->directory);
    snprintf(s->png_prefix, sizeof s->png_prefix, "%s/receipt", s->directory);
    FILE *file = fopen(s->pdf_path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(pdf, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static void scratch_remove(const scratch *s)
{
    char png_path[160];
    snprintf(png_path, sizeof png_path, "%s.png", s->png_prefix);
    unlink(png_path);
    unlink(s->pdf_path);
    rmdir(s->directory);
}

/* Runs a shell command and returns its standard output (malloc'd, NUL-terminated). */
static char *command_output(const char *command)
{
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    char *output = malloc(OUTPUT_SIZE_MAX);
    assert_non_null(output);
    size_t size = fread(output, 1, OUTPUT_SIZE_MAX - 1, pipe);
    output[size] = '\0';
    int status = pclose(pipe);
    if (status != 0)
        fail_msg("\"%s\" exited with %d", command, status);
    return output;
}

static char *pdf_text(const receipt_facts *facts, receipt_layout layout)
{
    size_t size = 0;
    unsigned char *pdf = render_ok(facts, layout, &size);
    scratch s;
    scratch_write(&s, pdf, size);
    free(pdf);
    char command[COMMAND_SIZE_MAX];
    snprintf(command, sizeof command, "pdftotext -enc UTF-8 %s -", s.pdf_path);
    char *text = command_output(command);
    scratch_remove(&s);
    return text;
}

static void assert_contains(const char *text, const char *expected)
{
    if (strstr(text, expected) == NULL)
        fail_msg("\"%s\" not in the receipt's text:\n%s", expected, text);
}

/* What a subscriber, a teller and a search tool read: the text is real text, Chinese included. */
static void text_reads_back_with_pdftotext(void **state)
{
    (void)state;
    SKIP_WITHOUT("pdftotext", "poppler-utils");
    receipt_facts chinese = chinese_facts();
    receipt_facts english = english_counter_facts();
    english.voided = true;
    for (int layout = RECEIPT_A5; layout <= RECEIPT_ROLL_80MM; layout++) {
        char *text = pdf_text(&chinese, (receipt_layout)layout);
        assert_contains(text, "中国移动");
        assert_contains(text, "138****8000");
        assert_contains(text, "50.00");
        assert_contains(text, "1234567");
        assert_contains(text, "2025-11-25 21:30:25");
        assert_contains(text, "2025112522001476541234567890");
        assert_contains(text, "充值成功");
        assert_contains(text, VERIFY_URL);
        free(text);

        text = pdf_text(&english, (receipt_layout)layout);
        assert_contains(text, "中国移动");
        assert_contains(text, "138****8000");
        assert_contains(text, "CNY 50.00");
        assert_contains(text, "1234567");
        assert_contains(text, "Wang Xiaoming");
        assert_contains(text, "西单营业厅");
        assert_contains(text, "REPRINT");
        assert_contains(text, "VOID");
        free(text);
    }
}

/* What a phone camera reads from the receipt's QR code, rasterised at 200 dpi as a thermal head
 * (203 dpi) prints it. */
static char *decoded_qr(const receipt_facts *facts, receipt_layout layout)
{
    size_t size = 0;
    unsigned char *pdf = render_ok(facts, layout, &size);
    scratch s;
    scratch_write(&s, pdf, size);
    free(pdf);
    char command[COMMAND_SIZE_MAX];
    /* zbarimg's stderr carries D-Bus noise on machines without a bus: not our output. */
    snprintf(command, sizeof command,
             "pdftoppm -png -r 200 -singlefile %s %s && zbarimg -q --raw %s.png 2>/dev/null",
             s.pdf_path, s.png_prefix, s.png_prefix);
    char *decoded = command_output(command);
    scratch_remove(&s);
    decoded[strcspn(decoded, "\r\n")] = '\0';
    return decoded;
}

static void qr_code_scans_to_the_verification_url(void **state)
{
    (void)state;
    SKIP_WITHOUT("pdftoppm", "poppler-utils");
    SKIP_WITHOUT("zbarimg", "zbar-tools");
    receipt_facts all[] = {chinese_facts(), english_counter_facts()};
    all[1].voided = true; /* the watermark must not reach the code */
    for (size_t i = 0; i < ARRAY_COUNT(all); i++) {
        for (int layout = RECEIPT_A5; layout <= RECEIPT_ROLL_80MM; layout++) {
            char *decoded = decoded_qr(&all[i], (receipt_layout)layout);
            assert_string_equal(decoded, VERIFY_URL);
            free(decoded);
        }
    }
}

/* The longest URL makes the largest symbol; it still scans from the narrow roll, and from the
 * A5 page scaled down to fit the longest facts. */
static void longest_url_still_scans(void **state)
{
    (void)state;
    SKIP_WITHOUT("pdftoppm", "poppler-utils");
    SKIP_WITHOUT("zbarimg", "zbar-tools");
    char url[RECEIPT_URL_SIZE_MAX + 1] = "https://topup.example.cn/r/9223372036854775807/";
    for (size_t length = strlen(url); length < RECEIPT_URL_SIZE_MAX; length++)
        url[length] = "0123456789abcdef"[length % 16];
    url[RECEIPT_URL_SIZE_MAX] = '\0';
    char chinese[RECEIPT_TEXT_SIZE_MAX + 1] = "";
    for (size_t i = 0; i < RECEIPT_TEXT_SIZE_MAX / 3; i++)
        strcat(chinese, "营");
    receipt_facts facts = english_counter_facts();
    facts.operator_name = facts.product = facts.hall_name = facts.teller_name = chinese;
    facts.verify_url = url;
    for (int layout = RECEIPT_A5; layout <= RECEIPT_ROLL_80MM; layout++) {
        char *decoded = decoded_qr(&facts, (receipt_layout)layout);
        assert_string_equal(decoded, url);
        free(decoded);
    }
}

/* ---- check codes -------------------------------------------------------------------------- */

/* Pinned values: a change here would make every receipt already printed fail its check.
 * Computed independently with `printf 'receipt:42' | openssl dgst -sha256 -hmac KEY`. */
static void check_code_is_the_pinned_hmac_prefix(void **state)
{
    (void)state;
    char code[RECEIPT_CHECK_SIZE];
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, 42, code), TOPUP_OK);
    assert_string_equal(code, "99f94aa6dc8ec138");
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, 43, code), TOPUP_OK);
    assert_string_equal(code, "bae39d77282c9e75");
    static const unsigned char other_key[] = "another-key";
    assert_int_equal(receipt_check_code(other_key, sizeof other_key - 1, 42, code), TOPUP_OK);
    assert_string_equal(code, "10b362ff0a720601");
}

static void check_code_is_stable_and_differs_per_order_and_key(void **state)
{
    (void)state;
    static const unsigned char other_key[] = "receipt-test-key-0123456789abcdeF";
    char first[RECEIPT_CHECK_SIZE], again[RECEIPT_CHECK_SIZE];
    char next_order[RECEIPT_CHECK_SIZE], other[RECEIPT_CHECK_SIZE];
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, ORDER_ID, first), TOPUP_OK);
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, ORDER_ID, again), TOPUP_OK);
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, ORDER_ID + 1, next_order),
                     TOPUP_OK);
    assert_int_equal(receipt_check_code(other_key, sizeof other_key - 1, ORDER_ID, other),
                     TOPUP_OK);
    assert_string_equal(first, again);
    assert_string_not_equal(first, next_order);
    assert_string_not_equal(first, other);
    assert_int_equal(strlen(first), RECEIPT_CHECK_SIZE - 1);
    assert_int_equal(strspn(first, "0123456789abcdef"), RECEIPT_CHECK_SIZE - 1);
}

static void check_code_verifies_only_itself(void **state)
{
    (void)state;
    static const unsigned char other_key[] = "receipt-test-key-0123456789abcdeF";
    char code[RECEIPT_CHECK_SIZE];
    assert_int_equal(receipt_check_code(check_key, CHECK_KEY_SIZE, ORDER_ID, code), TOPUP_OK);
    assert_true(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, code));
    assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID + 1, code));
    assert_false(receipt_check_valid(other_key, sizeof other_key - 1, ORDER_ID, code));
    assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, NULL));
    assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, ""));

    char changed[RECEIPT_CHECK_SIZE + 1];
    for (size_t i = 0; i < RECEIPT_CHECK_SIZE - 1; i++) {
        memcpy(changed, code, RECEIPT_CHECK_SIZE);
        changed[i] = changed[i] == '0' ? '1' : '0';
        assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, changed));
    }
    memcpy(changed, code, RECEIPT_CHECK_SIZE);
    changed[RECEIPT_CHECK_SIZE - 2] = '\0'; /* one character short */
    assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, changed));
    memcpy(changed, code, RECEIPT_CHECK_SIZE - 1);
    changed[RECEIPT_CHECK_SIZE - 1] = '0'; /* one character too many */
    changed[RECEIPT_CHECK_SIZE] = '\0';
    assert_false(receipt_check_valid(check_key, CHECK_KEY_SIZE, ORDER_ID, changed));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static char over_long_text[RECEIPT_TEXT_SIZE_MAX + 2];
static char over_long_url[RECEIPT_URL_SIZE_MAX + 2];

static void no_language(receipt_facts *f)
{
    f->language = "fr";
}
static void zero_order(receipt_facts *f)
{
    f->order_id = 0;
}
static void negative_price(receipt_facts *f)
{
    f->price_minor = -1;
}
static void negative_face_value(receipt_facts *f)
{
    f->face_value_minor = -5000;
}
static void zero_face_value(receipt_facts *f)
{
    f->face_value_minor = 0;
}
static void never_paid(receipt_facts *f)
{
    f->status = ORDER_AWAITING_PAYMENT;
}
static void closed_order(receipt_facts *f)
{
    f->status = ORDER_CLOSED;
}
static void status_out_of_range(receipt_facts *f)
{
    f->status = ORDER_STATUS_COUNT;
}
static void no_number(receipt_facts *f)
{
    f->masked_number = NULL;
}
static void unmasked_number(receipt_facts *f)
{
    f->masked_number = "13800138000";
}
static void letters_in_number(receipt_facts *f)
{
    f->masked_number = "138****80x0";
}
static void no_operator(receipt_facts *f)
{
    f->operator_name = NULL;
}
static void empty_product(receipt_facts *f)
{
    f->product = "";
}
static void no_payment_method(receipt_facts *f)
{
    f->payment_method = NULL;
}
static void over_long_operator(receipt_facts *f)
{
    f->operator_name = over_long_text;
}
static void broken_utf8(receipt_facts *f)
{
    f->operator_name = "\xe4\xb8"; /* the first two bytes of 中 */
}
static void newline_in_product(receipt_facts *f)
{
    f->product = "50\nyuan";
}
static void bidi_override_in_teller(receipt_facts *f)
{
    f->teller_name = "\xe2\x80\xae"
                     "Wang"; /* U+202E RIGHT-TO-LEFT OVERRIDE */
}
static void over_long_reference(receipt_facts *f)
{
    f->payment_reference = over_long_text;
}
static void no_url(receipt_facts *f)
{
    f->verify_url = NULL;
}
static void ftp_url(receipt_facts *f)
{
    f->verify_url = "ftp://topup.example.cn/r/1/abcd";
}
static void bare_scheme_url(receipt_facts *f)
{
    f->verify_url = "https://";
}
static void quote_in_url(receipt_facts *f)
{
    f->verify_url = "https://topup.example.cn/r/1/ab'cd";
}
static void space_in_url(receipt_facts *f)
{
    f->verify_url = "https://topup.example.cn/r/1/ab cd";
}
static void over_long_url_fact(receipt_facts *f)
{
    f->verify_url = over_long_url;
}
static void short_offset(receipt_facts *f)
{
    f->utc_offset = "+8";
}
static void offset_too_far(receipt_facts *f)
{
    f->utc_offset = "+15:00";
}
static void no_created_time(receipt_facts *f)
{
    f->created_at = 0;
}
static void paid_after_year_9999(receipt_facts *f)
{
    f->paid_at = INT64_C(253402300800);
}
static void unknown_currency(receipt_facts *f)
{
    f->price_currency = "XXX";
}
static void no_currency(receipt_facts *f)
{
    f->face_currency = NULL;
}

struct refusal {
    const char *name;
    void (*spoil)(receipt_facts *facts);
    topup_result expected;
};

static const struct refusal refusals[] = {
    {"unknown language", no_language, TOPUP_E_INVALID_ARGUMENT},
    {"order 0", zero_order, TOPUP_E_INVALID_ARGUMENT},
    {"negative price", negative_price, TOPUP_E_INVALID_ARGUMENT},
    {"negative face value", negative_face_value, TOPUP_E_INVALID_ARGUMENT},
    {"zero face value", zero_face_value, TOPUP_E_INVALID_ARGUMENT},
    {"never paid", never_paid, TOPUP_E_INVALID_ARGUMENT},
    {"closed", closed_order, TOPUP_E_INVALID_ARGUMENT},
    {"status out of range", status_out_of_range, TOPUP_E_INVALID_ARGUMENT},
    {"no number", no_number, TOPUP_E_INVALID_ARGUMENT},
    {"unmasked number", unmasked_number, TOPUP_E_INVALID_ARGUMENT},
    {"letters in number", letters_in_number, TOPUP_E_INVALID_ARGUMENT},
    {"no operator", no_operator, TOPUP_E_INVALID_ARGUMENT},
    {"empty product", empty_product, TOPUP_E_INVALID_ARGUMENT},
    {"no payment method", no_payment_method, TOPUP_E_INVALID_ARGUMENT},
    {"over-long operator", over_long_operator, TOPUP_E_INVALID_ARGUMENT},
    {"broken UTF-8", broken_utf8, TOPUP_E_INVALID_ARGUMENT},
    {"newline in product", newline_in_product, TOPUP_E_INVALID_ARGUMENT},
    {"bidi override", bidi_override_in_teller, TOPUP_E_INVALID_ARGUMENT},
    {"over-long reference", over_long_reference, TOPUP_E_INVALID_ARGUMENT},
    {"no URL", no_url, TOPUP_E_INVALID_ARGUMENT},
    {"ftp URL", ftp_url, TOPUP_E_INVALID_ARGUMENT},
    {"bare scheme", bare_scheme_url, TOPUP_E_INVALID_ARGUMENT},
    {"quote in URL", quote_in_url, TOPUP_E_INVALID_ARGUMENT},
    {"space in URL", space_in_url, TOPUP_E_INVALID_ARGUMENT},
    {"over-long URL", over_long_url_fact, TOPUP_E_INVALID_ARGUMENT},
    {"short offset", short_offset, TOPUP_E_INVALID_ARGUMENT},
    {"offset too far", offset_too_far, TOPUP_E_INVALID_ARGUMENT},
    {"no created time", no_created_time, TOPUP_E_INVALID_ARGUMENT},
    {"after 9999", paid_after_year_9999, TOPUP_E_INVALID_ARGUMENT},
    {"unknown currency", unknown_currency, TOPUP_E_CURRENCY_UNKNOWN},
    {"no currency", no_currency, TOPUP_E_INVALID_ARGUMENT},
};

/* A refused call returns the reason and hands out nothing: the OUTs are cleared. */
static void assert_refused(const receipt_facts *facts, receipt_layout layout, topup_result expected,
                           const char *name)
{
    unsigned char sentinel;
    unsigned char *pdf = &sentinel;
    size_t size = 99;
    topup_result r = receipt_render_pdf(facts, layout, &pdf, &size);
    if (r != expected || pdf != NULL || size != 0)
        fail_msg("%s: got %s, want %s", name, topup_result_code(r), topup_result_code(expected));
}

static void bad_facts_are_refused(void **state)
{
    (void)state;
    memset(over_long_text, 'x', RECEIPT_TEXT_SIZE_MAX + 1);
    memcpy(over_long_url, "https://a/", 10);
    memset(over_long_url + 10, 'a', RECEIPT_URL_SIZE_MAX - 9);
    for (size_t i = 0; i < ARRAY_COUNT(refusals); i++) {
        receipt_facts facts = chinese_facts();
        refusals[i].spoil(&facts);
        assert_refused(&facts, RECEIPT_A5, refusals[i].expected, refusals[i].name);
        assert_refused(&facts, RECEIPT_ROLL_80MM, refusals[i].expected, refusals[i].name);
    }
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    receipt_facts facts = chinese_facts();
    unsigned char *pdf = NULL;
    size_t size = 0;
    assert_refused(NULL, RECEIPT_A5, TOPUP_E_INVALID_ARGUMENT, "NULL facts");
    assert_refused(&facts, (receipt_layout)7, TOPUP_E_INVALID_ARGUMENT, "unknown layout");
    assert_int_equal(receipt_render_pdf(&facts, RECEIPT_A5, NULL, &size), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(receipt_render_pdf(&facts, RECEIPT_A5, &pdf, NULL), TOPUP_E_INVALID_ARGUMENT);
    assert_null(pdf);
}

/* The limits are inclusive: a field of exactly RECEIPT_TEXT_SIZE_MAX bytes is printed. */
static void text_at_the_limit_is_accepted(void **state)
{
    (void)state;
    char longest[RECEIPT_TEXT_SIZE_MAX + 1];
    memset(longest, 'x', RECEIPT_TEXT_SIZE_MAX);
    longest[RECEIPT_TEXT_SIZE_MAX] = '\0';
    receipt_facts facts = chinese_facts();
    facts.product = longest;
    facts.utc_offset = "-09:30";
    size_t size = 0;
    free(render_ok(&facts, RECEIPT_ROLL_80MM, &size));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_both_layouts_in_both_languages),
        cmocka_unit_test(rendering_is_reproducible),
        cmocka_unit_test(roll_grows_with_its_content),
        cmocka_unit_test(longest_facts_still_render),
        cmocka_unit_test(text_reads_back_with_pdftotext),
        cmocka_unit_test(qr_code_scans_to_the_verification_url),
        cmocka_unit_test(longest_url_still_scans),
        cmocka_unit_test(check_code_is_the_pinned_hmac_prefix),
        cmocka_unit_test(check_code_is_stable_and_differs_per_order_and_key),
        cmocka_unit_test(check_code_verifies_only_itself),
        cmocka_unit_test(bad_facts_are_refused),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(text_at_the_limit_is_accepted),
    };
    receipt_fonts_load();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
