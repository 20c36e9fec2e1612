/* utf8.h — UTF-8 validation and UTF-8 → UTF-16 conversion for text crossing the API.
 * Not a general Unicode library: just what the API boundary and the engine need. */
#ifndef JSP_UTIL_UTF8_H
#define JSP_UTIL_UTF8_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when text[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool utf8_is_valid(const char *text, size_t len);

/* Converts valid UTF-8 to UTF-16 into out, which must hold at least len units (UTF-16
 * never needs more units than UTF-8 has bytes). Returns the number of units written.
 * The input must already be validated. */
size_t utf8_to_utf16(const char *text, size_t len, uint16_t *out);

#endif
