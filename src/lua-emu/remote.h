/* remote.h - emucore.attach (remote.c): registers the attached emulator's
 * class and the attach function in the module table on the stack top. */
#ifndef LOKT_REMOTE_H
#define LOKT_REMOTE_H

#include <lua.h>

void lokt_open_remote(lua_State *L);

#endif
