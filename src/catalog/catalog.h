/* The catalog: numbering plans, operators, number ranges and products, as one immutable snapshot
 * that request threads share. A new snapshot replaces the old one when the catalog changes;
 * readers keep theirs alive with a reference count. */
#ifndef TOPUP_CATALOG_H
#define TOPUP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"
#include "core/msisdn.h"
#include "core/result.h"

#define CATALOG_ID_SIZE   33 /* operator and product ids: 1-32 of [a-z0-9_-] */
#define CATALOG_NAME_SIZE 97 /* operator display names, UTF-8 */

typedef struct operator_info {
    char id[CATALOG_ID_SIZE];
    char name[CATALOG_NAME_SIZE];
    char country[3];                   /* the plan its numbers belong to */
    char currency[CURRENCY_CODE_SIZE]; /* all its products are sold in it */
    char connector[16];                /* "hosted": balances kept in topup's ledger */
} operator_info;

typedef enum product_kind { PRODUCT_FIXED, PRODUCT_RANGE } product_kind;

typedef struct product_info {
    char id[CATALOG_ID_SIZE];
    char operator_id[CATALOG_ID_SIZE];
    product_kind kind;
    int64_t face_minor;         /* fixed: the face value credited */
    int64_t price_minor;        /* fixed: what the funding account pays */
    int64_t min_minor;          /* range: smallest face value */
    int64_t max_minor;          /* range: largest face value */
    int64_t step_minor;         /* range: face values are min + k * step */
    int64_t price_basis_points; /* range: price = face * bp / 10000 */
    int validity_days;          /* days of validity added per recharge */
} product_info;

typedef struct number_range {
    char prefix[E164_SIZE]; /* E.164 digits without '+' */
    char operator_id[CATALOG_ID_SIZE];
} number_range;

typedef struct catalog catalog;

/* A product resolved for one recharge: what is credited and what is paid. */
typedef struct product_quote {
    const product_info *product;
    int64_t face_minor;
    int64_t price_minor;
} product_quote;

/* Builds an empty snapshot; fill it with catalog_add_* then call catalog_seal. Returns NULL on
 * out of memory. The caller owns the one reference. */
catalog *catalog_new(void);
topup_result catalog_add_plan(catalog *cat, const number_plan *plan);
topup_result catalog_add_operator(catalog *cat, const operator_info *op);
topup_result catalog_add_range(catalog *cat, const number_range *range);
topup_result catalog_add_product(catalog *cat, const product_info *product);
/* Sorts the indexes; after this the snapshot is read-only and safe to share between threads. */
void catalog_seal(catalog *cat);

catalog *catalog_ref(catalog *cat);
void catalog_unref(catalog *cat);

const number_plan *catalog_plans(const catalog *cat, size_t *count /* OUT */);
const number_plan *catalog_plan(const catalog *cat, const char *country);
const operator_info *catalog_operators(const catalog *cat, size_t *count /* OUT */);
const operator_info *catalog_operator(const catalog *cat, const char *id);
/* Products of one operator, in id order; *count 0 when none. */
const product_info *catalog_products(const catalog *cat, const char *operator_id,
                                     size_t *count /* OUT */);
const product_info *catalog_product(const catalog *cat, const char *id);

/* The operator of the longest configured range that prefixes e164, or NULL. */
const operator_info *catalog_operator_for_number(const catalog *cat, const char *e164);

/* Quotes a named product for an operator: TOPUP_E_PRODUCT_UNKNOWN when it is not the operator's.
 * face_minor is 0 for "the product's face value"; a range product needs a face value within its
 * bounds and on its step (else TOPUP_E_AMOUNT_NOT_OFFERED), a fixed one accepts only its own. */
topup_result catalog_quote_product(const catalog *cat, const operator_info *op,
                                   const char *product_id, int64_t face_minor,
                                   product_quote *quote /* OUT */);

/* Quotes a face value: the fixed product with exactly that face, else the first range product
 * that accepts it. TOPUP_E_CURRENCY_MISMATCH when currency is not the operator's,
 * TOPUP_E_AMOUNT_NOT_OFFERED when nothing fits. */
topup_result catalog_quote_amount(const catalog *cat, const operator_info *op, int64_t face_minor,
                                  const char *currency, product_quote *quote /* OUT */);

/* Whether id is 1-32 characters of [a-z0-9_-]. */
bool catalog_id_valid(const char *id);

#endif
