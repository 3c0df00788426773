#pragma once

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "caf_stream/testing.hpp"

#include "support/tls.hpp"

namespace support {

/// The TLS tests' certificates, made with the openssl command line tool in
/// a temporary directory: a CA ("ca"), a node certificate it signed
/// ("node"), a driver certificate it signed ("driver"), and a certificate
/// another CA signed ("stranger").
struct certificates {
  certificates() {
    auto in = [&](const std::string& x) { return dir.path() + "/" + x; };
    auto key = [&](const std::string& name) {
      shell("openssl genpkey -algorithm EC -pkeyopt "
            "ec_paramgen_curve:prime256v1 -out "
            + in(name + ".key"));
    };
    auto ca = [&](const std::string& name) {
      key(name);
      shell("openssl req -x509 -new -key " + in(name + ".key") + " -out "
            + in(name + ".pem") + " -days 2 -subj /CN=" + name);
    };
    auto signed_by = [&](const std::string& name, const std::string& by) {
      key(name);
      shell("openssl req -new -key " + in(name + ".key") + " -out "
            + in(name + ".csr") + " -subj /CN=" + name);
      shell("openssl x509 -req -in " + in(name + ".csr") + " -CA "
            + in(by + ".pem") + " -CAkey " + in(by + ".key")
            + " -CAcreateserial -days 2 -out " + in(name + ".pem"));
    };
    ca("ca");
    ca("other-ca");
    signed_by("node", "ca");
    signed_by("driver", "ca");
    signed_by("stranger", "other-ca");
  }

  /// "DIR/NAME", as `state_node_child --tls` and `use_certificate` take it.
  std::string operator[](const std::string& name) const {
    return dir.path() + "/" + name;
  }

  /// Runs `command` in a shell; fails the test if it fails.
  static void shell(const std::string& command) {
    INFO(command);
    REQUIRE(std::system((command + " 2>/dev/null >/dev/null").c_str()) == 0);
  }

  caf_stream::testing::temporary_directory dir;
};

} // namespace support
