/* Receipts: the PDF a subscriber downloads for a paid order (A5) and the one a business-hall
 * counter prints on an 80 mm thermal roll, plus the check code that lets anyone confirm a receipt
 * is genuine at /r/{order}/{check}.
 *
 * Text is shaped by pango with the system's CJK font (fonts-wqy-microhei, see scripts/deps.sh)
 * and stays text in the PDF (selectable, searchable, readable by pdftotext); the QR code is drawn
 * as vector rectangles so it stays sharp at any printer resolution. Rendering is pure: the same
 * facts give the same bytes. Each call has its own pango font map and shares nothing with other
 * calls, so threads may render at the same time; a render takes about 10-20 ms. */
#ifndef TOPUP_RECEIPT_H
#define TOPUP_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/order.h"
#include "core/result.h"

/* Bytes of one printed field (32 Chinese characters): keeps every layout on its page and every
 * line short. */
#define RECEIPT_TEXT_SIZE_MAX 96
/* Bytes of the verification URL: a version 14 QR code (73 modules) at most, which still fits a
 * 72 mm roll with modules of 0.5 mm, large enough for a phone camera. */
#define RECEIPT_URL_SIZE_MAX 256
/* 16 lower-case hex characters (64 bits of HMAC) and NUL. */
#define RECEIPT_CHECK_SIZE 17
/* A receipt with its font subsets is about 40 KiB; far more means something is wrong, not a
 * bigger receipt. */
#define RECEIPT_PDF_SIZE_MAX (4u << 20)

typedef enum receipt_layout {
    RECEIPT_A5,        /* A5 portrait, for the portal's download and office printers */
    RECEIPT_ROLL_80MM, /* 80 mm thermal roll (72 mm printable), page as long as its content */
} receipt_layout;

/* Everything a receipt prints. Strings are UTF-8, at most RECEIPT_TEXT_SIZE_MAX bytes, without
 * control characters; the struct and its strings are only read during the call. */
typedef struct receipt_facts {
    const char *language; /* "zh-CN" or "en": the labels' language; NULL means "zh-CN" */
    const char *brand;    /* title line, e.g. "topup 话费充值"; NULL: the language's default */
    int64_t order_id;     /* > 0 */
    order_status status;  /* paid or later; a never-paid order has no receipt */
    int64_t created_at;   /* unix seconds, > 0 */
    int64_t paid_at;      /* unix seconds, > 0 */
    const char *utc_offset;     /* "+08:00" form, the zone times are printed in; NULL: "+08:00" */
    const char *masked_number;  /* already masked by the caller, e.g. "138****8000" */
    const char *operator_name;  /* e.g. "中国移动" */
    const char *product;        /* the product's name, e.g. "话费 50 元" */
    int64_t face_value_minor;   /* what the subscriber's balance receives, > 0 */
    const char *face_currency;  /* ISO 4217 code of face_value_minor, e.g. "CNY" */
    int64_t price_minor;        /* what the customer paid, >= 0 */
    const char *price_currency; /* ISO 4217 code of price_minor */
    const char *payment_method; /* as printed, in the receipt's language: "支付宝", "Cash" */
    const char *payment_reference; /* the provider's trade number or the POS reference; NULL or
                                      "" for cash */
    const char *teller_name;       /* counter receipts: the teller; NULL or "" prints no line */
    const char *hall_name;         /* counter receipts: the business hall; NULL or "" prints none */
    bool reprint;                  /* marks the receipt "补打 / REPRINT" */
    bool voided;                   /* marks the receipt "作废 / VOID" (a reversed recharge) */
    const char *verify_url;        /* http(s) URL of /r/{order}/{check}: QR code and printed text */
} receipt_facts;

/* Renders the receipt as a PDF in memory. On TOPUP_OK *pdf is a malloc'd buffer of *pdf_size
 * bytes that the caller frees. Refuses with TOPUP_E_INVALID_ARGUMENT (missing, over-long or
 * malformed text, a status that was never paid, negative money, a bad offset or URL) and
 * TOPUP_E_CURRENCY_UNKNOWN; fails with TOPUP_E_NOMEM or TOPUP_E_IO when cairo cannot draw. On
 * any failure *pdf is NULL, *pdf_size is 0 and nothing stays allocated. */
topup_result receipt_render_pdf(const receipt_facts *facts, receipt_layout layout,
                                unsigned char **pdf /* OUT */, size_t *pdf_size /* OUT */);

/* The check code of an order's receipt: the first 16 lower-case hex characters of
 * HMAC-SHA256(key, "receipt:" + decimal order id). Only the holder of the key can make one, so
 * a code that verifies proves topup issued the receipt. key must be non-empty (32 random bytes
 * are right); an empty key is a configuration bug and aborts. Returns TOPUP_E_NOMEM when
 * OpenSSL cannot compute the HMAC, leaving code empty. */
topup_result receipt_check_code(const unsigned char *key, size_t key_size, int64_t order_id,
                                char code[RECEIPT_CHECK_SIZE] /* OUT */);

/* Whether code is exactly the check code of order_id under key. Compared in constant time, so a
 * forger learns nothing from how long a wrong guess takes. NULL or malformed code: false. */
bool receipt_check_valid(const unsigned char *key, size_t key_size, int64_t order_id,
                         const char *code);

/* The font families every topup document is set in, for pango; receipt.c says why this one. */
#define RECEIPT_FONT_SANS "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"

/* Whether text is valid UTF-8 of at most size_max bytes without control or format characters
 * (newlines, bidi overrides): what any printed document may show. text must not be NULL. */
bool receipt_text_valid(const char *text, size_t size_max);

/* Loads the font configuration now (once per process), so the first receipt does not pay for
 * it; topupd calls it at start. */
void receipt_fonts_load(void);

#endif
