/* The wechatpay provider behind payments/provider.h. */
#include "payments/provider.h"

const provider_ops wechatpay_provider_ops = {.name = "wechat"};
