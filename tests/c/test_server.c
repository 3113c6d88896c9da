/* test_server.c - the emulator served over real WebSocket connections,
 * driven by raw ws.c clients: login, events, several sessions, control
 * calls from this thread, bad input, abrupt disconnects, pause and drop. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu.h"
#include "ws.h"

#define H123 "202cb962ac59075b964b07152d234b70" /* md5("123") */

static int port;

/* One turn of I/O on ws, waiting at most ms. -1 once the ws is over. */
static int pump(okt_ws *ws, int ms)
{
    struct pollfd p = {okt_ws_fd(ws), 0, 0};
    int ev = okt_ws_events(ws);
    if (p.fd < 0)
        return -1;
    p.events = (short)(((ev & OKT_WANT_READ) ? POLLIN : 0) |
                       ((ev & OKT_WANT_WRITE) ? POLLOUT : 0));
    int n = poll(&p, 1, ms);
    int rv = 0;
    if (n > 0) {
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            rv |= OKT_WANT_READ;
        if (p.revents & (POLLOUT | POLLHUP | POLLERR))
            rv |= OKT_WANT_WRITE;
    }
    return okt_ws_step(ws, rv, NULL);
}

static okt_ws *client(void)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    okt_ws *ws = okt_ws_connect(url, NULL, NULL);
    CHECK(ws != NULL);
    for (int i = 0; ws && i < 200 && okt_ws_state(ws) != OKT_WS_OPEN; i++)
        if (pump(ws, 10) < 0)
            break;
    CHECK(ws && okt_ws_state(ws) == OKT_WS_OPEN);
    return ws;
}

/* Next message within ms, parsed; NULL on timeout or close. */
static json_t *next_msg(okt_ws *ws, int ms)
{
    int64_t end = okt_now_ms() + ms;
    for (;;) {
        const char *d;
        size_t n;
        if (okt_ws_recv(ws, &d, &n))
            return json_loadb(d, n, 0, NULL);
        int64_t left = end - okt_now_ms();
        if (left <= 0)
            return NULL;
        if (pump(ws, (int)left) < 0) {
            /* the turn that saw the close may have queued a message */
            return okt_ws_recv(ws, &d, &n) ? json_loadb(d, n, 0, NULL) : NULL;
        }
    }
}

static void sendtext(okt_ws *ws, const char *text)
{
    CHECK(okt_ws_send(ws, text, strlen(text), NULL) == 0);
    pump(ws, 0);
}

/* Send text, return the object of the first message named name. */
static json_t *ask(okt_ws *ws, const char *text, const char *name)
{
    sendtext(ws, text);
    for (;;) {
        json_t *m = next_msg(ws, 2000);
        if (!m)
            return NULL;
        if (strcmp(json_string_value(json_array_get(m, 0)), name) == 0) {
            json_t *o = json_incref(json_array_get(m, 1));
            json_decref(m);
            return o;
        }
        json_decref(m);
    }
}

static long long ival(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v)
           : json_is_integer(v) ? json_integer_value(v) : -999;
}

static const char *sval(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A getuserstateresult: named so, no `result` (as a real server's), the
 * state code as a string (§14.1). */
static int state_reply(const json_t *o, const char *code)
{
    return o && !json_object_get(o, "result") && sval(o, "userstateid") &&
           strcmp(sval(o, "userstateid"), code) == 0;
}

static okt_ws *logged_in(const char *user)
{
    okt_ws *ws = client();
    char buf[256];
    snprintf(buf, sizeof buf,
             "[\"login\",{\"userlogin\":\"%s\",\"Password\":\"" H123
             "\",\"qid\":\"l\"}]", user);
    json_t *o = ask(ws, buf, "loginresult");
    CHECK(o && ival(o, "result") == 1);
    json_decref(o);
    o = ask(ws, "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\","
                "\"linestatechanged\",\"dlgcard\"],\"qid\":\"s\"}]",
            "subscribeeventresult");
    CHECK(o && ival(o, "result") == 1);
    json_decref(o);
    return ws;
}

static json_t *snapshot(okt_emu *e, const char *user)
{
    json_t *a = json_pack("{s:s}", "user", user), *r = NULL;
    CHECK(okt_emu_control(e, "snapshot", a, &r, NULL) == 0);
    json_decref(a);
    return r;
}

static okt_emu *start(const char *cfgtext)
{
    json_t *cfg = cfgtext ? json_loads(cfgtext, 0, NULL) : NULL;
    okt_err err;
    okt_emu *e = okt_emu_new(cfg, &err);
    json_decref(cfg);
    CHECK(e != NULL);
    CHECK(e && okt_emu_start(e, &err) == 0);
    port = okt_emu_port(e);
    CHECK(port > 0);
    return e;
}

TEST(login_request_and_event)
{
    okt_emu *e = start(NULL);
    okt_ws *ws = client();
    json_t *o = ask(ws, "[\"ping\",{\"qid\":\"0.1\"}]", "pong");
    CHECK(o && strcmp(json_string_value(json_object_get(o, "qid")), "0.1") == 0);
    json_decref(o);
    okt_ws_free(ws);
    ws = logged_in("Peter");
    o = ask(ws, "[\"getuserstate\",{\"qid\":\"g\"}]", "getuserstateresult");
    CHECK(state_reply(o, "1"));
    CHECK(o && sval(o, "qid") && strcmp(sval(o, "qid"), "g") == 0);
    json_decref(o);
    json_t *s = snapshot(e, "Peter");
    CHECK(s && ival(s, "connected") == 1);
    json_decref(s);
    json_t *a = json_pack("{s:s,s:s}", "user", "Peter", "state", "hookup");
    CHECK(okt_emu_control(e, "set_line", a, NULL, NULL) == 0);
    json_decref(a);
    json_t *m = next_msg(ws, 2000);
    CHECK(m && strcmp(json_string_value(json_array_get(m, 0)),
                      "linestatechanged") == 0);
    const json_t *ev = json_array_get(m, 1);
    CHECK(sval(ev, "linestatestr") && !strcmp(sval(ev, "linestatestr"), "lsHookUp"));
    CHECK(sval(ev, "qid") && strlen(sval(ev, "qid")) == 36);   /* its own */
    CHECK(sval(ev, "userlogin") && !strcmp(sval(ev, "userlogin"), "Peter"));
    json_decref(m);
    okt_ws_free(ws);
    okt_emu_free(e);
}

TEST(several_sessions_get_events)
{
    okt_emu *e = start(NULL);
    okt_ws *a = logged_in("Peter"), *b = logged_in("Peter");
    json_t *o = ask(a, "[\"setuserstate\",{\"userstateid\":3,\"qid\":\"x\"}]",
                    "userstatechanged");
    CHECK(o && sval(o, "userstateid") && !strcmp(sval(o, "userstateid"), "3"));
    json_decref(o);
    json_t *m = next_msg(b, 2000);
    CHECK(m && !strcmp(json_string_value(json_array_get(m, 0)), "userstatechanged"));
    o = json_array_get(m, 1);
    CHECK(sval(o, "userstateid") && !strcmp(sval(o, "userstateid"), "3"));
    json_decref(m);
    okt_ws_free(a);
    okt_ws_free(b);
    okt_emu_free(e);
}

TEST(bad_input_and_oversized_frames)
{
    okt_emu *e = start("{\"max_message\":1024}");
    okt_ws *good = logged_in("Peter"), *bad = client();
    json_t *o = ask(bad, "[not json", "error");
    CHECK(o && ival(o, "result") == 0 && sval(o, "errormsg"));
    CHECK(o && !json_object_get(o, "error") && !json_object_get(o, "qid"));
    json_decref(o);
    o = ask(bad, "[\"getuserstate\",{\"qid\":\"1\"}]", "getuserstateresult");
    CHECK(o && ival(o, "result") == 0 && !json_object_get(o, "error"));
    CHECK(o && sval(o, "errormsg") && !strcmp(sval(o, "errormsg"), "Not logged in"));
    json_decref(o);
    /* at the limit: answered; over it: that session is closed */
    char big[1100];
    int pre = snprintf(big, sizeof big, "[\"ping\",{\"qid\":\"");
    memset(big + pre, 'x', sizeof big - pre);
    strcpy(big + 1024 - 3, "\"}]");
    o = ask(bad, big, "pong");
    CHECK(o != NULL);
    json_decref(o);
    memset(big + pre, 'x', sizeof big - pre);
    strcpy(big + 1025 - 3, "\"}]");
    sendtext(bad, big);
    CHECK(next_msg(bad, 2000) == NULL);
    CHECK(okt_ws_state(bad) != OKT_WS_OPEN);
    o = ask(good, "[\"getuserstate\",{\"qid\":\"g\"}]", "getuserstateresult");
    CHECK(state_reply(o, "1"));
    json_decref(o);
    okt_ws_free(bad);
    okt_ws_free(good);
    okt_emu_free(e);
}

static void raw_connect_close(int send_garbage)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    if (send_garbage && write(fd, "GET / HTTP/1.1\r\nHost: x\r\n", 25) < 0)
        CHECK(0);
    close(fd);
}

TEST(abrupt_disconnects_and_many_connects)
{
    okt_emu *e = start(NULL);
    okt_ws *keep = logged_in("Peter");
    for (int i = 0; i < 1000; i++)
        raw_connect_close(i & 1);
    for (int i = 0; i < 20; i++) {
        okt_ws *w = logged_in("Peter");
        okt_ws_free(w);   /* gone without a close frame */
    }
    int64_t end = okt_now_ms() + 5000;
    while (okt_emu_sessions(e) > 1 && okt_now_ms() < end)
        usleep(10000);
    CHECK(okt_emu_sessions(e) == 1);
    json_t *o = ask(keep, "[\"getuserstate\",{\"qid\":\"g\"}]",
                    "getuserstateresult");
    CHECK(state_reply(o, "1"));
    json_decref(o);
    okt_ws_free(keep);
    okt_emu_free(e);
}

/* A peer that sends requests but never reads its replies: it is not
 * served past what it reads, and the others are served meanwhile. */
TEST(slow_reader_does_not_starve_others)
{
    okt_emu *e = start(NULL);
    okt_ws *good = logged_in("Peter"), *hog = logged_in("Peter");
    const char *ping = "[\"ping\",{\"qid\":\"h\"}]";
    for (int i = 0; i < 200000; i++)
        okt_ws_send(hog, ping, strlen(ping), NULL);
    /* Not a speed test: the deadline only bounds a broken server; the
     * point is that the good session gets its answers while the hog's
     * backlog is still far from served. */
    int64_t end = okt_now_ms() + 30000;
    int answered = 0;
    while (answered < 20 && okt_now_ms() < end) {
        /* push the hog's bytes out, never read them back */
        struct pollfd p = {okt_ws_fd(hog), POLLOUT, 0};
        if (poll(&p, 1, 5) > 0)
            okt_ws_step(hog, OKT_WANT_WRITE, NULL);
        json_t *o = ask(good, "[\"getuserstate\",{\"qid\":\"g\"}]",
                        "getuserstateresult");
        answered += state_reply(o, "1");
        json_decref(o);
    }
    CHECK(answered >= 20);
    CHECK(okt_emu_sessions(e) == 2);
    okt_ws_free(hog);
    okt_ws_free(good);
    okt_emu_free(e);
}

/* A subscriber that never reads while events keep coming is dropped once
 * more than max_output bytes (or OKT_MAX_EVENTS messages) wait for it; the
 * others are not affected. */
TEST(non_reading_subscriber_is_dropped)
{
    okt_emu *e = start(NULL);
    okt_ws *hog = logged_in("Peter");
    okt_ws *drv = client();
    json_t *o = ask(drv, "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\""
                    H123 "\",\"qid\":\"l\"}]", "loginresult");
    json_decref(o);
    int sent = 0, replies = 0;
    int64_t end = okt_now_ms() + 20000;
    while (okt_emu_sessions(e) == 2 && okt_now_ms() < end) {
        for (int i = 0; i < 500; i++, sent++) {
            const char *m = (sent & 1)
                ? "[\"setuserstate\",{\"userstateid\":1,\"qid\":\"a\"}]"
                : "[\"setuserstate\",{\"userstateid\":3,\"qid\":\"b\"}]";
            okt_ws_send(drv, m, strlen(m), NULL);
        }
        while (replies < sent) {
            json_t *r = next_msg(drv, 2000);
            if (!r)
                break;
            replies++;
            json_decref(r);
        }
        /* the hog's transport runs, but nothing is taken from it */
        okt_ws_step(hog, 0, NULL);
    }
    CHECK(replies == sent);
    CHECK(sent > 1000);   /* the kernel's buffers took some first */
    CHECK(okt_emu_sessions(e) == 1);
    json_t *s = snapshot(e, "Peter");
    CHECK(s && ival(s, "sessions") == 1);
    json_decref(s);
    o = ask(drv, "[\"getuserstate\",{\"qid\":\"g\"}]", "getuserstateresult");
    CHECK(o && sval(o, "userstateid"));
    json_decref(o);
    okt_ws_free(hog);
    okt_ws_free(drv);
    okt_emu_free(e);
}

TEST(pause_drop_logout)
{
    okt_emu *e = start(NULL);
    okt_ws *ws = logged_in("Peter");
    json_t *on = json_pack("{s:b}", "on", 1), *off = json_pack("{s:b}", "on", 0);
    CHECK(okt_emu_control(e, "pause", on, NULL, NULL) == 0);
    sendtext(ws, "[\"ping\",{\"qid\":\"p\"}]");
    CHECK(next_msg(ws, 300) == NULL);          /* no answer while paused */
    CHECK(okt_ws_state(ws) == OKT_WS_OPEN);    /* but the session stays */
    CHECK(okt_emu_control(e, "pause", off, NULL, NULL) == 0);
    json_t *m = next_msg(ws, 2000);
    CHECK(m && strcmp(json_string_value(json_array_get(m, 0)), "pong") == 0);
    json_decref(m);
    json_decref(on);
    json_decref(off);
    json_t *a = json_pack("{s:s}", "user", "Peter");
    CHECK(okt_emu_control(e, "drop", a, NULL, NULL) == 0);
    json_decref(a);
    CHECK(next_msg(ws, 2000) == NULL);
    CHECK(okt_ws_state(ws) == OKT_WS_CLOSED);
    json_t *s = snapshot(e, "Peter");
    CHECK(s && ival(s, "connected") == 0);
    json_decref(s);
    okt_ws_free(ws);
    ws = logged_in("Peter");
    sendtext(ws, "[\"logout\",{\"userlogin\":\"Peter\",\"qid\":\"o\"}]");
    m = next_msg(ws, 2000);   /* answered, then closed */
    CHECK(m && strcmp(json_string_value(json_array_get(m, 0)), "logoutresult") == 0);
    json_decref(m);
    CHECK(next_msg(ws, 2000) == NULL);
    CHECK(okt_ws_peer_close_code(ws) == 1000);
    okt_ws_free(ws);
    okt_emu_free(e);
}

TEST(control_errors_and_bad_config)
{
    okt_emu *e = start(NULL);
    /* started: the soft limit of open files raised to the hard one */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == rl.rlim_max);
    okt_err err;
    json_t *a = json_pack("{s:s}", "user", "Nobody");
    CHECK(okt_emu_control(e, "snapshot", a, NULL, &err) == -1);
    CHECK(err.code == OKT_EINVAL);
    CHECK(okt_emu_control(e, "pause", NULL, NULL, &err) == -1);
    CHECK(err.code == OKT_EINVAL);
    okt_emu_stop(e);
    CHECK(okt_emu_control(e, "snapshot", a, NULL, &err) == -1);
    CHECK(err.code == OKT_ECLOSED);
    json_decref(a);
    okt_emu_free(e);
    json_t *cfg = json_loads("{\"port\":\"x\"}", 0, NULL);
    CHECK(okt_emu_new(cfg, &err) == NULL && err.code == OKT_EINVAL);
    json_decref(cfg);
    cfg = json_loads("{\"host\":\"no.such.host.invalid\"}", 0, NULL);
    e = okt_emu_new(cfg, &err);
    CHECK(e && okt_emu_start(e, &err) == -1);
    okt_emu_free(e);
    json_decref(cfg);
}

/* Review B: out of descriptors, accept4 fails with EMFILE while the
 * connection stays in the backlog, so the level-triggered listener is
 * ready again at once: the emulator thread must not spin on it, and it
 * must accept again once descriptors are free. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
           ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

TEST(fd_exhaustion_does_not_spin)
{
    okt_emu *e = start(NULL);
    okt_ws *keep = logged_in("Peter");
    int socks[4];
    for (int i = 0; i < 4; i++)
        socks[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct rlimit old, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    int lowest = dup(0);   /* the lowest free descriptor number */
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 4; i++)   /* connect() takes no descriptor */
        CHECK(connect(socks[i], (struct sockaddr *)&sa, sizeof sa) == 0);
    usleep(50000);
    double c0 = cpu_ms();
    usleep(600000);
    double used = cpu_ms() - c0;
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    if (used > 200)
        fprintf(stderr, "  emulator used %.0f ms of CPU in 600 ms\n", used);
    CHECK(used < 200);
    for (int i = 0; i < 4; i++)
        close(socks[i]);
    /* accepting again, and the logged-in session was served throughout */
    okt_ws *w = logged_in("Peter");
    okt_ws_free(w);
    json_t *o = ask(keep, "[\"getuserstate\",{\"qid\":\"g\"}]",
                    "getuserstateresult");
    CHECK(state_reply(o, "1"));
    json_decref(o);
    okt_ws_free(keep);
    okt_emu_free(e);
}

int main(void)
{
    RUN(login_request_and_event);
    RUN(several_sessions_get_events);
    RUN(bad_input_and_oversized_frames);
    RUN(abrupt_disconnects_and_many_connects);
    RUN(slow_reader_does_not_starve_others);
    RUN(non_reading_subscriber_is_dropped);
    RUN(pause_drop_logout);
    RUN(control_errors_and_bad_config);
    RUN(fd_exhaustion_does_not_spin);
    return TEST_SUMMARY();
}
