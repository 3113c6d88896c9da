/* channel.c - the control channel (channel.h): a listener and up to
 * MAX_CLIENTS line clients, each with bounded input and output buffers,
 * all non-blocking in the server thread's epoll, except stdio's output,
 * which blocks (it is the parent's pipe; the parent reads its answers). */
#include "channel.h"
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define MAX_LINE (64 * 1024)           /* one request */
#define MAX_OUT (4 * 1024 * 1024)      /* answers and records not yet taken */
#define TAG_LISTENER (OKT_CHAN_TAG0 + 0xFFFF)

enum { CH_UNIX, CH_TCP, CH_STDIO };

typedef struct client {
    int fd, wfd;                  /* wfd: where answers go (stdio: 1) */
    char *in;                     /* a partial line */
    size_t nin;
    char *out;                    /* answers waiting for the socket */
    size_t nout, outcap;
    int watch;
    unsigned ev;
} client;

struct okt_chan {
    int kind;
    char path[108];               /* sun_path's size */
    char host[64];
    int port;
    int lfd, epfd;
    client *cl[MAX_CLIENTS];
    int eof;                      /* stdio's input ended */
    int unlink_path;
    char address[160];
};

okt_chan *okt_chan_new(const char *spec, okt_err *err)
{
    okt_chan *ch = calloc(1, sizeof *ch);
    if (!ch) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    ch->lfd = ch->epfd = -1;
    if (!spec) {
        okt_err_set(err, OKT_EINVAL, "control: a channel expected");
        goto fail;
    }
    if (!strcmp(spec, "stdio")) {
        ch->kind = CH_STDIO;
    } else if (!strncmp(spec, "unix:", 5)) {
        ch->kind = CH_UNIX;
        if (!spec[5] || strlen(spec + 5) >= sizeof ch->path) {
            okt_err_set(err, OKT_EINVAL, "control: unix:PATH with a path "
                                         "of at most %zu bytes",
                        sizeof ch->path - 1);
            goto fail;
        }
        snprintf(ch->path, sizeof ch->path, "%s", spec + 5);
    } else if (!strncmp(spec, "tcp:", 4)) {
        ch->kind = CH_TCP;
        const char *hp = spec + 4, *colon = strrchr(hp, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        size_t hl = colon ? (size_t)(colon - hp) : 0;
        if (hl && hp[0] == '[' && hp[hl - 1] == ']') {
            hp++;
            hl -= 2;
        }
        if (!colon || !end || *end || !colon[1] || port < 0 || port > 65535 ||
            hl == 0 || hl >= sizeof ch->host) {
            okt_err_set(err, OKT_EINVAL, "control: tcp:HOST:PORT expected");
            goto fail;
        }
        memcpy(ch->host, hp, hl);
        ch->host[hl] = '\0';
        /* no unauthenticated port off this machine */
        if (strcmp(ch->host, "127.0.0.1") && strcmp(ch->host, "::1") &&
            strcmp(ch->host, "localhost")) {
            okt_err_set(err, OKT_EINVAL,
                        "control: tcp is on loopback only (127.0.0.1, ::1)");
            goto fail;
        }
        ch->port = (int)port;
    } else {
        okt_err_set(err, OKT_EINVAL,
                    "control: \"unix:PATH\", \"stdio\" or \"tcp:127.0.0.1:PORT\" "
                    "expected");
        goto fail;
    }
    return ch;
fail:
    free(ch);
    return NULL;
}

int okt_chan_owns(uint64_t tag)
{
    return tag >= OKT_CHAN_TAG0 && tag <= TAG_LISTENER;
}

static void client_free(okt_chan *ch, int k)
{
    client *c = ch->cl[k];
    if (!c)
        return;
    if (c->fd >= 0) {
        epoll_ctl(ch->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        if (ch->kind != CH_STDIO)
            close(c->fd);
    }
    free(c->in);
    free(c->out);
    free(c);
    ch->cl[k] = NULL;
}

static int add_client(okt_chan *ch, int fd, int wfd)
{
    int k = 0;
    while (k < MAX_CLIENTS && ch->cl[k])
        k++;
    client *c = k < MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return -1;
    c->fd = fd;
    c->wfd = wfd;
    c->ev = EPOLLIN;
    struct epoll_event ee = {.events = EPOLLIN,
                             .data.u64 = OKT_CHAN_TAG0 + (uint64_t)k};
    if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
        free(c);
        return -1;
    }
    ch->cl[k] = c;
    return 0;
}

int okt_chan_start(okt_chan *ch, int epfd, const char *hello, okt_err *err)
{
    ch->epfd = epfd;
    if (ch->kind == CH_STDIO) {
        snprintf(ch->address, sizeof ch->address, "stdio");
        size_t n = hello ? strlen(hello) : 0, off = 0;
        while (off < n) {
            ssize_t w = write(1, hello + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return okt_err_set(err, OKT_ECLOSED, "control stdio: %s",
                                   strerror(errno));
            off += (size_t)w;
        }
        if (add_client(ch, 0, 1) != 0)
            return okt_err_set(err, OKT_EINVAL,
                               "control stdio: standard input must be a pipe, "
                               "socket or terminal (%s)", strerror(errno));
        return 0;
    }
    if (ch->kind == CH_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", ch->path);
        /* a stale socket of an earlier run goes; anything else stays */
        struct stat st;
        if (lstat(ch->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(ch->path);
        ch->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (ch->lfd < 0 || bind(ch->lfd, (struct sockaddr *)&sa, sizeof sa) ||
            chmod(ch->path, 0600) || listen(ch->lfd, 16))
            return okt_err_set(err, OKT_EREFUSED, "control unix:%s: %s",
                               ch->path, strerror(errno));
        ch->unlink_path = 1;
        snprintf(ch->address, sizeof ch->address, "unix:%s", ch->path);
    } else {
        int gai, eno;
        ch->lfd = okt_listen_tcp(ch->host, ch->port, 16, &ch->port, &gai, &eno);
        if (gai != 0)
            return okt_err_set(err, OKT_EINVAL, "control tcp:%s: %s", ch->host,
                               gai_strerror(gai));
        if (ch->lfd < 0)
            return okt_err_set(err, OKT_EREFUSED, "control tcp:%s:%d: %s",
                               ch->host, ch->port, strerror(eno));
        snprintf(ch->address, sizeof ch->address, "tcp:%s:%d", ch->host,
                 ch->port);
    }
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = TAG_LISTENER};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, ch->lfd, &ee) != 0)
        return okt_err_set(err, OKT_ENOMEM, "control: epoll: %s",
                           strerror(errno));
    return 0;
}

const char *okt_chan_address(const okt_chan *ch)
{
    return ch->address;
}

int okt_chan_eof(const okt_chan *ch)
{
    return ch && ch->eof;
}

int okt_chan_watchers(const okt_chan *ch)
{
    int n = 0;
    for (int k = 0; ch && k < MAX_CLIENTS; k++)
        n += ch->cl[k] && ch->cl[k]->watch;
    return n;
}

/* ---- output ------------------------------------------------------------ */

static void interest(okt_chan *ch, int k)
{
    client *c = ch->cl[k];
    unsigned ev = EPOLLIN | (c->nout && c->wfd == c->fd ? EPOLLOUT : 0);
    if (ev == c->ev)
        return;
    struct epoll_event ee = {.events = ev,
                             .data.u64 = OKT_CHAN_TAG0 + (uint64_t)k};
    epoll_ctl(ch->epfd, EPOLL_CTL_MOD, c->fd, &ee);
    c->ev = ev;
}

/* Write what is buffered; -1 when the client is gone. */
static int flush(okt_chan *ch, int k)
{
    client *c = ch->cl[k];
    size_t off = 0;
    while (off < c->nout) {
        ssize_t n = c->wfd == c->fd
                        ? send(c->fd, c->out + off, c->nout - off,
                               MSG_NOSIGNAL | MSG_DONTWAIT)
                        : write(c->wfd, c->out + off, c->nout - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->nout - off);
    c->nout -= off;
    interest(ch, k);
    return 0;
}

/* One line to the client: text + "\n"; a client whose answers pile up
 * past MAX_OUT (it stopped reading) is dropped. */
static int put(okt_chan *ch, int k, const char *text, size_t len)
{
    client *c = ch->cl[k];
    if (c->nout + len + 1 > MAX_OUT)
        return -1;
    if (c->nout + len + 1 > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->nout + len + 1)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o)
            return -1;
        c->out = o;
        c->outcap = cap;
    }
    memcpy(c->out + c->nout, text, len);
    c->out[c->nout + len] = '\n';
    c->nout += len + 1;
    return flush(ch, k);
}

static void drop(okt_chan *ch, int k)
{
    if (ch->kind == CH_STDIO)
        ch->eof = 1;   /* the parent is gone */
    client_free(ch, k);
}

void okt_chan_record(okt_chan *ch, const char *text, size_t len)
{
    if (!ch)
        return;
    size_t n = len + 16;
    char *line = malloc(n);
    if (!line)
        return;
    int w = snprintf(line, n, "{\"record\":%.*s}", (int)len, text);
    for (int k = 0; k < MAX_CLIENTS; k++)
        if (ch->cl[k] && ch->cl[k]->watch && put(ch, k, line, (size_t)w))
            drop(ch, k);
    free(line);
}

/* ---- requests ---------------------------------------------------------- */

static int answer(okt_chan *ch, int k, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY |
                                      JSON_REAL_PRECISION(12))
                   : NULL;
    json_decref(o);
    if (!text)
        return -1;
    int rc = put(ch, k, text, strlen(text));
    free(text);
    return rc;
}

static int fail(okt_chan *ch, int k, const json_t *id, int code,
                const char *msg)
{
    return answer(ch, k, json_pack("{s:O, s:b, s:s, s:s}", "id",
                                   id ? id : json_null(), "ok", 0, "code",
                                   okt_errname(code), "error", msg));
}

static int line(okt_chan *ch, int k, const char *text, size_t len,
                okt_chan_exec exec, void *ctx)
{
    json_error_t je;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!req || !json_is_object(req)) {
        json_decref(req);
        char msg[200];
        snprintf(msg, sizeof msg, "not a JSON object: %s", je.text);
        return fail(ch, k, NULL, OKT_EINVAL, req ? "not a JSON object" : msg);
    }
    const json_t *id = json_object_get(req, "id");
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    const json_t *args = json_object_get(req, "args");
    int rc;
    if (!cmd) {
        rc = fail(ch, k, id, OKT_EINVAL, "cmd: a string expected");
    } else if (args && !json_is_object(args) &&
               !(json_is_array(args) && json_array_size(args) == 0)) {
        rc = fail(ch, k, id, OKT_EINVAL, "args: an object expected");
    } else {
        okt_err err;
        okt_err_clear(&err);
        json_t *res = NULL;
        if (json_is_array(args))
            args = NULL;
        if (!strcmp(cmd, "watch")) {
            /* this client's records; the model keeps them while anyone
             * watches */
            const json_t *on = json_object_get(args, "on");
            ch->cl[k]->watch = !json_is_false(on);
            json_t *a = json_pack("{s:b}", "on", okt_chan_watchers(ch) > 0);
            int r = a ? exec(ctx, cmd, a, &res, &err) : -1;
            json_decref(a);
            json_decref(res);
            res = NULL;
            if (r)
                ch->cl[k]->watch = 0;
            rc = r ? fail(ch, k, id, err.code, err.msg)
                   : answer(ch, k, json_pack("{s:O, s:b, s:b}", "id",
                                             id ? id : json_null(), "ok", 1,
                                             "result", 1));
        } else if (exec(ctx, cmd, args, &res, &err) != 0) {
            rc = fail(ch, k, id, err.code, err.msg);
        } else {
            rc = answer(ch, k, json_pack("{s:O, s:b, s:o}", "id",
                                         id ? id : json_null(), "ok", 1,
                                         "result",
                                         res ? res : json_true()));
        }
    }
    json_decref(req);
    return rc;
}

static void readable(okt_chan *ch, int k, okt_chan_exec exec, void *ctx)
{
    client *c = ch->cl[k];
    char buf[16384];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            drop(ch, k);
            return;
        }
        size_t at = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n')
                continue;
            size_t part = (size_t)i - at;
            int rc;
            if (c->nin) {
                if (c->nin + part > MAX_LINE) {
                    rc = fail(ch, k, NULL, OKT_EINVAL, "line too long");
                } else {
                    memcpy(c->in + c->nin, buf + at, part);
                    rc = line(ch, k, c->in, c->nin + part, exec, ctx);
                }
                c->nin = 0;
            } else {
                rc = part ? line(ch, k, buf + at, part, exec, ctx) : 0;
            }
            at = (size_t)i + 1;
            if (rc || !ch->cl[k]) {
                if (ch->cl[k])
                    drop(ch, k);
                return;
            }
        }
        /* keep the partial line (bounded) */
        size_t rest = (size_t)n - at;
        if (rest) {
            if (c->nin + rest > MAX_LINE) {
                if (fail(ch, k, NULL, OKT_EINVAL, "line too long") == 0) {
                    /* the rest of the overlong line is skipped */
                }
                drop(ch, k);
                return;
            }
            if (!c->in && !(c->in = malloc(MAX_LINE))) {
                drop(ch, k);
                return;
            }
            memcpy(c->in + c->nin, buf + at, rest);
            c->nin += rest;
        }
        if (ch->kind == CH_STDIO)
            return;   /* a blocking fd: read once per readiness */
    }
}

void okt_chan_event(okt_chan *ch, uint64_t tag, unsigned events,
                    okt_chan_exec exec, void *ctx)
{
    if (tag == TAG_LISTENER) {
        for (int i = 0; i < MAX_CLIENTS; i++) {
            int fd = accept4(ch->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return;
            if (add_client(ch, fd, fd) != 0)
                close(fd);   /* full: the peer sees the close */
        }
        return;
    }
    int k = (int)(tag - OKT_CHAN_TAG0);
    if (k < 0 || k >= MAX_CLIENTS || !ch->cl[k])
        return;
    if ((events & EPOLLOUT) && flush(ch, k)) {
        drop(ch, k);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        readable(ch, k, exec, ctx);
}

void okt_chan_free(okt_chan *ch)
{
    if (!ch)
        return;
    for (int k = 0; k < MAX_CLIENTS; k++)
        client_free(ch, k);
    if (ch->lfd >= 0)
        close(ch->lfd);
    if (ch->unlink_path)
        unlink(ch->path);
    free(ch);
}
