OPENQASM 2.0;
include "qelib1.inc";
qreg q[20];
// 4^9 calls of b0 per qubit, 5 million barriers: refused at the qreg, before any expansion.
gate b0 a { barrier a; }
gate b1 a { b0 a; b0 a; b0 a; b0 a; }
gate b2 a { b1 a; b1 a; b1 a; b1 a; }
gate b3 a { b2 a; b2 a; b2 a; b2 a; }
gate b4 a { b3 a; b3 a; b3 a; b3 a; }
gate b5 a { b4 a; b4 a; b4 a; b4 a; }
gate b6 a { b5 a; b5 a; b5 a; b5 a; }
gate b7 a { b6 a; b6 a; b6 a; b6 a; }
gate b8 a { b7 a; b7 a; b7 a; b7 a; }
gate b9 a { b8 a; b8 a; b8 a; b8 a; }
b9 q;
