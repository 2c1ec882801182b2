#include "payments/gateways.h"

#include <stdio.h>
#include <string.h>

topup_result payment_gateways_open(const payment_settings *settings, payment_gateways *gateways,
                                   char *detail, size_t detail_size)
{
    memset(gateways, 0, sizeof *gateways);
    gateways->settings = *settings;
    for (int i = 0; i < PROVIDER_COUNT; i++) {
        const provider_ops *ops = provider_ops_for((provider_id)i);
        if (!settings->providers[i].enabled)
            continue;
        char why[GATEWAY_DETAIL_SIZE] = "";
        topup_result r = ops->open ? ops->open(&settings->providers[i], &gateways->instances[i],
                                               why, sizeof why)
                                   : TOPUP_E_INVALID_ARGUMENT;
        if (r != TOPUP_OK) {
            snprintf(detail, detail_size, "payment provider %s: %s", ops->name,
                     why[0] ? why : "not available in this build");
            payment_gateways_close(gateways);
            return r;
        }
    }
    return TOPUP_OK;
}

void payment_gateways_close(payment_gateways *gateways)
{
    for (int i = 0; i < PROVIDER_COUNT; i++) {
        if (gateways->instances[i])
            provider_ops_for((provider_id)i)->free_(gateways->instances[i]);
        gateways->instances[i] = NULL;
    }
}

provider *payment_gateways_find(const payment_gateways *gateways, const char *name,
                                const provider_ops **ops, provider_id *id)
{
    provider_id found;
    const provider_ops *found_ops = provider_ops_by_name(name, &found);
    if (!found_ops || !gateways->instances[found])
        return NULL;
    if (ops)
        *ops = found_ops;
    if (id)
        *id = found;
    return gateways->instances[found];
}
