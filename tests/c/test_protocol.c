/* test_protocol.c - the protocol table against itself: its lookups agree,
 * each method id has one row, each error value and secret field is found,
 * events belong to the groups they are subscribed through, and no name is
 * given to two rows. The wire names themselves are checked by the other
 * tests and specs, which spell them out. */
#include "test.h"
#include "protocol.h"

#include <strings.h>

static int is_field(const okt_field *f, const char *wire)
{
    for (; f && f->wire; f++)
        if (!strcmp(f->wire, wire))
            return 1;
    return 0;
}

TEST(lookup_by_name_and_by_id_agree)
{
    size_t n;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    CHECK(n == OKT_M_COUNT);
    for (size_t i = 0; i < n; i++) {
        CHECK(okt_proto_wire(w[i].request) == &w[i]);
        CHECK(okt_proto_wire_by_id(w[i].id) == &w[i]);
        CHECK(w[i].reply && w[i].params && w[i].reply_fields);
    }
    /* any case on the wire */
    CHECK(okt_proto_wire("GetUserState") == okt_proto_wire(OKT_W_GETUSERSTATE));
    CHECK(okt_proto_wire("nosuchmethod") == NULL);
    CHECK(okt_proto_wire(NULL) == NULL);
    CHECK(okt_proto_wire_by_id(-1) == NULL);
    CHECK(okt_proto_wire_by_id(OKT_M_COUNT) == NULL);
}

TEST(every_method_id_has_exactly_one_row)
{
    size_t n;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    for (int id = 0; id < OKT_M_COUNT; id++) {
        int rows = 0;
        for (size_t i = 0; i < n; i++)
            rows += w[i].id == id;
        if (rows != 1)
            fprintf(stderr, "  method id %d: %d rows\n", id, rows);
        CHECK(rows == 1);
    }
    for (size_t i = 0; i < n; i++)
        CHECK(w[i].id >= 0 && w[i].id < OKT_M_COUNT);
}

/* Requests and replies are unique (the server matches names in any case),
 * and a reply is <method>result but for ping's pong. */
TEST(no_two_rows_share_a_name)
{
    size_t n;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = i + 1; k < n; k++) {
            if (!strcasecmp(w[i].request, w[k].request) ||
                !strcasecmp(w[i].reply, w[k].reply))
                fprintf(stderr, "  rows %zu and %zu: %s / %s\n", i, k,
                        w[i].request, w[k].request);
            CHECK(strcasecmp(w[i].request, w[k].request) != 0);
            CHECK(strcasecmp(w[i].reply, w[k].reply) != 0);
        }
        char want[128];
        snprintf(want, sizeof want, "%s%s", w[i].request, OKT_REPLY_SUFFIX);
        if (w[i].id == OKT_M_PING)
            CHECK_STR(w[i].reply, OKT_R_PING);
        else
            CHECK_STR(w[i].reply, want);
    }
}

TEST(error_code_maps_each_table_error)
{
    size_t n;
    const okt_server_error *se = okt_proto_server_errors(&n);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(se[i].error || se[i].errormsg);
        int got = okt_proto_error_code(se[i].request, se[i].error,
                                       se[i].errormsg, -1);
        if (got != se[i].code)
            fprintf(stderr, "  %s: %lld / %s gives %d, not %d\n",
                    se[i].request ? se[i].request : "(any)", se[i].error,
                    se[i].errormsg ? se[i].errormsg : "(none)", got,
                    se[i].code);
        CHECK(got == se[i].code);
    }
    /* unknown values, and known ones of another request, fall back */
    CHECK(okt_proto_error_code(OKT_W_LOGIN, 1, "no such text", -1) == -1);
    CHECK(okt_proto_error_code(OKT_W_GETVERSION, OKT_SE_ALREADY_REGISTERED,
                               NULL, -1) == -1);
    CHECK(okt_proto_error_code(OKT_W_LOGIN, 0, OKT_SE_WRONG_LOGIN, -1) ==
          OKT_EAUTH);
}

TEST(secret_covers_passwords_session_and_sip)
{
    CHECK(okt_proto_secret(OKT_F_PASSWORD_CS));
    CHECK(okt_proto_secret(OKT_F_PASSWORD_CI));
    CHECK(okt_proto_secret(OKT_F_SESSIONID));
    CHECK(okt_proto_secret(OKT_F_SIPPASS));
    CHECK(!okt_proto_secret(OKT_F_USERLOGIN));
    CHECK(!okt_proto_secret(OKT_F_QID));
    CHECK(!okt_proto_secret(NULL));
    /* and every field the table flags */
    size_t n;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    for (size_t i = 0; i < n; i++) {
        for (const okt_field *f = w[i].params; f->wire; f++)
            if (f->flags & OKT_PF_SECRET)
                CHECK(okt_proto_secret(f->wire));
        for (const okt_field *f = w[i].reply_fields; f->wire; f++)
            if (f->flags & OKT_PF_SECRET)
                CHECK(okt_proto_secret(f->wire));
    }
}

/* An event subscribed through a group is one of its members (the server
 * expands the group, §2.5); one subscribed by name, by one of its own. */
TEST(events_are_members_of_their_subscribe_group)
{
    size_t n;
    const okt_event_def *e = okt_proto_events(&n);
    for (size_t i = 0; i < n; i++) {
        for (const char *const *w = e[i].wire; w && *w; w++)
            CHECK(okt_proto_event_by_wire(*w) == &e[i]);
        if (e[i].id)
            CHECK(okt_proto_event_by_id(e[i].id) == &e[i]);
        if (!e[i].subscribe)
            continue;
        CHECK(e[i].wire != NULL);
        const okt_event_group *g = okt_proto_group(e[i].subscribe);
        for (const char *const *w = e[i].wire; w && *w; w++) {
            int in = 0;
            if (g) {
                for (const char *const *m = g->members; *m; m++)
                    in |= !strcasecmp(*m, *w);
            } else {
                for (const char *const *o = e[i].wire; *o; o++)
                    in |= !strcasecmp(*o, e[i].subscribe);
            }
            if (!in)
                fprintf(stderr, "  event %s: %s not under %s\n", e[i].lua,
                        *w, e[i].subscribe);
            CHECK(in);
        }
    }
}

/* What the Lua API sends and reads is the table's: its methods, their
 * parameters and the reply fields it returns. */
TEST(api_methods_use_table_names)
{
    size_t n;
    const okt_api_method *a = okt_proto_api_methods(&n);
    for (size_t i = 0; i < n; i++) {
        const okt_wire_method *w = okt_proto_wire(a[i].wire);
        CHECK(w != NULL);
        if (!w)
            continue;
        if (a[i].extra)
            CHECK(okt_proto_wire(a[i].extra) != NULL);
        for (const okt_arg *g = a[i].args; g->lua; g++)
            CHECK(is_field(w->params, g->wire));
        if (a[i].field)
            CHECK(is_field(w->reply_fields, a[i].field));
    }
}

/* The call model's rows (issue 13): every §6 request the emulator serves
 * has its row, with a source; every call event has a Lua name and is
 * subscribed by its own wire name (fact sheet §4 step 14). */
TEST(call_rows_are_in_the_table)
{
    static const struct { int id; const char *req; } calls[] = {
        {OKT_M_PBXAUTOCALLSTART, OKT_W_PBXAUTOCALLSTART},
        {OKT_M_PBXAUTOCALLABORT, OKT_W_PBXAUTOCALLABORT},
        {OKT_M_PBXABORTCALL, OKT_W_PBXABORTCALL},
        {OKT_M_PBXDECLINECALL, OKT_W_PBXDECLINECALL},
        {OKT_M_PBXANSWERCALL, OKT_W_PBXANSWERCALL},
        {OKT_M_PBXMAKEFLASH, OKT_W_PBXMAKEFLASH},
        {OKT_M_PBXMAKETRANSFER, OKT_W_PBXMAKETRANSFER},
        {OKT_M_GETFLASHEDABONENTINFO, OKT_W_GETFLASHEDABONENTINFO},
        {OKT_M_BUILDCONFERENCEFROMCOMMUTATION,
         OKT_W_BUILDCONFERENCEFROMCOMMUTATION},
        {OKT_M_CREATENEWCONFERENCE, OKT_W_CREATENEWCONFERENCE},
        {OKT_M_INVITETOCONFERENCE, OKT_W_INVITETOCONFERENCE},
        {OKT_M_CHECKCANCONNECTTOGATHERTOCONFERENCE,
         OKT_W_CHECKCANCONNECTTOGATHERTOCONFERENCE},
        {OKT_M_CONNECTTOGATHERTOCONFERENCE, OKT_W_CONNECTTOGATHERTOCONFERENCE},
        {OKT_M_CONFHANDLEEVENT, OKT_W_CONFHANDLEEVENT},
        {OKT_M_GETCONFERENCEINFO, OKT_W_GETCONFERENCEINFO},
        {OKT_M_GETCONFERENCECOMPETITORS, OKT_W_GETCONFERENCECOMPETITORS},
        {OKT_M_CONFDISCONNECTCOMPETITOR, OKT_W_CONFDISCONNECTCOMPETITOR},
        {OKT_M_EXITCONFERENCE, OKT_W_EXITCONFERENCE},
        {OKT_M_TRIGGERCUSTOMEVENT, OKT_W_TRIGGERCUSTOMEVENT},
        {OKT_M_EXECPREDEFINEDDBSTOREDPROC, OKT_W_EXECPREDEFINEDDBSTOREDPROC},
        {OKT_M_GETPBXNUMBERS, OKT_W_GETPBXNUMBERS},
        {OKT_M_GETALLUSERNUMBERS, OKT_W_GETALLUSERNUMBERS},
        {OKT_M_GETCURRENTQUEUE, OKT_W_GETCURRENTQUEUE},
        {OKT_M_CC_GETLUNCHTYPES, OKT_W_CC_GETLUNCHTYPES},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const okt_wire_method *w = okt_proto_wire(calls[i].req);
        CHECK(w && w->id == calls[i].id);
        CHECK(w && w->source && w->source[0] != '\0');
        /* every field has a known type and a source or is ours */
        for (const okt_field *f = w ? w->params : NULL; f && f->wire; f++)
            CHECK(f->type >= OKT_PT_STRING && f->type <= OKT_PT_ANY);
    }
    /* oktell.js's own reading of the replies */
    const okt_wire_method *w = okt_proto_wire(OKT_W_GETCONFERENCECOMPETITORS);
    CHECK(w && w->reply_fields[0].wire &&
          !strcmp(w->reply_fields[0].wire, OKT_F_COMPETITORLIST) &&
          (w->reply_fields[0].flags & OKT_PF_REQUIRED));
    w = okt_proto_wire(OKT_W_EXECPREDEFINEDDBSTOREDPROC);
    CHECK(w && is_field(w->reply_fields, OKT_F_ERRORCODE) &&
          is_field(w->reply_fields, OKT_F_DATASET));
    CHECK(w && is_field(w->params, OKT_F_PROCEDURE));
    w = okt_proto_wire(OKT_W_PBXAUTOCALLSTART);
    CHECK(w && is_field(w->params, OKT_F_NUMBER) &&
          is_field(w->params, OKT_F_SEQUENCE) &&
          is_field(w->params, OKT_F_INTERCOM));
    CHECK_STR(w ? w->reply_source : NULL, "P §14.2");

    static const struct { const char *lua, *wire; } evs[] = {
        {"ringstarted", OKT_E_PHONEEVENT_RINGSTARTED},
        {"ringstopped", OKT_E_PHONEEVENT_RINGSTOPPED},
        {"commstarted", OKT_E_PHONEEVENT_COMMSTARTED},
        {"commstopped", OKT_E_PHONEEVENT_COMMSTOPPED},
        {"acmcallstarted", OKT_E_PHONEEVENT_ACMCALLSTARTED},
        {"acmcallstopped", OKT_E_PHONEEVENT_ACMCALLSTOPPED},
        {"ivrstarted", OKT_E_PHONEEVENT_IVRSTARTED},
        {"ivrstopped", OKT_E_PHONEEVENT_IVRSTOPPED},
        {"flash", OKT_E_FLASHSTATECHANGED},
        {"conference", OKT_E_CONFCOMPOSITIONCHANGED},
        {"competitor", OKT_E_CONFCOMPETITORSTATECHANGED},
        {"numberstate", OKT_E_PBXNUMBERSTATECHANGED},
        {"customevent", OKT_E_CUSTOMEVENT},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        const okt_event_def *e = okt_proto_event(evs[i].lua);
        CHECK(e && okt_proto_event_by_wire(evs[i].wire) == e);
        CHECK_STR(e ? e->subscribe : NULL, evs[i].wire);
        CHECK(e && e->source);
    }
    const okt_event_def *e = okt_proto_event("commstarted");
    CHECK(e && is_field(e->fields, OKT_F_ISCONFERENCE) &&
          is_field(e->fields, OKT_F_CONFID));
    e = okt_proto_event("numberstate");
    CHECK(e && is_field(e->fields, OKT_F_NUMBERS));
    /* the emulator keeps one subscription bit per row (a 64-bit mask) */
    size_t n;
    okt_proto_events(&n);
    CHECK(n <= 64);
    /* a missing right: 52710 from the requests a right governs
     * (API-calls §6.0), not from login */
    static const char *const ruled[] = {
        OKT_W_PBXAUTOCALLSTART, OKT_W_PBXAUTOCALLABORT,
        OKT_W_TRIGGERCUSTOMEVENT, OKT_W_INVITETOCONFERENCE,
        OKT_W_CONFDISCONNECTCOMPETITOR};
    for (size_t i = 0; i < sizeof ruled / sizeof ruled[0]; i++)
        CHECK(okt_proto_error_code(ruled[i], OKT_SE_RIGHTS, NULL, -1) ==
              OKT_ERIGHTS);
    CHECK(okt_proto_error_code(OKT_W_LOGIN, OKT_SE_RIGHTS, NULL, -1) == -1);
}

/* Shapes: named once, each field once, typed, and the ones the rows point
 * at exist. */
TEST(shapes_are_well_formed)
{
    size_t n;
    const okt_shape *s = okt_proto_shapes(&n);
    CHECK(n >= 10);
    for (size_t i = 0; i < n; i++) {
        CHECK(okt_proto_shape(s[i].name) == &s[i]);
        CHECK(s[i].where && s[i].fields && s[i].fields[0].wire);
        for (const okt_field *f = s[i].fields; f->wire; f++) {
            CHECK(f->type >= OKT_PT_STRING && f->type <= OKT_PT_ANY);
            for (const okt_field *g = f + 1; g->wire; g++)
                if (!strcmp(f->wire, g->wire)) {
                    fprintf(stderr, "  shape %s: %s twice\n", s[i].name,
                            f->wire);
                    CHECK(0);
                }
        }
    }
    static const char *const want[] = {"abonent", "queueitem", "pbxnumber",
                                       "user", "lunchtype", "numberstate",
                                       "competitor", "competitorref",
                                       "conference", "composition",
                                       "competitorstate"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(okt_proto_shape(want[i]) != NULL);
    CHECK(okt_proto_shape("nosuchshape") == NULL);
    CHECK(okt_proto_shape(NULL) == NULL);
    const okt_shape *ab = okt_proto_shape("abonent");
    static const char *const flags[] = {
        OKT_F_ISRINGING, OKT_F_DIRECTION, OKT_F_ISAUTOCALL,
        OKT_F_ISCOMMUTATED, OKT_F_ISWAITINGINFLASH, OKT_F_ISCONFERENCE,
        OKT_F_CONFERENCEID, OKT_F_ISIVR, OKT_F_IVRNAME,
        OKT_F_ISWAITINGFORANSWER, OKT_F_ISEXTLINE, OKT_F_CALLERID};
    for (size_t i = 0; ab && i < sizeof flags / sizeof flags[0]; i++)
        CHECK(is_field(ab->fields, flags[i]));
}

int main(void)
{
    RUN(lookup_by_name_and_by_id_agree);
    RUN(every_method_id_has_exactly_one_row);
    RUN(no_two_rows_share_a_name);
    RUN(error_code_maps_each_table_error);
    RUN(secret_covers_passwords_session_and_sip);
    RUN(events_are_members_of_their_subscribe_group);
    RUN(api_methods_use_table_names);
    RUN(call_rows_are_in_the_table);
    RUN(shapes_are_well_formed);
    return TEST_SUMMARY();
}
