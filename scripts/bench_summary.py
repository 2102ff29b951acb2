#!/usr/bin/python3
"""Summarises a Google Benchmark JSON file of bench/kraus_bench_engine as a Markdown table.

    /usr/bin/python3 scripts/bench_summary.py bench.json [--qubits 12]

For every benchmark and (n, threads): time per iteration in ms, effective bandwidth in GB/s
(2 * 16 * 4^n bytes per pass over the state) and the ratio to the STREAM-triad figure measured in
the same run at the same n and thread count.
"""
import argparse
import json
import re
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json_file")
    parser.add_argument("--qubits", type=int, default=None, help="only this n")
    args = parser.parse_args()
    with open(args.json_file) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        m = re.match(r"BM_(\w+)/n:(\d+)/threads:(\d+)", b["name"])
        if not m:
            continue
        name, n, t = m.group(1), int(m.group(2)), int(m.group(3))
        if args.qubits is not None and n != args.qubits:
            continue
        ms = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        rows[(name, n, t)] = (ms, b.get("bytes_per_second", 0.0) / 1e9)
    print("| benchmark | n | threads | ms | GB/s | / triad |")
    print("|---|---|---|---|---|---|")
    for (name, n, t), (ms, gbs) in sorted(rows.items(), key=lambda kv: (kv[0][0] != "StreamTriad", kv[0])):
        triad = rows.get(("StreamTriad", n, t))
        ratio = f"{gbs / triad[1]:.2f}" if triad and triad[1] > 0 and name != "StreamTriad" else ""
        print(f"| {name} | {n} | {t} | {ms:.3f} | {gbs:.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
