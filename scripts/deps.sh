#!/bin/sh
# deps.sh check|install - makes sure the Debian packages the build needs are here.
#   check:   exit non-zero, naming the packages, if one is missing
#   install: as root, apt-get install what is missing; otherwise say what to run
# Packages: build-essential (gcc, make), libopenblas-dev (BLAS), zlib1g-dev (gzip
# input), clang + libclang-rt-14-dev (libFuzzer targets), librsvg2-bin (rsvg-convert,
# used by the test that renders the SVG plot), pkg-config (the shared library's
# link test), python3-pip, python3-numpy, python3-pandas, python3-pytest and
# python3-optuna (the Python package, its tests, its offline install test and
# `sessrec tune`).
set -u
mode=${1:-check}
missing=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc make libopenblas-dev zlib1g-dev clang libclang-rt-14-dev librsvg2-bin pkg-config \
         python3-pip python3-numpy python3-pandas python3-pytest python3-optuna; do
    have_pkg "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$mode" = install ] && [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
        echo "deps: apt-get install$missing failed" >&2; exit 1; }
    exit 0
fi
if [ "$mode" = install ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run: sudo apt-get install$missing" >&2
    exit 1
fi
# check mode: only the build needs are fatal (clang, rsvg, pkg-config and python are for tests)
fatal=""
for p in $missing; do case $p in gcc|make|libopenblas-dev|zlib1g-dev) fatal="$fatal $p";; esac; done
if [ -n "$fatal" ]; then
    echo "deps: missing Debian packages:$fatal" >&2
    echo "deps: run: sudo apt-get install$fatal   (or: sudo make deps)" >&2
    exit 1
fi
exit 0
