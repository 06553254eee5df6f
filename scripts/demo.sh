#!/bin/sh
# demo.sh - the main job on built-in data, end to end:
#   synth (1 M YOOCHOOSE-like clicks) -> prepare (clean, split by time, validation day)
#   -> stats (+ SVG chart) -> train GRU4Rec (rsc15 settings, 3 epochs, validated)
#   -> eval on the test day -> recommend for one session -> compare with baselines.
# Everything lands in $DEMO_OUT (default demo-out/). Takes a few minutes on 2 cores.
set -eu
BIN=${SR_BIN:-build/sessrec}
OUT=${DEMO_OUT:-demo-out}
EPOCHS=${DEMO_EPOCHS:-3}
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "sessrec synth -o $OUT/clicks.dat --clicks 1000000 --seed 1"
$BIN synth -o "$OUT/clicks.dat" --clicks 1000000 --seed 1

step "sessrec prepare $OUT/clicks.dat -o $OUT/data --valid-days 1 --tsv"
$BIN prepare "$OUT/clicks.dat" -o "$OUT/data" --valid-days 1 --tsv

step "sessrec stats $OUT/data --plot $OUT/session-lengths.svg"
$BIN stats "$OUT/data" --plot "$OUT/session-lengths.svg"

step "sessrec train $OUT/data/train -o $OUT/gru4rec.srm --preset rsc15 -p n_epochs=$EPOCHS --valid $OUT/data/valid"
$BIN train "$OUT/data/train" -o "$OUT/gru4rec.srm" --preset rsc15 -p n_epochs="$EPOCHS" \
    --valid "$OUT/data/valid"

step "sessrec eval $OUT/gru4rec.srm $OUT/data/test"
$BIN eval "$OUT/gru4rec.srm" "$OUT/data/test"

# a session of the test day, all but its last click, as a live session
session=$(sed -n 2,3p "$OUT/data/test.tsv" | cut -f2 | tr '\n' ' ')
step "sessrec recommend $OUT/gru4rec.srm $session-k 5"
# shellcheck disable=SC2086
$BIN recommend "$OUT/gru4rec.srm" $session -k 5

step "sessrec compare $OUT/data/train $OUT/data/test --algos pop,spop,iknn,ar,sr,sknn,vsknn,stan"
$BIN compare "$OUT/data/train" "$OUT/data/test" --algos pop,spop,iknn,ar,sr,sknn,vsknn,stan --cutoffs 10,20

printf '\nDemo done: files in %s/ (session-length chart: %s/session-lengths.svg)\n' "$OUT" "$OUT"
