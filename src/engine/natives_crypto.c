/* natives_crypto.c — the crypto group's C side (see crypto.js), on OpenSSL 3: random bytes,
 * UUIDs, SHA digests, and HMAC keys whose bytes JS never sees. Argument checking, algorithm
 * names and the Web Crypto errors are the JS side's job; these functions get already
 * normalized input (hash ids, Uint8Arrays) from it and only refuse what would be unsafe. */
#include "engine/engine_internal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Hash ids shared with crypto.js: the index into its `hashes` list. */
enum { HASH_SHA1, HASH_SHA256, HASH_SHA384, HASH_SHA512, HASH_COUNT };
static const char *const hash_names[HASH_COUNT] = {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"};

/* Fetched once per process: OpenSSL 3's EVP_sha256() & co. re-fetch from the provider on
 * every init, a lock and a lookup per digest. Never freed: static pointers keep them
 * reachable until exit, where OpenSSL's own atexit cleanup runs. */
static EVP_MD *digests[HASH_COUNT];
static EVP_MAC *hmac;

/* Where HMAC key bytes live: the private data of an object of this class, held by a
 * CryptoKey in a JS private field (#handle) that guest code cannot name, and passed only to
 * the natives below, which the group's closure keeps to itself. A closure-held copy would
 * leave the bytes in the JS heap, where a heap snapshot or a later reuse of the cell could
 * show them and nothing wipes them; here the finalizer OPENSSL_cleanse()s them when the key
 * is collected or its VM ends. Class process-wide: a JSClassRef is not tied to a VM. */
static JSClassRef key_class;

typedef struct crypto_key {
    unsigned char *bytes;
    size_t len;
    int hash;
    EVP_MAC_CTX *mac; /* keyed once, re-initialised per signature (cheaper than a new one) */
} crypto_key;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void finalize_key(JSObjectRef object)
{
    crypto_key *key = JSObjectGetPrivate(object);
    if (!key)
        return;
    OPENSSL_cleanse(key->bytes, key->len);
    free(key->bytes);
    EVP_MAC_CTX_free(key->mac); /* wipes its copy of the key too */
    free(key);
}

static void crypto_init(void)
{
    for (int h = 0; h < HASH_COUNT; h++)
        digests[h] = EVP_MD_fetch(NULL, hash_names[h], NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    JSClassDefinition def = kJSClassDefinitionEmpty;
    def.className = "CryptoKeyHandle";
    def.finalize = finalize_key;
    key_class = JSClassCreate(&def);
}

static JSValueRef throw_error(JSContextRef js, JSValueRef *exception, const char *message)
{
    *exception = js_make_error(js, "Error", message);
    return JSValueMakeUndefined(js);
}

/* The bytes a Uint8Array views (any offset), or false when v is not one. */
static bool uint8_bytes(JSContextRef js, JSValueRef v, unsigned char **bytes, size_t *len)
{
    if (!JSValueIsObject(js, v) || JSValueGetTypedArrayType(js, v, NULL) != kJSTypedArrayTypeUint8Array)
        return false;
    JSObjectRef array = (JSObjectRef)v;
    /* the pointer is the start of the whole buffer, whatever the view's offset */
    unsigned char *start = JSObjectGetTypedArrayBytesPtr(js, array, NULL);
    *len = JSObjectGetTypedArrayByteLength(js, array, NULL);
    *bytes = start ? start + JSObjectGetTypedArrayByteOffset(js, array, NULL) : NULL;
    return *bytes || !*len;
}

static int hash_arg(JSContextRef js, size_t argc, const JSValueRef argv[], size_t i)
{
    double h = argc > i ? JSValueToNumber(js, argv[i], NULL) : -1;
    return h >= 0 && h < HASH_COUNT ? (int)h : -1;
}

static void free_bytes(void *bytes, void *context)
{
    free(bytes);
}

static JSValueRef array_buffer_of(JSContextRef js, unsigned char *bytes, size_t len, JSValueRef *exception)
{
    /* JSC calls free_bytes itself when it fails */
    JSObjectRef buffer = JSObjectMakeArrayBufferWithBytesNoCopy(js, bytes, len, free_bytes, NULL, exception);
    return buffer ? buffer : JSValueMakeUndefined(js);
}

/* randomFill(integerTypedArray): fills the view in place (the JS side checked the type and
 * the 65,536-byte quota). */
static JSValueRef native_random_fill(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    JSTypedArrayType type = argc ? JSValueGetTypedArrayType(js, argv[0], NULL) : kJSTypedArrayTypeNone;
    if (type == kJSTypedArrayTypeNone || type == kJSTypedArrayTypeArrayBuffer)
        return throw_error(js, exception, "randomFill: not a typed array");
    JSObjectRef array = (JSObjectRef)argv[0];
    unsigned char *start = JSObjectGetTypedArrayBytesPtr(js, array, NULL);
    size_t len = JSObjectGetTypedArrayByteLength(js, array, NULL);
    if (!start || !len)
        return JSValueMakeUndefined(js); /* empty or detached */
    if (len > INT_MAX || RAND_bytes(start + JSObjectGetTypedArrayByteOffset(js, array, NULL), (int)len) != 1)
        return throw_error(js, exception, "the random number generator failed");
    return JSValueMakeUndefined(js);
}

/* randomUUID() -> RFC 9562 version 4 UUID, lowercase. */
static JSValueRef native_random_uuid(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return throw_error(js, exception, "the random number generator failed");
    b[6] = (unsigned char)(0x40 | (b[6] & 0x0F));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F));
    static const char hex[] = "0123456789abcdef";
    char text[37];
    size_t at = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            text[at++] = '-';
        text[at++] = hex[b[i] >> 4];
        text[at++] = hex[b[i] & 15];
    }
    text[at] = '\0';
    JSStringRef s = JSStringCreateWithUTF8CString(text);
    JSValueRef value = JSValueMakeString(js, s);
    JSStringRelease(s);
    return value;
}

/* digest(hashId, Uint8Array) -> ArrayBuffer. */
static JSValueRef native_digest(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception)
{
    int h = hash_arg(js, argc, argv, 0);
    unsigned char *data;
    size_t len;
    if (h < 0 || argc < 2 || !uint8_bytes(js, argv[1], &data, &len))
        return throw_error(js, exception, "digest: bad arguments");
    unsigned char *out = malloc(EVP_MAX_MD_SIZE);
    unsigned int out_len = 0;
    if (!out || !digests[h] || EVP_Digest(data ? data : out, len, out, &out_len, digests[h], NULL) != 1) {
        free(out);
        return throw_error(js, exception, "the digest failed");
    }
    return array_buffer_of(js, out, out_len, exception);
}

static JSValueRef make_key(JSContextRef js, int hash, unsigned char *bytes, size_t len, JSValueRef *exception)
{
    crypto_key *key = calloc(1, sizeof(*key));
    if (!key) {
        OPENSSL_cleanse(bytes, len);
        free(bytes);
        return throw_error(js, exception, "out of memory");
    }
    *key = (crypto_key){.bytes = bytes, .len = len, .hash = hash};
    return JSObjectMake(js, key_class, key);
}

/* hmacImport(hashId, Uint8Array) -> key handle holding a copy of the bytes. */
static JSValueRef native_hmac_import(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    int h = hash_arg(js, argc, argv, 0);
    unsigned char *data;
    size_t len;
    if (h < 0 || argc < 2 || !uint8_bytes(js, argv[1], &data, &len) || !len)
        return throw_error(js, exception, "hmacImport: bad arguments");
    unsigned char *copy = malloc(len);
    if (!copy)
        return throw_error(js, exception, "out of memory");
    memcpy(copy, data, len);
    return make_key(js, h, copy, len, exception);
}

/* hmacGenerate(hashId, byteLength) -> key handle with fresh random bytes. */
static JSValueRef native_hmac_generate(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                       const JSValueRef argv[], JSValueRef *exception)
{
    int h = hash_arg(js, argc, argv, 0);
    double n = argc > 1 ? JSValueToNumber(js, argv[1], NULL) : 0;
    if (h < 0 || !(n >= 1 && n <= 1 << 20))
        return throw_error(js, exception, "hmacGenerate: bad arguments");
    size_t len = (size_t)n;
    unsigned char *bytes = malloc(len);
    if (!bytes)
        return throw_error(js, exception, "out of memory");
    if (RAND_bytes(bytes, (int)len) != 1) {
        free(bytes);
        return throw_error(js, exception, "the random number generator failed");
    }
    return make_key(js, h, bytes, len, exception);
}

static crypto_key *key_arg(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    if (!argc || !JSValueIsObjectOfClass(js, argv[0], key_class))
        return NULL;
    return JSObjectGetPrivate((JSObjectRef)argv[0]);
}

/* The HMAC of data under key into out (EVP_MAX_MD_SIZE bytes); 0 on failure. */
static size_t hmac_compute(crypto_key *key, const unsigned char *data, size_t len, unsigned char *out)
{
    if (!key->mac) {
        key->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)hash_names[key->hash], 0),
            OSSL_PARAM_construct_end()};
        if (!key->mac || EVP_MAC_init(key->mac, key->bytes, key->len, params) != 1) {
            EVP_MAC_CTX_free(key->mac);
            key->mac = NULL;
            return 0;
        }
    } else if (EVP_MAC_init(key->mac, NULL, 0, NULL) != 1) { /* same key, fresh state */
        return 0;
    }
    size_t out_len = 0;
    if (EVP_MAC_update(key->mac, data ? data : out, len) != 1 ||
        EVP_MAC_final(key->mac, out, &out_len, EVP_MAX_MD_SIZE) != 1)
        return 0;
    return out_len;
}

/* hmacSign(handle, Uint8Array) -> ArrayBuffer. */
static JSValueRef native_hmac_sign(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                   const JSValueRef argv[], JSValueRef *exception)
{
    crypto_key *key = key_arg(js, argc, argv);
    unsigned char *data;
    size_t len;
    if (!key || argc < 2 || !uint8_bytes(js, argv[1], &data, &len))
        return throw_error(js, exception, "hmacSign: bad arguments");
    unsigned char *out = malloc(EVP_MAX_MD_SIZE);
    size_t out_len = out ? hmac_compute(key, data, len, out) : 0;
    if (!out_len) {
        free(out);
        return throw_error(js, exception, "the HMAC failed");
    }
    return array_buffer_of(js, out, out_len, exception);
}

/* hmacVerify(handle, signature Uint8Array, data Uint8Array) -> boolean; the comparison
 * takes the same time wherever the bytes differ. */
static JSValueRef native_hmac_verify(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    crypto_key *key = key_arg(js, argc, argv);
    unsigned char *signature, *data;
    size_t signature_len, len;
    if (!key || argc < 3 || !uint8_bytes(js, argv[1], &signature, &signature_len) ||
        !uint8_bytes(js, argv[2], &data, &len))
        return throw_error(js, exception, "hmacVerify: bad arguments");
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = hmac_compute(key, data, len, mac);
    if (!mac_len)
        return throw_error(js, exception, "the HMAC failed");
    bool is_equal = signature_len == mac_len && CRYPTO_memcmp(signature, mac, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return JSValueMakeBoolean(js, is_equal);
}

/* keyBytes(handle) -> ArrayBuffer copy; crypto.js calls it for extractable keys only. */
static JSValueRef native_key_bytes(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                   const JSValueRef argv[], JSValueRef *exception)
{
    crypto_key *key = key_arg(js, argc, argv);
    if (!key)
        return throw_error(js, exception, "keyBytes: bad arguments");
    unsigned char *copy = malloc(key->len);
    if (!copy)
        return throw_error(js, exception, "out of memory");
    memcpy(copy, key->bytes, key->len);
    return array_buffer_of(js, copy, key->len, exception);
}

void natives_crypto_add(JSContextRef js, JSObjectRef natives)
{
    pthread_once(&crypto_once, crypto_init);
    natives_define(js, natives, "randomFill", native_random_fill);
    natives_define(js, natives, "randomUUID", native_random_uuid);
    natives_define(js, natives, "digest", native_digest);
    natives_define(js, natives, "hmacImport", native_hmac_import);
    natives_define(js, natives, "hmacGenerate", native_hmac_generate);
    natives_define(js, natives, "hmacSign", native_hmac_sign);
    natives_define(js, natives, "hmacVerify", native_hmac_verify);
    natives_define(js, natives, "keyBytes", native_key_bytes);
}
