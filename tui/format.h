/* format.h - numbers in human units and names made printable, for text
 * output (--batch, --list, and later the dashboard).
 *
 * Every function writes a NUL-terminated string into a caller's buffer of
 * FORMAT_BUFFER_BYTES and returns it, so calls can be used inline in
 * printf. Output is ASCII only ("us", not the micro sign), so it survives
 * any terminal, log file or grep.
 */
#ifndef SYNCTOP_TUI_FORMAT_H
#define SYNCTOP_TUI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FORMAT_BUFFER_BYTES 32

/* Nanoseconds as about three significant digits: "850ns", "12.3us",
 * "1.20ms", "4.56s", "2m05s", "3h07m", "2d04h". */
char *format_duration_ns(uint64_t ns, char *buffer);

/* Bytes with binary prefixes: "512B", "4.0KiB", "12.3MiB", "100MiB", "1.2GiB". */
char *format_bytes(uint64_t bytes, char *buffer);

/* Events per second: "0/s", "0.5/s", "12/s", "4.2k/s", "1.3M/s". */
char *format_rate(double per_second, char *buffer);

/* Seconds of uptime: "5m", "3h07m", "12d04h". */
char *format_uptime(double seconds, char *buffer);

/* Text from a table (a name, a role, a text field, a session) as a
 * terminal or a log may show it: valid UTF-8, cut at a character boundary
 * to fit size bytes, control characters in caret notation ("^[" for ESC),
 * as the dashboard shows them. Every plain-text output prints names
 * through this (st_text_sanitize()). Returns buffer. */
char *format_text(const char *text, char *buffer, size_t size);

/* ---- display cells (the dashboard's columns) --------------------------------
 * A terminal shows a CJK character (and most emoji) in two cells, a
 * combining mark in none, every other printable character in one: a
 * column's width is in cells, never in bytes or characters. These decode
 * UTF-8 themselves and ask wcwidth() for the width of each character (so
 * the process needs a UTF-8 LC_CTYPE for wide characters to count 2; a
 * character wcwidth() does not know counts 1). A malformed byte counts as
 * one cell of one byte. */

/* The display width of text, in cells. */
int format_cells(const char *text);

/* The bytes of the longest prefix of text that fits in width cells,
 * never cutting a character; its width in *cells when cells is not NULL. */
size_t format_fit_cells(const char *text, int width, int *cells);

/* text in exactly width cells, in out (size bytes): padded with spaces on
 * the right (on the left when align_right), or, when wider, cut at a
 * character boundary and ended with cut_mark when cut_mark is not '\0'
 * (a wide character that would straddle the edge gives way to spaces).
 * Returns out. */
char *format_pad_cells(const char *text, int width, bool align_right, char cut_mark, char *out, size_t size);

#endif
