/* fuzz_ws_frames.c - libFuzzer target for the frame input of okt_ws.
 *
 * The first byte picks the side:
 *   even: a server okt_ws on a socketpair. Unless the rest starts with
 *         "GET " (then it is its own upgrade request, so the HTTP phase is
 *         fuzzed through okt_ws too), a valid upgrade request goes first.
 *   odd:  a client okt_ws connected over loopback TCP to this harness,
 *         which answers the upgrade with a correct 101 and then sends the
 *         rest as the server's frames.
 * Then EOF. The okt_ws must end (step returns -1) within a bounded number
 * of turns, never crash, leak or hang, and every message it delivers must
 * respect max_msg. The harness drains the other end so pongs and close
 * frames never block. `make test` replays its corpus through
 * tests/c/fuzz_replay.c. */
#include "ws.h"
#include "ws_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MSG 65536

static const char upgrade[] =
    "GET /fuzz HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: json\r\n\r\n";

/* Feed data into the peer end `pfd` and turn ws until it ends. */
static void drive(okt_ws *ws, int pfd, const unsigned char *data, size_t size)
{
    size_t off = 0;
    int shut = 0;
    char sink[4096];
    okt_err err;
    for (int turn = 0; turn < 10000; turn++) {
        if (off < size) {
            ssize_t w = send(pfd, data + off, size - off, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
        }
        if (off == size && !shut) {
            shutdown(pfd, SHUT_WR);
            shut = 1;
        }
        while (recv(pfd, sink, sizeof sink, MSG_DONTWAIT) > 0)
            ;
        if (okt_ws_state(ws) == OKT_WS_CONNECTING && turn > 0) {
            /* loopback connect / upgrade in flight: wait a little */
            struct pollfd p = {okt_ws_fd(ws), POLLIN | POLLOUT, 0};
            poll(&p, 1, 1);
        }
        int rc = okt_ws_step(ws, OKT_WANT_READ | OKT_WANT_WRITE, &err);
        const char *m;
        size_t l;
        while (okt_ws_recv(ws, &m, &l) == 1)
            if (l > MAX_MSG || m[l] != '\0')
                abort();
        if (rc != 0) {
            if (err.code == 0 || okt_ws_fd(ws) != -1 || okt_ws_events(ws) != 0)
                abort();
            return;
        }
    }
    abort();   /* EOF was given: the connection must have ended */
}

static void as_server(const unsigned char *data, size_t size, okt_ws_cfg *cfg)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    okt_err err;
    okt_ws *ws = okt_ws_accept(sv[0], cfg, &err);
    if (!ws) {
        close(sv[1]);
        return;
    }
    if (!(size >= 4 && memcmp(data, "GET ", 4) == 0) &&
        send(sv[1], upgrade, sizeof upgrade - 1, MSG_NOSIGNAL) < 0)
        abort();
    drive(ws, sv[1], data, size);
    okt_ws_free(ws);
    close(sv[1]);
}

static int harness_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0)
        abort();
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

static void as_client(const unsigned char *data, size_t size, okt_ws_cfg *cfg)
{
    static int lfd = -1, port;   /* one listener for the whole run */
    if (lfd < 0)
        lfd = harness_listener(&port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/f", port);
    okt_err err;
    okt_ws *ws = okt_ws_connect(url, cfg, &err);
    if (!ws)
        abort();   /* the listener is there */
    int fd = -1;
    char req[4096];
    size_t n = 0;
    /* accept and read the request while the client turns */
    for (int i = 0; i < 2000 && fd < 0; i++) {
        struct pollfd p = {lfd, POLLIN, 0};
        poll(&p, 1, 1);
        if (p.revents)
            fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        okt_ws_step(ws, OKT_WANT_READ | OKT_WANT_WRITE, &err);
    }
    if (fd < 0)
        abort();
    while (okt_wsh_head_len(req, n) == 0 && n < sizeof req) {
        okt_ws_step(ws, OKT_WANT_READ | OKT_WANT_WRITE, &err);
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 10);
        ssize_t r = recv(fd, req + n, sizeof req - n, 0);
        if (r <= 0 && !(r < 0 && errno == EAGAIN))
            abort();
        if (r > 0)
            n += (size_t)r;
    }
    const char *k = memmem(req, n, "Sec-WebSocket-Key: ", 19);
    if (!k || k + 19 + OKT_WSH_KEY_LEN > req + n)
        abort();
    char key[OKT_WSH_KEY_LEN + 1];
    memcpy(key, k + 19, OKT_WSH_KEY_LEN);
    key[OKT_WSH_KEY_LEN] = '\0';
    char acc[OKT_WSH_ACCEPT_LEN + 1];
    okt_wsh_accept_for(key, acc);
    char resp[256];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                      "Sec-WebSocket-Protocol: json\r\n\r\n", acc);
    if (send(fd, resp, (size_t)rl, MSG_NOSIGNAL) != rl)
        abort();
    drive(ws, fd, data, size);
    okt_ws_free(ws);
    /* close with RST: no TIME_WAIT pile-up over a long run */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_msg = MAX_MSG;
    cfg.max_handshake = 4096;
    if (data[0] & 1)
        as_client(data + 1, size - 1, &cfg);
    else
        as_server(data + 1, size - 1, &cfg);
    return 0;
}

