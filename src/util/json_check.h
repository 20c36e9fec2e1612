/* json_check.h — answers "is this text one valid JSON value?" without building it, so
 * bad input is refused on the caller's thread with JSP_EJSON before it is queued. */
#ifndef JSP_UTIL_JSON_CHECK_H
#define JSP_UTIL_JSON_CHECK_H
#include <stdbool.h>
#include <stddef.h>

/* RFC 8259 grammar, surrounding whitespace allowed, nesting up to 512 deep (deeper input
 * is refused rather than risking the engine's stack). UTF-8 is checked separately. */
bool json_is_valid(const char *text, size_t len);

#endif
