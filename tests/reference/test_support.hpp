// Assertion helpers shared by the test executables.
#pragma once

#include "catch_compat.hpp"
#include "reference/dense_reference.hpp"

// Both matrices have the same shape and agree entry-wise to `tol` (max-abs difference).
#define REQUIRE_MATRIX_CLOSE(actual, expected, tol)                                   \
  REQUIRE_THAT(::kraus::test::max_abs_diff((actual), (expected)),                     \
               Catch::Matchers::WithinAbs(0.0, (tol)))

#define REQUIRE_CLOSE(actual, expected, tol) \
  REQUIRE_THAT((actual), Catch::Matchers::WithinAbs((expected), (tol)))
