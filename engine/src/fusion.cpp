#include "fusion.hpp"

#include <algorithm>
#include <cstdint>

#include "kraus/noise/kernels.hpp"

namespace kraus::engine::detail {
namespace {

using noise::Complex;
using noise::KernelCall;
using noise::KernelKind;

bool is_diagonal(const KernelCall& c) {
  const int dim = 1 << c.k;
  for (int r = 0; r < dim; ++r)
    for (int col = 0; col < dim; ++col)
      if (r != col && c.matrix[static_cast<std::size_t>(r * dim + col)] != 0.0) return false;
  return true;
}

// Position of each of the call's qubits in `group` (ascending qubit list).
std::vector<int> positions(const KernelCall& c, const std::vector<int>& group) {
  std::vector<int> pos(static_cast<std::size_t>(c.k));
  for (int j = 0; j < c.k; ++j) {
    pos[static_cast<std::size_t>(j)] =
        static_cast<int>(std::find(group.begin(), group.end(), c.qubits[j]) - group.begin());
  }
  return pos;
}

// The call's unitary as a 2^m x 2^m row-major matrix on the group's qubits.
std::vector<Complex> expanded_unitary(const KernelCall& c, const std::vector<int>& group) {
  const int m = static_cast<int>(group.size()), dim = 1 << m, kdim = 1 << c.k;
  const std::vector<int> pos = positions(c, group);
  std::uint32_t mask = 0;
  for (int p : pos) mask |= 1u << p;
  auto sub = [&](int i) {
    int s = 0;
    for (int j = 0; j < c.k; ++j) s |= ((i >> pos[static_cast<std::size_t>(j)]) & 1) << j;
    return s;
  };
  std::vector<Complex> out(static_cast<std::size_t>(dim * dim), 0.0);
  for (int r = 0; r < dim; ++r)
    for (int col = 0; col < dim; ++col)
      if ((static_cast<std::uint32_t>(r) & ~mask) == (static_cast<std::uint32_t>(col) & ~mask)) {
        out[static_cast<std::size_t>(r * dim + col)] = c.matrix[static_cast<std::size_t>(sub(r) * kdim + sub(col))];
      }
  return out;
}

// The group's calls as one call on the group's qubits: a unitary product when every call is a
// unitary, else the superoperator, built by running the calls on each basis matrix |a><b| of the
// group's register (the column a + b 2^m of S), in the grouped real form when it has one.
KernelCall merged(const std::vector<const KernelCall*>& calls, const std::vector<int>& group) {
  const int m = static_cast<int>(group.size()), dim = 1 << m;
  KernelCall out;
  out.k = m;
  std::copy(group.begin(), group.end(), out.qubits);
  const bool unitary = std::all_of(calls.begin(), calls.end(), [](const KernelCall* c) { return c->kind == KernelKind::kUnitary; });
  if (unitary) {
    out.kind = KernelKind::kUnitary;
    std::vector<Complex> u(static_cast<std::size_t>(dim * dim), 0.0);
    for (int i = 0; i < dim; ++i) u[static_cast<std::size_t>(i * dim + i)] = 1.0;
    for (const KernelCall* c : calls) {  // u <- C u
      const std::vector<Complex> e = expanded_unitary(*c, group);
      std::vector<Complex> next(u.size(), 0.0);
      for (int r = 0; r < dim; ++r)
        for (int j = 0; j < dim; ++j) {
          const Complex a = e[static_cast<std::size_t>(r * dim + j)];
          if (a == 0.0) continue;
          for (int col = 0; col < dim; ++col) next[static_cast<std::size_t>(r * dim + col)] += a * u[static_cast<std::size_t>(j * dim + col)];
        }
      u = std::move(next);
    }
    out.matrix = std::move(u);
    return out;
  }
  out.kind = KernelKind::kSuperoperator;
  const int sd = dim * dim;
  out.matrix.assign(static_cast<std::size_t>(sd * sd), 0.0);
  std::vector<Complex> b(static_cast<std::size_t>(sd));
  for (int col = 0; col < sd; ++col) {
    std::fill(b.begin(), b.end(), Complex(0.0, 0.0));
    b[static_cast<std::size_t>(col)] = 1.0;
    for (const KernelCall* c : calls) {
      KernelCall local = *c;
      const std::vector<int> pos = positions(*c, group);
      std::copy(pos.begin(), pos.end(), local.qubits);
      noise::apply(local, b.data(), m);
    }
    for (int r = 0; r < sd; ++r) out.matrix[static_cast<std::size_t>(r * sd + col)] = b[static_cast<std::size_t>(r)];
  }
  noise::to_real_groups(&out);
  return out;
}

}  // namespace

std::vector<KernelCall> fuse(const std::vector<Step>& steps, const CompileOptions& options, std::vector<int>* sources) {
  std::vector<KernelCall> out;
  sources->clear();
  // Groups of fixed calls being considered, on pairwise disjoint qubit sets, in the order they were
  // opened. Calls on disjoint qubits commute, so a call joins the one open group that shares its
  // qubits even when calls on other qubits came in between (depolarising on a qubit, then the next
  // layer's gate on it), and a group is emitted only when a call it does not absorb needs its qubits.
  struct Group {
    std::vector<const KernelCall*> calls;
    std::vector<int> qubits;  // ascending
    double cost = 0.0;        // of the group as it would be applied now
  };
  std::vector<Group> open;
  auto emit = [&](Group& g) {
    out.push_back(g.calls.size() == 1 ? *g.calls.front() : merged(g.calls, g.qubits));
    sources->push_back(-1);
  };
  auto touches = [](const Group& g, const KernelCall& c) {
    for (int j = 0; j < c.k; ++j)
      if (std::binary_search(g.qubits.begin(), g.qubits.end(), c.qubits[j])) return true;
    return false;
  };
  // Emits the open groups that share a qubit with c, in the order they were opened.
  auto emit_touching = [&](const KernelCall& c) {
    std::vector<Group> kept;
    for (Group& g : open) {
      if (touches(g, c)) {
        emit(g);
      } else {
        kept.push_back(std::move(g));
      }
    }
    open = std::move(kept);
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    // A conditional step acts or not as a whole: it is never merged.
    if (s.kind != StepKind::kFixed || !options.fusion || s.condition.active()) {
      emit_touching(s.call);
      out.push_back(s.call);
      sources->push_back(s.kind != StepKind::kFixed ? static_cast<int>(i) : -1);
      continue;
    }
    std::size_t shared = open.size(), count = 0;
    for (std::size_t g = 0; g < open.size(); ++g) {
      if (touches(open[g], s.call)) shared = g, ++count;
    }
    // Up to fusion_max_qubits qubits in general; diagonals (CZ and phase runs) up to 3, the kernels'
    // limit, where they stay one multiply per element. Merging must be strictly cheaper: a merged
    // call of equal cost only makes sweeps wider.
    if (count == 1) {
      Group& g = open[shared];
      std::vector<int> joint = g.qubits;
      for (int j = 0; j < s.call.k; ++j) joint.push_back(s.call.qubits[j]);
      std::sort(joint.begin(), joint.end());
      joint.erase(std::unique(joint.begin(), joint.end()), joint.end());
      if (joint.size() <= 3) {
        std::vector<const KernelCall*> trial = g.calls;
        trial.push_back(&s.call);
        const KernelCall m = merged(trial, joint);
        const bool diagonal = m.kind == KernelKind::kUnitary && is_diagonal(m);
        const double together = noise::kernel_cost(m) + options.pass_cost;
        if ((static_cast<int>(joint.size()) <= options.fusion_max_qubits || diagonal) &&
            together < g.cost + noise::kernel_cost(s.call) + options.pass_cost) {
          g.calls = std::move(trial);
          g.qubits = std::move(joint);
          g.cost = together;
          continue;
        }
      }
    }
    emit_touching(s.call);
    Group g;
    g.calls.push_back(&s.call);
    g.qubits.assign(s.call.qubits, s.call.qubits + s.call.k);
    std::sort(g.qubits.begin(), g.qubits.end());
    g.cost = noise::kernel_cost(s.call) + options.pass_cost;
    open.push_back(std::move(g));
  }
  for (Group& g : open) emit(g);
  return out;
}

}  // namespace kraus::engine::detail
