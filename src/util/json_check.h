/* json_check.h — answers "is this text one valid JSON value?" without building it, so
 * bad input is refused on the caller's thread with JSP_EJSON before it is queued. */
#ifndef JSP_UTIL_JSON_CHECK_H
#define JSP_UTIL_JSON_CHECK_H
#include <stdbool.h>
#include <stddef.h>

/* RFC 8259 grammar, surrounding whitespace allowed, nesting up to JSP_JSON_MAX_DEPTH deep
 * (deeper input is refused: one limit for every JSON input path, and no deep recursion
 * on the caller's stack). UTF-8 is checked separately. */
bool json_is_valid(const char *text, size_t len);

/* The same for a call's argument list: its outer level does not count, so each argument
 * may nest as deep as a message (whether it is an array is the engine's check). */
bool json_is_valid_arguments(const char *text, size_t len);

#endif
