/* engine_messaging.h — the engine side of messaging between contexts (channel and worker
 * groups): what the runtime asks of a context (deliver a message, start a worker's source)
 * and the runtime_hook_* its natives call up with. Kept apart from engine.h so the
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

/* In a new worker context: sets up the worker scope (self, name, postMessage, close...)
 * and runs source. NULL when it ran; otherwise the uncaught exception as a result. */
jsp_result *engine_worker_start(engine_ctx *ec, const char *name, const char *source, size_t len);

/* ---- implemented by the runtime layer (runtime/messaging.c, pool/channels.c) ---- */

/* BroadcastChannel: key is the channel name as JSON text. subscribe returns 0,
 * JSP_ETOO_MANY (too many names open in this context) or JSP_ENOMEM. */
int runtime_hook_broadcast_subscribe(void *owner, const char *key);
void runtime_hook_broadcast_unsubscribe(void *owner, const char *key);
/* Queues data to every context with a channel of that key open (this one included);
 * sender_id is the posting channel, skipped in this context. */
void runtime_hook_broadcast_post(void *owner, const char *key, const char *data, size_t len,
                                 uint64_t sender_id);

/* Worker, parent side: spawn returns 0 and the new worker's id, or JSP_ETOO_MANY (worker
 * limit), JSP_ECLOSED, JSP_ENOMEM. */
int runtime_hook_worker_spawn(void *owner, const char *source, size_t len, const char *name,
                              uint64_t *id);
void runtime_hook_worker_post(void *owner, uint64_t id, const char *data, size_t len);
void runtime_hook_worker_terminate(void *owner, uint64_t id);
/* Worker, child side (no-ops in a context that is not a worker). */
void runtime_hook_worker_post_to_parent(void *owner, const char *data, size_t len);
void runtime_hook_worker_report_error(void *owner, const char *json, size_t len);
void runtime_hook_worker_close(void *owner);

#endif
