"""Every channel of kraus' table, applied in place through Python, against numpy applying the
channel's textbook Kraus operators (reference.py); the conversions against numpy formulas."""
import zlib

import numpy as np
import pytest

import kraus
import reference as ref

TOL = 1e-12


def textbook_channels():
    """(name, kraus channel, Kraus operators written from the formulas in channel_table.hpp)."""
    out = []
    p = 0.23
    for k in (1, 2):
        others = [lbl for lbl in ref.all_paulis(k) if set(lbl) != {"I"}]
        ops = [np.sqrt(1 - p) * np.eye(1 << k)] + [np.sqrt(p / (4 ** k - 1)) * ref.pauli_string(lbl) for lbl in others]
        out.append((f"depolarizing{k}", kraus.depolarizing(p, num_qubits=k), ops))
    g = 0.37
    out.append(("amplitude_damping", kraus.amplitude_damping(gamma=g),
                [np.diag([1, np.sqrt(1 - g)]), np.sqrt(g) * np.array([[0, 1], [0, 0]])]))
    e = 0.2
    out.append(("generalized_amplitude_damping", kraus.generalized_amplitude_damping(g, excited_population=e),
                [np.sqrt(1 - e) * np.diag([1, np.sqrt(1 - g)]),
                 np.sqrt(1 - e) * np.sqrt(g) * np.array([[0, 1], [0, 0]]),
                 np.sqrt(e) * np.diag([np.sqrt(1 - g), 1]),
                 np.sqrt(e) * np.sqrt(g) * np.array([[0, 0], [1, 0]])]))
    lam = 0.41
    out.append(("phase_damping", kraus.phase_damping(lam=lam),
                [np.diag([1, np.sqrt(1 - lam)]), np.diag([0, np.sqrt(lam)])]))
    for name, fn, pauli in (("bit_flip", kraus.bit_flip, ref.X), ("phase_flip", kraus.phase_flip, ref.Z),
                            ("bit_phase_flip", kraus.bit_phase_flip, ref.Y)):
        out.append((name, fn(p=0.3), [np.sqrt(0.7) * ref.I2, np.sqrt(0.3) * pauli]))
    px, py, pz = 0.1, 0.05, 0.2
    out.append(("pauli1", kraus.pauli_channel({"X": px, "Y": py, "Z": pz}),
                [np.sqrt(1 - px - py - pz) * ref.I2, np.sqrt(px) * ref.X, np.sqrt(py) * ref.Y, np.sqrt(pz) * ref.Z]))
    # Character j acts on the j-th qubit: "XZ" is X on the first (least significant) qubit.
    out.append(("pauli2", kraus.pauli_channel({"XZ": 0.3, "YI": 0.1}),
                [np.sqrt(0.6) * np.eye(4), np.sqrt(0.3) * np.kron(ref.Z, ref.X), np.sqrt(0.1) * np.kron(ref.I2, ref.Y)]))
    p0, p1 = 0.2, 0.15
    q = 1 - p0 - p1
    out.append(("reset", kraus.reset_channel(p0=p0, p1=p1),
                [np.sqrt(q) * ref.I2, np.sqrt(p0) * np.diag([1, 0]), np.sqrt(p0) * np.array([[0, 1], [0, 0]]),
                 np.sqrt(p1) * np.array([[0, 0], [1, 0]]), np.sqrt(p1) * np.diag([0, 1])]))
    a = 0.7
    for axis, pauli in (("x", ref.X), ("y", ref.Y), ("z", ref.Z)):
        out.append((f"overrotation_{axis}", kraus.coherent_overrotation(axis=axis, angle=a),
                    [np.cos(a / 2) * ref.I2 - 1j * np.sin(a / 2) * pauli]))
    # Thermal relaxation: the map as documented, Kraus operators from its Choi matrix (numpy's eigh).
    t1, t2, t, e = 50.0, 30.0, 12.0, 0.1
    pr = 1 - np.exp(-t / t1)

    def relax(b):
        return np.array([[(1 - e * pr) * b[0, 0] + (1 - e) * pr * b[1, 1], np.exp(-t / t2) * b[0, 1]],
                         [np.exp(-t / t2) * b[1, 0], e * pr * b[0, 0] + (1 - (1 - e) * pr) * b[1, 1]]])
    out.append(("thermal_relaxation", kraus.thermal_relaxation(t1=t1, t2=t2, time=t, excited_population=e),
                ref.kraus_from_choi(ref.choi_from_map(relax, 2))))
    rng = np.random.default_rng(11)
    for k, count in ((1, 3), (2, 2), (2, 5), (3, 2)):
        ops = ref.random_kraus(k, count, rng)
        out.append((f"kraus{k}x{count}", kraus.Channel.from_kraus(ops), ops))
    u = ref.random_unitary(4, rng)
    out.append(("unitary2", kraus.Channel.from_unitary(u), [u]))
    return out


CHANNELS = textbook_channels()
QUBIT_CHOICES = {1: [[0], [2], [3]], 2: [[0, 1], [1, 0], [0, 3], [3, 1], [2, 0]], 3: [[0, 2, 3], [3, 0, 1], [2, 1, 0]]}


def test_table_is_covered():
    # Every type of the C++ table has a builder tested here (tensor and kraus through Channel methods).
    names = {t["name"] for t in kraus.channel_types()}
    assert names == {"depolarizing", "amplitude_damping", "generalized_amplitude_damping", "phase_damping",
                     "bit_flip", "phase_flip", "bit_phase_flip", "pauli", "thermal_relaxation", "reset",
                     "coherent_overrotation", "tensor", "kraus"}


def test_embedding_matches_kron():
    # The reference's embedding against plain Kronecker products (qubit 0 = least significant).
    a = ref.random_unitary(2, np.random.default_rng(1))
    assert np.allclose(ref.embed(a, [0], 3), np.kron(np.eye(4), a))
    assert np.allclose(ref.embed(a, [2], 3), np.kron(a, np.eye(4)))
    cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])  # controlled on the first qubit
    full = ref.embed(cx, [0, 1], 2)
    for basis in range(4):
        want = basis ^ 2 if basis & 1 else basis
        assert full[want, basis] == 1


@pytest.mark.parametrize("name,channel,ops", CHANNELS, ids=[c[0] for c in CHANNELS])
def test_same_channel_as_textbook(name, channel, ops):
    ops = [np.asarray(k, dtype=complex) for k in ops]
    assert channel.num_qubits == int(np.log2(ops[0].shape[0]))
    # The superoperator is unique: kraus' equals the one of the textbook Kraus operators.
    assert np.max(np.abs(channel.superoperator() - ref.superoperator(ops))) < TOL
    assert np.max(np.abs(ref.superoperator(channel.kraus()) - ref.superoperator(ops))) < TOL


@pytest.mark.parametrize("name,channel,ops", CHANNELS, ids=[c[0] for c in CHANNELS])
@pytest.mark.parametrize("n", [3, 4])
def test_apply_channel_density_matrix(name, channel, ops, n):
    rng = np.random.default_rng(zlib.crc32(f"{name}{n}".encode()))
    ops = [np.asarray(k, dtype=complex) for k in ops]
    for qubits in QUBIT_CHOICES[channel.num_qubits]:
        if max(qubits) >= n:
            continue
        rho = ref.random_density_matrix(n, rng)
        want = ref.apply_kraus(rho, ops, qubits)
        buffer = rho.copy(order="F")
        before = buffer.__array_interface__["data"][0]
        assert kraus.apply_channel(buffer, channel, qubits) is None
        assert buffer.__array_interface__["data"][0] == before
        assert np.max(np.abs(buffer - want)) < TOL, qubits
        # The same through a DensityMatrix wrapper.
        dm = kraus.DensityMatrix.from_array(rho)
        dm.apply_channel(channel, qubits=qubits)
        assert np.max(np.abs(dm.array - want)) < TOL


@pytest.mark.parametrize("n", [3, 4])
def test_unitary_channels_on_state_vectors(n):
    rng = np.random.default_rng(n)
    for k in (1, 2, 3):
        u = ref.random_unitary(1 << k, rng)
        for qubits in QUBIT_CHOICES[k]:
            if max(qubits) >= n:
                continue
            psi = ref.random_state(n, rng)
            want = ref.embed(u, qubits, n) @ psi
            buffer = psi.copy()
            kraus.apply_channel(buffer, kraus.Channel.from_unitary(u), qubits)
            assert np.max(np.abs(buffer - want)) < TOL
            buffer = psi.copy()
            kraus.apply_unitary(buffer, u, qubits)
            assert np.max(np.abs(buffer - want)) < TOL
            rho = np.asfortranarray(np.outer(psi, psi.conj()))
            kraus.apply_unitary(rho, u, qubits)
            assert np.max(np.abs(rho - np.outer(want, want.conj()))) < TOL
    u4 = ref.random_unitary(16, rng)  # 4-qubit unitaries: state vectors only
    psi = ref.random_state(4, rng)
    buffer = psi.copy()
    kraus.apply_unitary(buffer, u4, [2, 0, 3, 1])
    assert np.max(np.abs(buffer - ref.embed(u4, [2, 0, 3, 1], 4) @ psi)) < TOL


def test_gates():
    cx = kraus.gate_matrix("cx")
    assert np.array_equal(cx, np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]))
    theta = 0.3
    assert np.allclose(kraus.gate_matrix("rx", [theta]), np.cos(theta / 2) * ref.I2 - 1j * np.sin(theta / 2) * ref.X,
                       atol=TOL)
    assert "h" in kraus.gate_names()
    psi = kraus.StateVector(3)
    psi.apply_gate("h", [0])
    psi.apply_gate("cx", [0, 2])
    want = np.zeros(8, dtype=complex)
    want[0] = want[5] = 1 / np.sqrt(2)
    assert np.max(np.abs(psi.array - want)) < TOL
    rho = kraus.DensityMatrix(3)
    rho.apply_gate("h", [0])
    rho.apply_gate("cx", [0, 2])
    assert np.max(np.abs(rho.array - np.outer(want, want.conj()))) < TOL


def test_trajectory_step():
    rng = np.random.default_rng(5)
    channel = kraus.amplitude_damping(0.4)
    ops = [np.diag([1, np.sqrt(0.6)]), np.sqrt(0.4) * np.array([[0, 1], [0, 0]])]
    psi = ref.random_state(3, rng)
    branches = [ref.embed(k, [1], 3) @ psi for k in ops]
    p0 = np.vdot(branches[0], branches[0]).real
    for u, want in ((p0 - 1e-9, 0), (p0 + 1e-9, 1)):
        buffer = psi.copy()
        assert kraus.apply_trajectory_step(buffer, channel, [1], uniform=u) == want
        expected = branches[want] / np.linalg.norm(branches[want])
        assert np.max(np.abs(buffer - expected)) < TOL


def test_then_and_tensor():
    a, b = kraus.amplitude_damping(0.3), kraus.bit_flip(0.2)
    ka = [np.diag([1, np.sqrt(0.7)]), np.sqrt(0.3) * np.array([[0, 1], [0, 0]])]
    kb = [np.sqrt(0.8) * ref.I2, np.sqrt(0.2) * ref.X]
    assert np.max(np.abs(a.then(b).superoperator() - ref.superoperator([y @ x for x in ka for y in kb]))) < TOL
    # a on the first (least significant) qubit, b on the second.
    assert np.max(np.abs(a.tensor(b).superoperator() - ref.superoperator([np.kron(y, x) for x in ka for y in kb]))) < TOL


@pytest.mark.parametrize("name,channel,ops", CHANNELS, ids=[c[0] for c in CHANNELS])
def test_conversions_match_numpy(name, channel, ops):
    ops = [np.asarray(k, dtype=complex) for k in ops]
    assert np.max(np.abs(channel.choi() - ref.choi(ops))) < TOL
    assert np.max(np.abs(channel.ptm() - ref.ptm(ops))) < TOL
    # Round trip Kraus -> superoperator -> Choi -> PTM -> back.
    s = channel.superoperator()
    c1 = kraus.Channel.from_superoperator(s)
    c2 = kraus.Channel.from_choi(c1.choi())
    c3 = kraus.Channel.from_ptm(c2.ptm())
    c4 = kraus.Channel.from_kraus(c3.kraus())
    for c in (c1, c2, c3, c4):
        assert c.num_qubits == channel.num_qubits
        assert np.max(np.abs(c.superoperator() - s)) < TOL
    assert np.max(np.abs(c4.choi() - ref.choi(ops))) < TOL


def test_repr_and_kernel():
    assert repr(kraus.depolarizing(0.1)) == "Channel(num_qubits=1, kraus_operators=4, kernel='depolarizing')"
    assert kraus.coherent_overrotation("x", 0.1).kernel == "unitary"
    assert kraus.Channel.from_kraus(ref.random_kraus(2, 2, np.random.default_rng(0))).kernel == "superoperator"
    assert kraus.depolarizing_p_from_lambda(1, 0.4) == pytest.approx(0.3, abs=1e-15)
