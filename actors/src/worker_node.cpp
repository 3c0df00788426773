#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/node_link.hpp"
#include "caf_stream/actors/receiver_placer.hpp"
#include "caf_stream/actors/state_holder.hpp"
#include "caf_stream/actors/task_host.hpp"
#include "caf_stream/actors/worker_node.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/detail/build_id.hpp"
#include "caf_stream/detail/log.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/dstream/state_operator.hpp"
#include "caf_stream/receiver/block_store.hpp"
#include "caf_stream/scheduler/node_registry.hpp"

#include "worker_node_state.hpp"

namespace caf_stream::actors {

namespace {

// Keeps `x`, an actor started here, until it is down.
void start_child(node_actor* self, const caf::actor& x) {
  self->monitor(x);
  self->state.children.insert(x);
}

// Why this node does not serve a driver running `program` with the graph
// `fingerprint`, if it does not: it stops, or runs another program or
// graph.
std::optional<caf::error> refusal(node_actor* self, const char* role,
                                  const std::string& program,
                                  const std::string& fingerprint) {
  auto& st = self->state;
  if (st.stopping)
    return caf::make_error(errc::illegal_state, std::string{"the "} + role
                                                  + " stops");
  auto why = node_registry::refusal(role, program, fingerprint, st.program,
                                    st.fingerprint);
  if (why.empty())
    return std::nullopt;
  return caf::make_error(errc::invalid_graph, std::move(why));
}

// Stops the receiver of stream `id` (its driver or its supervisor went
// down): the receiver can run here again for the next driver.
void stop_receiver(node_actor* self, int32_t id) {
  auto& r = self->state.receivers[id];
  if (!r.running.supervisor)
    return;
  r.stopping = r.running.supervisor.address();
  self->send_exit(r.running.supervisor, caf::exit_reason::user_shutdown);
  self->send_exit(r.running.generator, caf::exit_reason::user_shutdown);
  r.running = receiver_actors{};
  r.tracker = nullptr;
  self->state.log->info("receiver {} stopped", id);
}

caf::result<caf::actor> spawn_holder(node_actor* self,
                                     const std::string& fingerprint,
                                     const std::string& program, int32_t id,
                                     const std::string& signature) {
  auto& st = self->state;
  if (auto no = refusal(self, "state node", program, fingerprint))
    return std::move(*no);
  const auto& ops = st.graph->state_operators();
  if (id < 0 || static_cast<size_t>(id) >= ops.size()
      || ops[static_cast<size_t>(id)]->signature() != signature)
    return caf::make_error(
      errc::invalid_graph,
      "the state node runs another graph: the driver asked for state stream "
        + std::to_string(id) + " (" + signature + "), this node has "
        + std::to_string(ops.size())
        + " state streams; start the node with the driver's program");
  auto driver = caf::actor_cast<caf::actor>(self->current_sender());
  auto holder = spawn_state_holder(self->system(),
                                   ops[static_cast<size_t>(id)], driver);
  start_child(self, holder);
  return holder;
}

caf::result<caf::actor> start_receiver_here(node_actor* self,
                                            const std::string& fingerprint,
                                            const std::string& program,
                                            int32_t id, caf::actor tracker,
                                            caf::actor listener_bus,
                                            size_t replication,
                                            int64_t state_timeout_ms,
                                            bool keep_blocks,
                                            const std::string& location,
                                            std::vector<block_peer> peers) {
  auto& st = self->state;
  if (auto no = refusal(self, "worker node", program, fingerprint))
    return std::move(*no);
  std::shared_ptr<detail::receiver_input_base> in;
  for (auto& x : st.graph->receiver_inputs())
    if (x->stream_id() == id)
      in = x;
  if (!in)
    return caf::make_error(errc::invalid_graph,
                           "the worker node has no receiver stream "
                             + std::to_string(id));
  auto& r = st.receivers[id];
  // A driver that asks again (its answer was late) gets the same receiver.
  if (r.running.supervisor && r.tracker == tracker)
    return r.running.supervisor;
  if (r.running.supervisor)
    return caf::make_error(errc::illegal_state,
                           "receiver " + std::to_string(id)
                             + " runs on this node already (for another "
                               "driver)");
  if (r.stopping)
    return caf::make_error(errc::illegal_state,
                           "receiver " + std::to_string(id)
                             + " is still stopping on this node");
  if (!r.rcv)
    r.rcv = std::shared_ptr<receiver_base>{in->take_receiver()};
  r.tracker = tracker;
  auto opts = st.opts;
  opts.receiver_replication = replication;
  if (state_timeout_ms > 0)
    opts.state_timeout = duration{state_timeout_ms};
  r.running = start_receiver(
    self->system(), *in, r.rcv, st.clk, opts, tracker,
    std::move(listener_bus), nullptr, location,
    keep_blocks ? caf::actor_cast<caf::actor>(self) : caf::actor{},
    std::move(peers), st.fingerprint);
  // The receiver ends with its driver, and when it ends (stopped for good
  // by the driver's exit), its generator goes too.
  self->monitor(tracker);
  start_child(self, r.running.supervisor);
  start_child(self, r.running.generator);
  st.log->info("receiver {} started for the driver", id);
  return r.running.supervisor;
}

// Keeps `blocks` (a receiver's here, or another node's copies) for the
// driver of `tracker`, until it releases them or goes down.
void keep(node_actor* self, const caf::actor& tracker, block_list& blocks) {
  auto& st = self->state;
  auto i = st.kept_for.find(tracker.address());
  if (i == st.kept_for.end()) {
    i = st.kept_for.emplace(tracker.address(), ++st.drivers_kept_for).first;
    self->monitor(tracker);
  }
  for (auto& b : blocks)
    st.blocks.put(std::move(b), i->second);
}

// Connects this node to the worker node at `where`, which asked for it,
// and delivers `rp` once connected; `tries` left after a `handshake_cut`.
void connect_back(node_actor* self, const std::string& address,
                  std::pair<std::string, uint16_t> where,
                  caf::typed_response_promise<connect_back_atom> rp,
                  int tries) {
  auto& sys = self->system();
  auto bound = std::min(self->state.opts.state_timeout, node_connect_bound);
  self
    ->request(node_connector(sys), bound, caf::connect_atom::value,
              where.first, where.second)
    .then(
      [=](caf::node_id&, caf::strong_actor_ptr&,
          std::set<std::string>&) mutable {
        rp.deliver(connect_back_atom::value);
      },
      [=](caf::error& e) mutable {
        if (handshake_cut(e) && tries > 1) {
          connect_back(self, address, where, rp, tries - 1);
          return;
        }
        self->state.log->warn("cannot connect to the worker node {}, which "
                              "asked for it: {}",
                              address, self->system().render(e));
        rp.deliver(caf::make_error(errc::job_failure,
                                   "cannot reach the worker node " + address
                                     + ": " + self->system().render(e)));
      });
}

// Connects this node to the worker node at `address`, which asked for it
// (`connect_back_atom`); answers once connected.
caf::result<connect_back_atom> connect_back(node_actor* self,
                                            const std::string& address) {
  std::pair<std::string, uint16_t> where;
  try {
    where = parse_node_address(address, "a worker node's address");
  } catch (const std::exception& e) {
    return caf::make_error(errc::invalid_config, std::string{e.what()});
  }
  auto rp = self->make_response_promise<connect_back_atom>();
  connect_back(self, address, std::move(where), rp, 2);
  return rp;
}

// Hands the driver's stage `x` (`named` names its program and graph) to
// this node's task host, spawned on the first, with the driver; answers
// the driver `(map_failed_atom, id, why)` if it runs another program or
// graph.
template <class Atom, class Stage>
void to_task_host(node_actor* self, Atom what, uint64_t id,
                  const map_stage& named, Stage& x) {
  auto& st = self->state;
  auto driver = caf::actor_cast<caf::actor>(self->current_sender());
  if (auto no = refusal(self, "worker node", named.program,
                        named.fingerprint)) {
    self->send(driver, map_failed_atom::value, id, message_of(*no));
    return;
  }
  if (!st.task_host) {
    st.task_host = spawn_task_host(self->system(), st.graph, st.opts);
    start_child(self, st.task_host);
  }
  self->send(st.task_host, what, id, std::move(x), driver);
  st.handed.emplace_back(driver, id);
  if (st.handed.size() > 64)
    st.handed.pop_front();
}

caf::behavior state_node(node_actor* self,
                         std::shared_ptr<detail::dstream_graph> graph,
                         std::string program, std::shared_ptr<clock> clk,
                         stream_options opts) {
  auto& st = self->state;
  st.fingerprint = graph->fingerprint();
  st.graph = std::move(graph);
  st.program = std::move(program);
  st.clk = std::move(clk);
  st.opts = std::move(opts);
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    if (auto i = st.when_down.find(dm.source); i != st.when_down.end()) {
      auto f = std::move(i->second);
      st.when_down.erase(i);
      f();
    }
    st.children.erase(caf::actor_cast<caf::actor>(dm.source));
    if (st.task_host && dm.source == st.task_host.address()) {
      // The next stage starts another; the drivers, which watch it once it
      // answered them, run the stages it had again.
      st.task_host = nullptr;
      if (!st.stopping)
        st.log->warn("the task host is down{}: the next stage starts another",
                     dm.reason ? " (" + self->system().render(dm.reason) + ")"
                               : std::string{});
      for (auto& [driver, id] : std::exchange(st.handed, {}))
        self->send(driver, map_failed_atom::value, id,
                   std::string{"the task host of the worker node is down"});
    }
    // The batches that read the blocks kept here went with their driver.
    if (auto i = st.kept_for.find(dm.source); i != st.kept_for.end()) {
      if (auto n = st.blocks.drop_owner(i->second))
        st.log->info("dropped the {} blocks kept here for a driver that is "
                     "gone",
                     n);
      st.kept_for.erase(i);
    }
    for (auto& [id, r] : st.receivers) {
      if (dm.source == r.stopping)
        r.stopping = nullptr;
      if (dm.source == r.running.supervisor.address()) {
        // It ended by itself: nothing is left to wait for.
        stop_receiver(self, id);
        r.stopping = nullptr;
      } else if (dm.source == r.tracker.address()) {
        stop_receiver(self, id);
      }
    }
    if (st.children.empty() && st.when_children_down)
      std::exchange(st.when_children_down, nullptr)(true);
  });
  return {
    [=](spawn_holder_atom, const std::string& fingerprint,
        const std::string& program, int32_t id,
        const std::string& signature) {
      return spawn_holder(self, fingerprint, program, id, signature);
    },
    [=](start_receiver_atom, const std::string& fingerprint,
        const std::string& program, int32_t id, caf::actor tracker,
        caf::actor listener_bus, size_t replication, int64_t state_timeout_ms,
        bool keep_blocks, const std::string& location,
        std::vector<std::string>& peers, std::vector<caf::actor>& peer_nodes) {
      std::vector<block_peer> to;
      for (size_t i = 0; i < peers.size() && i < peer_nodes.size(); ++i)
        to.push_back(block_peer{std::move(peers[i]), std::move(peer_nodes[i])});
      return start_receiver_here(self, fingerprint, program, id,
                                 std::move(tracker), std::move(listener_bus),
                                 replication, state_timeout_ms, keep_blocks,
                                 location, std::move(to));
    },
    [=](put_blocks_atom, const caf::actor& tracker, block_list& blocks) {
      keep(self, tracker, blocks);
    },
    [=](copy_blocks_atom, const std::string& fingerprint,
        const std::string& program, const caf::actor& tracker,
        block_list& blocks) -> caf::result<copy_blocks_atom, uint64_t> {
      if (auto no = refusal(self, "worker node", program, fingerprint))
        return std::move(*no);
      auto last = blocks.empty() ? uint64_t{0} : blocks.back().id;
      keep(self, tracker, blocks);
      return {copy_blocks_atom::value, last};
    },
    [=](connect_back_atom, const std::string& address) {
      return connect_back(self, address);
    },
    [=](get_block_atom, uint64_t id) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (const auto* b = self->state.blocks.find(id))
        self->send(to, get_block_atom::value, id, *b);
      else
        self->send(to, no_block_atom::value, id,
                   std::string{"this node keeps no such block"});
    },
    [=](fetch_block_atom, uint64_t id, uint64_t offset, uint64_t size) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      try {
        if (auto piece = self->state.blocks.read(id, offset, size)) {
          self->send(to, block_chunk_atom::value, id, offset, piece->second,
                     std::move(piece->first));
          return;
        }
        self->send(to, no_block_atom::value, id,
                   std::string{"this node keeps no such block"});
      } catch (const std::exception& e) {
        self->send(to, no_block_atom::value, id, std::string{e.what()});
      }
    },
    [=](release_blocks_atom, const std::vector<uint64_t>& ids) {
      auto& st = self->state;
      st.blocks.release(ids);
      if (st.blocks.size() == 0 && st.when_released)
        std::exchange(st.when_released, nullptr)();
    },
    [=](released_late_atom) {
      auto& st = self->state;
      if (!st.when_released)
        return;
      st.log->warn("the driver did not release {} blocks kept here within "
                   "{} s: the batches that read them fail",
                   st.blocks.size(), hand_over_bound.count());
      std::exchange(st.when_released, nullptr)();
    },
    [=](map_tasks_atom what, uint64_t id, map_stage& stage) {
      to_task_host(self, what, id, stage, stage);
    },
    [=](result_tasks_atom what, uint64_t id, map_stage& stage) {
      to_task_host(self, what, id, stage, stage);
    },
    [=](count_tasks_atom what, uint64_t id, map_stage& stage) {
      to_task_host(self, what, id, stage, stage);
    },
    [=](reduce_tasks_atom what, uint64_t id, reduce_stage& stage) {
      to_task_host(self, what, id, stage.shuffle, stage);
    },
    [=](slots_atom, const std::string& fingerprint,
        const std::string& program) -> caf::result<size_t> {
      if (auto no = refusal(self, "worker node", program, fingerprint))
        return std::move(*no);
      return self->state.opts.resolved().workers;
    },
    [=](fetch_atom atom, const caf::actor& driver, uint64_t id, uint32_t task,
        std::vector<uint64_t>& pieces, uint64_t tag) {
      // Another node's reduce tasks fetch buckets of the map tasks that
      // ran here.
      auto& st = self->state;
      if (!st.task_host) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   map_failed_atom::value, tag,
                   std::string{"no map tasks ran on this node"});
        return;
      }
      self->delegate(st.task_host, atom, driver, id, task, std::move(pieces),
                     tag);
    },
    [=](stop_atom) -> caf::result<bool> {
      self->state.stopping = true;
      auto rp = self->make_response_promise<bool>();
      hand_over_receivers(self, [=]() mutable {
        await_release(self, [=]() mutable {
          end_children(self, [=](bool down) mutable { rp.deliver(down); });
        });
      });
      return rp;
    },
    [=](children_late_atom) {
      auto& st = self->state;
      if (!st.when_children_down)
        return;
      st.log->warn("{} actors of this worker node are not down {} s after "
                   "the stop: its context keeps its graph",
                   st.children.size(), hand_over_bound.count());
      std::exchange(st.when_children_down, nullptr)(false);
    },
  };
}

} // namespace

caf::actor spawn_state_node(caf::actor_system& sys,
                            std::shared_ptr<detail::dstream_graph> graph,
                            std::string program, std::shared_ptr<clock> clk,
                            stream_options opts) {
  return sys.spawn(state_node, std::move(graph), std::move(program),
                   std::move(clk), std::move(opts));
}

std::string program_id(const stream_options& opts) {
  if (!opts.app_id.empty())
    return "app " + opts.app_id;
  return "build " + detail::executable_build_id();
}

} // namespace caf_stream::actors
