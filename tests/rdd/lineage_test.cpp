#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/all.hpp"
#include "caf_stream/dstream/receiver_input.hpp"
#include "caf_stream/rdd/lineage.hpp"

#include "support/counting_runner.hpp"
#include "support/word_graph.hpp"

using namespace caf_stream;

// A worker node finds a stage by its path in a lineage that its own copy of
// the program built, runs its map tasks and sends their buckets back as
// bytes. Here both lineages live in one process, built by the same code
// from the same records, as the driver's and a node's would be.

namespace {

using counts = std::vector<std::pair<std::string, int64_t>>;

const std::vector<std::string> lines{"a b a", "c a", "b b d", "", "a"};

rdd<std::pair<std::string, int64_t>> word_counts(size_t partitions) {
  return parallelize(lines, partitions)
    .flat_map(test::word_graph::words_of)
    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
}

// Runs the result stages here and every map stage "on the node": at the
// same path in `remote`'s lineage, through bytes. With `reducers`, the
// reduce tasks of each shuffle run on those copies too, partition `i` on
// `reducers[i % n]`, from the buckets cut out of the map tasks' frames, as
// worker nodes do, and the result stages read the reduced partitions.
class node_runner final : public task_runner {
public:
  node_runner(const detail::rdd_node_base& local,
              const detail::rdd_node_base& remote,
              std::vector<const detail::rdd_node_base*> reducers = {})
    : local_(local), remote_(remote), reducers_(std::move(reducers)) {
    // nop
  }

  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    here += n;
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  void run_map_stage(const detail::rdd_node_base& shuffle, size_t n,
                     detail::function_ref<void(size_t)>) override {
    auto path = detail::path_to(local_, shuffle);
    REQUIRE(path);
    auto* there = detail::node_at(remote_, *path);
    REQUIRE(there != nullptr);
    REQUIRE(there != &shuffle);
    std::vector<uint32_t> tasks(n);
    for (uint32_t i = 0; i < n; ++i)
      tasks[i] = i;
    auto buckets = there->run_map_tasks(tasks, node_slots);
    REQUIRE(buckets.size() == n);
    on_node += n;
    if (reducers_.empty()) {
      for (size_t i = 0; i < n; ++i)
        shuffle.add_map_output(i, buckets[i]);
      return;
    }
    REQUIRE(shuffle.reduce_serializable());
    for (uint32_t r = 0; r < shuffle.num_partitions(); ++r) {
      std::vector<std::vector<std::string>> mine(1);
      for (const auto& frame : buckets) {
        auto [offset, size] = detail::bucket_spans(frame).at(r);
        mine[0].push_back(frame.substr(offset, size));
      }
      auto* reducer = detail::node_at(*reducers_[r % reducers_.size()], *path);
      auto records = reducer->run_reduce_tasks({r}, mine, node_slots);
      REQUIRE(records.size() == 1);
      shuffle.add_reduced(r, records[0]);
      ++reduced;
    }
  }

  size_t here = 0;
  size_t on_node = 0;
  size_t reduced = 0;

  // The node's task slots.
  support::counting_runner node_slots;

private:
  const detail::rdd_node_base& local_;
  const detail::rdd_node_base& remote_;
  std::vector<const detail::rdd_node_base*> reducers_;
};

// The records of `x`, sorted, with its stages run by `runner`.
template <class T>
std::vector<T> collect_sorted(const rdd<T>& x, task_runner& runner) {
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  auto result = x.with_context(context).collect();
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace

TEST_CASE("a path names a node of a lineage the same way in every copy",
          "[rdd][lineage]") {
  auto driver = word_counts(3);
  auto node = word_counts(3);
  // reduce_by_key <- map <- flat_map <- the collection.
  auto& root = *driver.node();
  auto parents = root.parents();
  REQUIRE(parents.size() == 1);
  auto* leaf = parents[0]->parents().at(0)->parents().at(0);
  CHECK(leaf->parents().empty());
  CHECK(detail::path_to(root, *leaf) == detail::lineage_path{0, 0, 0});
  CHECK(detail::path_to(root, root) == detail::lineage_path{});
  CHECK(detail::node_at(*node.node(), {0, 0, 0})->num_partitions() == 3);
  CHECK(detail::node_at(*node.node(), {0, 1}) == nullptr);
  CHECK_FALSE(detail::path_to(*node.node(), *leaf));
  CHECK(root.is_shuffle());
  CHECK(root.map_output_serializable());
  CHECK_FALSE(leaf->is_shuffle());
  CHECK_FALSE(detail::map_stage_reads_shuffle(root));
  // Map task i of a word count reads partition i of the lines alone; a
  // union's tasks read another numbering.
  CHECK(detail::map_tasks_read_own_partitions(root));
  auto both = parallelize(lines, 2)
                .union_with(parallelize(lines, 1))
                .map([](const std::string& w) { return std::pair{w, 1}; })
                .reduce_by_key([](int a, int b) { return a + b; }, 2);
  CHECK_FALSE(detail::map_tasks_read_own_partitions(*both.node()));
  // A shuffle over a shuffle needs the first one's buckets.
  auto twice = driver.map([](const auto& kv) { return kv; })
                 .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
  CHECK(detail::map_stage_reads_shuffle(*twice.node()));
}

TEST_CASE("a shuffle's map tasks run on another copy of the lineage and "
          "their buckets come back as bytes",
          "[rdd][lineage]") {
  auto driver = word_counts(3);
  auto node = word_counts(3);
  node_runner runner{*driver.node(), *node.node()};
  CHECK(collect_sorted(driver, runner)
        == counts{{"a", 4}, {"b", 3}, {"c", 1}, {"d", 1}});
  // 3 map tasks on the node, as one stage on its slots; 2 reduce tasks
  // here.
  CHECK(runner.on_node == 3);
  CHECK(runner.node_slots.stages == 1);
  CHECK(runner.node_slots.tasks == 3);
  CHECK(runner.here == 2);
}

TEST_CASE("a shuffle's reduce tasks run on other copies of the lineage from "
          "their buckets' bytes, and the driver reads their records",
          "[rdd][lineage]") {
  auto driver = word_counts(3);
  auto maps = word_counts(3);
  auto first = word_counts(3);
  auto second = word_counts(3);
  node_runner runner{*driver.node(), *maps.node(),
                     {first.node().get(), second.node().get()}};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  // The driver holds no bucket: a reduce here would fail.
  auto result = driver.with_context(context).collect();
  std::sort(result.begin(), result.end());
  CHECK(result == counts{{"a", 4}, {"b", 3}, {"c", 1}, {"d", 1}});
  CHECK(runner.reduced == 2);
  // 3 map tasks and 2 reduce tasks of 1 on the nodes' slots; the 2 result
  // tasks here.
  CHECK(runner.node_slots.tasks == 5);
  CHECK(runner.here == 2);
}

TEST_CASE("the map tasks of joins and sorts run on another copy too, and "
          "a join's reduce tasks too",
          "[rdd][lineage]") {
  auto pairs = [](size_t n) {
    return parallelize(std::vector<std::pair<int, std::string>>{
                         {3, "c"}, {1, "a"}, {2, "b"}, {1, "x"}},
                       n);
  };
  auto joined = [&] {
    return pairs(2).join(pairs(3).filter([](const auto& kv) {
      return kv.first != 2;
    }),
                         2);
  };
  using row = std::pair<int, std::pair<std::string, std::string>>;
  auto expected = std::vector<row>{{1, {"a", "a"}}, {1, {"a", "x"}},
                                   {1, {"x", "a"}}, {1, {"x", "x"}},
                                   {3, {"c", "c"}}};
  auto driver = joined();
  auto node = joined();
  node_runner runner{*driver.node(), *node.node()};
  auto context = std::make_shared<rdd_context>();
  {
    scoped_runner installed{*context, runner};
    auto result = driver.with_context(context).collect();
    std::sort(result.begin(), result.end());
    CHECK(result == expected);
    // The cogroup's 2 + 3 map tasks went to the node.
    CHECK(runner.on_node == 5);
  }
  {
    // Its 2 reduce tasks on two other copies, from the buckets' bytes.
    auto reducing_driver = joined();
    auto maps = joined();
    auto first = joined();
    auto second = joined();
    node_runner reducing{*reducing_driver.node(), *maps.node(),
                         {first.node().get(), second.node().get()}};
    scoped_runner installed{*context, reducing};
    auto result = reducing_driver.with_context(context).collect();
    std::sort(result.begin(), result.end());
    CHECK(result == expected);
    CHECK(reducing.on_node == 5);
    CHECK(reducing.reduced == 2);
  }
  auto sorted_driver = pairs(2).sort_by_key(true, 2);
  auto sorted_node = pairs(2).sort_by_key(true, 2);
  node_runner sorter{*sorted_driver.node(), *sorted_node.node()};
  scoped_runner installed{*context, sorter};
  auto keys = sorted_driver.with_context(context).keys().collect();
  CHECK(keys == std::vector<int>{1, 1, 2, 3});
  CHECK(sorter.on_node == 2);
}

TEST_CASE("records without serialization keep their map stage on the "
          "driver",
          "[rdd][lineage]") {
  struct opaque {
    int x;
  };
  auto xs = parallelize(std::vector<std::pair<int, opaque>>{{1, {2}}}, 1)
              .group_by_key(1);
  CHECK(xs.node()->is_shuffle());
  CHECK_FALSE(xs.node()->map_output_serializable());
  CHECK_THROWS_AS(
    xs.node()->run_map_tasks({0}, task_runner::inline_runner()),
    stream_error);
  CHECK_FALSE(xs.node()->reduce_serializable());
  CHECK_THROWS_AS(xs.node()->run_reduce_tasks({0}, {{}},
                                              task_runner::inline_runner()),
                  stream_error);
}

namespace {

using tallies = std::vector<std::pair<int64_t, int64_t>>;

// How many words have each count: a second shuffle, whose map tasks read
// the word counts' partitions.
rdd<std::pair<int64_t, int64_t>> count_of_counts(size_t partitions) {
  return word_counts(partitions)
    .map([](const std::pair<std::string, int64_t>& x) {
      return std::pair{x.second, int64_t{1}};
    })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
}

// Runs here every stage but the map stages that read other shuffles'
// partitions: those run "on the node", at the same path in `remote`'s
// lineage, from the partitions each task reads, computed here and given
// as bytes, as a worker node gets them (`reduced_input`).
class later_stage_runner final : public task_runner {
public:
  later_stage_runner(const detail::rdd_node_base& local,
                     const detail::rdd_node_base& remote)
    : local_(local), remote_(remote) {
    // nop
  }

  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  void run_map_stage(const detail::rdd_node_base& shuffle, size_t n,
                     detail::function_ref<void(size_t)> task) override {
    shuffle.prepare_parents(*this);
    if (!detail::map_tasks_read_reduced(shuffle)) {
      run(n, task);
      return;
    }
    auto path = detail::path_to(local_, shuffle);
    REQUIRE(path);
    auto* there = detail::node_at(remote_, *path);
    REQUIRE(there != nullptr);
    std::vector<uint32_t> tasks(n);
    for (uint32_t i = 0; i < n; ++i) {
      tasks[i] = i;
      size_t index = 0;
      auto* read = detail::map_task_reduced_input(shuffle, i, index);
      // A task that reads an input reads the node's copy of it.
      if (read == nullptr)
        continue;
      auto bytes = read->run_result_tasks({static_cast<uint32_t>(index)},
                                          task_runner::inline_runner(),
                                          result_form::records);
      auto at = detail::path_to(shuffle, *read);
      REQUIRE(at);
      detail::node_at(*there, *at)->use_reduced(index, bytes.at(0));
    }
    there->prepare_parents(node_slots);
    auto buckets = there->run_map_tasks(tasks, node_slots);
    REQUIRE(buckets.size() == n);
    for (size_t i = 0; i < n; ++i)
      shuffle.add_map_output(i, buckets[i]);
    on_node += n;
  }

  size_t on_node = 0;

  // The node's task slots.
  support::counting_runner node_slots;

private:
  const detail::rdd_node_base& local_;
  const detail::rdd_node_base& remote_;
};

} // namespace

TEST_CASE("a map task of a stage after a shuffle reads one of that "
          "shuffle's partitions, found down one-to-one nodes and unions",
          "[rdd][lineage]") {
  auto tallied = count_of_counts(3);
  auto& second = *tallied.node();
  // reduce_by_key <- map <- reduce_by_key (2 partitions).
  auto* first = second.parents().at(0)->parents().at(0);
  CHECK(detail::map_stage_reads_shuffle(second));
  CHECK(detail::map_tasks_read_reduced(second));
  size_t index = 9;
  CHECK(detail::map_task_reduced_input(second, 1, index) == first);
  CHECK(index == 1);
  CHECK(detail::map_task_reduced_input(second, 2, index) == nullptr);
  // A union of two: tasks 0 and 1 read the first one's partitions, 2 and 3
  // the second's.
  auto both = word_counts(3).union_with(word_counts(2)).reduce_by_key(
    [](int64_t a, int64_t b) { return a + b; }, 2);
  CHECK(detail::map_tasks_read_reduced(*both.node()));
  auto* right = both.node()->parents().at(0)->parents().at(1);
  CHECK(detail::map_task_reduced_input(*both.node(), 3, index) == right);
  CHECK(index == 1);
  // A shuffle that only moves records (a repartition, whose reduce runs
  // where its records are read) gives its partitions too.
  auto moved = word_counts(3).repartition(2).reduce_by_key(
    [](int64_t a, int64_t b) { return a + b; }, 2);
  CHECK(detail::map_tasks_read_reduced(*moved.node()));
  CHECK(detail::map_task_reduced_input(*moved.node(), 1, index)
        == moved.node()->parents().at(0));
  CHECK(index == 1);
  // So does one that reads a shuffle and an input at once: its tasks 0
  // and 1 read the counts' partitions, task 2 the input's partition 0.
  auto mixed = word_counts(3)
                 .union_with(parallelize(counts{{"e", 1}}, 1))
                 .reduce_by_key([](int64_t a, int64_t b) { return a + b; },
                                2);
  CHECK(detail::map_stage_reads_shuffle(*mixed.node()));
  CHECK(detail::map_tasks_read_reduced(*mixed.node()));
  CHECK(detail::map_tasks_input_partitions(*mixed.node(), {0, 1, 2})
        == std::vector<uint32_t>{0});
  CHECK(detail::map_tasks_input_partitions(*mixed.node(), {1}).empty());
  // A map stage that reads the input alone reads no partitions computed
  // elsewhere; one that reads a shuffle whose records do not serialize
  // cannot.
  CHECK_FALSE(detail::map_tasks_read_reduced(*word_counts(3).node()));
  struct opaque {
    int x;
  };
  auto hidden = parallelize(std::vector<opaque>{{1}, {2}}, 2)
                  .repartition(2)
                  .map([](const opaque& o) { return std::pair{o.x, 1}; })
                  .reduce_by_key([](int a, int b) { return a + b; }, 2);
  CHECK(detail::map_stage_reads_shuffle(*hidden.node()));
  CHECK_FALSE(detail::map_tasks_read_reduced(*hidden.node()));
}

TEST_CASE("a stage after a shuffle runs on another copy from the "
          "partitions its tasks read, whose map stage does not run there",
          "[rdd][lineage]") {
  auto driver = count_of_counts(3);
  auto node = count_of_counts(3);
  later_stage_runner runner{*driver.node(), *node.node()};
  // a 4, b 3, c 1, d 1: two words once, one three times, one four times.
  CHECK(collect_sorted(driver, runner) == tallies{{1, 2}, {3, 1}, {4, 1}});
  // The 2 map tasks of the second shuffle ran on the node, as one stage
  // on its slots: the first shuffle's map stage did not run there.
  CHECK(runner.on_node == 2);
  CHECK(runner.node_slots.stages == 1);
  CHECK(runner.node_slots.tasks == 2);
}

// How many times each word occurs, counted after a repartition of the
// words into 2 partitions.
rdd<std::pair<std::string, int64_t>> moved_counts() {
  return parallelize(lines, 3)
    .flat_map(test::word_graph::words_of)
    .repartition(2)
    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
}

TEST_CASE("a stage that reads a shuffle's partitions and an input's runs "
          "on another copy from the shuffle's partitions and its own input",
          "[rdd][lineage]") {
  auto build = [] {
    return word_counts(3)
      .union_with(parallelize(counts{{"a", 10}, {"e", 1}}, 2))
      .map([](const std::pair<std::string, int64_t>& x) {
        return std::pair{x.second, int64_t{1}};
      })
      .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
  };
  auto driver = build();
  auto node = build();
  later_stage_runner runner{*driver.node(), *node.node()};
  // Counts a 4, b 3, c 1, d 1, and the input's 10 and 1.
  CHECK(collect_sorted(driver, runner)
        == tallies{{1, 3}, {3, 1}, {4, 1}, {10, 1}});
  // Its 4 map tasks (2 read the counts, 2 the input) ran on the node.
  CHECK(runner.on_node == 4);
  CHECK(runner.node_slots.tasks == 4);
}

TEST_CASE("a stage after a repartition runs on another copy from the "
          "partitions its tasks read",
          "[rdd][lineage]") {
  auto driver = moved_counts();
  auto node = moved_counts();
  later_stage_runner runner{*driver.node(), *node.node()};
  CHECK(collect_sorted(driver, runner)
        == counts{{"a", 4}, {"b", 3}, {"c", 1}, {"d", 1}});
  // The count's 2 map tasks ran on the node, the repartition's 3 here.
  CHECK(runner.on_node == 2);
  CHECK(runner.node_slots.tasks == 2);
}

TEST_CASE("a shuffle whose partitions came computed makes up none of the "
          "others",
          "[rdd][lineage]") {
  auto driver = word_counts(3);
  auto node = word_counts(3);
  driver.node()->prepare(task_runner::inline_runner());
  auto bytes = driver.node()->run_result_tasks(
    {1}, task_runner::inline_runner(), result_form::records);
  auto& there = *node.node();
  there.use_reduced(1, bytes.at(0));
  there.prepare(task_runner::inline_runner());
  // Partition 1 is the driver's; partition 0 did not come.
  auto& typed = static_cast<const detail::rdd_node<counts::value_type>&>(there);
  auto mine = typed.materialize(1);
  CHECK(mine == static_cast<const detail::rdd_node<counts::value_type>&>(
                  *driver.node())
                  .materialize(1));
  CHECK_THROWS_AS(typed.materialize(0), stream_error);
  CHECK_THROWS_AS(typed.count_records(0), stream_error);
  // So does a repartition's. The 3 slices are {"a b a"}, {"c a", "b b d"}
  // and {"", "a"}; each goes round-robin from its own index, so partition
  // 0 gets "a b a", "b b d" and "".
  using line_node = detail::rdd_node<std::string>;
  auto spread = parallelize(lines, 3).repartition(2);
  auto spread_there = parallelize(lines, 3).repartition(2);
  spread.node()->prepare(task_runner::inline_runner());
  auto moved = spread.node()->run_result_tasks(
    {0}, task_runner::inline_runner(), result_form::records);
  spread_there.node()->use_reduced(0, moved.at(0));
  spread_there.node()->prepare(task_runner::inline_runner());
  auto& lines_there = static_cast<const line_node&>(*spread_there.node());
  CHECK(lines_there.materialize(0)
        == std::vector<std::string>{"a b a", "b b d", ""});
  CHECK_THROWS_AS(lines_there.materialize(1), stream_error);
  // A shuffle whose records do not serialize takes no partitions so.
  struct opaque {
    int x;
  };
  auto xs = parallelize(std::vector<std::pair<int, opaque>>{{1, {2}}}, 1)
              .group_by_key(1);
  CHECK_THROWS_AS(xs.node()->use_reduced(0, bytes.at(0)), stream_error);
}

namespace {

// Fetches the blocks that stay on worker nodes from a table of their lines,
// counting the fetches.
class fetching_runner final : public task_runner {
public:
  explicit fetching_runner(std::map<uint64_t, std::vector<std::string>> kept)
    : kept_(std::move(kept)) {
    // nop
  }

  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  block fetch_block(const block& b) override {
    ++fetched;
    return detail::make_block(b.stream_id, kept_.at(b.id));
  }

  size_t fetched = 0;

private:
  std::map<uint64_t, std::vector<std::string>> kept_;
};

block kept_on(const std::string& node, uint64_t id, int64_t records,
              const std::string& copy_on = {}) {
  block b;
  b.records = records;
  b.id = id;
  b.location = node;
  b.holder = std::make_shared<const block_holder>();
  if (!copy_on.empty()) {
    b.replica_location = copy_on;
    b.replica = std::make_shared<const block_holder>();
  }
  return b;
}

} // namespace

TEST_CASE("a map task's locations are the nodes that keep the block it "
          "reads, and the block is fetched before a task here reads it",
          "[rdd][lineage]") {
  // Stream 0's batch: blocks 1 and 3 stayed on node a, block 2 came with
  // its records. Stream 1's: block 4 stayed on node b, with a copy on a.
  std::vector<block> zero{kept_on("a:1", 1, 2),
                          detail::make_block(0, std::vector<std::string>{
                                                  "c a", "b b d"}),
                          kept_on("a:1", 3, 1)};
  std::vector<block> one{kept_on("b:2", 4, 1, "a:1")};
  auto received = [](const std::vector<block>& xs) {
    return rdd<std::string>{
      std::make_shared<detail::received_node<std::string>>(xs)};
  };
  auto counts_of = received(zero)
                     .union_with(received(one))
                     .flat_map(test::word_graph::words_of)
                     .map([](const std::string& w) {
                       return std::pair{w, int64_t{1}};
                     })
                     .reduce_by_key([](int64_t a, int64_t b) { return a + b; },
                                    2);
  auto& shuffle = *counts_of.node();
  std::vector<std::vector<std::string>> where;
  for (size_t i = 0; i < 4; ++i)
    where.push_back(detail::map_task_locations(shuffle, i));
  CHECK(where
        == std::vector<std::vector<std::string>>{
          {"a:1"}, {}, {"a:1"}, {"b:2", "a:1"}});
  // Task 3 reads block 0 of stream 1's batch, through the union.
  size_t index = 7;
  auto* input = detail::map_task_input(shuffle, 3, index);
  CHECK(input == detail::node_at(shuffle, {0, 0, 0, 1}));
  CHECK(index == 0);
  // A block that was not fetched cannot be read.
  auto* leaf = detail::node_at(shuffle, {0, 0, 0, 0});
  REQUIRE(leaf != nullptr);
  CHECK(leaf->locations(0) == std::vector<std::string>{"a:1"});
  CHECK_THROWS_AS(
    static_cast<const detail::rdd_node<std::string>*>(leaf)->compute(
      0, [](const std::string&) {}),
    stream_error);
  fetching_runner runner{{{1, {"a b a", ""}}, {3, {"a"}}, {4, {"b"}}}};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  auto result = counts_of.with_context(context).collect();
  std::sort(result.begin(), result.end());
  CHECK(result == counts{{"a", 4}, {"b", 4}, {"c", 1}, {"d", 1}});
  CHECK(runner.fetched == 3);
  // Fetched once: a second job reads what is here.
  auto again = counts_of.with_context(context).count();
  CHECK(again == 4);
  CHECK(runner.fetched == 3);
}

namespace {

// Computes a result stage's partitions "on the node": at the same path in
// `remote`'s lineage, whose blocks came with their records, through bytes.
class result_runner final : public task_runner {
public:
  result_runner(const detail::rdd_node_base& local,
                const detail::rdd_node_base& remote)
    : local_(local), remote_(remote) {
    // nop
  }

  void run_tasks(size_t n, detail::function_ref<void(size_t)> task) override {
    for (size_t i = 0; i < n; ++i)
      task(i);
  }

  std::optional<std::vector<std::string>>
  run_result_stage(const detail::rdd_node_base& node,
                   const std::vector<uint32_t>& partitions,
                   result_form form) override {
    if (!detail::result_tasks_run_where_kept(node, partitions, form))
      return std::nullopt;
    auto path = detail::path_to(local_, node);
    REQUIRE(path);
    auto* there = detail::node_at(remote_, *path);
    REQUIRE(there != nullptr);
    there->prepare(*this);
    forms.push_back(form);
    auto result = there->run_result_tasks(partitions, *this, form);
    if (corrupt)
      for (auto& x : result)
        x.assign(x.size(), '\xff');
    return result;
  }

  block fetch_block(const block&) override {
    FAIL("a block kept on a node was fetched");
    return {};
  }

  // What each result stage computed there.
  std::vector<result_form> forms;

  // Whether the records come back as bytes that do not decode.
  bool corrupt = false;

private:
  const detail::rdd_node_base& local_;
  const detail::rdd_node_base& remote_;
};

// The lines of a batch's three blocks, which node a keeps.
const std::vector<std::vector<std::string>> kept_lines{
  {"a b a", ""}, {"c a", "b b d"}, {"a"}};

// The blocks of `kept_lines`, which node "a:1" keeps: as the driver has
// them (without their records) and as that node has them.
struct kept_blocks {
  kept_blocks() {
    for (uint64_t i = 0; i < kept_lines.size(); ++i) {
      here.push_back(kept_on("a:1", i + 1,
                             static_cast<int64_t>(kept_lines[i].size())));
      there.push_back(detail::make_block(0, kept_lines[i]));
    }
  }

  std::vector<block> here;
  std::vector<block> there;
};

// The words of `blocks`' lines that are not "b", in upper case.
rdd<std::string> shouted(const std::vector<block>& blocks) {
  return rdd<std::string>{std::make_shared<detail::received_node<std::string>>(
                            blocks)}
    .flat_map(test::word_graph::words_of)
    .filter([](const std::string& w) { return w != "b"; })
    .map([](std::string w) {
      for (auto& c : w)
        c = static_cast<char>(c - 'a' + 'A');
      return w;
    });
}

} // namespace

TEST_CASE("an action on an RDD computed from kept blocks reads the records "
          "another copy of the lineage computed where the blocks are",
          "[rdd][lineage]") {
  kept_blocks blocks;
  auto here = shouted(blocks.here);
  auto there = shouted(blocks.there);
  CHECK(detail::result_tasks_run_where_kept(*here.node(), {0, 1, 2},
                                            result_form::records));
  result_runner runner{*here.node(), *there.node()};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  auto words = here.with_context(context).collect();
  CHECK(words == std::vector<std::string>{"A", "A", "C", "A", "D", "A"});
  // `count` gets each partition's number of records, not the records.
  CHECK(here.with_context(context).count() == 6);
  CHECK(runner.forms
        == std::vector<result_form>{result_form::records, result_form::count});
  // `take` computes the partitions it scans only: the first, then the
  // other two.
  CHECK(here.with_context(context).take(3)
        == std::vector<std::string>{"A", "A", "C"});
  CHECK(runner.forms.size() == 4);
  // Records, or numbers of records, that do not decode fail the action.
  runner.corrupt = true;
  CHECK_THROWS_WITH(here.with_context(context).collect(),
                    Catch::StartsWith("partition 0, which a worker node "
                                      "computed, is malformed"));
  CHECK_THROWS_WITH(here.with_context(context).count(),
                    Catch::StartsWith("partition 0, which a worker node "
                                      "computed, is malformed"));
}

TEST_CASE("count asks the worker nodes that keep the blocks for each "
          "partition's number of records, of records that do not serialize "
          "too",
          "[rdd][lineage]") {
  kept_blocks blocks;
  struct opaque {
    std::string word;
  };
  auto opaques = [](const rdd<std::string>& words) {
    return words.map([](const std::string& w) { return opaque{w}; });
  };
  auto here = opaques(shouted(blocks.here));
  auto there = opaques(shouted(blocks.there));
  result_runner runner{*here.node(), *there.node()};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  // Block 1's lines hold "A" twice, block 2's "C", "A" and "D", block 3's
  // "A".
  CHECK(here.with_context(context).count() == 6);
  CHECK(runner.forms == std::vector<result_form>{result_form::count});
}

TEST_CASE("a cached RDD keeps the partitions worker nodes computed for an "
          "action: the next actions read them here",
          "[rdd][lineage]") {
  kept_blocks blocks;
  auto here = shouted(blocks.here).cache();
  auto there = shouted(blocks.there).cache();
  result_runner runner{*here.node(), *there.node()};
  auto context = std::make_shared<rdd_context>();
  scoped_runner installed{*context, runner};
  const std::vector<std::string> words{"A", "A", "C", "A", "D", "A"};
  // `take(1)` computes the first partition there and keeps it; `collect`
  // then asks for all three, and keeps the other two.
  CHECK(here.with_context(context).take(1) == std::vector<std::string>{"A"});
  CHECK(here.with_context(context).collect() == words);
  CHECK(runner.forms.size() == 2);
  CHECK_FALSE(detail::result_tasks_run_where_kept(*here.node(), {0, 1, 2},
                                                  result_form::count));
  // The next actions ask no node.
  CHECK(here.with_context(context).collect() == words);
  CHECK(here.with_context(context).count() == 6);
  CHECK(runner.forms.size() == 2);
}

TEST_CASE("a partition's number of records travels as its digits, and "
          "anything else is refused",
          "[rdd][lineage]") {
  CHECK(detail::count_bytes(0) == "0");
  CHECK(detail::count_bytes(1234567890123) == "1234567890123");
  CHECK(detail::count_of_bytes("42") == 42);
  for (std::string bad : {"", "4x", "-1", " 4", "\xff\xff"})
    CHECK_THROWS_AS(detail::count_of_bytes(bad), std::invalid_argument);
}

TEST_CASE("a result stage stays where its action runs unless every "
          "partition's input is kept on a worker node and computed there",
          "[rdd][lineage]") {
  std::vector<block> kept{kept_on("a:1", 1, 2), kept_on("a:1", 2, 1)};
  auto received = rdd<std::string>{
    std::make_shared<detail::received_node<std::string>>(kept)};
  // An input's blocks, all of them, are fetched as they are; some of them
  // (`take`) are read there.
  constexpr auto records = result_form::records;
  constexpr auto count = result_form::count;
  CHECK_FALSE(
    detail::result_tasks_run_where_kept(*received.node(), {0, 1}, records));
  CHECK(detail::result_tasks_run_where_kept(*received.node(), {1}, records));
  // Their numbers of records are counted there.
  CHECK(detail::result_tasks_run_where_kept(*received.node(), {0, 1}, count));
  auto lengths = received.map([](const std::string& x) { return x.size(); });
  CHECK(detail::result_tasks_run_where_kept(*lengths.node(), {0, 1}, records));
  CHECK_FALSE(detail::result_tasks_run_where_kept(*lengths.node(), {2},
                                                  records));
  // A block that came with its records is here already.
  std::vector<block> mixed{kept_on("a:1", 1, 2),
                           detail::make_block(0, std::vector<std::string>{
                                                   "c"})};
  auto partly = rdd<std::string>{
    std::make_shared<detail::received_node<std::string>>(mixed)}.map(
    [](const std::string& x) { return x.size(); });
  CHECK(detail::result_tasks_portable(*partly.node(), records));
  CHECK_FALSE(detail::result_tasks_run_where_kept(*partly.node(), {0, 1},
                                                  count));
  CHECK(detail::result_tasks_run_where_kept(*partly.node(), {0}, records));
  // A shuffle, what reads one, and records without serialization do not
  // go.
  auto pairs = received.map([](const std::string& x) {
    return std::pair{x, int64_t{1}};
  });
  auto reduced = pairs.reduce_by_key([](int64_t a, int64_t b) { return a + b; },
                                     2);
  CHECK_FALSE(detail::result_tasks_portable(*reduced.node(), count));
  CHECK_FALSE(detail::result_tasks_portable(
    *reduced.map([](const auto& kv) { return kv.second; }).node(), count));
  struct opaque {
    int x;
  };
  auto opaques = received.map([](const std::string&) { return opaque{1}; });
  CHECK_FALSE(opaques.node()->records_serializable());
  CHECK_FALSE(
    detail::result_tasks_run_where_kept(*opaques.node(), {0}, records));
  CHECK(detail::result_tasks_run_where_kept(*opaques.node(), {0}, count));
  CHECK_THROWS_AS(opaques.node()->run_result_tasks(
                    {0}, task_runner::inline_runner(), records),
                  stream_error);
}

TEST_CASE("a cartesian's partitions are no union's, although 2 x 2 "
          "partitions add up as 2 + 2", "[rdd][lineage]") {
  std::vector<block> kept{kept_on("a:1", 1, 2), kept_on("b:2", 2, 1)};
  auto received = rdd<std::string>{
    std::make_shared<detail::received_node<std::string>>(kept)};
  auto pairs = received.cartesian(received);
  REQUIRE(pairs.partitions() == 4);
  CHECK_FALSE(
    detail::result_tasks_portable(*pairs.node(), result_form::count));
  CHECK_FALSE(detail::result_tasks_run_where_kept(*pairs.node(), {0},
                                                  result_form::count));
  auto counted = pairs.map([](const auto& xy) {
                        return std::pair{xy.first, int64_t{1}};
                      })
                   .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
  size_t index = 0;
  CHECK(detail::map_task_input(*counted.node(), 0, index) == nullptr);
  CHECK(detail::map_task_locations(*counted.node(), 0).empty());
  CHECK_FALSE(detail::map_tasks_read_own_partitions(*counted.node()));
}
