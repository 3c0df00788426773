#pragma once

// The output operations of `dstream<T>`, declared in caf_stream/dstream.hpp,
// which includes this file at its end (not a header of its own): each adds a
// job per batch to the graph.

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace caf_stream {

template <class T>
template <class F>
void dstream<T>::foreach_rdd(F f) const {
  constexpr bool with_time = std::is_invocable_v<F, const rdd<T>&, time>;
  static_assert(with_time || std::is_invocable_v<F, const rdd<T>&>,
                "foreach_rdd expects f(const rdd<T>&) or "
                "f(const rdd<T>&, time)");
  if constexpr (with_time)
    add_output("foreach_rdd", std::move(f));
  else
    add_output("foreach_rdd", [f](const rdd<T>& x, time) { f(x); });
}

template <class T>
void dstream<T>::print(size_t num) const {
  add_output("print", [num](const rdd<T>& x, time t) {
    detail::print_batch(x, t, num);
  });
}

template <class T>
void dstream<T>::save_as_text_files(std::string prefix,
                                    std::string suffix) const {
  add_output("save_as_text_files", [prefix, suffix](const rdd<T>& x, time t) {
    detail::save_batch_as_text_files(x, t, prefix, suffix);
  });
}

template <class T>
void dstream<T>::save_as_object_files(std::string prefix,
                                      std::string suffix) const {
  static_assert(detail::is_serializable<std::vector<T>>::value,
                "save_as_object_files needs records with a "
                "Boost.Serialization serialize");
  add_output("save_as_object_files",
             [prefix, suffix](const rdd<T>& x, time t) {
               detail::save_batch_as_object_files(x, t, prefix, suffix);
             });
}

template <class T>
template <class Actor>
void dstream<T>::send_to(const Actor& dst) const {
  static_assert(detail::actor_output<Actor>::defined,
                "send_to takes a caf::actor: include "
                "caf_stream/actor_stream.hpp");
  auto out = detail::actor_output<Actor>::template make<T>(dst);
  add_output("send_to",
             [out](const rdd<T>& x, time t) { out(t, x.collect()); });
}

template <class T>
template <class Actor, class F>
void dstream<T>::send_to(const Actor& dst, F f) const {
  static_assert(detail::actor_output<Actor>::defined,
                "send_to takes a caf::actor: include "
                "caf_stream/actor_stream.hpp");
  static_assert(std::is_invocable_v<F, const T&>,
                "send_to expects f(const T&) -> U");
  using u = std::decay_t<std::invoke_result_t<F, const T&>>;
  auto out = detail::actor_output<Actor>::template make<u>(dst);
  map(std::move(f)).add_output(
    "send_to", [out](const rdd<u>& x, time t) { out(t, x.collect()); });
}

} // namespace caf_stream
