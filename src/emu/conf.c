/* conf.c - conferences (EMULATOR-calls §6): created new (the creator's
 * phone rings first, then the others are invited) or built from a talk;
 * invitations ring users and dial numbers; competitors go Invite ->
 * Active -> Exited (or one of the MisInvite states); a conference ends
 * when fewer than two are in it or on their way. Its events go to the
 * sessions that asked for them with confhandleevent. */
#include "room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { E_NONUMBERS = 2201, E_NONUMBER = 2203, E_CONFSTATE = 2205,
       E_NOHELD = 2206, E_BREAK = 2208, E_NOTIN = 2501 };

static const char *const state_names[] = {
    [CS_INVITE] = OKT_V_CS_INVITE,       [CS_ACTIVE] = OKT_V_CS_ACTIVE,
    [CS_BUSY] = OKT_V_CS_BUSY,           [CS_NOTRESPOND] = OKT_V_CS_NOTRESPOND,
    [CS_REFUSE] = OKT_V_CS_REFUSE,       [CS_ABORT] = OKT_V_CS_ABORT,
    [CS_EXITED] = OKT_V_CS_EXITED};

cconf *conf_at(okt_calls *c, int k)
{
    if (k < 0 || (size_t)k >= c->nconfs || !c->confs[k].serial)
        return NULL;
    return &c->confs[k];
}

static int conf_find(okt_calls *c, const char *id)
{
    for (size_t i = 0; id && i < c->nconfs; i++)
        if (c->confs[i].serial && !strcmp(c->confs[i].id, id))
            return (int)i;
    return -1;
}

static int conf_new(okt_calls *c)
{
    size_t i = 0;
    while (i < c->nconfs && c->confs[i].serial)
        i++;
    if (i == c->nconfs) {
        if (c->nconfs >= MAX_CONFS)
            return -1;
        size_t n = c->nconfs ? c->nconfs * 2 : 4;
        if (n > MAX_CONFS)
            n = MAX_CONFS;
        cconf *v = realloc(c->confs, n * sizeof *v);
        if (!v)
            return -1;
        memset(v + c->nconfs, 0, (n - c->nconfs) * sizeof *v);
        c->confs = v;
        c->nconfs = n;
    }
    cconf *f = &c->confs[i];
    memset(f, 0, sizeof *f);
    if (++c->conf_serial == 0)
        ++c->conf_serial;
    f->serial = c->conf_serial;
    f->creator = -1;
    f->everyonecaninvite = 1;
    f->since = c->now;
    new_guid(c, f->chainid);
    return (int)i;
}

void confs_free(okt_calls *c)
{
    for (size_t i = 0; i < c->nconfs; i++)
        json_decref(c->confs[i].pending);
    free(c->confs);
}

/* ---- the wire ---------------------------------------------------------------- */

static json_t *comp_json(okt_calls *c, const ccomp *p)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:s}", OKT_F_COMPETITORID,
        p->id, OKT_F_NUMBER, p->num, OKT_F_ISEXTLINE, p->user < 0,
        OKT_F_ISCREATOR, p->creator, OKT_F_ISDIRECTOR, p->director,
        OKT_F_ISGHOST, 0, OKT_F_ISGHOSTMAJOR, 0, OKT_F_ISHIDDEN, 0,
        OKT_F_CONFSTATESTR, state_names[p->state]);
    if (o && p->user >= 0) {
        okt_uview v;
        okt_m_user(c->m, p->user, &v);
        json_object_set_new(o, OKT_F_USERID, json_string(v.id));
        json_object_set_new(o, OKT_F_USERNAME, json_string(v.name));
        json_object_set_new(o, OKT_F_USERLOGIN, json_string(v.login));
    }
    return o;
}

static json_t *comps_json(okt_calls *c, const cconf *f)
{
    json_t *a = json_array();
    for (int i = 0; a && i < f->ncomps; i++)
        json_array_append_new(a, comp_json(c, &f->comps[i]));
    return a;
}

static json_t *conf_json(const cconf *f)
{
    return json_pack("{s:s, s:I, s:s, s:b, s:b}", OKT_F_ID, f->id, OKT_F_ROOM,
                     (json_int_t)f->room, OKT_F_NAME, f->name, OKT_F_ISGHOST,
                     0, OKT_F_EVERYONECANINVITE, f->everyonecaninvite);
}

/* confcompositionchanged / confcompetitorstatechanged to the sessions
 * that handle this conference's events (§3.1 (3)). */
static void ev_composition(okt_calls *c, cconf *f)
{
    for (int i = 0; i < f->nhandlers; i++)
        out_event(c, f->handlers[i], 0, OKT_E_CONFCOMPOSITIONCHANGED,
                  json_pack("{s:{s:s, s:o}}", OKT_F_EVENTINFO,
                            OKT_F_CONFERENCEID, f->id, OKT_F_COMPETITORLIST,
                            comps_json(c, f)));
}

static void ev_state(okt_calls *c, cconf *f, const ccomp *p)
{
    for (int i = 0; i < f->nhandlers; i++)
        out_event(c, f->handlers[i], 0, OKT_E_CONFCOMPETITORSTATECHANGED,
                  json_pack("{s:{s:{s:s}, s:o}}", OKT_F_EVENTINFO,
                            OKT_F_CONFERENCE, OKT_F_ID, f->id,
                            OKT_F_COMPETITOR, comp_json(c, p)));
}

/* ---- competitors ------------------------------------------------------------ */

static int comp_live(const ccomp *p)
{
    return p->state == CS_INVITE || p->state == CS_ACTIVE;
}

static ccomp *comp_add(okt_calls *c, cconf *f, int ui, const char *num)
{
    if (f->ncomps >= MAX_COMPS)
        return NULL;
    ccomp *p = &f->comps[f->ncomps++];
    memset(p, 0, sizeof *p);
    new_guid(c, p->id);
    p->user = ui;
    p->call = -1;
    p->state = CS_INVITE;
    if (ui >= 0) {
        okt_uview v;
        okt_m_user(c->m, ui, &v);
        copy_str(p->num, sizeof p->num, v.number);
    } else {
        copy_str(p->num, sizeof p->num, num);
    }
    return p;
}

static void join_line(okt_calls *c, int ui, int fk)
{
    line_touch(c, ui);
    c->lines[ui].conf = fk;
    c->lines[ui].talk_since = c->now;
}

/* Fewer than two in it or on their way: the conference ends; the rest
 * leave, invitations are aborted. */
static void check_end(okt_calls *c, int fk)
{
    cconf *f = conf_at(c, fk);
    if (!f)
        return;
    int live = (int)json_array_size(f->pending);
    for (int i = 0; i < f->ncomps; i++)
        live += comp_live(&f->comps[i]);
    if (live >= 2)
        return;
    for (int i = 0; i < f->ncomps; i++) {
        ccomp *p = &f->comps[i];
        if (p->state == CS_ACTIVE) {
            p->state = CS_EXITED;
            if (p->user >= 0) {
                line_touch(c, p->user);
                c->lines[p->user].conf = -1;
            }
        } else if (p->state == CS_INVITE) {
            p->state = CS_ABORT;
            int k = p->call;
            p->call = -1;
            call_end(c, k);
        }
    }
    ev_composition(c, f);
    json_decref(f->pending);
    f->pending = NULL;
    f->serial = 0;
}

static int invite_one(okt_calls *c, int fk, const json_t *who, int me);

/* The creator is in: the others are invited now. */
static void invite_pending(okt_calls *c, int fk)
{
    cconf *f = conf_at(c, fk);
    json_t *p = f->pending;
    f->pending = NULL;
    for (size_t i = 0; i < json_array_size(p); i++)
        invite_one(c, fk, json_array_get(p, i), f->creator);
    json_decref(p);
    check_end(c, fk);
}

void conf_invite_done(okt_calls *c, int k, int state)
{
    ccall *x = call_at(c, k);
    cconf *f = x ? conf_at(c, x->conf) : NULL;
    if (!f || x->comp < 0 || x->comp >= f->ncomps)
        return;
    int fk = x->conf;
    ccomp *p = &f->comps[x->comp];
    if (p->call != k)
        return;
    p->call = -1;
    if (state < 0) {
        /* the invitation's call ended by itself (its caller hung up) */
        if (p->state == CS_INVITE)
            p->state = CS_ABORT;
        ev_state(c, f, p);
        return;
    }
    p->state = state;
    if (state == CS_ACTIVE && p->user >= 0)
        join_line(c, p->user, fk);
    ev_state(c, f, p);
    call_end(c, k);
    if (state == CS_ACTIVE && p->creator && f->pending)
        invite_pending(c, fk);
    else
        check_end(c, fk);
}

/* Invite one competitor {userid} | {userlogin} | {number} | {intnumber}
 * (§10): a user's phone rings, a number is dialled. Busy or unknown: it
 * is listed as MisInviteBusy. */
static int invite_one(okt_calls *c, int fk, const json_t *who, int me)
{
    cconf *f = conf_at(c, fk);
    const char *uid = json_string_value(json_object_get(who, OKT_F_USERID));
    const char *login =
        json_string_value(json_object_get(who, OKT_F_USERLOGIN));
    const char *num = json_string_value(json_object_get(who, OKT_F_NUMBER));
    if (!num)
        num = json_string_value(json_object_get(who, OKT_F_INTNUMBER));
    int ui = uid ? okt_m_find_id(c->m, uid)
             : login ? okt_m_find_login(c->m, login)
             : num ? okt_m_find_number(c->m, num) : -1;
    if (ui < 0 && (!num || !num[0] || strlen(num) >= CALL_NUM))
        return 0;   /* nobody to invite */
    if (ui == me)
        return 0;   /* the inviter is in already */
    for (int i = 0; i < f->ncomps; i++)
        if (comp_live(&f->comps[i]) &&
            (ui >= 0 ? f->comps[i].user == ui
                     : f->comps[i].user < 0 && !strcmp(f->comps[i].num, num)))
            return 0;
    ccomp *p = comp_add(c, f, ui, num);
    if (!p)
        return -1;
    int pi = (int)(p - f->comps);
    int busy = ui >= 0 ? !user_free(c, ui) : svc_find(c, num) != NULL;
    int k = busy ? -1 : call_new(c);
    if (k < 0) {
        p->state = CS_BUSY;
        ev_composition(c, f);
        return 0;
    }
    ccall *x = call_at(c, k);
    x->kind = CK_INVITE;
    x->conf = fk;
    x->comp = pi;
    x->a.kind = SD_CONF;
    copy_str(x->a.num, sizeof x->a.num, f->id);
    copy_str(x->a.name, sizeof x->a.name, f->name);
    p->call = k;
    if (ui >= 0) {
        copy_str(x->to, sizeof x->to, p->num);
        ring_user(c, k, ui);
    } else if (route(c, k, num) < 0) {
        p->call = -1;
        p->state = CS_BUSY;
        call_release(c, k);
    }
    ev_composition(c, f);
    return 0;
}

static int invite_list(okt_calls *c, int fk, const json_t *list, int me)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (invite_one(c, fk, json_array_get(list, i), me))
            return -1;
    return 0;
}

void conf_leave(okt_calls *c, int ui)
{
    int fk = c->lines[ui].conf;
    cconf *f = conf_at(c, fk);
    line_touch(c, ui);
    c->lines[ui].conf = -1;
    if (!f)
        return;
    for (int i = 0; i < f->ncomps; i++)
        if (f->comps[i].user == ui && f->comps[i].state == CS_ACTIVE) {
            f->comps[i].state = CS_EXITED;
            ev_state(c, f, &f->comps[i]);
        }
    check_end(c, fk);
}

int conf_hangup_number(okt_calls *c, const char *num)
{
    for (size_t i = 0; i < c->nconfs; i++) {
        cconf *f = conf_at(c, (int)i);
        for (int k = 0; f && k < f->ncomps; k++) {
            ccomp *p = &f->comps[k];
            if (p->user < 0 && p->state == CS_ACTIVE && !strcmp(p->num, num)) {
                p->state = CS_EXITED;
                ev_state(c, f, p);
                check_end(c, (int)i);
                return 1;
            }
        }
    }
    return 0;
}

void conf_sess_closed(okt_calls *c, int sess)
{
    for (size_t i = 0; i < c->nconfs; i++) {
        cconf *f = &c->confs[i];
        for (int k = 0; k < f->nhandlers; k++)
            if (f->handlers[k] == sess)
                f->handlers[k--] = f->handlers[--f->nhandlers];
    }
}

/* ---- requests --------------------------------------------------------------- */

/* The conference a request names (conferenceid), else the user's. The
 * user must be in it (a live competitor): else 2501. -1 refused. */
static int conf_of_req(okt_req *r, okt_calls *c, int ui, ccomp **me)
{
    const char *id = json_string_value(okt_req_param(r, OKT_F_CONFERENCEID));
    int fk = id ? conf_find(c, id) : c->lines[ui].conf;
    cconf *f = conf_at(c, fk);
    for (int i = 0; f && i < f->ncomps; i++)
        if (f->comps[i].user == ui && comp_live(&f->comps[i])) {
            if (me)
                *me = &f->comps[i];
            return fk;
        }
    return -1;
}

static int on_break(okt_calls *c, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    return v.st == OKT_US_LUNCH;
}

static int check_line(okt_req *r, okt_calls *c, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (!v.line_ok)
        return refuse(r, 2002) ? -1 : 1;
    if (on_break(c, ui))
        return refuse(r, E_BREAK) ? -1 : 1;   /* every conference method */
    return 0;
}

#define CHECK_LINE(r, c, ui)                        \
    do {                                            \
        int cl_rc_ = check_line(r, c, ui);          \
        if (cl_rc_)                                 \
            return cl_rc_ < 0 ? -1 : 0;             \
    } while (0)

int okt_h_createconf(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    CHECK_LINE(r, c, ui);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (!line_idle(c, ui) || v.held || c->lines[ui].wrapup)
        return refuse(r, E_CONFSTATE);
    const json_t *list = okt_req_param(r, OKT_F_COMPETITORS);
    const json_t *cf = okt_req_param(r, OKT_F_CONFERENCE);
    int others = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *w = json_array_get(list, i);
        const char *lg = json_string_value(json_object_get(w, OKT_F_USERLOGIN));
        others += json_is_object(w) && !(lg && okt_m_find_login(c->m, lg) == ui);
    }
    if (!others)
        return refuse(r, E_NONUMBER);
    const char *id = json_string_value(json_object_get(cf, OKT_F_ID));
    if ((id && (strlen(id) >= CALL_NUM || conf_find(c, id) >= 0)))
        return refuse(r, E_CONFSTATE);
    int fk = conf_new(c);
    if (fk < 0)
        return okt_req_refuse(r, 0, "too many conferences");
    cconf *f = &c->confs[fk];
    if (id)
        copy_str(f->id, sizeof f->id, id);
    else
        new_guid(c, f->id);
    copy_str(f->name, sizeof f->name,
             json_string_value(json_object_get(cf, OKT_F_NAME)));
    f->room = json_integer_value(json_object_get(cf, OKT_F_ROOM));
    const json_t *eci = json_object_get(cf, OKT_F_EVERYONECANINVITE);
    f->everyonecaninvite = !json_is_false(eci);
    f->creator = ui;
    ccomp *me = comp_add(c, f, ui, NULL);
    me->creator = me->director = 1;
    f->pending = json_array();
    for (size_t i = 0; f->pending && i < json_array_size(list); i++)
        if (json_is_object(json_array_get(list, i)))
            json_array_append(f->pending, json_array_get(list, i));
    if (c->lines[ui].intercom) {
        /* the phone picks up by itself: the creator is in, the others
         * are invited now */
        me->state = CS_ACTIVE;
        join_line(c, ui, fk);
        ev_composition(c, f);
        invite_pending(c, fk);
    } else {
        /* the creator's phone rings first (§3 row 4 / 15) */
        int k = call_new(c);
        if (k < 0) {
            check_end(c, fk);
            return okt_req_refuse(r, 0, "too many calls");
        }
        ccall *x = call_at(c, k);
        x->kind = CK_INVITE;
        x->acm_callback = 1;
        x->conf = fk;
        x->comp = 0;
        x->a.kind = SD_CONF;
        copy_str(x->a.num, sizeof x->a.num, f->id);
        copy_str(x->a.name, sizeof x->a.name, f->name);
        me->call = k;
        ring_user(c, k, ui);
        ev_composition(c, f);
    }
    return okt_req_reply(r, NULL);
}

/* The current talk becomes a conference of the user and the party (§3
 * row 15); a held party stays held (connecttogathertoconference adds it). */
int okt_h_buildconf(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    CHECK_LINE(r, c, ui);
    cline *l = &c->lines[ui];
    if (line_stage(c, ui) != ST_TALK)
        return refuse(r, E_CONFSTATE);
    int k = l->cur;
    ccall *x = call_at(c, k);
    const cside *o;
    if (!other_side(x, ui, &o))
        return refuse(r, E_CONFSTATE);
    cside party = *o;
    int fk = conf_new(c);
    if (fk < 0)
        return okt_req_refuse(r, 0, "too many conferences");
    cconf *f = &c->confs[fk];
    new_guid(c, f->id);
    f->creator = ui;
    ccomp *me = comp_add(c, f, ui, NULL);
    me->creator = me->director = 1;
    me->state = CS_ACTIVE;
    ccomp *p = comp_add(c, f, party.kind == SD_USER ? party.user : -1,
                        party.num);
    p->state = CS_ACTIVE;
    call_touch(c, k);
    join_line(c, ui, fk);
    l->cur = -1;
    if (party.kind == SD_USER) {
        join_line(c, party.user, fk);
        line_clear_call(c, party.user, k);
    }
    record(c, k, "conference");
    call_release(c, k);
    ev_composition(c, f);
    return okt_req_reply(r, NULL);
}

int okt_h_inviteconf(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    CHECK_LINE(r, c, ui);
    ccomp *me = NULL;
    int fk = conf_of_req(r, c, ui, &me);
    if (fk < 0)
        return refuse(r, E_NOTIN);
    cconf *f = conf_at(c, fk);
    if (!f->everyonecaninvite && !me->creator && !me->director)
        return okt_req_refuse(r, OKT_SE_RIGHTS,
                              "only the creator or a director may invite");
    const json_t *list = okt_req_param(r, OKT_F_COMPETITORS);
    if (!json_array_size(list))
        return refuse(r, E_NONUMBERS);
    if (invite_list(c, fk, list, ui))
        return -1;
    return okt_req_reply(r, NULL);
}

int okt_h_checkconnect(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    if (conf_of_req(r, c, ui, NULL) < 0)
        return refuse(r, E_NOTIN);
    return okt_req_reply(r, json_pack("{s:b}", OKT_F_CANCONNECTTOGATHER,
                                      c->lines[ui].held >= 0 &&
                                          c->lines[ui].conf >= 0));
}

/* The held party joins the user's conference (flashtypeid 6). */
int okt_h_connectconf(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    cline *l = &c->lines[ui];
    cconf *f = conf_at(c, l->conf);
    ccall *x = call_at(c, l->held);
    const cside *o;
    if (!f || !x || !other_side(x, ui, &o))
        return refuse(r, E_NOHELD);
    cside party = *o;
    int k = l->held;
    ccomp *p = comp_add(c, f, party.kind == SD_USER ? party.user : -1,
                        party.num);
    if (!p)
        return refuse(r, E_NOHELD);
    p->state = CS_ACTIVE;
    call_touch(c, k);
    line_touch(c, ui);
    l->held = -1;
    l->fhint = 6;
    if (party.kind == SD_USER) {
        join_line(c, party.user, l->conf);
        line_clear_call(c, party.user, k);
    }
    record(c, k, "conference");
    call_release(c, k);
    ev_composition(c, f);
    return okt_req_reply(r, NULL);
}

int okt_h_confhandle(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    const char *id = json_string_value(okt_req_param(r, OKT_F_CONFERENCEID));
    const json_t *h = okt_req_param(r, OKT_F_HANDLE);
    int on = json_is_true(h) || json_integer_value(h) == 1;
    int sess = okt_req_sess(r);
    cconf *f = conf_at(c, conf_find(c, id));
    if (f) {
        int at = -1;
        for (int i = 0; i < f->nhandlers; i++)
            if (f->handlers[i] == sess)
                at = i;
        if (on && at < 0 && f->nhandlers < MAX_HANDLERS)
            f->handlers[f->nhandlers++] = sess;
        else if (!on && at >= 0)
            f->handlers[at] = f->handlers[--f->nhandlers];
    }
    /* a conference already gone: accepted (oktell.js turns handling off
     * for a conference it left) */
    return okt_req_reply(r, NULL);
}

int okt_h_confinfo(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int fk = conf_of_req(r, c, okt_req_user(r), NULL);
    if (fk < 0)
        return refuse(r, E_NOTIN);
    cconf *f = conf_at(c, fk);
    return okt_req_reply(r, json_pack("{s:o, s:o}", OKT_F_CONFERENCE,
                                      conf_json(f), OKT_F_COMPETITORS,
                                      comps_json(c, f)));
}

int okt_h_confcompetitors(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int fk = conf_of_req(r, c, okt_req_user(r), NULL);
    if (fk < 0)
        return refuse(r, E_NOTIN);
    cconf *f = conf_at(c, fk);
    json_t *a = json_array();
    for (int i = 0; a && i < f->ncomps; i++) {
        const ccomp *p = &f->comps[i];
        if (!comp_live(p))
            continue;
        okt_uview v;
        if (p->user >= 0)
            okt_m_user(c->m, p->user, &v);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s}", OKT_F_NUMBER, p->num, OKT_F_USERID,
                         p->user >= 0 ? v.id : "", OKT_F_COMPETITORID, p->id));
    }
    return a ? okt_req_reply(r, json_pack("{s:o}", OKT_F_COMPETITORLIST, a))
             : -1;
}

/* Kick a competitor: the creator or a director only (52710). */
int okt_h_confkick(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    ccomp *me = NULL;
    int fk = conf_of_req(r, c, ui, &me);
    if (fk < 0)
        return refuse(r, E_NOTIN);
    if (!me->creator && !me->director)
        return okt_req_refuse(r, OKT_SE_RIGHTS,
                              "only the creator or a director may disconnect");
    cconf *f = conf_at(c, fk);
    const json_t *w = okt_req_param(r, OKT_F_COMPETITOR);
    const char *id = json_string_value(json_object_get(w, OKT_F_COMPETITORID));
    for (int i = 0; id && i < f->ncomps; i++) {
        ccomp *p = &f->comps[i];
        if (strcmp(p->id, id) || !comp_live(p))
            continue;
        if (p->state == CS_INVITE) {
            p->state = CS_ABORT;
            int k = p->call;
            p->call = -1;
            call_end(c, k);
        } else {
            p->state = CS_EXITED;
            if (p->user >= 0) {
                line_touch(c, p->user);
                c->lines[p->user].conf = -1;
            }
        }
        ev_state(c, f, p);
        ev_composition(c, f);
        check_end(c, fk);
        break;
    }
    return okt_req_reply(r, NULL);
}

int okt_h_confexit(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    int fk = conf_of_req(r, c, ui, NULL);
    if (fk < 0)
        return refuse(r, E_NOTIN);
    if (c->lines[ui].conf == fk) {
        conf_leave(c, ui);
    } else {
        /* still invited: the invitation is given up */
        cconf *f = conf_at(c, fk);
        for (int i = 0; i < f->ncomps; i++)
            if (f->comps[i].user == ui && f->comps[i].state == CS_INVITE) {
                f->comps[i].state = CS_REFUSE;
                int k = f->comps[i].call;
                f->comps[i].call = -1;
                ev_state(c, f, &f->comps[i]);
                call_end(c, k);
            }
        check_end(c, fk);
    }
    return okt_req_reply(r, NULL);
}
