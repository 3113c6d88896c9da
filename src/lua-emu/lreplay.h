/* lreplay.h - the replay half of oktell.emucore (src/lua-emu/lreplay.c):
 * adds emucore.replay to the module table on the top of the stack. */
#ifndef LREPLAY_H
#define LREPLAY_H

#include "lokt.h"

void lemu_open_replay(lua_State *L);

#endif
