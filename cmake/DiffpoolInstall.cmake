# Install rules: `cmake --install <build> [--prefix P]` lays out diffpool-rt
# as a library other projects build against:
#   include/diffpool/*.h                 public headers (C and C++ APIs only;
#                                         the generated FlatBuffers header is
#                                         private to the runtime)
#   <libdir>/libdiffpool.{a,so}          the runtime
#   bin/diffpool-convert, diffpool-score the CLI tools (when built)
#   <libdir>/cmake/diffpool/             find_package(diffpool): diffpool::diffpool
#   <libdir>/pkgconfig/diffpool.pc       pkg-config --cflags --libs diffpool
# The runtime links Debian's shared XNNPACK, pthreadpool and cpuinfo; a static
# libdiffpool passes them on to its consumers (both the CMake package, which
# looks them up again where the consumer builds, and the .pc file do).
option(DIFFPOOL_INSTALL "Generate the install rules" ON)
if(NOT DIFFPOOL_INSTALL)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_target_property(_diffpool_type diffpool TYPE)
if(_diffpool_type STREQUAL "SHARED_LIBRARY")
  set(DIFFPOOL_LIBRARY_KIND SHARED)
  set(_diffpool_file "${CMAKE_SHARED_LIBRARY_PREFIX}diffpool${CMAKE_SHARED_LIBRARY_SUFFIX}")
  # A 0.x library promises no ABI between minor versions.
  set_target_properties(diffpool PROPERTIES
    VERSION "${PROJECT_VERSION}"
    SOVERSION "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
else()
  set(DIFFPOOL_LIBRARY_KIND STATIC)
  set(_diffpool_file "${CMAKE_STATIC_LIBRARY_PREFIX}diffpool${CMAKE_STATIC_LIBRARY_SUFFIX}")
endif()
set(DIFFPOOL_INSTALL_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${_diffpool_file}")
set(DIFFPOOL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/diffpool")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/runtime/include/diffpool"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT devel
        FILES_MATCHING PATTERN "*.h")
install(TARGETS diffpool
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT devel
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
foreach(tool diffpool-convert diffpool-score)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT tools)
  endif()
endforeach()

# CMake package: a hand-written imported target rather than install(EXPORT),
# so the XNNPACK/pthreadpool/cpuinfo paths are found where the consumer
# builds (its sysroot, its multiarch dir) instead of being frozen as this
# build machine's absolute paths.
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/diffpoolConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/diffpoolConfig.cmake"
  INSTALL_DESTINATION "${DIFFPOOL_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR DIFFPOOL_INSTALL_LIBRARY)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/diffpoolConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cmake/diffpoolConfig.cmake"
              "${PROJECT_BINARY_DIR}/cmake/diffpoolConfigVersion.cmake"
        DESTINATION "${DIFFPOOL_INSTALL_CMAKEDIR}" COMPONENT devel)

# pkg-config: the prefix is the one given at install time (--prefix), so the
# file is written by the install step itself. A static library lists its
# dependencies in Libs (there is no shared object to carry them).
if(DIFFPOOL_LIBRARY_KIND STREQUAL "STATIC")
  set(DIFFPOOL_PC_LIBS "-ldiffpool -lXNNPACK -lpthreadpool -lcpuinfo -lpthread -lm -lstdc++")
  set(DIFFPOOL_PC_LIBS_PRIVATE "")
else()
  set(DIFFPOOL_PC_LIBS "-ldiffpool")
  set(DIFFPOOL_PC_LIBS_PRIVATE "-lXNNPACK -lpthreadpool -lcpuinfo -lpthread -lm")
endif()
set(_diffpool_pc "${PROJECT_BINARY_DIR}/cmake/diffpool.pc")
install(CODE "
  set(DIFFPOOL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(DIFFPOOL_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(DIFFPOOL_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(DIFFPOOL_PC_VERSION \"${PROJECT_VERSION}\")
  set(DIFFPOOL_PC_LIBS \"${DIFFPOOL_PC_LIBS}\")
  set(DIFFPOOL_PC_LIBS_PRIVATE \"${DIFFPOOL_PC_LIBS_PRIVATE}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/diffpool.pc.in\" \"${_diffpool_pc}\" @ONLY)
  " COMPONENT devel)
install(FILES "${_diffpool_pc}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT devel)
