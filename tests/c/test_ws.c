/* test_ws.c - ws.c client and server talking over loopback, plus raw
 * sockets playing a hand-written peer for what ws.c itself never sends
 * (fragments, half frames, bad upgrade requests). One thread, a poll loop
 * in the test. TLS cases use the committed PKI in tests/certs (gen.sh). */
#include "test.h"
#include "ws.h"
#include "ws_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CA_FILE "tests/certs/ca.pem"
#define OTHER_CA "tests/certs/other-ca.pem"
#define CERT_FILE "tests/certs/server.pem"
#define KEY_FILE "tests/certs/server.key"

/* ---- a tiny poll-driven loop -------------------------------------------- */

typedef struct peer {
    okt_ws *ws;
    int rc;          /* 0 while alive, -1 once step reported the end */
    okt_err err;
} peer;

static int to_okt(short re)
{
    int r = 0;
    if (re & (POLLIN | POLLHUP | POLLERR))
        r |= OKT_WANT_READ;
    if (re & (POLLOUT | POLLERR | POLLHUP))
        r |= OKT_WANT_WRITE;
    return r;
}

/* One turn over up to 4 peers (NULL entries skipped). */
static void turn(peer **ps, int n, int timeout_ms)
{
    struct pollfd pfd[4];
    int map[4];
    int k = 0, busy = 0;
    for (int i = 0; i < n; i++) {
        map[i] = -1;
        peer *p = ps[i];
        if (!p || !p->ws || p->rc)
            continue;
        if (okt_ws_pending(p->ws))
            busy = 1;
        int fd = okt_ws_fd(p->ws), ev = okt_ws_events(p->ws);
        if (fd < 0 || !ev)
            continue;
        pfd[k].fd = fd;
        pfd[k].events = (short)(((ev & OKT_WANT_READ) ? POLLIN : 0) |
                                ((ev & OKT_WANT_WRITE) ? POLLOUT : 0));
        pfd[k].revents = 0;
        map[i] = k++;
    }
    poll(pfd, (nfds_t)k, busy ? 0 : timeout_ms);
    for (int i = 0; i < n; i++) {
        peer *p = ps[i];
        if (!p || !p->ws || p->rc)
            continue;
        int re = map[i] >= 0 ? to_okt(pfd[map[i]].revents) : 0;
        p->rc = okt_ws_step(p->ws, re, &p->err);
    }
}

#define PUMP_UNTIL(cond, ms, ...)                                           \
    do {                                                                    \
        peer *ps_[] = {__VA_ARGS__};                                        \
        int64_t end_ = okt_now_ms() + (ms);                                 \
        while (!(cond) && okt_now_ms() < end_)                              \
            turn(ps_, (int)(sizeof ps_ / sizeof ps_[0]), 10);               \
    } while (0)

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accept one connection while the client peer (may be NULL) keeps turning. */
static int accept_one(int lfd, peer *c)
{
    int64_t end = okt_now_ms() + 3000;
    while (okt_now_ms() < end) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (c) {
            peer *ps[] = {c};
            turn(ps, 1, 5);
        } else {
            struct pollfd p = {lfd, POLLIN, 0};
            poll(&p, 1, 10);
        }
    }
    return -1;
}

/* A connected client/server pair of ws.c objects, both OPEN. */
typedef struct pair {
    int lfd, port;
    peer c, s;
} pair;

static int pair_open(pair *pr, const char *scheme, const char *host,
                     const okt_ws_cfg *ccfg, const okt_ws_cfg *scfg,
                     const char *path)
{
    memset(pr, 0, sizeof *pr);
    pr->lfd = listener(&pr->port);
    if (pr->lfd < 0)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "%s://%s:%d%s", scheme, host, pr->port, path);
    okt_err err;
    pr->c.ws = okt_ws_connect(url, ccfg, &err);
    if (!pr->c.ws)
        return -1;
    int fd = accept_one(pr->lfd, &pr->c);
    if (fd < 0)
        return -1;
    pr->s.ws = okt_ws_accept(fd, scfg, &err);
    if (!pr->s.ws)
        return -1;
    PUMP_UNTIL((okt_ws_state(pr->c.ws) != OKT_WS_CONNECTING &&
                okt_ws_state(pr->s.ws) != OKT_WS_CONNECTING) ||
                   pr->c.rc || pr->s.rc,
               5000, &pr->c, &pr->s);
    return (okt_ws_state(pr->c.ws) == OKT_WS_OPEN &&
            okt_ws_state(pr->s.ws) == OKT_WS_OPEN) ? 0 : -1;
}

static void pair_close(pair *pr)
{
    okt_ws_free(pr->c.ws);
    okt_ws_free(pr->s.ws);
    if (pr->lfd >= 0)
        close(pr->lfd);
}

/* Messages collected from a peer. */
typedef struct inbox {
    char *data[2048];
    size_t len[2048];
    int n;
} inbox;

static void drain(peer *p, inbox *b)
{
    const char *d;
    size_t l;
    while (p->ws && okt_ws_recv(p->ws, &d, &l) == 1 && b->n < 2048) {
        b->data[b->n] = malloc(l + 1);
        memcpy(b->data[b->n], d, l + 1);
        b->len[b->n++] = l;
    }
}

static void inbox_free(inbox *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->data[i]);
    b->n = 0;
}

/* Turn until peer p has n messages (collected into b). */
static void collect(peer *p, inbox *b, int n, int ms, peer *other)
{
    int64_t end = okt_now_ms() + ms;
    while (b->n < n && okt_now_ms() < end) {
        peer *ps[] = {p, other};
        turn(ps, 2, 10);
        drain(p, b);
    }
}

/* ---- raw peer helpers --------------------------------------------------- */

static size_t frame(unsigned char *o, int fin, int op, int masked,
                    const void *pl, size_t n)
{
    size_t k = 0;
    o[k++] = (unsigned char)((fin ? 0x80 : 0) | op);
    unsigned char m = masked ? 0x80 : 0;
    if (n < 126) {
        o[k++] = (unsigned char)(m | n);
    } else if (n < 65536) {
        o[k++] = m | 126;
        o[k++] = (unsigned char)(n >> 8);
        o[k++] = (unsigned char)n;
    } else {
        o[k++] = m | 127;
        for (int i = 7; i >= 0; i--)
            o[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked) {
        memcpy(o + k, key, 4);
        k += 4;
    }
    const unsigned char *p = pl;
    for (size_t i = 0; i < n; i++)
        o[k + i] = masked ? (unsigned char)(p[i] ^ key[i & 3]) : p[i];
    return k + n;
}

/* Parse one unmasked or masked frame; returns bytes used or 0. */
static size_t unframe(const unsigned char *b, size_t len, int *fin, int *op,
                      unsigned char *pl, size_t *pn)
{
    if (len < 2)
        return 0;
    *fin = b[0] >> 7;
    *op = b[0] & 15;
    int masked = b[1] >> 7;
    uint64_t n = b[1] & 127;
    size_t k = 2;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = ((uint64_t)b[2] << 8) | b[3];
        k = 4;
    } else if (n == 127) {
        if (len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | b[2 + i];
        k = 10;
    }
    unsigned char key[4] = {0};
    if (masked) {
        if (len < k + 4)
            return 0;
        memcpy(key, b + k, 4);
        k += 4;
    }
    if (len < k + n)
        return 0;
    for (size_t i = 0; i < n; i++)
        pl[i] = masked ? (unsigned char)(b[k + i] ^ key[i & 3]) : b[k + i];
    *pn = (size_t)n;
    return k + (size_t)n;
}

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void raw_send(int fd, const void *d, size_t n)
{
    const char *p = d;
    while (n) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EAGAIN) {
            struct pollfd q = {fd, POLLOUT, 0};
            poll(&q, 1, 100);
            continue;
        }
        if (r <= 0)
            return;
        p += r;
        n -= (size_t)r;
    }
}

/* Read from raw fd into b (appending) while turning p, until pred holds,
 * EOF, or the time is up. Returns 1 when EOF was seen. */
typedef struct rawbuf {
    unsigned char d[1 << 16];
    size_t n;
    int eof;
} rawbuf;

static void raw_pump(int fd, rawbuf *b, peer *p, int ms,
                     int (*pred)(rawbuf *))
{
    int64_t end = okt_now_ms() + ms;
    while (okt_now_ms() < end && !b->eof && !(pred && pred(b))) {
        if (p) {
            peer *ps[] = {p};
            turn(ps, 1, 5);
        }
        struct pollfd q = {fd, POLLIN, 0};
        poll(&q, 1, p ? 0 : 10);
        ssize_t r = recv(fd, b->d + b->n, sizeof b->d - b->n, 0);
        if (r > 0)
            b->n += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            b->eof = 1;
    }
}

static int has_head(rawbuf *b)
{
    return okt_wsh_head_len((const char *)b->d, b->n) != 0;
}

/* Independent check of the accept value: OpenSSL's SHA-1 + base64 here. */
static void expect_accept(const char *key, char out[64])
{
    char in[128];
    snprintf(in, sizeof in, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml;
    EVP_Digest(in, strlen(in), md, &ml, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)ml);
}

/* Raw client: upgrade against ws.c server s, return fd (response in b). */
static int raw_upgrade(int port, peer *s, int lfd, rawbuf *b)
{
    int fd = raw_connect(port);
    int sfd = accept_one(lfd, NULL);
    okt_err err;
    s->ws = okt_ws_accept(sfd, NULL, &err);
    s->rc = 0;
    static const char req[] =
        "GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: chat, json\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    raw_send(fd, req, sizeof req - 1);
    memset(b, 0, sizeof *b);
    raw_pump(fd, b, s, 3000, has_head);
    return fd;
}

/* ---- tests: the HTTP helpers -------------------------------------------- */

TEST(accept_vector)
{
    char out[OKT_WSH_ACCEPT_LEN + 1];
    okt_wsh_accept_for("dGhlIHNhbXBsZSBub25jZQ==", out);   /* RFC 6455 1.3 */
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char k1[OKT_WSH_KEY_LEN + 1], k2[OKT_WSH_KEY_LEN + 1];
    CHECK(okt_wsh_new_key(k1) == 0 && okt_wsh_new_key(k2) == 0);
    CHECK(strlen(k1) == 24 && strcmp(k1, k2) != 0 && k1[22] == '=');
}

TEST(request_parser)
{
    okt_wsh_req r;
    const char *why = NULL;
    const char good[] = "GET /a?b=1 HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\n"
                        "CONNECTION: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: json\r\n\r\n";
    CHECK(okt_wsh_head_len(good, sizeof good - 1) == sizeof good - 1);
    CHECK(okt_wsh_head_len(good, sizeof good - 2) == 0);
    CHECK(okt_wsh_parse_request(good, sizeof good - 1, "json", &r, &why) == 0);
    CHECK_STR(r.path, "/a?b=1");
    CHECK(r.proto_offered == 1);
    CHECK(okt_wsh_parse_request(good, sizeof good - 1, "xml", &r, &why) == 0);
    CHECK(r.proto_offered == 0);
    /* a short key (15 bytes) is refused */
    const char badkey[] = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
    CHECK(okt_wsh_parse_request(badkey, sizeof badkey - 1, "json", &r, &why) == -1);
    CHECK(why && strstr(why, "Key"));
    const char lf[] = "GET / HTTP/1.1\nUpgrade: websocket\n\n";
    CHECK(okt_wsh_parse_request(lf, sizeof lf - 1, "json", &r, &why) == -1);
}

TEST(response_checker)
{
    const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                      "Sec-WebSocket-Protocol: json\r\n\r\n";
    int st;
    const char *why;
    CHECK(okt_wsh_check_response(ok, sizeof ok - 1, key, "json", &st, &why) == 0);
    CHECK(st == 101);
    CHECK(okt_wsh_check_response(ok, sizeof ok - 1, "AAAAAAAAAAAAAAAAAAAAAA==", "json",
                                 &st, &why) == -1);
    CHECK(why && strstr(why, "Accept"));
    CHECK(okt_wsh_check_response(ok, sizeof ok - 1, key, "xml", &st, &why) == -1);
    const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    CHECK(okt_wsh_check_response(nf, sizeof nf - 1, key, "json", &st, &why) == -1);
    CHECK(st == 404);
}

/* ---- tests: ws.c against ws.c ------------------------------------------- */

TEST(handshake_and_echo)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/chat?x=1#frag") == 0);
    CHECK_STR(okt_ws_path(pr.s.ws), "/chat?x=1");
    okt_err err;
    CHECK(okt_ws_send(pr.c.ws, "[\"ping\",{\"qid\":\"1\"}]", 20, &err) == 0);
    inbox in = {0};
    collect(&pr.s, &in, 1, 3000, &pr.c);
    CHECK(in.n == 1 && in.len[0] == 20 && memcmp(in.data[0], "[\"ping\"", 7) == 0);
    CHECK(okt_ws_send(pr.s.ws, "{\"r\":1}", 7, &err) == 0);
    inbox back = {0};
    collect(&pr.c, &back, 1, 3000, &pr.s);
    CHECK(back.n == 1 && back.len[0] == 7 && strcmp(back.data[0], "{\"r\":1}") == 0);
    /* empty text messages are messages too */
    CHECK(okt_ws_send(pr.c.ws, "", 0, &err) == 0);
    collect(&pr.s, &in, 2, 3000, &pr.c);
    CHECK(in.n == 2 && in.len[1] == 0);
    CHECK(pr.c.rc == 0 && pr.s.rc == 0);
    inbox_free(&in);
    inbox_free(&back);
    pair_close(&pr);
}

TEST(send_while_connecting)
{
    int port;
    int lfd = listener(&port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    okt_err err;
    peer c = {0}, s = {0};
    c.ws = okt_ws_connect(url, NULL, &err);
    CHECK(c.ws != NULL);
    CHECK(okt_ws_state(c.ws) == OKT_WS_CONNECTING);
    CHECK(okt_ws_send(c.ws, "early", 5, &err) == 0);
    s.ws = okt_ws_accept(accept_one(lfd, &c), NULL, &err);
    CHECK(okt_ws_send(s.ws, "early-s", 7, &err) == 0);
    inbox a = {0}, b = {0};
    collect(&s, &a, 1, 3000, &c);
    collect(&c, &b, 1, 3000, &s);
    CHECK(a.n == 1 && strcmp(a.data[0], "early") == 0);
    CHECK(b.n == 1 && strcmp(b.data[0], "early-s") == 0);
    CHECK_STR(okt_ws_path(s.ws), "/");
    inbox_free(&a);
    inbox_free(&b);
    okt_ws_free(c.ws);
    okt_ws_free(s.ws);
    close(lfd);
}

static char *big_text(size_t n, unsigned seed)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (char)(' ' + (seed >> 16) % 95);
    }
    return p;
}

TEST(large_messages_both_ways)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    size_t n = 5u * 1024u * 1024u + 7;
    char *a = big_text(n, 1), *b = big_text(n, 2);
    okt_err err;
    CHECK(okt_ws_send(pr.c.ws, a, n, &err) == 0);
    CHECK(okt_ws_send(pr.s.ws, b, n, &err) == 0);
    CHECK(okt_ws_send(pr.c.ws, "after", 5, &err) == 0);
    inbox x = {0}, y = {0};
    int64_t end = okt_now_ms() + 10000;
    while ((x.n < 2 || y.n < 1) && okt_now_ms() < end) {
        peer *ps[] = {&pr.c, &pr.s};
        turn(ps, 2, 10);
        drain(&pr.s, &x);
        drain(&pr.c, &y);
    }
    CHECK(x.n == 2 && x.len[0] == n && memcmp(x.data[0], a, n) == 0);
    CHECK(x.n == 2 && strcmp(x.data[1], "after") == 0);
    CHECK(y.n == 1 && y.len[0] == n && memcmp(y.data[0], b, n) == 0);
    okt_ws_stats st;
    okt_ws_get_stats(pr.c.ws, &st);
    CHECK(st.bytes_out > n && st.bytes_in > n && st.msgs_out == 2 && st.msgs_in == 1);
    free(a);
    free(b);
    inbox_free(&x);
    inbox_free(&y);
    pair_close(&pr);
}

TEST(many_small_in_order)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    okt_err err;
    char m[32];
    for (int i = 0; i < 1500; i++) {
        int l = snprintf(m, sizeof m, "[\"m\",{\"qid\":%d}]", i);
        okt_ws_send(pr.c.ws, m, (size_t)l, &err);
    }
    inbox x = {0};
    collect(&pr.s, &x, 1500, 5000, &pr.c);
    CHECK(x.n == 1500);
    int ordered = 1;
    for (int i = 0; i < x.n; i++) {
        snprintf(m, sizeof m, "[\"m\",{\"qid\":%d}]", i);
        ordered &= strcmp(x.data[i], m) == 0;
    }
    CHECK(ordered);
    inbox_free(&x);
    pair_close(&pr);
}

TEST(ping_pong)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    okt_err err;
    okt_ws_stats st;
    CHECK(okt_ws_ping(pr.c.ws, "hi", 2, &err) == 0);
    CHECK(okt_ws_ping(pr.s.ws, NULL, 0, &err) == 0);
    char big[126] = {0};
    CHECK(okt_ws_ping(pr.c.ws, big, 126, &err) == -1 && err.code == OKT_EINVAL);
    okt_ws_stats sc = {0};
    PUMP_UNTIL((okt_ws_get_stats(pr.c.ws, &st), st.pongs_in == 1) &&
                   (okt_ws_get_stats(pr.s.ws, &sc), sc.pongs_in == 1),
               3000, &pr.c, &pr.s);
    okt_ws_get_stats(pr.c.ws, &st);
    okt_ws_get_stats(pr.s.ws, &sc);
    CHECK(st.pongs_in == 1 && sc.pongs_in == 1);
    CHECK(okt_ws_state(pr.c.ws) == OKT_WS_OPEN);
    pair_close(&pr);
}

TEST(close_from_client)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    okt_err err;
    CHECK(okt_ws_send(pr.c.ws, "last", 4, &err) == 0);
    CHECK(okt_ws_close(pr.c.ws, 1000, "bye") == 0);
    CHECK(okt_ws_state(pr.c.ws) == OKT_WS_CLOSING);
    CHECK(okt_ws_send(pr.c.ws, "x", 1, &err) == -1 && err.code == OKT_ECLOSED);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.s.rc == -1 && pr.s.err.code == OKT_ECLOSED);
    CHECK(strstr(pr.s.err.msg, "1000") && strstr(pr.s.err.msg, "bye"));
    CHECK(okt_ws_peer_close_code(pr.s.ws) == 1000);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ECLOSED);
    CHECK(okt_ws_peer_close_code(pr.c.ws) == 1000);
    CHECK(okt_ws_state(pr.c.ws) == OKT_WS_CLOSED && okt_ws_fd(pr.c.ws) == -1);
    CHECK(okt_ws_events(pr.c.ws) == 0);
    /* the message sent before the close still arrived */
    const char *d;
    size_t l;
    CHECK(okt_ws_recv(pr.s.ws, &d, &l) == 1 && l == 4 && memcmp(d, "last", 4) == 0);
    /* sticky */
    okt_err e2;
    CHECK(okt_ws_step(pr.s.ws, OKT_WANT_READ, &e2) == -1 && e2.code == OKT_ECLOSED);
    CHECK_STR(e2.msg, pr.s.err.msg);
    CHECK(okt_ws_send(pr.s.ws, "x", 1, &e2) == -1 && e2.code == OKT_ECLOSED);
    pair_close(&pr);
}

TEST(close_from_server)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    CHECK(okt_ws_close(pr.s.ws, 4001, "go away") == 0);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ECLOSED);
    CHECK(strstr(pr.c.err.msg, "4001") && strstr(pr.c.err.msg, "go away"));
    CHECK(okt_ws_peer_close_code(pr.c.ws) == 4001);
    CHECK(pr.s.rc == -1 && pr.s.err.code == OKT_ECLOSED);
    pair_close(&pr);
}

/* Review B: okt_err texts are UTF-8 (okt.h) and a peer's close reason is
 * wire bytes: wslay fails such a close with 1007, so no invalid byte
 * reaches the error text. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1
              : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return 0;
        p++;
        while (n--) {
            if ((*p & 0xC0) != 0x80)
                return 0;
            p++;
        }
    }
    return 1;
}

TEST(close_reason_not_utf8)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    CHECK(okt_ws_close(pr.s.ws, 4001, "bad \xff\xfe\xc0 reason\n") == 0);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_EPROTOCOL);
    CHECK(valid_utf8(pr.c.err.msg));
    CHECK(strstr(pr.c.err.msg, "1007") != NULL);
    pair_close(&pr);
}

TEST(message_limit)
{
    okt_ws_cfg sc;
    okt_ws_cfg_init(&sc);
    sc.max_msg = 1000;
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, &sc, "/") == 0);
    char *m = big_text(1001, 3);
    okt_err err;
    /* at the limit: fine */
    CHECK(okt_ws_send(pr.c.ws, m, 1000, &err) == 0);
    inbox x = {0};
    collect(&pr.s, &x, 1, 3000, &pr.c);
    CHECK(x.n == 1 && x.len[0] == 1000);
    /* one byte over: close 1009 and an error on the server */
    CHECK(okt_ws_send(pr.c.ws, m, 1001, &err) == 0);
    PUMP_UNTIL(pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.s.rc == -1 && pr.s.err.code == OKT_EPROTOCOL);
    CHECK(strstr(pr.s.err.msg, "max_msg") && strstr(pr.s.err.msg, "1009"));
    PUMP_UNTIL(pr.c.rc, 3000, &pr.c);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ECLOSED);
    CHECK(okt_ws_peer_close_code(pr.c.ws) == 1009);
    free(m);
    inbox_free(&x);
    pair_close(&pr);

    /* the client enforces its own limit too */
    okt_ws_cfg cc;
    okt_ws_cfg_init(&cc);
    cc.max_msg = 10;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", &cc, NULL, "/") == 0);
    CHECK(okt_ws_send(pr.s.ws, "0123456789A", 11, &err) == 0);
    PUMP_UNTIL(pr.c.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_EPROTOCOL);
    PUMP_UNTIL(pr.s.rc, 3000, &pr.s);
    CHECK(okt_ws_peer_close_code(pr.s.ws) == 1009);
    pair_close(&pr);
}

TEST(connect_refused)
{
    int port;
    int lfd = listener(&port);
    close(lfd);   /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    okt_err err;
    peer c = {0};
    c.ws = okt_ws_connect(url, NULL, &err);
    if (!c.ws) {
        CHECK(err.code == OKT_EREFUSED);
    } else {
        PUMP_UNTIL(c.rc, 3000, &c);
        CHECK(c.rc == -1 && c.err.code == OKT_EREFUSED);
        okt_ws_free(c.ws);
    }
    CHECK(okt_ws_connect("http://x/", NULL, &err) == NULL && err.code == OKT_EINVAL);
    CHECK(okt_ws_connect("ws://:80/", NULL, &err) == NULL && err.code == OKT_EINVAL);
    CHECK(okt_ws_connect("ws://h:99999/", NULL, &err) == NULL && err.code == OKT_EINVAL);
    CHECK(okt_ws_connect("ws://h:80x", NULL, &err) == NULL && err.code == OKT_EINVAL);
}

TEST(server_refuses_upgrade)
{
    /* a plain HTTP server answering 404: the client fails the handshake */
    int port;
    int lfd = listener(&port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    okt_err err;
    peer c = {0};
    c.ws = okt_ws_connect(url, NULL, &err);
    int fd = accept_one(lfd, &c);
    rawbuf *b = calloc(1, sizeof *b);
    raw_pump(fd, b, &c, 3000, has_head);
    CHECK(strstr((char *)b->d, "Sec-WebSocket-Protocol: json\r\n") != NULL);
    CHECK(strstr((char *)b->d, "Sec-WebSocket-Version: 13\r\n") != NULL);
    raw_send(fd, "HTTP/1.1 404 Not Found\r\n\r\n", 26);
    PUMP_UNTIL(c.rc, 3000, &c);
    CHECK(c.rc == -1 && c.err.code == OKT_EPROTOCOL && strstr(c.err.msg, "404"));
    okt_ws_free(c.ws);
    close(fd);
    close(lfd);
    free(b);
}

/* ---- tests: ws.c against a hand-written peer ----------------------------- */

static int has_frame(rawbuf *b)
{
    int fin, op;
    size_t n;
    static unsigned char tmp[1 << 16];
    return unframe(b->d, b->n, &fin, &op, tmp, &n) != 0;
}

TEST(server_fragments_one_byte_at_a_time)
{
    int port;
    int lfd = listener(&port);
    peer s = {0};
    rawbuf *b = calloc(1, sizeof *b);
    int fd = raw_upgrade(port, &s, lfd, b);
    CHECK(memcmp(b->d, "HTTP/1.1 101 ", 13) == 0);
    char acc[64];
    expect_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
    char line[128];
    snprintf(line, sizeof line, "Sec-WebSocket-Accept: %s\r\n", acc);
    CHECK(strstr((char *)b->d, line) != NULL);
    CHECK(strstr((char *)b->d, "Sec-WebSocket-Protocol: json\r\n") != NULL);
    CHECK_STR(okt_ws_path(s.ws), "/raw");

    /* "Hel" + ping + "lo " + "world", masked, fed one byte per turn */
    unsigned char w[256];
    size_t k = 0;
    k += frame(w + k, 0, 1, 1, "Hel", 3);
    k += frame(w + k, 1, 9, 1, "p!", 2);
    k += frame(w + k, 0, 0, 1, "lo ", 3);
    k += frame(w + k, 1, 0, 1, "world", 5);
    peer *ps[] = {&s};
    for (size_t i = 0; i < k; i++) {
        raw_send(fd, w + i, 1);
        turn(ps, 1, 5);
    }
    inbox x = {0};
    collect(&s, &x, 1, 3000, NULL);
    CHECK(x.n == 1 && strcmp(x.data[0], "Hello world") == 0);
    /* the pong for the ping in the middle */
    memset(b, 0, sizeof *b);
    raw_pump(fd, b, &s, 3000, has_frame);
    int fin, op;
    unsigned char pl[256];
    size_t n = 0;
    CHECK(unframe(b->d, b->n, &fin, &op, pl, &n) > 0 && op == 10 && n == 2 &&
          memcmp(pl, "p!", 2) == 0);
    CHECK((b->d[1] & 0x80) == 0);   /* server frames are not masked */

    /* an unmasked client frame is a protocol error: close 1002 */
    k = frame(w, 1, 1, 0, "bad", 3);
    raw_send(fd, w, k);
    PUMP_UNTIL(s.rc, 3000, &s);
    CHECK(s.rc == -1 && s.err.code == OKT_EPROTOCOL && strstr(s.err.msg, "1002"));
    memset(b, 0, sizeof *b);
    raw_pump(fd, b, NULL, 1000, has_frame);
    CHECK(unframe(b->d, b->n, &fin, &op, pl, &n) > 0 && op == 8 && n >= 2 &&
          pl[0] * 256 + pl[1] == 1002);
    inbox_free(&x);
    okt_ws_free(s.ws);
    close(fd);
    close(lfd);
    free(b);
}

/* An okt_ws client against a raw server socket: connect, accept, read the
 * upgrade request into b and compute the Sec-WebSocket-Accept the server
 * must send back (acc). Returns the server's end of the connection. */
static int raw_server_for_client(const char *path, int *lfd, peer *c,
                                 rawbuf *b, char acc[64])
{
    int port;
    *lfd = listener(&port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path);
    okt_err err;
    c->ws = okt_ws_connect(url, NULL, &err);
    int fd = accept_one(*lfd, c);
    raw_pump(fd, b, c, 3000, has_head);
    const char *kp = strstr((char *)b->d, "Sec-WebSocket-Key: ");
    CHECK(kp != NULL);
    char key[25] = {0};
    if (kp)
        memcpy(key, kp + 19, 24);
    expect_accept(key, acc);
    return fd;
}

/* The server's 101 answer to raw_server_for_client's client (acc its
 * Sec-WebSocket-Accept) into w: its length. */
static size_t head_101(unsigned char *w, size_t cap, const char *acc)
{
    int k = snprintf((char *)w, cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: json\r\n\r\n", acc);
    return k > 0 ? (size_t)k : 0;
}

TEST(client_gets_fragments_with_the_101)
{
    int lfd;
    peer c = {0};
    rawbuf *b = calloc(1, sizeof *b);
    char acc[64];
    int fd = raw_server_for_client("/x", &lfd, &c, b, acc);
    /* 101 and the first frames in one write: ws.c must hand the bytes past
     * the head to wslay. */
    unsigned char w[1024];
    size_t m = head_101(w, sizeof w, acc);
    m += frame(w + m, 0, 1, 0, "{\"a\":", 5);
    m += frame(w + m, 1, 9, 0, "", 0);
    m += frame(w + m, 1, 0, 0, "1}", 2);
    m += frame(w + m, 1, 1, 0, "second", 6);
    raw_send(fd, w, m);
    inbox x = {0};
    collect(&c, &x, 2, 3000, NULL);
    CHECK(x.n == 2 && strcmp(x.data[0], "{\"a\":1}") == 0 && strcmp(x.data[1], "second") == 0);
    /* the client answered the ping with a masked pong */
    memset(b, 0, sizeof *b);
    raw_pump(fd, b, &c, 3000, has_frame);
    int fin, op;
    unsigned char pl[64];
    size_t n;
    CHECK(unframe(b->d, b->n, &fin, &op, pl, &n) > 0 && op == 10 && n == 0);
    CHECK((b->d[1] & 0x80) != 0);

    /* then the server vanishes in the middle of a frame */
    unsigned char half[16] = {0x81, 100, 'a', 'b', 'c'};
    raw_send(fd, half, 5);
    PUMP_UNTIL(0, 100, &c);
    close(fd);
    PUMP_UNTIL(c.rc, 3000, &c);
    CHECK(c.rc == -1 && c.err.code == OKT_ECLOSED && strstr(c.err.msg, "mid-frame"));
    inbox_free(&x);
    okt_ws_free(c.ws);
    close(lfd);
    free(b);
}

TEST(client_reads_101_one_byte_at_a_time)
{
    int lfd;
    peer c = {0};
    rawbuf *b = calloc(1, sizeof *b);
    char acc[64];
    int fd = raw_server_for_client("/", &lfd, &c, b, acc);
    unsigned char w[512];
    int k = snprintf((char *)w, sizeof w,
                     "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                     "connection: upgrade\r\nsec-websocket-accept: %s\r\n\r\n", acc);
    size_t m = (size_t)k;
    m += frame(w + m, 1, 1, 0, "[\"pong\",{}]", 11);
    peer *ps[] = {&c};
    for (size_t i = 0; i < m; i++) {
        CHECK(c.rc == 0);
        raw_send(fd, w + i, 1);
        turn(ps, 1, 5);
        /* still connecting until the last byte of the head */
        if (i + 1 < (size_t)k && okt_ws_state(c.ws) != OKT_WS_CONNECTING) {
            CHECK(0);
            break;
        }
    }
    inbox x = {0};
    collect(&c, &x, 1, 3000, NULL);
    CHECK(x.n == 1 && strcmp(x.data[0], "[\"pong\",{}]") == 0);
    CHECK(okt_ws_state(c.ws) == OKT_WS_OPEN);
    inbox_free(&x);
    okt_ws_free(c.ws);
    close(fd);
    close(lfd);
    free(b);
}

TEST(client_vanishes_mid_frame)
{
    int port;
    int lfd = listener(&port);
    peer s = {0};
    rawbuf *b = calloc(1, sizeof *b);
    int fd = raw_upgrade(port, &s, lfd, b);
    CHECK(memcmp(b->d, "HTTP/1.1 101 ", 13) == 0);
    unsigned char w[64];
    size_t k = frame(w, 1, 1, 1, "0123456789abcdef", 16);
    raw_send(fd, w, k - 6);   /* header + part of the payload */
    PUMP_UNTIL(0, 100, &s);
    CHECK(s.rc == 0 && okt_ws_state(s.ws) == OKT_WS_OPEN);
    close(fd);
    PUMP_UNTIL(s.rc, 3000, &s);
    CHECK(s.rc == -1 && s.err.code == OKT_ECLOSED && strstr(s.err.msg, "mid-frame"));
    okt_ws_free(s.ws);
    close(lfd);
    free(b);
}

TEST(peer_resets_while_we_send)
{
    /* the raw client stops reading and resets: the send path fails and the
     * server ends with "closed", not a crash or SIGPIPE */
    int port;
    int lfd = listener(&port);
    peer s = {0};
    rawbuf *b = calloc(1, sizeof *b);
    int fd = raw_upgrade(port, &s, lfd, b);
    CHECK(memcmp(b->d, "HTTP/1.1 101 ", 13) == 0);
    size_t n = 8u * 1024u * 1024u;
    char *big = big_text(n, 7);
    okt_err err;
    CHECK(okt_ws_send(s.ws, big, n, &err) == 0);
    PUMP_UNTIL(0, 50, &s);
    CHECK(s.rc == 0 && (okt_ws_events(s.ws) & OKT_WANT_WRITE));
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);   /* RST */
    PUMP_UNTIL(s.rc, 3000, &s);
    CHECK(s.rc == -1 && s.err.code == OKT_ECLOSED);
    CHECK(okt_ws_send(s.ws, "x", 1, &err) == -1 && err.code == OKT_ECLOSED);
    free(big);
    okt_ws_free(s.ws);
    close(lfd);
    free(b);
}

static void bad_request(int lfd, int port, const char *req, size_t len,
                        const okt_ws_cfg *cfg, const char *want)
{
    int fd = raw_connect(port);
    okt_err err;
    peer s = {0};
    s.ws = okt_ws_accept(accept_one(lfd, NULL), cfg, &err);
    raw_send(fd, req, len);
    rawbuf *b = calloc(1, sizeof *b);
    raw_pump(fd, b, &s, 3000, NULL);   /* until EOF */
    CHECK(b->eof);
    CHECK(b->n > 12 && memcmp(b->d, "HTTP/1.1 400 ", 13) == 0);
    PUMP_UNTIL(s.rc, 1000, &s);
    CHECK(s.rc == -1 && s.err.code == OKT_EPROTOCOL);
    if (!strstr(s.err.msg, want)) {
        fprintf(stderr, "  want \"%s\" in \"%s\"\n", want, s.err.msg);
        CHECK(0);
    }
    okt_ws_free(s.ws);
    close(fd);
    free(b);
}

#define R(s) s, sizeof s - 1

TEST(bad_upgrade_requests)
{
    int port;
    int lfd = listener(&port);
    bad_request(lfd, port, R("GET / HTTP/1.1\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        NULL, "Upgrade");
    bad_request(lfd, port, R("GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        NULL, "Connection");
    bad_request(lfd, port, R("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"), NULL, "Key");
    bad_request(lfd, port, R("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: not-base64!!!!!!!!!!!==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        NULL, "Key");
    bad_request(lfd, port, R("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"),
        NULL, "Version");
    bad_request(lfd, port, R("POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        NULL, "GET");
    bad_request(lfd, port, R("GET / HTTP/1.0\r\n\r\n"), NULL, "HTTP/1.1");
    /* a head over max_handshake, with or without its blank line */
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_handshake = 256;
    char big[600];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    bad_request(lfd, port, big, sizeof big, &cfg, "max_handshake");
    memcpy(big + sizeof big - 4, "\r\n\r\n", 4);
    bad_request(lfd, port, big, sizeof big, &cfg, "max_handshake");
    close(lfd);
}

TEST(handshake_at_limit)
{
    /* a request head of exactly max_handshake bytes is served */
    int port;
    int lfd = listener(&port);
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_handshake = 512;
    char req[512];
    const char *pre = "GET /lim HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\nX-Pad: ";
    size_t pl = strlen(pre);
    memcpy(req, pre, pl);
    memset(req + pl, 'p', sizeof req - pl - 4);
    memcpy(req + sizeof req - 4, "\r\n\r\n", 4);
    int fd = raw_connect(port);
    okt_err err;
    peer s = {0};
    s.ws = okt_ws_accept(accept_one(lfd, NULL), &cfg, &err);
    raw_send(fd, req, sizeof req);
    rawbuf *b = calloc(1, sizeof *b);
    raw_pump(fd, b, &s, 3000, has_head);
    CHECK(b->n > 13 && memcmp(b->d, "HTTP/1.1 101 ", 13) == 0);
    /* no subprotocol offered: none echoed */
    CHECK(strstr((char *)b->d, "Sec-WebSocket-Protocol") == NULL);
    CHECK(s.rc == 0 && okt_ws_state(s.ws) == OKT_WS_OPEN);
    CHECK_STR(okt_ws_path(s.ws), "/lim");
    okt_ws_free(s.ws);
    close(fd);
    close(lfd);
    free(b);
}

/* ---- tests: what an idle connection holds -------------------------------- */

/* Well under the wslay context's 9 KiB (okt_ws_mem counts it while held):
 * an idle connection is its struct and nothing else. */
#define IDLE_MEM 4096u

TEST(idle_holds_no_context)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    okt_err err;
    inbox x = {0}, y = {0};
    for (int i = 0; i < 3; i++) {
        CHECK(okt_ws_send(pr.c.ws, "[\"ping\",{}]", 11, &err) == 0);
        collect(&pr.s, &x, i + 1, 3000, &pr.c);
        CHECK(okt_ws_send(pr.s.ws, "[\"pong\",{}]", 11, &err) == 0);
        collect(&pr.c, &y, i + 1, 3000, &pr.s);
    }
    CHECK(x.n == 3 && y.n == 3);
    PUMP_UNTIL(0, 30, &pr.c, &pr.s);
    CHECK(okt_ws_mem(pr.c.ws) < IDLE_MEM && okt_ws_mem(pr.s.ws) < IDLE_MEM);
    /* a ping and its pong go through wslay, and the context goes again */
    CHECK(okt_ws_ping(pr.c.ws, "p", 1, &err) == 0);
    CHECK(okt_ws_mem(pr.c.ws) >= IDLE_MEM);   /* queued in a context */
    okt_ws_stats st;
    for (int i = 0; i < 300; i++) {
        PUMP_UNTIL(0, 10, &pr.c, &pr.s);
        okt_ws_get_stats(pr.c.ws, &st);
        if (st.pongs_in)
            break;
    }
    CHECK(st.pongs_in == 1);
    PUMP_UNTIL(0, 30, &pr.c, &pr.s);
    CHECK(okt_ws_mem(pr.c.ws) < IDLE_MEM && okt_ws_mem(pr.s.ws) < IDLE_MEM);
    /* and the connection still works both ways */
    CHECK(okt_ws_send(pr.c.ws, "again", 5, &err) == 0);
    collect(&pr.s, &x, 4, 3000, &pr.c);
    CHECK(x.n == 4 && strcmp(x.data[3], "again") == 0);
    inbox_free(&x);
    inbox_free(&y);
    pair_close(&pr);
}

/* The context is kept while wslay holds part of a frame, or a fragmented
 * message is half received, across turns with nothing new: then it goes. */
TEST(context_kept_mid_frame_and_mid_message)
{
    int lfd;
    peer c = {0};
    rawbuf *b = calloc(1, sizeof *b);
    char acc[64];
    int fd = raw_server_for_client("/", &lfd, &c, b, acc);
    unsigned char w[1024];
    raw_send(fd, w, head_101(w, sizeof w, acc));
    PUMP_UNTIL(okt_ws_state(c.ws) == OKT_WS_OPEN, 3000, &c);
    PUMP_UNTIL(0, 20, &c);
    CHECK(okt_ws_mem(c.ws) < IDLE_MEM);

    /* part of a header, then part of a payload */
    size_t m = frame(w, 1, 1, 0, "whole frame", 11);
    raw_send(fd, w, 1);
    PUMP_UNTIL(0, 30, &c);
    CHECK(okt_ws_mem(c.ws) >= IDLE_MEM);
    raw_send(fd, w + 1, 5);
    PUMP_UNTIL(0, 30, &c);
    CHECK(okt_ws_mem(c.ws) >= IDLE_MEM);
    raw_send(fd, w + 6, m - 6);
    inbox x = {0};
    collect(&c, &x, 1, 3000, NULL);
    CHECK(x.n == 1 && strcmp(x.data[0], "whole frame") == 0);
    PUMP_UNTIL(0, 20, &c);
    CHECK(okt_ws_mem(c.ws) < IDLE_MEM);

    /* a first fragment, whole frames, then a pause, then the rest: the
     * ping between them is answered meanwhile */
    m = frame(w, 0, 1, 0, "frag", 4);
    raw_send(fd, w, m);
    PUMP_UNTIL(0, 30, &c);
    CHECK(okt_ws_mem(c.ws) >= IDLE_MEM);
    m = frame(w, 1, 9, 0, "pi", 2);
    raw_send(fd, w, m);
    PUMP_UNTIL(0, 30, &c);
    CHECK(okt_ws_mem(c.ws) >= IDLE_MEM);
    m = frame(w, 0, 0, 0, "men", 3);
    m += frame(w + m, 1, 0, 0, "ted", 3);
    raw_send(fd, w, m);
    collect(&c, &x, 2, 3000, NULL);
    CHECK(x.n == 2 && strcmp(x.data[1], "fragmented") == 0);
    PUMP_UNTIL(0, 20, &c);
    CHECK(okt_ws_mem(c.ws) < IDLE_MEM);
    memset(b, 0, sizeof *b);
    raw_pump(fd, b, &c, 3000, has_frame);
    int fin, op;
    unsigned char pl[64];
    size_t n = 0;
    CHECK(unframe(b->d, b->n, &fin, &op, pl, &n) > 0 && op == 10 && n == 2 &&
          memcmp(pl, "pi", 2) == 0);

    /* our frames, made without a context, as a peer reads them: masked,
     * the one-byte and two-byte length forms (large_messages_both_ways
     * sends the eight-byte one) */
    static char big[65000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 23);
    size_t lens[] = {0, 1, 7, 125, 126, 60000, 64511};
    okt_err err;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK(okt_ws_mem(c.ws) < IDLE_MEM + lens[i] + 64);
        CHECK(okt_ws_send(c.ws, big, lens[i], &err) == 0);
        memset(b, 0, sizeof *b);
        raw_pump(fd, b, &c, 3000, has_frame);
        static unsigned char got[sizeof big];
        n = 1;
        CHECK(unframe(b->d, b->n, &fin, &op, got, &n) == b->n && fin &&
              op == 1 && n == lens[i] && memcmp(got, big, n) == 0);
        CHECK((b->d[1] & 0x80) != 0);
    }
    inbox_free(&x);
    okt_ws_free(c.ws);
    close(fd);
    close(lfd);
    free(b);
}

/* ---- tests: TLS ---------------------------------------------------------- */

static void tls_cfgs(okt_ws_cfg *c, okt_ws_cfg *s, const char *cafile, int verify)
{
    okt_ws_cfg_init(c);
    okt_ws_cfg_init(s);
    c->cafile = cafile;
    c->verify = verify;
    s->certfile = CERT_FILE;
    s->keyfile = KEY_FILE;
}

TEST(wss_verified)
{
    okt_ws_cfg c, s;
    tls_cfgs(&c, &s, CA_FILE, 1);
    pair pr;
    CHECK(pair_open(&pr, "wss", "localhost", &c, &s, "/secure") == 0);
    CHECK_STR(okt_ws_path(pr.s.ws), "/secure");
    okt_err err;
    size_t n = 300000;
    char *big = big_text(n, 9);
    CHECK(okt_ws_send(pr.c.ws, big, n, &err) == 0);
    CHECK(okt_ws_send(pr.s.ws, "{\"tls\":true}", 12, &err) == 0);
    inbox x = {0}, y = {0};
    collect(&pr.s, &x, 1, 5000, &pr.c);
    collect(&pr.c, &y, 1, 5000, &pr.s);
    CHECK(x.n == 1 && x.len[0] == n && memcmp(x.data[0], big, n) == 0);
    CHECK(y.n == 1 && strcmp(y.data[0], "{\"tls\":true}") == 0);
    CHECK(okt_ws_close(pr.c.ws, 1000, NULL) == 0);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.c.err.code == OKT_ECLOSED && pr.s.err.code == OKT_ECLOSED);
    CHECK(okt_ws_peer_close_code(pr.s.ws) == 1000);
    free(big);
    inbox_free(&x);
    inbox_free(&y);
    pair_close(&pr);
}

static void wss_fails(const char *host, const char *cafile, const char *want)
{
    okt_ws_cfg c, s;
    tls_cfgs(&c, &s, cafile, 1);
    pair pr;
    CHECK(pair_open(&pr, "wss", host, &c, &s, "/") == -1);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ETLS);
    if (!strstr(pr.c.err.msg, want)) {
        fprintf(stderr, "  want \"%s\" in \"%s\"\n", want, pr.c.err.msg);
        CHECK(0);
    }
    CHECK(pr.s.rc == -1);   /* the server saw the alert or the close */
    pair_close(&pr);
}

TEST(wss_to_plain_server)
{
    okt_ws_cfg c, s;
    okt_ws_cfg_init(&c);
    okt_ws_cfg_init(&s);
    c.verify = 0;
    pair pr;
    int64_t t0 = okt_now_ms();
    CHECK(pair_open(&pr, "wss", "127.0.0.1", &c, &s, "/") == -1);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(okt_now_ms() - t0 < 1000);
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ETLS);
    CHECK(strstr(pr.c.err.msg, "non-TLS bytes (\"HTTP/1.1 400\")") != NULL);
    CHECK(pr.s.rc == -1 && strstr(pr.s.err.msg, "not an HTTP GET") != NULL);
    pair_close(&pr);
}

/* One shape for every URL error; no user or password part quoted. */
TEST(url_errors)
{
    okt_err e;
    CHECK(okt_ws_check_url("ws://h:4066/p?q#f", &e) == 0);
    CHECK(okt_ws_check_url("WSS://[::1]/", &e) == 0);
    struct { const char *url, *msg; } bad[] = {
        {"http://h", "oktell: bad url 'http://h': must start with ws:// or wss://"},
        {"ws://", "oktell: bad url 'ws://': no host"},
        {"ws://h:0", "oktell: bad url 'ws://h:0': the port must be 1 to 65535"},
        {"ws://h:80x", "oktell: bad url 'ws://h:80x': 'x' after the port"},
        {"ws://[::1", "oktell: bad url 'ws://[::1': no ']' after the IPv6 host"},
        {"ws://h/a b", "oktell: bad url 'ws://h/a b': a space, control or "
                       "non-ASCII character in the path (percent-encode it)"},
        {"ws://u:s3cr3t@h/x", "oktell: bad url 'ws://***@h/x': a user or "
                              "password in the url is not taken (give login "
                              "and password)"},
        {"ws://h/\x01", "oktell: bad url 'ws://h/?': a space, control or "
                        "non-ASCII character in the path (percent-encode it)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(okt_ws_check_url(bad[i].url, &e) == -1 && e.code == OKT_EINVAL);
        CHECK_STR(e.msg, bad[i].msg);
    }
    char longer[300];
    memset(longer, 'a', sizeof longer);
    memcpy(longer, "ws://h/", 7);
    longer[sizeof longer - 1] = '\0';
    longer[150] = ' ';
    CHECK(okt_ws_check_url(longer, &e) == -1);
    CHECK(strstr(e.msg, "aaa...': a space") != NULL);   /* cut at 96 bytes */
    CHECK(okt_ws_connect("ws://u:pw@h/", NULL, &e) == NULL &&
          e.code == OKT_EINVAL && !strstr(e.msg, "pw"));
}

TEST(wss_wrong_host)
{
    /* the certificate names localhost only */
    wss_fails("127.0.0.1", CA_FILE, "mismatch");
}

TEST(wss_untrusted)
{
    wss_fails("localhost", OTHER_CA, "verify failed");
}

TEST(wss_message_limit)
{
    /* the server's close 1009 must make it through TLS while finishing */
    okt_ws_cfg c, s;
    tls_cfgs(&c, &s, CA_FILE, 1);
    s.max_msg = 1000;
    pair pr;
    CHECK(pair_open(&pr, "wss", "localhost", &c, &s, "/") == 0);
    char *m = big_text(2000, 5);
    okt_err err;
    CHECK(okt_ws_send(pr.c.ws, m, 2000, &err) == 0);
    PUMP_UNTIL(pr.c.rc && pr.s.rc, 3000, &pr.c, &pr.s);
    CHECK(pr.s.rc == -1 && pr.s.err.code == OKT_EPROTOCOL && strstr(pr.s.err.msg, "1009"));
    CHECK(pr.c.rc == -1 && pr.c.err.code == OKT_ECLOSED);
    CHECK(okt_ws_peer_close_code(pr.c.ws) == 1009);
    free(m);
    pair_close(&pr);
}

TEST(wss_verify_off)
{
    okt_ws_cfg c, s;
    tls_cfgs(&c, &s, NULL, 0);
    pair pr;
    CHECK(pair_open(&pr, "wss", "127.0.0.1", &c, &s, "/") == 0);
    okt_err err;
    CHECK(okt_ws_send(pr.c.ws, "x", 1, &err) == 0);
    inbox x = {0};
    collect(&pr.s, &x, 1, 3000, &pr.c);
    CHECK(x.n == 1 && strcmp(x.data[0], "x") == 0);
    inbox_free(&x);
    pair_close(&pr);
}

TEST(wss_bad_server_files)
{
    okt_ws_cfg s;
    okt_ws_cfg_init(&s);
    s.certfile = "tests/certs/missing.pem";
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    okt_err err;
    CHECK(okt_ws_accept(sv[0], &s, &err) == NULL && err.code == OKT_ETLS);
    /* ownership was taken: sv[0] is closed */
    CHECK(fcntl(sv[0], F_GETFD) == -1);
    close(sv[1]);
    okt_ws_cfg c;
    okt_ws_cfg_init(&c);
    c.cafile = "tests/certs/missing.pem";
    CHECK(okt_ws_connect("wss://127.0.0.1:1/", &c, &err) == NULL && err.code == OKT_ETLS);
}

/* A client out of descriptors at the soft limit takes the hard one rather
 * than failing (thousands of connections in one process); the limit is
 * left alone until then. */
TEST(soft_fd_limit_raised_when_out)
{
    struct rlimit rl0, rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl0) == 0);
    int lowest = dup(0);   /* the next free descriptor, roughly the count */
    close(lowest);
    if (rl0.rlim_max != RLIM_INFINITY && rl0.rlim_max < (rlim_t)lowest + 64) {
        fprintf(stderr, "  (hard limit too low to test)\n");
        return;
    }
    rl = rl0;
    rl.rlim_cur = (rlim_t)lowest + 8;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int port;
    int lfd = listener(&port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    okt_ws *ws[32];
    okt_err err;
    int made = 0;
    for (int i = 0; i < 32; i++)
        if ((ws[i] = okt_ws_connect(url, NULL, &err)) != NULL)
            made++;
        else
            fprintf(stderr, "  connect %d: %s\n", i, err.msg);
    CHECK(made == 32);
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(rl.rlim_cur > (rlim_t)lowest + 8);
    for (int i = 0; i < 32; i++)
        okt_ws_free(ws[i]);
    close(lfd);
    setrlimit(RLIMIT_NOFILE, &rl0);
}

TEST(fd_flags)
{
    pair pr;
    CHECK(pair_open(&pr, "ws", "127.0.0.1", NULL, NULL, "/") == 0);
    int fl = fcntl(okt_ws_fd(pr.c.ws), F_GETFL), fd = fcntl(okt_ws_fd(pr.c.ws), F_GETFD);
    CHECK((fl & O_NONBLOCK) && (fd & FD_CLOEXEC));
    pair_close(&pr);
    /* a blocking, inheritable fd handed to accept is fixed up */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    okt_err err;
    okt_ws *s = okt_ws_accept(sv[0], NULL, &err);
    CHECK(s && (fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[0], F_GETFD) & FD_CLOEXEC));
    okt_ws_free(s);
    close(sv[1]);
}

int main(void)
{
    RUN(accept_vector);
    RUN(request_parser);
    RUN(response_checker);
    RUN(handshake_and_echo);
    RUN(send_while_connecting);
    RUN(large_messages_both_ways);
    RUN(many_small_in_order);
    RUN(ping_pong);
    RUN(close_from_client);
    RUN(close_from_server);
    RUN(close_reason_not_utf8);
    RUN(message_limit);
    RUN(connect_refused);
    RUN(server_refuses_upgrade);
    RUN(server_fragments_one_byte_at_a_time);
    RUN(client_gets_fragments_with_the_101);
    RUN(client_reads_101_one_byte_at_a_time);
    RUN(client_vanishes_mid_frame);
    RUN(peer_resets_while_we_send);
    RUN(bad_upgrade_requests);
    RUN(handshake_at_limit);
    RUN(idle_holds_no_context);
    RUN(context_kept_mid_frame_and_mid_message);
    RUN(wss_verified);
    RUN(wss_to_plain_server);
    RUN(url_errors);
    RUN(wss_wrong_host);
    RUN(wss_untrusted);
    RUN(wss_message_limit);
    RUN(wss_verify_off);
    RUN(wss_bad_server_files);
    RUN(fd_flags);
    RUN(soft_fd_limit_raised_when_out);
    return TEST_SUMMARY();
}
