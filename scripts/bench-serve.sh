#!/bin/sh
# bench-serve.sh - `sessrec serve` under load (part of `make bench`): a GRU4Rec
# model with the rsc15 preset on yoochoose1_64 (trained once into build/bench-serve/,
# 1 epoch: serving speed does not depend on the epochs; SR_SERVE_MODEL=FILE uses
# another model), served on 127.0.0.1; wrk replays the test split's sessions
# as click requests (bench/serve_clicks.lua) at 1, 16, 64 and 256 connections,
# each connection a visitor clicking through test sessions in order.
# Then bench_serve measures the memory of 1,000,000 live sessions.
# Environment: SR_BIN (sessrec), SR_DATA (../shared/data), SERVE_SECONDS (10 per
# run), SERVE_WORKERS (batching threads, 1), SERVE_SCORE_THREADS (threads
# scoring a batch; serve's default when unset), SERVE_BATCH (batch-max, 128),
# SERVE_SESSIONS (1000000).
set -eu
bin=${SR_BIN:-build/sessrec}
data=${SR_DATA:-../shared/data}/yoochoose1_64
secs=${SERVE_SECONDS:-10}
workers=${SERVE_WORKERS:-1}
batch=${SERVE_BATCH:-128}
st=${SERVE_SCORE_THREADS:+--score-threads $SERVE_SCORE_THREADS}
nsess=${SERVE_SESSIONS:-1000000}
benchbin=$(dirname "$bin")/bench/bench_serve
if [ ! -f "$data/train.tsv" ] || [ ! -f "$data/test.tsv" ]; then
    echo "bench-serve: skipping ($data not present)"; exit 0
fi
if ! command -v wrk >/dev/null; then
    echo "bench-serve: skipping (wrk not installed: apt-get install wrk)"; exit 0
fi
out=build/bench-serve
mkdir -p "$out"
model=${SR_SERVE_MODEL:-$out/rsc15-1epoch.srm}
if [ ! -f "$model" ]; then
    echo "bench-serve: training $model (--preset rsc15, 1 epoch) ..."
    "$bin" train "$data/train.tsv" -o "$model" --preset rsc15 -p n_epochs=1 -q
fi
awk 'NR > 1 { print $1, $2 }' "$data/test.tsv" > "$out/clicks.txt"
rm -f "$out/port"
# shellcheck disable=SC2086
"$bin" serve "$model" --port 0 --port-file "$out/port" --workers "$workers" $st \
    --batch-max "$batch" --max-connections 2048 2> "$out/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
i=0
while [ ! -s "$out/port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$out/port")
items=$(curl -s "http://127.0.0.1:$port/healthz" | sed 's/.*"items":\([0-9]*\).*/\1/')
echo
echo "**sessrec serve** ($(basename "$model"), $items items, $workers batching threads,"
echo "${SERVE_SCORE_THREADS:-the default number of} threads scoring a batch, batches of up to $batch;"
echo "wrk on the same machine, ${secs} s per row, each connection a visitor clicking through"
echo "test sessions; each request: one click + top-20 of all items; the last column is the"
echo "server's CPU time (all its threads) per request, which load beside it affects less)"
echo
echo "| connections | requests/s | p50 | p99 | errors | server CPU per request |"
echo "|---:|---:|---:|---:|---:|---:|"
tick=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }   # server user + system ticks
for c in 1 16 64 256; do
    t=2; [ "$c" -lt 2 ] && t=1
    c0=$(cpu)
    SR_VISITORS=$((c / t)) SR_CLICKS="$out/clicks.txt" wrk -t"$t" -c"$c" -d"${secs}s" --latency \
        -s bench/serve_clicks.lua "http://127.0.0.1:$port" > "$out/wrk-$c.txt" 2>&1 || true
    c1=$(cpu)
    awk -v c="$c" -v ticks=$((c1 - c0)) -v tick="$tick" '
        /Requests\/sec:/ { rps = $2 }
        / requests in / { n = $1 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        /Non-2xx/ { err += $NF }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "| %d | %s | %s | %s | %d | %.0f us |\n", c, rps, p50, p99, err,
                     n ? ticks / tick * 1e6 / n : 0 }' "$out/wrk-$c.txt"
done
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
sess=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^sessrec_sessions / { print $2 }')
batch=$(curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^sessrec_batches_total/ { b = $2 } /^sessrec_batch_requests_total/ { r = $2 }
         END { if (b) printf "%.1f", r / b }')
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
echo
echo "server after the runs: $sess sessions, RSS $((rss / 1024)) MiB, $batch requests per batch on average"
echo
echo "**Memory of $nsess live sessions** (bench_serve: sessions created through the request"
echo "handler with the clicks of the test sessions, replayed cyclically)"
echo
"$benchbin" "$model" "$out/clicks.txt" "$nsess"
