# Installs the build into a scratch prefix, then configures, builds and runs the consumer
# against it with the system C++ compiler and no CUDA paths: the consumer also compiles every
# installed header on its own.
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
# Internal headers are not the package: the implementations' folders, the emulated device (with
# its stand-in cuda_runtime.h and nccl.h), dispatch, and any header that says so on its first line.
set(include_dir ${WORK_DIR}/prefix/include)
file(GLOB_RECURSE installed RELATIVE ${include_dir} ${include_dir}/*)
set(internal)
foreach(header ${installed})
  file(STRINGS ${include_dir}/${header} first LIMIT_COUNT 1)
  if(header MATCHES "/(cpu|fast|onednn|cuda|cudnn|emu)/" OR header MATCHES "^cuseg/kernels/(dispatch|op)\\.h$"
     OR header MATCHES "(^|/)(cuda_runtime|cuda_bf16|nccl)\\.h$" OR first MATCHES "^// Internal")
    list(APPEND internal ${header})
  endif()
endforeach()
if(internal)
  list(JOIN internal "\n  " internal)
  message(FATAL_ERROR "installed internal headers:\n  ${internal}")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DCUSEG_INCLUDE_DIR=${include_dir})
message("${last_output}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
message("${last_output}")
