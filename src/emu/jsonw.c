/* jsonw.c - compact JSON text as jansson writes it (jsonw.h). */
#include "jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Containers nested deeper than this are not written (jansson would
 * write them; the model builds nothing near it). Also what stops a cycle,
 * which jansson refuses too. */
#define JW_MAX_DEPTH 256

void okt_jw_init(okt_jw *w)
{
    memset(w, 0, sizeof *w);
}

void okt_jw_free(okt_jw *w)
{
    free(w->p);
    okt_jw_init(w);
}

int okt_jw_grow(okt_jw *w, size_t n)
{
    if (w->err)
        return -1;
    if (w->cap - w->len > n)        /* and one for the NUL */
        return 0;
    size_t cap = w->cap ? w->cap : 512;
    while (cap - w->len <= n) {
        if (cap > SIZE_MAX / 2) {
            w->err = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(w->p, cap);
    if (!p) {
        w->err = 1;
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

char *okt_jw_take(okt_jw *w, size_t *len)
{
    if (w->err || okt_jw_room(w, 0)) {
        okt_jw_free(w);
        return NULL;
    }
    char *s = w->p;
    s[w->len] = '\0';
    if (len)
        *len = w->len;
    okt_jw_init(w);
    return s;
}

static void jw_byte(okt_jw *w, char c)
{
    if (okt_jw_room(w, 1))
        return;
    w->p[w->len++] = c;
}

/* The length of the UTF-8 sequence at s (at most n bytes) by jansson's
 * rules (utf.c: no overlong form, no surrogate, at most U+10FFFF), 0 when
 * it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char u = s[0];
    size_t k;
    uint32_t v;
    if (u < 0x80)
        return 1;
    if (u >= 0xC2 && u <= 0xDF) {
        k = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        k = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        k = 4;
        v = u & 0x07;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
        (k == 3 && v < 0x800) || (k == 4 && v < 0x10000))
        return 0;
    return k;
}

/* Bytes a string's text does not take as they are: control characters,
 * '"', '\\' (escaped) and the start of a UTF-8 sequence (checked). */
#define X16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char special[256] = {
    X16(1), X16(1),                                   /* 0x00 - 0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* '"' */
    X16(0), X16(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* '\\' */
    X16(0), X16(0),
    X16(1), X16(1), X16(1), X16(1), X16(1), X16(1), X16(1), X16(1)};
#undef X16

void okt_jw_str(okt_jw *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n > SIZE_MAX / 2 || okt_jw_room(w, n + 2))
        return;
    w->p[w->len++] = '"';
    for (size_t i = 0; i < n;) {
        /* the run that stays as it is */
        size_t j = i;
        for (;;) {
            while (j < n && !special[s[j]])
                j++;
            if (j == n || s[j] < 0x80)
                break;
            size_t k = utf8_len(s + j, n - j);
            if (!k) {
                w->err = 1;     /* jansson's dump fails too */
                return;
            }
            j += k;
        }
    /* room: this run, one escape (6), what is left and the quote */
        if (okt_jw_room(w, (j - i) + 6 + (n - j) + 1))
            return;
        memcpy(w->p + w->len, s + i, j - i);
        w->len += j - i;
        if (j == n)
            break;
        unsigned char c = s[j];
        char *o = w->p + w->len;
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:    /* as jansson: \u%04X */
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789ABCDEF"[c >> 4];
            *o++ = "0123456789ABCDEF"[c & 15];
            break;
        }
        w->len = (size_t)(o - w->p);
        i = j + 1;
    }
    w->p[w->len++] = '"';
}

void okt_jw_int(okt_jw *w, long long v)
{
    char b[24];
    size_t i = sizeof b;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    okt_jw_raw(w, b + i, sizeof b - i);
}

static void jw_value(okt_jw *w, const json_t *v, int depth)
{
    if (w->err)
        return;
    if (!v) {
        w->err = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        OKT_JW_LIT(w, "null");
        return;
    case JSON_TRUE:
        OKT_JW_LIT(w, "true");
        return;
    case JSON_FALSE:
        OKT_JW_LIT(w, "false");
        return;
    case JSON_INTEGER:
        okt_jw_int(w, (long long)json_integer_value(v));
        return;
    case JSON_REAL: {
        /* jansson's own digits (the model sends no reals to sessions) */
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!s) {
            w->err = 1;
            return;
        }
        okt_jw_raw(w, s, strlen(s));
        free(s);
        return;
    }
    case JSON_STRING:
        okt_jw_str(w, json_string_value(v), json_string_length(v));
        return;
    case JSON_ARRAY: {
        if (depth >= JW_MAX_DEPTH) {
            w->err = 1;
            return;
        }
        size_t n = json_array_size(v);
        jw_byte(w, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                jw_byte(w, ',');
            jw_value(w, json_array_get(v, i), depth + 1);
        }
        jw_byte(w, ']');
        return;
    }
    case JSON_OBJECT: {
        if (depth >= JW_MAX_DEPTH) {
            w->err = 1;
            return;
        }
        jw_byte(w, '{');
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                jw_byte(w, ',');
            first = 0;
            const char *k = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
            okt_jw_str(w, k, json_object_iter_key_len(it));
#else
            okt_jw_str(w, k, strlen(k));
#endif
            jw_byte(w, ':');
            jw_value(w, json_object_iter_value(it), depth + 1);
        }
        jw_byte(w, '}');
        return;
    }
    default:
        w->err = 1;
        return;
    }
}

void okt_jw_value(okt_jw *w, const json_t *v)
{
    jw_value(w, v, 0);
}

char *okt_jw_msg(const char *name, const json_t *obj, size_t *len)
{
    if (!name || (obj && !json_is_object(obj)))
        return NULL;
    okt_jw w;
    okt_jw_init(&w);
    jw_byte(&w, '[');
    okt_jw_str(&w, name, strlen(name));
    jw_byte(&w, ',');
    if (obj)
        jw_value(&w, obj, 1);
    else
        OKT_JW_LIT(&w, "{}");
    jw_byte(&w, ']');
    return okt_jw_take(&w, len);
}
