#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <type_traits>
#include <utility>

namespace caf_stream {

/// An estimate with its confidence interval: Spark's `BoundedDouble`, what
/// the approximate actions (`rdd::count_approx`, ...) return. A final value
/// has the confidence 1 and `low == mean == high`.
struct bounded_double {
  double mean = 0;
  double confidence = 0;
  double low = 0;
  double high = 0;

  friend bool operator==(const bounded_double& x,
                         const bounded_double& y) noexcept {
    return x.mean == y.mean && x.confidence == y.confidence && x.low == y.low
           && x.high == y.high;
  }

  friend bool operator!=(const bounded_double& x,
                         const bounded_double& y) noexcept {
    return !(x == y);
  }
};

/// Prints "[low, high]" with three decimals, as Spark's `toString`.
std::ostream& operator<<(std::ostream& out, const bounded_double& x);

/// What an approximate action returns: Spark's `PartialResult`. The initial
/// value is the estimate when the action's timeout passed, from the
/// partitions computed by then (final if all of them were);
/// `get_final_value` computes the others and returns the exact result.
template <class R>
class partial_result {
public:
  using finisher = std::function<R()>;

  /// A result that is final from the start.
  explicit partial_result(R value) : initial_(std::move(value)) {
    // nop
  }

  /// A result whose final value `finish` computes, once, when asked for.
  partial_result(R initial, finisher finish)
    : initial_(std::move(initial)),
      rest_(std::make_shared<rest>(std::move(finish))) {
    // nop
  }

  const R& initial_value() const noexcept {
    return initial_;
  }

  /// Whether the initial value is the exact result already.
  bool is_initial_value_final() const noexcept {
    return rest_ == nullptr;
  }

  /// The exact result: the initial value if it is final; otherwise
  /// computes the partitions the timeout left out (on the calling thread's
  /// task runner, at the first call), which needs the RDD's input still:
  /// call it inside the output function that made the RDD's action.
  /// Rethrows what that computation threw.
  R get_final_value() const {
    if (rest_ == nullptr)
      return initial_;
    std::lock_guard<std::mutex> guard{rest_->mtx};
    if (!rest_->value)
      rest_->value = rest_->finish();
    return *rest_->value;
  }

  /// This result with `f` applied to its values (Spark's `map`): `f` of the
  /// initial value now, and of the final value when that is asked for. The
  /// final value is computed once for both results.
  template <class F>
  auto map(F f) const {
    using mapped
      = partial_result<std::decay_t<std::invoke_result_t<F&, const R&>>>;
    auto initial = f(initial_);
    if (rest_ == nullptr)
      return mapped{std::move(initial)};
    return mapped{std::move(initial), [self = *this, f]() mutable {
                    return f(self.get_final_value());
                  }};
  }

private:
  struct rest {
    explicit rest(finisher f) : finish(std::move(f)) {
      // nop
    }

    std::mutex mtx;
    finisher finish;
    std::optional<R> value;
  };

  R initial_;
  std::shared_ptr<rest> rest_;
};

} // namespace caf_stream
