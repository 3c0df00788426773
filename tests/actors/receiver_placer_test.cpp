#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/receiver_placer.hpp"
#include "caf_stream/dstream/graph.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/receiver/receiver.hpp"

#include "support/actor_context.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The receiver placer of a driver, through its mailbox: the worker nodes
// and their receivers' supervisors are actors of this process, which the
// placer finds through a fake node directory.

namespace {

// A receiver that the fake nodes never start.
class idle_receiver final : public receiver<int64_t> {
public:
  void on_start() override {
    // nop
  }

  void on_stop() override {
    // nop
  }
};

// What the fake nodes and supervisors saw, by node address.
struct probe {
  std::mutex mtx;
  std::condition_variable cv;
  // The starts each node was asked for, with the location they named.
  std::map<std::string, std::vector<std::string>> starts;
  // The rates each node's supervisor got, and whether it was stopped.
  std::map<std::string, std::vector<double>> rates;
  std::map<std::string, int> stops;

  template <class Predicate>
  bool wait(Predicate ok) {
    std::unique_lock<std::mutex> guard{mtx};
    // A bound for a stuck test, not a timing assumption.
    return cv.wait_for(guard, std::chrono::seconds(30), ok);
  }

  template <class F>
  void update(F f) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      f();
    }
    cv.notify_all();
  }
};

// The supervisor of a receiver on the node at `address`.
caf::behavior supervisor(caf::event_based_actor*, std::string address,
                         std::shared_ptr<probe> p) {
  return {
    [=](rate_atom, double rate) {
      p->update([&] { p->rates[address].push_back(rate); });
    },
    [=](stop_atom, const std::string&) {
      p->update([&] { ++p->stops[address]; });
      return caf::unit;
    },
  };
}

// A worker node at `address` that runs the receiver (its supervisor is one
// of the above) or refuses it as a node of another program.
caf::behavior node(caf::event_based_actor* self, std::string address,
                   std::shared_ptr<probe> p, bool refuses) {
  return {
    [=](start_receiver_atom, const std::string&, const std::string&, int32_t,
        const caf::actor&, const caf::actor&, size_t, int64_t, bool,
        const std::string& location, const std::vector<std::string>&,
        const std::vector<caf::actor>&) -> caf::result<caf::actor> {
      p->update([&] { p->starts[address].push_back(location); });
      if (refuses)
        return caf::make_error(errc::invalid_graph,
                               "the driver runs another program");
      // It goes down with the node.
      return self->spawn<caf::linked>(supervisor, address, p);
    },
  };
}

// A node directory of the nodes `actors` (by address).
caf::behavior directory(caf::event_based_actor*,
                        std::map<std::string, caf::actor> actors) {
  return {
    [=](caf::get_atom) {
      std::vector<std::string> result;
      for (const auto& x : actors)
        result.push_back(x.first);
      return result;
    },
    [=](caf::get_atom, const std::string& address) {
      auto i = actors.find(address);
      return i != actors.end() ? i->second : caf::actor{};
    },
  };
}

caf::behavior idle(caf::event_based_actor*) {
  return {
    [](int) {},
  };
}

// A driver's receiver stream 0, whose placer finds the nodes `node-a:1`
// and `node-b:1` (`refusing`: those that refuse the receiver).
struct fixture : support::actor_context {
  std::shared_ptr<probe> p = std::make_shared<probe>();
  stream_options opts;
  caf::actor tracker = sys.spawn(idle);
  std::vector<caf::actor> spawned;

  fixture() {
    ssc.receiver_stream<int64_t>(std::make_unique<idle_receiver>())
      .foreach_rdd([](const rdd<int64_t>&) {});
    opts.receiver_replication = 1;
    opts.state_timeout = duration{5000};
  }

  ~fixture() {
    for (auto& x : spawned)
      self->send_exit(x, caf::exit_reason::user_shutdown);
    self->send_exit(tracker, caf::exit_reason::user_shutdown);
  }

  caf::actor placer(const std::vector<std::string>& refusing = {}) {
    std::map<std::string, caf::actor> nodes;
    for (std::string address : {"node-a:1", "node-b:1"}) {
      auto refuses = std::find(refusing.begin(), refusing.end(), address)
                     != refusing.end();
      nodes.emplace(address, sys.spawn(node, address, p, refuses));
      spawned.push_back(nodes[address]);
    }
    auto dir = sys.spawn(directory, nodes);
    spawned.push_back(dir);
    auto in = ssc.graph()->receiver_inputs().at(0);
    std::shared_ptr<receiver_base> rcv{in->take_receiver()};
    auto x = spawn_receiver_placer(sys, in, std::move(rcv), clk, opts,
                                   ssc.graph()->fingerprint(), tracker,
                                   caf::actor{}, nullptr, dir);
    spawned.push_back(x);
    return x;
  }

  // Waits until the receiver runs on node a, then gives placer `x` a rate
  // and waits until node a's supervisor has it; false if either fails.
  bool on_a_with_rate(const caf::actor& x, double rate) {
    if (!started_on("node-a:1"))
      return false;
    self->send(x, rate_atom::value, rate);
    return p->wait([&] { return !p->rates["node-a:1"].empty(); });
  }

  // Waits until the node at `address` was asked to start the receiver `n`
  // times; false if it was not.
  bool started_on(const std::string& address, size_t n = 1) {
    return p->wait([&] { return p->starts[address].size() >= n; });
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "the receiver placer runs stream 0's receiver on the first "
                 "worker node and passes rates to its supervisor",
                 "[actors][receiver][nodes]") {
  auto x = placer();
  REQUIRE(on_a_with_rate(x, 250.0));
  std::lock_guard<std::mutex> guard{p->mtx};
  // The node runs it under the address the driver names it by.
  CHECK(p->starts["node-a:1"] == std::vector<std::string>{"node-a:1"});
  CHECK(p->starts.count("node-b:1") == 0);
  CHECK(p->rates["node-a:1"] == std::vector<double>{250.0});
}

TEST_CASE_METHOD(fixture,
                 "when the receiver's node is lost, the placer starts it on "
                 "the next worker node with the last rate",
                 "[actors][receiver][nodes]") {
  auto x = placer();
  REQUIRE(on_a_with_rate(x, 250.0));
  // Node a goes down, and its supervisor with it.
  self->send_exit(spawned[0], caf::exit_reason::kill);
  REQUIRE(started_on("node-b:1"));
  REQUIRE(p->wait([&] { return !p->rates["node-b:1"].empty(); }));
  std::lock_guard<std::mutex> guard{p->mtx};
  CHECK(p->rates["node-b:1"] == std::vector<double>{250.0});
}

TEST_CASE_METHOD(fixture,
                 "a worker node that refuses the receiver is passed over, and "
                 "a stop reaches the supervisor of the node that took it",
                 "[actors][receiver][nodes]") {
  auto x = placer({"node-a:1"});
  REQUIRE(started_on("node-a:1"));
  REQUIRE(started_on("node-b:1"));
  bool stopped = false;
  self->request(x, caf::infinite, stop_atom::value, std::string{"done"})
    .receive([&] { stopped = true; },
             [&](caf::error& e) { FAIL(sys.render(e)); });
  CHECK(stopped);
  std::lock_guard<std::mutex> guard{p->mtx};
  CHECK(p->stops["node-b:1"] == 1);
  CHECK(p->stops.count("node-a:1") == 0);
}
