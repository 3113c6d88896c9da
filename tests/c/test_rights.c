/* test_rights.c - who may do what (EMULATOR-calls §5): every refusal with
 * oktell.js's number in its text and no error number (issue 9), a missing
 * right with error 52710; roles and own rights, subordinates, custom
 * events, stored procedures, break reasons; the new config keys checked. */
#include "calls_test.h"

#define CFG                                                                  \
    "{\"users\":["                                                           \
    "{\"login\":\"A\",\"password\":\"1\",\"number\":\"101\","                \
    "\"subordinates\":[\"B\"]},"                                             \
    "{\"login\":\"B\",\"password\":\"2\",\"number\":\"102\"},"               \
    "{\"login\":\"R\",\"password\":\"3\",\"number\":\"103\","                \
    "\"role\":\"Оператор\",\"rights\":{\"canusemessagingout\":true}},"      \
    "{\"login\":\"S\",\"password\":\"4\",\"number\":\"104\","                \
    "\"rights\":{\"canusemessagingout\":false}},"                            \
    "{\"login\":\"N\",\"password\":\"5\",\"line\":false}],"                  \
    "\"roles\":[{\"name\":\"Оператор\",\"rights\":{\"viewoffice\":true}}],"  \
    "\"licenses\":5,"                                                        \
    "\"break_reasons\":[{\"id\":7,\"name\":\"Кофе\"}],"                      \
    "\"procedures\":{\"Web_GetLines\":[[[\"id\",\"name\"],[1,\"l1\"]]]}}"

#define X "74951234567"

static const char *const PBX[] = {
    OKT_W_PBXAUTOCALLSTART, OKT_W_PBXAUTOCALLABORT, OKT_W_PBXABORTCALL,
    OKT_W_PBXDECLINECALL,   OKT_W_PBXANSWERCALL,    OKT_W_PBXMAKEFLASH,
    OKT_W_PBXMAKETRANSFER,  OKT_W_GETFLASHEDABONENTINFO};
#define NPBX (sizeof PBX / sizeof PBX[0])

TEST(no_working_line_2002)
{
    okt_model *m = mk(CFG);
    int n = login_as(m, "N", "5");
    for (size_t i = 0; i < NPBX; i++)
        CHECK(refused_with(m, n, PBX[i], "{\"number\":\"1\"}", 2002));
    done(m);
}

/* A missing right: error 52710, the right named in the text. */
TEST(missing_right_52710)
{
    okt_model *m = mk(CFG);
    int r = login_as(m, "R", "3"), s = login_as(m, "S", "4");
    const char *ruled[] = {OKT_W_PBXAUTOCALLSTART, OKT_W_PBXAUTOCALLABORT};
    for (int i = 0; i < 2; i++) {
        json_t *o = ask(m, r, ruled[i], "{\"number\":\"" X "\"}");
        CHECK(iv(o, OKT_F_RESULT) == 0 && iv(o, OKT_F_ERROR) == OKT_SE_RIGHTS);
        CHECK(strstr(sv(o, OKT_F_ERRORMSG), "canuseacm") != NULL);
        CHECK(strstr(sv(o, OKT_F_ERRORMSG), "Доступ к сервису автодозвона"));
        json_decref(o);
    }
    json_t *o = ask(m, s, OKT_W_TRIGGERCUSTOMEVENT, "{\"eventname\":\"x\"}");
    CHECK(iv(o, OKT_F_ERROR) == OKT_SE_RIGHTS);
    CHECK(strstr(sv(o, OKT_F_ERRORMSG), "canusemessagingout") != NULL);
    json_decref(o);
    /* R's own right wins over its role */
    o = ask(m, r, OKT_W_TRIGGERCUSTOMEVENT, "{\"eventname\":\"x\"}");
    CHECK(iv(o, OKT_F_RESULT) == 1);
    json_decref(o);
    /* the role's rights show in the user info */
    o = ask(m, r, OKT_W_GETCURRENTUSERFULLINFO, NULL);
    const json_t *rights = json_object_get(o, OKT_F_RIGHTS);
    CHECK(json_is_false(json_object_get(rights, "canuseacm")));
    CHECK(json_is_true(json_object_get(rights, "viewoffice")));
    json_decref(o);
    done(m);
}

/* A prompt or the external task reserves the user: 2108 */
TEST(reserved_by_a_task_2108)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1");
    req(m, a, OKT_W_CC_SETBUSYINEXTERNALTASK, NULL);
    for (size_t i = 0; i < NPBX; i++)
        CHECK(refused_with(m, a, PBX[i], "{\"number\":\"1\"}", 2108));
    /* and no call rings it (a direct call waits in its queue) */
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    CHECK_STR(snap(m, "A", "phone"), "idle");
    req(m, a, OKT_W_CC_SETFREEINEXTERNALTASK, NULL);
    CHECK_STR(snap(m, "A", "phone"), "ring");
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    CHECK(ctl(m, "offer", "{\"user\":\"A\",\"mode\":\"notify\"}", NULL) == 0);
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"1\"}",
                       2108));
    done(m);
}

/* pbxautocallstart's own checks (oktell.js L3647-3676) */
TEST(autocall_checks)
{
    okt_model *m = mk(CFG);
    tick(m, 0);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, NULL, 2106));
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"\"}",
                       2106));
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"1\"}",
                       2103));
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART,
                       "{\"number\":\"" X "\"}", 2105));
    req(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}");
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"1\"}",
                       2101));
    req(m, a, OKT_W_PBXABORTCALL, NULL);
    /* ready phone, busy user */
    req(m, b, OKT_W_SETUSERSTATE, "{\"userstateid\":5}");
    CHECK(refused_with(m, b, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"1\"}",
                       2104));
    /* in a conference */
    req(m, a, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"c1\"},\"competitors\":[{\"number\":\"7\"}]}");
    CHECK_STR(snap(m, "A", "phone"), "conference");
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLSTART, "{\"number\":\"1\"}",
                       2102));
    done(m);
}

TEST(state_checks_2901_2601_2402)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1");
    CHECK(refused_with(m, a, OKT_W_PBXANSWERCALL, NULL, 2901));
    CHECK(refused_with(m, a, OKT_W_PBXDECLINECALL, NULL, 2901));
    CHECK(refused_with(m, a, OKT_W_PBXABORTCALL, NULL, 2901));
    CHECK(refused_with(m, a, OKT_W_PBXAUTOCALLABORT, NULL, 2901));
    CHECK(refused_with(m, a, OKT_W_PBXMAKEFLASH, NULL, 2601));
    CHECK(refused_with(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"next\"}", 2601));
    CHECK(refused_with(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"switch\"}",
                       2402));
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    req(m, a, OKT_W_PBXANSWERCALL, NULL);
    CHECK(refused_with(m, a, OKT_W_PBXMAKEFLASH, "{\"mode\":\"abort\"}", 2402));
    CHECK(refused_with(m, a, OKT_W_PBXANSWERCALL, NULL, 2901));
    done(m);
}

TEST(conference_refusals)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    const char *cc = "{\"conference\":{\"id\":\"k\"},"
                     "\"competitors\":[{\"userlogin\":\"A\"},{\"number\":\"7\"}]}";
    /* no competitor besides the creator */
    CHECK(refused_with(m, a, OKT_W_CREATENEWCONFERENCE,
                       "{\"conference\":{},\"competitors\":"
                       "[{\"userlogin\":\"A\"}]}", 2203));
    /* build: only in a talk */
    CHECK(refused_with(m, a, OKT_W_BUILDCONFERENCEFROMCOMMUTATION, NULL, 2205));
    /* on a break: 2208 for every conference method */
    req(m, a, OKT_W_SETUSERSTATE, "{\"oncallcenter\":true,\"userstateid\":2}");
    CHECK(refused_with(m, a, OKT_W_CREATENEWCONFERENCE, cc, 2208));
    CHECK(refused_with(m, a, OKT_W_BUILDCONFERENCEFROMCOMMUTATION, NULL, 2208));
    CHECK(refused_with(m, a, OKT_W_INVITETOCONFERENCE,
                       "{\"conferenceid\":\"k\"}", 2208));
    req(m, a, OKT_W_SETUSERSTATE, "{\"userstateid\":1}");
    /* not idle */
    call_in(m, "{\"from\":\"" X "\",\"to\":\"A\"}");
    CHECK(refused_with(m, a, OKT_W_CREATENEWCONFERENCE, cc, 2205));
    req(m, a, OKT_W_PBXDECLINECALL, NULL);
    /* not in it: 2501 */
    const char *in_k = "{\"conferenceid\":\"k\"}";
    CHECK(refused_with(m, b, OKT_W_GETCONFERENCEINFO, in_k, 2501));
    CHECK(refused_with(m, b, OKT_W_GETCONFERENCECOMPETITORS, in_k, 2501));
    CHECK(refused_with(m, b, OKT_W_EXITCONFERENCE, in_k, 2501));
    CHECK(refused_with(m, b, OKT_W_CHECKCANCONNECTTOGATHERTOCONFERENCE, NULL,
                       2501));
    CHECK(refused_with(m, b, OKT_W_CONNECTTOGATHERTOCONFERENCE, NULL, 2206));
    /* invite: everyonecaninvite off, only the creator or a director */
    req(m, a, OKT_W_CREATENEWCONFERENCE,
        "{\"conference\":{\"id\":\"k\",\"everyonecaninvite\":false},"
        "\"competitors\":[{\"userlogin\":\"A\"},{\"number\":\"102\"}]}");
    req(m, b, OKT_W_PBXANSWERCALL, NULL);
    CHECK_STR(snap(m, "B", "phone"), "conference");
    json_t *o = ask(m, b, OKT_W_INVITETOCONFERENCE,
                    "{\"conferenceid\":\"k\",\"competitors\":[{\"number\":\"9\"}]}");
    CHECK(iv(o, OKT_F_ERROR) == OKT_SE_RIGHTS);
    json_decref(o);
    CHECK(refused_with(m, a, OKT_W_INVITETOCONFERENCE, in_k, 2201));
    /* kick: the creator or a director only */
    o = ask(m, b, OKT_W_CONFDISCONNECTCOMPETITOR,
            "{\"conferenceid\":\"k\",\"competitor\":{\"competitorid\":\"x\"}}");
    CHECK(iv(o, OKT_F_ERROR) == OKT_SE_RIGHTS);
    json_decref(o);
    done(m);
}

/* customevent: to the recipients (all when false), to the sender only
 * when sendback is 1 (the string "0" means no) */
TEST(custom_events)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2"),
        s = login_as(m, "S", "4");
    req(m, a, OKT_W_TRIGGERCUSTOMEVENT,
        "{\"eventname\":\"hi\",\"eventparam\":{\"x\":1},\"recipients\":false,"
        "\"sendback\":\"0\"}");
    CHECK_SEQ(a, "triggercustomeventresult");
    CHECK_SEQ(b, "customevent");
    CHECK_SEQ(s, "customevent");
    json_t *o = got(b, OKT_E_CUSTOMEVENT);
    CHECK_STR(sv(o, OKT_F_EVENTNAME), "hi");
    CHECK(iv(json_object_get(o, OKT_F_EVENTPARAM), "x") == 1);
    json_decref(o);
    /* to B only, and back */
    json_t *bi = ask(m, b, OKT_W_GETALLUSERNUMBERS, NULL);
    char params[256];
    snprintf(params, sizeof params,
             "{\"eventname\":\"e\",\"eventparam\":\"p\",\"recipients\":[\"%s\"],"
             "\"sendback\":1}",
             sv(json_array_get(json_object_get(bi, OKT_F_USERS), 1), OKT_F_ID));
    json_decref(bi);
    req(m, a, OKT_W_TRIGGERCUSTOMEVENT, params);
    CHECK_SEQ(a, "triggercustomeventresult,customevent");
    CHECK_SEQ(b, "customevent");
    CHECK_SEQ(s, "");
    done(m);
}

TEST(lists_procedures_break_reasons)
{
    okt_model *m = mk(CFG);
    int a = login_as(m, "A", "1"), b = login_as(m, "B", "2");
    json_t *o = ask(m, a, OKT_W_GETALLUSERNUMBERS,
                    "{\"fillsubordinates\":true}");
    const json_t *u = json_object_get(o, OKT_F_USERS);
    CHECK(json_array_size(u) == 5);
    CHECK(iv(json_array_get(u, 1), OKT_F_SUB) == 1);   /* B is A's */
    CHECK(iv(json_array_get(u, 2), OKT_F_SUB) == 0);
    CHECK_STR(sv(json_array_get(u, 1), OKT_F_MAIN), "102");
    json_decref(o);
    o = ask(m, b, OKT_W_GETALLUSERNUMBERS, NULL);
    CHECK(iv(json_array_get(json_object_get(o, OKT_F_USERS), 0), OKT_F_SUB) == 0);
    json_decref(o);
    o = ask(m, a, OKT_W_CC_GETLUNCHTYPES, NULL);
    const json_t *it = json_array_get(json_object_get(o, OKT_F_ITEMS), 0);
    CHECK(iv(it, OKT_F_ID) == 7);
    CHECK_STR(sv(it, OKT_F_NAME), "Кофе");
    json_decref(o);
    o = ask(m, a, OKT_W_GETVERSION, NULL);
    CHECK(json_is_true(json_object_get(
        json_object_get(o, OKT_F_ALLOWEDDBSTOREDPROCS), "web_getlines")));
    json_decref(o);
    o = ask(m, a, OKT_W_EXECPREDEFINEDDBSTOREDPROC,
            "{\"procedure\":\"web_getlines\",\"inputparams\":{}}");
    CHECK(iv(o, OKT_F_RESULT) == 1 && iv(o, OKT_F_ERRORCODE) == 0);
    const json_t *ds = json_object_get(o, OKT_F_DATASET);
    CHECK_STR(json_string_value(json_array_get(
                  json_array_get(json_array_get(ds, 0), 0), 1)), "name");
    json_decref(o);
    o = ask(m, a, OKT_W_EXECPREDEFINEDDBSTOREDPROC, "{\"procedure\":\"drop\"}");
    CHECK(iv(o, OKT_F_RESULT) == 0 && !json_object_get(o, OKT_F_ERROR) &&
          !json_object_get(o, OKT_F_ERRORCODE));
    CHECK(strstr(sv(o, OKT_F_ERRORMSG), "drop") != NULL);
    json_decref(o);
    done(m);
}

TEST(config_keys_checked)
{
    static const char *const bad[] = {
        "{\"numbers\":[{\"number\":\"5\",\"kind\":\"fax\"}]}",
        "{\"numbers\":[{\"kind\":\"ivr\"}]}",
        "{\"numbers\":[{\"number\":\"101\",\"kind\":\"ivr\"}]}",
        "{\"numbers\":\"500\"}",
        "{\"roles\":\"admin\"}",
        "{\"roles\":[{\"rights\":{}}]}",
        "{\"roles\":[{\"name\":\"r\",\"rights\":{\"canuseacm\":1}}]}",
        "{\"ring_timeout\":0}",
        "{\"ring_timeout\":\"15\"}",
        "{\"wrapup\":-1}",
        "{\"missed_to_off\":1}",
        "{\"speed\":\"fast\"}",
        "{\"speed\":0}",
        "{\"seed\":1.5}",
        "{\"break_reasons\":[{\"name\":\"x\"}]}",
        "{\"procedures\":{\"p\":5}}",
        "{\"users\":[{\"login\":\"A\",\"rights\":{\"x\":\"yes\"}}]}",
        "{\"users\":[{\"login\":\"A\",\"subordinates\":[\"nobody\"]}]}",
        "{\"users\":[{\"login\":\"A\",\"intercom\":\"yes\"}]}",
        "{\"users\":[{\"login\":\"A\",\"agent\":5}]}",
        "{\"users\":[{\"login\":\"A\",\"agent\":{\"answer\":-1}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cfg = json_loads(bad[i], 0, NULL);
        okt_err e;
        okt_model *m = okt_model_new(cfg, &e);
        if (m)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(!m && e.code == OKT_EINVAL);
        okt_model_free(m);
        json_decref(cfg);
    }
    json_t *cfg = json_loads(
        "{\"numbers\":[],\"roles\":{},\"speed\":2.5,\"seed\":7,"
        "\"ring_timeout\":30,\"wrapup\":0,\"missed_to_off\":false,"
        "\"users\":[{\"login\":\"A\",\"rights\":{},\"subordinates\":{},"
        "\"intercom\":true,\"agent\":{\"answer\":0,\"wrapup\":1}}]}",
        0, NULL);
    okt_err e;
    okt_model *m = okt_model_new(cfg, &e);
    if (!m)
        fprintf(stderr, "  refused: %s\n", e.msg);
    CHECK(m != NULL);
    okt_model_free(m);
    json_decref(cfg);
    done(mk(NULL));
}

int main(void)
{
    RUN(no_working_line_2002);
    RUN(missing_right_52710);
    RUN(reserved_by_a_task_2108);
    RUN(autocall_checks);
    RUN(state_checks_2901_2601_2402);
    RUN(conference_refusals);
    RUN(custom_events);
    RUN(lists_procedures_break_reasons);
    RUN(config_keys_checked);
    return TEST_SUMMARY();
}
