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
    {OKT_F_USERLOGIN, NULL, S, REQ | OKT_PF_CORE, "C §3.2"},
    {OKT_F_PASSWORD_CS, NULL, S, OKT_PF_SECRET, "C §3.2"},
    {OKT_F_PASSWORD_CI, NULL, S, OKT_PF_SECRET, "C §3.2"},
    {OKT_F_SESSIONID, NULL, S, OKT_PF_SECRET, "C §3.2"},
    {OKT_F_SHOWID, NULL, I, 0, "C §3.2"},
    {OKT_F_USEWEBRTC, NULL, B, 0, "C §3.2"},
    {OKT_F_WORKPLACE, NULL, OKT_PT_ANY, 0, "C §3.2"},
    {OKT_F_EXPIRES, NULL, I, 0, "C §3.2"},
    END};
static const okt_field r_login[] = {
    {OKT_F_USERID, "userid", S, 0, "R §14.1"},
    {OKT_F_USERLOGIN, NULL, S, 0, "R §14.1"},
    {OKT_F_SESSIONID, NULL, S, OKT_PF_SECRET, "C §3.3"},
    {OKT_F_SIPUSER, NULL, S, 0, "C §3.3"},
    {OKT_F_SIPPASS, NULL, S, OKT_PF_SECRET, "C §3.3"},
    {OKT_F_SIPPORT, NULL, OKT_PT_ANY, 0, "C §3.3"},
    {OKT_F_SIPSECURE, NULL, B, 0, "C §3.3"},
    END};

static const okt_field p_subscribe[] = {
    {OKT_F_EVENTMETHOD, NULL, OKT_PT_STRINGS, REQ, "C §2.5"},
    END};

static const okt_field p_getversion[] = {
    {OKT_F_SHOWALLOWEDDBSTOREDPROCS, NULL, I, 0, "C §4"},
    END};
static const okt_field r_getversion[] = {
    {OKT_F_VERSION, NULL, O, REQ, "C §4"},
    {OKT_F_ALLOWEDDBSTOREDPROCS, NULL, O, 0, "C §4"},
    {OKT_PROTO_EXT_FIELD, NULL, OKT_PT_STRINGS, 0, NULL},
    END};

/* The reference's userinfo has no place for the line fields: they are
 * checked, not handed out. */
static const okt_field r_myuserinfo[] = {
    {OKT_F_USERNAME, "name", S, 0, "C §4"},
    {OKT_F_ISOPERATOR, "isoperator", B, 0, "C §4"},
    {OKT_F_MAINPBXNUMBER, NULL, S, 0, "C §4"},
    {OKT_F_HASLINE, NULL, B, 0, "C §4"},
    {OKT_F_LINEID, NULL, S, 0, "C §4"},
    {OKT_F_LINENUMBER, NULL, S, 0, "C §4"},
    END};

/* The reference's userinfo beyond what getmyuserinfo gives: our
 * extension, flat. */
static const okt_field r_fullinfo[] = {
    {OKT_F_ID, "id", S, 0, NULL},
    {OKT_F_TYPE, "type", I, 0, NULL},
    {OKT_F_TYPE_NAME, "type_name", S, 0, NULL},
    {OKT_F_NAME, "name", S, 0, NULL},
    {OKT_F_ISOPERATOR, "isoperator", B, 0, NULL},
    {OKT_F_GROUP, "group", O, 0, NULL},
    {OKT_F_LOGIN, "login", S, 0, NULL},
    {OKT_F_ROLE, "role", O, 0, NULL},
    {OKT_F_CALLERID, "callerid", S, 0, NULL},
    {OKT_F_INFO, "info", S, 0, NULL},
    {OKT_F_RIGHTS, "rights", O, 0, NULL},
    {OKT_F_RIGHT_TITLES, "right_titles", O, 0, NULL},
    END};

/* getuserstateresult and userstatechanged: the nine fields of §14.1, the
 * three oktell.js also reads (§5.1), and the break message we echo. */
static const okt_field r_userstate[] = {
    {OKT_F_USERSTATEID, "code", OKT_PT_USERSTATE, 0, "R §14.1"},
    {OKT_F_USERSTATE, NULL, I, 0, "R §14.1"},
    {OKT_F_USERSTATESTR, NULL, S, 0, "R §14.1"},
    {OKT_F_USERLOGIN, NULL, S, 0, "R §14.1"},
    {OKT_F_USERID, NULL, S, 0, "R §14.1"},
    {OKT_F_ONCALLCENTER, NULL, B, 0, "R §14.1"},
    {OKT_F_ONLUNCH, NULL, B, 0, "R §14.1"},
    {OKT_F_ONREDIRECT, "redirect", B, 0, "R §14.1"},
    {OKT_F_ONCCMANUAL, NULL, B, 0, "C §5.1"},
    {OKT_F_ONTASK, NULL, B, 0, "C §5.1"},
    {OKT_F_LUNCHREASONID, NULL, I, 0, "C §5.1"},
    {OKT_F_LUNCHREASONMSG, "description", S, 0, NULL},
    END};

static const okt_field p_setuserstate[] = {
    {OKT_F_USERSTATEID, NULL, OKT_PT_USERSTATE, 0, "C §5.3"},
    {OKT_F_ONCALLCENTER, NULL, B, 0, "C §5.3"},
    {OKT_F_ONCCMANUAL, NULL, B, 0, "C §5.3"},
    {OKT_F_ONREDIRECT, NULL, B, 0, "C §5.3"},
    {OKT_F_LUNCHREASONID, NULL, I, 0, "C §5.3"},
    {OKT_F_LUNCHREASONMSG, NULL, S, 0, "C §5.3"},
    END};

static const okt_field r_lineinfo[] = {
    {OKT_F_LINESTATESTR, "state", OKT_PT_LINESTATE, 0, "C §6.1"},
    {OKT_F_ABONENT, NULL, O, 0, "C §6.1"},
    {OKT_F_CHAINID, NULL, S, 0, "C §6.1"},
    {OKT_F_CALLEDID, NULL, S, 0, "C §6.1"},
    {OKT_F_ISFLASHING, NULL, B, 0, "C §6.1"},
    {OKT_F_FLASHED, NULL, O, 0, "C §6.1"},
    {OKT_F_TIMERTALKLENSEC, NULL, I, 0, "C §6.1"},
    END};

static const okt_field r_success[] = {
    {OKT_F_SUCCESS, NULL, B, REQ, NULL},
    END};

static const okt_field p_settaskactive[] = {
    {OKT_F_TASKTYPE, NULL, S, REQ, NULL},
    {OKT_F_IDTASK, NULL, S, REQ, NULL},
    {OKT_F_ACTIVE, NULL, I, REQ, NULL},
    END};
static const okt_field r_settaskactive[] = {
    {OKT_F_SUCCESS, NULL, B, REQ, NULL},
    {OKT_F_ERRORMSG, NULL, S, 0, "C §8.1"},
    END};

static const okt_field p_confirmusage[] = {
    {OKT_F_USE, NULL, B, REQ, NULL},
    END};
static const okt_field p_confirmresult[] = {
    {OKT_F_CONFIRMRESULT, NULL, S, REQ, NULL},
    END};

static const okt_field p_mode[] = {{OKT_F_MODE, NULL, S, 0, "C §4"}, END};
static const okt_field p_allnumbers[] = {
    {OKT_F_FILLSUBORDINATES, NULL, B, 0, "C §4"},
    END};
static const okt_field r_queue[] = {{OKT_F_QUEUE, NULL, A, 0, "C §4"}, END};
/* items: [{id (number), name}] (§4, §13) */
static const okt_field r_lunchtypes[] = {
    {OKT_F_ITEMS, "items", A, 0, "C §4"},
    END};
static const okt_field r_redirect[] = {
    {OKT_F_REDIRECTRULES, NULL, A, 0, "C §4"},
    END};
static const okt_field r_numbers[] = {
    {OKT_F_NUMBERS, NULL, A, 0, "R §14.1"},
    {OKT_F_MODE, NULL, S, 0, "R §14.1"},
    END};
static const okt_field r_users[] = {{OKT_F_USERS, NULL, A, 0, "C §4"}, END};
static const okt_field r_links[] = {{OKT_F_LINKS, NULL, A, 0, "C §4"}, END};

/* Calls (§10). The replies of the fire-and-forget requests carry only
 * `result`; oktell.js reads none of them (API-calls §6.0). */
static const okt_field p_autocall[] = {
    {OKT_F_NUMBER, NULL, S, 0, "C §10"},
    {OKT_F_SEQUENCE, NULL, S, 0, "C §10"},
    {OKT_F_INTERCOM, NULL, B, 0, "C §10"},
    END};
static const okt_field p_flash[] = {{OKT_F_MODE, NULL, S, 0, "C §10"}, END};
static const okt_field p_transfer[] = {
    {OKT_F_TRANSFERTO, NULL, S, 0, "C §10"},
    END};
static const okt_field r_flashed[] = {
    {OKT_F_CONTAINSFLASHED, NULL, B, 0, "C §10"},
    {OKT_F_ABONENT, NULL, O, 0, "C §10"},
    END};

/* Conferences (§10). */
static const okt_field p_createconf[] = {
    {OKT_F_CONFERENCE, NULL, O, 0, "C §10"},
    {OKT_F_COMPETITORS, NULL, A, 0, "C §10"},
    END};
static const okt_field p_invite[] = {
    {OKT_F_CONFERENCEID, NULL, S, 0, "C §10"},
    {OKT_F_COMPETITORS, NULL, A, 0, "C §10"},
    END};
static const okt_field r_cancanconnect[] = {
    {OKT_F_CANCONNECTTOGATHER, NULL, B, 0, "C §10"},
    END};
static const okt_field p_handle[] = {
    {OKT_F_CONFERENCEID, NULL, S, 0, "C §10"},
    {OKT_F_EVENTTYPE, NULL, S, 0, "C §10"},
    {OKT_F_HANDLE, NULL, B, 0, "C §10"},
    END};
static const okt_field p_confid[] = {
    {OKT_F_CONFERENCEID, NULL, S, 0, "C §10"},
    END};
static const okt_field r_confinfo[] = {
    {OKT_F_CONFERENCE, NULL, O, 0, "C §10"},
    {OKT_F_COMPETITORS, NULL, A, 0, "C §10"},
    END};
/* oktell.js throws without competitorlist (§10): required */
static const okt_field r_competitors[] = {
    {OKT_F_COMPETITORLIST, NULL, A, REQ, "C §10"},
    END};
static const okt_field p_kick[] = {
    {OKT_F_CONFERENCEID, NULL, S, 0, "C §10"},
    {OKT_F_COMPETITOR, NULL, O, 0, "C §10"},
    END};

/* Custom events: recipients is a list of user ids or false, sendback the
 * number 1 or the string "0" (§10, a quirk of oktell.js): any. */
static const okt_field p_custom[] = {
    {OKT_F_USERID, NULL, S, 0, "C §10"},
    {OKT_F_EVENTNAME, NULL, S, REQ, "C §10"},
    {OKT_F_EVENTPARAM, NULL, OKT_PT_ANY, 0, "C §10"},
    {OKT_F_RECIPIENTS, NULL, OKT_PT_ANY, 0, "C §10"},
    {OKT_F_SENDBACK, NULL, OKT_PT_ANY, 0, "C §10"},
    END};

/* Stored procedures: oktell.js puts userlogin and userid in itself (§2.3)
 * and needs result 1 with errorcode 0 (§8.1). */
static const okt_field p_proc[] = {
    {OKT_F_PROCEDURE, NULL, S, REQ, "C §10"},
    {OKT_F_USERID, NULL, S, 0, "C §10"},
    {OKT_F_INPUTPARAMS, NULL, O, 0, "C §10"},
    END};
static const okt_field r_proc[] = {
    {OKT_F_ERRORCODE, NULL, I, 0, "C §8.1"},
    {OKT_F_DATASET, NULL, A, 0, "C §10"},
    END};

/* A row by its method's name: id and request are OKT_M_<name> and
 * OKT_W_<name>, the reply is <method>result (§14.1) unless given. */
#define W_REPLY(name, rep, src, rsrc, bare, nores, p, r) \
    {OKT_M_##name, OKT_W_##name, rep, src, rsrc, bare, nores, p, r}
#define W(name, src, rsrc, bare, nores, p, r) \
    W_REPLY(name, OKT_R(OKT_W_##name), src, rsrc, bare, nores, p, r)

static const okt_wire_method wire_methods[] = {
    /* ping: the reply is matched by qid only (§1.3); no capture shows
     * Oktell's answer, "pong" is a CRM server's (§14.2). */
    W_REPLY(PING, OKT_R_PING, "C §1.3", NULL, 1, 0, no_fields, no_fields),
    W(LOGIN, "R §14.1", "R §14.1", 0, 0, p_login, r_login),
    W(LOGOUT, "C §3.5", "P §14.2", 0, 0, no_fields, no_fields),
    W(SUBSCRIBEEVENT, "C §2.5", NULL, 1, 0, p_subscribe, no_fields),
    W(GETVERSION, "C §4", NULL, 0, 0, p_getversion, r_getversion),
    W(GETMYUSERINFO, "C §4", NULL, 0, 0, no_fields, r_myuserinfo),
    W(GETCURRENTUSERFULLINFO, NULL, NULL, 0, 0, no_fields, r_fullinfo),
    W(GETUSERSTATE, "R §14.1", "R §14.1", 0, 1, no_fields, r_userstate),
    W(SETUSERSTATE, "C §5.3", NULL, 0, 0, p_setuserstate, r_userstate),
    W(ENTERCALLCENTER, "P §14.2", NULL, 0, 0, no_fields, no_fields),
    W(EXITCALLCENTER, "P §14.2", NULL, 0, 0, no_fields, no_fields),
    W(GETEXTENDEDLINEINFO, "C §6.1", NULL, 0, 0, no_fields, r_lineinfo),
    W(CC_SETBUSYINEXTERNALTASK, NULL, NULL, 0, 0, no_fields, r_success),
    W(CC_SETFREEINEXTERNALTASK, NULL, NULL, 0, 0, no_fields, r_success),
    W(CC_CHECKBUSYINEXTERNALTASK, NULL, NULL, 0, 0, no_fields, r_success),
    W(TM_SETTASKACTIVE, NULL, NULL, 0, 0, p_settaskactive, r_settaskactive),
    W(TM_SETCONFIRMUSAGE, NULL, NULL, 0, 0, p_confirmusage, no_fields),
    W(TM_SETCONFIRMRESULT, NULL, NULL, 0, 0, p_confirmresult, r_success),
    /* the rest of oktell.js's login sequence (§4, §13), served by the
     * emulator so that oktell.js logs in to it */
    W(GETCURRENTQUEUE, "C §4", NULL, 0, 0, no_fields, r_queue),
    W(CC_GETLUNCHTYPES, "C §4", NULL, 0, 0, no_fields, r_lunchtypes),
    W(GETREDIRECTRULES, "C §4", NULL, 0, 0, no_fields, r_redirect),
    W(GETPBXNUMBERS, "R §14.1", "R §14.1", 0, 1, p_mode, r_numbers),
    W(GETALLUSERNUMBERS, "C §4", NULL, 0, 0, p_allnumbers, r_users),
    W(GETALLUSERPHOTOLINK, "C §4", NULL, 0, 0, p_mode, r_links),
    /* calls (§10); pbxautocallstartresult is on record from third-party
     * code (§14.2), the other replies follow the rule */
    W(PBXAUTOCALLSTART, "C §10", "P §14.2", 0, 0, p_autocall, no_fields),
    W(PBXAUTOCALLABORT, "C §10", NULL, 0, 0, no_fields, no_fields),
    W(PBXABORTCALL, "C §10", NULL, 0, 0, no_fields, no_fields),
    W(PBXDECLINECALL, "C §10", NULL, 0, 0, no_fields, no_fields),
    W(PBXANSWERCALL, "C §10", NULL, 0, 0, no_fields, no_fields),
    W(PBXMAKEFLASH, "C §10", NULL, 0, 0, p_flash, no_fields),
    W(PBXMAKETRANSFER, "C §10", NULL, 0, 0, p_transfer, no_fields),
    W(GETFLASHEDABONENTINFO, "C §10", NULL, 0, 0, no_fields, r_flashed),
    /* conferences (§10) */
    W(BUILDCONFERENCEFROMCOMMUTATION, "C §10", NULL, 0, 0, no_fields,
      no_fields),
    W(CREATENEWCONFERENCE, "C §10", NULL, 0, 0, p_createconf, no_fields),
    W(INVITETOCONFERENCE, "C §10", NULL, 0, 0, p_invite, no_fields),
    W(CHECKCANCONNECTTOGATHERTOCONFERENCE, "C §10", NULL, 0, 0, no_fields,
      r_cancanconnect),
    W(CONNECTTOGATHERTOCONFERENCE, "C §10", NULL, 0, 0, no_fields,
      no_fields),
    W(CONFHANDLEEVENT, "C §10", NULL, 0, 0, p_handle, no_fields),
    W(GETCONFERENCEINFO, "C §10", NULL, 0, 0, p_confid, r_confinfo),
    W(GETCONFERENCECOMPETITORS, "C §10", NULL, 0, 0, p_confid,
      r_competitors),
    W(CONFDISCONNECTCOMPETITOR, "C §10", NULL, 0, 0, p_kick, no_fields),
    W(EXITCONFERENCE, "C §10", NULL, 0, 0, p_confid, no_fields),
    /* custom events and stored procedures (§10) */
    W(TRIGGERCUSTOMEVENT, "C §10", NULL, 0, 0, p_custom, no_fields),
    W(EXECPREDEFINEDDBSTOREDPROC, "C §10", NULL, 0, 0, p_proc, r_proc),
    {0, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

/* ---- the Lua API (API.md §3) ------------------------------------------ */

static const okt_arg no_args[] = {{NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_setuserstate[] = {
    {"state", OKT_F_USERSTATEID, OKT_AT_USERSTATE, 0, NULL, NULL, NULL},
    {"code", OKT_F_USERSTATEID, OKT_AT_USERSTATE, OKT_AF_ALIAS, NULL, NULL,
     NULL},
    {"description", OKT_F_LUNCHREASONMSG, OKT_AT_STRING, 0, NULL,
     OKT_W_CC_GETLUNCHTYPES, OKT_F_LUNCHREASONID},
    {"redirect", OKT_F_ONREDIRECT, OKT_AT_BOOL, 0, NULL, NULL, NULL},
    /* a break reason by its id (cc_getlunchtypes), as oktell.js sends it */
    {"reason", OKT_F_LUNCHREASONID, OKT_AT_INT, 0, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_settaskactive[] = {
    {"tasktype", OKT_F_TASKTYPE, OKT_AT_WORD, OKT_AF_REQUIRED,
     okt_proto_task_types, NULL, NULL},
    {"idtask", OKT_F_IDTASK, OKT_AT_ID, OKT_AF_REQUIRED, NULL, NULL, NULL},
    {"active", OKT_F_ACTIVE, OKT_AT_BOOL12, OKT_AF_REQUIRED, NULL, NULL,
     NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_confirmusage[] = {
    {"use", OKT_F_USE, OKT_AT_BOOL, OKT_AF_REQUIRED, NULL, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

static const okt_arg a_confirmresult[] = {
    {"result", OKT_F_CONFIRMRESULT, OKT_AT_WORD,
     OKT_AF_REQUIRED | OKT_AF_INDEX, okt_proto_confirm_words, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL}};

/* callcenter_enter / callcenter_exit's fixed params */
#define CC_FIXED(on) "{\"" OKT_F_ONCALLCENTER "\":" on "}"

static const okt_api_method api_methods[] = {
    {"user_info", "GetCurrentUserFullInfo", OKT_W_GETMYUSERINFO, NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_TABLE, NULL, OKT_ESERVER,
     OKT_W_GETCURRENTUSERFULLINFO, NULL, "userinfo"},
    {"user_state", "GetUserState", OKT_W_GETUSERSTATE, NULL, OKT_ARGS_NONE,
     no_args, OKT_RET_TABLE, OKT_F_USERSTATEID, OKT_ESERVER, NULL, NULL,
     "userstate"},
    {"set_user_state", "SetUserState", OKT_W_SETUSERSTATE, NULL,
     OKT_ARGS_TABLE, a_setuserstate, OKT_RET_TRUE, NULL, OKT_ENOTSETTABLE,
     NULL, "userstate", NULL},
    {"line_state", "GetLineState", OKT_W_GETEXTENDEDLINEINFO, NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_LINESTATE, OKT_F_LINESTATESTR,
     OKT_ESERVER, NULL, NULL, "linestate"},
    {"callcenter_inside", "CallCenter_IsInside", OKT_W_GETUSERSTATE, NULL,
     OKT_ARGS_NONE, no_args, OKT_RET_FIELD, OKT_F_ONCALLCENTER, OKT_ESERVER,
     NULL, NULL, NULL},
    /* oktell.js enters and leaves through setuserstate (§5.3) */
    {"callcenter_enter", "CallCenter_Enter", OKT_W_SETUSERSTATE,
     CC_FIXED("true"), OKT_ARGS_NONE, no_args, OKT_RET_OK_OR_FALSE, NULL,
     OKT_ELICENSE, NULL, NULL, NULL},
    {"callcenter_exit", "CallCenter_Exit", OKT_W_SETUSERSTATE,
     CC_FIXED("false"), OKT_ARGS_NONE, no_args, OKT_RET_TRUE, NULL,
     OKT_ESERVER, NULL, NULL, NULL},
    {"set_busy_in_external_task", "CallCenter_SetBusyInExternalTask",
     OKT_W_CC_SETBUSYINEXTERNALTASK, NULL, OKT_ARGS_NONE, no_args,
     OKT_RET_FIELD, OKT_F_SUCCESS, OKT_ESERVER, NULL, NULL, NULL},
    {"set_free_in_external_task", "CallCenter_SetFreeInExternalTask",
     OKT_W_CC_SETFREEINEXTERNALTASK, NULL, OKT_ARGS_NONE, no_args,
     OKT_RET_FIELD, OKT_F_SUCCESS, OKT_ESERVER, NULL, NULL, NULL},
    {"check_busy_in_external_task", "CallCenter_CheckBusyInExternalTask",
     OKT_W_CC_CHECKBUSYINEXTERNALTASK, NULL, OKT_ARGS_NONE, no_args,
     OKT_RET_FIELD, OKT_F_SUCCESS, OKT_ESERVER, NULL, NULL, NULL},
    {"set_task_active", "TM_SetTaskActive", OKT_W_TM_SETTASKACTIVE, NULL,
     OKT_ARGS_TABLE, a_settaskactive, OKT_RET_TASKRESULT, OKT_F_SUCCESS,
     OKT_ESERVER, NULL, "settaskactive", "settaskactiveresult"},
    {"set_confirm_usage", "TM_SetConfirmUsage", OKT_W_TM_SETCONFIRMUSAGE,
     NULL, OKT_ARGS_ONE, a_confirmusage, OKT_RET_TRUE, NULL, OKT_ESERVER,
     NULL, NULL, NULL},
    {"set_confirm_result", "TM_SetConfirmResult", OKT_W_TM_SETCONFIRMRESULT,
     NULL, OKT_ARGS_ONE, a_confirmresult, OKT_RET_FIELD, OKT_F_SUCCESS,
     OKT_ESERVER, NULL, "confirmresult", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* ---- events (API.md §4) ------------------------------------------------ */

static const char *const w_userstate[] = {OKT_E_USERSTATECHANGED, NULL};
static const char *const w_linestate[] = {OKT_E_LINESTATECHANGED, NULL};
static const char *const w_confirm[] = {OKT_E_DLGCARD_SHOWCONFIRM, NULL};
static const char *const w_reserve[] = {OKT_E_DLGCARD_SHOWRESERVE, NULL};
static const char *const w_close[] = {OKT_E_DLGCARD_CLOSEALL,
                                      OKT_E_DLGCARD_CLOSERESERVE, NULL};

/* The payload of a line-state change is not on record (oktell.js reads
 * none and asks getextendedlineinfo, §6.4); ours carries the name. */
static const okt_field e_linestate[] = {
    {OKT_F_LINESTATESTR, "state", OKT_PT_LINESTATE, 0, NULL},
    END};

/* dlgcard_* payloads are not on record (§7): ours are the reference's
 * event fields (API §2 kind "event"). */
static const okt_field e_task[] = {
    {OKT_F_IDTASK, "idtask", S, REQ, NULL},
    {OKT_F_IDPROJECT, "idproject", S, 0, NULL},
    {OKT_F_TASKNAME, "taskname", S, 0, NULL},
    {OKT_F_TASKCODE, "taskcode", S, 0, NULL},
    {OKT_F_IDLIST, "idlist", S, 0, NULL},
    {OKT_F_IDINLIST, "idinlist", I, 0, NULL},
    {OKT_F_NUMBER, "number", S, 0, NULL},
    {OKT_F_TEXTB64, "textb64", S, 0, NULL},
    END};
static const okt_field e_close[] = {
    {OKT_F_IDTASK, "idtask", S, 0, NULL},
    END};

/* Call events (§6.4). oktell.js reads only isconference, confid and
 * isroutingivr; every phone event also carries the user's userlogin and
 * userid, as the capture's relay routes them by those (§14.2). */
static const char *const w_ringstarted[] = {OKT_E_PHONEEVENT_RINGSTARTED,
                                            NULL};
static const char *const w_ringstopped[] = {OKT_E_PHONEEVENT_RINGSTOPPED,
                                            NULL};
static const char *const w_commstarted[] = {OKT_E_PHONEEVENT_COMMSTARTED,
                                            NULL};
static const char *const w_commstopped[] = {OKT_E_PHONEEVENT_COMMSTOPPED,
                                            NULL};
static const char *const w_acmstarted[] = {OKT_E_PHONEEVENT_ACMCALLSTARTED,
                                           NULL};
static const char *const w_acmstopped[] = {OKT_E_PHONEEVENT_ACMCALLSTOPPED,
                                           NULL};
static const char *const w_ivrstarted[] = {OKT_E_PHONEEVENT_IVRSTARTED, NULL};
static const char *const w_ivrstopped[] = {OKT_E_PHONEEVENT_IVRSTOPPED, NULL};
static const char *const w_flash[] = {OKT_E_FLASHSTATECHANGED, NULL};
static const char *const w_confcomp[] = {OKT_E_CONFCOMPOSITIONCHANGED, NULL};
static const char *const w_confcompetitor[] = {
    OKT_E_CONFCOMPETITORSTATECHANGED, NULL};
static const char *const w_numberstate[] = {OKT_E_PBXNUMBERSTATECHANGED,
                                            NULL};
static const char *const w_custom[] = {OKT_E_CUSTOMEVENT, NULL};

static const okt_field e_commstarted[] = {
    {OKT_F_ISCONFERENCE, "conference", B, 0, "C §6.4"},
    {OKT_F_CONFID, "conference_id", S, 0, "C §6.4"},
    END};
static const okt_field e_ivrstarted[] = {
    {OKT_F_ISROUTINGIVR, "routing", B, 0, "C §6.4"},
    END};
/* oktell.js reads no field of it; Creatio reads flashtypeid (§14.2);
 * isflashing is ours */
static const okt_field e_flash[] = {
    {OKT_F_ISFLASHING, NULL, B, 0, NULL},
    {OKT_F_FLASHTYPEID, NULL, I, 0, "P §14.2"},
    END};
static const okt_field e_confinfo[] = {
    {OKT_F_EVENTINFO, NULL, O, REQ, "C §6.4"},
    END};
/* oktell.js throws without numbers (§6.4) */
static const okt_field e_numberstate[] = {
    {OKT_F_NUMBERS, NULL, A, REQ, "R §14.1"},
    END};
static const okt_field e_custom[] = {
    {OKT_F_EVENTNAME, "name", S, 0, "C §6.4"},
    {OKT_F_EVENTPARAM, "param", OKT_PT_ANY, 0, "C §6.4"},
    END};

/* A call event row: subscribed by its own name, as oktell.js does after
 * login (§4 step 14) and API-calls §6.3 asks for each. */
#define CALL_EVENT(lua, w, sub, fields, src, psrc) \
    {lua, 0, NULL, w, sub, fields, src, psrc}

static const okt_event_def events[] = {
    {"tminterfaceconfirm", OKT_EID_TMCONFIRM, "TMInterfaceConfirm", w_confirm,
     OKT_G_DLGCARD, e_task, "C §2.5, §7", NULL},
    {"tminterfacereserve", OKT_EID_TMRESERVE, "TMInterfaceReserve", w_reserve,
     OKT_G_DLGCARD, e_task, "C §2.5, §7", NULL},
    {"tminterfaceclose", OKT_EID_TMCLOSE, "TMInterfaceClose", w_close,
     OKT_G_DLGCARD, e_close, "C §2.5, §7", NULL},
    {"userstate", 0, NULL, w_userstate, OKT_E_USERSTATECHANGED, r_userstate,
     "R §14.1", "R §14.1"},
    {"linestate", 0, NULL, w_linestate, OKT_E_LINESTATECHANGED, e_linestate,
     "C §6.4", NULL},
    CALL_EVENT("ringstarted", w_ringstarted,
               OKT_E_PHONEEVENT_RINGSTARTED, no_fields, "C §6.4", "C §6.4"),
    CALL_EVENT("ringstopped", w_ringstopped,
               OKT_E_PHONEEVENT_RINGSTOPPED, no_fields, "C §6.4", "C §6.4"),
    CALL_EVENT("commstarted", w_commstarted,
               OKT_E_PHONEEVENT_COMMSTARTED, e_commstarted, "C §6.4", "C §6.4"),
    CALL_EVENT("commstopped", w_commstopped,
               OKT_E_PHONEEVENT_COMMSTOPPED, no_fields, "C §6.4", "C §6.4"),
    CALL_EVENT("acmcallstarted", w_acmstarted,
               OKT_E_PHONEEVENT_ACMCALLSTARTED, no_fields, "C §6.4", "C §6.4"),
    CALL_EVENT("acmcallstopped", w_acmstopped,
               OKT_E_PHONEEVENT_ACMCALLSTOPPED, no_fields, "C §6.4", "C §6.4"),
    CALL_EVENT("ivrstarted", w_ivrstarted,
               OKT_E_PHONEEVENT_IVRSTARTED, e_ivrstarted, "C §6.4", "C §6.4"),
    /* seen only in the capture's relay (§14.2); oktell.js never names it */
    CALL_EVENT("ivrstopped", w_ivrstopped,
               OKT_E_PHONEEVENT_IVRSTOPPED, no_fields, "P §14.2", "P §14.2"),
    CALL_EVENT("flash", w_flash,
               OKT_E_FLASHSTATECHANGED, e_flash, "C §6.4", "P §14.2"),
    CALL_EVENT("conference", w_confcomp,
               OKT_E_CONFCOMPOSITIONCHANGED, e_confinfo, "C §6.4", "C §6.4"),
    CALL_EVENT("competitor", w_confcompetitor,
               OKT_E_CONFCOMPETITORSTATECHANGED, e_confinfo, "C §6.4", "C §6.4"),
    CALL_EVENT("numberstate", w_numberstate,
               OKT_E_PBXNUMBERSTATECHANGED, e_numberstate, "R §14.1", "R §14.1"),
    CALL_EVENT("customevent", w_custom,
               OKT_E_CUSTOMEVENT, e_custom, "C §6.4", "C §6.4"),
    /* made by the client: from userstatechanged's oncallcenter, and from
     * the connection's own life */
    {"callcenter", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {"disconnect", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {"reconnect", 0, NULL, NULL, NULL, no_fields, NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL}};

static const char *const g_dynamic[] = {OKT_E_EXECUTEMETHOD,
                                        OKT_E_CANCELMETHOD, NULL};
static const char *const g_waitabort[] = {OKT_E_EXECUTEMETHODWAITABORTED,
                                          NULL};
static const char *const g_chat[] = {
    OKT_E_CHATMESSAGEVIEWED, OKT_E_CHATMESSAGE, OKT_E_CHATMEMBERREMOVED,
    OKT_E_CHATMEMBERADDED, OKT_E_CHATNAMECHANGED, OKT_E_CHATCREATED, NULL};
static const char *const g_dlgcard[] = {
    OKT_E_DLGCARD_SHOWRESERVE, OKT_E_DLGCARD_SHOWCONFIRM,
    OKT_E_DLGCARD_SHOWFORMSTOP, OKT_E_DLGCARD_SHOWFORMDIALOG,
    OKT_E_DLGCARD_CLOSEALL, OKT_E_DLGCARD_CLOSERESERVE,
    OKT_E_DLGCARD_CLOSEFORMRETURNVALUES, OKT_E_DLGCARD_CLOSEFORMRETURNCOMMENT,
    NULL};

static const okt_event_group groups[] = {
    {OKT_G_DYNAMIC, g_dynamic},
    {OKT_G_DYNAMICWAITABORT, g_waitabort},
    {OKT_G_CHAT, g_chat},
    {OKT_G_DLGCARD, g_dlgcard},
    {NULL, NULL}};

/* ---- shapes: objects inside replies and events ------------------------ */

/* The abonent (party) of getextendedlineinfo, its `flashed`, and
 * getflashedabonentinfo's abonent (§6.1, §6.3); `name` is one of the names
 * oktell.js reads (§6.3); conferenceid names the conference the line is
 * in. */
static const okt_field s_abonent[] = {
    {OKT_F_NUMBER, NULL, S, 0, "C §6.1"},
    {OKT_F_CALLERID, NULL, S, 0, "C §6.3"},
    {OKT_F_NAME, NULL, S, 0, "C §6.3"},
    {OKT_F_ISEXTLINE, NULL, B, 0, "C §6.3"},
    {OKT_F_USERID, NULL, S, 0, "C §6.3"},
    {OKT_F_USERNAME, NULL, S, 0, "C §6.3"},
    {OKT_F_USERLOGIN, NULL, S, 0, "C §6.3"},
    {OKT_F_CHAINID, NULL, S, 0, "C §6.3"},
    {OKT_F_ISRINGING, NULL, B, 0, "C §6.1"},
    {OKT_F_DIRECTION, NULL, S, 0, "C §6.1"},
    {OKT_F_ISAUTOCALL, NULL, B, 0, "C §6.1"},
    {OKT_F_ISCOMMUTATED, NULL, B, 0, "C §6.1"},
    {OKT_F_ISWAITINGINFLASH, NULL, B, 0, "C §6.1"},
    {OKT_F_ISCONFERENCE, NULL, B, 0, "C §6.1"},
    {OKT_F_CONFERENCEID, NULL, S, 0, "C §6.1"},
    {OKT_F_ISIVR, NULL, B, 0, "C §6.1"},
    {OKT_F_IVRNAME, NULL, S, 0, "C §6.3"},
    {OKT_F_ISWAITINGFORANSWER, NULL, B, 0, "C §6.1"},
    END};
/* getcurrentqueue items: abonents (§6.3) with the wait; waitsec is ours */
static const okt_field s_queueitem[] = {
    {OKT_F_NUMBER, NULL, S, 0, "C §6.3"},
    {OKT_F_CHAINID, NULL, S, 0, "C §6.3"},
    {OKT_F_ISEXTLINE, NULL, B, 0, "C §6.3"},
    {OKT_F_USERID, NULL, S, 0, "C §6.3"},
    {OKT_F_NAME, NULL, S, 0, "C §6.3"},
    {OKT_F_WAITSEC, NULL, I, 0, NULL},
    END};
/* getpbxnumbers items, as a real server's (§14.1) */
static const okt_field s_pbxnumber[] = {
    {OKT_F_ID, NULL, S, 0, "R §14.1"},
    {OKT_F_NUMBER, NULL, S, 0, "R §14.1"},
    {OKT_F_CAPTION, NULL, S, 0, "R §14.1"},
    {OKT_F_STATE, NULL, I, 0, "R §14.1"},
    {OKT_F_STATESTR, NULL, S, 0, "R §14.1"},
    {OKT_F_TYPE, NULL, I, 0, "R §14.1"},
    {OKT_F_TYPESTR, NULL, S, 0, "R §14.1"},
    {OKT_F_ISGROUP, NULL, B, 0, "R §14.1"},
    {OKT_F_DEPARTMENTID, NULL, S, 0, "R §14.1"},
    {OKT_F_DEPARTMENT, NULL, S, 0, "R §14.1"},
    END};
/* getallusernumbers items (§4) */
static const okt_field s_user[] = {
    {OKT_F_ID, NULL, S, 0, "C §4"},
    {OKT_F_NAME, NULL, S, 0, "C §4"},
    {OKT_F_MAIN, NULL, S, 0, "C §4"},
    {OKT_F_NUMS, NULL, A, 0, "C §4"},
    {OKT_F_SUB, NULL, B, 0, "C §4"},
    END};
/* cc_getlunchtypes items: id is required (§4); name is inferred */
static const okt_field s_lunchtype[] = {
    {OKT_F_ID, NULL, I, REQ, "C §4"},
    {OKT_F_NAME, NULL, S, 0, NULL},
    END};
/* pbxnumberstatechanged items (§6.4, §14.1) */
static const okt_field s_numberstate[] = {
    {OKT_F_NUM, NULL, S, REQ, "R §14.1"},
    {OKT_F_NUMSTATEID, NULL, I, REQ, "R §14.1"},
    END};
/* A conference competitor (§6.3); userid, username, userlogin for users */
static const okt_field s_competitor[] = {
    {OKT_F_COMPETITORID, NULL, S, 0, "C §6.3"},
    {OKT_F_USERID, NULL, S, 0, "C §6.3"},
    {OKT_F_USERNAME, NULL, S, 0, "C §6.3"},
    {OKT_F_USERLOGIN, NULL, S, 0, "C §6.3"},
    {OKT_F_NUMBER, NULL, S, 0, "C §6.3"},
    {OKT_F_ISEXTLINE, NULL, B, 0, "C §6.3"},
    {OKT_F_ISCREATOR, NULL, B, 0, "C §6.3"},
    {OKT_F_ISDIRECTOR, NULL, B, 0, "C §6.3"},
    {OKT_F_ISGHOST, NULL, B, 0, "C §6.3"},
    {OKT_F_ISGHOSTMAJOR, NULL, B, 0, "C §6.3"},
    {OKT_F_ISHIDDEN, NULL, B, 0, "C §6.3"},
    {OKT_F_CONFSTATESTR, NULL, S, 0, "C §6.4"},
    END};
/* getconferencecompetitors' competitorlist items (§10) */
static const okt_field s_competitorref[] = {
    {OKT_F_NUMBER, NULL, S, 0, "C §10"},
    {OKT_F_USERID, NULL, S, 0, "C §10"},
    {OKT_F_COMPETITORID, NULL, S, 0, "C §10"},
    END};
/* createnewconference's conference (§10), getconferenceinfo's conference
 * (oktell.js reads isghost) */
static const okt_field s_conference[] = {
    {OKT_F_ID, NULL, S, 0, "C §10"},
    {OKT_F_ROOM, NULL, I, 0, "C §10"},
    {OKT_F_NAME, NULL, S, 0, "C §10"},
    {OKT_F_DESCRIPTION, NULL, S, 0, "C §10"},
    {OKT_F_ACCESSMODE, NULL, S, 0, "C §10"},
    {OKT_F_ISSELECTOR, NULL, B, 0, "C §10"},
    {OKT_F_RECORD, NULL, B, 0, "C §10"},
    {OKT_F_RECORDRIGHTS, NULL, S, 0, "C §10"},
    {OKT_F_EVERYONECANINVITE, NULL, B, 0, "C §10"},
    {OKT_F_CANVIEWEACHOTHER, NULL, B, 0, "C §10"},
    {OKT_F_ISGHOST, NULL, B, 0, "C §10"},
    END};
/* A competitor asked for in createnewconference / invitetoconference:
 * one of userlogin (the creator), userid, number, intnumber (§10) */
static const okt_field s_invitee[] = {
    {OKT_F_USERLOGIN, NULL, S, 0, "C §10"},
    {OKT_F_USERID, NULL, S, 0, "C §10"},
    {OKT_F_NUMBER, NULL, S, 0, "C §10"},
    {OKT_F_INTNUMBER, NULL, S, 0, "C §10"},
    END};
/* eventinfo of confcompositionchanged (§6.4) */
static const okt_field s_composition[] = {
    {OKT_F_CONFERENCEID, NULL, S, REQ, "C §6.4"},
    {OKT_F_COMPETITORLIST, NULL, A, REQ, "C §6.4"},
    END};
/* eventinfo of confcompetitorstatechanged (§6.4): conference {id} */
static const okt_field s_competitorstate[] = {
    {OKT_F_CONFERENCE, NULL, O, REQ, "C §6.4"},
    {OKT_F_COMPETITOR, NULL, O, REQ, "C §6.4"},
    END};

static const okt_shape shapes[] = {
    {"abonent", "getextendedlineinforesult.abonent, .flashed; "
                "getflashedabonentinforesult.abonent",
     s_abonent, "C §6.1, §6.3"},
    {"queueitem", "getcurrentqueueresult.queue[]", s_queueitem, "C §6.3"},
    {"pbxnumber", "getpbxnumbersresult.numbers[]", s_pbxnumber, "R §14.1"},
    {"user", "getallusernumbersresult.users[]", s_user, "C §4"},
    {"lunchtype", "cc_getlunchtypesresult.items[]", s_lunchtype, "C §4"},
    {"numberstate", "pbxnumberstatechanged.numbers[]", s_numberstate,
     "R §14.1"},
    {"competitor", "getconferenceinforesult.competitors[]; "
                   "confcompositionchanged.eventinfo.competitorlist[]; "
                   "confcompetitorstatechanged.eventinfo.competitor",
     s_competitor, "C §6.3"},
    {"competitorref", "getconferencecompetitorsresult.competitorlist[]",
     s_competitorref, "C §10"},
    {"conference", "createnewconference.conference; "
                   "getconferenceinforesult.conference",
     s_conference, "C §10"},
    {"invitee", "createnewconference.competitors[]; "
                "invitetoconference.competitors[]",
     s_invitee, "C §10"},
    {"composition", "confcompositionchanged.eventinfo", s_composition,
     "C §6.4"},
    {"competitorstate", "confcompetitorstatechanged.eventinfo",
     s_competitorstate, "C §6.4"},
    {NULL, NULL, NULL, NULL}};

/* ---- server error values (§8.1) ---------------------------------------- */

static const okt_server_error server_errors[] = {
    {OKT_W_LOGIN, OKT_SE_ALREADY_REGISTERED, NULL, OKT_ESERVER,
     "user already registered (a desktop client is logged in)", "C §8.1"},
    {OKT_W_LOGIN, OKT_SE_LICENCE_LIMIT, NULL, OKT_ELICENSE,
     "concurrent-user licence limit reached", "C §8.1"},
    {OKT_W_LOGIN, 0, OKT_SE_WRONG_LOGIN, OKT_EAUTH,
     "bad credentials", "C §8.1"},
    {OKT_W_LOGIN, 0, OKT_SE_NOT_STARTED, OKT_EREFUSED,
     "the Oktell service is not fully started", "C §8.1"},
    {OKT_W_LOGIN, 0, OKT_SE_NO_SESSION, OKT_EAUTH,
     "unknown sessionid", "C §8.1"},
    {OKT_W_LOGIN, 0, OKT_SE_SESSION_USER, OKT_EAUTH,
     "the sessionid belongs to another user", "C §8.1"},
    {OKT_W_ATTACHASGHOST, OKT_SE_GHOST_RIGHTS, NULL, OKT_ERIGHTS,
     "no rights to ghost this user", "C §8.1"},
    /* the same value from the requests a right governs (API-calls §6.0,
     * EMULATOR-calls §5); it means nothing for login */
    {OKT_W_PBXAUTOCALLSTART, OKT_SE_RIGHTS, NULL, OKT_ERIGHTS,
     "no right to use click-to-call (canuseacm)", "C §8.1"},
    {OKT_W_PBXAUTOCALLABORT, OKT_SE_RIGHTS, NULL, OKT_ERIGHTS,
     "no right to use click-to-call (canuseacm)", "C §8.1"},
    {OKT_W_TRIGGERCUSTOMEVENT, OKT_SE_RIGHTS, NULL, OKT_ERIGHTS,
     "no right to send messages (canusemessagingout)", "C §8.1"},
    {OKT_W_INVITETOCONFERENCE, OKT_SE_RIGHTS, NULL, OKT_ERIGHTS,
     "only the creator or a director may invite", "C §8.1"},
    {OKT_W_CONFDISCONNECTCOMPETITOR, OKT_SE_RIGHTS, NULL, OKT_ERIGHTS,
     "only the creator or a director may disconnect", "C §8.1"},
    {OKT_W_CHANGEPASSWORD, 0, OKT_SE_OLD_PASSWORD, OKT_EAUTH,
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
COUNTED(okt_proto_shapes, okt_shape, shapes, name)

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

const okt_wire_method *okt_proto_wire_by_id(int id)
{
    for (const okt_wire_method *w = wire_methods; w->request; w++)
        if (w->id == id)
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

const okt_shape *okt_proto_shape(const char *name)
{
    if (!name)
        return NULL;
    for (const okt_shape *s = shapes; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
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
