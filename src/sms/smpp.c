/* The SMPP 3.4 transport: topup as an ESME bound as a transceiver to an operator's SMSC.
 *
 * One thread owns the socket. It connects and binds, keeps the link alive with enquire_link,
 * sends the parts of the messages handed over by submit() within a window of outstanding
 * submit_sm and a token-bucket rate, matches each submit_sm_resp to its part by sequence number,
 * answers deliver_sm (delivery receipts) and reconnects with exponential backoff when the link
 * fails. Outcomes and receipts go to the caller's callbacks on this thread.
 *
 * SECURITY: everything the SMSC sends is untrusted. A PDU's command_length must lie within
 * SMPP_HEADER_SIZE..SMPP_PDU_SIZE_MAX or the link is dropped (the stream cannot be resynchronised);
 * every field is read within the PDU (see smpp_int.h for why the codec is topup's own); every
 * response must carry the sequence number of a request still waiting for it, or it is ignored.
 * The bind password is read from a file only its owner can read, sent only in bind_transceiver
 * and never logged; its memory is cleared when the transport stops.
 *
 * What "never sent twice" rests on: a part is written once per hand-over. When the link drops
 * with parts unanswered, the transport does not resend them itself: every message it still
 * holds is reported SMS_RETRY once, and the caller (the outbox) decides whether to send again.
 * A message the SMSC acknowledged in full is reported SMS_ACCEPTED and forgotten. */
#include "sms/smpp_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "payments/notify.h"
#include "sms/encoding.h"

/* Defaults of the sms.* settings (docs/sms.md); a setting left at 0 takes its default. */
#define PORT_DEFAULT                2775
#define WINDOW_DEFAULT              10
#define RATE_PER_SECOND_DEFAULT     50
#define ENQUIRE_LINK_S_DEFAULT      30
#define RECONNECT_MAX_S_DEFAULT     60
#define RESPONSE_TIMEOUT_MS_DEFAULT 10000

/* Limits on the settings, each with its reason. */
#define WINDOW_MAX              100   /* SMSCs grant 1-50; each held message costs ~5.5 KiB */
#define RATE_PER_SECOND_MAX     10000 /* beyond any SMSC account's licence */
#define PERIOD_S_MAX            3600  /* enquire_link and reconnect: an hour at most */
#define RESPONSE_TIMEOUT_MS_MIN 100
#define RESPONSE_TIMEOUT_MS_MAX 120000
#define ALPHANUMERIC_SENDER_MAX 11 /* what a handset shows (TS 23.040 9.1.2.5) */

/* Timing of the link. */
#define RECONNECT_FIRST_MS      500   /* the first retry after a failure; doubles up to the max */
#define RECONNECT_STABLE_MS     10000 /* a link bound this long resets the backoff */
#define THROTTLE_PAUSE_FIRST_MS 1000  /* SMSC limits are per second: pause at least that long */
#define THROTTLE_PAUSE_MAX_MS   32000
#define THROTTLE_RETRIES_MAX    8    /* throttled this often, a part is reported SMS_RETRY */
#define STOP_DRAIN_MS_MAX       2000 /* stop waits this long at most for outstanding answers */
#define UNBIND_WAIT_MS          1000 /* and this long for unbind_resp */
#define POLL_MS_MAX             1000 /* the loop re-checks its clocks at least this often */
#define OUTPUT_SIZE             (64 * 1024)
#define READS_PER_WAKE          16 /* then the clocks are looked at, however fast the SMSC sends */
#define TOKEN                   1000 /* the token bucket counts thousandths of a submit_sm */

/* ---- codec -------------------------------------------------------------------------------- */

typedef struct pdu_writer {
    uint8_t *bytes;
    size_t size;
    size_t length;
    bool overflow; /* something did not fit: the PDU is not written */
} pdu_writer;

static void put_octets(pdu_writer *w, const void *octets, size_t count)
{
    if (w->overflow || w->size - w->length < count) {
        w->overflow = true;
        return;
    }
    memcpy(w->bytes + w->length, octets, count);
    w->length += count;
}

static void put_u8(pdu_writer *w, uint8_t value)
{
    put_octets(w, &value, 1);
}

static void put_u32(pdu_writer *w, uint32_t value)
{
    uint8_t octets[4] = {(uint8_t)(value >> 24), (uint8_t)(value >> 16), (uint8_t)(value >> 8),
                         (uint8_t)value};
    put_octets(w, octets, sizeof octets);
}

/* A C-octet string of at most size octets, its NUL included. */
static void put_cstring(pdu_writer *w, const char *text, size_t size)
{
    size_t length = strlen(text);
    if (length >= size) {
        w->overflow = true;
        return;
    }
    put_octets(w, text, length + 1);
}

static pdu_writer pdu_begin(uint8_t *out, size_t out_size, uint32_t command_id, uint32_t status,
                            uint32_t sequence)
{
    pdu_writer w = {.bytes = out, .size = out_size};
    put_u32(&w, 0); /* command_length, once known */
    put_u32(&w, command_id);
    put_u32(&w, status);
    put_u32(&w, sequence);
    return w;
}

static size_t pdu_end(pdu_writer *w)
{
    if (w->overflow)
        return 0;
    uint32_t length = (uint32_t)w->length;
    w->bytes[0] = (uint8_t)(length >> 24);
    w->bytes[1] = (uint8_t)(length >> 16);
    w->bytes[2] = (uint8_t)(length >> 8);
    w->bytes[3] = (uint8_t)length;
    return w->length;
}

static uint32_t get_be32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           (uint32_t)bytes[3];
}

bool smpp_header_read(const uint8_t bytes[SMPP_HEADER_SIZE], smpp_header *out)
{
    out->command_length = get_be32(bytes);
    out->command_id = get_be32(bytes + 4);
    out->command_status = get_be32(bytes + 8);
    out->sequence_number = get_be32(bytes + 12);
    return out->command_length >= SMPP_HEADER_SIZE && out->command_length <= SMPP_PDU_SIZE_MAX;
}

size_t smpp_write_bind_transceiver(uint8_t *out, size_t out_size, uint32_t sequence,
                                   const char *system_id, const char *password,
                                   const char *system_type)
{
    pdu_writer w = pdu_begin(out, out_size, SMPP_BIND_TRANSCEIVER, 0, sequence);
    put_cstring(&w, system_id, SMPP_SYSTEM_ID_SIZE);
    put_cstring(&w, password, SMPP_PASSWORD_SIZE);
    put_cstring(&w, system_type, SMPP_SYSTEM_TYPE_SIZE);
    put_u8(&w, SMPP_INTERFACE_3_4);
    put_u8(&w, SMPP_TON_UNKNOWN); /* addr_ton, addr_npi, address_range: no MO routing asked */
    put_u8(&w, SMPP_NPI_UNKNOWN);
    put_cstring(&w, "", 1);
    return pdu_end(&w);
}

size_t smpp_write_submit_sm(uint8_t *out, size_t out_size, uint32_t sequence,
                            const smpp_submit_sm *submit)
{
    if (submit->short_message_length > SMPP_SHORT_MESSAGE_MAX)
        return 0;
    pdu_writer w = pdu_begin(out, out_size, SMPP_SUBMIT_SM, 0, sequence);
    put_cstring(&w, "", SMPP_SERVICE_TYPE_SIZE); /* service_type: the SMSC's default */
    put_u8(&w, submit->source_addr_ton);
    put_u8(&w, submit->source_addr_npi);
    put_cstring(&w, submit->source_addr, SMPP_ADDRESS_SIZE);
    put_u8(&w, SMPP_TON_INTERNATIONAL);
    put_u8(&w, SMPP_NPI_E164);
    put_cstring(&w, submit->destination_addr, SMPP_ADDRESS_SIZE);
    put_u8(&w, submit->esm_class);
    put_u8(&w, 0);          /* protocol_id */
    put_u8(&w, 0);          /* priority_flag */
    put_cstring(&w, "", 1); /* schedule_delivery_time: now */
    put_cstring(&w, "", 1); /* validity_period: the SMSC's default */
    put_u8(&w, submit->registered_delivery);
    put_u8(&w, 0); /* replace_if_present_flag */
    put_u8(&w, submit->data_coding);
    put_u8(&w, 0); /* sm_default_msg_id */
    put_u8(&w, (uint8_t)submit->short_message_length);
    put_octets(&w, submit->short_message, submit->short_message_length);
    return pdu_end(&w);
}

size_t smpp_write_bare(uint8_t *out, size_t out_size, uint32_t command_id, uint32_t status,
                       uint32_t sequence)
{
    pdu_writer w = pdu_begin(out, out_size, command_id, status, sequence);
    return pdu_end(&w);
}

size_t smpp_write_deliver_sm_resp(uint8_t *out, size_t out_size, uint32_t status, uint32_t sequence)
{
    pdu_writer w = pdu_begin(out, out_size, SMPP_DELIVER_SM_RESP, status, sequence);
    put_cstring(&w, "", 1); /* message_id: unused, always NULL (section 4.6.2) */
    return pdu_end(&w);
}

typedef struct pdu_reader {
    const uint8_t *bytes;
    size_t length;
    size_t offset;
    bool failed; /* a field ran past the body or broke its size: nothing read is valid */
} pdu_reader;

static const uint8_t *get_octets(pdu_reader *r, size_t count)
{
    if (r->failed || r->length - r->offset < count) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *octets = r->bytes + r->offset;
    r->offset += count;
    return octets;
}

static uint8_t get_u8(pdu_reader *r)
{
    const uint8_t *octet = get_octets(r, 1);
    return octet ? *octet : 0;
}

static uint16_t get_u16(pdu_reader *r)
{
    const uint8_t *octets = get_octets(r, 2);
    return octets ? (uint16_t)(octets[0] << 8 | octets[1]) : 0;
}

/* A C-octet string of at most size octets (NUL included) into text. The NUL is searched for
 * only within the body and within size, never beyond. */
static void get_cstring(pdu_reader *r, char *text, size_t size)
{
    text[0] = '\0';
    if (r->failed)
        return;
    size_t left = r->length - r->offset;
    size_t limit = left < size ? left : size;
    const uint8_t *start = r->bytes + r->offset;
    const uint8_t *nul = memchr(start, '\0', limit);
    if (!nul) {
        r->failed = true;
        return;
    }
    size_t length = (size_t)(nul - start);
    memcpy(text, start, length);
    text[length] = '\0';
    r->offset += length + 1;
}

static bool printable(const char *text)
{
    for (; *text; text++)
        if (*text < 0x21 || *text > 0x7E)
            return false;
    return true;
}

bool smpp_read_id(const uint8_t *body, size_t body_length, char *id, size_t id_size)
{
    pdu_reader r = {.bytes = body, .length = body_length};
    get_cstring(&r, id, id_size);
    if (r.failed || id[0] == '\0' || !printable(id)) {
        id[0] = '\0';
        return false;
    }
    return true;
}

/* Optional parameters of deliver_sm that a receipt may carry (section 5.3.2). */
#define TLV_RECEIPTED_MESSAGE_ID 0x001E
#define TLV_MESSAGE_PAYLOAD      0x0424
#define TLV_MESSAGE_STATE        0x0427

static void read_optional(pdu_reader *r, smpp_deliver_sm *out)
{
    while (!r->failed && r->offset < r->length) {
        uint16_t tag = get_u16(r);
        uint16_t length = get_u16(r);
        const uint8_t *value = get_octets(r, length);
        if (!value)
            return;
        if (tag == TLV_RECEIPTED_MESSAGE_ID) {
            pdu_reader inner = {.bytes = value, .length = length};
            get_cstring(&inner, out->receipted_message_id, sizeof out->receipted_message_id);
            /* the string must fill the parameter exactly: no octets after its NUL */
            if (inner.failed || inner.offset != length)
                r->failed = true;
        } else if (tag == TLV_MESSAGE_PAYLOAD) {
            out->message_payload = value;
            out->message_payload_length = length;
        } else if (tag == TLV_MESSAGE_STATE) {
            if (length != 1)
                r->failed = true;
            else
                out->message_state = value[0];
        }
    }
}

bool smpp_read_deliver_sm(const uint8_t *body, size_t body_length, smpp_deliver_sm *out)
{
    memset(out, 0, sizeof *out);
    out->message_state = -1;
    pdu_reader r = {.bytes = body, .length = body_length};
    char service_type[SMPP_SERVICE_TYPE_SIZE], destination[SMPP_ADDRESS_SIZE];
    char schedule[SMPP_TIME_SIZE], validity[SMPP_TIME_SIZE];
    get_cstring(&r, service_type, sizeof service_type);
    get_u8(&r); /* source_addr_ton, source_addr_npi */
    get_u8(&r);
    get_cstring(&r, out->source_addr, sizeof out->source_addr);
    get_u8(&r); /* dest_addr_ton, dest_addr_npi */
    get_u8(&r);
    get_cstring(&r, destination, sizeof destination);
    out->esm_class = get_u8(&r);
    get_u8(&r); /* protocol_id, priority_flag */
    get_u8(&r);
    get_cstring(&r, schedule, sizeof schedule);
    get_cstring(&r, validity, sizeof validity);
    get_u8(&r); /* registered_delivery, replace_if_present_flag */
    get_u8(&r);
    out->data_coding = get_u8(&r);
    get_u8(&r); /* sm_default_msg_id */
    uint8_t sm_length = get_u8(&r);
    if (sm_length > SMPP_SHORT_MESSAGE_MAX)
        r.failed = true;
    out->short_message = get_octets(&r, sm_length);
    out->short_message_length = sm_length;
    read_optional(&r, out);
    return !r.failed;
}

/* The value after key in a receipt's text, where key starts the text or follows a space;
 * copied into value (at most value_size - 1 characters up to the next space). False when the
 * key is absent or its value empty or too long. */
static bool receipt_field(const char *text, const char *key, char *value, size_t value_size)
{
    size_t key_length = strlen(key);
    for (const char *at = text; *at; at++) {
        if ((at != text && at[-1] != ' ') || strncasecmp(at, key, key_length) != 0)
            continue;
        const char *start = at + key_length;
        size_t length = strcspn(start, " ");
        if (length == 0 || length >= value_size)
            return false;
        memcpy(value, start, length);
        value[length] = '\0';
        return true;
    }
    return false;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/* "YYMMDDhhmm" or "YYMMDDhhmmss" as UTC unix seconds (SMPP does not say the zone; SMSCs
 * configured for topup use UTC). 0 when it is neither shape or out of range. */
static int64_t receipt_time(const char *digits)
{
    size_t length = strlen(digits);
    if ((length != 10 && length != 12) || strspn(digits, "0123456789") != length)
        return 0;
    int value[6] = {0};
    for (size_t i = 0; i < length / 2; i++)
        value[i] = (digits[2 * i] - '0') * 10 + (digits[2 * i + 1] - '0');
    if (value[1] < 1 || value[1] > 12 || value[2] < 1 || value[2] > 31 || value[3] > 23 ||
        value[4] > 59 || value[5] > 59)
        return 0;
    int64_t days = days_from_civil(2000 + value[0], value[1], value[2]);
    return days * 86400 + value[3] * 3600 + value[4] * 60 + value[5];
}

/* message_state values (section 5.2.28) as the receipt text spells them. */
static const char *message_state_stat(int state)
{
    static const char *const names[] = {"",        "ENROUTE", "DELIVRD", "EXPIRED", "DELETED",
                                        "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"};
    return state >= 1 && state <= 8 ? names[state] : "";
}

bool smpp_read_receipt(const smpp_deliver_sm *pdu, smpp_receipt *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *source = pdu->message_payload ? pdu->message_payload : pdu->short_message;
    size_t length = pdu->message_payload ? pdu->message_payload_length : pdu->short_message_length;
    char text[SMPP_SHORT_MESSAGE_MAX + 1];
    if (length > SMPP_SHORT_MESSAGE_MAX)
        length = SMPP_SHORT_MESSAGE_MAX; /* the fields topup reads come first */
    for (size_t i = 0; i < length; i++)
        text[i] = source[i] == '\0' ? ' ' : (char)source[i];
    text[length] = '\0';

    if (pdu->receipted_message_id[0])
        snprintf(out->smsc_id, sizeof out->smsc_id, "%s", pdu->receipted_message_id);
    else if (!receipt_field(text, "id:", out->smsc_id, sizeof out->smsc_id))
        return false;
    if (!receipt_field(text, "stat:", out->stat, sizeof out->stat))
        snprintf(out->stat, sizeof out->stat, "%s", message_state_stat(pdu->message_state));
    char done[16];
    if (receipt_field(text, "done date:", done, sizeof done))
        out->done_at = receipt_time(done);
    return out->smsc_id[0] && out->stat[0] && printable(out->smsc_id) && printable(out->stat);
}

/* ---- command_status ----------------------------------------------------------------------- */

/* What a refused submit_sm means for its message. */
typedef enum status_kind {
    STATUS_PERMANENT, /* the message is wrong for this SMSC: SMS_REJECTED */
    STATUS_TEMPORARY, /* the SMSC failed: SMS_RETRY, the outbox sends again later */
    STATUS_THROTTLED  /* too fast: pause, then send the same part again */
} status_kind;

typedef struct status_info {
    uint32_t code;
    const char *name;
    const char *text;
    status_kind kind;
} status_info;

/* SMPP 3.4 section 5.1.3. */
static const status_info statuses[] = {
    {0x00, "ESME_ROK", "no error", STATUS_TEMPORARY},
    {0x01, "ESME_RINVMSGLEN", "message length is invalid", STATUS_PERMANENT},
    {0x02, "ESME_RINVCMDLEN", "command length is invalid", STATUS_PERMANENT},
    {0x03, "ESME_RINVCMDID", "invalid command id", STATUS_PERMANENT},
    {0x04, "ESME_RINVBNDSTS", "incorrect bind status for the command", STATUS_TEMPORARY},
    {0x05, "ESME_RALYBND", "already bound", STATUS_TEMPORARY},
    {0x06, "ESME_RINVPRTFLG", "invalid priority flag", STATUS_PERMANENT},
    {0x07, "ESME_RINVREGDLVFLG", "invalid registered delivery flag", STATUS_PERMANENT},
    {0x08, "ESME_RSYSERR", "system error", STATUS_TEMPORARY},
    {0x0A, "ESME_RINVSRCADR", "invalid source address", STATUS_PERMANENT},
    {0x0B, "ESME_RINVDSTADR", "invalid destination address", STATUS_PERMANENT},
    {0x0C, "ESME_RINVMSGID", "message id is invalid", STATUS_PERMANENT},
    {0x0D, "ESME_RBINDFAIL", "bind failed", STATUS_PERMANENT},
    {0x0E, "ESME_RINVPASWD", "invalid password", STATUS_PERMANENT},
    {0x0F, "ESME_RINVSYSID", "invalid system id", STATUS_PERMANENT},
    {0x11, "ESME_RCANCELFAIL", "cancel_sm failed", STATUS_PERMANENT},
    {0x13, "ESME_RREPLACEFAIL", "replace_sm failed", STATUS_PERMANENT},
    {0x14, "ESME_RMSGQFUL", "message queue full", STATUS_THROTTLED},
    {0x15, "ESME_RINVSERTYP", "invalid service type", STATUS_PERMANENT},
    {0x33, "ESME_RINVNUMDESTS", "invalid number of destinations", STATUS_PERMANENT},
    {0x34, "ESME_RINVDLNAME", "invalid distribution list name", STATUS_PERMANENT},
    {0x40, "ESME_RINVDESTFLAG", "invalid destination flag", STATUS_PERMANENT},
    {0x42, "ESME_RINVSUBREP", "invalid submit with replace request", STATUS_PERMANENT},
    {0x43, "ESME_RINVESMCLASS", "invalid esm_class", STATUS_PERMANENT},
    {0x44, "ESME_RCNTSUBDL", "cannot submit to a distribution list", STATUS_PERMANENT},
    {0x45, "ESME_RSUBMITFAIL", "submit_sm failed", STATUS_TEMPORARY},
    {0x48, "ESME_RINVSRCTON", "invalid source address TON", STATUS_PERMANENT},
    {0x49, "ESME_RINVSRCNPI", "invalid source address NPI", STATUS_PERMANENT},
    {0x50, "ESME_RINVDSTTON", "invalid destination address TON", STATUS_PERMANENT},
    {0x51, "ESME_RINVDSTNPI", "invalid destination address NPI", STATUS_PERMANENT},
    {0x53, "ESME_RINVSYSTYP", "invalid system_type", STATUS_PERMANENT},
    {0x54, "ESME_RINVREPFLAG", "invalid replace_if_present flag", STATUS_PERMANENT},
    {0x55, "ESME_RINVNUMMSGS", "invalid number of messages", STATUS_PERMANENT},
    {0x58, "ESME_RTHROTTLED", "throttling error: the message rate was exceeded", STATUS_THROTTLED},
    {0x61, "ESME_RINVSCHED", "invalid scheduled delivery time", STATUS_PERMANENT},
    {0x62, "ESME_RINVEXPIRY", "invalid validity period", STATUS_PERMANENT},
    {0x63, "ESME_RINVDFTMSGID", "predefined message not found", STATUS_PERMANENT},
    {0x64, "ESME_RX_T_APPN", "temporary application error", STATUS_TEMPORARY},
    {0x65, "ESME_RX_P_APPN", "permanent application error", STATUS_PERMANENT},
    {0x66, "ESME_RX_R_APPN", "message rejected", STATUS_PERMANENT},
    {0x67, "ESME_RQUERYFAIL", "query_sm failed", STATUS_TEMPORARY},
    {0xC0, "ESME_RINVOPTPARSTREAM", "error in the optional parameters", STATUS_PERMANENT},
    {0xC1, "ESME_ROPTPARNOTALLWD", "optional parameter not allowed", STATUS_PERMANENT},
    {0xC2, "ESME_RINVPARLEN", "invalid parameter length", STATUS_PERMANENT},
    {0xC3, "ESME_RMISSINGOPTPARAM", "expected optional parameter missing", STATUS_PERMANENT},
    {0xC4, "ESME_RINVOPTPARAMVAL", "invalid optional parameter value", STATUS_PERMANENT},
    {0xFE, "ESME_RDELIVERYFAILURE", "delivery failure", STATUS_TEMPORARY},
    {0xFF, "ESME_RUNKNOWNERR", "unknown error", STATUS_TEMPORARY},
};

/* The entry for status; NULL for an SMSC-specific code, which counts as temporary: the outbox's
 * attempt limit ends a message the SMSC keeps refusing. */
static const status_info *status_find(uint32_t status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == status)
            return &statuses[i];
    return NULL;
}

static status_kind status_kind_of(uint32_t status)
{
    const status_info *info = status_find(status);
    return info ? info->kind : STATUS_TEMPORARY;
}

void smpp_status_describe(uint32_t status, char *text, size_t text_size)
{
    const status_info *info = status_find(status);
    if (info)
        snprintf(text, text_size, "%s (0x%08X, %s)", info->name, (unsigned)status, info->text);
    else
        snprintf(text, text_size, "0x%08X (an SMSC-specific error)", (unsigned)status);
}

/* ---- the transport's state ---------------------------------------------------------------- */

typedef enum slot_state {
    SLOT_FREE,
    SLOT_SENDING, /* handed over, outcome not known yet */
    SLOT_DECIDED, /* outcome known, not yet reported */
    SLOT_DRAINING /* reported; parts still in flight keep the slot until they are answered */
} slot_state;

typedef enum part_state {
    PART_WAITING,   /* to be sent (again, after throttling) */
    PART_IN_FLIGHT, /* submit_sm written, its response awaited */
    PART_DONE       /* acknowledged, or abandoned because the message's outcome is known */
} part_state;

/* One message handed over by submit(). */
typedef struct held_message {
    slot_state state;
    uint64_t serial;                     /* hand-over order: older messages go out first */
    int64_t id;                          /* the caller's */
    char destination[SMPP_ADDRESS_SIZE]; /* E.164 digits without '+' */
    bool want_receipt;
    sms_encoding encoding;
    part_state parts[SMS_PARTS_MAX];
    uint8_t throttled_counts[SMS_PARTS_MAX];
    size_t acknowledged_count;
    size_t in_flight_count;
    char smsc_id[SMS_SMSC_ID_SIZE]; /* the first part's message_id */
    sms_outcome outcome;            /* from SLOT_DECIDED on */
    char detail[SMS_DETAIL_SIZE];
} held_message;

/* One submit_sm awaiting its response. */
typedef struct in_flight {
    bool in_use;
    uint32_t sequence;
    int64_t sent_at_ms;
    size_t slot; /* index into the transport's slots */
    size_t part;
} in_flight;

typedef enum link_phase {
    PHASE_BINDING,   /* bind_transceiver sent */
    PHASE_BOUND,     /* sending */
    PHASE_DRAINING,  /* stopping: no new parts, waiting for outstanding answers */
    PHASE_UNBINDING, /* unbind sent */
} link_phase;

typedef enum link_end {
    LINK_RUNNING,
    LINK_STOPPED, /* stop() asked for it */
    LINK_FAILED,  /* connect, I/O, timeout, a malformed stream or the SMSC unbound */
    LINK_REFUSED  /* the SMSC refused the bind */
} link_end;

/* One connection to the SMSC; the thread's alone. */
typedef struct smpp_link {
    int socket;
    link_phase phase;
    link_end end;
    char why[SMS_DETAIL_SIZE]; /* why the link ended, for the log and SMS_RETRY details */
    int64_t phase_deadline_ms; /* BINDING: bind_resp due; DRAINING: unbind; UNBINDING: close */
    int64_t bound_at_ms;
    uint32_t next_sequence;
    uint32_t bind_sequence;
    uint32_t unbind_sequence;
    uint32_t enquire_sequence;
    bool enquire_outstanding;
    int64_t enquire_sent_ms;
    int64_t next_enquire_ms;
    int64_t throttle_until_ms; /* no submit_sm before this */
    int64_t throttle_pause_ms; /* the next pause when throttled again */
    int64_t tokens;            /* the rate's bucket, in TOKEN per submit_sm */
    int64_t tokens_at_ms;      /* when the bucket was last refilled */
    in_flight *in_flights;     /* window entries */
    size_t in_flight_count;
    uint8_t *input; /* SMPP_PDU_SIZE_MAX octets: always room for one whole PDU */
    size_t input_length;
    uint8_t output[OUTPUT_SIZE];
    size_t output_length;
} smpp_link;

struct sms_transport {
    /* Set by start, read-only afterwards. */
    sms_settings settings;
    char password[SMPP_PASSWORD_SIZE]; /* cleared by stop */
    uint8_t source_ton;
    uint8_t source_npi;
    char source_addr[SMPP_ADDRESS_SIZE];
    sms_result_fn on_result;
    sms_receipt_fn on_receipt;
    void *context;
    size_t window;
    int wake_pipe[2]; /* submit and stop write a byte to wake the thread's poll */
    pthread_t thread;

    /* mutex guards the fields below it up to the link: submit, ready and stop run on the
     * caller's threads. It is never held while a callback runs, so a callback may submit. */
    pthread_mutex_t mutex;
    held_message *slots; /* window entries */
    uint64_t next_serial;
    uint8_t next_reference; /* concatenation reference of the next split message */
    bool bound;
    bool stopping;

    smpp_link link; /* the thread's alone */
};

/* ---- logging ------------------------------------------------------------------------------ */

static void link_log(const sms_transport *t, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* One line on stderr, as topup's services log. Never given the password. */
static void link_log(const sms_transport *t, const char *format, ...)
{
    char line[512];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(line, sizeof line, format, arguments);
    va_end(arguments);
    fprintf(stderr, "topup: smpp %s:%d: %s\n", t->settings.host, t->settings.port, line);
}

static bool link_fail(smpp_link *link, link_end end, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the link for a reason; returns false so that handlers can "return link_fail(...)". */
static bool link_fail(smpp_link *link, link_end end, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(link->why, sizeof link->why, format, arguments);
    va_end(arguments);
    link->end = end;
    return false;
}

/* ---- held messages (call with the mutex held) --------------------------------------------- */

/* Fixes a message's outcome; parts not yet sent are abandoned. */
static void decide(held_message *m, sms_outcome outcome, const char *detail)
{
    assert(m->state == SLOT_SENDING);
    m->state = SLOT_DECIDED;
    m->outcome = outcome;
    snprintf(m->detail, sizeof m->detail, "%s", detail);
    for (size_t i = 0; i < m->encoding.part_count; i++)
        if (m->parts[i] == PART_WAITING)
            m->parts[i] = PART_DONE;
}

/* The link is gone: every message still undecided is reported SMS_RETRY with why; answers
 * still awaited will never come. */
static void release_all(sms_transport *t, const char *why)
{
    for (size_t i = 0; i < t->window; i++) {
        held_message *m = &t->slots[i];
        m->in_flight_count = 0;
        if (m->state == SLOT_SENDING)
            decide(m, SMS_RETRY, why);
        else if (m->state == SLOT_DRAINING)
            m->state = SLOT_FREE;
    }
    memset(t->link.in_flights, 0, t->window * sizeof t->link.in_flights[0]);
    t->link.in_flight_count = 0;
}

/* Whether some of a message's parts have gone out: stopping still sends the rest of it, or the
 * handset would get half a message now and all of it again when the outbox resends. */
static bool started(const held_message *m)
{
    return m->acknowledged_count > 0 || m->in_flight_count > 0;
}

/* The oldest message with a part waiting (only among started ones when started_only), and
 * that part. False when nothing waits. */
static bool next_waiting_part(sms_transport *t, bool started_only, size_t *slot, size_t *part)
{
    bool found = false;
    for (size_t i = 0; i < t->window; i++) {
        held_message *m = &t->slots[i];
        if (m->state != SLOT_SENDING || (started_only && !started(m)) ||
            (found && m->serial > t->slots[*slot].serial))
            continue;
        for (size_t p = 0; p < m->encoding.part_count; p++)
            if (m->parts[p] == PART_WAITING) {
                *slot = i, *part = p, found = true;
                break;
            }
    }
    return found;
}

/* Reports every decided message, oldest first, each through the callback without the mutex
 * held. The slot is freed (or left to drain) before the callback runs, so that the callback
 * may hand the same message over again. */
static void deliver_reports(sms_transport *t)
{
    for (;;) {
        pthread_mutex_lock(&t->mutex);
        held_message *oldest = NULL;
        for (size_t i = 0; i < t->window; i++) {
            held_message *m = &t->slots[i];
            if (m->state == SLOT_DECIDED && (!oldest || m->serial < oldest->serial))
                oldest = m;
        }
        if (!oldest) {
            pthread_mutex_unlock(&t->mutex);
            return;
        }
        int64_t id = oldest->id;
        sms_outcome outcome = oldest->outcome;
        char smsc_id[SMS_SMSC_ID_SIZE], detail[SMS_DETAIL_SIZE];
        memcpy(smsc_id, oldest->smsc_id, sizeof smsc_id);
        memcpy(detail, oldest->detail, sizeof detail);
        oldest->state = oldest->in_flight_count > 0 ? SLOT_DRAINING : SLOT_FREE;
        pthread_mutex_unlock(&t->mutex);
        t->on_result(t->context, id, outcome, smsc_id, detail);
    }
}

/* ---- output ------------------------------------------------------------------------------- */

/* Appends a PDU to the output; false when the output is full (the SMSC is not reading). */
static bool queue_pdu(smpp_link *link, const uint8_t *pdu, size_t length)
{
    assert(length > 0);
    if (OUTPUT_SIZE - link->output_length < length)
        return false;
    memcpy(link->output + link->output_length, pdu, length);
    link->output_length += length;
    return true;
}

static uint32_t take_sequence(smpp_link *link)
{
    uint32_t sequence = link->next_sequence;
    link->next_sequence = sequence == SMPP_SEQUENCE_MAX ? 1 : sequence + 1;
    return sequence;
}

/* Queues a PDU without a body; false (link failed) when the output is full. */
static bool queue_bare(smpp_link *link, uint32_t command_id, uint32_t status, uint32_t sequence)
{
    uint8_t pdu[SMPP_HEADER_SIZE];
    if (queue_pdu(link, pdu, smpp_write_bare(pdu, sizeof pdu, command_id, status, sequence)))
        return true;
    return link_fail(link, LINK_FAILED, "the SMSC stopped reading (%d octets unsent)", OUTPUT_SIZE);
}

/* Writes what the socket takes now. False when the connection failed. */
static bool flush_output(smpp_link *link)
{
    size_t written = 0;
    while (written < link->output_length) {
        ssize_t n =
            send(link->socket, link->output + written, link->output_length - written, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return link_fail(link, LINK_FAILED, "cannot write to the SMSC: %s", strerror(errno));
        written += (size_t)n;
    }
    memmove(link->output, link->output + written, link->output_length - written);
    link->output_length -= written;
    /* the bind PDU carried the password: leave no copy of it behind in the buffer */
    memset(link->output + link->output_length, 0, written);
    return true;
}

/* ---- sending parts ------------------------------------------------------------------------ */

static void refill_tokens(sms_transport *t, int64_t now)
{
    smpp_link *link = &t->link;
    int64_t capacity = (int64_t)t->settings.rate_per_second * TOKEN; /* one second's burst */
    link->tokens += (now - link->tokens_at_ms) * t->settings.rate_per_second;
    if (link->tokens > capacity)
        link->tokens = capacity;
    link->tokens_at_ms = now;
}

static in_flight *free_in_flight(sms_transport *t)
{
    for (size_t i = 0; i < t->window; i++)
        if (!t->link.in_flights[i].in_use)
            return &t->link.in_flights[i];
    return NULL;
}

/* Builds the submit_sm for one part. */
static size_t build_submit(const sms_transport *t, const held_message *m, size_t part,
                           uint32_t sequence, uint8_t *pdu, size_t pdu_size)
{
    const sms_part *p = &m->encoding.parts[part];
    smpp_submit_sm submit = {
        .source_addr_ton = t->source_ton,
        .source_addr_npi = t->source_npi,
        .source_addr = t->source_addr,
        .destination_addr = m->destination,
        .esm_class = m->encoding.concatenated ? SMPP_ESM_UDHI : 0,
        .registered_delivery = m->want_receipt ? 1 : 0,
        .data_coding = (uint8_t)m->encoding.data_coding,
        .short_message = p->octets,
        .short_message_length = p->octet_count,
    };
    return smpp_write_submit_sm(pdu, pdu_size, sequence, &submit);
}

/* Sends waiting parts while the window, the rate and any throttling pause allow; when
 * started_only, only the rest of messages already partly sent. */
static void send_waiting_parts(sms_transport *t, bool started_only, int64_t now)
{
    smpp_link *link = &t->link;
    if (now < link->throttle_until_ms)
        return;
    refill_tokens(t, now);
    pthread_mutex_lock(&t->mutex);
    while (link->in_flight_count < t->window && link->tokens >= TOKEN) {
        size_t slot, part;
        if (!next_waiting_part(t, started_only, &slot, &part))
            break;
        held_message *m = &t->slots[slot];
        uint8_t pdu[SMPP_SUBMIT_PDU_MAX];
        uint32_t sequence = link->next_sequence;
        size_t length = build_submit(t, m, part, sequence, pdu, sizeof pdu);
        assert(length > 0); /* sizes were checked by start and submit */
        if (!queue_pdu(link, pdu, length))
            break; /* the output drains first */
        take_sequence(link);
        in_flight *f = free_in_flight(t);
        assert(f);
        *f = (in_flight){
            .in_use = true, .sequence = sequence, .sent_at_ms = now, .slot = slot, .part = part};
        link->in_flight_count++;
        m->parts[part] = PART_IN_FLIGHT;
        m->in_flight_count++;
        link->tokens -= TOKEN;
    }
    pthread_mutex_unlock(&t->mutex);
}

/* ---- answers to submit_sm ----------------------------------------------------------------- */

static void judge_accepted(sms_transport *t, held_message *m, size_t part, const uint8_t *body,
                           size_t body_length)
{
    m->parts[part] = PART_DONE;
    m->acknowledged_count++;
    t->link.throttle_pause_ms = THROTTLE_PAUSE_FIRST_MS;
    char message_id[SMPP_MESSAGE_ID_SIZE];
    smpp_read_id(body, body_length, message_id, sizeof message_id); /* "" when unreadable */
    if (part == 0)
        snprintf(m->smsc_id, sizeof m->smsc_id, "%s", message_id);
    if (m->acknowledged_count < m->encoding.part_count)
        return;
    /* Taken for good even without a readable id: an acknowledged message is never resent. */
    decide(m, SMS_ACCEPTED,
           m->smsc_id[0] ? ""
                         : "The SMSC acknowledged the message without a readable message_id; "
                           "its delivery receipt cannot be matched.");
}

static void judge_throttled(sms_transport *t, held_message *m, size_t part, const char *status,
                            int64_t now)
{
    smpp_link *link = &t->link;
    m->parts[part] = PART_WAITING;
    if (++m->throttled_counts[part] > THROTTLE_RETRIES_MAX) {
        char detail[SMS_DETAIL_SIZE];
        snprintf(detail, sizeof detail, "The SMSC answered part %zu of %zu with %s %d times.",
                 part + 1, m->encoding.part_count, status, THROTTLE_RETRIES_MAX + 1);
        decide(m, SMS_RETRY, detail);
        return;
    }
    /* Sending stops for everyone, not just this part: the limit is the account's. */
    link->throttle_until_ms = now + link->throttle_pause_ms;
    link_log(t, "%s; pausing submit_sm for %lld ms", status, (long long)link->throttle_pause_ms);
    link->throttle_pause_ms *= 2;
    if (link->throttle_pause_ms > THROTTLE_PAUSE_MAX_MS)
        link->throttle_pause_ms = THROTTLE_PAUSE_MAX_MS;
}

/* A submit_sm_resp, or a generic_nack, for sequence. */
static void on_submit_answer(sms_transport *t, const smpp_header *h, const uint8_t *body,
                             size_t body_length, int64_t now)
{
    smpp_link *link = &t->link;
    in_flight *f = NULL;
    for (size_t i = 0; i < t->window && !f; i++)
        if (link->in_flights[i].in_use && link->in_flights[i].sequence == h->sequence_number)
            f = &link->in_flights[i];
    if (!f) {
        link_log(t, "ignored an answer (command 0x%08X) to sequence %u, which awaits none",
                 (unsigned)h->command_id, (unsigned)h->sequence_number);
        return;
    }
    size_t slot = f->slot, part = f->part;
    f->in_use = false;
    link->in_flight_count--;
    /* a generic_nack with status 0 says nothing usable: the SMSC did not take the part */
    uint32_t status = h->command_id == SMPP_GENERIC_NACK && h->command_status == SMPP_ESME_ROK
                          ? SMPP_ESME_RUNKNOWNERR
                          : h->command_status;
    pthread_mutex_lock(&t->mutex);
    held_message *m = &t->slots[slot];
    m->in_flight_count--;
    if (m->state != SLOT_SENDING) {
        if (m->state == SLOT_DRAINING && m->in_flight_count == 0)
            m->state = SLOT_FREE;
        pthread_mutex_unlock(&t->mutex);
        return;
    }
    if (status == SMPP_ESME_ROK) {
        judge_accepted(t, m, part, body, body_length);
    } else {
        char described[160], detail[SMS_DETAIL_SIZE];
        smpp_status_describe(status, described, sizeof described);
        status_kind kind = status_kind_of(status);
        if (kind == STATUS_THROTTLED) {
            judge_throttled(t, m, part, described, now);
        } else {
            snprintf(detail, sizeof detail, "The SMSC refused part %zu of %zu: %s.", part + 1,
                     m->encoding.part_count, described);
            decide(m, kind == STATUS_PERMANENT ? SMS_REJECTED : SMS_RETRY, detail);
        }
    }
    pthread_mutex_unlock(&t->mutex);
}

/* ---- the other PDUs ----------------------------------------------------------------------- */

static bool on_bind_answer(sms_transport *t, const smpp_header *h, const uint8_t *body,
                           size_t body_length, int64_t now)
{
    smpp_link *link = &t->link;
    if (link->phase != PHASE_BINDING || h->sequence_number != link->bind_sequence) {
        link_log(t, "ignored a bind answer to sequence %u, which awaits none",
                 (unsigned)h->sequence_number);
        return true;
    }
    if (h->command_status != SMPP_ESME_ROK) {
        char described[160];
        smpp_status_describe(h->command_status, described, sizeof described);
        return link_fail(link, LINK_REFUSED, "the SMSC refused bind_transceiver as '%s': %s",
                         t->settings.system_id, described);
    }
    char smsc_system_id[SMPP_SYSTEM_ID_SIZE] = "";
    if (h->command_id == SMPP_BIND_TRANSCEIVER_RESP)
        smpp_read_id(body, body_length, smsc_system_id, sizeof smsc_system_id);
    link->phase = PHASE_BOUND;
    link->bound_at_ms = now;
    link->next_enquire_ms = now + (int64_t)t->settings.enquire_link_s * 1000;
    link->tokens = TOKEN;
    link->tokens_at_ms = now;
    link->throttle_pause_ms = THROTTLE_PAUSE_FIRST_MS;
    link->throttle_until_ms = 0;
    pthread_mutex_lock(&t->mutex);
    t->bound = true;
    pthread_mutex_unlock(&t->mutex);
    link_log(t, "bound as transceiver '%s' (SMSC '%s')", t->settings.system_id, smsc_system_id);
    return true;
}

/* A deliver_sm: a delivery receipt goes to on_receipt before it is acknowledged, so that a
 * receipt lost to a crash is delivered again by the SMSC. */
static bool on_deliver_sm(sms_transport *t, const smpp_header *h, const uint8_t *body,
                          size_t body_length)
{
    smpp_link *link = &t->link;
    uint8_t pdu[SMPP_HEADER_SIZE + 1];
    smpp_deliver_sm deliver;
    smpp_receipt receipt;
    uint32_t status = SMPP_ESME_ROK;
    if (!smpp_read_deliver_sm(body, body_length, &deliver)) {
        /* permanent: the SMSC would only send the same bytes again */
        link_log(t, "refused a malformed deliver_sm (sequence %u)", (unsigned)h->sequence_number);
        status = SMPP_ESME_RX_P_APPN;
    } else if ((deliver.esm_class & SMPP_ESM_TYPE_MASK) != SMPP_ESM_TYPE_RECEIPT) {
        /* topup takes no mobile-originated messages; say so rather than pretend to */
        link_log(t, "refused a mobile-originated message from %s", deliver.source_addr);
        status = SMPP_ESME_RX_R_APPN;
    } else if (!smpp_read_receipt(&deliver, &receipt)) {
        link_log(t, "refused a delivery receipt without a readable id or stat");
        status = SMPP_ESME_RX_P_APPN;
    } else {
        t->on_receipt(t->context, receipt.smsc_id, receipt.stat, receipt.done_at);
    }
    size_t length = smpp_write_deliver_sm_resp(pdu, sizeof pdu, status, h->sequence_number);
    if (queue_pdu(link, pdu, length))
        return true;
    return link_fail(link, LINK_FAILED, "the SMSC stopped reading (%d octets unsent)", OUTPUT_SIZE);
}

/* A generic_nack: to whichever request its sequence number names. */
static bool on_generic_nack(sms_transport *t, const smpp_header *h, const uint8_t *body,
                            size_t body_length, int64_t now)
{
    smpp_link *link = &t->link;
    if (link->phase == PHASE_BINDING && h->sequence_number == link->bind_sequence)
        return on_bind_answer(t, h, body, body_length, now);
    if (link->enquire_outstanding && h->sequence_number == link->enquire_sequence) {
        link->enquire_outstanding = false; /* it answered: the link is alive */
        return true;
    }
    if (link->phase == PHASE_UNBINDING && h->sequence_number == link->unbind_sequence)
        return link_fail(link, LINK_STOPPED, "unbound");
    on_submit_answer(t, h, body, body_length, now);
    return true;
}

/* Handles one PDU from the SMSC. False when the link ends (link->end and why say how). */
static bool handle_pdu(sms_transport *t, const smpp_header *h, const uint8_t *body,
                       size_t body_length, int64_t now)
{
    smpp_link *link = &t->link;
    bool bound = link->phase != PHASE_BINDING;
    switch (h->command_id) {
    case SMPP_BIND_TRANSCEIVER_RESP:
        return on_bind_answer(t, h, body, body_length, now);
    case SMPP_GENERIC_NACK:
        return on_generic_nack(t, h, body, body_length, now);
    case SMPP_SUBMIT_SM_RESP:
        on_submit_answer(t, h, body, body_length, now);
        return true;
    case SMPP_ENQUIRE_LINK:
        return queue_bare(link, SMPP_ENQUIRE_LINK_RESP, SMPP_ESME_ROK, h->sequence_number);
    case SMPP_ENQUIRE_LINK_RESP:
        if (link->enquire_outstanding && h->sequence_number == link->enquire_sequence)
            link->enquire_outstanding = false;
        return true;
    case SMPP_DELIVER_SM:
        if (!bound)
            return queue_bare(link, SMPP_GENERIC_NACK, SMPP_ESME_RINVBNDSTS, h->sequence_number);
        return on_deliver_sm(t, h, body, body_length);
    case SMPP_UNBIND:
        queue_bare(link, SMPP_UNBIND_RESP, SMPP_ESME_ROK, h->sequence_number);
        return link_fail(link, LINK_FAILED, "the SMSC unbound");
    case SMPP_UNBIND_RESP:
        if (link->phase == PHASE_UNBINDING && h->sequence_number == link->unbind_sequence)
            return link_fail(link, LINK_STOPPED, "unbound");
        return true;
    default:
        if (h->command_id & SMPP_RESPONSE_BIT)
            return true; /* an answer to nothing topup sends: nothing to do */
        return queue_bare(link, SMPP_GENERIC_NACK, SMPP_ESME_RINVCMDID, h->sequence_number);
    }
}

/* Reads what the socket has and handles every whole PDU in it. False when the link ends. */
static bool read_input(sms_transport *t, int64_t now)
{
    smpp_link *link = &t->link;
    for (int reads = 0; reads < READS_PER_WAKE; reads++) {
        assert(link->input_length < SMPP_PDU_SIZE_MAX);
        ssize_t n = recv(link->socket, link->input + link->input_length,
                         SMPP_PDU_SIZE_MAX - link->input_length, 0);
        if (n == 0)
            return link_fail(link, LINK_FAILED, "the SMSC closed the connection");
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n < 0)
            return link_fail(link, LINK_FAILED, "cannot read from the SMSC: %s", strerror(errno));
        link->input_length += (size_t)n;
        size_t offset = 0;
        while (link->input_length - offset >= SMPP_HEADER_SIZE) {
            smpp_header h;
            if (!smpp_header_read(link->input + offset, &h))
                return link_fail(link, LINK_FAILED,
                                 "the SMSC sent a PDU of %u octets (%d to %d are allowed)",
                                 (unsigned)h.command_length, SMPP_HEADER_SIZE, SMPP_PDU_SIZE_MAX);
            if (link->input_length - offset < h.command_length)
                break;
            const uint8_t *body = link->input + offset + SMPP_HEADER_SIZE;
            if (!handle_pdu(t, &h, body, h.command_length - SMPP_HEADER_SIZE, now))
                return false;
            offset += h.command_length;
        }
        memmove(link->input, link->input + offset, link->input_length - offset);
        link->input_length -= offset;
    }
    return true;
}

/* ---- the link's clocks -------------------------------------------------------------------- */

static bool stop_requested(sms_transport *t)
{
    pthread_mutex_lock(&t->mutex);
    bool stopping = t->stopping;
    pthread_mutex_unlock(&t->mutex);
    return stopping;
}

/* Keep-alive and response deadlines. False when the link is dead. */
static bool check_deadlines(sms_transport *t, int64_t now)
{
    smpp_link *link = &t->link;
    int64_t timeout_ms = t->settings.response_timeout_ms;
    for (size_t i = 0; i < t->window; i++)
        if (link->in_flights[i].in_use && now - link->in_flights[i].sent_at_ms >= timeout_ms)
            return link_fail(link, LINK_FAILED, "no submit_sm_resp within %lld ms",
                             (long long)timeout_ms);
    if (link->enquire_outstanding && now - link->enquire_sent_ms >= timeout_ms)
        return link_fail(link, LINK_FAILED, "no enquire_link_resp within %lld ms",
                         (long long)timeout_ms);
    if (!link->enquire_outstanding && now >= link->next_enquire_ms) {
        link->enquire_sequence = take_sequence(link);
        link->enquire_outstanding = true;
        link->enquire_sent_ms = now;
        link->next_enquire_ms = now + (int64_t)t->settings.enquire_link_s * 1000;
        return queue_bare(link, SMPP_ENQUIRE_LINK, SMPP_ESME_ROK, link->enquire_sequence);
    }
    return true;
}

/* Whether stopping must still wait: for answers, or for parts of started messages. */
static bool draining_needed(sms_transport *t)
{
    if (t->link.in_flight_count > 0)
        return true;
    pthread_mutex_lock(&t->mutex);
    size_t slot, part;
    bool waiting = next_waiting_part(t, true, &slot, &part);
    pthread_mutex_unlock(&t->mutex);
    return waiting;
}

/* Moves the link's phase on by the clock and stop(); sends what may be sent. False when the
 * link ends. */
static bool link_step(sms_transport *t, int64_t now)
{
    smpp_link *link = &t->link;
    bool stopping = stop_requested(t);
    switch (link->phase) {
    case PHASE_BINDING:
        if (stopping)
            return link_fail(link, LINK_STOPPED, "stopped while binding");
        if (now >= link->phase_deadline_ms)
            return link_fail(link, LINK_FAILED, "no bind_transceiver_resp within %d ms",
                             t->settings.response_timeout_ms);
        return true;
    case PHASE_BOUND:
        if (stopping) {
            int64_t drain_ms = t->settings.response_timeout_ms < STOP_DRAIN_MS_MAX
                                   ? t->settings.response_timeout_ms
                                   : STOP_DRAIN_MS_MAX;
            link->phase = PHASE_DRAINING;
            link->phase_deadline_ms = now + drain_ms;
        }
        break;
    case PHASE_DRAINING:
        if (!draining_needed(t) || now >= link->phase_deadline_ms) {
            link->unbind_sequence = take_sequence(link);
            link->phase = PHASE_UNBINDING;
            link->phase_deadline_ms = now + UNBIND_WAIT_MS;
            return queue_bare(link, SMPP_UNBIND, SMPP_ESME_ROK, link->unbind_sequence);
        }
        break;
    case PHASE_UNBINDING:
        if (now >= link->phase_deadline_ms)
            return link_fail(link, LINK_STOPPED, "no unbind_resp within %d ms", UNBIND_WAIT_MS);
        return true;
    }
    if (link->phase == PHASE_BOUND || link->phase == PHASE_DRAINING)
        send_waiting_parts(t, link->phase == PHASE_DRAINING, now);
    return check_deadlines(t, now);
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* How long poll may sleep: until the next deadline the loop must act on. */
static int poll_timeout_ms(const sms_transport *t, int64_t now)
{
    const smpp_link *link = &t->link;
    int64_t wake_at = now + POLL_MS_MAX;
    int64_t timeout_ms = t->settings.response_timeout_ms;
    if (link->phase != PHASE_BOUND)
        wake_at = earliest(wake_at, link->phase_deadline_ms);
    if (link->phase != PHASE_BINDING) {
        wake_at = earliest(wake_at, link->enquire_outstanding ? link->enquire_sent_ms + timeout_ms
                                                              : link->next_enquire_ms);
        for (size_t i = 0; i < t->window; i++)
            if (link->in_flights[i].in_use)
                wake_at = earliest(wake_at, link->in_flights[i].sent_at_ms + timeout_ms);
    }
    bool sending = link->phase == PHASE_BOUND || link->phase == PHASE_DRAINING;
    if (sending && link->throttle_until_ms > now)
        wake_at = earliest(wake_at, link->throttle_until_ms);
    else if (sending && link->tokens < TOKEN)
        wake_at = earliest(wake_at, now + (TOKEN - link->tokens + t->settings.rate_per_second - 1) /
                                              t->settings.rate_per_second);
    return wake_at <= now ? 0 : (int)(wake_at - now);
}

static void drain_wake_pipe(sms_transport *t)
{
    uint8_t bytes[64];
    while (read(t->wake_pipe[0], bytes, sizeof bytes) > 0)
        ;
}

static void wake(sms_transport *t)
{
    uint8_t byte = 1;
    /* a full pipe already wakes the thread: the write may fail harmlessly */
    ssize_t ignored = write(t->wake_pipe[1], &byte, 1);
    (void)ignored;
}

/* Sleeps delay_ms unless stop() comes first; true when it did. */
static bool sleep_unless_stopped(sms_transport *t, int64_t delay_ms)
{
    int64_t until = clock_monotonic_ms() + delay_ms;
    for (;;) {
        if (stop_requested(t))
            return true;
        int64_t left = until - clock_monotonic_ms();
        if (left <= 0)
            return false;
        struct pollfd wake_fd = {.fd = t->wake_pipe[0], .events = POLLIN};
        if (poll(&wake_fd, 1, (int)earliest(left, POLL_MS_MAX)) > 0)
            drain_wake_pipe(t);
    }
}

/* ---- connecting --------------------------------------------------------------------------- */

static bool set_nonblocking_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* Connects one address within the response timeout; the socket, or -1 with errno's reason in
 * why. Interrupted by stop(). */
static int connect_address(sms_transport *t, const struct addrinfo *address, char *why,
                           size_t why_size)
{
    int fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (fd < 0 || !set_nonblocking_cloexec(fd)) {
        snprintf(why, why_size, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(why, why_size, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    int64_t until = clock_monotonic_ms() + t->settings.response_timeout_ms;
    for (;;) {
        int64_t left = until - clock_monotonic_ms();
        if (left <= 0 || stop_requested(t)) {
            snprintf(why, why_size, "%s", left <= 0 ? "timed out" : "stopped");
            close(fd);
            return -1;
        }
        struct pollfd fds[2] = {{.fd = fd, .events = POLLOUT},
                                {.fd = t->wake_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, (int)earliest(left, POLL_MS_MAX)) <= 0)
            continue;
        if (fds[1].revents)
            drain_wake_pipe(t);
        if (fds[0].revents)
            break;
    }
    int error = 0;
    socklen_t error_size = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_size) != 0 || error != 0) {
        snprintf(why, why_size, "%s", strerror(error ? error : errno));
        close(fd);
        return -1;
    }
    /* PDUs are small and each waits for an answer: send them without delay */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Resolves the SMSC and connects to its first address that answers. */
static bool link_connect(sms_transport *t)
{
    smpp_link *link = &t->link;
    char port[8], why[160] = "no address";
    snprintf(port, sizeof port, "%d", t->settings.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    int rc = getaddrinfo(t->settings.host, port, &hints, &addresses);
    if (rc != 0)
        return link_fail(link, LINK_FAILED, "cannot resolve the SMSC's host: %s", gai_strerror(rc));
    link->socket = -1;
    for (const struct addrinfo *a = addresses; a && link->socket < 0; a = a->ai_next)
        link->socket = connect_address(t, a, why, sizeof why);
    freeaddrinfo(addresses);
    if (link->socket >= 0)
        return true;
    return link_fail(link, stop_requested(t) ? LINK_STOPPED : LINK_FAILED,
                     "cannot connect to the SMSC: %s", why);
}

/* Resets the per-connection state and queues bind_transceiver. */
static void link_open(sms_transport *t, int64_t now)
{
    smpp_link *link = &t->link;
    link->end = LINK_RUNNING;
    link->why[0] = '\0';
    link->phase = PHASE_BINDING;
    link->phase_deadline_ms = now + t->settings.response_timeout_ms;
    link->next_sequence = 1;
    link->enquire_outstanding = false;
    link->input_length = 0;
    link->output_length = 0;
    link->in_flight_count = 0;
    memset(link->in_flights, 0, t->window * sizeof link->in_flights[0]);
    link->bind_sequence = take_sequence(link);
    uint8_t pdu[SMPP_BIND_PDU_MAX];
    size_t length =
        smpp_write_bind_transceiver(pdu, sizeof pdu, link->bind_sequence, t->settings.system_id,
                                    t->password, t->settings.system_type);
    assert(length > 0); /* start checked every size */
    queue_pdu(link, pdu, length);
    explicit_bzero(pdu, sizeof pdu);
}

/* Tears the connection down: nothing held survives it. */
static void link_close(sms_transport *t)
{
    smpp_link *link = &t->link;
    /* best effort, and without replacing why the link ended: an unbind_resp still queued */
    if (link->output_length > 0) {
        ssize_t ignored =
            send(link->socket, link->output, link->output_length, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
    }
    close(link->socket);
    link->socket = -1;
    explicit_bzero(link->output, sizeof link->output);
    link->output_length = 0;
    char why[SMS_DETAIL_SIZE];
    if (link->end == LINK_STOPPED)
        snprintf(why, sizeof why, "The transport stopped before the SMSC answered.");
    else
        snprintf(why, sizeof why, "The link to the SMSC failed (%.200s).", link->why);
    pthread_mutex_lock(&t->mutex);
    t->bound = false;
    release_all(t, why);
    pthread_mutex_unlock(&t->mutex);
    deliver_reports(t);
}

/* One connection from connect to close. Returns how it ended. */
static link_end link_run(sms_transport *t)
{
    smpp_link *link = &t->link;
    link->end = LINK_RUNNING;
    if (!link_connect(t))
        return link->end;
    link_open(t, clock_monotonic_ms());
    for (;;) {
        int64_t now = clock_monotonic_ms();
        if (!link_step(t, now))
            break;
        deliver_reports(t);
        if (!flush_output(link))
            break;
        struct pollfd fds[2] = {
            {.fd = link->socket, .events = (short)(POLLIN | (link->output_length ? POLLOUT : 0))},
            {.fd = t->wake_pipe[0], .events = POLLIN}};
        int ready = poll(fds, 2, poll_timeout_ms(t, now));
        if (ready < 0 && errno != EINTR) {
            link_fail(link, LINK_FAILED, "poll failed: %s", strerror(errno));
            break;
        }
        if (ready <= 0)
            continue;
        if (fds[1].revents)
            drain_wake_pipe(t);
        if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) && !read_input(t, clock_monotonic_ms()))
            break;
    }
    link_close(t);
    return link->end;
}

/* The transport's thread: links, one after another, until stop(). */
static void *transport_main(void *argument)
{
    sms_transport *t = argument;
    int64_t reconnect_max_ms = (int64_t)t->settings.reconnect_max_s * 1000;
    int64_t delay_ms = 0, backoff_ms = RECONNECT_FIRST_MS;
    while (!sleep_unless_stopped(t, delay_ms)) {
        t->link.bound_at_ms = 0;
        link_end end = link_run(t);
        if (end == LINK_STOPPED || stop_requested(t))
            break;
        bool was_stable = t->link.bound_at_ms > 0 &&
                          clock_monotonic_ms() - t->link.bound_at_ms >= RECONNECT_STABLE_MS;
        if (was_stable)
            backoff_ms = RECONNECT_FIRST_MS;
        delay_ms = earliest(backoff_ms, reconnect_max_ms);
        backoff_ms = earliest(backoff_ms * 2, reconnect_max_ms);
        link_log(t, "%s; connecting again in %lld ms", t->link.why, (long long)delay_ms);
    }
    /* Nothing can be held once the link is down (submit refuses then), but be sure. */
    pthread_mutex_lock(&t->mutex);
    release_all(t, "The transport stopped before the message was sent.");
    pthread_mutex_unlock(&t->mutex);
    deliver_reports(t);
    return NULL;
}

/* ---- settings ----------------------------------------------------------------------------- */

static topup_result invalid(char *detail, size_t detail_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static topup_result invalid(char *detail, size_t detail_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, detail_size, format, arguments);
    va_end(arguments);
    return TOPUP_E_INVALID_ARGUMENT;
}

/* A setting left at 0 takes its default; one outside minimum..maximum is refused. */
static bool setting_in_range(int *value, int fallback, int minimum, int maximum)
{
    if (*value == 0)
        *value = fallback;
    return *value >= minimum && *value <= maximum;
}

static bool all_digits(const char *text)
{
    return text[0] && strspn(text, "0123456789") == strlen(text);
}

/* An alphanumeric sender id may hold spaces ("Top Up"), though not lead with one. */
static bool printable_or_space(const char *text)
{
    for (; *text; text++)
        if (*text < 0x20 || *text > 0x7E)
            return false;
    return true;
}

/* The sender as SMPP wants it: "+8613800138000" is international, "10086" a short code (TON
 * unknown, NPI E.164, as SMSCs commonly expect), anything else an alphanumeric sender id. */
static topup_result classify_source(sms_transport *t, char *detail, size_t detail_size)
{
    const char *source = t->settings.source_addr;
    bool international = source[0] == '+';
    const char *digits = international ? source + 1 : source;
    size_t length = strlen(digits);
    if (all_digits(digits) && length < SMPP_ADDRESS_SIZE) {
        t->source_ton = international ? SMPP_TON_INTERNATIONAL : SMPP_TON_UNKNOWN;
        t->source_npi = SMPP_NPI_E164;
    } else if (!international && length >= 1 && length <= ALPHANUMERIC_SENDER_MAX &&
               strspn(source, " ") == 0 && printable_or_space(source)) {
        t->source_ton = SMPP_TON_ALPHANUMERIC;
        t->source_npi = SMPP_NPI_UNKNOWN;
    } else {
        return invalid(detail, detail_size,
                       "sms.source_addr '%s' must be +E.164 digits, a short code of digits or an "
                       "alphanumeric sender id of 1 to %d printable characters.",
                       source, ALPHANUMERIC_SENDER_MAX);
    }
    memcpy(t->source_addr, digits, length + 1);
    return TOPUP_OK;
}

static topup_result check_settings(sms_settings *s, char *detail, size_t detail_size)
{
    if (!s->host[0])
        return invalid(detail, detail_size, "sms.host is not set: name the SMSC's host.");
    if (!setting_in_range(&s->port, PORT_DEFAULT, 1, 65535))
        return invalid(detail, detail_size, "sms.port must be 1 to 65535.");
    if (!s->system_id[0] || strlen(s->system_id) >= SMPP_SYSTEM_ID_SIZE || !printable(s->system_id))
        return invalid(detail, detail_size,
                       "sms.system_id must be 1 to 15 printable characters (the SMSC account).");
    if (strlen(s->system_type) >= SMPP_SYSTEM_TYPE_SIZE)
        return invalid(detail, detail_size, "sms.system_type must be at most 12 characters.");
    if (!s->password_file[0])
        return invalid(detail, detail_size,
                       "sms.password is not set: name the file holding the "
                       "bind password.");
    if (!setting_in_range(&s->window, WINDOW_DEFAULT, 1, WINDOW_MAX))
        return invalid(detail, detail_size, "sms.window must be 1 to %d.", WINDOW_MAX);
    if (!setting_in_range(&s->rate_per_second, RATE_PER_SECOND_DEFAULT, 1, RATE_PER_SECOND_MAX))
        return invalid(detail, detail_size, "sms.rate_per_second must be 1 to %d.",
                       RATE_PER_SECOND_MAX);
    if (!setting_in_range(&s->enquire_link_s, ENQUIRE_LINK_S_DEFAULT, 1, PERIOD_S_MAX))
        return invalid(detail, detail_size, "sms.enquire_link_s must be 1 to %d.", PERIOD_S_MAX);
    if (!setting_in_range(&s->reconnect_max_s, RECONNECT_MAX_S_DEFAULT, 1, PERIOD_S_MAX))
        return invalid(detail, detail_size, "sms.reconnect_max_s must be 1 to %d.", PERIOD_S_MAX);
    if (!setting_in_range(&s->response_timeout_ms, RESPONSE_TIMEOUT_MS_DEFAULT,
                          RESPONSE_TIMEOUT_MS_MIN, RESPONSE_TIMEOUT_MS_MAX))
        return invalid(detail, detail_size, "sms.response_timeout_ms must be %d to %d.",
                       RESPONSE_TIMEOUT_MS_MIN, RESPONSE_TIMEOUT_MS_MAX);
    return TOPUP_OK;
}

/* Reads the bind password. The file may end in a newline, so it is read into a buffer larger
 * than SMPP's 8 characters and measured after. */
static topup_result load_password(sms_transport *t, char *detail, size_t detail_size)
{
    char secret[64];
    topup_result r = notify_load_secret(t->settings.password_file, secret, sizeof secret);
    size_t length = r == TOPUP_OK ? strlen(secret) : 0;
    if (length >= SMPP_PASSWORD_SIZE)
        r = TOPUP_E_INVALID_ARGUMENT;
    if (r == TOPUP_OK)
        memcpy(t->password, secret, length + 1);
    explicit_bzero(secret, sizeof secret);
    if (r == TOPUP_E_IO)
        return invalid(detail, detail_size, "The sms.password file %s cannot be read.",
                       t->settings.password_file);
    if (r != TOPUP_OK)
        return invalid(detail, detail_size,
                       "The sms.password file %s is readable by group or others (chmod 600), "
                       "empty, or longer than the %d characters SMPP allows.",
                       t->settings.password_file, SMPP_PASSWORD_SIZE - 1);
    return TOPUP_OK;
}

static void transport_free(sms_transport *t)
{
    if (!t)
        return;
    explicit_bzero(t->password, sizeof t->password);
    for (int i = 0; i < 2; i++)
        if (t->wake_pipe[i] >= 0)
            close(t->wake_pipe[i]);
    pthread_mutex_destroy(&t->mutex);
    free(t->slots);
    free(t->link.in_flights);
    free(t->link.input);
    free(t);
}

static topup_result smpp_start(const sms_settings *settings, sms_result_fn on_result,
                               sms_receipt_fn on_receipt, void *context, sms_transport **out,
                               char *detail, size_t detail_size)
{
    assert(on_result && on_receipt);
    *out = NULL;
    detail[0] = '\0';
    sms_transport *t = calloc(1, sizeof *t);
    if (!t)
        return TOPUP_E_NOMEM;
    t->wake_pipe[0] = t->wake_pipe[1] = -1;
    t->link.socket = -1;
    pthread_mutex_init(&t->mutex, NULL);
    t->settings = *settings;
    topup_result r = check_settings(&t->settings, detail, detail_size);
    if (r == TOPUP_OK)
        r = classify_source(t, detail, detail_size);
    if (r == TOPUP_OK)
        r = load_password(t, detail, detail_size);
    if (r != TOPUP_OK) {
        transport_free(t);
        return r;
    }
    t->on_result = on_result, t->on_receipt = on_receipt, t->context = context;
    t->window = (size_t)t->settings.window;
    t->slots = calloc(t->window, sizeof t->slots[0]);
    t->link.in_flights = calloc(t->window, sizeof t->link.in_flights[0]);
    t->link.input = malloc(SMPP_PDU_SIZE_MAX);
    bool ready = t->slots && t->link.in_flights && t->link.input && pipe(t->wake_pipe) == 0 &&
                 set_nonblocking_cloexec(t->wake_pipe[0]) &&
                 set_nonblocking_cloexec(t->wake_pipe[1]);
    if (!ready || pthread_create(&t->thread, NULL, transport_main, t) != 0) {
        transport_free(t);
        snprintf(detail, detail_size, "The SMPP transport could not start: %s.", strerror(errno));
        return TOPUP_E_NOMEM;
    }
    *out = t;
    return TOPUP_OK;
}

/* Whether to is "+" and 1..15 digits not starting with 0 (E.164). */
static bool e164_valid(const char *to)
{
    size_t digits = strlen(to) - 1;
    return to[0] == '+' && all_digits(to + 1) && digits <= 15 && to[1] != '0';
}

static topup_result smpp_submit(sms_transport *t, const sms_message *message)
{
    if (!message->text || memchr(message->to, '\0', sizeof message->to) == NULL ||
        !e164_valid(message->to))
        return TOPUP_E_INVALID_ARGUMENT;
    pthread_mutex_lock(&t->mutex);
    uint8_t reference = t->next_reference++;
    pthread_mutex_unlock(&t->mutex);
    /* encoded before taking a slot, so that a message that can never be sent says so even while
     * the link is down */
    sms_encoding *encoding = malloc(sizeof *encoding);
    if (!encoding)
        return TOPUP_E_BUSY;
    char detail[SMS_DETAIL_SIZE];
    if (sms_encode(message->text, strlen(message->text), reference, encoding, detail,
                   sizeof detail) != TOPUP_OK) {
        free(encoding);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&t->mutex);
    held_message *slot = NULL;
    for (size_t i = 0; t->bound && !t->stopping && i < t->window && !slot; i++)
        if (t->slots[i].state == SLOT_FREE)
            slot = &t->slots[i];
    if (slot) {
        memset(slot, 0, sizeof *slot);
        slot->state = SLOT_SENDING;
        slot->serial = t->next_serial++;
        slot->id = message->id;
        snprintf(slot->destination, sizeof slot->destination, "%s", message->to + 1);
        slot->want_receipt = message->want_receipt;
        slot->encoding = *encoding;
    }
    pthread_mutex_unlock(&t->mutex);
    free(encoding);
    if (!slot)
        return TOPUP_E_BUSY;
    wake(t);
    return TOPUP_OK;
}

static bool smpp_ready(sms_transport *t)
{
    pthread_mutex_lock(&t->mutex);
    bool ready = t->bound && !t->stopping;
    pthread_mutex_unlock(&t->mutex);
    return ready;
}

static void smpp_stop(sms_transport *t)
{
    if (!t)
        return;
    /* the thread cannot join itself: stop is never called from a callback */
    assert(!pthread_equal(pthread_self(), t->thread));
    pthread_mutex_lock(&t->mutex);
    t->stopping = true;
    pthread_mutex_unlock(&t->mutex);
    wake(t);
    pthread_join(t->thread, NULL);
    transport_free(t);
}

const sms_transport_ops smpp_transport_ops = {
    .name = "smpp",
    .start = smpp_start,
    .submit = smpp_submit,
    .ready = smpp_ready,
    .stop = smpp_stop,
};
