#include "caf_stream/streaming_context.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/system_messages.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/receiver_tracker.hpp"
#include "caf_stream/actors/runtime.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/checkpoint/checkpoint_directory.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/socket_receiver.hpp"
#include "caf_stream/receiver/write_ahead_log.hpp"
#include "caf_stream/ui/web_server.hpp"

#include "block_interval_advice.hpp"

namespace caf_stream {

struct streaming_context::impl {
  enum class state { initialized, active, serving, stopped };

  // Set only when the context owns its actor system.
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  duration batch_interval;
  stream_options opts;
  std::shared_ptr<clock> clk;
  // Read by `get_state` on any thread.
  std::atomic<state> st = state::initialized;
  std::shared_ptr<actors::runtime_state> shared
    = std::make_shared<actors::runtime_state>();
  std::unique_ptr<actors::runtime> rt;
  // The node actor while the context serves as a worker node, and the actor
  // that joins it to its driver (`stream.driver`).
  caf::actor state_node;
  caf::actor joiner;
  std::shared_ptr<spdlog::logger> log = detail::logger("context");
  std::optional<detail::recovered_checkpoint> recovered;
  bool was_recovered = false;
  // The checkpoint directory's lock while the context runs.
  std::optional<detail::checkpoint_directory_lock> checkpoint_lock;
  // Held by `stop`: the program and a shutdown hook may stop at once.
  std::mutex stopping;
  // The streaming UI while the context runs with it.
  std::unique_ptr<ui::web_server> ui;
  // Whether the context served as a worker node (`serve`), and whether
  // its stop saw every actor of the node down.
  bool served = false;
  bool node_down = false;
};

namespace {

// Asks `x` for `what` and passes the answer to `f` (none if `x` failed),
// then ends `x` and waits until it is down.
template <class Atom, class F>
void end_after(caf::actor_system& sys, caf::actor& x, Atom what, F f) {
  caf::scoped_actor self{sys};
  self->request(x, caf::infinite, what).receive(f, [](caf::error&) {});
  self->monitor(x);
  self->send_exit(x, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  x = nullptr;
}

// The context started in this process and not stopped yet: Spark allows
// one in a JVM. Worker nodes (`serve`) do not count.
std::mutex active_mtx;
streaming_context* active_context = nullptr;

// Makes `x` the active context for a start, or throws if another one is;
// `keep` once it started, else the claim ends with this object.
class active_claim {
public:
  explicit active_claim(streaming_context* x) : x_(x) {
    std::lock_guard<std::mutex> guard{active_mtx};
    if (active_context)
      throw stream_error(errc::illegal_state,
                         "start: only one streaming context may be started "
                         "in a process (as in a Spark JVM), and another one "
                         "runs; stop it first");
    active_context = x_;
  }

  ~active_claim() {
    if (!kept_)
      release(x_);
  }

  void keep() noexcept {
    kept_ = true;
  }

  // Ends the claim of `x`, if it is the active context.
  static void release(streaming_context* x) {
    std::lock_guard<std::mutex> guard{active_mtx};
    if (active_context == x)
      active_context = nullptr;
  }

private:
  streaming_context* x_;
  bool kept_ = false;
};

std::shared_ptr<clock> clock_or_system(std::shared_ptr<clock> clk) {
  return clk ? std::move(clk) : std::make_shared<system_clock>();
}

// The receiver write-ahead log, if it is on and the graph has receivers.
std::shared_ptr<detail::received_block_log>
make_write_ahead_log(const detail::dstream_graph& graph,
                     const stream_options& opts, std::shared_ptr<clock> clk) {
  if (!opts.write_ahead_log || graph.receiver_inputs().empty())
    return nullptr;
  // Spark's rule (StreamingContext.validate).
  if (graph.checkpoint_directory().empty())
    throw stream_error(errc::invalid_config,
                       "start: stream.receiver.write-ahead-log.enable needs a "
                       "checkpoint directory: call checkpoint(directory) "
                       "first");
  for (auto& in : graph.receiver_inputs())
    if (!in->records_serializable())
      throw stream_error(errc::invalid_config,
                         std::string{"start: the records of "} + in->name()
                           + " (stream " + std::to_string(in->stream_id())
                           + ") have no Boost.Serialization serialize: "
                             "stream.receiver.write-ahead-log.enable cannot "
                             "log them");
  return std::make_shared<detail::received_block_log>(
    graph.checkpoint_directory(), opts.write_ahead_log_sync,
    opts.write_ahead_log_rolling_interval, std::move(clk));
}

// Reads the blocks back that a recovery that runs batches again from
// `first` needs; batches before it that windows reach over get theirs at
// once.
actors::tracked_blocks recover_received_blocks(detail::dstream_graph& graph,
                                               detail::received_block_log& wal,
                                               time first) {
  auto log = detail::logger("context");
  // The state is that after `first - interval`: later batches run again
  // with the blocks they had, earlier ones the receiver streams still
  // remember get theirs back for the windows that reach over them.
  auto state_time = first - graph.batch_interval();
  auto recovered = wal.recover(state_time - graph.received_blocks_kept_for());
  actors::tracked_blocks result;
  size_t again = 0;
  for (auto& [t, blocks] : recovered.batches) {
    if (t > state_time) {
      again += blocks.size();
      result.batches.emplace(t, std::move(blocks));
      continue;
    }
    std::map<int32_t, std::vector<block>> by_stream;
    for (auto& b : blocks)
      by_stream[b.stream_id].push_back(std::move(b));
    graph.bind_received(t, std::move(by_stream));
  }
  if (!recovered.incomplete.empty())
    log->warn("batches {} to {} lack some of their blocks: the write-ahead "
              "log no longer holds them (a recovery from an older checkpoint "
              "than the newest)",
              to_string(recovered.incomplete.front()),
              to_string(recovered.incomplete.back()));
  log->info("write-ahead log: {} batches run again with their {} blocks; "
            "{} blocks go to the next batch",
            result.batches.size(), again, recovered.unallocated.size());
  result.unallocated = std::move(recovered.unallocated);
  return result;
}

} // namespace

streaming_context::streaming_context(caf::actor_system& sys,
                                     duration batch_interval)
  : streaming_context(sys, batch_interval, nullptr) {
  // nop
}

streaming_context::streaming_context(caf::actor_system& sys,
                                     duration batch_interval,
                                     std::shared_ptr<clock> clk)
  : impl_(std::make_unique<impl>()) {
  impl_->sys = &sys;
  impl_->batch_interval = batch_interval;
  impl_->opts = read_stream_options(sys.config()).resolved();
  impl_->clk = clock_or_system(std::move(clk));
  graph_ = std::make_shared<detail::dstream_graph>(
    batch_interval, impl_->opts.default_parallelism);
  graph_->set_sink_max_retries(impl_->opts.sink_max_retries);
  graph_->context()->set_clock(impl_->clk);
}

streaming_context::streaming_context(duration batch_interval,
                                     stream_options opts,
                                     std::shared_ptr<clock> clk)
  : impl_(std::make_unique<impl>()) {
  opts.validate();
  impl_->opts = opts.resolved();
  impl_->own_cfg = std::make_unique<caf::actor_system_config>();
  // A driver with worker nodes, or a node that joins one.
  if (impl_->opts.with_nodes() || !impl_->opts.driver.empty())
    load_node_modules(*impl_->own_cfg);
  add_stream_message_types(*impl_->own_cfg);
  set_stream_scheduler_defaults(*impl_->own_cfg);
  set_stream_middleman_defaults(*impl_->own_cfg);
  impl_->own_sys = std::make_unique<caf::actor_system>(*impl_->own_cfg);
  impl_->sys = impl_->own_sys.get();
  impl_->batch_interval = batch_interval;
  impl_->clk = clock_or_system(std::move(clk));
  graph_ = std::make_shared<detail::dstream_graph>(
    batch_interval, impl_->opts.default_parallelism);
  graph_->set_sink_max_retries(impl_->opts.sink_max_retries);
  graph_->context()->set_clock(impl_->clk);
}

streaming_context::~streaming_context() {
  try {
    stop(false);
  } catch (const std::exception& e) {
    impl_->log->error("stopping the context failed: {}", e.what());
  }
  // The runtime's actors must be gone before an owned system shuts down.
  impl_->rt.reset();
  // No actor reads the graph once the runtime's actors are gone, and a
  // worker node's once its stop saw them down (an owned system also waits
  // for them as it goes down). Then the streams go with the context: an
  // output that holds a handle of its own stream (to `slice` it) would
  // keep the graph alive for good.
  auto release = impl_->own_sys != nullptr || !impl_->served
                 || impl_->node_down;
  impl_.reset();
  if (release)
    graph_->release();
}

dstream<std::string>
streaming_context::socket_text_stream(const std::string& host, uint16_t port) {
  return add_receiver<std::string>(
    std::make_unique<socket_receiver>(host, port, impl_->opts.max_line_length),
    "socket_text_stream");
}

dstream<std::string>
streaming_context::text_file_stream(const std::string& directory) {
  return add_file_input<std::string>(directory, detail::read_lines,
                                     "text_file_stream");
}

dstream<std::string>
streaming_context::binary_records_stream(const std::string& directory,
                                         size_t record_length) {
  if (record_length == 0)
    throw stream_error(errc::invalid_config,
                       "binary_records_stream: the record length must be "
                       "positive");
  return add_file_input<std::string>(
    directory,
    [record_length](const std::string& path) {
      return detail::read_records(path, record_length);
    },
    "binary_records_stream");
}

namespace {

// Spark's Streaming tab: a listener keeps what the page, the REST API and
// the metrics show; the web server reads it.
std::unique_ptr<ui::web_server> start_ui(const stream_options& opts,
                                         const clock& clk, duration interval,
                                         const detail::dstream_graph& graph,
                                         actors::runtime_state& shared) {
  auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto stats = std::make_shared<ui::streaming_statistics>(
    "local-" + std::to_string(wall_ms), clk.now(), interval,
    opts.ui_retained_batches);
  for (const auto& in : graph.receiver_inputs())
    stats->add_receiver(in->stream_id(), in->stream_name());
  for (const auto& op : graph.state_operators())
    stats->add_state_stream(op->state_id(), op->operation());
  auto result = std::make_unique<ui::web_server>(stats, opts.ui_address,
                                                 opts.ui_port);
  shared.add_listener(std::move(stats));
  return result;
}

} // namespace

void streaming_context::start() {
  auto& d = *impl_;
  switch (d.st) {
    case impl::state::active:
      throw stream_error(errc::illegal_state,
                         "start: the streaming context has already started");
    case impl::state::serving:
      throw stream_error(errc::illegal_state,
                         "start: the streaming context is a worker node "
                         "(serve); a worker node does not start");
    case impl::state::stopped:
      throw stream_error(errc::illegal_state,
                         "start: the streaming context has already been "
                         "stopped; create a new one");
    case impl::state::initialized:
      break;
  }
  active_claim claim{this};
  // Before the write-ahead log, whose new run deletes what it held.
  std::optional<detail::checkpoint_directory_lock> checkpoint_lock;
  if (!graph_->checkpoint_directory().empty())
    checkpoint_lock.emplace(graph_->checkpoint_directory());
  auto wal = make_write_ahead_log(*graph_, d.opts, d.clk);
  auto advice = actors::block_interval_advice(
    d.batch_interval, d.opts.block_interval, graph_->receiver_inputs().size(),
    d.opts.workers);
  if (!advice.text.empty())
    d.log->log(advice.warning ? spdlog::level::warn : spdlog::level::info,
               "{}", advice.text);
  actors::tracked_blocks tracked;
  time first;
  if (d.recovered) {
    first = graph_->restore(*d.recovered);
    d.log->info("recovered from the checkpoint of batch {} ms: re-running "
                "batches from {} ms",
                d.recovered->latest.time_ms, first.milliseconds());
    if (wal)
      tracked = recover_received_blocks(*graph_, *wal, first);
    else if (auto lost = graph_->batches_without_received_data(*d.recovered))
      d.log->warn("batches {} to {} run again without the records the "
                  "receivers had received for them: those records were in "
                  "memory and are lost (stream.receiver.write-ahead-log."
                  "enable keeps them)",
                  to_string(lost->first), to_string(lost->second));
    d.recovered.reset();
  } else {
    // Spark's JobGenerator: the first batch is the next point of the grid
    // and the zero time one interval before it.
    auto now = d.clk->now();
    first = now.next_on_grid(d.batch_interval);
    graph_->start(first - d.batch_interval, now);
    if (wal)
      wal->discard();
  }
  tracked.log = std::move(wal);
  if (d.opts.ui_enabled.value_or(d.own_sys != nullptr))
    d.ui = start_ui(d.opts, *d.clk, d.batch_interval, *graph_, *d.shared);
  d.rt = std::make_unique<actors::runtime>(*d.sys, graph_, d.clk, d.opts,
                                           d.shared);
  d.rt->start(first, std::move(tracked));
  d.checkpoint_lock = std::move(checkpoint_lock);
  d.st = impl::state::active;
  claim.keep();
}

streaming_context* streaming_context::get_active() noexcept {
  std::lock_guard<std::mutex> guard{active_mtx};
  return active_context;
}

streaming_context& streaming_context::get_active_or_create(
  const std::function<std::unique_ptr<streaming_context>()>& create,
  std::unique_ptr<streaming_context>& owner) {
  if (auto* active = get_active())
    return *active;
  auto ctx = create();
  if (!ctx)
    throw std::invalid_argument(
      "get_active_or_create: create returned no context");
  owner = std::move(ctx);
  return *owner;
}

streaming_context& streaming_context::get_active_or_create(
  const std::string& directory,
  const std::function<std::unique_ptr<streaming_context>()>& create,
  std::unique_ptr<streaming_context>& owner) {
  if (auto* active = get_active())
    return *active;
  owner = get_or_create(directory, create);
  return *owner;
}

std::optional<std::string> streaming_context::ui_web_url() const {
  if (!impl_->ui)
    return std::nullopt;
  return impl_->ui->url();
}

uint16_t streaming_context::serve(uint16_t port, const std::string& address) {
  auto& d = *impl_;
  if (d.st != impl::state::initialized)
    throw stream_error(errc::illegal_state,
                       "serve: the streaming context has already started, "
                       "stopped or served");
  if (!d.sys->has_middleman())
    throw stream_error(errc::invalid_config,
                       "serve: the actor system has no middleman: load "
                       "caf::io::middleman in its configuration");
  auto node = actors::spawn_state_node(*d.sys, graph_,
                                       actors::program_id(d.opts), d.clk,
                                       d.opts);
  // Nothing listens beyond this machine unless asked to.
  auto host = address.empty() ? std::string{"127.0.0.1"} : address;
  auto bound = actors::publish_node(*d.sys, node, port, host);
  if (!bound) {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    throw stream_error(errc::invalid_config,
                       "serve: cannot listen on port "
                         + std::to_string(port) + ": "
                         + d.sys->render(bound.error()));
  }
  d.state_node = std::move(node);
  d.st = impl::state::serving;
  d.served = true;
  d.log->info("serving as a worker node on {}:{}{} ({} state streams)",
              host, *bound, actors::nodes_use_tls(*d.sys) ? " over TLS" : "",
              graph_->state_operators().size());
  if (!d.opts.driver.empty())
    d.joiner = actors::spawn_node_joiner(
      *d.sys, d.opts.driver, d.state_node, host, *bound, graph_->fingerprint(),
      actors::program_id(d.opts), d.opts.state_timeout);
  return *bound;
}

uint16_t streaming_context::serve_state(uint16_t port,
                                        const std::string& address) {
  return serve(port, address);
}

void streaming_context::stop(bool stop_gracefully) {
  auto& d = *impl_;
  std::lock_guard<std::mutex> guard{d.stopping};
  if (d.st == impl::state::stopped)
    return;
  // A graceful end: the driver places no more work here.
  if (d.joiner)
    end_after(*d.sys, d.joiner, caf::leave_atom::value, [] {});
  // The records its receivers stored go to their drivers first; then its
  // holders, task host and receivers go down, and the node.
  if (d.state_node)
    end_after(*d.sys, d.state_node, actors::stop_atom::value,
              [&](bool down) { d.node_down = down; });
  // The context is stopped even if the final checkpoint failed; the
  // failure comes after.
  std::exception_ptr failure;
  if (d.rt) {
    try {
      d.rt->stop(stop_gracefully);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  graph_->stop();
  d.ui.reset();
  d.checkpoint_lock.reset();
  d.st = impl::state::stopped;
  active_claim::release(this);
  d.shared->terminate();
  if (failure)
    std::rethrow_exception(failure);
}

void streaming_context::await_termination() {
  impl_->shared->await(std::nullopt);
  if (auto failure = impl_->shared->failure())
    throw stream_error(errc::job_failure, *failure);
}

bool streaming_context::await_termination_or_timeout(duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto result = impl_->shared->await(deadline);
  if (auto failure = impl_->shared->failure())
    throw stream_error(errc::job_failure, *failure);
  return result;
}

void streaming_context::add_streaming_listener(
  std::shared_ptr<streaming_listener> listener) {
  if (!listener)
    throw std::invalid_argument("add_streaming_listener: null listener");
  impl_->shared->add_listener(std::move(listener));
}

void streaming_context::remove_streaming_listener(
  const std::shared_ptr<streaming_listener>& listener) {
  impl_->shared->remove_listener(listener);
}

streaming_context_state streaming_context::get_state() const noexcept {
  switch (impl_->st.load()) {
    case impl::state::initialized:
      return streaming_context_state::initialized;
    case impl::state::active:
    case impl::state::serving:
      return streaming_context_state::active;
    case impl::state::stopped:
      break;
  }
  return streaming_context_state::stopped;
}

const char* to_string(streaming_context_state x) noexcept {
  switch (x) {
    case streaming_context_state::initialized:
      return "INITIALIZED";
    case streaming_context_state::active:
      return "ACTIVE";
    case streaming_context_state::stopped:
      break;
  }
  return "STOPPED";
}

void streaming_context::checkpoint(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec)
    throw stream_error(errc::invalid_config, "checkpoint: cannot create '"
                                               + directory
                                               + "': " + ec.message());
  graph_->set_checkpoint_directory(directory);
}

void streaming_context::remember(duration d) {
  graph_->remember(d);
}

std::unique_ptr<streaming_context> streaming_context::get_or_create(
  const std::string& directory,
  const std::function<std::unique_ptr<streaming_context>()>& create) {
  auto cp = detail::find_checkpoint(directory);
  auto ctx = create();
  if (!ctx)
    throw std::invalid_argument("get_or_create: create returned no context");
  if (ctx->checkpoint_directory().empty())
    ctx->checkpoint(directory);
  if (cp) {
    // Fail here rather than at start: the caller asked for this checkpoint.
    auto expected = ctx->graph_->fingerprint();
    if (cp->latest.graph_fingerprint != expected)
      throw stream_error(errc::bad_checkpoint,
                         "get_or_create: the checkpoint in '" + directory
                           + "' was written by another graph ("
                           + cp->latest.graph_fingerprint + " vs. " + expected
                           + "): the inputs and state streams must be the "
                             "same");
    ctx->impl_->recovered = std::move(cp);
    ctx->impl_->was_recovered = true;
  }
  return ctx;
}

bool streaming_context::is_recovered() const noexcept {
  return impl_->was_recovered;
}

duration streaming_context::batch_interval() const noexcept {
  return impl_->batch_interval;
}

const stream_options& streaming_context::options() const noexcept {
  return impl_->opts;
}

const std::string& streaming_context::checkpoint_directory() const noexcept {
  return graph_->checkpoint_directory();
}

clock& streaming_context::get_clock() const noexcept {
  return *impl_->clk;
}

caf::actor_system& streaming_context::system() const noexcept {
  return *impl_->sys;
}

} // namespace caf_stream
