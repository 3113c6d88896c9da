/* test_wire.c - the sans-IO byte path: the memory-mode okt_ws (ws.h) and
 * okt_wire (wire.h).
 *
 * Memory mode against memory mode (both ends in this thread, bytes moved
 * by hand in chosen chunk sizes, down to one byte at a time), against the
 * socket server of ws.c over a socketpair, and against exact hand-made
 * bytes; the wire against a scripted server (a memory-mode okt_ws) and
 * against the emulator over real TCP, driven as a host driver would:
 * write the output, poll up to the deadline, feed what was read, tick. */
#include "test.h"
#include "emu.h"
#include "message.h"
#include "wire.h"
#include "ws.h"
#include "ws_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- memory-mode helpers ------------------------------------------------ */

/* Move every byte `from` has to give into `to`, `chunk` bytes per feed.
 * Returns the bytes moved; *frc gets the last feed's status. */
static size_t xfer(okt_ws *from, okt_ws *to, size_t chunk, int *frc)
{
    size_t moved = 0;
    const char *p;
    size_t n;
    *frc = 0;
    while (okt_ws_output(from, &p, &n)) {
        size_t k = n < chunk ? n : chunk;
        okt_err e;
        *frc = okt_ws_feed(to, p, k, &e);
        okt_ws_consume(from, k);
        moved += k;
        if (*frc != 0 && e.code == OKT_EINVAL)
            break;
    }
    return moved;
}

/* Shuttle both ways until neither has anything to say. */
static void shuttle(okt_ws *a, okt_ws *b, size_t chunk)
{
    int rc;
    for (int i = 0; i < 1000; i++)
        if (!xfer(a, b, chunk, &rc) + !xfer(b, a, chunk, &rc) == 2)
            break;
}

static okt_ws *mem_client(const char *url, size_t max_msg)
{
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    if (max_msg)
        cfg.max_msg = max_msg;
    okt_err e;
    okt_ws *ws = okt_ws_client_mem(url, &cfg, &e);
    if (!ws)
        fprintf(stderr, "  client_mem: %s\n", e.msg);
    return ws;
}

static okt_ws *mem_server(size_t max_msg)
{
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    if (max_msg)
        cfg.max_msg = max_msg;
    return okt_ws_server_mem(&cfg, NULL);
}

/* The whole pending output of ws as a NUL-terminated copy (not taken). */
static char *peek_out(okt_ws *ws, size_t *len)
{
    const char *p;
    size_t n;
    if (!okt_ws_output(ws, &p, &n))
        n = 0;
    char *s = malloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

static char *header(const char *head, const char *name)
{
    const char *h = strstr(head, name);
    if (!h)
        return NULL;
    h += strlen(name);
    size_t l = strcspn(h, "\r");
    char *v = malloc(l + 1);
    memcpy(v, h, l);
    v[l] = '\0';
    return v;
}

/* ---- memory-mode ws ----------------------------------------------------- */

TEST(client_mem_upgrade_request)
{
    okt_ws *ws = mem_client("ws://example.org:8080/ws/path?x=1#frag", 0);
    CHECK(ws && okt_ws_fd(ws) == -1);
    CHECK(okt_ws_state(ws) == OKT_WS_CONNECTING);
    CHECK(okt_ws_events(ws) & OKT_WANT_WRITE);
    size_t n;
    char *req = peek_out(ws, &n);
    CHECK(!strncmp(req, "GET /ws/path?x=1 HTTP/1.1\r\n", 27));
    CHECK(strstr(req, "\r\nHost: example.org:8080\r\n"));
    CHECK(strstr(req, "\r\nUpgrade: websocket\r\n"));
    CHECK(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
    CHECK(strstr(req, "\r\nSec-WebSocket-Protocol: json\r\n"));
    char *key = header(req, "\r\nSec-WebSocket-Key: ");
    CHECK(key && strlen(key) == OKT_WSH_KEY_LEN);
    CHECK(n > 4 && !strcmp(req + n - 4, "\r\n\r\n"));
    /* the request parser of the server side agrees */
    okt_wsh_req r;
    const char *why;
    CHECK(okt_wsh_parse_request(req, n, "json", &r, &why) == 0);
    CHECK_STR(r.path, "/ws/path?x=1");
    CHECK(r.proto_offered);
    /* output stays until consumed, then goes in pieces */
    const char *p;
    size_t m;
    CHECK(okt_ws_output(ws, &p, &m) && m == n);
    okt_ws_consume(ws, 10);
    CHECK(okt_ws_output(ws, &p, &m) && m == n - 10 && !memcmp(p, req + 10, m));
    okt_ws_consume(ws, m);
    CHECK(!okt_ws_output(ws, &p, &m) && m == 0);
    CHECK(!(okt_ws_events(ws) & OKT_WANT_WRITE));
    /* a socket turn is refused */
    okt_err e;
    CHECK(okt_ws_step(ws, OKT_WANT_READ, &e) == -1 && e.code == OKT_EINVAL);
    free(key);
    free(req);
    okt_ws_free(ws);

    /* wss://: the host does TLS, so the bytes are plain HTTP; port 443
     * is the default and stays out of Host */
    ws = mem_client("wss://pbx.example.org/", 0);
    req = peek_out(ws, &n);
    CHECK(!strncmp(req, "GET / HTTP/1.1\r\n", 16));
    CHECK(strstr(req, "\r\nHost: pbx.example.org\r\n"));
    free(req);
    okt_ws_free(ws);

    okt_err e2;
    CHECK(okt_ws_client_mem("http://x/", NULL, &e2) == NULL &&
          e2.code == OKT_EINVAL);
    CHECK(okt_ws_client_mem("ws://bad host/", NULL, &e2) == NULL);
}

/* Client and server in memory, bytes moved in `chunk`-sized feeds. */
static void pair_echo(size_t chunk)
{
    okt_ws *c = mem_client("ws://127.0.0.1:4066/oktell", 0);
    okt_ws *s = mem_server(0);
    okt_err e;
    CHECK(okt_ws_send(c, "early", 5, &e) == 0);   /* queued until open */
    shuttle(c, s, chunk);
    CHECK(okt_ws_state(c) == OKT_WS_OPEN && okt_ws_state(s) == OKT_WS_OPEN);
    CHECK_STR(okt_ws_path(s), "/oktell");
    const char *m;
    size_t len;
    CHECK(okt_ws_recv(s, &m, &len) && len == 5 && !memcmp(m, "early", 5));
    /* many messages both ways, sizes around the 7/16/64-bit length forms */
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    char *big = malloc(70001);
    /* all of it: the server's messages start at big + 1 (70000 bytes of
     * them read big[70000], which left unset made the text invalid UTF-8
     * now and then, as the heap's leftovers went) */
    for (size_t i = 0; i < 70001; i++)
        big[i] = (char)('a' + i % 26);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        CHECK(okt_ws_send(c, big, sizes[k], &e) == 0);
        CHECK(okt_ws_send(s, big + 1, sizes[k], &e) == 0);
    }
    shuttle(c, s, chunk);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        CHECK(okt_ws_recv(s, &m, &len) && len == sizes[k] &&
              !memcmp(m, big, len));
        CHECK(okt_ws_recv(c, &m, &len) && len == sizes[k] &&
              !memcmp(m, big + 1, len));
    }
    CHECK(!okt_ws_recv(s, &m, &len) && !okt_ws_recv(c, &m, &len));
    free(big);
    /* ping from the client: the server answers by itself */
    CHECK(okt_ws_ping(c, "hi", 2, &e) == 0);
    shuttle(c, s, chunk);
    okt_ws_stats st;
    okt_ws_get_stats(c, &st);
    CHECK(st.pongs_in == 1);
    CHECK(st.msgs_out == 9 && st.msgs_in == 8);
    okt_ws_free(c);
    okt_ws_free(s);
}

TEST(mem_pair_echo)
{
    pair_echo(1 << 20);
}

TEST(mem_pair_one_byte_at_a_time)
{
    pair_echo(1);
}

TEST(mem_pair_odd_chunks)
{
    pair_echo(7);
    pair_echo(4095);
}

/* Exact bytes: a hand-made 101 with a frame glued to it in one read. */
TEST(mem_client_exact_bytes)
{
    okt_ws *c = mem_client("ws://h/", 0);
    size_t n;
    char *req = peek_out(c, &n);
    okt_ws_consume(c, n);
    char *key = header(req, "\r\nSec-WebSocket-Key: ");
    char acc[OKT_WSH_ACCEPT_LEN + 1];
    okt_wsh_accept_for(key, acc);
    char resp[512];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n"
                      "Sec-WebSocket-Protocol: json\r\n\r\n"
                      "\x81\x02hi",
                      acc);
    okt_err e;
    CHECK(okt_ws_feed(c, resp, (size_t)rl, &e) == 0);
    CHECK(okt_ws_state(c) == OKT_WS_OPEN);
    const char *m;
    size_t len;
    CHECK(okt_ws_recv(c, &m, &len) && len == 2 && !memcmp(m, "hi", 2));
    /* our frame: FIN|text, MASK|len, 4 mask bytes, masked payload */
    CHECK(okt_ws_send(c, "abc", 3, &e) == 0);
    const char *p;
    CHECK(okt_ws_output(c, &p, &n) && n == 2 + 4 + 3);
    CHECK((unsigned char)p[0] == 0x81 && (unsigned char)p[1] == 0x83);
    for (int i = 0; i < 3; i++)
        CHECK((char)(p[6 + i] ^ p[2 + i % 4]) == "abc"[i]);
    okt_ws_consume(c, n);
    /* a server frame that is masked is a protocol error: close 1002 */
    static const char masked[] = "\x81\x82\x01\x02\x03\x04xy";
    CHECK(okt_ws_feed(c, masked, sizeof masked - 1, &e) == -1 &&
          e.code == OKT_EPROTOCOL);
    CHECK(okt_ws_output(c, &p, &n) && (unsigned char)p[0] == 0x88);
    okt_ws_consume(c, n);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSED);
    CHECK(okt_ws_feed(c, "x", 1, &e) == -1 && e.code == OKT_EPROTOCOL);
    free(key);
    free(req);
    okt_ws_free(c);
}

TEST(mem_bad_upgrade_responses)
{
    static const char *const heads[] = {
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
        "garbage\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        okt_ws *c = mem_client("ws://h/", 0);
        const char *p;
        size_t n;
        okt_ws_output(c, &p, &n);
        okt_ws_consume(c, n);
        okt_err e;
        CHECK(okt_ws_feed(c, heads[i], strlen(heads[i]), &e) == -1 &&
              e.code == OKT_EPROTOCOL);
        CHECK(okt_ws_state(c) == OKT_WS_CLOSED);
        okt_ws_free(c);
    }
}

TEST(mem_handshake_limit)
{
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_handshake = 64;
    okt_ws *c = okt_ws_client_mem("ws://h/", &cfg, NULL);
    const char *p;
    size_t n;
    okt_ws_output(c, &p, &n);
    okt_ws_consume(c, n);
    char junk[65];
    memset(junk, 'x', sizeof junk);
    okt_err e;
    CHECK(okt_ws_feed(c, junk, 64, &e) == 0);        /* at the limit */
    CHECK(okt_ws_feed(c, junk, 1, &e) == -1 &&       /* over it */
          e.code == OKT_EPROTOCOL && strstr(e.msg, "max_handshake"));
    okt_ws_free(c);
}

TEST(mem_message_limit)
{
    okt_ws *c = mem_client("ws://h/", 100);
    okt_ws *s = mem_server(0);
    shuttle(c, s, 4096);
    char buf[101];
    memset(buf, 'm', sizeof buf);
    okt_err e;
    CHECK(okt_ws_send(s, buf, 100, &e) == 0);       /* at the limit */
    int rc;
    xfer(s, c, 4096, &rc);
    CHECK(rc == 0);
    const char *m;
    size_t len;
    CHECK(okt_ws_recv(c, &m, &len) && len == 100);
    CHECK(okt_ws_send(s, buf, 101, &e) == 0);       /* over it */
    xfer(s, c, 4096, &rc);
    CHECK(rc == -1);
    CHECK(okt_ws_feed(c, NULL, 0, &e) == -1 && e.code == OKT_EPROTOCOL &&
          strstr(e.msg, "1009"));
    CHECK(!okt_ws_recv(c, &m, &len));
    /* the close 1009 reaches the server */
    xfer(c, s, 4096, &rc);
    CHECK(okt_ws_peer_close_code(s) == 1009);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSED);
    okt_ws_free(c);
    okt_ws_free(s);
}

TEST(mem_backpressure_and_backlog)
{
    okt_ws *c = mem_client("ws://h/", 1000);
    okt_ws *s = mem_server(0);
    shuttle(c, s, 4096);
    char buf[600];
    memset(buf, 'b', sizeof buf);
    okt_err e;
    for (int i = 0; i < 4; i++)
        okt_ws_send(s, buf, sizeof buf, &e);
    const char *p;
    size_t n;
    CHECK(okt_ws_output(s, &p, &n) && n == 4 * (sizeof buf + 4));
    /* frame by frame: two are taken (1200 > 1000), the rest waits in the
     * input until the caller takes messages */
    for (int i = 0; i < 4; i++)
        CHECK(okt_ws_feed(c, p + i * (sizeof buf + 4), sizeof buf + 4, &e) == 0);
    okt_ws_consume(s, n);
    okt_ws_stats st;
    okt_ws_get_stats(c, &st);
    CHECK(st.msgs_in == 2);
    /* more than max_msg + max_handshake waiting: refused, nothing lost */
    char *huge = calloc(1, 1000 + OKT_MAX_HANDSHAKE);
    CHECK(okt_ws_feed(c, huge, 1000 + OKT_MAX_HANDSHAKE, &e) == -1 &&
          e.code == OKT_EINVAL);
    free(huge);
    CHECK(okt_ws_state(c) == OKT_WS_OPEN);
    const char *m;
    size_t len;
    int got = 0;
    while (okt_ws_recv(c, &m, &len)) {
        got++;
        okt_ws_feed(c, NULL, 0, &e);   /* resumes the held input */
    }
    CHECK(got == 4);
    okt_ws_free(c);
    okt_ws_free(s);
}

TEST(mem_close_handshakes)
{
    /* client starts: close frame after the messages queued before it */
    okt_ws *c = mem_client("ws://h/", 0);
    okt_ws *s = mem_server(0);
    shuttle(c, s, 4096);
    okt_err e;
    okt_ws_send(c, "last", 4, &e);
    CHECK(okt_ws_close(c, 1000, "bye") == 0);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSING);
    CHECK(okt_ws_send(c, "late", 4, &e) == -1 && e.code == OKT_ECLOSED);
    int rc;
    xfer(c, s, 4096, &rc);
    const char *m;
    size_t len;
    CHECK(okt_ws_recv(s, &m, &len) && len == 4 && !memcmp(m, "last", 4));
    CHECK(rc == -1 && okt_ws_peer_close_code(s) == 1000);
    xfer(s, c, 4096, &rc);   /* the server's answer */
    CHECK(rc == -1);
    CHECK(okt_ws_feed(c, NULL, 0, &e) == -1 && e.code == OKT_ECLOSED);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSED && okt_ws_state(s) == OKT_WS_CLOSED);
    okt_ws_free(c);
    okt_ws_free(s);

    /* server starts: the client is over at once, its answer waits in the
     * output until taken */
    c = mem_client("ws://h/", 0);
    s = mem_server(0);
    shuttle(c, s, 4096);
    okt_ws_close(s, 4000, "go away");
    xfer(s, c, 4096, &rc);
    CHECK(rc == -1);
    CHECK(okt_ws_feed(c, NULL, 0, &e) == -1 && e.code == OKT_ECLOSED &&
          strstr(e.msg, "4000") && strstr(e.msg, "go away"));
    CHECK(okt_ws_state(c) == OKT_WS_CLOSING);
    CHECK(okt_ws_events(c) & OKT_WANT_WRITE);
    xfer(c, s, 4096, &rc);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSED);
    CHECK(okt_ws_state(s) == OKT_WS_CLOSED);
    okt_ws_free(c);
    okt_ws_free(s);

    /* close before the upgrade: nothing to say, over at once */
    c = mem_client("ws://h/", 0);
    CHECK(okt_ws_close(c, 1000, NULL) == 0);
    CHECK(okt_ws_state(c) == OKT_WS_CLOSED);
    const char *p;
    size_t n;
    CHECK(!okt_ws_output(c, &p, &n));
    okt_ws_free(c);
}

TEST(mem_eof)
{
    okt_err e;
    okt_ws *c = mem_client("ws://h/", 0);
    CHECK(okt_ws_feed(c, "HTTP/1.1 1", 10, &e) == 0);
    CHECK(okt_ws_feed_eof(c, &e) == -1 && e.code == OKT_ECLOSED &&
          strstr(e.msg, "during the upgrade"));
    okt_ws_free(c);

    c = mem_client("ws://h/", 0);
    okt_ws *s = mem_server(0);
    shuttle(c, s, 4096);
    CHECK(okt_ws_feed(c, "\x81\x05he", 4, &e) == 0);   /* half a frame */
    CHECK(okt_ws_feed_eof(c, &e) == -1 && e.code == OKT_ECLOSED &&
          strstr(e.msg, "mid-frame"));
    CHECK(okt_ws_feed_eof(c, &e) == -1);   /* sticky */
    okt_ws_free(c);
    okt_ws_free(s);
    CHECK(okt_ws_feed(NULL, "x", 1, &e) == -1 && e.code == OKT_EINVAL);
}

/* The memory-mode client against ws.c's socket server over a socketpair:
 * the one framer, both of its drivers. */
TEST(mem_client_vs_socket_server)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    okt_err e;
    okt_ws *s = okt_ws_accept(sv[1], NULL, &e);
    okt_ws *c = mem_client("ws://127.0.0.1/x", 0);
    CHECK(s && c);
    okt_ws_send(c, "hello", 5, &e);
    int got = 0, echoed = 0;
    int64_t end = okt_now_ms() + 3000;
    while (okt_now_ms() < end && !echoed) {
        const char *p;
        size_t n;
        while (okt_ws_output(c, &p, &n)) {
            ssize_t w = write(sv[0], p, n < 3 ? n : 3);   /* short writes */
            if (w > 0)
                okt_ws_consume(c, (size_t)w);
        }
        okt_ws_step(s, OKT_WANT_READ | OKT_WANT_WRITE, &e);
        const char *m;
        size_t len;
        while (okt_ws_recv(s, &m, &len)) {
            got++;
            okt_ws_send(s, m, len, &e);   /* echo */
            okt_ws_step(s, OKT_WANT_WRITE, &e);
        }
        struct pollfd pf = {sv[0], POLLIN, 0};
        if (poll(&pf, 1, 5) > 0) {
            char b[2];
            ssize_t r = read(sv[0], b, sizeof b);   /* tiny reads */
            if (r > 0)
                okt_ws_feed(c, b, (size_t)r, &e);
        }
        if (okt_ws_recv(c, &m, &len))
            echoed = len == 5 && !memcmp(m, "hello", 5);
    }
    CHECK(got == 1 && echoed);
    CHECK_STR(okt_ws_path(s), "/x");
    okt_ws_free(c);
    okt_ws_free(s);
    close(sv[0]);
}

/* ---- the wire against a scripted server in memory ------------------------ */

typedef struct script {
    okt_ws *ws;
    int redirect;          /* answer the ping with websocketredirect */
    int pings, logins, logouts;
    char last_method[64];
} script;

static void script_send(okt_ws *ws, const char *name, const char *qid,
                        const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    if (qid)
        json_object_set_new(o, "qid", json_string(qid));
    size_t len;
    char *t = okt_msg_build(name, o, &len, NULL);
    okt_ws_send(ws, t, len, NULL);
    free(t);
    json_decref(o);
}

static void script_serve(script *sc)
{
    const char *m;
    size_t len;
    while (okt_ws_recv(sc->ws, &m, &len)) {
        json_t *root, *obj;
        const char *name;
        if (okt_msg_parse(m, len, &root, &name, &obj, NULL))
            continue;
        const char *q = okt_msg_qid(obj);
        snprintf(sc->last_method, sizeof sc->last_method, "%s", name);
        if (!strcmp(name, "ping")) {
            sc->pings++;
            if (sc->redirect)
                script_send(sc->ws, "websocketredirect", NULL, "{}");
            else
                script_send(sc->ws, "pong", q, "{\"result\":1}");
        } else if (!strcmp(name, "login")) {
            sc->logins++;
            script_send(sc->ws, "loginresult", q,
                        "{\"result\":1,\"userid\":\"u-1\"}");
        } else if (!strcmp(name, "logout")) {
            sc->logouts++;
        } else if (strcmp(name, "slow")) {
            char rn[96];
            snprintf(rn, sizeof rn, "%sresult", name);
            script_send(sc->ws, rn, q, "{\"result\":1,\"x\":7}");
        }
        json_decref(root);
    }
}

static okt_wire *mkwire(const char *url, size_t max_msg, int trace)
{
    okt_wire_cfg cfg;
    okt_wire_cfg_init(&cfg);
    cfg.url = url;
    cfg.session.login = "Peter";
    cfg.session.password = "123";
    cfg.session.trace = trace;
    if (max_msg)
        cfg.ws.max_msg = max_msg;
    okt_err e;
    okt_wire *w = okt_wire_new(&cfg, okt_now_ms(), &e);
    if (!w)
        fprintf(stderr, "  wire_new: %s\n", e.msg);
    return w;
}

/* One exchange each way between the wire and the scripted server. Returns
 * the bytes moved. */
static size_t wpump(okt_wire *w, script *sc, size_t chunk)
{
    size_t moved = 0;
    const char *p;
    size_t n;
    okt_err e;
    while (okt_wire_output(w, &p, &n)) {
        size_t k = n < chunk ? n : chunk;
        okt_ws_feed(sc->ws, p, k, &e);
        okt_wire_consume(w, k);
        moved += k;
    }
    script_serve(sc);
    while (okt_ws_output(sc->ws, &p, &n)) {
        size_t k = n < chunk ? n : chunk;
        okt_wire_feed(w, p, k, okt_now_ms(), &e);
        okt_ws_consume(sc->ws, k);
        moved += k;
    }
    okt_wire_tick(w, okt_now_ms());
    return moved;
}

static int next_type(okt_wire *w, okt_event *ev)
{
    if (!okt_wire_next_event(w, ev))
        return 0;
    return ev->type;
}

static void wire_login(size_t chunk)
{
    okt_wire *w = mkwire("ws://pbx:4066/", 0, 1);
    script sc = {mem_server(0), 0, 0, 0, 0, ""};
    CHECK(okt_wire_state(w) == OKT_S_HANDSHAKE);
    CHECK(okt_wire_deadline(w) == 0);   /* the upgrade waits to go out */
    for (int i = 0; i < 50 && okt_wire_state(w) != OKT_S_READY; i++)
        wpump(w, &sc, chunk);
    CHECK(okt_wire_state(w) == OKT_S_READY);
    CHECK(sc.pings == 1 && sc.logins == 1);
    while (wpump(w, &sc, chunk))   /* the subscriptions */
        ;
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_READY);
    CHECK_STR(json_string_value(json_object_get(ev.data, "userid")), "u-1");
    okt_event_clear(&ev);
    /* nothing to do now: the deadline is the keepalive's */
    int64_t d = okt_wire_deadline(w);
    CHECK(d > okt_now_ms() + 1000);
    okt_err e;
    int64_t id = okt_wire_request(w, "getuserstate", NULL, 0, okt_now_ms(), &e);
    CHECK(id > 0 && okt_wire_deadline(w) == 0);
    wpump(w, &sc, chunk);
    CHECK(next_type(w, &ev) == OKT_EV_REPLY && ev.id == id &&
          json_integer_value(json_object_get(ev.data, "x")) == 7);
    okt_event_clear(&ev);
    /* a request nobody answers times out by the deadline */
    id = okt_wire_request(w, "slow", NULL, 30, okt_now_ms(), &e);
    wpump(w, &sc, chunk);
    d = okt_wire_deadline(w);
    CHECK(d > 0 && d <= okt_now_ms() + 30);
    okt_wire_tick(w, d);
    CHECK(next_type(w, &ev) == OKT_EV_ERROR && ev.id == id &&
          ev.err.code == OKT_ETIMEOUT);
    okt_event_clear(&ev);
    /* the trace: handshake, login (password masked), replies */
    int dir, saw_login = 0, n = 0;
    char *t;
    while (okt_wire_next_trace(w, &dir, &t)) {
        n++;
        if (dir == '>' && strstr(t, "\"login\"")) {
            saw_login = 1;
            CHECK(strstr(t, "***") && !strstr(t, "202cb962"));
        }
        free(t);
    }
    CHECK(saw_login && n >= 6);
    CHECK(okt_wire_trace_dropped(w) == 0);
    /* polite close: logout and a close frame in the output */
    id = okt_wire_request(w, "slow", NULL, 0, okt_now_ms(), &e);
    okt_wire_close(w, okt_now_ms());
    CHECK(next_type(w, &ev) == OKT_EV_ERROR && ev.id == id &&
          ev.err.code == OKT_ECLOSED);
    okt_event_clear(&ev);
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_ECLOSED);
    okt_event_clear(&ev);
    CHECK(okt_wire_state(w) == OKT_S_CLOSED);
    wpump(w, &sc, chunk);
    CHECK(sc.logouts == 1);
    CHECK(okt_ws_peer_close_code(sc.ws) == 1000);
    CHECK(okt_wire_request(w, "x", NULL, 0, okt_now_ms(), &e) < 0 &&
          e.code == OKT_ECLOSED);
    okt_wire_free(w);
    okt_ws_free(sc.ws);
}

TEST(wire_login_request_close)
{
    wire_login(1 << 20);
}

TEST(wire_one_byte_at_a_time)
{
    wire_login(1);
}

TEST(wire_peer_closes)
{
    okt_wire *w = mkwire("ws://pbx/", 0, 0);
    script sc = {mem_server(0), 0, 0, 0, 0, ""};
    while (wpump(w, &sc, 4096))
        ;
    CHECK(okt_wire_state(w) == OKT_S_READY);
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_READY);
    okt_event_clear(&ev);
    okt_err e;
    int64_t id = okt_wire_request(w, "slow", NULL, 0, okt_now_ms(), &e);
    wpump(w, &sc, 4096);
    okt_ws_close(sc.ws, 1001, "restart");
    wpump(w, &sc, 4096);
    CHECK(next_type(w, &ev) == OKT_EV_ERROR && ev.id == id &&
          ev.err.code == OKT_ECLOSED);
    okt_event_clear(&ev);
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_ECLOSED &&
          strstr(ev.err.msg, "1001"));
    okt_event_clear(&ev);
    wpump(w, &sc, 4096);   /* our answer to the close goes out */
    CHECK(okt_ws_state(sc.ws) == OKT_WS_CLOSED);
    const char *p;
    size_t n;
    CHECK(!okt_wire_output(w, &p, &n));
    CHECK(okt_wire_deadline(w) == -1);
    okt_wire_free(w);
    okt_ws_free(sc.ws);
}

TEST(wire_transport_drops)
{
    okt_wire *w = mkwire("ws://pbx/", 0, 0);
    script sc = {mem_server(0), 0, 0, 0, 0, ""};
    while (wpump(w, &sc, 4096))
        ;
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_READY);
    okt_event_clear(&ev);
    okt_err e, why;
    int64_t id = okt_wire_request(w, "slow", NULL, 0, okt_now_ms(), &e);
    okt_err_set(&why, OKT_ECLOSED, "connection reset by peer");
    okt_wire_transport_closed(w, &why, okt_now_ms());
    CHECK(next_type(w, &ev) == OKT_EV_ERROR && ev.id == id);
    okt_event_clear(&ev);
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED &&
          !strcmp(ev.err.msg, "connection reset by peer"));
    okt_event_clear(&ev);
    CHECK(okt_wire_feed(w, "x", 1, okt_now_ms(), &e) == 0);   /* late: dropped */
    okt_wire_free(w);
    okt_ws_free(sc.ws);

    /* in the handshake, a drop is "refused" (as okt_conn says of a URL) */
    w = mkwire("ws://pbx/", 0, 0);
    okt_wire_transport_closed(w, NULL, okt_now_ms());
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_EREFUSED &&
          strstr(ev.err.msg, "ws://pbx/"));
    okt_event_clear(&ev);
    okt_wire_free(w);
}

TEST(wire_upgrade_refused)
{
    okt_wire *w = mkwire("ws://pbx/", 0, 0);
    const char *p;
    size_t n;
    while (okt_wire_output(w, &p, &n))
        okt_wire_consume(w, n);
    static const char r[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    okt_err e;
    CHECK(okt_wire_feed(w, r, sizeof r - 1, okt_now_ms(), &e) == 0);
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_EREFUSED &&
          strstr(ev.err.msg, "403"));
    okt_event_clear(&ev);
    CHECK(okt_wire_state(w) == OKT_S_CLOSED);
    okt_wire_free(w);
}

TEST(wire_open_timeout)
{
    okt_wire_cfg cfg;
    okt_wire_cfg_init(&cfg);
    cfg.url = "ws://pbx/";
    cfg.session.login = "Peter";
    cfg.session.password = "";
    cfg.session.open_ms = 50;
    okt_wire *w = okt_wire_new(&cfg, 1000, NULL);
    const char *p;
    size_t n;
    while (okt_wire_output(w, &p, &n))
        okt_wire_consume(w, n);
    CHECK(okt_wire_deadline(w) == 1050);
    okt_wire_tick(w, 1049);
    CHECK(okt_wire_state(w) == OKT_S_HANDSHAKE);
    okt_wire_tick(w, 1050);
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_ETIMEOUT);
    okt_event_clear(&ev);
    okt_wire_free(w);
}

TEST(wire_message_limit)
{
    okt_wire *w = mkwire("ws://pbx/", 200, 0);
    script sc = {mem_server(0), 0, 0, 0, 0, ""};
    while (wpump(w, &sc, 4096))
        ;
    okt_event ev;
    CHECK(next_type(w, &ev) == OKT_EV_READY);
    okt_event_clear(&ev);
    char body[256];
    snprintf(body, sizeof body, "{\"result\":1,\"pad\":\"%0180d\"}", 0);
    okt_err e;
    int64_t id = okt_wire_request(w, "slow", NULL, 0, okt_now_ms(), &e);
    wpump(w, &sc, 4096);
    script_send(sc.ws, "slowresult", "1", body);   /* > 200 bytes */
    wpump(w, &sc, 4096);
    CHECK(next_type(w, &ev) == OKT_EV_ERROR && ev.id == id);
    okt_event_clear(&ev);
    CHECK(next_type(w, &ev) == OKT_EV_CLOSED && ev.err.code == OKT_EPROTOCOL &&
          strstr(ev.err.msg, "max_msg"));
    okt_event_clear(&ev);
    wpump(w, &sc, 4096);
    CHECK(okt_ws_peer_close_code(sc.ws) == 1009);
    okt_wire_free(w);
    okt_ws_free(sc.ws);
}

TEST(wire_redirect)
{
    okt_wire *w = mkwire("ws://pbx:4066/api", 0, 1);
    script sc = {mem_server(0), 1, 0, 0, 0, ""};
    for (int i = 0; i < 10 && okt_wire_state(w) != OKT_S_REDIRECT; i++)
        wpump(w, &sc, 4096);
    CHECK(okt_wire_state(w) == OKT_S_REDIRECT);
    CHECK_STR(okt_wire_redirect_url(w), "wss://pbx:443/api");
    CHECK(okt_wire_deadline(w) == 0);   /* the host must act */
    const char *p;
    size_t n;
    CHECK(!okt_wire_output(w, &p, &n));
    /* the host connected to the new URL (with TLS): the session goes on,
     * straight to login */
    okt_ws_free(sc.ws);
    sc.ws = mem_server(0);
    sc.redirect = 0;
    sc.pings = sc.logins = 0;
    okt_err e;
    CHECK(okt_wire_reopen(w, NULL, okt_now_ms(), &e) == 0);
    CHECK(okt_wire_redirect_url(w) == NULL);
    CHECK(okt_wire_output(w, &p, &n) && !strncmp(p, "GET /api HTTP/1.1\r\n", 19));
    CHECK(strstr(p, "\r\nHost: pbx\r\n") != NULL);
    for (int i = 0; i < 10 && okt_wire_state(w) != OKT_S_READY; i++)
        wpump(w, &sc, 4096);
    CHECK(okt_wire_state(w) == OKT_S_READY);
    CHECK(sc.pings == 0 && sc.logins == 1);
    CHECK(okt_wire_reopen(w, "ws://x/", okt_now_ms(), &e) == -1 &&
          e.code == OKT_EINVAL);
    okt_wire_free(w);
    okt_ws_free(sc.ws);
}

TEST(wire_misuse)
{
    okt_err e;
    okt_wire_cfg cfg;
    okt_wire_cfg_init(&cfg);
    cfg.session.login = "Peter";
    CHECK(okt_wire_new(&cfg, 0, &e) == NULL && e.code == OKT_EINVAL);
    cfg.url = "http://x/";
    CHECK(okt_wire_new(&cfg, 0, &e) == NULL && e.code == OKT_EINVAL);
    cfg.url = "ws://bad host/";
    CHECK(okt_wire_new(&cfg, 0, &e) == NULL && e.code == OKT_EINVAL);
    CHECK(okt_wire_feed(NULL, "x", 1, 0, &e) == -1 && e.code == OKT_EINVAL);
    CHECK(okt_wire_deadline(NULL) == -1);
    CHECK(okt_wire_state(NULL) == OKT_S_CLOSED);
    okt_wire_free(NULL);
}

/* ---- the wire against the emulator over TCP -------------------------------- */

static int tcp_connect(int port)
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
    return fd;
}

/* What a host driver does, once: write the output, wait for input up to
 * the deadline (at most max_ms), feed it (`chunk` bytes per feed), tick.
 * Returns 0, or -1 when the socket ended (the wire was told). */
static int host_turn(okt_wire *w, int fd, size_t chunk, int max_ms)
{
    const char *p;
    size_t n;
    while (okt_wire_output(w, &p, &n)) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            okt_wire_transport_closed(w, NULL, okt_now_ms());
            return -1;
        }
        okt_wire_consume(w, (size_t)k);
    }
    int64_t d = okt_wire_deadline(w), now = okt_now_ms();
    int tmo = max_ms;
    if (d >= 0 && d - now < tmo)
        tmo = d <= now ? 0 : (int)(d - now);
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, tmo) > 0) {
        char buf[4096];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            okt_err why;
            okt_err_set(&why, OKT_ECLOSED, "eof");
            okt_wire_transport_closed(w, &why, okt_now_ms());
            return -1;
        }
        okt_err e;
        for (size_t off = 0; off < (size_t)r; off += chunk) {
            size_t k = (size_t)r - off < chunk ? (size_t)r - off : chunk;
            okt_wire_feed(w, buf + off, k, okt_now_ms(), &e);
        }
    }
    okt_wire_tick(w, okt_now_ms());
    return 0;
}

/* Turn until an event of `type` (collected into *ev) or max_ms. */
static int host_until(okt_wire *w, int fd, size_t chunk, int type,
                      okt_event *ev, int max_ms)
{
    int64_t end = okt_now_ms() + max_ms;
    while (okt_now_ms() < end) {
        while (okt_wire_next_event(w, ev)) {
            if (ev->type == type)
                return 1;
            okt_event_clear(ev);
        }
        if (host_turn(w, fd, chunk, 20) != 0 && !okt_wire_next_event(w, ev))
            return 0;
        if (ev->type == type)
            return 1;
    }
    return 0;
}

static void against_emulator(size_t chunk)
{
    okt_err err;
    okt_emu *emu = okt_emu_new(NULL, &err);
    CHECK(emu && okt_emu_start(emu, &err) == 0);
    int port = okt_emu_port(emu);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    int fd = tcp_connect(port);
    CHECK(fd >= 0);
    okt_wire *w = mkwire(url, 0, 0);
    okt_event ev;
    memset(&ev, 0, sizeof ev);
    CHECK(host_until(w, fd, chunk, OKT_EV_READY, &ev, 3000));
    okt_event_clear(&ev);
    CHECK(okt_wire_state(w) == OKT_S_READY);
    int64_t id = okt_wire_request(w, "getuserstate", NULL, 0, okt_now_ms(), &err);
    CHECK(host_until(w, fd, chunk, OKT_EV_REPLY, &ev, 3000) && ev.id == id);
    CHECK_STR(json_string_value(json_object_get(ev.data, "userstateid")), "1");
    okt_event_clear(&ev);
    /* a change reaches us as an event */
    json_t *p = json_pack("{s:i}", "userstateid", 3);
    id = okt_wire_request(w, "setuserstate", p, 0, okt_now_ms(), &err);
    CHECK(host_until(w, fd, chunk, OKT_EV_SERVER, &ev, 3000));
    CHECK_STR(ev.name, "userstatechanged");
    okt_event_clear(&ev);
    /* the emulator drops the user: EOF, then the closed event */
    json_t *a = json_pack("{s:s}", "user", "Peter");
    CHECK(okt_emu_control(emu, "drop", a, NULL, NULL) == 0);
    json_decref(a);
    CHECK(host_until(w, fd, chunk, OKT_EV_CLOSED, &ev, 3000));
    CHECK(ev.err.code == OKT_ECLOSED);
    okt_event_clear(&ev);
    okt_wire_free(w);
    close(fd);

    /* a polite close reaches the server as logout + close frame */
    fd = tcp_connect(port);
    w = mkwire(url, 0, 0);
    CHECK(host_until(w, fd, chunk, OKT_EV_READY, &ev, 3000));
    okt_event_clear(&ev);
    okt_wire_close(w, okt_now_ms());
    host_turn(w, fd, chunk, 0);
    const char *o;
    size_t n;
    CHECK(!okt_wire_output(w, &o, &n));
    char b[64];
    struct pollfd pf = {fd, POLLIN, 0};
    ssize_t r = 1;
    /* the server answers the close frame and closes: read to EOF */
    while (r > 0 && poll(&pf, 1, 2000) > 0)
        r = recv(fd, b, sizeof b, 0);
    CHECK(r == 0);
    okt_wire_free(w);
    close(fd);
    int64_t end = okt_now_ms() + 2000;
    while (okt_emu_sessions(emu) > 0 && okt_now_ms() < end)
        poll(NULL, 0, 5);
    CHECK(okt_emu_sessions(emu) == 0);
    okt_emu_free(emu);
}

TEST(wire_against_emulator)
{
    against_emulator(1 << 20);
}

TEST(wire_against_emulator_byte_by_byte)
{
    against_emulator(1);
}

int main(void)
{
    RUN(client_mem_upgrade_request);
    RUN(mem_pair_echo);
    RUN(mem_pair_one_byte_at_a_time);
    RUN(mem_pair_odd_chunks);
    RUN(mem_client_exact_bytes);
    RUN(mem_bad_upgrade_responses);
    RUN(mem_handshake_limit);
    RUN(mem_message_limit);
    RUN(mem_backpressure_and_backlog);
    RUN(mem_close_handshakes);
    RUN(mem_eof);
    RUN(mem_client_vs_socket_server);
    RUN(wire_login_request_close);
    RUN(wire_one_byte_at_a_time);
    RUN(wire_peer_closes);
    RUN(wire_transport_drops);
    RUN(wire_upgrade_refused);
    RUN(wire_open_timeout);
    RUN(wire_message_limit);
    RUN(wire_redirect);
    RUN(wire_misuse);
    RUN(wire_against_emulator);
    RUN(wire_against_emulator_byte_by_byte);
    return TEST_SUMMARY();
}
