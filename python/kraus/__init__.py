"""kraus: noisy quantum circuits, Python bindings of the C++17 engine (docs/python.md).

Conventions (those of kraus' C++ API): qubit 0 is the least significant bit of a basis index; a
density matrix is a Fortran-ordered (column-major) complex128 array of shape (2^n, 2^n) whose
rho[r, c] is element (r, c); R_P(theta) = exp(-i theta P / 2); depolarising p is the total
probability of a non-identity Pauli error.
"""

from ._kraus import (  # noqa: F401
    __version__,
    Channel,
    Circuit,
    DensityMatrix,
    NoiseModel,
    StateVector,
    amplitude_damping,
    apply_channel,
    apply_trajectory_step,
    apply_unitary,
    bit_flip,
    bit_phase_flip,
    channel_types,
    coherent_overrotation,
    depolarizing,
    depolarizing_p_from_lambda,
    gate_matrix,
    gate_names,
    gradient,
    generalized_amplitude_damping,
    pauli_channel,
    phase_damping,
    phase_flip,
    reset_channel,
    simulate,
    thermal_relaxation,
    zne,
)

__all__ = [name for name in dir() if not name.startswith("_")]
