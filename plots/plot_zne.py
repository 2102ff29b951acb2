#!/usr/bin/python3
"""Draws exp_zne's CSV: ZNE error against noise, unmitigated and per scaling method and extrapolator.

usage: /usr/bin/python3 plots/plot_zne.py DIR/zne.csv [--out PREFIX] [--title TEXT]

Writes PREFIX.png and PREFIX.pdf (default PREFIX: the CSV's path without .csv) and prints their
paths. Reads only the CSV (columns in docs/experiments.md). One row of panels per noise model:

  left   absolute error (log scale) against the noise scale, at the largest depth;
  right  absolute error against the depth, at the noise scale closest to 1.

Each line is a mean over the seeds and the observables of the largest qubit count: the unmitigated
error (black, thick) and one line per scaling method (colour) and extrapolator (line style and
marker). Rows whose status is not "ok" (fit_failed) are skipped and counted in the panel title; a
mean of 0 (the ideal model) is left out of the log axes. Errors (a missing, empty or foreign CSV, a
value that is not a number) print one line on stderr and exit with status 2.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "noise_scale", "qubits", "depth", "method", "extrapolator", "observable",
            "abs_error_unmitigated", "abs_error_mitigated", "status"]
STYLES = ["-", "--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (5, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
RAW = "unmitigated"


def collect(rows, path):
    """{(model, series, scale, depth): [errors]} for the largest qubit count, skipped counts per model,
    that qubit count and all qubit counts. series is RAW or (method, extrapolator)."""
    parsed = []
    for r in rows:
        scale = common.number(r, "noise_scale", path)
        n = int(common.number(r, "qubits", path))
        depth = int(common.number(r, "depth", path))
        raw = common.number(r, "abs_error_unmitigated", path)
        mitigated = common.number(r, "abs_error_mitigated", path) if r["status"] == "ok" else None
        for value, column in ((raw, "abs_error_unmitigated"), (mitigated, "abs_error_mitigated")):
            if value is not None and value < 0:
                raise common.PlotError(f"{path}:{r['_line']}: {column} {value} is negative")
        parsed.append((r, scale, n, depth, raw, mitigated))
    qubits = sorted({p[2] for p in parsed})
    errors, skipped, raw_seen = {}, {}, set()
    for r, scale, n, depth, raw, mitigated in parsed:
        if n != qubits[-1]:
            continue
        model = r["noise_model"]
        # The unmitigated value is the same on every method's and extrapolator's row of a point.
        point = (model, scale, depth, r.get("seed", ""), r["observable"])
        if point not in raw_seen:
            raw_seen.add(point)
            errors.setdefault((model, RAW, scale, depth), []).append(raw)
        if mitigated is None:
            skipped[model] = skipped.get(model, 0) + 1
            continue
        errors.setdefault((model, (r["method"], r["extrapolator"]), scale, depth), []).append(mitigated)
    return errors, skipped, qubits


def series_style(series, methods, extrapolators, plt):
    if series == RAW:
        return dict(color="black", linestyle="-", marker="o", linewidth=2.4, label="unmitigated")
    method, extrapolator = series
    colours = plt.get_cmap("tab10")
    m, e = methods.index(method), extrapolators.index(extrapolator)
    return dict(color=colours(m % 10), linestyle=STYLES[e % len(STYLES)], marker=MARKERS[e % len(MARKERS)],
                linewidth=1.3, label=f"{method}, {extrapolator}")


def draw(rows, path, prefix, title):
    plt = common.pyplot()
    errors, skipped, qubits = collect(rows, path)
    models = list(dict.fromkeys(r["noise_model"] for r in rows))
    series_all = sorted({k[1] for k in errors if k[1] != RAW})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    extrapolators = list(dict.fromkeys(r["extrapolator"] for r in rows))
    scales = sorted({k[2] for k in errors})
    depths = sorted({k[3] for k in errors})
    depth_at = depths[-1]
    scale_at = min(scales, key=lambda s: (abs(s - 1.0), s))

    fig, axes = plt.subplots(len(models), 2, figsize=(13, 4.6 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        ax_s, ax_d = axes[row]
        for series in [RAW] + series_all:
            style = series_style(series, methods, extrapolators, plt)
            for ax, xs, key in ((ax_s, scales, lambda x: (model, series, x, depth_at)),
                                (ax_d, depths, lambda x: (model, series, scale_at, x))):
                points = [(x, sum(errors[key(x)]) / len(errors[key(x)])) for x in xs if key(x) in errors]
                points = [(x, y) for x, y in points if y > 0]
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points], markersize=4, **style)
        note = f"; {skipped[model]} fit_failed rows skipped" if skipped.get(model) else ""
        ax_s.set_title(f"{model}: against noise scale (depth {depth_at}){note}", fontsize=10)
        ax_d.set_title(f"{model}: against depth (noise scale {fmt(scale_at)}){note}", fontsize=10)
        ax_s.set_xlabel("noise scale (x the model's strengths)")
        ax_d.set_xlabel("depth (layers of U; the mirror circuit has twice as many)")
        if scales[0] > 0 and scales[-1] / scales[0] >= 4:
            ax_s.set_xscale("log", base=2)
        ax_s.set_xticks(scales)
        ax_s.set_xticklabels([fmt(s) for s in scales])
        if len(depths) <= 12:
            ax_d.set_xticks(depths)
        for ax in (ax_s, ax_d):
            ax.set_yscale("log")
            ax.set_ylabel("|value - ideal| (mean over seeds, observables)")
            ax.grid(True, which="major", alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7, ncol=2 if len(series_all) > 6 else 1)
    heading = title or "exp_zne: ZNE error against noise (mirror circuits, ideal value 1)"
    heading += f", {qubits[-1]} qubits" + (f" (of {', '.join(map(str, qubits))})" if len(qubits) > 1 else "")
    fig.suptitle(heading, fontsize=11)
    return common.save(fig, prefix)


def fmt(x):
    return f"{x:g}"


if __name__ == "__main__":
    common.run("Draws exp_zne's CSV (ZNE error against noise).", "exp_zne", REQUIRED, draw)
