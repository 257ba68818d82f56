# libFuzzer targets: test/fuzz/NAME_fuzz.cpp each with a NAME_fuzz.cmake beside it that calls
# vigil_fuzz_target(NAME LIBS...). Built only with -DVIGIL_FUZZ=ON and clang (the `fuzz` build of
# packaging/dev.sh); each target then also runs briefly as a CTest labelled `fuzz` over its seed corpus.
function(vigil_fuzz_target name)
  if(NOT VIGIL_FUZZ)
    return()
  endif()
  add_executable(${name}_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${name}_fuzz.cpp)
  target_link_libraries(${name}_fuzz PRIVATE ${ARGN})
  target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
  set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/${name})
  set(work ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
  add_test(NAME "fuzz: ${name} (60 s)"
           COMMAND sh -c "mkdir -p '${work}' && exec $<TARGET_FILE:${name}_fuzz> -max_total_time=60 -timeout=10 -rss_limit_mb=2048 '${work}' '${seeds}'")
  set_tests_properties("fuzz: ${name} (60 s)" PROPERTIES LABELS fuzz TIMEOUT 180)
endfunction()

file(GLOB fuzz_cmakes CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/*_fuzz.cmake)
foreach(f ${fuzz_cmakes})
  include(${f})
endforeach()
