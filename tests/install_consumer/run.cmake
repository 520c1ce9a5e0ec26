# Installs the build into a scratch prefix, then configures, builds and runs the consumer
# against it with the system C++ compiler and no CUDA paths.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
# The verification machinery (verify/: compare, the op registry) is test code, not the package.
file(GLOB_RECURSE leaked ${WORK_DIR}/prefix/*compare.h ${WORK_DIR}/prefix/*registry.h
     ${WORK_DIR}/prefix/*cuseg_verify*)
if(leaked)
  message(FATAL_ERROR "installed test machinery: ${leaked}")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
message("${last_output}")
