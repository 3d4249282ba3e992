# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(error_test "/work/main/build/tests/error_test")
set_tests_properties(error_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;12;vl_test;/work/main/tests/CMakeLists.txt;0;")
add_test(crypto_test "/work/main/build/tests/crypto_test")
set_tests_properties(crypto_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;13;vl_test;/work/main/tests/CMakeLists.txt;0;")
add_test(keyfile_test "/work/main/build/tests/keyfile_test")
set_tests_properties(keyfile_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;14;vl_test;/work/main/tests/CMakeLists.txt;0;")
add_test(wire_test "/work/main/build/tests/wire_test")
set_tests_properties(wire_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;15;vl_test;/work/main/tests/CMakeLists.txt;0;")
add_test(verify_test "/work/main/build/tests/verify_test")
set_tests_properties(verify_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;16;vl_test;/work/main/tests/CMakeLists.txt;0;")
add_test(genesis_test "/work/main/build/tests/genesis_test")
set_tests_properties(genesis_test PROPERTIES  ENVIRONMENT "VL_TEST_VECTORS=/work/main/tests/vectors;VL_BUILD_DIR=/work/main/build" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;7;add_test;/work/main/tests/CMakeLists.txt;17;vl_test;/work/main/tests/CMakeLists.txt;0;")
subdirs("fuzz")
subdirs("tools")
