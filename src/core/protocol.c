/* protocol.c - the protocol table (see protocol.h): data, and the lookups
 * over it. Source marks are those of oktell-websocket-protocol.md; NULL is
 * our extension. Section numbers (§) refer to that fact sheet. */
#include "protocol.h"

#include <string.h>
#include <strings.h>

#define END {NULL, NULL, 0, 0, NULL}
#define S OKT_PT_STRING
#define I OKT_PT_INT
#define B OKT_PT_BOOL
#define O OKT_PT_OBJECT
#define A OKT_PT_ARRAY
#define REQ OKT_PF_REQUIRED

const char *const okt_proto_confirm_words[] = {"ok", "skip", "delete", NULL};
const char *const okt_proto_task_types[] = {"call", "text", NULL};

/* ---- wire methods: parameters and reply fields ------------------------ */

static const okt_field no_fields[] = {END};

static const okt_field p_login[] = {
    {"userlogin", NULL, S, REQ | OKT_PF_CORE, "C §3.2"},
    {"Password", NULL, S, OKT_PF_SECRET, "C §3.2"},
    {"password", NULL, S, OKT_PF_SECRET, "C §3.2"},
    {"sessionid", NULL, S, OKT_PF_SECRET, "C §3.2"},
    {"showid", NULL, I, 0, "C §3.2"},
    {"usewebrtc", NULL, B, 0, "C §3.2"},
    {"workplace", NULL, OKT_PT_ANY, 0, "C §3.2"},
    {"expires", NULL, I, 0, "C §3.2"},
    END};
static const okt_field r_login[] = {
    {"userid", "userid", S, 0, "R §14.1"},
    {"userlogin", NULL, S, 0, "R §14.1"},
    {"sessionid", NULL, S, OKT_PF_SECRET, "C §3.3"},
    {"sipuser", NULL, S, 0, "C §3.3"},
    {"sippass", NULL, S, OKT_PF_SECRET, "C §3.3"},
    {"sipport", NULL, OKT_PT_ANY, 0, "C §3.3"},
    {"sipsecure", NULL, B, 0, "C §3.3"},
    END};

static const okt_field p_subscribe[] = {
    {"eventmethod", NULL, OKT_PT_STRINGS, REQ, "C §2.5"},
    END};

static const okt_field p_getversion[] = {
    {"showalloweddbstoredprocs", NULL, I, 0, "C §4"},
    END};
static const okt_field r_getversion[] = {
    {"version", NULL, O, REQ, "C §4"},
    {"alloweddbstoredprocs", NULL, O, 0, "C §4"},
    {OKT_PROTO_EXT_FIELD, NULL, OKT_PT_STRINGS, 0, NULL},
    END};

/* The reference's userinfo has no place for the line fields: they are
 * checked, not handed out. */
static const okt_field r_myuserinfo[] = {
    {"username", "name", S, 0, "C §4"},
    {"isoperator", "isoperator", B, 0, "C §4"},
    {"mainpbxnumber", NULL, S, 0, "C §4"},
    {"hasline", NULL, B, 0, "C §4"},
    {"lineid", NULL, S, 0, "C §4"},
    {"linenumber", NULL, S, 0, "C §4"},
    END};

/* The reference's userinfo beyond what getmyuserinfo gives: our
 * extension, flat. */
static const okt_field r_fullinfo[] = {
    {"id", "id", S, 0, NULL},
    {"type", "type", I, 0, NULL},
    {"type_name", "type_name", S, 0, NULL},
    {"name", "name", S, 0, NULL},
    {"isoperator", "isoperator", B, 0, NULL},
    {"group", "group", O, 0, NULL},
    {"login", "login", S, 0, NULL},
    {"role", "role", O, 0, NULL},
    {"callerid", "callerid", S, 0, NULL},
    {"info", "info", S, 0, NULL},
    {"rights", "rights", O, 0, NULL},
    {"right_titles", "right_titles", O, 0, NULL},
    END};

/* getuserstateresult and userstatechanged: the nine fields of §14.1, the
 * three oktell.js also reads (§5.1), and the break message we echo. */
static const okt_field r_userstate[] = {
    {"userstateid", "code", OKT_PT_USERSTATE, 0, "R §14.1"},
    {"userstate", NULL, I, 0, "R §14.1"},
    {"userstatestr", NULL, S, 0, "R §14.1"},
    {"userlogin", NULL, S, 0, "R §14.1"},
    {"userid", NULL, S, 0, "R §14.1"},
    {"oncallcenter", NULL, B, 0, "R §14.1"},
    {"onlunch", NULL, B, 0, "R §14.1"},
    {"onredirect", "redirect", B, 0, "R §14.1"},
    {"onccmanual", NULL, B, 0, "C §5.1"},
    {"ontask", NULL, B, 0, "C §5.1"},
    {"lunchreasonid", NULL, I, 0, "C §5.1"},
    {"lunchreasonmsg", "description", S, 0, NULL},
    END};

static const okt_field p_setuserstate[] = {
    {"userstateid", NULL, OKT_PT_USERSTATE, 0, "C §5.3"},
    {"oncallcenter", NULL, B, 0, "C §5.3"},
    {"onccmanual", NULL, B, 0, "C §5.3"},
    {"onredirect", NULL, B, 0, "C §5.3"},
    {"lunchreasonid", NULL, I, 0, "C §5.3"},
    {"lunchreasonmsg", NULL, S, 0, "C §5.3"},
    END};

static const okt_field r_lineinfo[] = {
    {"linestatestr", "state", OKT_PT_LINESTATE, 0, "C §6.1"},
    {"abonent", NULL, O, 0, "C §6.1"},
    {"chainid", NULL, S, 0, "C §6.1"},
    {"calledid", NULL, S, 0, "C §6.1"},
    {"isflashing", NULL, B, 0, "C §6.1"},
    {"flashed", NULL, O, 0, "C §6.1"},
    {"timertalklensec", NULL, I, 0, "C §6.1"},
    END};

static const okt_field r_success[] = {
    {"success", NULL, B, REQ, NULL},
    END};

static const okt_field p_settaskactive[] = {
    {"tasktype", NULL, S, REQ, NULL},
    {"idtask", NULL, S, REQ, NULL},
    {"active", NULL, I, REQ, NULL},
    END};
static const okt_field r_settaskactive[] = {
    {"success", NULL, B, REQ, NULL},
    {"errormsg", NULL, S, 0, "C §8.1"},
    END};

static const okt_field p_confirmusage[] = {
    {"use", NULL, B, REQ, NULL},
    END};
static const okt_field p_confirmresult[] = {
    {"confirmresult", NULL, S, REQ, NULL},
    END};

static const okt_field p_mode[] = {{"mode", NULL, S, 0, "C §4"}, END};
static const okt_field p_allnumbers[] = {
    {"fillsubordinates", NULL, B, 0, "C §4"},
    END};
static const okt_field r_queue[] = {{"queue", NULL, A, 0, "C §4"}, END};
/* items: [{id (number), name}] (§4, §13) */
static const okt_field r_lunchtypes[] = {{"items", "items", A, 0, "C §4"}, END};
static const okt_field r_redirect[] = {{"redirectrules", NULL, A, 0, "C §4"}, END};
static const okt_field r_numbers[] = {
    {"numbers", NULL, A, 0, "R §14.1"},
    {"mode", NULL, S, 0, "R §14.1"},
    END};
static const okt_field r_users[] = {{"users", NULL, A, 0, "C §4"}, END};
static const okt_field r_links[] = {{"links", NULL, A, 0, "C §4"}, END};

#define W(req, rep, src, rsrc, bare, nores, p, r) \
    {req, rep, src, rsrc, bare, nores, p, r}

static const okt_wire_method wire_methods[] = {
    /* ping: the reply is matched by qid only (§1.3); no capture shows
     * Oktell's answer, "pong" is a CRM server's (§14.2). */
    W("ping", "pong", "C §1.3", NULL, 1, 0, no_fields, no_fields),
    W("login", "loginresult", "R §14.1", "R §14.1", 0, 0, p_login, r_login),
    W("logout", "logoutresult", "C §3.5", "P §14.2", 0, 0, no_fields,
      no_fields),
    W("subscribeevent", "subscribeeventresult", "C §2.5", NULL, 1, 0,
      p_subscribe, no_fields),
    W("getversion", "getversionresult", "C §4", NULL, 0, 0, p_getversion,
      r_getversion),
    W("getmyuserinfo", "getmyuserinforesult", "C §4", NULL, 0, 0, no_fields,
      r_myuserinfo),
    W("getcurrentuserfullinfo", "getcurrentuserfullinforesult", NULL, NULL, 0,
      0, no_fields, r_fullinfo),
    W("getuserstate", "getuserstateresult", "R §14.1", "R §14.1", 0, 1,
      no_fields, r_userstate),
    W("setuserstate", "setuserstateresult", "C §5.3", NULL, 0, 0,
      p_setuserstate, r_userstate),
    W("entercallcenter", "entercallcenterresult", "P §14.2", NULL, 0, 0,
      no_fields, no_fields),
    W("exitcallcenter", "exitcallcenterresult", "P §14.2", NULL, 0, 0,
      no_fields, no_fields),
    W("getextendedlineinfo", "getextendedlineinforesult", "C §6.1", NULL, 0,
      0, no_fields, r_lineinfo),
    W("cc_setbusyinexternaltask", "cc_setbusyinexternaltaskresult", NULL,
      NULL, 0, 0, no_fields, r_success),
    W("cc_setfreeinexternaltask", "cc_setfreeinexternaltaskresult", NULL,
      NULL, 0, 0, no_fields, r_success),
    W("cc_checkbusyinexternaltask", "cc_checkbusyinexternaltaskresult", NULL,
      NULL, 0, 0, no_fields, r_success),
    W("tm_settaskactive", "tm_settaskactiveresult", NULL, NULL, 0, 0,
      p_settaskactive, r_settaskactive),
    W("tm_setconfirmusage", "tm_setconfirmusageresult", NULL, NULL, 0, 0,
      p_confirmusage, no_fields),
    W("tm_setconfirmresult", "tm_setconfirmresultresult", NULL, NULL, 0, 0,
      p_confirmresult, r_success),
    /* the rest of oktell.js's login sequence (§4, §13), served by the
     * emulator so that oktell.js logs in to it */
    W("getcurrentqueue", "getcurrentqueueresult", "C §4", NULL, 0, 0,
      no_fields, r_queue),
    W("cc_getlunchtypes", "cc_getlunchtypesresult", "C §4", NULL, 0, 0,
      no_fields, r_lunchtypes),
    W("getredirectrules", "getredirectrulesresult", "C §4", NULL, 0, 0,
      no_fields, r_redirect),
    W("getpbxnumbers", "getpbxnumbersresult", "R §14.1", "R §14.1", 0, 1,
      p_mode, r_numbers),
    W("getallusernumbers", "getallusernumbersresult", "C §4", NULL, 0, 0,
      p_allnumbers, r_users),
    W("getalluserphotolink", "getalluserphotolinkresult", "C §4", NULL, 0, 0,
      p_mode, r_links),
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

/* ---- the Lua API (API.md §3) ------------------------------------------ */

static const okt_arg no_args[] = {{NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_setuserstate[] = {
    {"state", "userstateid", OKT_AT_USERSTATE, 0, NULL, NULL, NULL},
    {"code", "userstateid", OKT_AT_USERSTATE, OKT_AF_ALIAS, NULL, NULL, NULL},
    {"description", "lunchreasonmsg", OKT_AT_STRING, 0, NULL,
     "cc_getlunchtypes", "lunchreasonid"},
    {"redirect", "onredirect", OKT_AT_BOOL, 0, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_settaskactive[] = {
    {"tasktype", "tasktype", OKT_AT_WORD, OKT_AF_REQUIRED,
     okt_proto_task_types, NULL, NULL},
    {"idtask", "idtask", OKT_AT_ID, OKT_AF_REQUIRED, NULL, NULL, NULL},
    {"active", "active", OKT_AT_BOOL12, OKT_AF_REQUIRED, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_confirmusage[] = {
    {"use", "use", OKT_AT_BOOL, OKT_AF_REQUIRED, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_confirmresult[] = {
    {"result", "confirmresult", OKT_AT_WORD, OKT_AF_REQUIRED | OKT_AF_INDEX,
     okt_proto_confirm_words, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_api_method api_methods[] = {
    {"user_info", "GetCurrentUserFullInfo", "getmyuserinfo", NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_TABLE, NULL, OKT_ESERVER,
     "getcurrentuserfullinfo", NULL, "userinfo"},
    {"user_state", "GetUserState", "getuserstate", NULL, OKT_ARGS_NONE,
     no_args, OKT_RET_TABLE, "userstateid", OKT_ESERVER, NULL, NULL,
     "userstate"},
    {"set_user_state", "SetUserState", "setuserstate", NULL, OKT_ARGS_TABLE,
     a_setuserstate, OKT_RET_TRUE, NULL, OKT_ENOTSETTABLE, NULL, "userstate",
     NULL},
    {"line_state", "GetLineState", "getextendedlineinfo", NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_LINESTATE, "linestatestr", OKT_ESERVER,
     NULL, NULL, "linestate"},
    {"callcenter_inside", "CallCenter_IsInside", "getuserstate", NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_FIELD, "oncallcenter", OKT_ESERVER,
     NULL, NULL, NULL},
    /* oktell.js enters and leaves through setuserstate (§5.3) */
    {"callcenter_enter", "CallCenter_Enter", "setuserstate",
     "{\"oncallcenter\":true}", OKT_ARGS_NONE, no_args, OKT_RET_OK_OR_FALSE,
     NULL, OKT_ELICENSE, NULL, NULL, NULL},
    {"callcenter_exit", "CallCenter_Exit", "setuserstate",
     "{\"oncallcenter\":false}", OKT_ARGS_NONE, no_args, OKT_RET_TRUE, NULL,
     OKT_ESERVER, NULL, NULL, NULL},
    {"set_busy_in_external_task", "CallCenter_SetBusyInExternalTask",
     "cc_setbusyinexternaltask", NULL, OKT_ARGS_NONE, no_args, OKT_RET_FIELD,
     "success", OKT_ESERVER, NULL, NULL, NULL},
    {"set_free_in_external_task", "CallCenter_SetFreeInExternalTask",
     "cc_setfreeinexternaltask", NULL, OKT_ARGS_NONE, no_args, OKT_RET_FIELD,
     "success", OKT_ESERVER, NULL, NULL, NULL},
    {"check_busy_in_external_task", "CallCenter_CheckBusyInExternalTask",
     "cc_checkbusyinexternaltask", NULL, OKT_ARGS_NONE, no_args,
     OKT_RET_FIELD, "success", OKT_ESERVER, NULL, NULL, NULL},
    {"set_task_active", "TM_SetTaskActive", "tm_settaskactive", NULL,
     OKT_ARGS_TABLE, a_settaskactive, OKT_RET_TASKRESULT, "success",
     OKT_ESERVER, NULL, "settaskactive", "settaskactiveresult"},
    {"set_confirm_usage", "TM_SetConfirmUsage", "tm_setconfirmusage", NULL,
     OKT_ARGS_ONE, a_confirmusage, OKT_RET_TRUE, NULL, OKT_ESERVER, NULL,
     NULL, NULL},
    {"set_confirm_result", "TM_SetConfirmResult", "tm_setconfirmresult", NULL,
     OKT_ARGS_ONE, a_confirmresult, OKT_RET_FIELD, "success", OKT_ESERVER,
     NULL, "confirmresult", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* ---- events (API.md §4) ------------------------------------------------ */

static const char *const w_userstate[] = {"userstatechanged", NULL};
static const char *const w_linestate[] = {"linestatechanged", NULL};
static const char *const w_confirm[] = {"dlgcard_showconfirm", NULL};
static const char *const w_reserve[] = {"dlgcard_showreserve", NULL};
static const char *const w_close[] = {"dlgcard_closeall",
                                      "dlgcard_closereserve", NULL};

/* The payload of a line-state change is not on record (oktell.js reads
 * none and asks getextendedlineinfo, §6.4); ours carries the name. */
static const okt_field e_linestate[] = {
    {"linestatestr", "state", OKT_PT_LINESTATE, 0, NULL},
    END};

/* dlgcard_* payloads are not on record (§7): ours are the reference's
 * event fields (API §2 kind "event"). */
static const okt_field e_task[] = {
    {"idtask", "idtask", S, REQ, NULL},
    {"idproject", "idproject", S, 0, NULL},
    {"taskname", "taskname", S, 0, NULL},
    {"taskcode", "taskcode", S, 0, NULL},
    {"idlist", "idlist", S, 0, NULL},
    {"idinlist", "idinlist", I, 0, NULL},
    {"number", "number", S, 0, NULL},
    {"textb64", "textb64", S, 0, NULL},
    END};
static const okt_field e_close[] = {
    {"idtask", "idtask", S, 0, NULL},
    END};

static const okt_event_def events[] = {
    {"tminterfaceconfirm", 121, "TMInterfaceConfirm", w_confirm, "dlgcard",
     e_task, "C §2.5, §7", NULL},
    {"tminterfacereserve", 122, "TMInterfaceReserve", w_reserve, "dlgcard",
     e_task, "C §2.5, §7", NULL},
    {"tminterfaceclose", 123, "TMInterfaceClose", w_close, "dlgcard",
     e_close, "C §2.5, §7", NULL},
    {"userstate", 0, NULL, w_userstate, "userstatechanged", r_userstate,
     "R §14.1", "R §14.1"},
    {"linestate", 0, NULL, w_linestate, "linestatechanged", e_linestate,
     "C §6.4", NULL},
    /* made by the client: from userstatechanged's oncallcenter, and from
     * the connection's own life */
    {"callcenter", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {"disconnect", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {"reconnect", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL}};

static const char *const g_dynamic[] = {"executemethod", "cancelmethod",
                                        NULL};
static const char *const g_waitabort[] = {"executemethodwaitaborted", NULL};
static const char *const g_chat[] = {
    "chatmessageviewed", "chatmessage", "chatmemberremoved",
    "chatmemberadded", "chatnamechanged", "chatcreated", NULL};
static const char *const g_dlgcard[] = {
    "dlgcard_showreserve", "dlgcard_showconfirm", "dlgcard_showformstop",
    "dlgcard_showformdialog", "dlgcard_closeall", "dlgcard_closereserve",
    "dlgcard_closeformreturnvalues", "dlgcard_closeformreturncomment", NULL};

static const okt_event_group groups[] = {
    {"dynamic", g_dynamic},
    {"dynamicwaitabort", g_waitabort},
    {"chat", g_chat},
    {"dlgcard", g_dlgcard},
    {NULL, NULL}};

/* ---- server error values (§8.1) ---------------------------------------- */

static const okt_server_error server_errors[] = {
    {"login", 50093, NULL, OKT_ESERVER,
     "user already registered (a desktop client is logged in)", "C §8.1"},
    {"login", 50025, NULL, OKT_ELICENSE,
     "concurrent-user licence limit reached", "C §8.1"},
    {"login", 0, "Wrong login/pass combination", OKT_EAUTH,
     "bad credentials", "C §8.1"},
    {"login", 0, "Service not available", OKT_EREFUSED,
     "the Oktell service is not fully started", "C §8.1"},
    {"login", 0, "Bad request. Session does not exist", OKT_EAUTH,
     "unknown sessionid", "C §8.1"},
    {"login", 0, "Bad request. Invalid session user", OKT_EAUTH,
     "the sessionid belongs to another user", "C §8.1"},
    {"attachasghost", 52710, NULL, OKT_ERIGHTS,
     "no rights to ghost this user", "C §8.1"},
    {"changepassword", 0, "old password is wrong", OKT_EAUTH,
     "the old password is wrong", "C §8.1"},
    {NULL, 0, NULL, 0, NULL, NULL}};

/* ---- lookups ------------------------------------------------------------ */

#define COUNTED(fn, type, arr, first)                     \
    const type *fn(size_t *count)                         \
    {                                                     \
        if (count) {                                      \
            size_t n = 0;                                 \
            while (arr[n].first)                          \
                n++;                                      \
            *count = n;                                   \
        }                                                 \
        return arr;                                       \
    }

COUNTED(okt_proto_wire_methods, okt_wire_method, wire_methods, request)
COUNTED(okt_proto_api_methods, okt_api_method, api_methods, lua)
COUNTED(okt_proto_events, okt_event_def, events, lua)
COUNTED(okt_proto_event_groups, okt_event_group, groups, name)

const okt_server_error *okt_proto_server_errors(size_t *count)
{
    if (count) {
        size_t n = 0;
        while (server_errors[n].meaning)
            n++;
        *count = n;
    }
    return server_errors;
}

const okt_wire_method *okt_proto_wire(const char *request)
{
    if (!request)
        return NULL;
    for (const okt_wire_method *w = wire_methods; w->request; w++)
        if (!strcasecmp(w->request, request))
            return w;
    return NULL;
}

const okt_api_method *okt_proto_api(const char *lua)
{
    if (!lua)
        return NULL;
    for (const okt_api_method *a = api_methods; a->lua; a++)
        if (!strcmp(a->lua, lua))
            return a;
    return NULL;
}

const okt_event_def *okt_proto_event(const char *lua)
{
    if (!lua)
        return NULL;
    for (const okt_event_def *e = events; e->lua; e++)
        if (!strcmp(e->lua, lua))
            return e;
    return NULL;
}

const okt_event_def *okt_proto_event_by_wire(const char *wire)
{
    if (!wire)
        return NULL;
    for (const okt_event_def *e = events; e->lua; e++)
        for (const char *const *w = e->wire; w && *w; w++)
            if (!strcasecmp(*w, wire))
                return e;
    return NULL;
}

const okt_event_def *okt_proto_event_by_id(int id)
{
    for (const okt_event_def *e = events; e->lua; e++)
        if (e->id && e->id == id)
            return e;
    return NULL;
}

const okt_event_group *okt_proto_group(const char *name)
{
    if (!name)
        return NULL;
    for (const okt_event_group *g = groups; g->name; g++)
        if (!strcasecmp(g->name, name))
            return g;
    return NULL;
}

int okt_proto_error_code(const char *request, long long error,
                         const char *errormsg, int fallback)
{
    for (const okt_server_error *e = server_errors; e->meaning; e++) {
        if (e->request && (!request || strcasecmp(e->request, request)))
            continue;
        if (e->error ? e->error == error
                     : (errormsg && !strcmp(e->errormsg, errormsg)))
            return e->code;
    }
    return fallback;
}

int okt_proto_secret(const char *key)
{
    if (!key)
        return 0;
    for (const okt_wire_method *w = wire_methods; w->request; w++) {
        for (const okt_field *f = w->params; f->wire; f++)
            if ((f->flags & OKT_PF_SECRET) && !strcmp(f->wire, key))
                return 1;
        for (const okt_field *f = w->reply_fields; f->wire; f++)
            if ((f->flags & OKT_PF_SECRET) && !strcmp(f->wire, key))
                return 1;
    }
    return 0;
}
