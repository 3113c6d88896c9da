/* test_session.c - the sans-IO session driven by scripted transcripts with
 * controlled time. The "server" here is the test: it reads what the session
 * queued, checks it, and feeds replies. */
#include "test.h"
#include "message.h"
#include "protocol.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

#define T0 1000000

/* Pop the next output message, parsed; NULL when none. */
static json_t *take(okt_session *s, const char **name, json_t **obj)
{
    const char *m;
    size_t len;
    if (!okt_session_output(s, &m, &len))
        return NULL;
    json_t *root;
    okt_err e;
    int rc = okt_msg_parse(m, len, &root, name, obj, &e);
    okt_session_consume_output(s);
    return rc == 0 ? root : NULL;
}

/* Pop the next output message as raw text (malloc'd). */
static char *take_text(okt_session *s)
{
    const char *m;
    size_t len;
    if (!okt_session_output(s, &m, &len))
        return NULL;
    char *c = strndup(m, len);
    okt_session_consume_output(s);
    return c;
}

static void feedf(okt_session *s, int64_t now, const char *name,
                  const char *qid, const char *body)
{
    /* body is a JSON object text; qid (may be NULL) is added */
    json_t *o = json_loads(body, 0, NULL);
    if (qid)
        json_object_set_new(o, "qid", json_string(qid));
    char *t = okt_msg_build(name, o, NULL, NULL);
    okt_session_feed(s, t, strlen(t), now);
    free(t);
    json_decref(o);
}

static okt_session *mk_traced(const char *pw, const char *const *subs,
                              int trace)
{
    okt_session_cfg cfg;
    okt_session_cfg_init(&cfg);
    cfg.login = "b300";
    cfg.password = pw;
    cfg.subscribe = subs;
    cfg.trace = trace;
    okt_err e;
    okt_session *s = okt_session_new(&cfg, &e);
    if (!s)
        fprintf(stderr, "  session_new: %s\n", e.msg);
    return s;
}

static okt_session *mk(const char *pw, const char *const *subs)
{
    return mk_traced(pw, subs, 0);
}

/* The test's own reading of the table: each distinct `subscribe` name of
 * okt_proto_events(), in table order, joined by ','. */
static void table_subs(char *buf, size_t n)
{
    size_t nev;
    const okt_event_def *ev = okt_proto_events(&nev);
    buf[0] = '\0';
    for (size_t i = 0; i < nev; i++) {
        const char *sub = ev[i].subscribe;
        if (!sub)
            continue;
        char key[64];
        snprintf(key, sizeof key, ",%s,", sub);
        char have[512];
        snprintf(have, sizeof have, ",%s,", buf);
        if (strstr(have, key))
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", l ? "," : "", sub);
    }
}

#define MAXSUB 32

/* Take every queued message, each of which must be a bare subscribeevent
 * for one name: {"eventmethod": [name], "qid": …}. Names go to `names`
 * (joined by ','), qids to `qids`. Returns how many. */
static size_t take_subs(okt_session *s, char *names, size_t nn,
                        char qids[][24])
{
    const char *name;
    json_t *obj, *r;
    size_t k = 0;
    names[0] = '\0';
    while ((r = take(s, &name, &obj)) != NULL) {
        CHECK_STR(name, "subscribeevent");
        CHECK(json_object_size(obj) == 2);   /* no userlogin */
        json_t *em = json_object_get(obj, "eventmethod");
        CHECK(json_is_array(em) && json_array_size(em) == 1);
        const char *ev = json_string_value(json_array_get(em, 0));
        size_t l = strlen(names);
        snprintf(names + l, nn - l, "%s%s", l ? "," : "", ev ? ev : "?");
        if (k < MAXSUB)
            snprintf(qids[k], 24, "%s", okt_msg_qid(obj));
        k++;
        json_decref(r);
    }
    return k;
}

/* Answer the subscriptions in reverse order, as replies named the way a
 * real server names them; READY comes only with the last answer. */
static void answer_subs(okt_session *s, int64_t now, char qids[][24],
                        size_t n)
{
    okt_event ev;
    for (size_t i = n; i-- > 0;) {
        CHECK(okt_session_state(s) == OKT_S_LOGIN);
        CHECK(okt_session_next_event(s, &ev) == 0);
        feedf(s, now, "subscribeeventresult", qids[i],
              i == 1 ? "{\"result\":0}" : "{}");
    }
}

/* Handshake up to the login request; returns the login qid (static). */
static const char *to_login(okt_session *s, int64_t now)
{
    static char qid[32];
    const char *name;
    json_t *obj;
    CHECK(okt_session_open(s, now) == 0);
    CHECK(okt_session_state(s) == OKT_S_HANDSHAKE);
    json_t *r = take(s, &name, &obj);
    CHECK(r != NULL);
    if (!r)
        return "";
    CHECK_STR(name, "ping");
    CHECK(json_object_size(obj) == 1);   /* qid only */
    snprintf(qid, sizeof qid, "%s", okt_msg_qid(obj));
    json_decref(r);
    /* noise before the ping reply is ignored */
    feedf(s, now, "userstatechanged", NULL, "{\"userstateid\":1}");
    CHECK(okt_session_state(s) == OKT_S_HANDSHAKE);
    feedf(s, now + 1, "pong", qid, "{\"result\":1}");
    CHECK(okt_session_state(s) == OKT_S_LOGIN);
    r = take(s, &name, &obj);
    CHECK(r && !strcmp(name, "login"));
    if (!r)
        return "";
    snprintf(qid, sizeof qid, "%s", okt_msg_qid(obj));
    json_decref(r);
    return qid;
}

static void expect_closed(okt_session *s, int code, const char *text)
{
    okt_event ev;
    int got = 0;
    while (okt_session_next_event(s, &ev)) {
        if (ev.type == OKT_EV_CLOSED) {
            got = 1;
            CHECK(ev.err.code == code);
            if (text && !strstr(ev.err.msg, text)) {
                fprintf(stderr, "  closed msg: %s\n", ev.err.msg);
                CHECK(0);
            }
        }
        okt_event_clear(&ev);
    }
    CHECK(got);
    CHECK(okt_session_state(s) == OKT_S_CLOSED);
    CHECK(okt_session_deadline(s) == -1);
}

/* Full login with the default subscription; leaves the session READY. */
static okt_session *ready_session(int64_t now)
{
    okt_session *s = mk("b300", NULL);
    const char *lq = to_login(s, now);
    feedf(s, now + 2, "loginresult", lq,
          "{\"result\":1,\"userid\":\"u-1\",\"sessionid\":\"s-1\"}");
    char names[512], qids[MAXSUB][24];
    size_t n = take_subs(s, names, sizeof names, qids);
    CHECK(n > 0 && n <= MAXSUB);
    answer_subs(s, now + 3, qids, n);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_READY);
    okt_event_clear(&ev);
    CHECK(okt_session_state(s) == OKT_S_READY);
    return s;
}

/* An idle session holds its struct and little more: no queue, no table
 * beyond the least one, whatever a burst of requests or events needed. */
#define IDLE_SESSION 1024u

static void drain_events(okt_session *s)
{
    okt_event ev;
    while (okt_session_next_event(s, &ev))
        okt_event_clear(&ev);
}

TEST(idle_session_holds_little)
{
    okt_session *s = ready_session(T0);
    CHECK(okt_session_mem(s) < IDLE_SESSION);
    /* 200 requests in flight, their replies and 100 server events queued */
    okt_err e;
    int64_t ids[200];
    for (int i = 0; i < 200; i++)
        CHECK((ids[i] = okt_session_request(s, "getuserstate", NULL, 0, T0, &e)) > 0);
    while (okt_session_output(s, &(const char *){NULL}, &(size_t){0}))
        okt_session_consume_output(s);
    size_t busy = okt_session_mem(s);
    for (int i = 0; i < 200; i++) {
        char qid[24];
        snprintf(qid, sizeof qid, "%lld", (long long)ids[i]);
        feedf(s, T0 + 1, "getuserstateresult", qid, "{\"userstateid\":1}");
    }
    for (int i = 0; i < 100; i++)
        feedf(s, T0 + 1, "userstatechanged", NULL, "{\"userstateid\":2}");
    CHECK(okt_session_pending_events(s) == 300);
    CHECK(okt_session_mem(s) > busy);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_REPLY &&
          ev.id == ids[0]);
    okt_event_clear(&ev);
    drain_events(s);
    CHECK(okt_session_mem(s) < IDLE_SESSION);
    /* a timeout's text comes out whole after its time in the queue */
    int64_t id = okt_session_request(s, "getuserstate", NULL, 5, T0 + 2, &e);
    okt_session_tick(s, T0 + 10);
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_ERROR &&
          ev.id == id && ev.err.code == OKT_ETIMEOUT);
    CHECK_STR(ev.err.msg, "request 'getuserstate' timed out after 5 ms");
    okt_event_clear(&ev);
    while (okt_session_output(s, &(const char *){NULL}, &(size_t){0}))
        okt_session_consume_output(s);
    CHECK(okt_session_mem(s) < IDLE_SESSION);
    okt_session_free(s);
}

/* A given list that is the table's own is sent as the table's (the Lua
 * client passes it so); one that differs is the one sent. */
TEST(given_subscriptions_equal_to_the_table)
{
    char names[512];
    table_subs(names, sizeof names);
    const char *list[MAXSUB + 1];
    size_t n = 0;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", names);
    for (char *p = strtok(copy, ","); p && n < MAXSUB; p = strtok(NULL, ","))
        list[n++] = p;
    list[n] = NULL;
    okt_session *s = mk("b300", list);
    const char *lq = to_login(s, T0);
    feedf(s, T0 + 2, "loginresult", lq, "{\"result\":1}");
    char got[512], qids[MAXSUB][24];
    CHECK(take_subs(s, got, sizeof got, qids) == n);
    CHECK_STR(got, names);
    okt_session_free(s);
    /* the same names but one left out */
    list[n - 1] = NULL;
    s = mk("b300", list);
    lq = to_login(s, T0);
    feedf(s, T0 + 2, "loginresult", lq, "{\"result\":1}");
    CHECK(take_subs(s, got, sizeof got, qids) == n - 1);
    okt_session_free(s);
}

TEST(password_vectors)
{
    struct {
        const char *pw, *ci, *cs;
    } v[] = {
        {"b300", "25feb18a916779bf59f82ed26e383bdf",
         "25feb18a916779bf59f82ed26e383bdf"},
        {"Пароль", "749789e4982b0c563f6729aac100a614",
         "08f8e03bd59a7c67dc44028b3e073d5e"},
        {"Ёжик", "ade6a39130735d274bca1427ad078fc7",
         "5b8ab686bc1fbb42eb977cce88f125e1"},
    };
    for (size_t i = 0; i < 3; i++) {
        char hex[33];
        okt_err e;
        CHECK(okt_password_hash(v[i].pw, 1, hex, &e) == 0);
        CHECK_STR(hex, v[i].ci);
        CHECK(okt_password_hash(v[i].pw, 0, hex, &e) == 0);
        CHECK_STR(hex, v[i].cs);
    }
    char hex[33];
    okt_err e;
    /* lower() of the whole cp1251 Cyrillic set equals hashing the lower
     * case text */
    char a[33], b[33];
    CHECK(okt_password_hash("ЂЃЉЊЌЋЏЎЈҐЁЄЇІЅАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
                            1, a, &e) == 0);
    CHECK(okt_password_hash("ђѓљњќћџўјґёєїіѕабвгдежзийклмнопрстуфхцчшщъыьэюя",
                            0, b, &e) == 0);
    CHECK_STR(a, b);
    CHECK(okt_password_hash("日本", 0, hex, &e) == -1);
    CHECK(e.code == OKT_EINVAL && strstr(e.msg, "日") == NULL);
    CHECK(okt_password_hash("\xff", 0, hex, &e) == -1);
}

TEST(login_success_transcript)
{
    okt_session *s = mk("b300", NULL);
    CHECK(okt_session_open(s, T0) == 0);
    CHECK(okt_session_deadline(s) == T0 + OKT_DEFAULT_OPEN_MS);
    char *t = take_text(s);
    CHECK_STR(t, "[\"ping\",{\"qid\":\"1\"}]");
    free(t);
    feedf(s, T0 + 5, "pong", "1", "{\"result\":1}");
    t = take_text(s);
    CHECK_STR(t, "[\"login\",{\"userlogin\":\"b300\",\"Password\":"
                 "\"25feb18a916779bf59f82ed26e383bdf\",\"password\":"
                 "\"25feb18a916779bf59f82ed26e383bdf\",\"showid\":1,"
                 "\"qid\":\"2\"}]");
    free(t);
    okt_err e;
    CHECK(okt_session_request(s, "getversion", NULL, 0, T0, &e) == -1);
    CHECK(e.code == OKT_ECLOSED);
    /* a real server's reply name, and no `result` (fact sheet §14.1) */
    feedf(s, T0 + 6, "loginresult", "2", "{\"userid\":\"u-1\"}");
    /* one bare subscribeevent per table name, all at once, qids 3, 4, … */
    char want_names[512];
    table_subs(want_names, sizeof want_names);
    char names[512], qids[MAXSUB][24];
    size_t n = take_subs(s, names, sizeof names, qids);
    CHECK_STR(names, want_names);
    CHECK(n >= 3 && n <= MAXSUB);
    for (size_t i = 0; i < n && i < MAXSUB; i++) {
        char q[24];
        snprintf(q, sizeof q, "%zu", i + 3);
        CHECK_STR(qids[i], q);
    }
    answer_subs(s, T0 + 7, qids, n);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_READY);
    CHECK_STR(json_string_value(json_object_get(ev.data, "userid")), "u-1");
    okt_event_clear(&ev);
    CHECK(okt_session_state(s) == OKT_S_READY);
    CHECK(okt_session_deadline(s) == T0 + 7 + OKT_DEFAULT_PING_MS);

    /* a request and its reply */
    json_t *p = json_pack("{s:i}", "showalloweddbstoredprocs", 1);
    int64_t id = okt_session_request(s, "getversion", p, 0, T0 + 10, &e);
    CHECK(id > 0);
    t = take_text(s);
    char want[160];
    snprintf(want, sizeof want,
             "[\"getversion\",{\"userlogin\":\"b300\","
             "\"showalloweddbstoredprocs\":1,\"qid\":\"%lld\"}]",
             (long long)id);
    CHECK_STR(t, want);
    free(t);
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)id);
    feedf(s, T0 + 11, "getversion", q,
          "{\"result\":1,\"version\":{\"dated\":161116}}");
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_REPLY && ev.id == id);
    CHECK(json_integer_value(json_object_get(
              json_object_get(ev.data, "version"), "dated")) == 161116);
    okt_event_clear(&ev);
    okt_session_free(s);
}

/* The default subscriptions are the table's subscribe names: the events a
 * real server sends and the dlgcard group it expands (fact sheet §2.5),
 * not the Lua API's event names. */
TEST(default_subscriptions_from_table)
{
    char names[512];
    table_subs(names, sizeof names);
    char have[520];
    snprintf(have, sizeof have, ",%s,", names);
    CHECK(strstr(have, ",userstatechanged,") != NULL);
    CHECK(strstr(have, ",linestatechanged,") != NULL);
    CHECK(strstr(have, ",dlgcard,") != NULL);
    CHECK(strstr(have, "tminterface") == NULL);
    /* the session sends exactly these */
    okt_session *s = mk("b300", NULL);
    const char *lq = to_login(s, T0);
    feedf(s, T0 + 2, "loginresult", lq, "{\"result\":1}");
    char got[512], qids[MAXSUB][24];
    take_subs(s, got, sizeof got, qids);
    CHECK_STR(got, names);
    okt_session_free(s);
}

TEST(custom_and_empty_subscription)
{
    const char *two[] = {"userstatechanged", "chat", NULL};
    okt_session *s = mk("b300", two);
    const char *lq = to_login(s, T0);
    feedf(s, T0 + 2, "loginresult", lq, "{\"result\":1}");
    char got[512], qids[MAXSUB][24];
    CHECK(take_subs(s, got, sizeof got, qids) == 2);
    CHECK_STR(got, "userstatechanged,chat");
    feedf(s, T0 + 3, "x", qids[0], "{\"result\":1}");
    CHECK(okt_session_state(s) == OKT_S_LOGIN);
    /* the same answer twice counts once */
    feedf(s, T0 + 3, "x", qids[0], "{\"result\":1}");
    CHECK(okt_session_state(s) == OKT_S_LOGIN);
    feedf(s, T0 + 4, "x", qids[1], "{\"result\":0,\"errormsg\":\"no\"}");
    CHECK(okt_session_state(s) == OKT_S_READY);
    okt_session_free(s);

    /* an empty list: none, ready at the login reply */
    const char *none[] = {NULL};
    s = mk("b300", none);
    lq = to_login(s, T0);
    feedf(s, T0 + 2, "login", lq, "{\"result\":1}");
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_READY);
    okt_event_clear(&ev);
    const char *name;
    json_t *obj;
    CHECK(take(s, &name, &obj) == NULL);
    okt_session_free(s);
}

TEST(wrong_password)
{
    okt_session *s = mk("secret-pw", NULL);
    const char *lq = to_login(s, T0);
    feedf(s, T0 + 2, "login", lq,
          "{\"result\":0,\"errormsg\":\"Wrong login/pass combination\"}");
    char hcs[33], hci[33];
    okt_err e;
    okt_password_hash("secret-pw", 0, hcs, &e);
    okt_password_hash("secret-pw", 1, hci, &e);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_CLOSED && ev.err.code == OKT_EAUTH);
    CHECK(strstr(ev.err.msg, "secret") == NULL);
    CHECK(strstr(ev.err.msg, hcs) == NULL && strstr(ev.err.msg, hci) == NULL);
    okt_event_clear(&ev);
    CHECK(okt_session_state(s) == OKT_S_CLOSED);
    CHECK(okt_session_feed(s, "x", 1, T0 + 3) == -1);   /* sticky */
    CHECK(okt_session_request(s, "x", NULL, 0, T0, &e) == -1 &&
          e.code == OKT_ECLOSED);
    okt_session_free(s);
}

/* Every login entry of the table's server errors gives its okt code, and
 * the message names the server's text or value; values the table does not
 * know are "server" errors, named the same way. */
TEST(login_error_numbers)
{
    size_t n;
    const okt_server_error *se = okt_proto_server_errors(&n);
    int tried = 0;
    for (size_t i = 0; i < n; i++) {
        if (!se[i].request || strcmp(se[i].request, "login"))
            continue;
        char body[256], text[128];
        if (se[i].error) {
            snprintf(body, sizeof body, "{\"result\":0,\"error\":%lld}",
                     se[i].error);
            snprintf(text, sizeof text, "error %lld", se[i].error);
        } else {
            snprintf(body, sizeof body, "{\"result\":0,\"errormsg\":\"%s\"}",
                     se[i].errormsg);
            snprintf(text, sizeof text, "\"%s\"", se[i].errormsg);
        }
        okt_session *s = mk("b300", NULL);
        const char *lq = to_login(s, T0);
        feedf(s, T0 + 2, "loginresult", lq, body);
        expect_closed(s, se[i].code, text);
        okt_session_free(s);
        tried++;
    }
    CHECK(tried >= 6);
    struct {
        const char *body;
        int code;
        const char *text;
    } c[] = {
        /* a number sent as a string; no result at all */
        {"{\"error\":\"50025\"}", OKT_ELICENSE, "(license): error 50025"},
        /* both: text and value named */
        {"{\"result\":0,\"error\":50093,\"errormsg\":\"Already\"}",
         OKT_ESERVER, "\"Already\" (error 50093)"},
        {"{\"result\":0,\"errormsg\":\"Something new\"}", OKT_ESERVER,
         "(server): \"Something new\""},
        {"{\"result\":0,\"error\":4242}", OKT_ESERVER, "error 4242"},
        /* a known text under an unknown value */
        {"{\"result\":0,\"error\":1,\"errormsg\":\"Wrong login/pass "
         "combination\"}", OKT_EAUTH, "(auth): \"Wrong login/pass combination\" "
         "(error 1)"},
        /* attachasghost's value means nothing for login */
        {"{\"result\":0,\"error\":52710}", OKT_ESERVER, "error 52710"},
        {"{\"result\":0}", OKT_ESERVER, "without an error value or text"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        okt_session *s = mk("b300", NULL);
        const char *lq = to_login(s, T0);
        feedf(s, T0 + 2, "loginresult", lq, c[i].body);
        expect_closed(s, c[i].code, c[i].text);
        okt_session_free(s);
    }
}

TEST(websocketredirect)
{
    okt_session *s = mk("b300", NULL);
    CHECK(okt_session_open(s, T0) == 0);
    char *t = take_text(s);
    free(t);
    feedf(s, T0 + 1, "websocketredirect", NULL, "{}");
    CHECK(okt_session_state(s) == OKT_S_REDIRECT);
    const char *name;
    json_t *obj;
    CHECK(take(s, &name, &obj) == NULL);
    /* the open deadline keeps running across the hop */
    CHECK(okt_session_deadline(s) == T0 + OKT_DEFAULT_OPEN_MS);
    CHECK(okt_session_open(s, T0 + 100) == 0);
    CHECK(okt_session_state(s) == OKT_S_LOGIN);
    json_t *r = take(s, &name, &obj);
    CHECK(r && !strcmp(name, "login"));   /* no second ping */
    json_decref(r);
    okt_session_tick(s, T0 + OKT_DEFAULT_OPEN_MS - 1);
    CHECK(okt_session_state(s) == OKT_S_LOGIN);
    okt_session_tick(s, T0 + OKT_DEFAULT_OPEN_MS);
    expect_closed(s, OKT_ETIMEOUT, "open timeout");
    okt_session_free(s);
}

TEST(open_timeout_and_reopen)
{
    okt_session *s = mk("b300", NULL);
    CHECK(okt_session_open(s, T0) == 0);
    /* a second transport (next URL) restarts the handshake */
    CHECK(okt_session_open(s, T0 + 500) == 0);
    char *t = take_text(s);
    CHECK(t && strstr(t, "\"ping\""));
    free(t);
    CHECK(okt_session_output(s, &(const char *){0}, &(size_t){0}) == 0);
    CHECK(okt_session_deadline(s) == T0 + 500 + OKT_DEFAULT_OPEN_MS);
    okt_session_tick(s, T0 + 500 + OKT_DEFAULT_OPEN_MS);
    expect_closed(s, OKT_ETIMEOUT, NULL);
    okt_session_free(s);
}

TEST(request_timeout_and_late_reply)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    int64_t a = okt_session_request(s, "getuserstate", NULL, 0, T0 + 10, &e);
    int64_t b = okt_session_request(s, "getmyuserinfo", NULL, 500, T0 + 10, &e);
    CHECK(a > 0 && b > a);
    free(take_text(s));
    free(take_text(s));
    CHECK(okt_session_deadline(s) == T0 + 510);
    okt_session_tick(s, T0 + 509);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_tick(s, T0 + 510);
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_ERROR && ev.id == b && ev.err.code == OKT_ETIMEOUT);
    CHECK(strstr(ev.err.msg, "getmyuserinfo") != NULL);
    okt_event_clear(&ev);
    CHECK(okt_session_pending_requests(s) == 1);
    /* the late reply is dropped, not turned into an event */
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)b);
    feedf(s, T0 + 600, "getmyuserinfo", q, "{\"result\":1}");
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_tick(s, T0 + 10 + OKT_DEFAULT_TIMEOUT_MS);
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.id == a &&
          ev.err.code == OKT_ETIMEOUT);
    okt_event_clear(&ev);
    okt_session_free(s);
}

TEST(drop_with_requests_pending)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = okt_session_request(s, "getuserstate", NULL, 0, T0, &e);
    CHECK(okt_session_pending_requests(s) == 3);
    okt_err why;
    okt_err_set(&why, OKT_ECLOSED, "peer closed (1006)");
    okt_session_transport_closed(s, &why, T0 + 5);
    okt_event ev;
    for (int i = 0; i < 3; i++) {
        CHECK(okt_session_next_event(s, &ev) == 1);
        CHECK(ev.type == OKT_EV_ERROR && ev.id == ids[i] &&
              ev.err.code == OKT_ECLOSED);
        okt_event_clear(&ev);
    }
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_CLOSED && ev.err.code == OKT_ECLOSED);
    CHECK(strstr(ev.err.msg, "1006") != NULL);
    okt_event_clear(&ev);
    CHECK(okt_session_next_event(s, &ev) == 0);
    CHECK(okt_session_pending_requests(s) == 0);
    /* a second drop report changes nothing */
    okt_session_transport_closed(s, NULL, T0 + 6);
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_free(s);
}

TEST(multipart_reply_and_event)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    int64_t id = okt_session_request(s, "getpbxnumbers", NULL, 0, T0, &e);
    free(take_text(s));
    /* a big reply, multipart, parts out of order */
    json_t *o = json_object();
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)id);
    json_object_set_new(o, "qid", json_string(q));
    json_object_set_new(o, "result", json_integer(1));
    json_t *nums = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(nums, json_pack("{s:i,s:s}", "number", 100 + i,
                                              "caption", "Номер"));
    json_object_set_new(o, "numbers", nums);
    size_t len;
    char *text = okt_msg_build("getpbxnumbers", o, &len, &e);
    json_decref(o);
    char **parts;
    size_t n;
    CHECK(okt_mp_split(text, len, "m-1", 1000, &parts, &n, &e) == 0);
    CHECK(n > 3);
    okt_event ev;
    okt_session_feed(s, parts[1], strlen(parts[1]), T0 + 1);
    okt_session_feed(s, parts[1], strlen(parts[1]), T0 + 1);  /* dup */
    for (size_t i = n; i-- > 2;)
        okt_session_feed(s, parts[i], strlen(parts[i]), T0 + 2);
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_feed(s, parts[0], strlen(parts[0]), T0 + 3);
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_REPLY && ev.id == id);
    CHECK(json_array_size(json_object_get(ev.data, "numbers")) == 200);
    okt_event_clear(&ev);
    okt_mp_split_free(parts, n);
    free(text);

    /* an event in multipart form is dispatched too */
    json_t *lo = json_pack("{s:s,s:i}", "linestatestr", "lsReady",
                           "linestateid", 4);
    text = okt_msg_build("linestatechanged", lo, &len, &e);
    json_decref(lo);
    CHECK(okt_mp_split(text, len, "m-2", 8, &parts, &n, &e) == 0);
    for (size_t i = 0; i < n; i++)
        okt_session_feed(s, parts[i], strlen(parts[i]), T0 + 4);
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_SERVER && ev.name &&
          !strcmp(ev.name, "linestatechanged"));
    okt_event_clear(&ev);
    okt_mp_split_free(parts, n);
    free(text);

    /* a partial never completed is dropped when stale */
    const char *one = "[\"multipart\",{\"message-id\":\"m-3\",\"packetcount\":2,"
                "\"packetnumber\":0,\"content\":\"eA==\"}]";
    okt_session_feed(s, one, strlen(one), T0 + 5);
    CHECK(okt_session_deadline(s) <= T0 + 5 + OKT_MP_STALE_MS);
    okt_session_free(s);
}

TEST(keepalive_and_liveness)
{
    okt_session *s = ready_session(T0);
    int64_t ready_at = T0 + 3;
    const char *name;
    json_t *obj;
    CHECK(okt_session_deadline(s) == ready_at + OKT_DEFAULT_PING_MS);
    okt_session_tick(s, ready_at + OKT_DEFAULT_PING_MS - 1);
    CHECK(take(s, &name, &obj) == NULL);
    okt_session_tick(s, ready_at + OKT_DEFAULT_PING_MS);
    json_t *r = take(s, &name, &obj);
    CHECK(r && !strcmp(name, "ping") && json_object_size(obj) == 1);
    char q[24] = "";
    if (r)
        snprintf(q, sizeof q, "%s", okt_msg_qid(obj));
    json_decref(r);
    /* the pong is traffic: liveness moves; the pong is no event */
    int64_t t1 = ready_at + OKT_DEFAULT_PING_MS + 20;
    feedf(s, t1, "pong", q, "{\"result\":1}");
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_tick(s, ready_at + 2 * OKT_DEFAULT_PING_MS);   /* 2nd ping */
    r = take(s, &name, &obj);
    CHECK(r && !strcmp(name, "ping"));
    json_decref(r);
    CHECK(okt_session_state(s) == OKT_S_READY);
    /* now silence: dead at t1 + 2*ping */
    CHECK(okt_session_deadline(s) <= t1 + 2 * OKT_DEFAULT_PING_MS);
    okt_session_tick(s, t1 + 2 * OKT_DEFAULT_PING_MS - 1);
    CHECK(okt_session_state(s) == OKT_S_READY);
    okt_err e;
    int64_t id = okt_session_request(s, "getuserstate", NULL, 0,
                                     t1 + 2 * OKT_DEFAULT_PING_MS - 1, &e);
    okt_session_tick(s, t1 + 2 * OKT_DEFAULT_PING_MS);
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_ERROR && ev.id == id && ev.err.code == OKT_ECLOSED);
    okt_event_clear(&ev);
    expect_closed(s, OKT_ETIMEOUT, "no traffic");
    okt_session_free(s);
}

TEST(garbage_keeps_session)
{
    okt_session *s = ready_session(T0);
    const char *bad[] = {"", "x", "[", "{}", "[1,2]", "[\"a\",[]]",
                         "[\"multipart\",{}]", "\xff\xfe",
                         "[\"multipart\",{\"message-id\":1,\"packetcount\":1,"
                         "\"packetnumber\":0,\"content\":\"eHg=\"}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(okt_session_feed(s, bad[i], strlen(bad[i]), T0 + 10) == 0);
        okt_event ev;
        CHECK(okt_session_next_event(s, &ev) == 1);
        CHECK(ev.type == OKT_EV_ERROR && ev.id == 0 &&
              ev.err.code == OKT_EPROTOCOL);
        okt_event_clear(&ev);
    }
    CHECK(okt_session_state(s) == OKT_S_READY);
    /* a server event without qid, and one with a foreign qid */
    feedf(s, T0 + 11, "userstatechanged", NULL, "{\"userstateid\":3}");
    feedf(s, T0 + 11, "userstatechanged", "0.123", "{\"userstateid\":1}");
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_SERVER);
    CHECK(json_integer_value(json_object_get(ev.data, "userstateid")) == 3);
    okt_event_clear(&ev);
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_SERVER);
    okt_event_clear(&ev);
    okt_err e;
    CHECK(okt_session_request(s, "getuserstate", NULL, 0, T0, &e) > 0);
    okt_session_free(s);
}

/* A reply with a long list (a real server's lists of users or numbers)
 * is taken; a message over OKT_CLIENT_JSON_ITEMS values is refused by the
 * scan before jansson builds it, as a protocol error, the session going on. */
static char *list_message(const char *qid, size_t n, size_t *len)
{
    char *t = malloc(n * 2 + 128);
    size_t k = (size_t)sprintf(t, "[\"getallusernumbersresult\",{\"qid\":\"%s\","
                               "\"numbers\":[", qid);
    for (size_t i = 0; i < n; i++) {
        t[k++] = '1';
        t[k++] = i + 1 < n ? ',' : ']';
    }
    k += (size_t)sprintf(t + k, "}]");
    *len = k;
    return t;
}

TEST(large_lists_and_item_bound)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    int64_t id = okt_session_request(s, "getallusernumbers", NULL, 0, T0, &e);
    CHECK(id > 0);
    size_t len;
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)id);
    size_t before = okt_session_mem(s);
    char *t = list_message(qid, OKT_CLIENT_JSON_ITEMS - 16, &len);
    okt_session_feed(s, t, len, T0 + 1);
    free(t);
    /* the queued reply counts as its text and a cost per value */
    CHECK(okt_session_mem(s) >= before + len +
                                    (OKT_CLIENT_JSON_ITEMS - 16) * OKT_JSON_VALUE_COST);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_REPLY &&
          ev.id == id);
    CHECK(json_array_size(json_object_get(ev.data, "numbers")) ==
          OKT_CLIENT_JSON_ITEMS - 16);
    okt_event_clear(&ev);
    CHECK(okt_session_mem(s) < before + 4096);   /* taken: not held */
    t = list_message("x", OKT_CLIENT_JSON_ITEMS + 1, &len);
    okt_session_feed(s, t, len, T0 + 2);
    free(t);
    CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_ERROR &&
          ev.id == 0 && ev.err.code == OKT_EPROTOCOL);
    CHECK(strstr(ev.err.msg, "more than 200000 items") != NULL);
    okt_event_clear(&ev);
    CHECK(okt_session_state(s) == OKT_S_READY);
    okt_session_free(s);
}

static unsigned rnd(unsigned *st)
{
    *st = *st * 1103515245u + 12345u;
    return *st >> 8;
}

TEST(many_requests_any_order)
{
    okt_session *s = ready_session(T0);
    enum { N = 5000 };
    static int64_t ids[N];
    okt_err e;
    for (int i = 0; i < N; i++) {
        /* deadlines all different, so the heap is exercised */
        ids[i] = okt_session_request(s, "x", NULL, 1000 + (i * 7919) % 5000,
                                     T0, &e);
        free(take_text(s));
    }
    unsigned st = 42;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rnd(&st) % (unsigned)(i + 1));
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    /* answer the first half in shuffled order, time out the rest */
    for (int i = 0; i < N / 2; i++) {
        char q[24];
        snprintf(q, sizeof q, "%lld", (long long)ids[i]);
        feedf(s, T0 + 1, "x", q, "{\"result\":1}");
        okt_event ev;
        CHECK(okt_session_next_event(s, &ev) == 1 && ev.type == OKT_EV_REPLY &&
              ev.id == ids[i]);
        okt_event_clear(&ev);
    }
    CHECK(okt_session_pending_requests(s) == N - N / 2);
    int64_t last = 0;
    int timeouts = 0, ordered = 1;
    for (int64_t t = T0 + 1000; t <= T0 + 6000; t += 50) {
        feedf(s, t, "x", NULL, "{}");   /* keep liveness */
        okt_session_tick(s, t);
        okt_event ev;
        while (okt_session_next_event(s, &ev)) {
            if (ev.type == OKT_EV_ERROR) {
                timeouts++;
                if (ev.err.code != OKT_ETIMEOUT)
                    ordered = 0;
            }
            okt_event_clear(&ev);
        }
        int64_t d = okt_session_deadline(s);
        CHECK(d > t);
        if (d < last)
            ordered = 0;
        last = t;
    }
    CHECK(ordered);
    CHECK(timeouts == N - N / 2);
    CHECK(okt_session_pending_requests(s) == 0);
    okt_session_free(s);
}

TEST(pending_and_event_bounds)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    /* three internal requests were answered; the bound is on the table */
    for (unsigned i = 0; i < OKT_MAX_PENDING; i++) {
        if (okt_session_request(s, "x", NULL, 0, T0, &e) < 0) {
            CHECK(0);
            break;
        }
        okt_session_consume_output(s);
    }
    CHECK(okt_session_request(s, "x", NULL, 0, T0, &e) == -1);
    CHECK(e.code == OKT_EPROTOCOL && strstr(e.msg, "OKT_MAX_PENDING"));
    okt_session_free(s);

    s = ready_session(T0);
    const char *ev_text = "[\"linestatechanged\",{\"linestateid\":4}]";
    for (unsigned i = 0; i < OKT_MAX_EVENTS; i++)
        okt_session_feed(s, ev_text, strlen(ev_text), T0 + 5);
    CHECK(okt_session_state(s) == OKT_S_READY);
    CHECK(okt_session_pending_events(s) == OKT_MAX_EVENTS);
    okt_session_feed(s, ev_text, strlen(ev_text), T0 + 5);
    CHECK(okt_session_state(s) == OKT_S_CLOSED);
    okt_event ev;
    size_t n = 0;
    int last_type = 0;
    while (okt_session_next_event(s, &ev)) {
        n++;
        last_type = ev.type;
        if (ev.type == OKT_EV_CLOSED)
            CHECK(ev.err.code == OKT_EPROTOCOL);
        okt_event_clear(&ev);
    }
    CHECK(n == OKT_MAX_EVENTS + 1 && last_type == OKT_EV_CLOSED);
    okt_session_free(s);
}

TEST(bad_config)
{
    okt_session_cfg cfg;
    okt_session_cfg_init(&cfg);
    okt_err e;
    CHECK(okt_session_new(&cfg, &e) == NULL && e.code == OKT_EINVAL);
    cfg.login = "x";
    cfg.password = "日本語";
    CHECK(okt_session_new(&cfg, &e) == NULL && e.code == OKT_EINVAL);
    CHECK(strstr(e.msg, "日") == NULL);
    cfg.password = "ok";
    cfg.login = "\xc3";
    CHECK(okt_session_new(&cfg, &e) == NULL);
}

TEST(oneway_send)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    CHECK(okt_session_send(s, "logout", NULL, &e) == 0);
    char *t = take_text(s);
    CHECK(t && strstr(t, "[\"logout\",{\"userlogin\":\"b300\",\"qid\":"));
    CHECK(okt_session_pending_requests(s) == 0);
    CHECK(okt_session_deadline(s) == T0 + 3 + OKT_DEFAULT_PING_MS);
    /* its reply is dropped, not an event */
    json_t *root, *obj;
    const char *name;
    if (t && okt_msg_parse(t, strlen(t), &root, &name, &obj, &e) == 0) {
        feedf(s, T0 + 4, "logout", okt_msg_qid(obj), "{\"result\":1}");
        json_decref(root);
    }
    free(t);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_transport_closed(s, NULL, T0 + 5);
    CHECK(okt_session_send(s, "logout", NULL, &e) == -1 &&
          e.code == OKT_ECLOSED);
    okt_session_free(s);
}

/* Review B: a transport that fails before the session ever opened (a URL
 * that fails at once) closes a session with an empty request table; that
 * used to memset(NULL, 0, 0) (UBSan: null pointer argument). */
TEST(closed_before_open)
{
    okt_session *s = mk("b300", NULL);
    okt_err why;
    okt_err_set(&why, OKT_EREFUSED, "cannot resolve");
    okt_session_transport_closed(s, &why, T0);
    expect_closed(s, OKT_EREFUSED, "cannot resolve");
    okt_session_free(s);
}

/* Review B: an error number sent as a float out of the integer range
 * (1e300) was cast to long long: undefined behaviour from the wire. */
TEST(login_error_huge_float)
{
    const char *bodies[] = {"{\"result\":0,\"error\":1e300}",
                            "{\"result\":0,\"error\":-1e300}",
                            "{\"result\":0,\"error\":9.3e18}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        okt_session *s = mk("b300", NULL);
        const char *lq = to_login(s, T0);
        feedf(s, T0 + 2, "login", lq, bodies[i]);
        expect_closed(s, OKT_ESERVER, "login refused");
        okt_session_free(s);
    }
}

/* Replies are matched by qid alone, whatever they are called (a real
 * server says <method>result, §14.1); a message whose qid is no request's
 * is an event, even with a qid of its own (real events carry a fresh
 * UUID, §2.4); a reply without `result` is a success (§2.2). */
TEST(replies_by_qid_only)
{
    okt_session *s = ready_session(T0);
    okt_err e;
    int64_t id = okt_session_request(s, "getuserstate", NULL, 0, T0 + 4, &e);
    CHECK(id > 0);
    free(take_text(s));
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)id);
    feedf(s, T0 + 5, "userstatechanged",
          "5f0c7c6e-3b9a-4d7e-9a39-0e7f2b1d6c11",
          "{\"userlogin\":\"b300\",\"userstateid\":\"1\","
          "\"userstatestr\":\"usReady\"}");
    feedf(s, T0 + 6, "getuserstateresult", q,
          "{\"userlogin\":\"b300\",\"userstateid\":\"7\","
          "\"userstatestr\":\"usWOphone\",\"oncallcenter\":false}");
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_SERVER && ev.name &&
          !strcmp(ev.name, "userstatechanged"));
    CHECK_STR(json_string_value(json_object_get(ev.data, "userstateid")),
              "1");
    okt_event_clear(&ev);
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_REPLY && ev.id == id);
    CHECK(ev.data && !okt_msg_failed(ev.data));   /* no result: success */
    CHECK_STR(json_string_value(json_object_get(ev.data, "userstatestr")),
              "usWOphone");
    okt_event_clear(&ev);
    /* a reply that bears an event's name is still the reply */
    id = okt_session_request(s, "getuserstate", NULL, 0, T0 + 7, &e);
    free(take_text(s));
    snprintf(q, sizeof q, "%lld", (long long)id);
    feedf(s, T0 + 8, "userstatechanged", q, "{\"userstateid\":\"5\"}");
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_REPLY && ev.id == id);
    okt_event_clear(&ev);
    CHECK(okt_session_next_event(s, &ev) == 0);
    okt_session_free(s);
}

/* Any run of 32 hex digits: an MD5 hex digest. */
static int has_hex32(const char *t)
{
    size_t run = 0;
    for (; *t; t++) {
        int hex = (*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f') ||
                  (*t >= 'A' && *t <= 'F');
        run = hex ? run + 1 : 0;
        if (run >= 32)
            return 1;
    }
    return 0;
}

#define MAXREC 64

typedef struct recs {
    int dir[MAXREC];
    char *text[MAXREC];
    size_t n;
} recs;

static void drain(okt_session *s, recs *r)
{
    int dir;
    char *t;
    r->n = 0;
    while (okt_session_next_trace(s, &dir, &t)) {
        if (r->n < MAXREC) {
            r->dir[r->n] = dir;
            r->text[r->n++] = t;
        } else {
            CHECK(0);
            free(t);
        }
    }
}

static void recs_free(recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->text[i]);
    r->n = 0;
}

TEST(trace_order_and_masking)
{
    const char *pw = "Пароль";
    char hcs[33], hci[33];
    okt_err e;
    okt_password_hash(pw, 0, hcs, &e);
    okt_password_hash(pw, 1, hci, &e);
    okt_session *s = mk_traced(pw, NULL, 1);
    CHECK(okt_session_open(s, T0) == 0);
    const char *name;
    json_t *obj;
    json_decref(take(s, &name, &obj));                          /* > ping */
    feedf(s, T0 + 1, "pong", "1", "{\"result\":1}");            /* < */
    json_decref(take(s, &name, &obj));                          /* > login */
    /* a server copies request fields back (§14.1): a secret may come in */
    char body[256];
    snprintf(body, sizeof body,
             "{\"result\":1,\"userid\":\"u-1\",\"Password\":\"%s\","
             "\"password\":\"%s\",\"sessionid\":\"s-1\","
             "\"more\":[{\"sessionid\":\"s-2\"}]}", hcs, hci);
    feedf(s, T0 + 2, "loginresult", "2", body);                 /* < */
    char names[512], qids[MAXSUB][24];
    size_t nsub = take_subs(s, names, sizeof names, qids);     /* > each */
    answer_subs(s, T0 + 3, qids, nsub);                         /* < each */
    CHECK(okt_session_state(s) == OKT_S_READY);
    /* a caller's request with secrets nested in its params */
    json_t *p = json_pack("{s:{s:s},s:[{s:s}]}", "a", "password", "p1",
                          "list", "Password", "p2");
    int64_t id = okt_session_request(s, "x", p, 0, T0 + 4, &e);
    json_decref(take(s, &name, &obj));                          /* > x */
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)id);
    feedf(s, T0 + 5, "xresult", q, "{}");                       /* < */
    feedf(s, T0 + 6, "userstatechanged", "9e1b8a52-0000-4000-8000-000000000001",
          "{\"userstateid\":\"1\"}");                           /* < */
    /* not JSON, holding a hash: never recorded raw */
    char bad[128];
    snprintf(bad, sizeof bad, "[\"login\",{\"Password\":\"%s\"", hcs);
    okt_session_feed(s, bad, strlen(bad), T0 + 7);              /* < */
    /* a multipart message: one record, the message it completes */
    json_t *o = json_pack("{s:s,s:s}", "caption", "Номер телефона",
                          "sessionid", "s-3");
    size_t len;
    char *text = okt_msg_build("getpbxnumbersresult", o, &len, &e);
    json_decref(o);
    char **parts;
    size_t np;
    CHECK(okt_mp_split(text, len, "m-1", 16, &parts, &np, &e) == 0);
    CHECK(np > 2);
    for (size_t i = 0; i < np; i++)
        okt_session_feed(s, parts[i], strlen(parts[i]), T0 + 8);  /* < once */
    okt_mp_split_free(parts, np);
    free(text);

    recs r;
    drain(s, &r);
    CHECK(r.n == 2 + 2 + 2 * nsub + 2 + 1 + 1 + 1);
    CHECK(okt_session_trace_dropped(s) == 0);
    if (r.n != 2 + 2 + 2 * nsub + 2 + 1 + 1 + 1) {
        recs_free(&r);
        okt_session_free(s);
        return;
    }
    size_t i = 0;
    CHECK(r.dir[i] == '>');
    CHECK_STR(r.text[i++], "[\"ping\",{\"qid\":\"1\"}]");
    CHECK(r.dir[i] == '<');
    CHECK_STR(r.text[i++], "[\"pong\",{\"result\":1,\"qid\":\"1\"}]");
    CHECK(r.dir[i] == '>');
    CHECK_STR(r.text[i++], "[\"login\",{\"userlogin\":\"b300\",\"Password\":"
                           "\"***\",\"password\":\"***\",\"showid\":1,"
                           "\"qid\":\"2\"}]");
    CHECK(r.dir[i] == '<');
    CHECK_STR(r.text[i++], "[\"loginresult\",{\"result\":1,\"userid\":\"u-1\","
                           "\"Password\":\"***\",\"password\":\"***\","
                           "\"sessionid\":\"***\",\"more\":[{\"sessionid\":"
                           "\"***\"}],\"qid\":\"2\"}]");
    for (size_t k = 0; k < nsub; k++, i++) {
        CHECK(r.dir[i] == '>');
        CHECK(strstr(r.text[i], "[\"subscribeevent\",{\"eventmethod\":[") ==
              r.text[i]);
    }
    for (size_t k = 0; k < nsub; k++, i++) {
        CHECK(r.dir[i] == '<');
        CHECK(strstr(r.text[i], "[\"subscribeeventresult\",") == r.text[i]);
    }
    CHECK(r.dir[i] == '>');
    char want[160];
    snprintf(want, sizeof want,
             "[\"x\",{\"userlogin\":\"b300\",\"a\":{\"password\":\"***\"},"
             "\"list\":[{\"Password\":\"***\"}],\"qid\":\"%s\"}]", q);
    CHECK_STR(r.text[i++], want);
    CHECK(r.dir[i] == '<' && strstr(r.text[i++], "[\"xresult\","));
    CHECK(r.dir[i] == '<' && strstr(r.text[i++], "[\"userstatechanged\","));
    CHECK(r.dir[i] == '<');
    snprintf(want, sizeof want, "<unparsable %zu bytes>", strlen(bad));
    CHECK_STR(r.text[i++], want);
    CHECK(r.dir[i] == '<');
    CHECK_STR(r.text[i++], "[\"getpbxnumbersresult\",{\"caption\":"
                           "\"Номер телефона\",\"sessionid\":\"***\"}]");
    for (i = 0; i < r.n; i++) {
        CHECK(!has_hex32(r.text[i]));
        CHECK(!strstr(r.text[i], hcs) && !strstr(r.text[i], hci));
        CHECK(!strstr(r.text[i], pw));
        CHECK(!strstr(r.text[i], "s-1") && !strstr(r.text[i], "s-3"));
    }
    recs_free(&r);
    CHECK(okt_session_next_trace(s, &(int){0}, &(char *){NULL}) == 0);
    okt_session_free(s);
}

TEST(trace_bound_and_drop_count)
{
    okt_session *s = mk_traced("b300", (const char *[]){NULL}, 1);
    const char *lq = to_login(s, T0);
    feedf(s, T0 + 2, "loginresult", lq, "{}");
    CHECK(okt_session_state(s) == OKT_S_READY);
    recs r;
    drain(s, &r);
    CHECK(r.n == 5);   /* ping, noise, pong, login, its reply */
    recs_free(&r);
    unsigned total = OKT_MAX_TRACE + 10;
    for (unsigned i = 0; i < total; i++) {
        char m[64];
        snprintf(m, sizeof m, "[\"linestatechanged\",{\"n\":%u}]", i);
        okt_session_feed(s, m, strlen(m), T0 + 3);
    }
    CHECK(okt_session_trace_dropped(s) == 10);
    int dir;
    char *t;
    unsigned n = 0, first = 0, last = 0, ordered = 1;
    while (okt_session_next_trace(s, &dir, &t)) {
        unsigned v = 0;
        const char *p = strstr(t, "\"n\":");
        if (p)
            v = (unsigned)strtoul(p + 4, NULL, 10);
        if (n == 0)
            first = v;
        else if (v != last + 1)
            ordered = 0;
        last = v;
        n++;
        free(t);
    }
    CHECK(n == OKT_MAX_TRACE);
    CHECK(first == 10 && last == total - 1 && ordered);
    /* drained: room again, the count of drops stays */
    okt_session_feed(s, "x", 1, T0 + 4);
    CHECK(okt_session_next_trace(s, &dir, &t) == 1);
    CHECK_STR(t, "<unparsable 1 bytes>");
    free(t);
    CHECK(okt_session_trace_dropped(s) == 10);
    okt_session_free(s);
}

/* The byte bound, on the trace object itself. */
TEST(trace_byte_bound)
{
    okt_trace *t = okt_trace_new(100, 64);
    const char *m = "[\"a\",{\"k\":\"012345678901234567\"}]";   /* 32 */
    CHECK(strlen(m) == 32);
    okt_trace_add(t, '<', m, strlen(m));
    okt_trace_add(t, '<', m, strlen(m));
    CHECK(okt_trace_count(t) == 2 && okt_trace_dropped(t) == 0);
    okt_trace_add(t, '>', m, strlen(m));
    CHECK(okt_trace_count(t) == 2 && okt_trace_dropped(t) == 1);
    /* one record over the whole bound is kept alone */
    char big[200];
    snprintf(big, sizeof big, "[\"b\",{\"k\":\"%0120d\"}]", 0);
    okt_trace_add(t, '>', big, strlen(big));
    CHECK(okt_trace_count(t) == 1 && okt_trace_dropped(t) == 3);
    int dir;
    char *text;
    CHECK(okt_trace_next(t, &dir, &text) == 1 && dir == '>');
    CHECK_STR(text, big);
    free(text);
    okt_trace_free(t);
    /* the record bound */
    t = okt_trace_new(3, 0);
    for (int i = 0; i < 5; i++)
        okt_trace_add(t, '<', "[1]", 3);
    CHECK(okt_trace_count(t) == 3 && okt_trace_dropped(t) == 2);
    okt_trace_free(t);
    okt_trace_free(NULL);
}

TEST(trace_off_and_take)
{
    okt_session *s = ready_session(T0);   /* not traced */
    int dir;
    char *t;
    CHECK(okt_session_next_trace(s, &dir, &t) == 0);
    CHECK(okt_session_trace_dropped(s) == 0);
    CHECK(okt_session_take_trace(s) == NULL);
    okt_session_free(s);

    s = mk_traced("b300", NULL, 1);
    CHECK(okt_session_open(s, T0) == 0);
    free(take_text(s));
    okt_trace *tr = okt_session_take_trace(s);
    CHECK(tr && okt_trace_count(tr) == 1);
    /* the session traces no more */
    feedf(s, T0 + 1, "pong", "1", "{}");
    free(take_text(s));
    CHECK(okt_trace_count(tr) == 1);
    CHECK(okt_session_next_trace(s, &dir, &t) == 0);
    okt_session_free(s);
    CHECK(okt_trace_next(tr, &dir, &t) == 1 && dir == '>');
    CHECK_STR(t, "[\"ping\",{\"qid\":\"1\"}]");
    free(t);
    okt_trace_free(tr);
}

/* oktell.record on a live client: the trace switched on after login
 * records from the next frame, and off again drops what was not taken. */
TEST(trace_switched_on_live)
{
    okt_session *s = ready_session(T0);   /* not traced */
    okt_err e;
    int dir;
    char *t;
    CHECK(okt_session_set_trace(s, 1, &e) == 0);
    CHECK(okt_session_set_trace(s, 1, &e) == 0);   /* again: kept */
    CHECK(okt_session_next_trace(s, &dir, &t) == 0);
    int64_t id = okt_session_request(s, "getuserstate", NULL, 0, T0 + 1, &e);
    CHECK(id > 0);
    free(take_text(s));
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)id);
    feedf(s, T0 + 2, "getuserstateresult", q, "{\"sessionid\":\"s-9\"}");
    CHECK(okt_session_next_trace(s, &dir, &t) == 1 && dir == '>');
    CHECK(t && strstr(t, "[\"getuserstate\",") == t);
    free(t);
    CHECK(okt_session_next_trace(s, &dir, &t) == 1 && dir == '<');
    CHECK(t && strstr(t, "\"sessionid\":\"***\""));
    free(t);
    feedf(s, T0 + 3, "userstatechanged", "e-1", "{}");
    CHECK(okt_session_set_trace(s, 0, &e) == 0);   /* the record is dropped */
    CHECK(okt_session_next_trace(s, &dir, &t) == 0);
    feedf(s, T0 + 4, "userstatechanged", "e-2", "{}");
    CHECK(okt_session_next_trace(s, &dir, &t) == 0);
    CHECK(okt_session_set_trace(NULL, 1, &e) == -1 && e.code == OKT_EINVAL);
    okt_session_free(s);
}

int main(void)
{
    RUN(oneway_send);
    RUN(password_vectors);
    RUN(login_success_transcript);
    RUN(custom_and_empty_subscription);
    RUN(wrong_password);
    RUN(login_error_numbers);
    RUN(websocketredirect);
    RUN(open_timeout_and_reopen);
    RUN(request_timeout_and_late_reply);
    RUN(drop_with_requests_pending);
    RUN(multipart_reply_and_event);
    RUN(keepalive_and_liveness);
    RUN(garbage_keeps_session);
    RUN(large_lists_and_item_bound);
    RUN(many_requests_any_order);
    RUN(pending_and_event_bounds);
    RUN(bad_config);
    RUN(closed_before_open);
    RUN(login_error_huge_float);
    RUN(default_subscriptions_from_table);
    RUN(idle_session_holds_little);
    RUN(given_subscriptions_equal_to_the_table);
    RUN(replies_by_qid_only);
    RUN(trace_order_and_masking);
    RUN(trace_bound_and_drop_count);
    RUN(trace_byte_bound);
    RUN(trace_off_and_take);
    RUN(trace_switched_on_live);
    return TEST_SUMMARY();
}
