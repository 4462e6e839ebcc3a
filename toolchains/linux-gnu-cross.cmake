# Shared part of the Debian cross toolchain files (aarch64-linux-gnu.cmake,
# arm-linux-gnueabihf.cmake); they set DIFFPOOL_CROSS_TRIPLET and
# CMAKE_SYSTEM_PROCESSOR, then include this file.
#
# Inputs, as -D cache entries or from the environment:
#   CMAKE_SYSROOT      target root filesystem, e.g. one built by
#                      scripts/make_sysroot.sh; or env DIFFPOOL_SYSROOT.
#   DIFFPOOL_QEMU_CPU  optional, the core qemu emulates (see below).
# Compilers are the host's ${triplet}-gcc / -g++ (Debian's gcc-${triplet}).
# Libraries, headers and CMake packages are searched in the sysroot only;
# programs (flatc, python3, qemu) on the host only: flatc generates code and
# must run here.
set(CMAKE_SYSTEM_NAME Linux)

if(NOT CMAKE_SYSROOT AND DEFINED ENV{DIFFPOOL_SYSROOT})
  set(CMAKE_SYSROOT "$ENV{DIFFPOOL_SYSROOT}")
endif()
if(NOT CMAKE_SYSROOT)
  message(FATAL_ERROR "Cross build for ${DIFFPOOL_CROSS_TRIPLET}: pass -DCMAKE_SYSROOT=DIR "
                      "(or set DIFFPOOL_SYSROOT); scripts/make_sysroot.sh builds one.")
endif()

set(CMAKE_C_COMPILER "${DIFFPOOL_CROSS_TRIPLET}-gcc")
set(CMAKE_CXX_COMPILER "${DIFFPOOL_CROSS_TRIPLET}-g++")

# Appended: a caller may add roots of its own (an install prefix outside the
# sysroot, as tests/install does).
list(APPEND CMAKE_FIND_ROOT_PATH "${CMAKE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and add_test COMMANDs naming a target) run target binaries through
# qemu-user, loading the target's ld.so and libraries from the sysroot.
# DIFFPOOL_QEMU_CPU (cache or environment) picks the emulated core, e.g.
# cortex-a72 (qemu-aarch64 -cpu help lists them); unset, qemu's default.
if(NOT DIFFPOOL_QEMU_CPU AND DEFINED ENV{DIFFPOOL_QEMU_CPU})
  set(DIFFPOOL_QEMU_CPU "$ENV{DIFFPOOL_QEMU_CPU}")
endif()
find_program(DIFFPOOL_QEMU_${CMAKE_SYSTEM_PROCESSOR} NAMES ${DIFFPOOL_QEMU_NAMES})
if(DIFFPOOL_QEMU_${CMAKE_SYSTEM_PROCESSOR})
  set(CMAKE_CROSSCOMPILING_EMULATOR "${DIFFPOOL_QEMU_${CMAKE_SYSTEM_PROCESSOR}}" -L "${CMAKE_SYSROOT}")
  if(DIFFPOOL_QEMU_CPU)
    list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu "${DIFFPOOL_QEMU_CPU}")
  endif()
endif()
