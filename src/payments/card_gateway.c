/* The card provider behind payments/provider.h. */
#include "payments/provider.h"

const provider_ops card_provider_ops = {.name = "card"};
