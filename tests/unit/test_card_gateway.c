/* Unit tests for src/payments/card_gateway.c without a network: opening the provider (which
 * settings it refuses, and why), reading verified checkout events into topup's notices, and the
 * answer the checkout gets. The gateway calls themselves are tested against the fake gateway in
 * tests/payments/card-gateway.test.mjs. Events are signed with card_sign_webhook, which
 * tests/payments/card.test.mjs checks against Stripe's own library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "payments/card.h"
#include "payments/provider.h"

#define WEBHOOK_SECRET "whsec_unit_test_secret"
#define NOW            INT64_C(1764100000)

typedef struct fixture {
    char dir[64];
    char key_file[128];
    char webhook_file[128];
    provider_settings settings;
    provider *p;
} fixture;

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/topup-card-gateway-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->key_file, sizeof f->key_file, "%s/api-key", f->dir);
    snprintf(f->webhook_file, sizeof f->webhook_file, "%s/webhook-secret", f->dir);
    write_file(f->key_file, "sk_test_unit\n", 0600);
    write_file(f->webhook_file, WEBHOOK_SECRET "\n", 0600);
    f->settings.enabled = true;
    snprintf(f->settings.gateway_url, sizeof f->settings.gateway_url, "https://api.stripe.com");
    snprintf(f->settings.secret_file, sizeof f->settings.secret_file, "%s", f->key_file);
    snprintf(f->settings.webhook_secret_file, sizeof f->settings.webhook_secret_file, "%s",
             f->webhook_file);
    snprintf(f->settings.return_url, sizeof f->settings.return_url, "https://shop.example/back");
    f->settings.timeout_ms = 1000;
    char detail[GATEWAY_DETAIL_SIZE] = "";
    assert_int_equal(card_provider_ops.open(&f->settings, &f->p, detail, sizeof detail), TOPUP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    card_provider_ops.free_(f->p);
    unlink(f->key_file);
    unlink(f->webhook_file);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Opens with settings changed by the caller; expects a refusal whose detail contains needle. */
static void assert_open_refused(const provider_settings *settings, const char *needle)
{
    static char sentinel;
    provider *p = (provider *)(void *)&sentinel; /* must be reset to NULL */
    char detail[GATEWAY_DETAIL_SIZE] = "";
    assert_int_not_equal(card_provider_ops.open(settings, &p, detail, sizeof detail), TOPUP_OK);
    assert_null(p);
    if (!strstr(detail, needle))
        fail_msg("detail \"%s\" does not mention \"%s\"", detail, needle);
}

static void open_refuses_unusable_settings(void **state)
{
    fixture *f = *state;
    provider_settings s = f->settings;
    s.gateway_url[0] = '\0';
    assert_open_refused(&s, "card.gateway is missing");

    s = f->settings;
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://api.stripe.com");
    assert_open_refused(&s, "https://");

    s = f->settings;
    s.return_url[0] = '\0';
    assert_open_refused(&s, "card.return_url is missing");

    s = f->settings;
    s.secret_file[0] = '\0';
    assert_open_refused(&s, "card.secret is missing");

    s = f->settings;
    s.webhook_secret_file[0] = '\0';
    assert_open_refused(&s, "card.webhook_secret is missing");

    char path[160];
    snprintf(path, sizeof path, "%s/readable", f->dir);
    write_file(path, "sk_test_unit\n", 0644);
    s = f->settings;
    snprintf(s.secret_file, sizeof s.secret_file, "%s", path);
    assert_open_refused(&s, "chmod 600");

    write_file(path, "pk_test_public\n", 0600);
    assert_open_refused(&s, "publishable");

    write_file(path, "sk_test_a\r\nX-Injected: 1\n", 0600);
    assert_open_refused(&s, "control characters");
    unlink(path);

    s = f->settings;
    snprintf(s.secret_file, sizeof s.secret_file, "%s/absent", f->dir);
    assert_open_refused(&s, "cannot be read");
}

static void open_takes_loopback_http_for_tests(void **state)
{
    fixture *f = *state;
    static const char *const urls[] = {"http://127.0.0.1:8081", "http://localhost/",
                                       "http://[::1]:9000"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        provider_settings s = f->settings;
        snprintf(s.gateway_url, sizeof s.gateway_url, "%s", urls[i]);
        provider *p = NULL;
        char detail[GATEWAY_DETAIL_SIZE] = "";
        assert_int_equal(card_provider_ops.open(&s, &p, detail, sizeof detail), TOPUP_OK);
        card_provider_ops.free_(p);
    }
    provider_settings s = f->settings;
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://127.0.0.1.example.com");
    assert_open_refused(&s, "https://");
    snprintf(s.gateway_url, sizeof s.gateway_url, "http://localhost:80@elsewhere.example/");
    assert_open_refused(&s, "https://");
}

/* Verifies body as the checkout would send it, signed at timestamp with secret. */
static notify_result verify_signed(fixture *f, const char *body, const char *secret,
                                   int64_t timestamp, payment_notice *notice)
{
    char *signature = NULL;
    assert_int_equal(card_sign_webhook(body, strlen(body), secret, timestamp, &signature),
                     TOPUP_OK);
    notify_header headers[] = {{"Content-Type", "application/json"},
                               {"stripe-signature", signature}};
    notify_result result;
    memset(&result, 0x5a, sizeof result);
    memset(notice, 0x5a, sizeof *notice);
    assert_int_equal(
        card_provider_ops.verify(f->p, headers, 2, body, strlen(body), NOW, &result, notice),
        TOPUP_OK);
    free(signature);
    return result;
}

static notify_result verify(fixture *f, const char *body, payment_notice *notice)
{
    return verify_signed(f, body, WEBHOOK_SECRET, NOW, notice);
}

#define SESSION_PAID                                                                               \
    "\"object\":\"checkout.session\",\"id\":\"cs_test_1\",\"status\":\"complete\","                \
    "\"payment_status\":\"paid\",\"payment_intent\":\"pi_3Abc\",\"amount_total\":10000,"           \
    "\"currency\":\"cny\""

static void assert_genuine(const notify_result *result)
{
    if (!result->genuine)
        fail_msg("refused: %s", result->reason);
}

static void completed_and_paid_is_a_payment(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result =
        verify(f,
               "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{" SESSION_PAID
               ",\"client_reference_id\":\"P20251126001\",\"metadata\":{}}}}",
               &notice);
    assert_genuine(&result);
    assert_int_equal(notice.kind, NOTICE_PAID);
    assert_string_equal(notice.out_trade_no, "P20251126001");
    assert_string_equal(notice.trade_no, "pi_3Abc");
    assert_int_equal(notice.amount_minor, 10000);
    assert_string_equal(notice.currency, "CNY");
    assert_string_equal(notice.app_id, "");
    assert_string_equal(notice.merchant_id, "");
    json_decref(result.fields);
}

static void the_payment_number_may_come_from_the_metadata(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result =
        verify(f,
               "{\"type\":\"checkout.session.async_payment_succeeded\","
               "\"data\":{\"object\":{" SESSION_PAID ",\"client_reference_id\":null,"
               "\"metadata\":{\"out_trade_no\":\"P-meta_1\"}}}}",
               &notice);
    assert_genuine(&result);
    assert_int_equal(notice.kind, NOTICE_PAID);
    assert_string_equal(notice.out_trade_no, "P-meta_1");
    json_decref(result.fields);
}

static void completed_but_unpaid_changes_nothing(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result =
        verify(f,
               "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{"
               "\"object\":\"checkout.session\",\"status\":\"complete\","
               "\"payment_status\":\"unpaid\",\"payment_intent\":\"pi_1\",\"amount_total\":5,"
               "\"currency\":\"cny\",\"client_reference_id\":\"P1\"}}}",
               &notice);
    assert_genuine(&result);
    assert_int_equal(notice.kind, NOTICE_OTHER);
    json_decref(result.fields);
}

static void expired_closes_the_trade(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result = verify(f,
                                  "{\"type\":\"checkout.session.expired\",\"data\":{\"object\":{"
                                  "\"object\":\"checkout.session\",\"status\":\"expired\","
                                  "\"payment_status\":\"unpaid\",\"payment_intent\":null,"
                                  "\"client_reference_id\":\"P2\"}}}",
                                  &notice);
    assert_genuine(&result);
    assert_int_equal(notice.kind, NOTICE_CLOSED);
    assert_string_equal(notice.out_trade_no, "P2");
    json_decref(result.fields);
}

static void other_events_are_genuine_and_change_nothing(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result = verify(f,
                                  "{\"type\":\"charge.refunded\",\"data\":{\"object\":{"
                                  "\"object\":\"charge\",\"amount_refunded\":100}}}",
                                  &notice);
    assert_genuine(&result);
    assert_int_equal(notice.kind, NOTICE_OTHER);
    json_decref(result.fields);
}

/* A genuine event topup cannot act on is refused with the reason, and still read (for the
 * audit trail). */
static void assert_refused_but_read(const notify_result *result, const char *needle)
{
    assert_false(result->genuine);
    if (!strstr(result->reason, needle))
        fail_msg("reason \"%s\" does not mention \"%s\"", result->reason, needle);
    assert_non_null(result->fields);
    json_decref(result->fields);
}

static void a_paid_event_lacking_fields_is_refused(void **state)
{
    fixture *f = *state;
    payment_notice notice;
    notify_result result =
        verify(f,
               "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{"
               "\"object\":\"checkout.session\",\"status\":\"complete\","
               "\"payment_status\":\"paid\",\"amount_total\":100,\"currency\":\"cny\","
               "\"client_reference_id\":\"P3\"}}}",
               &notice);
    assert_refused_but_read(&result, "payment_intent");

    result = verify(f,
                    "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{" SESSION_PAID
                    ",\"client_reference_id\":\"not a payment number\"}}}",
                    &notice);
    assert_refused_but_read(&result, "client_reference_id");

    result = verify(f,
                    "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{"
                    "\"object\":\"checkout.session\",\"payment_status\":\"paid\","
                    "\"payment_intent\":\"pi_1\",\"amount_total\":0,\"currency\":\"cny\","
                    "\"client_reference_id\":\"P4\"}}}",
                    &notice);
    assert_refused_but_read(&result, "amount_total");

    result = verify(f, "{\"type\":\"checkout.session.completed\"}", &notice);
    assert_refused_but_read(&result, "data.object");
}

static void unsigned_forged_and_stale_events_are_refused_unread(void **state)
{
    fixture *f = *state;
    const char *body =
        "{\"type\":\"checkout.session.completed\",\"data\":{\"object\":{" SESSION_PAID
        ",\"client_reference_id\":\"P5\"}}}";
    payment_notice notice;
    notify_result result = verify_signed(f, body, "whsec_someone_else", NOW, &notice);
    assert_false(result.genuine);
    assert_null(result.fields);

    result = verify_signed(f, body, WEBHOOK_SECRET, NOW - CARD_WEBHOOK_TOLERANCE_S - 1, &notice);
    assert_false(result.genuine);
    assert_null(result.fields);

    notify_header headers[] = {{"Content-Type", "application/json"}};
    assert_int_equal(
        card_provider_ops.verify(f->p, headers, 1, body, strlen(body), NOW, &result, &notice),
        TOPUP_OK);
    assert_false(result.genuine);
    assert_non_null(strstr(result.reason, "Stripe-Signature"));
    assert_null(result.fields);
}

static void the_answer_asks_for_a_resend_only_when_not_accepted(void **state)
{
    (void)state;
    notify_answer answer;
    card_provider_ops.answer(true, NULL, &answer);
    assert_int_equal(answer.status, 200);
    assert_string_equal(answer.content_type, "application/json");
    assert_string_equal(answer.body, "{\"received\":true}");

    card_provider_ops.answer(false, "the database is busy \"now\"", &answer);
    assert_int_equal(answer.status, 500);
    json_t *body = json_loads(answer.body, 0, NULL);
    assert_non_null(body);
    assert_true(json_is_false(json_object_get(body, "received")));
    assert_string_equal(json_string_value(json_object_get(body, "detail")),
                        "the database is busy \"now\"");
    json_decref(body);

    char long_reason[400];
    memset(long_reason, 'x', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    card_provider_ops.answer(false, long_reason, &answer);
    assert_int_equal(answer.status, 500);
    assert_string_equal(answer.body, "{\"received\":false}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_refuses_unusable_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(open_takes_loopback_http_for_tests, setup, teardown),
        cmocka_unit_test_setup_teardown(completed_and_paid_is_a_payment, setup, teardown),
        cmocka_unit_test_setup_teardown(the_payment_number_may_come_from_the_metadata, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(completed_but_unpaid_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_closes_the_trade, setup, teardown),
        cmocka_unit_test_setup_teardown(other_events_are_genuine_and_change_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_paid_event_lacking_fields_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(unsigned_forged_and_stale_events_are_refused_unread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_answer_asks_for_a_resend_only_when_not_accepted, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
