// CircuitFunction: the adjoint method. The forward schedule runs in pieces (cache-blocked sweeps)
// storing the state before each piece (or checkpoints); the observable is then carried back one
// piece at a time by noise::sweep_gradient, which recomputes the states inside each tile.

#include "circuit_function.hpp"

namespace kraus::optim {
namespace {

// A piece over part of the register differentiates at most as many calls as tile copies fit in this
// many bytes a thread (sweep_gradient keeps one tile per differentiated call): 64 at 7-qubit tiles
// (256 KiB). Fewer, larger pieces were faster than pieces whose copies stay in the L2 (10 qubits, 10
// layers, 200 rotations, 2 threads: 4 MiB 3.9-4.3 forward evaluations, 16 MiB 3.8-4.3, noisy host).
constexpr std::size_t kPieceTileBytes = std::size_t{16} << 20;

}  // namespace

void CircuitFunction::Impl::run_pieces(Workspace& ws, int begin, int end, bool store) {
  ws.stored.assign(static_cast<std::size_t>(end - begin), nullptr);
  if (store) {
    for (int p = 0; p < end - begin; ++p) ws.stored[static_cast<std::size_t>(p)] = slot(ws, p);
  }
  if (begin == 0 && end == static_cast<int>(adjoint_plan.size())) {
    noise::run_sweeps(adjoint_plan, ws.bound.data(), ws.state.data(), n, /*hermitian=*/true, ws.stored.data());
    return;
  }
  const std::vector<noise::Sweep> pieces(adjoint_plan.begin() + begin, adjoint_plan.begin() + end);
  noise::run_sweeps(pieces, ws.bound.data(), ws.state.data(), n, /*hermitian=*/true, ws.stored.data());
}

// Adjoint forward pass: values, and the stored states (all of them, or the checkpoints).
void CircuitFunction::Impl::forward_adjoint(Workspace& ws, const double* theta, const double* x, double* values) {
  ensure_adjoint_buffers(ws);
  compute_angles(theta, x, ws.angles);
  prepare_initial(ws, x);
  program.bind(ws.angles.data(), ws.bound);
  if (single_segment()) {
    run_pieces(ws, 0, static_cast<int>(adjoint_plan.size()), true);
  } else {
    ws.stored.assign(adjoint_plan.size(), nullptr);
    for (std::size_t seg = 1; seg + 1 < seg_begin.size(); ++seg) {
      ws.stored[static_cast<std::size_t>(seg_begin[seg])] = checkpoint(ws, static_cast<int>(seg) - 1);
    }
    noise::run_sweeps(adjoint_plan, ws.bound.data(), ws.state.data(), n, /*hermitian=*/true, ws.stored.data());
  }
  read_values(ws, values);
  evaluations.fetch_add(1, std::memory_order_relaxed);
}

noise::Matrix CircuitFunction::Impl::angle_channel_derivative(const engine::Step& s, double a) {
  if (s.angle_channel->derivative) return s.angle_channel->derivative(a);
  // Fourth-order central difference of the superoperator.
  const double h = 1e-3;
  const noise::Matrix p1 = s.angle_channel->superoperator(a + h), m1 = s.angle_channel->superoperator(a - h);
  const noise::Matrix p2 = s.angle_channel->superoperator(a + 2 * h), m2 = s.angle_channel->superoperator(a - 2 * h);
  noise::Matrix out(p1.rows(), p1.cols());
  for (int r = 0; r < out.rows(); ++r)
    for (int c = 0; c < out.cols(); ++c)
      out(r, c) = (8.0 * (p1(r, c) - m1(r, c)) - (p2(r, c) - m2(r, c))) / (12.0 * h);
  return out;
}

void CircuitFunction::Impl::backward(Workspace& ws, const double* x, const double* weights, double* gradient) {
  Complex* o = ws.obs.data();
  std::fill(o, o + d * d, Complex(0.0, 0.0));
  for (std::size_t i = 0; i < observables.size(); ++i) {
    if (weights[i] == 0.0) continue;
    for (const auto& [coeff, ps] : observables[i].terms) detail::add_pauli(o, d, ps.x_mask, ps.z_mask, weights[i] * coeff);
  }
  const auto step_of_call = [&](int j) -> const engine::Step& {
    return program.steps[static_cast<std::size_t>(program.forward_source[static_cast<std::size_t>(j)])];
  };
  // This evaluation's adjoint maps and derivatives.
  if (ws.bound_adjoint.size() != program.forward.size()) ws.bound_adjoint = program.forward_adjoint;
  ws.derivatives.resize(program.forward.size());
  for (std::size_t j = 0; j < program.forward.size(); ++j) {
    if (program.forward_source[j] >= 0) ws.bound_adjoint[j] = noise::adjoint_call(ws.bound[j]);
  }
  for (int j : diff_calls) {
    const engine::Step& s = step_of_call(j);
    noise::CallDerivative& cd = ws.derivatives[static_cast<std::size_t>(j)];
    if (s.kind == engine::StepKind::kRotation) {
      cd.kind = noise::CallDerivative::Kind::kPauliRotation;
      cd.x_mask = s.x_mask;
      cd.z_mask = s.z_mask;
    } else {  // angle-dependent channel: S'(a) applied to the state before it
      cd.kind = noise::CallDerivative::Kind::kSuperoperator;
      const noise::Matrix ds = angle_channel_derivative(s, ws.angles[static_cast<std::size_t>(s.angle)]);
      cd.derivative = ws.bound[static_cast<std::size_t>(j)];
      cd.derivative.matrix.assign(ds.data(), ds.data() + static_cast<std::size_t>(ds.rows()) * ds.cols());
    }
  }
  ws.call_grads.assign(program.forward.size(), 0.0);
  for (int seg = static_cast<int>(seg_begin.size()) - 2; seg >= 0; --seg) {
    const int begin = seg_begin[static_cast<std::size_t>(seg)], end = seg_begin[static_cast<std::size_t>(seg) + 1];
    if (!single_segment()) {
      if (seg == 0) {
        prepare_initial(ws, x);
      } else {
        copy_state(checkpoint(ws, seg - 1), ws.state.data());
      }
      run_pieces(ws, begin, end, true);
    }
    for (int p = end - 1; p >= begin; --p) {
      noise::sweep_gradient(adjoint_plan[static_cast<std::size_t>(p)], ws.bound.data(), ws.bound_adjoint.data(),
                            ws.derivatives.data(), slot(ws, p - begin), o, n, ws.call_grads.data(), ws.tiles);
    }
  }
  std::fill(ws.angle_grads.begin(), ws.angle_grads.end(), 0.0);
  for (int j : diff_calls) {
    const engine::Step& s = step_of_call(j);
    // A rotation's generator is sign · X^x Z^z (times i^|x&z|).
    const double scale = s.kind == engine::StepKind::kRotation ? s.sign : 1.0;
    ws.angle_grads[static_cast<std::size_t>(s.angle)] += scale * ws.call_grads[static_cast<std::size_t>(j)];
  }
  evaluations.fetch_add(single_segment() ? 1 : 2, std::memory_order_relaxed);
  chain_rule(ws.angle_grads.data(), x, gradient, 1.0);
}

void CircuitFunction::Impl::chain_rule(const double* angle_grads, const double* x, double* gradient, double scale) const {
  for (std::size_t a = 0; a < program.angles.size(); ++a) {
    const double g = angle_grads[a];
    if (g == 0.0) continue;
    for (const engine::AngleTerm& t : program.angles[a].terms) {
      if (t.param >= 0) gradient[t.param] += scale * g * engine::Angle::term_derivative(t, x);
    }
  }
}

void CircuitFunction::Impl::plan_adjoint() {
  // The pieces: the program's sweeps (one over all qubits for a small state), each grown to the block
  // size with the lowest qubits it lacks (so that its tiles hold qubits 0 and 1 and are computed once
  // per mirrored pair, and a lone call does not run on tiny tiles), then cut so that no piece
  // differentiates more calls than kPieceTileBytes of tile copies hold.
  // Beyond the block size, sweeps of at most n - 2 qubits, so that a sweep has at least 10 mirrored
  // tiles to share between threads (8 qubits, 10 layers: 31 ms with 6-qubit sweeps against 44 ms with
  // 7).
  const int block = n <= noise::kDefaultBlockQubits ? noise::kDefaultBlockQubits
                                                    : std::min(noise::kDefaultBlockQubits, n - 2);
  const std::vector<noise::Sweep> sweeps =
      block == noise::kDefaultBlockQubits && !program.sweeps.empty()
          ? program.sweeps
          : noise::plan_sweeps(program.forward.data(), program.forward.size(), n, block);
  std::vector<char> differentiated(program.forward.size(), 0);
  for (int j : diff_calls) differentiated[static_cast<std::size_t>(j)] = 1;
  adjoint_plan.clear();
  for (const noise::Sweep& sweep : sweeps) {
    std::vector<int> qubits = sweep.qubits;
    for (int q = 0; q < n && static_cast<int>(qubits.size()) < std::min(n, block); ++q) {
      if (!std::binary_search(sweep.qubits.begin(), sweep.qubits.end(), q)) qubits.push_back(q);
    }
    std::sort(qubits.begin(), qubits.end());
    const std::size_t tile_bytes = sizeof(Complex) << (2 * qubits.size());
    // A piece over the whole register (a small state, up to the block size) holds one differentiated
    // call: the forward pass stores the state before it, which costs less than recomputing.
    const std::size_t per_piece =
        static_cast<int>(qubits.size()) == n ? 1 : std::max<std::size_t>(1, kPieceTileBytes / tile_bytes);
    noise::Sweep piece{qubits, {}};
    std::size_t count = 0;
    for (std::size_t j : sweep.calls) {
      if (differentiated[j] && count == per_piece) {
        adjoint_plan.push_back(std::move(piece));
        piece = noise::Sweep{qubits, {}};
        count = 0;
      }
      piece.calls.push_back(j);
      count += static_cast<std::size_t>(differentiated[j]);
    }
    adjoint_plan.push_back(std::move(piece));
  }
  const int P = static_cast<int>(adjoint_plan.size());
  seg_begin.clear();
  const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
  const std::uint64_t budget = options.adjoint_memory_bytes > 0
                                   ? options.adjoint_memory_bytes
                                   : std::max(std::uint64_t{1} << 30, engine::available_memory_bytes() / 2);
  const std::uint64_t max_states = budget / std::max<std::uint64_t>(state_bytes, 1);
  if (static_cast<std::uint64_t>(P) <= max_states) {
    seg_len = P;
    seg_begin = {0, P};
    return;
  }
  // Segments of s pieces: s stored states + (ceil(P/s) - 1) checkpoints.
  int best = -1;
  std::uint64_t best_total = UINT64_MAX;
  for (int s = 1; s <= P; ++s) {
    const std::uint64_t total = static_cast<std::uint64_t>(s) + static_cast<std::uint64_t>((P + s - 1) / s - 1);
    if (total < best_total) {
      best_total = total;
      best = s;
    }
  }
  if (best_total > max_states) {
    throw std::runtime_error("the adjoint gradient of this circuit on " + std::to_string(n) + " qubits runs in " +
                             std::to_string(P) + " pieces and needs at least " + std::to_string(best_total) +
                             " stored states, more than GradientOptions::adjoint_memory_bytes allows; raise it or "
                             "use parameter shift");
  }
  seg_len = best;
  for (int first = 0; first < P; first += best) seg_begin.push_back(first);
  seg_begin.push_back(P);
}

}  // namespace kraus::optim
