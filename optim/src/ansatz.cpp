#include "kraus/optim/ansatz.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <tuple>

#include "random_detail.hpp"

namespace kraus::optim {

using engine::Gate;

const char* to_string(AnsatzFamily family) {
  switch (family) {
    case AnsatzFamily::kHardwareEfficient: return "hardware_efficient";
    case AnsatzFamily::kMcClean: return "mcclean";
    case AnsatzFamily::kAlternatingLayered: return "alternating_layered";
    case AnsatzFamily::kDataReuploading: return "data_reuploading";
  }
  return "?";
}

const char* to_string(Entangler entangler) {
  switch (entangler) {
    case Entangler::kNone: return "none";
    case Entangler::kCnotChain: return "cnot_chain";
    case Entangler::kCnotRing: return "cnot_ring";
    case Entangler::kCzChain: return "cz_chain";
    case Entangler::kCzRing: return "cz_ring";
  }
  return "?";
}

bool AnsatzOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (num_qubits < 1 || num_qubits > 30) return fail("AnsatzOptions::num_qubits must be in [1, 30]");
  if (num_layers < 0) return fail("AnsatzOptions::num_layers must be >= 0");
  if (family == AnsatzFamily::kAlternatingLayered &&
      (block_size < 2 || block_size % 2 != 0 || block_size > num_qubits)) {
    return fail("AnsatzOptions::block_size must be even with 2 <= block_size <= num_qubits, got " +
                std::to_string(block_size));
  }
  if (family == AnsatzFamily::kDataReuploading) {
    if (num_features < 1) return fail("AnsatzOptions::num_features must be >= 1 for data re-uploading");
    if (!std::isfinite(feature_scale)) return fail("AnsatzOptions::feature_scale must be finite");
  }
  return true;
}

Ansatz::Ansatz(AnsatzOptions options) : options_(std::move(options)) {
  std::string why;
  if (!options_.IsValid(&why)) throw std::invalid_argument(why);
  for (int l = 0; l < options_.num_layers; ++l) layers_.push_back(make_layer(LayerKind::kStandard));
}

int Ansatz::num_parameters() const {
  int p = 0;
  for (const Layer& l : layers_) p += l.num_parameters;
  return p;
}

int Ansatz::layer_offset(int layer) const {
  if (layer < 0 || layer >= num_layers()) throw std::out_of_range("layer " + std::to_string(layer) + " out of range");
  int p = 0;
  for (int l = 0; l < layer; ++l) p += layers_[static_cast<std::size_t>(l)].num_parameters;
  return p;
}

int Ansatz::layer_size(int layer) const {
  if (layer < 0 || layer >= num_layers()) throw std::out_of_range("layer " + std::to_string(layer) + " out of range");
  return layers_[static_cast<std::size_t>(layer)].num_parameters;
}

LayerKind Ansatz::layer_kind(int layer) const {
  if (layer < 0 || layer >= num_layers()) throw std::out_of_range("layer " + std::to_string(layer) + " out of range");
  return layers_[static_cast<std::size_t>(layer)].kind;
}

int Ansatz::num_features() const {
  return options_.family == AnsatzFamily::kDataReuploading ? options_.num_features : 0;
}

Ansatz::Layer Ansatz::make_layer(LayerKind kind) {
  const int n = options_.num_qubits;
  Layer layer;
  layer.kind = kind;
  const int per_qubit_rot = options_.rotations == RotationSet::kRYRZ ? 2 : 1;
  switch (options_.family) {
    case AnsatzFamily::kHardwareEfficient: layer.num_parameters = n * per_qubit_rot; break;
    case AnsatzFamily::kMcClean: {
      detail::SplitMix64 rng(detail::mix_seed(options_.seed, created_));
      static const Gate kAxes[3] = {Gate::kRX, Gate::kRY, Gate::kRZ};
      for (int q = 0; q < n; ++q) layer.axes.push_back(kAxes[detail::uniform_index(rng, 3)]);
      layer.num_parameters = n;
      break;
    }
    case AnsatzFamily::kAlternatingLayered: {
      const int m = options_.block_size;
      int shift = (created_ % 2 == 1) ? m / 2 : 0;
      if (shift + m > n) shift = 0;
      for (int start = shift; start + m <= n; start += m) {
        std::vector<int> block;
        for (int q = start; q < start + m; ++q) block.push_back(q);
        layer.blocks.push_back(block);
        layer.num_parameters += m;
      }
      break;
    }
    case AnsatzFamily::kDataReuploading: {
      for (int q = 0; q < n; ++q) {
        layer.features.push_back(static_cast<int>((static_cast<std::uint64_t>(q) + created_ * static_cast<std::uint64_t>(n)) %
                                                  static_cast<std::uint64_t>(options_.num_features)));
      }
      layer.num_parameters = n * (1 + per_qubit_rot);
      break;
    }
  }
  ++created_;
  return layer;
}

bool Ansatz::is_weight(int parameter) const {
  if (options_.family != AnsatzFamily::kDataReuploading) return false;
  const int group = options_.rotations == RotationSet::kRYRZ ? 3 : 2;
  int offset = 0;
  for (const Layer& l : layers_) {
    if (parameter < offset + l.num_parameters) return (parameter - offset) % group == 0;
    offset += l.num_parameters;
  }
  return false;
}

void Ansatz::append_layer(LayerKind kind, std::vector<double>* params, double perturbation, std::uint64_t seed) {
  if (params == nullptr) throw std::invalid_argument("append_layer: null parameter vector");
  const int offset = num_parameters();
  if (static_cast<int>(params->size()) < offset) {
    throw std::invalid_argument("append_layer: the parameter vector has " + std::to_string(params->size()) +
                                " entries, fewer than the ansatz's " + std::to_string(offset));
  }
  if (!(perturbation >= 0.0)) throw std::invalid_argument("append_layer: perturbation must be >= 0");
  const std::uint64_t stream = created_;
  layers_.push_back(make_layer(kind));
  const int size = layers_.back().num_parameters;
  std::mt19937_64 rng(detail::mix_seed(seed, stream));
  std::vector<double> values(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) {
    const bool weight = is_weight(offset + i);
    if (kind == LayerKind::kIdentity) {
      values[static_cast<std::size_t>(i)] =
          perturbation > 0 ? perturbation * (2.0 * detail::uniform01(rng) - 1.0) : 0.0;
    } else {
      values[static_cast<std::size_t>(i)] = weight ? 1.0 : 2 * 3.14159265358979323846 * detail::uniform01(rng);
    }
  }
  params->insert(params->begin() + offset, values.begin(), values.end());
}

void Ansatz::remove_layer(int layer, std::vector<double>* params) {
  if (params == nullptr) throw std::invalid_argument("remove_layer: null parameter vector");
  const int offset = layer_offset(layer), size = layer_size(layer);
  if (static_cast<int>(params->size()) < num_parameters()) {
    throw std::invalid_argument("remove_layer: the parameter vector is shorter than the ansatz's parameters");
  }
  params->erase(params->begin() + offset, params->begin() + offset + size);
  layers_.erase(layers_.begin() + layer);
}

void Ansatz::emit_entangler(const Layer& layer, bool inverse, engine::Circuit* c) const {
  const int n = options_.num_qubits;
  std::vector<std::tuple<Gate, int, int>> gates;
  switch (options_.family) {
    case AnsatzFamily::kHardwareEfficient:
    case AnsatzFamily::kDataReuploading: {
      const Entangler e = options_.entangler;
      if (e == Entangler::kNone || n < 2) break;
      const Gate g = (e == Entangler::kCnotChain || e == Entangler::kCnotRing) ? Gate::kCX : Gate::kCZ;
      for (int q = 0; q + 1 < n; ++q) gates.emplace_back(g, q, q + 1);
      if ((e == Entangler::kCnotRing || e == Entangler::kCzRing) && n > 2) gates.emplace_back(g, n - 1, 0);
      break;
    }
    case AnsatzFamily::kMcClean:
      for (int q = 0; q + 1 < n; ++q) gates.emplace_back(Gate::kCZ, q, q + 1);
      break;
    case AnsatzFamily::kAlternatingLayered:
      for (const auto& block : layer.blocks)
        for (std::size_t i = 0; i + 1 < block.size(); ++i) gates.emplace_back(Gate::kCZ, block[i], block[i + 1]);
      break;
  }
  if (inverse) std::reverse(gates.begin(), gates.end());
  for (const auto& [g, a, b] : gates) c->add_gate(g, {a, b});
}

void Ansatz::emit_layer(const Layer& layer, int offset, engine::Circuit* c) const {
  const int n = options_.num_qubits;
  const bool identity = layer.kind == LayerKind::kIdentity;
  if (identity) emit_entangler(layer, false, c);
  int p = offset;
  switch (options_.family) {
    case AnsatzFamily::kHardwareEfficient:
      for (int q = 0; q < n; ++q) {
        c->add_rotation(Gate::kRY, {q}, engine::Angle::parameter(p++));
        if (options_.rotations == RotationSet::kRYRZ) c->add_rotation(Gate::kRZ, {q}, engine::Angle::parameter(p++));
      }
      break;
    case AnsatzFamily::kMcClean:
      for (int q = 0; q < n; ++q) c->add_rotation(layer.axes[static_cast<std::size_t>(q)], {q}, engine::Angle::parameter(p++));
      break;
    case AnsatzFamily::kAlternatingLayered:
      for (const auto& block : layer.blocks)
        for (int q : block) c->add_rotation(Gate::kRY, {q}, engine::Angle::parameter(p++));
      break;
    case AnsatzFamily::kDataReuploading:
      for (int q = 0; q < n; ++q) {
        const int w = p++, t = p++;
        engine::Angle a = engine::Angle::parameter(t);
        a.add(w, layer.features[static_cast<std::size_t>(q)], options_.feature_scale);
        c->add_rotation(Gate::kRY, {q}, a);
        if (options_.rotations == RotationSet::kRYRZ) c->add_rotation(Gate::kRZ, {q}, engine::Angle::parameter(p++));
      }
      break;
  }
  emit_entangler(layer, identity, c);
}

engine::Circuit Ansatz::circuit(const Encoding& encoding) const {
  engine::Circuit c(options_.num_qubits);
  encoding.apply(&c);
  if (options_.family == AnsatzFamily::kMcClean && options_.mcclean_preamble) {
    for (int q = 0; q < options_.num_qubits; ++q) c.add_gate(Gate::kRY, {q}, {3.14159265358979323846 / 4});
  }
  int offset = 0;
  for (int l = 0; l < num_layers(); ++l) {
    emit_layer(layers_[static_cast<std::size_t>(l)], offset, &c);
    offset += layers_[static_cast<std::size_t>(l)].num_parameters;
  }
  c.set_num_parameters(offset);
  c.set_num_features(num_features());
  return c;
}

std::vector<double> Ansatz::random_parameters(std::uint64_t seed, double low, double high) const {
  std::mt19937_64 rng(seed);
  std::vector<double> out(static_cast<std::size_t>(num_parameters()));
  for (int i = 0; i < num_parameters(); ++i) {
    const double u = detail::uniform01(rng);
    out[static_cast<std::size_t>(i)] = is_weight(i) ? 1.0 : low + (high - low) * u;
  }
  return out;
}

}  // namespace kraus::optim
