/* ws.c - WebSocket client and server over non-blocking TCP, optionally TLS.
 *
 * One byte path for every mode:
 *   socket --recv--> [TLS: rbio -> SSL_read] --> in --> HTTP head / wslay
 *   wslay / HTTP --> [TLS: pout -> SSL_write -> wbio] --> out --send--> socket
 * wslay (1.1.1 event API) is driven as a byte pump: its recv callback drains
 * `in` and says WOULDBLOCK when it is empty, its send callback appends to
 * `out` (or `pout` under TLS). OpenSSL only ever sees memory BIOs, so it
 * never touches the socket (no SIGPIPE, no blocking). Each step makes at
 * most a few recv() calls (it stops at the first short read) and one
 * send(), so a batch of messages costs one system call each way.
 *
 * Memory mode (okt_ws_client_mem, okt_ws_server_mem) is the same machine
 * with the socket cut off: the host appends what it read to `in`
 * (okt_ws_feed) and takes `out` (okt_ws_output / okt_ws_consume). No fd,
 * no TLS (a host that owns the socket also does its TLS), no clock.
 *
 * An idle connection holds no wslay context (its two 4 KiB buffers and
 * queues, ~8.6 KiB): once every frame read has been parsed whole, no
 * message is half received, nothing waits in wslay to be framed and no
 * close has begun, the context is in the state a new one starts in, so it
 * is freed at the end of the turn (ctx_park) and made again when bytes
 * arrive or a message is queued (ctx_need). Whether wslay holds unparsed
 * bytes is known from counting: what cb_recv handed it against the frames
 * it reported (header and payload). Receive and send buffers are freed
 * when empty too (BUF_KEEP), so an idle connection is its struct, a few
 * strings and its socket. */
#include "ws.h"
#include "ws_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#define RECV_CHUNK   (16u * 1024u)     /* room offered to each recv(), on
                                          the stack (read_input) */
/* Wire bytes read per step: the frames one step parses stay cheap, so a
 * server's peers wait little for each other, and a client's step (whose
 * caller checks its deadlines each step) stays short under a flood. */
#define READ_PER_TURN (256u * 1024u)
#define OUT_HIGH     (1u * 1024u * 1024u)  /* stop framing above this */
/* Empty buffers larger than this are freed. 0: all of them, so a quiet
 * connection holds no receive room or reply bytes (the emulator keeps
 * thousands idle: with the wslay context parked too, 20 KiB -> 1 KiB
 * each); the malloc this costs a busy turn is small next to its system
 * calls (bench/emu, bench/wire). */
#define BUF_KEEP     0u
#define BUF_MIN      256u             /* least size of a buffer */

enum phase {
    PH_TCP,      /* client: connect() in progress */
    PH_TLS,      /* TLS handshake */
    PH_HTTP,     /* upgrade request / response */
    PH_OPEN,     /* WebSocket frames (also while closing) */
    PH_FINISH,   /* over: flushing the last bytes, then DONE */
    PH_DONE
};

typedef struct buf {
    char *p;
    size_t off, len, cap;   /* live bytes are p[off..len) */
} buf;

typedef struct rmsg {
    struct rmsg *next;
    size_t len;
    char data[];            /* len bytes + NUL */
} rmsg;

struct okt_ws {
    int fd;
    int park_later;          /* okt_ws_park_later: the caller parks */
    int mem;                 /* memory mode: no fd, the host moves bytes */
    int server;
    int phase;
    int eof;                 /* peer closed or reset the TCP stream */
    int reset;               /* errno of a failed recv/send, or 0 */
    int wfail;               /* send failed: nothing more can go out */
    int local_close;         /* okt_ws_close() was called */
    int close_code;          /* its close frame, not queued yet while */
    char *close_reason;      /* messages queued before it are pending; */
    size_t close_rlen;       /* the reason allocated (NULL: none) */
    int fatal_close;         /* callback asked to fail with this code */
    int in_frame;            /* a frame has started but not ended */
    int tls_ready;           /* TLS handshake finished */
    int tls_bye;             /* close_notify queued */
    int peer_code;
    char *peer_reason;       /* of its close frame, NULL: none */
    size_t max_msg, max_handshake;
    size_t max_out;          /* see okt_ws_cfg */
    int out_over;            /* server: the last step stopped framing input
                                over max_out, the socket taking no more */
    int held;                /* cb_recv held input back over max_out */
    unsigned char first[12]; /* client TLS: the first bytes the server sent, */
    size_t nfirst;           /* to tell a plain server from a TLS failure */
    uint64_t imsg_bytes;     /* payload of the message being received */
    size_t rq_n;             /* messages in rq */
    char *subprotocol;       /* NULL: none offered / echoed */
    char *path;              /* server: request target; client: ours */
    char *hostport;          /* client: for messages and Host: */
    char key[OKT_WSH_KEY_LEN + 1];
    wslay_event_context_ptr ctx;
    buf in, out, pout;
    SSL_CTX *sctx;           /* a reference of our own */
    EVP_CIPHER_CTX *mask;    /* the mask stream (mask_bytes), or NULL */
    unsigned char masks[64]; /* drawn from it (MASK_BLOCK) */
    size_t mask_off;         /* the next unused byte of masks */
    SSL *ssl;
    BIO *rbio, *wbio;        /* owned by ssl */
    struct addrinfo *ai, *ai_cur;
    rmsg *rq_head, *rq_tail, *taken;
    size_t rq_bytes;
    uint64_t fed;            /* bytes cb_recv handed to wslay */
    uint64_t framed;         /* bytes of the frames it reported (header and
                                payload): fed == framed between frames
                                means wslay holds no input (ctx_park) */
    int in_msg;              /* a fragmented message is being received */
    okt_err *fin;            /* error to report once FINISH is flushed;
                                sticky once DONE. Allocated at the end:
                                a live connection needs none (fin_of) */
    okt_ws_stats st;
};

/* What a wslay context costs while held (okt_ws_mem): its struct with the
 * output buffer, the frame context with the input buffer, four queues. */
#define WSLAY_CTX_COST (9u * 1024u)

/* ---- buffers ---------------------------------------------------------- */

static int buf_reserve(buf *b, size_t more)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len >= more)
        return 0;
    if (b->off) {   /* slide live bytes down before growing */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= more)
            return 0;
    }
    size_t need = b->len + more;
    /* a new buffer is as large as its first bytes (the reads land on the
     * stack first: read_input), so a quiet connection's short messages
     * never cost a full receive chunk */
    size_t cap = b->cap ? b->cap : BUF_MIN;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(buf *b, const void *d, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

static size_t buf_used(const buf *b)
{
    return b->len - b->off;
}

/* The live bytes; "" for a buffer not allocated (empty buffers are freed,
 * and NULL plus an offset, even 0, is undefined). */
static const char *buf_at(const buf *b)
{
    return b->p ? b->p + b->off : "";
}

/* Called when a buffer may be empty: reset offsets, release big idle
 * memory so a quiet connection stays small. */
static void buf_settle(buf *b)
{
    if (b->off == b->len) {
        b->off = b->len = 0;
        if (b->cap > BUF_KEEP) {
            free(b->p);
            b->p = NULL;
            b->cap = 0;
        }
    }
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Plaintext output: straight to the wire buffer, or to TLS. */
static int put_plain(okt_ws *ws, const void *d, size_t n)
{
    return buf_put(ws->ssl ? &ws->pout : &ws->out, d, n);
}

/* ---- ending ----------------------------------------------------------- */

/* Why the connection ended, kept to report. */
static void set_fin(okt_ws *ws, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_fin(okt_ws *ws, int code, const char *fmt, ...)
{
    if (!ws->fin && !(ws->fin = malloc(sizeof *ws->fin)))
        return;   /* fin_of reports "out of memory" */
    char msg[OKT_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    okt_err_set(ws->fin, code, "%s", msg);
}

static const okt_err *fin_of(const okt_ws *ws)
{
    static const okt_err nomem = {OKT_ENOMEM, "out of memory"};
    return ws->fin ? ws->fin : &nomem;
}

/* Enter FINISH: the reason is kept and reported once the output is
 * flushed (a close frame, an HTTP 400, a TLS alert). First reason wins. */
static void finish(okt_ws *ws, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(okt_ws *ws, int code, const char *fmt, ...)
{
    if (ws->phase >= PH_FINISH)
        return;
    char msg[OKT_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_fin(ws, code, "%s", msg);
    ws->phase = PH_FINISH;
}

static void done(okt_ws *ws)
{
    if (ws->phase == PH_DONE)
        return;
    ws->phase = PH_DONE;
    /* A graceful half-close: the fd itself stays open until free, so
     * nothing we queued is lost to an RST while the peer still reads. */
    if (ws->fd >= 0 && !ws->reset) {
        shutdown(ws->fd, SHUT_WR);
        ws->st.syscalls++;
    }
    buf_free(&ws->in);
    buf_free(&ws->out);
    buf_free(&ws->pout);
    if (ws->ctx) {   /* nothing is framed after the end */
        wslay_event_context_free(ws->ctx);
        ws->ctx = NULL;
    }
}

static int report(okt_ws *ws, okt_err *err)
{
    if (err)
        *err = *fin_of(ws);
    return -1;
}

/* ---- wslay callbacks: they only touch buffers and flags ---------------- */

/* Does max_out hold input back? For servers, and for socket clients; a
 * memory-mode client's host writes the output itself (a cosocket send
 * waits until it is out), so nothing piles up here. */
static int bounded_out(const okt_ws *ws)
{
    return ws->server || !ws->mem;
}

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *b, size_t len,
                       int flags, void *ud)
{
    (void)flags;
    okt_ws *ws = ud;
    size_t have = buf_used(&ws->in);
    /* Over max_out no frame is taken in (each ping would queue a pong);
     * the bytes wait in `in` until the output drains. Not for a memory-
     * mode client: its host takes the output (see bounded_out). */
    int over = have && bounded_out(ws) && okt_ws_out_queued(ws) > ws->max_out;
    if (over)
        ws->held = 1;   /* for the client's check in okt_ws_step */
    if (have == 0 || over) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > have)
        len = have;
    memcpy(b, ws->in.p + ws->in.off, len);
    ws->in.off += len;
    ws->fed += len;
    return (ssize_t)len;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *d,
                       size_t len, int flags, void *ud)
{
    (void)flags;
    okt_ws *ws = ud;
    if (put_plain(ws, d, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

/* Masks (RFC 6455 §5.3: unpredictable to the peer) come from a ChaCha20
 * keystream keyed once per connection by RAND_bytes: OpenSSL 3 calls
 * getpid() on every RAND_bytes (fork safety), a system call per frame had
 * each mask come from it. The stream is the connection's own (no state
 * shared across connections or threads), made when a frame first needs a
 * mask (a client's; servers do not mask); 64 bytes are drawn at a time. */
#define MASK_BLOCK 64u

static int mask_bytes(okt_ws *ws, uint8_t *b, size_t len)
{
    if (len > MASK_BLOCK)
        len = MASK_BLOCK;
    if (!ws->mask) {
        unsigned char key[32 + 16];
        ws->st.syscalls++;   /* the getpid() inside RAND_bytes */
        if (RAND_bytes(key, sizeof key) != 1)
            return -1;
        ws->mask = EVP_CIPHER_CTX_new();
        int ok = ws->mask &&
                 EVP_EncryptInit_ex(ws->mask, EVP_chacha20(), NULL, key,
                                    key + 32) == 1;
        OPENSSL_cleanse(key, sizeof key);
        if (!ok)
            return -1;
        ws->mask_off = MASK_BLOCK;
    }
    if (ws->mask_off + len > MASK_BLOCK) {
        static const unsigned char zero[MASK_BLOCK];
        int n = 0;
        if (EVP_EncryptUpdate(ws->mask, ws->masks, &n, zero, MASK_BLOCK) != 1 ||
            n != (int)MASK_BLOCK)
            return -1;
        ws->mask_off = 0;
    }
    memcpy(b, ws->masks + ws->mask_off, len);
    ws->mask_off += len;
    return 0;
}

static int cb_genmask(wslay_event_context_ptr ctx, uint8_t *b, size_t len,
                      void *ud)
{
    if (mask_bytes(ud, b, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return 0;
}

static void cb_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a,
                           void *ud)
{
    (void)ctx;
    okt_ws *ws = ud;
    ws->in_frame = 1;
    /* The frame's bytes on the wire: wslay took the header whole (minimal
     * length encoding, masked exactly when we are the server: it checked
     * both before this callback), the payload follows. */
    uint64_t pl = a->payload_length;
    ws->framed += 2 + (pl >= 65536 ? 8 : pl >= 126 ? 2 : 0) +
                  (ws->server ? 4 : 0) + pl;
    /* wslay allocates a data frame's whole payload at its start: counted
     * in okt_ws_mem until the message is complete */
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME ||
        a->opcode == WSLAY_CONTINUATION_FRAME) {
        ws->imsg_bytes += a->payload_length;
        ws->in_msg = !a->fin;
    }
}

static void cb_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    (void)ctx;
    ((okt_ws *)ud)->in_frame = 0;
}

static void cb_msg(wslay_event_context_ptr ctx,
                   const struct wslay_event_on_msg_recv_arg *a, void *ud)
{
    okt_ws *ws = ud;
    switch (a->opcode) {
    case WSLAY_TEXT_FRAME: {
        rmsg *m = malloc(sizeof *m + a->msg_length + 1);
        if (!m) {
            ws->fatal_close = WSLAY_CODE_INTERNAL_SERVER_ERROR;
            wslay_event_shutdown_read(ctx);
            return;
        }
        m->next = NULL;
        m->len = a->msg_length;
        if (a->msg_length)
            memcpy(m->data, a->msg, a->msg_length);
        m->data[a->msg_length] = '\0';
        if (ws->rq_tail)
            ws->rq_tail->next = m;
        else
            ws->rq_head = m;
        ws->rq_tail = m;
        ws->rq_bytes += m->len;
        ws->rq_n++;
        ws->imsg_bytes = 0;
        ws->st.msgs_in++;
        break;
    }
    case WSLAY_BINARY_FRAME:
        ws->imsg_bytes = 0;
        /* The Oktell protocol is JSON text only. */
        ws->fatal_close = WSLAY_CODE_UNSUPPORTED_DATA;
        wslay_event_shutdown_read(ctx);
        break;
    case WSLAY_PONG:
        ws->st.pongs_in++;
        break;
    case WSLAY_CONNECTION_CLOSE:
        ws->peer_code = a->status_code;
        if (a->msg_length > 2) {
            size_t n = a->msg_length - 2;
            if (n > 123)
                n = 123;
            free(ws->peer_reason);
            ws->peer_reason = malloc(n + 1);
            if (ws->peer_reason) {   /* else the code alone */
                memcpy(ws->peer_reason, a->msg + 2, n);
                ws->peer_reason[n] = '\0';
            }
        }
        break;
    default:
        break;   /* ping: wslay queues the pong itself */
    }
}

static const struct wslay_event_callbacks callbacks = {
    cb_recv, cb_send, cb_genmask, cb_frame_start, NULL, cb_frame_end, cb_msg,
};

/* ---- the wslay context: held only while there is framing to do --------- */

static int ctx_need(okt_ws *ws)
{
    if (ws->ctx)
        return 0;
    int r = ws->server
                ? wslay_event_context_server_init(&ws->ctx, &callbacks, ws)
                : wslay_event_context_client_init(&ws->ctx, &callbacks, ws);
    if (r != 0) {
        ws->ctx = NULL;
        return -1;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->max_msg);
    return 0;
}

/* The state of a context that is not held is a new one's: reading, no
 * close sent or received, nothing queued. */
static int ctx_read_enabled(const okt_ws *ws)
{
    return !ws->ctx || wslay_event_get_read_enabled(ws->ctx);
}

static int ctx_want_write(const okt_ws *ws)
{
    return ws->ctx && wslay_event_want_write(ws->ctx);
}

static int ctx_close_received(const okt_ws *ws)
{
    return ws->ctx && wslay_event_get_close_received(ws->ctx);
}

static int ctx_close_sent(const okt_ws *ws)
{
    return ws->ctx && wslay_event_get_close_sent(ws->ctx);
}

/* Free the context when it is back in a new one's state (see the top of
 * the file): every byte handed to it parsed into whole frames, no
 * fragmented message under way, nothing queued, no close begun. */
static void ctx_park(okt_ws *ws)
{
    if (!ws->ctx || ws->phase != PH_OPEN || ws->in_frame || ws->in_msg ||
        ws->fed != ws->framed || ws->fatal_close || ws->local_close ||
        ws->close_code || !wslay_event_get_read_enabled(ws->ctx) ||
        wslay_event_get_close_received(ws->ctx) ||
        wslay_event_get_close_sent(ws->ctx) ||
        wslay_event_want_write(ws->ctx) ||
        wslay_event_get_queued_msg_count(ws->ctx) != 0)
        return;
    wslay_event_context_free(ws->ctx);
    ws->ctx = NULL;
    ws->fed = ws->framed = 0;
}

/* ---- TLS -------------------------------------------------------------- */

/* Message for the newest OpenSSL error, preferring the verify result. */
static void tls_why(okt_ws *ws, char *out, size_t n)
{
    long vr = ws->ssl ? SSL_get_verify_result(ws->ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (!ws->server && vr != X509_V_OK)
        snprintf(out, n, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e)
        ERR_error_string_n(e, out, n);
    else
        snprintf(out, n, "TLS failure");
    ERR_clear_error();
}

/* Move ciphertext OpenSSL produced into the wire buffer. */
static int tls_drain(okt_ws *ws)
{
    size_t n;
    while ((n = BIO_ctrl_pending(ws->wbio)) > 0) {
        if (buf_reserve(&ws->out, n) != 0)
            return -1;
        int r = BIO_read(ws->wbio, ws->out.p + ws->out.len, (int)n);
        if (r <= 0)
            break;
        ws->out.len += (size_t)r;
    }
    return 0;
}

static void tls_handshake(okt_ws *ws)
{
    ERR_clear_error();
    int r = SSL_do_handshake(ws->ssl);
    if (r == 1) {
        ws->tls_ready = 1;
        ws->phase = PH_HTTP;
        return;
    }
    int e = SSL_get_error(ws->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return;
    char why[160];
    tls_why(ws, why, sizeof why);
    /* A TLS record starts with its content type, 20 to 23: anything else
     * is a plain server (its HTTP 400, say) on a wss:// URL. */
    if (!ws->server && ws->nfirst && (ws->first[0] < 20 || ws->first[0] > 23)) {
        char q[sizeof ws->first + 1];
        size_t k = 0;
        for (; k < ws->nfirst && ws->first[k] >= 0x20 && ws->first[k] < 0x7f &&
               ws->first[k] != '"' && ws->first[k] != '\\'; k++)
            q[k] = (char)ws->first[k];
        q[k] = '\0';
        finish(ws, OKT_ETLS, "TLS handshake with %s failed: the server "
               "answered with non-TLS bytes (\"%s\"): a ws:// server?",
               ws->hostport, q);
        return;
    }
    finish(ws, OKT_ETLS, "TLS handshake with %s failed: %s",
           ws->hostport ? ws->hostport : "client", why);
}

/* Decrypt everything the socket gave us into `in` (through the stack,
 * as read_input does). */
static void tls_read(okt_ws *ws)
{
    char plain[16384];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(ws->ssl, plain, (int)sizeof plain);
        if (r > 0) {
            if (buf_put(&ws->in, plain, (size_t)r) != 0) {
                finish(ws, OKT_ENOMEM, "out of memory");
                return;
            }
            continue;
        }
        int e = SSL_get_error(ws->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        if (e == SSL_ERROR_ZERO_RETURN) {   /* close_notify */
            ws->eof = 1;
            return;
        }
        char why[160];
        tls_why(ws, why, sizeof why);
        finish(ws, OKT_ETLS, "TLS read failed: %s", why);
        return;
    }
}

static int tls_write(okt_ws *ws)
{
    while (buf_used(&ws->pout)) {
        size_t n = buf_used(&ws->pout);
        if (n > (1u << 20))
            n = 1u << 20;
        ERR_clear_error();
        int r = SSL_write(ws->ssl, ws->pout.p + ws->pout.off, (int)n);
        if (r <= 0) {
            char why[160];
            tls_why(ws, why, sizeof why);
            finish(ws, OKT_ETLS, "TLS write failed: %s", why);
            return -1;
        }
        ws->pout.off += (size_t)r;
    }
    buf_settle(&ws->pout);
    return 0;
}

static int tls_setup_bios(okt_ws *ws, okt_err *err)
{
    ws->ssl = SSL_new(ws->sctx);
    ws->rbio = BIO_new(BIO_s_mem());
    ws->wbio = BIO_new(BIO_s_mem());
    if (!ws->ssl || !ws->rbio || !ws->wbio) {
        if (ws->ssl) {
            BIO_free(ws->rbio);
            BIO_free(ws->wbio);
            ws->rbio = ws->wbio = NULL;
        }
        return okt_err_set(err, OKT_ENOMEM, "out of memory (TLS)");
    }
    SSL_set_bio(ws->ssl, ws->rbio, ws->wbio);
    return 0;
}

static int is_ip(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The client's TLS context, its own (as the server's): no state shared
 * across connections. Idle record buffers are released. */
static int tls_client_ctx(okt_ws *ws, const okt_ws_cfg *cfg, okt_err *err)
{
    ERR_clear_error();
    ws->sctx = SSL_CTX_new(TLS_client_method());
    if (!ws->sctx)
        return okt_err_set(err, OKT_ENOMEM, "out of memory (TLS)");
    SSL_CTX_set_min_proto_version(ws->sctx, TLS1_2_VERSION);
    /* an idle connection holds no record buffers (~34 KiB) */
    SSL_CTX_set_mode(ws->sctx, SSL_MODE_RELEASE_BUFFERS);
    if (cfg->verify) {
        SSL_CTX_set_verify(ws->sctx, SSL_VERIFY_PEER, NULL);
        int ok = cfg->cafile
                     ? SSL_CTX_load_verify_locations(ws->sctx, cfg->cafile, NULL)
                     : SSL_CTX_set_default_verify_paths(ws->sctx);
        if (ok != 1) {
            ERR_clear_error();
            return okt_err_set(err, OKT_ETLS, "cannot load CA file %s",
                               cfg->cafile ? cfg->cafile : "(system)");
        }
    } else {
        SSL_CTX_set_verify(ws->sctx, SSL_VERIFY_NONE, NULL);
    }
    return 0;
}

static int tls_client(okt_ws *ws, const char *host, const okt_ws_cfg *cfg,
                      okt_err *err)
{
    if (tls_client_ctx(ws, cfg, err) != 0)
        return -1;
    if (tls_setup_bios(ws, err) != 0)
        return -1;
    SSL_set_connect_state(ws->ssl);
    int ip = is_ip(host);
    if (!ip)
        SSL_set_tlsext_host_name(ws->ssl, host);
    if (cfg->verify) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ws->ssl), host)
                    : SSL_set1_host(ws->ssl, host);
        if (ok != 1) {
            ERR_clear_error();
            return okt_err_set(err, OKT_ETLS, "cannot verify host %s", host);
        }
        SSL_set_hostflags(ws->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    return 0;
}

static int tls_server(okt_ws *ws, const okt_ws_cfg *cfg, okt_err *err)
{
    ERR_clear_error();
    ws->sctx = SSL_CTX_new(TLS_server_method());
    if (!ws->sctx)
        return okt_err_set(err, OKT_ENOMEM, "out of memory (TLS)");
    SSL_CTX_set_min_proto_version(ws->sctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ws->sctx, SSL_MODE_RELEASE_BUFFERS);
    const char *key = cfg->keyfile ? cfg->keyfile : cfg->certfile;
    if (SSL_CTX_use_certificate_chain_file(ws->sctx, cfg->certfile) != 1 ||
        SSL_CTX_use_PrivateKey_file(ws->sctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ws->sctx) != 1) {
        char why[160];
        tls_why(ws, why, sizeof why);
        return okt_err_set(err, OKT_ETLS, "cannot load %s / %s: %s",
                           cfg->certfile, key, why);
    }
    if (tls_setup_bios(ws, err) != 0)
        return -1;
    SSL_set_accept_state(ws->ssl);
    return 0;
}

/* ---- config, construction --------------------------------------------- */

void okt_ws_cfg_init(okt_ws_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_msg = OKT_MAX_WS_MSG;
    cfg->max_handshake = OKT_MAX_HANDSHAKE;
    cfg->max_out = OKT_MAX_WS_OUT;
    cfg->subprotocol = "json";
    cfg->verify = 1;
}

static okt_ws *ws_new(int server, const okt_ws_cfg *cfg, okt_err *err)
{
    okt_ws *ws = calloc(1, sizeof *ws);
    if (!ws) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    ws->fd = -1;
    ws->server = server;
    ws->phase = PH_HTTP;
    ws->max_msg = cfg->max_msg ? cfg->max_msg : OKT_MAX_WS_MSG;
    ws->max_handshake = cfg->max_handshake ? cfg->max_handshake
                                           : OKT_MAX_HANDSHAKE;
    ws->max_out = cfg->max_out ? cfg->max_out : OKT_MAX_WS_OUT;
    if (cfg->subprotocol && *cfg->subprotocol) {
        ws->subprotocol = strdup(cfg->subprotocol);
        if (!ws->subprotocol)
            goto nomem;
    }
    return ws;   /* the wslay context comes with the first frame (ctx_need) */
nomem:
    okt_err_set(err, OKT_ENOMEM, "out of memory");
    okt_ws_free(ws);
    return NULL;
}

void okt_ws_free(okt_ws *ws)
{
    if (!ws)
        return;
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    if (ws->ssl)
        SSL_free(ws->ssl);   /* frees both BIOs */
    if (ws->sctx)
        SSL_CTX_free(ws->sctx);
    EVP_CIPHER_CTX_free(ws->mask);
    if (ws->fd >= 0)
        close(ws->fd);
    if (ws->ai)
        freeaddrinfo(ws->ai);
    buf_free(&ws->in);
    buf_free(&ws->out);
    buf_free(&ws->pout);
    for (rmsg *m = ws->rq_head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    free(ws->taken);
    free(ws->subprotocol);
    free(ws->path);
    free(ws->hostport);
    free(ws->close_reason);
    free(ws->peer_reason);
    free(ws->fin);
    free(ws);
}

/* ws://host[:port][/path] -> parts. host gets the bare name (no
 * brackets), path at least "/". err: why alone (okt_ws_check_url adds
 * the URL). */
static int parse_url(const char *url, int *tls, char *host, size_t hostsz,
                     char *port, const char **path, okt_err *err)
{
    const char *p;
    if (strlen(url) > OKT_WSH_PATH_MAX)
        return okt_err_set(err, OKT_EINVAL, "longer than %d bytes",
                           OKT_WSH_PATH_MAX);
    if (strncasecmp(url, "ws://", 5) == 0) {
        *tls = 0;
        p = url + 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        *tls = 1;
        p = url + 6;
    } else {
        return okt_err_set(err, OKT_EINVAL, "must start with ws:// or wss://");
    }
    size_t auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth))
        return okt_err_set(err, OKT_EINVAL, "a user or password in the url "
                           "is not taken (give login and password)");
    const char *hs, *he;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he)
            return okt_err_set(err, OKT_EINVAL, "no ']' after the IPv6 host");
        p = he + 1;
    } else {
        hs = p;
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#')
            p++;
        he = p;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0)
        return okt_err_set(err, OKT_EINVAL, "no host");
    if (hl >= hostsz)
        return okt_err_set(err, OKT_EINVAL, "host longer than %zu bytes",
                           hostsz - 1);
    for (const char *c = hs; c < he; c++)
        if ((unsigned char)*c <= 0x20 || *c == '/' || (unsigned char)*c >= 0x7f)
            return okt_err_set(err, OKT_EINVAL, "a space, control or "
                               "non-ASCII character in the host");
    memcpy(host, hs, hl);
    host[hl] = '\0';
    strcpy(port, *tls ? "443" : "80");
    if (*p == ':') {
        p++;
        unsigned long v = 0;
        size_t nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 6) {
            v = v * 10 + (unsigned long)(*p++ - '0');
            nd++;
        }
        if (nd == 0 || v == 0 || v > 65535)
            return okt_err_set(err, OKT_EINVAL, "the port must be 1 to 65535");
        snprintf(port, 6, "%lu", v);
    }
    if (*p && *p != '/' && *p != '?' && *p != '#')
        return *p > 0x20 && *p < 0x7f
                   ? okt_err_set(err, OKT_EINVAL, "'%c' after the %s", *p,
                                 he == p ? "host" : "port")
                   : okt_err_set(err, OKT_EINVAL, "a stray byte after the %s",
                                 he == p ? "host" : "port");
    /* The request target goes out as it is: no byte HTTP would refuse
     * (the fragment never goes out). */
    for (const char *c = p; *c && *c != '#'; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return okt_err_set(err, OKT_EINVAL, "a space, control or "
                               "non-ASCII character in the path "
                               "(percent-encode it)");
    *path = p;
    return 0;
}

/* The URL as an error message quotes it: a user or password part as
 * "***@" (no message ever holds a password), control and non-ASCII bytes
 * as '?', cut at 96 bytes. */
static void url_quote(const char *url, char *out, size_t n)
{
    const char *s = strstr(url, "://");
    size_t k = 0, i = 0;
    if (s) {   /* the last '@' of the authority ends the user part */
        const char *a = s + 3, *end = a + strcspn(a, "/?#"), *at = NULL;
        for (const char *c = a; c < end; c++)
            if (*c == '@')
                at = c;
        if (at && (size_t)(a - url) + 4 < n) {
            memcpy(out, url, (size_t)(a - url));
            memcpy(out + (a - url), "***", 3);
            k = (size_t)(a - url) + 3;
            i = (size_t)(at - url);
        } else if (at) {
            i = (size_t)(at - url);   /* a long scheme: the tail only */
        }
    }
    for (; url[i] && k + 4 < n && k < 96; i++)
        out[k++] = ((unsigned char)url[i] < 0x20 || (unsigned char)url[i] >= 0x7f)
                       ? '?' : url[i];
    if (url[i] && k + 4 <= n) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

int okt_ws_check_url(const char *url, okt_err *err)
{
    if (!url)
        return okt_err_set(err, OKT_EINVAL, "oktell: bad url: none given");
    int tls;
    char host[256], port[8], q[112];
    const char *path;
    okt_err why;
    if (parse_url(url, &tls, host, sizeof host, port, &path, &why) == 0)
        return 0;
    url_quote(url, q, sizeof q);
    return okt_err_set(err, OKT_EINVAL, "oktell: bad url '%s': %s", q, why.msg);
}

/* Connected: the addresses are no longer needed. */
static void connected(okt_ws *ws)
{
    ws->phase = ws->ssl ? PH_TLS : PH_HTTP;
    if (ws->ai)
        freeaddrinfo(ws->ai);
    ws->ai = ws->ai_cur = NULL;
}

/* Out of descriptors at the soft limit: take the hard one (allowed without
 * privileges; the emulator does so for its sessions), so that a process
 * holding thousands of connections is not stopped at 1024. Done only when
 * a socket is refused for want of one. 1 when there is more room now. */
static int more_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return 0;
    rlim_t want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return 1;
    if (want != RLIM_INFINITY)
        return 0;
    rl.rlim_cur = 1u << 20;   /* "unlimited": the kernel's usual nr_open */
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Start connect() on ws->ai_cur, moving on through the list while the
 * kernel refuses at once. 1: connected, 0: in progress, -1: none left. */
static int start_connect(okt_ws *ws, int *last_errno)
{
    for (; ws->ai_cur; ws->ai_cur = ws->ai_cur->ai_next) {
        struct addrinfo *a = ws->ai_cur;
        if (ws->fd >= 0) {
            close(ws->fd);
            ws->fd = -1;
        }
        ws->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        a->ai_protocol);
        ws->st.syscalls++;
        if (ws->fd < 0 && errno == EMFILE && more_fds()) {
            ws->fd = socket(a->ai_family,
                            a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            a->ai_protocol);
            ws->st.syscalls += 3;   /* getrlimit, setrlimit, socket */
        }
        if (ws->fd < 0) {
            *last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ws->st.syscalls += 2;
        if (connect(ws->fd, a->ai_addr, a->ai_addrlen) == 0)
            return 1;
        if (errno == EINPROGRESS || errno == EINTR)
            return 0;
        *last_errno = errno;
    }
    return -1;
}

static okt_ws *client_new(const char *url, const okt_ws_cfg *cfg, int mem,
                          okt_err *err)
{
    okt_ws_cfg defaults;
    if (!cfg) {
        okt_ws_cfg_init(&defaults);
        cfg = &defaults;
    }
    int tls = 0;
    char host[256], port[8];
    const char *path = "";
    if (okt_ws_check_url(url, err) != 0 ||
        parse_url(url, &tls, host, sizeof host, port, &path, err) != 0)
        return NULL;

    okt_ws *ws = ws_new(0, cfg, err);
    if (!ws)
        return NULL;
    ws->mem = mem;
    ws->phase = mem ? PH_HTTP : PH_TCP;
    /* Request target: the path and query; the fragment never goes out. */
    size_t pl = strcspn(path, "#");
    ws->path = malloc(pl + 2);
    int v6 = strchr(host, ':') != NULL;
    int defport = strcmp(port, tls ? "443" : "80") == 0;
    ws->hostport = malloc(strlen(host) + 10);
    if (!ws->path || !ws->hostport) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    if (pl == 0 || path[0] != '/') {
        ws->path[0] = '/';
        memcpy(ws->path + 1, path, pl);
        ws->path[pl + 1] = '\0';
    } else {
        memcpy(ws->path, path, pl);
        ws->path[pl] = '\0';
    }
    sprintf(ws->hostport, v6 ? "[%s]%s%s" : "%s%s%s", host,
            defport ? "" : ":", defport ? "" : port);

    /* Memory mode frames plain WebSocket even for wss://: the host's own
     * socket (OpenResty's sslhandshake) carries the TLS. */
    if (tls && !mem && tls_client(ws, host, cfg, err) != 0)
        goto fail;

    if (okt_wsh_new_key(ws->key) != 0) {
        okt_err_set(err, OKT_ETLS, "no randomness for the key");
        goto fail;
    }
    char req[OKT_WSH_PATH_MAX + 1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s%s%s"
                     "\r\n",
                     ws->path, ws->hostport, ws->key,
                     ws->subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     ws->subprotocol ? ws->subprotocol : "",
                     ws->subprotocol ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req) {
        okt_err_set(err, OKT_EINVAL, "url too long");
        goto fail;
    }
    if (put_plain(ws, req, (size_t)n) != 0) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    if (mem)
        return ws;   /* the request waits in `out` for the host */

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int gr = getaddrinfo(host, port, &hints, &ws->ai);
    if (gr != 0) {
        ws->ai = NULL;
        okt_err_set(err, OKT_EREFUSED, "cannot resolve %s: %s", host,
                    gai_strerror(gr));
        goto fail;
    }
    ws->ai_cur = ws->ai;
    int eno = ECONNREFUSED;
    int r = start_connect(ws, &eno);
    if (r < 0) {
        okt_err_set(err, OKT_EREFUSED, "connect to %s: %s", ws->hostport,
                    strerror(eno));
        goto fail;
    }
    if (r == 1)
        connected(ws);
    return ws;
fail:
    okt_ws_free(ws);
    return NULL;
}

okt_ws *okt_ws_connect(const char *url, const okt_ws_cfg *cfg, okt_err *err)
{
    return client_new(url, cfg, 0, err);
}

okt_ws *okt_ws_client_mem(const char *url, const okt_ws_cfg *cfg, okt_err *err)
{
    return client_new(url, cfg, 1, err);
}

okt_ws *okt_ws_server_mem(const okt_ws_cfg *cfg, okt_err *err)
{
    okt_ws_cfg defaults;
    if (!cfg) {
        okt_ws_cfg_init(&defaults);
        cfg = &defaults;
    }
    okt_ws *ws = ws_new(1, cfg, err);
    if (ws)
        ws->mem = 1;   /* cfg's TLS files are not used: see okt_ws_client_mem */
    return ws;
}

okt_ws *okt_ws_accept(int fd, const okt_ws_cfg *cfg, okt_err *err)
{
    okt_ws_cfg defaults;
    if (!cfg) {
        okt_ws_cfg_init(&defaults);
        cfg = &defaults;
    }
    if (fd < 0)
        return okt_err_set(err, OKT_EINVAL, "bad fd"), NULL;
    /* We own it from here, whatever happens. Make sure of the flags the
     * house rules require even if the caller used plain accept(). */
    uint64_t calls = 3;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK)) {
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        calls++;
    }
    int fdf = fcntl(fd, F_GETFD);
    if (fdf >= 0 && !(fdf & FD_CLOEXEC)) {
        fcntl(fd, F_SETFD, fdf | FD_CLOEXEC);
        calls++;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on AF_UNIX: fine */
    okt_ws *ws = ws_new(1, cfg, err);
    if (!ws) {
        close(fd);
        return NULL;
    }
    ws->fd = fd;
    ws->st.syscalls += calls;
    if (cfg->certfile) {
        if (tls_server(ws, cfg, err) != 0) {
            okt_ws_free(ws);
            return NULL;
        }
        ws->phase = PH_TLS;
    }
    return ws;
}

/* ---- the turn --------------------------------------------------------- */

static int want_input(const okt_ws *ws)
{
    if (ws->eof || ws->phase == PH_TCP || ws->phase >= PH_FINISH)
        return 0;
    if (ws->phase == PH_OPEN) {
        /* Back-pressure: stop reading while the caller has not taken a
         * large backlog of messages. */
        if (ws->rq_bytes > ws->max_msg || !ctx_read_enabled(ws))
            return 0;
        /* Nor while the output is over its bound (cb_recv), nor while
         * bytes read before still wait there to be framed: else a peer
         * that pings faster than it reads grows `in` by a turn's read
         * each turn. */
        if (bounded_out(ws) && (okt_ws_out_queued(ws) > ws->max_out ||
                                buf_used(&ws->in) >= RECV_CHUNK))
            return 0;
    }
    return 1;
}

/* Bytes land on the stack, then go where they belong (`in`, or TLS's read
 * BIO): a buffer is only as large as what it keeps, and a read that finds
 * nothing allocates nothing. (A receive chunk held by every connection
 * while it waits was most of an idle one's memory, and freed and made
 * again around the small objects of the others it left a fragmented
 * heap.) */
static void read_input(okt_ws *ws)
{
    char land[RECV_CHUNK];
    const size_t room = sizeof land;
    char *dst = land;
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(ws->fd, dst, room, 0);
        ws->st.syscalls++;
        if (n > 0) {
            ws->st.bytes_in += (uint64_t)n;
            if (ws->ssl && !ws->server && ws->nfirst < sizeof ws->first) {
                size_t k = sizeof ws->first - ws->nfirst;
                if (k > (size_t)n)
                    k = (size_t)n;
                memcpy(ws->first + ws->nfirst, dst, k);
                ws->nfirst += k;
            }
            if (ws->ssl) {
                if (BIO_write(ws->rbio, dst, (int)n) != (int)n) {
                    finish(ws, OKT_ENOMEM, "out of memory (TLS)");
                    return;
                }
            } else if (buf_put(&ws->in, dst, (size_t)n) != 0) {
                finish(ws, OKT_ENOMEM, "out of memory");
                return;
            }
            total += (size_t)n;
            /* A short read means the kernel buffer is empty now: asking
             * again would only cost a system call to hear EAGAIN. */
            if ((size_t)n < room ||
                total >= READ_PER_TURN)
                return;
            /* Before the upgrade is done, a head is all we want. */
            if (ws->phase < PH_OPEN && total > ws->max_handshake + RECV_CHUNK)
                return;
            continue;
        }
        if (n == 0) {
            ws->eof = 1;
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ws->eof = 1;
            ws->reset = errno;
        }
        return;
    }
}

static void flush(okt_ws *ws)
{
    size_t n = buf_used(&ws->out);
    if (n == 0 || ws->wfail)
        return;
    ssize_t r;
    do {
        r = send(ws->fd, ws->out.p + ws->out.off, n, MSG_NOSIGNAL);
        ws->st.syscalls++;
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        ws->out.off += (size_t)r;
        ws->st.bytes_out += (uint64_t)r;
        buf_settle(&ws->out);
    } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        ws->wfail = 1;
        ws->reset = errno;
    }
}

static void http_client(okt_ws *ws)
{
    size_t avail = buf_used(&ws->in);
    size_t head = okt_wsh_head_len(buf_at(&ws->in), avail);
    if (head == 0) {
        if (avail > ws->max_handshake)
            finish(ws, OKT_EPROTOCOL,
                   "upgrade response exceeds max_handshake (%zu bytes)",
                   ws->max_handshake);
        else if (ws->eof)
            finish(ws, OKT_ECLOSED, "%s closed the connection during the upgrade",
                   ws->hostport);
        return;
    }
    if (head > ws->max_handshake) {
        finish(ws, OKT_EPROTOCOL,
               "upgrade response exceeds max_handshake (%zu bytes)",
               ws->max_handshake);
        return;
    }
    int status;
    const char *why;
    if (okt_wsh_check_response(buf_at(&ws->in), head, ws->key,
                               ws->subprotocol, &status, &why) != 0) {
        if (status && status != 101)
            finish(ws, OKT_EPROTOCOL, "%s refused the upgrade: HTTP %d",
                   ws->hostport, status);
        else
            finish(ws, OKT_EPROTOCOL, "bad upgrade response from %s: %s",
                   ws->hostport, why);
        return;
    }
    /* Whatever follows the head already belongs to wslay. */
    ws->in.off += head;
    ws->phase = PH_OPEN;
}

static void http_server(okt_ws *ws)
{
    static const char bad[] =
        "HTTP/1.1 400 Bad Request\r\n"
        "Connection: close\r\n"
        "Content-Type: text/plain\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Content-Length: 0\r\n\r\n";
    size_t avail = buf_used(&ws->in);
    /* An upgrade starts "GET ": anything else (a TLS ClientHello on a
     * plain port, say) is answered at once, as HTTP servers do, rather
     * than both ends waiting for more until a timeout. */
    size_t k = avail < 4 ? avail : 4;
    if (k && memcmp(buf_at(&ws->in), "GET ", k) != 0) {
        put_plain(ws, bad, sizeof bad - 1);
        finish(ws, OKT_EPROTOCOL, "bad upgrade request: not an HTTP GET");
        return;
    }
    size_t head = okt_wsh_head_len(buf_at(&ws->in), avail);
    if (head == 0 && avail <= ws->max_handshake) {
        if (ws->eof)
            finish(ws, OKT_ECLOSED, "client closed the connection during the upgrade");
        return;
    }
    if (head == 0 || head > ws->max_handshake) {
        put_plain(ws, bad, sizeof bad - 1);
        finish(ws, OKT_EPROTOCOL, "upgrade request exceeds max_handshake (%zu bytes)",
               ws->max_handshake);
        return;
    }
    okt_wsh_req *req = malloc(sizeof *req);
    if (!req) {
        finish(ws, OKT_ENOMEM, "out of memory");
        return;
    }
    const char *why;
    if (okt_wsh_parse_request(buf_at(&ws->in), head, ws->subprotocol,
                              req, &why) != 0) {
        free(req);
        put_plain(ws, bad, sizeof bad - 1);
        finish(ws, OKT_EPROTOCOL, "bad upgrade request: %s", why);
        return;
    }
    char accept[OKT_WSH_ACCEPT_LEN + 1];
    okt_wsh_accept_for(req->key, accept);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "%s%s%s"
                     "\r\n",
                     accept,
                     req->proto_offered ? "Sec-WebSocket-Protocol: " : "",
                     req->proto_offered ? ws->subprotocol : "",
                     req->proto_offered ? "\r\n" : "");
    ws->path = strdup(req->path);
    free(req);
    if (!ws->path || n < 0 || (size_t)n >= sizeof resp ||
        put_plain(ws, resp, (size_t)n) != 0) {
        finish(ws, OKT_ENOMEM, "out of memory");
        return;
    }
    ws->in.off += head;
    ws->phase = PH_OPEN;
}

static const char *code_text(int code)
{
    switch (code) {
    case 1002: return "protocol error";
    case 1003: return "unsupported data";
    case 1007: return "invalid UTF-8";
    case 1009: return "message too big";
    case 1011: return "internal error";
    default: return "error";
    }
}

/* Frames in, frames out, and the decision whether the connection is over. */
static void ws_frames(okt_ws *ws)
{
    if (!ws->ctx) {
        /* none held: there is framing to do only when bytes came or our
         * close waits to be queued */
        if (!buf_used(&ws->in) && !ws->close_code) {
            ws->out_over = ws->held = 0;
            buf_settle(&ws->in);
            return;
        }
        if (ctx_need(ws) != 0) {
            finish(ws, OKT_ENOMEM, "out of memory");
            return;
        }
    }
    int rerr = 0;
    /* Memory mode: the same back-pressure as want_input gives the socket;
     * fed bytes wait in `in` until the caller takes its messages. */
    int held = ws->mem && ws->rq_bytes > ws->max_msg;
    ws->out_over = 0;
    ws->held = 0;
    for (;;) {
        if (buf_used(&ws->in) && !held && wslay_event_get_read_enabled(ws->ctx))
            rerr = wslay_event_recv(ws->ctx);   /* < 0: read is now disabled */
        /* Server over max_out, so cb_recv stopped framing: push output to
         * the socket and frame on while it takes it. When it takes nothing
         * the peer does not read; EPOLLOUT resumes framing later. (Memory
         * mode has no socket to push to: its host takes the output.) */
        if (rerr != 0 || !ws->server || ws->ssl || ws->mem ||
            !buf_used(&ws->in) || !wslay_event_get_read_enabled(ws->ctx) ||
            okt_ws_out_queued(ws) <= ws->max_out)
            break;
        if (buf_used(&ws->out) < OUT_HIGH && wslay_event_want_write(ws->ctx) &&
            wslay_event_send(ws->ctx) != 0)
            break;   /* reported by the send below */
        size_t before = buf_used(&ws->out);
        flush(ws);
        if (ws->wfail || buf_used(&ws->out) >= before) {
            ws->out_over = 1;
            break;
        }
    }
    if (!wslay_event_get_read_enabled(ws->ctx)) {
        ws->in.off = ws->in.len;   /* nothing after close is for us */
    }
    buf_settle(&ws->in);
    if (ws->fatal_close)
        wslay_event_queue_close(ws->ctx, (uint16_t)ws->fatal_close, NULL, 0);
    for (int pass = 0; pass < 2; pass++) {
        if (buf_used(&ws->out) < OUT_HIGH && wslay_event_want_write(ws->ctx)) {
            int r = wslay_event_send(ws->ctx);
            if (r != 0) {
                finish(ws, r == WSLAY_ERR_NOMEM ? OKT_ENOMEM : OKT_EPROTOCOL,
                       "WebSocket send failed (%d)", r);
                return;
            }
        }
        /* wslay sends control frames ahead of data: hold our close back
         * until the messages queued before it are out. */
        if (!ws->close_code || wslay_event_want_write(ws->ctx))
            break;
        wslay_event_queue_close(ws->ctx, (uint16_t)ws->close_code,
                                (const uint8_t *)ws->close_reason,
                                ws->close_rlen);
        free(ws->close_reason);
        ws->close_reason = NULL;
        ws->close_rlen = 0;
        ws->close_code = 0;
    }
    int rcvd = wslay_event_get_close_received(ws->ctx);
    int sent = wslay_event_get_close_sent(ws->ctx);
    if (rerr != 0 && !ws->fatal_close) {
        /* A malformed frame header (wslay queued a bare close). */
        finish(ws, rerr == WSLAY_ERR_NOMEM ? OKT_ENOMEM : OKT_EPROTOCOL,
               "connection failed: malformed frame");
    } else if (ws->fatal_close) {
        finish(ws, ws->fatal_close == 1003 ? OKT_EPROTOCOL : OKT_ENOMEM,
               "connection failed: %s, sent close %d",
               code_text(ws->fatal_close), ws->fatal_close);
    } else if (!rcvd && !wslay_event_get_read_enabled(ws->ctx)) {
        /* wslay failed the connection itself and queued the close. */
        int code = sent ? wslay_event_get_status_code_sent(ws->ctx) : 1002;
        if (code == 1009)
            finish(ws, OKT_EPROTOCOL,
                   "message exceeds max_msg (%zu bytes), sent close 1009",
                   ws->max_msg);
        else
            finish(ws, OKT_EPROTOCOL, "connection failed: %s, sent close %d",
                   code_text(code), code);
    } else if (rcvd && sent) {
        if (ws->local_close)
            finish(ws, OKT_ECLOSED, "closed: peer answered close with %d",
                   ws->peer_code);
        else
            finish(ws, OKT_ECLOSED, "closed by peer: code %d%s%s",
                   ws->peer_code, ws->peer_reason ? ", " : "",
                   ws->peer_reason ? ws->peer_reason : "");
    }
}

/* Plaintext in `in` -> upgrade, frames, messages; the end of the stream.
 * Shared by the socket turn and memory mode. */
static void process(okt_ws *ws)
{
    if (ws->phase == PH_HTTP) {
        ws->server ? http_server(ws) : http_client(ws);
        buf_settle(&ws->in);   /* (PH_OPEN's is ws_frames') */
    }
    if (ws->phase == PH_OPEN)
        ws_frames(ws);
    if (ws->phase == PH_OPEN && ws->eof) {
        /* The stream ended without a finished close handshake. */
        if (ctx_close_received(ws))
            finish(ws, OKT_ECLOSED, "closed by peer: code %d", ws->peer_code);
        else if (ws->reset)
            finish(ws, OKT_ECLOSED, "connection reset by peer%s",
                   ws->in_frame ? " mid-frame" : "");
        else
            finish(ws, OKT_ECLOSED, "peer vanished %s",
                   ws->in_frame ? "mid-frame" : "without a close frame");
    }
}

int okt_ws_step(okt_ws *ws, int revents, okt_err *err)
{
    if (!ws)
        return okt_err_set(err, OKT_EINVAL, "ws is NULL");
    if (ws->mem)
        return okt_err_set(err, OKT_EINVAL, "memory-mode ws: use okt_ws_feed");
    if (ws->phase == PH_DONE)
        return report(ws, err);

    if (ws->phase == PH_TCP) {
        if (!(revents & (OKT_WANT_READ | OKT_WANT_WRITE)))
            return 0;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        ws->st.syscalls++;
        if (soerr == 0) {
            struct sockaddr_storage ss;
            socklen_t al = sizeof ss;
            ws->st.syscalls++;
            if (getpeername(ws->fd, (struct sockaddr *)&ss, &al) != 0)
                return 0;   /* still connecting: we were asked to try */
            connected(ws);
            revents |= OKT_WANT_WRITE;
        } else {
            ws->ai_cur = ws->ai_cur->ai_next;
            int eno = soerr;
            int r = start_connect(ws, &eno);
            if (r < 0) {
                set_fin(ws, OKT_EREFUSED, "connect to %s: %s",
                        ws->hostport, strerror(eno));
                ws->reset = eno;
                done(ws);
                return report(ws, err);
            }
            if (r == 0)
                return 0;
            connected(ws);
        }
    }

    if ((revents & OKT_WANT_READ) && want_input(ws))
        read_input(ws);

    if (ws->ssl && ws->phase < PH_FINISH) {
        if (ws->phase == PH_TLS)
            tls_handshake(ws);
        if (ws->tls_ready && ws->phase < PH_FINISH)
            tls_read(ws);
        if (ws->phase == PH_TLS && ws->eof)
            finish(ws, ws->server ? OKT_ECLOSED : OKT_ETLS,
                   "connection closed during the TLS handshake");
    }
    process(ws);

    if (ws->ssl) {
        /* Plaintext goes out in FINISH too: a close frame, an HTTP 400. */
        if (ws->tls_ready && !ws->reset)
            tls_write(ws);
        if (ws->phase == PH_FINISH && !ws->tls_bye && ws->tls_ready &&
            !ws->reset && fin_of(ws)->code != OKT_ETLS) {
            ERR_clear_error();
            SSL_shutdown(ws->ssl);   /* queues close_notify */
            ERR_clear_error();
            ws->tls_bye = 1;
        }
        if (tls_drain(ws) != 0)
            finish(ws, OKT_ENOMEM, "out of memory (TLS)");
    }

    uint64_t sent = ws->st.bytes_out;
    if (ws->phase != PH_TCP && !ws->reset)
        flush(ws);
    if (!ws->server && ws->held && ws->phase == PH_OPEN && !ws->wfail &&
        ws->st.bytes_out == sent) {
        /* Input held back since more than max_out waits to go out (a pong
         * per ping: our own requests stay under half of it, see conn.c),
         * and the socket took none of it: the server does not read what
         * it makes us queue. Waiting would hold both for good: fail now,
         * dropping them. */
        finish(ws, OKT_ECLOSED, "the server reads nothing: more than "
               "max_output (%zu bytes) waits to be sent", ws->max_out);
        done(ws);
        return report(ws, err);
    }
    if (ws->wfail && ws->phase < PH_FINISH) {
        if (ws->phase == PH_OPEN && ctx_close_received(ws))
            finish(ws, OKT_ECLOSED, "closed by peer: code %d", ws->peer_code);
        else
            finish(ws, OKT_ECLOSED, "connection lost: %s", strerror(ws->reset));
    }
    if (ws->phase == PH_FINISH &&
        (buf_used(&ws->out) == 0 || ws->wfail || ws->reset)) {
        done(ws);
        return report(ws, err);
    }
    if (!ws->park_later)
        ctx_park(ws);
    return 0;
}

void okt_ws_park_later(okt_ws *ws, int on)
{
    if (ws)
        ws->park_later = on;
}

void okt_ws_park(okt_ws *ws)
{
    if (ws)
        ctx_park(ws);
}

int okt_ws_holds_ctx(const okt_ws *ws)
{
    return ws && ws->ctx;
}

/* ---- the rest of the interface ---------------------------------------- */

int okt_ws_fd(const okt_ws *ws)
{
    return (ws && ws->phase != PH_DONE) ? ws->fd : -1;
}

int okt_ws_events(const okt_ws *ws)
{
    if (!ws || ws->phase == PH_DONE)
        return 0;
    if (ws->phase == PH_TCP)
        return OKT_WANT_WRITE;
    int ev = want_input(ws) ? OKT_WANT_READ : 0;
    if (buf_used(&ws->out) || (ws->tls_ready && buf_used(&ws->pout)) ||
        (ws->phase == PH_OPEN && ctx_want_write(ws)) ||
        (ws->mem && ws->phase == PH_OPEN && ws->close_code))
        ev |= OKT_WANT_WRITE;
    return ev;
}

int okt_ws_state(const okt_ws *ws)
{
    if (!ws)
        return OKT_WS_CLOSED;
    switch (ws->phase) {
    case PH_TCP:
    case PH_TLS:
    case PH_HTTP:
        return OKT_WS_CONNECTING;
    case PH_OPEN:
        if (ws->local_close || ctx_close_received(ws) ||
            ctx_close_sent(ws) || !ctx_read_enabled(ws))
            return OKT_WS_CLOSING;
        return OKT_WS_OPEN;
    case PH_FINISH:
        return OKT_WS_CLOSING;
    default:
        return OKT_WS_CLOSED;
    }
}

int okt_ws_pending(const okt_ws *ws)
{
    if (!ws)
        return 0;
    /* A client's frames held back by the output bound wait in `in` and
     * no more is read meanwhile (want_input): once the output went below
     * the bound they are work to do at once, with nothing to poll for. */
    int held_in = !ws->server && ws->phase == PH_OPEN && buf_used(&ws->in) &&
                  ctx_read_enabled(ws) &&
                  okt_ws_out_queued(ws) <= ws->max_out;
    return ws->rq_head != NULL || held_in ||
           (ws->ssl && ws->phase < PH_FINISH && SSL_pending(ws->ssl) > 0);
}

/* Can a data frame go straight to the output, as wslay would frame it?
 * When the connection is open and wslay holds nothing to send before it
 * (no context, or one with nothing queued and no close begun), and the
 * output is under the bound at which wslay would wait to frame. */
static int can_frame_direct(const okt_ws *ws)
{
    if (ws->phase != PH_OPEN || ws->close_code ||
        buf_used(ws->ssl ? &ws->pout : &ws->out) >= OUT_HIGH)
        return 0;
    return !ws->ctx ||
           (wslay_event_get_queued_msg_count(ws->ctx) == 0 &&
            !wslay_event_want_write(ws->ctx) &&
            !wslay_event_get_close_sent(ws->ctx) &&
            !wslay_event_get_close_received(ws->ctx) &&
            wslay_event_get_read_enabled(ws->ctx));
}

/* One unfragmented frame (RFC 6455 §5.2) into the output: what wslay's
 * queue would make of it, without a context held for it (an idle
 * connection's request goes out without one) nor a copy in its queue. */
static int frame_direct(okt_ws *ws, int opcode, const char *data, size_t len,
                        okt_err *err)
{
    uint8_t h[14];
    size_t hl = 2;
    uint8_t mbit = ws->server ? 0 : 0x80;
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[1] = (uint8_t)(mbit | len);
    } else if (len < 65536) {
        h[1] = mbit | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = mbit | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    uint8_t key[4] = {0, 0, 0, 0};
    if (!ws->server) {
        if (mask_bytes(ws, key, 4) != 0)
            return okt_err_set(err, OKT_ETLS, "no randomness for a mask");
        memcpy(h + hl, key, 4);
        hl += 4;
    }
    buf *b = ws->ssl ? &ws->pout : &ws->out;
    if (len > SIZE_MAX - hl || buf_reserve(b, hl + len) != 0)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    char *dst = b->p + b->len;
    memcpy(dst, h, hl);
    dst += hl;
    if (ws->server) {
        if (len)
            memcpy(dst, data, len);
    } else {   /* eight bytes at a time, the key repeated twice */
        uint8_t k8[8] = {key[0], key[1], key[2], key[3],
                         key[0], key[1], key[2], key[3]};
        uint64_t kw, w;
        memcpy(&kw, k8, 8);
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            memcpy(&w, data + i, 8);
            w ^= kw;
            memcpy(dst + i, &w, 8);
        }
        for (; i < len; i++)
            dst[i] = (char)(data[i] ^ key[i & 3]);
    }
    b->len += hl + len;
    return 0;
}

static int queue_msg(okt_ws *ws, int opcode, const char *data, size_t len,
                     okt_err *err)
{
    if (!ws)
        return okt_err_set(err, OKT_EINVAL, "ws is NULL");
    if (ws->phase >= PH_FINISH)
        return ws->phase == PH_DONE ? report(ws, err)
                                    : okt_err_set(err, OKT_ECLOSED, "%s",
                                                  fin_of(ws)->msg);
    if (!data && len)
        return okt_err_set(err, OKT_EINVAL, "data is NULL");
    if (ws->local_close)
        return okt_err_set(err, OKT_ECLOSED, "connection is closing");
    if (opcode == WSLAY_TEXT_FRAME && can_frame_direct(ws))
        return frame_direct(ws, opcode, data, len, err);
    if (ctx_need(ws) != 0)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    struct wslay_event_msg m = {(uint8_t)opcode, (const uint8_t *)data, len};
    int r = wslay_event_queue_msg(ws->ctx, &m);
    if (r == WSLAY_ERR_NO_MORE_MSG)
        return okt_err_set(err, OKT_ECLOSED, "connection is closing");
    if (r == WSLAY_ERR_NOMEM)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    if (r != 0)
        return okt_err_set(err, OKT_EINVAL, "cannot queue message (%d)", r);
    return 0;
}

int okt_ws_send(okt_ws *ws, const char *data, size_t len, okt_err *err)
{
    if (queue_msg(ws, WSLAY_TEXT_FRAME, data, len, err) != 0)
        return -1;
    ws->st.msgs_out++;
    return 0;
}

int okt_ws_ping(okt_ws *ws, const char *data, size_t len, okt_err *err)
{
    if (len > 125)
        return okt_err_set(err, OKT_EINVAL, "ping payload over 125 bytes");
    return queue_msg(ws, WSLAY_PING, data ? data : "", len, err);
}

int okt_ws_recv(okt_ws *ws, const char **data, size_t *len)
{
    if (!ws)
        return 0;
    free(ws->taken);
    ws->taken = NULL;
    rmsg *m = ws->rq_head;
    if (!m)
        return 0;
    ws->rq_head = m->next;
    if (!ws->rq_head)
        ws->rq_tail = NULL;
    ws->rq_bytes -= m->len;
    ws->rq_n--;
    ws->taken = m;
    *data = m->data;
    *len = m->len;
    return 1;
}

int okt_ws_close(okt_ws *ws, int code, const char *reason)
{
    if (!ws || ws->phase == PH_DONE)
        return -1;
    if (ws->phase >= PH_FINISH || ws->local_close)
        return 0;
    if (ws->phase != PH_OPEN) {
        /* No WebSocket yet: there is no close handshake to run. */
        set_fin(ws, OKT_ECLOSED, "closed before the upgrade finished");
        ws->reset = 0;
        done(ws);
        return 0;
    }
    if (code == 0)
        code = 1000;
    if (code < 1000 || code > 4999)
        return -1;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 123)
        rl = 123;
    if (ctx_close_received(ws))
        return 0;   /* the peer started it; wslay already answers */
    /* Queued by the next step, after the messages already queued. */
    ws->local_close = 1;
    ws->close_code = code;
    if (rl && (ws->close_reason = malloc(rl))) {   /* else without it */
        memcpy(ws->close_reason, reason, rl);
        ws->close_rlen = rl;
    }
    return 0;
}

int okt_ws_peer_close_code(const okt_ws *ws)
{
    return ws ? ws->peer_code : 0;
}

const char *okt_ws_path(const okt_ws *ws)
{
    return (ws && ws->path) ? ws->path : "/";
}

void okt_ws_get_stats(const okt_ws *ws, okt_ws_stats *st)
{
    if (ws)
        *st = ws->st;
    else
        memset(st, 0, sizeof *st);
}

/* ---- memory mode -------------------------------------------------------- */

/* Fed bytes that may wait unprocessed (while the caller has not taken a
 * backlog of messages): one message plus an upgrade head. */
static size_t backlog_max(const okt_ws *ws)
{
    return ws->max_msg + ws->max_handshake;
}

/* FINISH ends once its last bytes (a close frame, an HTTP 400) are taken. */
static void mem_settle(okt_ws *ws)
{
    if (ws->phase == PH_FINISH && buf_used(&ws->out) == 0)
        done(ws);
}

/* 0 while the connection lives; -1 with why once it is over. */
static int mem_status(const okt_ws *ws, okt_err *err)
{
    if (ws->phase < PH_FINISH)
        return 0;
    if (err)
        *err = *fin_of(ws);
    return -1;
}

int okt_ws_feed(okt_ws *ws, const char *bytes, size_t n, okt_err *err)
{
    if (!ws || !ws->mem)
        return okt_err_set(err, OKT_EINVAL, "okt_ws_feed: not a memory-mode ws");
    if (!bytes && n)
        return okt_err_set(err, OKT_EINVAL, "okt_ws_feed: bytes is NULL");
    if (ws->phase >= PH_FINISH)
        return mem_status(ws, err);   /* what comes after the end is dropped */
    if (n) {
        size_t used = buf_used(&ws->in);
        if (n > backlog_max(ws) || used > backlog_max(ws) - n)
            return okt_err_set(err, OKT_EINVAL,
                               "okt_ws_feed: %zu bytes wait unprocessed; take "
                               "the received messages first", used);
        if (buf_put(&ws->in, bytes, n) != 0) {
            finish(ws, OKT_ENOMEM, "out of memory");
            mem_settle(ws);
            return mem_status(ws, err);
        }
        ws->st.bytes_in += n;
    }
    process(ws);
    mem_settle(ws);
    ctx_park(ws);
    return mem_status(ws, err);
}

int okt_ws_feed_eof(okt_ws *ws, okt_err *err)
{
    if (!ws || !ws->mem)
        return okt_err_set(err, OKT_EINVAL, "okt_ws_feed_eof: not a memory-mode ws");
    if (ws->phase < PH_FINISH) {
        ws->eof = 1;
        process(ws);   /* every phase ends on eof: see process and http_* */
    }
    mem_settle(ws);
    return mem_status(ws, err);
}

int okt_ws_output(okt_ws *ws, const char **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    if (!ws || !ws->mem || ws->phase == PH_DONE)
        return 0;
    process(ws);   /* frames the messages queued since the last call */
    ctx_park(ws);
    size_t used = buf_used(&ws->out);
    if (used == 0) {
        mem_settle(ws);
        return 0;
    }
    *p = ws->out.p + ws->out.off;
    *n = used;
    return 1;
}

void okt_ws_consume(okt_ws *ws, size_t n)
{
    if (!ws || !ws->mem || ws->phase == PH_DONE)
        return;
    size_t used = buf_used(&ws->out);
    if (n > used)
        n = used;
    ws->out.off += n;
    ws->st.bytes_out += n;
    buf_settle(&ws->out);
    mem_settle(ws);
}

size_t okt_ws_out_queued(const okt_ws *ws)
{
    if (!ws || ws->phase == PH_DONE)
        return 0;
    size_t n = buf_used(&ws->out) + buf_used(&ws->pout);
    if (ws->ctx)
        n += wslay_event_get_queued_msg_length(ws->ctx) +
             wslay_event_get_queued_msg_count(ws->ctx) * OKT_WS_MSG_COST;
    return n;
}

int okt_ws_out_over(const okt_ws *ws)
{
    return ws && ws->phase != PH_DONE && ws->out_over;
}

size_t okt_ws_mem(const okt_ws *ws)
{
    if (!ws)
        return 0;
    size_t n = sizeof *ws + ws->in.cap + ws->out.cap + ws->pout.cap +
               ws->rq_bytes + ws->rq_n * (sizeof(rmsg) + 1) +
               (size_t)ws->imsg_bytes;
    if (ws->ctx)
        n += WSLAY_CTX_COST;
    if (ws->ctx && ws->phase != PH_DONE)
        n += wslay_event_get_queued_msg_length(ws->ctx) +
             wslay_event_get_queued_msg_count(ws->ctx) * OKT_WS_MSG_COST;
    return n;
}
