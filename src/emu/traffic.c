/* traffic.c - load (EMULATOR-calls §8): Poisson arrivals of external
 * callers with exponential or uniform talk and patience times, from a
 * seeded generator each (a run repeats by seed); virtual operators (users
 * with `agent`) that the model drives: inside and ready from the start,
 * they answer after `answer` s and wrap up after each queue call; and the
 * statistics: per traffic and in total. */
#include "room.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- virtual agents ----------------------------------------------------------- */

/* users[i].agent = {answer =, wrapup =} */
int traffic_load(okt_calls *c, const json_t *config, okt_err *err)
{
    const json_t *users = config ? json_object_get(config, "users") : NULL;
    for (size_t i = 0; i < c->nusers && json_is_array(users); i++) {
        const json_t *a = json_object_get(json_array_get(users, i), "agent");
        if (!a || json_is_null(a) || json_is_false(a))
            continue;
        char what[48];
        snprintf(what, sizeof what, "users[%zu].agent: ", i + 1);
        if (!json_is_object(a) && !json_is_true(a))
            return okt_err_set(err, OKT_EINVAL,
                               "%smust be a table {answer =, wrapup =}", what);
        const json_t *o = json_is_object(a) ? a : NULL;
        double ans, wu;
        if (cfg_number(o, "answer", 2, 0, &ans, what, err) ||
            cfg_number(o, "wrapup", -1, 0, &wu, what, err))
            return -1;
        cline *l = &c->lines[i];
        l->agent = 1;
        l->agent_answer_ms = secs_ms(ans);
        l->agent_wrapup_ms =
            o && json_object_get(o, "wrapup") ? secs_ms(wu) : -1;
        okt_m_agent(c->m, (int)i);
    }
    return 0;
}

int64_t wrapup_of(const okt_calls *c, int ui)
{
    const cline *l = &c->lines[ui];
    return l->agent_wrapup_ms >= 0 ? l->agent_wrapup_ms : c->wrapup_ms;
}

void agent_ring(okt_calls *c, int ui)
{
    cline *l = &c->lines[ui];
    ccall *x = call_at(c, l->cur);
    if (l->agent && x)
        timer_add(c, l->agent_answer_ms, T_AGENT, ui, x->serial, 0);
}

/* ---- inbound calls --------------------------------------------------------------- */

static cstats *stats_of(okt_calls *c, const ccall *x)
{
    return x->traffic > 0 ? &c->traffic[x->traffic - 1].st : NULL;
}

int inbound(okt_calls *c, const char *from, const char *to, const char *name,
            int64_t patience_ms, int64_t talk_ms, int tix, okt_err *err)
{
    int k = call_new(c);
    if (k < 0)
        return okt_err_set(err, OKT_ENOTSETTABLE, "too many calls");
    ccall *x = call_at(c, k);
    x->a.kind = SD_EXT;
    copy_str(x->a.num, sizeof x->a.num, from);
    copy_str(x->a.name, sizeof x->a.name, name);
    x->patience_ms = patience_ms;
    x->talk_ms = talk_ms;
    x->traffic = tix + 1;
    copy_str(x->to, sizeof x->to, to);
    record(c, k, "offered");
    cstats *ts = stats_of(c, x);
    if (route(c, k, to) < 0) {
        call_release(c, k);
        c->total.refused++;
        if (ts)
            ts->refused++;
        return okt_err_set(err, OKT_ENOTSETTABLE, "busy");
    }
    x->counted = 1;
    c->total.offered++;
    if (ts)
        ts->offered++;
    if (patience_ms >= 0)
        timer_add(c, patience_ms, T_PATIENCE, k, x->serial, 0);
    return k;
}

/* ---- statistics ------------------------------------------------------------------ */

static void waited(cstats *s, double w, int answered)
{
    if (w > s->max_wait)
        s->max_wait = w;
    if (answered) {
        s->answered++;
        s->wait_sum += w;
        if (w <= s->sl)
            s->in_sl++;
    } else {
        s->abandoned++;
    }
}

void stats_answered(okt_calls *c, ccall *x)
{
    if (!x->counted)
        return;
    double w = (double)(c->now - x->created) / 1000.0;
    waited(&c->total, w, 1);
    if (stats_of(c, x))
        waited(stats_of(c, x), w, 1);
}

void stats_abandoned(okt_calls *c, ccall *x)
{
    if (!x->counted)
        return;
    double w = (double)(c->now - x->created) / 1000.0;
    waited(&c->total, w, 0);
    if (stats_of(c, x))
        waited(stats_of(c, x), w, 0);
}

/* {offered, answered, abandoned, waiting, talking, max_wait, mean_wait,
 * service_level}: waiting and talking are counted now; the waits are in
 * seconds (mean over answered calls, max over every finished wait); the
 * service level is the share of answered-within-sl among the calls that
 * stopped waiting (answered + abandoned). tix: 0 all calls, else the
 * traffic's index + 1. */
json_t *stats_json(okt_calls *c, const cstats *s, int tix)
{
    long long waiting = 0, talking = 0;
    for (size_t i = 0; i < c->ncalls; i++) {
        const ccall *x = &c->calls[i];
        if (!x->serial || !x->counted || (tix && x->traffic != tix))
            continue;
        if (!x->answered)
            waiting++;
        else if (x->phase == PH_TALK)
            talking++;
    }
    long long done = s->answered + s->abandoned;
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "offered",
        (json_int_t)s->offered, "answered", (json_int_t)s->answered,
        "abandoned", (json_int_t)s->abandoned, "refused",
        (json_int_t)s->refused, "waiting", (json_int_t)waiting, "talking",
        (json_int_t)talking, "max_wait", s->max_wait, "mean_wait",
        s->answered ? s->wait_sum / (double)s->answered : 0.0,
        "service_level", done ? (double)s->in_sl / (double)done : 0.0, "sl",
        s->sl);
}

/* ---- distributions ---------------------------------------------------------------- */

/* seconds: a number (the mean of an exponential), {min, max} (uniform),
 * false (never) */
static int load_dist(const json_t *v, double def, cdist *d, const char *key,
                     okt_err *err)
{
    if (!v || json_is_null(v)) {
        *d = def < 0 ? (cdist){0, 0, 0} : (cdist){1, def, 0};
        return 0;
    }
    if (json_is_false(v)) {
        *d = (cdist){0, 0, 0};
        return 0;
    }
    if (json_is_number(v) && json_number_value(v) >= 0) {
        *d = (cdist){1, json_number_value(v), 0};
        return 0;
    }
    const json_t *lo = json_is_array(v) ? json_array_get(v, 0)
                                        : json_object_get(v, "min");
    const json_t *hi = json_is_array(v) ? json_array_get(v, 1)
                                        : json_object_get(v, "max");
    if (json_is_number(lo) && json_is_number(hi) &&
        json_number_value(lo) >= 0 &&
        json_number_value(hi) >= json_number_value(lo)) {
        *d = (cdist){2, json_number_value(lo), json_number_value(hi)};
        return 0;
    }
    return okt_err_set(err, OKT_EINVAL,
                       "'%s' must be seconds, {min, max} or false", key);
}

/* ms, or -1 for never */
static int64_t draw(uint64_t rng[4], const cdist *d)
{
    switch (d->kind) {
    case 1:
        return secs_ms(-d->a * log(1.0 - rng_unit(rng)));
    case 2:
        return secs_ms(d->a + (d->b - d->a) * rng_unit(rng));
    default:
        return -1;
    }
}

/* ---- traffic ------------------------------------------------------------------------ */

static int next_arrival(okt_calls *c, int ti)
{
    ctraffic *t = &c->traffic[ti];
    int64_t dt = secs_ms(-log(1.0 - rng_unit(t->rng)) / t->rate);
    if (t->until >= 0 && c->now + dt > t->until) {
        t->running = 0;     /* arrivals stop after duration */
        return 0;
    }
    return timer_add(c, dt, T_ARRIVAL, ti, 0, t->gen);
}

/* traffic{rate, talk, patience, to, numbers, duration, seed, sl} -> its
 * index */
int traffic_start(okt_calls *c, const json_t *a, okt_err *err)
{
    int ti = 0;
    while (ti < MAX_TRAFFIC && c->traffic[ti].used)
        ti++;
    if (ti == MAX_TRAFFIC)
        return okt_err_set(err, OKT_ENOTSETTABLE,
                           "at most %d traffic generators", MAX_TRAFFIC);
    ctraffic t = {0};
    double dur, sl;
    const json_t *to = json_object_get(a, "to");
    const json_t *pat = json_object_get(a, "numbers");
    const json_t *seed = json_object_get(a, "seed");
    if (cfg_number(a, "rate", 0, 0, &t.rate, "traffic: ", err) ||
        cfg_number(a, "duration", -1, 0, &dur, "traffic: ", err) ||
        cfg_number(a, "sl", 20, 0, &sl, "traffic: ", err) ||
        load_dist(json_object_get(a, "talk"), 180, &t.talk, "talk", err) ||
        load_dist(json_object_get(a, "patience"), -1, &t.patience,
                  "patience", err))
        return -1;
    if (!(t.rate > 0))
        return okt_err_set(err, OKT_EINVAL, "traffic: 'rate' must be > 0");
    if ((to && (!json_is_string(to) || !json_string_length(to) ||
                json_string_length(to) >= CALL_NUM)) ||
        (pat && (!json_is_string(pat) || !json_string_length(pat) ||
                 json_string_length(pat) >= CALL_NUM)))
        return okt_err_set(err, OKT_EINVAL,
                           "traffic: 'to' and 'numbers' must be short "
                           "non-empty strings");
    if (seed && !json_is_null(seed) && !json_is_integer(seed))
        return okt_err_set(err, OKT_EINVAL, "traffic: 'seed' must be an integer");
    copy_str(t.to, sizeof t.to, to ? json_string_value(to) : "queue");
    copy_str(t.pattern, sizeof t.pattern,
             pat ? json_string_value(pat) : "7495#######");
    rng_seed(t.rng, json_is_integer(seed) ? (uint64_t)json_integer_value(seed)
                                          : c->seed);
    t.until = json_object_get(a, "duration") ? c->now + secs_ms(dur) : -1;
    t.st.sl = sl;
    t.used = t.running = 1;
    t.gen = c->traffic[ti].gen + 1;
    c->traffic[ti] = t;
    if (next_arrival(c, ti))
        return okt_err_set(err, OKT_ENOMEM, "too many timers");
    return ti;
}

static void arrival(okt_calls *c, int ti)
{
    ctraffic *t = &c->traffic[ti];
    char num[CALL_NUM];
    size_t n = strlen(t->pattern);
    for (size_t i = 0; i < n; i++)
        num[i] = t->pattern[i] == '#'
                     ? (char)('0' + (int)(rng_unit(t->rng) * 10.0))
                     : t->pattern[i];
    num[n] = '\0';
    /* the draws happen whether or not the call gets in: a run's numbers
     * do not depend on the operators */
    int64_t talk = draw(t->rng, &t->talk);
    int64_t patience = draw(t->rng, &t->patience);
    inbound(c, num, t->to, "", patience, talk, ti, NULL);
    next_arrival(c, ti);
}

int traffic_timer(okt_calls *c, const ctimer *t)
{
    switch (t->kind) {
    case T_AGENT: {
        /* the agent answers, if the same call still rings */
        cline *l = &c->lines[t->a];
        ccall *x = call_at(c, l->cur);
        int st = line_stage(c, t->a);
        if (x && x->serial == t->b && (st == ST_RING || st == ST_ACM_RING))
            line_answer(c, t->a);
        return 0;
    }
    case T_WRAPUP: {
        cline *l = &c->lines[t->a];
        if (l->wrapup && l->wrap_gen == t->gen) {
            line_touch(c, t->a);
            l->wrapup = 0;
            l->idle_since = c->now;
        }
        return 0;
    }
    case T_ARRIVAL:
        if (t->a >= 0 && t->a < MAX_TRAFFIC && c->traffic[t->a].running &&
            c->traffic[t->a].gen == t->gen)
            arrival(c, t->a);
        return 0;
    default:
        return 0;
    }
}

/* traffic_stats{id} / traffic_stop{id}: id is the index + 1 */
static int traffic_index(okt_calls *c, const json_t *args, okt_err *err)
{
    const json_t *id = json_object_get(args, "id");
    json_int_t i = json_is_integer(id) ? json_integer_value(id) : 0;
    if (i < 1 || i > MAX_TRAFFIC || !c->traffic[i - 1].used)
        return okt_err_set(err, OKT_EINVAL, "traffic: unknown id");
    return (int)(i - 1);
}

int traffic_control(okt_calls *c, const char *cmd, const json_t *args,
                    json_t **res, okt_err *err)
{
    if (!strcmp(cmd, "traffic")) {
        int ti = traffic_start(c, args, err);
        if (ti < 0)
            return -1;
        *res = json_pack("{s:i}", "id", ti + 1);
        return *res ? 0 : -1;
    }
    if (!strcmp(cmd, "stats")) {
        *res = stats_json(c, &c->total, 0);
        return *res ? 0 : -1;
    }
    int ti = traffic_index(c, args, err);
    if (ti < 0)
        return -1;
    if (!strcmp(cmd, "traffic_stats")) {
        *res = stats_json(c, &c->traffic[ti].st, ti + 1);
        json_object_set_new(*res, "running",
                            json_boolean(c->traffic[ti].running));
        return *res ? 0 : -1;
    }
    c->traffic[ti].running = 0;   /* traffic_stop: no more arrivals */
    c->traffic[ti].gen++;
    return 0;
}
