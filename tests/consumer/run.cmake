# Installs the kraus build tree into a scratch prefix, then configures, builds and runs the consumer
# project against it, as another simulator would use kraus::noise. Run by CTest:
#   cmake -DKRAUS_BINARY_DIR=<build> -DCONSUMER_SOURCE_DIR=<tests/consumer> -DWORK_DIR=<scratch>
#         [-DCXX_COMPILER=...] [-DCXX_FLAGS=...] [-DGENERATOR=...] -P run.cmake
# The consumer is configured with Armadillo, nlohmann_json and Ceres disabled: the noise component
# must not need them.
cmake_minimum_required(VERSION 3.18)
foreach(var KRAUS_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc})\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# 1. Install. A build directory where only some targets were built (say, one test executable) lacks
#    files to install: build it, then install again.
execute_process(COMMAND ${CMAKE_COMMAND} --install "${KRAUS_BINARY_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(STATUS "consumer test: building ${KRAUS_BINARY_DIR} before installing it")
  cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
  run_step("building kraus" ${CMAKE_COMMAND} --build "${KRAUS_BINARY_DIR}" --parallel ${cores})
  file(REMOVE_RECURSE "${prefix}")
  run_step("cmake --install" ${CMAKE_COMMAND} --install "${KRAUS_BINARY_DIR}" --prefix "${prefix}")
endif()

# 2. Configure the consumer against the prefix only.
set(configure ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${build}" "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_DISABLE_FIND_PACKAGE_Armadillo=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_Ceres=ON)
if(GENERATOR)
  list(APPEND configure -G "${GENERATOR}")
endif()
if(CXX_COMPILER)
  list(APPEND configure "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CXX_FLAGS)
  list(APPEND configure "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
run_step("configuring the consumer" ${configure})
run_step("building the consumer" ${CMAKE_COMMAND} --build "${build}")

# 3. The consumer links kraus::noise and nothing of Armadillo or nlohmann_json.
file(GLOB_RECURSE link_files "${build}/*link.txt" "${build}/build.ninja")
foreach(f IN LISTS link_files)
  file(READ "${f}" text)
  string(TOLOWER "${text}" text)
  foreach(forbidden armadillo nlohmann ceres)
    if(text MATCHES "${forbidden}")
      message(FATAL_ERROR "consumer test: ${f} mentions ${forbidden}")
    endif()
  endforeach()
endforeach()

# 4. Run it.
find_program(consumer consumer PATHS "${build}" "${build}/Release" NO_DEFAULT_PATH)
if(NOT consumer)
  message(FATAL_ERROR "consumer test: the consumer program was not built")
endif()
run_step("running the consumer" "${consumer}")
message(STATUS "${step_output}")
