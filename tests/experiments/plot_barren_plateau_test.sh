#!/usr/bin/env bash
# plots/plot_barren_plateau.py on a small CSV that exp_barren_plateau writes: the PNG and PDF appear;
# a missing, header-only or foreign CSV gives one message and exit status 2.
#   plot_barren_plateau_test.sh EXP_BARREN_PLATEAU PLOT_BARREN_PLATEAU_PY WORK_DIR
# Exit status 77 (CTest: skipped) only when /usr/bin/python3 lacks matplotlib.
set -euo pipefail
exp=$1
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

# A small grid: 2 models x qubits 2..4 x depth 1,3,6, 2 costs.
"$exp" --noise ideal --noise depolarizing --qubits 2:4 --depth 1,3,6 --circuits 20 --threads 1 \
  --out "$work/run" 2>"$work/run.log" || { cat "$work/run.log" >&2; fail "exp_barren_plateau"; }
[ "$(wc -l <"$work/run/barren_plateau.csv")" -eq 37 ] || fail "expected a header and 36 rows"

out=$("$python" "$plot" "$work/run/barren_plateau.csv")
[ "$out" = "$work/run/barren_plateau.png
$work/run/barren_plateau.pdf" ] || fail "unexpected output: $out"
for f in "$work/run/barren_plateau.png" "$work/run/barren_plateau.pdf"; do
  [ -s "$f" ] || fail "$f was not written"
done
head -c 8 "$work/run/barren_plateau.png" | od -An -c | grep -q 'P   N   G' || fail "not a PNG"
head -c 5 "$work/run/barren_plateau.pdf" | grep -q '%PDF-' || fail "not a PDF"

# --out, --title and a torn last line (a run in progress).
cp "$work/run/barren_plateau.csv" "$work/torn.csv"
printf 'barren_plateau,ideal,1,5,1,loc' >>"$work/torn.csv"
"$python" "$plot" "$work/torn.csv" --out "$work/figure" --title "torn" >/dev/null || fail "torn last line"
[ -s "$work/figure.png" ] && [ -s "$work/figure.pdf" ] || fail "--out prefix not used"

expect_error() {  # expect_error FILE TEXT
  local status=0
  "$python" "$plot" "$1" --out "$work/never" 2>"$work/err.txt" >/dev/null || status=$?
  [ "$status" -eq 2 ] || fail "$1: exit status $status, expected 2"
  grep -qF -- "$2" "$work/err.txt" || fail "$1: message lacks '$2': $(cat "$work/err.txt")"
  [ "$(wc -l <"$work/err.txt")" -eq 1 ] || fail "$1: more than one line: $(cat "$work/err.txt")"
  [ ! -e "$work/never.png" ] || fail "$1: a figure was written"
}
expect_error "$work/missing.csv" "missing.csv: no such file (run exp_barren_plateau --out DIR first"
head -1 "$work/run/barren_plateau.csv" >"$work/header.csv"
expect_error "$work/header.csv" "header.csv: no rows yet"
printf 'a,b\n1,2\n' >"$work/foreign.csv"
expect_error "$work/foreign.csv" "missing columns noise_model, qubits"
awk -F, 'BEGIN{OFS=","} NR==3{$8="abc"} {print}' "$work/run/barren_plateau.csv" >"$work/bad.csv"
expect_error "$work/bad.csv" "bad.csv:3: column variance: 'abc' is not a number"
echo "plot_barren_plateau.py: ok"
