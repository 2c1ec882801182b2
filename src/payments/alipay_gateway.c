/* The alipay provider behind payments/provider.h. */
#include "payments/provider.h"

const provider_ops alipay_provider_ops = {.name = "alipay"};
