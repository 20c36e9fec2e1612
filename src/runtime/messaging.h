/* messaging.h — the runtime side of messages between contexts (BroadcastChannel, workers):
 * the jobs that deliver them and what a context's death or VM recycle must undo. All on
 * the context's runtime thread. See messaging.c. */
#ifndef JSP_RUNTIME_MESSAGING_H
#define JSP_RUNTIME_MESSAGING_H

#include "runtime/runtime.h"

typedef struct context_messaging context_messaging;

/* Runs a JOB_CHANNEL_MESSAGE or JOB_WORKER_START and frees it. */
void messaging_run_job(runtime *rt, job *j);
/* The context dies: its channel names leave the registry, its workers are destroyed, its
 * parent (if it is a worker) hears it ended. Before its runtime reference is dropped. */
void messaging_context_dying(struct jsp_context *ctx);
/* The context was rebuilt on a fresh VM: its channels and Worker objects are gone, so are
 * their registrations and workers; a worker context cannot go on and ends. */
void messaging_context_rebuilt(struct jsp_context *ctx);

#endif
