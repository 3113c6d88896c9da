/* test_jsonw.c - the emulator's JSON writer writes what json_dumps writes
 * (okt_jw_msg against okt_msg_build), and the plain-request scanner takes
 * only what json_loadb parses, into the same values. */
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

/* When okt_plain_scan takes text, json_loadb parses it to ["name", obj]
 * with the same name, keys in order and values, each value dumps as
 * okt_jw_pval writes it; `want` says whether it should be taken. */
static int scans_alike(const char *text, size_t len, int want)
{
    okt_plain p;
    int took = okt_plain_scan(text, len, &p);
    json_error_t je;
    json_t *v = json_loadb(text, len, 0, &je);
    int ok = want < 0 || took == want;
    if (took) {
        json_t *obj = json_array_get(v, 1);
        ok = ok && v && json_is_array(v) && json_array_size(v) == 2 &&
             json_is_string(json_array_get(v, 0)) && json_is_object(obj) &&
             json_string_length(json_array_get(v, 0)) == p.nlen &&
             !memcmp(json_string_value(json_array_get(v, 0)), p.name, p.nlen) &&
             json_object_size(obj) == p.n;
        size_t i = 0;
        const char *k;
        json_t *val;
        json_object_foreach(obj, k, val) {
            if (!ok || i >= p.n)
                break;
            ok = strlen(k) == p.p[i].klen && !memcmp(k, p.p[i].key, p.p[i].klen);
            char *d = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
            okt_jw w;
            okt_jw_init(&w);
            okt_jw_pval(&w, &p.p[i]);
            size_t n;
            char *t = okt_jw_take(&w, &n);
            ok = ok && d && t && !strcmp(d, t);
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)p.p[i].klen, p.p[i].key);
            ok = ok && okt_plain_get(&p, key) == &p.p[i];
            free(d);
            free(t);
            i++;
        }
    }
    if (!ok)
        fprintf(stderr, "  scan %d (want %d), json %s: %.*s\n", took, want,
                v ? "ok" : je.text, (int)len, text);
    json_decref(v);
    return ok;
}

TEST(plain_scan_takes_only_what_jansson_parses_alike)
{
    static const struct {
        const char *t;
        int want;
    } cases[] = {
        {"[\"getuserstate\",{\"qid\":\"g\"}]", 1},
        {"[\"a\",{}]", 1},
        {" \t\r\n[ \"a\" , { } ] \n", 1},
        {"[\"\",{\"\":\"\"}]", 1},
        {"[\"a\",{\"i\":0,\"j\":-1,\"k\":123456789012345678,\"t\":true,"
         "\"f\":false,\"n\":null,\"s\":\"Привет 😀 /\x7f\"}]", 1},
        {"[\"a\",{\"i\":-0}]", 0},
        {"[\"a\",{\"i\":01}]", 0},
        {"[\"a\",{\"i\":1234567890123456789}]", 0},
        {"[\"a\",{\"i\":1.0}]", 0},
        {"[\"a\",{\"i\":1e2}]", 0},
        {"[\"a\",{\"i\":1E2}]", 0},
        {"[\"a\",{\"i\":-}]", 0},
        {"[\"a\",{\"i\":tru}]", 0},
        {"[\"a\",{\"i\":nul}]", 0},
        {"[\"a\",{\"i\":truee}]", 0},
        {"[\"a\",{\"i\":\"\\n\"}]", 0},
        {"[\"a\",{\"i\":\"\x01\"}]", 0},
        {"[\"a\",{\"i\":\"\x1f\"}]", 0},
        {"[\"a\",{\"i\":\"\xff\"}]", 0},
        {"[\"a\",{\"i\":\"\xc0\x80\"}]", 0},
        {"[\"a\",{\"i\":\"\xe0\x80\x80\"}]", 0},
        {"[\"a\",{\"i\":\"\xed\xbf\xbf\"}]", 0},
        {"[\"a\",{\"i\":\"\xf0\x80\x80\x80\"}]", 0},
        {"[\"a\",{\"i\":\"\xf4\x90\x80\x80\"}]", 0},
        {"[\"a\",{\"i\":\"\xf5\x80\x80\x80\"}]", 0},
        {"[\"a\",{\"i\":\"\xe2\x82\"}]", 0},
        {"[\"a\",{\"i\":\"\xe2\x82\xac\"}]", 1},
        {"[\"a\",{\"i\":\"\xf4\x8f\xbf\xbf\"}]", 1},
        {"[\"a\",{\"i\":[]}]", 0},
        {"[\"a\",{\"i\":{}}]", 0},
        {"[\"a\",{\"i\":1,\"i\":2}]", 0},
        {"[\"a\",{\"i\":1,}]", 0},
        {"[\"a\",{,}]", 0},
        {"[\"a\",{\"i\" 1}]", 0},
        {"[\"a\",{\"i\":1}", 0},
        {"[\"a\",{\"i\":1}]]", 0},
        {"[\"a\",{\"i\":1}]x", 0},
        {"[\"a\",{\"i\":1},2]", 0},
        {"[\"a\"]", 0},
        {"[1,{}]", 0},
        {"{\"a\":{}}", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(scans_alike(cases[i].t, strlen(cases[i].t), cases[i].want));
    CHECK(scans_alike("[\"a\",{}]\0", 9, 0));     /* a NUL after it */
    /* the bounds: parameters and text */
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "[\"a\",{");
    for (int i = 0; i < OKT_PLAIN_MAX_PARAMS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\":%d",
                              i ? "," : "", i, i);
    snprintf(buf + n, sizeof buf - n, "}]");
    CHECK(scans_alike(buf, strlen(buf), 1));
    snprintf(buf + n, sizeof buf - n, ",\"x\":1}]");
    CHECK(scans_alike(buf, strlen(buf), 0));
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "[\"a\",{}]", 8);
    CHECK(scans_alike(buf, OKT_PLAIN_MAX_TEXT, 1));
    CHECK(scans_alike(buf, OKT_PLAIN_MAX_TEXT + 1, 0));
    /* mutations: whatever the scanner takes, jansson parses alike */
    static const char *const bases[] = {
        "[\"getuserstate\",{\"userlogin\":\"Peter\",\"qid\":\"0.12345\"}]",
        "[\"a\",{\"i\":-12,\"t\":true,\"f\":false,\"n\":null,\"s\":\"é😀\"}]",
    };
    static const char pick[] = "\"\\{}[],: -019e.Etfnlrsu\x01\x7f\xc3\xa9\xed\xf4";
    unsigned long long x = 0x9E3779B97F4A7C15ULL;
    int ok = 1;
    for (int it = 0; it < 200000 && ok; it++) {
        const char *base = bases[it % 2];
        size_t len = strlen(base);
        char m[256];
        memcpy(m, base, len);
        for (int k = 0; k < 1 + it % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % (len + 1));
            char c = (x >> 40) & 1 ? pick[(x >> 48) % (sizeof pick - 1)]
                                   : (char)(x >> 32);
            switch ((x >> 24) % 3) {
            case 0:
                if (at < len)
                    m[at] = c;
                break;
            case 1:
                if (len < sizeof m - 1) {
                    memmove(m + at + 1, m + at, len - at);
                    m[at] = c;
                    len++;
                }
                break;
            default:
                if (at < len) {
                    memmove(m + at, m + at + 1, len - at - 1);
                    len--;
                }
                break;
            }
        }
        ok = scans_alike(m, len, -1);
        /* taken: jansson parsed it (checked above); refused plain text
         * may still be JSON, the full path's */
    }
    CHECK(ok);
}

int main(void)
{
    RUN(writer_matches_json_dumps);
    RUN(plain_scan_takes_only_what_jansson_parses_alike);
    return TEST_SUMMARY();
}
