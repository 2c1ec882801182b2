/* How a UTF-8 text becomes the user data of one or more SMS: GSM 03.38 7-bit when every
 * character is in the default alphabet or its extension table, UCS-2 (UTF-16BE) otherwise, and
 * split into parts that carry the concatenation user data header when it does not fit one SMS.
 *
 * GSM text is given one septet per octet (unpacked), the way SMPP carries data_coding 0: the SMSC
 * packs the septets for the air interface. A part never ends inside a GSM escape sequence or a
 * UTF-16 surrogate pair, so every part decodes on its own. */
#ifndef TOPUP_SMS_ENCODING_H
#define TOPUP_SMS_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "sms/transport.h"

/* SMPP data_coding values, so an encoding's value goes into submit_sm unchanged. */
typedef enum sms_data_coding {
    SMS_DATA_CODING_GSM7 = 0x00, /* SMSC default alphabet: GSM 03.38, one septet per octet */
    SMS_DATA_CODING_UCS2 = 0x08  /* UTF-16BE; characters beyond U+FFFF as surrogate pairs */
} sms_data_coding;

#define SMS_GSM_SEPTETS_SINGLE 160 /* septets in one SMS without a header */
#define SMS_GSM_SEPTETS_PART   153 /* septets beside the 6-octet header (7 septets) */
#define SMS_UCS2_UNITS_SINGLE  70  /* UTF-16 code units in one SMS without a header */
#define SMS_UCS2_UNITS_PART    67  /* UTF-16 code units beside the 6-octet header */
#define SMS_UDH_SIZE           6   /* UDHL, IEI 0x00, IEDL 3, reference, total, sequence */
#define SMS_PART_OCTETS_MAX    160 /* the longest user data: one unpacked 160-septet SMS */
/* The most parts a text of SMS_TEXT_SIZE_MAX bytes can need: 2047 one-byte characters and one
 * that forces UCS-2 give 2047 code units, 31 parts of 67. GSM needs fewer (4096 septets at most,
 * 27 parts of 153). The concatenation header could count 255. */
#define SMS_PARTS_MAX 32

/* One part's user data (short_message), the header included when the text is split. */
typedef struct sms_part {
    uint8_t octets[SMS_PART_OCTETS_MAX];
    size_t octet_count;
} sms_part;

/* A text ready for sending. */
typedef struct sms_encoding {
    sms_data_coding data_coding;
    size_t unit_count;      /* the whole text: septets (an extension character is 2) or
                               UTF-16 code units (a character beyond U+FFFF is 2) */
    size_t character_count; /* Unicode code points of the text */
    bool concatenated;      /* the parts carry the header: submit_sm sets esm_class UDHI 0x40 */
    size_t part_count;      /* 1..SMS_PARTS_MAX */
    sms_part parts[SMS_PARTS_MAX];
} sms_encoding;

/* Encodes text (length bytes of UTF-8, at most SMS_TEXT_SIZE_MAX) into out. reference is the
 * concatenation reference the parts of this text share; the caller gives each split text its
 * own, so a handset never mixes parts of two messages. TOPUP_E_INVALID_ARGUMENT with a sentence
 * in detail when the text is empty, too long, not valid UTF-8 (overlong forms, surrogates and
 * code points beyond U+10FFFF included) or would need more than SMS_PARTS_MAX parts. */
topup_result sms_encode(const char *text, size_t length, uint8_t reference,
                        sms_encoding *out /* OUT */, char *detail, size_t detail_size);

/* "gsm7" or "ucs2", for logs and JSON. */
const char *sms_data_coding_name(sms_data_coding data_coding);

#endif
