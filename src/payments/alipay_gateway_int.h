/* The pieces of the Alipay provider (alipay_gateway.c) that decide what an answer means, visible
 * to its unit tests. Nothing outside alipay_gateway.c and its tests includes this. */
#ifndef TOPUP_ALIPAY_GATEWAY_INT_H
#define TOPUP_ALIPAY_GATEWAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payments/provider.h"

#define ALIPAY_TIME_SIZE 20 /* "yyyy-MM-dd HH:mm:ss" and NUL */

/* Formats unix seconds as Alipay writes times: "yyyy-MM-dd HH:mm:ss" in Beijing time (UTC+8,
 * no daylight saving), whatever the machine's time zone. */
void alipay_format_beijing_time(int64_t unix_seconds, char text[ALIPAY_TIME_SIZE] /* OUT */);

/* What an answer that is not plain success means: code and sub_code as the answer gave them
 * ("" when absent), sub_msg for the detail, is_signed whether its signature verified (an answer
 * whose signature failed never gets here). A verified 4xxxx (or 20001, missing permission) is a
 * definite refusal; 20000, ACQ.SYSTEM_ERROR and any code not documented tell nothing; an
 * unsigned answer is a refusal when it says 4xxxx and tells nothing otherwise. Writes one
 * sentence in detail. */
gateway_status alipay_answer_failure(const char *code, const char *sub_code, const char *sub_msg,
                                     bool is_signed, char *detail /* OUT */, size_t detail_size);

#endif
