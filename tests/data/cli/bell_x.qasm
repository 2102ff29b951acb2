OPENQASM 2.0;
include "qelib1.inc";
// a Bell pair and a flipped third qubit
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
x q[2];
measure q -> c;
