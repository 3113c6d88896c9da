/* server.c - serves the model over WebSocket from one thread: epoll over
 * the listening socket, the sessions' okt_ws and an eventfd that wakes the
 * thread for control calls. */
#include "emu.h"
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "model.h"
#include "protocol.h"
#include "ws.h"

#define TAG_LISTEN UINT64_MAX
#define TAG_WAKE (UINT64_MAX - 1)
#define TAG_REFUSED (1ull << 62)  /* | index in e->refused */
#define REFUSED_MAX 256         /* refusals lingering at once (beyond: closed
                                   at once, the 503 maybe lost to a reset) */
#define REFUSED_LINGER_MS 1000  /* a refused peer's bytes are read and
                                   dropped this long, so closing does not
                                   reset the connection before it reads the
                                   503 */
#define CLOSE_GRACE_MS 2000     /* polite close: wait this long for the peer */
#define HANDSHAKE_MS OKT_DEFAULT_OPEN_MS
#define SWEEP_MS 250
#define ACCEPT_BATCH 128
/* Fair service: each turn of the loop serves every peer with waiting
 * messages at most this much, round-robin, so one pipelining peer cannot
 * hold the thread while another's request waits. */
#define TURN_MSGS 32
#define TURN_BYTES (64u * 1024u)

typedef struct conn {
    okt_ws *ws;
    int fd;
    unsigned ev;                /* epoll events registered */
    int closing;                /* polite close under way */
    int dirty;                  /* output queued this turn */
    int ready;                  /* in e->ready: messages wait for service */
    unsigned backlog;           /* messages queued since output last
                                   drained: a peer that stops reading is
                                   dropped past OKT_MAX_EVENTS */
    int64_t deadline;           /* handshake or close grace, -1 none */
    int64_t login_deadline;     /* upgraded, not logged in: -1 none */
    int64_t out_since;          /* output waiting and unmoved since */
    uint64_t out_mark;          /* bytes out at out_since */
    size_t mem;                 /* okt_ws_mem at the last count */
} conn;

typedef struct refused {
    int fd;                     /* -1: free */
    int64_t until;
} refused;

typedef struct cmd {
    const char *name;
    const json_t *args;
    json_t *result;
    okt_err err;
    int rc, done;
    struct cmd *next;
} cmd;

struct okt_emu {
    okt_model *model;
    char *host;
    int cfg_port, port;
    okt_ws_cfg wscfg;
    int lfd, wfd, epfd;
    conn **conns;               /* indexed by model session handle */
    size_t nconns;
    int *dirty;                 /* handles with output this turn */
    size_t ndirty;
    int *ready, *ready2;        /* handles with messages waiting, in turn
                                   order (2 x nconns: a slot reused within
                                   a turn may appear twice; c->ready tells) */
    size_t nready;
    okt_out out;
    int paused;
    pthread_t th;
    int running;                /* thread started and not joined */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cmd *head, *tail;
    int stop;                   /* under mu */
    int exited;                 /* under mu */
    size_t live;                /* under mu: sessions, for okt_emu_sessions */
    int64_t next_sweep;
    int accept_off;             /* out of descriptors: listener muted */
    size_t max_output;          /* a peer with more output waiting is cut */
    int64_t login_timeout, write_timeout;   /* ms */
    size_t max_connections;
    size_t max_memory, mem;     /* cap and sum of the conns' mem */
    refused refused[REFUSED_MAX];
    okt_chan *chan;             /* the control channel (config `control`),
                                   NULL: none */
};

/* ---- construction --------------------------------------------------- */

/* A duration key in seconds (a number, fractions allowed: tests use short
 * ones) into ms; def (s) when absent or null. */
static int cfg_secs(const json_t *cfg, const char *key, double def,
                    int64_t *dst, okt_err *err)
{
    const json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    double x = def;
    if (v && !json_is_null(v)) {
        x = json_is_number(v) ? json_number_value(v) : -1;
        if (!(x >= 0.01 && x <= 86400))
            return okt_err_set(err, OKT_EINVAL,
                               "'%s' must be a number of seconds 0.01..86400",
                               key);
    }
    *dst = (int64_t)(x * 1000 + 0.5);
    return 0;
}

/* A top-level integer key in lo..hi, def when absent or null. */
static int cfg_size(const json_t *cfg, const char *key, long long lo,
                    long long hi, long long def, long long *dst, okt_err *err)
{
    const json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    *dst = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return okt_err_set(err, OKT_EINVAL,
                           "'%s' must be an integer %lld..%lld", key, lo, hi);
    *dst = json_integer_value(v);
    return 0;
}

/* The server's own config keys; the model's are okt_model_config_keys. */
static const char *const server_keys[] = {
    "host", "port", "max_message", "max_output", "max_connections",
    "max_memory", "login_timeout", "write_timeout", "control", NULL};

static int known_key(const char *k)
{
    for (const char *const *p = server_keys; *p; p++)
        if (!strcmp(k, *p))
            return 1;
    for (const char *const *p = okt_model_config_keys; *p; p++)
        if (!strcmp(k, *p))
            return 1;
    return 0;
}

/* A key that is not a config key is an error naming it and the known
 * ones (a misspelt limit would otherwise silently stay at its default). */
static int check_keys(const json_t *config, okt_err *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)config, k, v) {
        (void)v;
        if (known_key(k))
            continue;
        char name[28], list[224];
        size_t i = 0, n = 0;
        for (; k[i] && i < sizeof name - 1; i++)   /* printable ASCII only */
            name[i] = k[i] > 0x20 && k[i] < 0x7f ? k[i] : '?';
        name[i] = '\0';
        list[0] = '\0';
        for (const char *const *p = server_keys; *p; p++)
            n += (size_t)snprintf(n < sizeof list ? list + n : NULL,
                                  n < sizeof list ? sizeof list - n : 0,
                                  "%s%s", n ? ", " : "", *p);
        for (const char *const *p = okt_model_config_keys; *p; p++)
            n += (size_t)snprintf(n < sizeof list ? list + n : NULL,
                                  n < sizeof list ? sizeof list - n : 0,
                                  ", %s", *p);
        return okt_err_set(err, OKT_EINVAL, "unknown key '%s'%s (known: %s)",
                           name, k[i] ? "..." : "", list);
    }
    return 0;
}

okt_emu *okt_emu_new(const json_t *config, okt_err *err)
{
    if (config && !json_is_object(config)) {
        okt_err_set(err, OKT_EINVAL, "config must be a table");
        return NULL;
    }
    okt_emu *e = calloc(1, sizeof *e);
    if (!e) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    e->lfd = e->wfd = e->epfd = -1;
    for (int i = 0; i < REFUSED_MAX; i++)
        e->refused[i].fd = -1;
    e->port = -1;
    okt_out_init(&e->out);
    okt_ws_cfg_init(&e->wscfg);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    if (config && check_keys(config, err))
        goto fail;
    const json_t *h = config ? json_object_get(config, "host") : NULL;
    const json_t *p = config ? json_object_get(config, "port") : NULL;
    const json_t *mm = config ? json_object_get(config, "max_message") : NULL;
    if (h && !json_is_null(h) && !json_is_string(h)) {
        okt_err_set(err, OKT_EINVAL, "'host' must be a string");
        goto fail;
    }
    if (p && !json_is_null(p) &&
        (!json_is_integer(p) || json_integer_value(p) < 0 ||
         json_integer_value(p) > 65535)) {
        okt_err_set(err, OKT_EINVAL, "'port' must be an integer 0..65535");
        goto fail;
    }
    if (mm && !json_is_null(mm)) {
        if (!json_is_integer(mm) || json_integer_value(mm) < 64 ||
            (uint64_t)json_integer_value(mm) > OKT_MAX_WS_MSG) {
            okt_err_set(err, OKT_EINVAL,
                        "'max_message' must be an integer 64..%u",
                        OKT_MAX_WS_MSG);
            goto fail;
        }
        e->wscfg.max_msg = (size_t)json_integer_value(mm);
    }
    long long v;
    if (cfg_size(config, "max_output", 4096, 1LL << 30, OKT_MAX_WS_OUT, &v,
                 err))
        goto fail;
    e->max_output = (size_t)v;
    if (cfg_size(config, "max_connections", 1, 1000000,
                 OKT_EMU_MAX_CONNECTIONS, &v, err))
        goto fail;
    e->max_connections = (size_t)v;
    if (cfg_size(config, "max_memory", 1LL << 20, 1LL << 40,
                 OKT_EMU_MAX_MEMORY, &v, err))
        goto fail;
    e->max_memory = (size_t)v;
    if (cfg_secs(config, "login_timeout", OKT_EMU_LOGIN_TIMEOUT,
                 &e->login_timeout, err) ||
        cfg_secs(config, "write_timeout", OKT_EMU_WRITE_TIMEOUT,
                 &e->write_timeout, err))
        goto fail;
    /* The transport stops taking frames in a quarter above the bound (a
     * backstop for one step's overshoot) and says so (okt_ws_out_over):
     * the bound itself is enforced here, after each step, by cutting the
     * peer. */
    e->wscfg.max_out = e->max_output + e->max_output / 4;
    e->host = strdup(json_is_string(h) ? json_string_value(h) : "127.0.0.1");
    e->cfg_port = json_is_integer(p) ? (int)json_integer_value(p) : 0;
    if (!e->host) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    e->model = okt_model_new(config, err);
    if (!e->model)
        goto fail;
    const json_t *ctl = config ? json_object_get(config, "control") : NULL;
    if (ctl && !json_is_null(ctl) &&
        (!json_is_string(ctl) ||
         !(e->chan = okt_chan_new(json_string_value(ctl), err)))) {
        if (!json_is_string(ctl))
            okt_err_set(err, OKT_EINVAL, "'control' must be a string");
        goto fail;
    }
    return e;
fail:
    okt_emu_free(e);
    return NULL;
}

int okt_emu_port(const okt_emu *e)
{
    return e ? e->port : -1;
}

size_t okt_emu_sessions(okt_emu *e)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->live;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* ---- connections ---------------------------------------------------- */

static void set_interest(okt_emu *e, int s, conn *c)
{
    int w = okt_ws_events(c->ws);
    unsigned ev = 0;
    /* While paused, nothing is read (the peer's bytes wait in the kernel)
     * but queued output still goes out. Nor while messages already read
     * wait for their turn: a pipelining peer is read as fast as it is
     * served, not faster. A peer's hang-up is always heard. */
    if ((w & OKT_WANT_READ) && !e->paused && !okt_ws_pending(c->ws))
        ev |= EPOLLIN;
    ev |= EPOLLRDHUP;
    if (w & OKT_WANT_WRITE)
        ev |= EPOLLOUT;
    if (ev == c->ev)
        return;
    struct epoll_event ee = {.events = ev, .data.u64 = (uint64_t)s};
    epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ee);
    c->ev = ev;
}

/* Forget a transport: the model hears of it (its output is appended to
 * e->out and sent by the caller's flush). */
static void drop_conn(okt_emu *e, int s)
{
    conn *c = (size_t)s < e->nconns ? e->conns[s] : NULL;
    if (!c)
        return;
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    e->mem -= c->mem;
    okt_ws_free(c->ws);
    free(c);
    e->conns[s] = NULL;
    okt_model_close(e->model, s, &e->out);
    pthread_mutex_lock(&e->mu);
    e->live--;
    pthread_mutex_unlock(&e->mu);
}

/* Count again what s holds (after its transport did anything). */
static void account(okt_emu *e, conn *c)
{
    size_t m = sizeof *c + okt_ws_mem(c->ws);
    e->mem += m - c->mem;
    c->mem = m;
}

/* The memory cap: while all connections together hold more than
 * max_memory, the one holding most is cut (new ones are refused from 7/8
 * of it on: accept_some). */
static void enforce_memory(okt_emu *e)
{
    while (e->mem > e->max_memory) {
        size_t big = 0;
        int who = -1;
        for (size_t s = 0; s < e->nconns; s++)
            if (e->conns[s] && e->conns[s]->mem > big) {
                big = e->conns[s]->mem;
                who = (int)s;
            }
        if (who < 0)
            break;
        drop_conn(e, who);
    }
}

static void mark_dirty(okt_emu *e, int s, conn *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        e->dirty[e->ndirty++] = s;
    }
}

/* Send everything the model produced, then flush each touched session
 * with one write. */
static void flush_out(okt_emu *e)
{
    for (size_t i = 0; i < e->out.n; i++) {
        okt_out_msg *m = &e->out.v[i];
        if (m->kind == OKT_OUT_RECORD) {
            okt_chan_record(e->chan, m->text, m->len);   /* to watchers */
            continue;
        }
        int s = m->sess;
        conn *c = (size_t)s < e->nconns ? e->conns[s] : NULL;
        if (!c)
            continue;
        if (m->kind == OKT_OUT_ABORT) {
            drop_conn(e, s);        /* may append to e->out */
            continue;
        }
        if (c->closing)
            continue;
        if (m->kind == OKT_OUT_SEND) {
            if (c->backlog >= OKT_MAX_EVENTS) {
                drop_conn(e, s);    /* it has not read for too long */
                continue;
            }
            if (okt_ws_send(c->ws, m->text, m->len, NULL) != 0)
                continue;           /* the next step reports the failure */
            if (okt_ws_out_queued(c->ws) > e->max_output) {
                drop_conn(e, s);    /* it does not read what it is sent */
                continue;
            }
            c->backlog++;
        } else {
            okt_ws_close(c->ws, 1000, OKT_W_LOGOUT);
            c->closing = 1;
            c->deadline = okt_now_ms() + CLOSE_GRACE_MS;
        }
        mark_dirty(e, s, c);
    }
    okt_out_clear(&e->out);
    for (size_t i = 0; i < e->ndirty; i++) {
        int s = e->dirty[i];
        conn *c = e->conns[s];
        if (!c)
            continue;
        c->dirty = 0;
        if (okt_ws_step(c->ws, OKT_WANT_WRITE, NULL) != 0) {
            drop_conn(e, s);
            continue;
        }
        if (!(okt_ws_events(c->ws) & OKT_WANT_WRITE))
            c->backlog = 0;
        account(e, c);
        set_interest(e, s, c);
    }
    e->ndirty = 0;
    if (e->out.n)
        flush_out(e);   /* output of sessions dropped just now */
}

/* Queue the single reply in e->out for session s without flushing. */
static void queue_one(okt_emu *e, int s)
{
    conn *c = e->conns[s];
    okt_out_msg *m = &e->out.v[0];
    if (okt_ws_send(c->ws, m->text, m->len, NULL) == 0)
        mark_dirty(e, s, c);
    okt_out_clear(&e->out);
    if (okt_ws_out_queued(c->ws) > e->max_output)
        drop_conn(e, s);            /* its replies pile up unread */
}

/* s has messages waiting: serve it in a later turn (once). */
static void make_ready(okt_emu *e, int s, conn *c)
{
    if (!c->ready && okt_ws_pending(c->ws) && e->nready < 2 * e->nconns) {
        c->ready = 1;
        e->ready[e->nready++] = s;
    }
}

/* Hand complete messages of session s to the model: one turn's budget
 * (TURN_MSGS, TURN_BYTES). 1 when more wait and s may go on next turn. A
 * peer that does not read its replies is not served further until its
 * output drains (EPOLLOUT brings us back): replies cannot pile up. */
static int drain(okt_emu *e, int s)
{
    const char *data;
    size_t len, bytes = 0;
    conn *c;
    {
        int taken = 0;
        while (taken < TURN_MSGS && bytes < TURN_BYTES &&
               (c = e->conns[s]) && (c->closing || !e->paused) &&
               okt_ws_recv(c->ws, &data, &len)) {
            taken++;
            bytes += len;
            /* After logout nothing more is answered, but messages are
             * still taken so the transport reads on until the peer's
             * close. */
            if (c->closing)
                continue;
            okt_model_feed(e->model, s, data, len, &e->out);
            /* Replies to this session are batched into one write below;
             * output for other sessions (events) goes out now. */
            if (e->out.n > 1 || (e->out.n == 1 && e->out.v[0].sess != s) ||
                (e->out.n == 1 && e->out.v[0].kind != OKT_OUT_SEND))
                flush_out(e);
            else if (e->out.n == 1)
                queue_one(e, s);
        }
        flush_out(e);
        c = e->conns[s];
        return c && (c->closing || !e->paused) && okt_ws_pending(c->ws) &&
               !(okt_ws_events(c->ws) & OKT_WANT_WRITE);
    }
}

/* One round of the peers with waiting messages, each its budget, in the
 * order they became ready; those with more wait for the next round. */
static void serve_ready(okt_emu *e)
{
    size_t n = e->nready;
    int *list = e->ready;
    e->ready = e->ready2;
    e->ready2 = list;
    e->nready = 0;
    for (size_t i = 0; i < n; i++) {
        int s = list[i];
        conn *c = e->conns[s];
        if (!c || !c->ready)
            continue;   /* dropped, or a stale entry of a reused slot */
        c->ready = 0;
        int more = drain(e, s);
        if ((c = e->conns[s])) {
            account(e, c);
            if (more)
                make_ready(e, s, c);
            set_interest(e, s, c);
        }
    }
    flush_out(e);
}

static void service(okt_emu *e, int s, unsigned revents)
{
    conn *c = (size_t)s < e->nconns ? e->conns[s] : NULL;
    if (!c)
        return;
    /* The peer hung up (or the connection broke): nothing we send can be
     * read, so whatever it pipelined before is dropped unserved. */
    if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        drop_conn(e, s);
        flush_out(e);
        return;
    }
    int rv = 0;
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
        rv |= OKT_WANT_READ;
    if (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        rv |= OKT_WANT_WRITE;
    int rc = okt_ws_step(c->ws, rv, NULL);
    account(e, c);
    if (c->deadline >= 0 && !c->closing &&
        okt_ws_state(c->ws) != OKT_WS_CONNECTING) {
        c->deadline = -1;           /* upgraded in time: now log in */
        c->login_deadline = okt_now_ms() + e->login_timeout;
    }
    /* Pongs to a peer that pings and never reads: over max_output it is
     * cut, and its memory freed. */
    if (rc != 0 || okt_ws_out_queued(c->ws) > e->max_output ||
        okt_ws_out_over(c->ws)) {
        drop_conn(e, s);
    } else {
        if (!(okt_ws_events(c->ws) & OKT_WANT_WRITE)) {
            c->backlog = 0;
            make_ready(e, s, c);    /* served in this turn's round */
        }
        /* A ready peer's interest is set after its service in this turn's
         * round (serve_ready): its replies usually drain the output and
         * its messages are taken, so the interest ends as it was, and
         * setting it here (no input while messages wait) would cost two
         * epoll_ctl calls a turn for nothing. */
        if (!c->ready)
            set_interest(e, s, c);
    }
    flush_out(e);
}

static int grow_conns(okt_emu *e, size_t need)
{
    if (need <= e->nconns)
        return 0;
    size_t n = e->nconns ? e->nconns : 64;
    while (n < need)
        n *= 2;
    conn **v = realloc(e->conns, n * sizeof *v);
    if (!v)
        return -1;
    memset(v + e->nconns, 0, (n - e->nconns) * sizeof *v);
    e->conns = v;
    int *d = realloc(e->dirty, n * sizeof *d);
    if (!d)
        return -1;
    e->dirty = d;
    int *r = realloc(e->ready, 2 * n * sizeof *r);
    if (!r)
        return -1;
    e->ready = r;
    if (!(r = realloc(e->ready2, 2 * n * sizeof *r)))
        return -1;
    e->ready2 = r;
    e->nconns = n;
    return 0;
}

/* The peer's IP as text in buf (login throttling counts failures per
 * address); "" when unknown. */
static const char *peer_ip(const struct sockaddr_storage *sa, socklen_t sl,
                           char buf[INET6_ADDRSTRLEN])
{
    buf[0] = '\0';
    if (sa->ss_family == AF_INET && sl >= sizeof(struct sockaddr_in))
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                  INET6_ADDRSTRLEN);
    else if (sa->ss_family == AF_INET6 && sl >= sizeof(struct sockaddr_in6))
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  buf, INET6_ADDRSTRLEN);
    return buf;
}

/* Refuse a connection before its upgrade with an HTTP 503 naming why; its
 * bytes are read and dropped for a while (refused_event) so that closing
 * it does not reset the connection before the 503 is read. */
static void refuse(okt_emu *e, int fd, const char *why)
{
    char resp[320];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 503 Service Unavailable\r\n"
                     "Connection: close\r\nRetry-After: 1\r\n"
                     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "\r\n%s; try again later\n",
                     strlen(why) + sizeof "; try again later\n" - 1, why);
    if (n > 0 && send(fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* a full buffer on a new socket: the peer sees the close alone */
    }
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < REFUSED_MAX; i++) {
        if (e->refused[i].fd >= 0)
            continue;
        struct epoll_event ee = {.events = EPOLLIN | EPOLLRDHUP,
                                 .data.u64 = TAG_REFUSED | (uint64_t)i};
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ee) != 0)
            break;
        e->refused[i].fd = fd;
        e->refused[i].until = okt_now_ms() + REFUSED_LINGER_MS;
        return;
    }
    close(fd);
}

static void refused_close(okt_emu *e, int i)
{
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->refused[i].fd, NULL);
    close(e->refused[i].fd);
    e->refused[i].fd = -1;
}

/* A refused peer's bytes: read and dropped; its close ends it. */
static void refused_event(okt_emu *e, int i)
{
    char junk[4096];
    for (int k = 0; k < 16; k++) {
        ssize_t n = recv(e->refused[i].fd, junk, sizeof junk, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            refused_close(e, i);
        return;
    }
}

static void accept_some(okt_emu *e)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(e->lfd, (struct sockaddr *)&sa, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* Out of descriptors the connection stays in the backlog and
             * the (level-triggered) listener is ready again at once: mute
             * it until the next sweep instead of spinning on it. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                struct epoll_event ee = {.events = 0,
                                         .data.u64 = TAG_LISTEN};
                if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->lfd, &ee) == 0)
                    e->accept_off = 1;
            }
            return;     /* EAGAIN, or a transient error: try next turn */
        }
        if (e->live >= e->max_connections) {
            refuse(e, fd, "the emulator's connection limit (max_connections)"
                          " is reached");
            continue;
        }
        if (e->mem >= e->max_memory / 8 * 7) {
            refuse(e, fd, "the emulator's memory limit (max_memory) is "
                          "nearly reached");
            continue;
        }
        int s = okt_model_open(e->model, NULL);
        conn *c = s >= 0 && grow_conns(e, (size_t)s + 1) == 0
                      ? calloc(1, sizeof *c)
                      : NULL;
        if (!c || !(c->ws = okt_ws_accept(fd, &e->wscfg, NULL))) {
            if (!c)
                close(fd);  /* okt_ws_accept closes it on failure */
            free(c);
            if (s >= 0)
                okt_model_close(e->model, s, &e->out);
            continue;
        }
        c->fd = fd;
        char ip[INET6_ADDRSTRLEN];
        okt_model_set_addr(e->model, s, peer_ip(&sa, sl, ip));
        c->deadline = okt_now_ms() + HANDSHAKE_MS;
        c->login_deadline = -1;
        c->out_since = okt_now_ms();
        struct epoll_event ee = {.events = EPOLLIN | EPOLLRDHUP,
                                 .data.u64 = (uint64_t)s};
        c->ev = ee.events;
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
            okt_ws_free(c->ws);
            free(c);
            okt_model_close(e->model, s, &e->out);
            continue;
        }
        e->conns[s] = c;
        pthread_mutex_lock(&e->mu);
        e->live++;
        pthread_mutex_unlock(&e->mu);
    }
}

/* Drop sessions stuck in the upgrade or in a close the peer never ends. */
static void sweep(okt_emu *e, int64_t now)
{
    if (e->accept_off) {
        struct epoll_event ee = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
        if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->lfd, &ee) == 0)
            e->accept_off = 0;
    }
    for (int i = 0; i < REFUSED_MAX; i++)
        if (e->refused[i].fd >= 0 && now >= e->refused[i].until)
            refused_close(e, i);
    for (size_t s = 0; s < e->nconns; s++) {
        conn *c = e->conns[s];
        if (!c)
            continue;
        if (c->deadline >= 0 && now >= c->deadline) {
            drop_conn(e, (int)s);
            continue;
        }
        /* Upgraded but never logged in: closed with a reason. */
        if (c->login_deadline >= 0) {
            if (okt_model_logged_in(e->model, (int)s)) {
                c->login_deadline = -1;
            } else if (now >= c->login_deadline) {
                c->login_deadline = -1;
                okt_ws_close(c->ws, 1008, "login timeout");
                c->closing = 1;
                c->deadline = now + CLOSE_GRACE_MS;
                mark_dirty(e, (int)s, c);
            }
        }
        /* Output waiting and none of it taken for write_timeout: the
         * peer stopped reading (a close frame could not reach it). */
        okt_ws_stats st;
        okt_ws_get_stats(c->ws, &st);
        if (!(okt_ws_events(c->ws) & OKT_WANT_WRITE) ||
            st.bytes_out != c->out_mark) {
            c->out_mark = st.bytes_out;
            c->out_since = now;
        } else if (now - c->out_since >= e->write_timeout) {
            drop_conn(e, (int)s);
        }
    }
    flush_out(e);
}

/* ---- control -------------------------------------------------------- */

/* One control command in the server thread: pause and info are the
 * server's, the rest the model's. */
static int run_cmd(okt_emu *e, const char *name, const json_t *args,
                   json_t **res, okt_err *err)
{
    if (!strcmp(name, "info")) {
        *res = json_pack("{s:s, s:i, s:s, s:I}", "host", e->host, "port",
                         e->port, "control",
                         e->chan ? okt_chan_address(e->chan) : "",
                         "sessions", (json_int_t)okt_model_session_count(
                                         e->model));
        return *res ? 0 : okt_err_set(err, OKT_ENOMEM, "out of memory");
    }
    if (!strcmp(name, "pause")) {
        const json_t *on = args ? json_object_get(args, "on") : NULL;
        if (!json_is_boolean(on))
            return okt_err_set(err, OKT_EINVAL, "pause: boolean expected");
        int was = e->paused;
        e->paused = json_is_true(on);
        for (size_t s = 0; s < e->nconns; s++)
            if (e->conns[s])
                set_interest(e, (int)s, e->conns[s]);
        if (was && !e->paused)
            for (size_t s = 0; s < e->nconns; s++)
                if (e->conns[s])
                    make_ready(e, (int)s, e->conns[s]); /* what waited */
        *res = json_true();
        return 0;
    }
    okt_model_set_time(e->model, okt_now_ms());
    int rc = okt_model_control(e->model, name, args, res, &e->out, err);
    flush_out(e);
    return rc;
}

static int chan_exec(void *ctx, const char *cmd, const json_t *args,
                     json_t **res, okt_err *err)
{
    return run_cmd(ctx, cmd, args, res, err);
}

static void apply(okt_emu *e, cmd *k)
{
    k->rc = run_cmd(e, k->name, k->args, &k->result, &k->err);
}

static void run_commands(okt_emu *e)
{
    uint64_t v;
    if (read(e->wfd, &v, sizeof v) < 0) {
        /* EAGAIN: a wake already consumed; the queue is checked anyway */
    }
    pthread_mutex_lock(&e->mu);
    cmd *k = e->head;
    e->head = e->tail = NULL;
    pthread_mutex_unlock(&e->mu);
    while (k) {
        cmd *next = k->next;
        apply(e, k);
        pthread_mutex_lock(&e->mu);
        k->done = 1;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        k = next;
    }
}

static int stopping(okt_emu *e)
{
    pthread_mutex_lock(&e->mu);
    int s = e->stop;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static void *thread_main(void *arg)
{
    okt_emu *e = arg;
    struct epoll_event evs[256];
    e->next_sweep = okt_now_ms() + SWEEP_MS;
    while (!stopping(e)) {
        /* wait no longer than the model's next deadline (its timers) */
        int64_t now = okt_now_ms(), dl = okt_model_deadline(e->model);
        int wait = e->nready ? 0 : SWEEP_MS;
        if (dl >= 0 && dl - now < wait)
            wait = dl > now ? (int)(dl - now) : 0;
        int n = epoll_wait(e->epfd, evs, 256, wait);
        /* the model's clock: session expiry, login throttling */
        okt_model_set_time(e->model, okt_now_ms());
        /* the call model's clock first: what arrives now happens at this
         * time */
        okt_model_tick(e->model, okt_now_ms(), &e->out);
        if (e->out.n)
            flush_out(e);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_WAKE)
                run_commands(e);
            else if (tag == TAG_LISTEN)
                accept_some(e);
            else if (tag & TAG_REFUSED)
                refused_event(e, (int)(tag & ~TAG_REFUSED));
            else if (okt_chan_owns(tag))
                okt_chan_event(e->chan, tag, evs[i].events, chan_exec, e);
            else
                service(e, (int)tag, evs[i].events);
        }
        if (okt_chan_eof(e->chan)) {
            /* stdio's parent is gone: stop, as --stdin does */
            pthread_mutex_lock(&e->mu);
            e->stop = 1;
            pthread_mutex_unlock(&e->mu);
        }
        serve_ready(e);
        if (e->mem > e->max_memory) {
            enforce_memory(e);
            flush_out(e);
        }
        now = okt_now_ms();
        if (now >= e->next_sweep) {
            sweep(e, now);
            e->next_sweep = now + SWEEP_MS;
        }
    }
    /* Stop: every session closes; commands still queued fail. */
    for (size_t s = 0; s < e->nconns; s++)
        if (e->conns[s])
            drop_conn(e, (int)s);
    okt_out_clear(&e->out);
    pthread_mutex_lock(&e->mu);
    e->exited = 1;
    for (cmd *k = e->head; k; k = k->next) {
        k->rc = okt_err_set(&k->err, OKT_ECLOSED, "emulator stopped");
        k->done = 1;
    }
    e->head = e->tail = NULL;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int okt_emu_control(okt_emu *e, const char *cmdname, const json_t *args,
                    json_t **result, okt_err *err)
{
    if (result)
        *result = NULL;
    if (!e || !cmdname)
        return okt_err_set(err, OKT_EINVAL, "emulator and command expected");
    cmd k = {.name = cmdname, .args = args, .rc = -1};
    pthread_mutex_lock(&e->mu);
    if (!e->running || e->exited || e->stop) {
        pthread_mutex_unlock(&e->mu);
        return okt_err_set(err, OKT_ECLOSED, "emulator is not running");
    }
    if (e->tail)
        e->tail->next = &k;
    else
        e->head = &k;
    e->tail = &k;
    uint64_t one = 1;
    if (write(e->wfd, &one, sizeof one) < 0) {
        /* counter saturated: the thread is awake anyway */
    }
    while (!k.done)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    if (k.rc != 0) {
        json_decref(k.result);
        if (err)
            *err = k.err;
        return -1;
    }
    if (result)
        *result = k.result;
    else
        json_decref(k.result);
    return 0;
}

/* ---- start / stop --------------------------------------------------- */

static int listen_on(okt_emu *e, okt_err *err)
{
    int gai, eno;
    e->lfd = okt_listen_tcp(e->host, e->cfg_port, 4096, &e->port, &gai,
                            &eno);
    if (gai != 0)
        return okt_err_set(err, OKT_EINVAL, "host %s: %s", e->host,
                           gai_strerror(gai));
    if (e->lfd < 0)
        return okt_err_set(err, OKT_EREFUSED, "listen on %s:%d: %s", e->host,
                           e->cfg_port, strerror(eno));
    return 0;
}

int okt_emu_start(okt_emu *e, okt_err *err)
{
    if (!e)
        return okt_err_set(err, OKT_EINVAL, "emulator expected");
    if (e->running || e->lfd >= 0)
        return okt_err_set(err, OKT_EINVAL, "emulator already started");
    /* Thousands of idle sessions need descriptors: take the hard limit
     * where the soft one is lower (allowed without privileges). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (listen_on(e, err))
        return -1;
    e->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->wfd < 0 || e->epfd < 0)
        return okt_err_set(err, OKT_ENOMEM, "eventfd/epoll: %s",
                           strerror(errno));
    struct epoll_event l = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    struct epoll_event w = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->lfd, &l) ||
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wfd, &w))
        return okt_err_set(err, OKT_ENOMEM, "epoll_ctl: %s", strerror(errno));
    if (e->chan) {
        /* stdio's first line is the URL (bin/oktell-emu's first line) */
        char hello[128];
        int v6 = strchr(e->host, ':') != NULL;
        snprintf(hello, sizeof hello, "ws://%s%s%s:%d\n", v6 ? "[" : "",
                 e->host, v6 ? "]" : "", e->port);
        if (okt_chan_start(e->chan, e->epfd, hello, err))
            return -1;
    }
    /* The thread takes no signals: the host process keeps its handlers. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&e->th, NULL, thread_main, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return okt_err_set(err, OKT_ENOMEM, "pthread_create: %s",
                           strerror(rc));
    pthread_mutex_lock(&e->mu);
    e->running = 1;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void okt_emu_stop(okt_emu *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    int running = e->running;
    e->stop = 1;
    pthread_mutex_unlock(&e->mu);
    if (!running)
        return;
    uint64_t one = 1;
    if (write(e->wfd, &one, sizeof one) < 0) {
        /* saturated counter: the thread wakes anyway */
    }
    pthread_join(e->th, NULL);
    pthread_mutex_lock(&e->mu);
    e->running = 0;
    pthread_mutex_unlock(&e->mu);
}

void okt_emu_free(okt_emu *e)
{
    if (!e)
        return;
    okt_emu_stop(e);
    for (size_t s = 0; s < e->nconns; s++)
        if (e->conns[s]) {
            okt_ws_free(e->conns[s]->ws);
            free(e->conns[s]);
        }
    for (int i = 0; i < REFUSED_MAX; i++)
        if (e->refused[i].fd >= 0)
            close(e->refused[i].fd);
    free(e->conns);
    free(e->dirty);
    free(e->ready);
    free(e->ready2);
    if (e->lfd >= 0)
        close(e->lfd);
    if (e->wfd >= 0)
        close(e->wfd);
    if (e->epfd >= 0)
        close(e->epfd);
    okt_out_free(&e->out);
    okt_chan_free(e->chan);
    okt_model_free(e->model);
    free(e->host);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}
