#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/actors/error.hpp"
#include "caf_stream/dstream/state_operator.hpp"

#include "held_partition.hpp"
#include "support/summing_operator.hpp"

using namespace caf_stream;
using namespace caf_stream::actors;
using caf_stream::detail::block_records;
using caf_stream::detail::make_block;

// A state holder's partition (`actors/src/held_partition.hpp`), the logic
// of the holder actor: a running sum per partition, whose updates fail on
// a negative record.

namespace {

using records = support::summing_operator::records;

struct fixture {
  held_partition partition{std::make_shared<support::summing_operator>()};

  // Runs `what` for batch `t` with `in`: the sum it answers, or the error's
  // text.
  std::string call(state_call what, int64_t t, records in = {}) {
    auto x = partition.call(static_cast<uint8_t>(what),
                            caf_stream::time{t * 1000},
                            make_block(0, std::move(in)));
    if (!x)
      return "error: " + caf::to_string(x.error());
    if (!x->output.data)
      return "no output, keys " + std::to_string(x->keys);
    return std::to_string(block_records<int64_t>(x->output)->at(0)) + ", keys "
           + std::to_string(x->keys);
  }

  std::string update(int64_t t, records in) {
    return call(state_call::update, t, std::move(in));
  }
};

bool failed_with(const std::string& answer, const std::string& why) {
  return answer.rfind("error: ", 0) == 0
         && answer.find(why) != std::string::npos;
}

} // namespace

TEST_CASE_METHOD(fixture, "a held partition applies each batch's update "
                          "once",
                 "[actors][held_partition]") {
  CHECK(update(1, {}) == "0, keys 0");
  CHECK(update(2, {1, 2}) == "3, keys 1");
  // Batch 2 again (another job of it): the same answer, nothing added.
  CHECK(update(2, {1, 2}) == "3, keys 1");
  CHECK(update(2, {100}) == "3, keys 1");
  CHECK(update(3, {4}) == "7, keys 1");
  // An earlier batch is not the last one applied: it applies.
  CHECK(update(2, {1}) == "8, keys 1");
}

TEST_CASE_METHOD(fixture, "a failed update fails again when its batch comes "
                          "again, and the next batch applies",
                 "[actors][held_partition]") {
  REQUIRE(update(1, {5}) == "5, keys 1");
  auto failed = update(2, {-1});
  CHECK(failed_with(failed, "negative input"));
  CHECK(failed_with(update(2, {1}), "negative input"));
  CHECK(update(3, {1}) == "6, keys 1");
}

TEST_CASE_METHOD(fixture, "loads, snapshots and saves are not a batch's "
                          "update",
                 "[actors][held_partition]") {
  CHECK(call(state_call::load, 1, {10}) == "no output, keys 1");
  CHECK(update(1, {1}) == "11, keys 1");
  CHECK(call(state_call::snapshot, 1) == "11, keys 1");
  CHECK(call(state_call::save, 1) == "11, keys 1");
  // The update of batch 1 is still the last one applied.
  CHECK(update(1, {100}) == "11, keys 1");
}

TEST_CASE_METHOD(fixture, "a held partition refuses an unknown call",
                 "[actors][held_partition]") {
  auto x = partition.call(9, caf_stream::time{1000}, block{});
  REQUIRE(!x);
  CHECK(x.error() == errc::illegal_state);
  CHECK(update(1, {1}) == "1, keys 1");
}
