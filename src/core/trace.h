/* trace.h - a bounded FIFO of whole wire messages, each recorded with its
 * direction ('>' sent, '<' received) and with secrets masked: the value of
 * every key okt_proto_secret() names (Password, password, sessionid) is
 * "***". The session keeps one when its cfg asks for a trace. */
#ifndef OKT_TRACE_H
#define OKT_TRACE_H

#include <stddef.h>
#include "okt.h"

typedef struct okt_trace okt_trace;

/* At most max_records records whose texts total at most max_bytes (plus
 * the newest one); beyond either bound the oldest are dropped and counted.
 * 0 for either: the OKT_MAX_TRACE / OKT_MAX_TRACE_BYTES default. NULL on
 * out of memory. */
okt_trace *okt_trace_new(size_t max_records, size_t max_bytes);
void okt_trace_free(okt_trace *t);                  /* NULL ok */

/* Record one whole message (dir '>' or '<'). It is parsed and written
 * back compact with secrets masked; text that is not JSON is recorded as
 * "<unparsable N bytes>", never raw. A record that cannot be stored (out
 * of memory) is counted as dropped. */
void okt_trace_add(okt_trace *t, int dir, const char *msg, size_t len);

/* The oldest record: 1 with *dir and *text (malloc'd, NUL-terminated, the
 * caller frees), 0 when empty. */
int okt_trace_next(okt_trace *t, int *dir, char **text);

size_t okt_trace_count(const okt_trace *t);    /* records held */
size_t okt_trace_mem(const okt_trace *t);      /* bytes held, roughly */
size_t okt_trace_dropped(const okt_trace *t);  /* records lost so far */

/* The masked form of one message, as recorded (malloc'd, caller frees);
 * NULL on out of memory. */
char *okt_trace_mask(const char *msg, size_t len);

#endif
