/* hostile_peer.c - misbehaving WebSocket peers for spec/adversarial_spec.lua.
 * Each mode runs against an emulator on 127.0.0.1:PORT and prints what it
 * measured as one JSON line on stdout; the spec asserts on the figures.
 * The "serve" modes turn it round: a hostile server for our client (see
 * m_serve below).
 * Raw sockets and hand-made frames (not ws.c): a hostile peer breaks the
 * rules a well-behaved transport keeps, and may bind its own source address
 * (127.0.0.2, still loopback) to look like another host.
 *
 *   hostile_peer [--pid PID] MODE PORT [ARG]
 *     flood SECONDS     one peer pipelines pings (reading its replies) while
 *                       a prober times getuserstate round trips
 *     closeflood MB     one peer pipelines MB of pings, then closes; the
 *                       prober's next round trip is timed
 *     pingflood SECONDS WebSocket pings, never reading
 *     idle N            N upgraded connections that never log in: how long
 *                       until the server closes them
 *     noread SECONDS    logs in, sends requests, never reads
 *     conns N           N upgrades held open: how many got 101, 503, other
 *     bomb KIND         one 16 MB frame (nested | arrays | numbers | keys |
 *                       string): time to the answer, then a probe
 *     guess N           N wrong passwords for user A from 127.0.0.1, then
 *                       user B's right one from 127.0.0.2
 *     hog SECONDS       pipelines requests whose replies it never reads
 *     memhog KxMB       K peers each hold an unfinished frame of MB
 *                       megabytes; then a new connection is tried
 *   hostile_peer [--pid PID] serve MODE [ARG]   a hostile server (m_serve)
 *   --pid PID: also report the peak growth of that process's VmRSS (kB)
 *   sampled every 20 ms while the mode runs, and its VmRSS at the end.
 *
 * Every loop is bounded in count and time; only loopback is ever dialled. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ws_http.h"

#define BOMB_BYTES (16u * 1024u * 1024u - 256u)

typedef struct peer {
    int fd;
    char *buf;          /* received bytes not yet parsed */
    size_t len, cap;
    int closed;         /* the server closed or reset the connection */
} peer;

static int port;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- VmRSS sampling (--pid) ------------------------------------------- */

static int rss_pid;
static volatile int rss_stop;
static long rss_base, rss_peak;

static long vmrss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void *rss_thread(void *arg)
{
    (void)arg;
    while (!rss_stop) {
        long kb = vmrss_kb(rss_pid);
        if (kb > rss_peak)
            rss_peak = kb;
        usleep(20000);
    }
    return NULL;
}

/* ---- connections ------------------------------------------------------ */

static int tcp_connect(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (src) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Read what is there (waiting up to ms for the first byte). 1 read
 * something, 0 nothing, -1 closed. */
static int fill(peer *p, int ms)
{
    struct pollfd pf = {p->fd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return 0;
    if (p->cap - p->len < 65536) {
        size_t cap = p->cap ? p->cap * 2 : 131072;
        char *b = realloc(p->buf, cap);
        if (!b)
            abort();
        p->buf = b;
        p->cap = cap;
    }
    ssize_t n = recv(p->fd, p->buf + p->len, p->cap - p->len, 0);
    if (n > 0) {
        p->len += (size_t)n;
        return 1;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        p->closed = 1;
        return -1;
    }
    return 0;
}

/* Send all of d, waiting up to ms in all. 0 sent, -1 not (all of) it. */
static int send_all(peer *p, const void *d, size_t n, int ms)
{
    const char *s = d;
    double end = now_ms() + ms;
    while (n) {
        ssize_t r = send(p->fd, s, n, MSG_NOSIGNAL);
        if (r > 0) {
            s += r;
            n -= (size_t)r;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            p->closed = 1;
            return -1;
        }
        double left = end - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pf = {p->fd, POLLOUT, 0};
        poll(&pf, 1, (int)left + 1);
    }
    return 0;
}

/* The upgrade: the HTTP status the server answered (101, 503, ...), 0 for
 * none within 3 s. After a 101 the peer is open. */
static int upgrade(peer *p, char *why, size_t whylen)
{
    static const char req[] =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: json\r\n\r\n";
    if (send_all(p, req, sizeof req - 1, 3000) != 0 && p->closed)
        return 0;
    double end = now_ms() + 3000;
    char *eoh = NULL;
    while (!(eoh = p->len ? memmem(p->buf, p->len, "\r\n\r\n", 4) : NULL)) {
        double left = end - now_ms();
        if (left <= 0 || fill(p, (int)left + 1) < 0)
            break;
    }
    int status = 0;
    if (p->len >= 12)
        sscanf(p->buf, "HTTP/1.1 %d", &status);
    if (why) {
        /* the body of a refusal, as far as it came */
        const char *body = eoh ? eoh + 4 : "";
        size_t bl = eoh ? p->len - (size_t)(eoh + 4 - p->buf) : 0;
        if (status != 101 && eoh && fill(p, 200) > 0)
            bl = p->len - (size_t)(eoh + 4 - p->buf);
        snprintf(why, whylen, "%.*s", (int)(bl < whylen - 1 ? bl : whylen - 1),
                 status == 101 ? "" : body);
        for (char *c = why; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                *c = ' ';
    }
    if (eoh) {
        size_t head = (size_t)(eoh + 4 - p->buf);
        memmove(p->buf, p->buf + head, p->len - head);
        p->len -= head;
    }
    return status;
}

static void peer_close(peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p->buf);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

static int peer_open(peer *p, const char *src)
{
    memset(p, 0, sizeof *p);
    p->fd = tcp_connect(src);
    if (p->fd < 0)
        return -1;
    if (upgrade(p, NULL, 0) != 101) {
        peer_close(p);
        return -1;
    }
    return 0;
}

/* A client frame (masked with a zero key: the payload goes as is) appended
 * to out; returns its length. out has room for len + 14. */
static size_t frame(int opcode, const char *d, size_t len, unsigned char *out)
{
    size_t k = 0;
    out[k++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        out[k++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        out[k++] = 0x80 | 126;
        out[k++] = (unsigned char)(len >> 8);
        out[k++] = (unsigned char)len;
    } else {
        out[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[k++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memset(out + k, 0, 4);
    k += 4;
    if (len)
        memcpy(out + k, d, len);
    return k + len;
}

static int send_text(peer *p, const char *text)
{
    size_t n = strlen(text);
    unsigned char *f = malloc(n + 14);
    if (!f)
        abort();
    int rc = send_all(p, f, frame(1, text, n, f), 3000);
    free(f);
    return rc;
}

/* Next server frame from the buffer: its opcode, payload copied to a
 * malloc'd NUL-terminated *text (NULL to skip). 1, 0 incomplete. */
static int take_frame(peer *p, int *op, char **text)
{
    const unsigned char *b = (const unsigned char *)p->buf;
    if (p->len < 2)
        return 0;
    size_t k = 2, len = b[1] & 0x7F;
    if (len == 126) {
        if (p->len < 4)
            return 0;
        len = (size_t)b[2] << 8 | b[3];
        k = 4;
    } else if (len == 127) {
        if (p->len < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | b[2 + i];
        k = 10;
    }
    /* a client's frame (the hostile server reads our client) is masked */
    unsigned char key[4] = {0, 0, 0, 0};
    if (b[1] & 0x80) {
        if (p->len < k + 4)
            return 0;
        memcpy(key, b + k, 4);
        k += 4;
    }
    if (p->len - k < len)
        return 0;
    *op = b[0] & 0x0F;
    if (text) {
        *text = malloc(len + 1);
        if (!*text)
            abort();
        for (size_t i = 0; i < len; i++)
            (*text)[i] = (char)(b[k + i] ^ key[i & 3]);
        (*text)[len] = '\0';
    }
    memmove(p->buf, p->buf + k + len, p->len - k - len);
    p->len -= k + len;
    return 1;
}

/* The next text message within ms (malloc'd), NULL on timeout or close. */
static char *next_text(peer *p, int ms)
{
    double end = now_ms() + ms;
    for (;;) {
        int op;
        char *t;
        while (take_frame(p, &op, &t)) {
            if (op == 1)
                return t;
            free(t);
            if (op == 8) {
                p->closed = 1;
                return NULL;
            }
        }
        double left = end - now_ms();
        if (left <= 0 || p->closed || fill(p, (int)left + 1) < 0)
            return NULL;
    }
}

/* Send a request, wait for the reply whose text contains want. */
static char *ask(peer *p, const char *req, const char *want, int ms)
{
    if (send_text(p, req) != 0)
        return NULL;
    double end = now_ms() + ms;
    for (;;) {
        double left = end - now_ms();
        char *t = left > 0 ? next_text(p, (int)left + 1) : NULL;
        if (!t || strstr(t, want))
            return t;
        free(t);
    }
}

static void md5hex(const char *s, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static char *login_text(const char *user, const char *pw)
{
    static char buf[256];
    char h[33];
    md5hex(pw, h);
    snprintf(buf, sizeof buf,
             "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"%s\","
             "\"qid\":\"l\"}]", user, h);
    return buf;
}

static int login(peer *p, const char *user, const char *pw)
{
    char *t = ask(p, login_text(user, pw), "loginresult", 3000);
    int ok = t && strstr(t, "\"result\":1") != NULL;
    free(t);
    return ok ? 0 : -1;
}

static const char GETSTATE[] = "[\"getuserstate\",{\"qid\":\"probe\"}]";
static const char PING[] = "[\"ping\",{\"qid\":\"f\"}]";

/* One timed round trip on an idle, logged-in peer: ms, or -1. */
static double probe(peer *p, int ms)
{
    double t0 = now_ms();
    char *t = ask(p, GETSTATE, "getuserstateresult", ms);
    double dt = now_ms() - t0;
    free(t);
    return t ? dt : -1;
}

/* A buffer of back-to-back copies of one frame, at least n bytes. */
static unsigned char *frames_of(int opcode, const char *text, size_t n,
                                size_t *outlen)
{
    unsigned char one[256];
    size_t fl = frame(opcode, text, text ? strlen(text) : 0, one);
    size_t count = n / fl + 1;
    unsigned char *b = malloc(count * fl);
    if (!b)
        abort();
    for (size_t i = 0; i < count; i++)
        memcpy(b + i * fl, one, fl);
    *outlen = count * fl;
    return b;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- modes ------------------------------------------------------------ */

static int m_flood(double seconds)
{
    peer f, pr;
    if (peer_open(&f, NULL) || login(&f, "Peter", "123") ||
        peer_open(&pr, NULL) || login(&pr, "Peter", "123"))
        return printf("{\"mode\":\"flood\",\"error\":\"setup\""), 1;
    size_t blen, off = 0;
    unsigned char *chunk = frames_of(1, PING, 256 * 1024, &blen);
    double lat[4096];
    int nlat = 0, lost = 0;
    double sent = 0, got = 0, end = now_ms() + seconds * 1e3;
    double t0 = -1, next = now_ms() + 20;
    fcntl(pr.fd, F_SETFL, fcntl(pr.fd, F_GETFL) | O_NONBLOCK);
    while (now_ms() < end && nlat < 4096 && !f.closed && !pr.closed) {
        struct pollfd pf[2] = {{f.fd, POLLIN | POLLOUT, 0},
                               {pr.fd, POLLIN, 0}};
        poll(pf, 2, 1);
        if (pf[0].revents & POLLOUT) {
            ssize_t r = send(f.fd, chunk + off, blen - off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r > 0) {
                sent += (double)r;
                off = (off + (size_t)r) % blen;
            }
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char junk[65536];
            ssize_t r = recv(f.fd, junk, sizeof junk, MSG_DONTWAIT);
            if (r > 0)
                got += (double)r;
            else if (r == 0)
                f.closed = 1;
        }
        double now = now_ms();
        if (t0 < 0 && now >= next) {
            if (send_text(&pr, GETSTATE) != 0)
                break;
            t0 = now;
        }
        if (t0 >= 0) {
            if (pf[1].revents & POLLIN)
                fill(&pr, 0);
            int op;
            char *t;
            while (t0 >= 0 && take_frame(&pr, &op, &t)) {
                if (op == 1 && strstr(t, "getuserstateresult")) {
                    lat[nlat++] = now_ms() - t0;
                    t0 = -1;
                    next = now_ms() + 10;
                }
                free(t);
            }
            if (t0 >= 0 && now_ms() - t0 > 5000) {
                lost++;
                lat[nlat++] = 5000;
                t0 = -1;
            }
        }
    }
    if (t0 >= 0)    /* the last probe: how long it waited so far */
        lat[nlat++] = now_ms() - t0;
    qsort(lat, (size_t)nlat, sizeof lat[0], cmp_double);
    printf("{\"mode\":\"flood\",\"seconds\":%.1f,\"probes\":%d,\"lost\":%d,"
           "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
           "\"flood_mb_sent\":%.1f,\"flood_mb_read\":%.1f,"
           "\"flooder_closed\":%s",
           seconds, nlat, lost, nlat ? lat[nlat / 2] : -1.0,
           nlat ? lat[nlat * 99 / 100] : -1.0, nlat ? lat[nlat - 1] : -1.0,
           sent / 1048576, got / 1048576, f.closed ? "true" : "false");
    free(chunk);
    peer_close(&f);
    peer_close(&pr);
    return 0;
}

static int m_closeflood(double mb)
{
    peer f, pr;
    if (peer_open(&f, NULL) || login(&f, "Peter", "123") ||
        peer_open(&pr, NULL) || login(&pr, "Peter", "123"))
        return printf("{\"mode\":\"closeflood\",\"error\":\"setup\""), 1;
    double before = probe(&pr, 3000);
    size_t blen;
    unsigned char *chunk = frames_of(1, PING, (size_t)(mb * 1048576), &blen);
    /* as much as the server takes within 3 s, never reading */
    double t = now_ms(), sent = 0;
    size_t off = 0;
    while (off < blen && now_ms() - t < 3000) {
        ssize_t r = send(f.fd, chunk + off, blen - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r < 0 && errno != EAGAIN)
            break;
        struct pollfd pf = {f.fd, POLLOUT, 0};
        poll(&pf, 1, 10);
    }
    sent = (double)off;
    shutdown(f.fd, SHUT_WR);
    peer_close(&f);
    /* the server now holds the backlog of a peer that is gone */
    double worst = 0, first = probe(&pr, 10000);
    for (int i = 0; i < 20; i++) {
        double d = probe(&pr, 10000);
        if (d < 0 || d > worst)
            worst = d < 0 ? 10000 : d;
    }
    printf("{\"mode\":\"closeflood\",\"sent_mb\":%.1f,\"probe_before_ms\":%.2f,"
           "\"probe_after_close_ms\":%.2f,\"worst_next_20_ms\":%.2f",
           sent / 1048576, before, first, worst);
    free(chunk);
    peer_close(&pr);
    return 0;
}

static int m_pingflood(double seconds)
{
    peer f;
    if (peer_open(&f, NULL))
        return printf("{\"mode\":\"pingflood\",\"error\":\"setup\""), 1;
    size_t blen, off = 0;
    unsigned char *chunk = frames_of(9, NULL, 256 * 1024, &blen);
    double t0 = now_ms(), end = t0 + seconds * 1e3, sent = 0, cut = -1;
    while (now_ms() < end) {
        ssize_t r = send(f.fd, chunk + off, blen - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            sent += (double)r;
            off = (off + (size_t)r) % blen;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            cut = now_ms() - t0;
            break;
        }
        /* blocked: is the server still there? (a peek reads nothing) */
        char c;
        struct pollfd pf = {f.fd, POLLOUT, 0};
        poll(&pf, 1, 10);
        if ((pf.revents & (POLLHUP | POLLERR)) ||
            recv(f.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            cut = now_ms() - t0;
            break;
        }
    }
    printf("{\"mode\":\"pingflood\",\"sent_mb\":%.1f,\"pings\":%.0f,"
           "\"disconnected\":%s,\"after_ms\":%.0f",
           sent / 1048576, sent / 6, cut >= 0 ? "true" : "false", cut);
    free(chunk);
    peer_close(&f);
    return 0;
}

static int m_idle(int n)
{
    peer *p = calloc((size_t)n, sizeof *p);
    int open = 0;
    for (int i = 0; i < n; i++)
        open += peer_open(&p[i], NULL) == 0;
    double t0 = now_ms(), last = -1;
    int closed = 0, code = 0;
    char reason[64] = "";
    /* closed: a close frame (its code and reason kept) or the end */
    while (closed < open && now_ms() - t0 < 15000) {
        for (int i = 0; i < n; i++) {
            if (p[i].fd < 0 || p[i].closed)
                continue;
            int r = fill(&p[i], 0), op;
            char *t;
            while (take_frame(&p[i], &op, &t)) {
                if (op == 8 && !p[i].closed) {
                    size_t tl = strlen(t + (t[0] ? 2 : 0));
                    code = t[0] ? ((unsigned char)t[0] << 8 | (unsigned char)t[1]) : 0;
                    snprintf(reason, sizeof reason, "%.*s", (int)tl, t + 2);
                    p[i].closed = 1;
                }
                free(t);
            }
            if (r < 0)
                p[i].closed = 1;
            if (p[i].closed) {
                closed++;
                last = now_ms() - t0;
            }
        }
        usleep(5000);
    }
    for (char *c = reason; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
            *c = ' ';
    printf("{\"mode\":\"idle\",\"open\":%d,\"closed\":%d,\"last_closed_ms\":%.0f,"
           "\"close_code\":%d,\"close_reason\":\"%s\"",
           open, closed, last, code, reason);
    for (int i = 0; i < n; i++)
        peer_close(&p[i]);
    free(p);
    return 0;
}

/* Logged in, requests out, nothing read: pushed until the server cuts it
 * or seconds pass. */
static int m_noread(double seconds, const char *mode)
{
    peer f;
    if (peer_open(&f, NULL) || login(&f, "Peter", "123"))
        return printf("{\"mode\":\"%s\",\"error\":\"setup\"", mode), 1;
    int rcv = 4096;   /* a small receive window: the server's output backs up */
    setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    const char *req = "[\"getcurrentuserfullinfo\",{\"qid\":\"h\"}]";
    size_t blen, off = 0;
    unsigned char *chunk = frames_of(1, req, 64 * 1024, &blen);
    double t0 = now_ms(), end = t0 + seconds * 1e3, sent = 0, cut = -1;
    while (now_ms() < end) {
        ssize_t r = send(f.fd, chunk + off, blen - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            sent += (double)r;
            off = (off + (size_t)r) % blen;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            cut = now_ms() - t0;
            break;
        }
        char c;
        struct pollfd pf = {f.fd, POLLOUT, 0};
        poll(&pf, 1, 20);
        if ((pf.revents & (POLLHUP | POLLERR)) ||
            recv(f.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            cut = now_ms() - t0;
            break;
        }
    }
    printf("{\"mode\":\"%s\",\"sent_mb\":%.2f,\"disconnected\":%s,"
           "\"after_ms\":%.0f", mode, sent / 1048576,
           cut >= 0 ? "true" : "false", cut);
    free(chunk);
    peer_close(&f);
    return 0;
}

static int m_conns(int n)
{
    peer *p = calloc((size_t)n, sizeof *p);
    int ok = 0, refused = 0, other = 0;
    char why[128] = "", w[128];
    for (int i = 0; i < n; i++) {
        p[i].fd = tcp_connect(NULL);
        int st = p[i].fd >= 0 ? upgrade(&p[i], w, sizeof w) : 0;
        if (st == 101) {
            ok++;
        } else if (st == 503) {
            refused++;
            snprintf(why, sizeof why, "%s", w);
        } else {
            other++;
        }
    }
    /* the upgraded ones are still served */
    double pr = -1;
    for (int i = 0; i < n && pr < 0; i++)
        if (p[i].fd >= 0 && !p[i].closed && p[i].len == 0 &&
            login(&p[i], "Peter", "123") == 0)
            pr = probe(&p[i], 3000);
    printf("{\"mode\":\"conns\",\"upgraded\":%d,\"refused_503\":%d,"
           "\"other\":%d,\"reason\":\"%s\",\"probe_ms\":%.2f",
           ok, refused, other, why, pr);
    for (int i = 0; i < n; i++)
        peer_close(&p[i]);
    free(p);
    return 0;
}

/* 16 MB of one shape as the qid of a message called name. */
static char *bomb_text(const char *name, const char *kind, size_t *len)
{
    size_t n = BOMB_BYTES;
    char *b = malloc(n + 64);
    if (!b)
        abort();
    size_t k = (size_t)sprintf(b, "[\"%s\",{\"qid\":", name);
    if (!strcmp(kind, "nested")) {
        while (k < n)
            b[k++] = '[';
    } else if (!strcmp(kind, "arrays")) {
        b[k++] = '[';
        while (k < n - 4) {
            memcpy(b + k, "[],", 3);
            k += 3;
        }
        memcpy(b + k, "[]]", 3);
        k += 3;
    } else if (!strcmp(kind, "numbers")) {
        b[k++] = '[';
        while (k < n - 4) {
            memcpy(b + k, "0,", 2);
            k += 2;
        }
        memcpy(b + k, "0]", 2);
        k += 2;
    } else if (!strcmp(kind, "keys")) {
        b[k++] = '{';
        for (unsigned i = 0; k < n - 24; i++)
            k += (size_t)sprintf(b + k, "\"%x\":0,", i);
        memcpy(b + k, "\"z\":0}", 6);
        k += 6;
    } else {   /* string */
        b[k++] = '"';
        while (k < n - 8) {
            memcpy(b + k, "\\u00e9", 6);
            k += 6;
        }
        b[k++] = '"';
    }
    k += (size_t)sprintf(b + k, "}]");
    *len = k;
    return b;
}

static int m_bomb(const char *kind)
{
    peer f, pr;
    if (peer_open(&f, NULL) || login(&f, "Peter", "123") ||
        peer_open(&pr, NULL) || login(&pr, "Peter", "123"))
        return printf("{\"mode\":\"bomb\",\"error\":\"setup\""), 1;
    size_t len;
    char *text = bomb_text("ping", kind, &len);
    unsigned char *fr = malloc(len + 14);
    if (!fr)
        abort();
    size_t fl = frame(1, text, len, fr);
    free(text);
    double t0 = now_ms();
    send_all(&f, fr, fl, 30000);
    double sent_ms = now_ms() - t0;
    free(fr);
    /* the answer: a refusal, a pong, or a close */
    char *t = next_text(&f, 30000);
    double answer = now_ms() - t0;
    char head[96] = "";
    if (t)
        snprintf(head, sizeof head, "%.80s", t);
    for (char *c = head; *c; c++)
        if (*c == '"' || *c == '\\')
            *c = '\'';
    double pms = probe(&pr, 10000);
    printf("{\"mode\":\"bomb\",\"kind\":\"%s\",\"bytes\":%zu,\"sent_ms\":%.1f,"
           "\"answer_ms\":%.1f,\"answer\":\"%s\",\"answer_len\":%zu,"
           "\"closed\":%s,\"probe_ms\":%.2f",
           kind, len, sent_ms, answer, head, t ? strlen(t) : 0,
           f.closed ? "true" : "false", pms);
    free(t);
    peer_close(&f);
    peer_close(&pr);
    return 0;
}

static int m_guess(int n)
{
    peer g;
    if (peer_open(&g, "127.0.0.1"))
        return printf("{\"mode\":\"guess\",\"error\":\"setup\""), 1;
    int checked = 0, throttled = 0, other = 0, lost = 0;
    double t0 = now_ms(), first_second = 0;
    for (int i = 0; i < n; i++) {
        char pw[32];
        snprintf(pw, sizeof pw, "guess%d", i);
        char *t = ask(&g, login_text("A", pw), "loginresult", 5000);
        if (!t) {
            lost++;
            if (g.closed)
                break;
            continue;
        }
        if (strstr(t, "Wrong login/pass combination")) {
            checked++;
            if (now_ms() - t0 <= 1000)
                first_second++;
        } else if (strstr(t, "Too many failed logins")) {
            throttled++;
        } else {
            other++;
        }
        free(t);
    }
    double secs = (now_ms() - t0) / 1e3;
    /* another user from another address, right password: at once */
    peer h;
    double ms = -1;
    int ok = 0;
    if (peer_open(&h, "127.0.0.2") == 0) {
        double t1 = now_ms();
        ok = login(&h, "B", "2") == 0;
        ms = now_ms() - t1;
        peer_close(&h);
    }
    /* the same user from another address is throttled too (per user) */
    int same_user_refused = 0;
    if (peer_open(&h, "127.0.0.3") == 0) {
        char *t = ask(&h, login_text("A", "1"), "loginresult", 3000);
        same_user_refused = t && strstr(t, "Too many failed logins") != NULL;
        free(t);
        peer_close(&h);
    }
    printf("{\"mode\":\"guess\",\"attempts\":%d,\"seconds\":%.2f,"
           "\"checked\":%d,\"checked_first_second\":%.0f,\"throttled\":%d,"
           "\"other\":%d,\"lost\":%d,\"other_user_ok\":%s,"
           "\"other_user_ms\":%.2f,\"same_user_refused\":%s",
           n, secs, checked, first_second, throttled, other, lost,
           ok ? "true" : "false", ms, same_user_refused ? "true" : "false");
    peer_close(&g);
    return 0;
}

/* K peers each send all but the last byte of a SIZE-byte frame (the
 * server holds the partial message), then a new connection is tried. */
static int m_memhog(const char *arg)
{
    int k = 1;
    double mb = 1;
    sscanf(arg, "%dx%lf", &k, &mb);
    size_t size = (size_t)(mb * 1048576);
    peer *p = calloc((size_t)k, sizeof *p);
    char *text = malloc(size);
    unsigned char *fr = malloc(size + 14);
    if (!p || !text || !fr)
        abort();
    memset(text, 'a', size);
    size_t fl = frame(1, text, size, fr);
    for (int i = 0; i < k; i++)
        if (peer_open(&p[i], NULL) || login(&p[i], "Peter", "123"))
            return printf("{\"mode\":\"memhog\",\"error\":\"setup\""), 1;
    for (int i = 0; i < k; i++) {
        send_all(&p[i], fr, fl - 1, 5000);
        usleep(50000);   /* one at a time: the cut goes to the largest */
    }
    usleep(300000);
    int cut = 0;
    for (int i = 0; i < k; i++) {
        char c;
        ssize_t r = recv(p[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            cut++;
    }
    peer n;
    memset(&n, 0, sizeof n);
    n.fd = tcp_connect(NULL);
    char why[160] = "";
    int st = n.fd >= 0 ? upgrade(&n, why, sizeof why) : 0;
    printf("{\"mode\":\"memhog\",\"peers\":%d,\"frame_mb\":%.2f,\"cut\":%d,"
           "\"new_status\":%d,\"new_reason\":\"%s\"", k, mb, cut, st, why);
    peer_close(&n);
    for (int i = 0; i < k; i++)
        peer_close(&p[i]);
    free(p);
    free(text);
    free(fr);
    return 0;
}

/* ---- the hostile server: our client is the peer ------------------------
 *
 *   hostile_peer [--pid PID] serve MODE [ARG]
 * listens on 127.0.0.1 (a free port, printed as "PORT n" on the first
 * line), takes one connection, serves the upgrade and answers every request
 * of the client's login and setup with one generic success reply (the
 * fields the client checks for getversion and getuserstate). Once it has
 * answered a getuserstate (the client's setup asks it last) and heard no
 * request for 150 ms (so connect has returned) it misbehaves as MODE says:
 *     pingflood SECONDS  WebSocket pings as fast as the socket takes them,
 *                        never reading: does the client queue pongs?
 *     eventflood SECONDS userstatechanged events as fast as the socket
 *                        takes them, reading but answering nothing
 *     bomb KIND          one 16 MB event frame of that shape (see
 *                        bomb_text), then a marker event (user state 2),
 *                        then it answers requests again
 *     memhog MB          all but the last byte of one MB-megabyte frame
 * and ends when the client is gone (or after a bound in time). --pid is
 * the client's process here. */

static const char GENERIC_REPLY[] =
    "[\"%sresult\",{\"qid\":\"%s\",\"result\":1,\"version\":{},"
    "\"userstateid\":\"1\",\"oncallcenter\":false}]";
static const char STATE_EVENT[] =
    "[\"userstatechanged\",{\"qid\":\"e\",\"userstateid\":\"%d\","
    "\"userstate\":\"%d\",\"oncallcenter\":false,\"pad\":\"%s\"}]";

/* A server frame (never masked) of len bytes at d; returns its length.
 * out has room for len + 10. */
static size_t sframe(int opcode, const char *d, size_t len, unsigned char *out)
{
    size_t k = 0;
    out[k++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        out[k++] = (unsigned char)len;
    } else if (len < 65536) {
        out[k++] = 126;
        out[k++] = (unsigned char)(len >> 8);
        out[k++] = (unsigned char)len;
    } else {
        out[k++] = 127;
        for (int i = 7; i >= 0; i--)
            out[k++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (len)
        memcpy(out + k, d, len);
    return k + len;
}

static int send_stext(peer *p, const char *text, size_t n)
{
    unsigned char *f = malloc(n + 10);
    if (!f)
        abort();
    int rc = send_all(p, f, sframe(1, text, n, f), 5000);
    free(f);
    return rc;
}

/* The generic reply to one request; 1 when it was a getuserstate (the
 * last request of the client's setup). Requests that are not [name, {..
 * qid ..}] are ignored. */
static int answer(peer *p, const char *req)
{
    char name[64], qid[64];
    if (sscanf(req, "[\"%63[^\"]\"", name) != 1)
        return 0;
    const char *q = strstr(req, "\"qid\":\"");
    if (!q || sscanf(q + 7, "%63[^\"]", qid) != 1)
        return 0;
    char out[256];
    int n = snprintf(out, sizeof out, GENERIC_REPLY, name, qid);
    send_stext(p, out, (size_t)n);
    return !strcmp(name, "getuserstate");
}

/* Read and answer what the client sent: how many messages, -1 once it
 * closed. ready is set when a getuserstate was answered. */
static int serve_some(peer *p, int ms, int reply, int *ready)
{
    int r = fill(p, ms), op, n = 0;
    char *t;
    while (take_frame(p, &op, &t)) {
        n += op == 1;
        if (op == 1 && reply && answer(p, t) && ready)
            *ready = 1;
        if (op == 8)
            p->closed = 1;
        free(t);
    }
    return r < 0 || p->closed ? -1 : n;
}

static int srv_accept(peer *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, 4) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl))
        return -1;
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    struct pollfd pf = {lfd, POLLIN, 0};
    if (poll(&pf, 1, 15000) == 1)
        c->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    close(lfd);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* the upgrade: the key of the request, 101 with its accept value */
    double end = now_ms() + 5000;
    char *eoh;
    while (!(eoh = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL))
        if (now_ms() > end || fill(c, 100) < 0)
            return -1;
    *eoh = '\0';
    const char *k = strcasestr(c->buf, "Sec-WebSocket-Key:");
    char key[64] = "", acc[OKT_WSH_ACCEPT_LEN + 1], resp[256];
    if (!k || sscanf(k + 18, " %60s", key) != 1)
        return -1;
    okt_wsh_accept_for(key, acc);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: json\r\n\r\n", acc);
    size_t head = (size_t)(eoh + 4 - c->buf);
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    return send_all(c, resp, (size_t)n, 3000);
}

/* Is the peer gone? Without reading anything it could still read. */
static int gone(peer *p)
{
    char ch;
    struct pollfd pf = {p->fd, 0, 0};
    poll(&pf, 1, 0);
    return (pf.revents & (POLLHUP | POLLERR)) ||
           recv(p->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int s_pingflood(peer *c, double seconds)
{
    unsigned char chunk[64 * 1024];
    for (size_t i = 0; i + 2 <= sizeof chunk; i += 2) {
        chunk[i] = 0x89;   /* FIN + ping, no payload */
        chunk[i + 1] = 0;
    }
    double t0 = now_ms(), end = t0 + seconds * 1e3, sent = 0, cut = -1;
    size_t off = 0;
    while (now_ms() < end) {
        ssize_t r = send(c->fd, chunk + off, sizeof chunk - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            sent += (double)r;
            off = (off + (size_t)r) % sizeof chunk;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            cut = now_ms() - t0;
            break;
        }
        struct pollfd pf = {c->fd, POLLOUT, 0};
        poll(&pf, 1, 10);
        if (pf.revents & (POLLHUP | POLLERR)) {
            cut = now_ms() - t0;
            break;
        }
    }
    printf("{\"mode\":\"serve pingflood\",\"pings_mb\":%.1f,\"pings\":%.0f,"
           "\"disconnected\":%s,\"after_ms\":%.0f",
           sent / 1048576, sent / 2, cut >= 0 ? "true" : "false", cut);
    return 0;
}

static int s_eventflood(peer *c, double seconds)
{
    char pad[201], ev[512];
    memset(pad, 'x', 200);
    pad[200] = '\0';
    /* a batch of events, sent as the socket takes it */
    size_t blen = 0, bcap = 256 * 1024;
    unsigned char *batch = malloc(bcap + 1024);
    if (!batch)
        abort();
    for (int i = 0; blen < bcap; i++) {
        int n = snprintf(ev, sizeof ev, STATE_EVENT, 1 + i % 2, 1 + i % 2, pad);
        blen += sframe(1, ev, (size_t)n, batch + blen);
    }
    double t0 = now_ms(), end = t0 + seconds * 1e3, sent = 0, cut = -1;
    size_t off = 0;
    while (now_ms() < end) {
        if (serve_some(c, 0, 0, NULL) < 0) {   /* read, answer nothing */
            cut = now_ms() - t0;
            break;
        }
        ssize_t r = send(c->fd, batch + off, blen - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            sent += (double)r;
            off = (off + (size_t)r) % blen;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            cut = now_ms() - t0;
            break;
        }
        struct pollfd pf = {c->fd, POLLOUT, 0};
        poll(&pf, 1, 5);
    }
    printf("{\"mode\":\"serve eventflood\",\"events_mb\":%.1f,"
           "\"disconnected\":%s,\"after_ms\":%.0f",
           sent / 1048576, cut >= 0 ? "true" : "false", cut);
    free(batch);
    return 0;
}

static int s_bomb(peer *c, const char *kind)
{
    size_t len;
    char *text = bomb_text("userstatechanged", kind, &len);
    double t0 = now_ms();
    int rc = send_stext(c, text, len);
    double sent_ms = now_ms() - t0;
    free(text);
    char ev[512];
    int n = snprintf(ev, sizeof ev, STATE_EVENT, 2, 2, "marker");
    if (rc == 0)
        rc = send_stext(c, ev, (size_t)n);
    /* serve on until the client is gone */
    double end = now_ms() + 30000;
    while (now_ms() < end && serve_some(c, 50, 1, NULL) >= 0)
        ;
    printf("{\"mode\":\"serve bomb\",\"kind\":\"%s\",\"bytes\":%zu,"
           "\"sent\":%s,\"sent_ms\":%.1f,\"served_ms\":%.0f",
           kind, len, rc == 0 ? "true" : "false", sent_ms, now_ms() - t0);
    return 0;
}

static int s_memhog(peer *c, double mb)
{
    size_t size = (size_t)(mb * 1048576);
    char *text = malloc(size);
    unsigned char *fr = malloc(size + 10);
    if (!text || !fr)
        abort();
    memset(text, 'a', size);
    size_t fl = sframe(1, text, size, fr);
    double t0 = now_ms(), cut = -1;
    int rc = send_all(c, fr, fl - 1, 10000);
    /* hold it unfinished: is the client gone within 5 s? */
    while (now_ms() - t0 < 5000) {
        if (serve_some(c, 20, 0, NULL) < 0 || gone(c)) {
            cut = now_ms() - t0;
            break;
        }
    }
    printf("{\"mode\":\"serve memhog\",\"frame_mb\":%.2f,\"sent\":%s,"
           "\"disconnected\":%s,\"after_ms\":%.0f", mb,
           rc == 0 ? "true" : "false", cut >= 0 ? "true" : "false", cut);
    free(text);
    free(fr);
    return 0;
}

static int m_serve(const char *mode, const char *arg)
{
    peer c;
    int ready = 0;
    if (srv_accept(&c) != 0) {
        printf("{\"mode\":\"serve %s\",\"error\":\"no client\"", mode);
        peer_close(&c);
        return 1;
    }
    /* set up: a getuserstate answered, then 150 ms without a request */
    double end = now_ms() + 10000, quiet = 0;
    while (now_ms() < end) {
        int n = serve_some(&c, 50, 1, &ready);
        if (n < 0) {
            ready = 0;
            break;
        }
        if (n > 0)
            quiet = now_ms();
        if (ready && now_ms() - quiet >= 150)
            break;
    }
    int rc;
    if (!ready)
        rc = (printf("{\"mode\":\"serve %s\",\"error\":\"setup\"", mode), 1);
    else if (!strcmp(mode, "pingflood"))
        rc = s_pingflood(&c, atof(arg));
    else if (!strcmp(mode, "eventflood"))
        rc = s_eventflood(&c, atof(arg));
    else if (!strcmp(mode, "bomb"))
        rc = s_bomb(&c, arg);
    else if (!strcmp(mode, "memhog"))
        rc = s_memhog(&c, atof(arg));
    else
        rc = (printf("{\"mode\":\"serve %s\",\"error\":\"unknown mode\"", mode), 1);
    peer_close(&c);
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int a = 1;
    if (argc > 2 && !strcmp(argv[1], "--pid")) {
        rss_pid = atoi(argv[2]);
        a = 3;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: hostile_peer [--pid PID] MODE PORT [ARG]\n"
                        "       hostile_peer [--pid PID] serve MODE [ARG]\n");
        return 2;
    }
    const char *mode = argv[a];
    const char *arg = argc - a > 2 ? argv[a + 2] : "1";
    int serve = !strcmp(mode, "serve");
    if (!serve)
        port = atoi(argv[a + 1]);
    pthread_t th;
    if (rss_pid > 0) {
        rss_base = rss_peak = vmrss_kb(rss_pid);
        pthread_create(&th, NULL, rss_thread, NULL);
    }
    int rc;
    if (serve)
        rc = m_serve(argv[a + 1], arg);
    else if (!strcmp(mode, "flood"))
        rc = m_flood(atof(arg));
    else if (!strcmp(mode, "closeflood"))
        rc = m_closeflood(atof(arg));
    else if (!strcmp(mode, "pingflood"))
        rc = m_pingflood(atof(arg));
    else if (!strcmp(mode, "idle"))
        rc = m_idle(atoi(arg));
    else if (!strcmp(mode, "noread") || !strcmp(mode, "hog"))
        rc = m_noread(atof(arg), mode);
    else if (!strcmp(mode, "conns"))
        rc = m_conns(atoi(arg));
    else if (!strcmp(mode, "bomb"))
        rc = m_bomb(arg);
    else if (!strcmp(mode, "memhog"))
        rc = m_memhog(arg);
    else if (!strcmp(mode, "guess"))
        rc = m_guess(atoi(arg));
    else {
        fprintf(stderr, "hostile_peer: unknown mode '%s'\n", mode);
        return 2;
    }
    if (rss_pid > 0) {
        usleep(300000);   /* let the server free what it dropped */
        rss_stop = 1;
        pthread_join(th, NULL);
        printf(",\"rss_base_kb\":%ld,\"rss_peak_growth_kb\":%ld,"
               "\"rss_end_growth_kb\":%ld", rss_base, rss_peak - rss_base,
               vmrss_kb(rss_pid) - rss_base);
    }
    printf("}\n");
    fflush(stdout);
    return rc;
}
