/* Fuzz target: what an SMSC sends topup, after the PDU header (src/sms/smpp.c reads the header
 * and hands the body over): the body of a deliver_sm, the receipt read from it, and the
 * message_id of a submit_sm_resp. The input is one body.
 * Invariants: nothing is read past the body; every string read is NUL-terminated within its
 * buffer; a receipt read has a non-empty id and state. */
#include <string.h>

#include "fuzz.h"
#include "sms/smpp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly the body, so ASan sees a read past its end. */
    uint8_t *body = malloc(size ? size : 1);
    FUZZ_CHECK(body != NULL, "out of memory");
    memcpy(body, data, size);
    char id[SMS_SMSC_ID_SIZE];
    if (smpp_read_id(body, size, id, sizeof id))
        FUZZ_CHECK(memchr(id, '\0', sizeof id) != NULL, "an id without its end");
    smpp_deliver_sm deliver;
    if (smpp_read_deliver_sm(body, size, &deliver)) {
        FUZZ_CHECK(memchr(deliver.source_addr, '\0', sizeof deliver.source_addr) != NULL,
                   "a source address without its end");
        smpp_receipt receipt;
        if (smpp_read_receipt(&deliver, &receipt))
            FUZZ_CHECK(receipt.smsc_id[0] != '\0' && receipt.stat[0] != '\0',
                       "a receipt without id or state");
    }
    free(body);
    return 0;
}
