/* topup sms send: one message through the SMS transport the config file sets up (sms.*),
 * printing its outcome and, when asked, its delivery receipt. Operators use it to check an SMSC
 * account or an HTTP gateway; it touches no database.
 *
 * The transport is started, the message handed over once the link is up, the outcome awaited,
 * and the transport stopped (unbind), all within --timeout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/decimal.h"
#include "sms/encoding.h"
#include "service/config_sections.h"
#include "sms/transport.h"

#define EXIT_RETRY        3 /* not known to have been taken: it may be sent again */
#define TIMEOUT_S_DEFAULT 30
#define SECONDS_MAX       3600
#define SUBMIT_POLL_MS    50 /* how often a busy transport (link not up yet) is asked again */
#define RECEIPTS_MAX      8  /* receipts kept while waiting; the SMSC sends one per message */
#define MESSAGE_ID        1  /* the id handed to the transport: the only message */

/* The transports this command can drive, by sms.transport. */
static const sms_transport_ops *const transports[] = {&smpp_transport_ops,
                                                      &http_gateway_transport_ops};

enum { O_CONFIG, O_TO, O_TEXT, O_RECEIPT, O_WAIT_RECEIPT, O_TIMEOUT, O_COUNT };

static const cli_option options[O_COUNT] = {
    {"config", true},   {"to", true},           {"text", true},
    {"receipt", false}, {"wait-receipt", true}, {"timeout", true},
};

typedef struct received_receipt {
    char smsc_id[SMS_SMSC_ID_SIZE];
    char stat[16];
    int64_t done_at;
} received_receipt;

/* What the transport's thread reports. mutex guards every field; changed is signalled on each
 * report. */
typedef struct send_state {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    bool result_known;
    sms_outcome outcome;
    char smsc_id[SMS_SMSC_ID_SIZE];
    char detail[SMS_DETAIL_SIZE];
    received_receipt receipts[RECEIPTS_MAX];
    size_t receipt_count;
} send_state;

/* ---- settings ----------------------------------------------------------------------------- */

static const sms_transport_ops *transport_named(const char *name)
{
    for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++)
        if (strcmp(transports[i]->name, name) == 0)
            return transports[i];
    return NULL;
}

/* ---- callbacks (on the transport's thread) ------------------------------------------------ */

static void on_result(void *context, int64_t message_id, sms_outcome outcome, const char *smsc_id,
                      const char *detail)
{
    send_state *state = context;
    if (message_id != MESSAGE_ID)
        return;
    pthread_mutex_lock(&state->mutex);
    state->result_known = true;
    state->outcome = outcome;
    snprintf(state->smsc_id, sizeof state->smsc_id, "%s", smsc_id ? smsc_id : "");
    snprintf(state->detail, sizeof state->detail, "%s", detail ? detail : "");
    pthread_cond_broadcast(&state->changed);
    pthread_mutex_unlock(&state->mutex);
}

/* Receipts are kept whatever their id: the SMSC may send one before submit_sm_resp. */
static void on_receipt(void *context, const char *smsc_id, const char *stat, int64_t done_at)
{
    send_state *state = context;
    pthread_mutex_lock(&state->mutex);
    if (state->receipt_count < RECEIPTS_MAX) {
        received_receipt *r = &state->receipts[state->receipt_count++];
        snprintf(r->smsc_id, sizeof r->smsc_id, "%s", smsc_id);
        snprintf(r->stat, sizeof r->stat, "%s", stat);
        r->done_at = done_at;
    }
    pthread_cond_broadcast(&state->changed);
    pthread_mutex_unlock(&state->mutex);
}

/* ---- sending ------------------------------------------------------------------------------ */

static void sleep_ms(int64_t delay_ms)
{
    struct timespec delay = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000};
    nanosleep(&delay, NULL);
}

/* Hands the message over as soon as the link is up, until deadline_ms. */
static topup_result hand_over(const sms_transport_ops *ops, sms_transport *t,
                              const sms_message *message, int64_t deadline_ms)
{
    for (;;) {
        topup_result r = ops->submit(t, message);
        if (r != TOPUP_E_BUSY || clock_monotonic_ms() >= deadline_ms)
            return r;
        sleep_ms(SUBMIT_POLL_MS);
    }
}

/* The receipt for smsc_id, if one came (call with the mutex held). */
static const received_receipt *find_receipt(const send_state *state, const char *smsc_id)
{
    for (size_t i = 0; i < state->receipt_count; i++)
        if (smsc_id[0] && strcmp(state->receipts[i].smsc_id, smsc_id) == 0)
            return &state->receipts[i];
    return NULL;
}

/* Waits until the outcome is known, or the receipt has come when wait_receipt, or until
 * deadline_ms. */
static void await(send_state *state, bool wait_receipt, int64_t deadline_ms)
{
    pthread_mutex_lock(&state->mutex);
    for (;;) {
        bool done = state->result_known && (!wait_receipt || state->outcome != SMS_ACCEPTED ||
                                            find_receipt(state, state->smsc_id));
        int64_t left_ms = deadline_ms - clock_monotonic_ms();
        if (done || left_ms <= 0)
            break;
        struct timespec until = clock_deadline_after_ms(left_ms);
        pthread_cond_timedwait(&state->changed, &state->mutex, &until);
    }
    pthread_mutex_unlock(&state->mutex);
}

static const char *outcome_name(sms_outcome outcome)
{
    return outcome == SMS_ACCEPTED ? "accepted" : outcome == SMS_REJECTED ? "rejected" : "retry";
}

static int exit_for(sms_outcome outcome)
{
    return outcome == SMS_ACCEPTED   ? CLI_EXIT_OK
           : outcome == SMS_REJECTED ? CLI_EXIT_FAILURE
                                     : EXIT_RETRY;
}

/* Prints the outcome (after stop: nothing reports any more) and returns the exit code. */
static int print_outcome(send_state *state, const sms_encoding *encoding, bool receipt_asked)
{
    json_t *answer = json_pack("{s:s,s:s,s:s,s:s,s:i}", "outcome", outcome_name(state->outcome),
                               "detail", state->detail, "smsc_id", state->smsc_id, "encoding",
                               sms_data_coding_name(encoding->data_coding), "parts",
                               (json_int_t)encoding->part_count);
    if (answer && receipt_asked) {
        const received_receipt *r = find_receipt(state, state->smsc_id);
        json_t *receipt = r ? json_pack("{s:s,s:s,s:o}", "smsc_id", r->smsc_id, "stat", r->stat,
                                        "done_at", cli_json_time(r->done_at))
                            : json_null();
        json_object_set_new(answer, "receipt", receipt);
    }
    int rc = cli_json_print(answer);
    return rc == CLI_EXIT_OK ? exit_for(state->outcome) : rc;
}

/* Starts the transport, sends, waits, stops; fills state. */
static int send_one(const sms_transport_ops *ops, const sms_settings *settings,
                    const sms_message *message, int64_t timeout_s, int64_t wait_receipt_s,
                    send_state *state)
{
    sms_transport *t = NULL;
    char detail[SMS_DETAIL_SIZE] = "";
    topup_result r = ops->start(settings, on_result, on_receipt, state, &t, detail, sizeof detail);
    if (r != TOPUP_OK)
        return cli_fail(r, "%s", detail);
    int64_t deadline_ms = clock_monotonic_ms() + timeout_s * 1000;
    r = hand_over(ops, t, message, deadline_ms);
    if (r == TOPUP_OK) {
        await(state, false, deadline_ms);
        if (wait_receipt_s > 0)
            await(state, true, clock_monotonic_ms() + wait_receipt_s * 1000);
    }
    ops->stop(t); /* an unanswered message is reported SMS_RETRY before stop returns */
    if (r == TOPUP_OK && !state->result_known) {
        state->result_known = true;
        snprintf(state->detail, sizeof state->detail, "No outcome within %lld s.",
                 (long long)timeout_s);
    } else if (r == TOPUP_E_BUSY) {
        state->result_known = true;
        state->outcome = SMS_RETRY;
        snprintf(state->detail, sizeof state->detail,
                 "The link to the SMSC did not come up within %lld s (the lines above say why).",
                 (long long)timeout_s);
    } else if (r != TOPUP_OK) {
        state->result_known = true;
        state->outcome = SMS_REJECTED;
        snprintf(state->detail, sizeof state->detail, "The transport refused the message.");
    }
    return CLI_CONTINUE;
}

/* ---- the command -------------------------------------------------------------------------- */

/* Loads the sms.* settings and finds their transport; CLI_CONTINUE or a usage exit. */
static int load_settings(const char *config, sms_settings *settings, const sms_transport_ops **ops)
{
    payment_settings payments;
    partners_settings partners;
    portal_settings portal;
    counter_settings counter;
    if (config_sections_read(
            config, &(config_sections){&payments, settings, &partners, &portal, &counter}) != 0)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "The config file %s has errors (above).", config);
    if (!settings->transport[0])
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "%s sets no sms.transport: SMS is off.", config);
    *ops = transport_named(settings->transport);
    if (!*ops)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "sms.transport '%s' is not a transport this command can drive.",
                        settings->transport);
    return CLI_CONTINUE;
}

/* Checks --to, --text and the numbers; fills message and encoding. */
static int check_options(const cli_context *ctx, const char **v, sms_message *message,
                         sms_encoding *encoding, int64_t *timeout_s, int64_t *wait_receipt_s)
{
    int rc;
    if ((rc = cli_require(ctx, v[O_CONFIG], "config")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_TO], "to")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_TEXT], "text")) != CLI_CONTINUE)
        return rc;
    size_t digits = strlen(v[O_TO]) - 1;
    if (v[O_TO][0] != '+' || digits < 1 || digits > 15 || v[O_TO][1] == '0' ||
        strspn(v[O_TO] + 1, "0123456789") != digits)
        return cli_bad_value(ctx, TOPUP_E_INVALID_NUMBER, "to", v[O_TO],
                             "an E.164 number: '+', the country code and up to 15 digits");
    char detail[SMS_DETAIL_SIZE];
    if (sms_encode(v[O_TEXT], strlen(v[O_TEXT]), 0, encoding, detail, sizeof detail) != TOPUP_OK)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "text", "...", detail);
    *timeout_s = TIMEOUT_S_DEFAULT;
    if (v[O_TIMEOUT] && !decimal_parse(v[O_TIMEOUT], 1, SECONDS_MAX, timeout_s))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "timeout", v[O_TIMEOUT],
                             "seconds, 1 to 3600");
    *wait_receipt_s = 0;
    if (v[O_WAIT_RECEIPT] && !decimal_parse(v[O_WAIT_RECEIPT], 1, SECONDS_MAX, wait_receipt_s))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "wait-receipt", v[O_WAIT_RECEIPT],
                             "seconds, 1 to 3600");
    *message = (sms_message){.id = MESSAGE_ID, .text = v[O_TEXT]};
    strcpy(message->to, v[O_TO]);
    message->want_receipt = v[O_RECEIPT] != NULL || *wait_receipt_s > 0;
    return CLI_CONTINUE;
}

int cli_cmd_sms_send(cli_context *ctx, int argc, char **argv)
{
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    sms_message message;
    sms_encoding *encoding = malloc(sizeof *encoding);
    if (!encoding)
        return cli_fail(TOPUP_E_NOMEM, NULL);
    int64_t timeout_s, wait_receipt_s;
    sms_settings settings;
    const sms_transport_ops *ops = NULL;
    rc = check_options(ctx, v, &message, encoding, &timeout_s, &wait_receipt_s);
    if (rc == CLI_CONTINUE && load_settings(v[O_CONFIG], &settings, &ops) != CLI_CONTINUE)
        rc = CLI_EXIT_USAGE;
    send_state state = {.outcome = SMS_RETRY};
    pthread_mutex_init(&state.mutex, NULL);
    pthread_cond_init(&state.changed, NULL);
    if (rc == CLI_CONTINUE)
        rc = send_one(ops, &settings, &message, timeout_s, wait_receipt_s, &state);
    if (rc == CLI_EXIT_FAILURE)
        rc = CLI_EXIT_USAGE; /* the transport refused its settings: a config error */
    if (rc == CLI_CONTINUE)
        rc = print_outcome(&state, encoding, message.want_receipt);
    pthread_cond_destroy(&state.changed);
    pthread_mutex_destroy(&state.mutex);
    free(encoding);
    return rc;
}
