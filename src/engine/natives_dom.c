/* natives_dom.c — the dom group's C natives (see dom.js): HTML parsing by gumbo (the WHATWG
 * parsing algorithm), handed to JS as one compact representation that dom.js turns into
 * its node objects, so the GC owns every node and no C object outlives the call.
 *
 * parse(html, contextTag?) -> [code, text, names]
 *   code:  Int32Array, the tree in document order, one record per node:
 *            ELEMENT  1 ns nameIndex attrCount (attrNs nameIndex valueOffset valueLength)*
 *                     ... children ... END
 *            TEMPLATE 2 (as ELEMENT; its children are the template's content)
 *            TEXT     3 offset length          COMMENT 8 offset length
 *            DOCTYPE 10 nameOff nameLen publicOff publicLen systemOff systemLen
 *            END      0
 *   text:  one string holding every text, comment and attribute value (offsets in UTF-16
 *          units), so JS takes substrings instead of C making thousands of strings;
 *   names: the distinct tag and attribute names, interned (nameIndex points here).
 * With contextTag (innerHTML's element, lower case, and its namespace as "svg:"/"math:"
 * prefix) the fragment parsing algorithm runs and only the fragment's nodes are emitted.
 *
 * Not for: the DOM itself, selectors or serialization (dom.js).
 *
 * Hostile input. gumbo cannot be interrupted and does not check its allocations, so:
 * its memory comes from an arena here that counts every chunk against the context's
 * memory limit (engine_budget_reserve) and against DOM_MAX_PARSE_BYTES; past either, the
 * allocator longjmps out of gumbo and the arena is dropped whole (gumbo holds no other
 * resource) — the caller gets a RangeError. Input is capped at DOM_MAX_INPUT_BYTES so
 * that one uninterruptible parse stays short (measured: gumbo parses ~12 MB/s here (82 ms CPU for bench/apis/dom's 1 MB page), so
 * 16 MiB stays under ~1.5 s); the walk below is iterative (gumbo nests as deep as the input,
 * 100k levels are fine) and gumbo's own recursive destroy is never called. */
#include "engine/engine_internal.h"

#include <gumbo.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DOM_MAX_INPUT_BYTES (16u << 20)
#define DOM_MAX_PARSE_BYTES (512ull << 20) /* gumbo's arena: ~11x the input measured, 35x
                                              for deep nesting */
#define DOM_MAX_OUTPUT_BYTES (512ull << 20) /* the compact form: clones made by the adoption
                                               agency repeat their attributes */
#define DOM_MAX_PARSE_CPU_NS (5000000000ull) /* for contexts without a CPU limit */
#define ARENA_CHUNK (256u << 10)
#define POLL_EVERY 128 /* allocations between two looks at the thread's CPU clock (a system
                          call, ~0.7 µs): ~1 ms of a 1 MB page's 82 ms */

enum { OP_END = 0, OP_ELEMENT = 1, OP_TEMPLATE = 2, OP_TEXT = 3, OP_COMMENT = 8, OP_DOCTYPE = 10 };

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    max_align_t data[];
} arena_chunk;

typedef struct arena {
    arena_chunk *head;
    uint64_t total;
    engine_vm *vm;      /* memory limit to reserve against; NULL = none */
    jmp_buf *escape;    /* where an allocation past a limit goes */
    uint64_t cpu_start_ns;
    unsigned calls;
    const char *failure;
} arena;

static void *arena_alloc(void *user, size_t size)
{
    arena *a = user;
    /* gumbo's time is not linear in its input (100k nested <div>s: every start tag scans
     * the whole stack of open elements, minutes of CPU), and every token allocates: so
     * the call's deadlines are checked here, as the watchdog would between JS steps. */
    if (++a->calls % POLL_EVERY == 0) {
        int tripped = a->vm ? engine_budget_poll(a->vm) : 0;
        if (tripped)
            a->failure = "HTML parse stopped: the call's time limit or cancellation";
        else if (engine_thread_cpu_ns() - a->cpu_start_ns > DOM_MAX_PARSE_CPU_NS)
            a->failure = "HTML parse stopped after 5 s of CPU time (the dom group's cap per parse)";
        if (a->failure)
            longjmp(*a->escape, 1);
    }
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t chunk = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        uint64_t left = 0;
        if (a->total + chunk > DOM_MAX_PARSE_BYTES)
            a->failure = "HTML parse needs more memory than the dom group allows (512 MiB)";
        else if (a->vm && !engine_budget_reserve(a->vm, chunk, &left))
            a->failure = "HTML parse exceeds the context's memory limit";
        else if (!(c = malloc(sizeof(arena_chunk) + chunk)))
            a->failure = "out of memory while parsing HTML";
        if (a->failure)
            longjmp(*a->escape, 1);
        c->size = chunk;
        c->used = 0;
        a->total += chunk;
        if (chunk == ARENA_CHUNK || !a->head) {
            c->next = a->head;
            a->head = c;
        } else { /* a large block: keep filling the current chunk */
            c->next = a->head->next;
            a->head->next = c;
            c->used = size;
            return c->data;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

/* Frees happen all at once with the arena: gumbo's garbage is ~2x what it keeps. */
static void arena_free_block(void *user, void *p)
{
    (void)user;
    (void)p;
}

static void arena_drop(arena *a)
{
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}

/* Growable buffers for the output; a failed growth sets failed and drops later writes. */
typedef struct out {
    int32_t *code;
    size_t code_len, code_cap;
    uint16_t *text;
    size_t text_len, text_cap;
    /* interned names: UTF-8 bytes, with an open-addressing table of (offset, length) */
    char *names;
    size_t names_len, names_cap;
    uint32_t *slots; /* 0 = empty, else index + 1 */
    uint32_t *name_off, *name_len;
    size_t name_count, slot_count;
    int32_t known[GUMBO_TAG_LAST + 1]; /* tag enum -> name index + 1 */
    engine_vm *vm;   /* the code and text buffers count against its memory limit too */
    uint64_t bytes;  /* their capacity so far */
    const char *failure;
    bool failed;
} out;

static bool grow(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * unit);
    if (!q)
        return false;
    *p = q;
    *cap = cap2;
    return true;
}

/* grow() for the two output buffers: within DOM_MAX_OUTPUT_BYTES and the memory limit. */
static bool out_grow(out *o, void **p, size_t *cap, size_t need, size_t unit)
{
    size_t before = *cap;
    if (need <= before)
        return true;
    uint64_t left = 0;
    size_t after = before ? before : 1024;
    while (after < need)
        after *= 2;
    uint64_t added = (uint64_t)(after - before) * unit;
    if (o->bytes + added > DOM_MAX_OUTPUT_BYTES)
        o->failure = "the parsed HTML is larger than the dom group allows (512 MiB)";
    else if (o->vm && !engine_budget_reserve(o->vm, added, &left))
        o->failure = "HTML parse exceeds the context's memory limit";
    else if (!grow(p, cap, need, unit))
        o->failure = "out of memory while parsing HTML";
    if (o->failure)
        return false;
    o->bytes += added;
    return true;
}

static void emit(out *o, int32_t v)
{
    if (o->code_len == o->code_cap && !out_grow(o, (void **)&o->code, &o->code_cap, o->code_len + 1, sizeof(int32_t))) {
        o->failed = true;
        return;
    }
    o->code[o->code_len++] = v;
}

/* Appends UTF-8 (gumbo's output is valid UTF-8) as UTF-16; emits offset and length. */
static void emit_text(out *o, const char *s, size_t len)
{
    if (!len) { /* the buffer may not exist yet: no pointer arithmetic on NULL */
        emit(o, (int32_t)o->text_len);
        emit(o, 0);
        return;
    }
    if (!out_grow(o, (void **)&o->text, &o->text_cap, o->text_len + len, sizeof(uint16_t))) {
        o->failed = true;
        emit(o, 0);
        emit(o, 0);
        return;
    }
    size_t start = o->text_len;
    uint16_t *t = o->text + o->text_len;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t c = *p++;
        if (c >= 0xF0 && end - p >= 3) {
            c = (c & 7) << 18 | (p[0] & 0x3Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
            p += 3;
            c -= 0x10000;
            *t++ = (uint16_t)(0xD800 | c >> 10);
            *t++ = (uint16_t)(0xDC00 | (c & 0x3FF));
            continue;
        }
        if (c >= 0xE0 && end - p >= 2) {
            c = (c & 0xF) << 12 | (p[0] & 0x3Fu) << 6 | (p[1] & 0x3Fu);
            p += 2;
        } else if (c >= 0xC0 && end - p >= 1) {
            c = (c & 0x1F) << 6 | (p[0] & 0x3Fu);
            p += 1;
        }
        *t++ = (uint16_t)c;
    }
    o->text_len = (size_t)(t - o->text);
    emit(o, (int32_t)start);
    emit(o, (int32_t)(o->text_len - start));
}

static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The index of name in the interned names (lower-cased first when lower). */
static int32_t intern(out *o, const char *s, size_t len, bool lower)
{
    char small[64];
    char *tmp = NULL;
    if (lower) {
        tmp = len <= sizeof(small) ? small : malloc(len);
        if (!tmp) {
            o->failed = true;
            return 0;
        }
        for (size_t i = 0; i < len; i++)
            tmp[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
        s = tmp;
    }
    int32_t result = 0;
    if (o->name_count * 2 >= o->slot_count) { /* rehash at half full */
        size_t count = o->slot_count ? o->slot_count * 2 : 256;
        uint32_t *slots = calloc(count, sizeof(uint32_t));
        if (!slots || !grow((void **)&o->name_off, &(size_t){o->name_count}, count / 2, sizeof(uint32_t)) ||
            !grow((void **)&o->name_len, &(size_t){o->name_count}, count / 2, sizeof(uint32_t))) {
            free(slots);
            o->failed = true;
            goto done;
        }
        for (size_t i = 0; i < o->name_count; i++) {
            size_t at = hash_name(o->names + o->name_off[i], o->name_len[i]) & (count - 1);
            while (slots[at])
                at = (at + 1) & (count - 1);
            slots[at] = (uint32_t)i + 1;
        }
        free(o->slots);
        o->slots = slots;
        o->slot_count = count;
    }
    size_t at = hash_name(s, len) & (o->slot_count - 1);
    for (; o->slots[at]; at = (at + 1) & (o->slot_count - 1)) {
        uint32_t i = o->slots[at] - 1;
        if (o->name_len[i] == len && memcmp(o->names + o->name_off[i], s, len) == 0) {
            result = (int32_t)i;
            goto done;
        }
    }
    if (!grow((void **)&o->names, &o->names_cap, o->names_len + len, 1)) {
        o->failed = true;
        goto done;
    }
    memcpy(o->names + o->names_len, s, len);
    o->name_off[o->name_count] = (uint32_t)o->names_len;
    o->name_len[o->name_count] = (uint32_t)len;
    o->names_len += len;
    o->slots[at] = (uint32_t)o->name_count + 1;
    result = (int32_t)o->name_count++;
done:
    if (tmp && tmp != small)
        free(tmp);
    return result;
}

static int32_t tag_name(out *o, const GumboElement *e)
{
    if (e->tag != GUMBO_TAG_UNKNOWN && e->tag_namespace == GUMBO_NAMESPACE_HTML) {
        if (!o->known[e->tag]) {
            const char *name = gumbo_normalized_tagname(e->tag);
            o->known[e->tag] = intern(o, name, strlen(name), false) + 1;
        }
        return o->known[e->tag] - 1;
    }
    GumboStringPiece piece = e->original_tag;
    if (piece.length)
        gumbo_tag_from_original_text(&piece);
    if (!piece.length) {
        const char *name = gumbo_normalized_tagname(e->tag);
        return intern(o, name, strlen(name), false);
    }
    if (e->tag_namespace == GUMBO_NAMESPACE_SVG) {
        const char *adjusted = gumbo_normalize_svg_tagname(&piece);
        if (adjusted)
            return intern(o, adjusted, strlen(adjusted), false);
    }
    return intern(o, piece.data, piece.length, true);
}

/* Walks the tree in document order without recursion (the input decides the depth). */
static void walk(out *o, const GumboNode *root, bool is_fragment)
{
    const GumboVector *top = root->type == GUMBO_NODE_DOCUMENT ? &root->v.document.children : &root->v.element.children;
    if (root->type == GUMBO_NODE_DOCUMENT && root->v.document.has_doctype) {
        const GumboDocument *d = &root->v.document;
        emit(o, OP_DOCTYPE);
        emit_text(o, d->name, strlen(d->name));
        emit_text(o, d->public_identifier, strlen(d->public_identifier));
        emit_text(o, d->system_identifier, strlen(d->system_identifier));
    }
    if (is_fragment) { /* gumbo puts the fragment's nodes under an <html> it makes */
        for (unsigned i = 0; i < top->length; i++) {
            const GumboNode *n = top->data[i];
            if (n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_HTML) {
                top = &n->v.element.children;
                break;
            }
        }
    }
    /* An explicit stack of (vector, next index). */
    typedef struct frame {
        const GumboVector *children;
        unsigned next;
    } frame;
    size_t depth = 0, cap = 64;
    frame *stack = malloc(cap * sizeof(frame));
    if (!stack) {
        o->failed = true;
        return;
    }
    stack[0] = (frame){top, 0};
    for (;;) {
        frame *f = &stack[depth];
        if (f->next >= f->children->length) {
            if (depth == 0)
                break;
            emit(o, OP_END);
            depth--;
            continue;
        }
        const GumboNode *n = f->children->data[f->next++];
        switch (n->type) {
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE: {
            const GumboElement *e = &n->v.element;
            emit(o, n->type == GUMBO_NODE_TEMPLATE ? OP_TEMPLATE : OP_ELEMENT);
            emit(o, (int32_t)e->tag_namespace);
            emit(o, tag_name(o, e));
            emit(o, (int32_t)e->attributes.length);
            for (unsigned i = 0; i < e->attributes.length; i++) {
                const GumboAttribute *a = e->attributes.data[i];
                emit(o, (int32_t)a->attr_namespace);
                emit(o, intern(o, a->name, strlen(a->name), false));
                emit_text(o, a->value, strlen(a->value));
            }
            if (depth + 1 == cap) {
                frame *bigger = realloc(stack, cap * 2 * sizeof(frame));
                if (!bigger) {
                    o->failed = true;
                    free(stack);
                    return;
                }
                stack = bigger;
                cap *= 2;
            }
            stack[++depth] = (frame){&e->children, 0};
            break;
        }
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_CDATA:
        case GUMBO_NODE_WHITESPACE:
        case GUMBO_NODE_COMMENT:
            emit(o, n->type == GUMBO_NODE_COMMENT ? OP_COMMENT : OP_TEXT);
            emit_text(o, n->v.text.text, strlen(n->v.text.text));
            break;
        case GUMBO_NODE_DOCUMENT:
            break;
        }
        if (o->failed)
            break;
    }
    free(stack);
}

static void out_free(out *o)
{
    free(o->code);
    free(o->text);
    free(o->names);
    free(o->slots);
    free(o->name_off);
    free(o->name_len);
}

static void free_typed_array_bytes(void *bytes, void *context)
{
    (void)context;
    free(bytes);
}

/* The namespace and tag of innerHTML's context element: "div", "svg:foreignObject". */
static void fragment_context(GumboOptions *options, const char *context)
{
    options->fragment_namespace = GUMBO_NAMESPACE_HTML;
    if (strncmp(context, "svg:", 4) == 0) {
        options->fragment_namespace = GUMBO_NAMESPACE_SVG;
        context += 4;
    } else if (strncmp(context, "math:", 5) == 0) {
        options->fragment_namespace = GUMBO_NAMESPACE_MATHML;
        context += 5;
    }
    GumboTag tag = gumbo_tag_enum(context);
    /* gumbo knows a context only by its tag enum: an unknown one parses as a <div> would */
    options->fragment_context = tag == GUMBO_TAG_UNKNOWN ? GUMBO_TAG_DIV : tag;
}

static JSValueRef native_parse(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    size_t len = 0;
    char *html = natives_string_arg(js, argc, argv, 0, &len);
    if (!html)
        return natives_throw(js, exception, "TypeError", "parse expects a string");
    char context[64] = "";
    if (argc > 1 && JSValueIsString(js, argv[1])) {
        JSStringRef s = JSValueToStringCopy(js, argv[1], NULL);
        if (s) {
            JSStringGetUTF8CString(s, context, sizeof(context));
            JSStringRelease(s);
        }
    }
    if (len > DOM_MAX_INPUT_BYTES) {
        free(html);
        char message[160];
        snprintf(message, sizeof(message), "HTML of %zu bytes exceeds the dom group's %u-byte parse limit", len,
                 DOM_MAX_INPUT_BYTES);
        return natives_throw(js, exception, "RangeError", message);
    }
    engine_ctx *ec = engine_ctx_of(js);
    jmp_buf escape;
    arena a = {.vm = ec ? ec->vm : NULL, .escape = &escape, .cpu_start_ns = engine_thread_cpu_ns()};
    GumboOptions options = kGumboDefaultOptions;
    options.allocator = arena_alloc;
    options.deallocator = arena_free_block;
    options.userdata = &a;
    options.max_errors = 0; /* the tree is what we want; errors would cost memory */
    if (context[0])
        fragment_context(&options, context);
    out o = {.vm = a.vm};
    JSValueRef result = NULL;
    if (setjmp(escape) == 0) {
        GumboOutput *output = gumbo_parse_with_options(&options, html, len);
        walk(&o, output->document, context[0] != 0);
        emit(&o, OP_END); /* never empty; the JS builder stops at an END with nothing open */
    } else {
        result = natives_throw(js, exception, "RangeError", a.failure);
    }
    arena_drop(&a);
    free(html);
    if (!result && o.failed)
        result = natives_throw(js, exception, "RangeError", o.failure ? o.failure : "out of memory while parsing HTML");
    if (result) {
        out_free(&o);
        return result;
    }
    JSValueRef parts[3];
    parts[0] = JSObjectMakeTypedArrayWithBytesNoCopy(js, kJSTypedArrayTypeInt32Array, o.code,
                                                     o.code_len * sizeof(int32_t), free_typed_array_bytes,
                                                     NULL, exception);
    o.code = NULL; /* owned by the typed array now (or freed by JSC on failure) */
    JSStringRef text = JSStringCreateWithCharacters(o.text ? o.text : (const JSChar *)u"", o.text_len);
    parts[1] = JSValueMakeString(js, text);
    JSStringRelease(text);
    JSValueRef *names = malloc((o.name_count + 1) * sizeof(JSValueRef));
    for (size_t i = 0; names && i < o.name_count; i++) {
        JSStringRef s = js_string_from_utf8(o.names + o.name_off[i], o.name_len[i]);
        names[i] = JSValueMakeString(js, s);
        JSStringRelease(s);
    }
    parts[2] = names ? JSObjectMakeArray(js, o.name_count, names, exception) : NULL;
    free(names);
    out_free(&o);
    if (!parts[0] || !parts[2] || *exception)
        return *exception ? JSValueMakeUndefined(js)
                          : natives_throw(js, exception, "RangeError", "out of memory while parsing HTML");
    return JSObjectMakeArray(js, 3, parts, exception);
}

void natives_dom_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "parse", native_parse);
}
