/* queue.c - the call-center queue and the users' personal queues
 * (EMULATOR-calls §4). After every reaction dispatch gives the
 * longest-waiting caller to the operator idle longest; a missed or
 * declined call goes back to the head with its wait, and that operator is
 * skipped for it while another is eligible. Direct calls to a busy line
 * wait in that user's personal queue, served before the call-center's. */
#include "room.h"

#include <stdlib.h>
#include <string.h>

/* ---- the lists: call slots, FIFO with insertion at the head ------------ */

static int list_push(int **v, size_t *n, size_t *cap, int k, int head)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        if (nc > MAX_CALLS)
            nc = MAX_CALLS;
        if (*n >= nc)
            return -1;
        int *p = realloc(*v, nc * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = nc;
    }
    if (head) {
        memmove(*v + 1, *v, *n * sizeof **v);
        (*v)[0] = k;
    } else {
        (*v)[*n] = k;
    }
    (*n)++;
    return 0;
}

static void list_remove(int *v, size_t *n, int k)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i] == k) {
            memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
            (*n)--;
            return;
        }
}

int queue_push(okt_calls *c, int k, int head)
{
    return list_push(&c->q, &c->nq, &c->qcap, k, head);
}

void queue_remove(okt_calls *c, int k)
{
    list_remove(c->q, &c->nq, k);
}

int pq_push(okt_calls *c, int ui, int k)
{
    cline *l = &c->lines[ui];
    return list_push(&l->pq, &l->npq, &l->pqcap, k, 0);
}

void pq_remove(okt_calls *c, int ui, int k)
{
    cline *l = &c->lines[ui];
    list_remove(l->pq, &l->npq, k);
}

/* ---- who may take a call ------------------------------------------------- */

/* A direct call may come: online with a working line, not usOff (§4:
 * usOff, no line or offline refuse it as busy). */
int user_reachable(okt_calls *c, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    return v.online && v.line_ok && v.st != OKT_US_OFF;
}

/* ... and rings at once: the line idle, no wrap-up, no prompt or external
 * task reserving the user (EMULATOR-calls §2). */
int user_free(okt_calls *c, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    return v.online && v.line_ok && v.st != OKT_US_OFF && !v.held &&
           line_idle(c, ui) && !c->lines[ui].wrapup;
}

/* §4: logged in (a session or an agent), an operator, inside (so within
 * the licences), shown usReady, redirect off, no task or prompt, the line
 * idle. */
int operator_eligible(okt_calls *c, int ui)
{
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    return v.online && v.isoperator && v.inside && v.line_ok &&
           v.shown == OKT_US_READY && !v.redirect && !v.held &&
           line_idle(c, ui) && !c->lines[ui].wrapup;
}

/* ---- dispatch -------------------------------------------------------------- */

/* A queue call that rang ui and was not taken: back to the head of the
 * queue with its wait; ui is skipped for it while another operator is
 * eligible; missed_to_off makes ui usOff after a ring timeout. */
void queue_missed(okt_calls *c, int k, int ui, int timeout)
{
    ccall *x = call_at(c, k);
    if (!x)
        return;
    call_touch(c, k);
    line_clear_call(c, ui, k);
    x->b.kind = SD_NONE;
    x->b.user = -1;
    x->skip = ui;
    x->pq = -1;
    if (queue_push(c, k, 1)) {
        call_end(c, k);
        return;
    }
    call_phase(c, k, PH_QUEUED);
    record(c, k, timeout ? "missed" : "declined");
    if (timeout && c->missed_to_off)
        okt_m_set_state(c->m, ui, OKT_US_OFF);
}

int queue_dispatch(okt_calls *c)
{
    int n = 0;
    /* personal queues first: a direct call waits for its user only */
    for (size_t i = 0; i < c->nusers; i++) {
        cline *l = &c->lines[i];
        if (l->npq && user_free(c, (int)i)) {
            int k = l->pq[0];
            pq_remove(c, (int)i, k);
            call_at(c, k)->pq = -1;
            ring_user(c, k, (int)i);
            n++;
        }
    }
    while (c->nq) {
        int k = c->q[0];
        ccall *x = call_at(c, k);
        int best = -1, skipped = -1;
        for (size_t i = 0; i < c->nusers; i++) {
            int ui = (int)i;
            if (!operator_eligible(c, ui))
                continue;
            if (ui == x->skip) {
                skipped = ui;
                continue;
            }
            /* the longest idle; ties: the first configured */
            if (best < 0 || c->lines[ui].idle_since < c->lines[best].idle_since)
                best = ui;
        }
        if (best < 0)
            best = skipped;   /* nobody else: it rings the same one again */
        if (best < 0)
            break;
        queue_remove(c, k);
        ring_user(c, k, best);
        n++;
    }
    return n;
}

/* The caller's patience ran out before anyone answered: it hangs up. */
int queue_timer(okt_calls *c, const ctimer *t)
{
    ccall *x = call_at(c, t->a);
    if (!x || x->serial != t->b || x->answered)
        return 0;
    if (x->phase == PH_QUEUED || x->phase == PH_RING)
        call_end(c, t->a);
    return 0;
}

/* SetFreeInExternalTask's call-back: the first queued caller rings ui. */
int okt_calls_callback(okt_calls *c, int ui)
{
    if (!c->nq || !line_idle(c, ui))
        return 0;
    int k = c->q[0];
    queue_remove(c, k);
    ring_user(c, k, ui);
    return 1;
}

static json_t *item(okt_calls *c, const ccall *x)
{
    json_t *o = side_json(c, &x->a);
    if (!o)
        return NULL;
    json_object_set_new(o, OKT_F_CHAINID, json_string(x->chainid));
    json_object_set_new(o, OKT_F_ISEXTLINE, json_boolean(x->a.kind != SD_USER));
    json_object_set_new(o, OKT_F_WAITSEC,
                        json_integer((c->now - x->created) / 1000));
    return o;
}

/* getcurrentqueue: the user's personal queue, then (inside) the
 * call-center queue (§4; oktell.js reads queue[] as abonents, §6.3). */
int okt_h_queue(okt_req *r)
{
    okt_calls *c = okt_m_calls(okt_req_model(r));
    int ui = okt_req_user(r);
    okt_uview v;
    okt_m_user(c->m, ui, &v);
    json_t *q = json_array();
    const cline *l = &c->lines[ui];
    for (size_t i = 0; q && i < l->npq; i++)
        json_array_append_new(q, item(c, call_at(c, l->pq[i])));
    for (size_t i = 0; q && v.inside && i < c->nq; i++)
        json_array_append_new(q, item(c, call_at(c, c->q[i])));
    return q ? okt_req_reply(r, json_pack("{s:o}", OKT_F_QUEUE, q)) : -1;
}

/* queue(): the call-center queue for the control API. */
json_t *queue_list(okt_calls *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->nq; i++) {
        const ccall *x = call_at(c, c->q[i]);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:f}", "number", x->a.num, "chainid",
                         x->chainid, "waited",
                         (double)(c->now - x->created) / 1000.0));
    }
    return a;
}
