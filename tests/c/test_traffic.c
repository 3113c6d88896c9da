/* test_traffic.c - load (EMULATOR-calls §8) and the clock: virtual
 * agents, Poisson traffic repeated exactly by seed, the statistics,
 * speed (a factor, and "max" with no WebSocket login), deadlines. */
#include "calls_test.h"

#include <math.h>

#define AGENTS(n_extra)                                                      \
    "{\"users\":["                                                           \
    "{\"login\":\"A\",\"agent\":{\"answer\":2,\"wrapup\":5}},"               \
    "{\"login\":\"B\",\"agent\":{\"answer\":2,\"wrapup\":5}},"               \
    "{\"login\":\"C\",\"agent\":{\"answer\":3}}],"                           \
    "\"licenses\":3" n_extra "}"

/* Run a model at speed "max" until nothing is left to happen. */
static void run_out(okt_model *m)
{
    int64_t t = 0;
    for (int i = 0; i < 1000000 && okt_model_deadline(m) >= 0; i++)
        tick(m, ++t);
    CHECK(okt_model_deadline(m) == -1);
}

static json_t *traffic_run(const char *traffic)
{
    okt_model *m = mk(AGENTS(",\"speed\":\"max\""));
    tick(m, 0);
    json_t *id = NULL;
    CHECK(ctl(m, "traffic", traffic, &id) == 0);
    CHECK(iv(id, "id") == 1);
    json_decref(id);
    run_out(m);
    json_t *st = NULL;
    CHECK(ctl(m, "traffic_stats", "{\"id\":1}", &st) == 0);
    json_t *tot = NULL;
    CHECK(ctl(m, "stats", NULL, &tot) == 0);
    /* the only traffic: the totals are its numbers */
    CHECK(iv(tot, "offered") == iv(st, "offered"));
    CHECK(iv(tot, "answered") == iv(st, "answered"));
    json_decref(tot);
    done(m);
    return st;
}

#define T1                                                                   \
    "{\"rate\":0.05,\"talk\":60,\"patience\":40,\"to\":\"queue\","           \
    "\"numbers\":\"7495#######\",\"duration\":3600,\"seed\":5,\"sl\":20}"

TEST(same_seed_same_stats)
{
    json_t *s1 = traffic_run(T1), *s2 = traffic_run(T1);
    CHECK(json_equal(s1, s2));
    long long off = iv(s1, "offered"), ans = iv(s1, "answered"),
              ab = iv(s1, "abandoned");
    /* about rate x duration = 180 arrivals */
    CHECK(off > 130 && off < 230);
    CHECK(ans + ab == off && ans > 0);
    CHECK(iv(s1, "waiting") == 0 && iv(s1, "talking") == 0);
    CHECK(json_is_false(json_object_get(s1, "running")));
    double sl = json_real_value(json_object_get(s1, "service_level"));
    double mean = json_real_value(json_object_get(s1, "mean_wait"));
    double max = json_real_value(json_object_get(s1, "max_wait"));
    CHECK(sl > 0 && sl <= 1 && mean >= 2 && mean <= max);
    fprintf(stderr, "  seed 5: offered %lld answered %lld abandoned %lld "
                    "mean wait %.1f s max %.1f s SL %.2f\n",
            off, ans, ab, mean, max, sl);
    char *t = json_dumps(s1, JSON_COMPACT);
    json_t *s3 = traffic_run(
        "{\"rate\":0.05,\"talk\":60,\"patience\":40,\"duration\":3600,"
        "\"seed\":6}");
    CHECK(!json_equal(s1, s3));
    free(t);
    json_decref(s1);
    json_decref(s2);
    json_decref(s3);
}

/* Patience false: nobody abandons; uniform talk times. */
TEST(no_abandon_without_patience)
{
    json_t *s = traffic_run(
        "{\"rate\":0.02,\"talk\":[30,60],\"patience\":false,"
        "\"duration\":1800,\"seed\":1}");
    CHECK(iv(s, "abandoned") == 0 && iv(s, "offered") == iv(s, "answered"));
    json_decref(s);
}

/* At speed 1: stopped half way, no more arrivals; the calls in progress
 * finish. */
TEST(traffic_stop)
{
    okt_model *m = mk(AGENTS(""));
    tick(m, 0);
    CHECK(ctl(m, "traffic", T1, NULL) == 0);
    tick(m, 1800 * 1000);
    json_t *st = NULL;
    ctl(m, "traffic_stats", "{\"id\":1}", &st);
    long long half = iv(st, "offered");
    CHECK(half > 50 && half < 130);
    CHECK(json_is_true(json_object_get(st, "running")));
    json_decref(st);
    CHECK(ctl(m, "traffic_stop", "{\"id\":1}", NULL) == 0);
    tick(m, 7200 * 1000);
    ctl(m, "traffic_stats", "{\"id\":1}", &st);
    CHECK(iv(st, "offered") == half && iv(st, "waiting") == 0 &&
          iv(st, "talking") == 0);
    json_decref(st);
    done(m);
}

/* A virtual agent is logged in without a session, inside and ready; it
 * answers after `answer` s and wraps up after a queue call. */
TEST(virtual_agent)
{
    okt_model *m = mk(
        "{\"users\":[{\"login\":\"A\",\"agent\":{\"answer\":2,\"wrapup\":5}},"
        "{\"login\":\"P\",\"password\":\"1\"}],\"licenses\":2}");
    tick(m, 0);
    CHECK_STR(snap(m, "A", "userstate"), "ready");
    CHECK_STR(snap(m, "A", "inside"), "true");
    CHECK_STR(snap(m, "A", "connected"), "false");
    int p = login_as(m, "P", "1");
    json_t *o = ask(m, p, OKT_W_GETPBXNUMBERS, NULL);
    CHECK(iv(json_array_get(json_object_get(o, OKT_F_NUMBERS), 0),
             OKT_F_STATE) == OKT_US_READY);
    json_decref(o);
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"queue\",\"talk\":10}")[0]);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    CHECK(okt_model_deadline(m) == 2000);
    tick(m, 2000);
    CHECK_STR(snap(m, "A", "phone"), "talk");
    CHECK_STR(snap(m, "A", "userstate"), "fullbusy");
    tick(m, 12000);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    CHECK_STR(snap(m, "A", "wrapup"), "true");
    CHECK_STR(snap(m, "A", "userstate"), "fullbusy");
    tick(m, 17000);
    CHECK_STR(snap(m, "A", "userstate"), "ready");
    /* a direct call to the agent: answered too, no wrap-up */
    CHECK(call_in(m, "{\"from\":\"2\",\"to\":\"A\",\"talk\":1}")[0]);
    tick(m, 19000);
    CHECK_STR(snap(m, "A", "phone"), "talk");
    tick(m, 20000);
    CHECK_STR(snap(m, "A", "userstate"), "ready");
    done(m);
}

/* speed: emulated seconds per real second; the deadline is in real ms. */
TEST(speed_factor_and_deadline)
{
    okt_model *m = mk("{\"users\":[{\"login\":\"A\",\"password\":\"1\"}],"
                      "\"speed\":10,\"ring_timeout\":15}");
    CHECK(okt_model_deadline(m) == -1);
    tick(m, 100000);   /* the first tick sets the clock's origin */
    int a = login_as(m, "A", "1");
    call_in(m, "{\"from\":\"1\",\"to\":\"A\"}");
    CHECK(okt_model_deadline(m) == 100000 + 1500);
    tick(m, 101499);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    tick(m, 101500);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    (void)a;
    done(m);
}

/* speed "max": the next deadline at once, timers fired a batch per tick
 * whatever the time; no WebSocket login. */
TEST(speed_max)
{
    okt_model *m = mk(AGENTS(",\"speed\":\"max\""));
    int s = okt_model_open(m, NULL);
    char cs[33];
    okt_password_hash("123", 0, cs, NULL);
    feedf(m, s, "[\"login\",{\"userlogin\":\"A\",\"Password\":\"%s\","
                "\"qid\":\"l\"}]", cs);
    json_t *o = got(s, "loginresult");
    CHECK(o && iv(o, OKT_F_RESULT) == 0);
    CHECK_STR(sv(o, OKT_F_ERRORMSG), OKT_SE_NOT_STARTED);
    json_decref(o);
    tick(m, 7);
    CHECK(call_in(m, "{\"from\":\"1\",\"to\":\"queue\",\"talk\":600}")[0]);
    CHECK(okt_model_deadline(m) == 7);
    tick(m, 7);   /* 600 emulated seconds in one real millisecond */
    tick(m, 7);
    json_t *st = NULL;
    ctl(m, "stats", NULL, &st);
    CHECK(iv(st, "answered") == 1 && iv(st, "talking") == 0);
    json_decref(st);
    done(m);
}

TEST(traffic_arguments)
{
    okt_model *m = mk(AGENTS(""));
    const char *bad[] = {"{}", "{\"rate\":0}", "{\"rate\":-1}",
                         "{\"rate\":1,\"talk\":\"long\"}",
                         "{\"rate\":1,\"patience\":[5,1]}",
                         "{\"rate\":1,\"to\":5}", "{\"rate\":1,\"seed\":1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(ctl(m, "traffic", bad[i], NULL) == -1 && cerr.code == OKT_EINVAL);
    for (int i = 0; i < 8; i++)
        CHECK(ctl(m, "traffic", "{\"rate\":1}", NULL) == 0);
    CHECK(ctl(m, "traffic", "{\"rate\":1}", NULL) == -1 &&
          cerr.code == OKT_ENOTSETTABLE);
    CHECK(ctl(m, "traffic_stats", "{\"id\":9}", NULL) == -1 &&
          cerr.code == OKT_EINVAL);
    CHECK(ctl(m, "traffic_stop", "{\"id\":3}", NULL) == 0);
    /* the numbers follow the pattern */
    json_t *id = NULL;
    okt_model *m2 = mk("{\"users\":[{\"login\":\"A\"}],\"speed\":\"max\"}");
    tick(m2, 0);
    CHECK(ctl(m2, "traffic", "{\"rate\":1,\"numbers\":\"8800##\","
                             "\"patience\":false,\"duration\":5}", &id) == 0);
    json_decref(id);
    run_out(m2);
    json_t *calls = NULL;
    ctl(m2, "calls", NULL, &calls);
    CHECK(json_array_size(calls) > 0);
    for (size_t i = 0; i < json_array_size(calls); i++) {
        const char *f = sv(json_array_get(calls, i), "from");
        CHECK(strlen(f) == 6 && !strncmp(f, "8800", 4));
    }
    json_decref(calls);
    okt_model_free(m2);
    done(m);
}

int main(void)
{
    RUN(same_seed_same_stats);
    RUN(no_abandon_without_patience);
    RUN(traffic_stop);
    RUN(virtual_agent);
    RUN(speed_factor_and_deadline);
    RUN(speed_max);
    RUN(traffic_arguments);
    return TEST_SUMMARY();
}
