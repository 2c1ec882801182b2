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

int problem_format(topup_result result, int http_status, const char *code, const char *detail,
                   char *buffer, size_t buffer_size)
{
    const char *problem_code = code ? code : topup_result_code(result);
    char escaped[PROBLEM_SIZE / 2];
    json_escape(detail ? detail : topup_strerror(result), escaped, sizeof escaped);
    int length = snprintf(buffer, buffer_size,
                          "{\"type\":\"urn:topup:problem:%s\",\"title\":\"%s\",\"status\":%d,"
                          "\"code\":\"%s\",\"detail\":\"%s\"}",
                          problem_code, topup_strerror(result), http_status, problem_code,
                          escaped);
    return length < (int)buffer_size ? length : (int)buffer_size - 1;
}
