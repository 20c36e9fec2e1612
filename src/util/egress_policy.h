/* egress_policy.h — which network destinations a context may reach (the fetch group, and
 * later WebSocket and EventSource): an allow-list of hosts and ports, deny by default, and
 * the address ranges (loopback, private) that need explicit permission, checked on the
 * address a name resolved to, not on the name. Pure functions over a parsed policy: no
 * I/O, no threads, no engine. The checks are made by src/runtime/fetch.c at each step of a
 * transfer (its URL, every redirect's URL, every address it connects to or reuses). */
#ifndef JSP_UTIL_EGRESS_POLICY_H
#define JSP_UTIL_EGRESS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct sockaddr_storage;

enum egress_scheme { EGRESS_ANY_SCHEME = 0, EGRESS_HTTP = 1, EGRESS_HTTPS = 2 };

/* One allow-list entry: `[scheme://]host[:port]`. */
typedef struct egress_rule {
    char *host;       /* lower case, no trailing dot; "*" = any host; "*.example.com" =
                         any name below example.com (not example.com itself); an IP
                         literal in inet_ntop form (IPv6 without brackets) */
    int port;         /* 0 = any */
    int scheme;       /* enum egress_scheme */
} egress_rule;

typedef struct egress_policy {
    egress_rule *rules;
    size_t count;
    bool allow_loopback; /* 127.0.0.0/8, 0.0.0.0/8, ::1, :: (and their IPv4-mapped forms) */
    bool allow_private;  /* RFC 1918, CGNAT 100.64/10, link-local (169.254/16 — cloud
                            metadata — and fe80::/10), ULA fc00::/7, 192.0.0/24, 198.18/15 */
} egress_policy;

/* At most this many entries, each at most 255 bytes. */
#define EGRESS_MAX_RULES 256

/* Parses an allow-list: entries separated by commas and/or spaces (NULL or "" = empty:
 * nothing allowed). 0, or -1 with why filled ("egress allow-list entry 'x': ...") and *out
 * zeroed. Flags of *out start false; the caller sets them. */
int egress_policy_parse(const char *spec, egress_policy *out, char *why, size_t why_len);
/* A deep copy; 0 or -1 (no memory). */
int egress_policy_copy(const egress_policy *from, egress_policy *to);
void egress_policy_free(egress_policy *p);

/* Whether a URL's destination is on the list. scheme "http" or "https"; host as in the
 * URL (brackets around IPv6 allowed, any case, a trailing dot ignored); port the
 * effective one (the scheme's default when the URL has none). True, or false with why
 * naming the rule that refused it. */
bool egress_allows_url(const egress_policy *p, const char *scheme, const char *host, int port,
                       char *why, size_t why_len);

enum egress_address_class {
    EGRESS_PUBLIC = 0,
    EGRESS_LOOPBACK = 1,
    EGRESS_PRIVATE = 2,
    EGRESS_NEVER = 3, /* multicast, broadcast, reserved: never reachable */
};
/* The class of an AF_INET or AF_INET6 address; IPv6 forms that embed an IPv4 address
 * (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16,
 * Teredo 2001::/32) are classed by that address. Other families: EGRESS_NEVER. */
int egress_classify(const struct sockaddr *sa);
/* An IPv4 or IPv6 address in text form (no brackets) as a socket address: true, or false
 * (out zeroed) when it is neither. */
bool egress_address_from_text(const char *text, struct sockaddr_storage *out);
/* Whether the policy lets a connection go to sa. True, or false with why naming the
 * address, its class and the setting that would permit it. */
bool egress_allows_address(const egress_policy *p, const struct sockaddr *sa, char *why,
                           size_t why_len);

/* Whether every destination rule allows is also allowed by outer (a client's narrower
 * list against the operator's): true, or false with why naming the entry. */
bool egress_rule_covered(const egress_policy *outer, const egress_rule *rule, char *why,
                         size_t why_len);

#endif
