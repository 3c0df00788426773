#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "caf/config_option_adder.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/stream_config.hpp"
#include "caf_stream/testing/fixtures.hpp"

#include "support/certificates.hpp"

using namespace caf_stream;

namespace {

// An application's configuration: a flag, a number and a string of its own
// next to the `stream.*` options.
struct app_config : stream_config {
  bool generate = false;
  int seconds = 0;
  std::string prefix;
  app_config() {
    opt_group{custom_options_, "global"}
      .add(generate, "generate", "serve lines ourselves")
      .add(seconds, "seconds,s", "stop after this many seconds")
      .add(prefix, "output-prefix", "save counts under this prefix");
  }
};

// Parses `args` (the program name comes first) into `cfg`.
std::string parse(app_config& cfg, std::vector<std::string> args) {
  args.insert(args.begin(), "app");
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  return cfg.parse_command_line(static_cast<int>(argv.size()), argv.data());
}

// The stream options `args` give.
stream_options options_of(std::vector<std::string> args) {
  app_config cfg;
  REQUIRE(parse(cfg, std::move(args)) == "");
  return read_stream_options(cfg);
}

// Why the options of `args` are refused ("accepted" if they are not).
std::string refused(std::vector<std::string> args) {
  app_config cfg;
  REQUIRE(parse(cfg, std::move(args)) == "");
  try {
    read_stream_options(cfg);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "accepted";
}

} // namespace

TEST_CASE("the command line takes --key value and --key=value anywhere",
          "[actors][stream_config]") {
  app_config cfg;
  REQUIRE(parse(cfg, {"localhost", "--output-prefix", "out/counts", "9999",
                      "--generate", "--seconds=3", "--stream.workers", "2"})
          == "");
  CHECK(cfg.prefix == "out/counts");
  CHECK(cfg.generate);
  CHECK(cfg.seconds == 3);
  CHECK(caf::get_or(cfg, "stream.workers", size_t{0}) == 2);
  CHECK(cfg.remainder == std::vector<std::string>{"localhost", "9999"});
}

TEST_CASE("a flag takes =true or =false", "[actors][stream_config]") {
  app_config on;
  REQUIRE(parse(on, {"--generate=true"}) == "");
  CHECK(on.generate);
  app_config off;
  REQUIRE(parse(off, {"--generate=false", "--stream.ui.enabled=false"}) == "");
  CHECK_FALSE(off.generate);
  CHECK(static_cast<bool>(caf::get_if<bool>(&off, "stream.ui.enabled")));
  CHECK_FALSE(caf::get_or(off, "stream.ui.enabled", true));
  CHECK(read_stream_options(off).ui_enabled == std::optional<bool>{false});
}

TEST_CASE("short options take their value attached or as the next argument",
          "[actors][stream_config]") {
  app_config cfg;
  REQUIRE(parse(cfg, {"-s", "7", "host"}) == "");
  CHECK(cfg.seconds == 7);
  app_config attached;
  REQUIRE(parse(attached, {"-s8"}) == "");
  CHECK(attached.seconds == 8);
}

TEST_CASE("arguments after a lone -- are positional", "[actors][stream_config]") {
  app_config cfg;
  REQUIRE(parse(cfg, {"--seconds", "1", "--", "--generate", "x"}) == "");
  CHECK_FALSE(cfg.generate);
  CHECK(cfg.remainder == std::vector<std::string>{"--generate", "x"});
}

TEST_CASE("a bad option gets one plain sentence naming it",
          "[actors][stream_config]") {
  using args = std::vector<std::string>;
  auto error_of = [](args xs) {
    app_config cfg;
    return parse(cfg, std::move(xs));
  };
  CHECK(error_of({"--bogus=1"}) == "unknown option --bogus (--help lists the "
                                   "options)");
  CHECK(error_of({"--stream.bogus", "1"})
        == "unknown option --stream.bogus (--help lists the options)");
  CHECK(error_of({"-x"}) == "unknown option -x (--help lists the options)");
  CHECK(error_of({"host", "--seconds"})
        == "option --seconds needs a value: --seconds=VALUE or --seconds "
           "VALUE");
  // An empty text is no value (CAF's parser took it for the configuration
  // file's fault).
  CHECK(error_of({"--output-prefix="})
        == "option --output-prefix needs a value: --output-prefix=VALUE or "
           "--output-prefix VALUE");
  CHECK(error_of({"--output-prefix", ""})
        == "option --output-prefix needs a value: --output-prefix=VALUE or "
           "--output-prefix VALUE");
  CHECK(error_of({"--seconds=abc"})
        == "option --seconds takes a value of type int32, not 'abc'");
  // CAF's own options that would crash it or stop it for good.
  CHECK(error_of({"--scheduler.max-threads=0"})
        == "scheduler.max-threads = 0 is invalid: it must be positive");
  CHECK(error_of({"--scheduler.max-throughput", "0"})
        == "scheduler.max-throughput = 0 is invalid: it must be positive");
  CHECK(error_of({"--scheduler.max-threads=2"}).empty());
  CHECK(error_of({"--stream.workers", "many"})
        == "option --stream.workers takes a value of type uint64, not 'many'");
  CHECK(error_of({"--generate=maybe"})
        == "option --generate is a flag: --generate or --generate=false, not "
           "'maybe'");
}

TEST_CASE("the configuration file's stream options are checked as flags are",
          "[actors][stream_config]") {
  testing::temporary_directory dir;
  auto ini = dir.path() + "/app.ini";
  auto error_of = [&](const std::string& text) {
    std::ofstream{ini, std::ios::binary} << text;
    app_config cfg;
    return parse(cfg, {"--config-file=" + ini, "host"});
  };
  CHECK(error_of("[stream]\nworkers=2\n[stream.receiver]\nmax-rate=10.5\n"
                 "[scheduler]\nmax-threads=2\n")
        == "");
  CHECK(error_of("; a comment\n[stream]\nworkers=\"abc\"\n")
        == ini + ", line 3: stream.workers takes a value of type uint64, "
                 "not '\"abc\"'");
  CHECK(error_of("[stream]\nworkers=2\nbogus=1\n")
        == ini + ", line 3: unknown option stream.bogus (--help lists the "
                 "options)");
  CHECK(error_of("[stream.backpressure]\nenabled=maybe ; no\n")
        == ini + ", line 2: stream.backpressure.enabled takes a value of type "
                 "boolean, not 'maybe'");
  CHECK(error_of("[stream]\nstate-nodes=[\"127.0.0.1:1\",\n  \"127.0.0.1:2\"]\nwork=1\n")
        == ini + ", line 4: unknown option stream.work (--help lists the "
                 "options)");
  CHECK(error_of(std::string{"[stream]\nworkers=2\0\nbogus=1\n", 28})
        == ini + ", line 2: a NUL byte (the file must be text)");
  app_config cfg;
  CHECK(parse(cfg, {"--config-file=" + dir.path() + "/missing.ini"})
        == "cannot read the configuration file " + dir.path()
             + "/missing.ini");
}

TEST_CASE("a configuration file CAF cannot read gets a sentence with the "
          "line", "[actors][stream_config]") {
  testing::temporary_directory dir;
  auto ini = dir.path() + "/app.ini";
  std::ofstream{ini} << "[stream\nworkers=2\n";
  app_config cfg;
  CHECK(parse(cfg, {"--config-file=" + ini})
        == "cannot read the configuration file " + ini
             + ": unexpected newline at line 2, column 1");
}

TEST_CASE("the write-ahead log and Kafka rate options reach stream_options",
          "[actors][stream_config]") {
  app_config cfg;
  REQUIRE(parse(cfg, {"--stream.receiver.write-ahead-log.enable",
                      "--stream.receiver.write-ahead-log.sync=every-block",
                      "--stream.receiver.write-ahead-log.rolling-interval=5s",
                      "--stream.kafka.min-rate-per-partition=3"})
          == "");
  auto opts = read_stream_options(cfg);
  CHECK(opts.write_ahead_log);
  CHECK(opts.write_ahead_log_sync == wal_sync::every_block);
  CHECK(opts.write_ahead_log_rolling_interval == duration{5000});
  CHECK(opts.kafka_min_rate_per_partition == 3);
  app_config defaults;
  REQUIRE(parse(defaults, {}) == "");
  auto plain = read_stream_options(defaults);
  CHECK_FALSE(plain.write_ahead_log);
  CHECK(plain.write_ahead_log_sync == wal_sync::every_interval);
  CHECK(plain.write_ahead_log_rolling_interval == duration{60000});
  CHECK(plain.kafka_min_rate_per_partition == 1);
  app_config bad;
  REQUIRE(parse(bad, {"--stream.receiver.write-ahead-log.sync=always"}) == "");
  CHECK_THROWS_WITH(read_stream_options(bad),
                    Catch::Contains("stream.receiver.write-ahead-log.sync = "
                                    "always is invalid"));
}

TEST_CASE("nodes send heartbeats unless told otherwise, and stream.app-id "
          "reaches stream_options",
          "[actors][stream_config]") {
  using std::chrono::milliseconds;
  auto timespan = [](const app_config& cfg, caf::string_view key) {
    return caf::get_or(cfg, key, caf::timespan{0});
  };
  app_config defaults;
  REQUIRE(parse(defaults, {}) == "");
  CHECK(timespan(defaults, "middleman.heartbeat-interval")
        == caf::timespan{milliseconds(1000)});
  CHECK(timespan(defaults, "middleman.connection-timeout")
        == caf::timespan{milliseconds(5000)});
  CHECK(read_stream_options(defaults).app_id.empty());
  app_config cfg;
  REQUIRE(parse(cfg, {"--middleman.heartbeat-interval=200ms",
                      "--stream.app-id", "word-count"})
          == "");
  CHECK(timespan(cfg, "middleman.heartbeat-interval")
        == caf::timespan{milliseconds(200)});
  CHECK(read_stream_options(cfg).app_id == "word-count");
}

TEST_CASE("a connection timeout needs heartbeats more often than it",
          "[actors][stream_config]") {
  CHECK(refused({"--middleman.heartbeat-interval=-1s"})
        == "middleman.heartbeat-interval = -1000 ms is invalid: it must not "
           "be negative");
  CHECK(refused({"--middleman.connection-timeout=-5s"})
        == "middleman.connection-timeout = -5000 ms is invalid: it must not "
           "be negative");
  // The timeout stays at its 5 s: no heartbeat would come.
  CHECK(refused({"--middleman.heartbeat-interval=0s"})
        == "middleman.heartbeat-interval = 0 ms is invalid: with "
           "middleman.connection-timeout at 5000 ms a node that sends no "
           "heartbeats is taken for lost; set both to 0 to notice no frozen "
           "node");
  CHECK(refused({"--middleman.connection-timeout=1s"})
        == "middleman.connection-timeout = 1000 ms is invalid: it must be "
           "longer than middleman.heartbeat-interval (1000 ms), else a node "
           "is taken for lost between two heartbeats");
  CHECK(refused({"--middleman.heartbeat-interval=3s",
                 "--middleman.connection-timeout=2s"})
        == "middleman.connection-timeout = 2000 ms is invalid: it must be "
           "longer than middleman.heartbeat-interval (3000 ms), else a node "
           "is taken for lost between two heartbeats");
  // Detection off, heartbeats with no timeout, or a timeout above them.
  CHECK(refused({"--middleman.heartbeat-interval=0s",
                 "--middleman.connection-timeout=0s"})
        == "accepted");
  CHECK(refused({"--middleman.connection-timeout=0s"}) == "accepted");
  CHECK(refused({"--middleman.heartbeat-interval=200ms",
                 "--middleman.connection-timeout=1s"})
        == "accepted");
}

TEST_CASE("the TLS files are loaded as the options are read, and a bad one "
          "is refused by its key",
          "[actors][stream_config][tls]") {
  support::certificates certs;
  auto with = [&](const std::string& cert, const std::string& key,
                  const std::string& ca) {
    std::vector<std::string> args;
    if (!cert.empty())
      args.push_back("--openssl.certificate=" + certs[cert]);
    if (!key.empty())
      args.push_back("--openssl.key=" + certs[key]);
    if (!ca.empty())
      args.push_back("--openssl.cafile=" + certs[ca]);
    return refused(args);
  };
  CHECK(with("node.pem", "node.key", "ca.pem") == "accepted");
  CHECK(with("", "", "") == "accepted");
  // CAF would throw in its I/O thread at the first connection.
  CHECK_THAT(with("none.pem", "node.key", "ca.pem"),
             Catch::StartsWith("openssl.certificate = " + certs["none.pem"]
                               + " is invalid: cannot load it (")
               && Catch::Contains("No such file"));
  CHECK_THAT(with("node.pem", "driver.key", "ca.pem"),
             Catch::StartsWith("openssl.key = " + certs["driver.key"]
                               + " is invalid: cannot load it (")
               && Catch::Contains("key values mismatch"));
  CHECK_THAT(with("node.pem", "node.key", "node.key"),
             Catch::StartsWith("openssl.cafile = " + certs["node.key"]
                               + " is invalid: cannot load it ("));
  // An encrypted key loads with its passphrase only (CAF's would prompt on
  // the terminal).
  certs.shell("openssl pkey -in " + certs["node.key"]
              + " -aes256 -passout pass:secret -out " + certs["sealed.key"]);
  auto sealed = [&](std::vector<std::string> args) {
    args.push_back("--openssl.certificate=" + certs["node.pem"]);
    args.push_back("--openssl.key=" + certs["sealed.key"]);
    args.push_back("--openssl.cafile=" + certs["ca.pem"]);
    return refused(args);
  };
  CHECK(sealed({"--openssl.passphrase=secret"}) == "accepted");
  CHECK_THAT(sealed({"--openssl.passphrase=wrong"}),
             Catch::StartsWith("openssl.key = " + certs["sealed.key"]
                               + " is invalid: cannot load it ("));
  CHECK_THAT(sealed({}), Catch::StartsWith("openssl.key = "));
  CHECK(with("node.pem", "", "ca.pem")
        == "openssl.key is missing: the private key of openssl.certificate "
             + certs["node.pem"]);
  CHECK(with("", "", "ca.pem")
        == "openssl.certificate is missing: with openssl.* set, nodes talk "
           "TLS and each presents its certificate");
  CHECK(with("node.pem", "node.key", "")
        == "openssl.cafile is missing: a node accepts the peers whose "
           "certificate a CA in openssl.cafile (or the directory "
           "openssl.capath) signed");
}

TEST_CASE("under 8 cores remote messages deserialize in the multiplexer's "
          "thread unless told otherwise",
          "[actors][stream_config]") {
  auto workers = [](const app_config& cfg) {
    return caf::get_if<size_t>(&cfg, "middleman.workers");
  };
  app_config defaults;
  REQUIRE(parse(defaults, {}) == "");
  if (std::thread::hardware_concurrency() < 8) {
    REQUIRE(workers(defaults));
    CHECK(*workers(defaults) == 0);
  } else {
    // CAF's own default: min(3, cores / 4) + 1.
    CHECK(!workers(defaults));
  }
  app_config cfg;
  REQUIRE(parse(cfg, {"--middleman.workers=2"}) == "");
  REQUIRE(workers(cfg));
  CHECK(*workers(cfg) == 2);
}

TEST_CASE("stream.nodes names the worker nodes, and stream.state-nodes is "
          "its older name",
          "[actors][stream_config]") {
  using nodes = std::vector<std::string>;
  app_config cfg;
  REQUIRE(parse(cfg, {R"(--stream.nodes=["a:1", "b:2"])"}) == "");
  CHECK(read_stream_options(cfg).state_nodes == nodes{"a:1", "b:2"});
  app_config old;
  REQUIRE(parse(old, {R"(--stream.state-nodes=["a:1"])"}) == "");
  CHECK(read_stream_options(old).state_nodes == nodes{"a:1"});
  app_config both;
  REQUIRE(parse(both, {R"(--stream.nodes=["a:1"])",
                       R"(--stream.state-nodes=["b:2"])"})
          == "");
  CHECK_THROWS_WITH(read_stream_options(both),
                    Catch::Contains("set one of them"));
}

TEST_CASE("stream.receiver.placement and .replication say where receivers "
          "run and how their stored blocks are copied",
          "[actors][stream_config]") {
  // By default on the worker nodes, if there are any, with 2 copies.
  auto plain = options_of({});
  CHECK(plain.placement == receiver_placement::automatic);
  CHECK(plain.receiver_replication == 2);
  CHECK_FALSE(plain.receivers_on_workers());
  auto nodes = options_of({R"(--stream.nodes=["a:1"])"});
  CHECK(nodes.receivers_on_workers());
  auto driver = options_of({R"(--stream.nodes=["a:1"])",
                            "--stream.receiver.placement=driver",
                            "--stream.receiver.replication=1"});
  CHECK_FALSE(driver.receivers_on_workers());
  CHECK(driver.receiver_replication == 1);
  // The driver writes the receiver write-ahead log: by default the
  // receivers stay with it.
  auto logged = options_of({R"(--stream.nodes=["a:1"])",
                            "--stream.receiver.write-ahead-log.enable"});
  CHECK_FALSE(logged.receivers_on_workers());
  CHECK(refused({"--stream.receiver.placement=elsewhere"})
        == "stream.receiver.placement = elsewhere is invalid: it must be "
           "workers or driver");
  CHECK(refused({"--stream.receiver.placement=workers"})
        == "stream.receiver.placement = workers is invalid: it needs worker "
           "nodes in stream.nodes, or nodes that join at "
           "stream.driver-port");
  CHECK_THAT(refused({R"(--stream.nodes=["a:1"])",
                      "--stream.receiver.placement=workers",
                      "--stream.receiver.write-ahead-log.enable"}),
             Catch::Contains("with stream.receiver.write-ahead-log.enable "
                             "the receivers run on the driver"));
  CHECK(refused({"--stream.receiver.replication=3"})
        == "stream.receiver.replication = 3 is invalid: it must be 1 or 2");
}

TEST_CASE("stream.task.placement and .max-failures say where map tasks "
          "run and how often a task may fail",
          "[actors][stream_config]") {
  // On the worker nodes when there are any (or may join), else on the
  // driver; 4 failures as Spark's.
  auto plain = options_of({});
  CHECK(plain.tasks == task_placement::automatic);
  CHECK_FALSE(plain.tasks_on_workers());
  CHECK(plain.task_max_failures == 4);
  CHECK(options_of({R"(--stream.nodes=["a:1"])"}).tasks_on_workers());
  CHECK(options_of({"--stream.driver-port=7000"}).tasks_on_workers());
  CHECK_FALSE(options_of({R"(--stream.nodes=["a:1"])",
                          "--stream.task.placement=driver"})
                .tasks_on_workers());
  auto nodes = options_of({R"(--stream.nodes=["a:1"])",
                           "--stream.task.placement=workers",
                           "--stream.task.max-failures=2"});
  CHECK(nodes.tasks_on_workers());
  CHECK(nodes.task_max_failures == 2);
  CHECK_FALSE(options_of({"--stream.task.placement=driver"})
                .tasks_on_workers());
  CHECK(refused({"--stream.task.placement=anywhere"})
        == "stream.task.placement = anywhere is invalid: it must be "
           "workers or driver");
  CHECK(refused({"--stream.task.placement=workers"})
        == "stream.task.placement = workers is invalid: it needs worker "
           "nodes in stream.nodes, or nodes that join at "
           "stream.driver-port");
  CHECK(refused({"--stream.task.max-failures=0"})
        == "stream.task.max-failures = 0 is invalid: it must be positive");
}

TEST_CASE("stream.speculation.* say when a worker node's answer is late",
          "[actors][stream_config]") {
  // On by default (Spark's is off), with Spark's multiplier.
  auto plain = options_of({});
  CHECK(plain.speculation);
  CHECK(plain.speculation_multiplier == 1.5);
  CHECK(plain.speculation_min_task_runtime == duration{500});
  auto set = options_of({"--stream.speculation.enabled=false",
                         "--stream.speculation.multiplier=3",
                         "--stream.speculation.min-task-runtime=2s"});
  CHECK_FALSE(set.speculation);
  CHECK(set.speculation_multiplier == 3.0);
  CHECK(set.speculation_min_task_runtime == duration{2000});
  CHECK_THAT(refused({"--stream.speculation.multiplier=0.5"}),
             Catch::StartsWith("stream.speculation.multiplier = 0.5")
               && Catch::EndsWith("is invalid: it must be at least 1"));
  CHECK(refused({"--stream.speculation.min-task-runtime=0s"})
        == "stream.speculation.min-task-runtime = 0 ms is invalid: it must "
           "be positive");
}

// Spark's spark.streaming.backpressure.rateEstimator: any other value than
// "pid" throws "Unknown rate estimator".
TEST_CASE("stream.backpressure.rate-estimator takes pid, the only one",
          "[actors][stream_config]") {
  CHECK(refused({"--stream.backpressure.rate-estimator=pid"}) == "accepted");
  CHECK(refused({"--stream.backpressure.enabled=true",
                 "--stream.backpressure.rate-estimator=lqr"})
        == "stream.backpressure.rate-estimator = lqr is invalid: Unknown rate "
           "estimator: lqr (pid is the only one, as in Spark)");
}

TEST_CASE("stream.file-stream.min-remember-duration is Spark's 60 s unless "
          "set, and positive",
          "[actors][stream_config]") {
  CHECK(options_of({}).file_stream_min_remember_duration == duration{60000});
  CHECK(options_of({"--stream.file-stream.min-remember-duration=2min"})
          .file_stream_min_remember_duration
        == duration{120000});
  CHECK(refused({"--stream.file-stream.min-remember-duration=0s"})
        == "stream.file-stream.min-remember-duration = 0 ms is invalid: it "
           "must be positive");
}

TEST_CASE("stream.graceful-stop-timeout bounds a graceful stop's wait, 10 "
          "batch intervals by default",
          "[actors][stream_config]") {
  // Spark's spark.streaming.gracefulStopTimeout: 10 batch intervals unset.
  auto plain = options_of({});
  CHECK_FALSE(plain.graceful_stop_timeout);
  CHECK(plain.graceful_stop_wait(duration{1000}) == duration{10000});
  CHECK(plain.graceful_stop_wait(duration{250}) == duration{2500});
  auto set = options_of({"--stream.graceful-stop-timeout=3s"});
  CHECK(set.graceful_stop_timeout == duration{3000});
  CHECK(set.graceful_stop_wait(duration{1000}) == duration{3000});
  // 0: the stop does not wait for the batches.
  auto none = options_of({"--stream.graceful-stop-timeout=0s"});
  CHECK(none.graceful_stop_wait(duration{1000}) == duration{0});
  stream_options negative;
  negative.graceful_stop_timeout = duration{-5};
  CHECK_THROWS_WITH(negative.validate(),
                    "stream.graceful-stop-timeout = -5 ms is invalid: it "
                    "must not be negative");
}

TEST_CASE("stream.shuffle.fetch-chunk and .max-in-flight bound the fetches "
          "of map outputs from worker nodes",
          "[actors][stream_config]") {
  // 1 MiB per fetch, Spark's 48 MiB in flight.
  auto plain = options_of({});
  CHECK(plain.shuffle_fetch_chunk == 1048576);
  CHECK(plain.shuffle_max_in_flight == 50331648);
  auto set = options_of({"--stream.shuffle.fetch-chunk=4096",
                         "--stream.shuffle.max-in-flight=65536"});
  CHECK(set.shuffle_fetch_chunk == 4096);
  CHECK(set.shuffle_max_in_flight == 65536);
  CHECK(refused({"--stream.shuffle.fetch-chunk=0"})
        == "stream.shuffle.fetch-chunk = 0 is invalid: it must be positive");
  CHECK(refused({"--stream.shuffle.max-in-flight=0"})
        == "stream.shuffle.max-in-flight = 0 is invalid: it must be "
           "positive");
}

TEST_CASE("stream.driver-port lets worker nodes join, and stream.driver "
          "names the driver a node joins",
          "[actors][stream_config]") {
  auto plain = options_of({});
  CHECK(plain.driver_port == 0);
  CHECK(plain.driver_bind_address == "127.0.0.1");
  CHECK(plain.driver.empty());
  CHECK_FALSE(plain.with_nodes());
  // A driver that nodes may join puts its receivers on them by default.
  auto driver = options_of({"--stream.driver-port=7077",
                            "--stream.driver-bind-address=0.0.0.0"});
  CHECK(driver.driver_port == 7077);
  CHECK(driver.driver_bind_address == "0.0.0.0");
  CHECK(driver.with_nodes());
  CHECK(driver.receivers_on_workers());
  CHECK_NOTHROW(options_of({"--stream.driver-port=7077",
                            "--stream.receiver.placement=workers"}));
  CHECK(options_of({"--stream.driver=10.0.0.1:7077"}).driver
        == "10.0.0.1:7077");
  app_config bad;
  REQUIRE(parse(bad, {"--stream.driver=10.0.0.1"}) == "");
  CHECK_THROWS_WITH(read_stream_options(bad),
                    "stream.driver = 10.0.0.1 is invalid: it must be written "
                    "as host:port");
  stream_options unbound;
  unbound.driver_bind_address.clear();
  CHECK_THROWS_WITH(unbound.validate(),
                    "stream.driver-bind-address =  is invalid: it must name "
                    "an address");
}
