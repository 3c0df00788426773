#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"

#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

namespace support {

/// A real worker node actor in `sys` of the program `stream.app-id` =
/// `app_id`, serving a graph of one queue stream with an output, for the
/// tests of what a node refuses to a driver or a node of another program.
/// The node ends with this object.
struct program_node {
  program_node(caf::actor_system& sys, const std::string& app_id)
    : ssc(sys, std::chrono::seconds(1),
          std::make_shared<caf_stream::testing::manual_clock>()) {
    ssc.queue_stream(std::make_shared<caf_stream::rdd_queue<int>>())
      .foreach_rdd([](const caf_stream::rdd<int>&) {});
    opts.app_id = app_id;
    actor = caf_stream::actors::spawn_state_node(
      sys, ssc.graph(), program(),
      std::make_shared<caf_stream::testing::manual_clock>(), opts);
  }

  ~program_node() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }

  /// The program the node serves (`program_id`).
  std::string program() const {
    return caf_stream::actors::program_id(opts);
  }

  caf_stream::streaming_context ssc;
  caf_stream::stream_options opts;
  caf::actor actor;
};

} // namespace support
