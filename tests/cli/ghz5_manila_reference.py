#!/usr/bin/python3
"""Independent reference for GHZ-5 on ibmq_manila under Qiskit Aer's NoiseModel.from_backend noise.

Usage: python3 ghz5_manila_reference.py PROPS.json

Reads the BackendProperties JSON (props_manila.json) itself and uses nothing of kraus: the circuit

    h q[0]; cx q[0],q[1]; cx q[1],q[2]; cx q[2],q[3]; cx q[3],q[4]; measure q -> c;

in manila's basis (h = rz(pi/2) sx rz(pi/2); manila is the line 0-1-2-3-4, so no swap) runs on a
dense 32 x 32 density matrix. After each sx and cx instance comes Aer's error at temperature 0
(qiskit_aer/noise/device/models.py): a depolarising error, then thermal relaxation of each gate
qubit for the gate's length, the depolarising parameter chosen so that the composed channel's
average gate infidelity is gate_error (lambda = d (e - r) / (d F_relax - 1), e clipped to d/(d+1),
lambda to 4^k/(4^k - 1); none when gate_error <= r = 1 - F_relax). rz has zero length and error: no
noise. Readout: per-qubit confusion from prob_meas1_prep0 / prob_meas0_prep1 (else readout_error).
Prints {"probabilities": [p_0, ..., p_31]}, index bit q = qubit q.
"""

import json
import math
import sys

import numpy as np

NANOSECONDS = {"s": 1e9, "ms": 1e6, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, "ns": 1.0}
N = 5
PAULIS = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]


def entry(entries, name):
    for e in entries:
        if e["name"] == name:
            return e
    return None


def nanoseconds(e):
    return e["value"] * NANOSECONDS[e["unit"]]


def embed(op, qubits, n=N):
    """The n-qubit operator of `op` on `qubits` (bit j of op's index is qubits[j]; qubit q is bit q)."""
    dim = 2 ** n
    full = np.zeros((dim, dim), dtype=complex)
    mask = sum(1 << q for q in qubits)
    for r in range(dim):
        for c in range(dim):
            if (r & ~mask) != (c & ~mask):
                continue
            a = sum(((r >> q) & 1) << j for j, q in enumerate(qubits))
            b = sum(((c >> q) & 1) << j for j, q in enumerate(qubits))
            full[r, c] = op[a, b]
    return full


def relaxation_kraus(t1, t2, t):
    """Zero-temperature relaxation: amplitude damping 1 - exp(-t/T1), then phase damping to exp(-t/T2)."""
    gamma = 1 - math.exp(-t / t1)
    lam = 1 - math.exp(-2 * t / t2 + t / t1)
    damp = [np.array([[1, 0], [0, math.sqrt(1 - gamma)]]), np.array([[0, math.sqrt(gamma)], [0, 0]])]
    dephase = [np.array([[1, 0], [0, math.sqrt(1 - lam)]]), np.array([[0, 0], [0, math.sqrt(lam)]])]
    return [p @ a for p in dephase for a in damp]


def apply_kraus(rho, ops, qubits):
    out = np.zeros_like(rho)
    for k in ops:
        full = embed(k, qubits)
        out += full @ rho @ full.conj().T
    return out


def apply_depolarizing(rho, lam, qubits):
    """(1 - lambda) rho + lambda Tr_gate(rho) (x) I/d, as the Pauli twirl sum_P P rho P / 4^k."""
    k = len(qubits)
    twirl = np.zeros_like(rho)
    for index in range(4 ** k):
        op = np.eye(1)
        for j in range(k):  # qubits[j] is bit j: the rightmost Kronecker factor first
            op = np.kron(PAULIS[(index >> (2 * j)) & 3], op)
        full = embed(op, qubits)
        twirl += full @ rho @ full.conj().T
    return (1 - lam) * rho + lam * twirl / 4 ** k


class Device:
    def __init__(self, props):
        self.t1, self.t2, self.readout = [], [], []
        for q in props["qubits"]:
            t1 = nanoseconds(entry(q, "T1"))
            t2 = min(nanoseconds(entry(q, "T2")), 2 * t1)
            self.t1.append(t1)
            self.t2.append(t2)
            m1p0, m0p1, sym = entry(q, "prob_meas1_prep0"), entry(q, "prob_meas0_prep1"), entry(q, "readout_error")
            if m1p0 is not None and m0p1 is not None:
                self.readout.append((m1p0["value"], m0p1["value"]))
            elif sym is not None:
                self.readout.append((sym["value"], sym["value"]))
            else:
                self.readout.append((0.0, 0.0))
        self.gates = {}
        for g in props["gates"]:
            error = entry(g["parameters"], "gate_error")
            length = entry(g["parameters"], "gate_length")
            self.gates[(g["gate"], tuple(g["qubits"]))] = (error["value"] if error else 0.0,
                                                           nanoseconds(length) if length else 0.0)

    def noise(self, rho, name, qubits):
        error, length = self.gates[(name, tuple(qubits))]
        k, d = len(qubits), 2 ** len(qubits)
        relax_ops = [np.eye(1)]
        if length > 0:
            for q in qubits:
                relax_ops = [np.kron(one, rest) for one in relaxation_kraus(self.t1[q], self.t2[q], length)
                             for rest in relax_ops]
        f_pro = sum(abs(np.trace(kop)) ** 2 for kop in relax_ops) / d ** 2 if length > 0 else 1.0
        f_relax = (d * f_pro + 1) / (d + 1)
        if error > 1 - f_relax:
            e = min(error, d / (d + 1))
            denominator = d * f_relax - 1
            lam_max = 4 ** k / (4 ** k - 1)
            lam = min(d * (e - (1 - f_relax)) / denominator, lam_max) if denominator > 0 else lam_max
            rho = apply_depolarizing(rho, lam, qubits)
        if length > 0:
            rho = apply_kraus(rho, relax_ops, qubits)
        return rho


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ghz5_manila_reference.py PROPS.json")
    with open(sys.argv[1]) as f:
        device = Device(json.load(f))

    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    rz = np.diag([np.exp(-1j * math.pi / 4), np.exp(1j * math.pi / 4)])
    cx = np.eye(4)[[0, 3, 2, 1]]  # control = first listed qubit = bit 0

    rho = np.zeros((2 ** N, 2 ** N), dtype=complex)
    rho[0, 0] = 1
    program = [("rz", [0], rz), ("sx", [0], sx), ("rz", [0], rz)] + [("cx", [q, q + 1], cx) for q in range(N - 1)]
    for name, qubits, u in program:
        full = embed(u, qubits)
        rho = full @ rho @ full.conj().T
        rho = device.noise(rho, name, qubits)

    p = np.real(np.diag(rho)).copy()
    for q in range(N):
        p1_given_0, p0_given_1 = device.readout[q]
        confusion = np.array([[1 - p1_given_0, p0_given_1], [p1_given_0, 1 - p0_given_1]])  # [read, true]
        p = p.reshape([2] * (N - 1 - q) + [2] + [2] * q)  # axis N-1-q is qubit q
        p = np.moveaxis(np.tensordot(confusion, p, axes=([1], [N - 1 - q])), 0, N - 1 - q).reshape(-1)
    print(json.dumps({"probabilities": [float(x) for x in p]}))


if __name__ == "__main__":
    main()
