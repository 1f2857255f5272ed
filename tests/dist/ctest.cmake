# Tests of the MPI component (libclcnn_dist), included by tests/CMakeLists.txt
# when it is built. Labels `unit` and `mpi` (a few seconds each once the
# kernels are cached). test_dist_api runs one rank (a singleton MPI
# process); the others run two ranks under mpirun on the
# default device, each rank's POCL on one thread (the two share the
# machine), once over shared memory and once over TCP, so that the network
# path is exercised too.
clcnn_add_test(NAME test_dist_api SOURCES dist/test_dist_api.c LABELS mpi)
target_link_libraries(test_dist_api PRIVATE clcnn_dist_static)

# Open MPI's mpirun refuses more ranks than cores and binds each rank to a
# core without these (root is let in by the environment below); other MPIs'
# launchers take no such flags.
set(clcnn_mpiexec_flags "")
if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
  set(clcnn_mpiexec_flags --oversubscribe --bind-to none)
endif()
set(CLCNN_MPI_TEST_ENVIRONMENT ${CLCNN_TEST_ENVIRONMENT} POCL_MAX_PTHREAD_COUNT=1
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
# Under the sanitizers, MPI's own leaks are suppressed by module
# (ci/lsan.supp), which needs full allocation stacks.
set(CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION "")
if(CLCNN_SANITIZE)
  set(CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION
      "ASAN_OPTIONS=string_append::fast_unwind_on_malloc=0")
endif()
set(CLCNN_MPIRUN_2 ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${clcnn_mpiexec_flags}
    ${MPIEXEC_PREFLAGS})

# The two-rank tests: one program, every rank runs every (collective) test.
add_executable(test_dist_ranks dist/test_dist_ranks.c)
target_compile_options(test_dist_ranks PRIVATE ${CLCNN_TEST_WARNINGS})
target_link_libraries(test_dist_ranks PRIVATE clcnn_dist_static clcnn_test_support)
add_test(NAME test_dist_ranks
         COMMAND ${CLCNN_MPIRUN_2} $<TARGET_FILE:test_dist_ranks> ${MPIEXEC_POSTFLAGS})
set(clcnn_dist_tests test_dist_ranks)
if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
  # The same over TCP only (no shared memory): the path between machines.
  add_test(NAME test_dist_ranks_tcp
           COMMAND ${CLCNN_MPIRUN_2} --mca btl tcp,self $<TARGET_FILE:test_dist_ranks>
                   ${MPIEXEC_POSTFLAGS})
  list(APPEND clcnn_dist_tests test_dist_ranks_tcp)
endif()
set_tests_properties(${clcnn_dist_tests} PROPERTIES LABELS "unit;mpi" TIMEOUT 1500
                     ENVIRONMENT "${CLCNN_MPI_TEST_ENVIRONMENT}"
                     ENVIRONMENT_MODIFICATION "${CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION}")
set_tests_properties(test_dist_api PROPERTIES
                     ENVIRONMENT_MODIFICATION "${CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION}")

# Faults: a failing, exiting, killed or hung rank stops the other within 60 s
# with a message naming it; a job killed while saving leaves a whole
# checkpoint. The messages checked are Open MPI's.
if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
  add_executable(dist_fault dist/dist_fault.c)
  target_compile_options(dist_fault PRIVATE ${CLCNN_TEST_WARNINGS})
  target_compile_definitions(dist_fault PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(dist_fault PRIVATE clcnn_dist_static)
  add_test(NAME test_dist_faults
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_dist_faults.sh
                   ${CMAKE_CURRENT_BINARY_DIR}/dist-faults $<TARGET_FILE:dist_fault>
                   ${CLCNN_MPIRUN_2})
  set_tests_properties(test_dist_faults PROPERTIES LABELS mpi TIMEOUT 900
                       ENVIRONMENT "${CLCNN_MPI_TEST_ENVIRONMENT}"
                       ENVIRONMENT_MODIFICATION "${CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION}")
endif()

# Not a test: the measurements of docs/distributed.md (all-reduce GB/s for
# the seed network's and ResNet-8's gradients, the overlap of a step), run
# by hand under mpirun.
add_executable(dist_measure dist/dist_measure.c)
target_compile_options(dist_measure PRIVATE ${CLCNN_TEST_WARNINGS})
target_compile_definitions(dist_measure PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(dist_measure PRIVATE clcnn_dist_static)

# clcnn-train under mpirun: 2 ranks x B/2 train as 1 x B, rank 0 alone
# prints and saves, --resume across rank counts (one run over TCP), a device
# list; and (label mpi only: a hung rank takes the 45-s timeout) a failing,
# hung or killed rank stops the job within 60 s, named.
if(TARGET clcnn-train AND MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
  foreach(mode train faults)
    add_test(NAME test_train_ranks_${mode}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_train_ranks.sh ${mode}
                     $<TARGET_FILE:clcnn-train> ${CMAKE_CURRENT_BINARY_DIR}/train-ranks-${mode}
                     ${CLCNN_MPIRUN_2})
    set_tests_properties(test_train_ranks_${mode} PROPERTIES TIMEOUT 600
                         ENVIRONMENT "${CLCNN_MPI_TEST_ENVIRONMENT}"
                         ENVIRONMENT_MODIFICATION "${CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION}")
  endforeach()
  set_tests_properties(test_train_ranks_train PROPERTIES LABELS "unit;mpi")
  set_tests_properties(test_train_ranks_faults PROPERTIES LABELS mpi)
endif()

# clcnn-bench --filter 'allreduce*' on 2 ranks and on 1.
if(TARGET clcnn-bench)
  add_test(NAME test_bench_allreduce
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_bench_allreduce.sh
                   $<TARGET_FILE:clcnn-bench> ${CLCNN_MPIRUN_2})
  set_tests_properties(test_bench_allreduce PROPERTIES LABELS "unit;mpi" TIMEOUT 300
                       ENVIRONMENT "${CLCNN_MPI_TEST_ENVIRONMENT}"
                       ENVIRONMENT_MODIFICATION "${CLCNN_MPI_TEST_ENVIRONMENT_MODIFICATION}")
endif()
