#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"

#include "caf_stream/actors/block_generator.hpp"
#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_directory.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/receiver_placer.hpp"
#include "caf_stream/actors/receiver_supervisor.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/error.hpp"

#include "block_replicator.hpp"

namespace caf_stream::actors {

namespace {

/// Places one receiver stream's receiver on a worker node, or on this node,
/// and again elsewhere when its node is lost.
class receiver_placer final : public caf::blocking_actor {
public:
  receiver_placer(caf::actor_config& cfg,
                  std::shared_ptr<detail::receiver_input_base> in,
                  std::shared_ptr<receiver_base> rcv,
                  std::shared_ptr<caf_stream::clock> clk, stream_options opts,
                  std::string graph_fingerprint, caf::actor tracker,
                  caf::actor listener_bus,
                  std::shared_ptr<runtime_state> runtime, caf::actor directory)
    : caf::blocking_actor(cfg),
      in_(std::move(in)),
      receiver_(std::move(rcv)),
      clk_(std::move(clk)),
      opts_(std::move(opts)),
      graph_fingerprint_(std::move(graph_fingerprint)),
      tracker_(std::move(tracker)),
      listener_bus_(std::move(listener_bus)),
      runtime_(std::move(runtime)),
      directory_(std::move(directory)),
      log_(detail::logger("receiver")) {
    // nop
  }

  void act() override {
    place(static_cast<size_t>(in_->stream_id()));
    bool running = true;
    receive_while(running)(
      [&](rate_atom, double rate) {
        rate_ = rate;
        send(supervisor_, rate_atom::value, rate);
      },
      [&](stop_atom, const std::string& message) {
        stopping_ = true;
        // A node that is gone or hung holds up the stop until its
        // connection times out at the latest.
        auto failure = ask(
          supervisor_, [] {}, stop_atom::value, message);
        if (failure)
          log_->warn("stopping receiver {} on {}: {}", in_->stream_id(),
                     where_, system().render(failure));
        return caf::unit;
      },
      [&](caf::down_msg& dm) {
        if (dm.source != supervisor_.address() || stopping_)
          return;
        // Spark starts a lost receiver again on another executor.
        log_->warn("receiver {}: its node {} was lost ({})", in_->stream_id(),
                   where_, system().render(dm.reason));
        place(node_ + 1, where_);
      },
      [&](caf::exit_msg&) { running = false; });
    send_exit(supervisor_, caf::exit_reason::user_shutdown);
    if (generator_) {
      // Here, the receiver is down before this actor is (the runtime waits
      // for this actor only, and CAF 0.17's shutdown hangs on a detached
      // actor that outlives it); a node is not waited for.
      send_exit(generator_, caf::exit_reason::user_shutdown);
      // Monitored again: its first down message may be taken already.
      monitor(supervisor_);
      auto down = false;
      receive_while([&] { return !down; })([&](caf::down_msg& dm) {
        down = dm.source == supervisor_.address();
      });
    }
    supervisor_ = nullptr;
    generator_ = nullptr;
  }

  const char* name() const override {
    return "caf_stream.receiver_placer";
  }

private:
  // Starts the receiver on the first of the nodes there are now, from index
  // `first` (modulo their number) on, that takes it, else here; `lost`, the
  // node it ran on if that was lost, is not asked.
  void place(size_t first, const std::string& lost = {}) {
    nodes_ = worker_nodes(this, directory_, opts_);
    const auto& nodes = nodes_;
    supervisor_ = nullptr;
    if (generator_) {
      send_exit(generator_, caf::exit_reason::user_shutdown);
      generator_ = nullptr;
    }
    if (receiver_->driver_only())
      log_->info("receiver {} ({}) runs on the driver only", in_->stream_id(),
                 in_->stream_name());
    else if (!in_->records_serializable())
      log_->warn("receiver {}: its records have no serialization and cannot "
                 "leave the node they are received on: it runs on the driver",
                 in_->stream_id());
    else
      for (size_t k = 0; k < nodes.size() && !supervisor_; ++k)
        if (nodes[(first + k) % nodes.size()] != lost)
          start_on((first + k) % nodes.size(), lost);
    if (!supervisor_) {
      auto started = start_receiver(system(), *in_, receiver_, clk_, opts_,
                                    tracker_, listener_bus_, runtime_,
                                    driver_location);
      supervisor_ = std::move(started.supervisor);
      generator_ = std::move(started.generator);
      where_ = "the driver";
      log_->info("receiver {} runs on the driver", in_->stream_id());
    }
    monitor(supervisor_);
    if (rate_)
      send(supervisor_, rate_atom::value, *rate_);
  }

  // Asks node `i` to run the receiver, its blocks' copies going to any
  // other node but `lost`; sets `supervisor_` if it does.
  void start_on(size_t i, const std::string& lost) {
    const auto& address = nodes_[i];
    auto node = reach_node(this, directory_, address, "worker node",
                           opts_.state_timeout);
    if (!node) {
      log_->warn("receiver {}: {}", in_->stream_id(), message_of(node.error()));
      return;
    }
    std::vector<std::string> peers;
    std::vector<caf::actor> peer_nodes;
    if (opts_.tasks_on_workers() && opts_.receiver_replication > 1)
      for (auto& p : peers_of(i, lost)) {
        peers.push_back(std::move(p.address));
        peer_nodes.push_back(std::move(p.node));
      }
    // The answer can come after the receiver stored records; the node
    // answers a driver that asks again with the receiver it runs for it.
    monitor(*node);
    auto failure = ask(
      *node, [&](caf::actor& supervisor) { supervisor_ = supervisor; },
      start_receiver_atom::value, graph_fingerprint_, program_id(opts_),
      in_->stream_id(), tracker_, listener_bus_, opts_.receiver_replication,
      opts_.state_timeout.count(), opts_.tasks_on_workers(), address, peers,
      peer_nodes);
    if (failure) {
      // A node of another program or graph is a configuration error.
      auto level = failure == errc::invalid_graph ? spdlog::level::err
                                                  : spdlog::level::warn;
      auto why = is_stream_error(failure) ? message_of(failure)
                                          : system().render(failure);
      log_->log(level, "receiver {}: the worker node {} did not take it: {}",
                in_->stream_id(), address, why);
    }
    demonitor(*node);
    if (!supervisor_)
      return;
    node_ = i;
    where_ = address;
    log_->info("receiver {} runs on the worker node {}", in_->stream_id(),
               address);
  }

  // The nodes but node `i` and `lost` that this node reaches, from the one
  // after node `i` on: where the receiver on node `i` copies its blocks
  // (`stream.receiver.replication` 2). A node that does not answer within
  // 2 s (a frozen one) is left out, and so is one that refuses this
  // program (another program or graph, or it stops), which would refuse
  // the copies too. The node just lost is not tried: over
  // TLS, a handshake with a process that is dying leaves an error in the
  // I/O thread's OpenSSL queue (CAF 0.17), which the next read of another
  // node's connection takes for its own, and that connection closes.
  std::vector<block_peer> peers_of(size_t i, const std::string& lost) {
    std::vector<block_peer> result;
    auto bound = std::min(opts_.state_timeout, duration{2000});
    for (size_t k = 1; k < nodes_.size(); ++k) {
      const auto& address = nodes_[(i + k) % nodes_.size()];
      if (address == lost)
        continue;
      auto node = reach_node(this, directory_, address, "worker node",
                             bound);
      if (node) {
        auto slots = node_slots(this, *node, graph_fingerprint_,
                                program_id(opts_), bound);
        if (slots || !is_stream_error(slots.error())) {
          result.push_back(block_peer{address, std::move(*node)});
          continue;
        }
        node = std::move(slots.error());
      }
      log_->warn("receiver {}: its blocks' copies do not go to the worker "
                 "node {}: {}",
                 in_->stream_id(), address, message_of(node.error()));
    }
    return result;
  }

  // Asks `dst` (which this actor monitors) for `xs...` and passes the
  // answer to `f`, in rounds of at most 1 s until it answers, goes down, or
  // `stream.state-timeout` passes: CAF 0.17 drops a request whose node goes
  // down before it answers, so a request alone would wait for the whole
  // timeout. `dst` must answer a request asked again as the first one.
  // Returns why there is no answer (none if there is one).
  template <class F, class... Ts>
  caf::error ask(const caf::actor& dst, F f, const Ts&... xs) {
    auto round = std::min(opts_.state_timeout, duration{1000});
    auto rounds = std::max(int64_t{1}, opts_.state_timeout / round);
    caf::error failure;
    for (int64_t k = 0; k < rounds; ++k) {
      failure = caf::error{};
      request(dst, round, xs...).receive(f, [&](caf::error& e) {
        failure = std::move(e);
      });
      if (failure != caf::sec::request_timeout)
        return failure;
      if (went_down(dst))
        return caf::make_error(errc::job_failure, "it went down");
    }
    return caf::make_error(errc::job_failure,
                           "no answer within stream.state-timeout");
  }

  // Takes a down message out of the mailbox, if one is there, and returns
  // whether it is `dst`'s (while this actor asks, only `dst` is monitored).
  bool went_down(const caf::actor& dst) {
    bool down = false;
    receive(
      [&](caf::down_msg& dm) { down = dm.source == dst.address(); },
      caf::after(std::chrono::seconds(0)) >> [] {});
    return down;
  }

  std::shared_ptr<detail::receiver_input_base> in_;
  // This node's receiver of the stream, for when it runs here.
  std::shared_ptr<receiver_base> receiver_;
  std::shared_ptr<caf_stream::clock> clk_;
  stream_options opts_;
  std::string graph_fingerprint_;
  caf::actor tracker_;
  caf::actor listener_bus_;
  std::shared_ptr<runtime_state> runtime_;
  // The node directory (null: the nodes are `stream.nodes`), and the nodes
  // as of the last placement.
  caf::actor directory_;
  std::vector<std::string> nodes_;
  // The receiver's supervisor, and its block generator when it runs here.
  caf::actor supervisor_;
  caf::actor generator_;
  // The node it runs on (an index of `nodes_`).
  size_t node_ = 0;
  std::string where_;
  // The rate controller's last rate, for a receiver started again.
  std::optional<double> rate_;
  bool stopping_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

receiver_actors start_receiver(caf::actor_system& sys,
                               detail::receiver_input_base& in,
                               std::shared_ptr<receiver_base> rcv,
                               std::shared_ptr<clock> clk,
                               const stream_options& opts, caf::actor tracker,
                               caf::actor listener_bus,
                               std::shared_ptr<runtime_state> runtime,
                               const std::string& location, caf::actor keeper,
                               std::vector<block_peer> peers,
                               const std::string& fingerprint) {
  auto on_worker = location != driver_location;
  auto optional_rate = [](double x) {
    return x > 0 ? std::optional<double>{x} : std::nullopt;
  };
  auto buf = in.buffer();
  buf->configure(clk,
                 rate_limiter{optional_rate(opts.max_rate),
                              opts.backpressure_enabled
                                ? optional_rate(opts.backpressure_initial_rate)
                                : std::nullopt},
                 opts.block_queue_size);
  auto replicated = on_worker && opts.receiver_replication > 1;
  std::optional<kept_blocks> keep;
  if (keeper) {
    keep = kept_blocks{keeper, tracker, location, replicated && peers.empty(),
                       {},
                       std::make_shared<const block_holder>(
                         block_holder{keeper})};
    if (replicated && !peers.empty())
      keep->replicator = spawn_block_replicator(
        sys, in.stream_id(), location, std::move(peers), tracker,
        opts.state_timeout, fingerprint, program_id(opts));
  }
  if (on_worker)
    buf->attach_sink(
      make_tracker_sink(sys, tracker, opts.state_timeout, keep));
  // Under a manual clock blocks are sealed when a batch is cut only, so that
  // what a test stored before advancing the clock is in that batch.
  receiver_actors result;
  result.generator = spawn_block_generator(sys, buf, tracker,
                                           clk->runs_by_itself(),
                                           opts.block_interval,
                                           std::move(keep));
  caf::anon_send(tracker, register_atom::value, result.generator);
  result.supervisor = spawn_receiver_supervisor(
    sys, std::move(rcv), std::move(clk), opts.receiver_restart_delay,
    in.stream_id(), in.stream_name(), location, std::move(listener_bus),
    std::move(runtime));
  caf::anon_send(result.supervisor, start_atom::value);
  return result;
}

caf::actor spawn_receiver_placer(caf::actor_system& sys,
                                 std::shared_ptr<detail::receiver_input_base> in,
                                 std::shared_ptr<receiver_base> rcv,
                                 std::shared_ptr<clock> clk,
                                 stream_options opts,
                                 std::string graph_fingerprint,
                                 caf::actor tracker, caf::actor listener_bus,
                                 std::shared_ptr<runtime_state> runtime,
                                 caf::actor nodes) {
  return sys.spawn<receiver_placer, caf::detached>(
    std::move(in), std::move(rcv), std::move(clk), std::move(opts),
    std::move(graph_fingerprint), std::move(tracker), std::move(listener_bus),
    std::move(runtime), std::move(nodes));
}

} // namespace caf_stream::actors
