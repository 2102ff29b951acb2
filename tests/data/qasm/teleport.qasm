// Quantum teleportation of u3(1.1, 0.7, -0.4)|0> from q[0] to q[2], with the classically
// controlled corrections replaced by quantum-controlled ones (deferred measurement).
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg m0[1];
creg m1[1];
creg bob[1];

u3(1.1, 0.7, -0.4) q[0];   // the state to send

// Bell pair shared by Alice (q[1]) and Bob (q[2])
h q[1];
cx q[1], q[2];
barrier q;

// Alice's Bell measurement, rotated into the computational basis
cx q[0], q[1];
h q[0];
barrier q;

// Bob's corrections: X if m1, Z if m0
cx q[1], q[2];
cz q[0], q[2];

measure q[0] -> m0[0];
measure q[1] -> m1[0];
measure q[2] -> bob[0];
