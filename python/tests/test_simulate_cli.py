"""kraus.simulate returns the keys and values of `kraus simulate`'s JSON for the same inputs: the
exact methods to 1e-12, seeded trajectories and shots exactly."""
import numpy as np
import pytest

import kraus
from cli import ROOT, assert_same, run_error, run_json

DATA = ROOT / "tests" / "data"
GRAD = DATA / "cli" / "gradient_circuit.qasm"
NOISE = DATA / "cli" / "gradient_noise.json"
PARAMS = {"theta": 0.7, "phi": -0.4}
OBS = ["Z0 Z1", "0.5*X0 - Y1", "Z1"]


def obs_args(observables):
    return [a for o in observables for a in ("--observable", o)]


def without_provenance(js, explicit_method):
    js.pop("provenance")
    if explicit_method:
        js["method"].pop("reason")
    return js


def compare(py, js, tol, explicit_method=True):
    js = without_provenance(js, explicit_method)
    if explicit_method:
        py["method"].pop("reason")
    py.pop("density_matrix", None)
    assert_same(py, js, tol=tol)


@pytest.fixture(scope="module")
def circuit():
    return kraus.Circuit.from_qasm(GRAD)


@pytest.fixture(scope="module")
def model():
    return kraus.NoiseModel.from_json(NOISE)


def test_density_matrix_with_shots(circuit, model, tmp_path):
    params = DATA / "cli" / "gradient_parameters.json"
    js = run_json("simulate", GRAD, "--parameters", params, "--noise", NOISE, *obs_args(OBS),
                  "--method", "density-matrix", "--shots", 1000, "--seed", 7)
    py = kraus.simulate(circuit, model, observables=OBS, parameters=PARAMS, method="density-matrix",
                        shots=1000, seed=7)
    assert set(py["counts"]) == {"00", "01", "10", "11"} and sum(py["counts"].values()) == 1000
    assert py["probabilities"].shape == (4,) and py["probabilities"].dtype == np.float64
    compare(py, js, 1e-12)


def test_memory(circuit, model):
    params = DATA / "cli" / "gradient_parameters.json"
    js = run_json("simulate", GRAD, "--parameters", params, "--noise", NOISE, "--shots", 40, "--seed", 9, "--memory")
    py = kraus.simulate(circuit, model, parameters=PARAMS, shots=40, seed=9, memory=True)
    assert len(py["memory"]) == 40 and py["memory"] == js["memory"]
    compare(py, js, 1e-12, explicit_method=False)
    with pytest.raises(ValueError, match="memory=True needs shots"):
        kraus.simulate(circuit, model, parameters=PARAMS, memory=True)


def test_auto_and_readout_in_expectations(circuit):
    readout = kraus.NoiseModel.from_json(ROOT / "docs" / "examples" / "readout.json")
    js = run_json("simulate", GRAD, "--parameters", DATA / "cli" / "gradient_parameters.json", "--noise",
                  ROOT / "docs" / "examples" / "readout.json", *obs_args(OBS), "--readout-in-expectations",
                  "--shots", 500)
    py = kraus.simulate(circuit, readout, observables=OBS, parameters=[0.7, -0.4], readout_in_expectations=True,
                        shots=500)
    assert py["method"]["name"] == "density-matrix"
    compare(py, js, 1e-12, explicit_method=False)


@pytest.mark.parametrize("method", ["density-matrix", "trajectories"])
def test_readout_mitigation(circuit, method):
    readout = ROOT / "docs" / "examples" / "readout.json"
    extra = ["--trajectories", 200] if method == "trajectories" else []
    js = run_json("simulate", GRAD, "--parameters", DATA / "cli" / "gradient_parameters.json", "--noise", readout,
                  *obs_args(OBS), "--mitigate-readout", "--shots", 800, "--seed", 5, "--method", method, *extra)
    py = kraus.simulate(circuit, kraus.NoiseModel.from_json(readout), observables=OBS, parameters=PARAMS,
                        mitigate_readout=True, shots=800, seed=5, method=method,
                        trajectories=200 if extra else None)
    assert "Z0 Z1" in py["readout_mitigated"]["expectations"]
    assert "0.5*X0 - Y1" not in py["readout_mitigated"]["expectations"]
    compare(py, js, 1e-12 if method == "density-matrix" else 0.0)
    with pytest.raises(ValueError, match="needs a noise model with readout errors"):
        kraus.simulate(circuit, parameters=PARAMS, mitigate_readout=True)


def test_trajectories_seeded_exactly(circuit, model):
    js = run_json("simulate", GRAD, "--parameters", DATA / "cli" / "gradient_parameters.json", "--noise", NOISE,
                  *obs_args(OBS), "--method", "trajectories", "--trajectories", 300, "--shots", 450, "--seed", 11)
    py = kraus.simulate(circuit, model, observables=OBS, parameters=PARAMS, method="trajectories",
                        trajectories=300, shots=450, seed=11)
    assert py["trajectories"]["count"] == 300 and "expectation_stderr" in py and "probability_stderr" in py
    compare(py, js, 0.0)
    # Another seed gives other estimates (the comparison above can fail).
    other = kraus.simulate(circuit, model, observables=OBS, parameters=PARAMS, method="trajectories",
                           trajectories=300, seed=12)
    assert other["expectations"]["Z0 Z1"] != py["expectations"]["Z0 Z1"]


def test_classical_control_auto_trajectories():
    path = ROOT / "docs" / "examples" / "teleport.qasm"
    model = kraus.NoiseModel.from_json(ROOT / "docs" / "examples" / "depolarizing.json")
    js = run_json("simulate", path, "--noise", ROOT / "docs" / "examples" / "depolarizing.json",
                  "--observable", "Z2", "--shots", 200, "--trajectories", 100, "--seed", 3)
    py = kraus.simulate(kraus.Circuit.from_qasm(path), model, observables=["Z2"], shots=200, trajectories=100, seed=3)
    assert py["method"]["name"] == "trajectories"
    compare(py, js, 0.0, explicit_method=False)


def test_statevector_noiseless():
    path = DATA / "qasm" / "ghz5.qasm"
    js = run_json("simulate", path, "--observable", "Z0 Z4", "--observable", "X0 X1 X2 X3 X4", "--shots", 64)
    py = kraus.simulate(kraus.Circuit.from_qasm(path), observables=["Z0 Z4", "X0 X1 X2 X3 X4"], shots=64)
    assert py["method"]["name"] == "statevector"
    compare(py, js, 1e-12, explicit_method=False)
    assert py["expectations"]["X0 X1 X2 X3 X4"] == pytest.approx(1, abs=1e-12)


def test_device_model_against_cli(tmp_path):
    ibm = DATA / "noise" / "ibm"
    model = kraus.NoiseModel.from_device(ibm / "props_manila.json", ibm / "conf_manila.json")
    assert model.device_qubits == 5 and "manila" in repr(model)
    converted = tmp_path / "manila.json"
    converted.write_text(
        __import__("json").dumps(run_json("noise", "convert", ibm / "props_manila.json", "--from", "ibm", "--conf",
                                          ibm / "conf_manila.json")))
    assert kraus.NoiseModel.from_json(converted).to_json() == model.to_json()
    circuit = tmp_path / "c.qasm"
    circuit.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nsx q[0];\nrz(0.3) q[0];\n'
                       'cx q[0], q[1];\ncx q[1], q[2];\nx q[2];\nmeasure q -> c;\n')
    js = run_json("simulate", circuit, "--noise", converted, "--observable", "Z0 Z2", "--shots", 300, "--seed", 2)
    py = kraus.simulate(kraus.Circuit.from_qasm(circuit), model, observables=["Z0 Z2"], shots=300, seed=2)
    assert py["noise_coverage"]["cx"] == {"instances": 2, "with_noise": 2}
    compare(py, js, 1e-12, explicit_method=False)
    assert py["layout"]["swaps"] == 0 and "gate_counts" in py
    # Translated to the device's basis and routed (q0 and q2 are not coupled on manila).
    routed = tmp_path / "r.qasm"
    routed.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\nry(0.3) q[1];\n'
                      'cx q[0], q[1];\ncx q[1], q[2];\ncx q[0], q[2];\nmeasure q -> c;\n')
    js = run_json("simulate", routed, "--noise", converted, "--observable", "Z0 Z2", "--observable", "X1",
                  "--basis", "device", "--route", "--route-seed", 5, "--shots", 100)
    py = kraus.simulate(kraus.Circuit.from_qasm(routed), model, observables=["Z0 Z2", "X1"], basis="device",
                        route=True, route_seed=5, shots=100)
    assert py["layout"]["swaps"] >= 1 and "h" not in py["gate_counts"]["after"]
    compare(py, js, 1e-12, explicit_method=False)
    with pytest.raises(ValueError, match="coupl"):
        kraus.simulate(kraus.Circuit.from_qasm(routed), model, observables=["Z0 Z2"], basis="device")
    # The same model from dicts.
    import json
    as_dicts = kraus.NoiseModel.from_device(json.loads((ibm / "props_manila.json").read_text()),
                                            json.loads((ibm / "conf_manila.json").read_text()))
    assert as_dicts.to_json() == model.to_json()


def test_density_matrix_returned(circuit, model):
    py = kraus.simulate(circuit, model, parameters=PARAMS, density_matrix=True)
    rho = py["density_matrix"]
    assert isinstance(rho, kraus.DensityMatrix)
    assert np.allclose(np.diag(rho.array).real, py["probabilities"], atol=1e-12)
    assert py["trace"] == pytest.approx(1, abs=1e-12)


def test_refusals(circuit, model):
    with pytest.raises(ValueError, match="method must be"):
        kraus.simulate(circuit, parameters=PARAMS, method="magic")
    with pytest.raises(ValueError, match=r"the circuit has parameters \(theta, phi\)"):
        kraus.simulate(circuit)
    with pytest.raises(ValueError, match="no parameter 'psi'"):
        kraus.simulate(circuit, parameters={"theta": 1, "phi": 2, "psi": 3})
    with pytest.raises(ValueError, match="method 'statevector': the circuit has noise"):
        kraus.simulate(circuit, model, parameters=PARAMS, method="statevector")
    with pytest.raises(ValueError, match="trajectories must be in"):
        kraus.simulate(circuit, model, parameters=PARAMS, method="trajectories", trajectories=1)
    # The C++ message, as the command prints it.
    with pytest.raises(ValueError) as e:
        kraus.simulate(circuit, parameters=PARAMS, observables=["Q0"])
    assert str(e.value) in run_error("simulate", GRAD, "--parameters", DATA / "cli" / "gradient_parameters.json",
                                     "--observable", "Q0")
    with pytest.raises(ValueError, match="acts on qubit 4 but the circuit has 2 qubit"):
        kraus.simulate(circuit, parameters=PARAMS, observables=["Z4"])
    with pytest.raises(ValueError, match="<properties dict>: qubits: 1 qubits, but .*conf_manila.json: n_qubits is 5"):
        kraus.NoiseModel.from_device({"backend_name": "x", "qubits": [[]], "gates": [], "general": []},
                                     ROOT / "tests" / "data" / "noise" / "ibm" / "conf_manila.json")
