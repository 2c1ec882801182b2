/* RFC 9457 problem details: the one shape every error takes on the API. */
#ifndef TOPUP_PROBLEM_H
#define TOPUP_PROBLEM_H

#include <stddef.h>

#include "core/result.h"

#define PROBLEM_SIZE 1024

/* Writes {"type","title","status","code","detail"} for an error result. code overrides the
 * result's own code when non-NULL (HTTP-level errors such as "malformed_json" have no
 * topup_result); detail (may be NULL) is one sentence about this request and is JSON-escaped.
 * Returns the length written, truncating the detail if the buffer is short. */
int problem_format(topup_result result, int http_status, const char *code, const char *detail,
                   char *buffer, size_t buffer_size);

/* Appends s to out as the inside of a JSON string (no quotes); returns false when it did not fit
 * (out is then truncated at a character boundary and terminated). */
int json_escape(const char *s, char *out, size_t out_size);

#endif
