# Integration tests: test/integration/test_*.py, each one CTest labelled `integration` (root, network
# namespaces it creates and removes). They find the binaries through VIGIL_BIN.
file(GLOB integration_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_*.py)
foreach(t ${integration_tests})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME "integration: ${name}" COMMAND python3 -u ${t})
  set_tests_properties("integration: ${name}" PROPERTIES LABELS integration TIMEOUT 900
                       ENVIRONMENT "VIGIL_BIN=${CMAKE_BINARY_DIR}/bin;VIGIL_SOURCE_DIR=${PROJECT_SOURCE_DIR};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/integration")
endforeach()

# Helper programs the integration tests drive (vigil-io-probe).
include(${CMAKE_CURRENT_SOURCE_DIR}/integration/tools/tools.cmake)
