#!/bin/sh
# bench.sh BENCH... - runs every benchmark program and prints their tables.
set -eu
for b in "$@"; do "$b"; done
