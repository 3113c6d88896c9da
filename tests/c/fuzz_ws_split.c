/* fuzz_ws_split.c - libFuzzer target: the same wire bytes, fed to a
 * memory-mode okt_ws whole and then in pieces, give the same messages and
 * the same end. An idle okt_ws frees its wslay context between feeds and
 * makes a new one when bytes come (ws.c, ctx_park): a piece that ends
 * inside a frame header, a payload or a fragmented message must find the
 * context kept, so any loss of state shows as a difference here.
 * Compared: the messages and whether the connection ended, not why: wslay
 * 1.1.1 checks the UTF-8 of a close frame's reason piece by piece and
 * skips the first two bytes of each piece, so a bad reason split across
 * reads can pass (a close, "closed") where whole it fails (1007,
 * "protocol"), with or without a context kept.
 *
 * Input: byte 0 picks the side (even: a client fed unmasked server
 * frames; odd: a server fed masked client frames) and, with byte 1, seeds
 * the piece sizes (1 to 64 bytes); the rest is the wire after the
 * upgrade. `make test` replays its corpus through tests/c/fuzz_replay.c. */
#include "ws.h"
#include "ws_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSG 65536

static const char upgrade[] =
    "GET /fuzz HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: json\r\n\r\n";

typedef struct run {
    char *msgs;         /* every message, each as its length then bytes */
    size_t len, cap;
    int rc, code;       /* the end: feed's last status (and its class,
                           printed, not compared: see the top) */
} run;

static void put(run *r, const void *d, size_t n)
{
    if (r->len + n > r->cap) {
        size_t c = r->cap ? r->cap : 256;
        while (c < r->len + n)
            c *= 2;
        char *p = realloc(r->msgs, c);
        if (!p)
            abort();
        r->msgs = p;
        r->cap = c;
    }
    memcpy(r->msgs + r->len, d, n);
    r->len += n;
}

/* Take what the okt_ws has for us: its messages, and its output (pongs,
 * a close frame) as a host writes it out. */
static void take(okt_ws *ws, run *r)
{
    const char *m;
    size_t n;
    while (okt_ws_recv(ws, &m, &n)) {
        if (n > MAX_MSG)
            abort();   /* max_msg holds */
        put(r, &n, sizeof n);
        put(r, m, n);
    }
    while (okt_ws_output(ws, &m, &n))
        okt_ws_consume(ws, n);
}

static okt_ws *open_ws(int server)
{
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_msg = MAX_MSG;
    okt_err err;
    okt_ws *ws;
    const char *m;
    size_t n;
    if (server) {
        ws = okt_ws_server_mem(&cfg, &err);
        if (!ws || okt_ws_feed(ws, upgrade, sizeof upgrade - 1, &err) != 0)
            abort();
        while (okt_ws_output(ws, &m, &n))
            okt_ws_consume(ws, n);
    } else {
        ws = okt_ws_client_mem("ws://f/fuzz", &cfg, &err);
        if (!ws || !okt_ws_output(ws, &m, &n))
            abort();
        const char *k = memmem(m, n, "Sec-WebSocket-Key: ", 19);
        if (!k)
            abort();
        char key[OKT_WSH_KEY_LEN + 1], acc[OKT_WSH_ACCEPT_LEN + 1];
        memcpy(key, k + 19, OKT_WSH_KEY_LEN);
        key[OKT_WSH_KEY_LEN] = '\0';
        okt_ws_consume(ws, n);
        okt_wsh_accept_for(key, acc);
        char resp[256];
        int rl = snprintf(resp, sizeof resp,
                          "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n"
                          "Sec-WebSocket-Protocol: json\r\n\r\n", acc);
        if (okt_ws_feed(ws, resp, (size_t)rl, &err) != 0)
            abort();
    }
    if (okt_ws_state(ws) != OKT_WS_OPEN)
        abort();
    return ws;
}

/* Feed data in pieces of the sizes the seed draws (0: all at once). */
static void feed(int server, const uint8_t *data, size_t size, unsigned seed,
                 run *r)
{
    okt_ws *ws = open_ws(server);
    okt_err err;
    size_t off = 0;
    int rc = 0;
    while (off < size && rc == 0) {
        size_t piece = size - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 16) % 64;
            if (k < piece)
                piece = k;
        }
        rc = okt_ws_feed(ws, (const char *)data + off, piece, &err);
        if (rc != 0 && err.code == OKT_EINVAL)
            abort();   /* never over the backlog: messages are taken */
        off += piece;
        take(ws, r);
        /* bytes held back while messages waited: on with them */
        for (int i = 0; i < 64 && rc == 0; i++) {
            size_t before = r->len;
            rc = okt_ws_feed(ws, NULL, 0, &err);
            take(ws, r);
            if (r->len == before)
                break;
        }
    }
    if (rc == 0)
        rc = okt_ws_feed_eof(ws, &err);
    take(ws, r);
    r->rc = rc;
    r->code = rc ? err.code : 0;
    okt_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int server = data[0] & 1;
    unsigned seed = ((unsigned)data[0] << 8 | data[1]) | 1u;
    run whole = {0}, pieces = {0};
    feed(server, data + 2, size - 2, 0, &whole);
    feed(server, data + 2, size - 2, seed, &pieces);
    if (whole.len != pieces.len || whole.rc != pieces.rc ||
        (whole.len && memcmp(whole.msgs, pieces.msgs, whole.len) != 0)) {
        fprintf(stderr, "fuzz_ws_split: whole and pieces differ (%zu/%zu "
                "bytes of messages, end %d/%d, code %d/%d)\n", whole.len,
                pieces.len, whole.rc, pieces.rc, whole.code, pieces.code);
        abort();
    }
    free(whole.msgs);
    free(pieces.msgs);
    return 0;
}
