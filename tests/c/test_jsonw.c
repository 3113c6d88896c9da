/* test_jsonw.c - the emulator's JSON writer writes what json_dumps writes
 * (okt_jw_msg against okt_msg_build). */
#include "test.h"

#include <limits.h>
#include <stdlib.h>

#include "jsonw.h"
#include "message.h"

/* okt_jw_msg and okt_msg_build agree on name and obj (NULL both, or the
 * same text). */
static int writes_alike(const char *name, const json_t *obj)
{
    size_t la = 0, lb = 0;
    char *a = okt_jw_msg(name, obj, &la);
    char *b = okt_msg_build(name, obj, &lb, NULL);
    int same = (!a && !b) || (a && b && la == lb && strcmp(a, b) == 0 &&
                              strlen(a) == la);
    if (!same)
        fprintf(stderr, "  jw   %s\n  json %s\n", a ? a : "(null)",
                b ? b : "(null)");
    free(a);
    free(b);
    return same;
}

TEST(writer_matches_json_dumps)
{
    static const char *const texts[] = {
        "{}",
        "{\"a\":1}",
        "{\"result\":1,\"qid\":\"q\",\"list\":[],\"o\":{},\"n\":null,"
        "\"t\":true,\"f\":false}",
        "{\"s\":\"q\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u0080"
        "é€😀\\u0000x\"}",
        "{\"\\u0001key\\\"\":\"v\",\"ключ\":\"значение\"}",
        "{\"i\":[0,-1,1,9223372036854775807,-9223372036854775808]}",
        "{\"r\":[0.5,-0.0,1e300,1.0,3.14159,123456789.125,1e-7]}",
        "{\"deep\":[[[[{\"a\":[{\"b\":[]}]}]]]],\"after\":[1,[2,[3]]]}",
        "{\"z\":1,\"a\":2,\"m\":3}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *o = json_loads(texts[i], JSON_ALLOW_NUL, NULL);
        CHECK(o != NULL);
        CHECK(writes_alike("getuserstateresult", o));
        CHECK(writes_alike("näme \"x\"\n", o));
        json_decref(o);
    }
    CHECK(writes_alike("x", NULL));
    json_t *arr = json_array();
    CHECK(writes_alike("x", arr));          /* not an object: both NULL */
    json_decref(arr);
    json_t *o = json_object();
    CHECK(writes_alike("\xff", o));         /* name not UTF-8: both NULL */
    /* a string that is not UTF-8 (set unchecked): neither writes it */
    json_object_set_new(o, "bad", json_stringn_nocheck("a\xc0\xaf", 3));
    CHECK(writes_alike("x", o));
    json_decref(o);
    /* a big message: the buffer grows */
    o = json_object();
    char *big = malloc(100000);
    for (int i = 0; i < 99999; i++)
        big[i] = (char)(i % 7 ? 'a' + i % 26 : '"');
    big[99999] = '\0';
    json_object_set_new(o, "big", json_string(big));
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(o, k, json_integer(i * 7919LL - 100000));
    }
    CHECK(writes_alike("x", o));
    free(big);
    json_decref(o);
    okt_jw w;
    okt_jw_init(&w);
    okt_jw_int(&w, LLONG_MIN);
    OKT_JW_LIT(&w, ",");
    okt_jw_int(&w, 0);
    size_t n;
    char *t = okt_jw_take(&w, &n);
    CHECK_STR(t, "-9223372036854775808,0");
    free(t);
}

int main(void)
{
    RUN(writer_matches_json_dumps);
    return TEST_SUMMARY();
}
