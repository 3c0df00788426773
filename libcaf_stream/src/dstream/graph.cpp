#include "caf_stream/dstream/graph.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>

#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/dstream/transformed.hpp"
#include "caf_stream/dstream/window.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream {

state_operator::~state_operator() {
  // nop
}

std::string state_operator::operation() const {
  auto sig = signature();
  return sig.substr(0, sig.find('<'));
}

} // namespace caf_stream

namespace caf_stream::detail {

namespace {

// Throws unless every task of `tasks` is below `n` ("map task 7 asked for,
// the stage has 4").
void check_asked(const std::vector<uint32_t>& tasks, size_t n,
                 const char* task, const char* of) {
  for (auto i : tasks)
    if (i >= n)
      throw stream_error(errc::invalid_graph,
                         std::string{task} + " " + std::to_string(i)
                           + " asked for, " + of + " has "
                           + std::to_string(n));
}

} // namespace

// -- streams ------------------------------------------------------------------

dstream_node_base::dstream_node_base(dstream_graph& graph, duration slide,
                                     std::vector<dstream_node_base*> parents)
  : graph_(&graph),
    context_(graph.context()),
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

std::string dstream_node_base::checkpoint_data(time) {
  throw stream_error(errc::illegal_state,
                     "checkpoint_data: this stream keeps no state");
}

void dstream_node_base::restore_data(const std::string&) {
  throw stream_error(errc::illegal_state,
                     "restore_data: this stream keeps no state");
}

std::string type_name(const std::type_info& x) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name{
    abi::__cxa_demangle(x.name(), nullptr, nullptr, &status), std::free};
  return status == 0 && name ? std::string{name.get()} : x.name();
}

input_node_base::~input_node_base() {
  // nop
}

void input_node_base::bind_generated(time, generated_input) {
  // An input that generates nothing (a receiver stream) takes nothing.
}

rate_controlled_input::~rate_controlled_input() {
  // nop
}

std::string input_node_base::checkpoint_positions(time) {
  return {};
}

void input_node_base::restore_positions(const std::string&) {
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

void check_can_slice(const dstream_graph& graph) {
  if (graph.is_open())
    throw stream_error(errc::illegal_state,
                       "slice: the stream has not been initialized (start "
                       "the context first)");
  if (graph.context()->runs_jobs_elsewhere())
    throw stream_error(errc::illegal_state,
                       "slice: while the context runs, call it inside a job "
                       "(foreach_rdd, transform), on the thread where the "
                       "stream's RDDs live");
}

void check_can_persist(const dstream_graph& graph) {
  if (!graph.is_open())
    throw stream_error(errc::illegal_state,
                       "persist: Cannot change storage level of a DStream "
                       "after streaming context has started");
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

void check_checkpoint_interval(const dstream_node_base& node,
                               duration interval) {
  auto slide = node.slide();
  if (!node.must_checkpoint())
    throw stream_error(errc::invalid_graph,
                       "checkpoint: only state streams (update_state_by_key, "
                       "map_with_state, reduce_by_key_and_window with an "
                       "inverse function) keep data to checkpoint; this "
                       "stream recomputes its batches from its parents");
  if (interval < slide)
    throw stream_error(errc::invalid_graph,
                       "checkpoint: the checkpoint interval has been set to "
                         + to_string(interval)
                         + " which is lower than its slide time ("
                         + to_string(slide) + "); set it to at least "
                         + to_string(slide));
  if (interval.count() % slide.count() != 0)
    throw stream_error(errc::invalid_graph,
                       "checkpoint: the checkpoint interval has been set to "
                         + to_string(interval)
                         + " which is not a multiple of its slide time ("
                         + to_string(slide) + "); set it to a multiple of "
                         + to_string(slide));
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
    default_parallelism_(default_parallelism),
    context_(std::make_shared<rdd_context>()) {
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

void dstream_graph::add_rate_controlled_input(
  std::shared_ptr<dstream_node_base> node,
  std::shared_ptr<input_node_base> input,
  std::shared_ptr<rate_controlled_input> rc) {
  add_input(std::move(node), std::move(input));
  rate_controlled_inputs_.push_back(std::move(rc));
}

void dstream_graph::add_state_operator(std::shared_ptr<state_operator> op) {
  check_open("add_state_operator");
  op->set_state_id(static_cast<int32_t>(state_operators_.size()));
  state_operators_.push_back(std::move(op));
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

std::optional<std::string>
dstream_graph::claim_progress_row(const std::string& row,
                                  const std::string& sink) {
  auto [i, added] = progress_rows_.emplace(row, sink);
  if (added)
    return std::nullopt;
  return i->second;
}

void dstream_graph::remember(duration d) {
  check_open("remember");
  if (d.count() <= 0)
    throw stream_error(errc::invalid_config,
                       "remember: the duration must be positive, got "
                         + to_string(d));
  if (remember_)
    throw stream_error(errc::illegal_state,
                       "remember: the remember duration is already set as "
                         + to_string(*remember_)
                         + "; it cannot be set again");
  remember_ = d;
}

void dstream_graph::start(time zero, std::optional<time> started) {
  check_open("start");
  validate();
  begin(zero, started.value_or(zero));
}

void dstream_graph::begin(time zero, time started) {
  zero_ = zero;
  started_ = started;
  for (auto& n : nodes_) {
    n->initialize(zero);
    if (remember_)
      n->remember(*remember_);
    if (n->must_checkpoint() && n->checkpoint_interval().count() == 0)
      n->set_checkpoint_interval(n->default_checkpoint_interval());
  }
  state_ = state::started;
}

// -- checkpoints --------------------------------------------------------------

std::string dstream_graph::fingerprint() const {
  // Inputs and state streams only, so that adding a map or an output does
  // not orphan the state of a running application.
  std::string result = "inputs=" + std::to_string(inputs_.size()) + ";state=";
  for (auto& n : nodes_)
    if (n->must_checkpoint())
      result += std::to_string(n->slide().count()) + "ms,";
  return result;
}

bool dstream_graph::data_checkpoint_due(time t) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [&](auto& n) {
    return n->must_checkpoint()
           && (t - zero_).count() % n->checkpoint_interval().count() == 0;
  });
}

checkpoint_record dstream_graph::make_checkpoint(time t,
                                                 const std::vector<time>& pending,
                                                 bool with_data) {
  checkpoint_record x;
  x.time_ms = t.milliseconds();
  x.batch_interval_ms = batch_interval_.count();
  x.zero_ms = zero_.milliseconds();
  x.graph_fingerprint = fingerprint();
  for (auto p : pending)
    x.pending_ms.push_back(p.milliseconds());
  for (uint32_t i = 0; i < inputs_.size(); ++i)
    if (auto bytes = inputs_[i]->checkpoint_positions(t); !bytes.empty())
      x.input_data.emplace_back(i, std::move(bytes));
  auto stateless = std::none_of(nodes_.begin(), nodes_.end(),
                                [](auto& n) { return n->must_checkpoint(); });
  // Without state every record is complete: recovery resumes after it.
  if (with_data || stateless) {
    uint32_t index = 0;
    for (auto& n : nodes_)
      if (n->must_checkpoint())
        x.node_data.emplace_back(index++, n->checkpoint_data(t));
    last_data_time_ = t;
  }
  x.data_time_ms = last_data_time_ ? last_data_time_->milliseconds()
                                   : zero_.milliseconds();
  return x;
}

time dstream_graph::restore(const recovered_checkpoint& cp) {
  const auto& latest = cp.latest;
  if (latest.batch_interval_ms != batch_interval_.count())
    throw stream_error(errc::bad_checkpoint,
                       "the checkpoint was written with a batch interval of "
                         + std::to_string(latest.batch_interval_ms)
                         + " ms, this context has "
                         + to_string(batch_interval_));
  if (latest.graph_fingerprint != fingerprint())
    throw stream_error(errc::bad_checkpoint,
                       "the checkpoint was written by another graph ("
                         + latest.graph_fingerprint + " vs. " + fingerprint()
                         + "): the inputs and state streams must be the same");
  start(time{latest.zero_ms});
  restored_ = true;
  std::vector<dstream_node_base*> stateful;
  for (auto& n : nodes_)
    if (n->must_checkpoint())
      stateful.push_back(n.get());
  for (auto& [index, bytes] : cp.data.node_data)
    if (index < stateful.size())
      stateful[index]->restore_data(bytes);
  for (auto& [index, bytes] : latest.input_data)
    if (index < inputs_.size())
      inputs_[index]->restore_positions(bytes);
  if (cp.data.time_ms != latest.zero_ms)
    last_data_time_ = time{cp.data.time_ms};
  return time{cp.data.time_ms} + batch_interval_;
}

std::optional<std::pair<time, time>>
dstream_graph::batches_without_received_data(
  const recovered_checkpoint& cp) const {
  if (receiver_inputs_.empty())
    return std::nullopt;
  // Run again: every batch after the state's, up to the last one generated
  // before the crash (completed or pending).
  auto last = cp.latest.time_ms;
  for (auto ms : cp.latest.pending_ms)
    last = std::max(last, ms);
  auto first = cp.data.time_ms + batch_interval_.count();
  if (first > last)
    return std::nullopt;
  return std::make_pair(time{first}, time{last});
}

duration dstream_graph::received_blocks_kept_for() const {
  duration result{0};
  for (auto& in : receiver_inputs_)
    result = std::max(result, in->blocks_kept_for());
  return result;
}

void dstream_graph::interrupt_inputs() noexcept {
  for (auto& in : inputs_)
    in->interrupt();
}

void dstream_graph::stop() noexcept {
  if (state_ == state::stopped)
    return;
  state_ = state::stopped;
  for (auto& in : inputs_) {
    try {
      in->stop();
    } catch (const std::exception& e) {
      logger("graph")->error("stopping {} failed: {}", in->name(), e.what());
    }
  }
}

void dstream_graph::release() noexcept {
  state_ = state::stopped;
  // Moved out first: a stream that goes may drop the last handle of
  // another stream, which then finds this graph's vectors empty, not
  // half destroyed.
  auto nodes = std::move(nodes_);
  auto inputs = std::move(inputs_);
  auto receiver_inputs = std::move(receiver_inputs_);
  auto rate_controlled_inputs = std::move(rate_controlled_inputs_);
  auto outputs = std::move(outputs_);
  auto state_operators = std::move(state_operators_);
}

std::map<uint32_t, generated_input> dstream_graph::generate_inputs(time t) {
  std::map<uint32_t, generated_input> result;
  for (uint32_t i = 0; i < inputs_.size(); ++i)
    if (auto x = inputs_[i]->generate(t); x.data)
      result.emplace(i, std::move(x));
  return result;
}

void dstream_graph::bind_generated(time t,
                                   std::map<uint32_t, generated_input> xs) {
  for (auto& [i, x] : xs) {
    if (i >= inputs_.size())
      throw stream_error(errc::invalid_graph,
                         "batch " + to_string(t) + " carries the input of "
                           "stream " + std::to_string(i) + ", this graph has "
                           + std::to_string(inputs_.size()) + " inputs");
    inputs_[i]->bind_generated(t, std::move(x));
  }
}

std::vector<job> dstream_graph::generate_jobs(time t) {
  std::vector<job> result;
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (outputs_[i]->has_job(t))
      result.push_back(job{t, i, outputs_[i]->name()});
  return result;
}

void dstream_graph::bind_received(time t,
                                  std::map<int32_t, std::vector<block>> blocks) {
  for (auto& in : receiver_inputs_) {
    auto i = blocks.find(in->stream_id());
    in->bind(t, i != blocks.end() ? std::move(i->second)
                                  : std::vector<block>{});
  }
}

void dstream_graph::run_job(const job& j) {
  if (j.output_id >= outputs_.size())
    throw stream_error(errc::invalid_graph,
                       "job " + std::to_string(j.output_id) + " of batch "
                         + to_string(j.batch_time)
                         + " names no output operation of this graph");
  outputs_[j.output_id]->run(j.batch_time);
}

void dstream_graph::clear_metadata(time t) {
  for (auto& n : nodes_)
    n->clear_metadata(t);
}

std::optional<dstream_graph::stage_location>
dstream_graph::locate(time t, const rdd_node_base& node) const {
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    if (auto root = nodes_[i]->portable_lineage(t))
      if (auto path = path_to(*root, node))
        return stage_location{i, std::move(*path)};
  }
  return std::nullopt;
}

std::shared_ptr<const rdd_node_base>
dstream_graph::resolve(time t, const stage_location& where) {
  auto root = where.stream < nodes_.size()
                ? nodes_[where.stream]->portable_lineage_at(t)
                : nullptr;
  const rdd_node_base* node = root ? node_at(*root, where.path) : nullptr;
  if (node == nullptr)
    throw stream_error(errc::invalid_graph,
                       "this graph has no stage at that place in stream "
                         + std::to_string(where.stream)
                         + "'s portable lineage of batch " + to_string(t));
  return {root, node};
}

std::shared_ptr<const rdd_node_base>
dstream_graph::stage_at(time zero, job_set batch, const stage_location& where,
                        std::optional<result_form> result) {
  // The first stage of another driver, which started at another time: what
  // this copy computed before does not hold. A worker's copy runs no jobs
  // and writes no checkpoints: what `validate` asks for does not apply.
  if (state_ == state::initialized) {
    begin(zero, zero);
  } else if (zero != zero_) {
    zero_ = zero;
    started_ = zero;
    for (auto& n : nodes_)
      n->initialize(zero);
  }
  // Each stage comes with the inputs its tasks read (a node may get only
  // some partitions): nothing computed for another stage holds.
  auto t = batch.batch_time;
  for (auto& n : nodes_)
    n->clear_metadata(time{std::numeric_limits<int64_t>::max() / 2});
  bind_received(t, std::move(batch.blocks));
  bind_generated(t, std::move(batch.inputs));
  auto node = resolve(t, where);
  if (result ? !result_tasks_portable(*node, *result)
             : !node->map_output_serializable()
                 || (map_stage_reads_shuffle(*node)
                     && !map_tasks_read_reduced(*node)))
    throw stream_error(errc::invalid_graph,
                       "the RDD at that place in stream "
                         + std::to_string(where.stream) + "'s lineage has "
                         + (result ? "no partitions that are computed here"
                                   : "no map stage that runs here"));
  return node;
}

std::vector<std::string>
dstream_graph::run_map_tasks(time zero, job_set batch,
                             const stage_location& where,
                             const std::vector<uint32_t>& tasks,
                             const std::vector<reduced_input>& reduced,
                             task_runner& runner) {
  auto shuffle = stage_at(zero, std::move(batch), where);
  // A shuffle has one map task per partition of each parent.
  size_t num_tasks = 0;
  for (auto* parent : shuffle->parents())
    num_tasks += parent->num_partitions();
  check_asked(tasks, num_tasks, "map task", "the stage");
  // The other shuffles' partitions that the tasks read came computed.
  for (const auto& x : reduced) {
    auto* read = node_at(*shuffle, x.path);
    if (read == nullptr || read == shuffle.get() || !read->is_shuffle()
        || x.index >= read->num_partitions())
      throw stream_error(errc::invalid_graph,
                         "the stage of stream " + std::to_string(where.stream)
                           + " reads no partition "
                           + std::to_string(x.index)
                           + " of a shuffle at that place in its lineage");
    read->use_reduced(x.index, x.bytes);
  }
  // The blocks that stay on their nodes come here first (this node's own
  // by pointer).
  shuffle->prepare_parents(runner);
  return shuffle->run_map_tasks(tasks, runner);
}

std::vector<std::string>
dstream_graph::run_result_tasks(time zero, job_set batch,
                                const stage_location& where,
                                const std::vector<uint32_t>& tasks,
                                task_runner& runner, result_form form) {
  auto node = stage_at(zero, std::move(batch), where, form);
  check_asked(tasks, node->num_partitions(), "partition", "the RDD");
  // The blocks that stay on their nodes come here first (this node's own
  // by pointer).
  node->prepare(runner);
  return node->run_result_tasks(tasks, runner, form);
}

std::vector<std::string> dstream_graph::run_reduce_tasks(
  time zero, job_set batch, const stage_location& where,
  const std::vector<uint32_t>& partitions,
  const std::vector<std::vector<std::string>>& buckets, task_runner& runner) {
  auto shuffle = stage_at(zero, std::move(batch), where);
  if (!shuffle->reduce_serializable())
    throw stream_error(errc::invalid_graph,
                       "the shuffle at that place in stream "
                         + std::to_string(where.stream) + "'s lineage has "
                         "no reduce tasks that run here");
  if (buckets.size() != partitions.size())
    throw stream_error(errc::invalid_graph,
                       std::to_string(buckets.size()) + " buckets' lists for "
                         + std::to_string(partitions.size())
                         + " reduce tasks");
  check_asked(partitions, shuffle->num_partitions(), "reduce task",
              "the shuffle");
  return shuffle->run_reduce_tasks(partitions, buckets, runner);
}

} // namespace caf_stream::detail
