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
