rockspec_format = "3.0"
package = "oktell"
version = "scm-1"
source = {
   url = "git+file:///dev/null",
}
description = {
   summary = "Oktell call-center operator workplace for Lua 5.1-5.4 and LuaJIT, with a server emulator",
   detailed = [[
A Lua module (5.1, 5.2, 5.3, 5.4, LuaJIT) with a C core that lets a Lua script act as an operator
workplace of the Oktell call-center server over its WebSocket API: user and
line state, call-center presence under concurrent licences, external CRM task
reservation, dialing tasks, task-manager prompts (events 121/122/123), the
oktellcommapper XML of Oktell's COM library, and an embedded emulator of the
server.]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
}
external_dependencies = {
   LIBXML2 = { header = "libxml2/libxml/parser.h", library = "xml2" },
   JANSSON = { header = "jansson.h", library = "jansson" },
   WSLAY = { header = "wslay/wslay.h", library = "wslay" },
   OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
}
build = {
   type = "builtin",
   modules = {
      ["oktell.core"] = {
         sources = {
            "src/core/b64.c",
            "src/core/commapper.c",
            "src/core/conn.c",
            "src/core/message.c",
            "src/core/okt.c",
            "src/core/protocol.c",
            "src/core/record.c",
            "src/core/session.c",
            "src/core/states.c",
            "src/core/trace.c",
            "src/core/wire.c",
            "src/core/ws.c",
            "src/core/ws_http.c",
            "src/lua/aux.c",
            "src/lua/conn.c",
            "src/lua/core.c",
            "src/lua/lcompat.c",
            "src/lua/protocol.c",
            "src/lua/record.c",
            "src/lua/session.c",
            "src/lua/states.c",
            "src/lua/wire.c",
            "src/lua/xml.c",
         },
         defines = { "_GNU_SOURCE" },
         -- $(LUA_INCDIR) holds compat-5.3.h for Lua 5.1 and 5.2 (lua-compat53-dev)
         incdirs = { "src/core", "src/emu", "src/lua", "$(LUA_INCDIR)", "$(LIBXML2_INCDIR)/libxml2",
                     "$(JANSSON_INCDIR)", "$(WSLAY_INCDIR)", "$(OPENSSL_INCDIR)" },
         libdirs = { "$(LIBXML2_LIBDIR)", "$(JANSSON_LIBDIR)", "$(WSLAY_LIBDIR)", "$(OPENSSL_LIBDIR)" },
         libraries = { "xml2", "jansson", "wslay", "ssl", "crypto", "pthread", "m" },
      },
      ["oktell.emucore"] = {
         sources = {
            "src/core/b64.c",
            "src/core/commapper.c",
            "src/core/conn.c",
            "src/core/message.c",
            "src/core/okt.c",
            "src/core/protocol.c",
            "src/core/record.c",
            "src/core/session.c",
            "src/core/states.c",
            "src/core/trace.c",
            "src/core/wire.c",
            "src/core/ws.c",
            "src/core/ws_http.c",
            "src/emu/calls.c",
            "src/emu/channel.c",
            "src/emu/conf.c",
            "src/emu/control.c",
            "src/emu/directory.c",
            "src/emu/jsonw.c",
            "src/emu/lines.c",
            "src/emu/listen.c",
            "src/emu/model.c",
            "src/emu/pbx.c",
            "src/emu/queue.c",
            "src/emu/replay.c",
            "src/emu/rights.c",
            "src/emu/server.c",
            "src/emu/traffic.c",
            "src/lua/aux.c",
            "src/lua/lcompat.c",
            "src/lua-emu/emucore.c",
            "src/lua-emu/lreplay.c",
            "src/lua-emu/remote.c",
         },
         defines = { "_GNU_SOURCE" },
         -- $(LUA_INCDIR) holds compat-5.3.h for Lua 5.1 and 5.2 (lua-compat53-dev)
         incdirs = { "src/core", "src/emu", "src/lua", "$(LUA_INCDIR)", "$(LIBXML2_INCDIR)/libxml2",
                     "$(JANSSON_INCDIR)", "$(WSLAY_INCDIR)", "$(OPENSSL_INCDIR)" },
         libdirs = { "$(LIBXML2_LIBDIR)", "$(JANSSON_LIBDIR)", "$(WSLAY_LIBDIR)", "$(OPENSSL_LIBDIR)" },
         libraries = { "xml2", "jansson", "wslay", "ssl", "crypto", "pthread", "m" },
      },
      oktell = "lua/oktell.lua",
      ["oktell.client"] = "lua/oktell/client.lua",
      ["oktell.compat"] = "lua/oktell/compat.lua",
      ["oktell.emulator"] = "lua/oktell/emulator.lua",
      ["oktell.log"] = "lua/oktell/log.lua",
      ["oktell.loop"] = "lua/oktell/loop.lua",
      ["oktell.ngx"] = "lua/oktell/ngx.lua",
      ["oktell.phone"] = "lua/oktell/phone.lua",
      ["oktell.prosody"] = "lua/oktell/prosody.lua",
      ["oktell.record"] = "lua/oktell/record.lua",
      ["oktell.states"] = "lua/oktell/states.lua",
      ["oktell.tarantool"] = "lua/oktell/tarantool.lua",
      ["oktell.xml"] = "lua/oktell/xml.lua",
   },
   install = {
      bin = { oktell = "bin/oktell", ["oktell-emu"] = "bin/oktell-emu" },
   },
   -- the man page of bin/oktell and the type stubs for the Lua language
   -- server, into the rock's directory (luarocks show --rock-dir oktell)
   copy_directories = { "man", "types" },
}
test = {
   type = "busted",
}
