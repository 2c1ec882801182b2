/* Fuzz target: the body of POST /v1/recharges as topupd reads it, from any API client.
 * The input is the whole body. It is parsed as src/http/routes.c does (json_loadb with
 * JSON_REJECT_DUPLICATES, an object only), then put through the same field checks, which are
 * copied here because routes.c keeps them static: keep check_fields in step with read_fields and
 * check_amount there.
 * Invariant: the canonical form hashed for idempotency (json_dumps with JSON_COMPACT |
 * JSON_SORT_KEYS) is stable: it parses back, under the same flags, to a value equal to the body,
 * and dumping that value gives the identical text. Otherwise a retried request could hash
 * differently from the original, or a different request the same. */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "core/money.h"
#include "core/msisdn.h"
#include "fuzz.h"

#define CANONICAL_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

static const number_plan plans[] = {
    {"CN", "86", "", "00", 11, 11, "1"},
    {"PH", "63", "0", "00", 10, 10, "9"},
};

/* read_fields and check_amount of routes.c, answering true when the request would go on to be
 * quoted. */
static bool check_fields(json_t *body)
{
    static const char *const allowed[] = {"msisdn", "product", "amount_minor", "currency", NULL};
    const char *name;
    json_t *value;
    json_object_foreach(body, name, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(name, allowed[i]) == 0;
        if (!known)
            return false;
    }
    json_t *msisdn = json_object_get(body, "msisdn");
    json_t *product = json_object_get(body, "product");
    json_t *amount = json_object_get(body, "amount_minor");
    json_t *currency = json_object_get(body, "currency");
    if (!json_is_string(msisdn))
        return false;
    if (product && !json_is_string(product))
        return false;
    if (amount && !json_is_integer(amount))
        return false;
    if (currency && !json_is_string(currency))
        return false;
    if (!product && !amount)
        return false;
    if (amount && !currency && !product)
        return false;
    if (currency && !currency_find(json_string_value(currency)))
        return false;
    if (amount && money_check_positive((int64_t)json_integer_value(amount)) != TOPUP_OK)
        return false;

    char e164[E164_SIZE];
    const number_plan *plan = NULL;
    topup_result r = msisdn_normalize(json_string_value(msisdn), plans,
                                      sizeof plans / sizeof plans[0], "CN", e164, &plan);
    FUZZ_CHECK(r == TOPUP_OK || r == TOPUP_E_INVALID_NUMBER || r == TOPUP_E_NUMBER_NOT_MOBILE,
               "msisdn_normalize gave %d", (int)r);
    return r == TOPUP_OK;
}

static void check_canonical(json_t *body)
{
    char *canonical = json_dumps(body, CANONICAL_FLAGS);
    FUZZ_CHECK(canonical != NULL, "json_dumps failed on a parsed object");
    json_error_t error;
    json_t *reparsed = json_loads(canonical, JSON_REJECT_DUPLICATES, &error);
    FUZZ_CHECK(reparsed != NULL, "canonical text does not parse: %s: %s", error.text, canonical);
    FUZZ_CHECK(json_equal(body, reparsed), "canonical text parses to another value: %s", canonical);
    char *again = json_dumps(reparsed, CANONICAL_FLAGS);
    FUZZ_CHECK(again != NULL, "json_dumps failed on the reparsed canonical form");
    FUZZ_CHECK(strcmp(canonical, again) == 0, "canonical form not stable:\n%s\n%s", canonical,
               again);
    free(again);
    json_decref(reparsed);
    free(canonical);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t error;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &error);
    if (body == NULL)
        return 0;
    if (json_is_object(body)) {
        check_fields(body);
        check_canonical(body);
    }
    json_decref(body);
    return 0;
}
