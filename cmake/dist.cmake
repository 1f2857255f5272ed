# The optional data-parallel component (include/clcnn/dist.h, src/dist/):
# libclcnn_dist, shared and static, on MPI. CLCNN_MPI says whether to build
# it: AUTO (default) when find_package(MPI COMPONENTS C) finds MPI, ON (and
# fail without MPI) or OFF. Sets CLCNN_HAS_MPI for the rest of the build
# (tests, install, the package files). Included by the top-level
# CMakeLists.txt after the core library's targets.
set(CLCNN_MPI AUTO CACHE STRING "Build the MPI component libclcnn_dist: AUTO, ON or OFF")
set_property(CACHE CLCNN_MPI PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${CLCNN_MPI}" clcnn_mpi_choice)
if(NOT clcnn_mpi_choice MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "CLCNN_MPI is \"${CLCNN_MPI}\"; it must be AUTO, ON or OFF")
endif()

set(CLCNN_HAS_MPI OFF)
# MPI_C_LIBRARY_VERSION_STRING tells the tests which launcher flags apply.
set(MPI_DETERMINE_LIBRARY_VERSION TRUE)
if(clcnn_mpi_choice STREQUAL "ON")
  find_package(MPI COMPONENTS C REQUIRED)
  set(CLCNN_HAS_MPI ON)
elseif(clcnn_mpi_choice STREQUAL "AUTO")
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(CLCNN_HAS_MPI ON)
  endif()
endif()
# Kept in the cache too, where tests/install/check_install.sh reads it.
set(CLCNN_HAS_MPI ${CLCNN_HAS_MPI} CACHE INTERNAL "Whether libclcnn_dist is built")
if(CLCNN_HAS_MPI)
  message(STATUS "MPI ${MPI_C_VERSION} found: building libclcnn_dist (CLCNN_MPI=${CLCNN_MPI})")
elseif(clcnn_mpi_choice STREQUAL "OFF")
  message(STATUS "libclcnn_dist is not built (CLCNN_MPI=OFF)")
  return()
else()
  message(STATUS "libclcnn_dist is not built: MPI was not found (CLCNN_MPI=AUTO)")
  return()
endif()

file(GLOB CLCNN_DIST_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/dist/*.c)
list(SORT CLCNN_DIST_SOURCES)

# Compiled once for both libraries, like the core. It sees only the public
# headers: the component is built on the public API.
add_library(clcnn_dist_objects OBJECT ${CLCNN_DIST_SOURCES})
set_target_properties(clcnn_dist_objects PROPERTIES POSITION_INDEPENDENT_CODE ON
                                                    C_VISIBILITY_PRESET hidden)
target_compile_options(clcnn_dist_objects PRIVATE ${CLCNN_WARNINGS})
target_compile_definitions(clcnn_dist_objects PRIVATE CLCNN_BUILDING _POSIX_C_SOURCE=200809L)
target_include_directories(clcnn_dist_objects PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(clcnn_dist_objects PRIVATE MPI::MPI_C)

add_library(clcnn_dist SHARED $<TARGET_OBJECTS:clcnn_dist_objects>)
set_target_properties(clcnn_dist PROPERTIES VERSION ${PROJECT_VERSION}
                                            SOVERSION ${PROJECT_VERSION_MAJOR}
                                            EXPORT_NAME clcnn_dist)
target_include_directories(clcnn_dist PUBLIC ${CLCNN_PUBLIC_INCLUDES})
target_link_libraries(clcnn_dist PUBLIC clcnn MPI::MPI_C PRIVATE m)
target_link_options(clcnn_dist PRIVATE LINKER:--no-undefined)

add_library(clcnn_dist_static STATIC $<TARGET_OBJECTS:clcnn_dist_objects>)
set_target_properties(clcnn_dist_static PROPERTIES OUTPUT_NAME clcnn_dist
                                                   EXPORT_NAME clcnn_dist_static)
target_include_directories(clcnn_dist_static PUBLIC ${CLCNN_PUBLIC_INCLUDES})
target_link_libraries(clcnn_dist_static PUBLIC clcnn_static MPI::MPI_C m)

add_library(clcnn::clcnn_dist ALIAS clcnn_dist)
add_library(clcnn::clcnn_dist_static ALIAS clcnn_dist_static)
