#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf_stream/checkpoint/serialization.hpp"
#include "caf_stream/receiver/block_store.hpp"

using namespace caf_stream;

namespace {

block kept(int32_t stream, uint64_t id, std::vector<int64_t> xs) {
  auto b = detail::make_block(stream, std::move(xs));
  b.id = id;
  b.location = "127.0.0.1:4311";
  return b;
}

} // namespace

TEST_CASE("a worker node's store hands out a kept block by pointer and as "
          "bytes in pieces",
          "[receiver][block_store]") {
  block_store store;
  store.put(kept(0, 7, {1, 2, 3, 4, 5}));
  store.put(kept(1, 8, {9}));
  REQUIRE(store.size() == 2);
  const auto* b = store.find(7);
  REQUIRE(b != nullptr);
  CHECK(*detail::block_records<int64_t>(*b)
        == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK(store.find(9) == nullptr);
  // The pieces, put together, are the records' bytes.
  std::string bytes;
  uint64_t total = 0;
  do {
    auto piece = store.read(7, bytes.size(), 3);
    REQUIRE(piece);
    CHECK(piece->first.size() <= 3);
    total = piece->second;
    bytes += piece->first;
  } while (bytes.size() < total);
  std::vector<int64_t> xs;
  detail::from_bytes(bytes, xs);
  CHECK(xs == std::vector<int64_t>{1, 2, 3, 4, 5});
  // Past the end: nothing, and the total.
  auto past = store.read(7, total + 10, 3);
  REQUIRE(past);
  CHECK(past->first.empty());
  CHECK(past->second == total);
  CHECK_FALSE(store.read(9, 0, 3));
}

TEST_CASE("a worker node's store forgets released blocks and those of a "
          "driver that went away",
          "[receiver][block_store]") {
  block_store store;
  // Driver 1 keeps blocks of streams 0 and 1; driver 2 took stream 0 over.
  store.put(kept(0, 1, {1}), 1);
  store.put(kept(0, 2, {2}), 1);
  store.put(kept(1, 3, {3}), 1);
  store.put(kept(0, 4, {4}), 2);
  store.release({1, 42});
  CHECK(store.find(1) == nullptr);
  CHECK(store.size() == 3);
  CHECK(store.drop_owner(1) == 2);
  CHECK(store.find(2) == nullptr);
  CHECK(store.find(3) == nullptr);
  REQUIRE(store.find(4) != nullptr);
  CHECK(store.find(4)->stream_id == 0);
  CHECK(store.drop_owner(1) == 0);
  CHECK(store.size() == 1);
}

TEST_CASE("block numbers are unique in a process", "[receiver][block_store]") {
  auto a = block_store::next_id();
  auto b = block_store::next_id();
  CHECK(a != 0);
  CHECK(b != a);
}
