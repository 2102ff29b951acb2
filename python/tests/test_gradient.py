"""kraus.gradient: against central differences of kraus.simulate's expectations (computed here),
and equal to `kraus gradient`'s JSON for the same inputs."""
import numpy as np
import pytest

import kraus
from cli import ROOT, run_error, run_json

DATA = ROOT / "tests" / "data" / "cli"
OBS = ["Z0 Z1", "0.5*X0 - Y1"]
PARAMS = {"theta": 0.7, "phi": -0.4}


@pytest.fixture(scope="module")
def circuit():
    return kraus.Circuit.from_qasm(DATA / "gradient_circuit.qasm")


@pytest.fixture(scope="module")
def model():
    return kraus.NoiseModel.from_json(DATA / "gradient_noise.json")


def expectations(circuit, model, theta):
    e = kraus.simulate(circuit, model, observables=OBS, parameters=list(theta), method="density-matrix")
    return np.array([e["expectations"][o] for o in OBS])


def test_against_differences_of_simulate(circuit, model):
    assert circuit.parameter_names == ["theta", "phi"]
    theta = np.array([0.7, -0.4])
    g = kraus.gradient(circuit, OBS, {"theta": 0.7, "phi": -0.4}, noise=model)
    assert g["value"].shape == (2,) and g["gradient"].shape == (2, 2)
    assert np.max(np.abs(g["value"] - expectations(circuit, model, theta))) < 1e-12
    h = 1e-5
    for p in range(2):
        step = np.zeros(2)
        step[p] = h
        diff = (expectations(circuit, model, theta + step) - expectations(circuit, model, theta - step)) / (2 * h)
        assert np.max(np.abs(g["gradient"][:, p] - diff)) < 1e-8
    assert np.max(np.abs(g["gradient"])) > 0.05  # not a trivial zero


@pytest.mark.parametrize("method", ["adjoint", "parameter-shift", "finite-difference"])
def test_equals_cli(circuit, model, method):
    js = run_json("gradient", DATA / "gradient_circuit.qasm", "--parameters", DATA / "gradient_parameters.json",
                  "--noise", DATA / "gradient_noise.json", "--observable", OBS[0], "--observable", OBS[1],
                  "--method", method)
    g = kraus.gradient(circuit, OBS, [0.7, -0.4], noise=model, method=method)
    assert g["method"] == js["method"] == method
    assert g["parameters"] == js["parameters"]
    for i, entry in enumerate(js["observables"]):
        assert abs(g["value"][i] - entry["value"]) <= 1e-12
        assert np.max(np.abs(g["gradient"][i] - [entry["gradient"]["theta"], entry["gradient"]["phi"]])) <= 1e-12
    assert g["circuit_evaluations"] == js["circuit_evaluations"]
    assert g["noise_coverage"] == js["noise_coverage"] and g["warnings"] == js["warnings"]
    if method == "finite-difference":
        assert g["step"] == js["step"]


def test_trajectories_equal_cli_exactly(circuit, model):
    js = run_json("gradient", DATA / "gradient_circuit.qasm", "--parameters", DATA / "gradient_parameters.json",
                  "--noise", DATA / "gradient_noise.json", "--observable", OBS[0], "--observable", OBS[1],
                  "--trajectories", 256, "--seed", 3)
    g = kraus.gradient(circuit, OBS, PARAMS, noise=model, trajectories=256, seed=3)
    assert g["trajectories"] == js["trajectories"] and "circuit_evaluations" not in g
    for i, entry in enumerate(js["observables"]):
        assert g["value"][i] == entry["value"] and g["value_stderr"][i] == entry["value_stderr"]
        assert list(g["gradient"][i]) == [entry["gradient"]["theta"], entry["gradient"]["phi"]]
        assert list(g["gradient_stderr"][i]) == [entry["gradient_stderr"]["theta"], entry["gradient_stderr"]["phi"]]
    # Unbiased: within a few standard errors of the exact gradient.
    exact = kraus.gradient(circuit, OBS, PARAMS, noise=model)
    assert np.all(np.abs(g["gradient"] - exact["gradient"]) < 5 * g["gradient_stderr"] + 1e-12)
    with pytest.raises(ValueError, match="estimates the adjoint gradient"):
        kraus.gradient(circuit, OBS, PARAMS, method="parameter-shift", trajectories=10)


def test_single_observable_and_noiseless(circuit):
    g = kraus.gradient(circuit, "Z0", {"theta": 0.3, "phi": 0.1})
    # Z0 after h, ry(theta) on |0>: <Z> = -sin(theta) (the rest acts on q1 or commutes with Z0).
    assert isinstance(g["value"], float)
    assert g["value"] == pytest.approx(-np.sin(0.3), abs=1e-12)
    assert np.allclose(g["gradient"], [-np.cos(0.3), 0.0], atol=1e-12)


def test_refusals(circuit):
    with pytest.raises(ValueError, match="method must be"):
        kraus.gradient(circuit, "Z0", [0, 0], method="backprop")
    with pytest.raises(ValueError, match="missing a value for 'phi'"):
        kraus.gradient(circuit, "Z0", {"theta": 0})
    with pytest.raises(ValueError, match="parameters must be numbers"):
        kraus.gradient(circuit, "Z0", {"theta": "x", "phi": 0})
    with pytest.raises(ValueError, match="parameters must be finite"):
        kraus.gradient(circuit, "Z0", np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="2 values for 2|3 values for 2"):
        kraus.gradient(circuit, "Z0", [0, 0, 0])
    with pytest.raises(ValueError, match="step is for method='finite-difference'"):
        kraus.gradient(circuit, "Z0", [0, 0], step=1e-3)
    with pytest.raises(ValueError) as e:
        kraus.gradient(circuit, "Z0 W1", [0, 0])
    assert str(e.value) in run_error("gradient", DATA / "gradient_circuit.qasm", "--parameters",
                                     DATA / "gradient_parameters.json", "--observable", "Z0 W1")
