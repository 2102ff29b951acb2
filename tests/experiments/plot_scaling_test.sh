#!/usr/bin/env bash
# plots/plot_scaling.py on a small CSV that exp_scaling writes: the PNG and PDF appear; a missing,
# empty, header-only or foreign CSV gives one message and exit status 2.
#   plot_scaling_test.sh EXP_SCALING PLOT_SCALING_PY WORK_DIR
# Exit status 77 (CTest: skipped) only when /usr/bin/python3 lacks matplotlib.
set -euo pipefail
exp_scaling=$1
plot=$2
work=$3
python=/usr/bin/python3

if ! "$python" -c 'import matplotlib' 2>/dev/null; then
  echo "skipped: $python cannot import matplotlib (Debian package python3-matplotlib)"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# A small grid: 2 models x 2 depths x qubits 2..5.
"$exp_scaling" --noise ideal --noise amplitude_damping --qubits 2:5 --depth 1,3 --repetitions 1 \
  --min-sample-seconds 0.001 --threads 1 --out "$work/run" 2>"$work/run.log" || { cat "$work/run.log" >&2; fail "exp_scaling"; }
[ "$(wc -l <"$work/run/scaling.csv")" -eq 17 ] || fail "expected a header and 16 rows"

# Default output prefix: next to the CSV.
out=$("$python" "$plot" "$work/run/scaling.csv")
[ "$out" = "$work/run/scaling.png
$work/run/scaling.pdf" ] || fail "unexpected output: $out"
for f in "$work/run/scaling.png" "$work/run/scaling.pdf"; do
  [ -s "$f" ] || fail "$f was not written"
done
head -c 8 "$work/run/scaling.png" | od -An -c | grep -q 'P   N   G' || fail "scaling.png is not a PNG"
head -c 5 "$work/run/scaling.pdf" | grep -q '%PDF-' || fail "scaling.pdf is not a PDF"

# --out and a torn last line (a run in progress) are fine.
cp "$work/run/scaling.csv" "$work/torn.csv"
printf 'scaling,ideal,1,6,1,1,1,0.00' >>"$work/torn.csv"
"$python" "$plot" "$work/torn.csv" --out "$work/figure" --title "torn" >/dev/null || fail "torn last line"
[ -s "$work/figure.png" ] && [ -s "$work/figure.pdf" ] || fail "--out prefix not used"

# Errors: one line on stderr, exit status 2, no figure.
expect_error() {  # expect_error FILE TEXT
  local status=0
  "$python" "$plot" "$1" --out "$work/never" 2>"$work/err.txt" >/dev/null || status=$?
  [ "$status" -eq 2 ] || fail "$1: exit status $status, expected 2"
  grep -qF -- "$2" "$work/err.txt" || fail "$1: message lacks '$2': $(cat "$work/err.txt")"
  [ "$(wc -l <"$work/err.txt")" -eq 1 ] || fail "$1: more than one line: $(cat "$work/err.txt")"
  [ ! -e "$work/never.png" ] || fail "$1: a figure was written"
}
expect_error "$work/missing.csv" "missing.csv: no such file (run exp_scaling --out DIR first"
: >"$work/empty.csv"
expect_error "$work/empty.csv" "empty.csv: the file is empty"
head -1 "$work/run/scaling.csv" >"$work/header.csv"
expect_error "$work/header.csv" "header.csv: no rows yet"
printf 'a,b\n1,2\n' >"$work/foreign.csv"
expect_error "$work/foreign.csv" "missing columns noise_model, qubits"
awk -F, 'BEGIN{OFS=","} NR==3{$8="abc"} {print}' "$work/run/scaling.csv" >"$work/bad.csv"
expect_error "$work/bad.csv" "bad.csv:3: column seconds_per_evaluation: 'abc' is not a number"
echo "plot_scaling.py: ok"
