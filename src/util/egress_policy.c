/* egress_policy.c — see egress_policy.h. */
#include "util/egress_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *scheme_name(int scheme)
{
    return scheme == EGRESS_HTTP ? "http://" : scheme == EGRESS_HTTPS ? "https://" : "";
}

static bool is_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* Lower-cases host into out (size >= 256), strips brackets and one trailing dot, and
 * puts an IP literal in inet_ntop form. False when it is no host at all. */
static bool normalize_host(const char *host, size_t len, char *out)
{
    if (len && host[len - 1] == '.' && !(len >= 2 && host[len - 2] == '.'))
        len--;
    if (len == 0 || len > 253 + 2)
        return false;
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']')
            return false;
        char literal[64];
        if (len - 2 >= sizeof(literal))
            return false;
        memcpy(literal, host + 1, len - 2);
        literal[len - 2] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, literal, &a6) == 1 && inet_ntop(AF_INET6, &a6, out, 256) != NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_host_char(host[i]) && host[i] != ':' && !(host[i] == '*' && i == 0))
            return false;
        out[i] = (char)tolower((unsigned char)host[i]);
    }
    out[len] = '\0';
    struct in6_addr a6;
    if (strchr(out, ':')) /* only an unbracketed IPv6 literal (URL parsers' form) has one */
        return inet_pton(AF_INET6, out, &a6) == 1 && inet_ntop(AF_INET6, &a6, out, 256) != NULL;
    return true;
}

static int fail(char *why, size_t why_len, const char *entry, size_t len, const char *problem)
{
    snprintf(why, why_len, "egress allow-list entry '%.*s': %s", (int)(len > 80 ? 80 : len), entry, problem);
    return -1;
}

/* One entry: [scheme://]host[:port][/] */
static int parse_rule(const char *entry, size_t len, egress_rule *rule, char *why, size_t why_len)
{
    const char *at = entry, *end = entry + len;
    rule->scheme = EGRESS_ANY_SCHEME;
    if (len > 7 && strncasecmp(at, "http://", 7) == 0) {
        rule->scheme = EGRESS_HTTP;
        at += 7;
    } else if (len > 8 && strncasecmp(at, "https://", 8) == 0) {
        rule->scheme = EGRESS_HTTPS;
        at += 8;
    } else {
        for (size_t i = 0; i + 3 <= len; i++)
            if (memcmp(entry + i, "://", 3) == 0)
                return fail(why, why_len, entry, len, "only http:// and https:// may be named");
    }
    if (end > at && end[-1] == '/')
        end--;
    if (memchr(at, '/', (size_t)(end - at)))
        return fail(why, why_len, entry, len, "a path is not allowed (name an origin, a host or host:port)");
    const char *host_end = end;
    rule->port = 0;
    const char *colon = NULL;
    if (*at == '[') {
        const char *close = memchr(at, ']', (size_t)(end - at));
        if (!close)
            return fail(why, why_len, entry, len, "an IPv6 address needs its closing ']'");
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon && *colon != ':')
            return fail(why, why_len, entry, len, "text after ']' must be :port");
    } else {
        colon = memchr(at, ':', (size_t)(end - at));
    }
    if (colon) {
        host_end = colon;
        const char *p = colon + 1;
        if (end - p == 1 && *p == '*') {
            rule->port = 0;
        } else {
            long port = 0;
            if (p == end)
                return fail(why, why_len, entry, len, "the port after ':' is missing");
            for (; p < end; p++) {
                if (!isdigit((unsigned char)*p) || (port = port * 10 + (*p - '0')) > 65535)
                    return fail(why, why_len, entry, len, "the port must be 1 to 65535 or '*'");
            }
            if (port == 0)
                return fail(why, why_len, entry, len, "the port must be 1 to 65535 or '*'");
            rule->port = (int)port;
        }
    }
    char host[256];
    size_t host_len = (size_t)(host_end - at);
    if (host_len == 1 && *at == '*') {
        strcpy(host, "*");
    } else if (!normalize_host(at, host_len, host) ||
               (host[0] == '*' && (host[1] != '.' || host[2] == '\0' || strchr(host + 1, '*')))) {
        return fail(why, why_len, entry, len, "not a host name, IP address, '*' or '*.domain'");
    }
    rule->host = strdup(host);
    return rule->host ? 0 : fail(why, why_len, entry, len, "out of memory");
}

int egress_policy_parse(const char *spec, egress_policy *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (!spec)
        return 0;
    const char *at = spec;
    for (;;) {
        while (*at == ',' || isspace((unsigned char)*at))
            at++;
        if (!*at)
            return 0;
        size_t len = 0;
        while (at[len] && at[len] != ',' && !isspace((unsigned char)at[len]))
            len++;
        if (len > 255 || out->count == EGRESS_MAX_RULES) {
            egress_policy_free(out);
            snprintf(why, why_len, len > 255 ? "egress allow-list: an entry is longer than 255 bytes"
                                             : "egress allow-list: more than %d entries", EGRESS_MAX_RULES);
            return -1;
        }
        egress_rule *grown = realloc(out->rules, (out->count + 1) * sizeof(*grown));
        if (!grown || parse_rule(at, len, &grown[out->count], why, why_len) != 0) {
            if (grown)
                out->rules = grown;
            else
                snprintf(why, why_len, "egress allow-list: out of memory");
            egress_policy_free(out);
            return -1;
        }
        out->rules = grown;
        out->count++;
        at += len;
    }
}

int egress_policy_copy(const egress_policy *from, egress_policy *to)
{
    *to = *from;
    to->rules = NULL;
    to->count = 0;
    if (!from->count)
        return 0;
    to->rules = calloc(from->count, sizeof(*to->rules));
    if (!to->rules)
        return -1;
    for (size_t i = 0; i < from->count; i++, to->count++) {
        to->rules[i] = from->rules[i];
        to->rules[i].host = strdup(from->rules[i].host);
        if (!to->rules[i].host) {
            egress_policy_free(to);
            return -1;
        }
    }
    return 0;
}

void egress_policy_free(egress_policy *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->rules[i].host);
    free(p->rules);
    p->rules = NULL;
    p->count = 0;
}

static bool is_ip_literal(const char *host)
{
    struct in6_addr a;
    return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* Whether pattern (a rule's host) matches a normalized host. */
static bool host_matches(const char *pattern, const char *host)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    if (pattern[0] != '*')
        return strcmp(pattern, host) == 0;
    size_t suffix = strlen(pattern + 1), len = strlen(host); /* ".example.com" */
    return len > suffix && strcmp(host + len - suffix, pattern + 1) == 0 && !is_ip_literal(host);
}

bool egress_allows_url(const egress_policy *p, const char *scheme, const char *host, int port,
                       char *why, size_t why_len)
{
    int s = strcasecmp(scheme, "http") == 0 ? EGRESS_HTTP : strcasecmp(scheme, "https") == 0 ? EGRESS_HTTPS : -1;
    if (s < 0) {
        snprintf(why, why_len, "scheme '%.20s:' is not allowed (http: and https: only)", scheme);
        return false;
    }
    char normal[256];
    if (!normalize_host(host, strlen(host), normal) || normal[0] == '*') {
        snprintf(why, why_len, "'%.100s' is not a host name or IP address", host);
        return false;
    }
    for (size_t i = 0; i < p->count; i++) {
        const egress_rule *r = &p->rules[i];
        if ((r->scheme == EGRESS_ANY_SCHEME || r->scheme == s) && (r->port == 0 || r->port == port) &&
            host_matches(r->host, normal))
            return true;
    }
    snprintf(why, why_len, "%s://%.120s:%d is not in this context's egress allow-list (egress_allow%s)",
             s == EGRESS_HTTP ? "http" : "https", host, port,
             p->count ? "" : " is empty: nothing may be reached");
    return false;
}

static int classify_v4(uint32_t a)
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16), b2 = (uint8_t)(a >> 8);
    if (b0 == 127 || b0 == 0)
        return EGRESS_LOOPBACK; /* 0.0.0.0/8 reaches this host on Linux */
    if (b0 == 10 || (b0 == 172 && (b1 & 0xF0) == 16) || (b0 == 192 && b1 == 168) ||
        (b0 == 100 && (b1 & 0xC0) == 64) || (b0 == 169 && b1 == 254) || (b0 == 192 && b1 == 0 && b2 == 0) ||
        (b0 == 198 && (b1 & 0xFE) == 18))
        return EGRESS_PRIVATE;
    if (b0 >= 224)
        return EGRESS_NEVER; /* multicast 224/4, reserved 240/4, broadcast */
    return EGRESS_PUBLIC;
}

static uint32_t v4_at(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int classify_v6(const uint8_t *b)
{
    static const uint8_t zero[16];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
        return EGRESS_LOOPBACK; /* :: and ::1 */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return classify_v4(v4_at(b + 12));
    if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0 && b[5] == 1)
        return EGRESS_PRIVATE; /* 64:ff9b:1::/48, local-use NAT64 */
    if (b[0] == 0x20 && b[1] == 0x02)
        return classify_v4(v4_at(b + 2)); /* 6to4 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        return classify_v4(~v4_at(b + 12)); /* Teredo: the client's address, inverted */
    if ((b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) || (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0))
        return EGRESS_PRIVATE; /* ULA, link-local, site-local */
    if (b[0] == 0xFF)
        return EGRESS_NEVER;
    return EGRESS_PUBLIC;
}

int egress_classify(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return classify_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return classify_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return EGRESS_NEVER;
}

bool egress_address_from_text(const char *text, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    return out->ss_family != 0;
}

bool egress_allows_address(const egress_policy *p, const struct sockaddr *sa, char *why, size_t why_len)
{
    int c = egress_classify(sa);
    if (c == EGRESS_PUBLIC || (c == EGRESS_LOOPBACK && p->allow_loopback) ||
        (c == EGRESS_PRIVATE && p->allow_private))
        return true;
    char text[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof(text));
    snprintf(why, why_len, "%s is %s", text,
             c == EGRESS_LOOPBACK  ? "a loopback address (egress_allow_loopback is off)"
             : c == EGRESS_PRIVATE ? "a private or link-local address (egress_allow_private is off)"
                                   : "a multicast, broadcast or reserved address (never reachable)");
    return false;
}

/* Whether outer's host pattern covers every host of pattern inner. */
static bool host_covers(const char *outer, const char *inner)
{
    if (strcmp(outer, "*") == 0 || strcmp(outer, inner) == 0)
        return true;
    if (outer[0] != '*' || strcmp(inner, "*") == 0)
        return false;
    /* *.example.com covers a.example.com and *.a.example.com */
    const char *name = inner[0] == '*' ? inner + 2 : inner;
    return host_matches(outer, name);
}

bool egress_rule_covered(const egress_policy *outer, const egress_rule *rule, char *why, size_t why_len)
{
    for (size_t i = 0; i < outer->count; i++) {
        const egress_rule *o = &outer->rules[i];
        if ((o->scheme == EGRESS_ANY_SCHEME || o->scheme == rule->scheme) && (o->port == 0 || o->port == rule->port) &&
            host_covers(o->host, rule->host))
            return true;
    }
    char port[16] = "";
    if (rule->port)
        snprintf(port, sizeof(port), ":%d", rule->port);
    bool is_v6 = strchr(rule->host, ':') != NULL;
    snprintf(why, why_len, "egress allow-list entry '%s%s%.200s%s%s' is not within the operator's egress allow-list",
             scheme_name(rule->scheme), is_v6 ? "[" : "", rule->host, is_v6 ? "]" : "", port);
    return false;
}
