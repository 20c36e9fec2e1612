/* test_egress_policy.c — the egress policy's rules on their own (src/util/egress_policy.c):
 * allow-list parsing and its refusals, host/port/scheme matching with wildcards, and the
 * address classes that need explicit permission (v4, v6, and v6 forms embedding v4). */
#include "util/egress_policy.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

static egress_policy parse_ok(const char *spec)
{
    egress_policy p;
    char why[256] = "";
    cr_assert_eq(egress_policy_parse(spec, &p, why, sizeof(why)), 0, "%s: %s", spec, why);
    return p;
}

static void expect_refused_list(const char *spec, const char *fragment)
{
    egress_policy p;
    char why[256] = "";
    cr_assert_eq(egress_policy_parse(spec, &p, why, sizeof(why)), -1, "%s parsed", spec);
    cr_assert(strstr(why, fragment), "%s: '%s' lacks '%s'", spec, why, fragment);
    cr_assert_eq(p.count, 0);
}

static bool allows(const egress_policy *p, const char *scheme, const char *host, int port)
{
    char why[256];
    return egress_allows_url(p, scheme, host, port, why, sizeof(why));
}

static struct sockaddr_storage address(const char *text)
{
    struct sockaddr_storage ss;
    cr_assert(egress_address_from_text(text, &ss), "bad test address %s", text);
    return ss;
}

static int class_of(const char *text)
{
    struct sockaddr_storage ss = address(text);
    return egress_classify((struct sockaddr *)&ss);
}

Test(egress_policy, empty_list_allows_nothing_and_says_so)
{
    egress_policy p = parse_ok(NULL);
    char why[256] = "";
    cr_assert_not(egress_allows_url(&p, "https", "example.com", 443, why, sizeof(why)));
    cr_assert(strstr(why, "egress_allow is empty"), "%s", why);
    egress_policy_free(&p);
    p = parse_ok("  , ");
    cr_assert_eq(p.count, 0);
}

Test(egress_policy, exact_hosts_ports_and_schemes)
{
    egress_policy p = parse_ok("https://api.example.com, Example.ORG:8080 http://10.1.2.3:80/");
    cr_assert_eq(p.count, 3);
    cr_assert(allows(&p, "https", "api.example.com", 443));
    cr_assert(allows(&p, "https", "API.Example.Com.", 8443), "any port, case and trailing dot");
    cr_assert_not(allows(&p, "http", "api.example.com", 80), "scheme named: https only");
    cr_assert_not(allows(&p, "https", "x.api.example.com", 443), "exact is not a wildcard");
    cr_assert(allows(&p, "http", "example.org", 8080));
    cr_assert(allows(&p, "https", "example.org", 8080));
    cr_assert_not(allows(&p, "http", "example.org", 80), "port named: that port only");
    cr_assert(allows(&p, "http", "10.1.2.3", 80));
    cr_assert_not(allows(&p, "http", "10.1.2.4", 80));
    char why[256] = "";
    cr_assert_not(egress_allows_url(&p, "ftp", "example.org", 8080, why, sizeof(why)));
    cr_assert(strstr(why, "http: and https: only"), "%s", why);
    cr_assert_not(egress_allows_url(&p, "https", "evil.com", 443, why, sizeof(why)));
    cr_assert(strstr(why, "https://evil.com:443 is not in this context's egress allow-list"), "%s", why);
    egress_policy_free(&p);
}

Test(egress_policy, wildcards_match_below_the_domain_only)
{
    egress_policy p = parse_ok("*.example.com:443");
    cr_assert(allows(&p, "https", "a.example.com", 443));
    cr_assert(allows(&p, "https", "a.b.example.com", 443));
    cr_assert_not(allows(&p, "https", "example.com", 443), "not the domain itself");
    cr_assert_not(allows(&p, "https", "badexample.com", 443), "not a suffix without a dot");
    cr_assert_not(allows(&p, "https", "a.example.com.evil.net", 443));
    cr_assert_not(allows(&p, "https", "a.example.com", 444));
    egress_policy_free(&p);
    p = parse_ok("*");
    cr_assert(allows(&p, "http", "anything.test", 1));
    cr_assert(allows(&p, "http", "[::1]", 1), "any host: the address check still applies");
    egress_policy_free(&p);
    p = parse_ok("*.0.0.1");
    cr_assert_not(allows(&p, "http", "127.0.0.1", 80), "a wildcard never matches an IP literal");
    egress_policy_free(&p);
}

Test(egress_policy, ipv6_literals_are_compared_in_one_form)
{
    egress_policy p = parse_ok("[0:0:0:0:0:0:0:1]:8080, [2001:DB8::1]");
    cr_assert(allows(&p, "http", "[::1]", 8080));
    cr_assert(allows(&p, "http", "::1", 8080), "unbracketed, as URL parsers give it");
    cr_assert_not(allows(&p, "http", "[::1]", 8081));
    cr_assert(allows(&p, "https", "[2001:db8:0::1]", 443));
    egress_policy_free(&p);
}

Test(egress_policy, bad_entries_are_refused_with_the_reason)
{
    expect_refused_list("ftp://x.com", "only http:// and https://");
    expect_refused_list("https://x.com/path", "a path is not allowed");
    expect_refused_list("x.com:0", "1 to 65535");
    expect_refused_list("x.com:70000", "1 to 65535");
    expect_refused_list("x.com:", "port after ':' is missing");
    expect_refused_list("[::1", "closing ']'");
    expect_refused_list("[::1]x", "after ']'");
    expect_refused_list("*example.com", "not a host name");
    expect_refused_list("a.*.com", "not a host name");
    expect_refused_list("*.", "not a host name");
    expect_refused_list("good.com, bad!host", "'bad!host'");
    char many[EGRESS_MAX_RULES * 3 + 8] = "";
    for (int i = 0; i <= EGRESS_MAX_RULES; i++)
        strcat(many, "a, ");
    expect_refused_list(many, "more than 256 entries");
}

Test(egress_policy, address_classes_v4)
{
    cr_assert_eq(class_of("127.0.0.1"), EGRESS_LOOPBACK);
    cr_assert_eq(class_of("127.255.1.2"), EGRESS_LOOPBACK);
    cr_assert_eq(class_of("0.0.0.0"), EGRESS_LOOPBACK);
    cr_assert_eq(class_of("10.0.0.1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("172.16.0.1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("172.31.255.255"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("172.32.0.1"), EGRESS_PUBLIC);
    cr_assert_eq(class_of("192.168.1.1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("169.254.169.254"), EGRESS_PRIVATE, "cloud metadata");
    cr_assert_eq(class_of("100.64.0.1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("100.128.0.1"), EGRESS_PUBLIC);
    cr_assert_eq(class_of("224.0.0.1"), EGRESS_NEVER);
    cr_assert_eq(class_of("255.255.255.255"), EGRESS_NEVER);
    cr_assert_eq(class_of("93.184.216.34"), EGRESS_PUBLIC);
}

Test(egress_policy, address_classes_v6_and_embedded_v4)
{
    cr_assert_eq(class_of("::1"), EGRESS_LOOPBACK);
    cr_assert_eq(class_of("::"), EGRESS_LOOPBACK);
    cr_assert_eq(class_of("::ffff:127.0.0.1"), EGRESS_LOOPBACK, "IPv4-mapped");
    cr_assert_eq(class_of("::ffff:10.0.0.1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("::ffff:8.8.8.8"), EGRESS_PUBLIC);
    cr_assert_eq(class_of("::127.0.0.1"), EGRESS_LOOPBACK, "IPv4-compatible");
    cr_assert_eq(class_of("64:ff9b::a9fe:a9fe"), EGRESS_PRIVATE, "NAT64 of 169.254.169.254");
    cr_assert_eq(class_of("2002:7f00:1::1"), EGRESS_LOOPBACK, "6to4 of 127.0.0.1");
    cr_assert_eq(class_of("fd00::1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("fe80::1"), EGRESS_PRIVATE);
    cr_assert_eq(class_of("ff02::1"), EGRESS_NEVER);
    cr_assert_eq(class_of("2606:4700::1111"), EGRESS_PUBLIC);
}

Test(egress_policy, addresses_need_their_permission)
{
    egress_policy p = parse_ok("*");
    struct sockaddr_storage lo = address("::ffff:127.0.0.1"), ten = address("10.0.0.1"), pub = address("8.8.8.8");
    char why[256] = "";
    cr_assert(egress_allows_address(&p, (struct sockaddr *)&pub, why, sizeof(why)));
    cr_assert_not(egress_allows_address(&p, (struct sockaddr *)&lo, why, sizeof(why)));
    cr_assert(strstr(why, "::ffff:127.0.0.1 is a loopback address (egress_allow_loopback is off)"), "%s", why);
    cr_assert_not(egress_allows_address(&p, (struct sockaddr *)&ten, why, sizeof(why)));
    cr_assert(strstr(why, "egress_allow_private is off"), "%s", why);
    p.allow_loopback = true;
    cr_assert(egress_allows_address(&p, (struct sockaddr *)&lo, why, sizeof(why)));
    cr_assert_not(egress_allows_address(&p, (struct sockaddr *)&ten, why, sizeof(why)), "loopback is not private");
    p.allow_private = true;
    cr_assert(egress_allows_address(&p, (struct sockaddr *)&ten, why, sizeof(why)));
    egress_policy_free(&p);
}

Test(egress_policy, narrower_lists_are_covered_wider_ones_are_not)
{
    egress_policy op = parse_ok("*.example.com, https://api.test:443");
    egress_policy client = parse_ok("a.example.com *.b.example.com https://api.test:443 api.test example.com");
    char why[256] = "";
    cr_assert(egress_rule_covered(&op, &client.rules[0], why, sizeof(why)));
    cr_assert(egress_rule_covered(&op, &client.rules[1], why, sizeof(why)));
    cr_assert(egress_rule_covered(&op, &client.rules[2], why, sizeof(why)));
    cr_assert_not(egress_rule_covered(&op, &client.rules[3], why, sizeof(why)), "any scheme, any port");
    cr_assert(strstr(why, "'api.test' is not within the operator's"), "%s", why);
    cr_assert_not(egress_rule_covered(&op, &client.rules[4], why, sizeof(why)));
    egress_policy_free(&client);
    client = parse_ok("*");
    cr_assert_not(egress_rule_covered(&op, &client.rules[0], why, sizeof(why)));
    egress_policy copy;
    cr_assert_eq(egress_policy_copy(&op, &copy), 0);
    cr_assert_eq(copy.count, 2);
    cr_assert_str_eq(copy.rules[0].host, "*.example.com");
    egress_policy_free(&copy);
    egress_policy_free(&client);
    egress_policy_free(&op);
}
