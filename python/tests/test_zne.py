"""kraus.zne: equal to `kraus simulate --zne-*`'s "mitigated" block, Richardson recomputed in numpy
from the raw values, and an analytic case where exponential extrapolation is exact."""
import numpy as np
import pytest

import kraus
from cli import ROOT, assert_same, run_error, run_json

MIRROR = ROOT / "docs" / "examples" / "mirror.qasm"
DEPOL = ROOT / "docs" / "examples" / "depolarizing.json"


@pytest.mark.parametrize("scaling,extrapolator,scales", [("fold-global", "richardson", [1, 2, 3]),
                                                         ("fold-random", "linear", [1, 1.5, 3]),
                                                         ("scale-noise", "exp", [1, 2, 3, 4])])
def test_equals_cli(scaling, extrapolator, scales):
    js = run_json("simulate", MIRROR, "--noise", DEPOL, "--observable", "Z0", "--observable", "0.5*Z0 Z1 + X1",
                  "--zne-scales", ",".join(map(str, scales)), "--zne-method", scaling,
                  "--zne-extrapolator", extrapolator, "--zne-seed", 4)
    z = kraus.zne(kraus.Circuit.from_qasm(MIRROR), ["Z0", "0.5*Z0 Z1 + X1"], kraus.NoiseModel.from_json(DEPOL),
                  scale_factors=scales, scaling=scaling, extrapolator=extrapolator, seed=4)
    for label, block in js["mitigated"].items():
        got = dict(z[label])
        assert got.pop("method") == scaling
        assert isinstance(got.pop("warnings"), list)
        weights = got.pop("weights", None)
        if extrapolator != "exp":
            assert abs(weights @ got["noisy_values"] - got["value"]) < 1e-12
        assert_same(got, block, tol=1e-12)


def test_richardson_in_numpy_and_single_observable():
    circuit = kraus.Circuit.from_qasm(MIRROR)
    model = kraus.NoiseModel.from_json(DEPOL)
    z = kraus.zne(circuit, "Z0", model, scale_factors=[1, 3, 5])
    s, e = z["realized_scale_factors"], z["noisy_values"]
    assert np.allclose(s, [1, 3, 5])
    # Lagrange interpolation through (s_j, E_j) evaluated at 0.
    want = sum(e[j] * np.prod([s[k] / (s[k] - s[j]) for k in range(3) if k != j]) for j in range(3))
    assert z["value"] == pytest.approx(want, abs=1e-12)
    # The raw value at scale 1 is the plain noisy expectation.
    plain = kraus.simulate(circuit, model, observables="Z0", method="density-matrix")["expectations"]["Z0"]
    assert e[0] == pytest.approx(plain, abs=1e-12)
    ideal = np.cos(0.4)  # mirror.qasm: noiselessly <Z0> = cos 0.4
    assert abs(z["value"] - ideal) < abs(plain - ideal)  # mitigation helps


def test_exponential_decay_is_extrapolated_exactly():
    # x then x again under depolarising p after each x: <Z0> = (1 - 4p/3)^(2s) at scale s (global
    # folding multiplies the gates by s); exp:0 fits a b^s exactly, so the value is the ideal 1.
    circuit = kraus.Circuit.from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nx q[0];\nx q[0];\n')
    p = 0.05
    model = kraus.NoiseModel.from_json({"gate_noise": [{"gates": ["x"], "channel": {"type": "depolarizing", "p": p}}]})
    z = kraus.zne(circuit, "Z0", model, scale_factors=[1, 2, 3], extrapolator="exp:0")
    assert np.allclose(z["noisy_values"], [(1 - 4 * p / 3) ** (2 * s) for s in (1, 2, 3)], atol=1e-12)
    assert z["value"] == pytest.approx(1, abs=1e-10)
    linear = kraus.zne(circuit, "Z0", model, scale_factors=[1, 2, 3], extrapolator="linear")
    assert abs(linear["value"] - 1) > 1e-4  # a line cannot fit the decay exactly


def test_refusals():
    circuit = kraus.Circuit.from_qasm(MIRROR)
    model = kraus.NoiseModel.from_json(DEPOL)
    with pytest.raises(ValueError) as e:
        kraus.zne(circuit, "Z0", model, extrapolator="cubic")
    assert str(e.value) in run_error("simulate", MIRROR, "--noise", DEPOL, "--observable", "Z0",
                                     "--zne-extrapolator", "cubic")
    with pytest.raises(ValueError) as e:
        kraus.zne(circuit, "Z0", model, scale_factors=[0.5, 2])
    assert str(e.value)
    with pytest.raises(ValueError, match="needs a noise model"):
        kraus.zne(circuit, "Z0", scaling="scale-noise")
    with pytest.raises(ValueError, match="at least one observable"):
        kraus.zne(circuit, [], model)


def test_gradient_of_the_mitigated_value():
    # With scale-noise and a linear extrapolator the mitigated value is sum_j w_j E(theta; s_j), so
    # its gradient is sum_j w_j dE/dtheta under the model scaled by s_j: against differences of zne.
    circuit = kraus.Circuit.from_qasm(ROOT / "docs" / "examples" / "ansatz.qasm")
    ibm = ROOT / "tests" / "data" / "noise" / "ibm"
    device = kraus.NoiseModel.from_device(ibm / "props_manila.json", ibm / "conf_manila.json")

    def mitigated(theta):
        return kraus.zne(circuit, "Z0 Z1", device, parameters=[theta], scaling="scale-noise")

    z = mitigated(0.4)
    grad = sum(w * kraus.gradient(circuit, "Z0 Z1", [0.4], noise=device.scaled(s))["gradient"]
               for w, s in zip(z["weights"], z["scale_factors"]))
    h = 1e-5
    diff = (mitigated(0.4 + h)["value"] - mitigated(0.4 - h)["value"]) / (2 * h)
    assert grad.shape == (1,) and grad[0] == pytest.approx(diff, abs=1e-8)


def test_device_model_equals_cli(tmp_path):
    # A device model (coupling map: the command checks the circuit against it) on the docs' ansatz.
    import json
    ibm = ROOT / "tests" / "data" / "noise" / "ibm"
    converted = tmp_path / "manila.json"
    converted.write_text(json.dumps(run_json("noise", "convert", ibm / "props_manila.json", "--from", "ibm",
                                             "--conf", ibm / "conf_manila.json")))
    params = tmp_path / "theta.json"
    params.write_text('{"theta": 0.4}')
    ansatz = ROOT / "docs" / "examples" / "ansatz.qasm"
    for scaling in ("scale-noise", "fold-global"):
        js = run_json("simulate", ansatz, "--parameters", params, "--noise", converted, "--observable", "Z0 Z1",
                      "--zne-method", scaling)
        z = kraus.zne(kraus.Circuit.from_qasm(ansatz), "Z0 Z1",
                      kraus.NoiseModel.from_device(ibm / "props_manila.json", ibm / "conf_manila.json"),
                      parameters={"theta": 0.4}, scaling=scaling)
        for key in ("method", "warnings", "weights"):
            z.pop(key)
        assert_same(z, js["mitigated"]["Z0 Z1"], tol=1e-12)
