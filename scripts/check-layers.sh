#!/bin/sh
# check-layers.sh - keeps the house free of import circles and layer breaks.
#
# Reads the built object files (nm: which object defines each global symbol
# another object uses) and the #include lines, and checks:
#   (a) no cycle between the source files of src/ (object -> object uses);
#   (b) the folder order util < data < model < eval < {gru4rec, baselines}
#       < registry: a file may use (call, or include a header of) only its own
#       folder and folders below it; gru4rec and baselines share a level and
#       may not use each other;
#   (c) no file in tools/ includes a header from src/ (only include/sessrec.h).
# Prints the offending file, symbol or include line for every failure and a
# last line "N passed, N failed, N skipped" (scripts/run-tests.sh adds it up);
# exits non-zero when a check fails.
#
# SR_OBJ: the object folder of the build to inspect (default build/obj). Run
# from the project root, after the library is built.
# SR_LAYERS_PENDING: folders whose INTERNAL circles (both files in the folder)
# are reported as skipped instead of failed, because another branch is fixing
# them (default "baselines": baselines.c <-> pop/rules/iknn/knn.c, issue 7).
# Empty it (SR_LAYERS_PENDING=) to check everything; drop the default when
# that branch lands.
set -u
obj=${SR_OBJ:-build/obj}
NM=${NM:-nm}
pass=0; fail=0; skip=0

ok()   { pass=$((pass + 1)); echo "  ok $1" >&2; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; }

srcs=$(cd src && ls */*.c 2>/dev/null | sort)
if [ -z "$srcs" ]; then
    echo "check-layers: no src/*/*.c (run from the project root)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
missing=""
for s in $srcs; do
    [ -f "$obj/${s%.c}.o" ] || missing="$missing $obj/${s%.c}.o"
done
if [ -n "$missing" ]; then
    echo "check-layers: objects missing (build first):$missing"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- symbol edges: "user definer symbol" ----------------------------------------------
for s in $srcs; do
    "$NM" -P "$obj/${s%.c}.o" | awk -v f="$s" '
        $2 == "U" { print "U", f, $1; next }
        $2 ~ /^[TDBRCVWGS]$/ { print "D", f, $1 }'
done >"$tmp/syms" || { echo "check-layers: nm failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
awk '$1 == "D" { def[$3] = $2; next }
     $1 == "U" && ($3 in def) && def[$3] != $2 { print $2, def[$3], $3 }' \
    "$tmp/syms" "$tmp/syms" | sort -u >"$tmp/edges"
# a symbol defined twice would make the edges ambiguous
awk '$1 == "D" { n[$3]++; f[$3] = f[$3] " " $2 } END { for (s in n) if (n[s] > 1) print s ":" f[s] }' \
    "$tmp/syms" >"$tmp/dups"

# ---- include edges: "file included-path" (quoted includes only) ------------------------
for f in $(cd src && ls */*.c */*.h | sort); do
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "src/$f" |
        while read -r inc; do echo "$f $inc"; done
done >"$tmp/incs"

# ---- (a) no cycle between source files -------------------------------------------------
if [ -s "$tmp/dups" ]; then
    while read -r l; do bad "(a) symbol defined in more than one object: $l"; done <"$tmp/dups"
fi
# transitive closure over the object graph (a few dozen files), then every
# direct use a -> b where b also reaches a closes a cycle
awk '
    { u[NR] = $1; d[NR] = $2; s[NR] = $3; reach[$1, $2] = 1; node[$1]; node[$2] }
    END {
        for (k in node) for (i in node) if ((i, k) in reach) for (j in node)
            if ((k, j) in reach) reach[i, j] = 1
        for (e = 1; e <= NR; e++)
            if ((d[e], u[e]) in reach && !seen[u[e], d[e]]++)
                print u[e] " uses " s[e] " from " d[e] ", and " d[e] " (directly or through other files) uses " u[e]
    }' "$tmp/edges" >"$tmp/cycles"
pending=${SR_LAYERS_PENDING-}
: >"$tmp/pending"
for d in $pending; do
    grep "^$d/[^ ]* uses [^ ]* from $d/" "$tmp/cycles" >>"$tmp/pending"
    grep -v "^$d/[^ ]* uses [^ ]* from $d/" "$tmp/cycles" >"$tmp/rest"
    mv "$tmp/rest" "$tmp/cycles"
done
if [ -s "$tmp/pending" ]; then
    skip=$((skip + 1))
    echo "  skipping $(wc -l <"$tmp/pending") known circles inside: $pending (SR_LAYERS_PENDING=$pending; set it empty to fail on them):" >&2
    sed 's/^/    /' "$tmp/pending" >&2
fi
if [ -s "$tmp/cycles" ]; then
    while read -r l; do bad "(a) import circle: $l"; done <"$tmp/cycles"
else
    ok "(a) no import circle among $(echo "$srcs" | wc -l) source files ($(wc -l <"$tmp/edges") uses)${pending:+ outside the skipped ones}"
fi

# ---- (b) folder order ------------------------------------------------------------------
rank() {
    case $1 in
    util) echo 0 ;; data) echo 1 ;; model) echo 2 ;; eval) echo 3 ;;
    gru4rec | baselines) echo 4 ;; registry) echo 5 ;; serve) echo 6 ;; *) echo -1 ;;
    esac
}
nb=0
for d in $(cd src && ls -d */ | tr -d /); do
    if [ "$(rank "$d")" -lt 0 ]; then
        bad "(b) folder src/$d has no place in the layer order (add it to scripts/check-layers.sh)"
        nb=$((nb + 1))
    fi
done
ranks="util=0 data=1 model=2 eval=3 gru4rec=4 baselines=4 registry=5 serve=6"
layer_ok='
    BEGIN { n = split(R, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); r[kv[1]] = kv[2] } }
    function dir(p) { sub(/\/.*/, "", p); return p }
    function allowed(from, to) { return from == to || ((from in r) && (to in r) && r[to] < r[from]) }'
awk -v R="$ranks" "$layer_ok"'
    { f = dir($1); t = dir($2); if (!allowed(f, t)) print $1 " (" f ") uses " $3 " from " $2 " (" t ")" }' \
    "$tmp/edges" >"$tmp/lay"
awk -v R="$ranks" "$layer_ok"'
    $2 == "sessrec.h" { next }
    $2 !~ /\// { print $1 ": #include \"" $2 "\" (write the folder: \"dir/name.h\")"; next }
    { f = dir($1); t = dir($2); if (!allowed(f, t)) print $1 " (" f ") includes \"" $2 "\" (" t ")" }' \
    "$tmp/incs" >>"$tmp/lay"
# an include must name an existing file
while read -r f inc; do
    [ "$inc" = sessrec.h ] || [ -f "src/$inc" ] || echo "$f: #include \"$inc\" names no file in src/"
done <"$tmp/incs" >>"$tmp/lay"
if [ -s "$tmp/lay" ]; then
    while read -r l; do bad "(b) layer order: $l"; done <"$tmp/lay"
elif [ $nb -eq 0 ]; then
    ok "(b) folder order util < data < model < eval < {gru4rec, baselines} < registry < serve holds"
fi

# ---- (c) tools/ sees only include/sessrec.h ----------------------------------------------
for f in tools/*.c tools/*.h; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            if [ "$inc" = sessrec.h ] || [ -f "tools/$inc" ]; then continue; fi
            echo "$f: #include \"$inc\""
        done
done >"$tmp/tools"
if [ -s "$tmp/tools" ]; then
    while read -r l; do bad "(c) tools/ reaches into src/: $l"; done <"$tmp/tools"
else
    ok "(c) tools/ includes only include/sessrec.h and its own headers"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
