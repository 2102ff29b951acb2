#!/usr/bin/python3
"""Writes RESULTS/REPORT.md: each study's figure with a short table, from the studies' CSV files.

usage: /usr/bin/python3 plots/report.py RESULTS

RESULTS holds one folder per study as the main job writes them (scripts/run-main.sh):
RESULTS/<study>/<study>.csv, its record <study>.json and its figure <study>.png (the plot scripts).
Studies whose CSV is absent are listed as not run. The tables summarise the CSV (means over seeds);
nothing is recomputed from physics. The report is written atomically (a temporary file, then rename).
Errors (a malformed CSV) print one line on stderr and exit with status 2.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

STUDIES = [
    ("scaling", "exp_scaling", "Time and memory against qubits"),
    ("barren_plateau", "exp_barren_plateau", "Barren plateaus: gradient variance against qubits and depth"),
    ("zne", "exp_zne", "Zero-noise extrapolation: error against noise strength and depth"),
    ("classifier", "exp_classifier", "Classification accuracy against depth and noise"),
    ("adaptive", "exp_adaptive", "Adaptive depth against fixed depths at one evaluation budget"),
]


def mean(values):
    return sum(values) / len(values) if values else math.nan


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, int):
        return str(x)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def num(r, c, path):
    return common.number(r, c, path)


def scaling_table(rows, path):
    largest = max(int(num(r, "qubits", path)) for r in rows)
    deepest = max(int(num(r, "depth", path)) for r in rows)
    out = []
    for method in sorted({r.get("method", "density-matrix") for r in rows}):
        for model in sorted({r["noise_model"] for r in rows}):
            def pick(n):
                return [r for r in rows if r["noise_model"] == model and r.get("method", "density-matrix") == method
                        and int(r["qubits"]) == n and int(r["depth"]) == deepest]
            sel, prev = pick(largest), pick(largest - 1)
            if not sel:
                continue
            t = mean([num(r, "seconds_per_evaluation", path) for r in sel])
            growth = t / mean([num(r, "seconds_per_evaluation", path) for r in prev]) if prev else math.nan
            epoch = [num(r, "seconds_per_epoch", path) for r in sel if r.get("seconds_per_epoch", "") != ""]
            samples = sel[0].get("epoch_samples", "")
            label = method + (f" ({sel[0]['trajectories']})" if sel[0].get("trajectories", "") != "" else "")
            out.append([model, label, largest, deepest, fmt(t), fmt(growth, 2),
                        fmt(mean(epoch)) + (f" ({samples} samples)" if epoch else ""),
                        fmt(max(num(r, "peak_rss_increase_bytes", path) for r in sel) / 2**20),
                        fmt(num(sel[0], "state_bytes", path) / 2**20)])
    return table(["noise model", "method (trajectories)", "qubits", "depth", "s / evaluation", "× from n−1",
                  "s / epoch", "peak RSS increase (MiB)", "state (MiB)"], out)


def barren_plateau_table(rows, path):
    deepest = max(int(num(r, "depth", path)) for r in rows)
    # A model's label names the method when the CSV has both (older CSVs have no method column).
    methods = sorted({r.get("method", "density-matrix") for r in rows})

    def label(r):
        return r["noise_model"] + (f" ({r.get('method', 'density-matrix')})" if len(methods) > 1 else "")

    models = sorted({label(r) for r in rows})
    out = []
    for n in sorted({int(num(r, "qubits", path)) for r in rows}):
        line = [n]
        ref = None
        for model in models:
            for cost in ("local", "global"):
                sel = [r for r in rows if label(r) == model and int(r["qubits"]) == n
                       and int(r["depth"]) == deepest and r["cost"] == cost]
                line.append(fmt(mean([num(r, "variance", path) for r in sel])) if sel else "–")
                if sel:
                    ref = num(sel[0], "two_design", path)
        out.append(line + [fmt(ref)])
    header = ["qubits"] + [f"{m} {c}" for m in models for c in ("local", "global")] + ["2-design d/(3(d²−1))"]
    return f"Var[∂C/∂θ₁] at depth {deepest}:\n\n" + table(header, out)


def zne_table(rows, path):
    scales = sorted({num(r, "noise_scale", path) for r in rows})
    scale = min(scales, key=lambda s: abs(s - 1.0))
    models = sorted({r["noise_model"] for r in rows})
    at = [r for r in rows if num(r, "noise_scale", path) == scale]
    out = [["unmitigated"] + [fmt(mean([num(r, "abs_error_unmitigated", path) for r in at if r["noise_model"] == m]))
                              for m in models]]
    for method in sorted({r["method"] for r in at}):
        for extrapolator in sorted({r["extrapolator"] for r in at if r["method"] == method}):
            line = [f"{method}, {extrapolator}"]
            for m in models:
                sel = [r for r in at if r["noise_model"] == m and r["method"] == method
                       and r["extrapolator"] == extrapolator]
                ok = [r for r in sel if r["status"] == "ok"]
                cell = fmt(mean([num(r, "abs_error_mitigated", path) for r in ok])) if ok else "–"
                if len(ok) < len(sel):
                    cell += f" ({len(sel) - len(ok)} fits failed)"
                line.append(cell)
            out.append(line)
    return (f"Mean absolute error at noise scale {fmt(scale)} over depths, seeds and observables:\n\n" +
            table(["value"] + models, out))


def label_of(r):
    """The noise model, with its scale when it is not 1."""
    return r["noise_model"] + ("" if r.get("noise_scale", "1") == "1" else f" ×{r['noise_scale']}")


def classifier_label(r):
    """label_of, or the classical baseline's name (exp_classifier --model): those rows repeat at every noise model."""
    model = r.get("model", "quantum")
    return label_of(r) if model == "quantum" else f"{model} (classical)"


def classifier_table(rows, path):
    last = {}
    for r in rows:
        key = (r["dataset"], classifier_label(r), r["zne"], int(num(r, "depth", path)), r["seed"])
        if int(num(r, "epoch", path)) >= int(last.get(key, {"epoch": -1})["epoch"]):
            last[key] = r
    depths = sorted({k[3] for k in last})
    out = []
    for dataset, model, zne in sorted({k[:3] for k in last}):
        line = [dataset, model + ("" if zne == "none" else f" (ZNE {zne})")]
        for d in depths:
            sel = [r for k, r in last.items() if k[:4] == (dataset, model, zne, d)]
            line.append(fmt(mean([num(r, "test_accuracy", path) for r in sel])) if sel else "–")
        times = [num(r, "seconds_epoch", path) for r in rows if classifier_label(r) == model and r["dataset"] == dataset
                 and r["zne"] == zne and int(num(r, "epoch", path)) > 0 and int(num(r, "depth", path)) == depths[-1]]
        line.append(fmt(common.median(times)) if times else "–")
        out.append(line)
    return ("Final test accuracy (mean over seeds) by depth, and the median time per epoch at the largest depth:\n\n" +
            table(["data set", "noise model"] + [f"depth {d}" for d in depths] + [f"s / epoch (depth {depths[-1]})"], out))


def adaptive_table(rows, path):
    finals = [r for r in rows if r["final"] == "1"]
    out = []
    for dataset, model in sorted({(r["dataset"], r["noise_model"]) for r in finals}):
        sel = [r for r in finals if r["dataset"] == dataset and r["noise_model"] == model]
        adaptive = [r for r in sel if r["strategy"] == "adaptive"]
        fixed = {}
        for r in sel:
            if r["strategy"] == "fixed":
                fixed.setdefault(int(num(r, "depth", path)), []).append(num(r, "test_accuracy", path))
        best = max(fixed, key=lambda d: (mean(fixed[d]), -d)) if fixed else None
        out.append([dataset, model,
                    fmt(mean([num(r, "depth", path) for r in adaptive]), 2),
                    fmt(mean([num(r, "parameters", path) for r in adaptive]), 3),
                    fmt(mean([num(r, "test_accuracy", path) for r in adaptive])),
                    fmt(mean([num(r, "circuit_evaluations", path) for r in adaptive]), 3),
                    f"{best}: {fmt(mean(fixed[best]))}" if best is not None else "–",
                    fmt(mean([a for v in fixed.values() for a in v]))])
    return ("Final rows (means over seeds); the budget is the same for every strategy:\n\n" +
            table(["data set", "noise model", "adaptive final depth", "parameters", "adaptive test acc.",
                   "circuit evaluations", "best fixed depth: test acc.", "mean fixed test acc."], out))


# What each study's --quick grid can and cannot show, said next to its table when the run was quick.
QUICK_NOTES = {
    "scaling": "The 4^n growth of time and memory per evaluation, once states outgrow the caches. It cannot "
               "show the 11–13-qubit states (64 MiB–1 GiB) where memory bandwidth dominates, and its timings "
               "come from short samples on a possibly busy machine.",
    "barren_plateau": "The global cost's variance falling by about half per qubit, and noise lowering the variance "
                      "as depth grows. With 100 circuits per point a variance carries a relative standard error of "
                      "about 15 % or more (`variance_stderr` in the CSV), and depths up to 20 do not bring the "
                      "local cost down to the 2-design value, which the full runs reach at depth 50–100.",
    "zne": "That extrapolation reduces the error of the mirror circuits and how the methods rank at mild noise. "
           "One seed and two depths cannot show the trend with depth, nor where fits fail at strong noise.",
    "classifier": "That the tasks train. The shipped noise models are mild at 4 qubits (errors of 1e-4 to "
                  "1e-3 per 1-qubit gate) and readout errors do not enter the classifier's readouts, so every noise "
                  "model reaches the same accuracies here: this grid cannot show noise costing accuracy (the "
                  "full runs scale the noise 10 and 30 times). With {test} test samples, one sample moves the accuracy by {step}, and "
                  "15 epochs on 40 samples per class are short of the full runs' 30 epochs on 200.",
    "adaptive": "How the controller spends a budget. At the quick budget (20 000 evaluations, depth at most 4, "
                "20 samples per class) the adaptive run stays at depth 1 for most or all of it, so it ends below the "
                "best fixed depth on these easy tasks (the full runs, at 40 000, show the same), and one test sample "
                "moves an accuracy by about 0.06. It cannot show whether adaptive depth helps where deep random "
                "circuits plateau (many qubits, local costs).",
}


def quick_note(study, rows, path):
    note = QUICK_NOTES[study]
    if study == "classifier":
        test = min(int(num(r, "test_samples", path)) for r in rows)
        note = note.format(test=test, step=fmt(1 / test, 2))
    return f"**What a `--quick` grid can and cannot show:** {note} Full-size runs: `docs/RESULTS.md`."


TABLES = {"scaling": scaling_table, "barren_plateau": barren_plateau_table, "zne": zne_table,
          "classifier": classifier_table, "adaptive": adaptive_table}


def main():
    if len(sys.argv) != 2:
        common.fail("usage: report.py RESULTS (the folder the main job writes)")
    results = sys.argv[1]
    parts = []
    quick = []  # each study's "quick" flag, from its JSON
    try:
        for study, program, heading in STUDIES:
            csv_path = os.path.join(results, study, study + ".csv")
            parts += [f"## {heading} (`{program}`)", ""]
            if not os.path.exists(csv_path):
                parts += [f"Not run: `{csv_path}` is missing.", ""]
                continue
            rows = common.read_rows(csv_path, ["noise_model"], program)
            record = {}
            json_path = os.path.join(results, study, study + ".json")
            if os.path.exists(json_path):
                with open(json_path, encoding="utf-8") as f:
                    record = json.load(f)
            quick.append(record.get("quick", False))
            models = sorted({r["noise_model"] for r in rows})
            parts.append(f"{len(rows)} rows, noise models {', '.join(models)}; run status "
                         f"`{record.get('status', 'unknown')}`, git revision `{record.get('git_revision', 'unknown')[:12]}`; "
                         f"data: [`{study}/{study}.csv`]({study}/{study}.csv).")
            parts.append("")
            if os.path.exists(os.path.join(results, study, study + ".png")):
                parts += [f"![{study}]({study}/{study}.png)", ""]
            parts += [TABLES[study](rows, csv_path), ""]
            if record.get("quick", False):
                parts += [quick_note(study, rows, csv_path), ""]
    except common.PlotError as e:
        common.fail(str(e))
    except (KeyError, ValueError) as e:
        common.fail(f"{results}: unexpected content ({e})")
    grids = ("Every study in `--quick` mode (small grids; `docs/RESULTS.md` discusses full-size runs)."
             if quick and all(quick) else "Grids larger than `--quick` (each study's JSON lists its options).")
    parts = [f"# kraus results (`{results}`)", "",
             grids + " Each section shows the figure its plot script drew from the CSV next to it, and a table read "
             "from that CSV. Provenance (options, seeds, noise models, git revision, machine) is in each study's JSON.",
             ""] + parts
    target = os.path.join(results, "REPORT.md")
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, target)
    print(target)


if __name__ == "__main__":
    main()
