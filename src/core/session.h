/* session.h - the sans-IO Oktell client session (protocol fact sheet §1-4).
 * Whole JSON text messages in, messages to send out, a deadline to wake at.
 * It never reads a clock (time is an argument) and never does I/O. */
#ifndef OKT_SESSION_H
#define OKT_SESSION_H

#include <jansson.h>
#include "okt.h"
#include "trace.h"

typedef struct okt_session okt_session;

typedef struct okt_session_cfg {
    const char *login;     /* copied */
    const char *password;  /* hashed at once (fact sheet §3.1); the plain
                              text is not kept */
    int timeout_ms;        /* per request, OKT_DEFAULT_TIMEOUT_MS */
    int ping_ms;           /* keepalive, OKT_DEFAULT_PING_MS; no traffic for
                              two intervals = dead connection */
    int open_ms;           /* ping reply + login must come within this */
    const char *const *subscribe; /* names given to subscribeevent after
                                     login, one request each (NULL-
                                     terminated; empty: none); NULL: the
                                     distinct `subscribe` names of the
                                     protocol table's events */
    int trace;             /* nonzero: keep a wire trace of every message
                              sent and received (okt_session_next_trace) */
} okt_session_cfg;

void okt_session_cfg_init(okt_session_cfg *cfg);

enum okt_session_state {
    OKT_S_HANDSHAKE = 0,  /* transport open, waiting for the ping reply */
    OKT_S_LOGIN,          /* login sent; then the subscriptions, until
                             every one is answered */
    OKT_S_READY,
    OKT_S_REDIRECT,       /* server said websocketredirect: reconnect to
                             the wss:// URL, then okt_session_open again */
    OKT_S_CLOSED          /* over: see the OKT_EV_CLOSED event */
};

enum okt_event_type {
    OKT_EV_REPLY = 1,     /* id, data = the reply object (borrowed ref in
                             ev, freed by okt_event_clear) */
    OKT_EV_ERROR,         /* id, err: a request ended without a reply
                             (OKT_ETIMEOUT, OKT_ECLOSED) */
    OKT_EV_SERVER,        /* name, data: a server event */
    OKT_EV_READY,         /* login succeeded; data = the login reply */
    OKT_EV_CLOSED         /* the session is over; err says why (auth,
                             license, closed, timeout, protocol, refused) */
};

typedef struct okt_event {
    int type;
    int64_t id;
    char *name;           /* owned, may be NULL */
    json_t *data;         /* owned reference, may be NULL */
    okt_err err;
    size_t cost;          /* bytes data holds, roughly (okt_session_mem) */
    int tag;              /* a reply: its request's tag (okt_session_request_tag) */
} okt_event;

void okt_event_clear(okt_event *ev);

okt_session *okt_session_new(const okt_session_cfg *cfg, okt_err *err);
void okt_session_free(okt_session *s);

/* The transport is open: queue the handshake ping (or, after a redirect,
 * go straight to login as oktell.js does). */
int okt_session_open(okt_session *s, int64_t now);
/* One whole received text message. Malformed input -> protocol error
 * event for that message, the session stays usable unless fatal. */
int okt_session_feed(okt_session *s, const char *msg, size_t len,
                     int64_t now);
/* Outgoing messages, in order: peek then consume. */
int okt_session_output(okt_session *s, const char **msg, size_t *len);
void okt_session_consume_output(okt_session *s);

int64_t okt_session_deadline(const okt_session *s);   /* -1: none */
void okt_session_tick(okt_session *s, int64_t now);
/* The transport dropped: every pending request fails OKT_ECLOSED at once,
 * then an OKT_EV_CLOSED event. */
void okt_session_transport_closed(okt_session *s, const okt_err *why,
                                  int64_t now);
int okt_session_state(const okt_session *s);

int64_t okt_session_request(okt_session *s, const char *method,
                            json_t *params, int timeout_ms, int64_t now,
                            okt_err *err);
/* The same, with a tag (not 0) handed back in the reply's okt_event: the
 * binding names the reply fields to check it against (src/lua/conn.c). */
int64_t okt_session_request_tag(okt_session *s, const char *method,
                                json_t *params, int timeout_ms, int tag,
                                int64_t now, okt_err *err);
int okt_session_next_event(okt_session *s, okt_event *ev);

/* okt_session_request steals params (may be NULL), like okt_conn_request;
 * it fails OKT_ECLOSED unless READY, OKT_EPROTOCOL beyond OKT_MAX_PENDING.
 * A reply is matched to its request by qid alone, whatever its name; a
 * message whose qid matches no request this session issued is a server
 * event, dispatched by its name. A malformed incoming message is reported
 * as an OKT_EV_ERROR event with id 0 and err OKT_EPROTOCOL. */
size_t okt_session_pending_events(const okt_session *s);   /* queued */
/* Bytes the session holds, roughly: queued output and events (a parsed
 * message counted as its text plus OKT_JSON_VALUE_COST per value), the
 * request table, multipart partials and the trace. For a memory cap. */
size_t okt_session_mem(const okt_session *s);
size_t okt_session_pending_requests(const okt_session *s); /* user, in flight */
/* Queue a request nobody waits for (logout): no id, no deadline, its reply
 * is dropped. params stolen. 0, or -1 with err (OKT_ECLOSED unless READY). */
int okt_session_send(okt_session *s, const char *method, json_t *params,
                     okt_err *err);

/* The wire trace (cfg.trace), oldest first: every whole message handed to
 * the transport ('>', when okt_session_consume_output takes it) and every
 * whole text message received ('<'; a multipart message once, reassembled,
 * not its envelopes), with secret values masked (trace.h). Returns 1 with
 * *dir ('>' or '<') and *text (malloc'd, the caller frees), 0 when none or
 * when tracing is off. At most OKT_MAX_TRACE records / OKT_MAX_TRACE_BYTES
 * are kept; the oldest beyond are dropped and counted. */
int okt_session_next_trace(okt_session *s, int *dir, char **text);
size_t okt_session_trace_dropped(const okt_session *s);  /* so far */
/* Hand the trace over (NULL when off): the session keeps no trace after
 * this, the caller frees it with okt_trace_free. */
okt_trace *okt_session_take_trace(okt_session *s);
/* Switch the trace on or off on a live session (a recorder attached after
 * connect): on keeps a trace already held, else starts an empty one; off
 * drops it with the records not yet taken. 0, or -1 with err (OKT_ENOMEM;
 * OKT_EINVAL for a NULL session). */
int okt_session_set_trace(okt_session *s, int on, okt_err *err);

/* Password hashes of the fact sheet §3.1 (exported for tests): hex is 33
 * bytes. Returns -1 for characters cp1251 cannot hold. */
int okt_password_hash(const char *utf8, int lowercase, char hex[33],
                      okt_err *err);

#endif
