# Test helper programs of the integration tests.
#
# vigil-io-probe drives the VRRP child's I/O layer (rtnetlink addresses, the protocol-112 socket, GARP/NA,
# the link monitor) from the command line, for test_vrrp_io.py. It is built from those sources directly rather
# than from vigil_vrrp_core, so that it exercises exactly the I/O layer and builds on its own.
set(vigil_io_dir ${PROJECT_SOURCE_DIR}/vrrp_child)
add_executable(vigil-io-probe ${CMAKE_CURRENT_LIST_DIR}/vigil_io_probe.cpp
               ${vigil_io_dir}/socket.cpp ${vigil_io_dir}/socket_ipv4.cpp ${vigil_io_dir}/garp.cpp ${vigil_io_dir}/garp_frame.cpp
               ${vigil_io_dir}/link_monitor.cpp ${vigil_io_dir}/address_manager.cpp ${vigil_io_dir}/event_loop.cpp)
target_include_directories(vigil-io-probe PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(vigil-io-probe PRIVATE vigil_common_netlink vigil_asio vigil_spdlog)
