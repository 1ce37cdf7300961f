/* text.c - the one place names become valid UTF-8 (see synctop/text.h).
 *
 * Decoding follows RFC 3629: overlong forms, surrogates and code points
 * above U+10FFFF are invalid. Each invalid byte becomes one U+FFFD, so a
 * stray byte never swallows the valid characters after it. A character cut
 * short by the end of a bounded text (text_len bytes with no NUL: a fixed
 * slot field, a name cut by a size limit) is dropped, not replaced.
 */
#include "internal.h"
#include <synctop/text.h>

#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */

/* Length of the valid UTF-8 sequence at s (at most avail bytes), 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char low = 0x80, high = 0xBF;   /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            low = 0xA0;                      /* no overlong forms */
        else if (c == 0xED)
            high = 0x9F;                     /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            low = 0x90;
        else if (c == 0xF4)
            high = 0x8F;                     /* nothing above U+10FFFF */
    } else
        return 0;
    if (avail < len || s[1] < low || s[1] > high)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Whether the avail bytes at s are a lead byte and continuation bytes of
 * a sequence cut short. */
static bool cut_sequence(const unsigned char *s, size_t avail)
{
    size_t need = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (need == 0 || avail >= need)
        return false;
    for (size_t i = 1; i < avail; i++)
        if ((s[i] & 0xC0) != 0x80)
            return false;
    return true;
}

int st_text_is_valid_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Append piece (n bytes) if it fits whole, leaving room for the NUL. */
static bool append(char *out, size_t out_size, size_t *used, const char *piece, size_t n)
{
    if (*used + n + 1 > out_size)
        return false;
    memcpy(out + *used, piece, n);
    *used += n;
    return true;
}

st_result st_text_sanitize(const char *text, size_t text_len, char *out, size_t out_size, unsigned flags)
{
    if (!out || out_size == 0)
        return st_fail(ST_EINVAL, "st_text_sanitize: no room for the result; pass a buffer of at least one byte");
    size_t used = 0;
    size_t len = text ? strnlen(text, text_len) : 0;
    bool was_cut = len == text_len;   /* no NUL within text_len: the text may end mid-character */
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(s + i, len - i);
        bool fits;
        if (n == 0 && was_cut && cut_sequence(s + i, len - i))
            break;   /* a character cut by a size limit: drop it, do not replace it */
        if (n == 0) {
            fits = append(out, out_size, &used, replacement, sizeof replacement - 1);
            n = 1;
        } else if ((flags & ST_TEXT_CARET_CONTROLS) && n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) {
            char caret[2] = { '^', (char)(s[i] == 0x7F ? '?' : s[i] + '@') };
            fits = append(out, out_size, &used, caret, sizeof caret);
        } else
            fits = append(out, out_size, &used, text + i, n);
        if (!fits)
            break;
        i += n;
    }
    out[used] = '\0';
    return ST_OK;
}
