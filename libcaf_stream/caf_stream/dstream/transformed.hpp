#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "caf_stream/dstream/node.hpp"

namespace caf_stream::detail {

[[noreturn]] void throw_missing_parent_rdd(const char* what, time t);

/// A stream whose RDD is a function of its parent's RDD at the same time:
/// every per-batch operation (map, filter, reduce_by_key, transform, ...).
template <class In, class Out>
class transformed_node final : public dstream_node<Out> {
public:
  using function = std::function<rdd<Out>(const rdd<In>&, time)>;

  /// `portable`: `f` only calls the operations of `rdd<In>`
  /// (`dstream_node_base::portable`).
  transformed_node(dstream_graph& graph,
                   std::shared_ptr<dstream_node<In>> parent, function f,
                   bool portable = false)
    : dstream_node<Out>(graph, parent->slide(), {parent.get()}),
      parent_(std::move(parent)),
      f_(std::move(f)),
      portable_(portable) {
    // nop
  }

  bool portable() const noexcept override {
    return portable_ && parent_->portable();
  }

protected:
  std::optional<rdd<Out>> compute(time t) override {
    auto x = parent_->get_or_compute(t);
    if (!x)
      return std::nullopt;
    return f_(*x, t);
  }

private:
  std::shared_ptr<dstream_node<In>> parent_;
  function f_;
  bool portable_;
};

/// The nodes `xs` point to, as `dstream_node_base` takes its parents.
template <class T>
std::vector<dstream_node_base*>
raw_parents(const std::vector<std::shared_ptr<dstream_node<T>>>& xs) {
  std::vector<dstream_node_base*> result;
  for (auto& x : xs)
    result.push_back(x.get());
  return result;
}

/// A stream whose RDD is a function of two parents' RDDs (transform_with and
/// the joins). Both parents must have the same slide.
template <class A, class B, class Out>
class transformed2_node final : public dstream_node<Out> {
public:
  using function = std::function<rdd<Out>(const rdd<A>&, const rdd<B>&, time)>;

  /// `portable`: as `transformed_node`'s.
  transformed2_node(dstream_graph& graph, std::shared_ptr<dstream_node<A>> a,
                    std::shared_ptr<dstream_node<B>> b, function f,
                    bool portable = false)
    : dstream_node<Out>(graph, a->slide(), {a.get(), b.get()}),
      a_(std::move(a)),
      b_(std::move(b)),
      f_(std::move(f)),
      portable_(portable) {
    // nop
  }

  bool portable() const noexcept override {
    return portable_ && a_->portable() && b_->portable();
  }

protected:
  std::optional<rdd<Out>> compute(time t) override {
    auto x = a_->get_or_compute(t);
    auto y = b_->get_or_compute(t);
    if (!x || !y)
      throw_missing_parent_rdd("transform_with", t);
    return f_(*x, *y, t);
  }

private:
  std::shared_ptr<dstream_node<A>> a_;
  std::shared_ptr<dstream_node<B>> b_;
  function f_;
  bool portable_;
};

/// Spark's UnionDStream: the union of the parents' RDDs at each time.
template <class T>
class union_dstream_node final : public dstream_node<T> {
public:
  union_dstream_node(dstream_graph& graph,
                     std::vector<std::shared_ptr<dstream_node<T>>> parents)
    : dstream_node<T>(graph, parents.front()->slide(), raw_parents(parents)),
      parents_(std::move(parents)) {
    // nop
  }

  bool portable() const noexcept override {
    return std::all_of(parents_.begin(), parents_.end(),
                       [](const auto& p) { return p->portable(); });
  }

protected:
  std::optional<rdd<T>> compute(time t) override {
    std::vector<rdd_node_ptr<T>> nodes;
    for (auto& p : parents_) {
      auto x = p->get_or_compute(t);
      if (!x)
        throw_missing_parent_rdd("union_with", t);
      nodes.push_back(x->node());
    }
    return rdd<T>{std::make_shared<union_node<T>>(std::move(nodes))};
  }

private:
  std::vector<std::shared_ptr<dstream_node<T>>> parents_;
};

/// A stream whose RDD is a function of several parents' RDDs of one type
/// at the same time (the context's `transform`). All parents have the same
/// slide. The function runs on the driver, as Spark's does.
template <class In, class Out>
class transformed_n_node final : public dstream_node<Out> {
public:
  using function
    = std::function<rdd<Out>(const std::vector<rdd<In>>&, time)>;

  transformed_n_node(dstream_graph& graph,
                     std::vector<std::shared_ptr<dstream_node<In>>> parents,
                     function f)
    : dstream_node<Out>(graph, parents.front()->slide(), raw_parents(parents)),
      parents_(std::move(parents)),
      f_(std::move(f)) {
    // nop
  }

protected:
  std::optional<rdd<Out>> compute(time t) override {
    std::vector<rdd<In>> xs;
    xs.reserve(parents_.size());
    for (auto& p : parents_) {
      auto x = p->get_or_compute(t);
      if (!x)
        throw_missing_parent_rdd("transform", t);
      xs.push_back(std::move(*x));
    }
    return f_(xs, t);
  }

private:
  std::vector<std::shared_ptr<dstream_node<In>>> parents_;
  function f_;
};

/// An output operation (foreach_rdd, print, save_as_text_files): one job per
/// batch on the parent's slide grid.
template <class T>
class output_node final : public output_node_base {
public:
  using function = std::function<void(const rdd<T>&, time)>;

  /// `name`: what the operation is ("print", "foreach_rdd", ...).
  output_node(std::shared_ptr<dstream_node<T>> parent, function f,
              const char* name)
    : parent_(std::move(parent)), f_(std::move(f)), name_(name) {
    // nop
  }

  bool has_job(time t) const noexcept override {
    return parent_->is_time_valid(t);
  }

  const char* name() const noexcept override {
    return name_;
  }

  void run(time t) override {
    if (auto x = parent_->get_or_compute(t))
      f_(*x, t);
  }

private:
  std::shared_ptr<dstream_node<T>> parent_;
  function f_;
  const char* name_;
};

} // namespace caf_stream::detail
