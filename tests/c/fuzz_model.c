/* fuzz_model.c - arbitrary bytes as messages of logged-in and anonymous
 * sessions, plus control calls, the clock and transport drops: the model
 * must answer or refuse, never crash, leak or hang. Input: lines separated
 * by '\n':
 *   !cmd {json args}   a control call
 *   @N                 the clock moves N seconds on (session expiry, login
 *                      throttling) and the call model's timers run
 *   #U                 the next session logs in by the last sessionid handed
 *                      out, as Peter (U = P), Anna (A) or U itself
 *   ~                  the next session's transport goes and a new one opens
 *   anything else      a message of the next session (round-robin)
 * The config keeps the bounds small (2 sessionids per user, 4 in all, 2
 * failures before throttling) so eviction and throttling are reached, and
 * has the call model's parts: a user without intercom, a virtual agent,
 * service numbers, a stored procedure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define LOGIN "[\"login\",{\"userlogin\":\"Peter\",\"Password\":" \
              "\"202cb962ac59075b964b07152d234b70\",\"qid\":\"l\"}]"
#define SUB "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\"," \
            "\"linestatechanged\",\"dlgcard\",\"phoneevent_ringstarted\"," \
            "\"flashstatechanged\",\"confcompositionchanged\"," \
            "\"pbxnumberstatechanged\",\"customevent\"],\"qid\":\"s\"}]"
#define CONFIG "{\"users\":[{\"login\":\"Peter\",\"password\":\"123\"}," \
               "{\"login\":\"Anna\",\"password\":\"123\"," \
               "\"intercom\":false}," \
               "{\"login\":\"A\",\"agent\":{\"answer\":1,\"wrapup\":2}}]," \
               "\"licenses\":3,\"numbers\":[{\"number\":\"500\"," \
               "\"kind\":\"queue\"},{\"number\":\"333\",\"kind\":\"ivr\"," \
               "\"duration\":5}],\"procedures\":{\"p\":[]}," \
               "\"session_ttl\":60,\"max_sessions\":4," \
               "\"max_sessions_per_user\":2,\"login_failures\":2," \
               "\"login_lockout\":1}"

static const char *const addrs[3] = {"10.0.0.1", "10.0.0.2", ""};

/* Keep the last sessionid any reply handed out. */
static void note_sid(const okt_out *out, char sid[40])
{
    for (size_t j = 0; j < out->n; j++) {
        const char *t = out->v[j].text;
        const char *p = t ? strstr(t, "\"sessionid\":\"") : NULL;
        if (p && strlen(p + 13) >= 36)
            snprintf(sid, 40, "%.36s", p + 13);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *cfg = json_loads(CONFIG, 0, NULL);
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    if (!m)
        return 0;
    okt_out out;
    okt_out_init(&out);
    int64_t now = 1000;
    char sid[40] = "";
    okt_model_set_time(m, now);
    okt_model_tick(m, now, &out);
    int s[3];
    for (int j = 0; j < 3; j++) {
        s[j] = okt_model_open(m, NULL);
        okt_model_set_addr(m, s[j], addrs[j]);
    }
    okt_model_feed(m, s[0], LOGIN, strlen(LOGIN), &out);
    okt_model_feed(m, s[0], SUB, strlen(SUB), &out);
    okt_model_feed(m, s[1], LOGIN, strlen(LOGIN), &out);
    note_sid(&out, sid);
    okt_out_clear(&out);
    size_t i = 0, k = 0;
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (data + i)) : size - i;
        const char *line = (const char *)data + i;
        if (len > 1 && line[0] == '!') {
            char buf[256];
            size_t n = len - 1 < sizeof buf - 1 ? len - 1 : sizeof buf - 1;
            memcpy(buf, line + 1, n);
            buf[n] = '\0';
            char *sp = strchr(buf, ' ');
            json_t *args = NULL;
            if (sp) {
                *sp = '\0';
                args = json_loads(sp + 1, 0, NULL);
            }
            json_t *res = NULL;
            okt_model_control(m, buf, args, &res, &out, NULL);
            json_decref(res);
            json_decref(args);
        } else if (len >= 1 && line[0] == '@') {
            /* digits read by hand: the line is not NUL-terminated */
            int64_t secs = 0;
            for (size_t d = 1; d < len && d < 7 && line[d] >= '0' &&
                               line[d] <= '9'; d++)
                secs = secs * 10 + (line[d] - '0');
            now += (secs ? secs : 1) * 1000;
            okt_model_set_time(m, now);
            okt_model_tick(m, now, &out);
        } else if (len >= 2 && line[0] == '#') {
            const char *user = line[1] == 'P' ? "Peter"
                               : line[1] == 'A' ? "Anna" : "Nobody";
            char buf[160];
            int n = snprintf(buf, sizeof buf,
                             "[\"login\",{\"userlogin\":\"%s\",\"sessionid\":"
                             "\"%s\",\"qid\":\"f\"}]", user, sid);
            okt_model_feed(m, s[k++ % 3], buf, (size_t)n, &out);
        } else if (len == 1 && line[0] == '~') {
            size_t j = k++ % 3;
            okt_model_close(m, s[j], &out);
            s[j] = okt_model_open(m, NULL);
            okt_model_set_addr(m, s[j], addrs[j]);
        } else {
            okt_model_feed(m, s[k++ % 3], line, len, &out);
        }
        note_sid(&out, sid);
        /* what the server would do with close requests */
        for (size_t j = 0; j < out.n; j++)
            if (out.v[j].kind != OKT_OUT_SEND)
                okt_model_close(m, out.v[j].sess, &out);
        okt_out_clear(&out);
        i += len + 1;
    }
    okt_out_free(&out);
    okt_model_free(m);
    return 0;
}
