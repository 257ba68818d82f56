# syn_packet.cpp alone: the rest of vigil_checker_core uses C++20 coroutines, which the fuzz build's clang does
# not compile with Debian's libstdc++.
if(VIGIL_FUZZ)
  add_library(vigil_syn_packet STATIC ${PROJECT_SOURCE_DIR}/checker_child/syn_packet.cpp)
  target_include_directories(vigil_syn_packet PUBLIC ${PROJECT_SOURCE_DIR})
endif()
vigil_fuzz_target(syn vigil_syn_packet)
