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

/* The getversion reply field in which the emulator lists the extension
 * requests it serves (an array of request names). Our extension. */
#define OKT_PROTO_EXT_FIELD "extensions"

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
    OKT_AT_WORD          /* one of `words` (or, with OKT_AF_INDEX, its index) */
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

/* Lookups (ASCII case-insensitive on wire names, exact on Lua names);
 * NULL when unknown. */
const okt_wire_method *okt_proto_wire(const char *request);
const okt_api_method *okt_proto_api(const char *lua);
const okt_event_def *okt_proto_event(const char *lua);
const okt_event_def *okt_proto_event_by_wire(const char *wire);
const okt_event_def *okt_proto_event_by_id(int id);
const okt_event_group *okt_proto_group(const char *name);

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
