#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "support/child_process.hpp"

// A driver and a state node on two hosts: two network namespaces joined by
// a veth pair, with 10.77.0.1 and 10.77.0.2 that exist only inside them.
// The driver (`state_node_child --drive`) in one and the node in the other
// must give the running sums of one process, also when the node joins the
// driver (`stream.driver`) instead of being named, and when the node runs
// the driver's map tasks. Needs root (CI runs as
// root); skipped with a message where `ip netns` is not permitted.

namespace {

// Runs `command` in a shell, quietly; returns whether it succeeded.
bool shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// Where the `ip` tool is, or "" if nowhere.
std::string ip_tool() {
  for (const char* x : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(x, X_OK) == 0)
      return x;
  return {};
}

// Two network namespaces joined by a veth pair, deleted with this object.
struct two_hosts {
  two_hosts() : ip(ip_tool()) {
    auto id = std::to_string(::getpid());
    a = "cs-a" + id;
    b = "cs-b" + id;
    auto va = "csva" + id;
    auto vb = "csvb" + id;
    ok = !ip.empty() && shell(ip + " netns add " + a)
         && shell(ip + " netns add " + b)
         && shell(ip + " link add " + va + " type veth peer name " + vb)
         && shell(ip + " link set " + va + " netns " + a)
         && shell(ip + " link set " + vb + " netns " + b)
         && shell(ip + " -n " + a + " addr add 10.77.0.1/24 dev " + va)
         && shell(ip + " -n " + b + " addr add 10.77.0.2/24 dev " + vb)
         && shell(ip + " -n " + a + " link set " + va + " up")
         && shell(ip + " -n " + b + " link set " + vb + " up")
         && shell(ip + " -n " + a + " link set lo up")
         && shell(ip + " -n " + b + " link set lo up");
  }

  ~two_hosts() {
    // Deleting a namespace deletes its end of the veth pair, and the pair.
    if (!ip.empty()) {
      shell(ip + " netns del " + a);
      shell(ip + " netns del " + b);
    }
  }

  // `args` run in namespace `ns`.
  std::vector<std::string> in(const std::string& ns,
                              std::vector<std::string> args) const {
    args.insert(args.begin(), {ip, "netns", "exec", ns});
    return args;
  }

  std::string ip;
  std::string a;
  std::string b;
  bool ok = false;
};

// What `state_node_child --drive` prints when its state was on the nodes.
const std::string sums_on_the_nodes = "batch 1: a=1 b=2\n"
                                      "batch 2: a=4 b=2\n"
                                      "batch 3: a=4 b=3 c=1\n"
                                      "batch 4: a=4 b=3 c=1\n"
                                      "batch 5: a=6 b=3 c=5\n"
                                      "state on the nodes\n";

// Whether the test can use `hosts`; says why not if it cannot.
bool usable(const two_hosts& hosts) {
  if (!hosts.ok)
    WARN("skipped: cannot make network namespaces here (`ip netns` needs "
         "root and the ip tool)");
  return hosts.ok;
}

// Runs a node on host b at 10.77.0.2 and the driver (`--drive`, with
// `flags`) on host a; returns what the driver printed.
std::string drive_across(const two_hosts& hosts,
                         std::vector<std::string> flags) {
  support::child_process node{hosts.in(
    hosts.b, {CAF_STREAM_STATE_NODE_CHILD, "--address=10.77.0.2"})};
  auto line = node.read_line();
  REQUIRE(line.rfind("port ", 0) == 0);
  auto address = "10.77.0.2:" + line.substr(5);
  // The node's address exists only in its namespace and the driver's
  // link: the driver reaches it over the veth pair.
  flags.insert(flags.begin(),
               {CAF_STREAM_STATE_NODE_CHILD, "--drive=" + address});
  support::child_process driver{hosts.in(hosts.a, std::move(flags))};
  auto out = driver.read_to_end();
  CHECK(driver.wait() == 0);
  return out;
}

} // namespace

TEST_CASE("a driver and a state node on two hosts give the results of one "
          "process",
          "[actors][state][netns]") {
  two_hosts hosts;
  if (!usable(hosts))
    return;
  CHECK(drive_across(hosts, {}) == sums_on_the_nodes);
}

TEST_CASE("a driver whose map tasks run on a worker node on another host "
          "gives the results of one process",
          "[actors][state][netns][tasks]") {
  two_hosts hosts;
  if (!usable(hosts))
    return;
  // The state streams' shuffles of each batch by key run on the node, whose
  // buckets come back over the veth pair.
  CHECK(drive_across(hosts, {"--tasks"})
        == sums_on_the_nodes + "map tasks on the nodes\n");
}

TEST_CASE("a state node given no address listens on 127.0.0.1 only",
          "[actors][state][netns]") {
  two_hosts hosts;
  if (!usable(hosts))
    return;
  support::child_process node{
    hosts.in(hosts.b, {CAF_STREAM_STATE_NODE_CHILD})};
  auto line = node.read_line();
  REQUIRE(line.rfind("port ", 0) == 0);
  // Another host cannot reach it: the driver holds the state itself.
  support::child_process driver{hosts.in(
    hosts.a,
    {CAF_STREAM_STATE_NODE_CHILD, "--drive=10.77.0.2:" + line.substr(5)})};
  auto out = driver.read_to_end();
  CHECK_THAT(out, Catch::Contains("batch 5: a=6 b=3 c=5\n")
                    && Catch::EndsWith("state on the driver\n"));
}

TEST_CASE("a worker node on another host joins its driver as the address "
          "it connects from",
          "[actors][state][netns][nodes]") {
  two_hosts hosts;
  if (!usable(hosts))
    return;
  // The node listens on every interface and starts first: it tries to
  // join every second until the driver is up.
  support::child_process node{
    hosts.in(hosts.b, {CAF_STREAM_STATE_NODE_CHILD, "--address=0.0.0.0",
                       "--driver=10.77.0.1:7077"})};
  auto line = node.read_line();
  REQUIRE(line.rfind("port ", 0) == 0);
  auto address = "10.77.0.2:" + line.substr(5);
  support::child_process driver{
    hosts.in(hosts.a, {CAF_STREAM_STATE_NODE_CHILD, "--drive-port=7077",
                       "--expect=" + address})};
  CHECK(driver.read_to_end() == "joined " + address + "\n"
                                   + sums_on_the_nodes);
  CHECK(driver.wait() == 0);
}
