/* calls.c - the call model's object (room.h): its config, the emulated
 * clock and its timers, the call slots, and the output a reaction
 * collects. The rooms do the rest; model.c reaches this file through
 * calls.h only.
 *
 * The clock: emulated milliseconds in c->now. Time comes in with
 * okt_calls_tick (the driver's monotonic ms); emulated time runs `speed`
 * times as fast from the first tick on. At speed "max" (c->speed 0) a tick
 * fires the next batch of timers whatever the time, so a load run takes
 * as long as the model needs. Timers fire in (time, order set) order, each
 * one a reaction of its own, so runs repeat exactly for a seed. */
#include "room.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const okt_stage_names[ST_COUNT] = {
    [ST_IDLE] = "idle",           [ST_RING] = "ring",
    [ST_ACM_RING] = "acm_ring",   [ST_ACM_WAITDOWN] = "acm_waitdown",
    [ST_ACM_DIAL] = "acm_dial",   [ST_DIAL] = "dial",
    [ST_TALK] = "talk",           [ST_FLASH] = "flash",
    [ST_CONF] = "conference",     [ST_IVR] = "ivr"};

/* ---- small helpers ------------------------------------------------------ */

void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int64_t secs_ms(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 1e12)
        s = 1e12;   /* ~31,700 years: "never" for every practical run */
    return (int64_t)llround(s * 1000.0);
}

/* xoshiro256**, seeded through splitmix64: small, fast, and the same
 * sequence on every platform (runs repeat by seed). */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

void rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        s[i] = z ^ (z >> 31);
    }
}

double rng_unit(uint64_t s[4])
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* A chainid or competitor id: GUID-shaped, from the model's own sequence
 * (the same run gives the same ids). */
void new_guid(okt_calls *c, char out[37])
{
    uint64_t a = rng_next(c->rng), b = rng_next(c->rng);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xFFFFu, (unsigned)a & 0xFFFu,
             (unsigned)(0x8000u | ((b >> 48) & 0x3FFFu)),
             (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

int cfg_number(const json_t *o, const char *key, double def, double min,
               double *out, const char *what, okt_err *err)
{
    const json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v) || !(json_number_value(v) >= min) ||
        !isfinite(json_number_value(v)))
        return okt_err_set(err, OKT_EINVAL, "%s'%s' must be a number >= %g",
                           what, key, min);
    *out = json_number_value(v);
    return 0;
}

int cfg_flag(const json_t *o, const char *key, int def, int *out,
             const char *what, okt_err *err)
{
    const json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return okt_err_set(err, OKT_EINVAL, "%s'%s' must be a boolean", what,
                           key);
    *out = json_is_true(v);
    return 0;
}

const csvc *svc_find(const okt_calls *c, const char *num)
{
    for (size_t i = 0; num && i < c->nsvc; i++)
        if (!strcmp(c->svc[i].num, num))
            return &c->svc[i];
    return NULL;
}

const cabonent *abonent_find(const okt_calls *c, const char *num)
{
    for (size_t i = 0; num && i < c->nabon; i++)
        if (!strcmp(c->abon[i].num, num))
            return &c->abon[i];
    return NULL;
}

/* ---- construction ------------------------------------------------------- */

okt_calls *okt_calls_new(okt_model *m, const json_t *config, okt_err *err)
{
    okt_calls *c = calloc(1, sizeof *c);
    if (!c) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    c->m = m;
    c->nusers = okt_m_nusers(m);
    c->lines = calloc(c->nusers, sizeof *c->lines);
    if (!c->lines) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < c->nusers; i++) {
        cline *l = &c->lines[i];
        l->cur = l->held = l->conf = -1;
        l->intercom = 1;
        l->agent_wrapup_ms = -1;
    }
    double rt, wu, seed = 1;
    const json_t *sp = config ? json_object_get(config, "speed") : NULL;
    const json_t *sd = config ? json_object_get(config, "seed") : NULL;
    if (cfg_number(config, "ring_timeout", 15, 0.001, &rt, "", err) ||
        cfg_number(config, "wrapup", 0, 0, &wu, "", err) ||
        cfg_flag(config, "missed_to_off", 0, &c->missed_to_off, "", err))
        goto fail;
    c->ring_timeout_ms = secs_ms(rt);
    c->total.sl = 20;
    c->wrapup_ms = secs_ms(wu);
    c->speed = 1;
    if (json_is_string(sp) && !strcmp(json_string_value(sp), "max")) {
        c->speed = 0;
    } else if (sp && !json_is_null(sp)) {
        if (!json_is_number(sp) || !(json_number_value(sp) > 0) ||
            !isfinite(json_number_value(sp))) {
            okt_err_set(err, OKT_EINVAL,
                        "'speed' must be a number > 0 or \"max\"");
            goto fail;
        }
        c->speed = json_number_value(sp);
    }
    if (sd && !json_is_null(sd)) {
        if (!json_is_integer(sd)) {
            okt_err_set(err, OKT_EINVAL, "'seed' must be an integer");
            goto fail;
        }
        seed = (double)json_integer_value(sd);
    }
    c->seed = (uint64_t)(int64_t)seed;
    rng_seed(c->rng, c->seed);
    if (rights_load(c, config, err) || directory_load(c, config, err) ||
        traffic_load(c, config, err))
        goto fail;
    return c;
fail:
    okt_calls_free(c);
    return NULL;
}

void okt_calls_free(okt_calls *c)
{
    if (!c)
        return;
    rights_free(c);
    directory_free(c);
    confs_free(c);
    for (size_t i = 0; c->lines && i < c->nusers; i++)
        free(c->lines[i].pq);
    free(c->lines);
    free(c->calls);
    free(c->free_slots);
    free(c->heap);
    free(c->q);
    free(c->abon);
    for (size_t i = 0; i < c->noutq; i++)
        json_decref(c->outq[i].obj);
    free(c->outq);
    json_decref(c->numstates);
    json_decref(c->records);
    free(c);
}

int okt_calls_max_speed(const okt_calls *c)
{
    return c->speed <= 0;
}

/* ---- call slots ---------------------------------------------------------- */

ccall *call_at(okt_calls *c, int k)
{
    if (k < 0 || (size_t)k >= c->ncalls || !c->calls[k].serial)
        return NULL;
    return &c->calls[k];
}

int call_new(okt_calls *c)
{
    int k;
    if (c->nfree) {
        k = c->free_slots[--c->nfree];
    } else {
        if (c->ncalls >= MAX_CALLS)
            return -1;
        size_t cap = c->ncalls ? c->ncalls * 2 : 16;
        if (cap > MAX_CALLS)
            cap = MAX_CALLS;
        ccall *v = realloc(c->calls, cap * sizeof *v);
        if (!v)
            return -1;
        c->calls = v;
        int *f = realloc(c->free_slots, cap * sizeof *f);
        if (!f)
            return -1;
        c->free_slots = f;
        for (size_t i = cap; i-- > c->ncalls + 1;) {
            v[i].serial = 0;
            f[c->nfree++] = (int)i;
        }
        k = (int)c->ncalls;
        c->ncalls = cap;
    }
    ccall *x = &c->calls[k];
    memset(x, 0, sizeof *x);
    if (++c->serial == 0)
        ++c->serial;
    x->serial = c->serial;
    x->pq = x->skip = -1;
    x->a.user = x->b.user = -1;
    x->conf = x->comp = -1;
    x->patience_ms = x->talk_ms = -1;
    x->created = x->since = c->now;
    new_guid(c, x->chainid);
    c->live++;
    return k;
}

void call_release(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    if (!x)
        return;
    x->serial = 0;
    c->free_slots[c->nfree++] = k;
    c->live--;
}

/* ---- timers: a binary heap on (when, seq) ------------------------------ */

static int tless(const ctimer *a, const ctimer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

int timer_add(okt_calls *c, int64_t delay_ms, int kind, int a, unsigned b,
              unsigned gen)
{
    if (c->nheap == c->heapcap) {
        if (c->heapcap >= MAX_TIMERS)
            return -1;
        size_t cap = c->heapcap ? c->heapcap * 2 : 64;
        ctimer *v = realloc(c->heap, cap * sizeof *v);
        if (!v)
            return -1;
        c->heap = v;
        c->heapcap = cap;
    }
    ctimer t = {c->now + (delay_ms > 0 ? delay_ms : 0), c->tseq++, kind, a,
                b, gen};
    size_t i = c->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!tless(&t, &c->heap[p]))
            break;
        c->heap[i] = c->heap[p];
        i = p;
    }
    c->heap[i] = t;
    return 0;
}

static ctimer timer_pop(okt_calls *c)
{
    ctimer top = c->heap[0], last = c->heap[--c->nheap];
    size_t i = 0, n = c->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const ctimer *best = &last;
        if (l < n && tless(&c->heap[l], best)) {
            m = l;
            best = &c->heap[l];
        }
        if (r < n && tless(&c->heap[r], best))
            m = r;
        if (m == i)
            break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (n)
        c->heap[i] = last;
    return top;
}

static int fire(okt_calls *c, const ctimer *t)
{
    switch (t->kind) {
    case T_PATIENCE:
        return queue_timer(c, t);
    case T_AGENT:
    case T_WRAPUP:
    case T_ARRIVAL:
        return traffic_timer(c, t);
    default:
        return lines_timer(c, t);
    }
}

int okt_calls_tick(okt_calls *c, int64_t now, okt_out *out)
{
    c->last_real = now;
    if (!c->have_base) {
        c->have_base = 1;
        c->real_base = now;
        c->emu_base = c->now;
    }
    int max = c->speed <= 0;
    int64_t target = max ? INT64_MAX
                         : c->emu_base + (int64_t)((double)(now - c->real_base) *
                                                    c->speed);
    size_t budget = max ? TICK_BATCH : (size_t)-1;
    int rc = 0;
    while (budget && c->nheap && c->heap[0].when <= target) {
        budget--;
        ctimer t = timer_pop(c);
        if (t.when > c->now)
            c->now = t.when;
        if (fire(c, &t) < 0)
            rc = -1;
        if (okt_m_finish(c->m, out))
            rc = -1;
    }
    if (!max && target > c->now)
        c->now = target;
    return rc;
}

int64_t okt_calls_deadline(const okt_calls *c)
{
    if (!c->nheap)
        return -1;
    if (!c->have_base)
        return 0;   /* no tick yet: tick at once, which starts the clock */
    if (c->speed <= 0)
        return c->last_real;
    double d = (double)(c->heap[0].when - c->emu_base) / c->speed;
    return c->real_base + (int64_t)ceil(d);
}

/* ---- a reaction's end ---------------------------------------------------- */

void okt_calls_snap(okt_calls *c, int ui)
{
    if (c)
        lines_snap(c, ui);
}

int okt_calls_settle(okt_calls *c)
{
    if (c->in_settle)
        return 0;
    c->in_settle = 1;
    int rc = 0;
    /* dispatch rings operators, whose overlays then change: twice is
     * enough (dispatch takes every eligible operator in one pass) */
    for (int i = 0; i < 2; i++) {
        lines_sync(c);
        int n = queue_dispatch(c);
        if (n < 0)
            rc = -1;
        if (n <= 0)
            break;
    }
    lines_sync(c);
    c->in_settle = 0;
    return rc;
}

int okt_calls_flush_user(okt_calls *c, okt_out *out, int ui)
{
    return lines_flush_user(c, out, ui);
}

void okt_calls_numstate(okt_calls *c, const char *number, int st)
{
    if (!c->numstates && !(c->numstates = json_array()))
        return;
    json_array_append_new(c->numstates,
                          json_pack("{s:s, s:i}", OKT_F_NUM, number,
                                    OKT_F_NUMSTATEID, st));
}

int out_event(okt_calls *c, int to, int per_user, const char *wire,
              json_t *obj)
{
    if (!obj)
        return -1;
    if (c->noutq == c->outqcap) {
        size_t cap = c->outqcap ? c->outqcap * 2 : 16;
        coutev *v = cap <= MAX_OUTQ ? realloc(c->outq, cap * sizeof *v)
                                    : NULL;
        if (!v) {
            json_decref(obj);
            return -1;
        }
        c->outq = v;
        c->outqcap = cap;
    }
    c->outq[c->noutq++] = (coutev){to, per_user, wire, obj};
    return 0;
}

/* Conference events (to sessions), then the number states (to every
 * user), then custom events (to users), then the call records. */
int okt_calls_flush(okt_calls *c, okt_out *out)
{
    int rc = 0;
    for (size_t i = 0; i < c->noutq; i++)
        if (!c->outq[i].per_user &&
            okt_m_emit_sess(c->m, out, c->outq[i].to, c->outq[i].wire,
                            c->outq[i].obj))
            rc = -1;
    if (directory_flush(c, out))
        rc = -1;
    for (size_t i = 0; i < c->noutq; i++) {
        if (c->outq[i].per_user &&
            okt_m_emit(c->m, out, c->outq[i].to, c->outq[i].wire,
                       c->outq[i].obj, 0))
            rc = -1;
        json_decref(c->outq[i].obj);
    }
    c->noutq = 0;
    for (size_t i = 0; c->records && i < json_array_size(c->records); i++) {
        char *text = json_dumps(json_array_get(c->records, i),
                                JSON_COMPACT | JSON_REAL_PRECISION(12));
        if (!text) {
            rc = -1;
            continue;
        }
        okt_out_msg msg = {-1, OKT_OUT_RECORD, text, strlen(text)};
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            okt_out_msg *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                free(text);
                rc = -1;
                continue;
            }
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = msg;
    }
    if (c->records)
        json_array_clear(c->records);
    return rc;
}

/* A call record for the control channel's watchers ({"cmd": "watch"}). */
void record(okt_calls *c, int k, const char *what)
{
    ccall *x = call_at(c, k);
    if (!c->watch || !x || !c->records)
        return;
    okt_uview v;
    const char *user = NULL;
    int ui = x->b.kind == SD_USER ? x->b.user
             : x->a.kind == SD_USER ? x->a.user : -1;
    if (ui >= 0) {
        okt_m_user(c->m, ui, &v);
        user = v.login;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "chainid",
                          x->chainid, "from", x->a.num, "to",
                          x->b.kind != SD_NONE ? x->b.num : x->to, "stage",
                          what, "user", user ? user : "", "at",
                          (double)c->now / 1000.0);
    if (o)
        json_array_append_new(c->records, o);
}

void okt_calls_sess_closed(okt_calls *c, int sess)
{
    conf_sess_closed(c, sess);
}

int okt_calls_right(const okt_calls *c, int ui, const char *key)
{
    return ui >= 0 ? right(c, ui, key) : 0;
}

json_t *okt_calls_procs(const okt_calls *c)
{
    json_t *o = json_object();
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)c->procs, name, v) {
        char low[CALL_NAME];
        size_t i = 0;
        for (; name[i] && i + 1 < sizeof low; i++)
            low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32
                                                               : name[i]);
        low[i] = '\0';
        (void)v;
        json_object_set_new(o, low, json_true());
    }
    return o;
}

int okt_calls_in_call(const okt_calls *c, int ui)
{
    return !line_idle(c, ui) || c->lines[ui].wrapup;
}

size_t okt_calls_queue_len(const okt_calls *c)
{
    return c->nq;
}

/* snapshot's call fields: phone (the stage), chainid, held (the held
 * party's number), conference (its id). */
int okt_calls_snapshot(okt_calls *c, int ui, json_t *o)
{
    const cline *l = &c->lines[ui];
    int st = line_stage(c, ui);
    ccall *cur = call_at(c, l->cur), *held = call_at(c, l->held);
    json_object_set_new(o, "phone", json_string(okt_stage_names[st]));
    json_object_set_new(o, "wrapup", json_boolean(l->wrapup));
    const char *chain = cur ? cur->chainid : held ? held->chainid : NULL;
    cconf *f = conf_at(c, l->conf);
    if (!chain && f)
        chain = f->chainid;
    if (chain)
        json_object_set_new(o, "chainid", json_string(chain));
    const cside *s;
    if (held && other_side(held, ui, &s))
        json_object_set_new(o, "held", json_string(s->num));
    if (f)
        json_object_set_new(o, "conference", json_string(f->id));
    return 0;
}
