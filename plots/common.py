"""Helpers shared by the plot scripts in plots/.

Plot scripts read the CSV an experiment binary wrote (experiments/, docs/experiments.md) and draw it;
they never recompute physics. Errors print one line "<script>: <problem>" on stderr and exit with
status 2.
"""

import csv
import math
import os
import sys


class PlotError(Exception):
    """A problem with the input: the message names the file and what is wrong."""


def fail(message):
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "plot"
    print(f"{prog}: {message}", file=sys.stderr)
    sys.exit(2)


def read_rows(path, required, producer):
    """The rows of an experiment CSV as dicts of strings; checks that `required` columns exist.

    `producer` names the binary that writes the file, for the error messages.
    """
    if not os.path.exists(path):
        raise PlotError(f"{path}: no such file (run {producer} --out DIR first; the CSV is DIR/<study>.csv)")
    if os.path.isdir(path):
        raise PlotError(f"{path}: is a folder; give the CSV file")
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    if not text:
        raise PlotError(f"{path}: the file is empty (no header line)")
    lines = text.split("\n")
    # A run in progress may have a torn last line (no newline yet): it is not a row.
    lines = lines[:-1]
    if not lines:
        raise PlotError(f"{path}: the header line is incomplete")
    parsed = list(csv.reader(lines))
    header = parsed[0]
    missing = [c for c in required if c not in header]
    if missing:
        raise PlotError(f"{path}: missing columns {', '.join(missing)} (is this a {producer} CSV?)")
    rows = []
    for line_number, fields in enumerate(parsed[1:], start=2):
        if len(fields) != len(header):
            raise PlotError(f"{path}:{line_number}: {len(fields)} fields, the header has {len(header)}")
        row = dict(zip(header, fields))
        row["_line"] = line_number
        rows.append(row)
    if not rows:
        raise PlotError(f"{path}: no rows yet (the header only: has {producer} measured a point?)")
    return rows


def number(row, column, path):
    """A finite float from a row, or PlotError naming the line and column."""
    text = row[column]
    try:
        value = float(text)
    except ValueError:
        raise PlotError(f"{path}:{row['_line']}: column {column}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise PlotError(f"{path}:{row['_line']}: column {column}: '{text}' is not finite")
    return value


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend (no display needed)."""
    try:
        import matplotlib
    except ImportError:
        raise PlotError("needs matplotlib (Debian package python3-matplotlib); run with /usr/bin/python3") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, prefix):
    """Writes PREFIX.png (150 dpi) and PREFIX.pdf, closes the figure, and returns their paths."""
    folder = os.path.dirname(prefix)
    if folder and not os.path.isdir(folder):
        raise PlotError(f"{folder}: no such folder for the output")
    paths = [prefix + ".png", prefix + ".pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def median(values):
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def run(description, producer, required, draw):
    """The command line every plot script shares: CSV [--out PREFIX] [--title T].

    Reads the CSV (checking the `required` columns), calls draw(rows, csv_path, prefix, title), which
    returns the paths it wrote, and prints them one per line. Problems: one line on stderr, exit 2.
    """
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("csv", help=f"the CSV written by {producer} (DIR/<study>.csv)")
    parser.add_argument("--out", help="output prefix: writes PREFIX.png and PREFIX.pdf (default: the CSV without .csv)")
    parser.add_argument("--title", help="figure title")
    args = parser.parse_args()
    prefix = args.out or (args.csv[:-4] if args.csv.endswith(".csv") else args.csv)
    try:
        rows = read_rows(args.csv, required, producer)
        for p in draw(rows, args.csv, prefix, args.title):
            print(p)
    except PlotError as e:
        fail(str(e))
