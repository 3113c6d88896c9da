/* protocol.h - the protocol table: every wire fact of Oktell's WebSocket API
 * that oktell-lua uses, written down once (data, not code).
 *
 * Read by the client session (subscriptions, login errors, secret fields),
 * the emulator (request dispatch, reply names and field types, event names),
 * the XML codec (task event ids and names) and, through the binding's
 * core.protocol(), the Lua client, whose methods, option checks, argument
 * checks and reply checks are generated from it.
 *
 * Sources (`source` strings) use the marks of the protocol fact sheet
 * (oktell-websocket-protocol.md): "R" a frame of a real server (§14.1),
 * "P" third-party code talking to a real server (§14.2), "C" oktell.js
 * code, "W" the vendor wiki. NULL means "our extension": a name no source
 * shows, which the emulator announces in its getversion reply (field
 * OKT_PROTO_EXT_FIELD) and the client sends only to a server that
 * announced it, or where the user mapped it with the `wire` option.
 *
 * Everything here is static and constant; nothing allocates. */
#ifndef OKT_PROTOCOL_H
#define OKT_PROTOCOL_H

#include <stddef.h>
#include "okt.h"
#include "states.h"

/* ---- wire names ----------------------------------------------------------
 * Every name that goes on the wire is spelled here once; the table
 * (protocol.c), the session, the codec and the emulator use these macros.
 *   OKT_W_*   request names            OKT_R_*  reply names that break the
 *   OKT_E_*   event names                       <method>result rule
 *   OKT_G_*   subscription groups      OKT_F_*  JSON keys (fields)
 *   OKT_MSG_* other message names      OKT_SE_* server error values
 *   OKT_EID_* the reference's event ids
 *   OKT_UT_*  the reference's user type
 * and enum okt_method_id (OKT_M_*) numbers the table's wire methods. Names
 * are lowercase on the wire except OKT_F_PASSWORD_CS.
 * tools/protocol_literals.sh fails `make test` when a request, reply or
 * event name is spelled elsewhere in src/ or lua/. */

/* Requests of the table's wire methods. */
#define OKT_W_PING "ping"
#define OKT_W_LOGIN "login"
#define OKT_W_LOGOUT "logout"
#define OKT_W_SUBSCRIBEEVENT "subscribeevent"
#define OKT_W_GETVERSION "getversion"
#define OKT_W_GETMYUSERINFO "getmyuserinfo"
#define OKT_W_GETCURRENTUSERFULLINFO "getcurrentuserfullinfo"
#define OKT_W_GETUSERSTATE "getuserstate"
#define OKT_W_SETUSERSTATE "setuserstate"
#define OKT_W_ENTERCALLCENTER "entercallcenter"
#define OKT_W_EXITCALLCENTER "exitcallcenter"
#define OKT_W_GETEXTENDEDLINEINFO "getextendedlineinfo"
#define OKT_W_CC_SETBUSYINEXTERNALTASK "cc_setbusyinexternaltask"
#define OKT_W_CC_SETFREEINEXTERNALTASK "cc_setfreeinexternaltask"
#define OKT_W_CC_CHECKBUSYINEXTERNALTASK "cc_checkbusyinexternaltask"
#define OKT_W_TM_SETTASKACTIVE "tm_settaskactive"
#define OKT_W_TM_SETCONFIRMUSAGE "tm_setconfirmusage"
#define OKT_W_TM_SETCONFIRMRESULT "tm_setconfirmresult"
#define OKT_W_GETCURRENTQUEUE "getcurrentqueue"
#define OKT_W_CC_GETLUNCHTYPES "cc_getlunchtypes"
#define OKT_W_GETREDIRECTRULES "getredirectrules"
#define OKT_W_GETPBXNUMBERS "getpbxnumbers"
#define OKT_W_GETALLUSERNUMBERS "getallusernumbers"
#define OKT_W_GETALLUSERPHOTOLINK "getalluserphotolink"
/* Calls, conferences, custom events and stored procedures (§10), served by
 * the emulator's call model (docs/EMULATOR.md). */
#define OKT_W_PBXAUTOCALLSTART "pbxautocallstart"
#define OKT_W_PBXAUTOCALLABORT "pbxautocallabort"
#define OKT_W_PBXABORTCALL "pbxabortcall"
#define OKT_W_PBXDECLINECALL "pbxdeclinecall"
#define OKT_W_PBXANSWERCALL "pbxanswercall"
#define OKT_W_PBXMAKEFLASH "pbxmakeflash"
#define OKT_W_PBXMAKETRANSFER "pbxmaketransfer"
#define OKT_W_GETFLASHEDABONENTINFO "getflashedabonentinfo"
#define OKT_W_BUILDCONFERENCEFROMCOMMUTATION "buildconferencefromcommutation"
#define OKT_W_CREATENEWCONFERENCE "createnewconference"
#define OKT_W_INVITETOCONFERENCE "invitetoconference"
#define OKT_W_CHECKCANCONNECTTOGATHERTOCONFERENCE \
    "checkcanconnecttogathertoconference"
#define OKT_W_CONNECTTOGATHERTOCONFERENCE "connecttogathertoconference"
#define OKT_W_CONFHANDLEEVENT "confhandleevent"
#define OKT_W_GETCONFERENCEINFO "getconferenceinfo"
#define OKT_W_GETCONFERENCECOMPETITORS "getconferencecompetitors"
#define OKT_W_CONFDISCONNECTCOMPETITOR "confdisconnectcompetitor"
#define OKT_W_EXITCONFERENCE "exitconference"
#define OKT_W_TRIGGERCUSTOMEVENT "triggercustomevent"
#define OKT_W_EXECPREDEFINEDDBSTOREDPROC "execpredefineddbstoredproc"
/* Requests known only by the error values of their replies (§8.1): no
 * wire method row. */
#define OKT_W_ATTACHASGHOST "attachasghost"
#define OKT_W_CHANGEPASSWORD "changepassword"

/* Replies: <method>result (§14.1), built by OKT_R(OKT_W_…); only ping's
 * is another word (§14.2). */
#define OKT_REPLY_SUFFIX "result"
#define OKT_R(request) request OKT_REPLY_SUFFIX
#define OKT_R_PING "pong"

/* Messages that are neither a request, a reply nor an event. */
#define OKT_MSG_MULTIPART "multipart"                 /* §2.6, §14.3 */
#define OKT_MSG_WEBSOCKETREDIRECT "websocketredirect" /* §1.3, handshake */
#define OKT_MSG_ERROR "error"   /* the emulator's answer to a frame that
                                   is not [name, object]: ours */

/* Events. */
#define OKT_E_USERSTATECHANGED "userstatechanged"
#define OKT_E_LINESTATECHANGED "linestatechanged"
#define OKT_E_DLGCARD_SHOWRESERVE "dlgcard_showreserve"
#define OKT_E_DLGCARD_SHOWCONFIRM "dlgcard_showconfirm"
#define OKT_E_DLGCARD_SHOWFORMSTOP "dlgcard_showformstop"
#define OKT_E_DLGCARD_SHOWFORMDIALOG "dlgcard_showformdialog"
#define OKT_E_DLGCARD_CLOSEALL "dlgcard_closeall"
#define OKT_E_DLGCARD_CLOSERESERVE "dlgcard_closereserve"
#define OKT_E_DLGCARD_CLOSEFORMRETURNVALUES "dlgcard_closeformreturnvalues"
#define OKT_E_DLGCARD_CLOSEFORMRETURNCOMMENT "dlgcard_closeformreturncomment"
#define OKT_E_EXECUTEMETHOD "executemethod"
#define OKT_E_CANCELMETHOD "cancelmethod"
#define OKT_E_EXECUTEMETHODWAITABORTED "executemethodwaitaborted"
#define OKT_E_CHATMESSAGEVIEWED "chatmessageviewed"
#define OKT_E_CHATMESSAGE "chatmessage"
#define OKT_E_CHATMEMBERREMOVED "chatmemberremoved"
#define OKT_E_CHATMEMBERADDED "chatmemberadded"
#define OKT_E_CHATNAMECHANGED "chatnamechanged"
#define OKT_E_CHATCREATED "chatcreated"
/* Calls (§6.4; phoneevent_ivrstopped only in the capture's relay, §14.2). */
#define OKT_E_PHONEEVENT_RINGSTARTED "phoneevent_ringstarted"
#define OKT_E_PHONEEVENT_RINGSTOPPED "phoneevent_ringstopped"
#define OKT_E_PHONEEVENT_COMMSTARTED "phoneevent_commstarted"
#define OKT_E_PHONEEVENT_COMMSTOPPED "phoneevent_commstopped"
#define OKT_E_PHONEEVENT_IVRSTARTED "phoneevent_ivrstarted"
#define OKT_E_PHONEEVENT_IVRSTOPPED "phoneevent_ivrstopped"
#define OKT_E_PHONEEVENT_ACMCALLSTARTED "phoneevent_acmcallstarted"
#define OKT_E_PHONEEVENT_ACMCALLSTOPPED "phoneevent_acmcallstopped"
#define OKT_E_FLASHSTATECHANGED "flashstatechanged"
#define OKT_E_CONFCOMPOSITIONCHANGED "confcompositionchanged"
#define OKT_E_CONFCOMPETITORSTATECHANGED "confcompetitorstatechanged"
#define OKT_E_PBXNUMBERSTATECHANGED "pbxnumberstatechanged"
#define OKT_E_CUSTOMEVENT "customevent"

/* Subscription groups (§2.5). */
#define OKT_G_DYNAMIC "dynamic"
#define OKT_G_DYNAMICWAITABORT "dynamicwaitabort"
#define OKT_G_CHAT "chat"
#define OKT_G_DLGCARD "dlgcard"

/* The reference's ids of the task prompts (TMInterface*). */
#define OKT_EID_TMCONFIRM 121
#define OKT_EID_TMRESERVE 122
#define OKT_EID_TMCLOSE 123

/* The reference's user type (userinfo type / type_name). */
#define OKT_UT_USER 1
#define OKT_UT_USER_NAME "utUser"

/* Fields of the envelope (§2): every message, and multipart (§2.6). */
#define OKT_F_QID "qid"
#define OKT_F_RESULT "result"
#define OKT_F_ERROR "error"
#define OKT_F_ERRORMSG "errormsg"
#define OKT_F_USERLOGIN "userlogin"
#define OKT_F_USERID "userid"
#define OKT_F_MESSAGE_ID "message-id"
#define OKT_F_PACKETCOUNT "packetcount"
#define OKT_F_PACKETNUMBER "packetnumber"
#define OKT_F_CONTENT "content"
/* login (§3) */
#define OKT_F_PASSWORD_CS "Password"   /* md5hex of the password as typed */
#define OKT_F_PASSWORD_CI "password"   /* md5hex of it lowercased */
#define OKT_F_SESSIONID "sessionid"
#define OKT_F_SHOWID "showid"
#define OKT_F_USEWEBRTC "usewebrtc"
#define OKT_F_WORKPLACE "workplace"
#define OKT_F_EXPIRES "expires"
#define OKT_F_SIPUSER "sipuser"
#define OKT_F_SIPPASS "sippass"
#define OKT_F_SIPPORT "sipport"
#define OKT_F_SIPSECURE "sipsecure"
/* subscribeevent */
#define OKT_F_EVENTMETHOD "eventmethod"
/* getversion, and its version object */
#define OKT_F_SHOWALLOWEDDBSTOREDPROCS "showalloweddbstoredprocs"
#define OKT_F_VERSION "version"
#define OKT_F_ALLOWEDDBSTOREDPROCS "alloweddbstoredprocs"
#define OKT_F_DATED "dated"
#define OKT_F_BUILD "build"
#define OKT_F_WEBSERVERPORT "webserverport"
/* getmyuserinfo */
#define OKT_F_USERNAME "username"
#define OKT_F_ISOPERATOR "isoperator"
#define OKT_F_MAINPBXNUMBER "mainpbxnumber"
#define OKT_F_HASLINE "hasline"
#define OKT_F_LINEID "lineid"
#define OKT_F_LINENUMBER "linenumber"
/* getcurrentuserfullinfo; id and name also name list items */
#define OKT_F_ID "id"
#define OKT_F_TYPE "type"
#define OKT_F_TYPE_NAME "type_name"
#define OKT_F_NAME "name"
#define OKT_F_GROUP "group"
#define OKT_F_LOGIN "login"
#define OKT_F_ROLE "role"
#define OKT_F_CALLERID "callerid"
#define OKT_F_INFO "info"
#define OKT_F_RIGHTS "rights"
#define OKT_F_RIGHT_TITLES "right_titles"
/* user state (getuserstate, setuserstate, userstatechanged) */
#define OKT_F_USERSTATEID "userstateid"
#define OKT_F_USERSTATE "userstate"
#define OKT_F_USERSTATESTR "userstatestr"
#define OKT_F_ONCALLCENTER "oncallcenter"
#define OKT_F_ONLUNCH "onlunch"
#define OKT_F_ONREDIRECT "onredirect"
#define OKT_F_ONCCMANUAL "onccmanual"
#define OKT_F_ONTASK "ontask"
#define OKT_F_LUNCHREASONID "lunchreasonid"
#define OKT_F_LUNCHREASONMSG "lunchreasonmsg"
/* line state (getextendedlineinfo, linestatechanged), and its abonent */
#define OKT_F_LINESTATESTR "linestatestr"
#define OKT_F_ABONENT "abonent"
#define OKT_F_CHAINID "chainid"
#define OKT_F_CALLEDID "calledid"
#define OKT_F_ISFLASHING "isflashing"
#define OKT_F_FLASHED "flashed"
#define OKT_F_TIMERTALKLENSEC "timertalklensec"
#define OKT_F_NUMBER "number"
#define OKT_F_ISRINGING "isringing"
#define OKT_F_ISCOMMUTATED "iscommutated"
/* external tasks and the task manager */
#define OKT_F_SUCCESS "success"
#define OKT_F_TASKTYPE "tasktype"
#define OKT_F_IDTASK "idtask"
#define OKT_F_ACTIVE "active"
#define OKT_F_USE "use"
#define OKT_F_CONFIRMRESULT "confirmresult"
/* dlgcard_* payloads (ours, §7) */
#define OKT_F_IDPROJECT "idproject"
#define OKT_F_TASKNAME "taskname"
#define OKT_F_TASKCODE "taskcode"
#define OKT_F_IDLIST "idlist"
#define OKT_F_IDINLIST "idinlist"
#define OKT_F_TEXTB64 "textb64"
/* the rest of oktell.js's login sequence (§4), and their list items */
#define OKT_F_MODE "mode"
#define OKT_F_FILLSUBORDINATES "fillsubordinates"
#define OKT_F_QUEUE "queue"
#define OKT_F_ITEMS "items"
#define OKT_F_REDIRECTRULES "redirectrules"
#define OKT_F_DESTINATIONNUMBER "destinationnumber"
#define OKT_F_ISENABLED "isenabled"
#define OKT_F_NUMBERS "numbers"
#define OKT_F_CAPTION "caption"
#define OKT_F_STATE "state"
#define OKT_F_STATESTR "statestr"
#define OKT_F_USERS "users"
#define OKT_F_MAIN "main"
#define OKT_F_NUMS "nums"
#define OKT_F_SUB "sub"
#define OKT_F_LINKS "links"
/* pbx numbers (§14.1) and users' list items (§4) beyond those above */
#define OKT_F_TYPESTR "typestr"
#define OKT_F_ISGROUP "isgroup"
#define OKT_F_DEPARTMENTID "departmentid"
#define OKT_F_DEPARTMENT "department"
/* call control (§10) */
#define OKT_F_SEQUENCE "sequence"
#define OKT_F_INTERCOM "intercom"
#define OKT_F_TRANSFERTO "transferto"
#define OKT_F_CONTAINSFLASHED "containsflashed"
/* the abonent object (§6.1, §6.3) and queue items (§10) */
#define OKT_F_ISEXTLINE "isextline"
#define OKT_F_DIRECTION "direction"
#define OKT_F_ISAUTOCALL "isautocall"
#define OKT_F_ISWAITINGINFLASH "iswaitinginflash"
#define OKT_F_ISCONFERENCE "isconference"
#define OKT_F_CONFERENCEID "conferenceid"
#define OKT_F_ISIVR "isivr"
#define OKT_F_IVRNAME "ivrname"
#define OKT_F_ISWAITINGFORANSWER "iswaitingforanswer"
#define OKT_F_WAITSEC "waitsec"
/* conferences (§6.3, §10) */
#define OKT_F_CONFERENCE "conference"
#define OKT_F_COMPETITORS "competitors"
#define OKT_F_COMPETITOR "competitor"
#define OKT_F_COMPETITORLIST "competitorlist"
#define OKT_F_COMPETITORID "competitorid"
#define OKT_F_INTNUMBER "intnumber"
#define OKT_F_ISCREATOR "iscreator"
#define OKT_F_ISDIRECTOR "isdirector"
#define OKT_F_ISGHOST "isghost"
#define OKT_F_ISGHOSTMAJOR "isghostmajor"
#define OKT_F_ISHIDDEN "ishidden"
#define OKT_F_CONFSTATESTR "confstatestr"
#define OKT_F_ROOM "room"
#define OKT_F_DESCRIPTION "description"
#define OKT_F_ACCESSMODE "accessmode"
#define OKT_F_ISSELECTOR "isselector"
#define OKT_F_RECORD "record"
#define OKT_F_RECORDRIGHTS "recordrights"
#define OKT_F_EVERYONECANINVITE "everyonecaninvite"
#define OKT_F_CANVIEWEACHOTHER "canvieweachother"
#define OKT_F_CANCONNECTTOGATHER "canconnecttogather"
#define OKT_F_EVENTTYPE "eventtype"
#define OKT_F_HANDLE "handle"
#define OKT_F_EVENTINFO "eventinfo"
/* phone events and flashstatechanged (§6.4, §14.2) */
#define OKT_F_CONFID "confid"
#define OKT_F_ISROUTINGIVR "isroutingivr"
#define OKT_F_FLASHTYPEID "flashtypeid"
/* pbxnumberstatechanged items (§6.4, §14.1) */
#define OKT_F_NUM "num"
#define OKT_F_NUMSTATEID "numstateid"
/* custom events (§10) */
#define OKT_F_EVENTNAME "eventname"
#define OKT_F_EVENTPARAM "eventparam"
#define OKT_F_RECIPIENTS "recipients"
#define OKT_F_SENDBACK "sendback"
/* stored procedures (§8.1, §10) */
#define OKT_F_PROCEDURE "procedure"
#define OKT_F_INPUTPARAMS "inputparams"
#define OKT_F_ERRORCODE "errorcode"
#define OKT_F_DATASET "dataset"

/* Values of wire fields (not names). */
#define OKT_V_SEQ_USER "user"              /* pbxautocallstart sequence (§10) */
#define OKT_V_SEQ_ABONENT "abonent"
#define OKT_V_FLASH_SWITCH "switch"        /* pbxmakeflash mode (§10) */
#define OKT_V_FLASH_ABORT "abort"
#define OKT_V_FLASH_NEXT "next"
#define OKT_V_ACM_CALLBACK "acm_callback"  /* abonent direction (§6.1) */
#define OKT_V_EVENTTYPE_COMPETITORS "competitors" /* confhandleevent (§10) */
#define OKT_V_TYPESTR_RULE "intRule"       /* pbx number types (§14.1) */
#define OKT_V_TYPESTR_IVR "intIVR"
#define OKT_V_TYPE_RULE 0
#define OKT_V_TYPE_IVR 3
/* competitor states (confstatestr, §6.4); Active is ours */
#define OKT_V_CS_INVITE "Invite"
#define OKT_V_CS_ACTIVE "Active"
#define OKT_V_CS_BUSY "MisInviteBusy"
#define OKT_V_CS_NOTRESPOND "MisInviteNotRespond"
#define OKT_V_CS_REFUSE "MisInviteRefuse"
#define OKT_V_CS_ABORT "MisInviteAbort"
#define OKT_V_CS_EXITED "Exited"

/* The getversion reply field in which the emulator lists the extension
 * requests it serves (an array of request names). Our extension. */
#define OKT_PROTO_EXT_FIELD "extensions"

/* Server error values (§8.1): numbers in `error`, texts in `errormsg`. */
#define OKT_SE_ALREADY_REGISTERED 50093
#define OKT_SE_LICENCE_LIMIT 50025
#define OKT_SE_GHOST_RIGHTS 52710
/* The one server value for a missing right (attachasghost's, §8.1); the
 * emulator answers every request a right forbids with it. */
#define OKT_SE_RIGHTS OKT_SE_GHOST_RIGHTS
#define OKT_SE_WRONG_LOGIN "Wrong login/pass combination"
#define OKT_SE_NOT_STARTED "Service not available"
#define OKT_SE_NO_SESSION "Bad request. Session does not exist"
#define OKT_SE_SESSION_USER "Bad request. Invalid session user"
#define OKT_SE_OLD_PASSWORD "old password is wrong"

/* The emulator's own login refusal (our extension: no source shows one):
 * too many failed logins of that user or from that address. */
#define OKT_EMU_E_THROTTLED "Too many failed logins"

/* The table's wire methods, one id each (okt_wire_method.id). */
enum okt_method_id {
    OKT_M_PING,
    OKT_M_LOGIN,
    OKT_M_LOGOUT,
    OKT_M_SUBSCRIBEEVENT,
    OKT_M_GETVERSION,
    OKT_M_GETMYUSERINFO,
    OKT_M_GETCURRENTUSERFULLINFO,
    OKT_M_GETUSERSTATE,
    OKT_M_SETUSERSTATE,
    OKT_M_ENTERCALLCENTER,
    OKT_M_EXITCALLCENTER,
    OKT_M_GETEXTENDEDLINEINFO,
    OKT_M_CC_SETBUSYINEXTERNALTASK,
    OKT_M_CC_SETFREEINEXTERNALTASK,
    OKT_M_CC_CHECKBUSYINEXTERNALTASK,
    OKT_M_TM_SETTASKACTIVE,
    OKT_M_TM_SETCONFIRMUSAGE,
    OKT_M_TM_SETCONFIRMRESULT,
    OKT_M_GETCURRENTQUEUE,
    OKT_M_CC_GETLUNCHTYPES,
    OKT_M_GETREDIRECTRULES,
    OKT_M_GETPBXNUMBERS,
    OKT_M_GETALLUSERNUMBERS,
    OKT_M_GETALLUSERPHOTOLINK,
    OKT_M_PBXAUTOCALLSTART,
    OKT_M_PBXAUTOCALLABORT,
    OKT_M_PBXABORTCALL,
    OKT_M_PBXDECLINECALL,
    OKT_M_PBXANSWERCALL,
    OKT_M_PBXMAKEFLASH,
    OKT_M_PBXMAKETRANSFER,
    OKT_M_GETFLASHEDABONENTINFO,
    OKT_M_BUILDCONFERENCEFROMCOMMUTATION,
    OKT_M_CREATENEWCONFERENCE,
    OKT_M_INVITETOCONFERENCE,
    OKT_M_CHECKCANCONNECTTOGATHERTOCONFERENCE,
    OKT_M_CONNECTTOGATHERTOCONFERENCE,
    OKT_M_CONFHANDLEEVENT,
    OKT_M_GETCONFERENCEINFO,
    OKT_M_GETCONFERENCECOMPETITORS,
    OKT_M_CONFDISCONNECTCOMPETITOR,
    OKT_M_EXITCONFERENCE,
    OKT_M_TRIGGERCUSTOMEVENT,
    OKT_M_EXECPREDEFINEDDBSTOREDPROC,
    OKT_M_COUNT
};

/* JSON types of a wire field, with the leniency real servers need (§14.1:
 * codes come as strings or numbers, even within one reply). */
enum okt_ptype {
    OKT_PT_STRING = 1,  /* JSON string (a number is refused) */
    OKT_PT_INT,         /* integer, or a string of decimal digits */
    OKT_PT_BOOL,        /* true / false, or the numbers 0 / 1 */
    OKT_PT_USERSTATE,   /* an EUserState code: OKT_PT_INT that must be known */
    OKT_PT_LINESTATE,   /* an ELineState reference name ("lsReady") or code */
    OKT_PT_OBJECT,      /* JSON object */
    OKT_PT_ARRAY,       /* JSON array */
    OKT_PT_STRINGS,     /* array of strings, or one string (tolerated) */
    OKT_PT_ANY
};

/* Field flags. */
#define OKT_PF_REQUIRED 0x01  /* param: must be given; reply: must be present */
#define OKT_PF_SECRET   0x02  /* never logged or traced: replaced by "***" */
#define OKT_PF_CORE     0x04  /* added by the session, not by the caller
                                 (userlogin, qid) */

typedef struct okt_field {
    const char *wire;     /* JSON key */
    const char *lua;      /* key in the Lua table built from it; NULL: not
                             handed to Lua */
    int type;             /* enum okt_ptype */
    int flags;            /* OKT_PF_* */
    const char *source;   /* where this key is on record; NULL: ours */
} okt_field;

/* A wire method: one request name and what answers it. */
typedef struct okt_wire_method {
    int id;                       /* enum okt_method_id */
    const char *request;          /* "getuserstate" */
    const char *reply;            /* the name the emulator answers with:
                                     "getuserstateresult" */
    const char *source;           /* where the request is on record; NULL: ours */
    const char *reply_source;     /* where the reply name is on record; NULL:
                                     by the <method>result rule (§14.1) */
    int bare;                     /* sent without userlogin (ping,
                                     subscribeevent; fact sheet §2.3) */
    int no_result;                /* a real server leaves `result` out of this
                                     reply (§14.1); the emulator does too */
    const okt_field *params;      /* terminated by {NULL} */
    const okt_field *reply_fields;/* terminated by {NULL} */
} okt_wire_method;

/* How a Lua method's arguments are given. */
enum okt_argform {
    OKT_ARGS_NONE = 0,   /* m() */
    OKT_ARGS_TABLE,      /* m{key = …} */
    OKT_ARGS_ONE         /* m(value): the one argument is args[0] */
};

/* Types of Lua arguments (what a script passes), each mapped to a wire
 * parameter. */
enum okt_atype {
    OKT_AT_STRING = 1,   /* UTF-8 string without NUL or control characters
                            other than tab, CR, LF */
    OKT_AT_ID,           /* non-empty string, as OKT_AT_STRING */
    OKT_AT_BOOL,         /* boolean */
    OKT_AT_BOOL12,       /* boolean (or 1 / 2); on the wire 1 = true, 2 = false
                            (the reference's settaskactive) */
    OKT_AT_USERSTATE,    /* user state name ("lunch", "usLunch") or code */
    OKT_AT_WORD,         /* one of `words` (or, with OKT_AF_INDEX, its index) */
    OKT_AT_INT           /* an integer (a break reason's id) */
};

#define OKT_AF_REQUIRED 0x01
#define OKT_AF_INDEX    0x02  /* OKT_AT_WORD: an integer index is accepted */
#define OKT_AF_ALIAS    0x04  /* another Lua key for the previous argument's
                                 wire parameter (both given must agree) */

typedef struct okt_arg {
    const char *lua;            /* key in the Lua table ("state") */
    const char *wire;           /* wire parameter ("userstateid") */
    int type;                   /* enum okt_atype */
    int flags;                  /* OKT_AF_* */
    const char *const *words;   /* OKT_AT_WORD: NULL-terminated */
    const char *lookup;         /* a request listing named items ({id,
                                   name}); a value that names one of them
                                   is sent as its id in `alt_wire` instead
                                   (a break reason, as oktell.js does); NULL */
    const char *alt_wire;
} okt_arg;

/* What a Lua method returns, built from the reply. */
enum okt_ret {
    OKT_RET_TRUE = 1,    /* true; a refusal is nil, msg, code */
    OKT_RET_TABLE,       /* a table of the reply fields that have a Lua name */
    OKT_RET_LINESTATE,   /* name, code of the reply's line state field */
    OKT_RET_FIELD,       /* the value of the reply field named by `field` */
    OKT_RET_OK_OR_FALSE, /* true; a refusal is false, msg, code */
    OKT_RET_TASKRESULT   /* true, or false, errormsg (field `field` false) */
};

/* A method of the Lua API (API.md §3), as sent on the wire. */
typedef struct okt_api_method {
    const char *lua;        /* "set_user_state" */
    const char *com;        /* the reference's COM name: "SetUserState" */
    const char *wire;       /* okt_wire_method request name */
    const char *fixed;      /* JSON object text merged into the params:
                               "{\"oncallcenter\":true}", or NULL */
    int argform;            /* enum okt_argform */
    const okt_arg *args;    /* terminated by {NULL} */
    int ret;                /* enum okt_ret */
    const char *field;      /* OKT_RET_FIELD / OKT_RET_TASKRESULT */
    int refusal;            /* okt_code of a refusal (result 0) whose error
                               value no table entry knows: OKT_ESERVER, or
                               what this method's refusal means
                               (OKT_ENOTSETTABLE, OKT_ELICENSE) */
    const char *extra;      /* a second wire method whose reply completes
                               the result (user_info: the rights), sent only
                               when available; NULL */
    const char *xml_in;     /* the COM method takes this XML kind (its one
                               argument, decoded to the Lua arguments); NULL */
    const char *xml_out;    /* the COM method returns this XML kind (the
                               Lua result, encoded); NULL: it returns what
                               the Lua method returns */
} okt_api_method;

/* An event of the Lua API (API.md §4) and the wire names that carry it. */
typedef struct okt_event_def {
    const char *lua;              /* "tminterfaceconfirm" */
    int id;                       /* 121, 122, 123; 0 */
    const char *refname;          /* the reference's name: "TMInterfaceConfirm" */
    const char *const *wire;      /* wire event names, NULL-terminated; the
                                     first is what the emulator sends; NULL
                                     for events made by the client
                                     (callcenter, disconnect, reconnect) */
    const char *subscribe;        /* the name given to subscribeevent (an
                                     event or a group, §2.5); NULL */
    const okt_field *fields;      /* payload, terminated by {NULL} */
    const char *source;           /* where the wire name is on record */
    const char *payload_source;   /* where the payload is on record; NULL:
                                     our extension */
} okt_event_def;

/* The shape of an object inside a reply or an event (a list item, the
 * abonent, a competitor): its fields. The table's okt_field lists name the
 * top-level keys; these name what is inside them. */
typedef struct okt_shape {
    const char *name;             /* "abonent" */
    const char *where;            /* where it appears, for the docs:
                                     "getextendedlineinforesult.abonent" */
    const okt_field *fields;      /* terminated by {NULL} */
    const char *source;           /* where the shape is on record */
} okt_shape;

/* A subscription group of §2.5: the server expands it. */
typedef struct okt_event_group {
    const char *name;
    const char *const *members;   /* NULL-terminated */
} okt_event_group;

/* A server error value and the Lua code of API §0 it means. */
typedef struct okt_server_error {
    const char *request;    /* the request it answers, NULL: any */
    long long error;        /* `error` value, 0: match by errormsg */
    const char *errormsg;   /* `errormsg` value, NULL: match by error */
    int code;               /* okt_code */
    const char *meaning;
    const char *source;
} okt_server_error;

/* The table, each NULL-terminated by its first pointer (count optional). */
const okt_wire_method *okt_proto_wire_methods(size_t *count);
const okt_api_method *okt_proto_api_methods(size_t *count);
const okt_event_def *okt_proto_events(size_t *count);
const okt_event_group *okt_proto_event_groups(size_t *count);
const okt_server_error *okt_proto_server_errors(size_t *count);
const okt_shape *okt_proto_shapes(size_t *count);

/* Lookups (ASCII case-insensitive on wire names, exact on Lua names);
 * NULL when unknown. */
const okt_wire_method *okt_proto_wire(const char *request);
const okt_wire_method *okt_proto_wire_by_id(int id);
const okt_api_method *okt_proto_api(const char *lua);
const okt_event_def *okt_proto_event(const char *lua);
const okt_event_def *okt_proto_event_by_wire(const char *wire);
const okt_event_def *okt_proto_event_by_id(int id);
const okt_event_group *okt_proto_group(const char *name);
const okt_shape *okt_proto_shape(const char *name);

/* The Lua code (okt_code) of a failed reply to `request`: a known error
 * value or message, else `fallback`. */
int okt_proto_error_code(const char *request, long long error,
                         const char *errormsg, int fallback);

/* 1 if `key` is a secret field of any request (Password, password,
 * sessionid): traces and logs print "***" instead of its value. */
int okt_proto_secret(const char *key);

/* The confirm answers of TM_SetConfirmResult, in wire order (0 ok, 1 skip,
 * 2 delete), NULL-terminated. */
extern const char *const okt_proto_confirm_words[];
/* The task types of TM_SetTaskActive. */
extern const char *const okt_proto_task_types[];

#endif
