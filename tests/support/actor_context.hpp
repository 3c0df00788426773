#pragma once

#include <chrono>
#include <memory>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/testing.hpp"

namespace support {

/// What the runtime actors' mailbox tests start from: an actor system, the
/// test's own actor in it, and a streaming context of 1 s batches under a
/// manual clock, whose graph the test builds (and starts, if it needs to).
struct actor_context {
  caf_stream::stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<caf_stream::testing::manual_clock> clk
    = std::make_shared<caf_stream::testing::manual_clock>();
  caf_stream::streaming_context ssc{sys, std::chrono::seconds(1), clk};
};

} // namespace support
