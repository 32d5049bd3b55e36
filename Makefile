# dumplings: distributed packet sniffing with Lua chefs.
# Dependencies come from pkg-config; `make deps` installs them on Debian.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
DATADIR  = $(PREFIX)/share/dumplings
MANDIR   = $(PREFIX)/share/man
# systemd's units; where the units look for their configuration files
UNITDIR ?= $(PREFIX)/lib/systemd/system
CONFDIR ?= /etc/dumplings
UNITS    = dumplings-hub.service dumplings-kitchen@.service

# openssl (libssl-dev, which libwebsockets-dev already pulls in): lws trusts
# only its own build-time certificate directory, so the clients hand
# OpenSSL's default store (the system's) to it themselves.
# libnats (cnats, libnats-dev): the hub's link to other hubs (--nats). It is
# always linked, like the other Debian libraries, rather than made a build
# option: one binary, one set of packages, and a hub without --nats never
# touches it (no thread, no socket), so a single machine needs no NATS
# server.
PKGS     = libpcap luajit libwebsockets libcjson openssl libnats
CC      ?= cc
CFLAGS  ?= -O2 -g
# CI builds with WERROR=-Werror: a warning fails it.
WERROR  ?=
WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes $(WERROR)
B       ?= build
BIN     ?= dumplings
CPPFLAGS += -I$(B) -Isrc -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# A folder per role, over the folders they share. Lower folders never
# include upper ones: each names the folders it may include from, and
# `make check-layers` (run by every build) holds them to it.
LAYERS        = base decode net kitchen hub eat
ALLOW_base    = base
ALLOW_decode  = base
ALLOW_net     = base
ALLOW_kitchen = base decode net
ALLOW_hub     = base net
ALLOW_eat     = base net

SRCS     = $(wildcard src/*.c src/*/*.c)
OBJS     = $(SRCS:src/%.c=$(B)/%.o) $(B)/version.o
LUA_RT   = $(wildcard lua/dumplings/*.lua)
LUA_SRC  = $(LUA_RT:lua/dumplings/%.lua=$(B)/lua_%.h)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSANFLAGS = -O1 -g -fsanitize=thread

all: $(BIN)

$(BIN): $(OBJS) $(B)/layers.ok
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(B)/%.o: src/%.c | $(B)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

# The Lua runtime is linked into the binary as source text, so an installed
# dumplings never depends on finding its own Lua files. Not as bytecode:
# LuaJIT's bytecode dumps drop the placeholder keys a table constructor's
# template keeps for its non-constant fields, and without them every
# constructor rehashes the table it builds while filling it in.
$(B)/kitchen/chef.o: $(LUA_SRC) $(B)/lua_cdef.h
$(B)/lua_%.h: lua/dumplings/%.lua Makefile | $(B)
	{ echo 'static const char dumplings_$*[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

# The packet layers are listed once, in src/decode/layers.tab: the enum and
# the names are generated from it (every object waits for them).
$(B)/layers.h: src/decode/layers.tab src/decode/layers.awk | $(B)
	awk -v what=enum -f src/decode/layers.awk src/decode/layers.tab > $@
$(B)/layer_names.h: src/decode/layers.tab src/decode/layers.awk | $(B)
	awk -v what=names -f src/decode/layers.awk src/decode/layers.tab > $@
$(OBJS): $(B)/layers.h
$(B)/decode/layers.o: $(B)/layer_names.h

# The FFI declarations shared by C and Lua are written once, between the
# FFI markers of src/decode/apps.h and packet.h (and the generated enum);
# Lua receives them as a string.
FFI_HEADERS = src/decode/apps.h src/decode/packet.h
$(B)/lua_cdef.h: $(B)/layers.h $(FFI_HEADERS) | $(B)
	{ echo 'static const char packet_cdef[] ='; \
	  { grep -v '^/\*' $(B)/layers.h; \
	    awk '/FFI-BEGIN/{on=1;next} /FFI-END/{on=0} on' $(FFI_HEADERS); } | \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/'; \
	  echo ';'; } > $@

$(B)/version.c: FORCE | $(B)
	@echo 'const char dumplings_version[] = "$(VERSION)";' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/version.o: $(B)/version.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

check-layers: $(B)/layers.ok
$(B)/layers.ok: $(wildcard src/*/*.[ch]) Makefile | $(B)
	@bad=; $(foreach d,$(LAYERS),for f in $(wildcard src/$(d)/*.[ch]); do \
	  for up in $$(sed -n 's|^#include "\([a-z]*\)/.*|\1|p' $$f); do \
	    case " $(ALLOW_$(d)) " in (*" $$up "*) ;; \
	    (*) echo "$$f includes from src/$$up/, which src/$(d)/ may not" >&2; bad=1 ;; \
	    esac; done; done;) test -z "$$bad"
	@touch $@

# The tests' own dependencies: the Debian packages (.ci/deps installs what
# is missing, as root or through sudo) and the pinned browser driver.
test-deps:
	@sh .ci/deps
	@[ -d t/browser/node_modules/playwright-core ] || \
	  (cd t/browser && npm ci --no-audit --no-fund)

test: test-deps $(BIN)
	prove -j2 t/

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
# from a separate build tree so the normal binary is untouched.
check-asan: test-deps
	$(MAKE) B=build-asan BIN=dumplings-asan CFLAGS="$(SANFLAGS)" LDFLAGS="$(SANFLAGS)" all drivers
	DUMPLINGS=$(CURDIR)/dumplings-asan DUMPLINGS_DRIVERS=$(CURDIR)/build-asan \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/t/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	prove -j2 t/

# The suite again under ThreadSanitizer, from build-tsan/. The kitchen has
# threads (reader, printer, guard, uplink), and so has a hub with --nats
# (its link's publisher and the NATS client's, t/70); eat has one, but
# shares code with them and costs little. Each process writes what it finds to
# build-tsan/reports/ (mode 1777: a kitchen run with -Z writes as nobody), so
# tests that check stderr are not upset and nothing is missed in a process a
# test kills; any report fails the target. t/tsan.supp says what is
# suppressed in the uninstrumented libraries (LuaJIT, libwebsockets,
# libpcap, OpenSSL, cJSON). Should TSan refuse to start (an older runtime
# under high-entropy ASLR says "unexpected memory mapping"), the suite runs
# with ASLR off (setarch -R), which every child inherits.
#
# Left out, and why:
#   t/23-install.t, t/72-systemd.t
#                            install and run the plain binary, not this one
#   t/40-fuzz-regressions.t  replays fuzz inputs with its own ASan builds
#   t/50-dashboard.t, t/52-dashboard-secure.t
#                            Chromium against the dashboard: the page and the
#                            one-threaded hub, nothing TSan can look at
#   t/60-hostile.t           attacks on the one-threaded hub, with a bound on
#                            its memory that TSan's shadow memory alone exceeds
#   t/34-slow-eater.t        the one-threaded hub and eater with a Python
#                            kitchen, nothing TSan can look at; and its fast
#                            eater must outpace a paced kitchen, which under
#                            TSan's slowdown it may not
#   t/66-books-balance.t     its fast eater must keep up with a kitchen
#                            replaying at 5000 packets a second, which under
#                            TSan's slowdown it may not
#   t/67-lossless.t          its consumer must be slower than the kitchen,
#                            which under TSan's slowdown it may not be; the
#                            uplink's threads are watched by t/32 and t/45
TSAN_SKIP    = t/23-install.t t/72-systemd.t t/40-fuzz-regressions.t t/50-dashboard.t \
	       t/52-dashboard-secure.t t/60-hostile.t t/34-slow-eater.t \
	       t/66-books-balance.t t/67-lossless.t
TSAN_TESTS   = $(filter-out $(TSAN_SKIP),$(wildcard t/*.t))
TSAN_REPORTS = $(CURDIR)/build-tsan/reports
TSAN_OPTIONS_RUN = log_path=$(TSAN_REPORTS)/tsan halt_on_error=0 \
	second_deadlock_stack=1 suppressions=$(CURDIR)/t/tsan.supp

check-tsan: test-deps
	$(MAKE) B=build-tsan BIN=dumplings-tsan CFLAGS="$(TSANFLAGS)" LDFLAGS="$(TSANFLAGS)" all drivers
	rm -rf $(TSAN_REPORTS)
	mkdir -m 1777 -p $(TSAN_REPORTS)
	@norandom=; \
	if ! ./dumplings-tsan --version >/dev/null 2>&1; then \
	  echo "dumplings-tsan does not start; trying with ASLR off (setarch -R)" >&2; \
	  norandom="setarch $$(uname -m) -R"; \
	fi; \
	DUMPLINGS=$(CURDIR)/dumplings-tsan DUMPLINGS_DRIVERS=$(CURDIR)/build-tsan \
	TSAN_OPTIONS="$(TSAN_OPTIONS_RUN)" \
	  $$norandom prove -j2 $(TSAN_TESTS); status=$$?; \
	for f in $(TSAN_REPORTS)/tsan.*; do \
	  [ -e "$$f" ] || continue; cat "$$f" >&2; status=1; \
	done; \
	[ $$status = 0 ] || echo "check-tsan failed (reports, if any, are above and in $(TSAN_REPORTS))" >&2; \
	exit $$status

bench: $(BIN)
	bench/run

deps:
	@sh .ci/deps

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/chefs $(DESTDIR)$(DATADIR)/web \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/dumplings
	install -m 644 lua/chefs/*.lua $(DESTDIR)$(DATADIR)/chefs/
	install -m 644 web/* $(DESTDIR)$(DATADIR)/web/
	install -m 644 man/dumplings.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/dumplings-lua.3 $(DESTDIR)$(MANDIR)/man3/
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
	  sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' dist/systemd/$$u.in \
	    > $(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

# The Debian package, built from the tracked files (debhelper, lintian):
# `make package` leaves it here; .ci/package also installs and runs it.
package:
	sh .ci/package --build-only

lint-man:
	mandoc -Tlint -Wwarning man/*.[0-9]

clean:
	rm -rf build build-asan build-tsan dumplings dumplings-asan dumplings-tsan

FORCE:
.PHONY: all check-layers test-deps test check-asan check-tsan bench deps install package lint-man clean FORCE
-include $(wildcard $(B)/*.d $(B)/*/*.d)

# ---- fuzzing -----------------------------------------------------------------
# libFuzzer targets (fuzz/*.c) built with clang into build-fuzz/ from the same
# sources less main.c; `make fuzz` runs each for FUZZ_SECONDS and prints its
# executions and coverage. `make fuzz-replay` builds the same targets without
# libFuzzer, with any compiler that has AddressSanitizer, into
# build-fuzz-replay/: t/40-fuzz-regressions.t replays fuzz/regressions/ and
# the seed corpora (fuzz/corpus/, made by fuzz/seeds.sh) with them.

FUZZ_TARGETS  = decode serialize hub_message chef_load ws_message hub_wire tcpreasm ipfrag
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
REPLAY_CC    ?= gcc
FUZZ_SAN      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
FUZZ_DEFS     = -DFUZZ_CHEF='"$(CURDIR)/t/chefs/touch.lua"' \
		-DFUZZ_SANDBOX='"$(CURDIR)/fuzz/chef_sandbox.lua"' \
		-DFUZZ_PCAP='"$(CURDIR)/examples/sample.pcap"'
FUZZ_COMMON   = fuzz/check.c

fuzz: fuzz-build
	@fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	@$(MAKE) -s --no-print-directory B=build-fuzz CC=$(FUZZ_CC) \
	  CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_TARGETS:%=build-fuzz/fuzz-%)

fuzz-replay:
	@$(MAKE) -s --no-print-directory B=build-fuzz-replay CC=$(REPLAY_CC) \
	  CFLAGS="$(FUZZ_SAN)" $(FUZZ_TARGETS:%=build-fuzz-replay/replay-%)

fuzz-clean:
	rm -rf build-fuzz build-fuzz-replay

# Everything but main(), as an archive: each target links what it uses.
$(B)/libdumplings.a: $(filter-out $(B)/main.o,$(OBJS)) $(B)/layers.ok
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# The drivers of parts tested without the rest (t/*-driver.c), each built
# by the test that runs it; check-asan and check-tsan build them all
# (make drivers) with their sanitizer, and say where (DUMPLINGS_DRIVERS).
DRIVERS = tcpreasm-driver hubinbox-driver
drivers: $(DRIVERS:%=$(B)/%)

# The reassembly engine's driver, for t/15-tcp-reasm.t: a script of
# segments in, what is delivered out.
tcpreasm-driver: $(B)/tcpreasm-driver
$(B)/tcpreasm-driver: t/tcpreasm-driver.c $(B)/libdumplings.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(B)/libdumplings.a $(LDLIBS)

# The hub inbox's driver, for t/68-hub-inbox.t: threads push, the main
# thread drains into ingest and fan-out.
hubinbox-driver: $(B)/hubinbox-driver
$(B)/hubinbox-driver: t/hubinbox-driver.c $(B)/libdumplings.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(B)/libdumplings.a $(LDLIBS)

$(B)/fuzz-%: fuzz/%.c $(FUZZ_COMMON) fuzz/check.h $(B)/libdumplings.a
	$(CC) $(CPPFLAGS) $(FUZZ_DEFS) $(CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ \
	  $< $(FUZZ_COMMON) $(B)/libdumplings.a $(LDLIBS)
	fuzz/check-fakes.sh $@ $(B)

$(B)/replay-%: fuzz/%.c fuzz/replay.c $(FUZZ_COMMON) fuzz/check.h $(B)/libdumplings.a
	$(CC) $(CPPFLAGS) $(FUZZ_DEFS) -DFUZZ_REPLAY=1 $(CFLAGS) $(WARN) -o $@ \
	  $< fuzz/replay.c $(FUZZ_COMMON) $(B)/libdumplings.a $(LDLIBS)
	fuzz/check-fakes.sh $@ $(B)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-clean drivers $(DRIVERS)
