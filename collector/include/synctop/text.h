/* text.h - names as they leave synctop: always valid UTF-8.
 *
 * Names in a table (processes, roles, objects) are bytes written by other
 * processes; st_text_sanitize() is the one function that turns such bytes
 * into text every output can show: invalid UTF-8 becomes U+FFFD, the text is
 * cut only at a character boundary, and, on request, control characters are
 * shown in caret notation (ESC as "^[", CR as "^M", DEL as "^?"), as the
 * dashboard (curses) shows them.
 */
#ifndef SYNCTOP_TEXT_H
#define SYNCTOP_TEXT_H

#pragma GCC visibility push(default)

#include <stddef.h>
#include "result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* st_text_sanitize() flags. */
#define ST_TEXT_CARET_CONTROLS 1u   /* control characters as "^X" (for plain-text outputs) */

/* Write text (at most text_len bytes, stopping at a NUL) into out as valid,
 * NUL-terminated UTF-8 of at most out_size - 1 bytes, cut at a character
 * boundary. When the text fills all text_len bytes, a last character cut
 * short (by whoever cut the text to that size) is dropped; other invalid
 * bytes become U+FFFD. ST_EINVAL when out is NULL or out_size is 0; a NULL
 * text gives "". */
st_result st_text_sanitize(const char *text, size_t text_len, char *out, size_t out_size, unsigned flags);

/* Whether the len bytes at text are valid UTF-8 (for tests and checks). */
int st_text_is_valid_utf8(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
