/* bench/calls.c - the emulator's call model under load: calls per second
 * of wall time at speed "max" (no clock: emulated time jumps from timer to
 * timer), Poisson traffic to the call-center queue, served by virtual
 * agents (each call: queued, rung, answered after `answer` s, talked,
 * hung up by the caller, wrap-up; or abandoned).
 *
 * 1. The model alone (sans-IO, as tests drive it): calls finished per
 *    second. Baseline, same run and process: the model's plain
 *    getuserstate round trips per second (okt_model_feed of one request
 *    and its reply), the cheapest thing it does.
 * 2. The running emulator (okt_emu: its own thread and epoll loop, ticked
 *    by the server): the same traffic started and watched through control
 *    calls; calls per second until the traffic is done.
 *
 * Usage: build/bench/calls [hours]   (emulated hours of traffic, default 100) */
#include "emu.h"
#include "model.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AGENTS 20
#define RATE 0.1      /* calls per emulated second: 360 an hour */

static char *config(void)
{
    static char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf,
                                "{\"speed\":\"max\",\"licenses\":%d,\"users\":[",
                                AGENTS + 1);
    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "{\"login\":\"Peter\",\"password\":\"123\"}");
    for (int i = 0; i < AGENTS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              ",{\"login\":\"agent%d\",\"agent\":"
                              "{\"answer\":2,\"wrapup\":5}}", i);
    snprintf(buf + n, sizeof buf - n, "]}");
    return buf;
}

static json_t *traffic_args(double hours)
{
    return json_pack("{s:f, s:i, s:i, s:s, s:f, s:i, s:i}", "rate", RATE,
                     "talk", 150, "patience", 90, "to", "queue", "duration",
                     hours * 3600.0, "seed", 1, "sl", 20);
}

static double now_s(void)
{
    return (double)okt_now_ms() / 1000.0;
}

static void print_stats(const char *what, const json_t *st, double secs)
{
    long long ans = json_integer_value(json_object_get(st, "answered"));
    long long ab = json_integer_value(json_object_get(st, "abandoned"));
    printf("  %-22s offered %lld, answered %lld, abandoned %lld, mean wait "
           "%.1f s, max wait %.1f s, service level %.1f %% (20 s)\n",
           what, (long long)json_integer_value(json_object_get(st, "offered")),
           ans, ab, json_real_value(json_object_get(st, "mean_wait")),
           json_real_value(json_object_get(st, "max_wait")),
           100.0 * json_real_value(json_object_get(st, "service_level")));
    printf("  %-22s %lld calls in %.3f s wall: %.0f calls/s\n", "",
           ans + ab, secs, (double)(ans + ab) / secs);
}

/* The model alone: getuserstate round trips per second. */
static double baseline(void)
{
    okt_model *m = okt_model_new(NULL, NULL);
    okt_out out;
    okt_out_init(&out);
    int s = okt_model_open(m, NULL);
    char hash[33], login[256];
    okt_password_hash("123", 0, hash, NULL);
    snprintf(login, sizeof login,
             "[\"login\",{\"userlogin\":\"Peter\",\"Password\":\"%s\","
             "\"qid\":\"l\"}]", hash);
    okt_model_feed(m, s, login, strlen(login), &out);
    static const char req[] =
        "[\"getuserstate\",{\"userlogin\":\"Peter\",\"qid\":\"0.12345\"}]";
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            okt_out_clear(&out);
            okt_model_feed(m, s, req, sizeof req - 1, &out);
        }
        n += 1000;
        t = now_s();
    } while (t - t0 < 1.0);
    okt_out_free(&out);
    okt_model_free(m);
    return (double)n / (t - t0);
}

static double model_run(double hours)
{
    json_t *cfg = json_loads(config(), 0, NULL);
    okt_err e;
    okt_model *m = okt_model_new(cfg, &e);
    json_decref(cfg);
    if (!m) {
        fprintf(stderr, "calls bench: %s\n", e.msg);
        exit(1);
    }
    okt_out out;
    okt_out_init(&out);
    json_t *args = traffic_args(hours), *res = NULL;
    okt_model_tick(m, 0, &out);
    if (okt_model_control(m, "traffic", args, &res, &out, &e)) {
        fprintf(stderr, "calls bench: %s\n", e.msg);
        exit(1);
    }
    json_decref(args);
    json_decref(res);
    double t0 = now_s();
    int64_t tick = 0;
    while (okt_model_deadline(m) >= 0) {
        okt_out_clear(&out);
        okt_model_tick(m, ++tick, &out);
    }
    double secs = now_s() - t0;
    json_t *st = NULL;
    okt_model_control(m, "stats", NULL, &st, &out, &e);
    print_stats("model alone:", st, secs);
    long long done = json_integer_value(json_object_get(st, "answered")) +
                     json_integer_value(json_object_get(st, "abandoned"));
    json_decref(st);
    okt_out_free(&out);
    okt_model_free(m);
    return (double)done / secs;
}

static double emu_run(double hours)
{
    json_t *cfg = json_loads(config(), 0, NULL);
    okt_err e;
    okt_emu *emu = okt_emu_new(cfg, &e);
    json_decref(cfg);
    if (!emu || okt_emu_start(emu, &e)) {
        fprintf(stderr, "calls bench: %s\n", e.msg);
        exit(1);
    }
    json_t *args = traffic_args(hours), *res = NULL;
    double t0 = now_s();
    if (okt_emu_control(emu, "traffic", args, &res, &e)) {
        fprintf(stderr, "calls bench: %s\n", e.msg);
        exit(1);
    }
    json_decref(args);
    json_decref(res);
    json_t *id = json_pack("{s:i}", "id", 1), *st = NULL;
    for (;;) {
        okt_emu_control(emu, "traffic_stats", id, &st, &e);
        if (json_is_false(json_object_get(st, "running")) &&
            !json_integer_value(json_object_get(st, "waiting")) &&
            !json_integer_value(json_object_get(st, "talking")))
            break;
        json_decref(st);
        st = NULL;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    double secs = now_s() - t0;
    print_stats("running emulator:", st, secs);
    long long done = json_integer_value(json_object_get(st, "answered")) +
                     json_integer_value(json_object_get(st, "abandoned"));
    json_decref(st);
    json_decref(id);
    okt_emu_free(emu);
    return (double)done / secs;
}

int main(int argc, char **argv)
{
    double hours = argc > 1 ? atof(argv[1]) : 100;
    printf("calls: %d virtual agents (answer 2 s, wrap-up 5 s), Poisson "
           "%.0f calls/h to the queue, talk 150 s, patience 90 s "
           "(exponential), %.0f emulated hours, speed \"max\"\n",
           AGENTS, RATE * 3600, hours);
    double base = baseline();
    double model = model_run(hours);
    double emu = emu_run(hours);
    printf("  baseline: model getuserstate round trips %10.0f /s\n", base);
    printf("  calls/s, model alone    %10.0f   ratio to baseline %.4f\n",
           model, model / base);
    printf("  calls/s, running emu    %10.0f   ratio to baseline %.4f\n", emu,
           emu / base);
    return 0;
}
