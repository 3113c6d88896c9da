/* fuzz_multipart.c - libFuzzer target for multipart reassembly.
 * Part 1: the input is a list of records driving okt_mp_feed with small
 * limits (ids, counts, numbers, time steps and contents all chosen by the
 * fuzzer; contents sometimes valid base64, sometimes raw). Part 2: the input
 * as text is split (when it is UTF-8 at the cuts) and reassembled in a
 * permuted order, which must give the input back.
 * `make test` replays its corpus through tests/c/fuzz_replay.c. */
#include "message.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void records(const unsigned char *d, size_t n)
{
    okt_mp_cfg cfg;
    okt_mp_cfg_init(&cfg);
    cfg.max_parts = 16;
    cfg.max_bytes = 4096;
    cfg.max_pending = 4;
    cfg.stale_ms = 100;
    okt_err e;
    okt_mp *mp = okt_mp_new(&cfg, &e);
    int64_t now = 0;
    size_t i = 0;
    while (i + 5 <= n) {
        unsigned id = d[i] & 7, count = d[i + 1], num = d[i + 2];
        unsigned step = d[i + 3], clen = d[i + 4];
        i += 5;
        if (clen > n - i)
            clen = (unsigned)(n - i);
        json_t *o = json_object();
        char idbuf[8];
        snprintf(idbuf, sizeof idbuf, "m%u", id);
        json_object_set_new(o, "message-id", (id & 4) ? json_integer(id)
                                                      : json_string(idbuf));
        json_object_set_new(o, "packetcount", (count & 0x80)
                                                  ? json_string("3")
                                                  : json_integer(count % 20));
        json_object_set_new(o, "packetnumber", json_integer(num % 20));
        if (step & 1) {
            unsigned char b64[4 * 256 / 3 + 8];
            EVP_EncodeBlock(b64, d + i, (int)clen);
            json_object_set_new(o, "content", json_string((char *)b64));
        } else {
            json_object_set_new(o, "content", json_stringn_nocheck(
                                                  (const char *)d + i, clen));
        }
        i += clen;
        now += step;
        char *text;
        size_t len;
        int rc = okt_mp_feed(mp, o, now, &text, &len, &e);
        json_decref(o);
        if (rc == 1) {
            if (!text || len > cfg.max_bytes)
                abort();
            free(text);
        } else if (rc == 0 && text) {
            abort();
        }
        if (okt_mp_pending(mp) > cfg.max_pending)
            abort();
        if (step & 2)
            okt_mp_expire(mp, now);
    }
    okt_mp_free(mp);
}

static void roundtrip(const unsigned char *d, size_t n)
{
    if (n < 1)
        return;
    size_t part = 4 + d[0] % 60;
    const char *text = (const char *)d + 1;
    size_t len = n - 1;
    char **msgs;
    size_t k;
    okt_err e;
    if (okt_mp_split(text, len, "rt", part, &msgs, &k, &e) != 0)
        return;
    okt_mp *mp = okt_mp_new(NULL, &e);
    char *out = NULL;
    size_t olen = 0;
    int got = 0;
    /* feed odd indexes first, then even ones */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = (size_t)(1 - pass); i < k; i += 2) {
            json_t *root, *obj;
            const char *name;
            if (okt_msg_parse(msgs[i], strlen(msgs[i]), &root, &name, &obj,
                              &e) != 0)
                abort();
            char *t;
            size_t tl;
            int rc = okt_mp_feed(mp, obj, 0, &t, &tl, &e);
            json_decref(root);
            if (rc < 0)
                abort();
            if (rc == 1) {
                got++;
                out = t;
                olen = tl;
            }
        }
    if (got != 1 || olen != len || memcmp(out, text, len) != 0)
        abort();
    free(out);
    okt_mp_free(mp);
    okt_mp_split_free(msgs, k);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    records(data, size);
    roundtrip(data, size);
    return 0;
}

