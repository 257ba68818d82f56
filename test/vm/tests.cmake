# vm tests (label `vm`): real IPVS in Debian's kernel under qemu (TCG), with an initramfs each test builds
# (test/vm/vmlab.py). They need root, qemu-system-x86, linux-image-amd64, busybox-static, ipvsadm, kmod and cpio.
add_executable(vigil-ipvs-probe ${CMAKE_CURRENT_SOURCE_DIR}/vm/ipvs_probe_main.cpp)
target_link_libraries(vigil-ipvs-probe PRIVATE vigil_ipvs)

file(GLOB vm_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/vm/test_*.py)
foreach(t ${vm_tests})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME "vm: ${name}" COMMAND python3 -u ${t})
  set_tests_properties("vm: ${name}" PROPERTIES LABELS vm TIMEOUT 600 RUN_SERIAL TRUE
                       ENVIRONMENT "VIGIL_BIN=${CMAKE_BINARY_DIR}/bin;VIGIL_SOURCE_DIR=${PROJECT_SOURCE_DIR};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/vm")
endforeach()
