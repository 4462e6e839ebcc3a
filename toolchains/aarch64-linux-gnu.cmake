# 64-bit ARM Linux (ARMv8-A: Raspberry Pi 3/4/5 with a 64-bit OS, Jetson,
# Graviton, ...), Debian's gcc-aarch64-linux-gnu, tests under qemu-aarch64.
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake \
#         -DCMAKE_SYSROOT=$PWD/build-cross/sysroot-arm64
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(DIFFPOOL_CROSS_TRIPLET aarch64-linux-gnu)
set(DIFFPOOL_QEMU_NAMES qemu-aarch64-static qemu-aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake")
