/* emu.h - the Oktell server emulator: the model (model.h) served over the
 * WebSocket protocol (docs/PROTOCOL.md) from its own thread.
 *
 * The server thread alone touches the model and the sockets. Control calls
 * from other threads queue a command under a mutex, wake the thread through
 * an eventfd and wait until the thread has applied it: a control call takes
 * effect before it returns; the events it causes reach clients afterwards. */
#ifndef OKT_EMU_H
#define OKT_EMU_H

#include <jansson.h>
#include "okt.h"

typedef struct okt_emu okt_emu;

/* config: the table given to emulator.start, as JSON (borrowed; NULL for
 * defaults): host ("127.0.0.1"), port (0: a free one), licenses, users,
 * tasks, the session and login keys and the call model's keys (model.h,
 * docs/EMULATOR.md), max_message (largest WebSocket message accepted,
 * OKT_MAX_WS_MSG), the bounds on hostile peers (docs/EMULATOR.md; defaults
 * in okt_limits.h): max_output, max_connections, max_memory (bytes or
 * counts), login_timeout, write_timeout (seconds), and control (the
 * control channel: "unix:PATH" | "stdio" | "tcp:127.0.0.1:PORT",
 * channel.h). Fails with OKT_EINVAL on a bad config, and on an unknown key,
 * naming it and the known ones. */
okt_emu *okt_emu_new(const json_t *config, okt_err *err);

/* Bind, listen and start the thread; listening when it returns. */
int okt_emu_start(okt_emu *e, okt_err *err);

/* The bound port (after start), or -1. */
int okt_emu_port(const okt_emu *e);

/* cmd: any of okt_model_control's, pause ({on = bool}) and info (-> {host,
 * port, control, sessions}). args is borrowed (may be NULL). On success returns 0 and,
 * if result is not NULL, *result gets a new JSON value the caller frees.
 * -1 with err: OKT_EINVAL (misuse), OKT_ENOTSETTABLE (refused by the
 * rules), OKT_ECLOSED (not running). Safe from any thread but the
 * emulator's own. */
int okt_emu_control(okt_emu *e, const char *cmd, const json_t *args,
                    json_t **result, okt_err *err);

/* Stop: close every session, join the thread. Idempotent. */
void okt_emu_stop(okt_emu *e);

/* Stop, join and free. NULL ok. */
void okt_emu_free(okt_emu *e);

/* Live transport sessions (for benchmarks and tests; racy by nature). */
size_t okt_emu_sessions(okt_emu *e);

#endif
