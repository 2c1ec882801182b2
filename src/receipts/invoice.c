#include "receipts/invoice.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include "core/clock.h"
#include "core/money.h"
#include "receipts/receipt.h"

/* ---- the words ---------------------------------------------------------------------------- */

/* Every label carries both languages: finance reads the Chinese, an auditor abroad the English,
 * and one page serves both without a language option to get wrong. */
static const char title_text[] = "充值发票信息";
static const char subtitle_text[] = "Invoice details";
static const char buyer_text[] = "购买方\nBuyer";
static const char seller_text[] = "销售方\nSeller";
static const char taken_text[] = "受理\nTaken at";
static const char name_text[] = "名称 / Title";
static const char seller_name_text[] = "名称 / Name";
static const char tax_id_text[] = "纳税人识别号 / Tax ID";
static const char no_tax_id_text[] = "—（个人 / Individual）";
static const char item_header_text[] = "项目名称 / Item";
static const char quantity_header_text[] = "数量 / Qty";
static const char unit_price_header_text[] = "单价 / Unit price";
static const char amount_header_text[] = "金额 / Amount";
static const char item_text[] = "话费充值 / Mobile recharge";
static const char total_text[] = "合计 / Total";
static const char hall_text[] = "营业厅 / Hall";
static const char teller_text[] = "营业员 / Teller";
static const char time_text[] = "受理时间 / Time";
static const char order_text[] = "订单号 / Order no.";
static const char date_text[] = "日期 / Date";
static const char void_text[] = "作废 / VOID";
static const char issued_by_text[] = "开票人 / Issued by: ____________________";
static const char issued_on_text[] = "开票日期 / Issued on: ____________________";
static const char notes_text[] =
    "说明 / Notes\n"
    "1. 本页记录顾客在营业厅提出的开票申请，供财务据此开具发票；本页本身不是发票。\n"
    "    This page records an invoice request made at the counter for finance; it is not itself "
    "a tax invoice.\n"
    "2. 订单冲正后，其发票作废。\n"
    "    When the order is reversed, its invoice is void.";

/* ---- checking and formatting ----------------------------------------------------------------- */

#define BEIJING_OFFSET_S (8 * 3600) /* China keeps UTC+08:00 all year, without summer time */
#define DATE_TEXT_SIZE   16         /* "2026-11-25" and room */
#define TIME_TEXT_SIZE   48         /* "2026-11-25 21:30:05 (UTC+08:00)" and room */
#define AMOUNT_TEXT_SIZE (MONEY_TEXT_SIZE_MAX + CURRENCY_CODE_SIZE + 4)
#define ORDER_TEXT_SIZE  24 /* an int64 in decimal and NUL */

/* What the page prints: the caller's facts, checked, and the texts made from them. */
typedef struct invoice_text {
    const invoice_facts *facts;
    const char *tax_id; /* the buyer's, or the "individual" mark */
    char order_id[ORDER_TEXT_SIZE];
    char date[DATE_TEXT_SIZE];
    char time[TIME_TEXT_SIZE];
    char pdf_date[TIME_TEXT_SIZE]; /* ISO 8601: the PDF's creation date, so output is stable */
    char amount[AMOUNT_TEXT_SIZE];
} invoice_text;

bool invoice_tax_id_valid(const char *tax_id)
{
    if (tax_id == NULL)
        return false;
    size_t size = strnlen(tax_id, INVOICE_TAX_ID_SIZE_MAX + 1);
    return size >= INVOICE_TAX_ID_SIZE_MIN && size <= INVOICE_TAX_ID_SIZE_MAX &&
           strspn(tax_id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == size;
}

static bool required_text_ok(const char *text, size_t size_max)
{
    return text != NULL && text[0] != '\0' && receipt_text_valid(text, size_max);
}

/* The recharge's time in Beijing, as a day (the list's unit) and in full. */
static bool times_format(int64_t unix_seconds, invoice_text *t)
{
    if (unix_seconds <= 0 || unix_seconds > CLOCK_SECONDS_MAX - BEIJING_OFFSET_S)
        return false;
    time_t local = (time_t)(unix_seconds + BEIJING_OFFSET_S);
    struct tm fields;
    if (gmtime_r(&local, &fields) == NULL)
        return false;
    strftime(t->date, sizeof t->date, "%Y-%m-%d", &fields);
    strftime(t->time, sizeof t->time, "%Y-%m-%d %H:%M:%S (UTC+08:00)", &fields);
    strftime(t->pdf_date, sizeof t->pdf_date, "%Y-%m-%dT%H:%M:%S+08:00", &fields);
    return true;
}

/* "¥50.00" for yuan, as a Chinese invoice writes it; "USD 50.00" for anything else. */
static topup_result amount_format(const invoice_facts *f, char text[AMOUNT_TEXT_SIZE])
{
    char number[MONEY_TEXT_SIZE_MAX];
    topup_result r = money_format(f->amount_minor, f->currency, number, sizeof number);
    if (r != TOPUP_OK)
        return r;
    if (strcmp(f->currency, "CNY") == 0)
        snprintf(text, AMOUNT_TEXT_SIZE, "¥%s", number);
    else
        snprintf(text, AMOUNT_TEXT_SIZE, "%s %s", f->currency, number);
    return TOPUP_OK;
}

static bool texts_ok(const invoice_facts *f)
{
    bool company = f->buyer_tax_id != NULL && f->buyer_tax_id[0] != '\0';
    return required_text_ok(f->seller, INVOICE_NAME_SIZE_MAX) &&
           required_text_ok(f->buyer_title, INVOICE_TITLE_SIZE_MAX) &&
           required_text_ok(f->hall_name, INVOICE_NAME_SIZE_MAX) &&
           required_text_ok(f->teller_name, INVOICE_NAME_SIZE_MAX) &&
           (!company || invoice_tax_id_valid(f->buyer_tax_id)) && f->currency != NULL;
}

/* Checks every fact and formats what the page prints itself. Nothing is allocated. */
static topup_result invoice_text_prepare(const invoice_facts *f, invoice_text *t /* OUT */)
{
    memset(t, 0, sizeof *t);
    t->facts = f;
    if (f->order_id <= 0 || f->amount_minor <= 0 || !texts_ok(f) || !times_format(f->created_at, t))
        return TOPUP_E_INVALID_ARGUMENT;
    bool company = f->buyer_tax_id != NULL && f->buyer_tax_id[0] != '\0';
    t->tax_id = company ? f->buyer_tax_id : no_tax_id_text;
    snprintf(t->order_id, sizeof t->order_id, "%" PRId64, f->order_id);
    return amount_format(f, t->amount);
}

/* ---- drawing ------------------------------------------------------------------------------ */

#define POINTS_PER_MM (72.0 / 25.4)
#define PAGE_WIDTH    (210 * POINTS_PER_MM) /* A4 portrait */
#define PAGE_HEIGHT   (297 * POINTS_PER_MM)
#define MARGIN        (20 * POINTS_PER_MM)
#define CONTENT_WIDTH (PAGE_WIDTH - 2 * MARGIN)
#define CELL_PADDING  6.0
#define HEADING_WIDTH (24 * POINTS_PER_MM) /* the 购买方 / 销售方 column */
#define LABEL_WIDTH   (48 * POINTS_PER_MM)
#define BODY_SIZE     10.0
#define SMALL_SIZE    8.5
#define TITLE_SIZE    22.0
#define AMOUNT_SIZE   13.0
#define SECTION_GAP   (7 * POINTS_PER_MM)
#define STAMP_ANGLE   (-0.2) /* radians: tilted, as a stamp is put on by hand */

/* A VAT invoice prints its frame and labels in brown and the filled-in values in black, so a
 * reader tells what was printed from what was written at a glance; the same here. */
typedef struct color {
    double red, green, blue;
} color;

static const color ink = {0, 0, 0};
static const color frame_ink = {0.55, 0.27, 0.07};
static const color stamp_ink = {0.8, 0.1, 0.1};

/* Where the next block goes, and what draws it. */
typedef struct page {
    cairo_t *cr;
    PangoContext *context;
    double y; /* the top of the next block */
} page;

/* How one piece of text is set. */
typedef struct text_style {
    double size;
    bool bold;
    color color;
    PangoAlignment alignment;
} text_style;

static const text_style label_style = {BODY_SIZE, false, {0.55, 0.27, 0.07}, PANGO_ALIGN_LEFT};
static const text_style value_style = {BODY_SIZE, false, {0, 0, 0}, PANGO_ALIGN_LEFT};
static const text_style heading_style = {BODY_SIZE, true, {0.55, 0.27, 0.07}, PANGO_ALIGN_CENTER};

/* Plain text (never markup: a title with "<" prints as "<"), wrapped at width. The caller
 * unrefs it. */
static PangoLayout *layout_for(const page *p, const char *text, text_style style, double width)
{
    PangoLayout *layout = pango_layout_new(p->context);
    PangoFontDescription *description = pango_font_description_new();
    pango_font_description_set_family(description, RECEIPT_FONT_SANS);
    pango_font_description_set_absolute_size(description, style.size * PANGO_SCALE);
    pango_font_description_set_weight(description,
                                      style.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, description);
    pango_font_description_free(description);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    /* A tax id or a long company name has no space to break at. */
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(layout, style.alignment);
    pango_layout_set_text(layout, text, -1);
    return layout;
}

static double height_of(PangoLayout *layout)
{
    int width = 0, height = 0;
    pango_layout_get_size(layout, &width, &height);
    return (double)height / PANGO_SCALE;
}

static void show(const page *p, PangoLayout *layout, color c, double x, double y)
{
    cairo_set_source_rgb(p->cr, c.red, c.green, c.blue);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, layout);
}

/* A paragraph across the content width; returns its height. */
static double put_text(page *p, const char *text, text_style style)
{
    PangoLayout *layout = layout_for(p, text, style, CONTENT_WIDTH);
    double height = height_of(layout);
    show(p, layout, style.color, MARGIN, p->y);
    g_object_unref(layout);
    p->y += height;
    return height;
}

static void frame(const page *p, double x, double y, double width, double height)
{
    cairo_set_source_rgb(p->cr, frame_ink.red, frame_ink.green, frame_ink.blue);
    cairo_set_line_width(p->cr, 0.8);
    cairo_rectangle(p->cr, x, y, width, height);
    cairo_stroke(p->cr);
}

/* One cell of a table row. */
typedef struct cell {
    const char *text;
    double width;
    text_style style;
} cell;

#define ROW_CELLS_MAX 4

/* Cells side by side from x, framed, the row as tall as its tallest text and at least
 * height_min; each text is centred vertically in its cell. */
static void put_row(page *p, double x, const cell *cells, size_t count, double height_min)
{
    PangoLayout *layouts[ROW_CELLS_MAX];
    double height = height_min;
    for (size_t i = 0; i < count; i++) {
        layouts[i] =
            layout_for(p, cells[i].text, cells[i].style, cells[i].width - 2 * CELL_PADDING);
        height = fmax(height, height_of(layouts[i]) + 2 * CELL_PADDING);
    }
    for (size_t i = 0; i < count; i++) {
        frame(p, x, p->y, cells[i].width, height);
        double top = p->y + (height - height_of(layouts[i])) / 2;
        show(p, layouts[i], cells[i].style.color, x + CELL_PADDING, top);
        g_object_unref(layouts[i]);
        x += cells[i].width;
    }
    p->y += height;
}

/* A label and its value. */
typedef struct pair {
    const char *label;
    const char *value;
    text_style value_style;
} pair;

/* A block of label/value rows with a heading cell spanning them on the left, as a VAT invoice
 * frames its buyer and seller. */
static void put_party(page *p, const char *heading, const pair *pairs, size_t count)
{
    double top = p->y;
    double value_width = CONTENT_WIDTH - HEADING_WIDTH - LABEL_WIDTH;
    PangoLayout *layout = layout_for(p, heading, heading_style, HEADING_WIDTH - 2 * CELL_PADDING);
    /* The rows share the heading's height, so a two-line heading beside one row has room. */
    double row_height_min = (height_of(layout) + 2 * CELL_PADDING) / (double)count;
    for (size_t i = 0; i < count; i++) {
        cell cells[] = {
            {pairs[i].label, LABEL_WIDTH, label_style},
            {pairs[i].value, value_width, pairs[i].value_style},
        };
        put_row(p, MARGIN + HEADING_WIDTH, cells, 2, row_height_min);
    }
    frame(p, MARGIN, top, HEADING_WIDTH, p->y - top);
    show(p, layout, heading_style.color, MARGIN + CELL_PADDING,
         top + (p->y - top - height_of(layout)) / 2);
    g_object_unref(layout);
    p->y += SECTION_GAP;
}

/* A red stamp at the top right, tilted: the record of a reversed order stays in finance's files
 * but cannot be mistaken for one to invoice. */
static void put_void_stamp(const page *p, double title_top)
{
    text_style style = {16, true, stamp_ink, PANGO_ALIGN_CENTER};
    PangoLayout *layout = layout_for(p, void_text, style, 40 * POINTS_PER_MM);
    double width = 40 * POINTS_PER_MM, height = height_of(layout) + 2 * CELL_PADDING;
    cairo_save(p->cr);
    cairo_translate(p->cr, MARGIN + CONTENT_WIDTH - width / 2, title_top + height / 2);
    cairo_rotate(p->cr, STAMP_ANGLE);
    cairo_set_source_rgb(p->cr, stamp_ink.red, stamp_ink.green, stamp_ink.blue);
    cairo_set_line_width(p->cr, 2);
    cairo_rectangle(p->cr, -width / 2, -height / 2, width, height);
    cairo_stroke(p->cr);
    show(p, layout, stamp_ink, -width / 2, -height / 2 + CELL_PADDING);
    cairo_restore(p->cr);
    g_object_unref(layout);
}

/* Title, its English line, the double rule of a VAT invoice, and the date and order number. */
static void put_header(page *p, const invoice_text *t)
{
    double top = p->y;
    put_text(p, title_text, (text_style){TITLE_SIZE, true, frame_ink, PANGO_ALIGN_CENTER});
    put_text(p, subtitle_text, (text_style){BODY_SIZE + 2, false, frame_ink, PANGO_ALIGN_CENTER});
    double rule_half = 42 * POINTS_PER_MM;
    cairo_set_source_rgb(p->cr, frame_ink.red, frame_ink.green, frame_ink.blue);
    cairo_set_line_width(p->cr, 0.8);
    for (int i = 0; i < 2; i++) {
        double y = p->y + 4 + 2.5 * i;
        cairo_move_to(p->cr, PAGE_WIDTH / 2 - rule_half, y);
        cairo_line_to(p->cr, PAGE_WIDTH / 2 + rule_half, y);
    }
    cairo_stroke(p->cr);
    if (t->facts->voided)
        put_void_stamp(p, top);
    p->y += SECTION_GAP + 4;

    char line[128];
    snprintf(line, sizeof line, "%s: %s", date_text, t->date);
    double y = p->y;
    put_text(p, line, value_style);
    p->y = y;
    snprintf(line, sizeof line, "%s: %s", order_text, t->order_id);
    put_text(p, line, (text_style){BODY_SIZE, false, ink, PANGO_ALIGN_RIGHT});
    p->y += 6;
}

/* The item table: one line (the recharge at the price paid) and the total. */
static void put_items(page *p, const invoice_text *t)
{
    double quantity = 26 * POINTS_PER_MM, money = 38 * POINTS_PER_MM;
    double item = CONTENT_WIDTH - quantity - 2 * money;
    text_style head = heading_style;
    text_style right = {BODY_SIZE, false, ink, PANGO_ALIGN_RIGHT};
    text_style centre = {BODY_SIZE, false, ink, PANGO_ALIGN_CENTER};
    text_style total = {AMOUNT_SIZE, true, ink, PANGO_ALIGN_RIGHT};
    cell header[] = {{item_header_text, item, head},
                     {quantity_header_text, quantity, head},
                     {unit_price_header_text, money, head},
                     {amount_header_text, money, head}};
    cell line[] = {{item_text, item, value_style},
                   {"1", quantity, centre},
                   {t->amount, money, right},
                   {t->amount, money, right}};
    cell sum[] = {{total_text, item + quantity + money, heading_style}, {t->amount, money, total}};
    put_row(p, MARGIN, header, ROW_CELLS_MAX, 0);
    put_row(p, MARGIN, line, ROW_CELLS_MAX, 0);
    put_row(p, MARGIN, sum, 2, 0);
    p->y += SECTION_GAP;
}

static void draw_invoice(page *p, const invoice_text *t)
{
    const invoice_facts *f = t->facts;
    text_style bold = {BODY_SIZE, true, ink, PANGO_ALIGN_LEFT};
    put_header(p, t);
    pair buyer[] = {{name_text, f->buyer_title, bold}, {tax_id_text, t->tax_id, value_style}};
    put_party(p, buyer_text, buyer, 2);
    pair seller[] = {{seller_name_text, f->seller, value_style}};
    put_party(p, seller_text, seller, 1);
    put_items(p, t);
    pair taken[] = {{hall_text, f->hall_name, value_style},
                    {teller_text, f->teller_name, value_style},
                    {time_text, t->time, value_style},
                    {order_text, t->order_id, value_style}};
    put_party(p, taken_text, taken, 4);
    put_text(p, notes_text, (text_style){SMALL_SIZE, false, frame_ink, PANGO_ALIGN_LEFT});
    /* Where finance signs once the tax invoice is issued: the page then records that too. */
    p->y += 2 * SECTION_GAP;
    double y = p->y;
    put_text(p, issued_by_text, label_style);
    p->y = y;
    put_text(p, issued_on_text, (text_style){BODY_SIZE, false, frame_ink, PANGO_ALIGN_RIGHT});
}

/* ---- the PDF in memory --------------------------------------------------------------------- */

/* cairo writes into a memory stream, which grows as needed; the cap catches a runaway. */
typedef struct pdf_stream {
    FILE *file;
    size_t written;
} pdf_stream;

static cairo_status_t stream_write(void *closure, const unsigned char *data, unsigned int length)
{
    pdf_stream *stream = closure;
    if (length > INVOICE_PDF_SIZE_MAX - stream->written)
        return CAIRO_STATUS_WRITE_ERROR;
    if (fwrite(data, 1, length, stream->file) != length)
        return CAIRO_STATUS_NO_MEMORY;
    stream->written += length;
    return CAIRO_STATUS_SUCCESS;
}

/* A context of this render's own font map (no font cache outlives the call or is shared with
 * another thread), with Simplified Chinese forms for the Han characters. */
static PangoContext *context_new(PangoFontMap *font_map, cairo_t *cr)
{
    PangoContext *context = pango_font_map_create_context(font_map);
    pango_cairo_update_context(cr, context);
    pango_context_set_language(context, pango_language_from_string("zh-cn"));
    return context;
}

static topup_result draw_pdf(const invoice_text *t, pdf_stream *stream)
{
    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(stream_write, stream, PAGE_WIDTH, PAGE_HEIGHT);
    char title[64];
    snprintf(title, sizeof title, "%s %s", title_text, t->order_id);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "topup");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, t->pdf_date);
    cairo_t *cr = cairo_create(surface);
    PangoFontMap *font_map = pango_cairo_font_map_new();
    PangoContext *context = context_new(font_map, cr);
    page p = {.cr = cr, .context = context, .y = MARGIN};
    draw_invoice(&p, t);
    cairo_show_page(cr);
    g_object_unref(context);
    g_object_unref(font_map);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        return TOPUP_OK;
    return status == CAIRO_STATUS_NO_MEMORY ? TOPUP_E_NOMEM : TOPUP_E_IO;
}

topup_result invoice_render_pdf(const invoice_facts *facts, unsigned char **pdf, size_t *pdf_size)
{
    if (pdf != NULL)
        *pdf = NULL;
    if (pdf_size != NULL)
        *pdf_size = 0;
    if (facts == NULL || pdf == NULL || pdf_size == NULL)
        return TOPUP_E_INVALID_ARGUMENT;
    invoice_text text;
    topup_result r = invoice_text_prepare(facts, &text);
    if (r != TOPUP_OK)
        return r;
    char *bytes = NULL;
    size_t size = 0;
    pdf_stream stream = {.file = open_memstream(&bytes, &size)};
    if (stream.file == NULL)
        return TOPUP_E_NOMEM;
    r = draw_pdf(&text, &stream);
    /* Closing hands over the buffer; a failed close has nothing usable in it. */
    if (fclose(stream.file) != 0 && r == TOPUP_OK)
        r = TOPUP_E_NOMEM;
    if (r != TOPUP_OK) {
        free(bytes);
        return r;
    }
    *pdf = (unsigned char *)bytes;
    *pdf_size = size;
    return TOPUP_OK;
}
