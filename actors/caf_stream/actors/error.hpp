#pragma once

#include <string>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/make_message.hpp"

#include "caf_stream/error.hpp"

/// `errc` is a CAF error category: `caf::make_error(errc::job_failure,
/// "what went wrong")` makes an error that crosses nodes with its code and
/// message, and `actor_system::render` shows it once the category is
/// registered (`add_stream_message_types`).
CAF_ERROR_CODE_ENUM(caf_stream::errc, "stream")

namespace caf_stream {

/// The category of caf-stream's own errors.
constexpr caf::atom_value errc_category = caf::atom("stream");

/// Renders an error of the `stream` category: "job_failure: what".
std::string render_errc(uint8_t code, caf::atom_value category,
                        const caf::message& context);

/// Whether `e` is one of caf-stream's own errors.
inline bool is_stream_error(const caf::error& e) noexcept {
  return e.category() == errc_category;
}

/// The message a caf-stream error carries ("" for others).
std::string message_of(const caf::error& e);

} // namespace caf_stream
