#!/bin/sh
# demo.sh - the main job on built-in data: synth -> prepare -> stats (-> train -> eval).
set -eu
BIN=${SR_BIN:-build/sessrec}
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
echo "== sessrec synth" && $BIN synth -o "$OUT/clicks.dat" --clicks 1000000 --seed 1
echo "== sessrec prepare" && $BIN prepare "$OUT/clicks.dat" -o "$OUT/data" --valid-days 1
echo "== sessrec stats" && $BIN stats "$OUT/data" --plot "$OUT/session-lengths.svg"
