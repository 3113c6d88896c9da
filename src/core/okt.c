/* okt.c - error helpers and the monotonic clock. */
#include "okt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const errnames[OKT_ECODE_COUNT] = {
    [OKT_EOK] = "ok",
    [OKT_ETIMEOUT] = "timeout",
    [OKT_ECLOSED] = "closed",
    [OKT_EREFUSED] = "refused",
    [OKT_EAUTH] = "auth",
    [OKT_ELICENSE] = "license",
    [OKT_ENOTSETTABLE] = "not_settable",
    [OKT_EBADXML] = "bad_xml",
    [OKT_EPROTOCOL] = "protocol",
    [OKT_ESERVER] = "server",
    [OKT_ENOMEM] = "nomem",
    [OKT_EINVAL] = "invalid",
    [OKT_ETLS] = "tls",
    [OKT_EUNSUPPORTED] = "unsupported",
    [OKT_EBADSTATE] = "bad_state",
    [OKT_ERIGHTS] = "rights",
};

const char *okt_errname(int code)
{
    if (code < 0 || code >= OKT_ECODE_COUNT)
        return "unknown";
    return errnames[code];
}

void okt_err_clear(okt_err *err)
{
    if (err) {
        err->code = OKT_EOK;
        err->msg[0] = '\0';
    }
}

int okt_err_set(okt_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof err->msg) {
        /* vsnprintf cut mid-character maybe: back off to a UTF-8 lead byte
         * so the message stays valid UTF-8 for Lua users. */
        size_t len = sizeof err->msg - 1;
        while (len > 0 && ((unsigned char)err->msg[len] & 0xC0) == 0x80)
            len--;
        err->msg[len] = '\0';
    }
    return -1;
}

int64_t okt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
