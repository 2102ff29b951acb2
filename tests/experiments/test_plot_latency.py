#!/usr/bin/python3
"""plots/plot_latency.py on a small exp_classifier run (CTest: experiments:plot_latency.py).

  test_plot_latency.py EXP_CLASSIFIER WORK_DIR

The run charges 20 ms per submission of 5 circuits; the plot's share at K = 5, MS = 20 must equal
the mean of the run's own latency_share column over epochs >= 1 and seeds, per depth (the same
latency model, recomputed from circuit_executions and step_circuits); the share falls as K grows; a
CSV whose executions are not whole steps, and a bad --latency-ms, exit with status 2 and one line.
Exit status 77 (skipped) only when /usr/bin/python3 lacks matplotlib.
"""
import csv
import os
import shutil
import subprocess
import sys

PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plots", "plot_latency.py")
PYTHON = "/usr/bin/python3"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def plot(*args):
    return subprocess.run([PYTHON, PLOT] + list(args), capture_output=True, text=True, timeout=120)


def main():
    exe, work = sys.argv[1], sys.argv[2]
    if subprocess.run([PYTHON, "-c", "import matplotlib"], capture_output=True).returncode != 0:
        print("skipped: /usr/bin/python3 cannot import matplotlib")
        sys.exit(77)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run = os.path.join(work, "run")
    p = subprocess.run([exe, "--out", run, "--dataset", "digits01", "--noise", "ideal", "--depth", "1,3", "--seeds",
                        "1,2", "--epochs", "2", "--samples-per-class", "30", "--batch-size", "20", "--model", "both",
                        "--qpu-latency", "20", "--batch-circuits", "5", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail("exp_classifier: " + p.stderr)
    rows = list(csv.DictReader(open(os.path.join(run, "classifier.csv"))))
    expected = {}
    for r in rows:
        if r["model"] == "quantum" and r["epoch"] != "0":
            expected.setdefault(r["depth"], []).append(float(r["latency_share"]))
    if sorted(expected) != ["1", "3"] or any(len(v) != 4 for v in expected.values()):
        fail("unexpected rows: %r" % expected)

    p = plot(os.path.join(run, "classifier.csv"), "--latency-ms", "20", "--batch-circuits", "5")
    prefix = os.path.join(run, "latency")
    if p.returncode != 0 or p.stdout.split() != [prefix + ".png", prefix + ".pdf", prefix + ".csv"]:
        fail("plot_latency.py: status %d, stdout %r, stderr %r" % (p.returncode, p.stdout, p.stderr))
    if open(prefix + ".png", "rb").read(8)[1:4] != b"PNG" or open(prefix + ".pdf", "rb").read(5) != b"%PDF-":
        fail("not a PNG and a PDF")
    for r in csv.DictReader(open(prefix + ".csv")):
        want = sum(expected[r["depth"]]) / 4
        if abs(float(r["latency_share"]) - want) > 1e-12 or r["epochs"] != "4":
            fail("depth %s: share %s, the run's own mean %r" % (r["depth"], r["latency_share"], want))

    # The default batch sizes: 1, 2, 4, ... and each step's circuits; the share falls as K grows.
    p = plot(os.path.join(run, "classifier.csv"), "--latency-ms", "1000", "--out", os.path.join(work, "default"))
    if p.returncode != 0:
        fail("default K: " + p.stderr)
    table = list(csv.DictReader(open(os.path.join(work, "default.csv"))))
    ks = [int(r["batch_circuits"]) for r in table if r["depth"] == "1"]
    step = int(next(r["step_circuits"] for r in rows if r["model"] == "quantum" and r["depth"] == "1"))
    if ks[0] != 1 or step not in ks or ks != sorted(ks):
        fail("batch sizes %r (step %d)" % (ks, step))
    shares = [float(r["latency_share"]) for r in table if r["depth"] == "1"]
    if any(b > a for a, b in zip(shares, shares[1:])) or not shares[0] > shares[-1]:
        fail("the share does not fall with K: %r" % shares)

    # Refusals: executions that are not whole steps; a bad --latency-ms.
    broken = os.path.join(work, "broken.csv")
    lines = open(os.path.join(run, "classifier.csv")).read().split("\n")
    header = lines[0].split(",")
    at = header.index("circuit_executions")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        if len(fields) == len(header) and fields[header.index("model")] == "quantum" and fields[header.index("epoch")] == "2":
            fields[at] = str(int(fields[at]) + 1)
            lines[i] = ",".join(fields)
            break
    open(broken, "w").write("\n".join(lines))
    for args, needle in [([broken], "not a whole number of steps"),
                         ([os.path.join(run, "classifier.csv"), "--latency-ms", "-1"], "--latency-ms")]:
        p = plot(*args)
        if p.returncode != 2 or needle not in p.stderr or p.stderr.count("\n") != 1:
            fail("%r: status %d, stderr %r" % (args, p.returncode, p.stderr))
    print("plot_latency.py: the run's latency shares, falling with K; refusals")


if __name__ == "__main__":
    main()
