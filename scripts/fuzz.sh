#!/bin/sh
# fuzz.sh SECONDS BIN... - runs each libFuzzer target for SECONDS on its seed
# corpus (fuzz/corpus/<target>/, plus a scratch copy) and fails on any crash.
set -u
secs=$1; shift
mkdir -p build
n=0; bad=""
for t in "$@"; do
    name=$(basename "$t")
    work=build-fuzz/corpus-$name
    mkdir -p "$work"
    seeds=fuzz/corpus/$name
    [ -d "$seeds" ] || seeds=""
    if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix=build-fuzz/"$name"- "$work" $seeds >build-fuzz/"$name".log 2>&1; then
        echo "fuzz $name: ok ($(grep -c . build-fuzz/"$name".log) log lines, ${secs}s)"
        n=$((n + 1))
    else
        echo "fuzz $name: CRASH (see build-fuzz/$name.log)"; tail -n 30 build-fuzz/"$name".log
        bad="$bad $name"
    fi
done
nb=0; [ -z "$bad" ] || nb=$(echo $bad | wc -w)
echo "$n 0 0" | awk -v nb="$nb" '{print $1, nb, 0}' >> build/test-totals
echo "fuzz: $n passed, $nb failed"
[ -z "$bad" ]
