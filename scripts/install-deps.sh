#!/usr/bin/env bash
# Installs kraus' build and run dependencies from Debian 12 packages. Idempotent: packages
# already present are left alone and apt-get is not called at all.
# Works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libarmadillo-dev
  libopenblas-dev          # explicit, so BLAS/LAPACK resolve to OpenBLAS rather than ATLAS or reference BLAS
  libboost-dev             # Boost.Math (special functions) and header-only utilities
  libceres-dev             # Ceres Solver 2.1 (mitigation/ and optim/ only)
  catch2                   # Catch2 2.13 test framework
  libbenchmark-dev         # Google Benchmark (bench/)
  nlohmann-json3-dev       # the project's one JSON library
  zlib1g-dev               # gzip data files (digits.csv.gz, IDX .gz)
  python3-matplotlib       # plots/, run with /usr/bin/python3
  python3-numpy            # tests/cli/ghz5_manila_reference.py, the independent device computation; the Python module
  python3-dev pybind11-dev # the Python module `import kraus` (python/, docs/python.md; KRAUS_PYTHON)
  python3-pytest           # the Python module's tests (python/tests/, ctest -R '^python:')
  python3-sklearn          # ships the 8x8 digits data set (digits.csv.gz) used by the classifier studies
  dataset-fashion-mnist    # Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist), exp_classifier
  clang libclang-rt-14-dev # libFuzzer and clang's sanitizers for the fuzz targets (fuzz/, scripts/fuzz.sh)
  openmpi-bin libopenmpi-dev # optional MPI build (KRAUS_MPI): trajectories and study sweeps over ranks (docs/distributed.md)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present" >&2
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
