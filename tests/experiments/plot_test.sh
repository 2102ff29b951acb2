#!/usr/bin/env bash
# A plot script on a small CSV that its study binary writes: the PNG and PDF appear (next to the CSV
# by default, or at --out), a torn last line (a run in progress) is fine, and a missing, empty,
# header-only or foreign CSV, or a non-number in a numeric column, gives one line on stderr, exit
# status 2 and no figure.
#   plot_test.sh PLOT_PY WORK_DIR STUDY ROWS NUMERIC_COLUMN -- EXP_BINARY [ARGS...]
# runs EXP_BINARY ARGS --out WORK_DIR/run, expects WORK_DIR/run/STUDY.csv with ROWS rows, and breaks
# NUMERIC_COLUMN for the error check (ROWS "any": at least two rows, for studies whose row count
# depends on the measurement). Exit status 77 (CTest: skipped) only when /usr/bin/python3
# lacks matplotlib.
set -euo pipefail
plot=$1 work=$2 study=$3 rows=$4 column=$5
shift 5
[ "$1" = "--" ] || { echo "usage: plot_test.sh PLOT_PY WORK_DIR STUDY ROWS NUMERIC_COLUMN -- EXP_BINARY [ARGS...]" >&2; exit 1; }
shift
exp=$1
shift
python=/usr/bin/python3
if ! "$python" -c 'import matplotlib' 2>/dev/null; then
  echo "skipped: $python cannot import matplotlib (Debian package python3-matplotlib)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$exp" "$@" --out "$work/run" 2>"$work/run.log" || { cat "$work/run.log" >&2; fail "$(basename "$exp")"; }
csv="$work/run/$study.csv"
if [ "$rows" = any ]; then
  [ "$(wc -l <"$csv")" -ge 3 ] || fail "expected a header and at least 2 rows in $csv"
else
  [ "$(wc -l <"$csv")" -eq $((rows + 1)) ] || fail "expected a header and $rows rows in $csv, found $(wc -l <"$csv") lines"
fi

out=$("$python" "$plot" "$csv")
[ "$out" = "$work/run/$study.png
$work/run/$study.pdf" ] || fail "unexpected output: $out"
head -c 8 "$work/run/$study.png" | od -An -c | grep -q 'P   N   G' || fail "$study.png is not a PNG"
head -c 5 "$work/run/$study.pdf" | grep -q '%PDF-' || fail "$study.pdf is not a PDF"

cp "$csv" "$work/torn.csv"
printf '%s,%s' "$study" "torn" >>"$work/torn.csv"
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
expect_error "$work/missing.csv" "missing.csv: no such file (run $(basename "$exp") --out DIR first"
: >"$work/empty.csv"
expect_error "$work/empty.csv" "empty.csv: the file is empty"
head -1 "$csv" >"$work/header.csv"
expect_error "$work/header.csv" "header.csv: no rows yet"
printf 'a,b\n1,2\n' >"$work/foreign.csv"
expect_error "$work/foreign.csv" "missing columns noise_model"
index=$(head -1 "$csv" | tr ',' '\n' | grep -nx -- "$column" | cut -d: -f1)
[ -n "$index" ] || fail "no column $column in $csv"
awk -F, -v c="$index" 'BEGIN{OFS=","} NR==3{$c="abc"} {print}' "$csv" >"$work/bad.csv"
expect_error "$work/bad.csv" "bad.csv:3: column $column: 'abc' is not a number"
echo "$(basename "$plot"): ok"
