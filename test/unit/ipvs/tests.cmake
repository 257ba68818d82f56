# The IPVS backend's code alone, as its own library: the unit tests and the vm probe (test/vm) link only this, so
# they build while the rest of checker_child/ changes.
# Listed, not globbed: checker_child/ipvs_mapping.cpp (config -> IPVS) belongs to the check engine and needs proto.
set(vigil_ipvs_srcs ipvs_types.cpp ipvs_msg.cpp ipvs_table.cpp ipvs_backend.cpp ipvs_keeper.cpp)
list(TRANSFORM vigil_ipvs_srcs PREPEND ${PROJECT_SOURCE_DIR}/checker_child/)
add_library(vigil_ipvs STATIC ${vigil_ipvs_srcs})
target_include_directories(vigil_ipvs PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(vigil_ipvs PUBLIC PkgConfig::LIBMNL vigil_spdlog vigil_asio)

vigil_unit_test(vigil_unit_ipvs ipvs vigil_ipvs)
