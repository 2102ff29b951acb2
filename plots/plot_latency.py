#!/usr/bin/python3
"""The quantum–classical latency share of training time against the submission batch size, from
exp_classifier's CSV: the seed's claim that communication is about 45 % of training time.

usage: /usr/bin/python3 plots/plot_latency.py DIR/classifier.csv [--latency-ms LIST] [--batch-circuits LIST]
                                              [--out PREFIX] [--title TEXT]

The latency model is exp_classifier's (--qpu-latency, --batch-circuits, docs/experiments.md): every
training step submits its step_circuits circuits in batches of K, each batch a round trip of MS
milliseconds, simulated and not slept. An epoch of the quantum model has
S = (its circuit_executions - the previous epoch's) / step_circuits steps, so at any K and MS its
latency is L = S * ceil(step_circuits / K) * MS / 1000 and its share of the training time
L / (L + seconds_epoch), with seconds_epoch the measured compute time of the epoch (simulation,
head and optimiser: what the run measured, whatever --qpu-latency it had). The share is averaged
over the epochs (>= 1) and seeds of each (data set, noise model, noise scale, depth).

Writes PREFIX.png and PREFIX.pdf (one panel per data set: the share against K on a log axis, one
colour per depth, one line style per MS; the 45 % claim as a grey line) and PREFIX.csv (dataset,
noise_model, noise_scale, depth, batch_circuits, latency_ms, latency_share, epochs), and prints the
three paths. Default PREFIX: DIR/latency. K runs over --batch-circuits, by default the powers of 2 up
to the largest step_circuits and each step_circuits itself (one submission per step). Only the
quantum model's rows are read (the classical baselines submit nothing).

Errors (a missing, empty or foreign CSV, a value that is not a number, epochs whose executions are
not a whole number of steps, a bad --latency-ms) print one line on stderr and exit with status 2.
"""

import argparse
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REQUIRED = ["noise_model", "dataset", "noise_scale", "depth", "seed", "model", "epoch", "seconds_epoch",
            "circuit_executions", "step_circuits"]
STYLES = ["-", "--", ":", "-."]
CLAIM = 0.45


def epochs(rows, path):
    """{(dataset, noise_model, noise_scale, depth): [(steps, step_circuits, seconds_epoch)]} over the
    quantum model's epochs >= 1 of every seed."""
    by_run = {}
    for r in rows:
        if r["model"] != "quantum":
            continue
        key = (r["dataset"], r["noise_model"], r["noise_scale"], int(common.number(r, "depth", path)), r["seed"])
        by_run.setdefault(key, []).append(r)
    out = {}
    for key, run in by_run.items():
        run.sort(key=lambda r: common.number(r, "epoch", path))
        for before, r in zip(run, run[1:]):
            circuits = common.number(r, "step_circuits", path)
            if circuits <= 0:
                raise common.PlotError(f"{path}:{r['_line']}: step_circuits {r['step_circuits']} is not positive")
            executions = common.number(r, "circuit_executions", path) - common.number(before, "circuit_executions", path)
            steps = executions / circuits
            if steps < 1 or steps != math.floor(steps):
                raise common.PlotError(f"{path}:{r['_line']}: the epoch's {executions:g} circuit executions are not a "
                                       f"whole number of steps of {circuits:g} circuits")
            out.setdefault(key[:4], []).append((steps, circuits, common.number(r, "seconds_epoch", path)))
    if not out:
        raise common.PlotError(f"{path}: no trained epochs of the quantum model (epoch >= 1, model quantum)")
    return out


def share(epoch_list, k, ms):
    """The mean latency share over epochs at K circuits per submission and MS ms per round trip."""
    total = 0.0
    for steps, circuits, seconds in epoch_list:
        latency = steps * math.ceil(circuits / k) * ms / 1000.0
        total += latency / (latency + seconds) if latency + seconds > 0 else 0.0
    return total / len(epoch_list)


def batch_sizes(data):
    largest = int(max(c for runs in data.values() for _, c, _ in runs))
    ks = {1 << i for i in range(largest.bit_length()) if (1 << i) <= largest}
    ks |= {int(c) for runs in data.values() for _, c, _ in runs}
    return sorted(ks)


def parse_list(option, text, kind):
    """Distinct positive numbers (kind float or int), comma-separated."""
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        raise common.PlotError(f"{option}: '{text}' is not a comma-separated list of {kind.__name__}s") from None
    if any(not math.isfinite(v) or v <= 0 for v in values) or len(set(values)) != len(values):
        raise common.PlotError(f"{option}: '{text}' must list distinct positive numbers")
    return values


def draw(rows, path, prefix, title, latencies, ks):
    data = epochs(rows, path)
    ks = sorted(ks) if ks else batch_sizes(data)
    table = []
    for (dataset, model, scale, depth), runs in sorted(data.items()):
        for ms in latencies:
            for k in ks:
                table.append((dataset, model, scale, depth, k, ms, share(runs, k, ms), len(runs)))

    plt = common.pyplot()
    datasets = sorted({key[0] for key in data})
    depths = sorted({key[3] for key in data})
    colours = plt.get_cmap("viridis")
    colour = {d: colours(i / max(1, len(depths) - 1) * 0.85) for i, d in enumerate(depths)}
    style = {ms: STYLES[i % len(STYLES)] for i, ms in enumerate(latencies)}
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for (d, model, scale, depth), runs in sorted(data.items()):
            if d != dataset:
                continue
            for ms in latencies:
                label = f"depth {depth}, {ms:g} ms"
                if len({(k[1], k[2]) for k in data if k[0] == dataset}) > 1:
                    label = f"{model} x{scale}, " + label
                ax.plot(ks, [share(runs, k, ms) for k in ks], color=colour[depth], linestyle=style[ms], linewidth=1.4,
                        label=label)
        ax.axhline(CLAIM, color="0.5", linewidth=1.0, linestyle=(0, (1, 1)))
        ax.text(ks[0], CLAIM + 0.015, "the seed's 45 %", fontsize=7, color="0.35")
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("circuits per submission (K)")
        ax.set_ylabel("latency share of training time")
        ax.set_title(f"{dataset}: simulated round trips against measured compute")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title or "exp_classifier: quantum–classical latency share against batch size (mean over epochs "
                 "and seeds)", fontsize=11)
    fig.tight_layout()
    paths = common.save(fig, prefix)
    with open(prefix + ".csv.tmp", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "noise_model", "noise_scale", "depth", "batch_circuits", "latency_ms", "latency_share",
                    "epochs"])
        for dataset, model, scale, depth, k, ms, value, n in table:
            w.writerow([dataset, model, scale, depth, k, f"{ms:g}", repr(value), n])
    os.replace(prefix + ".csv.tmp", prefix + ".csv")
    return paths + [prefix + ".csv"]


def main():
    parser = argparse.ArgumentParser(description="The latency share of training time against the batch size, from "
                                                 "exp_classifier's CSV.")
    parser.add_argument("csv", help="the CSV written by exp_classifier (DIR/classifier.csv)")
    parser.add_argument("--latency-ms", default="10,100,1000",
                        help="round trips in milliseconds, comma-separated (default 10,100,1000)")
    parser.add_argument("--batch-circuits", help="circuits per submission, comma-separated (default: powers of 2 "
                                                 "and each step's circuits)")
    parser.add_argument("--out", help="output prefix (default: DIR/latency)")
    parser.add_argument("--title", help="figure title")
    args = parser.parse_args()
    prefix = args.out or os.path.join(os.path.dirname(args.csv), "latency")
    try:
        latencies = parse_list("--latency-ms", args.latency_ms, float)
        ks = parse_list("--batch-circuits", args.batch_circuits, int) if args.batch_circuits else None
        rows = common.read_rows(args.csv, REQUIRED, "exp_classifier")
        for p in draw(rows, args.csv, prefix, args.title, latencies, ks):
            print(p)
    except common.PlotError as e:
        common.fail(str(e))


if __name__ == "__main__":
    main()
