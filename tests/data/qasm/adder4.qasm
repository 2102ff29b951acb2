// Ripple-carry adder (Cuccaro et al., quant-ph/0410184) on 4-bit numbers: b <- a + b mod 16,
// cout <- carry, a and cin unchanged. Inputs here: a = 7 (0111), b = 11 (1011); 7 + 11 = 18.
OPENQASM 2.0;
include "qelib1.inc";

// MAJ: c <- majority(a, b, c), a <- a xor c, b <- b xor c
gate maj a, b, c
{
  cx c, b;
  cx c, a;
  ccx a, b, c;
}

// UMA: undoes MAJ and leaves the sum bit in b
gate uma a, b, c
{
  ccx a, b, c;
  cx c, a;
  cx a, b;
}

qreg cin[1];
qreg a[4];
qreg b[4];
qreg cout[1];
creg sum[5];

// inputs
x a[0]; x a[1]; x a[2];
x b[0]; x b[1]; x b[3];

maj cin[0], b[0], a[0];
maj a[0], b[1], a[1];
maj a[1], b[2], a[2];
maj a[2], b[3], a[3];
cx a[3], cout[0];
uma a[2], b[3], a[3];
uma a[1], b[2], a[2];
uma a[0], b[1], a[1];
uma cin[0], b[0], a[0];

measure b[0] -> sum[0];
measure b[1] -> sum[1];
measure b[2] -> sum[2];
measure b[3] -> sum[3];
measure cout[0] -> sum[4];
