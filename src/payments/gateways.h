/* The payment providers a deployment has configured, opened once (keys read, checked) and shared
 * by every thread: provider instances only read their keys after open, so calls from several
 * threads at once are safe. */
#ifndef TOPUP_GATEWAYS_H
#define TOPUP_GATEWAYS_H

#include "payments/settings.h"

typedef struct payment_gateways {
    payment_settings settings;
    provider *instances[PROVIDER_COUNT]; /* NULL when the provider is not configured */
} payment_gateways;

/* Opens every provider that has settings. On failure nothing stays open and detail names the
 * provider and what is wrong with its settings. */
topup_result payment_gateways_open(const payment_settings *settings, payment_gateways *gateways,
                                   char *detail, size_t detail_size);
void payment_gateways_close(payment_gateways *gateways);

/* The opened provider called name, with its ops and id; NULL when it is unknown or not
 * configured. */
provider *payment_gateways_find(const payment_gateways *gateways, const char *name,
                                const provider_ops **ops /* OUT */, provider_id *id /* OUT */);

#endif
