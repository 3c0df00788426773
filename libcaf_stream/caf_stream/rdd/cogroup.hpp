#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf_stream/error.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/rdd/rdd_node.hpp"
#include "caf_stream/rdd/shuffle.hpp"
#include "caf_stream/rdd/shuffle_store.hpp"

namespace caf_stream::detail {

/// Spark's CoGroupedRDD for two parents: every key of either parent with the
/// values of each, in the parents' record order. Backs the joins. Map task
/// `i` splits partition `i` of the left parent, then partition `i - ml` of
/// the right one (`ml` left partitions); the reduce tasks group a
/// partition's buckets by key, here or on the worker nodes that hold them.
template <class K, class V, class W>
class cogroup_node final
  : public rdd_node<std::pair<K, std::pair<std::vector<V>, std::vector<W>>>> {
public:
  using output = std::pair<K, std::pair<std::vector<V>, std::vector<W>>>;
  using left_output = shuffle_output<std::pair<K, V>>;
  using right_output = shuffle_output<std::pair<K, W>>;

  cogroup_node(rdd_node_ptr<std::pair<K, V>> left,
               rdd_node_ptr<std::pair<K, W>> right, size_t num_partitions)
    : left_(std::move(left)), right_(std::move(right)), n_(num_partitions) {
    // nop
  }

  const char* kind() const noexcept override {
    return "CoGroupedRDD";
  }

  size_t num_partitions() const override {
    return n_;
  }

  void prepare(task_runner& runner) const override {
    auto ml = left_->num_partitions();
    stage_.run_once(runner, *this, ml + right_->num_partitions(),
                    [&] { reset(); },
                    [&](size_t i) {
                      if (i < ml)
                        left_out_.put(i, split(*left_, i));
                      else
                        right_out_.put(i - ml, split(*right_, i - ml));
                    });
  }

  std::vector<const rdd_node_base*> parents() const override {
    return {left_.get(), right_.get()};
  }

  bool is_shuffle() const noexcept override {
    return true;
  }

  bool map_output_serializable() const noexcept override {
    return left_output::serializable && right_output::serializable;
  }

  std::vector<std::string>
  run_map_tasks(const std::vector<uint32_t>& tasks,
                task_runner& runner) const override {
    if constexpr (left_output::serializable && right_output::serializable) {
      auto ml = left_->num_partitions();
      std::vector<std::string> result(tasks.size());
      runner.run(tasks.size(), [&](size_t k) {
        auto i = tasks[k];
        result[k] = i < ml ? left_out_.encode(split(*left_, i))
                           : right_out_.encode(split(*right_, i - ml));
      });
      return result;
    } else {
      return rdd_node_base::run_map_tasks(tasks, runner);
    }
  }

  void add_map_output(size_t task, const std::string& bytes) const override {
    auto ml = left_->num_partitions();
    if (task < ml)
      left_out_.put_bytes(task, bytes);
    else
      right_out_.put_bytes(task - ml, bytes);
  }

  bool reduce_serializable() const noexcept override {
    return reducible;
  }

  // `buckets[k]` holds bucket `partitions[k]` of every map task, in the
  // order of the map tasks: the left parent's, then the right one's.
  std::vector<std::string>
  run_reduce_tasks(const std::vector<uint32_t>& partitions,
                   const std::vector<std::vector<std::string>>& buckets,
                   task_runner& runner) const override {
    if constexpr (reducible) {
      auto ml = left_->num_partitions();
      auto maps = ml + right_->num_partitions();
      for (const auto& xs : buckets)
        if (xs.size() != maps)
          throw stream_error(errc::invalid_graph,
                             "a cogroup's reduce task got "
                               + std::to_string(xs.size())
                               + " map outputs, its shuffle has "
                               + std::to_string(maps) + " map tasks");
      std::vector<std::string> result(partitions.size());
      runner.run(partitions.size(), [&](size_t k) {
        const auto& xs = buckets.at(k);
        auto groups = group(
          [&](auto&& f) {
            for (size_t m = 0; m < ml; ++m)
              for (const auto& kv : left_output::decode_bucket(xs[m]))
                f(kv);
          },
          [&](auto&& f) {
            for (size_t m = ml; m < maps; ++m)
              for (const auto& kv : right_output::decode_bucket(xs[m]))
                f(kv);
          });
        result[k] = to_bytes(groups);
      });
      return result;
    } else {
      return rdd_node_base::run_reduce_tasks(partitions, buckets, runner);
    }
  }

  void add_reduced(size_t index, const std::string& bytes) const override {
    reduced_.put_bytes(index, bytes);
  }

  void use_reduced(size_t index, const std::string& bytes) const override {
    if (!this->takes_reduced())
      rdd_node_base::use_reduced(index, bytes);
    stage_.skip([&] { reset(); });
    reduced_.put_bytes(index, bytes);
  }

  void compute(size_t index,
               typename rdd_node<output>::sink out) const override {
    if (reduced_.emit(index, out))
      return;
    stage_.check_ran(index);
    auto groups = group(
      [&](auto&& f) {
        for (auto& bucket : left_out_.buckets(index))
          for (const auto& kv : *bucket)
            f(kv);
      },
      [&](auto&& f) {
        for (auto& bucket : right_out_.buckets(index))
          for (const auto& kv : *bucket)
            f(kv);
      });
    for (const auto& g : groups)
      out(g);
  }

private:
  // Sizes the map stage's outputs and forgets the partitions reduced
  // elsewhere.
  void reset() const {
    left_out_.reset(left_->num_partitions());
    right_out_.reset(right_->num_partitions());
    reduced_.reset(n_);
  }

  static constexpr bool reducible = left_output::serializable
                                    && right_output::serializable
                                    && is_serializable<std::vector<output>>::value;

  // The groups of one reduce partition, in the order their keys first
  // appear: `each_left(f)` calls `f` with every left record of the
  // partition, `each_right(f)` with every right one.
  template <class EachLeft, class EachRight>
  static std::vector<output> group(EachLeft&& each_left,
                                   EachRight&& each_right) {
    std::unordered_map<K, size_t, hash<K>> pos;
    std::vector<output> groups;
    auto group_of = [&](const K& key) -> auto& {
      auto [i, added] = pos.emplace(key, groups.size());
      if (added)
        groups.emplace_back(key, typename output::second_type{});
      return groups[i->second].second;
    };
    each_left([&](const std::pair<K, V>& kv) {
      group_of(kv.first).first.push_back(kv.second);
    });
    each_right([&](const std::pair<K, W>& kv) {
      group_of(kv.first).second.push_back(kv.second);
    });
    return groups;
  }

  template <class X>
  std::vector<std::vector<std::pair<K, X>>>
  split(const rdd_node<std::pair<K, X>>& parent, size_t partition) const {
    std::vector<std::vector<std::pair<K, X>>> buckets(n_);
    parent.compute(partition, [&](const std::pair<K, X>& kv) {
      buckets[partition_of(kv.first, n_)].push_back(kv);
    });
    return buckets;
  }

  rdd_node_ptr<std::pair<K, V>> left_;
  rdd_node_ptr<std::pair<K, W>> right_;
  size_t n_;
  mutable shuffle_stage stage_;
  mutable left_output left_out_;
  mutable right_output right_out_;
  mutable reduced_partitions<output> reduced_;
};

} // namespace caf_stream::detail
