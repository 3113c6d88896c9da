/* test_commapper.c - the oktellcommapper codec over the reference's samples
 * (spec/fixtures/, read from the checkout root), its round trips, its
 * limits in at/over pairs and its hostile inputs. */
#include "test.h"
#include "commapper.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const fixtures[] = {
    "userinfo",     "getuserstate",        "setuserstate1", "setuserstate2",
    "linestate",    "settaskactive",       "settaskactiveresult",
    "confirmresult", "event121",           "event122",      "event123",
};
static const char *const fixture_kinds[] = {
    "userinfo",  "userstate",           "userstate",     "userstate",
    "linestate", "settaskactive",       "settaskactiveresult",
    "confirmresult", "event",           "event",         "event",
};
#define NFIX (sizeof fixtures / sizeof fixtures[0])

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "spec/fixtures/%s.xml", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s) {
        s[n] = '\0';
        *len = (size_t)n;
    }
    return s;
}

static json_t *decode_fixture(const char *name, const char **kind)
{
    size_t len;
    char *s = slurp(name, &len);
    json_t *v = NULL;
    okt_err err;
    if (!s)
        return NULL;
    if (okt_xml_decode(s, len, &v, kind, &err) != 0)
        fprintf(stderr, "  %s: %s\n", name, err.msg);
    free(s);
    return v;
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long iget(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Decode must fail with bad_xml and a message. */
static int is_bad(const char *s, size_t len)
{
    json_t *v = (json_t *)1;
    okt_err err;
    okt_err_clear(&err);
    int rc = okt_xml_decode(s, len, &v, NULL, &err);
    json_t *d = (json_t *)1;
    okt_err err2;
    int rc2 = okt_xml_parse(s, len, &d, &err2);
    int ok = rc == -1 && v == NULL && err.code == OKT_EBADXML && err.msg[0];
    /* parse has no typed checks, but must never accept what XML rejects */
    if (rc2 == 0)
        json_decref(d);
    return ok;
}

static int is_bad_str(const char *s)
{
    return is_bad(s, strlen(s));
}

TEST(fixtures_decode_every_field)
{
    const char *kind;
    json_t *v = decode_fixture("userinfo", &kind);
    CHECK(v != NULL);
    CHECK_STR(kind, "userinfo");
    CHECK_STR(sget(v, "id"), "da803f01-ea77-40fa-bc9d-e2efb36fd5a8");
    CHECK(iget(v, "type") == 1);
    CHECK_STR(sget(v, "type_name"), "utUser");
    CHECK_STR(sget(v, "name"), "Петр");
    CHECK(json_is_true(json_object_get(v, "isoperator")));
    const json_t *g = json_object_get(v, "group");
    CHECK_STR(sget(g, "id"), "c4e3b424-3048-4cce-a2e4-033c532a7d99");
    CHECK_STR(sget(g, "name"), "Программисты");
    CHECK_STR(sget(v, "login"), "Peter");
    CHECK_STR(sget(v, "password"), "123");
    const json_t *r = json_object_get(v, "role");
    CHECK_STR(sget(r, "id"), "41fbf675-8f73-488e-83ca-c108b915f51d");
    CHECK_STR(sget(r, "name"), "Администратор");
    CHECK_STR(sget(v, "callerid"), "");
    CHECK_STR(sget(v, "info"), "");
    const json_t *rights = json_object_get(v, "rights");
    const json_t *titles = json_object_get(v, "right_titles");
    CHECK(json_object_size(rights) == 45);
    CHECK(json_object_size(titles) == 45);
    CHECK(json_is_true(json_object_get(rights, "extwp")));
    CHECK(json_is_true(json_object_get(rights, "viewofficeclientsedit")));
    CHECK_STR(sget(titles, "extwp"), "Расширенное рабочее место");
    CHECK_STR(sget(titles, "showspecialscripts"), "Показывать cистемные сценарии");
    CHECK_STR(sget(titles, "viewofficeclientsedit"), "Редактирование клиентов");
    json_decref(v);

    v = decode_fixture("setuserstate1", &kind);
    CHECK_STR(kind, "userstate");
    CHECK_STR(sget(v, "state"), "lunch");
    CHECK(iget(v, "code") == 2);
    CHECK(json_is_false(json_object_get(v, "redirect")));
    CHECK_STR(sget(v, "description"), "Ушел на обед");
    json_decref(v);

    v = decode_fixture("setuserstate2", &kind);
    CHECK_STR(sget(v, "state"), "ready");
    CHECK(json_is_true(json_object_get(v, "redirect")));
    CHECK(json_object_get(v, "description") == NULL);
    json_decref(v);

    v = decode_fixture("getuserstate", &kind);
    CHECK(iget(v, "code") == 1);
    CHECK(json_object_size(v) == 3);
    json_decref(v);

    v = decode_fixture("linestate", &kind);
    CHECK_STR(kind, "linestate");
    CHECK_STR(sget(v, "state"), "ready");
    CHECK(iget(v, "code") == 4);
    json_decref(v);

    v = decode_fixture("settaskactive", &kind);
    CHECK_STR(sget(v, "tasktype"), "call");
    CHECK_STR(sget(v, "idtask"), "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    CHECK(json_is_true(json_object_get(v, "active")));
    json_decref(v);

    v = decode_fixture("settaskactiveresult", &kind);
    CHECK(json_is_false(json_object_get(v, "success")));
    CHECK_STR(sget(v, "errormessage"), "Задачу монопольно редактирует Сидоров Иван");
    json_decref(v);

    v = decode_fixture("confirmresult", &kind);
    CHECK_STR(kind, "confirmresult");
    CHECK_STR(sget(v, "result"), "ok");
    json_decref(v);

    for (int id = 121; id <= 122; id++) {
        v = decode_fixture(id == 121 ? "event121" : "event122", &kind);
        CHECK_STR(kind, "event");
        CHECK(iget(v, "id") == id);
        CHECK_STR(sget(v, "name"), id == 121 ? "tminterfaceconfirm" : "tminterfacereserve");
        CHECK_STR(sget(v, "idtask"), "0f398eb4-5d78-446c-84f4-6892ab72751b");
        CHECK_STR(sget(v, "idproject"), "ab37c6e6-e983-458a-8621-5e0921ade3d1");
        CHECK_STR(sget(v, "taskname"), "Прозвон клиентов");
        CHECK_STR(sget(v, "taskcode"), "");
        CHECK_STR(sget(v, "idlist"), "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410");
        CHECK(iget(v, "idinlist") == 67);
        CHECK_STR(sget(v, "number"), "120151112");
        CHECK(strncmp(sget(v, "textb64") ? sget(v, "textb64") : "", "0JLRiyDQt9Cw", 12) == 0);
        const char *t = sget(v, "text");
        const char *prefix = "Вы зарезервированы на выполнение задачи";
        CHECK(t && strncmp(t, prefix, strlen(prefix)) == 0);
        CHECK(t && strstr(t, "Звонок на номер: 120151112"));
        json_decref(v);
    }

    v = decode_fixture("event123", &kind);
    CHECK(iget(v, "id") == 123);
    CHECK_STR(sget(v, "name"), "tminterfaceclose");
    CHECK_STR(sget(v, "idtask"), "0f398eb4-5d78-446c-84f4-6892ab72751b");
    CHECK(json_object_size(v) == 3);
    json_decref(v);
}

TEST(encode_decode_roundtrip)
{
    for (size_t i = 0; i < NFIX; i++) {
        const char *kind;
        json_t *v = decode_fixture(fixtures[i], &kind);
        CHECK(v != NULL);
        CHECK_STR(kind, fixture_kinds[i]);
        for (int utf16 = 0; v && utf16 <= 1; utf16++) {
            char *out;
            size_t n;
            okt_err err;
            json_t *v2 = NULL;
            const char *k2;
            CHECK(okt_xml_encode(kind, v, utf16, &out, &n, &err) == 0);
            if (utf16)
                CHECK(n > 2 && (unsigned char)out[0] == 0xFF && (unsigned char)out[1] == 0xFE);
            else
                CHECK(strncmp(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>", 38) == 0);
            CHECK(okt_xml_decode(out, n, &v2, &k2, &err) == 0);
            CHECK(v2 && json_equal(v, v2));
            CHECK_STR(k2, kind);
            json_decref(v2);
            free(out);
        }
        json_decref(v);
    }
}

TEST(parse_build_roundtrip)
{
    for (size_t i = 0; i < NFIX; i++) {
        size_t len;
        char *s = slurp(fixtures[i], &len);
        json_t *d = NULL, *d2 = NULL;
        okt_err err;
        CHECK(s && okt_xml_parse(s, len, &d, &err) == 0);
        for (int utf16 = 0; d && utf16 <= 1; utf16++) {
            char *out;
            size_t n;
            CHECK(okt_xml_build(d, utf16, &out, &n, &err) == 0);
            CHECK(okt_xml_parse(out, n, &d2, &err) == 0);
            CHECK(json_equal(d, d2));
            json_decref(d2);
            free(out);
        }
        CHECK_STR(sget(d, "version"), "80710");
        json_decref(d);
        free(s);
    }
}

TEST(generic_tree_shape)
{
    size_t len;
    char *s = slurp("userinfo", &len);
    json_t *d = NULL;
    okt_err err;
    CHECK(okt_xml_parse(s, len, &d, &err) == 0);
    CHECK_STR(sget(d, "name"), "userinfo");
    const json_t *items = json_object_get(d, "items");
    CHECK(json_array_size(items) == 11);
    const json_t *role = json_array_get(items, 7);
    CHECK_STR(sget(role, "tag"), "property_cdata");
    CHECK_STR(sget(role, "key"), "role");
    CHECK_STR(sget(role, "value"), "41fbf675-8f73-488e-83ca-c108b915f51d");
    CHECK_STR(sget(role, "text"), "Администратор");
    const json_t *coll = json_array_get(items, 10);
    CHECK_STR(sget(coll, "tag"), "property_collection");
    CHECK_STR(sget(coll, "count"), "1");
    const json_t *set = json_array_get(json_object_get(coll, "items"), 0);
    CHECK_STR(sget(set, "id"), "41fbf675-8f73-488e-83ca-c108b915f51d");
    CHECK(json_array_size(json_object_get(set, "items")) == 45);
    json_decref(d);
    free(s);
}

TEST(utf16_and_declared_utf16_input)
{
    size_t len;
    char *s = slurp("setuserstate1", &len);
    /* UTF-16LE and BE with a BOM, built by hand from the UTF-8 text
     * (all of it is in the BMP). */
    for (int be = 0; be <= 1; be++) {
        unsigned char *u = malloc(2 + len * 2);
        size_t k = 0;
        u[k++] = be ? 0xFE : 0xFF;
        u[k++] = be ? 0xFF : 0xFE;
        for (size_t i = 0; i < len;) {
            unsigned c = (unsigned char)s[i];
            if (c < 0x80) {
                i += 1;
            } else if (c < 0xE0) {
                c = ((c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
                i += 2;
            } else {
                c = ((c & 0x0F) << 12) | (((unsigned char)s[i + 1] & 0x3F) << 6) |
                    ((unsigned char)s[i + 2] & 0x3F);
                i += 3;
            }
            u[k++] = (unsigned char)(be ? c >> 8 : c & 0xFF);
            u[k++] = (unsigned char)(be ? c & 0xFF : c >> 8);
        }
        json_t *v = NULL;
        okt_err err;
        CHECK(okt_xml_decode((char *)u, k, &v, NULL, &err) == 0);
        CHECK_STR(sget(v, "description"), "Ушел на обед");
        json_decref(v);
        /* odd length and a lone surrogate are broken UTF-16 */
        CHECK(is_bad((char *)u, k - 1));
        u[10] = be ? 0xD8 : 0x00;
        u[11] = be ? 0x00 : 0xD8;
        CHECK(is_bad((char *)u, k));
        free(u);
    }
    free(s);
}

TEST(bad_inputs)
{
    CHECK(is_bad("", 0));
    CHECK(is_bad(NULL, 0));
    CHECK(is_bad_str("not xml"));
    CHECK(is_bad_str("<root/>"));
    CHECK(is_bad_str("<oktellcommapper/>"));
    CHECK(is_bad_str("<oktellcommapper><data name=\"nosuch\"/></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data name=\"linestate\"/></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"x\"/></data></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"12\"/></data></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data name=\"userstate\"><property_simple key=\"state\" value=\"4\"/></data></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data><event id=\"121\"><property_simple key=\"idtask\" value=\"a\"/>"
                     "<property_cdata key=\"textb64\"><![CDATA[%%%]]></property_cdata></event></data></oktellcommapper>"));
    CHECK(is_bad_str("<oktellcommapper><data><event id=\"121\"/></data></oktellcommapper>"));
    /* truncated at every byte */
    size_t len;
    char *s = slurp("linestate", &len);
    size_t end = (size_t)(strstr(s, "</oktellcommapper>") - s);
    for (size_t n = 0; n <= end; n++)
        CHECK(is_bad(s, n));
    free(s);
}

TEST(hostile_documents)
{
    /* external entity, external DTD over the network, entity bomb */
    CHECK(is_bad_str("<?xml version=\"1.0\"?><!DOCTYPE oktellcommapper [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                     "<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"&e;\"/></data></oktellcommapper>"));
    CHECK(is_bad_str("<!DOCTYPE oktellcommapper SYSTEM \"http://127.0.0.1:9/x.dtd\"><oktellcommapper>"
                     "<data name=\"linestate\"><property_simple key=\"state\" value=\"4\"/></data></oktellcommapper>"));
    CHECK(is_bad_str("<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                     "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
                     "<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"&d;\"/></data></oktellcommapper>"));

    /* 10,000-deep and 100 MB documents fail fast */
    clock_t t0 = clock();
    size_t n = 10000;
    char *deep = malloc(n * 3 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(deep + i * 3, "<a>", 3);
    deep[n * 3] = '\0';
    CHECK(is_bad(deep, n * 3));
    free(deep);
    size_t big = 100u * 1024 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "<oktellcommapper>", 17);
    CHECK(is_bad(huge, big));
    free(huge);
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
}

/* root + data + (n) nested sets + a leaf: depth n + 3 */
static char *nested(unsigned n, size_t *len)
{
    const char *head = "<oktellcommapper><data name=\"linestate\">";
    const char *leaf = "<property_simple key=\"state\" value=\"4\"/>";
    const char *tail = "</data></oktellcommapper>";
    size_t cap = strlen(head) + strlen(leaf) + strlen(tail) + n * 32 + 1;
    char *s = malloc(cap), *p = s;
    p += sprintf(p, "%s", head);
    for (unsigned i = 0; i < n; i++)
        p += sprintf(p, "<property_set>");
    p += sprintf(p, "%s", leaf);
    for (unsigned i = 0; i < n; i++)
        p += sprintf(p, "</property_set>");
    p += sprintf(p, "%s", tail);
    *len = (size_t)(p - s);
    return s;
}

TEST(limits_at_and_over)
{
    size_t len;
    json_t *v = NULL;
    okt_err err;
    char *s = nested(OKT_MAX_XML_DEPTH - 3, &len);
    CHECK(okt_xml_decode(s, len, &v, NULL, &err) == 0);
    json_decref(v);
    v = NULL;
    /* build accepts what parse produced at the limit */
    json_t *d = NULL;
    char *out = NULL;
    size_t n;
    CHECK(okt_xml_parse(s, len, &d, &err) == 0);
    CHECK(okt_xml_build(d, 0, &out, &n, &err) == 0);
    json_decref(d);
    free(out);
    free(s);
    s = nested(OKT_MAX_XML_DEPTH - 2, &len);
    CHECK(is_bad(s, len));
    free(s);

    /* element count: root + data + state + filler */
    const char *head = "<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"4\"/>";
    const char *unit = "<x/>";
    for (int over = 0; over <= 1; over++) {
        size_t fill = OKT_MAX_XML_ITEMS - 3 + (size_t)over;
        s = malloc(strlen(head) + fill * 4 + 64);
        char *p = s + sprintf(s, "%s", head);
        for (size_t i = 0; i < fill; i++, p += 4)
            memcpy(p, unit, 4);
        p += sprintf(p, "</data></oktellcommapper>");
        if (over) {
            CHECK(is_bad(s, (size_t)(p - s)));
        } else {
            CHECK(okt_xml_decode(s, (size_t)(p - s), &v, NULL, &err) == 0);
            json_decref(v);
        }
        free(s);
    }

    /* bytes: a document of exactly OKT_MAX_XML_BYTES parses, one more fails */
    const char *doc = "<oktellcommapper><data name=\"linestate\"><property_simple key=\"state\" value=\"4\"/></data></oktellcommapper>";
    size_t dl = strlen(doc);
    s = malloc(OKT_MAX_XML_BYTES + 1);
    memcpy(s, doc, dl);
    /* comments of 1000 bytes, then blanks */
    size_t pos = dl;
    while (OKT_MAX_XML_BYTES - pos >= 1000) {
        memcpy(s + pos, "<!--", 4);
        memset(s + pos + 4, 'c', 993);
        memcpy(s + pos + 997, "-->", 3);
        pos += 1000;
    }
    memset(s + pos, ' ', OKT_MAX_XML_BYTES + 1 - pos);
    CHECK(okt_xml_decode(s, OKT_MAX_XML_BYTES, &v, NULL, &err) == 0);
    json_decref(v);
    CHECK(is_bad(s, OKT_MAX_XML_BYTES + 1));
    free(s);
}

static json_t *obj(const char *json)
{
    return json_loads(json, 0, NULL);
}

static int encode_err(const char *kind, const char *json)
{
    json_t *v = obj(json);
    char *out = (char *)1;
    size_t n;
    okt_err err;
    okt_err_clear(&err);
    int rc = okt_xml_encode(kind, v, 0, &out, &n, &err);
    json_decref(v);
    if (rc == 0)
        free(out);
    return rc == -1 && out == NULL ? err.code : 0;
}

TEST(encode_misuse_is_einval)
{
    CHECK(encode_err("nosuch", "{}") == OKT_EINVAL);
    CHECK(encode_err(NULL, "{}") == OKT_EINVAL);
    CHECK(encode_err("userstate", "[]") == OKT_EINVAL);
    CHECK(encode_err("userstate", "{}") == OKT_EINVAL);
    CHECK(encode_err("userstate", "{\"state\":\"lunch\",\"code\":1}") == OKT_EINVAL);
    CHECK(encode_err("userstate", "{\"state\":\"asleep\"}") == OKT_EINVAL);
    CHECK(encode_err("userstate", "{\"code\":4}") == OKT_EINVAL);
    CHECK(encode_err("userstate", "{\"state\":\"ready\",\"redirect\":\"yes\"}") == OKT_EINVAL);
    CHECK(encode_err("linestate", "{\"code\":6}") == OKT_EINVAL);
    CHECK(encode_err("userinfo", "{\"id\":\"a\"}") == OKT_EINVAL);
    CHECK(encode_err("userinfo", "{\"id\":\"a\",\"login\":\"b\",\"rights\":{\"x\":\"y\"}}") == OKT_EINVAL);
    CHECK(encode_err("settaskactive", "{\"tasktype\":\"call\",\"idtask\":\"a\"}") == OKT_EINVAL);
    CHECK(encode_err("confirmresult", "{\"result\":3}") == OKT_EINVAL);
    CHECK(encode_err("event", "{\"id\":121,\"name\":\"tminterfaceclose\",\"idtask\":\"a\"}") == OKT_EINVAL);
    CHECK(encode_err("event", "{\"id\":123,\"idtask\":\"a\",\"textb64\":\"aGk=\",\"text\":\"ho\"}") == OKT_EINVAL);
    CHECK(encode_err("settaskactiveresult", "{\"success\":true,\"errormessage\":\"a\\u0001\"}") == OKT_EINVAL);
    /* and valid ones pass */
    CHECK(encode_err("userstate", "{\"state\":\"lunch\",\"code\":2}") == 0);
    CHECK(encode_err("event", "{\"id\":123,\"idtask\":\"a\",\"textb64\":\"aGk=\",\"text\":\"hi\"}") == 0);
}

TEST(encode_layout)
{
    json_t *v = obj("{\"state\":\"lunch\",\"description\":\"Ушел на обед\",\"redirect\":false}");
    char *out;
    size_t n;
    okt_err err;
    CHECK(okt_xml_encode("userstate", v, 0, &out, &n, &err) == 0);
    CHECK(strlen(out) == n);
    CHECK(strstr(out, "<oktellcommapper version=\"80710\">") != NULL);
    CHECK(strstr(out, "<property_simple key=\"state\" value=\"2\" name=\"usLunch\" />") != NULL);
    CHECK(strstr(out, "<![CDATA[Ушел на обед]]>") != NULL);
    free(out);
    json_decref(v);
}

static void *decode_loop(void *arg)
{
    const char *s = arg;
    for (int i = 0; i < 200; i++) {
        json_t *v = NULL;
        okt_err err;
        if (okt_xml_decode(s, strlen(s), &v, NULL, &err) != 0)
            return (void *)1;
        json_decref(v);
    }
    return NULL;
}

TEST(threads_decode_concurrently)
{
    size_t len;
    char *s = slurp("userinfo", &len);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, decode_loop, s);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    free(s);
}

int main(void)
{
    RUN(fixtures_decode_every_field);
    RUN(encode_decode_roundtrip);
    RUN(parse_build_roundtrip);
    RUN(generic_tree_shape);
    RUN(utf16_and_declared_utf16_input);
    RUN(bad_inputs);
    RUN(hostile_documents);
    RUN(limits_at_and_over);
    RUN(encode_misuse_is_einval);
    RUN(encode_layout);
    RUN(threads_decode_concurrently);
    return TEST_SUMMARY();
}
