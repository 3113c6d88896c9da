/* test_lines.c - the lines (EMULATOR-calls §2-3, docs/EMULATOR.md
 * "Calls"): every transition of §3 with its events in the order of §3.1,
 * and getextendedlineinfo as §2's table shows each stage, on the bare
 * model with fixed times. */
#include "calls_test.h"

#define CFG                                                                  \
    "{\"users\":["                                                           \
    "{\"login\":\"A\",\"password\":\"1\",\"number\":\"101\"},"               \
    "{\"login\":\"B\",\"password\":\"2\",\"number\":\"102\"},"               \
    "{\"login\":\"C\",\"password\":\"3\",\"number\":\"103\","                \
    "\"intercom\":false}],"                                                  \
    "\"numbers\":[{\"number\":\"500\",\"kind\":\"queue\"},"                  \
    "{\"number\":\"333\",\"kind\":\"ivr\",\"name\":\"Menu\","                \
    "\"duration\":10}],"                                                     \
    "\"licenses\":3}"

#define X "74951234567"
#define Y "74957654321"
#define ZERO "00000000-0000-0000-0000-000000000000"

/* A talks with X (a direct call, answered). */
static void talk_with_x(okt_model *m, int a)
{
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
}

TEST(idle_line_shows_ready)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1");
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsReady");
    CHECK(json_is_object(abonent(li)) && json_object_size(abonent(li)) == 0);
    CHECK_STR(sv(li, OKT_F_CHAINID), ZERO);
    CHECK(iv(li, OKT_F_ISFLASHING) == 0 && iv(li, OKT_F_TIMERTALKLENSEC) == 0);
    json_decref(li);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

/* rows 1, 2, 9: a call rings (usReserved), is answered (usFullbusy), the
 * caller hangs up (the state from before returns). */
TEST(ring_answer_hangup)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    const char *chain = call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    char id[64];
    snprintf(id, sizeof id, "%s", chain);
    CHECK(id[0]);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,ringstarted,"
                 "pbxnumberstatechanged");
    CHECK_SEQ(b, "pbxnumberstatechanged");
    json_t *o = got(a, OKT_E_PBXNUMBERSTATECHANGED);
    const json_t *n0 = json_array_get(json_object_get(o, OKT_F_NUMBERS), 0);
    CHECK_STR(sv(n0, OKT_F_NUM), "101");
    CHECK(iv(n0, OKT_F_NUMSTATEID) == OKT_US_RESERVED);
    CHECK(!json_object_get(o, OKT_F_USERLOGIN));
    json_decref(o);
    o = got(a, OKT_E_PHONEEVENT_RINGSTARTED);
    CHECK_STR(sv(o, OKT_F_USERLOGIN), "A");
    CHECK(sv(o, OKT_F_USERID)[0] && sv(o, OKT_F_QID)[0]);
    json_decref(o);
    CHECK(ustate(m, a) == OKT_US_RESERVED);
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsIncomingCall");
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), X);
    CHECK(bv(abonent(li), OKT_F_ISRINGING) && bv(abonent(li), OKT_F_ISEXTLINE));
    CHECK(!json_object_get(abonent(li), OKT_F_DIRECTION));
    CHECK_STR(sv(li, OKT_F_CHAINID), id);
    json_decref(li);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    CHECK_STR(snap(m, "A", "chainid"), id);

    tick(m, 2000);
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    CHECK_SEQ(a, "pbxanswercallresult,userstatechanged,linestatechanged,"
                 "ringstopped,commstarted,pbxnumberstatechanged");
    o = got(a, OKT_E_PHONEEVENT_COMMSTARTED);
    CHECK(o && iv(o, OKT_F_ISCONFERENCE) == 0);
    json_decref(o);
    CHECK(ustate(m, a) == OKT_US_FULLBUSY);
    tick(m, 7000);
    li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsCommutated");
    CHECK(bv(abonent(li), OKT_F_ISCOMMUTATED));
    CHECK(!json_object_get(abonent(li), OKT_F_ISRINGING));
    CHECK(iv(li, OKT_F_TIMERTALKLENSEC) == 5);
    json_decref(li);
    /* ontask only for queue and task calls */
    o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_ONTASK) == 0);
    json_decref(o);

    char args[128];
    snprintf(args, sizeof args, "{\"id\":\"%s\"}", id);
    CHECK(ctl(m, "hangup_abonent", args, NULL) == 0);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,commstopped,"
                 "pbxnumberstatechanged");
    CHECK(ustate(m, a) == OKT_US_READY);
    CHECK(ctl(m, "hangup_abonent", args, NULL) == -1 &&
          cerr.code == OKT_ENOTSETTABLE);
    done(m);
}

/* row 3: decline, the caller hangs up, ring_timeout */
TEST(ring_ends_three_ways)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK_SEQ(a, "pbxdeclinecallresult,userstatechanged,linestatechanged,"
                 "ringstopped,pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "idle");

    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    CHECK(ctl(m, "hangup_abonent", "{\"id\":\"" X "\"}", NULL) == 0);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,ringstopped,"
                 "pbxnumberstatechanged");

    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    tick(m, 14999);
    CHECK_SEQ(a, "");
    CHECK(okt_model_deadline(m) == 15000);
    tick(m, 15000);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,ringstopped,"
                 "pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    CHECK(okt_model_deadline(m) == -1);
    done(m);
}

/* rows 4-6, sequence "user" without intercom: the operator's phone rings
 * (backring), then the target is dialled, then it answers. */
TEST(click_to_call_user_sequence)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int c = login_as(m, "C", "3");   /* intercom false: the phone rings */
    req(m, c, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"" Y "\"}");
    CHECK_SEQ(c, "pbxautocallstartresult,userstatechanged,linestatechanged,"
                 "acmcallstarted,ringstarted,pbxnumberstatechanged");
    json_t *li = lineinfo(m, c);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsIncomingCall");
    CHECK(bv(abonent(li), OKT_F_ISRINGING));
    CHECK_STR(sv(abonent(li), OKT_F_DIRECTION), OKT_V_ACM_CALLBACK);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), Y);
    CHECK(!json_object_get(abonent(li), OKT_F_ISAUTOCALL));
    json_decref(li);
    CHECK(ustate(m, c) == OKT_US_RESERVED);
    /* pbxanswercall needs intercom: accepted, nothing happens */
    req(m, c, OKT_W_PBXANSWERCALL, NULL);
    CHECK_SEQ(c, "pbxanswercallresult");
    CHECK(ctl(m, "phone", "{\"user\":\"C\",\"action\":\"pickup\"}", NULL) == 0);
    CHECK_SEQ(c, "userstatechanged,linestatechanged,ringstopped,"
                 "pbxnumberstatechanged");
    li = lineinfo(m, c);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsWait");
    CHECK(bv(abonent(li), OKT_F_ISAUTOCALL) && !bv(abonent(li), OKT_F_ISRINGING));
    json_decref(li);
    CHECK(ustate(m, c) == OKT_US_FULLBUSY);
    CHECK(ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL) == 0);
    CHECK_SEQ(c, "linestatechanged,acmcallstopped,commstarted");
    li = lineinfo(m, c);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsCommutated");
    CHECK(bv(abonent(li), OKT_F_ISCOMMUTATED) && !bv(abonent(li), OKT_F_ISAUTOCALL));
    json_decref(li);
    done(m);
}

/* row 4 with intercom: the phone picks up by itself: acm_dial at once */
TEST(click_to_call_intercom)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"intercom\":true}");
    CHECK_SEQ(a, "pbxautocallstartresult,userstatechanged,linestatechanged,"
                 "acmcallstarted,pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "acm_dial");
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsWait");
    CHECK(bv(abonent(li), OKT_F_ISAUTOCALL));
    json_decref(li);
    /* row 7: the target does not answer within ring_timeout */
    tick(m, 15000);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,acmcallstopped,"
                 "pbxnumberstatechanged");
    done(m);
}

/* sequence "abonent": the target first (lsWaitDown), then the operator's
 * phone rings, then talk (rows 4, 5, 6) */
TEST(click_to_call_abonent_sequence)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"sequence\":\"abonent\"}");
    CHECK_SEQ(a, "pbxautocallstartresult,userstatechanged,linestatechanged,"
                 "acmcallstarted,pbxnumberstatechanged");
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsWaitDown");
    CHECK(bv(abonent(li), OKT_F_ISAUTOCALL));
    json_decref(li);
    CHECK(ustate(m, a) == OKT_US_RESERVED);
    CHECK(ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL) == 0);
    CHECK_SEQ(a, "linestatechanged,ringstarted");
    CHECK_STR(snap(m, "A", "phone"), "acm_ring");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    CHECK_SEQ(a, "pbxanswercallresult,userstatechanged,linestatechanged,"
                 "ringstopped,acmcallstopped,commstarted,"
                 "pbxnumberstatechanged");
    done(m);
}

/* row 7: busy target, pbxautocallabort, pbxabortcall, pbxdeclinecall */
TEST(click_to_call_ends)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    CHECK(ctl(m, "abonent", "{\"number\":\"" Y "\",\"busy\":true}", NULL) == 0);
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"intercom\":true}");
    CHECK_STR(snap(m, "A", "phone"), "acm_dial");
    tick(m, 0);   /* busy shows at the next reaction: no stage skipped */
    CHECK_SEQ(a, "userstatechanged,linestatechanged,acmcallstopped,"
                 "pbxnumberstatechanged");
    const char *ends[] = {OKT_W_PBXAUTOCALLABORT, OKT_W_PBXABORTCALL};
    for (int i = 0; i < 2; i++) {
        req(m, a, OKT_W_PBXAUTOCALLSTART,
            "{\"number\":\"74950000000\",\"intercom\":true}");
        req(m, a, ends[i], NULL);
        CHECK(strstr(seq(a), "acmcallstopped") != NULL);
        CHECK_STR(snap(m, "A", "phone"), "idle");
    }
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"74950000000\",\"intercom\":false}");
    CHECK_STR(snap(m, "A", "phone"), "acm_ring");
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK_SEQ(a, "pbxdeclinecallresult,userstatechanged,linestatechanged,"
                 "ringstopped,acmcallstopped,pbxnumberstatechanged");
    /* an abonent that answers by itself after 3 s */
    CHECK(ctl(m, "abonent", "{\"number\":\"74951111111\",\"answer\":3}",
              NULL) == 0);
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"74951111111\",\"intercom\":true}");
    tick(m, 2999);
    CHECK_STR(snap(m, "A", "phone"), "acm_dial");
    tick(m, 3000);
    CHECK_STR(snap(m, "A", "phone"), "talk");
    done(m);
}

/* row 8: dial on the handset; an internal call rings the other user */
TEST(handset_dial_internal)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    CHECK(ctl(m, "phone", "{\"user\":\"A\",\"action\":\"dial\","
                          "\"number\":\"102\"}", NULL) == 0);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,pbxnumberstatechanged");
    CHECK_SEQ(b, "userstatechanged,linestatechanged,ringstarted,"
                 "pbxnumberstatechanged");
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsWait");
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), "102");
    CHECK(!bv(abonent(li), OKT_F_ISAUTOCALL) && !bv(abonent(li), OKT_F_ISEXTLINE));
    CHECK_STR(sv(abonent(li), OKT_F_USERLOGIN), "B");
    json_decref(li);
    li = lineinfo(m, b);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), "101");
    CHECK_STR(sv(abonent(li), OKT_F_USERNAME), "A");
    CHECK(sv(abonent(li), OKT_F_USERID)[0]);
    json_decref(li);
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    /* pbxnumberstatechanged goes to every user (B's number changed) */
    CHECK_SEQ(a, "linestatechanged,commstarted,pbxnumberstatechanged");
    CHECK_SEQ(b, "pbxanswercallresult,userstatechanged,linestatechanged,"
                 "ringstopped,commstarted,pbxnumberstatechanged");
    /* either side hangs up: both idle */
    req(m, b, OKT_W_PBXABORTCALL, NULL);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,commstopped,"
                 "pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    CHECK_STR(snap(m, "B", "phone"), "idle");
    /* dialling a number that is not reachable */
    CHECK(ctl(m, "phone", "{\"user\":\"A\",\"action\":\"dial\","
                          "\"number\":\"101\"}", NULL) == -1 &&
          cerr.code == OKT_ENOTSETTABLE);
    done(m);
}

/* rows 10, 11, 12: hold, consultation call, swap, abort */
TEST(hold_consult_swap_abort)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    talk_with_x(m, a);
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK_SEQ(a, "pbxmakeflashresult,linestatechanged,flashstatechanged");
    json_t *o = got(a, OKT_E_FLASHSTATECHANGED);
    CHECK(iv(o, OKT_F_ISFLASHING) == 1 && iv(o, OKT_F_FLASHTYPEID) == 1);
    json_decref(o);
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsFlash");
    CHECK(bv(abonent(li), OKT_F_ISWAITINGINFLASH));
    CHECK(bv(li, OKT_F_ISFLASHING));
    CHECK_STR(sv(json_object_get(li, OKT_F_FLASHED), OKT_F_NUMBER), X);
    json_decref(li);
    CHECK_STR(snap(m, "A", "held"), X);
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK_SEQ(a, "pbxmakeflashresult,linestatechanged,flashstatechanged");
    o = got(a, OKT_E_FLASHSTATECHANGED);
    CHECK(iv(o, OKT_F_ISFLASHING) == 0 && iv(o, OKT_F_FLASHTYPEID) == 2);
    json_decref(o);
    /* row 11: a call during a talk holds the party and dials */
    req(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"" Y "\"}");
    CHECK_SEQ(a, "pbxautocallstartresult,linestatechanged,flashstatechanged,"
                 "acmcallstarted");
    CHECK_STR(snap(m, "A", "phone"), "acm_dial");
    CHECK(ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL) == 0);
    CHECK_SEQ(a, "linestatechanged,acmcallstopped,commstarted");
    li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsCommutated");
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), Y);
    CHECK(bv(abonent(li), OKT_F_ISCOMMUTATED) && bv(li, OKT_F_ISFLASHING));
    CHECK_STR(sv(json_object_get(li, OKT_F_FLASHED), OKT_F_NUMBER), X);
    json_decref(li);
    /* 2101: talking with a party on hold */
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART,
                       "{\"number\":\"74950000001\"}", 2101));
    /* swap the parties */
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK_SEQ(a, "pbxmakeflashresult,flashstatechanged");
    li = lineinfo(m, a);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), X);
    CHECK_STR(sv(json_object_get(li, OKT_F_FLASHED), OKT_F_NUMBER), Y);
    json_decref(li);
    /* row 12: abort drops the current party (X), back to Y */
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"abort\"}");
    CHECK_SEQ(a, "pbxmakeflashresult,flashstatechanged");
    li = lineinfo(m, a);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), Y);
    CHECK(!bv(li, OKT_F_ISFLASHING));
    json_decref(li);
    json_t *calls = NULL;
    CHECK(ctl(m, "calls", NULL, &calls) == 0 && json_array_size(calls) == 1);
    json_decref(calls);
    done(m);
}

/* row 13: pbxabortcall with a party held joins the two; in flash it ends
 * the held call; row 9: the current party hangs up, the held stays */
TEST(join_and_held_endings)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    talk_with_x(m, a);
    /* the consultation call goes to B (a user) */
    req(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"102\"}");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    CHECK_STR(snap(m, "A", "phone"), "talk");
    CHECK_STR(snap(m, "A", "held"), X);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    CHECK_SEQ(a, "pbxabortcallresult,userstatechanged,linestatechanged,"
                 "flashstatechanged,commstopped,pbxnumberstatechanged");
    json_t *o = got(a, OKT_E_FLASHSTATECHANGED);
    CHECK(iv(o, OKT_F_FLASHTYPEID) == 5);
    json_decref(o);
    /* B now talks with X: a new peer */
    CHECK_SEQ(b, "commstopped,commstarted,pbxnumberstatechanged");
    json_t *li = lineinfo(m, b);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), X);
    json_decref(li);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    req(m, b, OKT_W_PBXABORTCALL, NULL);

    /* row 9: talk + hold, the current party hangs up: flash */
    talk_with_x(m, a);
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"intercom\":true}");
    ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL);
    CHECK(ctl(m, "hangup_abonent", "{\"id\":\"" Y "\"}", NULL) == 0);
    CHECK_SEQ(a, "linestatechanged,commstopped");
    CHECK_STR(snap(m, "A", "phone"), "flash");
    /* in flash pbxabortcall ends the held call */
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    CHECK_SEQ(a, "pbxabortcallresult,userstatechanged,linestatechanged,"
                 "flashstatechanged,commstopped,pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

/* row 14: blind transfer; with a party held, back to it */
TEST(transfer)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    talk_with_x(m, a);
    req(m, a, OKT_W_PBXMAKETRANSFER, "{\"transferto\":\"102\"}");
    CHECK_SEQ(a, "pbxmaketransferresult,userstatechanged,linestatechanged,"
                 "commstopped,pbxnumberstatechanged");
    CHECK_SEQ(b, "userstatechanged,linestatechanged,ringstarted,"
                 "pbxnumberstatechanged");
    json_t *li = lineinfo(m, b);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), X);
    json_decref(li);
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    CHECK_STR(snap(m, "B", "phone"), "talk");
    req(m, b, OKT_W_PBXABORTCALL, NULL);

    /* with a party held: the current one goes, back to the held */
    talk_with_x(m, a);
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"intercom\":true}");
    ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL);
    req(m, a, OKT_W_PBXMAKETRANSFER, "{\"transferto\":\"102\"}");
    CHECK_SEQ(a, "pbxmaketransferresult,flashstatechanged,"
                 "pbxnumberstatechanged");
    li = lineinfo(m, a);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), X);
    json_decref(li);
    li = lineinfo(m, b);
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), Y);
    json_decref(li);
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    /* 2303 nothing to transfer, 2304 bad number */
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK(refused_with(m, a, OKT_W_PBXMAKETRANSFER,
                       "{\"transferto\":\"102\"}", 2303));
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK(refused_with(m, a, OKT_W_PBXMAKETRANSFER, "{\"transferto\":\"\"}",
                       2304));
    CHECK(refused_with(m, a, OKT_W_PBXMAKETRANSFER, NULL, 2304));
    /* to a number that does not answer: it ends there */
    req(m, a, OKT_W_PBXMAKETRANSFER, "{\"transferto\":\"74952222222\"}");
    tick(m, 15000);
    json_t *calls = NULL;
    ctl(m, "calls", NULL, &calls);
    CHECK(json_array_size(calls) == 1);   /* B with Y */
    json_decref(calls);
    done(m);
}

/* row 16: an IVR number; it ends after its duration */
TEST(ivr)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    CHECK(ctl(m, "phone", "{\"user\":\"A\",\"action\":\"dial\","
                          "\"number\":\"333\"}", NULL) == 0);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,ivrstarted,commstarted,"
                 "pbxnumberstatechanged");
    json_t *o = got(a, OKT_E_PHONEEVENT_IVRSTARTED);
    CHECK(json_is_false(json_object_get(o, OKT_F_ISROUTINGIVR)));
    json_decref(o);
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsCommutated");
    CHECK(bv(abonent(li), OKT_F_ISIVR));
    CHECK_STR(sv(abonent(li), OKT_F_IVRNAME), "Menu");
    CHECK_STR(sv(abonent(li), OKT_F_NUMBER), "333");
    CHECK(json_is_false(json_object_get(abonent(li), OKT_F_ISWAITINGFORANSWER)));
    json_decref(li);
    tick(m, 10000);
    CHECK_SEQ(a, "userstatechanged,linestatechanged,commstopped,ivrstopped,"
                 "pbxnumberstatechanged");
    done(m);
}

/* The user state under a call: a call begun on a break keeps onlunch
 * (usFullbusy shown); the state from before returns; setuserstate is
 * refused meanwhile; getflashedabonentinfo. */
TEST(user_state_under_a_call)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    req(m, a, OKT_W_SETUSERSTATE, "{\"oncallcenter\":true,\"userstateid\":2}");
    talk_with_x(m, a);
    json_t *o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_USERSTATEID) == OKT_US_FULLBUSY);
    CHECK(bv(o, OKT_F_ONLUNCH));
    json_decref(o);
    o = ask(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    CHECK(iv(o, OKT_F_RESULT) == 0);
    json_decref(o);
    o = ask(m, a, OKT_W_GETFLASHEDABONENTINFO, NULL);
    CHECK(iv(o, OKT_F_CONTAINSFLASHED) == 0);
    json_decref(o);
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    o = ask(m, a, OKT_W_GETFLASHEDABONENTINFO, NULL);
    CHECK(iv(o, OKT_F_CONTAINSFLASHED) == 1);
    CHECK_STR(sv(json_object_get(o, OKT_F_ABONENT), OKT_F_NUMBER), X);
    json_decref(o);
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    o = ask(m, a, OKT_W_GETUSERSTATE, NULL);
    CHECK(iv(o, OKT_F_USERSTATEID) == OKT_US_LUNCH);
    json_decref(o);
    done(m);
}

/* getpbxnumbers: users' numbers with their shown state, service numbers
 * as intIVR; the fields of a real server's items */
TEST(pbx_numbers)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1");
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    json_t *o = ask(m, a, OKT_W_GETPBXNUMBERS, "{\"mode\":\"full\"}");
    CHECK(!json_object_get(o, OKT_F_RESULT));
    CHECK_STR(sv(o, OKT_F_MODE), "full");
    const json_t *nums = json_object_get(o, OKT_F_NUMBERS);
    CHECK(json_array_size(nums) == 5);
    const json_t *n0 = json_array_get(nums, 0), *n3 = json_array_get(nums, 3);
    CHECK_STR(sv(n0, OKT_F_NUMBER), "101");
    CHECK(iv(n0, OKT_F_STATE) == OKT_US_RESERVED);
    CHECK_STR(sv(n0, OKT_F_STATESTR), "usReserved");
    CHECK_STR(sv(n0, OKT_F_TYPESTR), OKT_V_TYPESTR_RULE);
    CHECK(iv(n0, OKT_F_TYPE) == 0 && json_is_false(json_object_get(n0, OKT_F_ISGROUP)));
    CHECK(sv(n0, OKT_F_DEPARTMENTID)[0] && json_is_string(json_object_get(n0, OKT_F_DEPARTMENT)));
    CHECK_STR(sv(n3, OKT_F_NUMBER), "500");
    CHECK(iv(n3, OKT_F_TYPE) == 3);
    CHECK_STR(sv(n3, OKT_F_TYPESTR), OKT_V_TYPESTR_IVR);
    json_decref(o);
    done(m);
}

int main(void)
{
    RUN(idle_line_shows_ready);
    RUN(ring_answer_hangup);
    RUN(ring_ends_three_ways);
    RUN(click_to_call_user_sequence);
    RUN(click_to_call_intercom);
    RUN(click_to_call_abonent_sequence);
    RUN(click_to_call_ends);
    RUN(handset_dial_internal);
    RUN(hold_consult_swap_abort);
    RUN(join_and_held_endings);
    RUN(transfer);
    RUN(ivr);
    RUN(user_state_under_a_call);
    RUN(pbx_numbers);
    return TEST_SUMMARY();
}
