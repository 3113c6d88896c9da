/* fuzz_envelope.c - libFuzzer target: okt_msg_parse on arbitrary bytes (a
 * parsed message must rebuild and re-parse to the same name), and a READY
 * session fed the input as newline-separated messages with requests in
 * flight (every request must complete exactly once), tracing, with no
 * password hash in any trace record. `make test`
 * replays its corpus through tests/c/fuzz_replay.c. */
#include "message.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answer whatever the session sends (ping, login, each subscribeevent)
 * by its qid alone, under a name of no meaning, until it is READY. */
static void drive_to_ready(okt_session *s)
{
    const char *m;
    size_t len;
    okt_session_open(s, 0);
    for (int turns = 0; turns < 64 && okt_session_output(s, &m, &len);
         turns++) {
        json_t *root, *obj;
        const char *name;
        okt_err e;
        if (okt_msg_parse(m, len, &root, &name, &obj, &e) != 0)
            abort();
        char reply[96];
        snprintf(reply, sizeof reply, "[\"r\",{\"qid\":\"%s\"}]",
                 okt_msg_qid(obj));
        json_decref(root);
        okt_session_consume_output(s);
        okt_session_feed(s, reply, strlen(reply), 1);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data;

    json_t *root, *obj;
    const char *name;
    okt_err e;
    if (okt_msg_parse(text, size, &root, &name, &obj, &e) == 0) {
        size_t len;
        char *again = okt_msg_build(name, obj, &len, &e);
        if (!again)
            abort();
        json_t *r2, *o2;
        const char *n2;
        if (okt_msg_parse(again, len, &r2, &n2, &o2, &e) != 0 ||
            strcmp(n2, name) != 0 || !json_equal(o2, obj))
            abort();
        json_decref(r2);
        free(again);
        json_decref(root);
    } else if (root || !e.msg[0]) {
        abort();
    }

    okt_session_cfg cfg;
    okt_session_cfg_init(&cfg);
    cfg.login = "fuzz";
    cfg.password = "pw";
    cfg.trace = 1;
    okt_session *s = okt_session_new(&cfg, &e);
    if (!s)
        abort();
    drive_to_ready(s);
    if (okt_session_state(s) != OKT_S_READY)
        abort();
    int64_t ids[4];
    int done[4] = {0};
    for (int i = 0; i < 4; i++)
        ids[i] = okt_session_request(s, "x", NULL, 100 * (i + 1), 1, &e);
    int64_t now = 1;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            okt_session_feed(s, text + start, i - start, now);
            now += 37;
            okt_session_tick(s, now);
            start = i + 1;
        }
    }
    okt_session_transport_closed(s, NULL, now);
    okt_event ev;
    int closed = 0;
    while (okt_session_next_event(s, &ev)) {
        if (ev.type == OKT_EV_CLOSED)
            closed++;
        for (int i = 0; i < 4; i++)
            if (ev.id == ids[i] &&
                (ev.type == OKT_EV_REPLY || ev.type == OKT_EV_ERROR))
                done[i]++;
        okt_event_clear(&ev);
    }
    if (closed != 1)
        abort();
    char hash[33];
    okt_password_hash("pw", 0, hash, &e);   /* lower case already */
    int dir;
    char *t;
    /* the input itself may carry the text in a field that is no secret */
    int echoed = memmem(data, size, hash, 32) != NULL;
    while (okt_session_next_trace(s, &dir, &t)) {
        if ((dir != '<' && dir != '>') || (!echoed && strstr(t, hash)))
            abort();
        free(t);
    }
    for (int i = 0; i < 4; i++)
        if (done[i] != 1)
            abort();
    okt_session_free(s);
    return 0;
}

