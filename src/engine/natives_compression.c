/* natives_compression.c — the compression group's zlib engine (see compression.js): one
 * native object per CompressionStream/DecompressionStream holding a z_stream, fed with
 * push() and drained one bounded chunk at a time with next(), so a decompression bomb
 * never yields more than CHUNK_BYTES per step. Error wording and TypeErrors are JS's job. */
#include "engine/engine_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Output chunk size: big enough that per-chunk JS overhead is noise next to zlib (about
 * 1% at 64 KiB), small enough to bound what one step of a bomb allocates. */
#define CHUNK_BYTES (64 * 1024)

enum zformat { FORMAT_GZIP, FORMAT_DEFLATE, FORMAT_DEFLATE_RAW };

typedef struct zengine {
    z_stream z;
    bool is_inflate;
    bool is_open;        /* z holds zlib state (freed at the end of the stream or on error) */
    bool is_ended;       /* the compressed stream reached its end (Z_STREAM_END) */
    unsigned char *input; /* our copy of the pushed bytes: JS may reuse its buffer meanwhile */
} zengine;

static JSClassRef zengine_class;
static pthread_once_t zengine_class_once = PTHREAD_ONCE_INIT;

static void zengine_close(zengine *e)
{
    if (e->is_open) {
        if (e->is_inflate)
            inflateEnd(&e->z);
        else
            deflateEnd(&e->z);
        e->is_open = false;
    }
    free(e->input);
    e->input = NULL;
    e->z.next_in = NULL;
    e->z.avail_in = 0;
}

static void zengine_finalize(JSObjectRef object)
{
    zengine *e = JSObjectGetPrivate(object);
    if (e) {
        zengine_close(e);
        free(e);
    }
}

static void zengine_class_create(void)
{
    JSClassDefinition def = kJSClassDefinitionEmpty;
    def.className = "ZlibEngine";
    def.finalize = zengine_finalize;
    zengine_class = JSClassCreate(&def);
}

static zengine *zengine_of(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    if (!argc || !JSValueIsObjectOfClass(js, argv[0], zengine_class))
        return NULL;
    return JSObjectGetPrivate((JSObjectRef)argv[0]);
}

static JSValueRef make_string(JSContextRef js, const char *text)
{
    JSStringRef s = JSStringCreateWithUTF8CString(text);
    JSValueRef value = JSValueMakeString(js, s);
    JSStringRelease(s);
    return value;
}

static void free_bytes(void *bytes, void *context)
{
    free(bytes);
}

/* open(format, isDecompress) -> engine, or a string saying why not. format: 0 gzip,
 * 1 deflate (zlib wrapper), 2 deflate-raw. */
static JSValueRef native_open(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    int format = argc > 0 ? (int)JSValueToNumber(js, argv[0], NULL) : -1;
    bool is_inflate = argc > 1 && JSValueToBoolean(js, argv[1]);
    int window_bits = format == FORMAT_GZIP ? 15 + 16 : format == FORMAT_DEFLATE ? 15 : -15;
    if (format < FORMAT_GZIP || format > FORMAT_DEFLATE_RAW)
        return make_string(js, "unknown format");
    zengine *e = calloc(1, sizeof(*e));
    if (!e)
        return make_string(js, "out of memory");
    e->is_inflate = is_inflate;
    int rc = is_inflate ? inflateInit2(&e->z, window_bits)
                        : deflateInit2(&e->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        free(e);
        return make_string(js, "zlib could not start (out of memory)");
    }
    e->is_open = true;
    return JSObjectMake(js, zengine_class, e);
}

/* push(engine, Uint8Array) -> undefined, or a string when the stream cannot take it (data
 * after the end of the compressed stream). The previous input must be drained first. */
static JSValueRef native_push(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    zengine *e = zengine_of(js, argc, argv);
    if (!e || argc < 2 || JSValueGetTypedArrayType(js, argv[1], NULL) != kJSTypedArrayTypeUint8Array)
        return make_string(js, "bad arguments");
    JSObjectRef array = (JSObjectRef)argv[1];
    /* the pointer is the start of the whole buffer, whatever the view's offset */
    const unsigned char *bytes = JSObjectGetTypedArrayBytesPtr(js, array, exception);
    size_t offset = JSObjectGetTypedArrayByteOffset(js, array, exception);
    size_t len = JSObjectGetTypedArrayByteLength(js, array, exception);
    if (*exception)
        return JSValueMakeUndefined(js);
    if (!len)
        return JSValueMakeUndefined(js);
    if (e->is_ended)
        return make_string(js, "data after the end of the compressed stream");
    if (!e->is_open)
        return make_string(js, "the stream is closed");
    if (len > UINT_MAX)
        return make_string(js, "chunk too large");
    free(e->input);
    e->input = malloc(len);
    if (!e->input)
        return make_string(js, "out of memory");
    memcpy(e->input, bytes + offset, len);
    e->z.next_in = e->input;
    e->z.avail_in = (uInt)len;
    return JSValueMakeUndefined(js);
}

/* next(engine, isFinal) -> Uint8Array (at most CHUNK_BYTES), null when the pushed input is
 * used up (and, when isFinal, the stream is complete), or a string naming what is wrong
 * with the data (corrupt, truncated, trailing bytes). */
static JSValueRef native_next(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    zengine *e = zengine_of(js, argc, argv);
    bool is_final = argc > 1 && JSValueToBoolean(js, argv[1]);
    if (!e)
        return make_string(js, "bad arguments");
    if (e->is_ended || !e->is_open)
        return JSValueMakeNull(js);
    unsigned char *out = malloc(CHUNK_BYTES);
    if (!out)
        return make_string(js, "out of memory");
    e->z.next_out = out;
    e->z.avail_out = CHUNK_BYTES;
    const char *problem = NULL;
    int rc;
    if (e->is_inflate) {
        /* called even without new input: a long match may still be pending from the last
         * call that filled its chunk; with nothing to do zlib says Z_BUF_ERROR, harmless */
        rc = inflate(&e->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            e->is_ended = true;
            if (e->z.avail_in)
                problem = "data after the end of the compressed stream";
        } else if (rc == Z_NEED_DICT) {
            problem = "the data needs a preset dictionary";
        } else if (rc == Z_DATA_ERROR) {
            problem = e->z.msg ? e->z.msg : "corrupt data";
        } else if (rc == Z_MEM_ERROR) {
            problem = "out of memory";
        } else if (is_final && e->z.avail_out == CHUNK_BYTES) {
            problem = "the compressed data ended early (truncated)";
        }
    } else {
        rc = deflate(&e->z, is_final ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            e->is_ended = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            problem = "zlib failed";
    }
    size_t produced = CHUNK_BYTES - e->z.avail_out;
    if (problem || e->is_ended) {
        /* the z_stream's ~300 KB (deflate) are not needed any more: free them now, not
         * whenever the collector gets to this object */
        const char *message = problem;
        char copy[128];
        if (problem) {
            strncpy(copy, problem, sizeof(copy) - 1);
            copy[sizeof(copy) - 1] = 0;
            message = copy;
        }
        zengine_close(e);
        if (message) {
            free(out);
            return make_string(js, message);
        }
    } else if (!e->z.avail_in) {
        free(e->input);
        e->input = NULL;
        e->z.next_in = NULL;
    }
    if (!produced) {
        free(out);
        return JSValueMakeNull(js);
    }
    if (produced < CHUNK_BYTES / 2) {
        unsigned char *smaller = realloc(out, produced);
        if (smaller)
            out = smaller;
    }
    return JSObjectMakeTypedArrayWithBytesNoCopy(js, kJSTypedArrayTypeUint8Array, out, produced, free_bytes, NULL,
                                                 exception);
}

/* close(engine): frees zlib's state now (cancel, abort); the finalizer does it otherwise. */
static JSValueRef native_close(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    zengine *e = zengine_of(js, argc, argv);
    if (e)
        zengine_close(e);
    return JSValueMakeUndefined(js);
}

void natives_compression_add(JSContextRef js, JSObjectRef natives)
{
    pthread_once(&zengine_class_once, zengine_class_create);
    natives_define(js, natives, "open", native_open);
    natives_define(js, natives, "push", native_push);
    natives_define(js, natives, "next", native_next);
    natives_define(js, natives, "close", native_close);
}
