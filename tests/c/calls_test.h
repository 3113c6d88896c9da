/* calls_test.h - helpers of the call model's tests (test_lines.c,
 * test_queue.c, test_rights.c, test_conf.c, test_traffic.c): a model from
 * JSON text, sessions logged in and subscribed to every event of the
 * protocol table, fixed times through okt_model_tick, and the reaction's
 * messages per session as a list of names (to check their order). */
#ifndef OKT_CALLS_TEST_H
#define OKT_CALLS_TEST_H

#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#include "model.h"
#include "protocol.h"
#include "session.h"

/* each test file uses some of these */
#define HELPER static __attribute__((unused))

static okt_out out;      /* the last reaction's output */
static okt_err cerr;     /* the last control call's error */

HELPER okt_model *mk(const char *config)
{
    json_error_t je;
    json_t *cfg = config ? json_loads(config, 0, &je) : NULL;
    if (config && !cfg)
        fprintf(stderr, "  config: %s\n", je.text);
    okt_err e;
    okt_model *m = okt_model_new(cfg, &e);
    if (!m)
        fprintf(stderr, "  model: %s\n", e.msg);
    json_decref(cfg);
    okt_out_init(&out);
    return m;
}

HELPER void done(okt_model *m)
{
    okt_model_free(m);
    okt_out_free(&out);
}

HELPER void feed(okt_model *m, int s, const char *text)
{
    okt_out_clear(&out);
    CHECK(okt_model_feed(m, s, text, strlen(text), &out) == 0);
}

HELPER void feedf(okt_model *m, int s, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    feed(m, s, buf);
}

/* A request of the table with params as JSON text ("{}" when NULL). */
HELPER void req(okt_model *m, int s, const char *method, const char *params)
{
    feedf(m, s, "[\"%s\",%s]", method, params ? params : "{}");
}

/* Log in `login` with `password` and subscribe the session to every
 * event the table names. */
HELPER int login_as(okt_model *m, const char *login, const char *password)
{
    char cs[33], ci[33];
    okt_password_hash(password, 0, cs, NULL);
    okt_password_hash(password, 1, ci, NULL);
    int s = okt_model_open(m, NULL);
    feedf(m, s,
          "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"%s\","
          "\"password\":\"%s\",\"qid\":\"l\"}]",
          login, cs, ci);
    size_t n;
    const okt_event_def *ev = okt_proto_events(&n);
    char buf[4096] = "[\"subscribeevent\",{\"eventmethod\":[";
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].subscribe)
            continue;
        strcat(buf, first ? "\"" : ",\"");
        strcat(buf, ev[i].subscribe);
        strcat(buf, "\"");
        first = 0;
    }
    strcat(buf, "],\"qid\":\"s\"}]");
    feed(m, s, buf);
    okt_out_clear(&out);
    return s;
}

HELPER json_t *msg_at(size_t i)
{
    if (i >= out.n || out.v[i].kind != OKT_OUT_SEND)
        return NULL;
    return json_loads(out.v[i].text, 0, NULL);
}

/* The names of the messages for session s in the last reaction, comma
 * separated; phoneevent_ shortened to its event ("ringstarted"). */
HELPER const char *seq(int s)
{
    static char buf[2048];
    buf[0] = '\0';
    for (size_t i = 0; i < out.n; i++) {
        if (out.v[i].sess != s)
            continue;
        json_t *j = msg_at(i);
        const char *name = json_string_value(json_array_get(j, 0));
        if (name) {
            if (!strncmp(name, "phoneevent_", 11))
                name += 11;
            if (buf[0])
                strncat(buf, ",", sizeof buf - strlen(buf) - 1);
            strncat(buf, name, sizeof buf - strlen(buf) - 1);
        }
        json_decref(j);
    }
    return buf;
}

#define CHECK_SEQ(s, want) CHECK_STR(seq(s), want)

/* The object of the first message named `name` to s (a new reference),
 * NULL if none. */
HELPER json_t *got(int s, const char *name)
{
    for (size_t i = 0; i < out.n; i++) {
        if (out.v[i].sess != s)
            continue;
        json_t *j = msg_at(i);
        if (j && !strcmp(json_string_value(json_array_get(j, 0)), name)) {
            json_t *o = json_incref(json_array_get(j, 1));
            json_decref(j);
            return o;
        }
        json_decref(j);
    }
    return NULL;
}

/* The reply to a request, fed now: its object (a new reference). */
HELPER json_t *ask(okt_model *m, int s, const char *method,
                   const char *params)
{
    req(m, s, method, params);
    char rn[128];
    snprintf(rn, sizeof rn, "%sresult", method);
    return got(s, rn);
}

HELPER const char *sv(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

HELPER long long iv(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v))
        return atoll(json_string_value(v));
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

HELPER int bv(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

/* The request's reply is a refusal whose text ends in "(n)": oktell.js's
 * number in the text, no error number (issue 9). */
HELPER int refused_with(okt_model *m, int s, const char *method,
                        const char *params, int n)
{
    json_t *o = ask(m, s, method, params);
    char tail[16];
    snprintf(tail, sizeof tail, "(%d)", n);
    const char *msg = sv(o, OKT_F_ERRORMSG);
    int ok = o && iv(o, OKT_F_RESULT) == 0 &&
             !json_object_get(o, OKT_F_ERROR) && strlen(msg) > strlen(tail) &&
             !strcmp(msg + strlen(msg) - strlen(tail), tail);
    if (!ok)
        fprintf(stderr, "  %s: want (%d), got %s\n", method, n,
                o ? msg : "(no reply)");
    json_decref(o);
    return ok;
}

/* A control call with args as JSON text: 0 / -1 (cerr), *res if wanted. */
HELPER int ctl(okt_model *m, const char *cmd, const char *args, json_t **res)
{
    json_t *a = args ? json_loads(args, 0, NULL) : NULL;
    okt_out_clear(&out);
    json_t *r = NULL;
    int rc = okt_model_control(m, cmd, a, &r, &out, &cerr);
    json_decref(a);
    if (res)
        *res = r;
    else
        json_decref(r);
    return rc;
}

/* call_in: the chainid (static buffer) or "" */
HELPER const char *call_in(okt_model *m, const char *args)
{
    static char chain[64];
    json_t *r = NULL;
    chain[0] = '\0';
    if (ctl(m, "call_in", args, &r) == 0 && json_is_string(r))
        snprintf(chain, sizeof chain, "%s", json_string_value(r));
    json_decref(r);
    return chain;
}

HELPER void tick(okt_model *m, int64_t ms)
{
    okt_out_clear(&out);
    CHECK(okt_model_tick(m, ms, &out) == 0);
}

/* A field of the user's snapshot: strings as is, booleans "true"/"false",
 * numbers in decimal; "" when absent. */
HELPER const char *snap(okt_model *m, const char *user, const char *key)
{
    static char buf[128];
    char args[96];
    snprintf(args, sizeof args, "{\"user\":\"%s\"}", user);
    json_t *r = NULL;
    buf[0] = '\0';
    if (ctl(m, "snapshot", args, &r) == 0) {
        const json_t *v = json_object_get(r, key);
        if (json_is_string(v))
            snprintf(buf, sizeof buf, "%s", json_string_value(v));
        else if (json_is_boolean(v))
            snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
        else if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld",
                     (long long)json_integer_value(v));
    }
    json_decref(r);
    return buf;
}

/* getuserstate's code */
HELPER long long ustate(okt_model *m, int s)
{
    json_t *o = ask(m, s, OKT_W_GETUSERSTATE, NULL);
    long long v = iv(o, OKT_F_USERSTATEID);
    json_decref(o);
    return v;
}

/* getextendedlineinfo's reply (a new reference) */
HELPER json_t *lineinfo(okt_model *m, int s)
{
    return ask(m, s, OKT_W_GETEXTENDEDLINEINFO, NULL);
}

HELPER const json_t *abonent(const json_t *li)
{
    return json_object_get(li, OKT_F_ABONENT);
}

#endif
