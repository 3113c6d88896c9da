/* commapper.c - the oktellcommapper XML codec (see commapper.h).
 *
 * Reading: the input is first normalised to UTF-8 (BOM / UTF-16 sniffed
 * here, like lua-cjson sniffs before parsing), then libxml2 parses it
 * through our own SAX2 handler into a small arena tree. Going through SAX
 * instead of a DOM lets us stop at the depth and element limits at once
 * (a 100 MB or 10,000-deep document costs nothing) and keeps decoding fast.
 * The handler declares no entity or DTD callbacks and refuses any DOCTYPE,
 * so no external entity is ever fetched and no entity is ever expanded;
 * the options are NONET|NOERROR|NOWARNING|IGNORE_ENC, never NOENT, DTDLOAD
 * or HUGE. The typed decoder and the generic parse both read that tree.
 *
 * Writing: every document is written by hand into a growing buffer from a
 * generic tree (encode builds the generic tree, then builds the text), so
 * the two writers cannot drift apart. */
#include "commapper.h"
#include "states.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <openssl/evp.h>

/* Order matters: the decoders and encoders switch on the index. */
const char *const okt_xml_kinds[] = {
    "userinfo",      "userstate",           "linestate", "settaskactive",
    "settaskactiveresult", "confirmresult", "event",     NULL,
};
#define KIND_EVENT 6

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init_once(void)
{
    xmlInitParser();
}

void okt_xml_init(void)
{
    pthread_once(&xml_once, xml_init_once);
}

/* ------------------------------------------------------------------ */
/* Arena: every node, attribute and text of one parse lives in a few
 * blocks freed together. */

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    max_align_t data[];
} ablock;

typedef struct arena {
    ablock *head;
} arena;

static void *aalloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    ablock *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 32768 ? n : 32768;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

static void afree(arena *a)
{
    ablock *b = a->head;
    while (b) {
        ablock *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

static char *astrdup(arena *a, const char *s, size_t len)
{
    char *p = aalloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* The tree the SAX handler builds. */

enum { T_OTHER, T_ROOT, T_DATA, T_SIMPLE, T_CDATA, T_SET, T_COLL, T_EVENT };

static const char *const tagnames[] = {
    [T_SIMPLE] = "property_simple", [T_CDATA] = "property_cdata",
    [T_SET] = "property_set",       [T_COLL] = "property_collection",
    [T_EVENT] = "event",
};

typedef struct attr {
    const char *name;
    const char *value;
    size_t len;
} attr;

typedef struct node {
    int tag;
    int nattrs;
    attr *attrs;
    const char *text; /* NULL: no text worth keeping */
    size_t textlen;
    struct node *first, *last, *next;
} node;

typedef struct open_el {
    node *n;
    size_t tstart;    /* where its text starts in the scratch buffer */
    int cdata;        /* saw a CDATA section */
} open_el;

typedef struct pstate {
    xmlParserCtxtPtr ctxt;
    arena ar;
    node *root;
    open_el stack[OKT_MAX_XML_DEPTH + 1];
    unsigned depth;
    unsigned long items;
    char *scratch;
    size_t slen, scap;
    int failed;       /* our own limit or memory failure */
    char msg[200];    /* first error, ours or libxml2's */
} pstate;

static void pfail(pstate *st, const char *msg)
{
    if (!st->failed && !st->msg[0])
        snprintf(st->msg, sizeof st->msg, "%s", msg);
    st->failed = 1;
    xmlStopParser(st->ctxt);
}

static int tag_of(const char *name, unsigned depth)
{
    if (depth == 0)
        return strcmp(name, "oktellcommapper") == 0 ? T_ROOT : T_OTHER;
    if (depth == 1)
        return strcmp(name, "data") == 0 ? T_DATA : T_OTHER;
    switch (name[0]) {
    case 'p':
        if (strncmp(name, "property_", 9) != 0)
            return T_OTHER;
        name += 9;
        if (strcmp(name, "simple") == 0)
            return T_SIMPLE;
        if (strcmp(name, "cdata") == 0)
            return T_CDATA;
        if (strcmp(name, "set") == 0)
            return T_SET;
        if (strcmp(name, "collection") == 0)
            return T_COLL;
        return T_OTHER;
    case 'e':
        return strcmp(name, "event") == 0 ? T_EVENT : T_OTHER;
    default:
        return T_OTHER;
    }
}

/* Without NOENT libxml2 hands attribute values with "&" (from &amp; or
 * &#38;) written back as "&#38;"; since no DTD is allowed that is the only
 * reference left in a value. */
static size_t unescape_amp(char *s, size_t len)
{
    char *w = s;
    const char *r = s, *end = s + len;
    while (r < end) {
        if (*r == '&' && end - r >= 5 && memcmp(r, "&#38;", 5) == 0) {
            *w++ = '&';
            r += 5;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void sax_start(void *ctx, const xmlChar *localname,
                      const xmlChar *prefix, const xmlChar *URI,
                      int nb_namespaces, const xmlChar **namespaces,
                      int nb_attributes, int nb_defaulted,
                      const xmlChar **attributes)
{
    (void)prefix, (void)URI, (void)nb_namespaces, (void)namespaces;
    (void)nb_defaulted;
    pstate *st = ctx;
    if (st->failed)
        return;
    if (st->depth >= OKT_MAX_XML_DEPTH) {
        pfail(st, "document nested deeper than OKT_MAX_XML_DEPTH (64)");
        return;
    }
    if (++st->items > OKT_MAX_XML_ITEMS) {
        pfail(st, "document has more than OKT_MAX_XML_ITEMS elements");
        return;
    }
    node *n = aalloc(&st->ar, sizeof *n);
    if (!n) {
        pfail(st, "out of memory");
        return;
    }
    memset(n, 0, sizeof *n);
    n->tag = tag_of((const char *)localname, st->depth);
    /* Only our own elements need their attributes. */
    if (n->tag != T_OTHER && nb_attributes > 0) {
        n->attrs = aalloc(&st->ar, sizeof(attr) * (size_t)nb_attributes);
        if (!n->attrs) {
            pfail(st, "out of memory");
            return;
        }
        for (int i = 0; i < nb_attributes; i++) {
            const xmlChar **a = attributes + 5 * i;
            size_t vlen = (size_t)(a[4] - a[3]);
            char *v = astrdup(&st->ar, (const char *)a[3], vlen);
            char *nm = astrdup(&st->ar, (const char *)a[0],
                               strlen((const char *)a[0]));
            if (!v || !nm) {
                pfail(st, "out of memory");
                return;
            }
            if (memchr(v, '&', vlen))
                vlen = unescape_amp(v, vlen);
            n->attrs[i].name = nm;
            n->attrs[i].value = v;
            n->attrs[i].len = vlen;
        }
        n->nattrs = nb_attributes;
    }
    if (st->depth == 0) {
        st->root = n;
    } else {
        node *p = st->stack[st->depth - 1].n;
        if (p->last)
            p->last->next = n;
        else
            p->first = n;
        p->last = n;
    }
    st->stack[st->depth].n = n;
    st->stack[st->depth].tstart = st->slen;
    st->stack[st->depth].cdata = 0;
    st->depth++;
}

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

static void sax_end(void *ctx, const xmlChar *localname,
                    const xmlChar *prefix, const xmlChar *URI)
{
    (void)localname, (void)prefix, (void)URI;
    pstate *st = ctx;
    if (st->failed || st->depth == 0)
        return;
    open_el *o = &st->stack[--st->depth];
    size_t len = st->slen - o->tstart;
    const char *t = len ? st->scratch + o->tstart : "";
    if (o->n->tag != T_OTHER && (o->cdata || (len && !all_space(t, len)))) {
        o->n->text = astrdup(&st->ar, t, len);
        o->n->textlen = len;
        if (!o->n->text)
            pfail(st, "out of memory");
    }
    st->slen = o->tstart;
}

static void add_text(pstate *st, const xmlChar *ch, int len, int cdata)
{
    if (st->failed || st->depth == 0 || len <= 0)
        return;
    if (cdata)
        st->stack[st->depth - 1].cdata = 1;
    size_t need = st->slen + (size_t)len;
    if (need > st->scap) {
        size_t cap = st->scap ? st->scap * 2 : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(st->scratch, cap);
        if (!p) {
            pfail(st, "out of memory");
            return;
        }
        st->scratch = p;
        st->scap = cap;
    }
    memcpy(st->scratch + st->slen, ch, (size_t)len);
    st->slen = need;
}

static void sax_chars(void *ctx, const xmlChar *ch, int len)
{
    add_text(ctx, ch, len, 0);
}

static void sax_cdata(void *ctx, const xmlChar *ch, int len)
{
    add_text(ctx, ch, len, 1);
}

/* oktellcommapper never carries a DTD; refusing one outright is what
 * makes entity expansion and external loading impossible. */
static void sax_subset(void *ctx, const xmlChar *name,
                       const xmlChar *ExternalID, const xmlChar *SystemID)
{
    (void)name, (void)ExternalID, (void)SystemID;
    pfail(ctx, "a DOCTYPE is not allowed");
}

static void sax_error(void *ctx, xmlErrorPtr e)
{
    pstate *st = ctx;
    if (!e || e->level < XML_ERR_ERROR || st->msg[0])
        return;
    const char *m = e->message ? e->message : "malformed XML";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    snprintf(st->msg, sizeof st->msg, "line %d: %.*s", e->line, (int)n, m);
}

/* ------------------------------------------------------------------ */
/* Input encodings. */

static int bad(okt_err *err, const char *fmt, const char *arg)
{
    return okt_err_set(err, OKT_EBADXML, fmt, arg);
}

static int put_utf8(char *o, unsigned long c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* UTF-16 (be: big endian) -> new malloc'd UTF-8. Rejects odd lengths and
 * unpaired surrogates. */
static char *utf16_to_utf8(const unsigned char *s, size_t len, int be,
                           size_t *outlen, okt_err *err)
{
    if (len % 2) {
        okt_err_set(err, OKT_EBADXML, "broken UTF-16: odd number of bytes");
        return NULL;
    }
    char *out = malloc(len / 2 * 3 + 1);
    if (!out) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 2) {
        unsigned long c = be ? (unsigned long)(s[i] << 8 | s[i + 1])
                             : (unsigned long)(s[i + 1] << 8 | s[i]);
        if (c >= 0xD800 && c <= 0xDBFF) {
            if (i + 3 >= len)
                goto broken;
            unsigned long d = be ? (unsigned long)(s[i + 2] << 8 | s[i + 3])
                                 : (unsigned long)(s[i + 3] << 8 | s[i + 2]);
            if (d < 0xDC00 || d > 0xDFFF)
                goto broken;
            c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
            i += 2;
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            goto broken;
        }
        o += (size_t)put_utf8(out + o, c);
    }
    out[o] = '\0';
    *outlen = o;
    return out;
broken:
    free(out);
    okt_err_set(err, OKT_EBADXML, "broken UTF-16: unpaired surrogate");
    return NULL;
}

/* Sniff the encoding; *buf is s itself or a malloc'd copy in *owned. */
static int normalise(const char *s, size_t len, const char **buf,
                     size_t *blen, char **owned, okt_err *err)
{
    const unsigned char *u = (const unsigned char *)s;
    *owned = NULL;
    if (!s || len == 0)
        return okt_err_set(err, OKT_EBADXML, "empty document");
    if (len > OKT_MAX_XML_BYTES)
        return okt_err_set(err, OKT_EBADXML,
                           "document larger than OKT_MAX_XML_BYTES (%u)",
                           OKT_MAX_XML_BYTES);
    int be = -1;
    size_t skip = 0;
    if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE)
        be = 0, skip = 2;
    else if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF)
        be = 1, skip = 2;
    else if (len >= 2 && u[0] == '<' && u[1] == 0)
        be = 0;
    else if (len >= 2 && u[0] == 0 && u[1] == '<')
        be = 1;
    if (be >= 0) {
        *owned = utf16_to_utf8(u + skip, len - skip, be, blen, err);
        if (!*owned)
            return -1;
        *buf = *owned;
        return 0;
    }
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        skip = 3;
    *buf = s + skip;
    *blen = len - skip;
    return 0;
}

/* Parse s into st->root. Returns 0 or -1 with err set (bad_xml). */
static int parse_tree(const char *s, size_t len, pstate *st, okt_err *err)
{
    const char *buf = NULL;
    size_t blen = 0;
    char *owned = NULL;
    memset(st, 0, sizeof *st);
    if (normalise(s, len, &buf, &blen, &owned, err) != 0)
        return -1;
    if (blen == 0 || blen > INT_MAX) {
        free(owned);
        return okt_err_set(err, OKT_EBADXML, "empty document");
    }
    okt_xml_init();
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, (int)blen);
    if (!ctxt) {
        free(owned);
        return okt_err_set(err, OKT_ENOMEM, "cannot create an XML parser");
    }
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = sax_start;
    sax.endElementNs = sax_end;
    sax.characters = sax_chars;
    sax.ignorableWhitespace = sax_chars;
    sax.cdataBlock = sax_cdata;
    sax.internalSubset = sax_subset;
    sax.externalSubset = sax_subset;
    sax.serror = sax_error;
    memcpy(ctxt->sax, &sax, sizeof sax);
    ctxt->userData = st;
    st->ctxt = ctxt;
    /* The input is UTF-8 by now, whatever the declaration says. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    xmlParseDocument(ctxt);
    int ok = ctxt->wellFormed && !st->failed && st->root;
    if (ctxt->myDoc)
        xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    st->ctxt = NULL;
    free(owned);
    free(st->scratch);
    st->scratch = NULL;
    if (!ok) {
        if (st->failed && strcmp(st->msg, "out of memory") == 0)
            okt_err_set(err, OKT_ENOMEM, "out of memory");
        else if (st->failed)
            okt_err_set(err, OKT_EBADXML, "%s", st->msg);
        else
            okt_err_set(err, OKT_EBADXML, "not well-formed XML: %s",
                        st->msg[0] ? st->msg : "no root element");
        afree(&st->ar);
        return -1;
    }
    if (st->root->tag != T_ROOT) {
        afree(&st->ar);
        return okt_err_set(err, OKT_EBADXML, "root element is not <oktellcommapper>");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tree access. */

static const attr *getattr(const node *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

static const char *attrval(const node *n, const char *name)
{
    const attr *a = getattr(n, name);
    return a ? a->value : NULL;
}

static const node *child(const node *n, int tag)
{
    for (const node *c = n->first; c; c = c->next)
        if (c->tag == tag)
            return c;
    return NULL;
}

/* A field: property_simple/property_cdata with that key, directly inside
 * n or inside one of n's property_set children. */
static const node *field(const node *n, const char *key)
{
    for (const node *c = n->first; c; c = c->next) {
        if (c->tag == T_SIMPLE || c->tag == T_CDATA) {
            const char *k = attrval(c, "key");
            if (k && strcmp(k, key) == 0)
                return c;
        } else if (c->tag == T_SET) {
            const node *f = field(c, key);
            if (f)
                return f;
        }
    }
    return NULL;
}

/* A field's text value: the CDATA of property_cdata, else the value
 * attribute (falling back to the text). */
static const char *fstr(const node *f, size_t *len)
{
    if (f->tag == T_CDATA || !getattr(f, "value")) {
        *len = f->text ? f->textlen : 0;
        return f->text ? f->text : "";
    }
    const attr *a = getattr(f, "value");
    *len = a->len;
    return a->value;
}

/* Strict integer: optional spaces, optional '-', digits. */
static int parse_int(const char *s, long long *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return -1;
    long long v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (LLONG_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (*s)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    long long v;
    if (parse_int(s, &v) == 0 && (v == 0 || v == 1)) {
        *out = (int)v;
        return 0;
    }
    if (strcasecmp(s, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(s, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Typed decode. Each decoder fills obj and returns 0, or -1 with err. */

#define NOMEM(err) okt_err_set(err, OKT_ENOMEM, "out of memory")

static int set(json_t *obj, const char *key, json_t *v, okt_err *err)
{
    if (!v || json_object_set_new_nocheck(obj, key, v) != 0)
        return NOMEM(err);
    return 0;
}

/* libxml2 has validated the UTF-8 of every text and attribute. */
static json_t *jstr(const char *s, size_t len)
{
    return json_stringn_nocheck(s, len);
}

static int set_str(json_t *obj, const char *key, const node *f, okt_err *err)
{
    size_t len;
    const char *s = fstr(f, &len);
    return set(obj, key, jstr(s, len), err);
}

/* Copy an optional string field. */
static int opt_str(json_t *obj, const node *n, const char *key, okt_err *err)
{
    const node *f = field(n, key);
    return f ? set_str(obj, key, f, err) : 0;
}

static int req_str(json_t *obj, const node *n, const char *key,
                   const char *kind, okt_err *err)
{
    const node *f = field(n, key);
    if (!f)
        return okt_err_set(err, OKT_EBADXML, "%s: missing required '%s'",
                           kind, key);
    return set_str(obj, key, f, err);
}

static int get_int(const node *f, const char *key, long long *v, okt_err *err)
{
    size_t len;
    const char *s = fstr(f, &len);
    if (parse_int(s, v) != 0)
        return okt_err_set(err, OKT_EBADXML, "'%s' is not a number", key);
    return 0;
}

static int get_bool(const node *f, const char *key, int *v, okt_err *err)
{
    size_t len;
    const char *s = fstr(f, &len);
    if (parse_bool(s, v) != 0)
        return okt_err_set(err, OKT_EBADXML, "'%s' is not 0 or 1", key);
    return 0;
}

static int opt_bool(json_t *obj, const node *n, const char *key, okt_err *err)
{
    const node *f = field(n, key);
    int b;
    if (!f)
        return 0;
    if (get_bool(f, key, &b, err) != 0)
        return -1;
    return set(obj, key, json_boolean(b), err);
}

static int dec_userinfo(const node *d, json_t *o, okt_err *err)
{
    const node *f;
    long long v;
    if (req_str(o, d, "id", "userinfo", err))
        return -1;
    if ((f = field(d, "type"))) {
        if (get_int(f, "type", &v, err) || set(o, "type", json_integer(v), err))
            return -1;
        const char *tn = attrval(f, "name");
        if (tn && set(o, "type_name", json_string_nocheck(tn), err))
            return -1;
        if (!tn && v == 1 && set(o, "type_name", json_string("utUser"), err))
            return -1;
    }
    if (opt_str(o, d, "name", err) || opt_bool(o, d, "isoperator", err))
        return -1;
    if ((f = field(d, "group"))) {
        json_t *g = json_object();
        if (set(o, "group", g, err))
            return -1;
        const char *id = attrval(f, "value"), *nm = attrval(f, "name");
        if (id && set(g, "id", json_string_nocheck(id), err))
            return -1;
        if (nm && set(g, "name", json_string_nocheck(nm), err))
            return -1;
    }
    if (req_str(o, d, "login", "userinfo", err) ||
        opt_str(o, d, "password", err))
        return -1;
    if ((f = field(d, "role"))) {
        json_t *r = json_object();
        if (set(o, "role", r, err))
            return -1;
        const char *id = attrval(f, "value");
        if (id && set(r, "id", json_string_nocheck(id), err))
            return -1;
        if ((f->tag == T_CDATA || f->text) &&
            set(r, "name", jstr(f->text ? f->text : "", f->textlen), err))
            return -1;
    }
    if (opt_str(o, d, "callerid", err) || opt_str(o, d, "info", err))
        return -1;
    /* Rights: the role's property_set inside the properties collection. */
    json_t *rights = NULL, *titles = NULL;
    for (const node *c = d->first; c; c = c->next) {
        if (c->tag != T_COLL)
            continue;
        if (!rights) {
            rights = json_object();
            titles = json_object();
            if (set(o, "rights", rights, err) ||
                set(o, "right_titles", titles, err))
                return -1;
        }
        for (const node *s = c->first; s; s = s->next) {
            const char *sn = s->tag == T_SET ? attrval(s, "name") : NULL;
            if (!sn || strcmp(sn, "role") != 0)
                continue;
            for (const node *r = s->first; r; r = r->next) {
                const char *k;
                if ((r->tag != T_SIMPLE && r->tag != T_CDATA) ||
                    !(k = attrval(r, "key")))
                    continue;
                /* Lenient: newer servers may use other values; only an
                 * explicit 0/false/empty denies. */
                const char *val = attrval(r, "value");
                int on = !val || !(val[0] == '\0' || strcmp(val, "0") == 0 ||
                                   strcasecmp(val, "false") == 0);
                if (set(rights, k, json_boolean(on), err))
                    return -1;
                if (r->tag == T_CDATA &&
                    set(titles, k, jstr(r->text ? r->text : "", r->textlen),
                        err))
                    return -1;
            }
        }
    }
    return 0;
}

/* state field of userstate / linestate. */
static int dec_state(const node *d, json_t *o, int line, okt_err *err)
{
    const char *kind = line ? "linestate" : "userstate";
    const node *f = field(d, "state");
    long long code;
    if (!f)
        return okt_err_set(err, OKT_EBADXML, "%s: missing required 'state'",
                           kind);
    if (!getattr(f, "value") && !f->text && attrval(f, "name")) {
        /* Only the enum name is given: take it. */
        int c = line ? okt_linestate_code(attrval(f, "name"))
                     : okt_userstate_code(attrval(f, "name"));
        if (c < 0)
            return okt_err_set(err, OKT_EBADXML, "%s: unknown state '%.60s'",
                               kind, attrval(f, "name"));
        code = c;
    } else if (get_int(f, "state", &code, err)) {
        return -1;
    }
    const char *nm = line ? okt_linestate_name(code) : okt_userstate_name(code);
    if (!nm)
        return okt_err_set(err, OKT_EBADXML, "%s: unknown state code %lld",
                           kind, code);
    if (set(o, "state", json_string(nm), err) ||
        set(o, "code", json_integer(code), err))
        return -1;
    if (line)
        return 0;
    return opt_bool(o, d, "redirect", err) || opt_str(o, d, "description", err)
               ? -1
               : 0;
}

static int dec_settaskactive(const node *d, json_t *o, okt_err *err)
{
    const node *f = field(d, "tasktype");
    size_t len;
    if (!f)
        return bad(err, "settaskactive: missing required '%s'", "tasktype");
    const char *t = fstr(f, &len);
    if (strcasecmp(t, "call") != 0 && strcasecmp(t, "text") != 0)
        return okt_err_set(err, OKT_EBADXML,
                           "settaskactive: tasktype '%.40s' is not call/text",
                           t);
    if (set(o, "tasktype", json_string(tolower((unsigned char)t[0]) == 'c'
                                           ? "call" : "text"), err))
        return -1;
    if (req_str(o, d, "idtask", "settaskactive", err))
        return -1;
    if (!(f = field(d, "active")))
        return bad(err, "settaskactive: missing required '%s'", "active");
    long long v;
    const char *s = fstr(f, &len);
    int on;
    if (parse_int(s, &v) == 0 && (v == 1 || v == 2 || v == 0))
        on = v == 1;
    else if (parse_bool(s, &on) != 0)
        return bad(err, "settaskactive: 'active' is %s", "not 1 or 2");
    return set(o, "active", json_boolean(on), err);
}

static int dec_settaskresult(const node *d, json_t *o, okt_err *err)
{
    const node *f = field(d, "success");
    int b;
    if (!f)
        return bad(err, "settaskactiveresult: missing required '%s'",
                   "success");
    if (get_bool(f, "success", &b, err) || set(o, "success", json_boolean(b), err))
        return -1;
    return opt_str(o, d, "errormessage", err);
}

static const char *const confirm_words[] = {"ok", "skip", "delete"};

static int dec_confirmresult(const node *d, json_t *o, okt_err *err)
{
    const node *f = field(d, "result");
    size_t len;
    long long v;
    if (!f)
        return bad(err, "confirmresult: missing required '%s'", "result");
    const char *s = fstr(f, &len);
    int r = -1;
    if (parse_int(s, &v) == 0 && v >= 0 && v <= 2)
        r = (int)v;
    for (int i = 0; r < 0 && i < 3; i++)
        if (strcasecmp(s, confirm_words[i]) == 0)
            r = i;
    if (r < 0)
        return okt_err_set(err, OKT_EBADXML,
                           "confirmresult: result '%.40s' is not 0/1/2", s);
    return set(o, "result", json_string(confirm_words[r]), err);
}

static const struct {
    int id;
    const char *name;
} events[] = {
    {121, "tminterfaceconfirm"},
    {122, "tminterfacereserve"},
    {123, "tminterfaceclose"},
};

static const char *event_name(long long id)
{
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (events[i].id == id)
            return events[i].name;
    return NULL;
}

static int event_id(const char *name)
{
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (strcasecmp(events[i].name, name) == 0)
            return events[i].id;
    return -1;
}

/* base64 (OpenSSL EVP, whitespace tolerated) -> malloc'd bytes. */
static unsigned char *b64_decode(const char *s, size_t len, size_t *outlen)
{
    if (len > INT_MAX)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 80);
    EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
    int n1 = 0, n2 = 0;
    if (!out || !c)
        goto fail;
    EVP_DecodeInit(c);
    if (EVP_DecodeUpdate(c, out, &n1, (const unsigned char *)s, (int)len) < 0)
        goto fail;
    if (EVP_DecodeFinal(c, out + n1, &n2) < 0)
        goto fail;
    EVP_ENCODE_CTX_free(c);
    *outlen = (size_t)n1 + (size_t)n2;
    return out;
fail:
    EVP_ENCODE_CTX_free(c);
    free(out);
    return NULL;
}

static char *b64_encode(const char *s, size_t len)
{
    if (len > INT_MAX / 2)
        return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
                        (int)len);
    return out;
}

static int dec_event(const node *d, json_t *o, okt_err *err)
{
    const node *e = child(d, T_EVENT);
    long long id;
    const node *f;
    const char *ids = attrval(e, "id");
    if (!ids)
        return bad(err, "event: missing required '%s'", "id");
    if (parse_int(ids, &id) != 0)
        return bad(err, "event: 'id' is %s", "not a number");
    const char *nm = event_name(id);
    if (!nm)
        return okt_err_set(err, OKT_EBADXML, "event: unknown event id %lld",
                           id);
    if (set(o, "id", json_integer(id), err) ||
        set(o, "name", json_string(nm), err))
        return -1;
    if (req_str(o, e, "idtask", "event", err))
        return -1;
    static const char *const strs[] = {"idproject", "taskname", "taskcode",
                                       "idlist", "number"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (opt_str(o, e, strs[i], err))
            return -1;
    if ((f = field(e, "idinlist"))) {
        size_t len;
        const char *s = fstr(f, &len);
        if (!all_space(s, len)) {
            if (get_int(f, "idinlist", &id, err) ||
                set(o, "idinlist", json_integer(id), err))
                return -1;
        }
    }
    if ((f = field(e, "textb64"))) {
        size_t len, tlen;
        const char *s = fstr(f, &len);
        if (set(o, "textb64", jstr(s, len), err))
            return -1;
        unsigned char *t = b64_decode(s, len, &tlen);
        if (!t)
            return bad(err, "event: textb64 is %s", "not valid base64");
        json_t *js = json_stringn((const char *)t, tlen);
        free(t);
        if (!js)
            return bad(err, "event: textb64 does %s", "not decode to UTF-8");
        if (set(o, "text", js, err))
            return -1;
    }
    return 0;
}

int okt_xml_decode(const char *s, size_t len, json_t **value,
                   const char **kind, okt_err *err)
{
    pstate st;
    *value = NULL;
    if (kind)
        *kind = NULL;
    if (parse_tree(s, len, &st, err) != 0)
        return -1;
    const node *d = child(st.root, T_DATA);
    const char *k = NULL;
    json_t *o = NULL;
    int rc = -1;
    if (!d) {
        okt_err_set(err, OKT_EBADXML, "no <data> element");
        goto out;
    }
    /* The data name gives the kind; events come in an unnamed <data>. */
    const char *dn = attrval(d, "name");
    int ki = -1;
    for (int i = 0; dn && okt_xml_kinds[i]; i++)
        if (i != KIND_EVENT && strcmp(okt_xml_kinds[i], dn) == 0)
            ki = i;
    if (ki < 0 && child(d, T_EVENT))
        ki = KIND_EVENT;
    if (ki < 0) {
        okt_err_set(err, OKT_EBADXML, "unknown data name '%.60s'",
                    dn ? dn : "");
        goto out;
    }
    k = okt_xml_kinds[ki];
    if (!(o = json_object())) {
        NOMEM(err);
        goto out;
    }
    switch (ki) {
    case 0: rc = dec_userinfo(d, o, err); break;
    case 1: rc = dec_state(d, o, 0, err); break;
    case 2: rc = dec_state(d, o, 1, err); break;
    case 3: rc = dec_settaskactive(d, o, err); break;
    case 4: rc = dec_settaskresult(d, o, err); break;
    case 5: rc = dec_confirmresult(d, o, err); break;
    default: rc = dec_event(d, o, err); break;
    }
out:
    afree(&st.ar);
    if (rc != 0) {
        json_decref(o);
        return -1;
    }
    *value = o;
    if (kind)
        *kind = k;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Generic parse. */

static json_t *tree_items(const node *n, okt_err *err);
static int valid_name(const char *s);

static json_t *tree_item(const node *n, okt_err *err)
{
    json_t *o = json_object();
    if (!o || json_object_set_new_nocheck(o, "tag",
                                          json_string(tagnames[n->tag])))
        goto nomem;
    for (int i = 0; i < n->nattrs; i++) {
        const char *k = n->attrs[i].name;
        /* tag, text and items are ours, and build writes ASCII names
         * only; such attributes cannot survive a round trip. */
        if (!strcmp(k, "tag") || !strcmp(k, "text") || !strcmp(k, "items") ||
            !valid_name(k))
            continue;
        if (json_object_set_new_nocheck(
                o, k, jstr(n->attrs[i].value, n->attrs[i].len)))
            goto nomem;
    }
    if (n->text || n->tag == T_CDATA) {
        if (json_object_set_new_nocheck(
                o, "text", jstr(n->text ? n->text : "", n->textlen)))
            goto nomem;
    }
    for (const node *c = n->first; c; c = c->next) {
        if (c->tag == T_OTHER)
            continue;
        json_t *items = tree_items(n, err);
        if (!items || json_object_set_new_nocheck(o, "items", items)) {
            json_decref(o);
            return NULL;
        }
        break;
    }
    return o;
nomem:
    json_decref(o);
    NOMEM(err);
    return NULL;
}

static json_t *tree_items(const node *n, okt_err *err)
{
    json_t *a = json_array();
    if (!a) {
        NOMEM(err);
        return NULL;
    }
    for (const node *c = n->first; c; c = c->next) {
        if (c->tag == T_OTHER)
            continue;
        json_t *it = tree_item(c, err);
        if (!it || json_array_append_new(a, it)) {
            json_decref(a);
            if (it)
                NOMEM(err);
            return NULL;
        }
    }
    return a;
}

int okt_xml_parse(const char *s, size_t len, json_t **doc, okt_err *err)
{
    pstate st;
    *doc = NULL;
    if (parse_tree(s, len, &st, err) != 0)
        return -1;
    const char *ver = attrval(st.root, "version");
    const node *d = child(st.root, T_DATA);
    const char *dn = d ? attrval(d, "name") : NULL;
    okt_err_clear(err);
    json_t *items = d ? tree_items(d, err) : json_array();
    json_t *o = items ? json_object() : NULL;
    if (!o || json_object_set_new_nocheck(o, "items", items) ||
        (ver && json_object_set_new_nocheck(o, "version",
                                            json_string_nocheck(ver))) ||
        (dn && json_object_set_new_nocheck(o, "name",
                                           json_string_nocheck(dn)))) {
        if (!o)
            json_decref(items);
        json_decref(o);
        afree(&st.ar);
        if (!err || err->code == OKT_EOK)
            NOMEM(err);
        return -1;
    }
    afree(&st.ar);
    *doc = o;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writing. */

typedef struct wbuf {
    char *p;
    size_t len, cap;
    int oom;
} wbuf;

static void w_raw(wbuf *w, const char *s, size_t n)
{
    if (w->oom)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *p = realloc(w->p, cap);
        if (!p) {
            w->oom = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void w_str(wbuf *w, const char *s)
{
    w_raw(w, s, strlen(s));
}

static void w_indent(wbuf *w, int level)
{
    static const char sp[] = "                                        ";
    size_t n = (size_t)level * 2;
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        w_raw(w, sp, k);
        n -= k;
    }
}

/* XML 1.0 excludes most C0 controls; refuse them instead of writing a
 * document nobody can read back. */
static int bad_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 1;
    }
    return 0;
}

static void w_attrval(wbuf *w, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\t': rep = "&#9;"; break;
        case '\n': rep = "&#10;"; break;
        case '\r': rep = "&#13;"; break;
        default: continue;
        }
        w_raw(w, s + start, i - start);
        w_str(w, rep);
        start = i + 1;
    }
    w_raw(w, s + start, n - start);
}

static void w_attr(wbuf *w, const char *name, const char *v, size_t n)
{
    w_raw(w, " ", 1);
    w_str(w, name);
    w_raw(w, "=\"", 2);
    w_attrval(w, v, n);
    w_raw(w, "\"", 1);
}

/* CDATA cannot hold "]]>" and a parser turns \r into \n inside it, so
 * split there: "]]" + ">" and "&#13;" outside the section. */
static void w_cdata(wbuf *w, const char *s, size_t n)
{
    w_str(w, "<![CDATA[");
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            w_raw(w, s + start, i - start);
            w_str(w, "]]>&#13;<![CDATA[");
            start = i + 1;
        } else if (s[i] == ']' && i + 2 < n && s[i + 1] == ']' &&
                   s[i + 2] == '>') {
            w_raw(w, s + start, i + 2 - start);
            w_str(w, "]]><![CDATA[");
            start = i + 2;
        }
    }
    w_raw(w, s + start, n - start);
    w_str(w, "]]>");
}

static int valid_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int attr_rank(const char *k)
{
    static const char *const order[] = {"key", "value", "name", "id", "count"};
    for (int i = 0; i < 5; i++)
        if (strcmp(k, order[i]) == 0)
            return i;
    return 5;
}

static int cmp_attr(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = attr_rank(x), ry = attr_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* A real holding an integer a long long can take. The range comes first:
 * casting 1e300 (or NaN) to long long is undefined behaviour. */
static int real_integral(const json_t *v)
{
    if (!json_is_real(v))
        return 0;
    double d = json_real_value(v);
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
           d == (double)(long long)d;
}

/* A JSON scalar as attribute text: strings as they are, integers and
 * booleans (1/0) in decimal. */
static int scalar_text(const json_t *v, char *buf, size_t bufsz,
                       const char **s, size_t *n)
{
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = json_string_length(v);
    } else if (json_is_integer(v)) {
        *n = (size_t)snprintf(buf, bufsz, "%lld",
                              (long long)json_integer_value(v));
        *s = buf;
    } else if (real_integral(v)) {
        *n = (size_t)snprintf(buf, bufsz, "%lld",
                              (long long)json_real_value(v));
        *s = buf;
    } else if (json_is_boolean(v)) {
        *s = json_is_true(v) ? "1" : "0";
        *n = 1;
    } else {
        return -1;
    }
    return 0;
}

static int build_items(wbuf *w, const json_t *items, int level, int compact,
                       okt_err *err);

/* compact: no indentation around the element, because its parent has text
 * of its own that the blanks would join. */
static int build_item(wbuf *w, const json_t *it, int level, int compact,
                      okt_err *err)
{
    if (!json_is_object(it))
        return okt_err_set(err, OKT_EINVAL, "item is not a table");
    const json_t *tag = json_object_get(it, "tag");
    const char *t = json_string_value(tag);
    int ok = 0;
    for (int i = T_SIMPLE; t && i <= T_EVENT; i++)
        ok |= strcmp(t, tagnames[i]) == 0;
    if (!ok)
        return okt_err_set(err, OKT_EINVAL,
                           "item tag must be property_simple, property_cdata, "
                           "property_set, property_collection or event");
    const char *keys[64];
    size_t nk = 0;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)it, k, v) {
        if (!strcmp(k, "tag") || !strcmp(k, "text") || !strcmp(k, "items"))
            continue;
        if (nk == sizeof keys / sizeof keys[0])
            return okt_err_set(err, OKT_EINVAL, "item has too many attributes");
        if (!valid_name(k))
            return okt_err_set(err, OKT_EINVAL,
                               "'%.40s' is not a valid attribute name", k);
        keys[nk++] = k;
    }
    qsort(keys, nk, sizeof keys[0], cmp_attr);
    if (!compact)
        w_indent(w, level);
    w_raw(w, "<", 1);
    w_str(w, t);
    for (size_t i = 0; i < nk; i++) {
        char buf[32];
        const char *s;
        size_t n;
        if (scalar_text(json_object_get(it, keys[i]), buf, sizeof buf, &s, &n))
            return okt_err_set(err, OKT_EINVAL,
                               "attribute '%.40s' must be a string", keys[i]);
        if (bad_chars(s, n))
            return okt_err_set(err, OKT_EINVAL,
                               "attribute '%.40s' has a control character",
                               keys[i]);
        w_attr(w, keys[i], s, n);
    }
    const json_t *text = json_object_get(it, "text");
    const json_t *items = json_object_get(it, "items");
    if (json_is_object(items) && json_object_size(items) == 0)
        items = NULL; /* an empty Lua table */
    if (text && !json_is_string(text))
        return okt_err_set(err, OKT_EINVAL, "item text must be a string");
    if (items && !json_is_array(items))
        return okt_err_set(err, OKT_EINVAL, "item items must be a list");
    if (text && bad_chars(json_string_value(text), json_string_length(text)))
        return okt_err_set(err, OKT_EINVAL, "text has a control character");
    int cdata = text || strcmp(t, "property_cdata") == 0;
    int kids = items && json_array_size(items) > 0;
    if (!cdata && !kids) {
        w_str(w, compact ? " />" : " />\n");
        return 0;
    }
    w_raw(w, ">", 1);
    if (cdata)
        w_cdata(w, text ? json_string_value(text) : "",
                text ? json_string_length(text) : 0);
    if (kids) {
        if (level + 2 > (int)OKT_MAX_XML_DEPTH)
            return okt_err_set(err, OKT_EINVAL, "items nested too deep");
        if (!cdata)
            w_raw(w, "\n", 1);
        if (build_items(w, items, level + 1, cdata, err))
            return -1;
        if (!cdata)
            w_indent(w, level);
    }
    w_raw(w, "</", 2);
    w_str(w, t);
    w_str(w, compact ? ">" : ">\n");
    return 0;
}

static int build_items(wbuf *w, const json_t *items, int level, int compact,
                       okt_err *err)
{
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it) {
        if (build_item(w, it, level, compact, err))
            return -1;
    }
    return 0;
}

/* UTF-8 -> UTF-16LE with a BOM (input is valid UTF-8: jansson strings and
 * our own markup). */
static char *to_utf16le(const char *s, size_t n, size_t *outlen)
{
    unsigned char *o = malloc(2 + n * 2 + 2);
    if (!o)
        return NULL;
    size_t k = 0;
    o[k++] = 0xFF;
    o[k++] = 0xFE;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned long c = u[i];
        int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
        if (extra)
            c &= 0x3F >> extra;
        for (int j = 1; j <= extra && i + (size_t)j < n; j++)
            c = (c << 6) | (u[i + (size_t)j] & 0x3F);
        i += (size_t)extra + 1;
        if (c >= 0x10000) {
            c -= 0x10000;
            unsigned long hi = 0xD800 + (c >> 10), lo = 0xDC00 + (c & 0x3FF);
            o[k++] = (unsigned char)(hi & 0xFF);
            o[k++] = (unsigned char)(hi >> 8);
            o[k++] = (unsigned char)(lo & 0xFF);
            o[k++] = (unsigned char)(lo >> 8);
        } else {
            o[k++] = (unsigned char)(c & 0xFF);
            o[k++] = (unsigned char)(c >> 8);
        }
    }
    o[k] = o[k + 1] = 0;
    *outlen = k;
    return (char *)o;
}

int okt_xml_build(const json_t *doc, int utf16, char **out, size_t *outlen,
                  okt_err *err)
{
    wbuf w = {0};
    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (!json_is_object(doc))
        return okt_err_set(err, OKT_EINVAL, "document is not a table");
    const json_t *ver = json_object_get(doc, "version");
    const json_t *name = json_object_get(doc, "name");
    const json_t *items = json_object_get(doc, "items");
    if (json_is_object(items) && json_object_size(items) == 0)
        items = NULL; /* an empty Lua table */
    char vbuf[32];
    const char *vs = OKT_XML_VERSION;
    size_t vn = strlen(vs);
    if (ver && scalar_text(ver, vbuf, sizeof vbuf, &vs, &vn))
        return okt_err_set(err, OKT_EINVAL, "version must be a string");
    if (name && !json_is_string(name))
        return okt_err_set(err, OKT_EINVAL, "name must be a string");
    if (items && !json_is_array(items))
        return okt_err_set(err, OKT_EINVAL, "items must be a list");
    if (bad_chars(vs, vn) || (name && bad_chars(json_string_value(name),
                                                json_string_length(name))))
        return okt_err_set(err, OKT_EINVAL, "control character in document");
    w_str(&w, utf16 ? "<?xml version=\"1.0\" encoding=\"utf-16\"?>\n"
                    : "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    w_str(&w, "<oktellcommapper");
    w_attr(&w, "version", vs, vn);
    w_str(&w, ">\n  <data");
    if (name)
        w_attr(&w, "name", json_string_value(name), json_string_length(name));
    w_str(&w, ">\n");
    if (items && build_items(&w, items, 2, 0, err)) {
        free(w.p);
        return -1;
    }
    w_str(&w, "  </data>\n</oktellcommapper>\n");
    if (w.oom) {
        free(w.p);
        return NOMEM(err);
    }
    if (utf16) {
        size_t n;
        char *u = to_utf16le(w.p, w.len, &n);
        free(w.p);
        if (!u)
            return NOMEM(err);
        *out = u;
        if (outlen)
            *outlen = n;
        return 0;
    }
    *out = w.p;
    if (outlen)
        *outlen = w.len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Typed encode: value -> generic tree -> okt_xml_build. */

#define EINVAL_(err, ...) okt_err_set(err, OKT_EINVAL, __VA_ARGS__)

/* Append an item {tag, key, value?, name?, text?} to arr. */
static json_t *add_item(json_t *arr, const char *tag, const char *key,
                        okt_err *err)
{
    json_t *it = json_object();
    if (!it || json_object_set_new(it, "tag", json_string(tag)) ||
        (key && json_object_set_new(it, "key", json_string(key))) ||
        json_array_append_new(arr, it)) {
        NOMEM(err);
        return NULL;
    }
    return it;
}

static int put(json_t *it, const char *k, json_t *v, okt_err *err)
{
    if (!v || json_object_set_new(it, k, v))
        return NOMEM(err);
    return 0;
}

/* A field value as text: strings; integers written in decimal. */
static int text_of(const json_t *v, const char *key, char *buf, size_t bufsz,
                   const char **s, size_t *n, okt_err *err)
{
    if (json_is_string(v) || json_is_integer(v) ||
        real_integral(v)) {
        scalar_text(v, buf, bufsz, s, n);
        return 0;
    }
    return EINVAL_(err, "field '%s' must be a string", key);
}

/* Optional string field -> property_simple value= or property_cdata. */
static int enc_str(json_t *arr, const json_t *v, const char *key, int cdata,
                   int required, okt_err *err)
{
    const json_t *f = json_object_get(v, key);
    char buf[32];
    const char *s;
    size_t n;
    if (!f || json_is_null(f)) {
        if (required)
            return EINVAL_(err, "missing field '%s'", key);
        return 0;
    }
    if (text_of(f, key, buf, sizeof buf, &s, &n, err))
        return -1;
    json_t *it = add_item(arr, cdata ? "property_cdata" : "property_simple",
                          key, err);
    if (!it)
        return -1;
    return put(it, cdata ? "text" : "value", json_stringn(s, n), err);
}

/* Boolean field (true/false or 1/0); returns 0 absent, 1 set, -1 error. */
static int get_flag(const json_t *v, const char *key, int *out, okt_err *err)
{
    const json_t *f = json_object_get(v, key);
    if (!f || json_is_null(f))
        return 0;
    if (json_is_boolean(f)) {
        *out = json_is_true(f);
        return 1;
    }
    if (json_is_integer(f) && (json_integer_value(f) == 0 ||
                               json_integer_value(f) == 1)) {
        *out = (int)json_integer_value(f);
        return 1;
    }
    return EINVAL_(err, "field '%s' must be a boolean", key);
}

static int enc_flag(json_t *arr, const json_t *v, const char *key,
                    int required, okt_err *err)
{
    int b;
    int r = get_flag(v, key, &b, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return required ? EINVAL_(err, "missing field '%s'", key) : 0;
    json_t *it = add_item(arr, "property_simple", key, err);
    return it ? put(it, "value", json_string(b ? "1" : "0"), err) : -1;
}

static int get_int_field(const json_t *f, long long *out)
{
    if (json_is_integer(f)) {
        *out = (long long)json_integer_value(f);
        return 0;
    }
    if (real_integral(f)) {
        *out = (long long)json_real_value(f);
        return 0;
    }
    return -1;
}

static json_t *new_set(json_t *arr, const char *tag, const char *name,
                       okt_err *err)
{
    json_t *it = add_item(arr, tag, NULL, err);
    json_t *items = json_array();
    if (!it || !items || put(it, "name", json_string(name), err) ||
        put(it, "items", items, err)) {
        if (it && !items)
            NOMEM(err);
        return NULL;
    }
    return items;
}

static int enc_userinfo(const json_t *v, json_t *items, okt_err *err)
{
    const json_t *f;
    json_t *it;
    if (enc_str(items, v, "id", 0, 1, err))
        return -1;
    const json_t *type = json_object_get(v, "type");
    const json_t *tname = json_object_get(v, "type_name");
    if (tname && !json_is_string(tname))
        return EINVAL_(err, "field 'type_name' must be a string");
    if (type || tname) {
        long long t = 1;
        if (type && get_int_field(type, &t))
            return EINVAL_(err, "field 'type' must be an integer");
        if (!type && strcmp(json_string_value(tname), "utUser") != 0)
            return EINVAL_(err, "field 'type_name' needs 'type'");
        if (!(it = add_item(items, "property_simple", "type", err)) ||
            put(it, "value", json_integer(t), err))
            return -1;
        if (tname && put(it, "name", json_copy((json_t *)tname), err))
            return -1;
        if (!tname && t == 1 && put(it, "name", json_string("utUser"), err))
            return -1;
    }
    if (enc_str(items, v, "name", 1, 0, err) ||
        enc_flag(items, v, "isoperator", 0, err))
        return -1;
    /* {id, name} pairs: group as a simple value+name, role as cdata. */
    static const char *const pairs[] = {"group", "login", "password", "role"};
    for (int i = 0; i < 4; i++) {
        const char *k = pairs[i];
        if (i == 1 || i == 2) {
            if (enc_str(items, v, k, 1, i == 1, err))
                return -1;
            continue;
        }
        f = json_object_get(v, k);
        if (!f || json_is_null(f))
            continue;
        if (!json_is_object(f))
            return EINVAL_(err, "field '%s' must be a table {id, name}", k);
        const json_t *id = json_object_get(f, "id");
        const json_t *nm = json_object_get(f, "name");
        if ((id && !json_is_string(id)) || (nm && !json_is_string(nm)))
            return EINVAL_(err, "field '%s' id and name must be strings", k);
        /* a role without a name stays a simple value, or it would come
         * back with name "" */
        if (!(it = add_item(items, i == 0 || !nm ? "property_simple"
                                                 : "property_cdata",
                            k, err)))
            return -1;
        if (id && put(it, "value", json_copy((json_t *)id), err))
            return -1;
        if (nm && put(it, i == 0 ? "name" : "text", json_copy((json_t *)nm), err))
            return -1;
    }
    if (enc_str(items, v, "callerid", 0, 0, err) ||
        enc_str(items, v, "info", 1, 0, err))
        return -1;
    const json_t *rights = json_object_get(v, "rights");
    const json_t *titles = json_object_get(v, "right_titles");
    if (rights && json_is_array(rights) && json_array_size(rights) == 0)
        rights = NULL;
    if (titles && json_is_array(titles) && json_array_size(titles) == 0)
        titles = NULL; /* an empty Lua table */
    if (titles && !json_is_object(titles))
        return EINVAL_(err, "field 'right_titles' must be a table");
    if (!rights)
        return 0;
    if (!json_is_object(rights))
        return EINVAL_(err, "field 'rights' must be a table");
    json_t *coll = add_item(items, "property_collection", NULL, err);
    json_t *citems = json_array();
    if (!coll || !citems || put(coll, "name", json_string("properties"), err) ||
        put(coll, "count", json_string("1"), err) ||
        put(coll, "items", citems, err))
        return citems ? -1 : NOMEM(err);
    json_t *set = add_item(citems, "property_set", NULL, err);
    json_t *sitems = json_array();
    if (!set || !sitems || put(set, "name", json_string("role"), err) ||
        put(set, "items", sitems, err))
        return sitems ? -1 : NOMEM(err);
    f = json_object_get(v, "role");
    if (f && json_is_object(f) && json_is_string(json_object_get(f, "id")) &&
        put(set, "id", json_copy(json_object_get(f, "id")), err))
        return -1;
    /* Sorted, so equal tables give equal documents. */
    size_t n = json_object_size(rights), k = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return NOMEM(err);
    const char *key;
    const json_t *rv;
    json_object_foreach((json_t *)rights, key, rv) keys[k++] = key;
    qsort(keys, n, sizeof *keys, cmp_attr);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int b;
        if (get_flag(rights, keys[i], &b, err) != 1) {
            rc = EINVAL_(err, "rights.%.40s must be a boolean", keys[i]);
            break;
        }
        const json_t *t = titles ? json_object_get(titles, keys[i]) : NULL;
        if (t && !json_is_string(t)) {
            rc = EINVAL_(err, "right_titles.%.40s must be a string", keys[i]);
            break;
        }
        if (!(it = add_item(sitems, t ? "property_cdata" : "property_simple",
                            keys[i], err)) ||
            put(it, "value", json_string(b ? "1" : "0"), err) ||
            (t && put(it, "text", json_copy((json_t *)t), err)))
            rc = -1;
    }
    free(keys);
    return rc;
}

/* state by name and/or code; both given must agree. */
static int enc_state(const json_t *v, json_t *items, int line, okt_err *err)
{
    const json_t *st = json_object_get(v, "state");
    const json_t *cd = json_object_get(v, "code");
    long long code = -1;
    if (st && json_is_null(st))
        st = NULL;
    if (cd && json_is_null(cd))
        cd = NULL;
    if (!st && !cd)
        return EINVAL_(err, "missing field 'state' (or 'code')");
    if (st) {
        if (json_is_string(st)) {
            code = line ? okt_linestate_code(json_string_value(st))
                        : okt_userstate_code(json_string_value(st));
            if (code < 0)
                return EINVAL_(err, "unknown %s state '%.40s'",
                               line ? "line" : "user", json_string_value(st));
        } else if (get_int_field(st, &code)) {
            return EINVAL_(err, "field 'state' must be a state name");
        }
    }
    if (cd) {
        long long c;
        if (get_int_field(cd, &c))
            return EINVAL_(err, "field 'code' must be an integer");
        if (st && c != code)
            return EINVAL_(err, "'state' and 'code' disagree");
        code = c;
    }
    const char *ref = line ? okt_linestate_refname(code)
                           : okt_userstate_refname(code);
    if (!ref)
        return EINVAL_(err, "unknown %s state code %lld",
                       line ? "line" : "user", code);
    json_t *set = new_set(items, "property_set",
                          line ? "currentlinestateinfo" : "currentstateinfo",
                          err);
    json_t *it;
    if (!set || !(it = add_item(set, "property_simple", "state", err)) ||
        put(it, "value", json_integer(code), err) ||
        put(it, "name", json_string(ref), err))
        return -1;
    if (line)
        return 0;
    return enc_str(set, v, "description", 1, 0, err) ||
                   enc_flag(set, v, "redirect", 0, err)
               ? -1
               : 0;
}

static int enc_settaskactive(const json_t *v, json_t *items, okt_err *err)
{
    json_t *set = new_set(items, "property_set", "params", err);
    if (!set)
        return -1;
    const json_t *tt = json_object_get(v, "tasktype");
    const char *t = json_string_value(tt);
    if (!t || (strcmp(t, "call") != 0 && strcmp(t, "text") != 0))
        return EINVAL_(err, "field 'tasktype' must be \"call\" or \"text\"");
    json_t *it = add_item(set, "property_simple", "tasktype", err);
    if (!it || put(it, "value", json_string(t), err) ||
        enc_str(set, v, "idtask", 0, 1, err))
        return -1;
    const json_t *a = json_object_get(v, "active");
    int on;
    if (json_is_integer(a) && (json_integer_value(a) == 1 ||
                               json_integer_value(a) == 2))
        on = json_integer_value(a) == 1;
    else if (json_is_boolean(a))
        on = json_is_true(a);
    else
        return EINVAL_(err, "field 'active' must be a boolean");
    it = add_item(set, "property_simple", "active", err);
    return it ? put(it, "value", json_string(on ? "1" : "2"), err) : -1;
}

static int enc_settaskresult(const json_t *v, json_t *items, okt_err *err)
{
    json_t *set = new_set(items, "property_set", "settaskactiveresult", err);
    if (!set || enc_flag(set, v, "success", 1, err) ||
        enc_str(set, v, "errormessage", 1, 0, err))
        return -1;
    return 0;
}

static int enc_confirmresult(const json_t *v, json_t *items, okt_err *err)
{
    const json_t *r = json_object_get(v, "result");
    int code = -1;
    if (json_is_string(r)) {
        for (int i = 0; i < 3; i++)
            if (strcmp(json_string_value(r), confirm_words[i]) == 0)
                code = i;
    } else if (json_is_integer(r) && json_integer_value(r) >= 0 &&
               json_integer_value(r) <= 2) {
        code = (int)json_integer_value(r);
    }
    if (code < 0)
        return EINVAL_(err, "field 'result' must be \"ok\", \"skip\", "
                            "\"delete\" or 0/1/2");
    json_t *set = new_set(items, "property_set", "confirmresult", err);
    json_t *it;
    if (!set || !(it = add_item(set, "property_simple", "result", err)))
        return -1;
    return put(it, "value", json_integer(code), err);
}

static int enc_event(const json_t *v, json_t *items, okt_err *err)
{
    const json_t *idv = json_object_get(v, "id");
    const json_t *nmv = json_object_get(v, "name");
    long long id = -1;
    if (idv && !json_is_null(idv) && get_int_field(idv, &id))
        return EINVAL_(err, "field 'id' must be an integer");
    if (nmv && !json_is_null(nmv)) {
        if (!json_is_string(nmv))
            return EINVAL_(err, "field 'name' must be a string");
        int n = event_id(json_string_value(nmv));
        if (n < 0)
            return EINVAL_(err, "unknown event name '%.40s'",
                           json_string_value(nmv));
        if (id >= 0 && id != n)
            return EINVAL_(err, "'id' and 'name' disagree");
        id = n;
    }
    if (!event_name(id))
        return EINVAL_(err, id < 0 ? "missing field 'id' (or 'name')"
                                   : "unknown event id");
    json_t *ev = add_item(items, "event", NULL, err);
    json_t *ei = json_array();
    if (!ev || !ei || put(ev, "id", json_integer(id), err) ||
        put(ev, "name", json_string(event_name(id)), err) ||
        put(ev, "items", ei, err))
        return ei ? -1 : NOMEM(err);
    if (enc_str(ei, v, "idtask", 0, 1, err) ||
        enc_str(ei, v, "idproject", 0, 0, err) ||
        enc_str(ei, v, "taskname", 1, 0, err) ||
        enc_str(ei, v, "taskcode", 0, 0, err) ||
        enc_str(ei, v, "idlist", 0, 0, err))
        return -1;
    const json_t *il = json_object_get(v, "idinlist");
    if (il && !json_is_null(il)) {
        long long n;
        if (get_int_field(il, &n))
            return EINVAL_(err, "field 'idinlist' must be an integer");
        json_t *it = add_item(ei, "property_simple", "idinlist", err);
        if (!it || put(it, "value", json_integer(n), err))
            return -1;
    }
    if (enc_str(ei, v, "number", 0, 0, err))
        return -1;
    const json_t *b64 = json_object_get(v, "textb64");
    const json_t *text = json_object_get(v, "text");
    if (b64 && json_is_null(b64))
        b64 = NULL;
    if (text && json_is_null(text))
        text = NULL;
    if ((b64 && !json_is_string(b64)) || (text && !json_is_string(text)))
        return EINVAL_(err, "fields 'textb64' and 'text' must be strings");
    char *made = NULL;
    if (b64) {
        size_t n;
        unsigned char *t = b64_decode(json_string_value(b64),
                                      json_string_length(b64), &n);
        if (!t)
            return EINVAL_(err, "field 'textb64' is not valid base64");
        int same = !text || (n == json_string_length(text) &&
                             memcmp(t, json_string_value(text), n) == 0);
        free(t);
        if (!same)
            return EINVAL_(err, "'textb64' and 'text' disagree");
    } else if (text) {
        made = b64_encode(json_string_value(text), json_string_length(text));
        if (!made)
            return NOMEM(err);
    }
    if (b64 || made) {
        json_t *it = add_item(ei, "property_cdata", "textb64", err);
        int rc = !it || put(it, "text", made ? json_string(made)
                                             : json_copy((json_t *)b64), err);
        free(made);
        if (rc)
            return -1;
    }
    return 0;
}

int okt_xml_encode(const char *kind, const json_t *value, int utf16,
                   char **out, size_t *outlen, okt_err *err)
{
    *out = NULL;
    if (outlen)
        *outlen = 0;
    int k = -1;
    for (int i = 0; kind && okt_xml_kinds[i]; i++)
        if (strcmp(kind, okt_xml_kinds[i]) == 0)
            k = i;
    if (k < 0)
        return EINVAL_(err, "unknown kind '%.40s'", kind ? kind : "(null)");
    if (!json_is_object(value))
        return EINVAL_(err, "value must be a table");
    json_t *doc = json_object();
    json_t *items = json_array();
    int rc = -1;
    if (!doc || !items || json_object_set(doc, "items", items)) {
        json_decref(items);
        NOMEM(err);
        goto out;
    }
    json_decref(items); /* doc holds it now */
    if (k != KIND_EVENT &&
        json_object_set_new(doc, "name", json_string(kind))) {
        NOMEM(err);
        goto out;
    }
    switch (k) {
    case 0: rc = enc_userinfo(value, items, err); break;
    case 1: rc = enc_state(value, items, 0, err); break;
    case 2: rc = enc_state(value, items, 1, err); break;
    case 3: rc = enc_settaskactive(value, items, err); break;
    case 4: rc = enc_settaskresult(value, items, err); break;
    case 5: rc = enc_confirmresult(value, items, err); break;
    default: rc = enc_event(value, items, err); break;
    }
    if (rc == 0)
        rc = okt_xml_build(doc, utf16, out, outlen, err);
out:
    json_decref(doc);
    return rc;
}
