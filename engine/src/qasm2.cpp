// OpenQASM 2.0 reader: a hand-written lexer over the whole buffer and a recursive-descent parser.
//
// Tokens are string_views into the source; nothing is allocated per token. Operations are first
// collected in a compact list (the number of qubits is only known at the end, since a qreg may
// follow operations on earlier registers) and copied into the Circuit once the program is read.
// User gates are stored as bodies of calls whose parameters are small postfix programs over the
// gate's parameters; every call is expanded recursively into table gates.
//
// Parameter expressions are evaluated on values affine in the program's inputs (Affine: a constant
// plus input terms). The terms of all live values sit in one stack of storage (Parser::terms_) in
// the order of the values, so a constant expression touches no term storage and an operation on the
// two topmost values merges their adjacent term lists in place; nothing is allocated once warm.
//
// The qelib1.inc extras are expanded into exact decompositions over table gates, derived here from
// one identity: a phase e^{i lambda} on the all-ones state of qubits (A, b, t), with A a set of
// controls, is
//     cp(lambda/2) b,t;  mcx(A; b);  cp(-lambda/2) b,t;  mcx(A; b);  mcphase(lambda/2) A,t
// (the phases add to lambda t (b - (b xor a) + a) / 2 = lambda a b t), and a k-controlled X is
// h t; mcphase(pi) controls,t; h t. With X^s = H P(pi s) H, csx = h; cp(pi/2); h and c3sqrtx =
// h; mcphase(pi/2) on 4 qubits; h. The relative-phase Toffolis are the Toffoli followed by a
// diagonal correction (see emit_extra).
#include "kraus/engine/qasm2.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kraus/noise/kernels.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::engine {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kMaxExprDepth = 200;
// Guards against runaway expansion (each level of gate calls can multiply the work, even when the
// gates emit nothing) and against definitions nested deeper than the expansion's recursion can
// safely go. The steps counted are listed in qasm2.hpp. A million operations take about 0.6 GB
// (PendingOp here, then Operation in the Circuit) and a few seconds to build.
constexpr std::size_t kMaxSteps = 1'000'000;
constexpr int kMaxGateDepth = 1000;
constexpr std::size_t kMaxGateParams = 100;
constexpr std::size_t kMaxSourceBytes = std::size_t{64} << 20;  // a million operations take about 20 MB

// ---- lexer -------------------------------------------------------------------------------------

enum class Tok : std::uint8_t {
  kEnd, kId, kInt, kReal, kString, kSemi, kComma, kLParen, kRParen, kLBracket, kRBracket,
  kLBrace, kRBrace, kArrow, kPlus, kMinus, kStar, kSlash, kCaret, kEqEq, kBadString, kOther,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  int line = 1;
  int col = 1;
};

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : p_(src.data()), end_(src.data() + src.size()), line_start_(p_) {
    // A UTF-8 byte-order mark is skipped (and not counted in columns).
    if (src.size() >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) {
      p_ += 3;
      line_start_ = p_;
    }
  }

  Token next() {
    for (;;) {
      if (p_ == end_) break;
      const char c = *p_;
      if (c == '\n' || c == '\r') {  // "\n", "\r\n" and a lone "\r" each end one line
        ++p_;
        if (c == '\r' && p_ < end_ && *p_ == '\n') ++p_;
        ++line_;
        line_start_ = p_;
      } else if (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
        ++p_;
      } else if (c == '/' && p_ + 1 < end_ && p_[1] == '/') {
        p_ += 2;
        while (p_ < end_ && *p_ != '\n' && *p_ != '\r') ++p_;
      } else {
        break;
      }
    }
    Token t;
    t.line = line_;
    t.col = static_cast<int>(p_ - line_start_) + 1;
    if (p_ == end_) {
      t.kind = Tok::kEnd;
      return t;
    }
    const char* s = p_;
    const char c = *p_;
    if (is_alpha(c)) {
      ++p_;
      while (p_ < end_ && is_alnum(*p_)) ++p_;
      t.kind = Tok::kId;
    } else if (is_digit(c) || (c == '.' && p_ + 1 < end_ && is_digit(p_[1]))) {
      bool real = false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
      if (p_ < end_ && *p_ == '.') {
        real = true;
        ++p_;
        while (p_ < end_ && is_digit(*p_)) ++p_;
      }
      if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        const char* q = p_ + 1;
        if (q < end_ && (*q == '+' || *q == '-')) ++q;
        if (q < end_ && is_digit(*q)) {
          real = true;
          while (q < end_ && is_digit(*q)) ++q;
          p_ = q;
        }
      }
      t.kind = real ? Tok::kReal : Tok::kInt;
    } else if (c == '"') {
      ++p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\n' && *p_ != '\r') ++p_;
      if (p_ < end_ && *p_ == '"') {
        ++p_;
        t.kind = Tok::kString;
      } else {
        t.kind = Tok::kBadString;
      }
    } else {
      ++p_;
      switch (c) {
        case ';': t.kind = Tok::kSemi; break;
        case ',': t.kind = Tok::kComma; break;
        case '(': t.kind = Tok::kLParen; break;
        case ')': t.kind = Tok::kRParen; break;
        case '[': t.kind = Tok::kLBracket; break;
        case ']': t.kind = Tok::kRBracket; break;
        case '{': t.kind = Tok::kLBrace; break;
        case '}': t.kind = Tok::kRBrace; break;
        case '+': t.kind = Tok::kPlus; break;
        case '*': t.kind = Tok::kStar; break;
        case '/': t.kind = Tok::kSlash; break;
        case '^': t.kind = Tok::kCaret; break;
        case '-':
          if (p_ < end_ && *p_ == '>') {
            ++p_;
            t.kind = Tok::kArrow;
          } else {
            t.kind = Tok::kMinus;
          }
          break;
        case '=':
          if (p_ < end_ && *p_ == '=') {
            ++p_;
            t.kind = Tok::kEqEq;
          } else {
            t.kind = Tok::kOther;
          }
          break;
        default: t.kind = Tok::kOther; break;
      }
    }
    t.text = std::string_view(s, static_cast<std::size_t>(p_ - s));
    return t;
  }

 private:
  const char* p_;
  const char* end_;
  const char* line_start_;
  int line_ = 1;
};

// ---- expressions ---------------------------------------------------------------------------------

enum class Op : std::uint8_t {
  kConst, kParam, kInput, kNeg, kAdd, kSub, kMul, kDiv, kPow, kSin, kCos, kTan, kExp, kLn, kSqrt
};

struct Instr {
  Op op = Op::kConst;
  int index = 0;  // kParam: which parameter of the enclosing gate; kInput: which input
  double value = 0.0;
  int line = 0, col = 0;  // where the operator or operand appears (for error messages)
};

// One term coeff · θ[param] of an affine value.
struct InputTerm {
  int param;
  double coeff;
};

// offset + Σ terms, the terms (sorted by param, each param once) in Parser::terms_[begin, begin +
// count). A value whose expression uses an input keeps its terms even when a coefficient cancels to
// zero: it still counts as parametrised (and emits a parametrised rotation with no terms).
struct Affine {
  double offset = 0.0;
  std::uint32_t begin = 0, count = 0;
};

struct ExprRange {
  std::uint32_t begin, end;  // into GateDef::code
  int line, col;             // where the expression starts
};

// ---- gate definitions ----------------------------------------------------------------------------

enum class DefKind : std::uint8_t { kTable, kU0, kCSX, kC3X, kC3SqrtX, kC4X, kRCCX, kRC3X, kDelay, kUser };

struct BodyOp {
  int def = -1;  // -1: barrier
  int line = 0, col = 0;
  std::uint32_t qubit_begin = 0, num_qubits = 0;  // into GateDef::body_qubits (formal indices)
  std::uint32_t expr_begin = 0, num_exprs = 0;    // into GateDef::exprs
};

struct GateDef {
  std::string_view name;
  DefKind kind = DefKind::kUser;
  Gate gate = Gate::kI;
  int num_params = 0, num_qubits = 0;
  bool from_qelib1 = false;  // false for U and CX, which are always there
  int line = 0;              // user gates: line of the definition
  int depth = 0;             // levels of user-gate calls below this one (0 for built-in gates)
  std::vector<BodyOp> body;
  std::vector<int> body_qubits;
  std::vector<ExprRange> exprs;
  std::vector<Instr> code;
};

// ---- operations before the Circuit exists -------------------------------------------------------

struct PendingOp {
  OpKind kind = OpKind::kGate;
  Gate gate = Gate::kI;
  std::uint8_t num_qubits = 0, num_params = 0;
  int qubits[3] = {0, 0, 0};
  double params[4] = {0, 0, 0, 0};
  int clbit = -1;
  // A barrier's qubits, in Parser::barrier_qubits_; a parametrised rotation's nonzero terms, in
  // Parser::angle_terms_ (its params[0] is the angle's offset). Shared to keep the op at 64 bytes.
  std::uint32_t list_begin = 0, list_count = 0;
  bool has_angle = false;
};

// `if (creg == value)` over the operations ops_[first, last) that its statement produced.
struct PendingCondition {
  std::size_t first = 0, last = 0;
  Condition condition;
};

// A declared input (`input float[64] name;`), parameter θ[index] of the circuit.
struct Input {
  std::string_view name;
  int line = 0;
};

struct Register {
  std::string_view name;
  bool quantum = true;
  int offset = 0, size = 0;
};

// A top-level operand: a whole register (index -1) or one element.
struct Arg {
  int reg = -1;
  int index = -1;
  int line = 0, col = 0;
};

std::string plural(long long n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// Input text in a message: escaped (noise::printable) and cut to noise::kMaxQuotedBytes.
std::string excerpt(std::string_view s) { return noise::printable(s, noise::kMaxQuotedBytes); }
std::string quoted(std::string_view s) { return "'" + excerpt(s) + "'"; }

struct QelibEntry {
  std::string_view name;
  DefKind kind;
  Gate gate;
  int num_params, num_qubits;
};

// Everything include "qelib1.inc" defines.
const std::vector<QelibEntry>& qelib1() {
  static const std::vector<QelibEntry> entries = [] {
    std::vector<QelibEntry> e;
    for (const GateInfo& info : gate_table()) {
      e.push_back({info.name, DefKind::kTable, info.gate, info.num_params, info.num_qubits});
    }
    e.push_back({"u1", DefKind::kTable, Gate::kP, 1, 1});
    e.push_back({"u", DefKind::kTable, Gate::kU3, 3, 1});
    e.push_back({"cu1", DefKind::kTable, Gate::kCP, 1, 2});
    e.push_back({"u0", DefKind::kU0, Gate::kI, 1, 1});
    e.push_back({"csx", DefKind::kCSX, Gate::kI, 0, 2});
    e.push_back({"c3x", DefKind::kC3X, Gate::kI, 0, 4});
    e.push_back({"c3sqrtx", DefKind::kC3SqrtX, Gate::kI, 0, 4});
    e.push_back({"c4x", DefKind::kC4X, Gate::kI, 0, 5});
    e.push_back({"rccx", DefKind::kRCCX, Gate::kI, 0, 3});
    e.push_back({"rc3x", DefKind::kRC3X, Gate::kI, 0, 4});
    e.push_back({"delay", DefKind::kDelay, Gate::kI, 1, 1});
    return e;
  }();
  return entries;
}

// Names that no gate or input may take.
constexpr const char* kReservedWords[] = {"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "if",
                                          "measure",  "reset",   "barrier", "input", "pi", "sin", "cos",
                                          "tan",      "exp",     "ln",      "sqrt"};

bool is_qelib1_name(std::string_view name) {
  for (const QelibEntry& e : qelib1()) {
    if (e.name == name) return true;
  }
  return false;
}

// ---- parser --------------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view source, const std::string& filename, const Qasm2Options& options)
      : lex_(source), filename_(filename), options_(options) {
    ops_.reserve(std::min(source.size() / 32 + 16, kMaxSteps));
    add_builtin({"U", DefKind::kTable, Gate::kU3, 3, 1}, false);
    add_builtin({"CX", DefKind::kTable, Gate::kCX, 0, 2}, false);
  }

  Circuit parse();

 private:
  // -- errors --
  [[noreturn]] void fail(int line, int col, const std::string& what) const {
    throw QasmError(filename_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }
  [[noreturn]] void fail(const Token& t, const std::string& what) const { fail(t.line, t.col, what); }
  static std::string describe(const Token& t) {
    if (t.kind == Tok::kEnd) return "end of file";
    const auto c = static_cast<unsigned char>(t.text[0]);
    if (t.kind == Tok::kOther && (c >= 0x80 || c < 0x20 || c == 0x7F)) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "a %s byte (0x%02X)", c >= 0x80 ? "non-ASCII" : "control", static_cast<unsigned>(c));
      return buf;
    }
    return quoted(t.text);
  }
  // "expected X, found Y": at the offending token, or just after the previous token when the
  // offending one is on a later line (a missing ';' at the end of a line is reported there).
  [[noreturn]] void fail_expected(const std::string& what) const {
    const std::string msg = "expected " + what + ", found " + describe(tok_);
    if (tok_.line != prev_line_ && prev_line_ > 0) fail(prev_line_, prev_end_col_, msg);
    fail(tok_, msg);
  }

  // -- tokens --
  void advance() {
    prev_line_ = tok_.line;
    prev_end_col_ = tok_.col + static_cast<int>(tok_.text.size());
    tok_ = lex_.next();
    if (tok_.kind == Tok::kBadString) fail(tok_, "unterminated string (missing '\"' before the end of the line)");
  }
  bool is(Tok k) const { return tok_.kind == k; }
  bool is_word(std::string_view w) const { return tok_.kind == Tok::kId && tok_.text == w; }
  Token expect(Tok k, const char* what) {
    if (tok_.kind != k) fail_expected(what);
    Token t = tok_;
    advance();
    return t;
  }
  int parse_int(const Token& t, const char* what);

  // -- statements --
  void statement();
  void include_statement();
  void register_declaration(bool quantum);
  void input_declaration();
  // Fails when a register or gate being declared takes the name of an input.
  void check_not_input(const Token& name, const char* what) const;
  void gate_definition();
  void gate_call();
  void measure_statement();
  void reset_statement();
  void barrier_statement();
  void if_statement();
  Arg parse_arg(bool quantum);
  std::string element_name(const Arg& a, int k) const;

  // -- expressions: postfix code into `out`; `params` are the names usable as variables --
  void parse_expr(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth);
  void parse_term(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth);
  void parse_unary(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth);
  void parse_power(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth);
  void parse_primary(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth);
  // Parameter list "(e1, e2, ...)" when present; returns the count. Top level: values pushed to
  // pstack_, their positions to top_param_pos_. Gate body: code appended to def.code, ranges to
  // def.exprs.
  int parse_top_params();
  // The value of the postfix code; its terms are left at the end of terms_.
  Affine evaluate(const Instr* begin, const Instr* end, const Affine* params, const GateDef* in_gate, int line,
                  int col);
  // a += b (a -= b when `subtract`), for the two topmost values of an evaluation.
  void add_affine(Affine& a, const Affine& b, bool subtract);
  // A parametrised argument (pstack_[p_off...]) may only reach a Pauli rotation, p or u1; the error
  // is at the argument: in a body (`in_gate`, its call `site`) or at top level (top_param_pos_).
  void check_parametrised_args(const GateDef& callee, std::size_t p_off, const GateDef* in_gate, const BodyOp* site);

  // -- definitions --
  int lookup_gate(const Token& name);
  void add_builtin(const QelibEntry& e, bool from_qelib1);

  // -- emission --
  void charge(std::size_t steps);
  void expand(int def_index, std::size_t p_off, std::size_t q_off);
  void emit_extra(DefKind kind, const int* q, const double* p);
  void push_gate(Gate g, std::initializer_list<int> qubits, std::initializer_list<double> params = {});
  void push_gate(Gate g, const int* qubits, int nq, const double* params, int np);
  void push_rotation(Gate g, const int* qubits, int nq, const Affine& angle);
  void mcphase(const int* qubits, int m, double lambda);
  void mcx(const int* controls, int k, int target);

  Lexer lex_;
  const std::string& filename_;
  const Qasm2Options& options_;
  Token tok_;
  int prev_line_ = 0, prev_end_col_ = 0;

  std::vector<GateDef> defs_;
  std::unordered_map<std::string_view, int> def_index_;
  bool qelib1_included_ = false;

  std::vector<Register> regs_;
  std::unordered_map<std::string_view, int> reg_index_;
  long long num_qubits_ = 0, num_clbits_ = 0;

  std::vector<Input> inputs_;
  std::unordered_map<std::string_view, int> input_index_;

  std::vector<PendingOp> ops_;
  std::vector<PendingCondition> conditions_;  // in program order
  std::vector<int> barrier_qubits_;
  std::vector<InputTerm> angle_terms_;

  // Scratch space reused by every statement (no allocation once warm).
  std::vector<Affine> pstack_;
  std::vector<std::pair<int, int>> top_param_pos_;  // line, column of each top-level argument
  std::vector<int> qstack_;
  std::vector<Arg> args_;
  std::vector<Instr> code_;
  std::vector<Affine> eval_stack_;
  std::vector<InputTerm> terms_;  // the terms of pstack_'s and eval_stack_'s values, in stack order
  std::vector<InputTerm> merge_;
  // Expansion context for error messages: the top-level statement being expanded.
  int call_line_ = 0, call_col_ = 0;
  // Steps of expansion so far (see qasm2.hpp), at most kMaxSteps.
  std::size_t steps_ = 0;
};

int Parser::parse_int(const Token& t, const char* what) {
  long long v = 0;
  for (char c : t.text) {
    v = v * 10 + (c - '0');
    if (v > 1000000000LL) fail(t, std::string(what) + " " + excerpt(t.text) + " is too large");
  }
  return static_cast<int>(v);
}

void Parser::add_builtin(const QelibEntry& e, bool from_qelib1) {
  GateDef d;
  d.name = e.name;
  d.kind = e.kind;
  d.gate = e.gate;
  d.num_params = e.num_params;
  d.num_qubits = e.num_qubits;
  d.from_qelib1 = from_qelib1;
  def_index_.emplace(e.name, static_cast<int>(defs_.size()));
  defs_.push_back(std::move(d));
}

int Parser::lookup_gate(const Token& name) {
  const auto it = def_index_.find(name.text);
  if (it != def_index_.end()) return it->second;
  if (!qelib1_included_ && is_qelib1_name(name.text)) {
    fail(name, "unknown gate " + quoted(name.text) + " (it is defined in qelib1.inc: add 'include \"qelib1.inc\";')");
  }
  fail(name, "unknown gate " + quoted(name.text));
}

Circuit Parser::parse() {
  advance();
  if (!is_word("OPENQASM")) fail(tok_, "expected 'OPENQASM 2.0;' at the start of the program, found " + describe(tok_));
  advance();
  if (!is(Tok::kInt) && !is(Tok::kReal)) fail_expected("a version number after 'OPENQASM'");
  if (tok_.text != "2.0" && tok_.text != "2") {
    fail(tok_, "unsupported OpenQASM version " + excerpt(tok_.text) + " (only 2.0 is supported)");
  }
  advance();
  expect(Tok::kSemi, "';' after 'OPENQASM 2.0'");
  while (!is(Tok::kEnd)) statement();
  if (num_qubits_ == 0) fail(tok_, "the program declares no qubits (a 'qreg' is needed)");

  Circuit circuit(static_cast<int>(num_qubits_), static_cast<int>(num_clbits_));
  circuit.reserve(ops_.size());
  try {
    std::vector<ClassicalRegister> cregs;
    for (const Register& r : regs_) {
      if (!r.quantum) cregs.push_back({std::string(r.name), r.size});
    }
    circuit.set_classical_registers(std::move(cregs));
    std::size_t next_condition = 0;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      const PendingOp& op = ops_[i];
      switch (op.kind) {
        case OpKind::kGate:
          if (op.has_angle) {
            Angle angle = Angle::constant(op.params[0]);
            for (std::uint32_t k = 0; k < op.list_count; ++k) {
              const InputTerm& t = angle_terms_[op.list_begin + k];
              angle.add(t.param, -1, t.coeff);
            }
            circuit.add_rotation(op.gate, std::vector<int>(op.qubits, op.qubits + op.num_qubits), std::move(angle));
          } else {
            circuit.add_gate(op.gate, std::vector<int>(op.qubits, op.qubits + op.num_qubits),
                             std::vector<double>(op.params, op.params + op.num_params));
          }
          break;
        case OpKind::kMeasure: circuit.add_measure(op.qubits[0], op.clbit); break;
        case OpKind::kReset: circuit.add_reset(op.qubits[0]); break;
        case OpKind::kBarrier:
          circuit.add_barrier(std::vector<int>(barrier_qubits_.begin() + op.list_begin,
                                               barrier_qubits_.begin() + op.list_begin + op.list_count));
          break;
        case OpKind::kUnitary:
        case OpKind::kChannel: break;  // never produced
      }
      while (next_condition < conditions_.size() && conditions_[next_condition].last <= i) ++next_condition;
      if (next_condition < conditions_.size() && conditions_[next_condition].first <= i) {
        circuit.condition_last(conditions_[next_condition].condition);
      }
    }
    if (!inputs_.empty()) {
      std::vector<std::string> names;
      names.reserve(inputs_.size());
      for (const Input& in : inputs_) names.emplace_back(in.name);
      circuit.set_parameter_names(std::move(names));
    }
  } catch (const std::invalid_argument& e) {
    throw QasmError(filename_ + ": internal error while building the circuit: " + e.what());
  }
  return circuit;
}

void Parser::statement() {
  if (!is(Tok::kId)) fail(tok_, "expected a statement, found " + describe(tok_));
  const std::string_view w = tok_.text;
  switch (w.size()) {
    case 2:
      if (w == "if") return if_statement();
      break;
    case 4:
      if (w == "qreg") return register_declaration(true);
      if (w == "creg") return register_declaration(false);
      if (w == "gate") return gate_definition();
      break;
    case 5:
      if (w == "reset") return reset_statement();
      if (w == "input") return input_declaration();
      break;
    case 6:
      if (w == "opaque") fail(tok_, "opaque gate declarations are not supported");
      break;
    case 7:
      if (w == "include") return include_statement();
      if (w == "measure") return measure_statement();
      if (w == "barrier") return barrier_statement();
      break;
    case 8:
      if (w == "OPENQASM") fail(tok_, "'OPENQASM' may only appear once, at the start of the program");
      break;
    default: break;
  }
  gate_call();
}

void Parser::include_statement() {
  advance();
  if (!is(Tok::kString)) fail_expected("a file name in double quotes after 'include'");
  const Token file = tok_;
  const std::string_view name = file.text.substr(1, file.text.size() - 2);
  if (name != "qelib1.inc") {
    fail(file, "cannot include \"" + excerpt(name) +
                   "\": only \"qelib1.inc\" can be included (it is built in; no file is read)");
  }
  advance();
  expect(Tok::kSemi, "';' after the include");
  if (qelib1_included_) return;
  for (const QelibEntry& e : qelib1()) {
    const auto in = input_index_.find(e.name);
    if (in != input_index_.end()) {
      fail(file, "qelib1.inc defines gate " + quoted(e.name) + ", which is already declared as an input at line " +
                     std::to_string(inputs_[static_cast<std::size_t>(in->second)].line));
    }
    const auto it = def_index_.find(e.name);
    if (it != def_index_.end()) {
      fail(file, "qelib1.inc defines gate " + quoted(e.name) + ", which is already defined at line " +
                     std::to_string(defs_[static_cast<std::size_t>(it->second)].line));
    }
  }
  for (const QelibEntry& e : qelib1()) add_builtin(e, true);
  qelib1_included_ = true;
}

void Parser::register_declaration(bool quantum) {
  const char* kw = quantum ? "qreg" : "creg";
  advance();
  if (!is(Tok::kId)) fail_expected(std::string("a register name after '") + kw + "'");
  const Token name = tok_;
  advance();
  expect(Tok::kLBracket, "'[' after the register name");
  if (!is(Tok::kInt)) fail_expected("the register size (a non-negative integer)");
  const Token size_tok = tok_;
  const int size = parse_int(size_tok, "register size");
  if (size == 0) fail(size_tok, "a register needs at least one element");
  advance();
  expect(Tok::kRBracket, "']' after the register size");
  expect(Tok::kSemi, "';' after the register declaration");
  const auto found = reg_index_.find(name.text);
  if (found != reg_index_.end()) {
    fail(name, "register " + quoted(name.text) + " is already declared");
  }
  check_not_input(name, "a register");
  Register r;
  r.name = name.text;
  r.quantum = quantum;
  r.size = size;
  if (quantum) {
    r.offset = static_cast<int>(num_qubits_);
    num_qubits_ += size;
    if (num_qubits_ > noise::kMaxQubits) {
      fail(name, "too many qubits: the program declares " + std::to_string(num_qubits_) + " so far, at most " +
                     std::to_string(noise::kMaxQubits) + " are supported");
    }
    if (options_.check_qubits) {
      try {
        options_.check_qubits(static_cast<int>(num_qubits_));
      } catch (const std::exception& e) {
        fail(name, e.what());
      }
    }
  } else {
    r.offset = static_cast<int>(num_clbits_);
    num_clbits_ += size;
    if (num_clbits_ > 1000000000LL) fail(name, "too many classical bits");
  }
  reg_index_.emplace(r.name, static_cast<int>(regs_.size()));
  regs_.push_back(r);
}

void Parser::check_not_input(const Token& name, const char* what) const {
  const auto it = input_index_.find(name.text);
  if (it != input_index_.end()) {
    fail(name, quoted(name.text) + " is already declared as an input at line " +
                   std::to_string(inputs_[static_cast<std::size_t>(it->second)].line) + " and cannot name " + what);
  }
}

// `input float[64] name;` or `input angle name;` (the kraus extension documented in qasm2.hpp).
void Parser::input_declaration() {
  const Token kw = tok_;
  advance();
  if (is_word("float")) {
    advance();
    expect(Tok::kLBracket, "'[' after 'float' (inputs are 'float[64]')");
    if (!is(Tok::kInt) || tok_.text != "64") {
      if (!is(Tok::kInt)) fail_expected("64 in 'float[64]'");
      fail(tok_, "float[" + excerpt(tok_.text) + "] inputs are not supported: inputs are 'float[64]' or 'angle'");
    }
    advance();
    expect(Tok::kRBracket, "']' to close 'float[64]'");
  } else if (is_word("angle")) {
    advance();
    if (is(Tok::kLBracket)) {
      fail(tok_, "sized angles (angle[N]) are not supported: inputs are 'float[64]' or 'angle' (double precision)");
    }
  } else {
    fail_expected("the input type 'float[64]' or 'angle' after 'input'");
  }
  if (!is(Tok::kId)) fail_expected("an input name");
  const Token name = tok_;
  for (const char* reserved : kReservedWords) {
    if (name.text == reserved) fail(name, quoted(name.text) + " is a reserved word and cannot name an input");
  }
  const auto in = input_index_.find(name.text);
  if (in != input_index_.end()) {
    fail(name, "input " + quoted(name.text) + " is already declared at line " +
                   std::to_string(inputs_[static_cast<std::size_t>(in->second)].line));
  }
  const auto reg = reg_index_.find(name.text);
  if (reg != reg_index_.end()) {
    fail(name, quoted(name.text) + " is already a " +
                   (regs_[static_cast<std::size_t>(reg->second)].quantum ? "quantum" : "classical") +
                   " register and cannot name an input");
  }
  const auto def = def_index_.find(name.text);
  if (def != def_index_.end()) {
    const GateDef& d = defs_[static_cast<std::size_t>(def->second)];
    const std::string where = d.kind == DefKind::kUser ? "defined at line " + std::to_string(d.line)
                              : d.from_qelib1          ? "defined by qelib1.inc"
                                                       : "built in";
    fail(name, quoted(name.text) + " is already a gate (" + where + ") and cannot name an input");
  }
  advance();
  expect(Tok::kSemi, "';' after the input declaration");
  input_index_.emplace(name.text, static_cast<int>(inputs_.size()));
  inputs_.push_back({name.text, kw.line});
}

Arg Parser::parse_arg(bool quantum) {
  if (!is(Tok::kId)) fail_expected(quantum ? "a qubit or quantum register" : "a bit or classical register");
  const Token name = tok_;
  const auto it = reg_index_.find(name.text);
  if (it == reg_index_.end()) {
    fail(name, std::string("unknown ") + (quantum ? "quantum" : "classical") + " register " + quoted(name.text));
  }
  const Register& r = regs_[static_cast<std::size_t>(it->second)];
  if (r.quantum != quantum) {
    fail(name, quoted(name.text) + " is a " + (r.quantum ? "quantum" : "classical") + " register; expected a " +
                   (quantum ? "quantum" : "classical") + " one");
  }
  Arg a;
  a.reg = it->second;
  a.line = name.line;
  a.col = name.col;
  advance();
  if (is(Tok::kLBracket)) {
    advance();
    if (!is(Tok::kInt)) fail_expected("an index (a non-negative integer)");
    const Token idx = tok_;
    a.index = parse_int(idx, "index");
    if (a.index >= r.size) {
      fail(idx, "index " + excerpt(idx.text) + " is out of range for register " + quoted(r.name) + " of size " +
                    std::to_string(r.size));
    }
    advance();
    expect(Tok::kRBracket, "']' after the index");
  }
  return a;
}

std::string Parser::element_name(const Arg& a, int k) const {
  const Register& r = regs_[static_cast<std::size_t>(a.reg)];
  return excerpt(r.name) + "[" + std::to_string(a.index >= 0 ? a.index : k) + "]";
}

// ---- expressions ----

void Parser::parse_expr(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth) {
  parse_term(out, params, depth);
  while (is(Tok::kPlus) || is(Tok::kMinus)) {
    Instr in;
    in.op = is(Tok::kPlus) ? Op::kAdd : Op::kSub;
    in.line = tok_.line;
    in.col = tok_.col;
    advance();
    parse_term(out, params, depth);
    out.push_back(in);
  }
}

void Parser::parse_term(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth) {
  parse_unary(out, params, depth);
  while (is(Tok::kStar) || is(Tok::kSlash)) {
    Instr in;
    in.op = is(Tok::kStar) ? Op::kMul : Op::kDiv;
    in.line = tok_.line;
    in.col = tok_.col;
    advance();
    parse_unary(out, params, depth);
    out.push_back(in);
  }
}

void Parser::parse_unary(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth) {
  if (depth > kMaxExprDepth) fail(tok_, "expression nested too deeply");
  if (is(Tok::kMinus)) {
    Instr in;
    in.op = Op::kNeg;
    in.line = tok_.line;
    in.col = tok_.col;
    advance();
    parse_unary(out, params, depth + 1);
    out.push_back(in);
  } else if (is(Tok::kPlus)) {
    advance();
    parse_unary(out, params, depth + 1);
  } else {
    parse_power(out, params, depth);
  }
}

// power := primary ('^' unary)?  -- right-associative; the exponent may carry a sign (2^-1).
void Parser::parse_power(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth) {
  parse_primary(out, params, depth);
  if (is(Tok::kCaret)) {
    Instr in;
    in.op = Op::kPow;
    in.line = tok_.line;
    in.col = tok_.col;
    advance();
    parse_unary(out, params, depth + 1);
    out.push_back(in);
  }
}

void Parser::parse_primary(std::vector<Instr>& out, const std::vector<std::string_view>* params, int depth) {
  Instr in;
  in.line = tok_.line;
  in.col = tok_.col;
  if (is(Tok::kInt) || is(Tok::kReal)) {
    const char* b = tok_.text.data();
    const char* e = b + tok_.text.size();
    // from_chars does not take a leading '.'; "0.5" and ".5" are the same number.
    double v = 0.0;
    std::from_chars_result r{};
    if (*b == '.') {
      char buf[512];
      if (tok_.text.size() + 1 >= sizeof buf) fail(tok_, "number " + excerpt(tok_.text) + " is too long");
      buf[0] = '0';
      std::memcpy(buf + 1, b, tok_.text.size());
      r = std::from_chars(buf, buf + tok_.text.size() + 1, v);
      if (r.ec == std::errc{}) r.ptr = e;  // consumed it all
    } else {
      r = std::from_chars(b, e, v);
    }
    if (r.ec == std::errc::result_out_of_range || !std::isfinite(v)) {
      fail(tok_, "number " + excerpt(tok_.text) + " is out of range");
    }
    if (r.ec != std::errc{} || r.ptr != e) fail(tok_, "malformed number " + quoted(tok_.text));
    in.op = Op::kConst;
    in.value = v;
    out.push_back(in);
    advance();
    return;
  }
  if (is(Tok::kLParen)) {
    advance();
    parse_expr(out, params, depth + 1);
    expect(Tok::kRParen, "')' to close the parenthesis");
    return;
  }
  if (is(Tok::kId)) {
    const std::string_view w = tok_.text;
    if (w == "pi") {
      in.op = Op::kConst;
      in.value = kPi;
      out.push_back(in);
      advance();
      return;
    }
    if (params != nullptr) {
      for (std::size_t k = 0; k < params->size(); ++k) {
        if ((*params)[k] == w) {
          in.op = Op::kParam;
          in.index = static_cast<int>(k);
          out.push_back(in);
          advance();
          return;
        }
      }
    }
    Op f = Op::kConst;
    if (w == "sin") f = Op::kSin;
    else if (w == "cos") f = Op::kCos;
    else if (w == "tan") f = Op::kTan;
    else if (w == "exp") f = Op::kExp;
    else if (w == "ln") f = Op::kLn;
    else if (w == "sqrt") f = Op::kSqrt;
    if (f != Op::kConst) {
      advance();
      expect(Tok::kLParen, ("'(' after the function name '" + std::string(w) + "'").c_str());
      parse_expr(out, params, depth + 1);
      expect(Tok::kRParen, "')' to close the function argument");
      in.op = f;
      out.push_back(in);
      return;
    }
    const auto input = input_index_.find(w);
    if (params != nullptr) {
      if (input != input_index_.end()) {
        fail(tok_, "input " + quoted(w) + " cannot be used in a gate body (pass it to the gate as a parameter)");
      }
      fail(tok_, "unknown parameter " + quoted(w) + " (not a parameter of this gate)");
    }
    if (input != input_index_.end()) {
      in.op = Op::kInput;
      in.index = input->second;
      out.push_back(in);
      advance();
      return;
    }
    if (inputs_.empty()) {
      fail(tok_, "unknown identifier " + quoted(w) + " in an expression (only pi and numbers are allowed here)");
    }
    fail(tok_, "unknown identifier " + quoted(w) +
                   " in an expression (only pi, numbers and the inputs declared before it are allowed here)");
  }
  fail_expected("an expression");
}

void Parser::add_affine(Affine& a, const Affine& b, bool subtract) {
  if (subtract) {
    a.offset -= b.offset;
  } else {
    a.offset += b.offset;
  }
  if (b.count == 0) return;  // a's terms, if any, are already the last ones
  if (subtract) {
    for (std::uint32_t k = 0; k < b.count; ++k) terms_[b.begin + k].coeff = -terms_[b.begin + k].coeff;
  }
  if (a.count == 0) {
    a.begin = b.begin;
    a.count = b.count;
    return;
  }
  // a's terms are directly followed by b's: merge the two sorted lists.
  merge_.clear();
  const InputTerm* x = terms_.data() + a.begin;
  const InputTerm* const x_end = x + a.count;
  const InputTerm* y = x_end;
  const InputTerm* const y_end = y + b.count;
  while (x != x_end && y != y_end) {
    if (x->param < y->param) {
      merge_.push_back(*x++);
    } else if (y->param < x->param) {
      merge_.push_back(*y++);
    } else {
      merge_.push_back({x->param, x->coeff + y->coeff});
      ++x;
      ++y;
    }
  }
  merge_.insert(merge_.end(), x, x_end);
  merge_.insert(merge_.end(), y, y_end);
  terms_.resize(a.begin);
  terms_.insert(terms_.end(), merge_.begin(), merge_.end());
  a.count = static_cast<std::uint32_t>(merge_.size());
}

Affine Parser::evaluate(const Instr* begin, const Instr* end, const Affine* params, const GateDef* in_gate, int line,
                        int col) {
  std::vector<Affine>& st = eval_stack_;
  st.clear();
  auto err_at = [&](int err_line, int err_col, const std::string& what) {
    std::string msg = what;
    if (in_gate != nullptr) {
      msg += " in the body of gate " + quoted(in_gate->name) + ", expanding the call at line " +
             std::to_string(call_line_) + ", column " + std::to_string(call_col_);
    }
    fail(err_line, err_col, msg);
  };
  auto err = [&](const Instr& in, const std::string& what) { err_at(in.line, in.col, what); };
  auto not_affine = [&](const Instr& in, const char* what) {
    err(in, std::string(what) + ": angles must be affine in the input parameters");
  };
  auto function_of = [&](const Instr& in, const Affine& x, const char* name) {
    if (x.count > 0) not_affine(in, (std::string("'") + name + "' of a parameter").c_str());
  };
  for (const Instr* it = begin; it != end; ++it) {
    const Instr& in = *it;
    switch (in.op) {
      case Op::kConst: st.push_back({in.value, 0, 0}); break;
      case Op::kParam: {
        const Affine& p = params[in.index];
        Affine v{p.offset, 0, p.count};
        if (p.count > 0) {
          v.begin = static_cast<std::uint32_t>(terms_.size());
          terms_.resize(terms_.size() + p.count);
          std::copy_n(terms_.begin() + p.begin, p.count, terms_.begin() + v.begin);
        }
        st.push_back(v);
        break;
      }
      case Op::kInput:
        st.push_back({0.0, static_cast<std::uint32_t>(terms_.size()), 1});
        terms_.push_back({in.index, 1.0});
        break;
      case Op::kNeg: {
        Affine& x = st.back();
        x.offset = -x.offset;
        for (std::uint32_t k = 0; k < x.count; ++k) terms_[x.begin + k].coeff = -terms_[x.begin + k].coeff;
        break;
      }
      case Op::kSin: function_of(in, st.back(), "sin"); st.back().offset = std::sin(st.back().offset); break;
      case Op::kCos: function_of(in, st.back(), "cos"); st.back().offset = std::cos(st.back().offset); break;
      case Op::kTan: function_of(in, st.back(), "tan"); st.back().offset = std::tan(st.back().offset); break;
      case Op::kExp: function_of(in, st.back(), "exp"); st.back().offset = std::exp(st.back().offset); break;
      case Op::kLn: {
        function_of(in, st.back(), "ln");
        double& x = st.back().offset;
        if (!(x > 0.0)) err(in, "ln of a non-positive number (" + std::to_string(x) + ")");
        x = std::log(x);
        break;
      }
      case Op::kSqrt: {
        function_of(in, st.back(), "sqrt");
        double& x = st.back().offset;
        if (x < 0.0) err(in, "sqrt of a negative number (" + std::to_string(x) + ")");
        x = std::sqrt(x);
        break;
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kPow: {
        const Affine b = st.back();
        st.pop_back();
        Affine& a = st.back();
        switch (in.op) {
          case Op::kAdd:
            if ((a.count | b.count) == 0) {
              a.offset += b.offset;
            } else {
              add_affine(a, b, false);
            }
            break;
          case Op::kSub:
            if ((a.count | b.count) == 0) {
              a.offset -= b.offset;
            } else {
              add_affine(a, b, true);
            }
            break;
          case Op::kMul:
            if (a.count > 0 && b.count > 0) not_affine(in, "'*' of two parameters");
            for (std::uint32_t k = 0; k < a.count; ++k) terms_[a.begin + k].coeff *= b.offset;
            if (b.count > 0) {
              for (std::uint32_t k = 0; k < b.count; ++k) terms_[b.begin + k].coeff *= a.offset;
              a.begin = b.begin;
              a.count = b.count;
            }
            a.offset *= b.offset;
            break;
          case Op::kDiv:
            if (b.count > 0) not_affine(in, "'/' by a parameter");
            if (b.offset == 0.0) err(in, "division by zero");
            for (std::uint32_t k = 0; k < a.count; ++k) terms_[a.begin + k].coeff /= b.offset;
            a.offset /= b.offset;
            break;
          default: {
            if (a.count > 0 || b.count > 0) not_affine(in, "'^' of a parameter");
            const double r = std::pow(a.offset, b.offset);
            if (std::isnan(r)) {
              err(in, std::to_string(a.offset) + " ^ " + std::to_string(b.offset) + " is not a real number");
            }
            a.offset = r;
            break;
          }
        }
        break;
      }
    }
    // Work on input terms grows with their number: one step per term of each intermediate value.
    if (st.back().count > 0) charge(st.back().count);
  }
  const Affine v = st.back();
  bool finite = std::isfinite(v.offset);
  for (std::uint32_t k = 0; k < v.count; ++k) finite = finite && std::isfinite(terms_[v.begin + k].coeff);
  if (!finite) err_at(line, col, "the expression's value is not a finite number");
  return v;
}

int Parser::parse_top_params() {
  if (!is(Tok::kLParen)) return 0;
  advance();
  if (is(Tok::kRParen)) {
    advance();
    return 0;
  }
  int count = 0;
  for (;;) {
    code_.clear();
    const int line = tok_.line, col = tok_.col;
    parse_expr(code_, nullptr, 0);
    pstack_.push_back(evaluate(code_.data(), code_.data() + code_.size(), nullptr, nullptr, line, col));
    top_param_pos_.emplace_back(line, col);
    ++count;
    if (is(Tok::kComma)) {
      advance();
      continue;
    }
    if (!is(Tok::kRParen)) fail_expected("',' or ')' in the parameter list");
    advance();
    return count;
  }
}

// ---- statements ----

void Parser::gate_call() {
  const Token name = tok_;
  const int def_index = lookup_gate(name);
  advance();
  pstack_.clear();
  top_param_pos_.clear();
  terms_.clear();
  qstack_.clear();
  args_.clear();
  call_line_ = name.line;
  call_col_ = name.col;
  const int np = parse_top_params();
  for (;;) {
    args_.push_back(parse_arg(true));
    if (is(Tok::kComma)) {
      advance();
      continue;
    }
    if (!is(Tok::kSemi)) fail_expected("';' after the qubit list");
    advance();
    break;
  }
  const GateDef& def = defs_[static_cast<std::size_t>(def_index)];
  if (np != def.num_params) {
    fail(name, "gate " + quoted(def.name) + " takes " + plural(def.num_params, "parameter") + ", got " +
                   std::to_string(np));
  }
  const int nq = static_cast<int>(args_.size());
  if (nq != def.num_qubits) {
    fail(name, "gate " + quoted(def.name) + " acts on " + plural(def.num_qubits, "qubit") + ", got " +
                   std::to_string(nq));
  }
  if (!terms_.empty()) check_parametrised_args(def, 0, nullptr, nullptr);
  // Broadcasting: every whole-register operand must have the same size.
  int width = -1;
  int first_reg_arg = -1;
  for (int k = 0; k < nq; ++k) {
    const Arg& a = args_[static_cast<std::size_t>(k)];
    if (a.index >= 0) continue;
    const int size = regs_[static_cast<std::size_t>(a.reg)].size;
    if (width < 0) {
      width = size;
      first_reg_arg = k;
    } else if (size != width) {
      const Register& r0 = regs_[static_cast<std::size_t>(args_[static_cast<std::size_t>(first_reg_arg)].reg)];
      fail(a.line, a.col, "registers of different sizes in one gate call: " + quoted(r0.name) + " has " +
                              plural(width, "qubit") + ", " + quoted(regs_[static_cast<std::size_t>(a.reg)].name) +
                              " has " + std::to_string(size));
    }
  }
  const int instances = width < 0 ? 1 : width;
  for (int i = 0; i < instances; ++i) {
    qstack_.clear();
    for (int k = 0; k < nq; ++k) {
      const Arg& a = args_[static_cast<std::size_t>(k)];
      const Register& r = regs_[static_cast<std::size_t>(a.reg)];
      const int q = r.offset + (a.index >= 0 ? a.index : i);
      for (int j = 0; j < k; ++j) {
        if (qstack_[static_cast<std::size_t>(j)] == q) {
          fail(a.line, a.col, "qubit " + element_name(a, i) + " is used twice in one gate call");
        }
      }
      qstack_.push_back(q);
    }
    expand(def_index, 0, 0);
  }
}

void Parser::measure_statement() {
  call_line_ = tok_.line;
  call_col_ = tok_.col;
  advance();
  const Arg q = parse_arg(true);
  expect(Tok::kArrow, "'->' after the measured qubits");
  const Arg c = parse_arg(false);
  expect(Tok::kSemi, "';' after the measurement");
  const Register& qr = regs_[static_cast<std::size_t>(q.reg)];
  const Register& cr = regs_[static_cast<std::size_t>(c.reg)];
  if ((q.index < 0) != (c.index < 0)) {
    const Arg& whole = q.index < 0 ? q : c;
    fail(whole.line, whole.col, "measure takes a qubit and a bit, or a quantum and a classical register of the same "
                                "size, not a register and a single element");
  }
  PendingOp op;
  op.kind = OpKind::kMeasure;
  op.num_qubits = 1;
  if (q.index >= 0) {
    op.qubits[0] = qr.offset + q.index;
    op.clbit = cr.offset + c.index;
    charge(1);
    ops_.push_back(op);
    return;
  }
  if (qr.size != cr.size) {
    fail(c.line, c.col, "measure needs registers of the same size: " + quoted(qr.name) + " has " +
                            plural(qr.size, "qubit") + ", " + quoted(cr.name) + " has " + plural(cr.size, "bit"));
  }
  charge(static_cast<std::size_t>(qr.size));
  for (int i = 0; i < qr.size; ++i) {
    op.qubits[0] = qr.offset + i;
    op.clbit = cr.offset + i;
    ops_.push_back(op);
  }
}

void Parser::reset_statement() {
  call_line_ = tok_.line;
  call_col_ = tok_.col;
  advance();
  const Arg q = parse_arg(true);
  expect(Tok::kSemi, "';' after the reset qubits");
  const Register& r = regs_[static_cast<std::size_t>(q.reg)];
  PendingOp op;
  op.kind = OpKind::kReset;
  op.num_qubits = 1;
  const int first = q.index >= 0 ? q.index : 0;
  const int last = q.index >= 0 ? q.index + 1 : r.size;
  charge(static_cast<std::size_t>(last - first));
  for (int i = first; i < last; ++i) {
    op.qubits[0] = r.offset + i;
    ops_.push_back(op);
  }
}

void Parser::barrier_statement() {
  call_line_ = tok_.line;
  call_col_ = tok_.col;
  advance();
  const std::size_t begin = barrier_qubits_.size();
  for (;;) {
    const Arg a = parse_arg(true);
    const Register& r = regs_[static_cast<std::size_t>(a.reg)];
    const int first = a.index >= 0 ? a.index : 0;
    const int last = a.index >= 0 ? a.index + 1 : r.size;
    for (int i = first; i < last; ++i) {
      const int q = r.offset + i;
      for (std::size_t j = begin; j < barrier_qubits_.size(); ++j) {
        if (barrier_qubits_[j] == q) fail(a.line, a.col, "qubit " + element_name(a, i) + " appears twice in the barrier");
      }
      barrier_qubits_.push_back(q);
    }
    if (is(Tok::kComma)) {
      advance();
      continue;
    }
    if (!is(Tok::kSemi)) fail_expected("';' after the qubit list");
    advance();
    break;
  }
  PendingOp op;
  op.kind = OpKind::kBarrier;
  op.list_begin = static_cast<std::uint32_t>(begin);
  op.list_count = static_cast<std::uint32_t>(barrier_qubits_.size() - begin);
  charge(op.list_count);
  ops_.push_back(op);
}

// `if (c == n) qop;`: a gate call, measure or reset that acts only when classical register c holds
// n (its bit 0 least significant). Every operation the statement expands to carries the condition.
void Parser::if_statement() {
  const Token kw = tok_;
  advance();
  expect(Tok::kLParen, "'(' after 'if'");
  if (!is(Tok::kId)) fail_expected("a classical register in the condition");
  const Token name = tok_;
  const auto it = reg_index_.find(name.text);
  if (it == reg_index_.end()) fail(name, "unknown classical register " + quoted(name.text));
  const Register& r = regs_[static_cast<std::size_t>(it->second)];
  if (r.quantum) fail(name, quoted(name.text) + " is a quantum register; a condition compares a classical register");
  advance();
  if (is(Tok::kLBracket)) {
    fail(tok_, "a condition compares a whole classical register ('if (" + excerpt(r.name) +
                   " == n)'); OpenQASM 2 has no condition on one bit");
  }
  expect(Tok::kEqEq, "'==' after the register in the condition");
  if (!is(Tok::kInt)) fail_expected("a non-negative integer to compare the register with");
  const Token value_tok = tok_;
  std::uint64_t value = 0;
  for (const char c : value_tok.text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (~std::uint64_t{0} - digit) / 10) fail(value_tok, "value " + excerpt(value_tok.text) + " is too large");
    value = value * 10 + digit;
  }
  if (r.size < 64 && value >> r.size != 0) {
    fail(value_tok, "value " + excerpt(value_tok.text) + " does not fit in register " + quoted(r.name) + " of " +
                        plural(r.size, "bit") + " (at most " + std::to_string((std::uint64_t{1} << r.size) - 1) + ")");
  }
  advance();
  expect(Tok::kRParen, "')' to close the condition");
  if (!is(Tok::kId)) fail_expected("a gate call, measure or reset after the condition");
  const std::string_view w = tok_.text;
  if (w == "barrier") fail(tok_, "a barrier cannot be conditional");
  if (w == "if") fail(tok_, "conditions cannot be nested");
  for (const char* word : {"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "input"}) {
    if (w == word) fail(tok_, "expected a gate call, measure or reset after the condition, found " + quoted(w));
  }
  const std::size_t first = ops_.size();
  if (w == "measure") {
    measure_statement();
  } else if (w == "reset") {
    reset_statement();
  } else {
    gate_call();
  }
  // A broadcast measurement into the register the condition reads would change it between its
  // measurements, while OpenQASM evaluates the condition once for the statement.
  if (ops_.size() - first > 1 && ops_[first].kind == OpKind::kMeasure) {
    for (std::size_t i = first; i < ops_.size(); ++i) {
      if (ops_[i].clbit >= r.offset && ops_[i].clbit < r.offset + r.size) {
        fail(kw, "a conditional measurement broadcast into the register its condition reads (" + quoted(r.name) +
                     ") is not supported");
      }
    }
  }
  PendingCondition pc;
  pc.first = first;
  pc.last = ops_.size();
  pc.condition.clbit = r.offset;
  pc.condition.size = r.size;
  pc.condition.value = value;
  conditions_.push_back(pc);
}

void Parser::gate_definition() {
  const Token kw = tok_;
  advance();
  if (!is(Tok::kId)) fail_expected("a gate name after 'gate'");
  const Token name = tok_;
  for (const char* reserved : kReservedWords) {
    if (name.text == reserved) fail(name, quoted(name.text) + " is a reserved word and cannot name a gate");
  }
  check_not_input(name, "a gate");
  {
    const auto it = def_index_.find(name.text);
    if (it != def_index_.end()) {
      const GateDef& old = defs_[static_cast<std::size_t>(it->second)];
      if (old.kind != DefKind::kUser) {
        fail(name, "gate " + quoted(name.text) + " is already defined" +
                       (old.from_qelib1 ? std::string(" by qelib1.inc") : std::string(" (it is built in)")));
      }
      fail(name, "gate " + quoted(name.text) + " is already defined at line " + std::to_string(old.line));
    }
  }
  advance();
  std::vector<std::string_view> params;
  std::vector<std::string_view> qubits;
  if (is(Tok::kLParen)) {
    advance();
    if (!is(Tok::kRParen)) {
      for (;;) {
        if (!is(Tok::kId)) fail_expected("a parameter name");
        for (std::string_view p : params) {
          if (p == tok_.text) fail(tok_, "parameter " + quoted(tok_.text) + " is listed twice");
        }
        if (tok_.text == "pi") fail(tok_, "'pi' cannot be a parameter name");
        if (params.size() == kMaxGateParams) {
          fail(tok_, "gate " + quoted(name.text) + " has more than " + std::to_string(kMaxGateParams) + " parameters");
        }
        params.push_back(tok_.text);
        advance();
        if (is(Tok::kComma)) {
          advance();
          continue;
        }
        if (!is(Tok::kRParen)) fail_expected("',' or ')' in the parameter names");
        break;
      }
    }
    advance();
  }
  for (;;) {
    if (!is(Tok::kId)) fail_expected("a qubit argument name");
    for (std::string_view q : qubits) {
      if (q == tok_.text) fail(tok_, "qubit argument " + quoted(tok_.text) + " is listed twice");
    }
    for (std::string_view p : params) {
      if (p == tok_.text) fail(tok_, quoted(tok_.text) + " is already a parameter name");
    }
    if (qubits.size() == static_cast<std::size_t>(noise::kMaxQubits)) {
      fail(tok_, "gate " + quoted(name.text) + " has more than " + std::to_string(noise::kMaxQubits) +
                     " qubit arguments (at most " + std::to_string(noise::kMaxQubits) + " qubits are supported)");
    }
    qubits.push_back(tok_.text);
    advance();
    if (is(Tok::kComma)) {
      advance();
      continue;
    }
    break;
  }
  if (!is(Tok::kLBrace)) fail_expected("'{' to open the body of gate " + quoted(name.text));
  advance();

  GateDef def;
  def.name = name.text;
  def.kind = DefKind::kUser;
  def.num_params = static_cast<int>(params.size());
  def.num_qubits = static_cast<int>(qubits.size());
  def.line = kw.line;
  auto formal = [&](const Token& t) -> int {
    for (std::size_t k = 0; k < qubits.size(); ++k) {
      if (qubits[k] == t.text) return static_cast<int>(k);
    }
    fail(t, "unknown qubit argument " + quoted(t.text) + " (not an argument of gate " + quoted(name.text) + ")");
  };
  for (;;) {
    if (is(Tok::kRBrace)) break;
    if (is(Tok::kEnd)) {
      fail(tok_, "expected '}' to close the body of gate " + quoted(name.text) + " (opened at line " +
                     std::to_string(kw.line) + "), found end of file");
    }
    if (!is(Tok::kId)) fail(tok_, "expected a gate call or '}' in the body of gate " + quoted(name.text) + ", found " + describe(tok_));
    const Token callee = tok_;
    const std::string_view w = callee.text;
    if (w == "measure" || w == "reset") fail(callee, quoted(w) + " is not allowed in a gate body");
    if (w == "gate") fail(callee, "gate definitions cannot be nested");
    if (w == "qreg" || w == "creg") fail(callee, "registers cannot be declared in a gate body");
    if (w == "input") fail(callee, "inputs cannot be declared in a gate body");
    if (w == "if") fail(callee, "classical control (if) is not allowed in a gate body");
    if (w == "opaque") fail(callee, "opaque gate declarations are not supported");
    BodyOp op;
    op.line = callee.line;
    op.col = callee.col;
    op.qubit_begin = static_cast<std::uint32_t>(def.body_qubits.size());
    op.expr_begin = static_cast<std::uint32_t>(def.exprs.size());
    const bool barrier = w == "barrier";
    if (!barrier) {
      if (w == name.text) fail(callee, "gate " + quoted(w) + " cannot call itself");
      op.def = lookup_gate(callee);
    }
    advance();
    if (!barrier && is(Tok::kLParen)) {
      advance();
      if (!is(Tok::kRParen)) {
        for (;;) {
          ExprRange r;
          r.line = tok_.line;
          r.col = tok_.col;
          r.begin = static_cast<std::uint32_t>(def.code.size());
          parse_expr(def.code, &params, 0);
          r.end = static_cast<std::uint32_t>(def.code.size());
          def.exprs.push_back(r);
          if (is(Tok::kComma)) {
            advance();
            continue;
          }
          if (!is(Tok::kRParen)) fail_expected("',' or ')' in the parameter list");
          break;
        }
      }
      advance();
    }
    for (;;) {
      if (!is(Tok::kId)) fail_expected("a qubit argument of gate " + quoted(name.text));
      const Token arg = tok_;
      const int f = formal(arg);
      for (std::uint32_t j = op.qubit_begin; j < def.body_qubits.size(); ++j) {
        if (def.body_qubits[j] == f) fail(arg, "qubit argument " + quoted(arg.text) + " is used twice in one operation");
      }
      def.body_qubits.push_back(f);
      advance();
      if (is(Tok::kLBracket)) fail(tok_, "qubit arguments in a gate body are single qubits and cannot be indexed");
      if (is(Tok::kComma)) {
        advance();
        continue;
      }
      if (!is(Tok::kSemi)) fail_expected("';' after the qubit list");
      advance();
      break;
    }
    op.num_qubits = static_cast<std::uint32_t>(def.body_qubits.size()) - op.qubit_begin;
    op.num_exprs = static_cast<std::uint32_t>(def.exprs.size()) - op.expr_begin;
    if (!barrier) {
      const GateDef& c = defs_[static_cast<std::size_t>(op.def)];
      if (c.depth + 1 > def.depth) def.depth = c.depth + 1;
      if (def.depth > kMaxGateDepth) {
        fail(callee, "gate calls nested more than " + std::to_string(kMaxGateDepth) + " levels deep");
      }
      if (static_cast<int>(op.num_exprs) != c.num_params) {
        fail(callee, "gate " + quoted(c.name) + " takes " + plural(c.num_params, "parameter") + ", got " +
                         std::to_string(op.num_exprs));
      }
      if (static_cast<int>(op.num_qubits) != c.num_qubits) {
        fail(callee, "gate " + quoted(c.name) + " acts on " + plural(c.num_qubits, "qubit") + ", got " +
                         std::to_string(op.num_qubits));
      }
    }
    def.body.push_back(op);
  }
  advance();  // '}'
  def_index_.emplace(def.name, static_cast<int>(defs_.size()));
  defs_.push_back(std::move(def));
}

// ---- emission ----

// Counts `steps` of expansion against kMaxSteps, before the work is done.
void Parser::charge(std::size_t steps) {
  steps_ += steps;
  if (steps_ > kMaxSteps) {
    fail(call_line_, call_col_, "the program expands to more than " + std::to_string(kMaxSteps) +
                                    " steps (operations, gate calls, barrier qubits and parameter evaluations) "
                                    "at this statement");
  }
}

void Parser::push_gate(Gate g, const int* qubits, int nq, const double* params, int np) {
  charge(1);
  PendingOp op;
  op.kind = OpKind::kGate;
  op.gate = g;
  op.num_qubits = static_cast<std::uint8_t>(nq);
  op.num_params = static_cast<std::uint8_t>(np);
  for (int k = 0; k < nq; ++k) op.qubits[k] = qubits[k];
  for (int k = 0; k < np; ++k) op.params[k] = params[k];
  ops_.push_back(op);
}

// A p or u1 becomes rz: equal up to a global phase, which no density matrix shows.
void Parser::push_rotation(Gate g, const int* qubits, int nq, const Affine& angle) {
  charge(1);
  PendingOp op;
  op.kind = OpKind::kGate;
  op.gate = g == Gate::kP ? Gate::kRZ : g;
  op.num_qubits = static_cast<std::uint8_t>(nq);
  for (int k = 0; k < nq; ++k) op.qubits[k] = qubits[k];
  op.num_params = 1;
  op.params[0] = angle.offset;
  op.has_angle = true;
  op.list_begin = static_cast<std::uint32_t>(angle_terms_.size());
  for (std::uint32_t k = 0; k < angle.count; ++k) {
    const InputTerm& t = terms_[angle.begin + k];
    if (t.coeff != 0.0) angle_terms_.push_back(t);
  }
  op.list_count = static_cast<std::uint32_t>(angle_terms_.size()) - op.list_begin;
  ops_.push_back(op);
}

void Parser::check_parametrised_args(const GateDef& callee, std::size_t p_off, const GateDef* in_gate,
                                     const BodyOp* site) {
  if (callee.kind == DefKind::kUser) return;  // the arguments reach the gates of its body
  if (callee.kind == DefKind::kTable && (is_pauli_rotation(callee.gate) || callee.gate == Gate::kP)) return;
  for (int k = 0; k < callee.num_params; ++k) {
    const Affine& a = pstack_[p_off + static_cast<std::size_t>(k)];
    if (a.count == 0) continue;
    std::string msg = quoted(callee.name) + " cannot take the parameter " +
                      quoted(inputs_[static_cast<std::size_t>(terms_[a.begin].param)].name) +
                      ": only rx, ry, rz, rxx, ryy, rzz, rzx (and p, u1 as rz) can (exact gradients need a "
                      "Pauli-rotation generator)";
    if (in_gate == nullptr) {
      const auto& pos = top_param_pos_[static_cast<std::size_t>(k)];
      fail(pos.first, pos.second, msg);
    }
    msg += " in the body of gate " + quoted(in_gate->name) + ", expanding the call at line " +
           std::to_string(call_line_) + ", column " + std::to_string(call_col_);
    const ExprRange& r = in_gate->exprs[site->expr_begin + static_cast<std::uint32_t>(k)];
    fail(r.line, r.col, msg);
  }
}

void Parser::push_gate(Gate g, std::initializer_list<int> qubits, std::initializer_list<double> params) {
  push_gate(g, qubits.begin(), static_cast<int>(qubits.size()), params.begin(), static_cast<int>(params.size()));
}

// e^{i lambda} on the state where all m qubits are 1 (symmetric in the qubits).
void Parser::mcphase(const int* qubits, int m, double lambda) {
  if (m == 1) {
    push_gate(Gate::kP, {qubits[0]}, {lambda});
    return;
  }
  if (m == 2) {
    push_gate(Gate::kCP, {qubits[0], qubits[1]}, {lambda});
    return;
  }
  const int b = qubits[m - 2], t = qubits[m - 1];
  push_gate(Gate::kCP, {b, t}, {lambda / 2});
  mcx(qubits, m - 2, b);
  push_gate(Gate::kCP, {b, t}, {-lambda / 2});
  mcx(qubits, m - 2, b);
  int rest[8];
  for (int k = 0; k < m - 2; ++k) rest[k] = qubits[k];
  rest[m - 2] = t;
  mcphase(rest, m - 1, lambda / 2);
}

// X on `target` when all k controls are 1.
void Parser::mcx(const int* controls, int k, int target) {
  if (k == 1) {
    push_gate(Gate::kCX, {controls[0], target});
    return;
  }
  if (k == 2) {
    push_gate(Gate::kCCX, {controls[0], controls[1], target});
    return;
  }
  int all[8];
  for (int j = 0; j < k; ++j) all[j] = controls[j];
  all[k] = target;
  push_gate(Gate::kH, {target});
  mcphase(all, k + 1, kPi);
  push_gate(Gate::kH, {target});
}

void Parser::emit_extra(DefKind kind, const int* q, const double* p) {
  (void)p;
  switch (kind) {
    case DefKind::kU0: push_gate(Gate::kI, {q[0]}); return;  // u0(gamma) is the identity
    case DefKind::kDelay: return;
    case DefKind::kCSX:  // controlled sqrt(X) = H (controlled P(pi/2)) H on the target
      push_gate(Gate::kH, {q[1]});
      push_gate(Gate::kCP, {q[0], q[1]}, {kPi / 2});
      push_gate(Gate::kH, {q[1]});
      return;
    case DefKind::kC3X: mcx(q, 3, q[3]); return;
    case DefKind::kC4X: mcx(q, 4, q[4]); return;
    case DefKind::kC3SqrtX:
      push_gate(Gate::kH, {q[3]});
      mcphase(q, 4, kPi / 2);
      push_gate(Gate::kH, {q[3]});
      return;
    case DefKind::kRCCX:
      // Qiskit's RCCXGate: |a b c> with a the least significant bit; |011> -> i|111>,
      // |111> -> -i|011>, |101> -> -|101>. That is the Toffoli followed by the diagonal
      // CZ(a, c) CP(-pi/2)(a, b).
      push_gate(Gate::kCCX, {q[0], q[1], q[2]});
      push_gate(Gate::kCZ, {q[0], q[2]});
      push_gate(Gate::kCP, {q[0], q[1]}, {-kPi / 2});
      return;
    case DefKind::kRC3X: {
      // Qiskit's RC3XGate: |0011> -> i|0011>, |1011> -> -i|1011>, |0111> -> -|1111>,
      // |1111> -> |0111>. That is C3X followed by the diagonal CCZ(a, b, d) CP(pi/2)(a, b)
      // and a -pi/2 phase on a = b = c = 1.
      mcx(q, 3, q[3]);
      push_gate(Gate::kH, {q[3]});
      push_gate(Gate::kCCX, {q[0], q[1], q[3]});
      push_gate(Gate::kH, {q[3]});
      push_gate(Gate::kCP, {q[0], q[1]}, {kPi / 2});
      mcphase(q, 3, -kPi / 2);
      return;
    }
    case DefKind::kTable:
    case DefKind::kUser: return;
  }
}

// Emits gate `def_index` with parameters pstack_[p_off...] and qubits qstack_[q_off...].
void Parser::expand(int def_index, std::size_t p_off, std::size_t q_off) {
  const GateDef& d = defs_[static_cast<std::size_t>(def_index)];
  if (d.kind == DefKind::kTable) {
    // check_parametrised_args let a parametrised value through to a one-parameter rotation only.
    if (d.num_params == 1 && pstack_[p_off].count > 0) {
      push_rotation(d.gate, qstack_.data() + q_off, d.num_qubits, pstack_[p_off]);
      return;
    }
    double p[4];
    for (int k = 0; k < d.num_params; ++k) p[k] = pstack_[p_off + static_cast<std::size_t>(k)].offset;
    push_gate(d.gate, qstack_.data() + q_off, d.num_qubits, p, d.num_params);
    return;
  }
  charge(1);  // the call itself: a gate that emits nothing still costs a step
  if (d.kind != DefKind::kUser) {
    int q[8];
    double p[4];
    for (int k = 0; k < d.num_qubits; ++k) q[k] = qstack_[q_off + static_cast<std::size_t>(k)];
    for (int k = 0; k < d.num_params; ++k) p[k] = pstack_[p_off + static_cast<std::size_t>(k)].offset;
    emit_extra(d.kind, q, p);
    return;
  }
  for (const BodyOp& op : d.body) {
    if (op.def < 0) {
      charge(op.num_qubits);
      PendingOp b;
      b.kind = OpKind::kBarrier;
      b.list_begin = static_cast<std::uint32_t>(barrier_qubits_.size());
      b.list_count = op.num_qubits;
      for (std::uint32_t j = 0; j < op.num_qubits; ++j) {
        const int q = qstack_[q_off + static_cast<std::size_t>(d.body_qubits[op.qubit_begin + j])];
        barrier_qubits_.push_back(q);
      }
      ops_.push_back(b);
      continue;
    }
    const std::size_t np_off = pstack_.size();
    const std::size_t nq_off = qstack_.size();
    const std::size_t terms_mark = terms_.size();
    for (std::uint32_t e = 0; e < op.num_exprs; ++e) {
      const ExprRange& r = d.exprs[op.expr_begin + e];
      charge(r.end - r.begin);
      const Affine v =
          evaluate(d.code.data() + r.begin, d.code.data() + r.end, pstack_.data() + p_off, &d, r.line, r.col);
      pstack_.push_back(v);
    }
    if (terms_.size() != terms_mark) check_parametrised_args(defs_[static_cast<std::size_t>(op.def)], np_off, &d, &op);
    for (std::uint32_t j = 0; j < op.num_qubits; ++j) {
      const int q = qstack_[q_off + static_cast<std::size_t>(d.body_qubits[op.qubit_begin + j])];
      qstack_.push_back(q);
    }
    expand(op.def, np_off, nq_off);
    pstack_.resize(np_off);
    qstack_.resize(nq_off);
    terms_.resize(terms_mark);
  }
}

}  // namespace

Circuit parse_qasm2(std::string_view source, const std::string& filename, const Qasm2Options& options) {
  if (source.size() > kMaxSourceBytes) {
    throw QasmError(filename + ": the program is larger than " + std::to_string(kMaxSourceBytes >> 20) + " MiB");
  }
  Parser parser(source, filename, options);
  return parser.parse();
}

Circuit read_qasm2_file(const std::string& path, const Qasm2Options& options) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw QasmError(path + ": cannot open the file (" + std::strerror(errno) + ")");
  std::string text;
  char buf[1 << 16];
  // Stops one buffer past the limit, so that an endless source (/dev/zero) ends there.
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (n < sizeof buf || text.size() > kMaxSourceBytes) break;
  }
  if (std::ferror(f.get())) throw QasmError(path + ": cannot read the file (" + std::strerror(errno) + ")");
  return parse_qasm2(text, path, options);
}

const std::vector<ExpandedGate>& qasm2_expanded_gates() {
  static const std::vector<ExpandedGate> gates = {
      {"u0", "id"},
      {"csx", "h, cp, h"},
      {"c3x", "cp, h, cx (a multi-controlled X)"},
      {"c3sqrtx", "h, cp, cx (a multi-controlled phase)"},
      {"c4x", "cp, h, cx (a multi-controlled X)"},
      {"rccx", "ccx, cz, cp"},
      {"rc3x", "cp, h, cx, ccx"},
      {"delay", "nothing"},
  };
  return gates;
}

}  // namespace kraus::engine
