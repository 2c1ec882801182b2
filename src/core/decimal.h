/* Whole numbers typed by people or sent by clients: counts, limits, ids, cursors, timestamps. */
#ifndef TOPUP_DECIMAL_H
#define TOPUP_DECIMAL_H

#include <stdbool.h>
#include <stdint.h>

/* Parses text made only of 1 to 18 ASCII digits (no sign, no spaces, so it cannot overflow) into
 * *value when it lies within [min, max]; false for anything else, leaving *value untouched. */
bool decimal_parse(const char *text, int64_t min, int64_t max, int64_t *value /* OUT */);

#endif
