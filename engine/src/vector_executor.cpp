#include "vector_executor.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "kraus/noise/channel.hpp"
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
    }
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

WalkStats Walker::walk(Complex* psi, SplitMix64* rng, std::vector<std::uint8_t>* clbits) {
  WalkStats stats;
  const int n = schedule_.num_qubits;
  // A lower bound on ||psi||^2 since the last exact normalisation (operators picked by their bounds
  // are applied unnormalised); renormalised before it could underflow.
  double norm_bound = 1.0;
  bool normalised = true;
  Complex sigma[64];
  for (const VectorOp& op : schedule_.ops) {
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

}  // namespace kraus::engine::detail
