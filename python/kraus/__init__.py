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



def _add_shortcuts():
    def fixed(name):
        def method(self, *qubits):
            return self.gate(name, list(qubits))
        method.__doc__ = f"Appends {name} on the given qubits (Circuit.gate)."
        return method

    def rotation(name):
        def method(self, angle, *qubits):
            if isinstance(angle, str):
                return self.rotation(name, list(qubits), angle)
            return self.gate(name, list(qubits), [angle])
        method.__doc__ = (f"Appends {name}(angle) on the given qubits: a number, or a parameter name "
                          "(Circuit.rotation).")
        return method

    for name in ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "cx", "cz", "swap"):
        setattr(Circuit, name, fixed(name))
    for name in ("rx", "ry", "rz", "rzz"):
        setattr(Circuit, name, rotation(name))


_add_shortcuts()

__all__ = [name for name in dir() if not name.startswith("_")]
