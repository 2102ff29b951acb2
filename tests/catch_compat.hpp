// Catch2 v2 (single header) or v3 (split headers), whichever is installed.
#pragma once

#if defined(__has_include) && __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
