# sessrec - plain make. Targets:
#   make            library + command-line program (build/sessrec)
#   make demo       synth -> prepare -> train -> eval on built-in data
#   make test       everything: unit tests, sanitizer tests, fuzz smoke runs
#   make check      unit tests of one build (SAN=1: ASan + UBSan build in build-san/)
#   make fuzz       longer fuzzing of every reader (FUZZ_SECONDS per target)
#   make bench      benchmark table (not part of make test)
#   make deps       install missing Debian packages (root), or say what to install
#   make clean

CC      ?= gcc
ARCH    ?= -march=native
OPT     ?= -O3
WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  += -std=c11 $(OPT) $(ARCH) -g $(WARN) -fvisibility=hidden -Iinclude -Isrc -pthread
CPPFLAGS += -D_FILE_OFFSET_BITS=64
LDLIBS  += -lopenblas -lz -lm -pthread

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

.PHONY: all deps demo test check fuzz fuzz-smoke bench clean
.SECONDARY:

all: deps-check $(BIN)

$(BUILD)/obj/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/tools/%.o: tools/%.c $(LIB_HDR) $(wildcard tools/*.h) | $(BUILD)/obj/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itools -c $< -o $@
# sqrtf in the optimizer loops vectorises only without errno semantics; the
# fast exp/sigmoid/tanh (fastmath.h) vectorise only when comparisons may be
# if-converted (-fno-trapping-math: no FP exceptions are trapped here). Neither
# flag changes a single result: no reassociation, no contraction (-std=c11).
$(BUILD)/obj/gru4rec/optim.o: CFLAGS += -fno-math-errno -fno-trapping-math
$(BUILD)/obj/gru4rec/loss.o $(BUILD)/obj/gru4rec/gru_kernels.o: CFLAGS += -fno-trapping-math
$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BIN): $(TOOL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(TOOL_OBJ) $(LIB) $(LDLIBS) -o $@
$(BUILD)/tests/%: tests/%.c tests/test.h $(LIB) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
$(BUILD)/bench/%: bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
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
check: deps-check $(BIN) $(TEST_BIN)
	@SR_BIN=$(BIN) scripts/run-tests.sh $(TEST_BIN)

NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) check
	@$(MAKE) --no-print-directory -j$(NPROC) check SAN=1
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-smoke
	@scripts/run-tests.sh --total

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
demo: deps $(BIN)
	@SR_BIN=$(BIN) scripts/demo.sh

bench: deps $(BIN) $(BENCH_BIN)
	@SR_BIN=$(BIN) scripts/bench.sh $(BENCH_BIN)

clean:
	rm -rf build build-san build-fuzz
