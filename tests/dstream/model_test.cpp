#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf_stream/all.hpp"
#include "caf_stream/testing.hpp"

#include "support/pipeline.hpp"
#include "support/tables.hpp"

using namespace caf_stream;
using std::chrono::seconds;

// Randomized model-based test: random inputs, windows, slides, partition
// and worker counts run through the real runtime, against a plain
// sequential model of each operation written from Spark's documented
// semantics. Batch k (k = 1, 2, ...) is at k seconds; a stream with slide
// s has an output at every multiple of s; a window of length w at time t
// holds the batches in (t - w, t].
//
// CAF_STREAM_MODEL_TRIALS (default 40) and CAF_STREAM_MODEL_SEED (default 1)
// run a longer campaign or repeat one trial: a failure names its seed.

namespace {

using kv = std::pair<std::string, int>;
using batches = std::vector<std::vector<kv>>;
/// Outputs by batch time (seconds).
template <class T>
using timeline = std::map<int64_t, std::vector<T>>;

// -- rendering: one canonical text per batch, independent of element order --

std::string text(int x) {
  return std::to_string(x);
}

std::string text(int64_t x) {
  return std::to_string(x);
}

std::string text(const std::string& x) {
  return x;
}

template <class T>
std::string text(const std::vector<T>& xs);

template <class T>
std::string text(const std::optional<T>& x) {
  return x ? text(*x) : "-";
}

template <class A, class B>
std::string text(const std::pair<A, B>& x) {
  return "(" + text(x.first) + "," + text(x.second) + ")";
}

/// Elements sorted by their text: groups, batches and windows compare as
/// multisets.
template <class T>
std::string text(const std::vector<T>& xs) {
  std::vector<std::string> parts;
  for (const auto& x : xs)
    parts.push_back(text(x));
  std::sort(parts.begin(), parts.end());
  std::string result = "[";
  for (const auto& x : parts)
    result += (result.size() > 1 ? " " : "") + x;
  return result + "]";
}

// -- the random trial --------------------------------------------------------

size_t env_or(const char* name, size_t fallback) {
  if (auto* x = std::getenv(name))
    return static_cast<size_t>(std::stoul(x));
  return fallback;
}

struct trial {
  uint32_t seed;
  size_t workers;
  size_t partitions;
  int64_t num_batches;
  int64_t window;
  int64_t slide;
  /// 0: no timeout.
  int64_t timeout;
  /// 0: the default checkpoint interval.
  int64_t state_checkpoint;
  bool initial_state;
  batches input;
  batches other;

  explicit trial(uint32_t x) : seed(x) {
    std::mt19937 gen{x};
    auto pick = [&gen](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>{lo, hi}(gen);
    };
    workers = static_cast<size_t>(pick(1, 3));
    partitions = static_cast<size_t>(pick(1, 4));
    num_batches = pick(8, 14);
    window = pick(1, 4);
    slide = pick(1, 3);
    timeout = pick(0, 3);
    state_checkpoint = std::vector<int64_t>{0, 1, 2, 3}[pick(0, 3)];
    initial_state = pick(0, 1) == 1;
    // Some batches empty, some keys repeated within a batch; the last
    // batches get no input (the test input ends), as in Spark's suites.
    auto make = [&](const char* keys, int64_t max_len) {
      batches result;
      auto n = pick(num_batches / 2, num_batches);
      for (int64_t i = 0; i < n; ++i) {
        std::vector<kv> b;
        auto len = pick(0, max_len);
        for (int64_t j = 0; j < len; ++j)
          b.emplace_back(std::string(1, keys[pick(0, 4)]),
                         static_cast<int>(pick(1, 5)));
        result.push_back(std::move(b));
      }
      return result;
    };
    input = make("abcde", 6);
    other = make("acegi", 3);
  }

  std::string describe() const {
    return "seed " + std::to_string(seed) + ": " + std::to_string(workers)
           + " workers, " + std::to_string(partitions) + " partitions, "
           + std::to_string(num_batches) + " batches, window "
           + std::to_string(window) + " s every " + std::to_string(slide)
           + " s, timeout " + std::to_string(timeout) + " s, state checkpoint "
           + std::to_string(state_checkpoint) + " s, initial state "
           + (initial_state ? "yes" : "no") + "\ninput " + lines(input)
           + "\nother " + lines(other);
  }

  /// Batch k of `xs` (empty past the end).
  static std::vector<kv> batch(const batches& xs, int64_t k) {
    if (k < 1 || k > static_cast<int64_t>(xs.size()))
      return {};
    return xs[static_cast<size_t>(k - 1)];
  }

  /// The records of the batches in (t - window, t].
  std::vector<kv> in_window(int64_t t) const {
    std::vector<kv> result;
    for (auto k = t - window + 1; k <= t; ++k)
      for (auto& x : batch(input, k))
        result.push_back(x);
    return result;
  }

  /// The output times of the windowed streams.
  std::vector<int64_t> window_times() const {
    std::vector<int64_t> result;
    for (auto t = slide; t <= num_batches; t += slide)
      result.push_back(t);
    return result;
  }

private:
  // Batch by batch, for the failure message.
  static std::string lines(const batches& xs) {
    std::string result;
    for (size_t i = 0; i < xs.size(); ++i)
      result += " " + std::to_string(i + 1) + ":" + text(xs[i]);
    return result;
  }
};

const std::vector<kv> initial_pairs{{"a", 3}, {"f", 2}};

int plus(int a, int b) {
  return a + b;
}

int minus(int a, int b) {
  return a - b;
}

// -- the model: Spark's documented semantics, one batch after the other -----

std::map<std::string, int> sums(const std::vector<kv>& xs) {
  std::map<std::string, int> result;
  for (auto& [k, v] : xs)
    result[k] += v;
  return result;
}

std::vector<kv> pairs_of(const std::map<std::string, int>& xs) {
  return {xs.begin(), xs.end()};
}

/// Values shifted to -2..2, so that window sums can cancel out.
std::vector<kv> shifted(std::vector<kv> xs) {
  for (auto& x : xs)
    x.second -= 3;
  return xs;
}

struct window_model {
  timeline<kv> window;
  timeline<kv> reduced;
  timeline<kv> reduced_inv;
  timeline<kv> reduced_inv_filtered;
  timeline<std::pair<std::string, int64_t>> counted_by_value;
  timeline<int64_t> counted;
  timeline<int> reduced_by_window;
  timeline<std::pair<std::string, std::vector<int>>> grouped;

  explicit window_model(const trial& x) {
    // Keys that entered the incremental window's state: they stay, with
    // a value of 0 once their batches left (no filter).
    std::set<std::string> seen;
    bool any_seen = false;
    for (auto t : x.window_times()) {
      auto in = x.in_window(t);
      window[t] = in;
      auto plain = sums(shifted(in));
      reduced[t] = pairs_of(plain);
      for (auto& [k, v] : plain)
        seen.insert(k);
      auto& inv = reduced_inv[t];
      for (auto& k : seen)
        inv.emplace_back(k, plain.count(k) ? plain[k] : 0);
      // Values are positive: the filter (sum != 0) drops exactly the keys
      // outside the window.
      reduced_inv_filtered[t] = pairs_of(sums(in));
      std::map<std::string, int64_t> counts;
      std::map<std::string, std::vector<int>> groups;
      int total = 0;
      for (auto& [k, v] : in) {
        ++counts[k];
        groups[k].push_back(v);
        total += v;
      }
      counted_by_value[t] = {counts.begin(), counts.end()};
      grouped[t] = {groups.begin(), groups.end()};
      // count_by_window is incremental (Spark's reduceByWindow with an
      // inverse): its one key stays at 0 once it was seen.
      any_seen = any_seen || !in.empty();
      counted[t] = any_seen ? std::vector<int64_t>{static_cast<int64_t>(in.size())}
                            : std::vector<int64_t>{};
      reduced_by_window[t] = in.empty() ? std::vector<int>{}
                                        : std::vector<int>{total};
    }
  }
};

/// updateStateByKey's function of the test: a running sum over positive
/// values that decays by one in batches without data; removed at 0 or once
/// above 12.
std::optional<int> update(const std::vector<int>& values,
                          std::optional<int> state) {
  int next = state.value_or(0);
  if (values.empty())
    --next;
  for (auto v : values)
    next += v;
  if (next <= 0 || next > 12)
    return std::nullopt;
  return next;
}

timeline<kv> model_update_state_by_key(const trial& x) {
  timeline<kv> result;
  std::map<std::string, int> state;
  if (x.initial_state)
    state.insert(initial_pairs.begin(), initial_pairs.end());
  for (int64_t t = 1; t <= x.num_batches; ++t) {
    std::map<std::string, std::vector<int>> values;
    for (auto& [k, v] : trial::batch(x.input, t))
      values[k].push_back(v);
    for (auto& [k, s] : state)
      values[k]; // every key in the state is called, with or without data
    std::map<std::string, int> next;
    for (auto& [k, vs] : values) {
      auto old = state.count(k) ? std::optional<int>{state[k]} : std::nullopt;
      if (auto s = update(vs, old))
        next[k] = *s;
    }
    state = std::move(next);
    result[t] = pairs_of(state);
  }
  return result;
}

/// mapWithState's function of the test, on per-batch sums (one record per
/// key and batch, so the order of records does not matter): outputs the new
/// sum, -1 when the key is removed (above 12), -100 - state when it times
/// out, and nothing for a sum of exactly 5, which leaves the state alone.
std::optional<kv> track(caf_stream::time, const std::string& key,
                        const std::optional<int>& value, state<int>& st) {
  if (st.is_timing_out())
    return kv{key, -100 - st.get()};
  if (*value == 5)
    return std::nullopt;
  auto next = st.get_option().value_or(0) + *value;
  if (next > 12) {
    st.remove();
    return kv{key, -1};
  }
  st.update(next);
  return kv{key, next};
}

struct map_with_state_model {
  timeline<kv> mapped;
  timeline<kv> snapshots;

  explicit map_with_state_model(const trial& x) {
    struct entry {
      int value;
      int64_t updated;
    };
    std::map<std::string, entry> state;
    // Spark stamps the initial state with the first batch's time.
    if (x.initial_state)
      for (auto& [k, v] : initial_pairs)
        state[k] = entry{v, 1};
    for (int64_t t = 1; t <= x.num_batches; ++t) {
      auto& out = mapped[t];
      for (auto& [k, v] : sums(trial::batch(x.input, t))) {
        auto found = state.find(k);
        if (v == 5) {
          // Data refreshes the key's time when a timeout is set.
          if (found != state.end() && x.timeout > 0)
            found->second.updated = t;
          continue;
        }
        auto next = (found != state.end() ? found->second.value : 0) + v;
        if (next > 12) {
          state.erase(k);
          out.emplace_back(k, -1);
        } else {
          state[k] = entry{next, t};
          out.emplace_back(k, next);
        }
      }
      // Idle keys: last updated before batch time - timeout.
      for (auto i = state.begin(); x.timeout > 0 && i != state.end();) {
        if (i->second.updated < t - x.timeout) {
          out.emplace_back(i->first, -100 - i->second.value);
          i = state.erase(i);
        } else {
          ++i;
        }
      }
      auto& snapshot = snapshots[t];
      for (auto& [k, e] : state)
        snapshot.emplace_back(k, e.value);
    }
  }
};

// -- running the trial on the runtime ----------------------------------------

/// Collects the outputs of one stream by batch time.
template <class T>
class recorder {
public:
  void add(int64_t t, std::vector<T> xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    outputs_[t] = std::move(xs);
  }

  timeline<T> outputs() {
    std::lock_guard<std::mutex> guard{mtx_};
    return outputs_;
  }

private:
  std::mutex mtx_;
  timeline<T> outputs_;
};

template <class T>
std::shared_ptr<recorder<T>> record(const dstream<T>& s) {
  auto result = std::make_shared<recorder<T>>();
  s.foreach_rdd([result](const rdd<T>& x, caf_stream::time t) {
    result->add(t.milliseconds() / 1000, x.collect());
  });
  return result;
}

/// Compares a stream's outputs with the model's, batch time by batch time.
template <class T>
void check(const char* what, const timeline<T>& model,
           const std::shared_ptr<recorder<T>>& actual) {
  auto got = actual->outputs();
  std::vector<int64_t> model_times;
  std::vector<int64_t> got_times;
  for (auto& [t, xs] : model)
    model_times.push_back(t);
  for (auto& [t, xs] : got)
    got_times.push_back(t);
  INFO(what);
  CHECK(got_times == model_times);
  for (auto& [t, xs] : model) {
    INFO("at " << t << " s");
    CHECK(text(got[t]) == text(xs));
  }
}

} // namespace

TEST_CASE("random pipelines agree with a sequential model of Spark's "
          "semantics",
          "[dstream][model]") {
  auto trials = env_or("CAF_STREAM_MODEL_TRIALS", 40);
  auto first_seed = static_cast<uint32_t>(env_or("CAF_STREAM_MODEL_SEED", 1));
  for (uint32_t seed = first_seed; seed < first_seed + trials; ++seed) {
    trial x{seed};
    INFO(x.describe());
    testing::temporary_directory dir;
    test::pipeline<kv> p{support::parallelism(x.workers, x.partitions)};
    auto& ssc = p.context();
    ssc.checkpoint(dir.path());
    auto parts = x.partitions;
    auto in = testing::detail::add_test_input(ssc, x.input, parts);
    auto other = testing::detail::add_test_input(ssc, x.other, parts);
    auto w = seconds(x.window);
    auto s = seconds(x.slide);
    auto keys = in.map([](const kv& y) { return y.first; });
    auto minus3 = in.map_values([](int v) { return v - 3; });
    // Windows, plain and incremental.
    auto window = record(in.window(w, s));
    auto reduced = record(minus3.reduce_by_key_and_window(plus, w, s));
    auto reduced_inv = record(
      minus3.reduce_by_key_and_window(plus, minus, w, s));
    auto reduced_inv_filtered = record(in.reduce_by_key_and_window(
      plus, minus, w, s, 0, [](const kv& y) { return y.second != 0; }));
    auto counted_by_value = record(keys.count_by_value_and_window(w, s));
    auto counted = record(in.count_by_window(w, s));
    auto values = in.map([](const kv& y) { return y.second; });
    auto reduced_by_window = record(values.reduce_by_window(plus, w, s));
    auto reduced_by_window_inv = record(
      values.reduce_by_window(plus, minus, w, s));
    auto grouped = record(in.group_by_key_and_window(w, s));
    // State.
    auto initial = parallelize(initial_pairs, 2);
    auto updated = x.initial_state
                     ? in.update_state_by_key<int>(update, 0, initial)
                     : in.update_state_by_key<int>(update);
    auto spec = state_spec::function(track);
    if (x.initial_state)
      spec.initial_state(initial);
    if (x.timeout > 0)
      spec.timeout(seconds(x.timeout));
    auto mapped = in.reduce_by_key(plus).map_with_state(spec);
    if (x.state_checkpoint > 0) {
      updated.checkpoint(seconds(x.state_checkpoint));
      mapped.checkpoint(seconds(x.state_checkpoint));
    }
    auto updated_out = record(updated);
    auto mapped_out = record(static_cast<const dstream<kv>&>(mapped));
    auto snapshots = record(mapped.state_snapshots());
    // Pair operations, per batch.
    auto reduced_by_key = record(in.reduce_by_key(plus));
    auto grouped_by_key = record(in.group_by_key());
    auto counted_keys = record(keys.count_by_value());
    auto joined = record(in.join(other));
    auto left = record(in.left_outer_join(other));
    auto right = record(in.right_outer_join(other));
    auto full = record(in.full_outer_join(other));
    auto cogrouped = record(in.cogroup(other));
    auto both = record(in.union_with(other));

    p.run(static_cast<size_t>(x.num_batches));
    for (auto& info : p.infos())
      CHECK_FALSE(info.failure_reason);

    window_model windows{x};
    check("window", windows.window, window);
    check("reduce_by_key_and_window", windows.reduced, reduced);
    check("reduce_by_key_and_window with inverse", windows.reduced_inv,
          reduced_inv);
    check("reduce_by_key_and_window with inverse and filter",
          windows.reduced_inv_filtered, reduced_inv_filtered);
    check("count_by_value_and_window", windows.counted_by_value,
          counted_by_value);
    check("count_by_window", windows.counted, counted);
    check("reduce_by_window", windows.reduced_by_window, reduced_by_window);
    // The incremental form's one key stays at 0 once it was seen.
    auto reduced_by_window_inv_model = windows.reduced_by_window;
    for (auto& [t, xs] : reduced_by_window_inv_model)
      if (xs.empty() && !windows.counted[t].empty())
        xs.push_back(0);
    check("reduce_by_window with inverse", reduced_by_window_inv_model,
          reduced_by_window_inv);
    check("group_by_key_and_window", windows.grouped, grouped);
    check("update_state_by_key", model_update_state_by_key(x), updated_out);
    map_with_state_model states{x};
    check("map_with_state", states.mapped, mapped_out);
    check("state_snapshots", states.snapshots, snapshots);

    timeline<kv> by_key;
    timeline<std::pair<std::string, std::vector<int>>> groups;
    timeline<std::pair<std::string, int64_t>> key_counts;
    timeline<std::pair<std::string, std::pair<int, int>>> inner;
    timeline<std::pair<std::string, std::pair<int, std::optional<int>>>>
      left_model;
    timeline<std::pair<std::string, std::pair<std::optional<int>, int>>>
      right_model;
    timeline<std::pair<std::string,
                       std::pair<std::optional<int>, std::optional<int>>>>
      full_model;
    timeline<std::pair<std::string,
                       std::pair<std::vector<int>, std::vector<int>>>>
      cogroup_model;
    timeline<kv> union_model;
    for (int64_t t = 1; t <= x.num_batches; ++t) {
      auto xs = trial::batch(x.input, t);
      auto ys = trial::batch(x.other, t);
      by_key[t] = pairs_of(sums(xs));
      std::map<std::string, std::pair<std::vector<int>, std::vector<int>>> cg;
      for (auto& [k, v] : xs)
        cg[k].first.push_back(v);
      for (auto& [k, v] : ys)
        cg[k].second.push_back(v);
      std::map<std::string, int64_t> counts;
      for (auto& [k, v] : xs)
        ++counts[k];
      key_counts[t] = {counts.begin(), counts.end()};
      groups[t];
      inner[t];
      left_model[t];
      right_model[t];
      full_model[t];
      for (auto& [k, vw] : cg) {
        auto& [vs, ws] = vw;
        if (!vs.empty())
          groups[t].emplace_back(k, vs);
        for (auto v : vs) {
          for (auto w2 : ws) {
            inner[t].push_back({k, {v, w2}});
            left_model[t].push_back({k, {v, w2}});
            right_model[t].push_back({k, {v, w2}});
            full_model[t].push_back({k, {v, w2}});
          }
          if (ws.empty()) {
            left_model[t].push_back({k, {v, std::nullopt}});
            full_model[t].push_back({k, {v, std::nullopt}});
          }
        }
        if (vs.empty())
          for (auto w2 : ws) {
            right_model[t].push_back({k, {std::nullopt, w2}});
            full_model[t].push_back({k, {std::nullopt, w2}});
          }
      }
      cogroup_model[t] = {cg.begin(), cg.end()};
      union_model[t] = xs;
      union_model[t].insert(union_model[t].end(), ys.begin(), ys.end());
    }
    check("reduce_by_key", by_key, reduced_by_key);
    check("group_by_key", groups, grouped_by_key);
    check("count_by_value", key_counts, counted_keys);
    check("join", inner, joined);
    check("left_outer_join", left_model, left);
    check("right_outer_join", right_model, right);
    check("full_outer_join", full_model, full);
    check("cogroup", cogroup_model, cogrouped);
    check("union_with", union_model, both);
  }
}
