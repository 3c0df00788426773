#include "caf_stream/ui/web_server.hpp"

#include <atomic>
#include <cctype>
#include <optional>
#include <thread>
#include <utility>

#include <sys/socket.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "caf_stream/detail/log.hpp"
#include "caf_stream/error.hpp"
#include "assets.hpp"

namespace caf_stream::ui {

namespace {

// Spark's spark.port.maxRetries.
constexpr int port_retries = 16;

// The REST API's application paths: /api/v1/applications/{app}/..., and
// those of its Streaming tab.
const std::string application = R"(/api/v1/applications/([^/]+))";
const std::string streaming = application + "/streaming";

} // namespace

struct web_server::impl {
  std::shared_ptr<const streaming_statistics> stats;
  httplib::Server server;
  std::string address;
  int port = 0;
  std::thread thread;
  std::atomic<bool> listened{false};

  // Answers with `body` as JSON, or 404 when there is none (an unknown
  // application, batch or stream).
  void reply_json(const httplib::Request& req, httplib::Response& res,
                  const std::optional<std::string>& body) const {
    if (req.matches.size() > 1 && req.matches[1] != stats->app_id()) {
      res.status = 404;
      res.set_content("unknown application " + std::string{req.matches[1]},
                      "text/plain");
      return;
    }
    if (!body) {
      res.status = 404;
      res.set_content("no such " + req.path, "text/plain");
      return;
    }
    res.set_content(*body, "application/json");
  }

  void add_routes() {
    auto& s = *stats;
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(page_html(), "text/html; charset=utf-8");
    });
    server.Get("/static/chart.min.js",
               [](const httplib::Request&, httplib::Response& res) {
                 res.set_content(chart_js(), "application/javascript");
               });
    server.Get("/metrics",
               [&s](const httplib::Request&, httplib::Response& res) {
                 res.set_content(s.metrics_text(),
                                 "text/plain; version=0.0.4; charset=utf-8");
               });
    auto get = [this](const std::string& pattern, auto body_of) {
      server.Get(pattern, [this, body_of](const httplib::Request& req,
                                          httplib::Response& res) {
        reply_json(req, res, body_of(req));
      });
    };
    using opt = std::optional<std::string>;
    get("/api/v1/applications",
        [&s](const httplib::Request&) -> opt { return s.applications_json(); });
    get(application + "/executors",
        [&s](const httplib::Request&) -> opt {
          return s.executors_json(false);
        });
    get(application + "/allexecutors",
        [&s](const httplib::Request&) -> opt {
          return s.executors_json(true);
        });
    get(streaming + "/statistics",
        [&s](const httplib::Request&) -> opt { return s.statistics_json(); });
    get(streaming + "/receivers",
        [&s](const httplib::Request&) -> opt { return s.receivers_json(); });
    get(streaming + R"(/receivers/(-?\d{1,9}))",
        [&s](const httplib::Request& req) {
          return s.receiver_json(std::stoi(req.matches[2]));
        });
    get(streaming + "/batches",
        [&s](const httplib::Request& req) -> opt {
          auto status = req.get_param_value("status");
          for (auto& c : status)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return s.batches_json(status);
        });
    get(streaming + R"(/batches/(\d{1,18}))",
        [&s](const httplib::Request& req) {
          return s.batch_json(std::stoll(req.matches[2]));
        });
    get(streaming + R"(/batches/(\d{1,18})/operations)",
        [&s](const httplib::Request& req) {
          return s.operations_json(std::stoll(req.matches[2]));
        });
  }
};

web_server::web_server(std::shared_ptr<const streaming_statistics> stats,
                       const std::string& address, uint16_t port)
  : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.stats = std::move(stats);
  d.address = address;
  // A thread serves one connection at a time, for as long as the browser
  // keeps it alive: as many threads as a browser opens connections to a
  // host (6), and idle connections closed after a second.
  d.server.new_task_queue = [] { return new httplib::ThreadPool(6); };
  d.server.set_keep_alive_timeout(1);
  // httplib's default sets SO_REUSEPORT, with which a second program binds
  // a port the first listens on and the kernel shares the connections
  // between them: the retries below would never move on. SO_REUSEADDR
  // alone still lets a restarted program listen at once.
  d.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  d.add_routes();
  if (port == 0) {
    d.port = d.server.bind_to_any_port(address);
  } else {
    for (int i = 0; i <= port_retries && d.port <= 0; ++i)
      if (port + i <= 65535 && d.server.bind_to_port(address, port + i))
        d.port = port + i;
  }
  if (d.port <= 0)
    throw stream_error(errc::invalid_config,
                       "stream.ui.port: cannot listen on " + address + ":"
                         + std::to_string(port) + " nor on the "
                         + std::to_string(port_retries)
                         + " ports after it (stream.ui.address, "
                           "stream.ui.port)");
  d.thread = std::thread{[&d] {
    d.server.listen_after_bind();
    d.listened = true;
  }};
  detail::logger("ui")->info("streaming UI at {}", url());
}

web_server::~web_server() {
  stop();
}

uint16_t web_server::port() const noexcept {
  return static_cast<uint16_t>(impl_->port);
}

std::string web_server::url() const {
  return "http://" + impl_->address + ":" + std::to_string(impl_->port) + "/";
}

void web_server::stop() {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  // httplib ignores a stop before its thread started listening.
  while (!d.server.is_running() && !d.listened)
    std::this_thread::yield();
  d.server.stop();
  d.thread.join();
}

} // namespace caf_stream::ui
