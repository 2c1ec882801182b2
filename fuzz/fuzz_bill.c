/* Fuzz target: a provider's trade bill as `topup reconcile` reads it, from a file an operator
 * downloaded. The first input byte picks the parser (WeChat Pay CSV, Alipay GBK CSV, Alipay zip);
 * the rest is the file.
 * Invariants: a bill is either refused with a message naming a line, or accepted with lines whose
 * amounts are positive and whose strings are readable; nothing is read past the input. */
#include <string.h>

#include "fuzz.h"
#include "payments/bill.h"

typedef topup_result (*parse_fn)(const char *name, const void *data, size_t size, bill **out,
                                 bill_error *error);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const parse_fn parsers[] = {bill_parse_wechat_csv, bill_parse_alipay_csv,
                                       bill_parse_alipay_zip};
    if (size == 0)
        return 0;
    parse_fn parse = parsers[data[0] % 3];
    /* A heap copy of exactly the file's bytes, so ASan sees a read past its end. */
    size_t file_size = size - 1;
    uint8_t *file = malloc(file_size ? file_size : 1);
    FUZZ_CHECK(file != NULL, "out of memory");
    memcpy(file, data + 1, file_size);
    bill *b = NULL;
    bill_error error;
    memset(&error, 0, sizeof error);
    topup_result r = parse("fuzz", file, file_size, &b, &error);
    if (r != TOPUP_OK) {
        FUZZ_CHECK(b == NULL, "a refused bill was returned");
        FUZZ_CHECK(error.message[0] != '\0', "a refusal without a message");
    } else {
        size_t count;
        const bill_line *lines = bill_lines(b, &count);
        for (size_t i = 0; i < count; i++) {
            FUZZ_CHECK(lines[i].amount_minor > 0, "line %zu has amount %lld", i,
                       (long long)lines[i].amount_minor);
            FUZZ_CHECK(strlen(lines[i].out_trade_no) < 4096, "line %zu: unbounded text", i);
        }
        bill_free(b);
    }
    free(file);
    return 0;
}
