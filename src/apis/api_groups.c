/* api_groups.c — see api_groups.h. */
#include "apis/api_groups.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

extern const char api_source_console[];
extern const char api_source_domexception[];
extern const char api_source_events[];
extern const char api_source_encoding[];
extern const char api_source_structured_clone[];
extern const char api_source_buffer[];
extern const char api_source_channel[];
extern const char api_source_worker[];
extern const char api_source_crypto[];
extern const char api_source_locks[];
extern const char api_source_streams[];
extern const char api_source_compression[];
extern const char api_source_url[];
extern const char api_source_performance[];
extern const char api_source_navigator[];
extern const char api_source_storage[];
extern const char api_source_fetch[];
extern const char api_source_dom[];
extern const char api_source_websocket[];
extern const char api_source_eventsource[];
extern const char api_source_store[];

static const char *const console_globals[] = {"console", NULL};
static const char *const timers_globals[] = {"setTimeout", "setInterval", "clearTimeout",
                                             "clearInterval", "queueMicrotask", NULL};
static const char *const domexception_globals[] = {"DOMException", NULL};
static const char *const encoding_globals[] = {"TextEncoder", "TextDecoder", "atob", "btoa", NULL};
static const char *const structured_clone_globals[] = {"structuredClone", NULL};
static const char *const buffer_globals[] = {"Blob", "File", "Buffer", NULL};
static const char *const channel_globals[] = {"MessageChannel", "MessagePort", "BroadcastChannel",
                                              "MessageEvent", NULL};
static const char *const worker_globals[] = {"Worker", "ErrorEvent", NULL};
static const char *const crypto_globals[] = {"crypto", "Crypto", "SubtleCrypto", "CryptoKey", NULL};
static const char *const locks_globals[] = {"LockManager", "Lock", NULL};
static const char *const streams_globals[] = {
    "ReadableStream", "ReadableStreamDefaultReader", "ReadableStreamDefaultController", "WritableStream",
    "WritableStreamDefaultWriter", "WritableStreamDefaultController", "TransformStream",
    "TransformStreamDefaultController", "ByteLengthQueuingStrategy", "CountQueuingStrategy",
    "TextEncoderStream", "TextDecoderStream", NULL};
static const char *const compression_globals[] = {"CompressionStream", "DecompressionStream", NULL};
static const char *const url_globals[] = {"URL", "URLSearchParams", NULL};
static const char *const performance_globals[] = {"performance", "Performance", "PerformanceEntry",
                                                  "PerformanceMark", "PerformanceMeasure", NULL};
static const char *const navigator_globals[] = {"navigator", "Navigator", NULL};
static const char *const storage_globals[] = {"localStorage", "sessionStorage", "Storage", NULL};
static const char *const fetch_globals[] = {"fetch", "Headers", "Request", "Response", "FormData", NULL};
static const char *const dom_globals[] = {"document", "DOMParser", "Node", "Element", "HTMLElement", "Text",
                                         "Comment", "Document", "DocumentFragment", "DocumentType",
                                         "CharacterData", "Attr", "NodeList", "HTMLCollection",
                                         "DOMTokenList", "XMLSerializer", NULL};
static const char *const websocket_globals[] = {"WebSocket", "CloseEvent", NULL};
static const char *const eventsource_globals[] = {"EventSource", NULL};
static const char *const store_globals[] = {"db", NULL};
static const char *const events_globals[] = {"Event", "EventTarget", "CustomEvent",
                                             "AbortController", "AbortSignal", NULL};

const api_group api_groups[API_GROUP_COUNT] = {
    [API_CONSOLE] = {"console", 0, console_globals, api_source_console, false},
    [API_TIMERS] = {"timers", 0, timers_globals, NULL, false},
    [API_DOMEXCEPTION] = {"domexception", 0, domexception_globals, api_source_domexception, true},
    [API_EVENTS] = {"events", 1u << API_DOMEXCEPTION | 1u << API_TIMERS, events_globals,
                    api_source_events, false},
    [API_ENCODING] = {"encoding", 1u << API_DOMEXCEPTION, encoding_globals, api_source_encoding, false},
    [API_STRUCTURED_CLONE] = {"structured-clone", 1u << API_DOMEXCEPTION, structured_clone_globals,
                              api_source_structured_clone, false},
    [API_BUFFER] = {"buffer", 1u << API_ENCODING, buffer_globals, api_source_buffer, false},
    [API_CHANNEL] = {"channel", 1u << API_EVENTS | 1u << API_STRUCTURED_CLONE, channel_globals,
                     api_source_channel, false},
    [API_WORKER] = {"worker", 1u << API_CHANNEL, worker_globals, api_source_worker, false},
    [API_CRYPTO] = {"crypto", 1u << API_DOMEXCEPTION, crypto_globals, api_source_crypto, false},
    [API_LOCKS] = {"locks", 1u << API_EVENTS | 1u << API_DOMEXCEPTION | 1u << API_NAVIGATOR, locks_globals,
                   api_source_locks, false},
    [API_STREAMS] = {"streams", 1u << API_EVENTS | 1u << API_ENCODING, streams_globals, api_source_streams, false},
    [API_COMPRESSION] = {"compression", 1u << API_STREAMS, compression_globals, api_source_compression, false},
    [API_URL] = {"url", 0, url_globals, api_source_url, false},
    [API_PERFORMANCE] = {"performance", 0, performance_globals, api_source_performance, false},
    [API_NAVIGATOR] = {"navigator", 0, navigator_globals, api_source_navigator, false},
    [API_STORAGE] = {"storage", 1u << API_DOMEXCEPTION, storage_globals, api_source_storage, false},
    [API_FETCH] = {"fetch", 1u << API_EVENTS | 1u << API_STREAMS | 1u << API_BUFFER | 1u << API_URL,
                   fetch_globals, api_source_fetch, false},
    [API_DOM] = {"dom", 1u << API_EVENTS, dom_globals, api_source_dom, false},
    [API_WEBSOCKET] = {"websocket", 1u << API_CHANNEL | 1u << API_BUFFER | 1u << API_URL, websocket_globals,
                       api_source_websocket, false},
    [API_EVENTSOURCE] = {"eventsource", 1u << API_FETCH | 1u << API_CHANNEL, eventsource_globals,
                         api_source_eventsource, false},
    [API_STORE] = {"store", 0, store_globals, api_source_store, true},
};

static uint32_t close_over_deps(uint32_t mask)
{
    for (uint32_t previous = 0; previous != mask;) {
        previous = mask;
        for (int g = 0; g < API_GROUP_COUNT; g++)
            if (mask & 1u << g)
                mask |= api_groups[g].deps;
    }
    return mask;
}

bool api_groups_resolve(const char *spec, uint32_t *mask, char *error, size_t error_len)
{
    *mask = 0;
    if (!spec || !*spec) {
        *mask = close_over_deps(API_DEFAULT_MASK);
        return true;
    }
    const char *at = spec;
    while (*at) {
        while (*at == ',' || isspace((unsigned char)*at))
            at++;
        size_t len = 0;
        while (at[len] && at[len] != ',' && !isspace((unsigned char)at[len]))
            len++;
        if (!len)
            break;
        int found = -1;
        if (len == 3 && memcmp(at, "all", 3) == 0)
            *mask |= ((1u << API_GROUP_COUNT) - 1) & ~(1u << API_STORE); /* db comes with a store */
        else if (len == 4 && memcmp(at, "none", 4) == 0)
            found = -2;
        for (int g = 0; g < API_GROUP_COUNT && found == -1; g++)
            if (!api_groups[g].is_internal && strlen(api_groups[g].name) == len &&
                memcmp(api_groups[g].name, at, len) == 0)
                found = g;
        if (found >= 0)
            *mask |= 1u << found;
        else if (found == -1 && !(len == 3 && memcmp(at, "all", 3) == 0)) {
            int n = snprintf(error, error_len, "unknown API group '%.*s'; valid: all, none", (int)len, at);
            for (int g = 0; g < API_GROUP_COUNT && n > 0 && (size_t)n < error_len; g++)
                if (!api_groups[g].is_internal)
                    n += snprintf(error + n, error_len - (size_t)n, ", %s", api_groups[g].name);
            return false;
        }
        at += len;
    }
    *mask = close_over_deps(*mask);
    return true;
}

bool api_groups_hint_missing(const char *global, uint32_t mask, char *out, size_t out_len)
{
    int group = -1;
    for (int g = 0; g < API_GROUP_COUNT && group < 0; g++)
        for (const char *const *name = api_groups[g].globals; *name && group < 0; name++)
            if (strcmp(*name, global) == 0)
                group = g;
    if (group < 0 || mask & 1u << group)
        return false;
    if (group == API_STORE) {
        snprintf(out, out_len, " (a context has 'db' only when it has a store: `jspool run --data "
                               "DIR`, \"store\": true in POST /v1/contexts, or "
                               "jsp_context_config.store_path)");
        return true;
    }
    for (int g = 0; g < API_GROUP_COUNT && api_groups[group].is_internal; g++)
        if (!api_groups[g].is_internal && api_groups[g].deps & 1u << group)
            group = g;
    int n = snprintf(out, out_len, " (provided by the '%s' API group; this context has ",
                     api_groups[group].name);
    const char *separator = "'";
    for (int g = 0; g < API_GROUP_COUNT && n > 0 && (size_t)n < out_len; g++)
        if (!api_groups[g].is_internal && mask & 1u << g) {
            n += snprintf(out + n, out_len - (size_t)n, "%s%s", separator, api_groups[g].name);
            separator = ",";
        }
    if (n > 0 && (size_t)n < out_len)
        snprintf(out + n, out_len - (size_t)n, "%s)", *separator == ',' ? "'" : "no API group");
    return true;
}
