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

/* The channel and worker operations of the engine's host (contracts in engine_host.h). */
int messaging_broadcast_subscribe(struct jsp_context *ctx, const char *key);
void messaging_broadcast_unsubscribe(struct jsp_context *ctx, const char *key);
void messaging_broadcast_post(struct jsp_context *ctx, const char *key, const char *data,
                              size_t len);
bool messaging_broadcast_has_peers(struct jsp_context *ctx, const char *key);
/* Queues ctx's JOB_MESSAGE_TASKS unless one is queued or running. 0, JSP_ENOMEM or
 * JSP_ECLOSED. */
int messaging_wake_tasks(struct jsp_context *ctx);
/* Runs a JOB_MESSAGE_TASKS: a batch of ctx's message tasks, each in its own run (budget,
 * microtasks), for up to a slice; requeues the job when tasks remain. */
void messaging_run_tasks(runtime *rt, job *j);
int messaging_worker_spawn(struct jsp_context *parent, const char *source, size_t len,
                           const char *name, uint64_t *id);
void messaging_worker_post(struct jsp_context *ctx, uint64_t id, const char *data, size_t len);
void messaging_worker_terminate(struct jsp_context *ctx, uint64_t id);
void messaging_worker_post_to_parent(struct jsp_context *ctx, const char *data, size_t len);
void messaging_worker_report_error(struct jsp_context *ctx, const char *json, size_t len);
void messaging_worker_close(struct jsp_context *ctx);
/* The workers of a context share its memory limit with it (they inherit it): ctx's own
 * thread tells its tree its heap after each measurement (ctx->held_bytes), and a worker
 * reads what the tree's other members held at theirs. The root reads 0 and keeps its whole
 * limit, so that its workers can never leave it unable to run (and to terminate them): a
 * tree holds at most twice the root's limit, not 17 times. 0 outside a tree. */
void messaging_tree_note_held(struct jsp_context *ctx);
bool messaging_is_in_tree(const struct jsp_context *ctx); /* has workers or is one */
uint64_t messaging_tree_others_bytes(const struct jsp_context *ctx);

#endif
