/* control.c - the call model's control commands (EMULATOR-calls §7-9):
 * what a test or the control channel does that no wire client can: calls
 * from outside, the far ends' behaviour, the operators' handsets, the
 * traffic generator, the lists and the statistics. Each command is one
 * reaction (model.c ends it). */
#include "room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *arg_str(const json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

/* A number argument: a string or an integer, shorter than CALL_NUM. */
static int arg_num(const json_t *args, const char *key, char *dst,
                   okt_err *err)
{
    const json_t *v = json_object_get(args, key);
    if (json_is_integer(v)) {
        snprintf(dst, CALL_NUM, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v) || !json_string_length(v) ||
        json_string_length(v) >= CALL_NUM)
        return okt_err_set(err, OKT_EINVAL,
                           "%s: a number string (1..%d bytes) expected", key,
                           CALL_NUM - 1);
    copy_str(dst, CALL_NUM, json_string_value(v));
    return 0;
}

/* seconds, or absent / false: never (-1) */
static int arg_secs(const json_t *args, const char *key, int64_t *ms,
                    okt_err *err)
{
    const json_t *v = json_object_get(args, key);
    *ms = -1;
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < 0)
        return okt_err_set(err, OKT_EINVAL, "%s: seconds expected", key);
    *ms = secs_ms(json_number_value(v));
    return 0;
}

static int arg_user(okt_calls *c, const json_t *args, okt_err *err)
{
    const char *login = arg_str(args, "user");
    int ui = login ? okt_m_find_login(c->m, login) : -1;
    if (ui < 0)
        return okt_err_set(err, OKT_EINVAL, "unknown user '%s'",
                           login ? login : "(none)");
    return ui;
}

/* call_in{from, to, patience, name, talk} -> the chainid */
static int ctl_call_in(okt_calls *c, const json_t *args, json_t **res,
                       okt_err *err)
{
    char from[CALL_NUM], to[CALL_NUM];
    int64_t patience, talk;
    const json_t *nm = json_object_get(args, "name");
    if (arg_num(args, "from", from, err) || arg_num(args, "to", to, err) ||
        arg_secs(args, "patience", &patience, err) ||
        arg_secs(args, "talk", &talk, err))
        return -1;
    if (nm && (!json_is_string(nm) || json_string_length(nm) >= CALL_NAME))
        return okt_err_set(err, OKT_EINVAL, "name: a short string expected");
    int k = inbound(c, from, to, json_string_value(nm), patience, talk, -1,
                    err);
    if (k < 0)
        return -1;
    *res = json_string(call_at(c, k)->chainid);
    return *res ? 0 : -1;
}

/* enqueue{number}: a caller waits in the call-center queue. */
static int ctl_enqueue(okt_calls *c, const json_t *args, okt_err *err)
{
    char num[CALL_NUM];
    if (arg_num(args, "number", num, err))
        return -1;
    return inbound(c, num, "queue", NULL, -1, -1, -1, err) < 0 ? -1 : 0;
}

/* The live call an id names: its chainid, or the number of an external
 * side (side: 'a', 'b', 0 either). */
static int find_call(okt_calls *c, const char *id, int side)
{
    for (size_t i = 0; i < c->ncalls; i++) {
        ccall *x = &c->calls[i];
        if (!x->serial)
            continue;
        if (!strcasecmp(x->chainid, id))
            return (int)i;
        if (side != 'b' && x->a.kind == SD_EXT && !strcmp(x->a.num, id))
            return (int)i;
        if (side != 'a' && x->b.kind == SD_EXT && !strcmp(x->b.num, id))
            return (int)i;
    }
    return -1;
}

static int ctl_answer_abonent(okt_calls *c, const json_t *args, okt_err *err)
{
    const char *id = arg_str(args, "id");
    if (!id)
        return okt_err_set(err, OKT_EINVAL, "id: chainid or number expected");
    int k = find_call(c, id, 'b');
    ccall *x = call_at(c, k);
    if (!x || x->phase != PH_RING || x->b.kind != SD_EXT)
        return okt_err_set(err, OKT_ENOTSETTABLE, "no such call");
    return b_answers(c, k) < 0
               ? okt_err_set(err, OKT_ENOTSETTABLE, "no such call")
               : 0;
}

static int ctl_hangup_abonent(okt_calls *c, const json_t *args, okt_err *err)
{
    const char *id = arg_str(args, "id");
    if (!id)
        return okt_err_set(err, OKT_EINVAL, "id: chainid or number expected");
    int k = find_call(c, id, 0);
    ccall *x = call_at(c, k);
    if (!x)
        return conf_hangup_number(c, id)
                   ? 0
                   : okt_err_set(err, OKT_ENOTSETTABLE, "no such call");
    if (x->kind == CK_INVITE && x->phase == PH_RING)
        conf_invite_done(c, k, CS_REFUSE);   /* the number refused */
    else
        call_end(c, k);
    return 0;
}

/* abonent{number, answer = s | false, busy}: how that far end behaves
 * when dialled (default: rings until answered or ring_timeout). */
static int ctl_abonent(okt_calls *c, const json_t *args, okt_err *err)
{
    char num[CALL_NUM];
    if (arg_num(args, "number", num, err))
        return -1;
    const json_t *an = json_object_get(args, "answer");
    const json_t *busy = json_object_get(args, "busy");
    if ((an && !json_is_null(an) && !json_is_false(an) &&
         !(json_is_number(an) && json_number_value(an) >= 0)) ||
        (busy && !json_is_null(busy) && !json_is_boolean(busy)))
        return okt_err_set(err, OKT_EINVAL,
                           "abonent: answer = seconds | false, busy = boolean");
    cabonent *a = (cabonent *)abonent_find(c, num);
    if (!a) {
        if (c->nabon >= MAX_ABONENTS)
            return okt_err_set(err, OKT_ENOTSETTABLE, "too many abonents");
        if (!c->abon && !(c->abon = calloc(MAX_ABONENTS, sizeof *c->abon)))
            return okt_err_set(err, OKT_ENOMEM, "out of memory");
        a = &c->abon[c->nabon++];
        copy_str(a->num, sizeof a->num, num);
    }
    a->answer_ms = json_is_number(an) ? secs_ms(json_number_value(an))
                   : json_is_false(an) ? -1 : -2;
    a->busy = json_is_true(busy);
    return 0;
}

/* phone{user, action = "pickup" | "hangup" | "dial", number}: the
 * operator's handset. */
static int ctl_phone(okt_calls *c, const json_t *args, okt_err *err)
{
    int ui = arg_user(c, args, err);
    if (ui < 0)
        return -1;
    const char *act = arg_str(args, "action");
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (act && !strcmp(act, "pickup")) {
        int st = line_stage(c, ui);
        if ((st != ST_RING && st != ST_ACM_RING) || line_answer(c, ui) < 0)
            return okt_err_set(err, OKT_ENOTSETTABLE, "nothing rings");
        return 0;
    }
    if (act && !strcmp(act, "hangup"))
        return line_hangup(c, ui) < 0
                   ? okt_err_set(err, OKT_ENOTSETTABLE, "no call")
                   : 0;
    if (act && !strcmp(act, "dial")) {
        char num[CALL_NUM];
        if (arg_num(args, "number", num, err))
            return -1;
        if (!v.line_ok)
            return okt_err_set(err, OKT_ENOTSETTABLE, "no working line");
        if (v.held || !line_idle(c, ui) || line_dial(c, ui, num) < 0)
            return okt_err_set(err, OKT_ENOTSETTABLE, "busy");
        return 0;
    }
    return okt_err_set(err, OKT_EINVAL,
                       "action: \"pickup\", \"hangup\" or \"dial\" expected");
}

/* calls() -> {{chainid, from, to, stage, user, since}} */
static json_t *ctl_calls(okt_calls *c)
{
    static const char *const names[] = {"queued", "ringing", "ringing",
                                        "talk", "ivr"};
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->ncalls; i++) {
        const ccall *x = &c->calls[i];
        if (!x->serial)
            continue;
        int ui = x->b.kind == SD_USER ? x->b.user
                 : x->a.kind == SD_USER ? x->a.user : -1;
        okt_uview v = {0};
        if (ui >= 0)
            okt_m_user(c->m, ui, &v);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:f}", "chainid", x->chainid, "from",
            x->a.num, "to", x->b.kind != SD_NONE ? x->b.num : x->to, "stage",
            names[x->phase], "since", (double)x->since / 1000.0);
        if (o && v.login)
            json_object_set_new(o, "user", json_string(v.login));
        json_array_append_new(a, o);
    }
    return a;
}

int calls_control(okt_calls *c, const char *cmd, const json_t *args,
                  json_t **res, okt_err *err)
{
    if (!strcmp(cmd, "call_in"))
        return ctl_call_in(c, args, res, err);
    if (!strcmp(cmd, "enqueue"))
        return ctl_enqueue(c, args, err);
    if (!strcmp(cmd, "answer_as_abonent"))
        return ctl_answer_abonent(c, args, err);
    if (!strcmp(cmd, "hangup_abonent"))
        return ctl_hangup_abonent(c, args, err);
    if (!strcmp(cmd, "abonent"))
        return ctl_abonent(c, args, err);
    if (!strcmp(cmd, "phone"))
        return ctl_phone(c, args, err);
    if (!strcmp(cmd, "calls")) {
        *res = ctl_calls(c);
        return *res ? 0 : okt_err_set(err, OKT_ENOMEM, "out of memory");
    }
    if (!strcmp(cmd, "queue")) {
        *res = queue_list(c);
        return *res ? 0 : okt_err_set(err, OKT_ENOMEM, "out of memory");
    }
    if (!strcmp(cmd, "traffic") || !strcmp(cmd, "traffic_stats") ||
        !strcmp(cmd, "traffic_stop") || !strcmp(cmd, "stats"))
        return traffic_control(c, cmd, args, res, err);
    if (!strcmp(cmd, "watch")) {
        /* call records for the control channel's watchers */
        c->watch = json_is_true(json_object_get(args, "on"));
        if (c->watch && !c->records && !(c->records = json_array()))
            return okt_err_set(err, OKT_ENOMEM, "out of memory");
        return 0;
    }
    return 1;
}

/* flood{user, count} -> count: a bench extension (docs/EMULATOR.md,
 * bench/client.lua's events case). The user's line toggles count times
 * between lsHookUp and lsReady (the first toggle away from the state it is
 * in), each toggle a set_line reaction of its own, so each sends to the
 * user's sessions the linestatechanged any line change sends, built and
 * queued the same way and under the same output bounds: a flood a peer
 * does not read in time cuts it (max_output, its backlog) as any output
 * does. At most FLOOD_MAX toggles per command, which all go out together
 * when the command ends; a client paces its floods by what it received. */
#define FLOOD_MAX 65536

static int ctl_flood(okt_calls *c, const json_t *args, json_t **res,
                     okt_out *out, okt_err *err)
{
    int ui = arg_user(c, args, err);
    if (ui < 0)
        return -1;
    const json_t *n = json_object_get(args, "count");
    if (!json_is_integer(n) || json_integer_value(n) < 1 ||
        json_integer_value(n) > FLOOD_MAX)
        return okt_err_set(err, OKT_EINVAL, "count: 1..%d expected",
                           FLOOD_MAX);
    long long count = json_integer_value(n);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    json_t *set[2] = {
        json_pack("{s:s, s:s}", "user", v.login, "state", "ready"),
        json_pack("{s:s, s:s}", "user", v.login, "state", "hookup")};
    int k = v.line == OKT_LS_HOOKUP ? 0 : 1;
    int rc = set[0] && set[1] ? 0
                              : okt_err_set(err, OKT_ENOMEM, "out of memory");
    for (long long i = 0; rc == 0 && i < count; i++, k ^= 1)
        rc = okt_model_control(c->m, "set_line", set[k], NULL, out, err);
    json_decref(set[0]);
    json_decref(set[1]);
    if (rc == 0 && !(*res = json_integer(count)))
        rc = okt_err_set(err, OKT_ENOMEM, "out of memory");
    return rc;
}

int okt_calls_control(okt_calls *c, const char *cmd, const json_t *args,
                      json_t **res, okt_out *out, okt_err *err)
{
    /* the events go out when model.c ends the reaction (flood: each
     * toggle's reaction) */
    *res = NULL;
    int rc = !strcmp(cmd, "flood") ? ctl_flood(c, args, res, out, err)
                                   : calls_control(c, cmd, args, res, err);
    if (rc < 0) {
        json_decref(*res);
        *res = NULL;
    }
    return rc;
}

/* finish(user, ...) on a call (model.c keeps the task prompts). */
int okt_calls_finish(okt_calls *c, int ui, int answered, const char *number,
                     okt_err *err)
{
    if (number) {
        /* a task's dialing answered: a talk with the number (a task call:
         * ontask, wrap-up) */
        int k = call_new(c);
        if (k < 0)
            return okt_err_set(err, OKT_ENOTSETTABLE, "too many calls");
        ccall *x = call_at(c, k);
        line_touch(c, ui);
        okt_uview v;
        okt_m_user(c->m, ui, &v);
        x->origin = OR_TASK;
        x->a.kind = SD_USER;
        x->a.user = ui;
        copy_str(x->a.num, sizeof x->a.num, v.number);
        x->b.kind = SD_EXT;
        copy_str(x->b.num, sizeof x->b.num, number);
        copy_str(x->to, sizeof x->to, number);
        c->lines[ui].cur = k;
        c->lines[ui].talk_since = c->now;
        call_phase(c, k, PH_TALK);
        x->answered = 1;
        return 0;
    }
    int st = line_stage(c, ui);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    if (answered) {
        if ((st == ST_RING || st == ST_ACM_RING) && line_answer(c, ui) == 0)
            return 0;
    } else if (st == ST_RING) {
        call_end(c, c->lines[ui].cur);   /* the call failed: it ends */
        return 0;
    } else if (line_hangup(c, ui) == 0) {
        return 0;
    }
    return okt_err_set(err, OKT_ENOTSETTABLE,
                       "user '%s' has no prompt, dialing or call to finish",
                       v.login);
}

/* The user's last session ended: a queue call ringing there goes back to
 * the queue (the operator is not logged in any more); the phone itself
 * keeps what it has. */
void okt_calls_offline(okt_calls *c, int ui)
{
    ccall *x = call_at(c, c->lines[ui].cur);
    if (x && x->origin == OR_QUEUE && x->phase == PH_RING &&
        x->b.kind == SD_USER && x->b.user == ui && !c->lines[ui].agent)
        queue_missed(c, c->lines[ui].cur, ui, 0);
}
