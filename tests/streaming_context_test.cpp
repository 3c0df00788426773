#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/checkpoint/checkpoint_directory.hpp"
#include "caf_stream/testing.hpp"

#include "support/event_log.hpp"
#include "support/log_capture.hpp"
#include "support/pipeline.hpp"

using namespace caf_stream;

namespace {

using ints = std::vector<std::vector<int>>;

std::vector<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  return lines;
}

// How many tasks of a stage run at once, at most. A task that starts waits
// until `together` tasks run, all `tasks` started, or `bound` passed, so
// that tasks that can run together do.
class concurrency_probe {
public:
  concurrency_probe(size_t tasks, size_t together,
                    std::chrono::milliseconds bound)
    : tasks_(tasks), together_(together), bound_(bound) {
    // nop
  }

  void run_task() {
    std::unique_lock<std::mutex> guard{mtx_};
    ++started_;
    most_ = std::max(most_, ++running_);
    cv_.notify_all();
    cv_.wait_for(guard, bound_, [this] {
      return running_ >= together_ || started_ == tasks_;
    });
    --running_;
  }

  size_t most() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return most_;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  size_t tasks_;
  size_t together_;
  std::chrono::milliseconds bound_;
  size_t started_ = 0;
  size_t running_ = 0;
  size_t most_ = 0;
};

} // namespace

// Spark's local[N] runs N tasks at once: the job executor is one task slot,
// as a worker node's task host is, and the operator workers the others.
TEST_CASE("a context with N task slots runs N tasks of a stage at once, and "
          "no more",
          "[context]") {
  auto slots = GENERATE(size_t{1}, size_t{2});
  auto opts = testing::default_test_options();
  opts.workers = slots;
  test::pipeline<int> p{opts};
  std::vector<int> xs{1, 2, 3, 4, 5, 6, 7, 8};
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(xs, xs.size()));
  // With one slot a task waits a little for a second one, which must not
  // come; with two, for the second one, which comes.
  auto probe = std::make_shared<concurrency_probe>(
    xs.size(), slots == 1 ? 2 : slots,
    std::chrono::milliseconds(slots == 1 ? 50 : 30000));
  p.collect(p.context().queue_stream(q).map([probe](int x) {
    probe->run_task();
    return x;
  }));
  p.run(1);
  CHECK(p.outputs() == ints{xs});
  CHECK(probe->most() == slots);
}

TEST_CASE("the graph is frozen after start", "[context]") {
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  auto s = p.context().queue_stream(q);
  p.collect(s);
  p.context().start();
  CHECK_THROWS_WITH(s.map([](int x) { return x; }),
                    Catch::Contains("after starting a context is not supported"));
  CHECK_THROWS_AS(p.context().start(), stream_error);
  p.context().stop();
  CHECK_THROWS_WITH(s.map([](int x) { return x; }),
                    Catch::Contains("after stopping a context is not supported"));
}

TEST_CASE("a context's graph goes with it although an output holds a "
          "handle of its own stream",
          "[context]") {
  // Spark's `stream.foreachRDD { ... stream.slice(...) }`: the output's
  // function holds the stream, whose handle holds the graph, which holds
  // the output.
  std::weak_ptr<detail::dstream_graph> graph;
  std::vector<size_t> sliced;
  {
    test::pipeline<int> p;
    auto& ssc = p.context();
    auto q = std::make_shared<rdd_queue<int>>();
    for (int k = 1; k <= 3; ++k)
      q->push(ssc.parallelize(std::vector<int>{k}, 1));
    auto s = ssc.queue_stream(q);
    s.foreach_rdd([s, &sliced](const rdd<int>&, caf_stream::time t) {
      sliced.push_back(s.slice(t - std::chrono::seconds(1), t).size());
    });
    graph = s.graph();
    p.run(3);
  }
  // The first batch has no batch before it.
  CHECK(sliced == std::vector<size_t>{1, 2, 2});
  CHECK(graph.expired());
  // A handle kept past its context keeps the graph, and grows it no more.
  std::optional<dstream<int>> kept;
  {
    test::pipeline<int> p;
    kept = p.context().queue_stream(std::make_shared<rdd_queue<int>>());
    p.collect(*kept);
    p.run(1);
  }
  CHECK_THROWS_WITH(
    kept->map([](int x) { return x; }),
    Catch::Contains("after stopping a context is not supported"));
}

TEST_CASE("start needs an output operation", "[context]") {
  streaming_context ssc{std::chrono::seconds(1), testing::default_test_options(),
                        std::make_shared<testing::manual_clock>()};
  ssc.queue_stream(std::make_shared<rdd_queue<int>>());
  CHECK_THROWS_WITH(ssc.start(), Catch::Contains("No output operations"));
}

TEST_CASE("bad configuration values are refused by name", "[context][config]") {
  stream_options opts;
  opts.block_interval = duration{0};
  CHECK_THROWS_WITH(streaming_context(std::chrono::seconds(1), opts),
                    Catch::Contains("stream.block-interval"));
  CHECK_THROWS_WITH(streaming_context(duration{0}),
                    Catch::Contains("batch interval must be positive"));
}

TEST_CASE("queue_stream takes one RDD per batch, or all", "[context][queue]") {
  auto one = GENERATE(true, false);
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(std::vector<int>{1, 2}, 2));
  q->push(parallelize(std::vector<int>{3}, 1));
  auto fallback = parallelize(std::vector<int>{-1}, 1);
  p.collect(p.context().queue_stream(q, one, fallback));
  p.context().start();
  p.next_batch();
  p.next_batch();
  p.context().stop();
  if (one)
    CHECK(p.outputs() == std::vector<std::vector<int>>{{1, 2}, {3}});
  else
    CHECK(p.outputs() == std::vector<std::vector<int>>{{1, 2, 3}, {-1}});
}

TEST_CASE("the context's transform gets the RDDs of several streams at a "
          "batch's time, in their order",
          "[context][transform]") {
  test::pipeline<int> p;
  auto& ssc = p.context();
  std::vector<std::shared_ptr<rdd_queue<int>>> qs;
  std::vector<dstream<int>> streams;
  for (auto batches : {ints{{1, 2}, {5}}, ints{{3}, {}}, ints{{4}, {6}}}) {
    auto q = std::make_shared<rdd_queue<int>>();
    for (auto& xs : batches)
      q->push(parallelize(xs, 1));
    streams.push_back(ssc.queue_stream(q));
  }
  // Stream i's records times 10^i, plus the batch's time in ms.
  p.collect(ssc.transform(streams, [](const std::vector<rdd<int>>& xs,
                                      caf_stream::time t) {
    auto ms = static_cast<int>(t.milliseconds());
    auto result = xs[0].map([ms](int x) { return x + ms; });
    for (int i = 1, scale = 10; i < static_cast<int>(xs.size());
         ++i, scale *= 10)
      result = result.union_with(
        xs[i].map([ms, scale](int x) { return x * scale + ms; }));
    return result;
  }));
  ssc.start();
  p.next_batch();
  p.next_batch();
  ssc.stop();
  CHECK(p.outputs() == ints{{1001, 1002, 1030, 1400}, {2005, 2600}});
}

TEST_CASE("the context's transform refuses no streams, streams of another "
          "context and streams of different slides",
          "[context][transform]") {
  test::pipeline<int> p;
  test::pipeline<int> other;
  auto& ssc = p.context();
  auto a = ssc.queue_stream(std::make_shared<rdd_queue<int>>());
  auto b = other.context().queue_stream(std::make_shared<rdd_queue<int>>());
  auto first = [](const std::vector<rdd<int>>& xs) { return xs[0]; };
  CHECK_THROWS_WITH(ssc.transform(std::vector<dstream<int>>{}, first),
                    "transform needs at least one stream");
  CHECK_THROWS_WITH(ssc.transform(std::vector<dstream<int>>{a, b}, first),
                    "transform: every stream must belong to this context");
  CHECK_THROWS_WITH(
    ssc.transform(std::vector<dstream<int>>{a, a.window(std::chrono::seconds(2),
                                                        std::chrono::seconds(2))},
                  first),
    Catch::Contains("transform: the streams have different slide durations"));
}

TEST_CASE("listeners see every batch with its figures", "[context][listener]") {
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  p.collect(p.context().queue_stream(q));
  p.context().start();
  p.next_batch();
  p.next_batch();
  p.context().stop();
  auto infos = p.infos();
  REQUIRE(infos.size() == 2);
  CHECK(infos[0].batch_time == caf_stream::time{1000});
  CHECK(infos[1].batch_time == caf_stream::time{2000});
  for (auto& info : infos) {
    // Under the manual clock no time passes while a batch runs.
    CHECK(info.submission_time == info.batch_time);
    CHECK(info.scheduling_delay() == duration{0});
    CHECK(info.processing_delay() == duration{0});
    CHECK(info.total_delay() == duration{0});
    CHECK_FALSE(info.failure_reason);
  }
}

namespace {

// Keeps the events of Spark's StreamingListener that name the context's
// start and the output operations, with the batches', in order.
class output_log final : public streaming_listener {
public:
  void on_streaming_started(caf_stream::time start) override {
    add("streaming started " + std::to_string(start.milliseconds()));
  }

  void on_batch_started(const batch_info& info) override {
    add("batch started " + std::to_string(info.batch_time.milliseconds()));
  }

  void on_output_operation_started(const output_operation_info& x) override {
    add("output " + std::to_string(x.id) + " (" + x.name + ") of "
        + std::to_string(x.batch_time.milliseconds()) + " started"
        + (x.start_time && !x.end_time ? "" : " with the wrong times"));
  }

  void
  on_output_operation_completed(const output_operation_info& x) override {
    add("output " + std::to_string(x.id) + " of "
        + std::to_string(x.batch_time.milliseconds()) + " completed"
        + (x.failure_reason ? ": " + *x.failure_reason : "")
        + (x.run_time() ? "" : " with the wrong times"));
  }

  void on_batch_completed(const batch_info& info) override {
    add("batch completed " + std::to_string(info.batch_time.milliseconds()));
  }

  std::vector<std::string> events() {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_;
  }

private:
  void add(std::string x) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(std::move(x));
  }

  std::mutex mtx_;
  std::vector<std::string> events_;
};

} // namespace

TEST_CASE("listeners hear that the context started and of each output "
          "operation, between its batch's start and completion",
          "[context][listener]") {
  test::pipeline<int> p{testing::default_test_options(),
                        caf_stream::time{500}};
  auto events = std::make_shared<output_log>();
  p.context().add_streaming_listener(events);
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(std::vector<int>{1}, 1));
  q->push(parallelize(std::vector<int>{2}, 1));
  auto s = p.context().queue_stream(q);
  p.collect(s);
  s.foreach_rdd([](const rdd<int>& x) {
    if (x.collect() == std::vector<int>{2})
      throw std::runtime_error("no 2s");
  });
  p.run(2);
  CHECK(events->events()
        == std::vector<std::string>{
          "streaming started 500",
          "batch started 1000",
          "output 0 (foreach_rdd) of 1000 started",
          "output 0 of 1000 completed",
          "output 1 (foreach_rdd) of 1000 started",
          "output 1 of 1000 completed",
          "batch completed 1000",
          "batch started 2000",
          "output 0 (foreach_rdd) of 2000 started",
          "output 0 of 2000 completed",
          "output 1 (foreach_rdd) of 2000 started",
          "output 1 of 2000 completed: no 2s",
          "batch completed 2000",
        });
}

TEST_CASE("a removed listener gets no event of the batches after its "
          "removal",
          "[context][listener]") {
  test::pipeline<int> p;
  p.collect(p.context().queue_stream(std::make_shared<rdd_queue<int>>()));
  auto& ssc = p.context();
  auto log = std::make_shared<test::event_log>();
  ssc.add_streaming_listener(log);
  ssc.start();
  p.next_batch();
  std::vector<std::string> first{"submitted 1000", "started 1000",
                                 "completed 1000"};
  CHECK(log->wait_for(3) == first);
  ssc.remove_streaming_listener(log);
  // One that was never added is ignored.
  ssc.remove_streaming_listener(std::make_shared<test::event_log>());
  p.next_batch();
  p.next_batch();
  ssc.stop();
  CHECK(log->events() == first);
  // The pipeline's own listener saw every batch.
  CHECK(p.infos().size() == 3);
}

TEST_CASE("get_state goes from initialized to active to stopped, and no "
          "further",
          "[context]") {
  test::pipeline<int> p;
  p.collect(p.context().queue_stream(std::make_shared<rdd_queue<int>>()));
  auto& ssc = p.context();
  CHECK(ssc.get_state() == streaming_context_state::initialized);
  ssc.start();
  CHECK(ssc.get_state() == streaming_context_state::active);
  CHECK_THROWS_AS(ssc.start(), stream_error);
  CHECK(ssc.get_state() == streaming_context_state::active);
  ssc.stop();
  CHECK(ssc.get_state() == streaming_context_state::stopped);
  CHECK_THROWS_AS(ssc.start(), stream_error);
  CHECK(ssc.get_state() == streaming_context_state::stopped);
  // Stopped before it started: stopped too.
  streaming_context never{std::chrono::seconds(1),
                          testing::default_test_options(),
                          std::make_shared<testing::manual_clock>()};
  never.stop();
  CHECK(never.get_state() == streaming_context_state::stopped);
  CHECK(std::string{to_string(streaming_context_state::initialized)}
        == "INITIALIZED");
  CHECK(std::string{to_string(streaming_context_state::active)} == "ACTIVE");
  CHECK(std::string{to_string(streaming_context_state::stopped)}
        == "STOPPED");
}

TEST_CASE("one streaming context runs in a process at a time, and "
          "get_active names it",
          "[context]") {
  CHECK(streaming_context::get_active() == nullptr);
  test::pipeline<int> a;
  test::pipeline<int> b;
  for (auto* p : {&a, &b})
    p->collect(p->context().queue_stream(std::make_shared<rdd_queue<int>>()));
  a.context().start();
  CHECK(streaming_context::get_active() == &a.context());
  CHECK_THROWS_WITH(b.context().start(),
                    Catch::Contains("only one streaming context may be "
                                    "started in a process"));
  CHECK(b.context().get_state() == streaming_context_state::initialized);
  CHECK(streaming_context::get_active() == &a.context());
  a.context().stop();
  CHECK(streaming_context::get_active() == nullptr);
  b.context().start();
  CHECK(streaming_context::get_active() == &b.context());
  b.next_batch();
  b.context().stop();
  CHECK(streaming_context::get_active() == nullptr);
  CHECK(b.infos().size() == 1);
}

namespace {

// A context with one output, as `get_active_or_create`'s `create` makes
// it; counts the calls in `made`.
std::unique_ptr<streaming_context> new_context(int& made) {
  ++made;
  auto ctx = std::make_unique<streaming_context>(
    std::chrono::seconds(1), testing::default_test_options(),
    std::make_shared<testing::manual_clock>());
  ctx->queue_stream(std::make_shared<rdd_queue<int>>())
    .foreach_rdd([](const rdd<int>&) {});
  return ctx;
}

} // namespace

TEST_CASE("get_active_or_create gives the running context, else a new one "
          "that the caller's owner keeps",
          "[context]") {
  auto made = 0;
  auto create = [&] { return new_context(made); };
  std::unique_ptr<streaming_context> owner;
  // None runs: a new one, not started, that `owner` holds.
  auto& first = streaming_context::get_active_or_create(create, owner);
  CHECK(made == 1);
  CHECK(&first == owner.get());
  CHECK(first.get_state() == streaming_context_state::initialized);
  // Started, it is the one: `create` is not called, `other` stays empty.
  first.start();
  std::unique_ptr<streaming_context> other;
  CHECK(&streaming_context::get_active_or_create(create, other) == &first);
  CHECK(made == 1);
  CHECK(other == nullptr);
  first.stop();
  // Stopped, it runs no more: a new one.
  auto& second = streaming_context::get_active_or_create(create, other);
  CHECK(made == 2);
  CHECK(&second == other.get());
  CHECK(&second != &first);
  // A `create` that makes none is refused; `other` keeps its context.
  CHECK_THROWS_WITH(
    streaming_context::get_active_or_create(
      [] { return std::unique_ptr<streaming_context>{}; }, other),
    "get_active_or_create: create returned no context");
  CHECK(other.get() == &second);
}

TEST_CASE("get_active_or_create with a checkpoint directory gives the "
          "running context, else get_or_create's",
          "[context][checkpoint]") {
  testing::temporary_directory dir;
  auto made = 0;
  auto create = [&] { return new_context(made); };
  std::unique_ptr<streaming_context> owner;
  auto& first = streaming_context::get_active_or_create(dir.path(), create,
                                                         owner);
  CHECK(made == 1);
  CHECK(&first == owner.get());
  // As get_or_create's: the directory is its checkpoint directory, and
  // there was no checkpoint to resume from.
  CHECK(first.checkpoint_directory() == dir.path());
  CHECK_FALSE(first.is_recovered());
  first.start();
  std::unique_ptr<streaming_context> other;
  CHECK(&streaming_context::get_active_or_create(dir.path(), create, other)
        == &first);
  CHECK(made == 1);
  CHECK(other == nullptr);
  first.stop();
}

TEST_CASE("a running context holds its checkpoint directory: another "
          "application's context that names it is refused at start and "
          "deletes nothing there",
          "[context][checkpoint]") {
  testing::temporary_directory dir;
  // Another application runs with the directory, its write-ahead log in it.
  std::optional<detail::checkpoint_directory_lock> other{std::in_place,
                                                         dir.path()};
  auto logged = std::filesystem::path{dir.path()} / "receivedData" / "0";
  std::filesystem::create_directories(logged);
  std::ofstream{logged / "log-1"} << "the other's records\n";
  // This one would begin a new write-ahead log there.
  auto opts = testing::default_test_options();
  opts.write_ahead_log = true;
  streaming_context ssc{std::chrono::seconds(1), opts,
                        std::make_shared<testing::manual_clock>()};
  ssc.checkpoint(dir.path());
  ssc.socket_text_stream("127.0.0.1", 9).foreach_rdd(
    [](const rdd<std::string>&) {});
  CHECK_THROWS_WITH(ssc.start(),
                    Catch::StartsWith("the checkpoint directory '"
                                      + dir.path()
                                      + "' is in use by another running "
                                        "streaming context (process "));
  CHECK(ssc.get_state() == streaming_context_state::initialized);
  CHECK(streaming_context::get_active() == nullptr);
  CHECK(read_file(logged / "log-1")
        == std::vector<std::string>{"the other's records"});
  // Once the other is gone, a context takes the directory while it runs.
  other.reset();
  auto made = 0;
  auto ctx = new_context(made);
  ctx->checkpoint(dir.path());
  ctx->start();
  CHECK_THROWS_AS(detail::checkpoint_directory_lock{dir.path()},
                  stream_error);
  ctx->stop();
  CHECK_NOTHROW(detail::checkpoint_directory_lock{dir.path()});
}

namespace {

// A context whose first batch's job runs until the test calls `release`;
// `start` cuts batch 1000, which starts and waits, and batch 2000, which
// waits behind it.
struct held_first_batch {
  explicit held_first_batch(
    stream_options opts = testing::default_test_options())
    : p(opts) {
    p.context().add_streaming_listener(events);
    auto q = std::make_shared<rdd_queue<int>>();
    p.context().queue_stream(q).foreach_rdd([this](const rdd<int>&) {
      if (std::exchange(first, false))
        released.wait_for(std::chrono::minutes(1));
    });
  }

  void start() {
    p.context().start();
    p.clock().advance(std::chrono::seconds(1));
    REQUIRE(events->wait_for(2)
            == std::vector<std::string>{"submitted 1000", "started 1000"});
    p.clock().advance(std::chrono::seconds(1));
    REQUIRE(events->wait_for(3)
            == std::vector<std::string>{"submitted 1000", "started 1000",
                                        "submitted 2000"});
  }

  void release() {
    releaser.set_value();
  }

  std::shared_ptr<test::event_log> events
    = std::make_shared<test::event_log>();
  std::promise<void> releaser;
  std::shared_future<void> released = releaser.get_future().share();
  bool first = true;
  // Last, so that its context stops before the members its job reads go.
  test::pipeline<int> p;
};

} // namespace

TEST_CASE("a batch is submitted at its time while an earlier one runs",
          "[context][listener]") {
  held_first_batch held;
  auto& p = held.p;
  auto& events = held.events;
  held.start();
  p.clock().advance(std::chrono::milliseconds(500));
  held.release();
  CHECK(events->wait_for(6)
        == std::vector<std::string>{"submitted 1000", "started 1000",
                                    "submitted 2000", "completed 1000",
                                    "started 2000", "completed 2000"});
  p.context().stop();
  auto infos = events->completed();
  REQUIRE(infos.size() == 2);
  CHECK(infos[0].processing_delay() == duration{1500});
  CHECK(infos[1].submission_time == caf_stream::time{2000});
  CHECK(infos[1].scheduling_delay() == duration{500});
  CHECK(infos[1].processing_delay() == duration{0});
}

// Spark's gracefulStopTimeout: a graceful stop waits that long at most for
// the batches generated, then the running one completes and the queued ones
// are skipped.
TEST_CASE("a graceful stop waits stream.graceful-stop-timeout at most",
          "[context][stop]") {
  support::log_capture log{"context"};
  auto opts = testing::default_test_options();
  opts.graceful_stop_timeout = duration{50};
  // 10 batch intervals (the default) would be 10 s.
  held_first_batch held{opts};
  held.start();
  auto stopping = std::async(std::launch::async,
                             [&] { held.p.context().stop(true); });
  CHECK(log.wait_for("graceful stop: batches still pending after 50 ms "
                     "(stream.graceful-stop-timeout)"));
  held.release();
  stopping.get();
  // The listeners heard of every batch before the stop returned.
  CHECK(held.events->events()
        == std::vector<std::string>{"submitted 1000", "started 1000",
                                    "submitted 2000", "completed 1000"});
}

TEST_CASE("a failing job fails its batch and await_termination", "[context]") {
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(std::vector<int>{1, 2, 3}, 3));
  auto s = p.context().queue_stream(q).map([](int x) {
    if (x == 2)
      throw std::runtime_error("bad record 2");
    return x;
  });
  p.collect(s);
  p.context().start();
  p.next_batch();
  auto infos = p.infos();
  REQUIRE(infos.size() == 1);
  REQUIRE(infos[0].failure_reason);
  CHECK_THAT(*infos[0].failure_reason, Catch::Contains("bad record 2"));
  CHECK_THROWS_WITH(p.context().await_termination(),
                    Catch::Contains("bad record 2"));
  p.context().stop();
}

TEST_CASE("print writes Spark's format", "[context][output]") {
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<std::pair<std::string, int>>>();
  q->push(parallelize(std::vector<std::pair<std::string, int>>{{"a", 1}, {"b", 2}, {"c", 3}}, 2));
  q->push(parallelize(std::vector<std::pair<std::string, int>>{{"d", 4}}, 1));
  p.context().queue_stream(q).print(2);
  p.collect(p.context().queue_stream(std::make_shared<rdd_queue<int>>()));
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  p.context().start();
  p.next_batch();
  p.next_batch();
  p.context().stop();
  std::cout.rdbuf(old);
  CHECK(captured.str()
        == "-------------------------------------------\n"
           "Time: 1000 ms\n"
           "-------------------------------------------\n"
           "(a,1)\n(b,2)\n...\n\n"
           "-------------------------------------------\n"
           "Time: 2000 ms\n"
           "-------------------------------------------\n"
           "(d,4)\n\n");
}

TEST_CASE("save_as_text_files writes a directory per batch", "[context][output]") {
  testing::temporary_directory out;
  auto prefix = (std::filesystem::path{out.path()} / "counts").string();
  test::pipeline<int> p;
  auto q = std::make_shared<rdd_queue<int>>();
  q->push(parallelize(std::vector<int>{1, 2, 3}, 2));
  auto s = p.context().queue_stream(q);
  s.save_as_text_files(prefix, "txt");
  s.save_as_text_files(prefix);
  p.collect(s);
  p.context().start();
  p.next_batch();
  p.context().stop();
  auto dir = std::filesystem::path{prefix + "-1000.txt"};
  CHECK(read_file(dir / "part-00000") == std::vector<std::string>{"1"});
  CHECK(read_file(dir / "part-00001") == std::vector<std::string>{"2", "3"});
  CHECK(std::filesystem::exists(dir / "_SUCCESS"));
  CHECK(std::filesystem::exists(prefix + "-1000"));
}

TEST_CASE("save_as_object_files writes a directory per batch, which "
          "object_file reads back",
          "[context][output]") {
  using pair = std::pair<std::string, int64_t>;
  testing::temporary_directory out;
  auto prefix = (std::filesystem::path{out.path()} / "pairs").string();
  test::pipeline<pair> p;
  auto q = std::make_shared<rdd_queue<pair>>();
  q->push(parallelize(std::vector<pair>{{"a", 1}, {"b", 2}, {"c", 3}}, 2));
  auto s = p.context().queue_stream(q);
  s.save_as_object_files(prefix, "bin");
  p.collect(s);
  p.context().start();
  p.next_batch();
  p.context().stop();
  auto dir = std::filesystem::path{prefix + "-1000.bin"};
  CHECK(std::filesystem::exists(dir / "_SUCCESS"));
  auto back = p.context().object_file<pair>(dir.string());
  CHECK(back.glom().collect()
        == std::vector<std::vector<pair>>{{{"a", 1}}, {{"b", 2}, {"c", 3}}});
  std::ofstream{dir / "part-00001"} << "garbage";
  CHECK_THROWS_WITH(p.context().object_file<pair>(dir.string()),
                    Catch::Contains("part-00001' does not hold records of "
                                    "this type"));
  CHECK_THROWS_WITH(p.context().object_file<pair>(prefix + "-2000.bin"),
                    Catch::Contains("is not a directory"));
}
