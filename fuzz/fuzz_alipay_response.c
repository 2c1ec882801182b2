/* Fuzz target: an answer from Alipay's gateway as topup reads it (alipay_read_response), from
 * whoever answers on the gateway's address. The input is the body.
 * Invariants: the raw answer slice is found without reading past the body; an answer whose
 * signature cannot be checked is never reported as signed; a refused body yields no object. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>

#include "fuzz.h"
#include "payments/alipay.h"

/* One RSA key for the whole run: a signature made by nobody verifies with it only by chance,
 * which a fuzzer will not find. */
static EVP_PKEY *public_key(void)
{
    static EVP_PKEY *key;
    if (!key)
        key = EVP_RSA_gen(2048);
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_cstring(data, size);
    json_t *response = NULL;
    alipay_response_signature signature = ALIPAY_RESPONSE_FORGED;
    char reason[256] = "";
    topup_result r = alipay_read_response(body, strlen(body), "alipay.trade.query", public_key(),
                                          &response, &signature, reason, sizeof reason);
    if (r == TOPUP_OK && signature != ALIPAY_RESPONSE_FORGED)
        FUZZ_CHECK(json_is_object(response), "an accepted answer that is not an object");
    else
        FUZZ_CHECK(response == NULL, "a refused or forged answer came with an object");
    FUZZ_CHECK(!(r == TOPUP_OK && signature == ALIPAY_RESPONSE_SIGNED),
               "an answer signed by nobody verified");
    json_decref(response);
    free(body);
    return 0;
}
