#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/task_host.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/dstream/rdd_data.hpp"
#include "caf_stream/testing.hpp"

#include "support/word_graph.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;

// The task host through its mailbox: this test is the driver. The host
// runs the map stage of a word count in its copy of the graph, keeps the
// buckets and hands them out in chunks; the test's own lineage of the same
// batch takes them and counts.

namespace {

using count = test::word_graph::count;
using counts = std::vector<count>;

const std::vector<std::string> lines{"a b a", "c a", "b b d", "", "a"};

// The driver's side: a lineage of the batch whose map stage runs at the
// host, fetched in chunks of `chunk` bytes.
class host_runner final : public task_runner {
public:
  /// Where the reduce tasks run: here, on the task host with the buckets it
  /// holds, or on the task host with buckets that this test holds and
  /// serves as a peer node would (`from_peer`).
  enum class reduce { here, on_host, from_peer };

  host_runner(caf::scoped_actor& self, caf::actor host, size_t chunk,
              reduce where = reduce::here)
    : self_(self), host_(std::move(host)), chunk_(chunk), where_(where) {
    // nop
  }

  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  void run_map_stage(const detail::rdd_node_base& shuffle, size_t n,
                     detail::function_ref<void(size_t)>) override {
    // The word count is stream 3 of the word graph; the shuffle is its RDD.
    auto stage = stage_of(3, n);
    // A reduce stage names the shuffle the same way, without records.
    auto named = stage;
    for (auto& part : named.batch.inputs[0].partitions)
      part.clear();
    self_->send(host_, map_tasks_atom::value, uint64_t{1}, std::move(stage),
                caf::actor{self_});
    auto [sizes, spans] = done(1);
    REQUIRE(sizes.size() == n);
    // Each task's 3 buckets' places in its output.
    auto r = shuffle.num_partitions();
    REQUIRE(spans.size() == 2 * r * n);
    if (where_ == reduce::here) {
      for (uint32_t i = 0; i < n; ++i)
        shuffle.add_map_output(i, fetch(1, i, sizes[i]));
      self_->send(host_, release_atom::value, uint64_t{1});
      return;
    }
    reduce_stage x;
    x.shuffle = std::move(named);
    x.shuffle.tasks.clear();
    for (uint32_t k = 0; k < r; ++k)
      x.shuffle.tasks.push_back(k);
    x.addresses = {"this node"};
    x.nodes.resize(1);
    x.holders.assign(n, 0);
    x.stages.assign(n, 1);
    x.spans = spans;
    for (uint32_t i = 0; i < n; ++i)
      x.outputs.push_back(i);
    uint64_t id = 2;
    if (where_ == reduce::from_peer) {
      // This test holds the map outputs, as stage 5 of "the peer".
      std::vector<std::string> outputs;
      for (uint32_t i = 0; i < n; ++i)
        outputs.push_back(fetch(1, i, sizes[i]));
      x.addresses = {"the peer"};
      x.nodes = {caf::actor{self_}};
      x.stages.assign(n, 5);
      id = serve_after_failed_fetch(x, outputs);
    } else {
      self_->send(host_, reduce_tasks_atom::value, id, std::move(x),
                  caf::actor{self_});
    }
    auto parts = outputs_of(id);
    REQUIRE(parts.size() == r);
    for (uint32_t k = 0; k < r; ++k)
      shuffle.add_reduced(k, parts[k]);
    self_->send(host_, release_atom::value, uint64_t{1});
  }

  /// What the `n` tasks of a result stage of stream `stream`'s RDD of the
  /// batch (the lines in `n` partitions) answer at the host, sent with
  /// `what` (`result_tasks_atom`, `count_tasks_atom`) as stage 4.
  template <class Atom>
  std::vector<std::string> result_outputs(Atom what, uint32_t stream,
                                          uint32_t n) {
    self_->send(host_, what, uint64_t{4}, stage_of(stream, n),
                caf::actor{self_});
    auto result = outputs_of(4);
    REQUIRE(result.size() == n);
    return result;
  }

  /// The records of the `n` partitions of stream `stream`'s RDD of the
  /// batch, computed at the host as a result stage.
  template <class T>
  std::vector<T> computed(uint32_t stream, uint32_t n) {
    std::vector<T> result;
    for (const auto& bytes :
         result_outputs(result_tasks_atom::value, stream, n)) {
      std::vector<T> part;
      detail::from_bytes(bytes, part);
      result.insert(result.end(), part.begin(), part.end());
    }
    return result;
  }

  /// Runs the `n` map tasks of the word count (stream 3) at the host as
  /// stage 1, whose outputs the host keeps: their sizes, their buckets'
  /// places, and their bytes, fetched.
  std::tuple<std::vector<uint64_t>, std::vector<uint64_t>,
             std::vector<std::string>>
  held_map_stage(uint32_t n) {
    self_->send(host_, map_tasks_atom::value, uint64_t{1}, stage_of(3, n),
                caf::actor{self_});
    auto [sizes, spans] = done(1);
    std::vector<std::string> outputs;
    for (uint32_t i = 0; i < sizes.size(); ++i)
      outputs.push_back(fetch(1, i, sizes[i]));
    return {sizes, spans, outputs};
  }

  /// The fetches of a chunk, and the answers that came with their
  /// outputs.
  size_t chunks = 0;
  size_t direct = 0;

private:
  // The `n` tasks of the stage of stream `stream`'s RDD of the batch, with
  // the lines in `n` partitions.
  static map_stage stage_of(uint32_t stream, uint32_t n) {
    map_stage stage;
    stage.stream = stream;
    for (uint32_t i = 0; i < n; ++i)
      stage.tasks.push_back(i);
    stage.batch.batch_time = caf_stream::time{1000};
    auto& in = stage.batch.inputs[0];
    in.records = static_cast<int64_t>(lines.size());
    for (const auto& part : detail::partitions_of(parallelize(lines, n)))
      in.partitions.push_back(detail::to_bytes(part));
    return stage;
  }

  // A fetch of a peer's buckets, as the task host asks for it: offset and
  // size pairs in output `task`.
  struct peer_fetch {
    uint32_t task;
    std::vector<uint64_t> pieces;
    uint64_t tag;

    // The bytes it asks for in all.
    uint64_t size() const {
      uint64_t result = 0;
      for (size_t j = 1; j < pieces.size(); j += 2)
        result += pieces[j];
      return result;
    }

    // Its answer out of `outputs`.
    std::string bytes(const std::vector<std::string>& outputs) const {
      std::string result;
      for (size_t j = 0; j + 1 < pieces.size(); j += 2)
        result += outputs[task].substr(pieces[j], pieces[j + 1]);
      return result;
    }
  };

  // The task host's next `count` fetches from this test as its peer.
  std::vector<peer_fetch> peer_fetches(size_t count) {
    std::vector<peer_fetch> result;
    while (result.size() < count)
      self_->receive([&](fetch_atom, const caf::actor&, uint64_t id,
                         uint32_t task, std::vector<uint64_t>& pieces,
                         uint64_t tag) {
        CHECK(id == 5);
        result.push_back(peer_fetch{task, std::move(pieces), tag});
      });
    return result;
  }

  // Runs reduce stage `x`, whose map `outputs` this test holds, twice at
  // the task host: the first time (stage 2) this test fails its first
  // fetch and answers the others only once the second (stage 3) fetches,
  // with other bytes, before it answers the second's. Returns 3. The host
  // fetches each output's buckets in one fetch (they fit a chunk).
  uint64_t serve_after_failed_fetch(const reduce_stage& x,
                                    const std::vector<std::string>& outputs) {
    auto n = x.shuffle.tasks.size();
    size_t count = 0;
    size_t buckets = 0;
    for (size_t m = 0; m < x.outputs.size(); ++m) {
      size_t here = 0;
      for (size_t k = 0; k < n; ++k)
        here += x.spans[2 * (m * n + k) + 1] > 0 ? 1 : 0;
      count += here > 0 ? 1 : 0;
      buckets += here;
    }
    REQUIRE(count > 1);
    REQUIRE(buckets > count);
    self_->send(host_, reduce_tasks_atom::value, uint64_t{2}, x,
                caf::actor{self_});
    auto first = peer_fetches(count);
    size_t pieces = 0;
    for (const auto& r : first)
      pieces += r.pieces.size() / 2;
    CHECK(pieces == buckets);
    self_->send(host_, map_failed_atom::value, first[0].tag,
                std::string{"the peer lost it"});
    self_->receive([](map_failed_atom, uint64_t id, const std::string& why) {
      CHECK(id == 2);
      CHECK(why.find("the peer lost it") != std::string::npos);
    });
    self_->send(host_, reduce_tasks_atom::value, uint64_t{3}, x,
                caf::actor{self_});
    auto second = peer_fetches(count);
    self_->send(host_, map_failed_atom::value, first[0].tag,
                std::string{"a late failure"});
    for (size_t j = 1; j < first.size(); ++j)
      self_->send(host_, chunk_atom::value, first[j].tag, first[j].pieces[0],
                  first[j].size(), std::string(first[j].size(), '?'));
    for (const auto& r : second)
      self_->send(host_, chunk_atom::value, r.tag, r.pieces[0], r.size(),
                  r.bytes(outputs));
    return 3;
  }

  // The sizes (and bucket places) of stage `id`'s outputs.
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> done(uint64_t id) {
    std::pair<std::vector<uint64_t>, std::vector<uint64_t>> result;
    self_->receive(
      [&](map_done_atom, uint64_t got, std::vector<uint64_t>& sizes,
          std::vector<uint64_t>& spans) {
        CHECK(got == id);
        result = {std::move(sizes), std::move(spans)};
      },
      [&](map_failed_atom, uint64_t, const std::string& why) {
        FAIL("stage " << id << " failed: " << why);
      });
    return result;
  }

  // The outputs of stage `id`, which all go to the driver (a reduce or
  // result stage's): with the host's answer, or fetched in chunks (then
  // released).
  std::vector<std::string> outputs_of(uint64_t id) {
    std::vector<std::string> result;
    std::vector<uint64_t> sizes;
    auto held = false;
    self_->receive(
      [&](map_done_atom, uint64_t got, std::vector<uint64_t>& xs,
          std::vector<uint64_t>& spans) {
        CHECK(got == id);
        CHECK(spans.empty());
        sizes = std::move(xs);
        held = true;
      },
      [&](map_done_atom, uint64_t got, std::vector<std::string>& xs) {
        CHECK(got == id);
        result = std::move(xs);
        ++direct;
      },
      [&](map_failed_atom, uint64_t, const std::string& why) {
        FAIL("stage " << id << " failed: " << why);
      });
    if (!held)
      return result;
    for (uint32_t i = 0; i < sizes.size(); ++i)
      result.push_back(fetch(id, i, sizes[i]));
    self_->send(host_, release_atom::value, id);
    return result;
  }

  // Output `i` of stage `id`, of `total` bytes, fetched in chunks.
  std::string fetch(uint64_t id, uint32_t i, uint64_t total) {
    std::string bytes;
    for (uint64_t offset = 0; offset < total; offset += chunk_) {
      auto size = std::min<uint64_t>(chunk_, total - offset);
      self_->send(host_, fetch_atom::value, id, i, offset, size);
      self_->receive([&](chunk_atom, uint64_t, uint32_t task, uint64_t at,
                         uint64_t got, const std::string& xs) {
        CHECK(task == i);
        CHECK(at == offset);
        CHECK(got == size);
        CHECK(xs.size() == size);
        bytes += xs;
      });
      ++chunks;
    }
    return bytes;
  }

  caf::scoped_actor& self_;
  caf::actor host_;
  size_t chunk_;
  reduce where_;
};

// The word count of `lines` in 3 partitions, as the word graph builds it.
rdd<count> word_counts(size_t partitions) {
  return parallelize(lines, partitions)
    .flat_map(test::word_graph::words_of)
    .map([](const std::string& w) { return count{w, 1}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3);
}

// The word counts of `lines` in `partitions` partitions through `runner`,
// sorted.
counts counted_through(host_runner& runner, size_t partitions) {
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  auto result = word_counts(partitions).with_context(context).collect();
  std::sort(result.begin(), result.end());
  return result;
}

const counts expected{{"a", 4}, {"b", 3}, {"c", 1}, {"d", 1}};

// A node's copy of the word graph, never started, and its task host with
// two task slots and fetch chunks of `chunk` bytes (its answers carry the
// outputs of a result or reduce stage up to that size).
struct fixture {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  streaming_context ssc{sys, std::chrono::seconds(1),
                        std::make_shared<testing::manual_clock>()};
  caf::actor host;

  explicit fixture(size_t chunk = stream_options{}.shuffle_fetch_chunk) {
    test::word_graph::build(ssc, std::make_shared<rdd_queue<std::string>>())
      .foreach_rdd([](const rdd<count>&) {});
    stream_options opts;
    opts.workers = 2;
    opts.shuffle_fetch_chunk = chunk;
    host = spawn_task_host(sys, ssc.graph(), opts);
  }

  ~fixture() {
    self->send_exit(host, caf::exit_reason::user_shutdown);
  }
};

} // namespace

TEST_CASE("a task host runs a map stage and hands its buckets out in "
          "chunks",
          "[actors][tasks]") {
  fixture f;
  host_runner runner{f.self, f.host, 5};
  CHECK(counted_through(runner, 4) == expected);
  // The buckets were longer than one chunk.
  CHECK(runner.chunks > 4);
}

TEST_CASE("a task host runs the reduce tasks of a shuffle whose buckets it "
          "holds, and hands their records out in chunks",
          "[actors][tasks]") {
  // The reduced records do not fit in the host's chunk of 5 bytes.
  fixture f{5};
  host_runner runner{f.self, f.host, 5, host_runner::reduce::on_host};
  CHECK(counted_through(runner, 4) == expected);
  CHECK(runner.direct == 0);
  // A reduce stage whose map outputs do not add up is refused.
  reduce_stage bad;
  bad.shuffle.stream = 3;
  bad.shuffle.tasks = {0};
  bad.holders = {0};
  f.self->send(f.host, reduce_tasks_atom::value, uint64_t{7}, std::move(bad),
               caf::actor{f.self});
  f.self->receive([](map_failed_atom, uint64_t id, const std::string& why) {
    CHECK(id == 7);
    CHECK(why == "the reduce stage's map outputs are malformed");
  });
}

TEST_CASE("late answers to a task host's fetch of a peer's buckets that "
          "failed do not count in its next fetch of them",
          "[actors][tasks]") {
  fixture f;
  host_runner runner{f.self, f.host, 1000, host_runner::reduce::from_peer};
  CHECK(counted_through(runner, 2) == expected);
}

TEST_CASE("a task host computes the partitions of a result stage and hands "
          "their records out in chunks",
          "[actors][tasks]") {
  fixture f{5};
  host_runner runner{f.self, f.host, 5};
  // Stream 2 of the word graph pairs each word with 1.
  auto pairs = runner.computed<count>(2, 2);
  std::sort(pairs.begin(), pairs.end());
  CHECK(pairs
        == counts{{"a", 1}, {"a", 1}, {"a", 1}, {"a", 1}, {"b", 1}, {"b", 1},
                  {"b", 1}, {"c", 1}, {"d", 1}});
  CHECK(runner.chunks > 2);
  CHECK(runner.direct == 0);
  // A shuffle's partitions are not a result stage's.
  map_stage shuffle;
  shuffle.stream = 3;
  shuffle.tasks = {0};
  shuffle.batch.batch_time = caf_stream::time{1000};
  f.self->send(f.host, result_tasks_atom::value, uint64_t{8},
               std::move(shuffle), caf::actor{f.self});
  f.self->receive([](map_failed_atom, uint64_t id, const std::string& why) {
    CHECK(id == 8);
    CHECK(why == "the RDD at that place in stream 3's lineage has no "
                 "partitions that are computed here");
  });
}

TEST_CASE("a task host counts the records of a result stage's partitions "
          "and hands out their numbers, not the records",
          "[actors][tasks]") {
  fixture f;
  host_runner runner{f.self, f.host, 5};
  // Stream 2 pairs each word with 1. In 2 partitions, the lines "a b a" and
  // "c a" hold 5 words, "b b d", "" and "a" hold 4.
  std::vector<int64_t> numbers;
  for (const auto& bytes :
       runner.result_outputs(count_tasks_atom::value, 2, 2))
    numbers.push_back(detail::count_of_bytes(bytes));
  CHECK(numbers == std::vector<int64_t>{5, 4});
  // Two numbers fit in a chunk: they came with the answer.
  CHECK(runner.direct == 1);
  CHECK(runner.chunks == 0);
}

TEST_CASE("a task host answers the records of a result or reduce stage "
          "that fit in one fetch chunk with them, and keeps none",
          "[actors][tasks]") {
  fixture f;
  host_runner runner{f.self, f.host, 5, host_runner::reduce::on_host};
  auto pairs = runner.computed<count>(2, 2);
  std::sort(pairs.begin(), pairs.end());
  CHECK(pairs
        == counts{{"a", 1}, {"a", 1}, {"a", 1}, {"a", 1}, {"b", 1}, {"b", 1},
                  {"b", 1}, {"c", 1}, {"d", 1}});
  CHECK(runner.direct == 1);
  CHECK(counted_through(runner, 4) == expected);
  CHECK(runner.direct == 2);
  // Nothing was fetched: the buckets stayed at the host for its reduce
  // tasks, and the records came with the answers.
  CHECK(runner.chunks == 0);
  // Neither the result stage (4) nor the reduce stage (2) left outputs.
  for (auto id : {uint64_t{4}, uint64_t{2}}) {
    f.self->send(f.host, fetch_atom::value, id, uint32_t{0}, uint64_t{0},
                 uint64_t{1});
    f.self->receive([&](map_failed_atom, uint64_t got, const std::string&) {
      CHECK(got == id);
    });
  }
}

TEST_CASE("a task host answers a fetch of buckets it does not hold with "
          "map_failed",
          "[actors][tasks]") {
  fixture f;
  // Nothing ran: stage 9 has no buckets here.
  f.self->send(f.host, fetch_atom::value, uint64_t{9}, uint32_t{0},
               uint64_t{0}, uint64_t{4});
  f.self->receive([](map_failed_atom, uint64_t id, const std::string& why) {
    CHECK(id == 9);
    CHECK(why == "this node holds no such map output");
  });
  // Released buckets are gone too.
  host_runner runner{f.self, f.host, 1000};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  CHECK(word_counts(2).with_context(context).count() == 4);
  f.self->send(f.host, fetch_atom::value, uint64_t{1}, uint32_t{0},
               uint64_t{0}, uint64_t{1});
  f.self->receive([](map_failed_atom, uint64_t id, const std::string&) {
    CHECK(id == 1);
  });
}

TEST_CASE("a task host answers a fetch that runs on into the next output, "
          "and another node's fetch of several buckets at once",
          "[actors][tasks]") {
  fixture f;
  host_runner runner{f.self, f.host, 1000};
  // Two map tasks, three buckets each (the word count's 3 partitions).
  auto [sizes, spans, outputs] = runner.held_map_stage(2);
  REQUIRE(sizes.size() == 2);
  REQUIRE(spans.size() == 12);
  REQUIRE(outputs[1].size() > 3);
  // The driver's fetch of output 0 from its third byte on and the first 3
  // bytes of output 1.
  auto size = sizes[0] - 2 + 3;
  f.self->send(f.host, fetch_atom::value, uint64_t{1}, uint32_t{0},
               uint64_t{2}, size);
  f.self->receive([&](chunk_atom, uint64_t id, uint32_t task, uint64_t offset,
                      uint64_t got, const std::string& bytes) {
    CHECK(id == 1);
    CHECK(task == 0);
    CHECK(offset == 2);
    CHECK(got == size);
    CHECK(bytes == outputs[0].substr(2) + outputs[1].substr(0, 3));
  });
  // Another node's fetch of buckets 0 and 2 of output 1 (their places are
  // spans 3 and 5), for the map stage that this test ran as driver.
  std::vector<uint64_t> pieces{spans[6], spans[7], spans[10], spans[11]};
  f.self->send(f.host, fetch_atom::value, caf::actor{f.self}, uint64_t{1},
               uint32_t{1}, pieces, uint64_t{77});
  f.self->receive([&](chunk_atom, uint64_t tag, uint64_t offset, uint64_t got,
                      const std::string& bytes) {
    CHECK(tag == 77);
    CHECK(offset == spans[6]);
    CHECK(got == spans[7] + spans[11]);
    CHECK(bytes
          == outputs[1].substr(spans[6], spans[7])
               + outputs[1].substr(spans[10], spans[11]));
  });
  // A piece past the output's end is refused.
  pieces = {0, sizes[1] + 1};
  f.self->send(f.host, fetch_atom::value, caf::actor{f.self}, uint64_t{1},
               uint32_t{1}, pieces, uint64_t{78});
  f.self->receive([](map_failed_atom, uint64_t tag, const std::string& why) {
    CHECK(tag == 78);
    CHECK(why == "this node holds no such map output");
  });
  // So is the driver's fetch of no bytes of a task past the last.
  f.self->send(f.host, fetch_atom::value, uint64_t{1}, uint32_t{2},
               uint64_t{0}, uint64_t{0});
  f.self->receive([](map_failed_atom, uint64_t id, const std::string& why) {
    CHECK(id == 1);
    CHECK(why == "this node holds no such map output");
  });
  f.self->send(f.host, release_atom::value, uint64_t{1});
}

TEST_CASE("a task host's fetch of a peer's buckets gives up after "
          "stream.state-timeout without a chunk, while it serves other "
          "fetches",
          "[actors][tasks]") {
  fixture f;
  // A reduce stage of the word count (stream 3) whose one map output this
  // test keeps, as "the peer", and never hands out; the driver's
  // stream.state-timeout is 1 s.
  reduce_stage x;
  x.shuffle.stream = 3;
  x.shuffle.state_timeout_ms = 1000;
  x.shuffle.batch.batch_time = caf_stream::time{1000};
  x.shuffle.tasks = {0, 1, 2};
  x.addresses = {"the peer"};
  x.nodes = {caf::actor{f.self}};
  x.holders = {0};
  x.stages = {5};
  x.outputs = {0};
  x.spans = {0, 10, 10, 10, 20, 10};
  f.self->send(f.host, reduce_tasks_atom::value, uint64_t{2}, std::move(x),
               caf::actor{f.self});
  // Meanwhile the host answers fetches of this test's, one after the other
  // (as it serves other nodes' and the driver's while it waits): those do
  // not hold its wait up. The bound is for a stuck test only.
  auto failed = false;
  size_t answered = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  f.self->send(f.host, fetch_atom::value, uint64_t{9}, uint32_t{0},
               uint64_t{0}, uint64_t{4});
  while (!failed && std::chrono::steady_clock::now() < until)
    f.self->receive(
      [&](map_failed_atom, uint64_t id, const std::string& why) {
        if (id == 2) {
          failed = true;
          CHECK(why.find("did not answer within stream.state-timeout")
                != std::string::npos);
          return;
        }
        ++answered;
        f.self->send(f.host, fetch_atom::value, uint64_t{9}, uint32_t{0},
                     uint64_t{0}, uint64_t{4});
      },
      [&](fetch_atom, const caf::actor&, uint64_t, uint32_t,
          const std::vector<uint64_t>&, uint64_t) {
        // The peer's fetches: never answered.
      });
  CHECK(failed);
  CHECK(answered > 0);
}
