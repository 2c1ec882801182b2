/* Outgoing HTTP for the payment gateways, on libcurl. One call is one request with a hard
 * deadline; the answer keeps the status, the response headers a provider signs (WeChat Pay's
 * Wechatpay-*) and the body. A transport failure or a timeout is reported as such, never as an
 * HTTP status, so callers can tell "the provider said no" from "we do not know". */
#ifndef TOPUP_HTTP_CLIENT_H
#define TOPUP_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"
#include "payments/notify.h"

#define HTTP_CLIENT_HEADERS_MAX   32
#define HTTP_CLIENT_BODY_SIZE_MAX (1024 * 1024) /* larger answers are a failure */

typedef enum http_client_outcome {
    HTTP_CLIENT_ANSWERED, /* a complete HTTP answer arrived (any status) */
    HTTP_CLIENT_TIMEOUT,  /* no complete answer before the deadline */
    HTTP_CLIENT_FAILED    /* could not connect, TLS failed, answer too large, ... */
} http_client_outcome;

typedef struct http_client_response {
    http_client_outcome outcome;
    long status;                                    /* when ANSWERED */
    notify_header headers[HTTP_CLIENT_HEADERS_MAX]; /* name/value strings owned by the response */
    size_t header_count;
    char *header_storage[HTTP_CLIENT_HEADERS_MAX]; /* the allocations headers[] point into */
    char *body; /* NUL-terminated; never NULL after http_client_request */
    size_t body_size;
    char error[256]; /* what went wrong, when not ANSWERED */
    bool never_sent; /* not ANSWERED because no connection was made: the peer got nothing */
} http_client_response;

/* Sends method (GET or POST) to url with the given request headers ("Name: value" strings) and
 * body (may be NULL for GET), waiting at most timeout_ms for the whole exchange. Always fills
 * response (free it with http_client_response_free). Returns TOPUP_E_NOMEM only when it could
 * not even try. */
topup_result http_client_request(const char *method, const char *url, const char *const *headers,
                                 size_t header_count, const char *body, size_t body_size,
                                 long timeout_ms, http_client_response *response /* OUT */);

void http_client_response_free(http_client_response *response);

/* Percent-encodes text for a URL query or an application/x-www-form-urlencoded body
 * (RFC 3986 unreserved characters kept, everything else %XX). malloc'd; NULL on NOMEM. */
char *http_client_form_encode(const char *text);

#endif
