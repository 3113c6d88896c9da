/* model.h - the Oktell server's rules as a plain state machine (no sockets,
 * no threads, no clock): users, lines, licences, tasks, the queue and the
 * sessions logged in to them. docs/EMULATOR.md states the rules,
 * docs/PROTOCOL.md the wire names.
 *
 * Input: a whole text message of one session, or a control call.
 * Output: a list of (session, message) to send, in order: the reply first,
 * then the events the reaction caused. Each reaction is applied as a whole
 * before its output is produced. */
#ifndef OKT_MODEL_H
#define OKT_MODEL_H

#include <stdint.h>
#include <jansson.h>
#include "okt.h"

typedef struct okt_model okt_model;

enum {
    OKT_OUT_SEND = 0,   /* send text to sess */
    OKT_OUT_CLOSE,      /* close sess politely (after what precedes) */
    OKT_OUT_ABORT,      /* close sess abruptly (no close handshake) */
    OKT_OUT_RECORD      /* a call record for the control channel's
                           watchers (sess -1; text: one JSON object) */
};

typedef struct okt_out_msg {
    int sess;           /* session handle */
    int kind;           /* OKT_OUT_* */
    char *text;         /* OKT_OUT_SEND: malloc'd JSON text, NUL-terminated */
    size_t len;
} okt_out_msg;

typedef struct okt_out {
    okt_out_msg *v;
    size_t n, cap;
} okt_out;

void okt_out_init(okt_out *o);
void okt_out_clear(okt_out *o);       /* frees the texts, keeps capacity */
void okt_out_free(okt_out *o);

/* config: the table given to emulator.start, as JSON (NULL: defaults, one
 * user Peter/123, one dialing task, 2 licences; session_ttl (s),
 * max_sessions, max_sessions_per_user: the stored login sessions;
 * login_failures, login_lockout (s): login throttling).
 * Unknown keys are the server's to refuse (emu.h); a key of the wrong type
 * fails with OKT_EINVAL naming it. */
okt_model *okt_model_new(const json_t *config, okt_err *err);

/* The config keys okt_model_new reads (NULL-terminated), for the server's
 * check of unknown keys. */
extern const char *const okt_model_config_keys[];
void okt_model_free(okt_model *m);            /* NULL ok */

/* A new transport session (not logged in yet): a handle >= 0, small and
 * reused after okt_model_close, or -1 with err (OKT_ENOMEM). */
int okt_model_open(okt_model *m, okt_err *err);
/* The transport of sess is gone (any reason). When it was the user's last
 * session, the user is disconnected: the external task ends, a pending
 * prompt is withdrawn; presence in the call-center stays. */
int okt_model_close(okt_model *m, int sess, okt_out *out);

/* One whole text message received on sess. Bad input gets an error reply
 * on sess; only a failure to allocate returns -1. */
int okt_model_feed(okt_model *m, int sess, const char *text, size_t len,
                   okt_out *out);


/* A control call (emulator API): offer, finish, enqueue, set_line,
 * lock_task, unlock_task, snapshot, drop, and the call model's (call_in,
 * answer_as_abonent, hangup_abonent, abonent, phone, calls, queue,
 * traffic, traffic_stats, traffic_stop, stats, watch: docs/EMULATOR.md).
 * args is a JSON object (borrowed, may be NULL). On success returns 0 and
 * *result (may be NULL to ignore) gets a new JSON value (snapshot, stats:
 * an object; call_in: the chainid; calls, queue: a list; others: true).
 * On failure returns -1 with err: OKT_EINVAL for misuse (unknown user,
 * task, command, bad argument), OKT_ENOTSETTABLE when the rules refuse
 * it. */
int okt_model_control(okt_model *m, const char *cmd, const json_t *args,
                      json_t **result, okt_out *out, okt_err *err);

size_t okt_model_session_count(const okt_model *m);

/* The model has no clock of its own: the server sets the time (ms, any
 * epoch, never going back) before each call; session expiry and login
 * throttling read it. Tests set it to whatever they need. */
void okt_model_set_time(okt_model *m, int64_t now_ms);

/* The source address of sess (the peer's IP as text; NULL or "": none),
 * for login throttling per address. */
void okt_model_set_addr(okt_model *m, int sess, const char *addr);

/* 1 when sess is logged in (the server's login timeout ends). */
int okt_model_logged_in(const okt_model *m, int sess);
/* The clock. The model reads none: time comes with each tick, a monotonic
 * time in ms (any origin; the first tick sets it). tick fires every timer
 * due by then in deadline order, each a reaction of its own with the
 * timer's emulated time (emulated s = real s x the config's `speed`; at
 * speed "max" each tick fires up to a batch of the next timers whatever
 * the time). Inputs between ticks happen at the last tick's time, so the
 * driver ticks before it feeds (server.c ticks every turn). */
int okt_model_tick(okt_model *m, int64_t now, okt_out *out);
/* When the next timer is due, in the ticks' time (ms), or -1 for none;
 * at speed "max" with timers pending: the last tick's time (at once). */
int64_t okt_model_deadline(const okt_model *m);

#endif
