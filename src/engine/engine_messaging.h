/* engine_messaging.h — the engine side of messaging between contexts (channel and worker
 * groups): what the runtime asks of a context (deliver a message, start a worker's source)
 * (what its natives call up with is in engine_host.h). Kept apart from engine.h so the
 * messaging plumbing stays in its own files. Every function here runs on the context's
 * runtime thread. */
#ifndef JSP_ENGINE_MESSAGING_H
#define JSP_ENGINE_MESSAGING_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Names a context keeps open live in the pool's registry, outside its JS heap (1,024 names
 * per context at most): bounded in length too, or 1,024 names of 4 MiB each would hold
 * 4 GB of host memory. */
#define ENGINE_CHANNEL_NAME_MAX_BYTES 4096

/* Hands (target, data) to the deliver() export of the group that owns target: "b:..." the
 * channel group (BroadcastChannel), anything else the worker group. target and data are
 * NUL-terminated UTF-8. Exceptions are logged. */
void engine_messaging_deliver(engine_ctx *ec, const char *target, const char *data, size_t len);

/* Runs the channel group's next message task (a MessagePort message, or a post of a
 * BroadcastChannel of this context: channel.js) in an entry of its own, its microtasks
 * drained after it. Whether more tasks wait. Exceptions are logged. */
bool engine_messaging_run_task(engine_ctx *ec);

/* In a new worker context: sets up the worker scope (self, name, postMessage, close...)
 * and runs source. NULL when it ran; otherwise the uncaught exception as a result. */
jsp_result *engine_worker_start(engine_ctx *ec, const char *name, const char *source, size_t len);

#endif
