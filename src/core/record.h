/* record.h - session recordings: the text format oktell.record writes and
 * emulator.replay reads (docs/API.md §3, §5), and the one secret rule both
 * ends apply.
 *
 * A recording is JSON lines: a header {"oktell_record": 1, "version",
 * "login", "url"}, then one line per frame {"t": seconds since the
 * recording started (3 decimals), "dir": ">" sent | "<" received | "!" a
 * note, "frame": the frame's JSON value (a JSON string for text that was
 * not JSON, and for notes)}. */
#ifndef OKT_RECORD_H
#define OKT_RECORD_H

#include <jansson.h>
#include "okt.h"

#define OKT_RECORD_FORMAT 1      /* the header's oktell_record value */
#define OKT_RECORD_MASK "***"    /* what a secret's value is written as */

/* 1 when a value under `key` is never written: the protocol table's
 * secrets (Password, password, sessionid, sippass) and, as a second line
 * of defence, any key with "pass" in it in any case. */
int okt_record_secret(const char *key);

/* The line for one frame (dir '>', '<' or '!') at t_ms (>= 0) since the
 * recording started, without the newline: the frame parsed, every secret
 * masked (okt_record_secret, at any depth) and written back compact; text
 * that is not JSON is written as a JSON string saying only its length
 * (never the raw text), a note ('!') as a JSON string of itself.
 * malloc'd, the caller frees; NULL on out of memory. */
char *okt_record_line(int64_t t_ms, int dir, const char *frame, size_t len);

/* The header line (no newline); url loses any user:password@ part.
 * malloc'd; NULL on out of memory or text that is not UTF-8. */
char *okt_record_header(const char *version, const char *login,
                        const char *url);

/* The first key under which v holds a secret not masked (okt_record_secret
 * and a value other than OKT_RECORD_MASK), at any depth; NULL when none.
 * Borrowed from v. */
const char *okt_record_unmasked(const json_t *v);

#endif
