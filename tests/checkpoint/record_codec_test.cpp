#include <catch2/catch.hpp>

#include <cstdint>
#include <exception>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "caf_stream/checkpoint/serialization.hpp"

using namespace caf_stream;

// Vectors of strings and pairs are written and read by hand: the bytes
// must be those Boost's own binary archive writes and reads.

namespace {

// What Boost's binary archive writes for `x`, as `to_bytes` asks it to (no
// header).
template <class T>
std::string boost_bytes(const T& x) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive ar{out, boost::archive::no_header};
    ar << x;
  }
  return out.str();
}

// What Boost's binary archive reads from `bytes`.
template <class T>
T boost_read(const std::string& bytes) {
  std::istringstream in{bytes};
  boost::archive::binary_iarchive ar{in, boost::archive::no_header};
  T result;
  ar >> result;
  return result;
}

// A `byte_out` that appends to a string.
class string_out final : public detail::byte_out {
public:
  std::string bytes;

protected:
  void write(const char* p, size_t n) override {
    bytes.append(p, n);
  }
};

// `x` written by hand gives Boost's bytes, and each reads the other's; a
// writer counts as many and writes the same through a `byte_out`.
template <class T>
void check_as_boost(const T& x) {
  static_assert(detail::written_by_hand<T>::value);
  auto ours = detail::to_bytes(x);
  auto theirs = boost_bytes(x);
  CHECK(ours == theirs);
  detail::byte_count n;
  detail::basic_record_writer<detail::byte_count>{n}.vector(x);
  CHECK(n.bytes == theirs.size());
  string_out out;
  detail::basic_record_writer<detail::byte_out>{out}.vector(x);
  out.flush();
  CHECK(out.bytes == theirs);
  CHECK(out.written() == theirs.size());
  T back;
  detail::from_bytes(theirs, back);
  CHECK(back == x);
  CHECK(boost_read<T>(ours) == x);
}

using bucket = std::vector<std::pair<std::pair<std::string, int64_t>, uint64_t>>;

std::string random_word(std::mt19937& gen) {
  std::uniform_int_distribution<int> length(0, 12);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string result(static_cast<size_t>(length(gen)), ' ');
  for (auto& c : result)
    c = static_cast<char>(letter(gen));
  return result;
}

} // namespace

TEST_CASE("vectors of strings and pairs are written by hand as Boost's "
          "archive writes them",
          "[serialization]") {
  check_as_boost(std::vector<std::string>{});
  check_as_boost(std::vector<std::string>{""});
  check_as_boost(std::vector<std::string>{"ab", "", "cde"});
  check_as_boost(std::vector<std::pair<std::string, int64_t>>{});
  check_as_boost(std::vector<std::pair<std::string, int64_t>>{{"ab", -7},
                                                              {"", 1}});
  check_as_boost(bucket{{{"ab", 3}, 4}, {{"c", 5}, 6}});
  check_as_boost(std::vector<std::pair<int32_t, std::string>>{{1, "x"}});
  // A pair inside the second part: its class information comes after the
  // first part's bytes.
  check_as_boost(std::vector<std::pair<std::string, std::pair<double, bool>>>{
    {"a", {0.5, true}}, {"bc", {-2.0, false}}});
  // The same pair type twice in a record: its class information once.
  using two = std::pair<int64_t, int64_t>;
  using twice = std::pair<std::pair<two, std::string>, two>;
  check_as_boost(std::vector<twice>{{{{1, 2}, "a"}, {3, 4}},
                                    {{{5, 6}, ""}, {7, 8}}});
  // Vectors of numbers or of pairs of numbers (Boost writes them as an
  // array of their memory), and other records, are Boost's to write.
  CHECK_FALSE(detail::written_by_hand<std::vector<int64_t>>::value);
  CHECK_FALSE(detail::written_by_hand<std::vector<two>>::value);
  CHECK_FALSE(
    detail::written_by_hand<std::vector<std::pair<two, two>>>::value);
  CHECK_FALSE(detail::written_by_hand<std::string>::value);
  struct opaque {};
  CHECK_FALSE(detail::written_by_hand<std::vector<opaque>>::value);
}

TEST_CASE("random buckets written by hand are Boost's bytes", "[serialization]") {
  std::mt19937 gen{20261205};
  std::uniform_int_distribution<int> size(0, 40);
  std::uniform_int_distribution<int64_t> number(-1000, 1000);
  for (int trial = 0; trial < 50; ++trial) {
    bucket xs;
    for (int i = size(gen); i > 0; --i)
      xs.push_back({{random_word(gen), number(gen)},
                    static_cast<uint64_t>(number(gen) + 1000)});
    check_as_boost(xs);
  }
}

TEST_CASE("bytes written by hand that are cut short or lie about their size "
          "are refused without allocating for them",
          "[serialization]") {
  auto bytes = detail::to_bytes(bucket{{{"ab", 3}, 4}, {{"cde", 5}, 6}});
  // Cut anywhere: refused, never read as fewer records.
  for (size_t n = 0; n < bytes.size(); ++n) {
    bucket xs;
    CHECK_THROWS(detail::from_bytes(std::string_view{bytes}.substr(0, n), xs));
  }
  // A size of 2^40 records in a few bytes.
  auto huge = detail::to_bytes(std::vector<std::string>{"a"});
  huge[5 + 5] = 1;
  std::vector<std::string> xs;
  CHECK_THROWS_AS(detail::from_bytes(huge, xs), std::length_error);
  // A string longer than the bytes left.
  auto longer = detail::to_bytes(std::vector<std::string>{"a"});
  longer[5 + 8 + 4 + 4] = 1;
  CHECK_THROWS_AS(detail::from_bytes(longer, xs), std::length_error);
  // A bool that is neither 0 nor 1.
  using flags = std::vector<std::pair<std::string, bool>>;
  auto bad = detail::to_bytes(flags{{"a", true}});
  CHECK(bad.back() == 1);
  bad.back() = 2;
  flags ys;
  CHECK_THROWS_AS(detail::from_bytes(bad, ys), std::invalid_argument);
}
