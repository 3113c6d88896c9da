/* jsonw.h - the emulator's JSON text writer: what json_dumps(v,
 * JSON_COMPACT) writes, byte for byte, without its costs (a strbuffer, a
 * hash table of the containers for loop checks, a callback per token, a
 * final strdup). It writes trees jansson built; parsing stays jansson's
 * (no hand-written parser). It is exact or declines: it fails where
 * jansson's dump fails (a string that is not UTF-8). */
#ifndef OKT_JSONW_H
#define OKT_JSONW_H

#include <stddef.h>
#include <string.h>
#include <jansson.h>

typedef struct okt_jw {
    char *p;
    size_t len, cap;
    int err;            /* sticky: out of memory, or not dumpable */
} okt_jw;

void okt_jw_init(okt_jw *w);
void okt_jw_free(okt_jw *w);
/* The text (NUL-terminated, malloc'd, *len its length) and a fresh
 * writer; NULL after any failure (the writer is freed either way). */
char *okt_jw_take(okt_jw *w, size_t *len);

/* Room for n more bytes (and a NUL): 0, or -1 with w->err. */
int okt_jw_grow(okt_jw *w, size_t n);
static inline int okt_jw_room(okt_jw *w, size_t n)
{
    return !w->err && w->cap - w->len > n ? 0 : okt_jw_grow(w, n);
}

static inline void okt_jw_raw(okt_jw *w, const char *s, size_t n)
{
    if (okt_jw_room(w, n))
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}
#define OKT_JW_LIT(w, s) okt_jw_raw((w), (s), sizeof(s) - 1)
/* A string value as jansson dumps it: '"', '\\' and control characters
 * escaped (\b \f \n \r \t, else \u00XX), the rest as is; not UTF-8:
 * err. */
void okt_jw_str(okt_jw *w, const char *s, size_t n);
void okt_jw_int(okt_jw *w, long long v);
/* Any value, compact, an object's keys in their order (jansson's). */
void okt_jw_value(okt_jw *w, const json_t *v);

/* ["name",obj] as compact JSON text: what okt_msg_build(name, obj)
 * returns, or NULL where it fails (obj not an object, name not UTF-8, no
 * memory). */
char *okt_jw_msg(const char *name, const json_t *obj, size_t *len);

#endif
