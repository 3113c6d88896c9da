/* calls.h - the seam between the model (model.c: users, sessions, the
 * login, user-state and task rules) and the call model (lines, queue,
 * rights, conferences, traffic: docs/EMULATOR.md "Calls"). Internal to
 * src/emu; nothing here is public API.
 *
 * model.c offers the call model a few services (okt_m_*, okt_req_*) and
 * calls it at fixed points of a reaction: touch (okt_calls_snap), the end
 * of the reaction (okt_calls_settle, okt_calls_flush_user, okt_calls_flush),
 * its handler table (okt_h_*) and its control commands. The call model
 * never reaches into model.c's structs: users are seen through okt_uview
 * and changed through the services, so the two files change apart. */
#ifndef OKT_CALLS_H
#define OKT_CALLS_H

#include <stdint.h>
#include <jansson.h>

#include "model.h"

typedef struct okt_calls okt_calls;
typedef struct okt_req okt_req;

/* ---- what model.c offers ----------------------------------------------- */

/* A user as the call model sees it (borrowed strings, valid until the user
 * is changed). */
typedef struct okt_uview {
    const char *id, *login, *name, *number, *redirect_number;
    const char *group_id, *group_name, *role;
    int online;      /* a live session, or a virtual agent */
    int has_line;    /* configured with a line */
    int line_ok;     /* the line works (not usWOphone) */
    int inside, isoperator, redirect;
    int held;        /* the external task, a prompt or dialing holds the
                        user (not a call) */
    int st;          /* the state chosen, under any call's overlay */
    int shown;       /* the state shown (overlay applied) */
    int line;        /* the line state shown (ELineState) */
} okt_uview;

size_t okt_m_nusers(const okt_model *m);
void okt_m_user(const okt_model *m, int ui, okt_uview *v);
/* by login (ASCII case-insensitive), number, or id; -1 when none */
int okt_m_find_login(const okt_model *m, const char *login);
int okt_m_find_number(const okt_model *m, const char *number);
int okt_m_find_id(const okt_model *m, const char *id);
/* Record the user's state before the reaction changes it (once per
 * reaction; it then gets its state and line events). */
void okt_m_touch(okt_model *m, int ui);
/* The call's overlay on the user: the state shown instead of the chosen
 * one (0: none), ontask, and the line state shown (0: the line's own). */
void okt_m_callview(okt_model *m, int ui, int state, int ontask, int line);
/* Set the chosen state (missed_to_off makes an operator usOff). */
void okt_m_set_state(okt_model *m, int ui, int st);
/* Make ui a virtual operator: online without a session, inside the
 * call-center when a licence is free, ready. */
void okt_m_agent(okt_model *m, int ui);
/* 1 when a session of ui subscribed to the event `wire`. */
int okt_m_wants(const okt_model *m, int ui, const char *wire);
/* The event `wire` with payload obj (borrowed) to every session of ui
 * that subscribed to it; a fresh qid each, and with_user adds the user's
 * userlogin and userid. */
int okt_m_emit(okt_model *m, okt_out *out, int ui, const char *wire,
               const json_t *obj, int with_user);
/* The same to one session, when it subscribed to `wire`. */
int okt_m_emit_sess(okt_model *m, okt_out *out, int sess, const char *wire,
                    const json_t *obj);
int okt_m_sess_user(const okt_model *m, int sess);   /* -1: none */
/* The reference's title of a right ("Доступ к сервису автодозвона"). */
const char *okt_m_right_title(const char *key);
/* The list of the reference's rights, NULL-terminated. */
const char *okt_m_right_key(size_t i);
okt_calls *okt_m_calls(okt_model *m);
/* End a reaction: the events of every touched user. */
int okt_m_finish(okt_model *m, okt_out *out);

/* A request being served. */
okt_model *okt_req_model(okt_req *r);
int okt_req_user(const okt_req *r);
int okt_req_sess(const okt_req *r);
okt_out *okt_req_out(okt_req *r);
const json_t *okt_req_param(const okt_req *r, const char *key);
/* The reply (obj stolen; NULL: {}), named by the table. */
int okt_req_reply(okt_req *r, json_t *obj);
/* A refusal: {result: 0, errormsg: msg}; with error != 0 also {error}. */
int okt_req_refuse(okt_req *r, long long error, const char *msg);

/* ---- what the call model offers model.c -------------------------------- */

/* config: the emulator's config (borrowed; NULL: defaults). OKT_EINVAL
 * names a bad key. */
okt_calls *okt_calls_new(okt_model *m, const json_t *config, okt_err *err);
void okt_calls_free(okt_calls *c);

void okt_calls_snap(okt_calls *c, int ui);
int okt_calls_settle(okt_calls *c);
int okt_calls_flush_user(okt_calls *c, okt_out *out, int ui);
void okt_calls_numstate(okt_calls *c, const char *number, int st);
int okt_calls_flush(okt_calls *c, okt_out *out);

int okt_calls_tick(okt_calls *c, int64_t now, okt_out *out);
int64_t okt_calls_deadline(const okt_calls *c);
int okt_calls_max_speed(const okt_calls *c);

/* Returns 1 when cmd is not a call-model command. */
int okt_calls_control(okt_calls *c, const char *cmd, const json_t *args,
                      json_t **res, okt_out *out, okt_err *err);
int okt_calls_snapshot(okt_calls *c, int ui, json_t *o);
size_t okt_calls_queue_len(const okt_calls *c);

void okt_calls_sess_closed(okt_calls *c, int sess);
void okt_calls_offline(okt_calls *c, int ui);
/* SetFreeInExternalTask: ring ui with the first queued caller; 1 if it
 * rings, 0 when nobody waits, -1 out of memory. */
int okt_calls_callback(okt_calls *c, int ui);
/* finish(user, ...) on a call: answered answers a ringing call, failed
 * hangs up. A task's dialing answered: number starts a talk (task call).
 * -1 with err (OKT_ENOTSETTABLE) when there is no call. */
int okt_calls_finish(okt_calls *c, int ui, int answered, const char *number,
                     okt_err *err);
int okt_calls_in_call(const okt_calls *c, int ui);
int okt_calls_right(const okt_calls *c, int ui, const char *right);
json_t *okt_calls_procs(const okt_calls *c);   /* new reference */

/* Handlers of the table's methods (model.c's handler table). */
int okt_h_lineinfo(okt_req *r);
int okt_h_flashedinfo(okt_req *r);
int okt_h_autocallstart(okt_req *r);
int okt_h_autocallabort(okt_req *r);
int okt_h_abortcall(okt_req *r);
int okt_h_declinecall(okt_req *r);
int okt_h_answercall(okt_req *r);
int okt_h_makeflash(okt_req *r);
int okt_h_maketransfer(okt_req *r);
int okt_h_queue(okt_req *r);
int okt_h_pbxnumbers(okt_req *r);
int okt_h_allusernumbers(okt_req *r);
int okt_h_lunchtypes(okt_req *r);
int okt_h_customevent(okt_req *r);
int okt_h_storedproc(okt_req *r);
int okt_h_buildconf(okt_req *r);
int okt_h_createconf(okt_req *r);
int okt_h_inviteconf(okt_req *r);
int okt_h_checkconnect(okt_req *r);
int okt_h_connectconf(okt_req *r);
int okt_h_confhandle(okt_req *r);
int okt_h_confinfo(okt_req *r);
int okt_h_confcompetitors(okt_req *r);
int okt_h_confkick(okt_req *r);
int okt_h_confexit(okt_req *r);

#endif
