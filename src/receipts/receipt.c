#include "receipts/receipt.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pango/pangocairo.h>
#include <qrencode.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "core/clock.h"
#include "core/money.h"

/* ---- check codes ------------------------------------------------------------------------ */

#define CHECK_HEX_COUNT (RECEIPT_CHECK_SIZE - 1)

topup_result receipt_check_code(const unsigned char *key, size_t key_size, int64_t order_id,
                                char code[RECEIPT_CHECK_SIZE])
{
    /* An empty key would let anyone compute every code: a configuration bug, not an input. */
    assert(key != NULL && key_size > 0 && key_size <= INT_MAX);
    code[0] = '\0';
    /* The "receipt:" prefix separates these codes from anything else the same key might sign. */
    char message[40];
    int message_size = snprintf(message, sizeof message, "receipt:%" PRId64, order_id);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_size, (const unsigned char *)message,
              (size_t)message_size, mac, &mac_size))
        return TOPUP_E_NOMEM;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < CHECK_HEX_COUNT / 2; i++) {
        code[2 * i] = digits[mac[i] >> 4];
        code[2 * i + 1] = digits[mac[i] & 15];
    }
    code[CHECK_HEX_COUNT] = '\0';
    return TOPUP_OK;
}

bool receipt_check_valid(const unsigned char *key, size_t key_size, int64_t order_id,
                         const char *code)
{
    if (code == NULL || strnlen(code, RECEIPT_CHECK_SIZE) != CHECK_HEX_COUNT)
        return false;
    char expected[RECEIPT_CHECK_SIZE];
    if (receipt_check_code(key, key_size, order_id, expected) != TOPUP_OK)
        return false;
    /* Constant time: how many leading characters of a guess matched must not show in how long
     * the answer takes, or the code could be found one character at a time. */
    return CRYPTO_memcmp(expected, code, CHECK_HEX_COUNT) == 0;
}

/* ---- labels ------------------------------------------------------------------------------ */

/* The printed words of one language. Values (operator, product, payment method) arrive already
 * in the receipt's language; only what topup itself prints is here. */
typedef struct labels {
    const char *brand;    /* default title line */
    const char *subtitle; /* what the document is */
    const char *order_id; /* row labels, top to bottom */
    const char *status;
    const char *created_at;
    const char *paid_at;
    const char *number;
    const char *operator_name;
    const char *product;
    const char *face_value;
    const char *price;
    const char *payment_method;
    const char *payment_reference;
    const char *hall;
    const char *teller;
    const char *reprint; /* the marks */
    const char *voided;
    const char *scan_to_verify;               /* caption under the QR code */
    const char *not_an_invoice;               /* last line: a receipt is not a 发票 */
    const char *statuses[ORDER_STATUS_COUNT]; /* NULL for states that have no receipt */
} labels;

static const labels labels_zh = {
    .brand = "topup 话费充值",
    .subtitle = "充值凭证",
    .order_id = "订单号",
    .status = "状态",
    .created_at = "下单时间",
    .paid_at = "支付时间",
    .number = "充值号码",
    .operator_name = "运营商",
    .product = "充值产品",
    .face_value = "面值",
    .price = "实付金额",
    .payment_method = "支付方式",
    .payment_reference = "支付流水号",
    .hall = "营业厅",
    .teller = "营业员",
    .reprint = "补打",
    .voided = "作废",
    .scan_to_verify = "扫码验证凭证真伪",
    .not_an_invoice = "本凭证不作为发票使用",
    .statuses =
        {
            [ORDER_PAID] = "已支付",
            [ORDER_SUBMITTED] = "充值中",
            [ORDER_SUCCEEDED] = "充值成功",
            [ORDER_FAILED] = "充值失败",
            [ORDER_REFUNDED] = "已退款",
            [ORDER_UNKNOWN] = "结果确认中",
            [ORDER_REVERSED] = "已冲正",
        },
};

static const labels labels_en = {
    .brand = "topup mobile recharge",
    .subtitle = "Recharge receipt",
    .order_id = "Order no.",
    .status = "Status",
    .created_at = "Ordered",
    .paid_at = "Paid",
    .number = "Number",
    .operator_name = "Operator",
    .product = "Product",
    .face_value = "Face value",
    .price = "Amount paid",
    .payment_method = "Payment",
    .payment_reference = "Payment ref.",
    .hall = "Business hall",
    .teller = "Teller",
    .reprint = "REPRINT",
    .voided = "VOID",
    .scan_to_verify = "Scan to check this receipt is genuine",
    .not_an_invoice = "This receipt is not a tax invoice.",
    .statuses =
        {
            [ORDER_PAID] = "Paid",
            [ORDER_SUBMITTED] = "Processing",
            [ORDER_SUCCEEDED] = "Succeeded",
            [ORDER_FAILED] = "Failed",
            [ORDER_REFUNDED] = "Refunded",
            [ORDER_UNKNOWN] = "Being confirmed",
            [ORDER_REVERSED] = "Reversed",
        },
};

/* ---- validation and formatting ----------------------------------------------------------- */

#define TIME_TEXT_SIZE   48 /* "2026-11-25 21:30:05 (UTC+08:00)" with room for 5-digit years */
#define AMOUNT_TEXT_SIZE (MONEY_TEXT_SIZE_MAX + CURRENCY_CODE_SIZE + 4) /* "CNY " + amount */
#define ORDER_TEXT_SIZE  24 /* an int64 in decimal and NUL */
#define OFFSET_HOURS_MAX 14 /* the widest offsets in use run from -12:00 to +14:00 */

/* What the drawing code prints: the caller's strings, checked, and topup's formatted ones. */
typedef struct receipt_text {
    const receipt_facts *facts;
    const labels *labels;
    const char *brand;
    const char *status;
    char order_id[ORDER_TEXT_SIZE];
    char created_at[TIME_TEXT_SIZE];
    char paid_at[TIME_TEXT_SIZE];
    char face_value[AMOUNT_TEXT_SIZE];
    char price[AMOUNT_TEXT_SIZE];
    char pdf_date[TIME_TEXT_SIZE]; /* ISO 8601 paid time: the PDF's creation date */
} receipt_text;

static bool is_empty(const char *text)
{
    return text == NULL || text[0] == '\0';
}

/* Without control or format characters: pango draws nothing sensible from broken UTF-8, a
 * newline would break a row, and a bidi override could make the printed text read differently
 * from what topup stored. */
bool receipt_text_valid(const char *text, size_t size_max)
{
    size_t size = strnlen(text, size_max + 1);
    if (size > size_max || !g_utf8_validate(text, (gssize)size, NULL))
        return false;
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        GUnicodeType type = g_unichar_type(g_utf8_get_char(p));
        if (type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT)
            return false;
    }
    return true;
}

/* A receipt's field: valid text of at most RECEIPT_TEXT_SIZE_MAX bytes. */
static bool text_ok(const char *text, bool required)
{
    if (is_empty(text))
        return !required;
    return receipt_text_valid(text, RECEIPT_TEXT_SIZE_MAX);
}

/* Digits, spaces, a leading '+' and at least one '*': a receipt can be shown to anyone holding
 * it, so a number that arrives unmasked by mistake is refused rather than printed. */
static bool masked_number_ok(const char *number)
{
    if (!text_ok(number, true))
        return false;
    size_t size = strlen(number);
    return strspn(number, "+0123456789 *") == size && strchr(number, '*') != NULL &&
           strchr(number + 1, '+') == NULL;
}

/* An http(s) URL of printable ASCII without quotes, backslashes or angle brackets: it goes into
 * a QR code, a line of text and the PDF link annotation, whose attribute syntax quotes with '. */
static bool verify_url_ok(const char *url)
{
    if (url == NULL)
        return false;
    size_t size = strnlen(url, RECEIPT_URL_SIZE_MAX + 1);
    if (size > RECEIPT_URL_SIZE_MAX)
        return false;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return false;
    for (const char *p = url; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~' || strchr("'\"\\<>", *p) != NULL)
            return false;
    }
    return strstr(url, "://")[3] != '\0';
}

/* Parses "+HH:MM" / "-HH:MM" into seconds east of UTC. */
static bool utc_offset_parse(const char *text, int *offset_seconds /* OUT */)
{
    if (strlen(text) != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':')
        return false;
    if (!isdigit((unsigned char)text[1]) || !isdigit((unsigned char)text[2]) ||
        !isdigit((unsigned char)text[4]) || !isdigit((unsigned char)text[5]))
        return false;
    int hours = (text[1] - '0') * 10 + (text[2] - '0');
    int minutes = (text[4] - '0') * 10 + (text[5] - '0');
    if (hours > OFFSET_HOURS_MAX || minutes > 59)
        return false;
    int seconds = hours * 3600 + minutes * 60;
    *offset_seconds = text[0] == '-' ? -seconds : seconds;
    return true;
}

/* Formats unix seconds in the given zone, both as printed and as an ISO 8601 date. */
static bool time_format(int64_t unix_seconds, int offset_seconds, const char *offset_text,
                        char printed[TIME_TEXT_SIZE], char iso[TIME_TEXT_SIZE])
{
    if (unix_seconds <= 0 || unix_seconds > CLOCK_SECONDS_MAX)
        return false;
    time_t local = (time_t)(unix_seconds + offset_seconds);
    struct tm fields;
    if (gmtime_r(&local, &fields) == NULL)
        return false;
    snprintf(printed, TIME_TEXT_SIZE, "%04d-%02d-%02d %02d:%02d:%02d (UTC%s)",
             fields.tm_year + 1900, fields.tm_mon + 1, fields.tm_mday, fields.tm_hour,
             fields.tm_min, fields.tm_sec, offset_text);
    snprintf(iso, TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d%s", fields.tm_year + 1900,
             fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min, fields.tm_sec,
             offset_text);
    return true;
}

/* "¥50.00" on a Chinese receipt in yuan, where the sign is what everyone reads; "CNY 50.00"
 * otherwise, because ¥ alone also means yen to an English reader. */
static topup_result amount_format(int64_t amount_minor, const char *currency, bool chinese,
                                  char text[AMOUNT_TEXT_SIZE])
{
    if (amount_minor < 0 || currency == NULL)
        return TOPUP_E_INVALID_ARGUMENT;
    char number[MONEY_TEXT_SIZE_MAX];
    topup_result r = money_format(amount_minor, currency, number, sizeof number);
    if (r != TOPUP_OK)
        return r;
    if (chinese && strcmp(currency, "CNY") == 0)
        snprintf(text, AMOUNT_TEXT_SIZE, "¥%s", number);
    else
        snprintf(text, AMOUNT_TEXT_SIZE, "%s %s", currency, number);
    return TOPUP_OK;
}

static bool optional_texts_ok(const receipt_facts *facts)
{
    return text_ok(facts->brand, false) && text_ok(facts->payment_reference, false) &&
           text_ok(facts->teller_name, false) && text_ok(facts->hall_name, false);
}

static bool required_texts_ok(const receipt_facts *facts)
{
    return masked_number_ok(facts->masked_number) && text_ok(facts->operator_name, true) &&
           text_ok(facts->product, true) && text_ok(facts->payment_method, true) &&
           verify_url_ok(facts->verify_url);
}

static const labels *labels_for(const char *language)
{
    if (language == NULL || strcmp(language, "zh-CN") == 0)
        return &labels_zh;
    if (strcmp(language, "en") == 0)
        return &labels_en;
    return NULL;
}

static topup_result times_format(const receipt_facts *facts, receipt_text *text)
{
    const char *offset_text = facts->utc_offset ? facts->utc_offset : "+08:00";
    int offset_seconds = 0;
    char unused_iso[TIME_TEXT_SIZE];
    if (!utc_offset_parse(offset_text, &offset_seconds) ||
        !time_format(facts->created_at, offset_seconds, offset_text, text->created_at,
                     unused_iso) ||
        !time_format(facts->paid_at, offset_seconds, offset_text, text->paid_at, text->pdf_date))
        return TOPUP_E_INVALID_ARGUMENT;
    return TOPUP_OK;
}

/* Checks every fact and formats what topup prints itself. Nothing is allocated. */
static topup_result receipt_text_prepare(const receipt_facts *facts, receipt_text *text /* OUT */)
{
    memset(text, 0, sizeof *text);
    text->facts = facts;
    text->labels = labels_for(facts->language);
    if (text->labels == NULL || facts->order_id <= 0 || facts->face_value_minor <= 0 ||
        facts->price_minor < 0 || (unsigned)facts->status >= ORDER_STATUS_COUNT)
        return TOPUP_E_INVALID_ARGUMENT;
    /* A receipt says money was received: an order that was never paid must not get one. */
    text->status = text->labels->statuses[facts->status];
    if (text->status == NULL || !optional_texts_ok(facts) || !required_texts_ok(facts))
        return TOPUP_E_INVALID_ARGUMENT;
    text->brand = is_empty(facts->brand) ? text->labels->brand : facts->brand;
    snprintf(text->order_id, sizeof text->order_id, "%" PRId64, facts->order_id);
    bool chinese = text->labels == &labels_zh;
    topup_result r =
        amount_format(facts->face_value_minor, facts->face_currency, chinese, text->face_value);
    if (r == TOPUP_OK)
        r = amount_format(facts->price_minor, facts->price_currency, chinese, text->price);
    if (r == TOPUP_OK)
        r = times_format(facts, text);
    return r;
}

/* ---- the QR code ------------------------------------------------------------------------- */

/* Level Q restores a quarter of the symbol: thermal paper fades and gets folded in pockets, and
 * the URL is short enough that the larger symbol still has big modules. */
static topup_result qr_encode(const char *url, QRcode **qr /* OUT */)
{
    errno = 0;
    *qr = QRcode_encodeString(url, 0, QR_ECLEVEL_Q, QR_MODE_8, 1);
    if (*qr != NULL)
        return TOPUP_OK;
    return errno == ENOMEM ? TOPUP_E_NOMEM : TOPUP_E_INVALID_ARGUMENT;
}

/* ---- drawing ------------------------------------------------------------------------------ */

#define POINTS_PER_MM      (72.0 / 25.4)
#define PRINTER_DOT_MM     0.125  /* a 203 dpi thermal head: 8 dots per mm */
#define QR_QUIET_MODULES   4      /* the blank border the QR standard asks for around the symbol */
#define QR_MODULE_DOTS_MIN 4      /* 0.5 mm: what a phone camera reads from a hand-held receipt */
#define LABEL_SHARE_MAX    0.45   /* a row's label never takes more than this of the width */
#define ROW_GUTTER_MM      3.0    /* between a row's label and its value */
#define WATERMARK_SHARE    0.7    /* the VOID watermark spans this much of the width */
#define WATERMARK_ANGLE    (-0.5) /* radians: diagonal, as a stamp is put on */

/* WenQuanYi Micro Hei first (Debian's fonts-wqy-microhei, what scripts/deps.sh installs): a
 * TrueType font, which matters twice with cairo 1.16. Its subsets embed small (a receipt is about
 * 40 KiB, against 140 KiB with the CFF-based Noto Sans CJK, whose subroutines cairo copies whole),
 * and cairo leaks about 770 bytes for every CFF font subset it embeds, which a long-running
 * topupd would accumulate receipt after receipt; TrueType subsets do not leak. Noto Sans CJK SC
 * next, then whatever fontconfig has. One family for all text, so Latin, digits and Chinese share
 * a baseline and a look. */
static const char font_sans[] = RECEIPT_FONT_SANS;
static const char font_mono[] = "WenQuanYi Micro Hei Mono, Noto Sans Mono CJK SC, monospace";

/* The measurements of one layout, in points. */
typedef struct receipt_style {
    double page_width;  /* the paper's width */
    double page_height; /* 0: as long as the content (a roll) */
    double margin_side; /* left and right */
    double margin_top;
    double margin_bottom; /* on a roll: room to tear the paper off below the last line */
    double body_size;     /* font sizes */
    double small_size;
    double title_size;
    double amount_size;
    double row_gap;     /* between rows */
    double section_gap; /* around a rule */
    double qr_side;     /* the QR symbol's target side, quiet zone excluded */
    double label_gray;  /* 0 black .. 1 white; a thermal head prints only black */
    bool dashed_rules;  /* rolls use dashes, as till receipts do */
} receipt_style;

static const receipt_style style_a5 = {
    .page_width = 148 * POINTS_PER_MM,
    .page_height = 210 * POINTS_PER_MM,
    .margin_side = 18 * POINTS_PER_MM,
    .margin_top = 16 * POINTS_PER_MM,
    .margin_bottom = 12 * POINTS_PER_MM,
    .body_size = 10,
    .small_size = 8,
    .title_size = 17,
    .amount_size = 15,
    .row_gap = 5,
    .section_gap = 8,
    .qr_side = 36 * POINTS_PER_MM,
    .label_gray = 0.4,
    .dashed_rules = false,
};

static const receipt_style style_roll = {
    .page_width = 80 * POINTS_PER_MM,
    .page_height = 0,
    .margin_side = 4 * POINTS_PER_MM, /* 72 mm printable on an 80 mm roll */
    .margin_top = 4 * POINTS_PER_MM,
    .margin_bottom = 12 * POINTS_PER_MM,
    .body_size = 9,
    .small_size = 7.5,
    .title_size = 13,
    .amount_size = 13,
    .row_gap = 3.5,
    .section_gap = 6,
    .qr_side = 36 * POINTS_PER_MM,
    .label_gray = 0,
    .dashed_rules = true,
};

/* Where the next line goes. */
typedef struct pen {
    cairo_t *cr;
    PangoContext *context;
    const receipt_style *style;
    double left;  /* the content box's left edge */
    double width; /* the content box's width */
    double y;     /* the top of the next line */
} pen;

typedef struct font {
    const char *family;
    double size;
    bool bold;
} font;

/* A layout of text (never markup: the facts are plain text, so "<" in a name prints as "<").
 * width <= 0 leaves the text on one line at its natural width. The caller unrefs it. */
static PangoLayout *layout_new(const pen *p, const char *text, font f, double width,
                               PangoAlignment alignment)
{
    PangoLayout *layout = pango_layout_new(p->context);
    PangoFontDescription *description = pango_font_description_new();
    pango_font_description_set_family(description, f.family);
    pango_font_description_set_absolute_size(description, f.size * PANGO_SCALE);
    pango_font_description_set_weight(description,
                                      f.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, description);
    pango_font_description_free(description);
    if (width > 0) {
        pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
        /* Trade numbers and URLs have no spaces: break inside a word rather than overflow. */
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    }
    /* No hyphen where a word breaks: in a URL or a trade number it would read as a character
     * someone has to type. */
    PangoAttrList *attributes = pango_attr_list_new();
    pango_attr_list_insert(attributes, pango_attr_insert_hyphens_new(FALSE));
    pango_layout_set_attributes(layout, attributes);
    pango_attr_list_unref(attributes);
    pango_layout_set_alignment(layout, alignment);
    pango_layout_set_text(layout, text, -1);
    return layout;
}

static double layout_height(PangoLayout *layout)
{
    int width = 0, height = 0;
    pango_layout_get_size(layout, &width, &height);
    return (double)height / PANGO_SCALE;
}

static double layout_width(PangoLayout *layout)
{
    int width = 0, height = 0;
    pango_layout_get_size(layout, &width, &height);
    return (double)width / PANGO_SCALE;
}

static double layout_baseline(PangoLayout *layout)
{
    return (double)pango_layout_get_baseline(layout) / PANGO_SCALE;
}

static void show_layout(const pen *p, PangoLayout *layout, double x, double y, double gray)
{
    cairo_set_source_rgb(p->cr, gray, gray, gray);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, layout);
}

/* A paragraph across the content width, wrapped as needed. */
static void put_block(pen *p, const char *text, font f, PangoAlignment alignment, double gray)
{
    PangoLayout *layout = layout_new(p, text, f, p->width, alignment);
    show_layout(p, layout, p->left, p->y, gray);
    p->y += layout_height(layout);
    g_object_unref(layout);
}

/* The row's label at its natural width, wrapped if it would take more than its share. */
static PangoLayout *label_layout_new(const pen *p, const char *label)
{
    font label_font = {font_sans, p->style->body_size, false};
    PangoLayout *layout = layout_new(p, label, label_font, 0, PANGO_ALIGN_LEFT);
    double width_max = p->width * LABEL_SHARE_MAX;
    if (layout_width(layout) > width_max) {
        pango_layout_set_width(layout, (int)(width_max * PANGO_SCALE));
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    }
    return layout;
}

/* Label and value on one line, on a shared baseline (not tops: the amount is in a larger
 * font), the value ending at the right edge. */
static void show_side_by_side(pen *p, PangoLayout *label, PangoLayout *value)
{
    double baseline = fmax(layout_baseline(label), layout_baseline(value));
    double label_top = p->y + baseline - layout_baseline(label);
    double value_top = p->y + baseline - layout_baseline(value);
    show_layout(p, label, p->left, label_top, p->style->label_gray);
    show_layout(p, value, p->left + p->width - layout_width(value), value_top, 0);
    p->y = fmax(label_top + layout_height(label), value_top + layout_height(value));
}

/* The label on its line and the value below it, right-aligned across the whole width and
 * wrapped only if even that is too narrow. */
static void show_stacked(pen *p, PangoLayout *label, PangoLayout *value)
{
    show_layout(p, label, p->left, p->y, p->style->label_gray);
    p->y += layout_height(label);
    pango_layout_set_width(value, (int)(p->width * PANGO_SCALE));
    pango_layout_set_wrap(value, PANGO_WRAP_WORD_CHAR);
    show_layout(p, value, p->left, p->y, 0);
    p->y += layout_height(value);
}

/* A label on the left and its value on the right, so the values of every row line up on the
 * right edge. A value too wide for the room beside its label goes on its own line below rather
 * than wrapping there: a trade number broken before its last digit is easy to misread. */
static void put_row(pen *p, const char *label, const char *value, font value_font)
{
    PangoLayout *label_layout = label_layout_new(p, label);
    PangoLayout *value_layout = layout_new(p, value, value_font, 0, PANGO_ALIGN_RIGHT);
    double room = p->width - layout_width(label_layout) - ROW_GUTTER_MM * POINTS_PER_MM;
    if (layout_width(value_layout) <= room)
        show_side_by_side(p, label_layout, value_layout);
    else
        show_stacked(p, label_layout, value_layout);
    p->y += p->style->row_gap;
    g_object_unref(label_layout);
    g_object_unref(value_layout);
}

static void put_plain_row(pen *p, const char *label, const char *value)
{
    put_row(p, label, value, (font){font_sans, p->style->body_size, false});
}

/* A horizontal rule with a section gap above and below. */
static void put_rule(pen *p)
{
    const receipt_style *s = p->style;
    p->y += s->section_gap / 2;
    cairo_save(p->cr);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    cairo_set_line_width(p->cr, s->dashed_rules ? 0.8 : 0.6);
    if (s->dashed_rules) {
        static const double dash[] = {3, 2};
        cairo_set_dash(p->cr, dash, 2, 0);
    }
    cairo_move_to(p->cr, p->left, p->y);
    cairo_line_to(p->cr, p->left + p->width, p->y);
    cairo_stroke(p->cr);
    cairo_restore(p->cr);
    p->y += s->section_gap / 2 + s->row_gap;
}

/* A mark across the width: filled black with white letters (VOID, impossible to overlook) or
 * outlined (REPRINT, a notice). Both print on a thermal head, which has no colour. */
static void put_mark(pen *p, const char *text, bool filled)
{
    const receipt_style *s = p->style;
    font f = {font_sans, s->title_size, true};
    PangoLayout *layout = layout_new(p, text, f, p->width, PANGO_ALIGN_CENTER);
    double padding = s->body_size * 0.4;
    double height = layout_height(layout) + 2 * padding;
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    cairo_set_line_width(p->cr, 1.5);
    cairo_rectangle(p->cr, p->left, p->y, p->width, height);
    if (filled)
        cairo_fill(p->cr);
    else
        cairo_stroke(p->cr);
    show_layout(p, layout, p->left, p->y + padding, filled ? 1 : 0);
    p->y += height + s->row_gap * 2;
    g_object_unref(layout);
}

/* The module size: the target side shared among the modules, snapped down to whole printer
 * dots so that every module prints equally wide (uneven modules are what makes scanners fail),
 * and never below QR_MODULE_DOTS_MIN: a long URL makes the symbol larger, not its modules
 * smaller than a camera reads. */
static double qr_module_size(const receipt_style *s, int modules)
{
    double module_mm = s->qr_side / POINTS_PER_MM / modules;
    double dots = fmax(floor(module_mm / PRINTER_DOT_MM), QR_MODULE_DOTS_MIN);
    return dots * PRINTER_DOT_MM * POINTS_PER_MM;
}

/* The symbol, centred, with its quiet zone kept free. Each run of dark modules in a row is one
 * rectangle and all go into one fill, so no hairline seams appear between neighbours. */
static void put_qr(pen *p, const QRcode *qr)
{
    double module = qr_module_size(p->style, qr->width);
    double side = module * qr->width;
    double x0 = p->left + (p->width - side) / 2;
    double y0 = p->y + module * QR_QUIET_MODULES;
    for (int row = 0; row < qr->width; row++) {
        int column = 0;
        while (column < qr->width) {
            if (!(qr->data[row * qr->width + column] & 1)) {
                column++;
                continue;
            }
            int start = column;
            while (column < qr->width && (qr->data[row * qr->width + column] & 1))
                column++;
            cairo_rectangle(p->cr, x0 + start * module, y0 + row * module,
                            (column - start) * module, module);
        }
    }
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    cairo_fill(p->cr);
    p->y = y0 + side + module * QR_QUIET_MODULES;
}

/* The URL as text under the QR code, also a link in the PDF (a click opens the check page). */
static void put_url(pen *p, const char *url)
{
    char attributes[RECEIPT_URL_SIZE_MAX + 8];
    snprintf(attributes, sizeof attributes, "uri='%s'", url);
    cairo_tag_begin(p->cr, CAIRO_TAG_LINK, attributes);
    /* Proportional, not monospace: the usual URL then fits one line of a 72 mm roll, and the
     * check code is hex, which has no 0/O or 1/l to confuse. */
    put_block(p, url, (font){font_sans, p->style->small_size, false}, PANGO_ALIGN_CENTER, 0);
    cairo_tag_end(p->cr, CAIRO_TAG_LINK);
}

/* A voided receipt also carries a large diagonal outline across its details, so cutting off
 * the VOID banner does not make it look valid. Drawn as outlines, not text: it stays out of the
 * text a reader or pdftotext extracts. */
static void put_void_watermark(pen *p, const char *text, double top, double bottom)
{
    font f = {font_sans, 100, true};
    PangoLayout *layout = layout_new(p, text, f, 0, PANGO_ALIGN_LEFT);
    double scale = p->width * WATERMARK_SHARE / layout_width(layout);
    cairo_save(p->cr);
    cairo_translate(p->cr, p->left + p->width / 2, (top + bottom) / 2);
    cairo_rotate(p->cr, WATERMARK_ANGLE);
    cairo_scale(p->cr, scale, scale);
    cairo_move_to(p->cr, -layout_width(layout) / 2, -layout_height(layout) / 2);
    pango_cairo_layout_path(p->cr, layout);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    cairo_set_line_width(p->cr, 1.2 / scale);
    cairo_stroke(p->cr);
    cairo_restore(p->cr);
    g_object_unref(layout);
}

static void put_header(pen *p, const receipt_text *t)
{
    const receipt_style *s = p->style;
    put_block(p, t->brand, (font){font_sans, s->title_size, true}, PANGO_ALIGN_CENTER, 0);
    p->y += s->row_gap / 2;
    put_block(p, t->labels->subtitle, (font){font_sans, s->body_size, false}, PANGO_ALIGN_CENTER,
              s->label_gray);
    put_rule(p);
    if (t->facts->voided)
        put_mark(p, t->labels->voided, true);
    if (t->facts->reprint)
        put_mark(p, t->labels->reprint, false);
}

static void put_order_section(pen *p, const receipt_text *t)
{
    const labels *l = t->labels;
    font mono = {font_mono, p->style->body_size, false};
    font bold = {font_sans, p->style->body_size, true};
    put_row(p, l->order_id, t->order_id, mono);
    put_row(p, l->status, t->status, bold);
    put_plain_row(p, l->created_at, t->created_at);
    put_plain_row(p, l->paid_at, t->paid_at);
}

static void put_recharge_section(pen *p, const receipt_text *t)
{
    const labels *l = t->labels;
    const receipt_facts *f = t->facts;
    put_row(p, l->number, f->masked_number, (font){font_mono, p->style->body_size, true});
    put_plain_row(p, l->operator_name, f->operator_name);
    put_plain_row(p, l->product, f->product);
    put_plain_row(p, l->face_value, t->face_value);
}

static void put_payment_section(pen *p, const receipt_text *t)
{
    const labels *l = t->labels;
    const receipt_facts *f = t->facts;
    put_row(p, l->price, t->price, (font){font_sans, p->style->amount_size, true});
    put_plain_row(p, l->payment_method, f->payment_method);
    if (!is_empty(f->payment_reference))
        put_row(p, l->payment_reference, f->payment_reference,
                (font){font_mono, p->style->body_size, false});
    if (!is_empty(f->hall_name))
        put_plain_row(p, l->hall, f->hall_name);
    if (!is_empty(f->teller_name))
        put_plain_row(p, l->teller, f->teller_name);
}

static void put_verification(pen *p, const receipt_text *t, const QRcode *qr)
{
    const receipt_style *s = p->style;
    put_qr(p, qr);
    put_block(p, t->labels->scan_to_verify, (font){font_sans, s->body_size, false},
              PANGO_ALIGN_CENTER, 0);
    put_url(p, t->facts->verify_url);
    p->y += s->section_gap;
    put_block(p, t->labels->not_an_invoice, (font){font_sans, s->small_size, false},
              PANGO_ALIGN_CENTER, s->label_gray);
}

/* The whole receipt from p->y down; p->y ends below the last line. */
static void draw_receipt(pen *p, const receipt_text *t, const QRcode *qr)
{
    put_header(p, t);
    double details_top = p->y;
    put_order_section(p, t);
    put_rule(p);
    put_recharge_section(p, t);
    put_rule(p);
    put_payment_section(p, t);
    double details_bottom = p->y;
    put_rule(p);
    put_verification(p, t, qr);
    if (t->facts->voided)
        put_void_watermark(p, t->labels->voided, details_top, details_bottom);
}

/* What both passes (measuring, then the PDF) draw from. */
typedef struct receipt_job {
    const receipt_style *style;
    const receipt_text *text;
    const QRcode *qr;
    /* This render's own font map, not pango's per-thread default: its font and fontconfig
     * caches go away with the render instead of living as long as the thread (topupd's worker
     * threads would each keep one), and no state is shared between threads. */
    PangoFontMap *font_map;
} receipt_job;

/* A pango context for cr with metrics that do not depend on the surface: hinting snaps glyphs
 * to a device's pixels, and the measuring surface and the PDF must lay out identically. */
static PangoContext *context_new(const receipt_job *job, cairo_t *cr)
{
    PangoContext *context = pango_font_map_create_context(job->font_map);
    pango_cairo_update_context(cr, context);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(context, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(context, FALSE);
    /* Han characters shared by Chinese and Japanese take their Simplified Chinese forms. */
    pango_context_set_language(context, pango_language_from_string("zh-cn"));
    return context;
}

/* Draws the receipt on cr and returns the content's bottom edge. */
static double draw_on(const receipt_job *job, cairo_t *cr)
{
    const receipt_style *s = job->style;
    PangoContext *context = context_new(job, cr);
    pen p = {
        .cr = cr,
        .context = context,
        .style = s,
        .left = s->margin_side,
        .width = s->page_width - 2 * s->margin_side,
        .y = s->margin_top,
    };
    draw_receipt(&p, job->text, job->qr);
    g_object_unref(context);
    return p.y;
}

/* How tall the content is, drawn once on a recording surface that keeps nothing on paper. */
static topup_result measure(const receipt_job *job, double *bottom /* OUT */)
{
    cairo_surface_t *surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, NULL);
    cairo_t *cr = cairo_create(surface);
    *bottom = draw_on(job, cr);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return status == CAIRO_STATUS_SUCCESS ? TOPUP_OK : TOPUP_E_NOMEM;
}

/* ---- the PDF in memory --------------------------------------------------------------------- */

/* The growing buffer cairo writes the PDF into. */
typedef struct pdf_sink {
    unsigned char *bytes;
    size_t size;
    size_t capacity;
    bool out_of_memory; /* tells a failed allocation from an oversized document */
} pdf_sink;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length)
{
    pdf_sink *sink = closure;
    if (length > RECEIPT_PDF_SIZE_MAX - sink->size)
        return CAIRO_STATUS_WRITE_ERROR;
    if (sink->size + length > sink->capacity) {
        /* Doubling keeps the number of copies logarithmic in the document's size. */
        size_t capacity = sink->capacity ? sink->capacity : 16384;
        while (capacity < sink->size + length)
            capacity *= 2;
        unsigned char *grown = realloc(sink->bytes, capacity);
        if (grown == NULL) {
            sink->out_of_memory = true;
            return CAIRO_STATUS_NO_MEMORY;
        }
        sink->bytes = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->bytes + sink->size, data, length);
    sink->size += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Title and dates in the document information; the creation date is the payment time, so the
 * same receipt always renders to the same bytes. */
static void set_metadata(cairo_surface_t *surface, const receipt_text *t)
{
    char title[512]; /* a label and an order id; larger than both can be */
    snprintf(title, sizeof title, "%.200s %.200s", t->labels->subtitle, t->order_id);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "topup");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, t->pdf_date);
}

/* Draws the receipt into sink on a page of the given height; a content taller than the page
 * (only possible on A5 with every field at its longest) is scaled down to fit it. */
static topup_result draw_pdf(const receipt_job *job, double page_height, double content_height,
                             pdf_sink *sink)
{
    double page_width = job->style->page_width;
    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(sink_write, sink, page_width, page_height);
    set_metadata(surface, job->text);
    cairo_t *cr = cairo_create(surface);
    if (content_height > page_height) {
        double scale = page_height / content_height;
        cairo_translate(cr, page_width * (1 - scale) / 2, 0);
        cairo_scale(cr, scale, scale);
    }
    draw_on(job, cr);
    cairo_show_page(cr);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        return TOPUP_OK;
    return status == CAIRO_STATUS_NO_MEMORY || sink->out_of_memory ? TOPUP_E_NOMEM : TOPUP_E_IO;
}

static const receipt_style *style_for(receipt_layout layout)
{
    switch (layout) {
    case RECEIPT_A5:
        return &style_a5;
    case RECEIPT_ROLL_80MM:
        return &style_roll;
    }
    return NULL;
}

/* Measures, then draws the PDF on a page as long as the layout wants. */
static topup_result render(const receipt_job *job, pdf_sink *sink)
{
    const receipt_style *s = job->style;
    double content_bottom = 0;
    topup_result r = measure(job, &content_bottom);
    if (r != TOPUP_OK)
        return r;
    double content_height = content_bottom + s->margin_bottom;
    double page_height = s->page_height > 0 ? s->page_height : content_height;
    return draw_pdf(job, page_height, content_height, sink);
}

topup_result receipt_render_pdf(const receipt_facts *facts, receipt_layout layout,
                                unsigned char **pdf, size_t *pdf_size)
{
    if (pdf != NULL)
        *pdf = NULL;
    if (pdf_size != NULL)
        *pdf_size = 0;
    const receipt_style *style = style_for(layout);
    if (facts == NULL || pdf == NULL || pdf_size == NULL || style == NULL)
        return TOPUP_E_INVALID_ARGUMENT;
    receipt_text text;
    topup_result r = receipt_text_prepare(facts, &text);
    if (r != TOPUP_OK)
        return r;
    QRcode *qr = NULL;
    r = qr_encode(facts->verify_url, &qr);
    if (r != TOPUP_OK)
        return r;
    receipt_job job = {
        .style = style,
        .text = &text,
        .qr = qr,
        .font_map = pango_cairo_font_map_new(),
    };
    pdf_sink sink = {0};
    r = render(&job, &sink);
    g_object_unref(job.font_map);
    QRcode_free(qr);
    if (r != TOPUP_OK) {
        free(sink.bytes);
        return r;
    }
    *pdf = sink.bytes;
    *pdf_size = sink.size;
    return TOPUP_OK;
}

/* fontconfig leaks a few hundred bytes once per process while it parses its configuration,
 * outside topup and without growing. Loading that configuration once at start (cairo's font
 * lookup does) is also what keeps the first receipt from paying for it; the leak checker of the
 * sanitizer build looks away for that one call, so its report stays about what receipt.c
 * allocates. */
void receipt_fonts_load(void)
{
#if defined(__SANITIZE_ADDRESS__)
    __lsan_disable();
#endif
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *cr = cairo_create(surface);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_text_extents_t extents;
    cairo_text_extents(cr, "x", &extents);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
#if defined(__SANITIZE_ADDRESS__)
    __lsan_enable();
#endif
}
