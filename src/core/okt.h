/* okt.h - shared definitions of liboktell: error struct, error codes, time.
 * Pure C, no Lua. Every core function returns 0 / -1 (or a pointer / NULL)
 * and fills an okt_err; nothing in the core prints or exits. */
#ifndef OKT_H
#define OKT_H

#include <stddef.h>
#include <stdint.h>
#include "okt_limits.h"

/* The release of oktell-lua: the one place it is written. The binding
 * exports it as oktell.core._VERSION (re-exported as oktell._VERSION);
 * tools/rockspec.sh reads it for rockspec/oktell-<version>-1.rockspec and
 * checks CHANGELOG.md has an entry for it. */
#define OKT_VERSION "0.2.0"

/* Error classes. okt_errname() gives the stable strings of the Lua API. */
typedef enum okt_code {
    OKT_EOK = 0,
    OKT_ETIMEOUT,      /* "timeout" */
    OKT_ECLOSED,       /* "closed" */
    OKT_EREFUSED,      /* "refused" */
    OKT_EAUTH,         /* "auth" */
    OKT_ELICENSE,      /* "license" */
    OKT_ENOTSETTABLE,  /* "not_settable" */
    OKT_EBADXML,       /* "bad_xml" */
    OKT_EPROTOCOL,     /* "protocol" */
    OKT_ESERVER,       /* "server" */
    OKT_ENOMEM,        /* "nomem" */
    OKT_EINVAL,        /* "invalid": misuse detected in the core */
    OKT_ETLS,          /* "tls": handshake or certificate failure */
    OKT_EUNSUPPORTED,  /* "unsupported": the server does not offer it */
    OKT_EBADSTATE,     /* "bad_state" (API §6) */
    OKT_ERIGHTS,       /* "rights": the user's role forbids it */
    OKT_ECODE_COUNT
} okt_code;

#define OKT_ERRMSG_MAX 256

typedef struct okt_err {
    int code;                   /* okt_code */
    char msg[OKT_ERRMSG_MAX];   /* NUL-terminated UTF-8, never holds a password */
} okt_err;

/* Fill err (may be NULL). Truncates at a UTF-8 boundary, never allocates.
 * Returns -1 so callers can write `return okt_err_set(...)`. */
int okt_err_set(okt_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void okt_err_clear(okt_err *err);
const char *okt_errname(int code);   /* "timeout", ... ; "unknown" out of range */

/* Monotonic clock in milliseconds. Only drivers (conn, server, benches) call
 * it; sans-IO objects take `now` as an argument. */
int64_t okt_now_ms(void);

/* Poll interest / readiness bits shared by ws, conn and the emulator. */
#define OKT_WANT_READ  1
#define OKT_WANT_WRITE 2

#endif
