// The connectors beside hand-written baselines doing the same work in the
// same run (ratios are what to compare; absolute figures are noisy):
//
// - Kafka -> word count: a direct stream over librdkafka's mock cluster
//   (in this process, a topic of 4 partitions) against a hand-written
//   librdkafka consumer loop counting the words of the same records;
// - ZeroMQ -> word count: zeromq::create_pull_stream reading lines from a
//   PUSH socket (a thread of this process) against a hand-written PULL loop
//   counting the words of the same lines from the same kind of peer;
// - MQTT -> word count: mqtt::create_stream (QoS 1) reading lines that a
//   publisher thread sends through a mosquitto broker (started by the
//   bench) against a hand-written libmosquitto subscriber loop counting the
//   words of the same lines from the same broker (skipped with --no-mqtt);
// - HTTP -> word count: http::create_stream (NDJSON) reading lines that a
//   local HTTP server of this process sends as one chunked response,
//   against a hand-written libcurl loop counting the words of the same
//   response;
// - Flume -> word count: flume::create_stream serving a Flume AvroSink
//   stand-in (a thread of this process sending the lines as events, 100 per
//   appendBatch, one batch in flight as an AvroSink has) against a
//   hand-written Avro server loop (the same protocol code, no engine)
//   counting the words of the same events from the same sender;
// - Flume (pulled) -> word count: flume::create_polling_stream pulling
//   from a Spark Sink stand-in (a thread of this process handing out the
//   lines as events, up to 1000 per getEventBatch, each batch acknowledged
//   before the next is asked for) against a hand-written SparkFlumeProtocol
//   client loop (the same protocol code, no engine) counting the words of
//   the same events from the same sink;
// - rows per second into SQLite and PostgreSQL: save_to_sqlite and
//   save_to_postgresql (one transaction per batch, with the progress
//   record) against a hand-written loop doing the same inserts, a batch per
//   transaction (prepared inserts into SQLite, COPY into PostgreSQL). The
//   PostgreSQL part starts a throwaway server (skipped with --no-postgresql).
//
// Prints one line per figure and a JSON record per workload.
//
//   connectors_bench [--lines=N] [--rows=R] [--batches=B] [--workers=W]
//                    [--no-postgresql] [--no-mqtt]
//
// Keep --lines at 100000 or below: a partition of the mock cluster keeps at
// most 5 MiB (older records are dropped silently).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <mosquitto.h>
#include <pqxx/pqxx>
#include <sqlite3.h>
#include <zmq.hpp>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/flume.hpp"
#include "caf_stream/flume/avro_rpc.hpp"
#include "caf_stream/flume/spark_sink_protocol.hpp"
#include "caf_stream/http.hpp"
#include "caf_stream/mqtt.hpp"
#include "caf_stream/zeromq.hpp"

#include "bench_support.hpp"
#include "spark_sink_peer.hpp"
#include "support/http_server.hpp"
#include "support/kafka_cluster.hpp"
#include "support/mosquitto_broker.hpp"
#include "support/ports.hpp"
#include "support/postgresql_server.hpp"

using namespace caf_stream;
using bench::seconds_since;
using bench::steady;

namespace {

using count = std::pair<std::string, int64_t>;

void report(const char* workload, const char* unit, size_t n,
            double baseline_s, double engine_s, bool agree, size_t workers) {
  auto base_rate = static_cast<double>(n) / baseline_s;
  auto engine_rate = static_cast<double>(n) / engine_s;
  std::printf("%s: baseline %.0f %s/s, caf-stream (%zu workers) %.0f %s/s, "
              "ratio %.2f, answers agree: %s\n",
              workload, base_rate, unit, workers, engine_rate, unit,
              engine_rate / base_rate, agree ? "yes" : "NO");
  std::printf("{\"workload\":\"%s\",\"unit\":\"%s\",\"workers\":%zu,"
              "\"records\":%zu,\"baseline_per_s\":%.0f,\"engine_per_s\":%.0f,"
              "\"ratio\":%.3f,\"answers_agree\":%s}\n",
              workload, unit, workers, n, base_rate, engine_rate,
              engine_rate / base_rate, agree ? "true" : "false");
}

// The number of words a baseline counted.
int64_t total_words(const std::unordered_map<std::string, int64_t>& counts) {
  int64_t total = 0;
  for (auto& kv : counts)
    total += kv.second;
  return total;
}

// Counts `words` per batch into `total`, telling `d` when a batch is done.
void count_words(const dstream<std::string>& words, bench::driver& d,
                 std::atomic<int64_t>& total) {
  words.map([](const std::string& w) { return count{w, 1}; })
    .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
    .foreach_rdd([&](const rdd<count>& r) {
      total += bench::sum_counts(r);
      d.batch_done();
    });
}

// Counts the words of `lines_in` batch by batch: starts the context, then
// the peer (`start_peer()`), and cuts batches one after the other until the
// count reaches `expected`. Returns the seconds that took and whether the
// counts agree.
template <class StartPeer>
std::pair<double, bool> engine_word_count(bench::driver& d,
                                          const dstream<std::string>& lines_in,
                                          int64_t expected,
                                          StartPeer start_peer) {
  std::atomic<int64_t> total{0};
  count_words(
    lines_in.flat_map([](const std::string& l) { return bench::split(l); }),
    d, total);
  d.context().start();
  auto t0 = steady::now();
  start_peer();
  for (size_t i = 0; i < 1000000 && total < expected; ++i)
    d.next();
  auto seconds = seconds_since(t0);
  d.context().stop();
  return {seconds, total == expected};
}

// -- Kafka -> word count ------------------------------------------------------

int64_t consumer_loop(const support::kafka_cluster& kc, int partitions,
                      size_t lines) {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", kc.bootstraps().c_str(), errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", "baseline", errstr, sizeof(errstr));
  auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  auto* xs = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(xs, "lines", p)->offset = 0;
  rd_kafka_assign(rk, xs);
  rd_kafka_topic_partition_list_destroy(xs);
  std::unordered_map<std::string, int64_t> counts;
  size_t seen = 0;
  while (seen < lines) {
    auto* msg = rd_kafka_consumer_poll(rk, 10000);
    if (msg == nullptr)
      break;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++seen;
      std::string line{static_cast<const char*>(msg->payload), msg->len};
      bench::for_each_word(line, [&](const char* w, size_t n) {
        ++counts[std::string{w, n}];
      });
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return total_words(counts);
}

void kafka_word_count(size_t lines, size_t batches,
                      const stream_options& opts) {
  constexpr int partitions = 4;
  support::kafka_cluster kc;
  kc.create_topic("lines", partitions);
  auto text = bench::make_lines(lines);
  for (size_t i = 0; i < text.size(); ++i)
    kc.produce_async("lines", static_cast<int32_t>(i % partitions), text[i]);
  kc.flush();
  auto t0 = steady::now();
  auto baseline_total = consumer_loop(kc, partitions, lines);
  auto baseline_s = seconds_since(t0);
  // The engine reads the same records, `batches` batches' worth at a time.
  auto per_partition = static_cast<double>(lines) / partitions;
  auto engine_opts = opts;
  engine_opts.kafka_max_rate_per_partition
    = std::ceil(per_partition / static_cast<double>(batches));
  bench::driver d{engine_opts, false};
  std::atomic<int64_t> engine_total{0};
  using record = kafka::consumer_record<std::string, std::string>;
  std::vector<kafka::topic_partition> tps;
  for (int p = 0; p < partitions; ++p)
    tps.push_back({"lines", p});
  auto records = kafka::create_direct_stream(
    d.context(), kafka::prefer_consistent(),
    kafka::assign<std::string, std::string>(
      tps, {{"bootstrap.servers", kc.bootstraps()},
            {"auto.offset.reset", "earliest"}}));
  count_words(
    records.flat_map([](const record& r) { return bench::split(r.value); }),
    d, engine_total);
  d.context().start();
  auto engine_s = d.run(batches);
  d.context().stop();
  report("kafka_word_count", "lines", lines, baseline_s, engine_s,
         baseline_total == engine_total, engine_opts.workers);
}

// -- ZeroMQ -> word count -----------------------------------------------------

// A PUSH socket on a free port of 127.0.0.1 that sends `text` from a thread
// of its own once started (blocking at ZeroMQ's high-water mark while the
// reader is behind).
class pusher {
public:
  explicit pusher(const std::vector<std::string>& text)
    : text_(text), socket_(ctx_, zmq::socket_type::push) {
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  ~pusher() {
    if (thread_.joinable())
      thread_.join();
  }

  const std::string& endpoint() const {
    return endpoint_;
  }

  void start() {
    thread_ = std::thread{[this] {
      for (const auto& line : text_)
        socket_.send(zmq::buffer(line));
    }};
  }

private:
  const std::vector<std::string>& text_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
  std::thread thread_;
};

int64_t pull_loop(const std::string& endpoint, size_t lines) {
  zmq::context_t ctx{1};
  zmq::socket_t socket{ctx, zmq::socket_type::pull};
  socket.connect(endpoint);
  std::unordered_map<std::string, int64_t> counts;
  zmq::message_t msg;
  for (size_t i = 0; i < lines; ++i) {
    if (!socket.recv(msg))
      break;
    auto line = msg.to_string();
    bench::for_each_word(line, [&](const char* w, size_t n) {
      ++counts[std::string{w, n}];
    });
  }
  return total_words(counts);
}

void zeromq_word_count(size_t lines, const stream_options& opts) {
  auto text = bench::make_lines(lines);
  int64_t baseline_total = 0;
  double baseline_s = 0;
  {
    pusher peer{text};
    auto t0 = steady::now();
    peer.start();
    baseline_total = pull_loop(peer.endpoint(), lines);
    baseline_s = seconds_since(t0);
  }
  pusher peer{text};
  bench::driver d{opts, false};
  auto lines_in = zeromq::create_pull_stream<std::string>(
    d.context(), peer.endpoint(),
    [](const zeromq::frames& msg) { return msg; });
  auto [engine_s, agree] = engine_word_count(d, lines_in, baseline_total,
                                             [&] { peer.start(); });
  report("zeromq_word_count", "lines", lines, baseline_s, engine_s, agree,
         opts.workers);
}

// -- MQTT -> word count -------------------------------------------------------

// Publishes `text` to the topic "lines" at QoS 1 from a thread of its own
// once started (libmosquitto keeps 20 messages in flight and queues the
// rest).
class mqtt_publisher {
public:
  mqtt_publisher(int port, const std::vector<std::string>& text)
    : port_(port), text_(text) {
    // nop
  }

  ~mqtt_publisher() {
    if (thread_.joinable())
      thread_.join();
  }

  void start() {
    thread_ = std::thread{[this] { publish(); }};
  }

private:
  void publish() {
    size_t acked = 0;
    auto mosq = mosquitto_new(nullptr, true, &acked);
    mosquitto_publish_callback_set(mosq, [](mosquitto*, void* obj, int) {
      ++*static_cast<size_t*>(obj);
    });
    if (mosquitto_connect(mosq, "127.0.0.1", port_, 60) != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "error: the MQTT publisher cannot connect\n");
      mosquitto_destroy(mosq);
      return;
    }
    for (const auto& line : text_)
      mosquitto_publish(mosq, nullptr, "lines", static_cast<int>(line.size()),
                        line.data(), 1, false);
    while (acked < text_.size())
      if (mosquitto_loop(mosq, 100, 1) != MOSQ_ERR_SUCCESS)
        break;
    mosquitto_disconnect(mosq);
    mosquitto_destroy(mosq);
  }

  int port_;
  const std::vector<std::string>& text_;
  std::thread thread_;
};

// Subscribes `client_id` to "lines" in a session the broker keeps, so that
// it queues what is published before the subscriber connects.
void keep_session(const std::string& url, const std::string& client_id) {
  mqtt::settings cfg;
  cfg.client_id = client_id;
  cfg.clean_session = false;
  mqtt::detail::mqtt_client client{
    mqtt::detail::parse_broker_url(url, "bench"), {"lines"}, cfg};
  client.disconnect();
}

struct subscriber_counts {
  std::unordered_map<std::string, int64_t> words;
  size_t lines = 0;
};

int64_t subscribe_loop(int port, size_t lines) {
  subscriber_counts counts;
  auto mosq = mosquitto_new("bench-baseline", false, &counts);
  mosquitto_message_callback_set(
    mosq, [](mosquitto*, void* obj, const mosquitto_message* m) {
      auto& c = *static_cast<subscriber_counts*>(obj);
      std::string line{static_cast<const char*>(m->payload),
                       static_cast<size_t>(m->payloadlen)};
      bench::for_each_word(line, [&](const char* w, size_t n) {
        ++c.words[std::string{w, n}];
      });
      ++c.lines;
    });
  if (mosquitto_connect(mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
    throw std::runtime_error("the subscriber cannot connect");
  while (counts.lines < lines)
    if (mosquitto_loop(mosq, 1000, 1) != MOSQ_ERR_SUCCESS)
      break;
  mosquitto_disconnect(mosq);
  mosquitto_destroy(mosq);
  return total_words(counts.words);
}

void mqtt_word_count(size_t lines, const stream_options& opts) {
  auto text = bench::make_lines(lines);
  // Queues of the broker are unbounded here: nothing published is dropped.
  support::mosquitto_broker broker{"max_queued_messages 0\n"};
  mosquitto_lib_init();
  keep_session(broker.url(), "bench-baseline");
  int64_t baseline_total = 0;
  double baseline_s = 0;
  {
    mqtt_publisher peer{broker.port(), text};
    auto t0 = steady::now();
    peer.start();
    baseline_total = subscribe_loop(broker.port(), lines);
    baseline_s = seconds_since(t0);
  }
  // Only now: the session would otherwise get the baseline's lines too.
  keep_session(broker.url(), "bench-engine");
  mqtt_publisher peer{broker.port(), text};
  bench::driver d{opts, false};
  mqtt::settings cfg;
  cfg.client_id = "bench-engine";
  cfg.clean_session = false;
  auto lines_in = mqtt::create_stream(d.context(), broker.url(), {"lines"},
                                      cfg);
  auto [engine_s, agree] = engine_word_count(d, lines_in, baseline_total,
                                             [&] { peer.start(); });
  report("mqtt_word_count", "lines", lines, baseline_s, engine_s, agree,
         opts.workers);
}

// -- HTTP -> word count -------------------------------------------------------

// Queues a response that sends `text` as NDJSON in chunks of about 64 KiB
// and ends.
void serve_lines(support::http_server& server,
                 const std::vector<std::string>& text) {
  server.add([&text](support::http_server::connection& c) {
    c.send_head(200, "application/x-ndjson");
    std::string chunk;
    for (const auto& line : text) {
      chunk += line;
      chunk += '\n';
      if (chunk.size() >= 65536) {
        c.send_chunk(chunk);
        chunk.clear();
      }
    }
    if (!chunk.empty())
      c.send_chunk(chunk);
    c.send_chunk("");
  });
}

struct curl_counts {
  std::string partial;
  std::unordered_map<std::string, int64_t> words;
};

size_t count_curl_words(char* data, size_t, size_t size, void* obj) {
  auto& c = *static_cast<curl_counts*>(obj);
  c.partial.append(data, size);
  size_t begin = 0;
  for (auto end = c.partial.find('\n'); end != std::string::npos;
       end = c.partial.find('\n', begin)) {
    bench::for_each_word(c.partial.substr(begin, end - begin),
                         [&](const char* w, size_t n) {
                           ++c.words[std::string{w, n}];
                         });
    begin = end + 1;
  }
  c.partial.erase(0, begin);
  return size;
}

int64_t curl_loop(const std::string& url) {
  curl_counts counts;
  auto* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_curl_words);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &counts);
  curl_easy_perform(h);
  curl_easy_cleanup(h);
  return total_words(counts.words);
}

void http_word_count(size_t lines, const stream_options& opts) {
  auto text = bench::make_lines(lines);
  support::http_server server;
  serve_lines(server, text);
  auto t0 = steady::now();
  auto baseline_total = curl_loop(server.url("/lines"));
  auto baseline_s = seconds_since(t0);
  serve_lines(server, text);
  bench::driver d{opts, false};
  auto lines_in = http::create_stream(d.context(), server.url("/lines"),
                                      http::format::ndjson);
  // The response waits for the request: the receiver's start is the peer's.
  auto [engine_s, agree] = engine_word_count(d, lines_in, baseline_total,
                                             [] {});
  report("http_word_count", "lines", lines, baseline_s, engine_s, agree,
         opts.workers);
}

// -- Flume -> word count ------------------------------------------------------

// A TCP socket on 127.0.0.1:`port`: connected (retrying until something
// listens there) or listening.
int loopback_socket(int port, bool listen) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (listen ? ::bind(fd, sa, sizeof(addr)) == 0 && ::listen(fd, 1) == 0
               : ::connect(fd, sa, sizeof(addr)) == 0)
      return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

// A Flume AvroSink stand-in: once started, sends `text` as events to
// 127.0.0.1:`port`, 100 per appendBatch, each batch after the status of the
// one before (again after FAILED).
class avro_sink {
public:
  avro_sink(int port, const std::vector<std::string>& text)
    : port_(port), text_(text) {
    // nop
  }

  ~avro_sink() {
    if (thread_.joinable())
      thread_.join();
  }

  void start() {
    thread_ = std::thread{[this] { send_all(); }};
  }

private:
  void send_all() {
    int fd = loopback_socket(port_, false);
    flume::detail::avro_source_requestor requestor;
    std::vector<flume::detail::status> statuses;
    std::vector<flume::event> events;
    std::string out;
    char buf[256];
    for (size_t i = 0; i < text_.size();) {
      events.clear();
      for (size_t j = i; j < std::min(i + 100, text_.size()); ++j)
        events.push_back({{}, text_[j]});
      out.clear();
      requestor.append_batch(out, events);
      statuses.clear();
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0)
        break;
      while (statuses.empty()) {
        auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
          break;
        requestor.feed(buf, static_cast<size_t>(n), statuses);
      }
      if (statuses.empty()) {
        std::fprintf(stderr, "error: the Flume source closed the connection\n");
        break;
      }
      if (statuses.front() == flume::detail::status::ok)
        i += events.size();
    }
    ::close(fd);
  }

  int port_;
  const std::vector<std::string>& text_;
  std::thread thread_;
};

// The baseline: a hand-written Avro server of one connection, counting the
// words of the events until it has `lines` of them.
int64_t avro_server_loop(int listener, size_t lines) {
  int fd = ::accept(listener, nullptr, nullptr);
  flume::detail::flume_connection conn{16 * 1024 * 1024};
  std::unordered_map<std::string, int64_t> counts;
  size_t seen = 0;
  auto serve = [&](flume::detail::request&& req) {
    for (const auto& e : req.events)
      bench::for_each_word(e.body, [&](const char* w, size_t n) {
        ++counts[std::string{w, n}];
      });
    seen += req.events.size();
    return flume::detail::status::ok;
  };
  std::vector<char> buf(64 * 1024);
  std::string replies;
  while (seen < lines) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    replies.clear();
    conn.feed(buf.data(), static_cast<size_t>(n), serve, replies);
    ::send(fd, replies.data(), replies.size(), MSG_NOSIGNAL);
  }
  ::close(fd);
  return total_words(counts);
}

void flume_word_count(size_t lines, const stream_options& opts) {
  auto text = bench::make_lines(lines);
  int64_t baseline_total = 0;
  double baseline_s = 0;
  {
    auto port = support::free_port();
    int listener = loopback_socket(port, true);
    avro_sink peer{port, text};
    auto t0 = steady::now();
    peer.start();
    baseline_total = avro_server_loop(listener, lines);
    baseline_s = seconds_since(t0);
    ::close(listener);
  }
  auto port = support::free_port();
  avro_sink peer{port, text};
  bench::driver d{opts, false};
  auto lines_in = flume::create_stream(d.context(), "127.0.0.1", port)
                    .map([](const flume::event& e) { return e.body; });
  // The sender connects once the receiver listens.
  auto [engine_s, agree] = engine_word_count(d, lines_in, baseline_total,
                                             [&] { peer.start(); });
  report("flume_word_count", "lines", lines, baseline_s, engine_s, agree,
         opts.workers);
}

// The baseline: a hand-written SparkFlumeProtocol client on `fd`, asking
// for 1000 events at a time and acknowledging each batch once its words are
// counted, until it has `lines` events.
int64_t spark_sink_client_loop(int fd, size_t lines) {
  flume::detail::spark_sink_requestor requestor{64 * 1024 * 1024};
  std::vector<std::optional<flume::detail::event_batch>> replies;
  std::unordered_map<std::string, int64_t> counts;
  std::vector<char> buf(64 * 1024);
  std::string out;
  // Sends `out` and reads until its reply; false if the sink went away.
  auto call = [&] {
    replies.clear();
    if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0)
      return false;
    out.clear();
    while (replies.empty()) {
      auto n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0)
        return false;
      requestor.feed(buf.data(), static_cast<size_t>(n), replies);
    }
    return true;
  };
  size_t seen = 0;
  while (seen < lines) {
    requestor.get_event_batch(out, 1000);
    if (!call())
      break;
    auto batch = std::move(*replies.front());
    for (const auto& e : batch.events)
      bench::for_each_word(e.body, [&](const char* w, size_t n) {
        ++counts[std::string{w, n}];
      });
    seen += batch.events.size();
    requestor.ack(out, batch.sequence_number);
    if (!call())
      break;
  }
  return total_words(counts);
}

void flume_polling_word_count(size_t lines, const stream_options& opts) {
  auto text = bench::make_lines(lines);
  int64_t baseline_total = 0;
  double baseline_s = 0;
  {
    auto port = support::free_port();
    int listener = loopback_socket(port, true);
    bench::spark_sink_peer sink{listener, text};
    sink.start();
    auto t0 = steady::now();
    int fd = loopback_socket(port, false);
    baseline_total = spark_sink_client_loop(fd, lines);
    baseline_s = seconds_since(t0);
    ::close(fd);
    ::close(listener);
  }
  auto port = support::free_port();
  int listener = loopback_socket(port, true);
  bench::spark_sink_peer sink{listener, text};
  sink.start();
  bench::driver d{opts, false};
  auto lines_in = flume::create_polling_stream(d.context(), "127.0.0.1", port)
                    .map([](const flume::event& e) { return e.body; });
  auto [engine_s, agree] = engine_word_count(d, lines_in, baseline_total,
                                             [] {});
  report("flume_polling_word_count", "lines", lines, baseline_s, engine_s,
         agree, opts.workers);
  ::close(listener);
}

// -- database sinks -------------------------------------------------------------

std::vector<std::vector<count>> make_rows(size_t rows, size_t batches) {
  std::vector<std::vector<count>> result(batches);
  for (size_t i = 0; i < rows; ++i)
    result[i % batches].emplace_back("w" + std::to_string(i),
                                     static_cast<int64_t>(i));
  return result;
}

// Runs the batches of `rows` through `attach(stream)`; returns the seconds.
template <class Attach>
double run_sink(const std::vector<std::vector<count>>& rows,
                const stream_options& opts, Attach attach) {
  bench::driver d{opts, false};
  auto queue = std::make_shared<rdd_queue<count>>();
  for (auto& b : rows)
    queue->push(parallelize(b, opts.default_parallelism));
  auto s = d.context().queue_stream(queue);
  attach(s);
  // A batch is done when all its jobs are (the sink's included).
  struct completion final : streaming_listener {
    explicit completion(bench::driver& x) : d(x) {
    }
    void on_batch_completed(const batch_info&) override {
      d.batch_done();
    }
    bench::driver& d;
  };
  d.context().add_streaming_listener(std::make_shared<completion>(d));
  d.context().start();
  auto seconds = d.run(rows.size());
  d.context().stop();
  return seconds;
}

std::tuple<std::string, int64_t> as_row(const count& x) {
  return {x.first, x.second};
}

void sqlite_rows(size_t rows, size_t batches, const stream_options& opts) {
  auto data = make_rows(rows, batches);
  testing::temporary_directory dir;
  auto base_db = dir.path() + "/baseline.db";
  auto t0 = steady::now();
  sqlite3* db = nullptr;
  sqlite3_open(base_db.c_str(), &db);
  sqlite3_exec(db, "create table t (w text not null, n integer not null)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "insert into t (w, n) values (?, ?)", -1, &st,
                     nullptr);
  for (auto& b : data) {
    sqlite3_exec(db, "begin immediate", nullptr, nullptr, nullptr);
    for (auto& [w, n] : b) {
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, w.c_str(), static_cast<int>(w.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, n);
      sqlite3_step(st);
    }
    sqlite3_exec(db, "commit", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  auto baseline_s = seconds_since(t0);
  auto engine_db = dir.path() + "/engine.db";
  sinks::table_options table;
  table.columns = {"w", "n"};
  table.create_if_missing = true;
  auto engine_s = run_sink(data, opts, [&](const dstream<count>& s) {
    sinks::save_to_sqlite(s, engine_db, "t", as_row, table);
  });
  auto rows_in = [](const std::string& path) {
    sqlite3* c = nullptr;
    sqlite3_open(path.c_str(), &c);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(c, "select count(*), sum(n) from t", -1, &q, nullptr);
    sqlite3_step(q);
    auto result = std::make_pair(sqlite3_column_int64(q, 0),
                                 sqlite3_column_int64(q, 1));
    sqlite3_finalize(q);
    sqlite3_close(c);
    return result;
  };
  report("sqlite_rows", "rows", rows, baseline_s, engine_s,
         rows_in(base_db) == rows_in(engine_db), opts.workers);
}

void postgresql_rows(size_t rows, size_t batches, const stream_options& opts) {
  auto data = make_rows(rows, batches);
  support::postgresql_server server;
  auto db = server.conninfo();
  auto t0 = steady::now();
  {
    pqxx::connection conn{db};
    {
      pqxx::work w{conn};
      w.exec0("create table base (w text not null, n bigint not null)");
      w.commit();
    }
    for (auto& b : data) {
      pqxx::work w{conn};
      pqxx::stream_to out{w, "base", std::vector<std::string>{"w", "n"}};
      for (auto& [word, n] : b)
        out << std::make_tuple(word, n);
      out.complete();
      w.commit();
    }
  }
  auto baseline_s = seconds_since(t0);
  sinks::table_options table;
  table.columns = {"w", "n"};
  table.create_if_missing = true;
  auto engine_s = run_sink(data, opts, [&](const dstream<count>& s) {
    sinks::save_to_postgresql(s, db, "eng", as_row, table);
  });
  auto rows_in = [&](const char* t) {
    pqxx::connection conn{db};
    pqxx::read_transaction tx{conn};
    auto r = tx.exec1(std::string{"select count(*), sum(n) from "} + t);
    return std::make_pair(r[0].as<int64_t>(), r[1].as<int64_t>());
  };
  report("postgresql_rows", "rows", rows, baseline_s, engine_s,
         rows_in("base") == rows_in("eng"), opts.workers);
}

} // namespace

int main(int argc, char** argv) {
  bench::check_args(argc, argv,
                    "connectors_bench [--lines=N] [--rows=R] [--batches=B] "
                    "[--workers=W] [--no-postgresql] [--no-mqtt]",
                    {"lines", "rows", "batches", "workers", "no-postgresql",
                     "no-mqtt"});
  try {
    auto lines = static_cast<size_t>(
      bench::arg_number(argc, argv, "lines", 100000));
    auto rows = static_cast<size_t>(
      bench::arg_number(argc, argv, "rows", 200000));
    auto batches = static_cast<size_t>(
      bench::arg_number(argc, argv, "batches", 10));
    auto opts = bench::options();
    opts.workers = static_cast<size_t>(bench::arg_number(argc, argv,
                                                         "workers", 2));
    opts = opts.resolved();
    set_log_level("warn");
    kafka_word_count(lines, batches, opts);
    zeromq_word_count(lines, opts);
    if (!bench::has_flag(argc, argv, "no-mqtt"))
      mqtt_word_count(lines, opts);
    http_word_count(lines, opts);
    flume_word_count(lines, opts);
    flume_polling_word_count(lines, opts);
    sqlite_rows(rows, batches, opts);
    if (!bench::has_flag(argc, argv, "no-postgresql"))
      postgresql_rows(rows, batches, opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
