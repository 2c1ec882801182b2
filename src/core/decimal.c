#include "core/decimal.h"

#include <string.h>

#define DIGITS_MAX 18 /* 10^18 - 1 fits int64 */

bool decimal_parse(const char *text, int64_t min, int64_t max, int64_t *value)
{
    size_t length = strlen(text);
    if (length == 0 || length > DIGITS_MAX || strspn(text, "0123456789") != length)
        return false;
    int64_t parsed = 0;
    for (size_t i = 0; i < length; i++)
        parsed = parsed * 10 + (text[i] - '0');
    if (parsed < min || parsed > max)
        return false;
    *value = parsed;
    return true;
}
