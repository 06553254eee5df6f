#!/bin/sh
# bench.sh BENCH... - runs every benchmark program and prints their tables,
# then the HTTP server benchmark (scripts/bench-serve.sh: wrk against sessrec serve).
set -eu
for b in "$@"; do "$b"; done
"$(dirname "$0")/bench-serve.sh"
