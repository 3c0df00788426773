#pragma once

#include <map>
#include <string>
#include <tuple>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>

namespace caf_stream::flume {

/// A Flume event as a Flume agent's AvroSink sends it (Flume's
/// `AvroFlumeEvent`, Spark's `SparkFlumeEvent`): string headers and a body
/// of bytes.
struct event {
  std::map<std::string, std::string> headers;
  std::string body;

  friend bool operator==(const event& x, const event& y) {
    return std::tie(x.headers, x.body) == std::tie(y.headers, y.body);
  }

  friend bool operator!=(const event& x, const event& y) {
    return !(x == y);
  }

  friend bool operator<(const event& x, const event& y) {
    return std::tie(x.body, x.headers) < std::tie(y.body, y.headers);
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& headers& body;
  }
};

} // namespace caf_stream::flume
