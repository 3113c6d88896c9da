/* conn.c - the pollable client connection: okt_ws carrying okt_session.
 *
 * URLs are tried one after another (oktell.js races them; one at a time
 * keeps a single fd for the caller to poll). A URL fails over to the next
 * while the handshake ping is unanswered: connect errors, TLS or upgrade
 * failures, a drop, or no answer within open_ms. Once a server answered,
 * the connection is committed to it: later failures end the session. */
#include "conn.h"
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URLS 10
/* Bounded work per step, so that deadlines are checked every step however
 * fast a server sends: at most this many messages go from the ws to the
 * session, and none while the session holds this many events not taken
 * (the rest waits in the ws, which stops reading past its bound). */
#define FEED_PER_STEP 64
/* How long a connection is idle before its ws frees its wslay context
 * (okt_ws_park_later): long enough that one in use keeps it between
 * messages, short enough that a burst of new clients does not hold many.
 * The turn that parks falls on a multiple of PARK_TICK_MS, so thousands of
 * clients share a few such turns instead of waking the loop each. */
#define PARK_AFTER_MS 100
#define PARK_TICK_MS 128

struct okt_conn {
    char *urls[MAX_URLS];
    size_t nurls;
    size_t cur;              /* URL being tried */
    char *redirect_url;      /* the wss:// URL of a redirect, once used */
    okt_ws_cfg wscfg;
    char *cafile, *certfile, *keyfile, *subprotocol;
    int open_ms;
    size_t max_memory;
    okt_session *s;
    okt_ws *ws;
    int64_t attempt_deadline;   /* -1 unless a URL is on trial */
    int64_t active_at;          /* the last step with I/O or a request:
                                   an idle ws is parked PARK_AFTER_MS on */
    int64_t fed_at;             /* the clock of the last step: messages
                                   fed later (okt_conn_next_event) arrived
                                   by then */
    okt_err *last;              /* why the last URL failed (allocated on
                                   a failure: most connections have none) */
};

void okt_conn_cfg_init(okt_conn_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    okt_session_cfg_init(&cfg->session);
    okt_ws_cfg_init(&cfg->ws);
}

static int dupstr(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

/* Fact sheet §1.3: ws:// becomes wss://, and the port becomes 443. */
char *okt_conn_redirect_url(const char *url)
{
    const char *rest = url;
    if (!strncasecmp(url, "ws://", 5))   /* as okt_ws_check_url takes it */
        rest = url + 5;
    else if (!strncasecmp(url, "wss://", 6))
        rest = url + 6;
    size_t hl;                       /* host length, [v6] included */
    if (rest[0] == '[') {
        const char *e = strchr(rest, ']');
        hl = e ? (size_t)(e - rest) + 1 : strlen(rest);
    } else {
        hl = strcspn(rest, ":/?#");
    }
    const char *after = rest + hl;
    if (*after == ':') {             /* drop the port */
        after++;
        while (*after >= '0' && *after <= '9')
            after++;
    }
    size_t n = 6 + hl + 4 + strlen(after) + 1;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "wss://%.*s:443%s", (int)hl, rest, after);
    return r;
}

/* Can the ws take more of our own output? Up to half its max_out: over
 * max_out the ws fails (a server that does not read the pongs it makes
 * us queue), so our own requests alone must never get it there; the rest
 * waits in the session. One message always goes to an empty ws. */
static int ws_takes(const okt_conn *c)
{
    size_t q = okt_ws_out_queued(c->ws);
    return q == 0 || q < c->wscfg.max_out / 2;
}

/* Move queued session output into the ws (buffers only, no syscall).
 * Returns 1 when something was queued. */
static int move_out(okt_conn *c)
{
    const char *m;
    size_t len;
    int moved = 0;
    while (c->ws && ws_takes(c) && okt_session_output(c->s, &m, &len)) {
        okt_err e;
        if (okt_ws_send(c->ws, m, len, &e) != 0)
            break;   /* the ws is ending; its step reports why */
        okt_session_consume_output(c->s);
        moved = 1;
    }
    return moved;
}

static void drop_ws(okt_conn *c)
{
    okt_ws_free(c->ws);
    c->ws = NULL;
    c->attempt_deadline = -1;
}

/* Keep why the current URL failed (out of memory: "failed" is said). */
static void url_failed(okt_conn *c, const okt_err *e)
{
    if (!c->last && !(c->last = malloc(sizeof *c->last)))
        return;
    okt_err_set(c->last, e->code, "%s: %s", c->urls[c->cur], e->msg);
}

/* Start trying URLs from index `from`; when none connects, the session
 * ends with OKT_EREFUSED. */
static void try_urls(okt_conn *c, size_t from, int64_t now)
{
    drop_ws(c);
    for (c->cur = from; c->cur < c->nurls; c->cur++) {
        okt_err e;
        c->ws = okt_ws_connect(c->urls[c->cur], &c->wscfg, &e);
        okt_ws_park_later(c->ws, 1);
        if (!c->ws) {
            url_failed(c, &e);
            continue;
        }
        if (okt_session_open(c->s, now) != 0) {
            drop_ws(c);
            return;
        }
        c->attempt_deadline = now + c->open_ms;
        c->active_at = now;
        move_out(c);
        return;
    }
    okt_err why;
    /* A server that took the connection but never answered is "timeout"
     * (API §0); anything else that kept us from a session is "refused". */
    const char *last = c->last && c->last->msg[0] ? c->last->msg : "failed";
    int code = c->last && c->last->code == OKT_ETIMEOUT ? OKT_ETIMEOUT
                                                        : OKT_EREFUSED;
    if (c->nurls == 1)
        okt_err_set(&why, code, "%s", last);
    else
        okt_err_set(&why, code, "all %zu URLs failed; last: %s", c->nurls,
                    last);
    okt_session_transport_closed(c->s, &why, now);
}

static void attempt_failed(okt_conn *c, const okt_err *e, int64_t now)
{
    url_failed(c, e);
    try_urls(c, c->cur + 1, now);
}

/* React to the session's state after input or timers. */
static void follow_session(okt_conn *c, int64_t now)
{
    int st = okt_session_state(c->s);
    if (st == OKT_S_REDIRECT) {
        drop_ws(c);
        free(c->redirect_url);
        c->redirect_url = okt_conn_redirect_url(c->urls[c->cur]);
        okt_err e;
        if (!c->redirect_url) {
            okt_err_set(&e, OKT_ENOMEM, "out of memory");
            okt_session_transport_closed(c->s, &e, now);
            return;
        }
        c->ws = okt_ws_connect(c->redirect_url, &c->wscfg, &e);
        okt_ws_park_later(c->ws, 1);
        if (!c->ws) {
            okt_err why;
            okt_err_set(&why, e.code, "redirect to %s: %s", c->redirect_url,
                        e.msg);
            okt_session_transport_closed(c->s, &why, now);
            return;
        }
        okt_session_open(c->s, now);   /* straight to login */
        move_out(c);
    } else if (st == OKT_S_CLOSED && c->ws) {
        /* Polite end: flush what is queued (a logout) and a close frame;
         * what cannot go out at once is dropped with the socket. */
        okt_ws_close(c->ws, 1000, NULL);
        okt_ws_step(c->ws, OKT_WANT_WRITE, NULL);
        drop_ws(c);
    } else if (st != OKT_S_HANDSHAKE) {
        c->attempt_deadline = -1;   /* the server answered: committed */
    }
}

okt_conn *okt_conn_new(const okt_conn_cfg *cfg, int64_t now, okt_err *err)
{
    if (!cfg || !cfg->urls || cfg->nurls == 0) {
        okt_err_set(err, OKT_EINVAL, "connect: no URL given");
        return NULL;
    }
    /* every URL that will be tried: a bad one is the caller's mistake,
     * not a refusal to find out about later */
    for (size_t i = 0; i < cfg->nurls && i < MAX_URLS; i++)
        if (okt_ws_check_url(cfg->urls[i], err) != 0)
            return NULL;
    okt_conn *c = calloc(1, sizeof *c);
    if (!c) {
        okt_err_set(err, OKT_ENOMEM, "connect: out of memory");
        return NULL;
    }
    c->attempt_deadline = -1;
    /* at most the first 10, as oktell.js */
    c->nurls = cfg->nurls < MAX_URLS ? cfg->nurls : MAX_URLS;
    for (size_t i = 0; i < c->nurls; i++)
        if (dupstr(&c->urls[i], cfg->urls[i]))
            goto nomem;
    c->wscfg = cfg->ws;
    if (!c->wscfg.max_out)   /* ws_takes reads it */
        c->wscfg.max_out = OKT_MAX_WS_OUT;
    if (dupstr(&c->cafile, cfg->ws.cafile) ||
        dupstr(&c->certfile, cfg->ws.certfile) ||
        dupstr(&c->keyfile, cfg->ws.keyfile) ||
        dupstr(&c->subprotocol, cfg->ws.subprotocol))
        goto nomem;
    c->wscfg.cafile = c->cafile;
    c->wscfg.certfile = c->certfile;
    c->wscfg.keyfile = c->keyfile;
    c->wscfg.subprotocol = c->subprotocol;
    c->open_ms = cfg->session.open_ms > 0 ? cfg->session.open_ms
                                          : OKT_DEFAULT_OPEN_MS;
    c->max_memory = cfg->max_memory ? cfg->max_memory
                                    : OKT_CLIENT_MAX_MEMORY;
    c->s = okt_session_new(&cfg->session, err);
    if (!c->s) {
        okt_conn_free(c);
        return NULL;
    }
    try_urls(c, 0, now);
    return c;
nomem:
    okt_conn_free(c);
    okt_err_set(err, OKT_ENOMEM, "connect: out of memory");
    return NULL;
}

void okt_conn_free(okt_conn *c)
{
    if (!c)
        return;
    okt_ws_free(c->ws);
    okt_session_free(c->s);
    for (size_t i = 0; i < MAX_URLS; i++)
        free(c->urls[i]);
    free(c->redirect_url);
    free(c->last);
    free(c->cafile);
    free(c->certfile);
    free(c->keyfile);
    free(c->subprotocol);
    free(c);
}

int okt_conn_fd(const okt_conn *c)
{
    return c && c->ws ? okt_ws_fd(c->ws) : -1;
}

int okt_conn_events(const okt_conn *c)
{
    return c && c->ws ? okt_ws_events(c->ws) : 0;
}

int64_t okt_conn_deadline(const okt_conn *c)
{
    if (!c)
        return -1;
    const char *m;
    size_t len;
    if (okt_session_pending_events(c->s) ||
        (c->ws && okt_ws_pending(c->ws)) ||
        (c->ws && ws_takes(c) && okt_session_output(c->s, &m, &len)))
        return 0;   /* work is ready without waiting: "earlier than now" */
    int64_t d = okt_session_deadline(c->s);
    if (c->ws && c->attempt_deadline >= 0 &&
        (d < 0 || c->attempt_deadline < d))
        d = c->attempt_deadline;
    if (okt_ws_holds_ctx(c->ws)) {
        /* the turn that parks an idle ws's context */
        int64_t p = (c->active_at + PARK_AFTER_MS) / PARK_TICK_MS *
                        PARK_TICK_MS + PARK_TICK_MS;
        if (d < 0 || p < d)
            d = p;
    }
    return d;
}

size_t okt_conn_mem(const okt_conn *c)
{
    return c ? sizeof *c + okt_ws_mem(c->ws) + okt_session_mem(c->s) : 0;
}

int okt_conn_state(const okt_conn *c)
{
    return c ? okt_session_state(c->s) : OKT_S_CLOSED;
}

int okt_conn_step(okt_conn *c, int revents, int64_t now, okt_err *err)
{
    if (!c)
        return okt_err_set(err, OKT_EINVAL, "conn is NULL");
    if (c->ws) {
        move_out(c);
        /* activity is bytes moved, not readiness asked for: a caller that
         * always passes both bits (conn:step) still goes idle */
        okt_ws_stats before;
        okt_ws_get_stats(c->ws, &before);
        okt_err e;
        int rc = okt_ws_step(c->ws, revents, &e);
        if (c->ws) {
            okt_ws_stats after;
            okt_ws_get_stats(c->ws, &after);
            if (after.bytes_in != before.bytes_in ||
                after.bytes_out != before.bytes_out)
                c->active_at = now;
        }
        const char *m;
        size_t len;
        /* messages that arrived before a failure still count: then all
         * are fed, since the ws goes with them */
        /* Until an event is queued: the rest are parsed one at a time as
         * okt_conn_next_event takes them (feed_one), so one JSON tree is
         * alive at a time and the allocator reuses its blocks at once. */
        c->fed_at = now;
        int was = okt_session_state(c->s);
        for (int n = 0; c->ws && (rc != 0 || (n < FEED_PER_STEP &&
                                  okt_session_pending_events(c->s) == 0)) &&
                        okt_ws_recv(c->ws, &m, &len);
             n++) {
            okt_session_feed(c->s, m, len, now);
            if (okt_session_state(c->s) == OKT_S_REDIRECT ||
                okt_session_state(c->s) == OKT_S_CLOSED)
                break;
        }
        int st = okt_session_state(c->s);
        /* just logged in: quiet from here unless the caller speaks, so the
         * context goes at this step's end (a thousand logins at once do
         * not hold a thousand contexts for PARK_AFTER_MS) */
        if (was != OKT_S_READY && st == OKT_S_READY)
            c->active_at = now - PARK_AFTER_MS;
        size_t held = okt_conn_mem(c);
        if (rc == 0 && c->ws && held > c->max_memory) {
            /* The server made us hold more than we allow (a frame counts
             * at the size it announces, messages piling up): end it here,
             * freeing all of it. */
            rc = -1;
            okt_err_set(&e, OKT_ECLOSED, "memory cap reached: the connection "
                        "holds %zu bytes, over max_memory (%zu bytes)", held,
                        c->max_memory);
        }
        if (rc != 0 && st == OKT_S_HANDSHAKE)
            attempt_failed(c, &e, now);
        else if (rc != 0 && st != OKT_S_REDIRECT && st != OKT_S_CLOSED) {
            drop_ws(c);
            okt_session_transport_closed(c->s, &e, now);
        }
        follow_session(c, now);
    }
    if (c->ws && c->attempt_deadline >= 0 && now >= c->attempt_deadline &&
        okt_session_state(c->s) == OKT_S_HANDSHAKE) {
        okt_err e;
        okt_err_set(&e, OKT_ETIMEOUT, "no answer within %d ms", c->open_ms);
        attempt_failed(c, &e, now);
    }
    okt_session_tick(c->s, now);
    follow_session(c, now);
    if (c->ws && okt_ws_holds_ctx(c->ws) &&
        now - c->active_at >= PARK_AFTER_MS) {
        okt_ws_park(c->ws);
        c->active_at = now;   /* not idle after all (a frame half in):
                                 the next try is a while on, no spin */
    }
    /* what the session queued this turn goes out now, not next turn */
    if (c->ws && move_out(c)) {
        c->active_at = now;
        okt_err e;
        if (okt_ws_step(c->ws, OKT_WANT_WRITE, &e) != 0) {
            int st = okt_session_state(c->s);
            if (st == OKT_S_HANDSHAKE)
                attempt_failed(c, &e, now);
            else {
                drop_ws(c);
                okt_session_transport_closed(c->s, &e, now);
            }
            follow_session(c, now);
        }
    }
    return 0;
}

int64_t okt_conn_request(okt_conn *c, const char *method, json_t *params,
                         int timeout_ms, int64_t now, okt_err *err)
{
    return okt_conn_request_tag(c, method, params, timeout_ms, 0, now, err);
}

int64_t okt_conn_request_tag(okt_conn *c, const char *method, json_t *params,
                             int timeout_ms, int tag, int64_t now,
                             okt_err *err)
{
    if (!c) {
        json_decref(params);
        return okt_err_set(err, OKT_EINVAL, "conn is NULL");
    }
    int64_t id = okt_session_request_tag(c->s, method, params, timeout_ms,
                                         tag, now, err);
    if (id > 0) {
        move_out(c);
        c->active_at = now;
    }
    return id;
}

/* Feed the session the next message the ws holds (no I/O): 1 when one
 * was fed. A redirect or an end it brings is followed as okt_conn_step
 * does. */
static int feed_one(okt_conn *c)
{
    const char *m;
    size_t len;
    if (!c->ws || okt_session_state(c->s) == OKT_S_REDIRECT ||
        okt_session_state(c->s) == OKT_S_CLOSED || !okt_ws_recv(c->ws, &m, &len))
        return 0;
    okt_session_feed(c->s, m, len, c->fed_at);
    int st = okt_session_state(c->s);
    if (st == OKT_S_REDIRECT || st == OKT_S_CLOSED)
        follow_session(c, c->fed_at);
    return 1;
}

int okt_conn_next_event(okt_conn *c, okt_event *ev)
{
    if (!c)
        return 0;
    while (!okt_session_next_event(c->s, ev))
        if (!feed_one(c))
            return 0;
    return 1;
}

void okt_conn_close(okt_conn *c, int64_t now)
{
    if (!c)
        return;
    if (okt_session_state(c->s) == OKT_S_READY) {
        okt_err e;
        okt_session_send(c->s, OKT_W_LOGOUT, NULL, &e);
    }
    move_out(c);
    if (okt_session_state(c->s) != OKT_S_CLOSED) {
        okt_err why;
        okt_err_set(&why, OKT_ECLOSED, "connection closed by the client");
        okt_session_transport_closed(c->s, &why, now);
    }
    follow_session(c, now);
}

int okt_conn_next_trace(okt_conn *c, int *dir, char **text)
{
    return c ? okt_session_next_trace(c->s, dir, text) : 0;
}

size_t okt_conn_trace_dropped(const okt_conn *c)
{
    return c ? okt_session_trace_dropped(c->s) : 0;
}

okt_trace *okt_conn_take_trace(okt_conn *c)
{
    return c ? okt_session_take_trace(c->s) : NULL;
}

int okt_conn_set_trace(okt_conn *c, int on, okt_err *err)
{
    if (!c)
        return okt_err_set(err, OKT_EINVAL, "connection expected");
    return okt_session_set_trace(c->s, on, err);
}
