/* okt_limits.h - every input bound in one place. Defaults are copied into the
 * cfg structs of the objects that enforce them; 0 is never "unlimited". */
#ifndef OKT_LIMITS_H
#define OKT_LIMITS_H

#define OKT_MAX_WS_MSG          (16u * 1024u * 1024u) /* one WebSocket message */
#define OKT_MAX_HANDSHAKE       (16u * 1024u)         /* HTTP upgrade head */
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
#define OKT_MAX_JSON_DEPTH      64u                   /* envelope nesting */
#define OKT_MAX_TRACE           4096u                 /* wire trace records */
#define OKT_MAX_TRACE_BYTES     (32u * 1024u * 1024u) /* their text together */

#define OKT_DEFAULT_TIMEOUT_MS  20000                 /* per request */
#define OKT_DEFAULT_PING_MS     15000                 /* keepalive interval */
#define OKT_DEFAULT_OPEN_MS     10000                 /* connect+handshake */

#endif
