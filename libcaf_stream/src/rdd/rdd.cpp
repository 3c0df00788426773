#include "caf_stream/rdd/rdd.hpp"

#include <string>

#include "caf_stream/error.hpp"

namespace caf_stream::detail {

void throw_empty_collection(const char* action) {
  throw stream_error(errc::illegal_state,
                     std::string{action} + ": empty collection");
}

void throw_malformed_partition(size_t index, const char* why) {
  throw stream_error(errc::job_failure,
                     "partition " + std::to_string(index)
                       + ", which a worker node computed, is malformed (does "
                         "the node run the same program?): "
                       + why);
}

} // namespace caf_stream::detail
