// An OpenQASM 2.0 reader: source text -> Circuit.
//
// The language as used in practice (Qiskit's exporter, the OpenQASM 2 paper's examples):
//  * `OPENQASM 2.0;` first (required), `//` comments and whitespace anywhere.
//  * `include "qelib1.inc";` defines the standard gates; the file is built in and never read from
//    disk (including it twice is harmless; any other include is an error). The names it defines are
//    those of gates.hpp's table (id x y z h s sdg t tdg sx sxdg rx ry rz p u1 u2 u3 u cx cy cz ch
//    swap iswap crx cry crz cp cu1 cu3 cu rxx ryy rzz rzx ccx cswap) plus Qiskit's extras u0(gamma)
//    (identity, emitted as `id`), csx, c3x, c3sqrtx, c4x, rccx, rc3x and delay(t) (ignored). The
//    extras are expanded into exact decompositions over table gates (see qasm2.cpp).
//    `U(theta,phi,lambda)` (= u3) and `CX` (= cx) are always defined.
//  * `qreg name[n];` / `creg name[n];`, any number of each: qubits are numbered by concatenating the
//    quantum registers in declaration order (the first register's element 0 is qubit 0), classical
//    bits likewise. A register may be declared after operations on earlier registers.
//  * `gate name(params) a, b { ... }`: user gates, whose bodies call earlier gates (built in or user)
//    with parameter expressions of the gate's parameters. Every call of a user gate is expanded into
//    table gates in the Circuit (OpKind::kGate), so no user name survives in the result.
//  * Parameter expressions: numbers (2, 1.5, .5, 1e-3), pi, + - * / ^ (right-associative, binding
//    tighter than unary minus: -2^2 = -4), parentheses, sin cos tan exp ln sqrt. Division by zero,
//    ln of a non-positive number, sqrt of a negative number and any non-finite result are errors.
//  * Register broadcasting: `h q;`, `cx a, b;` (equal sizes), `cx a[0], b;`, `measure q -> c;`,
//    `reset q;`, `barrier q, r[1];` (one barrier on every listed qubit).
//  * Classical control at top level: `if (c == n) qop;` with c a classical register, n a
//    non-negative integer below 2^size(c), and qop a gate call, measure or reset (not a barrier, not
//    another if); every operation qop expands to (broadcasts, user gates) carries the condition
//    (Operation::condition; only trajectories run it). A broadcast measurement into the register the
//    condition reads is refused (OpenQASM evaluates the condition once per statement).
//  * Refused with a QasmError: classical control in a gate body, `opaque` declarations, measure or
//    reset in a gate body, a qubit used twice in one operation, redefining a gate, unknown names, wrong numbers
//    of parameters or qubits, out-of-range indices, broadcasts over registers of unequal sizes.
//    Gate names are case-sensitive. `cnot` (an alias of gate_from_name) is not a qelib1.inc name
//    and is not accepted.
//  * Line ends are "\n", "\r\n" or a lone "\r", each one line.
//
// Extension (kraus): named parameters, in the syntax Qiskit's OpenQASM 3 exporter uses for circuit
// parameters, so that a circuit can be read once and differentiated (Circuit::add_rotation, Angle):
//  * `input float[64] name;` or `input angle name;` at top level declares an input; inputs are the
//    circuit's parameters θ[0], θ[1], ... in declaration order, and parameter_names() lists them (also
//    those no gate uses; their derivative is zero). A circuit without inputs has no parameter names.
//    Other types (`float[32]`, sized `angle[N]`, `int`) are refused. An input must be declared before
//    its first use, and its name must differ from every register, gate (after the include, also
//    qelib1.inc's t, s, h, ...), other input and reserved word (OPENQASM include qreg creg gate opaque
//    if measure reset barrier input pi sin cos tan exp ln sqrt), whichever is declared first.
//    `input` is a reserved word: it cannot name a gate.
//  * Inputs may appear in the parameter expressions of top-level gate calls, including calls of user
//    gates, whose bodies see them only through the gate's parameters (an input named directly in a
//    body is an error):
//        input float[64] theta;  input float[64] phi;
//        gate layer(a, b) x, y { ry(a) x; rz(2*b - pi/4) y; }
//        layer(theta, 0.5*phi) q[0], q[1];        // ry(θ0) q[0]; rz(θ1 - pi/4) q[1]
//    Expressions are evaluated as affine functions offset + Σ c_i θ_i: + and - of any values, * and /
//    with a constant on one side (not a division by an input), unary minus; ^ and the functions take
//    constants only. Anything else (theta*phi, 1/theta, theta^2, sin(theta)) is an error at the
//    operator, e.g. "f.qasm:5:4: 'sin' of a parameter: angles must be affine in the input parameters".
//    A value whose expression uses an input stays parametrised even when its coefficients cancel
//    (rz(theta - theta) is a parametrised rz with zero derivative; zero terms are dropped).
//  * A parametrised value may only reach rx ry rz rxx ryy rzz rzx (emitted as a rotation whose Angle
//    has one term per input with a nonzero coefficient, sorted by input) and p or u1, which become rz
//    with the same angle: equal up to a global phase, which no density matrix shows. Any other gate
//    (u3, U, cp, cu1, crx, the qelib1.inc extras u0 and delay, ...) is an error at the argument, naming
//    the gate as written and the first input of the argument, e.g. "f.qasm:6:7: 'u3' cannot take the
//    parameter 'theta': only rx, ry, rz, rxx, ryy, rzz, rzx (and p, u1 as rz) can (exact gradients
//    need a Pauli-rotation generator)"; inside a gate body the location is the argument in the body,
//    followed by the top-level call being expanded.
//  * Programs without `input` read exactly as OpenQASM 2.0 above.
//
// Limits, so that any input ends in bounded time and memory:
//  * 30 qubits in all (noise::kMaxQubits); a gate definition has at most 30 qubit arguments and
//    100 parameters.
//  * Programs of at most 64 MiB.
//  * User-gate calls nested at most 1000 deep; parameter expressions nested at most 200 deep.
//  * At most 1 million steps of expansion in the whole program, where each operation in the
//    result, each call of a user gate or qelib1.inc extra at any depth (even one that emits nothing,
//    such as an empty body or delay), each qubit of a barrier and each operator or operand of a
//    parameter expression evaluated inside a gate body counts one step, and so does each input term
//    of each intermediate value of a parameter expression (at top level too; none without inputs).
//    So the result has at most 1 million operations. The error names the top-level statement being
//    expanded.
//
// Errors are QasmError with the message "FILE:LINE:COL: what is wrong", 1-based, columns counted in
// bytes, e.g. "bell.qasm:3:9: expected ';' after the qubit list". Input text quoted in a message
// goes through noise::printable (control bytes and broken UTF-8 as \xNN), cut after 64 bytes.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kraus/engine/circuit.hpp"

namespace kraus::engine {

struct QasmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Qasm2Options {
  // Called whenever a qreg declaration raises the total qubit count, with the new total, before
  // anything of that size is built (e.g. a memory check for the method that will run). An
  // exception it throws (any std::exception) becomes a QasmError at the qreg's FILE:LINE:COL, its
  // what() appended to the location.
  std::function<void(int num_qubits)> check_qubits;
};

// Parses a whole program. `filename` only appears in error messages.
Circuit parse_qasm2(std::string_view source, const std::string& filename = "<string>",
                    const Qasm2Options& options = {});

// Reads and parses a file; an unreadable file is a QasmError naming it.
Circuit read_qasm2_file(const std::string& path, const Qasm2Options& options = {});

// The gates qelib1.inc defines that the reader expands into gates of the table (u0 csx c3x c3sqrtx
// c4x rccx rc3x delay), each with what it becomes, e.g. {"csx", "h, cp, h"}: no operation of a read
// circuit carries these names.
struct ExpandedGate {
  std::string_view name;
  std::string_view expansion;
};
const std::vector<ExpandedGate>& qasm2_expanded_gates();

}  // namespace kraus::engine
