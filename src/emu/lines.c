/* lines.c - the users' lines (EMULATOR-calls §2-3): each line's stage is
 * derived from the calls on it (current, held) and its conference; the
 * transitions change calls and lines; the phone events are the difference
 * between a line at the reaction's first touch and at its end (diff()),
 * so every transition of §3 yields its events in the order of §3.1 without
 * each transition listing them. The wire requests over them: pbx.c. */
#include "room.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static cline *L(okt_calls *c, int ui)
{
    return &c->lines[ui];
}

/* Which side of x user ui is: 'a', 'b', or 0. */
static int side_of(const ccall *x, int ui)
{
    if (x->a.kind == SD_USER && x->a.user == ui)
        return 'a';
    if (x->b.kind == SD_USER && x->b.user == ui)
        return 'b';
    return 0;
}

int other_side(const ccall *x, int ui, const cside **s)
{
    int w = side_of(x, ui);
    if (!w)
        return 0;
    *s = w == 'a' ? &x->b : &x->a;
    return 1;
}

void user_side(okt_calls *c, cside *s, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    s->kind = SD_USER;
    s->user = ui;
    copy_str(s->num, sizeof s->num, v.number);
    copy_str(s->name, sizeof s->name, v.name);
}

/* ---- stages ------------------------------------------------------------ */

static int call_stage(const ccall *x, int ui)
{
    int w = side_of(x, ui);
    switch (x->phase) {
    case PH_TALK:
        return ST_TALK;
    case PH_IVR:
        return ST_IVR;
    case PH_ARING:
        /* sequence "abonent": the target, a user, waits for the operator */
        return w == 'a' ? ST_ACM_RING : ST_DIAL;
    case PH_RING:
        if (w == 'b')
            return x->acm_callback ? ST_ACM_RING : ST_RING;
        if (x->kind == CK_ACM)
            return x->a_ok ? ST_ACM_DIAL : ST_ACM_WAITDOWN;
        return ST_DIAL;
    default:   /* PH_QUEUED: the caller hears the queue */
        return w == 'a' ? ST_DIAL : ST_IDLE;
    }
}

int line_stage(const okt_calls *c, int ui)
{
    const cline *l = &c->lines[ui];
    if (l->conf >= 0)
        return ST_CONF;
    const ccall *x = call_at((okt_calls *)c, l->cur);
    if (!x)
        return call_at((okt_calls *)c, l->held) ? ST_FLASH : ST_IDLE;
    return call_stage(x, ui);
}

int line_idle(const okt_calls *c, int ui)
{
    const cline *l = &c->lines[ui];
    return l->cur < 0 && l->held < 0 && l->conf < 0;
}

/* ---- the snapshot and the difference ----------------------------------- */

static void take(okt_calls *c, int ui, lsnap *s)
{
    const cline *l = &c->lines[ui];
    memset(s, 0, sizeof *s);
    s->stage = line_stage(c, ui);
    s->peer_user = -1;
    ccall *cur = call_at(c, l->cur), *held = call_at(c, l->held);
    s->cur = cur ? cur->serial : 0;
    s->held = held ? held->serial : 0;
    cconf *f = conf_at(c, l->conf);
    s->conf = f ? f->serial : 0;
    const cside *o;
    if (cur && other_side(cur, ui, &o)) {
        s->peer_user = o->kind == SD_USER ? o->user : -1;
        copy_str(s->peer, sizeof s->peer, o->num);
    }
}

void line_touch(okt_calls *c, int ui)
{
    if (ui >= 0 && (size_t)ui < c->nusers)
        okt_m_touch(c->m, ui);   /* calls okt_calls_snap first time */
}

/* model.c's touch: the line as the reaction found it */
void lines_snap(okt_calls *c, int ui)
{
    cline *l = &c->lines[ui];
    if (l->snapped)
        return;
    l->snapped = 1;
    l->fhint = 0;
    take(c, ui, &l->before);
}

void call_touch(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    if (!x)
        return;
    if (x->a.kind == SD_USER)
        line_touch(c, x->a.user);
    if (x->b.kind == SD_USER)
        line_touch(c, x->b.user);
}

/* A phone event for ui, built only when a session of ui wants it. */
static int phone_ev(okt_calls *c, okt_out *out, int ui, const char *wire,
                    json_t *obj)
{
    int rc = 0;
    if (okt_m_wants(c->m, ui, wire)) {
        if (!obj)
            obj = json_object();
        rc = obj ? okt_m_emit(c->m, out, ui, wire, obj, 1) : -1;
    }
    json_decref(obj);
    return rc;
}

/* The events of a line's change, §3 and §3.1: flashstatechanged, then the
 * ending stage's events, then the new stage's. */
static int diff(okt_calls *c, okt_out *out, int ui, const lsnap *a,
                const lsnap *b, int fhint)
{
    int rc = 0;
    int same_talk = stage_talking(a->stage) && a->stage == b->stage &&
                    a->cur == b->cur && a->conf == b->conf &&
                    a->peer_user == b->peer_user && !strcmp(a->peer, b->peer);
    int resumed = a->held && b->cur == a->held;      /* back to the held */
    int to_hold = b->held && b->held == a->cur;      /* current put on hold */
    int to_conf = a->stage == ST_TALK && b->stage == ST_CONF;
    if (a->held != b->held) {
        int type = !a->held ? 1 : b->held ? 7 : resumed ? 2 : fhint ? fhint : 4;
        rc |= phone_ev(c, out, ui, OKT_E_FLASHSTATECHANGED,
                       json_pack("{s:b, s:i}", OKT_F_ISFLASHING, b->held != 0,
                                 OKT_F_FLASHTYPEID, type));
    }
    /* ending */
    if (stage_ringing(a->stage) && !(stage_ringing(b->stage) && a->cur == b->cur))
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_RINGSTOPPED, NULL);
    unsigned acm_a = stage_acm(a->stage) ? a->cur : 0;
    unsigned acm_b = stage_acm(b->stage) ? b->cur : 0;
    if (acm_a && acm_a != acm_b)
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_ACMCALLSTOPPED, NULL);
    if ((stage_talking(a->stage) && !same_talk && !resumed && !to_hold &&
         !to_conf) ||
        (a->stage == ST_FLASH && b->stage == ST_IDLE)) {
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_COMMSTOPPED, NULL);
        if (a->stage == ST_IVR)
            rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_IVRSTOPPED, NULL);
    }
    /* starting */
    if (acm_b && acm_b != acm_a)
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_ACMCALLSTARTED, NULL);
    if (stage_ringing(b->stage) && !(stage_ringing(a->stage) && a->cur == b->cur))
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_RINGSTARTED, NULL);
    if (stage_talking(b->stage) && !same_talk && !resumed) {
        if (b->stage == ST_IVR)
            rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_IVRSTARTED,
                           json_pack("{s:b}", OKT_F_ISROUTINGIVR, 0));
        json_t *o = json_pack("{s:b}", OKT_F_ISCONFERENCE,
                              b->stage == ST_CONF);
        cconf *f = conf_at(c, c->lines[ui].conf);
        if (o && b->stage == ST_CONF && f)
            json_object_set_new(o, OKT_F_CONFID, json_string(f->id));
        rc |= phone_ev(c, out, ui, OKT_E_PHONEEVENT_COMMSTARTED, o);
    }
    return rc ? -1 : 0;
}

int lines_flush_user(okt_calls *c, okt_out *out, int ui)
{
    cline *l = &c->lines[ui];
    if (!l->snapped)
        return 0;
    l->snapped = 0;
    lsnap now;
    take(c, ui, &now);
    return diff(c, out, ui, &l->before, &now, l->fhint);
}

/* The call model's view on the user (model.c shows it): usReserved while
 * ringing, usFullbusy in a call and in wrap-up; ontask for a queue or task
 * call; the line state of the stage (§2). Wrap-up starts when a line with
 * a queue or task call gets idle. */
void lines_sync(okt_calls *c)
{
    for (size_t i = 0; i < c->nusers; i++) {
        cline *l = &c->lines[i];
        if (!l->snapped)
            continue;
        int ui = (int)i, st = line_stage(c, ui);
        ccall *cur = call_at(c, l->cur), *held = call_at(c, l->held);
        int task = (cur && cur->origin != OR_DIRECT) ||
                   (held && held->origin != OR_DIRECT);
        if (task)
            l->had_task = 1;
        if (st != ST_IDLE && l->wrapup) {
            l->wrapup = 0;          /* a call came: wrap-up is over */
            l->wrap_gen++;
        }
        int was_idle = l->before.stage == ST_IDLE;
        if (st == ST_IDLE && !was_idle && !l->wrapup) {
            int64_t w = wrapup_of(c, ui);
            if (l->had_task && w > 0 &&
                timer_add(c, w, T_WRAPUP, ui, 0, ++l->wrap_gen) == 0) {
                l->wrapup = 1;
            } else {
                l->idle_since = c->now;
            }
            l->had_task = 0;
        }
        int state = 0, line = 0;
        switch (st) {
        case ST_RING:
        case ST_ACM_RING:
            state = OKT_US_RESERVED;
            line = OKT_LS_INCOMINGCALL;
            break;
        case ST_ACM_WAITDOWN:
            state = OKT_US_RESERVED;
            line = OKT_LS_WAITDOWN;
            break;
        case ST_ACM_DIAL:
        case ST_DIAL:
            state = OKT_US_FULLBUSY;
            line = OKT_LS_WAIT;
            break;
        case ST_FLASH:
            state = OKT_US_FULLBUSY;
            line = OKT_LS_FLASH;
            break;
        case ST_TALK:
        case ST_CONF:
        case ST_IVR:
            state = OKT_US_FULLBUSY;
            line = OKT_LS_COMMUTATED;
            break;
        default:
            state = l->wrapup ? OKT_US_FULLBUSY : 0;
        }
        okt_m_callview(c->m, ui, state, task || l->wrapup, line);
    }
}

/* ---- transitions ---------------------------------------------------------- */

void call_phase(okt_calls *c, int k, int ph)
{
    ccall *x = call_at(c, k);
    call_touch(c, k);
    x->phase = ph;
    x->since = c->now;
    x->gen++;
    static const char *const names[] = {"queued", "ringing", "ringing",
                                        "talk", "ivr"};
    record(c, k, names[ph]);
}

void line_clear_call(okt_calls *c, int ui, int k)
{
    if (ui < 0)
        return;
    cline *l = L(c, ui);
    line_touch(c, ui);
    if (l->cur == k)
        l->cur = -1;
    if (l->held == k) {
        l->held = -1;
        if (!l->fhint)
            l->fhint = 3;   /* the hold broke: the held party hung up */
    }
}

static void start_talk(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    call_phase(c, k, PH_TALK);
    if (x->a.kind == SD_USER)
        L(c, x->a.user)->talk_since = c->now;
    if (x->b.kind == SD_USER)
        L(c, x->b.user)->talk_since = c->now;
    if (!x->answered) {
        x->answered = 1;
        stats_answered(c, x);
        if (x->talk_ms >= 0)
            timer_add(c, x->talk_ms, T_HANGUP, k, x->serial, 0);
    }
}

void ring_user(okt_calls *c, int k, int ui)
{
    ccall *x = call_at(c, k);
    line_touch(c, ui);
    user_side(c, &x->b, ui);
    L(c, ui)->cur = k;
    call_phase(c, k, PH_RING);
    timer_add(c, c->ring_timeout_ms, T_RING, k, x->serial, x->gen);
    agent_ring(c, ui);
}

/* The far side of a dialled number: its behaviour (emu:abonent). */
static void dial_out(okt_calls *c, int k, const char *num)
{
    ccall *x = call_at(c, k);
    x->b.kind = SD_EXT;
    x->b.user = -1;
    copy_str(x->b.num, sizeof x->b.num, num);
    x->b.name[0] = '\0';
    call_phase(c, k, PH_RING);
    const cabonent *ab = abonent_find(c, num);
    if (ab && ab->busy)
        timer_add(c, 0, T_BUSY, k, x->serial, x->gen);
    else if (ab && ab->answer_ms >= 0)
        timer_add(c, ab->answer_ms, T_ANSWER, k, x->serial, x->gen);
    timer_add(c, c->ring_timeout_ms, T_RING, k, x->serial, x->gen);
}

static int to_queue(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    x->b.kind = SD_NONE;
    x->pq = -1;
    x->origin = OR_QUEUE;
    if (queue_push(c, k, 0))
        return -1;
    call_phase(c, k, PH_QUEUED);
    return 0;
}

static int route_user(okt_calls *c, int k, int ui)
{
    ccall *x = call_at(c, k);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (side_of(x, ui))
        return -1;   /* oneself */
    /* redirect on: the call goes to the redirect number (EMULATOR-calls
     * §4), a few hops at most */
    if (v.redirect && v.redirect_number && x->hops < MAX_HOPS) {
        x->hops++;
        return route(c, k, v.redirect_number);
    }
    if (!user_reachable(c, ui))
        return -1;
    if (user_free(c, ui)) {
        ring_user(c, k, ui);
        return 0;
    }
    /* a busy line: the user's personal queue, served first */
    if (pq_push(c, ui, k))
        return -1;
    x->b.kind = SD_NONE;
    x->pq = ui;
    call_phase(c, k, PH_QUEUED);
    return 0;
}

int route(okt_calls *c, int k, const char *target)
{
    ccall *x = call_at(c, k);
    if (!x || !target || !target[0])
        return -1;
    if (target != x->to)
        copy_str(x->to, sizeof x->to, target);
    if (!strcmp(target, "queue"))
        return to_queue(c, k);
    const csvc *s = svc_find(c, target);
    if (s && !s->ivr)
        return to_queue(c, k);
    if (s) {
        x->b.kind = SD_IVR;
        x->b.user = -1;
        copy_str(x->b.num, sizeof x->b.num, s->num);
        copy_str(x->b.name, sizeof x->b.name, s->name);
        call_phase(c, k, PH_IVR);
        if (x->a.kind == SD_USER)
            L(c, x->a.user)->talk_since = c->now;
        if (s->duration_ms >= 0)
            timer_add(c, s->duration_ms, T_IVR_END, k, x->serial, x->gen);
        return 0;
    }
    int ui = okt_m_find_number(c->m, target);
    if (ui < 0)
        ui = okt_m_find_login(c->m, target);
    if (ui >= 0)
        return route_user(c, k, ui);
    dial_out(c, k, target);
    return 0;
}

/* A click-to-call or transfer whose target cannot be reached: dialled
 * anyway and found busy at the next reaction, so its stage is seen
 * (§3.1: no stage is skipped). */
void route_or_busy(okt_calls *c, int k, const char *target)
{
    if (route(c, k, target) == 0)
        return;
    ccall *x = call_at(c, k);
    x->b.kind = SD_EXT;
    x->b.user = -1;
    copy_str(x->b.num, sizeof x->b.num, target);
    call_phase(c, k, PH_RING);
    timer_add(c, 0, T_BUSY, k, x->serial, x->gen);
}

void call_end(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    if (!x)
        return;
    call_touch(c, k);
    if (x->a.kind == SD_USER)
        line_clear_call(c, x->a.user, k);
    if (x->b.kind == SD_USER)
        line_clear_call(c, x->b.user, k);
    if (x->phase == PH_QUEUED) {
        if (x->pq >= 0)
            pq_remove(c, x->pq, k);
        else
            queue_remove(c, k);
    }
    if (x->kind == CK_INVITE)
        conf_invite_done(c, k, -1);
    if (x->counted && !x->answered)
        stats_abandoned(c, x);
    record(c, k, "ended");
    call_release(c, k);
}

int b_answers(okt_calls *c, int k)
{
    ccall *x = call_at(c, k);
    if (!x || x->phase != PH_RING)
        return -1;
    if (x->kind == CK_INVITE) {
        conf_invite_done(c, k, CS_ACTIVE);
        return 0;
    }
    if (x->kind == CK_ACM && !x->a_ok) {
        /* sequence "abonent": the target is on, the operator's phone
         * rings now (§3 row 5) */
        call_phase(c, k, PH_ARING);
        timer_add(c, c->ring_timeout_ms, T_RING, k, x->serial, x->gen);
        if (x->a.kind == SD_USER)
            agent_ring(c, x->a.user);
        return 0;
    }
    start_talk(c, k);
    return 0;
}

int line_answer(okt_calls *c, int ui)
{
    int st = line_stage(c, ui);
    int k = L(c, ui)->cur;
    ccall *x = call_at(c, k);
    if (!x || !stage_ringing(st))
        return -1;
    if (x->kind == CK_INVITE) {
        conf_invite_done(c, k, CS_ACTIVE);
        return 0;
    }
    if (st == ST_RING) {
        start_talk(c, k);
        return 0;
    }
    /* ST_ACM_RING */
    if (x->seq_abonent) {
        start_talk(c, k);   /* the target waits: talk (row 6) */
        return 0;
    }
    x->a_ok = 1;            /* row 5: the target is dialled now */
    route_or_busy(c, k, x->to);
    return 0;
}

int line_decline(okt_calls *c, int ui)
{
    int k = L(c, ui)->cur;
    ccall *x = call_at(c, k);
    if (!x)
        return -1;
    if (x->kind == CK_INVITE) {
        conf_invite_done(c, k, CS_REFUSE);
    } else if (x->origin == OR_QUEUE && side_of(x, ui) == 'b') {
        queue_missed(c, k, ui, 0);   /* back to the head (§4) */
    } else {
        call_end(c, k);
    }
    return 0;
}

/* pbxabortcall with a party held: the held and the current party are
 * joined and the operator leaves (§3 row 13). */
static void join(okt_calls *c, int ui)
{
    cline *l = L(c, ui);
    int kc = l->cur, kh = l->held;
    ccall *xc = call_at(c, kc), *xh = call_at(c, kh);
    const cside *q;
    if (!other_side(xh, ui, &q))
        return;
    cside qs = *q;
    call_touch(c, kc);
    call_touch(c, kh);
    if (side_of(xc, ui) == 'a')
        xc->a = qs;
    else
        xc->b = qs;
    xc->kind = CK_PLAIN;
    xc->gen++;
    if (qs.kind == SD_USER) {
        cline *lq = L(c, qs.user);
        if (lq->cur == kh)
            lq->cur = kc;
        if (lq->held == kh)
            lq->held = kc;
    }
    l->cur = l->held = -1;
    l->fhint = 5;   /* the held party went to someone else */
    record(c, kh, "joined");
    if (xh->counted && !xh->answered)
        stats_abandoned(c, xh);
    call_release(c, kh);
    record(c, kc, "talk");
}

int line_hangup(okt_calls *c, int ui)
{
    cline *l = L(c, ui);
    int st = line_stage(c, ui);
    switch (st) {
    case ST_IDLE:
        return -1;
    case ST_RING:
    case ST_ACM_RING:
        return line_decline(c, ui);
    case ST_CONF:
        conf_leave(c, ui);
        return 0;
    case ST_FLASH:
        call_end(c, l->held);
        return 0;
    case ST_TALK:
        if (l->held >= 0) {
            join(c, ui);
            return 0;
        }
        call_end(c, l->cur);
        return 0;
    default:
        call_end(c, l->cur);
        return 0;
    }
}

int line_dial(okt_calls *c, int ui, const char *number)
{
    if (!line_idle(c, ui) || !number || !number[0] ||
        strlen(number) >= CALL_NUM)
        return -1;
    int k = call_new(c);
    if (k < 0)
        return -1;
    ccall *x = call_at(c, k);
    line_touch(c, ui);
    user_side(c, &x->a, ui);
    copy_str(x->to, sizeof x->to, number);
    L(c, ui)->cur = k;
    record(c, k, "dialing");
    if (route(c, k, number) < 0) {
        L(c, ui)->cur = -1;
        call_release(c, k);
        return -1;
    }
    return 0;
}

/* ---- timers ----------------------------------------------------------------- */

int lines_timer(okt_calls *c, const ctimer *t)
{
    ccall *x = call_at(c, t->a);
    if (!x || x->serial != t->b)
        return 0;
    int k = t->a;
    if (t->kind == T_HANGUP) {
        /* the abonent's talk time is over: it hangs up */
        if (x->phase == PH_TALK || x->phase == PH_IVR)
            call_end(c, k);
        return 0;
    }
    if (x->gen != t->gen)
        return 0;   /* the call moved on since */
    switch (t->kind) {
    case T_RING:
        if (x->phase == PH_RING && x->kind == CK_INVITE) {
            conf_invite_done(c, k, CS_NOTRESPOND);
        } else if (x->phase == PH_RING && x->b.kind == SD_USER &&
                   x->origin == OR_QUEUE) {
            queue_missed(c, k, x->b.user, 1);
        } else if (x->phase == PH_RING || x->phase == PH_ARING) {
            call_end(c, k);   /* nobody answered (§3 rows 3, 7) */
        }
        return 0;
    case T_ANSWER:
        if (x->phase == PH_RING && x->b.kind == SD_EXT)
            b_answers(c, k);
        return 0;
    case T_BUSY:
        if (x->kind == CK_INVITE)
            conf_invite_done(c, k, CS_BUSY);
        else
            call_end(c, k);
        return 0;
    case T_IVR_END:
        if (x->phase == PH_IVR)
            call_end(c, k);
        return 0;
    default:
        return 0;
    }
}
