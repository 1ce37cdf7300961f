/* format.c - numbers in human units and printable names (see format.h).
 *
 * The rule throughout: about three significant digits, the unit glued to
 * the number, no locale (a decimal point is always '.'), so columns line up
 * and scripts can still read the figures.
 */
#include "config.h"

#include "format.h"

#include <math.h>   /* isfinite: a compiler builtin, no libm */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <synctop/text.h>

char *format_text(const char *text, char *buffer, size_t size)
{
    if (st_text_sanitize(text, (size_t)-1, buffer, size, ST_TEXT_CARET_CONTROLS) != ST_OK && size > 0)
        buffer[0] = '\0';
    return buffer;
}

/* |value|, without needing libm. */
static double magnitude_of(double value)
{
    return value < 0 ? -value : value;
}

/* value with three significant digits and a unit: 1.23, 12.3, 123. */
static char *three_digits(double value, const char *unit, char *buffer)
{
    int decimals = value < 9.995 ? 2 : value < 99.95 ? 1 : 0;
    snprintf(buffer, FORMAT_BUFFER_BYTES, "%.*f%s", decimals, value, unit);
    return buffer;
}

char *format_duration_ns(uint64_t ns, char *buffer)
{
    if (ns < 1000) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%lluns", (unsigned long long)ns);
        return buffer;
    }
    if (ns < 999500)
        return three_digits((double)ns / 1e3, "us", buffer);
    if (ns < 999500000)
        return three_digits((double)ns / 1e6, "ms", buffer);
    if (ns < 59950000000ull)   /* "59.9s", then "1m00s" */
        return three_digits((double)ns / 1e9, "s", buffer);
    uint64_t seconds = (ns + 500000000u) / 1000000000u;
    if (seconds < 3600)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%llum%02llus",
                 (unsigned long long)(seconds / 60), (unsigned long long)(seconds % 60));
    else if (seconds < 86400)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%lluh%02llum",
                 (unsigned long long)(seconds / 3600), (unsigned long long)(seconds % 3600 / 60));
    else
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%llud%02lluh",
                 (unsigned long long)(seconds / 86400), (unsigned long long)(seconds % 86400 / 3600));
    return buffer;
}

char *format_bytes(uint64_t bytes, char *buffer)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (bytes < 1024) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%lluB", (unsigned long long)bytes);
        return buffer;
    }
    double value = (double)bytes / 1024.0;
    size_t unit = 0;
    while (value >= 999.5 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024.0;
        unit++;
    }
    /* "4.0KiB" rather than "4.00KiB": one decimal is plenty below 10. */
    int decimals = value < 99.95 ? 1 : 0;
    snprintf(buffer, FORMAT_BUFFER_BYTES, "%.*f%s", decimals, value, units[unit]);
    return buffer;
}

char *format_rate(double per_second, char *buffer)
{
    if (!isfinite(per_second)) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "-");
        return buffer;
    }
    double magnitude = magnitude_of(per_second);
    if (magnitude < 0.05) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "0/s");
    } else if (magnitude < 9.95) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.1f/s", per_second);
    } else if (magnitude < 999.5) {
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.0f/s", per_second);
    } else {
        static const char *const prefixes[] = { "k", "M", "G", "T" };
        size_t prefix = 0;
        double value = per_second / 1000.0;
        while (magnitude_of(value) >= 999.5 && prefix + 1 < sizeof prefixes / sizeof prefixes[0]) {
            value /= 1000.0;
            prefix++;
        }
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.*f%s/s", magnitude_of(value) < 9.95 ? 1 : 0,
                 value, prefixes[prefix]);
    }
    return buffer;
}

char *format_uptime(double seconds, char *buffer)
{
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    unsigned long long whole = (unsigned long long)seconds;
    if (whole < 3600)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%llum", whole / 60);
    else if (whole < 86400)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%lluh%02llum", whole / 3600, whole % 3600 / 60);
    else
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%llud%02lluh", whole / 86400, whole % 86400 / 3600);
    return buffer;
}

/* ---- display cells ----------------------------------------------------------- */

/* The character at text (UTF-8): its length in bytes (1 for a malformed
 * byte) and its width in cells. */
static size_t next_character(const unsigned char *text, int *cells)
{
    unsigned char lead = text[0];
    size_t length = lead < 0x80 ? 1 : lead >= 0xf0 && lead < 0xf5 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    uint32_t code = length == 1 ? lead : length == 2 ? lead & 0x1fu : length == 3 ? lead & 0x0fu : lead & 0x07u;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xc0) != 0x80) {
            length = 0;
            break;
        }
        code = code << 6 | (text[i] & 0x3fu);
    }
    if (length == 0) {   /* malformed: one byte, one cell */
        *cells = 1;
        return 1;
    }
    int width = code < 0x80 ? 1 : wcwidth((wchar_t)code);
    *cells = width < 0 ? 1 : width;
    return length;
}

int format_cells(const char *text)
{
    int total = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p != '\0') {
        int cells;
        p += next_character(p, &cells);
        total += cells;
    }
    return total;
}

size_t format_fit_cells(const char *text, int width, int *cells)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t bytes = 0;
    int used = 0;
    while (p[bytes] != '\0') {
        int w;
        size_t length = next_character(p + bytes, &w);
        if (used + w > width)
            break;
        used += w;
        bytes += length;
    }
    if (cells != NULL)
        *cells = used;
    return bytes;
}

char *format_pad_cells(const char *text, int width, bool align_right, char cut_mark, char *out, size_t size)
{
    if (size == 0)
        return out;
    out[0] = '\0';
    if (width <= 0)
        return out;
    bool cut = format_cells(text) > width;
    bool mark = cut && cut_mark != '\0';
    int cells;
    size_t bytes = format_fit_cells(text, mark ? width - 1 : width, &cells);
    size_t pad = (size_t)(width - cells - (mark ? 1 : 0));
    if (bytes + pad + 2 > size)   /* a buffer too small for width cells: fewer */
        return format_pad_cells(text, width - 1, align_right, cut_mark, out, size);
    size_t at = 0;
    if (align_right && !cut) {
        memset(out, ' ', pad);
        at = pad;
        pad = 0;
    }
    memcpy(out + at, text, bytes);
    at += bytes;
    memset(out + at, ' ', pad);   /* also the cell a cut wide character leaves */
    at += pad;
    if (mark)
        out[at++] = cut_mark;
    out[at] = '\0';
    return out;
}
