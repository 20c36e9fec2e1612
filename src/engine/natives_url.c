/* natives_url.c — the url group's C natives (see url.js): domainToASCII, the URL
 * Standard's "domain to ASCII" — UTS #46 ToASCII, non-transitional, CheckBidi and
 * CheckJoiners on, CheckHyphens, UseSTD3ASCIIRules and VerifyDnsLength off — done by ICU's
 * UTS #46 implementation (the one browsers use). Plain ASCII hosts never come here. */
#include "engine/engine_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unicode/uidna.h>

static UIDNA *uts46;
static pthread_once_t uts46_once = PTHREAD_ONCE_INIT;

/* One converter for the process: ICU's IDNA objects are immutable once opened and safe to
 * use from any thread. */
static void open_uts46(void)
{
    UErrorCode status = U_ZERO_ERROR;
    uts46 = uidna_openUTS46(UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ | UIDNA_NONTRANSITIONAL_TO_ASCII |
                                UIDNA_NONTRANSITIONAL_TO_UNICODE,
                            &status);
    if (U_FAILURE(status))
        uts46 = NULL;
}

/* Errors the URL Standard's options turn off: CheckHyphens and VerifyDnsLength. */
#define IGNORED_ERRORS                                                                                      \
    (UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG |               \
     UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4)

/* domainToASCII(string) -> the ASCII domain, or null when UTS #46 processing fails. */
static JSValueRef native_domain_to_ascii(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                         const JSValueRef argv[], JSValueRef *exception)
{
    pthread_once(&uts46_once, open_uts46);
    if (!uts46 || !argc)
        return JSValueMakeNull(js);
    JSStringRef input = JSValueToStringCopy(js, argv[0], exception);
    if (!input)
        return JSValueMakeNull(js);
    size_t len = JSStringGetLength(input);
    JSValueRef result = JSValueMakeNull(js);
    if (len <= INT32_MAX / 8) {
        const UChar *units = (const UChar *)JSStringGetCharactersPtr(input);
        int32_t capacity = (int32_t)len * 4 + 64;
        UChar *out = malloc((size_t)capacity * sizeof(UChar));
        UIDNAInfo info = UIDNA_INFO_INITIALIZER;
        UErrorCode status = U_ZERO_ERROR;
        int32_t n = out ? uidna_nameToASCII(uts46, units, (int32_t)len, out, capacity, &info, &status) : 0;
        if (out && status == U_BUFFER_OVERFLOW_ERROR) { /* punycode can outgrow the guess: ask again */
            free(out);
            capacity = n + 1;
            out = malloc((size_t)capacity * sizeof(UChar));
            info = (UIDNAInfo)UIDNA_INFO_INITIALIZER;
            status = U_ZERO_ERROR;
            n = out ? uidna_nameToASCII(uts46, units, (int32_t)len, out, capacity, &info, &status) : 0;
        }
        if (out && U_SUCCESS(status) && status != U_STRING_NOT_TERMINATED_WARNING &&
            !(info.errors & ~IGNORED_ERRORS)) {
            JSStringRef s = JSStringCreateWithCharacters((const JSChar *)out, (size_t)n);
            result = JSValueMakeString(js, s);
            JSStringRelease(s);
        }
        free(out);
    }
    JSStringRelease(input);
    return result;
}

void natives_url_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "domainToASCII", native_domain_to_ascii);
}
