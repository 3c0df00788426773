#include "caf_stream/checkpoint/serialization.hpp"

#include <stdexcept>

#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>

template class boost::archive::basic_binary_iprimitive<
  caf_stream::detail::bounded_iarchive, char, std::char_traits<char>>;
template class boost::archive::basic_binary_iarchive<
  caf_stream::detail::bounded_iarchive>;
template class boost::archive::detail::archive_serializer_map<
  caf_stream::detail::bounded_iarchive>;

namespace caf_stream::detail {

namespace {

// Collections of up to this many items pass without bytes to back them:
// items that serialize to nothing (empty classes) take no bytes.
constexpr uint64_t free_items = 1 << 16;

} // namespace

void bounded_iarchive::check_size(uint64_t n, const char* what) {
  auto left = in_.in_avail();
  if (n > free_items && (left < 0 || n > static_cast<uint64_t>(left)))
    throw std::length_error(std::string{what} + " of " + std::to_string(n)
                            + " items with " + std::to_string(left)
                            + " bytes left");
}

void bounded_iarchive::load(std::string& s) {
  // As basic_binary_iprimitive reads a string: its length, then its bytes.
  std::size_t n = 0;
  load(n);
  auto left = in_.in_avail();
  if (left < 0 || n > static_cast<uint64_t>(left))
    throw std::length_error("a string of " + std::to_string(n)
                            + " bytes with " + std::to_string(left)
                            + " bytes left");
  s.resize(n);
  if (n > 0)
    load_binary(s.data(), n);
}

void bounded_iarchive::load_override(
  boost::serialization::collection_size_type& t) {
  base::load_override(t);
  check_size(static_cast<uint64_t>(std::size_t{t}), "a collection");
}

} // namespace caf_stream::detail
