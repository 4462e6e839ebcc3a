#!/usr/bin/env bash
# Builds diffpool-rt and runs every test (ctest: unit, integration, the
# reference trainer's Python tests). Tests that need ../shared/data skip with
# a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)"
