/* states.c - placeholder registration until this binding file is written. */
#include "lokt.h"

void lokt_open_states(lua_State *L)
{
    (void)L;
}
