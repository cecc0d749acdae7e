# Candor: `make run` starts a demo server on http://127.0.0.1:8080; `make test` runs every test.
# Both install missing Debian packages first (apt-get, with sudo when not root).

BUILD    ?= build
DATA     ?= data
LISTEN   ?= 127.0.0.1:8080
PKGS      = lua5.4 lua5.4-cjson libuv libsodium sqlite3 liboath libqrencode libcurl xlsxwriter
LLHTTP    = /usr/share/llhttp
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS  = -std=c11 -D_GNU_SOURCE -iquote core -I/usr/share/include/llhttp $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhpdf -lcsv -lmimalloc -lm
SAN       =

CORE_SRC  = $(filter-out core/main.c,$(wildcard core/*.c))
CORE_OBJ  = $(CORE_SRC:core/%.c=$(BUILD)/core/%.o)
LLHTTP_OBJ = $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o $(BUILD)/llhttp/llhttp.o
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOLS_SRC = $(wildcard tests/tools/*.c)
TOOLS_BIN = $(TOOLS_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all run test bench deps deps-test deps-bench asan fmt lint clean unit scenarios check-fresh docs

all: $(BUILD)/candor

deps:
	@.ci/deps.sh build
deps-test:
	@.ci/deps.sh build test
deps-bench:
	@.ci/deps.sh build bench

$(BUILD)/core/%.o: core/%.c $(wildcard core/*.h) | $(BUILD)/core
	@echo "  CC    $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $(WARN) -c $< -o $@

# llhttp comes as C sources in Debian's node-llhttp; built as third-party code (no -Werror),
# in its strict mode (no space in header names, no tab or raw non-ASCII byte in the target,
# CRLF after chunk data; see docs/architecture.md)
$(BUILD)/llhttp/%.o: $(LLHTTP)/%.c Makefile | $(BUILD)/llhttp
	@echo "  CC    $<"
	@$(CC) -std=c11 -DLLHTTP_STRICT_MODE=1 -I/usr/share/include/llhttp $(CFLAGS) $(SAN) -w -c $< -o $@

$(BUILD)/candor: $(BUILD)/core/main.o $(CORE_OBJ) $(LLHTTP_OBJ)
	@echo "  LINK  $@"
	@$(CC) $(SAN) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(LLHTTP_OBJ) | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $(WARN) $^ -o $@ $(LDLIBS) -lcmocka

# bench programs (bench/*.c) are stand-alone: llhttp and libuv only, no core objects
$(BUILD)/bench/%: bench/%.c $(LLHTTP_OBJ) | $(BUILD)/bench
	@echo "  CC    $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $(WARN) $^ -o $@ $(LDLIBS)

# except the permission evaluator's: it links core/authz.c (plain C) and nothing else
$(BUILD)/bench/authz_bench: bench/authz_bench.c $(BUILD)/core/authz.o | $(BUILD)/bench
	@echo "  CC    $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $(WARN) $^ -o $@ -lm

# test tools: programs the scenarios start (the fake SMTP server of tests/scenarios/mail/)
$(BUILD)/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h) | $(BUILD)/tools
	@echo "  CC    $<"
	@$(CC) -std=c11 -D_GNU_SOURCE $(CFLAGS) $(SAN) $(WARN) $< -o $@

$(BUILD)/core $(BUILD)/llhttp $(BUILD)/tests $(BUILD)/bench $(BUILD)/tools:
	@mkdir -p $@

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/candor
	$(BUILD)/candor serve --data $(DATA) --listen $(LISTEN) --demo

test: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/candor $(UNIT_BIN) $(TOOLS_BIN)
	@BUILD=$(BUILD) tests/run.sh

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

scenarios: $(BUILD)/candor $(TOOLS_BIN)
	$(BUILD)/candor test tests/scenarios

# the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (browser tests excluded)
asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		build/asan/candor $(UNIT_BIN:$(BUILD)/%=build/asan/%)
	@BUILD=build/asan SKIP_BROWSER=1 CANDOR_APP=$(CURDIR)/lua ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh

bench: deps-bench
	@$(MAKE) --no-print-directory $(BUILD)/candor $(BENCH_BIN)
	@BUILD=$(BUILD) bench/run.sh

# regenerate the generated docs (docs/demo.md, the field reference of workflow scripts in docs/scripting.md)
docs: $(BUILD)/candor
	$(BUILD)/candor run --data $(BUILD)/doc-data lua/tools/demo_doc.lua docs/demo.md
	$(BUILD)/candor run --data $(BUILD)/doc-data lua/tools/scripting_doc.lua docs/scripting.md

C_SOURCES = core/*.c core/*.h tests/unit/*.c bench/*.c

fmt:
	clang-format -i $(C_SOURCES)

# Lua by luacheck; C must be as clang-format (.clang-format) writes it: `make fmt` fixes it
lint:
	luacheck --no-color --quiet lua workflows policies tests/scenarios
	@clang-format --dry-run --Werror $(C_SOURCES) || { echo "lint: C files differ from clang-format's layout: run make fmt" >&2; exit 1; }

# what CI sees: a fresh clone of what is committed
check-fresh:
	rm -rf /tmp/candor-fresh && git clone -q . /tmp/candor-fresh && $(MAKE) -C /tmp/candor-fresh test

clean:
	rm -rf build
