std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["bin/oktell-emu"] = { std = "lua54" }
-- the OpenResty driver and its example run inside nginx (LuaJIT)
-- (ngx.ctx is a per-request table the driver writes to; ngx.status is set)
local ngx = { std = "luajit", read_globals = { ngx = { other_fields = true, fields = {
  ctx = { read_only = false, other_fields = true }, status = { read_only = false } } } } }
files["lua/oktell/ngx.lua"] = ngx
files["examples/nginx"] = ngx
exclude_files = { "build", "luarocks-tree" }
