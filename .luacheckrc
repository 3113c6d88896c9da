std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["bin/oktell-emu"] = { std = "lua54" }
exclude_files = { "build", "luarocks-tree" }
