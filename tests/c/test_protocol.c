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

int main(void)
{
    RUN(lookup_by_name_and_by_id_agree);
    RUN(every_method_id_has_exactly_one_row);
    RUN(no_two_rows_share_a_name);
    RUN(error_code_maps_each_table_error);
    RUN(secret_covers_passwords_session_and_sip);
    RUN(events_are_members_of_their_subscribe_group);
    RUN(api_methods_use_table_names);
    return TEST_SUMMARY();
}
