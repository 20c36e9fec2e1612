/* ws_handshake.c — see ws_handshake.h. */
#include "util/ws_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void ws_handshake_accept(const char *key, char out[29])
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    char concat[128];
    snprintf(concat, sizeof(concat), "%.60s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)concat, strlen(concat), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
}

bool ws_handshake_has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t next = len;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (n && len == n && strncasecmp(p, token, n) == 0)
            return true;
        p += next;
    }
    return false;
}

const char *ws_handshake_check(char *head, const char *accept, const char *offered, char *protocol,
                               size_t protocol_len, char *why, size_t why_len)
{
    char *line = head, *end = strstr(line, "\r\n");
    if (!end)
        return "the server's answer has no status line";
    *end = '\0';
    if (strncmp(line, "HTTP/1.1 101", 12) != 0 || (line[12] != '\0' && line[12] != ' ')) {
        snprintf(why, why_len, "the server answered '%.100s' instead of 101 Switching Protocols", line);
        return why;
    }
    bool upgrade = false, connection = false, accepted = false;
    const char *chosen = NULL, *extensions = NULL;
    for (line = end + 2; *line && (end = strstr(line, "\r\n")) != NULL; line = end + 2) {
        *end = '\0';
        if (end == line)
            break; /* the empty line: the head's end */
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        for (char *t = value + strlen(value); t > value && (t[-1] == ' ' || t[-1] == '\t');)
            *--t = '\0';
        if (strcasecmp(line, "upgrade") == 0)
            upgrade = strcasecmp(value, "websocket") == 0;
        else if (strcasecmp(line, "connection") == 0)
            connection = ws_handshake_has_token(value, "upgrade");
        else if (strcasecmp(line, "sec-websocket-accept") == 0)
            accepted = strcmp(value, accept) == 0;
        else if (strcasecmp(line, "sec-websocket-protocol") == 0)
            chosen = value;
        else if (strcasecmp(line, "sec-websocket-extensions") == 0)
            extensions = value;
    }
    if (!upgrade)
        return "no 'Upgrade: websocket' in the server's answer";
    if (!connection)
        return "no 'Connection: Upgrade' in the server's answer";
    if (!accepted)
        return "the server's Sec-WebSocket-Accept does not match the key sent";
    if (extensions && *extensions)
        return "the server chose an extension, but none was offered";
    if (chosen && (!*chosen || strchr(chosen, ',') || !ws_handshake_has_token(offered, chosen)))
        return "the server chose a subprotocol that was not offered";
    snprintf(protocol, protocol_len, "%s", chosen ? chosen : "");
    return NULL;
}
