# oktell-lua build. `make` builds build/oktell/core.so (the client) and
# build/oktell/emucore.so (the server emulator) for Lua 5.4; `make LUA=X`
# (X one of lua5.1 lua5.2 lua5.3 lua5.4 luajit) builds them for that Lua at
# build/X/oktell/*.so (lua5.4's are also copied to build/oktell/), and
# `make all-lua` builds all five. `make test [LUA=X]` runs the C tests and
# the busted specs under that interpreter; `make check` repeats both under
# ASan+UBSan; `make demo` runs the example call flow against the embedded
# emulator; `make bench` runs the benchmarks, `make bench-check` checks the
# client's speed goals against their baselines (bench/client.lua --check).
# Package flags are expanded lazily (=, not :=) so that a fresh machine
# gets them after `deps` has installed pkg-config and the -dev packages.

LUA      ?= lua5.4
LUAS     := lua5.1 lua5.2 lua5.3 lua5.4 luajit
ifeq ($(filter $(LUA),$(LUAS)),)
$(error LUA=$(LUA): one of $(LUAS) expected)
endif
BUSTED   ?= busted --lua=$(LUA)
CC       ?= gcc
B        ?= build
# The Lua-independent parts (liboktell*.a, the C tests) live in $(B); each
# Lua ABI gets its own binding objects and modules in $(B)/$(LUA).
LB       := $(B)/$(LUA)
PKGS     := libxml-2.0 jansson openssl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# pkg-config knows each Lua by the interpreter's name. compat-5.3.h
# (lua-compat53-dev) sits only in the 5.1 and 5.2 include dirs: LuaJIT
# borrows 5.1's, after its own headers.
LUA_CFLAGS = $(shell pkg-config --cflags $(LUA) 2>/dev/null) \
             $(if $(filter luajit,$(LUA)),-idirafter /usr/include/lua5.1)

WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
SAN_FLAGS :=
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -fPIC $(OPT) $(WARN) $(SAN_FLAGS) \
             -Isrc/core -Isrc/emu $(PKG_CFLAGS) $(CFLAGS)
CFLAGS_LUA = $(CFLAGS_ALL) -Isrc/lua $(LUA_CFLAGS)
LIBS     = $(PKG_LIBS) -lwslay -lpthread -lm

# The client core (liboktell.a, oktell.core) and the emulator (liboktell-emu.a,
# oktell.emucore) are separate, so the client loads no server code. The
# emulator uses the core (WebSocket, messages, states, protocol table) and
# the binding's JSON helpers (src/lua/aux.c) and Lua compat layer
# (src/lua/lcompat.c: lua-compat53's functions for Lua 5.1/5.2/LuaJIT).
CORE_SRC := $(wildcard src/core/*.c)
EMU_SRC  := $(wildcard src/emu/*.c)
BIND_SRC := $(wildcard src/lua/*.c)
EBIND_SRC := $(wildcard src/lua-emu/*.c) src/lua/aux.c src/lua/lcompat.c
HDRS     := $(wildcard src/core/*.h src/emu/*.h src/lua/*.h src/lua-emu/*.h)
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
EMU_OBJ  := $(EMU_SRC:%.c=$(B)/obj/%.o)
BIND_OBJ := $(BIND_SRC:%.c=$(LB)/obj/%.o)
EBIND_OBJ := $(EBIND_SRC:%.c=$(LB)/obj/%.o)
LIBS_ALL  = $(B)/liboktell-emu.a $(B)/liboktell.a
CTESTS   := $(patsubst tests/c/%.c,$(B)/tests/%,$(wildcard tests/c/test_*.c))
FUZZERS  := $(patsubst tests/c/%.c,%,$(filter-out tests/c/fuzz_replay.c,$(wildcard tests/c/fuzz_*.c)))
# Each fuzz target also runs its committed corpus as an ordinary test.
CTESTS   += $(patsubst %,$(B)/tests/test_corpus_%,$(FUZZERS))
BENCH_C  := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
# Lua C modules for the specs only (tests.testsock: a blocking TCP client
# that moves core.wire's bytes); never installed.
LTESTS   := $(patsubst tests/lua/%.c,$(LB)/tests/%.so,$(wildcard tests/lua/*.c))
# Helper programs the specs run (not tests themselves): misbehaving peers
# for spec/adversarial_spec.lua.
HELPERS  := $(B)/tests/hostile_peer

LUAENV   = LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./$(LB)/?.so;;'

MODS     := $(LB)/oktell/core.so $(LB)/oktell/emucore.so
# Lua 5.4's modules also stay where tests, examples and acceptance checks
# look (LUA_CPATH='./build/?.so;;').
ifeq ($(LUA),lua5.4)
MODS     += $(B)/oktell/core.so $(B)/oktell/emucore.so
endif

.PHONY: all all-lua mods deps test test-c test-lua check demo fuzz bench bench-check lint clean emu rockspec install
all: deps mods

mods: $(MODS)

all-lua: deps
	@set -e; for l in $(LUAS); do $(MAKE) --no-print-directory LUA=$$l mods; done

deps:
	@sh tools/deps.sh

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LB)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LUA) -c $< -o $@

$(B)/liboktell.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/liboktell-emu.a: $(EMU_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LB)/oktell/core.so: $(BIND_OBJ) $(B)/liboktell.a
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN_FLAGS) -o $@ $(BIND_OBJ) $(B)/liboktell.a $(LIBS)

$(LB)/oktell/emucore.so: $(EBIND_OBJ) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN_FLAGS) -o $@ $(EBIND_OBJ) $(LIBS_ALL) $(LIBS)

ifeq ($(LUA),lua5.4)
$(B)/oktell/%.so: $(LB)/oktell/%.so
	@mkdir -p $(dir $@)
	cp $< $@
endif

# Tests and benchmarks link both archives: the linker takes from the emulator
# archive only what a test uses.
$(B)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/c -o $@ $< $(LIBS_ALL) $(LIBS)

$(LB)/tests/%.so: tests/lua/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LUA) -shared -o $@ $<

$(B)/tests/test_corpus_%: tests/c/%.c tests/c/fuzz_replay.c $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-unused-function -DCORPUS='"tests/fuzz/corpus/$*"' -o $@ $< \
	    tests/c/fuzz_replay.c $(LIBS_ALL) $(LIBS)

$(B)/bench/%: bench/%.c $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS_ALL) $(LIBS)

# A Lua 5.4 interpreter linked with the static liblua5.4.a, whose symbols
# the packaged lua5.4 binary has stripped: bench/profile.sh runs the client
# under it so that perf names the VM's functions.
$(B)/bench/luasym: bench/luasym.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) $(WARN) $(shell pkg-config --cflags lua5.4 2>/dev/null) -o $@ $< \
	    -l:liblua5.4.a -lm -ldl -Wl,-E

# The test entry point: C tests, then specs under $(LUA) against
# $(B)/$(LUA)'s modules; last line "N passed, N failed".
test: all $(CTESTS) $(LTESTS) $(HELPERS)
	@sh tools/rockspec.sh --check
	@B=$(B) LUA=$(LUA) sh tests/run.sh

test-c: all $(CTESTS)
	@B=$(B) LUA=$(LUA) ONLY=c sh tests/run.sh

test-lua: all $(LTESTS) $(HELPERS)
	@B=$(B) LUA=$(LUA) ONLY=lua sh tests/run.sh

# Sanitizer run: a separate build tree, the same tests.
check: deps
	$(MAKE) B=build/san LUA=$(LUA) OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN_FLAGS='-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all' \
	    mods $(patsubst $(B)/%,build/san/%,$(CTESTS) $(LTESTS) $(HELPERS))
	@B=build/san LUA=$(LUA) SAN=1 sh tests/run.sh

demo: all
	@$(LUAENV) $(LUA) examples/callflow.lua
	@echo
	@$(LUAENV) $(LUA) examples/traffic_demo.lua

emu: all
	@$(LUAENV) $(LUA) bin/oktell-emu

# libFuzzer targets, each run for FUZZ_SECONDS on its corpus; fuzz_model
# also gets the emulator's sources.
FUZZ_SECONDS ?= 10
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZERS); do \
	  case $$f in fuzz_model) extra="$(EMU_SRC)";; *) extra="";; esac; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Isrc/core -Isrc/emu $(PKG_CFLAGS) -o build/fuzz/$$f tests/c/$$f.c \
	    $(CORE_SRC) $$extra $(LIBS); \
	  mkdir -p tests/fuzz/corpus/$$f build/fuzz/corpus-$$f; \
	  echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	  rc=0; build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -artifact_prefix=build/fuzz/ -print_final_stats=1 \
	    build/fuzz/corpus-$$f tests/fuzz/corpus/$$f >build/fuzz/$$f.log 2>&1 || rc=$$?; \
	  if [ $$rc -ne 0 ]; then tail -n 60 build/fuzz/$$f.log; \
	    echo "fuzz: $$f FAILED (exit $$rc)"; exit 1; fi; \
	  grep -E '^stat::number_of_executed_units|Done [0-9]+ runs' build/fuzz/$$f.log | tail -n 1; \
	done

bench: all $(BENCH_C)
	@set -e; for b in $(BENCH_C); do echo "== $$b"; $$b; done
	@set -e; for b in bench/*.lua; do echo "== $$b"; $(LUAENV) $(LUA) $$b; done

# Issue 12's goals for the client, each against its baseline measured in
# the same run (bench/client.lua: Node + ws, the C wire client, loopback
# TCP); exits nonzero naming each goal not met. Not part of test or CI.
bench-check: all $(BENCH_C)
	@$(LUAENV) $(LUA) bench/client.lua --check

lint:
	luacheck lua spec examples bench bin/oktell bin/oktell-emu types

# Install under $(DESTDIR)$(PREFIX): the Lua modules and oktell/core.so
# where lua5.4 looks by default (share/lua/5.4, lib/lua/5.4), the commands
# oktell and oktell-emu, the man page, and the type stubs (share/oktell/types).
PREFIX  ?= /usr/local
LUA_V   ?= 5.4
LUADIR  ?= $(PREFIX)/share/lua/$(LUA_V)
CMODDIR ?= $(PREFIX)/lib/lua/$(LUA_V)
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/oktell
install: all
	install -d $(DESTDIR)$(LUADIR)/oktell $(DESTDIR)$(CMODDIR)/oktell $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/types/oktell
	install -m 644 lua/oktell.lua $(DESTDIR)$(LUADIR)/oktell.lua
	install -m 644 lua/oktell/*.lua $(DESTDIR)$(LUADIR)/oktell/
	install -m 755 $(B)/oktell/core.so $(DESTDIR)$(CMODDIR)/oktell/core.so
	install -m 755 bin/oktell bin/oktell-emu $(DESTDIR)$(BINDIR)/
	install -m 644 man/oktell.1 $(DESTDIR)$(MANDIR)/man1/oktell.1
	install -m 644 types/oktell.lua $(DESTDIR)$(DATADIR)/types/oktell.lua
	install -m 644 types/oktell/*.lua $(DESTDIR)$(DATADIR)/types/oktell/

rockspec:
	sh tools/rockspec.sh

clean:
	rm -rf build
