/* The catalog snapshot: growable arrays while it is built, sorted arrays searched with bsearch
 * once sealed. A sealed snapshot is never written again, so threads share it without locks. */
#include "catalog/catalog.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CATALOG_ITEMS_MAX 1000000 /* bound on any one array: a catalog is configuration */

struct catalog {
    atomic_int reference_count;
    bool sealed;
    number_plan *plans;
    size_t plan_count, plan_capacity;
    operator_info *operators;
    size_t operator_count, operator_capacity;
    number_range *ranges; /* sorted by prefix once sealed */
    size_t range_count, range_capacity;
    product_info *products; /* sorted by (operator_id, id) once sealed */
    size_t product_count, product_capacity;
    size_t range_prefix_length_max; /* longest prefix, to bound the longest-match search */
};

catalog *catalog_new(void)
{
    catalog *cat = calloc(1, sizeof *cat);
    if (cat)
        atomic_init(&cat->reference_count, 1);
    return cat;
}

/* Makes room for one more element of element_size bytes in *items. */
static topup_result grow(void **items, size_t count, size_t *capacity, size_t element_size)
{
    if (count < *capacity)
        return TOPUP_OK;
    if (count >= CATALOG_ITEMS_MAX)
        return TOPUP_E_INVALID_ARGUMENT;
    size_t capacity_new = *capacity ? *capacity * 2 : 16;
    void *items_new = realloc(*items, capacity_new * element_size);
    if (!items_new)
        return TOPUP_E_NOMEM;
    *items = items_new;
    *capacity = capacity_new;
    return TOPUP_OK;
}

#define CATALOG_APPEND(cat, array, count, capacity, value)                                         \
    do {                                                                                           \
        assert(!(cat)->sealed);                                                                    \
        topup_result grown =                                                                       \
            grow((void **)&(cat)->array, (cat)->count, &(cat)->capacity, sizeof *(cat)->array);    \
        if (grown != TOPUP_OK)                                                                     \
            return grown;                                                                          \
        (cat)->array[(cat)->count++] = *(value);                                                   \
        return TOPUP_OK;                                                                           \
    } while (0)

topup_result catalog_add_plan(catalog *cat, const number_plan *plan)
{
    CATALOG_APPEND(cat, plans, plan_count, plan_capacity, plan);
}

topup_result catalog_add_operator(catalog *cat, const operator_info *op)
{
    CATALOG_APPEND(cat, operators, operator_count, operator_capacity, op);
}

topup_result catalog_add_range(catalog *cat, const number_range *range)
{
    size_t length = strlen(range->prefix);
    if (length > cat->range_prefix_length_max)
        cat->range_prefix_length_max = length;
    CATALOG_APPEND(cat, ranges, range_count, range_capacity, range);
}

topup_result catalog_add_product(catalog *cat, const product_info *product)
{
    CATALOG_APPEND(cat, products, product_count, product_capacity, product);
}

static int compare_operator(const void *a, const void *b)
{
    return strcmp(((const operator_info *)a)->id, ((const operator_info *)b)->id);
}

static int compare_range(const void *a, const void *b)
{
    return strcmp(((const number_range *)a)->prefix, ((const number_range *)b)->prefix);
}

static int compare_product(const void *a, const void *b)
{
    const product_info *x = a, *y = b;
    int by_operator = strcmp(x->operator_id, y->operator_id);
    return by_operator ? by_operator : strcmp(x->id, y->id);
}

void catalog_seal(catalog *cat)
{
    qsort(cat->operators, cat->operator_count, sizeof *cat->operators, compare_operator);
    qsort(cat->ranges, cat->range_count, sizeof *cat->ranges, compare_range);
    qsort(cat->products, cat->product_count, sizeof *cat->products, compare_product);
    cat->sealed = true;
}

catalog *catalog_ref(catalog *cat)
{
    atomic_fetch_add_explicit(&cat->reference_count, 1, memory_order_relaxed);
    return cat;
}

void catalog_unref(catalog *cat)
{
    if (!cat)
        return;
    if (atomic_fetch_sub_explicit(&cat->reference_count, 1, memory_order_acq_rel) != 1)
        return;
    free(cat->plans);
    free(cat->operators);
    free(cat->ranges);
    free(cat->products);
    free(cat);
}

const number_plan *catalog_plans(const catalog *cat, size_t *count)
{
    *count = cat->plan_count;
    return cat->plans;
}

const number_plan *catalog_plan(const catalog *cat, const char *country)
{
    for (size_t i = 0; i < cat->plan_count; i++)
        if (strcmp(cat->plans[i].country, country) == 0)
            return &cat->plans[i];
    return NULL;
}

const operator_info *catalog_operators(const catalog *cat, size_t *count)
{
    *count = cat->operator_count;
    return cat->operators;
}

const operator_info *catalog_operator(const catalog *cat, const char *id)
{
    assert(cat->sealed);
    operator_info key;
    if (strlen(id) >= sizeof key.id)
        return NULL;
    strcpy(key.id, id);
    return bsearch(&key, cat->operators, cat->operator_count, sizeof key, compare_operator);
}

const product_info *catalog_products(const catalog *cat, const char *operator_id, size_t *count)
{
    assert(cat->sealed);
    *count = 0;
    size_t first = cat->product_count;
    for (size_t i = 0; i < cat->product_count; i++) {
        if (strcmp(cat->products[i].operator_id, operator_id) != 0)
            continue;
        if (first == cat->product_count)
            first = i;
        (*count)++;
    }
    return *count ? &cat->products[first] : NULL;
}

const product_info *catalog_product(const catalog *cat, const char *id)
{
    for (size_t i = 0; i < cat->product_count; i++)
        if (strcmp(cat->products[i].id, id) == 0)
            return &cat->products[i];
    return NULL;
}

const operator_info *catalog_operator_for_number(const catalog *cat, const char *e164)
{
    assert(cat->sealed);
    const char *digits = e164[0] == '+' ? e164 + 1 : e164;
    size_t length = strlen(digits);
    if (length > cat->range_prefix_length_max)
        length = cat->range_prefix_length_max;
    number_range key;
    /* Longest prefix first: a more specific range (a ported block, an MVNO) beats its parent. */
    for (; length > 0; length--) {
        memcpy(key.prefix, digits, length);
        key.prefix[length] = '\0';
        const number_range *hit =
            bsearch(&key, cat->ranges, cat->range_count, sizeof key, compare_range);
        if (hit)
            return catalog_operator(cat, hit->operator_id);
    }
    return NULL;
}

/* Quotes a face value against one product; TOPUP_E_AMOUNT_NOT_OFFERED when it does not fit. */
static topup_result quote(const product_info *product, int64_t face_minor, product_quote *out)
{
    out->product = product;
    if (product->kind == PRODUCT_FIXED) {
        if (face_minor != 0 && face_minor != product->face_minor)
            return TOPUP_E_AMOUNT_NOT_OFFERED;
        out->face_minor = product->face_minor;
        out->price_minor = product->price_minor;
        return TOPUP_OK;
    }
    if (face_minor < product->min_minor || face_minor > product->max_minor ||
        (face_minor - product->min_minor) % product->step_minor != 0)
        return TOPUP_E_AMOUNT_NOT_OFFERED;
    out->face_minor = face_minor;
    topup_result priced =
        money_apply_basis_points(face_minor, product->price_basis_points, &out->price_minor);
    if (priced == TOPUP_OK && out->price_minor <= 0)
        return TOPUP_E_AMOUNT_NOT_OFFERED; /* a price that rounds to nothing is not a sale */
    return priced;
}

topup_result catalog_quote_product(const catalog *cat, const operator_info *op,
                                   const char *product_id, int64_t face_minor, product_quote *out)
{
    const product_info *product = catalog_product(cat, product_id);
    if (!product || strcmp(product->operator_id, op->id) != 0)
        return TOPUP_E_PRODUCT_UNKNOWN;
    return quote(product, face_minor, out);
}

topup_result catalog_quote_amount(const catalog *cat, const operator_info *op, int64_t face_minor,
                                  const char *currency, product_quote *out)
{
    if (strcmp(currency, op->currency) != 0)
        return TOPUP_E_CURRENCY_MISMATCH;
    size_t count;
    const product_info *products = catalog_products(cat, op->id, &count);
    /* A fixed denomination is preferred over a range: it is what the operator advertises. */
    for (size_t i = 0; i < count; i++)
        if (products[i].kind == PRODUCT_FIXED && products[i].face_minor == face_minor)
            return quote(&products[i], face_minor, out);
    for (size_t i = 0; i < count; i++)
        if (products[i].kind == PRODUCT_RANGE && quote(&products[i], face_minor, out) == TOPUP_OK)
            return TOPUP_OK;
    return TOPUP_E_AMOUNT_NOT_OFFERED;
}

bool catalog_id_valid(const char *id)
{
    size_t length = strlen(id);
    if (length == 0 || length >= CATALOG_ID_SIZE)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}
