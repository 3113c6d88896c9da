/* replay.c - emulator.replay (see replay.h): a recording loaded into
 * per-method queues of recorded requests (each with its recorded reply)
 * and a list of recorded events, served to one client at a time by a
 * small poll loop over ws.c's server side in a thread of its own.
 *
 * The thread alone touches the connection and the queues; the progress
 * counters that okt_replay_status reads are written under mu. */
#include "replay.h"
#include "listen.h"
#include "message.h"
#include "protocol.h"
#include "record.h"
#include "ws.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_METHODS 256      /* distinct request methods in one recording */
#define LIST_MAX 16          /* methods named by each status list */
#define HANDSHAKE_MS OKT_DEFAULT_OPEN_MS
#define CLOSE_GRACE_MS 2000  /* after logout: wait this long for the peer */
#define IDLE_MS 250          /* the loop looks at its deadlines this often */
#define MAX_OFFSET_MS (366LL * 86400 * 1000)   /* a year: larger is absurd */
#define MAX_SPEED 1e6

typedef struct rreq {
    char *method;            /* lowercased */
    char *reply_name;        /* NULL: no reply was recorded */
    json_t *reply;           /* the reply's object (owned) */
    long ord;                /* its place among the non-ping replies, in
                                recorded order; -1: none */
    size_t line;             /* of its reply, else of itself: the events
                                recorded before it go out first */
    int ping, served;
} rreq;

typedef struct revent {
    int64_t at_ms;           /* recorded offset from the recorded login */
    size_t need;             /* non-ping replies recorded ahead of it */
    size_t line;             /* where it was recorded */
    char *text;              /* the frame as sent */
    size_t len;
} revent;

typedef struct mqueue {
    char *method;            /* lowercased */
    size_t *idx;             /* into reqs, recorded order */
    size_t n, cap, next;
} mqueue;

struct okt_replay {
    char *login;             /* the header's user */
    rreq *reqs;
    size_t nreqs, capreqs;
    revent *evs;
    size_t nevs, capevs;
    mqueue mq[MAX_METHODS];
    size_t nmq;
    unsigned char *ord_served;   /* by rreq.ord */
    size_t nord, prefix;         /* ords below prefix are all served */
    double speed;

    /* progress: written by the thread under mu */
    size_t next_ev;              /* events sent */
    size_t total_reqs, served_reqs;  /* pings not counted */
    size_t unexpected;
    char *refused[LIST_MAX];
    size_t nrefused;
    size_t scan_from;            /* no unserved request below it */

    char *host;
    int cfg_port, port;
    int lfd, wfd;
    okt_ws_cfg wscfg;
    okt_ws *ws;                  /* the one client; NULL: none */
    int logged;                  /* ws logged in: events may go out */
    int closing;                 /* logout answered, close under way */
    int64_t deadline;            /* handshake or close grace; -1 none */
    int64_t base;                /* when the first login arrived; -1 */
    pthread_t th;
    int running;
    pthread_mutex_t mu;
    int stop;                    /* under mu */
};

/* ---- loading ---------------------------------------------------------- */

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static mqueue *find_queue(okt_replay *r, const char *lname)
{
    for (size_t i = 0; i < r->nmq; i++)
        if (!strcmp(r->mq[i].method, lname))
            return &r->mq[i];
    return NULL;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *nv = realloc(*v, n * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = n;
    return 0;
}

/* A qid as the key of the table of requests awaiting their reply. */
static char *qid_key(const json_t *qid)
{
    return qid ? json_dumps(qid, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static int add_request(okt_replay *r, const char *name, const json_t *obj,
                       json_t *waiting, size_t lineno, okt_err *err)
{
    char *lname = lower_dup(name);
    if (!lname || grow((void **)&r->reqs, &r->capreqs, r->nreqs + 1,
                       sizeof *r->reqs)) {
        free(lname);
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    }
    mqueue *m = find_queue(r, lname);
    if (!m) {
        if (r->nmq == MAX_METHODS) {
            free(lname);
            return okt_err_set(err, OKT_EINVAL,
                               "replay: line %zu: more than %d distinct "
                               "methods", lineno, MAX_METHODS);
        }
        m = &r->mq[r->nmq];
        memset(m, 0, sizeof *m);
        if (!(m->method = strdup(lname))) {
            free(lname);
            return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
        }
        r->nmq++;
    }
    if (grow((void **)&m->idx, &m->cap, m->n + 1, sizeof *m->idx)) {
        free(lname);
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    }
    rreq *q = &r->reqs[r->nreqs];
    memset(q, 0, sizeof *q);
    q->method = lname;
    q->ord = -1;
    q->line = lineno;
    q->ping = !strcasecmp(name, OKT_W_PING);
    size_t at = r->nreqs++;
    m->idx[m->n++] = at;
    if (!q->ping)
        r->total_reqs++;
    /* its reply is the next received frame that echoes this qid (qids
     * start again at 1 after a reconnect: the latest request wins) */
    char *key = qid_key(json_object_get(obj, OKT_F_QID));
    int bad = key && json_object_set_new(waiting, key,
                                         json_integer((json_int_t)at));
    free(key);
    if (bad)
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    return 0;
}

/* A received frame: the reply of a request awaiting one, or an event. */
static int add_received(okt_replay *r, const char *name, json_t *obj,
                        int64_t t_ms, json_t *waiting, size_t lineno,
                        okt_err *err)
{
    char *key = qid_key(json_object_get(obj, OKT_F_QID));
    json_t *ix = key ? json_object_get(waiting, key) : NULL;
    if (ix) {
        rreq *q = &r->reqs[json_integer_value(ix)];
        json_object_del(waiting, key);
        free(key);
        if (!(q->reply_name = strdup(name)))
            return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
        q->reply = json_incref(obj);
        q->line = lineno;
        if (!q->ping)
            q->ord = (long)r->nord++;
        return 0;
    }
    free(key);
    if (grow((void **)&r->evs, &r->capevs, r->nevs + 1, sizeof *r->evs))
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    revent *e = &r->evs[r->nevs];
    e->at_ms = t_ms;
    e->need = r->nord;
    e->line = lineno;
    if (!(e->text = okt_msg_build(name, obj, &e->len, err)))
        return -1;
    r->nevs++;
    return 0;
}

static int bad_line(okt_err *err, size_t lineno, const char *what)
{
    return okt_err_set(err, OKT_EINVAL, "replay: line %zu: %s", lineno,
                       what);
}

/* One record line (after the header). *anchor: the first login's time. */
static int add_line(okt_replay *r, const json_t *v, size_t lineno,
                    json_t *waiting, int64_t *anchor, int64_t *first,
                    okt_err *err)
{
    const json_t *tv = json_object_get(v, "t");
    const json_t *dv = json_object_get(v, "dir");
    const json_t *fv = json_object_get(v, "frame");
    double t = json_is_number(tv) ? json_number_value(tv) : -1;
    if (!(t >= 0))
        return bad_line(err, lineno, "'t' must be a number >= 0");
    const char *dir = json_string_value(dv);
    if (!dir || (strcmp(dir, ">") && strcmp(dir, "<") && strcmp(dir, "!")))
        return bad_line(err, lineno, "'dir' must be \">\", \"<\" or \"!\"");
    if (!fv)
        return bad_line(err, lineno, "'frame' missing");
    /* a note, or text that was not JSON: nothing to serve */
    if (*dir == '!' || json_is_string(fv))
        return 0;
    const char *secret = okt_record_unmasked(fv);
    if (secret)
        return okt_err_set(err, OKT_EINVAL,
                           "replay: line %zu: '%.40s' holds a value that is "
                           "not masked (\"%s\"); a recording never holds "
                           "secrets: this file is refused", lineno, secret,
                           OKT_RECORD_MASK);
    if (!json_is_array(fv) || json_array_size(fv) != 2 ||
        !json_is_string(json_array_get(fv, 0)) ||
        !json_is_object(json_array_get(fv, 1)))
        return bad_line(err, lineno, "'frame' must be [name, object]");
    const char *name = json_string_value(json_array_get(fv, 0));
    json_t *obj = json_array_get(fv, 1);
    int64_t ms = t * 1000 > (double)MAX_OFFSET_MS ? MAX_OFFSET_MS
                                                   : (int64_t)(t * 1000 + 0.5);
    if (*first < 0)
        *first = ms;
    if (*dir == '>') {
        if (*anchor < 0 && !strcasecmp(name, OKT_W_LOGIN))
            *anchor = ms;
        return add_request(r, name, obj, waiting, lineno, err);
    }
    return add_received(r, name, obj, ms, waiting, lineno, err);
}

static int check_header(okt_replay *r, const json_t *v, okt_err *err)
{
    const json_t *f = json_object_get(v, "oktell_record");
    if (!json_is_integer(f))
        return okt_err_set(err, OKT_EINVAL, "replay: not an oktell recording "
                           "(the first line is no {\"oktell_record\": %d, "
                           "…} header)", OKT_RECORD_FORMAT);
    if (json_integer_value(f) != OKT_RECORD_FORMAT)
        return okt_err_set(err, OKT_EINVAL, "replay: recording format %lld "
                           "is not the one this version reads (%d)",
                           (long long)json_integer_value(f),
                           OKT_RECORD_FORMAT);
    const char *login = json_string_value(json_object_get(v, "login"));
    if (!login || !*login)
        return okt_err_set(err, OKT_EINVAL,
                           "replay: the header names no login");
    if (!(r->login = strdup(login)))
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    return 0;
}

static int load(okt_replay *r, const char *text, size_t len, okt_err *err)
{
    json_t *waiting = json_object();   /* qid -> request awaiting a reply */
    if (!waiting)
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    int64_t anchor = -1, first = -1;
    size_t lineno = 0;
    int header = 0, rc = 0;
    const char *p = text, *end = text + len;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        lineno++;
        while (ls < le && isspace((unsigned char)*ls))
            ls++;
        while (le > ls && isspace((unsigned char)le[-1]))
            le--;
        if (ls == le)
            continue;
        json_error_t je;
        json_t *v = json_loadb(ls, (size_t)(le - ls), 0, &je);
        if (!json_is_object(v))
            rc = header ? bad_line(err, lineno, "not a JSON object")
                        : okt_err_set(err, OKT_EINVAL, "replay: not an "
                                      "oktell recording (line %zu is not "
                                      "JSON)", lineno);
        else if (!header)
            rc = check_header(r, v, err), header = 1;
        else
            rc = add_line(r, v, lineno, waiting, &anchor, &first, err);
        json_decref(v);
    }
    json_decref(waiting);
    if (rc)
        return rc;
    if (!header)
        return okt_err_set(err, OKT_EINVAL, "replay: empty file");
    /* events are timed from the login; a recording begun on a live client
     * holds none, and is timed from its first frame */
    if (anchor < 0)
        anchor = first < 0 ? 0 : first;
    for (size_t i = 0; i < r->nevs; i++)
        r->evs[i].at_ms = r->evs[i].at_ms > anchor ? r->evs[i].at_ms - anchor
                                                   : 0;
    if (r->nord && !(r->ord_served = calloc(r->nord, 1)))
        return okt_err_set(err, OKT_ENOMEM, "replay: out of memory");
    return 0;
}

static int parse_opts(okt_replay *r, const json_t *opts, okt_err *err)
{
    r->speed = 1;
    if (!opts)
        return 0;
    if (!json_is_object(opts))
        return okt_err_set(err, OKT_EINVAL, "options must be a table");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)opts, k, v) {
        if (!strcmp(k, "host")) {
            if (!json_is_string(v))
                return okt_err_set(err, OKT_EINVAL, "'host' must be a string");
            free(r->host);
            if (!(r->host = strdup(json_string_value(v))))
                return okt_err_set(err, OKT_ENOMEM, "out of memory");
        } else if (!strcmp(k, "port")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 65535)
                return okt_err_set(err, OKT_EINVAL,
                                   "'port' must be an integer 0..65535");
            r->cfg_port = (int)json_integer_value(v);
        } else if (!strcmp(k, "speed")) {
            double s = json_is_number(v) ? json_number_value(v) : -1;
            if (!(s > 0 && s <= MAX_SPEED))
                return okt_err_set(err, OKT_EINVAL,
                                   "'speed' must be a number > 0 (at most "
                                   "%g)", MAX_SPEED);
            r->speed = s;
        } else {
            char name[28];
            size_t i = 0;
            for (; k[i] && i < sizeof name - 1; i++)   /* printable only */
                name[i] = k[i] > 0x20 && k[i] < 0x7f ? k[i] : '?';
            name[i] = '\0';
            return okt_err_set(err, OKT_EINVAL, "unknown key '%s'%s (known: "
                               "host, port, speed)", name, k[i] ? "..." : "");
        }
    }
    return 0;
}

okt_replay *okt_replay_new(const char *text, size_t len, const json_t *opts,
                           okt_err *err)
{
    if (!text)
        len = 0;
    if (len > OKT_MAX_RECORD_BYTES) {
        okt_err_set(err, OKT_EINVAL, "replay: the recording is larger than "
                    "%u bytes", OKT_MAX_RECORD_BYTES);
        return NULL;
    }
    okt_replay *r = calloc(1, sizeof *r);
    if (!r) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    r->lfd = r->wfd = -1;
    r->port = -1;
    r->deadline = r->base = -1;
    okt_ws_cfg_init(&r->wscfg);
    pthread_mutex_init(&r->mu, NULL);
    if (!(r->host = strdup("127.0.0.1"))) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    if (parse_opts(r, opts, err) || load(r, text ? text : "", len, err))
        goto fail;
    return r;
fail:
    okt_replay_free(r);
    return NULL;
}

/* ---- serving ---------------------------------------------------------- */

static void send_msg(okt_replay *r, const char *name, const json_t *obj)
{
    size_t len;
    char *t = okt_msg_build(name, obj, &len, NULL);
    if (t)
        okt_ws_send(r->ws, t, len, NULL);
    free(t);
}

/* The reply name of method: the table's, else <method>result. */
static const char *reply_name(const char *method, char *buf, size_t n)
{
    const okt_wire_method *w = okt_proto_wire(method);
    if (w && w->reply)
        return w->reply;
    snprintf(buf, n, "%.100s%s", method, OKT_REPLY_SUFFIX);
    return buf;
}

/* {result, errormsg?, qid} named after method. */
static void answer(okt_replay *r, const char *method, const json_t *qid,
                   int result, const char *errormsg, const char *userlogin)
{
    char nb[128];
    json_t *o = json_pack("{s:i}", OKT_F_RESULT, result);
    if (o && errormsg)
        json_object_set_new(o, OKT_F_ERRORMSG, json_string(errormsg));
    if (o && userlogin)
        json_object_set_new(o, OKT_F_USERLOGIN, json_string(userlogin));
    if (o && qid)
        json_object_set(o, OKT_F_QID, (json_t *)qid);
    if (o)
        send_msg(r, reply_name(method, nb, sizeof nb), o);
    json_decref(o);
}

/* The next event can go now as far as order goes: a client is there, not
 * closing, and every reply recorded ahead of it was served. */
static int event_ready(const okt_replay *r)
{
    return r->ws && !r->closing && r->next_ev < r->nevs &&
           r->prefix >= r->evs[r->next_ev].need;
}

static void send_event(okt_replay *r)
{
    const revent *e = &r->evs[r->next_ev];
    okt_ws_send(r->ws, e->text, e->len, NULL);
    r->next_ev++;
}

/* Order wins over timing: the events recorded before `line` (a reply
 * about to go out) reach the client first, as they did when recorded,
 * however fast the client goes. */
static void flush_before(okt_replay *r, size_t line)
{
    while (event_ready(r) && r->evs[r->next_ev].line < line)
        send_event(r);
}

static void mark_served(okt_replay *r, rreq *q)
{
    q->served = 1;
    if (!q->ping)
        r->served_reqs++;
    if (q->ord >= 0) {
        r->ord_served[q->ord] = 1;
        while (r->prefix < r->nord && r->ord_served[r->prefix])
            r->prefix++;
    }
}

static void note_refused(okt_replay *r, const char *method)
{
    r->unexpected++;
    if (r->nrefused < LIST_MAX)
        r->refused[r->nrefused] = strdup(method);   /* NULL: listed no more */
    if (r->nrefused < LIST_MAX && r->refused[r->nrefused])
        r->nrefused++;
}

/* One whole message from the client (under mu). */
static void handle(okt_replay *r, const char *text, size_t len, int64_t now)
{
    json_t *root = NULL, *obj = NULL;
    const char *name = NULL;
    okt_err perr;
    /* the same bounds as the emulator's: a request is small */
    if (okt_msg_scan(text, len, OKT_MAX_JSON_DEPTH, OKT_EMU_JSON_ITEMS,
                     OKT_EMU_JSON_TOKEN, OKT_EMU_JSON_TEXT, &perr) != 0 ||
        okt_msg_parse(text, len, &root, &name, &obj, &perr) != 0) {
        char msg[OKT_ERRMSG_MAX + 16];
        snprintf(msg, sizeof msg, "Bad request: %s", perr.msg);
        json_t *o = json_pack("{s:i, s:s}", OKT_F_RESULT, 0, OKT_F_ERRORMSG,
                              msg);
        if (o)
            send_msg(r, OKT_MSG_ERROR, o);
        json_decref(o);
        return;
    }
    const json_t *qid = json_object_get(obj, OKT_F_QID);
    int login = !strcasecmp(name, OKT_W_LOGIN);
    const char *user = json_string_value(json_object_get(obj,
                                                         OKT_F_USERLOGIN));
    char *lname = lower_dup(name);
    mqueue *m = lname ? find_queue(r, lname) : NULL;
    free(lname);
    if (login && (!user || strcasecmp(user, r->login))) {
        /* only the recorded user: whatever the password, which the
         * recording does not hold */
        answer(r, name, qid, 0, OKT_SE_WRONG_LOGIN, NULL);
    } else if (m && m->next < m->n) {
        rreq *q = &r->reqs[m->idx[m->next++]];
        mark_served(r, q);
        if (!q->ping)   /* keepalives come when they will */
            flush_before(r, q->line);
        if (q->reply_name) {
            if (qid)
                json_object_set(q->reply, OKT_F_QID, (json_t *)qid);
            else
                json_object_del(q->reply, OKT_F_QID);
            send_msg(r, q->reply_name, q->reply);
            if (login && !okt_msg_failed(q->reply))
                r->logged = 1;
        }
    } else if (!strcasecmp(name, OKT_W_PING)) {
        answer(r, name, qid, 1, NULL, NULL);   /* a keepalive: as a server */
    } else if (login) {
        answer(r, name, qid, 1, NULL, user);   /* no login was recorded */
        r->logged = 1;
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "replay: no recorded answer for %.100s",
                 name);
        note_refused(r, name);
        answer(r, name, qid, 0, msg, NULL);
    }
    if (login && r->logged && r->base < 0)
        r->base = now;
    if (!strcasecmp(name, OKT_W_LOGOUT)) {
        /* as a server: the session ends with the logout */
        okt_ws_close(r->ws, 1000, OKT_W_LOGOUT);
        r->closing = 1;
        r->logged = 0;
        r->deadline = now + CLOSE_GRACE_MS;
    }
    json_decref(root);
}

/* When the next event is due by its recorded offset (absolute ms), -1
 * when none can go: none left, no client logged in, or replies recorded
 * ahead of it not served yet. */
static int64_t event_due(const okt_replay *r)
{
    if (!event_ready(r) || !r->logged || r->base < 0)
        return -1;
    return r->base + (int64_t)((double)r->evs[r->next_ev].at_ms / r->speed);
}

static void send_events(okt_replay *r, int64_t now)
{
    int64_t d;
    while ((d = event_due(r)) >= 0 && d <= now)
        send_event(r);
}

static void drop_client(okt_replay *r)
{
    okt_ws_free(r->ws);
    r->ws = NULL;
    r->logged = r->closing = 0;
    r->deadline = -1;
}

static void accept_one(okt_replay *r, int64_t now)
{
    int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (r->ws) {
        close(fd);   /* one client at a time: the transcript is one session */
        return;
    }
    r->ws = okt_ws_accept(fd, &r->wscfg, NULL);   /* closes fd on failure */
    if (r->ws)
        r->deadline = now + HANDSHAKE_MS;
}

/* One turn of the client: I/O as revents allow, its messages, the events
 * due, then one flush. */
static void serve(okt_replay *r, short revents, int64_t now)
{
    int rv = 0;
    if (revents & (POLLIN | POLLHUP | POLLERR))
        rv |= OKT_WANT_READ;
    if (revents & (POLLOUT | POLLHUP | POLLERR))
        rv |= OKT_WANT_WRITE;
    int over = okt_ws_step(r->ws, rv, NULL) != 0;
    if (!r->closing && r->deadline >= 0 &&
        okt_ws_state(r->ws) == OKT_WS_OPEN)
        r->deadline = -1;   /* upgraded in time */
    const char *d;
    size_t n;
    pthread_mutex_lock(&r->mu);
    /* what came before the peer's close counts as served too (a client's
     * close sends its logout and goes); events due go out between the
     * replies, where they were recorded, not after the whole batch (which
     * may end with a logout) */
    while (okt_ws_recv(r->ws, &d, &n)) {
        if (r->closing)
            continue;   /* after logout: read on, answer nothing */
        handle(r, d, n, now);
        if (!over)
            send_events(r, now);
    }
    if (!over)
        send_events(r, now);
    pthread_mutex_unlock(&r->mu);
    if (over || okt_ws_step(r->ws, OKT_WANT_WRITE, NULL) != 0 ||
        okt_ws_out_queued(r->ws) > OKT_MAX_WS_OUT ||
        (r->deadline >= 0 && now >= r->deadline))
        drop_client(r);
}

static int stopping(okt_replay *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stop;
    pthread_mutex_unlock(&r->mu);
    return s;
}

static void *thread_main(void *arg)
{
    okt_replay *r = arg;
    while (!stopping(r)) {
        int64_t now = okt_now_ms();
        int timeout = IDLE_MS;
        int64_t due = event_due(r);
        if (due >= 0)
            timeout = due <= now ? 0 : (int)(due - now < IDLE_MS ? due - now
                                                                : IDLE_MS);
        if (r->ws && okt_ws_pending(r->ws))
            timeout = 0;
        struct pollfd p[3] = {{.fd = r->lfd, .events = POLLIN},
                              {.fd = r->wfd, .events = POLLIN},
                              {.fd = -1}};
        if (r->ws && okt_ws_fd(r->ws) >= 0) {
            int w = okt_ws_events(r->ws);
            p[2].fd = okt_ws_fd(r->ws);
            p[2].events = (short)(((w & OKT_WANT_READ) ? POLLIN : 0) |
                                  ((w & OKT_WANT_WRITE) ? POLLOUT : 0));
        }
        if (poll(p, 3, timeout) < 0 && errno != EINTR)
            break;
        now = okt_now_ms();
        if (p[1].revents) {
            uint64_t v;
            if (read(r->wfd, &v, sizeof v) < 0) {
                /* EAGAIN: a wake already consumed; stop is checked anyway */
            }
        }
        if (r->ws)
            serve(r, p[2].fd >= 0 ? p[2].revents : 0, now);
        if (p[0].revents & POLLIN)
            accept_one(r, now);
    }
    drop_client(r);
    return NULL;
}

/* ---- start / stop / status -------------------------------------------- */

static int listen_on(okt_replay *r, okt_err *err)
{
    int gai, eno;
    r->lfd = okt_listen_tcp(r->host, r->cfg_port, 16, &r->port, &gai,
                            &eno);
    if (gai != 0)
        return okt_err_set(err, OKT_EINVAL, "host %s: %s", r->host,
                           gai_strerror(gai));
    if (r->lfd < 0)
        return okt_err_set(err, OKT_EREFUSED, "listen on %s:%d: %s", r->host,
                           r->cfg_port, strerror(eno));
    return 0;
}

int okt_replay_start(okt_replay *r, okt_err *err)
{
    if (!r)
        return okt_err_set(err, OKT_EINVAL, "replay expected");
    if (r->running || r->lfd >= 0)
        return okt_err_set(err, OKT_EINVAL, "replay already started");
    if (listen_on(r, err))
        return -1;
    r->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->wfd < 0)
        return okt_err_set(err, OKT_ENOMEM, "eventfd: %s", strerror(errno));
    /* the thread takes no signals: the host process keeps its handlers */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&r->th, NULL, thread_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return okt_err_set(err, OKT_ENOMEM, "pthread_create: %s",
                           strerror(rc));
    r->running = 1;
    return 0;
}

int okt_replay_port(const okt_replay *r)
{
    return r ? r->port : -1;
}

json_t *okt_replay_status(okt_replay *r)
{
    if (!r)
        return NULL;
    json_t *left = json_array(), *refused = json_array();
    pthread_mutex_lock(&r->mu);
    while (r->scan_from < r->nreqs &&
           (r->reqs[r->scan_from].served || r->reqs[r->scan_from].ping))
        r->scan_from++;
    for (size_t i = r->scan_from, n = 0; left && i < r->nreqs && n < LIST_MAX;
         i++)
        if (!r->reqs[i].served && !r->reqs[i].ping) {
            json_array_append_new(left, json_string(r->reqs[i].method));
            n++;
        }
    for (size_t i = 0; refused && i < r->nrefused; i++)
        json_array_append_new(refused, json_string(r->refused[i]));
    int done = r->served_reqs == r->total_reqs && r->next_ev == r->nevs;
    json_t *o = left && refused
                    ? json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:O, s:O}",
                                "done", done,
                                "requests", (json_int_t)r->total_reqs,
                                "requests_served", (json_int_t)r->served_reqs,
                                "events", (json_int_t)r->nevs,
                                "events_sent", (json_int_t)r->next_ev,
                                "unexpected", (json_int_t)r->unexpected,
                                "left", left, "refused", refused)
                    : NULL;
    pthread_mutex_unlock(&r->mu);
    json_decref(left);
    json_decref(refused);
    return o;
}

void okt_replay_stop(okt_replay *r)
{
    if (!r || !r->running)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_mutex_unlock(&r->mu);
    uint64_t one = 1;
    if (write(r->wfd, &one, sizeof one) < 0) {
        /* a saturated counter: the thread wakes anyway */
    }
    pthread_join(r->th, NULL);
    r->running = 0;
}

void okt_replay_free(okt_replay *r)
{
    if (!r)
        return;
    okt_replay_stop(r);
    drop_client(r);
    for (size_t i = 0; i < r->nreqs; i++) {
        free(r->reqs[i].method);
        free(r->reqs[i].reply_name);
        json_decref(r->reqs[i].reply);
    }
    free(r->reqs);
    for (size_t i = 0; i < r->nevs; i++)
        free(r->evs[i].text);
    free(r->evs);
    for (size_t i = 0; i < r->nmq; i++) {
        free(r->mq[i].method);
        free(r->mq[i].idx);
    }
    for (size_t i = 0; i < r->nrefused; i++)
        free(r->refused[i]);
    free(r->ord_served);
    free(r->login);
    free(r->host);
    if (r->lfd >= 0)
        close(r->lfd);
    if (r->wfd >= 0)
        close(r->wfd);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
