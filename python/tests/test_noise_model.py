"""kraus.NoiseModel: kraus' JSON (files and dicts), Qiskit Aer dicts, errors with the C++ message."""
import json
import pathlib

import numpy as np
import pytest

import kraus
import reference as ref

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOISE = ROOT / "tests" / "data" / "noise"


def test_from_file_and_dict_agree():
    path = ROOT / "docs" / "examples" / "depolarizing.json"
    a = kraus.NoiseModel.from_json(str(path))
    b = kraus.NoiseModel.from_json(path)  # os.PathLike
    c = kraus.NoiseModel.from_json(json.loads(path.read_text()))
    assert a.to_json() == b.to_json() == c.to_json() == json.loads(path.read_text())
    assert repr(a) == "NoiseModel(gate_rules=2, idle_noise=False, readout=0)"
    [(channel, qubits)] = a.channels_after("h", [2])
    assert qubits == [2]
    p = 0.01
    ops = [np.sqrt(1 - p) * ref.I2, np.sqrt(p / 3) * ref.X, np.sqrt(p / 3) * ref.Y, np.sqrt(p / 3) * ref.Z]
    assert np.max(np.abs(channel.superoperator() - ref.superoperator(ops))) < 1e-12
    assert a.channels_after("x", [0]) == []


def test_round_trip_and_scaled():
    d = {"gate_noise": [{"gates": ["cx"], "qubits": [0, 1],
                         "channel": {"type": "depolarizing", "p": 0.1, "num_qubits": 2}},
                        {"gates": ["h"], "channel": {"type": "amplitude_damping", "gamma": 0.1}}],
         "readout": [{"qubits": [0], "p1_given_0": 0.01, "p0_given_1": 0.02}]}
    model = kraus.NoiseModel.from_json(d)
    again = kraus.NoiseModel.from_json(model.to_json())
    assert again.to_json() == model.to_json()
    assert kraus.NoiseModel.from_json_string(model.to_json_string()).to_json() == model.to_json()
    assert model.scaled(2.0).to_json()["gate_noise"][0]["channel"]["p"] == pytest.approx(0.2)


def test_aer_dict_round_trip():
    d = {"gate_noise": [{"gates": ["cx"], "qubits": [0, 1],
                         "channel": {"type": "depolarizing", "p": 0.1, "num_qubits": 2}},
                        {"gates": ["h"], "channel": {"type": "amplitude_damping", "gamma": 0.1}}],
         "readout": [{"qubits": [0], "p1_given_0": 0.01, "p0_given_1": 0.02}]}
    model = kraus.NoiseModel.from_json(d)
    aer = model.to_aer_dict(num_qubits=2)
    assert {e["type"] for e in aer["errors"]} == {"qerror", "roerror"}
    back = kraus.NoiseModel.from_aer_dict(aer)
    assert kraus.NoiseModel.from_json(aer).to_json() == back.to_json()  # from_json recognises Aer's form
    for gate, qubits in (("cx", [0, 1]), ("cx", [1, 0]), ("h", [1])):
        [(want, _)] = model.channels_after(gate, qubits)
        [(got, got_qubits)] = back.channels_after(gate, qubits)
        assert got_qubits == qubits
        assert np.max(np.abs(got.superoperator() - want.superoperator())) < 1e-12


def test_bad_models_raise_value_error_with_the_cpp_message():
    with pytest.raises(ValueError, match=r"bad_syntax\.json:3:21: invalid JSON"):
        kraus.NoiseModel.from_json(NOISE / "bad_syntax.json")
    with pytest.raises(ValueError, match=r"gate_noise\[2\]\.channel\.p: 1\.5 is outside \[0, 1\] for a depolarizing"):
        kraus.NoiseModel.from_json(NOISE / "bad_out_of_range.json")
    with pytest.raises(ValueError, match="cannot open the noise model file"):
        kraus.NoiseModel.from_json(NOISE / "does_not_exist.json")
    with pytest.raises(ValueError, match=r"<dict>: gate_noise\[0\]\.channel\.type: unknown channel type 'nope'"):
        kraus.NoiseModel.from_json({"gate_noise": [{"gates": ["h"], "channel": {"type": "nope"}}]})
    with pytest.raises(ValueError, match="the dict is not JSON"):
        kraus.NoiseModel.from_json({"gate_noise": float("nan")})
    with pytest.raises(ValueError, match="expected a path"):
        kraus.NoiseModel.from_json(42)
    with pytest.raises(ValueError, match="give the depolarizing channel's num_qubits"):
        kraus.NoiseModel.from_json({"gate_noise": [{"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.1}}]}
                                   ).to_aer_dict(2)
