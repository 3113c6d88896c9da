/* test_model.c - the emulator's rules (docs/EMULATOR.md) on the bare state
 * machine: messages in, (session, message) list out. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#include "model.h"

static okt_out out;

/* Feed one message given as JSON text on sess; out holds the reaction. */
static void feed(okt_model *m, int s, const char *text)
{
    okt_out_clear(&out);
    CHECK(okt_model_feed(m, s, text, strlen(text), &out) == 0);
}

static void feedf(okt_model *m, int s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    feed(m, s, buf);
}

/* The i-th output message as parsed JSON (caller frees), NULL if none. */
static json_t *msg_at(size_t i)
{
    if (i >= out.n || out.v[i].kind != OKT_OUT_SEND)
        return NULL;
    return json_loads(out.v[i].text, 0, NULL);
}

static const char *name_of(const json_t *m)
{
    return json_string_value(json_array_get(m, 0));
}

/* First message named name for sess: its object (a new reference). */
static json_t *find(int sess, const char *name)
{
    for (size_t i = 0; i < out.n; i++) {
        if (out.v[i].sess != sess || out.v[i].kind != OKT_OUT_SEND)
            continue;
        json_t *m = msg_at(i);
        if (m && strcmp(name_of(m), name) == 0) {
            json_t *o = json_incref(json_array_get(m, 1));
            json_decref(m);
            return o;
        }
        json_decref(m);
    }
    return NULL;
}

static int count_named(const char *name)
{
    int n = 0;
    for (size_t i = 0; i < out.n; i++) {
        json_t *m = msg_at(i);
        if (m && strcmp(name_of(m), name) == 0)
            n++;
        json_decref(m);
    }
    return n;
}

static long long ival(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

static const char *sval(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Reply field of the reply to the last request (named method). */
static long long rfield(int s, const char *method, const char *key)
{
    json_t *o = find(s, method);
    long long v = o ? ival(o, key) : -999;
    json_decref(o);
    return v;
}

#define H123 "202cb962ac59075b964b07152d234b70" /* md5("123") */

static int login(okt_model *m, const char *user, const char *hash)
{
    int s = okt_model_open(m, NULL);
    feedf(m, s,
          "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"%s\","
          "\"password\":\"%s\",\"showid\":1,\"qid\":\"q1\"}]",
          user, hash, hash);
    CHECK(rfield(s, "login", "result") == 1);
    feed(m, s, "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\","
               "\"linestatechanged\",\"tminterfaceconfirm\","
               "\"tminterfacereserve\",\"tminterfaceclose\"],\"qid\":\"s\"}]");
    return s;
}

static json_t *snap(okt_model *m, const char *user)
{
    json_t *a = json_pack("{s:s}", "user", user), *res = NULL;
    okt_out_clear(&out);
    CHECK(okt_model_control(m, "snapshot", a, &res, &out, NULL) == 0);
    json_decref(a);
    return res;
}

static const char *snap_s(okt_model *m, const char *user, const char *key)
{
    static char buf[64];
    json_t *s = snap(m, user);
    snprintf(buf, sizeof buf, "%s", s ? sval(s, key) ? sval(s, key) : "?" : "?");
    json_decref(s);
    return buf;
}

static int snap_b(okt_model *m, const char *user, const char *key)
{
    json_t *s = snap(m, user);
    int v = s ? (int)ival(s, key) : -1;
    json_decref(s);
    return v;
}

static int control(okt_model *m, const char *cmd, json_t *args, okt_err *e)
{
    okt_out_clear(&out);
    int rc = okt_model_control(m, cmd, args, NULL, &out, e);
    json_decref(args);
    return rc;
}

static okt_model *model3(int licenses)
{
    json_t *cfg = json_pack(
        "{s:i, s:[{s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:b}]}", "licenses",
        licenses, "users", "login", "A", "password", "123", "login", "B",
        "password", "123", "redirect_number", "200", "login", "C",
        "password", "123", "line", 0);
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    CHECK(m != NULL);
    return m;
}

static long long state_of(okt_model *m, int s)
{
    feed(m, s, "[\"getuserstate\",{\"qid\":\"g\"}]");
    return rfield(s, "getuserstate", "userstateid");
}

TEST(default_login_and_wrong_password)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":"
               "\"00000000000000000000000000000000\",\"qid\":\"0.5\"}]");
    json_t *o = find(s, "login");
    CHECK(o && ival(o, "result") == 0);
    CHECK_STR(sval(o, "errormsg"), "Wrong login/pass combination");
    CHECK_STR(sval(o, "qid"), "0.5");
    json_decref(o);
    CHECK(snap_b(m, "Peter", "connected") == 0);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "disconnected");
    feed(m, s, "[\"login\",{\"userlogin\":\"peter\",\"Password\":\"" H123
               "\",\"qid\":\"0.6\"}]");
    o = find(s, "login");
    CHECK(o && ival(o, "result") == 1);
    CHECK_STR(sval(o, "userid"), "da803f01-ea77-40fa-bc9d-e2efb36fd5a8");
    CHECK(sval(o, "sessionid") != NULL);
    CHECK(json_object_get(o, "error") == NULL);
    json_decref(o);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    okt_model_free(m);
}

TEST(login_by_session_id)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    feed(m, s, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"" H123
               "\",\"qid\":\"again\"}]");
    json_t *o = find(s, "login");
    char sid[64];
    snprintf(sid, sizeof sid, "%s", o && sval(o, "sessionid") ? sval(o, "sessionid") : "");
    json_decref(o);
    CHECK(sid[0] != '\0');
    CHECK(snap_b(m, "Peter", "sessions") == 1);   /* re-login replaced */
    int t = okt_model_open(m, NULL);
    feedf(m, t, "[\"login\",{\"userlogin\":\"Peter\",\"sessionid\":\"%s\","
                "\"qid\":\"1\"}]", sid);
    CHECK(rfield(t, "login", "result") == 1);
    feed(m, t, "[\"login\",{\"userlogin\":\"Peter\",\"sessionid\":\"nope\","
               "\"qid\":\"2\"}]");
    o = find(t, "login");
    CHECK_STR(o ? sval(o, "errormsg") : NULL, "Bad request. Session does not exist");
    json_decref(o);
    feedf(m, t, "[\"login\",{\"userlogin\":\"Nobody\",\"sessionid\":\"%s\","
                "\"qid\":\"3\"}]", sid);
    o = find(t, "login");
    CHECK_STR(o ? sval(o, "errormsg") : NULL, "Bad request. Invalid session user");
    json_decref(o);
    okt_model_free(m);
}

TEST(password_hash_vectors)
{
    /* fact sheet §3.1: (input, password lowercased, Password) */
    json_t *cfg = json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                            "users", "login", "u1", "password", "b300",
                            "login", "u2", "password", "Пароль", "login",
                            "u3", "password", "Ёжик");
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"login\",{\"userlogin\":\"u1\",\"Password\":"
               "\"25feb18a916779bf59f82ed26e383bdf\",\"qid\":\"1\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"Password\":"
               "\"08f8e03bd59a7c67dc44028b3e073d5e\",\"qid\":\"2\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"password\":"
               "\"749789e4982b0c563f6729aac100a614\",\"qid\":\"3\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    /* the lowercase hash is not the case-sensitive one */
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"Password\":"
               "\"749789e4982b0c563f6729aac100a614\",\"qid\":\"4\"}]");
    CHECK(rfield(s, "login", "result") == 0);
    feed(m, s, "[\"login\",{\"userlogin\":\"u3\",\"Password\":"
               "\"5b8ab686bc1fbb42eb977cce88f125e1\",\"qid\":\"5\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u3\",\"password\":"
               "\"ade6a39130735d274bca1427ad078fc7\",\"qid\":\"6\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    okt_model_free(m);
    /* text cp1251 cannot hold: hashed as oktell.js maps it (é dropped,
     * U+2713 to its low byte after -848) */
    cfg = json_pack("{s:[{s:s, s:s}]}", "users", "login", "u4", "password",
                    "pé✓");
    m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    s = okt_model_open(m, NULL);
    feed(m, s, "[\"login\",{\"userlogin\":\"u4\",\"Password\":"
               "\"80a709662f2d045ec27f23c86cc14c23\",\"qid\":\"7\"}]");
    CHECK(rfield(s, "login", "result") == 1);
    okt_model_free(m);
}

TEST(bad_input_gets_error_replies)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"getuserstate\",{\"qid\":\"x\"}]");
    CHECK(rfield(s, "getuserstate", "result") == 0);
    CHECK(rfield(s, "getuserstate", "error") == 1201);
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    const char *bad[] = {"{", "[]", "[1,{}]", "{\"a\":1}", "[\"x\",3]",
                         "[\"x\",{},1]", "\"s\"", "", "[\"x\"]", deep};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        feed(m, s, bad[i]);
        CHECK(out.n == 1);
        CHECK(rfield(s, "error", "error") == 1106);
    }
    okt_model_close(m, s, &out);
    s = login(m, "Peter", H123);
    feed(m, s, "[\"nosuchmethod\",{\"qid\":\"n\"}]");
    CHECK(rfield(s, "nosuchmethod", "error") == 1104);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":\"1\",\"qid\":\"t\"}]");
    CHECK(rfield(s, "setuserstate", "error") == 1106);
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":\"yes\",\"qid\":\"t\"}]");
    CHECK(rfield(s, "setuserstate", "error") == 1106);
    feed(m, s, "[\"subscribeevent\",{\"eventmethod\":5,\"qid\":\"t\"}]");
    CHECK(rfield(s, "subscribeevent", "error") == 1106);
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"maybe\"}]");
    CHECK(rfield(s, "tm_setconfirmresult", "error") == 1106);
    /* the session still works */
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(ping_and_login_sequence_of_oktell_js)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"ping\",{\"qid\":\"0.38\"}]");
    json_t *o = find(s, "pong");
    CHECK(o && ival(o, "result") == 1);
    CHECK_STR(sval(o, "qid"), "0.38");
    json_decref(o);
    okt_model_close(m, s, &out);
    s = login(m, "Peter", H123);
    feed(m, s, "[\"getversion\",{\"showalloweddbstoredprocs\":1,\"qid\":\"v\"}]");
    o = find(s, "getversion");
    CHECK(o && ival(json_object_get(o, "version"), "dated") == 161116);
    CHECK(o && json_is_object(json_object_get(o, "alloweddbstoredprocs")));
    CHECK(o && json_is_string(json_object_get(json_object_get(o, "version"),
                                              "build")));
    json_decref(o);
    feed(m, s, "[\"getmyuserinfo\",{\"qid\":\"u\"}]");
    o = find(s, "getmyuserinfo");
    CHECK(o && ival(o, "hasline") == 1 && ival(o, "isoperator") == 1);
    CHECK(o && sval(o, "mainpbxnumber") && sval(o, "lineid"));
    CHECK_STR(o ? sval(o, "username") : NULL, "Петр");
    json_decref(o);
    feed(m, s, "[\"cc_getlunchtypes\",{\"qid\":\"l\"}]");
    o = find(s, "cc_getlunchtypes");
    CHECK(o && json_array_size(json_object_get(o, "items")) >= 1);
    CHECK(o && json_is_integer(json_object_get(
                   json_array_get(json_object_get(o, "items"), 0), "id")));
    json_decref(o);
    feed(m, s, "[\"getcurrentqueue\",{\"qid\":\"q\"}]");
    o = find(s, "getcurrentqueue");
    CHECK(o && json_is_array(json_object_get(o, "queue")));
    json_decref(o);
    feed(m, s, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    o = find(s, "getextendedlineinfo");
    CHECK(o && json_is_object(json_object_get(o, "abonent")));
    CHECK(o && json_object_size(json_object_get(o, "abonent")) == 0);
    CHECK_STR(o ? sval(o, "linestatestr") : NULL, "lsReady");
    CHECK_STR(o ? sval(o, "chainid") : NULL,
              "00000000-0000-0000-0000-000000000000");
    json_decref(o);
    const char *lists[][2] = {{"getredirectrules", "redirectrules"},
                              {"getpbxnumbers", "numbers"},
                              {"getallusernumbers", "users"},
                              {"getalluserphotolink", "links"}};
    for (int i = 0; i < 4; i++) {
        feedf(m, s, "[\"%s\",{\"qid\":\"z\"}]", lists[i][0]);
        o = find(s, lists[i][0]);
        CHECK(o && ival(o, "result") == 1);
        CHECK(o && json_is_array(json_object_get(o, lists[i][1])));
        json_decref(o);
    }
    feed(m, s, "[\"getcurrentuserfullinfo\",{\"qid\":\"f\"}]");
    o = find(s, "getcurrentuserfullinfo");
    json_t *ui = o ? json_object_get(o, "userinfo") : NULL;
    CHECK_STR(sval(ui, "login"), "Peter");
    CHECK_STR(sval(json_object_get(ui, "group"), "name"), "Программисты");
    CHECK_STR(sval(json_object_get(ui, "role"), "name"), "Администратор");
    CHECK(json_object_size(json_object_get(ui, "rights")) == 45);
    CHECK_STR(sval(json_object_get(ui, "right_titles"), "extwp"),
              "Расширенное рабочее место");
    CHECK(json_object_get(ui, "password") == NULL);
    json_decref(o);
    okt_model_free(m);
}

TEST(events_only_to_subscribed_sessions_reply_first)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int a = login(m, "Peter", H123);
    int b = okt_model_open(m, NULL);
    feed(m, b, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"" H123
               "\",\"qid\":\"q\"}]");
    feed(m, b, "[\"setuserstate\",{\"userstateid\":3,\"qid\":\"w\"}]");
    CHECK(out.n == 2);   /* reply to b, event to a (b did not subscribe) */
    CHECK(out.n >= 1 && out.v[0].sess == b);
    json_t *r = msg_at(0);
    CHECK_STR(name_of(r), "setuserstate");
    CHECK(ival(json_array_get(r, 1), "userstateid") == 3);
    json_decref(r);
    json_t *ev = find(a, "userstatechanged");
    CHECK(ev && ival(ev, "userstateid") == 3 && !json_object_get(ev, "qid"));
    json_decref(ev);
    CHECK(find(b, "userstatechanged") == NULL);
    /* subscribing to a group name works (and expands silently) */
    feed(m, b, "[\"subscribeevent\",{\"eventmethod\":[\"dlgcard\"],"
               "\"qid\":\"g\"}]");
    CHECK(rfield(b, "subscribeevent", "result") == 1);
    okt_model_free(m);
}

TEST(settable_and_not_settable_states)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    static const struct {
        int st;
        long long err;
    } cases[] = {{3, 0}, {1, 0}, {2, 4002}, {0, 4002}, {6, 4002},
                 {7, 4002}, {4, 4001}, {9, 4001}, {5, 0}, {1, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long before = state_of(m, s);
        feedf(m, s, "[\"setuserstate\",{\"userstateid\":%d,\"qid\":\"x\"}]",
              cases[i].st);
        if (cases[i].err) {
            CHECK(rfield(s, "setuserstate", "result") == 0);
            CHECK(rfield(s, "setuserstate", "error") == cases[i].err);
            CHECK(out.n == 1);   /* no event: nothing changed */
            CHECK(state_of(m, s) == before);
        } else {
            CHECK(rfield(s, "setuserstate", "result") == 1);
            CHECK(state_of(m, s) == cases[i].st);
        }
    }
    /* lunch inside the call-center, with its description kept */
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":2,"
               "\"description\":\"Ушел на обед\",\"qid\":\"x\"}]");
    json_t *o = find(s, "setuserstate");
    CHECK(o && ival(o, "userstateid") == 2 && ival(o, "oncallcenter") == 1);
    CHECK_STR(o ? sval(o, "description") : NULL, "Ушел на обед");
    json_decref(o);
    o = find(s, "userstatechanged");
    CHECK(o && ival(o, "userstateid") == 2 && ival(o, "onlunch") == 1);
    json_decref(o);
    /* leaving the call-center ends the break */
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":false,\"qid\":\"x\"}]");
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(huge_state_code_is_unknown)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":4294967299,"
               "\"qid\":\"x\"}]");   /* 2^32 + 3: would narrow to off */
    CHECK(rfield(s, "setuserstate", "result") == 0);
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(refused_request_changes_nothing)
{
    /* a Peter without a redirect number (the default one has "100") */
    json_t *cfg = json_loads("{\"users\":[{\"login\":\"Peter\","
                             "\"password\":\"123\"}]}", 0, NULL);
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    int s = login(m, "Peter", H123);
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":6,"
               "\"qid\":\"x\"}]");
    CHECK(rfield(s, "setuserstate", "error") == 4002);
    CHECK(snap_b(m, "Peter", "inside") == 0);
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":3,"
               "\"onredirect\":true,\"qid\":\"x\"}]");
    CHECK(rfield(s, "setuserstate", "error") == 4003);
    CHECK(snap_b(m, "Peter", "inside") == 0);
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(redirect_needs_number_and_starts_off)
{
    okt_model *m = model3(2);
    int a = login(m, "A", H123), b = login(m, "B", H123);
    feed(m, a, "[\"setuserstate\",{\"onredirect\":true,\"qid\":\"x\"}]");
    CHECK(rfield(a, "setuserstate", "error") == 4003);
    feed(m, b, "[\"setuserstate\",{\"userstateid\":3,\"onredirect\":true,"
               "\"qid\":\"x\"}]");
    CHECK(rfield(b, "setuserstate", "onredirect") == 1);
    CHECK(rfield(b, "userstatechanged", "onredirect") == 1);
    feed(m, b, "[\"getredirectrules\",{\"qid\":\"r\"}]");
    json_t *o = find(b, "getredirectrules");
    json_t *rule = json_array_get(json_object_get(o, "redirectrules"), 0);
    CHECK_STR(sval(rule, "destinationnumber"), "200");
    CHECK(sval(rule, "id") && strlen(sval(rule, "id")) == 32);
    json_decref(o);
    okt_model_close(m, b, &out);
    b = login(m, "B", H123);
    CHECK(snap_b(m, "B", "redirect") == 0);
    CHECK(state_of(m, b) == 1);
    okt_model_free(m);
}

TEST(no_line_shows_wophone_and_set_line)
{
    okt_model *m = model3(2);
    int c = login(m, "C", H123);
    CHECK(state_of(m, c) == 7);
    feed(m, c, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    json_t *o = find(c, "getextendedlineinfo");
    CHECK_STR(o ? sval(o, "linestatestr") : NULL, "lsDisconnected");
    json_decref(o);
    feed(m, c, "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"x\"}]");
    CHECK(rfield(c, "setuserstate", "error") == 4002);
    int a = login(m, "A", H123);
    okt_err e;
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "off"), &e) == 0);
    CHECK(rfield(a, "linestatechanged", "linestateid") == 2);
    CHECK(rfield(a, "userstatechanged", "userstateid") == 7);
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "hookup"), &e) == 0);
    CHECK(rfield(a, "userstatechanged", "userstateid") == 1);
    CHECK_STR(snap_s(m, "A", "linestate"), "hookup");
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "bogus"), &e) == -1);
    CHECK(e.code == OKT_EINVAL);
    okt_model_free(m);
}

static long long enter(okt_model *m, int s)
{
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"qid\":\"cc\"}]");
    return rfield(s, "setuserstate", "result") == 1
               ? 0
               : rfield(s, "setuserstate", "error");
}

TEST(licences_eviction_and_presence)
{
    okt_model *m = model3(2);
    int a = login(m, "A", H123), b = login(m, "B", H123);
    int c = login(m, "C", H123);
    CHECK(enter(m, a) == 0);
    CHECK(enter(m, a) == 0);   /* inside already: still fine */
    CHECK(enter(m, b) == 0);
    CHECK(enter(m, c) == 4010);
    CHECK(snap_b(m, "C", "inside") == 0);
    /* B leaves without exiting: presence stays */
    okt_model_close(m, b, &out);
    CHECK(snap_b(m, "B", "inside") == 1);
    /* A reconnects: inside again at login */
    okt_model_close(m, a, &out);
    a = login(m, "A", H123);
    feed(m, a, "[\"getuserstate\",{\"qid\":\"g\"}]");
    CHECK(rfield(a, "getuserstate", "oncallcenter") == 1);
    /* C asks: the absent holder (B) is put out */
    CHECK(enter(m, c) == 0);
    CHECK(snap_b(m, "B", "inside") == 0);
    b = login(m, "B", H123);
    feed(m, b, "[\"getuserstate\",{\"qid\":\"g\"}]");
    CHECK(rfield(b, "getuserstate", "oncallcenter") == 0);
    CHECK(enter(m, b) == 4010);   /* everyone inside is present now */
    /* exit frees the licence */
    feed(m, a, "[\"setuserstate\",{\"oncallcenter\":false,\"qid\":\"x\"}]");
    CHECK(enter(m, b) == 0);
    okt_model_free(m);
}

static long long call(okt_model *m, int s, const char *method)
{
    feedf(m, s, "[\"%s\",{\"qid\":\"c\"}]", method);
    return rfield(s, method, "success");
}

TEST(external_task_without_queue)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 0);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 0);
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 1);
    CHECK(rfield(s, "userstatechanged", "userstateid") == 5);
    CHECK(rfield(s, "userstatechanged", "ontask") == 1);
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 0);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 1);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"x\"}]");
    CHECK(rfield(s, "setuserstate", "error") == 4002);
    CHECK(snap_b(m, "Peter", "external") == 1);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 1);
    CHECK(rfield(s, "userstatechanged", "userstateid") == 1);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 0);
    /* ended by the call-center exit */
    CHECK(enter(m, s) == 0);
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 1);
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":false,\"qid\":\"x\"}]");
    CHECK(snap_b(m, "Peter", "external") == 0);
    CHECK(state_of(m, s) == 1);
    /* ended by the session's end */
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 1);
    okt_model_close(m, s, &out);
    CHECK(snap_b(m, "Peter", "external") == 0);
    s = login(m, "Peter", H123);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 0);
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(external_task_with_queued_caller)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    okt_err e;
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 1);
    CHECK(control(m, "enqueue", json_pack("{s:s}", "number", "5551234"),
                  &e) == 0);
    feed(m, s, "[\"getcurrentqueue\",{\"qid\":\"q\"}]");
    json_t *o = find(s, "getcurrentqueue");
    CHECK(json_array_size(json_object_get(o, "queue")) == 1);
    json_decref(o);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 1);
    CHECK(rfield(s, "userstatechanged", "userstateid") == 6);
    CHECK(rfield(s, "linestatechanged", "linestateid") == 0x10);
    CHECK_STR(snap_s(m, "Peter", "linestate"), "incomingcall");
    feed(m, s, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    o = find(s, "getextendedlineinfo");
    CHECK_STR(sval(json_object_get(o, "abonent"), "number"), "5551234");
    json_decref(o);
    /* answered: commutated and busy; failed afterwards: the hang-up */
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "answered"), &e) == 0);
    CHECK(count_named("tminterfaceclose") == 0);
    CHECK_STR(snap_s(m, "Peter", "linestate"), "commutated");
    CHECK_STR(snap_s(m, "Peter", "userstate"), "fullbusy");
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == -1);
    CHECK(e.code == OKT_ENOTSETTABLE);
    okt_model_free(m);
}

TEST(task_activation_and_lock_text)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    const char *req = "[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":"
                      "\"0f398eb4-5d78-446c-84f4-6892ab72751b\",\"active\":1,"
                      "\"qid\":\"t\"}]";
    feed(m, s, req);
    CHECK(rfield(s, "tm_settaskactive", "success") == 1);
    okt_err e;
    CHECK(control(m, "lock_task",
                  json_pack("{s:s,s:s}", "task",
                            "0f398eb4-5d78-446c-84f4-6892ab72751b", "editor",
                            "Сидоров Иван"), &e) == 0);
    feed(m, s, req);
    json_t *o = find(s, "tm_settaskactive");
    CHECK(o && ival(o, "success") == 0);
    CHECK_STR(o ? sval(o, "errormessage") : NULL,
              "Задачу монопольно редактирует Сидоров Иван");
    json_decref(o);
    CHECK(control(m, "unlock_task",
                  json_pack("{s:s}", "task",
                            "0f398eb4-5d78-446c-84f4-6892ab72751b"), &e) == 0);
    feed(m, s, req);
    CHECK(rfield(s, "tm_settaskactive", "success") == 1);
    feed(m, s, "[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":"
               "\"nope\",\"active\":2,\"qid\":\"t\"}]");
    CHECK(rfield(s, "tm_settaskactive", "success") == 0);
    CHECK(control(m, "lock_task", json_pack("{s:s,s:s}", "task", "nope",
                                            "editor", "X"), &e) == -1);
    CHECK(e.code == OKT_EINVAL);
    okt_model_free(m);
}

static int offer(okt_model *m, const char *mode, okt_err *e)
{
    return control(m, "offer",
                   json_pack("{s:s,s:s,s:s,s:s,s:i}", "user", "Peter", "mode",
                             mode, "number", "120151112", "text", "Вы",
                             "idinlist", 67), e);
}

TEST(confirm_ok_answered_failed)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    okt_err e;
    CHECK(offer(m, "confirm", &e) == -1);   /* not inside the call-center */
    CHECK(e.code == OKT_ENOTSETTABLE);
    CHECK(call(m, s, "tm_setconfirmresult") == -999); /* bad param: error */
    CHECK(enter(m, s) == 0);
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"ok\"}]");
    CHECK(rfield(s, "tm_setconfirmresult", "success") == 0);
    CHECK(offer(m, "confirm", &e) == 0);
    json_t *ev = find(s, "tminterfaceconfirm");
    CHECK(ev && ival(ev, "id") == 121 && ival(ev, "idinlist") == 67);
    CHECK_STR(ev ? sval(ev, "idtask") : NULL,
              "0f398eb4-5d78-446c-84f4-6892ab72751b");
    CHECK_STR(ev ? sval(ev, "taskname") : NULL, "Прозвон клиентов");
    CHECK_STR(ev ? sval(ev, "number") : NULL, "120151112");
    CHECK_STR(ev ? sval(ev, "textb64") : NULL, "0JLRiw==");
    CHECK(ev && sval(ev, "idproject") && sval(ev, "idlist") &&
          sval(ev, "taskcode"));
    json_decref(ev);
    CHECK(rfield(s, "userstatechanged", "userstateid") == 6);
    CHECK(snap_b(m, "Peter", "confirm_pending") == 1);
    CHECK(offer(m, "notify", &e) == -1);    /* already held */
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":0,\"qid\":\"c\"}]");
    CHECK(out.n >= 2);
    json_t *r = msg_at(0);
    CHECK_STR(name_of(r), "tm_setconfirmresult");   /* reply first */
    json_decref(r);
    CHECK(rfield(s, "tm_setconfirmresult", "success") == 1);
    ev = find(s, "tminterfacereserve");
    CHECK(ev && ival(ev, "id") == 122 && ival(ev, "idinlist") == 67);
    json_decref(ev);
    CHECK(snap_b(m, "Peter", "confirm_pending") == 0);
    CHECK(snap_b(m, "Peter", "dialing") == 1);
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "answered"), &e) == 0);
    ev = find(s, "tminterfaceclose");
    CHECK(ev && ival(ev, "id") == 123 && sval(ev, "idtask"));
    json_decref(ev);
    CHECK_STR(snap_s(m, "Peter", "linestate"), "commutated");
    CHECK_STR(snap_s(m, "Peter", "userstate"), "fullbusy");
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK(count_named("tminterfaceclose") == 0);  /* a hang-up, no 123 */
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    okt_model_free(m);
}

TEST(confirm_skip_and_delete)
{
    const char *words[] = {"skip", "delete", "1", "2"};
    for (int i = 0; i < 4; i++) {
        okt_model *m = okt_model_new(NULL, NULL);
        int s = login(m, "Peter", H123);
        okt_err e;
        CHECK(enter(m, s) == 0);
        CHECK(offer(m, "confirm", &e) == 0);
        if (i < 2)
            feedf(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"%s\","
                        "\"qid\":\"c\"}]", words[i]);
        else
            feedf(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":%s,"
                        "\"qid\":\"c\"}]", words[i]);
        CHECK(rfield(s, "tm_setconfirmresult", "success") == 1);
        CHECK(rfield(s, "tminterfaceclose", "id") == 123);
        CHECK(count_named("tminterfacereserve") == 0);
        CHECK(rfield(s, "userstatechanged", "userstateid") == 1);
        CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
        CHECK(snap_b(m, "Peter", "confirm_pending") == 0);
        okt_model_free(m);
    }
}

TEST(notify_and_failed)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    okt_err e;
    CHECK(offer(m, "notify", &e) == 0);
    CHECK(rfield(s, "tminterfacereserve", "id") == 122);
    CHECK(count_named("tminterfaceconfirm") == 0);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "reserved");
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"ok\"}]");
    CHECK(rfield(s, "tm_setconfirmresult", "success") == 0);
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK(rfield(s, "tminterfaceclose", "id") == 123);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    okt_model_free(m);
}

TEST(drop_logout_and_control_misuse)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int a = login(m, "Peter", H123), b = login(m, "Peter", H123);
    okt_err e;
    CHECK(control(m, "drop", json_pack("{s:s}", "user", "Peter"), &e) == 0);
    CHECK(out.n == 2 && out.v[0].kind == OKT_OUT_ABORT &&
          out.v[1].kind == OKT_OUT_ABORT);
    feed(m, b, "[\"logout\",{\"qid\":\"l\"}]");
    CHECK(out.n == 1 && out.v[0].kind == OKT_OUT_CLOSE && out.v[0].sess == b);
    CHECK(snap_b(m, "Peter", "sessions") == 1);
    okt_model_close(m, b, &out);
    okt_model_close(m, a, &out);
    CHECK(snap_b(m, "Peter", "connected") == 0);
    CHECK(control(m, "bogus", NULL, &e) == -1 && e.code == OKT_EINVAL);
    CHECK(control(m, "snapshot", json_pack("{s:s}", "user", "Nobody"), &e) ==
              -1 && e.code == OKT_EINVAL);
    CHECK(control(m, "offer", json_pack("{s:s,s:s}", "user", "Peter", "mode",
                                        "x"), &e) == -1 && e.code == OKT_EINVAL);
    CHECK(okt_model_session_count(m) == 0);
    okt_model_free(m);
}

TEST(bad_config)
{
    const char *bad[] = {"{\"licenses\":-1}", "{\"users\":[]}",
                         "{\"users\":[{\"password\":\"1\"}]}",
                         "{\"users\":[{\"login\":\"a\",\"line\":\"nope\"}]}",
                         "{\"users\":[{\"login\":\"a\"},{\"login\":\"A\"}]}",
                         "{\"tasks\":[{\"type\":\"fax\"}]}",
                         "{\"users\":[{\"login\":\"a\",\"isoperator\":1}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cfg = json_loads(bad[i], 0, NULL);
        okt_err e;
        okt_model *m = okt_model_new(cfg, &e);
        CHECK(m == NULL && e.code == OKT_EINVAL);
        okt_model_free(m);
        json_decref(cfg);
    }
}

int main(void)
{
    okt_out_init(&out);
    RUN(default_login_and_wrong_password);
    RUN(login_by_session_id);
    RUN(password_hash_vectors);
    RUN(bad_input_gets_error_replies);
    RUN(ping_and_login_sequence_of_oktell_js);
    RUN(events_only_to_subscribed_sessions_reply_first);
    RUN(settable_and_not_settable_states);
    RUN(huge_state_code_is_unknown);
    RUN(refused_request_changes_nothing);
    RUN(redirect_needs_number_and_starts_off);
    RUN(no_line_shows_wophone_and_set_line);
    RUN(licences_eviction_and_presence);
    RUN(external_task_without_queue);
    RUN(external_task_with_queued_caller);
    RUN(task_activation_and_lock_text);
    RUN(confirm_ok_answered_failed);
    RUN(confirm_skip_and_delete);
    RUN(notify_and_failed);
    RUN(drop_logout_and_control_misuse);
    RUN(bad_config);
    okt_out_free(&out);
    return TEST_SUMMARY();
}
