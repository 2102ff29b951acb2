// A two-qubit ansatz in IBM's basis (rz, sx, x, cx) with one input parameter: the Python example
// of docs/python.md runs it under a device model read from IBM calibration files. sx rz(a) sx on
// |0> leaves <Z> = -cos a, and the cx turns Z1 into Z0 Z1, so noiselessly
// <Z0 Z1> = -cos(theta / 2 + 0.3) and d<Z0 Z1>/dtheta = sin(theta / 2 + 0.3) / 2.
OPENQASM 2.0;
include "qelib1.inc";
input float[64] theta;
qreg q[2];
creg c[2];
sx q[0];
rz(theta) q[0];
sx q[0];
sx q[1];
rz(0.5*theta + 0.3) q[1];
sx q[1];
cx q[0], q[1];
measure q -> c;
