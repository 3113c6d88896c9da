/* lcompat.c - lua-compat53's functions (compat-5.3.c, Debian
 * lua-compat53-dev) for a Lua older than 5.3, compiled into each module
 * under the prefix lcompat.h gives them. Empty for 5.3 and 5.4. */
#include "lcompat.h"

#if LUA_VERSION_NUM < 503
#include "compat-5.3.c"
#else
typedef int okt_lcompat_unused;   /* ISO C wants a declaration */
#endif
