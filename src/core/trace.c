/* trace.c - the wire trace (see trace.h): a ring of masked message texts,
 * bounded in records and in bytes. */
#include "trace.h"
#include "protocol.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

typedef struct rec {
    char *text;
    size_t len;
    int dir;
} rec;

struct okt_trace {
    rec *r;               /* ring */
    size_t head, n, cap;
    size_t max_records, max_bytes;
    size_t bytes;         /* text held */
    size_t dropped;
};

okt_trace *okt_trace_new(size_t max_records, size_t max_bytes)
{
    okt_trace *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max_records = max_records ? max_records : OKT_MAX_TRACE;
    t->max_bytes = max_bytes ? max_bytes : OKT_MAX_TRACE_BYTES;
    return t;
}

void okt_trace_free(okt_trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->r[(t->head + i) % t->cap].text);
    free(t->r);
    free(t);
}

/* A secret's value is about to be dropped: clear its bytes first, as the
 * session does with the login message it sent (best effort: the parser's
 * own buffers are not ours to clear). */
static void wipe(json_t *v)
{
    if (json_is_string(v))
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

/* Mask every secret key's value in the whole tree, not only in the params
 * object: a caller's params may nest one. Recursion is bounded by the
 * depth jansson's parser accepts. Returns -1 on out of memory. */
static int mask(json_t *v)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it;
             it = json_object_iter_next(v, it)) {
            json_t *x = json_object_iter_value(it);
            if (okt_proto_secret(json_object_iter_key(it))) {
                json_t *star = json_string("***");
                wipe(x);
                if (!star || json_object_iter_set_new(v, it, star))
                    return -1;
            } else if (mask(x)) {
                return -1;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (mask(json_array_get(v, i)))
                return -1;
    }
    return 0;
}

char *okt_trace_mask(const char *msg, size_t len)
{
    json_error_t je;
    json_t *v = msg ? json_loadb(msg, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                 &je)
                    : NULL;
    if (!v) {
        /* raw text could hold a secret the mask cannot find */
        char buf[64];
        snprintf(buf, sizeof buf, "<unparsable %zu bytes>", len);
        return strdup(buf);
    }
    char *out = NULL;
    if (mask(v) == 0)
        out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return out;
}

static void drop_oldest(okt_trace *t)
{
    rec *o = &t->r[t->head];
    t->bytes -= o->len;
    free(o->text);
    t->head = (t->head + 1) % t->cap;
    t->n--;
    t->dropped++;
}

/* Full ring: twice the size (16 at first, at most max_records), unrolled
 * so head is 0. */
static int grow(okt_trace *t)
{
    size_t nc = t->cap ? t->cap * 2 : 16;
    if (nc > t->max_records)
        nc = t->max_records;
    rec *nr = malloc(nc * sizeof *nr);
    if (!nr)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        nr[i] = t->r[(t->head + i) % t->cap];
    free(t->r);
    t->r = nr;
    t->cap = nc;
    t->head = 0;
    return 0;
}

void okt_trace_add(okt_trace *t, int dir, const char *msg, size_t len)
{
    if (!t)
        return;
    char *text = okt_trace_mask(msg, len);
    if (!text) {
        t->dropped++;
        return;
    }
    size_t tl = strlen(text);
    while (t->n &&
           (t->n >= t->max_records || t->bytes + tl > t->max_bytes))
        drop_oldest(t);
    if (t->n == t->cap && grow(t)) {
        free(text);
        t->dropped++;
        return;
    }
    rec *r = &t->r[(t->head + t->n) % t->cap];
    r->text = text;
    r->len = tl;
    r->dir = dir;
    t->n++;
    t->bytes += tl;
}

int okt_trace_next(okt_trace *t, int *dir, char **text)
{
    if (!t || !t->n)
        return 0;
    rec *r = &t->r[t->head];
    *dir = r->dir;
    *text = r->text;
    t->bytes -= r->len;
    t->head = (t->head + 1) % t->cap;
    t->n--;
    return 1;
}

size_t okt_trace_mem(const okt_trace *t)
{
    return t ? sizeof *t + t->cap * sizeof *t->r + t->bytes + t->n : 0;
}

size_t okt_trace_count(const okt_trace *t)
{
    return t ? t->n : 0;
}

size_t okt_trace_dropped(const okt_trace *t)
{
    return t ? t->dropped : 0;
}
