# Registers the install test: installs this build tree into a temporary
# prefix and builds and runs a consumer program against it with pkg-config
# and with find_package(clcnn). Included by tests/CMakeLists.txt.
add_test(NAME install_consumer
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_install.sh
                 ${PROJECT_BINARY_DIR})
set_tests_properties(install_consumer PROPERTIES LABELS install TIMEOUT 240)
