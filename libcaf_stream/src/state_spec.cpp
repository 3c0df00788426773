#include "caf_stream/state_spec.hpp"

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

void throw_state_misuse(const char* what) {
  throw stream_error(errc::illegal_state, what);
}

} // namespace caf_stream::detail
