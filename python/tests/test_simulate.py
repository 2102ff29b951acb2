"""kraus.Circuit.from_qasm and kraus.simulate (density matrix) against numpy references."""
import numpy as np
import pytest

import kraus
import reference as ref

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
h q[0];
cx q[0], q[2];
"""


def depolarizing_ops(p, k):
    others = [lbl for lbl in ref.all_paulis(k) if set(lbl) != {"I"}]
    return [np.sqrt(1 - p) * np.eye(1 << k)] + [np.sqrt(p / (4 ** k - 1)) * ref.pauli_string(lbl) for lbl in others]


def test_noisy_bell_state_against_numpy():
    circuit = kraus.Circuit.from_qasm(BELL)
    assert (circuit.num_qubits, circuit.num_operations) == (3, 2)
    model = kraus.NoiseModel.from_json({"gate_noise": [
        {"gates": ["h"], "channel": {"type": "amplitude_damping", "gamma": 0.1}},
        {"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.05}}]})
    rho = np.zeros((8, 8), dtype=complex)
    rho[0, 0] = 1
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    rho = ref.apply_kraus(rho, [h], [0])
    rho = ref.apply_kraus(rho, [np.diag([1, np.sqrt(0.9)]), np.sqrt(0.1) * np.array([[0, 1], [0, 0]])], [0])
    cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])
    rho = ref.apply_kraus(rho, [cx], [0, 2])
    rho = ref.apply_kraus(rho, depolarizing_ops(0.05, 2), [0, 2])
    result = kraus.simulate(circuit, noise=model, density_matrix=True)
    assert result["method"]["name"] == "density-matrix"
    dm = result["density_matrix"]
    assert isinstance(dm, kraus.DensityMatrix)
    assert np.max(np.abs(result["probabilities"] - np.diag(rho).real)) < 1e-12
    assert np.max(np.abs(dm.array - rho)) < 1e-12
    zz = ref.kron_qubits([ref.Z, ref.I2, ref.Z])
    x0 = ref.kron_qubits([ref.X, ref.I2, ref.I2])
    values = np.array(list(kraus.simulate(circuit, noise=model, observables=["Z0 Z2", "0.5*X0 X2 - Z1", "X0"])
                           ["expectations"].values()))
    xx = ref.kron_qubits([ref.X, ref.I2, ref.X])
    z1 = ref.kron_qubits([ref.I2, ref.Z, ref.I2])
    want = [np.trace(zz @ rho).real, np.trace((0.5 * xx - z1) @ rho).real, np.trace(x0 @ rho).real]
    assert np.max(np.abs(values - want)) < 1e-12
    noiseless = kraus.simulate(circuit, observables=["Z0 Z2"], method="density-matrix")
    assert noiseless["expectations"]["Z0 Z2"] == pytest.approx(1, abs=1e-12)


def test_readme_value(tmp_path):
    # README: h, rz(0.5), h under docs/examples/depolarizing.json: <Z> = (1 - 4p/3)^3 cos 0.5.
    path = tmp_path / "rx.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[0];\nrz(0.5) q[0];\nh q[0];\n')
    import pathlib
    model = kraus.NoiseModel.from_json(pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples" / "depolarizing.json")
    value = kraus.simulate(kraus.Circuit.from_qasm(path), noise=model, observables="Z0")["expectations"]["Z0"]
    assert value == pytest.approx((1 - 4 * 0.01 / 3) ** 3 * np.cos(0.5), abs=1e-12)


def test_refusals():
    with pytest.raises(ValueError, match=r"<string>:3"):
        kraus.Circuit.from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2]\nh q[0];\n')
    with pytest.raises(ValueError, match="nope.qasm"):
        kraus.Circuit.from_qasm("nope.qasm")
    circuit = kraus.Circuit.from_qasm(BELL)
    with pytest.raises(ValueError, match="not a gate"):
        kraus.simulate(circuit, noise=kraus.NoiseModel.from_json(
            {"gate_noise": [{"gates": ["CNOT"], "channel": {"type": "depolarizing", "p": 0.1}}]}))
    with pytest.raises(ValueError, match="acts on qubit 5 but the circuit has 3"):
        kraus.simulate(circuit, observables=["Z5"])
    with pytest.raises(ValueError, match="observables must be a list of strings"):
        kraus.simulate(circuit, observables=[1])
    with pytest.raises(ValueError, match="Pauli factor 'Q0'"):
        kraus.simulate(circuit, observables=["Q0"])
    with pytest.raises(ValueError, match="has no density matrix"):
        kraus.simulate(circuit, method="trajectories", density_matrix=True)
