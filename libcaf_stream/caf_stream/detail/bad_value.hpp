#pragma once

#include <string>

namespace caf_stream::detail {

/// Throws `stream_error` (`errc::invalid_config`) with the sentence every
/// refused configuration value gets: "KEY = VALUE is invalid: RULE".
[[noreturn]] void bad_value(const std::string& key, const std::string& value,
                            const std::string& rule);

} // namespace caf_stream::detail
