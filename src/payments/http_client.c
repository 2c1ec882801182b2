/* Outgoing HTTP on libcurl's easy interface: one handle per call, so calls from several
 * threads share nothing. curl_global_init runs once (pthread_once) because it is not
 * thread-safe and must precede any handle. */
#include "payments/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The answer being received. */
typedef struct receiving {
    http_client_response *response;
    size_t capacity;
    bool too_large;
} receiving;

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
    receiving *in = context;
    http_client_response *r = in->response;
    size_t length = size * count;
    if (r->body_size + length > HTTP_CLIENT_BODY_SIZE_MAX) {
        in->too_large = true;
        return 0; /* makes curl stop with a write error */
    }
    if (r->body_size + length + 1 > in->capacity) {
        size_t capacity = (r->body_size + length + 1) * 2;
        char *grown = realloc(r->body, capacity);
        if (!grown)
            return 0;
        r->body = grown;
        in->capacity = capacity;
    }
    memcpy(r->body + r->body_size, data, length);
    r->body_size += length;
    r->body[r->body_size] = '\0';
    return length;
}

/* Keeps "Name: value" header lines of the final answer; a new status line (after a 100
 * Continue or a redirect) starts the list over. */
static size_t on_header(char *data, size_t size, size_t count, void *context)
{
    http_client_response *r = context;
    size_t length = size * count;
    if (length >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        for (size_t i = 0; i < r->header_count; i++)
            free(r->header_storage[i]);
        r->header_count = 0;
        return length;
    }
    const char *colon = memchr(data, ':', length);
    if (!colon || r->header_count == HTTP_CLIENT_HEADERS_MAX)
        return length;
    size_t name_length = (size_t)(colon - data);
    const char *value = colon + 1;
    const char *end = data + length;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t value_length = (size_t)(end - value);
    /* Name and value share one allocation: "name\0value\0". */
    char *copy = malloc(name_length + value_length + 2);
    if (!copy)
        return 0;
    memcpy(copy, data, name_length);
    copy[name_length] = '\0';
    memcpy(copy + name_length + 1, value, value_length);
    copy[name_length + 1 + value_length] = '\0';
    r->header_storage[r->header_count] = copy;
    r->headers[r->header_count++] = (notify_header){copy, copy + name_length + 1};
    return length;
}

static struct curl_slist *header_list(const char *const *headers, size_t header_count, bool *ok)
{
    struct curl_slist *list = NULL;
    *ok = true;
    for (size_t i = 0; i < header_count; i++) {
        struct curl_slist *grown = curl_slist_append(list, headers[i]);
        if (!grown) {
            *ok = false;
            break;
        }
        list = grown;
    }
    /* curl adds "Expect: 100-continue" to larger POSTs, costing a round trip per call. */
    struct curl_slist *grown = curl_slist_append(list, "Expect:");
    if (grown)
        list = grown;
    return list;
}

static void set_options(CURL *curl, const char *method, const char *url, struct curl_slist *list,
                        const char *body, size_t body_size, long timeout_ms, receiving *in,
                        char *error_buffer)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    /* Signals would interrupt other threads' system calls; timeouts work without them. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* Only the protocols a gateway speaks; a redirect is never followed, so a payment call
     * cannot be sent somewhere the config did not name. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, in);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, in->response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_size : 0));
    }
}

static void record_outcome(http_client_response *response, CURL *curl, CURLcode code,
                           const receiving *in, const char *error_buffer)
{
    if (code == CURLE_OK) {
        response->outcome = HTTP_CLIENT_ANSWERED;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
        return;
    }
    response->outcome = code == CURLE_OPERATION_TIMEDOUT ? HTTP_CLIENT_TIMEOUT : HTTP_CLIENT_FAILED;
    /* Without a connection not a byte of the request left: the peer cannot have acted on it. */
    response->never_sent = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST;
    if (in->too_large)
        snprintf(response->error, sizeof response->error, "the answer is larger than %d bytes",
                 HTTP_CLIENT_BODY_SIZE_MAX);
    else
        snprintf(response->error, sizeof response->error, "%s",
                 error_buffer[0] ? error_buffer : curl_easy_strerror(code));
}

topup_result http_client_request(const char *method, const char *url, const char *const *headers,
                                 size_t header_count, const char *body, size_t body_size,
                                 long timeout_ms, http_client_response *response)
{
    memset(response, 0, sizeof *response);
    response->outcome = HTTP_CLIENT_FAILED;
    response->body = calloc(1, 1);
    pthread_once(&global_once, global_init);
    if (!response->body || global_result != CURLE_OK)
        return TOPUP_E_NOMEM;
    CURL *curl = curl_easy_init();
    bool headers_ok;
    struct curl_slist *list = header_list(headers, header_count, &headers_ok);
    if (!curl || !headers_ok) {
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        return TOPUP_E_NOMEM;
    }
    receiving in = {.response = response, .capacity = 1};
    char error_buffer[CURL_ERROR_SIZE] = "";
    set_options(curl, method, url, list, body, body_size, timeout_ms, &in, error_buffer);
    CURLcode code = curl_easy_perform(curl);
    record_outcome(response, curl, code, &in, error_buffer);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return TOPUP_OK;
}

void http_client_response_free(http_client_response *response)
{
    for (size_t i = 0; i < response->header_count; i++)
        free(response->header_storage[i]);
    response->header_count = 0;
    free(response->body);
    response->body = NULL;
    response->body_size = 0;
}

char *http_client_form_encode(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    char *out = malloc(length * 3 + 1);
    if (!out)
        return NULL;
    char *p = out;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        bool unreserved = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                          (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' ||
                          *c == '~';
        if (unreserved) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}
