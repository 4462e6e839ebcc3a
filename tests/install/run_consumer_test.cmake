# Driver of the install_consumer test (see CMakeLists.txt); cmake -P with the
# -D variables that add_test passes. Every step must succeed; the first one
# that does not ends the test with its output.
cmake_minimum_required(VERSION 3.18)
string(REPLACE "|" ";" EMULATOR "${EMULATOR}")
set(prefix "${WORK_DIR}/prefix")

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc}):\n${ARGN}\n${out}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
step("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

# The layout the docs promise; nothing private leaks out.
file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
string(REPLACE ";" "\n  " listing "${installed}")
message(STATUS "installed:\n  ${listing}")
foreach(expected include/diffpool/diffpool.h include/diffpool/interpreter.h
                 bin/diffpool-convert bin/diffpool-score)
  if(NOT EXISTS "${prefix}/${expected}")
    message(FATAL_ERROR "install test: ${expected} not installed")
  endif()
endforeach()
foreach(name libdiffpool.* diffpoolConfig.cmake diffpoolConfigVersion.cmake diffpool.pc)
  file(GLOB_RECURSE found "${prefix}/${name}")
  if(NOT found)
    message(FATAL_ERROR "install test: no ${name} installed")
  endif()
endforeach()
foreach(path IN LISTS installed)
  if(path MATCHES "_generated\\.h$|flatbuffers|/src/")
    message(FATAL_ERROR "install test: private file installed: ${path}")
  endif()
endforeach()

# Consumer project through find_package(diffpool).
set(configure_args -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" -G "${GENERATOR}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}" "-DCMAKE_PREFIX_PATH=${prefix}")
if(TOOLCHAIN_FILE)
  # Cross: the prefix is outside the sysroot, so it is a find root too.
  list(APPEND configure_args "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE}"
       "-DCMAKE_SYSROOT=${SYSROOT}" "-DCMAKE_FIND_ROOT_PATH=${prefix}")
else()
  list(APPEND configure_args "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(SANITIZE_FLAGS)
  list(APPEND configure_args "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}"
       "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
endif()
separate_arguments(sanitize_args UNIX_COMMAND "${SANITIZE_FLAGS}")
step("configure consumer" "${CMAKE_COMMAND}" ${configure_args})
step("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")

# The installed tools make and check a model; both consumers run it.
set(model "${WORK_DIR}/mutag.dpm")
step("installed diffpool-convert" ${EMULATOR} "${prefix}/bin/diffpool-convert"
     --config "${MODEL_DIR}/config.json" --weights "${MODEL_DIR}/model.safetensors"
     --test-vectors "${MODEL_DIR}/graphs.json" --out "${model}")
step("installed diffpool-score" ${EMULATOR} "${prefix}/bin/diffpool-score" "${model}"
     "${MODEL_DIR}/graphs.json" --self-test)
step("consumer (CMake package)" ${EMULATOR} "${WORK_DIR}/consumer/diffpool_consumer" "${model}")
message(STATUS "${step_output}")
if(NOT step_output MATCHES "self-test max \\|diff\\| [0-9.e+-]+\nscores: ")
  message(FATAL_ERROR "install test: unexpected consumer output:\n${step_output}")
endif()

# The same main.c with nothing but pkg-config's flags.
file(GLOB pc_file "${prefix}/*/pkgconfig/diffpool.pc" "${prefix}/*/*/pkgconfig/diffpool.pc")
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_LIBDIR} "${pc_dir}")
set(ENV{PKG_CONFIG_PATH} "")
unset(ENV{PKG_CONFIG_SYSROOT_DIR})
step("pkg-config" "${PKG_CONFIG}" --cflags --libs diffpool)
string(STRIP "${step_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
set(sysroot_flag "")
if(SYSROOT)
  set(sysroot_flag "--sysroot=${SYSROOT}")
endif()
step("compile with pkg-config flags" "${C_COMPILER}" ${sysroot_flag} -std=c11 -O2
     ${sanitize_args} "${CONSUMER_DIR}/main.c" -o "${WORK_DIR}/pc_consumer" ${pc_flags})
step("consumer (pkg-config)" ${EMULATOR} "${WORK_DIR}/pc_consumer" "${model}")
