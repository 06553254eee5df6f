#!/bin/sh
# run-pytest.sh - runs the Python package's pytest suite (python/tests) with the
# python3 that has Debian's numpy, pandas, pytest and optuna ($PYTHON), against
# this build's shared library and program (SR_BUILD, SR_BIN), and prints one
# "N passed, N failed, N skipped" line for scripts/run-tests.sh. pytest's own
# summary and failures go to stderr. Exit status: pytest's; "no tests ran"
# (pytest's 5) counts as a failure, and so does a missing pytest.
set -u
py=${PYTHON:-python3}
build=${SR_BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
if ! "$py" -c 'import pytest, numpy, pandas' 2>/dev/null; then
    echo "python tests: $py lacks pytest, numpy or pandas (Debian: apt-get install python3-pytest python3-numpy python3-pandas python3-optuna)" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
out=$(mktemp)
SESSREC_LIB="$root/$build/libsessrec.so" SR_BIN="${SR_BIN:-$root/$build/sessrec}" \
    "$py" -m pytest -q -p no:cacheprovider -rs "$root/python/tests" >"$out" 2>&1
rc=$?
cat "$out" >&2
# the summary: "3 failed, 17 passed, 2 skipped, 1 error in 48.81s" (any order)
last=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed)|no tests ran' "$out" | tail -n 1)
rm -f "$out"
count() { echo "$last" | grep -oE "[0-9]+ $1" | awk '{s+=$1} END {print s+0}'; }
p=$(count passed); f=$(( $(count failed) + $(count 'errors?') )); s=$(count skipped)
# skipped tests say why (pytest -rs), like the C tests' "  skipping" lines
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # 5: no tests collected; other codes: interrupted, internal or usage error
    echo "pytest exited with $rc (5 = no tests ran)" >&2
    f=1
fi
echo "$p passed, $f failed, $s skipped"
exit $rc
