# Tests of the MPI component (libclcnn_dist), included by tests/CMakeLists.txt
# when it is built. Label `mpi` on all; test_dist_api (one rank, a singleton
# MPI process) is also `unit`. The others run two ranks under mpirun on the
# default device, each rank's POCL on one thread (the two share the
# machine), once over shared memory and once over TCP, so that the network
# path is exercised too.
clcnn_add_test(NAME test_dist_api SOURCES dist/test_dist_api.c LABELS mpi)
target_link_libraries(test_dist_api PRIVATE clcnn_dist_static)

# Open MPI's mpirun refuses more ranks than cores, binds ranks to cores and
# refuses root without these; other MPIs' launchers take no such flags.
if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
  set(clcnn_mpiexec_default_flags --oversubscribe --bind-to none)
else()
  set(clcnn_mpiexec_default_flags "")
endif()
set(CLCNN_MPIEXEC_FLAGS "${clcnn_mpiexec_default_flags}" CACHE STRING
    "Flags of the MPI launcher for the two-rank tests")
set(CLCNN_MPI_TEST_ENVIRONMENT ${CLCNN_TEST_ENVIRONMENT} POCL_MAX_PTHREAD_COUNT=1
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
set(CLCNN_MPIRUN_2 ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${CLCNN_MPIEXEC_FLAGS}
    ${MPIEXEC_PREFLAGS})
