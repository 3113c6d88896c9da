/* test_conn.c - okt_conn over loopback against scripted servers made of
 * ws.c (okt_ws_accept) in the same thread: login, subscriptions, URL
 * failover, refusal, wrong password, a drop with requests pending, events,
 * polite close, the wire trace. The servers name replies as a real Oktell
 * does (<method>result, fact sheet §14.1). */
#include "test.h"
#include "conn.h"
#include "message.h"
#include "protocol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXWS 8

typedef struct srv {
    int lfd, port;
    okt_ws *ws[MAXWS];
    int nws, accepted;
    int silent;                /* accept but never answer */
    int redirect;              /* answer the ping with websocketredirect */
    int got_ping;
    const okt_ws_cfg *cfg;     /* for okt_ws_accept (TLS), may be NULL */
    const char *login_reply;   /* body of the login reply; NULL: success */
    const char *drop_on;       /* vanish when this method arrives */
    int got_logout, got_login;
    char subscribed[256];      /* the names subscribed, joined by ',' */
    int nsubscribe;            /* subscribeevent requests */
    int bad_subscribe;         /* ones with userlogin or not one name */
    char push_event[256];      /* a message to push once, after the first
                                  subscribeevent */
} srv;

/* port 0: any free port. Returns -1 when the port cannot be bound. */
static int srv_init_port(srv *s, int port)
{
    memset(s, 0, sizeof *s);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 8)) {
        if (port == 0)
            perror("bind/listen");
        close(s->lfd);
        return -1;
    }
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    return 0;
}

static void srv_init(srv *s)
{
    srv_init_port(s, 0);
}

static void srv_free(srv *s)
{
    for (int i = 0; i < s->nws; i++)
        okt_ws_free(s->ws[i]);
    close(s->lfd);
}

static void url_of(const srv *s, char *buf, size_t n)
{
    snprintf(buf, n, "ws://127.0.0.1:%d/", s->port);
}

static void srv_send(okt_ws *ws, const char *name, const char *qid,
                     const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    if (qid)
        json_object_set_new(o, "qid", json_string(qid));
    size_t len;
    char *t = okt_msg_build(name, o, &len, NULL);
    okt_ws_send(ws, t, len, NULL);
    free(t);
    json_decref(o);
}

static void srv_remove(srv *s, int i)
{
    okt_ws_free(s->ws[i]);
    s->ws[i] = s->ws[--s->nws];
}

/* Returns 1 when this ws must vanish. */
static int srv_handle(srv *s, okt_ws *ws, const char *m, size_t len)
{
    json_t *root, *obj;
    const char *name;
    okt_err e;
    if (okt_msg_parse(m, len, &root, &name, &obj, &e))
        return 0;
    const char *q = okt_msg_qid(obj);
    int vanish = 0;
    if (s->drop_on && !strcmp(name, s->drop_on)) {
        vanish = 1;
    } else if (!strcmp(name, "ping")) {
        s->got_ping++;
        if (s->redirect)
            srv_send(ws, "websocketredirect", NULL, "{}");
        else
            srv_send(ws, "pong", q, "{\"result\":1}");
    } else if (!strcmp(name, "login")) {
        s->got_login++;
        const char *pw = json_string_value(json_object_get(obj, "Password"));
        /* md5("123") */
        int ok = pw && !strcmp(pw, "202cb962ac59075b964b07152d234b70");
        if (s->login_reply)
            srv_send(ws, "loginresult", q, s->login_reply);
        else if (!ok)
            srv_send(ws, "loginresult", q, "{\"result\":0,\"errormsg\":"
                                     "\"Wrong login/pass combination\"}");
        else
            srv_send(ws, "loginresult", q,
                     "{\"result\":1,\"userid\":\"u-1\"}");
    } else if (!strcmp(name, "subscribeevent")) {
        json_t *em = json_object_get(obj, "eventmethod");
        const char *ev = json_string_value(json_array_get(em, 0));
        if (json_object_get(obj, "userlogin") || json_array_size(em) != 1 ||
            !ev)
            s->bad_subscribe++;
        size_t l = strlen(s->subscribed);
        snprintf(s->subscribed + l, sizeof s->subscribed - l, "%s%s",
                 l ? "," : "", ev ? ev : "?");
        s->nsubscribe++;
        srv_send(ws, "subscribeeventresult", q, "{}");
        if (s->push_event[0]) {
            okt_ws_send(ws, s->push_event, strlen(s->push_event), NULL);
            s->push_event[0] = '\0';
        }
    } else if (!strcmp(name, "logout")) {
        s->got_logout++;
    } else if (!strcmp(name, "slow")) {
        /* never answered */
    } else {
        char body[128], rname[96];
        snprintf(body, sizeof body, "{\"echo\":\"%s\"}", name);
        snprintf(rname, sizeof rname, "%sresult", name);
        srv_send(ws, rname, q, body);
    }
    json_decref(root);
    return vanish;
}

static void srv_step(srv *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        s->accepted++;
        if (s->nws == MAXWS) {
            close(fd);
            continue;
        }
        okt_err e;
        okt_ws *ws = okt_ws_accept(fd, s->cfg, &e);
        if (ws)
            s->ws[s->nws++] = ws;
    }
    for (int i = 0; i < s->nws;) {
        okt_err e;
        int rc = okt_ws_step(s->ws[i], OKT_WANT_READ | OKT_WANT_WRITE, &e);
        const char *m;
        size_t len;
        int vanish = 0;
        while (!vanish && okt_ws_recv(s->ws[i], &m, &len))
            if (!s->silent)
                vanish = srv_handle(s, s->ws[i], m, len);
        if (!vanish && !rc)
            okt_ws_step(s->ws[i], OKT_WANT_WRITE, &e);
        if (rc || vanish)
            srv_remove(s, i);
        else
            i++;
    }
}

/* ---- the client side ------------------------------------------------- */

#define MAXEV 64
static okt_event evs[MAXEV];
static int nev;

static void ev_reset(void)
{
    for (int i = 0; i < nev; i++)
        okt_event_clear(&evs[i]);
    nev = 0;
}

static int has_type(int type)
{
    for (int i = 0; i < nev; i++)
        if (evs[i].type == type)
            return i + 1;
    return 0;
}

/* Turn the loop (poll on everything) until an event of `type` arrived or
 * max_ms passed. Returns 1 if it arrived. */
static int drive(okt_conn *c, srv **ss, int ns, int type, int max_ms)
{
    int64_t end = okt_now_ms() + max_ms;
    while (okt_now_ms() < end) {
        struct pollfd p[1 + 2 * 4 * (MAXWS + 1)];
        int n = 0;
        int cfd = okt_conn_fd(c);
        if (cfd >= 0) {
            int ev = okt_conn_events(c);
            p[n].fd = cfd;
            p[n].events = (short)((ev & OKT_WANT_READ ? POLLIN : 0) |
                                  (ev & OKT_WANT_WRITE ? POLLOUT : 0));
            n++;
        }
        for (int k = 0; k < ns; k++) {
            p[n].fd = ss[k]->lfd;
            p[n++].events = POLLIN;
            for (int i = 0; i < ss[k]->nws; i++) {
                int ev = okt_ws_events(ss[k]->ws[i]);
                p[n].fd = okt_ws_fd(ss[k]->ws[i]);
                p[n++].events = (short)((ev & OKT_WANT_READ ? POLLIN : 0) |
                                        (ev & OKT_WANT_WRITE ? POLLOUT : 0));
            }
        }
        int64_t now = okt_now_ms();
        int64_t d = okt_conn_deadline(c);
        int tmo = 20;
        if (d >= 0 && d - now < tmo)
            tmo = d <= now ? 0 : (int)(d - now);
        poll(p, (nfds_t)n, tmo);
        for (int k = 0; k < ns; k++)
            srv_step(ss[k]);
        okt_err e;
        CHECK(okt_conn_step(c, OKT_WANT_READ | OKT_WANT_WRITE, okt_now_ms(),
                            &e) == 0);
        while (nev < MAXEV && okt_conn_next_event(c, &evs[nev]))
            nev++;
        if (has_type(type))
            return 1;
    }
    return 0;
}

static const char *mk_cafile;
static int mk_trace;

static okt_conn *mkconn(const char **urls, size_t n, const char *pw,
                        int open_ms)
{
    okt_conn_cfg cfg;
    okt_conn_cfg_init(&cfg);
    cfg.ws.cafile = mk_cafile;
    cfg.urls = urls;
    cfg.nurls = n;
    cfg.session.login = "Peter";
    cfg.session.password = pw;
    if (open_ms)
        cfg.session.open_ms = open_ms;
    cfg.session.trace = mk_trace;
    okt_err e;
    okt_conn *c = okt_conn_new(&cfg, okt_now_ms(), &e);
    if (!c)
        fprintf(stderr, "  conn_new: %s\n", e.msg);
    return c;
}

/* mkconn to server s alone. */
static okt_conn *conn_to(const srv *s, const char *pw)
{
    char u[64];
    url_of(s, u, sizeof u);
    const char *urls[] = {u};
    return mkconn(urls, 1, pw, 0);
}

/* A port with nothing listening: bind, read the port, close. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

TEST(login_request_event_close)
{
    srv s;
    srv_init(&s);
    /* a real event carries a fresh UUID qid of its own (§2.4) */
    snprintf(s.push_event, sizeof s.push_event,
             "[\"userstatechanged\",{\"userstateid\":\"3\",\"qid\":"
             "\"3c1f4a8e-5b2d-4e6f-9a1b-7c8d9e0f1a2b\"}]");
    okt_conn *c = conn_to(&s, "123");
    srv *ss[] = {&s};
    CHECK(okt_conn_state(c) == OKT_S_HANDSHAKE);
    CHECK(okt_conn_fd(c) >= 0);
    CHECK(drive(c, ss, 1, OKT_EV_READY, 3000));
    CHECK(okt_conn_state(c) == OKT_S_READY);
    /* one bare request per distinct subscribe name of the table */
    char want[256] = "";
    size_t ndef;
    const okt_event_def *ed = okt_proto_events(&ndef);
    int nwant = 0;
    for (size_t k = 0; k < ndef; k++) {
        if (!ed[k].subscribe || strstr(want, ed[k].subscribe))
            continue;
        size_t l = strlen(want);
        snprintf(want + l, sizeof want - l, "%s%s", l ? "," : "",
                 ed[k].subscribe);
        nwant++;
    }
    CHECK_STR(s.subscribed, want);
    CHECK(s.nsubscribe == nwant && s.bad_subscribe == 0);
    int i = has_type(OKT_EV_READY);
    CHECK(i && !strcmp(json_string_value(
                           json_object_get(evs[i - 1].data, "userid")),
                       "u-1"));
    CHECK(drive(c, ss, 1, OKT_EV_SERVER, 3000));
    i = has_type(OKT_EV_SERVER);
    CHECK(i && !strcmp(evs[i - 1].name, "userstatechanged"));
    ev_reset();
    okt_err e;
    int64_t id = okt_conn_request(c, "getuserstate", NULL, 0, okt_now_ms(),
                                  &e);
    CHECK(id > 0);
    CHECK(drive(c, ss, 1, OKT_EV_REPLY, 3000));
    i = has_type(OKT_EV_REPLY);
    CHECK(i && evs[i - 1].id == id &&
          !strcmp(json_string_value(json_object_get(evs[i - 1].data, "echo")),
                  "getuserstate"));
    ev_reset();
    /* a request with a short timeout the server never answers */
    id = okt_conn_request(c, "slow", NULL, 100, okt_now_ms(), &e);
    CHECK(drive(c, ss, 1, OKT_EV_ERROR, 3000));
    i = has_type(OKT_EV_ERROR);
    CHECK(i && evs[i - 1].id == id && evs[i - 1].err.code == OKT_ETIMEOUT);
    ev_reset();
    /* polite close: logout reaches the server, the fd is gone; a pending
     * request fails "closed", then the CLOSED event; no event for logout */
    id = okt_conn_request(c, "slow", NULL, 0, okt_now_ms(), &e);
    okt_conn_close(c, okt_now_ms());
    while (nev < MAXEV && okt_conn_next_event(c, &evs[nev]))
        nev++;
    CHECK(nev == 2);
    CHECK(evs[0].type == OKT_EV_ERROR && evs[0].id == id &&
          evs[0].err.code == OKT_ECLOSED);
    CHECK(evs[1].type == OKT_EV_CLOSED && evs[1].err.code == OKT_ECLOSED);
    CHECK(okt_conn_fd(c) == -1);
    CHECK(okt_conn_state(c) == OKT_S_CLOSED);
    for (int k = 0; k < 20 && !s.got_logout; k++) {
        poll(NULL, 0, 5);
        srv_step(&s);
    }
    CHECK(s.got_logout == 1);
    okt_conn_free(c);
    ev_reset();
    srv_free(&s);
}

TEST(url_failover)
{
    srv silent, good;
    srv_init(&silent);
    srv_init(&good);
    silent.silent = 1;
    char u1[64], u2[64], u3[64];
    snprintf(u1, sizeof u1, "ws://127.0.0.1:%d", dead_port());
    url_of(&silent, u2, sizeof u2);
    url_of(&good, u3, sizeof u3);
    const char *urls[] = {u1, u2, u3};
    int64_t t0 = okt_now_ms();
    okt_conn *c = mkconn(urls, 3, "123", 300);
    srv *ss[] = {&silent, &good};
    CHECK(drive(c, ss, 2, OKT_EV_READY, 3000));
    int64_t took = okt_now_ms() - t0;
    CHECK(took >= 300 && took < 2000);   /* waited out the silent one */
    CHECK(silent.accepted == 1 && good.accepted == 1 && good.got_login == 1);
    okt_conn_free(c);
    ev_reset();
    srv_free(&silent);
    srv_free(&good);
}

TEST(all_refused)
{
    char u1[64], u2[64];
    snprintf(u1, sizeof u1, "ws://127.0.0.1:%d", dead_port());
    snprintf(u2, sizeof u2, "ws://127.0.0.1:%d", dead_port());
    const char *urls[] = {u1, u2};
    okt_conn *c = mkconn(urls, 2, "123", 0);
    CHECK(drive(c, NULL, 0, OKT_EV_CLOSED, 3000));
    int i = has_type(OKT_EV_CLOSED);
    CHECK(i && evs[i - 1].err.code == OKT_EREFUSED);
    CHECK(i && strstr(evs[i - 1].err.msg, "2 URLs"));
    CHECK(okt_conn_fd(c) == -1 && okt_conn_events(c) == 0);
    CHECK(okt_conn_deadline(c) == -1);
    okt_err e;
    CHECK(okt_conn_request(c, "x", NULL, 0, okt_now_ms(), &e) == -1 &&
          e.code == OKT_ECLOSED);
    okt_conn_free(c);
    ev_reset();
    /* misuse is refused up front */
    const char *bad[] = {"http://x"};
    okt_conn_cfg cfg;
    okt_conn_cfg_init(&cfg);
    cfg.urls = bad;
    cfg.nurls = 1;
    cfg.session.login = "x";
    cfg.session.password = "y";
    CHECK(okt_conn_new(&cfg, 0, &e) == NULL && e.code == OKT_EINVAL);
    cfg.nurls = 0;
    CHECK(okt_conn_new(&cfg, 0, &e) == NULL && e.code == OKT_EINVAL);
}

TEST(wrong_password_and_license)
{
    srv s;
    srv_init(&s);
    okt_conn *c = conn_to(&s, "wrong");
    srv *ss[] = {&s};
    CHECK(drive(c, ss, 1, OKT_EV_CLOSED, 3000));
    int i = has_type(OKT_EV_CLOSED);
    CHECK(i && evs[i - 1].err.code == OKT_EAUTH);
    CHECK(okt_conn_fd(c) == -1);
    okt_conn_free(c);
    ev_reset();
    s.login_reply = "{\"result\":0,\"error\":50025}";
    c = conn_to(&s, "123");
    CHECK(drive(c, ss, 1, OKT_EV_CLOSED, 3000));
    i = has_type(OKT_EV_CLOSED);
    CHECK(i && evs[i - 1].err.code == OKT_ELICENSE);
    okt_conn_free(c);
    ev_reset();
    srv_free(&s);
}

TEST(drop_with_requests_pending)
{
    srv s;
    srv_init(&s);
    s.drop_on = "vanish";
    okt_conn *c = conn_to(&s, "123");
    srv *ss[] = {&s};
    CHECK(drive(c, ss, 1, OKT_EV_READY, 3000));
    ev_reset();
    okt_err e;
    int64_t a = okt_conn_request(c, "slow", NULL, 0, okt_now_ms(), &e);
    int64_t b = okt_conn_request(c, "slow", NULL, 0, okt_now_ms(), &e);
    okt_conn_request(c, "vanish", NULL, 0, okt_now_ms(), &e);
    CHECK(drive(c, ss, 1, OKT_EV_CLOSED, 3000));
    CHECK(nev == 4);
    CHECK(evs[0].type == OKT_EV_ERROR && evs[0].id == a &&
          evs[0].err.code == OKT_ECLOSED);
    CHECK(evs[1].type == OKT_EV_ERROR && evs[1].id == b);
    CHECK(evs[3].type == OKT_EV_CLOSED && evs[3].err.code == OKT_ECLOSED);
    CHECK(okt_conn_fd(c) == -1);
    okt_conn_free(c);
    ev_reset();
    srv_free(&s);
}

TEST(redirect_url)
{
    const char *v[][2] = {
        {"ws://192.168.0.61:4066", "wss://192.168.0.61:443"},
        {"ws://host:4066/path?q=1", "wss://host:443/path?q=1"},
        {"ws://host/p", "wss://host:443/p"},
        {"wss://host:8443", "wss://host:443"},
        {"ws://[::1]:4066/x", "wss://[::1]:443/x"},
        {"WS://Host:4066/x", "wss://Host:443/x"},   /* the check takes it */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *r = okt_conn_redirect_url(v[i][0]);
        CHECK_STR(r, v[i][1]);
        free(r);
    }
}

/* websocketredirect over loopback: the plain server redirects, the client
 * reconnects to wss://localhost:443 (verified against the test CA) and
 * logs in there without a second ping. Port 443 needs privileges. */
TEST(redirect_over_tls)
{
    okt_ws_cfg tcfg;
    okt_ws_cfg_init(&tcfg);
    tcfg.certfile = "tests/certs/server.pem";
    tcfg.keyfile = "tests/certs/server.key";
    srv plain, tls;
    if (srv_init_port(&tls, 443) != 0) {
        printf("# SKIP redirect_over_tls: cannot listen on 127.0.0.1:443 "
               "(%s); covered sans-IO in test_session\n", strerror(errno));
        return;
    }
    tls.cfg = &tcfg;
    srv_init(&plain);
    plain.redirect = 1;
    char u[64];
    snprintf(u, sizeof u, "ws://localhost:%d", plain.port);
    const char *urls[] = {u};
    mk_cafile = "tests/certs/ca.pem";
    okt_conn *c = mkconn(urls, 1, "123", 0);
    mk_cafile = NULL;
    srv *ss[] = {&plain, &tls};
    CHECK(drive(c, ss, 2, OKT_EV_READY, 5000));
    CHECK(plain.got_ping == 1 && plain.got_login == 0);
    CHECK(tls.got_ping == 0 && tls.got_login == 1);
    CHECK(okt_conn_state(c) == OKT_S_READY);
    for (int i = 0; i < nev; i++)
        if (evs[i].type == OKT_EV_CLOSED)
            fprintf(stderr, "  closed: %s\n", evs[i].err.msg);
    okt_conn_free(c);
    ev_reset();
    srv_free(&plain);
    srv_free(&tls);
}

/* The wire trace over a real transport: what went out and came in, in
 * order, masked; the logout of a polite close is its last record; it can
 * be taken to outlive the conn. */
TEST(trace_through_conn)
{
    srv s;
    srv_init(&s);
    mk_trace = 1;
    okt_conn *c = conn_to(&s, "123");
    mk_trace = 0;
    srv *ss[] = {&s};
    CHECK(drive(c, ss, 1, OKT_EV_READY, 3000));
    okt_err e;
    int64_t id = okt_conn_request(c, "getuserstate", NULL, 0, okt_now_ms(),
                                  &e);
    CHECK(drive(c, ss, 1, OKT_EV_REPLY, 3000));
    ev_reset();
    okt_conn_close(c, okt_now_ms());
    ev_reset();
    okt_trace *tr = okt_conn_take_trace(c);
    CHECK(tr != NULL);
    CHECK(okt_conn_take_trace(c) == NULL);
    okt_conn_free(c);
    /* ping, pong, login, loginresult, n × (subscribeevent, its reply),
     * getuserstate, its reply, logout */
    const char *want[] = {">[\"ping\",", "<[\"pong\",", ">[\"login\",",
                          "<[\"loginresult\","};
    int dir;
    char *t;
    size_t i = 0, nsub_out = 0, nsub_in = 0;
    int masked = 0, hash = 0, req = 0, rep = 0, logout_last = 0;
    char q[24];
    snprintf(q, sizeof q, "\"qid\":\"%lld\"", (long long)id);
    while (okt_trace_next(tr, &dir, &t)) {
        if (i < 4) {
            CHECK(dir == want[i][0] && strstr(t, want[i] + 1) == t);
        } else if (strstr(t, "[\"subscribeevent\",") == t) {
            nsub_out += dir == '>';
        } else if (strstr(t, "[\"subscribeeventresult\",") == t) {
            nsub_in += dir == '<';
        } else if (strstr(t, "[\"getuserstate\",") == t) {
            req += dir == '>' && strstr(t, q) != NULL;
        } else if (strstr(t, "[\"getuserstateresult\",") == t) {
            rep += dir == '<' && strstr(t, q) != NULL;
        }
        logout_last = dir == '>' && strstr(t, "[\"logout\",") == t;
        if (strstr(t, "\"Password\":\"***\",\"password\":\"***\""))
            masked++;
        /* md5("123"), both cases */
        if (strstr(t, "202cb962ac59075b964b07152d234b70"))
            hash++;
        free(t);
        i++;
    }
    CHECK(i == 4 + nsub_out + nsub_in + 3);
    CHECK(nsub_out == (size_t)s.nsubscribe && nsub_in == nsub_out);
    CHECK(req == 1 && rep == 1 && logout_last);
    CHECK(masked == 1 && hash == 0);
    CHECK(okt_trace_dropped(tr) == 0);
    okt_trace_free(tr);
    srv_free(&s);
}

/* Messages that arrive together are parsed one at a time as they are
 * taken (okt_conn_next_event feeds the next): all of them, in order, none
 * lost when the conn is stepped once; and a connection frees its framing
 * context once logged in, and again when it has been idle a while, at the
 * turn its deadline asks for (okt_ws_park_later), keeping it in use. */
TEST(burst_in_order_and_idle_park)
{
    srv s;
    srv_init(&s);
    okt_conn *c = conn_to(&s, "123");
    srv *ss[] = {&s};
    CHECK(drive(c, ss, 1, OKT_EV_READY, 3000));
    ev_reset();
    CHECK(s.nws == 1);
    size_t logged_in = okt_conn_mem(c);   /* quiet once logged in: no context */
    enum { BURST = 300 };
    for (int i = 0; i < BURST; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        srv_send(s.ws[0], "linestatechanged", NULL, body);
    }
    for (int k = 0; k < 50; k++)
        srv_step(&s);
    int got = 0, in_order = 1;
    int64_t end = okt_now_ms() + 3000;
    okt_err e;
    while (got < BURST && okt_now_ms() < end) {
        struct pollfd p = {.fd = okt_conn_fd(c), .events = POLLIN};
        poll(&p, 1, 20);
        srv_step(&s);
        CHECK(okt_conn_step(c, OKT_WANT_READ, okt_now_ms(), &e) == 0);
        okt_event ev;
        while (okt_conn_next_event(c, &ev)) {
            if (ev.type == OKT_EV_SERVER) {
                json_t *n = json_object_get(ev.data, "n");
                if (json_integer_value(n) != got)
                    in_order = 0;
                got++;
            }
            okt_event_clear(&ev);
        }
    }
    CHECK(got == BURST && in_order);
    /* in use: the context is held; the deadline asks for the parking turn
     * within PARK_AFTER_MS plus a tick */
    size_t busy = okt_conn_mem(c);
    CHECK(logged_in + 8192 <= busy);
    int64_t now = okt_now_ms(), d = okt_conn_deadline(c);
    CHECK(d > now && d <= now + 100 + 2 * 128);
    CHECK(okt_conn_step(c, 0, now + 50, &e) == 0);
    CHECK(okt_conn_mem(c) == busy);   /* not yet */
    /* both readiness bits asked for (conn:step does) are not activity */
    CHECK(okt_conn_step(c, OKT_WANT_READ | OKT_WANT_WRITE, d, &e) == 0);
    CHECK(okt_conn_mem(c) + 8192 <= busy);   /* the ~9 KiB context went */
    /* and the connection still works */
    int64_t id = okt_conn_request(c, "getuserstate", NULL, 0, okt_now_ms(), &e);
    CHECK(id > 0);
    CHECK(drive(c, ss, 1, OKT_EV_REPLY, 3000));
    okt_conn_close(c, okt_now_ms());
    okt_conn_free(c);
    ev_reset();
    srv_free(&s);
}

int main(void)
{
    RUN(redirect_over_tls);
    RUN(redirect_url);
    RUN(login_request_event_close);
    RUN(url_failover);
    RUN(all_refused);
    RUN(wrong_password_and_license);
    RUN(drop_with_requests_pending);
    RUN(trace_through_conn);
    RUN(burst_in_order_and_idle_park);
    return TEST_SUMMARY();
}
