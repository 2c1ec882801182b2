/* GSM 03.38 / UCS-2 encoding and splitting of SMS text (see encoding.h). The tables follow
 * 3GPP TS 23.038 section 6.2.1 (default alphabet) and 6.2.1.1 (extension table); the
 * concatenation header is TS 23.040 section 9.2.3.24.1 (IEI 0x00, 8-bit reference). */
#include "sms/encoding.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GSM_ESCAPE     0x1B
#define CODE_POINT_MAX 0x10FFFF
#define UDH_LENGTH     0x05 /* UDHL: the five octets that follow it */
#define UDH_IEI_CONCAT 0x00 /* concatenated short messages, 8-bit reference */
#define UDH_IEI_LENGTH 0x03

/* The code point of each septet of the default alphabet. Septet 0x1B is the escape to the
 * extension table, not a character: it holds 0, which a C string cannot contain, so it never
 * matches. */
static const uint16_t gsm_default[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* @ £ $ ¥ è é ù ì */
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, /* ò Ç LF Ø ø CR Å å */
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* Δ _ Φ Γ Λ Ω Π Ψ */
    0x03A3, 0x0398, 0x039E, 0x0000, 0x00C6, 0x00E6, 0x00DF, 0x00C9, /* Σ Θ Ξ ESC Æ æ ß É */
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, /* SP ! " # ¤ % & ' */
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, /* ( ) * + , - . / */
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 0-7 */
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, /* 8 9 : ; < = > ? */
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* ¡ A-G */
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, /* H-O */
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* P-W */
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, /* X Y Z Ä Ö Ñ Ü § */
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* ¿ a-g */
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, /* h-o */
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* p-w */
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, /* x y z ä ö ñ ü à */
};

/* The extension table: each character costs the escape septet and this one. */
typedef struct gsm_extension {
    uint8_t septet;
    uint16_t code_point;
} gsm_extension;

static const gsm_extension gsm_extensions[] = {
    {0x0A, 0x000C}, /* form feed */
    {0x14, 0x005E}, /* ^ */
    {0x28, 0x007B}, /* { */
    {0x29, 0x007D}, /* } */
    {0x2F, 0x005C}, /* \ */
    {0x3C, 0x005B}, /* [ */
    {0x3D, 0x007E}, /* ~ */
    {0x3E, 0x005D}, /* ] */
    {0x40, 0x007C}, /* | */
    {0x65, 0x20AC}, /* € */
};

static topup_result refuse(char *detail, size_t detail_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static topup_result refuse(char *detail, size_t detail_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, detail_size, format, arguments);
    va_end(arguments);
    return TOPUP_E_INVALID_ARGUMENT;
}

/* Decodes the UTF-8 sequence at *offset into *code_point and moves *offset past it. False for
 * anything RFC 3629 forbids: a stray continuation byte, a truncated sequence, an overlong form,
 * a surrogate, a code point beyond U+10FFFF. */
static bool utf8_next(const uint8_t *bytes, size_t length, size_t *offset, uint32_t *code_point)
{
    uint8_t lead = bytes[*offset];
    size_t continuation_count;
    uint32_t value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        *offset += 1;
        return true;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        continuation_count = 1, value = lead & 0x1Fu, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        continuation_count = 2, value = lead & 0x0Fu, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        continuation_count = 3, value = lead & 0x07u, minimum = 0x10000;
    } else {
        return false; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
    }
    if (length - *offset - 1 < continuation_count)
        return false;
    for (size_t i = 1; i <= continuation_count; i++) {
        uint8_t next = bytes[*offset + i];
        if ((next & 0xC0) != 0x80)
            return false;
        value = (value << 6) | (next & 0x3Fu);
    }
    if (value < minimum || value > CODE_POINT_MAX || (value >= 0xD800 && value <= 0xDFFF))
        return false;
    *code_point = value;
    *offset += continuation_count + 1;
    return true;
}

/* Writes the septets of code_point into septets: 1 for the default alphabet, 2 (escape and
 * extension) for the extension table, 0 when GSM 03.38 cannot say it. */
static size_t gsm_septets(uint32_t code_point, uint8_t septets[2])
{
    if (code_point == 0)
        return 0;
    for (size_t i = 0; i < sizeof gsm_default / sizeof gsm_default[0]; i++)
        if (gsm_default[i] == code_point) {
            septets[0] = (uint8_t)i;
            return 1;
        }
    for (size_t i = 0; i < sizeof gsm_extensions / sizeof gsm_extensions[0]; i++)
        if (gsm_extensions[i].code_point == code_point) {
            septets[0] = GSM_ESCAPE;
            septets[1] = gsm_extensions[i].septet;
            return 2;
        }
    return 0;
}

/* Writes code_point as UTF-16BE into octets: 2 octets, or 4 (a surrogate pair) beyond U+FFFF.
 * Returns the octet count. */
static size_t ucs2_octets(uint32_t code_point, uint8_t octets[4])
{
    if (code_point < 0x10000) {
        octets[0] = (uint8_t)(code_point >> 8);
        octets[1] = (uint8_t)code_point;
        return 2;
    }
    uint32_t offset = code_point - 0x10000;
    uint32_t high = 0xD800 + (offset >> 10), low = 0xDC00 + (offset & 0x3FF);
    octets[0] = (uint8_t)(high >> 8);
    octets[1] = (uint8_t)high;
    octets[2] = (uint8_t)(low >> 8);
    octets[3] = (uint8_t)low;
    return 4;
}

/* Starts the next part, with the concatenation header when the text is split (its total is
 * filled in once the last part is known). False when there is no room for another part. */
static bool part_begin(sms_encoding *out, uint8_t reference)
{
    if (out->part_count == SMS_PARTS_MAX)
        return false;
    sms_part *part = &out->parts[out->part_count++];
    part->octet_count = 0;
    if (out->concatenated) {
        const uint8_t header[SMS_UDH_SIZE] = {
            UDH_LENGTH, UDH_IEI_CONCAT, UDH_IEI_LENGTH, reference, 0, (uint8_t)out->part_count};
        memcpy(part->octets, header, sizeof header);
        part->octet_count = sizeof header;
    }
    return true;
}

/* Lays the characters out into parts of at most units_per_part units each, never splitting one
 * character's units (an escape sequence, a surrogate pair) across two parts. */
static topup_result split(const uint32_t *code_points, size_t count, uint8_t reference,
                          sms_encoding *out, char *detail, size_t detail_size)
{
    bool gsm = out->data_coding == SMS_DATA_CODING_GSM7;
    size_t single = gsm ? SMS_GSM_SEPTETS_SINGLE : SMS_UCS2_UNITS_SINGLE;
    size_t per_part = gsm ? SMS_GSM_SEPTETS_PART : SMS_UCS2_UNITS_PART;
    out->concatenated = out->unit_count > single;
    size_t units_per_part = out->concatenated ? per_part : single;
    size_t units_in_part = units_per_part; /* forces the first part_begin */
    for (size_t i = 0; i < count; i++) {
        uint8_t octets[4];
        size_t octet_count =
            gsm ? gsm_septets(code_points[i], octets) : ucs2_octets(code_points[i], octets);
        /* a septet is a unit; two UCS-2 octets are a unit */
        size_t units = gsm ? octet_count : octet_count / 2;
        if (units_in_part + units > units_per_part) {
            if (!part_begin(out, reference))
                return refuse(detail, detail_size, "The text needs more than %d parts.",
                              SMS_PARTS_MAX);
            units_in_part = 0;
        }
        sms_part *part = &out->parts[out->part_count - 1];
        assert(part->octet_count + octet_count <= SMS_PART_OCTETS_MAX);
        memcpy(part->octets + part->octet_count, octets, octet_count);
        part->octet_count += octet_count;
        units_in_part += units;
    }
    if (out->concatenated)
        for (size_t i = 0; i < out->part_count; i++)
            out->parts[i].octets[4] = (uint8_t)out->part_count;
    return TOPUP_OK;
}

topup_result sms_encode(const char *text, size_t length, uint8_t reference, sms_encoding *out,
                        char *detail, size_t detail_size)
{
    memset(out, 0, sizeof *out);
    if (detail_size > 0)
        detail[0] = '\0';
    if (length == 0)
        return refuse(detail, detail_size, "The text is empty.");
    if (length > SMS_TEXT_SIZE_MAX)
        return refuse(detail, detail_size, "The text is %zu bytes of UTF-8, more than %d.", length,
                      SMS_TEXT_SIZE_MAX);
    uint32_t code_points[SMS_TEXT_SIZE_MAX];
    size_t count = 0;
    const uint8_t *bytes = (const uint8_t *)text;
    for (size_t offset = 0; offset < length;) {
        size_t at = offset;
        if (!utf8_next(bytes, length, &offset, &code_points[count]) || code_points[count] == 0)
            return refuse(detail, detail_size, "The text is not valid UTF-8 (at byte %zu).", at);
        count++;
    }
    size_t septet_count = 0, ucs2_unit_count = 0;
    bool gsm = true;
    for (size_t i = 0; i < count; i++) {
        uint8_t septets[2];
        size_t n = gsm_septets(code_points[i], septets);
        gsm = gsm && n > 0;
        septet_count += n;
        ucs2_unit_count += code_points[i] < 0x10000 ? 1 : 2;
    }
    out->data_coding = gsm ? SMS_DATA_CODING_GSM7 : SMS_DATA_CODING_UCS2;
    out->unit_count = gsm ? septet_count : ucs2_unit_count;
    out->character_count = count;
    return split(code_points, count, reference, out, detail, detail_size);
}

const char *sms_data_coding_name(sms_data_coding data_coding)
{
    return data_coding == SMS_DATA_CODING_GSM7 ? "gsm7" : "ucs2";
}
