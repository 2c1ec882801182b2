/* Partner request signatures against values made by the openssl command line, an independent
 * implementation (the recipe docs/partners.md gives to merchants):
 *
 *   body_hash=$(printf '%s' "$BODY" | openssl dgst -sha256 -r | cut -d' ' -f1)
 *   printf 'POST\n/v1/partner/orders\n1795600000\nn0nce-0001\n%s' "$body_hash" |
 *       openssl dgst -sha256 -hmac "$SECRET" -r
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "partners/signature.h"

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BODY                                                                                       \
    "{\"merchant_order_id\":\"JD20261125001\",\"msisdn\":\"13800138000\",\"product\":\"cmcc-50\"," \
    "\"callback_url\":\"https://shop.example/cb\"}"
#define NOW 1795600000
#define ORDER_SIGNATURE "1e68a8a89b1a521646bbc7d9d7e1d91bf5ab78df331d9f4f44aa4a8a2cb47e93"
#define BALANCE_SIGNATURE "8f9b6bdacd9d34dd10601263a6d618bea528d77e6dca8481376b1d76e90204c5"

static void signatures_equal_openssl_ones(void **state)
{
    (void)state;
    char *text = NULL;
    char signature[PARTNER_SIGNATURE_HEX_SIZE];
    assert_int_equal(partner_signing_text("POST", "/v1/partner/orders", NOW, "n0nce-0001", BODY,
                                          strlen(BODY), &text),
                     TOPUP_OK);
    assert_string_equal(text, "POST\n/v1/partner/orders\n1795600000\nn0nce-0001\n"
                              "f232200f9f76985000fbe11b6fa58bf811158d09057631d65d134e6fe082fca3");
    assert_int_equal(partner_sign(SECRET, text, signature), TOPUP_OK);
    assert_string_equal(signature, ORDER_SIGNATURE);
    free(text);
    /* A GET has an empty body: its hash is SHA-256 of nothing. */
    assert_int_equal(partner_signing_text("GET", "/v1/partner/balance?currency=CNY", NOW,
                                          "abcdefgh", NULL, 0, &text),
                     TOPUP_OK);
    assert_int_equal(partner_sign(SECRET, text, signature), TOPUP_OK);
    assert_string_equal(signature, BALANCE_SIGNATURE);
    free(text);
}

static topup_result verify_with(const char *secret, const char *body, const char *timestamp,
                                const char *nonce, const char *signature, char *reason)
{
    return partner_verify(secret, "POST", "/v1/partner/orders", timestamp, nonce, body,
                          strlen(body), signature, NOW, reason, 128);
}

static void a_genuine_request_verifies_and_any_change_does_not(void **state)
{
    (void)state;
    char reason[128];
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "n0nce-0001", ORDER_SIGNATURE, reason),
                     TOPUP_OK);
    /* The body changed by one character. */
    char tampered[] = BODY;
    tampered[strlen(tampered) - 3] = 'x';
    assert_int_equal(verify_with(SECRET, tampered, "1795600000", "n0nce-0001", ORDER_SIGNATURE,
                                 reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_string_equal(reason, "the signature does not match");
    /* Another nonce, another secret, an upper-case signature. */
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "n0nce-0002", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with("another-secret", BODY, "1795600000", "n0nce-0001",
                                 ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "n0nce-0001",
                                 "1E68A8A89B1A521646BBC7D9D7E1D91BF5AB78DF331D9F4F44AA4A8A2CB47E93",
                                 reason),
                     TOPUP_E_INVALID_ARGUMENT);
}

static void stale_and_malformed_headers_are_refused_with_the_reason(void **state)
{
    (void)state;
    char reason[128];
    assert_int_equal(verify_with(SECRET, BODY, "1795599699", "n0nce-0001", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(reason, "300 s"));
    assert_int_equal(verify_with(SECRET, BODY, "1795600301", "n0nce-0001", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with(SECRET, BODY, "17956e5", "n0nce-0001", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(reason, "unix seconds"));
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "short", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "bad nonce!", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with(SECRET, BODY, "1795600000", "n0nce-0001", "abc", reason),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_int_equal(verify_with(SECRET, BODY, NULL, "n0nce-0001", ORDER_SIGNATURE, reason),
                     TOPUP_E_INVALID_ARGUMENT);
    /* The edges of the window still pass. */
    assert_int_equal(partner_verify(SECRET, "POST", "/v1/partner/orders", "1795600000",
                                    "n0nce-0001", BODY, strlen(BODY), ORDER_SIGNATURE, NOW + 300,
                                    reason, sizeof reason),
                     TOPUP_OK);
}

static void a_newline_cannot_be_smuggled_into_the_signed_text(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(partner_signing_text("POST", "/v1/partner/orders\n1", NOW, "n0nce-0001",
                                          "", 0, &text),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_null(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signatures_equal_openssl_ones),
        cmocka_unit_test(a_genuine_request_verifies_and_any_change_does_not),
        cmocka_unit_test(stale_and_malformed_headers_are_refused_with_the_reason),
        cmocka_unit_test(a_newline_cannot_be_smuggled_into_the_signed_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
