#pragma once

/// What users get to test their own pipelines: a manual clock,
/// `run_operation`, which runs an operation on the real runtime, and
/// `push_receiver`, a receiver the test stores into.

#include "caf_stream/testing/fixtures.hpp"
#include "caf_stream/testing/manual_clock.hpp"
#include "caf_stream/testing/push_receiver.hpp"
#include "caf_stream/testing/run_operation.hpp"
