/* Invoices (发票) asked for at a business-hall counter: the A4 record finance issues the tax
 * invoice from. The customer gives a title (a person's or a company's name) and, for a company,
 * its taxpayer id; the counter records them with the order (counter_orders) and finance lists
 * them by day (`topup invoices list`) and prints this page for each (`topup invoices pdf`).
 *
 * The page is laid out like a Chinese VAT invoice: seller, buyer, one item line, the total, and
 * in both Chinese and English labels. It is a record of the request, not the tax invoice itself,
 * which only the tax system issues; the page says so. Text is shaped by pango in the receipts'
 * font (receipt.h) and stays selectable text in the PDF. Rendering is pure and shares nothing
 * between calls, like the receipts'. */
#ifndef TOPUP_INVOICE_H
#define TOPUP_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

/* Bytes of the buyer's title: 64 Chinese characters, what counter_orders keeps
 * (INVOICE_TITLE_SIZE). */
#define INVOICE_TITLE_SIZE_MAX 192
/* Bytes of the seller line and of the hall's and the teller's names. */
#define INVOICE_NAME_SIZE_MAX 96
/* A taxpayer id (纳税人识别号): the 18-character unified social credit code, or the older 15 and
 * 20-character forms; capital letters and digits. */
#define INVOICE_TAX_ID_SIZE_MIN 15
#define INVOICE_TAX_ID_SIZE_MAX 20
/* One A4 page with its font subsets is about 50 KiB; far more means something is wrong. */
#define INVOICE_PDF_SIZE_MAX (4u << 20)

/* Everything the page prints. Strings are UTF-8 without control characters; the struct and
 * its strings are only read during the call. */
typedef struct invoice_facts {
    int64_t order_id;   /* > 0 */
    int64_t created_at; /* the recharge's time, unix seconds > 0; printed in Beijing time */
    const char *seller; /* the operator and brand line, e.g. "中国移动 · topup 话费充值" */
    const char *buyer_title;  /* 发票抬头, at most INVOICE_TITLE_SIZE_MAX bytes */
    const char *buyer_tax_id; /* NULL or "" for a person; else see INVOICE_TAX_ID_SIZE_* */
    int64_t amount_minor;     /* the price the customer paid, > 0 */
    const char *currency;     /* ISO 4217 code of amount_minor */
    const char *hall_name;    /* where the recharge was taken */
    const char *teller_name;  /* who took it */
    bool voided;              /* the order was reversed: the page is marked 作废 / VOID */
} invoice_facts;

/* Renders the record as a one-page A4 (portrait) PDF in memory. On TOPUP_OK *pdf is a malloc'd
 * buffer of *pdf_size bytes that the caller frees. Refuses with TOPUP_E_INVALID_ARGUMENT
 * (missing, over-long or malformed text, a malformed tax id, an amount or id not above zero, a
 * time out of range) and TOPUP_E_CURRENCY_UNKNOWN; fails with TOPUP_E_NOMEM or TOPUP_E_IO when
 * cairo cannot draw. On any failure *pdf is NULL, *pdf_size is 0 and nothing stays allocated. */
topup_result invoice_render_pdf(const invoice_facts *facts, unsigned char **pdf /* OUT */,
                                size_t *pdf_size /* OUT */);

/* Whether tax_id has the shape of a taxpayer id: 15 to 20 capital letters and digits. */
bool invoice_tax_id_valid(const char *tax_id);

#endif
