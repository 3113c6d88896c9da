/* test_states.c - the state enums against the reference's values. */
#include "test.h"
#include "states.h"

TEST(user_codes_and_names)
{
    static const struct { int code; const char *name, *ref; int settable; } want[] = {
        {0, "disconnected", "usDisconnected", 0}, {1, "ready", "usReady", 1},
        {2, "lunch", "usLunch", 1},               {3, "off", "usOff", 1},
        {5, "fullbusy", "usFullbusy", 1},         {6, "reserved", "usReserved", 0},
        {7, "wophone", "usWOphone", 0},
    };
    size_t n;
    const okt_state_def *t = okt_userstates(&n);
    CHECK(n == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK(t[i].code == want[i].code);
        CHECK_STR(okt_userstate_name(want[i].code), want[i].name);
        CHECK_STR(okt_userstate_refname(want[i].code), want[i].ref);
        CHECK(okt_userstate_code(want[i].name) == want[i].code);
        CHECK(okt_userstate_code(want[i].ref) == want[i].code);
        CHECK(okt_userstate_settable(want[i].code) == want[i].settable);
        CHECK(okt_userstate_def(want[i].code) == &t[i]);
    }
}

TEST(line_codes_and_names)
{
    static const struct { int code; const char *name, *ref; } want[] = {
        {0x1, "disconnected", "lsDisconnected"}, {0x2, "off", "lsOff"},
        {0x4, "ready", "lsReady"},               {0x8, "hookup", "lsHookUp"},
        {0x10, "incomingcall", "lsIncomingCall"}, {0x20, "commutated", "lsCommutated"},
        {0x40, "wait", "lsWait"},                {0x80, "flash", "lsFlash"},
        {0x100, "waitdown", "lsWaitDown"},       {0x200, "listenbusy", "lsListenBusy"},
        {0x400, "undefined", "lsUndefined"},     {0x800, "reserved", "lsReserved"},
        {0x1000, "reservedbytask", "lsReservedByTask"},
    };
    size_t n;
    okt_linestates(&n);
    CHECK(n == 13);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_STR(okt_linestate_name(want[i].code), want[i].name);
        CHECK_STR(okt_linestate_refname(want[i].code), want[i].ref);
        CHECK(okt_linestate_code(want[i].name) == want[i].code);
        CHECK(okt_linestate_code(want[i].ref) == want[i].code);
    }
}

TEST(unknown_and_several_flags)
{
    CHECK(okt_userstate_name(4) == NULL);
    CHECK(okt_userstate_name(8) == NULL);
    CHECK(okt_userstate_name(-1) == NULL);
    CHECK(okt_userstate_refname(4) == NULL);
    CHECK(okt_linestate_name(0) == NULL);
    CHECK(okt_linestate_name(0x6) == NULL);
    CHECK(okt_linestate_name(0x1001) == NULL);
    CHECK(okt_linestate_name(0x2000) == NULL);
    CHECK(okt_linestate_def(0x6) == NULL);
    CHECK(okt_userstate_code("asleep") == -1);
    CHECK(okt_userstate_code(NULL) == -1);
    CHECK(okt_userstate_code("Ready") == -1);    /* short names: exact */
    CHECK(okt_userstate_code("USREADY") == 1);   /* reference names: any case */
    CHECK(okt_linestate_code("lshookup") == 0x8);
    CHECK(okt_userstate_code("lsReady") == -1);
    CHECK(okt_linestate_code("usReady") == -1);
    CHECK(okt_userstate_settable(0) == 0);
    CHECK(okt_userstate_settable(4) == 0);
}

int main(void)
{
    RUN(user_codes_and_names);
    RUN(line_codes_and_names);
    RUN(unknown_and_several_flags);
    return TEST_SUMMARY();
}
