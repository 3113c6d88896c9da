/* pbx.c - the line on the wire: getextendedlineinfo as EMULATOR-calls §2
 * shows each stage, the party objects, and the pbx* requests with the
 * checks of §5 (lines.c does the transitions). */
#include "room.h"

#include <stdio.h>
#include <string.h>

#define ZERO_GUID "00000000-0000-0000-0000-000000000000"

/* oktell.js's refusal numbers (fact sheet §8.2), texts in rights.c */
enum {
    E_NOPHONE = 2002, E_HOLDTALK = 2101, E_INCONF = 2102, E_CALLSTATE = 2103,
    E_BUSY = 2104, E_SAMENUMBER = 2105, E_BADNUMBER = 2106,
    E_TASKSTATE = 2108, E_NOTRANSFER = 2303, E_TRANSFERNUM = 2304,
    E_NOHOLD = 2402, E_FLASHMODE = 2601, E_ANSWERSTATE = 2901
};

static cline *L(okt_calls *c, int ui)
{
    return &c->lines[ui];
}

/* ---- the wire: the party objects -------------------------------------------- */

json_t *side_json(okt_calls *c, const cside *s)
{
    okt_uview v;
    switch (s->kind) {
    case SD_USER:
        okt_m_user(c->m, s->user, &v);
        return json_pack("{s:s, s:s, s:s, s:s, s:b}", OKT_F_NUMBER, v.number,
                         OKT_F_USERID, v.id, OKT_F_USERNAME, v.name,
                         OKT_F_USERLOGIN, v.login, OKT_F_ISEXTLINE, 0);
    case SD_IVR:
        return json_pack("{s:s, s:b, s:s}", OKT_F_NUMBER, s->num, OKT_F_ISIVR,
                         1, OKT_F_IVRNAME, s->name);
    case SD_CONF:   /* an invitation: the conference calls */
        return json_pack("{s:s, s:s}", OKT_F_CONFERENCEID, s->num, OKT_F_NAME,
                         s->name);
    case SD_EXT: {
        json_t *o = json_pack("{s:s, s:s, s:b}", OKT_F_NUMBER, s->num,
                              OKT_F_CALLERID, s->num, OKT_F_ISEXTLINE, 1);
        if (o && s->name[0])
            json_object_set_new(o, OKT_F_NAME, json_string(s->name));
        return o;
    }
    default:
        return json_pack("{s:s}", OKT_F_NUMBER, s->num);
    }
}

/* The party as the line sees it: the other side, or for a call not yet
 * placed (a click-to-call ringing the operator, a queued dial) the number
 * asked for. */
static json_t *party(okt_calls *c, const ccall *x, int ui)
{
    const cside *o;
    if (other_side(x, ui, &o) && o->kind != SD_NONE)
        return side_json(c, o);
    cside t = {SD_EXT, -1, "", ""};
    int tu = okt_m_find_number(c->m, x->to);
    if (tu >= 0)
        user_side(c, &t, tu);
    else
        copy_str(t.num, sizeof t.num, x->to);
    return side_json(c, &t);
}

static int set_flag(json_t *o, const char *key)
{
    return o ? json_object_set_new(o, key, json_true()) : -1;
}

/* getextendedlineinfo: the stage as EMULATOR-calls §2's table shows it. */
int okt_h_lineinfo(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    cline *l = L(c, ui);
    int st = line_stage(c, ui);
    ccall *cur = call_at(c, l->cur), *held = call_at(c, l->held);
    cconf *f = conf_at(c, l->conf);
    json_t *ab = NULL;
    switch (st) {
    case ST_RING:
        ab = party(c, cur, ui);
        set_flag(ab, OKT_F_ISRINGING);
        break;
    case ST_ACM_RING:
        if (cur->kind == CK_INVITE) {
            cconf *g = conf_at(c, cur->conf);
            ab = json_pack("{s:s}", OKT_F_CONFERENCEID, g ? g->id : "");
        } else {
            ab = party(c, cur, ui);
        }
        set_flag(ab, OKT_F_ISRINGING);
        if (ab)
            json_object_set_new(ab, OKT_F_DIRECTION,
                                json_string(OKT_V_ACM_CALLBACK));
        break;
    case ST_ACM_WAITDOWN:
    case ST_ACM_DIAL:
        ab = party(c, cur, ui);
        set_flag(ab, OKT_F_ISAUTOCALL);
        break;
    case ST_DIAL:
        ab = party(c, cur, ui);
        break;
    case ST_TALK:
        ab = party(c, cur, ui);
        set_flag(ab, OKT_F_ISCOMMUTATED);
        break;
    case ST_FLASH:
        ab = json_pack("{s:b}", OKT_F_ISWAITINGINFLASH, 1);
        break;
    case ST_CONF:
        ab = json_pack("{s:s, s:b}", OKT_F_CONFERENCEID, f ? f->id : "",
                       OKT_F_ISCONFERENCE, 1);
        break;
    case ST_IVR:
        ab = json_pack("{s:s, s:b, s:s, s:b}", OKT_F_NUMBER, cur->b.num,
                       OKT_F_ISIVR, 1, OKT_F_IVRNAME, cur->b.name,
                       OKT_F_ISWAITINGFORANSWER, 0);
        break;
    default:
        ab = json_object();
    }
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    const char *ls = okt_linestate_refname(v.line);
    const char *chain = cur ? cur->chainid : held ? held->chainid
                                          : f ? f->chainid : ZERO_GUID;
    long long talk = stage_talking(st) || st == ST_FLASH
                         ? (long long)((c->now - l->talk_since) / 1000)
                         : 0;
    json_t *o = json_pack("{s:s, s:o, s:s, s:b, s:I}", OKT_F_LINESTATESTR,
                          ls ? ls : "", OKT_F_ABONENT,
                          ab ? ab : json_object(), OKT_F_CHAINID, chain,
                          OKT_F_ISFLASHING, held != NULL,
                          OKT_F_TIMERTALKLENSEC, (json_int_t)talk);
    if (o && held)
        json_object_set_new(o, OKT_F_FLASHED, party(c, held, ui));
    return o ? okt_req_reply(r, o) : -1;
}

/* ---- the pbx* requests -------------------------------------------------------- */

/* The checks every pbx* request shares (§5): a working line (2002), and
 * no prompt or external task reserving the user (2108). 0 go on, 1 the
 * refusal is out, -1 out of memory. */
static int pre(okt_req *r, okt_calls **cp, int *uip)
{
    *cp = okt_m_calls(okt_req_model(r));
    *uip = okt_req_user(r);
    okt_uview v;
    okt_m_user(okt_req_model(r), *uip, &v);
    if (!v.line_ok)
        return refuse(r, E_NOPHONE) ? -1 : 1;
    if (v.held)
        return refuse(r, E_TASKSTATE) ? -1 : 1;
    return 0;
}

#define PRE(r, c, ui)                         \
    do {                                      \
        int pre_rc_ = pre(r, &c, &ui);        \
        if (pre_rc_)                          \
            return pre_rc_ < 0 ? -1 : 0;      \
    } while (0)

int okt_h_answercall(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (!stage_ringing(line_stage(c, ui)))
        return refuse(r, E_ANSWERSTATE);
    /* a phone without intercom cannot be picked up from afar: accepted,
     * nothing happens (EMULATOR-calls §3 row 2) */
    if (L(c, ui)->intercom)
        line_answer(c, ui);
    return okt_req_reply(r, NULL);
}

int okt_h_declinecall(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (!stage_ringing(line_stage(c, ui)))
        return refuse(r, E_ANSWERSTATE);
    line_decline(c, ui);
    return okt_req_reply(r, NULL);
}

int okt_h_abortcall(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (line_hangup(c, ui) < 0)
        return refuse(r, E_ANSWERSTATE);
    return okt_req_reply(r, NULL);
}

int okt_h_autocallabort(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (!right(c, ui, "canuseacm"))
        return refuse_right(r, "canuseacm");
    if (!stage_acm(line_stage(c, ui)))
        return refuse(r, E_ANSWERSTATE);
    call_end(c, L(c, ui)->cur);
    return okt_req_reply(r, NULL);
}

int okt_h_autocallstart(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (!right(c, ui, "canuseacm"))
        return refuse_right(r, "canuseacm");
    const char *num = json_string_value(okt_req_param(r, OKT_F_NUMBER));
    if (!num || !num[0] || strlen(num) >= CALL_NUM)
        return refuse(r, E_BADNUMBER);
    const char *seq = json_string_value(okt_req_param(r, OKT_F_SEQUENCE));
    const json_t *ic = okt_req_param(r, OKT_F_INTERCOM);
    int intercom = json_is_true(ic) || json_integer_value(ic) == 1;
    int abonent = seq && !strcmp(seq, OKT_V_SEQ_ABONENT) && !intercom;
    cline *l = L(c, ui);
    int st = line_stage(c, ui);
    /* oktell.js's own checks (§5, [L3647-3676]) */
    if (st == ST_TALK && l->held >= 0)
        return refuse(r, E_HOLDTALK);
    if (st == ST_FLASH)
        return refuse(r, E_HOLDTALK);
    if (st == ST_CONF)
        return refuse(r, E_INCONF);
    if (st != ST_IDLE && st != ST_TALK)
        return refuse(r, E_CALLSTATE);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (st == ST_IDLE && (v.shown == OKT_US_FULLBUSY ||
                          v.shown == OKT_US_RESERVED))
        return refuse(r, E_BUSY);
    ccall *cur = call_at(c, l->cur);
    const cside *o;
    if (cur && other_side(cur, ui, &o) && !strcmp(o->num, num))
        return refuse(r, E_SAMENUMBER);
    int k = call_new(c);
    if (k < 0)
        return okt_req_refuse(r, 0, "too many calls");
    ccall *x = call_at(c, k);
    line_touch(c, ui);
    x->kind = CK_ACM;
    user_side(c, &x->a, ui);
    copy_str(x->to, sizeof x->to, num);
    record(c, k, "dialing");
    if (st == ST_TALK) {
        /* a consultation call: the party is held, the target dialled
         * (§3 row 11) */
        l->held = l->cur;
        l->cur = k;
        x->a_ok = 1;
        route_or_busy(c, k, num);
    } else if (abonent) {
        l->cur = k;                 /* the target first (waitdown) */
        x->seq_abonent = 1;
        route_or_busy(c, k, num);
    } else if (intercom && l->intercom) {
        l->cur = k;                 /* the phone picks up by itself */
        x->a_ok = 1;
        route_or_busy(c, k, num);
    } else {
        l->cur = k;                 /* the operator's phone rings first */
        call_phase(c, k, PH_ARING);
        timer_add(c, c->ring_timeout_ms, T_RING, k, x->serial, x->gen);
        agent_ring(c, ui);
    }
    return okt_req_reply(r, NULL);
}

int okt_h_makeflash(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    const char *mode = json_string_value(okt_req_param(r, OKT_F_MODE));
    int sw = mode && !strcmp(mode, OKT_V_FLASH_SWITCH);
    int ab = mode && !strcmp(mode, OKT_V_FLASH_ABORT);
    if (!sw && !ab)
        return refuse(r, E_FLASHMODE);   /* also "next": meaning unknown */
    cline *l = L(c, ui);
    int st = line_stage(c, ui);
    if (st != ST_TALK && st != ST_FLASH)
        return refuse(r, E_NOHOLD);
    if (ab && l->held < 0)
        return refuse(r, E_NOHOLD);
    line_touch(c, ui);
    if (sw) {
        int t = l->cur;             /* swap (a missing side is -1) */
        l->cur = l->held;
        l->held = t;
    } else {
        int h = l->held;            /* drop the current, back to the held */
        if (l->cur >= 0)
            call_end(c, l->cur);
        l->cur = h;
        l->held = -1;
    }
    return okt_req_reply(r, NULL);
}

int okt_h_maketransfer(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    if (line_stage(c, ui) != ST_TALK)
        return refuse(r, E_NOTRANSFER);
    const char *to = json_string_value(okt_req_param(r, OKT_F_TRANSFERTO));
    if (!to || !to[0] || strlen(to) >= CALL_NUM)
        return refuse(r, E_TRANSFERNUM);
    cline *l = L(c, ui);
    int k = l->cur;
    ccall *x = call_at(c, k);
    const cside *p;
    if (!other_side(x, ui, &p))
        return refuse(r, E_NOTRANSFER);
    /* the party rings the target; we leave, back to a held party if any
     * (§3 row 14) */
    cside party_side = *p;
    call_touch(c, k);
    x->a = party_side;
    x->b.kind = SD_NONE;
    x->b.user = -1;
    x->kind = CK_PLAIN;
    x->origin = OR_DIRECT;
    x->hops = 0;
    l->cur = l->held;
    l->held = -1;
    record(c, k, "transferred");
    if (route(c, k, to) < 0)
        call_end(c, k);   /* unanswered blind transfers end here */
    return okt_req_reply(r, NULL);
}

int okt_h_flashedinfo(okt_req *r)
{
    okt_calls *c;
    int ui;
    PRE(r, c, ui);
    ccall *held = call_at(c, L(c, ui)->held);
    json_t *ab = held ? party(c, held, ui) : json_object();
    return okt_req_reply(r, json_pack("{s:b, s:o}", OKT_F_CONTAINSFLASHED,
                                      held != NULL, OKT_F_ABONENT,
                                      ab ? ab : json_object()));
}
