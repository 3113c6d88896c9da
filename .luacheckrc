-- Every Lua oktell runs on: 5.1, 5.2, 5.3, 5.4 and LuaJIT ("max" is the
-- union of their standard globals; anything else is still an error).
-- What exists on some of them only is reached through lua/oktell/compat.lua
-- (or spec/helper.lua in the specs), with a fallback.
std = "max"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["bin/oktell-emu"] = { std = "max" }
files["bin/oktell"] = { std = "max" }
-- type stubs: declarations with unused parameters, empty bodies, classes
-- that are only declared, and one-line LuaCATS signatures
files["types"] = { ignore = { "212", "241" }, max_line_length = false }
-- the OpenResty driver and its example run inside nginx (LuaJIT)
-- (ngx.ctx is a per-request table the driver writes to; ngx.status is set)
local ngx = { std = "luajit", read_globals = { ngx = { other_fields = true, fields = {
  ctx = { read_only = false, other_fields = true }, status = { read_only = false } } } } }
files["lua/oktell/ngx.lua"] = ngx
files["examples/nginx"] = ngx
-- the other hosts' drivers and examples (docs/HOSTS.md): each host's Lua
files["lua/oktell/tarantool.lua"] = { std = "luajit" }
files["examples/tarantool"] = { std = "luajit" }
files["lua/oktell/prosody.lua"] = { std = "lua54" }
-- a Prosody plugin: `module` is its API object (module.unload is set),
-- plain globals are the module's API (module:depends("oktell").get_state)
files["examples/prosody"] = { std = "lua54", globals = { "module", "get_state" }, read_globals = { "prosody" } }
-- Kamailio's app_lua (Lua 5.1): KSR is Kamailio's, ksr_request_route the script's entry
files["examples/kamailio"] = { std = "lua51", globals = { "ksr_request_route" }, read_globals = { "KSR" } }
-- (a Prosody config template: @...@ placeholders, the config DSL)
exclude_files = { "build", "luarocks-tree", "examples/prosody/prosody.cfg.lua" }
