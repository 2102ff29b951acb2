"""The cost of calling a kraus kernel from Python: kraus.apply_channel of a 1-qubit channel on a
12-qubit Fortran-ordered numpy density matrix, against the same raw kernel (noise::apply_channel)
called in a C++ loop (bench/python_overhead.cpp, target kraus_python_overhead).

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py \\
        --cpp build/release/bench/kraus_python_overhead [--qubits 12] [--calls 200] [--repeats 15]

Prints per channel the median ns per call of each and their ratio (Python / C++). OMP_NUM_THREADS
applies to both (set it: the two runs then use the same threads)."""
import argparse
import statistics
import subprocess
import time

import numpy as np

import kraus


def python_times(channel, n, qubit, calls, repeats):
    rho = np.zeros((1 << n, 1 << n), dtype=complex, order="F")
    rho[0, 0] = 1
    apply = kraus.apply_channel
    for _ in range(calls):  # warm-up, as the C++ side
        apply(rho, channel, [qubit])
    out = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            apply(rho, channel, [qubit])
        out.append((time.perf_counter_ns() - start) / calls)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpp", required=True, help="the kraus_python_overhead executable")
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--qubit", type=int, default=6)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=15)
    a = parser.parse_args()
    channels = {"depolarizing": kraus.depolarizing(0.01), "amplitude_damping": kraus.amplitude_damping(0.1)}
    print(f"n={a.qubits} qubit={a.qubit} calls={a.calls} repeats={a.repeats}")
    for name, channel in channels.items():
        # Interleaved: C++, Python, C++, so that drifting machine load shows as a C++ spread.
        cpp = []
        py = []
        for _ in range(2):
            proc = subprocess.run([a.cpp, str(a.qubits), str(a.calls), str(a.repeats), name, str(a.qubit)],
                                  check=True, capture_output=True, text=True)
            cpp += [float(x) for x in proc.stdout.split()]
            if not py:
                py = python_times(channel, a.qubits, a.qubit, a.calls, a.repeats)
        c, p = statistics.median(cpp), statistics.median(py)
        print(f"{name:18s} C++ {c / 1e3:9.1f} us/call  Python {p / 1e3:9.1f} us/call  "
              f"ratio {p / c:.4f}  (C++ min {min(cpp) / 1e3:.1f}, Python min {min(py) / 1e3:.1f})")


if __name__ == "__main__":
    main()
