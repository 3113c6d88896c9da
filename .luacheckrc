std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["bin/oktell-emu"] = { std = "lua54" }
files["bin/oktell"] = { std = "lua54" }
-- type stubs: declarations with unused parameters, empty bodies, classes
-- that are only declared, and one-line LuaCATS signatures
files["types"] = { ignore = { "212", "241" }, max_line_length = false }
exclude_files = { "build", "luarocks-tree" }
