/* model.c - the emulated Oktell server's rules (docs/EMULATOR.md) as a plain
 * state machine. The server thread (server.c) feeds it whole messages and
 * control calls and sends what it outputs; tests drive it directly.
 *
 * The wire shapes come from the protocol table (protocol.h): request and
 * reply names, parameter types, whether a reply carries `result`, and the
 * names of the events it sends; docs/PROTOCOL.md lists them. */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "calls.h"
#include "jsonw.h"
#include "message.h"
#include "b64.h"
#include "okt_limits.h"
#include "protocol.h"
#include "session.h"
#include "states.h"

/* ---- fixed data of the reference ------------------------------------ */

/* Rights of the reference's userinfo sample (role "Администратор"). */
static const char *const default_rights[][2] = {
    {"extwp", "Расширенное рабочее место"},
    {"candeleterecords", "Возможность удалять записи статистики"},
    {"showspecialscripts", "Показывать cистемные сценарии"},
    {"caneditreports", "Возможность редактировать индикаторы call-центра"},
    {"caneditindicators", "Возможность редактировать отчеты статистики сall-центра"},
    {"viewsvctasks", "Доступ к служебным задачам"},
    {"canuseacm", "Доступ к сервису автодозвона"},
    {"canusemessagingout", "Возможность отправки сообщений"},
    {"canusefax", "Доступ к офис-факсу"},
    {"showphoneindialogcards", "Отображать телефон в диалоговых формах"},
    {"viewoffice", "Офис"},
    {"viewofficepersonels", "Сотрудники"},
    {"viewofficestatistics", "Статистика"},
    {"viewofficemycalls", "Мои звонки"},
    {"viewofficeclients", "Клиенты"},
    {"viewofficecabinet", "Кабинет"},
    {"viewofficeredirect", "Переадресация"},
    {"viewcallcenter", "Call-центр"},
    {"viewcallcenteroperators", "Операторы"},
    {"viewcallcenterprojects", "Проекты"},
    {"viewcallcenterlists", "Таблицы абонентов"},
    {"viewcallcenterscripts", "Сценарии"},
    {"viewcallcentertasks", "Задачи"},
    {"viewcallcentercontrolevents", "Контрольные события"},
    {"viewcallcenterresources", "Ресурсы"},
    {"viewcallcenterindicators", "Индикаторы"},
    {"viewcallcenterstat", "Статистика call-центра"},
    {"viewcallcenterreports", "Отчеты"},
    {"viewcallcenterworkplace", "Мое рабочее место"},
    {"viewadmin", "Администрирование"},
    {"viewadminusers", "Пользователи"},
    {"viewadminofficemap", "Карта сети"},
    {"viewadminlines", "Линии"},
    {"viewadminrights", "Права"},
    {"viewadmininnernumbers", "Внутренние номера"},
    {"viewadminclientforms", "Управление клиентами"},
    {"viewadminsettings", "Общие настройки"},
    {"viewadminscripts", "Сценарии"},
    {"viewadminmonitoring", "Мониторинг"},
    {"viewadminmobilemasks", "Мобильные маски"},
    {"viewadminmobilestatistics", "Мобильная статистика"},
    {"viewofficeclientscustomfilter", "Произвольные фильтры"},
    {"viewofficeclientsadd", "Добавление клиентов"},
    {"viewofficeclientsdelete", "Удаление клиентов"},
    {"viewofficeclientsedit", "Редактирование клиентов"},
};
#define NRIGHTS (sizeof default_rights / sizeof default_rights[0])

#define PETER_ID "da803f01-ea77-40fa-bc9d-e2efb36fd5a8"
#define GROUP_ID "c4e3b424-3048-4cce-a2e4-033c532a7d99"
#define GROUP_NAME "Программисты"
#define ROLE_ID "41fbf675-8f73-488e-83ca-c108b915f51d"
#define ROLE_NAME "Администратор"
#define TASK_ID "0f398eb4-5d78-446c-84f4-6892ab72751b"
#define TASK_NAME "Прозвон клиентов"
#define PROJECT_ID "ab37c6e6-e983-458a-8621-5e0921ade3d1"
#define LIST_ID "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410"
#define ZERO_GUID "00000000-0000-0000-0000-000000000000"
#define LOCK_TEXT "Задачу монопольно редактирует "

/* The events model.c sends itself; their wire names are the protocol
 * table's (ev_wire). A session subscribes to table rows: msess.subs has
 * one bit per row (ev_bit), so the call model's events use the same
 * mask; subscriptions to other names are accepted and ignored. */
enum { EV_USERSTATE, EV_LINESTATE, EV_CONFIRM, EV_RESERVE, EV_CLOSE };

/* The table's entry of an event: by wire name for the state events, by
 * the reference's id (121/122/123) for the prompts. */
static const okt_event_def *ev_def(int ev)
{
    switch (ev) {
    case EV_USERSTATE:
        return okt_proto_event_by_wire(OKT_E_USERSTATECHANGED);
    case EV_LINESTATE:
        return okt_proto_event_by_wire(OKT_E_LINESTATECHANGED);
    case EV_CONFIRM:
        return okt_proto_event_by_id(OKT_EID_TMCONFIRM);
    case EV_RESERVE:
        return okt_proto_event_by_id(OKT_EID_TMRESERVE);
    default:
        return okt_proto_event_by_id(OKT_EID_TMCLOSE);
    }
}

/* The name the emulator sends an event under: the first of its wire names
 * (dlgcard_closeall for 123). */
static const char *ev_wire(int ev)
{
    const okt_event_def *d = ev_def(ev);
    return d && d->wire ? d->wire[0] : NULL;
}

/* The subscription bit of a table row: its index (test_protocol checks
 * the table has at most 64 rows). */
static uint64_t ev_bit(const okt_event_def *d)
{
    const okt_event_def *all = okt_proto_events(NULL);
    return d ? (uint64_t)1 << (d - all) : 0;
}

/* What holds the user besides their own choice (calls: the call model's
 * overlay, cv_*). */
enum {
    TK_NONE = 0,
    TK_CONFIRM,   /* 121 sent, waiting for TM_SetConfirmResult */
    TK_DIALING    /* 122 sent, dialing until finish */
};

/* Failed logins of a user or of a source address (login throttling). */
typedef struct mthrottle {
    int fails;                      /* since the last success */
    int64_t last, until;            /* last failure; refused before until */
} mthrottle;

typedef struct maddr {
    char addr[48];                  /* the peer's IP as text */
    mthrottle th;
} maddr;

typedef struct muser {
    char *id, *login, *password, *name, *callerid, *info, *number;
    char *group_id, *group_name, *role_id, *role_name, *lineid;
    char *redirect_number;          /* NULL: none */
    int nstored;                    /* stored sessions (sessionid) */
    mthrottle th;                   /* failed logins of this user */
    int isoperator, has_line, line;
    /* state */
    int st;                         /* chosen / server-set user state */
    char *reasonmsg;                /* lunchreasonmsg given with the state */
    int redirect, inside, ccmanual, lunchreason; /* lunchreason -1: none */
    int external, task;             /* external CRM reservation, TK_* */
    int otask;                      /* task index of the offer */
    char *onumber, *otext;          /* offer / caller number, offer text */
    long long oidinlist;
    int nsess, first_sess;          /* logged-in sessions, list head */
    /* the call model's overlay (calls.h okt_m_callview) */
    int cv_state, cv_ontask, cv_line;
    int agent;                      /* a virtual operator: online */
    /* reaction bookkeeping */
    int touched;
    char *pre_state;                /* state_text before the reaction */
    size_t pre_len;
    int pre_st, pre_line;
} muser;

typedef struct mtask {
    char *id, *name, *type, *code, *idproject, *idlist, *locked_by;
    int active;
    long long deleted;              /* subscribers removed by "delete" */
} mtask;

typedef struct msess {
    int used, user, next;           /* next: free list or user's list */
    uint64_t subs;                  /* ev_bit of the rows subscribed */
    int confirm_usage;
    int stored;                     /* the stored session it logged in
                                       with (index), -1 none */
    unsigned stored_gen;            /* its generation then: a slot reused
                                       since is not this login's */
    char addr[48];                  /* the peer's IP ("": not known) */
} msess;

/* A stored login session: what a `sessionid` logs in to. Unguessable (128
 * bits from RAND_bytes), bound to its user, expiring, revoked by logout. */
typedef struct mstored {
    char id[37];                    /* GUID-shaped hex; "" when free */
    int user;
    unsigned gen;                   /* bumped each time the slot is used */
    int64_t expires;                /* on the model's clock */
    int next;                       /* hash chain or free list, -1 end */
} mstored;

struct okt_model {
    muser *users;
    size_t nusers;
    mtask *tasks;
    size_t ntasks;
    msess *sess;
    size_t nsess_cap;
    int free_sess;
    size_t live_sess;
    long licenses;
    okt_calls *calls;               /* the call model (calls.h) */
    int *touched;                   /* users touched by this reaction */
    size_t ntouched;
    okt_out prompts;                /* 121/122/123 events of this reaction */
    char *version_build;
    int64_t now;                    /* the clock, as okt_model_set_time */
    /* stored sessions: a fixed table of max_sessions slots, hashed by the
     * id's first 32 bits (random, so chains stay short) */
    mstored *stored;
    int *buckets;                   /* nbuckets heads, -1 empty */
    size_t nstored, max_stored, nbuckets, max_user_stored;
    int free_stored;
    int64_t session_ttl;            /* ms */
    /* login throttling: per user (muser.th) and per source address */
    maddr *addrs;                   /* OKT_EMU_FAIL_ADDRS, allocated at
                                       the first failure */
    size_t naddrs;
    int login_failures;             /* allowed before refusals start */
    int64_t login_lockout;          /* ms, the first refusal window */
    /* CSPRNG bytes for event qids, fetched a block at a time: OpenSSL 3's
     * RAND_bytes calls getpid() each time, a system call per event */
    unsigned char rnd[1024];
    size_t rnd_pos;                 /* bytes of rnd used; starts full */
};

/* ---- small helpers -------------------------------------------------- */

void okt_out_init(okt_out *o)
{
    memset(o, 0, sizeof *o);
}

void okt_out_clear(okt_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].text);
    o->n = 0;
}

void okt_out_free(okt_out *o)
{
    okt_out_clear(o);
    free(o->v);
    o->v = NULL;
    o->cap = 0;
}

static int out_push(okt_out *o, int sess, int kind, char *text, size_t len)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        okt_out_msg *v = realloc(o->v, cap * sizeof *v);
        if (!v) {
            free(text);
            return -1;
        }
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = (okt_out_msg){sess, kind, text, len};
    return 0;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ["name", obj] as compact JSON text appended for sess. obj is stolen. */
static int send_msg(okt_out *o, int sess, const char *name, json_t *obj)
{
    size_t len = 0;
    /* okt_msg_build's text (jsonw.h), cheaper */
    char *text = obj ? okt_jw_msg(name, obj, &len) : NULL;
    json_decref(obj);
    if (!text)
        return -1;
    return out_push(o, sess, OKT_OUT_SEND, text, len);
}

static void md5hex(const unsigned char *data, size_t len, char hex[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, d, &n, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[32] = '\0';
}

/* Next code point of UTF-8 s (advances *s); invalid bytes map to 0xFFFD. */
static unsigned utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    unsigned c = *p++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (c >= 0x80 && c < 0xC0) {
        *s = p;
        return 0xFFFD;
    }
    if (extra)
        c &= 0x3F >> extra;
    while (extra--) {
        if ((*p & 0xC0) != 0x80) {
            *s = p;
            return 0xFFFD;
        }
        c = (c << 6) | (*p++ & 0x3F);
    }
    *s = p;
    return c;
}

/* md5hex of the password as oktell.js maps it to single bytes (fact sheet
 * §3.1: ASCII kept, Ё/ё to A8/B8, U+0400 and up minus 848, 128..1024
 * dropped), optionally lowercased first (ASCII and Cyrillic). For text
 * cp1251 holds this is okt_password_hash (session.c), used first; the
 * mapping here covers the rest, as oktell.js hashes it. */
static void password_hash(const char *pw, int lower, char hex[33])
{
    if (okt_password_hash(pw, lower, hex, NULL) == 0)
        return;
    size_t n = strlen(pw);
    unsigned char stackbuf[256] = {0};
    unsigned char *buf = n <= sizeof stackbuf ? stackbuf : calloc(n, 1);
    size_t k = 0;
    if (!buf) {
        memset(hex, '-', 32);   /* matches no hash */
        hex[32] = '\0';
        return;
    }
    const unsigned char *p = (const unsigned char *)pw;
    while (*p) {
        unsigned c = utf8_next(&p);
        if (lower) {
            if (c < 0x80)
                c = (unsigned)tolower((int)c);
            else if (c >= 0x410 && c <= 0x42F)
                c += 0x20;
            else if (c >= 0x400 && c <= 0x40F)
                c += 0x50;
        }
        if (c < 0x80)
            buf[k++] = (unsigned char)c;
        else if (c == 0x401)
            buf[k++] = 0xA8;
        else if (c == 0x451)
            buf[k++] = 0xB8;
        else if (c > 1024)
            buf[k++] = (unsigned char)((c - 848) & 0xFF);
    }
    md5hex(buf, k, hex);
    if (buf != stackbuf)
        free(buf);
}

static int line_works(const muser *u)
{
    return u->has_line && u->line != OKT_LS_DISCONNECTED &&
           u->line != OKT_LS_OFF && u->line != OKT_LS_UNDEFINED;
}

/* The state the user shows (EMULATOR.md: usDisconnected without a session,
 * usWOphone without a working line, then a call's overlay). */
static int eff_state(const muser *u)
{
    if (u->nsess == 0 && !u->agent)
        return OKT_US_DISCONNECTED;
    if (!line_works(u))
        return OKT_US_WOPHONE;
    return u->cv_state ? u->cv_state : u->st;
}

static int wire_line(const muser *u)
{
    if (!u->has_line)
        return OKT_LS_DISCONNECTED;
    return u->cv_line ? u->cv_line : u->line;
}

/* ontask: a task, or a queue or task call (the call model's overlay) */
static int held(const muser *u)
{
    return u->external || u->task != TK_NONE || u->cv_ontask;
}

/* The state fields of getuserstateresult, setuserstateresult and
 * userstatechanged: the nine of a real server's frames (fact sheet §14.1:
 * the code as a string twice, its us* name, the user, three flags), the two
 * flags oktell.js also reads (§5.1), and the break reason and message only
 * when set. One list, in wire order. */
enum { SF_STR, SF_BOOL, SF_INT };

typedef struct sfield {
    const char *key;
    size_t klen;
    int type;
    const char *s;      /* SF_STR (NULL: the object cannot be built) */
    long long i;        /* SF_BOOL, SF_INT */
} sfield;

#define NSFIELDS 12
#define NSFIELDS_NEEDED 10  /* the first ten, always there */
#define SF(key, type, s, i) ((sfield){key, sizeof key - 1, type, s, i})

static size_t state_fields(const muser *u, char code[16], sfield f[NSFIELDS])
{
    int st = eff_state(u);
    const char *ref = okt_userstate_refname(st);
    {   /* "%d" */
        char b[16];
        size_t i = sizeof b, k = 0;
        unsigned v = st < 0 ? 0u - (unsigned)st : (unsigned)st;
        do
            b[--i] = (char)('0' + v % 10);
        while ((v /= 10));
        if (st < 0)
            code[k++] = '-';
        while (i < sizeof b)
            code[k++] = b[i++];
        code[k] = '\0';
    }
    size_t n = 0;
    f[n++] = SF(OKT_F_USERSTATEID, SF_STR, code, 0);
    f[n++] = SF(OKT_F_USERSTATE, SF_STR, code, 0);
    f[n++] = SF(OKT_F_USERSTATESTR, SF_STR, ref ? ref : "", 0);
    f[n++] = SF(OKT_F_USERLOGIN, SF_STR, u->login, 0);
    f[n++] = SF(OKT_F_USERID, SF_STR, u->id, 0);
    f[n++] = SF(OKT_F_ONCALLCENTER, SF_BOOL, NULL, u->inside);
    f[n++] = SF(OKT_F_ONLUNCH, SF_BOOL, NULL, u->st == OKT_US_LUNCH);
    f[n++] = SF(OKT_F_ONREDIRECT, SF_BOOL, NULL, u->redirect);
    f[n++] = SF(OKT_F_ONCCMANUAL, SF_BOOL, NULL, u->ccmanual);
    f[n++] = SF(OKT_F_ONTASK, SF_BOOL, NULL, held(u));
    if (u->lunchreason >= 0)
        f[n++] = SF(OKT_F_LUNCHREASONID, SF_INT, NULL, u->lunchreason);
    if (u->reasonmsg)
        f[n++] = SF(OKT_F_LUNCHREASONMSG, SF_STR, u->reasonmsg, 0);
    return n;
}

static json_t *state_json(const muser *u)
{
    char code[16];
    sfield f[NSFIELDS];
    size_t n = state_fields(u, code, f);
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        json_t *v = f[i].type == SF_STR    ? (f[i].s ? json_string(f[i].s)
                                                     : NULL)
                    : f[i].type == SF_BOOL ? json_boolean(f[i].i)
                                           : json_integer(f[i].i);
        /* the break reason and message are left out when they cannot be
         * built (json_object_set_new refuses NULL); the rest are needed */
        if (json_object_set_new(o, f[i].key, v) && i < NSFIELDS_NEEDED) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* The members of the state object state_json builds from f, as its
 * compact text: a string field without a value is left out as there
 * (w->err when it is one of the needed ones, where state_json fails). */
static void jw_state_fields(okt_jw *w, const sfield *f, size_t n)
{
    const char *sep = "";
    for (size_t i = 0; i < n; i++) {
        if (f[i].type == SF_STR && !f[i].s) {
            if (i < NSFIELDS_NEEDED)
                w->err = 1;
            continue;
        }
        okt_jw_raw(w, sep, strlen(sep));
        sep = ",";
        okt_jw_str(w, f[i].key, f[i].klen);
        OKT_JW_LIT(w, ":");
        if (f[i].type == SF_STR)
            okt_jw_str(w, f[i].s, strlen(f[i].s));
        else if (f[i].type == SF_BOOL && f[i].i)
            OKT_JW_LIT(w, "true");
        else if (f[i].type == SF_BOOL)
            OKT_JW_LIT(w, "false");
        else
            okt_jw_int(w, f[i].i);
    }
}

/* The user's state as that text: a reaction compares it before and after
 * (equal texts, equal trees: one builder, one order) without building
 * and freeing a tree for a state that did not change. NULL: no memory
 * (or a needed field missing). */
static char *state_text(const muser *u, size_t *len)
{
    char code[16];
    sfield f[NSFIELDS];
    size_t n = state_fields(u, code, f);
    okt_jw w;
    okt_jw_init(&w);
    jw_state_fields(&w, f, n);
    return okt_jw_take(&w, len);
}

/* The line state as oktell.js reads it: its ls* name (§6.1). */
static json_t *line_json(const muser *u)
{
    const char *ref = okt_linestate_refname(wire_line(u));
    if (!ref)
        ref = okt_linestate_refname(OKT_LS_UNDEFINED);
    return json_pack("{s:s}", OKT_F_LINESTATESTR, ref);
}

/* A fresh lower-case v4 UUID from the CSPRNG: the qid of an event, as a
 * real server gives each event its own (§2.4), never a client's. */
static int new_uuid(okt_model *m, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    if (m->rnd_pos + 16 > sizeof m->rnd) {
        if (RAND_bytes(m->rnd, sizeof m->rnd) != 1)
            return -1;
        m->rnd_pos = 0;
    }
    unsigned char b[16];
    memcpy(b, m->rnd + m->rnd_pos, sizeof b);
    /* used bytes are not kept where a later dump of the model could show
     * them next to the qids they made */
    memset(m->rnd + m->rnd_pos, 0, sizeof b);
    m->rnd_pos += sizeof b;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);   /* RFC 4122 variant */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
    return 0;
}

/* ---- reactions: touch users, then emit what changed ---------------- */

static void touch(okt_model *m, int ui)
{
    muser *u = &m->users[ui];
    if (u->touched)
        return;
    u->touched = 1;
    u->pre_state = state_text(u, &u->pre_len);
    u->pre_st = eff_state(u);
    u->pre_line = wire_line(u);
    m->touched[m->ntouched++] = ui;
    okt_calls_snap(m->calls, ui);
}

/* The event `name` (a row d of the table) with payload obj to session s,
 * if it subscribed: a qid of its own, and the user when u is given. */
static int send_to_sess(okt_model *m, okt_out *out, int s, const char *name,
                        const okt_event_def *d, const json_t *obj,
                        const muser *u)
{
    if (!(m->sess[s].subs & ev_bit(d)))
        return 0;
    char qid[37];
    if (new_uuid(m, qid))
        return -1;
    if (!json_is_object(obj) || json_object_get(obj, OKT_F_QID) ||
        (u && (!u->login || !u->id || json_object_get(obj, OKT_F_USERLOGIN) ||
               json_object_get(obj, OKT_F_USERID)))) {
        /* a key the message adds is there already (set_new replaces it in
         * place): a copy of the tree, dumped */
        json_t *o = json_deep_copy(obj);
        if (!o || json_object_set_new(o, OKT_F_QID, json_string(qid)) ||
            (u && (json_object_set_new(o, OKT_F_USERLOGIN,
                                       json_string(u->login)) ||
                   json_object_set_new(o, OKT_F_USERID,
                                       json_string(u->id))))) {
            json_decref(o);
            return -1;
        }
        return send_msg(out, s, name, o);
    }
    /* The text the copy above would dump, written straight: obj's members
     * in their order, then the qid and the user (new keys go last). */
    okt_jw w;
    okt_jw_init(&w);
    OKT_JW_LIT(&w, "[");
    okt_jw_str(&w, name, strlen(name));
    OKT_JW_LIT(&w, ",");
    okt_jw_value(&w, obj);
    if (!w.err)
        w.len--;   /* the object's '}': the added members go before it */
    const char *sep = json_object_size(obj) ? "," : "";
    const char *keys[3] = {OKT_F_QID, OKT_F_USERLOGIN, OKT_F_USERID};
    const char *vals[3] = {qid, u ? u->login : NULL, u ? u->id : NULL};
    for (int i = 0; i < (u ? 3 : 1); i++) {
        okt_jw_raw(&w, sep, strlen(sep));
        sep = ",";
        okt_jw_str(&w, keys[i], strlen(keys[i]));
        OKT_JW_LIT(&w, ":");
        okt_jw_str(&w, vals[i], strlen(vals[i]));
    }
    OKT_JW_LIT(&w, "}]");
    size_t len = 0;
    char *text = okt_jw_take(&w, &len);
    if (!text)
        return -1;
    return out_push(out, s, OKT_OUT_SEND, text, len);
}

/* Event `name` to every session of user ui that subscribed to it; with_user:
 * the message names the user (§2.4). */
static int emit(okt_model *m, okt_out *out, int ui, const char *name,
                const json_t *obj, int with_user)
{
    const muser *u = &m->users[ui];
    const okt_event_def *d = okt_proto_event_by_wire(name);
    if (!d)
        return 0;   /* not in the table: nothing to send it as */
    for (int s = u->first_sess; s >= 0; s = m->sess[s].next)
        if (send_to_sess(m, out, s, name, d, obj, with_user ? u : NULL))
            return -1;
    return 0;
}

/* Event ev with payload obj to every session of user ui that subscribed
 * to it. Each message gets a qid of its own and names the user (§2.4). */
static int send_to_user(okt_model *m, okt_out *out, int ui, int ev,
                        const json_t *obj)
{
    const char *name = ev_wire(ev);
    return name ? emit(m, out, ui, name, obj, 1) : 0;
}

/* Prompt events (121/122/123) are collected during the reaction and sent
 * after the state changes. */
static int prompt(okt_model *m, int ui, int ev)
{
    muser *u = &m->users[ui];
    const mtask *t = &m->tasks[u->otask];
    json_t *o;
    /* Payloads of dlgcard_* are not on record (§7): ours carry the
     * reference's event fields, without its id (the name says it). */
    if (ev == EV_CLOSE) {
        o = json_pack("{s:s}", OKT_F_IDTASK, t->id);
    } else {
        const char *text = u->otext ? u->otext : "";
        size_t n = strlen(text);
        char *b64 = okt_b64_encode(text, n, NULL, NULL);
        if (!b64)
            return -1;
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
                      OKT_F_IDTASK, t->id, OKT_F_IDPROJECT, t->idproject,
                      OKT_F_TASKNAME, t->name, OKT_F_TASKCODE, t->code,
                      OKT_F_IDLIST, t->idlist, OKT_F_IDINLIST,
                      (json_int_t)u->oidinlist, OKT_F_NUMBER,
                      u->onumber ? u->onumber : "", OKT_F_TEXTB64, b64);
        free(b64);
    }
    if (!o)
        return -1;
    int rc = send_to_user(m, &m->prompts, ui, ev, o);
    json_decref(o);
    return rc;
}

/* End of a reaction (docs/EMULATOR.md, order of events): the call model
 * settles first (overlays, queue dispatch); then per touched user its
 * state and line events and the call model's flash and phone events; then
 * the call model's conference, number-state and custom events; prompts
 * last. */
static int finish_reaction(okt_model *m, okt_out *out)
{
    int rc = okt_calls_settle(m->calls);
    for (size_t i = 0; i < m->ntouched; i++) {
        muser *u = &m->users[m->touched[i]];
        size_t nlen = 0;
        char *now = state_text(u, &nlen);
        if (rc == 0 && now &&
            (!u->pre_state || nlen != u->pre_len ||
             memcmp(now, u->pre_state, nlen))) {
            json_t *o = state_json(u);
            rc = o ? send_to_user(m, out, m->touched[i], EV_USERSTATE, o)
                   : -1;
            json_decref(o);
            /* a number's shown state (its userstateid, the effective
             * state's code): pbxnumberstatechanged to all */
            if (u->has_line && (!u->pre_state || eff_state(u) != u->pre_st))
                okt_calls_numstate(m->calls, u->number, eff_state(u));
        }
        free(now);
        if (rc == 0 && wire_line(u) != u->pre_line) {
            json_t *l = line_json(u);
            rc = l ? send_to_user(m, out, m->touched[i], EV_LINESTATE, l) : -1;
            json_decref(l);
        }
        /* always: it also ends the user's bookkeeping of this reaction */
        if (okt_calls_flush_user(m->calls, out, m->touched[i]))
            rc = -1;
        free(u->pre_state);
        u->pre_state = NULL;
        u->touched = 0;
    }
    m->ntouched = 0;
    if (okt_calls_flush(m->calls, out))
        rc = -1;
    for (size_t i = 0; i < m->prompts.n; i++) {
        okt_out_msg *p = &m->prompts.v[i];
        if (rc == 0 && out_push(out, p->sess, p->kind, p->text, p->len))
            rc = -1;
        p->text = NULL;
    }
    m->prompts.n = 0;
    return rc;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s);
}

/* Ends whatever task holds the user (no events: callers emit them). */
static void clear_task(muser *u)
{
    u->task = TK_NONE;
    set_str(&u->onumber, NULL);
    set_str(&u->otext, NULL);
}

/* ---- configuration -------------------------------------------------- */

static void free_user(muser *u)
{
    char **f[] = {&u->id, &u->login, &u->password, &u->name, &u->callerid,
                  &u->info, &u->number, &u->group_id, &u->group_name,
                  &u->role_id, &u->role_name, &u->lineid,
                  &u->redirect_number, &u->reasonmsg,
                  &u->onumber, &u->otext};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
    free(u->pre_state);
    u->pre_state = NULL;
}

static void free_task(mtask *t)
{
    free(t->id);
    free(t->name);
    free(t->type);
    free(t->code);
    free(t->idproject);
    free(t->idlist);
    free(t->locked_by);
}

void okt_model_free(okt_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nusers; i++)
        free_user(&m->users[i]);
    for (size_t i = 0; i < m->ntasks; i++)
        free_task(&m->tasks[i]);
    okt_calls_free(m->calls);
    free(m->users);
    free(m->tasks);
    free(m->sess);
    free(m->touched);
    free(m->stored);
    free(m->buckets);
    free(m->addrs);
    okt_out_free(&m->prompts);
    free(m->version_build);
    free(m);
}

/* A string field of a config object: default when absent or null. */
static int cfg_str(const json_t *o, const char *key, const char *def,
                   char **dst, const char *what, okt_err *err)
{
    const json_t *v = o ? json_object_get(o, key) : NULL;
    if (v && json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        *dst = strdup(buf);
    } else if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return okt_err_set(err, OKT_EINVAL, "%s: '%s' must be a string",
                               what, key);
        *dst = strdup(json_string_value(v));
    } else {
        *dst = xstrdup(def);
        if (!def)
            return 0;
    }
    if (!*dst)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    return 0;
}

static int cfg_bool(const json_t *o, const char *key, int def, int *dst,
                    const char *what, okt_err *err)
{
    const json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        *dst = def;
    else if (json_is_boolean(v))
        *dst = json_is_true(v);
    else
        return okt_err_set(err, OKT_EINVAL, "%s: '%s' must be a boolean",
                           what, key);
    return 0;
}

/* A top-level integer key in lo..hi, def when absent or null. */
static int cfg_int(const json_t *cfg, const char *key, long long lo,
                   long long hi, long long def, long long *dst, okt_err *err)
{
    const json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    *dst = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return okt_err_set(err, OKT_EINVAL,
                           "'%s' must be an integer %lld..%lld", key, lo, hi);
    *dst = json_integer_value(v);
    return 0;
}

/* ---- stored sessions (sessionid) ------------------------------------ */

static int store_init(okt_model *m)
{
    m->nbuckets = 16;
    while (m->nbuckets < m->max_stored)
        m->nbuckets *= 2;
    m->stored = calloc(m->max_stored, sizeof *m->stored);
    m->buckets = malloc(m->nbuckets * sizeof *m->buckets);
    if (!m->stored || !m->buckets)
        return -1;
    for (size_t i = 0; i < m->nbuckets; i++)
        m->buckets[i] = -1;
    for (size_t i = 0; i < m->max_stored; i++)
        m->stored[i].next = i + 1 < m->max_stored ? (int)(i + 1) : -1;
    m->free_stored = 0;
    return 0;
}

/* The bucket of an id: its first 8 hex digits; -1 when not hex. */
static long store_bucket(const okt_model *m, const char *id)
{
    unsigned long h = 0;
    for (int i = 0; i < 8; i++) {
        int c = tolower((unsigned char)id[i]), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        h = h << 4 | (unsigned long)d;
    }
    return (long)(h & (m->nbuckets - 1));
}

static void store_remove(okt_model *m, int k)
{
    mstored *st = &m->stored[k];
    long b = store_bucket(m, st->id);
    for (int *p = &m->buckets[b]; *p >= 0; p = &m->stored[*p].next)
        if (*p == k) {
            *p = st->next;
            break;
        }
    m->users[st->user].nstored--;
    st->id[0] = '\0';
    st->next = m->free_stored;
    m->free_stored = k;
    m->nstored--;
}

/* The slot holding id, live on the model's clock; -1 none. An expired one
 * met on the way is removed. The comparison takes the same time wherever
 * the ids differ. */
static int store_find(okt_model *m, const char *id)
{
    if (!id || strlen(id) != 36)
        return -1;
    long b = store_bucket(m, id);
    if (b < 0)
        return -1;
    for (int k = m->buckets[b]; k >= 0;) {
        mstored *st = &m->stored[k];
        int next = st->next;
        if (st->expires <= m->now)
            store_remove(m, k);
        else if (CRYPTO_memcmp(st->id, id, 36) == 0)
            return k;
        k = next;
    }
    return -1;
}

/* Evict: the user's oldest (soonest expiring) session when ui >= 0, else
 * the soonest expiring of all. */
static void store_evict(okt_model *m, int ui)
{
    int best = -1;
    for (size_t k = 0; k < m->max_stored; k++) {
        const mstored *st = &m->stored[k];
        if (st->id[0] && (ui < 0 || st->user == ui) &&
            (best < 0 || st->expires < m->stored[best].expires))
            best = (int)k;
    }
    if (best >= 0)
        store_remove(m, best);
}

/* A new stored session of user ui living ttl ms: its slot, -1 on failure
 * (no randomness). Over a bound the oldest session goes first. */
static int store_new(okt_model *m, int ui, int64_t ttl)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    if (m->users[ui].nstored >= (int)m->max_user_stored)
        store_evict(m, ui);
    if (m->free_stored < 0)
        store_evict(m, -1);
    int k = m->free_stored;
    mstored *st = &m->stored[k];
    m->free_stored = st->next;
    /* all 128 bits random (no version bits): GUID-shaped, not a v4 UUID */
    snprintf(st->id, sizeof st->id,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    st->user = ui;
    st->gen++;
    st->expires = m->now + ttl;
    long bk = store_bucket(m, st->id);
    st->next = m->buckets[bk];
    m->buckets[bk] = k;
    m->users[ui].nstored++;
    m->nstored++;
    return k;
}

static void guid(char out[37], unsigned kind, unsigned long long n)
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012llx", kind & 0xFFFFFFFFu,
             n & 0xFFFFFFFFFFFFull);
}

static int load_user(okt_model *m, size_t i, const json_t *o, okt_err *err)
{
    muser *u = &m->users[i];
    char what[48], gid[37], lid[37], num[24];
    snprintf(what, sizeof what, "users[%zu]", i + 1);
    if (o && !json_is_object(o))
        return okt_err_set(err, OKT_EINVAL, "%s must be a table", what);
    const json_t *login = o ? json_object_get(o, "login") : NULL;
    if (o && !json_is_string(login))
        return okt_err_set(err, OKT_EINVAL, "%s: 'login' must be a string",
                           what);
    const char *lg = o ? json_string_value(login) : "Peter";
    int peter = strcmp(lg, "Peter") == 0;
    guid(gid, 0x5e, i + 1);
    guid(lid, 0x11e, i + 1);
    snprintf(num, sizeof num, "%zu", 101 + i);
    if (cfg_str(o, "login", "Peter", &u->login, what, err) ||
        cfg_str(o, "password", "123", &u->password, what, err) ||
        cfg_str(o, "id", peter ? PETER_ID : gid, &u->id, what, err) ||
        cfg_str(o, "name", peter ? "Петр" : lg, &u->name, what, err) ||
        cfg_str(o, "callerid", "", &u->callerid, what, err) ||
        cfg_str(o, "info", "", &u->info, what, err) ||
        cfg_str(o, "number", num, &u->number, what, err) ||
        cfg_str(o, "group_id", GROUP_ID, &u->group_id, what, err) ||
        cfg_str(o, "group", GROUP_NAME, &u->group_name, what, err) ||
        cfg_str(o, "role_id", ROLE_ID, &u->role_id, what, err) ||
        cfg_str(o, "role", ROLE_NAME, &u->role_name, what, err) ||
        /* The default user (no users configured) is API.md §5's sample
         * entry, redirect number included, so the reference's second
         * SetUserState sample (redirect on) works out of the box. */
        cfg_str(o, "redirect_number", o ? NULL : "100", &u->redirect_number,
                what, err) ||
        cfg_bool(o, "isoperator", 1, &u->isoperator, what, err))
        return -1;
    if (u->redirect_number && !u->redirect_number[0])
        set_str(&u->redirect_number, NULL);
    u->lineid = strdup(lid);
    if (!u->lineid)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    const json_t *line = o ? json_object_get(o, "line") : NULL;
    u->has_line = 1;
    u->line = OKT_LS_READY;
    if (line && json_is_false(line)) {
        u->has_line = 0;
        u->line = OKT_LS_DISCONNECTED;
    } else if (line && json_is_string(line)) {
        int c = okt_linestate_code(json_string_value(line));
        if (c < 0)
            return okt_err_set(err, OKT_EINVAL, "%s: unknown line state '%s'",
                               what, json_string_value(line));
        u->line = c;
    } else if (line && !json_is_null(line) && !json_is_true(line)) {
        return okt_err_set(err, OKT_EINVAL,
                           "%s: 'line' must be a state name or false", what);
    }
    u->st = OKT_US_READY;
    u->lunchreason = -1;
    u->first_sess = -1;
    u->otask = 0;
    for (size_t k = 0; k < i; k++)
        if (strcasecmp(m->users[k].login, u->login) == 0)
            return okt_err_set(err, OKT_EINVAL, "%s: duplicate login '%s'",
                               what, u->login);
    return 0;
}

static int load_task(okt_model *m, size_t i, const json_t *o, okt_err *err)
{
    mtask *t = &m->tasks[i];
    char what[48], gid[37];
    snprintf(what, sizeof what, "tasks[%zu]", i + 1);
    if (o && !json_is_object(o))
        return okt_err_set(err, OKT_EINVAL, "%s must be a table", what);
    /* a task's type is one of TM_SetTaskActive's, the first by default */
    const char *const *types = okt_proto_task_types;
    guid(gid, 0x7a5c, i + 1);
    if (cfg_str(o, "id", i == 0 ? TASK_ID : gid, &t->id, what, err) ||
        cfg_str(o, "name", TASK_NAME, &t->name, what, err) ||
        cfg_str(o, "type", types[0], &t->type, what, err) ||
        cfg_str(o, "code", "", &t->code, what, err) ||
        cfg_str(o, "idproject", PROJECT_ID, &t->idproject, what, err) ||
        cfg_str(o, "idlist", LIST_ID, &t->idlist, what, err) ||
        cfg_bool(o, "active", 0, &t->active, what, err))
        return -1;
    size_t ty = 0;
    while (types[ty] && strcmp(t->type, types[ty]))
        ty++;
    if (!types[ty])
        return okt_err_set(err, OKT_EINVAL,
                           "%s: 'type' must be \"%s\" or \"%s\"", what,
                           types[0], types[1]);
    for (size_t k = 0; k < i; k++)
        if (strcmp(m->tasks[k].id, t->id) == 0)
            return okt_err_set(err, OKT_EINVAL, "%s: duplicate id '%s'", what,
                               t->id);
    return 0;
}

const char *const okt_model_config_keys[] = {
    "licenses", "users", "tasks", "session_ttl", "max_sessions",
    "max_sessions_per_user", "login_failures", "login_lockout",
    /* the call model's (calls.c and its rooms) */
    "numbers", "break_reasons", "procedures", "roles", "ring_timeout",
    "missed_to_off", "wrapup", "speed", "seed", NULL};

okt_model *okt_model_new(const json_t *config, okt_err *err)
{
    if (config && !json_is_object(config)) {
        okt_err_set(err, OKT_EINVAL, "config must be a table");
        return NULL;
    }
    okt_model *m = calloc(1, sizeof *m);
    if (!m) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    m->free_sess = -1;
    m->rnd_pos = sizeof m->rnd;   /* empty: the first qid fetches a block */
    m->licenses = 2;
    const json_t *lic = config ? json_object_get(config, "licenses") : NULL;
    if (lic && !json_is_null(lic)) {
        if (!json_is_integer(lic) || json_integer_value(lic) < 0) {
            okt_err_set(err, OKT_EINVAL,
                        "'licenses' must be a non-negative integer");
            goto fail;
        }
        m->licenses = (long)json_integer_value(lic);
    }
    long long ttl, per_user, total, fails, lockout;
    if (cfg_int(config, "session_ttl", 1, OKT_EMU_MAX_SESSION_TTL,
                OKT_EMU_SESSION_TTL, &ttl, err) ||
        cfg_int(config, "login_failures", 1, 1000000,
                OKT_EMU_LOGIN_FAILURES, &fails, err) ||
        cfg_int(config, "login_lockout", 1, OKT_EMU_MAX_LOCKOUT,
                OKT_EMU_LOGIN_LOCKOUT, &lockout, err) ||
        cfg_int(config, "max_sessions", 1, OKT_EMU_MAX_STORED,
                OKT_EMU_STORED_SESSIONS, &total, err) ||
        cfg_int(config, "max_sessions_per_user", 1, OKT_EMU_MAX_STORED,
                OKT_EMU_STORED_PER_USER, &per_user, err))
        goto fail;
    m->session_ttl = ttl * 1000;
    m->login_failures = (int)fails;
    m->login_lockout = lockout * 1000;
    m->max_stored = (size_t)total;
    m->max_user_stored = (size_t)per_user;
    if (store_init(m)) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    const json_t *users = config ? json_object_get(config, "users") : NULL;
    const json_t *tasks = config ? json_object_get(config, "tasks") : NULL;
    if (users && !json_is_null(users) &&
        (!json_is_array(users) || json_array_size(users) == 0)) {
        okt_err_set(err, OKT_EINVAL, "'users' must be a non-empty list");
        goto fail;
    }
    if (tasks && !json_is_null(tasks) &&
        (!json_is_array(tasks) || json_array_size(tasks) == 0)) {
        okt_err_set(err, OKT_EINVAL, "'tasks' must be a non-empty list");
        goto fail;
    }
    m->nusers = json_is_array(users) ? json_array_size(users) : 1;
    m->ntasks = json_is_array(tasks) ? json_array_size(tasks) : 1;
    m->users = calloc(m->nusers, sizeof *m->users);
    m->tasks = calloc(m->ntasks, sizeof *m->tasks);
    m->touched = calloc(m->nusers, sizeof *m->touched);
    if (!m->users || !m->tasks || !m->touched) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->nusers; i++)
        if (load_user(m, i, json_is_array(users) ? json_array_get(users, i)
                                                 : NULL, err))
            goto fail;
    for (size_t i = 0; i < m->ntasks; i++)
        if (load_task(m, i, json_is_array(tasks) ? json_array_get(tasks, i)
                                                 : NULL, err))
            goto fail;
    m->calls = okt_calls_new(m, config, err);
    if (!m->calls)
        goto fail;
    return m;
fail:
    okt_model_free(m);
    return NULL;
}

/* ---- sessions ------------------------------------------------------- */

int okt_model_open(okt_model *m, okt_err *err)
{
    if (m->free_sess < 0) {
        size_t cap = m->nsess_cap ? m->nsess_cap * 2 : 16;
        msess *v = realloc(m->sess, cap * sizeof *v);
        if (!v)
            return okt_err_set(err, OKT_ENOMEM, "out of memory");
        for (size_t i = m->nsess_cap; i < cap; i++) {
            v[i].used = 0;
            v[i].next = i + 1 < cap ? (int)(i + 1) : -1;
        }
        m->sess = v;
        m->free_sess = (int)m->nsess_cap;
        m->nsess_cap = cap;
    }
    int s = m->free_sess;
    m->free_sess = m->sess[s].next;
    m->sess[s] = (msess){.used = 1, .user = -1, .next = -1, .stored = -1};
    m->live_sess++;
    return s;
}

void okt_model_set_time(okt_model *m, int64_t now_ms)
{
    m->now = now_ms;
}

int okt_model_logged_in(const okt_model *m, int sess)
{
    return sess >= 0 && (size_t)sess < m->nsess_cap && m->sess[sess].used &&
           m->sess[sess].user >= 0;
}

size_t okt_model_session_count(const okt_model *m)
{
    return m->live_sess;
}

static int valid_sess(const okt_model *m, int s)
{
    return s >= 0 && (size_t)s < m->nsess_cap && m->sess[s].used;
}

void okt_model_set_addr(okt_model *m, int sess, const char *addr)
{
    if (valid_sess(m, sess))
        snprintf(m->sess[sess].addr, sizeof m->sess[sess].addr, "%s",
                 addr ? addr : "");
}

/* Take sess off its user's list; the user's last session disconnects the
 * user (EMULATOR.md: the external task ends, presence stays). */
static void unbind(okt_model *m, int s)
{
    int ui = m->sess[s].user;
    if (ui < 0)
        return;
    muser *u = &m->users[ui];
    touch(m, ui);
    for (int *p = &u->first_sess; *p >= 0; p = &m->sess[*p].next)
        if (*p == s) {
            *p = m->sess[s].next;
            break;
        }
    m->sess[s].user = -1;
    m->sess[s].next = -1;
    u->nsess--;
    if (u->nsess == 0) {
        u->external = 0;
        clear_task(u);
        u->redirect = 0;
        okt_calls_offline(m->calls, ui);
    }
}

int okt_model_close(okt_model *m, int sess, okt_out *out)
{
    if (!valid_sess(m, sess))
        return 0;
    unbind(m, sess);
    okt_calls_sess_closed(m->calls, sess);
    m->sess[sess].used = 0;
    m->sess[sess].next = m->free_sess;
    m->free_sess = sess;
    m->live_sess--;
    return finish_reaction(m, out);
}

/* ---- requests ------------------------------------------------------- */

typedef struct okt_req {
    okt_model *m;
    okt_out *out;
    int sess;
    const okt_wire_method *w;   /* the table's entry; NULL: unknown */
    const char *name;           /* the request's name as it came */
    const json_t *params;
    const json_t *qid;
} req;

/* Copy the request's own field key into the reply, unless the handler set
 * it: a real server's replies carry them back (§14.1). */
static void echo(const req *r, json_t *obj, const char *key)
{
    const json_t *v = json_object_get(r->params, key);
    if (v && !json_object_get(obj, key))
        json_object_set(obj, key, (json_t *)v);
}

/* The name of the reply to a request the table does not know, by the
 * <method>result rule (§14.1). Caller frees. */
static char *unknown_reply_name(const char *request)
{
    size_t n = strlen(request);
    char *s = malloc(n + sizeof OKT_REPLY_SUFFIX);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)tolower((unsigned char)request[i]);
    memcpy(s + n, OKT_REPLY_SUFFIX, sizeof OKT_REPLY_SUFFIX);
    return s;
}

/* Reply to the request, named by the table; obj is stolen (NULL: {}).
 * `result: 1` unless the object has one or the table says a real server
 * leaves it out. */
static int reply(req *r, json_t *obj)
{
    char *owned = r->w ? NULL : unknown_reply_name(r->name);
    const char *name = r->w ? r->w->reply : owned;
    if (!obj)
        obj = json_object();
    if (!obj || !name) {
        json_decref(obj);
        free(owned);
        return -1;
    }
    if (!json_object_get(obj, OKT_F_RESULT) && !(r->w && r->w->no_result))
        json_object_set_new(obj, OKT_F_RESULT, json_integer(1));
    if (r->qid)
        json_object_set(obj, OKT_F_QID, (json_t *)r->qid);
    echo(r, obj, OKT_F_USERLOGIN);
    echo(r, obj, OKT_F_USERID);
    int rc = send_msg(r->out, r->sess, name, obj);
    free(owned);
    return rc;
}

/* A refusal: `result: 0` and a text; there are no error numbers but the
 * login values of §8.1. */
static int reply_err(req *r, const char *msg)
{
    json_t *o = json_pack("{s:i, s:s}", OKT_F_RESULT, 0, OKT_F_ERRORMSG, msg);
    return o ? reply(r, o) : -1;
}

/* ---- parameters: checked against the method's okt_field list ------- */

static const json_t *param(const req *r, const char *key)
{
    const json_t *j = json_object_get(r->params, key);
    return json_is_null(j) ? NULL : j;
}

/* OKT_PT_INT: an integer, or a string of decimal digits (real servers
 * send codes both ways, §14.1). 1 and *v, or 0. */
static int as_int(const json_t *j, long long *v)
{
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return 1;
    }
    if (!json_is_string(j))
        return 0;
    const char *s = json_string_value(j), *p = s;
    if (*p == '-')
        p++;
    if (!*p || strspn(p, "0123456789") != strlen(p))
        return 0;
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno)
        return 0;
    *v = x;
    return 1;
}

/* OKT_PT_BOOL: true / false, or the numbers 0 / 1. */
static int as_bool(const json_t *j, int *v)
{
    if (json_is_boolean(j)) {
        *v = json_is_true(j);
        return 1;
    }
    if (json_is_integer(j) &&
        (json_integer_value(j) == 0 || json_integer_value(j) == 1)) {
        *v = (int)json_integer_value(j);
        return 1;
    }
    return 0;
}

/* What a value of this type must be, for the refusal text; NULL: j fits. */
static const char *type_mismatch(int type, const json_t *j)
{
    long long i;
    int b;
    switch (type) {
    case OKT_PT_STRING:
        return json_is_string(j) ? NULL : "string";
    case OKT_PT_INT:
        return as_int(j, &i) ? NULL : "integer";
    case OKT_PT_BOOL:
        return as_bool(j, &b) ? NULL : "boolean";
    case OKT_PT_USERSTATE:
        return as_int(j, &i) ? NULL : "user state code";
    case OKT_PT_LINESTATE:
        if (json_is_string(j) && okt_linestate_code(json_string_value(j)) >= 0)
            return NULL;
        return as_int(j, &i) && okt_linestate_def(i) ? NULL : "line state";
    case OKT_PT_OBJECT:
        return json_is_object(j) ? NULL : "object";
    case OKT_PT_ARRAY:
        return json_is_array(j) ? NULL : "list";
    case OKT_PT_STRINGS:
        if (json_is_string(j))
            return NULL;   /* one name instead of a list: tolerated */
        if (!json_is_array(j))
            return "list of strings";
        for (size_t k = 0; k < json_array_size(j); k++)
            if (!json_is_string(json_array_get(j, k)))
                return "list of strings";
        return NULL;
    default:
        return NULL;
    }
}

/* Check every parameter of the table's list: 0 all fit, 1 refused (the
 * reply is out), -1 out of memory. */
static int check_params(req *r)
{
    char msg[160];
    for (const okt_field *f = r->w->params; f->wire; f++) {
        const json_t *j = param(r, f->wire);
        if (!j) {
            if (!(f->flags & OKT_PF_REQUIRED))
                continue;
            snprintf(msg, sizeof msg, "Parameter '%s' is required", f->wire);
            return reply_err(r, msg) ? -1 : 1;
        }
        const char *want = type_mismatch(f->type, j);
        long long code;
        if (!want && f->type == OKT_PT_USERSTATE && as_int(j, &code) &&
            !okt_userstate_def(code))
            return reply_err(r, "Unknown user state") ? -1 : 1;
        if (want) {
            snprintf(msg, sizeof msg, "Bad parameter '%s': %s expected",
                     f->wire, want);
            return reply_err(r, msg) ? -1 : 1;
        }
    }
    return 0;
}

/* Getters of checked parameters: 1 present (value set), 0 absent. */
static int p_int(const req *r, const char *key, long long *v)
{
    const json_t *j = param(r, key);
    return j && as_int(j, v);
}

static int p_bool(const req *r, const char *key, int *v)
{
    const json_t *j = param(r, key);
    return j && as_bool(j, v);
}

static const char *p_str(const req *r, const char *key)
{
    return json_string_value(param(r, key));
}

static int find_user(const okt_model *m, const char *login)
{
    for (size_t i = 0; login && i < m->nusers; i++)
        if (strcasecmp(m->users[i].login, login) == 0)
            return (int)i;
    return -1;
}

static int find_task(const okt_model *m, const char *id)
{
    for (size_t i = 0; id && i < m->ntasks; i++)
        if (strcasecmp(m->tasks[i].id, id) == 0)
            return (int)i;
    return -1;
}

static long count_inside(const okt_model *m)
{
    long n = 0;
    for (size_t i = 0; i < m->nusers; i++)
        n += m->users[i].inside;
    return n;
}

static muser *me(req *r)
{
    return &r->m->users[r->m->sess[r->sess].user];
}

/* ---- login throttling ----------------------------------------------- */

#define LOCKOUT_DOUBLINGS 6     /* the window grows to 64 x login_lockout */

static int throttled(const okt_model *m, const mthrottle *th)
{
    return th && m->now < th->until;
}

/* A failed login: past login_failures, refuse for login_lockout, doubled
 * with each further failure. A record quiet for the longest window starts
 * over. */
static void note_fail(okt_model *m, mthrottle *th)
{
    if (!th)
        return;
    if (th->fails &&
        m->now - th->last >= m->login_lockout << LOCKOUT_DOUBLINGS)
        th->fails = 0;
    th->fails++;
    th->last = m->now;
    if (th->fails >= m->login_failures) {
        int k = th->fails - m->login_failures;
        th->until = m->now +
                    (m->login_lockout << (k < LOCKOUT_DOUBLINGS ? k
                                                                : LOCKOUT_DOUBLINGS));
    }
}

/* The failure record of sess's source address; NULL when the address is
 * not known, or none is kept and create is 0. The table is bounded: a new
 * address takes the slot of the one that failed longest ago. */
static mthrottle *addr_rec(okt_model *m, int sess, int create)
{
    const char *a = m->sess[sess].addr;
    if (!a[0])
        return NULL;
    for (size_t i = 0; i < m->naddrs; i++)
        if (strcmp(m->addrs[i].addr, a) == 0)
            return &m->addrs[i].th;
    if (!create)
        return NULL;
    if (!m->addrs && !(m->addrs = calloc(OKT_EMU_FAIL_ADDRS, sizeof *m->addrs)))
        return NULL;    /* no memory: this address goes unthrottled */
    size_t k = m->naddrs;
    if (k == OKT_EMU_FAIL_ADDRS) {
        k = 0;
        for (size_t i = 1; i < m->naddrs; i++)
            if (m->addrs[i].th.last < m->addrs[k].th.last)
                k = i;
    } else {
        m->naddrs++;
    }
    memset(&m->addrs[k], 0, sizeof m->addrs[k]);
    snprintf(m->addrs[k].addr, sizeof m->addrs[k].addr, "%s", a);
    return &m->addrs[k].th;
}

/* A login refused for its credentials: counted for the user (when there
 * is one) and the source address. */
static int login_failed(req *r, muser *u, const char *msg)
{
    note_fail(r->m, u ? &u->th : NULL);
    note_fail(r->m, addr_rec(r->m, r->sess, 1));
    return reply_err(r, msg);
}

/* ---- handlers ------------------------------------------------------- */

static int h_ping(req *r)
{
    return reply(r, NULL);
}

static int h_login(req *r)
{
    okt_model *m = r->m;
    const char *login = p_str(r, OKT_F_USERLOGIN);
    const char *pw = p_str(r, OKT_F_PASSWORD_CS);
    const char *pwl = p_str(r, OKT_F_PASSWORD_CI);
    const char *sid = p_str(r, OKT_F_SESSIONID);
    int ui = find_user(m, login);
    muser *u = ui >= 0 ? &m->users[ui] : NULL;
    int k = -1;
    /* Password guessing: a user or an address with too many failures is
     * refused before any check, whatever it sends. */
    if (throttled(m, u ? &u->th : NULL) ||
        throttled(m, addr_rec(m, r->sess, 0)))
        return reply_err(r, OKT_EMU_E_THROTTLED);
    /* refusals carry the texts oktell.js matches (§8.1): an id that is
     * not stored (never handed out, expired, revoked by logout), or one
     * handed out to another user */
    if (!pw && !pwl && sid) {
        k = store_find(m, sid);
        if (k < 0)
            return login_failed(r, u, OKT_SE_NO_SESSION);
        if (m->stored[k].user != ui)
            return login_failed(r, u, OKT_SE_SESSION_USER);
    } else {
        char h[33], hl[33];
        int ok = 0;
        if (u) {
            password_hash(u->password, 0, h);
            password_hash(u->password, 1, hl);
            ok = pw ? strcasecmp(pw, h) == 0
                    : pwl && strcasecmp(pwl, hl) == 0;
        }
        if (!ok)
            return login_failed(r, u, OKT_SE_WRONG_LOGIN);
    }
    u->th.fails = 0;    /* the address keeps its count: see EMULATOR.md */
    /* A second login on the same transport replaces the first. */
    unbind(m, r->sess);
    touch(m, ui);
    if (u->nsess == 0) {
        /* EMULATOR.md: usDisconnected becomes usReady at login, redirect
         * starts off, presence in the call-center is kept. */
        if (!held(u))
            u->st = OKT_US_READY;
        u->redirect = 0;
    }
    m->sess[r->sess].user = ui;
    m->sess[r->sess].next = u->first_sess;
    u->first_sess = r->sess;
    u->nsess++;
    if (k < 0) {
        /* A password login starts a session of its own; `expires` (§3.2:
         * a lifetime in seconds) may shorten it, never extend it. */
        int64_t ttl = m->session_ttl;
        long long want = 0;
        if (p_int(r, OKT_F_EXPIRES, &want) && want > 0 && want < ttl / 1000)
            ttl = (int64_t)want * 1000;
        if ((k = store_new(m, ui, ttl)) < 0)
            return -1;
    }
    m->sess[r->sess].stored = k;
    m->sess[r->sess].stored_gen = m->stored[k].gen;
    return reply(r, json_pack("{s:s, s:s}", OKT_F_USERID, u->id,
                              OKT_F_SESSIONID, m->stored[k].id));
}

/* oktell.js waits for the server to close (§3.5); the CRM link's server
 * answers first (§14.2), so both. */
static int h_logout(req *r)
{
    /* Logout revokes the session id this transport logged in with: a
     * later login by it is refused (§3.5: keepSession closes instead). */
    msess *ss = &r->m->sess[r->sess];
    if (ss->stored >= 0 && r->m->stored[ss->stored].id[0] &&
        r->m->stored[ss->stored].gen == ss->stored_gen)
        store_remove(r->m, ss->stored);
    ss->stored = -1;
    unbind(r->m, r->sess);
    if (reply(r, NULL))
        return -1;
    return out_push(r->out, r->sess, OKT_OUT_CLOSE, NULL, 0);
}

static uint64_t event_bit(const char *name)
{
    return ev_bit(okt_proto_event_by_wire(name));
}

static int h_subscribe(req *r)
{
    const json_t *ev = param(r, OKT_F_EVENTMETHOD);
    uint64_t bits = 0;
    size_t n = json_is_array(ev) ? json_array_size(ev) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(ev) ? json_array_get(ev, i) : ev;
        const char *name = json_string_value(e);
        bits |= event_bit(name);
        /* A group name stands for its members (§2.5): the client marks
         * them subscribed without sending them. */
        const okt_event_group *g = okt_proto_group(name);
        for (const char *const *p = g ? g->members : NULL; p && *p; p++)
            bits |= event_bit(*p);
    }
    r->m->sess[r->sess].subs |= bits;
    return reply(r, NULL);
}

/* What one setuserstate asks for (any part may be absent). */
typedef struct state_ask {
    int has_uid, has_cc, cc, has_redir, redir, has_man, man, has_lr;
    long long uid, lr;
    const char *msg;   /* lunchreasonmsg; NULL: absent */
} state_ask;

/* Apply a state request as a whole (EMULATOR.md): the call-center first,
 * then the state, then redirect; any refused part refuses it all. NULL, or
 * the refusal's text. */
static const char *apply_state(req *r, const state_ask *q)
{
    okt_model *m = r->m;
    int ui = m->sess[r->sess].user;
    muser *u = me(r);
    /* Work on copies; commit only if every part is accepted. */
    int inside = u->inside, external = u->external, st = u->st;
    int in_call = u->cv_state != 0;
    int evict = -1;
    if (q->has_cc && q->cc && !inside) {
        if (count_inside(m) >= m->licenses) {
            for (size_t i = 0; i < m->nusers && evict < 0; i++)
                if (m->users[i].inside && m->users[i].nsess == 0)
                    evict = (int)i;
            if (evict < 0)
                return "No free call-center licence";
        }
        inside = 1;
    } else if (q->has_cc && !q->cc && inside) {
        inside = 0;
        if (external) {
            external = 0;
            if (u->task == TK_NONE)
                st = OKT_US_READY;
        }
        if (st == OKT_US_LUNCH)
            st = OKT_US_READY;
    }
    int busy = external || u->task != TK_NONE || in_call;
    if (q->has_uid) {
        long long uid = q->uid;
        if (!okt_userstate_def(uid))
            return "Unknown user state";
        if (uid == st && (busy || uid == OKT_US_FULLBUSY)) {
            /* asking for the state already held changes nothing */
        } else if (!okt_userstate_settable(uid)) {
            return "The state cannot be set";
        } else if (!line_works(u)) {
            return "The line does not work";
        } else if (busy) {
            return "The user is busy in a call or task";
        } else if (uid == OKT_US_LUNCH && !inside) {
            return "A break needs the user inside the call-center";
        }
        st = (int)uid;
    }
    if (q->has_redir && q->redir && !u->redirect_number)
        return "No redirect number";
    /* commit */
    touch(m, ui);
    if (evict >= 0) {
        muser *e = &m->users[evict];
        touch(m, evict);
        e->inside = 0;
        if (e->st == OKT_US_LUNCH)
            e->st = OKT_US_READY;
        e->external = 0;
    }
    if (q->has_uid && st != u->st)
        set_str(&u->reasonmsg, NULL);
    u->inside = inside;
    u->external = external;
    if (st != OKT_US_LUNCH)
        u->lunchreason = -1;
    u->st = st;
    if (q->msg)
        set_str(&u->reasonmsg, q->msg[0] ? q->msg : NULL);
    if (q->has_lr && st == OKT_US_LUNCH)
        u->lunchreason = (int)q->lr;
    if (q->has_redir)
        u->redirect = q->redir;
    if (q->has_man)
        u->ccmanual = q->man;
    return NULL;
}

static int h_setuserstate(req *r)
{
    state_ask q = {0};
    q.has_uid = p_int(r, OKT_F_USERSTATEID, &q.uid);
    q.has_cc = p_bool(r, OKT_F_ONCALLCENTER, &q.cc);
    q.has_redir = p_bool(r, OKT_F_ONREDIRECT, &q.redir);
    q.has_man = p_bool(r, OKT_F_ONCCMANUAL, &q.man);
    q.has_lr = p_int(r, OKT_F_LUNCHREASONID, &q.lr);
    q.msg = p_str(r, OKT_F_LUNCHREASONMSG);
    const char *refused = apply_state(r, &q);
    if (refused)
        return reply_err(r, refused);
    /* oktell.js reads the new state from this reply (§5.3) */
    return reply(r, state_json(me(r)));
}

/* entercallcenter / exitcallcenter (§14.2): setuserstate {oncallcenter}. */
static int callcenter(req *r, int enter)
{
    state_ask q = {0};
    q.has_cc = 1;
    q.cc = enter;
    const char *refused = apply_state(r, &q);
    return refused ? reply_err(r, refused) : reply(r, NULL);
}

static int h_entercallcenter(req *r)
{
    return callcenter(r, 1);
}

static int h_exitcallcenter(req *r)
{
    return callcenter(r, 0);
}

static int external(req *r, int which)
{
    okt_model *m = r->m;
    int ui = m->sess[r->sess].user;
    muser *u = me(r);
    int ok = 0;
    touch(m, ui);
    if (which == 0) {           /* set busy */
        if (!held(u)) {
            u->external = 1;
            u->st = OKT_US_FULLBUSY;
            ok = 1;
        }
    } else if (which == 1) {    /* set free */
        if (u->external) {
            u->external = 0;
            ok = 1;
            if (u->task != TK_NONE) {
                /* an internal task still holds the user */
            } else {
                /* The first waiting caller is called back to the line
                 * (the call model rings it: usReserved shown). */
                u->st = OKT_US_READY;
                if (u->has_line && okt_calls_callback(m->calls, ui) < 0)
                    return -1;
            }
        }
    } else {
        ok = u->external;
    }
    return reply(r, json_pack("{s:b}", OKT_F_SUCCESS, ok));
}

static int h_setbusy(req *r)
{
    return external(r, 0);
}

static int h_setfree(req *r)
{
    return external(r, 1);
}

static int h_checkbusy(req *r)
{
    return external(r, 2);
}

static int h_settaskactive(req *r)
{
    okt_model *m = r->m;
    const char *type = p_str(r, OKT_F_TASKTYPE), *id = p_str(r, OKT_F_IDTASK);
    long long active = 0;
    p_int(r, OKT_F_ACTIVE, &active);
    if (active != 1 && active != 2)
        return reply_err(r, "Bad parameter '" OKT_F_ACTIVE
                            "': 1 or 2 expected");
    int ti = find_task(m, id);
    if (ti < 0 || strcasecmp(m->tasks[ti].type, type) != 0)
        return reply(r, json_pack("{s:b, s:s}", OKT_F_SUCCESS, 0,
                                  OKT_F_ERRORMSG, "Задача не найдена"));
    mtask *t = &m->tasks[ti];
    if (t->locked_by) {
        size_t n = strlen(LOCK_TEXT) + strlen(t->locked_by) + 1;
        char *msg = malloc(n);
        if (!msg)
            return -1;
        snprintf(msg, n, "%s%s", LOCK_TEXT, t->locked_by);
        json_t *o = json_pack("{s:b, s:s}", OKT_F_SUCCESS, 0, OKT_F_ERRORMSG,
                              msg);
        free(msg);
        return reply(r, o);
    }
    t->active = active == 1;
    return reply(r, json_pack("{s:b}", OKT_F_SUCCESS, 1));
}

static int h_setconfirmusage(req *r)
{
    int use = 0;
    p_bool(r, OKT_F_USE, &use);
    r->m->sess[r->sess].confirm_usage = use;
    return reply(r, NULL);
}

/* An answer of TM_SetConfirmResult: its word (any case) or its index as a
 * one-digit string; -1 otherwise. */
static int parse_confirm(const char *s)
{
    int n = 0;
    for (; okt_proto_confirm_words[n]; n++)
        if (strcasecmp(s, okt_proto_confirm_words[n]) == 0)
            return n;
    if (s[0] >= '0' && s[0] < '0' + n && !s[1])
        return s[0] - '0';
    return -1;
}

static int h_setconfirmresult(req *r)
{
    okt_model *m = r->m;
    int ui = m->sess[r->sess].user;
    muser *u = me(r);
    int res = parse_confirm(p_str(r, OKT_F_CONFIRMRESULT));
    if (res < 0) {
        const char *const *w = okt_proto_confirm_words;
        char msg[96];
        snprintf(msg, sizeof msg,
                 "Bad parameter '" OKT_F_CONFIRMRESULT
                 "': %s, %s or %s expected", w[0], w[1], w[2]);
        return reply_err(r, msg);
    }
    if (u->task != TK_CONFIRM)
        return reply(r, json_pack("{s:b}", OKT_F_SUCCESS, 0));
    touch(m, ui);
    if (res == 0) {
        u->task = TK_DIALING;
        if (prompt(m, ui, EV_RESERVE))
            return -1;
    } else {
        if (res == 2)
            m->tasks[u->otask].deleted++;
        if (prompt(m, ui, EV_CLOSE))
            return -1;
        clear_task(u);
        u->st = OKT_US_READY;
    }
    return reply(r, json_pack("{s:b}", OKT_F_SUCCESS, 1));
}

static int h_getversion(req *r)
{
    /* dated >= 150416: oktell.js then uses every feature it has (§9) */
    /* the procedures the config allows, lower-cased (§4) */
    json_t *o = json_pack("{s:{s:i, s:s, s:i}, s:o}", OKT_F_VERSION,
                          OKT_F_DATED, 161116, OKT_F_BUILD, "2.11.1.161116",
                          OKT_F_WEBSERVERPORT, 80, OKT_F_ALLOWEDDBSTOREDPROCS,
                          okt_calls_procs(r->m->calls));
    json_t *ext = json_array();
    if (!o || !ext) {
        json_decref(o);
        json_decref(ext);
        return -1;
    }
    /* Our extensions are the requests the table has no source for. */
    for (const okt_wire_method *w = okt_proto_wire_methods(NULL); w->request;
         w++)
        if (!w->source)
            json_array_append_new(ext, json_string(w->request));
    json_object_set_new(o, OKT_PROTO_EXT_FIELD, ext);
    return reply(r, o);
}

static int h_getmyuserinfo(req *r)
{
    const muser *u = me(r);
    return reply(r, json_pack(
        "{s:s, s:s, s:b, s:s, s:s, s:b}", OKT_F_MAINPBXNUMBER,
        u->has_line ? u->number : "", OKT_F_USERNAME, u->name, OKT_F_HASLINE,
        u->has_line, OKT_F_LINEID, u->has_line ? u->lineid : ZERO_GUID,
        OKT_F_LINENUMBER, u->has_line ? u->number : "", OKT_F_ISOPERATOR,
        u->isoperator));
}

/* The reference's userinfo, flat; never the password. */
static int h_fullinfo(req *r)
{
    const muser *u = me(r);
    int ui = r->m->sess[r->sess].user;
    json_t *rights = json_object(), *titles = json_object();
    for (size_t i = 0; rights && titles && i < NRIGHTS; i++) {
        /* the user's role and own rights (the call model's roles) */
        json_object_set_new(rights, default_rights[i][0],
                            json_boolean(okt_calls_right(
                                r->m->calls, ui, default_rights[i][0])));
        json_object_set_new(titles, default_rights[i][0],
                            json_string(default_rights[i][1]));
    }
    if (!rights || !titles) {
        json_decref(rights);
        json_decref(titles);
        return -1;
    }
    return reply(r, json_pack(
        "{s:s, s:i, s:s, s:s, s:b, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:s, "
        "s:s, s:o, s:o}",
        OKT_F_ID, u->id, OKT_F_TYPE, OKT_UT_USER, OKT_F_TYPE_NAME,
        OKT_UT_USER_NAME, OKT_F_NAME, u->name, OKT_F_ISOPERATOR, u->isoperator,
        OKT_F_GROUP, OKT_F_ID, u->group_id, OKT_F_NAME, u->group_name,
        OKT_F_LOGIN, u->login, OKT_F_ROLE, OKT_F_ID, u->role_id, OKT_F_NAME,
        u->role_name, OKT_F_CALLERID, u->callerid, OKT_F_INFO, u->info,
        OKT_F_RIGHTS, rights, OKT_F_RIGHT_TITLES, titles));
}

/* The busiest reply, written straight from the user's state: the text
 * reply() makes of state_json (the state fields in their order, result
 * unless the table leaves it out, the qid; userlogin and userid are state
 * fields, so echo adds nothing), without building the tree. The request
 * was parsed by jansson as any other; anything unusual (a field that
 * cannot be written) takes the tree way, which says how it ends. */
static int h_getuserstate(req *r)
{
    const muser *u = me(r);
    if (r->w) {
        char code[16];
        sfield f[NSFIELDS];
        size_t n = state_fields(u, code, f);
        okt_jw w;
        okt_jw_init(&w);
        OKT_JW_LIT(&w, "[");
        okt_jw_str(&w, r->w->reply, strlen(r->w->reply));
        OKT_JW_LIT(&w, ",{");
        jw_state_fields(&w, f, n);
        if (!r->w->no_result) {
            OKT_JW_LIT(&w, ",");
            okt_jw_str(&w, OKT_F_RESULT, strlen(OKT_F_RESULT));
            OKT_JW_LIT(&w, ":1");
        }
        if (r->qid) {
            OKT_JW_LIT(&w, ",");
            okt_jw_str(&w, OKT_F_QID, strlen(OKT_F_QID));
            OKT_JW_LIT(&w, ":");
            okt_jw_value(&w, r->qid);
        }
        OKT_JW_LIT(&w, "}]");
        size_t len;
        char *text = okt_jw_take(&w, &len);
        if (text)
            return out_push(r->out, r->sess, OKT_OUT_SEND, text, len);
    }
    return reply(r, state_json(u));
}

static int h_redirectrules(req *r)
{
    const muser *u = me(r);
    json_t *rules = json_array();
    if (rules && u->redirect_number) {
        /* oktell.js finds its rule by md5hex(lower(id) + lower(id)). */
        char key[80], hex[33];
        size_t n = strlen(u->id);
        if (n > 36)
            n = 36;
        for (size_t i = 0; i < n; i++)
            key[i] = key[n + i] = (char)tolower((unsigned char)u->id[i]);
        md5hex((const unsigned char *)key, 2 * n, hex);
        json_array_append_new(rules,
                              json_pack("{s:s, s:s, s:b}", OKT_F_ID, hex,
                                        OKT_F_DESTINATIONNUMBER,
                                        u->redirect_number, OKT_F_ISENABLED,
                                        1));
    }
    return rules ? reply(r, json_pack("{s:o}", OKT_F_REDIRECTRULES, rules))
                 : -1;
}

static int h_photolinks(req *r)
{
    return reply(r, json_pack("{s:[]}", OKT_F_LINKS));
}

/* One handler per wire method of the protocol table, by its id: a request
 * is found by name in the table, then served by its row's id. anon: served
 * before login. */
static const struct handler {
    int (*fn)(req *r);
    int anon;
} handlers[OKT_M_COUNT] = {
    [OKT_M_PING] = {h_ping, 1},
    [OKT_M_LOGIN] = {h_login, 1},
    [OKT_M_LOGOUT] = {h_logout, 1},
    [OKT_M_SUBSCRIBEEVENT] = {h_subscribe, 0},
    [OKT_M_GETVERSION] = {h_getversion, 0},
    [OKT_M_GETMYUSERINFO] = {h_getmyuserinfo, 0},
    [OKT_M_GETCURRENTUSERFULLINFO] = {h_fullinfo, 0},
    [OKT_M_GETUSERSTATE] = {h_getuserstate, 0},
    [OKT_M_SETUSERSTATE] = {h_setuserstate, 0},
    [OKT_M_ENTERCALLCENTER] = {h_entercallcenter, 0},
    [OKT_M_EXITCALLCENTER] = {h_exitcallcenter, 0},
    [OKT_M_GETEXTENDEDLINEINFO] = {okt_h_lineinfo, 0},
    [OKT_M_CC_SETBUSYINEXTERNALTASK] = {h_setbusy, 0},
    [OKT_M_CC_SETFREEINEXTERNALTASK] = {h_setfree, 0},
    [OKT_M_CC_CHECKBUSYINEXTERNALTASK] = {h_checkbusy, 0},
    [OKT_M_TM_SETTASKACTIVE] = {h_settaskactive, 0},
    [OKT_M_TM_SETCONFIRMUSAGE] = {h_setconfirmusage, 0},
    [OKT_M_TM_SETCONFIRMRESULT] = {h_setconfirmresult, 0},
    [OKT_M_GETCURRENTQUEUE] = {okt_h_queue, 0},
    [OKT_M_CC_GETLUNCHTYPES] = {okt_h_lunchtypes, 0},
    [OKT_M_GETREDIRECTRULES] = {h_redirectrules, 0},
    [OKT_M_GETPBXNUMBERS] = {okt_h_pbxnumbers, 0},
    [OKT_M_GETALLUSERNUMBERS] = {okt_h_allusernumbers, 0},
    [OKT_M_GETALLUSERPHOTOLINK] = {h_photolinks, 0},
    /* the call model (calls.h; docs/EMULATOR.md "Calls") */
    [OKT_M_PBXAUTOCALLSTART] = {okt_h_autocallstart, 0},
    [OKT_M_PBXAUTOCALLABORT] = {okt_h_autocallabort, 0},
    [OKT_M_PBXABORTCALL] = {okt_h_abortcall, 0},
    [OKT_M_PBXDECLINECALL] = {okt_h_declinecall, 0},
    [OKT_M_PBXANSWERCALL] = {okt_h_answercall, 0},
    [OKT_M_PBXMAKEFLASH] = {okt_h_makeflash, 0},
    [OKT_M_PBXMAKETRANSFER] = {okt_h_maketransfer, 0},
    [OKT_M_GETFLASHEDABONENTINFO] = {okt_h_flashedinfo, 0},
    [OKT_M_BUILDCONFERENCEFROMCOMMUTATION] = {okt_h_buildconf, 0},
    [OKT_M_CREATENEWCONFERENCE] = {okt_h_createconf, 0},
    [OKT_M_INVITETOCONFERENCE] = {okt_h_inviteconf, 0},
    [OKT_M_CHECKCANCONNECTTOGATHERTOCONFERENCE] = {okt_h_checkconnect, 0},
    [OKT_M_CONNECTTOGATHERTOCONFERENCE] = {okt_h_connectconf, 0},
    [OKT_M_CONFHANDLEEVENT] = {okt_h_confhandle, 0},
    [OKT_M_GETCONFERENCEINFO] = {okt_h_confinfo, 0},
    [OKT_M_GETCONFERENCECOMPETITORS] = {okt_h_confcompetitors, 0},
    [OKT_M_CONFDISCONNECTCOMPETITOR] = {okt_h_confkick, 0},
    [OKT_M_EXITCONFERENCE] = {okt_h_confexit, 0},
    [OKT_M_TRIGGERCUSTOMEVENT] = {okt_h_customevent, 0},
    [OKT_M_EXECPREDEFINEDDBSTOREDPROC] = {okt_h_storedproc, 0},
};

static int dispatch(req *r)
{
    const struct handler *h = NULL;
    if (r->w && r->w->id >= 0 && r->w->id < OKT_M_COUNT)
        h = &handlers[r->w->id];
    if (!h || !h->fn)
        return reply_err(r, "Unknown method");
    if (!h->anon && r->m->sess[r->sess].user < 0)
        return reply_err(r, "Not logged in");
    /* At speed "max" emulated time runs without a clock: no WebSocket
     * client could keep up (docs/EMULATOR.md). */
    if (h->fn == h_login && okt_calls_max_speed(r->m->calls))
        return reply_err(r, OKT_SE_NOT_STARTED);
    int rc = check_params(r);
    if (rc)
        return rc < 0 ? -1 : 0;
    return h->fn(r);
}

int okt_model_feed(okt_model *m, int sess, const char *text, size_t len,
                   okt_out *out)
{
    if (!valid_sess(m, sess))
        return 0;
    json_t *root = NULL, *params = NULL;
    const char *name = NULL;
    okt_err perr;
    /* A request is small: bound what jansson would build before it builds
     * it (a 16 MB frame of "[]," is four million arrays). */
    if (okt_msg_scan(text, len, OKT_MAX_JSON_DEPTH, OKT_EMU_JSON_ITEMS,
                     OKT_EMU_JSON_TOKEN, OKT_EMU_JSON_TEXT, &perr) != 0 ||
        okt_msg_parse_scanned(text, len, &root, &name, &params, &perr) != 0) {
        /* No method to name the reply after, nor a qid to echo. perr names
         * the fault, never quoting the input (a login, maybe). */
        char msg[OKT_ERRMSG_MAX + 16];
        snprintf(msg, sizeof msg, "Bad request: %s", perr.msg);
        json_t *o = json_pack("{s:i, s:s}", OKT_F_RESULT, 0, OKT_F_ERRORMSG,
                              msg);
        return o ? send_msg(out, sess, OKT_MSG_ERROR, o) : -1;
    }
    /* Method names are lowercase on the wire; the table matches any case. */
    req r = {m, out, sess, okt_proto_wire(name), name, params,
             json_object_get(params, OKT_F_QID)};
    int rc = dispatch(&r);
    if (finish_reaction(m, out))
        rc = -1;
    json_decref(root);
    return rc;
}

/* ---- control calls -------------------------------------------------- */

static const char *a_str(const json_t *args, const char *key)
{
    const json_t *j = args ? json_object_get(args, key) : NULL;
    return json_is_string(j) ? json_string_value(j) : NULL;
}

static int ctl_user(okt_model *m, const json_t *args, okt_err *err)
{
    const char *login = a_str(args, "user");
    if (!login)
        return okt_err_set(err, OKT_EINVAL, "user: login string expected");
    int ui = find_user(m, login);
    if (ui < 0)
        return okt_err_set(err, OKT_EINVAL, "unknown user '%s'", login);
    return ui;
}

static int ctl_offer(okt_model *m, const json_t *args, okt_err *err)
{
    int ui = ctl_user(m, args, err);
    if (ui < 0)
        return -1;
    muser *u = &m->users[ui];
    const char *mode = a_str(args, "mode");
    const char *tid = a_str(args, "task");
    const char *number = a_str(args, "number");
    const char *text = a_str(args, "text");
    const json_t *idin = args ? json_object_get(args, "idinlist") : NULL;
    int confirm = streq(mode, "confirm");
    if (!confirm && !streq(mode, "notify"))
        return okt_err_set(err, OKT_EINVAL,
                           "mode: \"confirm\" or \"notify\" expected");
    int ti = 0;
    if (tid && (ti = find_task(m, tid)) < 0)
        return okt_err_set(err, OKT_EINVAL, "unknown task '%s'", tid);
    if (idin && !json_is_null(idin) && !json_is_integer(idin))
        return okt_err_set(err, OKT_EINVAL, "idinlist: integer expected");
    if (u->nsess == 0)
        return okt_err_set(err, OKT_ENOTSETTABLE, "user '%s' is not logged in",
                           u->login);
    if (held(u) || okt_calls_in_call(m->calls, ui))
        return okt_err_set(err, OKT_ENOTSETTABLE,
                           "user '%s' is busy in a call or task", u->login);
    if (confirm && (!u->inside || eff_state(u) != OKT_US_READY))
        return okt_err_set(err, OKT_ENOTSETTABLE,
                           "user '%s' must be inside the call-center and ready",
                           u->login);
    touch(m, ui);
    u->otask = ti;
    set_str(&u->onumber, number ? number : "");
    set_str(&u->otext, text ? text : "");
    u->oidinlist = json_is_integer(idin) ? json_integer_value(idin) : 1;
    u->task = confirm ? TK_CONFIRM : TK_DIALING;
    u->st = OKT_US_RESERVED;
    return prompt(m, ui, confirm ? EV_CONFIRM : EV_RESERVE);
}

static int ctl_finish(okt_model *m, const json_t *args, okt_err *err)
{
    int ui = ctl_user(m, args, err);
    if (ui < 0)
        return -1;
    muser *u = &m->users[ui];
    const char *how = a_str(args, "outcome");
    int answered = streq(how, "answered");
    if (!answered && !streq(how, "failed"))
        return okt_err_set(err, OKT_EINVAL,
                           "outcome: \"answered\" or \"failed\" expected");
    /* no prompt or dialing: a call on the line (the call model) */
    if (u->task == TK_NONE)
        return okt_calls_finish(m->calls, ui, answered, NULL, err);
    touch(m, ui);
    if (prompt(m, ui, EV_CLOSE))
        return -1;
    if (answered) {
        /* the task's number answered: a task call (ontask, usFullbusy
         * shown until it ends, then usReady) */
        char *num = u->onumber;
        u->onumber = NULL;
        clear_task(u);
        u->st = OKT_US_READY;
        int rc = okt_calls_finish(m->calls, ui, 1, num ? num : "", err);
        free(num);
        return rc;
    }
    clear_task(u);
    if (u->has_line)
        u->line = OKT_LS_READY;
    u->st = OKT_US_READY;
    return 0;
}

static int ctl_set_line(okt_model *m, const json_t *args, okt_err *err)
{
    int ui = ctl_user(m, args, err);
    if (ui < 0)
        return -1;
    muser *u = &m->users[ui];
    const char *name = a_str(args, "state");
    int code = okt_linestate_code(name);
    if (code < 0)
        return okt_err_set(err, OKT_EINVAL, "unknown line state '%s'",
                           name ? name : "(none)");
    touch(m, ui);
    u->has_line = 1;
    u->line = code;
    return 0;
}

static int ctl_task(okt_model *m, const json_t *args, int lock, okt_err *err)
{
    const char *id = a_str(args, "task");
    int ti = find_task(m, id);
    if (ti < 0)
        return okt_err_set(err, OKT_EINVAL, "unknown task '%s'",
                           id ? id : "(none)");
    const char *editor = a_str(args, "editor");
    if (lock && (!editor || !editor[0]))
        return okt_err_set(err, OKT_EINVAL, "editor: name expected");
    set_str(&m->tasks[ti].locked_by, lock ? editor : NULL);
    if (lock && !m->tasks[ti].locked_by)
        return okt_err_set(err, OKT_ENOMEM, "out of memory");
    return 0;
}

static json_t *ctl_snapshot(okt_model *m, const json_t *args, okt_err *err)
{
    int ui = ctl_user(m, args, err);
    if (ui < 0)
        return NULL;
    const muser *u = &m->users[ui];
    json_t *o = json_pack(
        "{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:i}", "userstate",
        okt_userstate_name(eff_state(u)), "linestate",
        okt_linestate_name(wire_line(u)), "inside", u->inside, "external",
        u->external, "connected", u->nsess > 0, "confirm_pending",
        u->task == TK_CONFIRM, "dialing", u->task == TK_DIALING, "redirect",
        u->redirect, "sessions", u->nsess, "queue",
        (int)okt_calls_queue_len(m->calls));
    /* the call model adds phone, chainid, held, conference */
    if (o && okt_calls_snapshot(m->calls, ui, o)) {
        json_decref(o);
        o = NULL;
    }
    if (!o)
        okt_err_set(err, OKT_ENOMEM, "out of memory");
    return o;
}

int okt_model_control(okt_model *m, const char *cmd, const json_t *args,
                      json_t **result, okt_out *out, okt_err *err)
{
    json_t *res = NULL;
    int rc;
    if (result)
        *result = NULL;
    if (args && !json_is_object(args))
        return okt_err_set(err, OKT_EINVAL, "arguments must be a table");
    if (!cmd)
        return okt_err_set(err, OKT_EINVAL, "command expected");
    if (!strcmp(cmd, "snapshot")) {
        res = ctl_snapshot(m, args, err);
        rc = res ? 0 : -1;
    } else if (!strcmp(cmd, "offer")) {
        rc = ctl_offer(m, args, err);
    } else if (!strcmp(cmd, "finish")) {
        rc = ctl_finish(m, args, err);
    } else if (!strcmp(cmd, "set_line")) {
        rc = ctl_set_line(m, args, err);
    } else if (!strcmp(cmd, "lock_task")) {
        rc = ctl_task(m, args, 1, err);
    } else if (!strcmp(cmd, "unlock_task")) {
        rc = ctl_task(m, args, 0, err);
    } else if (!strcmp(cmd, "drop")) {
        rc = ctl_user(m, args, err);
        if (rc >= 0) {
            for (int s = m->users[rc].first_sess; s >= 0; s = m->sess[s].next)
                if (out_push(out, s, OKT_OUT_ABORT, NULL, 0))
                    rc = okt_err_set(err, OKT_ENOMEM, "out of memory");
            rc = rc < 0 ? -1 : 0;
        }
    } else {
        /* the call model's commands (call_in, phone, traffic, enqueue, ...) */
        rc = okt_calls_control(m->calls, cmd, args, &res, out, err);
        if (rc == 1)
            return okt_err_set(err, OKT_EINVAL, "unknown command '%s'", cmd);
    }
    if (finish_reaction(m, out) && rc == 0)
        rc = okt_err_set(err, OKT_ENOMEM, "out of memory");
    if (rc == 0 && !res)
        res = json_true();
    if (result)
        *result = res;
    else
        json_decref(res);
    return rc < 0 ? -1 : 0;
}

/* ---- the clock (the call model's timers) ---------------------------- */

int okt_model_tick(okt_model *m, int64_t now, okt_out *out)
{
    return okt_calls_tick(m->calls, now, out);
}

int64_t okt_model_deadline(const okt_model *m)
{
    return okt_calls_deadline(m->calls);
}

/* ---- services for the call model (calls.h) -------------------------- */

size_t okt_m_nusers(const okt_model *m)
{
    return m->nusers;
}

void okt_m_user(const okt_model *m, int ui, okt_uview *v)
{
    const muser *u = &m->users[ui];
    *v = (okt_uview){
        .id = u->id, .login = u->login, .name = u->name,
        .number = u->number, .redirect_number = u->redirect_number,
        .group_id = u->group_id, .group_name = u->group_name,
        .role = u->role_name,
        .online = u->nsess > 0 || u->agent, .has_line = u->has_line,
        .line_ok = line_works(u), .inside = u->inside,
        .isoperator = u->isoperator, .redirect = u->redirect,
        .held = u->external || u->task != TK_NONE, .st = u->st,
        .shown = eff_state(u), .line = wire_line(u)};
}

int okt_m_find_login(const okt_model *m, const char *login)
{
    return find_user(m, login);
}

int okt_m_find_number(const okt_model *m, const char *number)
{
    for (size_t i = 0; number && i < m->nusers; i++)
        if (m->users[i].has_line && streq(m->users[i].number, number))
            return (int)i;
    return -1;
}

int okt_m_find_id(const okt_model *m, const char *id)
{
    for (size_t i = 0; id && i < m->nusers; i++)
        if (strcasecmp(m->users[i].id, id) == 0)
            return (int)i;
    return -1;
}

void okt_m_touch(okt_model *m, int ui)
{
    touch(m, ui);
}

void okt_m_callview(okt_model *m, int ui, int state, int ontask, int line)
{
    muser *u = &m->users[ui];
    u->cv_state = state;
    u->cv_ontask = ontask;
    u->cv_line = line;
}

void okt_m_set_state(okt_model *m, int ui, int st)
{
    touch(m, ui);
    m->users[ui].st = st;
}

void okt_m_agent(okt_model *m, int ui)
{
    muser *u = &m->users[ui];
    u->agent = 1;
    u->st = OKT_US_READY;
    if (!u->inside && count_inside(m) < m->licenses)
        u->inside = 1;
}

int okt_m_wants(const okt_model *m, int ui, const char *wire)
{
    uint64_t bit = ev_bit(okt_proto_event_by_wire(wire));
    for (int s = m->users[ui].first_sess; bit && s >= 0; s = m->sess[s].next)
        if (m->sess[s].subs & bit)
            return 1;
    return 0;
}

int okt_m_emit(okt_model *m, okt_out *out, int ui, const char *wire,
               const json_t *obj, int with_user)
{
    return emit(m, out, ui, wire, obj, with_user);
}

int okt_m_emit_sess(okt_model *m, okt_out *out, int sess, const char *wire,
                    const json_t *obj)
{
    const okt_event_def *d = okt_proto_event_by_wire(wire);
    if (!d || !valid_sess(m, sess) || m->sess[sess].user < 0)
        return 0;
    return send_to_sess(m, out, sess, wire, d, obj, NULL);
}

int okt_m_sess_user(const okt_model *m, int sess)
{
    return valid_sess(m, sess) ? m->sess[sess].user : -1;
}

const char *okt_m_right_title(const char *key)
{
    for (size_t i = 0; key && i < NRIGHTS; i++)
        if (!strcmp(default_rights[i][0], key))
            return default_rights[i][1];
    return NULL;
}

const char *okt_m_right_key(size_t i)
{
    return i < NRIGHTS ? default_rights[i][0] : NULL;
}

okt_calls *okt_m_calls(okt_model *m)
{
    return m->calls;
}

int okt_m_finish(okt_model *m, okt_out *out)
{
    return finish_reaction(m, out);
}

okt_model *okt_req_model(okt_req *r)
{
    return r->m;
}

int okt_req_user(const okt_req *r)
{
    return r->m->sess[r->sess].user;
}

int okt_req_sess(const okt_req *r)
{
    return r->sess;
}

okt_out *okt_req_out(okt_req *r)
{
    return r->out;
}

const json_t *okt_req_param(const okt_req *r, const char *key)
{
    return param(r, key);
}

int okt_req_reply(okt_req *r, json_t *obj)
{
    return reply(r, obj);
}

int okt_req_refuse(okt_req *r, long long error, const char *msg)
{
    json_t *o = error ? json_pack("{s:i, s:I, s:s}", OKT_F_RESULT, 0,
                                  OKT_F_ERROR, (json_int_t)error,
                                  OKT_F_ERRORMSG, msg)
                      : json_pack("{s:i, s:s}", OKT_F_RESULT, 0,
                                  OKT_F_ERRORMSG, msg);
    return o ? reply(r, o) : -1;
}
