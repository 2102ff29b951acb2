// Layered ansätze whose depth can change between solves.
//
// Families (each layer = a rotation block R(θ) followed by an entangler E):
//  * kHardwareEfficient (Kandala et al. 2017): R = RY, or RY then RZ, on every qubit; E = a CNOT or
//    CZ chain (0-1, 1-2, ..., n-2 - n-1) or ring (the chain plus n-1 - 0, for n > 2), or none.
//    Parameters per layer: n (RY) or 2n (RY+RZ), qubit-major (qubit 0's RY, RZ, then qubit 1's ...).
//  * kMcClean (McClean et al. 2018; TensorFlow Quantum's barren-plateau set-up): a fixed preamble
//    RY(π/4) on every qubit, then per layer R_{P_q}(θ_q) on every qubit with P_q drawn uniformly from
//    {X, Y, Z} (seeded: layer j's axes come from AnsatzOptions::seed and j, the index of the layer's
//    creation), then the CZ ladder CZ(0,1), CZ(1,2), ..., CZ(n-2,n-1). n parameters per layer.
//  * kAlternatingLayered (Cerezo et al. 2021): blocks of `block_size` neighbouring qubits; each
//    block is RY on its qubits then a CZ chain inside the block; the blocks of odd-created layers
//    are shifted by block_size/2 (only whole blocks inside the register are kept). The shift is
//    fixed when a layer is created, so removing a layer leaves the others unchanged.
//  * kDataReuploading (Pérez-Salinas et al. 2020): per layer and qubit q,
//    RY(θ_{q,0} + w_q · feature_scale · x_f) [then RZ(θ_{q,1})], then the entangler; feature
//    f = (q + j·n) mod num_features for the layer created j-th. Parameters per qubit: w_q, θ_{q,0}
//    [, θ_{q,1}]. Encoding and trainable block alternate, so L layers give Fourier frequencies up to L.
//
// Layer kinds: a kStandard layer is R(θ) then E. A kIdentity layer is E, then R(θ), then E⁻¹ (E
// reversed: CNOT and CZ are their own inverses), initialised with every parameter 0 (re-uploading
// weights too), so it is exactly the identity when appended: the loss is unchanged and the
// gradient with respect to its angles is generically non-zero (its rotations act in the frame of E).
//
// The parameter vector handed to append_layer/remove_layer may be longer than num_parameters():
// the ansatz parameters come first and anything after them (e.g. a classifier's classical weights)
// is kept in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kraus/engine/gates.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/optim/encoding.hpp"

namespace kraus::optim {

enum class AnsatzFamily { kHardwareEfficient, kMcClean, kAlternatingLayered, kDataReuploading };
enum class RotationSet { kRY, kRYRZ };
enum class Entangler { kNone, kCnotChain, kCnotRing, kCzChain, kCzRing };
enum class LayerKind { kStandard, kIdentity };

const char* to_string(AnsatzFamily family);
const char* to_string(Entangler entangler);

struct AnsatzOptions {
  AnsatzFamily family = AnsatzFamily::kHardwareEfficient;
  // Qubits, >= 1. Default 2.
  int num_qubits = 2;
  // Layers built by the constructor (kStandard), >= 0. Default 1.
  int num_layers = 1;
  // Hardware-efficient and re-uploading rotation blocks. Default kRYRZ.
  RotationSet rotations = RotationSet::kRYRZ;
  // Hardware-efficient and re-uploading entangler. Default kCzChain. (McClean: always the CZ
  // ladder; alternating layered: CZ inside blocks.)
  Entangler entangler = Entangler::kCzChain;
  // Alternating layered ansatz: qubits per block, even, 2 <= block_size <= num_qubits. Default 2.
  int block_size = 2;
  // McClean: seed of the random rotation axes. Default 0.
  std::uint64_t seed = 0;
  // McClean: the RY(π/4) preamble on every qubit. Default true.
  bool mcclean_preamble = true;
  // Data re-uploading: features of x (>= 1) and their scale (angle = θ + w · scale · x). Defaults
  // 0 (must be set) and π.
  int num_features = 0;
  double feature_scale = 3.14159265358979323846;

  bool IsValid(std::string* error) const;
};

class Ansatz {
 public:
  // Throws std::invalid_argument when !options.IsValid.
  explicit Ansatz(AnsatzOptions options);

  const AnsatzOptions& options() const { return options_; }
  int num_qubits() const { return options_.num_qubits; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  int num_parameters() const;
  int layer_offset(int layer) const;  // index of the layer's first parameter
  int layer_size(int layer) const;    // its number of parameters
  LayerKind layer_kind(int layer) const;
  // Features the ansatz itself reads (re-uploading), else 0.
  int num_features() const;

  // Appends a layer of `kind` at the end and inserts its parameters at position num_parameters()
  // (before) of *params: kIdentity layers get 0 plus, if perturbation > 0, seeded uniform noise in
  // [-perturbation, perturbation] (then they are only near the identity); kStandard layers get
  // seeded uniform angles in [0, 2π) (re-uploading weights 1).
  void append_layer(LayerKind kind, std::vector<double>* params, double perturbation = 0.0,
                    std::uint64_t seed = 0);
  // Removes layer `layer` and erases its parameters from *params.
  void remove_layer(int layer, std::vector<double>* params);

  // The circuit: the encoding (tag -1), the McClean preamble (tag -1), then layer l with tag l.
  engine::Circuit circuit(const Encoding& encoding = Encoding::none()) const;

  // Seeded initial parameters: angles uniform in [low, high), re-uploading weights 1.
  std::vector<double> random_parameters(std::uint64_t seed, double low = 0.0,
                                        double high = 2 * 3.14159265358979323846) const;
  // Whether parameter i is a re-uploading weight (not an angle).
  bool is_weight(int parameter) const;

 private:
  struct Layer {
    LayerKind kind = LayerKind::kStandard;
    int num_parameters = 0;
    std::vector<engine::Gate> axes;         // McClean: per qubit
    std::vector<std::vector<int>> blocks;   // alternating layered
    std::vector<int> features;              // re-uploading: per qubit
  };
  Layer make_layer(LayerKind kind);
  void emit_layer(const Layer& layer, int offset, engine::Circuit* c) const;
  void emit_entangler(const Layer& layer, bool inverse, engine::Circuit* c) const;

  AnsatzOptions options_;
  std::vector<Layer> layers_;
  std::uint64_t created_ = 0;  // layers created so far (McClean axes, ALT shift, re-upload features)
};

}  // namespace kraus::optim
