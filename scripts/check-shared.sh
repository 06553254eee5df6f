#!/bin/sh
# check-shared.sh - checks the shared library of one build (SR_SO, default
# build/libsessrec.so.*): it carries a SONAME, exports exactly the functions
# marked SR_API in include/sessrec.h (no other symbol, none missing), and a
# program finds and links it through pkg-config after `make install PREFIX=`.
# Prints "N passed, N failed, N skipped" like the test programs.
set -u
so=${SR_SO:-$(ls build/libsessrec.so.*.*.* 2>/dev/null | head -n 1)}
pass=0; fail=0; skip=0
ok()  { pass=$((pass + 1)); echo "ok $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$so" ]; then
    bad "no shared library ($so)"
    echo "$pass passed, $fail failed, $skip skipped"; exit 1
fi

# 1. the SONAME is libsessrec.so.MAJOR and the link of that name points at it
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $soname in libsessrec.so.[0-9]*) ok "SONAME $soname";; *) bad "SONAME '$soname'";; esac
[ "$(readlink "$(dirname "$so")/$soname")" = "$(basename "$so")" ] && ok "link $soname" \
    || bad "$(dirname "$so")/$soname does not point at $(basename "$so")"

# 2. exports == SR_API declarations (every defined dynamic symbol, any kind)
sed -n 's/^SR_API[^(]*[^a-zA-Z0-9_]\(sr_[a-zA-Z0-9_]*\) *(.*/\1/p' include/sessrec.h | sort -u > "$tmp/api"
nm -D --defined-only "$so" | awk '{print $3}' | sort -u > "$tmp/exports"
n_api=$(wc -l < "$tmp/api")
[ "$n_api" -gt 30 ] && ok "header declares $n_api SR_API functions" || bad "only $n_api SR_API functions found in the header"
if cmp -s "$tmp/api" "$tmp/exports"; then
    ok "exports are exactly the $n_api SR_API functions"
else
    bad "exports differ from the header's SR_API functions (< header only, > library only):"
    diff "$tmp/api" "$tmp/exports" | grep '^[<>]' | head -n 20 >&2
fi
nm -D --defined-only "$so" | awk '$2 != "T" {print}' > "$tmp/other"
[ ! -s "$tmp/other" ] && ok "no exported data symbols" || { bad "exported non-function symbols:"; cat "$tmp/other" >&2; }

# 3. make install PREFIX=..., then a program built with pkg-config links the .so
if ! command -v pkg-config >/dev/null; then
    skip=$((skip + 1)); echo "  skipping pkg-config link test: pkg-config not installed" >&2
else
    build=$(dirname "$so")
    if make --no-print-directory -s install PREFIX="$tmp/prefix" BUILD="$build" >"$tmp/install.log" 2>&1; then
        ok "make install PREFIX=$tmp/prefix"
    else
        bad "make install failed:"; tail -n 20 "$tmp/install.log" >&2
    fi
    for f in lib/libsessrec.a "lib/$soname" lib/libsessrec.so include/sessrec.h lib/pkgconfig/sessrec.pc bin/sessrec; do
        [ -e "$tmp/prefix/$f" ] && ok "installed $f" || bad "not installed: $f"
    done
    cat > "$tmp/use.c" <<'C'
#include <sessrec.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    /* a tiny log through the API: 3 sessions, pop trained and queried */
    sr_log log = {0};
    long long clicks[][3] = {{1, 10, 1}, {1, 11, 2}, {2, 10, 3}, {2, 12, 4}, {3, 10, 5}, {3, 11, 6}};
    for (int i = 0; i < 6; i++)
        if (sr_log_push(&log, clicks[i][0], clicks[i][1], clicks[i][2] * 1000000) != SR_OK)
            return 2;
    sr_split split;
    sr_error err;
    if (sr_split_from_log(&log, &split, &err) != SR_OK) { fprintf(stderr, "%s\n", err.msg); return 2; }
    sr_model *m;
    if (sr_train("pop", &split, NULL, NULL, NULL, &m, &err) != SR_OK) { fprintf(stderr, "%s\n", err.msg); return 2; }
    printf("%s %lld %lld\n", sr_model_algo(m), (long long)sr_model_n_items(m),
           (long long)sr_model_item_ids(m)[0]);
    sr_model_free(m);
    sr_split_free(&split);
    sr_log_free(&log);
    return strcmp(sr_status_name(SR_ERR_ARG), "") == 0;
}
C
    export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
    if ${CC:-cc} $(pkg-config --cflags sessrec) "$tmp/use.c" -o "$tmp/use" $(pkg-config --libs sessrec) 2>"$tmp/cc.log"; then
        ok "compiled and linked with pkg-config --cflags --libs sessrec"
        need=$(readelf -d "$tmp/use" | sed -n 's/.*(NEEDED).*\[\(libsessrec[^]]*\)\]/\1/p')
        [ "$need" = "$soname" ] && ok "the program needs $soname" || bad "the program needs '$need', not $soname"
        out=$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/use" 2>&1)
        [ "$out" = "pop 3 10" ] && ok "the program runs on the installed library: $out" \
            || bad "the program printed '$out' (expected 'pop 3 10')"
        resolved=$(LD_LIBRARY_PATH="$tmp/prefix/lib" ldd "$tmp/use" | sed -n "s/.*$soname => \([^ ]*\).*/\1/p")
        [ "$resolved" = "$tmp/prefix/lib/$soname" ] && ok "ldd resolves the installed $soname" \
            || bad "ldd resolves $soname to '$resolved'"
    else
        bad "compiling against the installed library failed:"; cat "$tmp/cc.log" >&2
    fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
