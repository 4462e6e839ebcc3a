#!/usr/bin/env bash
# Sanitizer builds with clang, each in its own build folder (docs/hardening.md):
#   scripts/sanitize.sh asan   ASan + UBSan: every ctest test (the reference
#                              trainer's Python tests aside) plus the libFuzzer
#                              targets, each fuzzed DIFFPOOL_FUZZ_SECONDS (default
#                              60) from fresh seeds             -> build-asan/
#   scripts/sanitize.sh tsan   TSan: the concurrency test (8 threads, one model)
#                                                               -> build-tsan/
# Environment: DIFFPOOL_SANITIZE_BUILD_DIR overrides the folder,
# DIFFPOOL_FUZZ_SECONDS the fuzzing time, DIFFPOOL_JOBS the parallelism
# (default nproc). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
shift || true
jobs=${DIFFPOOL_JOBS:-$(nproc)}
common="-fno-omit-frame-pointer -g"
case "$mode" in
  asan)
    build=${DIFFPOOL_SANITIZE_BUILD_DIR:-build-asan}
    # fuzzer-no-link: coverage for the libFuzzer targets, harmless elsewhere.
    flags="$common -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
    configure=(-DDIFFPOOL_SANITIZE=address -DDIFFPOOL_BUILD_FUZZERS=ON
               "-DDIFFPOOL_FUZZ_SECONDS=${DIFFPOOL_FUZZ_SECONDS:-60}")
    targets=(all)
    # Python (nothing instrumented), speed comparisons (meaningless under ASan)
    # and the twenty 10-fold int8 conversions of converter_int8_accuracy_test
    # (about 100 s natively; its shipped-example case still runs, as
    # converter_int8_accuracy_example_test).
    tests=(-E '^(reference_python_tests|bench_compare_speed.*|converter_int8_accuracy_test)$')
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ;;
  tsan)
    build=${DIFFPOOL_SANITIZE_BUILD_DIR:-build-tsan}
    flags="$common -fsanitize=thread"
    # The concurrency test needs neither the converter nor the examples.
    configure=(-DDIFFPOOL_SANITIZE=thread -DDIFFPOOL_BUILD_CONVERTER=OFF
               -DDIFFPOOL_BUILD_EXAMPLES=OFF)
    targets=(runtime_concurrency_test)
    tests=(-R '^runtime_concurrency_test$')
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments]" >&2
    exit 2
    ;;
esac
command -v clang++ >/dev/null || { echo "sanitize: clang++ missing (scripts/bootstrap.sh)" >&2; exit 1; }
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
      "-DCMAKE_EXE_LINKER_FLAGS=$flags" "-DCMAKE_SHARED_LINKER_FLAGS=$flags" \
      "${configure[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}"
cd "$build"
ctest --output-on-failure -j"$jobs" "${tests[@]}" "$@"
