/* wire.h - the sans-IO client connection: okt_conn's sibling for hosts that
 * own all I/O (OpenResty cosockets). A memory-mode okt_ws (ws.h) carrying
 * an okt_session: bytes in, bytes out, time as an argument, no descriptor
 * and no clock. The host connects the socket (and does TLS for wss://),
 * writes what okt_wire_output gives, feeds what it reads, and wakes at
 * okt_wire_deadline. What the binding wraps: src/lua/wire.c. */
#ifndef OKT_WIRE_H
#define OKT_WIRE_H

#include <jansson.h>
#include "okt.h"
#include "session.h"
#include "ws.h"

typedef struct okt_wire okt_wire;

typedef struct okt_wire_cfg {
    const char *url;         /* ws:// or wss:// (Host header and path) */
    okt_session_cfg session; /* login, password, timeouts, trace */
    okt_ws_cfg ws;           /* max_msg, max_handshake, subprotocol; the
                                TLS fields are not used (the host's) */
} okt_wire_cfg;

void okt_wire_cfg_init(okt_wire_cfg *cfg);

/* The upgrade request is in the output at once; the session's open
 * timeout (cfg.session.open_ms) runs from `now`. */
okt_wire *okt_wire_new(const okt_wire_cfg *cfg, int64_t now, okt_err *err);
void okt_wire_free(okt_wire *w);                 /* NULL ok */

/* Bytes read from the socket, any split. Whatever they complete goes to
 * the session; failures (a bad upgrade, a close frame, a protocol error)
 * surface as events, as with okt_conn. Returns 0; -1 only on misuse. */
int okt_wire_feed(okt_wire *w, const char *bytes, size_t n, int64_t now,
                  okt_err *err);

/* Bytes to write: 1 with *p, *n (owned by w, valid until the next call on
 * w), 0 when none. okt_wire_consume says how many went out. */
int okt_wire_output(okt_wire *w, const char **p, size_t *n);
void okt_wire_consume(okt_wire *w, size_t n);

/* Absolute ms of the next deadline; 0 when work is ready now (events
 * queued, bytes to write, a redirect to follow); -1 when none. */
int64_t okt_wire_deadline(const okt_wire *w);
/* Timers due at now: request timeouts, the keepalive ping, the open
 * timeout. */
void okt_wire_tick(okt_wire *w, int64_t now);

int okt_wire_state(const okt_wire *w);   /* okt_session_state() values */

/* As okt_conn_request: params stolen (may be NULL); a request id > 0, or
 * -1 with err (OKT_ECLOSED when not ready). timeout_ms 0: cfg's. */
int64_t okt_wire_request(okt_wire *w, const char *method, json_t *params,
                         int timeout_ms, int64_t now, okt_err *err);
/* 1 with *ev filled (release with okt_event_clear), 0 when none. */
int okt_wire_next_event(okt_wire *w, okt_event *ev);

/* The host's socket dropped (EOF, reset, a send or TLS failure; why may
 * be NULL): pending requests fail "closed", then the closed event; before
 * the server answered the handshake the code is OKT_EREFUSED (OKT_ETIMEOUT
 * stays), as okt_conn reports a URL that failed. */
void okt_wire_transport_closed(okt_wire *w, const okt_err *why, int64_t now);

/* Polite close: logout (when logged in) and a close frame wait in the
 * output; pending requests fail "closed" at once. Write the output, then
 * close the socket. */
void okt_wire_close(okt_wire *w, int64_t now);

/* The server said websocketredirect (state OKT_S_REDIRECT): the URL to
 * connect to (wss://, port 443; owned by w), else NULL. The host connects
 * there (with TLS) and calls okt_wire_reopen. */
const char *okt_wire_redirect_url(const okt_wire *w);
/* Start over on a new connection to url (NULL: the redirect URL), keeping
 * the session: after a redirect it goes straight to login; in the
 * handshake (before the server answered) it retries the handshake, so a
 * host can fail over to its next URL. -1 with err in any other state or on
 * a bad URL (the session is unchanged). */
int okt_wire_reopen(okt_wire *w, const char *url, int64_t now, okt_err *err);

/* The wire trace of cfg.session.trace, as okt_conn passes it through. */
int okt_wire_next_trace(okt_wire *w, int *dir, char **text);
size_t okt_wire_trace_dropped(const okt_wire *w);
okt_trace *okt_wire_take_trace(okt_wire *w);
int okt_wire_set_trace(okt_wire *w, int on, okt_err *err);

#endif
