/* wire.c - the sans-IO client connection: a memory-mode okt_ws carrying an
 * okt_session, for hosts that own the socket (wire.h).
 *
 * okt_conn's logic without its socket: session output is queued into the
 * ws as it appears, received messages go to the session as soon as a feed
 * completes them, and the session's state decides what happens to the ws
 * (a close frame when the session ends, nothing after a redirect). The
 * host is told what to do through okt_wire_deadline (0: act now) and
 * okt_wire_output; nothing here reads a clock. */
#include "wire.h"
#include "conn.h"   /* okt_conn_redirect_url: one rule for the redirect */
#include "protocol.h"

#include <stdlib.h>
#include <string.h>

struct okt_wire {
    okt_session *s;
    okt_ws *ws;           /* NULL once the transport is gone */
    int ws_over;          /* the ws has ended (ws_err says why) ... */
    int told;             /* ... and the session was told */
    okt_err ws_err;
    okt_ws_cfg wscfg;     /* limits; the subprotocol string owned below */
    char *subprotocol;
    char *url;            /* the URL of the current connection */
    char *redirect_url;   /* computed once the session asks for it */
};

void okt_wire_cfg_init(okt_wire_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    okt_session_cfg_init(&cfg->session);
    okt_ws_cfg_init(&cfg->ws);
}

/* Move queued session output into the ws (framed by okt_ws_output). */
static void move_out(okt_wire *w)
{
    const char *m;
    size_t len;
    while (w->ws && !w->ws_over && okt_session_output(w->s, &m, &len)) {
        okt_err e;
        if (okt_ws_send(w->ws, m, len, &e) != 0)
            break;   /* the ws is ending; its status says why */
        okt_session_consume_output(w->s);
    }
}

/* Received messages to the session, in order; stop where the session no
 * longer takes them. */
static void take_in(okt_wire *w, int64_t now)
{
    const char *m;
    size_t len;
    while (w->ws && okt_ws_recv(w->ws, &m, &len)) {
        okt_session_feed(w->s, m, len, now);
        int st = okt_session_state(w->s);
        if (st == OKT_S_REDIRECT || st == OKT_S_CLOSED)
            break;
    }
}

static void drop_ws(okt_wire *w)
{
    okt_ws_free(w->ws);
    w->ws = NULL;
}

/* A transport failure as the session hears it: before the server answered
 * the handshake the URL is "refused" (or "timeout"), as okt_conn says. */
static void tell_session(okt_wire *w, const okt_err *why, int64_t now)
{
    int st = okt_session_state(w->s);
    if (st == OKT_S_CLOSED)
        return;
    okt_err e;
    if (why && why->code != OKT_EOK)
        e = *why;
    else
        okt_err_set(&e, OKT_ECLOSED, "connection closed");
    if (st == OKT_S_HANDSHAKE && e.code != OKT_ETIMEOUT) {
        okt_err r;
        okt_err_set(&r, OKT_EREFUSED, "%s: %s", w->url, e.msg);
        e = r;
    }
    okt_session_transport_closed(w->s, &e, now);
}

/* Has the ws ended since we last looked? (No clock needed: output and
 * consume notice it too, the next feed or tick tells the session.) */
static void check_ws(okt_wire *w)
{
    if (w->ws && !w->ws_over && okt_ws_feed(w->ws, NULL, 0, &w->ws_err) != 0)
        w->ws_over = 1;
}

/* Tell the session once; messages that arrived before the end count. */
static void tell_end(okt_wire *w, int64_t now)
{
    if (!w->ws_over || w->told)
        return;
    w->told = 1;
    take_in(w, now);
    if (okt_session_state(w->s) != OKT_S_REDIRECT)
        tell_session(w, &w->ws_err, now);
}

/* React to the session's state after input or timers. */
static void follow(okt_wire *w)
{
    int st = okt_session_state(w->s);
    if (st == OKT_S_REDIRECT) {
        drop_ws(w);   /* this server is done with us: no goodbye */
        if (!w->redirect_url)   /* NULL on OOM: okt_wire_reopen says so */
            w->redirect_url = okt_conn_redirect_url(w->url);
    } else if (st == OKT_S_CLOSED && w->ws && !w->ws_over) {
        /* Polite end: what is queued (a logout), then a close frame. */
        move_out(w);
        okt_ws_close(w->ws, 1000, NULL);
    }
}

/* Free a ws that has nothing more to give (and whose end the session
 * knows: its last messages are taken then). */
static void settle(okt_wire *w)
{
    check_ws(w);
    if (w->ws && (w->told || !w->ws_over) &&
        okt_ws_state(w->ws) == OKT_WS_CLOSED)
        drop_ws(w);
}

static int dupstr(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

/* A fresh ws for url; the session's handshake (or login) queued into it. */
static int open_ws(okt_wire *w, const char *url, int64_t now, okt_err *err)
{
    char *u = strdup(url);
    if (!u)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    okt_ws *ws = okt_ws_client_mem(url, &w->wscfg, err);
    if (!ws) {
        free(u);
        return -1;
    }
    drop_ws(w);
    w->ws = ws;
    w->ws_over = w->told = 0;
    free(w->url);
    w->url = u;
    free(w->redirect_url);   /* url may have been it: copied above */
    w->redirect_url = NULL;
    if (okt_session_open(w->s, now) != 0)
        return okt_err_set(err, OKT_EINVAL, "the session cannot be reopened");
    move_out(w);
    return 0;
}

okt_wire *okt_wire_new(const okt_wire_cfg *cfg, int64_t now, okt_err *err)
{
    if (!cfg || !cfg->url) {
        okt_err_set(err, OKT_EINVAL, "wire: no URL given");
        return NULL;
    }
    if (okt_ws_check_url(cfg->url, err) != 0)   /* as okt_conn */
        return NULL;
    okt_wire *w = calloc(1, sizeof *w);
    if (!w) {
        okt_err_set(err, OKT_ENOMEM, "wire: out of memory");
        return NULL;
    }
    w->wscfg = cfg->ws;
    w->wscfg.cafile = w->wscfg.certfile = w->wscfg.keyfile = NULL;
    if (dupstr(&w->subprotocol, cfg->ws.subprotocol)) {
        okt_wire_free(w);
        okt_err_set(err, OKT_ENOMEM, "wire: out of memory");
        return NULL;
    }
    w->wscfg.subprotocol = w->subprotocol;
    w->s = okt_session_new(&cfg->session, err);
    if (!w->s || open_ws(w, cfg->url, now, err) != 0) {
        okt_wire_free(w);
        return NULL;
    }
    return w;
}

void okt_wire_free(okt_wire *w)
{
    if (!w)
        return;
    okt_ws_free(w->ws);
    okt_session_free(w->s);
    free(w->subprotocol);
    free(w->url);
    free(w->redirect_url);
    free(w);
}

int okt_wire_feed(okt_wire *w, const char *bytes, size_t n, int64_t now,
                  okt_err *err)
{
    if (!w)
        return okt_err_set(err, OKT_EINVAL, "wire is NULL");
    if (!bytes && n)
        return okt_err_set(err, OKT_EINVAL, "bytes is NULL");
    if (!w->ws || w->ws_over)
        return 0;   /* no transport to read for: the bytes are late */
    okt_err e;
    if (okt_ws_feed(w->ws, bytes, n, &e) != 0 && e.code == OKT_EINVAL) {
        /* Cannot happen (take_in empties the queue after every feed);
         * were it to, the stream would be lost: end the connection. */
        w->ws_over = 1;
        w->ws_err = e;
    }
    take_in(w, now);
    check_ws(w);
    tell_end(w, now);
    follow(w);
    move_out(w);
    return 0;
}

int okt_wire_output(okt_wire *w, const char **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    if (!w || !w->ws)
        return 0;
    move_out(w);
    int have = okt_ws_output(w->ws, p, n);
    if (have)
        check_ws(w);   /* framing can end it: the deadline says so */
    else
        settle(w);
    return have;
}

void okt_wire_consume(okt_wire *w, size_t n)
{
    if (!w || !w->ws)
        return;
    okt_ws_consume(w->ws, n);
    settle(w);
}

int64_t okt_wire_deadline(const okt_wire *w)
{
    if (!w)
        return -1;
    const char *m;
    size_t len;
    if (okt_session_pending_events(w->s) ||
        okt_session_state(w->s) == OKT_S_REDIRECT ||
        (w->ws_over && !w->told) ||
        (w->ws && !w->ws_over && okt_session_output(w->s, &m, &len)) ||
        (w->ws && (okt_ws_events(w->ws) & OKT_WANT_WRITE)))
        return 0;   /* "earlier than now": act without waiting */
    return okt_session_deadline(w->s);
}

void okt_wire_tick(okt_wire *w, int64_t now)
{
    if (!w)
        return;
    check_ws(w);
    tell_end(w, now);
    okt_session_tick(w->s, now);
    follow(w);
    move_out(w);
}

int okt_wire_state(const okt_wire *w)
{
    return w ? okt_session_state(w->s) : OKT_S_CLOSED;
}

int64_t okt_wire_request(okt_wire *w, const char *method, json_t *params,
                         int timeout_ms, int64_t now, okt_err *err)
{
    if (!w) {
        json_decref(params);
        return okt_err_set(err, OKT_EINVAL, "wire is NULL");
    }
    int64_t id = okt_session_request(w->s, method, params, timeout_ms, now,
                                     err);
    if (id > 0)
        move_out(w);
    return id;
}

int okt_wire_next_event(okt_wire *w, okt_event *ev)
{
    return w ? okt_session_next_event(w->s, ev) : 0;
}

void okt_wire_transport_closed(okt_wire *w, const okt_err *why, int64_t now)
{
    if (!w)
        return;
    take_in(w, now);   /* what the ws completed before still counts */
    drop_ws(w);        /* nothing more can go out */
    w->ws_over = w->told = 1;
    tell_session(w, why, now);
}

void okt_wire_close(okt_wire *w, int64_t now)
{
    if (!w)
        return;
    if (okt_session_state(w->s) == OKT_S_READY) {
        okt_err e;
        okt_session_send(w->s, OKT_W_LOGOUT, NULL, &e);
    }
    move_out(w);
    if (okt_session_state(w->s) != OKT_S_CLOSED) {
        okt_err why;
        okt_err_set(&why, OKT_ECLOSED, "connection closed by the client");
        okt_session_transport_closed(w->s, &why, now);
    }
    follow(w);
}

const char *okt_wire_redirect_url(const okt_wire *w)
{
    if (!w || okt_session_state(w->s) != OKT_S_REDIRECT)
        return NULL;
    return w->redirect_url;
}

int okt_wire_reopen(okt_wire *w, const char *url, int64_t now, okt_err *err)
{
    if (!w)
        return okt_err_set(err, OKT_EINVAL, "wire is NULL");
    int st = okt_session_state(w->s);
    if (st != OKT_S_REDIRECT && st != OKT_S_HANDSHAKE)
        return okt_err_set(err, OKT_EINVAL,
                           "reopen: only after a redirect or in the handshake");
    if (!url)
        url = okt_wire_redirect_url(w);
    if (!url)
        return okt_err_set(err, st == OKT_S_REDIRECT ? OKT_ENOMEM : OKT_EINVAL,
                           "reopen: no URL");
    if (okt_ws_check_url(url, err) != 0)
        return -1;
    return open_ws(w, url, now, err);
}

int okt_wire_next_trace(okt_wire *w, int *dir, char **text)
{
    return w ? okt_session_next_trace(w->s, dir, text) : 0;
}

size_t okt_wire_trace_dropped(const okt_wire *w)
{
    return w ? okt_session_trace_dropped(w->s) : 0;
}

okt_trace *okt_wire_take_trace(okt_wire *w)
{
    return w ? okt_session_take_trace(w->s) : NULL;
}

int okt_wire_set_trace(okt_wire *w, int on, okt_err *err)
{
    if (!w)
        return okt_err_set(err, OKT_EINVAL, "wire expected");
    return okt_session_set_trace(w->s, on, err);
}
