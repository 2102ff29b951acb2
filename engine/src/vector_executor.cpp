#include "vector_executor.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "kraus/noise/channel.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/matrix.hpp"

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_in_parallel() { return 0; }
#endif

namespace kraus::engine::detail {
namespace {

// The Kraus operators of a channel as trajectories sample them: bounds from the smallest eigenvalue
// of K^dagger K, scaled unitaries (K^dagger K = b I) applied as unitaries, the identity skipped.
SampledChannel sampled_channel(const noise::Channel& channel) {
  SampledChannel out;
  out.k = channel.num_qubits();
  const int d = 1 << out.k;
  for (const noise::Matrix& kop : channel.kraus()) {
    SampledOperator op;
    const noise::Matrix kdk = kop.adjoint() * kop;
    const double bound = std::max(0.0, noise::eigh(kdk).values.front());
    op.kdk.assign(kdk.data(), kdk.data() + d * d);
    // K^dagger K = b I to rounding: a scaled unitary, whose probability b does not depend on the state.
    const noise::Matrix scaled_identity = kdk - Complex(bound, 0.0) * noise::Matrix::identity(d);
    if (bound > 0.0 && scaled_identity.max_abs() <= 1e-13) {
      op.bound = bound;
      op.kind = SampledOperator::Kind::kUnitary;
      const double inv = 1.0 / std::sqrt(bound);
      op.matrix.resize(static_cast<std::size_t>(d * d));
      for (int i = 0; i < d * d; ++i) op.matrix[static_cast<std::size_t>(i)] = inv * kop.data()[i];
      // U = phase * I: nothing to apply (a global phase).
      const Complex phase = op.matrix[0];
      bool identity = true;
      for (int r = 0; r < d && identity; ++r)
        for (int c = 0; c < d && identity; ++c)
          identity = std::abs(op.matrix[static_cast<std::size_t>(r * d + c)] - (r == c ? phase : Complex(0.0))) <= 1e-14;
      if (identity) op.kind = SampledOperator::Kind::kIdentity;
    } else {
      // The bound is kept a little below the eigenvalue so that rounding never makes it exceed the
      // exact probability.
      op.bound = bound * (1.0 - 1e-12);
      op.kind = SampledOperator::Kind::kGeneral;
      op.matrix.assign(kop.data(), kop.data() + d * d);
      // K^-1 = (K^dagger K)^-1 K^dagger while K's condition number stays below 1e4 (damping's
      // no-jump operator until gamma = 1 - 1e-8); jumps, projectors and resets are singular.
      const noise::HermitianEigen e = noise::eigh(kdk);
      if (e.values.front() >= 1e-8 * e.values.back()) {
        noise::Matrix inverse_kdk(d, d);
        for (int r = 0; r < d; ++r)
          for (int c = 0; c < d; ++c) {
            Complex v(0.0, 0.0);
            for (int j = 0; j < d; ++j) v += e.vectors(r, j) * std::conj(e.vectors(c, j)) / e.values[static_cast<std::size_t>(j)];
            inverse_kdk(r, c) = v;
          }
        const noise::Matrix undo = inverse_kdk * kop.adjoint();
        op.undo.assign(undo.data(), undo.data() + d * d);
      }
    }
    op.adjoint = adjoint_of(op.matrix, out.k);
    if (op.kind == SampledOperator::Kind::kUnitary) op.undo = op.adjoint;
    out.bound_total += op.bound;
    out.operators.push_back(std::move(op));
  }
  return out;
}

// Position of qubit q in a block's list, -1 when absent.
int position(const int* qubits, int k, int q) {
  for (int j = 0; j < k; ++j)
    if (qubits[j] == q) return j;
  return -1;
}

// The 2^kb x 2^kb matrix of u (on qubits uq[0..ku), all among bq[0..kb)) on the block's qubits.
void embed(const Complex* u, const int* uq, int ku, const int* bq, int kb, Complex* out) {
  int pos[4];
  std::uint32_t umask = 0;
  for (int j = 0; j < ku; ++j) {
    pos[j] = position(bq, kb, uq[j]);
    umask |= 1u << pos[j];
  }
  const int db = 1 << kb, du = 1 << ku;
  for (int r = 0; r < db; ++r) {
    int ru = 0;
    for (int j = 0; j < ku; ++j) ru |= ((r >> pos[j]) & 1) << j;
    for (int c = 0; c < db; ++c) {
      Complex v(0.0, 0.0);
      if ((static_cast<std::uint32_t>(r) & ~umask) == (static_cast<std::uint32_t>(c) & ~umask)) {
        int cu = 0;
        for (int j = 0; j < ku; ++j) cu |= ((c >> pos[j]) & 1) << j;
        v = u[ru * du + cu];
      }
      out[r * db + c] = v;
    }
  }
}

}  // namespace

void apply_observable(const PauliSum& observable, const Complex* psi, Complex* out, Complex* scratch, int n) {
  static const Complex x[4] = {0.0, 1.0, 1.0, 0.0};
  static const Complex y[4] = {0.0, Complex(0.0, -1.0), Complex(0.0, 1.0), 0.0};
  static const Complex z[4] = {1.0, 0.0, 0.0, -1.0};
  const std::uint64_t dim = std::uint64_t{1} << n;
  std::fill(out, out + dim, Complex(0.0, 0.0));
  for (const auto& [c, p] : observable.terms) {
    std::copy(psi, psi + dim, scratch);
    // One 1-qubit pass per factor: X, Y (where x and z meet) or Z.
    for (int q = 0; q < n; ++q) {
      const bool has_x = (p.x_mask >> q) & 1, has_z = (p.z_mask >> q) & 1;
      if (!has_x && !has_z) continue;
      noise::apply(noise::vector_call(&q, 1, has_x && has_z ? y : has_x ? x : z), scratch, n);
    }
    for (std::uint64_t i = 0; i < dim; ++i) out[i] += c * scratch[i];
  }
}

std::vector<Complex> adjoint_of(const std::vector<Complex>& u, int k) {
  const int d = 1 << k;
  std::vector<Complex> out(u.size());
  for (int r = 0; r < d; ++r)
    for (int c = 0; c < d; ++c) out[static_cast<std::size_t>(c * d + r)] = std::conj(u[static_cast<std::size_t>(r * d + c)]);
  return out;
}

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::operator()() {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

VectorSchedule vector_schedule(const Program& program, const double* angle_values) {
  VectorSchedule s;
  s.num_qubits = program.num_qubits;
  std::map<const noise::Channel*, int> built;  // channels shared by many steps are prepared once
  for (const Step& step : program.steps) {
    VectorOp op;
    op.k = step.call.k;
    std::copy(step.call.qubits, step.call.qubits + 3, op.qubits);
    op.clbit = step.clbit;
    op.condition = step.condition;
    if (step.kind == StepKind::kRotation) {
      op.matrix.resize(std::size_t{1} << (2 * op.k));
      Program::rotation_matrix(step, angle_values[static_cast<std::size_t>(step.angle)], op.matrix.data());
    } else if (step.kind == StepKind::kAngleChannel) {
      const noise::Matrix sop = step.angle_channel->superoperator(angle_values[static_cast<std::size_t>(step.angle)]);
      op.channel = static_cast<int>(s.channels.size());
      s.channels.push_back(sampled_channel(noise::Channel::from_superoperator(sop)));
    } else if (step.channel) {
      auto it = built.find(step.channel.get());
      if (it == built.end()) {
        it = built.emplace(step.channel.get(), static_cast<int>(s.channels.size())).first;
        s.channels.push_back(sampled_channel(*step.channel));
      }
      op.channel = it->second;
    } else {
      if (step.call.kind != noise::KernelKind::kUnitary) throw std::logic_error("a gate step without a unitary call");
      op.matrix = step.call.matrix;
    }
    s.ops.push_back(std::move(op));
  }
  return s;
}

Walker::Walker(const VectorSchedule& schedule, int fusion_max_qubits)
    : schedule_(schedule), fusion_max_qubits_(fusion_max_qubits) {
  if (fusion_max_qubits < 1 || fusion_max_qubits > 4) throw std::invalid_argument("fusion_max_qubits must be 1 to 4");
  std::size_t most = 0;
  for (const SampledChannel& ch : schedule.channels) most = std::max(most, ch.operators.size());
  probability_.resize(most);
  stride_ = std::size_t{1} << (2 * std::max(fusion_max_qubits, 3));
}

// Queues `scale` * matrix on `qubits`: merged into the latest block it may join (a block after the
// last one sharing a qubit with it, so that moving it there crosses only blocks on other qubits)
// whose qubits with its own stay within fusion_max_qubits, preferring the smallest result; else a
// new block.
void Walker::push(int k, const int* qubits, const Complex* matrix, double scale) {
  int last = -1;
  for (std::size_t b = used_; b-- > 0;) {
    bool shares = false;
    for (int j = 0; j < k; ++j) shares = shares || position(blocks_[b].qubits, blocks_[b].k, qubits[j]) >= 0;
    if (shares) {
      last = static_cast<int>(b);
      break;
    }
  }
  int best = -1, best_size = fusion_max_qubits_;
  for (std::size_t b = last < 0 ? 0 : static_cast<std::size_t>(last); b < used_; ++b) {
    int size = blocks_[b].k;
    for (int j = 0; j < k; ++j) size += position(blocks_[b].qubits, blocks_[b].k, qubits[j]) < 0 ? 1 : 0;
    if (size <= best_size) {  // ties go to the later block
      best = static_cast<int>(b);
      best_size = size;
    }
  }
  const int d = 1 << k;
  if (best < 0) {
    if (used_ == blocks_.size()) {
      blocks_.emplace_back();
      matrices_.resize(blocks_.size() * stride_);
    }
    Block& nb = blocks_[used_];
    Complex* m = this->matrix(used_++);
    nb.k = k;
    std::copy(qubits, qubits + k, nb.qubits);
    for (int i = 0; i < d * d; ++i) m[i] = scale * matrix[i];
    return;
  }
  Block& b = blocks_[static_cast<std::size_t>(best)];
  Complex* m = this->matrix(static_cast<std::size_t>(best));
  Complex grown[256], op[256], product[256];
  if (best_size > b.k) {  // the block takes the new qubits as its higher bits: m (x) I
    int nq[4] = {-1, -1, -1, -1};
    std::copy(b.qubits, b.qubits + b.k, nq);
    int nk = b.k;
    for (int j = 0; j < k; ++j)
      if (position(b.qubits, b.k, qubits[j]) < 0) nq[nk++] = qubits[j];
    embed(m, b.qubits, b.k, nq, nk, grown);
    b.k = nk;
    std::copy(nq, nq + nk, b.qubits);
    std::copy(grown, grown + (1 << (2 * nk)), m);
  }
  embed(matrix, qubits, k, b.qubits, b.k, op);
  const int db = 1 << b.k;
  for (int r = 0; r < db; ++r)
    for (int c = 0; c < db; ++c) {
      Complex acc(0.0, 0.0);
      for (int t = 0; t < db; ++t) acc += op[r * db + t] * m[t * db + c];
      product[r * db + c] = scale * acc;
    }
  std::copy(product, product + db * db, m);
}

// Applies the queued matrices in an order their shared qubits allow, in rounds: first every matrix on
// qubits below kChunkQubits that no earlier pending matrix on a shared qubit holds back, all of them
// chunk by chunk in one sweep over memory (a chunk of 2^kChunkQubits amplitudes stays in cache
// while they run on it); then, one pass each, every other matrix nothing earlier holds back.
void Walker::flush(Complex* psi) {
  const int n = schedule_.num_qubits;
  const int chunk_qubits = std::min(n, kChunkQubits);
  const std::uint64_t low = (std::uint64_t{1} << chunk_qubits) - 1;
  calls_.resize(used_);
  masks_.resize(used_);
  done_.assign(used_, 0);
  for (std::size_t b = 0; b < used_; ++b) {
    const Block& block = blocks_[b];
    calls_[b] = noise::vector_call(block.qubits, block.k, matrix(b));
    masks_[b] = 0;
    for (int j = 0; j < block.k; ++j) masks_[b] |= std::uint64_t{1} << block.qubits[j];
  }
  std::size_t remaining = used_;
  std::vector<std::size_t>& sweep = sweep_;
  while (remaining > 0) {
    sweep.clear();
    std::uint64_t held = 0;  // qubits of earlier matrices still pending
    for (std::size_t b = 0; b < used_; ++b) {
      if (done_[b]) continue;
      if ((masks_[b] & ~low) == 0 && (masks_[b] & held) == 0) {
        sweep.push_back(b);
      } else {
        held |= masks_[b];
      }
    }
    if (!sweep.empty()) {
      const auto chunks = static_cast<std::int64_t>(std::uint64_t{1} << (n - chunk_qubits));
      const std::uint64_t size = std::uint64_t{1} << chunk_qubits;
#pragma omp parallel for schedule(static) if (n >= noise::kVectorParallelMinQubits && chunks > 1 && !omp_in_parallel())
      for (std::int64_t c = 0; c < chunks; ++c) {
        for (const std::size_t b : sweep) noise::apply(calls_[b], psi + static_cast<std::uint64_t>(c) * size, chunk_qubits);
      }
      for (const std::size_t b : sweep) done_[b] = 1;
      remaining -= sweep.size();
    }
    held = 0;
    for (std::size_t b = 0; b < used_; ++b) {
      if (done_[b]) continue;
      if ((masks_[b] & ~low) != 0 && (masks_[b] & held) == 0) {
        noise::apply(calls_[b], psi, n);
        done_[b] = 1;
        --remaining;
      } else {
        held |= masks_[b];
      }
    }
  }
  used_ = 0;
}

namespace {

// Whether the classical bits hold the condition's value (bits from the 64th on must be 0).
bool holds(const Condition& c, const std::vector<std::uint8_t>& clbits) {
  for (int b = 0; b < c.size; ++b) {
    const unsigned want = b < 64 ? static_cast<unsigned>((c.value >> b) & 1u) : 0u;
    if (clbits[static_cast<std::size_t>(c.clbit + b)] != want) return false;
  }
  return true;
}

}  // namespace

WalkStats Walker::walk(Complex* psi, SplitMix64* rng, std::vector<std::uint8_t>* clbits, WalkRecord* record) {
  WalkStats stats;
  const int n = schedule_.num_qubits;
  const std::uint64_t dim = std::uint64_t{1} << n;
  if (record) {
    record->chosen.clear();
    record->saved_at.clear();
    record->saved_norm2.clear();
  }
  // Saves psi (flushed, squared norm norm2) as the state before op `at`.
  auto save = [&](std::size_t at, double norm2) {
    const std::size_t slot = record->saved_at.size();
    if (slot == record->saved.size()) {
      require_memory(n, 16 * dim, "a trajectory gradient's saved state");
      record->saved.emplace_back(dim);
    }
    std::copy(psi, psi + dim, record->saved[slot].data());
    record->saved_at.push_back(at);
    record->saved_norm2.push_back(norm2);
  };
  // A lower bound on ||psi||^2 since the last exact normalisation (operators picked by their bounds
  // are applied unnormalised); renormalised before it could underflow.
  double norm_bound = 1.0;
  bool normalised = true;
  Complex sigma[64];
  for (std::size_t at = 0; at < schedule_.ops.size(); ++at) {
    const VectorOp& op = schedule_.ops[at];
    if (op.condition.active() || op.clbit >= 0) {
      if (clbits == nullptr) throw std::logic_error("a measurement or condition in a walk without classical bits");
      if (op.condition.active() && !holds(op.condition, *clbits)) continue;
    }
    if (op.channel < 0) {
      push(op.k, op.qubits, op.matrix.data(), 1.0);
      continue;
    }
    if (rng == nullptr) throw std::logic_error("a channel in a walk without random numbers");
    const SampledChannel& ch = schedule_.channels[static_cast<std::size_t>(op.channel)];
    ++stats.decisions;
    const double r = rng->uniform();
    double cumulative = 0.0;
    std::size_t chosen = ch.operators.size();
    for (std::size_t a = 0; a < ch.operators.size(); ++a) {
      cumulative += ch.operators[a].bound;
      if (r < cumulative) {
        chosen = a;
        break;
      }
    }
    if (chosen < ch.operators.size()) {  // decided by the bounds, without reading the state
      if (op.clbit >= 0) (*clbits)[static_cast<std::size_t>(op.clbit)] = static_cast<std::uint8_t>(chosen);
      const SampledOperator& so = ch.operators[chosen];
      if (record) {
        record->chosen.push_back(static_cast<int>(chosen));
        if (so.undo.empty() && so.kind != SampledOperator::Kind::kIdentity) {
          flush(psi);
          save(at, noise::squared_norm(psi, n));
        }
      }
      if (so.kind == SampledOperator::Kind::kIdentity) continue;
      push(ch.k, op.qubits, so.matrix.data(), 1.0);
      if (so.kind == SampledOperator::Kind::kGeneral) {
        normalised = false;
        norm_bound *= so.bound;
        if (norm_bound < 1e-100) {
          flush(psi);
          noise::scale(psi, n, 1.0 / std::sqrt(noise::squared_norm(psi, n)));
          norm_bound = 1.0;
          normalised = true;
        }
      }
      continue;
    }
    // Beyond the bounds: the exact probabilities from the reduced density matrix of the channel's
    // qubits, and [sum b, 1) split into the remainders p_a - b_a.
    ++stats.state_reads;
    flush(psi);
    noise::reduced_density_matrix(psi, n, op.qubits, ch.k, sigma);
    const int d = 1 << ch.k;
    double trace = 0.0;
    for (int i = 0; i < d; ++i) trace += sigma[i * d + i].real();
    if (!(trace > 0.0)) throw std::runtime_error("a trajectory's state vanished (norm " + std::to_string(trace) + ")");
    std::size_t fallback = 0;
    double fallback_rest = -1.0;
    cumulative = ch.bound_total;
    for (std::size_t a = 0; a < ch.operators.size(); ++a) {
      const SampledOperator& so = ch.operators[a];
      double p = 0.0;  // Tr(K^dagger K sigma) / Tr(sigma) = Re sum_ij kdk(i, j) sigma(j, i)
      for (int i = 0; i < d; ++i)
        for (int j = 0; j < d; ++j) p += (so.kdk[static_cast<std::size_t>(i * d + j)] * sigma[j * d + i]).real();
      probability_[a] = p / trace;
      const double rest = std::max(0.0, probability_[a] - so.bound);
      if (rest > fallback_rest) {
        fallback = a;
        fallback_rest = rest;
      }
      cumulative += rest;
      if (chosen == ch.operators.size() && r < cumulative) chosen = a;
    }
    if (chosen == ch.operators.size()) chosen = fallback;  // rounding left r beyond the sum
    if (op.clbit >= 0) (*clbits)[static_cast<std::size_t>(op.clbit)] = static_cast<std::uint8_t>(chosen);
    const SampledOperator& so = ch.operators[chosen];
    if (record) {
      record->chosen.push_back(static_cast<int>(chosen));
      if (so.undo.empty() && so.kind != SampledOperator::Kind::kIdentity) save(at, trace);
    }
    // K psi / ||K psi||: ||K psi||^2 = p trace for the state as it stands.
    const double factor = so.kind == SampledOperator::Kind::kGeneral ? 1.0 / std::sqrt(probability_[chosen] * trace)
                                                                     : 1.0 / std::sqrt(trace);
    push(ch.k, op.qubits, so.matrix.data(), factor);
    norm_bound = 1.0;
    normalised = true;
  }
  flush(psi);
  if (!normalised) noise::scale(psi, n, 1.0 / std::sqrt(noise::squared_norm(psi, n)));
  return stats;
}

BackwardCalls::BackwardCalls(const VectorSchedule& s) : gate_undo(s.ops.size()), adjoint(s.ops.size()) {
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    const VectorOp& op = s.ops[i];
    if (op.channel < 0) {
      gate_undo[i] = adjoint_of(op.matrix, op.k);
      continue;
    }
    for (const SampledOperator& so : s.channels[static_cast<std::size_t>(op.channel)].operators) {
      const bool saved = so.kind == SampledOperator::Kind::kGeneral && so.undo.empty();
      adjoint[i].push_back(saved ? noise::vector_call(op.qubits, op.k, so.adjoint.data()) : noise::VectorCall{});
    }
  }
}

BackwardWorkspace::BackwardWorkspace(int num_qubits, int fusion_max_qubits)
    : psi_segment{num_qubits, {}, {}},
      lambda_segment{num_qubits, {}, {}},
      psi_walker(psi_segment, fusion_max_qubits),
      lambda_walker(lambda_segment, fusion_max_qubits) {}

namespace {

// Whether two Pauli strings (X^x Z^z up to phase) commute: an even number of qubits where one has X
// and the other Z.
bool commute(std::uint64_t x1, std::uint64_t z1, std::uint64_t x2, std::uint64_t z2) {
  return (__builtin_popcountll((x1 & z2) ^ (z1 & x2)) & 1) == 0;
}

}  // namespace

// Scaling: let psi_t be the trajectory's normalised state at a point of the backward pass and lambda_t
// its backward state (across an operator K of conditional probability p: psi_t = sqrt(p) K^-1 psi_t',
// lambda_t = K^dagger lambda_t' / sqrt(p)). The pass holds psi = c psi_t and lambda = lambda_t / c
// for some c > 0: applying K^-1 to psi and K^dagger to lambda divides c by sqrt(p) and keeps the pair,
// so p is never needed, and <lambda|P|psi> = <lambda_t|P|psi_t>. Only a restored saved state (c = 1)
// needs the c before it: ||psi||, one norm.
void adjoint_backward(const Program& program, const VectorSchedule& schedule, const BackwardCalls& calls,
                      const double* x, const WalkRecord& record, Complex* psi, const std::vector<Complex*>& lambdas,
                      double* jacobian, BackwardWorkspace& ws) {
  const int n = program.num_qubits;
  const std::uint64_t dim = std::uint64_t{1} << n;
  const std::size_t params = static_cast<std::size_t>(program.num_parameters);
  std::size_t choice = record.chosen.size(), saved = record.saved_at.size();
  Complex sigma[64];
  // Matrices wait in the segments until the state is read; then they run fused and chunked (a walk)
  // over psi and every lambda.
  auto queue = [&](const VectorOp& op, const std::vector<Complex>& on_psi, const std::vector<Complex>& on_lambda) {
    for (int side = 0; side < 2; ++side) {
      VectorOp u;
      u.k = op.k;
      std::copy(op.qubits, op.qubits + 3, u.qubits);
      u.matrix = side == 0 ? on_psi : on_lambda;
      (side == 0 ? ws.psi_segment : ws.lambda_segment).ops.push_back(std::move(u));
    }
  };
  auto flush = [&] {
    if (ws.psi_segment.ops.empty()) return;
    ws.psi_walker.walk(psi, nullptr);
    for (Complex* l : lambdas) ws.lambda_walker.walk(l, nullptr);
    ws.psi_segment.ops.clear();
    ws.lambda_segment.ops.clear();
  };
  // log of a bound on c (K^-1 stretches psi by at most 1 / sqrt(lambda_min(K^dagger K))); psi is
  // renormalised (and the lambdas scaled back) before it could overflow.
  double log_growth = 0.0;
  ws.psi_segment.ops.clear();
  ws.lambda_segment.ops.clear();
  for (std::size_t i = schedule.ops.size(); i-- > 0;) {
    const VectorOp& op = schedule.ops[i];
    const Step& step = program.steps[i];
    if (op.channel < 0 && step.kind == StepKind::kRotation) {
      // The run of rotations ending here (backwards) whose generators commute with each other: each one's
      // derivative, Im <lambda|P|psi> at the state after it, is the same at the state after the whole
      // run, so one pass over the states reads them all.
      flush();
      ws.run.clear();
      ws.x.clear();
      ws.z.clear();
      for (std::size_t j = i + 1; j-- > 0;) {
        const Step& r = program.steps[j];
        if (schedule.ops[j].channel >= 0 || r.kind != StepKind::kRotation) break;
        bool fits = true;
        for (std::size_t m = 0; m < ws.run.size() && fits; ++m) fits = commute(r.x_mask, r.z_mask, ws.x[m], ws.z[m]);
        if (!fits) break;
        ws.run.push_back(j);
        ws.x.push_back(r.x_mask);
        ws.z.push_back(r.z_mask);
      }
      const int count = static_cast<int>(ws.run.size());
      ws.reads.resize(ws.run.size());
      for (std::size_t o = 0; o < lambdas.size(); ++o) {
        noise::pauli_inner_products(lambdas[o], psi, n, ws.x.data(), ws.z.data(), count, ws.reads.data());
        for (std::size_t m = 0; m < ws.run.size(); ++m) {
          // P = sign i^|x & z| X^x Z^z on the register.
          static const Complex kPowers[4] = {{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}, {0.0, -1.0}};
          const Step& r = program.steps[ws.run[m]];
          const double d = (r.sign * kPowers[__builtin_popcountll(r.x_mask & r.z_mask) & 3] * ws.reads[m]).imag();
          for (const AngleTerm& t : program.angles[static_cast<std::size_t>(r.angle)].terms) {
            if (t.param >= 0) jacobian[o * params + static_cast<std::size_t>(t.param)] += d * Angle::term_derivative(t, x);
          }
        }
      }
      for (const std::size_t j : ws.run) queue(schedule.ops[j], calls.gate_undo[j], calls.gate_undo[j]);
      i = ws.run.back();  // the loop goes on before the run
      continue;
    }
    if (op.channel < 0) {
      queue(op, calls.gate_undo[i], calls.gate_undo[i]);
      continue;
    }
    const auto a = static_cast<std::size_t>(record.chosen[--choice]);
    const SampledOperator& so = schedule.channels[static_cast<std::size_t>(op.channel)].operators[a];
    if (so.kind == SampledOperator::Kind::kIdentity) continue;  // a global phase on both
    if (!so.undo.empty()) {
      queue(op, so.undo, so.adjoint);
      if (so.kind == SampledOperator::Kind::kGeneral) log_growth -= 0.5 * std::log(so.bound);
      if (log_growth > 200.0) {
        flush();
        const double norm2 = noise::squared_norm(psi, n);
        noise::scale(psi, n, 1.0 / std::sqrt(norm2));
        for (Complex* l : lambdas) noise::scale(l, n, std::sqrt(norm2));
        log_growth = 0.0;
      }
      continue;
    }
    // A singular operator: psi before it is the saved state (c = 1 there), and lambda_t =
    // lambda / c' = lambda ||psi|| after it.
    flush();
    const double norm2 = noise::squared_norm(psi, n);
    if (saved == 0 || record.saved_at[--saved] != i) throw std::logic_error("a trajectory's saved states are out of order");
    std::copy(record.saved[saved].begin(), record.saved[saved].begin() + static_cast<std::ptrdiff_t>(dim), psi);
    noise::scale(psi, n, 1.0 / std::sqrt(record.saved_norm2[saved]));
    // p = Tr(K^dagger K sigma) for the reduced density matrix sigma of the operator's qubits.
    noise::reduced_density_matrix(psi, n, op.qubits, op.k, sigma);
    const int d = 1 << op.k;
    double p = 0.0;
    for (int r = 0; r < d; ++r)
      for (int c = 0; c < d; ++c) p += (so.kdk[static_cast<std::size_t>(r * d + c)] * sigma[c * d + r]).real();
    if (!(p > 0.0)) throw std::runtime_error("a trajectory's branch has probability " + std::to_string(p));
    const double factor = std::sqrt(norm2 / p);
    ws.scaled = calls.adjoint[i][a];
    for (Complex& m : ws.scaled.matrix) m *= factor;
    for (Complex* l : lambdas) noise::apply(ws.scaled, l, n);
    log_growth = 0.0;
  }
  ws.psi_segment.ops.clear();  // the undos before the first rotation change no derivative
  ws.lambda_segment.ops.clear();
}

}  // namespace kraus::engine::detail
