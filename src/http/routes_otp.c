/* SMS codes: POST /v1/otp sends one, POST /v1/otp/verify checks one. Exposed to API clients
 * with the recharge scope (the portal's back end); the limits in service/otp.c bound what even a
 * trusted client can make topup send, per number and per payer IP. No Idempotency-Key: a retried
 * send is held back by the 60 s resend limit, so it cannot send twice. */
#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/numbers.h"
#include "service/otp.h"

typedef struct otp_work {
    otp_send send;
    otp_check check;
} otp_work;

/* The payer's IP: the "payer_ip" field when the portal's back end relays it, else the peer. */
static void client_ip(request *rq, const char *given, char *ip, size_t ip_size)
{
    if (given)
        snprintf(ip, ip_size, "%s", given);
    else
        http_peer_address(rq, ip, ip_size);
}

/* Reads msisdn and purpose (normalising the number); answers and returns false when wrong. */
static bool read_target(request *rq, json_t *body, char msisdn[E164_SIZE],
                        char purpose[OTP_PURPOSE_SIZE])
{
    const char *number = json_string_value(json_object_get(body, "msisdn"));
    const char *wanted = json_string_value(json_object_get(body, "purpose"));
    if (!number || !otp_purpose_valid(wanted)) {
        http_bad_request(rq, "invalid_field",
                         "Give 'msisdn' and 'purpose' (register, login or reset).");
        return false;
    }
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    number_info info;
    topup_result r =
        reader ? numbers_resolve(cat, reader, rq->srv->config.default_country, number, &info)
               : TOPUP_E_STORAGE;
    catalog_unref(cat);
    if (r != TOPUP_OK) {
        http_answer_result(rq, r, NULL);
        return false;
    }
    snprintf(msisdn, E164_SIZE, "%s", info.e164);
    snprintf(purpose, OTP_PURPOSE_SIZE, "%s", wanted);
    return true;
}

static void finish_send(request *rq)
{
    const otp_send *send = &((otp_work *)rq->work)->send;
    if (send->result == TOPUP_E_RATE_LIMITED) {
        char detail[128];
        snprintf(detail, sizeof detail, "Ask again in %lld seconds.", (long long)send->retry_after);
        answer_problem(rq, send->result, 429, NULL, detail);
        rq->retry_after = true;
        return;
    }
    if (send->result != TOPUP_OK) {
        http_answer_result(rq, send->result, NULL);
        return;
    }
    answer_json_value(rq, 202,
                      json_pack("{s:s,s:s,s:I,s:I}", "msisdn", send->msisdn, "purpose",
                                send->purpose, "expires_in", (json_int_t)OTP_VALID_S,
                                "resend_after", (json_int_t)OTP_RESEND_S));
}

/* Parses the JSON body after the content type check; NULL (answered) on error. */
static json_t *json_body(request *rq, otp_work **work)
{
    const char *type = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Content-Type");
    if (!http_is_json(type)) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 415, "unsupported_media_type",
                       "Send the body as Content-Type: application/json.");
        return NULL;
    }
    *work = calloc(1, sizeof **work);
    if (!*work) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return NULL;
    }
    rq->work = *work;
    return http_parse_object(rq);
}

void http_post_otp(request *rq)
{
    otp_work *work;
    json_t *body = json_body(rq, &work);
    if (!body)
        return;
    otp_send *send = &work->send;
    bool ok = read_target(rq, body, send->msisdn, send->purpose);
    client_ip(rq, json_string_value(json_object_get(body, "payer_ip")), send->client_ip,
              sizeof send->client_ip);
    json_decref(body);
    if (!ok)
        return;
    if (!rq->srv->config.sms.transport[0]) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 503, "sms_off",
                       "SMS is not configured here, so no code can be sent.");
        return;
    }
    snprintf(send->lang, sizeof send->lang, "%s", rq->srv->config.sms.lang);
    otp_limits_defaults(&send->limits);
    send->limits.per_number_per_day = rq->srv->config.sms.otp_per_number_per_day;
    send->limits.per_ip_per_day = rq->srv->config.sms.otp_per_ip_per_day;
    server_submit_job(rq, otp_send_apply, send, finish_send);
}

static void finish_check(request *rq)
{
    const otp_check *check = &((otp_work *)rq->work)->check;
    if (check->result != TOPUP_OK) {
        http_answer_result(rq, check->result, NULL);
        return;
    }
    answer_json_value(rq, 200,
                      json_pack("{s:b,s:s,s:s}", "verified", 1, "msisdn", check->msisdn, "purpose",
                                check->purpose));
}

void http_post_otp_verify(request *rq)
{
    otp_work *work;
    json_t *body = json_body(rq, &work);
    if (!body)
        return;
    otp_check *check = &work->check;
    const char *code = json_string_value(json_object_get(body, "code"));
    bool ok = read_target(rq, body, check->msisdn, check->purpose);
    if (ok && (!code || strlen(code) != OTP_DIGITS || strspn(code, "0123456789") != OTP_DIGITS)) {
        http_bad_request(rq, "invalid_field", "'code' is the 6 digits of the SMS.");
        ok = false;
    }
    if (ok)
        snprintf(check->code, sizeof check->code, "%s", code);
    json_decref(body);
    if (ok)
        server_submit_job(rq, otp_check_apply, check, finish_check);
}
