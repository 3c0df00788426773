#include "caf_stream/actors/stream_config.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "caf/config_option_adder.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/settings.hpp"

#include "caf_stream/actors/error.hpp"
#include "caf_stream/actors/messages.hpp"
#include "caf_stream/detail/bad_value.hpp"
#include "caf_stream/detail/config_file.hpp"
#include "caf_stream/error.hpp"

#include "tls_files.hpp"

namespace caf_stream {

void add_stream_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "stream"}
    .add<caf::timespan>("block-interval",
                        "interval at which received records become blocks")
    .add<size_t>("workers", "operator workers that run tasks (0: per core)")
    .add<size_t>("default-parallelism",
                 "partitions of by-key operations (0: as many as workers)")
    .add<size_t>("block-queue-size",
                 "sealed blocks per receiver that may wait for a batch")
    .add<std::vector<std::string>>("nodes",
                                   "host:port of the worker nodes (empty: "
                                   "this node does all)")
    .add<std::vector<std::string>>("state-nodes",
                                   "the same as stream.nodes (its older "
                                   "name)")
    .add<uint16_t>("driver-port",
                   "port on which worker nodes join this driver (0: none)")
    .add<std::string>("driver-bind-address",
                      "the address stream.driver-port listens on")
    .add<std::string>("driver",
                      "host:port of the driver a worker node joins")
    .add<caf::timespan>("state-timeout",
                        "how long a batch waits for a state holder")
    .add<size_t>("state-log-limit",
                 "records kept per state partition for a state node to "
                 "take over")
    .add<std::string>("app-id",
                      "the application the nodes check (empty: the build id)")
    .add<bool>("stop-gracefully-on-shutdown",
               "on SIGINT/SIGTERM, finish the data received so far first")
    .add<caf::timespan>("graceful-stop-timeout",
                        "how long a graceful stop waits at most (default: "
                        "10 batch intervals)")
    .add<bool>("serialize-messages",
               "send every batch and task through bytes, as to another node");
  caf::config_option_adder{opts, "stream.file-stream"}.add<caf::timespan>(
    "min-remember-duration",
    "how far back file streams take files by modification time (60 s)");
  caf::config_option_adder{opts, "stream.listener-bus"}.add<size_t>(
    "capacity", "listener events that may wait for slow listeners");
  caf::config_option_adder{opts, "stream.ui"}
    .add<bool>("enabled", "serve the streaming UI, REST API and metrics")
    .add<uint16_t>("port", "the UI's port (the next free if taken; 0: any)")
    .add<std::string>("address", "the address the UI listens on")
    .add<size_t>("retained-batches", "completed batches the UI keeps");
  caf::config_option_adder{opts, "stream.sink"}.add<size_t>(
    "max-retries", "retries of a database write before the batch fails");
  caf::config_option_adder{opts, "stream.kafka"}
    .add<double>("max-rate-per-partition",
                 "records per second and Kafka partition (0: no limit)")
    .add<double>("min-rate-per-partition",
                 "records per second and Kafka partition under a rate")
    .add<bool>("allow-non-consecutive-offsets",
               "accept gaps in Kafka offsets (compaction, transactions)")
    .add<caf::timespan>("poll-timeout",
                        "how long to wait for Kafka before a batch fails");
  caf::config_option_adder{opts, "stream.receiver"}
    .add<caf::timespan>("restart-delay",
                        "pause before a failed receiver starts again")
    .add<size_t>("max-line-length",
                 "longest line (bytes) the text sources accept")
    .add<double>("max-rate", "records per second per receiver (0: no limit)")
    .add<std::string>("placement", "where the receivers run: workers or "
                                   "driver (default: workers if any)")
    .add<size_t>("replication", "copies of a block stored whole before "
                                "store returns (1 or 2)");
  caf::config_option_adder{opts, "stream.task"}
    .add<std::string>("placement", "where the map tasks of shuffles run: "
                                   "workers or driver (default: workers "
                                   "if any)")
    .add<size_t>("max-failures", "failures of a task before its stage "
                                 "fails (4)");
  caf::config_option_adder{opts, "stream.speculation"}
    .add<bool>("enabled", "run a late worker node's map tasks again "
                          "elsewhere (true)")
    .add<double>("multiplier", "how many times the median answer time an "
                               "answer is late after (1.5)")
    .add<caf::timespan>("min-task-runtime",
                        "the least time an answer is late after (500 ms)");
  caf::config_option_adder{opts, "stream.shuffle"}
    .add<size_t>("fetch-chunk", "most bytes of map output per fetch from a "
                                "worker node (1 MiB)")
    .add<size_t>("max-in-flight", "most bytes of map output asked for and "
                                  "not received yet (48 MiB)");
  caf::config_option_adder{opts, "stream.receiver.write-ahead-log"}
    .add<bool>("enable", "log received blocks in the checkpoint directory")
    .add<std::string>("sync", "every-block, every-interval or never (fsync)")
    .add<caf::timespan>("rolling-interval",
                        "how long the log writes one segment file");
  caf::config_option_adder{opts, "stream.backpressure"}
    .add<bool>("enabled", "adapt the receiving rate to the processing rate")
    .add<double>("initial-rate", "receiving rate before the first estimate")
    .add<std::string>("rate-estimator", "how the rate is estimated: pid, "
                                        "the only one");
  caf::config_option_adder{opts, "stream.backpressure.pid"}
    .add<double>("proportional", "PID gain on the rate error (1.0)")
    .add<double>("integral", "PID gain on the scheduling delay (0.2)")
    .add<double>("derived", "PID gain on the change of the error (0.0)")
    .add<double>("min-rate", "lowest estimated rate (100 records/s)");
}

namespace {

// CAF closes a connection whose peer sent nothing for
// `middleman.connection-timeout`, and sends heartbeats every
// `middleman.heartbeat-interval` (0: none; a negative value names no
// interval). A timeout therefore needs heartbeats more often than it, on
// both sides, or healthy nodes are taken for lost (Spark's rule:
// `spark.network.timeout` above `spark.executor.heartbeatInterval`).
void check_failure_detection(const caf::actor_system_config& cfg) {
  auto get = [&](const char* key) {
    return caf::get_or(cfg, key, caf::timespan{0});
  };
  auto ms = [](caf::timespan x) {
    return to_string(std::chrono::duration_cast<duration>(x));
  };
  const char* interval_key = "middleman.heartbeat-interval";
  const char* timeout_key = "middleman.connection-timeout";
  auto interval = get(interval_key);
  auto timeout = get(timeout_key);
  for (auto [key, x] : {std::pair{interval_key, interval},
                        std::pair{timeout_key, timeout}})
    if (x.count() < 0)
      detail::bad_value(key, ms(x), "it must not be negative");
  if (timeout.count() == 0)
    return;
  if (interval.count() == 0)
    detail::bad_value(interval_key, ms(interval),
                      "with " + std::string{timeout_key} + " at "
                        + ms(timeout)
                        + " a node that sends no heartbeats is taken for "
                          "lost; set both to 0 to notice no frozen node");
  if (timeout <= interval)
    detail::bad_value(timeout_key, ms(timeout),
                      "it must be longer than " + std::string{interval_key}
                        + " (" + ms(interval)
                        + "), else a node is taken for lost between two "
                          "heartbeats");
}

} // namespace

stream_options read_stream_options(const caf::actor_system_config& cfg) {
  check_failure_detection(cfg);
  actors::check_tls_files(cfg);
  using std::chrono::duration_cast;
  stream_options result;
  auto ms = [&](caf::string_view key, duration fallback) {
    auto x = caf::get_or(cfg, key, caf::timespan{fallback});
    return duration_cast<duration>(x);
  };
  result.block_interval = ms("stream.block-interval", result.block_interval);
  result.workers = caf::get_or(cfg, "stream.workers", result.workers);
  result.default_parallelism
    = caf::get_or(cfg, "stream.default-parallelism", result.default_parallelism);
  result.receiver_restart_delay
    = ms("stream.receiver.restart-delay", result.receiver_restart_delay);
  result.max_line_length = caf::get_or(cfg, "stream.receiver.max-line-length",
                                       result.max_line_length);
  result.file_stream_min_remember_duration
    = ms("stream.file-stream.min-remember-duration",
         result.file_stream_min_remember_duration);
  result.block_queue_size
    = caf::get_or(cfg, "stream.block-queue-size", result.block_queue_size);
  result.max_rate = caf::get_or(cfg, "stream.receiver.max-rate", result.max_rate);
  if (auto x = caf::get_if<std::string>(&cfg, "stream.receiver.placement"))
    result.placement = parse_receiver_placement(*x);
  if (auto x = caf::get_if<std::string>(&cfg, "stream.task.placement"))
    result.tasks = parse_task_placement(*x);
  result.task_max_failures = caf::get_or(cfg, "stream.task.max-failures",
                                         result.task_max_failures);
  result.speculation = caf::get_or(cfg, "stream.speculation.enabled",
                                   result.speculation);
  result.speculation_multiplier = caf::get_or(
    cfg, "stream.speculation.multiplier", result.speculation_multiplier);
  result.speculation_min_task_runtime
    = ms("stream.speculation.min-task-runtime",
         result.speculation_min_task_runtime);
  result.shuffle_fetch_chunk = caf::get_or(cfg, "stream.shuffle.fetch-chunk",
                                           result.shuffle_fetch_chunk);
  result.shuffle_max_in_flight = caf::get_or(
    cfg, "stream.shuffle.max-in-flight", result.shuffle_max_in_flight);
  result.receiver_replication = caf::get_or(
    cfg, "stream.receiver.replication", result.receiver_replication);
  result.write_ahead_log = caf::get_or(
    cfg, "stream.receiver.write-ahead-log.enable", result.write_ahead_log);
  if (auto x = caf::get_if<std::string>(
        &cfg, "stream.receiver.write-ahead-log.sync"))
    result.write_ahead_log_sync = parse_wal_sync(*x);
  result.write_ahead_log_rolling_interval
    = ms("stream.receiver.write-ahead-log.rolling-interval",
         result.write_ahead_log_rolling_interval);
  result.backpressure_enabled = caf::get_or(cfg, "stream.backpressure.enabled",
                                            result.backpressure_enabled);
  result.backpressure_initial_rate
    = caf::get_or(cfg, "stream.backpressure.initial-rate",
                  result.backpressure_initial_rate);
  // Spark's spark.streaming.backpressure.rateEstimator: "pid" is the only
  // one there, and here.
  if (auto x = caf::get_if<std::string>(&cfg,
                                        "stream.backpressure.rate-estimator");
      x && *x != "pid")
    detail::bad_value("stream.backpressure.rate-estimator", *x,
                      "Unknown rate estimator: " + *x
                        + " (pid is the only one, as in Spark)");
  result.state_nodes
    = caf::get_or(cfg, "stream.state-nodes", result.state_nodes);
  auto nodes = caf::get_or(cfg, "stream.nodes", result.state_nodes);
  if (!result.state_nodes.empty() && nodes != result.state_nodes)
    throw stream_error(errc::invalid_config,
                       "stream.nodes and stream.state-nodes name the same "
                       "nodes (the second is the older name): set one of "
                       "them");
  result.state_nodes = std::move(nodes);
  result.driver_port
    = caf::get_or(cfg, "stream.driver-port", result.driver_port);
  result.driver_bind_address = caf::get_or(
    cfg, "stream.driver-bind-address", result.driver_bind_address);
  result.driver = caf::get_or(cfg, "stream.driver", result.driver);
  result.state_timeout = ms("stream.state-timeout", result.state_timeout);
  result.stop_gracefully_on_shutdown
    = caf::get_or(cfg, "stream.stop-gracefully-on-shutdown",
                  result.stop_gracefully_on_shutdown);
  if (auto x = caf::get_if<caf::timespan>(&cfg,
                                          "stream.graceful-stop-timeout"))
    result.graceful_stop_timeout = duration_cast<duration>(*x);
  result.state_log_limit
    = caf::get_or(cfg, "stream.state-log-limit", result.state_log_limit);
  result.app_id = caf::get_or(cfg, "stream.app-id", result.app_id);
  result.serialize_messages = caf::get_or(cfg, "stream.serialize-messages",
                                          result.serialize_messages);
  result.listener_bus_capacity = caf::get_or(
    cfg, "stream.listener-bus.capacity", result.listener_bus_capacity);
  result.sink_max_retries
    = caf::get_or(cfg, "stream.sink.max-retries", result.sink_max_retries);
  if (auto x = caf::get_if<bool>(&cfg, "stream.ui.enabled"))
    result.ui_enabled = *x;
  result.ui_port = caf::get_or(cfg, "stream.ui.port", result.ui_port);
  result.ui_address = caf::get_or(cfg, "stream.ui.address", result.ui_address);
  result.ui_retained_batches = caf::get_or(cfg, "stream.ui.retained-batches",
                                           result.ui_retained_batches);
  result.kafka_max_rate_per_partition
    = caf::get_or(cfg, "stream.kafka.max-rate-per-partition",
                  result.kafka_max_rate_per_partition);
  result.kafka_min_rate_per_partition
    = caf::get_or(cfg, "stream.kafka.min-rate-per-partition",
                  result.kafka_min_rate_per_partition);
  result.kafka_allow_non_consecutive_offsets
    = caf::get_or(cfg, "stream.kafka.allow-non-consecutive-offsets",
                  result.kafka_allow_non_consecutive_offsets);
  result.kafka_poll_timeout
    = ms("stream.kafka.poll-timeout", result.kafka_poll_timeout);
  result.pid_proportional = caf::get_or(cfg, "stream.backpressure.pid.proportional",
                                        result.pid_proportional);
  result.pid_integral = caf::get_or(cfg, "stream.backpressure.pid.integral",
                                    result.pid_integral);
  result.pid_derived = caf::get_or(cfg, "stream.backpressure.pid.derived",
                                   result.pid_derived);
  result.pid_min_rate = caf::get_or(cfg, "stream.backpressure.pid.min-rate",
                                    result.pid_min_rate);
  result.validate();
  return result;
}

void add_stream_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<block>("caf_stream::block");
  cfg.add_message_type<time>("caf_stream::time");
  cfg.add_message_type<batch_info>("caf_stream::batch_info");
  cfg.add_message_type<job_set>("caf_stream::job_set");
  cfg.add_message_type<actors::task_ref>("caf_stream::task_ref");
  cfg.add_message_type<actors::map_stage>("caf_stream::map_stage");
  cfg.add_message_type<actors::reduce_stage>("caf_stream::reduce_stage");
  cfg.add_message_type<std::vector<uint64_t>>("std::vector<uint64_t>");
  cfg.add_message_type<listener_event>("caf_stream::listener_event");
  cfg.add_message_type<detail::checkpoint_record>(
    "caf_stream::checkpoint_record");
  cfg.add_error_category(errc_category, render_errc);
}

std::string render_errc(uint8_t code, caf::atom_value,
                        const caf::message& context) {
  auto result = to_string(static_cast<errc>(code));
  if (context.match_elements<std::string>())
    result += ": " + context.get_as<std::string>(0);
  else if (!context.empty())
    result += ": " + to_string(context);
  return result;
}

std::string message_of(const caf::error& e) {
  if (is_stream_error(e) && e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0);
  return {};
}

void set_stream_scheduler_defaults(caf::actor_system_config& cfg) {
  // After 100 busy polls, CAF's workers poll 500 more times with a 50 us
  // sleep in between before they wait on a condition variable that a new
  // message signals. A batch hands work to idle workers several times (one
  // per stage), and each handoff then costs up to a sleep: skip the sleeping
  // polls (measured: an empty batch through a 5-operator graph 300 -> 130
  // us on the 2-core dev machine; `harness --quick`).
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
}

void set_stream_middleman_defaults(caf::actor_system_config& cfg) {
  using namespace std::chrono_literals;
  cfg.set("middleman.heartbeat-interval", caf::timespan{1s});
  cfg.set("middleman.connection-timeout", caf::timespan{5s});
  // CAF deserializes a remote message on one of `middleman.workers`
  // (min(3, cores / 4) + 1), else in the multiplexer's thread. Under 8
  // cores that is one worker, which adds a copy of each payload and a
  // hand-off per message and little parallelism: a batch's input to a
  // node is megabytes (measured: `nodes_bench`, CPU per batch of the
  // driver and its nodes 1.34 -> 1.28 times the one process's).
  if (std::thread::hardware_concurrency() < 8)
    cfg.set("middleman.workers", size_t{0});
}

void load_node_modules(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  if (!cfg.openssl_certificate.empty() || !cfg.openssl_key.empty()
      || !cfg.openssl_cafile.empty() || !cfg.openssl_capath.empty())
    cfg.load<caf::openssl::manager>();
}

stream_config::stream_config() {
  add_stream_options(custom_options_);
  add_stream_message_types(*this);
  set_stream_scheduler_defaults(*this);
  set_stream_middleman_defaults(*this);
}

namespace {

// "parser_error(unexpected_newline, ({"column" = 1, "line" = 2}))" ->
// "unexpected newline at line 2, column 1".
std::string describe_parser_error(const std::string& rendered) {
  std::smatch m;
  std::string what = rendered;
  if (std::regex_search(rendered, m, std::regex{R"(\((\w+))"}))
    what = m[1];
  std::replace(what.begin(), what.end(), '_', ' ');
  std::smatch line;
  std::smatch column;
  if (std::regex_search(rendered, line, std::regex{R"("line" = (\d+))"})
      && std::regex_search(rendered, column,
                           std::regex{R"("column" = (\d+))"}))
    what += " at line " + line[1].str() + ", column " + column[1].str();
  return what;
}

} // namespace

std::string stream_config::parse_command_line(int argc, char** argv) {
  // CAF's parser takes `--key=value` only and stops at the first positional
  // argument: rewrite the arguments into that form first, checking each
  // option on the way so that a bad one gets a sentence of its own.
  std::vector<std::string> options;
  std::vector<std::string> positional;
  // Flags given as --name=false.
  std::vector<const caf::config_option*> cleared;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      positional.insert(positional.end(), argv + i + 1, argv + argc);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(std::move(arg));
      continue;
    }
    auto is_long = arg[1] == '-';
    auto eq = arg.find('=');
    auto name = is_long ? arg.substr(2, eq == std::string::npos ? eq : eq - 2)
                        : arg.substr(1, 1);
    auto spelled = (is_long ? "--" : "-") + name;
    const caf::config_option* opt
      = is_long ? custom_options_.cli_long_name_lookup(name)
                : custom_options_.cli_short_name_lookup(name[0]);
    if (opt == nullptr || name.empty())
      return "unknown option " + spelled + " (--help lists the options)";
    std::optional<std::string> value;
    if (is_long && eq != std::string::npos)
      value = arg.substr(eq + 1);
    else if (!is_long && arg.size() > 2)
      value = arg.substr(2);
    if (opt->is_flag()) {
      // A flag is on when given; "=true" and "=false" say so explicitly
      // (to turn off one that is on by default, such as stream.ui.enabled).
      if (value && *value != "true" && *value != "false")
        return "option " + spelled + " is a flag: " + spelled + " or "
               + spelled + "=false, not '" + *value + "'";
      if (value && *value == "false")
        cleared.push_back(opt);
      else
        options.push_back(is_long ? "--" + name : std::move(arg));
      continue;
    }
    if (!value && i + 1 < argc)
      value = argv[++i];
    // CAF's parser takes no empty value ("--name=") either.
    if (!value || value->empty())
      return "option " + spelled + " needs a value: " + spelled + "=VALUE "
             + "or " + spelled + " VALUE";
    if (!opt->parse(*value)) {
      auto type = opt->type_name();
      return "option " + spelled + " takes a value of type "
             + std::string{type.begin(), type.end()} + ", not '" + *value
             + "'";
    }
    auto long_name = opt->category() == "global" ? opt->long_name()
                                                 : opt->full_name();
    options.push_back("--" + std::string{long_name.begin(), long_name.end()}
                      + "=" + *value);
  }
  // CAF reads the file that `--config-file` names, else its default.
  auto ini = config_file_path;
  auto explicit_ini = false;
  const std::string config_flag = "--config-file=";
  for (auto& x : options)
    if (x.compare(0, config_flag.size(), config_flag) == 0) {
      ini = x.substr(config_flag.size());
      explicit_ini = true;
    }
  if (auto what = check_config_file(ini, explicit_ini); !what.empty())
    return what;
  std::vector<char*> args{argv[0]};
  for (auto& x : options)
    args.push_back(x.data());
  // The options were checked above: what CAF's parser still refuses is the
  // configuration file's syntax.
  if (auto err = parse(static_cast<int>(args.size()), args.data()))
    return "cannot read the configuration file " + ini + ": "
           + describe_parser_error(render(err));
  for (const auto* opt : cleared) {
    opt->store(caf::config_value{false});
    caf::put(content, opt->full_name(), false);
  }
  // CAF 0.17 divides by its thread count (SIGFPE at 0), and an actor with a
  // throughput of 0 handles no message, so nothing would ever stop.
  for (auto key : {"scheduler.max-threads", "scheduler.max-throughput"})
    if (auto x = caf::get_if<size_t>(this, key); x && *x == 0)
      return std::string{key} + " = 0 is invalid: it must be positive";
  remainder = std::move(positional);
  return {};
}

std::string stream_config::check_config_file(const std::string& path,
                                             bool must_exist) const {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return must_exist ? "cannot read the configuration file " + path : "";
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto file = detail::scan_config_file(text);
  for (const auto& entry : file.entries) {
    // Only caf-stream's own options: the rest is CAF's (and the
    // application's) to check.
    const auto& name = entry.name;
    if (name.compare(0, 7, "stream.") != 0)
      continue;
    auto where = path + ", line " + std::to_string(entry.line) + ": ";
    auto dot = name.rfind('.');
    auto opt = custom_options_.qualified_name_lookup(name.substr(0, dot),
                                                     name.substr(dot + 1));
    if (opt == nullptr)
      return where + "unknown option " + name + " (--help lists the options)";
    if (!opt->parse(entry.value)) {
      auto type = opt->type_name();
      return where + name + " takes a value of type "
             + std::string{type.begin(), type.end()} + ", not '" + entry.value
             + "'";
    }
  }
  if (file.nul_line > 0)
    return path + ", line " + std::to_string(file.nul_line)
           + ": a NUL byte (the file must be text)";
  return {};
}

} // namespace caf_stream
