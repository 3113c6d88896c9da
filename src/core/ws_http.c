/* ws_http.c - parse and check the HTTP upgrade heads of RFC 6455.
 * Everything here works on a bounded buffer the caller already holds;
 * header values are inspected in place, nothing is allocated. */
#include "ws_http.h"

#include "b64.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t okt_wsh_head_len(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
            buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Does the comma-separated list v[0..n) hold token t (case-insensitive)? */
static int list_has(const char *v, size_t n, const char *t)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && ieq(v + s, e - s, t))
            return 1;
    }
    return 0;
}

/* One header line: name and trimmed value, pointing into the buffer. */
typedef struct hdr {
    const char *name, *val;
    size_t nlen, vlen;
} hdr;

/* Walk the lines of a head. *pos is the offset of the next line; returns 1
 * with the line in [*ls, *ls + *ll), 0 at the blank line, -1 on a bare LF
 * or a missing CRLF. */
static int next_line(const char *buf, size_t len, size_t *pos,
                     const char **ls, size_t *ll)
{
    size_t i = *pos;
    size_t s = i;
    while (i < len && buf[i] != '\n') {
        if (buf[i] == '\0')
            return -1;
        i++;
    }
    if (i >= len || i == s || buf[i - 1] != '\r')
        return -1;
    *ls = buf + s;
    *ll = i - 1 - s;
    *pos = i + 1;
    return *ll ? 1 : 0;
}

static int parse_hdr(const char *l, size_t n, hdr *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ':')
        return -1;   /* also rejects obsolete line folding (leading SP) */
    h->name = l;
    h->nlen = i;
    i++;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t'))
        e--;
    for (size_t k = i; k < e; k++) {
        unsigned char c = (unsigned char)l[k];
        if (c < 0x20 && c != '\t')
            return -1;
        if (c == 0x7f)
            return -1;
    }
    h->val = l + i;
    h->vlen = e - i;
    return 0;
}

/* base64 of n bytes into out (want characters + NUL); -1 (out zeroed) if
 * it cannot be made. */
static int copy_b64(char *out, const unsigned char *in, size_t n, size_t want)
{
    size_t len = 0;
    char *b = okt_b64_encode(in, n, &len, NULL);
    if (!b || len != want) {
        free(b);
        memset(out, 0, want + 1);
        return -1;
    }
    memcpy(out, b, want + 1);
    free(b);
    return 0;
}

/* A client key must be base64 of exactly 16 bytes. */
static int key_ok(const char *v, size_t n)
{
    if (n != OKT_WSH_KEY_LEN || v[22] != '=' || v[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    size_t len = 0;
    unsigned char *raw = okt_b64_decode(v, OKT_WSH_KEY_LEN, &len, NULL);
    int ok = raw != NULL && len == 16;
    free(raw);
    return ok;
}

int okt_wsh_parse_request(const char *buf, size_t len, const char *subprotocol,
                          okt_wsh_req *req, const char **why)
{
    memset(req, 0, sizeof *req);
    size_t pos = 0, ll;
    const char *l;
    if (next_line(buf, len, &pos, &l, &ll) != 1)
        return *why = "bad request line", -1;
    /* GET SP request-target SP HTTP/1.1 */
    if (ll < 14 || memcmp(l, "GET ", 4) != 0)
        return *why = "method is not GET", -1;
    const char *t = l + 4;
    const char *sp = memchr(t, ' ', ll - 4);
    if (!sp || sp == t)
        return *why = "bad request line", -1;
    size_t tlen = (size_t)(sp - t);
    size_t rest = ll - 4 - tlen - 1;
    if (rest != 8 || memcmp(sp + 1, "HTTP/1.1", 8) != 0)
        return *why = "not HTTP/1.1", -1;
    if (t[0] != '/' || tlen > OKT_WSH_PATH_MAX)
        return *why = "bad request target", -1;
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return *why = "bad request target", -1;
    memcpy(req->path, t, tlen);
    req->path[tlen] = '\0';

    int upgrade = 0, connection = 0, version = 0, nkey = 0;
    int r;
    while ((r = next_line(buf, len, &pos, &l, &ll)) == 1) {
        hdr h;
        if (parse_hdr(l, ll, &h) != 0)
            return *why = "bad header line", -1;
        if (ieq(h.name, h.nlen, "Upgrade")) {
            upgrade |= list_has(h.val, h.vlen, "websocket");
        } else if (ieq(h.name, h.nlen, "Connection")) {
            connection |= list_has(h.val, h.vlen, "Upgrade");
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Key")) {
            if (++nkey > 1 || !key_ok(h.val, h.vlen))
                return *why = "bad Sec-WebSocket-Key", -1;
            memcpy(req->key, h.val, OKT_WSH_KEY_LEN);
            req->key[OKT_WSH_KEY_LEN] = '\0';
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Version")) {
            if (version || h.vlen != 2 || memcmp(h.val, "13", 2) != 0) {
                req->bad_version = 1;
                return *why = "Sec-WebSocket-Version is not 13", -1;
            }
            version = 1;
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Protocol")) {
            if (subprotocol && *subprotocol &&
                list_has(h.val, h.vlen, subprotocol))
                req->proto_offered = 1;
        }
    }
    if (r != 0 || pos != len)
        return *why = "malformed head", -1;
    if (!upgrade)
        return *why = "no Upgrade: websocket", -1;
    if (!connection)
        return *why = "no Connection: Upgrade", -1;
    if (!nkey)
        return *why = "no Sec-WebSocket-Key", -1;
    if (!version) {
        req->bad_version = 1;
        return *why = "no Sec-WebSocket-Version", -1;
    }
    return 0;
}

int okt_wsh_check_response(const char *buf, size_t len, const char *key,
                           const char *subprotocol, int *status,
                           const char **why)
{
    *status = 0;
    size_t pos = 0, ll;
    const char *l;
    if (next_line(buf, len, &pos, &l, &ll) != 1)
        return *why = "bad status line", -1;
    /* HTTP/1.1 SP 3DIGIT [SP reason] */
    if (ll < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[8] != ' ' ||
        (ll > 12 && l[12] != ' '))
        return *why = "bad status line", -1;
    for (int i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9')
            return *why = "bad status line", -1;
        *status = *status * 10 + (l[i] - '0');
    }
    if (*status != 101)
        return *why = "server refused the upgrade", -1;

    char want[OKT_WSH_ACCEPT_LEN + 1];
    okt_wsh_accept_for(key, want);
    int upgrade = 0, connection = 0, accept = 0, r;
    while ((r = next_line(buf, len, &pos, &l, &ll)) == 1) {
        hdr h;
        if (parse_hdr(l, ll, &h) != 0)
            return *why = "bad header line", -1;
        if (ieq(h.name, h.nlen, "Upgrade")) {
            upgrade |= list_has(h.val, h.vlen, "websocket");
        } else if (ieq(h.name, h.nlen, "Connection")) {
            connection |= list_has(h.val, h.vlen, "Upgrade");
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Accept")) {
            if (accept || h.vlen != OKT_WSH_ACCEPT_LEN ||
                memcmp(h.val, want, OKT_WSH_ACCEPT_LEN) != 0)
                return *why = "wrong Sec-WebSocket-Accept", -1;
            accept = 1;
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Protocol")) {
            /* Absent is tolerated (some servers omit it); another one
             * than we offered is not. */
            if (!subprotocol || !*subprotocol ||
                !ieq(h.val, h.vlen, subprotocol))
                return *why = "unexpected Sec-WebSocket-Protocol", -1;
        } else if (ieq(h.name, h.nlen, "Sec-WebSocket-Extensions")) {
            return *why = "extension not offered", -1;
        }
    }
    if (r != 0 || pos != len)
        return *why = "malformed head", -1;
    if (!upgrade)
        return *why = "no Upgrade: websocket", -1;
    if (!connection)
        return *why = "no Connection: Upgrade", -1;
    if (!accept)
        return *why = "no Sec-WebSocket-Accept", -1;
    return 0;
}

void okt_wsh_accept_for(const char *key, char out[OKT_WSH_ACCEPT_LEN + 1])
{
    /* Keys are 24 characters; a longer one is cut (it never matches). */
    char in[64 + sizeof ws_guid];
    size_t klen = strnlen(key, 64);
    memcpy(in, key, klen);
    memcpy(in + klen, ws_guid, sizeof ws_guid - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(in, klen + sizeof ws_guid - 1, md, &mdlen, EVP_sha1(),
                   NULL) != 1 || mdlen != 20) {
        memset(out, 0, OKT_WSH_ACCEPT_LEN + 1);
        return;
    }
    copy_b64(out, md, 20, OKT_WSH_ACCEPT_LEN);
}

int okt_wsh_new_key(char out[OKT_WSH_KEY_LEN + 1])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    return copy_b64(out, raw, sizeof raw, OKT_WSH_KEY_LEN);
}
