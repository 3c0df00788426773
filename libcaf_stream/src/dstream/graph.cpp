#include "caf_stream/dstream/graph.hpp"

#include <algorithm>

#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/dstream/transformed.hpp"
#include "caf_stream/dstream/window.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::detail {

// -- streams ------------------------------------------------------------------

dstream_node_base::dstream_node_base(dstream_graph& graph, duration slide,
                                     std::vector<dstream_node_base*> parents)
  : graph_(&graph),
    slide_(slide),
    parents_(std::move(parents)),
    remember_(slide) {
  // nop
}

dstream_node_base::~dstream_node_base() {
  // nop
}

void dstream_node_base::remember(duration d) {
  remember_ = std::max(remember_, d);
  for (auto* p : parents_)
    p->remember(parent_remember_duration());
}

input_node_base::~input_node_base() {
  // nop
}

output_node_base::~output_node_base() {
  // nop
}

void throw_missing_parent_rdd(const char* what, time t) {
  throw stream_error(errc::invalid_graph,
                     std::string{what} + ": a parent stream generated no RDD "
                       + "at " + to_string(t));
}

void throw_different_graphs(const char* what) {
  throw stream_error(errc::invalid_graph,
                     std::string{what}
                       + ": both streams must belong to the same context");
}

void check_same_slide(const char* what, duration a, duration b) {
  if (a != b)
    throw stream_error(errc::invalid_graph,
                       std::string{what} + ": the streams have different "
                         + "slide durations (" + to_string(a) + " and "
                         + to_string(b) + ")");
}

void check_window(const char* what, duration window, duration slide,
                  duration parent_slide) {
  auto check = [&](const char* name, duration d) {
    if (d.count() <= 0 || d.count() % parent_slide.count() != 0)
      throw stream_error(errc::invalid_graph,
                         std::string{what} + ": the " + name
                           + " duration of windowed DStream (" + to_string(d)
                           + ") must be a multiple of the slide duration of "
                           + "parent DStream (" + to_string(parent_slide)
                           + ")");
  };
  check("window", window);
  check("slide", slide);
}

// -- graph --------------------------------------------------------------------

dstream_graph::dstream_graph(duration batch_interval,
                             size_t default_parallelism)
  : batch_interval_(batch_interval),
    default_parallelism_(default_parallelism) {
  if (batch_interval.count() <= 0)
    throw stream_error(errc::invalid_config,
                       "the batch interval must be positive, got "
                         + to_string(batch_interval));
}

dstream_graph::~dstream_graph() {
  // nop
}

void dstream_graph::check_open(const char*) const {
  switch (state_) {
    case state::initialized:
      return;
    case state::started:
      throw stream_error(errc::illegal_state,
                         "Adding new inputs, transformations, and output "
                         "operations after starting a context is not "
                         "supported");
    case state::stopped:
      throw stream_error(errc::illegal_state,
                         "Adding new inputs, transformations, and output "
                         "operations after stopping a context is not "
                         "supported");
  }
}

void dstream_graph::add(std::shared_ptr<dstream_node_base> node) {
  check_open("add");
  nodes_.push_back(std::move(node));
}

void dstream_graph::add_input(std::shared_ptr<dstream_node_base> node,
                              std::shared_ptr<input_node_base> input) {
  add(std::move(node));
  inputs_.push_back(std::move(input));
}

void dstream_graph::add_receiver_input(
  std::shared_ptr<dstream_node_base> node,
  std::shared_ptr<receiver_input_base> input) {
  add_input(std::move(node), input);
  receiver_inputs_.push_back(std::move(input));
}

void dstream_graph::add_output(std::shared_ptr<output_node_base> output) {
  check_open("add_output");
  outputs_.push_back(std::move(output));
}

void dstream_graph::validate() const {
  if (outputs_.empty())
    throw stream_error(errc::invalid_graph,
                       "No output operations registered, so nothing to "
                       "execute");
  if (inputs_.empty())
    throw stream_error(errc::invalid_graph,
                       "No input streams registered, so nothing to execute");
  auto needs_dir = std::any_of(nodes_.begin(), nodes_.end(),
                               [](auto& n) { return n->must_checkpoint(); });
  if (needs_dir && checkpoint_dir_.empty())
    throw stream_error(errc::invalid_graph,
                       "The checkpoint directory has not been set. Please set "
                       "it by streaming_context::checkpoint().");
}

void dstream_graph::set_checkpoint_directory(std::string directory) {
  checkpoint_dir_ = std::move(directory);
}

void dstream_graph::start(time zero) {
  check_open("start");
  validate();
  zero_ = zero;
  for (auto& n : nodes_)
    n->initialize(zero);
  state_ = state::started;
}

void dstream_graph::stop() noexcept {
  state_ = state::stopped;
}

int64_t dstream_graph::generate_inputs(time t) {
  int64_t records = 0;
  for (auto& in : inputs_)
    records += in->generate(t);
  return records;
}

std::vector<job> dstream_graph::generate_jobs(time t) {
  std::vector<job> result;
  for (auto& out : outputs_)
    if (auto j = out->generate_job(t))
      result.push_back(std::move(*j));
  return result;
}

void dstream_graph::clear_metadata(time t) {
  for (auto& n : nodes_)
    n->clear_metadata(t);
}

} // namespace caf_stream::detail
