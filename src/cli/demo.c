/* DEMO data for `topup init --demo`: a catalog that looks like the real Chinese and Philippine
 * markets (number plans, the big operators' mobile ranges, common denominations) so the platform
 * can be tried end to end. The products and prices are made up; never load this in production. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define DEMO_VALIDITY_DAYS 30

static const number_plan demo_plans[] = {
    {"CN", "86", "", "00", 11, 11, "1"},
    {"PH", "63", "0", "00", 10, 10, "9"},
};

static const operator_info demo_operators[] = {
    {"cmcc", "China Mobile 中国移动", "CN", "CNY", "hosted"},
    {"cucc", "China Unicom 中国联通", "CN", "CNY", "hosted"},
    {"ctcc", "China Telecom 中国电信", "CN", "CNY", "hosted"},
    {"globe", "Globe Telecom", "PH", "PHP", "hosted"},
};

/* Each operator's prefixes as E.164 digits without '+'. China Mobile has only 1340-1348 of the
 * 134 block; 1349 is China Telecom's (satellite). */
static const char *const cmcc_prefixes[] = {
    "861340", "861341", "861342", "861343", "861344", "861345", "861346", "861347",
    "861348", "86135",  "86136",  "86137",  "86138",  "86139",  "86147",  "86150",
    "86151",  "86152",  "86157",  "86158",  "86159",  "86172",  "86178",  "86182",
    "86183",  "86184",  "86187",  "86188",  "86195",  "86197",  "86198",
};
static const char *const cucc_prefixes[] = {
    "86130", "86131", "86132", "86145", "86155", "86156", "86166",
    "86167", "86171", "86175", "86176", "86185", "86186", "86196",
};
static const char *const ctcc_prefixes[] = {
    "861349", "86133", "86149", "86153", "86173", "86177", "86180",
    "86181",  "86189", "86190", "86191", "86193", "86199",
};
static const char *const globe_prefixes[] = {
    "63905", "63906", "63915", "63916", "63917", "63926", "63927", "63935", "63936", "63945",
    "63955", "63956", "63965", "63966", "63967", "63975", "63977", "63995", "63996", "63997",
};

typedef struct demo_ranges {
    const char *operator_id;
    const char *const *prefixes;
    size_t prefix_count;
} demo_ranges;

#define DEMO_RANGES(op, list)                                                                      \
    {                                                                                              \
        op, list, sizeof list / sizeof list[0]                                                     \
    }

static const demo_ranges demo_range_lists[] = {
    DEMO_RANGES("cmcc", cmcc_prefixes),
    DEMO_RANGES("cucc", cucc_prefixes),
    DEMO_RANGES("ctcc", ctcc_prefixes),
    DEMO_RANGES("globe", globe_prefixes),
};

/* Fixed denominations in major units; face = price. */
static const int cn_denominations[] = {10, 20, 30, 50, 100, 200, 300, 500};
static const int ph_denominations[] = {50, 100, 300, 500};

#define MINOR_PER_MAJOR 100 /* CNY and PHP both have two decimals */

static topup_result add_fixed(store *st, const char *operator_id, const char *id,
                              int64_t face_minor, int64_t price_minor, cli_demo_counts *counts)
{
    product_info product = {
        .kind = PRODUCT_FIXED,
        .face_minor = face_minor,
        .price_minor = price_minor,
        .validity_days = DEMO_VALIDITY_DAYS,
    };
    snprintf(product.id, sizeof product.id, "%s", id);
    snprintf(product.operator_id, sizeof product.operator_id, "%s", operator_id);
    topup_result r = store_product_add(st, &product);
    counts->product_count += r == TOPUP_OK;
    return r;
}

static topup_result add_denominations(store *st, const char *operator_id, const int *majors,
                                      size_t major_count, cli_demo_counts *counts)
{
    for (size_t i = 0; i < major_count; i++) {
        char id[CATALOG_ID_SIZE];
        snprintf(id, sizeof id, "%s-%d", operator_id, majors[i]);
        int64_t minor = (int64_t)majors[i] * MINOR_PER_MAJOR;
        topup_result r = add_fixed(st, operator_id, id, minor, minor, counts);
        if (r != TOPUP_OK)
            return r;
    }
    return TOPUP_OK;
}

static topup_result add_products(store *st, cli_demo_counts *counts)
{
    static const char *const cn_operators[] = {"cmcc", "cucc", "ctcc"};
    topup_result r = TOPUP_OK;
    for (size_t i = 0; r == TOPUP_OK && i < sizeof cn_operators / sizeof cn_operators[0]; i++)
        r = add_denominations(st, cn_operators[i], cn_denominations,
                              sizeof cn_denominations / sizeof cn_denominations[0], counts);
    if (r == TOPUP_OK)
        r = add_denominations(st, "globe", ph_denominations,
                              sizeof ph_denominations / sizeof ph_denominations[0], counts);
    if (r != TOPUP_OK)
        return r;

    /* Any amount from CNY 10 to 500 in steps of CNY 1, sold at face. */
    product_info custom = {
        .id = "cmcc-custom",
        .operator_id = "cmcc",
        .kind = PRODUCT_RANGE,
        .min_minor = 1000,
        .max_minor = 50000,
        .step_minor = 100,
        .price_basis_points = 10000,
        .validity_days = DEMO_VALIDITY_DAYS,
    };
    if ((r = store_product_add(st, &custom)) != TOPUP_OK)
        return r;
    counts->product_count++;
    /* CNY 100 of credit for CNY 98: the 2 yuan come from the promotion budget. */
    return add_fixed(st, "cmcc", "cmcc-100-promo", 10000, 9800, counts);
}

topup_result cli_demo_load(store *st, cli_demo_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    topup_result r;
    for (size_t i = 0; i < sizeof demo_plans / sizeof demo_plans[0]; i++) {
        if ((r = store_plan_put(st, &demo_plans[i])) != TOPUP_OK)
            return r;
        counts->plan_count++;
    }
    for (size_t i = 0; i < sizeof demo_operators / sizeof demo_operators[0]; i++) {
        if ((r = store_operator_add(st, &demo_operators[i])) != TOPUP_OK)
            return r;
        counts->operator_count++;
    }
    for (size_t i = 0; i < sizeof demo_range_lists / sizeof demo_range_lists[0]; i++) {
        const demo_ranges *list = &demo_range_lists[i];
        for (size_t j = 0; j < list->prefix_count; j++) {
            number_range range;
            snprintf(range.prefix, sizeof range.prefix, "%s", list->prefixes[j]);
            snprintf(range.operator_id, sizeof range.operator_id, "%s", list->operator_id);
            if ((r = store_range_add(st, &range)) != TOPUP_OK)
                return r;
            counts->range_count++;
        }
    }
    return add_products(st, counts);
}
