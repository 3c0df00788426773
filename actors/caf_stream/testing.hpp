#pragma once

/// What users get to test their own pipelines: a manual clock and
/// `run_operation`, which runs an operation on the real runtime.

#include "caf_stream/testing/fixtures.hpp"
#include "caf_stream/testing/manual_clock.hpp"
#include "caf_stream/testing/run_operation.hpp"
