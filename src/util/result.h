/* result.h — building jsp_result values (the public outcome of a call) inside the
 * library. Every layer that produces an outcome uses these, so the "never NULL" promises
 * of jsp_result hold in one place. */
#ifndef JSP_UTIL_RESULT_H
#define JSP_UTIL_RESULT_H
#include "jspool.h"

/* Success carrying json (taken over; must be malloc'd and NUL-terminated). NULL when out
 * of memory (json is then freed). */
jsp_result *result_ok_take(char *json, size_t json_len);
/* Success carrying a copy of json. */
jsp_result *result_ok_copy(const char *json, size_t json_len);
/* Failure: name and message are copied; NULL name gives the code's id. */
jsp_result *result_error(int code, const char *name, const char *message);
/* A statically allocated result for when even the error cannot be allocated; safe to
 * pass to jsp_result_free (which recognises it). */
jsp_result *result_out_of_memory(void);

#endif
