#!/usr/bin/python3
"""Draws exp_barren_plateau's CSV: Var[dC/dtheta_1] of McClean's random circuits, semilog.

usage: /usr/bin/python3 plots/plot_barren_plateau.py DIR/barren_plateau.csv [--out PREFIX] [--title TEXT]

Writes PREFIX.png and PREFIX.pdf (default PREFIX: the CSV's path without .csv) and prints their
paths. Reads only the CSV (columns in docs/experiments.md):

  top row     variance (log scale) against qubits, one panel per cost (local, global), one line per
              noise model and depth (colour = depth, line style and marker = noise model), error bars
              variance_stderr, and the 2-design value d/(3(d^2-1)) from the two_design column (black, dashed);
  bottom row  variance against depth, one panel per cost, one line per noise model and qubit count
              (colour = qubits, style = noise model), with each qubit count's 2-design value (dotted).

With both methods in the CSV, a line's label names its method. A variance of 0 (possible only with a
degenerate grid), or a negative one from trajectories (their variance is corrected for the
trajectories' noise, so it can fall below 0 when the true one is tiny), is left out of the log axes. Errors (a missing,
empty or foreign CSV, a value that is not a number) print one line on stderr and exit with status 2.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "qubits", "depth", "cost", "variance", "variance_stderr", "two_design"]
STYLES = ["-", "--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (5, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def collect(rows, path):
    """{(cost, model label, qubits, depth): (variance, stderr)}, {qubits: two_design}."""
    scales = sorted({r.get("noise_scale", "1") for r in rows}, key=float)
    methods = sorted({r.get("method", "density-matrix") for r in rows})
    points, reference = {}, {}
    for r in rows:
        method = r.get("method", "density-matrix")
        label = r["noise_model"]
        if len(scales) > 1:
            label += f" x{r.get('noise_scale', '1')}"
        if len(methods) > 1:
            label += f" ({method})"
        n = int(common.number(r, "qubits", path))
        depth = int(common.number(r, "depth", path))
        var = common.number(r, "variance", path)
        se = common.number(r, "variance_stderr", path)
        if var < 0 and method != "trajectories":
            raise common.PlotError(f"{path}:{r['_line']}: variance {var} is negative")
        points[(r["cost"], label, n, depth)] = (var, se)
        reference[n] = common.number(r, "two_design", path)
    return points, reference


def draw(rows, path, prefix, title):
    plt = common.pyplot()
    points, reference = collect(rows, path)
    costs = sorted({k[0] for k in points}, key=lambda c: (c != "local", c))
    models = sorted({k[1] for k in points})
    qubits = sorted({k[2] for k in points})
    depths = sorted({k[3] for k in points})
    cmap = plt.get_cmap("viridis")
    depth_colour = {d: cmap(0.85 * i / max(1, len(depths) - 1)) for i, d in enumerate(depths)}
    plasma = plt.get_cmap("plasma")
    qubit_colour = {n: plasma(0.85 * i / max(1, len(qubits) - 1)) for i, n in enumerate(qubits)}
    style = {m: STYLES[i % len(STYLES)] for i, m in enumerate(models)}
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}

    fig, axes = plt.subplots(2, len(costs), figsize=(6.5 * len(costs), 10), squeeze=False)
    for col, cost in enumerate(costs):
        ax_n, ax_l = axes[0][col], axes[1][col]
        for model in models:
            for depth in depths:
                xs = [n for n in qubits if (cost, model, n, depth) in points and points[(cost, model, n, depth)][0] > 0]
                if not xs:
                    continue
                ys = [points[(cost, model, n, depth)][0] for n in xs]
                es = [points[(cost, model, n, depth)][1] for n in xs]
                ax_n.errorbar(xs, ys, yerr=es, linestyle=style[model], marker=marker[model], color=depth_colour[depth],
                              markersize=4, capsize=2, label=f"{model}, depth {depth}")
            for n in qubits:
                xs = [d for d in depths if (cost, model, n, d) in points and points[(cost, model, n, d)][0] > 0]
                if not xs:
                    continue
                ys = [points[(cost, model, n, d)][0] for d in xs]
                es = [points[(cost, model, n, d)][1] for d in xs]
                ax_l.errorbar(xs, ys, yerr=es, linestyle=style[model], marker=marker[model], color=qubit_colour[n],
                              markersize=4, capsize=2, label=f"{model}, n = {n}")
        ax_n.plot(qubits, [reference[n] for n in qubits], color="black", linestyle=(0, (6, 3)), linewidth=1.4,
                  label=r"2-design $d/(3(d^2-1))$")
        for n in qubits:
            ax_l.axhline(reference[n], color=qubit_colour[n], linestyle=":", linewidth=1.2)
        ax_l.plot([], [], color="0.3", linestyle=":", label="2-design, per n")
        largest = [r for r in rows if r["cost"] == cost and int(r["qubits"]) == max(k[2] for k in points if k[0] == cost)]
        observable = largest[0].get("observable", "") if largest else ""
        for ax in (ax_n, ax_l):
            ax.set_yscale("log")
            ax.set_ylabel(r"Var[$\partial C/\partial\theta_1$]")
            ax.grid(True, which="major", alpha=0.3)
        ax_n.set_xlabel("qubits n")
        ax_n.set_xticks(qubits)
        ax_l.set_xlabel("depth (layers)")
        if len(depths) > 1 and depths[-1] / max(1, depths[0]) >= 20:
            ax_l.set_xscale("log")
        name = f"{cost} cost" + (f" ({observable} for the largest n)" if cost == "global" and observable else
                                 f" ({observable})" if observable else "")
        ax_n.set_title(f"{name}: against qubits")
        ax_l.set_title(f"{name}: against depth")
        ncol = 2 if len(models) * len(depths) > 8 else 1
        ax_n.legend(fontsize=7, ncol=ncol)
        ax_l.legend(fontsize=7, ncol=2 if len(models) * len(qubits) > 8 else 1)
    circuits = sorted({r.get("circuits", "") for r in rows} - {""}, key=int)
    heading = title or "exp_barren_plateau: gradient variance of McClean random circuits"
    if circuits:
        heading += f" ({', '.join(circuits)} circuits per point)"
    fig.suptitle(heading, fontsize=11)
    return common.save(fig, prefix)


if __name__ == "__main__":
    common.run("Draws exp_barren_plateau's CSV (gradient variance, semilog).", "exp_barren_plateau", REQUIRED, draw)
