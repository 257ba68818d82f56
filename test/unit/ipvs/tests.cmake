# The IPVS backend's code alone, as its own library: the unit tests and the vm probe (test/vm) link only this, so
# they build while the rest of checker_child/ changes.
file(GLOB vigil_ipvs_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/checker_child/ipvs_*.cpp)
add_library(vigil_ipvs STATIC ${vigil_ipvs_srcs})
target_include_directories(vigil_ipvs PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(vigil_ipvs PUBLIC PkgConfig::LIBMNL spdlog::spdlog fmt::fmt vigil_asio)

vigil_unit_test(vigil_unit_ipvs ipvs vigil_ipvs)
