// CircuitFunction: the adjoint method. The forward schedule runs in pieces (cache-blocked sweeps)
// keeping each piece's tiles at its derivative points (or the state before a piece with an
// angle-dependent channel, or checkpoints); the observable is then carried back one piece at a time
// by noise::sweep_gradient, which reads each rotation's derivative at its point.

#include "circuit_function.hpp"

namespace kraus::optim {
namespace {

// A recomputed piece differentiates at most as many calls as tile copies fit in this many bytes a
// thread (sweep_gradient keeps one tile per differentiated call): 64 at 7-qubit tiles (256 KiB).
constexpr std::size_t kPieceTileBytes = std::size_t{16} << 20;

}  // namespace

void CircuitFunction::Impl::run_pieces(Workspace& ws, int begin, int end) {
  ws.stored.assign(static_cast<std::size_t>(end - begin), nullptr);
  ws.kept.clear();
  for (int p = begin; p < end; ++p) {
    Complex* at = ws.slots.data() + piece_offset[static_cast<std::size_t>(p)];
    if (piece_recompute[static_cast<std::size_t>(p)] != 0) ws.stored[static_cast<std::size_t>(p - begin)] = at;
    for (std::size_t k = 0; k < piece_points[static_cast<std::size_t>(p)].size(); ++k) {
      ws.kept.push_back(at + k * piece_point_elems[static_cast<std::size_t>(p)]);
    }
  }
  const std::vector<std::size_t>* points = piece_points.data() + begin;
  if (begin == 0 && end == static_cast<int>(adjoint_plan.size())) {
    noise::run_sweeps(adjoint_plan, ws.bound.data(), ws.state.data(), n, /*hermitian=*/true, ws.stored.data(),
                      points, ws.kept.data());
    return;
  }
  const std::vector<noise::Sweep> pieces(adjoint_plan.begin() + begin, adjoint_plan.begin() + end);
  noise::run_sweeps(pieces, ws.bound.data(), ws.state.data(), n, /*hermitian=*/true, ws.stored.data(), points,
                    ws.kept.data());
}

// Adjoint forward pass: values, and the stored states (all of them, or the checkpoints).
void CircuitFunction::Impl::forward_adjoint(Workspace& ws, const double* theta, const double* x, double* values) {
  ensure_adjoint_buffers(ws);
  compute_angles(theta, x, ws.angles);
  prepare_initial(ws, x);
  program.bind(ws.angles.data(), ws.bound);
  if (single_segment()) {
    run_pieces(ws, 0, static_cast<int>(adjoint_plan.size()));
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
  for (std::size_t j = 0; j < program.forward.size(); ++j) {
    if (program.forward_source[j] >= 0) ws.bound_adjoint[j] = noise::adjoint_call(ws.bound[j]);
  }
  if (ws.derivatives.size() != program.forward.size()) ws.derivatives = derivative_kinds;
  for (int j : diff_calls) {
    const engine::Step& s = step_of_call(j);
    if (s.kind == engine::StepKind::kRotation) continue;
    // An angle-dependent channel: S'(a) applied to the state before it.
    const noise::Matrix ds = angle_channel_derivative(s, ws.angles[static_cast<std::size_t>(s.angle)]);
    noise::CallDerivative& cd = ws.derivatives[static_cast<std::size_t>(j)];
    cd.derivative = ws.bound[static_cast<std::size_t>(j)];
    cd.derivative.matrix.assign(ds.data(), ds.data() + static_cast<std::size_t>(ds.rows()) * ds.cols());
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
      run_pieces(ws, begin, end);
    }
    std::size_t first_kept = 0;
    for (int p = begin; p < end; ++p) first_kept += piece_points[static_cast<std::size_t>(p)].size();
    for (int p = end - 1; p >= begin; --p) {
      const std::size_t q = static_cast<std::size_t>(p);
      first_kept -= piece_points[q].size();
      noise::GradientStates states;
      if (piece_recompute[q] != 0) {
        states.before = ws.stored[static_cast<std::size_t>(p - begin)];
      } else {
        states.points = &piece_points[q];
        states.kept = ws.kept.data() + first_kept;
      }
      noise::sweep_gradient(adjoint_plan[q], ws.bound.data(), ws.bound_adjoint.data(), ws.derivatives.data(), states, o,
                            n, ws.call_grads.data(), ws.tiles);
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
  if (options.trajectories > 0) return;  // no density matrices (a 16-qubit one would not fit)
  // What each call's derivative is (the matrices of angle-dependent channels' derivatives are filled
  // in by every gradient), and which calls change between evaluations.
  derivative_kinds.assign(program.forward.size(), noise::CallDerivative{});
  std::vector<char> varies(program.forward.size(), 0);
  for (std::size_t j = 0; j < program.forward.size(); ++j) varies[j] = program.forward_source[j] >= 0 ? 1 : 0;
  for (int j : diff_calls) {
    const engine::Step& s = program.steps[static_cast<std::size_t>(program.forward_source[static_cast<std::size_t>(j)])];
    noise::CallDerivative& cd = derivative_kinds[static_cast<std::size_t>(j)];
    if (s.kind == engine::StepKind::kRotation) {
      cd.kind = noise::CallDerivative::Kind::kPauliRotation;
      cd.x_mask = s.x_mask;
      cd.z_mask = s.z_mask;
    } else {
      cd.kind = noise::CallDerivative::Kind::kSuperoperator;
    }
  }
  // The pieces: the program's sweeps (one over all qubits for a small state), each grown to the block
  // size with the lowest qubits it lacks (so that its tiles hold qubits 0 and 1 and are computed once
  // per mirrored pair, and a lone call does not run on tiny tiles). Beyond the block size, sweeps of
  // at most n - 2 qubits, so that a sweep has at least 10 mirrored tiles to share between threads (8
  // qubits, 10 layers: 31 ms with 6-qubit sweeps against 44 ms with 7).
  const int block = n <= noise::kDefaultBlockQubits ? noise::kDefaultBlockQubits
                                                    : std::min(noise::kDefaultBlockQubits, n - 2);
  const std::vector<noise::Sweep> sweeps =
      block == noise::kDefaultBlockQubits && !program.sweeps.empty()
          ? program.sweeps
          : noise::plan_sweeps(program.forward.data(), program.forward.size(), n, block);
  adjoint_plan.clear();
  piece_recompute.clear();
  for (const noise::Sweep& sweep : sweeps) {
    std::vector<int> qubits = sweep.qubits;
    for (int q = 0; q < n && static_cast<int>(qubits.size()) < std::min(n, block); ++q) {
      if (!std::binary_search(sweep.qubits.begin(), sweep.qubits.end(), q)) qubits.push_back(q);
    }
    std::sort(qubits.begin(), qubits.end());
    bool recompute = false;
    for (std::size_t j : sweep.calls) {
      recompute = recompute || derivative_kinds[j].kind == noise::CallDerivative::Kind::kSuperoperator;
    }
    if (!recompute) {
      adjoint_plan.push_back(noise::Sweep{qubits, sweep.calls});
      piece_recompute.push_back(0);
      continue;
    }
    // A sweep with an angle-dependent channel is recomputed from the state before it, keeping a tile
    // per differentiated call: cut so that those copies fit in kPieceTileBytes a thread (one call a
    // piece over the whole register, where storing the state before it costs less).
    const std::size_t tile_bytes = sizeof(Complex) << (2 * qubits.size());
    const std::size_t per_piece =
        static_cast<int>(qubits.size()) == n ? 1 : std::max<std::size_t>(1, kPieceTileBytes / tile_bytes);
    noise::Sweep piece{qubits, {}};
    std::size_t count = 0;
    for (std::size_t j : sweep.calls) {
      const bool differentiated = derivative_kinds[j].kind != noise::CallDerivative::Kind::kNone;
      if (differentiated && count == per_piece) {
        adjoint_plan.push_back(std::move(piece));
        piece_recompute.push_back(1);
        piece = noise::Sweep{qubits, {}};
        count = 0;
      }
      piece.calls.push_back(j);
      count += differentiated ? 1 : 0;
    }
    adjoint_plan.push_back(std::move(piece));
    piece_recompute.push_back(1);
  }
  // What each piece keeps: the state before it (recomputed), or its tiles at its derivative points.
  const int P = static_cast<int>(adjoint_plan.size());
  piece_points.assign(adjoint_plan.size(), {});
  piece_point_elems.assign(adjoint_plan.size(), 0);
  std::vector<std::uint64_t> piece_elems(adjoint_plan.size());
  for (std::size_t p = 0; p < adjoint_plan.size(); ++p) {
    if (piece_recompute[p] != 0) {
      piece_elems[p] = d * d;
      continue;
    }
    piece_points[p] = noise::derivative_points(adjoint_plan[p], program.forward.data(), derivative_kinds.data(),
                                               varies.data());
    piece_point_elems[p] = noise::point_elems(adjoint_plan[p], n);
    piece_elems[p] = piece_points[p].size() * piece_point_elems[p];
  }
  // Memory plan: segments of consecutive pieces whose kept states fit in the budget together with the
  // checkpoints before every segment but the first, with the fewest checkpoints that allow it. While
  // none does, the piece keeping the most in points is recomputed instead (one state).
  const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
  const std::uint64_t budget = options.adjoint_memory_bytes > 0
                                   ? options.adjoint_memory_bytes
                                   : std::max(std::uint64_t{1} << 30, engine::available_memory_bytes() / 2);
  const std::uint64_t elem_bytes = sizeof(Complex);
  const auto plan_segments = [&]() {
    std::uint64_t largest = 0;
    for (std::uint64_t e : piece_elems) largest = std::max(largest, e * elem_bytes);
    for (std::uint64_t checkpoints = 0; checkpoints < static_cast<std::uint64_t>(std::max(P, 1)); ++checkpoints) {
      if (checkpoints * state_bytes >= budget || largest > budget - checkpoints * state_bytes) return false;
      const std::uint64_t cap = (budget - checkpoints * state_bytes) / elem_bytes;
      seg_begin = {0};
      piece_offset.assign(adjoint_plan.size(), 0);
      std::uint64_t used = 0;
      arena_elems = 0;
      for (int p = 0; p < P; ++p) {
        const std::uint64_t e = piece_elems[static_cast<std::size_t>(p)];
        if (used + e > cap) {
          seg_begin.push_back(p);
          used = 0;
        }
        piece_offset[static_cast<std::size_t>(p)] = used;
        used += e;
        arena_elems = std::max(arena_elems, used);
      }
      seg_begin.push_back(P);
      if (seg_begin.size() - 2 <= checkpoints) return true;
    }
    return false;
  };
  while (!plan_segments()) {
    std::size_t heaviest = adjoint_plan.size();
    for (std::size_t p = 0; p < adjoint_plan.size(); ++p) {
      if (piece_recompute[p] == 0 && piece_elems[p] > d * d &&
          (heaviest == adjoint_plan.size() || piece_elems[p] > piece_elems[heaviest])) {
        heaviest = p;
      }
    }
    if (heaviest == adjoint_plan.size()) {
      throw std::runtime_error("the adjoint gradient of this circuit on " + std::to_string(n) + " qubits runs in " +
                               std::to_string(P) + " pieces and needs more memory than "
                               "GradientOptions::adjoint_memory_bytes allows (at least a state per piece or "
                               "checkpoint); raise it or use parameter shift");
    }
    piece_recompute[heaviest] = 1;
    piece_points[heaviest].clear();
    piece_elems[heaviest] = d * d;
  }
  if (rest) {
    rest->options = options;
    rest->plan_adjoint();
  }
}

}  // namespace kraus::optim
