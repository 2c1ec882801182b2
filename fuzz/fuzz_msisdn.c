/* Fuzz target: msisdn_normalize and msisdn_mask, which see the number a caller typed into an API
 * request or the CLI. The input is the whole number text (up to its first NUL).
 * Invariants: a normalised number is '+' and digits, at most 16 bytes, of the plan returned, and
 * normalising it again (under any default country) gives the same number and plan; msisdn_mask
 * never writes past the size it is given and always leaves a terminated string. */
#include <stdbool.h>
#include <string.h>

#include "core/msisdn.h"
#include "fuzz.h"

#define ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD_SIZE     16 /* bytes after the mask buffer that must stay untouched */
#define GUARD_BYTE     0x5A

static const number_plan plans[] = {
    {"CN", "86", "", "00", 11, 11, "1"},
    {"PH", "63", "0", "00", 10, 10, "9"},
};

static const char *const default_countries[] = {"CN", "PH", NULL};

static void check_mask_one(const char *e164, const number_plan *plan, size_t masked_size)
{
    unsigned char buffer[MASKED_SIZE + 8 + GUARD_SIZE];
    memset(buffer, GUARD_BYTE, sizeof buffer);
    char *masked = (char *)buffer;
    msisdn_mask(e164, plan, masked, masked_size);
    for (size_t i = masked_size; i < sizeof buffer; i++)
        FUZZ_CHECK(buffer[i] == GUARD_BYTE, "msisdn_mask wrote byte %zu of a %zu-byte buffer", i,
                   masked_size);
    if (masked_size > 0)
        FUZZ_CHECK(memchr(masked, '\0', masked_size) != NULL,
                   "msisdn_mask left a %zu-byte buffer unterminated", masked_size);
}

/* Every size from nothing to more than enough, on any text (msisdn_mask must refuse what is not
 * a number of its plan rather than misbehave). */
static void check_mask(const char *e164, const number_plan *plan)
{
    for (size_t size = 0; size <= MASKED_SIZE + 8; size++)
        check_mask_one(e164, plan, size);
}

/* The masked form of a valid number keeps its length and its last four digits. */
static void check_mask_of_valid(const char *e164, const number_plan *plan)
{
    char masked[MASKED_SIZE];
    msisdn_mask(e164, plan, masked, sizeof masked);
    const char *nsn = e164 + 1 + strlen(plan->calling_code);
    size_t nsn_len = strlen(nsn);
    FUZZ_CHECK(strlen(masked) == nsn_len, "mask of %s is '%s'", e164, masked);
    size_t tail = nsn_len < 4 ? nsn_len : 4;
    FUZZ_CHECK(memcmp(masked + nsn_len - tail, nsn + nsn_len - tail, tail) == 0,
               "mask of %s is '%s'", e164, masked);
}

static void check_normalized(const char *input, const char *default_country, const char *e164,
                             const number_plan *plan)
{
    size_t len = strnlen(e164, E164_SIZE);
    FUZZ_CHECK(len < E164_SIZE, "'%s' gave an unterminated number", input);
    FUZZ_CHECK(len <= 16, "'%s' gave %s, longer than E.164 allows", input, e164);
    FUZZ_CHECK(e164[0] == '+', "'%s' gave %s", input, e164);
    FUZZ_CHECK(len >= 2, "'%s' gave %s", input, e164);
    for (size_t i = 1; i < len; i++)
        FUZZ_CHECK(e164[i] >= '0' && e164[i] <= '9', "'%s' gave %s", input, e164);
    FUZZ_CHECK(plan >= plans && plan < plans + ARRAY_COUNT(plans), "'%s': plan outside plans",
               input);
    size_t cc_len = strlen(plan->calling_code);
    FUZZ_CHECK(strncmp(e164 + 1, plan->calling_code, cc_len) == 0, "'%s' gave %s for plan %s",
               input, e164, plan->country);
    int nsn_len = (int)(len - 1 - cc_len);
    FUZZ_CHECK(nsn_len >= plan->nsn_length_min && nsn_len <= plan->nsn_length_max,
               "'%s' gave %s, NSN of %d digits", input, e164, nsn_len);

    /* Idempotent, and "+CC" form does not depend on the default country. */
    for (size_t d = 0; d < ARRAY_COUNT(default_countries); d++) {
        char again[E164_SIZE];
        const number_plan *again_plan = NULL;
        topup_result r = msisdn_normalize(e164, plans, ARRAY_COUNT(plans), default_countries[d],
                                          again, &again_plan);
        FUZZ_CHECK(r == TOPUP_OK, "'%s' (%s) gave %s, which normalises to error %d", input,
                   default_country ? default_country : "no default", e164, (int)r);
        FUZZ_CHECK(strcmp(again, e164) == 0, "'%s' gave %s, which normalises to %s", input, e164,
                   again);
        FUZZ_CHECK(again_plan == plan, "'%s' gave %s, whose plan changes on normalising again",
                   input, e164);
    }
    check_mask(e164, plan);
    check_mask_of_valid(e164, plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = fuzz_cstring(data, size);
    for (size_t d = 0; d < ARRAY_COUNT(default_countries); d++) {
        char e164[E164_SIZE];
        memset(e164, 'X', sizeof e164);
        const number_plan *plan = NULL;
        topup_result r =
            msisdn_normalize(input, plans, ARRAY_COUNT(plans), default_countries[d], e164, &plan);
        if (r == TOPUP_OK)
            check_normalized(input, default_countries[d], e164, plan);
        else
            FUZZ_CHECK(r == TOPUP_E_INVALID_NUMBER || r == TOPUP_E_NUMBER_NOT_MOBILE,
                       "'%s' gave unexpected result %d", input, (int)r);
    }
    for (size_t p = 0; p < ARRAY_COUNT(plans); p++)
        check_mask(input, &plans[p]);
    free(input);
    return 0;
}
