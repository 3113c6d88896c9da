-- Prosody 0.12 with mod_oktell (examples/prosody/mod_oktell.lua): the
-- operators' Oktell states on Prosody's own loop. The @...@ placeholders
-- are filled in by tests/hosts/prosody.sh (a temp dir, a free port, the
-- checkout, the emulator's URL); for a server of your own, merge the
-- oktell_* lines and the plugin into your prosody.cfg.lua.
--
-- Start in the foreground: prosody -F --config prosody.cfg.lua

@RUN_AS_ROOT@
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
log = { info = "@DIR@/prosody.log" }

interfaces = { "127.0.0.1" }
c2s_ports = { @PORT@ }
s2s_ports = {}
http_ports = {}
https_ports = {}
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
certificates = "@DIR@/certs"
-- loopback tests only: offer SASL PLAIN without TLS
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true

plugin_paths = { "@ROOT@/examples/prosody" }
modules_enabled = { "saslauth", "oktell" }

-- mod_oktell
oktell_url = "@URL@"
oktell_operators = { @OPERATORS@ }
oktell_timeout = 5
oktell_lua_path = "@ROOT@/lua/?.lua"
oktell_lua_cpath = "@ROOT@/build/lua5.4/?.so"

VirtualHost "localhost"
