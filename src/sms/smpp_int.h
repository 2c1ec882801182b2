/* The SMPP 3.4 protocol data units topup's SMSC client (smpp.c) writes and reads: private to the
 * SMPP transport, declared here so that the reading side can be driven alone (tests, fuzzing).
 *
 * The codec is topup's own rather than Debian's libsmpp34 because that library is unfit for
 * PDUs from a peer that is not trusted: its unpacker measures each C-octet string with strlen()
 * on the receive buffer before comparing with the octets left (so a string without its NUL is
 * read past the end of the PDU), it keeps its error text in process-wide globals
 * (smpp34_errno, smpp34_strerror) that two transports on two threads would share, and it
 * allocates a list node per optional parameter. The PDUs topup needs (bind_transceiver,
 * enquire_link, submit_sm, deliver_sm, unbind, generic_nack and their responses) are few enough
 * to check field by field here: every read is bounded by the PDU's command_length, itself
 * bounded by SMPP_PDU_SIZE_MAX, and every C-octet string by its size in the specification. */
#ifndef TOPUP_SMPP_INT_H
#define TOPUP_SMPP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sms/transport.h"

#define SMPP_HEADER_SIZE   16
#define SMPP_PDU_SIZE_MAX  (64 * 1024) /* longer: the link is dropped (no SMSC sends it) */
#define SMPP_SEQUENCE_MAX  0x7FFFFFFFu /* sequence numbers run 1..this (section 3.2) */
#define SMPP_INTERFACE_3_4 0x34

/* command_id values (section 5.1.2.1). A response is its request's id with the top bit set. */
#define SMPP_RESPONSE_BIT          0x80000000u
#define SMPP_GENERIC_NACK          0x80000000u
#define SMPP_SUBMIT_SM             0x00000004u
#define SMPP_SUBMIT_SM_RESP        0x80000004u
#define SMPP_DELIVER_SM            0x00000005u
#define SMPP_DELIVER_SM_RESP       0x80000005u
#define SMPP_UNBIND                0x00000006u
#define SMPP_UNBIND_RESP           0x80000006u
#define SMPP_BIND_TRANSCEIVER      0x00000009u
#define SMPP_BIND_TRANSCEIVER_RESP 0x80000009u
#define SMPP_ENQUIRE_LINK          0x00000015u
#define SMPP_ENQUIRE_LINK_RESP     0x80000015u

/* command_status values topup acts on (section 5.1.3); smpp_status_describe names the rest. */
#define SMPP_ESME_ROK         0x00u
#define SMPP_ESME_RINVCMDID   0x03u
#define SMPP_ESME_RINVBNDSTS  0x04u
#define SMPP_ESME_RSYSERR     0x08u
#define SMPP_ESME_RINVDSTADR  0x0Bu
#define SMPP_ESME_RINVPASWD   0x0Eu
#define SMPP_ESME_RMSGQFUL    0x14u
#define SMPP_ESME_RTHROTTLED  0x58u
#define SMPP_ESME_RX_P_APPN   0x65u
#define SMPP_ESME_RX_R_APPN   0x66u
#define SMPP_ESME_RUNKNOWNERR 0xFFu

/* C-octet string sizes, the NUL included (section 5.2). */
#define SMPP_SYSTEM_ID_SIZE    16
#define SMPP_PASSWORD_SIZE     9
#define SMPP_SYSTEM_TYPE_SIZE  13
#define SMPP_SERVICE_TYPE_SIZE 6
#define SMPP_ADDRESS_SIZE      21
#define SMPP_TIME_SIZE         17
#define SMPP_MESSAGE_ID_SIZE   65
#define SMPP_SHORT_MESSAGE_MAX 254 /* sm_length's largest value */

/* esm_class bits (section 5.2.12). */
#define SMPP_ESM_UDHI         0x40u /* short_message starts with a user data header */
#define SMPP_ESM_TYPE_MASK    0x3Cu
#define SMPP_ESM_TYPE_RECEIPT 0x04u /* deliver_sm carrying an SMSC delivery receipt */

/* Type of number and numbering plan (sections 5.2.5, 5.2.6). */
#define SMPP_TON_UNKNOWN       0x00u
#define SMPP_TON_INTERNATIONAL 0x01u
#define SMPP_TON_ALPHANUMERIC  0x05u
#define SMPP_NPI_UNKNOWN       0x00u
#define SMPP_NPI_E164          0x01u

#define SMPP_STAT_SIZE 16 /* a receipt's stat: "DELIVRD" and the like, 7 characters */
#define SMPP_BIND_PDU_MAX                                                                          \
    (SMPP_HEADER_SIZE + SMPP_SYSTEM_ID_SIZE + SMPP_PASSWORD_SIZE + SMPP_SYSTEM_TYPE_SIZE + 4 + 1)
#define SMPP_SUBMIT_PDU_MAX (SMPP_HEADER_SIZE + 2 * SMPP_ADDRESS_SIZE + 64 + SMPP_SHORT_MESSAGE_MAX)

typedef struct smpp_header {
    uint32_t command_length; /* the whole PDU, header included */
    uint32_t command_id;
    uint32_t command_status;
    uint32_t sequence_number;
} smpp_header;

/* What topup puts in one submit_sm. Strings are NUL-terminated and within their SMPP sizes. */
typedef struct smpp_submit_sm {
    uint8_t source_addr_ton;
    uint8_t source_addr_npi;
    const char *source_addr;
    const char *destination_addr; /* E.164 digits without '+' (TON international, NPI E.164) */
    uint8_t esm_class;            /* SMPP_ESM_UDHI when short_message carries the header */
    uint8_t registered_delivery;  /* 1: a delivery receipt is wanted */
    uint8_t data_coding;
    const uint8_t *short_message;
    size_t short_message_length; /* at most SMPP_SHORT_MESSAGE_MAX */
} smpp_submit_sm;

/* A deliver_sm as read. Pointers point into the body it was read from. */
typedef struct smpp_deliver_sm {
    uint8_t esm_class;
    uint8_t data_coding;
    char source_addr[SMPP_ADDRESS_SIZE];
    const uint8_t *short_message;
    size_t short_message_length;
    const uint8_t *message_payload; /* optional parameter 0x0424; NULL when absent */
    size_t message_payload_length;
    char receipted_message_id[SMPP_MESSAGE_ID_SIZE]; /* optional 0x001E; "" when absent */
    int message_state;                               /* optional 0x0427; -1 when absent */
} smpp_deliver_sm;

/* What a delivery receipt says. */
typedef struct smpp_receipt {
    char smsc_id[SMS_SMSC_ID_SIZE]; /* the message_id submit_sm_resp gave */
    char stat[SMPP_STAT_SIZE];      /* "DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", ... */
    int64_t done_at;                /* unix seconds of "done date" read as UTC; 0 when absent */
} smpp_receipt;

/* Reads the header at bytes. False when command_length is outside SMPP_HEADER_SIZE ..
 * SMPP_PDU_SIZE_MAX: nothing after it in the stream can be trusted to start a PDU. */
bool smpp_header_read(const uint8_t bytes[SMPP_HEADER_SIZE], smpp_header *out /* OUT */);

/* Each writer puts one whole PDU into out (out_size octets) and returns its length, or 0 when it
 * does not fit or a string is longer than SMPP allows. */
size_t smpp_write_bind_transceiver(uint8_t *out, size_t out_size, uint32_t sequence,
                                   const char *system_id, const char *password,
                                   const char *system_type);
size_t smpp_write_submit_sm(uint8_t *out, size_t out_size, uint32_t sequence,
                            const smpp_submit_sm *submit);
/* A PDU without a body: enquire_link, unbind, their responses, generic_nack. */
size_t smpp_write_bare(uint8_t *out, size_t out_size, uint32_t command_id, uint32_t status,
                       uint32_t sequence);
/* deliver_sm_resp: its body is an empty message_id. */
size_t smpp_write_deliver_sm_resp(uint8_t *out, size_t out_size, uint32_t status,
                                  uint32_t sequence);

/* Reads the message_id of a submit_sm_resp (or the system_id of a bind_transceiver_resp, with
 * id_size SMPP_SYSTEM_ID_SIZE) from body. False when it is absent, longer than id_size - 1, not
 * NUL-terminated inside the body, or not printable ASCII. */
bool smpp_read_id(const uint8_t *body, size_t body_length, char *id /* OUT */, size_t id_size);

/* Reads a deliver_sm body. False when a field runs past the body, a C-octet string is longer
 * than its SMPP size, sm_length is 255 or an optional parameter is cut short. */
bool smpp_read_deliver_sm(const uint8_t *body, size_t body_length, smpp_deliver_sm *out /* OUT */);

/* Reads a delivery receipt: the id (optional parameter receipted_message_id, else the text's
 * "id:"), the final state (the text's "stat:", else message_state) and "done date:" from the
 * text "id:XXX sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD
 * err:000 text:..." (SMPP 3.4 appendix B) in short_message or message_payload. False when the
 * id or the state is missing or not printable ASCII. */
bool smpp_read_receipt(const smpp_deliver_sm *pdu, smpp_receipt *out /* OUT */);

/* Writes "ESME_RTHROTTLED (0x00000058, throttling error ...)" for status into text. */
void smpp_status_describe(uint32_t status, char *text /* OUT */, size_t text_size);

#endif
