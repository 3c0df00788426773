#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/ports.hpp"

namespace support {

/// A throwaway PostgreSQL server on 127.0.0.1 for one test: `initdb` into a
/// temporary directory (as the `postgres` user when the test runs as root,
/// since PostgreSQL refuses to run as root), started with `pg_ctl` on a free
/// port and fsync off; stopped and removed with this object.
class postgresql_server {
public:
  postgresql_server() {
    char tmpl[] = "/tmp/caf_stream-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // The server's user must reach its data directory and sockets.
    ::chmod(dir_.c_str(), 0777);
    bin_ = find_bin();
    run(bin_ + "/initdb -D " + data() + " -U postgres -A trust --no-sync");
    start_on_free_port([this](int port) {
      port_ = port;
      start();
    });
  }

  ~postgresql_server() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  postgresql_server(const postgresql_server&) = delete;

  postgresql_server& operator=(const postgresql_server&) = delete;

  /// libpq's connection string for the server's `postgres` database.
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_)
           + " user=postgres dbname=postgres connect_timeout=5";
  }

  /// Starts the server (again), waiting until it accepts connections.
  void start() {
    run(bin_ + "/pg_ctl -D " + data() + " -l " + dir_ + "/log -w -o \""
        + "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k "
        + dir_ + " -c fsync=off\" start");
    running_ = true;
  }

  /// Stops the server at once (`-m immediate`), as a crash would.
  void stop() noexcept {
    if (!running_)
      return;
    running_ = false;
    try {
      run(bin_ + "/pg_ctl -D " + data() + " -m immediate -w stop");
    } catch (...) {
      // Leave it: the directory goes, and the server with its socket.
    }
  }

private:
  std::string data() const {
    return dir_ + "/data";
  }

  void run(const std::string& cmd) const {
    auto line = cmd + " >> " + dir_ + "/setup.log 2>&1";
    if (::geteuid() == 0)
      line = "su postgres -s /bin/sh -c '" + line + "'";
    if (std::system(line.c_str()) != 0)
      throw std::runtime_error("PostgreSQL set-up failed: " + cmd + " (see "
                               + dir_ + "/setup.log)");
  }

  static std::string find_bin() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
      if (fs::exists(e.path() / "bin" / "initdb"))
        return (e.path() / "bin").string();
    throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql "
                             "(cmake/install-deps.sh installs it)");
  }

  std::string dir_;
  std::string bin_;
  int port_ = 0;
  bool running_ = false;
};

} // namespace support
