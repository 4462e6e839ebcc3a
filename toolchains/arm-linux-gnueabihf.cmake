# 32-bit ARM Linux, hard-float (Debian armhf: ARMv7-A, VFPv3-D16, NEON
# optional: Raspberry Pi 2/3/4 with a 32-bit OS, BeagleBone, i.MX6, ...),
# Debian's gcc-arm-linux-gnueabihf, tests under qemu-arm.
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
#         -DCMAKE_SYSROOT=$PWD/build-cross/sysroot-armhf
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(DIFFPOOL_CROSS_TRIPLET arm-linux-gnueabihf)
set(DIFFPOOL_QEMU_NAMES qemu-arm-static qemu-arm)
include("${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake")
