/* message.c - the Oktell JSON envelope and multipart (fact sheet §2). */
#include "message.h"
#include "b64.h"
#include "protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* jansson's own depth bound is a compile-time 2048 and it recurses; a
 * linear pre-scan keeps both the stack and the Lua side (which recurses
 * again) within OKT_MAX_JSON_DEPTH. */
static int depth_ok(const char *s, size_t len, unsigned max)
{
    unsigned depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if (c == ']' || c == '}') {
            if (depth)
                depth--;
        }
    }
    return 1;
}

int okt_msg_scan(const char *text, size_t len, unsigned max_depth,
                 size_t max_items, size_t max_token, size_t max_total,
                 okt_err *err)
{
    return okt_msg_scan_items(text, len, max_depth, max_items, max_token,
                              max_total, NULL, err);
}

/* okt_msg_scan_items for text no longer than its token and text bounds,
 * which it therefore cannot break: only depth and items are counted, and
 * a string is skipped in a tight loop (the common message: a small reply
 * or event, scanned before every parse). */
static int scan_short(const char *text, size_t len, unsigned max_depth,
                      size_t max_items, size_t *nitems, okt_err *err)
{
    unsigned depth = 0;
    size_t items = 0;
    for (size_t i = 0; i < len; i++) {
        switch (text[i]) {
        case '"':
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: nested deeper than %u",
                                   max_depth);
            __attribute__((fallthrough));
        case ',':
            if (++items > max_items)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: more than %zu items",
                                   max_items);
            break;
        case ']':
        case '}':
            if (depth)
                depth--;
            break;
        default:
            break;
        }
    }
    if (nitems)
        *nitems = items + 1;
    return 0;
}

int okt_msg_scan_items(const char *text, size_t len, unsigned max_depth,
                       size_t max_items, size_t max_token, size_t max_total,
                       size_t *nitems, okt_err *err)
{
    if (len <= max_token && len <= max_total)
        return scan_short(text, len, max_depth, max_items, nitems, err);
    unsigned depth = 0;
    size_t items = 0, tok = 0, total = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\') {
                i++;
                tok++;
            } else if (c == '"') {
                in_str = 0;
                continue;
            }
            if (++tok > max_token)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: a string longer than %zu bytes",
                                   max_token);
            if (++total > max_total)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: over %zu bytes of text",
                                   max_total);
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            tok = 0;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: nested deeper than %u",
                                   max_depth);
            /* a container is an item too */
            __attribute__((fallthrough));
        case ',':
            if (++items > max_items)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: more than %zu items",
                                   max_items);
            tok = 0;
            break;
        case ']':
        case '}':
            if (depth)
                depth--;
            tok = 0;
            break;
        case ':':
            tok = 0;
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            tok = 0;
            if (++total > max_total)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: over %zu bytes of text",
                                   max_total);
            break;
        default:    /* numbers and literals: one token */
            if (++tok > max_token)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: a token longer than %zu bytes",
                                   max_token);
            if (++total > max_total)
                return okt_err_set(err, OKT_EPROTOCOL,
                                   "message: over %zu bytes of text",
                                   max_total);
        }
    }
    if (nitems)
        *nitems = items + 1;   /* the scalar at the top, if any */
    return 0;
}

static int parse_msg(const char *text, size_t len, json_t **root,
                     const char **name, json_t **obj, int scanned,
                     okt_err *err);

int okt_msg_parse(const char *text, size_t len, json_t **root,
                  const char **name, json_t **obj, okt_err *err)
{
    return parse_msg(text, len, root, name, obj, 0, err);
}

int okt_msg_parse_scanned(const char *text, size_t len, json_t **root,
                          const char **name, json_t **obj, okt_err *err)
{
    return parse_msg(text, len, root, name, obj, 1, err);
}

static int parse_msg(const char *text, size_t len, json_t **root,
                     const char **name, json_t **obj, int scanned,
                     okt_err *err)
{
    *root = NULL;
    if (name)
        *name = NULL;
    if (obj)
        *obj = NULL;
    if (!text)
        return okt_err_set(err, OKT_EPROTOCOL, "message: no text");
    if (len > OKT_MAX_WS_MSG)
        return okt_err_set(err, OKT_EPROTOCOL,
                           "message: %zu bytes over OKT_MAX_WS_MSG", len);
    if (!scanned && !depth_ok(text, len, OKT_MAX_JSON_DEPTH))
        return okt_err_set(err, OKT_EPROTOCOL,
                           "message: nested deeper than OKT_MAX_JSON_DEPTH "
                           "(%u)", (unsigned)OKT_MAX_JSON_DEPTH);
    json_error_t je;
    json_t *v = json_loadb(text, len, 0, &je);
    if (!v) {
        /* jansson appends "near '<token>'": drop it, so no fragment of the
         * input (which may be a login request) lands in an error text. */
        char *near = strstr(je.text, " near ");
        if (near)
            *near = '\0';
        return okt_err_set(err, OKT_EPROTOCOL,
                           "message: bad JSON at line %d column %d: %s",
                           je.line, je.column, je.text);
    }
    if (!json_is_array(v) || json_array_size(v) != 2 ||
        !json_is_string(json_array_get(v, 0)) ||
        !json_is_object(json_array_get(v, 1))) {
        json_decref(v);
        return okt_err_set(err, OKT_EPROTOCOL,
                           "message: not a [name, object] array");
    }
    *root = v;
    if (name)
        *name = json_string_value(json_array_get(v, 0));
    if (obj)
        *obj = json_array_get(v, 1);
    return 0;
}

static char *dump(json_t *root, size_t *len, okt_err *err)
{
    char *s = json_dumps(root, JSON_COMPACT);
    if (!s) {
        okt_err_set(err, OKT_ENOMEM, "message: cannot serialise");
        return NULL;
    }
    if (len)
        *len = strlen(s);
    return s;
}

char *okt_msg_build(const char *name, const json_t *obj, size_t *len,
                    okt_err *err)
{
    if (!name || (obj && !json_is_object(obj))) {
        okt_err_set(err, OKT_EINVAL, "message: need a name and an object");
        return NULL;
    }
    json_t *jn = json_string(name);
    if (!jn) {
        okt_err_set(err, OKT_EINVAL, "message: name is not UTF-8");
        return NULL;
    }
    json_t *root = json_array();
    json_t *o = obj ? json_incref((json_t *)obj) : json_object();
    if (!root || !o || json_array_append_new(root, jn) ||
        json_array_append_new(root, o)) {
        json_decref(root);
        okt_err_set(err, OKT_ENOMEM, "message: out of memory");
        return NULL;
    }
    char *s = dump(root, len, err);
    json_decref(root);
    return s;
}

char *okt_msg_request(const char *method, const char *qid,
                      const char *userlogin, const json_t *params,
                      size_t *len, okt_err *err)
{
    if (!method || !qid || (params && !json_is_object(params))) {
        okt_err_set(err, OKT_EINVAL,
                    "request: need a method, a qid and object params");
        return NULL;
    }
    json_t *o = json_object();
    if (!o)
        goto nomem;
    if (userlogin && !(params && json_object_get(params, OKT_F_USERLOGIN))) {
        json_t *u = json_string(userlogin);
        if (!u) {
            json_decref(o);
            okt_err_set(err, OKT_EINVAL, "request: login is not UTF-8");
            return NULL;
        }
        if (json_object_set_new(o, OKT_F_USERLOGIN, u))
            goto nomem;
    }
    if (params && json_object_update(o, (json_t *)params))
        goto nomem;
    json_object_del(o, OKT_F_QID);
    if (json_object_set_new(o, OKT_F_QID, json_string(qid)))
        goto nomem;
    char *s = okt_msg_build(method, o, len, err);
    json_decref(o);
    return s;
nomem:
    json_decref(o);
    okt_err_set(err, OKT_ENOMEM, "request: out of memory");
    return NULL;
}

const char *okt_msg_qid(const json_t *obj)
{
    return json_string_value(json_object_get(obj, OKT_F_QID));
}

/* JavaScript truthiness of a JSON value (absent counts as falsy). */
static int truthy(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_STRING:
        return json_string_length(v) != 0;
    default:
        return 1;
    }
}

int okt_msg_failed(const json_t *obj)
{
    if (truthy(json_object_get(obj, OKT_F_ERROR)) ||
        truthy(json_object_get(obj, OKT_F_ERRORMSG)))
        return 1;
    const json_t *r = json_object_get(obj, OKT_F_RESULT);
    if (!r)
        return 0;   /* oktell.js sets result = 1 when absent */
    if (json_is_string(r) && strcmp(json_string_value(r), "0") == 0)
        return 1;
    return !truthy(r);
}

/* ---- multipart ------------------------------------------------------- */

typedef struct part_set {
    char *id;
    unsigned count, have;
    size_t bytes;
    int64_t last;          /* time of the last new part */
    unsigned char **parts; /* count slots, NULL until received */
    size_t *lens;
} part_set;

struct okt_mp {
    okt_mp_cfg cfg;
    part_set *sets;     /* cap slots, n used; freed when n drops to 0, so
                           a client that is sent no multipart holds none */
    size_t n, cap;
    size_t total;       /* decoded bytes held by all partials */
};

void okt_mp_cfg_init(okt_mp_cfg *cfg)
{
    cfg->max_parts = OKT_MAX_MP_PARTS;
    cfg->max_bytes = OKT_MAX_MP_BYTES;
    cfg->max_pending = OKT_MAX_MP_PENDING;
    cfg->max_total = OKT_MAX_MP_TOTAL;
    cfg->stale_ms = OKT_MP_STALE_MS;
}

okt_mp *okt_mp_new(const okt_mp_cfg *cfg, okt_err *err)
{
    okt_mp *mp = calloc(1, sizeof *mp);
    if (!mp) {
        okt_err_set(err, OKT_ENOMEM, "multipart: out of memory");
        return NULL;
    }
    if (cfg)
        mp->cfg = *cfg;
    else
        okt_mp_cfg_init(&mp->cfg);
    /* 0 is never "unlimited" */
    if (!mp->cfg.max_parts || mp->cfg.max_parts > OKT_MAX_MP_PARTS)
        mp->cfg.max_parts = OKT_MAX_MP_PARTS;
    if (!mp->cfg.max_bytes || mp->cfg.max_bytes > OKT_MAX_MP_BYTES)
        mp->cfg.max_bytes = OKT_MAX_MP_BYTES;
    if (!mp->cfg.max_pending || mp->cfg.max_pending > OKT_MAX_MP_PENDING)
        mp->cfg.max_pending = OKT_MAX_MP_PENDING;
    if (!mp->cfg.max_total || mp->cfg.max_total > OKT_MAX_MP_TOTAL)
        mp->cfg.max_total = OKT_MAX_MP_TOTAL;
    if (mp->cfg.max_total < mp->cfg.max_bytes)
        mp->cfg.max_total = mp->cfg.max_bytes;   /* one message must fit */
    if (mp->cfg.stale_ms <= 0)
        mp->cfg.stale_ms = OKT_MP_STALE_MS;
    return mp;   /* the sets come with the first partial (mp_room) */
}

/* Room for one more partial set (n < max_pending): 0, or -1 (out of
 * memory). */
static int mp_room(okt_mp *mp)
{
    if (mp->n < mp->cap)
        return 0;
    size_t nc = mp->cap ? mp->cap * 2 : 4;
    if (nc > mp->cfg.max_pending)
        nc = mp->cfg.max_pending;
    part_set *ns = realloc(mp->sets, nc * sizeof *ns);
    if (!ns)
        return -1;
    memset(ns + mp->cap, 0, (nc - mp->cap) * sizeof *ns);
    mp->sets = ns;
    mp->cap = nc;
    return 0;
}

static void set_clear(part_set *ps)
{
    if (ps->parts)
        for (unsigned i = 0; i < ps->count; i++)
            free(ps->parts[i]);
    free(ps->parts);
    free(ps->lens);
    free(ps->id);
    memset(ps, 0, sizeof *ps);
}

static void set_remove(okt_mp *mp, size_t i)
{
    mp->total -= mp->sets[i].bytes;
    set_clear(&mp->sets[i]);
    mp->n--;
    if (i != mp->n) {
        mp->sets[i] = mp->sets[mp->n];
        memset(&mp->sets[mp->n], 0, sizeof mp->sets[mp->n]);
    }
    if (mp->n == 0) {
        free(mp->sets);
        mp->sets = NULL;
        mp->cap = 0;
    }
}

void okt_mp_free(okt_mp *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->n; i++)
        set_clear(&mp->sets[i]);
    free(mp->sets);
    free(mp);
}

size_t okt_mp_mem(const okt_mp *mp)
{
    if (!mp)
        return 0;
    size_t n = sizeof *mp + mp->total + mp->cap * sizeof *mp->sets;
    for (size_t i = 0; i < mp->n; i++)   /* at most max_pending */
        n += mp->sets[i].count * (sizeof(unsigned char *) + sizeof(size_t));
    return n;
}

size_t okt_mp_pending(const okt_mp *mp)
{
    return mp ? mp->n : 0;
}

int64_t okt_mp_deadline(const okt_mp *mp)
{
    int64_t d = -1;
    for (size_t i = 0; mp && i < mp->n; i++) {
        int64_t t = mp->sets[i].last + mp->cfg.stale_ms;
        if (d < 0 || t < d)
            d = t;
    }
    return d;
}

size_t okt_mp_expire(okt_mp *mp, int64_t now)
{
    size_t dropped = 0;
    for (size_t i = 0; mp && i < mp->n;) {
        if (now >= mp->sets[i].last + mp->cfg.stale_ms) {
            set_remove(mp, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

/* A non-negative integer field given as a JSON integer, an integral real
 * or a decimal string (oktell.js compares loosely). -1 when not one. */
static long long num_field(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 0 && d < 1e15 && d == (double)(long long)d)
            return (long long)d;
        return -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || n > 15)
            return -1;
        long long r = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            r = r * 10 + (s[i] - '0');
        }
        return r;
    }
    return -1;
}

#define MP_ID_MAX 256

int okt_mp_feed(okt_mp *mp, const json_t *obj, int64_t now, char **text,
                size_t *len, okt_err *err)
{
    *text = NULL;
    *len = 0;
    if (!json_is_object(obj))
        return okt_err_set(err, OKT_EPROTOCOL, "multipart: not an object");
    char id[MP_ID_MAX + 1];
    const json_t *jid = json_object_get(obj, OKT_F_MESSAGE_ID);
    if (json_is_string(jid) && json_string_length(jid) > 0 &&
        json_string_length(jid) <= MP_ID_MAX) {
        memcpy(id, json_string_value(jid), json_string_length(jid));
        id[json_string_length(jid)] = '\0';
        if (strlen(id) != json_string_length(jid))
            return okt_err_set(err, OKT_EPROTOCOL,
                               "multipart: bad message-id");
    } else if (json_is_integer(jid)) {
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(jid));
    } else {
        return okt_err_set(err, OKT_EPROTOCOL,
                           "multipart: missing or bad message-id");
    }
    long long count = num_field(json_object_get(obj, OKT_F_PACKETCOUNT));
    long long num = num_field(json_object_get(obj, OKT_F_PACKETNUMBER));
    const json_t *jc = json_object_get(obj, OKT_F_CONTENT);

    size_t si;
    for (si = 0; si < mp->n; si++)
        if (strcmp(mp->sets[si].id, id) == 0)
            break;
    int found = si < mp->n;

    const char *why = NULL;
    if (count < 1)
        why = "bad packetcount";
    else if ((unsigned long long)count > mp->cfg.max_parts)
        why = "packetcount over OKT_MAX_MP_PARTS";
    else if (num < 0 || num >= count)
        why = "packetnumber out of range (0-based)";
    else if (!json_is_string(jc))
        why = "missing content";
    else if (found && mp->sets[si].count != (unsigned)count)
        why = "packetcount changed between parts";
    if (why) {
        if (found)
            set_remove(mp, si);
        return okt_err_set(err, OKT_EPROTOCOL, "multipart: %s", why);
    }
    if (found && mp->sets[si].parts[num]) {
        mp->sets[si].last = now;   /* a duplicate: ignored */
        return 0;
    }

    size_t dlen;
    okt_err berr;
    unsigned char *dec = okt_b64_decode(json_string_value(jc),
                                        json_string_length(jc), &dlen, &berr);
    if (!dec) {
        if (found)
            set_remove(mp, si);
        if (berr.code == OKT_ENOMEM)
            return okt_err_set(err, OKT_ENOMEM, "out of memory");
        return okt_err_set(err, OKT_EPROTOCOL, "multipart: bad base64");
    }
    size_t have = found ? mp->sets[si].bytes : 0;
    if (dlen > mp->cfg.max_bytes || have > mp->cfg.max_bytes - dlen) {
        free(dec);
        if (found)
            set_remove(mp, si);
        return okt_err_set(err, OKT_EPROTOCOL,
                           "multipart: message over OKT_MAX_MP_BYTES");
    }

    /* All partials together are bounded too: the least recently fed
     * others make room (set_remove moves the last set into the hole). */
    while (count > 1 && mp->total + dlen > mp->cfg.max_total) {
        size_t old = SIZE_MAX;
        for (size_t i = 0; i < mp->n; i++)
            if (!(found && i == si) &&
                (old == SIZE_MAX || mp->sets[i].last < mp->sets[old].last))
                old = i;
        if (old == SIZE_MAX)
            break;   /* only this message: max_bytes already holds it */
        set_remove(mp, old);
        if (found && si == mp->n)
            si = old;
    }

    if (count == 1) {   /* single part: no bookkeeping */
        char *t = realloc(dec, dlen + 1);
        if (!t) {
            free(dec);
            return okt_err_set(err, OKT_ENOMEM, "multipart: out of memory");
        }
        t[dlen] = '\0';
        *text = t;
        *len = dlen;
        return 1;
    }

    if (!found) {
        if (mp->n == mp->cfg.max_pending) {
            /* full: the least recently fed partial makes room */
            size_t old = 0;
            for (size_t i = 1; i < mp->n; i++)
                if (mp->sets[i].last < mp->sets[old].last)
                    old = i;
            set_remove(mp, old);
        }
        if (mp_room(mp) != 0) {
            free(dec);
            return okt_err_set(err, OKT_ENOMEM, "multipart: out of memory");
        }
        part_set *ps = &mp->sets[mp->n];
        ps->id = strdup(id);
        ps->parts = calloc((size_t)count, sizeof *ps->parts);
        ps->lens = calloc((size_t)count, sizeof *ps->lens);
        ps->count = (unsigned)count;
        mp->n++;
        si = mp->n - 1;
        if (!ps->id || !ps->parts || !ps->lens) {
            free(dec);
            set_remove(mp, si);
            return okt_err_set(err, OKT_ENOMEM, "multipart: out of memory");
        }
    }
    part_set *ps = &mp->sets[si];
    ps->parts[num] = dec;
    ps->lens[num] = dlen;
    ps->bytes += dlen;
    mp->total += dlen;
    ps->have++;
    ps->last = now;
    if (ps->have < ps->count)
        return 0;

    char *t = malloc(ps->bytes + 1);
    if (!t) {
        set_remove(mp, si);
        return okt_err_set(err, OKT_ENOMEM, "multipart: out of memory");
    }
    size_t off = 0;
    for (unsigned i = 0; i < ps->count; i++) {
        memcpy(t + off, ps->parts[i], ps->lens[i]);
        off += ps->lens[i];
    }
    t[off] = '\0';
    set_remove(mp, si);
    *text = t;
    *len = off;
    return 1;
}

/* Next cut after pos: at most part_bytes on, backed off to a UTF-8 lead
 * byte. Returns pos when no boundary exists (invalid UTF-8). */
static size_t next_cut(const char *s, size_t len, size_t pos, size_t part)
{
    if (len - pos <= part)
        return len;
    size_t cut = pos + part;
    while (cut > pos && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

void okt_mp_split_free(char **msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
}

int okt_mp_split(const char *text, size_t len, const char *message_id,
                 size_t part_bytes, char ***msgs, size_t *n, okt_err *err)
{
    *msgs = NULL;
    *n = 0;
    if (!text || !message_id || part_bytes < 4)
        return okt_err_set(err, OKT_EINVAL,
                           "multipart split: need text, an id and parts of "
                           ">= 4 bytes");
    if (len > OKT_MAX_MP_BYTES)
        return okt_err_set(err, OKT_EINVAL,
                           "multipart split: text over OKT_MAX_MP_BYTES");
    size_t count = 0, pos = 0;
    do {
        size_t cut = next_cut(text, len, pos, part_bytes);
        if (cut == pos && len > 0)
            return okt_err_set(err, OKT_EINVAL,
                               "multipart split: text is not UTF-8");
        count++;
        if (count > OKT_MAX_MP_PARTS)
            return okt_err_set(err, OKT_EINVAL,
                               "multipart split: more than OKT_MAX_MP_PARTS "
                               "parts");
        pos = cut;
    } while (pos < len);

    char **out = calloc(count, sizeof *out);
    json_t *o = json_object();
    if (!out || !o)
        goto nomem;
    pos = 0;
    for (size_t i = 0; i < count; i++) {
        size_t cut = next_cut(text, len, pos, part_bytes), blen;
        char *b64 = okt_b64_encode(text + pos, cut - pos, &blen, err);
        if (!b64 ||
            json_object_set_new(o, OKT_F_MESSAGE_ID,
                                json_string(message_id)) ||
            json_object_set_new(o, OKT_F_PACKETCOUNT,
                                json_integer((json_int_t)count)) ||
            json_object_set_new(o, OKT_F_PACKETNUMBER,
                                json_integer((json_int_t)i)) ||
            json_object_set_new(o, OKT_F_CONTENT,
                                json_stringn_nocheck(b64, blen))) {
            free(b64);
            goto nomem;
        }
        free(b64);
        out[i] = okt_msg_build(OKT_MSG_MULTIPART, o, NULL, err);
        if (!out[i]) {
            json_decref(o);
            okt_mp_split_free(out, count);
            return -1;
        }
        pos = cut;
    }
    json_decref(o);
    *msgs = out;
    *n = count;
    return 0;
nomem:
    json_decref(o);
    okt_mp_split_free(out, count);
    return okt_err_set(err, OKT_ENOMEM, "multipart split: out of memory");
}
