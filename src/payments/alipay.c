/* Alipay open platform RSA2 signatures: signing request parameters with the application's key and
 * verifying asynchronous notifications with Alipay's public key.
 *
 * Exposed to: the notification body, which anyone on the Internet can POST. Nothing in it is
 * trusted until its signature verifies; the parser is strict (every escape checked, no repeated
 * parameter, bounded size and count) so that what is verified is exactly what is returned. */
#include "payments/alipay.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A trade notification carries about 30 parameters; 256 is far above any Alipay sends and bounds
 * the work an attacker can cause before the signature is checked. */
#define PARAM_COUNT_MAX 256

/* RSA-2048 signs 256 bytes, RSA-4096 512; anything longer than this is not a signature. */
#define SIGNATURE_SIZE_MAX 1024

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The signing text: names sorted by byte order, empty values and the excluded names left out,
 * name=value joined with '&', values raw. Every value must be a JSON string without NUL.
 * *text is malloc'd; the caller frees it. */
static topup_result build_signing_text(const json_t *params, bool exclude_sign_type,
                                       char **text /* OUT */)
{
    *text = NULL;
    if (!json_is_object(params))
        return TOPUP_E_INVALID_ARGUMENT;
    size_t key_count_max = json_object_size(params);
    const char **keys = malloc((key_count_max > 0 ? key_count_max : 1) * sizeof *keys);
    if (!keys)
        return TOPUP_E_NOMEM;
    size_t key_count = 0;
    size_t text_size = 1; /* the terminating NUL */
    for (void *it = json_object_iter((json_t *)(uintptr_t)params); it;
         it = json_object_iter_next((json_t *)(uintptr_t)params, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *value = json_object_iter_value(it);
        if (!json_is_string(value)) {
            free(keys);
            return TOPUP_E_INVALID_ARGUMENT;
        }
        if (strcmp(key, "sign") == 0 || (exclude_sign_type && strcmp(key, "sign_type") == 0))
            continue;
        size_t value_length = json_string_length(value);
        if (value_length == 0)
            continue;
        /* A NUL inside a value could not be signed the way Alipay signs it. */
        if (memchr(json_string_value(value), '\0', value_length) != NULL) {
            free(keys);
            return TOPUP_E_INVALID_ARGUMENT;
        }
        assert(key_count < key_count_max);
        keys[key_count++] = key;
        text_size += strlen(key) + 1 + value_length + 1; /* name '=' value '&' */
    }
    qsort(keys, key_count, sizeof *keys, compare_names);
    char *out = malloc(text_size);
    if (!out) {
        free(keys);
        return TOPUP_E_NOMEM;
    }
    size_t length = 0;
    for (size_t i = 0; i < key_count; i++) {
        const json_t *value = json_object_get(params, keys[i]);
        size_t key_length = strlen(keys[i]);
        size_t value_length = json_string_length(value);
        if (i > 0)
            out[length++] = '&';
        memcpy(out + length, keys[i], key_length);
        length += key_length;
        out[length++] = '=';
        memcpy(out + length, json_string_value(value), value_length);
        length += value_length;
    }
    assert(length < text_size);
    out[length] = '\0';
    free(keys);
    *text = out;
    return TOPUP_OK;
}

topup_result alipay_signing_text(const json_t *params, char **text)
{
    return build_signing_text(params, false, text);
}

topup_result alipay_sign_params(const json_t *params, EVP_PKEY *private_key, char **signature)
{
    *signature = NULL;
    if (!private_key || !EVP_PKEY_is_a(private_key, "RSA"))
        return TOPUP_E_INVALID_ARGUMENT;
    char *text;
    topup_result r = alipay_signing_text(params, &text);
    if (r != TOPUP_OK)
        return r;
    r = TOPUP_E_NOMEM;
    unsigned char *raw = NULL;
    char *encoded = NULL;
    EVP_PKEY_CTX *key_ctx = NULL;
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
    if (!md_ctx)
        goto done;
    if (EVP_DigestSignInit(md_ctx, &key_ctx, EVP_sha256(), NULL, private_key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(key_ctx, RSA_PKCS1_PADDING) <= 0) {
        r = TOPUP_E_INVALID_ARGUMENT;
        goto done;
    }
    size_t raw_size = 0;
    if (EVP_DigestSign(md_ctx, NULL, &raw_size, (const unsigned char *)text, strlen(text)) != 1) {
        r = TOPUP_E_INVALID_ARGUMENT;
        goto done;
    }
    raw = malloc(raw_size);
    if (!raw)
        goto done;
    if (EVP_DigestSign(md_ctx, raw, &raw_size, (const unsigned char *)text, strlen(text)) != 1) {
        r = TOPUP_E_INVALID_ARGUMENT;
        goto done;
    }
    encoded = malloc(4 * ((raw_size + 2) / 3) + 1);
    if (!encoded)
        goto done;
    EVP_EncodeBlock((unsigned char *)encoded, raw, (int)raw_size);
    *signature = encoded;
    encoded = NULL;
    r = TOPUP_OK;
done:
    if (r != TOPUP_OK)
        ERR_clear_error();
    EVP_MD_CTX_free(md_ctx);
    free(raw);
    free(encoded);
    free(text);
    return r;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one application/x-www-form-urlencoded component into out (room for size + 1 bytes):
 * %XX escapes, '+' as space. False on a broken escape or a NUL, raw or escaped. */
static bool form_decode(const char *in, size_t size, char *out /* OUT */, size_t *out_length)
{
    size_t length = 0;
    for (size_t i = 0; i < size; i++) {
        char c = in[i];
        if (c == '%') {
            if (size - i < 3)
                return false;
            int high = hex_value(in[i + 1]);
            int low = hex_value(in[i + 2]);
            if (high < 0 || low < 0)
                return false;
            c = (char)(high * 16 + low);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0')
            return false;
        out[length++] = c;
    }
    out[length] = '\0';
    *out_length = length;
    return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t length)
{
    size_t i = 0;
    while (i < length) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t code;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            code = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            code = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (length - i <= extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
            (code >= 0xD800 && code <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

/* The name as it may appear in a reason: reasons end up in logs, so a name that is not plain
 * printable ASCII (newlines, escapes, anything an attacker could forge a log line with) is
 * replaced by a placeholder. */
static const char *loggable_name(const char *name)
{
    for (const char *p = name; *p; p++)
        if (*p < 0x20 || *p > 0x7E || *p == '"')
            return "(unprintable)";
    return name;
}

/* Parses the form body into a JSON object of strings. *fields is NULL (and result refused with
 * the reason) when the body is not a well-formed form; TOPUP_E_NOMEM only when memory ran out.
 * *fields is owned by the caller. */
static topup_result parse_form(const char *body, size_t body_size, json_t **fields /* OUT */,
                               notify_result *result)
{
    *fields = NULL;
    /* Decoding never lengthens a component, so one buffer holds any name and its value. */
    char *scratch = malloc(body_size + 2);
    json_t *object = json_object();
    if (!scratch || !object) {
        free(scratch);
        json_decref(object);
        return TOPUP_E_NOMEM;
    }
    topup_result r = TOPUP_OK;
    bool refused = true;
    size_t param_count = 0;
    size_t start = 0;
    if (body_size == 0) {
        notify_refuse(result, "the notification body is empty");
        goto done;
    }
    while (start <= body_size) {
        const char *end = memchr(body + start, '&', body_size - start);
        size_t segment_size = end ? (size_t)(end - (body + start)) : body_size - start;
        const char *segment = body + start;
        param_count++;
        if (param_count > PARAM_COUNT_MAX) {
            notify_refuse(result, "the notification has more than %d parameters", PARAM_COUNT_MAX);
            goto done;
        }
        const char *equals = memchr(segment, '=', segment_size);
        if (segment_size == 0 || !equals || equals == segment) {
            notify_refuse(result, "parameter %zu is not of the form name=value", param_count);
            goto done;
        }
        size_t name_size = (size_t)(equals - segment);
        size_t value_size = segment_size - name_size - 1;
        char *name = scratch;
        size_t name_length;
        if (!form_decode(segment, name_size, name, &name_length)) {
            notify_refuse(result, "parameter %zu has a broken %%-escape in its name", param_count);
            goto done;
        }
        char *value = scratch + name_length + 1;
        size_t value_length;
        if (!form_decode(equals + 1, value_size, value, &value_length)) {
            notify_refuse(result, "parameter \"%.64s\" has a broken %%-escape in its value",
                          loggable_name(name));
            goto done;
        }
        if (!utf8_valid((const unsigned char *)name, name_length) ||
            !utf8_valid((const unsigned char *)value, value_length)) {
            notify_refuse(result,
                          "parameter \"%.64s\" is not UTF-8 (the app's charset must be "
                          "utf-8)",
                          loggable_name(name));
            goto done;
        }
        if (json_object_get(object, name) != NULL) {
            notify_refuse(result, "parameter \"%.64s\" is repeated", loggable_name(name));
            goto done;
        }
        json_t *string = json_stringn(value, value_length);
        if (!string || json_object_set_new(object, name, string) != 0) {
            r = TOPUP_E_NOMEM;
            goto done;
        }
        if (!end)
            break;
        start += segment_size + 1;
    }
    refused = false;
done:
    free(scratch);
    if (r != TOPUP_OK || refused) {
        json_decref(object);
        return r;
    }
    *fields = object;
    return TOPUP_OK;
}

/* Decodes standard Base64 (with padding, nothing else) into out (room for SIGNATURE_SIZE_MAX).
 * False when the text is not exactly that. */
static bool base64_decode(const char *text, size_t text_length, unsigned char *out /* OUT */,
                          size_t *out_size)
{
    if (text_length == 0 || text_length % 4 != 0 || text_length / 4 * 3 > SIGNATURE_SIZE_MAX)
        return false;
    size_t padding = 0;
    while (padding < 2 && text[text_length - 1 - padding] == '=')
        padding++;
    for (size_t i = 0; i < text_length - padding; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    int decoded = EVP_DecodeBlock(out, (const unsigned char *)text, (int)text_length);
    if (decoded < 0 || (size_t)decoded < padding)
        return false;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    *out_size = (size_t)decoded - padding;
    return true;
}

/* Whether signature is a SHA256withRSA (PKCS#1 v1.5) signature of text by key, in *verified.
 * TOPUP_E_NOMEM only when memory ran out. */
static topup_result rsa2_verify(EVP_PKEY *key, const unsigned char *signature,
                                size_t signature_size, const char *text, size_t text_length,
                                bool *verified /* OUT */)
{
    *verified = false;
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
    if (!md_ctx)
        return TOPUP_E_NOMEM;
    EVP_PKEY_CTX *key_ctx = NULL;
    if (EVP_DigestVerifyInit(md_ctx, &key_ctx, EVP_sha256(), NULL, key) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(key_ctx, RSA_PKCS1_PADDING) > 0)
        *verified = EVP_DigestVerify(md_ctx, signature, signature_size, (const unsigned char *)text,
                                     text_length) == 1;
    EVP_MD_CTX_free(md_ctx);
    ERR_clear_error();
    return TOPUP_OK;
}

topup_result alipay_verify_notification(const char *body, size_t body_size,
                                        EVP_PKEY *alipay_public_key, notify_result *result)
{
    result->genuine = false;
    result->reason[0] = '\0';
    result->fields = NULL;
    if (body_size > NOTIFY_BODY_SIZE_MAX) {
        notify_refuse(result, "the notification body is larger than %d bytes",
                      NOTIFY_BODY_SIZE_MAX);
        return TOPUP_OK;
    }
    json_t *fields;
    topup_result r = parse_form(body, body_size, &fields, result);
    if (r != TOPUP_OK || !fields)
        return r;
    result->fields = fields;

    const json_t *sign_type = json_object_get(fields, "sign_type");
    if (sign_type && strcmp(json_string_value(sign_type), "RSA2") != 0) {
        notify_refuse(result, "sign_type is \"%.32s\", not RSA2 (SHA256withRSA)",
                      json_string_value(sign_type));
        return TOPUP_OK;
    }
    const json_t *sign = json_object_get(fields, "sign");
    if (!sign || json_string_length(sign) == 0) {
        notify_refuse(result, "the notification has no sign parameter");
        return TOPUP_OK;
    }
    unsigned char signature[SIGNATURE_SIZE_MAX];
    size_t signature_size;
    if (!base64_decode(json_string_value(sign), json_string_length(sign), signature,
                       &signature_size)) {
        notify_refuse(result, "sign is not Base64");
        return TOPUP_OK;
    }
    if (!alipay_public_key || !EVP_PKEY_is_a(alipay_public_key, "RSA")) {
        notify_refuse(result, "the Alipay public key is not an RSA key");
        return TOPUP_OK;
    }
    char *text;
    r = build_signing_text(fields, true, &text);
    if (r != TOPUP_OK) {
        /* Every field is a NUL-free string by construction; only memory can fail here. */
        assert(r == TOPUP_E_NOMEM);
        return r;
    }
    bool verified;
    r = rsa2_verify(alipay_public_key, signature, signature_size, text, strlen(text), &verified);
    free(text);
    if (r != TOPUP_OK)
        return r;
    if (!verified) {
        notify_refuse(result, "the signature does not verify with the Alipay public key");
        return TOPUP_OK;
    }
    result->genuine = true;
    return TOPUP_OK;
}

/* ---- synchronous gateway answers ------------------------------------------------------------
 * The scanner below only locates the raw bytes of one member: it runs after jansson has accepted
 * the whole body as a JSON object, so it never has to judge validity, only stay in bounds. */

static size_t skip_json_space(const char *body, size_t size, size_t i)
{
    while (i < size && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    return i;
}

/* The index just past the string that opens at body[i] (a '"'), or size when it never closes. */
static size_t skip_json_string(const char *body, size_t size, size_t i)
{
    assert(i < size && body[i] == '"');
    for (i++; i < size; i++) {
        if (body[i] == '\\')
            i++; /* the escaped character, whatever it is, cannot close the string */
        else if (body[i] == '"')
            return i + 1;
    }
    return size;
}

/* The index just past the value that starts at body[i]. Objects and arrays are skipped by
 * counting brackets outside strings, without recursion, so nesting depth costs nothing. */
static size_t skip_json_value(const char *body, size_t size, size_t i)
{
    if (i >= size)
        return size;
    if (body[i] == '"')
        return skip_json_string(body, size, i);
    if (body[i] == '{' || body[i] == '[') {
        size_t depth = 0;
        while (i < size) {
            char c = body[i];
            if (c == '"') {
                i = skip_json_string(body, size, i);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0)
                    return i + 1;
            }
            i++;
        }
        return size;
    }
    /* A number or a literal runs to the next delimiter. */
    while (i < size && body[i] != ',' && body[i] != '}' && body[i] != ']' && body[i] != ' ' &&
           body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
        i++;
    return i;
}

/* Locates the raw text of the value of the top-level member spelled exactly name. False when
 * there is none (a name written with escapes does not count: Alipay never writes one). */
static bool find_member_text(const char *body, size_t size, const char *name,
                             size_t *start /* OUT */, size_t *length /* OUT */)
{
    size_t name_length = strlen(name);
    size_t i = skip_json_space(body, size, 0);
    if (i >= size || body[i] != '{')
        return false;
    i++;
    for (;;) {
        i = skip_json_space(body, size, i);
        if (i >= size || body[i] != '"')
            return false;
        size_t key_start = i + 1;
        i = skip_json_string(body, size, i);
        if (i >= size)
            return false;
        size_t key_length = i - 1 - key_start;
        i = skip_json_space(body, size, i);
        if (i >= size || body[i] != ':')
            return false;
        i = skip_json_space(body, size, i + 1);
        size_t value_start = i;
        i = skip_json_value(body, size, i);
        if (key_length == name_length && memcmp(body + key_start, name, name_length) == 0) {
            *start = value_start;
            *length = i - value_start;
            return true;
        }
        i = skip_json_space(body, size, i);
        if (i >= size || body[i] != ',')
            return false;
        i++;
    }
}

/* A copy of the JSON text with every "\/" inside a string written as "/". malloc'd (the caller
 * frees it), NULL on NOMEM. */
static char *unescape_slashes(const char *text, size_t length, size_t *out_length /* OUT */)
{
    char *out = malloc(length + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    bool in_string = false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string && c == '\\' && i + 1 < length) {
            if (text[i + 1] != '/')
                out[n++] = c;
            out[n++] = text[++i];
            continue;
        }
        if (c == '"')
            in_string = !in_string;
        out[n++] = c;
    }
    out[n] = '\0';
    *out_length = n;
    return out;
}

/* Checks sign over the raw answer text. Alipay's gateway writes '/' in strings as "\/" (a
 * qr_code reads "https:\/\/qr.alipay.com\/...") but has been seen to sign the text as it was
 * before that escaping; Alipay's own Java SDK therefore tries the text with "\/" written as "/"
 * when the raw text does not verify. Both texts are the same JSON value, so accepting either
 * lets no forged content through. */
static topup_result answer_signature_verifies(EVP_PKEY *key, const char *sign, const char *text,
                                              size_t text_length, bool *verified /* OUT */)
{
    *verified = false;
    unsigned char signature[SIGNATURE_SIZE_MAX];
    size_t signature_size;
    if (!base64_decode(sign, strlen(sign), signature, &signature_size))
        return TOPUP_OK;
    topup_result r = rsa2_verify(key, signature, signature_size, text, text_length, verified);
    if (r != TOPUP_OK || *verified)
        return r;
    size_t scan = 0;
    bool has_escaped_slash = false;
    while (scan + 1 < text_length && !has_escaped_slash) {
        has_escaped_slash = text[scan] == '\\' && text[scan + 1] == '/';
        scan++;
    }
    if (!has_escaped_slash)
        return TOPUP_OK;
    size_t plain_length;
    char *plain = unescape_slashes(text, text_length, &plain_length);
    if (!plain)
        return TOPUP_E_NOMEM;
    r = rsa2_verify(key, signature, signature_size, plain, plain_length, verified);
    free(plain);
    return r;
}

/* The member name of method's answer: "alipay.trade.query" -> "alipay_trade_query_response".
 * False when it does not fit. */
static bool response_member_name(const char *method, char *name /* OUT */, size_t name_size)
{
    int length = snprintf(name, name_size, "%s_response", method);
    if (length < 0 || (size_t)length >= name_size)
        return false;
    for (char *p = name; *p; p++)
        if (*p == '.')
            *p = '_';
    return true;
}

topup_result alipay_read_response(const char *body, size_t body_size, const char *method,
                                  EVP_PKEY *alipay_public_key, json_t **response,
                                  alipay_response_signature *signature, char *reason,
                                  size_t reason_size)
{
    *response = NULL;
    *signature = ALIPAY_RESPONSE_FORGED;
    reason[0] = '\0';
    char member[160];
    if (!response_member_name(method, member, sizeof member)) {
        snprintf(reason, reason_size, "the method name is too long");
        return TOPUP_OK;
    }
    /* Repeated names are refused so that the object read is the one whose bytes were checked. */
    json_error_t error;
    json_t *root = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(reason, reason_size, "the answer is not a JSON object without repeated names");
        return TOPUP_OK;
    }
    size_t start = 0;
    size_t length = 0;
    if (!find_member_text(body, body_size, member, &start, &length)) {
        /* The gateway answers a call it could not route (unknown app, method) this way. */
        snprintf(member, sizeof member, "error_response");
        if (!find_member_text(body, body_size, member, &start, &length)) {
            json_decref(root);
            snprintf(reason, reason_size, "the answer has no %s_response object", method);
            return TOPUP_OK;
        }
    }
    json_t *answer = json_object_get(root, member);
    const json_t *sign = json_object_get(root, "sign");
    if (!json_is_object(answer) || (sign && !json_is_string(sign))) {
        json_decref(root);
        snprintf(reason, reason_size, "the answer's %s is not an object or its sign not a string",
                 member);
        return TOPUP_OK;
    }
    topup_result r = TOPUP_OK;
    if (!sign) {
        *signature = ALIPAY_RESPONSE_UNSIGNED;
    } else {
        bool verified = false;
        if (!alipay_public_key || !EVP_PKEY_is_a(alipay_public_key, "RSA"))
            snprintf(reason, reason_size, "the Alipay public key is not an RSA key");
        else
            r = answer_signature_verifies(alipay_public_key, json_string_value(sign), body + start,
                                          length, &verified);
        if (r == TOPUP_OK && !verified && reason[0] == '\0')
            snprintf(reason, reason_size,
                     "the answer's signature does not verify with the Alipay public key");
        *signature = verified ? ALIPAY_RESPONSE_SIGNED : ALIPAY_RESPONSE_FORGED;
    }
    if (r == TOPUP_OK && *signature != ALIPAY_RESPONSE_FORGED)
        *response = json_incref(answer);
    json_decref(root);
    return r;
}
