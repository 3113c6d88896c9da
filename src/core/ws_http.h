/* ws_http.h - the HTTP/1.1 upgrade heads of RFC 6455, split out of ws.c so
 * they can be fuzzed alone. Pure functions over memory: no I/O, no
 * allocation. Internal to liboktell (ws.c and the fuzz target). */
#ifndef OKT_WS_HTTP_H
#define OKT_WS_HTTP_H

#include <stddef.h>

#define OKT_WSH_KEY_LEN 24     /* base64 of 16 bytes */
#define OKT_WSH_ACCEPT_LEN 28  /* base64 of a SHA-1 digest */
#define OKT_WSH_PATH_MAX 2048  /* longest request target we keep */

/* Length of the head (through the blank line "\r\n\r\n") at buf, or 0 when
 * the blank line has not arrived yet. */
size_t okt_wsh_head_len(const char *buf, size_t len);

/* What the server needs from a valid upgrade request. */
typedef struct okt_wsh_req {
    char path[OKT_WSH_PATH_MAX + 1];
    char key[OKT_WSH_KEY_LEN + 1];
    int proto_offered;         /* the client listed our subprotocol */
    int bad_version;           /* failed on Sec-WebSocket-Version */
} okt_wsh_req;

/* Parse a request head of exactly len bytes (from okt_wsh_head_len).
 * subprotocol: the one we serve (NULL or "" for none). Returns 0, or -1
 * with a short reason in why (static string). */
int okt_wsh_parse_request(const char *buf, size_t len, const char *subprotocol,
                          okt_wsh_req *req, const char **why);

/* Check a response head against the key we sent and the subprotocol we
 * offered. Returns 0, or -1 with a reason in why (static string); *status
 * gets the HTTP status code when the status line parsed, else 0. */
int okt_wsh_check_response(const char *buf, size_t len, const char *key,
                           const char *subprotocol, int *status,
                           const char **why);

/* out gets base64(SHA-1(key + GUID)), NUL-terminated. */
void okt_wsh_accept_for(const char *key, char out[OKT_WSH_ACCEPT_LEN + 1]);

/* A fresh random key (base64 of 16 RAND_bytes). Returns 0 or -1. */
int okt_wsh_new_key(char out[OKT_WSH_KEY_LEN + 1]);

#endif
