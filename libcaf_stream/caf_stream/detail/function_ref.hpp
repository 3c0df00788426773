#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace caf_stream::detail {

template <class Signature>
class function_ref;

/// A non-owning reference to a callable: the per-record sink type of the
/// fused operator chains (no allocation, one indirect call per record).
template <class R, class... Ts>
class function_ref<R(Ts...)> {
public:
  template <class F, class = std::enable_if_t<
                       !std::is_same_v<std::decay_t<F>, function_ref>>>
  function_ref(F&& f) noexcept
    : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
      fn_([](void* obj, Ts... xs) -> R {
        return (*static_cast<std::remove_reference_t<F>*>(obj))(
          std::forward<Ts>(xs)...);
      }) {
    // nop
  }

  R operator()(Ts... xs) const {
    return fn_(obj_, std::forward<Ts>(xs)...);
  }

private:
  void* obj_;
  R (*fn_)(void*, Ts...);
};

} // namespace caf_stream::detail
