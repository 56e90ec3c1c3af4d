# echoes_add_suite(NAME <target> LABELS <kind> [gate] SOURCES ... [LIBS ...] [TIMEOUT s])
#
# One GoogleTest executable per suite folder. Every test case it holds becomes a CTest test carrying
# the given labels; the label `gate` marks the default set run on every commit.
include_guard(GLOBAL)

function(echoes_add_suite)
  cmake_parse_arguments(S "" "NAME;TIMEOUT" "LABELS;SOURCES;LIBS" ${ARGN})
  if(NOT S_SOURCES)
    # A suite folder with no *_test.cc yet is not an error; it simply has nothing to run.
    message(STATUS "Suite ${S_NAME}: no test sources yet, skipped")
    return()
  endif()
  if(NOT S_TIMEOUT)
    set(S_TIMEOUT 120)
  endif()
  add_executable(${S_NAME} ${S_SOURCES})
  target_link_libraries(${S_NAME} PRIVATE ${S_LIBS} echoes_options GTest::gmock GTest::gtest
    GTest::gtest_main Threads::Threads)
  target_compile_definitions(${S_NAME} PRIVATE
    ECHOES_SOURCE_DIR="${PROJECT_SOURCE_DIR}" ECHOES_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/fixtures")
  gtest_discover_tests(${S_NAME}
    TEST_PREFIX "${S_NAME}."
    DISCOVERY_TIMEOUT 120
    PROPERTIES TIMEOUT ${S_TIMEOUT})
  # gtest_discover_tests cannot pass a list-valued LABELS; the directory property labels every
  # test of the suite folder instead (one suite per folder).
  set_property(DIRECTORY APPEND PROPERTY LABELS ${S_LABELS})
endfunction()
