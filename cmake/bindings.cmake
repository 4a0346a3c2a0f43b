# Included by the top-level CMakeLists.txt (after the C examples). Builds and tests:
#   - umedata_fortran (umedata::fortran): the Fortran module bindings/fortran/umedata.f90
#   - cpp_demo / cpp_demo_cxx17, fortran_demo, openmp_demo: the demo economy of write_demo.c
#     through include/umedata.hpp, the Fortran module and OpenMP threads sharing one writer
#   - compare_datasets: each demo's dataset must equal write_demo's value for value
#   - install rules (library, headers, Fortran module, CMake config, pkg-config file) and a
#     test that builds tests/consumer/ against the installed copy, with find_package and
#     with pkg-config.
# See docs/bindings.md.

find_package(OpenMP QUIET)

# ---- the Fortran module ----------------------------------------------------------------
set(UMEDATA_HAVE_FORTRAN OFF)
if(UMEDATA_BUILD_FORTRAN AND CMAKE_Fortran_COMPILER)
  set(UMEDATA_HAVE_FORTRAN ON)
  set(UMEDATA_FORTRAN_MODULE_DIR "${CMAKE_BINARY_DIR}/fortran_modules")
  add_library(umedata_fortran STATIC "${CMAKE_SOURCE_DIR}/bindings/fortran/umedata.f90")
  set_target_properties(umedata_fortran PROPERTIES
    Fortran_MODULE_DIRECTORY "${UMEDATA_FORTRAN_MODULE_DIR}"
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(umedata_fortran INTERFACE "${UMEDATA_FORTRAN_MODULE_DIR}")
  target_link_libraries(umedata_fortran PUBLIC umedata::umedata)
  if(CMAKE_Fortran_COMPILER_ID STREQUAL "GNU")
    # -frecursive: locals on the stack (the module is called from many threads at once).
    target_compile_options(umedata_fortran PRIVATE -std=f2018 -Wall -Wextra -Werror -frecursive)
  endif()
  # With the OpenMP flag the module's own error message is threadprivate (thread-local
  # storage). The module has no parallel regions, so nothing from the OpenMP runtime is
  # needed at link time.
  if(OpenMP_Fortran_FOUND)
    target_compile_options(umedata_fortran PRIVATE ${OpenMP_Fortran_FLAGS})
  endif()
  add_library(umedata::fortran ALIAS umedata_fortran)
endif()

if(UMEDATA_BUILD_EXAMPLES)
  # The serial C demo's dataset (test write_demo) is the reference.
  set_tests_properties(write_demo PROPERTIES FIXTURES_SETUP umedata_demo_serial)
  set_tests_properties(write_demo_static PROPERTIES FIXTURES_SETUP umedata_demo_static)

  add_executable(compare_datasets examples_c/compare_datasets.c)
  target_link_libraries(compare_datasets PRIVATE umedata::umedata)
  target_compile_options(compare_datasets PRIVATE ${UMEDATA_C_WARNINGS})

  # compare_datasets must see a difference where there is one (1000 vs 50 samples).
  add_test(NAME compare_datasets_detects_difference
    COMMAND compare_datasets "${UMEDATA_DEMO_OUT}" "${CMAKE_BINARY_DIR}/demo_data_static.zarr")
  set_tests_properties(compare_datasets_detects_difference PROPERTIES
    FIXTURES_REQUIRED "umedata_demo_serial;umedata_demo_static"
    PASS_REGULAR_EXPRESSION "dimensions differ: n_samples 1000/50")

  # umedata_demo_variant(NAME TARGET [ENV ...]): runs TARGET like write_demo (same N and
  # chunking) into <build>/NAME_data.zarr, then compares with write_demo's dataset.
  function(umedata_demo_variant name target)
    set(out "${CMAKE_BINARY_DIR}/${name}_data.zarr")
    add_test(NAME ${name} COMMAND ${target} "${out}" 1000 128 --overwrite)
    set_tests_properties(${name} PROPERTIES FIXTURES_SETUP umedata_${name} TIMEOUT 300)
    if(ARGN)
      set_tests_properties(${name} PROPERTIES ENVIRONMENT "${ARGN}")
    endif()
    add_test(NAME ${name}_matches_write_demo
      COMMAND compare_datasets "${UMEDATA_DEMO_OUT}" "${out}")
    set_tests_properties(${name}_matches_write_demo PROPERTIES
      FIXTURES_REQUIRED "umedata_demo_serial;umedata_${name}"
      PASS_REGULAR_EXPRESSION "equal, value for value" TIMEOUT 300)
  endfunction()

  # ---- C++ ----
  if(CMAKE_CXX_COMPILER)
    set(UMEDATA_CXX_WARNINGS -Wall -Wextra -Werror -pedantic)
    add_executable(cpp_demo examples_c/cpp_demo.cpp)
    target_link_libraries(cpp_demo PRIVATE umedata::umedata m)
    target_compile_options(cpp_demo PRIVATE ${UMEDATA_CXX_WARNINGS} -ffp-contract=off)
    if("cxx_std_20" IN_LIST CMAKE_CXX_COMPILE_FEATURES)
      target_compile_features(cpp_demo PRIVATE cxx_std_20)   # the std::span overloads
    else()
      target_compile_features(cpp_demo PRIVATE cxx_std_17)
    endif()
    set_target_properties(cpp_demo PROPERTIES CXX_EXTENSIONS OFF)
    umedata_demo_variant(cpp_demo cpp_demo)

    # The same program as C++17 (no <span>): the header must work there too.
    add_executable(cpp_demo_cxx17 examples_c/cpp_demo.cpp)
    target_link_libraries(cpp_demo_cxx17 PRIVATE umedata::umedata m)
    target_compile_options(cpp_demo_cxx17 PRIVATE ${UMEDATA_CXX_WARNINGS} -ffp-contract=off)
    target_compile_features(cpp_demo_cxx17 PRIVATE cxx_std_17)
    set_target_properties(cpp_demo_cxx17 PROPERTIES CXX_STANDARD 17 CXX_EXTENSIONS OFF)
    umedata_demo_variant(cpp_demo_cxx17 cpp_demo_cxx17)

    # The rest of the C API through umedata.hpp (Simulator + generate with C++ lambdas,
    # GenConfig, GenSummary, Rng, Splits, Manifest, validate): as C++20, as C++17 and,
    # where the compiler has them, under AddressSanitizer + UndefinedBehaviorSanitizer.
    function(umedata_cpp_engine_demo name std)
      add_executable(${name} examples_c/cpp_engine_demo.cpp)
      target_link_libraries(${name} PRIVATE umedata::umedata)
      target_compile_options(${name} PRIVATE ${UMEDATA_CXX_WARNINGS} ${ARGN})
      target_link_options(${name} PRIVATE ${ARGN})
      target_compile_features(${name} PRIVATE ${std})
      set_target_properties(${name} PROPERTIES CXX_EXTENSIONS OFF)
      # Exit status 0 only when every check passed (and, under ASan, no error or leak).
      add_test(NAME ${name} COMMAND ${name} "${CMAKE_BINARY_DIR}/${name}_out")
      set_tests_properties(${name} PROPERTIES TIMEOUT 300)
    endfunction()
    if("cxx_std_20" IN_LIST CMAKE_CXX_COMPILE_FEATURES)
      umedata_cpp_engine_demo(cpp_engine_demo cxx_std_20)
    else()
      umedata_cpp_engine_demo(cpp_engine_demo cxx_std_17)
    endif()
    umedata_cpp_engine_demo(cpp_engine_demo_cxx17 cxx_std_17)
    set_target_properties(cpp_engine_demo_cxx17 PROPERTIES CXX_STANDARD 17)

    include(CheckCXXSourceCompiles)
    set(UMEDATA_CXX_ASAN_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=all)
    set(CMAKE_REQUIRED_FLAGS "-fsanitize=address,undefined")
    set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=address,undefined")
    check_cxx_source_compiles("int main() { return 0; }" UMEDATA_CXX_HAS_ASAN)
    unset(CMAKE_REQUIRED_FLAGS)
    unset(CMAKE_REQUIRED_LINK_OPTIONS)
    if(UMEDATA_CXX_HAS_ASAN)
      umedata_cpp_engine_demo(cpp_engine_demo_asan cxx_std_17 ${UMEDATA_CXX_ASAN_FLAGS})
      set_tests_properties(cpp_engine_demo_asan PROPERTIES
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1")
    else()
      message(STATUS "umedata: no -fsanitize=address for C++, cpp_engine_demo_asan is not built")
    endif()
  endif()

  # ---- Fortran ----
  if(UMEDATA_HAVE_FORTRAN)
    add_executable(fortran_demo examples_c/fortran_demo.f90)
    target_link_libraries(fortran_demo PRIVATE umedata::fortran)
    if(CMAKE_Fortran_COMPILER_ID STREQUAL "GNU")
      # -ffp-contract=off: no fused multiply-add (as the C demo); -fwrapv: splitmix64
      # relies on wrapping 64-bit signed integer arithmetic.
      target_compile_options(fortran_demo PRIVATE
        -std=f2018 -Wall -Wextra -Werror -ffp-contract=off -fwrapv)
    endif()
    umedata_demo_variant(fortran_demo fortran_demo)
  endif()

  # ---- OpenMP: all threads share one writer, schedule(dynamic) ----
  if(OpenMP_C_FOUND)
    add_executable(openmp_demo examples_c/openmp_demo.c)
    target_link_libraries(openmp_demo PRIVATE umedata::umedata OpenMP::OpenMP_C m)
    target_compile_options(openmp_demo PRIVATE ${UMEDATA_C_WARNINGS} -ffp-contract=off)
    # More threads than the 2 CI cores: samples arrive interleaved and out of order.
    umedata_demo_variant(openmp_demo openmp_demo OMP_NUM_THREADS=4)
  else()
    message(STATUS "umedata: OpenMP for C not found, openmp_demo is not built")
  endif()

  # ---- MPI: each rank writes its own chunk-aligned range of one world ----
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND AND MPIEXEC_EXECUTABLE)
    add_executable(mpi_demo examples_c/mpi_demo.c)
    target_link_libraries(mpi_demo PRIVATE umedata::umedata MPI::MPI_C m)
    target_compile_options(mpi_demo PRIVATE ${UMEDATA_C_WARNINGS} -ffp-contract=off)
    set(out "${CMAKE_BINARY_DIR}/mpi_demo_data.zarr")
    add_test(NAME mpi_demo
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 --oversubscribe
              $<TARGET_FILE:mpi_demo> "${out}" 1000 128 --overwrite)
    # OpenMPI refuses to run as root (CI containers) unless told it is intended.
    set_tests_properties(mpi_demo PROPERTIES FIXTURES_SETUP umedata_mpi_demo TIMEOUT 300
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
    add_test(NAME mpi_demo_matches_write_demo
      COMMAND compare_datasets "${UMEDATA_DEMO_OUT}" "${out}")
    set_tests_properties(mpi_demo_matches_write_demo PROPERTIES
      FIXTURES_REQUIRED "umedata_demo_serial;umedata_mpi_demo"
      PASS_REGULAR_EXPRESSION "equal, value for value" TIMEOUT 300)
  else()
    message(STATUS "umedata: MPI for C not found, mpi_demo is not built")
  endif()
endif()

# ---- install ----------------------------------------------------------------------------
if(UMEDATA_INSTALL)
  include(CMakePackageConfigHelpers)
  set(UMEDATA_SHARED_NAME "${CMAKE_SHARED_LIBRARY_PREFIX}umedata${CMAKE_SHARED_LIBRARY_SUFFIX}")
  set(UMEDATA_STATIC_NAME "${CMAKE_STATIC_LIBRARY_PREFIX}umedata${CMAKE_STATIC_LIBRARY_SUFFIX}")
  set(UMEDATA_FORTRAN_NAME
    "${CMAKE_STATIC_LIBRARY_PREFIX}umedata_fortran${CMAKE_STATIC_LIBRARY_SUFFIX}")
  set(UMEDATA_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/umedata")

  install(FILES "${UMEDATA_SHARED_LIB}" DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                WORLD_READ WORLD_EXECUTE)
  install(FILES "${UMEDATA_STATIC_LIB}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(FILES "${UMEDATA_INCLUDE_DIR}/umedata.h" "${UMEDATA_INCLUDE_DIR}/umedata.hpp"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(FILES "${CMAKE_SOURCE_DIR}/bindings/julia/UmeData.jl"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/umedata/julia")
  install(DIRECTORY "${CMAKE_SOURCE_DIR}/bindings/julia/UmeData"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/umedata/julia")
  install(FILES "${CMAKE_SOURCE_DIR}/bindings/fortran/umedata.f90"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/umedata/fortran")
  set(UMEDATA_FORTRAN_COMPILER_DESC "")
  if(UMEDATA_HAVE_FORTRAN)
    install(TARGETS umedata_fortran ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
    install(FILES "${UMEDATA_FORTRAN_MODULE_DIR}/umedata.mod"
      DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
    set(UMEDATA_FORTRAN_COMPILER_DESC
      "${CMAKE_Fortran_COMPILER_ID} ${CMAKE_Fortran_COMPILER_VERSION}")
  endif()

  # CMake package: find_package(umedata CONFIG)
  configure_package_config_file(
    "${CMAKE_SOURCE_DIR}/cmake/umedataConfig.cmake.in"
    "${CMAKE_BINARY_DIR}/umedataConfig.cmake"
    INSTALL_DESTINATION "${UMEDATA_CMAKE_DIR}"
    PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
  # The ABI policy (README): within a major version a minor only adds, so a program
  # asking for 0.2 is served by 0.3 (tests/consumer asks for 0.2), not by 1.x.
  write_basic_package_version_file("${CMAKE_BINARY_DIR}/umedataConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMajorVersion)
  install(FILES "${CMAKE_BINARY_DIR}/umedataConfig.cmake"
                "${CMAKE_BINARY_DIR}/umedataConfigVersion.cmake"
    DESTINATION "${UMEDATA_CMAKE_DIR}")

  # pkg-config: umedata.pc, relocatable through ${pcfiledir}
  set(UMEDATA_PC_LIBS_PRIVATE "")
  foreach(lib IN LISTS UMEDATA_STATIC_LINK_LIBS)
    if(lib STREQUAL "Threads::Threads")
      string(APPEND UMEDATA_PC_LIBS_PRIVATE " -lpthread")
    elseif(lib MATCHES "^-")
      string(APPEND UMEDATA_PC_LIBS_PRIVATE " ${lib}")
    elseif(NOT lib STREQUAL "")
      string(APPEND UMEDATA_PC_LIBS_PRIVATE " -l${lib}")
    endif()
  endforeach()
  string(STRIP "${UMEDATA_PC_LIBS_PRIVATE}" UMEDATA_PC_LIBS_PRIVATE)
  file(RELATIVE_PATH UMEDATA_PC_RELATIVE_PREFIX
    "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" UMEDATA_PC_RELATIVE_PREFIX "${UMEDATA_PC_RELATIVE_PREFIX}")
  configure_file("${CMAKE_SOURCE_DIR}/cmake/umedata.pc.in" "${CMAKE_BINARY_DIR}/umedata.pc" @ONLY)
  install(FILES "${CMAKE_BINARY_DIR}/umedata.pc"
    DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

  # ---- test: install into <build>/test_install, build tests/consumer against it --------
  if(UMEDATA_BUILD_TESTS)
    set(prefix "${CMAKE_BINARY_DIR}/test_install")
    set(consumer_bin "${CMAKE_BINARY_DIR}/test_consumer")
    add_test(NAME install_clean
      COMMAND ${CMAKE_COMMAND} -E rm -rf "${prefix}" "${consumer_bin}")
    set_tests_properties(install_clean PROPERTIES FIXTURES_SETUP umedata_install_clean)
    add_test(NAME install
      COMMAND ${CMAKE_COMMAND} --install "${CMAKE_BINARY_DIR}" --prefix "${prefix}")
    set_tests_properties(install PROPERTIES
      FIXTURES_REQUIRED umedata_install_clean FIXTURES_SETUP umedata_installed)

    set(compilers "-DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}")
    if(CMAKE_CXX_COMPILER)
      list(APPEND compilers "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}")
    endif()
    if(UMEDATA_HAVE_FORTRAN)
      list(APPEND compilers "-DCMAKE_Fortran_COMPILER=${CMAKE_Fortran_COMPILER}")
    endif()
    foreach(mode IN ITEMS find_package pkg-config)
      add_test(NAME consumer_${mode}
        COMMAND ${CMAKE_CTEST_COMMAND}
          --build-and-test "${CMAKE_SOURCE_DIR}/tests/consumer" "${consumer_bin}/${mode}"
          --build-generator "${CMAKE_GENERATOR}"
          --build-options ${compilers}
            "-DUMEDATA_CONSUMER_MODE=${mode}"
            "-DUMEDATA_EXPECTED_PREFIX=${prefix}"
            "-DCMAKE_PREFIX_PATH=${prefix}"
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo"
          --test-command ${CMAKE_CTEST_COMMAND} --output-on-failure)
      set_tests_properties(consumer_${mode} PROPERTIES
        FIXTURES_REQUIRED umedata_installed TIMEOUT 600
        ENVIRONMENT "PKG_CONFIG_PATH=${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
    endforeach()
  endif()
endif()
