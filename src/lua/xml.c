/* xml.c - placeholder registration until this binding file is written. */
#include "lokt.h"

void lokt_open_xml(lua_State *L)
{
    (void)L;
}
