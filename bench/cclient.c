/* bench/cclient.c - the C baselines of bench/client.lua, each a mode of one
 * program, each printing one line "rate R emu E self S" for the Lua bench
 * to read: R per second; E the CPU time the emulator (pid $EMU_PID) used
 * during the timed part over its length (-1 when unknown); S the same of
 * this process:
 *
 *   cclient rt URL LOGIN N DEPTH
 *       The C wire client: the public okt_conn API (conn.h) in a poll loop,
 *       `getuserstate` of LOGIN (password 123) with DEPTH requests in
 *       flight until N replies came; DEPTH 1 is written as a blocking call
 *       (send, then step and poll until that reply), the blocking
 *       equivalent of client:user_state(). 1,000 requests warm up first.
 *   cclient events URL LOGIN CONTROL N CHUNK WINDOW
 *       Drains N linestatechanged events of LOGIN, which the emulator
 *       floods through its control channel CONTROL (unix:PATH or
 *       tcp:HOST:PORT; the bench extension `flood`, docs/EMULATOR.md) in
 *       commands of CHUNK toggles, at most WINDOW events asked and not yet
 *       received (so the emulator's output bound is never reached).
 *   cclient echo N DEPTH [REQ_BYTES REPLY_BYTES]
 *       The physical limit: a plain TCP request/reply over loopback with
 *       DEPTH in flight, no WebSocket, no JSON. A forked child serves (on
 *       CPU $OKT_BENCH_SERVER_CPU when set); each request is REQ_BYTES
 *       (default: our getuserstate frame, 58) and gets REPLY_BYTES back
 *       (default: the emulator's reply frame, 259), newline-terminated.
 *       The client sends a window's requests in one send() and reads
 *       what came in one recv(): two system calls per batch.
 *   cclient ctlpipe CONTROL
 *       A relay for the Lua bench: each line of stdin goes to the control
 *       channel, answers are read and dropped (a refusal is printed on
 *       stderr), so the Lua side sends its floods without waiting.
 *
 * Built by the Makefile's BENCH_C pattern (build/bench/cclient); `make
 * bench` runs it with no arguments: a short self-contained echo. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARM 1000

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "cclient: %s: %s\n", what, msg);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds of CPU the emulator (pid $EMU_PID, all its threads) used so far;
 * -1 when unknown. */
static double emu_cpu(void)
{
    const char *pid = getenv("EMU_PID");
    char path[64], buf[1024];
    if (!pid || !*pid)
        return -1;
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut, st;
    /* after the name: state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The line the Lua bench reads: the rate, how busy the emulator was
 * meanwhile (its CPU time over the interval; -1 unknown) and how busy this
 * process was (its own CPU time over the interval). */
static double self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int human;   /* `make bench`'s run: the rate alone */

static void report(double n, double dt, double cpu0, double self0)
{
    if (human) {
        printf("%10.0f rt/s\n", n / dt);
        return;
    }
    double cpu1 = emu_cpu();
    printf("rate %.1f emu %.3f self %.3f\n", n / dt,
           cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / dt : -1.0,
           (self_cpu() - self0) / dt);
}

/* ---- the okt_conn poll loop ------------------------------------------ */

static short to_poll(int ev)
{
    return (short)(((ev & OKT_WANT_READ) ? POLLIN : 0) |
                   ((ev & OKT_WANT_WRITE) ? POLLOUT : 0));
}

static int to_okt(short re)
{
    int r = 0;
    if (re & (POLLIN | POLLERR | POLLHUP))
        r |= OKT_WANT_READ;
    if (re & (POLLOUT | POLLERR | POLLHUP))
        r |= OKT_WANT_WRITE;
    return r;
}

/* Wait until the conn can go on (its fd, its deadline; extra: one more fd
 * to watch for input, -1 none). The revents for the next step. */
static int wait_conn(okt_conn *c, int extra, int *extra_ready)
{
    int64_t now = okt_now_ms(), dl = okt_conn_deadline(c);
    int timeout = dl < 0 ? 1000 : dl <= now ? 0 : (int)(dl - now);
    struct pollfd p[2] = {{okt_conn_fd(c), to_poll(okt_conn_events(c)), 0},
                          {extra, POLLIN, 0}};
    int n = poll(p, extra >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR)
        die("poll", strerror(errno));
    if (extra_ready)
        *extra_ready = n > 0 && extra >= 0 && p[1].revents;
    return n > 0 ? to_okt(p[0].revents) : 0;
}

static okt_conn *connect_to(const char *url, const char *login)
{
    okt_conn_cfg cfg;
    okt_conn_cfg_init(&cfg);
    const char *urls[1] = {url};
    cfg.urls = urls;
    cfg.nurls = 1;
    cfg.session.login = login;
    cfg.session.password = "123";
    okt_err err;
    okt_conn *c = okt_conn_new(&cfg, okt_now_ms(), &err);
    if (!c)
        die("connect", err.msg);
    int revents = 0;
    for (;;) {
        okt_conn_step(c, revents, okt_now_ms(), &err);
        okt_event ev;
        while (okt_conn_next_event(c, &ev)) {
            int type = ev.type;
            if (type == OKT_EV_CLOSED)
                die("connect", ev.err.msg);
            okt_event_clear(&ev);
            if (type == OKT_EV_READY)
                return c;
        }
        revents = wait_conn(c, -1, NULL);
    }
}

static int64_t request(okt_conn *c)
{
    okt_err err;
    int64_t id = okt_conn_request(c, "getuserstate", NULL, 0, okt_now_ms(),
                                  &err);
    if (id < 0)
        die("request", err.msg);
    return id;
}

/* Events of c: replies counted, an error or a close fatal. */
static long drain_replies(okt_conn *c)
{
    long got = 0;
    okt_event ev;
    while (okt_conn_next_event(c, &ev)) {
        if (ev.type == OKT_EV_REPLY)
            got++;
        else if (ev.type == OKT_EV_ERROR || ev.type == OKT_EV_CLOSED)
            die("reply", ev.err.msg);
        okt_event_clear(&ev);
    }
    return got;
}

/* One blocking call: send, then step and wait until its reply came. */
static void call_blocking(okt_conn *c)
{
    int64_t id = request(c);
    int revents = 0;
    okt_err err;
    for (;;) {
        okt_conn_step(c, revents, okt_now_ms(), &err);
        okt_event ev;
        int done = 0;
        while (okt_conn_next_event(c, &ev)) {
            if (ev.type == OKT_EV_REPLY && ev.id == id)
                done = 1;
            else if (ev.type == OKT_EV_ERROR || ev.type == OKT_EV_CLOSED)
                die("reply", ev.err.msg);
            okt_event_clear(&ev);
        }
        if (done)
            return;
        revents = wait_conn(c, -1, NULL);
    }
}

/* depth requests in flight until n replies came. */
static void pipelined(okt_conn *c, long n, long depth)
{
    long sent = 0, got = 0;
    int revents = 0;
    okt_err err;
    while (got < n) {
        while (sent < n && sent - got < depth) {
            request(c);
            sent++;
        }
        okt_conn_step(c, revents, okt_now_ms(), &err);
        long k = drain_replies(c);
        got += k;
        revents = !k && got < n ? wait_conn(c, -1, NULL) : 0;
    }
}

static void run_rt(long n, long depth, okt_conn *c)
{
    if (depth == 1)
        for (long i = 0; i < n; i++)
            call_blocking(c);
    else
        pipelined(c, n, depth);
}

static int mode_rt(int argc, char **argv)
{
    if (argc != 6)
        die("usage", "cclient rt URL LOGIN N DEPTH");
    long n = atol(argv[4]), depth = atol(argv[5]);
    if (n < 1 || depth < 1)
        die("rt", "N and DEPTH must be positive");
    okt_conn *c = connect_to(argv[2], argv[3]);
    run_rt(WARM, depth, c);
    double cpu0 = emu_cpu(), self0 = self_cpu(), t0 = now_s();
    run_rt(n, depth, c);
    report((double)n, now_s() - t0, cpu0, self0);
    okt_conn_close(c, okt_now_ms());
    okt_conn_free(c);
    return 0;
}

/* ---- the control channel ------------------------------------------------ */

static int dial(const char *spec)
{
    int fd = -1;
    if (!strncmp(spec, "unix:", 5)) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(spec + 5) >= sizeof a.sun_path)
            die(spec, "path too long");
        strcpy(a.sun_path, spec + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
            die(spec, strerror(errno));
        return fd;
    }
    if (strncmp(spec, "tcp:", 4))
        die(spec, "unix:PATH or tcp:HOST:PORT expected");
    char host[256];
    snprintf(host, sizeof host, "%s", spec + 4);
    char *colon = strrchr(host, ':');
    if (!colon)
        die(spec, "tcp:HOST:PORT expected");
    *colon = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        die(spec, "cannot resolve");
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        die(spec, strerror(errno));
    freeaddrinfo(ai);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("send", k < 0 ? strerror(errno) : "closed");
        p += k;
        n -= (size_t)k;
    }
}

/* Reads what the control channel answered (non-blocking unless wait), and
 * reports refusals; the number of answers read. */
static long read_answers(int fd, int wait)
{
    static char buf[65536];
    static size_t n;
    long answers = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n,
                         wait ? 0 : MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return answers;
        if (k <= 0)
            die("control channel", k < 0 ? strerror(errno) : "closed");
        n += (size_t)k;
        buf[n] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            if (strstr(line, "\"ok\": false") || strstr(line, "\"ok\":false"))
                fprintf(stderr, "cclient: control refused: %s\n", line);
            answers++;
            line = nl + 1;
        }
        n -= (size_t)(line - buf);
        memmove(buf, line, n);
        if (n == sizeof buf - 1)
            n = 0;   /* an over-long line: drop it */
        if (wait && answers)
            return answers;
    }
}

static void flood(int fd, const char *login, long count)
{
    char line[256];
    int k = snprintf(line, sizeof line,
                     "{\"cmd\":\"flood\",\"args\":{\"user\":\"%s\","
                     "\"count\":%ld}}\n", login, count);
    send_all(fd, line, (size_t)k);
}

/* Linestatechanged events taken from c (a close is fatal). */
static long drain_events(okt_conn *c)
{
    long got = 0;
    okt_event ev;
    while (okt_conn_next_event(c, &ev)) {
        if (ev.type == OKT_EV_SERVER && ev.name &&
            !strcmp(ev.name, "linestatechanged"))
            got++;
        else if (ev.type == OKT_EV_CLOSED)
            die("events", ev.err.msg);
        okt_event_clear(&ev);
    }
    return got;
}

static void run_events(okt_conn *c, int ctl, const char *login, long n,
                       long chunk, long window)
{
    long sent = 0, got = 0;
    int revents = 0;
    okt_err err;
    while (got < n) {
        while (sent < n && sent - got + chunk <= window) {
            long k = n - sent < chunk ? n - sent : chunk;
            flood(ctl, login, k);
            sent += k;
        }
        okt_conn_step(c, revents, okt_now_ms(), &err);
        long k = drain_events(c);
        got += k;
        int ctl_ready = 0;
        revents = !k && got < n ? wait_conn(c, ctl, &ctl_ready) : 0;
        if (ctl_ready)
            read_answers(ctl, 0);
    }
    read_answers(ctl, 0);
}

static int mode_events(int argc, char **argv)
{
    if (argc != 8)
        die("usage", "cclient events URL LOGIN CONTROL N CHUNK WINDOW");
    long n = atol(argv[5]), chunk = atol(argv[6]), window = atol(argv[7]);
    if (n < 1 || chunk < 1 || window < chunk)
        die("events", "N, CHUNK >= 1 and WINDOW >= CHUNK expected");
    okt_conn *c = connect_to(argv[2], argv[3]);
    int ctl = dial(argv[4]);
    run_events(c, ctl, argv[3], WARM, chunk, window);
    double cpu0 = emu_cpu(), self0 = self_cpu(), t0 = now_s();
    run_events(c, ctl, argv[3], n, chunk, window);
    report((double)n, now_s() - t0, cpu0, self0);
    close(ctl);
    okt_conn_close(c, okt_now_ms());
    okt_conn_free(c);
    return 0;
}

static int mode_ctlpipe(int argc, char **argv)
{
    if (argc != 3)
        die("usage", "cclient ctlpipe CONTROL");
    int ctl = dial(argv[2]);
    char line[65536];
    size_t n = 0;
    struct pollfd p[2] = {{0, POLLIN, 0}, {ctl, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll", strerror(errno));
        }
        if (p[1].revents)
            read_answers(ctl, 0);
        if (!p[0].revents)
            continue;
        ssize_t k = read(0, line + n, sizeof line - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        /* whole lines go on, the rest waits */
        size_t whole = n;
        while (whole && line[whole - 1] != '\n')
            whole--;
        send_all(ctl, line, whole);
        memmove(line, line + whole, n - whole);
        n -= whole;
        if (n == sizeof line)
            n = 0;
    }
    close(ctl);
    return 0;
}

/* ---- plain TCP echo (the physical limit) --------------------------------- */

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The server: each newline-terminated request gets a reply of rlen bytes
 * (newline-terminated), in one send() per batch read. */
static void echo_serve(int lfd, size_t rlen)
{
    const char *cpu = getenv("OKT_BENCH_SERVER_CPU");
    if (cpu && *cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(cpu), &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(1);
    set_nodelay(fd);
    static char in[1 << 16], out[1 << 20];
    char *reply = malloc(rlen);
    memset(reply, 'x', rlen - 1);
    reply[rlen - 1] = '\n';
    for (;;) {
        ssize_t k = recv(fd, in, sizeof in, 0);
        if (k <= 0)
            _exit(0);
        size_t nl = 0;
        for (ssize_t i = 0; i < k; i++)
            nl += in[i] == '\n';
        size_t o = 0;
        for (size_t i = 0; i < nl; i++) {
            if (o + rlen > sizeof out) {
                send_all(fd, out, o);
                o = 0;
            }
            memcpy(out + o, reply, rlen);
            o += rlen;
        }
        if (o)
            send_all(fd, out, o);
    }
}

static void echo_run(int fd, long n, long depth, size_t qlen)
{
    static char out[1 << 20], in[1 << 20];
    char *req = malloc(qlen);
    memset(req, 'q', qlen - 1);
    req[qlen - 1] = '\n';
    long sent = 0, got = 0;
    while (got < n) {
        size_t o = 0;
        while (sent < n && sent - got < depth && o + qlen <= sizeof out) {
            memcpy(out + o, req, qlen);
            o += qlen;
            sent++;
        }
        if (o)
            send_all(fd, out, o);
        ssize_t k = recv(fd, in, sizeof in, 0);
        if (k <= 0)
            die("echo", k < 0 ? strerror(errno) : "closed");
        for (ssize_t i = 0; i < k; i++)
            got += in[i] == '\n';
    }
    free(req);
}

static int mode_echo(int argc, char **argv)
{
    if (argc != 4 && argc != 6)
        die("usage", "cclient echo N DEPTH [REQ_BYTES REPLY_BYTES]");
    long n = atol(argv[2]), depth = atol(argv[3]);
    size_t qlen = argc == 6 ? (size_t)atol(argv[4]) : 58;
    size_t rlen = argc == 6 ? (size_t)atol(argv[5]) : 259;
    if (n < 1 || depth < 1 || qlen < 2 || rlen < 2 || qlen > 65536 ||
        rlen > 65536)
        die("echo", "bad arguments");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) ||
        listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &al))
        die("echo: listen", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork", strerror(errno));
    if (pid == 0)
        echo_serve(lfd, rlen);
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("echo: connect", strerror(errno));
    set_nodelay(fd);
    echo_run(fd, WARM, depth, qlen);
    double self0 = self_cpu(), t0 = now_s();
    echo_run(fd, n, depth, qlen);
    report((double)n, now_s() - t0, -1, self0);
    close(fd);
    waitpid(pid, NULL, 0);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        /* `make bench`: what needs no emulator */
        char *a1[] = {argv[0], "echo", "100000", "1", NULL};
        char *a64[] = {argv[0], "echo", "400000", "64", NULL};
        human = 1;
        printf("cclient: loopback TCP request/reply (58 B / 259 B), "
               "1 in flight:  ");
        fflush(stdout);
        mode_echo(4, a1);
        printf("cclient: loopback TCP request/reply (58 B / 259 B), "
               "64 in flight: ");
        fflush(stdout);
        mode_echo(4, a64);
        printf("(bench/client.lua runs the other modes against the "
               "emulator)\n");
        return 0;
    }
    if (!strcmp(argv[1], "rt"))
        return mode_rt(argc, argv);
    if (!strcmp(argv[1], "events"))
        return mode_events(argc, argv);
    if (!strcmp(argv[1], "echo"))
        return mode_echo(argc, argv);
    if (!strcmp(argv[1], "ctlpipe"))
        return mode_ctlpipe(argc, argv);
    die("usage", "cclient rt | events | echo | ctlpipe ... (see the source)");
    return 2;
}
