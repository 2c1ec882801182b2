#include "core/problem.h"

#include <stdio.h>
#include <string.h>

int json_escape(const char *s, char *out, size_t out_size)
{
    size_t used = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char piece[8];
        size_t piece_length;
        if (c == '"' || c == '\\') {
            piece[0] = '\\';
            piece[1] = (char)c;
            piece_length = 2;
        } else if (c < 0x20) {
            piece_length = (size_t)snprintf(piece, sizeof piece, "\\u%04x", c);
        } else {
            piece[0] = (char)c;
            piece_length = 1;
        }
        if (used + piece_length + 1 > out_size)
            break;
        memcpy(out + used, piece, piece_length);
        used += piece_length;
    }
    if (out_size)
        out[used] = '\0';
    return *s == '\0';
}

/* The title of a problem raised at the HTTP level (a code of its own, no topup_result of its
 * kind): the status's reason phrase, which is what such a problem type means. */
static const char *status_title(int http_status)
{
    switch (http_status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

int problem_format(topup_result result, int http_status, const char *code, const char *detail,
                   char *buffer, size_t buffer_size)
{
    const char *problem_code = code ? code : topup_result_code(result);
    const char *title = code ? status_title(http_status) : topup_strerror(result);
    char escaped[PROBLEM_SIZE / 2];
    json_escape(detail ? detail : topup_strerror(result), escaped, sizeof escaped);
    int length = snprintf(buffer, buffer_size,
                          "{\"type\":\"urn:topup:problem:%s\",\"title\":\"%s\",\"status\":%d,"
                          "\"code\":\"%s\",\"detail\":\"%s\"}",
                          problem_code, title, http_status, problem_code, escaped);
    return length < (int)buffer_size ? length : (int)buffer_size - 1;
}
