#!/usr/bin/python3
"""Draws exp_classifier's CSV: accuracy and training time against depth, per data set and noise model.

usage: /usr/bin/python3 plots/plot_classifier.py DIR/classifier.csv [--out PREFIX] [--title TEXT]

Writes PREFIX.png and PREFIX.pdf (default PREFIX: the CSV's path without .csv) and prints their
paths. Reads only the CSV (columns in docs/experiments.md). One column of panels per data set:

  top     test accuracy after the last epoch against depth, one line per noise model (mean over
          seeds, error bars = standard deviation over seeds when there are several), train accuracy
          as a thin dotted line of the same colour, and chance (1/classes) in grey;
  middle  test accuracy against epoch at the largest depth, one line per noise model (mean over seeds);
  bottom  median time per epoch (seconds_epoch of epochs >= 1, log scale) against depth.

Rows of ZNE-mitigated training (zne other than "none") are drawn as separate "model (ZNE ...)" lines.
Rows of the classical baselines (model softmax or mlp, exp_classifier --model classical or both) are
drawn as "softmax (classical)" and "mlp (classical)" lines, whatever their noise model.
Errors (a missing, empty or foreign CSV, a value that is not a number) print one line on stderr and
exit with status 2.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "dataset", "depth", "seed", "epoch", "train_accuracy", "test_accuracy", "seconds_epoch",
            "classes", "zne"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def mean_sd(values):
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd


def collect(rows, path):
    """Per (dataset, label): final accuracies by depth, accuracy curves by epoch, epoch times by depth."""
    final, curves, times, classes = {}, {}, {}, {}
    last_epoch = {}
    for r in rows:
        scale = r.get("noise_scale", "1")
        label = r["noise_model"] + ("" if scale == "1" else f" x{scale}") + ("" if r["zne"] == "none" else f" (ZNE {r['zne']})")
        if r.get("model", "quantum") != "quantum":  # the classical baselines do not depend on the noise model
            label = f"{r['model']} (classical)"
        key = (r["dataset"], label, int(common.number(r, "depth", path)), r["seed"])
        epoch = int(common.number(r, "epoch", path))
        test = common.number(r, "test_accuracy", path)
        train = common.number(r, "train_accuracy", path)
        seconds = common.number(r, "seconds_epoch", path)
        for name, v in (("test_accuracy", test), ("train_accuracy", train)):
            if not 0.0 <= v <= 1.0:
                raise common.PlotError(f"{path}:{r['_line']}: {name} {v} is outside [0, 1]")
        classes[r["dataset"]] = int(common.number(r, "classes", path))
        curves.setdefault(key, {})[epoch] = test
        if epoch >= 1:
            times.setdefault(key[:3], []).append(seconds)
        if epoch >= last_epoch.get(key, -1):
            last_epoch[key] = epoch
            final[key] = (train, test)
    return final, curves, times, classes


def draw(rows, path, prefix, title):
    plt = common.pyplot()
    final, curves, times, classes = collect(rows, path)
    datasets = sorted({k[0] for k in final})
    labels = sorted({k[1] for k in final})
    cmap = plt.get_cmap("tab10")
    colour = {m: cmap(i % 10) for i, m in enumerate(labels)}
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(labels)}
    fig, axes = plt.subplots(3, len(datasets), figsize=(5 * len(datasets), 11), squeeze=False)
    for col, data in enumerate(datasets):
        ax_acc, ax_epoch, ax_time = axes[0][col], axes[1][col], axes[2][col]
        depths = sorted({k[2] for k in final if k[0] == data})
        for label in labels:
            xs, ys, es, trains, txs, tys = [], [], [], [], [], []
            for d in depths:
                seeds = [k for k in final if k[:3] == (data, label, d)]
                if not seeds:
                    continue
                m, sd = mean_sd([final[k][1] for k in seeds])
                xs.append(d)
                ys.append(m)
                es.append(sd)
                trains.append(mean_sd([final[k][0] for k in seeds])[0])
                if times.get((data, label, d)):
                    txs.append(d)
                    tys.append(common.median(times[(data, label, d)]))
            if not xs:
                continue
            ax_acc.errorbar(xs, ys, yerr=es, color=colour[label], marker=marker[label], markersize=4, capsize=2,
                            label=f"{label} (test)")
            ax_acc.plot(xs, trains, color=colour[label], linestyle=":", linewidth=1)
            if txs and min(tys) > 0:
                ax_time.plot(txs, tys, color=colour[label], marker=marker[label], markersize=4, label=label)
            deepest = [k for k in curves if k[:3] == (data, label, max(xs))]
            epochs = sorted(set.intersection(*[set(curves[k]) for k in deepest]))
            ax_epoch.plot(epochs, [mean_sd([curves[k][e] for k in deepest])[0] for e in epochs], color=colour[label],
                          label=f"{label}, depth {max(xs)}")
        ax_acc.plot([], [], color="0.3", linestyle=":", linewidth=1, label="train accuracy")
        for ax in (ax_acc, ax_epoch):
            ax.axhline(1.0 / classes[data], color="0.6", linewidth=1, linestyle="--")
            ax.set_ylim(0, 1.02)
            ax.set_ylabel("accuracy")
            ax.grid(True, alpha=0.3)
        ax_acc.set_title(f"{data}: final accuracy against depth")
        ax_acc.set_xlabel("depth (layers)")
        ax_acc.set_xticks(depths)
        ax_acc.legend(fontsize=7)
        ax_epoch.set_title(f"{data}: test accuracy during training")
        ax_epoch.set_xlabel("epoch")
        ax_epoch.legend(fontsize=7)
        ax_time.set_title(f"{data}: time per epoch")
        ax_time.set_xlabel("depth (layers)")
        ax_time.set_xticks(depths)
        ax_time.set_ylabel("seconds per epoch (median)")
        if ax_time.lines:
            ax_time.set_yscale("log")
            ax_time.legend(fontsize=7)
        ax_time.grid(True, which="both", alpha=0.3)
    seeds = sorted({k[3] for k in final}, key=int)
    fig.suptitle(title or f"exp_classifier: variational classifier accuracy against depth ({len(seeds)} seed"
                 f"{'s' if len(seeds) > 1 else ''} per point; dashed grey: chance)", fontsize=11)
    fig.tight_layout()
    return common.save(fig, prefix)


if __name__ == "__main__":
    common.run("Draws exp_classifier's CSV (accuracy and time per epoch against depth).", "exp_classifier", REQUIRED,
               draw)
