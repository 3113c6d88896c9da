/* b64.c - base64 over OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock (see
 * b64.h). Both take an int length, so the work goes in chunks; the
 * decoder checks every character itself first, because EVP_DecodeBlock
 * reads "=" anywhere as a zero letter, drops trailing junk and keeps the
 * padding's zero bytes in its count. */
#include "b64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Bytes per EVP_EncodeBlock call: a multiple of 3, so no chunk but the
 * last is padded. */
#define ENC_CHUNK (3u << 20)
/* Letters per EVP_DecodeBlock call: a multiple of 4. */
#define DEC_CHUNK 1024u

char *okt_b64_encode(const void *data, size_t len, size_t *outlen,
                     okt_err *err)
{
    if (len / 3 >= (SIZE_MAX - 5) / 4) {
        okt_err_set(err, OKT_EINVAL, "base64: input too long");
        return NULL;
    }
    size_t n = (len + 2) / 3 * 4;
    char *out = malloc(n + 1);
    if (!out) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    const unsigned char *in = data;
    size_t o = 0;
    for (size_t i = 0; i < len; i += ENC_CHUNK) {
        size_t k = len - i < ENC_CHUNK ? len - i : ENC_CHUNK;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + i, (int)k);
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

static int letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

unsigned char *okt_b64_decode(const char *s, size_t len, size_t *outlen,
                              okt_err *err)
{
    /* Blanks are dropped, so the letters never outnumber the input. */
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out) {
        okt_err_set(err, OKT_ENOMEM, "out of memory");
        return NULL;
    }
    unsigned char quad[DEC_CHUNK];
    size_t q = 0, o = 0, pad = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                continue;
            if (c == '=')
                pad++;
            else if (!letter(c) || pad)   /* a letter after the padding */
                goto bad;
            quad[q++] = c;
            if (q < DEC_CHUNK)
                continue;
        }
        if (q % 4 || pad > 2)
            goto bad;
        int n = q ? EVP_DecodeBlock(out + o, quad, (int)q) : 0;
        if (n < 0)
            goto bad;
        o += (size_t)n;
        q = 0;
    }
    o -= pad;   /* EVP_DecodeBlock counted the padding as zero bytes */
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
bad:
    free(out);
    okt_err_set(err, OKT_EINVAL, "base64: not valid base64");
    return NULL;
}
