#!/usr/bin/env bash
# Installs what diffpool-rt needs from Debian bookworm's archive, and only
# what is missing: a second run does no apt work at all.
#   scripts/bootstrap.sh            build + test dependencies
#   scripts/bootstrap.sh --cross    also the ARM cross toolchains and qemu
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libflatbuffers-dev flatbuffers-compiler
  doctest-dev nlohmann-json3-dev
  python3-torch python3-numpy python3-matplotlib python3-tqdm
  python3-rdkit
)
# Optimized BLAS for python3-torch and numpy: Debian's default libblas3 is the
# reference implementation; with OpenBLAS matrix products run ~15x and the
# reference trainer ~3x faster (docs/training.md). Serial: 1 thread/process.
packages+=(libopenblas0-serial)
# Sanitizer builds and fuzzing (scripts/sanitize.sh): clang and its ASan,
# UBSan, TSan and libFuzzer runtimes (clang only recommends those).
packages+=(clang libclang-rt-14-dev)
if [[ "${1:-}" == "--cross" ]]; then
  packages+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf
             g++-arm-linux-gnueabihf qemu-user)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "bootstrap: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
