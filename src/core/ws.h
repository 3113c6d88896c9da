/* ws.h - WebSocket over TCP (+TLS via memory BIOs) for both ends,
 * non-blocking, RFC 6455 framing by libwslay (1.1.1 callback API); a text
 * message with nothing of wslay's to go before it is framed here.
 *
 * An idle connection holds its struct, a few strings and its socket: no
 * wslay context (made again when bytes come or a message must wait in
 * it), no receive or send buffer (made as large as what they hold), and
 * for wss:// a TLS context shared with the other connections of the same
 * verify setting and CA file, without record buffers. A socket client
 * refused a descriptor at the soft RLIMIT_NOFILE raises it to the hard
 * limit and tries again.
 *
 * The caller owns the loop: poll okt_ws_fd() for okt_ws_events(), then call
 * okt_ws_step() with what poll reported. Output is buffered and flushed by
 * step with one send() per turn where possible, so a batch of queued
 * messages costs one system call. */
#ifndef OKT_WS_H
#define OKT_WS_H

#include "okt.h"

typedef struct okt_ws okt_ws;

typedef struct okt_ws_cfg {
    size_t max_msg;          /* largest message accepted (OKT_MAX_WS_MSG);
                                larger -> close 1009 and an error */
    size_t max_handshake;    /* HTTP upgrade head bound (OKT_MAX_HANDSHAKE) */
    const char *subprotocol; /* offered / required; default "json" */
    const char *cafile;      /* client TLS: CA bundle; NULL: system paths */
    int verify;              /* client TLS: verify cert + host name (1) */
    const char *certfile;    /* server TLS (optional): PEM cert chain */
    const char *keyfile;     /* server TLS: PEM key */
    size_t max_out;          /* no frame is taken in while more output
                                than this waits (OKT_MAX_WS_OUT), so a peer
                                that sends pings and never reads cannot
                                grow the pong queue. Server: what to do
                                with such a peer is the caller's (see
                                okt_ws_out_queued). Socket client: a step
                                that held input back so and sent nothing
                                fails (OKT_ECLOSED). Not for memory-mode
                                clients, whose host writes the output. */
} okt_ws_cfg;

void okt_ws_cfg_init(okt_ws_cfg *cfg);

enum okt_ws_state {
    OKT_WS_CONNECTING = 0,   /* TCP connect, TLS or HTTP upgrade under way */
    OKT_WS_OPEN,
    OKT_WS_CLOSING,          /* close frame sent or received */
    OKT_WS_CLOSED            /* finished; only free is useful */
};

/* Client: url is ws://host[:port][/path] or wss://…; starts a non-blocking
 * connect. Numeric hosts never block; names go through getaddrinfo. */

/* 0 when url is one okt_ws_connect takes, else -1 with err OKT_EINVAL
 * "oktell: bad url '<url>': <why>" (the URL quoted without any user or
 * password part): the one shape of a URL error, for every caller. */
int okt_ws_check_url(const char *url, okt_err *err);
okt_ws *okt_ws_connect(const char *url, const okt_ws_cfg *cfg, okt_err *err);

/* Server: take ownership of an accepted socket and serve the upgrade. */
okt_ws *okt_ws_accept(int fd, const okt_ws_cfg *cfg, okt_err *err);

void okt_ws_free(okt_ws *ws);            /* closes the fd; NULL ok */

int okt_ws_fd(const okt_ws *ws);         /* -1 once closed */
int okt_ws_events(const okt_ws *ws);     /* OKT_WANT_* bits; 0 when closed */
int okt_ws_state(const okt_ws *ws);
/* 1 when work is ready without I/O (received messages not yet taken, TLS
 * bytes decrypted but unread): the loop must not sleep. */
int okt_ws_pending(const okt_ws *ws);

/* One turn of I/O as revents (OKT_WANT_* bits) permits; pass both bits to
 * just try. Returns 0 while the connection lives; -1 with err once it is
 * over (peer close: OKT_ECLOSED with the close code in the text; protocol
 * violation: OKT_EPROTOCOL; connect failure: OKT_EREFUSED; TLS: OKT_ETLS).
 * Sticky: every later call returns -1 with the same err. */
int okt_ws_step(okt_ws *ws, int revents, okt_err *err);

/* An idle socket-mode ws frees its wslay context (~9 KiB) at the end of
 * each okt_ws_step by default. With park_later on it keeps it until
 * okt_ws_park: a caller with a clock (okt_conn) parks a connection that
 * stayed idle a while, so a busy one does not make a context and free it
 * again for every message (a fifth of a blocking round trip's work).
 * okt_ws_park frees it if idle now; okt_ws_holds_ctx: whether one is held. */
void okt_ws_park_later(okt_ws *ws, int on);
void okt_ws_park(okt_ws *ws);
int okt_ws_holds_ctx(const okt_ws *ws);

/* Queue one text message (copied). Allowed while CONNECTING (sent once the
 * upgrade completes) and OPEN. */
int okt_ws_send(okt_ws *ws, const char *data, size_t len, okt_err *err);

/* Take the next complete received text message: 1 with *data and *len set
 * (owned by ws, valid until the next call on ws), 0 when none. */
int okt_ws_recv(okt_ws *ws, const char **data, size_t *len);

/* Begin the close handshake (code 1000 normal). */
int okt_ws_close(okt_ws *ws, int code, const char *reason);

/* Close code received from the peer, or 0. */
int okt_ws_peer_close_code(const okt_ws *ws);

/* Server side: the request path of the upgrade ("/" by default). */
const char *okt_ws_path(const okt_ws *ws);

/* --- usage notes, keepalive probe, counters ---
 *
 * Driving it: poll level-triggered (poll(2), or epoll without EPOLLET): a
 * step reads at most a bounded amount and stops at the first short read,
 * so bytes may stay in the kernel buffer for the next turn. Map POLLHUP and
 * POLLERR to both OKT_WANT_* bits. Messages queued with okt_ws_send after
 * a step go out on the next step; to send them at once, call
 * okt_ws_step(ws, OKT_WANT_WRITE, err): it makes one send() and no recv().
 * The fd stays open (half-closed) after the end until okt_ws_free, so the
 * peer still gets the last bytes; okt_ws_fd() already reports -1.
 * okt_ws_close() sends its close frame after the messages queued before
 * it; okt_ws_accept() closes the fd itself when it fails. */

/* Queue a ping (payload at most 125 bytes); the peer's pong is counted in
 * okt_ws_stats.pongs_in. Pings from the peer are answered automatically. */
int okt_ws_ping(okt_ws *ws, const char *data, size_t len, okt_err *err);

/* Counters since creation, for tests and benchmarks. syscalls counts every
 * socket system call this object made (connect, recv, send, ...), so a
 * driver can add its own poll() calls to get the total. */
typedef struct okt_ws_stats {
    uint64_t syscalls;
    uint64_t bytes_in, bytes_out;   /* wire bytes (TLS records included) */
    uint64_t msgs_in, msgs_out;     /* text messages taken in / queued */
    uint64_t pongs_in;
} okt_ws_stats;

void okt_ws_get_stats(const okt_ws *ws, okt_ws_stats *st);

/* --- memory mode: the sans-IO WebSocket, for hosts that own the socket ---
 *
 * The same handshake code and wslay framing, with no descriptor and no
 * clock: the host writes what okt_ws_output hands out and feeds what it
 * reads. No TLS either: for wss:// the host's socket does TLS itself
 * (OpenResty: sslhandshake), so the bytes here are plain WebSocket; cfg's
 * TLS fields are not used. okt_ws_send, okt_ws_recv, okt_ws_ping,
 * okt_ws_close, okt_ws_state and the stats work as above; okt_ws_step is
 * refused (OKT_EINVAL), okt_ws_fd is -1, and okt_ws_events means "what the
 * host should do": OKT_WANT_WRITE when okt_ws_output has bytes to give,
 * OKT_WANT_READ while input is wanted. */

/* Client: the upgrade request for url (ws:// or wss://; Host and path from
 * it) is in the output at once. */
okt_ws *okt_ws_client_mem(const char *url, const okt_ws_cfg *cfg, okt_err *err);
/* Server: waits for an upgrade request (tests, host-driven servers). */
okt_ws *okt_ws_server_mem(const okt_ws_cfg *cfg, okt_err *err);

/* Bytes the host read (copied; any split, down to one byte at a time).
 * Processes them at once: take the complete messages with okt_ws_recv.
 * Returns 0 while the connection lives; -1 with err once it is over (as
 * okt_ws_step reports it), after which its last bytes (a close frame, an
 * HTTP 400) may still wait in the output: send them, then close the
 * socket. Exception: -1 with OKT_EINVAL is misuse and changes nothing: a
 * NULL ws or bytes, or more than max_msg + max_handshake bytes left
 * waiting because received messages were not taken (back-pressure holds
 * fed bytes while more than max_msg bytes of messages are untaken). n == 0
 * just reports the status. */
int okt_ws_feed(okt_ws *ws, const char *bytes, size_t n, okt_err *err);
/* The host's socket reached end of file (or failed): the connection is
 * over; returns -1 with err as okt_ws_feed does. */
int okt_ws_feed_eof(okt_ws *ws, okt_err *err);

/* The bytes to write, framing what was queued since the last call: 1 with
 * *p, *n (owned by ws, valid until the next call on ws), 0 when none.
 * Nothing is taken until okt_ws_consume(ws, k) says k bytes went out. */
int okt_ws_output(okt_ws *ws, const char **p, size_t *n);
void okt_ws_consume(okt_ws *ws, size_t n);

/* --- server-side output bound --- */

/* Output waiting to go out: bytes buffered for the socket, plus the
 * messages queued in wslay (their payload and OKT_WS_MSG_COST each for
 * framing and bookkeeping, so a queue of empty pongs counts too). */
#define OKT_WS_MSG_COST 64u
size_t okt_ws_out_queued(const okt_ws *ws);

/* Server: 1 when the last step had to stop taking frames in because more
 * than max_out of output waited and the socket took no more of it: a peer
 * that sends (pings, say) and does not read. */
int okt_ws_out_over(const okt_ws *ws);

/* Bytes this connection holds, roughly: its struct and buffers, wslay's
 * context while it holds one (its two 4 KiB buffers), received messages
 * not yet taken, the message being received (wslay allocates a frame's
 * whole payload when it starts) and queued output; not OpenSSL's objects.
 * For a server's memory cap and a client's max_memory. */
size_t okt_ws_mem(const okt_ws *ws);

#endif
