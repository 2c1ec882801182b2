/* What the portal (routes_portal.c) and the counter (routes_counter.c) share as browser-facing
 * sites: cookies, the double-submit CSRF check, keeping a session alive without waiting, the
 * receipt check URL, and the pages and assets built into topupd. */
#include "http/http_int.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/web_files.h"
#include "receipts/receipt.h"

const char *http_cookie(request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->connection, MHD_COOKIE_KIND, name);
}

void http_set_cookie(request *rq, int slot, const char *name, const char *value, long max_age,
                     bool http_only)
{
    snprintf(rq->set_cookie[slot], sizeof rq->set_cookie[slot],
             "%s=%s; Path=/; Max-Age=%ld; SameSite=Lax%s%s", name, value, max_age,
             http_only ? "; HttpOnly" : "",
             rq->srv->config.portal.secure_cookies ? "; Secure" : "");
}

/* The header must repeat the CSRF cookie, which only a page of this origin can read. */
static bool csrf_matches(request *rq, const char *cookie_name)
{
    const char *expected = http_cookie(rq, cookie_name);
    const char *given =
        MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "X-CSRF-Token");
    size_t length = expected ? strlen(expected) : 0;
    return length >= 16 && given && strlen(given) == length &&
           CRYPTO_memcmp(expected, given, length) == 0;
}

bool http_csrf_guard(request *rq, const char *cookie_name)
{
    bool change = strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0;
    if (change && !csrf_matches(rq, cookie_name)) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 403, "csrf_failed",
                       "Reload the page: the request lacks the page's CSRF token.");
        return false;
    }
    return true;
}

void http_csrf_cookie(request *rq, const char *cookie_name, long max_age, char csrf[HTTP_CSRF_SIZE])
{
    const char *given = http_cookie(rq, cookie_name);
    if (given && strlen(given) == HTTP_CSRF_SIZE - 1) {
        memcpy(csrf, given, HTTP_CSRF_SIZE);
        return;
    }
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(csrf, HTTP_CSRF_SIZE, random, sizeof random);
    /* Readable by the page's script (not HttpOnly): that is how it sends it back. */
    http_set_cookie(rq, 0, cookie_name, csrf, max_age, false);
}

typedef struct forget_job {
    writer_job job;
    unsigned char payload[]; /* a copy the job owns */
} forget_job;

static void forget_done(writer_job *job)
{
    free(job->context);
}

void http_write_and_forget(request *rq, writer_apply_fn apply, const void *payload,
                           size_t payload_size)
{
    forget_job *f = calloc(1, sizeof *f + payload_size);
    if (!f)
        return; /* only a session's idle deadline is lost, and the next request tries again */
    memcpy(f->payload, payload, payload_size);
    f->job = (writer_job){.apply = apply, .payload = f->payload, .done = forget_done, .context = f};
    if (writer_submit(rq->srv->writer, &f->job) != TOPUP_OK)
        free(f);
}

void http_receipt_check_url(request *rq, int64_t order_id, char *url, size_t url_size)
{
    char code[RECEIPT_CHECK_SIZE] = "";
    receipt_check_code(rq->srv->portal_key, sizeof rq->srv->portal_key, order_id, code);
    /* The Host header is the client's: only a plain host[:port] is put into a receipt. */
    const char *host = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Host");
    bool safe_host = host && strlen(host) < 200 &&
                     strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789.-:[]") == strlen(host);
    snprintf(url, url_size, "%s://%s/r/%lld/%s",
             rq->srv->config.portal.secure_cookies ? "https" : "http",
             safe_host ? host : "localhost", (long long)order_id, code);
}

/* ---- pages and assets ---- */

static const web_file *web_file_find(const char *path)
{
    for (const web_file *f = topup_web_files; f->path; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *suffix, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
    };
    size_t length = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t suffix = strlen(types[i].suffix);
        if (length > suffix && strcmp(path + length - suffix, types[i].suffix) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* A strong validator from the file's bytes: a browser revalidating an unchanged asset gets 304. */
static bool set_etag(request *rq, const web_file *file)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(file->data, file->size, digest);
    rq->etag[0] = '"';
    for (size_t i = 0; i < 8; i++)
        snprintf(rq->etag + 1 + 2 * i, 3, "%02x", digest[i]);
    snprintf(rq->etag + 17, sizeof rq->etag - 17, "\"");
    const char *given =
        MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "If-None-Match");
    return given && strcmp(given, rq->etag) == 0;
}

void http_serve_web_file(request *rq, const char *path, const char *cache_control)
{
    const web_file *file = web_file_find(path);
    if (!file) {
        answer_problem(rq, TOPUP_E_NOT_FOUND, 404, "not_found", "There is no such page.");
        return;
    }
    bool unchanged = set_etag(rq, file);
    answer_json(rq, unchanged ? 304 : 200, unchanged ? "" : (const char *)file->data,
                unchanged ? 0 : file->size);
    rq->content_type = content_type_of(file->path);
    rq->cache_control = cache_control;
    rq->page = true;
}
