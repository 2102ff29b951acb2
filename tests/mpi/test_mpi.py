#!/usr/bin/python3
"""MPI tests (docs/distributed.md), registered with CTest when KRAUS_MPI is on.

  test_mpi.py --mpiexec MPIEXEC --build BUILD_DIR --source SOURCE_DIR CASE

CASE is one of
  trajectories  `kraus simulate --method trajectories` under mpirun -np 1, 2, 3 prints the JSON of a
                plain run, number for number (bitwise: the blocks are folded in block order)
  sweep         exp_scaling under mpirun -np 2 writes the CSV rows of a plain run, in grid order,
                equal in every column but the timings and the memory readings
  kill-resume   SIGKILL of rank 1 in the middle of a 2-rank sweep, then a 3-rank rerun: the rows of
                a plain run, none lost and none twice
  refusals      what runs on one process only is refused with status 2 under 2 ranks (no hang)
  data-parallel exp_classifier and exp_scaling with --data-parallel under mpirun -np 2 and 3 (each
                trajectory batch split across the ranks) write the rows of a plain run, every column
                but the timings equal: the same training, bit for bit

Every mpirun runs with a time limit; Open MPI runs as root, oversubscribed, over shared memory.
"""
import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

LIMIT = 30  # seconds per mpirun

ENV = dict(os.environ,
           OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive",
           OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none",
           OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           OMPI_MCA_mpi_yield_when_idle="1")
# Under AddressSanitizer (KRAUS_SANITIZE): Open MPI keeps allocations past MPI_Finalize, which
# LeakSanitizer would report as leaks of every rank; the other checks stay on.
ENV["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(args, ranks=None, mpiexec=None, check=True):
    """Runs args (under mpiexec -n ranks when ranks is given); returns the CompletedProcess."""
    command = ([mpiexec, "-n", str(ranks)] if ranks else []) + args
    try:
        p = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        fail("timed out after %d s (a hang): %s" % (LIMIT, " ".join(command)))
    if check and p.returncode != 0:
        fail("status %d: %s\n%s" % (p.returncode, " ".join(command), p.stderr))
    return p


def without_provenance(text):
    doc = json.loads(text)
    provenance = doc.pop("provenance")
    return doc, provenance


def case_trajectories(a):
    kraus = os.path.join(a.build, "cli", "kraus")
    data = os.path.join(a.source, "tests", "data", "qasm")
    examples = os.path.join(a.source, "docs", "examples")
    runs = [
        # 1000 trajectories: 16 blocks, split 16 / 8+8 / 5+5+6; probabilities, shots, readout errors.
        ["simulate", os.path.join(data, "ghz5.qasm"), "--noise", os.path.join(examples, "depolarizing.json"),
         "--method", "trajectories", "--trajectories", "1000", "--shots", "333", "--seed", "7",
         "--observable", "Z0 Z1", "--observable", "0.5*X0 X1 X2 X3 X4 - Z4"],
        # Classical control: counts by classical-bit key from each trajectory's own outcomes.
        ["simulate", os.path.join(examples, "teleport.qasm"), "--noise", os.path.join(examples, "readout.json"),
         "--method", "trajectories", "--trajectories", "200", "--shots", "200", "--observable", "Z2"],
    ]
    for args in runs:
        plain, _ = without_provenance(run([kraus] + args).stdout)
        if not plain.get("expectations") or plain["trajectories"]["count"] < 200:
            fail("the plain run printed no trajectory expectations: " + json.dumps(plain)[:300])
        for ranks in (1, 2, 3):
            doc, provenance = without_provenance(run([kraus] + args, ranks, a.mpiexec).stdout)
            if provenance.get("ranks") != ranks:
                fail("-n %d: provenance.ranks is %r" % (ranks, provenance.get("ranks")))
            if doc != plain:
                for key in plain:
                    if doc.get(key) != plain[key]:
                        fail("-n %d: %s differs: %s vs %s" % (ranks, key, json.dumps(doc.get(key))[:300],
                                                              json.dumps(plain[key])[:300]))
                fail("-n %d: the JSON differs" % ranks)
    print("trajectories: -n 1, 2, 3 print the plain run's JSON")


# exp_scaling's columns that time or measure memory: they differ between any two runs.
def measured(column):
    return "second" in column or "rss" in column or column == "evaluations_per_sample"


def rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if not measured(k)} for r in csv.DictReader(f)]


SWEEP = ["--qubits", "2:4", "--depth", "2,4", "--noise", "ideal", "--noise", "depolarizing", "--method",
         "density-matrix,trajectories", "--trajectories", "64", "--epoch-samples", "0", "--threads", "1"]


def compare_rows(expected, got, what):
    if len(got) != len(expected):
        fail("%s: %d rows, the plain run %d" % (what, len(got), len(expected)))
    for i, (e, g) in enumerate(zip(expected, got)):
        if e != g:
            fail("%s: row %d differs:\n  %s\n  %s" % (what, i + 1, g, e))


def case_sweep(a):
    exp = os.path.join(a.build, "experiments", "exp_scaling")
    args = SWEEP + ["--repetitions", "1", "--min-sample-seconds", "0"]
    with tempfile.TemporaryDirectory() as tmp:
        run([exp, "--out", tmp + "/plain"] + args)
        p = run([exp, "--out", tmp + "/two"] + args, 2, a.mpiexec)
        expected, got = rows(tmp + "/plain/scaling.csv"), rows(tmp + "/two/scaling.csv")
        if len(expected) != 24:
            fail("the plain sweep wrote %d rows, not 24" % len(expected))
        compare_rows(expected, got, "-n 2")
        record = json.load(open(tmp + "/two/scaling.json"))
        if record["runs"][-1].get("ranks") != 2 or record["status"] != "complete":
            fail("the JSON records %r" % record["runs"][-1])
        if "(rank 1)" not in p.stderr:
            fail("no progress line names rank 1 (did it measure nothing?):\n" + p.stderr)
    print("sweep: -n 2 writes the plain run's rows")


def descendants(pid):
    """The processes below pid (a launcher's ranks)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def rank_pid(launcher, rank):
    for pid in descendants(launcher):
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if b"OMPI_COMM_WORLD_RANK=%d" % rank in env or b"PMI_RANK=%d" % rank in env:
            return pid
    return None


def case_kill_resume(a):
    exp = os.path.join(a.build, "experiments", "exp_scaling")
    # 24 points of about 0.1 s each: the kill comes while points are left.
    args = SWEEP + ["--repetitions", "1", "--min-sample-seconds", "0.1"]
    with tempfile.TemporaryDirectory() as tmp:
        run([exp, "--out", tmp + "/plain"] + args)
        out = tmp + "/killed"
        launcher = subprocess.Popen([a.mpiexec, "-n", "2", exp, "--out", out] + args, env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        progress = out + "/scaling.progress"
        deadline = time.monotonic() + LIMIT
        victim = None
        while time.monotonic() < deadline:
            done = open(progress).read().count("\n") if os.path.exists(progress) else 0
            if done >= 4:
                victim = rank_pid(launcher.pid, 1)
                if victim:
                    break
            if launcher.poll() is not None:
                break
            time.sleep(0.02)
        if victim is None:
            launcher.kill()
            fail("rank 1 was not found running after 4 points (status %r): %s" % (launcher.poll(),
                                                                                 launcher.communicate()[1]))
        os.kill(victim, signal.SIGKILL)
        try:
            status = launcher.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            launcher.kill()
            fail("the job did not end after its rank 1 was killed (a hang)")
        launcher.stderr.close()
        if status == 0:
            fail("the killed job exited with status 0")
        done = open(progress).read().count("\n")
        if not 4 <= done < 24:
            fail("%d of 24 points done at the kill: not in the middle of the sweep" % done)
        p = run([exp, "--out", out] + args, 3, a.mpiexec)
        if "done earlier (resuming)" not in p.stderr:
            fail("the rerun did not resume:\n" + p.stderr)
        compare_rows(rows(tmp + "/plain/scaling.csv"), rows(out + "/scaling.csv"), "killed and resumed")
        keys = [line.split("\t")[0] for line in open(progress).read().splitlines()]
        if len(keys) != 24 or len(set(keys)) != 24:
            fail("the progress file lists %d points, %d distinct" % (len(keys), len(set(keys))))
        record = json.load(open(out + "/scaling.json"))
        last = record["runs"][-1]
        if last.get("ranks") != 3 or last["points_done_before"] != done or record["status"] != "complete":
            fail("the JSON records %r" % last)
    print("kill-resume: %d of 24 points survived the kill; the 3-rank rerun completed the plain rows" % done)


def case_refusals(a):
    kraus = os.path.join(a.build, "cli", "kraus")
    circuit = os.path.join(a.source, "tests", "data", "qasm", "ghz5.qasm")
    noise_model = os.path.join(a.source, "docs", "examples", "depolarizing.json")
    for args, needle in [
        (["simulate", circuit, "--noise", noise_model, "--method", "density-matrix"], "runs on one process"),
        (["simulate", circuit, "--noise", noise_model, "--method", "trajectories", "--trajectories", "1"],
         "--trajectories"),
        (["demo"], "runs on one process"),
    ]:
        p = run([kraus] + args, 2, a.mpiexec, check=False)
        if p.returncode != 2 or needle not in p.stderr or p.stdout:
            fail("-n 2 kraus %s: status %d (not 2), stdout %r, stderr:\n%s" % (" ".join(args), p.returncode,
                                                                              p.stdout[:200], p.stderr))
    exp = os.path.join(a.build, "experiments", "exp_scaling")
    with tempfile.TemporaryDirectory() as tmp:
        p = run([exp, "--out", tmp, "--qubits", "0"], 2, a.mpiexec, check=False)
        if p.returncode != 2 or p.stderr.count("--qubits") != 1 or os.listdir(tmp):
            fail("-n 2 exp_scaling --qubits 0: status %d, files %r, stderr:\n%s" % (p.returncode, os.listdir(tmp),
                                                                                   p.stderr))
    print("refusals: status 2 with one message")


# exp_classifier's columns that time or measure memory.
CLASSIFIER_TIMINGS = {"seconds_epoch", "peak_rss_bytes", "latency_share", "seconds_forward", "seconds_backward",
                      "seconds_head", "seconds_data", "seconds_optimiser"}


def classifier_rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in CLASSIFIER_TIMINGS} for r in csv.DictReader(f)]


def case_data_parallel(a):
    classifier = os.path.join(a.build, "experiments", "exp_classifier")
    scaling = os.path.join(a.build, "experiments", "exp_scaling")
    # Trajectory SGD of the 2-qubit re-uploading classifier: mini-batches of 10 over 40 samples, 3
    # epochs, 2 depths, trajectories 1 and 2 per sample; and exp_scaling's trajectory-SGD epoch.
    studies = [
        (classifier, "classifier", classifier_rows,
         ["--dataset", "moons", "--depth", "1,2", "--seeds", "1", "--noise", "amplitude_damping", "--epochs", "3",
          "--batch-size", "10", "--samples-per-class", "20", "--method", "trajectories", "--trajectories", "2",
          "--threads", "1"]),
        (scaling, "scaling", rows,
         ["--qubits", "3,5", "--depth", "2", "--noise", "depolarizing", "--method", "trajectories",
          "--trajectories", "16", "--epoch-samples", "11", "--repetitions", "1", "--min-sample-seconds", "0",
          "--threads", "1"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for exe, name, read, args in studies:
            run([exe, "--out", tmp + "/plain"] + args)
            expected = read("%s/plain/%s.csv" % (tmp, name))
            if len(expected) < 2:
                fail("the plain %s run wrote %d rows" % (name, len(expected)))
            for ranks in (2, 3):
                out = "%s/%s-%d" % (tmp, name, ranks)
                p = run([exe, "--out", out, "--data-parallel"] + args, ranks, a.mpiexec)
                compare_rows(expected, read("%s/%s.csv" % (out, name)), "%s -n %d --data-parallel" % (name, ranks))
                record = json.load(open("%s/%s.json" % (out, name)))
                last = record["runs"][-1]
                if last.get("ranks") != ranks or last.get("data_parallel") is not True or record["status"] != "complete":
                    fail("the JSON records %r" % last)
                if "(%d ranks)" % ranks not in p.stderr:
                    fail("no progress line says the point ran on %d ranks:\n%s" % (ranks, p.stderr))
        # Refused where nothing would be split.
        p = run([classifier, "--out", tmp + "/refused", "--data-parallel", "--quick"], 2, a.mpiexec, check=False)
        if p.returncode != 2 or "--data-parallel" not in p.stderr or os.path.exists(tmp + "/refused"):
            fail("-n 2 exp_classifier --data-parallel --quick: status %d, stderr:\n%s" % (p.returncode, p.stderr))
    print("data-parallel: -n 2 and 3 write the plain runs' rows")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mpiexec", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("case", choices=["trajectories", "sweep", "kill-resume", "refusals", "data-parallel"])
    a = parser.parse_args()
    {"trajectories": case_trajectories, "sweep": case_sweep, "kill-resume": case_kill_resume,
     "refusals": case_refusals, "data-parallel": case_data_parallel}[a.case](a)


if __name__ == "__main__":
    main()
