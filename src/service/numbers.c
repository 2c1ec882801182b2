#include "service/numbers.h"

#include <string.h>

topup_result numbers_resolve(const catalog *cat, store *reader, const char *default_country,
                             const char *input, number_info *info)
{
    memset(info, 0, sizeof *info);
    size_t plan_count;
    const number_plan *plans = catalog_plans(cat, &plan_count);
    topup_result r =
        msisdn_normalize(input, plans, plan_count, default_country, info->e164, &info->plan);
    if (r != TOPUP_OK)
        return r;
    strcpy(info->national, info->e164 + 1 + strlen(info->plan->calling_code));
    msisdn_mask(info->e164, info->plan, info->masked, sizeof info->masked);

    char ported_to[CATALOG_ID_SIZE];
    r = store_portability_get(reader, info->e164, ported_to);
    if (r == TOPUP_OK) {
        info->op = catalog_operator(cat, ported_to);
        info->ported = info->op != NULL;
    } else if (r != TOPUP_E_NOT_FOUND) {
        return r;
    }
    if (!info->op)
        info->op = catalog_operator_for_number(cat, info->e164);
    return info->op ? TOPUP_OK : TOPUP_E_UNKNOWN_OPERATOR;
}
