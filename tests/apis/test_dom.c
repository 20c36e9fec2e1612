/* The dom group: HTML parsing by gumbo checked against the html5lib-tests tree-construction
 * cases that Debian's librust-markup5ever-rcdom-dev ships (counted and logged), CSS
 * selector cases, serialization round trips, tree operations and their errors, the host's
 * queries without eval (jsp_dom_*), and hostile input: malformed selectors, 100k-deep
 * trees, documents past a memory limit, parses past a CPU limit. */
#include "support/support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

SUITE_POOL(1)

TestSuite(dom, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 240);

static jsp_context *dom_context(void)
{
    jsp_context_config cfg = {.apis = "dom"};
    return context_with(pool, &cfg);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(dom, builds_the_html5lib_tree_construction_cases_like_the_html_standard)
{
    cr_assert(HTML5LIB_TREE_DIR[0] && !strstr(HTML5LIB_TREE_DIR, "NOTFOUND"),
              "html5lib-tests' tree-construction directory was not found at configure time: install the "
              "Debian package librust-markup5ever-rcdom-dev (scripts/deps.sh) and re-run cmake");
    DIR *dir = opendir(HTML5LIB_TREE_DIR);
    cr_assert(dir, "cannot open %s", HTML5LIB_TREE_DIR);
    char *names[128];
    size_t count = 0;
    for (struct dirent *e; (e = readdir(dir)) && count < 128;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".dat") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof(char *), compare_names);
    cr_assert_gt(count, 40, "only %zu .dat files in %s", count, HTML5LIB_TREE_DIR);

    char *runner = read_file(DOM_HTML5LIB_JS, NULL);
    cr_assert(runner, "cannot read %s", DOM_HTML5LIB_JS);
    jsp_context *ctx = dom_context();
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(ctx, runner, -1, &r), 0, "dom_html5lib.js: %s", r ? r->error_message : "");
    jsp_result_free(r);
    free(runner);

    char log_path[512];
    snprintf(log_path, sizeof(log_path), "%s/dom_html5lib.log", DOM_LOG_DIR);
    FILE *log = fopen(log_path, "w");
    int pass = 0, total = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", HTML5LIB_TREE_DIR, names[i]);
        size_t len = 0;
        char *data = read_file(path, &len);
        cr_assert(data, "cannot read %s", path);
        char *quoted = json_quote(data, len); /* html5lib's *-unsafe cases hold NULs */
        size_t args_len = strlen(quoted) + 3;
        char *args = malloc(args_len);
        snprintf(args, args_len, "[%s]", quoted);
        char *json = call_ok(ctx, "runTreeTests", args);
        int p = 0, t = 0, s = 0;
        cr_assert_eq(sscanf(json, "{\"pass\":%d,\"total\":%d,\"skipped\":%d", &p, &t, &s), 3, "%.200s", json);
        pass += p;
        total += t;
        skipped += s;
        if (log)
            fprintf(log, "# %s: %d/%d pass, %d skipped (script-off); failures:\n%s\n", names[i], p, t, s, json);
        free(json);
        free(args);
        free(quoted);
        free(data);
        free(names[i]);
    }
    if (log)
        fclose(log);
    jsp_context_free(ctx);
    printf("dom html5lib tree construction: %d/%d (%.1f%%), %d script-off cases skipped; failures in %s\n", pass,
           total, 100.0 * pass / total, skipped, log_path);
    cr_expect_gt(total, 1500, "the tree-construction files look truncated: %d cases", total);
    /* 1590/1620 measured: the misses are gumbo 0.10.1 predating later spec changes
     * (isindex, menuitem, a few entity and <noscript> cases) */
    cr_expect_geq(pass * 100, total * 97, "only %d of %d tree-construction cases pass (see %s)", pass, total,
                  log_path);
}

static const char selector_page[] =
    "globalThis.document = new DOMParser().parseFromString(`<!DOCTYPE html><html><head><title>t</title></head>"
    "<body><div id=main class='box  Wide'><p id=p1 lang=en-GB>one</p><p id=p2 class=x data-k=v>two</p>"
    "<!--c--><span id=s1></span><p id=p3 title='a b c'>three<em id=e1>!</em></p>"
    "<ul id=u><li id=l1>1</li><li id=l2>2</li><li id=l3>3</li><li id=l4>4</li><li id=l5>5</li></ul>"
    "<a id=a1 href='http://x.org/file.PDF' hreflang=en-US>x</a><a id=a2>no href</a></div>"
    "<svg id=g><foreignObject id=fo></foreignObject></svg><input id=i1 disabled checked><input id=i2></body></html>`,"
    " 'text/html'), 0; const ids = (s) => Array.from(document.querySelectorAll(s), (e) => e.id).join(' ');";

Test(dom, selects_with_css_selectors_level_3_and_is_where_has)
{
    jsp_context *ctx = dom_context();
    free(eval_ok(ctx, selector_page));
    static const char *const cases[][2] = {
        {"p", "p1 p2 p3"},
        {"P", "p1 p2 p3"}, /* HTML element names match case-insensitively */
        {"*#main > *:first-child", "p1"},
        {".box", "main"},
        {".Wide.box", "main"},
        {".wide", ""}, /* class names do not */
        {"#p2.x[data-k=v]", "p2"},
        {"[title]", "p3"},
        {"[title~=b]", "p3"},
        {"[title~='a b']", ""},
        {"[lang|=en]", "p1"},
        {"[hreflang|=en]", "a1"},
        {"a[href^='http://']", "a1"},
        {"a[href$='.pdf']", ""},
        {"a[href$='.pdf' i]", "a1"},
        {"a[href*=\"x.org\"]", "a1"},
        {"[href]", "a1"},
        {"div p", "p1 p2 p3"},
        {"div > p > em", "e1"},
        {"#p1 + p", "p2"},
        {"#p1 ~ p", "p2 p3"},
        {"#p2 + span + p", "p3"},
        {"li:first-child, li:last-child", "l1 l5"},
        {"li:nth-child(2n+1)", "l1 l3 l5"},
        {"li:nth-child(odd)", "l1 l3 l5"},
        {"li:nth-child(even)", "l2 l4"},
        {"li:nth-child(-n+2)", "l1 l2"},
        {"li:nth-child(3)", "l3"},
        {"li:nth-last-child(2)", "l4"},
        {"p:nth-of-type(2)", "p2"},
        {"p:first-of-type, p:last-of-type", "p1 p3"},
        {"#main > :nth-last-of-type(1)", "s1 p3 u a2"},
        {"em:only-child", "e1"},
        {"#p3 > :only-child", "e1"},
        {"span:empty", "s1"},
        {":root", ""}, /* the root is <html>, which has no id */
        {"p:not(.x)", "p1 p3"},
        {"p:not(#p1, #p3)", "p2"},
        {"li:not(:nth-child(n+3))", "l1 l2"},
        {":is(#p1, #l2, #nope)", "p1 l2"},
        {":where(ul) > li:last-child", "l5"},
        {"div:has(> ul)", "main"},
        {"p:has(em)", "p3"},
        {"p:has(+ span)", "p2"},
        {"p:has(~ ul)", "p1 p2 p3"},
        {"foreignObject", "fo"}, /* SVG names keep their case */
        {"foreignobject", ""},
        {"svg *", "fo"},
        {"input:disabled", "i1"},
        {"input:enabled", "i2"},
        {":checked", "i1"},
        {"a:link", "a1"},
        {":lang(en)", "p1"},
        {"p:hover", ""},
        {"p::before", ""},
        {"#main .x, #u li:nth-child(5)", "p2 l5"},
        {"div\\:x, #p\\31", "p1"},
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < n; i++) {
        char *quoted = json_quote(cases[i][0], strlen(cases[i][0]));
        char source[512], want[256];
        snprintf(source, sizeof(source), "ids(%s)", quoted);
        snprintf(want, sizeof(want), "\"%s\"", cases[i][1]);
        expect_eval(ctx, source, want);
        free(quoted);
    }
    /* matches, closest, getElementsBy*, :scope */
    expect_eval(ctx,
                "const em = document.getElementById('e1'); [em.matches('#main em'), em.matches('ul em'), "
                "em.closest('p').id, em.closest('div > p').id, em.closest('ul'), "
                "document.getElementById('main').querySelectorAll(':scope > p').length, "
                "document.getElementsByTagName('LI').length, document.getElementsByClassName('x box').length, "
                "document.getElementsByClassName('box wide').length]",
                "[true,false,\"p3\",\"p3\",null,3,5,0,0]");
    jsp_context_free(ctx);
}

Test(dom, malformed_selectors_throw_a_syntax_error_domexception)
{
    jsp_context *ctx = dom_context();
    static const char *const bad[] = {"", " ", "a[", "a[b=]", "[=x]", "a]", "#", ".", "a,", ",a", "a >", "> a",
                                      "a + + b", ":nope", ":nth-child(x)", ":nth-child(2n+)", ":not(", ":is(a",
                                      "a::", "a[b=c d]", "a[b~~c]", "ns|a", "1a", "#1a", ".-1", "a!b", "a{}",
                                      "::before()"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *quoted = json_quote(bad[i], strlen(bad[i]));
        char source[512];
        snprintf(source, sizeof(source),
                 "(() => { try { document.querySelector(%s); return 'no error'; } catch (e) { "
                 "return e instanceof DOMException && e.name + ' ' + e.code; } })()",
                 quoted);
        char *json = eval_ok(ctx, source);
        cr_expect_str_eq(json, "\"SyntaxError 12\"", "selector '%s' gave %s", bad[i], json);
        free(json);
        free(quoted);
    }
    /* nesting is bounded before any recursion could hurt: a SyntaxError, not a RangeError */
    expect_eval(ctx,
                "(() => { try { document.querySelector(':not('.repeat(5000) + 'a' + ')'.repeat(5000)); } "
                "catch (e) { return e.name + ': ' + e.message.slice(-17); } })()",
                "\"SyntaxError: nested too deeply\"");
    expect_eval(ctx,
                "(() => { try { document.body.matches('a '.repeat(300)); } catch (e) { return e.name; } })()",
                "\"SyntaxError\"");
    jsp_context_free(ctx);
}

Test(dom, serializes_per_the_html_standard_and_round_trips)
{
    jsp_context *ctx = dom_context();
    /* each fragment parses and serializes back to itself */
    static const char *const same[] = {
        "<p hidden=\"\">x</p>", /* an empty first string: fuzz_dom's first find (UBSan) */
        "<p>a &amp; b &lt; c &gt; d&nbsp;e</p>",
        "<div title=\"&quot;q&quot; &amp; 'a' <b>&nbsp;\">x</div>",
        "<br><img src=\"a.png\" alt=\"\"><input type=\"text\"><hr><wbr>",
        "<script>if (a < b && c > d) { x = \"</p>\"; }</script><style>a > b { c: \"&amp;\" }</style>",
        "<template><tr><td>cell</td></tr></template>",
        "<svg viewBox=\"0 0 10 10\"><circle r=\"1\"></circle><foreignObject><p>x</p></foreignObject></svg>",
        "<math><mi>x</mi></math>",
        "<!-- a comment --><p>after</p>",
        "<ul><li>1</li><li>2</li></ul><table><tbody><tr><td>c</td></tr></tbody></table>",
        "<textarea>a &lt;b&gt;</textarea><pre>x</pre>",
        "<p>caf\u00e9 \u2603 \xf0\x9f\x98\x80</p>",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char *quoted = json_quote(same[i], strlen(same[i]));
        char source[1024];
        snprintf(source, sizeof(source), "{ const d = document.createElement('div'); d.innerHTML = %s; d.innerHTML }",
                 quoted);
        expect_eval(ctx, source, quoted);
        free(quoted);
    }
    /* the parser fixes what it must; serializing then gives the fixed form */
    expect_eval(ctx,
                "{ const d = document.createElement('div'); d.innerHTML = '<p>a<p>b<b>c<i>d</b>e</i><br/>"
                "<img src=x></img><table><td>t'; d.innerHTML }",
                "\"<p>a</p><p>b<b>c<i>d</i></b><i>e</i><br><img src=\\\"x\\\"></p><table><tbody><tr><td>t</td></tr>"
                "</tbody></table>\"");
    /* text set through the DOM is escaped on the way out; raw-text elements are not */
    expect_eval(ctx,
                "{ const p = document.createElement('p'); p.textContent = '<b>&\\u00a0'; "
                "const s = document.createElement('script'); s.textContent = 'a<b'; p.append(s); "
                "p.setAttribute('data-q', '\"&'); [p.outerHTML, p.firstChild.data] }",
                "[\"<p data-q=\\\"&quot;&amp;\\\">&lt;b&gt;&amp;&nbsp;<script>a<b</script></p>\",\"<b>&\xc2\xa0\"]");
    /* a whole document, doctype included, through XMLSerializer-free outerHTML and back */
    expect_eval(ctx,
                "{ const html = '<!DOCTYPE html><html lang=\"en\"><head><title>T</title></head><body><p "
                "class=\"a\">x</p></body></html>'; const d = new DOMParser().parseFromString(html, 'text/html'); "
                "const again = new DOMParser().parseFromString('<!DOCTYPE html>' + d.documentElement.outerHTML, "
                "'text/html'); [d.documentElement.outerHTML === again.documentElement.outerHTML, "
                "d.documentElement.isEqualNode(again.documentElement), new XMLSerializer().serializeToString(d)] }",
                "[true,true,\"<!DOCTYPE html><html lang=\\\"en\\\"><head><title>T</title></head><body><p "
                "class=\\\"a\\\">x</p></body></html>\"]");
    /* outerHTML set and insertAdjacentHTML parse in the right context */
    expect_eval(ctx,
                "{ const d = document.createElement('div'); d.innerHTML = '<p id=a>x</p>'; "
                "d.firstChild.outerHTML = '<b>1</b><i>2</i>'; d.insertAdjacentHTML('afterbegin', '<u>0</u>'); "
                "const t = document.createElement('table'); t.innerHTML = '<tr><td>1'; "
                "[d.innerHTML, t.innerHTML] }",
                "[\"<u>0</u><b>1</b><i>2</i>\",\"<tbody><tr><td>1</td></tr></tbody>\"]");
    jsp_context_free(ctx);
}

Test(dom, builds_and_edits_the_tree_with_the_dom_standards_errors)
{
    jsp_context *ctx = dom_context();
    expect_eval(ctx,
                "const b = document.body; const ul = document.createElement('UL'); b.append(ul, 'text');"
                "const li = (t) => { const e = document.createElement('li'); e.textContent = t; return e; };"
                "ul.appendChild(li('2')); ul.prepend(li('1')); ul.insertBefore(li('1.5'), ul.lastChild);"
                "ul.append(li('3')); ul.lastChild.replaceWith(li('three'), 'x'); ul.removeChild(ul.lastChild);"
                "[ul.outerHTML, ul.tagName, ul.nodeName, ul.localName, ul.nodeType, b.lastChild.nodeType, "
                "ul.children.length, ul.childNodes.length, ul.firstElementChild.nextElementSibling.textContent, "
                "ul.parentNode === b, ul.firstChild.parentElement === ul, ul.isConnected, li('x').isConnected]",
                "[\"<ul><li>1</li><li>1.5</li><li>2</li><li>three</li></ul>\",\"UL\",\"UL\",\"ul\",1,3,4,4,\"1.5\","
                "true,true,true,false]");
    expect_eval(ctx,
                "const e = document.createElement('div'); e.id = 'x'; e.className = 'a b';"
                "e.classList.add('c'); e.classList.remove('a'); e.classList.toggle('d'); e.classList.toggle('b');"
                "e.dataset.fooBar = '1'; e.setAttribute('data-baz', '2'); e.setAttribute('Title', 't');"
                "[e.outerHTML, e.classList.contains('c'), e.classList.length, e.dataset.baz, Object.keys(e.dataset),"
                "e.getAttribute('TITLE'), e.hasAttribute('id'), e.getAttributeNames(), "
                "(e.removeAttribute('title'), e.hasAttribute('title')), 'fooBar' in e.dataset, "
                "(delete e.dataset.fooBar, e.getAttribute('data-foo-bar'))]",
                "[\"<div id=\\\"x\\\" class=\\\"c d\\\" data-foo-bar=\\\"1\\\" data-baz=\\\"2\\\" title=\\\"t\\\">"
                "</div>\",true,2,\"2\",[\"fooBar\",\"baz\"],\"t\",true,[\"id\",\"class\",\"data-foo-bar\","
                "\"data-baz\",\"title\"],false,true,null]");
    /* errors a page would see in a browser */
    static const char *const throws[][2] = {
        {"document.body.appendChild(document.documentElement)", "HierarchyRequestError"},
        {"document.body.appendChild(document.body)", "HierarchyRequestError"},
        {"document.createTextNode('t').appendChild(document.createElement('p'))", "HierarchyRequestError"},
        {"document.appendChild(document.createElement('p'))", "HierarchyRequestError"},
        {"document.body.removeChild(document.createElement('p'))", "NotFoundError"},
        {"document.body.insertBefore(document.createElement('p'), document.createElement('i'))", "NotFoundError"},
        {"document.createElement('a b')", "InvalidCharacterError"},
        {"document.createElement('')", "InvalidCharacterError"},
        {"document.body.setAttribute('1x', 'v')", "InvalidCharacterError"},
        {"document.body.classList.add('a b')", "InvalidCharacterError"},
        {"document.body.classList.add('')", "SyntaxError"},
        {"document.documentElement.outerHTML = '<p>'", "NoModificationAllowedError"},
        {"new DOMParser().parseFromString('<a/>', 'text/xml')", "NotSupportedError"},
        {"document.body.appendChild('text')", "TypeError"},
        {"new Element()", "TypeError"},
    };
    for (size_t i = 0; i < sizeof(throws) / sizeof(throws[0]); i++) {
        char source[512], want[64];
        snprintf(source, sizeof(source), "(() => { try { %s; return 'no error'; } catch (e) { return e.name; } })()",
                 throws[i][0]);
        snprintf(want, sizeof(want), "\"%s\"", throws[i][1]);
        expect_eval(ctx, source, want);
    }
    /* moving a fragment moves its children; cloning copies deep; text nodes merge on normalize */
    expect_eval(ctx,
                "const f = document.createDocumentFragment(); f.append('a', document.createElement('i'), 'b');"
                "const host = document.createElement('p'); host.appendChild(f);"
                "const copy = host.cloneNode(true); copy.firstChild.data = 'z'; host.append('c'); host.normalize();"
                "[f.childNodes.length, host.innerHTML, copy.innerHTML, host.childNodes.length, "
                "host.contains(host.querySelector('i')), new Text('t').nodeName, new Comment('c').nodeType, "
                "document.title, document.head.tagName, document.documentElement.tagName]",
                "[0,\"a<i></i>bc\",\"z<i></i>b\",3,true,\"#text\",8,\"\",\"HEAD\",\"HTML\"]");
    jsp_context_free(ctx);
}

Test(dom, the_host_queries_the_document_without_eval)
{
    jsp_context *ctx = dom_context();
    free(eval_ok(ctx, "document.body.innerHTML = '<h1 class=t>Title</h1><ul><li>a</li><li data-x=\"1\">b "
                      "<b>&amp;</b></li></ul><p>'"));
    jsp_result *r = NULL;
    cr_expect_eq(jsp_dom_find(ctx, "li[data-x]", &r), 0);
    cr_expect_str_eq(r->json, "{\"tag\":\"li\",\"attributes\":{\"data-x\":\"1\"},\"text\":\"b &\","
                              "\"html\":\"<li data-x=\\\"1\\\">b <b>&amp;</b></li>\"}");
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_find_all(ctx, "ul > li", 0, &r), 0);
    cr_expect_str_eq(r->json, "[{\"tag\":\"li\",\"attributes\":{},\"text\":\"a\"},{\"tag\":\"li\",\"attributes\":"
                              "{\"data-x\":\"1\"},\"text\":\"b &\"}]");
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_find_all(ctx, "li", 1, &r), 0);
    cr_expect_str_eq(r->json, "[{\"tag\":\"li\",\"attributes\":{},\"text\":\"a\"}]");
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_text(ctx, "h1.t", &r), 0);
    cr_expect_str_eq(r->json, "\"Title\"");
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_html(ctx, "ul li:last-child b", &r), 0);
    cr_expect_str_eq(r->json, "\"<b>&amp;</b>\"");
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_text(ctx, "table", &r), 0);
    cr_expect_str_eq(r->json, "null");
    jsp_result_free(r);
    /* the selector is data, never code */
    cr_expect_eq(jsp_dom_find(ctx, "li'); globalThis.pwned = 1; ('", &r), JSP_EJS);
    cr_expect_str_eq(r->error_name, "SyntaxError");
    cr_expect(strstr(r->error_message, "is not a valid selector"), "%s", r->error_message);
    jsp_result_free(r);
    expect_eval(ctx, "typeof pwned", "\"undefined\"");
    /* a guest's own document replaces the default one */
    free(eval_ok(ctx, "globalThis.document = new DOMParser().parseFromString('<i>new</i>', 'text/html'), 0"));
    cr_expect_eq(jsp_dom_text(ctx, "body", &r), 0);
    cr_expect_str_eq(r->json, "\"new\"");
    jsp_result_free(r);
    free(eval_ok(ctx, "globalThis.document = 42"));
    cr_expect_eq(jsp_dom_find(ctx, "i", &r), JSP_EJS);
    cr_expect_str_eq(r->error_name, "TypeError");
    jsp_result_free(r);
    /* bad arguments at the boundary */
    cr_expect_eq(jsp_dom_find(ctx, NULL, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_find_all(ctx, "i", JSP_DOM_MAX_FIND_ALL + 1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_expect_eq(jsp_dom_find(ctx, "\xff", &r), JSP_EUTF8);
    jsp_result_free(r);
    jsp_context_free(ctx);

    jsp_context *plain = context_for_test(pool);
    cr_expect_eq(jsp_dom_find(plain, "p", &r), JSP_ENOTFOUND);
    cr_expect(strstr(r->error_message, "no 'dom' API group"), "%s", r->error_message);
    jsp_result_free(r);
    jsp_context_free(plain);
}

Test(dom, a_100k_deep_tree_overflows_no_stack)
{
    jsp_context *ctx = dom_context();
    /* built through the DOM (gumbo would take minutes: see the next test), then walked by
     * every operation that visits a subtree */
    expect_eval(ctx,
                "let top = document.createElement('div'), at = top;"
                "for (let i = 1; i < 100000; i++) at = at.appendChild(document.createElement('div'));"
                "at.textContent = 'deep'; document.body.appendChild(top);"
                "const html = top.outerHTML; const copy = top.cloneNode(true);"
                "[html.length, top.textContent, document.querySelectorAll('div').length, "
                "document.querySelectorAll('div > div:empty').length, document.querySelectorAll('div div div').length, "
                "copy.isEqualNode(top), at.closest('body') === document.body, document.getElementsByTagName('div').length]",
                "[1100004,\"deep\",100000,0,99998,true,true,100000]");
    jsp_result *r = NULL;
    cr_expect_eq(jsp_dom_text(ctx, "div div div", &r), 0);
    cr_expect_str_eq(r->json, "\"deep\"");
    jsp_result_free(r);
    /* the parser's side: 100k nested elements from gumbo (fragment of the serialization
     * above, cut to 20k levels so the quadratic scan stays short), serialized again */
    expect_eval(ctx,
                "const d = document.createElement('div'); d.innerHTML = '<div>'.repeat(20000) + 'x';"
                "[d.querySelectorAll('div').length, d.innerHTML.length]",
                "[20000,220001]");
    jsp_context_free(ctx);
}

Test(dom, a_parse_past_the_cpu_limit_ends_the_call_and_the_context_goes_on)
{
    jsp_context_config cfg = {.apis = "dom", .cpu_limit_ms = 300};
    jsp_context *ctx = context_with(pool, &cfg);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    jsp_result *r = NULL;
    /* gumbo scans its stack of open elements for every start tag: 100k nested <div>s would
     * run for minutes inside C; the allocator's poll stops it at the call's limit */
    int rc = jsp_eval(ctx, "try { new DOMParser().parseFromString('<div>'.repeat(100000), 'text/html'); 'parsed' } "
                           "catch (e) { 'caught ' + e.message }",
                      -1, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_expect_eq(rc, JSP_ECPU_LIMIT, "rc %d: %s", rc, r->json ? r->json : r->error_message);
    cr_expect_lt(ms, 3000, "the parse ran %.0f ms past a 300 ms CPU limit", ms);
    jsp_result_free(r);
    expect_eval(ctx, "new DOMParser().parseFromString('<p>ok', 'text/html').body.textContent", "\"ok\"");
    jsp_context_free(ctx);
}

Test(dom, documents_count_against_the_memory_limit_and_input_is_capped)
{
    jsp_context_config cfg = {.apis = "dom", .memory_limit_bytes = 48u << 20, .cpu_limit_ms = 20000};
    jsp_context *ctx = context_with(pool, &cfg);
    /* ~6 MB of markup needs ~60 MB of gumbo's memory (10x measured): refused, not an abort */
    jsp_result *r = NULL;
    int rc = jsp_eval(ctx, "const s = '<p class=a>x</p>'.repeat(400000); new DOMParser().parseFromString(s, "
                           "'text/html').body.childNodes.length",
                      -1, &r);
    cr_expect(rc == JSP_EJS || rc == JSP_EOOM, "rc %d: %s", rc, r->json ? r->json : "");
    if (rc == JSP_EJS) {
        cr_expect_str_eq(r->error_name, "RangeError");
        cr_expect(strstr(r->error_message, "memory limit"), "%s", r->error_message);
    }
    jsp_result_free(r);
    expect_eval(ctx, "new DOMParser().parseFromString('<p>small', 'text/html').body.innerHTML", "\"<p>small</p>\"");
    jsp_context_free(ctx);

    /* without a memory limit the input cap still holds */
    jsp_context_config big = {.apis = "dom", .cpu_limit_ms = 20000};
    ctx = context_with(pool, &big);
    expect_eval(ctx,
                "(() => { try { document.body.innerHTML = 'x'.repeat((16 << 20) + 1); } catch (e) { "
                "return e.name + ': ' + e.message; } })()",
                "\"RangeError: HTML of 16777217 bytes exceeds the dom group's 16777216-byte parse limit\"");
    jsp_context_free(ctx);
}

Test(dom, the_group_loads_lazily_and_only_when_asked_for)
{
    jsp_context *plain = context_for_test(pool);
    expect_eval(plain, "[typeof document, typeof DOMParser]", "[\"undefined\",\"undefined\"]");
    jsp_context_free(plain);
    jsp_context *ctx = dom_context();
    expect_eval(ctx,
                "[document instanceof Document, document.body instanceof HTMLElement, document.body instanceof Node, "
                "document.body instanceof EventTarget, Object.prototype.toString.call(document.body), "
                "typeof Event, document.documentElement.outerHTML]",
                "[true,true,true,true,\"[object HTMLElement]\",\"function\","
                "\"<html><head></head><body></body></html>\"]");
    /* a node's own listeners run */
    expect_eval(ctx,
                "let seen = 0; document.body.addEventListener('x', () => seen++); "
                "document.body.dispatchEvent(new Event('x')); seen",
                "1");
    jsp_context_free(ctx);
}

/* Attacker review: markup that makes gumbo loop without building much — end tags that
 * scan a deep stack of open elements, a tag with millions of attributes, formatting
 * elements reconstructed for every paragraph, comments under a deep stack — still stops
 * at the call's CPU limit (each ran ~300 ms of CPU for a 300 ms limit; unlimited, the
 * first runs ~2 s per 6 MB). */
Test(dom, pathological_markup_stops_at_the_cpu_limit)
{
    const char *cases[] = {
        "'<div>'.repeat(20000) + '</foo>'.repeat(2700000)",
        "'<p ' + 'a '.repeat(8000000) + '>'",
        "'<b>' + '<p><b>'.repeat(2000000)",
        "'<div>'.repeat(20000) + '<!---->'.repeat(2000000)",
    };
    jsp_context_config cfg = {.apis = "dom", .cpu_limit_ms = 300};
    jsp_context *ctx = context_with(pool, &cfg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char source[300];
        snprintf(source, sizeof(source), "globalThis.s = %s; s.length > 8e6", cases[i]);
        free(eval_ok(ctx, source));
        jsp_result *r = NULL;
        int rc = jsp_eval(ctx, "new DOMParser().parseFromString(s, 'text/html'); 'parsed'", -1, &r);
        cr_expect_eq(rc, JSP_ECPU_LIMIT, "%s: rc %d %s", cases[i], rc, r->json ? r->json : r->error_message);
        cr_expect_lt(r->cpu_time_us, 1000000, "%s: %llu us of CPU", cases[i], (unsigned long long)r->cpu_time_us);
        jsp_result_free(r);
    }
    expect_eval(ctx, "s = null; new DOMParser().parseFromString('<p>ok', 'text/html').body.textContent", "\"ok\"");
    jsp_context_free(ctx);
}
