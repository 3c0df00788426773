#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/ports.hpp"

namespace support {

/// A throwaway `mosquitto` broker on 127.0.0.1 for one test: started on a
/// free port with a configuration of its own (anonymous clients, no
/// persistence), stopped with this object. `stop` and `start` take it down
/// and up again on the same port, as a broker restart would.
class mosquitto_broker {
public:
  /// `extra_config`: more lines for mosquitto.conf.
  explicit mosquitto_broker(const std::string& extra_config = "") {
    char tmpl[] = "/tmp/caf_stream-mqtt-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    start_on_free_port([&](int port) {
      port_ = port;
      {
        std::ofstream conf{dir_ + "/mosquitto.conf"};
        conf << "listener " << port_ << " 127.0.0.1\n"
             << "allow_anonymous true\n"
             << "persistence false\n";
        // As root, mosquitto would switch to its own user otherwise.
        if (::geteuid() == 0)
          conf << "user root\n";
        conf << extra_config;
      }
      start();
    });
  }

  ~mosquitto_broker() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  mosquitto_broker(const mosquitto_broker&) = delete;

  mosquitto_broker& operator=(const mosquitto_broker&) = delete;

  /// The broker's address for MQTT clients: "tcp://127.0.0.1:<port>".
  std::string url() const {
    return "tcp://127.0.0.1:" + std::to_string(port_);
  }

  int port() const {
    return port_;
  }

  /// Starts the broker, waiting (bounded) until it says it is running: it
  /// logs that after it opened its listener. Woken by inotify when the log
  /// grows.
  void start() {
    auto log = dir_ + "/broker.log";
    auto from = log_text().size();
    int events = ::inotify_init1(IN_CLOEXEC);
    if (events < 0 || ::inotify_add_watch(events, dir_.c_str(),
                                          IN_MODIFY | IN_CREATE) < 0)
      throw std::runtime_error("inotify failed");
    // The child allocates nothing before it runs the broker (see
    // `child_process`).
    auto conf = dir_ + "/mosquitto.conf";
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string failure;
    while (failure.empty()) {
      if (log_text().find(" running", from) != std::string::npos
          && accepts_connections(port_)) {
        ::close(events);
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        failure = "mosquitto did not start (is the mosquitto package "
                  "installed? cmake/install-deps.sh installs it): ";
      } else if (std::chrono::steady_clock::now() > deadline) {
        failure = "mosquitto did not listen within 10 s: ";
      } else {
        pollfd pfd{events, POLLIN, 0};
        if (::poll(&pfd, 1, 100) > 0) {
          char buf[4096];
          [[maybe_unused]] auto n = ::read(events, buf, sizeof(buf));
        }
      }
    }
    ::close(events);
    stop();
    throw std::runtime_error(failure + log_text());
  }

  /// Kills the broker at once (SIGKILL), as a crash would.
  void stop() noexcept {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// What the broker logged so far.
  std::string log_text() const {
    std::ifstream in{dir_ + "/broker.log"};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

} // namespace support
