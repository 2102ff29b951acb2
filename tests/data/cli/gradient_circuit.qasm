OPENQASM 2.0;
include "qelib1.inc";
// kraus gradient's test circuit: two inputs in affine angles, theta in two of them
input float[64] theta;
input float[64] phi;
qreg q[2];
creg c[2];
h q[0];
ry(theta) q[0];
rx(2*phi - 0.3) q[1];
cx q[0], q[1];
rzz(theta - phi) q[0], q[1];
ry(0.5*phi + 0.2) q[1];
measure q -> c;
