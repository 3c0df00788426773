#pragma once

#include <catch2/catch.hpp>

#include "caf_stream/rdd/partial_result.hpp"

namespace support {

/// Checks that `x` is `y` to 9 digits, and has `y`'s confidence exactly
/// (an estimate worked out by hand, or one of Spark's test suites', is
/// exact to the digits written).
inline void check_near(const caf_stream::bounded_double& x,
                       const caf_stream::bounded_double& y) {
  CHECK(x.mean == Approx(y.mean).epsilon(1e-9));
  CHECK(x.confidence == y.confidence);
  CHECK(x.low == Approx(y.low).epsilon(1e-9));
  CHECK(x.high == Approx(y.high).epsilon(1e-9));
}

} // namespace support
