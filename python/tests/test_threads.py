"""States of 8 qubits (kraus' OpenMP-parallel kernel paths) and calls from several Python threads
at once (every kernel call releases the GIL): same results as the numpy reference and as serial."""
import threading
import time

import numpy as np

import kraus
import reference as ref


def test_parallel_kernel_path_against_numpy():
    rng = np.random.default_rng(8)
    n = 8
    rho = ref.random_density_matrix(n, rng, rank=3)
    ops = ref.random_kraus(2, 3, rng)
    want = ref.apply_kraus(rho, ops, [7, 2])
    kraus.apply_channel(rho, kraus.Channel.from_kraus(ops), [7, 2])
    assert np.max(np.abs(rho - want)) < 1e-12


def run_sequence(rho, channels):
    for channel, qubits in channels:
        kraus.apply_channel(rho, channel, qubits)


def test_threads_give_the_serial_result():
    rng = np.random.default_rng(9)
    channels = [(kraus.depolarizing(0.1, num_qubits=2), [0, 7]), (kraus.amplitude_damping(0.2), [3]),
                (kraus.Channel.from_kraus(ref.random_kraus(2, 2, rng)), [5, 1]),
                (kraus.thermal_relaxation(50, 40, 5), [6])] * 3
    states = [ref.random_density_matrix(8, rng, rank=2) for _ in range(4)]
    serial = [s.copy(order="F") for s in states]
    for s in serial:
        run_sequence(s, channels)
    threads = [threading.Thread(target=run_sequence, args=(s, channels)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s, want in zip(states, serial):
        assert np.max(np.abs(s - want)) < 1e-12


def layered_qasm(n, layers):
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f'qreg q[{n}];']
    for layer in range(layers):
        lines += [f'ry({0.1 + 0.05 * q + 0.3 * layer:.3f}) q[{q}];' for q in range(n)]
        lines += [f'cx q[{q}], q[{q + 1}];' for q in range(n - 1)]
    return "\n".join(lines) + "\n"


def test_runs_release_the_gil():
    # A Python thread keeps counting while simulate, gradient and zne run: they release the GIL.
    # Holding it, the counter would gain at most one switch interval's worth (5 ms) during the call;
    # released, it counts for a good part of the call's duration (shared with the kernels' threads).
    circuit = kraus.Circuit.from_qasm(layered_qasm(10, 8))
    model = kraus.NoiseModel.from_json({"gate_noise": [
        {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.01}},
        {"gates": ["cx"], "channel": {"type": "depolarizing", "num_qubits": 2, "p": 0.02}}]})
    calls = [lambda: kraus.simulate(circuit, model, observables="Z0 Z9", method="density-matrix"),
             lambda: kraus.simulate(circuit, model, observables="Z0 Z9", method="trajectories", trajectories=1024),
             lambda: kraus.zne(circuit, "Z0 Z9", model, scaling="scale-noise"),
             lambda: kraus.gradient(circuit, "Z0 Z9", noise=model)]
    count = [0]
    done = threading.Event()

    def counter():
        while not done.is_set():
            count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        c0 = count[0]
        time.sleep(0.05)
        rate = (count[0] - c0) / 0.05  # increments per second while this thread waits
        for call in calls:
            start = time.perf_counter()
            c0 = count[0]
            result = call()
            during = count[0] - c0
            seconds = time.perf_counter() - start
            assert seconds > 0.05, seconds  # long enough to tell
            assert during > rate * max(0.025, 0.1 * seconds), (during, rate, seconds)
            assert str(result) == str(call())  # and the same result again
    finally:
        done.set()
        t.join()
