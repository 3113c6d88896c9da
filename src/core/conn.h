/* conn.h - the pollable client connection: an okt_ws transport driving an
 * okt_session (sans-IO) through a list of URLs, the websocketredirect hop
 * and the login. This is what the Lua binding wraps (src/lua/conn.c). */
#ifndef OKT_CONN_H
#define OKT_CONN_H

#include <jansson.h>
#include "okt.h"
#include "session.h"
#include "ws.h"

typedef struct okt_conn okt_conn;

typedef struct okt_conn_cfg {
    const char *const *urls; /* tried in turn; at most 10 */
    size_t nurls;
    okt_session_cfg session; /* login, password, timeouts */
    okt_ws_cfg ws;           /* TLS and size limits */
    size_t max_memory;       /* over this okt_conn_mem the connection ends
                                (OKT_ECLOSED); 0: OKT_CLIENT_MAX_MEMORY */
} okt_conn_cfg;

void okt_conn_cfg_init(okt_conn_cfg *cfg);

/* Starts connecting at once (non-blocking). */
okt_conn *okt_conn_new(const okt_conn_cfg *cfg, int64_t now, okt_err *err);
void okt_conn_free(okt_conn *c);         /* closes at once; NULL ok */

int okt_conn_fd(const okt_conn *c);      /* -1 when closed */
int okt_conn_events(const okt_conn *c);  /* OKT_WANT_* bits */
/* Absolute ms of the next deadline, `now` (or earlier) when events are
 * queued or data is buffered, -1 when none. */
int64_t okt_conn_deadline(const okt_conn *c);

/* One turn: I/O permitted by revents, timers due at now, messages moved
 * between transport and session. Never blocks. Bounded work: at most 256
 * KiB read and 64 messages handed to the session (none while it holds 64
 * events not taken); the rest is work due at once (okt_conn_deadline), so
 * deadlines are checked every turn whatever arrives. Returns 0; -1 only on
 * misuse. Failures surface as events. */
int okt_conn_step(okt_conn *c, int revents, int64_t now, okt_err *err);

int okt_conn_state(const okt_conn *c);   /* okt_session_state() values */

/* Bytes the connection holds, roughly: its transport's (okt_ws_mem: its
 * buffers, received messages, the one being received, queued output) and
 * its session's (okt_session_mem). Checked against cfg.max_memory after
 * the input of each step. */
size_t okt_conn_mem(const okt_conn *c);

/* Send a request; params is stolen (may be NULL). Returns a request id
 * > 0, or -1 with err (OKT_ECLOSED when not ready). timeout_ms 0: cfg's. */
int64_t okt_conn_request(okt_conn *c, const char *method, json_t *params,
                         int timeout_ms, int64_t now, okt_err *err);

/* okt_conn_request with a tag (not 0) the reply's okt_event carries back
 * (okt_session_request_tag). */
int64_t okt_conn_request_tag(okt_conn *c, const char *method, json_t *params,
                             int timeout_ms, int tag, int64_t now,
                             okt_err *err);

/* Pull the next event; 1 with *ev filled (release with okt_event_clear),
 * 0 when none. */
int okt_conn_next_event(okt_conn *c, okt_event *ev);

/* Polite close: logout + close handshake; pending requests fail "closed"
 * (as events) at once. */
void okt_conn_close(okt_conn *c, int64_t now);

/* The wire trace of cfg.session.trace, across every URL tried and the
 * redirect: okt_session_next_trace and okt_session_trace_dropped passed
 * through. okt_conn_take_trace hands it over (to outlive the conn; the
 * caller frees it with okt_trace_free). */
int okt_conn_next_trace(okt_conn *c, int *dir, char **text);
size_t okt_conn_trace_dropped(const okt_conn *c);
okt_trace *okt_conn_take_trace(okt_conn *c);
/* okt_session_set_trace on the conn's session: a live connection starts
 * (or stops) tracing from its next frame. */
int okt_conn_set_trace(okt_conn *c, int on, okt_err *err);

/* The URL a websocketredirect sends the client to (fact sheet §1.3):
 * wss:// and port 443. Malloc'd (caller frees), NULL on OOM. */
char *okt_conn_redirect_url(const char *url);

#endif
