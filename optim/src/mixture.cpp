// CircuitFunction: batches as data mixtures (GradientOptions::data_mixtures, docs/optim.md).
//
// When the data enter only through the state after the program's first k steps (engine::data_prefix:
// a product of one-qubit states ρ_x = ⊗_q ρ_q(x), or a pure amplitude-encoded state ρ_x = ψ_x ψ_x†)
// and E is the rest of the program (a channel that does not depend on x), every readout is linear
// in that state:
//     F_i(x) = Tr(O_i E(ρ_x)) = Tr(A_i ρ_x),   A_i = E†(O_i),
// and the gradient of a batch's loss, Σ_x Σ_i w_{x,i} ∂F_i(x)/∂θ with w the cotangent, is
//     Σ_i ∂/∂θ Tr(O_i E(σ_i)),   σ_i = Σ_x w_{x,i} ρ_x (Hermitian, not necessarily positive).
// So a batch costs, per output, one backward pass for A_i and one adjoint gradient for σ_i, whatever
// the number of samples (fewer adjoint gradients when the cotangent has low rank, as a loss of few
// logits has: below), plus per sample O(4^n) work against each A_i and σ_i, which runs as matrix
// products (BLAS): split the qubits into low (L: 0..l-1) and high (H) halves, so that
// ρ_x = ρ_x^L ⊗ ρ_x^H; with the "block" layout G[a, b] = M(r, c) of a 2^n x 2^n matrix M, where
// a = r_L + c_L 2^l and b = r_H + c_H 2^h (r = r_L + r_H 2^l, c = c_L + c_H 2^l),
//     Tr(A ρ_x) = Σ_ab G_A[a, b] conj(vec ρ_x^L)[a] conj(vec ρ_x^H)[b]   and
//     blocks(σ) = V_L diag(w) V_H^T   (columns of V_L, V_H: vec ρ_x^L, vec ρ_x^H).
// A pure state's: Tr(A ψψ†) = ψ† A ψ and σ = Ψ diag(w) Ψ†.
#include <array>
#include <chrono>

#include <armadillo>

#include "circuit_function.hpp"

namespace kraus::optim {
namespace {

// The samples' states after the prefix: V_L and V_H (product states), or Ψ (pure states).
struct SampleStates {
  int low = 0;  // l: the qubits of V_L
  arma::cx_mat vl, vh, psi;
  bool pure() const { return !psi.is_empty(); }
};

// vec of ⊗_{j < count} rho[first + j] (qubit first + j is bit j), column-major, into out (4^count).
void product_block(const std::array<Complex, 4>* rho, int first, int count, Complex* out) {
  out[0] = 1.0;
  std::uint64_t s = 1;  // the current matrix is s x s, column-major
  for (int j = 0; j < count; ++j) {
    const Complex* q = rho[first + j].data();
    // new(r + b s, c + b' s) = old(r, c) q(b, b'), written from the last element back (in place).
    for (std::uint64_t cc = 2 * s; cc-- > 0;) {
      for (std::uint64_t rr = 2 * s; rr-- > 0;) {
        const std::uint64_t b = rr / s, bp = cc / s;
        out[rr + cc * 2 * s] = out[(rr % s) + (cc % s) * s] * q[b + 2 * bp];
      }
    }
    s *= 2;
  }
}

// G (4^l x 4^h) <-> M (2^n x 2^n, column-major) in the block layout above: runs of 2^l elements.
template <class Copy>
void for_block_runs(int n, int l, const Copy& copy) {
  const int h = n - l;
  const std::uint64_t L = std::uint64_t{1} << l, H = std::uint64_t{1} << h, d = std::uint64_t{1} << n;
  for (std::uint64_t ch = 0; ch < H; ++ch) {
    for (std::uint64_t cl = 0; cl < L; ++cl) {
      const std::uint64_t c = cl + ch * L;
      for (std::uint64_t rh = 0; rh < H; ++rh) copy(rh * L + c * d, cl * L + (rh + ch * H) * L * L, L);
    }
  }
}

}  // namespace

bool CircuitFunction::Impl::use_mixtures(int num_samples, GradientMethod method) const {
  return rest != nullptr && options.data_mixtures && options.trajectories == 0 && options.shots == 0 &&
         method == GradientMethod::kAdjoint &&
         static_cast<std::size_t>(num_samples) >= 2 * observables.size();
}

void CircuitFunction::Impl::heisenberg(Workspace& ws, int i) {
  program.bind(ws.angles.data(), ws.bound);
  const std::size_t calls = program.forward.size();
  ws.heisenberg.resize(calls);
  for (std::size_t j = 0; j < calls; ++j) {
    ws.heisenberg[calls - 1 - j] =
        program.forward_source[j] >= 0 ? noise::adjoint_call(ws.bound[j]) : program.forward_adjoint[j];
  }
  Complex* o = ws.obs.data();
  std::fill(o, o + d * d, Complex(0.0, 0.0));
  for (const auto& [coeff, ps] : observables[static_cast<std::size_t>(i)].terms) {
    detail::add_pauli(o, d, ps.x_mask, ps.z_mask, coeff);
  }
  if (heisenberg_sweeps.empty()) {
    for (const noise::KernelCall& c : ws.heisenberg) noise::apply(c, o, n);
  } else {
    noise::run_sweeps(heisenberg_sweeps, ws.heisenberg.data(), o, n, /*hermitian=*/true);
  }
  evaluations.fetch_add(1, std::memory_order_relaxed);
}

void CircuitFunction::Impl::mixture_batch(const double* theta, const double* xs, int num_samples,
                                          const BatchCotangent* cotangent, double* values, double* gradient) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  CircuitTiming direct;  // the phases run one after the other: their wall times
  const int m = static_cast<int>(observables.size());
  const auto N = static_cast<arma::uword>(num_samples);
  // The samples' states after the prefix.
  SampleStates st;
  {
    std::vector<double> angles(program.angles.size());
    if (program.amplitude_features > 0) {
      st.psi.set_size(d, N);
      for (arma::uword x = 0; x < N; ++x) program.initial_state_vector(xs + x * num_features, st.psi.colptr(x));
    } else {
      st.low = n / 2;
      st.vl.set_size(arma::uword{1} << (2 * st.low), N);
      st.vh.set_size(arma::uword{1} << (2 * (n - st.low)), N);
      std::vector<std::array<Complex, 4>> rho(static_cast<std::size_t>(n));
      for (arma::uword x = 0; x < N; ++x) {
        program.angle_values(theta, xs + x * num_features, angles.data());
        for (auto& r : rho) {
          r[0] = 1.0;
          r[1] = r[2] = r[3] = 0.0;
        }
        for (int k = 0; k < prefix; ++k) {
          const engine::Step& s = program.steps[static_cast<std::size_t>(k)];
          noise::KernelCall call = s.call;
          const double a = s.angle >= 0 ? angles[static_cast<std::size_t>(s.angle)] : 0.0;
          if (s.kind == engine::StepKind::kRotation) {
            call.kind = noise::KernelKind::kUnitary;
            call.matrix.resize(4);
            engine::Program::rotation_matrix(s, a, call.matrix.data());
          } else if (s.kind == engine::StepKind::kAngleChannel) {
            const noise::Matrix sop = s.angle_channel->superoperator(a);
            call.kind = noise::KernelKind::kSuperoperator;
            call.matrix.assign(sop.data(), sop.data() + static_cast<std::size_t>(sop.rows()) * sop.cols());
          }
          const int q = call.qubits[0];
          call.qubits[0] = 0;
          noise::apply(call, rho[static_cast<std::size_t>(q)].data(), 1);
        }
        product_block(rho.data(), 0, st.low, st.vl.colptr(x));
        product_block(rho.data(), st.low, n - st.low, st.vh.colptr(x));
      }
    }
  }
  // The rest's angles do not read the features: any feature vector will do.
  const std::vector<double> x0(static_cast<std::size_t>(num_features), 0.0);
  const auto ensure = [&](std::vector<Complex>& buffer) {
    if (buffer.size() != d * d) {
      engine::require_memory(n, engine::density_matrix_bytes(n));
      buffer.assign(d * d, Complex(0.0, 0.0));
    }
  };
  // Values: A_i = E^dagger(O_i), then Tr(A_i ρ_x) for every sample.
  arma::mat vals(N, static_cast<arma::uword>(m));
  rest->run_tasks(m, [&](Workspace& ws, int i) {
    ensure(ws.obs);
    rest->compute_angles(theta, x0.data(), ws.angles);
    rest->heisenberg(ws, i);
    arma::cx_mat t;
    if (st.pure()) {
      const arma::cx_mat a(ws.obs.data(), d, d, /*copy_aux_mem=*/false, /*strict=*/true);
      t = a * st.psi;
      vals.col(static_cast<arma::uword>(i)) = arma::real(arma::sum(arma::conj(st.psi) % t, 0)).t();
    } else {
      ensure(ws.mix);
      for_block_runs(n, st.low, [&](std::uint64_t from, std::uint64_t to, std::uint64_t len) {
        std::memcpy(static_cast<void*>(ws.mix.data() + to), static_cast<const void*>(ws.obs.data() + from),
                    len * sizeof(Complex));
      });
      const arma::cx_mat g(ws.mix.data(), st.vl.n_rows, st.vh.n_rows, /*copy_aux_mem=*/false, /*strict=*/true);
      t = g * arma::conj(st.vh);
      vals.col(static_cast<arma::uword>(i)) = arma::real(arma::sum(arma::conj(st.vl) % t, 0)).t();
    }
  });
  for (arma::uword x = 0; x < N; ++x) {
    for (int i = 0; i < m; ++i) values[x * static_cast<arma::uword>(m) + static_cast<arma::uword>(i)] = vals(x, i);
  }
  if (cotangent == nullptr) return;  // evaluate_batch times the call
  direct.forward_seconds = since(start);
  Clock::time_point phase = Clock::now();
  // Gradient: the cotangent of every sample, W (N x m), factored as W = U S V^T (thin SVD, the
  // directions with S_k > 1e-14 S_max): Σ_x Σ_i W_xi ∂F_i(x) = Σ_k ∂/∂θ Tr(O'_k E(σ'_k)) with
  // O'_k = Σ_i S_k V_ik O_i and σ'_k = Σ_x U_xk ρ_x. So a loss of few logits (a binary head: W has
  // rank 1) costs one adjoint gradient per logit rather than per output.
  arma::mat w(N, static_cast<arma::uword>(m));
  std::vector<double> wx(static_cast<std::size_t>(m));
  for (arma::uword x = 0; x < N; ++x) {
    (*cotangent)(static_cast<int>(x), values + x * static_cast<arma::uword>(m), wx.data());
    for (int i = 0; i < m; ++i) w(x, static_cast<arma::uword>(i)) = wx[static_cast<std::size_t>(i)];
  }
  if (!w.is_finite()) throw std::invalid_argument("a non-finite cotangent weight");
  direct.cotangent_seconds = since(phase);
  phase = Clock::now();
  arma::mat u, v;
  arma::vec sv;
  if (!arma::svd_econ(u, sv, v, w)) throw std::runtime_error("the SVD of the cotangent weights failed");
  arma::uword rank = 0;
  while (rank < sv.n_elem && sv(rank) > 1e-14 * sv(0)) ++rank;
  std::vector<double> per_direction(static_cast<std::size_t>(rank) * num_params, 0.0);
  rest->run_tasks(static_cast<int>(rank), [&](Workspace& ws, int k) {
    const auto kk = static_cast<arma::uword>(k);
    ensure(ws.mix);
    const arma::cx_vec uk = arma::conv_to<arma::cx_vec>::from(u.col(kk));
    if (st.pure()) {
      arma::cx_mat sigma(ws.mix.data(), d, d, /*copy_aux_mem=*/false, /*strict=*/true);
      sigma = (st.psi.each_row() % uk.st()) * st.psi.t();
    } else {
      const arma::cx_mat s = (st.vl.each_row() % uk.st()) * st.vh.st();
      for_block_runs(n, st.low, [&](std::uint64_t to, std::uint64_t from, std::uint64_t len) {
        std::memcpy(static_cast<void*>(ws.mix.data() + to), static_cast<const void*>(s.memptr() + from),
                    len * sizeof(Complex));
      });
    }
    for (int i = 0; i < m; ++i) ws.weights[static_cast<std::size_t>(i)] = sv(kk) * v(static_cast<arma::uword>(i), kk);
    ws.initial = ws.mix.data();
    try {
      rest->forward_adjoint(ws, theta, x0.data(), ws.values.data());
      rest->backward(ws, x0.data(), ws.weights.data(), per_direction.data() + static_cast<std::size_t>(k) * num_params);
    } catch (...) {
      ws.initial = nullptr;
      throw;
    }
    ws.initial = nullptr;
  });
  for (arma::uword k = 0; k < rank; ++k) {
    const double* g = per_direction.data() + k * static_cast<arma::uword>(num_params);
    for (int p = 0; p < num_params; ++p) gradient[p] += g[p];
  }
  direct.backward_seconds = since(phase);
  add_timing(since(start), direct);
}

}  // namespace kraus::optim
