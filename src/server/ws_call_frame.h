/* ws_call_frame.h — tells a WebSocket call frame from a message frame and finds its parts,
 * without building a JSON tree: {"id": 7, "call": "transfer", "args": [...]}.
 *
 * A frame is a call when it is a JSON object whose top level has both an "id" and a
 * "call" key (written without escapes); every other frame is a message, as before the
 * call protocol existed. The parts are spans of the frame's own text: the id is echoed
 * byte for byte, the arguments go to jsp_call_async as they are (the library checks
 * their JSON fully). Pure; any thread. Not for: messages (jsp_send checks those). */
#ifndef JSP_SERVER_WS_CALL_FRAME_H
#define JSP_SERVER_WS_CALL_FRAME_H

#include <stdbool.h>
#include <stddef.h>

/* The longest string id, counted as written between its quotes. */
#define WS_CALL_MAX_ID_BYTES 128
/* The longest function name (a name has no escape sequences). */
#define WS_CALL_MAX_FUNCTION_BYTES 256

typedef struct ws_call_frame {
    const char *id;          /* the id's JSON text (number or quoted string); NULL when */
    size_t id_len;           /* missing or unusable: the answer then says "id": null */
    const char *function;    /* the name between its quotes (not NUL-terminated) */
    size_t function_len;
    const char *args;        /* the "args" array's text; NULL when absent (= []) */
    size_t args_len;
    int error;               /* 0, or the JSP_E* code the call is answered with at once */
    const char *message;     /* with error: what is wrong (a static string) */
} ws_call_frame;

/* False when text is not a call frame (send it as a message). True for a call frame:
 * then out->error is 0 and the call can run, or the frame is refused (id of the wrong
 * type or too long, "call" not a string or not a plain name, "args" not an array, a key
 * other than id/call/args or given twice, text after the object: JSP_EINVAL; a frame
 * that does not scan as JSON after both keys were seen: JSP_EJSON). */
bool ws_call_frame_parse(const char *text, size_t len, ws_call_frame *out);

#endif
