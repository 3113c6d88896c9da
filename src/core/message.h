/* message.h - the Oktell WebSocket JSON envelope (fact sheet §2): every
 * message is a text frame holding ["name", {object}]. Parsing, building,
 * requests with qid/userlogin, and the server-to-client multipart form
 * (reassembly for the client, splitting for the emulator).
 * Pure functions plus one small object (okt_mp); no I/O, no clock. */
#ifndef OKT_MESSAGE_H
#define OKT_MESSAGE_H

#include <jansson.h>
#include "okt.h"

/* Parse one whole message. It must be a JSON array of exactly two elements,
 * a string and an object, at most OKT_MAX_JSON_DEPTH deep and at most
 * OKT_MAX_WS_MSG bytes. On success returns 0, *root holds the new array
 * (caller frees with json_decref), *name and *obj are borrowed from it.
 * On failure returns -1, *root is NULL, err is OKT_EPROTOCOL. Duplicate
 * keys are accepted (the last wins), as browsers' JSON.parse does. */
int okt_msg_parse(const char *text, size_t len, json_t **root,
                  const char **name, json_t **obj, okt_err *err);
/* okt_msg_parse for text okt_msg_scan_items passed with a depth bound no
 * larger than OKT_MAX_JSON_DEPTH: its own depth scan is skipped. */
int okt_msg_parse_scanned(const char *text, size_t len, json_t **root,
                          const char **name, json_t **obj, okt_err *err);

/* A linear pre-scan of untrusted JSON text, no allocation, to run before
 * okt_msg_parse where a parse must stay cheap (the emulator): jansson
 * would build every value first. 0 when the text nests at most max_depth,
 * has at most max_items values (containers and comma-separated elements),
 * no string (its bytes as written) or bare token longer than max_token and
 * at most max_total bytes of text in all (strings, numbers, literals and
 * whitespace: all but the structural characters); else -1 with err
 * (OKT_EPROTOCOL) naming the bound, never quoting the input. */
int okt_msg_scan(const char *text, size_t len, unsigned max_depth,
                 size_t max_items, size_t max_token, size_t max_total,
                 okt_err *err);
/* The same, also counting the values into *items (may be NULL): what the
 * parsed tree will cost, roughly len + *items * OKT_JSON_VALUE_COST
 * (jansson's node, its allocation and an object's slot). */
#define OKT_JSON_VALUE_COST 64u
int okt_msg_scan_items(const char *text, size_t len, unsigned max_depth,
                       size_t max_items, size_t max_token, size_t max_total,
                       size_t *items, okt_err *err);

/* Build ["name", obj] as compact JSON (key order kept). obj is borrowed
 * and may be NULL (sent as {}). Returns a malloc'd NUL-terminated string
 * the caller frees, *len (may be NULL) its length; NULL with err. */
char *okt_msg_build(const char *name, const json_t *obj, size_t *len,
                    okt_err *err);

/* Build a request ["method", {userlogin?, ...params, qid}]. userlogin (may
 * be NULL: ping, subscribeevent) goes first unless params holds its own;
 * qid goes last. params is borrowed and may be NULL. Same return as
 * okt_msg_build. */
char *okt_msg_request(const char *method, const char *qid,
                      const char *userlogin, const json_t *params,
                      size_t *len, okt_err *err);

/* The string value of obj.qid, or NULL when absent or not a string.
 * A numeric qid is not ours (we always send strings). Borrowed. */
const char *okt_msg_qid(const json_t *obj);

/* Fact sheet §3.3/§2.2: a reply failed when `error` or `errormsg` is truthy
 * or `result` is present and falsy (0, false, "0", ""). */
int okt_msg_failed(const json_t *obj);

/* ---- multipart (fact sheet §2.6) ------------------------------------ */

typedef struct okt_mp okt_mp;

typedef struct okt_mp_cfg {
    unsigned max_parts;    /* packetcount bound, OKT_MAX_MP_PARTS */
    size_t max_bytes;      /* decoded bytes of one message, OKT_MAX_MP_BYTES */
    unsigned max_pending;  /* partial messages kept, OKT_MAX_MP_PENDING; a
                              new id beyond it evicts the oldest partial */
    size_t max_total;      /* decoded bytes of all partials together,
                              OKT_MAX_MP_TOTAL; a part that would go over
                              evicts the least recently fed other partials */
    int stale_ms;          /* a partial with no new part for this long is
                              dropped, OKT_MP_STALE_MS */
} okt_mp_cfg;

void okt_mp_cfg_init(okt_mp_cfg *cfg);
okt_mp *okt_mp_new(const okt_mp_cfg *cfg, okt_err *err);  /* cfg NULL: defaults */
void okt_mp_free(okt_mp *mp);                             /* NULL ok */

/* Feed the object of one ["multipart", obj] message received at now.
 * Parts: "message-id" (string or integer), "packetcount" and 0-based
 * "packetnumber" (integer or numeric string), "content" (base64 of a slice
 * of the UTF-8 text; padding per part allowed). Parts may come in any
 * order; a duplicate part number is ignored.
 * Returns 1 when this part completed the message: *text (malloc'd, NUL-
 * terminated, caller frees) and *len hold the reassembled text. Returns 0
 * when more parts are needed (or the part was a duplicate). Returns -1 with
 * err (OKT_EPROTOCOL) for a malformed part or a broken bound; the partial
 * message of that id, if any, is dropped. */
int okt_mp_feed(okt_mp *mp, const json_t *obj, int64_t now, char **text,
                size_t *len, okt_err *err);

/* Drop partials stale at now; returns how many were dropped. */
size_t okt_mp_expire(okt_mp *mp, int64_t now);
/* Absolute time the oldest partial goes stale, -1 when none. */
int64_t okt_mp_deadline(const okt_mp *mp);
size_t okt_mp_pending(const okt_mp *mp);   /* partial messages held */
size_t okt_mp_mem(const okt_mp *mp);       /* bytes they hold, roughly */

/* Splitter for the server side: cut text into multipart messages whose
 * decoded content is at most part_bytes (>= 4) each, cut only on UTF-8
 * character boundaries. message_id names the set (use a new one for every
 * message). On success returns 0 with *msgs a malloc'd array of *n malloc'd
 * NUL-terminated message texts (free with okt_mp_split_free); -1 with err
 * (OKT_EINVAL) when the text would need more than OKT_MAX_MP_PARTS parts,
 * is larger than OKT_MAX_MP_BYTES, or is not valid UTF-8 at a cut. */
int okt_mp_split(const char *text, size_t len, const char *message_id,
                 size_t part_bytes, char ***msgs, size_t *n, okt_err *err);
void okt_mp_split_free(char **msgs, size_t n);

#endif
