vigil_unit_test(vigil_unit_netlink netlink vigil_common_netlink)
# The pure parts of the VRRP child's I/O layer (GARP / NA frame builders, the received IPv4 header split) are
# compiled in here on their own so this binary does not depend on the rest of the VRRP child.
target_sources(vigil_unit_netlink PRIVATE ${PROJECT_SOURCE_DIR}/vrrp_child/garp_frame.cpp
                                          ${PROJECT_SOURCE_DIR}/vrrp_child/socket_ipv4.cpp)
