"""Zero-copy views of kraus' buffers, and the checks on callers' arrays: bad input is a ValueError
with a clear message, before any memory is touched."""
import gc

import numpy as np
import pytest

import kraus
import reference as ref


def test_density_matrix_view_shares_memory():
    dm = kraus.DensityMatrix(3)
    view = dm.array
    assert view.shape == (8, 8) and view.dtype == np.complex128
    assert view.flags.f_contiguous and view.flags.writeable and not view.flags.owndata
    assert np.shares_memory(view, dm.array)
    assert np.shares_memory(view, np.asarray(dm))
    assert view[0, 0] == 1 and dm.trace() == 1
    # Writing through the view changes kraus' state...
    view[:, :] = 0
    view[5, 5] = 1
    assert dm.probabilities()[5] == 1 and dm.trace() == 1
    view[5, 5] = 0.25
    assert dm.trace() == pytest.approx(0.25)
    # ...and kraus' kernels write into the memory the view shows (rho[r, c] is element (r, c)).
    dm.reset_to_zero_state()
    dm.apply_gate("x", [1])
    assert view[2, 2] == 1 and view[0, 0] == 0
    dm.apply_gate("h", [0])
    assert view[3, 2] == pytest.approx(0.5) and view[2, 3] == pytest.approx(0.5)


def test_view_keeps_owner_alive():
    view = kraus.DensityMatrix(2).array
    gc.collect()
    assert view[0, 0] == 1
    kraus.apply_channel(view, kraus.bit_flip(1.0), [0])  # the view is a valid kraus buffer itself
    assert view[1, 1] == pytest.approx(1) and view[0, 0] == pytest.approx(0)
    psi_view = kraus.StateVector(3).array
    gc.collect()
    assert psi_view[0] == 1 and psi_view.shape == (8,)


def test_state_vector_view_shares_memory():
    psi = kraus.StateVector(3)
    view = psi.array
    assert np.shares_memory(view, np.asarray(psi)) and view.flags.c_contiguous
    view[:] = 0
    view[6] = 1j
    assert psi.probabilities()[6] == pytest.approx(1)
    psi.apply_gate("x", [0])
    assert view[7] == 1j
    assert repr(psi) == "StateVector(num_qubits=3, squared_norm=1)"


def test_numpy_built_density_matrix_in_place():
    rng = np.random.default_rng(3)
    rho = ref.random_density_matrix(3, rng)
    want = ref.apply_kraus(rho, [np.sqrt(0.9) * ref.I2, np.sqrt(0.1) * ref.Z], [2])
    kraus.apply_channel(rho, kraus.phase_flip(0.1), [2])
    assert np.max(np.abs(rho - want)) < 1e-12
    dm = kraus.DensityMatrix.from_array(np.ascontiguousarray(want))  # copies: any layout
    assert np.max(np.abs(dm.array - want)) < 1e-12 and not np.shares_memory(dm.array, want)
    assert dm.purity() == pytest.approx(np.trace(want @ want).real, abs=1e-12)
    red = dm.reduced([2, 0])
    assert red.num_qubits == 2 and red.trace() == pytest.approx(1)


def raises(match, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


def test_bad_arrays_are_refused():
    ch = kraus.amplitude_damping(0.1)
    rho = np.zeros((8, 8), dtype=complex, order="F")
    rho[0, 0] = 1
    raises("expected dtype complex128", kraus.apply_channel, rho.astype(np.complex64, order="F"), ch, [0])
    raises("expected dtype complex128", kraus.apply_channel, rho.real.copy(order="F"), ch, [0])
    raises("expected dtype complex128", kraus.apply_channel, rho.astype(">c16", order="F"), ch, [0])
    raises("expected a numpy array", kraus.apply_channel, rho.tolist(), ch, [0])
    raises("Fortran-ordered.*C-ordered", kraus.apply_channel, np.ascontiguousarray(rho), ch, [0])
    big = np.zeros((16, 16), dtype=complex, order="F")
    raises("not contiguous", kraus.apply_channel, big[::2, ::2], ch, [0])
    raises("must be contiguous", kraus.apply_channel, np.zeros(16, dtype=complex)[::2], kraus.coherent_overrotation("x", 1), [0])
    raises(r"shape \(2\^n, 2\^n\).*got \(8, 4\)", kraus.apply_channel, np.zeros((8, 4), dtype=complex, order="F"), ch, [0])
    raises(r"shape \(2\^n, 2\^n\).*got \(6, 6\)", kraus.apply_channel, np.zeros((6, 6), dtype=complex, order="F"), ch, [0])
    raises("needs 2\\^n entries.*got length 7", kraus.apply_channel, np.zeros(7, dtype=complex), kraus.coherent_overrotation("x", 1), [0])
    raises("3-D array", kraus.apply_channel, np.zeros((2, 2, 2), dtype=complex), ch, [0])
    readonly = rho.copy(order="F")
    readonly.flags.writeable = False
    raises("read-only", kraus.apply_channel, readonly, ch, [0])
    # Qubits: range, repetition, count, type.
    raises("qubit 3 is out of range for 3 qubits", kraus.apply_channel, rho, ch, [3])
    raises("qubit -1 is out of range", kraus.apply_channel, rho, ch, -1)
    raises("qubit 1 is listed twice", kraus.apply_channel, rho, kraus.depolarizing(0.1, num_qubits=2), [1, 1])
    raises("expected 2 qubits, got 1", kraus.apply_channel, rho, kraus.depolarizing(0.1, num_qubits=2), [1])
    raises("qubits must be integers", kraus.apply_channel, rho, ch, [0.5])
    raises("qubit .* is out of range", kraus.apply_channel, rho, ch, [2 ** 70])
    # A state vector takes single-Kraus channels only.
    raises("one Kraus operator.*this channel has 2", kraus.apply_channel, np.eye(8, dtype=complex)[0].copy(), ch, [0])
    # Nothing was written by any refused call.
    assert rho[0, 0] == 1 and np.count_nonzero(rho) == 1
    # numpy integers are qubits too.
    kraus.apply_channel(rho, ch, [np.int64(2)])


def test_bad_matrices_and_parameters():
    raises("amplitude_damping gamma: 1.5 is outside \\[0, 1\\]", kraus.amplitude_damping, 1.5)
    raises("number of qubits 0 is outside", kraus.DensityMatrix, 0)
    raises("not unitary", kraus.apply_unitary, np.zeros(4, dtype=complex), np.array([[1, 1], [0, 1]]), [0])
    raises("tolerance must be a number", kraus.apply_unitary, np.zeros(4, dtype=complex), np.eye(2), [0],
           tolerance=float("nan"))
    raises("2\\^k x 2\\^k matrix, got 3 x 3", kraus.apply_unitary, np.zeros(4, dtype=complex), np.eye(3), [0])
    raises("entry \\(0, 0\\) is not finite", kraus.Channel.from_unitary, np.array([[np.nan, 0], [0, 1]]))
    raises("expected a 2-D", kraus.Channel.from_kraus, [np.zeros(4)])
    with pytest.raises(ValueError) as error:
        kraus.Channel.from_kraus([np.eye(2), np.eye(2)])  # sum K^dagger K = 2 I
    assert "trace" in str(error.value) or "CPTP" in str(error.value) or "sum" in str(error.value)
    raises("axis must be", kraus.coherent_overrotation, "w", 0.1)
    raises("unknown gate 'foo'", kraus.gate_matrix, "foo")
    raises("takes 1 parameter, got 0", kraus.gate_matrix, "rx")
    raises("uniform must be in \\[0, 1\\)", kraus.apply_trajectory_step, np.array([1, 0], dtype=complex),
           kraus.bit_flip(0.1), [0], 1.0)
