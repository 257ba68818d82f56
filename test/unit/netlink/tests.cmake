vigil_unit_test(vigil_unit_netlink netlink vigil_common_netlink)
# The GARP / NA frame builders are pure functions of vrrp_child/garp_frame.cpp; they are compiled in here on
# their own so this binary does not depend on the rest of the VRRP child.
target_sources(vigil_unit_netlink PRIVATE ${PROJECT_SOURCE_DIR}/vrrp_child/garp_frame.cpp)
