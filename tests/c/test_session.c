/* test_session.c - the sans-IO session driven by scripted transcripts with
 * controlled time. The "server" here is the test: it reads what the session
 * queued, checks it, and feeds replies. */
#include "test.h"
#include "message.h"
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

static okt_session *mk(const char *pw, const char *const *subs)
{
    okt_session_cfg cfg;
    okt_session_cfg_init(&cfg);
    cfg.login = "b300";
    cfg.password = pw;
    cfg.subscribe = subs;
    okt_err e;
    okt_session *s = okt_session_new(&cfg, &e);
    if (!s)
        fprintf(stderr, "  session_new: %s\n", e.msg);
    return s;
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
    feedf(s, now + 2, "login", lq,
          "{\"result\":1,\"userid\":\"u-1\",\"sessionid\":\"s-1\"}");
    const char *name;
    json_t *obj;
    json_t *r = take(s, &name, &obj);
    CHECK(r && !strcmp(name, "subscribeevent"));
    if (r) {
        feedf(s, now + 3, "subscribeevent", okt_msg_qid(obj),
              "{\"result\":1}");
        json_decref(r);
    }
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 1);
    CHECK(ev.type == OKT_EV_READY);
    okt_event_clear(&ev);
    CHECK(okt_session_state(s) == OKT_S_READY);
    return s;
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
    feedf(s, T0 + 6, "login", "2", "{\"result\":1,\"userid\":\"u-1\"}");
    t = take_text(s);
    CHECK_STR(t, "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\","
                 "\"linestatechanged\",\"tminterfaceconfirm\","
                 "\"tminterfacereserve\",\"tminterfaceclose\"],\"qid\":\"3\"}]");
    free(t);
    okt_event ev;
    CHECK(okt_session_next_event(s, &ev) == 0);   /* not ready before sub */
    feedf(s, T0 + 7, "subscribeevent", "3", "{\"result\":1}");
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

TEST(custom_and_empty_subscription)
{
    const char *none[] = {NULL};
    okt_session *s = mk("b300", none);
    const char *lq = to_login(s, T0);
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

TEST(login_error_numbers)
{
    struct {
        const char *body;
        int code;
        const char *text;
    } c[] = {
        {"{\"result\":0,\"error\":50025}", OKT_ELICENSE, "licence"},
        {"{\"result\":0,\"error\":50093}", OKT_ESERVER, "already registered"},
        {"{\"error\":\"50093\"}", OKT_ESERVER, "already registered"},
        {"{\"result\":0,\"errormsg\":\"Service not available\"}", OKT_ESERVER,
         "Service not available"},
        {"{\"result\":0,\"errormsg\":\"Bad request. Invalid session user\"}",
         OKT_ESERVER, "Invalid session user"},
        {"{\"result\":0}", OKT_ESERVER, "login failed"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        okt_session *s = mk("b300", NULL);
        const char *lq = to_login(s, T0);
        feedf(s, T0 + 2, "login", lq, c[i].body);
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
        expect_closed(s, OKT_ESERVER, "login failed");
        okt_session_free(s);
    }
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
    RUN(many_requests_any_order);
    RUN(pending_and_event_bounds);
    RUN(bad_config);
    RUN(closed_before_open);
    RUN(login_error_huge_float);
    return TEST_SUMMARY();
}
