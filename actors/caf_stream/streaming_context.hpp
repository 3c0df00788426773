#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/dstream.hpp"
#include "caf_stream/dstream/file_input.hpp"
#include "caf_stream/dstream/queue_input.hpp"
#include "caf_stream/receiver/raw_socket_receiver.hpp"
#include "caf_stream/receiver/receiver.hpp"
#include "caf_stream/receiver/socket_stream_receiver.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace caf_stream {

/// Where a streaming context is in its life, which only goes forward
/// (Spark's `StreamingContextState`).
enum class streaming_context_state {
  /// Built, not started: the graph may still grow.
  initialized,
  /// Started (or serving as a worker node), not stopped.
  active,
  /// Stopped: it cannot be started again.
  stopped,
};

/// The state's name in Spark's spelling: "INITIALIZED", "ACTIVE", "STOPPED".
const char* to_string(streaming_context_state x) noexcept;

/// The entry point (Spark's `StreamingContext`): creates input streams, holds
/// the graph of streams built on them, and runs it on CAF actors once
/// started. Building the graph after `start()` is an error. Its definitions
/// live in `caf_stream::actors`, next to the runtime they start.
class streaming_context {
public:
  /// A context inside an existing actor application, with the `stream.*`
  /// settings of `sys`'s configuration and the system clock.
  streaming_context(caf::actor_system& sys, duration batch_interval);

  /// Like above, with a clock of the caller's (a `testing::manual_clock`).
  streaming_context(caf::actor_system& sys, duration batch_interval,
                    std::shared_ptr<clock> clk);

  /// A context that owns its actor system, configured by `opts`.
  explicit streaming_context(duration batch_interval,
                             stream_options opts = {},
                             std::shared_ptr<clock> clk = nullptr);

  /// Stops the context (not gracefully) if it is running.
  ~streaming_context();

  /// Spark's `getOrCreate`: calls `create` to build the context and its
  /// graph (C++ cannot deserialize closures, so the graph is always built
  /// by the program), then, if `directory` holds a checkpoint, restores the
  /// state and input positions into it: `start()` then re-runs the batches
  /// since the newest state and goes on. An unreadable newest checkpoint
  /// falls back to an older one; a corrupt or foreign directory, or a graph
  /// whose inputs and state streams differ from the checkpointed one,
  /// throws `stream_error` (errc::bad_checkpoint). Sets `directory` as the
  /// checkpoint directory if `create` did not set one.
  static std::unique_ptr<streaming_context>
  get_or_create(const std::string& directory,
                const std::function<std::unique_ptr<streaming_context>()>& create);

  /// Whether the context resumes from a checkpoint (see `get_or_create`).
  bool is_recovered() const noexcept;

  streaming_context(const streaming_context&) = delete;

  streaming_context& operator=(const streaming_context&) = delete;

  // -- input streams ----------------------------------------------------------

  /// A stream fed by RDDs pushed to `queue`: each batch takes the oldest one
  /// (or, with `one_at_a_time` false, all of them), or `default_rdd` (empty
  /// if none) when the queue is empty.
  template <class T>
  dstream<T> queue_stream(std::shared_ptr<rdd_queue<T>> queue,
                          bool one_at_a_time = true,
                          std::optional<rdd<detail::identity_t<T>>> default_rdd
                          = std::nullopt) {
    using node = detail::queue_input_node<T>;
    auto n = std::make_shared<node>(*graph_, batch_interval(),
                                    std::move(queue), one_at_a_time,
                                    std::move(default_rdd));
    graph_->add_input(n, n);
    return {graph_, n};
  }

  /// Lines from a TCP server at `host:port`, UTF-8, split on '\n'.
  dstream<std::string> socket_text_stream(const std::string& host,
                                          uint16_t port);

  /// Records that `converter` reads from a TCP server at `host:port`
  /// (Spark's `socketStream`), called with the connection's stream once
  /// for each record, none at its end; e.g. `[](std::istream& in) {
  /// std::optional<int> x{0}; if (!(in >> *x)) x.reset(); return x; }`.
  /// When the stream ends or the converter throws, the receiver keeps what
  /// it stored, reports the reason and restarts
  /// (`stream.receiver.restart-delay`).
  template <class T>
  dstream<T> socket_stream(const std::string& host, uint16_t port,
                           socket_converter<T> converter) {
    if (!converter)
      throw std::invalid_argument("socket_stream: null converter");
    return add_receiver<T>(std::make_unique<socket_stream_receiver<T>>(
                          host, port, std::move(converter)),
                        "socket_stream");
  }

  /// Records that a TCP server at `host:port` sends as blocks already
  /// serialized (Spark's `rawSocketStream`): each block of
  /// `raw_block_bytes<T>`' form (a 4-byte big-endian length, then the
  /// records in caf-stream's wire form) is stored whole, as one block. A
  /// malformed or cut block is refused with its number and the reason; the
  /// receiver keeps the blocks before it and restarts
  /// (`stream.receiver.restart-delay`), as it does at the stream's end.
  template <class T>
  dstream<T> raw_socket_stream(const std::string& host, uint16_t port) {
    return add_receiver<T>(std::make_unique<raw_socket_receiver<T>>(host,
                                                                    port),
                           "raw_socket_stream");
  }

  /// Records of the files that appear in `directory` (Spark's
  /// `fileStream`): `reader(path)` makes a file's records (Spark's
  /// `InputFormat`), one partition per file, in the partition's task. Each
  /// batch takes the files that pass `filter` (null: Spark's default, a
  /// name that does not start with '.'; a filter given replaces it, as in
  /// Spark), modified up to the batch's time and not taken by a batch of
  /// the last 60 s; with `new_files_only` (Spark's default) none modified
  /// up to `start()`, else those of the 60 s before it too. A reader that
  /// throws fails its batch with its message.
  template <class T>
  dstream<T> file_stream(
    const std::string& directory,
    std::function<std::vector<T>(const std::string& path)> reader,
    std::function<bool(const std::string& path)> filter = nullptr,
    bool new_files_only = true) {
    if (!reader)
      throw std::invalid_argument("file_stream: null reader");
    return add_file_input<T>(directory, std::move(reader), "file_stream",
                             std::move(filter), new_files_only);
  }

  /// Lines of the files that appear in `directory` after the start (Spark's
  /// rules: by modification time, names starting with '.' ignored).
  dstream<std::string> text_file_stream(const std::string& directory);

  /// Records of `record_length` bytes each (as `std::string`s) from the
  /// files that appear in `directory` after the start, picked as
  /// `text_file_stream` picks them (Spark's `binaryRecordsStream`). A file
  /// whose size is not a multiple of `record_length` fails its batch with
  /// an error naming it.
  dstream<std::string> binary_records_stream(const std::string& directory,
                                             size_t record_length);

  /// A stream fed by a custom receiver.
  template <class T>
  dstream<T> receiver_stream(std::unique_ptr<receiver<T>> rcv) {
    return add_receiver(std::move(rcv), "receiver_stream");
  }

  /// A stream fed by actors (Spark 1.x's `actorStream`): the returned
  /// handle takes `T` or `std::vector<T>` from any actor. A `request` is
  /// answered, with the number of records, once they are stored (so the
  /// rate limit and backpressure pace senders that wait for it); a plain
  /// `send` is not paced. Records sent before `start()` wait for it; after
  /// `stop()` a request gets an error. Defined in
  /// `caf_stream/actor_stream.hpp`, which the caller includes.
  template <class T>
  std::pair<dstream<T>, caf::actor> actor_stream(const std::string& name);

  /// Splits `data` into `num_partitions` partitions (0: the default
  /// parallelism), e.g. to feed a `queue_stream`. Inside a job, its actions
  /// run on the operator workers, as those of the batches' RDDs do.
  template <class T>
  rdd<T> parallelize(std::vector<T> data, size_t num_partitions = 0) const {
    return caf_stream::parallelize(std::move(data),
                                   num_partitions != 0
                                     ? num_partitions
                                     : graph_->default_parallelism())
      .with_context(graph_->context());
  }

  /// The records `dstream::save_as_object_files` wrote to `directory` (one
  /// batch's directory), one partition per part file (Spark's
  /// `objectFile`). Throws `stream_error` naming a file that does not hold
  /// records of `T`.
  template <class T>
  rdd<T> object_file(const std::string& directory) const {
    return detail::read_object_file<T>(directory).with_context(
      graph_->context());
  }

  /// The union of several streams of the same slide.
  template <class T>
  dstream<T> union_all(const std::vector<dstream<T>>& streams) {
    if (streams.empty())
      throw std::invalid_argument("union_all needs at least one stream");
    auto result = streams.front();
    for (size_t i = 1; i < streams.size(); ++i)
      result = result.union_with(streams[i]);
    return result;
  }

  /// A stream whose RDD of each batch is `f` of the RDDs of `streams` at
  /// that time, in their order (Spark's `StreamingContext.transform`, for
  /// streams of one type): `f(const std::vector<rdd<T>>&) -> rdd<U>` or
  /// `f(const std::vector<rdd<T>>&, time) -> rdd<U>`, called on the driver
  /// each batch. The streams belong to this context and have one slide.
  template <class T, class F>
  auto transform(const std::vector<dstream<T>>& streams, F f) {
    using rdds = std::vector<rdd<T>>;
    constexpr bool with_time = std::is_invocable_v<F, const rdds&, time>;
    static_assert(with_time || std::is_invocable_v<F, const rdds&>,
                  "transform expects f(const std::vector<rdd<T>>&) -> rdd<U> "
                  "or f(const std::vector<rdd<T>>&, time) -> rdd<U>");
    if (streams.empty())
      throw std::invalid_argument("transform needs at least one stream");
    std::vector<std::shared_ptr<detail::dstream_node<T>>> parents;
    for (const auto& x : streams) {
      if (x.graph() != graph_)
        throw stream_error(errc::invalid_graph,
                           "transform: every stream must belong to this "
                           "context");
      detail::check_same_slide("transform", streams.front().slide_duration(),
                               x.slide_duration());
      parents.push_back(x.node());
    }
    if constexpr (with_time) {
      using out = typename std::invoke_result_t<F, const rdds&, time>::value_type;
      return add_transformed<T, out>(std::move(parents), std::move(f));
    } else {
      using out = typename std::invoke_result_t<F, const rdds&>::value_type;
      return add_transformed<T, out>(
        std::move(parents), [f](const rdds& xs, time) { return f(xs); });
    }
  }

  // -- life cycle -------------------------------------------------------------

  /// Validates the graph, locks the checkpoint directory until `stop`, and
  /// starts receivers and the batch timer. One context at a time runs in a
  /// process (Spark's; `serve` aside) and holds a checkpoint directory: a
  /// second start throws `stream_error` (`errc::illegal_state`).
  void start();

  /// The context started in this process and not stopped yet (Spark's
  /// `getActive`), or null. The caller keeps it alive while it uses it.
  static streaming_context* get_active() noexcept;

  /// Spark's `getActiveOrCreate`: the context `get_active` names if one
  /// runs (`create` is not called, `owner` keeps what it held), else a new
  /// one from `create`, not started, which `owner` takes: C++ needs an
  /// owner for the context this makes, and the running one has its own.
  /// Throws `std::invalid_argument` if `create` returns none.
  static streaming_context& get_active_or_create(
    const std::function<std::unique_ptr<streaming_context>()>& create,
    std::unique_ptr<streaming_context>& owner);

  /// Spark's `getActiveOrCreate(checkpointPath, creatingFunc)`: the running
  /// context if there is one, else `get_or_create(directory, create)`'s,
  /// which `owner` takes.
  static streaming_context& get_active_or_create(
    const std::string& directory,
    const std::function<std::unique_ptr<streaming_context>()>& create,
    std::unique_ptr<streaming_context>& owner);

  /// Makes this program a worker node (Spark's executor): instead of
  /// starting, the context runs what drivers whose `stream.nodes` name this
  /// node send it, or the driver it joins (`stream.driver`: "host:port" of
  /// that driver's `stream.driver-port`): the tasks of their portable
  /// streams (`stream.task.placement`), the state of their state streams
  /// (`update_state_by_key`, `map_with_state`, incremental windows) and
  /// their receivers (`stream.receiver.placement`). Listens
  /// on `port` (0: any free port) at `address` (empty: 127.0.0.1, this
  /// machine only; "0.0.0.0": every interface). The driver runs the same
  /// program (the same build id, or the same `stream.app-id`), so both
  /// build the same graph; a driver with another program or graph is
  /// refused. Needs CAF's middleman in the actor system (an owned system
  /// loads it when `stream.nodes`, `stream.driver-port` or `stream.driver`
  /// is set). Returns the port; `stop()` leaves the driver it joined, hands
  /// what its receivers stored to their drivers, then ends serving and
  /// drops the state held here.
  uint16_t serve(uint16_t port, const std::string& address = "");

  /// The same as `serve`: its name from when nodes held only state.
  uint16_t serve_state(uint16_t port, const std::string& address = "");

  /// Stops receiving and processing. With `stop_gracefully`, first waits
  /// until everything received so far has been processed (at most
  /// `stream.graceful-stop-timeout`, 10 batch intervals by default), and
  /// writes a final checkpoint; if that cannot be written, throws
  /// `stream_error` (`errc::bad_checkpoint`, with the reason) once the
  /// context stopped.
  void stop(bool stop_gracefully = false);

  /// Blocks until the context stops; rethrows the first job failure as
  /// `stream_error` (errc::job_failure).
  void await_termination();

  /// Like `await_termination`, up to `timeout`; returns whether it stopped.
  bool await_termination_or_timeout(duration timeout);

  /// Adds a listener for batch progress (before or after start).
  void add_streaming_listener(std::shared_ptr<streaming_listener> listener);

  /// Removes `listener` (Spark's `removeStreamingListener`): it gets no
  /// event after this returns, except one it is being given at that moment
  /// on the listener bus's thread. A listener never added is ignored.
  void remove_streaming_listener(
    const std::shared_ptr<streaming_listener>& listener);

  /// Whether the context was not started yet, runs, or stopped (Spark's
  /// `getState`). Safe from any thread.
  streaming_context_state get_state() const noexcept;

  /// Sets the directory for checkpoints (created if missing; see `start`).
  void checkpoint(const std::string& directory);

  /// Makes every stream keep the RDDs it generated for at least `d`
  /// (Spark's `remember`), e.g. for `dstream::slice`. Before `start()`, once.
  void remember(duration d);

  // -- properties -------------------------------------------------------------

  /// The batch interval given at construction.
  duration batch_interval() const noexcept;

  /// The settings in force.
  const stream_options& options() const noexcept;

  /// The checkpoint directory, empty if not set.
  const std::string& checkpoint_directory() const noexcept;

  /// Where the streaming UI is served ("http://127.0.0.1:4040/"; Spark's
  /// `uiWebUrl`), once the context started with `stream.ui.enabled`; none
  /// otherwise.
  std::optional<std::string> ui_web_url() const;

  /// The context's clock.
  clock& get_clock() const noexcept;

  /// The actor system the context runs on.
  caf::actor_system& system() const noexcept;

  /// The graph of streams (for operators built on top of the API).
  const std::shared_ptr<detail::dstream_graph>& graph() const noexcept {
    return graph_;
  }

private:
  struct impl;

  template <class T>
  dstream<T> add_file_input(const std::string& directory,
                            detail::file_reader<T> reader, const char* name,
                            detail::file_selection::filter_type filter
                            = nullptr,
                            bool new_files_only = true) {
    auto n = std::make_shared<detail::file_input_node<T>>(
      *graph_, batch_interval(), options().file_stream_min_remember_duration,
      directory, std::move(reader), name, std::move(filter), new_files_only);
    graph_->add_input(n, n);
    return {graph_, n};
  }

  template <class In, class Out>
  dstream<Out>
  add_transformed(std::vector<std::shared_ptr<detail::dstream_node<In>>> xs,
                  typename detail::transformed_n_node<In, Out>::function f) {
    auto n = std::make_shared<detail::transformed_n_node<In, Out>>(
      *graph_, std::move(xs), std::move(f));
    graph_->add(n);
    return {graph_, n};
  }

  template <class T>
  dstream<T> add_receiver(std::unique_ptr<receiver<T>> rcv, const char* name,
                          std::function<void()> on_stop = nullptr) {
    if (!rcv)
      throw std::invalid_argument("receiver_stream: the receiver is null");
    using node = detail::receiver_input_node<T>;
    auto n = std::make_shared<node>(*graph_, batch_interval(),
                                    graph_->next_stream_id(), std::move(rcv),
                                    name);
    graph_->add_receiver_input(n, n);
    n->on_context_stop(std::move(on_stop));
    return {graph_, n};
  }

  std::unique_ptr<impl> impl_;
  std::shared_ptr<detail::dstream_graph> graph_;
};

} // namespace caf_stream
