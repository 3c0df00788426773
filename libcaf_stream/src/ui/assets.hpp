#pragma once

#include <string>

/// The files of the streaming UI, embedded into the binary at build time
/// (cmake/embed.cmake): the page works without a network.
namespace caf_stream::ui {

/// The page (src/ui/assets/index.html).
const std::string& page_html();

/// Chart.js 3.9 as Debian's libjs-chart.js ships it (chart.min.js).
const std::string& chart_js();

} // namespace caf_stream::ui
