#!/usr/bin/python3
"""Draws exp_scaling's CSV: time and memory per circuit evaluation and per training epoch against qubits.

usage: /usr/bin/python3 plots/plot_scaling.py DIR/scaling.csv [--out PREFIX] [--title TEXT]

Writes PREFIX.png and PREFIX.pdf (default PREFIX: the CSV's path without .csv) and prints their
paths. Reads only the CSV (columns in docs/experiments.md) and draws what it holds:

  left   seconds_per_evaluation (log scale) against qubits, one line per noise model, method and
         depth (colour = depth, line style and marker = noise model and method, trajectories labelled
         with their count; several noise scales get one line each), with a dashed 4^n reference line
         through the slowest series' last point;
  middle seconds_per_epoch (log scale, the full-batch gradient over epoch_samples samples) against
         qubits, the same lines; rows without an epoch (empty columns) are left out;
  right  peak_rss_increase_bytes against qubits, one line per noise model (the largest value over
         the depths and seeds of each qubit count: the state is reused, so that is the peak of the
         whole qubit count; 0, below what RSS resolves for small states, is left as a gap), the
         epoch's epoch_peak_rss_increase_bytes (thin lines, largest over depths), next to
         state_bytes = 16*4^n, the density matrix itself (trajectory rows: their state vectors' bytes
         are not drawn; their RSS lines are).

Several seeds of one point are drawn as their median. Errors (a missing, empty or foreign CSV, a
value that is not a number) print one line on stderr and exit with status 2.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "qubits", "depth", "seconds_per_evaluation", "state_bytes", "peak_rss_increase_bytes"]
STYLES = ["-", "--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (5, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def collect(rows, path):
    """Per (model label, depth): {qubits: [seconds per evaluation]} and {qubits: [seconds per epoch]}; per model
    label: {qubits: [peak increase]} and {qubits: [epoch peak increase]}; {qubits: state bytes}."""
    scales = sorted({r.get("noise_scale", "1") for r in rows}, key=float)
    time_series, epoch_series, memory_series, epoch_memory, state = {}, {}, {}, {}, {}
    for r in rows:
        label = r["noise_model"]
        if r.get("method", "density-matrix") == "trajectories":
            label += f" [{r.get('trajectories', '')} trajectories]"
        if len(scales) > 1:
            label += f" x{r.get('noise_scale', '1')}"
        n = int(common.number(r, "qubits", path))
        depth = int(common.number(r, "depth", path))
        seconds = common.number(r, "seconds_per_evaluation", path)
        if seconds <= 0:
            raise common.PlotError(f"{path}:{r['_line']}: seconds_per_evaluation {seconds} is not positive")
        time_series.setdefault((label, depth), {}).setdefault(n, []).append(seconds)
        memory_series.setdefault(label, {}).setdefault(n, []).append(common.number(r, "peak_rss_increase_bytes", path))
        if r.get("method", "density-matrix") == "density-matrix":
            state[n] = common.number(r, "state_bytes", path)
        if r.get("seconds_per_epoch", "") != "":
            epoch_series.setdefault((label, depth), {}).setdefault(n, []).append(
                common.number(r, "seconds_per_epoch", path))
            epoch_memory.setdefault(label, {}).setdefault(n, []).append(
                common.number(r, "epoch_peak_rss_increase_bytes", path))
    return time_series, epoch_series, memory_series, epoch_memory, state


def draw(rows, path, prefix, title):
    plt = common.pyplot()
    time_series, epoch_series, memory_series, epoch_memory, state = collect(rows, path)
    models = sorted({label for label, _ in time_series})
    depths = sorted({depth for _, depth in time_series})
    cmap = plt.get_cmap("viridis")
    colour = {d: cmap(0.85 * i / max(1, len(depths) - 1)) for i, d in enumerate(depths)}
    style = {m: STYLES[i % len(STYLES)] for i, m in enumerate(models)}
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}

    fig, (ax_t, ax_e, ax_m) = plt.subplots(1, 3, figsize=(19, 5.2))

    slowest = None  # (n, seconds) of the largest-n point of the slowest series
    for (model, depth), points in sorted(time_series.items()):
        qs = sorted(points)
        ys = [common.median(points[q]) for q in qs]
        ax_t.plot(qs, ys, linestyle=style[model], marker=marker[model], color=colour[depth], markersize=4,
                  label=f"{model}, depth {depth}")
        if slowest is None or (qs[-1], ys[-1]) > slowest:
            slowest = (qs[-1], ys[-1])
    all_q = sorted({q for points in time_series.values() for q in points})
    if slowest is not None and len(all_q) > 1:
        n0, y0 = slowest
        ax_t.plot(all_q, [y0 * 4.0 ** (q - n0) for q in all_q], color="0.4", linestyle=(0, (6, 3)), linewidth=1.2,
                  label=r"$\propto 4^n$")
    ax_t.set_yscale("log")
    ax_t.set_xlabel("qubits n")
    ax_t.set_ylabel("seconds per circuit evaluation (median)")
    ax_t.set_title("time")
    ax_t.grid(True, which="major", alpha=0.3)
    ax_t.legend(fontsize=7, ncol=2 if len(time_series) > 8 else 1)

    for (model, depth), points in sorted(epoch_series.items()):
        qs = sorted(points)
        ax_e.plot(qs, [common.median(points[q]) for q in qs], linestyle=style[model], marker=marker[model],
                  color=colour[depth], markersize=4, label=f"{model}, depth {depth}")
    samples = sorted({r.get("epoch_samples", "") for r in rows} - {""}, key=int)
    ax_e.set_xlabel("qubits n")
    ax_e.set_ylabel("seconds per training epoch (median)")
    ax_e.set_title("epoch: loss and adjoint gradient over " + (", ".join(samples) if samples else "no") + " samples")
    ax_e.grid(True, which="major", alpha=0.3)
    if epoch_series:
        ax_e.set_yscale("log")
        ax_e.legend(fontsize=7, ncol=2 if len(epoch_series) > 8 else 1)

    for model in models:
        points = memory_series[model]
        qs = sorted(points)
        # 0 means "below what RSS resolves" (a small state reusing freed heap pages): a gap, not a point.
        ys = [max(points[q]) if max(points[q]) > 0 else math.nan for q in qs]
        if any(y == y for y in ys):
            ax_m.plot(qs, ys, linestyle=style[model], marker=marker[model], markersize=4,
                      label=f"{model}: peak RSS increase")
    for model in sorted(epoch_memory):
        points = epoch_memory[model]
        qs = sorted(points)
        ys = [max(points[q]) if max(points[q]) > 0 else math.nan for q in qs]
        if any(y == y for y in ys):
            ax_m.plot(qs, ys, linestyle=style[model], linewidth=0.8, color="0.5", label=f"{model}: epoch peak increase")
    qs = sorted(state)
    if qs:
        ax_m.plot(qs, [state[q] for q in qs], color="black", linestyle=(0, (6, 3)), linewidth=1.2,
                  label=r"density matrix $16\cdot 4^n$ bytes")
    ax_m.set_yscale("log")
    ax_m.set_xlabel("qubits n")
    ax_m.set_ylabel("bytes")
    ax_m.set_title("memory")
    ax_m.grid(True, which="major", alpha=0.3)
    ax_m.legend(fontsize=7)

    for ax in (ax_t, ax_e, ax_m):
        ax.set_xticks(all_q)
    threads = sorted({r.get("threads", "") for r in rows} - {""}, key=int)
    heading = title or "exp_scaling: cost of a noisy circuit evaluation (density matrix, trajectories) and a training epoch"
    if threads:
        heading += f" ({', '.join(threads)} thread{'s' if threads != ['1'] else ''})"
    fig.suptitle(heading, fontsize=11)
    return common.save(fig, prefix)


if __name__ == "__main__":
    common.run("Draws exp_scaling's CSV (time and memory against qubits).", "exp_scaling", REQUIRED, draw)
