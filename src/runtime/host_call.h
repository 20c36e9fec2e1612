/* host_call.h — a host.call / host.callSync in flight (the public jsp_host_call), the
 * pool-wide quarantine its record goes to when released, and what the runtime thread does
 * with it (host_calls.c). The operations that start one are in runtime.h with the other
 * engine-host operations. */
#ifndef JSP_RUNTIME_HOST_CALL_H
#define JSP_RUNTIME_HOST_CALL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "jspool.h"

typedef struct runtime runtime;
typedef struct job job;
struct jsp_context;

/* A host.call / host.callSync in flight. Two owners: the handler's duty to answer, and
 * the runtime's record of it; the last to let go frees it. */
struct jsp_host_call {
    _Atomic uint32_t magic;    /* HOST_CALL_LIVE until answered (host_calls.c) */
    atomic_int refs;
    jsp_pool *pool;            /* a pool reference keeps the runtime's queue alive */
    runtime *rt;
    struct jsp_context *counted; /* a reference: its host_calls_held counts this call */
    uint64_t context_id;
    char *name;
    char *args;
    size_t args_len;
    /* ---- runtime thread only ---- */
    struct jsp_context *ctx;   /* NULL once cancelled (context died) */
    uint64_t call_id;          /* the call that made it: cleared when that call settles */
    engine_host_promise *promise; /* async calls */
    bool is_sync;
    bool is_answered;          /* sync: the reply below is filled */
    bool is_reply_ok;
    char *reply;
    size_t reply_len;
    jsp_host_call *prev, *next; /* ctx->host_calls */
};

/* Released host calls kept allocated (marked dead) so that a second answer finds a dead
 * magic instead of freed memory; a ring, each slot swapped atomically. One per pool
 * (runtime_services.host_calls); freed by host_call_quarantine_free when the pool goes. */
enum { HOST_CALL_QUARANTINE = 1024 };
typedef struct host_call_quarantine {
    _Atomic(struct jsp_host_call *) calls[HOST_CALL_QUARANTINE];
    atomic_size_t next;
} host_call_quarantine;
void host_call_quarantine_free(host_call_quarantine *q);

void host_call_cancel(jsp_host_call *call); /* runtime thread: the context died */
void host_call_apply_reply(job *j);          /* runtime thread: JOB_HOST_REPLY */
/* Cancels the async host calls call_id left pending; returns how many. */
size_t host_calls_clear_for_call(struct jsp_context *ctx, uint64_t call_id);

#endif
