/* channel.h - the emulator's control channel (EMULATOR-calls §9): JSON
 * Lines over a Unix socket, the process's stdin/stdout, or a loopback TCP
 * port, served by the emulator's own thread next to the WebSocket
 * sessions. One request per line,
 *   {"id": 7, "cmd": "call_in", "args": {"from": "...", "to": "queue"}}
 * one answer per request, in order,
 *   {"id": 7, "ok": true, "result": ...}
 *   {"id": 7, "ok": false, "code": "not_settable", "error": "busy"}
 * and, after {"cmd": "watch"}, the call records as {"record": {...}}.
 * No authentication: Unix-socket permissions (0600), stdio bound to the
 * parent, TCP on loopback only; it is not the WebSocket port, so no test
 * command can reach a real Oktell. Internal to src/emu (server.c). */
#ifndef OKT_CHANNEL_H
#define OKT_CHANNEL_H

#include <stdint.h>
#include <jansson.h>

#include "okt.h"

typedef struct okt_chan okt_chan;

/* Runs one command for the channel (the server's control commands);
 * returns 0 and *res (a new value, NULL: true), or -1 and err. */
typedef int (*okt_chan_exec)(void *ctx, const char *cmd, const json_t *args,
                             json_t **res, okt_err *err);

/* spec: "unix:PATH" | "stdio" | "tcp:127.0.0.1:PORT" (loopback only, port
 * 0 picks one). Only parsed here: OKT_EINVAL for a bad spec. */
okt_chan *okt_chan_new(const char *spec, okt_err *err);
/* Bind and listen (or take stdin/stdout), register with epfd. stdio
 * writes `hello` (the WebSocket URL) as its first line before it reads a
 * request, so the parent reads the URL first. */
int okt_chan_start(okt_chan *ch, int epfd, const char *hello, okt_err *err);
/* epoll tags of the channel's descriptors are in [OKT_CHAN_TAG0, +65536) */
#define OKT_CHAN_TAG0 ((uint64_t)1 << 61)  /* below server.c's TAG_REFUSED bit */
int okt_chan_owns(uint64_t tag);
/* One readiness event; commands run through exec. */
void okt_chan_event(okt_chan *ch, uint64_t tag, unsigned events,
                    okt_chan_exec exec, void *ctx);
/* A call record (one JSON object text) to every watcher. */
void okt_chan_record(okt_chan *ch, const char *text, size_t len);
int okt_chan_watchers(const okt_chan *ch);
/* stdio reached end of file: the emulator should stop. */
int okt_chan_eof(const okt_chan *ch);
/* "unix:PATH", "stdio", "tcp:127.0.0.1:PORT" with the bound port */
const char *okt_chan_address(const okt_chan *ch);
/* Close every descriptor, unlink the Unix socket's path. NULL ok. */
void okt_chan_free(okt_chan *ch);

#endif
