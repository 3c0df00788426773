#pragma once

#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"

#include "caf_stream/error.hpp"

namespace caf_stream::actors {

/// `x` written to bytes and read back, as another node gets it (the runtime
/// does this to every job set and task with `stream.serialize-messages`).
/// Throws `stream_error` if `x` cannot be written (records that have no
/// serialization) or read back.
template <class T>
T through_bytes(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x))
    throw stream_error(errc::job_failure,
                       "cannot write a message to bytes: " + sys.render(err));
  T result;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(result))
    throw stream_error(errc::job_failure,
                       "cannot read a message back from bytes: "
                         + sys.render(err));
  return result;
}

} // namespace caf_stream::actors
