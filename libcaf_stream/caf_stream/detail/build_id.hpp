#pragma once

#include <string>

namespace caf_stream::detail {

/// The GNU build id of the running executable in hex (what `file` and
/// `readelf -n` print), or an empty string if the linker wrote none. Two
/// processes with the same build id run the same program.
std::string executable_build_id();

} // namespace caf_stream::detail
