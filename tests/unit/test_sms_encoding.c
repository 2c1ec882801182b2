/* Unit tests for src/sms/encoding.c: which alphabet a text goes out in, the octets it becomes,
 * and where it is split. Expected octets are written out from 3GPP TS 23.038's tables and
 * Unicode's UTF-16 rules, not computed with topup's own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sms/encoding.h"

#define REFERENCE 0x5A

static sms_encoding *encoding; /* 5 KiB: one per test, from the heap */
static char detail[SMS_DETAIL_SIZE];

static int setup(void **state)
{
    (void)state;
    encoding = malloc(sizeof *encoding);
    return encoding ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(encoding);
    return 0;
}

static topup_result encode(const char *text)
{
    detail[0] = '\0';
    return sms_encode(text, strlen(text), REFERENCE, encoding, detail, sizeof detail);
}

static void assert_encodes(const char *text)
{
    topup_result r = encode(text);
    if (r != TOPUP_OK)
        fail_msg("refused: %s", detail);
}

/* A text of count copies of unit (a UTF-8 string), built in buffer. */
static const char *repeat(char *buffer, size_t buffer_size, const char *unit, size_t count)
{
    size_t unit_length = strlen(unit);
    assert_true(unit_length * count < buffer_size);
    for (size_t i = 0; i < count; i++)
        memcpy(buffer + i * unit_length, unit, unit_length);
    buffer[unit_length * count] = '\0';
    return buffer;
}

static void assert_part(size_t index, const uint8_t *expected, size_t expected_count)
{
    assert_true(index < encoding->part_count);
    assert_int_equal(encoding->parts[index].octet_count, expected_count);
    assert_memory_equal(encoding->parts[index].octets, expected, expected_count);
}

/* The header of part index (1-based sequence) out of total. */
static void assert_header(size_t index, size_t total)
{
    const uint8_t expected[6] = {0x05, 0x00, 0x03, REFERENCE, (uint8_t)total, (uint8_t)(index + 1)};
    assert_true(encoding->parts[index].octet_count >= 6);
    assert_memory_equal(encoding->parts[index].octets, expected, 6);
}

/* ---- alphabet ------------------------------------------------------------------------------ */

static void test_ascii_goes_out_as_gsm_septets(void **state)
{
    (void)state;
    assert_encodes("Hi @ $1_");
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_GSM7);
    assert_false(encoding->concatenated);
    assert_int_equal(encoding->part_count, 1);
    /* '@' is septet 0x00, '$' 0x02 and '_' 0x11 in GSM 03.38, unlike ASCII */
    const uint8_t expected[] = {'H', 'i', ' ', 0x00, ' ', 0x02, '1', 0x11};
    assert_part(0, expected, sizeof expected);
    assert_int_equal(encoding->unit_count, 8);
}

static void test_gsm_latin_and_greek_letters(void **state)
{
    (void)state;
    assert_encodes("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà");
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_GSM7);
    const uint8_t expected[] = {0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0C,
                                0x0E, 0x0F, 0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                                0x19, 0x1A, 0x1C, 0x1D, 0x1E, 0x1F, 0x24, 0x40, 0x5B, 0x5C,
                                0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F};
    assert_part(0, expected, sizeof expected);
}

static void test_extension_characters_are_escaped_and_count_two(void **state)
{
    (void)state;
    assert_encodes("5€ [a]{b}~^|\\\f");
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_GSM7);
    const uint8_t expected[] = {'5',  0x1B, 0x65, ' ',  0x1B, 0x3C, 'a',  0x1B,
                                0x3E, 0x1B, 0x28, 'b',  0x1B, 0x29, 0x1B, 0x3D,
                                0x1B, 0x14, 0x1B, 0x40, 0x1B, 0x2F, 0x1B, 0x0A};
    assert_part(0, expected, sizeof expected);
    assert_int_equal(encoding->unit_count, 24);
    assert_int_equal(encoding->character_count, 14);
}

static void test_one_character_outside_gsm_makes_it_ucs2(void **state)
{
    (void)state;
    assert_encodes("Caf\xC3\xA9 `"); /* 'é' is GSM, the backtick is not */
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_UCS2);
    const uint8_t expected[] = {0x00, 'C', 0x00, 'a', 0x00, 'f', 0x00, 0xE9, 0x00, ' ', 0x00, '`'};
    assert_part(0, expected, sizeof expected);
    assert_encodes("zażółć"); /* Polish letters: not in the default alphabet */
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_UCS2);
    assert_encodes("Tab\there");
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_UCS2);
}

static void test_chinese_is_utf16be(void **state)
{
    (void)state;
    assert_encodes("话费充值");
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_UCS2);
    const uint8_t expected[] = {0x8B, 0xDD, 0x8D, 0x39, 0x51, 0x45, 0x50, 0x3C};
    assert_part(0, expected, sizeof expected);
    assert_int_equal(encoding->unit_count, 4);
}

static void test_astral_characters_are_surrogate_pairs(void **state)
{
    (void)state;
    /* U+1F600 GRINNING FACE and U+10FFFF, the last code point */
    assert_encodes("\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
    const uint8_t expected[] = {0xD8, 0x3D, 0xDE, 0x00, 0xDB, 0xFF, 0xDF, 0xFF};
    assert_part(0, expected, sizeof expected);
    assert_int_equal(encoding->unit_count, 4);
    assert_int_equal(encoding->character_count, 2);
}

/* ---- splitting ----------------------------------------------------------------------------- */

static void test_gsm_160_fits_one_161_splits_153(void **state)
{
    (void)state;
    char text[512];
    assert_encodes(repeat(text, sizeof text, "a", 160));
    assert_int_equal(encoding->part_count, 1);
    assert_false(encoding->concatenated);
    assert_int_equal(encoding->parts[0].octet_count, 160);

    assert_encodes(repeat(text, sizeof text, "a", 161));
    assert_true(encoding->concatenated);
    assert_int_equal(encoding->part_count, 2);
    assert_header(0, 2);
    assert_header(1, 2);
    assert_int_equal(encoding->parts[0].octet_count, 6 + 153);
    assert_int_equal(encoding->parts[1].octet_count, 6 + 8);
}

static void test_300_ascii_characters_make_two_parts(void **state)
{
    (void)state;
    char text[512];
    assert_encodes(repeat(text, sizeof text, "0123456789", 30));
    assert_int_equal(encoding->part_count, 2);
    assert_int_equal(encoding->parts[0].octet_count, 6 + 153);
    assert_int_equal(encoding->parts[1].octet_count, 6 + 147);
    /* the parts, without their headers, are the text again */
    char joined[301];
    memcpy(joined, encoding->parts[0].octets + 6, 153);
    memcpy(joined + 153, encoding->parts[1].octets + 6, 147);
    joined[300] = '\0';
    assert_string_equal(joined, text);
}

static void test_extension_counts_two_toward_the_single_limit(void **state)
{
    (void)state;
    char text[512];
    repeat(text, sizeof text, "a", 158);
    strcat(text, "€"); /* 158 + 2 = 160 septets: still one SMS */
    assert_encodes(text);
    assert_int_equal(encoding->part_count, 1);
    assert_int_equal(encoding->unit_count, 160);
    strcat(text, "a"); /* 161 */
    assert_encodes(text);
    assert_int_equal(encoding->part_count, 2);
}

static void test_escape_sequence_is_never_split(void **state)
{
    (void)state;
    char text[512];
    repeat(text, sizeof text, "a", 152);
    strcat(text, "€"); /* septets 153 and 154: the escape would end part 1 alone */
    strcat(text, "aaaaaaaaaa");
    assert_encodes(text);
    assert_int_equal(encoding->part_count, 2);
    assert_int_equal(encoding->parts[0].octet_count, 6 + 152);
    const uint8_t second[] = {0x1B, 0x65, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'};
    assert_int_equal(encoding->parts[1].octet_count, 6 + sizeof second);
    assert_memory_equal(encoding->parts[1].octets + 6, second, sizeof second);
}

static void test_ucs2_70_fits_one_71_splits_67(void **state)
{
    (void)state;
    char text[1024];
    assert_encodes(repeat(text, sizeof text, "话", 70));
    assert_int_equal(encoding->part_count, 1);
    assert_int_equal(encoding->parts[0].octet_count, 140);

    assert_encodes(repeat(text, sizeof text, "话", 71));
    assert_int_equal(encoding->part_count, 2);
    assert_header(0, 2);
    assert_header(1, 2);
    assert_int_equal(encoding->parts[0].octet_count, 6 + 134);
    assert_int_equal(encoding->parts[1].octet_count, 6 + 8);
}

static void test_surrogate_pair_is_never_split(void **state)
{
    (void)state;
    char text[1024];
    repeat(text, sizeof text, "话", 66);
    strcat(text, "\xF0\x9F\x98\x80"); /* units 67 and 68: the pair would straddle the parts */
    strcat(text, "话话话话话");
    assert_encodes(text);
    assert_int_equal(encoding->unit_count, 73);
    assert_int_equal(encoding->part_count, 2);
    assert_int_equal(encoding->parts[0].octet_count, 6 + 132);
    const uint8_t second[] = {0xD8, 0x3D, 0xDE, 0x00, 0x8B, 0xDD};
    assert_memory_equal(encoding->parts[1].octets + 6, second, sizeof second);
    assert_int_equal(encoding->parts[1].octet_count, 6 + 4 + 10);
}

static void test_longest_texts_fit_the_part_limit(void **state)
{
    (void)state;
    char text[SMS_TEXT_SIZE_MAX + 1];
    assert_encodes(repeat(text, sizeof text, "[", SMS_TEXT_SIZE_MAX)); /* 4096 septets */
    assert_int_equal(encoding->part_count, 27);
    repeat(text, sizeof text, "a", SMS_TEXT_SIZE_MAX - 1);
    memcpy(text, "`", 1); /* forces UCS-2: 2047 one-unit characters */
    assert_encodes(text);
    assert_int_equal(encoding->data_coding, SMS_DATA_CODING_UCS2);
    assert_int_equal(encoding->part_count, 31);
    for (size_t i = 0; i < encoding->part_count; i++)
        assert_header(i, 31);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_invalid_utf8_is_refused(void **state)
{
    (void)state;
    static const char *const invalid[] = {
        "\x80",             /* a continuation byte alone */
        "ab\xC3",           /* truncated two-byte sequence */
        "\xE8\xAF",         /* truncated three-byte sequence */
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong, three bytes */
        "\xF0\x80\x80\xAF", /* overlong, four bytes */
        "\xED\xA0\x80",     /* U+D800, a surrogate */
        "\xED\xBF\xBF",     /* U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000, beyond Unicode */
        "\xF5\x80\x80\x80", /* a lead byte UTF-8 never uses */
        "\xFF",
        "a\xC3(b", /* a lead byte followed by ASCII */
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        assert_int_equal(encode(invalid[i]), TOPUP_E_INVALID_ARGUMENT);
        assert_non_null(strstr(detail, "not valid UTF-8"));
    }
}

static void test_empty_and_too_long_are_refused(void **state)
{
    (void)state;
    assert_int_equal(encode(""), TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(detail, "empty"));
    char text[SMS_TEXT_SIZE_MAX + 2];
    assert_int_equal(encode(repeat(text, sizeof text, "a", SMS_TEXT_SIZE_MAX + 1)),
                     TOPUP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(detail, "2049 bytes"));
}

static void test_reference_is_the_callers(void **state)
{
    (void)state;
    char text[512];
    repeat(text, sizeof text, "a", 200);
    assert_int_equal(sms_encode(text, strlen(text), 0xC3, encoding, detail, sizeof detail),
                     TOPUP_OK);
    assert_int_equal(encoding->parts[0].octets[3], 0xC3);
    assert_int_equal(encoding->parts[1].octets[3], 0xC3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ascii_goes_out_as_gsm_septets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gsm_latin_and_greek_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extension_characters_are_escaped_and_count_two, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_character_outside_gsm_makes_it_ucs2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_chinese_is_utf16be, setup, teardown),
        cmocka_unit_test_setup_teardown(test_astral_characters_are_surrogate_pairs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gsm_160_fits_one_161_splits_153, setup, teardown),
        cmocka_unit_test_setup_teardown(test_300_ascii_characters_make_two_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extension_counts_two_toward_the_single_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_escape_sequence_is_never_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ucs2_70_fits_one_71_splits_67, setup, teardown),
        cmocka_unit_test_setup_teardown(test_surrogate_pair_is_never_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_texts_fit_the_part_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_too_long_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_is_the_callers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
