# Decides CUSEG_HAS_NCCL from CUSEG_NCCL: gradient sums between GPU ranks on the GPUs, with NCCL
# bootstrapped over MPI (so it needs CUSEG_HAS_MPI) on a CUDA build. The toolkit ships nccl.h and
# libnccl.so.2 but no CMake package: they are found by path beside it. In the emulated CUDA build
# NCCL is cuseg/emu's (include/nccl.h over shared memory), so the NCCL communicator's code runs in
# CI. AUTO builds it where it can, ON fails here where it cannot, OFF never looks.
if(NOT CUSEG_NCCL MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CUSEG_NCCL must be AUTO, ON or OFF (got '${CUSEG_NCCL}')")
endif()
set(CUSEG_HAS_NCCL 0)
set(_cuseg_nccl_why "")
if(CUSEG_NCCL STREQUAL "OFF")
  set(_cuseg_nccl_why "CUSEG_NCCL=OFF")
elseif(NOT CUSEG_HAS_CUDA)
  set(_cuseg_nccl_why "no CUDA in this build")
elseif(NOT CUSEG_HAS_MPI)
  set(_cuseg_nccl_why "no MPI to start its ranks (CUSEG_MPI; Debian: libopenmpi-dev)")
elseif(CUSEG_CUDA_EMULATED)
  set(CUSEG_HAS_NCCL 1)
else()
  find_path(CUSEG_NCCL_INCLUDE_DIR nccl.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include)
  find_library(CUSEG_NCCL_LIBRARY NAMES nccl libnccl.so.2
               HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64 ${CUDAToolkit_LIBRARY_ROOT}/lib)
  if(CUSEG_NCCL_INCLUDE_DIR AND CUSEG_NCCL_LIBRARY)
    set(CUSEG_HAS_NCCL 1)
  else()
    set(_cuseg_nccl_why "nccl.h or libnccl not found beside the CUDA toolkit")
  endif()
endif()
if(CUSEG_NCCL STREQUAL "ON" AND NOT CUSEG_HAS_NCCL)
  message(FATAL_ERROR "CUSEG_NCCL=ON but NCCL cannot be built: ${_cuseg_nccl_why}")
endif()
if(CUSEG_HAS_NCCL AND CUSEG_CUDA_EMULATED)
  message(STATUS "cuseg: NCCL 1 (emulated: cuseg/emu/nccl.cpp)")
elseif(CUSEG_HAS_NCCL)
  message(STATUS "cuseg: NCCL 1 (${CUSEG_NCCL_LIBRARY})")
else()
  message(STATUS "cuseg: NCCL 0 (${_cuseg_nccl_why}): GPU ranks sum through the host over MPI")
endif()
