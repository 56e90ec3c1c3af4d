# The `coverage` target (coverage preset only): runs the gate suites, then writes gcovr's detailed
# HTML, Cobertura XML and JSON summary under reports/coverage/. It measures core/, mock_server/ and
# harness/; suites/, benchmarks/ and system headers are excluded.
include_guard(GLOBAL)
if(NOT ECHOES_COVERAGE)
  return()
endif()
find_program(GCOVR gcovr)
if(NOT GCOVR)
  echoes_missing(gcovr gcovr)
endif()
set(ECHOES_REPORTS_DIR "${PROJECT_SOURCE_DIR}/reports" CACHE PATH "Where reports are written")
set(_cov "${ECHOES_REPORTS_DIR}/coverage")
set(_gcovr_args
  --root "${PROJECT_SOURCE_DIR}" --object-directory "${PROJECT_BINARY_DIR}"
  --filter "${PROJECT_SOURCE_DIR}/core/" --filter "${PROJECT_SOURCE_DIR}/mock_server/"
  --filter "${PROJECT_SOURCE_DIR}/harness/"
  --exclude-unreachable-branches --exclude-throw-branches
  --html-details "${_cov}/index.html" --html-title "Echoes coverage"
  --cobertura "${_cov}/cobertura.xml" --cobertura-pretty
  --json-summary "${_cov}/summary.json" --json-summary-pretty
  --print-summary)
cmake_host_system_information(RESULT _cores QUERY NUMBER_OF_LOGICAL_CORES)
add_custom_target(coverage-clean
  COMMAND find "${PROJECT_BINARY_DIR}" -name "*.gcda" -delete
  COMMENT "Removing old coverage counters")
add_custom_target(coverage
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${_cov}" "${ECHOES_REPORTS_DIR}/junit"
  COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${PROJECT_BINARY_DIR}" -L gate -j ${_cores}
          --output-on-failure --output-junit "${ECHOES_REPORTS_DIR}/junit/coverage-gate.xml"
  COMMAND "${GCOVR}" ${_gcovr_args}
  DEPENDS coverage-clean
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  USES_TERMINAL
  COMMENT "Running the gate suites and writing reports/coverage/")
