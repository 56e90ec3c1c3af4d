# Warnings, sanitizers and coverage flags, applied to the project's own targets through the
# interface library echoes_options (system headers are not affected).
include_guard(GLOBAL)

add_library(echoes_options INTERFACE)
target_compile_options(echoes_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
  -Wimplicit-fallthrough)
if(ECHOES_WERROR)
  target_compile_options(echoes_options INTERFACE -Werror)
endif()

if(ECHOES_SANITIZE)
  # Applied globally so that every object, including test mains, is instrumented alike.
  add_compile_options(-fsanitize=${ECHOES_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ECHOES_SANITIZE})
endif()

if(ECHOES_COVERAGE)
  add_compile_options(--coverage -O0 -g -fprofile-update=atomic)
  add_link_options(--coverage)
endif()

if(ECHOES_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ECHOES_FUZZ needs clang (use the 'fuzz' preset)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
