"""States of 8 qubits (kraus' OpenMP-parallel kernel paths) and calls from several Python threads
at once (every kernel call releases the GIL): same results as the numpy reference and as serial."""
import threading

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
