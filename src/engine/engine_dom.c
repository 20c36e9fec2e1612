/* engine_dom.c — the host's DOM queries (jsp_dom_find, _find_all, _text, _html): a CSS
 * selector run on the context's globalThis.document by the dom group's own hostQuery
 * (dom.js), with no eval of host text — the selector travels as a string value. Runs as a
 * bounded job (the CPU and wall limits of a call apply: the document and its getters are
 * the guest's). Not for: parsing or the node tree (natives_dom.c, dom.js). */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "util/result.h"

#include <stdlib.h>
#include <string.h>

jsp_result *engine_dom_query(engine_ctx *ec, const char *selector, int mode, int64_t limit)
{
    if (!(ec->apis & 1u << API_DOM))
        return result_error(JSP_ENOTFOUND, "ReferenceError",
                            "this context has no 'dom' API group (create it with apis \"dom\")");
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    JSValueRef exports = engine_apis_load(ec, API_DOM, &exception);
    JSValueRef query = NULL;
    if (!exception && JSValueIsObject(js, exports)) {
        JSStringRef name = JSStringCreateWithUTF8CString("hostQuery");
        query = JSObjectGetProperty(js, (JSObjectRef)exports, name, &exception);
        JSStringRelease(name);
    }
    if (exception)
        return js_exception_result(ec->vm, js, exception, JSP_EJS);
    if (!query || !JSValueIsObject(js, query))
        return result_error(JSP_EJS, "Error", "the dom group did not load");
    JSStringRef text = js_string_from_utf8(selector, strlen(selector));
    if (!text)
        return result_out_of_memory();
    JSValueRef args[3] = {JSValueMakeString(js, text), JSValueMakeNumber(js, mode),
                          JSValueMakeNumber(js, (double)limit)};
    JSStringRelease(text);
    JSValueRef value = engine_call_function(ec, (JSObjectRef)query, NULL, 3, args, &exception);
    if (exception || !value)
        return js_exception_result(ec->vm, js, exception, JSP_EJS);
    return js_value_result(js, value);
}
