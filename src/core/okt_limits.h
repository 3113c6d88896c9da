/* okt_limits.h - every input bound in one place. Defaults are copied into the
 * cfg structs of the objects that enforce them; 0 is never "unlimited". */
#ifndef OKT_LIMITS_H
#define OKT_LIMITS_H

#define OKT_MAX_WS_MSG          (16u * 1024u * 1024u) /* one WebSocket message */
#define OKT_MAX_HANDSHAKE       (16u * 1024u)         /* HTTP upgrade head */
#define OKT_MAX_WS_OUT          (1024u * 1024u)       /* output waiting (server,
                                                         client's max_output) */
#define OKT_MIN_WS_OUT          (64u * 1024u)         /* client's least max_output */
#define OKT_MAX_SIZE_OPTION     (1024u * 1024u * 1024u) /* largest size option */
#define OKT_CLIENT_MAX_MEMORY   (64u * 1024u * 1024u) /* a client's max_memory */
#define OKT_MIN_MEMORY          (1024u * 1024u)       /* its least value */
#define OKT_MAX_MP_PARTS        4096u                 /* multipart packetcount */
#define OKT_MAX_MP_BYTES        (16u * 1024u * 1024u) /* reassembled multipart */
#define OKT_MAX_MP_PENDING      64u                   /* partial multiparts kept */
#define OKT_MAX_MP_TOTAL        (32u * 1024u * 1024u) /* all partials together */
#define OKT_MP_STALE_MS         30000                 /* drop a partial after */
#define OKT_MAX_PENDING         65536u                /* requests in flight */
#define OKT_MAX_EVENTS          65536u                /* queued events */
#define OKT_MAX_XML_BYTES       (16u * 1024u * 1024u) /* one XML document */
#define OKT_MAX_XML_DEPTH       64u                   /* element nesting */
#define OKT_MAX_XML_ITEMS       100000u               /* elements in one doc */
#define OKT_MAX_XML_ATTRS       256u                  /* attributes of one */
#define OKT_MAX_JSON_DEPTH      64u                   /* envelope nesting */
/* The client scans each message from the server (okt_msg_scan) before
 * jansson builds it: 5 M empty arrays in 16 MB would cost over a GB. A
 * real server's longest replies (lists of users, numbers, queues) stay far
 * below; the emulator takes at most OKT_EMU_JSON_ITEMS in a request.
 * Strings and numbers are bounded by the message alone (OKT_MAX_WS_MSG):
 * they cost what they weigh. */
#define OKT_CLIENT_JSON_ITEMS   200000u               /* values in a message */
#define OKT_MAX_TRACE           4096u                 /* wire trace records */
#define OKT_MAX_TRACE_BYTES     (32u * 1024u * 1024u) /* their text together */
#define OKT_MAX_RECORD_BYTES    (64u * 1024u * 1024u) /* a recording replayed */

/* The emulator's defaults (config keys of emulator.start, docs/EMULATOR.md) */
#define OKT_EMU_SESSION_TTL     (8 * 3600)            /* s a sessionid lives */
#define OKT_EMU_MAX_SESSION_TTL (366 * 24 * 3600)     /* its largest value */
#define OKT_EMU_STORED_SESSIONS 10000                 /* sessionids kept */
#define OKT_EMU_STORED_PER_USER 16                    /* of one user */
#define OKT_EMU_MAX_STORED      1000000               /* largest of both */
#define OKT_EMU_LOGIN_FAILURES  5                     /* before throttling */
#define OKT_EMU_LOGIN_LOCKOUT   60                    /* s, first refusal */
#define OKT_EMU_MAX_LOCKOUT     86400                 /* its largest value */
#define OKT_EMU_FAIL_ADDRS      4096u                 /* addresses tracked */
#define OKT_EMU_LOGIN_TIMEOUT   30                    /* s to log in */
#define OKT_EMU_WRITE_TIMEOUT   30                    /* s of stuck output */
#define OKT_EMU_MAX_CONNECTIONS 10000                 /* then HTTP 503 */
#define OKT_EMU_MAX_MEMORY      (1024u * 1024u * 1024u) /* all conns' buffers */
#define OKT_EMU_JSON_ITEMS      10000u                /* values in a request */
#define OKT_EMU_JSON_TOKEN      (64u * 1024u)         /* longest string */
#define OKT_EMU_JSON_TEXT       (1024u * 1024u)       /* text in a request */

#define OKT_DEFAULT_TIMEOUT_MS  20000                 /* per request */
#define OKT_DEFAULT_PING_MS     15000                 /* keepalive interval */
#define OKT_DEFAULT_OPEN_MS     10000                 /* connect+handshake */

#endif
