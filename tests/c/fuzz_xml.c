/* fuzz_xml.c - libFuzzer target for the oktellcommapper codec.
 * Any input: decode and parse must not crash or leak, and fail only with
 * bad_xml. What they accept must round-trip:
 *   decode(encode(kind, v)) == v   and   parse(build(parse(s))) == parse(s).
 * Corpus: tests/fuzz/corpus/fuzz_xml/ (seeded with spec/fixtures/). */
#include "commapper.h"

#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    okt_err err;
    json_t *v = NULL, *v2 = NULL;
    const char *kind = NULL, *kind2 = NULL;
    char *out = NULL;
    size_t n;

    if (okt_xml_decode(s, size, &v, &kind, &err) == 0) {
        for (int utf16 = 0; utf16 <= 1; utf16++) {
            REQUIRE(okt_xml_encode(kind, v, utf16, &out, &n, &err) == 0);
            REQUIRE(okt_xml_decode(out, n, &v2, &kind2, &err) == 0);
            REQUIRE(json_equal(v, v2));
            REQUIRE(kind == kind2);
            json_decref(v2);
            free(out);
        }
        json_decref(v);
    } else {
        REQUIRE(err.code == OKT_EBADXML || err.code == OKT_ENOMEM);
        REQUIRE(v == NULL);
    }

    json_t *d = NULL, *d2 = NULL;
    if (okt_xml_parse(s, size, &d, &err) == 0) {
        REQUIRE(okt_xml_build(d, (int)(size & 1), &out, &n, &err) == 0);
        REQUIRE(okt_xml_parse(out, n, &d2, &err) == 0);
        /* build writes the default version when the tree has none */
        if (!json_object_get(d, "version"))
            json_object_set_new(d, "version", json_string(OKT_XML_VERSION));
        REQUIRE(json_equal(d, d2));
        json_decref(d2);
        free(out);
        json_decref(d);
    } else {
        REQUIRE(err.code == OKT_EBADXML || err.code == OKT_ENOMEM);
    }
    return 0;
}
