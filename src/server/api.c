/* api.c — the HTTP/JSON API, versioned under /v1, plus /healthz and /metrics, each its own
 * h2o path (and "/" for the rest: 401 or 404). Routing, input checks and replies; calls into contexts go out as jspool async calls and are
 * answered in api_finish when they come back to the loop. */
#include "server/http_reply.h"
#include "server/request_body.h"
#include "server/server_internal.h"
#include "server/websocket.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct api_handler {
    h2o_handler_t super;
    server *srv;
} api_handler;

static server *api_server(h2o_handler_t *self)
{
    return ((api_handler *)self)->srv;
}

static int on_healthz(h2o_handler_t *self, h2o_req_t *req);
static int on_metrics(h2o_handler_t *self, h2o_req_t *req);
static int on_v1(h2o_handler_t *self, h2o_req_t *req);
static int on_other(h2o_handler_t *self, h2o_req_t *req);

static h2o_pathconf_t *install(h2o_hostconf_t *host, const char *path, server *srv,
                               int (*on_req)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *conf = h2o_config_register_path(host, path, 0);
    api_handler *handler = (api_handler *)h2o_create_handler(conf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->srv = srv;
    guard_install(conf);
    return conf;
}

void api_install(h2o_hostconf_t *host, server *srv)
{
    /* one path each; "/" last, for everything else (h2o takes the first that matches) */
    install(host, "/healthz", srv, on_healthz);
    install(host, "/metrics", srv, on_metrics);
    install(host, "/v1", srv, on_v1);
    install(host, "/", srv, on_other);
    guard_install_host(host);
}

struct pending_ref {
    pending *p;
};

static void on_req_disposed(void *data)
{
    struct pending_ref *ref = data;
    if (ref->p)
        ref->p->req = NULL;
}

static bool is_method(h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static char *copy_iovec(h2o_iovec_t v)
{
    char *s = malloc(v.len + 1);
    if (s) {
        memcpy(s, v.base, v.len);
        s[v.len] = '\0';
    }
    return s;
}


/* Descriptions carry CPU seconds and shares: 9 significant digits (nanoseconds up to a
 * second) instead of jansson's 17, which printed 0.00069668599999999996. */
#define DESCRIPTION_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))
/* Replies and logs in one go (requests answered without a call). */
static int answer(h2o_req_t *req, uint64_t start_ns, uint64_t context_id, int status,
                  const char *json)
{
    reply_json(req, status, json, strlen(json));
    char *method = copy_iovec(req->method), *path = copy_iovec(req->path);
    server_log_request(method, path, status, start_ns, context_id);
    free(method);
    free(path);
    return 0;
}

static int answer_error(h2o_req_t *req, uint64_t start_ns, uint64_t context_id, int status,
                        const char *code, const char *message)
{
    reply_error(req, status, code, message);
    char *method = copy_iovec(req->method), *path = copy_iovec(req->path);
    server_log_request(method, path, status, start_ns, context_id);
    free(method);
    free(path);
    return 0;
}

static pending *pending_new(server *srv, h2o_req_t *req, pending_kind kind, uint64_t context_id,
                            uint64_t start_ns)
{
    /* one block: the struct, then the method and path for the log line (NUL-terminated by
     * calloc), one allocation per call where there were three */
    pending *p = calloc(1, sizeof(*p) + req->method.len + 1 + req->path.len + 1);
    if (!p)
        return NULL;
    p->srv = srv;
    p->kind = kind;
    p->req = req;
    p->context_id = context_id;
    p->start_ns = start_ns;
    p->method = (char *)(p + 1);
    memcpy(p->method, req->method.base, req->method.len);
    p->path = p->method + req->method.len + 1;
    memcpy(p->path, req->path.base, req->path.len);
    p->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*p->ref), on_req_disposed);
    p->ref->p = p;
    return p;
}

static void pending_free(pending *p)
{
    served_context_free(p->created);
    jsp_result_free(p->result);
    free(p); /* method and path with it */
}

/* Status and body of a successful call: {"result": <json>}, put together with memcpy (its
 * snprintf was ~1% of the loop thread serving the bank, bench/server/run.sh). */
static void reply_result(h2o_req_t *req, int status, const jsp_result *r)
{
    static const char head[] = "{\"result\":";
    size_t head_len = sizeof(head) - 1, len = head_len + r->json_len + 1;
    char *body = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(body, head, head_len);
    memcpy(body + head_len, r->json, r->json_len);
    body[len - 1] = '}';
    reply_json(req, status, body, len);
}

/* {"seconds", "recent_share", "throttled_seconds", "throttles", "throttled"} */
static json_t *cpu_json(const jsp_cpu_usage *cpu)
{
    return json_pack("{s:f, s:f, s:f, s:I, s:b}", "seconds", cpu->cpu_seconds, "recent_share",
                     cpu->recent_share, "throttled_seconds", cpu->throttled_seconds, "throttles",
                     (json_int_t)cpu->throttle_count, "throttled", cpu->is_throttled);
}

static char *context_json(const served_context *sc)
{
    jsp_memory_usage memory = {0};
    jsp_context_memory(sc->ctx, &memory);
    json_t *o = json_pack("{s:I, s:s?, s:s, s:{s:I, s:I, s:I}, s:{s:I, s:b}, s:I, s:I, s:i, s:s, s:I}",
                          "id", (json_int_t)sc->id, "name", sc->name, "kind",
                          sc->is_module ? "module" : "script", "limits", "cpu_ms",
                          (json_int_t)sc->cpu_limit_ms, "wall_ms", (json_int_t)sc->wall_limit_ms,
                          "memory_bytes", (json_int_t)sc->memory_limit_bytes, "memory", "heap_bytes",
                          (json_int_t)memory.heap_bytes, "shared", memory.is_shared, "calls",
                          (json_int_t)sc->calls, "errors", (json_int_t)sc->errors, "in_flight",
                          sc->in_flight, "state", "alive", "generation",
                          (json_int_t)jsp_context_generation(sc->ctx));
    const char *ns = jsp_context_namespace(sc->ctx);
    if (o)
        json_object_set_new(o, "namespace", ns ? json_string(ns) : json_null());
    /* the file inside the data directory only: the server's paths are not the tenant's */
    if (o)
        json_object_set_new(o, "store", sc->store_file ? json_pack("{s:s}", "file", sc->store_file)
                                                       : json_null());
    jsp_cpu_usage cpu = {0};
    jsp_context_cpu(sc->ctx, &cpu);
    if (o)
        json_object_set_new(o, "cpu", cpu_json(&cpu));
    char *text = o ? json_dumps(o, DESCRIPTION_DUMP_FLAGS) : NULL;
    json_decref(o);
    return text;
}

/* The tables and dom routes: the library's JSON as is. A key that is not JSON or not of
 * the primary key's type (JSP_EJSON, JSP_EJS TypeError), or a malformed selector (JSP_EJS
 * SyntaxError), is the client's mistake: 400. */
static void finish_read(pending *p)
{
    const jsp_result *r = p->result;
    bool is_bad_key = r->code == JSP_EJS || r->code == JSP_EJSON;
    int status = r->code == 0 ? 200 : is_bad_key ? 400 : status_for_code(r->code);
    if (p->req) {
        h2o_req_t *req = p->req;
        p->ref->p = NULL;
        if (r->code == 0)
            reply_json(req, 200, r->json, r->json_len);
        else if (is_bad_key)
            reply_error(req, 400, "invalid_argument", r->error_message);
        else
            reply_call_error(req, r);
    }
    server_log_request(p->method, p->path, p->req ? status : 499, p->start_ns, p->context_id);
    pending_free(p);
}

/* A setup "source" is a classic script: one that stopped at `export` or `import` was a
 * module sent under the wrong key, so the message says which key to use. */
static void hint_module_syntax(jsp_result *r)
{
    static const char hint[] = " (\"source\" runs as a classic script; send an ES module as \"module\")";
    const char *m = r->error_message;
    if (!m || (!strstr(m, "keyword 'export'") && !strstr(m, "keyword 'import'") &&
               !strstr(m, "import call expects")))
        return;
    char *longer = malloc(strlen(m) + sizeof hint);
    if (!longer)
        return;
    strcpy(longer, m);
    strcat(longer, hint);
    free(r->error_message);
    r->error_message = longer;
}

void api_finish(server *srv, pending *p)
{
    jsp_result *r = p->result;
    if (!r) { /* PENDING_CREATE: jsp_context_new refused (create_on_worker) */
        int rc = p->create_rc;
        if (p->req) {
            p->ref->p = NULL;
            reply_error(p->req, status_for_code(rc), jsp_error_id(rc), jsp_strerror(rc));
        }
        server_log_request(p->method, p->path, p->req ? status_for_code(rc) : 499, p->start_ns, 0);
        pending_free(p);
        return;
    }
    /* A setup script runs for its effects: its completion value is not returned, so one
     * that JSON cannot hold (a function, a symbol, a cycle) does not fail the creation. */
    int code = p->kind == PENDING_CREATE && r->code == JSP_ENOTJSON ? 0 : r->code;
    served_context *sc = p->kind == PENDING_CREATE ? p->created : registry_find(&srv->contexts, p->context_id);
    if (p->kind == PENDING_CREATE && code == JSP_ESYNTAX && sc && !sc->is_module)
        hint_module_syntax(r);
    if (p->kind == PENDING_READ) { /* a read of the store, not a call: not counted in calls */
        if (sc)
            sc->in_flight--;
        finish_read(p);
        return;
    }
    if (sc && p->kind != PENDING_CREATE) {
        sc->in_flight--;
        sc->calls++;
        sc->errors += code != 0;
    }
    int status = code == 0 ? 200 : status_for_code(code);
    if (p->kind == PENDING_CREATE && code == 0) {
        status = 201;
        if (!registry_add(&srv->contexts, p->created))
            status = 500;
        else
            p->created = NULL; /* the registry owns it now */
    }
    if (p->req) {
        h2o_req_t *req = p->req;
        p->ref->p = NULL; /* the request's pool may go as soon as it is answered */
        if (code != 0)
            reply_call_error(req, r);
        else if (status == 201) {
            char *text = context_json(registry_find(&srv->contexts, p->context_id));
            reply_json(req, 201, text ? text : "{}", text ? strlen(text) : 2);
            free(text);
        } else if (status == 500)
            reply_error(req, 500, "out_of_memory", "cannot register the context");
        else
            reply_result(req, 200, r);
    }
    server_log_request(p->method, p->path, p->req ? status : 499, p->start_ns, p->context_id);
    pending_free(p);
}

/* ---- route handlers ------------------------------------------------------------------ */

/* Creating a context waits for its runtime to build it, and that runtime may be running a
 * tenant's JS for up to its CPU limit: on the loop thread, that wait froze every request
 * of every client (an attacker's review: /healthz unanswered for 20 s). So the creation
 * and the queueing of its setup run on libuv's thread pool; the answer comes back through
 * the done queue like every call's. */
typedef struct create_work {
    uv_work_t work;
    jsp_pool *pool;
    pending *p;
    jsp_context_config cfg;
    json_t *body;
    char *store_path;  /* cfg.store_path, freed with the work */
    const char *code;
    bool is_module;
} create_work;

/* A store is found again by its context's name, and a context of that name may just have
 * been deleted: the name is free as soon as DELETE returns, but the runtime closes the
 * store file a moment later (its destroy job runs once the JS running there has ended,
 * within a watchdog tick), and until then the file is locked (JSP_ESTORE; seen under ASan
 * on DELETE then POST of the same name). So a refused open is tried again, backing off
 * from 10 ms, for about STORE_REOPEN_MS in all — here, on libuv's thread pool, never on
 * the loop. A file held for good (another process) or broken fails after that wait. */
enum { STORE_REOPEN_MS = 2000 };

static int context_new_waiting_for_store(create_work *cw, jsp_context **ctx)
{
    int rc = jsp_context_new(cw->pool, &cw->cfg, ctx);
    for (long waited = 0, step = 10; rc == JSP_ESTORE && cw->cfg.store_path && waited < STORE_REOPEN_MS;
         waited += step, step *= 2) {
        long ms = step < STORE_REOPEN_MS - waited ? step : STORE_REOPEN_MS - waited;
        nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
        rc = jsp_context_new(cw->pool, &cw->cfg, ctx);
    }
    return rc;
}

static void create_on_worker(uv_work_t *work)
{
    create_work *cw = work->data;
    pending *p = cw->p;
    served_context *sc = p->created;
    int rc = context_new_waiting_for_store(cw, &sc->ctx);
    if (rc == 0) {
        sc->id = p->context_id = jsp_context_id(sc->ctx);
        rc = cw->is_module ? jsp_load_module_async(sc->ctx, cw->code, -1, server_call_done, p)
                           : jsp_eval_async(sc->ctx, cw->code, -1, server_call_done, p);
        if (rc == 0)
            return; /* server_call_done hands p back to the loop */
    }
    p->create_rc = rc;
    server_call_done(NULL, p);
}

static void create_work_free(uv_work_t *work, int status)
{
    create_work *cw = work->data;
    json_decref(cw->body);
    free(cw->store_path);
    free(cw);
}

/* POST /v1/contexts {"name", "module" | "source", "limits": {"cpu_ms","wall_ms","memory_bytes"},
 *                    "apis", "namespace", "store"} (shapes and clamping: request_body.c) */
static int create_context(server *srv, h2o_req_t *req, uint64_t start_ns)
{
    request_body parsed;
    int rc = request_body_parse_create(req->entity.base, req->entity.len, &srv->limit_maxima, &parsed);
    if (rc != 0)
        return answer_error(req, start_ns, 0, rc, parsed.error_id, parsed.message);
    json_t *body = parsed.json; /* owns the strings; released with json_decref below */
    const char *name = parsed.name, *module = parsed.module, *source = parsed.source,
               *apis = parsed.apis, *ns = parsed.ns;
    json_int_t cpu_ms = parsed.cpu_ms, wall_ms = parsed.wall_ms, memory_bytes = parsed.memory_bytes;
    /* refusals before anything is allocated: one exit */
    char why[256] = "";
    int status = 400;
    const char *error_id = "invalid_argument";
    char resolved[256]; /* the groups on success, or why not */
    if (jsp_apis_resolve(apis, resolved, sizeof(resolved)) != 0) {
        snprintf(why, sizeof(why), "%s", resolved); /* the unknown group and the valid ones */
    } else if (name) { /* (request_body refuses \u0000, so name is the whole JSON string) */
        jsp_context_name_check(name, why, sizeof(why)); /* the rules are the library's */
        if (!*why && registry_find_name(&srv->contexts, name)) {
            status = 409;
            error_id = "already_exists";
            snprintf(why, sizeof(why), "a context with that name exists");
        }
    }
    if (*why) {
        json_decref(body);
        return answer_error(req, start_ns, 0, status, error_id, why);
    }
    cpu_ms = cpu_ms ? cpu_ms : srv->cpu_limit_ms;
    wall_ms = wall_ms ? wall_ms : srv->wall_limit_ms;
    memory_bytes = memory_bytes ? memory_bytes
                   : (json_int_t)(module ? srv->module_memory_limit_bytes : srv->memory_limit_bytes);
    /* "store": DATA_DIR/contexts/NAME.jspdb — the name passed jsp_context_name_check above
     * (no '/', not "." or ".."), and nothing else the client sends reaches the path. */
    char *store_file = parsed.store ? data_dir_store_file(DATA_DIR_API_SUBDIR, name) : NULL;
    char *store_path = store_file ? data_dir_join(&srv->data, store_file) : NULL;
    jsp_context_config cfg = {.name = name, .cpu_limit_ms = (long)cpu_ms,
                              .wall_limit_ms = (long)wall_ms,
                              .memory_limit_bytes = (uint64_t)memory_bytes, .apis = apis,
                              .namespace_name = ns, .store_path = store_path,
                              .store_durability = srv->store_durability,
                              .store_max_rows_per_call = srv->store_max_rows,
                              .store_max_bytes_per_call = srv->store_max_bytes,
                              .store_max_file_bytes = srv->store_max_file_bytes,
                              .storage_quota = parsed.storage_quota ? (uint64_t)parsed.storage_quota
                                                                    : srv->storage_quota,
                              .egress_allow = parsed.egress.allow,
                              .egress_allow_loopback = parsed.egress.allow_loopback,
                              .egress_allow_private = parsed.egress.allow_private,
                              .egress_max_requests = parsed.egress.max_requests,
                              .egress_max_response_bytes = parsed.egress.max_response_bytes,
                              .egress_timeout_ms = parsed.egress.timeout_ms,
                              .egress_ca_file = parsed.egress.ca_file};
    served_context *sc = calloc(1, sizeof(*sc));
    create_work *cw = calloc(1, sizeof(*cw));
    pending *p = sc && cw && (!parsed.store || store_path)
                     ? pending_new(srv, req, PENDING_CREATE, 0, start_ns) : NULL;
    if (!p) {
        free(sc);
        free(cw);
        free(store_file);
        free(store_path);
        json_decref(body);
        return answer_error(req, start_ns, 0, 500, "out_of_memory", "out of memory");
    }
    sc->store_file = store_file;
    sc->name = name ? strdup(name) : NULL;
    sc->is_module = module != NULL;
    sc->cpu_limit_ms = cpu_ms ? (long)cpu_ms : JSP_DEFAULT_CPU_LIMIT_MS;
    sc->wall_limit_ms = wall_ms ? (long)wall_ms : JSP_DEFAULT_WALL_LIMIT_MS; /* -1 = none */
    sc->memory_limit_bytes = (uint64_t)memory_bytes;
    p->created = sc;
    cw->pool = srv->pool;
    cw->p = p;
    cw->cfg = cfg;
    cw->body = body; /* owns every string of cfg and code until the work is done */
    cw->store_path = store_path;
    cw->code = module ? module : source ? source : "undefined";
    cw->is_module = module != NULL;
    cw->work.data = cw;
    srv->in_flight++; /* the drain waits for it like for a call */
    uv_queue_work(&srv->loop, &cw->work, create_on_worker, create_work_free);
    return 0;
}

/* GET /v1/contexts?offset=N&limit=M[&sort=cpu] (limit at most 1000, default 100): the
 * contexts this server created, by id or with sort=cpu by CPU seconds (most first: the
 * "top contexts by CPU" view), each with its CPU seconds; and "workers": every live
 * worker context (made by JS, not by this server) with its parent and CPU. */
typedef struct by_cpu {
    double cpu_seconds;
    const served_context *sc;
} by_cpu;

static int compare_cpu_descending(const void *a, const void *b)
{
    double x = ((const by_cpu *)a)->cpu_seconds, y = ((const by_cpu *)b)->cpu_seconds;
    return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *workers_json(server *srv)
{
    enum { MAX_LISTED = 1000 };
    json_t *list = json_array();
    jsp_worker_info *info = malloc(MAX_LISTED * sizeof(*info));
    size_t n = info ? jsp_pool_workers(srv->pool, info, MAX_LISTED) : 0;
    for (size_t i = 0; i < n && i < MAX_LISTED; i++)
        json_array_append_new(list, json_pack("{s:I, s:I, s:o}", "id", (json_int_t)info[i].id, "parent",
                                              (json_int_t)info[i].parent_id, "cpu", cpu_json(&info[i].cpu)));
    free(info);
    return list;
}

static int list_contexts(server *srv, h2o_req_t *req, uint64_t start_ns)
{
    size_t offset = 0, limit = 100;
    bool is_by_cpu = false;
    if (req->query_at != SIZE_MAX) {
        char *query = copy_iovec(h2o_iovec_init(req->path.base + req->query_at + 1,
                                                req->path.len - req->query_at - 1));
        for (char *save = NULL, *part = query ? strtok_r(query, "&", &save) : NULL; part;
             part = strtok_r(NULL, "&", &save)) {
            if (strncmp(part, "offset=", 7) == 0)
                offset = strtoul(part + 7, NULL, 10);
            else if (strncmp(part, "limit=", 6) == 0)
                limit = strtoul(part + 6, NULL, 10);
            else if (strcmp(part, "sort=cpu") == 0)
                is_by_cpu = true;
        }
        free(query);
    }
    limit = limit == 0 || limit > 1000 ? 1000 : limit;
    size_t count = srv->contexts.count;
    by_cpu *order = malloc((count ? count : 1) * sizeof(*order));
    if (!order)
        return answer_error(req, start_ns, 0, 500, "out_of_memory", "out of memory");
    for (size_t i = 0; i < count; i++) {
        jsp_cpu_usage cpu = {0};
        jsp_context_cpu(srv->contexts.items[i]->ctx, &cpu);
        order[i] = (by_cpu){.cpu_seconds = cpu.cpu_seconds, .sc = srv->contexts.items[i]};
    }
    if (is_by_cpu)
        qsort(order, count, sizeof(*order), compare_cpu_descending);
    json_t *list = json_array();
    for (size_t i = offset; i < count && i < offset + limit; i++) {
        const served_context *sc = order[i].sc;
        json_array_append_new(list, json_pack("{s:I, s:s?, s:s, s:f}", "id", (json_int_t)sc->id, "name",
                                              sc->name, "kind", sc->is_module ? "module" : "script",
                                              "cpu_seconds", order[i].cpu_seconds));
    }
    free(order);
    json_t *page = json_pack("{s:o, s:I, s:o, s:o}", "contexts", list, "total", (json_int_t)count, "next",
                             offset + limit < count ? json_integer((json_int_t)(offset + limit)) : json_null(),
                             "workers", workers_json(srv));
    char *text = page ? json_dumps(page, DESCRIPTION_DUMP_FLAGS) : NULL;
    json_decref(page);
    if (!text)
        return answer_error(req, start_ns, 0, 500, "out_of_memory", "out of memory");
    answer(req, start_ns, 0, 200, text);
    free(text);
    return 0;
}

/* After submitting p: counts it in flight, or on a refused submit (rc != 0) answers the
 * error and drops p. */
static int submitted(server *srv, h2o_req_t *req, served_context *sc, pending *p, int rc,
                     uint64_t start_ns)
{
    if (rc != 0) {
        if (p) {
            p->ref->p = NULL;
            pending_free(p);
        }
        return answer_error(req, start_ns, sc->id, status_for_code(rc), jsp_error_id(rc), jsp_strerror(rc));
    }
    sc->in_flight++;
    srv->in_flight++;
    return 0;
}

static int eval_in(server *srv, h2o_req_t *req, served_context *sc, uint64_t start_ns)
{
    request_body parsed;
    int rc = request_body_parse_eval(req->entity.base, req->entity.len, &parsed);
    if (rc != 0)
        return answer_error(req, start_ns, sc->id, rc, parsed.error_id, parsed.message);
    json_t *body = parsed.json;
    const char *source = parsed.source;
    pending *p = pending_new(srv, req, PENDING_EVAL, sc->id, start_ns);
    rc = p ? jsp_eval_async(sc->ctx, source, -1, server_call_done, p) : JSP_ENOMEM;
    json_decref(body);
    return submitted(srv, req, sc, p, rc, start_ns);
}

static int call_in(server *srv, h2o_req_t *req, served_context *sc, const char *function,
                   uint64_t start_ns)
{
    const char *args = req->entity.base ? req->entity.base : "[]";
    long len = req->entity.base ? (long)req->entity.len : 2;
    pending *p = pending_new(srv, req, PENDING_CALL, sc->id, start_ns);
    int rc = p ? jsp_call_async(sc->ctx, function, args, len, server_call_done, p) : JSP_ENOMEM;
    return submitted(srv, req, sc, p, rc, start_ns);
}

static int send_message(h2o_req_t *req, served_context *sc, uint64_t start_ns)
{
    if (!req->entity.base)
        return answer_error(req, start_ns, sc->id, 400, "invalid_json", "request body is missing");
    int rc = jsp_send(sc->ctx, req->entity.base, (long)req->entity.len);
    if (rc != 0)
        return answer_error(req, start_ns, sc->id, status_for_code(rc), jsp_error_id(rc), jsp_strerror(rc));
    return answer(req, start_ns, sc->id, 202, "{\"queued\":true}");
}

/* %XX escapes of a query value decoded in place ('+' stays '+': keys are JSON, where a
 * space is rare and '+' in a form encoding would be ambiguous); false on a bad escape or
 * an escaped NUL. */
static bool percent_decode(char *s)
{
    char *out = s;
    for (const char *in = s; *in; in++) {
        if (*in != '%') {
            *out++ = *in;
            continue;
        }
        unsigned char byte = 0;
        if (!in[1] || !in[2] || h2o_hex_decode(&byte, in + 1, 2) != 0 || byte == 0)
            return false;
        *out++ = (char)byte;
        in += 2;
    }
    *out = '\0';
    return true;
}

/* GET /v1/contexts/{id}/tables[/{table}?after=KEY&limit=N]: the store read from outside,
 * read-only and paged (jsp_store_tables / jsp_store_rows); KEY is the JSON text of a
 * primary key, percent-encoded; N 1..1000, default 100. */
static int read_tables(server *srv, h2o_req_t *req, served_context *sc, const char *table,
                       uint64_t start_ns)
{
    char *query = req->query_at != SIZE_MAX
                      ? copy_iovec(h2o_iovec_init(req->path.base + req->query_at + 1,
                                                  req->path.len - req->query_at - 1))
                      : NULL;
    const char *after = NULL, *problem = NULL;
    long limit = 100;
    for (char *save = NULL, *part = query ? strtok_r(query, "&", &save) : NULL; part && !problem;
         part = strtok_r(NULL, "&", &save)) {
        if (strncmp(part, "after=", 6) == 0) {
            after = part + 6;
            if (!percent_decode(part + 6))
                problem = "after: a bad %-escape (give the key's JSON text, percent-encoded)";
        } else if (strncmp(part, "limit=", 6) == 0) {
            char *end = NULL;
            limit = strtol(part + 6, &end, 10);
            if (end == part + 6 || *end || limit < 1 || limit > 1000)
                problem = "limit: an integer from 1 to 1000";
        }
    }
    if (problem || (after && !table)) {
        free(query);
        return answer_error(req, start_ns, sc->id, 400, "invalid_argument",
                            problem ? problem : "after and limit page the rows of one table");
    }
    pending *p = pending_new(srv, req, PENDING_READ, sc->id, start_ns);
    int rc = !p ? JSP_ENOMEM
             : table ? jsp_store_rows_async(sc->ctx, table, after, limit, server_call_done, p)
                     : jsp_store_tables_async(sc->ctx, server_call_done, p);
    free(query); /* the library copied after */
    return submitted(srv, req, sc, p, rc, start_ns);
}

/* GET /v1/contexts/{id}/dom?selector=S[&as=find|all|text|html][&limit=N]: the context's
 * document queried from outside (jsp_dom_query_async) — S percent-encoded (a '+' stays
 * the CSS combinator, not a space); as defaults to find; limit (all only) 1..10000,
 * default 100. A malformed selector is the client's mistake: 400. */
static int read_dom(server *srv, h2o_req_t *req, served_context *sc, uint64_t start_ns)
{
    char *query = req->query_at != SIZE_MAX
                      ? copy_iovec(h2o_iovec_init(req->path.base + req->query_at + 1,
                                                  req->path.len - req->query_at - 1))
                      : NULL;
    const char *selector = NULL, *problem = NULL;
    jsp_dom_answer what = JSP_DOM_FIND;
    long limit = 0;
    static const char *const answers[] = {"find", "all", "text", "html"};
    for (char *save = NULL, *part = query ? strtok_r(query, "&", &save) : NULL; part && !problem;
         part = strtok_r(NULL, "&", &save)) {
        if (strncmp(part, "selector=", 9) == 0) {
            selector = part + 9;
            if (!percent_decode(part + 9))
                problem = "selector: a bad %-escape";
        } else if (strncmp(part, "as=", 3) == 0) {
            int found = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(part + 3, answers[i]) == 0)
                    found = i;
            if (found < 0)
                problem = "as: one of find, all, text, html";
            what = (jsp_dom_answer)(found < 0 ? 0 : found);
        } else if (strncmp(part, "limit=", 6) == 0) {
            char *end = NULL;
            limit = strtol(part + 6, &end, 10);
            if (end == part + 6 || *end || limit < 1 || limit > JSP_DOM_MAX_FIND_ALL)
                problem = "limit: an integer from 1 to 10000";
        }
    }
    if (!problem && (!selector || !*selector))
        problem = "selector: a CSS selector is required (?selector=...)";
    if (problem) {
        free(query);
        return answer_error(req, start_ns, sc->id, 400, "invalid_argument", problem);
    }
    pending *p = pending_new(srv, req, PENDING_READ, sc->id, start_ns);
    int rc = p ? jsp_dom_query_async(sc->ctx, selector, what, limit, server_call_done, p) : JSP_ENOMEM;
    free(query); /* the library copied the selector */
    return submitted(srv, req, sc, p, rc, start_ns);
}

/* {id} may be a context id or its name. */
static served_context *find_context(server *srv, const char *key)
{
    /* An id is digits only: strtoull alone also takes "-1" or " 1" (wrapped around), which
     * let a context named "-18446744073709551615" stand for context 1. Names are never all
     * digits (jsp_context_name_check), so the two cannot meet. */
    if (*key && key[strspn(key, "0123456789")] == '\0')
        return registry_find(&srv->contexts, strtoull(key, NULL, 10));
    return registry_find_name(&srv->contexts, key);
}

static bool is_safe_segment(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* /v1/contexts/{id}[/eval | /call/{fn} | /messages | /reset | /ws | /tables[/{table}] | /dom] */
static int context_route(server *srv, h2o_req_t *req, char *rest, uint64_t start_ns)
{
    char *save = NULL;
    char *key = strtok_r(rest, "/", &save);
    char *action = key ? strtok_r(NULL, "/", &save) : NULL;
    char *function = action ? strtok_r(NULL, "/", &save) : NULL;
    char *extra = function ? strtok_r(NULL, "/", &save) : NULL;
    if (!key || extra || !is_safe_segment(key))
        return answer_error(req, start_ns, 0, 404, "not_found", "no such route");
    served_context *sc = find_context(srv, key);
    if (!sc)
        return answer_error(req, start_ns, 0, 404, "not_found", "no such context");
    if (!action) {
        if (is_method(req, "GET")) {
            char *text = context_json(sc);
            answer(req, start_ns, sc->id, text ? 200 : 500, text ? text : "{}");
            free(text);
            return 0;
        }
        if (is_method(req, "DELETE")) {
            uint64_t id = sc->id;
            ws_close_context(srv, id);
            served_context_free(registry_remove(&srv->contexts, id));
            return answer(req, start_ns, id, 204, "");
        }
        return answer_error(req, start_ns, sc->id, 405, "method_not_allowed", "use GET or DELETE");
    }
    if (strcmp(action, "ws") == 0 && !function && is_method(req, "GET")) {
        ws_accept(srv, req, sc, start_ns);
        return 0;
    }
    if (strcmp(action, "tables") == 0) {
        if (!is_method(req, "GET"))
            return answer_error(req, start_ns, sc->id, 405, "method_not_allowed", "use GET");
        if (function && !is_safe_segment(function))
            return answer_error(req, start_ns, sc->id, 404, "not_found", "no such route");
        return read_tables(srv, req, sc, function, start_ns);
    }
    if (strcmp(action, "dom") == 0 && !function) {
        if (!is_method(req, "GET"))
            return answer_error(req, start_ns, sc->id, 405, "method_not_allowed", "use GET");
        return read_dom(srv, req, sc, start_ns);
    }
    if (!is_method(req, "POST"))
        return answer_error(req, start_ns, sc->id, 405, "method_not_allowed", "use POST");
    if (strcmp(action, "eval") == 0 && !function)
        return eval_in(srv, req, sc, start_ns);
    if (strcmp(action, "messages") == 0 && !function)
        return send_message(req, sc, start_ns);
    if (strcmp(action, "reset") == 0 && !function) { /* the way out of 413 (JSP_EOOM) */
        pending *p = pending_new(srv, req, PENDING_EVAL, sc->id, start_ns);
        int rc = p ? jsp_globals_reset_async(sc->ctx, server_call_done, p) : JSP_ENOMEM;
        return submitted(srv, req, sc, p, rc, start_ns);
    }
    if (strcmp(action, "call") == 0 && function && is_safe_segment(function))
        return call_in(srv, req, sc, function, start_ns);
    return answer_error(req, start_ns, sc->id, 404, "not_found", "no such route");
}

/* Every route starts here: a request whose framing is in doubt gets one 400 and its
 * connection is closed (what follows is not trusted). True when it was answered. */
static bool refused_framing(h2o_req_t *req, uint64_t start_ns, int *rc)
{
    const char *framing = guard_framing_problem(req);
    if (!framing)
        return false;
    req->http1_is_persistent = 0;
    *rc = answer_error(req, start_ns, 0, 400, "invalid_request", framing);
    return true;
}

static bool is_exactly(h2o_req_t *req, const char *path)
{
    return h2o_memis(req->path_normalized.base, req->path_normalized.len, path, strlen(path));
}

/* Everything but /healthz is behind the token: every /v1 route reads or writes a context's
 * data (names, limits and usage included), and /metrics is kept closed so that
 * per-context series added there later stay protected. */
static bool refused_token(server *srv, h2o_req_t *req, uint64_t start_ns, int *rc)
{
    if (guard_is_authorized(srv, req))
        return false;
    *rc = answer_error(req, start_ns, 0, 401, "unauthorized", "a valid bearer token is required");
    return true;
}

static int on_other(h2o_handler_t *self, h2o_req_t *req)
{
    uint64_t start_ns = server_now_ns();
    int rc;
    if (refused_framing(req, start_ns, &rc) || refused_token(api_server(self), req, start_ns, &rc))
        return rc;
    return answer_error(req, start_ns, 0, 404, "not_found", "no such route");
}

static int on_healthz(h2o_handler_t *self, h2o_req_t *req)
{
    server *srv = api_server(self);
    uint64_t start_ns = server_now_ns();
    int rc;
    if (!is_exactly(req, "/healthz"))
        return on_other(self, req);
    if (refused_framing(req, start_ns, &rc))
        return rc;
    return srv->is_draining ? answer(req, start_ns, 0, 503, "{\"status\":\"draining\"}")
                            : answer(req, start_ns, 0, 200, "{\"status\":\"ok\"}");
}

static int on_metrics(h2o_handler_t *self, h2o_req_t *req)
{
    server *srv = api_server(self);
    uint64_t start_ns = server_now_ns();
    int rc;
    if (!is_exactly(req, "/metrics"))
        return on_other(self, req);
    if (refused_framing(req, start_ns, &rc) || refused_token(srv, req, start_ns, &rc))
        return rc;
    char *text = jsp_pool_metrics(srv->pool);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4"));
    h2o_send_inline(req, text ? text : "", text ? strlen(text) : 0);
    jsp_free(text);
    server_log_request("GET", "/metrics", 200, start_ns, 0);
    return 0;
}

static int on_v1(h2o_handler_t *self, h2o_req_t *req)
{
    server *srv = api_server(self);
    uint64_t start_ns = server_now_ns();
    h2o_iovec_t path = req->path_normalized;
    int rc;
    if (refused_framing(req, start_ns, &rc) || refused_token(srv, req, start_ns, &rc))
        return rc;
    if (srv->is_draining)
        return answer_error(req, start_ns, 0, 503, "draining", "the server is shutting down");
    static const char prefix[] = "/v1/contexts";
    size_t prefix_len = sizeof(prefix) - 1;
    if (path.len < prefix_len || memcmp(path.base, prefix, prefix_len) != 0 ||
        (path.len > prefix_len && path.base[prefix_len] != '/'))
        return answer_error(req, start_ns, 0, 404, "not_found", "no such route");
    if (path.len <= prefix_len + 1) {
        if (is_method(req, "GET"))
            return list_contexts(srv, req, start_ns);
        if (is_method(req, "POST"))
            return create_context(srv, req, start_ns);
        return answer_error(req, start_ns, 0, 405, "method_not_allowed", "use GET or POST");
    }
    char short_rest[256]; /* most routes: no allocation */
    h2o_iovec_t tail = h2o_iovec_init(path.base + prefix_len + 1, path.len - prefix_len - 1);
    char *rest = tail.len < sizeof(short_rest) ? short_rest : copy_iovec(tail);
    if (!rest)
        return answer_error(req, start_ns, 0, 500, "out_of_memory", "out of memory");
    if (rest == short_rest) {
        memcpy(short_rest, tail.base, tail.len);
        short_rest[tail.len] = '\0';
    }
    rc = context_route(srv, req, rest, start_ns);
    if (rest != short_rest)
        free(rest);
    return rc;
}
