# Installation and packaging: headers, the shared and static library, the
# host tools, a CMake package (find_package(clcnn) giving clcnn::clcnn and
# clcnn::clcnn_static) and a pkg-config file (clcnn.pc), plus
# clcnn-uninstalled.pc for using the build tree itself; with the MPI
# component, its libraries, clcnn::clcnn_dist(_static) in the package
# (component `dist`) and clcnn-dist.pc. Included at the end
# of the top-level CMakeLists.txt, after every target is defined.
include(CMakePackageConfigHelpers)

set(CLCNN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/clcnn"
    CACHE STRING "Where clcnnConfig.cmake is installed, relative to the prefix")
set(CLCNN_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where clcnn.pc is installed, relative to the prefix")

# ------------------------------------------------------------------ headers
install(FILES ${PROJECT_SOURCE_DIR}/include/clcnn.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
# clcnn/dist.h only with the library it declares (it includes <mpi.h>).
if(CLCNN_HAS_MPI)
  set(clcnn_header_exclusions "")
else()
  set(clcnn_header_exclusions PATTERN dist.h EXCLUDE)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/clcnn
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
        FILES_MATCHING PATTERN "*.h" ${clcnn_header_exclusions})

# ---------------------------------------------------------------- libraries
# Only clcnn and clcnn_static are exported. clcnn_objects reaches them as
# $<TARGET_OBJECTS:...> sources, not as a link dependency, so it needs no
# export set of its own.
install(TARGETS clcnn clcnn_static
        EXPORT clcnnTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                NAMELINK_COMPONENT development
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# The tools link the static library (clcnn-chart no library at all), so
# they need no run-time search path.
foreach(tool clcnn-train clcnn-bench clcnn-chart)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  endif()
endforeach()

# The MPI component, in an export set of its own: clcnnConfig.cmake loads it
# only when it was built and MPI is found (find_package(clcnn COMPONENTS
# dist) asks for it).
if(CLCNN_HAS_MPI)
  install(TARGETS clcnn_dist clcnn_dist_static
          EXPORT clcnnDistTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                  NAMELINK_COMPONENT development
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

# ------------------------------------------------------------ CMake package
install(EXPORT clcnnTargets
        NAMESPACE clcnn::
        FILE clcnnTargets.cmake
        DESTINATION ${CLCNN_INSTALL_CMAKEDIR}
        COMPONENT development)
if(CLCNN_HAS_MPI)
  install(EXPORT clcnnDistTargets
          NAMESPACE clcnn::
          FILE clcnnDistTargets.cmake
          DESTINATION ${CLCNN_INSTALL_CMAKEDIR}
          COMPONENT development)
endif()

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/clcnnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/clcnnConfig.cmake
  INSTALL_DESTINATION ${CLCNN_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO NO_CHECK_REQUIRED_COMPONENTS_MACRO)
# 0.x: a minor release may break the API, so only the same minor matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/clcnnConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/clcnnConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/clcnnConfigVersion.cmake
        DESTINATION ${CLCNN_INSTALL_CMAKEDIR}
        COMPONENT development)

# --------------------------------------------------------------- pkg-config
# The prefix is computed from the .pc file's own location (${pcfiledir}), so
# the file stays right for `cmake --install --prefix` at any place and after
# the tree is moved. Absolute install dirs are written as they are.
function(clcnn_pc_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${CLCNN_INSTALL_PKGCONFIGDIR}")
  set(CLCNN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH clcnn_pc_to_prefix "/prefix/${CLCNN_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" clcnn_pc_to_prefix "${clcnn_pc_to_prefix}")
  set(CLCNN_PC_PREFIX "\${pcfiledir}/${clcnn_pc_to_prefix}")
endif()
clcnn_pc_path(CLCNN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
clcnn_pc_path(CLCNN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
# The file to install is kept out of the build directory's top, where it
# would name install paths that do not exist yet.
# clcnn.pc's variable `mpi` says whether the MPI component was built; its
# own module, clcnn-dist, exists only then.
if(CLCNN_HAS_MPI)
  set(CLCNN_PC_MPI yes)
else()
  set(CLCNN_PC_MPI no)
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/clcnn.pc.in
               ${PROJECT_BINARY_DIR}/pkgconfig-install/clcnn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig-install/clcnn.pc
        DESTINATION ${CLCNN_INSTALL_PKGCONFIGDIR}
        COMPONENT development)
if(CLCNN_HAS_MPI)
  # MPI's own pkg-config module when it has one (Open MPI: ompi-c, MPICH:
  # mpich), else the flags CMake found.
  set(CLCNN_PC_DIST_REQUIRES "")
  set(CLCNN_PC_DIST_CFLAGS "")
  set(CLCNN_PC_DIST_LIBS "")
  foreach(module ompi-c mpich)
    pkg_check_modules(clcnn_mpi_pc_${module} QUIET ${module})
    if(clcnn_mpi_pc_${module}_FOUND)
      set(CLCNN_PC_DIST_REQUIRES " ${module}")
      break()
    endif()
  endforeach()
  if(CLCNN_PC_DIST_REQUIRES STREQUAL "")
    foreach(dir IN LISTS MPI_C_INCLUDE_DIRS)
      string(APPEND CLCNN_PC_DIST_CFLAGS " -I${dir}")
    endforeach()
    foreach(library IN LISTS MPI_C_LIBRARIES)
      string(APPEND CLCNN_PC_DIST_LIBS " ${library}")
    endforeach()
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/clcnn-dist.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig-install/clcnn-dist.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig-install/clcnn-dist.pc
          DESTINATION ${CLCNN_INSTALL_PKGCONFIGDIR}
          COMPONENT development)
endif()

# For the build tree itself, pkg-config's -uninstalled convention:
# clcnn-uninstalled.pc at the top of the build directory (of each
# configuration's directory with a multi-configuration generator), which
# pkg-config picks over clcnn.pc, pointing at the source headers and the
# built libraries (both kinds land in one directory).
set(CLCNN_UNINSTALLED_LIBDIR "$<TARGET_FILE_DIR:clcnn>")
configure_file(${PROJECT_SOURCE_DIR}/cmake/clcnn-uninstalled.pc.in
               ${PROJECT_BINARY_DIR}/CMakeFiles/clcnn-uninstalled.pc.in @ONLY)
if(CMAKE_CONFIGURATION_TYPES)
  set(clcnn_uninstalled_dir "${PROJECT_BINARY_DIR}/$<CONFIG>")
else()
  set(clcnn_uninstalled_dir "${PROJECT_BINARY_DIR}")
endif()
file(GENERATE OUTPUT ${clcnn_uninstalled_dir}/clcnn-uninstalled.pc
     INPUT ${PROJECT_BINARY_DIR}/CMakeFiles/clcnn-uninstalled.pc.in)
if(CLCNN_HAS_MPI)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/clcnn-dist-uninstalled.pc.in
                 ${PROJECT_BINARY_DIR}/CMakeFiles/clcnn-dist-uninstalled.pc.in @ONLY)
  file(GENERATE OUTPUT ${clcnn_uninstalled_dir}/clcnn-dist-uninstalled.pc
       INPUT ${PROJECT_BINARY_DIR}/CMakeFiles/clcnn-dist-uninstalled.pc.in)
endif()
