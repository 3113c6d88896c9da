/* test_message.c - the JSON envelope and multipart reassembly/splitting. */
#include "test.h"
#include "message.h"

#include <stdlib.h>
#include <string.h>

static int parse_ok(const char *s)
{
    json_t *root;
    const char *name;
    json_t *obj;
    okt_err e;
    int rc = okt_msg_parse(s, strlen(s), &root, &name, &obj, &e);
    json_decref(root);
    return rc == 0;
}

TEST(parse_valid)
{
    json_t *root, *obj;
    const char *name;
    okt_err e;
    const char *s = "[\"pong\",{\"qid\":\"7\",\"result\":1}]";
    CHECK(okt_msg_parse(s, strlen(s), &root, &name, &obj, &e) == 0);
    CHECK_STR(name, "pong");
    CHECK_STR(okt_msg_qid(obj), "7");
    CHECK(!okt_msg_failed(obj));
    json_decref(root);
}

TEST(parse_rejects_shapes)
{
    CHECK(!parse_ok(""));
    CHECK(!parse_ok("{}"));
    CHECK(!parse_ok("[]"));
    CHECK(!parse_ok("[\"a\"]"));
    CHECK(!parse_ok("[\"a\",{},1]"));
    CHECK(!parse_ok("[1,{}]"));
    CHECK(!parse_ok("[\"a\",[]]"));
    CHECK(!parse_ok("[\"a\",\"b\"]"));
    CHECK(!parse_ok("[\"a\",{}"));
    CHECK(!parse_ok("[\"a\",{}] x"));
    CHECK(!parse_ok("[\"\xff\",{}]"));
    CHECK(!parse_ok("[\"a\",{\"x\":\"\\u0000\"}]"));
    CHECK(parse_ok(" [\"a\" , {} ] "));
}

TEST(parse_error_has_no_input_fragment)
{
    json_t *root, *obj;
    const char *name;
    okt_err e;
    const char *s = "[\"login\",{\"Password\":secrethash}]";
    CHECK(okt_msg_parse(s, strlen(s), &root, &name, &obj, &e) == -1);
    CHECK(root == NULL);
    CHECK(e.code == OKT_EPROTOCOL);
    CHECK(strstr(e.msg, "secret") == NULL);
}

static char *nested(unsigned depth)
{
    /* ["a", {"x": [[[...]]] }] with `depth` total levels */
    char *s = malloc(2 * depth + 32);
    size_t p = 0;
    p += (size_t)sprintf(s, "[\"a\",{\"x\":");
    for (unsigned i = 2; i < depth; i++)
        s[p++] = '[';
    for (unsigned i = 2; i < depth; i++)
        s[p++] = ']';
    if (depth <= 2)
        p += (size_t)sprintf(s + p, "1");
    p += (size_t)sprintf(s + p, "}]");
    s[p] = '\0';
    return s;
}

TEST(depth_at_and_over_limit)
{
    char *at = nested(OKT_MAX_JSON_DEPTH);
    char *over = nested(OKT_MAX_JSON_DEPTH + 1);
    CHECK(parse_ok(at));
    CHECK(!parse_ok(over));
    /* brackets inside strings do not count */
    char buf[512];
    snprintf(buf, sizeof buf, "[\"a\",{\"s\":\"%s\"}]",
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    CHECK(parse_ok(buf));
    free(at);
    free(over);
}

TEST(build_and_request)
{
    okt_err e;
    size_t len;
    json_t *p = json_pack("{s:s,s:i}", "mode", "full", "qid", 99);
    char *s = okt_msg_request("getpbxnumbers", "12", "Peter", p, &len, &e);
    CHECK_STR(s, "[\"getpbxnumbers\",{\"userlogin\":\"Peter\",\"mode\":"
                 "\"full\",\"qid\":\"12\"}]");
    CHECK(s && len == strlen(s));
    free(s);
    json_decref(p);
    /* params' own userlogin wins; no userlogin for ping */
    p = json_pack("{s:s}", "userlogin", "Other");
    s = okt_msg_request("x", "1", "Peter", p, NULL, &e);
    CHECK_STR(s, "[\"x\",{\"userlogin\":\"Other\",\"qid\":\"1\"}]");
    free(s);
    json_decref(p);
    s = okt_msg_request("ping", "3", NULL, NULL, NULL, &e);
    CHECK_STR(s, "[\"ping\",{\"qid\":\"3\"}]");
    free(s);
    s = okt_msg_build("pong", NULL, &len, &e);
    CHECK_STR(s, "[\"pong\",{}]");
    free(s);
    json_t *arr = json_array();
    CHECK(okt_msg_build("x", arr, NULL, &e) == NULL && e.code == OKT_EINVAL);
    json_decref(arr);
    CHECK(okt_msg_build("\xff", NULL, NULL, &e) == NULL);
}

TEST(failed_rules)
{
    const char *cases[][2] = {
        {"{}", "0"},
        {"{\"result\":1}", "0"},
        {"{\"result\":0}", "1"},
        {"{\"result\":false}", "1"},
        {"{\"result\":\"0\"}", "1"},
        {"{\"result\":1,\"error\":50093}", "1"},
        {"{\"result\":1,\"error\":0}", "0"},
        {"{\"errormsg\":\"Service not available\"}", "1"},
        {"{\"errormsg\":\"\"}", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = json_loads(cases[i][0], 0, NULL);
        if (okt_msg_failed(o) != (cases[i][1][0] == '1')) {
            fprintf(stderr, "  case %s\n", cases[i][0]);
            CHECK(0);
        }
        json_decref(o);
    }
}

static json_t *part(const char *id, json_t *count, json_t *num,
                    const char *b64)
{
    json_t *o = json_object();
    json_object_set_new(o, "message-id", json_string(id));
    json_object_set_new(o, "packetcount", count);
    json_object_set_new(o, "packetnumber", num);
    if (b64)
        json_object_set_new(o, "content", json_string(b64));
    return o;
}

static int feed(okt_mp *mp, json_t *o, int64_t now, char **t, size_t *l)
{
    okt_err e;
    int rc = okt_mp_feed(mp, o, now, t, l, &e);
    json_decref(o);
    return rc;
}

TEST(multipart_out_of_order_and_duplicates)
{
    okt_err e;
    okt_mp *mp = okt_mp_new(NULL, &e);
    char *t;
    size_t l;
    /* no partial: no room for partials held either */
    size_t idle = okt_mp_mem(mp);
    CHECK(idle < 256);
    /* "hello world" = "hell" "o wo" "rld" */
    CHECK(feed(mp, part("m1", json_integer(3), json_integer(2), "cmxk"), 0,
               &t, &l) == 0);
    CHECK(okt_mp_pending(mp) == 1);
    CHECK(okt_mp_mem(mp) > idle);
    CHECK(feed(mp, part("m1", json_string("3"), json_string("0"), "aGVsbA=="),
               1, &t, &l) == 0);
    CHECK(feed(mp, part("m1", json_integer(3), json_integer(0), "aGVsbA=="),
               2, &t, &l) == 0);   /* duplicate */
    CHECK(feed(mp, part("m1", json_real(3), json_integer(1), "byB3bw=="), 3,
               &t, &l) == 1);
    CHECK(t && l == 11 && memcmp(t, "hello world", 11) == 0);
    free(t);
    CHECK(okt_mp_pending(mp) == 0);
    CHECK(okt_mp_mem(mp) == idle);
    okt_mp_free(mp);
}

TEST(multipart_errors)
{
    okt_err e;
    okt_mp *mp = okt_mp_new(NULL, &e);
    char *t;
    size_t l;
    CHECK(feed(mp, part("a", json_integer(0), json_integer(0), "eA=="), 0, &t,
               &l) == -1);
    CHECK(feed(mp, part("a", json_integer(2), json_integer(2), "eA=="), 0, &t,
               &l) == -1);   /* 1-based numbering is out of range */
    CHECK(feed(mp, part("a", json_integer(2), json_integer(-1), "eA=="), 0, &t,
               &l) == -1);
    CHECK(feed(mp, part("a", json_integer(2), json_integer(0), NULL), 0, &t,
               &l) == -1);
    CHECK(feed(mp, part("a", json_integer(2), json_integer(0), "!!!!"), 0, &t,
               &l) == -1);
    CHECK(feed(mp, part("a", json_integer(OKT_MAX_MP_PARTS), json_integer(0),
                        "eA=="), 0, &t, &l) == 0);
    CHECK(feed(mp, part("b", json_integer(OKT_MAX_MP_PARTS + 1),
                        json_integer(0), "eA=="), 0, &t, &l) == -1);
    /* packetcount changing drops the partial */
    CHECK(okt_mp_pending(mp) == 1);
    CHECK(feed(mp, part("a", json_integer(3), json_integer(1), "eA=="), 0, &t,
               &l) == -1);
    CHECK(okt_mp_pending(mp) == 0);
    json_t *o = json_object();
    CHECK(okt_mp_feed(mp, o, 0, &t, &l, &e) == -1 && e.code == OKT_EPROTOCOL);
    json_decref(o);
    okt_mp_free(mp);
}

TEST(multipart_bytes_limit)
{
    okt_mp_cfg cfg;
    okt_mp_cfg_init(&cfg);
    cfg.max_bytes = 6;
    okt_err e;
    okt_mp *mp = okt_mp_new(&cfg, &e);
    char *t;
    size_t l;
    /* "abc" + "def" = 6 bytes: at the limit */
    CHECK(feed(mp, part("x", json_integer(2), json_integer(0), "YWJj"), 0, &t,
               &l) == 0);
    CHECK(feed(mp, part("x", json_integer(2), json_integer(1), "ZGVm"), 0, &t,
               &l) == 1);
    CHECK(l == 6);
    free(t);
    /* "abc" + "defg" = 7: over */
    CHECK(feed(mp, part("y", json_integer(2), json_integer(0), "YWJj"), 0, &t,
               &l) == 0);
    CHECK(feed(mp, part("y", json_integer(2), json_integer(1), "ZGVmZw=="), 0,
               &t, &l) == -1);
    CHECK(okt_mp_pending(mp) == 0);
    okt_mp_free(mp);
}

/* All partials together are bounded (max_total): a part that would go
 * over evicts the least recently fed other partials; the message it
 * belongs to survives. */
TEST(multipart_total_bound)
{
    okt_mp_cfg cfg;
    okt_mp_cfg_init(&cfg);
    cfg.max_bytes = 6;
    cfg.max_total = 9;
    okt_err e;
    okt_mp *mp = okt_mp_new(&cfg, &e);
    char *t;
    size_t l;
    /* three partials of 3 bytes each: 9, at the bound */
    CHECK(feed(mp, part("a", json_integer(2), json_integer(0), "YWJj"), 1, &t,
               &l) == 0);
    CHECK(feed(mp, part("b", json_integer(2), json_integer(0), "YWJj"), 2, &t,
               &l) == 0);
    CHECK(feed(mp, part("c", json_integer(2), json_integer(0), "YWJj"), 3, &t,
               &l) == 0);
    CHECK(okt_mp_pending(mp) == 3);
    /* one more byte for b: over, so a (the oldest other) goes */
    CHECK(feed(mp, part("b", json_integer(2), json_integer(1), "ZA=="), 4, &t,
               &l) == 1);
    CHECK(l == 4 && memcmp(t, "abcd", 4) == 0);
    free(t);
    CHECK(okt_mp_pending(mp) == 1);   /* c is left; a was evicted */
    CHECK(feed(mp, part("a", json_integer(2), json_integer(1), "ZA=="), 5, &t,
               &l) == 0);             /* a starts over: cannot complete */
    CHECK(feed(mp, part("c", json_integer(2), json_integer(1), "ZGVm"), 6, &t,
               &l) == 1);
    CHECK(l == 6 && memcmp(t, "abcdef", 6) == 0);
    free(t);
    okt_mp_free(mp);
}

TEST(multipart_stale_and_pending_bound)
{
    okt_err e;
    okt_mp *mp = okt_mp_new(NULL, &e);
    char *t;
    size_t l;
    char id[16];
    for (unsigned i = 0; i < OKT_MAX_MP_PENDING + 5; i++) {
        snprintf(id, sizeof id, "id%u", i);
        CHECK(feed(mp, part(id, json_integer(2), json_integer(0), "eA=="),
                   1000 + i, &t, &l) == 0);
    }
    CHECK(okt_mp_pending(mp) == OKT_MAX_MP_PENDING);
    /* the oldest five were evicted: id0 can no longer complete */
    CHECK(feed(mp, part("id0", json_integer(2), json_integer(1), "eQ=="),
               2000, &t, &l) == 0);
    /* id10 still can */
    CHECK(feed(mp, part("id10", json_integer(2), json_integer(1), "eQ=="),
               2000, &t, &l) == 1);
    CHECK(l == 2 && memcmp(t, "xy", 2) == 0);
    free(t);
    /* left: id6..id68 without id10, and id0 (which evicted id5) */
    CHECK(okt_mp_pending(mp) == OKT_MAX_MP_PENDING - 1);
    CHECK(okt_mp_deadline(mp) == 1006 + OKT_MP_STALE_MS);
    CHECK(okt_mp_expire(mp, 1006 + OKT_MP_STALE_MS - 1) == 0);
    CHECK(okt_mp_expire(mp, 1006 + OKT_MP_STALE_MS) == 1);
    CHECK(okt_mp_expire(mp, 2000 + OKT_MP_STALE_MS) == OKT_MAX_MP_PENDING - 2);
    CHECK(okt_mp_pending(mp) == 0 && okt_mp_deadline(mp) == -1);
    CHECK(okt_mp_mem(mp) < 256);   /* the room for 64 partials is gone */
    /* and comes back on demand */
    CHECK(feed(mp, part("z", json_integer(2), json_integer(0), "eA=="),
               3000, &t, &l) == 0);
    CHECK(feed(mp, part("z", json_integer(2), json_integer(1), "eQ=="),
               3001, &t, &l) == 1);
    CHECK(l == 2 && memcmp(t, "xy", 2) == 0);
    free(t);
    okt_mp_free(mp);
}

TEST(split_roundtrip_utf8)
{
    /* Cyrillic (2-byte), CJK (3-byte), emoji (4-byte) mixed */
    const char *text = "[\"event\",{\"text\":\"Привет, 世界! 😀 ёжик\"}]";
    size_t len = strlen(text);
    for (size_t pb = 4; pb <= len + 1; pb++) {
        char **msgs;
        size_t n;
        okt_err e;
        if (okt_mp_split(text, len, "mid", pb, &msgs, &n, &e) != 0) {
            CHECK(0);
            continue;
        }
        okt_mp *mp = okt_mp_new(NULL, &e);
        char *out = NULL;
        size_t olen = 0;
        int done = 0;
        /* feed in reverse order: the reassembler must not care */
        for (size_t i = n; i-- > 0;) {
            json_t *root, *obj;
            const char *name;
            CHECK(okt_msg_parse(msgs[i], strlen(msgs[i]), &root, &name, &obj,
                                &e) == 0);
            CHECK_STR(name, "multipart");
            /* each part decodes to whole UTF-8 characters */
            int rc = okt_mp_feed(mp, obj, 0, &out, &olen, &e);
            json_decref(root);
            if (rc == 1)
                done++;
            CHECK(rc == (i == 0 ? 1 : 0));
        }
        CHECK(done == 1 && out && olen == len && memcmp(out, text, len) == 0);
        free(out);
        okt_mp_free(mp);
        okt_mp_split_free(msgs, n);
    }
}

TEST(split_parts_are_utf8_whole)
{
    const char *text = "ёёёё";  /* 8 bytes, 2 each */
    char **msgs;
    size_t n;
    okt_err e;
    CHECK(okt_mp_split(text, strlen(text), "z", 5, &msgs, &n, &e) == 0);
    CHECK(n == 2);   /* 4 + 4 bytes: 5 would cut a character */
    okt_mp_split_free(msgs, n);
    CHECK(okt_mp_split("\x80\x80\x80\x80\x80", 5, "z", 4, &msgs, &n, &e) ==
          -1);
    CHECK(okt_mp_split("abc", 3, "z", 3, &msgs, &n, &e) == -1);
    /* too many parts */
    size_t big = 4 * (OKT_MAX_MP_PARTS + 1);
    char *s = malloc(big);
    memset(s, 'a', big);
    CHECK(okt_mp_split(s, big, "z", 4, &msgs, &n, &e) == -1);
    CHECK(okt_mp_split(s, big - 4, "z", 4, &msgs, &n, &e) == 0 &&
          n == OKT_MAX_MP_PARTS);
    okt_mp_split_free(msgs, n);
    free(s);
}

/* okt_msg_scan: linear bounds before jansson builds anything. */
TEST(scan_bounds)
{
    okt_err err;
    const char *ok = "[\"ping\",{\"qid\":\"a b\",\"n\":[1,2,{\"x\":true}]}]";
    CHECK(okt_msg_scan(ok, strlen(ok), 4, 20, 16, 64, NULL) == 0);
    CHECK(okt_msg_scan(ok, strlen(ok), 2, 20, 16, 64, &err) == -1);
    CHECK(strstr(err.msg, "nested deeper than 2") != NULL);
    CHECK(okt_msg_scan(ok, strlen(ok), 4, 5, 16, 64, &err) == -1);
    CHECK(strstr(err.msg, "more than 5 items") != NULL);
    CHECK(okt_msg_scan(ok, strlen(ok), 4, 20, 2, 64, &err) == -1);
    CHECK(strstr(err.msg, "longer than 2 bytes") != NULL);
    CHECK(okt_msg_scan(ok, strlen(ok), 4, 20, 16, 10, &err) == -1);
    CHECK(strstr(err.msg, "over 10 bytes of text") != NULL);
    /* brackets inside strings are text, escapes do not end a string */
    const char *s = "[\"[[[[\\\"]]\",{}]";
    CHECK(okt_msg_scan(s, strlen(s), 2, 20, 16, 64, NULL) == 0);
}

int main(void)
{
    RUN(parse_valid);
    RUN(parse_rejects_shapes);
    RUN(parse_error_has_no_input_fragment);
    RUN(depth_at_and_over_limit);
    RUN(build_and_request);
    RUN(failed_rules);
    RUN(multipart_out_of_order_and_duplicates);
    RUN(multipart_errors);
    RUN(multipart_bytes_limit);
    RUN(multipart_total_bound);
    RUN(multipart_stale_and_pending_bound);
    RUN(split_roundtrip_utf8);
    RUN(split_parts_are_utf8_whole);
    RUN(scan_bounds);
    return TEST_SUMMARY();
}
