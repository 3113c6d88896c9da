/* b64.h - base64 (RFC 4648, standard alphabet, padded) over OpenSSL.
 *
 * Used where Oktell carries bytes as text: multipart contents (the JSON
 * envelope) and the textb64 of task events (the XML codec).
 *
 * Decoding is strict: only the 64 letters and final "=" padding (a total
 * that is a multiple of 4, at most two "=") are accepted; ASCII blanks
 * (space, tab, CR, LF) between letters are skipped, since MIME line breaks
 * and pretty-printed CDATA carry them. Anything else is OKT_EINVAL.
 *
 * Both functions return a new malloc'd buffer (free() it), NUL-terminated
 * after *outlen bytes, or NULL with err set (OKT_EINVAL, OKT_ENOMEM).
 * outlen may be NULL. Thread-safe: no shared state. */
#ifndef OKT_B64_H
#define OKT_B64_H

#include <stddef.h>

#include "okt.h"

char *okt_b64_encode(const void *data, size_t len, size_t *outlen,
                     okt_err *err);
unsigned char *okt_b64_decode(const char *s, size_t len, size_t *outlen,
                              okt_err *err);

#endif
