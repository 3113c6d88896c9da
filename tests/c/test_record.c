/* test_record.c - the recording format (record.h) and its replay
 * (replay.h): lines and their masking, the header, the loader's
 * refusals, and a recording served to a raw ws.c client: answers in
 * recorded order per method with the client's qid, refusals for what was
 * not recorded, the login of the recorded user only, events in order. */
#include "test.h"

#include <poll.h>
#include <stdlib.h>

#include "record.h"
#include "replay.h"
#include "ws.h"

TEST(line_masks_and_formats)
{
    char *l = okt_record_line(1234, '>',
                              "[\"login\",{\"userlogin\":\"Peter\","
                              "\"Password\":\"h1\",\"x\":{\"SipPass\":1},"
                              "\"qid\":\"2\"}]", 80);
    CHECK(l != NULL);
    /* len 80 cut the text: not JSON, so only its length is written */
    CHECK_STR(l, "{\"t\":1.234,\"dir\":\">\",\"frame\":\"<unparsable 80 bytes>\"}");
    free(l);
    const char *f = "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"h1\","
                    "\"x\":{\"SipPass\":1},\"qid\":\"2\"}]";
    l = okt_record_line(5, '<', f, strlen(f));
    CHECK_STR(l, "{\"t\":0.005,\"dir\":\"<\",\"frame\":[\"login\",{\"userlogin\":"
                 "\"Peter\",\"Password\":\"***\",\"x\":{\"SipPass\":\"***\"},"
                 "\"qid\":\"2\"}]}");
    free(l);
    l = okt_record_line(-3, '!', "3 frames \"lost\"", 15);
    CHECK_STR(l, "{\"t\":0.000,\"dir\":\"!\",\"frame\":\"3 frames \\\"lost\\\"\"}");
    free(l);
    CHECK(okt_record_secret("sessionid") && okt_record_secret("newPASSword"));
    CHECK(!okt_record_secret("userlogin") && !okt_record_secret(NULL));
}

TEST(header_drops_userinfo)
{
    char *h = okt_record_header("1.2.3", "Пётр", "wss://u:p@host:443/ws?a=b@c");
    CHECK_STR(h, "{\"oktell_record\":1,\"version\":\"1.2.3\",\"login\":\"Пётр\","
                 "\"url\":\"wss://host:443/ws?a=b@c\"}");
    free(h);
    h = okt_record_header("1", "Peter", "ws://127.0.0.1:4066");
    CHECK(h && strstr(h, "\"url\":\"ws://127.0.0.1:4066\""));
    free(h);
    CHECK(okt_record_header("1", "\xff", "ws://x") == NULL);   /* not UTF-8 */
}

TEST(unmasked_secrets_are_found)
{
    json_t *v = json_loads("[\"a\",{\"k\":[{\"password\":\"***\"},"
                           "{\"Password\":\"h\"}]}]", 0, NULL);
    CHECK_STR(okt_record_unmasked(v), "Password");
    json_decref(v);
    v = json_loads("[\"a\",{\"sessionid\":\"***\",\"passwd\":\"***\"}]", 0,
                   NULL);
    CHECK(okt_record_unmasked(v) == NULL);
    json_decref(v);
    v = json_loads("{\"sippass\":null}", 0, NULL);
    CHECK_STR(okt_record_unmasked(v), "sippass");
    json_decref(v);
}

#define HDR "{\"oktell_record\":1,\"version\":\"0\",\"login\":\"Peter\",\"url\":\"ws://x\"}\n"

static int load_fails(const char *text, const char *want)
{
    okt_err e;
    okt_replay *r = okt_replay_new(text, strlen(text), NULL, &e);
    okt_replay_free(r);
    if (r || e.code != OKT_EINVAL || !strstr(e.msg, want)) {
        fprintf(stderr, "  load: %s\n", r ? "loaded" : e.msg);
        return 0;
    }
    return 1;
}

TEST(loader_refusals)
{
    CHECK(load_fails("", "empty file"));
    CHECK(load_fails("\n  \n", "empty file"));
    CHECK(load_fails("{\"a\":1}\n", "not an oktell recording"));
    CHECK(load_fails("hello\n", "not an oktell recording"));
    CHECK(load_fails("{\"oktell_record\":9,\"login\":\"P\"}\n", "format 9"));
    CHECK(load_fails("{\"oktell_record\":1}\n", "names no login"));
    CHECK(load_fails(HDR "{\"t\":-1,\"dir\":\">\",\"frame\":[\"a\",{}]}\n",
                     "line 2: 't'"));
    CHECK(load_fails(HDR "\n{\"t\":0,\"dir\":\"?\",\"frame\":[\"a\",{}]}\n",
                     "line 3: 'dir'"));
    CHECK(load_fails(HDR "{\"t\":0,\"dir\":\">\",\"frame\":[1,{}]}\n",
                     "[name, object]"));
    CHECK(load_fails(HDR "{\"t\":0,\"dir\":\"<\",\"frame\":[\"loginresult\","
                     "{\"x\":{\"sessionid\":\"abc\"}}]}\n",
                     "line 2: 'sessionid' holds a value that is not masked"));
    /* notes and unparsable text are skipped, CRLF is fine */
    const char *ok = HDR "{\"t\":0,\"dir\":\"!\",\"frame\":\"n\"}\r\n"
                         "{\"t\":0,\"dir\":\"<\",\"frame\":\"<unparsable 3 bytes>\"}\r\n";
    okt_err e;
    okt_replay *r = okt_replay_new(ok, strlen(ok), NULL, &e);
    CHECK(r != NULL);
    json_t *s = okt_replay_status(r);
    CHECK(json_is_true(json_object_get(s, "done")));
    json_decref(s);
    okt_replay_free(r);
    json_t *o = json_loads("{\"speed\":0}", 0, NULL);
    CHECK(okt_replay_new(ok, strlen(ok), o, &e) == NULL &&
          strstr(e.msg, "'speed'"));
    json_decref(o);
    o = json_loads("{\"sped\":1}", 0, NULL);
    CHECK(okt_replay_new(ok, strlen(ok), o, &e) == NULL &&
          strstr(e.msg, "unknown key 'sped'"));
    json_decref(o);
}

/* ---- served to a raw client ------------------------------------------ */

static int pump(okt_ws *ws, int ms)
{
    struct pollfd p = {okt_ws_fd(ws), 0, 0};
    int ev = okt_ws_events(ws);
    if (p.fd < 0)
        return -1;
    p.events = (short)(((ev & OKT_WANT_READ) ? POLLIN : 0) |
                       ((ev & OKT_WANT_WRITE) ? POLLOUT : 0));
    int rv = 0;
    if (poll(&p, 1, ms) > 0) {
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            rv |= OKT_WANT_READ;
        if (p.revents & (POLLOUT | POLLHUP | POLLERR))
            rv |= OKT_WANT_WRITE;
    }
    return okt_ws_step(ws, rv, NULL);
}

/* The next message's text within ms (malloc'd), NULL on timeout. */
static char *next_text(okt_ws *ws, int ms)
{
    int64_t end = okt_now_ms() + ms;
    for (;;) {
        const char *d;
        size_t n;
        if (okt_ws_recv(ws, &d, &n))
            return strndup(d, n);
        int64_t left = end - okt_now_ms();
        if (left <= 0 || pump(ws, (int)left) < 0)
            return NULL;
    }
}

static void say(okt_ws *ws, const char *text)
{
    CHECK(okt_ws_send(ws, text, strlen(text), NULL) == 0);
    pump(ws, 0);
}

static void expect(okt_ws *ws, const char *want)
{
    char *t = next_text(ws, 2000);
    CHECK_STR(t, want);
    free(t);
}

TEST(serves_in_order_with_the_clients_qid)
{
    const char *rec =
        HDR
        "{\"t\":0.0,\"dir\":\">\",\"frame\":[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"***\",\"qid\":\"1\"}]}\n"
        "{\"t\":0.0,\"dir\":\"<\",\"frame\":[\"loginresult\",{\"result\":1,\"sessionid\":\"***\",\"qid\":\"1\"}]}\n"
        "{\"t\":0.0,\"dir\":\">\",\"frame\":[\"getuserstate\",{\"qid\":\"2\"}]}\n"
        "{\"t\":0.0,\"dir\":\">\",\"frame\":[\"getuserstate\",{\"qid\":\"3\"}]}\n"
        "{\"t\":0.0,\"dir\":\"<\",\"frame\":[\"getuserstateresult\",{\"n\":1,\"qid\":\"2\"}]}\n"
        "{\"t\":900.0,\"dir\":\"<\",\"frame\":[\"userstatechanged\",{\"e\":1,\"qid\":\"x\"}]}\n"
        "{\"t\":0.0,\"dir\":\"<\",\"frame\":[\"getuserstateresult\",{\"n\":2,\"qid\":\"3\"}]}\n"
        "{\"t\":9.0,\"dir\":\"<\",\"frame\":[\"linestatechanged\",{\"e\":2,\"qid\":\"y\"}]}\n"
        "{\"t\":9.0,\"dir\":\">\",\"frame\":[\"logout\",{\"qid\":\"4\"}]}\n";
    okt_err e;
    /* 9 s -> 0.1 s; 900 s -> 10 s, long after the reply behind it */
    json_t *o = json_loads("{\"speed\":90}", 0, NULL);
    okt_replay *r = okt_replay_new(rec, strlen(rec), o, &e);
    json_decref(o);
    CHECK(r && okt_replay_start(r, &e) == 0);
    if (!r)
        return;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", okt_replay_port(r));
    okt_ws *ws = okt_ws_connect(url, NULL, NULL);
    for (int i = 0; ws && i < 200 && okt_ws_state(ws) != OKT_WS_OPEN; i++)
        pump(ws, 10);
    CHECK(ws && okt_ws_state(ws) == OKT_WS_OPEN);
    if (!ws) {
        okt_replay_free(r);
        return;
    }
    say(ws, "[\"login\",{\"userlogin\":\"Paul\",\"qid\":7}]");
    expect(ws, "[\"loginresult\",{\"result\":0,\"errormsg\":"
               "\"Wrong login/pass combination\",\"qid\":7}]");
    say(ws, "[\"ping\",{\"qid\":\"p\"}]");   /* none recorded: answered */
    expect(ws, "[\"pong\",{\"result\":1,\"qid\":\"p\"}]");
    say(ws, "[\"LOGIN\",{\"userlogin\":\"peter\",\"password\":\"any\",\"qid\":\"a\"}]");
    expect(ws, "[\"loginresult\",{\"result\":1,\"sessionid\":\"***\",\"qid\":\"a\"}]");
    say(ws, "[\"getuserstate\",{\"qid\":\"b\"}]");
    expect(ws, "[\"getuserstateresult\",{\"n\":1,\"qid\":\"b\"}]");
    say(ws, "[\"getextendedlineinfo\",{\"qid\":\"c\"}]");
    expect(ws, "[\"getextendedlineinforesult\",{\"result\":0,\"errormsg\":"
               "\"replay: no recorded answer for getextendedlineinfo\","
               "\"qid\":\"c\"}]");
    json_t *s = okt_replay_status(r);
    CHECK(json_integer_value(json_object_get(s, "requests_served")) == 2);
    CHECK(json_integer_value(json_object_get(s, "unexpected")) == 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(s, "left"), 0)),
              "getuserstate");
    json_decref(s);
    /* the event recorded before the second reply goes out ahead of it,
     * long before its time */
    say(ws, "[\"getuserstate\",{\"qid\":\"d\"}]");
    expect(ws, "[\"userstatechanged\",{\"e\":1,\"qid\":\"x\"}]");
    expect(ws, "[\"getuserstateresult\",{\"n\":2,\"qid\":\"d\"}]");
    /* the last one at its offset from the login, divided by speed */
    expect(ws, "[\"linestatechanged\",{\"e\":2,\"qid\":\"y\"}]");
    say(ws, "[\"logout\",{\"qid\":\"z\"}]");   /* no reply recorded */
    char *t = next_text(ws, 300);
    CHECK(t == NULL);
    free(t);
    s = okt_replay_status(r);
    CHECK(json_is_true(json_object_get(s, "done")));
    json_decref(s);
    okt_ws_free(ws);
    okt_replay_free(r);
}

int main(void)
{
    RUN(line_masks_and_formats);
    RUN(header_drops_userinfo);
    RUN(unmasked_secrets_are_found);
    RUN(loader_refusals);
    RUN(serves_in_order_with_the_clients_qid);
    return TEST_SUMMARY();
}
