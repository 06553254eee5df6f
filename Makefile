# sessrec - plain make. Targets:
#   make            library + command-line program (build/sessrec)
#   make demo       synth -> prepare -> train -> eval on built-in data (needs only the build tools)
#   make test       everything: unit tests, sanitizer tests, fuzz smoke runs
#   make check      unit tests of one build (SAN=1: ASan + UBSan build in build-san/)
#   make fuzz       longer fuzzing of every reader (FUZZ_SECONDS per target)
#   make bench      benchmark table (not part of make test)
#   make install    library (.a, .so), header, pkg-config file, program under PREFIX
#   make deps       install missing Debian packages (root), or say what to install
#   make clean

CC      ?= gcc
ARCH    ?= -march=native
OPT     ?= -O3
WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  += -std=c11 $(OPT) $(ARCH) -g $(WARN) -fvisibility=hidden -Iinclude -pthread
# the library's objects are position independent, so one set serves both
# libsessrec.a and libsessrec.so (measured: no difference in bench_gru's rates,
# see docs/python.md)
PIC     ?= -fPIC
# the library and its tests see src/; tools/ sees the public header only
LIB_INC  = -Isrc
CPPFLAGS += -D_FILE_OFFSET_BITS=64
LDLIBS  += -ljansson -lmicrohttpd -lopenblas -lz -lm -pthread

ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
export SR_SAN := 1
else
BUILD   := build
endif

LIB_SRC  := $(wildcard src/*/*.c)
LIB_HDR  := include/sessrec.h $(wildcard src/*/*.h)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:tools/%.c=$(BUILD)/obj/tools/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
LIB      := $(BUILD)/libsessrec.a
BIN      := $(BUILD)/sessrec
# the shared library: exports exactly the SR_API functions of include/sessrec.h
SO_MAJOR := 0
SO_VER   := $(shell sed -n 's/^\#define SR_VERSION_STRING "\(.*\)"/\1/p' include/sessrec.h)
SONAME   := libsessrec.so.$(SO_MAJOR)
SO       := $(BUILD)/libsessrec.so.$(SO_VER)
SO_LINKS := $(BUILD)/$(SONAME) $(BUILD)/libsessrec.so
# python3 with Debian's numpy/pandas/pytest/optuna (a pyenv python3 on PATH may lack them)
PYTHON   ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
PREFIX   ?= /usr/local
# The test build's program: the same, but its I/O wrappers (src/util/fileio.c
# with -DSR_FAULT_INJECTION) can fail the k-th call (tests/test_filesafety.c).
FAULT_BIN := $(BUILD)/sessrec-fault
FAULT_OBJ := $(filter-out $(BUILD)/obj/util/fileio.o,$(LIB_OBJ)) $(BUILD)/obj/util/fileio-fault.o

.PHONY: all deps demo test check tsan fuzz fuzz-smoke bench clean install pytest FORCE
.SECONDARY:

all: deps-check $(BIN) $(SO_LINKS)

# $(BUILD)/lib-flags holds the library's compile flags and changes only when
# they do, so objects built with other flags (e.g. before -fPIC) are rebuilt
LIB_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) $(PIC)
$(BUILD)/lib-flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(LIB_FLAGS)' | cmp -s - $@ || echo '$(LIB_FLAGS)' > $@
FORCE:
$(BUILD)/obj/%.o: src/%.c $(LIB_HDR) $(BUILD)/lib-flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PIC) $(LIB_INC) -c $< -o $@
$(BUILD)/obj/tools/%.o: tools/%.c include/sessrec.h $(wildcard tools/*.h) | $(BUILD)/obj/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itools -c $< -o $@
# the python3 that `sessrec tune` runs unless SESSREC_PYTHON says otherwise
$(BUILD)/obj/tools/cmd_tune.o: CPPFLAGS += -DSR_PYTHON='"$(PYTHON)"'
# sqrtf in the optimizer loops vectorises only without errno semantics; the
# fast exp/sigmoid/tanh (fastmath.h) vectorise only when comparisons may be
# if-converted (-fno-trapping-math: no FP exceptions are trapped here). Neither
# flag changes a single result: no reassociation, no contraction (-std=c11).
$(BUILD)/obj/gru4rec/optim.o: CFLAGS += -fno-math-errno -fno-trapping-math
$(BUILD)/obj/gru4rec/loss.o $(BUILD)/obj/gru4rec/gru_kernels.o: CFLAGS += -fno-trapping-math
# the serving kernel's multiply-adds may fuse (ISO C mode turns contraction off)
$(BUILD)/obj/gru4rec/gru_score.o: CFLAGS += -ffp-contract=fast
$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BIN): $(TOOL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(TOOL_OBJ) $(LIB) $(LDLIBS) -o $@
$(SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(LDFLAGS) $^ $(LDLIBS) -o $@
$(SO_LINKS): $(SO)
	ln -sf $(notdir $(SO)) $@
$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(LIB) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_INC) -Itests $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
# The serving kernels' portable paths (no AVX2, no FMA: what a generic x86-64
# build runs) under the same tests, their sources compiled into the test
PORTABLE_SRC := src/gru4rec/gru_bound.c src/gru4rec/gru_score.c
PORTABLE_TESTS := $(if $(filter x86_64,$(shell uname -m)),$(BUILD)/tests/test_gru_bound-portable \
                  $(BUILD)/tests/test_gru_score-portable)
$(BUILD)/tests/%-portable: tests/%.c $(PORTABLE_SRC) $(wildcard tests/*.h) $(LIB_HDR) $(LIB) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -march=x86-64 -mtune=generic -ffp-contract=fast $(LIB_INC) -Itests \
	    $< $(PORTABLE_SRC) $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
# test_cli compiles tools/cli.c in (its helpers are tested directly)
$(BUILD)/tests/test_cli: tools/cli.c tools/cli.h tools/opts.h
$(BUILD)/obj/util/fileio-fault.o: src/util/fileio.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_INC) -DSR_FAULT_INJECTION -c $< -o $@
$(FAULT_BIN): $(TOOL_OBJ) $(FAULT_OBJ)
	$(CC) $(LDFLAGS) $(TOOL_OBJ) $(FAULT_OBJ) $(LDLIBS) -o $@
$(BUILD)/bench/%: bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_INC) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
$(BUILD)/obj/tools $(BUILD)/tests $(BUILD)/bench build-fuzz:
	mkdir -p $@

# ---- dependencies --------------------------------------------------------
deps:
	@scripts/deps.sh install
deps-check:
	@scripts/deps.sh check

# ---- tests ----------------------------------------------------------------
# Each test program runs from the project root (it finds ../shared/data) and
# prints "N passed, N failed, N skipped"; scripts/run-tests.sh adds them up.
# scripts/check-layers.sh (no import circles, layer order) reads this build's
# objects and counts the same way; tests/test_serve.py drives `sessrec serve`
# over loopback HTTP (curl, http.client).
# The shared library's exports and pkg-config link test, and the Python
# package's pytest suite, run in the normal build only (a sanitizer .so cannot
# be loaded into an uninstrumented python3).
ifeq ($(SAN),1)
SHARED_TESTS :=
else
SHARED_TESTS := scripts/check-shared.sh scripts/run-pytest.sh
endif
check: deps-check $(BIN) $(FAULT_BIN) $(TEST_BIN) $(PORTABLE_TESTS) $(if $(SHARED_TESTS),$(SO_LINKS))
	@SR_BIN=$(BIN) SR_OBJ=$(BUILD)/obj SR_SO=$(SO) SR_BUILD=$(BUILD) PYTHON=$(PYTHON) \
	    scripts/run-tests.sh $(TEST_BIN) $(PORTABLE_TESTS) tests/test_serve.py scripts/check-layers.sh $(SHARED_TESTS)

# the Python package's tests alone
pytest: $(BIN) $(SO_LINKS)
	@SR_BIN=$(BIN) SR_BUILD=$(BUILD) PYTHON=$(PYTHON) scripts/run-pytest.sh

# ---- install ----------------------------------------------------------------
# make install PREFIX=/opt/sessrec [DESTDIR=...]: program, static and shared
# library (with its SONAME link), the header and sessrec.pc for pkg-config.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sessrec
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libsessrec.a
	install -m 755 $(SO) $(DESTDIR)$(PREFIX)/lib/$(notdir $(SO))
	ln -sf $(notdir $(SO)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(notdir $(SO)) $(DESTDIR)$(PREFIX)/lib/libsessrec.so
	install -m 644 include/sessrec.h $(DESTDIR)$(PREFIX)/include/sessrec.h
	install -d $(DESTDIR)$(PREFIX)/lib/sessrec/python/sessrec/spaces
	install -m 644 python/sessrec/*.py $(DESTDIR)$(PREFIX)/lib/sessrec/python/sessrec/
	install -m 644 python/sessrec/spaces/*.json $(DESTDIR)$(PREFIX)/lib/sessrec/python/sessrec/spaces/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(SO_VER)|' -e 's|@LIBS@|$(strip $(LDLIBS))|' sessrec.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sessrec.pc

NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) check
	@$(MAKE) --no-print-directory -j$(NPROC) check SAN=1
	@$(MAKE) --no-print-directory -j$(NPROC) tsan
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-smoke
	@scripts/run-tests.sh --total

# ---- ThreadSanitizer: the tests whose code runs threads over shared data ----
# (the server's scoring team, scoring split by items with a model's shared
# panels, the training step's team, the parallel-for fan-outs)
TSAN_TESTS  := test_serve_team test_session test_blas_state test_util test_gru_grad test_gru_model
TSAN_CFLAGS = -std=c11 -g -O1 -march=native -Iinclude -Isrc -Itests -pthread \
              -D_FILE_OFFSET_BITS=64 -fsanitize=thread
TSAN_OBJ := $(LIB_SRC:src/%.c=build-tsan/obj/%.o)
build-tsan/obj/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang $(TSAN_CFLAGS) -c $< -o $@
build-tsan/%: tests/%.c $(TSAN_OBJ) $(wildcard tests/*.h)
	clang $(TSAN_CFLAGS) $< $(TSAN_OBJ) $(LDLIBS) -o $@
build-tsan/sessrec: $(TOOL_SRC) $(wildcard tools/*.h) $(TSAN_OBJ)
	clang $(TSAN_CFLAGS:-Isrc=) -Itools $(TOOL_SRC) $(TSAN_OBJ) $(LDLIBS) -o $@
# and the server itself, driven by tests/test_serve.py (it fails on any report
# in the servers' log)
tsan: $(TSAN_TESTS:%=build-tsan/%) build-tsan/sessrec
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" SR_SAN=1 SR_BIN=build-tsan/sessrec \
	    PYTHON=$(PYTHON) scripts/run-tests.sh $(TSAN_TESTS:%=build-tsan/%) tests/test_serve.py

# ---- fuzzing (clang + libFuzzer; each reader gets its own target) ----------
# The library is compiled once with coverage + ASan + UBSan, then linked into
# every target.
FUZZ_CFLAGS = -std=c11 -g -O1 -Iinclude -Isrc -pthread -D_FILE_OFFSET_BITS=64 \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ := $(LIB_SRC:src/%.c=build-fuzz/obj/%.o)
build-fuzz/obj/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
build-fuzz/%: fuzz/%.c $(FUZZ_OBJ) $(LIB_HDR) $(wildcard fuzz/*.h) | build-fuzz
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) $(LDLIBS) -o $@
FUZZ_SECONDS ?= 300
fuzz-smoke: $(FUZZ_BIN)
	@scripts/fuzz.sh 10 $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# ---- demo and benchmarks ------------------------------------------------------
demo: deps-check $(BIN)
	@SR_BIN=$(BIN) scripts/demo.sh

bench: deps $(BIN) $(BENCH_BIN)
	@SR_BIN=$(BIN) scripts/bench.sh $(BENCH_BIN)

clean:
	rm -rf build build-san build-fuzz build-tsan
