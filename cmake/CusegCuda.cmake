# Decides CUSEG_HAS_CUDA / CUSEG_HAS_CUDNN / CUSEG_CUDA_EMULATED from the options CUSEG_CUDA
# and CUSEG_CUDNN. AUTO builds what the machine can, quietly; ON fails here when the toolkit is
# missing; OFF never looks. CUSEG_CUDA=EMULATED compiles the CUDA sources with the host compiler
# against cuseg/emu (no toolkit needed, no cuDNN): the GPU code then runs on CPU threads.
if(NOT CUSEG_CUDA MATCHES "^(AUTO|ON|OFF|EMULATED)$")
  message(FATAL_ERROR "CUSEG_CUDA must be AUTO, ON, OFF or EMULATED (got '${CUSEG_CUDA}')")
endif()
if(NOT CUSEG_CUDNN MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CUSEG_CUDNN must be AUTO, ON or OFF (got '${CUSEG_CUDNN}')")
endif()

set(CUSEG_HAS_CUDA 0)
set(CUSEG_CUDA_EMULATED 0)
set(CUSEG_HAS_CUDNN 0)

if(CUSEG_CUDA STREQUAL "EMULATED")
  if(CUSEG_CUDNN STREQUAL "ON")
    message(FATAL_ERROR "CUSEG_CUDNN=ON cannot be built with CUSEG_CUDA=EMULATED (cuDNN needs a real GPU)")
  endif()
  set(CUSEG_HAS_CUDA 1)
  set(CUSEG_CUDA_EMULATED 1)
elseif(NOT CUSEG_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(_cuseg_nvcc nvcc HINTS /usr/local/cuda/bin ENV CUDA_PATH PATH_SUFFIXES bin)
    if(_cuseg_nvcc)
      set(CMAKE_CUDA_COMPILER ${_cuseg_nvcc})
    endif()
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # CMake 3.25 does not know nvcc's C++20 flag (nvcc has it since 12.0): teach it.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CUSEG_HAS_CUDA 1)
  elseif(CUSEG_CUDA STREQUAL "ON")
    message(FATAL_ERROR "CUSEG_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()

if(CUSEG_HAS_CUDA AND NOT CUSEG_CUDNN STREQUAL "OFF")
  find_path(CUSEG_CUDNN_INCLUDE_DIR cudnn.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include)
  find_library(CUSEG_CUDNN_LIBRARY cudnn
               HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64
                     ${CUDAToolkit_LIBRARY_ROOT}/lib)
  if(CUSEG_CUDNN_INCLUDE_DIR AND CUSEG_CUDNN_LIBRARY)
    set(CUSEG_HAS_CUDNN 1)
  endif()
endif()
if(CUSEG_CUDNN STREQUAL "ON" AND NOT CUSEG_HAS_CUDNN)
  message(FATAL_ERROR "CUSEG_CUDNN=ON but cuDNN (cudnn.h, libcudnn) was not found next to the CUDA toolkit"
                      " (or CUDA itself is off)")
endif()

if(CUSEG_CUDA_EMULATED)
  message(STATUS "cuseg: CUDA emulated on CPU threads (cuseg/emu), cuDNN 0")
else()
  message(STATUS "cuseg: CUDA ${CUSEG_HAS_CUDA} (archs: ${CMAKE_CUDA_ARCHITECTURES}), cuDNN ${CUSEG_HAS_CUDNN}")
endif()
