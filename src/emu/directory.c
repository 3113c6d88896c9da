/* directory.c - what the PBX lists (EMULATOR-calls §1, §5): its numbers
 * (users' and service numbers: queue and IVR), the users, the break
 * reasons, the stored procedures the config allows; and the messages
 * between users: custom events, and pbxnumberstatechanged to everyone. */
#include "room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZERO_GUID "00000000-0000-0000-0000-000000000000"

/* A number of the config: a string, or an integer written as one. */
static int cfg_num(const json_t *v, char *dst, size_t cap)
{
    if (json_is_integer(v)) {
        snprintf(dst, cap, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v) || !json_string_length(v) ||
        json_string_length(v) >= cap)
        return -1;
    copy_str(dst, cap, json_string_value(v));
    return 0;
}

static int empty(const json_t *v)
{
    return !v || json_is_null(v) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

/* numbers = {{number =, kind = "queue" | "ivr", name =, duration =}} */
static int load_numbers(okt_calls *c, const json_t *nums, okt_err *err)
{
    if (empty(nums))
        return 0;
    if (!json_is_array(nums) || json_array_size(nums) > MAX_SERVICE)
        return okt_err_set(err, OKT_EINVAL,
                           "'numbers' must be a list of at most %d",
                           MAX_SERVICE);
    c->svc = calloc(json_array_size(nums), sizeof *c->svc);
    if (!c->svc)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(nums); i++) {
        const json_t *o = json_array_get(nums, i);
        csvc *s = &c->svc[i];
        char what[48];
        snprintf(what, sizeof what, "numbers[%zu]: ", i + 1);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        if (!json_is_object(o) ||
            cfg_num(json_object_get(o, "number"), s->num, sizeof s->num))
            return okt_err_set(err, OKT_EINVAL,
                               "%s'number' must be a number string", what);
        if (!kind || (strcmp(kind, "queue") && strcmp(kind, "ivr")))
            return okt_err_set(err, OKT_EINVAL,
                               "%s'kind' must be \"queue\" or \"ivr\"", what);
        s->ivr = !strcmp(kind, "ivr");
        const json_t *nm = json_object_get(o, "name");
        if (nm && !json_is_string(nm))
            return okt_err_set(err, OKT_EINVAL, "%s'name' must be a string",
                               what);
        copy_str(s->name, sizeof s->name,
                 nm ? json_string_value(nm) : s->ivr ? "IVR" : "Call-center");
        double d;
        if (cfg_number(o, "duration", -1, 0, &d, what, err))
            return -1;
        s->duration_ms = json_object_get(o, "duration") ? secs_ms(d) : -1;
        if (okt_m_find_number(c->m, s->num) >= 0 || svc_find(c, s->num) ||
            !strcmp(s->num, "queue"))
            return okt_err_set(err, OKT_EINVAL, "%snumber '%s' is taken",
                               what, s->num);
        c->nsvc = i + 1;
    }
    return 0;
}

/* break_reasons = {{id =, name =}}; default: the two of before */
static int load_lunch(okt_calls *c, const json_t *br, okt_err *err)
{
    if (empty(br)) {
        c->lunch = json_pack("[{s:i, s:s}, {s:i, s:s}]", OKT_F_ID, 1,
                             OKT_F_NAME, "Обед", OKT_F_ID, 2, OKT_F_NAME,
                             "Перерыв");
        return c->lunch ? 0 : okt_err_set(err, OKT_ENOMEM, "out of memory");
    }
    if (!json_is_array(br))
        return okt_err_set(err, OKT_EINVAL, "'break_reasons' must be a list");
    c->lunch = json_array();
    for (size_t i = 0; c->lunch && i < json_array_size(br); i++) {
        const json_t *o = json_array_get(br, i);
        const json_t *id = json_object_get(o, "id");
        const json_t *nm = json_object_get(o, "name");
        /* oktell.js needs a non-null id (§4) */
        if (!json_is_integer(id) || !json_is_string(nm))
            return okt_err_set(err, OKT_EINVAL,
                               "break_reasons[%zu] must be {id = integer, "
                               "name = string}", i + 1);
        json_array_append_new(c->lunch, json_pack("{s:O, s:O}", OKT_F_ID, id,
                                                  OKT_F_NAME, nm));
    }
    return c->lunch ? 0 : okt_err_set(err, OKT_ENOMEM, "out of memory");
}

/* procedures = {name = {<the wire's dataset>}}: tables of rows, row 1
 * the column names (§10) */
static int load_procs(okt_calls *c, const json_t *pr, okt_err *err)
{
    c->procs = json_object();
    if (!c->procs)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    if (empty(pr))
        return 0;
    if (!json_is_object(pr))
        return okt_err_set(err, OKT_EINVAL,
                           "'procedures' must be a table name -> dataset");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)pr, k, v) {
        int ok = json_is_array(v) || (json_is_object(v) && !json_object_size(v));
        for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v);
             i++)
            ok = json_is_array(json_array_get(v, i));
        if (!ok || strlen(k) >= CALL_NAME)
            return okt_err_set(err, OKT_EINVAL,
                               "procedures.%s must be a list of tables (lists "
                               "of rows)", k);
        json_object_set_new(c->procs, k,
                            json_is_array(v) ? json_deep_copy(v) : json_array());
    }
    return 0;
}

int directory_load(okt_calls *c, const json_t *config, okt_err *err)
{
    return load_numbers(c, config ? json_object_get(config, "numbers") : NULL,
                        err) ||
           load_lunch(c, config ? json_object_get(config, "break_reasons")
                                : NULL, err) ||
           load_procs(c, config ? json_object_get(config, "procedures") : NULL,
                      err)
               ? -1
               : 0;
}

void directory_free(okt_calls *c)
{
    free(c->svc);
    json_decref(c->lunch);
    json_decref(c->procs);
}

/* ---- the lists ------------------------------------------------------------- */

/* getpbxnumbers: the item fields of a real server's reply (§14.1), users'
 * numbers (intRule, the owner's shown state) and service numbers
 * (intIVR). */
int okt_h_pbxnumbers(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->nusers; i++) {
        okt_uview v;
        okt_m_user(c->m, (int)i, &v);
        if (!v.has_line)
            continue;
        const char *ref = okt_userstate_refname(v.shown);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:b, s:s, s:s}",
                         OKT_F_ID, v.id, OKT_F_NUMBER, v.number, OKT_F_CAPTION,
                         v.name, OKT_F_STATE, v.shown, OKT_F_STATESTR,
                         ref ? ref : "", OKT_F_TYPE, OKT_V_TYPE_RULE,
                         OKT_F_TYPESTR, OKT_V_TYPESTR_RULE, OKT_F_ISGROUP, 0,
                         OKT_F_DEPARTMENTID, v.group_id, OKT_F_DEPARTMENT,
                         v.group_name));
    }
    for (size_t i = 0; a && i < c->nsvc; i++) {
        char id[37];
        snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", 0x5e4u,
                 (unsigned)(i + 1) & 0xFFFFu);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:b, s:s, s:s}",
                         OKT_F_ID, id, OKT_F_NUMBER, c->svc[i].num,
                         OKT_F_CAPTION, c->svc[i].name, OKT_F_STATE,
                         OKT_US_READY, OKT_F_STATESTR,
                         okt_userstate_refname(OKT_US_READY), OKT_F_TYPE,
                         OKT_V_TYPE_IVR, OKT_F_TYPESTR, OKT_V_TYPESTR_IVR,
                         OKT_F_ISGROUP, 0, OKT_F_DEPARTMENTID, ZERO_GUID,
                         OKT_F_DEPARTMENT, ""));
    }
    json_t *o = a ? json_pack("{s:o}", OKT_F_NUMBERS, a) : NULL;
    if (!o)
        return -1;
    /* copied back, as a real server does (§14.1) */
    const json_t *mode = okt_req_param(r, OKT_F_MODE);
    if (mode)
        json_object_set(o, OKT_F_MODE, (json_t *)mode);
    return okt_req_reply(r, o);
}

/* getallusernumbers: sub is true for the asker's subordinates. */
int okt_h_allusernumbers(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int me = okt_req_user(r);
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->nusers; i++) {
        okt_uview v;
        okt_m_user(c->m, (int)i, &v);
        const char *main = v.has_line ? v.number : "";
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:[s], s:b}", OKT_F_ID, v.id,
                         OKT_F_NAME, v.name, OKT_F_MAIN, main, OKT_F_NUMS,
                         main, OKT_F_SUB, is_subordinate(c, (int)i, me)));
    }
    return a ? okt_req_reply(r, json_pack("{s:o}", OKT_F_USERS, a)) : -1;
}

int okt_h_lunchtypes(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    return okt_req_reply(r, json_pack("{s:O}", OKT_F_ITEMS, c->lunch));
}

/* ---- messages ----------------------------------------------------------------- */

/* sendback: the number 1 means yes, the string "0" no (§10); anything
 * truthy but "0" counts as yes. */
static int yes(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v))
        return strcmp(json_string_value(v), "0") && json_string_length(v);
    return 1;
}

/* triggercustomevent: customevent {eventname, eventparam} to the
 * recipients (all users when false or absent), to the sender only when
 * sendback is 1 (EMULATOR-calls §5). */
int okt_h_customevent(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int me = okt_req_user(r);
    if (!right(c, me, "canusemessagingout"))
        return refuse_right(r, "canusemessagingout");
    const json_t *rec = okt_req_param(r, OKT_F_RECIPIENTS);
    int back = yes(okt_req_param(r, OKT_F_SENDBACK));
    const json_t *param = okt_req_param(r, OKT_F_EVENTPARAM);
    for (size_t i = 0; i < c->nusers; i++) {
        int ui = (int)i, to = 0;
        if (json_is_array(rec)) {
            okt_uview v;
            okt_m_user(c->m, ui, &v);
            for (size_t k = 0; !to && k < json_array_size(rec); k++) {
                const char *id = json_string_value(json_array_get(rec, k));
                to = id && !strcasecmp(id, v.id);
            }
        } else {
            to = 1;
        }
        if (ui == me)
            to = back;
        if (!to)
            continue;
        json_t *o = json_pack("{s:s}", OKT_F_EVENTNAME,
                              json_string_value(
                                  okt_req_param(r, OKT_F_EVENTNAME)));
        if (o && param)
            json_object_set(o, OKT_F_EVENTPARAM, (json_t *)param);
        if (out_event(c, ui, 1, OKT_E_CUSTOMEVENT, o))
            return -1;
    }
    return okt_req_reply(r, NULL);
}

/* execpredefineddbstoredproc: a procedure of the config (any case) gives
 * its dataset with errorcode 0; another is refused with a text only. */
int okt_h_storedproc(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    const char *name = json_string_value(okt_req_param(r, OKT_F_PROCEDURE));
    const char *k;
    json_t *v;
    json_object_foreach(c->procs, k, v) {
        if (!strcasecmp(k, name))
            return okt_req_reply(r, json_pack("{s:i, s:O}", OKT_F_ERRORCODE,
                                              0, OKT_F_DATASET, v));
    }
    char msg[CALL_NAME + 48];
    snprintf(msg, sizeof msg, "procedure '%.*s' is not allowed", CALL_NAME,
             name);
    return okt_req_refuse(r, 0, msg);
}

/* pbxnumberstatechanged: every number whose shown state changed in the
 * reaction, in one event to every user (§3.1 (4)). */
int directory_flush(okt_calls *c, okt_out *out)
{
    if (!c->numstates || !json_array_size(c->numstates))
        return 0;
    int rc = 0;
    json_t *o = json_pack("{s:O}", OKT_F_NUMBERS, c->numstates);
    for (size_t i = 0; o && i < c->nusers; i++)
        if (okt_m_emit(c->m, out, (int)i, OKT_E_PBXNUMBERSTATECHANGED, o, 0))
            rc = -1;
    json_decref(o);
    json_array_clear(c->numstates);
    return o ? rc : -1;
}
