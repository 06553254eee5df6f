#!/bin/sh
# deps.sh check|install|test - makes sure the toolchain and libraries are here.
#   check:   the build needs (a C compiler, make, OpenBLAS, zlib, jansson,
#            libmicrohttpd): exit
#            non-zero, naming what is missing, if one is
#   test:    also the test needs (clang with libFuzzer, rsvg-convert, python3 and
#            curl for the server's tests, wrk for its benchmark)
#   install: like test; as root where apt-get exists, install the Debian
#            packages that provide what is missing; otherwise say what to install
# Everything is detected by what it does, not by a package database: the compiler
# by compiling and linking a probe against each library, the tools by running
# them, so any Linux with the libraries installed passes.
# Debian packages: build-essential (gcc, make), libopenblas-dev (BLAS),
# zlib1g-dev (gzip input), libjansson-dev (JSON), libmicrohttpd-dev (HTTP of
# `sessrec serve`), clang + libclang-rt-14-dev (libFuzzer targets), librsvg2-bin
# (rsvg-convert, used by the test that renders the SVG plot), python3 + curl (the
# server's tests), wrk (the server's benchmark), pkg-config (the shared library's
# link test), python3-pip, python3-numpy, python3-pandas, python3-pytest and
# python3-optuna (the Python package, its tests, its offline install test and
# `sessrec tune`; probed in $PYTHON, default /usr/bin/python3 as in the Makefile).
set -u
mode=${1:-check}
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/srdeps.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
missing=""   # "what:debian-package" pairs

# probe NAME PACKAGE HEADER CALL LIBS: compiles and links a call into the library
probe() {
    printf '#include <%s>\nint main(void) { %s; return 0; }\n' "$3" "$4" >"$tmp/p.c"
    "$CC" "$tmp/p.c" -o "$tmp/p" $5 >/dev/null 2>&1 || missing="$missing $1:$2"
}

if ! printf 'int main(void) { return 0; }\n' >"$tmp/c.c" ||
   ! "$CC" "$tmp/c.c" -o "$tmp/c" >/dev/null 2>&1; then
    missing="$missing C-compiler($CC):build-essential"
else
    probe OpenBLAS libopenblas-dev cblas.h 'cblas_sscal(0, 1.0f, 0, 1)' '-lopenblas -lm -pthread'
    probe zlib zlib1g-dev zlib.h 'zlibVersion()' -lz
    probe jansson libjansson-dev jansson.h 'json_decref(json_object())' -ljansson
    probe libmicrohttpd libmicrohttpd-dev microhttpd.h 'MHD_is_feature_supported(MHD_FEATURE_EPOLL)' -lmicrohttpd
fi
command -v make >/dev/null 2>&1 || missing="$missing make:make"
build_missing=$missing

if [ "$mode" != check ]; then
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
        >"$tmp/f.c"
    clang -fsanitize=fuzzer "$tmp/f.c" -o "$tmp/f" >/dev/null 2>&1 ||
        missing="$missing clang-libFuzzer:clang:libclang-rt-14-dev"
    command -v rsvg-convert >/dev/null 2>&1 || missing="$missing rsvg-convert:librsvg2-bin"
    command -v python3 >/dev/null 2>&1 || missing="$missing python3:python3"
    command -v curl >/dev/null 2>&1 || missing="$missing curl:curl"
    command -v wrk >/dev/null 2>&1 || missing="$missing wrk:wrk"
    command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config:pkg-config"
    py=${PYTHON:-python3}
    [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    for m in pip numpy pandas pytest optuna; do
        "$py" -c "import $m" >/dev/null 2>&1 || missing="$missing python3-$m:python3-$m"
    done
fi

[ -z "$missing" ] && exit 0
names=""; pkgs=""
for m in $missing; do
    names="$names ${m%%:*}"
    pkgs="$pkgs $(printf '%s' "${m#*:}" | tr ':' ' ')"
done

if [ "$mode" = install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$pkgs (for$names)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $pkgs >/dev/null || {
        echo "deps: apt-get install$pkgs failed" >&2; exit 1; }
    exit 0
fi
echo "deps: missing:$names" >&2
if command -v apt-get >/dev/null 2>&1; then
    echo "deps: run: sudo apt-get install$pkgs" >&2
else
    echo "deps: install them with your system's package manager (Debian names:$pkgs)" >&2
fi
if [ "$mode" = test ] && [ -z "$build_missing" ]; then
    echo "deps: the build works without them; only the tests need them" >&2
fi
exit 1
