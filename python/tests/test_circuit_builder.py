"""Circuits built gate by gate equal the same program read from OpenQASM (simulate and gradient)."""
import numpy as np
import pytest

import kraus

QASM = """OPENQASM 2.0;
include "qelib1.inc";
input float[64] theta;
input float[64] phi;
qreg q[2];
creg c[2];
h q[0];
ry(theta) q[0];
rx(2*phi - 0.3) q[1];
cx q[0], q[1];
rzz(0.25) q[0], q[1];
ry(0.5*phi + 0.2) q[1];
measure q -> c;
"""


def built():
    return (kraus.Circuit(2, 2).h(0).ry("theta", 0).rotation("rx", [1], "phi", coeff=2, offset=-0.3)
            .cx(0, 1).rzz(0.25, 0, 1).rotation("ry", [1], "phi", coeff=0.5, offset=0.2).measure(0, 0).measure(1, 1))


def test_built_equals_qasm():
    a, b = built(), kraus.Circuit.from_qasm(QASM)
    assert a.parameter_names == b.parameter_names == ["theta", "phi"]
    assert (a.num_qubits, a.num_clbits, a.num_operations) == (2, 2, 8)
    model = kraus.NoiseModel.from_json({"gate_noise": [
        {"gates": ["cx"], "channel": {"type": "depolarizing", "num_qubits": 2, "p": 0.05}},
        {"gates": ["ry", "rx"], "channel": {"type": "amplitude_damping", "gamma": 0.03}}]})
    params = {"theta": 0.7, "phi": -0.4}
    ra = kraus.simulate(a, model, observables=["Z0 Z1", "X1"], parameters=params, shots=100, seed=3)
    rb = kraus.simulate(b, model, observables=["Z0 Z1", "X1"], parameters=params, shots=100, seed=3)
    assert np.max(np.abs(ra["probabilities"] - rb["probabilities"])) < 1e-12
    assert ra["counts"] == rb["counts"]
    ga = kraus.gradient(a, ["Z0 Z1", "X1"], params, noise=model)
    gb = kraus.gradient(b, ["Z0 Z1", "X1"], params, noise=model)
    assert np.max(np.abs(ga["gradient"] - gb["gradient"])) < 1e-12
    assert np.max(np.abs(ga["gradient"])) > 0.05


def test_builder_refusals():
    c = kraus.Circuit(2)
    with pytest.raises(ValueError, match="unknown gate 'foo'"):
        c.gate("foo", [0])
    with pytest.raises(ValueError, match="not a Pauli rotation"):
        c.rotation("h", [0], "a")
    with pytest.raises(ValueError, match="qubit 5 is out of range"):
        c.cx(0, 5)
    with pytest.raises(ValueError, match="qubit 7 is out of range"):
        c.ry("a", 7)
    assert c.parameter_names == [] and c.num_operations == 0  # refused calls leave nothing
    with pytest.raises(ValueError, match="the circuit has parameters"):
        kraus.simulate(c.ry("a", 0))
