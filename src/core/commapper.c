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
 * Typed messages: each kind is a table of field descriptors (key, Lua key,
 * type and XML form, required-ness), walked by one decoder and one
 * encoder; protocol facts (task event ids and names, confirm answers, task
 * types) come from protocol.h, state codes and names from states.h.
 *
 * Writing: every document is written by hand into a growing buffer from a
 * generic tree (encode builds the generic tree, then builds the text), so
 * the two writers cannot drift apart. */
#include "commapper.h"
#include "b64.h"
#include "protocol.h"
#include "states.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

/* Order matters: kinds[] (the descriptors) follows it. */
const char *const okt_xml_kinds[] = {
    "userinfo",      "userstate",           "linestate", "settaskactive",
    "settaskactiveresult", "confirmresult", "event",     NULL,
};

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
    if (nb_attributes > (int)OKT_MAX_XML_ATTRS) {   /* attrs_ok counted */
        pfail(st, "an element has more than OKT_MAX_XML_ATTRS (256) attributes");
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

/* libxml2 2.9 checks each attribute of an element against all of that
 * element's earlier ones: quadratic in their count (200k attributes cost
 * 18 s). One linear pass counts them per start tag before it parses (the
 * '=' signs outside quoted values; namespace declarations too, which it
 * checks alike), so it never meets more than OKT_MAX_XML_ATTRS on one
 * element. Comments, CDATA sections, processing instructions and
 * declarations are stepped over; malformed text is libxml2's to refuse. */
static int attrs_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (!lt)
            return 1;
        i = (size_t)(lt - s) + 1;
        const char *end = NULL;
        if (n - i >= 3 && !memcmp(s + i, "!--", 3))
            end = memmem(s + i + 3, n - i - 3, "-->", 3);
        else if (n - i >= 8 && !memcmp(s + i, "![CDATA[", 8))
            end = memmem(s + i + 8, n - i - 8, "]]>", 3);
        else if (i < n && s[i] == '?')
            end = memmem(s + i, n - i, "?>", 2);
        else if (i < n && (s[i] == '!' || s[i] == '/'))
            end = memchr(s + i, '>', n - i);
        else {
            unsigned count = 0;
            char quote = 0;
            for (; i < n; i++) {
                char c = s[i];
                if (quote) {
                    if (c == quote)
                        quote = 0;
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (c == '=') {
                    if (++count > OKT_MAX_XML_ATTRS)
                        return 0;
                } else if (c == '>' || c == '<') {
                    break;
                }
            }
            continue;
        }
        if (!end)
            return 1;
        i = (size_t)(end - s) + 1;
    }
    return 1;
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
    if (!attrs_ok(buf, blen)) {
        free(owned);
        return okt_err_set(err, OKT_EBADXML, "an element has more than "
                           "OKT_MAX_XML_ATTRS (%u) attributes",
                           (unsigned)OKT_MAX_XML_ATTRS);
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

/* 1 / 0 or true / false (any case); with off2 also 2 (off; settaskactive's
 * "deactivate"). */
static int parse_bool(const char *s, int off2, int *out)
{
    long long v;
    if (parse_int(s, &v) == 0) {
        *out = v == 1;
        return v == 1 || v == 0 || (off2 && v == 2) ? 0 : -1;
    }
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
        *out = strcasecmp(s, "true") == 0;
        return 0;
    }
    return -1;
}

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
/* Typed messages: the descriptors, then the decoder and the encoder that
 * walk them. */

/* What a field holds in Lua and how it sits in the XML. */
enum ftype {
    F_STR,    /* string: value="s" (F_CDATA: the CDATA); decode takes either */
    F_INT,    /* integer: value="n" */
    F_FLAG,   /* boolean: value="1" / "0" (F_OFF2: "1" / "2") */
    F_WORD,   /* one of the words of arg: value="word" (F_INDEX: its index) */
    F_STATE,  /* a state of the enum arg: lua its name, lua2 its code;
                 value="code" name="refname" */
    F_CODE,   /* integer with a name: value="n" name="name" (lua2); arg
                 lists the known pairs, so either alone gives the other */
    F_PAIR,   /* {id, name}: value="id" name="name" (F_CDATA: name in CDATA) */
    F_RIGHTS, /* lua {right = bool} and lua2 {right = title}: the properties
                 of <property_set name=arg> (which also carries the id of the
                 field named arg) in a <property_collection name=key> */
    F_EVENT,  /* the <event> element's id="n" (lua) and name="" (lua2), by
                 the protocol table */
    F_B64,    /* base64 in CDATA (lua) and the UTF-8 text it holds (lua2) */
};

#define F_REQ   0x01  /* decode fails without it; encode needs it */
#define F_CDATA 0x02  /* written as property_cdata */
#define F_INDEX 0x04  /* F_WORD: decode also takes the index */
#define F_OFF2  0x08  /* F_FLAG: off is 2 (settaskactive); decode takes 0 */
#define F_BLANK 0x10  /* decode: a blank value counts as absent */

typedef struct fdesc {
    const char *key;   /* key="" of the property (see F_RIGHTS, F_EVENT) */
    const char *lua;   /* key in the Lua table */
    int type;          /* enum ftype */
    int flags;         /* F_* */
    const char *lua2;  /* second Lua key of a two-key type */
    const void *arg;   /* F_WORD words, F_STATE enum, F_CODE names,
                          F_RIGHTS set name */
} fdesc;

typedef struct kdesc {
    const char *data;     /* <data name="">; NULL: an unnamed <data> holding
                             an <event>, which then holds the fields */
    const char *set;      /* <property_set name=""> around the fields */
    const fdesc *fields;  /* terminated by {NULL} */
} kdesc;

typedef struct enumdef {
    const char *what;     /* "user" / "line", for messages */
    int (*code)(const char *name);
    const okt_state_def *(*def)(long long code);
} enumdef;

static const enumdef user_states = {"user", okt_userstate_code,
                                    okt_userstate_def};
static const enumdef line_states = {"line", okt_linestate_code,
                                    okt_linestate_def};

typedef struct code_name {
    long long code;
    const char *name;
} code_name;

/* User types: the reference shows only this one. */
static const code_name user_types[] = {{OKT_UT_USER, OKT_UT_USER_NAME},
                                       {0, NULL}};

#define END {NULL, NULL, 0, 0, NULL, NULL}

static const fdesc f_userinfo[] = {
    {"id", "id", F_STR, F_REQ, NULL, NULL},
    {"type", "type", F_CODE, 0, "type_name", user_types},
    {"name", "name", F_STR, F_CDATA, NULL, NULL},
    {"isoperator", "isoperator", F_FLAG, 0, NULL, NULL},
    {"group", "group", F_PAIR, 0, NULL, NULL},
    {"login", "login", F_STR, F_REQ | F_CDATA, NULL, NULL},
    {"password", "password", F_STR, F_CDATA, NULL, NULL},
    {"role", "role", F_PAIR, F_CDATA, NULL, NULL},
    {"callerid", "callerid", F_STR, 0, NULL, NULL},
    {"info", "info", F_STR, F_CDATA, NULL, NULL},
    {"properties", "rights", F_RIGHTS, 0, "right_titles", "role"},
    END};
static const fdesc f_userstate[] = {
    {"state", "state", F_STATE, F_REQ, "code", &user_states},
    {"description", "description", F_STR, F_CDATA, NULL, NULL},
    {"redirect", "redirect", F_FLAG, 0, NULL, NULL},
    END};
static const fdesc f_linestate[] = {
    {"state", "state", F_STATE, F_REQ, "code", &line_states},
    END};
static const fdesc f_settaskactive[] = {
    {"tasktype", "tasktype", F_WORD, F_REQ, NULL, okt_proto_task_types},
    {"idtask", "idtask", F_STR, F_REQ, NULL, NULL},
    {"active", "active", F_FLAG, F_REQ | F_OFF2, NULL, NULL},
    END};
static const fdesc f_settaskactiveresult[] = {
    {"success", "success", F_FLAG, F_REQ, NULL, NULL},
    {"errormessage", "errormessage", F_STR, F_CDATA, NULL, NULL},
    END};
static const fdesc f_confirmresult[] = {
    {"result", "result", F_WORD, F_REQ | F_INDEX, NULL,
     okt_proto_confirm_words},
    END};
static const fdesc f_event[] = {
    {"id", "id", F_EVENT, F_REQ, "name", NULL},
    {"idtask", "idtask", F_STR, F_REQ, NULL, NULL},
    {"idproject", "idproject", F_STR, 0, NULL, NULL},
    {"taskname", "taskname", F_STR, F_CDATA, NULL, NULL},
    {"taskcode", "taskcode", F_STR, 0, NULL, NULL},
    {"idlist", "idlist", F_STR, 0, NULL, NULL},
    {"idinlist", "idinlist", F_INT, F_BLANK, NULL, NULL},
    {"number", "number", F_STR, 0, NULL, NULL},
    {"textb64", "textb64", F_B64, F_CDATA, "text", NULL},
    END};

/* In the order of okt_xml_kinds. */
static const kdesc kinds[] = {
    {"userinfo", NULL, f_userinfo},
    {"userstate", "currentstateinfo", f_userstate},
    {"linestate", "currentlinestateinfo", f_linestate},
    {"settaskactive", "params", f_settaskactive},
    {"settaskactiveresult", "settaskactiveresult", f_settaskactiveresult},
    {"confirmresult", "confirmresult", f_confirmresult},
    {NULL, NULL, f_event},
};
_Static_assert(sizeof kinds / sizeof kinds[0] ==
                   sizeof okt_xml_kinds / sizeof okt_xml_kinds[0] - 1,
               "one descriptor per kind");

#define BADXML(err, ...) okt_err_set(err, OKT_EBADXML, __VA_ARGS__)
#define EINVAL_(err, ...) okt_err_set(err, OKT_EINVAL, __VA_ARGS__)

static int nwords(const char *const *w)
{
    int n = 0;
    while (w[n])
        n++;
    return n;
}

/* The words of an F_WORD field, for messages: call/text (or ok/skip/delete
 * or 0-2). */
static const char *choices(const fdesc *fd, char *buf, size_t size)
{
    const char *const *w = fd->arg;
    size_t o = 0;
    for (int i = 0; w[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "/" : "", w[i]);
    if ((fd->flags & F_INDEX) && o < size)
        snprintf(buf + o, size - o, " or 0-%d", nwords(w) - 1);
    return buf;
}

static const char *name_of_code(const code_name *t, long long code)
{
    for (; t->name; t++)
        if (t->code == code)
            return t->name;
    return NULL;
}

/* The task events are those of the protocol table with a reference id. */
static const okt_event_def *event_by_id(long long id)
{
    return id > 0 && id <= INT_MAX ? okt_proto_event_by_id((int)id) : NULL;
}

static const okt_event_def *event_by_name(const char *name)
{
    size_t n;
    const okt_event_def *e = okt_proto_events(&n);
    for (size_t i = 0; i < n; i++)
        if (e[i].id && strcasecmp(e[i].lua, name) == 0)
            return &e[i];
    return NULL;
}

/* ---- decoding ---- */

static int dec_rights(const fdesc *fd, const node *base, json_t *o,
                      okt_err *err)
{
    json_t *rights = NULL, *titles = NULL;
    for (const node *c = base->first; c; c = c->next) {
        /* Any collection name: only the set's name is checked. */
        if (c->tag != T_COLL)
            continue;
        if (!rights && (set(o, fd->lua, rights = json_object(), err) ||
                        set(o, fd->lua2, titles = json_object(), err)))
            return -1;
        for (const node *s = c->first; s; s = s->next) {
            const char *sn = s->tag == T_SET ? attrval(s, "name") : NULL;
            if (!sn || strcmp(sn, fd->arg) != 0)
                continue;
            for (const node *r = s->first; r; r = r->next) {
                const char *k, *val;
                if ((r->tag != T_SIMPLE && r->tag != T_CDATA) ||
                    !(k = attrval(r, "key")))
                    continue;
                /* Lenient: newer servers may use other values; only an
                 * explicit 0/false/empty denies. */
                val = attrval(r, "value");
                int on = !val || !(val[0] == '\0' || strcmp(val, "0") == 0 ||
                                   strcasecmp(val, "false") == 0);
                if (set(rights, k, json_boolean(on), err) ||
                    (r->tag == T_CDATA &&
                     set(titles, k, jstr(r->text ? r->text : "", r->textlen),
                         err)))
                    return -1;
            }
        }
    }
    return 0;
}

/* One field of kind, looked up under base (the <data> or the <event>). */
static int dec_field(const fdesc *fd, const char *kind, const node *base,
                     json_t *o, okt_err *err)
{
    if (fd->type == F_RIGHTS)
        return dec_rights(fd, base, o, err);
    const node *f = NULL;
    const char *s = NULL, *nm;
    size_t len = 0;
    long long v;
    int b;
    if (fd->type == F_EVENT) {
        if ((s = attrval(base, fd->key)))
            len = strlen(s);
    } else if ((f = field(base, fd->key))) {
        s = fstr(f, &len);
    }
    if (!s || ((fd->flags & F_BLANK) && all_space(s, len)))
        return fd->flags & F_REQ ? BADXML(err, "%s: missing required '%s'",
                                          kind, fd->key)
                                 : 0;
    switch (fd->type) {
    case F_STR:
        return set(o, fd->lua, jstr(s, len), err);
    case F_FLAG:
        if (parse_bool(s, fd->flags & F_OFF2, &b))
            return BADXML(err, "%s: '%s' is not %s", kind, fd->key,
                          fd->flags & F_OFF2 ? "1 or 2" : "0 or 1");
        return set(o, fd->lua, json_boolean(b), err);
    case F_WORD: {
        const char *const *w = fd->arg;
        int i = -1, n = nwords(w);
        if ((fd->flags & F_INDEX) && parse_int(s, &v) == 0 && v >= 0 && v < n)
            i = (int)v;
        for (int j = 0; i < 0 && j < n; j++)
            if (strcasecmp(s, w[j]) == 0)
                i = j;
        char buf[128];
        if (i < 0)
            return BADXML(err, "%s: %s '%.40s' is not %s", kind, fd->key, s,
                          choices(fd, buf, sizeof buf));
        return set(o, fd->lua, json_string(w[i]), err);
    }
    case F_STATE: {
        const enumdef *e = fd->arg;
        nm = attrval(f, "name");
        if (!getattr(f, "value") && !f->text && nm) {
            /* Only the enum name is given: take it. */
            if ((v = e->code(nm)) < 0)
                return BADXML(err, "%s: unknown state '%.60s'", kind, nm);
        } else if (parse_int(s, &v)) {
            return BADXML(err, "%s: '%s' is not a number", kind, fd->key);
        }
        const okt_state_def *sd = e->def(v);
        if (!sd)
            return BADXML(err, "%s: unknown state code %lld", kind, v);
        return set(o, fd->lua, json_string(sd->name), err) ||
                       set(o, fd->lua2, json_integer(v), err)
                   ? -1
                   : 0;
    }
    case F_PAIR: {
        json_t *p = json_object();
        const char *id = attrval(f, "value");
        if (set(o, fd->lua, p, err) ||
            (id && set(p, "id", json_string_nocheck(id), err)))
            return -1;
        if (!(fd->flags & F_CDATA))
            return (nm = attrval(f, "name"))
                       ? set(p, "name", json_string_nocheck(nm), err)
                       : 0;
        return f->tag == T_CDATA || f->text
                   ? set(p, "name", jstr(f->text ? f->text : "", f->textlen),
                         err)
                   : 0;
    }
    case F_B64: {
        okt_err berr;
        size_t n;
        if (set(o, fd->lua, jstr(s, len), err))
            return -1;
        unsigned char *t = okt_b64_decode(s, len, &n, &berr);
        if (!t)
            return berr.code == OKT_ENOMEM
                       ? NOMEM(err)
                       : BADXML(err, "%s: %s is not valid base64", kind,
                                fd->key);
        json_t *js = json_stringn((const char *)t, n);
        free(t);
        if (!js)
            return BADXML(err, "%s: %s does not decode to UTF-8", kind,
                          fd->key);
        return set(o, fd->lua2, js, err);
    }
    }
    /* F_INT, F_CODE, F_EVENT: an integer first */
    if (parse_int(s, &v))
        return BADXML(err, "%s: '%s' is not a number", kind, fd->key);
    if (fd->type == F_EVENT) {
        const okt_event_def *e = event_by_id(v);
        if (!e)
            return BADXML(err, "%s: unknown event id %lld", kind, v);
        return set(o, fd->lua, json_integer(v), err) ||
                       set(o, fd->lua2, json_string(e->lua), err)
                   ? -1
                   : 0;
    }
    if (set(o, fd->lua, json_integer(v), err))
        return -1;
    if (fd->type == F_CODE &&
        ((nm = attrval(f, "name")) || (nm = name_of_code(fd->arg, v))))
        return set(o, fd->lua2, json_string_nocheck(nm), err);
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
    const node *d = child(st.root, T_DATA), *base = d;
    const char *dn = d ? attrval(d, "name") : NULL;
    json_t *o = NULL;
    int k = -1, rc = -1;
    if (!d) {
        BADXML(err, "no <data> element");
        goto out;
    }
    /* The data name gives the kind; events come in an unnamed <data>. */
    for (int i = 0; dn && k < 0 && okt_xml_kinds[i]; i++)
        if (kinds[i].data && strcmp(kinds[i].data, dn) == 0)
            k = i;
    for (int i = 0; k < 0 && okt_xml_kinds[i]; i++)
        if (!kinds[i].data && (base = child(d, T_EVENT)))
            k = i;
    if (k < 0) {
        BADXML(err, "unknown data name '%.60s'", dn ? dn : "");
        goto out;
    }
    if (!(o = json_object())) {
        NOMEM(err);
        goto out;
    }
    rc = 0;
    for (const fdesc *fd = kinds[k].fields; fd->key && rc == 0; fd++)
        rc = dec_field(fd, okt_xml_kinds[k], base, o, err);
out:
    afree(&st.ar);
    if (rc != 0) {
        json_decref(o);
        return -1;
    }
    *value = o;
    if (kind)
        *kind = okt_xml_kinds[k];
    return 0;
}

/* ---- encoding ---- */

static int put(json_t *it, const char *k, json_t *v, okt_err *err)
{
    if (!v || json_object_set_new(it, k, v))
        return NOMEM(err);
    return 0;
}

/* Append an item {tag, key?} to arr. */
static json_t *add_item(json_t *arr, const char *tag, const char *key,
                        okt_err *err)
{
    json_t *it = json_object();
    if (json_array_append_new(arr, it) ||
        json_object_set_new(it, "tag", json_string(tag)) ||
        (key && json_object_set_new(it, "key", json_string(key)))) {
        NOMEM(err);
        return NULL;
    }
    return it;
}

/* Append an element {tag, name?, items} to arr; *items gets its list. */
static json_t *add_box(json_t *arr, const char *tag, const char *name,
                       json_t **items, okt_err *err)
{
    json_t *it = add_item(arr, tag, NULL, err);
    if (!it || (name && put(it, "name", json_string(name), err)) ||
        put(it, "items", *items = json_array(), err))
        return NULL;
    return it;
}

/* Text of an attribute or CDATA; s NULL: absent. */
typedef struct span {
    const char *s;
    size_t n;
} span;

static span sp(const char *s)
{
    return (span){s, s ? strlen(s) : 0};
}

static span jsp(const json_t *v)
{
    return (span){json_string_value(v), json_string_length(v)};
}

static span decimal(char buf[32], long long n)
{
    return (span){buf, (size_t)snprintf(buf, 32, "%lld", n)};
}

static int put_span(json_t *it, const char *k, span v, okt_err *err)
{
    return v.s ? put(it, k, json_stringn_nocheck(v.s, v.n), err) : 0;
}

/* Append <property_simple key value name /> or, with text,
 * <property_cdata key value name>text</property_cdata> (all UTF-8: from
 * jansson strings or our own ASCII). */
static int emit(json_t *arr, const char *key, span val, span name, span text,
                okt_err *err)
{
    json_t *it = add_item(arr, text.s ? "property_cdata" : "property_simple",
                          key, err);
    if (!it || put_span(it, "value", val, err) ||
        put_span(it, "name", name, err) || put_span(it, "text", text, err))
        return -1;
    return 0;
}

/* The value of key in v; NULL when absent or null. */
static const json_t *get(const json_t *v, const char *key)
{
    const json_t *f = key ? json_object_get(v, key) : NULL;
    return json_is_null(f) ? NULL : f;
}

static int int_of(const json_t *f, long long *out)
{
    if (json_is_integer(f))
        *out = (long long)json_integer_value(f);
    else if (real_integral(f))
        *out = (long long)json_real_value(f);
    else
        return -1;
    return 0;
}

/* true / false, or the integers of the wire: 1 on, 0 (off2: 2) off. */
static int flag_of(const json_t *f, int off2, int *on)
{
    if (json_is_boolean(f)) {
        *on = json_is_true(f);
        return 0;
    }
    json_int_t v = json_is_integer(f) ? json_integer_value(f) : -1;
    *on = v == 1;
    return v == 1 || v == (off2 ? 2 : 0) ? 0 : -1;
}

static int enc_rights(const fdesc *fd, const json_t *v, const json_t *rights,
                      const json_t *titles, json_t *arr, okt_err *err)
{
    /* An empty table may come as an empty array. */
    if (json_is_array(rights) && json_array_size(rights) == 0)
        rights = NULL;
    if (json_is_array(titles) && json_array_size(titles) == 0)
        titles = NULL;
    if (titles && !json_is_object(titles))
        return EINVAL_(err, "field '%s' must be a table", fd->lua2);
    if (!rights)
        return 0;
    if (!json_is_object(rights))
        return EINVAL_(err, "field '%s' must be a table", fd->lua);
    json_t *coll, *set, *citems, *sitems;
    if (!(coll = add_box(arr, "property_collection", fd->key, &citems, err)) ||
        put(coll, "count", json_string("1"), err) ||
        !(set = add_box(citems, "property_set", fd->arg, &sitems, err)))
        return -1;
    const json_t *owner = get(v, fd->arg);
    const json_t *id = json_is_object(owner) ? json_object_get(owner, "id")
                                             : NULL;
    if (json_is_string(id) && put(set, "id", json_copy((json_t *)id), err))
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
    int rc = 0, on;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *t = titles ? json_object_get(titles, keys[i]) : NULL;
        if (flag_of(json_object_get(rights, keys[i]), 0, &on))
            rc = EINVAL_(err, "%s.%.40s must be a boolean", fd->lua, keys[i]);
        else if (t && !json_is_string(t))
            rc = EINVAL_(err, "%s.%.40s must be a string", fd->lua2, keys[i]);
        else
            rc = emit(sitems, keys[i], sp(on ? "1" : "0"), sp(NULL),
                      t ? jsp(t) : sp(NULL), err);
    }
    free(keys);
    return rc;
}

/* One field from v into arr (box: the element holding arr, or NULL). */
static int enc_field(const fdesc *fd, const json_t *v, json_t *box,
                     json_t *arr, okt_err *err)
{
    const json_t *a = get(v, fd->lua), *b = get(v, fd->lua2);
    if (fd->type == F_RIGHTS)
        return enc_rights(fd, v, a, b, arr, err);
    if (!a && !b) {
        if (!(fd->flags & F_REQ))
            return 0;
        return fd->lua2 ? EINVAL_(err, "missing field '%s' (or '%s')",
                                  fd->lua, fd->lua2)
                        : EINVAL_(err, "missing field '%s'", fd->lua);
    }
    span val = sp(NULL), name = sp(NULL), text = sp(NULL);
    char num[32];
    long long n = 0;
    int on;
    switch (fd->type) {
    case F_STR:
        if (!json_is_string(a) && !json_is_integer(a) && !real_integral(a))
            return EINVAL_(err, "field '%s' must be a string", fd->lua);
        scalar_text(a, num, sizeof num, &val.s, &val.n);
        if (fd->flags & F_CDATA)
            text = val, val = sp(NULL);
        break;
    case F_INT:
        if (int_of(a, &n))
            return EINVAL_(err, "field '%s' must be an integer", fd->lua);
        val = decimal(num, n);
        break;
    case F_FLAG:
        if (flag_of(a, fd->flags & F_OFF2, &on))
            return EINVAL_(err, "field '%s' must be a boolean", fd->lua);
        val = sp(on ? "1" : fd->flags & F_OFF2 ? "2" : "0");
        break;
    case F_WORD: {
        const char *const *w = fd->arg;
        int nw = nwords(w);
        n = -1;
        for (int j = 0; json_is_string(a) && j < nw; j++)
            if (strcmp(json_string_value(a), w[j]) == 0)
                n = j;
        if ((fd->flags & F_INDEX) && json_is_integer(a) &&
            json_integer_value(a) >= 0 && json_integer_value(a) < nw)
            n = json_integer_value(a);
        char buf[128];
        if (n < 0)
            return EINVAL_(err, "field '%s' must be %s", fd->lua,
                           choices(fd, buf, sizeof buf));
        val = fd->flags & F_INDEX ? decimal(num, n) : sp(w[n]);
        break;
    }
    case F_STATE: {
        const enumdef *e = fd->arg;
        long long c = 0;
        n = -1;
        if (json_is_string(a) && (n = e->code(json_string_value(a))) < 0)
            return EINVAL_(err, "unknown %s state '%.40s'", e->what,
                           json_string_value(a));
        if (a && !json_is_string(a) && int_of(a, &n))
            return EINVAL_(err, "field '%s' must be a state name", fd->lua);
        if (b && int_of(b, &c))
            return EINVAL_(err, "field '%s' must be an integer", fd->lua2);
        if (a && b && c != n)
            return EINVAL_(err, "'%s' and '%s' disagree", fd->lua, fd->lua2);
        if (b)
            n = c;
        const okt_state_def *sd = e->def(n);
        if (!sd)
            return EINVAL_(err, "unknown %s state code %lld", e->what, n);
        name = sp(sd->refname);
        val = decimal(num, n);
        break;
    }
    case F_CODE: {
        const code_name *c = fd->arg;
        if (b && !json_is_string(b))
            return EINVAL_(err, "field '%s' must be a string", fd->lua2);
        if (a && int_of(a, &n))
            return EINVAL_(err, "field '%s' must be an integer", fd->lua);
        /* The name alone must be a known one; the code alone gets its
         * known name. */
        while (c->name && (a ? c->code != n
                             : strcmp(c->name, json_string_value(b)) != 0))
            c++;
        if (!a && !c->name)
            return EINVAL_(err, "field '%s' needs '%s'", fd->lua2, fd->lua);
        n = a ? n : c->code;
        name = b ? jsp(b) : sp(c->name);
        val = decimal(num, n);
        break;
    }
    case F_PAIR: {
        if (!json_is_object(a))
            return EINVAL_(err, "field '%s' must be a table {id, name}",
                           fd->lua);
        const json_t *id = json_object_get(a, "id");
        const json_t *nm = json_object_get(a, "name");
        if ((id && !json_is_string(id)) || (nm && !json_is_string(nm)))
            return EINVAL_(err, "field '%s' id and name must be strings",
                           fd->lua);
        val = jsp(id);
        /* (with no name, a CDATA-form pair is written simple, so it does
         * not come back with name "") */
        *(fd->flags & F_CDATA ? &text : &name) = jsp(nm);
        break;
    }
    case F_EVENT: {
        const okt_event_def *e = NULL, *e2 = NULL;
        if (a && int_of(a, &n))
            return EINVAL_(err, "field '%s' must be an integer", fd->lua);
        if (a && !(e = event_by_id(n)))
            return EINVAL_(err, "unknown event id %lld", n);
        if (b && !json_is_string(b))
            return EINVAL_(err, "field '%s' must be a string", fd->lua2);
        if (b && !(e2 = event_by_name(json_string_value(b))))
            return EINVAL_(err, "unknown event name '%.40s'",
                           json_string_value(b));
        if (e && e2 && e != e2)
            return EINVAL_(err, "'%s' and '%s' disagree", fd->lua, fd->lua2);
        e = e ? e : e2;
        return put(box, fd->key, json_integer(e->id), err) ||
                       put(box, "name", json_string(e->lua), err)
                   ? -1
                   : 0;
    }
    case F_B64: {
        okt_err berr;
        size_t len;
        if ((a && !json_is_string(a)) || (b && !json_is_string(b)))
            return EINVAL_(err, "fields '%s' and '%s' must be strings",
                           fd->lua, fd->lua2);
        if (!a) { /* made from the text */
            char *t = okt_b64_encode(json_string_value(b),
                                     json_string_length(b), &len, err);
            int rc = t ? emit(arr, fd->key, val, name, (span){t, len}, err)
                       : -1;
            free(t);
            return rc;
        }
        unsigned char *t = okt_b64_decode(json_string_value(a),
                                          json_string_length(a), &len, &berr);
        if (!t)
            return berr.code == OKT_ENOMEM
                       ? NOMEM(err)
                       : EINVAL_(err, "field '%s' is not valid base64",
                                 fd->lua);
        int same = !b || (len == json_string_length(b) &&
                          memcmp(t, json_string_value(b), len) == 0);
        free(t);
        if (!same)
            return EINVAL_(err, "'%s' and '%s' disagree", fd->lua, fd->lua2);
        text = jsp(a);
        break;
    }
    }
    return emit(arr, fd->key, val, name, text, err);
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
    const kdesc *kd = &kinds[k];
    json_t *doc = json_object(), *items = NULL, *arr, *box = NULL;
    /* The fields sit in the <event>, in the kind's set, or in <data>. */
    const char *boxtag = !kd->data ? "event" : kd->set ? "property_set" : NULL;
    int rc = -1;
    if (put(doc, "items", items = json_array(), err) ||
        (kd->data && put(doc, "name", json_string(kd->data), err)))
        goto out;
    arr = items;
    if (boxtag && !(box = add_box(items, boxtag, kd->set, &arr, err)))
        goto out;
    for (const fdesc *fd = kd->fields; fd->key; fd++)
        if (enc_field(fd, value, box, arr, err))
            goto out;
    rc = okt_xml_build(doc, utf16, out, outlen, err);
out:
    json_decref(doc);
    return rc;
}
