#!/usr/bin/python3
"""Draws exp_adaptive's CSV: the adaptive run's depth trajectories and final accuracy against depth.

usage: /usr/bin/python3 plots/plot_adaptive.py DIR/adaptive.csv [--out PREFIX] [--title TEXT]

Writes PREFIX.png and PREFIX.pdf (default PREFIX: the CSV's path without .csv) and prints their
paths. Reads only the CSV (columns in docs/experiments.md); one column of panels per data set:

  top row     depth of the adaptive run against cumulative circuit evaluations (steps: the depth of
              each round, drawn up to the round's last evaluation), one line per noise model (colour)
              and seed (line style); the budget as a dotted vertical line;
  bottom row  final test accuracy against depth: the fixed strategies as lines (mean over seeds, one
              per noise model, seeds as faint dots), the adaptive result as a large marker at its
              final depth (mean over seeds of accuracy and depth, same colour).

Errors (a missing, empty or foreign CSV, a value that is not a number) print one line on stderr and
exit with status 2.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "dataset", "seed", "strategy", "fixed_depth", "round", "depth", "circuit_evaluations",
            "budget", "test_accuracy", "final"]
STYLES = ["-", "--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (5, 2))]


def collect(rows, path):
    """Trajectories {(dataset, model, seed): [(evaluations, depth)]}, finals [(dataset, model, seed,
    strategy, depth, accuracy)], budgets {dataset: set of budgets}, classical {(dataset, strategy):
    {seed: accuracy}} (the classical baselines repeat at every noise model: one value per seed)."""
    trajectories, finals, budgets, classical = {}, [], {}, {}
    for r in rows:
        strategy = r["strategy"]
        if strategy not in ("adaptive", "fixed", "softmax", "mlp"):
            raise common.PlotError(f"{path}:{r['_line']}: strategy '{strategy}' is not adaptive, fixed, softmax or mlp")
        if strategy in ("softmax", "mlp"):
            accuracy = common.number(r, "test_accuracy", path)
            classical.setdefault((r["dataset"], strategy), {})[r["seed"]] = accuracy
            budgets.setdefault(r["dataset"], set())
            continue
        depth = int(common.number(r, "depth", path))
        evaluations = common.number(r, "circuit_evaluations", path)
        accuracy = common.number(r, "test_accuracy", path)
        final = common.number(r, "final", path) == 1
        common.number(r, "round", path)
        budgets.setdefault(r["dataset"], set()).add(common.number(r, "budget", path))
        key = (r["dataset"], r["noise_model"], r["seed"])
        if strategy == "adaptive":
            trajectories.setdefault(key, []).append((evaluations, depth))
        if final:
            finals.append((r["dataset"], r["noise_model"], r["seed"], strategy, depth, accuracy))
    return trajectories, finals, budgets, classical


def mean(values):
    return sum(values) / len(values)


def draw(rows, path, prefix, title):
    plt = common.pyplot()
    trajectories, finals, budgets, classical = collect(rows, path)
    datasets = sorted(budgets)
    models = sorted({k[1] for k in trajectories} | {f[1] for f in finals})
    seeds = sorted({k[2] for k in trajectories} | {f[2] for f in finals}, key=float)
    colours = plt.get_cmap("tab10")
    colour = {m: colours(i % 10) for i, m in enumerate(models)}
    style = {s: STYLES[i % len(STYLES)] for i, s in enumerate(seeds)}

    fig, axes = plt.subplots(2, len(datasets), figsize=(6 * len(datasets), 9), squeeze=False)
    for col, dataset in enumerate(datasets):
        ax_t, ax_a = axes[0][col], axes[1][col]
        max_depth = 1
        for (d, model, seed), points in sorted(trajectories.items()):
            if d != dataset:
                continue
            xs = [0.0] + [e for e, _ in points]
            ys = [points[0][1]] + [depth for _, depth in points]
            max_depth = max(max_depth, max(ys))
            ax_t.step(xs, ys, where="pre", color=colour[model], linestyle=style[seed], linewidth=1.4,
                      label=f"{model}, seed {seed}" if len(seeds) > 1 else model)
        for b in sorted(budgets[dataset]):
            ax_t.axvline(b, color="0.4", linestyle=":", linewidth=1.0)
        ax_t.plot([], [], color="0.4", linestyle=":", label="budget")
        ax_t.set_xlabel("circuit evaluations (cumulative, training)")
        ax_t.set_ylabel("depth (layers)")
        ax_t.set_title(f"{dataset}: adaptive depth trajectory")
        ax_t.grid(True, alpha=0.3)
        ax_t.legend(fontsize=7, ncol=2 if len(models) * len(seeds) > 8 else 1)

        for model in models:
            fixed = {}
            for d, m, seed, strategy, depth, accuracy in finals:
                if d == dataset and m == model and strategy == "fixed":
                    fixed.setdefault(depth, []).append(accuracy)
            if fixed:
                depths = sorted(fixed)
                max_depth = max(max_depth, depths[-1])
                ax_a.plot(depths, [mean(fixed[k]) for k in depths], color=colour[model], marker="o", markersize=4,
                          linewidth=1.4, label=f"{model}, fixed")
                for k in depths:
                    ax_a.plot([k] * len(fixed[k]), fixed[k], color=colour[model], marker=".", linestyle="none",
                              alpha=0.35)
            adaptive = [(depth, accuracy) for d, m, _, strategy, depth, accuracy in finals
                        if d == dataset and m == model and strategy == "adaptive"]
            if adaptive:
                ax_a.plot([mean([a[0] for a in adaptive])], [mean([a[1] for a in adaptive])], color=colour[model],
                          marker="*", markersize=15, markeredgecolor="black", linestyle="none",
                          label=f"{model}, adaptive (final depth)")
        for strategy, line in (("softmax", "--"), ("mlp", "-.")):
            accuracies = classical.get((dataset, strategy))
            if accuracies:
                ax_a.axhline(mean(list(accuracies.values())), color="0.25", linestyle=line, linewidth=1.2,
                             label=f"classical {strategy} (mean over seeds)")
        ax_a.set_xlabel("depth (layers)")
        ax_a.set_ylabel("final test accuracy")
        ax_a.set_ylim(-0.02, 1.02)
        ax_a.set_xticks(range(1, max_depth + 1))
        ax_t.set_yticks(range(1, max_depth + 1))
        ax_a.set_title(f"{dataset}: final test accuracy (mean over seeds)")
        ax_a.grid(True, alpha=0.3)
        ax_a.legend(fontsize=7)
    budget_text = ", ".join(f"{b:g}" for b in sorted(set().union(*budgets.values()))) or "no"
    heading = title or f"exp_adaptive: adaptive against fixed depth at {budget_text} circuit evaluations"
    fig.suptitle(heading, fontsize=11)
    return common.save(fig, prefix)


if __name__ == "__main__":
    common.run("Draws exp_adaptive's CSV (depth trajectories, accuracy against depth).", "exp_adaptive", REQUIRED,
               draw)
