/* replay.h - serves a session recording (record.h; oktell.record) back to
 * one client over WebSocket, from its own thread: emulator.replay.
 *
 * Matching (docs/API.md §5): each request is answered with the recorded
 * reply of the next recorded request of the same method (ASCII case
 * ignored), in recorded order per method, its qid replaced by the
 * incoming one's. The recorded login is accepted for the recorded user
 * whatever the password (a recording holds none). A request with no
 * recorded counterpart is refused (`result: 0`, errormsg "replay: no
 * recorded answer for <method>"); a ping or login left without one is
 * answered as a server would (keepalive pings vary from run to run).
 * Recorded events (server messages that answered no request) go out in
 * recorded order at their recorded offsets from the login, divided by
 * `speed`; but never before the replies recorded ahead of them were
 * served, and never after a reply recorded behind them (a client faster
 * than the recording gets them early, just ahead of that reply), so a
 * script meets them where it met them when recorded.
 *
 * Standalone: its own small loop over ws.c's server side, apart from the
 * emulator's server (server.c) and model. */
#ifndef OKT_REPLAY_H
#define OKT_REPLAY_H

#include <jansson.h>
#include "okt.h"

typedef struct okt_replay okt_replay;

/* Load the recording text (len bytes, at most OKT_MAX_RECORD_BYTES) and
 * the options (borrowed; NULL for defaults): host ("127.0.0.1"), port (0:
 * a free one), speed (1; > 0, at most 1e6). Fails with OKT_EINVAL naming
 * the line: not a recording, a malformed line, or a frame that holds a
 * secret's value unmasked (such a file was not written by oktell.record
 * and should not be shared); or an unknown option key. */
okt_replay *okt_replay_new(const char *text, size_t len, const json_t *opts,
                           okt_err *err);

/* Bind, listen and start the thread; listening when it returns. */
int okt_replay_start(okt_replay *r, okt_err *err);

int okt_replay_port(const okt_replay *r);   /* after start; -1 before */

/* Progress, as a new JSON object (NULL on out of memory): done (every
 * recorded request but pings served and every event sent), requests,
 * requests_served, events, events_sent, unexpected (requests refused for
 * want of a recorded answer), left (the methods of the first recorded
 * requests not yet served, at most 16, in recorded order) and refused
 * (the methods of the first unexpected requests, at most 16). Any thread. */
json_t *okt_replay_status(okt_replay *r);

/* Stop the thread and close the connection (idempotent), then free. NULL
 * ok. */
void okt_replay_stop(okt_replay *r);
void okt_replay_free(okt_replay *r);

#endif
