/* fuzz_model.c - arbitrary bytes as messages of logged-in and anonymous
 * sessions, plus control calls and the clock: the model must answer or
 * refuse, never crash, leak or hang. Input: messages separated by '\n'; a
 * line starting with '!' is a control call "!cmd {json args}", one
 * starting with '@' a tick that many ms later (the call model's timers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define LOGIN "[\"login\",{\"userlogin\":\"Peter\",\"Password\":" \
              "\"202cb962ac59075b964b07152d234b70\",\"qid\":\"l\"}]"
#define SUB "[\"subscribeevent\",{\"eventmethod\":[\"userstatechanged\"," \
            "\"linestatechanged\",\"dlgcard\",\"phoneevent_ringstarted\"," \
            "\"flashstatechanged\",\"confcompositionchanged\"," \
            "\"pbxnumberstatechanged\",\"customevent\"],\"qid\":\"s\"}]"
/* Peter / 123, a second user, a virtual agent; service numbers */
#define CONFIG "{\"users\":[{\"login\":\"Peter\",\"password\":\"123\"}," \
               "{\"login\":\"B\",\"password\":\"2\",\"intercom\":false}," \
               "{\"login\":\"A\",\"agent\":{\"answer\":1,\"wrapup\":2}}]," \
               "\"licenses\":3,\"numbers\":[{\"number\":\"500\"," \
               "\"kind\":\"queue\"},{\"number\":\"333\",\"kind\":\"ivr\"," \
               "\"duration\":5}],\"procedures\":{\"p\":[]}}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *cfg = json_loads(CONFIG, 0, NULL);
    okt_model *m = okt_model_new(cfg, NULL);
    json_decref(cfg);
    if (!m)
        return 0;
    okt_out out;
    okt_out_init(&out);
    int s[3];
    s[0] = okt_model_open(m, NULL);
    s[1] = okt_model_open(m, NULL);
    s[2] = okt_model_open(m, NULL);
    okt_model_feed(m, s[0], LOGIN, strlen(LOGIN), &out);
    okt_model_feed(m, s[0], SUB, strlen(SUB), &out);
    okt_model_feed(m, s[1], LOGIN, strlen(LOGIN), &out);
    okt_out_clear(&out);
    size_t i = 0, k = 0;
    int64_t now = 0;
    okt_model_tick(m, now, &out);
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (data + i)) : size - i;
        const char *line = (const char *)data + i;
        if (len > 1 && line[0] == '@') {
            /* the clock: a step of at most about a day (the line is not
             * NUL-terminated: digits read by hand) */
            int64_t step = 0;
            for (size_t d = 1; d < len && d < 10 && line[d] >= '0' &&
                               line[d] <= '9'; d++)
                step = step * 10 + (line[d] - '0');
            now += step % 100000000;
            okt_model_tick(m, now, &out);
        } else if (len > 1 && line[0] == '!') {
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
        } else {
            okt_model_feed(m, s[k++ % 3], line, len, &out);
        }
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
