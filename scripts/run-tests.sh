#!/bin/sh
# run-tests.sh BIN... - runs test programs from the project root, adds up their
# "N passed, N failed, N skipped" lines into build/test-totals, prints a summary
# and exits non-zero if any program failed (or crashed).
# run-tests.sh --total  prints the grand total of all runs since the last `make test`.
set -u
totals=build/test-totals
mkdir -p build
if [ "${1:-}" = "--total" ]; then
    awk '{p+=$1; f+=$2; s+=$3} END {printf "total: %d passed, %d failed, %d skipped\n", p, f, s; exit (f>0)}' "$totals"
    st=$?
    rm -f "$totals"
    exit $st
fi
p=0; f=0; s=0; bad=""
for t in "$@"; do
    name=$(basename "$t")
    out=$(mktemp)
    start=$(date +%s)
    "$t" >"$out" 2>"$out.err"
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    tp=$(echo "$line" | awk '{print $1+0}'); tf=$(echo "$line" | awk '{print $3+0}'); ts=$(echo "$line" | awk '{print $5+0}')
    if [ $rc -ne 0 ] && [ "${tf:-0}" -eq 0 ]; then tf=1; fi
    p=$((p + ${tp:-0})); f=$((f + ${tf:-0})); s=$((s + ${ts:-0}))
    el=$(( $(date +%s) - start ))
    if [ $rc -ne 0 ]; then
        bad="$bad $name"
        printf '%-28s FAIL (exit %d, %ss)\n' "$name" "$rc" "$el"
        sed 's/^/    /' "$out.err" | grep -v '^    ok ' | tail -n 40
    else
        printf '%-28s %s (%ss)\n' "$name" "$line" "$el"
        grep -E '^  skipping' "$out.err" | sed 's/^/  /'
    fi
    rm -f "$out" "$out.err"
done
echo "$p $f $s" >> "$totals"
echo "${SR_SAN:+[sanitizers] }$p passed, $f failed, $s skipped"
[ -z "$bad" ] || { echo "failed:$bad"; exit 1; }
exit 0
