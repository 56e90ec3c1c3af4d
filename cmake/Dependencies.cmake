# Every dependency is a Debian package. When one is missing, configuration stops with a message
# naming the package and the command that installs everything (scripts/bootstrap).
include_guard(GLOBAL)
find_package(PkgConfig QUIET)

function(echoes_missing what debian_package)
  message(FATAL_ERROR
    "Echoes needs ${what}, which was not found.\n"
    "Install it with:  sudo scripts/bootstrap   (Debian package: ${debian_package})")
endfunction()

macro(echoes_find_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    echoes_missing(${name} ${debian_package})
  endif()
endmacro()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

echoes_find_package(nlohmann_json nlohmann-json3-dev 3.11)
echoes_find_package(GTest libgtest-dev)
echoes_find_package(rapidcheck librapidcheck-dev)
echoes_find_package(fmt libfmt-dev)
if(ECHOES_BUILD_BENCHMARKS)
  echoes_find_package(benchmark libbenchmark-dev)
endif()

# Boost.Beast and Boost.Asio (header-only) carry the mock server's HTTP transport.
echoes_find_package(Boost libboost-dev 1.74 CONFIG)

if(NOT PKG_CONFIG_FOUND)
  echoes_missing(pkg-config pkg-config)
endif()
# cpp-httplib is a compiled library in Debian. Its pkg-config file carries the CPPHTTPLIB_*
# definitions the library was built with; every target that includes httplib.h must use them, or
# its structs will not match the library's. PkgConfig::httplib carries them.
pkg_check_modules(httplib QUIET IMPORTED_TARGET GLOBAL cpp-httplib>=0.11)
if(NOT httplib_FOUND)
  echoes_missing(cpp-httplib libcpp-httplib-dev)
endif()

# valijson is header-only.
find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp)
if(NOT VALIJSON_INCLUDE_DIR)
  echoes_missing(valijson libvalijson-dev)
endif()
add_library(echoes_valijson INTERFACE)
target_include_directories(echoes_valijson SYSTEM INTERFACE ${VALIJSON_INCLUDE_DIR})
target_link_libraries(echoes_valijson INTERFACE nlohmann_json::nlohmann_json)

include(GoogleTest)

# The safety layer's text normaliser: utf8proc (NFKC, case folding) and ICU (confusable skeletons).
pkg_check_modules(utf8proc QUIET IMPORTED_TARGET GLOBAL libutf8proc)
if(NOT utf8proc_FOUND)
  echoes_missing(utf8proc libutf8proc-dev)
endif()
pkg_check_modules(icu QUIET IMPORTED_TARGET GLOBAL icu-uc icu-i18n)
if(NOT icu_FOUND)
  echoes_missing(ICU libicu-dev)
endif()

# CLI11 is header-only: the flag parsing of `echoes` (harness/cli/), echoes-mock and the benchmark
# clients (kept out of widely included headers). Targets link echoes_cli11.
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp)
if(NOT CLI11_INCLUDE_DIR)
  echoes_missing(CLI11 libcli11-dev)
endif()
add_library(echoes_cli11 INTERFACE)
target_include_directories(echoes_cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})

# simdjson: the fast JSON Lines reader of `echoes scan` (harness/scan_runner.cc).
echoes_find_package(simdjson libsimdjson-dev)

# liblinear trains the learned safety scorer (core/safety/linear_text_trainer.cc only).
find_path(LIBLINEAR_INCLUDE_DIR linear.h)
find_library(LIBLINEAR_LIBRARY linear)
if(NOT LIBLINEAR_INCLUDE_DIR OR NOT LIBLINEAR_LIBRARY)
  echoes_missing(liblinear liblinear-dev)
endif()
add_library(echoes_liblinear INTERFACE)
target_include_directories(echoes_liblinear SYSTEM INTERFACE ${LIBLINEAR_INCLUDE_DIR})
target_link_libraries(echoes_liblinear INTERFACE ${LIBLINEAR_LIBRARY})

# OpenSSL's SHA-256 fingerprints a model's training data (core/eval/sha256.cc).
echoes_find_package(OpenSSL libssl-dev)

# Hyperscan compiles every rule of a rule pack into one database (core/safety/rule_engine.cc);
# Vectorscan installs the same libhs.pc where Hyperscan is unavailable. RE2 is its fallback engine
# and the comparison.
pkg_check_modules(libhs QUIET IMPORTED_TARGET GLOBAL libhs)
if(NOT libhs_FOUND)
  echoes_missing(Hyperscan "libhyperscan-dev (or libvectorscan-dev)")
endif()
pkg_check_modules(re2 QUIET IMPORTED_TARGET GLOBAL re2)
if(NOT re2_FOUND)
  echoes_missing(RE2 libre2-dev)
endif()

# tinyxml2 reads the JUnit XML files `echoes gate` judges (harness/gate/) and writes the merged ones (harness/report/: `echoes report --merge`).
pkg_check_modules(tinyxml2 QUIET IMPORTED_TARGET GLOBAL tinyxml2)
if(NOT tinyxml2_FOUND)
  echoes_missing(tinyxml2 libtinyxml2-dev)
endif()

# yaml-cpp parses the CI workflow and the Kubernetes manifest in a test (suites/cli/ci_manifests_test.cc).
echoes_find_package(yaml-cpp libyaml-cpp-dev)

# zlib deflates the HDR histograms of HdrHistogram's interval logs (core/monitor/histogram_log.cc).
echoes_find_package(ZLIB zlib1g-dev)

# SQLite (WAL mode) keeps `echoes batch run`'s progress beside its output (harness/batch/batch_store.cc).
pkg_check_modules(sqlite3 QUIET IMPORTED_TARGET GLOBAL sqlite3)
if(NOT sqlite3_FOUND)
  echoes_missing(SQLite libsqlite3-dev)
endif()

# libedit gives `echoes repl` line editing and history (harness/repl/line_editor.cc).
pkg_check_modules(libedit QUIET IMPORTED_TARGET GLOBAL libedit)
if(NOT libedit_FOUND)
  echoes_missing(libedit libedit-dev)
endif()

# libsodium: the audit log's Ed25519 signatures, the key file's secretbox encryption, request
# signing's HMAC-SHA256 and key derivation from the master key (core/security/).
pkg_check_modules(libsodium QUIET IMPORTED_TARGET GLOBAL libsodium)
if(NOT libsodium_FOUND)
  echoes_missing(libsodium libsodium-dev)
endif()

# spdlog: the one structured logger (core/monitor/log.cc only; built against the system fmt).
echoes_find_package(spdlog libspdlog-dev)

# Prometheus: `promtool test rules` checks deploy/monitoring's alerting rules, and a test scrapes a
# live echoes-mock with a real `prometheus` (suites/monitoring/).
find_program(ECHOES_PROMTOOL promtool)
find_program(ECHOES_PROMETHEUS prometheus)
if(NOT ECHOES_PROMTOOL OR NOT ECHOES_PROMETHEUS)
  echoes_missing("promtool and prometheus" prometheus)
endif()
