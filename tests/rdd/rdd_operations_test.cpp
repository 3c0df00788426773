// Spark's RDD operations beyond the core ones: actions on elements, pairs
// and numbers, pair and set transformations, partitions and sampling, and
// the files an RDD saves.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/dstream/output.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/testing/fixtures.hpp"

using namespace caf_stream;

namespace {

using pairs = std::vector<std::pair<std::string, int>>;

std::vector<int> one_to(int n) {
  std::vector<int> result;
  for (int i = 1; i <= n; ++i)
    result.push_back(i);
  return result;
}

template <class T>
std::vector<T> sorted(std::vector<T> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

TEST_CASE("rdd foreach max min and the tree actions", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 4, 7));
  auto x = parallelize(std::vector<int>{5, 3, 9, 1, 7, 2}, n);
  std::atomic<int> total{0};
  x.foreach([&](int v) { total += v; });
  CHECK(total == 27);
  CHECK(x.max() == 9);
  CHECK(x.min() == 1);
  CHECK(x.max(std::greater<>{}) == 1);
  CHECK(x.tree_reduce([](int a, int b) { return a + b; }) == 27);
  CHECK(x.tree_aggregate(
          0, [](int acc, int v) { return acc + v * v; },
          [](int a, int b) { return a + b; }, 3)
        == 169);
  CHECK_THROWS_WITH(rdd<int>{}.max(), "max: empty collection");
  CHECK_THROWS_WITH(parallelize(std::vector<int>{}, n).min(),
                    "min: empty collection");
  CHECK_THROWS_WITH(x.tree_reduce([](int a, int b) { return a + b; }, 0),
                    "tree_reduce: the depth must be at least 1, not 0");
  CHECK_THROWS_AS(x.tree_aggregate(
                    0, [](int a, int) { return a; },
                    [](int a, int) { return a; }, -1),
                  std::invalid_argument);
}

TEST_CASE("rdd numeric actions", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 3, 8));
  CHECK(parallelize(one_to(10), n).sum() == 55);
  CHECK(parallelize(std::vector<double>{0.5, 1.25, 2.0}, n).sum() == 3.75);
  // Deviations from the mean 5: -3 -1 -1 -1 0 0 2 4, squares add up to 32.
  auto x = parallelize(std::vector<int64_t>{2, 4, 4, 4, 5, 5, 7, 9}, n);
  auto s = x.stats();
  CHECK(s.count() == 8);
  CHECK(s.mean() == Approx(5.0));
  CHECK(s.sum() == Approx(40.0));
  CHECK(s.max() == 9.0);
  CHECK(s.min() == 2.0);
  CHECK(x.variance() == Approx(4.0));
  CHECK(x.stdev() == Approx(2.0));
  CHECK(x.sample_variance() == Approx(32.0 / 7));
  CHECK(x.sample_stdev() == Approx(std::sqrt(32.0 / 7)));
  CHECK(x.mean() == Approx(5.0));
  // As Spark's StatCounter: no number has mean 0 and NaN variances.
  auto none = parallelize(std::vector<double>{}, n);
  CHECK(none.sum() == 0.0);
  CHECK(none.mean() == 0.0);
  CHECK(std::isnan(none.variance()));
  CHECK(none.stats().max() == -INFINITY);
  CHECK(none.stats().min() == INFINITY);
  auto one = parallelize(std::vector<int>{3}, n);
  CHECK(one.variance() == 0.0);
  CHECK(std::isnan(one.sample_variance()));
}

TEST_CASE("rdd aggregate_by_key and fold_by_key", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 3, 6));
  auto x = parallelize(pairs{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4},
                             {"b", 5}, {"a", 6}},
                       n);
  using sum_count = std::pair<int, int>;
  auto averages = x.aggregate_by_key(
    sum_count{0, 0},
    [](sum_count acc, int v) {
      return sum_count{acc.first + v, acc.second + 1};
    },
    [](sum_count a, sum_count b) {
      return sum_count{a.first + b.first, a.second + b.second};
    });
  CHECK(sorted(averages.collect())
        == std::vector<std::pair<std::string, sum_count>>{
          {"a", {10, 3}}, {"b", {7, 2}}, {"c", {4, 1}}});
  auto sums = x.fold_by_key(0, [](int a, int b) { return a + b; }, 2);
  CHECK(sums.partitions() == 2);
  CHECK(sorted(sums.collect()) == pairs{{"a", 10}, {"b", 7}, {"c", 4}});
}

TEST_CASE("rdd subtract_by_key collect_as_map and lookup",
          "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 3, 5));
  auto x = parallelize(pairs{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 6}},
                       n);
  auto y = parallelize(
    std::vector<std::pair<std::string, std::string>>{{"a", "x"}, {"d", "y"}},
    1);
  auto rest = x.subtract_by_key(y);
  CHECK(rest.partitions() == n);
  CHECK(sorted(rest.collect()) == pairs{{"b", 2}, {"b", 6}, {"c", 4}});
  CHECK(x.subtract_by_key(y, 4).partitions() == 4);
  auto m = x.collect_as_map();
  CHECK(m.size() == 3);
  CHECK(m.at("a") == 3);
  CHECK(m.at("b") == 6);
  CHECK(m.at("c") == 4);
  CHECK(x.lookup("b") == std::vector<int>{2, 6});
  CHECK(x.lookup("z").empty());
}

TEST_CASE("rdd repartition_and_sort_within_partitions", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 3));
  auto x = parallelize(pairs{{"d", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5},
                             {"e", 6}, {"a", 7}},
                       3);
  auto parts = x.repartition_and_sort_within_partitions(n).glom().collect();
  REQUIRE(parts.size() == n);
  std::map<std::string, size_t> where;
  pairs all;
  for (size_t i = 0; i < parts.size(); ++i) {
    for (size_t k = 1; k < parts[i].size(); ++k)
      CHECK(parts[i][k - 1].first <= parts[i][k].first);
    for (const auto& kv : parts[i]) {
      // Each key in one partition only.
      CHECK(where.emplace(kv.first, i).first->second == i);
      all.push_back(kv);
    }
  }
  CHECK(sorted(all) == pairs{{"a", 3}, {"a", 7}, {"b", 2}, {"b", 5},
                             {"c", 4}, {"d", 1}, {"e", 6}});
  // Equal keys keep their order; descending puts "e" first.
  auto one = x.repartition_and_sort_within_partitions(1, false).collect();
  CHECK(one == pairs{{"e", 6}, {"d", 1}, {"c", 4}, {"b", 2}, {"b", 5},
                     {"a", 3}, {"a", 7}});
}

TEST_CASE("rdd intersection subtract key_by and group_by",
          "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 3, 4));
  auto x = parallelize(std::vector<int>{1, 2, 2, 3, 4, 5, 1}, n);
  auto y = parallelize(std::vector<int>{2, 4, 4, 6}, 2);
  CHECK(sorted(x.intersection(y).collect()) == std::vector<int>{2, 4});
  CHECK(sorted(x.subtract(y).collect()) == std::vector<int>{1, 1, 3, 5});
  CHECK(x.subtract(y).partitions() == n);
  CHECK(x.intersection(y, 5).partitions() == 5);
  auto words = parallelize(std::vector<std::string>{"aa", "b", "cc", "ddd"},
                           n);
  auto keyed = words.key_by([](const std::string& w) { return w.size(); });
  CHECK(keyed.collect()
        == std::vector<std::pair<size_t, std::string>>{
          {2, "aa"}, {1, "b"}, {2, "cc"}, {3, "ddd"}});
  auto groups = parallelize(one_to(9), n)
                  .group_by([](int v) { return v % 3; })
                  .collect();
  std::map<int, std::vector<int>> by_rest;
  for (auto& [k, vs] : groups)
    by_rest[k] = sorted(vs);
  CHECK(by_rest
        == std::map<int, std::vector<int>>{
          {0, {3, 6, 9}}, {1, {1, 4, 7}}, {2, {2, 5, 8}}});
}

TEST_CASE("rdd map_partitions_with_index coalesce and the zips",
          "[rdd][operations]") {
  auto tagged = parallelize(one_to(6), 3).map_partitions_with_index(
    [](size_t i, const std::vector<int>& xs) {
      std::vector<std::pair<size_t, int>> result;
      for (auto v : xs)
        result.emplace_back(i, v);
      return result;
    });
  CHECK(tagged.collect()
        == std::vector<std::pair<size_t, int>>{
          {0, 1}, {0, 2}, {1, 3}, {1, 4}, {2, 5}, {2, 6}});
  // 7 partitions of 2: partition i of 3 reads [i * 7 / 3, (i + 1) * 7 / 3).
  auto x = parallelize(one_to(14), 7);
  auto c = x.coalesce(3);
  CHECK(c.glom().collect()
        == std::vector<std::vector<int>>{{1, 2, 3, 4},
                                         {5, 6, 7, 8},
                                         {9, 10, 11, 12, 13, 14}});
  CHECK(c.count() == 14);
  CHECK(x.coalesce(10).partitions() == 7);
  auto shuffled = x.coalesce(10, true);
  CHECK(shuffled.partitions() == 10);
  CHECK(sorted(shuffled.collect()) == one_to(14));
  CHECK_THROWS_AS(x.coalesce(0), std::invalid_argument);
  using indexed = std::vector<std::pair<std::string, int64_t>>;
  auto letters = std::vector<std::string>{"a", "b", "c", "d", "e"};
  auto n = static_cast<size_t>(GENERATE(1, 2, 3, 6));
  CHECK(parallelize(letters, n).zip_with_index().collect()
        == indexed{{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}, {"e", 4}});
  // Partitions {a, b} and {c, d, e}: the kth of partition i gets 2k + i.
  CHECK(parallelize(letters, 2).zip_with_unique_id().collect()
        == indexed{{"a", 0}, {"b", 2}, {"c", 1}, {"d", 3}, {"e", 5}});
}

TEST_CASE("rdd sample and random_split", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 3, 8));
  auto x = parallelize(one_to(10000), n);
  auto half = x.sample(false, 0.3, 42).collect();
  // The same seed picks the same elements again; they keep their order.
  CHECK(x.sample(false, 0.3, 42).collect() == half);
  CHECK(std::is_sorted(half.begin(), half.end()));
  CHECK(std::adjacent_find(half.begin(), half.end()) == half.end());
  CHECK(half.size() > 2700);
  CHECK(half.size() < 3300);
  CHECK(x.sample(false, 0.3, 43).collect() != half);
  CHECK(x.sample(false, 0.0, 1).count() == 0);
  CHECK(x.sample(false, 1.0, 1).count() == 10000);
  auto twice = x.sample(true, 2.0, 7).collect();
  CHECK(twice.size() > 19000);
  CHECK(twice.size() < 21000);
  CHECK(x.sample(true, 2.0, 7).collect() == twice);
  CHECK_THROWS_WITH(x.sample(false, -0.1, 1),
                    "sample: the fraction must be a nonnegative number, not "
                    "-0.1");
  CHECK_THROWS_WITH(x.sample(false, 1.5, 1),
                    "sample: without replacement the fraction is a "
                    "probability, at most 1, not 1.5");
  CHECK_NOTHROW(x.sample(true, 1.5, 1));
  auto splits = x.random_split({1, 2, 1}, 5);
  REQUIRE(splits.size() == 3);
  std::vector<int> all;
  std::vector<size_t> sizes;
  for (auto& s : splits) {
    auto xs = s.collect();
    sizes.push_back(xs.size());
    all.insert(all.end(), xs.begin(), xs.end());
  }
  // Each element in exactly one split, the splits about 1:2:1.
  CHECK(sorted(all) == one_to(10000));
  CHECK(sizes[0] > 2300);
  CHECK(sizes[0] < 2700);
  CHECK(sizes[1] > 4700);
  CHECK(sizes[1] < 5300);
  CHECK_THROWS_WITH(x.random_split({-1, 2}),
                    "random_split: the weights must be nonnegative numbers, "
                    "not -1");
  CHECK_THROWS_WITH(x.random_split({0, 0}),
                    "random_split: the weights must add up to more than 0");
}

TEST_CASE("rdd take_sample", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 4));
  auto x = parallelize(one_to(100), n);
  auto ten = x.take_sample(false, 10, 3);
  CHECK(ten.size() == 10);
  CHECK(std::set<int>(ten.begin(), ten.end()).size() == 10);
  for (auto v : ten)
    CHECK((v >= 1 && v <= 100));
  CHECK(x.take_sample(false, 10, 3) == ten);
  // Asked for more than there are: all of them, in some order.
  CHECK(sorted(x.take_sample(false, 200, 3)) == one_to(100));
  auto many = parallelize(std::vector<int>{1, 2, 3}, n).take_sample(true, 50);
  CHECK(many.size() == 50);
  for (auto v : many)
    CHECK((v >= 1 && v <= 3));
  CHECK(x.take_sample(false, 0).empty());
  CHECK(parallelize(std::vector<int>{}, n).take_sample(true, 5).empty());
}

TEST_CASE("rdd zip zip_partitions and cartesian", "[rdd][operations]") {
  auto numbers = parallelize(std::vector<int>{1, 2, 3, 4}, 2);
  auto letters = parallelize(std::vector<std::string>{"a", "b", "c", "d"}, 2);
  CHECK(numbers.zip(letters).collect()
        == std::vector<std::pair<int, std::string>>{
          {1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}});
  auto sizes = numbers.zip_partitions(
    letters,
    [](const std::vector<int>& xs, const std::vector<std::string>& ys) {
      return std::vector<size_t>{xs.size() + ys.size()};
    });
  CHECK(sizes.collect() == std::vector<size_t>{4, 4});
  CHECK_THROWS_WITH(numbers.zip(parallelize(one_to(4), 3)),
                    "zip: the RDDs must have as many partitions, but have 2 "
                    "and 3");
  CHECK_THROWS_AS(numbers.zip_partitions(rdd<int>{},
                                         [](const std::vector<int>& xs,
                                            const std::vector<int>&) {
                                           return xs;
                                         }),
                  std::invalid_argument);
  // {1} and {2, 3} against {a, b} and {c, d}: the action fails.
  auto uneven = parallelize(one_to(3), 2).zip(letters);
  CHECK_THROWS_WITH(uneven.collect(),
                    "zip: partitions with the same index must have as many "
                    "elements, but one has 1 and the other 2");
  // {1, 2} x {x}, {y, z}.
  auto xyz = parallelize(std::vector<std::string>{"x", "y", "z"}, 2);
  auto pairs = parallelize(std::vector<int>{1, 2}, 2).cartesian(xyz);
  CHECK(pairs.partitions() == 4);
  using pair = std::pair<int, std::string>;
  CHECK(pairs.glom().collect()
        == std::vector<std::vector<pair>>{{{1, "x"}},
                                          {{1, "y"}, {1, "z"}},
                                          {{2, "x"}},
                                          {{2, "y"}, {2, "z"}}});
  CHECK(pairs.count() == 6);
  CHECK(parallelize(one_to(3), 3).cartesian(rdd<int>{}).count() == 0);
}

TEST_CASE("rdd histogram", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 4));
  auto x = parallelize(std::vector<double>{1, 2, 3, 4, 5, 5.5, 10, 11, NAN},
                       n);
  // [1, 5): 1 2 3 4; [5, 10]: 5 5.5 10; 11 and NaN nowhere.
  CHECK(x.histogram(std::vector<double>{1, 5, 10})
        == std::vector<int64_t>{4, 3});
  CHECK(x.histogram(std::vector<double>{0, 100}) == std::vector<int64_t>{8});
  CHECK_THROWS_WITH(x.histogram(std::vector<double>{1}),
                    "histogram: the buckets need at least two bounds, not 1");
  CHECK_THROWS_WITH(x.histogram(std::vector<double>{1, 3, 3}),
                    "histogram: the bucket bounds must increase, but bound 2 "
                    "is 3");
  // From 1 to 10 in 3: [1, 4), [4, 7), [7, 10].
  auto [bounds, counts] = parallelize(one_to(10), n).histogram(3);
  CHECK(bounds == std::vector<double>{1, 4, 7, 10});
  CHECK(counts == std::vector<int64_t>{3, 3, 4});
  auto same = parallelize(std::vector<int>{5, 5, 5}, n).histogram(4);
  CHECK(same.first == std::vector<double>{5, 5});
  CHECK(same.second == std::vector<int64_t>{3});
  CHECK_THROWS_AS(parallelize(one_to(3), n).histogram(0),
                  std::invalid_argument);
  CHECK_THROWS_WITH(parallelize(std::vector<int>{}, n).histogram(2),
                    "histogram: an empty RDD, or one that holds an infinity "
                    "or NaN, has no range to divide into buckets");
  CHECK_THROWS_AS(x.histogram(2), stream_error);
  CHECK_THROWS_AS(parallelize(std::vector<double>{1, INFINITY}, n).histogram(2),
                  stream_error);
}

TEST_CASE("rdd pipe runs a program per partition", "[rdd][operations][pipe]") {
  auto letters = std::vector<std::string>{"b", "a", "c"};
  // {b} and {a, c}: each partition sorted on its own.
  CHECK(parallelize(letters, 2).pipe("sort -r").collect()
        == std::vector<std::string>{"b", "c", "a"});
  CHECK(parallelize(letters, 1).pipe("sort").collect()
        == std::vector<std::string>{"a", "b", "c"});
  // Elements go in print's text form.
  CHECK(parallelize(pairs{{"x", 1}, {"y", 2}}, 1).pipe("cat").collect()
        == std::vector<std::string>{"(x,1)", "(y,2)"});
  // The variables join the environment; the words are arguments, with no
  // shell in between.
  auto greeted = parallelize(std::vector<int>{7}, 1)
                   .pipe({"sh", "-c", "echo \"$GREETING\"; cat"},
                         {{"GREETING", "hello there"}})
                   .collect();
  CHECK(greeted == std::vector<std::string>{"hello there", "7"});
  CHECK(parallelize(letters, 1).pipe("echo $HOME").collect()
        == std::vector<std::string>{"$HOME"});
  // Many lines both ways; a program that reads none of them.
  auto many = parallelize(one_to(200000), 3);
  auto echoed = many.pipe("cat").collect();
  REQUIRE(echoed.size() == 200000);
  CHECK(echoed.front() == "1");
  CHECK(echoed.back() == "200000");
  CHECK(many.pipe("true").count() == 0);
  CHECK_THROWS_WITH(parallelize(letters, 2).pipe("false").collect(),
                    "pipe: the command 'false' exited with status 1");
  CHECK_THROWS_WITH(parallelize(letters, 1).pipe("no-such-program -x").count(),
                    "pipe: cannot run 'no-such-program -x': No such file or "
                    "directory");
  CHECK_THROWS_WITH(parallelize(letters, 1).pipe("  "),
                    "pipe: the command is empty");
}

TEST_CASE("rdd to_local_iterator", "[rdd][operations]") {
  // More partitions than elements: some are empty.
  auto n = static_cast<size_t>(GENERATE(1, 3, 15));
  std::vector<int> seen;
  for (const auto& x : parallelize(one_to(10), n).to_local_iterator())
    seen.push_back(x);
  CHECK(seen == one_to(10));
  auto words = parallelize(std::vector<std::string>{"a", "bb"}, n)
                 .map([](const std::string& w) { return w + "!"; })
                 .to_local_iterator();
  auto i = words.begin();
  REQUIRE(i != words.end());
  CHECK(i->size() == 2);
  CHECK(*i++ == "a!");
  CHECK(*i == "bb!");
  CHECK(++i == words.end());
  auto none = parallelize(std::vector<int>{}, n).to_local_iterator();
  CHECK(none.begin() == none.end());
}

TEST_CASE("rdd count_approx_distinct", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 4));
  // 20,000 distinct numbers, each three times.
  std::vector<int64_t> xs;
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < 20000; ++i)
      xs.push_back(i * 7919);
  auto x = parallelize(xs, n);
  // Within three of its standard deviations.
  auto rough = x.count_approx_distinct();
  CHECK(rough > 20000 * 0.85);
  CHECK(rough < 20000 * 1.15);
  auto fine = x.count_approx_distinct(0.01);
  CHECK(fine > 20000 * 0.97);
  CHECK(fine < 20000 * 1.03);
  // Finer than 2^20 registers give: counted exactly.
  CHECK(x.count_approx_distinct(0.0001) == 20000);
  // Few values are counted (nearly) exactly by the empty registers.
  auto words = parallelize(std::vector<std::string>{"a", "b", "a", "c"}, n);
  CHECK(words.count_approx_distinct() == 3);
  CHECK(parallelize(std::vector<int>{}, n).count_approx_distinct() == 0);
  CHECK_THROWS_WITH(x.count_approx_distinct(0.00001),
                    "count_approx_distinct: relative_sd must be greater than "
                    "0.000017, not 0.000010");
  CHECK_THROWS_AS(x.count_approx_distinct(0), std::invalid_argument);
}

TEST_CASE("rdd count_by_value", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 2, 4));
  auto x = parallelize(std::vector<std::string>{"a", "b", "a", "c", "a", "b"},
                       n);
  auto counts = x.count_by_value();
  CHECK(std::map<std::string, int64_t>(counts.begin(), counts.end())
        == std::map<std::string, int64_t>{{"a", 3}, {"b", 2}, {"c", 1}});
  CHECK(parallelize(std::vector<int>{}, n).count_by_value().empty());
}

TEST_CASE("rdd save_as_text_file and save_as_object_file write a directory "
          "once",
          "[rdd][operations][output]") {
  namespace fs = std::filesystem;
  testing::temporary_directory out;
  auto lines_of = [](const fs::path& file) {
    std::ifstream in{file};
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  };
  SECTION("text: an element per line, a file per partition") {
    auto dir = fs::path{out.path()} / "counts";
    parallelize(pairs{{"a", 1}, {"b", 2}, {"c", 3}}, 2)
      .save_as_text_file(dir.string());
    CHECK(lines_of(dir / "part-00000") == std::vector<std::string>{"(a,1)"});
    CHECK(lines_of(dir / "part-00001")
          == std::vector<std::string>{"(b,2)", "(c,3)"});
    CHECK(fs::exists(dir / "_SUCCESS"));
    // Spark overwrites no output directory: the second call changes
    // nothing.
    CHECK_THROWS_WITH(parallelize(one_to(3), 1).save_as_text_file(
                        dir.string()),
                      "save_as_text_file: the output directory '"
                        + dir.string() + "' already exists");
    CHECK(lines_of(dir / "part-00000") == std::vector<std::string>{"(a,1)"});
    CHECK_FALSE(fs::exists(dir / "part-00002"));
  }
  SECTION("objects: read back partition by partition") {
    auto dir = fs::path{out.path()} / "pairs";
    parallelize(pairs{{"a", 1}, {"b", 2}, {"c", 3}}, 2)
      .save_as_object_file(dir.string());
    CHECK(fs::exists(dir / "_SUCCESS"));
    auto back = detail::read_object_file<std::pair<std::string, int>>(
      dir.string());
    CHECK(back.glom().collect()
          == std::vector<pairs>{{{"a", 1}}, {{"b", 2}, {"c", 3}}});
    CHECK_THROWS_WITH(parallelize(one_to(3), 1).save_as_object_file(
                        dir.string()),
                      Catch::Contains("save_as_object_file: the output "
                                      "directory"));
  }
  SECTION("a task that fails leaves no directory") {
    auto dir = fs::path{out.path()} / "failed";
    auto x = parallelize(one_to(4), 2).map([](int i) {
      if (i == 4)
        throw std::runtime_error("no 4");
      return i;
    });
    CHECK_THROWS_WITH(x.save_as_text_file(dir.string()), "no 4");
    CHECK_FALSE(fs::exists(dir));
    CHECK(fs::is_empty(out.path()));
  }
}

TEST_CASE("rdd get_num_partitions group_with filter_by_range and "
          "reduce_by_key_locally",
          "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 3));
  auto x = parallelize(pairs{{"d", 4}, {"a", 1}, {"c", 3}, {"b", 2},
                             {"e", 5}, {"c", 30}},
                       n);
  CHECK(x.get_num_partitions() == n);
  auto y = parallelize(pairs{{"c", 7}, {"z", 9}}, 2);
  CHECK(sorted(x.group_with(y).collect()) == sorted(x.cogroup(y).collect()));
  // Keys from b to d, both included, in the records' order.
  CHECK(x.filter_by_range("b", "d").collect()
        == pairs{{"d", 4}, {"c", 3}, {"b", 2}, {"c", 30}});
  CHECK(x.filter_by_range("f", "z").collect().empty());
  auto sums = x.reduce_by_key_locally([](int a, int b) { return a + b; });
  CHECK(std::map<std::string, int>(sums.begin(), sums.end())
        == std::map<std::string, int>{
          {"a", 1}, {"b", 2}, {"c", 33}, {"d", 4}, {"e", 5}});
}

TEST_CASE("rdd sample_by_key", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 4));
  pairs xs;
  for (int i = 0; i < 3000; ++i)
    xs.emplace_back(i % 3 == 0 ? "none" : i % 3 == 1 ? "all" : "half", i);
  auto x = parallelize(xs, n);
  std::map<std::string, double> fractions{
    {"none", 0.0}, {"all", 1.0}, {"half", 0.5}};
  auto count_of = [](const pairs& ys, const std::string& key) {
    return std::count_if(ys.begin(), ys.end(),
                         [&](const auto& kv) { return kv.first == key; });
  };
  auto picked = x.sample_by_key(false, fractions, 7).collect();
  CHECK(count_of(picked, "none") == 0);
  CHECK(count_of(picked, "all") == 1000);
  // Binomial(1000, 0.5): within five standard deviations (about 16).
  CHECK(count_of(picked, "half") > 420);
  CHECK(count_of(picked, "half") < 580);
  // The same seed picks the same records, in their order.
  CHECK(x.sample_by_key(false, fractions, 7).collect() == picked);
  CHECK(std::is_sorted(picked.begin(), picked.end(),
                       [](const auto& a, const auto& b) {
                         return a.second < b.second;
                       }));
  // With replacement: each record a Poisson number of times.
  auto twice = x.sample_by_key(true, {{"none", 0.0}, {"all", 2.0},
                                      {"half", 0.0}},
                               7)
                 .collect();
  CHECK(count_of(twice, "none") + count_of(twice, "half") == 0);
  CHECK(count_of(twice, "all") > 1800);
  CHECK(count_of(twice, "all") < 2200);
  // Spark's rules: at the call for a fraction, in the action for a key
  // without one.
  CHECK_THROWS_WITH(x.sample_by_key(false, {{"all", 1.5}}),
                    "sample_by_key: without replacement the fraction is a "
                    "probability, at most 1, not 1.5");
  CHECK_THROWS_WITH(x.sample_by_key(false, {{"all", 1.0}}).collect(),
                    Catch::Matches("sample_by_key: the RDD's key (none|half) "
                                   "has no fraction"));
}

TEST_CASE("rdd sample_by_key_exact takes exactly ceil(n * fraction) of "
          "each key",
          "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 4));
  // 100 records of "a", 37 of "b", 5 of "c", told apart by their values.
  pairs xs;
  for (int i = 0; i < 142; ++i)
    xs.emplace_back(i < 100 ? "a" : i < 137 ? "b" : "c", i);
  auto x = parallelize(xs, n);
  std::map<std::string, double> fractions{{"a", 0.1}, {"b", 0.5}, {"c", 1}};
  auto count_of = [](const pairs& ys, const std::string& key) {
    return std::count_if(ys.begin(), ys.end(),
                         [&](const auto& kv) { return kv.first == key; });
  };
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto picked = x.sample_by_key_exact(false, fractions, seed).collect();
    CHECK(count_of(picked, "a") == 10);
    CHECK(count_of(picked, "b") == 19);
    CHECK(count_of(picked, "c") == 5);
    // Without replacement: records of the input, each at most once, in
    // their order.
    CHECK(std::adjacent_find(picked.begin(), picked.end(),
                             [](const auto& a, const auto& b) {
                               return a.second >= b.second;
                             })
          == picked.end());
    for (const auto& kv : picked)
      CHECK(xs.at(static_cast<size_t>(kv.second)) == kv);
  }
  // The same seed picks the same records.
  CHECK(x.sample_by_key_exact(false, fractions, 7).collect()
        == x.sample_by_key_exact(false, fractions, 7).collect());
  // With replacement: exactly ceil(n * fraction) draws, also above 1.
  auto twice = x.sample_by_key_exact(true, {{"a", 2.0}, {"b", 0.1},
                                            {"c", 0.0}},
                                     7)
                 .collect();
  CHECK(count_of(twice, "a") == 200);
  CHECK(count_of(twice, "b") == 4);
  CHECK(count_of(twice, "c") == 0);
  for (const auto& kv : twice)
    CHECK(xs.at(static_cast<size_t>(kv.second)) == kv);
  CHECK(x.sample_by_key_exact(true, {{"a", 2.0}, {"b", 0.1}, {"c", 0.0}}, 7)
          .collect()
        == twice);
  // Spark's rules: at the call for a fraction; for a key without one, at
  // the call too, whose first job finds it.
  CHECK_THROWS_WITH(x.sample_by_key_exact(false, {{"a", 1.5}}),
                    "sample_by_key_exact: without replacement the fraction "
                    "is a probability, at most 1, not 1.5");
  CHECK_THROWS_WITH(x.sample_by_key_exact(false, {{"a", 1.0}}),
                    Catch::Matches("sample_by_key_exact: the RDD's key "
                                   "(b|c) has no fraction"));
}

TEST_CASE("rdd sample_by_key_exact samples each record alike",
          "[rdd][operations]") {
  // 3 of 10 records without replacement, and 3 draws with replacement,
  // 2000 times (seeds 1 to 2000): each record 600 times in all, within
  // five standard deviations (sqrt(2000 * 0.3 * 0.7), about 20.5, and
  // sqrt(6000 * 0.1 * 0.9), about 23.2).
  pairs xs;
  for (int i = 0; i < 10; ++i)
    xs.emplace_back("k", i);
  auto x = parallelize(xs, 3);
  for (bool with_replacement : {false, true}) {
    std::vector<int> times(10, 0);
    for (uint64_t seed = 1; seed <= 2000; ++seed) {
      auto picked = x.sample_by_key_exact(with_replacement, {{"k", 0.3}},
                                          seed)
                      .collect();
      REQUIRE(picked.size() == 3);
      for (const auto& kv : picked)
        ++times.at(static_cast<size_t>(kv.second));
    }
    for (auto t : times) {
      CHECK(t > 600 - 120);
      CHECK(t < 600 + 120);
    }
  }
}

TEST_CASE("rdd sample_by_key_exact refuses a lineage whose keys change",
          "[rdd][operations]") {
  // The first job (the counts) sees key "a" three times; every later
  // computation sees "z".
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto x = parallelize(pairs{{"a", 1}, {"a", 2}, {"a", 3}}, 2)
             .map([calls](const std::pair<std::string, int>& kv) {
               if (++*calls > 3)
                 return std::make_pair(std::string{"z"}, kv.second);
               return kv;
             });
  auto why = "sample_by_key_exact: the key z was not in the RDD when it "
             "was counted (its lineage gives other records each time)";
  CHECK_THROWS_WITH(x.sample_by_key_exact(false, {{"a", 0.5}}, 1), why);
  calls->store(0);
  auto sampled = x.sample_by_key_exact(true, {{"a", 0.5}}, 1);
  CHECK_THROWS_WITH(sampled.collect(), why);
}

TEST_CASE("rdd count_approx_distinct_by_key", "[rdd][operations]") {
  auto n = static_cast<size_t>(GENERATE(1, 4));
  // Key 1: 5,000 distinct values, each twice; key 2: 3 distinct values.
  std::vector<std::pair<int, int64_t>> xs;
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < 5000; ++i)
      xs.emplace_back(1, i * 7919);
  for (int64_t i = 0; i < 30; ++i)
    xs.emplace_back(2, i % 3);
  auto x = parallelize(xs, n);
  auto rough = x.count_approx_distinct_by_key().collect_as_map();
  REQUIRE(rough.size() == 2);
  // Within three of its standard deviations (0.05).
  CHECK(rough[1] > 5000 * 0.85);
  CHECK(rough[1] < 5000 * 1.15);
  CHECK(rough[2] == 3);
  // Finer than 2^20 registers give: counted exactly.
  auto exact = x.count_approx_distinct_by_key(0.0001).collect_as_map();
  CHECK(std::map<int, int64_t>(exact.begin(), exact.end())
        == std::map<int, int64_t>{{1, 5000}, {2, 3}});
  CHECK_THROWS_AS(x.count_approx_distinct_by_key(0), std::invalid_argument);
}
