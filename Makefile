# lua-personalize: build, test, check, bench.
#
#   make              build personalize/core.so for Lua 5.4 (build/lua5.4/)
#   make LUA=luajit   build it for LuaJIT / OpenResty (build/luajit/)
#   make test         install what is missing, build both, run every spec under both
#   make demo         the main job: the tutorial against personalize-local
#   make models       regenerate lua/personalize/models/ from ../shared/aws-models
#   make bench        benchmarks that print ratios against a baseline
#   make bench-profile instruction counts of the hot paths (callgrind)
#   make deps         install Debian packages that are missing (idempotent)

LUA        ?= lua5.4
CC         ?= cc
PKG_CONFIG ?= pkg-config
BUILD      := build/$(LUA)
CORE       := $(BUILD)/personalize/core.so

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
CFLAGS   += -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden $(OPT) $(WARN) $(WERROR) \
            -DOPENSSL_API_COMPAT=0x10100000L \
            $(shell $(PKG_CONFIG) --cflags $(LUA_PC) libcurl openssl)
# No -llua: the module resolves Lua's symbols from the host interpreter.
LIBS     := $(shell $(PKG_CONFIG) --libs libcurl openssl)
LDFLAGS  += -shared

SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
HDRS     := $(wildcard src/*.h)

SPEC_ENV  = LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" \
            LUA_CPATH="$(BUILD)/?.so;;" PERSONALIZE_LUA=$(LUA)
BUSTED   ?= /usr/bin/busted

.PHONY: all test test-one deps models demo bench bench-one bench-profile clean lint data

all: $(CORE)

$(BUILD)/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(CORE): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

deps:
	@sh tools/deps.sh

# The test command of the README: everything, under both interpreters.
test: deps
	$(MAKE) test-one LUA=lua5.4
	$(MAKE) test-one LUA=luajit

test-one: $(CORE)
	$(SPEC_ENV) $(LUA) $(BUSTED) $(BUSTED_ARGS) spec

models:
	$(LUA) tools/gen_models.lua ../shared/aws-models lua/personalize/models

# MovieLens ml-latest-small as Personalize CSVs (from Debian's r-cran-dslabs),
# and the small synthetic set used when R is unavailable.
data: $(CORE)
	lua5.4 tools/gen_small_data.lua data/small
	sh tools/movielens.sh data/movielens || \
	  echo "data: MovieLens unavailable; the tutorial will use data/small" >&2

# The main job: the tutorial against personalize-local on MovieLens.
demo: deps
	$(MAKE) --no-print-directory all LUA=lua5.4
	$(MAKE) --no-print-directory all LUA=luajit
	$(MAKE) --no-print-directory data
	sh tools/demo.sh

build/bench/sign_loop: bench/sign_loop.c src/sigv4.c src/sigv4.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ bench/sign_loop.c src/sigv4.c $(LIBS)

bench: deps
	$(MAKE) --no-print-directory bench-one LUA=lua5.4
	$(MAKE) --no-print-directory bench-one LUA=luajit

bench-one: $(CORE) build/bench/sign_loop
	$(SPEC_ENV) $(LUA) bench/run.lua

# Instructions per signed request, per core.http POST and per full
# get_recommendations under valgrind's callgrind (bench/profile.sh; ~1 min
# per interpreter). Not part of `bench`: counts, not timings.
bench-profile: $(CORE)
	$(SPEC_ENV) sh bench/profile.sh $(LUA)

clean:
	rm -rf build

# Static checks: luacheck over the Lua, cppcheck and gcc's analyzer over src/.
ANALYZE_FLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -DOPENSSL_API_COMPAT=0x10100000L \
                $(shell $(PKG_CONFIG) --cflags lua5.4 libcurl openssl)
lint: deps
	luacheck $(wildcard lua spec examples bin tools bench)
	cppcheck --enable=warning,style,performance,portability --inline-suppr \
	  --error-exitcode=1 -q --std=c99 -Isrc -I/usr/include/lua5.4 $(SRCS)
	@for f in $(SRCS); do \
	  echo "gcc -fanalyzer $$f"; \
	  $(CC) -fanalyzer -Werror $(ANALYZE_FLAGS) -c $$f -o /dev/null || exit 1; \
	done

# The dynamic gates (sanitizers, valgrind, fuzzing).
-include check.mk
