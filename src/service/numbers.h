/* "Whose number is this?": normalisation, operator detection with number portability, masking. */
#ifndef TOPUP_NUMBERS_H
#define TOPUP_NUMBERS_H

#include <stdbool.h>

#include "catalog/catalog.h"
#include "store/store.h"

typedef struct number_info {
    char e164[E164_SIZE];
    char national[E164_SIZE]; /* national significant number, e.g. "13800138000" */
    char masked[MASKED_SIZE]; /* "138****8000" */
    const number_plan *plan;  /* points into the catalog snapshot */
    const operator_info *op;  /* points into the catalog snapshot */
    bool ported;              /* the operator comes from the portability table */
} number_info;

/* Normalises input and finds its operator: a ported number's operator from the portability table
 * (read through reader), otherwise the longest matching number range. Errors:
 * TOPUP_E_INVALID_NUMBER, TOPUP_E_NUMBER_NOT_MOBILE, TOPUP_E_UNKNOWN_OPERATOR, TOPUP_E_STORAGE.
 * The pointers in *info stay valid while the caller holds cat. */
topup_result numbers_resolve(const catalog *cat, store *reader, const char *default_country,
                             const char *input, number_info *info /* OUT */);

#endif
