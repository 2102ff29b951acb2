// Grover search over 3 qubits for the marked item |101> (index 5), two iterations.
// Success probability sin^2(5 asin(1/sqrt(8))) = 121/128 = 0.9453125.
OPENQASM 2.0;
include "qelib1.inc";

// Controlled-controlled-Z from a Toffoli.
gate ccz a, b, c { h c; ccx a, b, c; h c; }

// Phase flip of |q2 q1 q0> = |101>.
gate oracle a, b, c { x b; ccz a, b, c; x b; }

// Inversion about the mean: H^3 (2|0><0| - I) H^3, up to a global phase.
gate diffuser a, b, c
{
  h a; h b; h c;
  x a; x b; x c;
  ccz a, b, c;
  x a; x b; x c;
  h a; h b; h c;
}

qreg q[3];
creg c[3];
h q;
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];
measure q -> c;
