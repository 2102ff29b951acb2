// The Catch2 v2 test runner's main(); with Catch2 v3 the CMake target Catch2::Catch2WithMain
// provides it instead and this file is not compiled.
#define CATCH_CONFIG_MAIN
#include "catch_compat.hpp"
