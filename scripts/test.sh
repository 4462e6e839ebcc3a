#!/usr/bin/env bash
# Builds diffpool-rt and runs every test (ctest: unit, integration, the
# reference trainer's Python tests), then the same suite cross-compiled for
# arm64 and armhf under qemu-user (scripts/cross_test.sh, docs/arm.md), then
# the sanitizer builds (scripts/sanitize.sh, docs/hardening.md): ASan + UBSan
# over the suite plus every fuzz target for DIFFPOOL_FUZZ_SECONDS, TSan over
# the concurrency test. DIFFPOOL_CROSS=0 / DIFFPOOL_SANITIZERS=0 skip those
# parts. Tests that need ../shared/data skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
part() { echo "test.sh: $1 done after $((SECONDS - start)) s"; }
scripts/bootstrap.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)")
part "native build + ctest"
if [[ "${DIFFPOOL_CROSS:-1}" != 0 ]]; then
  scripts/cross_test.sh arm64
  part "cross arm64"
  scripts/cross_test.sh armhf
  part "cross armhf"
fi
if [[ "${DIFFPOOL_SANITIZERS:-1}" != 0 ]]; then
  scripts/sanitize.sh asan
  part "asan"
  scripts/sanitize.sh tsan
  part "tsan"
fi
