#include "caf_stream/rdd/rdd.hpp"

#include <string>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

void throw_empty_collection(const char* action) {
  throw stream_error(errc::illegal_state,
                     std::string{action} + ": empty collection");
}

} // namespace caf_stream::detail
