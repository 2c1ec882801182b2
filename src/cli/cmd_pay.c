/* topup pay: tools for integrating payment providers. verify-notify says whether a raw
 * notification is genuine and what it says; sign shows what topup would sign for a request.
 * Both read the message on standard input and need no database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/decimal.h"
#include "payments/alipay.h"
#include "payments/card.h"
#include "payments/wechatpay.h"

#define STDIN_SIZE_MAX  (NOTIFY_BODY_SIZE_MAX + 16 * 1024) /* the body and its header block */
#define HEADERS_MAX     64
#define SECRET_SIZE_MAX 256

/* Reads all of standard input (at most STDIN_SIZE_MAX bytes) into a malloc'd NUL-terminated
 * buffer; NULL with *too_large set when there is more. */
static char *read_stdin(size_t *size, bool *too_large)
{
    char *data = malloc(STDIN_SIZE_MAX + 1);
    *too_large = false;
    if (!data)
        return NULL;
    *size = fread(data, 1, STDIN_SIZE_MAX + 1, stdin);
    if (*size > STDIN_SIZE_MAX) {
        free(data);
        *too_large = true;
        return NULL;
    }
    data[*size] = '\0';
    return data;
}

/* Splits "Name: value" lines up to the first empty line; the body follows it. CRLF or LF.
 * Returns the body, or NULL when the block is malformed (no blank line, a line without ':',
 * too many headers). Headers point into data, which is modified. */
static char *split_headers(char *data, notify_header *headers, size_t *header_count)
{
    *header_count = 0;
    char *line = data;
    for (;;) {
        char *end = strchr(line, '\n');
        if (!end)
            return NULL;
        *end = '\0';
        if (end > line && end[-1] == '\r')
            end[-1] = '\0';
        if (*line == '\0')
            return end + 1;
        char *colon = strchr(line, ':');
        if (!colon || *header_count == HEADERS_MAX)
            return NULL;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        headers[(*header_count)++] = (notify_header){line, value};
        line = end + 1;
    }
}

/* what: "PEM key" for keys and certificates, "secret" for the webhook secret and APIv3 key. */
static int key_error(topup_result r, const char *option, const char *path, const char *what)
{
    if (r == TOPUP_E_IO)
        return cli_fail(r, "--%s %s: cannot be read.", option, path);
    if (r == TOPUP_E_INVALID_ARGUMENT)
        return cli_fail(r,
                        "--%s %s: is not a usable %s, or is readable by group or others "
                        "(chmod 600).",
                        option, path, what);
    return cli_fail(r, "--%s %s: could not be loaded.", option, path);
}

static int report(const cli_context *ctx, const char *provider, notify_result *result)
{
    int rc = CLI_EXIT_OK;
    if (!result->genuine) {
        rc = cli_fail(TOPUP_E_INVALID_ARGUMENT, "The %s notification is NOT genuine: %s", provider,
                      result->reason);
    } else if (ctx->json) {
        /* A genuine notification may have an empty body: that says nothing, not "no memory". */
        rc = cli_json_print(result->fields ? json_incref(result->fields) : json_object());
    } else {
        char *text =
            result->fields ? json_dumps(result->fields, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        printf("genuine %s notification\n%s\n", provider, text ? text : "{}");
        free(text);
    }
    json_decref(result->fields);
    return rc;
}

/* The provider-specific part of verify-notify, with the message read and the options parsed. */
static int verify(const cli_context *ctx, const char *provider, char *data, size_t size,
                  const char *key_path, const char *apiv3_path, const char *serial)
{
    notify_result result = {0};
    if (strcmp(provider, "alipay") == 0) {
        EVP_PKEY *key;
        topup_result r = notify_load_public_key(key_path, &key);
        if (r != TOPUP_OK)
            return key_error(r, "key", key_path, "PEM key");
        r = alipay_verify_notification(data, size, key, &result);
        EVP_PKEY_free(key);
        return r == TOPUP_OK ? report(ctx, provider, &result) : cli_fail(r, NULL);
    }
    notify_header headers[HEADERS_MAX];
    size_t header_count;
    char *body = split_headers(data, headers, &header_count);
    if (!body)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "Standard input must be 'Name: value' header lines, a blank line, then "
                        "the body.");
    size_t body_size = size - (size_t)(body - data);
    if (strcmp(provider, "card") == 0) {
        char secret[SECRET_SIZE_MAX];
        topup_result r = notify_load_secret(key_path, secret, sizeof secret);
        if (r != TOPUP_OK)
            return key_error(r, "key", key_path, "secret");
        const char *signature = notify_header_get(headers, header_count, "Stripe-Signature");
        if (!signature) {
            OPENSSL_cleanse(secret, sizeof secret);
            return cli_fail(TOPUP_E_INVALID_ARGUMENT, "There is no Stripe-Signature header.");
        }
        r = card_verify_webhook(signature, body, body_size, secret, clock_now_seconds(),
                                CARD_WEBHOOK_TOLERANCE_S, &result);
        OPENSSL_cleanse(secret, sizeof secret);
        return r == TOPUP_OK ? report(ctx, provider, &result) : cli_fail(r, NULL);
    }
    EVP_PKEY *key;
    topup_result r = notify_load_public_key(key_path, &key);
    if (r != TOPUP_OK)
        return key_error(r, "key", key_path, "PEM key");
    char apiv3[SECRET_SIZE_MAX];
    if (apiv3_path && (r = notify_load_secret(apiv3_path, apiv3, sizeof apiv3)) != TOPUP_OK) {
        EVP_PKEY_free(key);
        return key_error(r, "apiv3-key", apiv3_path, "secret");
    }
    if (apiv3_path && strlen(apiv3) != WECHATPAY_APIV3_KEY_SIZE) {
        OPENSSL_cleanse(apiv3, sizeof apiv3);
        EVP_PKEY_free(key);
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "--apiv3-key %s: the APIv3 key is 32 characters.",
                        apiv3_path);
    }
    r = wechatpay_verify(headers, header_count, body, body_size, key, serial,
                         apiv3_path ? (const unsigned char *)apiv3 : NULL, clock_now_seconds(),
                         &result);
    OPENSSL_cleanse(apiv3, sizeof apiv3);
    EVP_PKEY_free(key);
    return r == TOPUP_OK ? report(ctx, "wechat", &result) : cli_fail(r, NULL);
}

static bool provider_known(const char *provider)
{
    return strcmp(provider, "alipay") == 0 || strcmp(provider, "wechat") == 0 ||
           strcmp(provider, "card") == 0;
}

/* The common start of both verbs: their options, then exactly one known provider and --key.
 * Option O_KEY must be index 0. CLI_CONTINUE, or the exit code after reporting. */
static int pay_start(cli_context *ctx, int argc, char **argv, const cli_option *options,
                     size_t option_count, const char **v, const char **provider)
{
    char *positionals[1];
    size_t positional_count = 0;
    int rc =
        cli_parse(ctx, argc, argv, options, option_count, v, positionals, 1, &positional_count);
    if (rc != CLI_CONTINUE)
        return rc;
    if (positional_count != 1 || !provider_known(positionals[0]))
        return cli_usage_error(ctx, "Name the provider: alipay, wechat or card.");
    *provider = positionals[0];
    return cli_require(ctx, v[0], "key");
}

/* Reads the message on standard input; CLI_CONTINUE with *data the caller's to free. */
static int read_message(char **data, size_t *size)
{
    bool too_large;
    *data = read_stdin(size, &too_large);
    if (*data)
        return CLI_CONTINUE;
    return cli_fail(too_large ? TOPUP_E_INVALID_ARGUMENT : TOPUP_E_NOMEM,
                    too_large ? "The message is larger than 64 KiB." : NULL);
}

int cli_cmd_pay_verify_notify(cli_context *ctx, int argc, char **argv)
{
    enum { O_KEY, O_APIV3, O_SERIAL, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"key", true}, {"apiv3-key", true}, {"serial", true}};
    const char *v[O_COUNT];
    const char *provider;
    char *data;
    size_t size;
    int rc = pay_start(ctx, argc, argv, options, O_COUNT, v, &provider);
    if (rc != CLI_CONTINUE || (rc = read_message(&data, &size)) != CLI_CONTINUE)
        return rc;
    rc = verify(ctx, provider, data, size, v[O_KEY], v[O_APIV3], v[O_SERIAL]);
    free(data);
    return rc;
}

/* ---- sign ---- */

static int print_owned(char *text, topup_result r)
{
    if (r != TOPUP_OK)
        return cli_fail(r, NULL);
    printf("%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

static int sign_alipay(const char *key_path, const char *data)
{
    json_error_t error;
    json_t *params = json_loads(data, 0, &error);
    if (!json_is_object(params)) {
        json_decref(params);
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "Standard input must be a JSON object of string parameters (%s).",
                        error.text);
    }
    EVP_PKEY *key;
    topup_result r = notify_load_private_key(key_path, &key);
    if (r != TOPUP_OK) {
        json_decref(params);
        return key_error(r, "key", key_path, "PEM key");
    }
    char *signature = NULL;
    r = alipay_sign_params(params, key, &signature);
    EVP_PKEY_free(key);
    json_decref(params);
    return print_owned(signature, r);
}

static bool parse_timestamp(const char *text, int64_t *timestamp)
{
    return text && decimal_parse(text, 1, INT64_MAX, timestamp);
}

int cli_cmd_pay_sign(cli_context *ctx, int argc, char **argv)
{
    enum { O_KEY, O_MCHID, O_SERIAL, O_METHOD, O_URL, O_TIMESTAMP, O_NONCE, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"key", true}, {"mchid", true},     {"serial", true}, {"method", true},
        {"url", true}, {"timestamp", true}, {"nonce", true}};
    const char *v[O_COUNT];
    const char *provider;
    int rc = pay_start(ctx, argc, argv, options, O_COUNT, v, &provider);
    if (rc != CLI_CONTINUE)
        return rc;
    int64_t timestamp = clock_now_seconds();
    if (v[O_TIMESTAMP] && !parse_timestamp(v[O_TIMESTAMP], &timestamp))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "timestamp", v[O_TIMESTAMP],
                             "unix seconds");
    char *data;
    size_t size;
    if ((rc = read_message(&data, &size)) != CLI_CONTINUE)
        return rc;
    /* The signers take C strings; a NUL inside would sign less than was read. */
    if (memchr(data, '\0', size)) {
        free(data);
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "The message contains a NUL byte.");
    }
    if (strcmp(provider, "alipay") == 0) {
        rc = sign_alipay(v[O_KEY], data);
    } else if (strcmp(provider, "card") == 0) {
        char secret[SECRET_SIZE_MAX];
        topup_result r = notify_load_secret(v[O_KEY], secret, sizeof secret);
        if (r != TOPUP_OK) {
            free(data);
            return key_error(r, "key", v[O_KEY], "secret");
        }
        char *header = NULL;
        r = card_sign_webhook(data, size, secret, timestamp, &header);
        OPENSSL_cleanse(secret, sizeof secret);
        rc = print_owned(header, r);
    } else {
        for (int o = O_MCHID; o <= O_NONCE; o++)
            if (o != O_TIMESTAMP && !v[o]) {
                free(data);
                return cli_usage_error(ctx, "wechat needs --mchid, --serial, --method, --url "
                                            "and --nonce.");
            }
        EVP_PKEY *key;
        topup_result r = notify_load_private_key(v[O_KEY], &key);
        if (r != TOPUP_OK) {
            free(data);
            return key_error(r, "key", v[O_KEY], "PEM key");
        }
        char *header = NULL;
        r = wechatpay_authorization(v[O_MCHID], v[O_SERIAL], key, v[O_METHOD], v[O_URL], data,
                                    timestamp, v[O_NONCE], &header);
        EVP_PKEY_free(key);
        rc = print_owned(header, r);
    }
    free(data);
    return rc;
}
