/* Fuzz target: clock_parse_rfc3339, which reads the valid_until dates of a subscriber import
 * file (topup CLI). The input is the whole text (up to its first NUL).
 * Invariants: an accepted time formats (always the 20-character "YYYY-MM-DDTHH:MM:SSZ" form) to
 * text that parses back to the same time; and since only the two RFC 3339 forms are accepted,
 * that text is the input itself (20-character input) or the input followed by "T00:00:00Z"
 * (10-character input). */
#include <string.h>

#include "core/clock.h"
#include "fuzz.h"

#define DATE_LENGTH      10 /* "YYYY-MM-DD" */
#define DATE_TIME_LENGTH 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    int64_t seconds = 0;
    if (clock_parse_rfc3339(text, &seconds)) {
        size_t length = strlen(text);
        FUZZ_CHECK(length == DATE_LENGTH || length == DATE_TIME_LENGTH,
                   "'%s' accepted with length %zu", text, length);

        char formatted[RFC3339_SIZE];
        clock_format_rfc3339(seconds, formatted);
        FUZZ_CHECK(strlen(formatted) == DATE_TIME_LENGTH, "'%s' -> %lld formats as '%s'", text,
                   (long long)seconds, formatted);
        int64_t again = 0;
        FUZZ_CHECK(clock_parse_rfc3339(formatted, &again) && again == seconds,
                   "'%s' -> %lld -> '%s' does not parse back", text, (long long)seconds, formatted);
        if (length == DATE_TIME_LENGTH)
            FUZZ_CHECK(strcmp(formatted, text) == 0, "'%s' -> %lld formats as '%s'", text,
                       (long long)seconds, formatted);
        else
            FUZZ_CHECK(memcmp(formatted, text, DATE_LENGTH) == 0 &&
                           strcmp(formatted + DATE_LENGTH, "T00:00:00Z") == 0,
                       "'%s' -> %lld formats as '%s'", text, (long long)seconds, formatted);
    }
    free(text);
    return 0;
}
