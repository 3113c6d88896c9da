/* bench/wire.c - round trips of a small JSON text message between a ws.c
 * client (main thread) and a ws.c echo server (its own thread) over
 * loopback, with 1 and with 64 requests in flight, and the client's system
 * calls per round trip.
 *
 * Baseline, measured in the same run with the same loop shape: a plain TCP
 * echo of the same bytes, newline-delimited, no WebSocket framing, no
 * masking (raw recv/send on the same kind of non-blocking sockets).
 *
 * Syscall counting: the bench counts its own poll() calls; okt_ws counts
 * every socket call it makes (okt_ws_get_stats().syscalls). The baseline
 * counts its poll/recv/send the same way. Client side only. Cross-check:
 * `strace -c build/bench/wire` traces only the main thread, i.e. both
 * clients (the servers run in other threads); its sendto+recvfrom+poll
 * (+ the getpid OpenSSL's RAND_bytes makes per mask block) match the sum.
 *
 * Usage: build/bench/wire [seconds-per-run]   (default 1.0; best of 3) */
#include "ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static const char MSG[] = "[\"getuserstate\",{\"userlogin\":\"op1\",\"qid\":\"12345\"}]";
#define MSGLEN (sizeof MSG - 1)

/* ---- servers (one thread, one connection) ------------------------------ */

typedef struct server {
    int lfd, port, wake, plain;
    pthread_t th;
} server;

static short to_poll(int ev)
{
    return (short)(((ev & OKT_WANT_READ) ? POLLIN : 0) |
                   ((ev & OKT_WANT_WRITE) ? POLLOUT : 0));
}

static int to_okt(short re)
{
    int r = 0;
    if (re & (POLLIN | POLLHUP | POLLERR))
        r |= OKT_WANT_READ;
    if (re & (POLLOUT | POLLHUP | POLLERR))
        r |= OKT_WANT_WRITE;
    return r;
}

static int accept_wait(server *s)
{
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return -1;
        if (p[1].revents)
            return -1;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
    }
}

static void ws_echo(server *s, int fd)
{
    okt_err err;
    okt_ws *ws = okt_ws_accept(fd, NULL, &err);
    if (!ws)
        return;
    for (;;) {
        struct pollfd p[2] = {{okt_ws_fd(ws), to_poll(okt_ws_events(ws)), 0},
                              {s->wake, POLLIN, 0}};
        poll(p, 2, okt_ws_pending(ws) ? 0 : -1);
        if (p[1].revents)
            break;
        if (okt_ws_step(ws, to_okt(p[0].revents), &err) != 0)
            break;
        const char *d;
        size_t l;
        int n = 0;
        while (okt_ws_recv(ws, &d, &l) == 1) {
            okt_ws_send(ws, d, l, &err);
            n++;
        }
        if (n && okt_ws_step(ws, OKT_WANT_WRITE, &err) != 0)
            break;
    }
    okt_ws_free(ws);
}

static void plain_echo(server *s, int fd)
{
    char *buf = malloc(1 << 16);
    for (;;) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {s->wake, POLLIN, 0}};
        poll(p, 2, -1);
        if (p[1].revents)
            break;
        ssize_t n = recv(fd, buf, 1 << 16, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            break;
        /* Echo what came; the stream is newline-delimited so bytes echo
         * as they are. A real server would frame; this is the floor. */
        ssize_t off = 0;
        while (n > 0 && off < n) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN) {
                struct pollfd q = {fd, POLLOUT, 0};
                poll(&q, 1, -1);
                continue;
            }
            if (w <= 0)
                break;
            off += w;
        }
    }
    free(buf);
    close(fd);
}

static void *server_main(void *arg)
{
    server *s = arg;
    int fd;
    while ((fd = accept_wait(s)) >= 0) {
        if (s->plain)
            plain_echo(s, fd);
        else
            ws_echo(s, fd);
    }
    return NULL;
}

static int server_start(server *s, int plain)
{
    memset(s, 0, sizeof *s);
    s->plain = plain;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 8))
        return -1;
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return pthread_create(&s->th, NULL, server_main, s);
}

static void server_stop(server *s)
{
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0)
        perror("eventfd");
    pthread_join(s->th, NULL);
    close(s->wake);
    close(s->lfd);
}

/* ---- clients ------------------------------------------------------------ */

typedef struct result {
    double rtps;          /* round trips per second */
    double sys_per_rt;    /* client system calls per round trip */
    long rts;
} result;

static result ws_client(int port, int inflight, double secs)
{
    result res = {0};
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    okt_err err;
    okt_ws *c = okt_ws_connect(url, NULL, &err);
    if (!c) {
        fprintf(stderr, "connect: %s\n", err.msg);
        return res;
    }
    while (okt_ws_state(c) == OKT_WS_CONNECTING) {
        struct pollfd p = {okt_ws_fd(c), to_poll(okt_ws_events(c)), 0};
        poll(&p, 1, 1000);
        if (okt_ws_step(c, to_okt(p.revents), &err) != 0) {
            fprintf(stderr, "handshake: %s\n", err.msg);
            okt_ws_free(c);
            return res;
        }
    }
    okt_ws_stats s0, s1;
    okt_ws_get_stats(c, &s0);
    long polls = 0, done = 0;
    for (int i = 0; i < inflight; i++)
        okt_ws_send(c, MSG, MSGLEN, &err);
    okt_ws_step(c, OKT_WANT_WRITE, &err);
    int64_t t0 = okt_now_ms(), end = t0 + (int64_t)(secs * 1000);
    int64_t now = t0;
    for (;;) {
        struct pollfd p = {okt_ws_fd(c), to_poll(okt_ws_events(c)), 0};
        poll(&p, 1, okt_ws_pending(c) ? 0 : 1000);
        polls++;
        if (okt_ws_step(c, to_okt(p.revents), &err) != 0) {
            fprintf(stderr, "step: %s\n", err.msg);
            break;
        }
        const char *d;
        size_t l;
        int n = 0;
        while (okt_ws_recv(c, &d, &l) == 1) {
            if (l != MSGLEN || memcmp(d, MSG, l) != 0) {
                fprintf(stderr, "bad echo\n");
                okt_ws_free(c);
                return res;
            }
            done++;
            n++;
        }
        now = okt_now_ms();   /* vDSO clock: not a system call */
        if (now >= end)
            break;
        for (int i = 0; i < n; i++)
            okt_ws_send(c, MSG, MSGLEN, &err);
        if (n)   /* flush now: one send() for the whole batch */
            okt_ws_step(c, OKT_WANT_WRITE, &err);
    }
    now = okt_now_ms();
    okt_ws_get_stats(c, &s1);
    res.rts = done;
    res.rtps = done * 1000.0 / (double)(now - t0 ? now - t0 : 1);
    res.sys_per_rt = done ? (double)(polls + (long)(s1.syscalls - s0.syscalls)) / done : 0;
    okt_ws_free(c);
    return res;
}

static result plain_client(int port, int inflight, double secs)
{
    result res = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        close(fd);
        return res;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char line[MSGLEN + 1];
    memcpy(line, MSG, MSGLEN);
    line[MSGLEN] = '\n';
    char *out = malloc((MSGLEN + 1) * (size_t)inflight);
    char *in = malloc(1 << 16);
    long sys = 0, done = 0;
    for (int i = 0; i < inflight; i++)
        memcpy(out + i * (MSGLEN + 1), line, MSGLEN + 1);
    send(fd, out, (MSGLEN + 1) * (size_t)inflight, MSG_NOSIGNAL);
    sys++;
    int64_t t0 = okt_now_ms(), end = t0 + (int64_t)(secs * 1000), now = t0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 1000);
        ssize_t r = recv(fd, in, 1 << 16, MSG_DONTWAIT);
        sys += 2;
        if (r <= 0)
            break;
        int n = 0;
        for (ssize_t i = 0; i < r; i++)
            n += in[i] == '\n';
        done += n;
        now = okt_now_ms();   /* vDSO clock: not a system call */
        if (now >= end)
            break;
        if (n) {
            send(fd, out, (MSGLEN + 1) * (size_t)n, MSG_NOSIGNAL);
            sys++;
        }
    }
    now = okt_now_ms();
    res.rts = done;
    res.rtps = done * 1000.0 / (double)(now - t0 ? now - t0 : 1);
    res.sys_per_rt = done ? (double)sys / done : 0;
    free(out);
    free(in);
    close(fd);
    return res;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0)
        secs = 1.0;
    printf("wire: %zu-byte JSON text echo over loopback, %.1fs per run, best of 3\n",
           MSGLEN, secs);
    printf("syscalls: client side, counted (bench poll() calls + okt_ws socket calls;\n"
           "          baseline: its own poll/recv/send)\n");
    printf("baseline: plain TCP echo of the same bytes, newline-delimited, same loop\n\n");
    printf("%-22s %9s %14s %14s %10s\n", "case", "in flight", "round trips/s",
           "syscalls/rt", "vs base");
    int ok = 1;
    int flights[] = {1, 64};
    for (int i = 0; i < 2; i++) {
        int k = flights[i];
        /* Best of 3 interleaved runs: the machine is shared, and a stray
         * scheduling hiccup should not decide the comparison. */
        result b = {0}, w = {0};
        for (int rep = 0; rep < 3; rep++) {
            server sb, sw;
            if (server_start(&sb, 1) != 0 || server_start(&sw, 0) != 0) {
                fprintf(stderr, "cannot start servers\n");
                return 1;
            }
            result rb = plain_client(sb.port, k, secs);
            result rw = ws_client(sw.port, k, secs);
            server_stop(&sb);
            server_stop(&sw);
            if (rb.rtps > b.rtps)
                b = rb;
            if (rw.rtps > w.rtps)
                w = rw;
        }
        printf("%-22s %9d %14.0f %14.2f %10s\n", "baseline tcp echo", k, b.rtps,
               b.sys_per_rt, "1.00");
        printf("%-22s %9d %14.0f %14.2f %9.2fx\n", "ws.c client/server", k, w.rtps,
               w.sys_per_rt, b.rtps > 0 ? w.rtps / b.rtps : 0);
        if (k == 64) {
            printf("\ngoals (64 in flight): >= 50000 round trips/s: %s (%.0f); "
                   "<= 2 syscalls/rt: %s (%.2f)\n",
                   w.rtps >= 50000 ? "met" : "MISSED", w.rtps,
                   w.sys_per_rt <= 2.0 ? "met" : "MISSED", w.sys_per_rt);
            ok = w.rts > 0;
        }
    }
    return ok ? 0 : 1;
}
