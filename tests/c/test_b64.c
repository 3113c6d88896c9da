/* test_b64.c - okt_b64_encode / okt_b64_decode: the RFC 4648 vectors,
 * round trips across the chunk sizes, blanks, and what strict decoding
 * refuses. */
#include "test.h"
#include "b64.h"

#include <stdlib.h>
#include <string.h>

static const char *const vectors[][2] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
    {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

/* Decodes s; returns 1 if it decoded to want (NUL-terminated after it). */
static int decodes_to(const char *s, const char *want)
{
    size_t n = 99;
    okt_err err;
    unsigned char *d = okt_b64_decode(s, strlen(s), &n, &err);
    int ok = d && n == strlen(want) && memcmp(d, want, n) == 0 && d[n] == 0;
    free(d);
    return ok;
}

static int refused(const char *s, size_t len)
{
    size_t n = 99;
    okt_err err;
    okt_err_clear(&err);
    unsigned char *d = okt_b64_decode(s, len, &n, &err);
    free(d);
    return d == NULL && err.code == OKT_EINVAL && err.msg[0];
}

TEST(rfc4648_vectors)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = 99;
        okt_err err;
        char *e = okt_b64_encode(vectors[i][0], strlen(vectors[i][0]), &n,
                                 &err);
        CHECK_STR(e, vectors[i][1]);
        CHECK(n == strlen(vectors[i][1]));
        free(e);
        CHECK(decodes_to(vectors[i][1], vectors[i][0]));
    }
    /* outlen is optional */
    okt_err err;
    char *e = okt_b64_encode("hi", 2, NULL, &err);
    CHECK_STR(e, "aGk=");
    free(e);
    unsigned char *d = okt_b64_decode("aGk=", 4, NULL, &err);
    CHECK_STR((char *)d, "hi");
    free(d);
}

TEST(roundtrip_every_length_and_chunk)
{
    /* Binary data, lengths around the 1024-letter decode chunk and, once,
     * past the 3 MiB encode chunk. */
    size_t big = (3u << 20) + 5;
    unsigned char *src = malloc(big);
    for (size_t i = 0; i < big; i++)
        src[i] = (unsigned char)(i * 131 + (i >> 7));
    size_t lens[800];
    size_t nl = 0;
    for (size_t l = 0; l < 790; l++)
        lens[nl++] = l;
    lens[nl++] = 3u << 20;
    lens[nl++] = big;
    for (size_t k = 0; k < nl; k++) {
        size_t l = lens[k], en = 0, dn = 0;
        okt_err err;
        char *e = okt_b64_encode(src, l, &en, &err);
        CHECK(e && en == (l + 2) / 3 * 4 && strlen(e) == en);
        unsigned char *d = e ? okt_b64_decode(e, en, &dn, &err) : NULL;
        CHECK(d && dn == l && memcmp(d, src, l) == 0);
        free(d);
        free(e);
    }
    free(src);
}

TEST(blanks_between_letters)
{
    CHECK(decodes_to("Zm9v\r\nYmFy", "foobar"));
    CHECK(decodes_to(" Zm9v Yg== \n", "foob"));
    CHECK(decodes_to("Z m 9 v Y m E =", "fooba"));
    CHECK(decodes_to("\t\n", ""));
    /* blanks past the decode chunk: 2000 letters in lines of 76 */
    char *s = malloc(4000), *p = s;
    for (int i = 0; i < 2000; i++) {
        *p++ = "QUJD"[i % 4];
        if (i % 76 == 75)
            *p++ = '\n';
    }
    *p = '\0';
    size_t n;
    okt_err err;
    unsigned char *d = okt_b64_decode(s, strlen(s), &n, &err);
    CHECK(d && n == 1500 && memcmp(d, "ABCABC", 6) == 0);
    free(d);
    free(s);
}

TEST(strict_refusals)
{
    static const char *const bad[] = {
        "Zg",      "Zg=",     "Zm9",     "Z",        "=",      "==",
        "====",    "Z===",    "Zg=a",    "Z=g=",     "=Zg=",   "Zg==Zg==",
        "Zm9v!",   "Zm9v-",   "Zm9v=",   "Zm9vYg===", "Zm9v.", "Zm\x80v",
        "Zm9v\v",  "Zm9v\f",  "Zm_v",    "Zm-v",     "aGk=-",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!refused(bad[i], strlen(bad[i])))
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK(refused(bad[i], strlen(bad[i])));
    }
    CHECK(refused("Zm\0v", 4)); /* an embedded NUL */
    /* padding past a chunk boundary: 1024 letters, then more "=" */
    char s[1100];
    memset(s, 'A', 1022);
    memcpy(s + 1022, "====", 4);
    CHECK(refused(s, 1026));
    memcpy(s + 1022, "==", 2);
    CHECK(!refused(s, 1024));
    memcpy(s + 1024, "QQ==", 4);
    CHECK(refused(s, 1028));
}

int main(void)
{
    RUN(rfc4648_vectors);
    RUN(roundtrip_every_length_and_chunk);
    RUN(blanks_between_letters);
    RUN(strict_refusals);
    return TEST_SUMMARY();
}
