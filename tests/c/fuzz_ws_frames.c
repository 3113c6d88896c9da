/* fuzz_ws_frames.c - libFuzzer target for the frame input of a server-side
 * okt_ws: a socketpair, a valid upgrade request, then the fuzz bytes as
 * the client's frames, then EOF. The server must end (step returns -1)
 * within a bounded number of turns, never crash, leak or hang, and every
 * message it delivers must respect max_msg. The peer end is drained so
 * the server's pongs and close frames never block it. Built with
 * -DOKT_FUZZ_MAIN it replays files named on the command line instead. */
#include "ws.h"

#include <errno.h>
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

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    okt_ws_cfg cfg;
    okt_ws_cfg_init(&cfg);
    cfg.max_msg = MAX_MSG;
    okt_err err;
    okt_ws *ws = okt_ws_accept(sv[0], &cfg, &err);
    if (!ws) {
        close(sv[1]);
        return 0;
    }
    if (send(sv[1], upgrade, sizeof upgrade - 1, MSG_NOSIGNAL) < 0)
        abort();
    size_t off = 0;
    int shut = 0;
    char sink[4096];
    for (int turn = 0; turn < 10000; turn++) {
        if (off < size) {
            ssize_t w = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
        }
        if (off == size && !shut) {
            shutdown(sv[1], SHUT_WR);
            shut = 1;
        }
        while (recv(sv[1], sink, sizeof sink, 0) > 0)
            ;
        int rc = okt_ws_step(ws, OKT_WANT_READ | OKT_WANT_WRITE, &err);
        const char *m;
        size_t l;
        while (okt_ws_recv(ws, &m, &l) == 1)
            if (l > MAX_MSG || m[l] != '\0')
                abort();
        if (rc != 0) {
            if (err.code == 0 || okt_ws_fd(ws) != -1 || okt_ws_events(ws) != 0)
                abort();
            break;
        }
        if (turn == 9999)
            abort();   /* EOF was given: the connection must end */
    }
    okt_ws_free(ws);
    close(sv[1]);
    return 0;
}

#ifdef OKT_FUZZ_MAIN
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        static unsigned char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
