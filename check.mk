# check.mk - the dynamic gates; included at the end of the Makefile.
#
#   make check                  every gate: lint, fuzz-lint, test, check-asan,
#                               check-valgrind, fuzz (stops at the first failure)
#   make fuzz [FUZZ_SECONDS=30] build the libFuzzer targets of fuzz/, replay
#                               fuzz/regressions/, fuzz each target for
#                               FUZZ_SECONDS over a copy of its corpus
#                               (FUZZ_SECONDS=0: each corpus input once)
#   make fuzz-build             only build them (build/fuzz/)
#   make fuzz-corpus            regenerate fuzz/corpus/ (fuzz/make_corpus.sh)
#   make fuzz-lint              cppcheck over fuzz/*.c, shellcheck over fuzz/*.sh
#   make check-asan             the spec suite under lua5.4 with core.so built
#                               with gcc ASan + UBSan (build/asan/)
#   make check-valgrind         the C-core specs under valgrind memcheck
#
# SPEC_LUA_PATH overrides the LUA_PATH of the two spec gates (for example
# to add a stub module while one is being written).

.PHONY: check check-asan check-valgrind fuzz fuzz-build fuzz-corpus \
        fuzz-replay fuzz-clean fuzz-lint

check:
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory fuzz-lint
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-valgrind
	$(MAKE) --no-print-directory fuzz

SPEC_LUA_PATH ?= lua/?.lua;lua/?/init.lua;spec/?.lua;;

# ---- fuzzing (clang + libFuzzer) -----------------------------------------

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := build/fuzz
FUZZ_TARGETS := fuzz_uri fuzz_query fuzz_header fuzz_sign fuzz_http_header fuzz_http_answer \
                fuzz_engine_auth fuzz_engine_csv
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
FUZZ_CFLAGS  := -std=c99 -D_POSIX_C_SOURCE=200809L -DOPENSSL_API_COMPAT=0x10100000L \
                -g -O1 -fno-omit-frame-pointer -Isrc $(WARN) -Werror \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(shell $(PKG_CONFIG) --cflags libcrypto)
FUZZ_LIBS    := $(shell $(PKG_CONFIG) --libs libcrypto)
# -detect_leaks=1 is libFuzzer's default under ASan; said out loud here.
# FUZZ_SECONDS=0 only runs each corpus input once (libFuzzer's own 0
# would mean "no time limit").
FUZZ_TIME      = $(if $(filter 0,$(FUZZ_SECONDS)),-runs=0,-max_total_time=$(FUZZ_SECONDS))
FUZZ_RUN_FLAGS = $(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
                 -detect_leaks=1 -print_final_stats=1

fuzz_uri_SRCS         := src/sigv4.c
fuzz_query_SRCS       := src/sigv4.c
fuzz_header_SRCS      := src/sigv4.c
fuzz_sign_SRCS        := src/sigv4.c
fuzz_http_header_SRCS := src/http_parse.c
fuzz_http_answer_SRCS := src/http_plain.c src/http_parse.c

# The Lua targets (fuzz/fuzz_lua.h): a Lua 5.4 state runs a harness of
# fuzz/ over the engine's Lua modules; the auth one links the whole C core
# (built with the fuzzer's sanitizers) and preloads it as personalize.core.
FUZZ_LUA_FLAGS := -DFUZZ_LUA_ROOT='"$(CURDIR)"' $(shell $(PKG_CONFIG) --cflags lua5.4)
FUZZ_LUA_LIBS  := $(shell $(PKG_CONFIG) --libs lua5.4)
fuzz_engine_auth_SRCS  := $(wildcard src/*.c)
fuzz_engine_auth_FLAGS := $(FUZZ_LUA_FLAGS) -DPERSONALIZE_VERSION='"$(VERSION)"' \
                          $(shell $(PKG_CONFIG) --cflags libcurl)
fuzz_engine_auth_LIBS  := $(FUZZ_LUA_LIBS) $(shell $(PKG_CONFIG) --libs libcurl openssl)
fuzz_engine_csv_SRCS   := $(wildcard src/engine/*.c)
fuzz_engine_csv_FLAGS  := $(FUZZ_LUA_FLAGS) $(shell $(PKG_CONFIG) --cflags sqlite3)
fuzz_engine_csv_LIBS   := $(FUZZ_LUA_LIBS) $(shell $(PKG_CONFIG) --libs sqlite3) -lpthread -lm
$(FUZZ_DIR)/fuzz_engine_auth: fuzz/fuzz_lua.h $(wildcard src/*.h)
$(FUZZ_DIR)/fuzz_engine_csv: fuzz/fuzz_lua.h $(wildcard src/engine/*.h) src/compat.h

.SECONDEXPANSION:
$(FUZZ_DIR)/%: fuzz/%.c fuzz/fuzz_util.h $$($$*_SRCS) src/sigv4.h src/http_parse.h src/http_plain.h check.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $($*_FLAGS) -o $@ $< $($*_SRCS) $(FUZZ_LIBS) $($*_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-corpus:
	sh fuzz/make_corpus.sh

# The static checks of `lint`, for the C and shell of fuzz/.
fuzz-lint:
	cppcheck --enable=warning,style,performance,portability --inline-suppr \
	  --error-exitcode=1 -q --std=c99 -Isrc fuzz/*.c
	@if command -v shellcheck >/dev/null 2>&1; then \
	  echo "shellcheck fuzz/*.sh"; shellcheck fuzz/*.sh; fi

# Every saved regression input runs once (libFuzzer runs file arguments
# once each); a crash there fails before any fuzzing starts.
fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(find fuzz/regressions/$$t -type f 2>/dev/null | sort); \
	  [ -n "$$files" ] || continue; \
	  n=$$(echo "$$files" | wc -l); \
	  echo "fuzz: replaying $$n regression input(s) of $$t"; \
	  if ! $(FUZZ_DIR)/$$t $$files >$(FUZZ_DIR)/$$t.replay.log 2>&1; then \
	    tail -n 40 $(FUZZ_DIR)/$$t.replay.log; \
	    echo "fuzz: $$t FAILED on a regression input of fuzz/regressions/$$t/" \
	         "(log: $(FUZZ_DIR)/$$t.replay.log)"; \
	    exit 1; \
	  fi; \
	done

# One rule per target so `make -j2 fuzz` runs two at a time. The corpus is
# copied: new inputs land in build/fuzz/corpus-<target>, never in fuzz/.
FUZZ_RUNS := $(addprefix fuzz-run-,$(FUZZ_TARGETS))
.PHONY: $(FUZZ_RUNS)
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_DIR)/% | fuzz-replay
	@rm -rf $(FUZZ_DIR)/corpus-$* $(FUZZ_DIR)/artifacts-$*
	@mkdir -p $(FUZZ_DIR)/corpus-$* $(FUZZ_DIR)/artifacts-$*
	@if [ -d fuzz/corpus/$* ]; then cp -R fuzz/corpus/$*/. $(FUZZ_DIR)/corpus-$*/; fi
	@echo "fuzz: $* for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$*.log)"
	@if $(FUZZ_DIR)/$* $(FUZZ_RUN_FLAGS) -artifact_prefix=$(FUZZ_DIR)/artifacts-$*/ \
	     $(FUZZ_DIR)/corpus-$* >$(FUZZ_DIR)/$*.log 2>&1; then \
	  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_DIR)/$*.log \
	    | sed 's/^/fuzz: $*: /'; \
	else \
	  tail -n 60 $(FUZZ_DIR)/$*.log; \
	  echo "fuzz: $* FAILED (crash, leak, timeout or OOM). Input(s):"; \
	  ls -1 $(FUZZ_DIR)/artifacts-$*/* 2>/dev/null | sed 's/^/  /'; \
	  echo "fuzz: replay with $(FUZZ_DIR)/$* <input>; once fixed, copy the input" \
	       "to fuzz/regressions/$*/"; \
	  exit 1; \
	fi

fuzz: $(FUZZ_RUNS)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

# ---- ASan + UBSan over the spec suite (gcc) ------------------------------

ASAN_DIR    := build/asan
ASAN_CORE   := $(ASAN_DIR)/personalize/core.so
ASAN_SANS   := -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_RT     := $(shell gcc -print-file-name=libasan.so)
ASAN_REPORT := $(CURDIR)/$(ASAN_DIR)/reports

# The same rules and flags as $(CORE), into another directory, with gcc:
# a sub-make of the Makefile's own rules (so it sees every change to them).
.PHONY: asan-core
asan-core:
	@$(MAKE) --no-print-directory all LUA=lua5.4 CC=gcc BUILD=$(ASAN_DIR) \
	  OPT="-O1 -g -fno-omit-frame-pointer $(ASAN_SANS)" \
	  LDFLAGS="-shared $(ASAN_SANS)"

# LD_PRELOAD must put libasan first in the lua5.4 process (core.so is
# dlopen'ed long after start), but the specs start python3, the aws CLI,
# sh, openssl... which must not inherit it. fuzz/asan_unpreload.c is
# preloaded after libasan: its constructor puts LD_PRELOAD back to what
# it was before the wrapper, so children spawned any way (io.popen,
# os.execute) start clean. A child *Lua* gets the wrapper again and so
# runs under ASan too: $PERSONALIZE_LUA is the wrapper, and the wrapper is
# `lua5.4` on the PATH of the run (build/asan/bin/), so a script that runs
# `lua5.4` by name or through `#!/usr/bin/env lua5.4` (bin/personalize-local,
# tools/*.sh) cannot load the ASan core without the ASan runtime, whatever
# else the machine has installed or built.
ASAN_LUA := $(firstword $(filter-out %/$(ASAN_DIR)/bin/lua5.4,$(shell which -a lua5.4 2>/dev/null)) /usr/bin/lua5.4)

$(ASAN_DIR)/asan_unpreload.so: fuzz/asan_unpreload.c check.mk
	@mkdir -p $(dir $@)
	gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) -fPIC -shared -o $@ $<

$(ASAN_DIR)/lua5.4: check.mk
	@mkdir -p $(dir $@) $(dir $@)bin
	@printf '%s\n' '#!/bin/bash' \
	  '# lua5.4 with libasan preloaded for itself only (written by check.mk).' \
	  '# Lua sees argv[0] "lua5.4": a script that starts arg[-1] again goes' \
	  '# through this wrapper (on PATH) too.' \
	  'PZ_ASAN_SAVED_PRELOAD="$${LD_PRELOAD-}"; export PZ_ASAN_SAVED_PRELOAD' \
	  'LD_PRELOAD="$(ASAN_RT) $(CURDIR)/$(ASAN_DIR)/asan_unpreload.so$${LD_PRELOAD:+ $$LD_PRELOAD}"' \
	  'export LD_PRELOAD' \
	  'exec -a lua5.4 $(ASAN_LUA) "$$@"' >$@
	@chmod +x $@
	@ln -sf ../lua5.4 $(dir $@)bin/lua5.4

# ASan reports also go to files (log_path), so one raised in a child Lua
# whose output a spec swallows still fails the gate. gcc's UBSan ignores
# log_path when libasan is loaded, so the output is also kept in
# build/asan/spec.log and searched; with halt_on_error a UBSan report
# also ends the process, which fails busted or the spec that ran it.
ASAN_LOG := $(ASAN_DIR)/spec.log
SANITIZER_MARKS := ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer|ERROR: LeakSanitizer

check-asan: asan-core $(ASAN_DIR)/asan_unpreload.so $(ASAN_DIR)/lua5.4
	@rm -rf $(ASAN_REPORT) $(ASAN_LOG) && mkdir -p $(ASAN_REPORT)
	@echo "check-asan: spec suite under lua5.4 + $(ASAN_RT)"
	@{ LUA_PATH="$(SPEC_LUA_PATH)" LUA_CPATH="$(ASAN_DIR)/?.so;;" \
	  PERSONALIZE_LUA="$(CURDIR)/$(ASAN_DIR)/lua5.4" PATH="$(CURDIR)/$(ASAN_DIR)/bin:$$PATH" \
	  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:log_path=$(ASAN_REPORT)/asan:log_exe_name=1" \
	  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_REPORT)/ubsan:log_exe_name=1" \
	  $(ASAN_DIR)/lua5.4 $(BUSTED) $(BUSTED_ARGS) spec 2>&1; echo $$? >$(ASAN_LOG).rc; } \
	  | tee $(ASAN_LOG); \
	rc=$$(cat $(ASAN_LOG).rc); rm -f $(ASAN_LOG).rc; \
	if [ -n "$$(ls -A $(ASAN_REPORT))" ]; then \
	  for f in $(ASAN_REPORT)/*; do echo "==== $$f"; cat "$$f"; done; \
	  echo "check-asan: FAILED: sanitizer report(s) in $(ASAN_DIR)/reports/"; exit 1; \
	fi; \
	if grep -qE '$(SANITIZER_MARKS)' $(ASAN_LOG); then \
	  grep -nE '$(SANITIZER_MARKS)' $(ASAN_LOG); \
	  echo "check-asan: FAILED: sanitizer report(s) in $(ASAN_LOG)"; exit 1; \
	fi; \
	if [ "$$rc" -ne 0 ]; then echo "check-asan: FAILED: busted exited $$rc"; exit $$rc; fi; \
	echo "check-asan: OK (no ASan/UBSan report)"

# ---- valgrind over the specs that reach the C core -----------------------

VALGRIND_SPECS = $(wildcard spec/core spec/sigv4 spec/client spec/secrets_spec.lua spec/engine/store_spec.lua \
                 spec/engine/columns_spec.lua)
VALGRIND       = valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
                 --show-leak-kinds=definite --error-exitcode=1 --keep-debuginfo=yes \
                 --suppressions=fuzz/valgrind.supp --trace-children=no

check-valgrind:
	@$(MAKE) --no-print-directory all LUA=lua5.4
	@echo "check-valgrind: $(VALGRIND_SPECS) under valgrind memcheck"
	@LUA_PATH="$(SPEC_LUA_PATH)" LUA_CPATH="build/lua5.4/?.so;;" PERSONALIZE_LUA=lua5.4 \
	  $(VALGRIND) lua5.4 $(BUSTED) $(BUSTED_ARGS) $(VALGRIND_SPECS) \
	  && echo "check-valgrind: OK (no memcheck error, no definite leak)" \
	  || { rc=$$?; echo "check-valgrind: FAILED (valgrind or busted exited $$rc; see the ==PID== lines above)"; exit $$rc; }
