# CTest `fortran_engine_matches_plugin` (cmake -P): the Fortran simulator driving the engine
# through a bind(C) callback (examples_c/fortran_engine.f90) against the same AR(1) model
# run from C through the CLI plugin (examples_c/plugin_ar1.c): equal value for value, and
# `umedata validate` passes on the Fortran dataset; the same for the Sobol design.
#   -DFORTRAN_ENGINE=<exe> -DUMEDATA_CLI=<umedata> -DPLUGIN=<libar1.so>
#   -DCOMPARE=<compare_datasets> -DSCRATCH=<directory>
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")
function(run must_contain)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  message("$ ${ARGN}\n${o}${e}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "exit status ${rc}, expected 0")
  endif()
  if(NOT "${o}${e}" MATCHES "${must_contain}")
    message(FATAL_ERROR "output lacks '${must_contain}'")
  endif()
endfunction()
run("wrote 3000 samples of ar1" "${FORTRAN_ENGINE}" "${SCRATCH}/fortran.zarr" 3000 2)
run("wrote 3000 samples of 'ar1'"
    "${UMEDATA_CLI}" generate --sim "${PLUGIN}" -n 3000 --threads 1 -o "${SCRATCH}/c.zarr")
run("equal, value for value" "${COMPARE}" "${SCRATCH}/fortran.zarr" "${SCRATCH}/c.zarr" ar1)
run("checks passed" "${UMEDATA_CLI}" validate "${SCRATCH}/fortran.zarr")
# The Sobol design (ume_gen_config_set_design from Fortran, --design sobol in the CLI).
run("wrote 1000 samples of ar1"
    "${FORTRAN_ENGINE}" "${SCRATCH}/fortran_sobol.zarr" 1000 2 sobol)
run("wrote 1000 samples of 'ar1'"
    "${UMEDATA_CLI}" generate --sim "${PLUGIN}" -n 1000 --threads 1 --design sobol
    -o "${SCRATCH}/c_sobol.zarr")
run("equal, value for value"
    "${COMPARE}" "${SCRATCH}/fortran_sobol.zarr" "${SCRATCH}/c_sobol.zarr" ar1)
