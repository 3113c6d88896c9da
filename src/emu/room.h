/* room.h - the call model's own types, shared by its rooms (one file per
 * concern, docs/EMULATOR.md "Calls"):
 *   calls.c     the object: config, clock and timers, call slots, output
 *   lines.c     line stages, transitions, phone events
 *   pbx.c       the pbx* requests and getextendedlineinfo
 *   queue.c     the call-center queue, personal queues, dispatch
 *   rights.c    roles and rights, the refusals and their texts
 *   directory.c numbers, users, break reasons, custom events, procedures
 *   conf.c      conferences
 *   traffic.c   Poisson traffic, virtual agents, statistics
 *   control.c   the control commands (call_in, phone, traffic, ...)
 * Internal to src/emu. */
#ifndef OKT_ROOM_H
#define OKT_ROOM_H

#include <stdint.h>
#include <jansson.h>

#include "calls.h"
#include "protocol.h"
#include "states.h"

/* ---- bounds (every list the model keeps is bounded) ------------------- */
#define CALL_NUM 64            /* bytes of a number, NUL included */
#define CALL_NAME 128          /* bytes of a caller's or IVR's name */
#define MAX_CALLS 65536        /* calls alive at once */
#define MAX_TIMERS (1 << 20)   /* pending timers */
#define MAX_CONFS 256          /* conferences alive at once */
#define MAX_COMPS 32           /* competitors of one conference */
#define MAX_HANDLERS 64        /* sessions handling one conference's events */
#define MAX_TRAFFIC 8          /* traffic generators alive at once */
#define MAX_ABONENTS 1024      /* abonents with a behaviour set */
#define MAX_SERVICE 256        /* service numbers */
#define MAX_OUTQ 65536         /* queued conference and custom events */
#define MAX_HOPS 4             /* redirects followed by one call */
#define TICK_BATCH 4096        /* timers one tick fires at speed "max" */

/* ---- line stages (EMULATOR-calls §2) ------------------------------------ */
enum {
    ST_IDLE,
    ST_RING,          /* an incoming call rings: direct, queue, transfer */
    ST_ACM_RING,      /* click-to-call: the operator's phone rings */
    ST_ACM_WAITDOWN,  /* click-to-call, sequence "abonent": target first */
    ST_ACM_DIAL,      /* click-to-call: the operator on, the target dialled */
    ST_DIAL,          /* the operator dialled on the handset */
    ST_TALK,          /* talk, with or without a held party */
    ST_FLASH,         /* the party held, the operator alone */
    ST_CONF,          /* in a conference */
    ST_IVR,           /* in an IVR */
    ST_COUNT
};
extern const char *const okt_stage_names[ST_COUNT];

static inline int stage_talking(int st)   /* phone "talk": a party on */
{
    return st == ST_TALK || st == ST_CONF || st == ST_IVR;
}

static inline int stage_ringing(int st)
{
    return st == ST_RING || st == ST_ACM_RING;
}

static inline int stage_acm(int st)       /* a click-to-call under way */
{
    return st == ST_ACM_RING || st == ST_ACM_WAITDOWN || st == ST_ACM_DIAL;
}

/* ---- calls -------------------------------------------------------------- */
enum { SD_NONE, SD_USER, SD_EXT, SD_IVR, SD_CONF };  /* a side's kind */
enum { CK_PLAIN, CK_ACM, CK_INVITE };                /* a call's kind */
enum {
    PH_QUEUED,   /* a waits in a queue (b empty) */
    PH_RING,     /* b rings or is dialled; a waits */
    PH_ARING,    /* CK_ACM: a (the operator) rings */
    PH_TALK,     /* connected */
    PH_IVR       /* a is in b's IVR */
};
enum { OR_DIRECT, OR_QUEUE, OR_TASK };   /* why the call came: ontask */

typedef struct cside {
    int kind;                 /* SD_* */
    int user;                 /* SD_USER: the user's index */
    char num[CALL_NUM];       /* the number (SD_USER: the user's) */
    char name[CALL_NAME];     /* a caller's name, an IVR's name */
} cside;

typedef struct ccall {
    unsigned serial;          /* 0: a free slot; never reused */
    unsigned gen;             /* bumped at each change: validates timers */
    char chainid[37];
    int kind, phase, origin;  /* CK_*, PH_*, OR_* */
    int seq_abonent;          /* CK_ACM: sequence "abonent" */
    int a_ok;                 /* CK_ACM: the operator side is on */
    int acm_callback;         /* CK_INVITE: the creator's call-back ring */
    int pq;                   /* PH_QUEUED: in this user's personal queue;
                                 -1: the call-center queue */
    int skip;                 /* the operator who missed or declined it */
    int answered;             /* reached a talk once */
    int counted;              /* an offered inbound call (statistics) */
    int hops;                 /* redirects followed */
    cside a, b;
    int64_t created;          /* emulated ms */
    int64_t since;            /* the current phase began */
    int64_t patience_ms;      /* the caller abandons after this wait; -1 */
    int64_t talk_ms;          /* the abonent hangs up after this talk; -1 */
    int traffic;              /* index + 1 of the traffic that made it */
    int conf, comp;           /* CK_INVITE: conference slot, competitor */
    char to[CALL_NUM];        /* the target as asked (records) */
} ccall;

/* What a line looked like at the reaction's first touch (the events are
 * the difference, lines.c). */
typedef struct lsnap {
    int stage;
    unsigned cur, held;       /* call serials, 0: none */
    int peer_user;            /* the talk's peer: a user, or -1 */
    char peer[CALL_NUM];      /* ... or a number */
    unsigned conf;            /* conference serial, 0: none */
} lsnap;

typedef struct cline {
    int cur, held;            /* call slots, -1: none */
    int conf;                 /* conference slot the user is in, -1 */
    int64_t idle_since;       /* dispatch: the longest idle first */
    int64_t talk_since;       /* timertalklensec */
    int wrapup;               /* after a queue or task call */
    unsigned wrap_gen;
    int had_task;             /* a queue or task call was on the line */
    int *pq;                  /* personal queue: call slots, FIFO */
    size_t npq, pqcap;
    /* per user config */
    int intercom;             /* pbxanswercall works (default true) */
    int agent;                /* a virtual operator */
    int64_t agent_answer_ms, agent_wrapup_ms;  /* -1: config's wrapup */
    json_t *rights;           /* explicit rights (role, then own); owned */
    int all_rights;           /* a right not in `rights` is granted */
    json_t *subs;             /* subordinates' logins (array); owned */
    /* reaction bookkeeping */
    int snapped;
    lsnap before;
    int fhint;                /* flashtypeid the transition knows */
} cline;

/* ---- conferences -------------------------------------------------------- */
enum { CS_INVITE, CS_ACTIVE, CS_BUSY, CS_NOTRESPOND, CS_REFUSE, CS_ABORT,
       CS_EXITED };

typedef struct ccomp {
    char id[37];              /* competitorid */
    int user;                 /* -1: an external number */
    char num[CALL_NUM];
    int creator, director, state;
    int call;                 /* CS_INVITE: the invite's call slot, -1 */
} ccomp;

typedef struct cconf {
    unsigned serial;          /* 0: free */
    char id[CALL_NUM];        /* the client's id (or ours) */
    char chainid[37];
    char name[CALL_NAME];
    long long room;
    int everyonecaninvite;
    int creator;              /* user index */
    ccomp comps[MAX_COMPS];
    int ncomps;
    int handlers[MAX_HANDLERS];  /* sessions with confhandleevent on */
    int nhandlers;
    int64_t since;
    json_t *pending;          /* invitees waiting for the creator */
} cconf;

/* ---- traffic and statistics --------------------------------------------- */
typedef struct cdist {        /* seconds: exponential (mean), uniform, never */
    int kind;                 /* 0 never, 1 exponential, 2 uniform */
    double a, b;
} cdist;

typedef struct cstats {
    long long offered, answered, abandoned, refused;
    long long in_sl;          /* answered within the threshold */
    double wait_sum;          /* seconds, over answered calls */
    double max_wait;
    double sl;                /* threshold, seconds */
} cstats;

typedef struct ctraffic {
    int used, running;
    unsigned gen;
    double rate;              /* arrivals per emulated second */
    cdist talk, patience;
    char to[CALL_NUM], pattern[CALL_NUM];
    int64_t until;            /* arrivals stop; -1: never */
    uint64_t rng[4];
    cstats st;
} ctraffic;

/* ---- timers ------------------------------------------------------------- */
enum {
    T_RING,       /* ring_timeout of a call's ringing (a: slot, b: serial) */
    T_ANSWER,     /* the far side answers (abonent, IVR) */
    T_BUSY,       /* the far side is busy */
    T_PATIENCE,   /* the caller gives up */
    T_HANGUP,     /* the abonent hangs up after its talk */
    T_AGENT,      /* a virtual agent answers (a: user) */
    T_WRAPUP,     /* wrap-up ends (a: user, gen: wrap_gen) */
    T_ARRIVAL,    /* a traffic arrival (a: traffic index) */
    T_IVR_END     /* an IVR with a duration ends */
};

typedef struct ctimer {
    int64_t when;
    uint64_t seq;             /* ties fire in the order they were set */
    int kind, a;
    unsigned b, gen;
} ctimer;

/* ---- service numbers, break reasons, abonents --------------------------- */
typedef struct csvc {
    char num[CALL_NUM], name[CALL_NAME];
    int ivr;                  /* kind "ivr", else "queue" */
    int64_t duration_ms;      /* ivr: its end; -1 until hung up */
} csvc;

typedef struct cabonent {
    char num[CALL_NUM];
    int64_t answer_ms;        /* -1: never; -2: rings until answered */
    int busy;
} cabonent;

typedef struct coutev {       /* a conference or custom event to send */
    int to;                   /* session (conference) or user (custom) */
    int per_user;
    const char *wire;
    json_t *obj;
} coutev;

/* ---- the object ---------------------------------------------------------- */
struct okt_calls {
    okt_model *m;
    size_t nusers;
    /* config */
    int64_t ring_timeout_ms, wrapup_ms;
    int missed_to_off;
    double speed;             /* emulated s per real s; 0: "max" */
    uint64_t seed;            /* config `seed`: ids, and traffic's default */
    csvc *svc;
    size_t nsvc;
    json_t *lunch;            /* break reasons, the wire's items */
    json_t *procs;            /* procedures: name -> dataset */
    /* clock */
    int64_t now;              /* emulated ms */
    int have_base;
    int64_t real_base, emu_base, last_real;
    ctimer *heap;
    size_t nheap, heapcap;
    uint64_t tseq;
    /* calls */
    ccall *calls;
    size_t ncalls;            /* slots in use or free */
    int *free_slots;
    size_t nfree;
    size_t live;              /* calls alive */
    unsigned serial;
    uint64_t rng[4];          /* chainids, numbers of call_in "#" */
    cline *lines;
    /* queue (call slots) */
    int *q;
    size_t nq, qcap;
    /* conferences */
    cconf *confs;
    size_t nconfs;
    unsigned conf_serial;
    /* abonents */
    cabonent *abon;
    size_t nabon;
    /* traffic and totals */
    ctraffic traffic[MAX_TRAFFIC];
    cstats total;
    /* output of the reaction */
    coutev *outq;
    size_t noutq, outqcap;
    json_t *numstates;        /* [{num, numstateid}] */
    json_t *records;          /* call records for watchers, NULL: off */
    int watch;
    int in_settle;
};

/* ---- calls.c ------------------------------------------------------------ */
ccall *call_at(okt_calls *c, int k);          /* NULL: free or bad */
int call_new(okt_calls *c);                   /* slot, or -1 (full/oom) */
void call_release(okt_calls *c, int k);       /* the slot only */
int timer_add(okt_calls *c, int64_t delay_ms, int kind, int a, unsigned b,
              unsigned gen);
int out_event(okt_calls *c, int to, int per_user, const char *wire,
              json_t *obj);                   /* obj stolen */
void record(okt_calls *c, int k, const char *what);
void new_guid(okt_calls *c, char out[37]);
uint64_t rng_next(uint64_t s[4]);
void rng_seed(uint64_t s[4], uint64_t seed);
double rng_unit(uint64_t s[4]);               /* [0, 1) */
int64_t secs_ms(double s);
void copy_str(char *dst, size_t cap, const char *src);
const csvc *svc_find(const okt_calls *c, const char *num);
const cabonent *abonent_find(const okt_calls *c, const char *num);

/* ---- lines.c ------------------------------------------------------------ */
int line_stage(const okt_calls *c, int ui);
int line_idle(const okt_calls *c, int ui);    /* no call, no conference */
void lines_snap(okt_calls *c, int ui);          /* model.c's touch */
void line_touch(okt_calls *c, int ui);          /* okt_m_touch */
void call_touch(okt_calls *c, int k);           /* both user sides */
void call_phase(okt_calls *c, int k, int ph);
/* Send the call's b side to `target` (a number, or "queue"): rings a user,
 * queues, enters an IVR or dials out. 0, or -1 "busy" (nothing changed,
 * the caller ends the call). */
int route(okt_calls *c, int k, const char *target);
/* End a call: its lines let go, a queue or conference let go; a caller
 * from outside not answered counts as abandoned. */
void call_end(okt_calls *c, int k);
int b_answers(okt_calls *c, int k);           /* the dialled side answers */
int line_answer(okt_calls *c, int ui);        /* the user's phone answers */
int line_hangup(okt_calls *c, int ui);        /* the user's phone hangs up */
int line_dial(okt_calls *c, int ui, const char *number);
int line_decline(okt_calls *c, int ui);       /* a ringing line declines */
void user_side(okt_calls *c, cside *s, int ui);
/* route, or when the target cannot take it, found busy at the next
 * reaction (so its stage is seen, §3.1) */
void route_or_busy(okt_calls *c, int k, const char *target);
void ring_user(okt_calls *c, int k, int ui);  /* b := ui, the phone rings */
int lines_timer(okt_calls *c, const ctimer *t);
void lines_sync(okt_calls *c);
int lines_flush_user(okt_calls *c, okt_out *out, int ui);
json_t *side_json(okt_calls *c, const cside *s);
int other_side(const ccall *k, int ui, const cside **s);  /* 1 if found */
void line_clear_call(okt_calls *c, int ui, int k);

/* ---- queue.c ------------------------------------------------------------ */
int queue_push(okt_calls *c, int k, int head);   /* call-center queue */
void queue_remove(okt_calls *c, int k);
int pq_push(okt_calls *c, int ui, int k);
void pq_remove(okt_calls *c, int ui, int k);
int user_reachable(okt_calls *c, int ui);        /* a direct call may come */
int user_free(okt_calls *c, int ui);             /* ... and ring at once */
int operator_eligible(okt_calls *c, int ui);
void queue_missed(okt_calls *c, int k, int ui, int timeout);
int queue_dispatch(okt_calls *c);
int queue_timer(okt_calls *c, const ctimer *t);
json_t *queue_list(okt_calls *c);                /* control's queue() */

/* ---- rights.c ------------------------------------------------------------ */
int rights_load(okt_calls *c, const json_t *config, okt_err *err);
void rights_free(okt_calls *c);
int right(const okt_calls *c, int ui, const char *key);
int is_subordinate(const okt_calls *c, int ui, int of);
/* A refusal with oktell.js's text and number (no error number on the
 * wire: issue 9); the missing right: error 52710. */
int refuse(okt_req *r, int n);
int refuse_right(okt_req *r, const char *key);
const char *refusal_text(int n);

/* ---- directory.c ---------------------------------------------------------- */
int directory_load(okt_calls *c, const json_t *config, okt_err *err);
void directory_free(okt_calls *c);
int directory_flush(okt_calls *c, okt_out *out); /* pbxnumberstatechanged */

/* ---- conf.c --------------------------------------------------------------- */
cconf *conf_at(okt_calls *c, int k);
/* an invite call's b side answered, refused (CS_*), or it ended */
void conf_invite_done(okt_calls *c, int k, int state);
void conf_leave(okt_calls *c, int ui);           /* hang-up in a conference */
int conf_hangup_number(okt_calls *c, const char *num);  /* 1 if found */
void conf_sess_closed(okt_calls *c, int sess);
void confs_free(okt_calls *c);

/* ---- traffic.c ------------------------------------------------------------ */
int traffic_load(okt_calls *c, const json_t *config, okt_err *err);
int traffic_start(okt_calls *c, const json_t *args, okt_err *err);
int traffic_control(okt_calls *c, const char *cmd, const json_t *args,
                    json_t **res, okt_err *err);
int traffic_timer(okt_calls *c, const ctimer *t);
void stats_answered(okt_calls *c, ccall *k);
void stats_abandoned(okt_calls *c, ccall *k);
json_t *stats_json(okt_calls *c, const cstats *s, int traffic);
void agent_ring(okt_calls *c, int ui);           /* an agent's line rings */
int64_t wrapup_of(const okt_calls *c, int ui);
/* An external caller `from` calls `to` (a user, a number, "queue"): the
 * call's slot, or -1 with err (OKT_ENOTSETTABLE "busy", or full). tix:
 * the traffic's index, -1 none. */
int inbound(okt_calls *c, const char *from, const char *to, const char *name,
            int64_t patience_ms, int64_t talk_ms, int tix, okt_err *err);

/* ---- control.c ------------------------------------------------------------- */
int calls_control(okt_calls *c, const char *cmd, const json_t *args,
                  json_t **res, okt_err *err);

/* ---- small JSON helpers (calls.c) ------------------------------------------ */
int cfg_number(const json_t *o, const char *key, double def, double min,
               double *out, const char *what, okt_err *err);
int cfg_flag(const json_t *o, const char *key, int def, int *out,
             const char *what, okt_err *err);

#endif
