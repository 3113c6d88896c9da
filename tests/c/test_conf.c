/* test_conf.c - conferences (EMULATOR-calls §6, §3 row 15): created with
 * the creator's phone first, built from a talk, invitations that succeed
 * or fail, competitors' states and the events to the sessions that handle
 * them, kick, exit, the end below two, the held party joined. */
#include "calls_test.h"

#define CFG                                                                  \
    "{\"users\":["                                                           \
    "{\"login\":\"A\",\"password\":\"1\",\"number\":\"101\"},"               \
    "{\"login\":\"B\",\"password\":\"2\",\"number\":\"102\"},"               \
    "{\"login\":\"C\",\"password\":\"3\",\"number\":\"103\","                \
    "\"intercom\":false}],\"licenses\":3}"

#define X "74951234567"
#define Y "74957654321"

static void handle(okt_model *m, int s, const char *id)
{
    char p[128];
    snprintf(p, sizeof p,
             "{\"conferenceid\":\"%s\",\"eventtype\":\"competitors\","
             "\"handle\":true}", id);
    req(m, s, OKT_W_CONFHANDLEEVENT, p);
}

/* The competitors' states in getconferenceinfo, "number:state,...". */
static const char *states(okt_model *m, int s, const char *id)
{
    static char buf[512];
    char p[96];
    snprintf(p, sizeof p, "{\"conferenceid\":\"%s\"}", id);
    json_t *o = ask(m, s, OKT_W_GETCONFERENCEINFO, p);
    buf[0] = '\0';
    const json_t *cs = json_object_get(o, OKT_F_COMPETITORS);
    for (size_t i = 0; i < json_array_size(cs); i++) {
        const json_t *c = json_array_get(cs, i);
        char one[96];
        snprintf(one, sizeof one, "%s%s:%s", i ? "," : "",
                 sv(c, OKT_F_NUMBER), sv(c, OKT_F_CONFSTATESTR));
        strncat(buf, one, sizeof buf - strlen(buf) - 1);
    }
    json_decref(o);
    return buf;
}

TEST(create_invite_kick_exit_end)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    req(m, a, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"c1\",\"room\":42,\"name\":\"\","
        "\"everyonecaninvite\":true},\"competitors\":[{\"userlogin\":\"A\"},"
        "{\"number\":\"102\"},{\"number\":\"" X "\"}]}");
    json_t *o = got(a, OKT_W_CREATENEWCONFERENCE "result");
    CHECK(o && iv(o, OKT_F_RESULT) == 1);
    json_decref(o);
    /* intercom: the creator is in at once (row 15) */
    CHECK_SEQ(a, "createnewconferenceresult,userstatechanged,"
                 "linestatechanged,commstarted,pbxnumberstatechanged");
    o = got(a, OKT_E_PHONEEVENT_COMMSTARTED);
    CHECK(iv(o, OKT_F_ISCONFERENCE) == 1);
    CHECK_STR(sv(o, OKT_F_CONFID), "c1");
    json_decref(o);
    CHECK_SEQ(b, "userstatechanged,linestatechanged,ringstarted,"
                 "pbxnumberstatechanged");
    json_t *li = lineinfo(m, a);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsCommutated");
    CHECK(bv(abonent(li), OKT_F_ISCONFERENCE));
    CHECK_STR(sv(abonent(li), OKT_F_CONFERENCEID), "c1");
    json_decref(li);
    li = lineinfo(m, b);
    CHECK_STR(sv(abonent(li), OKT_F_CONFERENCEID), "c1");
    CHECK(bv(abonent(li), OKT_F_ISRINGING));
    json_decref(li);
    CHECK_STR(states(m, a, "c1"), "101:Active,102:Invite," X ":Invite");
    o = ask(m, a, OKT_W_GETCONFERENCEINFO, "{\"conferenceid\":\"c1\"}");
    const json_t *cf = json_object_get(o, OKT_F_CONFERENCE);
    CHECK_STR(sv(cf, OKT_F_ID), "c1");
    CHECK(iv(cf, OKT_F_ROOM) == 42 && json_is_false(json_object_get(cf, OKT_F_ISGHOST)));
    const json_t *me = json_array_get(json_object_get(o, OKT_F_COMPETITORS), 0);
    CHECK(bv(me, OKT_F_ISCREATOR) && bv(me, OKT_F_ISDIRECTOR) &&
          !bv(me, OKT_F_ISEXTLINE));
    CHECK_STR(sv(me, OKT_F_USERLOGIN), "A");
    CHECK(sv(me, OKT_F_COMPETITORID)[0]);
    json_decref(o);

    handle(m, a, "c1");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    CHECK_SEQ(b, "pbxanswercallresult,userstatechanged,linestatechanged,"
                 "ringstopped,commstarted,pbxnumberstatechanged");
    CHECK_SEQ(a, "confcompetitorstatechanged,pbxnumberstatechanged");
    o = got(a, OKT_E_CONFCOMPETITORSTATECHANGED);
    const json_t *ei = json_object_get(o, OKT_F_EVENTINFO);
    CHECK_STR(sv(json_object_get(ei, OKT_F_CONFERENCE), OKT_F_ID), "c1");
    CHECK_STR(sv(json_object_get(ei, OKT_F_COMPETITOR), OKT_F_CONFSTATESTR),
              "Active");
    json_decref(o);
    CHECK(ctl(m, "answer_as_abonent", "{\"id\":\"" X "\"}", NULL) == 0);
    CHECK_STR(states(m, a, "c1"), "101:Active,102:Active," X ":Active");

    /* kick the number (A is the creator) */
    o = ask(m, a, OKT_W_GETCONFERENCECOMPETITORS, "{\"conferenceid\":\"c1\"}");
    const json_t *cl = json_object_get(o, OKT_F_COMPETITORLIST);
    CHECK(json_array_size(cl) == 3);
    char p[256];
    snprintf(p, sizeof p,
             "{\"conferenceid\":\"c1\",\"competitor\":{\"competitorid\":\"%s\"}}",
             sv(json_array_get(cl, 2), OKT_F_COMPETITORID));
    CHECK_STR(sv(json_array_get(cl, 2), OKT_F_NUMBER), X);
    json_decref(o);
    req(m, a, OKT_W_CONFDISCONNECTCOMPETITOR, p);
    CHECK_SEQ(a, "confdisconnectcompetitorresult,confcompetitorstatechanged,"
                 "confcompositionchanged");
    o = got(a, OKT_E_CONFCOMPOSITIONCHANGED);
    ei = json_object_get(o, OKT_F_EVENTINFO);
    CHECK_STR(sv(ei, OKT_F_CONFERENCEID), "c1");
    CHECK(json_array_size(json_object_get(ei, OKT_F_COMPETITORLIST)) == 3);
    json_decref(o);
    CHECK_STR(states(m, a, "c1"), "101:Active,102:Active," X ":Exited");

    /* B leaves: A alone, the conference ends */
    req(m, b, OKT_W_EXITCONFERENCE, "{\"conferenceid\":\"c1\"}");
    CHECK_SEQ(b, "exitconferenceresult,userstatechanged,linestatechanged,"
                 "commstopped,pbxnumberstatechanged");
    CHECK_SEQ(a, "userstatechanged,linestatechanged,commstopped,"
                 "confcompetitorstatechanged,confcompositionchanged,"
                 "pbxnumberstatechanged");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    CHECK(refused_with(m, a, OKT_W_GETCONFERENCEINFO,
                       "{\"conferenceid\":\"c1\"}", 2501));
    done(m);
}

/* Without intercom the creator's phone rings first (acm_callback); the
 * others are invited once the creator is in. */
TEST(creator_rings_first)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int c = login_as(m, "C", "3"), b = login_as(m, "B", "2");
    req(m, c, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"c2\"},\"competitors\":[{\"number\":\"102\"}]}");
    CHECK_SEQ(c, "createnewconferenceresult,userstatechanged,"
                 "linestatechanged,acmcallstarted,ringstarted,"
                 "pbxnumberstatechanged");
    CHECK_SEQ(b, "pbxnumberstatechanged");
    json_t *li = lineinfo(m, c);
    CHECK_STR(sv(li, OKT_F_LINESTATESTR), "lsIncomingCall");
    CHECK_STR(sv(abonent(li), OKT_F_DIRECTION), OKT_V_ACM_CALLBACK);
    CHECK_STR(sv(abonent(li), OKT_F_CONFERENCEID), "c2");
    json_decref(li);
    CHECK(ctl(m, "phone", "{\"user\":\"C\",\"action\":\"pickup\"}", NULL) == 0);
    CHECK_SEQ(c, "userstatechanged,linestatechanged,ringstopped,"
                 "acmcallstopped,commstarted,pbxnumberstatechanged");
    CHECK_SEQ(b, "userstatechanged,linestatechanged,ringstarted,"
                 "pbxnumberstatechanged");
    /* B declines: MisInviteRefuse; the creator alone: the end */
    req(m, b, OKT_W_PBXDECLINECALL, NULL);
    CHECK_STR(snap(m, "C", "phone"), "idle");
    CHECK_STR(snap(m, "B", "phone"), "idle");
    done(m);
}

/* Invitations that fail: busy, no answer, refused; the conference ends
 * when nobody is left to come. */
TEST(invitations_that_fail)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    CHECK(ctl(m, "abonent", "{\"number\":\"" Y "\",\"busy\":true}", NULL) == 0);
    req(m, a, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"c3\"},\"competitors\":[{\"number\":\"" X
        "\"},{\"number\":\"" Y "\"},{\"number\":\"102\"}]}");
    handle(m, a, "c3");
    tick(m, 0);
    CHECK_STR(states(m, a, "c3"),
              "101:Active," X ":Invite," Y ":MisInviteBusy,102:Invite");
    req(m, b, OKT_W_PBXDECLINECALL, NULL);
    CHECK_STR(states(m, a, "c3"),
              "101:Active," X ":Invite," Y ":MisInviteBusy,102:MisInviteRefuse");
    tick(m, 15000);
    /* the number did not answer: nobody is coming, the conference ends */
    CHECK(strstr(seq(a), "commstopped") != NULL);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    json_t *calls = NULL;
    ctl(m, "calls", NULL, &calls);
    CHECK(json_array_size(calls) == 0);
    json_decref(calls);
    done(m);
}

/* Built from a talk (row 15): commstarted with the conference, no
 * commstopped; the held party joins with connecttogathertoconference; the
 * end below two. */
TEST(build_from_talk_and_join_held)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1");
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    req(m, a, OKT_W_PBXAUTOCALLSTART,
        "{\"number\":\"" Y "\",\"intercom\":true}");
    ctl(m, "answer_as_abonent", "{\"id\":\"" Y "\"}", NULL);
    /* talk with Y, X held */
    json_t *o = ask(m, a, OKT_W_CHECKCANCONNECTTOGATHERTOCONFERENCE, NULL);
    CHECK(iv(o, OKT_F_RESULT) == 0);   /* not in a conference: 2501 */
    json_decref(o);
    req(m, a, OKT_W_BUILDCONFERENCEFROMCOMMUTATION, NULL);
    CHECK_SEQ(a, "buildconferencefromcommutationresult,commstarted");
    o = got(a, OKT_E_PHONEEVENT_COMMSTARTED);
    char id[64];
    snprintf(id, sizeof id, "%s", sv(o, OKT_F_CONFID));
    CHECK(iv(o, OKT_F_ISCONFERENCE) == 1 && id[0]);
    json_decref(o);
    CHECK_STR(snap(m, "A", "conference"), id);
    CHECK_STR(states(m, a, id), "101:Active," Y ":Active");
    json_t *li = lineinfo(m, a);
    CHECK(bv(abonent(li), OKT_F_ISCONFERENCE) && bv(li, OKT_F_ISFLASHING));
    json_decref(li);
    o = ask(m, a, OKT_W_CHECKCANCONNECTTOGATHERTOCONFERENCE, NULL);
    CHECK(iv(o, OKT_F_CANCONNECTTOGATHER) == 1);
    json_decref(o);
    handle(m, a, id);
    req(m, a, OKT_W_CONNECTTOGATHERTOCONFERENCE, NULL);
    CHECK_SEQ(a, "connecttogathertoconferenceresult,flashstatechanged,"
                 "confcompositionchanged");
    o = got(a, OKT_E_FLASHSTATECHANGED);
    CHECK(iv(o, OKT_F_FLASHTYPEID) == 6);
    json_decref(o);
    CHECK_STR(states(m, a, id), "101:Active," Y ":Active," X ":Active");
    /* the numbers hang up: below two, it ends */
    CHECK(ctl(m, "hangup_abonent", "{\"id\":\"" Y "\"}", NULL) == 0);
    CHECK_STR(snap(m, "A", "phone"), "conference");
    CHECK(ctl(m, "hangup_abonent", "{\"id\":\"" X "\"}", NULL) == 0);
    CHECK_STR(snap(m, "A", "phone"), "idle");
    done(m);
}

/* Conference events go only to sessions that asked; off again, and a
 * closed session is forgotten. */
TEST(event_handling_per_session)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    int a2 = login_as(m, "A", "1");
    req(m, a, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"c4\"},\"competitors\":[{\"number\":\"102\"},"
        "{\"number\":\"" X "\"}]}");
    handle(m, a2, "c4");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    json_t *ev = got(a2, OKT_E_CONFCOMPETITORSTATECHANGED);
    CHECK(ev != NULL);
    json_decref(ev);
    json_t *none = got(a, OKT_E_CONFCOMPETITORSTATECHANGED);
    CHECK(none == NULL);
    json_decref(none);
    req(m, a2, OKT_W_CONFHANDLEEVENT,
        "{\"conferenceid\":\"c4\",\"eventtype\":\"competitors\","
        "\"handle\":false}");
    ctl(m, "answer_as_abonent", "{\"id\":\"" X "\"}", NULL);
    none = got(a2, OKT_E_CONFCOMPETITORSTATECHANGED);
    CHECK(none == NULL);
    json_decref(none);
    handle(m, a2, "c4");
    okt_out_clear(&out);
    okt_model_close(m, a2, &out);
    int other = okt_model_open(m, NULL);   /* the handle is reused */
    CHECK(other == a2);
    req(m, b, OKT_W_EXITCONFERENCE, NULL);
    CHECK_SEQ(other, "");
    /* a conference already gone: confhandleevent is accepted */
    json_t *o = ask(m, a, OKT_W_CONFHANDLEEVENT,
                    "{\"conferenceid\":\"gone\",\"handle\":false}");
    CHECK(iv(o, OKT_F_RESULT) == 1);
    json_decref(o);
    done(m);
}

int main(void)
{
    RUN(create_invite_kick_exit_end);
    RUN(creator_rings_first);
    RUN(invitations_that_fail);
    RUN(build_from_talk_and_join_held);
    RUN(event_handling_per_session);
    return TEST_SUMMARY();
}
