/* Shared by the fuzz targets in fuzz/: the libFuzzer entry point each target defines, and the
 * check that turns a broken invariant into a crash libFuzzer (or replay_main.c) reports.
 * assert() is not used because the normal build defines NDEBUG. */
#ifndef TOPUP_FUZZ_H
#define TOPUP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input. Returns 0; a broken invariant aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(condition, ...)                                                                 \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #condition);      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated heap copy of the input, so that C-string parsers see exactly its bytes (up to
 * the first NUL) and ASan catches a read past the end. The caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        abort();
    for (size_t i = 0; i < size; i++)
        text[i] = (char)data[i];
    text[size] = '\0';
    return text;
}

#endif
