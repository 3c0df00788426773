#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/message.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/checkpoint/record_codec.hpp"
#include "caf_stream/error.hpp"

using namespace caf_stream;

namespace {

struct point {
  int x = 0;
  int y = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& x& y;
  }
};

struct opaque {
  int x = 0;
};

// `x` through bytes as a whole message, as the middleman writes and reads
// it: its type is registered.
template <class T>
T through_message(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = caf::make_message(x);
  if (auto err = sink(msg))
    FAIL(sys.render(err));
  caf::message got;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(got))
    FAIL(sys.render(err));
  REQUIRE(got.match_elements<T>());
  return got.get_as<T>(0);
}

// Partitions of lines that a generated input holds, whose writer can be
// made to write fewer bytes than it counts.
struct held_parts {
  std::vector<std::vector<std::string>> parts;
  size_t short_by = 0;
};

// `generated_input::write_held` of a `held_parts`.
size_t write_held_parts(const void* p, size_t i, detail::byte_out* out) {
  const auto& x = *static_cast<const held_parts*>(p);
  auto bytes = detail::to_bytes(x.parts[i]);
  if (out == nullptr)
    return bytes.size();
  bytes.resize(bytes.size() - x.short_by);
  out->append(bytes.data(), bytes.size());
  out->flush();
  return bytes.size();
}

template <class T>
std::vector<block> sealed(std::vector<T> xs) {
  detail::block_buffer<T> buf{3};
  for (auto& x : xs)
    buf.push(x);
  return buf.seal();
}

} // namespace

TEST_CASE("blocks cross node boundaries as Boost.Serialization bytes",
          "[actors][messages]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto roundtrip = [&](const std::vector<block>& xs) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto copy = xs;
    if (auto err = sink(copy))
      FAIL(sys.render(err));
    std::vector<block> result;
    caf::binary_deserializer source{sys, buf};
    if (auto err = source(result))
      FAIL(sys.render(err));
    return result;
  };
  SECTION("a block that a worker node keeps: its number, its node and that "
          "node's actor, without the records") {
    auto node = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
    block b;
    b.stream_id = 3;
    b.records = 5;
    b.id = 42;
    b.location = "127.0.0.1:4311";
    b.holder = std::make_shared<const block_holder>(block_holder{node});
    auto out = roundtrip({b});
    REQUIRE(out.size() == 1);
    CHECK(out[0].remote());
    CHECK(out[0].records == 5);
    CHECK(out[0].id == 42);
    CHECK(out[0].location == "127.0.0.1:4311");
    REQUIRE(out[0].holder != nullptr);
    CHECK(out[0].holder->node == node);
    CHECK(out[0].replica == nullptr);
    CHECK(out[0].replica_location.empty());
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  }
  SECTION("a block with a copy on a second node: both nodes and their "
          "actors") {
    auto node = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
    auto other = sys.spawn([] { return caf::behavior{[](int32_t) {}}; });
    block b;
    b.stream_id = 1;
    b.records = 7;
    b.id = 9;
    b.location = "127.0.0.1:4311";
    b.holder = std::make_shared<const block_holder>(block_holder{node});
    b.replica_location = "127.0.0.1:4312";
    b.replica = std::make_shared<const block_holder>(block_holder{other});
    auto out = roundtrip({b});
    REQUIRE(out.size() == 1);
    CHECK(out[0].remote());
    CHECK(out[0].id == 9);
    CHECK(out[0].kept_on("127.0.0.1:4311"));
    CHECK(out[0].kept_on("127.0.0.1:4312"));
    CHECK_FALSE(out[0].kept_on("127.0.0.1:4313"));
    REQUIRE(out[0].holder != nullptr);
    CHECK(out[0].holder->node == node);
    REQUIRE(out[0].replica != nullptr);
    CHECK(out[0].replica->node == other);
    for (auto& x : {node, other})
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  SECTION("strings") {
    auto out = roundtrip(sealed<std::string>({"a", "bb", ""}));
    REQUIRE(out.size() == 1);
    CHECK(out[0].stream_id == 3);
    CHECK(out[0].records == 3);
    CHECK(out[0].holder == nullptr);
    CHECK_FALSE(out[0].remote());
    CHECK(out[0].data == nullptr);
    CHECK(*detail::block_records<std::string>(out[0])
          == std::vector<std::string>{"a", "bb", ""});
  }
  SECTION("user records with serialize") {
    auto out = roundtrip(sealed<point>({{1, 2}, {3, 4}}));
    REQUIRE(out.size() == 1);
    auto xs = detail::block_records<point>(out[0]);
    REQUIRE(xs->size() == 2);
    CHECK((*xs)[1].x == 3);
    CHECK((*xs)[1].y == 4);
  }
  SECTION("lines stored as text") {
    detail::block_buffer<std::string> buf{3};
    std::string text = "a\r\nbb\n\n";
    buf.push_lines(text.data(), text.size(), 3);
    auto sealed = buf.seal();
    REQUIRE(sealed.size() == 1);
    CHECK(sealed[0].lines);
    auto expected = std::vector<std::string>{"a", "bb", ""};
    CHECK(*detail::block_records<std::string>(sealed[0]) == expected);
    auto out = roundtrip(sealed);
    REQUIRE(out.size() == 1);
    CHECK(out[0].lines);
    CHECK(out[0].records == 3);
    CHECK(out[0].data == nullptr);
    CHECK(*detail::block_records<std::string>(out[0]) == expected);
  }
  SECTION("lines stored as text, over several chunks") {
    detail::block_buffer<std::string> buf{3};
    std::vector<std::string> expected;
    for (int read = 0; read < 6; ++read) {
      std::string text;
      for (int i = 0; i < 1000; ++i) {
        expected.push_back(std::to_string(read) + ":" + std::string(90, 'x')
                           + std::to_string(i));
        text += expected.back() + "\n";
      }
      buf.push_lines(text.data(), text.size(), 1000);
    }
    auto sealed = buf.seal();
    REQUIRE(sealed.size() == 1);
    CHECK(sealed[0].records == 6000);
    auto chunks = detail::block_text(sealed[0]);
    CHECK(chunks->size() > 1);
    for (const auto& chunk : *chunks)
      CHECK(chunk.size() <= detail::text_chunk_size);
    CHECK(*detail::block_records<std::string>(sealed[0]) == expected);
    CHECK(*detail::block_records<std::string>(roundtrip(sealed)[0]) == expected);
    // The next block starts empty.
    CHECK(buf.seal().empty());
  }
  SECTION("records without serialize stay local, with a clear error") {
    auto xs = sealed<opaque>({{1}});
    CHECK(detail::block_records<opaque>(xs[0])->at(0).x == 1);
    CHECK_THROWS_WITH(xs[0].to_bytes(),
                      Catch::Contains("cannot leave this node"));
  }
}

TEST_CASE("caf-stream's errors cross node boundaries with their code and "
          "message",
          "[actors][messages]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  caf::error sent = caf::make_error(errc::job_failure, "f threw: boom");
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(sent))
    FAIL(sys.render(err));
  caf::error received;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(received))
    FAIL(sys.render(err));
  CHECK(received == errc::job_failure);
  CHECK(received != errc::invalid_graph);
  CHECK(is_stream_error(received));
  CHECK(message_of(received) == "f threw: boom");
  CHECK(sys.render(received) == "job_failure: f threw: boom");
  // CAF's own errors are not caf-stream's and carry no message of ours.
  caf::error timeout = caf::sec::request_timeout;
  CHECK_FALSE(is_stream_error(timeout));
  CHECK(message_of(timeout).empty());
}

TEST_CASE("a batch crosses node boundaries as a job set with its blocks",
          "[actors][messages]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  job_set sent;
  sent.batch_time = caf_stream::time{3000};
  sent.jobs = {job{caf_stream::time{3000}, 0, "print"},
               job{caf_stream::time{3000}, 2, "foreach_rdd"}};
  sent.blocks[3] = sealed<std::string>({"a b", "c"});
  sent.blocks[5] = {};
  sent.failure = "";
  sent.num_records = 2;
  sent.stream_records = {{3, 2}, {5, 0}};
  sent.submission_time = caf_stream::time{2990};
  auto js = through_message(sys, sent);
  CHECK(js.batch_time == caf_stream::time{3000});
  REQUIRE(js.jobs.size() == 2);
  CHECK(js.jobs[1].batch_time == caf_stream::time{3000});
  CHECK(js.jobs[1].output_id == 2);
  CHECK(js.jobs[1].name == "foreach_rdd");
  REQUIRE(js.blocks.size() == 2);
  REQUIRE(js.blocks.at(3).size() == 1);
  CHECK(js.blocks.at(3)[0].records == 2);
  CHECK(*detail::block_records<std::string>(js.blocks.at(3)[0])
        == std::vector<std::string>{"a b", "c"});
  CHECK(js.blocks.at(5).empty());
  CHECK(js.failure.empty());
  CHECK(js.num_records == 2);
  CHECK(js.stream_records == std::map<int32_t, int64_t>{{3, 2}, {5, 0}});
  CHECK(js.submission_time == caf_stream::time{2990});
}

TEST_CASE("a generated input's partitions written as it is sent cross as "
          "the bytes of their records",
          "[actors][messages]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  using lines = std::vector<std::string>;
  auto held = std::make_shared<held_parts>();
  held->parts = {{"a", "bc"}, {"x"}, {"d"}};
  generated_input in;
  in.records = 4;
  in.data = held;
  in.write_held = write_held_parts;
  in.partitions = {"", "the bytes of partition 1", ""};
  in.written_on_send = {write_held_parts(held.get(), 0, nullptr), 0,
                        write_held_parts(held.get(), 2, nullptr)};
  auto got = actors::through_bytes(sys, in);
  CHECK(got.records == 4);
  CHECK(got.data == nullptr);
  CHECK(got.written_on_send.empty());
  REQUIRE(got.partitions.size() == 3);
  lines first;
  detail::from_bytes(got.partitions[0], first);
  CHECK(first == lines{"a", "bc"});
  CHECK(got.partitions[1] == "the bytes of partition 1");
  lines last;
  detail::from_bytes(got.partitions[2], last);
  CHECK(last == lines{"d"});
  // Bytes other than those counted would cut the message: the send fails.
  held->short_by = 1;
  CHECK_THROWS_WITH(actors::through_bytes(sys, in),
                    Catch::Contains("changed while it was sent"));
}

TEST_CASE("listener events cross node boundaries with the state sizes, "
          "the checkpoint write times and the executors",
          "[actors][messages]") {
  stream_config cfg;
  caf::actor_system sys{cfg};
  auto roundtrip = [&](const listener_event& x) {
    return through_message(sys, x);
  };
  listener_event completed;
  completed.what = listener_event::kind::batch_completed;
  completed.info.batch_time = caf_stream::time{2000};
  completed.info.state_keys = {{0, 12}, {2, 0}};
  completed.info.tasks = {{"driver", {3, 1}}, {"127.0.0.1:7001", {5, 0}}};
  auto got = roundtrip(completed);
  CHECK(got.what == listener_event::kind::batch_completed);
  CHECK(got.info.state_keys == std::map<int32_t, int64_t>{{0, 12}, {2, 0}});
  CHECK(got.info.tasks
        == std::map<std::string, executor_tasks>{{"driver", {3, 1}},
                                                 {"127.0.0.1:7001", {5, 0}}});
  listener_event removed;
  removed.what = listener_event::kind::executor_removed;
  removed.executor.id = "127.0.0.1:7001";
  removed.executor.active = false;
  removed.executor.total_cores = 4;
  removed.executor.add_time = caf_stream::time{1000};
  removed.executor.remove_time = caf_stream::time{5000};
  removed.executor.remove_reason = "the node went down";
  got = roundtrip(removed);
  CHECK(got.what == listener_event::kind::executor_removed);
  CHECK(got.executor.id == "127.0.0.1:7001");
  CHECK_FALSE(got.executor.active);
  CHECK(got.executor.total_cores == 4);
  CHECK(got.executor.add_time == caf_stream::time{1000});
  CHECK(got.executor.remove_time == caf_stream::time{5000});
  CHECK(got.executor.remove_reason == "the node went down");
  removed.executor.remove_time.reset();
  CHECK_FALSE(roundtrip(removed).executor.remove_time);
  listener_event op;
  op.what = listener_event::kind::output_operation_completed;
  op.output.batch_time = caf_stream::time{3000};
  op.output.id = 2;
  op.output.name = "print";
  op.output.start_time = caf_stream::time{3100};
  op.output.end_time = caf_stream::time{3250};
  op.output.failure_reason = "boom";
  got = roundtrip(op);
  CHECK(got.what == listener_event::kind::output_operation_completed);
  CHECK(got.output.batch_time == caf_stream::time{3000});
  CHECK(got.output.id == 2);
  CHECK(got.output.name == "print");
  CHECK(got.output.run_time() == duration{150});
  CHECK(got.output.failure_reason == std::optional<std::string>{"boom"});
  listener_event started;
  started.what = listener_event::kind::streaming_started;
  started.started_at = caf_stream::time{500};
  got = roundtrip(started);
  CHECK(got.what == listener_event::kind::streaming_started);
  CHECK(got.started_at == caf_stream::time{500});
  listener_event written;
  written.what = listener_event::kind::checkpoint_written;
  written.checkpoint.batch_time = caf_stream::time{3000};
  written.checkpoint.with_data = true;
  written.checkpoint.write_time = std::chrono::microseconds{1234};
  written.checkpoint.failure_reason = "disk full";
  got = roundtrip(written);
  CHECK(got.what == listener_event::kind::checkpoint_written);
  CHECK(got.checkpoint.batch_time == caf_stream::time{3000});
  CHECK(got.checkpoint.with_data);
  CHECK(got.checkpoint.write_time == std::chrono::microseconds{1234});
  CHECK(got.checkpoint.failure_reason == std::optional<std::string>{"disk full"});
  written.checkpoint.failure_reason.reset();
  CHECK_FALSE(roundtrip(written).checkpoint.failure_reason);
}
