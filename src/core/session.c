/* session.c - the sans-IO Oktell client session (fact sheet §1.3, §2, §3).
 *
 * Requests live in a hash table keyed by id (the qid is the id in decimal)
 * and, when they have a deadline, in a binary min-heap ordered by it, so a
 * reply, a timeout and the next deadline are all O(1)/O(log n). Internal
 * requests (handshake ping, login, subscribe) use the same table and are
 * bounded by the open deadline instead of their own.
 *
 * Protocol facts (which requests go without userlogin, the default
 * subscriptions, what a login error means) come from the protocol table
 * (protocol.h), never from literals here. */
#include "session.h"
#include "message.h"
#include "protocol.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

enum { K_USER = 0, K_HANDSHAKE, K_LOGIN, K_SUBSCRIBE };

#define NO_HEAP ((size_t)-1)

typedef struct req {
    int64_t id;
    int64_t deadline;     /* -1: none */
    int64_t timeout_ms;
    size_t heap_idx;
    int kind;
    int tag;              /* the caller's, handed back with the reply */
    char method[48];      /* for error texts; cut if longer */
} req;

typedef struct out_msg {
    char *s;
    size_t len;
    int secret;           /* holds the password hashes: cleanse on free */
} out_msg;

/* An event while queued: an okt_event without its inline 256-byte error
 * text (the text, when there is one, is allocated), so a queue costs 56
 * bytes an entry rather than 300. */
typedef struct qev {
    int type;
    int code;             /* err.code */
    int64_t id;
    char *name;
    json_t *data;
    char *msg;            /* err.msg; NULL: none */
    size_t cost;          /* data's, as okt_event.cost */
    int tag;              /* a reply: its request's (okt_event.tag) */
} qev;

/* Idle, a session holds no queue and no request table beyond the least
 * one: rings are freed when they empty, a table or heap larger than
 * TABLE_MIN when it does (a busy one keeps its size while busy). */
#define RING_MIN  4
#define TABLE_MIN 8

struct okt_session {
    char *login;
    char *login_json;     /* the login as JSON text, made at first use:
                             the common request is formatted around it */
    const okt_wire_method *last_w;   /* the last request's table row, */
    char last_method[48];            /* found by this name (a request
                                        pipeline repeats one method) */
    char hash_cs[33];     /* Password: md5hex(cp1251(pw)) */
    char hash_ci[33];     /* password: md5hex(cp1251(lower(pw))) */
    int timeout_ms, ping_ms, open_ms;
    char **subs;          /* NULL: the protocol table's (default_sub) */
    size_t nsubs;
    size_t subs_waiting;  /* subscriptions sent and not yet answered */
    okt_trace *trace;     /* NULL: tracing off */

    int state;
    int redirected;
    int64_t next_id;
    int64_t open_deadline;
    int64_t next_ping;
    int64_t last_rx;
    json_t *login_reply;

    req **slots;          /* open addressing, linear probing */
    size_t cap, count;
    req **heap;
    size_t hn, hcap;

    out_msg *out;         /* ring */
    size_t out_head, out_n, out_cap;
    size_t out_bytes;     /* their text */

    qev *ev;              /* ring */
    size_t ev_head, ev_n, ev_cap;
    size_t ev_bytes;      /* their cost and error texts */
    size_t ev_unsolicited; /* server events + protocol errors queued */

    okt_mp *mp;
};

void okt_session_cfg_init(okt_session_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = OKT_DEFAULT_TIMEOUT_MS;
    cfg->ping_ms = OKT_DEFAULT_PING_MS;
    cfg->open_ms = OKT_DEFAULT_OPEN_MS;
}

void okt_event_clear(okt_event *ev)
{
    if (!ev)
        return;
    free(ev->name);
    json_decref(ev->data);
    memset(ev, 0, sizeof *ev);
}

/* ---- password hashing (fact sheet §3.1) ------------------------------ */

/* cp1251 lowercase of one byte: ASCII, the Russian block and the other
 * Cyrillic letters cp1251 holds. A fixed table keeps the hash independent
 * of the process locale (towlower in the "C" locale is ASCII-only). */
static unsigned char cp1251_lower(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c + 32);
    if (c >= 0xC0 && c <= 0xDF)
        return (unsigned char)(c + 32);
    switch (c) {
    case 0x80: return 0x90;  /* Ђ */
    case 0x81: return 0x83;  /* Ѓ */
    case 0x8A: return 0x9A;  /* Љ */
    case 0x8C: return 0x9C;  /* Њ */
    case 0x8D: return 0x9D;  /* Ќ */
    case 0x8E: return 0x9E;  /* Ћ */
    case 0x8F: return 0x9F;  /* Џ */
    case 0xA1: return 0xA2;  /* Ў */
    case 0xA3: return 0xBC;  /* Ј */
    case 0xA5: return 0xB4;  /* Ґ */
    case 0xA8: return 0xB8;  /* Ё */
    case 0xAA: return 0xBA;  /* Є */
    case 0xAF: return 0xBF;  /* Ї */
    case 0xB2: return 0xB3;  /* І */
    case 0xBD: return 0xBE;  /* Ѕ */
    default: return c;
    }
}

#define PW_MAX 1024

int okt_password_hash(const char *utf8, int lowercase, char hex[33],
                      okt_err *err)
{
    hex[0] = '\0';
    if (!utf8)
        return okt_err_set(err, OKT_EINVAL, "password: missing");
    size_t inlen = strlen(utf8);
    if (inlen > PW_MAX)
        return okt_err_set(err, OKT_EINVAL, "password: longer than %d bytes",
                           PW_MAX);
    iconv_t cd = iconv_open("CP1251", "UTF-8");
    if (cd == (iconv_t)-1)
        return okt_err_set(err, OKT_EINVAL,
                           "password: iconv has no UTF-8 -> CP1251");
    char in[PW_MAX + 1], out[PW_MAX + 1];
    memcpy(in, utf8, inlen);
    char *ip = in, *op = out;
    size_t il = inlen, ol = sizeof out;
    size_t r = iconv(cd, &ip, &il, &op, &ol);
    int bad = r == (size_t)-1;
    if (!bad)
        bad = iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1;
    iconv_close(cd);
    size_t n = (size_t)(op - out);
    int rc = 0;
    if (bad) {
        rc = okt_err_set(err, OKT_EINVAL,
                         "password: a character cp1251 cannot hold, or not "
                         "UTF-8");
    } else {
        if (lowercase)
            for (size_t i = 0; i < n; i++)
                out[i] = (char)cp1251_lower((unsigned char)out[i]);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!EVP_Digest(out, n, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
            rc = okt_err_set(err, OKT_EINVAL, "password: MD5 unavailable");
        } else {
            static const char digits[] = "0123456789abcdef";
            for (unsigned i = 0; i < 16; i++) {
                hex[2 * i] = digits[md[i] >> 4];
                hex[2 * i + 1] = digits[md[i] & 15];
            }
            hex[32] = '\0';
        }
        OPENSSL_cleanse(md, sizeof md);
    }
    OPENSSL_cleanse(in, sizeof in);
    OPENSSL_cleanse(out, sizeof out);
    return rc;
}

/* ---- request table ----------------------------------------------------- */

static size_t slot_of(const okt_session *s, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (s->cap - 1);
}

static req *table_get(const okt_session *s, int64_t id)
{
    if (!s->cap)
        return NULL;
    for (size_t i = slot_of(s, id);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slots[i])
            return NULL;
        if (s->slots[i]->id == id)
            return s->slots[i];
    }
}

static void table_put_raw(req **slots, size_t cap, req *r, const okt_session *s)
{
    (void)s;
    uint64_t h = (uint64_t)r->id * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = r;
}

static int table_put(okt_session *s, req *r)
{
    if ((s->count + 1) * 2 > s->cap) {   /* keep the load under 1/2 */
        size_t ncap = s->cap ? s->cap * 2 : TABLE_MIN;
        req **ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                table_put_raw(ns, ncap, s->slots[i], s);
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    table_put_raw(s->slots, s->cap, r, s);
    s->count++;
    return 0;
}

/* Remove by backward shift, so no tombstones build up. An emptied table
 * larger than the least is freed (the subscriptions' burst, say). */
static void table_del(okt_session *s, int64_t id)
{
    if (!s->cap)
        return;
    size_t mask = s->cap - 1, i = slot_of(s, id);
    while (s->slots[i] && s->slots[i]->id != id)
        i = (i + 1) & mask;
    if (!s->slots[i])
        return;
    s->slots[i] = NULL;
    s->count--;
    if (s->count == 0 && s->cap > TABLE_MIN) {
        free(s->slots);
        s->slots = NULL;
        s->cap = 0;
        return;
    }
    for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
        size_t home = slot_of(s, s->slots[j]->id);
        /* move j into the hole at i unless its home lies in (i, j] */
        int stay = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stay) {
            s->slots[i] = s->slots[j];
            s->slots[j] = NULL;
            i = j;
        }
    }
}

static void heap_swap(okt_session *s, size_t a, size_t b)
{
    req *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_idx = a;
    s->heap[b]->heap_idx = b;
}

static void heap_up(okt_session *s, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->heap[p]->deadline <= s->heap[i]->deadline)
            break;
        heap_swap(s, p, i);
        i = p;
    }
}

static void heap_down(okt_session *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->hn && s->heap[l]->deadline < s->heap[m]->deadline)
            m = l;
        if (r < s->hn && s->heap[r]->deadline < s->heap[m]->deadline)
            m = r;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}

static int heap_push(okt_session *s, req *r)
{
    if (s->hn == s->hcap) {
        size_t nc = s->hcap ? s->hcap * 2 : TABLE_MIN;
        req **nh = realloc(s->heap, nc * sizeof *nh);
        if (!nh)
            return -1;
        s->heap = nh;
        s->hcap = nc;
    }
    r->heap_idx = s->hn;
    s->heap[s->hn++] = r;
    heap_up(s, r->heap_idx);
    return 0;
}

static void heap_remove(okt_session *s, req *r)
{
    size_t i = r->heap_idx;
    if (i == NO_HEAP)
        return;
    r->heap_idx = NO_HEAP;
    s->hn--;
    if (s->hn == 0 && s->hcap > TABLE_MIN) {
        free(s->heap);
        s->heap = NULL;
        s->hcap = 0;
        return;
    }
    if (i == s->hn)
        return;
    s->heap[i] = s->heap[s->hn];
    s->heap[i]->heap_idx = i;
    heap_up(s, i);
    heap_down(s, s->heap[i]->heap_idx);
}

/* Unlink a request from both structures; the caller frees it. */
static void req_unlink(okt_session *s, req *r)
{
    heap_remove(s, r);
    table_del(s, r->id);
}

/* ---- queues ------------------------------------------------------------ */

/* Both FIFOs are rings of elem-sized items. Full: a buffer twice the size
 * (RING_MIN at first), unrolled so head is 0. Returns it, the old one
 * freed; or NULL with the old one untouched. Emptied, a ring is freed
 * (RING_DROP). */
static void *ring_grow(void *buf, size_t *cap, size_t *head, size_t n,
                       size_t elem)
{
    size_t nc = *cap ? *cap * 2 : RING_MIN;
    char *nb = malloc(nc * elem);
    if (!nb)
        return NULL;
    for (size_t i = 0; i < n; i++)
        memcpy(nb + i * elem, (char *)buf + ((*head + i) % *cap) * elem, elem);
    free(buf);
    *cap = nc;
    *head = 0;
    return nb;
}

#define RING_DROP(ring, cap, head) \
    (free(ring), (ring) = NULL, (cap) = (head) = 0)

static int out_push(okt_session *s, char *msg, size_t len, int secret)
{
    if (s->out_n == s->out_cap) {
        out_msg *no = ring_grow(s->out, &s->out_cap, &s->out_head, s->out_n,
                                sizeof *no);
        if (!no)
            return -1;
        s->out = no;
    }
    out_msg *m = &s->out[(s->out_head + s->out_n) % s->out_cap];
    m->s = msg;
    m->len = len;
    m->secret = secret;
    s->out_n++;
    s->out_bytes += len;
    return 0;
}

static void out_free(out_msg *m)
{
    if (m->secret)
        OPENSSL_cleanse(m->s, m->len);
    free(m->s);
}

static void out_clear(okt_session *s)
{
    while (s->out_n) {
        s->out_bytes -= s->out[s->out_head].len;
        out_free(&s->out[s->out_head]);
        s->out_head = (s->out_head + 1) % s->out_cap;
        s->out_n--;
    }
    RING_DROP(s->out, s->out_cap, s->out_head);
}

static int unsolicited(int type, int64_t id)
{
    return type == OKT_EV_SERVER || (type == OKT_EV_ERROR && !id);
}

static size_t qev_bytes(const qev *q)
{
    return q->cost + (q->msg ? strlen(q->msg) + 1 : 0);
}

static void qev_clear(qev *q)
{
    free(q->name);
    free(q->msg);
    json_decref(q->data);
}

/* Takes ownership of q's name, data and msg (also on failure). */
static int ev_push(okt_session *s, qev *q)
{
    if (s->ev_n == s->ev_cap) {
        qev *ne = ring_grow(s->ev, &s->ev_cap, &s->ev_head, s->ev_n,
                            sizeof *ne);
        if (!ne) {
            qev_clear(q);
            return -1;
        }
        s->ev = ne;
    }
    s->ev[(s->ev_head + s->ev_n) % s->ev_cap] = *q;
    s->ev_n++;
    s->ev_bytes += qev_bytes(q);
    if (unsolicited(q->type, q->id))
        s->ev_unsolicited++;
    return 0;
}

/* msg NULL: no error (code unused). The text is cut as okt_err_set cuts
 * it, so next_event hands out what it always did. */
static void push_simple(okt_session *s, int type, int64_t id, json_t *data,
                        int code, const char *msg)
{
    qev q;
    memset(&q, 0, sizeof q);
    q.type = type;
    q.id = id;
    q.data = data;
    if (msg) {
        okt_err e;
        okt_err_set(&e, code, "%s", msg);
        q.code = e.code;
        q.msg = strdup(e.msg);   /* NULL (out of memory): the code alone */
    }
    ev_push(s, &q);
}

/* A reply or server event carrying a parsed message that costs `cost`;
 * tag: the request's (okt_session_request_tag), 0 for an event. */
static void push_data(okt_session *s, int type, int64_t id, char *name,
                      json_t *data, size_t cost, int tag)
{
    qev q;
    memset(&q, 0, sizeof q);
    q.type = type;
    q.id = id;
    q.name = name;
    q.data = data;
    q.cost = cost;
    q.tag = tag;
    ev_push(s, &q);
}

static int cmp_req(const void *a, const void *b)
{
    int64_t x = (*(req *const *)a)->id, y = (*(req *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Every request ends exactly once: drain the table into the FIFO, user
 * requests as OKT_ECLOSED errors in id order, then mark the session over
 * with the CLOSED event. */
static void close_with(okt_session *s, int code, const char *why)
{
    if (s->state == OKT_S_CLOSED)
        return;
    req **all = NULL;
    size_t n = 0;
    if (s->count) {
        all = malloc(s->count * sizeof *all);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) {
                if (all)
                    all[n++] = s->slots[i];
                else
                    free(s->slots[i]);
            }
        if (all)
            qsort(all, n, sizeof *all, cmp_req);
    }
    for (size_t i = 0; i < n; i++) {
        if (all[i]->kind == K_USER) {
            char m[OKT_ERRMSG_MAX];
            /* the cause, so a caller hears what happened */
            snprintf(m, sizeof m, "request '%s' failed: %s", all[i]->method,
                     why);
            push_simple(s, OKT_EV_ERROR, all[i]->id, NULL, OKT_ECLOSED, m);
        }
        free(all[i]);
    }
    free(all);
    free(s->slots);   /* every request ended: no table, no heap */
    s->slots = NULL;
    s->cap = 0;
    s->count = 0;
    free(s->heap);
    s->heap = NULL;
    s->hn = s->hcap = 0;
    out_clear(s);
    json_decref(s->login_reply);
    s->login_reply = NULL;
    s->state = OKT_S_CLOSED;
    s->open_deadline = -1;
    s->next_ping = -1;
    push_simple(s, OKT_EV_CLOSED, 0, NULL, code, why);
}

/* ---- lifecycle --------------------------------------------------------- */

#define MAX_SUBS 1024

/* The default subscriptions: each distinct `subscribe` name of the table's
 * events, in table order (a group name such as "dlgcard" is expanded by
 * the server, fact sheet §2.5). Not copied into each session: one whose
 * subscriptions are these (the Lua client's, unless `wire` renames an
 * event) keeps subs NULL and reads them from the table at login. The next
 * one from table index *i on, *i moved past it; NULL after the last. */
static const char *default_sub(size_t *i)
{
    size_t nev;
    const okt_event_def *ev = okt_proto_events(&nev);
    for (; *i < nev; (*i)++) {
        const char *name = ev[*i].subscribe;
        if (!name)
            continue;
        size_t k = 0;
        while (k < *i && !(ev[k].subscribe && !strcmp(ev[k].subscribe, name)))
            k++;
        if (k == *i) {
            (*i)++;
            return name;
        }
    }
    return NULL;
}

static int is_default_subs(const char *const *subs, size_t n)
{
    size_t i = 0, k = 0;
    const char *d;
    while ((d = default_sub(&i)))
        if (k >= n || strcmp(subs[k++], d) != 0)
            return 0;
    return k == n;
}

static int valid_utf8_str(const char *str)
{
    json_t *j = json_string(str);
    json_decref(j);
    return j != NULL;
}

okt_session *okt_session_new(const okt_session_cfg *cfg, okt_err *err)
{
    if (!cfg || !cfg->login || !cfg->password) {
        okt_err_set(err, OKT_EINVAL, "session: need a login and a password");
        return NULL;
    }
    if (!valid_utf8_str(cfg->login)) {
        okt_err_set(err, OKT_EINVAL, "session: login is not UTF-8");
        return NULL;
    }
    okt_session *s = calloc(1, sizeof *s);
    if (!s) {
        okt_err_set(err, OKT_ENOMEM, "session: out of memory");
        return NULL;
    }
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms
                                        : OKT_DEFAULT_TIMEOUT_MS;
    s->ping_ms = cfg->ping_ms > 0 ? cfg->ping_ms : OKT_DEFAULT_PING_MS;
    s->open_ms = cfg->open_ms > 0 ? cfg->open_ms : OKT_DEFAULT_OPEN_MS;
    s->next_id = 1;
    s->open_deadline = s->next_ping = s->last_rx = -1;
    s->state = OKT_S_HANDSHAKE;
    s->login = strdup(cfg->login);
    if (!s->login)
        goto nomem;
    if (okt_password_hash(cfg->password, 0, s->hash_cs, err) ||
        okt_password_hash(cfg->password, 1, s->hash_ci, err)) {
        okt_session_free(s);
        return NULL;
    }
    if (cfg->subscribe) {
        const char *const *subs = cfg->subscribe;
        size_t n = 0;
        while (subs[n])
            n++;
        if (n > MAX_SUBS) {
            okt_session_free(s);
            okt_err_set(err, OKT_EINVAL, "session: more than %d subscriptions",
                        MAX_SUBS);
            return NULL;
        }
        /* the table's own list: subs stays NULL (default_sub) */
        if (!n || !is_default_subs(subs, n)) {
            s->subs = calloc(n + 1, sizeof *s->subs);
            if (!s->subs)
                goto nomem;
            for (; s->nsubs < n; s->nsubs++) {
                if (!valid_utf8_str(subs[s->nsubs])) {
                    okt_session_free(s);
                    okt_err_set(err, OKT_EINVAL,
                                "session: event name not UTF-8");
                    return NULL;
                }
                if (!(s->subs[s->nsubs] = strdup(subs[s->nsubs])))
                    goto nomem;
            }
        }
    }
    if (cfg->trace && !(s->trace = okt_trace_new(0, 0)))
        goto nomem;
    s->mp = okt_mp_new(NULL, err);
    if (!s->mp) {
        okt_session_free(s);
        return NULL;
    }
    return s;
nomem:
    okt_session_free(s);
    okt_err_set(err, OKT_ENOMEM, "session: out of memory");
    return NULL;
}

void okt_session_free(okt_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    free(s->heap);
    out_clear(s);
    free(s->out);
    while (s->ev_n) {
        qev_clear(&s->ev[s->ev_head]);
        s->ev_head = (s->ev_head + 1) % s->ev_cap;
        s->ev_n--;
    }
    free(s->ev);
    if (s->subs)
        for (size_t i = 0; i < s->nsubs; i++)
            free(s->subs[i]);
    free(s->subs);
    free(s->login);
    free(s->login_json);
    json_decref(s->login_reply);
    okt_mp_free(s->mp);
    okt_trace_free(s->trace);
    OPENSSL_cleanse(s->hash_cs, sizeof s->hash_cs);
    OPENSSL_cleanse(s->hash_ci, sizeof s->hash_ci);
    free(s);
}

int okt_session_state(const okt_session *s)
{
    return s ? s->state : OKT_S_CLOSED;
}

size_t okt_session_pending_events(const okt_session *s)
{
    return s ? s->ev_n : 0;
}

size_t okt_session_mem(const okt_session *s)
{
    if (!s)
        return 0;
    return sizeof *s + s->out_cap * sizeof *s->out + s->out_bytes +
           s->ev_cap * sizeof *s->ev + s->ev_bytes +
           s->count * sizeof(req) + s->cap * sizeof *s->slots +
           s->hcap * sizeof *s->heap + okt_mp_mem(s->mp) +
           okt_trace_mem(s->trace);
}

size_t okt_session_pending_requests(const okt_session *s)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->cap; i++)
        if (s->slots[i] && s->slots[i]->kind == K_USER)
            n++;
    return n;
}

/* The request text for method; params borrowed. Requests the table marks
 * `bare` go without userlogin (fact sheet §2.3). */
/* The decimal text of a request id (> 0) into buf (24 bytes); its length. */
static size_t id_text(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v > 0 ? (uint64_t)v : 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

/* A method name JSON carries as it is (no escape needed). */
static int plain_name(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
              (*m >= '0' && *m <= '9') || *m == '_'))
            return 0;
    return 1;
}

static char *build_request(okt_session *s, const char *method, json_t *params,
                           size_t *len, okt_err *err)
{
    const okt_wire_method *w;
    if (s->last_w && !strcmp(s->last_method, method)) {
        w = s->last_w;
    } else {
        w = okt_proto_wire(method);
        if (w && strlen(method) < sizeof s->last_method) {
            s->last_w = w;
            memcpy(s->last_method, method, strlen(method) + 1);
        }
    }
    char qid[24];
    size_t qlen = id_text(qid, s->next_id);
    const char *login = w && w->bare ? NULL : s->login;
    if (login && !s->login_json) {
        /* jansson escapes it once; okt_msg_request's own dump would give
         * the same text */
        json_t *j = json_string(login);
        s->login_json = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)
                          : NULL;
        json_decref(j);
    }
    if ((!params || !json_object_size(params)) && plain_name(method) &&
        (!login || s->login_json)) {
        /* No parameters (most reads): the text okt_msg_request would make,
         * formatted at once instead of built as a tree and dumped. */
        static const char u[] = "\",{\"" OKT_F_USERLOGIN "\":";
        static const char q[] = ",\"" OKT_F_QID "\":\"";
        static const char q0[] = "\",{\"" OKT_F_QID "\":\"";
        size_t ml = strlen(method), ll = login ? strlen(s->login_json) : 0;
        char *t = malloc(ml + ll + qlen + sizeof u + sizeof q + 8);
        if (!t) {
            okt_err_set(err, OKT_ENOMEM, "request: out of memory");
            return NULL;
        }
        /* ["method",{"userlogin":<login>,"qid":"N"}] or, bare,
         * ["method",{"qid":"N"}]; memcpy, as snprintf was a tenth of a
         * request's cost */
        char *p = t;
        *p++ = '[';
        *p++ = '"';
        memcpy(p, method, ml);
        p += ml;
        if (login) {
            memcpy(p, u, sizeof u - 1);
            p += sizeof u - 1;
            memcpy(p, s->login_json, ll);
            p += ll;
            memcpy(p, q, sizeof q - 1);
            p += sizeof q - 1;
        } else {
            memcpy(p, q0, sizeof q0 - 1);
            p += sizeof q0 - 1;
        }
        memcpy(p, qid, qlen);
        p += qlen;
        memcpy(p, "\"}]", 4);   /* with the NUL */
        *len = (size_t)(p + 3 - t);
        return t;
    }
    return okt_msg_request(method, qid, login, params, len, err);
}

/* Queue a request of any kind; params is stolen. Returns its id or -1. */
static int64_t send_req(okt_session *s, int kind, const char *method,
                        json_t *params, int timeout_ms, int64_t now,
                        okt_err *err)
{
    if (s->count >= OKT_MAX_PENDING) {
        json_decref(params);
        return okt_err_set(err, OKT_EPROTOCOL,
                           "too many requests in flight (OKT_MAX_PENDING %u)",
                           (unsigned)OKT_MAX_PENDING);
    }
    int64_t id = s->next_id;
    size_t len;
    char *msg = build_request(s, method, params, &len, err);
    json_decref(params);
    if (!msg)
        return -1;
    req *r = calloc(1, sizeof *r);
    if (!r || out_push(s, msg, len, kind == K_LOGIN)) {
        if (kind == K_LOGIN)
            OPENSSL_cleanse(msg, len);
        free(msg);
        free(r);
        return okt_err_set(err, OKT_ENOMEM, "request: out of memory");
    }
    r->id = id;
    r->kind = kind;
    r->heap_idx = NO_HEAP;
    r->deadline = -1;
    r->timeout_ms = timeout_ms;
    snprintf(r->method, sizeof r->method, "%s", method);
    if (table_put(s, r)) {
        free(r);   /* the message is already queued: the reply is dropped */
        return okt_err_set(err, OKT_ENOMEM, "request: out of memory");
    }
    if (kind == K_USER) {
        r->deadline = now + timeout_ms;
        if (heap_push(s, r)) {
            table_del(s, id);
            free(r);
            return okt_err_set(err, OKT_ENOMEM, "request: out of memory");
        }
    }
    s->next_id++;
    return id;
}

/* Fire and forget: the id is spent, so a reply counts as a late reply and
 * is dropped. params is stolen. */
static int send_oneway(okt_session *s, const char *method, json_t *params,
                       okt_err *err)
{
    size_t len;
    char *msg = build_request(s, method, params, &len, err);
    json_decref(params);
    if (!msg)
        return -1;
    if (out_push(s, msg, len, 0)) {
        free(msg);
        return okt_err_set(err, OKT_ENOMEM, "request: out of memory");
    }
    s->next_id++;
    return 0;
}

static void send_ping(okt_session *s)
{
    send_oneway(s, OKT_W_PING, NULL, NULL);
}

/* The checks every caller-initiated message passes; on failure the
 * params (owned by the call) are released. */
static int can_send(okt_session *s, const char *what, const char *method,
                    json_t *params, okt_err *err)
{
    if (!s || !method || !*method || (params && !json_is_object(params))) {
        json_decref(params);
        return okt_err_set(err, OKT_EINVAL,
                           "%s: need a method name and object params", what);
    }
    if (s->state != OKT_S_READY) {
        json_decref(params);
        return okt_err_set(err, OKT_ECLOSED, "%s",
                           s->state == OKT_S_CLOSED ? "connection closed"
                                                    : "not logged in yet");
    }
    return 0;
}

int okt_session_send(okt_session *s, const char *method, json_t *params,
                     okt_err *err)
{
    if (can_send(s, "send", method, params, err) != 0)
        return -1;
    return send_oneway(s, method, params, err);
}

static void send_login(okt_session *s, int64_t now)
{
    okt_err e;
    json_t *p = json_pack("{s:s,s:s,s:i}", OKT_F_PASSWORD_CS, s->hash_cs,
                          OKT_F_PASSWORD_CI, s->hash_ci, OKT_F_SHOWID, 1);
    s->state = OKT_S_LOGIN;
    if (!p || send_req(s, K_LOGIN, OKT_W_LOGIN, p, 0, now, &e) < 0)
        close_with(s, OKT_ENOMEM, "cannot queue the login request");
}

int okt_session_open(okt_session *s, int64_t now)
{
    if (!s || s->state == OKT_S_CLOSED || s->state == OKT_S_READY ||
        (s->state == OKT_S_LOGIN))
        return -1;
    s->last_rx = now;
    if (s->state == OKT_S_REDIRECT) {
        /* oktell.js treats the redirected socket as established at once;
         * the first open deadline still covers the hop. */
        send_login(s, now);
        return 0;
    }
    /* (Re)start the handshake on a fresh transport: forget what the last
     * one had queued. */
    out_clear(s);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] && s->slots[i]->kind == K_HANDSHAKE) {
            req *r = s->slots[i];
            req_unlink(s, r);
            free(r);
            i = (size_t)-1;   /* the table shifted: rescan */
        }
    s->open_deadline = now + s->open_ms;
    okt_err e;
    if (send_req(s, K_HANDSHAKE, OKT_W_PING, NULL, 0, now, &e) < 0) {
        close_with(s, OKT_ENOMEM, "cannot queue the handshake ping");
        return -1;
    }
    return 0;
}

/* ---- incoming ---------------------------------------------------------- */

/* Our qids are positive decimal numbers without leading zeros. */
static int64_t qid_id(const char *q)
{
    if (!q || q[0] < '1' || q[0] > '9')
        return 0;
    int64_t v = 0;
    for (size_t i = 0; q[i]; i++) {
        if (q[i] < '0' || q[i] > '9' || i >= 18)
            return 0;
        v = v * 10 + (q[i] - '0');
    }
    return v;
}

static long long int_field(const json_t *v)
{
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v)) {
        /* range first: casting 1e300 is undefined behaviour */
        double d = json_real_value(v);
        return d > -9.2e18 && d < 9.2e18 ? (long long)d : 0;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        long long r = strtoll(json_string_value(v), &end, 10);
        if (!errno && end != json_string_value(v) && !*end)
            return r;
    }
    return 0;
}

static void become_ready(okt_session *s, int64_t now)
{
    s->state = OKT_S_READY;
    s->open_deadline = -1;
    s->next_ping = now + s->ping_ms;
    json_t *d = s->login_reply;
    s->login_reply = NULL;
    push_simple(s, OKT_EV_READY, 0, d, 0, NULL);
}

static void on_login_reply(okt_session *s, json_t *obj, int64_t now)
{
    if (okt_msg_failed(obj)) {
        /* fact sheet §3.3; what each value means is the table's (§8.1) */
        long long code = int_field(json_object_get(obj, OKT_F_ERROR));
        const char *em =
            json_string_value(json_object_get(obj, OKT_F_ERRORMSG));
        int okc = okt_proto_error_code(OKT_W_LOGIN, code, em, OKT_ESERVER);
        char m[OKT_ERRMSG_MAX];
        if (em && *em && code)
            snprintf(m, sizeof m, "login refused (%s): \"%s\" (error %lld)",
                     okt_errname(okc), em, code);
        else if (em && *em)
            snprintf(m, sizeof m, "login refused (%s): \"%s\"",
                     okt_errname(okc), em);
        else if (code)
            snprintf(m, sizeof m, "login refused (%s): error %lld",
                     okt_errname(okc), code);
        else
            snprintf(m, sizeof m, "login refused (%s): result 0 without an "
                     "error value or text", okt_errname(okc));
        close_with(s, okc, m);
        return;
    }
    s->login_reply = json_incref(obj);
    /* As oktell.js does: one subscribeevent per name, all at once; ready
     * when each is answered (fact sheet §2.5, §4). */
    size_t di = 0;
    for (size_t i = 0;; i++) {
        const char *name = s->subs ? (i < s->nsubs ? s->subs[i] : NULL)
                                   : default_sub(&di);
        if (!name)
            break;
        json_t *p = json_pack("{s:[s]}", OKT_F_EVENTMETHOD, name);
        okt_err e;
        if (!p || send_req(s, K_SUBSCRIBE, OKT_W_SUBSCRIBEEVENT, p, 0, now,
                           &e) < 0) {
            close_with(s, OKT_ENOMEM, "cannot queue a subscription");
            return;
        }
        s->subs_waiting++;
    }
    if (!s->subs_waiting)
        become_ready(s, now);
}

static void proto_error(okt_session *s, const okt_err *e)
{
    if (s->ev_unsolicited >= OKT_MAX_EVENTS) {
        close_with(s, OKT_EPROTOCOL,
                   "event queue full (OKT_MAX_EVENTS): events not taken");
        return;
    }
    push_simple(s, OKT_EV_ERROR, 0, NULL, e->code, e->msg);
}

static void dispatch(okt_session *s, const char *name, json_t *obj,
                     size_t cost, int64_t now)
{
    const char *q = okt_msg_qid(obj);
    int64_t qn = qid_id(q);
    if (s->state == OKT_S_HANDSHAKE) {
        /* fact sheet §1.3: only the redirect or the ping reply count */
        if (!strcmp(name, OKT_MSG_WEBSOCKETREDIRECT)) {
            s->state = OKT_S_REDIRECT;
            s->redirected = 1;
            out_clear(s);
            for (size_t i = 0; i < s->cap; i++)
                if (s->slots[i] && s->slots[i]->kind == K_HANDSHAKE) {
                    req *r = s->slots[i];
                    req_unlink(s, r);
                    free(r);
                    i = (size_t)-1;
                }
            return;
        }
        req *r = qn ? table_get(s, qn) : NULL;
        if (r && r->kind == K_HANDSHAKE) {
            req_unlink(s, r);
            free(r);
            send_login(s, now);
        }
        return;
    }
    req *r = qn ? table_get(s, qn) : NULL;
    if (r) {
        req_unlink(s, r);
        int kind = r->kind;
        int64_t id = r->id;
        int tag = r->tag;
        free(r);
        switch (kind) {
        case K_LOGIN:
            on_login_reply(s, obj, now);
            break;
        case K_SUBSCRIBE:
            /* any reply counts: oktell.js only logs its result */
            if (s->subs_waiting && !--s->subs_waiting &&
                s->state == OKT_S_LOGIN)
                become_ready(s, now);
            break;
        case K_USER:
            push_data(s, OKT_EV_REPLY, id, NULL, json_incref(obj), cost, tag);
            break;
        default:
            break;
        }
        return;
    }
    if (qn && qn < s->next_id)
        return;   /* a late reply (timed out, or keepalive): dropped */
    if (s->ev_unsolicited >= OKT_MAX_EVENTS) {
        close_with(s, OKT_EPROTOCOL,
                   "event queue full (OKT_MAX_EVENTS): events not taken");
        return;
    }
    char *n = strdup(name);
    if (n)
        push_data(s, OKT_EV_SERVER, 0, n, json_incref(obj), cost, 0);
}

/* okt_msg_parse behind a linear scan (OKT_CLIENT_JSON_ITEMS): the cost of
 * a message stays linear in its size, whatever its shape. *cost: what its
 * tree holds, roughly (okt_session_mem). */
static int parse(const char *msg, size_t len, json_t **root,
                 const char **name, json_t **obj, size_t *cost, okt_err *e)
{
    size_t items = 0;
    *root = NULL;
    if (okt_msg_scan_items(msg, len, OKT_MAX_JSON_DEPTH, OKT_CLIENT_JSON_ITEMS,
                           OKT_MAX_WS_MSG, OKT_MAX_WS_MSG, &items, e) != 0)
        return -1;
    *cost = len + items * OKT_JSON_VALUE_COST;
    return okt_msg_parse_scanned(msg, len, root, name, obj, e);
}

int okt_session_feed(okt_session *s, const char *msg, size_t len,
                     int64_t now)
{
    if (!s || s->state == OKT_S_CLOSED)
        return -1;
    s->last_rx = now;
    json_t *root;
    const char *name;
    json_t *obj;
    okt_err e;
    size_t cost;
    if (parse(msg, len, &root, &name, &obj, &cost, &e)) {
        okt_trace_add(s->trace, '<', msg, len);
        proto_error(s, &e);
        return 0;
    }
    if (strcmp(name, OKT_MSG_MULTIPART) != 0) {
        okt_trace_add(s->trace, '<', msg, len);
    } else {
        /* the envelope carries base64 the mask cannot see into: trace the
         * message it completes instead */
        char *text;
        size_t tlen;
        int rc = okt_mp_feed(s->mp, obj, now, &text, &tlen, &e);
        json_decref(root);
        if (rc < 0) {
            proto_error(s, &e);
            return 0;
        }
        if (rc == 0)
            return 0;
        okt_trace_add(s->trace, '<', text, tlen);
        int bad = parse(text, tlen, &root, &name, &obj, &cost, &e);
        free(text);
        if (bad) {
            proto_error(s, &e);
            return 0;
        }
        if (!strcmp(name, OKT_MSG_MULTIPART)) {
            json_decref(root);
            okt_err_set(&e, OKT_EPROTOCOL, "multipart: nested multipart");
            proto_error(s, &e);
            return 0;
        }
    }
    dispatch(s, name, obj, cost, now);
    json_decref(root);
    return 0;
}

/* ---- output, time ------------------------------------------------------ */

int okt_session_output(okt_session *s, const char **msg, size_t *len)
{
    if (!s || !s->out_n)
        return 0;
    *msg = s->out[s->out_head].s;
    *len = s->out[s->out_head].len;
    return 1;
}

void okt_session_consume_output(okt_session *s)
{
    if (!s || !s->out_n)
        return;
    /* traced when the transport takes it: what was dropped unsent (a
     * restart, a close) never went out */
    if (s->trace)
        okt_trace_add(s->trace, '>', s->out[s->out_head].s,
                      s->out[s->out_head].len);
    s->out_bytes -= s->out[s->out_head].len;
    out_free(&s->out[s->out_head]);
    s->out_head = (s->out_head + 1) % s->out_cap;
    if (!--s->out_n)
        RING_DROP(s->out, s->out_cap, s->out_head);
}

static int64_t dmin(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

int64_t okt_session_deadline(const okt_session *s)
{
    if (!s || s->state == OKT_S_CLOSED)
        return -1;
    int64_t d = -1;
    if (s->state != OKT_S_READY)
        d = dmin(d, s->open_deadline);
    if (s->hn)
        d = dmin(d, s->heap[0]->deadline);
    if (s->state == OKT_S_READY) {
        d = dmin(d, s->next_ping);
        if (s->last_rx >= 0)
            d = dmin(d, s->last_rx + 2 * (int64_t)s->ping_ms);
    }
    return dmin(d, okt_mp_deadline(s->mp));
}

void okt_session_tick(okt_session *s, int64_t now)
{
    if (!s || s->state == OKT_S_CLOSED)
        return;
    okt_mp_expire(s->mp, now);
    if (s->state != OKT_S_READY && s->open_deadline >= 0 &&
        now >= s->open_deadline) {
        char m[OKT_ERRMSG_MAX];
        snprintf(m, sizeof m, "no login within %d ms (open timeout)",
                 s->open_ms);
        close_with(s, OKT_ETIMEOUT, m);
        return;
    }
    while (s->hn && s->heap[0]->deadline <= now) {
        req *r = s->heap[0];
        req_unlink(s, r);
        char m[OKT_ERRMSG_MAX];
        snprintf(m, sizeof m, "request '%s' timed out after %lld ms",
                 r->method, (long long)r->timeout_ms);
        push_simple(s, OKT_EV_ERROR, r->id, NULL, OKT_ETIMEOUT, m);
        free(r);
    }
    if (s->state == OKT_S_READY) {
        if (s->last_rx >= 0 && now >= s->last_rx + 2 * (int64_t)s->ping_ms) {
            char m[OKT_ERRMSG_MAX];
            snprintf(m, sizeof m,
                     "connection dead: no traffic for %lld ms",
                     (long long)(now - s->last_rx));
            close_with(s, OKT_ETIMEOUT, m);
            return;
        }
        if (s->next_ping >= 0 && now >= s->next_ping) {
            send_ping(s);
            s->next_ping = now + s->ping_ms;
        }
    }
}

void okt_session_transport_closed(okt_session *s, const okt_err *why,
                                  int64_t now)
{
    (void)now;
    if (!s)
        return;
    if (why && why->code != OKT_EOK)
        close_with(s, why->code,
                   why->msg[0] ? why->msg : okt_errname(why->code));
    else
        close_with(s, OKT_ECLOSED, "connection closed");
}

int64_t okt_session_request(okt_session *s, const char *method,
                            json_t *params, int timeout_ms, int64_t now,
                            okt_err *err)
{
    return okt_session_request_tag(s, method, params, timeout_ms, 0, now,
                                   err);
}

int64_t okt_session_request_tag(okt_session *s, const char *method,
                                json_t *params, int timeout_ms, int tag,
                                int64_t now, okt_err *err)
{
    if (can_send(s, "request", method, params, err) != 0)
        return -1;
    int64_t id = send_req(s, K_USER, method, params,
                          timeout_ms > 0 ? timeout_ms : s->timeout_ms, now,
                          err);
    if (id > 0 && tag) {
        req *r = table_get(s, id);
        if (r)
            r->tag = tag;
    }
    return id;
}

int okt_session_next_trace(okt_session *s, int *dir, char **text)
{
    return s ? okt_trace_next(s->trace, dir, text) : 0;
}

size_t okt_session_trace_dropped(const okt_session *s)
{
    return s ? okt_trace_dropped(s->trace) : 0;
}

okt_trace *okt_session_take_trace(okt_session *s)
{
    if (!s)
        return NULL;
    okt_trace *t = s->trace;
    s->trace = NULL;
    return t;
}

int okt_session_set_trace(okt_session *s, int on, okt_err *err)
{
    if (!s)
        return okt_err_set(err, OKT_EINVAL, "session expected");
    if (!on) {
        okt_trace_free(s->trace);
        s->trace = NULL;
    } else if (!s->trace && !(s->trace = okt_trace_new(0, 0))) {
        return okt_err_set(err, OKT_ENOMEM, "trace: out of memory");
    }
    return 0;
}

int okt_session_next_event(okt_session *s, okt_event *ev)
{
    if (!s || !s->ev_n)
        return 0;
    qev *q = &s->ev[s->ev_head];
    memset(ev, 0, sizeof *ev);
    ev->type = q->type;
    ev->id = q->id;
    ev->name = q->name;
    ev->data = q->data;
    ev->cost = q->cost;
    ev->tag = q->tag;
    if (q->msg || q->code) {
        ev->err.code = q->code;
        if (q->msg) {   /* cut to fit by push_simple */
            size_t n = strlen(q->msg);
            memcpy(ev->err.msg, q->msg, n + 1);
        }
    }
    s->ev_bytes -= qev_bytes(q);
    if (unsolicited(q->type, q->id))
        s->ev_unsolicited--;
    free(q->msg);
    s->ev_head = (s->ev_head + 1) % s->ev_cap;
    if (!--s->ev_n)
        RING_DROP(s->ev, s->ev_cap, s->ev_head);
    return 1;
}
