/* server.c - serves the model over WebSocket from one thread: epoll over
 * the listening socket, the sessions' okt_ws and an eventfd that wakes the
 * thread for control calls. */
#include "emu.h"

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
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "model.h"
#include "protocol.h"
#include "ws.h"

#define TAG_LISTEN UINT64_MAX
#define TAG_WAKE (UINT64_MAX - 1)
#define CLOSE_GRACE_MS 2000     /* polite close: wait this long for the peer */
#define HANDSHAKE_MS OKT_DEFAULT_OPEN_MS
#define SWEEP_MS 250
#define ACCEPT_BATCH 128

typedef struct conn {
    okt_ws *ws;
    int fd;
    unsigned ev;                /* epoll events registered */
    int closing;                /* polite close under way */
    int dirty;                  /* output queued this turn */
    unsigned backlog;           /* messages queued since output last
                                   drained: a peer that stops reading is
                                   dropped past OKT_MAX_EVENTS */
    int64_t deadline;           /* handshake or close grace, -1 none */
} conn;

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
    okt_chan *chan;             /* the control channel (config `control`),
                                   NULL: none */
};

/* ---- construction --------------------------------------------------- */

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
    e->port = -1;
    okt_out_init(&e->out);
    okt_ws_cfg_init(&e->wscfg);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
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
     * but queued output still goes out. */
    if ((w & OKT_WANT_READ) && !e->paused)
        ev |= EPOLLIN;
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
    okt_ws_free(c->ws);
    free(c);
    e->conns[s] = NULL;
    okt_model_close(e->model, s, &e->out);
    pthread_mutex_lock(&e->mu);
    e->live--;
    pthread_mutex_unlock(&e->mu);
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
}

/* Hand the complete messages of session s to the model, a batch at a
 * time. A peer that does not read its replies is not served further until
 * its output drains (EPOLLOUT brings us back): replies cannot pile up. */
#define DRAIN_BATCH 64
static void drain(okt_emu *e, int s)
{
    const char *data;
    size_t len;
    conn *c;
    for (;;) {
        int taken = 0;
        while (taken < DRAIN_BATCH && (c = e->conns[s]) &&
               (c->closing || !e->paused) &&
               okt_ws_recv(c->ws, &data, &len)) {
            taken++;
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
        if (!c || taken < DRAIN_BATCH ||
            (okt_ws_events(c->ws) & OKT_WANT_WRITE))
            return;
    }
}

static void service(okt_emu *e, int s, unsigned revents)
{
    conn *c = (size_t)s < e->nconns ? e->conns[s] : NULL;
    if (!c)
        return;
    int rv = 0;
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
        rv |= OKT_WANT_READ;
    if (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        rv |= OKT_WANT_WRITE;
    int rc = okt_ws_step(c->ws, rv, NULL);
    if (c->deadline >= 0 && !c->closing &&
        okt_ws_state(c->ws) != OKT_WS_CONNECTING)
        c->deadline = -1;           /* upgraded in time */
    drain(e, s);
    if (!e->conns[s])
        return;
    if (rc != 0) {
        drop_conn(e, s);
    } else {
        if (!(okt_ws_events(c->ws) & OKT_WANT_WRITE))
            c->backlog = 0;
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
    e->nconns = n;
    return 0;
}

static void accept_some(okt_emu *e)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
        c->deadline = okt_now_ms() + HANDSHAKE_MS;
        c->ev = EPOLLIN;
        struct epoll_event ee = {.events = EPOLLIN, .data.u64 = (uint64_t)s};
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
    for (size_t s = 0; s < e->nconns; s++) {
        conn *c = e->conns[s];
        if (c && c->deadline >= 0 && now >= c->deadline)
            drop_conn(e, (int)s);
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
                    drain(e, (int)s);   /* answer what waited */
        *res = json_true();
        return 0;
    }
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
        int wait = SWEEP_MS;
        if (dl >= 0 && dl - now < wait)
            wait = dl > now ? (int)(dl - now) : 0;
        int n = epoll_wait(e->epfd, evs, 256, wait);
        /* the clock first: what arrives now happens at this time */
        okt_model_tick(e->model, okt_now_ms(), &e->out);
        if (e->out.n)
            flush_out(e);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_WAKE)
                run_commands(e);
            else if (tag == TAG_LISTEN)
                accept_some(e);
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
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", e->cfg_port);
    int rc = getaddrinfo(e->host, port, &hints, &ai);
    if (rc != 0)
        return okt_err_set(err, OKT_EINVAL, "host %s: %s", e->host,
                           gai_strerror(rc));
    int eno = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family,
                        a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            eno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
            listen(fd, 4096) == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            e->port = ss.ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
            e->lfd = fd;
            break;
        }
        eno = errno;
        close(fd);
    }
    freeaddrinfo(ai);
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
    free(e->conns);
    free(e->dirty);
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
