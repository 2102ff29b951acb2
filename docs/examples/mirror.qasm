// A Bell pair, a phase on qubit 1 and the Bell pair undone: noiselessly <Z0> = cos 0.4 = 0.92106.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
rz(0.4) q[1];
cx q[0], q[1];
h q[0];
measure q -> c;
