/* record.c - the recording format (see record.h). */
#include "record.h"
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int okt_record_secret(const char *key)
{
    if (!key)
        return 0;
    if (okt_proto_secret(key))
        return 1;
    /* a field the table does not know yet (a server's sip or CRM password
     * under another name) is masked too: a recording is shared */
    for (const char *p = key; *p; p++)
        if (!strncasecmp(p, "pass", 4))
            return 1;
    return 0;
}

/* Mask every secret's value in the tree; recursion is bounded by the
 * depth jansson's parser accepts. -1 on out of memory. */
static int mask(json_t *v)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it;
             it = json_object_iter_next(v, it)) {
            if (okt_record_secret(json_object_iter_key(it))) {
                json_t *star = json_string(OKT_RECORD_MASK);
                if (!star || json_object_iter_set_new(v, it, star))
                    return -1;
            } else if (mask(json_object_iter_value(it))) {
                return -1;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (mask(json_array_get(v, i)))
                return -1;
    }
    return 0;
}

char *okt_record_line(int64_t t_ms, int dir, const char *frame, size_t len)
{
    json_t *v = NULL;
    if (dir == '!') {
        v = json_stringn(frame ? frame : "", frame ? len : 0);
    } else {
        json_error_t je;
        v = frame ? json_loadb(frame, len, JSON_DECODE_ANY, &je) : NULL;
        if (!v) {
            /* raw text could hold a secret the mask cannot find */
            char buf[64];
            snprintf(buf, sizeof buf, "<unparsable %zu bytes>", len);
            v = json_string(buf);
        } else if (mask(v)) {
            json_decref(v);
            return NULL;
        }
    }
    if (!v)   /* out of memory, or a note that is not UTF-8 */
        v = json_string("<note not UTF-8>");
    char *fj = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!fj)
        return NULL;
    if (t_ms < 0)
        t_ms = 0;
    if (dir != '>' && dir != '<')
        dir = '!';
    size_t n = strlen(fj) + 64;
    char *line = malloc(n);
    if (line)
        snprintf(line, n, "{\"t\":%lld.%03lld,\"dir\":\"%c\",\"frame\":%s}",
                 (long long)(t_ms / 1000), (long long)(t_ms % 1000), dir, fj);
    free(fj);
    return line;
}

/* url without a user:password@ part (ws://u:p@host/ -> ws://host/). */
static char *strip_userinfo(const char *url)
{
    const char *s = strstr(url, "://");
    const char *host = s ? s + 3 : url;
    size_t hl = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hl);
    size_t pre = (size_t)(host - url);
    const char *rest = at ? at + 1 : host;
    char *out = malloc(pre + strlen(rest) + 1);
    if (out) {
        memcpy(out, url, pre);
        strcpy(out + pre, rest);
    }
    return out;
}

char *okt_record_header(const char *version, const char *login,
                        const char *url)
{
    char *u = strip_userinfo(url ? url : "");
    if (!u)
        return NULL;
    json_t *h = json_object();
    char *out = NULL;
    if (h && !json_object_set_new(h, "oktell_record",
                                  json_integer(OKT_RECORD_FORMAT)) &&
        !json_object_set_new(h, "version", json_string(version ? version : "")) &&
        !json_object_set_new(h, "login", json_string(login ? login : "")) &&
        !json_object_set_new(h, "url", json_string(u)))
        out = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    free(u);
    return out;
}

const char *okt_record_unmasked(const json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (okt_record_secret(k)) {
                if (!json_is_string(x) ||
                    strcmp(json_string_value(x), OKT_RECORD_MASK))
                    return k;
            } else {
                const char *bad = okt_record_unmasked(x);
                if (bad)
                    return bad;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *bad = okt_record_unmasked(json_array_get(v, i));
            if (bad)
                return bad;
        }
    }
    return NULL;
}
