#include "caf_stream/scheduler/preferred_nodes.hpp"

#include <algorithm>

namespace caf_stream {

namespace {

// The host of `address` ("host:port"); all of it without a port.
std::string host_of(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

} // namespace

std::vector<size_t> preferred_nodes(const std::vector<std::string>& addresses,
                                    const std::vector<std::string>& locations) {
  std::vector<size_t> result;
  auto add = [&](size_t k) {
    if (std::find(result.begin(), result.end(), k) == result.end())
      result.push_back(k);
  };
  for (const auto& where : locations) {
    auto exact = std::find(addresses.begin(), addresses.end(), where);
    if (exact != addresses.end()) {
      add(static_cast<size_t>(exact - addresses.begin()));
      continue;
    }
    for (size_t k = 0; k < addresses.size(); ++k)
      if (host_of(addresses[k]) == where)
        add(k);
  }
  return result;
}

} // namespace caf_stream
