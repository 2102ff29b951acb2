"""Independent numpy references for the kraus Python tests: they share no code with kraus.

Conventions (kraus'): qubit 0 is the least significant bit of a basis index; bit j of a k-qubit
matrix index belongs to the j-th listed qubit; a density matrix is indexed rho[r, c].
"""
import itertools

import numpy as np

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
PAULI = {"I": I2, "X": X, "Y": Y, "Z": Z}
SIGMA = [I2, X, Y, Z]


def kron_qubits(factors):
    """factors[j] acts on qubit j (qubit 0 = least significant): kron(f[k-1], ..., f[0])."""
    out = np.ones((1, 1), dtype=complex)
    for f in factors:
        out = np.kron(f, out)
    return out


def pauli_string(label):
    """'XZ': X on the first qubit (least significant), Z on the second."""
    return kron_qubits([PAULI[c] for c in label])


def pauli_index_matrix(index, k):
    """Pauli index with base-4 digit j (0 I, 1 X, 2 Y, 3 Z) acting on qubit j."""
    return kron_qubits([SIGMA[(index >> (2 * j)) & 3] for j in range(k)])


def embed(op, qubits, n):
    """The 2^n x 2^n matrix of a k-qubit op on `qubits`, built element by element:
    full[r, c] = op[sub(r), sub(c)] when r and c agree on every other bit, else 0."""
    d = 1 << n
    k = len(qubits)
    mask = sum(1 << q for q in qubits)
    full = np.zeros((d, d), dtype=complex)
    for r in range(d):
        for c in range(d):
            if (r & ~mask) != (c & ~mask):
                continue
            a = sum(((r >> q) & 1) << j for j, q in enumerate(qubits))
            b = sum(((c >> q) & 1) << j for j, q in enumerate(qubits))
            full[r, c] = op[a, b]
    assert k == int(np.log2(op.shape[0]))
    return full


def apply_kraus(rho, ops, qubits):
    n = int(np.log2(rho.shape[0]))
    out = np.zeros_like(rho)
    for k in ops:
        f = embed(k, qubits, n)
        out += f @ rho @ f.conj().T
    return out


def superoperator(ops):
    return sum(np.kron(k.conj(), k) for k in ops)


def vec(m):
    """Column stacking: vec(B)[a + b d] = B[a, b]."""
    return m.flatten(order="F")


def choi(ops):
    """sum_ij |i><j| (x) E(|i><j|) = sum_k vec(K_k) vec(K_k)^dagger."""
    return sum(np.outer(vec(k), vec(k).conj()) for k in ops)


def choi_from_map(channel_map, d):
    out = np.zeros((d * d, d * d), dtype=complex)
    for i in range(d):
        for j in range(d):
            e = np.zeros((d, d), dtype=complex)
            e[i, j] = 1
            out[i * d:(i + 1) * d, j * d:(j + 1) * d] = channel_map(e)
    return out


def kraus_from_choi(lam, tol=1e-12):
    d = int(round(np.sqrt(lam.shape[0])))
    w, v = np.linalg.eigh(lam)
    return [np.sqrt(x) * v[:, i].reshape((d, d), order="F") for i, x in enumerate(w) if x > tol]


def ptm(ops):
    d = ops[0].shape[0]
    k = int(np.log2(d))
    m = 4 ** k
    out = np.zeros((m, m), dtype=complex)
    for j in range(m):
        e = sum(kk @ pauli_index_matrix(j, k) @ kk.conj().T for kk in ops)
        for i in range(m):
            out[i, j] = np.trace(pauli_index_matrix(i, k) @ e) / d
    return out


def random_density_matrix(n, rng, rank=None):
    d = 1 << n
    rank = rank or d
    g = rng.normal(size=(d, rank)) + 1j * rng.normal(size=(d, rank))
    rho = g @ g.conj().T
    return np.asfortranarray(rho / np.trace(rho))


def random_state(n, rng):
    d = 1 << n
    psi = rng.normal(size=d) + 1j * rng.normal(size=d)
    return psi / np.linalg.norm(psi)


def random_unitary(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_kraus(k, count, rng):
    """`count` Kraus operators on k qubits from a random isometry (sum K^dagger K = I)."""
    d = 1 << k
    g = rng.normal(size=(count * d, d)) + 1j * rng.normal(size=(count * d, d))
    v, _ = np.linalg.qr(g)
    return [v[i * d:(i + 1) * d, :] for i in range(count)]


def all_paulis(k):
    return ["".join(p) for p in itertools.product("IXYZ", repeat=k)]
