"""The cost of calling a kraus kernel from Python: kraus.apply_channel of a 1-qubit channel on a
12-qubit Fortran-ordered numpy density matrix, against the same raw kernel (noise::apply_channel)
called in a C++ loop (bench/python_overhead.cpp, target kraus_python_overhead).

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py \\
        --cpp build/release/bench/kraus_python_overhead [--qubits 12] [--calls 20] [--rounds 9]

Per channel, rounds alternate a C++ run and a Python run of CALLS calls each (so that drifting load
on a shared machine hits both alike); prints the median and the minimum time per call of each and
their ratios (Python / C++). Then the same at 2 qubits with many calls, where the kernel costs
next to nothing, which gives the fixed cost of a call from Python. OMP_NUM_THREADS applies to both
(set it: the two runs then use the same threads)."""
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
    for _ in range(3):  # warm-up, as the C++ side
        apply(rho, channel, [qubit])
    out = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            apply(rho, channel, [qubit])
        out.append((time.perf_counter_ns() - start) / calls)
    return out


def compare(a, name, channel, n, calls, rounds):
    cpp, py = [], []
    for _ in range(rounds):
        proc = subprocess.run([a.cpp, str(n), str(calls), "1", name, str(a.qubit if n > a.qubit else 0)],
                              check=True, capture_output=True, text=True)
        cpp += [float(x) for x in proc.stdout.split()]
        py += python_times(channel, n, a.qubit if n > a.qubit else 0, calls, 1)
    return cpp, py


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpp", required=True, help="the kraus_python_overhead executable")
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--qubit", type=int, default=6)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=9)
    a = parser.parse_args()
    channels = {"depolarizing": kraus.depolarizing(0.01), "amplitude_damping": kraus.amplitude_damping(0.1)}
    print(f"n={a.qubits} qubit={a.qubit} calls={a.calls} rounds={a.rounds}")
    for name, channel in channels.items():
        cpp, py = compare(a, name, channel, a.qubits, a.calls, a.rounds)
        c, p = statistics.median(cpp), statistics.median(py)
        print(f"{name:18s} median: C++ {c / 1e3:9.1f} us/call, Python {p / 1e3:9.1f} us/call, ratio {p / c:.4f}; "
              f"min: C++ {min(cpp) / 1e3:9.1f}, Python {min(py) / 1e3:9.1f}, ratio {min(py) / min(cpp):.4f}")
    for name, channel in channels.items():
        cpp, py = compare(a, name, channel, 2, 100000, 5)
        print(f"{name:18s} n=2 (fixed cost of a call): C++ {min(cpp):7.0f} ns, Python {min(py):7.0f} ns, "
              f"Python's extra {min(py) - min(cpp):7.0f} ns per call")


if __name__ == "__main__":
    main()
