/* natives_url.c — the url group's C natives (see url.js): domainToASCII, the URL
 * Standard's "domain to ASCII" (UTS #46 non-transitional processing, STD3 rules off) done
 * by libidn2 for hosts with non-ASCII or xn-- labels. Plain ASCII hosts never come here. */
#include "engine/engine_internal.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

/* domainToASCII(string) -> the ASCII domain, or null when UTS #46 processing fails. */
static JSValueRef native_domain_to_ascii(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                         const JSValueRef argv[], JSValueRef *exception)
{
    size_t len = 0;
    char *domain = js_value_to_utf8(js, argc ? argv[0] : JSValueMakeUndefined(js), &len);
    if (!domain)
        return JSValueMakeNull(js);
    JSValueRef result = JSValueMakeNull(js);
    uint8_t *ascii = NULL;
    /* an embedded NUL cannot be passed on; the URL parser rejects it as forbidden anyway */
    if (strlen(domain) == len &&
        idn2_lookup_u8((const uint8_t *)domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) == IDN2_OK && ascii) {
        JSStringRef s = js_string_from_utf8((const char *)ascii, strlen((const char *)ascii));
        if (s) {
            result = JSValueMakeString(js, s);
            JSStringRelease(s);
        }
    }
    idn2_free(ascii);
    free(domain);
    return result;
}

void natives_url_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "domainToASCII", native_domain_to_ascii);
}
