/* test_queue.c - the call-center queue (EMULATOR-calls §4): dispatch of the
 * longest-waiting caller to the operator idle longest, missed and declined
 * calls back to the head, personal queues served first, patience,
 * wrap-up, getcurrentqueue. */
#include "calls_test.h"

#define OPS(extra)                                                           \
    "{\"users\":["                                                           \
    "{\"login\":\"A\",\"password\":\"1\",\"number\":\"101\"},"               \
    "{\"login\":\"B\",\"password\":\"2\",\"number\":\"102\"},"               \
    "{\"login\":\"C\",\"password\":\"3\",\"number\":\"103\"},"               \
    "{\"login\":\"D\",\"password\":\"4\",\"number\":\"104\","                \
    "\"redirect_number\":\"101\"}],"                                         \
    "\"numbers\":[{\"number\":\"500\",\"kind\":\"queue\"}],"                 \
    "\"licenses\":4" extra "}"

static void ready_inside(okt_model *m, int s)
{
    req(m, s, OKT_W_SETUSERSTATE, "{\"oncallcenter\":true,\"userstateid\":1}");
}

/* The number of the caller on ui's line ("" if none). */
static const char *party_of(okt_model *m, int s)
{
    static char buf[64];
    json_t *li = lineinfo(m, s);
    snprintf(buf, sizeof buf, "%s", sv(abonent(li), OKT_F_NUMBER));
    json_decref(li);
    return buf;
}

static void queue_in(okt_model *m, const char *from, const char *extra)
{
    char args[256];
    snprintf(args, sizeof args, "{\"from\":\"%s\",\"to\":\"queue\"%s}", from,
             extra ? extra : "");
    CHECK(call_in(m, args)[0]);
}

/* The numbers waiting in the call-center queue, comma separated. */
static const char *queue_order(okt_model *m)
{
    static char buf[256];
    buf[0] = '\0';
    json_t *q = NULL;
    ctl(m, "queue", NULL, &q);
    for (size_t i = 0; i < json_array_size(q); i++) {
        if (buf[0])
            strcat(buf, ",");
        strncat(buf, sv(json_array_get(q, i), "number"), 20);
    }
    json_decref(q);
    return buf;
}

TEST(longest_waiting_to_longest_idle)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2"),
        c = login_as(m, "C", "3");
    ready_inside(m, a);
    ready_inside(m, b);
    ready_inside(m, c);
    /* three calls, one each (ties: the first configured); they end in the
     * order A, C, B */
    queue_in(m, "1", NULL);
    CHECK_STR(party_of(m, a), "1");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    tick(m, 1000);
    queue_in(m, "2", NULL);
    CHECK_STR(party_of(m, b), "2");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    queue_in(m, "3", NULL);
    CHECK_STR(party_of(m, c), "3");
    req(m, c, OKT_W_PBXANSWERCALL, NULL);
    /* a queue call is a task: ontask */
    json_t *o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_ONTASK) == 1 && iv(o, OKT_F_USERSTATEID) == 5);
    json_decref(o);
    tick(m, 10000);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    tick(m, 11000);
    req(m, c, OKT_W_PBXABORTCALL, NULL);
    tick(m, 12000);
    req(m, b, OKT_W_PBXABORTCALL, NULL);
    /* now three callers: the longest waiting to the longest idle */
    tick(m, 20000);
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":3}");
    req(m, b, OKT_W_SETUSERSTATE, "{\"userstateid\":3}");
    req(m, c, OKT_W_SETUSERSTATE, "{\"userstateid\":3}");
    queue_in(m, "4", NULL);
    tick(m, 20001);
    queue_in(m, "5", NULL);
    tick(m, 20002);
    queue_in(m, "6", NULL);
    CHECK_STR(queue_order(m), "4,5,6");
    req(m, b, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    req(m, c, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    /* whoever gets eligible takes the head at once: B, then C, then A */
    CHECK_STR(party_of(m, b), "4");
    CHECK_STR(party_of(m, c), "5");
    CHECK_STR(party_of(m, a), "6");
    done(m);
}

TEST(all_ready_at_once_longest_idle_first)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    int s[3] = {login_as(m, "A", "1"), login_as(m, "B", "2"),
                login_as(m, "C", "3")};
    for (int i = 0; i < 3; i++)
        ready_inside(m, s[i]);
    /* calls end in the order C, A, B */
    for (int i = 0; i < 3; i++) {
        char from[16];
        snprintf(from, sizeof from, "%d", i + 1);
        queue_in(m, from, NULL);
        req(m, s[i], OKT_W_PBXANSWERCALL, NULL);
    }
    int order[3] = {2, 0, 1};
    for (int i = 0; i < 3; i++) {
        tick(m, 1000 * (i + 1));
        req(m, s[order[i]], OKT_W_PBXABORTCALL, NULL);
    }
    /* a burst of callers in one reaction each: C, A, B take them */
    tick(m, 5000);
    queue_in(m, "7", NULL);
    queue_in(m, "8", NULL);
    queue_in(m, "9", NULL);
    CHECK_STR(party_of(m, s[2]), "7");
    CHECK_STR(party_of(m, s[0]), "8");
    CHECK_STR(party_of(m, s[1]), "9");
    done(m);
}

/* A declined or missed call goes back to the head with its wait; the
 * operator is skipped for it while another is eligible. */
TEST(missed_back_to_head)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    queue_in(m, "1", NULL);
    tick(m, 1000);
    queue_in(m, "2", NULL);
    tick(m, 2000);
    queue_in(m, "3", NULL);
    CHECK_STR(queue_order(m), "1,2,3");
    ready_inside(m, a);
    CHECK_STR(party_of(m, a), "1");
    CHECK_STR(queue_order(m), "2,3");
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    /* nobody else: it rings A again, still the head's caller */
    CHECK_STR(party_of(m, a), "1");
    ready_inside(m, b);
    CHECK_STR(party_of(m, b), "2");
    /* A declines again: B is busy, so A again */
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK_STR(party_of(m, a), "1");
    /* B lets 2 ring out: back to the head, and A is busy: B again */
    tick(m, 2000 + 15000);
    CHECK_STR(party_of(m, b), "2");
    json_t *q = NULL;
    ctl(m, "queue", NULL, &q);
    CHECK(json_array_size(q) == 1);
    CHECK_STR(sv(json_array_get(q, 0), "number"), "3");
    json_decref(q);
    /* A declines 1 while B is free? B rings with 2: take 2, end it */
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    req(m, b, OKT_W_PBXABORTCALL, NULL);
    /* B took 3 (the head) at once */
    CHECK_STR(party_of(m, b), "3");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    req(m, b, OKT_W_PBXABORTCALL, NULL);
    /* now A declines 1 with B free: B gets it, A is skipped */
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK_STR(party_of(m, b), "1");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

TEST(missed_to_off)
{
    okt_model *m = mk(OPS(",\"missed_to_off\":true,\"ring_timeout\":10"));
    tick(m, 0);
    int a = login_as(m, "A", "1");
    ready_inside(m, a);
    queue_in(m, "1", NULL);
    tick(m, 10000);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,ringstopped,"
                 "pbxnumberstatechanged");
    CHECK(ustate(m, a) == OKT_US_OFF);
    CHECK_STR(queue_order(m), "1");
    /* a declined call does not put the operator off */
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    CHECK_STR(party_of(m, a), "1");
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK(ustate(m, a) == OKT_US_RESERVED);   /* it rings again */
    done(m);
}

/* N callers, M operators: each served in arrival order (virtual agents
 * answering after 1 s, calls of 10 s). */
TEST(n_callers_m_operators_in_arrival_order)
{
    okt_model *m = mk(
        "{\"users\":["
        "{\"login\":\"A\",\"agent\":{\"answer\":1}},"
        "{\"login\":\"B\",\"agent\":{\"answer\":1}}],\"licenses\":2,"
        "\"speed\":1}");
    tick(m, 0);
    CHECK(ctl(m, "watch", "{\"on\":true}", NULL) == 0);
    char from[16];
    for (int i = 1; i <= 6; i++) {
        snprintf(from, sizeof from, "%d", i);
        char args[128];
        snprintf(args, sizeof args,
                 "{\"from\":\"%s\",\"to\":\"queue\",\"talk\":10}", from);
        CHECK(call_in(m, args)[0]);
        tick(m, i);
    }
    CHECK_STR(queue_order(m), "3,4,5,6");
    /* the answers, in order, from the records */
    char answered[64] = "";
    for (int64_t t = 10; t <= 40000; t += 500) {
        tick(m, t);
        for (size_t i = 0; i < out.n; i++) {
            if (out.v[i].kind != OKT_OUT_RECORD)
                continue;
            json_t *r = json_loads(out.v[i].text, 0, NULL);
            if (!strcmp(sv(r, "stage"), "talk")) {
                strcat(answered, sv(r, "from"));
            }
            json_decref(r);
        }
    }
    CHECK_STR(answered, "123456");
    json_t *st = NULL;
    CHECK(ctl(m, "stats", NULL, &st) == 0);
    CHECK(iv(st, "offered") == 6 && iv(st, "answered") == 6 &&
          iv(st, "abandoned") == 0 && iv(st, "waiting") == 0 &&
          iv(st, "talking") == 0);
    /* waits: 1 s, 1 s, 12 s, 12 s, 23 s, 23 s (answer 1 s, talk 10 s) */
    double mw = json_real_value(json_object_get(st, "max_wait"));
    CHECK(mw > 22.9 && mw < 23.1);
    json_decref(st);
    done(m);
}

/* A direct call to a busy line waits in the user's personal queue, which
 * is served before the call-center queue. */
TEST(personal_queue_first)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    int a = login_as(m, "A", "1");
    ready_inside(m, a);
    queue_in(m, "1", NULL);
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    tick(m, 3000);
    CHECK(call_in(m, "{\"from\":\"2\",\"to\":\"A\"}")[0]);
    queue_in(m, "3", NULL);
    CHECK_STR(snap(m, "A", "phone"), "talk");
    tick(m, 5000);
    json_t *o = ask(m, a, OKT_W_GETCURRENTQUEUE, NULL);
    const json_t *q = json_object_get(o, OKT_F_QUEUE);
    CHECK(json_array_size(q) == 2);
    CHECK_STR(sv(json_array_get(q, 0), OKT_F_NUMBER), "2");   /* personal */
    CHECK_STR(sv(json_array_get(q, 1), OKT_F_NUMBER), "3");
    CHECK(iv(json_array_get(q, 0), OKT_F_WAITSEC) == 2);
    CHECK(bv(json_array_get(q, 0), OKT_F_ISEXTLINE));
    CHECK(sv(json_array_get(q, 1), OKT_F_CHAINID)[0]);
    json_decref(o);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    CHECK_STR(party_of(m, a), "2");
    /* not a queue call: ontask false */
    o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_ONTASK) == 0);
    json_decref(o);
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    CHECK_STR(party_of(m, a), "3");
    /* outside the call-center only the personal queue shows */
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    req(m, a, OKT_W_SETUSERSTATE, "{\"oncallcenter\":false}");
    o = ask(m, a, OKT_W_GETCURRENTQUEUE, NULL);
    CHECK(json_array_size(json_object_get(o, OKT_F_QUEUE)) == 0);
    json_decref(o);
    done(m);
}

TEST(patience_abandons)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    queue_in(m, "1", ",\"patience\":5");
    queue_in(m, "2", NULL);
    tick(m, 4999);
    CHECK_STR(queue_order(m), "1,2");
    tick(m, 5000);
    CHECK_STR(queue_order(m), "2");
    CHECK(ctl(m, "hangup_abonent", "{\"id\":\"2\"}", NULL) == 0);
    CHECK_STR(queue_order(m), "");
    json_t *st = NULL;
    ctl(m, "stats", NULL, &st);
    CHECK(iv(st, "offered") == 2 && iv(st, "abandoned") == 2 &&
          iv(st, "answered") == 0);
    json_decref(st);
    /* patience runs while it rings too */
    int a = login_as(m, "A", "1");
    ready_inside(m, a);
    tick(m, 6000);
    queue_in(m, "3", ",\"patience\":2");
    CHECK_STR(snap(m, "A", "phone"), "ring");
    tick(m, 8000);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

/* Direct calls: usOff, offline, no line refuse (busy); redirect on
 * forwards to the redirect number. */
TEST(direct_refusals_and_redirect)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"A\"}")[0] == '\0');
    CHECK(cerr.code == OKT_ENOTSETTABLE && !strcmp(cerr.msg, "busy"));
    int a = login_as(m, "A", "1");
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":3}");
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"101\"}")[0] == '\0');
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"101\"}")[0]);
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    /* D forwards to 101 (A) */
    int d = login_as(m, "D", "4");
    req(m, d, OKT_W_SETUSERSTATE, "{\"onredirect\":true}");
    CHECK(call_in(m, "{\"from\":\"5\",\"to\":\"104\"}")[0]);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    CHECK_STR(snap(m, "D", "phone"), "idle");
    json_t *st = NULL;
    ctl(m, "stats", NULL, &st);
    CHECK(iv(st, "refused") == 2);
    json_decref(st);
    done(m);
}

/* wrap-up after a queue call: usFullbusy, ontask, no dispatch; then the
 * state from before. */
TEST(wrapup_after_queue_call)
{
    okt_model *m = mk(OPS(",\"wrapup\":5"));
    tick(m, 0);
    int a = login_as(m, "A", "1");
    ready_inside(m, a);
    queue_in(m, "1", NULL);
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    json_t *o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_USERSTATEID) == 5 && iv(o, OKT_F_ONTASK) == 1);
    json_decref(o);
    CHECK_STR(snap(m, "A", "wrapup"), "true");
    queue_in(m, "2", NULL);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    CHECK(okt_model_deadline(m) == 5000);
    tick(m, 5000);
    /* ready again, and the waiting caller rings at once */
    CHECK_STR(snap(m, "A", "phone"), "ring");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    tick(m, 10000);
    CHECK(ustate(m, a) == OKT_US_READY);
    /* a direct call has no wrap-up */
    call_in(m, "{\"from\":\"3\",\"to\":\"A\"}");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    CHECK(ustate(m, a) == OKT_US_READY);
    done(m);
}

/* Calls to the queue's service number, and the last session's end: a
 * queue call ringing there goes back to the queue. */
TEST(queue_number_and_offline_operator)
{
    okt_model *m = mk(OPS(""));
    tick(m, 0);
    int a = login_as(m, "A", "1");
    ready_inside(m, a);
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"500\"}")[0]);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    okt_out_clear(&out);
    okt_model_close(m, a, &out);
    CHECK_STR(queue_order(m), "1");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

int main(void)
{
    RUN(longest_waiting_to_longest_idle);
    RUN(all_ready_at_once_longest_idle_first);
    RUN(missed_back_to_head);
    RUN(missed_to_off);
    RUN(n_callers_m_operators_in_arrival_order);
    RUN(personal_queue_first);
    RUN(patience_abandons);
    RUN(direct_refusals_and_redirect);
    RUN(wrapup_after_queue_call);
    RUN(queue_number_and_offline_operator);
    return TEST_SUMMARY();
}
