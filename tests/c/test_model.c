/* test_model.c - the emulator's rules (docs/EMULATOR.md) and wire shapes
 * (docs/PROTOCOL.md, from the protocol table) on the bare state machine:
 * messages in, (session, message) list out. */
#include "test.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>

#include "model.h"
#include "protocol.h"

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

/* String field key of the first message named name for s ("" if none). */
static const char *fstr(int s, const char *name, const char *key)
{
    static char buf[256];
    json_t *o = find(s, name);
    snprintf(buf, sizeof buf, "%s", o && sval(o, key) ? sval(o, key) : "");
    json_decref(o);
    return buf;
}

/* 1 if a message named name went to s. */
static int has(int s, const char *name)
{
    json_t *o = find(s, name);
    json_decref(o);
    return o != NULL;
}

/* A code sent as a string of digits ("7", §14.1): its value, -999 when the
 * field is missing or not such a string. */
static long long code(const json_t *o, const char *key)
{
    const char *v = sval(o, key);
    if (!v || !*v || strspn(v, "0123456789") != strlen(v))
        return -999;
    return atoll(v);
}

/* A lower-case RFC 4122 version 4 UUID. */
static int is_uuid4(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-'
                 : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* No message of the last reaction carries an error number: refusals are
 * result 0 with a text (only login may carry §8.1's numbers). */
static int no_error_numbers(void)
{
    int ok = 1;
    for (size_t i = 0; i < out.n; i++) {
        json_t *m = msg_at(i);
        if (m && json_object_get(json_array_get(m, 1), "error"))
            ok = 0;
        json_decref(m);
    }
    return ok;
}

/* Field of the first message named name (a reply or event) for s. */
static long long rfield(int s, const char *name, const char *key)
{
    json_t *o = find(s, name);
    long long v = o ? ival(o, key) : -999;
    json_decref(o);
    return v;
}

/* The refusal text of the reply named name for s ("" when it is not a
 * refusal: result 0, errormsg, no error number). */
static const char *emsg(int s, const char *name)
{
    static char buf[256];
    json_t *o = find(s, name);
    snprintf(buf, sizeof buf, "%s",
             o && ival(o, "result") == 0 && !json_object_get(o, "error") &&
                     sval(o, "errormsg")
                 ? sval(o, "errormsg")
                 : "");
    json_decref(o);
    return buf;
}

#define H123 "202cb962ac59075b964b07152d234b70" /* md5("123") */

static int login(okt_model *m, const char *user, const char *hash)
{
    int s = okt_model_open(m, NULL);
    feedf(m, s,
          "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"%s\","
          "\"password\":\"%s\",\"showid\":1,\"qid\":\"q1\"}]",
          user, hash, hash);
    CHECK(rfield(s, "loginresult", "result") == 1);
    feed(m, s, "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\","
               "\"linestatechanged\",\"dlgcard\"],\"qid\":\"s\"}]");
    CHECK(rfield(s, "subscribeeventresult", "result") == 1);
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
    json_t *o = find(s, "getuserstateresult");
    long long v = code(o, "userstateid");
    json_decref(o);
    return v;
}

#define PETER_ID "da803f01-ea77-40fa-bc9d-e2efb36fd5a8"
#define TASK_ID "0f398eb4-5d78-446c-84f4-6892ab72751b"

TEST(default_login_and_wrong_password)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":"
               "\"00000000000000000000000000000000\",\"qid\":\"0.5\"}]");
    /* the text oktell.js matches (§3.3, §8.1), no error number */
    CHECK_STR(emsg(s, "loginresult"), "Wrong login/pass combination");
    json_t *o = find(s, "loginresult");
    CHECK_STR(o ? sval(o, "qid") : NULL, "0.5");
    CHECK_STR(o ? sval(o, "userlogin") : NULL, "Peter");
    json_decref(o);
    CHECK(snap_b(m, "Peter", "connected") == 0);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "disconnected");
    feed(m, s, "[\"login\",{\"userlogin\":\"peter\",\"Password\":\"" H123
               "\",\"qid\":\"0.6\"}]");
    o = find(s, "loginresult");
    /* §14.1: qid, userid, userlogin (as the request had it), result 1 */
    CHECK(o && json_is_integer(json_object_get(o, "result")) &&
          ival(o, "result") == 1);
    CHECK_STR(o ? sval(o, "userid") : NULL, PETER_ID);
    CHECK_STR(o ? sval(o, "userlogin") : NULL, "peter");
    CHECK_STR(o ? sval(o, "qid") : NULL, "0.6");
    CHECK(o && sval(o, "sessionid") != NULL);
    CHECK(o && !json_object_get(o, "error") && !json_object_get(o, "errormsg"));
    CHECK(o && json_object_size(o) == 5);
    json_decref(o);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    okt_model_free(m);
}

/* The sessionid of the loginresult on s ("" if none). */
static const char *sid_of(int s, char buf[64])
{
    snprintf(buf, 64, "%s", fstr(s, "loginresult", "sessionid"));
    return buf;
}

/* A password login on a new transport; its sessionid into sid. */
static int login_pw(okt_model *m, const char *user, char sid[64])
{
    int s = okt_model_open(m, NULL);
    feedf(m, s, "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"" H123
                "\",\"qid\":\"l\"}]", user);
    CHECK(rfield(s, "loginresult", "result") == 1);
    sid_of(s, sid);
    return s;
}

static const char *login_sid(okt_model *m, int t, const char *user,
                             const char *sid)
{
    feedf(m, t, "[\"login\",{\"userlogin\":\"%s\",\"sessionid\":\"%s\","
                "\"qid\":\"1\"}]", user, sid);
    return rfield(t, "loginresult", "result") == 1 ? "ok"
                                                   : emsg(t, "loginresult");
}

/* Issue 11: a sessionid is 128 random bits, GUID-shaped, bound to its
 * user, expiring, revoked by logout; the store is bounded. */
TEST(login_by_session_id)
{
    json_t *cfg = json_pack("{s:i, s:i, s:[{s:s, s:s}, {s:s, s:s}]}",
                            "session_ttl", 10, "max_sessions_per_user", 2,
                            "users", "login", "Peter", "password", "123",
                            "login", "Anna", "password", "123");
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    okt_model_set_time(m, 1000);
    char sid[64], sid2[64];
    int s = login_pw(m, "Peter", sid);
    CHECK(strlen(sid) == 36 && sid[8] == '-' && sid[13] == '-' &&
          sid[18] == '-' && sid[23] == '-');
    CHECK(strspn(sid, "0123456789abcdef-") == 36);
    feed(m, s, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"" H123
               "\",\"qid\":\"again\"}]");
    sid_of(s, sid2);
    CHECK(sid2[0] && strcmp(sid, sid2) != 0);     /* a new one per login */
    CHECK(snap_b(m, "Peter", "sessions") == 1);   /* re-login replaced */
    int t = okt_model_open(m, NULL);
    CHECK_STR(login_sid(m, t, "Peter", sid), "ok");
    CHECK_STR(fstr(t, "loginresult", "sessionid"), sid);   /* the same */
    CHECK_STR(login_sid(m, t, "Peter", "nope"),
              "Bad request. Session does not exist");
    /* not the user's: refused, whoever asks (§8.1) */
    CHECK_STR(login_sid(m, t, "Anna", sid), "Bad request. Invalid session user");
    CHECK_STR(login_sid(m, t, "Nobody", sid), "Bad request. Invalid session user");
    /* a guessed neighbour of a real id does not exist */
    char near[64];
    snprintf(near, sizeof near, "%s", sid);
    near[35] = near[35] == '0' ? '1' : '0';
    CHECK_STR(login_sid(m, t, "Peter", near),
              "Bad request. Session does not exist");
    /* the store keeps max_sessions_per_user (2) of a user: a third login
     * pushes out the oldest */
    char sid3[64];
    int u = login_pw(m, "Peter", sid3);
    CHECK_STR(login_sid(m, t, "Peter", sid),
              "Bad request. Session does not exist");
    CHECK_STR(login_sid(m, t, "Peter", sid2), "ok");
    /* logout revokes the id the transport logged in with */
    feed(m, u, "[\"logout\",{\"qid\":\"o\"}]");
    CHECK(out.n == 2 && out.v[1].kind == OKT_OUT_CLOSE);
    okt_model_close(m, u, &out);
    CHECK_STR(login_sid(m, t, "Peter", sid3),
              "Bad request. Session does not exist");
    /* expiry: session_ttl (10 s) after the login that made it */
    okt_model_set_time(m, 1000 + 9999);
    CHECK_STR(login_sid(m, t, "Peter", sid2), "ok");
    okt_model_set_time(m, 1000 + 10000);
    CHECK_STR(login_sid(m, t, "Peter", sid2),
              "Bad request. Session does not exist");
    /* `expires` (s) shortens a session, never lengthens it */
    feed(m, t, "[\"login\",{\"userlogin\":\"Anna\",\"Password\":\"" H123
               "\",\"expires\":2,\"qid\":\"e\"}]");
    sid_of(t, sid);
    int v = okt_model_open(m, NULL);
    okt_model_set_time(m, 11000 + 1999);
    CHECK_STR(login_sid(m, v, "Anna", sid), "ok");
    okt_model_set_time(m, 11000 + 2000);
    CHECK_STR(login_sid(m, v, "Anna", sid), "Bad request. Session does not exist");
    feed(m, t, "[\"login\",{\"userlogin\":\"Anna\",\"Password\":\"" H123
               "\",\"expires\":100000,\"qid\":\"e\"}]");
    sid_of(t, sid);
    okt_model_set_time(m, 13000 + 10000);
    CHECK_STR(login_sid(m, v, "Anna", sid), "Bad request. Session does not exist");
    okt_model_free(m);
}

/* The store as a whole is bounded too: the soonest to expire goes. */
TEST(session_store_total_bound)
{
    json_t *cfg = json_pack("{s:i, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                            "max_sessions", 2, "users", "login", "A",
                            "password", "123", "login", "B", "password",
                            "123", "login", "C", "password", "123");
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    char a[64], b[64], c[64];
    okt_model_set_time(m, 1);
    login_pw(m, "A", a);
    okt_model_set_time(m, 2);
    login_pw(m, "B", b);
    okt_model_set_time(m, 3);
    login_pw(m, "C", c);
    int t = okt_model_open(m, NULL);
    CHECK_STR(login_sid(m, t, "A", a), "Bad request. Session does not exist");
    CHECK_STR(login_sid(m, t, "B", b), "ok");
    CHECK_STR(login_sid(m, t, "C", c), "ok");
    okt_model_free(m);
    okt_err err;
    const char *bad[] = {"{\"session_ttl\":0}", "{\"max_sessions\":\"x\"}",
                         "{\"max_sessions_per_user\":-1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg = json_loads(bad[i], 0, NULL);
        CHECK(okt_model_new(cfg, &err) == NULL && err.code == OKT_EINVAL);
        json_decref(cfg);
    }
}

/* A password login of user on s: "ok" or the refusal text. */
static const char *try_pw(okt_model *m, int s, const char *user, const char *h)
{
    feedf(m, s, "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"%s\","
                "\"qid\":\"t\"}]", user, h);
    return rfield(s, "loginresult", "result") == 1 ? "ok"
                                                   : emsg(s, "loginresult");
}

#define WRONG "00000000000000000000000000000000"

/* Issue 11, case 8: after login_failures failures a user, or an address,
 * is refused for login_lockout, doubled per further failure; another user
 * from another address is not slowed. */
TEST(login_throttling)
{
    json_t *cfg = json_pack("{s:i, s:i, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                            "login_failures", 3, "login_lockout", 10,
                            "users", "login", "A", "password", "123",
                            "login", "B", "password", "123", "login", "C",
                            "password", "123");
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    okt_model_set_time(m, 1000);
    int x = okt_model_open(m, NULL), y = okt_model_open(m, NULL),
        z = okt_model_open(m, NULL);
    okt_model_set_addr(m, x, "10.0.0.1");
    okt_model_set_addr(m, y, "10.0.0.2");
    okt_model_set_addr(m, z, "10.0.0.1");
    for (int i = 0; i < 3; i++)
        CHECK_STR(try_pw(m, x, "A", WRONG), "Wrong login/pass combination");
    /* A is throttled, from any address, even with the right password */
    CHECK_STR(try_pw(m, x, "A", H123), "Too many failed logins");
    CHECK_STR(try_pw(m, y, "A", H123), "Too many failed logins");
    /* so is the address, for any user */
    CHECK_STR(try_pw(m, z, "B", H123), "Too many failed logins");
    /* another user from another address: at once */
    CHECK_STR(try_pw(m, y, "B", H123), "ok");
    /* the window ends; one more failure doubles it */
    okt_model_set_time(m, 1000 + 10000);
    CHECK_STR(try_pw(m, x, "A", WRONG), "Wrong login/pass combination");
    okt_model_set_time(m, 1000 + 10000 + 19999);
    CHECK_STR(try_pw(m, y, "A", H123), "Too many failed logins");
    okt_model_set_time(m, 1000 + 10000 + 20000);
    CHECK_STR(try_pw(m, y, "A", H123), "ok");
    /* success forgets the user's count: three more to throttle again */
    int w = okt_model_open(m, NULL);
    okt_model_set_addr(m, w, "10.0.0.3");
    for (int i = 0; i < 2; i++)
        CHECK_STR(try_pw(m, w, "A", WRONG), "Wrong login/pass combination");
    CHECK_STR(try_pw(m, y, "A", H123), "ok");
    /* unknown logins and bad session ids count for the address */
    okt_model_set_addr(m, w, "10.0.0.4");
    for (int i = 0; i < 2; i++)
        CHECK_STR(try_pw(m, w, "Nobody", WRONG), "Wrong login/pass combination");
    CHECK_STR(login_sid(m, w, "C", "nope"), "Bad request. Session does not exist");
    CHECK_STR(try_pw(m, w, "C", H123), "Too many failed logins");
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
    CHECK(rfield(s, "loginresult", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"Password\":"
               "\"08f8e03bd59a7c67dc44028b3e073d5e\",\"qid\":\"2\"}]");
    CHECK(rfield(s, "loginresult", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"password\":"
               "\"749789e4982b0c563f6729aac100a614\",\"qid\":\"3\"}]");
    CHECK(rfield(s, "loginresult", "result") == 1);
    /* the lowercase hash is not the case-sensitive one */
    feed(m, s, "[\"login\",{\"userlogin\":\"u2\",\"Password\":"
               "\"749789e4982b0c563f6729aac100a614\",\"qid\":\"4\"}]");
    CHECK(rfield(s, "loginresult", "result") == 0);
    feed(m, s, "[\"login\",{\"userlogin\":\"u3\",\"Password\":"
               "\"5b8ab686bc1fbb42eb977cce88f125e1\",\"qid\":\"5\"}]");
    CHECK(rfield(s, "loginresult", "result") == 1);
    feed(m, s, "[\"login\",{\"userlogin\":\"u3\",\"password\":"
               "\"ade6a39130735d274bca1427ad078fc7\",\"qid\":\"6\"}]");
    CHECK(rfield(s, "loginresult", "result") == 1);
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
    CHECK(rfield(s, "loginresult", "result") == 1);
    okt_model_free(m);
}


TEST(bad_input_gets_error_replies)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"getuserstate\",{\"qid\":\"x\"}]");
    CHECK_STR(emsg(s, "getuserstateresult"), "Not logged in");
    CHECK(rfield(s, "getuserstateresult", "result") == 0);
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    const char *bad[] = {"{", "[]", "[1,{}]", "{\"a\":1}", "[\"x\",3]",
                         "[\"x\",{},1]", "\"s\"", "", "[\"x\"]", deep};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        feed(m, s, bad[i]);
        CHECK(out.n == 1);
        /* no method to name it after, no qid to echo */
        json_t *o = find(s, "error");
        CHECK(o && json_object_size(o) == 2 && ival(o, "result") == 0);
        CHECK(o && sval(o, "errormsg") &&
              !strncmp(sval(o, "errormsg"), "Bad request: ", 13));
        json_decref(o);
    }
    okt_model_close(m, s, &out);
    s = login(m, "Peter", H123);
    static const struct {
        const char *req, *reply, *msg;
    } cases[] = {
        {"[\"nosuchmethod\",{\"qid\":\"n\"}]", "nosuchmethodresult",
         "Unknown method"},
        {"[\"NoSuch\",{\"qid\":\"n\"}]", "nosuchresult", "Unknown method"},
        {"[\"setuserstate\",{\"userstateid\":\"ready\",\"qid\":\"t\"}]",
         "setuserstateresult",
         "Bad parameter 'userstateid': user state code expected"},
        {"[\"setuserstate\",{\"userstateid\":1.5,\"qid\":\"t\"}]",
         "setuserstateresult",
         "Bad parameter 'userstateid': user state code expected"},
        {"[\"setuserstate\",{\"oncallcenter\":\"yes\",\"qid\":\"t\"}]",
         "setuserstateresult", "Bad parameter 'oncallcenter': boolean expected"},
        {"[\"setuserstate\",{\"onredirect\":2,\"qid\":\"t\"}]",
         "setuserstateresult", "Bad parameter 'onredirect': boolean expected"},
        {"[\"setuserstate\",{\"lunchreasonid\":\"x1\",\"qid\":\"t\"}]",
         "setuserstateresult",
         "Bad parameter 'lunchreasonid': integer expected"},
        {"[\"setuserstate\",{\"lunchreasonmsg\":5,\"qid\":\"t\"}]",
         "setuserstateresult",
         "Bad parameter 'lunchreasonmsg': string expected"},
        {"[\"subscribeevent\",{\"eventmethod\":5,\"qid\":\"t\"}]",
         "subscribeeventresult",
         "Bad parameter 'eventmethod': list of strings expected"},
        {"[\"subscribeevent\",{\"eventmethod\":[\"a\",1],\"qid\":\"t\"}]",
         "subscribeeventresult",
         "Bad parameter 'eventmethod': list of strings expected"},
        {"[\"subscribeevent\",{\"qid\":\"t\"}]", "subscribeeventresult",
         "Parameter 'eventmethod' is required"},
        {"[\"tm_setconfirmresult\",{\"confirmresult\":\"maybe\"}]",
         "tm_setconfirmresultresult",
         "Bad parameter 'confirmresult': ok, skip or delete expected"},
        {"[\"tm_setconfirmresult\",{\"confirmresult\":1}]",
         "tm_setconfirmresultresult",
         "Bad parameter 'confirmresult': string expected"},
        {"[\"tm_setconfirmusage\",{}]", "tm_setconfirmusageresult",
         "Parameter 'use' is required"},
        {"[\"tm_settaskactive\",{\"idtask\":\"t\",\"active\":1}]",
         "tm_settaskactiveresult", "Parameter 'tasktype' is required"},
        {"[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":\"t\","
         "\"active\":true}]",
         "tm_settaskactiveresult", "Bad parameter 'active': integer expected"},
        {"[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":\"t\","
         "\"active\":3}]",
         "tm_settaskactiveresult", "Bad parameter 'active': 1 or 2 expected"},
        {"[\"getversion\",{\"showalloweddbstoredprocs\":true}]",
         "getversionresult",
         "Bad parameter 'showalloweddbstoredprocs': integer expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        feed(m, s, cases[i].req);
        CHECK(out.n == 1);   /* refused: nothing changed, no event */
        CHECK_STR(emsg(s, cases[i].reply), cases[i].msg);
        CHECK(no_error_numbers());
    }
    /* the session still works; a code as a decimal string is an integer */
    CHECK(state_of(m, s) == 1);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":\"3\",\"qid\":\"t\"}]");
    CHECK(rfield(s, "setuserstateresult", "result") == 1);
    CHECK(state_of(m, s) == 3);
    okt_model_free(m);
}

/* Every request of the protocol table is served: its reply has the table's
 * name, echoes qid and the request's own userlogin / userid as they came,
 * and carries `result` unless the table says a real server leaves it out. */
TEST(every_table_method_is_served_in_the_table_shape)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    size_t n = 0;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    CHECK(n >= 24);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(w[i].request, "logout"))
            continue;   /* closes the session: below */
        feedf(m, s, "[\"%s\",{\"qid\":\"Q-%zu\",\"userlogin\":\"peter\"}]",
              w[i].request, i);
        CHECK(out.n >= 1 && out.v[0].sess == s);
        json_t *r = msg_at(0);
        const json_t *o = json_array_get(r, 1);
        char qid[32];
        snprintf(qid, sizeof qid, "Q-%zu", i);
        CHECK_STR(name_of(r), w[i].reply);
        CHECK_STR(sval(o, "qid"), qid);
        const char *em = sval(o, "errormsg");
        CHECK(!em || (strcmp(em, "Unknown method") && strcmp(em, "Not logged in")));
        if (w[i].no_result)
            CHECK(json_object_get(o, "result") == NULL);
        else
            CHECK(json_is_integer(json_object_get(o, "result")));
        CHECK(json_object_get(o, "error") == NULL);
        /* the state replies name the user as configured; the rest copy
         * the request's userlogin */
        if (w[i].reply_fields && w[i].reply_fields[0].wire &&
            !strcmp(w[i].reply_fields[0].wire, "userstateid"))
            CHECK_STR(sval(o, "userlogin"), "Peter");
        else
            CHECK_STR(sval(o, "userlogin"), "peter");
        json_decref(r);
    }
    /* a qid of another form comes back unchanged; userid is copied too */
    feed(m, s, "[\"getversion\",{\"qid\":42,\"userid\":\"\",\"userlogin\":\"\"}]");
    json_t *o = find(s, "getversionresult");
    CHECK(o && json_is_integer(json_object_get(o, "qid")) && ival(o, "qid") == 42);
    CHECK_STR(o ? sval(o, "userid") : NULL, "");
    CHECK_STR(o ? sval(o, "userlogin") : NULL, "");
    json_decref(o);
    feed(m, s, "[\"getversion\",{\"qid\":\"E0F0108-A9A3-4C1B-9D2E-0000000000AB\"}]");
    CHECK_STR(emsg(s, "getversionresult"), "");
    o = find(s, "getversionresult");
    CHECK_STR(o ? sval(o, "qid") : NULL, "E0F0108-A9A3-4C1B-9D2E-0000000000AB");
    json_decref(o);
    /* names match in any case; the reply is named by the table */
    feed(m, s, "[\"GetUserState\",{\"qid\":\"c\"}]");
    CHECK(has(s, "getuserstateresult"));
    /* logout: answered, then the session is closed */
    feed(m, s, "[\"logout\",{\"qid\":\"o\",\"userlogin\":\"Peter\"}]");
    CHECK(out.n == 2 && out.v[1].kind == OKT_OUT_CLOSE && out.v[1].sess == s);
    CHECK(rfield(s, "logoutresult", "result") == 1);
    okt_model_free(m);
}

TEST(ping_and_login_sequence_of_oktell_js)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = okt_model_open(m, NULL);
    feed(m, s, "[\"ping\",{\"qid\":\"0.38\"}]");
    json_t *o = find(s, "pong");
    CHECK(o && ival(o, "result") == 1 && json_object_size(o) == 2);
    CHECK_STR(o ? sval(o, "qid") : NULL, "0.38");
    json_decref(o);
    okt_model_close(m, s, &out);
    s = login(m, "Peter", H123);
    feed(m, s, "[\"getversion\",{\"showalloweddbstoredprocs\":1,\"qid\":\"v\"}]");
    o = find(s, "getversionresult");
    CHECK(o && ival(json_object_get(o, "version"), "dated") == 161116);
    CHECK(o && json_is_object(json_object_get(o, "alloweddbstoredprocs")));
    CHECK(o && json_is_string(json_object_get(json_object_get(o, "version"),
                                              "build")));
    /* OKT_PROTO_EXT_FIELD: exactly the table's requests without a source */
    const json_t *ext = o ? json_object_get(o, OKT_PROTO_EXT_FIELD) : NULL;
    CHECK(json_is_array(ext));
    size_t k = 0;
    for (const okt_wire_method *w = okt_proto_wire_methods(NULL); w->request;
         w++) {
        if (w->source)
            continue;
        CHECK_STR(json_string_value(json_array_get(ext, k)), w->request);
        k++;
    }
    CHECK(k == 7 && json_array_size(ext) == k);
    CHECK_STR(json_string_value(json_array_get(ext, 0)),
              "getcurrentuserfullinfo");
    json_decref(o);
    feed(m, s, "[\"getmyuserinfo\",{\"qid\":\"u\"}]");
    o = find(s, "getmyuserinforesult");
    /* exactly oktell.js's fields (§4 step 5), result and qid */
    CHECK(o && json_object_size(o) == 8);
    CHECK(o && json_is_true(json_object_get(o, "hasline")) &&
          json_is_true(json_object_get(o, "isoperator")));
    CHECK_STR(o ? sval(o, "mainpbxnumber") : NULL, "101");
    CHECK_STR(o ? sval(o, "linenumber") : NULL, "101");
    CHECK(o && sval(o, "lineid"));
    CHECK_STR(o ? sval(o, "username") : NULL, "Петр");
    json_decref(o);
    feed(m, s, "[\"cc_getlunchtypes\",{\"qid\":\"l\"}]");
    o = find(s, "cc_getlunchtypesresult");
    CHECK(o && json_array_size(json_object_get(o, "items")) >= 1);
    CHECK(o && json_is_integer(json_object_get(
                   json_array_get(json_object_get(o, "items"), 0), "id")));
    json_decref(o);
    feed(m, s, "[\"getcurrentqueue\",{\"qid\":\"q\"}]");
    o = find(s, "getcurrentqueueresult");
    CHECK(o && json_is_array(json_object_get(o, "queue")));
    json_decref(o);
    feed(m, s, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    o = find(s, "getextendedlineinforesult");
    CHECK(o && json_object_size(o) == 7);
    CHECK(o && json_is_object(json_object_get(o, "abonent")));
    CHECK(o && json_object_size(json_object_get(o, "abonent")) == 0);
    CHECK_STR(o ? sval(o, "linestatestr") : NULL, "lsReady");
    CHECK(o && !json_object_get(o, "linestateid"));
    CHECK(o && json_is_false(json_object_get(o, "isflashing")));
    CHECK(o && ival(o, "timertalklensec") == 0);
    CHECK_STR(o ? sval(o, "chainid") : NULL,
              "00000000-0000-0000-0000-000000000000");
    json_decref(o);
    const char *lists[][2] = {{"getredirectrules", "redirectrules"},
                              {"getallusernumbers", "users"},
                              {"getalluserphotolink", "links"}};
    for (int i = 0; i < 3; i++) {
        feedf(m, s, "[\"%s\",{\"qid\":\"z\"}]", lists[i][0]);
        char name[64];
        snprintf(name, sizeof name, "%sresult", lists[i][0]);
        o = find(s, name);
        CHECK(o && ival(o, "result") == 1);
        CHECK(o && json_is_array(json_object_get(o, lists[i][1])));
        json_decref(o);
    }
    /* as captured (§14.1): no result, the request's fields copied back */
    feed(m, s, "[\"getpbxnumbers\",{\"qid\":\"p\",\"userlogin\":\"\","
               "\"userid\":\"\",\"mode\":\"full\"}]");
    o = find(s, "getpbxnumbersresult");
    CHECK(o && !json_object_get(o, "result"));
    CHECK_STR(o ? sval(o, "mode") : NULL, "full");
    CHECK_STR(o ? sval(o, "userlogin") : NULL, "");
    CHECK_STR(o ? sval(o, "userid") : NULL, "");
    json_t *item = json_array_get(json_object_get(o, "numbers"), 0);
    CHECK_STR(sval(item, "id"), PETER_ID);
    CHECK_STR(sval(item, "number"), "101");
    CHECK_STR(sval(item, "caption"), "Петр");
    CHECK(ival(item, "state") == 1);
    CHECK_STR(sval(item, "statestr"), "usReady");
    CHECK(json_object_get(item, "userid") == NULL);
    json_decref(o);
    /* our extension, flat (no nested userinfo), never the password */
    feed(m, s, "[\"getcurrentuserfullinfo\",{\"qid\":\"f\"}]");
    o = find(s, "getcurrentuserfullinforesult");
    CHECK(o && json_object_size(o) == 14);
    CHECK(o && !json_object_get(o, "userinfo") && !json_object_get(o, "password"));
    CHECK_STR(o ? sval(o, "id") : NULL, PETER_ID);
    CHECK(o && ival(o, "type") == 1);
    CHECK_STR(o ? sval(o, "type_name") : NULL, "utUser");
    CHECK_STR(o ? sval(o, "name") : NULL, "Петр");
    CHECK_STR(o ? sval(o, "login") : NULL, "Peter");
    CHECK(o && json_is_true(json_object_get(o, "isoperator")));
    CHECK_STR(sval(json_object_get(o, "group"), "name"), "Программисты");
    CHECK_STR(sval(json_object_get(o, "role"), "name"), "Администратор");
    CHECK_STR(sval(json_object_get(o, "role"), "id"),
              "41fbf675-8f73-488e-83ca-c108b915f51d");
    CHECK(o && sval(o, "callerid") && sval(o, "info"));
    CHECK(json_object_size(json_object_get(o, "rights")) == 45);
    CHECK_STR(sval(json_object_get(o, "right_titles"), "extwp"),
              "Расширенное рабочее место");
    json_decref(o);
    okt_model_free(m);
}

/* getuserstateresult: exactly the captured nine fields with their JSON
 * types, onccmanual and ontask, qid; no result (§14.1). */
TEST(user_state_shape_as_captured)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    feed(m, s, "[\"getuserstate\",{\"qid\":\"g\"}]");
    json_t *o = find(s, "getuserstateresult");
    CHECK(o && json_object_size(o) == 11);
    CHECK_STR(o ? sval(o, "userstateid") : NULL, "1");
    CHECK_STR(o ? sval(o, "userstate") : NULL, "1");
    CHECK_STR(o ? sval(o, "userstatestr") : NULL, "usReady");
    CHECK_STR(o ? sval(o, "userlogin") : NULL, "Peter");
    CHECK_STR(o ? sval(o, "userid") : NULL, PETER_ID);
    const char *flags[] = {"oncallcenter", "onlunch", "onredirect",
                           "onccmanual", "ontask"};
    for (int i = 0; i < 5; i++)
        CHECK(o && json_is_false(json_object_get(o, flags[i])));
    CHECK(o && !json_object_get(o, "result"));
    CHECK_STR(o ? sval(o, "qid") : NULL, "g");
    json_decref(o);
    /* a break with its reason id (number) and message (our extension) */
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":2,"
               "\"lunchreasonid\":1,\"lunchreasonmsg\":\"Ушел на обед\","
               "\"qid\":\"x\"}]");
    o = find(s, "setuserstateresult");
    CHECK(o && json_is_integer(json_object_get(o, "result")) &&
          ival(o, "result") == 1);
    CHECK(o && code(o, "userstateid") == 2 && code(o, "userstate") == 2);
    CHECK_STR(o ? sval(o, "userstatestr") : NULL, "usLunch");
    CHECK(o && json_is_true(json_object_get(o, "oncallcenter")) &&
          json_is_true(json_object_get(o, "onlunch")));
    CHECK(o && json_is_integer(json_object_get(o, "lunchreasonid")) &&
          ival(o, "lunchreasonid") == 1);
    CHECK_STR(o ? sval(o, "lunchreasonmsg") : NULL, "Ушел на обед");
    CHECK(o && json_object_size(o) == 14);   /* 10 + 2 + result + qid */
    json_decref(o);
    o = find(s, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 2 && ival(o, "onlunch") == 1);
    CHECK_STR(o ? sval(o, "lunchreasonmsg") : NULL, "Ушел на обед");
    CHECK(o && !json_object_get(o, "result"));
    CHECK(o && json_object_size(o) == 13);   /* 10 + 2 + qid */
    json_decref(o);
    feed(m, s, "[\"getuserstate\",{\"qid\":\"g\"}]");
    CHECK_STR(fstr(s, "getuserstateresult", "lunchreasonmsg"),
              "Ушел на обед");
    /* the old invented alias is not a parameter: ignored */
    feed(m, s, "[\"setuserstate\",{\"userstateid\":1,\"description\":\"x\","
               "\"qid\":\"x\"}]");
    o = find(s, "setuserstateresult");
    CHECK(o && ival(o, "result") == 1 && code(o, "userstateid") == 1);
    CHECK(o && !json_object_get(o, "lunchreasonmsg") &&
          !json_object_get(o, "description") &&
          !json_object_get(o, "lunchreasonid") &&
          !json_object_get(o, "externaltask"));
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
    CHECK_STR(name_of(r), "setuserstateresult");
    CHECK(code(json_array_get(r, 1), "userstateid") == 3);
    json_decref(r);
    json_t *ev = find(a, "userstatechanged");
    CHECK(ev && code(ev, "userstateid") == 3);
    CHECK(ev && is_uuid4(sval(ev, "qid")));
    CHECK_STR(ev ? sval(ev, "userlogin") : NULL, "Peter");
    CHECK_STR(ev ? sval(ev, "userid") : NULL, PETER_ID);
    CHECK_STR(ev ? sval(ev, "userstatestr") : NULL, "usOff");
    char first[40];
    snprintf(first, sizeof first, "%s", ev && sval(ev, "qid") ? sval(ev, "qid") : "");
    json_decref(ev);
    CHECK(!has(b, "userstatechanged"));
    feed(m, b, "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"w\"}]");
    ev = find(a, "userstatechanged");
    CHECK(ev && is_uuid4(sval(ev, "qid")) && strcmp(sval(ev, "qid"), first));
    json_decref(ev);
    /* the line event: its name, the user, a fresh qid */
    okt_err e;
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "Peter",
                                           "state", "hookup"), &e) == 0);
    ev = find(a, "linestatechanged");
    CHECK(ev && json_object_size(ev) == 4);
    CHECK_STR(ev ? sval(ev, "linestatestr") : NULL, "lsHookUp");
    CHECK(ev && is_uuid4(sval(ev, "qid")));
    CHECK_STR(ev ? sval(ev, "userlogin") : NULL, "Peter");
    CHECK_STR(ev ? sval(ev, "userid") : NULL, PETER_ID);
    json_decref(ev);
    /* subscribing to a group name works (and expands) */
    feed(m, b, "[\"subscribeevent\",{\"eventmethod\":[\"dlgcard\"],"
               "\"qid\":\"g\"}]");
    CHECK(rfield(b, "subscribeeventresult", "result") == 1);
    okt_model_free(m);
}

TEST(settable_and_not_settable_states)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    static const struct {
        int st;
        const char *err;
    } cases[] = {{3, NULL},
                 {1, NULL},
                 {2, "A break needs the user inside the call-center"},
                 {0, "The state cannot be set"},
                 {6, "The state cannot be set"},
                 {7, "The state cannot be set"},
                 {4, "Unknown user state"},
                 {9, "Unknown user state"},
                 {5, NULL},
                 {1, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long before = state_of(m, s);
        feedf(m, s, "[\"setuserstate\",{\"userstateid\":%d,\"qid\":\"x\"}]",
              cases[i].st);
        if (cases[i].err) {
            CHECK_STR(emsg(s, "setuserstateresult"), cases[i].err);
            CHECK(out.n == 1);   /* no event: nothing changed */
            CHECK(state_of(m, s) == before);
        } else {
            CHECK(rfield(s, "setuserstateresult", "result") == 1);
            CHECK(state_of(m, s) == cases[i].st);
        }
    }
    /* lunch inside the call-center, with its message kept */
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":2,"
               "\"lunchreasonmsg\":\"Ушел на обед\",\"qid\":\"x\"}]");
    json_t *o = find(s, "setuserstateresult");
    CHECK(o && code(o, "userstateid") == 2 && ival(o, "oncallcenter") == 1);
    CHECK_STR(o ? sval(o, "lunchreasonmsg") : NULL, "Ушел на обед");
    json_decref(o);
    o = find(s, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 2 && ival(o, "onlunch") == 1);
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
    CHECK_STR(emsg(s, "setuserstateresult"), "Unknown user state");
    feed(m, s, "[\"setuserstate\",{\"userstateid\":\"99999999999999999999\","
               "\"qid\":\"x\"}]");   /* past long long */
    CHECK_STR(emsg(s, "setuserstateresult"),
              "Bad parameter 'userstateid': user state code expected");
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
    CHECK_STR(emsg(s, "setuserstateresult"), "The state cannot be set");
    CHECK(snap_b(m, "Peter", "inside") == 0);
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"userstateid\":3,"
               "\"onredirect\":true,\"qid\":\"x\"}]");
    CHECK_STR(emsg(s, "setuserstateresult"), "No redirect number");
    CHECK(snap_b(m, "Peter", "inside") == 0);
    CHECK(state_of(m, s) == 1);
    okt_model_free(m);
}

TEST(redirect_needs_number_and_starts_off)
{
    okt_model *m = model3(2);
    int a = login(m, "A", H123), b = login(m, "B", H123);
    feed(m, a, "[\"setuserstate\",{\"onredirect\":true,\"qid\":\"x\"}]");
    CHECK_STR(emsg(a, "setuserstateresult"), "No redirect number");
    feed(m, b, "[\"setuserstate\",{\"userstateid\":3,\"onredirect\":true,"
               "\"qid\":\"x\"}]");
    CHECK(rfield(b, "setuserstateresult", "onredirect") == 1);
    CHECK(rfield(b, "userstatechanged", "onredirect") == 1);
    feed(m, b, "[\"getredirectrules\",{\"qid\":\"r\"}]");
    json_t *o = find(b, "getredirectrulesresult");
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
    feed(m, c, "[\"getuserstate\",{\"qid\":\"g\"}]");
    CHECK_STR(fstr(c, "getuserstateresult", "userstatestr"), "usWOphone");
    feed(m, c, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    json_t *o = find(c, "getextendedlineinforesult");
    CHECK_STR(o ? sval(o, "linestatestr") : NULL, "lsDisconnected");
    json_decref(o);
    feed(m, c, "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"x\"}]");
    CHECK_STR(emsg(c, "setuserstateresult"), "The line does not work");
    int a = login(m, "A", H123);
    okt_err e;
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "off"), &e) == 0);
    CHECK_STR(fstr(a, "linestatechanged", "linestatestr"), "lsOff");
    o = find(a, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 7);
    json_decref(o);
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "hookup"), &e) == 0);
    o = find(a, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 1);
    json_decref(o);
    CHECK_STR(snap_s(m, "A", "linestate"), "hookup");
    CHECK(control(m, "set_line", json_pack("{s:s,s:s}", "user", "A", "state",
                                           "bogus"), &e) == -1);
    CHECK(e.code == OKT_EINVAL);
    okt_model_free(m);
}

/* Enter the call-center by setuserstate (oktell.js's way) or by
 * entercallcenter (the server's own name, §14.2): "" on success, else the
 * refusal's text. */
static const char *enter_by(okt_model *m, int s, int named)
{
    if (named) {
        feed(m, s, "[\"entercallcenter\",{\"qid\":\"cc\"}]");
        return rfield(s, "entercallcenterresult", "result") == 1
                   ? ""
                   : emsg(s, "entercallcenterresult");
    }
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"qid\":\"cc\"}]");
    return rfield(s, "setuserstateresult", "result") == 1
               ? ""
               : emsg(s, "setuserstateresult");
}

static const char *enter(okt_model *m, int s)
{
    return enter_by(m, s, 0);
}

#define NOLIC "No free call-center licence"

TEST(licences_eviction_and_presence)
{
    for (int named = 0; named < 2; named++) {
        okt_model *m = model3(2);
        int a = login(m, "A", H123), b = login(m, "B", H123);
        int c = login(m, "C", H123);
        CHECK_STR(enter_by(m, a, named), "");
        CHECK_STR(enter_by(m, a, named), "");   /* inside already: fine */
        CHECK_STR(enter_by(m, b, named), "");
        CHECK_STR(enter_by(m, c, named), NOLIC);
        CHECK(no_error_numbers());
        CHECK(snap_b(m, "C", "inside") == 0);
        /* B leaves without exiting: presence stays */
        okt_model_close(m, b, &out);
        CHECK(snap_b(m, "B", "inside") == 1);
        /* A reconnects: inside again at login */
        okt_model_close(m, a, &out);
        a = login(m, "A", H123);
        feed(m, a, "[\"getuserstate\",{\"qid\":\"g\"}]");
        CHECK(rfield(a, "getuserstateresult", "oncallcenter") == 1);
        /* C asks: the absent holder (B) is put out */
        CHECK_STR(enter_by(m, c, named), "");
        CHECK(snap_b(m, "B", "inside") == 0);
        b = login(m, "B", H123);
        feed(m, b, "[\"getuserstate\",{\"qid\":\"g\"}]");
        CHECK(rfield(b, "getuserstateresult", "oncallcenter") == 0);
        CHECK_STR(enter_by(m, b, named), NOLIC);   /* all inside present */
        /* exit frees the licence */
        if (named) {
            feed(m, a, "[\"exitcallcenter\",{\"qid\":\"x\"}]");
            json_t *o = find(a, "exitcallcenterresult");
            CHECK(o && ival(o, "result") == 1 && json_object_size(o) == 2);
            json_decref(o);
            CHECK(rfield(a, "userstatechanged", "oncallcenter") == 0);
        } else {
            feed(m, a, "[\"setuserstate\",{\"oncallcenter\":false,\"qid\":\"x\"}]");
        }
        CHECK(snap_b(m, "A", "inside") == 0);
        CHECK_STR(enter_by(m, b, named), "");
        okt_model_free(m);
    }
}

TEST(exitcallcenter_ends_a_break)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    CHECK_STR(enter_by(m, s, 1), "");
    CHECK(rfield(s, "userstatechanged", "oncallcenter") == 1);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":2,\"qid\":\"x\"}]");
    CHECK(state_of(m, s) == 2);
    feed(m, s, "[\"exitcallcenter\",{\"qid\":\"x\"}]");
    CHECK(rfield(s, "exitcallcenterresult", "result") == 1);
    CHECK(state_of(m, s) == 1);
    CHECK(snap_b(m, "Peter", "inside") == 0);
    okt_model_free(m);
}

static long long call(okt_model *m, int s, const char *method)
{
    char name[64];
    feedf(m, s, "[\"%s\",{\"qid\":\"c\"}]", method);
    snprintf(name, sizeof name, "%sresult", method);
    return rfield(s, name, "success");
}

TEST(external_task_without_queue)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 0);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 0);
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 1);
    json_t *o = find(s, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 5 && ival(o, "ontask") == 1);
    CHECK_STR(o ? sval(o, "userstatestr") : NULL, "usFullbusy");
    json_decref(o);
    CHECK(call(m, s, "cc_setbusyinexternaltask") == 0);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 1);
    feed(m, s, "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"x\"}]");
    CHECK_STR(emsg(s, "setuserstateresult"), "The user is busy in a call or task");
    CHECK(snap_b(m, "Peter", "external") == 1);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 1);
    o = find(s, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 1);
    json_decref(o);
    CHECK(call(m, s, "cc_checkbusyinexternaltask") == 0);
    /* ended by the call-center exit */
    CHECK_STR(enter(m, s), "");
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
    /* the call-center queue shows to operators inside (EMULATOR.md);
     * reserved by the external task, Peter is not dispatched to */
    feed(m, s, "[\"setuserstate\",{\"oncallcenter\":true,\"qid\":\"c\"}]");
    feed(m, s, "[\"getcurrentqueue\",{\"qid\":\"q\"}]");
    json_t *o = find(s, "getcurrentqueueresult");
    CHECK(json_array_size(json_object_get(o, "queue")) == 1);
    json_decref(o);
    CHECK(call(m, s, "cc_setfreeinexternaltask") == 1);
    o = find(s, "userstatechanged");
    CHECK(o && code(o, "userstateid") == 6);
    json_decref(o);
    CHECK_STR(fstr(s, "linestatechanged", "linestatestr"),
              "lsIncomingCall");
    CHECK_STR(snap_s(m, "Peter", "linestate"), "incomingcall");
    feed(m, s, "[\"getextendedlineinfo\",{\"qid\":\"e\"}]");
    o = find(s, "getextendedlineinforesult");
    CHECK_STR(sval(json_object_get(o, "abonent"), "number"), "5551234");
    CHECK(json_is_true(json_object_get(json_object_get(o, "abonent"),
                                       "isringing")));
    json_decref(o);
    /* answered: commutated and busy; failed afterwards: the hang-up */
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "answered"), &e) == 0);
    CHECK(count_named("dlgcard_closeall") == 0);
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
                      "\"" TASK_ID "\",\"active\":1,\"qid\":\"t\"}]";
    feed(m, s, req);
    json_t *o = find(s, "tm_settaskactiveresult");
    CHECK(o && ival(o, "result") == 1 && json_is_true(json_object_get(o, "success")));
    CHECK(o && !json_object_get(o, "errormsg") && !json_object_get(o, "errormessage"));
    json_decref(o);
    /* active as a decimal string is an integer too */
    feed(m, s, "[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":\""
               TASK_ID "\",\"active\":\"2\",\"qid\":\"t\"}]");
    CHECK(rfield(s, "tm_settaskactiveresult", "success") == 1);
    okt_err e;
    CHECK(control(m, "lock_task",
                  json_pack("{s:s,s:s}", "task", TASK_ID, "editor",
                            "Сидоров Иван"), &e) == 0);
    feed(m, s, req);
    o = find(s, "tm_settaskactiveresult");
    CHECK(o && ival(o, "result") == 1 && ival(o, "success") == 0);
    CHECK_STR(o ? sval(o, "errormsg") : NULL,
              "Задачу монопольно редактирует Сидоров Иван");
    CHECK(o && !json_object_get(o, "errormessage"));
    json_decref(o);
    CHECK(control(m, "unlock_task", json_pack("{s:s}", "task", TASK_ID),
                  &e) == 0);
    feed(m, s, req);
    CHECK(rfield(s, "tm_settaskactiveresult", "success") == 1);
    feed(m, s, "[\"tm_settaskactive\",{\"tasktype\":\"call\",\"idtask\":"
               "\"nope\",\"active\":2,\"qid\":\"t\"}]");
    o = find(s, "tm_settaskactiveresult");
    CHECK(o && ival(o, "success") == 0);
    CHECK_STR(o ? sval(o, "errormsg") : NULL, "Задача не найдена");
    json_decref(o);
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

/* A dlgcard_show* event: our payload (no `id`: the name says it), the
 * user, a fresh qid. */
static void check_task_event(const json_t *ev)
{
    CHECK(ev && json_object_size(ev) == 11);
    CHECK(ev && !json_object_get(ev, "id"));
    CHECK_STR(ev ? sval(ev, "idtask") : NULL, TASK_ID);
    CHECK_STR(ev ? sval(ev, "idproject") : NULL,
              "ab37c6e6-e983-458a-8621-5e0921ade3d1");
    CHECK_STR(ev ? sval(ev, "taskname") : NULL, "Прозвон клиентов");
    CHECK_STR(ev ? sval(ev, "taskcode") : NULL, "");
    CHECK_STR(ev ? sval(ev, "idlist") : NULL,
              "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410");
    CHECK(ev && json_is_integer(json_object_get(ev, "idinlist")) &&
          ival(ev, "idinlist") == 67);
    CHECK_STR(ev ? sval(ev, "number") : NULL, "120151112");
    CHECK_STR(ev ? sval(ev, "textb64") : NULL, "0JLRiw==");
    CHECK_STR(ev ? sval(ev, "userlogin") : NULL, "Peter");
    CHECK_STR(ev ? sval(ev, "userid") : NULL, PETER_ID);
    CHECK(ev && is_uuid4(sval(ev, "qid")));
}

TEST(confirm_ok_answered_failed)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s = login(m, "Peter", H123);
    okt_err e;
    CHECK(offer(m, "confirm", &e) == -1);   /* not inside the call-center */
    CHECK(e.code == OKT_ENOTSETTABLE);
    CHECK(call(m, s, "tm_setconfirmresult") == -999); /* missing: refused */
    CHECK_STR(enter(m, s), "");
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"ok\"}]");
    CHECK(rfield(s, "tm_setconfirmresultresult", "success") == 0);
    CHECK(offer(m, "confirm", &e) == 0);
    json_t *ev = find(s, "dlgcard_showconfirm");
    check_task_event(ev);
    json_decref(ev);
    CHECK(count_named("tminterfaceconfirm") == 0);
    ev = find(s, "userstatechanged");
    CHECK(ev && code(ev, "userstateid") == 6 && ival(ev, "ontask") == 1);
    json_decref(ev);
    CHECK(snap_b(m, "Peter", "confirm_pending") == 1);
    CHECK(offer(m, "notify", &e) == -1);    /* already held */
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"OK\",\"qid\":\"c\"}]");
    CHECK(out.n >= 2);
    json_t *r = msg_at(0);
    CHECK_STR(name_of(r), "tm_setconfirmresultresult");   /* reply first */
    json_decref(r);
    CHECK(rfield(s, "tm_setconfirmresultresult", "success") == 1);
    ev = find(s, "dlgcard_showreserve");
    check_task_event(ev);
    json_decref(ev);
    CHECK(snap_b(m, "Peter", "confirm_pending") == 0);
    CHECK(snap_b(m, "Peter", "dialing") == 1);
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "answered"), &e) == 0);
    ev = find(s, "dlgcard_closeall");
    CHECK(ev && json_object_size(ev) == 4 && !json_object_get(ev, "id"));
    CHECK_STR(ev ? sval(ev, "idtask") : NULL, TASK_ID);
    CHECK(ev && is_uuid4(sval(ev, "qid")));
    CHECK_STR(ev ? sval(ev, "userlogin") : NULL, "Peter");
    json_decref(ev);
    CHECK_STR(snap_s(m, "Peter", "linestate"), "commutated");
    CHECK_STR(snap_s(m, "Peter", "userstate"), "fullbusy");
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK(count_named("dlgcard_closeall") == 0);  /* a hang-up, no close */
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
        CHECK_STR(enter(m, s), "");
        CHECK(offer(m, "confirm", &e) == 0);
        feedf(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"%s\","
                    "\"qid\":\"c\"}]", words[i]);
        CHECK(rfield(s, "tm_setconfirmresultresult", "success") == 1);
        json_t *ev = find(s, "dlgcard_closeall");
        CHECK_STR(ev ? sval(ev, "idtask") : NULL, TASK_ID);
        json_decref(ev);
        CHECK(count_named("dlgcard_showreserve") == 0);
        ev = find(s, "userstatechanged");
        CHECK(ev && code(ev, "userstateid") == 1);
        json_decref(ev);
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
    json_t *ev = find(s, "dlgcard_showreserve");
    check_task_event(ev);
    json_decref(ev);
    CHECK(count_named("dlgcard_showconfirm") == 0);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "reserved");
    feed(m, s, "[\"tm_setconfirmresult\",{\"confirmresult\":\"ok\"}]");
    CHECK(rfield(s, "tm_setconfirmresultresult", "success") == 0);
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK(count_named("dlgcard_closeall") == 1);
    CHECK_STR(snap_s(m, "Peter", "userstate"), "ready");
    CHECK_STR(snap_s(m, "Peter", "linestate"), "ready");
    okt_model_free(m);
}

/* The prompts reach a session subscribed to the dlgcard group or to the
 * member name; the old invented names subscribe to nothing. */
TEST(prompt_subscriptions_by_group_or_member)
{
    okt_model *m = okt_model_new(NULL, NULL);
    int s[4];
    const char *subs[] = {"[\"dlgcard\"]", "[\"DLGCARD_SHOWRESERVE\"]",
                          "\"dlgcard_closeall\"",
                          "[\"tminterfaceconfirm\",\"tminterfacereserve\","
                          "\"tminterfaceclose\"]"};
    for (int i = 0; i < 4; i++) {
        s[i] = okt_model_open(m, NULL);
        feed(m, s[i], "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\""
                      H123 "\",\"qid\":\"l\"}]");
        feedf(m, s[i], "[\"subscribeevent\",{\"eventmethod\":%s,\"qid\":\"s\"}]",
              subs[i]);
        CHECK(rfield(s[i], "subscribeeventresult", "result") == 1);
    }
    okt_err e;
    CHECK_STR(enter(m, s[0]), "");
    CHECK(offer(m, "confirm", &e) == 0);
    CHECK(count_named("dlgcard_showconfirm") == 1);
    CHECK(has(s[0], "dlgcard_showconfirm"));
    feed(m, s[0], "[\"tm_setconfirmresult\",{\"confirmresult\":\"ok\"}]");
    CHECK(count_named("dlgcard_showreserve") == 2);
    CHECK(has(s[1], "dlgcard_showreserve"));
    CHECK(control(m, "finish", json_pack("{s:s,s:s}", "user", "Peter",
                                         "outcome", "failed"), &e) == 0);
    CHECK(count_named("dlgcard_closeall") == 2);
    CHECK(has(s[2], "dlgcard_closeall"));
    for (size_t i = 0; i < out.n; i++)
        CHECK(out.v[i].sess != s[3]);
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
    CHECK(out.n == 2 && out.v[0].kind == OKT_OUT_SEND && out.v[0].sess == b &&
          out.v[1].kind == OKT_OUT_CLOSE && out.v[1].sess == b);
    CHECK(rfield(b, "logoutresult", "result") == 1);
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
    RUN(session_store_total_bound);
    RUN(login_throttling);
    RUN(password_hash_vectors);
    RUN(bad_input_gets_error_replies);
    RUN(every_table_method_is_served_in_the_table_shape);
    RUN(ping_and_login_sequence_of_oktell_js);
    RUN(user_state_shape_as_captured);
    RUN(events_only_to_subscribed_sessions_reply_first);
    RUN(settable_and_not_settable_states);
    RUN(huge_state_code_is_unknown);
    RUN(refused_request_changes_nothing);
    RUN(redirect_needs_number_and_starts_off);
    RUN(no_line_shows_wophone_and_set_line);
    RUN(licences_eviction_and_presence);
    RUN(exitcallcenter_ends_a_break);
    RUN(external_task_without_queue);
    RUN(external_task_with_queued_caller);
    RUN(task_activation_and_lock_text);
    RUN(confirm_ok_answered_failed);
    RUN(confirm_skip_and_delete);
    RUN(notify_and_failed);
    RUN(prompt_subscriptions_by_group_or_member);
    RUN(drop_logout_and_control_misuse);
    RUN(bad_config);
    okt_out_free(&out);
    return TEST_SUMMARY();
}
