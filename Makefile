# lua-personalize: build, test, check, bench.
#
#   make              build personalize/core.so and personalize/engine/core.so
#                     for Lua 5.4 (build/lua5.4/)
#   make LUA=luajit   build it for LuaJIT / OpenResty (build/luajit/)
#   make test         install what is missing, build both, run every spec under both
#   make demo         the main job: the tutorial against personalize-local
#   make models       regenerate lua/personalize/models/ from third_party/aws-models
#   make rock         pack build/personalize-<version>-1.src.rock from this clone's HEAD
#   make bench        benchmarks that print ratios against a baseline
#   make bench-profile instruction counts of the hot paths (callgrind)
#   make deps         install Debian packages that are missing (idempotent)

LUA        ?= lua5.4
# The one version: lua/personalize/version.lua's, passed to the C core.
VERSION    := $(shell sed -n 's/^return "\([0-9.]*\)"$$/\1/p' lua/personalize/version.lua)
ROCKSPEC   := personalize-$(VERSION)-1.rockspec
CC         ?= cc
PKG_CONFIG ?= pkg-config
BUILD      := build/$(LUA)
CORE       := $(BUILD)/personalize/core.so
# personalize-local's C part (SQLite), apart from the client's core.
ENGINE_CORE := $(BUILD)/personalize/engine/core.so
CORES      := $(CORE) $(ENGINE_CORE)

ifeq ($(LUA),luajit)
LUA_PC := luajit
else
LUA_PC := lua5.4
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef -Wvla
ifdef CI
WERROR   := -Werror
endif
OPT      ?= -O2 -g
# A rock build passes LuaRocks' own Lua headers (LUA_CFLAGS=-I...).
LUA_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC))
DEFINES  := -D_POSIX_C_SOURCE=200809L -DOPENSSL_API_COMPAT=0x10100000L \
            -DPERSONALIZE_VERSION='"$(VERSION)"'
CFLAGS   += -std=c99 -fPIC -fvisibility=hidden $(OPT) $(WARN) $(WERROR) $(DEFINES) \
            $(LUA_CFLAGS) $(shell $(PKG_CONFIG) --cflags libcurl openssl)
# No -llua: the module resolves Lua's symbols from the host interpreter.
LIBS     := $(shell $(PKG_CONFIG) --libs libcurl openssl)
LDFLAGS  += -shared

SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
HDRS     := $(wildcard src/*.h)
ENGINE_SRCS := $(wildcard src/engine/*.c)
ENGINE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(ENGINE_SRCS))
ENGINE_HDRS := $(wildcard src/engine/*.h)
ENGINE_LIBS := $(shell $(PKG_CONFIG) --libs sqlite3) -lpthread -lm

SPEC_ENV  = LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" \
            LUA_CPATH="$(BUILD)/?.so;;" PERSONALIZE_LUA=$(LUA)
BUSTED   ?= /usr/bin/busted

.PHONY: all test test-one deps models demo bench bench-one bench-profile clean lint data \
        rock rock-install

all: $(CORES)

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(ENGINE_HDRS) Makefile lua/personalize/version.lua
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(CORE): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(ENGINE_CORE): $(ENGINE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(ENGINE_OBJS) $(ENGINE_LIBS)

deps:
	@sh tools/deps.sh

# The test command of the README: everything, under both interpreters.
test: deps
	$(MAKE) --no-print-directory all LUA=lua5.4
	$(MAKE) --no-print-directory all LUA=luajit
	$(MAKE) test-one LUA=lua5.4
	$(MAKE) test-one LUA=luajit

test-one: $(CORES)
	$(SPEC_ENV) $(LUA) $(BUSTED) $(BUSTED_ARGS) spec

MODELS_SRC ?= third_party/aws-models
MODELS_OUT ?= lua/personalize/models
models:
	$(LUA) tools/gen_models.lua $(MODELS_SRC) $(MODELS_OUT)

# MovieLens ml-latest-small as Personalize CSVs (from Debian's r-cran-dslabs),
# and the small synthetic set used when R is unavailable.
data: $(CORES)
	lua5.4 tools/gen_small_data.lua data/small
	sh tools/movielens.sh data/movielens || \
	  echo "data: MovieLens unavailable; the tutorial will use data/small" >&2

# The main job: the tutorial against personalize-local on MovieLens.
demo: deps
	$(MAKE) --no-print-directory all LUA=lua5.4
	$(MAKE) --no-print-directory all LUA=luajit
	$(MAKE) --no-print-directory data
	sh tools/demo.sh

# A Lua REPL with the library loaded from this clone (LUA=luajit for LuaJIT).
.PHONY: repl
repl: $(CORES)
	@bin/personalize-repl $(LUA)

build/bench/sign_loop: bench/sign_loop.c src/sigv4.c src/sigv4.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ bench/sign_loop.c src/sigv4.c $(LIBS)

bench: deps
	$(MAKE) --no-print-directory bench-one LUA=lua5.4
	$(MAKE) --no-print-directory bench-one LUA=luajit

bench-one: $(CORES) build/bench/sign_loop
	$(SPEC_ENV) $(LUA) bench/run.lua

# Instructions per signed request, per core.http POST and per full
# get_recommendations under valgrind's callgrind (bench/profile.sh; ~1 min
# per interpreter). Not part of `bench`: counts, not timings.
bench-profile: $(CORES)
	$(SPEC_ENV) sh bench/profile.sh $(LUA)

# The README's table "Compatibility with AWS's published code": runs
# spec/compat (AWS's own Personalize code against personalize-local), then
# rewrites the table from its results, failures included.
.PHONY: compat-report
compat-report: $(CORES)
	-$(SPEC_ENV) $(LUA) $(BUSTED) spec/compat/compat_spec.lua
	$(SPEC_ENV) $(LUA) spec/compat/report.lua README.md

clean:
	rm -rf build

# Static checks: luacheck over the Lua, cppcheck and gcc's analyzer over src/.
ANALYZE_FLAGS = -std=c99 $(DEFINES) \
                $(shell $(PKG_CONFIG) --cflags lua5.4 libcurl openssl)
lint: deps
	luacheck $(wildcard lua spec examples bin tools bench)
	cppcheck --enable=warning,style,performance,portability --inline-suppr \
	  --error-exitcode=1 -q --std=c99 -Isrc -I/usr/include/lua5.4 $(SRCS) $(ENGINE_SRCS)
	@for f in $(SRCS) $(ENGINE_SRCS); do \
	  echo "gcc -fanalyzer $$f"; \
	  $(CC) -fanalyzer -Werror $(ANALYZE_FLAGS) -c $$f -o /dev/null || exit 1; \
	done

# ---- the rock ---------------------------------------------------------------
#
# The rockspec's build.type is "make": LuaRocks runs `make rock-build` then
# `make rock-install` with ROCK_LUA (its interpreter), ROCK_LUA_INCDIR,
# ROCK_CFLAGS and the INST_* directories of the rock. Only Lua 5.4 and
# LuaJIT are built; any other Lua (Debian's luarocks defaults to 5.1) stops
# here with the commands that build for them. personalize-local runs inside
# nginx's LuaJIT: a Lua 5.4 rock also builds a LuaJIT core for it when
# LuaJIT's headers are installed, kept in the rock's own directory
# (build/luajit/personalize/core.so there, where bin/personalize-local
# looks, as in a clone).
ROCK_BUILD := build/rock
ROCK_LUA   ?= lua5.4
ROCK_OPT    = $(or $(ROCK_CFLAGS),-O2) -g

.PHONY: rock-check rock-build
rock-check:
	@kind=$$($(ROCK_LUA) -e 'io.write(rawget(_G, "jit") and "LuaJIT" or _VERSION)' 2>/dev/null); \
	case "$$kind" in \
	  LuaJIT|"Lua 5.4") ;; \
	  *) printf '%s\n' \
	    "personalize: this LuaRocks builds for $${kind:-no working Lua} ($(ROCK_LUA)); lua-personalize runs on Lua 5.4 and LuaJIT:" \
	    "  Lua 5.4:   luarocks --lua-version 5.4 make   (Debian: apt-get install lua5.4 liblua5.4-dev)" \
	    "  LuaJIT:    LUAROCKS_CONFIG=tools/luarocks-luajit.lua luarocks --lua-version 5.1 make" \
	    "  OpenResty: luarocks --lua-dir=/usr/local/openresty/luajit make" \
	    "(\`install <rock>\` in place of \`make\` for a packed rock; README.md, Install)" >&2; \
	    exit 1 ;; \
	esac

rock-build: rock-check
	@rm -rf $(ROCK_BUILD)
	$(MAKE) --no-print-directory all BUILD=$(ROCK_BUILD)/core \
	  LUA_CFLAGS="-I$(ROCK_LUA_INCDIR)" OPT="$(ROCK_OPT)"
	@if $(ROCK_LUA) -e 'os.exit(rawget(_G, "jit") and 0 or 1)'; then \
	  mkdir -p $(ROCK_BUILD)/luajit/personalize/engine && \
	  cp $(ROCK_BUILD)/core/personalize/core.so $(ROCK_BUILD)/luajit/personalize/core.so && \
	  cp $(ROCK_BUILD)/core/personalize/engine/core.so $(ROCK_BUILD)/luajit/personalize/engine/core.so; \
	elif $(PKG_CONFIG) --exists luajit; then \
	  $(MAKE) --no-print-directory all LUA=luajit BUILD=$(ROCK_BUILD)/luajit OPT="$(ROCK_OPT)"; \
	else \
	  echo "personalize: no LuaJIT headers (pkg-config luajit): personalize-local needs the LuaJIT rock" >&2; \
	fi

rock-install:
	mkdir -p $(INST_LUADIR) $(INST_LIBDIR)/personalize $(INST_BINDIR)
	cp -R lua/personalize $(INST_LUADIR)/
	mkdir -p $(INST_LIBDIR)/personalize/engine
	cp $(ROCK_BUILD)/core/personalize/core.so $(INST_LIBDIR)/personalize/core.so
	cp $(ROCK_BUILD)/core/personalize/engine/core.so $(INST_LIBDIR)/personalize/engine/core.so
	cp bin/personalize-local $(INST_BINDIR)/personalize-local
	if [ -f $(ROCK_BUILD)/luajit/personalize/core.so ]; then \
	  mkdir -p $(INST_PREFIX)/build/luajit/personalize/engine && \
	  cp $(ROCK_BUILD)/luajit/personalize/core.so $(INST_PREFIX)/build/luajit/personalize/ && \
	  cp $(ROCK_BUILD)/luajit/personalize/engine/core.so $(INST_PREFIX)/build/luajit/personalize/engine/; \
	fi

# build/personalize-$(VERSION)-1.src.rock from this clone's HEAD, packed by
# `luarocks pack` itself, offline: git is sent from the rockspec's URL to a
# throwaway clone (url.insteadOf in the environment) that carries the tag.
PACK_DIR := build/pack
rock:
	@rm -rf $(PACK_DIR) && mkdir -p $(PACK_DIR)
	git clone -q --no-local . $(PACK_DIR)/repo
	git -C $(PACK_DIR)/repo tag -f v$(VERSION) >/dev/null
	cd $(PACK_DIR) && GIT_CONFIG_COUNT=2 \
	  GIT_CONFIG_KEY_0="url.$(CURDIR)/$(PACK_DIR)/repo.insteadOf" \
	  GIT_CONFIG_VALUE_0="$$(sed -n 's/^ *url = "git+\(.*\)",$$/\1/p' $(CURDIR)/$(ROCKSPEC))" \
	  GIT_CONFIG_KEY_1=advice.detachedHead GIT_CONFIG_VALUE_1=false \
	  luarocks --lua-version 5.4 pack $(CURDIR)/$(ROCKSPEC) >pack.log 2>&1 || { cat pack.log; exit 1; }
	mv $(PACK_DIR)/personalize-$(VERSION)-1.src.rock build/
	@rm -rf $(PACK_DIR)
	@echo "build/personalize-$(VERSION)-1.src.rock"

# The dynamic gates (sanitizers, valgrind, fuzzing).
-include check.mk
