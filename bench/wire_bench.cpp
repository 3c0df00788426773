// The cost of moving records between nodes, per record: what the README's
// scaling estimate divides by. Blocks of (word, count) pairs, as a word
// count's map side or a worker's receiver hands them on, go to an actor in a
// child process (this program with --serve) through CAF's middleman on
// 127.0.0.1, with at most --in-flight blocks unanswered; the child decodes
// every record and answers how many it got. The same blocks written to
// bytes and read back in one process (no wire) split the cost into the
// encoding and the wire. With --block=1 every message carries one record,
// so the figure per message is what a message to another node and its
// answer cost (a remote task and its result).
//
//   wire_bench [--records=1000000] [--block=10000] [--in-flight=4]

#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_stream/actors/messages.hpp"
#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/actors/through_bytes.hpp"
#include "caf_stream/receiver/block.hpp"

#include "args.hpp"
#include "bench_support.hpp"
#include "lines.hpp"
#include "support/child_process.hpp"

using namespace caf_stream;
using actors::block_list;
using actors::blocks_atom;
using bench::seconds_since;
using bench::steady;

namespace {

using pair = std::pair<std::string, int64_t>;

// The records of `xs`, decoded.
int64_t decoded_records(const block_list& xs) {
  int64_t result = 0;
  for (const auto& x : xs)
    result += static_cast<int64_t>(detail::block_records<pair>(x)->size());
  return result;
}

// This program as the receiving node: serves until its standard input
// closes (or it is killed, as the measuring process does at its end).
int serve() {
  stream_config cfg;
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  auto sink = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](blocks_atom, const block_list& xs) { return decoded_records(xs); }};
  });
  auto port = sys.middleman().publish(sink, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "cannot publish: " << sys.render(port.error()) << '\n';
    return 1;
  }
  std::cout << "port " << *port << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    // nop
  }
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return 0;
}

// `n` (word, 1) pairs from Zipf-distributed lines, in blocks of `size`.
std::vector<block> make_blocks(size_t n, size_t size) {
  bench::line_generator gen{bench::line_spec{}};
  std::vector<block> result;
  std::vector<pair> records;
  while (n > 0) {
    bench::for_each_word(gen.next(), [&](const char* p, size_t len) {
      if (n == 0)
        return;
      records.emplace_back(std::string{p, len}, 1);
      --n;
      if (records.size() == size || n == 0)
        result.push_back(detail::make_block(0, std::exchange(records, {})));
    });
  }
  return result;
}

// The bytes a block list takes in a CAF message.
size_t wire_bytes(caf::actor_system& sys, const block_list& xs) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = xs;
  if (auto err = sink(copy))
    throw std::runtime_error("cannot write the blocks: " + sys.render(err));
  return buf.size();
}

} // namespace

int main(int argc, char** argv) {
  // --serve is how the bench starts its receiving node.
  bench::check_args(argc, argv,
                    "wire_bench [--records=1000000] [--block=10000] "
                    "[--in-flight=4]",
                    {"records", "block", "in-flight", "serve"});
  if (bench::has_flag(argc, argv, "serve"))
    return serve();
  auto num_records = bench::arg(argc, argv, "records", 1000000);
  auto block_size = bench::arg(argc, argv, "block", 10000);
  auto in_flight = bench::arg(argc, argv, "in-flight", 4);
  auto blocks = make_blocks(num_records, block_size);
  auto records = static_cast<double>(num_records);

  support::child_process node{{argv[0], "--serve"}};
  auto line = node.read_line();
  if (line.rfind("port ", 0) != 0) {
    std::cerr << "wire_bench: the receiving node did not start: " << line
              << '\n';
    return 1;
  }
  auto port = static_cast<uint16_t>(std::stoi(line.substr(5)));
  stream_config cfg;
  load_node_modules(cfg);
  caf::actor_system sys{cfg};
  auto sink = sys.middleman().remote_actor("127.0.0.1", port);
  if (!sink) {
    std::cerr << "wire_bench: cannot reach the receiving node: "
              << sys.render(sink.error()) << '\n';
    return 1;
  }

  size_t bytes = 0;
  for (const auto& b : blocks)
    bytes += wire_bytes(sys, block_list{b});

  // Encoding and decoding alone.
  auto t0 = steady::now();
  int64_t decoded = 0;
  for (const auto& b : blocks)
    decoded += decoded_records(actors::through_bytes(sys, block_list{b}));
  auto codec_s = seconds_since(t0);

  // Over the wire, with a bounded number of blocks in flight.
  caf::scoped_actor self{sys};
  int64_t received = 0;
  bool failed = false;
  auto ask = [&](const block& b) {
    return self->request(*sink, caf::infinite, blocks_atom::value,
                         block_list{b});
  };
  std::deque<decltype(ask(blocks.front()))> pending;
  auto take_oldest = [&] {
    pending.front().receive([&](int64_t n) { received += n; },
                            [&](caf::error& e) {
                              std::cerr << "wire_bench: " << sys.render(e)
                                        << '\n';
                              failed = true;
                            });
    pending.pop_front();
  };
  t0 = steady::now();
  for (const auto& b : blocks) {
    if (pending.size() == in_flight)
      take_oldest();
    pending.push_back(ask(b));
  }
  while (!pending.empty())
    take_oldest();
  auto wire_s = seconds_since(t0);
  if (failed || received != static_cast<int64_t>(num_records)
      || decoded != static_cast<int64_t>(num_records)) {
    std::cerr << "wire_bench: " << received << " records arrived, "
              << decoded << " decoded, of " << num_records << '\n';
    return 1;
  }

  auto per_record = static_cast<double>(bytes) / records;
  auto per_message = wire_s / static_cast<double>(blocks.size()) * 1e6;
  std::printf("wire: %zu (word, count) pairs in %zu blocks of %zu, %zu in "
              "flight: %.0f records/s to another process over loopback "
              "(%.3f us per record, %.1f us per message and its answer), "
              "%.1f bytes per record; encoding and decoding alone %.0f "
              "records/s (%.3f us per record)\n",
              num_records, blocks.size(), block_size, in_flight,
              records / wire_s, wire_s / records * 1e6, per_message,
              per_record, records / codec_s, codec_s / records * 1e6);
  std::printf("{\"bench\":\"wire\",\"records\":%zu,\"block_records\":%zu,"
              "\"in_flight\":%zu,\"wire_records_per_s\":%.0f,"
              "\"wire_us_per_record\":%.4f,\"us_per_message\":%.2f,"
              "\"bytes_per_record\":%.2f,\"codec_records_per_s\":%.0f,"
              "\"codec_us_per_record\":%.4f}\n",
              num_records, block_size, in_flight, records / wire_s,
              wire_s / records * 1e6, per_message, per_record,
              records / codec_s, codec_s / records * 1e6);
  return 0;
}
