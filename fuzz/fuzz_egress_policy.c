/* fuzz_egress_policy — the egress allow-list parser (src/util/egress_policy.c), which a
 * client reaches with "egress": {"allow": ...} of POST /v1/contexts, and the address
 * classifier over arbitrary IPv4 and IPv6 addresses. Oracles: a refused list says why and
 * holds nothing; an accepted one has at most 256 entries of lower-case hosts without
 * brackets and ports in range, covers each of its own entries (and jsp_egress_check finds
 * it within itself), and allows the URL each exact entry names; every address has one of
 * the four classes, and an IPv4-mapped IPv6 address has its IPv4 address's class. */
#include "jspool.h"
#include "util/egress_policy.h"

#include "fuzz_support.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    egress_policy p;
    char why[300] = "";
    if (egress_policy_parse(text, &p, why, sizeof(why)) != 0) {
        CHECK(p.count == 0 && p.rules == NULL);
        CHECK(strncmp(why, "egress allow-list", 17) == 0);
        CHECK(jsp_egress_check(text, NULL, NULL, 0) == JSP_EINVAL);
    } else {
        CHECK(p.count <= EGRESS_MAX_RULES);
        for (size_t i = 0; i < p.count; i++) {
            const egress_rule *r = &p.rules[i];
            CHECK(r->host[0] && !strchr(r->host, '[') && !strchr(r->host, ']'));
            for (const char *c = r->host; *c; c++)
                CHECK(!isupper((unsigned char)*c));
            CHECK(r->port >= 0 && r->port <= 65535);
            CHECK(egress_rule_covered(&p, r, why, sizeof(why)));
            if (r->host[0] != '*') {
                char host[300];
                snprintf(host, sizeof(host), strchr(r->host, ':') ? "[%s]" : "%s", r->host);
                const char *scheme = r->scheme == EGRESS_HTTPS ? "https" : "http";
                CHECK(egress_allows_url(&p, scheme, host, r->port ? r->port : 80, why, sizeof(why)));
            }
        }
        CHECK(jsp_egress_check(text, text, why, sizeof(why)) == 0);
        egress_policy_free(&p);
    }
    /* the bytes as addresses */
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    memcpy(&v4.sin_addr, data, size < 4 ? size : 4);
    memcpy(&v6.sin6_addr, data, size < 16 ? size : 16);
    int c4 = egress_classify((struct sockaddr *)&v4), c6 = egress_classify((struct sockaddr *)&v6);
    CHECK(c4 >= EGRESS_PUBLIC && c4 <= EGRESS_NEVER && c6 >= EGRESS_PUBLIC && c6 <= EGRESS_NEVER);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
    mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xFF;
    memcpy(&mapped.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    CHECK(egress_classify((struct sockaddr *)&mapped) == c4);
    free(text);
    return 0;
}
