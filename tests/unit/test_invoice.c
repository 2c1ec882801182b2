/* Unit tests for src/receipts/invoice.c: the A4 invoice record finance prints is a real
 * one-page PDF whose text (the buyer's title and tax id, the amount, the order) reads back with
 * pdftotext, renders the same bytes for the same facts, and refuses facts that are missing or
 * malformed. pdftotext (poppler-utils) comes with scripts/deps.sh; without it that check is
 * skipped with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "receipts/invoice.h"
#include "receipts/receipt.h"

#define ARRAY_COUNT(a)   (sizeof(a) / sizeof((a)[0]))
#define ORDER_ID         INT64_C(7654321)
#define COMMAND_SIZE_MAX 512
#define OUTPUT_SIZE_MAX  65536 /* far more than one page's text */
#define POINTS_PER_MM    (72.0 / 25.4)

/* A company's invoice for a CNY 50 cash recharge at a hall. */
static invoice_facts company_facts(void)
{
    return (invoice_facts){
        .order_id = ORDER_ID,
        .created_at = 1764077400, /* 2025-11-25 21:30:00 in Beijing */
        .seller = "中国移动 · topup 话费充值",
        .buyer_title = "北京某某科技有限公司",
        .buyer_tax_id = "91110000600037341L",
        .amount_minor = 5000,
        .currency = "CNY",
        .hall_name = "北京西单营业厅",
        .teller_name = "王丽",
    };
}

static unsigned char *render_ok(const invoice_facts *facts, size_t *size /* OUT */)
{
    unsigned char *pdf = NULL;
    topup_result r = invoice_render_pdf(facts, &pdf, size);
    if (r != TOPUP_OK)
        fail_msg("render refused: %s", topup_result_code(r));
    assert_non_null(pdf);
    return pdf;
}

/* Where needle first occurs in the PDF, searched by hand past its binary streams' NULs; the
 * PDF ends in "%%EOF", so a match is followed by readable text. */
static const char *find_bytes(const unsigned char *pdf, size_t size, const char *needle)
{
    size_t needle_size = strlen(needle);
    for (size_t i = 0; i + needle_size <= size; i++) {
        if (memcmp(pdf + i, needle, needle_size) == 0)
            return (const char *)pdf + i;
    }
    return NULL;
}

static void renders_one_a4_page(void **state)
{
    (void)state;
    invoice_facts facts[] = {company_facts(), company_facts()};
    facts[1].buyer_tax_id = NULL; /* a person */
    facts[1].voided = true;
    for (size_t i = 0; i < ARRAY_COUNT(facts); i++) {
        size_t size = 0;
        unsigned char *pdf = render_ok(&facts[i], &size);
        assert_true(size > 1000);
        assert_memory_equal(pdf, "%PDF-", 5);
        size_t end = size;
        while (end > 0 && (pdf[end - 1] == '\n' || pdf[end - 1] == '\r'))
            end--;
        assert_memory_equal(pdf + end - 5, "%%EOF", 5);
        const char *box = find_bytes(pdf, size, "/MediaBox [");
        assert_non_null(box);
        double x0 = -1, y0 = -1, width = 0, height = 0;
        assert_int_equal(sscanf(box, "/MediaBox [ %lf %lf %lf %lf", &x0, &y0, &width, &height), 4);
        assert_float_equal(width, 210 * POINTS_PER_MM, 0.01);
        assert_float_equal(height, 297 * POINTS_PER_MM, 0.01);
        assert_non_null(find_bytes(pdf, size, "/Count 1"));
        free(pdf);
    }
}

static void rendering_is_reproducible(void **state)
{
    (void)state;
    invoice_facts facts = company_facts();
    size_t first_size = 0, second_size = 0;
    unsigned char *first = render_ok(&facts, &first_size);
    unsigned char *second = render_ok(&facts, &second_size);
    assert_int_equal(first_size, second_size);
    assert_memory_equal(first, second, first_size);
    free(first);
    free(second);
}

/* ---- reading the text back ---------------------------------------------------------------- */

static bool tool_installed(const char *tool)
{
    char command[COMMAND_SIZE_MAX];
    snprintf(command, sizeof command, "command -v %s >/dev/null 2>&1", tool);
    return system(command) == 0;
}

/* The page's text as pdftotext reads it (malloc'd). */
static char *pdf_text(const invoice_facts *facts)
{
    size_t size = 0;
    unsigned char *pdf = render_ok(facts, &size);
    char directory[] = "/tmp/topup-invoice-XXXXXX";
    assert_non_null(mkdtemp(directory));
    char path[64];
    snprintf(path, sizeof path, "%s/invoice.pdf", directory);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(pdf, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
    free(pdf);
    char command[COMMAND_SIZE_MAX];
    snprintf(command, sizeof command, "pdftotext -enc UTF-8 %s -", path);
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    char *text = malloc(OUTPUT_SIZE_MAX);
    assert_non_null(text);
    size_t text_size = fread(text, 1, OUTPUT_SIZE_MAX - 1, pipe);
    text[text_size] = '\0';
    assert_int_equal(pclose(pipe), 0);
    unlink(path);
    rmdir(directory);
    return text;
}

static void assert_contains(const char *text, const char *expected)
{
    if (strstr(text, expected) == NULL)
        fail_msg("\"%s\" not in the invoice's text:\n%s", expected, text);
}

/* What finance reads and searches for is real text, Chinese included. */
static void text_reads_back_with_pdftotext(void **state)
{
    (void)state;
    if (!tool_installed("pdftotext")) {
        print_message("skipped: pdftotext is not installed (Debian package poppler-utils)\n");
        skip();
    }
    invoice_facts facts = company_facts();
    char *text = pdf_text(&facts);
    assert_contains(text, "充值发票信息");
    assert_contains(text, "北京某某科技有限公司");
    assert_contains(text, "91110000600037341L");
    assert_contains(text, "¥50.00");
    assert_contains(text, "7654321");
    assert_contains(text, "2025-11-25");
    assert_contains(text, "中国移动");
    assert_contains(text, "北京西单营业厅");
    assert_contains(text, "王丽");
    assert_contains(text, "话费充值");
    assert_null(strstr(text, "VOID")); /* the notes say "void" in lower case */
    free(text);

    facts.voided = true;
    facts.buyer_tax_id = "";
    facts.currency = "USD";
    text = pdf_text(&facts);
    /* The tilted stamp reads back out of order in pdftotext, but it is there. */
    assert_contains(text, "VOID");
    assert_contains(text, "Individual");
    assert_contains(text, "USD 50.00");
    free(text);
}

/* ---- refusals ------------------------------------------------------------------------------ */

typedef void (*spoil_fn)(invoice_facts *facts);

static void zero_order(invoice_facts *f)
{
    f->order_id = 0;
}
static void zero_amount(invoice_facts *f)
{
    f->amount_minor = 0;
}
static void negative_amount(invoice_facts *f)
{
    f->amount_minor = -5000;
}
static void no_time(invoice_facts *f)
{
    f->created_at = 0;
}
static void no_title(invoice_facts *f)
{
    f->buyer_title = NULL;
}
static void empty_title(invoice_facts *f)
{
    f->buyer_title = "";
}
static void newline_in_title(invoice_facts *f)
{
    f->buyer_title = "北京某某\n科技有限公司";
}
static void broken_utf8_in_title(invoice_facts *f)
{
    f->buyer_title = "\xe5\x8c";
}
static void lower_case_tax_id(invoice_facts *f)
{
    f->buyer_tax_id = "91110000600037341l";
}
static void short_tax_id(invoice_facts *f)
{
    f->buyer_tax_id = "91110000600037";
}
static void long_tax_id(invoice_facts *f)
{
    f->buyer_tax_id = "911100006000373410000";
}
static void no_seller(invoice_facts *f)
{
    f->seller = NULL;
}
static void no_hall(invoice_facts *f)
{
    f->hall_name = "";
}
static void bidi_override_in_teller(invoice_facts *f)
{
    f->teller_name = "王\xe2\x80\xae丽";
}
static void no_currency(invoice_facts *f)
{
    f->currency = NULL;
}

static void bad_facts_are_refused(void **state)
{
    (void)state;
    const spoil_fn spoilers[] = {
        zero_order,        zero_amount,
        negative_amount,   no_time,
        no_title,          empty_title,
        newline_in_title,  broken_utf8_in_title,
        lower_case_tax_id, short_tax_id,
        long_tax_id,       no_seller,
        no_hall,           bidi_override_in_teller,
        no_currency,
    };
    for (size_t i = 0; i < ARRAY_COUNT(spoilers); i++) {
        invoice_facts facts = company_facts();
        spoilers[i](&facts);
        unsigned char *pdf = (unsigned char *)"sentinel";
        size_t size = 99;
        assert_int_equal(invoice_render_pdf(&facts, &pdf, &size), TOPUP_E_INVALID_ARGUMENT);
        assert_null(pdf);
        assert_int_equal(size, 0);
    }
    invoice_facts facts = company_facts();
    facts.currency = "XXQ";
    unsigned char *pdf = NULL;
    size_t size = 0;
    assert_int_equal(invoice_render_pdf(&facts, &pdf, &size), TOPUP_E_CURRENCY_UNKNOWN);
    assert_null(pdf);
    assert_int_equal(invoice_render_pdf(NULL, &pdf, &size), TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(invoice_render_pdf(&facts, NULL, &size), TOPUP_E_INVALID_ARGUMENT);
}

/* The longest title counter_orders keeps (64 Chinese characters) still renders; one more
 * byte does not. */
static void title_at_the_limit_is_accepted(void **state)
{
    (void)state;
    char title[INVOICE_TITLE_SIZE_MAX + 4] = "";
    for (int i = 0; i < INVOICE_TITLE_SIZE_MAX / 3; i++)
        strcat(title, "鑫");
    invoice_facts facts = company_facts();
    facts.buyer_title = title;
    size_t size = 0;
    free(render_ok(&facts, &size));
    strcat(title, "a");
    unsigned char *pdf = NULL;
    assert_int_equal(invoice_render_pdf(&facts, &pdf, &size), TOPUP_E_INVALID_ARGUMENT);
}

static void tax_id_shapes(void **state)
{
    (void)state;
    assert_true(invoice_tax_id_valid("91110000600037341L"));
    assert_true(invoice_tax_id_valid("110108000000016"));
    assert_true(invoice_tax_id_valid("11010800000001600000"));
    assert_false(invoice_tax_id_valid(NULL));
    assert_false(invoice_tax_id_valid(""));
    assert_false(invoice_tax_id_valid("9111 0000600037341L"));
    assert_false(invoice_tax_id_valid("91110000600037341-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_one_a4_page),
        cmocka_unit_test(rendering_is_reproducible),
        cmocka_unit_test(text_reads_back_with_pdftotext),
        cmocka_unit_test(bad_facts_are_refused),
        cmocka_unit_test(title_at_the_limit_is_accepted),
        cmocka_unit_test(tax_id_shapes),
    };
    receipt_fonts_load();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
