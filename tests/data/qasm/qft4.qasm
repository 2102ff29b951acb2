// Quantum Fourier transform on 4 qubits applied to the basis state |5> = |0101>.
// Expected: amplitude of |k> is exp(2 pi i 5 k / 16) / 4 for every k.
OPENQASM 2.0;
include "qelib1.inc";

// Textbook QFT (qubit 0 is the least significant bit): Hadamard and controlled phases from the
// most significant qubit down, then the qubit order is reversed with swaps.
gate qft4 a, b, c, d
{
  h d;
  cu1(pi/2) c, d;
  cu1(pi/4) b, d;
  cu1(pi/8) a, d;
  h c;
  cu1(pi/2) b, c;
  cu1(pi/4) a, c;
  h b;
  cu1(pi/2) a, b;
  h a;
  swap a, d;
  swap b, c;
}

qreg q[4];
creg c[4];

// |5>: bits 0 and 2 set
x q[0];
x q[2];
barrier q;
qft4 q[0], q[1], q[2], q[3];
measure q -> c;
