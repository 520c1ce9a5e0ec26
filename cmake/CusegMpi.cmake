# Decides CUSEG_HAS_MPI from CUSEG_MPI. AUTO uses MPI where CMake finds it (Debian's
# libopenmpi-dev), ON fails here without it, OFF never looks. Without it seg_train runs one
# process (dist/communicator.h); with it, `mpirun -np N seg_train ...` trains on N ranks.
if(NOT CUSEG_MPI MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CUSEG_MPI must be AUTO, ON or OFF (got '${CUSEG_MPI}')")
endif()
set(CUSEG_HAS_MPI 0)
if(NOT CUSEG_MPI STREQUAL "OFF")
  # The C API from C++ (the project enables no C compiler); not MPI's deprecated C++ bindings.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(CUSEG_HAS_MPI 1)
  elseif(CUSEG_MPI STREQUAL "ON")
    message(FATAL_ERROR "CUSEG_MPI=ON but MPI was not found (Debian: libopenmpi-dev)")
  endif()
endif()
if(CUSEG_HAS_MPI)
  message(STATUS "cuseg: MPI 1 (MPI ${MPI_CXX_VERSION}, ${MPI_CXX_LIBRARIES})")
else()
  message(STATUS "cuseg: MPI 0: seg_train runs one process")
endif()
