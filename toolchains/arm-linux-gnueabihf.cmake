# 32-bit ARM Linux, hard-float (Debian armhf: ARMv7-A, VFPv3-D16, NEON
# optional: Raspberry Pi 2/3/4 with a 32-bit OS, BeagleBone, i.MX6, ...),
# Debian's gcc-arm-linux-gnueabihf, tests under qemu-arm.
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
#         -DCMAKE_SYSROOT=$PWD/build-cross/sysroot-armhf
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(DIFFPOOL_CROSS_TRIPLET arm-linux-gnueabihf)
# GCC notes on every std::vector of 8-byte-aligned structs that their
# parameter passing changed in GCC 7.1; that concerns linking with code built
# by GCC < 7, which nothing here is.
set(CMAKE_C_FLAGS_INIT "-Wno-psabi")
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
set(DIFFPOOL_QEMU_NAMES qemu-arm-static qemu-arm)
include("${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake")
